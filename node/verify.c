/*
 * node/verify.c — see verify.h.
 */
#include "verify.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "pbft/codec.h"
#include "pbft/crypto.h"

/* A lookup reads the tags (one cache line) and touches a key only when its
 * tag matches: a miss costs one line instead of the whole bucket. */
typedef struct cache_bucket {
    _Alignas(64) uint64_t tags[VERIFY_CACHE_WAYS]; /* bytes 8..15 of each key */
    uint8_t keys[VERIFY_CACHE_WAYS][PBFT_HASH_SIZE];
    uint8_t next; /* round-robin victim */
} cache_bucket_t;

typedef struct work_item {
    struct work_item *next;
    verify_batch_t *batch;
    size_t begin;
    size_t end;
} work_item_t;

struct verify_pool {
    uint8_t chain_id[PBFT_CHAIN_ID_SIZE];
    uint32_t thread_count;
    pthread_t *threads;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    work_item_t *head;
    work_item_t *tail;
    bool stopping;
    _Atomic uint64_t queued_txs;
    _Atomic uint64_t verified_total;
    _Atomic uint64_t cache_hits;
    cache_bucket_t *buckets; /* 64-byte aligned inside buckets_raw */
    void *buckets_raw;
    pthread_mutex_t locks[VERIFY_CACHE_LOCKS];
};

static void cache_key(const pbft_tx_t *tx, const uint8_t id[PBFT_HASH_SIZE],
                      uint8_t key[PBFT_HASH_SIZE]) {
    uint8_t buf[PBFT_HASH_SIZE + PBFT_SIGNATURE_SIZE];
    memcpy(buf, id, PBFT_HASH_SIZE);
    memcpy(buf + PBFT_HASH_SIZE, tx->signature, PBFT_SIGNATURE_SIZE);
    crypto_sha256(buf, sizeof buf, key);
}

static uint32_t bucket_of(const uint8_t key[PBFT_HASH_SIZE]) {
    uint32_t v =
        (uint32_t)key[0] | (uint32_t)key[1] << 8 | (uint32_t)key[2] << 16 | (uint32_t)key[3] << 24;
    return v % VERIFY_CACHE_BUCKETS;
}

static uint64_t tag_of(const uint8_t key[PBFT_HASH_SIZE]) {
    uint64_t t;
    memcpy(&t, key + 8, sizeof t);
    return t;
}

/* Called with the bucket's lock held. */
static bool bucket_has(const cache_bucket_t *bucket, const uint8_t key[PBFT_HASH_SIZE]) {
    uint64_t tag = tag_of(key);
    for (int w = 0; w < VERIFY_CACHE_WAYS; w++) {
        if (bucket->tags[w] == tag && memcmp(bucket->keys[w], key, PBFT_HASH_SIZE) == 0)
            return true;
    }
    return false;
}

static bool cache_lookup_key(verify_pool_t *pool, const uint8_t key[PBFT_HASH_SIZE]) {
    uint32_t b = bucket_of(key);
    pthread_mutex_t *lock = &pool->locks[b % VERIFY_CACHE_LOCKS];
    pthread_mutex_lock(lock);
    bool found = bucket_has(&pool->buckets[b], key);
    pthread_mutex_unlock(lock);
    return found;
}

static void cache_insert_key(verify_pool_t *pool, const uint8_t key[PBFT_HASH_SIZE]) {
    uint32_t b = bucket_of(key);
    pthread_mutex_t *lock = &pool->locks[b % VERIFY_CACHE_LOCKS];
    pthread_mutex_lock(lock);
    cache_bucket_t *bucket = &pool->buckets[b];
    if (!bucket_has(bucket, key)) {
        bucket->tags[bucket->next] = tag_of(key);
        memcpy(bucket->keys[bucket->next], key, PBFT_HASH_SIZE);
        bucket->next = (uint8_t)((bucket->next + 1) % VERIFY_CACHE_WAYS);
    }
    pthread_mutex_unlock(lock);
}

