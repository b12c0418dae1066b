/*
 * pbft/store.h — the RocksDB-backed hash-chained ledger store. ledger/store.c
 * is the only file in the project that includes rocksdb/c.h.
 *
 * One store per replica home (`DIR/data`). Committing a block — block,
 * commit certificate, tx index, account changes, history, new tip — is one
 * RocksDB write batch with sync = true: after store_commit_block returns
 * PBFT_OK a power cut loses nothing; before it returns, the block did not
 * happen.
 *
 * Thread safety: any number of threads may read concurrently with one writer.
 */
#ifndef PBFT_STORE_H
#define PBFT_STORE_H

#include "pbft/common.h"
#include "pbft/crypto.h"
#include "pbft/ledger.h"
#include "pbft/types.h"

typedef struct store store_t;

typedef enum store_mode {
    STORE_READ_WRITE = 0, /* the replica; creates the store from genesis if empty */
    STORE_READ_ONLY = 1,  /* a secondary instance: works while a replica runs */
} store_mode_t;

/* Opens (or, read-write, creates) the store at dir for this genesis. Checks
 * the stored chain id (PBFT_ERR_WRONG_CHAIN), that the tip hash is the hash
 * of the stored tip header and that the stored state hash matches the tip's
 * (PBFT_ERR_CORRUPT, with the height in err). Never repairs silently. */
PBFT_MUST_USE pbft_status_t store_open(const char *dir, const pbft_genesis_t *genesis,
                                       store_mode_t mode, store_t **out, char *err,
                                       size_t err_size);

/* Tuning that does not change what is stored. */
typedef struct store_options {
    /* Cap on RocksDB's background writes (memtable flushes, compactions),
     * bytes per second; 0 = none. A flush writes tens of MB at once and
     * synced commits slow down while it does; the cap spreads the flush
     * out (docs/OPERATIONS.md has the figures). The log writes of commits
     * are never capped. */
    uint64_t background_write_bytes_per_s;
    /* RocksDB's block cache, bytes; 0 = STORE_BLOCK_CACHE_BYTES_DEFAULT.
     * Index and filter blocks live in it, ahead of data blocks: what a
     * lookup of a tx id that is not committed reads (tests/bench/
     * txindex_bench.c measures that cost against this size). */
    uint64_t block_cache_bytes;
} store_options_t;
#define STORE_BLOCK_CACHE_BYTES_DEFAULT ((uint64_t)32 << 20)

/* store_open with options (NULL: all defaults). */
PBFT_MUST_USE pbft_status_t store_open_ex(const char *dir, const pbft_genesis_t *genesis,
                                          store_mode_t mode, const store_options_t *options,
                                          store_t **out, char *err, size_t err_size);
/* Writes the account values kept in memory back (see store.c). */
void store_close(store_t *s);

/* Account values are written behind: a commit keeps the accounts it changed
 * in memory and writes them at least every this many blocks; after a crash,
 * store_open executes the blocks above the last write-back again. */
#define STORE_ACCOUNT_WRITE_EVERY 64u
/* Blocks the last open (read-write) or account rebuild (read-only) executed
 * again to recover account values that were not written back. */
uint64_t store_recovered_blocks(store_t *s);
/* For a thread that will call the store often (a writer, a hot reader):
 * turns off RocksDB's per-thread perf counters (on by default), which cost
 * a thread-local lookup on every memtable operation. */
void store_thread_init(void);
/* Read-only stores: catch up with the primary's latest writes. */
PBFT_MUST_USE pbft_status_t store_refresh(store_t *s);

typedef struct store_tip {
    uint64_t height;
    uint8_t block_hash[PBFT_HASH_SIZE];
    uint8_t state_hash[PBFT_HASH_SIZE];
    uint64_t tx_count_total; /* committed txs since genesis */
} store_tip_t;
void store_get_tip(store_t *s, store_tip_t *out);

/* Appends block tip+1 with its certificate and execution result in one
 * synced write batch. Preconditions (asserted — the caller validated them):
 * block.height == tip+1, prev_hash == tip hash, result->height == height. */
PBFT_MUST_USE pbft_status_t store_commit_block(store_t *s, const pbft_block_t *block,
                                               const pbft_commit_cert_t *cert,
                                               const ledger_block_result_t *result);
/* The same with sync = false allowed: the batch is atomic and ordered in the
 * WAL but becomes durable only with the next synced write (a process crash
 * keeps it; a power cut may lose it, never a later synced block without
 * it). For committing a run of queued blocks with one fsync. ids: the
 * block's tx ids in block order when the caller has them, already checked
 * against the header's tx_root (consensus validated the block with them);
 * NULL: the store computes them and checks the root itself. */
