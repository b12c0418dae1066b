/*
 * tests/unit/ledger_genesis_test.c — genesis.json parsing, validation, the
 * chain id's independence from presentation and dependence on content, and
 * block 0 / state_hash(0) derivation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "pbft/codec.h"
#include "pbft/crypto.h"
#include "pbft/ledger.h"

#define VALIDATOR_COUNT 4

static char pubkey_hex[PBFT_REPLICA_COUNT_MAX][2 * PBFT_PUBKEY_SIZE + 1];

static int setup_keys(void **state) {
    (void)state;
    for (int i = 0; i < PBFT_REPLICA_COUNT_MAX; i++) {
        crypto_key_t *k = crypto_key_generate();
        if (!k) return -1;
        uint8_t pk[PBFT_PUBKEY_SIZE];
        crypto_key_public(k, pk);
        crypto_hex_encode(pk, PBFT_PUBKEY_SIZE, pubkey_hex[i]);
        crypto_key_free(k);
    }
    return 0;
}

/* A valid genesis as a jansson tree; tests mutate it. */
static json_t *valid_tree(void) {
    json_t *vals = json_array();
    for (int i = 0; i < VALIDATOR_COUNT; i++)
        json_array_append_new(vals, json_pack("{s:i, s:s}", "index", i, "pubkey", pubkey_hex[i]));
    json_t *accounts =
        json_pack("[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]", "address",
                  "ff00000000000000000000000000000000000001", "balance", "1000000", "address",
                  "0a00000000000000000000000000000000000002", "balance", "0", "address",
                  "5500000000000000000000000000000000000003", "balance", "18446744073708551615");
    return json_pack("{s:s, s:s, s:o, s:{s:i, s:i, s:i, s:i, s:i, s:i}, s:o}", "chain_name",
                     "pbft-testnet", "genesis_time_ms", "1763780000000", "validators", vals,
                     "params", "checkpoint_interval", 64, "batch_max", 500, "batch_delay_ms", 2,
                     "window", 8, "view_change_timeout_ms", 2000, "request_timeout_ms", 4000,
                     "accounts", accounts);
}

static pbft_status_t parse_tree(const json_t *root, size_t flags, pbft_genesis_t *g, char *err,
                                size_t err_size) {
    char *text = json_dumps(root, flags);
    assert_non_null(text);
    pbft_status_t st = ledger_genesis_parse(text, strlen(text), g, err, err_size);
    free(text);
    return st;
}

static void chain_id_of(const json_t *root, size_t flags, uint8_t out[PBFT_CHAIN_ID_SIZE]) {
    pbft_genesis_t g;
    char err[256] = "";
    pbft_status_t st = parse_tree(root, flags, &g, err, sizeof err);
    if (st != PBFT_OK) fail_msg("unexpected parse error: %s", err);
    memcpy(out, g.chain_id, PBFT_CHAIN_ID_SIZE);
    ledger_genesis_free(&g);
}

