/*
 * tools/wallet/accounts.c — new, list, address, balance, nonce, history.
 */
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "wallet.h"
#include "../common/json.h"
#include "pbft/crypto.h"

#define WALLET_HISTORY_LIMIT_MAX 1000

static int expect_args(const wallet_ctx_t *ctx, int argc, int min, int max, const char *usage) {
    if (argc < min || argc > max)
        return wallet_fail(ctx, WALLET_EXIT_USAGE, "usage", "usage: pbft-wallet %s", usage);
    return 0;
}

static void address_hex(const uint8_t address[PBFT_ADDRESS_SIZE], char out[41]) {
    crypto_hex_encode(address, PBFT_ADDRESS_SIZE, out);
}

int wallet_cmd_new(wallet_ctx_t *ctx, int argc, char **argv) {
    int rc = expect_args(ctx, argc, 1, 1, "new NAME");
    if (rc) return rc;
    crypto_key_t *key = NULL;
    char err[512], path[TOOLS_PATH_SIZE_MAX];
    pbft_status_t st = tools_keystore_new(ctx->keystore, argv[0], &key, err, sizeof(err));
    if (st != PBFT_OK) {
        int code = st == PBFT_ERR_ARGUMENT     ? WALLET_EXIT_USAGE
                   : st == PBFT_ERR_EXISTS     ? WALLET_EXIT_CANTCREAT
                   : st == PBFT_ERR_PERMISSION ? WALLET_EXIT_NOPERM
                                               : WALLET_EXIT_CANTCREAT;
        return wallet_fail(ctx, code, pbft_status_name(st), "%s", err);
    }
    uint8_t pubkey[PBFT_PUBKEY_SIZE], address[PBFT_ADDRESS_SIZE];
    char addr[41];
    crypto_key_public(key, pubkey);
    crypto_key_free(key);
    crypto_address(pubkey, address);
    address_hex(address, addr);
    if (tools_keystore_key_path(ctx->keystore, argv[0], path) != PBFT_OK) path[0] = '\0';
    bool has_genesis = access(ctx->genesis_path, F_OK) == 0;
    if (ctx->json) {
        json_t *doc = json_object();
        json_object_set_new(doc, "name", json_string(argv[0]));
        json_object_set_new(doc, "address", json_string(addr));
        json_object_set_new(doc, "key_file", json_string(path));
        tools_json_print(doc);
    } else {
        printf("created key %s\naddress  %s\nkey file %s (mode 0600)\n", argv[0], addr, path);
        if (!has_genesis)
            printf("note: no genesis at %s; copy the network's genesis.json there before "
                   "sending\n",
                   ctx->genesis_path);
    }
    return WALLET_EXIT_OK;
}

int wallet_cmd_list(wallet_ctx_t *ctx, int argc, char **argv) {
    (void)argv;
    int rc = expect_args(ctx, argc, 0, 0, "list");
    if (rc) return rc;
    char **names = NULL;
    size_t count = 0;
    pbft_status_t st = tools_keystore_list(ctx->keystore, &names, &count);
    if (st == PBFT_ERR_NOT_FOUND)
        return wallet_fail(ctx, WALLET_EXIT_NOINPUT, "no_keystore",
                           "no keystore at %s (pbft-wallet new NAME creates it)", ctx->keystore);
    if (st != PBFT_OK)
        return wallet_fail(ctx, WALLET_EXIT_NOPERM, "io", "cannot read keystore %s", ctx->keystore);
    json_t *keys = json_array();
    if (!ctx->json) printf("keystore %s\n", ctx->keystore);
    for (size_t i = 0; i < count; i++) {
        crypto_key_t *key = NULL;
        char err[512], addr[41] = "";
        st = tools_keystore_load(ctx->keystore, names[i], &key, err, sizeof(err));
        if (st == PBFT_OK) {
            uint8_t pubkey[PBFT_PUBKEY_SIZE], address[PBFT_ADDRESS_SIZE];
            crypto_key_public(key, pubkey);
            crypto_key_free(key);
            crypto_address(pubkey, address);
            address_hex(address, addr);
        }
        json_t *k = json_object();
        json_object_set_new(k, "name", json_string(names[i]));
        json_object_set_new(k, st == PBFT_OK ? "address" : "error",
                            json_string(st == PBFT_OK ? addr : err));
        json_array_append_new(keys, k);
        if (!ctx->json) printf("  %-16s %s\n", names[i], st == PBFT_OK ? addr : err);
    }
    tools_keystore_list_free(names, count);
    if (ctx->json) {
        json_t *doc = json_object();
        json_object_set_new(doc, "keystore", json_string(ctx->keystore));
        json_object_set_new(doc, "keys", keys);
        tools_json_print(doc);
    } else {
        json_decref(keys);
        if (count == 0) printf("  (no keys; pbft-wallet new NAME)\n");
    }
    return WALLET_EXIT_OK;
}

