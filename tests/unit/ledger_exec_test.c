/*
 * tests/unit/ledger_exec_test.c — transaction execution rules, the state
 * hash chain (known answers computed independently), the in-memory account
 * map, and a seeded randomized comparison against a simple model.
 *
 * Execution does not verify signatures (callers do), so txs here carry
 * arbitrary 33-byte "public keys": only their address matters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "pbft/crypto.h"
#include "pbft/ledger.h"

/* ------------------------------------------------------------------------ */
/* A state made of a plain table, so any state (even one genesis forbids)    */
/* can be set up.                                                            */

#define TABLE_MAX 64
typedef struct table {
    size_t count;
    pbft_account_t accounts[TABLE_MAX];
    size_t reads;
} table_t;

static bool table_get(void *ctx, const uint8_t address[PBFT_ADDRESS_SIZE], pbft_account_t *out) {
    table_t *t = ctx;
    t->reads++;
    for (size_t i = 0; i < t->count; i++) {
        if (memcmp(t->accounts[i].address, address, PBFT_ADDRESS_SIZE) == 0) {
            *out = t->accounts[i];
            return true;
        }
    }
    return false;
}

static ledger_state_reader_t table_reader(table_t *t) {
    ledger_state_reader_t r = {.get = table_get, .ctx = t};
    return r;
}

static void key_of(uint8_t who, uint8_t pk[PBFT_PUBKEY_SIZE]) {
    pk[0] = 2;
    memset(pk + 1, who, PBFT_PUBKEY_SIZE - 1);
}

static void addr_of(uint8_t who, uint8_t out[PBFT_ADDRESS_SIZE]) {
    uint8_t pk[PBFT_PUBKEY_SIZE];
    key_of(who, pk);
    crypto_address(pk, out);
}

static void table_add(table_t *t, uint8_t who, uint64_t balance, uint64_t nonce) {
    assert_true(t->count < TABLE_MAX);
    pbft_account_t *a = &t->accounts[t->count++];
    addr_of(who, a->address);
    a->balance = balance;
    a->nonce = nonce;
}

static pbft_tx_t tx_make(uint8_t from, const uint8_t to[PBFT_ADDRESS_SIZE], uint64_t amount,
                         uint64_t nonce) {
    pbft_tx_t tx;
    memset(&tx, 0, sizeof tx);
    key_of(from, tx.sender_pubkey);
    memcpy(tx.recipient, to, PBFT_ADDRESS_SIZE);
    tx.amount = amount;
    tx.nonce = nonce;
    return tx;
}

static pbft_tx_t tx_to(uint8_t from, uint8_t to, uint64_t amount, uint64_t nonce) {
    uint8_t addr[PBFT_ADDRESS_SIZE];
    addr_of(to, addr);
    return tx_make(from, addr, amount, nonce);
}

static void run_block(table_t *t, pbft_tx_t *txs, uint32_t n, ledger_block_result_t *out) {
    pbft_block_t block;
    memset(&block, 0, sizeof block);
    block.header.height = 7;
    block.header.tx_count = n;
    block.txs = n ? txs : NULL;
    uint8_t prev[PBFT_HASH_SIZE] = {0};
    ledger_state_reader_t r = table_reader(t);
    ledger_execute_block(&block, &r, prev, out);
    assert_true(out->height == 7);
    assert_int_equal(out->tx_count, n);
}

static const pbft_account_t *changed_find(const ledger_block_result_t *r, uint8_t who) {
    uint8_t addr[PBFT_ADDRESS_SIZE];
    addr_of(who, addr);
    for (uint32_t i = 0; i < r->changed_count; i++)
        if (memcmp(r->changed[i].address, addr, PBFT_ADDRESS_SIZE) == 0) return &r->changed[i];
    return NULL;
}

/* One tx against a one-or-two-account state: the table of rules. */
typedef struct rule_case {
    const char *name;
    uint64_t sender_balance, sender_nonce;
    bool recipient_exists;
    uint64_t recipient_balance;
    bool self;
    uint64_t amount, nonce;
    pbft_tx_result_t expect;
    uint64_t sender_balance_after, recipient_balance_after; /* when ok */
} rule_case_t;