PBFT_MUST_USE pbft_status_t store_commit_block_ex(store_t *s, const pbft_block_t *block,
                                                  const uint8_t (*ids)[PBFT_HASH_SIZE],
                                                  const pbft_commit_cert_t *cert,
                                                  const ledger_block_result_t *result, bool sync);

/* Blocks, certificates, raw encodings (for state transfer and the API). */
PBFT_MUST_USE pbft_status_t store_get_block(store_t *s, uint64_t height, pbft_block_t *out);
PBFT_MUST_USE pbft_status_t store_get_header(store_t *s, uint64_t height, pbft_block_header_t *out);
/* Returns a malloc'd copy of the canonical block encoding (caller frees). */
PBFT_MUST_USE pbft_status_t store_get_block_raw(store_t *s, uint64_t height, uint8_t **out,
                                                size_t *out_size);
PBFT_MUST_USE pbft_status_t store_get_commit_cert(store_t *s, uint64_t height,
                                                  pbft_commit_cert_t *out);
/* Per-tx results of a committed block (tx_count bytes, caller frees). */
PBFT_MUST_USE pbft_status_t store_get_block_results(store_t *s, uint64_t height, uint8_t **out,
                                                    uint32_t *count);
/* state_hash(height) as recorded when the block was committed. */
PBFT_MUST_USE pbft_status_t store_get_state_hash(store_t *s, uint64_t height,
                                                 uint8_t out[PBFT_HASH_SIZE]);

/* Stable checkpoints with their 2f+1 signatures (synced write). */
PBFT_MUST_USE pbft_status_t store_put_checkpoint_cert(store_t *s,
                                                      const pbft_checkpoint_cert_t *cert);
PBFT_MUST_USE pbft_status_t store_get_checkpoint_cert(store_t *s, uint64_t height,
                                                      pbft_checkpoint_cert_t *out);
/* The highest stored checkpoint certificate; PBFT_ERR_NOT_FOUND when none. */
PBFT_MUST_USE pbft_status_t store_latest_checkpoint_cert(store_t *s, pbft_checkpoint_cert_t *out);

/* Accounts. A missing account reads as balance 0, nonce 0, *exists false. */
PBFT_MUST_USE pbft_status_t store_get_account(store_t *s, const uint8_t address[PBFT_ADDRESS_SIZE],
                                              pbft_account_t *out, bool *exists);
/* A ledger_state_reader_t over the store's accounts, to execute the next
 * block. On a read-write store it reads through the writer's account cache,
 * so it belongs to the thread that commits. A failed read makes the account
 * read as absent and sets *status (set to PBFT_OK here) to the error: the
 * caller must then drop the execution's result. With status NULL a failed
 * read stops the process. */
ledger_state_reader_t store_state_reader(store_t *s, pbft_status_t *status);

/* Transactions: where a tx landed and with what result. */
typedef struct store_tx_location {
    uint64_t height;
    uint32_t index;
    uint8_t result; /* pbft_tx_result_t */
} store_tx_location_t;
PBFT_MUST_USE pbft_status_t store_get_tx_location(store_t *s, const uint8_t tx_id[PBFT_HASH_SIZE],
                                                  store_tx_location_t *out);

/* Everything a client needs to check a commit against genesis alone. */
typedef struct store_receipt {
    pbft_tx_t tx;
    store_tx_location_t location;
    pbft_block_header_t header;
    crypto_merkle_proof_t proof; /* tx id -> header.tx_root */
    pbft_commit_cert_t cert;     /* certifies header */
} store_receipt_t;
PBFT_MUST_USE pbft_status_t store_get_receipt(store_t *s, const uint8_t tx_id[PBFT_HASH_SIZE],
                                              store_receipt_t *out);

/* Account history, newest first: up to max tx ids that the account sent or
 * received at heights < before_height (UINT64_MAX for the newest). Returns
 * the number written to ids. */
size_t store_account_history(store_t *s, const uint8_t address[PBFT_ADDRESS_SIZE],
                             uint64_t before_height, uint8_t (*ids)[PBFT_HASH_SIZE],
                             uint64_t *heights, size_t max);

/* Iterates committed blocks from height `from` in order until the callback
 * returns false or the tip is reached. The block is borrowed for the call. */
typedef bool (*store_block_fn)(void *ctx, const pbft_block_t *block, const pbft_commit_cert_t *cert,
                               const uint8_t *raw, size_t raw_size);