static void test_parse_valid_genesis_fills_every_field(void **state) {
    (void)state;
    json_t *root = valid_tree();
    pbft_genesis_t g;
    char err[256] = "";
    assert_int_equal(parse_tree(root, JSON_INDENT(2), &g, err, sizeof err), PBFT_OK);
    assert_string_equal(g.chain_name, "pbft-testnet");
    assert_true(g.genesis_time_ms == 1763780000000ull);
    assert_int_equal(g.validators.count, 4);
    uint8_t pk[PBFT_PUBKEY_SIZE];
    assert_int_equal(crypto_hex_decode(pubkey_hex[2], 66, pk, sizeof pk), PBFT_OK);
    assert_memory_equal(g.validators.pubkeys[2], pk, PBFT_PUBKEY_SIZE);
    assert_int_equal(g.params.checkpoint_interval, 64);
    assert_int_equal(g.params.batch_max, 500);
    assert_int_equal(g.params.batch_delay_ms, 2);
    assert_int_equal(g.params.window, 8);
    assert_int_equal(g.params.view_change_timeout_ms, 2000);
    assert_int_equal(g.params.request_timeout_ms, 4000);
    assert_int_equal(g.account_count, 3);
    /* sorted by address */
    assert_int_equal(g.accounts[0].address[0], 0x0a);
    assert_int_equal(g.accounts[1].address[0], 0x55);
    assert_int_equal(g.accounts[2].address[0], 0xff);
    assert_true(g.accounts[1].balance == 18446744073708551615ull);
    assert_true(g.accounts[2].balance == 1000000);
    /* block 0 */
    assert_int_equal(g.header.version, PBFT_BLOCK_VERSION);
    assert_true(g.header.height == 0 && g.header.view == 0 && g.header.tx_count == 0);
    assert_true(g.header.timestamp_ms == g.genesis_time_ms);
    assert_memory_equal(g.header.prev_hash, g.chain_id, PBFT_HASH_SIZE);
    uint8_t empty_root[PBFT_HASH_SIZE], hash[PBFT_HASH_SIZE];
    crypto_sha256("", 0, empty_root);
    assert_memory_equal(g.header.tx_root, empty_root, PBFT_HASH_SIZE);
    codec_header_hash(&g.header, hash);
    assert_memory_equal(g.block_hash, hash, PBFT_HASH_SIZE);
    ledger_genesis_free(&g);
    json_decref(root);
}

static void put_u64_le(uint8_t *b, uint64_t v) {
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

/* The chain id recomputed here byte by byte from the documented layout. */
static void test_chain_id_is_sha256_of_documented_canonical_form(void **state) {
    (void)state;
    json_t *root = valid_tree();
    pbft_genesis_t g;
    char err[256] = "";
    assert_int_equal(parse_tree(root, 0, &g, err, sizeof err), PBFT_OK);
    uint8_t buf[4096];
    size_t n = 0;
    buf[n++] = 1;
    buf[n++] = 12;
    memcpy(buf + n, "pbft-testnet", 12);
    n += 12;
    put_u64_le(buf + n, 1763780000000ull);
    n += 8;
    buf[n++] = 4;
    buf[n++] = 0;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(crypto_hex_decode(pubkey_hex[i], 66, buf + n, 33), PBFT_OK);
        n += 33;
    }
    const uint32_t params[6] = {64, 500, 2, 8, 2000, 4000};
    for (int i = 0; i < 6; i++) {
        for (int j = 0; j < 4; j++)
            buf[n++] = (uint8_t)(params[i] >> (8 * j));
    }
    buf[n++] = 3;
    buf[n++] = 0;
    buf[n++] = 0;
    buf[n++] = 0;
    for (int i = 0; i < 3; i++) {
        memcpy(buf + n, g.accounts[i].address, 20);
        put_u64_le(buf + n + 20, g.accounts[i].balance);
        n += 28;
    }
    uint8_t expect[32];
    crypto_sha256(buf, n, expect);
    assert_memory_equal(g.chain_id, expect, 32);

    /* state_hash(0) = SHA-256(chain_id || u32 count || address|balance|nonce ...) */
    n = 0;
    memcpy(buf, g.chain_id, 32);
    n = 32;
    buf[n++] = 3;
    buf[n++] = 0;
    buf[n++] = 0;
    buf[n++] = 0;
    for (int i = 0; i < 3; i++) {
        memcpy(buf + n, g.accounts[i].address, 20);
        put_u64_le(buf + n + 20, g.accounts[i].balance);
        put_u64_le(buf + n + 28, 0);
        n += 36;
    }
    crypto_sha256(buf, n, expect);
    assert_memory_equal(g.state_hash, expect, 32);
    ledger_genesis_free(&g);
    json_decref(root);
}

