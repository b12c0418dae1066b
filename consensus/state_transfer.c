/*
 * consensus/state_transfer.c — STATUS, and catch-up by state transfer
 * (Castro & Liskov OSDI'99 §5.3; TOCS'02 §6.2).
 *
 * A replica that sees it is behind — STATUS from f+1 peers with a higher
 * committed height while its own did not move, a checkpoint quorum above
 * its executed height, a NEW-VIEW that starts above its committed height —
 * asks one peer (rotating, chosen with env->random) for committed blocks
 * from committed+1. It trusts nothing in the reply: each block must carry a
 * valid commit certificate of the genesis validators for exactly that
 * header, link to the previous hash, have the right Merkle root and valid
 * transactions. A bad reply or a silent peer moves it to another peer.
 *
 * STATUS also drives retransmissions: a peer whose STATUS shows an older
 * view gets our VIEW-CHANGE again, or the NEW-VIEW when we are its primary
 * (the classic stuck-view-change bug).
 */
#include <string.h>

#include "pbft/codec.h"
#include "replica_internal.h"

static uint16_t random_peer(replica_t *r) {
    PBFT_ASSERT(r->n > 1);
    uint16_t step = (uint16_t)(1 + r->env.random(r->env.ctx) % (uint64_t)(r->n - 1));
    uint16_t peer = (uint16_t)((r->self + step) % r->n);
    PBFT_ASSERT(peer != r->self);
    return peer;
}

static void send_state_request(replica_t *r) {
    msg_t m;
    memset(&m, 0, sizeof(m));
    m.type = MSG_STATE_REQUEST;
    m.u.state_request.from_height = r->committed + 1;
    m.u.state_request.count = MSG_STATE_REPLY_BLOCK_COUNT_MAX;
    (void)replica_queue_msg(r, r->catch_up_peer, &m, NULL, NULL);
    r->catch_up_sent_ms = replica_now(r);
    r->catch_up_pacing = false;
    r->env.set_timer(r->env.ctx, REPLICA_TIMER_STATE_TRANSFER,
                     r->options.state_transfer_timeout_ms);
}

/* The next request to the same peer, at least REPLICA_STATE_REQUEST_GAP_MS
 * after the previous one: a peer drops requests inside its serve interval,
 * and small blocks are applied faster than that. */
static void request_more(replica_t *r) {
    uint64_t now = replica_now(r), due = r->catch_up_sent_ms + REPLICA_STATE_REQUEST_GAP_MS;
    if (now >= due) {
        send_state_request(r);
        return;
    }
    r->catch_up_pacing = true;
    r->env.set_timer(r->env.ctx, REPLICA_TIMER_STATE_TRANSFER, due - now);
}

static void finish_catch_up(replica_t *r) {
    r->catching_up = false;
    r->catch_up_pacing = false;
    r->catch_up_attempts = 0;
    r->env.cancel_timer(r->env.ctx, REPLICA_TIMER_STATE_TRANSFER);
    replica_logf(r, 1, "caught up at %llu", (unsigned long long)r->committed);
}

void replica_catch_up(replica_t *r, uint64_t target, uint16_t hint_peer) {
    if (target <= r->committed || r->n == 1) return;
    if (target > r->catch_up_target) r->catch_up_target = target;
    if (r->catching_up) return;
    r->catching_up = true;
    r->catch_up_attempts = 0;
    r->catch_up_peer = (hint_peer < r->n && hint_peer != r->self) ? hint_peer : random_peer(r);
    replica_logf(r, 1, "behind: committed %llu, target %llu; asking replica %u",
                 (unsigned long long)r->committed, (unsigned long long)target, r->catch_up_peer);
    send_state_request(r);
}

/* Execution caught up with what state transfer delivered: ask for more. */
void replica_state_transfer_executed(replica_t *r) {
    if (!r->catch_up_waits_for_execution || r->executed < r->committed) return;
    r->catch_up_waits_for_execution = false;
    if (r->catching_up && r->committed < r->catch_up_target) request_more(r);
}

void replica_state_transfer_timeout(replica_t *r) {
    if (!r->catching_up) return;
    if (r->catch_up_pacing) { /* the gap is over: same peer, not a failure */
        r->catch_up_pacing = false;
        if (r->committed >= r->catch_up_target)
            finish_catch_up(r);
        else
            send_state_request(r);
        return;
    }
    if (r->committed >= r->catch_up_target) {
        finish_catch_up(r);
        return;
    }
    if (++r->catch_up_attempts > REPLICA_STATE_TRANSFER_ATTEMPTS_MAX) {
        replica_logf(r, 2, "state transfer gave up at %llu", (unsigned long long)r->committed);
        r->catching_up = false;
        r->catch_up_attempts = 0;
        return;
    }
    r->catch_up_peer = random_peer(r);
    send_state_request(r);
}

