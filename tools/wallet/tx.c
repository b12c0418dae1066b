/*
 * tools/wallet/tx.c — send, sign, broadcast, tx, confirm.
 *
 * A payment is reported as done only after the wallet has checked the
 * receipt itself: the certificate must carry 2f+1 valid signatures of the
 * genesis validators over the block header, and the Merkle path must take
 * the tx id to that header's tx root. Until then the answer is "timeout"
 * (retry with the same nonce: at most one of the attempts can commit) or a
 * refusal.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wallet.h"
#include "../common/json.h"
#include "pbft/codec.h"
#include "pbft/crypto.h"

#define WALLET_TX_FILE_SIZE_MAX (64u * 1024u)
#define WALLET_POLL_MS_MIN 50
#define WALLET_POLL_MS_MAX 500
#define WALLET_WAIT_MS 500        /* one long-poll of GET /tx/ID?wait_ms= */
#define WALLET_WAIT_MARGIN_MS 100 /* kept between the wait and the deadline */
#define WALLET_RESUBMIT_MS 1000
#define WALLET_BROADCAST_MS 1500 /* pending this long: send to every replica */
#define WALLET_BROADCAST_TIMEOUT_MS 2000

static char *tx_to_hex(const pbft_tx_t *tx) {
    uint8_t bytes[PBFT_TX_SIZE_MAX];
    size_t size = codec_tx_encode(tx, bytes, sizeof(bytes));
    PBFT_ASSERT(size > 0);
    char *hex = pbft_xmalloc(2 * size + 1);
    crypto_hex_encode(bytes, size, hex);
    return hex;
}

/* Reads the tx fields from options (to, amount, memo, nonce). */
static int tx_from_options(wallet_ctx_t *ctx, pbft_tx_t *tx, bool *have_nonce) {
    memset(tx, 0, sizeof(*tx));
    if (!ctx->to || !ctx->amount)
        return wallet_fail(ctx, WALLET_EXIT_USAGE, "usage", "--to and --amount are required");
    if (!tools_parse_u64(ctx->amount, &tx->amount))
        return wallet_fail(ctx, WALLET_EXIT_USAGE, "usage", "--amount must be a whole number");
    int rc = wallet_resolve_address(ctx, ctx->to, tx->recipient);
    if (rc) return rc;
    if (ctx->memo) {
        size_t len = strlen(ctx->memo);
        if (len > PBFT_TX_MEMO_SIZE_MAX)
            return wallet_fail(ctx, WALLET_EXIT_USAGE, "usage", "--memo is longer than %d bytes",
                               PBFT_TX_MEMO_SIZE_MAX);
        memcpy(tx->memo, ctx->memo, len);
        tx->memo_size = (uint16_t)len;
    }
    *have_nonce = ctx->nonce != NULL;
    if (ctx->nonce && !tools_parse_u64(ctx->nonce, &tx->nonce))
        return wallet_fail(ctx, WALLET_EXIT_USAGE, "usage", "--nonce must be a whole number");
    return 0;
}

/* Builds and signs a tx from --from and the options; fetches the nonce from
 * the node unless --nonce was given (or offline is set, which requires it). */
static int build_signed_tx(wallet_ctx_t *ctx, bool offline, pbft_tx_t *tx) {
    memset(tx, 0, sizeof(*tx));
    if (!ctx->from) return wallet_fail(ctx, WALLET_EXIT_USAGE, "usage", "--from NAME is required");
    bool have_nonce = false;
    int rc = tx_from_options(ctx, tx, &have_nonce);
    if (rc) return rc;
    if (offline && !have_nonce)
        return wallet_fail(ctx, WALLET_EXIT_USAGE, "usage",
                           "sign works offline and needs --nonce N (pbft-wallet nonce NAME)");
    if ((rc = wallet_need_genesis(ctx))) return rc;
    crypto_key_t *key = NULL;
    if ((rc = wallet_load_key(ctx, ctx->from, &key))) return rc;
    crypto_key_public(key, tx->sender_pubkey);
    if (!have_nonce) {
        uint8_t address[PBFT_ADDRESS_SIZE];
        crypto_address(tx->sender_pubkey, address);
        rc = wallet_account_nonce(ctx, address, &tx->nonce);
    }
    if (rc == 0 && codec_tx_sign(tx, key, ctx->genesis.chain_id) != PBFT_OK)
        rc = wallet_fail(ctx, WALLET_EXIT_DATAERR, "sign_failed", "signing failed");
    crypto_key_free(key);
    return rc;
}

