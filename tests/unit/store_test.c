/*
 * tests/unit/store_test.c — the RocksDB store: creation from genesis, commit
 * and read-back after reopen, receipts that verify against genesis alone,
 * account history, checkpoints, safety state, chain mismatch, a second
 * writer, and a read-only secondary following a live writer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <rocksdb/c.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "store_fixture.h"

#define USERS 6

typedef struct ctx {
    fixture_t f;
    store_t *s;
    ledger_memstate_t *model; /* replay of every committed block */
} ctx_t;

static int setup(void **state) {
    ctx_t *c = pbft_xcalloc(1, sizeof *c);
    if (!fixture_init(&c->f, USERS, "store-test")) return -1;
    char err[256] = "";
    if (store_open(c->f.data_dir, &c->f.genesis, STORE_READ_WRITE, &c->s, err, sizeof err) !=
        PBFT_OK) {
        fprintf(stderr, "store_open: %s\n", err);
        return -1;
    }
    c->model = ledger_memstate_new(&c->f.genesis);
    *state = c;
    return 0;
}

static int teardown(void **state) {
    ctx_t *c = *state;
    store_close(c->s);
    ledger_memstate_free(c->model);
    fixture_free(&c->f);
    free(c);
    return 0;
}

static void commit(ctx_t *c, const pbft_tx_t *txs, uint32_t n, ledger_block_result_t *out) {
    ledger_block_result_t r;
    assert_int_equal(fixture_commit(&c->f, c->s, txs, n, &r), PBFT_OK);
    ledger_memstate_apply(c->model, &r);
    if (out)
        *out = r;
    else
        ledger_block_result_free(&r);
}

static void reopen(ctx_t *c) {
    store_close(c->s);
    char err[256] = "";
    pbft_status_t st =
        store_open(c->f.data_dir, &c->f.genesis, STORE_READ_WRITE, &c->s, err, sizeof err);
    if (st != PBFT_OK) fail_msg("reopen: %s", err);
}

/* Every account the model knows reads the same from the store. */
static void assert_accounts_match_model(ctx_t *c, const uint8_t (*addrs)[PBFT_ADDRESS_SIZE],
                                        size_t n) {
    for (size_t i = 0; i < n; i++) {
        pbft_account_t want, got;
        bool exists = false;
        bool want_exists = ledger_memstate_get(c->model, addrs[i], &want);
        assert_int_equal(store_get_account(c->s, addrs[i], &got, &exists), PBFT_OK);
        assert_int_equal(exists, want_exists);
        assert_true(got.balance == want.balance);
        assert_true(got.nonce == want.nonce);
    }
}

static void test_open_creates_the_store_from_genesis(void **state) {
    ctx_t *c = *state;
    store_tip_t tip;
    store_get_tip(c->s, &tip);
    assert_true(tip.height == 0 && tip.tx_count_total == 0);
    assert_memory_equal(tip.block_hash, c->f.genesis.block_hash, 32);
    assert_memory_equal(tip.state_hash, c->f.genesis.state_hash, 32);
    pbft_block_t b0;
    assert_int_equal(store_get_block(c->s, 0, &b0), PBFT_OK);
    assert_memory_equal(&b0.header, &c->f.genesis.header, sizeof b0.header);
    assert_int_equal(b0.header.tx_count, 0);
    codec_block_free(&b0);
    pbft_commit_cert_t cert;
    assert_int_equal(store_get_commit_cert(c->s, 0, &cert), PBFT_ERR_NOT_FOUND);
    uint8_t h[32];
    assert_int_equal(store_get_state_hash(c->s, 0, h), PBFT_OK);
    assert_memory_equal(h, c->f.genesis.state_hash, 32);
    assert_int_equal(store_get_block(c->s, 1, &b0), PBFT_ERR_NOT_FOUND);
    assert_accounts_match_model(c, (const uint8_t(*)[20])c->f.user_addr, USERS);
    uint8_t unknown[20] = {0xde, 0xad};
    pbft_account_t a;
    bool exists = true;
    assert_int_equal(store_get_account(c->s, unknown, &a, &exists), PBFT_OK);
    assert_false(exists);
    assert_true(a.balance == 0 && a.nonce == 0);
    assert_int_equal(store_verify_block(c->s, 0, NULL, 0), PBFT_OK);
}

/* A few blocks of real signed transfers, some failing. */
static void commit_sample_chain(ctx_t *c, pbft_tx_t *all_txs, size_t *all_count) {
    uint8_t fresh[20];
    memset(fresh, 0x77, sizeof fresh);
    size_t k = 0;
    pbft_tx_t b1[] = {fixture_tx(&c->f, 0, c->f.user_addr[1], 100, 0),
                      fixture_tx(&c->f, 0, c->f.user_addr[2], 50, 1),
                      fixture_tx(&c->f, 1, fresh, 7, 0),
                      fixture_tx(&c->f, 2, c->f.user_addr[0], 1, 5)}; /* bad nonce */
    commit(c, b1, 4, NULL);
    memcpy(all_txs + k, b1, sizeof b1);
    k += 4;
    commit(c, NULL, 0, NULL); /* an empty block */
    pbft_tx_t b3[3];
    b3[0] = fixture_tx(&c->f, 3, c->f.user_addr[0], FIXTURE_BALANCE + 1, 0); /* insufficient */
    b3[1] = fixture_tx(&c->f, 0, c->f.user_addr[0], 10, 2);                  /* self */
    b3[2] = fixture_tx(&c->f, 1, c->f.user_addr[0], 3, 1);
    ledger_block_result_t r;
    commit(c, b3, 3, &r);
    assert_int_equal(r.tx_results[0], PBFT_TX_INSUFFICIENT_FUNDS);
    assert_int_equal(r.tx_results[1], PBFT_TX_OK);
    ledger_block_result_free(&r);
    memcpy(all_txs + k, b3, sizeof b3);
    k += 3;
    *all_count = k;
}

