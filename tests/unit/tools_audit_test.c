/*
 * tests/unit/tools_audit_test.c — the audit behind pbft-verify: a genuine
 * chain (with a failed tx and checkpoints) passes with exact counts; each
 * kind of stored corruption is found at its height with its reason; two
 * diverging replicas are caught by the comparison.
 */
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <microhttpd.h>

#include "../../tools/common/audit.h"
#include "pbft/cert.h"
#include "pbft/codec.h"
#include "pbft/crypto.h"
#include "pbft/ledger.h"
#include "pbft/store.h"

#define CHAIN_HEIGHT 10
#define CHAIN_CHECKPOINT_INTERVAL 4
#define CHAIN_ACCOUNTS 3
#define TXS_PER_BLOCK 3

typedef struct chain {
    char dir[128];
    crypto_key_t *validators[4];
    crypto_key_t *accounts[CHAIN_ACCOUNTS];
    uint8_t addresses[CHAIN_ACCOUNTS][PBFT_ADDRESS_SIZE];
    uint64_t nonces[CHAIN_ACCOUNTS];
    pbft_genesis_t genesis;
    uint64_t tx_count;
} chain_t;

static void make_genesis(chain_t *c) {
    pbft_genesis_t *g = &c->genesis;
    snprintf(g->chain_name, sizeof(g->chain_name), "audit-test");
    g->genesis_time_ms = 1700000000000ull;
    g->validators.count = 4;
    for (int i = 0; i < 4; i++) {
        c->validators[i] = crypto_key_generate();
        crypto_key_public(c->validators[i], g->validators.pubkeys[i]);
    }
    g->params = (pbft_consensus_params_t){CHAIN_CHECKPOINT_INTERVAL, 500, 2, 4, 2000, 4000};
    g->account_count = CHAIN_ACCOUNTS;
    g->accounts = pbft_xcalloc(CHAIN_ACCOUNTS, sizeof(pbft_account_t));
    for (int i = 0; i < CHAIN_ACCOUNTS; i++) {
        uint8_t pubkey[PBFT_PUBKEY_SIZE];
        c->accounts[i] = crypto_key_generate();
        crypto_key_public(c->accounts[i], pubkey);
        crypto_address(pubkey, c->addresses[i]);
        g->accounts[i].balance = 1000;
    }
    /* genesis accounts must be sorted by address */
    for (int i = 0; i < CHAIN_ACCOUNTS; i++)
        memcpy(g->accounts[i].address, c->addresses[i], 20);
    for (int i = 0; i < CHAIN_ACCOUNTS; i++)
        for (int j = i + 1; j < CHAIN_ACCOUNTS; j++)
            if (memcmp(g->accounts[j].address, g->accounts[i].address, 20) < 0) {
                pbft_account_t t = g->accounts[i];
                g->accounts[i] = g->accounts[j];
                g->accounts[j] = t;
            }
    ledger_genesis_derive(g);
}

static void make_block(chain_t *c, uint64_t h, const store_tip_t *tip, pbft_block_t *b) {
    memset(b, 0, sizeof(*b));
    b->txs = pbft_xcalloc(TXS_PER_BLOCK, sizeof(pbft_tx_t));
    for (uint32_t i = 0; i < TXS_PER_BLOCK; i++) {
        int from = (int)((h + i) % CHAIN_ACCOUNTS), to = (from + 1) % CHAIN_ACCOUNTS;
        pbft_tx_t *tx = &b->txs[i];
        crypto_key_public(c->accounts[from], tx->sender_pubkey);
        memcpy(tx->recipient, c->addresses[to], PBFT_ADDRESS_SIZE);
        tx->amount = 7 + h;
        /* block 6's last tx replays a used nonce: it must fail as bad_nonce */
        bool replayed = h == 6 && i == TXS_PER_BLOCK - 1;
        tx->nonce = replayed ? 0 : c->nonces[from]++;
        assert_int_equal(codec_tx_sign(tx, c->accounts[from], c->genesis.chain_id), PBFT_OK);
    }
    b->header.version = PBFT_BLOCK_VERSION;
    b->header.height = h;
    b->header.timestamp_ms = 1700000000000ull + h;
    memcpy(b->header.prev_hash, tip->block_hash, PBFT_HASH_SIZE);
    b->header.tx_count = TXS_PER_BLOCK;
    b->header.proposer = (uint32_t)(h % 4);
    codec_block_tx_root(b, NULL, b->header.tx_root);
    c->tx_count += TXS_PER_BLOCK;
}