static void test_chain_id_ignores_whitespace_key_order_account_order_and_hex_case(void **state) {
    (void)state;
    json_t *root = valid_tree();
    uint8_t a[32], b[32], c[32], d[32];
    chain_id_of(root, JSON_COMPACT, a);
    chain_id_of(root, JSON_INDENT(7) | JSON_SORT_KEYS, b);
    assert_memory_equal(a, b, 32);
    /* reverse the account list and the validator list (indexes stay attached) */
    json_t *accounts = json_object_get(root, "accounts");
    json_t *first = json_incref(json_array_get(accounts, 0));
    json_array_remove(accounts, 0);
    json_array_append_new(accounts, first);
    json_t *vals = json_object_get(root, "validators");
    json_t *v0 = json_incref(json_array_get(vals, 0));
    json_array_remove(vals, 0);
    json_array_append_new(vals, v0);
    chain_id_of(root, 0, c);
    assert_memory_equal(a, c, 32);
    /* upper-case hex address */
    json_object_set_new(json_array_get(accounts, 2), "address",
                        json_string("FF00000000000000000000000000000000000001"));
    chain_id_of(root, 0, d);
    assert_memory_equal(a, d, 32);
    json_decref(root);
}

typedef void (*mutate_fn)(json_t *root);

static void m_name(json_t *r) {
    json_object_set_new(r, "chain_name", json_string("pbft-testnet2"));
}
static void m_time(json_t *r) {
    json_object_set_new(r, "genesis_time_ms", json_string("1763780000001"));
}
static void m_pubkey(json_t *r) {
    json_object_set_new(json_array_get(json_object_get(r, "validators"), 3), "pubkey",
                        json_string(pubkey_hex[9]));
}
static void m_swap_index(json_t *r) {
    json_t *vals = json_object_get(r, "validators");
    json_object_set_new(json_array_get(vals, 0), "index", json_integer(1));
    json_object_set_new(json_array_get(vals, 1), "index", json_integer(0));
}
static void m_param_k(json_t *r) {
    json_object_set_new(json_object_get(r, "params"), "checkpoint_interval", json_integer(65));
}
static void m_param_batch(json_t *r) {
    json_object_set_new(json_object_get(r, "params"), "batch_max", json_integer(501));
}
static void m_param_delay(json_t *r) {
    json_object_set_new(json_object_get(r, "params"), "batch_delay_ms", json_integer(3));
}
static void m_param_window(json_t *r) {
    json_object_set_new(json_object_get(r, "params"), "window", json_integer(7));
}
static void m_param_vc(json_t *r) {
    json_object_set_new(json_object_get(r, "params"), "view_change_timeout_ms", json_integer(2001));
}
static void m_param_req(json_t *r) {
    json_object_set_new(json_object_get(r, "params"), "request_timeout_ms", json_integer(4001));
}
static void m_balance(json_t *r) {
    json_object_set_new(json_array_get(json_object_get(r, "accounts"), 0), "balance",
                        json_string("999999"));
}
static void m_address(json_t *r) {
    json_object_set_new(json_array_get(json_object_get(r, "accounts"), 0), "address",
                        json_string("ff00000000000000000000000000000000000011"));
}
static void m_add_account(json_t *r) {
    json_array_append_new(json_object_get(r, "accounts"),
                          json_pack("{s:s, s:s}", "address",
                                    "1100000000000000000000000000000000000000", "balance", "0"));
}
static void m_seven_validators(json_t *r) {
    json_t *vals = json_object_get(r, "validators");
    for (int i = 4; i < 7; i++)
        json_array_append_new(vals, json_pack("{s:i, s:s}", "index", i, "pubkey", pubkey_hex[i]));
}