static void test_single_tx_rules_table(void **state) {
    (void)state;
    const uint64_t M = UINT64_MAX;
    static const rule_case_t cases[] = {
        {"plain transfer", 100, 0, true, 5, false, 30, 0, PBFT_TX_OK, 70, 35},
        {"nonce too high", 100, 0, true, 5, false, 30, 1, PBFT_TX_BAD_NONCE, 0, 0},
        {"nonce too low", 100, 3, true, 5, false, 30, 2, PBFT_TX_BAD_NONCE, 0, 0},
        {"insufficient funds", 100, 0, true, 5, false, 101, 0, PBFT_TX_INSUFFICIENT_FUNDS, 0, 0},
        {"exact balance", 100, 0, true, 5, false, 100, 0, PBFT_TX_OK, 0, 105},
        {"zero amount", 100, 0, true, 5, false, 0, 0, PBFT_TX_OK, 100, 5},
        {"unseen recipient", 100, 0, false, 0, false, 40, 0, PBFT_TX_OK, 60, 40},
        {"unseen recipient zero amount", 100, 0, false, 0, false, 0, 0, PBFT_TX_OK, 100, 0},
        {"recipient overflow", 100, 0, true, M - 50, false, 51, 0, PBFT_TX_OVERFLOW, 0, 0},
        {"recipient exactly max", 100, 0, true, M - 50, false, 50, 0, PBFT_TX_OK, 50, M},
        {"amount max, balance max", M, 0, false, 0, false, M, 0, PBFT_TX_OK, 0, M},
        {"amount max, short", M - 1, 0, true, 0, false, M, 0, PBFT_TX_INSUFFICIENT_FUNDS, 0, 0},
        {"nonce exhausted", 100, M, true, 0, false, 1, M, PBFT_TX_NONCE_EXHAUSTED, 0, 0},
        {"nonce max-1 bumps to max", 100, M - 1, true, 0, false, 1, M - 1, PBFT_TX_OK, 99, 1},
        {"bad nonce beats exhausted", 100, M, true, 0, false, 1, 0, PBFT_TX_BAD_NONCE, 0, 0},
        {"self transfer", 100, 4, true, 0, true, 100, 4, PBFT_TX_OK, 100, 100},
        {"self transfer at max", M, 0, true, 0, true, M, 0, PBFT_TX_OK, M, M},
        {"self transfer too much", 100, 0, true, 0, true, 101, 0, PBFT_TX_INSUFFICIENT_FUNDS, 0, 0},
        {"unknown sender", 0, 0, false, 0, false, 0, 0, PBFT_TX_OK, 0, 0},
    };
    for (size_t i = 0; i < PBFT_ARRAY_COUNT(cases); i++) {
        const rule_case_t *c = &cases[i];
        table_t t = {0};
        bool sender_exists = strcmp(c->name, "unknown sender") != 0;
        if (sender_exists) table_add(&t, 1, c->sender_balance, c->sender_nonce);
        if (c->recipient_exists && !c->self) table_add(&t, 2, c->recipient_balance, 0);
        pbft_tx_t tx = tx_to(1, c->self ? 1 : 2, c->amount, c->nonce);
        ledger_block_result_t r;
        run_block(&t, &tx, 1, &r);
        if (r.tx_results[0] != c->expect)
            fail_msg("%s: result %s, want %s", c->name,
                     pbft_tx_result_string((pbft_tx_result_t)r.tx_results[0]),
                     pbft_tx_result_string(c->expect));
        if (c->expect != PBFT_TX_OK) {
            if (r.changed_count != 0) fail_msg("%s: a failed tx changed state", c->name);
        } else {
            const pbft_account_t *s = changed_find(&r, 1);
            assert_non_null(s);
            if (s->balance != c->sender_balance_after) fail_msg("%s: sender balance", c->name);
            if (s->nonce != c->nonce + 1) fail_msg("%s: sender nonce", c->name);
            if (!c->self && c->recipient_exists && c->amount == 0) {
                /* written with the same value: not a change */
                assert_null(changed_find(&r, 2));
                assert_int_equal(r.changed_count, 1);
            } else if (!c->self) {
                const pbft_account_t *rc = changed_find(&r, 2);
                assert_non_null(rc);
                if (rc->balance != c->recipient_balance_after)
                    fail_msg("%s: recipient balance", c->name);
                if (rc->nonce != 0) fail_msg("%s: recipient nonce", c->name);
                assert_int_equal(r.changed_count, 2);
            } else {
                assert_int_equal(r.changed_count, 1);
            }
        }
        ledger_block_result_free(&r);
    }
}