/* POST /tx. 0 when the node queued it or already knew it. */
static int submit(wallet_ctx_t *ctx, const char *hex, const char *id_hex, bool quiet) {
    int rc = wallet_need_http(ctx);
    if (rc) return rc;
    json_t *body = json_object();
    json_object_set_new(body, "tx", json_string(hex));
    tools_http_response_t r;
    char err[512];
    pbft_status_t st = tools_http_post_json(ctx->http, "/tx", body, &r, err, sizeof(err));
    json_decref(body);
    if (st != PBFT_OK) return quiet ? -1 : wallet_fail_http(ctx, st, err);
    if (r.status != 200 && r.status != 202) {
        rc = quiet ? -1 : wallet_fail_response(ctx, &r, "transaction rejected");
    } else {
        const char *id = r.json ? tools_json_get_string(r.json, "id") : NULL;
        if (id && strcmp(id, id_hex) != 0)
            rc = wallet_fail(ctx, WALLET_EXIT_DATAERR, "id_mismatch",
                             "node %s acknowledged a different tx id %s (expected %s)",
                             tools_http_current_url(ctx->http), id, id_hex);
    }
    tools_http_response_free(&r);
    return rc;
}

static void json_set_tx_fields(json_t *doc, const pbft_tx_t *tx) {
    uint8_t from[PBFT_ADDRESS_SIZE];
    crypto_address(tx->sender_pubkey, from);
    json_object_set_new(doc, "from", tools_json_hex(from, PBFT_ADDRESS_SIZE));
    json_object_set_new(doc, "to", tools_json_hex(tx->recipient, PBFT_ADDRESS_SIZE));
    json_object_set_new(doc, "amount", tools_json_u64(tx->amount));
    json_object_set_new(doc, "nonce", tools_json_u64(tx->nonce));
    json_object_set_new(doc, "memo", json_stringn((const char *)tx->memo, tx->memo_size));
}

static void print_committed_json(const wallet_ctx_t *ctx, const char *id_hex,
                                 const tools_receipt_t *r, const wallet_agreement_t *a) {
    json_t *doc = json_object();
    json_object_set_new(doc, "id", json_string(id_hex));
    json_object_set_new(doc, "status", json_string("committed"));
    json_object_set_new(doc, "height", tools_json_u64(r->header.height));
    json_object_set_new(doc, "index", json_integer(r->proof.leaf_index));
    json_object_set_new(doc, "result", json_string(a->result));
    json_object_set_new(doc, "verified", json_true());
    json_object_set_new(doc, "signatures", json_integer(r->cert.count));
    json_object_set_new(doc, "quorum",
                        json_integer(pbft_validator_quorum(&ctx->genesis.validators)));
    json_object_set_new(doc, "result_reports", json_integer(a->agreeing));
    json_object_set_new(doc, "result_reports_needed", json_integer(a->needed));
    if (a->dissent) json_object_set_new(doc, "faulty_replica", json_string(a->dissenter));
    json_set_tx_fields(doc, &r->tx);
    tools_json_print(doc);
}

static void print_committed_human(const wallet_ctx_t *ctx, const tools_receipt_t *r,
                                  const wallet_agreement_t *a) {
    printf("committed at height %" PRIu64 ", index %" PRIu32 ": result %s\n", r->header.height,
           r->proof.leaf_index, a->result);
    printf("receipt verified against genesis: Merkle path to the tx root, commit "
           "certificate signed by %u of %u validators (quorum %u)\n",
           (unsigned)r->cert.count, (unsigned)ctx->genesis.validators.count,
           (unsigned)pbft_validator_quorum(&ctx->genesis.validators));
    if (a->agreeing >= a->needed && a->needed > 1)
        printf("result %s reported by %u replicas (f+1 = %u needed)\n", a->result, a->agreeing,
               a->needed);
    else if (a->agreeing < a->needed)
        printf("note: result %s as reported by %u replica only; give --node with at least %u "
               "replicas to cross-check it\n",
               a->result, a->agreeing, a->needed);
    if (a->dissent)
        printf("warning: %u replica%s (e.g. %s) reported another result with a valid receipt: "
               "it is faulty\n",
               a->dissent, a->dissent == 1 ? "" : "s", a->dissenter);
    if (strcmp(a->result, "ok") != 0)
        printf("the transaction FAILED (%s): nothing moved\n", a->result);
}

