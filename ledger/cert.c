/*
 * ledger/cert.c — the statements replicas sign and the one certificate check
 * shared by the replicas, the wallet and the verifier.
 *
 * A certificate is checked in three passes, cheapest first, so that a
 * malformed certificate never costs a signature verification:
 *   1. structure: every signer is a validator (< n), no signer twice, signers
 *      in strictly increasing order (the canonical form the codec enforces);
 *   2. quorum: at least 2f+1 entries;
 *   3. signatures: each entry verifies over the statement with its own index.
 * A certificate with more than n entries necessarily fails pass 1 (by the
 * pigeonhole principle it repeats a signer or names one >= n).
 */
#include "pbft/cert.h"

#include <string.h>

#include "pbft/codec.h"
#include "pbft/crypto.h"

void cert_vote_statement(uint64_t view, uint64_t seq, const uint8_t block_hash[PBFT_HASH_SIZE],
                         uint16_t replica, uint8_t out[CERT_VOTE_STATEMENT_SIZE]) {
    codec_writer_t w;
    codec_writer_init(&w, out, CERT_VOTE_STATEMENT_SIZE);
    codec_put_u64(&w, view);
    codec_put_u64(&w, seq);
    codec_put_bytes(&w, block_hash, PBFT_HASH_SIZE);
    codec_put_u16(&w, replica);
    PBFT_ASSERT(!w.failed && w.size == CERT_VOTE_STATEMENT_SIZE);
}

void cert_checkpoint_statement(uint64_t height, const uint8_t block_hash[PBFT_HASH_SIZE],
                               const uint8_t state_hash[PBFT_HASH_SIZE], uint16_t replica,
                               uint8_t out[CERT_CHECKPOINT_STATEMENT_SIZE]) {
    codec_writer_t w;
    codec_writer_init(&w, out, CERT_CHECKPOINT_STATEMENT_SIZE);
    codec_put_u64(&w, height);
    codec_put_bytes(&w, block_hash, PBFT_HASH_SIZE);
    codec_put_bytes(&w, state_hash, PBFT_HASH_SIZE);
    codec_put_u16(&w, replica);
    PBFT_ASSERT(!w.failed && w.size == CERT_CHECKPOINT_STATEMENT_SIZE);
}

void cert_vote_digest(const char *tag, const uint8_t chain_id[PBFT_CHAIN_ID_SIZE], uint64_t view,
                      uint64_t seq, const uint8_t block_hash[PBFT_HASH_SIZE], uint16_t replica,
                      uint8_t out[PBFT_HASH_SIZE]) {
    uint8_t stmt[CERT_VOTE_STATEMENT_SIZE];
    cert_vote_statement(view, seq, block_hash, replica, stmt);
    crypto_domain_hash(tag, chain_id, stmt, sizeof(stmt), out);
}

void cert_checkpoint_digest(const uint8_t chain_id[PBFT_CHAIN_ID_SIZE], uint64_t height,
                            const uint8_t block_hash[PBFT_HASH_SIZE],
                            const uint8_t state_hash[PBFT_HASH_SIZE], uint16_t replica,
                            uint8_t out[PBFT_HASH_SIZE]) {
    uint8_t stmt[CERT_CHECKPOINT_STATEMENT_SIZE];
    cert_checkpoint_statement(height, block_hash, state_hash, replica, stmt);
    crypto_domain_hash(CRYPTO_TAG_CHECKPOINT, chain_id, stmt, sizeof(stmt), out);
}

pbft_status_t cert_verify_ecdsa(void *ctx, const pbft_validator_set_t *validators, uint16_t replica,
                                const uint8_t digest[PBFT_HASH_SIZE],
                                const uint8_t sig[PBFT_SIGNATURE_SIZE]) {
    (void)ctx;
    if (replica >= validators->count || replica >= PBFT_REPLICA_COUNT_MAX) {
        return PBFT_ERR_UNKNOWN_REPLICA;
    }
    return crypto_verify_digest(validators->pubkeys[replica], digest, sig);
}

static void set_bad_index(size_t *bad_index, size_t value) {
    if (bad_index != NULL) *bad_index = value;
}

/* Passes 1 and 2 (see the top of the file). On an entry failure *bad_index is
 * that entry; on a whole-certificate failure it is SIZE_MAX. */
