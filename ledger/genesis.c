/*
 * ledger/genesis.c — genesis.json: strict parsing and validation, the
 * canonical binary form whose SHA-256 is the chain id, block 0 and
 * state_hash(0), and writing a genesis back out as JSON.
 *
 * The JSON form is for people; the chain id is computed over the canonical
 * binary form (docs/FORMATS.md, "genesis.json"), so whitespace, key order
 * and hex case do not change it and any change of content does.
 *
 * A genesis file comes from outside the process: every field is checked and
 * every failure returns PBFT_ERR_GENESIS with a message naming the field,
 * e.g. "genesis: validators[2].pubkey: not a valid compressed P-256 point".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "pbft/codec.h"
#include "pbft/crypto.h"
#include "pbft/ledger.h"

#define GENESIS_FORMAT_VERSION 1
/* Bounds on the timer parameters, so a typo cannot make a chain that never
 * cuts a block or never changes a faulty primary. */
#define GENESIS_BATCH_DELAY_MS_MAX 60000u
#define GENESIS_TIMEOUT_MS_MIN 10u
#define GENESIS_TIMEOUT_MS_MAX 3600000u
#define GENESIS_PATH_SIZE_MAX 64

_Static_assert(PBFT_GENESIS_ACCOUNT_COUNT_MAX <= UINT32_MAX, "account count is u32");
_Static_assert(PBFT_CHAIN_NAME_SIZE_MAX <= UINT8_MAX, "name length is u8");

PBFT_PRINTF(3, 4)
static pbft_status_t genesis_fail(char *err, size_t err_size, const char *fmt, ...) {
    if (err && err_size) {
        int n = snprintf(err, err_size, "genesis: ");
        if (n >= 0 && (size_t)n < err_size) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + n, err_size - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return PBFT_ERR_GENESIS;
}

/* ------------------------------------------------------------------------ */
/* Field parsers                                                              */

/* Decimal digits only: no sign, no leading zero (except "0"), no overflow. */
static bool parse_decimal_u64(const char *s, size_t len, uint64_t *out) {
    if (len == 0 || len > 20) return false;
    if (s[0] == '0' && len > 1) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* A 64-bit value: a JSON string of decimal digits (JSON numbers lose
 * precision in most JSON libraries, so they are refused). */
static pbft_status_t get_u64_string(const json_t *v, const char *path, uint64_t *out, char *err,
                                    size_t err_size) {
    if (!json_is_string(v))
        return genesis_fail(err, err_size, "%s: must be a string of decimal digits", path);
    if (!parse_decimal_u64(json_string_value(v), json_string_length(v), out))
        return genesis_fail(
            err, err_size,
            "%s: not a canonical unsigned 64-bit decimal "
            "(digits only, no sign, no leading zeros, at most 18446744073709551615)",
            path);
    return PBFT_OK;
}

/* A small value in [min, max]: a JSON integer or a decimal string. */
static pbft_status_t get_u32_range(const json_t *v, const char *path, uint32_t min, uint32_t max,
                                   uint32_t *out, char *err, size_t err_size) {
    uint64_t x = 0;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0) return genesis_fail(err, err_size, "%s: must not be negative", path);
        x = (uint64_t)i;
    } else if (json_is_string(v)) {
        pbft_status_t st = get_u64_string(v, path, &x, err, err_size);
        if (st != PBFT_OK) return st;
    } else {
        return genesis_fail(err, err_size, "%s: must be an integer", path);
    }
    if (x < min || x > max)
        return genesis_fail(err, err_size, "%s: %llu is outside %u..%u", path,
                            (unsigned long long)x, min, max);
    *out = (uint32_t)x;
    return PBFT_OK;
}

static pbft_status_t get_hex(const json_t *v, const char *path, uint8_t *out, size_t size,
                             char *err, size_t err_size) {
    if (!json_is_string(v)) return genesis_fail(err, err_size, "%s: must be a hex string", path);
    if (json_string_length(v) != 2 * size)
        return genesis_fail(err, err_size, "%s: must be %zu hex digits", path, 2 * size);
    if (crypto_hex_decode(json_string_value(v), json_string_length(v), out, size) != PBFT_OK)
        return genesis_fail(err, err_size, "%s: not hex", path);
    return PBFT_OK;
}

