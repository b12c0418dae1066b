/*
 * tests/bench/crypto_bench.c — throughput of the crypto module.
 *
 *   crypto_bench [--quick]
 *
 * Prints sign/s and verify/s on 1 thread and on all cores, verification with
 * the decoded-key cache warm and cold, and — in the same run, on the same
 * machine state — OpenSSL's own ECDSA_do_verify on a pre-decoded EC_KEY, so
 * the overhead of our layer is the ratio in the last rows. Also SHA-256 of a
 * transaction-sized input and a full-block Merkle root. About 2 s per figure
 * (0.3 s with --quick). Benchmarks print figures; they never fail on speed.
 *
 * This file includes OpenSSL directly only to measure the baseline.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/obj_mac.h>
#include <openssl/opensslv.h>

#include "pbft/crypto.h"

#define BENCH_THREADS_MAX 64
#define WARM_KEY_COUNT 64
#define COLD_KEY_COUNT 512 /* per thread; the cache is cleared after each pass */

typedef enum bench_op {
    OP_SIGN,
    OP_VERIFY_WARM,
    OP_VERIFY_COLD,
    OP_VERIFY_OPENSSL,
    OP_SHA256_TX,
    OP_MERKLE_BLOCK,
} bench_op_t;

typedef struct signed_item {
    uint8_t pub[PBFT_PUBKEY_SIZE];
    uint8_t digest[PBFT_HASH_SIZE];
    uint8_t sig[PBFT_SIGNATURE_SIZE];
    EC_KEY *ec;           /* pre-decoded, for the OpenSSL baseline */
    ECDSA_SIG *ecdsa_sig; /* pre-built, for the OpenSSL baseline */
} signed_item_t;

typedef struct bench_fixture {
    crypto_key_t *sign_key;
    signed_item_t warm[WARM_KEY_COUNT];
    signed_item_t *cold[BENCH_THREADS_MAX]; /* COLD_KEY_COUNT per thread */
    uint8_t (*leaves)[PBFT_HASH_SIZE];      /* PBFT_BLOCK_TX_COUNT_MAX */
} bench_fixture_t;

typedef struct bench_thread {
    pthread_t thread;
    const bench_fixture_t *fixture;
    bench_op_t op;
    int id;
    uint64_t ops;
    uint64_t errors;
} bench_thread_t;

static atomic_bool bench_stop;
static atomic_int bench_ready;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
    fprintf(stderr, "crypto_bench: %s\n", what);
    exit(1);
}

static void make_item(signed_item_t *item, uint32_t seed) {
    crypto_key_t *key = crypto_key_generate();
    if (key == NULL) die("key generation failed");
    crypto_key_public(key, item->pub);
    crypto_sha256(&seed, sizeof(seed), item->digest);
    if (crypto_sign_digest(key, item->digest, item->sig) != PBFT_OK) die("sign failed");
    crypto_key_free(key);

    EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    item->ec = EC_KEY_new();
    if (group == NULL || item->ec == NULL || EC_KEY_set_group(item->ec, group) != 1 ||
        EC_KEY_oct2key(item->ec, item->pub, PBFT_PUBKEY_SIZE, NULL) != 1) {
        die("OpenSSL key decode failed");
    }
    EC_GROUP_free(group);
    item->ecdsa_sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(item->sig, 32, NULL);
    BIGNUM *s = BN_bin2bn(item->sig + 32, 32, NULL);
    if (item->ecdsa_sig == NULL || r == NULL || s == NULL ||
        ECDSA_SIG_set0(item->ecdsa_sig, r, s) != 1) {
        die("OpenSSL signature setup failed");
    }
}

static void free_item(signed_item_t *item) {
    EC_KEY_free(item->ec);
    ECDSA_SIG_free(item->ecdsa_sig);
}