static void sign_commit(chain_t *c, const pbft_block_header_t *h, pbft_commit_cert_t *cert) {
    memset(cert, 0, sizeof(*cert));
    cert->seq = h->height;
    codec_header_hash(h, cert->block_hash);
    cert->count = 3;
    for (uint16_t r = 0; r < 3; r++) {
        uint8_t digest[PBFT_HASH_SIZE];
        cert_vote_digest(CRYPTO_TAG_COMMIT, c->genesis.chain_id, 0, h->height, cert->block_hash, r,
                         digest);
        cert->sigs[r].replica = r;
        assert_int_equal(crypto_sign_digest(c->validators[r], digest, cert->sigs[r].signature),
                         PBFT_OK);
    }
}

static void put_checkpoint(chain_t *c, store_t *s, uint64_t h) {
    store_tip_t tip;
    store_get_tip(s, &tip);
    pbft_checkpoint_cert_t cert;
    memset(&cert, 0, sizeof(cert));
    cert.height = h;
    memcpy(cert.block_hash, tip.block_hash, PBFT_HASH_SIZE);
    memcpy(cert.state_hash, tip.state_hash, PBFT_HASH_SIZE);
    cert.count = 3;
    for (uint16_t r = 0; r < 3; r++) {
        uint8_t digest[PBFT_HASH_SIZE];
        cert_checkpoint_digest(c->genesis.chain_id, h, cert.block_hash, cert.state_hash, r, digest);
        cert.sigs[r].replica = r;
        assert_int_equal(crypto_sign_digest(c->validators[r], digest, cert.sigs[r].signature),
                         PBFT_OK);
    }
    assert_int_equal(store_put_checkpoint_cert(s, &cert), PBFT_OK);
}

static store_t *open_rw(chain_t *c) {
    store_t *s = NULL;
    char err[256];
    assert_int_equal(store_open(c->dir, &c->genesis, STORE_READ_WRITE, &s, err, sizeof(err)),
                     PBFT_OK);
    return s;
}

/* Commits heights 1..height with certificates and checkpoints. */
static void build_chain_to(chain_t *c, uint64_t height) {
    store_t *s = open_rw(c);
    for (uint64_t h = 1; h <= height; h++) {
        store_tip_t tip;
        store_get_tip(s, &tip);
        pbft_block_t b;
        make_block(c, h, &tip, &b);
        pbft_commit_cert_t cert;
        sign_commit(c, &b.header, &cert);
        ledger_block_result_t res;
        ledger_state_reader_t reader = store_state_reader(s, NULL);
        ledger_execute_block(&b, &reader, tip.state_hash, &res);
        assert_int_equal(store_commit_block(s, &b, &cert, &res), PBFT_OK);
        ledger_block_result_free(&res);
        codec_block_free(&b);
        if (h % CHAIN_CHECKPOINT_INTERVAL == 0) put_checkpoint(c, s, h);
    }
    store_close(s);
}

static void build_chain(chain_t *c) {
    build_chain_to(c, CHAIN_HEIGHT);
}

static chain_t *new_chain_to(uint64_t height) {
    chain_t *c = pbft_xcalloc(1, sizeof(*c));
    snprintf(c->dir, sizeof(c->dir), "/tmp/pbft-audit-test.XXXXXX");
    assert_non_null(mkdtemp(c->dir));
    make_genesis(c);
    build_chain_to(c, height);
    return c;
}

static chain_t *new_chain(void) {
    return new_chain_to(CHAIN_HEIGHT);
}

static void free_chain(chain_t *c) {
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", c->dir);
    assert_int_equal(system(cmd), 0);
    for (int i = 0; i < 4; i++)
        crypto_key_free(c->validators[i]);
    for (int i = 0; i < CHAIN_ACCOUNTS; i++)
        crypto_key_free(c->accounts[i]);
    ledger_genesis_free(&c->genesis);
    free(c);
}