/* Every key of obj must be in `allowed` and every name in `allowed` present. */
static pbft_status_t check_keys(json_t *obj, const char *path, const char *const *allowed,
                                size_t allowed_count, char *err, size_t err_size) {
    if (!json_is_object(obj))
        return genesis_fail(err, err_size, "%s: must be an object", path[0] ? path : "top level");
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) {
        (void)value;
        bool known = false;
        for (size_t i = 0; i < allowed_count; i++)
            known = known || strcmp(key, allowed[i]) == 0;
        if (!known)
            return genesis_fail(err, err_size, "%s%s%s: unknown key", path, path[0] ? "." : "",
                                key);
    }
    for (size_t i = 0; i < allowed_count; i++)
        if (!json_object_get(obj, allowed[i]))
            return genesis_fail(err, err_size, "%s%s%s: missing", path, path[0] ? "." : "",
                                allowed[i]);
    return PBFT_OK;
}

/* ------------------------------------------------------------------------ */
/* Sections                                                                   */

static pbft_status_t parse_chain_name(const json_t *v, pbft_genesis_t *g, char *err,
                                      size_t err_size) {
    if (!json_is_string(v)) return genesis_fail(err, err_size, "chain_name: must be a string");
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len < 1 || len > PBFT_CHAIN_NAME_SIZE_MAX)
        return genesis_fail(err, err_size, "chain_name: must be 1..%d characters",
                            PBFT_CHAIN_NAME_SIZE_MAX);
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return genesis_fail(err, err_size, "chain_name: only printable ASCII allowed");
    memcpy(g->chain_name, s, len);
    g->chain_name[len] = '\0';
    return PBFT_OK;
}

static bool is_valid_replica_count(size_t n) {
    return n >= PBFT_REPLICA_COUNT_MIN && n <= PBFT_REPLICA_COUNT_MAX && (n - 1) % 3 == 0;
}