/* One operation; returns false when its answer was wrong. */
static bool bench_step(bench_thread_t *t, uint64_t i) {
    const bench_fixture_t *f = t->fixture;
    switch (t->op) {
        case OP_SIGN: {
            uint8_t digest[PBFT_HASH_SIZE], sig[PBFT_SIGNATURE_SIZE];
            memcpy(digest, f->warm[0].digest, sizeof(digest));
            memcpy(digest, &i, sizeof(i));
            return crypto_sign_digest(f->sign_key, digest, sig) == PBFT_OK;
        }
        case OP_VERIFY_WARM: {
            const signed_item_t *it = &f->warm[(i + (uint64_t)t->id * 7) % WARM_KEY_COUNT];
            return crypto_verify_digest(it->pub, it->digest, it->sig) == PBFT_OK;
        }
        case OP_VERIFY_COLD: {
            const signed_item_t *it = &f->cold[t->id][i % COLD_KEY_COUNT];
            if (i % COLD_KEY_COUNT == COLD_KEY_COUNT - 1) crypto_key_cache_clear();
            return crypto_verify_digest(it->pub, it->digest, it->sig) == PBFT_OK;
        }
        case OP_VERIFY_OPENSSL: {
            const signed_item_t *it = &f->warm[(i + (uint64_t)t->id * 7) % WARM_KEY_COUNT];
            return ECDSA_do_verify(it->digest, PBFT_HASH_SIZE, it->ecdsa_sig, it->ec) == 1;
        }
        case OP_SHA256_TX: {
            uint8_t tx[PBFT_TX_SIZE_MIN + 64] = {0};
            uint8_t h[PBFT_HASH_SIZE];
            memcpy(tx, &i, sizeof(i));
            crypto_sha256(tx, sizeof(tx), h);
            return h[0] != 0 || h[1] != 0 || h[2] != 0 || h[3] != 0;
        }
        case OP_MERKLE_BLOCK: {
            uint8_t root[PBFT_HASH_SIZE];
            crypto_merkle_root((const uint8_t(*)[PBFT_HASH_SIZE])f->leaves, PBFT_BLOCK_TX_COUNT_MAX,
                               root);
            return true;
        }
    }
    return false;
}

static void *bench_thread_main(void *arg) {
    bench_thread_t *t = arg;
    atomic_fetch_add(&bench_ready, 1);
    uint64_t i = 0;
    while (!atomic_load_explicit(&bench_stop, memory_order_relaxed)) {
        if (!bench_step(t, i)) t->errors++;
        i++;
    }
    t->ops = i;
    return NULL;
}

typedef struct bench_total {
    uint64_t ops;
    double elapsed_s;
} bench_total_t;

/* Runs op on thread_count threads for seconds; adds to total. */
static void bench_run(bench_total_t *total, const bench_fixture_t *f, bench_op_t op,
                      int thread_count, double seconds) {
    bench_thread_t threads[BENCH_THREADS_MAX];
    atomic_store(&bench_stop, false);
    atomic_store(&bench_ready, 0);
    for (int i = 0; i < thread_count; i++) {
        threads[i] = (bench_thread_t){.fixture = f, .op = op, .id = i};
        if (pthread_create(&threads[i].thread, NULL, bench_thread_main, &threads[i]) != 0) {
            die("pthread_create failed");
        }
    }
    while (atomic_load(&bench_ready) < thread_count)
        sched_yield();
    double start = now_s();
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
    atomic_store(&bench_stop, true);
    uint64_t ops = 0, errors = 0;
    for (int i = 0; i < thread_count; i++) {
        pthread_join(threads[i].thread, NULL);
        ops += threads[i].ops;
        errors += threads[i].errors;
    }
    double elapsed = now_s() - start;
    if (errors != 0) {
        fprintf(stderr, "crypto_bench: %llu wrong answers in op %d\n", (unsigned long long)errors,
                (int)op);
        exit(1);
    }
    total->ops += ops;
    total->elapsed_s += elapsed;
}

static double rate(const bench_total_t *t) {
    return t->elapsed_s > 0 ? (double)t->ops / t->elapsed_s : 0.0;
}

static void warm_cache(const bench_fixture_t *f) {
    for (int i = 0; i < WARM_KEY_COUNT; i++) {
        if (crypto_verify_digest(f->warm[i].pub, f->warm[i].digest, f->warm[i].sig) != PBFT_OK) {
            die("warm-up verification failed");
        }
    }
}

static void fixture_init(bench_fixture_t *f, int thread_count) {
    memset(f, 0, sizeof(*f));
    f->sign_key = crypto_key_generate();
    if (f->sign_key == NULL) die("key generation failed");
    for (int i = 0; i < WARM_KEY_COUNT; i++)
        make_item(&f->warm[i], (uint32_t)i);
    for (int t = 0; t < thread_count; t++) {
        f->cold[t] = pbft_xcalloc(COLD_KEY_COUNT, sizeof(signed_item_t));
        for (int i = 0; i < COLD_KEY_COUNT; i++) {
            make_item(&f->cold[t][i], (uint32_t)(1000000 * (t + 1) + i));
        }
    }
    f->leaves = pbft_xmalloc((size_t)PBFT_BLOCK_TX_COUNT_MAX * PBFT_HASH_SIZE);
    for (uint32_t i = 0; i < PBFT_BLOCK_TX_COUNT_MAX; i++)
        crypto_sha256(&i, 4, f->leaves[i]);
}