static void test_commit_reopen_and_read_back_everything(void **state) {
    ctx_t *c = *state;
    pbft_tx_t txs[16];
    size_t n = 0;
    commit_sample_chain(c, txs, &n);
    store_tip_t before;
    store_get_tip(c->s, &before);
    assert_true(before.height == 3 && before.tx_count_total == 7);
    reopen(c);
    store_tip_t after;
    store_get_tip(c->s, &after);
    assert_memory_equal(&after, &before, sizeof after);

    /* blocks link, certify and carry their results and state hashes */
    uint8_t prev_state[32];
    memcpy(prev_state, c->f.genesis.state_hash, 32);
    for (uint64_t h = 1; h <= 3; h++) {
        char err[256] = "";
        if (store_verify_block(c->s, h, err, sizeof err) != PBFT_OK) fail_msg("%s", err);
        pbft_block_t b;
        assert_int_equal(store_get_block(c->s, h, &b), PBFT_OK);
        uint8_t *raw = NULL;
        size_t raw_size = 0;
        assert_int_equal(store_get_block_raw(c->s, h, &raw, &raw_size), PBFT_OK);
        assert_int_equal(raw_size, codec_block_size(&b));
        uint8_t *re = malloc(raw_size);
        assert_int_equal(codec_block_encode(&b, re, raw_size), raw_size);
        assert_memory_equal(re, raw, raw_size);
        free(re);
        free(raw);
        pbft_block_header_t hdr;
        assert_int_equal(store_get_header(c->s, h, &hdr), PBFT_OK);
        assert_memory_equal(&hdr, &b.header, sizeof hdr);
        pbft_commit_cert_t cert;
        assert_int_equal(store_get_commit_cert(c->s, h, &cert), PBFT_OK);
        assert_int_equal(
            cert_check_block(&c->f.genesis.validators, c->f.genesis.chain_id, &b.header, &cert),
            PBFT_OK);
        uint8_t *results = NULL;
        uint32_t count = 0;
        assert_int_equal(store_get_block_results(c->s, h, &results, &count), PBFT_OK);
        assert_int_equal(count, b.header.tx_count);
        /* re-execution from the previous state hash gives the stored hash:
         * only valid against the state before h, so check the chain link */
        uint8_t sh[32];
        assert_int_equal(store_get_state_hash(c->s, h, sh), PBFT_OK);
        assert_memory_not_equal(sh, prev_state, 32);
        memcpy(prev_state, sh, 32);
        free(results);
        codec_block_free(&b);
    }
    assert_memory_equal(prev_state, after.state_hash, 32);
    uint8_t addrs[USERS + 1][20];
    memcpy(addrs, c->f.user_addr, sizeof(uint8_t[USERS][20]));
    memset(addrs[USERS], 0x77, 20);
    assert_accounts_match_model(c, (const uint8_t(*)[20])addrs, USERS + 1);

    /* tx locations and results */
    uint8_t results_expect[] = {
        PBFT_TX_OK, PBFT_TX_OK, PBFT_TX_OK, PBFT_TX_BAD_NONCE, PBFT_TX_INSUFFICIENT_FUNDS,
        PBFT_TX_OK, PBFT_TX_OK};
    for (size_t i = 0; i < n; i++) {
        uint8_t id[32];
        codec_tx_id(&txs[i], id);
        store_tx_location_t loc;
        assert_int_equal(store_get_tx_location(c->s, id, &loc), PBFT_OK);
        assert_true(loc.height == (i < 4 ? 1 : 3));
        assert_int_equal(loc.index, i < 4 ? i : i - 4);
        assert_int_equal(loc.result, results_expect[i]);
    }
    uint8_t unknown[32] = {1};
    store_tx_location_t loc;
    assert_int_equal(store_get_tx_location(c->s, unknown, &loc), PBFT_ERR_NOT_FOUND);
}

static void test_receipts_verify_against_genesis_alone(void **state) {
    ctx_t *c = *state;
    /* one big block so proofs have depth */
    enum { N = 37 };
    pbft_tx_t txs[N];
    for (uint32_t i = 0; i < N; i++)
        txs[i] = fixture_tx(&c->f, i % USERS, c->f.user_addr[(i + 1) % USERS], i, i / USERS);
    commit(c, txs, N, NULL);
    for (uint32_t i = 0; i < N; i++) {
        uint8_t id[32];
        codec_tx_id(&txs[i], id);
        store_receipt_t r;
        assert_int_equal(store_get_receipt(c->s, id, &r), PBFT_OK);
        assert_int_equal(r.location.index, i);
        assert_int_equal(r.location.result, PBFT_TX_OK);
        uint8_t rid[32];
        codec_tx_id(&r.tx, rid);
        assert_memory_equal(rid, id, 32);
        assert_int_equal(codec_tx_verify(&r.tx, c->f.genesis.chain_id), PBFT_OK);
        assert_int_equal(r.proof.leaf_index, i);
        assert_int_equal(r.proof.leaf_count, N);
        assert_int_equal(crypto_merkle_verify(id, &r.proof, r.header.tx_root), PBFT_OK);
        assert_int_equal(
            cert_check_block(&c->f.genesis.validators, c->f.genesis.chain_id, &r.header, &r.cert),
            PBFT_OK);
        /* a proof for one tx does not prove another */
        uint8_t other[32];
        codec_tx_id(&txs[(i + 1) % N], other);
        assert_int_not_equal(crypto_merkle_verify(other, &r.proof, r.header.tx_root), PBFT_OK);
    }
}

static void test_a_replayed_tx_keeps_its_first_receipt(void **state) {
    ctx_t *c = *state;
    pbft_tx_t tx = fixture_tx(&c->f, 2, c->f.user_addr[3], 5, 0);
    commit(c, &tx, 1, NULL);
    pbft_tx_t twice[2] = {tx, tx};
    ledger_block_result_t r;
    commit(c, twice, 2, &r); /* a Byzantine primary re-proposes it */
    assert_int_equal(r.tx_results[0], PBFT_TX_BAD_NONCE);
    ledger_block_result_free(&r);
    uint8_t id[32];
    codec_tx_id(&tx, id);
    store_tx_location_t loc;
    assert_int_equal(store_get_tx_location(c->s, id, &loc), PBFT_OK);
    assert_true(loc.height == 1 && loc.index == 0 && loc.result == PBFT_TX_OK);
}

static void test_a_tx_included_early_then_in_time_is_indexed_at_its_success(void **state) {
    ctx_t *c = *state;
    pbft_tx_t first = fixture_tx(&c->f, 2, c->f.user_addr[3], 5, 0);
    pbft_tx_t ahead = fixture_tx(&c->f, 2, c->f.user_addr[3], 6, 1);
    ledger_block_result_t r;
    pbft_tx_t b1[] = {ahead, ahead};
    commit(c, b1, 2, &r); /* nonce 1 while the account is at 0: fails twice */
    assert_int_equal(r.tx_results[0], PBFT_TX_BAD_NONCE);
    ledger_block_result_free(&r);
    uint8_t id[32];
    codec_tx_id(&ahead, id);
    store_tx_location_t loc;
    assert_int_equal(store_get_tx_location(c->s, id, &loc), PBFT_OK);
    assert_true(loc.height == 1 && loc.index == 0 && loc.result == PBFT_TX_BAD_NONCE);
    pbft_tx_t b2[] = {ahead, first, ahead};
    commit(c, b2, 3, &r); /* fails, then first, then succeeds */
    assert_int_equal(r.tx_results[2], PBFT_TX_OK);
    ledger_block_result_free(&r);
    assert_int_equal(store_get_tx_location(c->s, id, &loc), PBFT_OK);
    assert_true(loc.height == 2 && loc.index == 2 && loc.result == PBFT_TX_OK);
    commit(c, &ahead, 1, NULL); /* replayed after success: fails, index unchanged */
    assert_int_equal(store_get_tx_location(c->s, id, &loc), PBFT_OK);
    assert_true(loc.height == 2 && loc.index == 2 && loc.result == PBFT_TX_OK);
    store_receipt_t rc;
    assert_int_equal(store_get_receipt(c->s, id, &rc), PBFT_OK);
    assert_int_equal(crypto_merkle_verify(id, &rc.proof, rc.header.tx_root), PBFT_OK);
}