static pbft_status_t parse_validators(const json_t *v, pbft_genesis_t *g, char *err,
                                      size_t err_size) {
    static const char *const keys[] = {"index", "pubkey"};
    if (!json_is_array(v)) return genesis_fail(err, err_size, "validators: must be an array");
    size_t n = json_array_size(v);
    if (!is_valid_replica_count(n))
        return genesis_fail(err, err_size,
                            "validators: count %zu is not 3f+1 in 1..%d (1, 4, 7, 10, 13, 16)", n,
                            PBFT_REPLICA_COUNT_MAX);
    bool seen[PBFT_REPLICA_COUNT_MAX] = {false};
    char path[GENESIS_PATH_SIZE_MAX];
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(v, i);
        snprintf(path, sizeof path, "validators[%zu]", i);
        pbft_status_t st = check_keys(item, path, keys, 2, err, err_size);
        if (st != PBFT_OK) return st;
        uint32_t index = 0;
        snprintf(path, sizeof path, "validators[%zu].index", i);
        st = get_u32_range(json_object_get(item, "index"), path, 0, (uint32_t)n - 1, &index, err,
                           err_size);
        if (st != PBFT_OK) return st;
        if (seen[index]) return genesis_fail(err, err_size, "%s: duplicate index %u", path, index);
        seen[index] = true;
        uint8_t *pk = g->validators.pubkeys[index];
        snprintf(path, sizeof path, "validators[%zu].pubkey", i);
        st = get_hex(json_object_get(item, "pubkey"), path, pk, PBFT_PUBKEY_SIZE, err, err_size);
        if (st != PBFT_OK) return st;
        if (!crypto_pubkey_valid(pk))
            return genesis_fail(err, err_size, "%s: not a valid compressed P-256 point", path);
    }
    /* Every index 0..n-1 was seen exactly once (n distinct values < n).
     * Now no two validators may share a key: one key would count twice in a quorum. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (memcmp(g->validators.pubkeys[i], g->validators.pubkeys[j], PBFT_PUBKEY_SIZE) == 0)
                return genesis_fail(err, err_size,
                                    "validators: index %zu and %zu have the same pubkey", i, j);
    g->validators.count = (uint16_t)n;
    return PBFT_OK;
}

static pbft_status_t parse_params(json_t *v, pbft_genesis_t *g, char *err, size_t err_size) {
    static const char *const keys[] = {"checkpoint_interval",    "batch_max",
                                       "batch_delay_ms",         "window",
                                       "view_change_timeout_ms", "request_timeout_ms"};
    pbft_status_t st = check_keys(v, "params", keys, PBFT_ARRAY_COUNT(keys), err, err_size);
    if (st != PBFT_OK) return st;
    pbft_consensus_params_t *p = &g->params;
    struct {
        const char *key;
        uint32_t min, max;
        uint32_t *out;
    } fields[] = {
        {"checkpoint_interval", 1, PBFT_CHECKPOINT_INTERVAL_MAX, &p->checkpoint_interval},
        {"batch_max", 1, PBFT_BLOCK_TX_COUNT_MAX, &p->batch_max},
        {"batch_delay_ms", 0, GENESIS_BATCH_DELAY_MS_MAX, &p->batch_delay_ms},
        {"window", 1, PBFT_WINDOW_MAX, &p->window},
        {"view_change_timeout_ms", GENESIS_TIMEOUT_MS_MIN, GENESIS_TIMEOUT_MS_MAX,
         &p->view_change_timeout_ms},
        {"request_timeout_ms", GENESIS_TIMEOUT_MS_MIN, GENESIS_TIMEOUT_MS_MAX,
         &p->request_timeout_ms},
    };
    char path[GENESIS_PATH_SIZE_MAX];
    for (size_t i = 0; i < PBFT_ARRAY_COUNT(fields); i++) {
        snprintf(path, sizeof path, "params.%s", fields[i].key);
        st = get_u32_range(json_object_get(v, fields[i].key), path, fields[i].min, fields[i].max,
                           fields[i].out, err, err_size);
        if (st != PBFT_OK) return st;
    }
    if (p->window > p->checkpoint_interval)
        return genesis_fail(err, err_size, "params.window: %u exceeds checkpoint_interval %u",
                            p->window, p->checkpoint_interval);
    return PBFT_OK;
}

static int account_cmp(const void *a, const void *b) {
    return memcmp(((const pbft_account_t *)a)->address, ((const pbft_account_t *)b)->address,
                  PBFT_ADDRESS_SIZE);
}

static pbft_status_t parse_one_account(json_t *item, size_t i, pbft_account_t *a, char *err,
                                       size_t err_size) {
    static const char *const keys[] = {"address", "balance"};
    char path[GENESIS_PATH_SIZE_MAX];
    snprintf(path, sizeof path, "accounts[%zu]", i);
    pbft_status_t st = check_keys(item, path, keys, 2, err, err_size);
    if (st != PBFT_OK) return st;
    snprintf(path, sizeof path, "accounts[%zu].address", i);
    st = get_hex(json_object_get(item, "address"), path, a->address, PBFT_ADDRESS_SIZE, err,
                 err_size);
    if (st != PBFT_OK) return st;
    snprintf(path, sizeof path, "accounts[%zu].balance", i);
    st = get_u64_string(json_object_get(item, "balance"), path, &a->balance, err, err_size);
    a->nonce = 0;
    return st;
}

static pbft_status_t parse_accounts(const json_t *v, pbft_genesis_t *g, char *err,
                                    size_t err_size) {
    if (!json_is_array(v)) return genesis_fail(err, err_size, "accounts: must be an array");
    size_t n = json_array_size(v);
    if (n > PBFT_GENESIS_ACCOUNT_COUNT_MAX)
        return genesis_fail(err, err_size, "accounts: %zu accounts exceed the limit of %d", n,
                            PBFT_GENESIS_ACCOUNT_COUNT_MAX);
    pbft_account_t *accounts = n ? pbft_xcalloc(n, sizeof *accounts) : NULL;
    uint64_t supply = 0;
    for (size_t i = 0; i < n; i++) {
        pbft_status_t st = parse_one_account(json_array_get(v, i), i, &accounts[i], err, err_size);
        if (st == PBFT_OK && accounts[i].balance > UINT64_MAX - supply)
            st = genesis_fail(err, err_size,
                              "accounts[%zu].balance: total supply overflows 64 bits", i);
        if (st != PBFT_OK) {
            free(accounts);
            return st;
        }
        supply += accounts[i].balance;
    }
    if (n > 1) qsort(accounts, n, sizeof *accounts, account_cmp);
    for (size_t i = 1; i < n; i++) {
        if (account_cmp(&accounts[i - 1], &accounts[i]) == 0) {
            char hex[2 * PBFT_ADDRESS_SIZE + 1];
            crypto_hex_encode(accounts[i].address, PBFT_ADDRESS_SIZE, hex);
            free(accounts);
            return genesis_fail(err, err_size, "accounts: duplicate address %s", hex);
        }
    }
    g->accounts = accounts;
    g->account_count = (uint32_t)n;
    return PBFT_OK;
}

static pbft_status_t parse_root(json_t *root, pbft_genesis_t *g, char *err, size_t err_size) {
    static const char *const keys[] = {"chain_name", "genesis_time_ms", "validators", "params",
                                       "accounts"};
    pbft_status_t st = check_keys(root, "", keys, PBFT_ARRAY_COUNT(keys), err, err_size);
    if (st == PBFT_OK) st = parse_chain_name(json_object_get(root, "chain_name"), g, err, err_size);
    if (st == PBFT_OK)
        st = get_u64_string(json_object_get(root, "genesis_time_ms"), "genesis_time_ms",
                            &g->genesis_time_ms, err, err_size);
    if (st == PBFT_OK) st = parse_validators(json_object_get(root, "validators"), g, err, err_size);
    if (st == PBFT_OK) st = parse_params(json_object_get(root, "params"), g, err, err_size);
    if (st == PBFT_OK) st = parse_accounts(json_object_get(root, "accounts"), g, err, err_size);
    return st;
}

pbft_status_t ledger_genesis_parse(const char *json, size_t size, pbft_genesis_t *out, char *err,
                                   size_t err_size) {
    PBFT_ASSERT(out != NULL);
    PBFT_ASSERT(json != NULL || size == 0);
    if (size > PBFT_GENESIS_FILE_SIZE_MAX)
        return genesis_fail(err, err_size, "file: %zu bytes exceed the limit of %u bytes", size,
                            PBFT_GENESIS_FILE_SIZE_MAX);
    json_error_t jerr;
    json_t *root = json_loadb(json, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return genesis_fail(err, err_size, "line %d column %d: %s", jerr.line, jerr.column,
                            jerr.text);
    pbft_genesis_t g;
    memset(&g, 0, sizeof g);
    pbft_status_t st = parse_root(root, &g, err, err_size);
    json_decref(root);
    if (st != PBFT_OK) {
        ledger_genesis_free(&g);
        return st;
    }
    ledger_genesis_derive(&g);
    *out = g;
    return PBFT_OK;
}

pbft_status_t ledger_genesis_load(const char *path, pbft_genesis_t *out, char *err,
                                  size_t err_size) {
    PBFT_ASSERT(path != NULL && out != NULL);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        genesis_fail(err, err_size, "%s: %s", path, strerror(errno));
        return PBFT_ERR_IO;
    }
    struct stat st_buf;
    if (fstat(fd, &st_buf) != 0 || !S_ISREG(st_buf.st_mode)) {
        close(fd);
        genesis_fail(err, err_size, "%s: not a regular file", path);
        return PBFT_ERR_IO;
    }
    if ((uint64_t)st_buf.st_size > PBFT_GENESIS_FILE_SIZE_MAX) {
        close(fd);
        return genesis_fail(err, err_size, "file: %s is %lld bytes, over the limit of %u bytes",
                            path, (long long)st_buf.st_size, PBFT_GENESIS_FILE_SIZE_MAX);
    }
    size_t size = (size_t)st_buf.st_size;
    char *buf = pbft_xmalloc(size + 1);
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (got != size) {
        free(buf);
        genesis_fail(err, err_size, "%s: short read", path);
        return PBFT_ERR_IO;
    }
    pbft_status_t st = ledger_genesis_parse(buf, size, out, err, err_size);
    free(buf);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Derivation                                                                 */