/* ------------------------------------------------------------------------ */
/* STATUS.                                                                    */

/* The (f+1)-th highest committed height among peers: at least one honest
 * replica has reached it. */
uint64_t replica_peers_committed(const replica_t *r, uint16_t *best_peer) {
    uint64_t heights[PBFT_REPLICA_COUNT_MAX] = {0};
    uint32_t count = 0;
    uint64_t best = 0;
    *best_peer = REPLICA_LINK_UNKNOWN;
    for (uint16_t i = 0; i < r->n; i++) {
        if (i == r->self || !r->peers[i].seen) continue;
        heights[count++] = r->peers[i].committed_height;
        if (r->peers[i].committed_height > best) {
            best = r->peers[i].committed_height;
            *best_peer = i;
        }
    }
    if (count < r->f + 1) return 0;
    for (uint32_t i = 0; i < count; i++) /* partial selection sort, descending */
        for (uint32_t j = i + 1; j < count; j++)
            if (heights[j] > heights[i]) {
                uint64_t t = heights[i];
                heights[i] = heights[j];
                heights[j] = t;
            }
    return heights[r->f];
}

void replica_status_tick(replica_t *r) {
    msg_t m;
    memset(&m, 0, sizeof(m));
    m.type = MSG_STATUS;
    m.u.status.view = r->view;
    m.u.status.in_view_change = r->in_view_change;
    m.u.status.committed_height = r->committed;
    memcpy(m.u.status.committed_hash, r->committed_hash, PBFT_HASH_SIZE);
    m.u.status.executed_height = r->executed;
    m.u.status.stable_height = r->stable;
    if (r->n > 1) (void)replica_queue_msg(r, REPLICA_LINK_UNKNOWN, &m, NULL, NULL);
    uint16_t best_peer;
    uint64_t target = replica_peers_committed(r, &best_peer);
    /* Behind and not moving (or far behind): fetch what we lack. */
    if (!r->catching_up && target > r->committed &&
        (r->committed == r->committed_at_last_tick || target >= r->committed + r->window))
        replica_catch_up(r, target, best_peer);
    r->committed_at_last_tick = r->committed;
    /* Retry what a failed env write held back (persist_block): nothing
     * else may wake a quiet replica, e.g. the only one of an n = 1 chain. */
    replica_progress(r);
    r->env.set_timer(r->env.ctx, REPLICA_TIMER_STATUS, r->options.status_interval_ms);
}

pbft_status_t replica_on_status(replica_t *r, msg_t *m) {
    /* The envelope signature was checked by dispatch (replica.c). */
    const msg_status_t *st = &m->u.status;
    peer_state_t *p = &r->peers[m->sender];
    /* Same view, no progress since its last STATUS: it lost messages. */
    bool stuck = p->seen && p->view == st->view && st->view == r->view && !st->in_view_change &&
                 p->committed_height == st->committed_height;
    p->seen = true;
    p->view = st->view;
    p->in_view_change = st->in_view_change;
    p->committed_height = st->committed_height;
    p->executed_height = st->executed_height;
    p->stable_height = st->stable_height;
    bool behind = st->view < r->view || (st->view == r->view && st->in_view_change);
    if (r->in_view_change && r->own_vc_frame != NULL && behind)
        replica_queue_frame(r, m->sender, r->own_vc_frame, r->own_vc_size);
    if (!r->in_view_change && replica_is_primary(r) && r->new_view_frame != NULL &&
        r->new_view_frame_view == r->view && behind)
        replica_queue_frame(r, m->sender, r->new_view_frame, r->new_view_size);
    if (stuck) replica_retransmit(r, m->sender, st->committed_height);
    replica_checkpoint_retransmit(r, m->sender, st->stable_height);
    return PBFT_OK;
}

/* ------------------------------------------------------------------------ */
/* STATE-REQUEST / STATE-REPLY.                                               */