static void test_later_txs_see_earlier_txs_of_the_same_block(void **state) {
    (void)state;
    table_t t = {0};
    table_add(&t, 1, 100, 0);
    pbft_tx_t txs[] = {
        tx_to(1, 2, 60, 0), /* ok: 1 -> 40 */
        tx_to(1, 3, 50, 1), /* insufficient: 40 < 50 */
        tx_to(1, 3, 40, 1), /* ok: 1 -> 0, nonce 2 */
        tx_to(2, 1, 10, 0), /* ok: the account created by tx 0 spends */
        tx_to(1, 2, 0, 1),  /* bad nonce: nonce is 2 now */
        tx_to(1, 2, 10, 2), /* ok: the 10 received from 2 */
        tx_to(3, 3, 40, 0), /* self transfer of the new account */
    };
    ledger_block_result_t r;
    run_block(&t, txs, PBFT_ARRAY_COUNT(txs), &r);
    const uint8_t expect[] = {PBFT_TX_OK, PBFT_TX_INSUFFICIENT_FUNDS, PBFT_TX_OK,
                              PBFT_TX_OK, PBFT_TX_BAD_NONCE,          PBFT_TX_OK,
                              PBFT_TX_OK};
    assert_memory_equal(r.tx_results, expect, sizeof expect);
    assert_int_equal(r.changed_count, 3);
    for (uint32_t i = 1; i < r.changed_count; i++)
        assert_true(memcmp(r.changed[i - 1].address, r.changed[i].address, 20) < 0);
    const pbft_account_t *a1 = changed_find(&r, 1), *a2 = changed_find(&r, 2),
                         *a3 = changed_find(&r, 3);
    assert_true(a1->balance == 0 && a1->nonce == 3);
    assert_true(a2->balance == 60 && a2->nonce == 1);
    assert_true(a3->balance == 40 && a3->nonce == 1);
    ledger_block_result_free(&r);
}

static void test_failed_txs_change_nothing_not_even_recipient_existence(void **state) {
    (void)state;
    table_t t = {0};
    table_add(&t, 1, 10, 0);
    pbft_tx_t txs[] = {tx_to(1, 9, 11, 0), tx_to(1, 9, 1, 5), tx_to(8, 9, 0, 0)};
    /* account 8 does not exist: nonce 0 matches, amount 0 <= 0 → ok, creates
     * 8 and 9. Keep only the failing two first. */
    ledger_block_result_t r;
    run_block(&t, txs, 2, &r);
    assert_int_equal(r.tx_results[0], PBFT_TX_INSUFFICIENT_FUNDS);
    assert_int_equal(r.tx_results[1], PBFT_TX_BAD_NONCE);
    assert_int_equal(r.changed_count, 0);
    assert_null(changed_find(&r, 9));
    uint8_t prev[PBFT_HASH_SIZE] = {0}, expect[PBFT_HASH_SIZE];
    uint8_t buf[36] = {0};
    memcpy(buf, prev, 32);
    crypto_sha256(buf, 36, expect); /* prev || u32 0 */
    assert_memory_equal(r.state_hash, expect, 32);
    ledger_block_result_free(&r);
    /* and an unseen sender with amount 0 creates both accounts */
    run_block(&t, &txs[2], 1, &r);
    assert_int_equal(r.tx_results[0], PBFT_TX_OK);
    assert_int_equal(r.changed_count, 2);
    ledger_block_result_free(&r);
}

static void test_multiple_txs_of_one_sender_need_consecutive_nonces(void **state) {
    (void)state;
    table_t t = {0};
    table_add(&t, 1, 1000, 10);
    pbft_tx_t txs[20];
    for (uint32_t i = 0; i < 20; i++)
        txs[i] = tx_to(1, 2, 1, 10 + i);
    txs[7].nonce = 99; /* breaks the chain: later ones are off by one */
    ledger_block_result_t r;
    run_block(&t, txs, 20, &r);
    for (uint32_t i = 0; i < 20; i++)
        assert_int_equal(r.tx_results[i], i < 7 ? PBFT_TX_OK : PBFT_TX_BAD_NONCE);
    assert_true(changed_find(&r, 1)->nonce == 17);
    assert_true(changed_find(&r, 1)->balance == 993);
    /* each account is read from the state once */
    assert_int_equal(t.reads, 2);
    ledger_block_result_free(&r);
}

