/*
 * tests/unit/store_corrupt_test.c — stored bytes rewritten behind the store's
 * back (store_debug_put_raw) are reported as PBFT_ERR_CORRUPT naming the
 * height, by reads, by store_verify_block and by store_open — never a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <rocksdb/c.h>

#include "store_fixture.h"

#define USERS 4
#define BLOCKS 5
#define TXS_PER_BLOCK 3

typedef struct ctx {
    fixture_t f;
    store_t *s;
    uint8_t ids[BLOCKS + 1][TXS_PER_BLOCK][32];
} ctx_t;

static int setup(void **state) {
    ctx_t *c = pbft_xcalloc(1, sizeof *c);
    if (!fixture_init(&c->f, USERS, "corrupt-test")) return -1;
    char err[256] = "";
    if (store_open(c->f.data_dir, &c->f.genesis, STORE_READ_WRITE, &c->s, err, sizeof err) !=
        PBFT_OK)
        return -1;
    for (uint64_t h = 1; h <= BLOCKS; h++) {
        pbft_tx_t txs[TXS_PER_BLOCK];
        for (uint32_t i = 0; i < TXS_PER_BLOCK; i++) {
            txs[i] = fixture_tx(&c->f, i, c->f.user_addr[i + 1], 10 + i, h - 1);
            codec_tx_id(&txs[i], c->ids[h][i]);
        }
        if (fixture_commit(&c->f, c->s, txs, TXS_PER_BLOCK, NULL) != PBFT_OK) return -1;
    }
    *state = c;
    return 0;
}

static int teardown(void **state) {
    ctx_t *c = *state;
    store_close(c->s);
    fixture_free(&c->f);
    free(c);
    return 0;
}

static void put_block(ctx_t *c, const pbft_block_t *b) {
    size_t size = codec_block_size(b);
    uint8_t *raw = malloc(size);
    assert_int_equal(codec_block_encode(b, raw, size), size);
    assert_int_equal(store_debug_put_raw(c->s, "block", b->header.height, raw, size), PBFT_OK);
    free(raw);
}

static void assert_verify_fails(ctx_t *c, uint64_t height, const char *reason) {
    char err[256] = "", want[64];
    assert_int_equal(store_verify_block(c->s, height, err, sizeof err), PBFT_ERR_CORRUPT);
    snprintf(want, sizeof want, "height %llu:", (unsigned long long)height);
    if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, reason))
        fail_msg("error \"%s\" does not start with \"%s\" or lacks \"%s\"", err, want, reason);
}

static void assert_verify_ok(ctx_t *c, uint64_t from, uint64_t to, uint64_t except) {
    for (uint64_t h = from; h <= to; h++) {
        if (h == except) continue;
        char err[256] = "";
        if (store_verify_block(c->s, h, err, sizeof err) != PBFT_OK)
            fail_msg("height %llu: %s", (unsigned long long)h, err);
    }
}

typedef struct seen {
    uint64_t last;
} seen_t;

static bool note_height(void *p, const pbft_block_t *b, const pbft_commit_cert_t *cert,
                        const uint8_t *raw, size_t size) {
    (void)cert;
    (void)raw;
    (void)size;
    ((seen_t *)p)->last = b->header.height;
    return true;
}

static void test_changed_tx_amount_is_reported_at_its_height(void **state) {
    ctx_t *c = *state;
    assert_verify_ok(c, 0, BLOCKS, UINT64_MAX);
    pbft_block_t b;
    assert_int_equal(store_get_block(c->s, 3, &b), PBFT_OK);
    b.txs[1].amount += 1; /* header (and its tx_root) unchanged */
    put_block(c, &b);
    codec_block_free(&b);
    assert_int_equal(store_get_block(c->s, 3, &b), PBFT_ERR_CORRUPT);
    assert_verify_fails(c, 3, "block");
    assert_verify_ok(c, 0, BLOCKS, 3);
    store_receipt_t r;
    assert_int_equal(store_get_receipt(c->s, c->ids[3][1], &r), PBFT_ERR_CORRUPT);
    assert_int_equal(store_get_receipt(c->s, c->ids[2][1], &r), PBFT_OK);
    seen_t seen = {.last = UINT64_MAX};
    assert_int_equal(store_iterate_blocks(c->s, 0, note_height, &seen), PBFT_ERR_CORRUPT);
    assert_true(seen.last == 2);
}