static void hash_u32(crypto_sha256_t *ctx, uint32_t v) {
    uint8_t b[4];
    codec_writer_t w;
    codec_writer_init(&w, b, sizeof b);
    codec_put_u32(&w, v);
    crypto_sha256_update(ctx, b, sizeof b);
}

static void hash_u64(crypto_sha256_t *ctx, uint64_t v) {
    uint8_t b[8];
    codec_writer_t w;
    codec_writer_init(&w, b, sizeof b);
    codec_put_u64(&w, v);
    crypto_sha256_update(ctx, b, sizeof b);
}

/* chain_id = SHA-256 of the canonical binary form (docs/FORMATS.md):
 *   u8 version | u8 name_len | name | u64 genesis_time_ms | u16 n |
 *   n x pubkey[33] | 6 x u32 params | u32 account_count |
 *   account_count x (address[20] | u64 balance)          (little-endian) */
static void derive_chain_id(const pbft_genesis_t *g, uint8_t out[PBFT_CHAIN_ID_SIZE]) {
    uint8_t head[2 + PBFT_CHAIN_NAME_SIZE_MAX + 8 + 2];
    codec_writer_t w;
    codec_writer_init(&w, head, sizeof head);
    size_t name_len = strlen(g->chain_name);
    PBFT_ASSERT(name_len <= PBFT_CHAIN_NAME_SIZE_MAX);
    codec_put_u8(&w, GENESIS_FORMAT_VERSION);
    codec_put_u8(&w, (uint8_t)name_len);
    codec_put_bytes(&w, g->chain_name, name_len);
    codec_put_u64(&w, g->genesis_time_ms);
    codec_put_u16(&w, g->validators.count);
    PBFT_ASSERT(!w.failed);
    crypto_sha256_t ctx;
    crypto_sha256_init(&ctx);
    crypto_sha256_update(&ctx, head, w.size);
    crypto_sha256_update(&ctx, g->validators.pubkeys,
                         (size_t)g->validators.count * PBFT_PUBKEY_SIZE);
    const pbft_consensus_params_t *p = &g->params;
    hash_u32(&ctx, p->checkpoint_interval);
    hash_u32(&ctx, p->batch_max);
    hash_u32(&ctx, p->batch_delay_ms);
    hash_u32(&ctx, p->window);
    hash_u32(&ctx, p->view_change_timeout_ms);
    hash_u32(&ctx, p->request_timeout_ms);
    hash_u32(&ctx, g->account_count);
    for (uint32_t i = 0; i < g->account_count; i++) {
        crypto_sha256_update(&ctx, g->accounts[i].address, PBFT_ADDRESS_SIZE);
        hash_u64(&ctx, g->accounts[i].balance);
    }
    crypto_sha256_final(&ctx, out);
}

