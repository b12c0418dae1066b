/*
 * tools/wallet/wallet.h — pieces of pbft-wallet shared between its files.
 */
#ifndef PBFT_WALLET_H
#define PBFT_WALLET_H

#include <jansson.h>

#include "../common/http.h"
#include "../common/keystore.h"
#include "../common/receipt.h"
#include "pbft/common.h"
#include "pbft/ledger.h"
#include "pbft/types.h"

/* Exit codes (sysexits.h values, documented in --help). */
#define WALLET_EXIT_OK 0
#define WALLET_EXIT_NEGATIVE 1 /* rejected, not found, tx failed */
#define WALLET_EXIT_USAGE 64
#define WALLET_EXIT_DATAERR 65     /* bad receipt, forged proof, bad file */
#define WALLET_EXIT_NOINPUT 66     /* key or genesis missing */
#define WALLET_EXIT_UNAVAILABLE 69 /* no node reachable */
#define WALLET_EXIT_CANTCREAT 73   /* output file exists / cannot be made */
#define WALLET_EXIT_TEMPFAIL 75    /* timeout: safe to retry with the same nonce */
#define WALLET_EXIT_NOPERM 77      /* key file readable by others, etc. */

#define WALLET_NODES_SIZE_MAX 4096
#define WALLET_TIMEOUT_MS_DEFAULT 30000
#define WALLET_HISTORY_LIMIT_DEFAULT 20

typedef struct wallet_ctx {
    char keystore[TOOLS_PATH_SIZE_MAX];
    char genesis_path[TOOLS_PATH_SIZE_MAX + 32];
    char nodes[WALLET_NODES_SIZE_MAX];
    const char *from;
    bool json;
    long timeout_ms;
    /* command options */
    const char *to;
    const char *amount;
    const char *memo;
    const char *nonce;
    const char *output;
    const char *limit;
    bool async;
    /* loaded lazily */
    tools_http_t *http;
    pbft_genesis_t genesis;
    bool genesis_loaded;
} wallet_ctx_t;

/* Reports an error (stderr, plus a JSON document on stdout with --json) and
 * returns exit_code. */
PBFT_PRINTF(4, 5)
int wallet_fail(const wallet_ctx_t *ctx, int exit_code, const char *name, const char *fmt, ...);

/* Lazily made resources; each returns 0 or an exit code (already reported). */
int wallet_need_http(wallet_ctx_t *ctx);
int wallet_need_genesis(wallet_ctx_t *ctx);
/* Maps a tools_http status to an exit code and reports it. */
int wallet_fail_http(const wallet_ctx_t *ctx, pbft_status_t st, const char *err);
/* A 4xx/5xx answer from a node: reports {"error","message"} and returns an exit code. */
int wallet_fail_response(const wallet_ctx_t *ctx, const tools_http_response_t *r, const char *what);

/* ADDR (40 hex digits) or a key name in the keystore. 0 or an exit code. */
int wallet_resolve_address(wallet_ctx_t *ctx, const char *who, uint8_t out[PBFT_ADDRESS_SIZE]);
/* Loads key NAME from the keystore. 0 or an exit code. */
int wallet_load_key(wallet_ctx_t *ctx, const char *name, crypto_key_t **out);

/* The next nonce of an account as the node reports it. 0 or an exit code. */
int wallet_account_nonce(wallet_ctx_t *ctx, const uint8_t address[PBFT_ADDRESS_SIZE],
                         uint64_t *nonce);

/* Monotonic clock and sleeping, in milliseconds. */
uint64_t wallet_now_ms(void);
void wallet_sleep_ms(uint64_t ms);

/* The result code of a committed tx as the replicas report it. */
typedef struct wallet_agreement {
    char result[32];   /* the result f+1 replicas agree on (else the first report) */
    unsigned agreeing; /* replicas reporting `result` with a verified receipt */
    unsigned needed;   /* f+1: then at least one of them is correct */
    unsigned asked;    /* replicas configured with --node */
    unsigned dissent;  /* replicas with a verified receipt and another result */
    char dissenter[TOOLS_HTTP_URL_SIZE_MAX]; /* one of them */
} wallet_agreement_t;

/* PBFT's client rule for replies: a result counts once f+1 replicas report
 * it, each with a receipt verified against genesis. Asks the configured
 * replicas (the current one's verified receipt is `first`) until one result
 * has f+1 reports or deadline_ms (wallet_now_ms) passes. Returns 0. */
int wallet_cross_check(wallet_ctx_t *ctx, const uint8_t id[PBFT_HASH_SIZE], const char *id_hex,
                       const tools_receipt_t *first, uint64_t deadline_ms, wallet_agreement_t *out);

/* Commands: each returns the process exit code. */
int wallet_cmd_new(wallet_ctx_t *ctx, int argc, char **argv);
int wallet_cmd_list(wallet_ctx_t *ctx, int argc, char **argv);
int wallet_cmd_address(wallet_ctx_t *ctx, int argc, char **argv);
int wallet_cmd_balance(wallet_ctx_t *ctx, int argc, char **argv);
int wallet_cmd_nonce(wallet_ctx_t *ctx, int argc, char **argv);
int wallet_cmd_history(wallet_ctx_t *ctx, int argc, char **argv);
int wallet_cmd_send(wallet_ctx_t *ctx, int argc, char **argv);
int wallet_cmd_sign(wallet_ctx_t *ctx, int argc, char **argv);
int wallet_cmd_broadcast(wallet_ctx_t *ctx, int argc, char **argv);
int wallet_cmd_tx(wallet_ctx_t *ctx, int argc, char **argv);
int wallet_cmd_confirm(wallet_ctx_t *ctx, int argc, char **argv);

#endif /* PBFT_WALLET_H */
