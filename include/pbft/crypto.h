/*
 * pbft/crypto.h — SHA-256, hex, ECDSA P-256 (OpenSSL 3 underneath), key files,
 * the decoded-public-key cache, domain-separated signing and Merkle trees.
 *
 * No OpenSSL type appears here. Every function is thread-safe unless noted;
 * verification is meant to run on several worker threads at once.
 *
 * Conventions: pointer parameters are borrowed for the duration of the call;
 * functions returning pbft_status_t leave their outputs untouched on failure
 * unless documented otherwise.
 */
#ifndef PBFT_CRYPTO_H
#define PBFT_CRYPTO_H

#include "pbft/common.h"

/* ------------------------------------------------------------------------ */
/* SHA-256                                                                    */

typedef struct crypto_sha256 {
    /* Opaque state large enough for any SHA-256 implementation we use.
     * Implemented over OpenSSL's SHA256_CTX (112 bytes). */
    _Alignas(8) uint8_t opaque[128];
} crypto_sha256_t;

void crypto_sha256(const void *data, size_t size, uint8_t out[PBFT_HASH_SIZE]);
void crypto_sha256_init(crypto_sha256_t *ctx);
void crypto_sha256_update(crypto_sha256_t *ctx, const void *data, size_t size);
void crypto_sha256_final(crypto_sha256_t *ctx, uint8_t out[PBFT_HASH_SIZE]);

/* ------------------------------------------------------------------------ */
/* Hex and comparisons                                                        */

/* Writes 2*size lowercase hex digits and a NUL to out (out has 2*size+1). */
void crypto_hex_encode(const uint8_t *data, size_t size, char *out);
/* Decodes exactly out_size bytes from hex (upper or lower case). The input
 * must be exactly 2*out_size digits long (hex_len), else PBFT_ERR_MALFORMED. */
PBFT_MUST_USE pbft_status_t crypto_hex_decode(const char *hex, size_t hex_len, uint8_t *out,
                                              size_t out_size);
/* Constant-time equality of two equally sized buffers. */
bool crypto_equal_ct(const void *a, const void *b, size_t size);
/* Overwrites a secret in a way the compiler cannot elide. */
void crypto_wipe(void *data, size_t size);

/* ------------------------------------------------------------------------ */
/* Domain separation                                                          */
/*
 * Every signature in the system is over
 *     SHA-256( u8 len(tag) || tag || chain_id[32] || canonical bytes )
 * with one tag per kind, so nothing signed for one purpose or one network is
 * valid for another.
 */
#define CRYPTO_TAG_TX "pbft/tx"
#define CRYPTO_TAG_PRE_PREPARE "pbft/pre-prepare"
#define CRYPTO_TAG_PREPARE "pbft/prepare"
#define CRYPTO_TAG_COMMIT "pbft/commit"
#define CRYPTO_TAG_CHECKPOINT "pbft/checkpoint"
#define CRYPTO_TAG_VIEW_CHANGE "pbft/view-change"
#define CRYPTO_TAG_NEW_VIEW "pbft/new-view"
#define CRYPTO_TAG_STATE_REQUEST "pbft/state-request"
#define CRYPTO_TAG_STATE_REPLY "pbft/state-reply"
#define CRYPTO_TAG_STATUS "pbft/status"
#define CRYPTO_TAG_SIZE_MAX 64

void crypto_domain_hash(const char *tag, const uint8_t chain_id[PBFT_CHAIN_ID_SIZE],
                        const void *bytes, size_t size, uint8_t out[PBFT_HASH_SIZE]);

/* ------------------------------------------------------------------------ */
/* ECDSA P-256 private keys                                                   */

typedef struct crypto_key crypto_key_t; /* opaque; holds a private key */

/* Generates a fresh key pair. Returns NULL only on an RNG/library failure. */
crypto_key_t *crypto_key_generate(void);
/* Loads a PEM private key (PKCS#8 or SEC1 "EC PRIVATE KEY"). Refuses a file
 * that group or others can read (PBFT_ERR_PERMISSION) and writes the reason,
 * naming the fix ("chmod 600 PATH"), to err (size err_size) when err != NULL.
 * Refuses keys not on P-256 (PBFT_ERR_BAD_KEY). */
PBFT_MUST_USE pbft_status_t crypto_key_load(const char *path, crypto_key_t **out, char *err,
                                            size_t err_size);
/* Writes the key as PEM to a new file created with O_CREAT|O_EXCL, mode 0600.
 * Never overwrites: an existing path gives PBFT_ERR_EXISTS. */
PBFT_MUST_USE pbft_status_t crypto_key_save(const crypto_key_t *key, const char *path);
/* Wipes and frees. NULL is allowed. */
void crypto_key_free(crypto_key_t *key);
void crypto_key_public(const crypto_key_t *key, uint8_t out[PBFT_PUBKEY_SIZE]);

/* Signs a 32-byte digest: fixed 64-byte r||s with low s (s <= n/2). */
PBFT_MUST_USE pbft_status_t crypto_sign_digest(const crypto_key_t *key,
                                               const uint8_t digest[PBFT_HASH_SIZE],
                                               uint8_t sig[PBFT_SIGNATURE_SIZE]);
