/*
 * consensus/view_change.c — VIEW-CHANGE and NEW-VIEW (Castro & Liskov
 * OSDI'99 §4.4; TOCS'02 §4.5 and §5.2 for the liveness rules).
 *
 * Our variant (docs/PROTOCOL.md, "View change"): a VIEW-CHANGE carries the
 * sender's stable checkpoint certificate, the commit certificate of its
 * highest contiguously committed block c_i, and its prepared certificates
 * above c_i (at most one per seq, the highest view; at most `window` of
 * them because a replica prepares s only when s <= committed + window), with
 * the full blocks as an unsigned appendix.
 *
 * The O-set of a NEW-VIEW for v' is computed from 2f+1 (or more) valid
 * VIEW-CHANGEs for v': c = max c_i; for every seq from c+1 to the highest
 * certified seq S take the certificate with the highest view. Every seq in
 * (c, S] must have one and the chosen blocks must hash-link to each other
 * and to the block certified at c — the chain rule guarantees both (if s is
 * prepared in v by a quorum, f+1 honest replicas had s-1 prepared in v or
 * committed, so any 2f+1 VIEW-CHANGEs include it). No null requests, ever:
 * an empty O-set simply lets the new primary propose fresh blocks from c+1.
 * The re-proposed blocks keep their bytes (the hash is what is certified);
 * only the new PRE-PREPARE signature carries the new view.
 *
 * The deliberate bug PBFT_BUG_SKIP_PREPARED_CARRY (simulator self-test)
 * empties the O-set in compute_oset, i.e. in construction and validation.
 */
#include <string.h>

#include "pbft/codec.h"
#include "replica_internal.h"

typedef struct oset_entry {
    uint64_t seq;
    uint64_t view;
    uint8_t hash[PBFT_HASH_SIZE];
} oset_entry_t;

/* Tx ids of the O-set blocks (owned, one array per block). */
typedef struct oset_ids {
    uint8_t (*of[MSG_NEW_VIEW_BLOCK_COUNT_MAX])[PBFT_HASH_SIZE];
} oset_ids_t;

typedef struct oset {
    uint64_t c; /* highest committed seq proven by a commit certificate */
    uint8_t c_hash[PBFT_HASH_SIZE];
    uint16_t c_sender;
    uint32_t count; /* entries for seqs c+1 .. c+count */
    oset_entry_t e[MSG_NEW_VIEW_BLOCK_COUNT_MAX];
} oset_t;

static void block_copy(pbft_block_t *dst, const pbft_block_t *src) {
    dst->header = src->header;
    dst->txs = NULL;
    if (src->header.tx_count == 0) return;
    dst->txs = pbft_xmalloc((size_t)src->header.tx_count * sizeof(pbft_tx_t));
    memcpy(dst->txs, src->txs, (size_t)src->header.tx_count * sizeof(pbft_tx_t));
}

static void vc_free(msg_view_change_t *vc) {
    if (vc == NULL) return;
    msg_view_change_clear(vc);
    free(vc);
}

void replica_view_change_destroy(replica_t *r) {
    for (uint16_t i = 0; i < PBFT_REPLICA_COUNT_MAX; i++) {
        vc_free(r->vcs[i]);
        r->vcs[i] = NULL;
    }
    free(r->own_vc_frame);
    free(r->new_view_frame);
    r->own_vc_frame = r->new_view_frame = NULL;
}

/* ------------------------------------------------------------------------ */
/* Validation of one VIEW-CHANGE's certificates.                              */

