/*
 * consensus/normal.c — the normal case (Castro & Liskov OSDI'99 §4.2):
 * batching at the primary, PRE-PREPARE, PREPARE, COMMIT, in-order delivery.
 *
 * The chain rule (docs/PROTOCOL.md): a replica sends PREPARE for (v, s, d)
 * only when the block's prev_hash is the hash of the block at s-1 that it
 * has prepared in the same view v, or has committed. Pre-prepares may arrive
 * and be validated out of order; PREPARE for s waits for s-1. This is what
 * lets a NEW-VIEW carry a gap-free, hash-linked O-set without null requests.
 */
#include <string.h>

#include "pbft/codec.h"
#include "pbft/crypto.h"
#include "replica_internal.h"

/* ------------------------------------------------------------------------ */
/* Slots.                                                                     */

void replica_slot_clear(slot_t *s) {
    codec_block_free(&s->block);
    codec_block_free(&s->pcert_block);
    free(s->ids);
    memset(s, 0, sizeof(*s));
}

/* Without creating. */
static slot_t *slot_peek(replica_t *r, uint64_t seq) {
    if (seq <= r->committed || seq > r->committed + r->log_span) return NULL;
    slot_t *s = &r->slots[seq % REPLICA_LOG_SPAN_MAX];
    return s->seq == seq ? s : NULL;
}

slot_t *replica_slot(replica_t *r, uint64_t seq) {
    if (seq <= r->committed || seq > r->committed + r->log_span) return NULL;
    slot_t *s = &r->slots[seq % REPLICA_LOG_SPAN_MAX];
    if (s->seq != seq) {
        /* Only a slot the committed height has passed is reused. */
        PBFT_ASSERT(s->seq == 0 || s->seq <= r->committed);
        replica_slot_clear(s);
        s->seq = seq;
    }
    return s;
}

/* Installs a validated block as the PRE-PREPARE of `view` (ownership of
 * block and ids moves in). A prepared certificate of an earlier view keeps
 * its own block. */
void replica_slot_set_block(replica_t *r, slot_t *s, uint64_t view, pbft_block_t *block,
                            uint8_t (*ids)[PBFT_HASH_SIZE],
                            const uint8_t pp_sig[PBFT_SIGNATURE_SIZE]) {
    PBFT_ASSERT(s->seq == block->header.height);
    PBFT_ASSERT(!s->has_block || s->pp_view <= view);
    uint8_t hash[PBFT_HASH_SIZE];
    codec_header_hash(&block->header, hash);
    if (s->has_block && memcmp(s->hash, hash, PBFT_HASH_SIZE) == 0) {
        codec_block_free(block);
        free(ids);
    } else {
        if (s->has_pcert && !s->pcert_own_block) {
            s->pcert_block = s->block; /* the certificate keeps the old block */
            s->pcert_own_block = true;
        } else {
            codec_block_free(&s->block);
        }
        free(s->ids);
        s->block = *block;
        s->ids = ids;
        memcpy(s->hash, hash, PBFT_HASH_SIZE);
        memset(block, 0, sizeof(*block));
    }
    s->has_block = true;
    s->valid = true;
    s->linked = false;
    s->prefix_checked = false;
    s->pool_marked = 0;
    s->prepared = false;
    s->pp_view = view;
    memcpy(s->pp_sig, pp_sig, PBFT_SIGNATURE_SIZE);
    (void)r;
}

static int id_compare(const void *a, const void *b) {
    return memcmp(a, b, PBFT_HASH_SIZE);
}

/* Everything about a proposed block that does not depend on s-1 (§4.2:
 * "the request is valid"): height, size, Merkle root, every tx signature,
 * no tx twice, a sane timestamp. *ids_out receives the tx ids (owned). */
pbft_status_t replica_validate_block(replica_t *r, const pbft_block_t *b, uint64_t seq,
                                     uint8_t (**ids_out)[PBFT_HASH_SIZE]) {
    return replica_validate_block_ids(r, b, seq, NULL, ids_out);
}