static void test_rewritten_block_with_matching_root_breaks_link_and_cert(void **state) {
    ctx_t *c = *state;
    pbft_block_t b;
    assert_int_equal(store_get_block(c->s, 3, &b), PBFT_OK);
    b.txs[0].amount += 1000;
    codec_block_tx_root(&b, NULL, b.header.tx_root); /* a self-consistent forgery */
    put_block(c, &b);
    codec_block_free(&b);
    assert_int_equal(store_get_block(c->s, 3, &b), PBFT_OK);
    codec_block_free(&b);
    assert_verify_fails(c, 3, "commit certificate does not certify");
    assert_verify_fails(c, 4, "prev_hash does not link to block 3");
    assert_verify_ok(c, 0, 2, UINT64_MAX);
    assert_verify_ok(c, 5, 5, UINT64_MAX);
}

static void test_flipped_cert_byte_is_reported_at_its_height(void **state) {
    ctx_t *c = *state;
    pbft_commit_cert_t cert;
    assert_int_equal(store_get_commit_cert(c->s, 2, &cert), PBFT_OK);
    uint8_t raw[2048];
    size_t size = codec_commit_cert_encode(&cert, raw, sizeof raw);
    assert_true(size > 0);
    raw[size - 20] ^= 0x01; /* inside the last signature */
    assert_int_equal(store_debug_put_raw(c->s, "cert", 2, raw, size), PBFT_OK);
    pbft_commit_cert_t got;
    pbft_status_t st = store_get_commit_cert(c->s, 2, &got);
    assert_true(st == PBFT_OK || st == PBFT_ERR_CORRUPT);
    assert_verify_fails(c, 2, "commit certificate");
    assert_verify_ok(c, 3, BLOCKS, UINT64_MAX);
    /* the seq field no longer matching the height */
    size = codec_commit_cert_encode(&cert, raw, sizeof raw);
    raw[8] ^= 0x01; /* u64 view | u64 seq: low byte of seq */
    assert_int_equal(store_debug_put_raw(c->s, "cert", 4, raw, size), PBFT_OK);
    assert_int_equal(store_get_commit_cert(c->s, 4, &got), PBFT_ERR_CORRUPT);
    assert_verify_fails(c, 4, "commit certificate");
    /* truncated */
    assert_int_equal(store_debug_put_raw(c->s, "cert", 5, raw, 10), PBFT_OK);
    assert_int_equal(store_get_commit_cert(c->s, 5, &got), PBFT_ERR_CORRUPT);
    assert_verify_fails(c, 5, "commit certificate");
    store_receipt_t r;
    assert_int_equal(store_get_receipt(c->s, c->ids[5][0], &r), PBFT_ERR_CORRUPT);
}

static void test_garbage_bytes_never_crash_a_reader(void **state) {
    ctx_t *c = *state;
    uint64_t rng = 12345;
    uint8_t buf[600];
    uint8_t *pristine[2] = {NULL, NULL};
    size_t pristine_size[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(
            store_get_block_raw(c->s, (uint64_t)k + 1, &pristine[k], &pristine_size[k]), PBFT_OK);
        assert_true(pristine_size[k] > 0 && pristine_size[k] <= sizeof buf);
    }
    for (int round = 0; round < 200; round++) {
        uint64_t h = 1 + (uint64_t)round % BLOCKS;
        size_t size = (size_t)(rng % sizeof buf);
        for (size_t i = 0; i < size; i++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            buf[i] = (uint8_t)(rng >> 56);
        }
        /* half the time: a real block with one byte changed */
        if (round % 2) {
            int k = h == 1 ? 1 : 0; /* another height's block: wrong height at least */
            size = pristine_size[k];
            memcpy(buf, pristine[k], size);
            buf[rng % size] ^= (uint8_t)(1 + rng % 255);
        }
        assert_int_equal(store_debug_put_raw(c->s, "block", h, buf, size), PBFT_OK);
        pbft_block_t b;
        pbft_block_header_t hdr;
        pbft_status_t st = store_get_block(c->s, h, &b);
        if (st == PBFT_OK) codec_block_free(&b);
        assert_true(st == PBFT_OK || st == PBFT_ERR_CORRUPT);
        st = store_get_header(c->s, h, &hdr);
        assert_true(st == PBFT_OK || st == PBFT_ERR_CORRUPT);
        char err[256];
        assert_int_not_equal(store_verify_block(c->s, h, err, sizeof err), PBFT_OK);
        store_receipt_t r;
        assert_int_not_equal(store_get_receipt(c->s, c->ids[h][0], &r), PBFT_OK);
        uint8_t ids[8][32];
        (void)store_account_history(c->s, c->f.user_addr[0], UINT64_MAX, ids, NULL, 8);
    }
    free(pristine[0]);
    free(pristine[1]);
}

