/*
 * tests/unit/node_verify_test.c — the verify pool and its cache: valid txs
 * pass and are cached, bad signatures fail, the cache is keyed by id AND
 * signature (a second signature on the same tx id is verified on its own),
 * a batch larger than one work item is answered in full, and a batch that
 * skips the lookup verifies even cached txs and still caches them.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../node/verify.h"
#include "pbft/codec.h"
#include "pbft/crypto.h"

static const uint8_t chain_id[PBFT_CHAIN_ID_SIZE] = {7, 7, 7};

static void make_tx(crypto_key_t *key, uint64_t nonce, pbft_tx_t *tx, uint8_t id[PBFT_HASH_SIZE]) {
    memset(tx, 0, sizeof *tx);
    crypto_key_public(key, tx->sender_pubkey);
    memset(tx->recipient, 0xab, sizeof tx->recipient);
    tx->amount = 5;
    tx->nonce = nonce;
    assert_int_equal(codec_tx_sign(tx, key, chain_id), PBFT_OK);
    codec_tx_id(tx, id);
}

static void test_valid_tx_passes_and_is_cached(void **state) {
    (void)state;
    crypto_key_t *key = crypto_key_generate();
    verify_pool_t *pool = verify_pool_new(2, chain_id);
    pbft_tx_t tx;
    uint8_t ids[1][PBFT_HASH_SIZE];
    make_tx(key, 0, &tx, ids[0]);
    assert_false(verify_cache_contains(pool, &tx, ids[0]));
    pbft_status_t result = PBFT_ERR_INTERNAL;
    verify_batch_run(pool, &tx, (const uint8_t(*)[PBFT_HASH_SIZE])ids, 1, &result);
    assert_int_equal(result, PBFT_OK);
    assert_true(verify_cache_contains(pool, &tx, ids[0]));
    assert_int_equal(verify_pool_verified_total(pool), 1);
    verify_batch_run(pool, &tx, (const uint8_t(*)[PBFT_HASH_SIZE])ids, 1, &result);
    assert_int_equal(result, PBFT_OK);
    assert_int_equal(verify_pool_verified_total(pool), 1); /* answered from the cache */
    assert_int_equal(verify_pool_cache_hits(pool), 1);
    verify_pool_free(pool);
    crypto_key_free(key);
}

static void test_cache_is_keyed_by_signature_too(void **state) {
    (void)state;
    crypto_key_t *key = crypto_key_generate();
    verify_pool_t *pool = verify_pool_new(1, chain_id);
    pbft_tx_t tx;
    uint8_t ids[1][PBFT_HASH_SIZE];
    make_tx(key, 1, &tx, ids[0]);
    pbft_status_t result;
    verify_batch_run(pool, &tx, (const uint8_t(*)[PBFT_HASH_SIZE])ids, 1, &result);
    assert_int_equal(result, PBFT_OK);
    pbft_tx_t forged = tx;
    forged.signature[10] ^= 1; /* same id: the id does not cover the signature */
    uint8_t forged_id[PBFT_HASH_SIZE];
    codec_tx_id(&forged, forged_id);
    assert_memory_equal(forged_id, ids[0], PBFT_HASH_SIZE);
    assert_false(verify_cache_contains(pool, &forged, ids[0]));
    verify_batch_run(pool, &forged, (const uint8_t(*)[PBFT_HASH_SIZE])ids, 1, &result);
    assert_int_not_equal(result, PBFT_OK);
    assert_false(verify_cache_contains(pool, &forged, ids[0]));
    verify_pool_free(pool);
    crypto_key_free(key);
}

static void test_wrong_chain_fails(void **state) {
    (void)state;
    crypto_key_t *key = crypto_key_generate();
    uint8_t other_chain[PBFT_CHAIN_ID_SIZE] = {9};
    verify_pool_t *pool = verify_pool_new(1, other_chain);
    pbft_tx_t tx;
    uint8_t ids[1][PBFT_HASH_SIZE];
    make_tx(key, 2, &tx, ids[0]);
    pbft_status_t result;
    verify_batch_run(pool, &tx, (const uint8_t(*)[PBFT_HASH_SIZE])ids, 1, &result);
    assert_int_equal(result, PBFT_ERR_BAD_SIGNATURE);
    verify_pool_free(pool);
    crypto_key_free(key);
}

#define BATCH 100 /* several work items */

typedef struct done_flag {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    bool done;
} done_flag_t;