pbft_status_t replica_validate_block_ids(replica_t *r, const pbft_block_t *b, uint64_t seq,
                                         const uint8_t (*given)[PBFT_HASH_SIZE],
                                         uint8_t (**ids_out)[PBFT_HASH_SIZE]) {
    const pbft_block_header_t *h = &b->header;
    *ids_out = NULL;
    if (h->height != seq) return PBFT_ERR_BAD_HEIGHT;
    if (h->tx_count > r->params.batch_max) return PBFT_ERR_LIMIT;
    if (h->proposer >= r->n) return PBFT_ERR_UNKNOWN_REPLICA;
    if (h->timestamp_ms > replica_now(r) + REPLICA_TIMESTAMP_DRIFT_MS_MAX) return PBFT_ERR_LIMIT;
    uint8_t(*ids)[PBFT_HASH_SIZE] = pbft_xcalloc(h->tx_count ? h->tx_count : 1, PBFT_HASH_SIZE);
    uint8_t root[PBFT_HASH_SIZE];
    if (given) {
        memcpy(ids, given, (size_t)h->tx_count * PBFT_HASH_SIZE);
        crypto_merkle_root((const uint8_t(*)[PBFT_HASH_SIZE])ids, h->tx_count, root);
    } else {
        codec_block_tx_root(b, ids, root);
    }
    pbft_status_t status = PBFT_OK;
    if (memcmp(root, h->tx_root, PBFT_HASH_SIZE) != 0) status = PBFT_ERR_BAD_MERKLE_ROOT;
    if (status == PBFT_OK && h->tx_count > 1) {
        uint8_t(*sorted)[PBFT_HASH_SIZE] = pbft_xmalloc((size_t)h->tx_count * PBFT_HASH_SIZE);
        memcpy(sorted, ids, (size_t)h->tx_count * PBFT_HASH_SIZE);
        qsort(sorted, h->tx_count, PBFT_HASH_SIZE, id_compare);
        for (uint32_t i = 1; i < h->tx_count && status == PBFT_OK; i++)
            if (memcmp(sorted[i - 1], sorted[i], PBFT_HASH_SIZE) == 0) status = PBFT_ERR_DUPLICATE;
        free(sorted);
    }
    for (uint32_t i = 0; i < h->tx_count && status == PBFT_OK; i++)
        if (!r->env.tx_valid(r->env.ctx, &b->txs[i], ids[i])) status = PBFT_ERR_BAD_SIGNATURE;
    if (status != PBFT_OK) {
        free(ids);
        return status;
    }
    *ids_out = ids;
    return PBFT_OK;
}

/* ------------------------------------------------------------------------ */
/* PRE-PREPARE (§4.2).                                                        */

static replica_invalid_reason_t block_reason(pbft_status_t status) {
    return status == PBFT_ERR_BAD_SIGNATURE ? REPLICA_INVALID_BAD_TX : REPLICA_INVALID_BAD_BLOCK;
}

/* A PRE-PREPARE for a view we have not installed yet (its NEW-VIEW is late
 * or lost): keep a bounded number, checked in full when replayed. */
static pbft_status_t stash(replica_t *r, msg_t *m) {
    const msg_pre_prepare_t *pp = &m->u.pre_prepare;
    if (pp->view > r->view + REPLICA_STASH_VIEWS_AHEAD_MAX || pp->seq <= r->committed ||
        pp->seq > r->committed + r->log_span)
        return replica_reject(r, REPLICA_INVALID_OUT_OF_WINDOW, PBFT_ERR_OUT_OF_WINDOW);
    if (r->stash_count == REPLICA_STASH_MAX) { /* drop the oldest */
        msg_free(&r->stash[0]);
        memmove(&r->stash[0], &r->stash[1], (REPLICA_STASH_MAX - 1) * sizeof(msg_t));
        r->stash_count--;
    }
    r->stash[r->stash_count++] = *m;
    memset(m, 0, sizeof(*m)); /* ownership moved; msg_free(m) is a no-op */
    return PBFT_OK;
}

void replica_replay_stash(replica_t *r) {
    /* Take each stashed message once, from the front; later views go back. */
    for (uint32_t left = r->stash_count; left > 0; left--) {
        msg_t m = r->stash[0];
        r->stash_count--;
        memmove(&r->stash[0], &r->stash[1], r->stash_count * sizeof(msg_t));
        uint64_t view = m.u.pre_prepare.view;
        if (view > r->view || (view == r->view && r->in_view_change)) {
            r->stash[r->stash_count++] = m;
            continue;
        }
        if (view == r->view) (void)replica_on_pre_prepare(r, &m);
        msg_free(&m);
    }
}

void replica_stash_destroy(replica_t *r) {
    for (uint32_t i = 0; i < r->stash_count; i++)
        msg_free(&r->stash[i]);
    r->stash_count = 0;
}

/* Slot s's txs must not appear again in the block at seq: a block in
 * flight in this view, or (prefix check) any block below seq, which is then
 * a hash-linked ancestor (prefix_known) whatever its view. */
static bool counts_against(replica_t *r, uint64_t s, uint64_t seq, bool prefix) {
    const slot_t *slot = slot_peek(r, s);
    return s != seq && slot && slot->has_block && slot->ids &&
           (slot->pp_view == r->view || (prefix && s < seq));
}

/* A block must not carry a tx that is committed (as far as we know) or in
 * another block in flight in this view: an honest primary never does that,
 * a Byzantine one would make a tx execute twice (as a failed duplicate).
 * ask_env: the prefix check, with the store and every ancestor in the log. */