static void test_chain_id_changes_when_any_field_changes(void **state) {
    (void)state;
    static const mutate_fn mutations[] = {
        m_name,        m_time,        m_pubkey,       m_swap_index,      m_param_k,
        m_param_batch, m_param_delay, m_param_window, m_param_vc,        m_param_req,
        m_balance,     m_address,     m_add_account,  m_seven_validators};
    json_t *base = valid_tree();
    uint8_t ids[PBFT_ARRAY_COUNT(mutations) + 1][32];
    chain_id_of(base, 0, ids[0]);
    for (size_t i = 0; i < PBFT_ARRAY_COUNT(mutations); i++) {
        json_t *root = json_deep_copy(base);
        mutations[i](root);
        chain_id_of(root, 0, ids[i + 1]);
        for (size_t j = 0; j <= i; j++)
            if (memcmp(ids[i + 1], ids[j], 32) == 0) fail_msg("mutation %zu: same chain id", i);
        json_decref(root);
    }
    json_decref(base);
}

/* ------------------------------------------------------------------------ */
/* Errors name the field                                                      */

typedef struct bad_case {
    const char *name;
    void (*mutate)(json_t *root);
    const char *expect; /* substring of the error message */
} bad_case_t;

static json_t *validator(json_t *r, size_t i) {
    return json_array_get(json_object_get(r, "validators"), i);
}
static json_t *account(json_t *r, size_t i) {
    return json_array_get(json_object_get(r, "accounts"), i);
}
static json_t *params(json_t *r) {
    return json_object_get(r, "params");
}

static void b_three_validators(json_t *r) {
    json_array_remove(json_object_get(r, "validators"), 3);
}
static void b_no_validators(json_t *r) {
    json_array_clear(json_object_get(r, "validators"));
}
static void b_bad_pubkey(json_t *r) {
    /* x = 2^256 - 1 is not a field element, so no point has it */
    char hex[67];
    memset(hex, 'f', 66);
    hex[0] = '0';
    hex[1] = '2';
    hex[66] = '\0';
    json_object_set_new(validator(r, 2), "pubkey", json_string(hex));
}
static void b_pubkey_prefix(json_t *r) {
    char hex[67];
    memcpy(hex, pubkey_hex[1], sizeof hex);
    hex[0] = '0';
    hex[1] = '4';
    json_object_set_new(validator(r, 1), "pubkey", json_string(hex));
}
static void b_pubkey_short(json_t *r) {
    json_object_set_new(validator(r, 0), "pubkey", json_string("02abcd"));
}
static void b_dup_index(json_t *r) {
    json_object_set_new(validator(r, 1), "index", json_integer(0));
}
static void b_index_range(json_t *r) {
    json_object_set_new(validator(r, 3), "index", json_integer(4));
}
static void b_dup_pubkey(json_t *r) {
    json_object_set_new(validator(r, 3), "pubkey", json_string(pubkey_hex[0]));
}
static void b_amount_number(json_t *r) {
    json_object_set_new(account(r, 0), "balance", json_integer(5));
}
static void b_amount_leading_zero(json_t *r) {
    json_object_set_new(account(r, 0), "balance", json_string("01"));
}
static void b_amount_overflow(json_t *r) {
    json_object_set_new(account(r, 0), "balance", json_string("18446744073709551616"));
}
static void b_amount_sign(json_t *r) {
    json_object_set_new(account(r, 0), "balance", json_string("+5"));
}
static void b_amount_empty(json_t *r) {
    json_object_set_new(account(r, 0), "balance", json_string(""));
}
static void b_supply_overflow(json_t *r) {
    /* account 2 holds 2^64-1-10^6; 10^6 more fits exactly, 10^6+1 does not */
    json_object_set_new(account(r, 0), "balance", json_string("1000001"));
}
static void b_dup_account(json_t *r) {
    json_object_set_new(account(r, 1), "address",
                        json_string("FF00000000000000000000000000000000000001"));
}
static void b_bad_address(json_t *r) {
    json_object_set_new(account(r, 1), "address", json_string("zz"));
}
static void b_unknown_top(json_t *r) {
    json_object_set_new(r, "extra", json_true());
}
static void b_unknown_param(json_t *r) {
    json_object_set_new(params(r), "batch_size", json_integer(1));
}
static void b_unknown_validator_key(json_t *r) {
    json_object_set_new(validator(r, 0), "weight", json_integer(1));
}
static void b_unknown_account_key(json_t *r) {
    json_object_set_new(account(r, 2), "nonce", json_string("0"));
}
static void b_missing_param(json_t *r) {
    json_object_del(params(r), "window");
}
static void b_missing_accounts(json_t *r) {
    json_object_del(r, "accounts");
}
static void b_window_over_k(json_t *r) {
    json_object_set_new(params(r), "checkpoint_interval", json_integer(4));
}
static void b_window_max(json_t *r) {
    json_object_set_new(params(r), "window", json_integer(PBFT_WINDOW_MAX + 1));
}
static void b_k_zero(json_t *r) {
    json_object_set_new(params(r), "checkpoint_interval", json_integer(0));
}
static void b_batch_max(json_t *r) {
    json_object_set_new(params(r), "batch_max", json_integer(PBFT_BLOCK_TX_COUNT_MAX + 1));
}
static void b_param_negative(json_t *r) {
    json_object_set_new(params(r), "batch_delay_ms", json_integer(-1));
}
static void b_param_real(json_t *r) {
    json_object_set_new(params(r), "request_timeout_ms", json_real(4000.0));
}
static void b_name_empty(json_t *r) {
    json_object_set_new(r, "chain_name", json_string(""));
}
static void b_name_long(json_t *r) {
    char name[PBFT_CHAIN_NAME_SIZE_MAX + 2];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    json_object_set_new(r, "chain_name", json_string(name));
}
static void b_name_control(json_t *r) {
    json_object_set_new(r, "chain_name", json_string("bad\nname"));
}
static void b_time_number(json_t *r) {
    json_object_set_new(r, "genesis_time_ms", json_integer(1763780000000));
}
static void b_time_negative(json_t *r) {
    json_object_set_new(r, "genesis_time_ms", json_string("-1"));
}
static void b_root_array(json_t *r) {
    json_object_clear(r);
}