pbft_status_t replica_on_state_request(replica_t *r, msg_t *m) {
    const msg_state_request_t *q = &m->u.state_request;
    if (q->from_height == 0)
        return replica_reject(r, REPLICA_INVALID_MALFORMED, PBFT_ERR_MALFORMED);
    if (q->from_height > r->executed) return PBFT_OK; /* nothing to give */
    peer_state_t *p = &r->peers[m->sender];
    uint64_t now = replica_now(r);
    if (p->served_ms != 0 && now + 1 < p->served_ms + REPLICA_STATE_SERVE_INTERVAL_MS)
        return PBFT_OK; /* rate limit; it will ask again */
    p->served_ms = now + 1;
    uint64_t last = PBFT_MIN(r->executed, q->from_height + q->count - 1);
    msg_t reply;
    memset(&reply, 0, sizeof(reply));
    reply.type = MSG_STATE_REPLY;
    reply.u.state_reply.blocks = pbft_xcalloc(q->count, sizeof(pbft_block_t));
    reply.u.state_reply.certs = pbft_xcalloc(q->count, sizeof(pbft_commit_cert_t));
    size_t total = 0;
    for (uint64_t h = q->from_height; h <= last; h++) {
        uint8_t i = reply.u.state_reply.count;
        pbft_block_t *b = &reply.u.state_reply.blocks[i];
        if (r->env.load_committed(r->env.ctx, h, b, &reply.u.state_reply.certs[i]) != PBFT_OK)
            break;
        size_t size = codec_block_size(b) + codec_commit_cert_size(&reply.u.state_reply.certs[i]);
        if (i > 0 && total + size > REPLICA_STATE_REPLY_SIZE_MAX) {
            codec_block_free(b);
            break;
        }
        total += size;
        reply.u.state_reply.count++;
    }
    if (reply.u.state_reply.count > 0) (void)replica_queue_msg(r, m->sender, &reply, NULL, NULL);
    msg_free(&reply);
    return PBFT_OK;
}

/* One block of a reply: everything checked against genesis, nothing trusted. */
/* On success *ids_out holds the block's tx ids (owned by the caller). */
static pbft_status_t check_transferred(replica_t *r, const pbft_block_t *b,
                                       const pbft_commit_cert_t *c,
                                       uint8_t (**ids_out)[PBFT_HASH_SIZE]) {
    *ids_out = NULL;
    uint8_t hash[PBFT_HASH_SIZE];
    codec_header_hash(&b->header, hash);
    if (c->seq != b->header.height) return PBFT_ERR_BAD_HEIGHT;
    if (memcmp(hash, c->block_hash, PBFT_HASH_SIZE) != 0) return PBFT_ERR_HASH_MISMATCH;
    if (memcmp(b->header.prev_hash, r->committed_hash, PBFT_HASH_SIZE) != 0)
        return PBFT_ERR_BAD_PREV_HASH;
    pbft_status_t status = replica_check_commit_cert(r, c);
    if (status != PBFT_OK) return status;
    uint8_t(*ids)[PBFT_HASH_SIZE] = NULL;
    status = replica_validate_block(r, b, b->header.height, &ids);
    if (status == PBFT_OK) {
        *ids_out = ids;
    } else {
        free(ids);
    }
    return status;
}

pbft_status_t replica_on_state_reply(replica_t *r, msg_t *m) {
    msg_state_reply_t *sr = &m->u.state_reply;
    pbft_status_t status = PBFT_OK;
    uint32_t applied = 0;
    for (uint8_t i = 0; i < sr->count; i++) {
        const pbft_block_t *b = &sr->blocks[i];
        uint64_t h = b->header.height;
        if (h <= r->committed) continue;
        if (h != r->committed + 1) {
            status = PBFT_ERR_BAD_HEIGHT;
            break;
        }
        if (h > r->executed + REPLICA_LOG_SPAN_MAX) { /* execution must catch up first */
            r->catch_up_waits_for_execution = true;
            break;
        }
        replica_update_context(r, h);
        uint8_t(*ids)[PBFT_HASH_SIZE] = NULL;
        status = check_transferred(r, b, &sr->certs[i], &ids);
        if (status != PBFT_OK) break;
        bool delivered =
            replica_deliver(r, b, (const uint8_t(*)[PBFT_HASH_SIZE])ids, &sr->certs[i]);
        free(ids);
        if (!delivered) break;
        r->state_transfer_blocks++;
        applied++;
    }
    if (status != PBFT_OK) {
        replica_logf(r, 2, "bad state reply from %u: %s", m->sender, pbft_status_name(status));
        (void)replica_reject(r, REPLICA_INVALID_BAD_STATE_REPLY, status);
        if (r->catching_up) { /* another peer */
            r->catch_up_pacing = false;
            replica_state_transfer_timeout(r);
        }
    } else if (r->catching_up) {
        /* Peers may have moved on meanwhile: keep pulling while behind. */
        uint16_t best_peer;
        uint64_t target = replica_peers_committed(r, &best_peer);
        if (target > r->catch_up_target) r->catch_up_target = target;
        if (r->committed >= r->catch_up_target)
            finish_catch_up(r);
        else if (applied > 0)
            request_more(r);
    }
    replica_rearm_request_timer(r);
    replica_progress(r);
    return status;
}