static void flag_done(void *ctx) {
    done_flag_t *f = ctx;
    pthread_mutex_lock(&f->mutex);
    f->done = true;
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->mutex);
}

/* Submits one batch and waits for its done callback. */
static void submit_and_wait(verify_pool_t *pool, const pbft_tx_t *txs,
                            const uint8_t (*ids)[PBFT_HASH_SIZE], size_t count,
                            pbft_status_t *results, bool skip_lookup) {
    done_flag_t f = {.mutex = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    verify_batch_t batch = {.txs = txs,
                            .ids = ids,
                            .count = count,
                            .results = results,
                            .done = flag_done,
                            .done_ctx = &f,
                            .skip_lookup = skip_lookup};
    verify_batch_submit(pool, &batch);
    pthread_mutex_lock(&f.mutex);
    while (!f.done)
        pthread_cond_wait(&f.cond, &f.mutex);
    pthread_mutex_unlock(&f.mutex);
}

static void test_skip_lookup_verifies_and_caches(void **state) {
    (void)state;
    crypto_key_t *key = crypto_key_generate();
    verify_pool_t *pool = verify_pool_new(2, chain_id);
    pbft_tx_t txs[2];
    uint8_t ids[2][PBFT_HASH_SIZE];
    pbft_status_t results[2] = {PBFT_ERR_INTERNAL, PBFT_ERR_INTERNAL};
    make_tx(key, 0, &txs[0], ids[0]);
    make_tx(key, 1, &txs[1], ids[1]);
    txs[1].signature[40] ^= 0x80;
    submit_and_wait(pool, txs, (const uint8_t(*)[PBFT_HASH_SIZE])ids, 2, results, true);
    assert_int_equal(results[0], PBFT_OK);
    assert_int_not_equal(results[1], PBFT_OK);
    assert_int_equal(verify_pool_verified_total(pool), 2);
    assert_true(verify_cache_contains(pool, &txs[0], ids[0]));
    assert_false(verify_cache_contains(pool, &txs[1], ids[1]));
    /* Cached now, but this batch does not look: verified again. */
    submit_and_wait(pool, txs, (const uint8_t(*)[PBFT_HASH_SIZE])ids, 1, results, true);
    assert_int_equal(results[0], PBFT_OK);
    assert_int_equal(verify_pool_verified_total(pool), 3);
    assert_int_equal(verify_pool_cache_hits(pool), 0);
    /* A batch that looks is answered from the cache. */
    submit_and_wait(pool, txs, (const uint8_t(*)[PBFT_HASH_SIZE])ids, 1, results, false);
    assert_int_equal(results[0], PBFT_OK);
    assert_int_equal(verify_pool_verified_total(pool), 3);
    assert_int_equal(verify_pool_cache_hits(pool), 1);
    verify_pool_free(pool);
    crypto_key_free(key);
}

static void test_large_mixed_batch_gets_every_answer(void **state) {
    (void)state;
    crypto_key_t *key = crypto_key_generate();
    verify_pool_t *pool = verify_pool_new(3, chain_id);
    pbft_tx_t *txs = calloc(BATCH, sizeof *txs);
    uint8_t(*ids)[PBFT_HASH_SIZE] = calloc(BATCH, PBFT_HASH_SIZE);
    pbft_status_t results[BATCH];
    for (int i = 0; i < BATCH; i++) {
        make_tx(key, (uint64_t)i, &txs[i], ids[i]);
        if (i % 7 == 3) txs[i].signature[40] ^= 0x80;
        results[i] = PBFT_ERR_INTERNAL;
    }
    verify_batch_run(pool, txs, (const uint8_t(*)[PBFT_HASH_SIZE])ids, BATCH, results);
    for (int i = 0; i < BATCH; i++) {
        if (i % 7 == 3) {
            assert_int_not_equal(results[i], PBFT_OK);
        } else {
            assert_int_equal(results[i], PBFT_OK);
        }
    }
    assert_int_equal(verify_pool_queue_depth(pool), 0);
    free(txs);
    free(ids);
    verify_pool_free(pool);
    crypto_key_free(key);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_tx_passes_and_is_cached),
        cmocka_unit_test(test_cache_is_keyed_by_signature_too),
        cmocka_unit_test(test_wrong_chain_fails),
        cmocka_unit_test(test_large_mixed_batch_gets_every_answer),
        cmocka_unit_test(test_skip_lookup_verifies_and_caches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