static void test_account_history_is_newest_first_and_filtered(void **state) {
    ctx_t *c = *state;
    uint8_t fresh[20];
    memset(fresh, 0x42, 20);
    pbft_tx_t ids_tx[6];
    for (uint64_t h = 0; h < 5; h++) {
        /* user 0 sends one tx per block; block 3 also has a tx to `fresh` */
        pbft_tx_t txs[2];
        txs[0] = fixture_tx(&c->f, 0, c->f.user_addr[1], 1, h);
        ids_tx[h] = txs[0];
        uint32_t n = 1;
        if (h == 2) {
            txs[1] = fixture_tx(&c->f, 4, fresh, 9, 0);
            ids_tx[5] = txs[1];
            n = 2;
        }
        commit(c, txs, n, NULL);
    }
    uint8_t ids[10][32];
    uint64_t heights[10];
    size_t n = store_account_history(c->s, c->f.user_addr[0], UINT64_MAX, ids, heights, 10);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        uint8_t want[32];
        codec_tx_id(&ids_tx[4 - i], want);
        assert_memory_equal(ids[i], want, 32);
        assert_true(heights[i] == 5 - i);
    }
    n = store_account_history(c->s, c->f.user_addr[0], 3, ids, heights, 10);
    assert_int_equal(n, 2);
    assert_true(heights[0] == 2 && heights[1] == 1);
    n = store_account_history(c->s, c->f.user_addr[0], UINT64_MAX, ids, heights, 2);
    assert_int_equal(n, 2);
    assert_true(heights[0] == 5);
    /* the recipient sees it too; an account that only received */
    n = store_account_history(c->s, fresh, UINT64_MAX, ids, heights, 10);
    assert_int_equal(n, 1);
    uint8_t want[32];
    codec_tx_id(&ids_tx[5], want);
    assert_memory_equal(ids[0], want, 32);
    assert_true(heights[0] == 3);
    assert_int_equal(store_account_history(c->s, c->f.user_addr[5], UINT64_MAX, ids, heights, 10),
                     0);
    assert_int_equal(store_account_history(c->s, fresh, 0, ids, heights, 10), 0);
}

/* History follows failed txs and self-transfers, and pages inside a block,
 * without making an address that was only in a failed tx an account. */
static void test_account_history_counts_failed_and_self_transfers(void **state) {
    ctx_t *c = *state;
    uint8_t ghost[20];
    memset(ghost, 0x5a, sizeof ghost);
    pbft_tx_t b1[] = {fixture_tx(&c->f, 0, ghost, FIXTURE_BALANCE + 1, 0), /* insufficient */
                      fixture_tx(&c->f, 1, c->f.user_addr[1], 5, 0),       /* self */
                      fixture_tx(&c->f, 0, c->f.user_addr[2], 1, 0),
                      fixture_tx(&c->f, 0, c->f.user_addr[3], 1, 1)};
    ledger_block_result_t r;
    commit(c, b1, 4, &r);
    assert_int_equal(r.tx_results[0], PBFT_TX_INSUFFICIENT_FUNDS);
    ledger_block_result_free(&r);
    pbft_tx_t b2[] = {fixture_tx(&c->f, 0, c->f.user_addr[4], 1, 2)};
    commit(c, b2, 1, NULL);
    pbft_tx_t b3[] = {fixture_tx(&c->f, 4, c->f.user_addr[5], 1, 0)};
    commit(c, b3, 1, NULL);
    for (int pass = 0; pass < 2; pass++) {
        /* the failed tx is in ghost's history, but ghost is no account */
        uint8_t ids[8][32], want[32];
        uint64_t heights[8];
        assert_int_equal(store_account_history(c->s, ghost, UINT64_MAX, ids, heights, 8), 1);
        codec_tx_id(&b1[0], want);
        assert_memory_equal(ids[0], want, 32);
        const uint8_t(*addrs)[20] = (const uint8_t(*)[20])c->f.user_addr;
        assert_accounts_match_model(c, addrs, USERS);
        assert_accounts_match_model(c, (const uint8_t(*)[20])ghost, 1);
        /* a self-transfer is listed once */
        assert_int_equal(
            store_account_history(c->s, c->f.user_addr[1], UINT64_MAX, ids, heights, 8), 1);
        codec_tx_id(&b1[1], want);
        assert_memory_equal(ids[0], want, 32);
        /* user 0: newest first, within a block too */
        static const struct {
            uint64_t before;
            size_t count;
            uint64_t first_height;
            int first_tx; /* in b1, or -1 for b2[0] */
        } pages[] = {
            {UINT64_MAX, 4, 2, -1}, {4, 4, 2, -1}, {3, 4, 2, -1}, {2, 3, 1, 3}, {1, 0, 0, 0}};
        for (size_t p = 0; p < sizeof pages / sizeof pages[0]; p++) {
            size_t n =
                store_account_history(c->s, c->f.user_addr[0], pages[p].before, ids, heights, 8);
            assert_int_equal(n, pages[p].count);
            if (n == 0) continue;
            assert_true(heights[0] == pages[p].first_height);
            codec_tx_id(pages[p].first_tx < 0 ? &b2[0] : &b1[pages[p].first_tx], want);
            assert_memory_equal(ids[0], want, 32);
            codec_tx_id(&b1[0], want);
            assert_memory_equal(ids[n - 1], want, 32);
        }
        reopen(c); /* the second pass reads with the writer's cache empty */
    }
    /* A zero transfer to ghost now creates it: a history head alone must not
     * have made it exist (that would change the state hash). */
    pbft_tx_t b4[] = {fixture_tx(&c->f, 2, ghost, 0, 0)};
    commit(c, b4, 1, &r);
    assert_int_equal(r.tx_results[0], PBFT_TX_OK);
    assert_int_equal(r.changed_count, 2);
    ledger_block_result_free(&r);
    assert_accounts_match_model(c, (const uint8_t(*)[20])ghost, 1);
    uint8_t ids[8][32];
    assert_int_equal(store_account_history(c->s, ghost, UINT64_MAX, ids, NULL, 8), 2);
}

/* An account with hundreds of txs: every `before` gives the right page, and
 * no page reads more than a history mark's span of blocks (a request for an
 * old height must not walk the whole history). */