static void test_empty_block_changes_nothing_and_chains_the_hash(void **state) {
    (void)state;
    table_t t = {0};
    ledger_block_result_t r;
    run_block(&t, NULL, 0, &r);
    assert_int_equal(r.changed_count, 0);
    assert_null(r.changed);
    ledger_block_result_free(&r);
}

static void hex_to(const char *hex, uint8_t out[32]) {
    assert_int_equal(crypto_hex_decode(hex, 64, out, 32), PBFT_OK);
}

/* Expected values computed independently (Python hashlib) from the layout:
 * state_hash(h) = SHA-256(prev || u32le count || (address | u64le balance |
 * u64le nonce) sorted by address). */
static void test_state_hash_chain_known_answer(void **state) {
    (void)state;
    uint8_t prev[32], s1[32], s2[32], s3[32], addr[20];
    crypto_sha256("prev", 4, prev);
    addr_of(0x11, addr);
    uint8_t addr_expect[20];
    assert_int_equal(
        crypto_hex_decode("e1577700e127f1ce6e20a4efc2d96a986979c755", 40, addr_expect, 20),
        PBFT_OK);
    assert_memory_equal(addr, addr_expect, 20);
    hex_to("b92507b8cfde293e2cd26cbe4a478dd8f5273c2d276dcf1c987288658b159cb4", s1);
    hex_to("86ba48b2bfcb618c59ed49408458ec10c15df4749d16827a1bcbf704e0bd6f27", s2);
    hex_to("07df8ab3716aef3676aeadae7b9760bdf95dbb0c8d433062c4d865ecac209ddc", s3);

    pbft_genesis_t g;
    memset(&g, 0, sizeof g);
    pbft_account_t acct = {.balance = 1000, .nonce = 0};
    memcpy(acct.address, addr, 20);
    g.account_count = 1;
    g.accounts = &acct;
    ledger_memstate_t *m = ledger_memstate_new(&g);
    ledger_state_reader_t reader = ledger_memstate_reader(m);

    uint8_t bb[20];
    memset(bb, 0xbb, 20);
    pbft_tx_t b1[] = {tx_make(0x11, bb, 100, 0), tx_make(0x11, bb, 50, 5)};
    pbft_tx_t b2[] = {tx_make(0x11, addr, 900, 1)};
    pbft_block_t block = {.header = {.height = 1, .tx_count = 2}, .txs = b1};
    ledger_block_result_t r;
    ledger_execute_block(&block, &reader, prev, &r);
    assert_memory_equal(r.state_hash, s1, 32);
    ledger_memstate_apply(m, &r);
    ledger_block_result_free(&r);
    block = (pbft_block_t){.header = {.height = 2, .tx_count = 1}, .txs = b2};
    ledger_execute_block(&block, &reader, s1, &r);
    assert_memory_equal(r.state_hash, s2, 32);
    ledger_memstate_apply(m, &r);
    ledger_block_result_free(&r);
    block = (pbft_block_t){.header = {.height = 3, .tx_count = 0}, .txs = NULL};
    ledger_execute_block(&block, &reader, s2, &r);
    assert_memory_equal(r.state_hash, s3, 32);
    ledger_block_result_free(&r);

    pbft_account_t got;
    assert_true(ledger_memstate_get(m, addr, &got));
    assert_true(got.balance == 900 && got.nonce == 2);
    assert_true(ledger_memstate_get(m, bb, &got));
    assert_true(got.balance == 100 && got.nonce == 0);
    assert_int_equal(ledger_memstate_count(m), 2);
    assert_true(ledger_memstate_total_supply(m) == 1000);
    ledger_memstate_free(m);
}