/* Domain-separated sign: crypto_domain_hash(tag, chain_id, bytes) then sign. */
PBFT_MUST_USE pbft_status_t crypto_sign(const crypto_key_t *key, const char *tag,
                                        const uint8_t chain_id[PBFT_CHAIN_ID_SIZE],
                                        const void *bytes, size_t size,
                                        uint8_t sig[PBFT_SIGNATURE_SIZE]);

/* ------------------------------------------------------------------------ */
/* ECDSA P-256 verification                                                   */

/* Checks that 33 bytes are a valid compressed point on P-256. */
bool crypto_pubkey_valid(const uint8_t pubkey[PBFT_PUBKEY_SIZE]);
/* address = first 20 bytes of SHA-256(compressed pubkey) */
void crypto_address(const uint8_t pubkey[PBFT_PUBKEY_SIZE], uint8_t out[PBFT_ADDRESS_SIZE]);

/* Mathematical ECDSA verification of a 64-byte r||s over a digest; accepts
 * high s. Rejects r or s outside [1, n-1] and keys not on the curve.
 * Returns PBFT_OK, PBFT_ERR_BAD_KEY or PBFT_ERR_BAD_SIGNATURE. */
PBFT_MUST_USE pbft_status_t crypto_verify_digest_raw(const uint8_t pubkey[PBFT_PUBKEY_SIZE],
                                                     const uint8_t digest[PBFT_HASH_SIZE],
                                                     const uint8_t sig[PBFT_SIGNATURE_SIZE]);
/* Policy verification used everywhere in the product: as raw, but a high-s
 * signature is PBFT_ERR_HIGH_S, so signatures cannot be mutated. Decoded
 * public keys come from the shared bounded cache (see below). */
PBFT_MUST_USE pbft_status_t crypto_verify_digest(const uint8_t pubkey[PBFT_PUBKEY_SIZE],
                                                 const uint8_t digest[PBFT_HASH_SIZE],
                                                 const uint8_t sig[PBFT_SIGNATURE_SIZE]);
/* Domain-separated verify (the counterpart of crypto_sign). */
PBFT_MUST_USE pbft_status_t crypto_verify(const uint8_t pubkey[PBFT_PUBKEY_SIZE], const char *tag,
                                          const uint8_t chain_id[PBFT_CHAIN_ID_SIZE],
                                          const void *bytes, size_t size,
                                          const uint8_t sig[PBFT_SIGNATURE_SIZE]);
/* Converts a strict ASN.1 DER ECDSA-Sig-Value (SEQUENCE { INTEGER r,
 * INTEGER s }) to the 64-byte r||s form: definite minimal lengths, minimal
 * non-negative integers of at most 32 value bytes, no trailing bytes; BER
 * forms give PBFT_ERR_MALFORMED. Ranges of r and s are the verifier's job.
 * For interoperating with DER-speaking tools; the product's wire is r||s. */
PBFT_MUST_USE pbft_status_t crypto_sig_from_der(const uint8_t *der, size_t der_size,
                                                uint8_t sig[PBFT_SIGNATURE_SIZE]);
/* True when s <= n/2 (our signers only produce these). */
bool crypto_signature_is_low_s(const uint8_t sig[PBFT_SIGNATURE_SIZE]);

/* The decoded-public-key cache: a bounded, thread-safe map from compressed
 * key to decoded OpenSSL key, so a repeat sender costs one verification.
 * Capacity is fixed at first use (CRYPTO_KEY_CACHE_ENTRIES_MAX). */
#define CRYPTO_KEY_CACHE_ENTRIES_MAX 65536
typedef struct crypto_key_cache_stats {
    uint64_t hits;
    uint64_t misses;
    uint64_t entries;
} crypto_key_cache_stats_t;
void crypto_key_cache_stats(crypto_key_cache_stats_t *out);
/* Empties the cache (benchmarks use it to measure the cold path). */
void crypto_key_cache_clear(void);

/* ------------------------------------------------------------------------ */
/* Merkle trees over 32-byte leaves (RFC 6962 shape)                          */
/*
 * leaf hash  = SHA-256(0x00 || leaf)
 * inner hash = SHA-256(0x01 || left || right)
 * A tree of n > 1 leaves splits at k = the largest power of two < n.
 * The root of 0 leaves is SHA-256 of the empty string. No duplication of
 * odd leaves, so two different leaf lists never share a root.
 */
typedef struct crypto_merkle_proof {
    uint32_t leaf_index;
    uint32_t leaf_count;
    uint8_t sibling_count;
    uint8_t siblings[PBFT_MERKLE_DEPTH_MAX][PBFT_HASH_SIZE]; /* leaf to root */
} crypto_merkle_proof_t;

void crypto_merkle_root(const uint8_t (*leaves)[PBFT_HASH_SIZE], size_t count,
                        uint8_t out[PBFT_HASH_SIZE]);
/* Builds the audit path of leaves[index]. Precondition: index < count. */
void crypto_merkle_prove(const uint8_t (*leaves)[PBFT_HASH_SIZE], size_t count, size_t index,
                         crypto_merkle_proof_t *out);
/* PBFT_OK when the proof takes leaf to root; PBFT_ERR_BAD_MERKLE_PROOF
 * otherwise (including a sibling count that does not fit leaf_count). */
PBFT_MUST_USE pbft_status_t crypto_merkle_verify(const uint8_t leaf[PBFT_HASH_SIZE],
                                                 const crypto_merkle_proof_t *proof,
                                                 const uint8_t root[PBFT_HASH_SIZE]);

#endif /* PBFT_CRYPTO_H */