/* The audit with batches of at most batch_blocks blocks (0: default) that
 * close once they hold batch_txs txs (0: default). */
static void audit_batched(chain_t *c, bool keep_going, size_t batch_blocks, size_t batch_txs,
                          audit_report_t *report) {
    audit_source_t src;
    char err[512] = "";
    assert_int_equal(audit_source_open_dir(&src, c->dir, &c->genesis, err, sizeof(err)), 0);
    audit_options_t opts = {.keep_going = keep_going,
                            .threads = 2,
                            .batch_blocks = batch_blocks,
                            .batch_txs = batch_txs};
    assert_int_equal(audit_chain(&src, &c->genesis, &opts, report, err, sizeof(err)), PBFT_OK);
    audit_source_close(&src);
}

static void audit(chain_t *c, bool keep_going, audit_report_t *report) {
    audit_batched(c, keep_going, 0, 0, report);
}

static void expect_failure(const audit_report_t *r, size_t index, uint64_t height,
                           const char *needle) {
    assert_true(r->failure_count > index);
    const audit_failure_t *f = &r->failures[index];
    if (f->height != height || !strstr(f->reason, needle))
        fail_msg("failure %zu: expected height %llu \"%s\", got height %llu \"%s\"", index,
                 (unsigned long long)height, needle, (unsigned long long)f->height, f->reason);
}

/* Expects the first failure at height with reason containing needle, with
 * the default batches, one-block batches (many in flight) and 8-block ones. */
static void expect_first_failure(chain_t *c, uint64_t height, const char *needle) {
    const size_t batch_blocks[] = {0, 1, 8};
    for (size_t i = 0; i < sizeof(batch_blocks) / sizeof(batch_blocks[0]); i++) {
        audit_report_t r;
        audit_batched(c, false, batch_blocks[i], 0, &r);
        expect_failure(&r, 0, height, needle);
        assert_int_equal(r.tip, height);
        audit_report_free(&r);
    }
}

/* Every height 1..height checked: exact block, tx and certificate counts. */
static void expect_whole_chain_counted(const audit_report_t *r, const chain_t *c, uint64_t height) {
    assert_int_equal(r->tip, height);
    assert_int_equal(r->blocks, height);
    assert_int_equal(r->txs, c->tx_count);
    assert_int_equal(r->checkpoint_certs, height / CHAIN_CHECKPOINT_INTERVAL);
}

static void test_audit_genuine_chain_passes_with_exact_counts(void **state) {
    (void)state;
    chain_t *c = new_chain();
    audit_report_t r;
    audit(c, true, &r);
    for (size_t i = 0; i < r.failure_count; i++)
        print_message("failure: height %llu: %s\n", (unsigned long long)r.failures[i].height,
                      r.failures[i].reason);
    assert_int_equal(r.failure_count, 0);
    expect_whole_chain_counted(&r, c, CHAIN_HEIGHT);
    assert_int_equal(r.commit_certs, CHAIN_HEIGHT);
    assert_int_equal(r.supply, 1000 * CHAIN_ACCOUNTS);
    audit_report_free(&r);
    free_chain(c);
}

static void tamper(chain_t *c, const char *kind, uint64_t h, const uint8_t *bytes, size_t size) {
    store_t *s = open_rw(c);
    assert_int_equal(store_debug_put_raw(s, kind, h, bytes, size), PBFT_OK);
    store_close(s);
}

static void test_audit_names_height_of_altered_tx_amount(void **state) {
    (void)state;
    chain_t *c = new_chain();
    store_t *s = open_rw(c);
    pbft_block_t b;
    assert_int_equal(store_get_block(s, 5, &b), PBFT_OK);
    store_close(s);
    b.txs[1].amount += 1;
    uint8_t raw[8192];
    size_t size = codec_block_encode(&b, raw, sizeof(raw));
    codec_block_free(&b);
    tamper(c, "block", 5, raw, size);
    expect_first_failure(c, 5, "Merkle root");
    free_chain(c);
}