static void test_account_history_pages_anywhere_in_bounded_reads(void **state) {
    ctx_t *c = *state;
    enum { BLOCKS = 160, MAX_ENTRIES = 2 * BLOCKS };
    uint64_t want_h[MAX_ENTRIES];
    uint8_t want_id[MAX_ENTRIES][32];
    size_t entries = 0;
    uint64_t nonce0 = 0, nonce2 = 0, nonce3 = 0;
    for (uint64_t h = 1; h <= BLOCKS; h++) {
        pbft_tx_t txs[2];
        uint32_t n = 0;
        if (h % 10 == 0) { /* a block without user 0 */
            txs[n++] = fixture_tx(&c->f, 3, c->f.user_addr[4], 1, nonce3++);
        } else {
            txs[n++] = fixture_tx(&c->f, 0, c->f.user_addr[1], 1, nonce0++);
            txs[n++] = fixture_tx(&c->f, 2, c->f.user_addr[0], 1, nonce2++);
        }
        for (uint32_t i = 0; i < n; i++) {
            if (h % 10 == 0) continue;
            want_h[entries] = h;
            codec_tx_id(&txs[i], want_id[entries]);
            entries++;
        }
        commit(c, txs, n, NULL);
    }
    for (int pass = 0; pass < 2; pass++) {
        for (uint64_t before = 1; before <= BLOCKS + 2; before++) {
            uint64_t b = before == BLOCKS + 2 ? UINT64_MAX : before;
            /* expected: entries below b, newest first */
            size_t first = entries;
            while (first > 0 && want_h[first - 1] >= b)
                first--;
            uint8_t ids[5][32];
            uint64_t heights[5];
            uint64_t loads = store_debug_history_block_loads(c->s);
            size_t n = store_account_history(c->s, c->f.user_addr[0], b, ids, heights, 5);
            loads = store_debug_history_block_loads(c->s) - loads;
            assert_int_equal(n, first < 5 ? first : 5);
            for (size_t k = 0; k < n; k++) {
                assert_true(heights[k] == want_h[first - 1 - k]);
                assert_memory_equal(ids[k], want_id[first - 1 - k], 32);
            }
            if (loads > 64 + 5 + 2)
                fail_msg("before %llu: %llu block reads", (unsigned long long)b,
                         (unsigned long long)loads);
        }
        reopen(c);
    }
}

static pbft_checkpoint_cert_t checkpoint_at(ctx_t *c, uint64_t height) {
    pbft_checkpoint_cert_t cp;
    memset(&cp, 0, sizeof cp);
    cp.height = height;
    pbft_block_header_t hdr;
    assert_int_equal(store_get_header(c->s, height, &hdr), PBFT_OK);
    codec_header_hash(&hdr, cp.block_hash);
    assert_int_equal(store_get_state_hash(c->s, height, cp.state_hash), PBFT_OK);
    return cp;
}

static void test_checkpoint_certs_and_safety_state_persist(void **state) {
    ctx_t *c = *state;
    pbft_checkpoint_cert_t cp;
    assert_int_equal(store_latest_checkpoint_cert(c->s, &cp), PBFT_ERR_NOT_FOUND);
    for (uint64_t h = 1; h <= 4; h++)
        commit(c, NULL, 0, NULL);
    for (uint64_t h = 2; h <= 4; h += 2) {
        cp = checkpoint_at(c, h);
        cp.count = 3;
        for (uint16_t r = 0; r < 3; r++) {
            uint8_t d[32];
            cert_checkpoint_digest(c->f.genesis.chain_id, h, cp.block_hash, cp.state_hash, r, d);
            cp.sigs[r].replica = r;
            assert_int_equal(crypto_sign_digest(c->f.validator_keys[r], d, cp.sigs[r].signature),
                             PBFT_OK);
        }
        assert_int_equal(store_put_checkpoint_cert(c->s, &cp), PBFT_OK);
    }
    assert_int_equal(store_put_safety(c->s, "view", "\x05\x00", 2), PBFT_OK);
    assert_int_equal(store_put_safety(c->s, "view", "\x07\x00\x00", 3), PBFT_OK);
    reopen(c);
    assert_int_equal(store_latest_checkpoint_cert(c->s, &cp), PBFT_OK);
    assert_true(cp.height == 4);
    assert_int_equal(
        cert_check_checkpoint(&c->f.genesis.validators, c->f.genesis.chain_id, &cp, NULL), PBFT_OK);
    assert_int_equal(store_get_checkpoint_cert(c->s, 2, &cp), PBFT_OK);
    assert_true(cp.height == 2);
    assert_int_equal(store_get_checkpoint_cert(c->s, 3, &cp), PBFT_ERR_NOT_FOUND);
    uint8_t *blob = NULL;
    size_t size = 0;
    assert_int_equal(store_get_safety(c->s, "view", &blob, &size), PBFT_OK);
    assert_int_equal(size, 3);
    assert_memory_equal(blob, "\x07\x00\x00", 3);
    free(blob);
    assert_int_equal(store_get_safety(c->s, "votes", &blob, &size), PBFT_ERR_NOT_FOUND);
    assert_int_equal(store_put_safety(c->s, "", "x", 1), PBFT_ERR_ARGUMENT);
}

static store_prepared_block_t prepared_of(const pbft_block_t *b, uint8_t *buf, size_t cap) {
    store_prepared_block_t p = {.height = b->header.height, .bytes = buf};
    p.size = codec_block_encode(b, buf, cap);
    assert_true(p.size > 0);
    codec_header_hash(&b->header, p.hash);
    return p;
}

/* Prepared blocks go out with the safety blob in one batch, come back
 * above the tip after a reopen, and leave when their height commits; a
 * prepared block that lost (another block committed at its height) is
 * dropped at the next load. */