/* Verifies a committed /tx answer, has f+1 replicas confirm its result when
 * that many are configured, and reports. Success is printed only after the
 * receipt verified against genesis. */
static int report_committed(wallet_ctx_t *ctx, const uint8_t id[PBFT_HASH_SIZE], const char *id_hex,
                            const json_t *answer, uint64_t deadline_ms) {
    tools_receipt_t r;
    char why[512];
    tools_receipt_status_t s =
        tools_receipt_verify(&ctx->genesis, id, answer, &r, why, sizeof(why));
    if (s != TOOLS_RECEIPT_OK) {
        return wallet_fail(ctx, WALLET_EXIT_DATAERR, tools_receipt_status_name(s),
                           "REFUSED: the receipt for %s from %s failed verification against "
                           "genesis: %s. Do not treat this transaction as committed.",
                           id_hex, ctx->http ? tools_http_current_url(ctx->http) : "?", why);
    }
    wallet_agreement_t a;
    (void)wallet_cross_check(ctx, id, id_hex, &r, deadline_ms, &a);
    if (a.agreeing < a.needed && a.asked >= a.needed) {
        return wallet_fail(ctx, a.dissent ? WALLET_EXIT_DATAERR : WALLET_EXIT_TEMPFAIL,
                           a.dissent ? "result_conflict" : "result_unconfirmed",
                           "tx %s is committed at height %" PRIu64
                           " (its inclusion is proven), but "
                           "the replicas do not agree on its result: %u report %s, %u report "
                           "another result (e.g. %s), %u needed; check again with: "
                           "pbft-wallet confirm %s",
                           id_hex, r.header.height, a.agreeing, a.result, a.dissent,
                           a.dissent ? a.dissenter : "-", a.needed, id_hex);
    }
    if (ctx->json)
        print_committed_json(ctx, id_hex, &r, &a);
    else
        print_committed_human(ctx, &r, &a);
    return strcmp(a.result, "ok") == 0 ? WALLET_EXIT_OK : WALLET_EXIT_NEGATIVE;
}

/* GET /tx/ID once, quietly. Returns TX_UNKNOWN/TX_PENDING/TX_COMMITTED, or
 * TX_ERROR with err filled (transport failure or an unexpected answer). */
enum { TX_ERROR = -1, TX_UNKNOWN = 0, TX_PENDING = 1, TX_COMMITTED = 2 };

/* With wait_ms > 0 a replica answers as soon as the tx commits, or after
 * wait_ms (GET /tx/ID?wait_ms=N). */
static int fetch_tx(wallet_ctx_t *ctx, const char *id_hex, uint64_t wait_ms,
                    tools_http_response_t *r, pbft_status_t *http_status, char *err,
                    size_t err_size) {
    char path[160];
    if (wait_ms > 0)
        snprintf(path, sizeof(path), "/tx/%s?wait_ms=%" PRIu64, id_hex, wait_ms);
    else
        snprintf(path, sizeof(path), "/tx/%s", id_hex);
    *http_status = tools_http_get(ctx->http, path, r, err, err_size);
    if (*http_status != PBFT_OK) return TX_ERROR;
    const char *status = r->json ? tools_json_get_string(r->json, "status") : NULL;
    if (r->status == 404) return TX_UNKNOWN;
    if (r->status == 200 && status && strcmp(status, "pending") == 0) return TX_PENDING;
    if (r->status == 200 && status && strcmp(status, "committed") == 0) return TX_COMMITTED;
    return TX_ERROR;
}

static int report_timeout(wallet_ctx_t *ctx, const char *id_hex, const pbft_tx_t *tx,
                          const char *last) {
    return wallet_fail(ctx, WALLET_EXIT_TEMPFAIL, "timeout",
                       "tx %s not committed within %ld s (last: %s). It may still commit; it is "
                       "safe to retry with the same nonce (--nonce %" PRIu64
                       "): at most one of the attempts can commit",
                       id_hex, ctx->timeout_ms / 1000, last, tx->nonce);
}