static void test_every_bad_field_is_rejected_with_its_name(void **state) {
    (void)state;
    static const bad_case_t cases[] = {
        {"n=3", b_three_validators, "validators: count 3 is not 3f+1"},
        {"n=0", b_no_validators, "validators: count 0"},
        {"bad pubkey", b_bad_pubkey, "validators[2].pubkey: not a valid compressed P-256 point"},
        {"uncompressed prefix", b_pubkey_prefix, "validators[1].pubkey: not a valid compressed"},
        {"short pubkey", b_pubkey_short, "validators[0].pubkey: must be 66 hex digits"},
        {"dup index", b_dup_index, "validators[1].index: duplicate index 0"},
        {"index range", b_index_range, "validators[3].index: 4 is outside 0..3"},
        {"dup pubkey", b_dup_pubkey, "validators: index 0 and 3 have the same pubkey"},
        {"amount number", b_amount_number, "accounts[0].balance: must be a string"},
        {"amount 01", b_amount_leading_zero, "accounts[0].balance: not a canonical"},
        {"amount overflow", b_amount_overflow, "accounts[0].balance: not a canonical"},
        {"amount sign", b_amount_sign, "accounts[0].balance: not a canonical"},
        {"amount empty", b_amount_empty, "accounts[0].balance: not a canonical"},
        {"supply overflow", b_supply_overflow, "balance: total supply overflows"},
        {"dup account", b_dup_account, "accounts: duplicate address ff0000"},
        {"bad address", b_bad_address, "accounts[1].address: must be 40 hex digits"},
        {"unknown top key", b_unknown_top, "extra: unknown key"},
        {"unknown param", b_unknown_param, "params.batch_size: unknown key"},
        {"unknown validator key", b_unknown_validator_key, "validators[0].weight: unknown key"},
        {"unknown account key", b_unknown_account_key, "accounts[2].nonce: unknown key"},
        {"missing param", b_missing_param, "params.window: missing"},
        {"missing accounts", b_missing_accounts, "accounts: missing"},
        {"window > K", b_window_over_k, "params.window: 8 exceeds checkpoint_interval 4"},
        {"window max", b_window_max, "params.window: 17 is outside 1..16"},
        {"K zero", b_k_zero, "params.checkpoint_interval: 0 is outside"},
        {"batch max", b_batch_max, "params.batch_max: 2049 is outside"},
        {"negative param", b_param_negative, "params.batch_delay_ms: must not be negative"},
        {"real param", b_param_real, "params.request_timeout_ms: must be an integer"},
        {"empty name", b_name_empty, "chain_name: must be 1..64"},
        {"long name", b_name_long, "chain_name: must be 1..64"},
        {"control char name", b_name_control, "chain_name: only printable"},
        {"time number", b_time_number, "genesis_time_ms: must be a string"},
        {"time negative", b_time_negative, "genesis_time_ms: not a canonical"},
        {"empty object", b_root_array, "chain_name: missing"},
    };
    for (size_t i = 0; i < PBFT_ARRAY_COUNT(cases); i++) {
        json_t *root = valid_tree();
        cases[i].mutate(root);
        pbft_genesis_t g;
        memset(&g, 0x5a, sizeof g);
        char err[256] = "";
        pbft_status_t st = parse_tree(root, 0, &g, err, sizeof err);
        if (st != PBFT_ERR_GENESIS) fail_msg("%s: status %s", cases[i].name, pbft_status_name(st));
        if (strncmp(err, "genesis: ", 9) != 0 || !strstr(err, cases[i].expect))
            fail_msg("%s: error \"%s\" lacks \"%s\"", cases[i].name, err, cases[i].expect);
        json_decref(root);
    }
}