static void test_audit_names_height_of_bad_certificate_signature(void **state) {
    (void)state;
    chain_t *c = new_chain();
    store_t *s = open_rw(c);
    pbft_commit_cert_t cert;
    assert_int_equal(store_get_commit_cert(s, 3, &cert), PBFT_OK);
    store_close(s);
    cert.sigs[1].signature[20] ^= 0x01;
    uint8_t raw[4096];
    size_t size = codec_commit_cert_encode(&cert, raw, sizeof(raw));
    tamper(c, "cert", 3, raw, size);
    expect_first_failure(c, 3, "commit certificate: invalid signature (entry 1");
    free_chain(c);
}

static void test_audit_names_height_of_altered_stored_result(void **state) {
    (void)state;
    chain_t *c = new_chain();
    uint8_t results[TXS_PER_BLOCK] = {PBFT_TX_OK, PBFT_TX_OK, PBFT_TX_OK}; /* really bad_nonce */
    tamper(c, "results", 6, results, sizeof(results));
    expect_first_failure(c, 6, "tx 2: stored result ok, replay gives bad_nonce");
    free_chain(c);
}

static void test_audit_names_height_of_altered_state_hash(void **state) {
    (void)state;
    chain_t *c = new_chain();
    uint8_t hash[PBFT_HASH_SIZE];
    memset(hash, 0xab, sizeof(hash));
    tamper(c, "state_hash", 7, hash, sizeof(hash));
    expect_first_failure(c, 7, "state hash");
    free_chain(c);
}

static void test_audit_names_height_of_broken_hash_link(void **state) {
    (void)state;
    chain_t *c = new_chain();
    store_t *s = open_rw(c);
    pbft_block_t b;
    assert_int_equal(store_get_block(s, 9, &b), PBFT_OK);
    store_close(s);
    b.header.prev_hash[0] ^= 1;
    uint8_t raw[8192];
    size_t size = codec_block_encode(&b, raw, sizeof(raw));
    codec_block_free(&b);
    tamper(c, "block", 9, raw, size);
    expect_first_failure(c, 9, "prev_hash does not link to block 8");
    free_chain(c);
}

static void test_audit_keep_going_lists_every_failure(void **state) {
    (void)state;
    chain_t *c = new_chain();
    uint8_t hash[PBFT_HASH_SIZE];
    memset(hash, 0xcd, sizeof(hash));
    tamper(c, "state_hash", 2, hash, sizeof(hash));
    tamper(c, "state_hash", 9, hash, sizeof(hash));
    audit_report_t r;
    audit(c, true, &r);
    assert_int_equal(r.failure_count, 2);
    assert_int_equal(r.failures[0].height, 2);
    assert_int_equal(r.failures[1].height, 9);
    audit_report_free(&r);
    free_chain(c);
}

/* The audit reads and verifies blocks in batches (here of 8 blocks, as in a
 * chain of big blocks): heights past the first batch must be checked and
 * named exactly the same way. */
static void test_audit_spans_batches_and_names_a_late_height(void **state) {
    (void)state;
    chain_t *c = new_chain_to(70);
    audit_report_t r;
    audit_batched(c, false, 8, 0, &r);
    assert_int_equal(r.failure_count, 0);
    expect_whole_chain_counted(&r, c, 70);
    audit_report_free(&r);
    uint8_t hash[PBFT_HASH_SIZE];
    memset(hash, 0xee, sizeof(hash));
    tamper(c, "state_hash", 66, hash, sizeof(hash));
    expect_first_failure(c, 66, "state hash");
    free_chain(c);
}

/* Rewrites block h's stored bytes after edit() changed the decoded block. */
static void tamper_block(chain_t *c, uint64_t h, void (*edit)(pbft_block_t *b)) {
    store_t *s = open_rw(c);
    pbft_block_t b;
    assert_int_equal(store_get_block(s, h, &b), PBFT_OK);
    store_close(s);
    edit(&b);
    size_t cap = codec_block_size(&b);
    uint8_t *raw = pbft_xmalloc(cap);
    size_t size = codec_block_encode(&b, raw, cap);
    assert_true(size > 0);
    codec_block_free(&b);
    tamper(c, "block", h, raw, size);
    free(raw);
}

/* The tx id leaves the signature out, so the Merkle root, the block hash and
 * the commit certificate all still match: only the signature check sees it. */
static void flip_tx1_signature(pbft_block_t *b) {
    b->txs[1].signature[20] ^= 0x01;
}

