/*
 * pbft/ledger.h — genesis, accounts and deterministic execution (pure, no
 * I/O), plus an in-memory account map used by the simulator, the verifier's
 * replay and tests.
 */
#ifndef PBFT_LEDGER_H
#define PBFT_LEDGER_H

#include "pbft/common.h"
#include "pbft/types.h"

/* ------------------------------------------------------------------------ */
/* Genesis                                                                    */

typedef struct pbft_account {
    uint8_t address[PBFT_ADDRESS_SIZE];
    uint64_t balance;
    uint64_t nonce;
} pbft_account_t;

/* Consensus parameters every replica must share (part of the chain id). */
typedef struct pbft_consensus_params {
    uint32_t checkpoint_interval;    /* K, blocks; 1..PBFT_CHECKPOINT_INTERVAL_MAX */
    uint32_t batch_max;              /* txs per block; 1..PBFT_BLOCK_TX_COUNT_MAX */
    uint32_t batch_delay_ms;         /* cut a partial block after this long */
    uint32_t window;                 /* seqs in flight; 1..PBFT_WINDOW_MAX, <= K */
    uint32_t view_change_timeout_ms; /* initial; doubles on each failed view */
    uint32_t request_timeout_ms;     /* a backup's timer on a seen tx */
} pbft_consensus_params_t;

typedef struct pbft_genesis {
    char chain_name[PBFT_CHAIN_NAME_SIZE_MAX + 1];
    uint64_t genesis_time_ms;
    pbft_validator_set_t validators;
    pbft_consensus_params_t params;
    uint32_t account_count;
    pbft_account_t *accounts; /* owned; sorted by address, unique; nonce 0 */
    /* Derived on load: */
    uint8_t chain_id[PBFT_CHAIN_ID_SIZE]; /* SHA-256 of the canonical binary form */
    pbft_block_header_t header;           /* block 0 (see ledger_genesis_header) */
    uint8_t block_hash[PBFT_HASH_SIZE];   /* hash of block 0 */
    uint8_t state_hash[PBFT_HASH_SIZE];   /* state_hash(0) */
} pbft_genesis_t;

/* Parses genesis JSON (see docs/FORMATS.md), validates every field, and
 * derives chain id, block 0 and state_hash(0). On error writes a message that
 * names the field to err and returns PBFT_ERR_GENESIS. */
PBFT_MUST_USE pbft_status_t ledger_genesis_parse(const char *json, size_t size, pbft_genesis_t *out,
                                                 char *err, size_t err_size);
PBFT_MUST_USE pbft_status_t ledger_genesis_load(const char *path, pbft_genesis_t *out, char *err,
                                                size_t err_size);
/* Writes g as genesis JSON (64-bit values as decimal strings) to a new file. */
PBFT_MUST_USE pbft_status_t ledger_genesis_write(const pbft_genesis_t *g, const char *path);
/* Fills chain_id, header, block_hash and state_hash from the other fields
 * (accounts must already be sorted and unique). Used by parse and by tools
 * that build a genesis in memory. */
void ledger_genesis_derive(pbft_genesis_t *g);
void ledger_genesis_free(pbft_genesis_t *g);
/* Deep copy. */
void ledger_genesis_copy(pbft_genesis_t *dst, const pbft_genesis_t *src);

/* ------------------------------------------------------------------------ */
/* Execution                                                                  */

/* Where execution reads the current state of an account. Returns false when
 * the account does not exist (then balance = nonce = 0). */
typedef struct ledger_state_reader {
    bool (*get)(void *ctx, const uint8_t address[PBFT_ADDRESS_SIZE], pbft_account_t *out);
    void *ctx;
} ledger_state_reader_t;

/* What executing one block did. */
typedef struct ledger_block_result {
    uint64_t height;
    uint32_t tx_count;
    uint8_t *tx_results; /* tx_count pbft_tx_result_t values */
    uint32_t changed_count;
    pbft_account_t *changed;            /* new values of the accounts the block changed,
                                           sorted by address, unique */
    uint8_t state_hash[PBFT_HASH_SIZE]; /* state_hash(height) */
} ledger_block_result_t;

/* Executes block txs in order against `state` (not modified; the result
 * carries the delta). Preconditions (asserted): signatures were verified and
 * the block is structurally valid. Rules: nonce == account nonce, amount <=
 * balance, recipient balance must not overflow; on success move the amount
 * and bump the nonce; otherwise record the failure and change nothing.
 * state_hash(h) = SHA-256(state_hash(h-1) || u32 changed_count ||
 *                         changed accounts sorted, each address|balance|nonce). */
void ledger_execute_block(const pbft_block_t *block, const ledger_state_reader_t *state,
                          const uint8_t prev_state_hash[PBFT_HASH_SIZE],
                          ledger_block_result_t *out);
void ledger_block_result_free(ledger_block_result_t *r);

/* ------------------------------------------------------------------------ */
/* In-memory account map (open addressing). Not thread-safe.                 */

typedef struct ledger_memstate ledger_memstate_t;

ledger_memstate_t *ledger_memstate_new(const pbft_genesis_t *genesis);
void ledger_memstate_free(ledger_memstate_t *m);
ledger_state_reader_t ledger_memstate_reader(ledger_memstate_t *m);
/* Applies a block result's changed accounts. */
void ledger_memstate_apply(ledger_memstate_t *m, const ledger_block_result_t *r);
bool ledger_memstate_get(const ledger_memstate_t *m, const uint8_t address[PBFT_ADDRESS_SIZE],
                         pbft_account_t *out);
uint64_t ledger_memstate_total_supply(const ledger_memstate_t *m);
size_t ledger_memstate_count(const ledger_memstate_t *m);

#endif /* PBFT_LEDGER_H */