static void test_prepared_blocks_live_until_their_height_commits(void **state) {
    ctx_t *c = *state;
    uint8_t to[PBFT_ADDRESS_SIZE] = {9};
    pbft_tx_t tx = fixture_tx(&c->f, 0, to, 5, 0);
    pbft_block_t b1, b1_other;
    fixture_block(c->s, &tx, 1, 0, &b1);
    fixture_block(c->s, NULL, 0, 1, &b1_other); /* same height, another view */
    static uint8_t buf1[4096], buf2[4096];
    store_prepared_block_t p[2] = {prepared_of(&b1, buf1, sizeof buf1),
                                   prepared_of(&b1_other, buf2, sizeof buf2)};
    assert_int_equal(store_put_safety_and_blocks(c->s, "consensus", "abc", 3, p, 2), PBFT_OK);
    assert_int_equal(store_put_safety_and_blocks(c->s, "consensus", NULL, 0, NULL, 0), PBFT_OK);
    reopen(c);
    uint8_t *blob = NULL;
    size_t size = 0;
    assert_int_equal(store_get_safety(c->s, "consensus", &blob, &size), PBFT_OK);
    assert_int_equal(size, 3); /* a NULL blob left the stored one alone */
    free(blob);
    pbft_block_t *loaded = NULL;
    size_t count = 0;
    assert_int_equal(store_load_prepared_blocks(c->s, &loaded, &count), PBFT_OK);
    assert_int_equal(count, 2);
    for (size_t i = 0; i < count; i++) {
        uint8_t h[PBFT_HASH_SIZE];
        codec_header_hash(&loaded[i].header, h);
        assert_true(memcmp(h, p[0].hash, PBFT_HASH_SIZE) == 0 ||
                    memcmp(h, p[1].hash, PBFT_HASH_SIZE) == 0);
        codec_block_free(&loaded[i]);
    }
    free(loaded);

    commit(c, &tx, 1, NULL); /* b1 commits (the fixture builds the same block) */
    assert_int_equal(store_load_prepared_blocks(c->s, &loaded, &count), PBFT_OK);
    assert_int_equal(count, 0); /* b1 deleted by the commit, the loser by the load */
    assert_null(loaded);
    reopen(c);
    assert_int_equal(store_load_prepared_blocks(c->s, &loaded, &count), PBFT_OK);
    assert_int_equal(count, 0);

    /* A damaged prepared block is reported, not trusted. */
    pbft_block_t b2;
    fixture_block(c->s, NULL, 0, 0, &b2);
    store_prepared_block_t bad = prepared_of(&b2, buf1, sizeof buf1);
    bad.size -= 1;
    assert_int_equal(store_put_safety_and_blocks(c->s, "consensus", NULL, 0, &bad, 1), PBFT_OK);
    assert_int_equal(store_load_prepared_blocks(c->s, &loaded, &count), PBFT_ERR_CORRUPT);
    assert_int_equal(count, 0);
    codec_block_free(&b1);
    codec_block_free(&b1_other);
    codec_block_free(&b2);
}

/* Prepared copies ('P' keys) in a closed store's consensus column family,
 * read with RocksDB itself: store_load_prepared_blocks drops stale ones and
 * could not tell. */
static size_t count_prepared_copies(const char *dir) {
    rocksdb_options_t *o = rocksdb_options_create();
    const char *names[3] = {"default", "chain", "consensus"};
    const rocksdb_options_t *family_options[3] = {o, o, o};
    rocksdb_column_family_handle_t *families[3] = {NULL, NULL, NULL};
    char *err = NULL;
    rocksdb_t *db = rocksdb_open_for_read_only_column_families(o, dir, 3, names, family_options,
                                                               families, 0, &err);
    if (err) fail_msg("open %s: %s", dir, err);
    rocksdb_readoptions_t *r = rocksdb_readoptions_create();
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(db, r, families[2]);
    size_t count = 0;
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t size = 0;
        const char *k = rocksdb_iter_key(it, &size);
        count += size > 0 && k[0] == 'P';
    }
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(r);
    for (int i = 0; i < 3; i++)
        rocksdb_column_family_handle_destroy(families[i]);
    rocksdb_close(db);
    rocksdb_options_destroy(o);
    return count;
}

/* Reopens the store: exactly one prepared block is left, at this height. */
static void assert_one_prepared_block_at_reopen(ctx_t *c, uint64_t height) {
    reopen(c);
    pbft_block_t *loaded = NULL;
    size_t count = 0;
    assert_int_equal(store_load_prepared_blocks(c->s, &loaded, &count), PBFT_OK);
    assert_int_equal(count, 1);
    assert_int_equal(loaded[0].header.height, height);
    codec_block_free(&loaded[0]);
    free(loaded);
}

/* The others' COMMITs can commit a block before this replica's own safety
 * write of it lands. That write must leave the committed block out: the
 * commit already deleted its copy, and one written after the delete would
 * stay in the store. */
static void test_late_prepared_copy_of_a_committed_block_is_left_out(void **state) {
    ctx_t *c = *state;
    uint8_t to[PBFT_ADDRESS_SIZE] = {9};
    pbft_tx_t tx = fixture_tx(&c->f, 0, to, 5, 0);
    pbft_block_t b1, b2;
    fixture_block(c->s, &tx, 1, 0, &b1);
    commit(c, &tx, 1, NULL); /* b1 */
    fixture_block(c->s, NULL, 0, 0, &b2);
    static uint8_t buf1[4096], buf2[4096];
    store_prepared_block_t p[2] = {prepared_of(&b1, buf1, sizeof buf1),
                                   prepared_of(&b2, buf2, sizeof buf2)};
    assert_int_equal(store_put_safety_and_blocks(c->s, "consensus", "abc", 3, p, 2), PBFT_OK);
    store_close(c->s);
    c->s = NULL;
    assert_int_equal(count_prepared_copies(c->f.data_dir), 1); /* b2's */
    assert_one_prepared_block_at_reopen(c, 2);
    codec_block_free(&b1);
    codec_block_free(&b2);
}

/* A block this replica prepared can lose a view change: another block
 * commits at its height, and that commit deletes only its own copy. The
 * next checkpoint deletes the loser's, and keeps copies above the tip. */
static void test_prepared_block_that_lost_a_view_change_goes_at_the_next_checkpoint(void **state) {
    ctx_t *c = *state;
    uint8_t to[PBFT_ADDRESS_SIZE] = {9};
    pbft_tx_t tx = fixture_tx(&c->f, 0, to, 5, 0);
    pbft_block_t loser, b2;
    fixture_block(c->s, NULL, 0, 0, &loser); /* height 1, empty */
    static uint8_t buf1[4096], buf2[4096];
    store_prepared_block_t p1 = prepared_of(&loser, buf1, sizeof buf1);
    assert_int_equal(store_put_safety_and_blocks(c->s, "consensus", "a", 1, &p1, 1), PBFT_OK);
    commit(c, &tx, 1, NULL); /* height 1, another block */
    fixture_block(c->s, NULL, 0, 0, &b2);
    store_prepared_block_t p2 = prepared_of(&b2, buf2, sizeof buf2);
    assert_int_equal(store_put_safety_and_blocks(c->s, "consensus", "b", 1, &p2, 1), PBFT_OK);
    assert_int_equal(count_prepared_copies(c->f.data_dir), 2); /* read-only, beside the writer */
    pbft_checkpoint_cert_t cp = checkpoint_at(c, 1);
    assert_int_equal(store_put_checkpoint_cert(c->s, &cp), PBFT_OK);
    assert_int_equal(count_prepared_copies(c->f.data_dir), 1); /* b2's */
    assert_one_prepared_block_at_reopen(c, 2);
    codec_block_free(&loser);
    codec_block_free(&b2);
}

