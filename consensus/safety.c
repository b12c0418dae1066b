/*
 * consensus/safety.c — what this replica has signed that binds it
 * (Castro & Liskov OSDI'99 §4.5.1: a replica must not send two different
 * PRE-PREPARE/PREPARE/COMMIT messages for one (view, seq); TOCS'02 §5.1 on
 * keeping this across a crash).
 *
 * One entry per seq above the executed height: the latest view in which
 * this replica signed something for that seq, the block hash and the
 * highest phase. The whole state — view, view-change flag and the entries —
 * is a few kilobytes, encoded here and handed to env->persist once per
 * event, before any frame of that event leaves (replica.c).
 *
 * Format (little-endian): u8 version=1 | u64 view | u8 flags (bit 0: in
 * view change) | u64 view_floor | u16 count | count × (u64 seq | u64 view |
 * hash[32] | u8 phase (0..3) | u8 has_pcert | [prepared cert, as in a
 * VIEW-CHANGE] | u8 has_block | [block]), seqs strictly increasing. The
 * block is embedded only when the env has no persist_block. The prepared certificates make a
 * restarted replica's VIEW-CHANGE report what it committed on.
 */
#include <string.h>

#include "pbft/codec.h"
#include "pbft/messages.h"
#include "replica_internal.h"

#define SAFETY_VERSION 1
#define SAFETY_FLAG_IN_VIEW_CHANGE 0x01

static safety_entry_t *entry_at(const replica_t *r, uint64_t seq) {
    return &r->safety[seq % REPLICA_SAFETY_SLOTS_MAX];
}

const safety_entry_t *replica_safety_get(const replica_t *r, uint64_t seq) {
    const safety_entry_t *e = entry_at(r, seq);
    return e->seq == seq ? e : NULL;
}

/* False when signing (view, seq, hash) would contradict something signed. */
bool replica_safety_allows(const replica_t *r, uint64_t view, uint64_t seq,
                           const uint8_t hash[PBFT_HASH_SIZE]) {
    const safety_entry_t *e = replica_safety_get(r, seq);
    if (e == NULL || e->phase == 0) return true;
    if (e->view > view) return false;
    if (e->view == view && memcmp(e->hash, hash, PBFT_HASH_SIZE) != 0) return false;
    return true;
}

static void entry_free_block(safety_entry_t *e) {
    if (e->block == NULL) return;
    codec_block_free(e->block);
    free(e->block);
    e->block = NULL;
}

void replica_safety_destroy(replica_t *r) {
    for (uint32_t i = 0; i < REPLICA_SAFETY_SLOTS_MAX; i++)
        entry_free_block(&r->safety[i]);
}

static pbft_block_t *block_dup(const pbft_block_t *b) {
    pbft_block_t *copy = pbft_xcalloc(1, sizeof(*copy));
    copy->header = b->header;
    if (b->header.tx_count) {
        copy->txs = pbft_xmalloc(b->header.tx_count * sizeof(pbft_tx_t));
        memcpy(copy->txs, b->txs, b->header.tx_count * sizeof(pbft_tx_t));
    }
    return copy;
}

static safety_entry_t *entry_for(replica_t *r, uint64_t seq) {
    safety_entry_t *e = entry_at(r, seq);
    if (e->seq != seq) {
        /* The ring only reuses an entry the executed height has passed. */
        PBFT_ASSERT(e->seq == 0 || e->seq <= r->executed);
        entry_free_block(e);
        memset(e, 0, sizeof(*e));
        e->seq = seq;
    }
    return e;
}

void replica_safety_record_pcert(replica_t *r, const msg_prepared_cert_t *pcert,
                                 const pbft_block_t *block) {
    PBFT_ASSERT(pcert->seq > r->executed);
    PBFT_ASSERT(block->header.height == pcert->seq);
    safety_entry_t *e = entry_for(r, pcert->seq);
    if (e->has_pcert && e->pcert.view >= pcert->view) return;
    e->has_pcert = true;
    e->pcert = *pcert;
    /* Without env->persist_block the block rides in the safety state. */
    entry_free_block(e);
    if (r->env.persist_block == NULL) e->block = block_dup(block);
    r->safety_dirty = true;
}

void replica_safety_record(replica_t *r, uint64_t view, uint64_t seq,
                           const uint8_t hash[PBFT_HASH_SIZE], uint8_t phase) {
    PBFT_ASSERT(replica_safety_allows(r, view, seq, hash));
    PBFT_ASSERT(seq > r->executed && phase >= SAFETY_PHASE_PRE_PREPARE &&
                phase <= SAFETY_PHASE_COMMIT);
    safety_entry_t *e = entry_for(r, seq);
    if (e->phase != 0 && e->view == view && e->phase >= phase &&
        memcmp(e->hash, hash, PBFT_HASH_SIZE) == 0)
        return;
    if (e->view != view) e->phase = 0;
    e->view = view;
    memcpy(e->hash, hash, PBFT_HASH_SIZE);
    if (phase > e->phase) e->phase = phase;
    r->safety_dirty = true;
}