static bool repeats_a_tx(replica_t *r, uint64_t seq, const uint8_t (*ids)[PBFT_HASH_SIZE],
                         uint32_t count, bool ask_env) {
    for (uint32_t i = 0; i < count; i++) {
        if (mempool_recently_committed(&r->pool, ids[i])) return true;
        /* A pending tx passed the same store lookup when it entered the
         * pool and leaves the pool when it commits: ask the store only
         * about the others (a lookup there costs more than the pool's). */
        if (ask_env && r->env.tx_committed && !mempool_contains(&r->pool, ids[i]) &&
            r->env.tx_committed(r->env.ctx, ids[i]))
            return true;
    }
    /* Index the in-flight ids (open addressing over pointers). */
    size_t total = 0;
    for (uint64_t s = r->committed + 1; s <= r->committed + r->log_span; s++) {
        if (counts_against(r, s, seq, ask_env)) total += slot_peek(r, s)->block.header.tx_count;
    }
    if (total == 0 || count == 0) return false;
    size_t cap = 1;
    while (cap < 2 * total)
        cap <<= 1;
    const uint8_t **table = pbft_xcalloc(cap, sizeof(*table));
    for (uint64_t s = r->committed + 1; s <= r->committed + r->log_span; s++) {
        if (!counts_against(r, s, seq, ask_env)) continue;
        const slot_t *slot = slot_peek(r, s);
        for (uint32_t t = 0; t < slot->block.header.tx_count; t++) {
            size_t h;
            memcpy(&h, slot->ids[t], sizeof(h));
            for (h &= cap - 1; table[h] != NULL; h = (h + 1) & (cap - 1)) {
            }
            table[h] = slot->ids[t];
        }
    }
    bool found = false;
    for (uint32_t i = 0; i < count && !found; i++) {
        size_t h;
        memcpy(&h, ids[i], sizeof(h));
        for (h &= cap - 1; table[h] != NULL && !found; h = (h + 1) & (cap - 1))
            found = memcmp(table[h], ids[i], PBFT_HASH_SIZE) == 0;
    }
    free(table);
    return found;
}

pbft_status_t replica_on_pre_prepare(replica_t *r, msg_t *m) {
    msg_pre_prepare_t *pp = &m->u.pre_prepare;
    if (pp->view < r->view) return replica_reject(r, REPLICA_INVALID_STALE, PBFT_ERR_STALE);
    if (pp->view > r->view || r->in_view_change) return stash(r, m);
    if (m->sender != replica_primary(r, pp->view))
        return replica_reject(r, REPLICA_INVALID_WRONG_SENDER, PBFT_ERR_WRONG_SENDER);
    if (pp->seq <= r->committed) return replica_reject(r, REPLICA_INVALID_STALE, PBFT_ERR_STALE);
    if (pp->seq > r->committed + r->log_span || pp->seq > replica_high_water_mark(r))
        return replica_reject(r, REPLICA_INVALID_OUT_OF_WINDOW, PBFT_ERR_OUT_OF_WINDOW);
    if (pp->seq <= r->view_floor) /* decided by this view's NEW-VIEW */
        return replica_reject(r, REPLICA_INVALID_CONFLICT, PBFT_ERR_CONFLICT);
    replica_update_context(r, pp->seq);
    uint8_t hash[PBFT_HASH_SIZE];
    codec_header_hash(&pp->block.header, hash);
    if (!replica_verify_vote(r, CRYPTO_TAG_PRE_PREPARE, pp->view, pp->seq, hash, m->sender,
                             m->signature))
        return replica_reject(r, REPLICA_INVALID_BAD_SIGNATURE, PBFT_ERR_BAD_SIGNATURE);
    if (pp->block.header.view != pp->view || pp->block.header.proposer != m->sender)
        return replica_reject(r, REPLICA_INVALID_BAD_BLOCK, PBFT_ERR_MALFORMED);
    slot_t *s = replica_slot(r, pp->seq);
    PBFT_ASSERT(s != NULL);
    if (s->has_block && s->pp_view == pp->view) {
        if (memcmp(s->hash, hash, PBFT_HASH_SIZE) == 0) return PBFT_OK; /* duplicate */
        replica_logf(r, 2, "primary %u equivocated at seq %llu", m->sender,
                     (unsigned long long)pp->seq);
        return replica_reject(r, REPLICA_INVALID_CONFLICT, PBFT_ERR_CONFLICT);
    }
    if (!replica_safety_allows(r, pp->view, pp->seq, hash))
        return replica_reject(r, REPLICA_INVALID_CONFLICT, PBFT_ERR_CONFLICT);
    uint8_t(*ids)[PBFT_HASH_SIZE] = NULL;
    pbft_status_t status = replica_validate_block_ids(
        r, &pp->block, pp->seq, replica_given_ids(r, m, pp->block.header.tx_count), &ids);
    if (status != PBFT_OK) return replica_reject(r, block_reason(status), status);
    if (repeats_a_tx(r, pp->seq, ids, pp->block.header.tx_count, false)) {
        free(ids);
        replica_logf(r, 2, "primary %u repeats a tx at seq %llu", m->sender,
                     (unsigned long long)pp->seq);
        return replica_reject(r, REPLICA_INVALID_BAD_BLOCK, PBFT_ERR_DUPLICATE);
    }
    replica_slot_set_block(r, s, pp->view, &pp->block, ids, m->signature);
    replica_progress(r);
    return PBFT_OK;
}

