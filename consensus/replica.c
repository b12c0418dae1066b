/*
 * consensus/replica.c — creation, the event wrapper, dispatch, timers,
 * client transactions and status.
 *
 * Every public entry point runs inside begin_event/end_event. While a
 * handler runs, outgoing frames are queued in the outbox and changes to the
 * safety state only mark it dirty; end_event then persists the safety state
 * once (env->persist) and only after that hands the frames to the network.
 * So a crash can lose a message but never leaves a signed message out that
 * the persisted state does not account for (OSDI'99 §4.5.1, TOCS'02 §5.1).
 */
#include <stdarg.h>
#include <string.h>

#include "pbft/crypto.h"
#include "replica_internal.h"

void replica_options_default(replica_options_t *out) {
    memset(out, 0, sizeof(*out));
    out->mempool_max = 100000;
    out->status_interval_ms = 1000;
    out->state_transfer_timeout_ms = 2000;
    out->batch_idle_rate = 200;
    out->batch_busy_rate = 2000;
}

const char *replica_invalid_reason_name(replica_invalid_reason_t reason) {
    static const char *const names[] = {
#define REPLICA_INVALID_NAME_(name, text) text,
        REPLICA_INVALID_LIST(REPLICA_INVALID_NAME_)
#undef REPLICA_INVALID_NAME_
    };
    if ((unsigned)reason >= REPLICA_INVALID_COUNT) return "unknown";
    return names[reason];
}

/* ------------------------------------------------------------------------ */
/* Small shared helpers.                                                      */