/* Closes the store and expects both kinds of open to refuse it with `want`,
 * the message containing `text`. */
static void reopen_expect(ctx_t *c, pbft_status_t want, const char *text) {
    store_close(c->s);
    c->s = NULL;
    char err[256] = "";
    store_t *s = NULL;
    assert_int_equal(
        store_open(c->f.data_dir, &c->f.genesis, STORE_READ_WRITE, &s, err, sizeof err), want);
    assert_null(s);
    if (!strstr(err, text)) fail_msg("error \"%s\" lacks \"%s\"", err, text);
    /* read-only opens refuse it too */
    assert_int_equal(store_open(c->f.data_dir, &c->f.genesis, STORE_READ_ONLY, &s, err, sizeof err),
                     want);
}

static void reopen_expect_corrupt(ctx_t *c, const char *height_text) {
    reopen_expect(c, PBFT_ERR_CORRUPT, height_text);
}

/* Overwrites through a short-lived handle, then expects open to refuse. */
static void corrupt_and_reopen(ctx_t *c, const char *kind, uint64_t height, const uint8_t *bytes,
                               size_t size, const char *height_text) {
    assert_int_equal(store_debug_put_raw(c->s, kind, height, bytes, size), PBFT_OK);
    reopen_expect_corrupt(c, height_text);
}

static void test_changed_tip_block_fails_open_naming_the_height(void **state) {
    ctx_t *c = *state;
    pbft_block_t b;
    assert_int_equal(store_get_block(c->s, BLOCKS, &b), PBFT_OK);
    b.header.timestamp_ms++;
    size_t size = codec_block_size(&b);
    uint8_t *raw = malloc(size);
    assert_int_equal(codec_block_encode(&b, raw, size), size);
    corrupt_and_reopen(c, "block", BLOCKS, raw, size, "height 5");
    free(raw);
    codec_block_free(&b);
}

static void test_changed_tip_metadata_fails_open_naming_the_height(void **state) {
    ctx_t *c = *state;
    store_tip_t tip;
    store_get_tip(c->s, &tip);
    /* u64le height | block_hash | state_hash | u64le tx_count_total */
    uint8_t raw[8 + 32 + 32 + 8] = {0};
    for (int i = 0; i < 8; i++)
        raw[i] = (uint8_t)(tip.height >> (8 * i));
    memcpy(raw + 8, tip.block_hash, 32);
    memcpy(raw + 40, tip.state_hash, 32);
    raw[40] ^= 0x80;
    corrupt_and_reopen(c, "tip", 0, raw, sizeof raw, "height 5");
}

static void test_tip_metadata_pointing_at_an_older_block_fails_open(void **state) {
    ctx_t *c = *state;
    /* a tip that claims height 4 with block 4's real hashes: block 5 is past it */
    pbft_block_header_t h4;
    assert_int_equal(store_get_header(c->s, 4, &h4), PBFT_OK);
    uint8_t raw[80] = {4};
    codec_header_hash(&h4, raw + 8);
    assert_int_equal(store_get_state_hash(c->s, 4, raw + 40), PBFT_OK);
    corrupt_and_reopen(c, "tip", 0, raw, sizeof raw, "height 5");
}

static void test_truncated_tip_metadata_fails_open(void **state) {
    ctx_t *c = *state;
    uint8_t raw[10] = {0};
    assert_int_equal(store_debug_put_raw(c->s, "tip", 0, raw, sizeof raw), PBFT_OK);
    reopen_expect_corrupt(c, "tip metadata");
}

static void test_changed_tip_state_hash_fails_open(void **state) {
    ctx_t *c = *state;
    uint8_t h[32];
    assert_int_equal(store_get_state_hash(c->s, BLOCKS, h), PBFT_OK);
    h[0] ^= 1;
    corrupt_and_reopen(c, "state_hash", BLOCKS, h, 32, "height 5");
}