/* ------------------------------------------------------------------------ */
/* PREPARE and COMMIT (§4.2).                                                 */

pbft_status_t replica_on_vote(replica_t *r, msg_t *m) {
    const msg_vote_t *v = &m->u.vote;
    bool is_commit = m->type == MSG_COMMIT;
    if (!is_commit && m->sender == replica_primary(r, v->view))
        return replica_reject(r, REPLICA_INVALID_WRONG_SENDER, PBFT_ERR_WRONG_SENDER);
    if (v->seq <= r->committed) return PBFT_OK; /* late vote for a committed seq */
    if (!is_commit && v->view < r->view)
        return replica_reject(r, REPLICA_INVALID_STALE, PBFT_ERR_STALE);
    if (v->seq > r->committed + r->log_span || v->seq > replica_high_water_mark(r))
        return replica_reject(r, REPLICA_INVALID_OUT_OF_WINDOW, PBFT_ERR_OUT_OF_WINDOW);
    slot_t *s = replica_slot(r, v->seq);
    PBFT_ASSERT(s != NULL);
    vote_t *slot_vote = is_commit ? &s->commits[m->sender] : &s->prepares[m->sender];
    if (slot_vote->present) {
        if (slot_vote->view > v->view)
            return replica_reject(r, REPLICA_INVALID_STALE, PBFT_ERR_STALE);
        if (slot_vote->view == v->view) {
            if (memcmp(slot_vote->hash, v->block_hash, PBFT_HASH_SIZE) == 0) return PBFT_OK;
            return replica_reject(r, REPLICA_INVALID_CONFLICT, PBFT_ERR_CONFLICT);
        }
    }
    if (!replica_verify_vote(r, is_commit ? CRYPTO_TAG_COMMIT : CRYPTO_TAG_PREPARE, v->view, v->seq,
                             v->block_hash, m->sender, m->signature))
        return replica_reject(r, REPLICA_INVALID_BAD_SIGNATURE, PBFT_ERR_BAD_SIGNATURE);
    slot_vote->present = true;
    slot_vote->view = v->view;
    memcpy(slot_vote->hash, v->block_hash, PBFT_HASH_SIZE);
    memcpy(slot_vote->sig, m->signature, PBFT_SIGNATURE_SIZE);
    replica_progress(r);
    return PBFT_OK;
}

/* ------------------------------------------------------------------------ */
/* Progress: prepare, commit, deliver.                                        */

/* Every block between the last delivered one and s is in the log, hash-linked
 * down from s's block: if s commits, they are its prefix. A replica that
 * lags (its predecessor committed elsewhere, older blocks still to come by
 * state transfer) waits for them before checking s against its prefix. */
static bool prefix_known(replica_t *r, const slot_t *s) {
    const uint8_t *expect = s->block.header.prev_hash;
    for (uint64_t q = s->seq - 1; q > r->committed; q--) {
        const slot_t *p = slot_peek(r, q);
        if (p == NULL || !p->has_block || memcmp(p->hash, expect, PBFT_HASH_SIZE) != 0)
            return false;
        expect = p->block.header.prev_hash;
    }
    return memcmp(expect, r->committed_hash, PBFT_HASH_SIZE) == 0;
}

/* The chain rule for slot s in its PRE-PREPARE's view. */
static bool chain_ok(replica_t *r, const slot_t *s) {
    const pbft_block_header_t *h = &s->block.header;
    uint64_t prev = s->seq - 1;
    if (prev == r->committed)
        return memcmp(h->prev_hash, r->committed_hash, PBFT_HASH_SIZE) == 0 &&
               h->timestamp_ms >= r->committed_header.timestamp_ms;
    const slot_t *p = slot_peek(r, prev);
    if (p == NULL || !p->has_block || memcmp(p->hash, h->prev_hash, PBFT_HASH_SIZE) != 0)
        return false;
    if (h->timestamp_ms < p->block.header.timestamp_ms) return false;
    return (p->prepared && p->pp_view == s->pp_view) || p->committed;
}

static void send_vote(replica_t *r, slot_t *s, uint8_t type) {
    msg_t m;
    memset(&m, 0, sizeof(m));
    m.type = type;
    m.u.vote.view = s->pp_view;
    m.u.vote.seq = s->seq;
    memcpy(m.u.vote.block_hash, s->hash, PBFT_HASH_SIZE);
    replica_safety_record(r, s->pp_view, s->seq, s->hash,
                          type == MSG_PREPARE ? SAFETY_PHASE_PREPARE : SAFETY_PHASE_COMMIT);
    if (!replica_queue_msg(r, REPLICA_LINK_UNKNOWN, &m, NULL, NULL)) return;
    /* A vote we cannot verify ourselves (wrong key) must not spoil our
     * certificates. The first REPLICA_OWN_SIGNATURE_CHECKS votes are
     * verified; after that the key is trusted (it does not change). */
    if (r->own_signature_checks < REPLICA_OWN_SIGNATURE_CHECKS) {
        if (!replica_verify_vote(r, msg_type_tag(type), s->pp_view, s->seq, s->hash, r->self,
                                 m.signature))
            return;
        r->own_signature_checks++;
    }
    vote_t *own = type == MSG_PREPARE ? &s->prepares[r->self] : &s->commits[r->self];
    own->present = true;
    own->view = s->pp_view;
    memcpy(own->hash, s->hash, PBFT_HASH_SIZE);
    memcpy(own->sig, m.signature, PBFT_SIGNATURE_SIZE);
}