static void tamper_cert(chain_t *c, uint64_t h) {
    store_t *s = open_rw(c);
    pbft_commit_cert_t cert;
    assert_int_equal(store_get_commit_cert(s, h, &cert), PBFT_OK);
    store_close(s);
    cert.sigs[0].signature[20] ^= 0x01;
    uint8_t raw[4096];
    size_t size = codec_commit_cert_encode(&cert, raw, sizeof(raw));
    tamper(c, "cert", h, raw, size);
}

static void test_audit_names_bad_signature_in_a_later_block_of_a_batch(void **state) {
    (void)state;
    chain_t *c = new_chain();
    tamper_block(c, 7, flip_tx1_signature);
    expect_first_failure(c, 7, "tx 1: bad signature (invalid signature)");
    audit_report_t r;
    audit(c, true, &r);
    assert_int_equal(r.failure_count, 2);
    expect_failure(&r, 1, 7, "replay stops here");
    assert_int_equal(r.tip, CHAIN_HEIGHT);
    assert_int_equal(r.blocks, CHAIN_HEIGHT);
    audit_report_free(&r);
    free_chain(c);
}

/* With one-block batches the pool has checked later batches (and found their
 * failures) before the caller reaches the first bad height: the report still
 * names that height first and, without --keep-going, nothing after it. */
static void test_audit_reports_first_bad_height_although_later_batches_were_checked(void **state) {
    (void)state;
    chain_t *c = new_chain_to(40);
    tamper_block(c, 9, flip_tx1_signature);
    tamper_cert(c, 10);
    tamper_cert(c, 30);
    for (size_t blocks = 1; blocks <= 3; blocks++) {
        audit_report_t r;
        audit_batched(c, false, blocks, 0, &r);
        assert_int_equal(r.failure_count, 2); /* the bad tx and "replay stops here" */
        expect_failure(&r, 0, 9, "tx 1: bad signature");
        expect_failure(&r, 1, 9, "replay stops here");
        assert_int_equal(r.tip, 9);
        audit_report_free(&r);
        audit_batched(c, true, blocks, 1, &r);
        assert_int_equal(r.failure_count, 4);
        expect_failure(&r, 2, 10, "commit certificate: invalid signature (entry 0, replica 0)");
        expect_failure(&r, 3, 30, "commit certificate: invalid signature (entry 0, replica 0)");
        assert_int_equal(r.tip, 40);
        assert_int_equal(r.commit_certs, 38);
        audit_report_free(&r);
    }
    free_chain(c);
}

static void test_audit_names_height_of_bad_checkpoint_signature(void **state) {
    (void)state;
    chain_t *c = new_chain();
    store_t *s = open_rw(c);
    pbft_checkpoint_cert_t cert;
    assert_int_equal(store_get_checkpoint_cert(s, 8, &cert), PBFT_OK);
    cert.sigs[2].signature[20] ^= 0x01;
    assert_int_equal(store_put_checkpoint_cert(s, &cert), PBFT_OK);
    store_close(s);
    expect_first_failure(c, 8, "checkpoint certificate: invalid signature (entry 2, replica 2)");
    free_chain(c);
}

static void test_audit_stops_at_a_block_that_does_not_decode(void **state) {
    (void)state;
    chain_t *c = new_chain();
    uint8_t garbage[40];
    memset(garbage, 0x5a, sizeof(garbage));
    tamper(c, "block", 4, garbage, sizeof(garbage));
    expect_first_failure(c, 4, "block does not decode");
    audit_report_t r;
    audit(c, true, &r);
    assert_true(r.stopped);
    assert_int_equal(r.failure_count, 1);
    assert_int_equal(r.blocks, 3);
    audit_report_free(&r);
    free_chain(c);
}

static void test_audit_of_an_empty_chain_passes(void **state) {
    (void)state;
    chain_t *c = new_chain_to(0);
    audit_report_t r;
    audit(c, false, &r);
    assert_int_equal(r.failure_count, 0);
    assert_int_equal(r.tip, 0);
    assert_int_equal(r.blocks, 0);
    assert_int_equal(r.txs, 0);
    assert_int_equal(r.supply, 1000 * CHAIN_ACCOUNTS);
    audit_report_free(&r);
    free_chain(c);
}