static void test_malformed_json_and_duplicate_keys_are_rejected(void **state) {
    (void)state;
    static const char *const texts[] = {
        "",
        "{",
        "[]",
        "{\"chain_name\": \"a\", \"chain_name\": \"b\"}",
        "{\"chain_name\": \"a\\u0000b\"}",
    };
    for (size_t i = 0; i < PBFT_ARRAY_COUNT(texts); i++) {
        pbft_genesis_t g;
        char err[256] = "";
        assert_int_equal(ledger_genesis_parse(texts[i], strlen(texts[i]), &g, err, sizeof err),
                         PBFT_ERR_GENESIS);
        assert_true(strncmp(err, "genesis: ", 9) == 0);
    }
    /* a duplicate key inside a validator */
    json_t *root = valid_tree();
    char *text = json_dumps(root, JSON_COMPACT);
    char *p = strstr(text, "\"index\":0");
    assert_non_null(p);
    size_t len = strlen(text);
    char *dup = malloc(len + 16);
    size_t pre = (size_t)(p - text);
    memcpy(dup, text, pre);
    memcpy(dup + pre, "\"index\":0,", 10);
    memcpy(dup + pre + 10, p, len - pre + 1);
    pbft_genesis_t g;
    char err[256] = "";
    assert_int_equal(ledger_genesis_parse(dup, strlen(dup), &g, err, sizeof err), PBFT_ERR_GENESIS);
    assert_non_null(strstr(err, "duplicate"));
    free(dup);
    free(text);
    json_decref(root);
}