/* Sends the tx to every configured replica (PBFT §4.1: a client whose
 * request is slow broadcasts it, so every backup starts its request timer
 * and a primary that is down or censoring gets replaced). Idempotent: a
 * replica that already has it answers "pending". */
static void broadcast(wallet_ctx_t *ctx, const char *hex) {
    size_t n = tools_http_url_count(ctx->http);
    if (n < 2) return;
    json_t *body = json_object();
    json_object_set_new(body, "tx", json_string(hex));
    tools_http_set_timeout(ctx->http, WALLET_BROADCAST_TIMEOUT_MS);
    for (size_t i = 0; i < n; i++) {
        tools_http_response_t r;
        char err[256];
        if (tools_http_post_json_to(ctx->http, i, "/tx", body, &r, err, sizeof(err)) == PBFT_OK)
            tools_http_response_free(&r);
    }
    json_decref(body);
}

/* Long-polls /tx/ID (a replica answers the moment the tx commits) until it
 * is committed or --timeout passes, re-submitting the (idempotent) tx when
 * a node does not know it — e.g. after failing over to another replica.
 * Then verifies and reports. */
static int wait_and_report(wallet_ctx_t *ctx, const pbft_tx_t *tx, const char *hex) {
    uint8_t id[PBFT_HASH_SIZE];
    char id_hex[2 * PBFT_HASH_SIZE + 1], last[512] = "no answer yet";
    codec_tx_id(tx, id);
    crypto_hex_encode(id, PBFT_HASH_SIZE, id_hex);
    uint64_t start = wallet_now_ms(), deadline = start + (uint64_t)ctx->timeout_ms;
    uint64_t poll_ms = WALLET_POLL_MS_MIN, last_submit = start, last_broadcast = start;
    uint64_t broadcast_ms = WALLET_BROADCAST_MS;
    while (true) {
        uint64_t now = wallet_now_ms();
        if (now >= deadline) return report_timeout(ctx, id_hex, tx, last);
        tools_http_set_timeout(ctx->http, (long)PBFT_MIN(deadline - now, 10000u));
        /* The answer must come well inside the request timeout. */
        uint64_t left = deadline - now;
        uint64_t wait_ms = left > 2 * WALLET_WAIT_MARGIN_MS
                               ? PBFT_MIN((uint64_t)WALLET_WAIT_MS, left - WALLET_WAIT_MARGIN_MS)
                               : 0;
        tools_http_response_t r;
        pbft_status_t http_status = PBFT_OK;
        char err[512];
        int state = fetch_tx(ctx, id_hex, wait_ms, &r, &http_status, err, sizeof(err));
        bool waited = wait_ms > 0 && wallet_now_ms() - now >= wait_ms;
        if (state == TX_COMMITTED) {
            int rc = report_committed(ctx, id, id_hex, r.json, deadline);
            tools_http_response_free(&r);
            return rc;
        }
        if (state == TX_ERROR)
            snprintf(last, sizeof(last), "%s",
                     http_status != PBFT_OK ? err : "unexpected answer to GET /tx");
        else
            snprintf(last, sizeof(last), "%s at %s", state == TX_PENDING ? "pending" : "unknown",
                     tools_http_current_url(ctx->http));
        tools_http_response_free(&r);
        if (state == TX_UNKNOWN && wallet_now_ms() - last_submit >= WALLET_RESUBMIT_MS) {
            (void)submit(ctx, hex, id_hex, true);
            last_submit = wallet_now_ms();
        }
        if (wallet_now_ms() - last_broadcast >= broadcast_ms) {
            broadcast(ctx, hex);
            last_broadcast = wallet_now_ms();
            broadcast_ms = PBFT_MIN(broadcast_ms * 2, 10000u);
        }
        /* The replica did not hold the request (an error, or a node that
         * ignores wait_ms): back off instead of spinning. */
        if (waited) continue;
        wallet_sleep_ms(PBFT_MIN(poll_ms, deadline - PBFT_MIN(wallet_now_ms(), deadline)));
        poll_ms = PBFT_MIN(poll_ms * 3 / 2, (uint64_t)WALLET_POLL_MS_MAX);
    }
}