bool verify_cache_contains(verify_pool_t *pool, const pbft_tx_t *tx,
                           const uint8_t id[PBFT_HASH_SIZE]) {
    uint8_t key[PBFT_HASH_SIZE];
    cache_key(tx, id, key);
    return cache_lookup_key(pool, key);
}

/* Checks one tx: the cache first (unless skip_lookup), else the signature
 * (and caches success). */
static pbft_status_t check_one(verify_pool_t *pool, const pbft_tx_t *tx,
                               const uint8_t id[PBFT_HASH_SIZE], bool skip_lookup) {
    uint8_t key[PBFT_HASH_SIZE];
    cache_key(tx, id, key);
    if (!skip_lookup && cache_lookup_key(pool, key)) {
        atomic_fetch_add(&pool->cache_hits, 1);
        return PBFT_OK;
    }
    pbft_status_t st = codec_tx_verify(tx, pool->chain_id);
    atomic_fetch_add(&pool->verified_total, 1);
    if (st == PBFT_OK) cache_insert_key(pool, key);
    return st;
}

static void batch_finish(verify_batch_t *batch, size_t n) {
    if (atomic_fetch_sub(&batch->remaining, n) == n && batch->done) {
        batch->done(batch->done_ctx);
    }
}

static void *worker_main(void *arg) {
    verify_pool_t *pool = arg;
    for (;;) {
        pthread_mutex_lock(&pool->mutex);
        while (!pool->head && !pool->stopping)
            pthread_cond_wait(&pool->cond, &pool->mutex);
        work_item_t *item = pool->head;
        if (!item) {
            pthread_mutex_unlock(&pool->mutex);
            return NULL;
        }
        pool->head = item->next;
        if (!pool->head) pool->tail = NULL;
        pthread_mutex_unlock(&pool->mutex);
        verify_batch_t *batch = item->batch;
        for (size_t i = item->begin; i < item->end; i++) {
            batch->results[i] = check_one(pool, &batch->txs[i], batch->ids[i], batch->skip_lookup);
        }
        atomic_fetch_sub(&pool->queued_txs, item->end - item->begin);
        batch_finish(batch, item->end - item->begin);
        free(item);
    }
}

verify_pool_t *verify_pool_new(uint32_t threads, const uint8_t chain_id[PBFT_CHAIN_ID_SIZE]) {
    if (threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 0 ? (uint32_t)cores : 1;
    }
    if (threads > VERIFY_THREADS_MAX) threads = VERIFY_THREADS_MAX;
    verify_pool_t *pool = pbft_xcalloc(1, sizeof *pool);
    memcpy(pool->chain_id, chain_id, PBFT_CHAIN_ID_SIZE);
    /* calloc: the pages stay untouched (zero) until a bucket is used */
    pool->buckets_raw = pbft_xcalloc(1, VERIFY_CACHE_BUCKETS * sizeof *pool->buckets + 64);
    size_t skew = (size_t)((uintptr_t)pool->buckets_raw % 64);
    pool->buckets = (cache_bucket_t *)((char *)pool->buckets_raw + (skew ? 64 - skew : 0));
    pthread_mutex_init(&pool->mutex, NULL);
    pthread_cond_init(&pool->cond, NULL);
    for (int i = 0; i < VERIFY_CACHE_LOCKS; i++)
        pthread_mutex_init(&pool->locks[i], NULL);
    pool->threads = pbft_xcalloc(threads, sizeof *pool->threads);
    pool->thread_count = threads;
    for (uint32_t i = 0; i < threads; i++) {
        int rc = pthread_create(&pool->threads[i], NULL, worker_main, pool);
        PBFT_ASSERT(rc == 0);
        char name[16];
        snprintf(name, sizeof name, "pbftd-verify%u", (unsigned)i % 100u);
        pthread_setname_np(pool->threads[i], name);
    }
    return pool;
}