/* Every batch shape gives the same exact counts: a chain shorter than one
 * batch, one block per batch, and batches that close on their tx count. */
static void test_audit_counts_do_not_depend_on_batch_shape(void **state) {
    (void)state;
    chain_t *c = new_chain_to(13);
    const size_t shapes[][2] = {{0, 0}, {64, 0}, {1, 0}, {3, 0}, {0, 4}, {5, 7}};
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        audit_report_t r;
        audit_batched(c, false, shapes[i][0], shapes[i][1], &r);
        assert_int_equal(r.failure_count, 0);
        expect_whole_chain_counted(&r, c, 13);
        assert_int_equal(r.commit_certs, 13);
        audit_report_free(&r);
    }
    free_chain(c);
}

typedef struct pool_counts {
    _Atomic unsigned runs[300];
} pool_counts_t;

static void count_index(void *ctx, size_t i) {
    pool_counts_t *p = ctx;
    p->runs[i]++;
}

/* Tasks run every index exactly once, in any mix of waiting and cancelling;
 * a cancelled task runs each index at most once. */
static void test_sigpool_runs_each_index_once_and_cancels(void **state) {
    (void)state;
    for (size_t threads = 1; threads <= 3; threads++) {
        audit_sigpool_t *pool = audit_sigpool_new(threads, "test-pool");
        assert_int_equal(audit_sigpool_threads(pool), threads);
        pool_counts_t *counts = pbft_xcalloc(3, sizeof(pool_counts_t));
        audit_task_t tasks[3];
        memset(tasks, 0, sizeof(tasks));
        for (size_t t = 0; t < 3; t++) {
            tasks[t] =
                (audit_task_t){.fn = count_index, .ctx = &counts[t], .count = 300, .chunk = t + 1};
            audit_sigpool_submit(pool, &tasks[t]);
        }
        audit_sigpool_cancel(pool, &tasks[1]);
        audit_sigpool_wait(pool, &tasks[2]);
        audit_sigpool_wait(pool, &tasks[0]);
        for (size_t i = 0; i < 300; i++) {
            assert_int_equal(counts[0].runs[i], 1);
            assert_true(counts[1].runs[i] <= 1);
            assert_int_equal(counts[2].runs[i], 1);
        }
        audit_task_t empty = {.fn = count_index, .ctx = &counts[1], .count = 0};
        audit_sigpool_submit(pool, &empty);
        audit_sigpool_wait(pool, &empty);
        audit_sigpool_cancel(pool, &tasks[2]); /* already done: nothing to drop */
        audit_sigpool_submit(pool, &tasks[0]); /* a task can be submitted again */
        audit_sigpool_wait(pool, &tasks[0]);
        for (size_t i = 0; i < 300; i++)
            assert_int_equal(counts[0].runs[i], 2);
        free(counts);
        audit_sigpool_free(pool);
    }
}

/* ------------------------------------------------------------------------ */
/* --node: a small HTTP server in front of the test store answers like a     */
/* node (one block per request), with a chosen height missing or failing.    */

typedef struct fake_node {
    struct MHD_Daemon *daemon;
    store_t *store;
    uint64_t missing_height; /* answers 404 (0: none) */
    uint64_t error_height;   /* answers 500 (0: none) */
    char url[64];
} fake_node_t;

static json_t *hex_json(const uint8_t *bytes, size_t size) {
    char *text = pbft_xmalloc(2 * size + 1);
    crypto_hex_encode(bytes, size, text);
    json_t *v = json_string(text);
    free(text);
    return v;
}

static json_t *fake_block_json(fake_node_t *n, uint64_t h) {
    uint8_t *raw = NULL, *results = NULL;
    size_t size = 0;
    uint32_t count = 0;
    if (store_get_block_raw(n->store, h, &raw, &size) != PBFT_OK) return NULL;
    json_t *doc = json_object();
    json_object_set_new(doc, "block_hex", hex_json(raw, size));
    free(raw);
    pbft_commit_cert_t cert;
    if (h > 0 && store_get_commit_cert(n->store, h, &cert) == PBFT_OK) {
        uint8_t buf[4096];
        json_object_set_new(doc, "cert_hex",
                            hex_json(buf, codec_commit_cert_encode(&cert, buf, sizeof(buf))));
    }
    json_t *txs = json_array();
    if (h > 0 && store_get_block_results(n->store, h, &results, &count) == PBFT_OK) {
        for (uint32_t i = 0; i < count; i++)
            json_array_append_new(
                txs,
                json_pack("{s:s}", "result", pbft_tx_result_string((pbft_tx_result_t)results[i])));
        free(results);
    }
    json_object_set_new(doc, "txs", txs);
    uint8_t state_hash[PBFT_HASH_SIZE];
    if (store_get_state_hash(n->store, h, state_hash) == PBFT_OK)
        json_object_set_new(doc, "state_hash", hex_json(state_hash, PBFT_HASH_SIZE));
    return doc;
}