static void test_memstate_grows_and_keeps_every_account(void **state) {
    (void)state;
    pbft_genesis_t g;
    memset(&g, 0, sizeof g);
    ledger_memstate_t *m = ledger_memstate_new(&g);
    assert_int_equal(ledger_memstate_count(m), 0);
    enum { N = 5000 };
    pbft_account_t *accts = calloc(N, sizeof *accts);
    for (uint32_t i = 0; i < N; i++) {
        accts[i].address[0] = (uint8_t)i;
        accts[i].address[19] = (uint8_t)(i >> 8);
        accts[i].balance = i;
        accts[i].nonce = i * 3;
    }
    ledger_block_result_t r = {.changed_count = N, .changed = accts};
    ledger_memstate_apply(m, &r);
    ledger_memstate_apply(m, &r); /* idempotent: same keys overwrite */
    assert_int_equal(ledger_memstate_count(m), N);
    assert_true(ledger_memstate_total_supply(m) == (uint64_t)N * (N - 1) / 2);
    for (uint32_t i = 0; i < N; i++) {
        pbft_account_t got;
        assert_true(ledger_memstate_get(m, accts[i].address, &got));
        assert_true(got.balance == i && got.nonce == i * 3);
    }
    uint8_t missing[20] = {0xee};
    missing[10] = 0xff;
    pbft_account_t got;
    assert_false(ledger_memstate_get(m, missing, &got));
    assert_true(got.balance == 0 && got.nonce == 0);
    free(accts);
    ledger_memstate_free(m);
}

/* ------------------------------------------------------------------------ */
/* Randomized: execution vs a plain model                                     */

#define MODEL_MAX 256
typedef struct model {
    size_t count;
    pbft_account_t accounts[MODEL_MAX];
} model_t;

static pbft_account_t *model_find(model_t *m, const uint8_t addr[20], bool create) {
    for (size_t i = 0; i < m->count; i++)
        if (memcmp(m->accounts[i].address, addr, 20) == 0) return &m->accounts[i];
    if (!create) return NULL;
    assert_true(m->count < MODEL_MAX);
    pbft_account_t *a = &m->accounts[m->count++];
    memset(a, 0, sizeof *a);
    memcpy(a->address, addr, 20);
    return a;
}

static pbft_tx_result_t model_apply(model_t *m, const pbft_tx_t *tx) {
    uint8_t from[20];
    crypto_address(tx->sender_pubkey, from);
    pbft_account_t zero = {0};
    pbft_account_t *s = model_find(m, from, false);
    const pbft_account_t *sv = s ? s : &zero;
    if (tx->nonce != sv->nonce) return PBFT_TX_BAD_NONCE;
    if (sv->nonce == UINT64_MAX) return PBFT_TX_NONCE_EXHAUSTED;
    if (tx->amount > sv->balance) return PBFT_TX_INSUFFICIENT_FUNDS;
    pbft_account_t *r = model_find(m, tx->recipient, false);
    bool self = memcmp(from, tx->recipient, 20) == 0;
    if (!self && r && r->balance > UINT64_MAX - tx->amount) return PBFT_TX_OVERFLOW;
    s = model_find(m, from, true);
    r = model_find(m, tx->recipient, true);
    s->balance -= tx->amount;
    r->balance += tx->amount;
    s->nonce++;
    return PBFT_TX_OK;
}

