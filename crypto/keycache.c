/*
 * crypto/keycache.c — the bounded, thread-safe cache of decoded public keys.
 *
 * Decompressing a P-256 point (a modular square root) costs about a third of
 * a verification, and a ledger sees the same senders and the same replicas
 * over and over, so decoded keys are kept. Shape: a set-associative table of
 * CRYPTO_KEY_CACHE_ENTRIES_MAX entries (CACHE_WAYS per set), each set guarded
 * by one of CACHE_LOCK_COUNT striped mutexes held only for a few compares and
 * one point copy (~0.4 us); decoding happens outside any lock. Eviction is
 * round-robin within the set. The set index is a salted hash of the key so a
 * peer cannot aim many keys at one set without knowing the salt; even then it
 * would only evict entries from that set, costing decodes, never correctness.
 *
 * Entries hold a decoded point (a few hundred bytes; an EC_KEY per entry
 * would be ~2 KB because each carries a copy of the group). A hit copies the
 * point into the calling thread's own EC_KEY under the set's lock, so an
 * eviction or a clear can never free a point another thread is using.
 * Only keys that decoded to a point on the curve are ever inserted.
 */
#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rand.h>

#define CACHE_WAYS 8
#define CACHE_SET_COUNT (CRYPTO_KEY_CACHE_ENTRIES_MAX / CACHE_WAYS)
#define CACHE_LOCK_COUNT 256
#define CACHE_LINE_SIZE 64

_Static_assert((CACHE_SET_COUNT & (CACHE_SET_COUNT - 1)) == 0, "set count is a power of two");
_Static_assert(CACHE_SET_COUNT % CACHE_LOCK_COUNT == 0, "locks stripe the sets evenly");

typedef struct cache_entry {
    EC_POINT *point; /* NULL when the way is empty */
    uint8_t pubkey[PBFT_PUBKEY_SIZE];
} cache_entry_t;

typedef struct cache_set {
    cache_entry_t ways[CACHE_WAYS];
    uint8_t victim; /* next way to evict when all are full */
} cache_set_t;

typedef struct cache_lock {
    _Alignas(CACHE_LINE_SIZE) pthread_mutex_t mutex;
} cache_lock_t;

static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static cache_set_t *cache_sets;
static cache_lock_t cache_locks[CACHE_LOCK_COUNT];
static uint64_t cache_salt[2];
static _Atomic uint64_t cache_hits;
static _Atomic uint64_t cache_misses;
static _Atomic uint64_t cache_entries;

static void cache_init(void) {
    cache_sets = pbft_xcalloc(CACHE_SET_COUNT, sizeof(cache_set_t));
    for (size_t i = 0; i < CACHE_LOCK_COUNT; i++) {
        PBFT_ASSERT(pthread_mutex_init(&cache_locks[i].mutex, NULL) == 0);
    }
    /* The salt only spreads keys over sets; a fixed fallback is still correct. */
    if (RAND_bytes((unsigned char *)cache_salt, (int)sizeof(cache_salt)) != 1) {
        cache_salt[0] = 0x9e3779b97f4a7c15ull;
        cache_salt[1] = 0xc2b2ae3d27d4eb4full;
    }
}

static void cache_ensure(void) {
    PBFT_ASSERT(pthread_once(&cache_once, cache_init) == 0);
}

static uint64_t load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static size_t cache_set_index(const uint8_t pubkey[PBFT_PUBKEY_SIZE]) {
    uint64_t h = cache_salt[0] ^ pubkey[0];
    for (size_t off = 1; off + 8 <= PBFT_PUBKEY_SIZE; off += 8) {
        h = mix64(h ^ load64(pubkey + off) ^ cache_salt[1]);
    }
    return (size_t)(h & (CACHE_SET_COUNT - 1));
}

static pthread_mutex_t *cache_lock_for(size_t set_index) {
    return &cache_locks[set_index % CACHE_LOCK_COUNT].mutex;
}

/* Under the set's lock: the cached point of pubkey, or NULL. */
static const EC_POINT *cache_find_locked(const cache_set_t *set,
                                         const uint8_t pubkey[PBFT_PUBKEY_SIZE]) {
    for (size_t w = 0; w < CACHE_WAYS; w++) {
        const cache_entry_t *e = &set->ways[w];
        if (e->point != NULL && memcmp(e->pubkey, pubkey, PBFT_PUBKEY_SIZE) == 0) return e->point;
    }
    return NULL;
}

/* Under the set's lock: stores point (ownership moves to the cache) and
 * returns the evicted point, which the caller frees outside the lock. */