static bool own_vote_matches(const vote_t *v, const slot_t *s) {
    return v->present && v->view == s->pp_view && memcmp(v->hash, s->hash, PBFT_HASH_SIZE) == 0;
}

static void step_slot(replica_t *r, slot_t *s) {
    if (s->has_block && s->valid && !r->in_view_change && s->pp_view == r->view) {
        s->linked = chain_ok(r, s);
        /* Once its predecessor is settled, the committed prefix we know is
         * final for this block: check again that it repeats no tx (a
         * lagging replica may have learned a commit since the PRE-PREPARE). */
        if (s->linked && !s->prefix_checked) {
            if (!prefix_known(r, s)) return; /* no vote until the prefix is in the log */
            s->prefix_checked = true;
            if (s->ids && repeats_a_tx(r, s->seq, (const uint8_t(*)[PBFT_HASH_SIZE])s->ids,
                                       s->block.header.tx_count, true)) {
                s->valid = false;
                r->invalid[REPLICA_INVALID_BAD_BLOCK]++;
                replica_logf(r, 2, "block at seq %llu repeats a committed tx",
                             (unsigned long long)s->seq);
                return;
            }
        }
        bool backup = replica_primary(r, s->pp_view) != r->self;
        if (s->linked && backup && s->seq <= r->committed + r->window &&
            !own_vote_matches(&s->prepares[r->self], s) &&
            replica_safety_allows(r, s->pp_view, s->seq, s->hash))
            send_vote(r, s, MSG_PREPARE);
        if (s->linked && !s->prepared &&
            replica_count_prepares(r, s, s->pp_view, s->hash) >= replica_prepare_quorum(r)) {
            /* The block becomes durable before the slot counts as prepared:
             * a prepared certificate restored after a crash must come with
             * its block, or no VIEW-CHANGE/NEW-VIEW can carry it. A failed
             * write leaves the slot unprepared; the next progress step (at
             * the latest the status tick) tries again. */
            if (r->env.persist_block && r->env.persist_block(r->env.ctx, &s->block) != PBFT_OK) {
                r->persist_failures++; /* no COMMIT without a durable block */
                return;
            }
            s->prepared = true; /* §4.2 prepared(m, v, n, i) + chain rule */
            replica_build_prepared_cert(r, s, &s->pcert);
            s->has_pcert = true;
            replica_safety_record_pcert(r, &s->pcert, &s->block);
            if (s->pcert_own_block) codec_block_free(&s->pcert_block);
            s->pcert_own_block = false;
            if (replica_safety_allows(r, s->pp_view, s->seq, s->hash)) send_vote(r, s, MSG_COMMIT);
        }
    }
    uint64_t view;
    if (s->has_block && s->valid && !s->committed && replica_find_commit_quorum(r, s, &view)) {
        replica_build_commit_cert(r, s, view, &s->cert);
        s->committed = true; /* §4.2 committed-local: 2f+1 matching COMMITs */
    }
}

/* A valid commit certificate learned elsewhere (a VIEW-CHANGE carries the
 * sender's latest): if our log holds that very block, it is committed. */
void replica_adopt_commit_cert(replica_t *r, const pbft_commit_cert_t *cert) {
    slot_t *s = slot_peek(r, cert->seq);
    if (s == NULL || !s->has_block || !s->valid || s->committed) return;
    if (memcmp(s->hash, cert->block_hash, PBFT_HASH_SIZE) != 0) return;
    s->cert = *cert;
    s->committed = true;
}

/* Hands one committed block to the env (shared with state transfer). ids:
 * the block's tx ids, from its validation (replica_validate_block). */
bool replica_deliver(replica_t *r, const pbft_block_t *block, const uint8_t (*ids)[PBFT_HASH_SIZE],
                     const pbft_commit_cert_t *cert) {
    PBFT_ASSERT(block->header.height == r->committed + 1); /* in order, never twice */
    PBFT_ASSERT(cert->seq == block->header.height);
    PBFT_ASSERT(ids != NULL);
    if (memcmp(block->header.prev_hash, r->committed_hash, PBFT_HASH_SIZE) != 0) {
        replica_logf(r, 2, "committed block %llu does not link; refusing",
                     (unsigned long long)block->header.height);
        r->invalid[REPLICA_INVALID_CONFLICT]++;
        return false;
    }
    r->committed++;
    r->committed_header = block->header;
    memcpy(r->committed_hash, cert->block_hash, PBFT_HASH_SIZE);
    r->committed_cert = *cert;
    r->has_committed_cert = true;
    r->blocks_committed++;
    r->txs_committed += block->header.tx_count;
    r->view_change_failures = 0;
    for (uint32_t i = 0; i < block->header.tx_count; i++)
        mempool_commit(&r->pool, ids[i]);
    if (r->next_seq <= r->committed) r->next_seq = r->committed + 1;
    replica_update_context(r, r->committed);
    r->env.deliver(r->env.ctx, block, ids, cert);
    return true;
}