static uint64_t rng_next(uint64_t *s) {
    /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void test_random_transfers_match_model_and_conserve_supply(void **state) {
    (void)state;
    uint64_t seed = (uint64_t)time(NULL);
    const char *env = getenv("PBFT_TEST_SEED");
    if (env) seed = strtoull(env, NULL, 10);
    printf("ledger_exec random seed: %" PRIu64 " (PBFT_TEST_SEED=%" PRIu64 " to replay)\n", seed,
           seed);
    uint64_t rng = seed;
    enum { KEYS = 24, BLOCKS = 400 };
    model_t *model = calloc(1, sizeof *model);
    pbft_genesis_t g;
    memset(&g, 0, sizeof g);
    pbft_account_t gen[8];
    uint64_t supply = 0;
    for (int i = 0; i < 8; i++) {
        addr_of((uint8_t)(i + 1), gen[i].address);
        gen[i].balance = 1 + rng_next(&rng) % 1000000;
        gen[i].nonce = 0;
        supply += gen[i].balance;
        *model_find(model, gen[i].address, true) = gen[i];
    }
    /* the memstate only needs the accounts, in any order */
    g.account_count = 8;
    g.accounts = gen;
    ledger_memstate_t *m = ledger_memstate_new(&g);
    ledger_state_reader_t reader = ledger_memstate_reader(m);
    uint8_t prev[32] = {0};
    size_t txs_total = 0, ok_total = 0;
    pbft_tx_t *txs = calloc(64, sizeof *txs);
    for (int b = 0; b < BLOCKS; b++) {
        uint32_t n = (uint32_t)(rng_next(&rng) % 33);
        model_t before = *model;
        pbft_tx_result_t expect[64];
        for (uint32_t i = 0; i < n; i++) {
            uint8_t from = (uint8_t)(1 + rng_next(&rng) % KEYS);
            uint8_t to = (uint8_t)(1 + rng_next(&rng) % (KEYS + 4));
            uint8_t from_addr[20];
            addr_of(from, from_addr);
            pbft_account_t *a = model_find(model, from_addr, false);
            uint64_t nonce = a ? a->nonce : 0;
            uint64_t bal = a ? a->balance : 0;
            uint64_t roll = rng_next(&rng) % 10;
            if (roll == 0) nonce += 1 + rng_next(&rng) % 3;
            if (roll == 1 && nonce > 0) nonce--;
            uint64_t amount = roll == 2   ? bal + 1 + rng_next(&rng) % 10
                              : roll == 3 ? 0
                              : roll == 4 ? UINT64_MAX
                              : bal       ? rng_next(&rng) % (bal / 4 + 1)
                                          : 0;
            txs[i] = tx_to(from, to, amount, nonce);
            expect[i] = model_apply(model, &txs[i]);
        }
        pbft_block_t block = {.header = {.height = (uint64_t)b + 1, .tx_count = n},
                              .txs = n ? txs : NULL};
        ledger_block_result_t r;
        ledger_execute_block(&block, &reader, prev, &r);
        for (uint32_t i = 0; i < n; i++) {
            if (r.tx_results[i] != expect[i])
                fail_msg("seed %" PRIu64 " block %d tx %u: got %d want %d", seed, b, i,
                         r.tx_results[i], expect[i]);
            ok_total += expect[i] == PBFT_TX_OK;
        }
        txs_total += n;
        /* the changed set is exactly the accounts the model changed */
        size_t model_changed = 0;
        for (size_t i = 0; i < model->count; i++) {
            pbft_account_t *old = model_find(&before, model->accounts[i].address, false);
            bool changed = !old || old->balance != model->accounts[i].balance ||
                           old->nonce != model->accounts[i].nonce;
            if (!changed) continue;
            model_changed++;
            bool found = false;
            for (uint32_t k = 0; k < r.changed_count; k++) {
                if (memcmp(r.changed[k].address, model->accounts[i].address, 20) != 0) continue;
                found = true;
                assert_true(r.changed[k].balance == model->accounts[i].balance);
                assert_true(r.changed[k].nonce == model->accounts[i].nonce);
                /* nonces only go up */
                if (old) assert_true(r.changed[k].nonce >= old->nonce);
            }
            if (!found) fail_msg("seed %" PRIu64 " block %d: changed account missing", seed, b);
        }
        assert_int_equal(r.changed_count, model_changed);
        ledger_memstate_apply(m, &r);
        memcpy(prev, r.state_hash, 32);
        ledger_block_result_free(&r);
        if (ledger_memstate_total_supply(m) != supply)
            fail_msg("seed %" PRIu64 " block %d: supply changed", seed, b);
        for (size_t i = 0; i < model->count; i++)
            assert_true(model->accounts[i].balance <= supply);
    }
    assert_int_equal(ledger_memstate_count(m), model->count);
    assert_true(txs_total > 5000);
    assert_true(ok_total > txs_total / 3);
    printf("ledger_exec random: %zu txs, %zu ok, %zu accounts\n", txs_total, ok_total,
           model->count);
    free(txs);
    free(model);
    ledger_memstate_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_tx_rules_table),
        cmocka_unit_test(test_later_txs_see_earlier_txs_of_the_same_block),
        cmocka_unit_test(test_failed_txs_change_nothing_not_even_recipient_existence),
        cmocka_unit_test(test_multiple_txs_of_one_sender_need_consecutive_nonces),
        cmocka_unit_test(test_empty_block_changes_nothing_and_chains_the_hash),
        cmocka_unit_test(test_state_hash_chain_known_answer),
        cmocka_unit_test(test_memstate_grows_and_keeps_every_account),
        cmocka_unit_test(test_random_transfers_match_model_and_conserve_supply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