static void make_temp_dir(char *dir, size_t size) {
    snprintf(dir, size, "/tmp/pbft-genesis-test.XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static void test_oversize_file_is_rejected_before_parsing(void **state) {
    (void)state;
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/genesis.json", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, PBFT_GENESIS_FILE_SIZE_MAX + 1), 0);
    close(fd);
    pbft_genesis_t g;
    char err[256] = "";
    assert_int_equal(ledger_genesis_load(path, &g, err, sizeof err), PBFT_ERR_GENESIS);
    assert_non_null(strstr(err, "genesis: file: "));
    assert_non_null(strstr(err, "over the limit"));
    /* parse applies the same limit to a buffer */
    char *big = calloc(1, PBFT_GENESIS_FILE_SIZE_MAX + 1);
    assert_int_equal(ledger_genesis_parse(big, PBFT_GENESIS_FILE_SIZE_MAX + 1, &g, err, sizeof err),
                     PBFT_ERR_GENESIS);
    assert_non_null(strstr(err, "genesis: file: "));
    free(big);
    unlink(path);
    /* a missing file is an I/O error naming the path */
    assert_int_equal(ledger_genesis_load(path, &g, err, sizeof err), PBFT_ERR_IO);
    assert_non_null(strstr(err, path));
    rmdir(dir);
}

static void test_write_then_load_round_trips_and_never_overwrites(void **state) {
    (void)state;
    json_t *root = valid_tree();
    pbft_genesis_t g, loaded, copy;
    char err[256] = "";
    assert_int_equal(parse_tree(root, 0, &g, err, sizeof err), PBFT_OK);
    char dir[64], path[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/genesis.json", dir);
    mode_t old = umask(022);
    assert_int_equal(ledger_genesis_write(&g, path), PBFT_OK);
    umask(old);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(ledger_genesis_write(&g, path), PBFT_ERR_EXISTS);
    assert_int_equal(ledger_genesis_load(path, &loaded, err, sizeof err), PBFT_OK);
    assert_memory_equal(loaded.chain_id, g.chain_id, 32);
    assert_memory_equal(loaded.state_hash, g.state_hash, 32);
    assert_memory_equal(loaded.block_hash, g.block_hash, 32);
    /* 64-bit values are written as strings */
    FILE *f = fopen(path, "r");
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    assert_non_null(strstr(text, "\"genesis_time_ms\": \"1763780000000\""));
    assert_non_null(strstr(text, "\"balance\": \"18446744073708551615\""));

    ledger_genesis_copy(&copy, &g);
    assert_ptr_not_equal(copy.accounts, g.accounts);
    ledger_genesis_free(&g);
    assert_int_equal(copy.account_count, 3);
    assert_true(copy.accounts[2].balance == 1000000);
    assert_memory_equal(copy.chain_id, loaded.chain_id, 32);
    ledger_genesis_free(&copy);
    ledger_genesis_free(&loaded);
    unlink(path);
    rmdir(dir);
    json_decref(root);
}

static void test_single_validator_and_zero_accounts_are_allowed(void **state) {
    (void)state;
    json_t *root = valid_tree();
    json_t *vals = json_object_get(root, "validators");
    while (json_array_size(vals) > 1)
        json_array_remove(vals, 1);
    json_array_clear(json_object_get(root, "accounts"));
    pbft_genesis_t g;
    char err[256] = "";
    assert_int_equal(parse_tree(root, 0, &g, err, sizeof err), PBFT_OK);
    assert_int_equal(g.validators.count, 1);
    assert_int_equal(g.account_count, 0);
    assert_null(g.accounts);
    ledger_genesis_free(&g);
    json_decref(root);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid_genesis_fills_every_field),
        cmocka_unit_test(test_chain_id_is_sha256_of_documented_canonical_form),
        cmocka_unit_test(test_chain_id_ignores_whitespace_key_order_account_order_and_hex_case),
        cmocka_unit_test(test_chain_id_changes_when_any_field_changes),
        cmocka_unit_test(test_every_bad_field_is_rejected_with_its_name),
        cmocka_unit_test(test_malformed_json_and_duplicate_keys_are_rejected),
        cmocka_unit_test(test_oversize_file_is_rejected_before_parsing),
        cmocka_unit_test(test_write_then_load_round_trips_and_never_overwrites),
        cmocka_unit_test(test_single_validator_and_zero_accounts_are_allowed),
    };
    return cmocka_run_group_tests(tests, setup_keys, NULL);
}