static void fixture_free(bench_fixture_t *f, int thread_count) {
    crypto_key_free(f->sign_key);
    for (int i = 0; i < WARM_KEY_COUNT; i++)
        free_item(&f->warm[i]);
    for (int t = 0; t < thread_count; t++) {
        for (int i = 0; i < COLD_KEY_COUNT; i++)
            free_item(&f->cold[t][i]);
        free(f->cold[t]);
    }
    free(f->leaves);
}

static void print_row(const char *name, double one, double all, const char *unit) {
    printf("%-40s %14.0f %14.0f  %s\n", name, one, all, unit);
}

int main(int argc, char **argv) {
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    double seconds = quick ? 0.3 : 2.0;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = (int)PBFT_MAX(1, PBFT_MIN(cores, BENCH_THREADS_MAX));

    bench_fixture_t *f = pbft_xcalloc(1, sizeof(*f));
    fixture_init(f, threads);

    static const struct {
        bench_op_t op;
        const char *name;
        const char *unit;
    } rows[] = {
        {OP_SIGN, "crypto_sign_digest (low-S)", "sign/s"},
        {OP_VERIFY_WARM, "crypto_verify_digest, key cache warm", "verify/s"},
        {OP_VERIFY_COLD, "crypto_verify_digest, key cache cold", "verify/s"},
        {OP_VERIFY_OPENSSL, "OpenSSL ECDSA_do_verify, decoded key", "verify/s"},
        {OP_SHA256_TX, "crypto_sha256, 200-byte tx", "hash/s"},
        {OP_MERKLE_BLOCK, "crypto_merkle_root, 2048 leaves", "root/s"},
    };
    /*
     * The figures are taken in interleaved slices (every row, 1 thread then
     * all threads, SLICES rounds), so load from other processes that comes
     * and goes during the run falls on every row alike and the ratios stay
     * meaningful on a shared machine.
     */
    int slices = quick ? 3 : 5;
    double slice_s = seconds / slices;
    bench_total_t one_t[PBFT_ARRAY_COUNT(rows)] = {0}, all_t[PBFT_ARRAY_COUNT(rows)] = {0};
    uint64_t warm_hits = 0, warm_lookups = 0;
    for (int round = 0; round < slices; round++) {
        for (size_t r = 0; r < PBFT_ARRAY_COUNT(rows); r++) {
            crypto_key_cache_stats_t before, after;
            if (rows[r].op == OP_VERIFY_WARM) warm_cache(f);
            crypto_key_cache_stats(&before);
            bench_run(&one_t[r], f, rows[r].op, 1, slice_s);
            bench_run(&all_t[r], f, rows[r].op, threads, slice_s);
            crypto_key_cache_stats(&after);
            if (rows[r].op == OP_VERIFY_WARM) {
                warm_hits += after.hits - before.hits;
                warm_lookups += (after.hits - before.hits) + (after.misses - before.misses);
            }
        }
    }
    double one[PBFT_ARRAY_COUNT(rows)], all[PBFT_ARRAY_COUNT(rows)];
    for (size_t r = 0; r < PBFT_ARRAY_COUNT(rows); r++) {
        one[r] = rate(&one_t[r]);
        all[r] = rate(&all_t[r]);
    }

    printf("crypto bench: ECDSA P-256 / SHA-256, %s, %ld cores, %.1f s per figure%s\n",
           OPENSSL_VERSION_TEXT, cores, seconds, quick ? " (--quick)" : "");
    printf("%-40s %14s %14s\n", "operation", "1 thread", "threads");
    printf("%-40s %14s %14d\n", "", "", threads);
    for (size_t r = 0; r < PBFT_ARRAY_COUNT(rows); r++) {
        print_row(rows[r].name, one[r], all[r], rows[r].unit);
    }
    printf("%-40s %14.3f %14.3f\n", "ratio warm-cache verify / raw OpenSSL", one[1] / one[3],
           all[1] / all[3]);
    printf("%-40s %14.3f %14.3f\n", "ratio cold-cache verify / raw OpenSSL", one[2] / one[3],
           all[2] / all[3]);
    printf("%-40s %14.1f %14s\n", "cost of a cache miss (decode), us", 1e6 / one[2] - 1e6 / one[1],
           "");
    printf("warm runs: key cache hit rate %.4f over %llu lookups; %d interleaved slices per "
           "figure\n",
           warm_lookups ? (double)warm_hits / (double)warm_lookups : 0.0,
           (unsigned long long)warm_lookups, slices);
    fixture_free(f, threads);
    free(f);
    return 0;
}