static EC_POINT *cache_insert_locked(cache_set_t *set, const uint8_t pubkey[PBFT_PUBKEY_SIZE],
                                     EC_POINT *point) {
    size_t way = CACHE_WAYS;
    for (size_t w = 0; w < CACHE_WAYS; w++) {
        if (set->ways[w].point == NULL) {
            way = w;
            break;
        }
    }
    if (way == CACHE_WAYS) {
        way = set->victim;
        set->victim = (uint8_t)((set->victim + 1) % CACHE_WAYS);
    }
    cache_entry_t *e = &set->ways[way];
    EC_POINT *evicted = e->point;
    e->point = point;
    memcpy(e->pubkey, pubkey, PBFT_PUBKEY_SIZE);
    if (evicted == NULL) atomic_fetch_add_explicit(&cache_entries, 1, memory_order_relaxed);
    return evicted;
}

/* Copies a point into ec (EC_KEY_set_public_key duplicates it). */
static pbft_status_t set_public(EC_KEY *ec, const EC_POINT *point) {
    if (EC_KEY_set_public_key(ec, point) == 1) return PBFT_OK;
    ERR_clear_error();
    return PBFT_ERR_CRYPTO;
}

pbft_status_t crypto_key_cache_load(const uint8_t pubkey[PBFT_PUBKEY_SIZE], EC_KEY *ec) {
    PBFT_ASSERT(pubkey != NULL && ec != NULL);
    cache_ensure();
    size_t index = cache_set_index(pubkey);
    cache_set_t *set = &cache_sets[index];
    pthread_mutex_t *lock = cache_lock_for(index);

    PBFT_ASSERT(pthread_mutex_lock(lock) == 0);
    const EC_POINT *cached = cache_find_locked(set, pubkey);
    pbft_status_t status = cached != NULL ? set_public(ec, cached) : PBFT_OK;
    PBFT_ASSERT(pthread_mutex_unlock(lock) == 0);
    if (cached != NULL) {
        atomic_fetch_add_explicit(&cache_hits, 1, memory_order_relaxed);
        return status;
    }

    atomic_fetch_add_explicit(&cache_misses, 1, memory_order_relaxed);
    EC_POINT *decoded = crypto_pubkey_decode(pubkey);
    if (decoded == NULL) return PBFT_ERR_BAD_KEY;
    status = set_public(ec, decoded);
    if (status != PBFT_OK) {
        EC_POINT_free(decoded);
        return status;
    }
    /* Another thread may have inserted the same key meanwhile; keep theirs. */
    EC_POINT *evicted = NULL;
    PBFT_ASSERT(pthread_mutex_lock(lock) == 0);
    if (cache_find_locked(set, pubkey) == NULL) {
        evicted = cache_insert_locked(set, pubkey, decoded);
        decoded = NULL;
    }
    PBFT_ASSERT(pthread_mutex_unlock(lock) == 0);
    EC_POINT_free(evicted);
    EC_POINT_free(decoded);
    return PBFT_OK;
}

void crypto_key_cache_stats(crypto_key_cache_stats_t *out) {
    PBFT_ASSERT(out != NULL);
    out->hits = atomic_load_explicit(&cache_hits, memory_order_relaxed);
    out->misses = atomic_load_explicit(&cache_misses, memory_order_relaxed);
    out->entries = atomic_load_explicit(&cache_entries, memory_order_relaxed);
    PBFT_ASSERT(out->entries <= CRYPTO_KEY_CACHE_ENTRIES_MAX);
}

/* Frees under the lock: a point in the cache is used only under its lock,
 * and a clear is rare (benchmarks, tests). */
void crypto_key_cache_clear(void) {
    cache_ensure();
    for (size_t l = 0; l < CACHE_LOCK_COUNT; l++) {
        PBFT_ASSERT(pthread_mutex_lock(&cache_locks[l].mutex) == 0);
        for (size_t i = l; i < CACHE_SET_COUNT; i += CACHE_LOCK_COUNT) {
            for (size_t w = 0; w < CACHE_WAYS; w++) {
                cache_entry_t *e = &cache_sets[i].ways[w];
                if (e->point == NULL) continue;
                EC_POINT_free(e->point);
                e->point = NULL;
                atomic_fetch_sub_explicit(&cache_entries, 1, memory_order_relaxed);
            }
            cache_sets[i].victim = 0;
        }
        PBFT_ASSERT(pthread_mutex_unlock(&cache_locks[l].mutex) == 0);
    }
}