static bool deliver_ready(replica_t *r) {
    bool any = false;
    for (;;) {
        uint64_t seq = r->committed + 1;
        slot_t *s = slot_peek(r, seq);
        if (s == NULL || !s->committed || !s->valid) break;
        /* Bound committed-but-unexecuted blocks (safety ring, deferred queue). */
        if (seq > r->executed + REPLICA_LOG_SPAN_MAX) break;
        if (!replica_deliver(r, &s->block, (const uint8_t(*)[PBFT_HASH_SIZE])s->ids, &s->cert))
            break;
        replica_slot_clear(s);
        any = true;
    }
    if (any) replica_rearm_request_timer(r);
    return any;
}

static bool propose_blocks(replica_t *r);

/* Steps every slot (prepare, commit), delivers what is committed in order,
 * lets the primary propose, and repeats while anything moved: a new block
 * can be prepared at once (n = 1), a delivery frees a window slot. */
void replica_progress(replica_t *r) {
    if (r->in_progress) { /* re-entered from a step: the outer loop repeats */
        r->progress_again = true;
        return;
    }
    r->in_progress = true;
    do {
        r->progress_again = false;
        do {
            for (uint64_t seq = r->committed + 1; seq <= r->committed + r->log_span; seq++) {
                slot_t *s = slot_peek(r, seq);
                if (s != NULL) step_slot(r, s);
            }
        } while (deliver_ready(r));
        if (propose_blocks(r)) r->progress_again = true;
    } while (r->progress_again);
    r->in_progress = false;
}

void replica_try_propose(replica_t *r) {
    replica_progress(r);
}

/* ------------------------------------------------------------------------ */
/* Batching at the primary (§4.2; DESIGN.md "Batching").                      */

static bool prev_of(replica_t *r, uint64_t seq, const pbft_block_header_t **h,
                    const uint8_t **hash) {
    if (seq - 1 == r->committed) {
        *h = &r->committed_header;
        *hash = r->committed_hash;
        return true;
    }
    const slot_t *p = slot_peek(r, seq - 1);
    if (p == NULL || !p->has_block || p->pp_view != r->view) return false;
    *h = &p->block.header;
    *hash = p->hash;
    return true;
}

/* How long after the previous cut an idle primary waits before cutting a
 * partial block: nothing while txs trickle in (a lone tx goes out at
 * once), growing linearly with the arrival rate (replica_options_t
 * batch_idle_rate .. batch_busy_rate) up to batch_delay_ms, so
 * under load blocks are fewer and larger. Every block costs each replica
 * a few signatures, messages and synced writes whatever its size, so at
 * thousands of txs/s one block per round trip would spend the CPU on
 * blocks instead of txs. */
static uint64_t rate_scaled_ms(replica_t *r, uint64_t now, uint64_t max_ms) {
    uint32_t rate = mempool_arrival_rate(&r->pool, now);
    uint32_t idle = r->options.batch_idle_rate, busy = r->options.batch_busy_rate;
    if (rate <= idle) return 0;
    uint64_t over = PBFT_MIN(rate, busy) - idle;
    return max_ms * over / (busy - idle);
}

static uint64_t idle_gap_ms(replica_t *r, uint64_t now) {
    return rate_scaled_ms(r, now, r->params.batch_delay_ms);
}

/* A backup relays client txs in REQUESTs. Idle, each goes at once; under
 * load it gathers them for up to batch_delay_ms / 10 (on the same arrival
 * rate scale as the primary's idle gap), so the other replicas handle one
 * message per gap instead of one per client call. */
uint64_t replica_forward_gap_ms(replica_t *r, uint64_t now) {
    return rate_scaled_ms(r, now, r->params.batch_delay_ms / 10);
}

/* Cut when a window slot is free and: a full batch is waiting, the oldest
 * tx has waited batch_delay_ms (the bound on batching delay), or nothing
 * is in flight and the idle gap since the previous cut has passed. */
static bool should_cut(replica_t *r, uint64_t seq, uint64_t now) {
    const mempool_entry_t *oldest = mempool_oldest_unproposed(&r->pool);
    if (oldest == NULL) return false;
    uint64_t in_flight = seq - 1 - r->committed;
    uint64_t due = oldest->arrival_ms + r->params.batch_delay_ms;
    if (r->pool.unproposed >= r->params.batch_max || now >= due) return true;
    if (in_flight == 0) {
        uint64_t idle_due = r->last_cut_ms + idle_gap_ms(r, now);
        if (now >= idle_due) return true;
        due = PBFT_MIN(due, idle_due);
    }
    r->env.set_timer(r->env.ctx, REPLICA_TIMER_BATCH, due - now);
    return false;
}