static void test_other_genesis_is_refused_as_wrong_chain(void **state) {
    ctx_t *c = *state;
    store_close(c->s);
    c->s = NULL;
    pbft_genesis_t other;
    ledger_genesis_copy(&other, &c->f.genesis);
    other.genesis_time_ms++;
    ledger_genesis_derive(&other);
    store_t *s = NULL;
    char err[256] = "";
    assert_int_equal(store_open(c->f.data_dir, &other, STORE_READ_WRITE, &s, err, sizeof err),
                     PBFT_ERR_WRONG_CHAIN);
    assert_null(s);
    assert_non_null(strstr(err, "belongs to chain"));
    assert_int_equal(store_open(c->f.data_dir, &other, STORE_READ_ONLY, &s, err, sizeof err),
                     PBFT_ERR_WRONG_CHAIN);
    ledger_genesis_free(&other);
    reopen(c);
}

static void test_a_second_writer_is_refused_while_one_is_open(void **state) {
    ctx_t *c = *state;
    store_t *s = NULL;
    char err[256] = "";
    assert_int_equal(
        store_open(c->f.data_dir, &c->f.genesis, STORE_READ_WRITE, &s, err, sizeof err),
        PBFT_ERR_STORE);
    assert_non_null(strstr(err, "LOCK"));
}

typedef struct iter_ctx {
    uint64_t next;
    uint64_t stop_at;
    size_t calls;
} iter_ctx_t;

static bool iter_fn(void *p, const pbft_block_t *block, const pbft_commit_cert_t *cert,
                    const uint8_t *raw, size_t raw_size) {
    iter_ctx_t *it = p;
    assert_true(block->header.height == it->next);
    assert_true(block->header.height == 0 ? cert == NULL : cert->seq == block->header.height);
    assert_int_equal(raw_size, codec_block_size(block));
    assert_non_null(raw);
    it->next++;
    it->calls++;
    return block->header.height < it->stop_at;
}

static void test_iterate_blocks_in_order_and_stop_on_request(void **state) {
    ctx_t *c = *state;
    for (int i = 0; i < 5; i++)
        commit(c, NULL, 0, NULL);
    iter_ctx_t it = {.next = 0, .stop_at = UINT64_MAX};
    assert_int_equal(store_iterate_blocks(c->s, 0, iter_fn, &it), PBFT_OK);
    assert_int_equal(it.calls, 6);
    it = (iter_ctx_t){.next = 2, .stop_at = 3};
    assert_int_equal(store_iterate_blocks(c->s, 2, iter_fn, &it), PBFT_OK);
    assert_int_equal(it.calls, 2);
    it = (iter_ctx_t){.next = 9, .stop_at = UINT64_MAX};
    assert_int_equal(store_iterate_blocks(c->s, 9, iter_fn, &it), PBFT_OK);
    assert_int_equal(it.calls, 0);
}

static void test_read_only_secondary_follows_a_live_writer(void **state) {
    ctx_t *c = *state;
    commit(c, NULL, 0, NULL);
    store_t *ro = NULL;
    char err[256] = "";
    pbft_status_t st =
        store_open(c->f.data_dir, &c->f.genesis, STORE_READ_ONLY, &ro, err, sizeof err);
    if (st != PBFT_OK) fail_msg("open read-only: %s", err);
    store_tip_t tip;
    store_get_tip(ro, &tip);
    assert_true(tip.height == 1);
    pbft_tx_t tx = fixture_tx(&c->f, 0, c->f.user_addr[5], 1234, 0);
    commit(c, &tx, 1, NULL);
    /* not visible before the refresh (the secondary reads its own view) */
    pbft_block_t b;
    store_get_tip(ro, &tip);
    assert_true(tip.height == 1);
    assert_int_equal(store_refresh(ro), PBFT_OK);
    store_get_tip(ro, &tip);
    assert_true(tip.height == 2);
    store_tip_t wtip;
    store_get_tip(c->s, &wtip);
    assert_memory_equal(&tip, &wtip, sizeof tip);
    assert_int_equal(store_get_block(ro, 2, &b), PBFT_OK);
    assert_int_equal(b.header.tx_count, 1);
    codec_block_free(&b);
    pbft_account_t a;
    bool exists = false;
    assert_int_equal(store_get_account(ro, c->f.user_addr[5], &a, &exists), PBFT_OK);
    assert_true(exists && a.balance == FIXTURE_BALANCE + 1234);
    uint8_t id[32];
    codec_tx_id(&tx, id);
    store_receipt_t r;
    assert_int_equal(store_get_receipt(ro, id, &r), PBFT_OK);
    assert_int_equal(crypto_merkle_verify(id, &r.proof, r.header.tx_root), PBFT_OK);
    /* the secondary cannot write */
    assert_int_equal(store_put_safety(ro, "view", "x", 1), PBFT_ERR_ARGUMENT);
    /* many commits, one refresh */
    for (int i = 0; i < 20; i++)
        commit(c, NULL, 0, NULL);
    assert_int_equal(store_refresh(ro), PBFT_OK);
    store_get_tip(ro, &tip);
    assert_true(tip.height == 22);
    assert_int_equal(store_verify_block(ro, 22, err, sizeof err), PBFT_OK);
    store_close(ro);
}

static void test_read_only_open_of_a_missing_store_fails_cleanly(void **state) {
    ctx_t *c = *state;
    char path[128], err[256] = "";
    snprintf(path, sizeof path, "%s/nothing-here", c->f.dir);
    store_t *ro = NULL;
    pbft_status_t st = store_open(path, &c->f.genesis, STORE_READ_ONLY, &ro, err, sizeof err);
    assert_int_not_equal(st, PBFT_OK);
    assert_null(ro);
    assert_true(err[0] != '\0');
}

static void test_disk_bytes_grow_with_commits(void **state) {
    ctx_t *c = *state;
    uint64_t before = store_disk_bytes(c->s);
    pbft_tx_t txs[50];
    for (uint32_t i = 0; i < 50; i++)
        txs[i] = fixture_tx(&c->f, i % USERS, c->f.user_addr[(i + 1) % USERS], 1, i / USERS);
    commit(c, txs, 50, NULL);
    assert_true(store_disk_bytes(c->s) > before);
    assert_int_equal(store_compact(c->s), PBFT_OK);
    assert_true(store_disk_bytes(c->s) > 0);
}

/* RocksDB's table readers would hold every SST's index and filter blocks
 * for good (about 1.1 bytes per committed tx, growing with the chain);
 * they belong in the block cache, whose capacity bounds them. */