int wallet_cmd_address(wallet_ctx_t *ctx, int argc, char **argv) {
    int rc = expect_args(ctx, argc, 0, 1, "address [NAME]");
    if (rc) return rc;
    uint8_t address[PBFT_ADDRESS_SIZE];
    rc = wallet_resolve_address(ctx, argc ? argv[0] : ctx->from, address);
    if (rc) return rc;
    char addr[41];
    address_hex(address, addr);
    if (ctx->json) {
        json_t *doc = json_object();
        json_object_set_new(doc, "address", json_string(addr));
        tools_json_print(doc);
    } else {
        printf("%s\n", addr);
    }
    return WALLET_EXIT_OK;
}

/* GET /account/ADDR; returns 0 and fills the fields, or an exit code. */
static int fetch_account(wallet_ctx_t *ctx, const uint8_t address[PBFT_ADDRESS_SIZE],
                         uint64_t *balance, uint64_t *nonce, uint64_t *height) {
    int rc = wallet_need_http(ctx);
    if (rc) return rc;
    char addr[41], path[128], err[512];
    address_hex(address, addr);
    snprintf(path, sizeof(path), "/account/%s", addr);
    tools_http_response_t r;
    pbft_status_t st = tools_http_get(ctx->http, path, &r, err, sizeof(err));
    if (st != PBFT_OK) return wallet_fail_http(ctx, st, err);
    if (r.status != 200) {
        rc = wallet_fail_response(ctx, &r, "account lookup");
        tools_http_response_free(&r);
        return rc;
    }
    bool ok = r.json && tools_json_get_u64(r.json, "balance", balance) &&
              tools_json_get_u64(r.json, "nonce", nonce);
    if (ok && !tools_json_get_u64(r.json, "height", height)) *height = 0;
    tools_http_response_free(&r);
    if (!ok)
        return wallet_fail(ctx, WALLET_EXIT_DATAERR, "malformed",
                           "node %s sent a malformed account answer",
                           tools_http_current_url(ctx->http));
    return 0;
}

int wallet_account_nonce(wallet_ctx_t *ctx, const uint8_t address[PBFT_ADDRESS_SIZE],
                         uint64_t *nonce) {
    uint64_t balance = 0, height = 0;
    return fetch_account(ctx, address, &balance, nonce, &height);
}