/* state_hash(0) = SHA-256(chain_id || u32 account_count || accounts sorted,
 * each address | u64 balance | u64 nonce) — i.e. the ledger.h state-hash
 * step with state_hash(-1) = chain_id and block 0 "changing" every genesis
 * account. */
static void derive_state_hash(const pbft_genesis_t *g, uint8_t out[PBFT_HASH_SIZE]) {
    crypto_sha256_t ctx;
    crypto_sha256_init(&ctx);
    crypto_sha256_update(&ctx, g->chain_id, PBFT_CHAIN_ID_SIZE);
    hash_u32(&ctx, g->account_count);
    for (uint32_t i = 0; i < g->account_count; i++) {
        crypto_sha256_update(&ctx, g->accounts[i].address, PBFT_ADDRESS_SIZE);
        hash_u64(&ctx, g->accounts[i].balance);
        hash_u64(&ctx, g->accounts[i].nonce);
    }
    crypto_sha256_final(&ctx, out);
}

void ledger_genesis_derive(pbft_genesis_t *g) {
    PBFT_ASSERT(g != NULL);
    PBFT_ASSERT(g->account_count == 0 || g->accounts != NULL);
    for (uint32_t i = 1; i < g->account_count; i++)
        PBFT_ASSERT(account_cmp(&g->accounts[i - 1], &g->accounts[i]) < 0);
    derive_chain_id(g, g->chain_id);
    memset(&g->header, 0, sizeof g->header);
    g->header.version = PBFT_BLOCK_VERSION;
    g->header.height = 0;
    g->header.view = 0;
    g->header.timestamp_ms = g->genesis_time_ms;
    memcpy(g->header.prev_hash, g->chain_id, PBFT_HASH_SIZE);
    crypto_merkle_root(NULL, 0, g->header.tx_root);
    g->header.tx_count = 0;
    g->header.proposer = 0;
    codec_header_hash(&g->header, g->block_hash);
    derive_state_hash(g, g->state_hash);
}