size_t replica_safety_size(const replica_t *r) {
    size_t size = 1 + 8 + 1 + 8 + 2;
    for (uint64_t seq = r->executed + 1; seq <= r->executed + REPLICA_SAFETY_SLOTS_MAX; seq++) {
        const safety_entry_t *e = replica_safety_get(r, seq);
        if (e == NULL) continue;
        size += 8 + 8 + PBFT_HASH_SIZE + 1 + 1 + 1;
        if (e->has_pcert) size += msg_prepared_cert_size(&e->pcert);
        if (e->block) size += codec_block_size(e->block);
    }
    return size;
}

size_t replica_safety_encode(const replica_t *r, uint8_t *out, size_t capacity) {
    codec_writer_t w;
    codec_writer_init(&w, out, capacity);
    codec_put_u8(&w, SAFETY_VERSION);
    codec_put_u64(&w, r->view);
    codec_put_u8(&w, r->in_view_change ? SAFETY_FLAG_IN_VIEW_CHANGE : 0);
    codec_put_u64(&w, r->view_floor);
    uint16_t count = 0;
    for (uint64_t seq = r->executed + 1; seq <= r->executed + REPLICA_SAFETY_SLOTS_MAX; seq++)
        if (replica_safety_get(r, seq) != NULL) count++;
    codec_put_u16(&w, count);
    for (uint64_t seq = r->executed + 1; seq <= r->executed + REPLICA_SAFETY_SLOTS_MAX; seq++) {
        const safety_entry_t *e = replica_safety_get(r, seq);
        if (e == NULL) continue;
        codec_put_u64(&w, e->seq);
        codec_put_u64(&w, e->view);
        codec_put_bytes(&w, e->hash, PBFT_HASH_SIZE);
        codec_put_u8(&w, e->phase);
        codec_put_u8(&w, e->has_pcert ? 1 : 0);
        if (e->has_pcert) msg_prepared_cert_write(&w, &e->pcert);
        codec_put_u8(&w, e->block ? 1 : 0);
        if (e->block) codec_block_write(&w, e->block);
    }
    PBFT_ASSERT(!w.failed);
    return w.size;
}

/* Restores view, view-change flag and the entries above the executed
 * height (r->executed is already set). PBFT_ERR_CORRUPT for bad bytes. */
pbft_status_t replica_safety_decode(replica_t *r, const uint8_t *data, size_t size) {
    codec_reader_t rd;
    codec_reader_init(&rd, data, size);
    if (codec_get_u8(&rd) != SAFETY_VERSION) return PBFT_ERR_CORRUPT;
    uint64_t view = codec_get_u64(&rd);
    uint8_t flags = codec_get_u8(&rd);
    uint64_t view_floor = codec_get_u64(&rd);
    uint16_t count = codec_get_u16(&rd);
    if (rd.status != PBFT_OK || (flags & ~SAFETY_FLAG_IN_VIEW_CHANGE) ||
        count > REPLICA_SAFETY_SLOTS_MAX)
        return PBFT_ERR_CORRUPT;
    uint64_t prev_seq = 0;
    for (uint16_t i = 0; i < count; i++) {
        safety_entry_t e;
        e.seq = codec_get_u64(&rd);
        e.view = codec_get_u64(&rd);
        codec_get_bytes(&rd, e.hash, PBFT_HASH_SIZE);
        e.phase = codec_get_u8(&rd);
        uint8_t has_pcert = codec_get_u8(&rd);
        e.has_pcert = has_pcert == 1;
        memset(&e.pcert, 0, sizeof(e.pcert));
        if (e.has_pcert) msg_prepared_cert_read(&rd, &e.pcert);
        uint8_t has_block = codec_get_u8(&rd);
        e.block = NULL;
        if (has_block == 1 && rd.status == PBFT_OK) {
            e.block = pbft_xcalloc(1, sizeof(pbft_block_t));
            codec_block_read(&rd, e.block);
        }
        if (rd.status != PBFT_OK || e.seq <= prev_seq || e.phase > SAFETY_PHASE_COMMIT ||
            e.view > view || has_pcert > 1 || has_block > 1 ||
            (e.has_pcert && e.pcert.seq != e.seq) ||
            (e.block && (!e.has_pcert || e.block->header.height != e.seq))) {
            if (e.block) {
                codec_block_free(e.block);
                free(e.block);
            }
            return PBFT_ERR_CORRUPT;
        }
        prev_seq = e.seq;
        if (e.seq <= r->executed || e.seq > r->executed + REPLICA_SAFETY_SLOTS_MAX) {
            if (e.block) {
                codec_block_free(e.block);
                free(e.block);
            }
            continue;
        }
        entry_free_block(entry_at(r, e.seq));
        *entry_at(r, e.seq) = e;
    }
    if (codec_reader_finish(&rd) != PBFT_OK) return PBFT_ERR_CORRUPT;
    r->view = view;
    r->view_floor = view_floor;
    r->in_view_change = (flags & SAFETY_FLAG_IN_VIEW_CHANGE) != 0;
    return PBFT_OK;
}