static pbft_status_t validate_vc(replica_t *r, const msg_view_change_t *vc, bool with_appendix) {
    if (vc->new_view == 0 || vc->sender >= r->n) return PBFT_ERR_MALFORMED;
    if (vc->has_checkpoint) {
        pbft_status_t status = cert_check_checkpoint_with(
            &r->validators, r->chain_id, &vc->checkpoint, r->env.verify, r->env.verify_ctx, NULL);
        if (status != PBFT_OK) return status;
    }
    uint64_t c = 0;
    if (vc->has_committed) {
        pbft_status_t status = replica_check_commit_cert(r, &vc->committed);
        if (status != PBFT_OK) return status;
        c = vc->committed.seq;
    }
    for (uint8_t i = 0; i < vc->cert_count; i++) {
        const msg_prepared_cert_t *pc = &vc->certs[i];
        if (pc->seq <= c || pc->view >= vc->new_view) return PBFT_ERR_BAD_CERTIFICATE;
        pbft_status_t status = replica_check_prepared_cert(r, pc);
        if (status != PBFT_OK) return status;
    }
    if (!with_appendix) return PBFT_OK;
    for (uint8_t i = 0; i < vc->block_count; i++) {
        const pbft_block_t *b = &vc->blocks[i];
        uint8_t hash[PBFT_HASH_SIZE];
        codec_header_hash(&b->header, hash);
        bool found = false;
        for (uint8_t j = 0; j < vc->cert_count && !found; j++)
            found = vc->certs[j].seq == b->header.height &&
                    memcmp(vc->certs[j].block_hash, hash, PBFT_HASH_SIZE) == 0;
        if (!found) return PBFT_ERR_HASH_MISMATCH;
    }
    return PBFT_OK;
}

/* ------------------------------------------------------------------------ */
/* The O-set.                                                                 */

static void compute_oset(replica_t *r, msg_view_change_t *const *vcs, uint32_t count, oset_t *out) {
    memset(out, 0, sizeof(*out));
    memcpy(out->c_hash, r->committed_hash, PBFT_HASH_SIZE);
    /* c: the highest commit certificate (genesis when none). */
    bool any = false;
    for (uint32_t i = 0; i < count; i++) {
        const msg_view_change_t *vc = vcs[i];
        if (vc->has_committed && (!any || vc->committed.seq > out->c)) {
            any = true;
            out->c = vc->committed.seq;
            memcpy(out->c_hash, vc->committed.block_hash, PBFT_HASH_SIZE);
            out->c_sender = vc->sender;
        }
    }
    if (!any) {
        out->c = 0;
        memcpy(out->c_hash, r->genesis_hash, PBFT_HASH_SIZE);
    }
    bool have[MSG_NEW_VIEW_BLOCK_COUNT_MAX] = {false};
    for (uint32_t i = 0; i < count; i++) {
        for (uint8_t j = 0; j < vcs[i]->cert_count; j++) {
            const msg_prepared_cert_t *pc = &vcs[i]->certs[j];
            if (pc->seq <= out->c || pc->seq > out->c + MSG_NEW_VIEW_BLOCK_COUNT_MAX) continue;
            uint64_t k = pc->seq - out->c - 1;
            if (!have[k] || pc->view > out->e[k].view) {
                have[k] = true;
                out->e[k].seq = pc->seq;
                out->e[k].view = pc->view;
                memcpy(out->e[k].hash, pc->block_hash, PBFT_HASH_SIZE);
            }
            if (k + 1 > out->count) out->count = (uint32_t)(k + 1);
        }
    }
#if defined(PBFT_BUG_SKIP_PREPARED_CARRY) && PBFT_BUG_SKIP_PREPARED_CARRY
    out->count = 0;
    (void)have;
#else
    /* A gap cannot happen with valid certificates (chain rule); if it does,
     * the O-set stops before it and the NEW-VIEW check fails. */
    for (uint32_t k = 0; k < out->count; k++)
        if (!have[k]) {
            out->count = k;
            out->c_sender = REPLICA_LINK_UNKNOWN; /* marks "gap" */
            break;
        }
#endif
}

static bool has_gap(const oset_t *o) {
    return o->c_sender == REPLICA_LINK_UNKNOWN;
}