static void build_block(replica_t *r, uint64_t seq, const pbft_block_header_t *prev,
                        const uint8_t prev_hash[PBFT_HASH_SIZE], uint64_t now, pbft_block_t *b,
                        uint8_t (**ids_out)[PBFT_HASH_SIZE]) {
    uint32_t count = PBFT_MIN(r->pool.unproposed, r->params.batch_max);
    PBFT_ASSERT(count > 0);
    memset(b, 0, sizeof(*b));
    b->txs = pbft_xcalloc(count, sizeof(pbft_tx_t));
    uint8_t(*ids)[PBFT_HASH_SIZE] = pbft_xcalloc(count, PBFT_HASH_SIZE);
    uint32_t n = 0;
    for (uint32_t e = mempool_next_unproposed(&r->pool, MEMPOOL_NIL); e != MEMPOOL_NIL && n < count;
         e = mempool_next_unproposed(&r->pool, e)) {
        const mempool_entry_t *entry = &r->pool.entries[e];
        b->txs[n] = entry->tx;
        memcpy(ids[n], entry->id, PBFT_HASH_SIZE);
        n++;
    }
    PBFT_ASSERT(n == count);
    pbft_block_header_t *h = &b->header;
    h->version = PBFT_BLOCK_VERSION;
    h->height = seq;
    h->view = r->view;
    h->timestamp_ms = PBFT_MAX(now, prev->timestamp_ms);
    memcpy(h->prev_hash, prev_hash, PBFT_HASH_SIZE);
    h->tx_count = count;
    h->proposer = r->self;
    crypto_merkle_root((const uint8_t(*)[PBFT_HASH_SIZE])ids, count, h->tx_root);
    *ids_out = ids;
}

/* A tx may have entered the pool after the block carrying it was proposed
 * in this view (a relay or a client retry of a tx in a NEW-VIEW re-proposal,
 * or in a block restored after a restart): mark every tx of the blocks in
 * flight. A block whose txs were all pending and marked is skipped until a
 * mark is lost (pool.unmark_epoch): its txs leave the pool only when they
 * commit, so none of them can come back unmarked. Blocks this primary cut
 * from its pool are such blocks from the start (propose_blocks). */
static void mark_in_flight(replica_t *r, uint64_t seq) {
    uint64_t marked = r->pool.unmark_epoch + 1;
    for (uint64_t s = r->committed + 1; s < seq; s++) {
        slot_t *slot = slot_peek(r, s);
        if (slot == NULL || !slot->has_block || slot->pp_view != r->view || slot->ids == NULL ||
            slot->pool_marked == marked)
            continue;
        bool all = true;
        for (uint32_t i = 0; i < slot->block.header.tx_count; i++)
            all &= mempool_set_proposed(&r->pool, slot->ids[i], true);
        if (all) slot->pool_marked = marked;
    }
}

/* Returns true when it proposed at least one block. */
static bool propose_blocks(replica_t *r) {
    if (!replica_is_primary(r) || r->in_view_change) return false;
    /* Fresh blocks only once every block the NEW-VIEW built on is committed
     * here: their txs must not be proposed twice. */
    if (r->committed < r->view_floor) return false;
    uint64_t now = replica_now(r);
    bool proposed = false;
    for (;; proposed = true) {
        if (r->next_seq <= r->committed) r->next_seq = r->committed + 1;
        uint64_t seq = r->next_seq;
        if (seq > r->committed + r->window || seq > replica_high_water_mark(r)) return proposed;
        const pbft_block_header_t *prev;
        const uint8_t *prev_hash;
        if (!prev_of(r, seq, &prev, &prev_hash)) return proposed;
        mark_in_flight(r, seq);
        if (!should_cut(r, seq, now)) return proposed;
        pbft_block_t block;
        uint8_t(*ids)[PBFT_HASH_SIZE];
        build_block(r, seq, prev, prev_hash, now, &block, &ids);
        r->last_cut_ms = now;
        uint8_t hash[PBFT_HASH_SIZE];
        codec_header_hash(&block.header, hash);
        if (!replica_safety_allows(r, r->view, seq, hash)) {
            /* Proposed something else here before a restart: wait for it to commit. */
            codec_block_free(&block);
            free(ids);
            return proposed;
        }
        replica_update_context(r, seq);
        replica_safety_record(r, r->view, seq, hash, SAFETY_PHASE_PRE_PREPARE);
        msg_t m;
        memset(&m, 0, sizeof(m));
        m.type = MSG_PRE_PREPARE;
        m.u.pre_prepare.view = r->view;
        m.u.pre_prepare.seq = seq;
        m.u.pre_prepare.block = block; /* borrowed for the encode */
        if (!replica_queue_msg(r, REPLICA_LINK_UNKNOWN, &m, NULL, NULL)) {
            codec_block_free(&block);
            free(ids);
            return proposed;
        }
        bool all = true; /* build_block took them from the pool */
        for (uint32_t i = 0; i < block.header.tx_count; i++)
            all &= mempool_set_proposed(&r->pool, ids[i], true);
        slot_t *s = replica_slot(r, seq);
        PBFT_ASSERT(s != NULL);
        replica_slot_set_block(r, s, r->view, &block, ids, m.signature);
        if (all) s->pool_marked = r->pool.unmark_epoch + 1;
        r->next_seq = seq + 1;
    }
}