static int show_account(wallet_ctx_t *ctx, int argc, char **argv, bool nonce_only) {
    int rc = expect_args(ctx, argc, 0, 1, nonce_only ? "nonce [ADDR|NAME]" : "balance [ADDR|NAME]");
    if (rc) return rc;
    uint8_t address[PBFT_ADDRESS_SIZE];
    rc = wallet_resolve_address(ctx, argc ? argv[0] : ctx->from, address);
    if (rc) return rc;
    uint64_t balance = 0, nonce = 0, height = 0;
    rc = fetch_account(ctx, address, &balance, &nonce, &height);
    if (rc) return rc;
    char addr[41];
    address_hex(address, addr);
    if (ctx->json) {
        json_t *doc = json_object();
        json_object_set_new(doc, "address", json_string(addr));
        json_object_set_new(doc, "balance", tools_json_u64(balance));
        json_object_set_new(doc, "nonce", tools_json_u64(nonce));
        json_object_set_new(doc, "height", tools_json_u64(height));
        json_object_set_new(doc, "node", json_string(tools_http_current_url(ctx->http)));
        tools_json_print(doc);
    } else if (nonce_only) {
        printf("%" PRIu64 "\n", nonce);
    } else {
        printf("%s balance %" PRIu64 " nonce %" PRIu64 " (height %" PRIu64 ", as reported by %s)\n",
               addr, balance, nonce, height, tools_http_current_url(ctx->http));
    }
    return WALLET_EXIT_OK;
}

int wallet_cmd_balance(wallet_ctx_t *ctx, int argc, char **argv) {
    return show_account(ctx, argc, argv, false);
}

int wallet_cmd_nonce(wallet_ctx_t *ctx, int argc, char **argv) {
    return show_account(ctx, argc, argv, true);
}

static int print_history(wallet_ctx_t *ctx, const char *addr, const json_t *txs) {
    if (!json_is_array(txs))
        return wallet_fail(ctx, WALLET_EXIT_DATAERR, "malformed", "malformed history answer");
    json_t *out = json_array();
    for (size_t i = 0; i < json_array_size(txs); i++) {
        const json_t *t = json_array_get(txs, i);
        const char *id = tools_json_get_string(t, "id");
        uint64_t height = 0;
        if (!id || !tools_json_get_u64(t, "height", &height)) continue;
        json_t *row = json_object();
        json_object_set_new(row, "id", json_string(id));
        json_object_set_new(row, "height", tools_json_u64(height));
        json_array_append_new(out, row);
        if (!ctx->json) printf("  height %-8" PRIu64 " %s\n", height, id);
    }
    if (ctx->json) {
        json_t *doc = json_object();
        json_object_set_new(doc, "address", json_string(addr));
        json_object_set_new(doc, "txs", out);
        tools_json_print(doc);
    } else {
        if (json_array_size(out) == 0) printf("  (no transactions)\n");
        json_decref(out);
    }
    return WALLET_EXIT_OK;
}

int wallet_cmd_history(wallet_ctx_t *ctx, int argc, char **argv) {
    int rc = expect_args(ctx, argc, 0, 1, "history [ADDR|NAME] [--limit N]");
    if (rc) return rc;
    uint64_t limit = WALLET_HISTORY_LIMIT_DEFAULT;
    if (ctx->limit &&
        (!tools_parse_u64(ctx->limit, &limit) || limit == 0 || limit > WALLET_HISTORY_LIMIT_MAX))
        return wallet_fail(ctx, WALLET_EXIT_USAGE, "usage", "--limit must be 1..%d",
                           WALLET_HISTORY_LIMIT_MAX);
    uint8_t address[PBFT_ADDRESS_SIZE];
    rc = wallet_resolve_address(ctx, argc ? argv[0] : ctx->from, address);
    if (rc) return rc;
    if ((rc = wallet_need_http(ctx))) return rc;
    char addr[41], path[160], err[512];
    address_hex(address, addr);
    snprintf(path, sizeof(path), "/account/%s/history?limit=%" PRIu64, addr, limit);
    tools_http_response_t r;
    pbft_status_t st = tools_http_get(ctx->http, path, &r, err, sizeof(err));
    if (st != PBFT_OK) return wallet_fail_http(ctx, st, err);
    if (r.status != 200) {
        rc = wallet_fail_response(ctx, &r, "history");
    } else {
        if (!ctx->json) printf("history of %s (newest first):\n", addr);
        rc = print_history(ctx, addr, r.json ? json_object_get(r.json, "txs") : NULL);
    }
    tools_http_response_free(&r);
    return rc;
}