static void test_bad_results_are_reported_at_their_height(void **state) {
    ctx_t *c = *state;
    uint8_t bad[TXS_PER_BLOCK] = {0, 99, 0};
    assert_int_equal(store_debug_put_raw(c->s, "results", 4, bad, sizeof bad), PBFT_OK);
    uint8_t *results = NULL;
    uint32_t count = 0;
    assert_int_equal(store_get_block_results(c->s, 4, &results, &count), PBFT_ERR_CORRUPT);
    assert_verify_fails(c, 4, "tx results");
    assert_int_equal(store_debug_put_raw(c->s, "results", 3, bad, 2), PBFT_OK);
    assert_verify_fails(c, 3, "tx results");
    assert_int_equal(store_debug_put_raw(c->s, "nonsense", 3, bad, 2), PBFT_ERR_ARGUMENT);
}

/* User 0 sends tx 0 of every block (setup), so its history is heights 5..1. */
static size_t user0_history(ctx_t *c, uint64_t heights[BLOCKS + 1]) {
    uint8_t ids[BLOCKS + 1][32];
    size_t n = store_account_history(c->s, c->f.user_addr[0], UINT64_MAX, ids, heights, BLOCKS + 1);
    for (size_t i = 0; i < n; i++)
        assert_memory_equal(ids[i], c->ids[heights[i]][0], 32);
    return n;
}

static void test_bad_history_links_stop_the_walk(void **state) {
    ctx_t *c = *state;
    uint64_t heights[BLOCKS + 1];
    assert_int_equal(user0_history(c, heights), BLOCKS);
    for (size_t i = 0; i < BLOCKS; i++)
        assert_true(heights[i] == BLOCKS - i);
    /* Block 3's links, two per tx: "back" (0 none, else heights back + 1),
     * then the index. Garbage: the walk stops before height 3. */
    uint8_t garbage[] = {0xff};
    assert_int_equal(store_debug_put_raw(c->s, "links", 3, garbage, sizeof garbage), PBFT_OK);
    assert_int_equal(user0_history(c, heights), 2);
    /* Block 3 as written: tx i is user i -> user i+1, so
     * tx 0: user 0 <- (2,0), user 1 <- (2,1); tx 1: user 1 <- (3,0),
     * user 2 <- (2,2); tx 2: user 2 <- (3,1), user 3 <- (2,2). */
    uint8_t links[] = {2, 0, 2, 1, 1, 0, 2, 2, 1, 1, 2, 2, 7};
    assert_int_equal(store_debug_put_raw(c->s, "links", 3, links, sizeof links - 1), PBFT_OK);
    assert_int_equal(user0_history(c, heights), BLOCKS);
    /* trailing bytes */
    assert_int_equal(store_debug_put_raw(c->s, "links", 3, links, sizeof links), PBFT_OK);
    assert_int_equal(user0_history(c, heights), 2);
    /* tx 0 linking to itself (would loop) or forward: rejected likewise */
    links[0] = 1;
    links[1] = 0;
    assert_int_equal(store_debug_put_raw(c->s, "links", 3, links, sizeof links - 1), PBFT_OK);
    assert_int_equal(user0_history(c, heights), 2);
    links[1] = 1;
    assert_int_equal(store_debug_put_raw(c->s, "links", 3, links, sizeof links - 1), PBFT_OK);
    assert_int_equal(user0_history(c, heights), 2);
    /* well-formed, but to a tx user 0 is not in (block 2's tx 2): stops there */
    links[0] = 2;
    links[1] = 2;
    assert_int_equal(store_debug_put_raw(c->s, "links", 3, links, sizeof links - 1), PBFT_OK);
    assert_int_equal(user0_history(c, heights), 3);
    /* random bytes: never a crash, never more than there is */
    uint64_t rng = 777;
    for (int round = 0; round < 300; round++) {
        uint8_t buf[24];
        size_t size = 1 + (size_t)(rng % sizeof buf);
        for (size_t i = 0; i < size; i++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            buf[i] = (uint8_t)(rng >> 59); /* small values: plausible links */
        }
        assert_int_equal(
            store_debug_put_raw(c->s, "links", 1 + (uint64_t)round % BLOCKS, buf, size), PBFT_OK);
        assert_true(user0_history(c, heights) <= BLOCKS);
    }
}

static void test_store_of_another_format_is_refused(void **state) {
    ctx_t *c = *state;
    uint8_t old_format = 2; /* before account values were written behind */
    assert_int_equal(store_debug_put_raw(c->s, "format", 0, &old_format, 1), PBFT_OK);
    reopen_expect(c, PBFT_ERR_VERSION, "has format 2, this build reads format 4");
}