/* ------------------------------------------------------------------------ */
/* REQUEST: transactions relayed by a backup (§4.1).                          */

pbft_status_t replica_on_request(replica_t *r, msg_t *m) {
    const msg_request_t *q = &m->u.request;
    uint64_t now = replica_now(r);
    pbft_status_t result = PBFT_OK;
    const uint8_t(*given)[PBFT_HASH_SIZE] = replica_given_ids(r, m, q->tx_count);
    for (uint16_t i = 0; i < q->tx_count; i++) {
        uint8_t id[PBFT_HASH_SIZE];
        if (given)
            memcpy(id, given[i], PBFT_HASH_SIZE);
        else
            codec_tx_id(&q->txs[i], id);
        if (mempool_contains(&r->pool, id) || mempool_recently_committed(&r->pool, id)) continue;
        if (r->env.tx_committed && r->env.tx_committed(r->env.ctx, id)) continue;
        if (!r->env.tx_valid(r->env.ctx, &q->txs[i], id)) {
            result = replica_reject(r, REPLICA_INVALID_BAD_TX, PBFT_ERR_BAD_SIGNATURE);
            continue;
        }
        if (mempool_add(&r->pool, &q->txs[i], id, now) == PBFT_ERR_FULL) {
            result = replica_reject(r, REPLICA_INVALID_FULL, PBFT_ERR_FULL);
            break;
        }
    }
    replica_try_propose(r);
    replica_rearm_request_timer(r);
    return result;
}

/* ------------------------------------------------------------------------ */
/* Retransmission to a peer whose STATUS shows it stuck below our log        */
/* (links drop messages; OSDI'99 §4.2 assumes retransmission).               */

static void resend_vote(replica_t *r, uint16_t to, const slot_t *s, uint8_t type, const vote_t *v) {
    msg_t m;
    memset(&m, 0, sizeof(m));
    m.type = type;
    m.sender = r->self;
    m.u.vote.view = v->view;
    m.u.vote.seq = s->seq;
    memcpy(m.u.vote.block_hash, v->hash, PBFT_HASH_SIZE);
    memcpy(m.signature, v->sig, PBFT_SIGNATURE_SIZE);
    uint8_t frame[MSG_HEADER_SIZE + 16 + PBFT_HASH_SIZE + PBFT_SIGNATURE_SIZE];
    size_t size = msg_encode(&m, frame, sizeof(frame), NULL);
    PBFT_ASSERT(size == sizeof(frame));
    replica_queue_frame(r, to, frame, size);
}

static void resend_pre_prepare(replica_t *r, uint16_t to, const slot_t *s) {
    msg_t m;
    memset(&m, 0, sizeof(m));
    m.type = MSG_PRE_PREPARE;
    m.sender = r->self;
    m.u.pre_prepare.view = s->pp_view;
    m.u.pre_prepare.seq = s->seq;
    m.u.pre_prepare.block = s->block; /* borrowed for the encode */
    memcpy(m.signature, s->pp_sig, PBFT_SIGNATURE_SIZE);
    size_t size = msg_size(&m);
    uint8_t *frame = pbft_xmalloc(size);
    size_t written = msg_encode(&m, frame, size, NULL);
    PBFT_ASSERT(written == size);
    replica_queue_frame(r, to, frame, size);
    free(frame);
}

void replica_retransmit(replica_t *r, uint16_t to, uint64_t peer_committed) {
    if (r->in_view_change) return;
    uint64_t from = PBFT_MAX(peer_committed, r->committed) + 1;
    uint32_t sent = 0;
    for (uint64_t seq = from; seq <= r->committed + r->log_span && sent < r->window; seq++) {
        const slot_t *s = slot_peek(r, seq);
        if (s == NULL || !s->has_block || s->pp_view != r->view) continue;
        sent++;
        /* Blocks re-proposed by a NEW-VIEW travel only inside it. */
        if (replica_primary(r, s->pp_view) == r->self && s->block.header.view == s->pp_view)
            resend_pre_prepare(r, to, s);
        if (own_vote_matches(&s->prepares[r->self], s))
            resend_vote(r, to, s, MSG_PREPARE, &s->prepares[r->self]);
        if (own_vote_matches(&s->commits[r->self], s))
            resend_vote(r, to, s, MSG_COMMIT, &s->commits[r->self]);
    }
}
