/*
 * consensus/checkpoint.c — checkpoints, stable checkpoints, water marks and
 * garbage collection (Castro & Liskov OSDI'99 §4.3).
 *
 * After executing height h with h % K == 0 a replica signs CHECKPOINT(h,
 * block_hash, state_hash). 2f+1 matching signatures from distinct replicas
 * make it stable: its certificate is handed to the env (persisted), the low
 * water mark moves to h and the high water mark to h + 2K. Log slots are
 * already freed at delivery; here the checkpoint votes at or below h go. A
 * quorum for a height this replica has not reached is proof it is behind:
 * it starts state transfer (§5.3).
 */
#include <string.h>

#include "replica_internal.h"

void replica_checkpoint_restore(replica_t *r, const pbft_checkpoint_cert_t *stable) {
    if (stable == NULL) return;
    PBFT_ASSERT(stable->height <= r->executed);
    r->stable = stable->height;
    r->stable_cert = *stable;
    r->has_stable_cert = true;
}

static bool vote_matches(const checkpoint_vote_t *v, uint64_t height,
                         const uint8_t block_hash[PBFT_HASH_SIZE],
                         const uint8_t state_hash[PBFT_HASH_SIZE]) {
    return v->height == height && memcmp(v->block_hash, block_hash, PBFT_HASH_SIZE) == 0 &&
           memcmp(v->state_hash, state_hash, PBFT_HASH_SIZE) == 0;
}

/* Keeps the REPLICA_CHECKPOINT_VOTES_MAX highest heights per replica. */
static pbft_status_t record_vote(replica_t *r, uint16_t who, const msg_checkpoint_t *c,
                                 const uint8_t sig[PBFT_SIGNATURE_SIZE]) {
    checkpoint_vote_t *votes = r->checkpoint_votes[who];
    checkpoint_vote_t *lowest = &votes[0];
    for (uint32_t i = 0; i < REPLICA_CHECKPOINT_VOTES_MAX; i++) {
        if (votes[i].height == c->height) {
            if (vote_matches(&votes[i], c->height, c->block_hash, c->state_hash))
                return PBFT_ERR_DUPLICATE;
            return PBFT_ERR_CONFLICT;
        }
        if (votes[i].height < lowest->height) lowest = &votes[i];
    }
    if (lowest->height > c->height) return PBFT_ERR_STALE;
    lowest->height = c->height;
    memcpy(lowest->block_hash, c->block_hash, PBFT_HASH_SIZE);
    memcpy(lowest->state_hash, c->state_hash, PBFT_HASH_SIZE);
    memcpy(lowest->sig, sig, PBFT_SIGNATURE_SIZE);
    return PBFT_OK;
}

static const checkpoint_vote_t *find_vote(const replica_t *r, uint16_t who, uint64_t height) {
    for (uint32_t i = 0; i < REPLICA_CHECKPOINT_VOTES_MAX; i++)
        if (r->checkpoint_votes[who][i].height == height) return &r->checkpoint_votes[who][i];
    return NULL;
}

static void make_stable(replica_t *r, const pbft_checkpoint_cert_t *cert) {
    PBFT_ASSERT(cert->height > r->stable); /* the low water mark never goes down */
    PBFT_ASSERT(cert->height <= r->executed);
    r->stable = cert->height;
    r->stable_cert = *cert;
    r->has_stable_cert = true;
    for (uint16_t i = 0; i < r->n; i++)
        for (uint32_t j = 0; j < REPLICA_CHECKPOINT_VOTES_MAX; j++)
            if (r->checkpoint_votes[i][j].height < cert->height) /* keep h: re-sent to laggards */
                memset(&r->checkpoint_votes[i][j], 0, sizeof(checkpoint_vote_t));
    r->env.stable_checkpoint(r->env.ctx, cert);
    replica_logf(r, 0, "checkpoint %llu stable", (unsigned long long)cert->height);
    /* The high water mark moved: the primary may propose again. */
    replica_try_propose(r);
}

static void check_stable(replica_t *r, const msg_checkpoint_t *c, uint16_t voter) {
    if (c->height <= r->stable) return;
    pbft_checkpoint_cert_t cert;
    memset(&cert, 0, sizeof(cert));
    cert.height = c->height;
    memcpy(cert.block_hash, c->block_hash, PBFT_HASH_SIZE);
    memcpy(cert.state_hash, c->state_hash, PBFT_HASH_SIZE);
    for (uint16_t i = 0; i < r->n; i++) {
        const checkpoint_vote_t *v = find_vote(r, i, c->height);
        if (v == NULL || !vote_matches(v, c->height, c->block_hash, c->state_hash)) continue;
        cert.sigs[cert.count].replica = i;
        memcpy(cert.sigs[cert.count].signature, v->sig, PBFT_SIGNATURE_SIZE);
        cert.count++;
    }
    if (cert.count < replica_quorum(r)) return;
    if (c->height > r->executed) {
        if (c->height > r->committed) replica_catch_up(r, c->height, voter);
        return;
    }
    /* Our own state at that height must agree with the quorum. */
    const checkpoint_vote_t *own = find_vote(r, r->self, c->height);
    bool disagrees = own ? !vote_matches(own, c->height, c->block_hash, c->state_hash)
                         : (c->height == r->executed &&
                            (memcmp(r->executed_hash, c->block_hash, PBFT_HASH_SIZE) != 0 ||
                             memcmp(r->state_hash, c->state_hash, PBFT_HASH_SIZE) != 0));
    if (disagrees) {
        replica_logf(r, 2, "checkpoint %llu: quorum disagrees with our state",
                     (unsigned long long)c->height);
        r->invalid[REPLICA_INVALID_CONFLICT]++;
        return;
    }
    make_stable(r, &cert);
}