static void test_index_and_filter_blocks_live_in_the_block_cache(void **state) {
    ctx_t *c = *state;
    enum { BLOCKS = 40, PER_BLOCK = 250 };
    pbft_tx_t txs[PER_BLOCK];
    uint8_t some_id[PBFT_HASH_SIZE];
    for (uint32_t b = 0; b < BLOCKS; b++) {
        for (uint32_t i = 0; i < PER_BLOCK; i++) {
            uint32_t k = b * PER_BLOCK + i;
            txs[i] = fixture_tx(&c->f, k % USERS, c->f.user_addr[(k + 1) % USERS], 1, k / USERS);
        }
        commit(c, txs, PER_BLOCK, NULL);
    }
    codec_tx_id(&txs[7], some_id);
    assert_int_equal(store_compact(c->s), PBFT_OK);
    store_tx_location_t loc;
    assert_int_equal(store_get_tx_location(c->s, some_id, &loc), PBFT_OK);
    assert_true(loc.height == BLOCKS && loc.index == 7);
    store_stats_t m;
    store_stats(c->s, &m);
    /* 10,000 tx ids: held outside the cache, the index and filter blocks
     * read 18 KB here; inside it, what stays is 1.9 KB of per-file data */
    assert_true(m.table_readers < 6144);
    assert_true(m.block_cache > 0);
}

/* The block cache is STORE_BLOCK_CACHE_BYTES_DEFAULT unless the options
 * size it (txindex_bench compares sizes). */
static void test_block_cache_size_comes_from_the_options(void **state) {
    ctx_t *c = *state;
    store_stats_t m;
    store_stats(c->s, &m);
    assert_int_equal(m.block_cache_capacity, STORE_BLOCK_CACHE_BYTES_DEFAULT);
    store_close(c->s);
    c->s = NULL;
    char err[256] = "";
    store_options_t options = {.block_cache_bytes = 3u << 20};
    assert_int_equal(store_open_ex(c->f.data_dir, &c->f.genesis, STORE_READ_WRITE, &options, &c->s,
                                   err, sizeof err),
                     PBFT_OK);
    store_stats(c->s, &m);
    assert_int_equal(m.block_cache_capacity, 3u << 20);
}

typedef struct reader_arg {
    store_t *s;
    atomic_bool stop;
    atomic_int failures;
    atomic_long reads;
} reader_arg_t;

/* Whatever tip a reader sees, everything up to it is complete. */
static void *reader_thread(void *p) {
    reader_arg_t *a = p;
    while (!atomic_load(&a->stop)) {
        store_tip_t tip;
        store_get_tip(a->s, &tip);
        pbft_block_header_t h;
        pbft_commit_cert_t cert;
        uint8_t sh[32], *results = NULL;
        uint32_t count = 0;
        bool ok = store_get_header(a->s, tip.height, &h) == PBFT_OK;
        uint8_t hash[32];
        if (ok) codec_header_hash(&h, hash);
        ok = ok && memcmp(hash, tip.block_hash, 32) == 0;
        ok = ok && store_get_state_hash(a->s, tip.height, sh) == PBFT_OK;
        ok = ok && (tip.height == 0 || store_get_commit_cert(a->s, tip.height, &cert) == PBFT_OK);
        ok = ok && store_get_block_results(a->s, tip.height, &results, &count) == PBFT_OK;
        ok = ok && count == h.tx_count;
        free(results);
        if (ok && h.tx_count > 0) {
            pbft_block_t b;
            ok = store_get_block(a->s, tip.height, &b) == PBFT_OK;
            if (ok) {
                uint8_t id[32];
                codec_tx_id(&b.txs[0], id);
                store_receipt_t r;
                ok = store_get_receipt(a->s, id, &r) == PBFT_OK &&
                     crypto_merkle_verify(id, &r.proof, r.header.tx_root) == PBFT_OK;
                codec_block_free(&b);
            }
        }
        if (!ok) atomic_fetch_add(&a->failures, 1);
        atomic_fetch_add(&a->reads, 1);
    }
    return NULL;
}

static void test_readers_on_other_threads_always_see_complete_blocks(void **state) {
    ctx_t *c = *state;
    reader_arg_t a = {.s = c->s};
    atomic_init(&a.stop, false);
    atomic_init(&a.failures, 0);
    atomic_init(&a.reads, 0);
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, reader_thread, &a), 0);
    for (uint64_t h = 0; h < 40; h++) {
        pbft_tx_t txs[3];
        for (uint32_t i = 0; i < 3; i++)
            txs[i] = fixture_tx(&c->f, i, c->f.user_addr[i + 1], 1 + h, h);
        commit(c, txs, 3, NULL);
    }
    /* let the readers see the final tip too, then stop them */
    while (atomic_load(&a.reads) < 100)
        sched_yield();
    atomic_store(&a.stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    assert_int_equal(atomic_load(&a.failures), 0);
}

/* The storage thread commits with the ids consensus computed (and without
 * its own fsync when more blocks are queued): the index must be the same as
 * when the store hashes the txs itself. */
static void test_commit_with_given_ids_indexes_every_tx(void **state) {
    ctx_t *c = *state;
    pbft_tx_t txs[3] = {fixture_tx(&c->f, 0, c->f.user_addr[1], 5, 0),
                        fixture_tx(&c->f, 1, c->f.user_addr[2], 6, 0),
                        fixture_tx(&c->f, 2, c->f.user_addr[0], 7, 9)}; /* bad nonce */
    pbft_block_t block;
    fixture_block(c->s, txs, 3, 0, &block);
    pbft_commit_cert_t cert;
    fixture_cert(&c->f, &block.header, 3, &cert);
    uint8_t ids[3][PBFT_HASH_SIZE];
    for (int i = 0; i < 3; i++)
        codec_tx_id(&txs[i], ids[i]);
    store_tip_t tip;
    store_get_tip(c->s, &tip);
    ledger_state_reader_t reader = store_state_reader(c->s, NULL);
    ledger_block_result_t r;
    ledger_execute_block(&block, &reader, tip.state_hash, &r);
    assert_int_equal(store_commit_block_ex(c->s, &block, (const uint8_t(*)[PBFT_HASH_SIZE])ids,
                                           &cert, &r, false),
                     PBFT_OK);
    ledger_memstate_apply(c->model, &r);
    ledger_block_result_free(&r);
    codec_block_free(&block);
    reopen(c); /* an unsynced commit survives a clean close */
    const uint8_t want[3] = {PBFT_TX_OK, PBFT_TX_OK, PBFT_TX_BAD_NONCE};
    for (uint32_t i = 0; i < 3; i++) {
        store_tx_location_t loc;
        assert_int_equal(store_get_tx_location(c->s, ids[i], &loc), PBFT_OK);
        assert_true(loc.height == 1);
        assert_int_equal(loc.index, i);
        assert_int_equal(loc.result, want[i]);
    }
    char err[256] = "";
    if (store_verify_block(c->s, 1, err, sizeof err) != PBFT_OK) fail_msg("%s", err);
    assert_accounts_match_model(c, (const uint8_t(*)[20])c->f.user_addr, USERS);
}