void ledger_genesis_free(pbft_genesis_t *g) {
    if (!g) return;
    free(g->accounts);
    memset(g, 0, sizeof *g);
}

void ledger_genesis_copy(pbft_genesis_t *dst, const pbft_genesis_t *src) {
    PBFT_ASSERT(dst != NULL && src != NULL && dst != src);
    *dst = *src;
    dst->accounts = NULL;
    if (src->account_count) {
        dst->accounts = pbft_xmalloc((size_t)src->account_count * sizeof *src->accounts);
        memcpy(dst->accounts, src->accounts, (size_t)src->account_count * sizeof *src->accounts);
    }
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                    */

static json_t *u64_json(uint64_t v) {
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    return json_string(buf);
}

static json_t *hex_json(const uint8_t *data, size_t size) {
    char buf[2 * PBFT_PUBKEY_SIZE + 1];
    PBFT_ASSERT(size <= PBFT_PUBKEY_SIZE);
    crypto_hex_encode(data, size, buf);
    return json_string(buf);
}

static json_t *genesis_to_json(const pbft_genesis_t *g) {
    json_t *root = json_object();
    json_object_set_new(root, "chain_name", json_string(g->chain_name));
    json_object_set_new(root, "genesis_time_ms", u64_json(g->genesis_time_ms));
    json_t *vals = json_array();
    for (uint16_t i = 0; i < g->validators.count; i++) {
        json_t *v = json_object();
        json_object_set_new(v, "index", json_integer(i));
        json_object_set_new(v, "pubkey", hex_json(g->validators.pubkeys[i], PBFT_PUBKEY_SIZE));
        json_array_append_new(vals, v);
    }
    json_object_set_new(root, "validators", vals);
    const pbft_consensus_params_t *p = &g->params;
    json_t *params = json_object();
    json_object_set_new(params, "checkpoint_interval", json_integer(p->checkpoint_interval));
    json_object_set_new(params, "batch_max", json_integer(p->batch_max));
    json_object_set_new(params, "batch_delay_ms", json_integer(p->batch_delay_ms));
    json_object_set_new(params, "window", json_integer(p->window));
    json_object_set_new(params, "view_change_timeout_ms", json_integer(p->view_change_timeout_ms));
    json_object_set_new(params, "request_timeout_ms", json_integer(p->request_timeout_ms));
    json_object_set_new(root, "params", params);
    json_t *accounts = json_array();
    for (uint32_t i = 0; i < g->account_count; i++) {
        json_t *a = json_object();
        json_object_set_new(a, "address", hex_json(g->accounts[i].address, PBFT_ADDRESS_SIZE));
        json_object_set_new(a, "balance", u64_json(g->accounts[i].balance));
        json_array_append_new(accounts, a);
    }
    json_object_set_new(root, "accounts", accounts);
    return root;
}

static pbft_status_t write_all(int fd, const char *data, size_t size) {
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(fd, data + done, size - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return PBFT_ERR_IO;
        done += (size_t)w;
    }
    return PBFT_OK;
}

pbft_status_t ledger_genesis_write(const pbft_genesis_t *g, const char *path) {
    PBFT_ASSERT(g != NULL && path != NULL);
    json_t *root = genesis_to_json(g);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text) return PBFT_ERR_INTERNAL;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        pbft_status_t st = errno == EEXIST ? PBFT_ERR_EXISTS : PBFT_ERR_IO;
        free(text);
        return st;
    }
    pbft_status_t st = write_all(fd, text, strlen(text));
    if (st == PBFT_OK) st = write_all(fd, "\n", 1);
    if (st == PBFT_OK && fsync(fd) != 0) st = PBFT_ERR_IO;
    if (close(fd) != 0 && st == PBFT_OK) st = PBFT_ERR_IO;
    free(text);
    if (st != PBFT_OK) unlink(path);
    return st;
}
