/*
 * pbft/cert.h — the statements replicas sign, and the one place that checks
 * commit and checkpoint certificates. The replicas (consensus/), the wallet
 * and the verifier all call these, so a certificate means the same thing to
 * every party.
 *
 * Statements (canonical bytes; the signature is crypto_sign over them with
 * the statement's tag and the chain id):
 *   vote statement   (pre-prepare, prepare, commit; tag says which):
 *       u64 view | u64 seq | block_hash[32] | u16 replica            = 50 bytes
 *   checkpoint statement (tag CRYPTO_TAG_CHECKPOINT):
 *       u64 height | block_hash[32] | state_hash[32] | u16 replica   = 74 bytes
 * Including the signer's index binds the signature to one validator slot.
 */
#ifndef PBFT_CERT_H
#define PBFT_CERT_H

#include "pbft/common.h"
#include "pbft/types.h"

#define CERT_VOTE_STATEMENT_SIZE 50
#define CERT_CHECKPOINT_STATEMENT_SIZE 74

void cert_vote_statement(uint64_t view, uint64_t seq, const uint8_t block_hash[PBFT_HASH_SIZE],
                         uint16_t replica, uint8_t out[CERT_VOTE_STATEMENT_SIZE]);
void cert_checkpoint_statement(uint64_t height, const uint8_t block_hash[PBFT_HASH_SIZE],
                               const uint8_t state_hash[PBFT_HASH_SIZE], uint16_t replica,
                               uint8_t out[CERT_CHECKPOINT_STATEMENT_SIZE]);

/* Digest that is signed for a vote: crypto_domain_hash(tag, chain_id, stmt). */
void cert_vote_digest(const char *tag, const uint8_t chain_id[PBFT_CHAIN_ID_SIZE], uint64_t view,
                      uint64_t seq, const uint8_t block_hash[PBFT_HASH_SIZE], uint16_t replica,
                      uint8_t out[PBFT_HASH_SIZE]);
void cert_checkpoint_digest(const uint8_t chain_id[PBFT_CHAIN_ID_SIZE], uint64_t height,
                            const uint8_t block_hash[PBFT_HASH_SIZE],
                            const uint8_t state_hash[PBFT_HASH_SIZE], uint16_t replica,
                            uint8_t out[PBFT_HASH_SIZE]);

/* How a certificate check verifies one replica signature over a digest.
 * The product passes cert_verify_ecdsa (policy ECDSA against the validator's
 * public key); the simulator passes its fake scheme. */
typedef pbft_status_t (*cert_verify_fn)(void *ctx, const pbft_validator_set_t *validators,
                                        uint16_t replica, const uint8_t digest[PBFT_HASH_SIZE],
                                        const uint8_t sig[PBFT_SIGNATURE_SIZE]);
/* crypto_verify_digest(validators->pubkeys[replica], digest, sig); ctx unused. */
pbft_status_t cert_verify_ecdsa(void *ctx, const pbft_validator_set_t *validators, uint16_t replica,
                                const uint8_t digest[PBFT_HASH_SIZE],
                                const uint8_t sig[PBFT_SIGNATURE_SIZE]);

/* Checks a commit certificate against the validator set:
 *   count >= 2f+1 and <= n; replicas strictly increasing (so distinct) and
 *   < n; every signature a valid low-s signature by that validator over the
 *   commit statement (cert->view, cert->seq, cert->block_hash, replica).
 * Returns PBFT_OK or the first failure: PBFT_ERR_NO_QUORUM,
 * PBFT_ERR_DUPLICATE_SIGNER, PBFT_ERR_UNKNOWN_REPLICA, PBFT_ERR_BAD_SIGNATURE
 * (bad_index, when not NULL, receives the offending entry's index). */
PBFT_MUST_USE pbft_status_t cert_check_commit(const pbft_validator_set_t *validators,
                                              const uint8_t chain_id[PBFT_CHAIN_ID_SIZE],
                                              const pbft_commit_cert_t *cert, size_t *bad_index);

/* The same for a checkpoint certificate over the checkpoint statement. */
PBFT_MUST_USE pbft_status_t cert_check_checkpoint(const pbft_validator_set_t *validators,
                                                  const uint8_t chain_id[PBFT_CHAIN_ID_SIZE],
                                                  const pbft_checkpoint_cert_t *cert,
                                                  size_t *bad_index);

/* The same two checks with an injected signature verifier (the cert_check_*
 * functions above call these with cert_verify_ecdsa). */
PBFT_MUST_USE pbft_status_t cert_check_commit_with(const pbft_validator_set_t *validators,
                                                   const uint8_t chain_id[PBFT_CHAIN_ID_SIZE],
                                                   const pbft_commit_cert_t *cert,
                                                   cert_verify_fn verify, void *verify_ctx,
                                                   size_t *bad_index);
PBFT_MUST_USE pbft_status_t cert_check_checkpoint_with(const pbft_validator_set_t *validators,
                                                       const uint8_t chain_id[PBFT_CHAIN_ID_SIZE],
                                                       const pbft_checkpoint_cert_t *cert,
                                                       cert_verify_fn verify, void *verify_ctx,
                                                       size_t *bad_index);

/* Checks that a block header is the one a commit certificate certifies:
 * cert->seq == header->height and cert->block_hash == hash(header), and then
 * cert_check_commit. PBFT_ERR_HASH_MISMATCH or PBFT_ERR_BAD_HEIGHT otherwise. */
PBFT_MUST_USE pbft_status_t cert_check_block(const pbft_validator_set_t *validators,
                                             const uint8_t chain_id[PBFT_CHAIN_ID_SIZE],
                                             const pbft_block_header_t *header,
                                             const pbft_commit_cert_t *cert);

#endif /* PBFT_CERT_H */
