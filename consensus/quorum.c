/*
 * consensus/quorum.c — the one place that counts quorums and checks
 * certificates (Castro & Liskov OSDI'99 §4.2 "prepared", "committed-local";
 * §4.4 prepared certificates inside VIEW-CHANGE messages). Commit
 * certificates are checked by pbft/cert.h, the same code the wallet and the
 * verifier use.
 *
 * The deliberate bug PBFT_BUG_QUORUM_2F (simulator self-test) lowers the
 * quorum to 2f here, and only here.
 */
#include <string.h>

#include "replica_internal.h"

/* 2f+1 of n = 3f+1: any two quorums intersect in at least one honest replica. */
uint32_t replica_quorum(const replica_t *r) {
#if defined(PBFT_BUG_QUORUM_2F) && PBFT_BUG_QUORUM_2F
    uint32_t q = 2 * r->f;
    return q ? q : 1;
#else
    return 2 * r->f + 1;
#endif
}

/* PREPAREs needed besides the primary's PRE-PREPARE. */
uint32_t replica_prepare_quorum(const replica_t *r) {
    return replica_quorum(r) - 1;
}

bool replica_verify_vote(replica_t *r, const char *tag, uint64_t view, uint64_t seq,
                         const uint8_t hash[PBFT_HASH_SIZE], uint16_t signer,
                         const uint8_t sig[PBFT_SIGNATURE_SIZE]) {
    PBFT_ASSERT(signer < r->n);
    uint8_t digest[PBFT_HASH_SIZE];
    cert_vote_digest(tag, r->chain_id, view, seq, hash, signer, digest);
    return r->env.verify(r->env.verify_ctx, &r->validators, signer, digest, sig) == PBFT_OK;
}

/* Distinct replicas (votes are stored per replica index, so a sender that
 * repeats itself counts once) other than the primary of `view`. */
uint32_t replica_count_prepares(const replica_t *r, const slot_t *s, uint64_t view,
                                const uint8_t hash[PBFT_HASH_SIZE]) {
    uint16_t primary = replica_primary(r, view);
    uint32_t count = 0;
    for (uint16_t i = 0; i < r->n; i++) {
        const vote_t *v = &s->prepares[i];
        if (i == primary || !v->present || v->view != view) continue;
        if (memcmp(v->hash, hash, PBFT_HASH_SIZE) == 0) count++;
    }
    return count;
}

/* A view in which 2f+1 distinct replicas sent COMMIT for the slot's block. */
bool replica_find_commit_quorum(const replica_t *r, const slot_t *s, uint64_t *view_out) {
    PBFT_ASSERT(s->has_block);
    for (uint16_t i = 0; i < r->n; i++) {
        const vote_t *v = &s->commits[i];
        if (!v->present || memcmp(v->hash, s->hash, PBFT_HASH_SIZE) != 0) continue;
        uint32_t count = 0;
        for (uint16_t j = 0; j < r->n; j++) {
            const vote_t *w = &s->commits[j];
            if (w->present && w->view == v->view && memcmp(w->hash, s->hash, PBFT_HASH_SIZE) == 0)
                count++;
        }
        if (count >= replica_quorum(r)) {
            *view_out = v->view;
            return true;
        }
    }
    return false;
}

void replica_build_commit_cert(const replica_t *r, const slot_t *s, uint64_t view,
                               pbft_commit_cert_t *out) {
    memset(out, 0, sizeof(*out));
    out->view = view;
    out->seq = s->seq;
    memcpy(out->block_hash, s->hash, PBFT_HASH_SIZE);
    for (uint16_t i = 0; i < r->n; i++) {
        const vote_t *v = &s->commits[i];
        if (!v->present || v->view != view || memcmp(v->hash, s->hash, PBFT_HASH_SIZE) != 0)
            continue;
        out->sigs[out->count].replica = i;
        memcpy(out->sigs[out->count].signature, v->sig, PBFT_SIGNATURE_SIZE);
        out->count++;
    }
    PBFT_ASSERT(out->count >= replica_quorum(r));
}