void replica_logf(replica_t *r, int level, const char *fmt, ...) {
    if (r->env.log == NULL) return;
    char line[256];
    char text[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    snprintf(line, sizeof(line), "replica=%u view=%llu %s", r->self, (unsigned long long)r->view,
             text);
    r->env.log(r->env.ctx, level, line);
}

pbft_status_t replica_reject(replica_t *r, replica_invalid_reason_t reason, pbft_status_t status) {
    PBFT_ASSERT((unsigned)reason < REPLICA_INVALID_COUNT);
    PBFT_ASSERT(status != PBFT_OK);
    r->invalid[reason]++;
    return status;
}

uint64_t replica_now(replica_t *r) {
    return r->env.now_ms(r->env.ctx);
}

uint16_t replica_primary(const replica_t *r, uint64_t view) {
    return replica_primary_of(view, r->n);
}

bool replica_is_primary(const replica_t *r) {
    return replica_primary(r, r->view) == r->self;
}

uint64_t replica_high_water_mark(const replica_t *r) {
    return r->stable + 2ull * r->params.checkpoint_interval;
}

void replica_update_context(const replica_t *r, uint64_t seq) {
    snprintf(pbft_assert_context, sizeof(pbft_assert_context), "replica=%u view=%llu seq=%llu",
             r->self, (unsigned long long)r->view, (unsigned long long)seq);
}

/* ------------------------------------------------------------------------ */
/* Creation.                                                                  */

static pbft_status_t check_config(const pbft_genesis_t *g, uint16_t self,
                                  const replica_options_t *o) {
    const pbft_consensus_params_t *p = &g->params;
    uint16_t n = g->validators.count;
    if (n < PBFT_REPLICA_COUNT_MIN || n > PBFT_REPLICA_COUNT_MAX || (n - 1) % 3 != 0)
        return PBFT_ERR_CONFIG;
    if (self >= n) return PBFT_ERR_CONFIG;
    if (p->checkpoint_interval < 1 || p->checkpoint_interval > PBFT_CHECKPOINT_INTERVAL_MAX)
        return PBFT_ERR_CONFIG;
    if (p->window < 1 || p->window > PBFT_WINDOW_MAX || p->window > p->checkpoint_interval)
        return PBFT_ERR_CONFIG;
    if (p->batch_max < 1 || p->batch_max > PBFT_BLOCK_TX_COUNT_MAX) return PBFT_ERR_CONFIG;
    if (p->view_change_timeout_ms == 0 || p->request_timeout_ms == 0) return PBFT_ERR_CONFIG;
    if (o->mempool_max < 1 || o->mempool_max > PBFT_MEMPOOL_TX_COUNT_MAX) return PBFT_ERR_CONFIG;
    if (o->status_interval_ms == 0 || o->state_transfer_timeout_ms == 0) return PBFT_ERR_CONFIG;
    if (o->batch_idle_rate >= o->batch_busy_rate) return PBFT_ERR_CONFIG;
    return PBFT_OK;
}

/* A NEW-VIEW carries up to `window` full blocks; keep it within one frame. */
static uint32_t effective_window(const pbft_consensus_params_t *p) {
    size_t block_max = PBFT_BLOCK_HEADER_SIZE + (size_t)p->batch_max * PBFT_TX_SIZE_MAX;
    size_t fit = (PBFT_MESSAGE_SIZE_MAX - REPLICA_NEW_VIEW_OVERHEAD_SIZE) /
                 (block_max + PBFT_SIGNATURE_SIZE);
    uint32_t window = p->window;
    if (fit < window) window = (uint32_t)fit;
    return window ? window : 1;
}

static void restore_position(replica_t *r, const pbft_genesis_t *g, const replica_restore_t *rs) {
    if (rs == NULL) {
        r->executed = 0;
        r->committed_header = g->header;
        memcpy(r->executed_hash, g->block_hash, PBFT_HASH_SIZE);
        memcpy(r->state_hash, g->state_hash, PBFT_HASH_SIZE);
    } else {
        r->executed = rs->executed_header.height;
        r->committed_header = rs->executed_header;
        memcpy(r->executed_hash, rs->executed_hash, PBFT_HASH_SIZE);
        memcpy(r->state_hash, rs->state_hash, PBFT_HASH_SIZE);
        if (rs->executed_cert != NULL && r->executed > 0) {
            r->has_committed_cert = true;
            r->committed_cert = *rs->executed_cert;
        }
    }
    r->committed = r->executed;
    memcpy(r->committed_hash, r->executed_hash, PBFT_HASH_SIZE);
}

/* Blocks of persisted prepared certificates go back into the log, so a
 * VIEW-CHANGE after the restart can carry them. */
static void restore_block(replica_t *r, const pbft_block_t *b) {
    {
        const safety_entry_t *e = replica_safety_get(r, b->header.height);
        if (e == NULL || !e->has_pcert) return;
        uint8_t hash[PBFT_HASH_SIZE];
        codec_header_hash(&b->header, hash);
        if (memcmp(hash, e->pcert.block_hash, PBFT_HASH_SIZE) != 0) return;
        slot_t *s = replica_slot(r, b->header.height);
        if (s == NULL || s->pcert_own_block) return;
        s->has_pcert = true;
        s->pcert = e->pcert;
        s->pcert_own_block = true;
        s->pcert_block.header = b->header;
        s->pcert_block.txs = NULL;
        if (b->header.tx_count) {
            s->pcert_block.txs = pbft_xmalloc(b->header.tx_count * sizeof(pbft_tx_t));
            memcpy(s->pcert_block.txs, b->txs, b->header.tx_count * sizeof(pbft_tx_t));
        }
    }
}

static void restore_prepared_blocks(replica_t *r, const replica_restore_t *rs) {
    for (size_t i = 0; i < rs->prepared_block_count; i++)
        restore_block(r, &rs->prepared_blocks[i]);
    for (uint64_t seq = r->executed + 1; seq <= r->executed + REPLICA_SAFETY_SLOTS_MAX; seq++) {
        const safety_entry_t *e = replica_safety_get(r, seq);
        if (e != NULL && e->block != NULL) restore_block(r, e->block);
    }
}

/* Signs a probe digest and verifies it against our validator key. */
static bool check_own_key(replica_t *r) {
    uint8_t digest[PBFT_HASH_SIZE], sig[PBFT_SIGNATURE_SIZE];
    crypto_domain_hash("pbft/key-probe", r->chain_id, &r->self, sizeof(r->self), digest);
    if (r->env.sign(r->env.ctx, digest, sig) != PBFT_OK) return false;
    return r->env.verify(r->env.verify_ctx, &r->validators, r->self, digest, sig) == PBFT_OK;
}

pbft_status_t replica_create(const pbft_genesis_t *genesis, uint16_t self, const replica_env_t *env,
                             const replica_options_t *options, const replica_restore_t *restore,
                             replica_t **out) {
    PBFT_ASSERT(genesis != NULL && env != NULL && out != NULL);
    PBFT_ASSERT(env->now_ms && env->send && env->broadcast && env->set_timer && env->cancel_timer &&
                env->persist && env->sign && env->verify && env->tx_valid && env->deliver &&
                env->load_committed && env->stable_checkpoint && env->random);
    replica_options_t opts;
    if (options)
        opts = *options;
    else
        replica_options_default(&opts);
    pbft_status_t status = check_config(genesis, self, &opts);
    if (status != PBFT_OK) return status;

    replica_t *r = pbft_xcalloc(1, sizeof(*r));
    r->self = self;
    r->n = genesis->validators.count;
    r->f = pbft_validator_f(&genesis->validators);
    r->validators = genesis->validators;
    memcpy(r->chain_id, genesis->chain_id, PBFT_CHAIN_ID_SIZE);
    memcpy(r->genesis_hash, genesis->block_hash, PBFT_HASH_SIZE);
    r->params = genesis->params;
    r->window = effective_window(&genesis->params);
    r->log_span = 4 * r->window;
    if (r->log_span > REPLICA_LOG_SPAN_MAX) r->log_span = REPLICA_LOG_SPAN_MAX;
    r->options = opts;
    r->env = *env;
    r->slots = pbft_xcalloc(REPLICA_LOG_SPAN_MAX, sizeof(slot_t));
    r->safety = pbft_xcalloc(REPLICA_SAFETY_SLOTS_MAX, sizeof(safety_entry_t));
    r->safety_buf_capacity = REPLICA_SAFETY_SIZE_MAX;
    r->safety_buf = pbft_xmalloc(r->safety_buf_capacity);
    r->forward = pbft_xcalloc(MSG_REQUEST_TX_COUNT_MAX, sizeof(pbft_tx_t));
    mempool_init(&r->pool, opts.mempool_max);
    restore_position(r, genesis, restore);
    if (restore && restore->safety && restore->safety_size > 0) {
        status = replica_safety_decode(r, restore->safety, restore->safety_size);
        if (status != PBFT_OK) {
            replica_destroy(r);
            return status;
        }
    }
    replica_checkpoint_restore(r, restore ? restore->stable : NULL);
    if (restore) restore_prepared_blocks(r, restore);
    /* A restarted primary does not re-propose over what it proposed before
     * the crash (safety entries refuse); it waits until those commit. */
    r->next_seq = PBFT_MAX(r->committed, r->view_floor) + 1;
    r->own_key_ok = check_own_key(r);
    if (!r->own_key_ok) replica_logf(r, 2, "our signatures do not verify: wrong key?");
    replica_update_context(r, r->committed);
    *out = r;
    return PBFT_OK;
}

void replica_destroy(replica_t *r) {
    if (r == NULL) return;
    for (uint32_t i = 0; i < REPLICA_LOG_SPAN_MAX; i++)
        replica_slot_clear(&r->slots[i]);
    replica_view_change_destroy(r);
    replica_stash_destroy(r);
    for (uint32_t i = 0; i < r->outbox_count; i++)
        free(r->outbox[i].bytes);
    mempool_destroy(&r->pool);
    free(r->slots);
    replica_safety_destroy(r);
    free(r->safety);
    free(r->safety_buf);
    free(r->forward);
    free(r);
}

/* ------------------------------------------------------------------------ */
/* Event wrapper and outbox.                                                  */

static void begin_event(replica_t *r) {
    PBFT_ASSERT(r->depth == 0); /* env callbacks must not re-enter (except on_executed) */
    r->depth++;
    replica_update_context(r, r->committed + 1);
}

static void handle_executed(replica_t *r, uint64_t height, const uint8_t block_hash[32],
                            const uint8_t state_hash[32]);

static void end_event(replica_t *r) {
    PBFT_ASSERT(r->depth == 1);
    /* on_executed calls made from inside deliver. */
    while (r->deferred_count > 0) {
        uint64_t height = r->deferred[0].height;
        uint8_t block_hash[PBFT_HASH_SIZE], state_hash[PBFT_HASH_SIZE];
        memcpy(block_hash, r->deferred[0].block_hash, PBFT_HASH_SIZE);
        memcpy(state_hash, r->deferred[0].state_hash, PBFT_HASH_SIZE);
        r->deferred_count--;
        memmove(&r->deferred[0], &r->deferred[1], r->deferred_count * sizeof(r->deferred[0]));
        handle_executed(r, height, block_hash, state_hash);
    }
    bool send = true;
    if (r->safety_dirty) {
        size_t need = replica_safety_size(r);
        if (need > r->safety_buf_capacity) {
            r->safety_buf = pbft_xrealloc(r->safety_buf, need);
            r->safety_buf_capacity = need;
        }
        size_t size = replica_safety_encode(r, r->safety_buf, r->safety_buf_capacity);
        if (r->env.persist(r->env.ctx, r->safety_buf, size) == PBFT_OK) {
            r->safety_dirty = false;
        } else {
            /* Not durable: nothing of this event may leave. */
            r->persist_failures++;
            send = false;
            replica_logf(r, 2, "persist failed; dropping %u frames", r->outbox_count);
        }
    }
    for (uint32_t i = 0; i < r->outbox_count; i++) {
        outbox_frame_t *f = &r->outbox[i];
        if (send) {
            if (f->to == REPLICA_LINK_UNKNOWN)
                r->env.broadcast(r->env.ctx, f->bytes, f->size);
            else
                r->env.send(r->env.ctx, f->to, f->bytes, f->size);
        }
        free(f->bytes);
    }
    r->outbox_count = 0;
    r->depth--;
}

void replica_queue_frame(replica_t *r, uint16_t to, const uint8_t *frame, size_t size) {
    PBFT_ASSERT(r->depth == 1);
    PBFT_ASSERT(to == REPLICA_LINK_UNKNOWN || (to < r->n && to != r->self));
    if (r->outbox_count == REPLICA_OUTBOX_MAX) {
        replica_logf(r, 2, "outbox full; dropping a frame");
        return;
    }
    uint8_t *copy = pbft_xmalloc(size);
    memcpy(copy, frame, size);
    r->outbox[r->outbox_count++] = (outbox_frame_t){.to = to, .bytes = copy, .size = size};
}

static void signing_digest(const replica_t *r, const msg_t *m, const uint8_t *frame,
                           size_t signed_size, uint8_t digest[PBFT_HASH_SIZE]) {
    uint8_t hash[PBFT_HASH_SIZE];
    switch (m->type) {
        case MSG_PRE_PREPARE:
            codec_header_hash(&m->u.pre_prepare.block.header, hash);
            cert_vote_digest(CRYPTO_TAG_PRE_PREPARE, r->chain_id, m->u.pre_prepare.view,
                             m->u.pre_prepare.seq, hash, m->sender, digest);
            break;
        case MSG_PREPARE:
        case MSG_COMMIT:
            cert_vote_digest(msg_type_tag(m->type), r->chain_id, m->u.vote.view, m->u.vote.seq,
                             m->u.vote.block_hash, m->sender, digest);
            break;
        case MSG_CHECKPOINT:
            cert_checkpoint_digest(r->chain_id, m->u.checkpoint.height, m->u.checkpoint.block_hash,
                                   m->u.checkpoint.state_hash, m->sender, digest);
            break;
        default:
            msg_signing_digest(m->type, r->chain_id, frame, signed_size, digest);
            break;
    }
}

bool replica_queue_msg(replica_t *r, uint16_t to, msg_t *m, uint8_t **frame_out,
                       size_t *frame_size_out) {
    m->sender = r->self;
    size_t size = msg_size(m);
    PBFT_ASSERT(size <= PBFT_MESSAGE_SIZE_MAX);
    uint8_t *frame = pbft_xmalloc(size);
    size_t signed_size = 0;
    size_t written = msg_encode(m, frame, size, &signed_size);
    PBFT_ASSERT(written == size);
    if (msg_type_is_signed(m->type)) {
        uint8_t digest[PBFT_HASH_SIZE];
        signing_digest(r, m, frame, signed_size, digest);
        if (r->env.sign(r->env.ctx, digest, m->signature) != PBFT_OK) {
            replica_logf(r, 2, "signing a %s failed", msg_type_name(m->type));
            free(frame);
            return false;
        }
        msg_patch_signature(frame, signed_size, m->signature);
    }
    replica_queue_frame(r, to, frame, size);
    if (frame_out) {
        *frame_out = frame;
        *frame_size_out = size;
    } else {
        free(frame);
    }
    return true;
}

bool replica_verify_envelope(replica_t *r, const msg_t *m, const uint8_t *frame) {
    PBFT_ASSERT(m->has_signature && m->sender < r->n);
    uint8_t digest[PBFT_HASH_SIZE];
    msg_signing_digest(m->type, r->chain_id, frame, m->signed_size, digest);
    return r->env.verify(r->env.verify_ctx, &r->validators, m->sender, digest, m->signature) ==
           PBFT_OK;
}

/* ------------------------------------------------------------------------ */
/* Entry points.                                                              */

void replica_start(replica_t *r) {
    begin_event(r);
    r->view_start_ms = replica_now(r);
    r->env.set_timer(r->env.ctx, REPLICA_TIMER_STATUS, 0);
    /* A crash between executing a checkpoint height and its certificate
     * becoming stable: sign it again, or the water marks could stay stuck
     * (the next checkpoint may lie beyond the high water mark). */
    if (r->executed > r->stable && r->executed % r->params.checkpoint_interval == 0)
        replica_checkpoint_executed(r, r->executed);
    if (r->in_view_change && r->view > 0) {
        /* Restarted during a view change: announce it again (same view). */
        uint64_t target = r->view;
        r->view = target - 1;
        r->in_view_change = false;
        replica_start_view_change(r, target);
    }
    end_event(r);
}

static pbft_status_t dispatch(replica_t *r, msg_t *m, const uint8_t *frame) {
    switch (m->type) {
        case MSG_REQUEST:
            return replica_on_request(r, m);
        case MSG_PRE_PREPARE:
            return replica_on_pre_prepare(r, m);
        case MSG_PREPARE:
        case MSG_COMMIT:
            return replica_on_vote(r, m);
        case MSG_CHECKPOINT:
            return replica_on_checkpoint(r, m);
        case MSG_VIEW_CHANGE:
            return replica_on_view_change(r, m, frame);
        case MSG_NEW_VIEW:
            return replica_on_new_view(r, m, frame);
        case MSG_STATUS:
        case MSG_STATE_REQUEST:
            if (!replica_verify_envelope(r, m, frame))
                return replica_reject(r, REPLICA_INVALID_BAD_SIGNATURE, PBFT_ERR_BAD_SIGNATURE);
            return m->type == MSG_STATUS ? replica_on_status(r, m) : replica_on_state_request(r, m);
        case MSG_STATE_REPLY:
            return replica_on_state_reply(r, m);
        default:
            return replica_reject(r, REPLICA_INVALID_MALFORMED, PBFT_ERR_MALFORMED);
    }
}

pbft_status_t replica_on_message(replica_t *r, uint16_t from_link, const uint8_t *bytes,
                                 size_t size) {
    return replica_on_message_with_ids(r, from_link, bytes, size, NULL, 0);
}

const uint8_t (*replica_given_ids(const replica_t *r, const msg_t *m,
                                  size_t count))[PBFT_HASH_SIZE] {
    return r->given_ids_msg == m && r->given_id_count == count ? r->given_ids : NULL;
}

pbft_status_t replica_on_message_with_ids(replica_t *r, uint16_t from_link, const uint8_t *bytes,
                                          size_t size, const uint8_t (*ids)[PBFT_HASH_SIZE],
                                          size_t count) {
    begin_event(r);
    msg_t m;
    pbft_status_t status = msg_decode(bytes, size, &m);
    if (status == PBFT_OK && ids != NULL && (m.type == MSG_REQUEST || m.type == MSG_PRE_PREPARE)) {
        r->given_ids_msg = &m;
        r->given_ids = ids;
        r->given_id_count = count;
    }
    if (status != PBFT_OK) {
        status = replica_reject(r, REPLICA_INVALID_MALFORMED, status);
    } else if (m.sender >= r->n || m.sender == r->self ||
               (from_link != REPLICA_LINK_UNKNOWN && from_link != m.sender)) {
        status = replica_reject(r, REPLICA_INVALID_WRONG_SENDER, PBFT_ERR_WRONG_SENDER);
    } else {
        uint8_t type = m.type;
        uint16_t sender = m.sender;
        status = dispatch(r, &m, bytes);
        if (status == PBFT_OK && msg_type_is_signed(type)) r->peers_seen_mask |= 1u << sender;
        if (status != PBFT_OK)
            replica_logf(r, 0, "rejected %s from %u: %s", msg_type_name(type), sender,
                         pbft_status_name(status));
    }
    r->given_ids_msg = NULL;
    r->given_ids = NULL;
    r->given_id_count = 0;
    msg_free(&m);
    end_event(r);
    return status;
}

/* A pending tx's timer runs from its arrival, the start of the view, or the
 * last time we postponed it to catch up, whichever is latest. */
static uint64_t request_base(const replica_t *r, const mempool_entry_t *e) {
    return PBFT_MAX(PBFT_MAX(e->arrival_ms, r->view_start_ms), r->request_base_ms);
}

void replica_on_timer(replica_t *r, replica_timer_t t) {
    begin_event(r);
    switch (t) {
        case REPLICA_TIMER_BATCH:
            replica_flush_forward(r);
            replica_try_propose(r);
            break;
        case REPLICA_TIMER_REQUEST: {
            r->request_deadline_ms = 0;
            const mempool_entry_t *e = mempool_oldest(&r->pool);
            uint64_t base = e ? request_base(r, e) : 0;
            uint16_t ahead_peer;
            uint64_t ahead = replica_peers_committed(r, &ahead_peer);
            if (e && !r->in_view_change && replica_now(r) >= base + r->params.request_timeout_ms) {
                if (ahead > r->committed) {
                    /* Behind: our pending txs may be committed already. Catch up
                     * first; a lone view change would leave us out of the view. */
                    replica_catch_up(r, ahead, ahead_peer);
                    r->request_base_ms = replica_now(r); /* look again a timeout later */
                } else {
                    replica_logf(r, 1, "request timer expired; starting view change");
                    replica_start_view_change(r, r->view + 1);
                }
            }
            replica_rearm_request_timer(r);
            break;
        }
        case REPLICA_TIMER_VIEW_CHANGE:
            replica_view_change_timeout(r);
            break;
        case REPLICA_TIMER_STATUS:
            replica_status_tick(r);
            break;
        case REPLICA_TIMER_STATE_TRANSFER:
            replica_state_transfer_timeout(r);
            break;
        default:
            PBFT_UNREACHABLE();
    }
    end_event(r);
}

/* §4.1: the client's request reaches a backup, which relays it to the
 * primary and starts its timer (§4.4). */
static pbft_status_t on_client_tx(replica_t *r, const pbft_tx_t *tx,
                                  const uint8_t id[PBFT_HASH_SIZE], bool ask_store) {
    begin_event(r);
    pbft_status_t status = PBFT_ERR_EXISTS;
    if (!(ask_store && r->env.tx_committed && r->env.tx_committed(r->env.ctx, id)))
        status = mempool_add(&r->pool, tx, id, replica_now(r));
    if (status == PBFT_OK) {
        if (replica_is_primary(r) && !r->in_view_change) {
            replica_try_propose(r);
        } else {
            r->forward[r->forward_count++] = *tx;
            if (r->forward_count == MSG_REQUEST_TX_COUNT_MAX) {
                replica_flush_forward(r);
            } else if (r->forward_count == 1) { /* later ones ride on this timer */
                r->env.set_timer(r->env.ctx, REPLICA_TIMER_BATCH,
                                 replica_forward_gap_ms(r, replica_now(r)));
            }
        }
        replica_rearm_request_timer(r);
    }
    end_event(r);
    return status;
}

pbft_status_t replica_on_client_tx(replica_t *r, const pbft_tx_t *tx,
                                   const uint8_t id[PBFT_HASH_SIZE]) {
    return on_client_tx(r, tx, id, true);
}

pbft_status_t replica_on_client_tx_unstored(replica_t *r, const pbft_tx_t *tx,
                                            const uint8_t id[PBFT_HASH_SIZE]) {
    return on_client_tx(r, tx, id, false);
}

/* Relayed to every replica, not only the primary (OSDI'99 §4.4: the
 * client's retransmission reaches all backups): every correct backup then
 * holds the tx and arms its request timer, so a silent or censoring primary
 * is voted out by f+1 of them, and the next primary already has it. */
void replica_flush_forward(replica_t *r) {
    if (r->forward_count == 0) return;
    if (r->n > 1) {
        msg_t m;
        memset(&m, 0, sizeof(m));
        m.type = MSG_REQUEST;
        m.u.request.tx_count = r->forward_count;
        m.u.request.txs = r->forward;
        (void)replica_queue_msg(r, REPLICA_LINK_UNKNOWN, &m, NULL, NULL);
    }
    r->forward_count = 0;
}

void replica_rearm_request_timer(replica_t *r) {
    const mempool_entry_t *e = mempool_oldest(&r->pool);
    if (e == NULL || r->in_view_change) {
        if (r->request_deadline_ms != 0) r->env.cancel_timer(r->env.ctx, REPLICA_TIMER_REQUEST);
        r->request_deadline_ms = 0;
        return;
    }
    uint64_t deadline = request_base(r, e) + r->params.request_timeout_ms;
    if (deadline == r->request_deadline_ms) return;
    uint64_t now = replica_now(r);
    r->env.set_timer(r->env.ctx, REPLICA_TIMER_REQUEST, deadline > now ? deadline - now : 0);
    r->request_deadline_ms = deadline;
}

static void handle_executed(replica_t *r, uint64_t height, const uint8_t block_hash[32],
                            const uint8_t state_hash[32]) {
    PBFT_ASSERT(height == r->executed + 1); /* executed in order, never twice */
    PBFT_ASSERT(height <= r->committed);    /* only what was delivered */
    r->executed = height;
    memcpy(r->executed_hash, block_hash, PBFT_HASH_SIZE);
    memcpy(r->state_hash, state_hash, PBFT_HASH_SIZE);
    replica_checkpoint_executed(r, height);
    /* Delivery may have waited for execution (safety ring bound). */
    replica_progress(r);
    replica_state_transfer_executed(r);
}

void replica_on_executed(replica_t *r, uint64_t height, const uint8_t block_hash[PBFT_HASH_SIZE],
                         const uint8_t state_hash[PBFT_HASH_SIZE]) {
    if (r->depth > 0) {
        PBFT_ASSERT(r->deferred_count < REPLICA_LOG_SPAN_MAX);
        r->deferred[r->deferred_count].height = height;
        memcpy(r->deferred[r->deferred_count].block_hash, block_hash, PBFT_HASH_SIZE);
        memcpy(r->deferred[r->deferred_count].state_hash, state_hash, PBFT_HASH_SIZE);
        r->deferred_count++;
        return;
    }
    begin_event(r);
    handle_executed(r, height, block_hash, state_hash);
    end_event(r);
}

void replica_get_status(const replica_t *r, replica_status_t *out) {
    memset(out, 0, sizeof(*out));
    out->replica = r->self;
    out->replica_count = r->n;
    out->view = r->view;
    out->primary = replica_primary(r, r->view);
    out->in_view_change = r->in_view_change;
    out->catching_up = r->catching_up;
    out->committed_height = r->committed;
    out->executed_height = r->executed;
    memcpy(out->executed_hash, r->executed_hash, PBFT_HASH_SIZE);
    memcpy(out->state_hash, r->state_hash, PBFT_HASH_SIZE);
    out->stable_checkpoint = r->stable;
    out->low_water_mark = r->stable;
    out->high_water_mark = replica_high_water_mark(r);
    out->mempool_size = r->pool.count;
    /* What this primary has proposed beyond the agreed base (committed, or
     * the c of the NEW-VIEW it installed while still catching up). */
    uint64_t base = PBFT_MAX(r->committed, r->view_floor);
    out->in_flight = replica_is_primary(r) && !r->in_view_change && r->next_seq > base + 1
                         ? (uint32_t)(r->next_seq - 1 - base)
                         : 0;
    out->peers_seen_mask = r->peers_seen_mask;
    out->view_changes = r->view_changes;
    out->blocks_committed = r->blocks_committed;
    out->txs_committed = r->txs_committed;
    out->state_transfer_blocks = r->state_transfer_blocks;
    out->persist_failures = r->persist_failures;
    memcpy(out->invalid, r->invalid, sizeof(out->invalid));
}

bool replica_tx_pending(const replica_t *r, const uint8_t id[PBFT_HASH_SIZE]) {
    return mempool_contains(&r->pool, id);
}

bool replica_tx_pending_identical(const replica_t *r, const pbft_tx_t *tx,
                                  const uint8_t id[PBFT_HASH_SIZE]) {
    const pbft_tx_t *pending = mempool_find(&r->pool, id);
    return pending != NULL && memcmp(pending->signature, tx->signature, PBFT_SIGNATURE_SIZE) == 0;
}