static void print_submitted(const wallet_ctx_t *ctx, const pbft_tx_t *tx, const char *id_hex,
                            bool async) {
    uint8_t from[PBFT_ADDRESS_SIZE];
    char from_hex[41], to_hex[41];
    crypto_address(tx->sender_pubkey, from);
    crypto_hex_encode(from, PBFT_ADDRESS_SIZE, from_hex);
    crypto_hex_encode(tx->recipient, PBFT_ADDRESS_SIZE, to_hex);
    if (ctx->json) {
        if (!async) return;
        json_t *doc = json_object();
        json_object_set_new(doc, "id", json_string(id_hex));
        json_object_set_new(doc, "status", json_string("submitted"));
        json_set_tx_fields(doc, tx);
        tools_json_print(doc);
        return;
    }
    printf("tx %s\n  %s -> %s amount %" PRIu64 " nonce %" PRIu64 "\n", id_hex, from_hex, to_hex,
           tx->amount, tx->nonce);
    if (async) printf("submitted (not waiting; check with: pbft-wallet confirm %s)\n", id_hex);
    fflush(stdout);
}

/* Submits a signed tx, then (unless --async) waits and verifies. */
static int submit_and_wait(wallet_ctx_t *ctx, const pbft_tx_t *tx) {
    uint8_t id[PBFT_HASH_SIZE];
    char id_hex[2 * PBFT_HASH_SIZE + 1];
    codec_tx_id(tx, id);
    crypto_hex_encode(id, PBFT_HASH_SIZE, id_hex);
    char *hex = tx_to_hex(tx);
    tools_http_set_timeout(ctx->http, PBFT_MIN(ctx->timeout_ms, 10000L));
    int rc = submit(ctx, hex, id_hex, false);
    if (rc == 0) {
        print_submitted(ctx, tx, id_hex, ctx->async);
        if (!ctx->async) rc = wait_and_report(ctx, tx, hex);
    }
    free(hex);
    return rc;
}

int wallet_cmd_send(wallet_ctx_t *ctx, int argc, char **argv) {
    (void)argv;
    if (argc != 0) return wallet_fail(ctx, WALLET_EXIT_USAGE, "usage", "send takes no arguments");
    pbft_tx_t tx = {0};
    memset(&tx, 0, sizeof(tx));
    int rc = wallet_need_http(ctx);
    if (rc == 0) rc = build_signed_tx(ctx, false, &tx);
    if (rc) return rc;
    return submit_and_wait(ctx, &tx);
}

static int write_tx_file(wallet_ctx_t *ctx, const pbft_tx_t *tx) {
    uint8_t id[PBFT_HASH_SIZE];
    codec_tx_id(tx, id);
    json_t *doc = json_object();
    json_object_set_new(doc, "id", tools_json_hex(id, PBFT_HASH_SIZE));
    char *hex = tx_to_hex(tx);
    json_object_set_new(doc, "tx", json_string(hex));
    free(hex);
    json_object_set_new(doc, "chain_id", tools_json_hex(ctx->genesis.chain_id, PBFT_HASH_SIZE));
    json_set_tx_fields(doc, tx);
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    int fd = open(ctx->output, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        free(text);
        return wallet_fail(ctx, WALLET_EXIT_CANTCREAT, "cannot_create", "cannot create %s: %s%s",
                           ctx->output, strerror(errno),
                           errno == EEXIST ? " (refusing to overwrite)" : "");
    }
    size_t len = strlen(text);
    bool ok = write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1;
    ok = (close(fd) == 0) && ok;
    free(text);
    if (!ok) return wallet_fail(ctx, WALLET_EXIT_CANTCREAT, "io", "writing %s failed", ctx->output);
    return 0;
}