static json_t *fake_checkpoint_json(fake_node_t *n, uint64_t h) {
    pbft_checkpoint_cert_t cert;
    if (store_get_checkpoint_cert(n->store, h, &cert) != PBFT_OK) return NULL;
    uint8_t buf[4096];
    return json_pack("{s:o}", "cert_hex",
                     hex_json(buf, codec_checkpoint_cert_encode(&cert, buf, sizeof(buf))));
}

static enum MHD_Result fake_answer(struct MHD_Connection *c, unsigned status, json_t *doc) {
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : strdup("{\"error\":\"x\"}");
    json_decref(doc);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result fake_serve(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **req) {
    (void)method, (void)version, (void)upload, (void)upload_size, (void)req;
    fake_node_t *n = cls;
    unsigned long long h = 0;
    if (strcmp(url, "/status") == 0) {
        store_tip_t tip;
        store_get_tip(n->store, &tip);
        char height[24];
        snprintf(height, sizeof(height), "%llu", (unsigned long long)tip.height);
        return fake_answer(c, 200, json_pack("{s:s}", "height", height));
    }
    if (sscanf(url, "/block/%llu", &h) == 1) {
        if (h == n->error_height && h) return fake_answer(c, 500, NULL);
        json_t *doc = h == n->missing_height && h ? NULL : fake_block_json(n, h);
        return fake_answer(c, doc ? 200 : 404, doc);
    }
    if (sscanf(url, "/checkpoint/%llu", &h) == 1) {
        json_t *doc = fake_checkpoint_json(n, h);
        return fake_answer(c, doc ? 200 : 404, doc);
    }
    return fake_answer(c, 404, NULL);
}

static fake_node_t *fake_node_start(chain_t *c) {
    fake_node_t *n = pbft_xcalloc(1, sizeof(*n));
    n->store = open_rw(c);
    n->daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
                                 NULL, NULL, fake_serve, n, MHD_OPTION_END);
    assert_non_null(n->daemon);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(n->daemon, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(n->url, sizeof(n->url), "http://127.0.0.1:%u", (unsigned)info->port);
    return n;
}

static void fake_node_stop(fake_node_t *n) {
    MHD_stop_daemon(n->daemon);
    store_close(n->store);
    free(n);
}

static pbft_status_t audit_node(chain_t *c, fake_node_t *n, bool keep_going, size_t batch_blocks,
                                audit_report_t *report, char *err, size_t err_size) {
    audit_source_t src;
    assert_int_equal(audit_source_open_node(&src, n->url, 5000, err, err_size), 0);
    audit_options_t opts = {.keep_going = keep_going, .threads = 2, .batch_blocks = batch_blocks};
    pbft_status_t st = audit_chain(&src, &c->genesis, &opts, report, err, err_size);
    audit_source_close(&src);
    return st;
}

/* Blocks come over several connections at once; heights fetched past a
 * missing one or a failing request are dropped, and the audit reports the
 * same things as over the store. */
static void test_audit_over_node_matches_store_and_names_missing_and_failing_heights(void **s) {
    (void)s;
    chain_t *c = new_chain_to(45);
    tamper_block(c, 9, flip_tx1_signature);
    fake_node_t *n = fake_node_start(c);
    char err[512] = "";
    for (size_t blocks = 0; blocks <= 5; blocks += 5) {
        audit_report_t r;
        assert_int_equal(audit_node(c, n, true, blocks, &r, err, sizeof(err)), PBFT_OK);
        assert_int_equal(r.failure_count, 2);
        expect_failure(&r, 0, 9, "tx 1: bad signature");
        expect_whole_chain_counted(&r, c, 45);
        assert_int_equal(r.commit_certs, 45);
        audit_report_free(&r);
    }
    n->missing_height = 23;
    audit_report_t r;
    assert_int_equal(audit_node(c, n, true, 0, &r, err, sizeof(err)), PBFT_OK);
    expect_failure(&r, 2, 23, "block missing (heights must be contiguous)");
    assert_true(r.stopped);
    assert_int_equal(r.blocks, 22);
    audit_report_free(&r);
    n->missing_height = 0;
    n->error_height = 31;
    assert_int_equal(audit_node(c, n, true, 0, &r, err, sizeof(err)), PBFT_ERR_UNAVAILABLE);
    assert_non_null(strstr(err, "/block/31: HTTP 500"));
    audit_report_free(&r);
    fake_node_stop(n);
    free_chain(c);
}

static void test_compare_finds_diverging_replicas(void **state) {
    (void)state;
    chain_t *c = new_chain();
    /* a second store with the same genesis but other blocks (other txs) */
    chain_t *d = pbft_xcalloc(1, sizeof(*d));
    *d = *c;
    snprintf(d->dir, sizeof(d->dir), "/tmp/pbft-audit-test.XXXXXX");
    assert_non_null(mkdtemp(d->dir));
    memset(d->nonces, 0, sizeof(d->nonces));
    d->nonces[0] = 100; /* different txs from height 1 on */
    build_chain(d);
    audit_source_t src[3];
    char err[512];
    assert_int_equal(audit_source_open_dir(&src[0], c->dir, &c->genesis, err, sizeof(err)), 0);
    assert_int_equal(audit_source_open_dir(&src[1], c->dir, &c->genesis, err, sizeof(err)), 0);
    assert_int_equal(audit_source_open_dir(&src[2], d->dir, &c->genesis, err, sizeof(err)), 0);
    audit_options_t opts = {.threads = 1};
    audit_report_t r;
    memset(&r, 0, sizeof(r));
    uint64_t common = 0;
    assert_int_equal(audit_compare(src, 2, &opts, &r, &common, err, sizeof(err)), PBFT_OK);
    assert_int_equal(r.failure_count, 0);
    assert_int_equal(common, CHAIN_HEIGHT);
    assert_int_equal(audit_compare(src, 3, &opts, &r, &common, err, sizeof(err)), PBFT_OK);
    assert_int_equal(r.failure_count, 1);
    assert_int_equal(r.failures[0].height, 1);
    assert_non_null(strstr(r.failures[0].reason, "replicas disagree"));
    audit_report_free(&r);
    for (int i = 0; i < 3; i++)
        audit_source_close(&src[i]);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->dir);
    assert_int_equal(system(cmd), 0);
    free(d); /* keys and genesis are shared with c */
    free_chain(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_audit_genuine_chain_passes_with_exact_counts),
        cmocka_unit_test(test_audit_names_height_of_altered_tx_amount),
        cmocka_unit_test(test_audit_names_height_of_bad_certificate_signature),
        cmocka_unit_test(test_audit_names_height_of_altered_stored_result),
        cmocka_unit_test(test_audit_names_height_of_altered_state_hash),
        cmocka_unit_test(test_audit_names_height_of_broken_hash_link),
        cmocka_unit_test(test_audit_keep_going_lists_every_failure),
        cmocka_unit_test(test_audit_spans_batches_and_names_a_late_height),
        cmocka_unit_test(test_audit_names_bad_signature_in_a_later_block_of_a_batch),
        cmocka_unit_test(test_audit_reports_first_bad_height_although_later_batches_were_checked),
        cmocka_unit_test(test_audit_names_height_of_bad_checkpoint_signature),
        cmocka_unit_test(test_audit_stops_at_a_block_that_does_not_decode),
        cmocka_unit_test(test_audit_of_an_empty_chain_passes),
        cmocka_unit_test(test_audit_counts_do_not_depend_on_batch_shape),
        cmocka_unit_test(test_sigpool_runs_each_index_once_and_cancels),
        cmocka_unit_test(test_audit_over_node_matches_store_and_names_missing_and_failing_heights),
        cmocka_unit_test(test_compare_finds_diverging_replicas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
