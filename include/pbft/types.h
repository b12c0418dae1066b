/*
 * pbft/types.h — the ledger's value types: transactions, block headers,
 * blocks, commit and checkpoint certificates, the validator set, and the
 * transaction result codes. Their byte formats live in docs/FORMATS.md and
 * their codecs in pbft/codec.h.
 */
#ifndef PBFT_TYPES_H
#define PBFT_TYPES_H

#include "pbft/common.h"

#define PBFT_TX_VERSION 1
#define PBFT_BLOCK_VERSION 1

/* A signed transfer of `amount` from the account of `sender_pubkey` to
 * `recipient`. Its id is SHA-256 of its canonical bytes without the
 * signature; the signature is over
 * crypto_domain_hash(CRYPTO_TAG_TX, chain_id, canonical bytes without sig). */
typedef struct pbft_tx {
    uint8_t sender_pubkey[PBFT_PUBKEY_SIZE];
    uint8_t recipient[PBFT_ADDRESS_SIZE];
    uint64_t amount;
    uint64_t nonce;
    uint16_t memo_size; /* <= PBFT_TX_MEMO_SIZE_MAX */
    uint8_t memo[PBFT_TX_MEMO_SIZE_MAX];
    uint8_t signature[PBFT_SIGNATURE_SIZE];
} pbft_tx_t;

/* Block hash = SHA-256 of the canonical header (PBFT_BLOCK_HEADER_SIZE bytes).
 * height == the PBFT sequence number; genesis is height 0. */
typedef struct pbft_block_header {
    uint32_t version;
    uint64_t height;
    uint64_t view;
    uint64_t timestamp_ms;
    uint8_t prev_hash[PBFT_HASH_SIZE];
    uint8_t tx_root[PBFT_HASH_SIZE]; /* crypto_merkle_root of the tx ids */
    uint32_t tx_count;
    uint32_t proposer; /* replica index of the primary that proposed it */
} pbft_block_header_t;

/* A block owns its tx array (heap, tx_count entries; NULL when empty). */
typedef struct pbft_block {
    pbft_block_header_t header;
    pbft_tx_t *txs;
} pbft_block_t;

/* One replica's signature inside a certificate. */
typedef struct pbft_replica_sig {
    uint16_t replica;
    uint8_t signature[PBFT_SIGNATURE_SIZE];
} pbft_replica_sig_t;

/* 2f+1 (or more) COMMIT signatures of distinct validators over
 * (view, seq, block_hash); entries sorted by strictly increasing replica.
 * Each signature is over the commit statement (pbft/cert.h). */
typedef struct pbft_commit_cert {
    uint64_t view;
    uint64_t seq;
    uint8_t block_hash[PBFT_HASH_SIZE];
    uint16_t count;
    pbft_replica_sig_t sigs[PBFT_REPLICA_COUNT_MAX];
} pbft_commit_cert_t;

/* 2f+1 (or more) CHECKPOINT signatures over (height, block_hash, state_hash). */
typedef struct pbft_checkpoint_cert {
    uint64_t height;
    uint8_t block_hash[PBFT_HASH_SIZE];
    uint8_t state_hash[PBFT_HASH_SIZE];
    uint16_t count;
    pbft_replica_sig_t sigs[PBFT_REPLICA_COUNT_MAX];
} pbft_checkpoint_cert_t;

/* The genesis validator set: replica i has pubkeys[i]. n = count = 3f+1
 * (n = 1 is allowed for development: f = 0). */
typedef struct pbft_validator_set {
    uint16_t count;
    uint8_t pubkeys[PBFT_REPLICA_COUNT_MAX][PBFT_PUBKEY_SIZE];
} pbft_validator_set_t;

static inline uint32_t pbft_validator_f(const pbft_validator_set_t *set) {
    return (uint32_t)(set->count - 1) / 3;
}
static inline uint32_t pbft_validator_quorum(const pbft_validator_set_t *set) {
    return 2 * pbft_validator_f(set) + 1;
}

/* Result of executing one transaction (stored per tx, shown in receipts). */
#define PBFT_TX_RESULT_LIST(X)                                                                     \
    X(PBFT_TX_OK, "ok")                                                                            \
    X(PBFT_TX_BAD_NONCE, "bad_nonce")                                                              \
    X(PBFT_TX_INSUFFICIENT_FUNDS, "insufficient_funds")                                            \
    X(PBFT_TX_OVERFLOW, "overflow")                                                                \
    X(PBFT_TX_NONCE_EXHAUSTED, "nonce_exhausted")

typedef enum pbft_tx_result {
#define PBFT_TX_RESULT_ENUM_(name, text) name,
    PBFT_TX_RESULT_LIST(PBFT_TX_RESULT_ENUM_)
#undef PBFT_TX_RESULT_ENUM_
        PBFT_TX_RESULT_COUNT
} pbft_tx_result_t;

static inline const char *pbft_tx_result_string(pbft_tx_result_t result) {
    static const char *const texts[] = {
#define PBFT_TX_RESULT_TEXT_(name, text) text,
        PBFT_TX_RESULT_LIST(PBFT_TX_RESULT_TEXT_)
#undef PBFT_TX_RESULT_TEXT_
    };
    if ((unsigned)result >= PBFT_TX_RESULT_COUNT) return "unknown";
    return texts[result];
}

#endif /* PBFT_TYPES_H */
