/*
 * tools/wallet/util.c — error reporting, lazy resources, name resolution.
 */
#include <errno.h>
#include <time.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "wallet.h"
#include "../common/json.h"
#include "pbft/crypto.h"

int wallet_fail(const wallet_ctx_t *ctx, int exit_code, const char *name, const char *fmt, ...) {
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    fprintf(stderr, "pbft-wallet: %s\n", message);
    if (ctx->json) {
        json_t *doc = json_object();
        json_object_set_new(doc, "error", json_string(name));
        json_object_set_new(doc, "message", json_string(message));
        json_object_set_new(doc, "exit_code", json_integer(exit_code));
        tools_json_print(doc);
    }
    return exit_code;
}

int wallet_need_http(wallet_ctx_t *ctx) {
    if (ctx->http) return 0;
    char err[256];
    long per_request_ms = PBFT_MIN(ctx->timeout_ms, 10000L);
    ctx->http = tools_http_new(ctx->nodes, per_request_ms, err, sizeof(err));
    if (!ctx->http) return wallet_fail(ctx, WALLET_EXIT_USAGE, "usage", "--node: %s", err);
    return 0;
}

int wallet_need_genesis(wallet_ctx_t *ctx) {
    if (ctx->genesis_loaded) return 0;
    if (access(ctx->genesis_path, F_OK) != 0) {
        return wallet_fail(ctx, WALLET_EXIT_NOINPUT, "no_genesis",
                           "no genesis file at %s: copy the network's genesis.json there or "
                           "pass --genesis FILE (the wallet never takes genesis from a node, "
                           "because receipts are checked against it)",
                           ctx->genesis_path);
    }
    char err[512] = "";
    pbft_status_t st = ledger_genesis_load(ctx->genesis_path, &ctx->genesis, err, sizeof(err));
    if (st != PBFT_OK) {
        return wallet_fail(ctx, st == PBFT_ERR_IO ? WALLET_EXIT_NOINPUT : WALLET_EXIT_DATAERR,
                           "bad_genesis", "cannot load genesis %s: %s", ctx->genesis_path,
                           err[0] ? err : pbft_status_string(st));
    }
    ctx->genesis_loaded = true;
    return 0;
}

int wallet_fail_http(const wallet_ctx_t *ctx, pbft_status_t st, const char *err) {
    if (st == PBFT_ERR_TIMEOUT)
        return wallet_fail(ctx, WALLET_EXIT_TEMPFAIL, "timeout", "node did not answer in time: %s",
                           err);
    if (st == PBFT_ERR_LIMIT) return wallet_fail(ctx, WALLET_EXIT_DATAERR, "too_large", "%s", err);
    return wallet_fail(ctx, WALLET_EXIT_UNAVAILABLE, "unavailable", "no node reachable: %s", err);
}

int wallet_fail_response(const wallet_ctx_t *ctx, const tools_http_response_t *r,
                         const char *what) {
    const char *name = r->json ? tools_json_get_string(r->json, "error") : NULL;
    const char *message = r->json ? tools_json_get_string(r->json, "message") : NULL;
    int code = WALLET_EXIT_NEGATIVE;
    if (r->status == 503 || r->status == 429) code = WALLET_EXIT_TEMPFAIL;
    if (r->status >= 500 && r->status != 503) code = WALLET_EXIT_UNAVAILABLE;
    return wallet_fail(ctx, code, name ? name : "http_error", "%s: node answered HTTP %ld%s%s%s%s",
                       what, r->status, name ? " " : "", name ? name : "", message ? ": " : "",
                       message ? message : "");
}

int wallet_load_key(wallet_ctx_t *ctx, const char *name, crypto_key_t **out) {
    char err[512];
    pbft_status_t st = tools_keystore_load(ctx->keystore, name, out, err, sizeof(err));
    if (st == PBFT_OK) return 0;
    int code = WALLET_EXIT_NOINPUT;
    if (st == PBFT_ERR_PERMISSION) code = WALLET_EXIT_NOPERM;
    if (st == PBFT_ERR_ARGUMENT) code = WALLET_EXIT_USAGE;
    if (st == PBFT_ERR_BAD_KEY) code = WALLET_EXIT_DATAERR;
    return wallet_fail(ctx, code, pbft_status_name(st), "%s", err);
}

static bool is_address_hex(const char *s) {
    if (strlen(s) != 2 * PBFT_ADDRESS_SIZE) return false;
    for (const char *p = s; *p; p++) {
        bool hex = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F');
        if (!hex) return false;
    }
    return true;
}

int wallet_resolve_address(wallet_ctx_t *ctx, const char *who, uint8_t out[PBFT_ADDRESS_SIZE]) {
    if (!who)
        return wallet_fail(ctx, WALLET_EXIT_USAGE, "usage",
                           "which account? give ADDR or NAME, or --from NAME");
    if (is_address_hex(who)) {
        if (crypto_hex_decode(who, strlen(who), out, PBFT_ADDRESS_SIZE) == PBFT_OK) return 0;
    }
    if (!tools_key_name_valid(who))
        return wallet_fail(ctx, WALLET_EXIT_USAGE, "usage",
                           "\"%s\" is neither a 40-digit address nor a key name", who);
    crypto_key_t *key = NULL;
    int rc = wallet_load_key(ctx, who, &key);
    if (rc) return rc;
    uint8_t pubkey[PBFT_PUBKEY_SIZE];
    crypto_key_public(key, pubkey);
    crypto_key_free(key);
    crypto_address(pubkey, out);
    return 0;
}

uint64_t wallet_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void wallet_sleep_ms(uint64_t ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}