PBFT_MUST_USE pbft_status_t store_iterate_blocks(store_t *s, uint64_t from, store_block_fn fn,
                                                 void *ctx);

/* The consensus layer's durable safety state: an opaque blob under a key
 * (e.g. "view", "votes"). put is synced before it returns. */
PBFT_MUST_USE pbft_status_t store_put_safety(store_t *s, const char *key, const void *bytes,
                                             size_t size);
/* A block consensus prepared (env->persist_block), in canonical bytes. */
typedef struct store_prepared_block {
    uint64_t height;
    uint8_t hash[PBFT_HASH_SIZE]; /* of its header */
    const uint8_t *bytes;
    size_t size;
} store_prepared_block_t;
/* One synced write batch: the prepared blocks (kept until their height is
 * committed: store_commit_block drops the committed one, store_open the
 * rest at or below the tip) and, unless bytes is NULL, the safety blob. The
 * blocks are written once each instead of riding in every safety blob. */
PBFT_MUST_USE pbft_status_t store_put_safety_and_blocks(store_t *s, const char *key,
                                                        const void *bytes, size_t size,
                                                        const store_prepared_block_t *blocks,
                                                        size_t block_count);
/* The stored prepared blocks above the tip (decoded; caller frees each with
 * codec_block_free, then the array; *out NULL when none). PBFT_ERR_CORRUPT
 * when one does not decode or does not match its key. */
PBFT_MUST_USE pbft_status_t store_load_prepared_blocks(store_t *s, pbft_block_t **out,
                                                       size_t *count);
/* *out is malloc'd (caller frees); PBFT_ERR_NOT_FOUND when absent. */
PBFT_MUST_USE pbft_status_t store_get_safety(store_t *s, const char *key, uint8_t **out,
                                             size_t *out_size);

/* Approximate bytes on disk (live SST + WAL files), for metrics/benchmarks. */
uint64_t store_disk_bytes(store_t *s);

/* RocksDB's memory (bytes) and whether its compactions keep up, from its
 * properties (estimates). */
typedef struct store_stats {
    uint64_t memtables;     /* active and immutable memtables */
    uint64_t table_readers; /* per-SST-file memory outside the block cache */
    uint64_t block_cache;   /* in the block cache, index and filter blocks included */
    uint64_t block_cache_capacity;
    uint64_t block_cache_pinned;
    uint64_t l0_files;           /* writes slow down at 20, stop at 36 */
    uint64_t pending_bytes;      /* estimated bytes compactions still have to rewrite */
    uint64_t delayed_write_rate; /* bytes/s while writes are slowed down, else 0 */
    uint64_t write_stopped;      /* 1 while writes are stopped */
} store_stats_t;
void store_stats(store_t *s, store_stats_t *out);

/* Test hook: closes without writing the account values back, as a crash
 * leaves the store (the next open recovers them from the blocks). */
void store_debug_close_without_write_back(store_t *s);

/* Test hook: blocks read by store_account_history so far (its cost). */
uint64_t store_debug_history_block_loads(store_t *s);

/* Test hook (corruption tests only): overwrite the raw stored value of a
 * block or certificate at a height. kind is "block" or "cert" (also
 * "results", "state_hash", "links" — the history links of a block — and
 * "tip" and "format", the metadata; height ignored for those two; and
 * "account": bytes are the 20-byte address then the value, height ignored). */
PBFT_MUST_USE pbft_status_t store_debug_put_raw(store_t *s, const char *kind, uint64_t height,
                                                const uint8_t *bytes, size_t size);

/* (Added by the ledger helper.) Checks one stored height against the rest of
 * the store and genesis: the block decodes, its height and tx_root match its
 * txs, prev_hash links to block height-1, the commit certificate certifies
 * it (cert_check_block against the genesis validators), and its results and
 * state hash are present. PBFT_OK, or PBFT_ERR_CORRUPT (PBFT_ERR_NOT_FOUND
 * for a height past the tip) with err naming the height and the reason. */
PBFT_MUST_USE pbft_status_t store_verify_block(store_t *s, uint64_t height, char *err,
                                               size_t err_size);

/* Writes the account values kept in memory back, flushes every memtable
 * to SST files and compacts every family: the data dir then holds the
 * chain at rest, with no write-ahead log left to replay (pbftd compact;
 * benchmarks measure bytes per tx after it). Read-write stores only
 * (PBFT_ERR_ARGUMENT otherwise); the committing thread's call, like a
 * commit. PBFT_ERR_STORE when RocksDB fails. */
PBFT_MUST_USE pbft_status_t store_compact(store_t *s);

#endif /* PBFT_STORE_H */