/* The chosen blocks link to c and to each other. */
static bool oset_links(const oset_t *o, const pbft_block_t *blocks) {
    const uint8_t *prev = o->c_hash;
    uint8_t hash[PBFT_HASH_SIZE];
    for (uint32_t i = 0; i < o->count; i++) {
        if (blocks[i].header.height != o->e[i].seq) return false;
        codec_header_hash(&blocks[i].header, hash);
        if (memcmp(hash, o->e[i].hash, PBFT_HASH_SIZE) != 0) return false;
        if (memcmp(blocks[i].header.prev_hash, prev, PBFT_HASH_SIZE) != 0) return false;
        prev = o->e[i].hash;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Sending a VIEW-CHANGE (§4.4).                                              */

/* The block of a prepared certificate, when the log still has it (after a
 * restart it may not: the certificate alone is reported). */
static const pbft_block_t *pcert_block(replica_t *r, const msg_prepared_cert_t *pc) {
    const slot_t *s = &r->slots[pc->seq % REPLICA_LOG_SPAN_MAX];
    if (s->seq != pc->seq) return NULL;
    if (s->has_block && memcmp(s->hash, pc->block_hash, PBFT_HASH_SIZE) == 0) return &s->block;
    if (s->pcert_own_block && s->has_pcert &&
        memcmp(s->pcert.block_hash, pc->block_hash, PBFT_HASH_SIZE) == 0)
        return &s->pcert_block;
    return NULL;
}

/* §4.4: P = our prepared certificates above our committed height, taken
 * from the persisted safety state (so they survive a restart). */
static msg_view_change_t *build_own_vc(replica_t *r, uint64_t new_view) {
    msg_view_change_t *vc = pbft_xcalloc(1, sizeof(*vc));
    vc->new_view = new_view;
    vc->sender = r->self;
    vc->has_checkpoint = r->has_stable_cert;
    if (r->has_stable_cert) vc->checkpoint = r->stable_cert;
    vc->has_committed = r->has_committed_cert && r->committed > 0;
    if (vc->has_committed) vc->committed = r->committed_cert;
    vc->blocks = pbft_xcalloc(MSG_PREPARED_CERT_COUNT_MAX, sizeof(pbft_block_t));
    for (uint64_t seq = r->committed + 1; seq <= r->committed + r->log_span; seq++) {
        if (vc->cert_count == MSG_PREPARED_CERT_COUNT_MAX) break;
        const safety_entry_t *e = replica_safety_get(r, seq);
        if (e == NULL || !e->has_pcert) continue;
        vc->certs[vc->cert_count++] = e->pcert;
        const pbft_block_t *b = pcert_block(r, &e->pcert);
        if (b != NULL) block_copy(&vc->blocks[vc->block_count++], b);
    }
    return vc;
}

void replica_start_view_change(replica_t *r, uint64_t new_view) {
    PBFT_ASSERT(new_view > r->view); /* views only go up */
    PBFT_ASSERT(r->depth == 1);
    r->view = new_view;
    r->in_view_change = true;
    r->safety_dirty = true;
    replica_update_context(r, r->committed + 1);
    mempool_clear_proposed(&r->pool);
    replica_rearm_request_timer(r);
    msg_view_change_t *vc = build_own_vc(r, new_view);
    msg_t m;
    memset(&m, 0, sizeof(m));
    m.type = MSG_VIEW_CHANGE;
    m.u.view_change = vc;
    free(r->own_vc_frame);
    r->own_vc_frame = NULL;
    if (replica_queue_msg(r, REPLICA_LINK_UNKNOWN, &m, &r->own_vc_frame, &r->own_vc_size))
        memcpy(vc->signature, m.signature, PBFT_SIGNATURE_SIZE);
    vc_free(r->vcs[r->self]);
    r->vcs[r->self] = vc;
    uint32_t shift = PBFT_MIN(r->view_change_failures, REPLICA_VIEW_CHANGE_BACKOFF_SHIFT_MAX);
    r->env.set_timer(r->env.ctx, REPLICA_TIMER_VIEW_CHANGE,
                     (uint64_t)r->params.view_change_timeout_ms << shift);
    r->view_change_failures++;
    replica_logf(r, 1, "view change to %llu (committed %llu, %u prepared certs)",
                 (unsigned long long)new_view, (unsigned long long)r->committed, vc->cert_count);
    replica_start_new_view_if_ready(r);
}

static uint32_t vcs_for_view(const replica_t *r, uint64_t view, msg_view_change_t **out) {
    uint32_t count = 0;
    for (uint16_t i = 0; i < r->n; i++)
        if (r->vcs[i] != NULL && r->vcs[i]->new_view == view) out[count++] = r->vcs[i];
    return count;
}

/* The NEW-VIEW did not come in time: move on to the next view, but only
 * when others are changing views too — alone, escalating cannot help, so
 * keep announcing the current one (OSDI'99 §4.5.2 liveness). */
void replica_view_change_timeout(replica_t *r) {
    if (!r->in_view_change) return;
    msg_view_change_t *vcs[PBFT_REPLICA_COUNT_MAX];
    uint32_t count = vcs_for_view(r, r->view, vcs);
    if (count >= r->f + 1 || r->n == 1) {
        replica_start_view_change(r, r->view + 1);
        return;
    }
    if (r->own_vc_frame)
        replica_queue_frame(r, REPLICA_LINK_UNKNOWN, r->own_vc_frame, r->own_vc_size);
    uint32_t shift = PBFT_MIN(r->view_change_failures, REPLICA_VIEW_CHANGE_BACKOFF_SHIFT_MAX);
    r->env.set_timer(r->env.ctx, REPLICA_TIMER_VIEW_CHANGE,
                     (uint64_t)r->params.view_change_timeout_ms << shift);
}

/* ------------------------------------------------------------------------ */
/* Installing a new view (primary after sending NEW-VIEW, backups after      */
/* accepting it).                                                             */

static void reforward_pending(replica_t *r) {
    uint16_t primary = replica_primary(r, r->view);
    if (primary == r->self) return;
    uint32_t sent = 0;
    r->forward_count = 0;
    for (uint32_t e = mempool_next(&r->pool, MEMPOOL_NIL);
         e != MEMPOOL_NIL && sent < REPLICA_REFORWARD_TX_MAX; e = mempool_next(&r->pool, e)) {
        if (r->pool.entries[e].proposed) continue; /* in a re-proposed block */
        r->forward[r->forward_count++] = r->pool.entries[e].tx;
        sent++;
        if (r->forward_count == MSG_REQUEST_TX_COUNT_MAX) replica_flush_forward(r);
    }
    replica_flush_forward(r);
}

/* blocks, ids: oset->count entries, ownership moves in. */
static void install_new_view(replica_t *r, uint64_t view, const oset_t *o, pbft_block_t *blocks,
                             oset_ids_t *ids, uint8_t (*sigs)[PBFT_SIGNATURE_SIZE]) {
    PBFT_ASSERT(view >= r->view);
    PBFT_ASSERT(o->count <= MSG_NEW_VIEW_BLOCK_COUNT_MAX);
    r->view = view;
    r->in_view_change = false;
    r->safety_dirty = true;
    r->view_start_ms = replica_now(r);
    r->view_changes++;
    r->env.cancel_timer(r->env.ctx, REPLICA_TIMER_VIEW_CHANGE);
    free(r->own_vc_frame);
    r->own_vc_frame = NULL;
    for (uint16_t i = 0; i < r->n; i++)
        if (r->vcs[i] != NULL && r->vcs[i]->new_view <= view) {
            vc_free(r->vcs[i]);
            r->vcs[i] = NULL;
        }
    mempool_clear_proposed(&r->pool);
    bool primary = replica_is_primary(r);
    for (uint32_t i = 0; i < o->count; i++) {
        slot_t *s = replica_slot(r, o->e[i].seq);
        if (s == NULL) { /* committed already, or beyond our log: catch-up covers it */
            codec_block_free(&blocks[i]);
            free(ids->of[i]);
            continue;
        }
        /* In flight again: not to be proposed (primary) or re-forwarded. */
        for (uint32_t t = 0; t < blocks[i].header.tx_count; t++)
            mempool_set_proposed(&r->pool, ids->of[i][t], true);
        if (primary && replica_safety_allows(r, view, o->e[i].seq, o->e[i].hash))
            replica_safety_record(r, view, o->e[i].seq, o->e[i].hash, SAFETY_PHASE_PRE_PREPARE);
        replica_slot_set_block(r, s, view, &blocks[i], ids->of[i], sigs[i]);
    }
    r->view_floor = o->c + o->count;
    r->next_seq = PBFT_MAX(r->view_floor, r->committed) + 1;
    replica_logf(r, 1, "installed view %llu: c=%llu, %u re-proposed", (unsigned long long)view,
                 (unsigned long long)o->c, o->count);
    if (r->committed < o->c) replica_catch_up(r, o->c, o->c_sender);
    reforward_pending(r);
    replica_rearm_request_timer(r);
    replica_replay_stash(r);
    replica_progress(r);
}

/* ------------------------------------------------------------------------ */
/* NEW-VIEW at the new primary (§4.4).                                       */

/* A copy is usable only if it is valid in full: the block hash binds the
 * tx ids, not the tx signatures, so a Byzantine appendix could carry the
 * right header with a mutated signature. Our own log comes first. */
static bool usable(replica_t *r, const pbft_block_t *b, uint64_t seq,
                   const uint8_t hash[PBFT_HASH_SIZE]) {
    uint8_t h[PBFT_HASH_SIZE];
    if (b->header.height != seq) return false;
    codec_header_hash(&b->header, h);
    if (memcmp(h, hash, PBFT_HASH_SIZE) != 0) return false;
    uint8_t(*ids)[PBFT_HASH_SIZE] = NULL;
    bool ok = replica_validate_block(r, b, seq, &ids) == PBFT_OK;
    free(ids);
    return ok;
}

static const pbft_block_t *find_block(replica_t *r, msg_view_change_t *const *vcs, uint32_t count,
                                      uint64_t seq, const uint8_t hash[PBFT_HASH_SIZE]) {
    slot_t *s = &r->slots[seq % REPLICA_LOG_SPAN_MAX];
    if (s->seq == seq && s->has_block && s->valid && memcmp(s->hash, hash, PBFT_HASH_SIZE) == 0)
        return &s->block;
    if (s->seq == seq && s->has_pcert && s->pcert_own_block &&
        usable(r, &s->pcert_block, seq, hash))
        return &s->pcert_block;
    for (uint32_t i = 0; i < count; i++)
        for (uint8_t j = 0; j < vcs[i]->block_count; j++)
            if (usable(r, &vcs[i]->blocks[j], seq, hash)) return &vcs[i]->blocks[j];
    return NULL;
}

static void free_blocks(pbft_block_t *blocks, oset_ids_t *ids, uint32_t count) {
    for (uint32_t i = 0; i < count; i++) {
        codec_block_free(&blocks[i]);
        free(ids->of[i]);
    }
}

/* Signs the re-proposals and sends NEW-VIEW; false if it cannot yet. */
static bool send_new_view(replica_t *r, msg_view_change_t **vcs, uint32_t count, const oset_t *o,
                          pbft_block_t *blocks, uint8_t (*sigs)[PBFT_SIGNATURE_SIZE]) {
    for (uint32_t i = 0; i < o->count; i++) {
        uint8_t digest[PBFT_HASH_SIZE];
        cert_vote_digest(CRYPTO_TAG_PRE_PREPARE, r->chain_id, r->view, o->e[i].seq, o->e[i].hash,
                         r->self, digest);
        if (r->env.sign(r->env.ctx, digest, sigs[i]) != PBFT_OK) return false;
    }
    msg_t m;
    memset(&m, 0, sizeof(m));
    m.type = MSG_NEW_VIEW;
    m.u.new_view.view = r->view;
    m.u.new_view.vc_count = (uint8_t)count;
    m.u.new_view.vcs = pbft_xcalloc(count, sizeof(msg_view_change_t));
    for (uint32_t i = 0; i < count; i++) {
        m.u.new_view.vcs[i] = *vcs[i];
        m.u.new_view.vcs[i].block_count = 0; /* no appendix inside a NEW-VIEW */
        m.u.new_view.vcs[i].blocks = NULL;
    }
    m.u.new_view.block_count = (uint8_t)o->count;
    m.u.new_view.blocks = blocks;
    m.u.new_view.pre_prepare_sigs = sigs;
    free(r->new_view_frame);
    r->new_view_frame = NULL;
    bool ok = replica_queue_msg(r, REPLICA_LINK_UNKNOWN, &m, &r->new_view_frame, &r->new_view_size);
    if (ok) r->new_view_frame_view = r->view;
    free(m.u.new_view.vcs);
    return ok;
}

void replica_start_new_view_if_ready(replica_t *r) {
    if (!r->in_view_change || !replica_is_primary(r)) return;
    msg_view_change_t *vcs[PBFT_REPLICA_COUNT_MAX];
    uint32_t count = vcs_for_view(r, r->view, vcs);
    if (count < replica_quorum(r)) return;
    oset_t o;
    compute_oset(r, vcs, count, &o);
    if (has_gap(&o)) {
        replica_logf(r, 2, "view change: prepared certificates leave a gap; waiting");
        return;
    }
    pbft_block_t blocks[MSG_NEW_VIEW_BLOCK_COUNT_MAX];
    oset_ids_t ids;
    uint8_t sigs[MSG_NEW_VIEW_BLOCK_COUNT_MAX][PBFT_SIGNATURE_SIZE];
    memset(blocks, 0, sizeof(blocks));
    memset(&ids, 0, sizeof(ids));
    for (uint32_t i = 0; i < o.count; i++) {
        const pbft_block_t *b = find_block(r, vcs, count, o.e[i].seq, o.e[i].hash);
        if (b == NULL) {
            replica_logf(r, 2, "view change: no block for seq %llu; waiting",
                         (unsigned long long)o.e[i].seq);
            free_blocks(blocks, &ids, i);
            return;
        }
        block_copy(&blocks[i], b);
        ids.of[i] = pbft_xcalloc(b->header.tx_count ? b->header.tx_count : 1, PBFT_HASH_SIZE);
        uint8_t root[PBFT_HASH_SIZE];
        codec_block_tx_root(&blocks[i], ids.of[i], root);
    }
    if (!oset_links(&o, blocks)) {
        replica_logf(r, 2, "view change: chosen blocks do not link; waiting");
        free_blocks(blocks, &ids, o.count);
        return;
    }
    if (!send_new_view(r, vcs, count, &o, blocks, sigs)) {
        free_blocks(blocks, &ids, o.count);
        return;
    }
    install_new_view(r, r->view, &o, blocks, &ids, sigs);
}

/* ------------------------------------------------------------------------ */
/* Receiving VIEW-CHANGE (§4.4, §4.5.2).                                     */

/* §4.5.2: f+1 VIEW-CHANGEs from others for views above ours — join the
 * smallest of those views, even before our own timer expires. */
static void maybe_join(replica_t *r) {
    uint32_t count = 0;
    uint64_t smallest = UINT64_MAX;
    for (uint16_t i = 0; i < r->n; i++) {
        if (i == r->self || r->vcs[i] == NULL || r->vcs[i]->new_view <= r->view) continue;
        count++;
        if (r->vcs[i]->new_view < smallest) smallest = r->vcs[i]->new_view;
    }
    if (count >= r->f + 1) replica_start_view_change(r, smallest);
}

pbft_status_t replica_on_view_change(replica_t *r, msg_t *m, const uint8_t *frame) {
    msg_view_change_t *vc = m->u.view_change;
    if (vc->new_view < r->view || (vc->new_view == r->view && !r->in_view_change)) {
        /* The sender is behind: as primary of our view, hand it the NEW-VIEW. */
        if (!r->in_view_change && replica_is_primary(r) && r->new_view_frame != NULL &&
            r->new_view_frame_view == r->view)
            replica_queue_frame(r, m->sender, r->new_view_frame, r->new_view_size);
        return replica_reject(r, REPLICA_INVALID_STALE, PBFT_ERR_STALE);
    }
    const msg_view_change_t *old = r->vcs[m->sender];
    if (old != NULL && old->new_view >= vc->new_view) return PBFT_OK; /* retransmission */
    if (!replica_verify_envelope(r, m, frame))
        return replica_reject(r, REPLICA_INVALID_BAD_SIGNATURE, PBFT_ERR_BAD_SIGNATURE);
    pbft_status_t status = validate_vc(r, vc, true);
    if (status != PBFT_OK) {
        replica_logf(r, 2, "bad view change from %u: %s", m->sender, pbft_status_name(status));
        return replica_reject(r, REPLICA_INVALID_BAD_VIEW_CHANGE, status);
    }
    if (vc->has_checkpoint) replica_checkpoint_adopt(r, &vc->checkpoint);
    if (vc->has_committed) replica_adopt_commit_cert(r, &vc->committed);
    vc_free(r->vcs[m->sender]);
    r->vcs[m->sender] = vc;
    m->u.view_change = NULL; /* kept */
    maybe_join(r);
    replica_start_new_view_if_ready(r);
    return PBFT_OK;
}

/* ------------------------------------------------------------------------ */
/* Receiving NEW-VIEW (§4.4).                                                */

static pbft_status_t check_embedded_vc(replica_t *r, const msg_view_change_t *vc, uint64_t view) {
    if (vc->new_view != view || vc->sender >= r->n) return PBFT_ERR_MALFORMED;
    size_t size = msg_view_change_signed_size(vc);
    uint8_t *buf = pbft_xmalloc(size);
    size_t signed_size = 0;
    size_t written = msg_view_change_encode_signed(vc, buf, size, &signed_size);
    PBFT_ASSERT(written == size);
    uint8_t digest[PBFT_HASH_SIZE];
    msg_signing_digest(MSG_VIEW_CHANGE, r->chain_id, buf, signed_size, digest);
    free(buf);
    if (r->env.verify(r->env.verify_ctx, &r->validators, vc->sender, digest, vc->signature) !=
        PBFT_OK)
        return PBFT_ERR_BAD_SIGNATURE;
    return validate_vc(r, vc, false);
}

/* Recomputes the O-set from the NEW-VIEW's VIEW-CHANGEs and checks the
 * re-proposed blocks against it. *ids receives the tx ids of each block. */
static pbft_status_t check_new_view(replica_t *r, const msg_new_view_t *nv, oset_t *o,
                                    oset_ids_t *ids) {
    if (nv->vc_count < replica_quorum(r)) return PBFT_ERR_NO_QUORUM;
    msg_view_change_t *vcs[MSG_VIEW_CHANGE_COUNT_MAX];
    for (uint8_t i = 0; i < nv->vc_count; i++) {
        pbft_status_t status = check_embedded_vc(r, &nv->vcs[i], nv->view);
        if (status != PBFT_OK) return status;
        vcs[i] = &nv->vcs[i];
    }
    compute_oset(r, vcs, nv->vc_count, o);
    if (has_gap(o)) return PBFT_ERR_BAD_CERTIFICATE;
    if (nv->block_count != o->count) return PBFT_ERR_CONFLICT;
    if (!oset_links(o, nv->blocks)) return PBFT_ERR_BAD_PREV_HASH;
    uint16_t primary = replica_primary(r, nv->view);
    for (uint32_t i = 0; i < o->count; i++) {
        if (!replica_verify_vote(r, CRYPTO_TAG_PRE_PREPARE, nv->view, o->e[i].seq, o->e[i].hash,
                                 primary, nv->pre_prepare_sigs[i]))
            return PBFT_ERR_BAD_SIGNATURE;
        pbft_status_t status = replica_validate_block(r, &nv->blocks[i], o->e[i].seq, &ids->of[i]);
        if (status != PBFT_OK) return status;
    }
    return PBFT_OK;
}

pbft_status_t replica_on_new_view(replica_t *r, msg_t *m, const uint8_t *frame) {
    msg_new_view_t *nv = &m->u.new_view;
    if (nv->view < r->view || (nv->view == r->view && !r->in_view_change))
        return PBFT_OK; /* retransmission of a view we are in, or older */
    if (m->sender != replica_primary(r, nv->view))
        return replica_reject(r, REPLICA_INVALID_WRONG_SENDER, PBFT_ERR_WRONG_SENDER);
    if (!replica_verify_envelope(r, m, frame))
        return replica_reject(r, REPLICA_INVALID_BAD_SIGNATURE, PBFT_ERR_BAD_SIGNATURE);
    oset_t o;
    oset_ids_t ids;
    memset(&ids, 0, sizeof(ids));
    pbft_status_t status = check_new_view(r, nv, &o, &ids);
    if (status != PBFT_OK) {
        for (uint32_t i = 0; i < MSG_NEW_VIEW_BLOCK_COUNT_MAX; i++)
            free(ids.of[i]);
        replica_logf(r, 2, "bad new view %llu from %u: %s", (unsigned long long)nv->view, m->sender,
                     pbft_status_name(status));
        return replica_reject(r, REPLICA_INVALID_BAD_NEW_VIEW, status);
    }
    /* Their commit certificates may commit blocks our log already holds. */
    for (uint8_t i = 0; i < nv->vc_count; i++)
        if (nv->vcs[i].has_committed) replica_adopt_commit_cert(r, &nv->vcs[i].committed);
    /* Blocks move into the log; the message keeps nothing to free. */
    install_new_view(r, nv->view, &o, nv->blocks, &ids, nv->pre_prepare_sigs);
    for (uint8_t i = 0; i < nv->block_count; i++)
        memset(&nv->blocks[i], 0, sizeof(pbft_block_t));
    return PBFT_OK;
}