/* `blocks` blocks of one transfer each, around the users. */
static void commit_ring(ctx_t *c, uint32_t blocks) {
    for (uint32_t b = 0; b < blocks; b++) {
        size_t from = b % USERS, to = (b + 1) % USERS;
        pbft_account_t a;
        assert_true(ledger_memstate_get(c->model, c->f.user_addr[from], &a));
        pbft_tx_t tx = fixture_tx(&c->f, from, c->f.user_addr[to], 1 + b, a.nonce);
        commit(c, &tx, 1, NULL);
    }
}

static void crash_and_reopen(ctx_t *c, pbft_status_t want, const char *err_text) {
    store_debug_close_without_write_back(c->s);
    c->s = NULL;
    char err[512] = "";
    pbft_status_t st =
        store_open(c->f.data_dir, &c->f.genesis, STORE_READ_WRITE, &c->s, err, sizeof err);
    assert_int_equal(st, want);
    if (err_text && !strstr(err, err_text)) fail_msg("error \"%s\" lacks \"%s\"", err, err_text);
}

/* Account values are written behind; a crash before the write-back loses
 * none of them: the next open executes those blocks again, and a read-only
 * view does the same before its first account read. */
static void test_accounts_written_behind_survive_a_crash(void **state) {
    ctx_t *c = *state;
    commit_ring(c, STORE_ACCOUNT_WRITE_EVERY / 2);
    assert_accounts_match_model(c, (const uint8_t(*)[20])c->f.user_addr, USERS);
    uint8_t before[64][32], after[64][32];
    uint64_t hb[64], ha[64];
    size_t n = store_account_history(c->s, c->f.user_addr[3], UINT64_MAX, before, hb, 64);
    assert_true(n >= 2 * (STORE_ACCOUNT_WRITE_EVERY / 2) / USERS);

    store_debug_close_without_write_back(c->s);
    char err[512] = "";
    store_t *ro = NULL;
    assert_int_equal(
        store_open(c->f.data_dir, &c->f.genesis, STORE_READ_ONLY, &ro, err, sizeof err), PBFT_OK);
    c->s = ro;
    assert_accounts_match_model(c, (const uint8_t(*)[20])c->f.user_addr, USERS);
    assert_int_equal(store_account_history(ro, c->f.user_addr[3], UINT64_MAX, after, ha, 64), n);
    assert_memory_equal(before, after, n * 32);
    store_close(ro);
    c->s = NULL;

    assert_int_equal(
        store_open(c->f.data_dir, &c->f.genesis, STORE_READ_WRITE, &c->s, err, sizeof err),
        PBFT_OK);
    assert_int_equal(store_recovered_blocks(c->s), STORE_ACCOUNT_WRITE_EVERY / 2);
    assert_accounts_match_model(c, (const uint8_t(*)[20])c->f.user_addr, USERS);
    memset(after, 0, sizeof after);
    assert_int_equal(store_account_history(c->s, c->f.user_addr[3], UINT64_MAX, after, ha, 64), n);
    assert_memory_equal(before, after, n * 32);
    assert_memory_equal(hb, ha, n * sizeof *hb);
    /* and the chain goes on from the recovered state */
    commit_ring(c, 3);
    crash_and_reopen(c, PBFT_OK, NULL);
    assert_int_equal(store_recovered_blocks(c->s), STORE_ACCOUNT_WRITE_EVERY / 2 + 3);
    assert_accounts_match_model(c, (const uint8_t(*)[20])c->f.user_addr, USERS);
    /* a clean close writes every value back: the next open executes nothing */
    reopen(c);
    assert_int_equal(store_recovered_blocks(c->s), 0);
    assert_accounts_match_model(c, (const uint8_t(*)[20])c->f.user_addr, USERS);
}

/* Recovery executes only the blocks above the last write-back, and checks
 * each against what is stored: a block whose stored results disagree stops
 * the open, naming its height. */
static void test_recovery_executes_only_the_blocks_above_the_write_back(void **state) {
    ctx_t *c = *state;
    uint32_t blocks = STORE_ACCOUNT_WRITE_EVERY + 6; /* written back at EVERY */
    commit_ring(c, blocks);
    uint8_t *results = NULL;
    uint32_t count = 0;
    assert_int_equal(store_get_block_results(c->s, 10, &results, &count), PBFT_OK);
    assert_int_equal(count, 1);
    results[0] ^= 0x01; /* 0 (ok) -> 1 (a failure): an executed block 10 would disagree */
    assert_int_equal(store_debug_put_raw(c->s, "results", 10, results, count), PBFT_OK);
    crash_and_reopen(c, PBFT_OK, NULL); /* block 10 is below the write-back */
    assert_int_equal(store_recovered_blocks(c->s), blocks - STORE_ACCOUNT_WRITE_EVERY);
    assert_accounts_match_model(c, (const uint8_t(*)[20])c->f.user_addr, USERS);

    uint64_t h = STORE_ACCOUNT_WRITE_EVERY + 3;
    assert_int_equal(store_debug_put_raw(c->s, "results", h, results, count), PBFT_OK);
    free(results);
    char text[64];
    snprintf(text, sizeof text, "height %llu: recovering", (unsigned long long)h);
    crash_and_reopen(c, PBFT_ERR_CORRUPT, text);
    assert_null(c->s);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_open_creates_the_store_from_genesis),
        T(test_commit_reopen_and_read_back_everything),
        T(test_commit_with_given_ids_indexes_every_tx),
        T(test_receipts_verify_against_genesis_alone),
        T(test_a_replayed_tx_keeps_its_first_receipt),
        T(test_a_tx_included_early_then_in_time_is_indexed_at_its_success),
        T(test_account_history_is_newest_first_and_filtered),
        T(test_account_history_counts_failed_and_self_transfers),
        T(test_account_history_pages_anywhere_in_bounded_reads),
        T(test_checkpoint_certs_and_safety_state_persist),
        T(test_prepared_blocks_live_until_their_height_commits),
        T(test_late_prepared_copy_of_a_committed_block_is_left_out),
        T(test_prepared_block_that_lost_a_view_change_goes_at_the_next_checkpoint),
        T(test_other_genesis_is_refused_as_wrong_chain),
        T(test_a_second_writer_is_refused_while_one_is_open),
        T(test_iterate_blocks_in_order_and_stop_on_request),
        T(test_read_only_secondary_follows_a_live_writer),
        T(test_readers_on_other_threads_always_see_complete_blocks),
        T(test_read_only_open_of_a_missing_store_fails_cleanly),
        T(test_disk_bytes_grow_with_commits),
        T(test_index_and_filter_blocks_live_in_the_block_cache),
        T(test_block_cache_size_comes_from_the_options),
        T(test_accounts_written_behind_survive_a_crash),
        T(test_recovery_executes_only_the_blocks_above_the_write_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