static pbft_status_t cert_check_signers(const pbft_validator_set_t *validators, uint16_t count,
                                        const pbft_replica_sig_t *sigs, size_t *bad_index) {
    PBFT_ASSERT(validators->count >= PBFT_REPLICA_COUNT_MIN);
    PBFT_ASSERT(validators->count <= PBFT_REPLICA_COUNT_MAX);
    set_bad_index(bad_index, SIZE_MAX);
    if (count > PBFT_REPLICA_COUNT_MAX) return PBFT_ERR_LIMIT;
    uint32_t seen = 0;
    for (uint16_t i = 0; i < count; i++) {
        uint16_t replica = sigs[i].replica;
        if (replica >= validators->count) {
            set_bad_index(bad_index, i);
            return PBFT_ERR_UNKNOWN_REPLICA;
        }
        if (seen & (1u << replica)) {
            set_bad_index(bad_index, i);
            return PBFT_ERR_DUPLICATE_SIGNER;
        }
        if (i > 0 && replica < sigs[i - 1].replica) {
            set_bad_index(bad_index, i);
            return PBFT_ERR_NOT_CANONICAL;
        }
        seen |= 1u << replica;
    }
    if (count < pbft_validator_quorum(validators)) return PBFT_ERR_NO_QUORUM;
    return PBFT_OK;
}

/* Every verifier failure (bad signature, high s, a validator key that does
 * not decode) means the same thing to the caller: this entry does not count. */
static pbft_status_t cert_verify_entry(cert_verify_fn verify, void *verify_ctx,
                                       const pbft_validator_set_t *validators,
                                       const pbft_replica_sig_t *entry,
                                       const uint8_t digest[PBFT_HASH_SIZE]) {
    pbft_status_t status = verify(verify_ctx, validators, entry->replica, digest, entry->signature);
    return status == PBFT_OK ? PBFT_OK : PBFT_ERR_BAD_SIGNATURE;
}

pbft_status_t cert_check_commit_with(const pbft_validator_set_t *validators,
                                     const uint8_t chain_id[PBFT_CHAIN_ID_SIZE],
                                     const pbft_commit_cert_t *cert, cert_verify_fn verify,
                                     void *verify_ctx, size_t *bad_index) {
    PBFT_ASSERT(verify != NULL);
    pbft_status_t status = cert_check_signers(validators, cert->count, cert->sigs, bad_index);
    if (status != PBFT_OK) return status;
    for (uint16_t i = 0; i < cert->count; i++) {
        uint8_t digest[PBFT_HASH_SIZE];
        cert_vote_digest(CRYPTO_TAG_COMMIT, chain_id, cert->view, cert->seq, cert->block_hash,
                         cert->sigs[i].replica, digest);
        status = cert_verify_entry(verify, verify_ctx, validators, &cert->sigs[i], digest);
        if (status != PBFT_OK) {
            set_bad_index(bad_index, i);
            return status;
        }
    }
    return PBFT_OK;
}

pbft_status_t cert_check_checkpoint_with(const pbft_validator_set_t *validators,
                                         const uint8_t chain_id[PBFT_CHAIN_ID_SIZE],
                                         const pbft_checkpoint_cert_t *cert, cert_verify_fn verify,
                                         void *verify_ctx, size_t *bad_index) {
    PBFT_ASSERT(verify != NULL);
    pbft_status_t status = cert_check_signers(validators, cert->count, cert->sigs, bad_index);
    if (status != PBFT_OK) return status;
    for (uint16_t i = 0; i < cert->count; i++) {
        uint8_t digest[PBFT_HASH_SIZE];
        cert_checkpoint_digest(chain_id, cert->height, cert->block_hash, cert->state_hash,
                               cert->sigs[i].replica, digest);
        status = cert_verify_entry(verify, verify_ctx, validators, &cert->sigs[i], digest);
        if (status != PBFT_OK) {
            set_bad_index(bad_index, i);
            return status;
        }
    }
    return PBFT_OK;
}

pbft_status_t cert_check_commit(const pbft_validator_set_t *validators,
                                const uint8_t chain_id[PBFT_CHAIN_ID_SIZE],
                                const pbft_commit_cert_t *cert, size_t *bad_index) {
    return cert_check_commit_with(validators, chain_id, cert, cert_verify_ecdsa, NULL, bad_index);
}

pbft_status_t cert_check_checkpoint(const pbft_validator_set_t *validators,
                                    const uint8_t chain_id[PBFT_CHAIN_ID_SIZE],
                                    const pbft_checkpoint_cert_t *cert, size_t *bad_index) {
    return cert_check_checkpoint_with(validators, chain_id, cert, cert_verify_ecdsa, NULL,
                                      bad_index);
}

pbft_status_t cert_check_block(const pbft_validator_set_t *validators,
                               const uint8_t chain_id[PBFT_CHAIN_ID_SIZE],
                               const pbft_block_header_t *header, const pbft_commit_cert_t *cert) {
    if (cert->seq != header->height) return PBFT_ERR_BAD_HEIGHT;
    uint8_t hash[PBFT_HASH_SIZE];
    codec_header_hash(header, hash);
    if (memcmp(hash, cert->block_hash, PBFT_HASH_SIZE) != 0) return PBFT_ERR_HASH_MISMATCH;
    return cert_check_commit(validators, chain_id, cert, NULL);
}