int wallet_cmd_sign(wallet_ctx_t *ctx, int argc, char **argv) {
    (void)argv;
    if (argc != 0 || !ctx->output)
        return wallet_fail(ctx, WALLET_EXIT_USAGE, "usage",
                           "usage: pbft-wallet --from NAME sign --to ADDR|NAME --amount N "
                           "--nonce N [--memo TEXT] -o FILE");
    pbft_tx_t tx = {0};
    int rc = build_signed_tx(ctx, true, &tx);
    if (rc == 0) rc = write_tx_file(ctx, &tx);
    if (rc) return rc;
    uint8_t id[PBFT_HASH_SIZE];
    char id_hex[2 * PBFT_HASH_SIZE + 1];
    codec_tx_id(&tx, id);
    crypto_hex_encode(id, PBFT_HASH_SIZE, id_hex);
    if (ctx->json) {
        json_t *doc = json_object();
        json_object_set_new(doc, "id", json_string(id_hex));
        json_object_set_new(doc, "file", json_string(ctx->output));
        json_set_tx_fields(doc, &tx);
        tools_json_print(doc);
    } else {
        printf("signed tx %s (nonce %" PRIu64 ") into %s\nsubmit it with: pbft-wallet broadcast "
               "%s\n",
               id_hex, tx.nonce, ctx->output, ctx->output);
    }
    return WALLET_EXIT_OK;
}

/* Reads a tx file: the JSON written by sign ({"tx": hex, ...}) or bare hex. */
static int read_tx_file(wallet_ctx_t *ctx, const char *path, pbft_tx_t *tx) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return wallet_fail(ctx, WALLET_EXIT_NOINPUT, "no_input", "cannot open %s: %s", path,
                           strerror(errno));
    char *text = pbft_xmalloc(WALLET_TX_FILE_SIZE_MAX + 1);
    size_t size = fread(text, 1, WALLET_TX_FILE_SIZE_MAX + 1, f);
    fclose(f);
    int rc = 0;
    uint8_t *bytes = NULL;
    size_t bytes_size = 0;
    json_t *doc = size <= WALLET_TX_FILE_SIZE_MAX ? json_loadb(text, size, 0, NULL) : NULL;
    if (doc) {
        if (!tools_json_get_hex_alloc(doc, "tx", PBFT_TX_SIZE_MAX, &bytes, &bytes_size)) rc = -1;
        json_decref(doc);
    } else if (size <= WALLET_TX_FILE_SIZE_MAX) {
        while (size && (text[size - 1] == '\n' || text[size - 1] == '\r' || text[size - 1] == ' '))
            size--;
        text[size] = '\0';
        json_t *wrap = json_pack("{s:s}", "tx", text);
        if (!wrap || !tools_json_get_hex_alloc(wrap, "tx", PBFT_TX_SIZE_MAX, &bytes, &bytes_size))
            rc = -1;
        json_decref(wrap);
    } else {
        rc = -1;
    }
    free(text);
    if (rc == 0 && codec_tx_decode(bytes, bytes_size, tx) != PBFT_OK) rc = -1;
    free(bytes);
    if (rc)
        return wallet_fail(ctx, WALLET_EXIT_DATAERR, "malformed",
                           "%s does not hold a signed transaction (JSON from sign, or hex)", path);
    return 0;
}

int wallet_cmd_broadcast(wallet_ctx_t *ctx, int argc, char **argv) {
    if (argc != 1)
        return wallet_fail(ctx, WALLET_EXIT_USAGE, "usage", "usage: pbft-wallet broadcast FILE");
    pbft_tx_t tx = {0};
    int rc = read_tx_file(ctx, argv[0], &tx);
    if (rc == 0) rc = wallet_need_genesis(ctx);
    if (rc == 0) rc = wallet_need_http(ctx);
    if (rc) return rc;
    if (codec_tx_verify(&tx, ctx->genesis.chain_id) != PBFT_OK)
        return wallet_fail(ctx, WALLET_EXIT_DATAERR, "bad_signature",
                           "%s: signature is not valid for this chain (%s)", argv[0],
                           ctx->genesis_path);
    return submit_and_wait(ctx, &tx);
}

static int parse_id(wallet_ctx_t *ctx, int argc, char **argv, const char *cmd,
                    uint8_t id[PBFT_HASH_SIZE]) {
    if (argc != 1)
        return wallet_fail(ctx, WALLET_EXIT_USAGE, "usage", "usage: pbft-wallet %s ID", cmd);
    if (strlen(argv[0]) != 2 * PBFT_HASH_SIZE ||
        crypto_hex_decode(argv[0], strlen(argv[0]), id, PBFT_HASH_SIZE) != PBFT_OK)
        return wallet_fail(ctx, WALLET_EXIT_USAGE, "usage", "a tx id is 64 hex digits");
    return 0;
}

