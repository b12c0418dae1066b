/*
 * tests/unit/crypto_cache_test.c — the decoded-key cache under pressure: many
 * more distinct keys than a set holds, inserted from two threads while a
 * third keeps verifying, so eviction runs concurrently with hits. The cache
 * must stay within CRYPTO_KEY_CACHE_ENTRIES_MAX, never cache an invalid key,
 * and never change an answer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "pbft/crypto.h"

enum { FILL_THREADS = 2, FILL_VALID_PER_THREAD = 12000 };

typedef struct fill_arg {
    int id;
    int valid;
    int invalid;
    int wrong; /* a key answered differently the second time */
} fill_arg_t;

static atomic_bool fill_done;

/* Random x: about half are the x of a curve point. */
static void *fill_thread(void *p) {
    fill_arg_t *arg = p;
    uint32_t counter = 0;
    while (arg->valid < FILL_VALID_PER_THREAD) {
        uint8_t seed[8], pub[PBFT_PUBKEY_SIZE];
        memcpy(seed, &arg->id, 4);
        memcpy(seed + 4, &counter, 4);
        counter++;
        pub[0] = 0x02;
        crypto_sha256(seed, sizeof(seed), pub + 1);
        bool valid = crypto_pubkey_valid(pub);
        valid ? arg->valid++ : arg->invalid++;
        /* Asked again (a hit when valid, a fresh decode when not). */
        if (crypto_pubkey_valid(pub) != valid) arg->wrong++;
    }
    return NULL;
}

typedef struct check_arg {
    uint8_t pub[PBFT_PUBKEY_SIZE];
    uint8_t digest[PBFT_HASH_SIZE];
    uint8_t sig[PBFT_SIGNATURE_SIZE];
    int rounds;
    int wrong;
} check_arg_t;

static void *check_thread(void *p) {
    check_arg_t *arg = p;
    while (!atomic_load(&fill_done) || arg->rounds < 10) {
        if (crypto_verify_digest(arg->pub, arg->digest, arg->sig) != PBFT_OK) arg->wrong++;
        uint8_t other[PBFT_PUBKEY_SIZE];
        memcpy(other, arg->pub, sizeof(other));
        other[0] ^= 1; /* the other point with this x: valid key, wrong signer */
        if (crypto_verify_digest(other, arg->digest, arg->sig) != PBFT_ERR_BAD_SIGNATURE) {
            arg->wrong++;
        }
        arg->rounds++;
    }
    return NULL;
}

static void test_cache_evicts_within_bound_under_concurrency(void **state) {
    (void)state;
    crypto_key_cache_clear();
    crypto_key_cache_stats_t before;
    crypto_key_cache_stats(&before);
    assert_int_equal(before.entries, 0);

    crypto_key_t *key = crypto_key_generate();
    assert_non_null(key);
    check_arg_t check = {0};
    crypto_key_public(key, check.pub);
    crypto_sha256("evict", 5, check.digest);
    assert_int_equal(crypto_sign_digest(key, check.digest, check.sig), PBFT_OK);
    crypto_key_free(key);

    atomic_store(&fill_done, false);
    pthread_t checker, fillers[FILL_THREADS];
    fill_arg_t args[FILL_THREADS];
    assert_int_equal(pthread_create(&checker, NULL, check_thread, &check), 0);
    for (int t = 0; t < FILL_THREADS; t++) {
        args[t] = (fill_arg_t){.id = t};
        assert_int_equal(pthread_create(&fillers[t], NULL, fill_thread, &args[t]), 0);
    }
    int valid = 0;
    int invalid = 0;
    for (int t = 0; t < FILL_THREADS; t++) {
        assert_int_equal(pthread_join(fillers[t], NULL), 0);
        assert_int_equal(args[t].wrong, 0);
        valid += args[t].valid;
        invalid += args[t].invalid;
    }
    atomic_store(&fill_done, true);
    assert_int_equal(pthread_join(checker, NULL), 0);
    assert_int_equal(check.wrong, 0);
    assert_true(check.rounds >= 10);

    crypto_key_cache_stats_t after;
    crypto_key_cache_stats(&after);
    print_message("valid %d invalid %d entries %llu hits %llu misses %llu\n", valid, invalid,
                  (unsigned long long)after.entries, (unsigned long long)(after.hits - before.hits),
                  (unsigned long long)(after.misses - before.misses));
    /* Roughly half of random x values are on the curve. */
    assert_true(invalid > valid / 2 && invalid < valid * 2);
    assert_true(after.entries <= CRYPTO_KEY_CACHE_ENTRIES_MAX);
    /* 24,000 keys in 8192 sets of 8 overflow some (~30 expected, none with
     * probability ~e^-30): eviction happened, and
     * invalid keys (two lookups each, both misses) were never inserted. */
    assert_true(after.entries < (uint64_t)valid + 2);
    assert_true(after.entries > (uint64_t)valid / 2);
    assert_true(after.misses - before.misses >= (uint64_t)(valid + 2 * invalid));

    crypto_key_cache_clear();
    crypto_key_cache_stats(&after);
    assert_int_equal(after.entries, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_evicts_within_bound_under_concurrency),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
