/*
 * node/verify.h — transaction signature verification on worker threads, with
 * a bounded cache of verified transactions so each replica verifies each tx
 * signature once (DESIGN: "Signature verification is the dominant CPU cost").
 *
 * The cache key is SHA-256(tx id || signature): the tx id does not cover the
 * signature, so keying by id alone would let a second, invalid signature on
 * the same tx ride on the first one's verification.
 *
 * The cache is set-associative (VERIFY_CACHE_WAYS entries per bucket,
 * round-robin replacement), striped over VERIFY_CACHE_LOCKS mutexes: bounded
 * memory, O(1), and an eviction only costs one more verification later.
 */
#ifndef NODE_VERIFY_H
#define NODE_VERIFY_H

#include "pbft/common.h"
#include "pbft/types.h"

#define VERIFY_CACHE_WAYS 8
#define VERIFY_CACHE_BUCKETS (1u << 16) /* 512K entries, 24 MiB (384-byte buckets) */
#define VERIFY_CACHE_LOCKS 64
#define VERIFY_INLINE_MAX 8 /* verify_batch_run checks this many on the caller's thread */
#define VERIFY_CHUNK_TXS 32 /* txs per work item */
#define VERIFY_THREADS_MAX 256

typedef struct verify_pool verify_pool_t;

/* threads == 0 means one per online core. */
verify_pool_t *verify_pool_new(uint32_t threads, const uint8_t chain_id[PBFT_CHAIN_ID_SIZE]);
/* Stops the workers after the queued work; no callback is lost. */
void verify_pool_free(verify_pool_t *pool);
uint32_t verify_pool_threads(const verify_pool_t *pool);
/* Txs waiting for a worker (gauge for /metrics). */
uint64_t verify_pool_queue_depth(verify_pool_t *pool);
uint64_t verify_pool_verified_total(verify_pool_t *pool); /* signature checks done */
uint64_t verify_pool_cache_hits(verify_pool_t *pool);

/* Was this exact tx (id and signature) verified valid? Thread-safe. */
bool verify_cache_contains(verify_pool_t *pool, const pbft_tx_t *tx,
                           const uint8_t id[PBFT_HASH_SIZE]);

/* A batch of txs to check. txs and ids are borrowed until `done` runs (or
 * until verify_batch_wait returns). results[i] receives PBFT_OK or the
 * failure (PBFT_ERR_BAD_SIGNATURE, PBFT_ERR_HIGH_S, PBFT_ERR_BAD_KEY). */
typedef void (*verify_done_fn)(void *ctx);
typedef struct verify_batch {
    const pbft_tx_t *txs;
    const uint8_t (*ids)[PBFT_HASH_SIZE];
    size_t count;
    pbft_status_t *results;
    verify_done_fn done; /* runs on a worker thread once all are checked */
    void *done_ctx;
    /* The submitter expects new txs: the workers verify them without
     * looking in the cache first (they still add those that verify). */
    bool skip_lookup;
    /* private */
    _Atomic size_t remaining;
} verify_batch_t;

/* Queues the batch (cached txs are answered at once). `done` always runs
 * exactly once, possibly before this returns (when everything was cached). */
void verify_batch_submit(verify_pool_t *pool, verify_batch_t *batch);
/* Blocking form for HTTP threads: returns when all results are filled (up
 * to VERIFY_INLINE_MAX txs are checked on the calling thread). */
void verify_batch_run(verify_pool_t *pool, const pbft_tx_t *txs,
                      const uint8_t (*ids)[PBFT_HASH_SIZE], size_t count, pbft_status_t *results);

#endif /* NODE_VERIFY_H */