static int lookup(wallet_ctx_t *ctx, const char *id_hex, tools_http_response_t *r, int *state) {
    int rc = wallet_need_http(ctx);
    if (rc) return rc;
    pbft_status_t http_status = PBFT_OK;
    char err[512];
    *state = fetch_tx(ctx, id_hex, 0, r, &http_status, err, sizeof(err));
    if (*state != TX_ERROR) return 0;
    if (http_status != PBFT_OK) return wallet_fail_http(ctx, http_status, err);
    rc = wallet_fail_response(ctx, r, "tx lookup");
    tools_http_response_free(r);
    return rc;
}

static int report_not_committed(wallet_ctx_t *ctx, const char *id_hex, int state, bool confirm) {
    const char *status = state == TX_PENDING ? "pending" : "unknown";
    if (ctx->json) {
        json_t *doc = json_object();
        json_object_set_new(doc, "id", json_string(id_hex));
        json_object_set_new(doc, "status", json_string(status));
        tools_json_print(doc);
    } else {
        printf("tx %s: %s%s\n", id_hex, status,
               state == TX_PENDING ? " (accepted, not committed yet)"
                                   : " (the node does not know it)");
    }
    if (state == TX_UNKNOWN) return WALLET_EXIT_NEGATIVE;
    return confirm ? WALLET_EXIT_TEMPFAIL : WALLET_EXIT_OK;
}

int wallet_cmd_tx(wallet_ctx_t *ctx, int argc, char **argv) {
    uint8_t id[PBFT_HASH_SIZE];
    int rc = parse_id(ctx, argc, argv, "tx", id), state = 0;
    tools_http_response_t r;
    if (rc || (rc = lookup(ctx, argv[0], &r, &state))) return rc;
    if (state != TX_COMMITTED) {
        tools_http_response_free(&r);
        return report_not_committed(ctx, argv[0], state, false);
    }
    tools_receipt_t rec;
    memset(&rec, 0, sizeof(rec));
    char why[512];
    bool decoded = tools_receipt_parse(r.json, &rec, why, sizeof(why)) == TOOLS_RECEIPT_OK;
    if (ctx->json) {
        json_t *doc = json_object();
        json_object_set_new(doc, "id", json_string(argv[0]));
        json_object_set_new(doc, "status", json_string("committed"));
        json_object_set_new(doc, "height", tools_json_u64(rec.height));
        json_object_set_new(doc, "index", json_integer(rec.index));
        json_object_set_new(doc, "result", json_string(rec.result));
        json_object_set_new(doc, "verified", json_false());
        if (decoded) json_set_tx_fields(doc, &rec.tx);
        tools_json_print(doc);
    } else {
        printf("tx %s: committed at height %" PRIu64 ", index %" PRIu32 ", result %s\n", argv[0],
               rec.height, rec.index, rec.result);
        if (decoded) {
            char to[41];
            crypto_hex_encode(rec.tx.recipient, PBFT_ADDRESS_SIZE, to);
            printf("  to %s amount %" PRIu64 " nonce %" PRIu64 "\n", to, rec.tx.amount,
                   rec.tx.nonce);
        }
        printf("  (as reported by %s; not verified — run: pbft-wallet confirm %s)\n",
               tools_http_current_url(ctx->http), argv[0]);
    }
    tools_http_response_free(&r);
    return WALLET_EXIT_OK;
}

int wallet_cmd_confirm(wallet_ctx_t *ctx, int argc, char **argv) {
    uint8_t id[PBFT_HASH_SIZE];
    int rc = parse_id(ctx, argc, argv, "confirm", id), state = 0;
    if (rc || (rc = wallet_need_genesis(ctx))) return rc;
    tools_http_response_t r;
    if ((rc = lookup(ctx, argv[0], &r, &state))) return rc;
    if (state == TX_COMMITTED)
        rc =
            report_committed(ctx, id, argv[0], r.json, wallet_now_ms() + (uint64_t)ctx->timeout_ms);
    else
        rc = report_not_committed(ctx, argv[0], state, true);
    tools_http_response_free(&r);
    return rc;
}