void verify_pool_free(verify_pool_t *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->mutex);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->cond);
    pthread_mutex_unlock(&pool->mutex);
    for (uint32_t i = 0; i < pool->thread_count; i++)
        pthread_join(pool->threads[i], NULL);
    PBFT_ASSERT(pool->head == NULL);
    for (int i = 0; i < VERIFY_CACHE_LOCKS; i++)
        pthread_mutex_destroy(&pool->locks[i]);
    pthread_mutex_destroy(&pool->mutex);
    pthread_cond_destroy(&pool->cond);
    free(pool->threads);
    free(pool->buckets_raw);
    free(pool);
}

uint32_t verify_pool_threads(const verify_pool_t *pool) {
    return pool->thread_count;
}

uint64_t verify_pool_queue_depth(verify_pool_t *pool) {
    return atomic_load(&pool->queued_txs);
}

uint64_t verify_pool_verified_total(verify_pool_t *pool) {
    return atomic_load(&pool->verified_total);
}

uint64_t verify_pool_cache_hits(verify_pool_t *pool) {
    return atomic_load(&pool->cache_hits);
}

void verify_batch_submit(verify_pool_t *pool, verify_batch_t *batch) {
    atomic_store(&batch->remaining, batch->count + 1); /* +1: the submitter's hold */
    work_item_t *first = NULL, *last = NULL;
    size_t queued = 0, items = 0;
    for (size_t begin = 0; begin < batch->count; begin += VERIFY_CHUNK_TXS, items++) {
        work_item_t *item = pbft_xmalloc(sizeof *item);
        item->next = NULL;
        item->batch = batch;
        item->begin = begin;
        item->end = PBFT_MIN(begin + VERIFY_CHUNK_TXS, batch->count);
        queued += item->end - item->begin;
        if (last)
            last->next = item;
        else
            first = item;
        last = item;
    }
    if (first) {
        atomic_fetch_add(&pool->queued_txs, queued);
        pthread_mutex_lock(&pool->mutex);
        if (pool->tail)
            pool->tail->next = first;
        else
            pool->head = first;
        pool->tail = last;
        /* One waiter per item: a small batch does not wake every worker
         * only for all but one to find the queue empty again. */
        if (items >= pool->thread_count) {
            pthread_cond_broadcast(&pool->cond);
        } else {
            for (size_t i = 0; i < items; i++)
                pthread_cond_signal(&pool->cond);
        }
        pthread_mutex_unlock(&pool->mutex);
    }
    batch_finish(batch, 1);
}

typedef struct sync_wait {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    bool done;
} sync_wait_t;

static void sync_done(void *ctx) {
    sync_wait_t *w = ctx;
    pthread_mutex_lock(&w->mutex);
    w->done = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mutex);
}

void verify_batch_run(verify_pool_t *pool, const pbft_tx_t *txs,
                      const uint8_t (*ids)[PBFT_HASH_SIZE], size_t count, pbft_status_t *results) {
    /* A few txs (one client's POST, a cache miss on the consensus thread):
     * checking them here costs less than two thread hand-offs, and the
     * caller would only sleep meanwhile. */
    if (count <= VERIFY_INLINE_MAX) {
        for (size_t i = 0; i < count; i++)
            results[i] = check_one(pool, &txs[i], ids[i], false);
        return;
    }
    sync_wait_t w = {.done = false};
    pthread_mutex_init(&w.mutex, NULL);
    pthread_cond_init(&w.cond, NULL);
    verify_batch_t batch = {.txs = txs,
                            .ids = ids,
                            .count = count,
                            .results = results,
                            .done = sync_done,
                            .done_ctx = &w};
    verify_batch_submit(pool, &batch);
    pthread_mutex_lock(&w.mutex);
    while (!w.done)
        pthread_cond_wait(&w.cond, &w.mutex);
    pthread_mutex_unlock(&w.mutex);
    pthread_mutex_destroy(&w.mutex);
    pthread_cond_destroy(&w.cond);
}