/* A directory of format 3 (one column family), of some other RocksDB user,
 * or with only some of this store's families: refused, read-write and
 * read-only, and no column family added (the open that reads its format
 * is read-only). */
static void expect_refused_unchanged(ctx_t *c, const char *dir, const char *text, size_t families) {
    store_t *s = NULL;
    char err[256] = "";
    for (int mode = 0; mode < 2; mode++) {
        store_mode_t m = mode ? STORE_READ_ONLY : STORE_READ_WRITE;
        assert_int_equal(store_open(dir, &c->f.genesis, m, &s, err, sizeof err), PBFT_ERR_VERSION);
        assert_null(s);
        if (!strstr(err, text)) fail_msg("error \"%s\" lacks \"%s\"", err, text);
    }
    rocksdb_options_t *o = rocksdb_options_create();
    size_t count = 0;
    char *rerr = NULL;
    char **names = rocksdb_list_column_families(o, dir, &count, &rerr);
    assert_null(rerr);
    assert_int_equal(count, families);
    assert_string_equal(names[0], "default");
    rocksdb_list_column_families_destroy(names, count);
    rocksdb_options_destroy(o);
}

static void test_directories_of_other_layouts_are_refused_and_left_alone(void **state) {
    ctx_t *c = *state;
    char dir[160];
    snprintf(dir, sizeof dir, "%s/format3", c->f.dir);
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, 1);
    char *err = NULL;
    rocksdb_t *db = rocksdb_open(o, dir, &err);
    assert_null(err);
    rocksdb_writeoptions_t *w = rocksdb_writeoptions_create();
    rocksdb_put(db, w, "Mchain_id", 9, (const char *)c->f.genesis.chain_id, PBFT_CHAIN_ID_SIZE,
                &err);
    assert_null(err);
    rocksdb_put(db, w, "X", 1, "y", 1, &err); /* not a store's key: the format decides */
    assert_null(err);
    rocksdb_close(db);
    expect_refused_unchanged(c, dir, "not a pbft-ledger data directory", 1);
    db = rocksdb_open(o, dir, &err);
    assert_null(err);
    rocksdb_put(db, w, "Mformat", 7, "\x03", 1, &err);
    assert_null(err);
    rocksdb_close(db);
    expect_refused_unchanged(c, dir, "has format 3, this build reads format 4", 1);
    /* format 4's number, without the consensus family */
    snprintf(dir, sizeof dir, "%s/partial", c->f.dir);
    rocksdb_options_set_create_missing_column_families(o, 1);
    const char *names[2] = {"default", "chain"};
    const rocksdb_options_t *family_options[2] = {o, o};
    rocksdb_column_family_handle_t *families[2] = {NULL, NULL};
    db = rocksdb_open_column_families(o, dir, 2, names, family_options, families, &err);
    assert_null(err);
    rocksdb_put(db, w, "Mformat", 7, "\x04", 1, &err);
    assert_null(err);
    for (int i = 0; i < 2; i++)
        rocksdb_column_family_handle_destroy(families[i]);
    rocksdb_close(db);
    expect_refused_unchanged(c, dir, "without this store's column family \"consensus\"", 2);
    rocksdb_writeoptions_destroy(w);
    rocksdb_options_destroy(o);
}

/* RocksDB with blob files on (not this store's options) adds a value that
 * goes to a blob file; both opens must refuse the directory, never hand a
 * blob reference to a secondary instance (which crashes on it). */
static void test_store_with_blob_files_is_refused(void **state) {
    ctx_t *c = *state;
    store_close(c->s);
    c->s = NULL;
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_enable_blob_files(o, 1);
    rocksdb_options_set_min_blob_size(o, 0);
    char *err = NULL;
    const char *names[3] = {"default", "chain", "consensus"};
    const rocksdb_options_t *family_options[3] = {o, o, o};
    rocksdb_column_family_handle_t *families[3] = {NULL, NULL, NULL};
    rocksdb_t *db =
        rocksdb_open_column_families(o, c->f.data_dir, 3, names, family_options, families, &err);
    assert_null(err);
    rocksdb_writeoptions_t *w = rocksdb_writeoptions_create();
    char value[4096];
    memset(value, 'v', sizeof value);
    rocksdb_put(db, w, "X-blob", 6, value, sizeof value, &err);
    assert_null(err);
    rocksdb_flushoptions_t *f = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(f, 1);
    rocksdb_flush(db, f, &err);
    assert_null(err);
    rocksdb_flushoptions_destroy(f);
    rocksdb_writeoptions_destroy(w);
    for (int i = 0; i < 3; i++)
        rocksdb_column_family_handle_destroy(families[i]);
    rocksdb_close(db);
    rocksdb_options_destroy(o);
    reopen_expect(c, PBFT_ERR_VERSION, "holds a RocksDB blob file");
}