void replica_checkpoint_executed(replica_t *r, uint64_t height) {
    PBFT_ASSERT(height == r->executed);
    if (height % r->params.checkpoint_interval != 0) return;
    msg_t m;
    memset(&m, 0, sizeof(m));
    m.type = MSG_CHECKPOINT;
    m.u.checkpoint.height = height;
    memcpy(m.u.checkpoint.block_hash, r->executed_hash, PBFT_HASH_SIZE);
    memcpy(m.u.checkpoint.state_hash, r->state_hash, PBFT_HASH_SIZE);
    if (!replica_queue_msg(r, REPLICA_LINK_UNKNOWN, &m, NULL, NULL)) return;
    /* Our own vote joins our certificate only if it verifies (wrong key). */
    uint8_t digest[PBFT_HASH_SIZE];
    cert_checkpoint_digest(r->chain_id, height, r->executed_hash, r->state_hash, r->self, digest);
    if (r->env.verify(r->env.verify_ctx, &r->validators, r->self, digest, m.signature) != PBFT_OK)
        return;
    (void)record_vote(r, r->self, &m.u.checkpoint, m.signature);
    check_stable(r, &m.u.checkpoint, r->self);
}

/* §4.3: CHECKPOINT from a peer. */
pbft_status_t replica_on_checkpoint(replica_t *r, msg_t *m) {
    const msg_checkpoint_t *c = &m->u.checkpoint;
    if (c->height == 0 || c->height % r->params.checkpoint_interval != 0)
        return replica_reject(r, REPLICA_INVALID_MALFORMED, PBFT_ERR_MALFORMED);
    if (c->height <= r->stable) return PBFT_OK; /* late */
    uint8_t digest[PBFT_HASH_SIZE];
    cert_checkpoint_digest(r->chain_id, c->height, c->block_hash, c->state_hash, m->sender, digest);
    if (r->env.verify(r->env.verify_ctx, &r->validators, m->sender, digest, m->signature) !=
        PBFT_OK)
        return replica_reject(r, REPLICA_INVALID_BAD_SIGNATURE, PBFT_ERR_BAD_SIGNATURE);
    pbft_status_t status = record_vote(r, m->sender, c, m->signature);
    if (status == PBFT_ERR_DUPLICATE) return PBFT_OK;
    if (status == PBFT_ERR_CONFLICT) return replica_reject(r, REPLICA_INVALID_CONFLICT, status);
    if (status == PBFT_ERR_STALE) return replica_reject(r, REPLICA_INVALID_STALE, status);
    check_stable(r, c, m->sender);
    return PBFT_OK;
}

/* A peer's STATUS shows a stable checkpoint below checkpoints we signed: it
 * may have lost our CHECKPOINTs (links drop frames), and without them its
 * water marks cannot move. Send ours again, with their original signatures. */
void replica_checkpoint_retransmit(replica_t *r, uint16_t to, uint64_t peer_stable) {
    for (uint32_t i = 0; i < REPLICA_CHECKPOINT_VOTES_MAX; i++) {
        const checkpoint_vote_t *v = &r->checkpoint_votes[r->self][i];
        if (v->height == 0 || v->height <= peer_stable) continue;
        msg_t m;
        memset(&m, 0, sizeof(m));
        m.type = MSG_CHECKPOINT;
        m.sender = r->self;
        m.u.checkpoint.height = v->height;
        memcpy(m.u.checkpoint.block_hash, v->block_hash, PBFT_HASH_SIZE);
        memcpy(m.u.checkpoint.state_hash, v->state_hash, PBFT_HASH_SIZE);
        memcpy(m.signature, v->sig, PBFT_SIGNATURE_SIZE);
        uint8_t frame[MSG_HEADER_SIZE + 8 + 2 * PBFT_HASH_SIZE + PBFT_SIGNATURE_SIZE];
        size_t size = msg_encode(&m, frame, sizeof(frame), NULL);
        PBFT_ASSERT(size == sizeof(frame));
        replica_queue_frame(r, to, frame, size);
    }
}

/* A valid checkpoint certificate from elsewhere (a VIEW-CHANGE): adopt it
 * when we have executed that far and our state agrees. */
void replica_checkpoint_adopt(replica_t *r, const pbft_checkpoint_cert_t *cert) {
    if (cert->height <= r->stable || cert->height > r->executed) return;
    const checkpoint_vote_t *own = find_vote(r, r->self, cert->height);
    if (own == NULL || !vote_matches(own, cert->height, cert->block_hash, cert->state_hash)) return;
    make_stable(r, cert);
}