/* The PRE-PREPARE and the matching PREPAREs of the slot's current view. */
void replica_build_prepared_cert(const replica_t *r, const slot_t *s, msg_prepared_cert_t *out) {
    PBFT_ASSERT(s->has_block && s->prepared);
    memset(out, 0, sizeof(*out));
    out->view = s->pp_view;
    out->seq = s->seq;
    memcpy(out->block_hash, s->hash, PBFT_HASH_SIZE);
    memcpy(out->pre_prepare_sig, s->pp_sig, PBFT_SIGNATURE_SIZE);
    uint16_t primary = replica_primary(r, s->pp_view);
    for (uint16_t i = 0; i < r->n; i++) {
        const vote_t *v = &s->prepares[i];
        if (i == primary || !v->present || v->view != s->pp_view ||
            memcmp(v->hash, s->hash, PBFT_HASH_SIZE) != 0)
            continue;
        out->prepares[out->prepare_count].replica = i;
        memcpy(out->prepares[out->prepare_count].signature, v->sig, PBFT_SIGNATURE_SIZE);
        out->prepare_count++;
    }
    PBFT_ASSERT(out->prepare_count >= replica_prepare_quorum(r));
}

/* A prepared certificate from a peer: the primary of its view signed the
 * PRE-PREPARE, and 2f distinct other replicas signed matching PREPAREs. */
pbft_status_t replica_check_prepared_cert(replica_t *r, const msg_prepared_cert_t *c) {
    uint16_t primary = replica_primary(r, c->view);
    if (c->seq == 0) return PBFT_ERR_BAD_CERTIFICATE;
    if (c->prepare_count < replica_prepare_quorum(r)) return PBFT_ERR_NO_QUORUM;
    for (uint8_t i = 0; i < c->prepare_count; i++) {
        uint16_t who = c->prepares[i].replica;
        if (who >= r->n) return PBFT_ERR_UNKNOWN_REPLICA;
        if (who == primary) return PBFT_ERR_BAD_CERTIFICATE;
        if (i > 0 && who <= c->prepares[i - 1].replica) return PBFT_ERR_DUPLICATE_SIGNER;
    }
    if (!replica_verify_vote(r, CRYPTO_TAG_PRE_PREPARE, c->view, c->seq, c->block_hash, primary,
                             c->pre_prepare_sig))
        return PBFT_ERR_BAD_SIGNATURE;
    for (uint8_t i = 0; i < c->prepare_count; i++) {
        if (!replica_verify_vote(r, CRYPTO_TAG_PREPARE, c->view, c->seq, c->block_hash,
                                 c->prepares[i].replica, c->prepares[i].signature))
            return PBFT_ERR_BAD_SIGNATURE;
    }
    return PBFT_OK;
}

pbft_status_t replica_check_commit_cert(replica_t *r, const pbft_commit_cert_t *c) {
    if (c->seq == 0) return PBFT_ERR_BAD_CERTIFICATE;
#if defined(PBFT_BUG_QUORUM_2F) && PBFT_BUG_QUORUM_2F
    /* The buggy build assembles 2f certificates; let it accept its own. */
    if (c->count < replica_quorum(r)) return PBFT_ERR_NO_QUORUM;
    for (uint16_t i = 0; i < c->count; i++) {
        if (c->sigs[i].replica >= r->n) return PBFT_ERR_UNKNOWN_REPLICA;
        if (i > 0 && c->sigs[i].replica <= c->sigs[i - 1].replica) return PBFT_ERR_DUPLICATE_SIGNER;
        if (!replica_verify_vote(r, CRYPTO_TAG_COMMIT, c->view, c->seq, c->block_hash,
                                 c->sigs[i].replica, c->sigs[i].signature))
            return PBFT_ERR_BAD_SIGNATURE;
    }
    return PBFT_OK;
#else
    return cert_check_commit_with(&r->validators, r->chain_id, c, r->env.verify, r->env.verify_ctx,
                                  NULL);
#endif
}