static void reopen(ctx_t *c) {
    store_close(c->s);
    char err[256] = "";
    if (store_open(c->f.data_dir, &c->f.genesis, STORE_READ_WRITE, &c->s, err, sizeof err) !=
        PBFT_OK)
        fail_msg("reopen: %s", err);
}

static void test_a_corrupt_account_is_reported_not_executed_on(void **state) {
    ctx_t *c = *state;
    uint8_t raw[20 + 17];
    memcpy(raw, c->f.user_addr[0], 20);
    memset(raw + 20, 0, 17);
    raw[20 + 16] = 0x80; /* flags with an unknown bit */
    assert_int_equal(store_debug_put_raw(c->s, "account", 0, raw, sizeof raw), PBFT_OK);
    reopen(c); /* the writer's cache is empty again */
    pbft_account_t a;
    bool exists = true;
    assert_int_equal(store_get_account(c->s, c->f.user_addr[0], &a, &exists), PBFT_ERR_CORRUPT);
    uint8_t ids[4][32];
    assert_int_equal(store_account_history(c->s, c->f.user_addr[0], UINT64_MAX, ids, NULL, 4), 0);
    /* execution learns it through the status instead of a guess */
    pbft_status_t st = PBFT_ERR_ARGUMENT;
    ledger_state_reader_t reader = store_state_reader(c->s, &st);
    assert_int_equal(st, PBFT_OK);
    assert_true(reader.get(reader.ctx, c->f.user_addr[1], &a));
    assert_int_equal(st, PBFT_OK);
    assert_false(reader.get(reader.ctx, c->f.user_addr[0], &a));
    assert_int_equal(st, PBFT_ERR_CORRUPT);
    assert_true(a.balance == 0 && a.nonce == 0);
    /* and a commit that touches it fails whole: the tip stays */
    store_tip_t before, after;
    store_get_tip(c->s, &before);
    pbft_tx_t tx = fixture_tx(&c->f, 1, c->f.user_addr[0], 1, BLOCKS);
    pbft_block_t b;
    fixture_block(c->s, &tx, 1, 0, &b);
    pbft_commit_cert_t cert;
    fixture_cert(&c->f, &b.header, 3, &cert);
    ledger_block_result_t r = {0};
    ledger_execute_block(&b, &reader, before.state_hash, &r);
    assert_int_equal(store_commit_block(c->s, &b, &cert, &r), PBFT_ERR_CORRUPT);
    ledger_block_result_free(&r);
    codec_block_free(&b);
    store_get_tip(c->s, &after);
    assert_true(after.height == before.height);
    /* a short value and a value without its address are refused too */
    assert_int_equal(store_debug_put_raw(c->s, "account", 0, raw, 20 + 15), PBFT_OK);
    reopen(c);
    assert_int_equal(store_get_account(c->s, c->f.user_addr[0], &a, &exists), PBFT_ERR_CORRUPT);
    assert_int_equal(store_debug_put_raw(c->s, "account", 0, raw, 10), PBFT_ERR_ARGUMENT);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_changed_tx_amount_is_reported_at_its_height),
        T(test_rewritten_block_with_matching_root_breaks_link_and_cert),
        T(test_flipped_cert_byte_is_reported_at_its_height),
        T(test_garbage_bytes_never_crash_a_reader),
        T(test_changed_tip_block_fails_open_naming_the_height),
        T(test_changed_tip_metadata_fails_open_naming_the_height),
        T(test_tip_metadata_pointing_at_an_older_block_fails_open),
        T(test_truncated_tip_metadata_fails_open),
        T(test_changed_tip_state_hash_fails_open),
        T(test_bad_results_are_reported_at_their_height),
        T(test_bad_history_links_stop_the_walk),
        T(test_store_of_another_format_is_refused),
        T(test_store_with_blob_files_is_refused),
        T(test_directories_of_other_layouts_are_refused_and_left_alone),
        T(test_a_corrupt_account_is_reported_not_executed_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
