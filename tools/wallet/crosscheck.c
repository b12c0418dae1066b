/*
 * tools/wallet/crosscheck.c — f+1 replicas must agree on a tx's result.
 *
 * A receipt proves that a tx is in a certified block, but its result code
 * (ok, bad_nonce, insufficient_funds, ...) is the reporting replica's word:
 * the header does not commit to execution results. Execution is
 * deterministic, so every correct replica reports the same result; once f+1
 * replicas report one result, each with a verified receipt, at least one of
 * them is correct (PBFT §4.1: a client waits for f+1 matching replies).
 */
#include <string.h>

#include "wallet.h"
#include "pbft/crypto.h"

#define CROSSCHECK_POLL_MS 200
#define CROSSCHECK_GRACE_MS 5000 /* lagging replicas get at least this long */
#define CROSSCHECK_REQUEST_TIMEOUT_MS 3000
#define CROSSCHECK_RESULTS_MAX 8

typedef struct tally {
    char result[32];
    unsigned count;
    size_t first_index; /* a replica that reported it */
} tally_t;

typedef struct crosscheck {
    tally_t tallies[CROSSCHECK_RESULTS_MAX];
    size_t tally_count;
    bool done[TOOLS_HTTP_URL_COUNT_MAX];
    size_t open;
} crosscheck_t;

static tally_t *tally_add(crosscheck_t *cc, const char *result, size_t index) {
    for (size_t i = 0; i < cc->tally_count; i++) {
        if (strcmp(cc->tallies[i].result, result) == 0) {
            cc->tallies[i].count++;
            return &cc->tallies[i];
        }
    }
    if (cc->tally_count == CROSSCHECK_RESULTS_MAX) return NULL;
    tally_t *t = &cc->tallies[cc->tally_count++];
    snprintf(t->result, sizeof(t->result), "%s", result);
    t->count = 1;
    t->first_index = index;
    return t;
}

/* Asks replica i once; marks it done when its answer is final (committed,
 * whatever the receipt, or unreachable). Returns the tally it added to. */
static tally_t *ask_one(wallet_ctx_t *ctx, crosscheck_t *cc, size_t i,
                        const uint8_t id[PBFT_HASH_SIZE], const char *id_hex) {
    char path[128], err[256], why[256];
    snprintf(path, sizeof(path), "/tx/%s", id_hex);
    tools_http_response_t r;
    if (tools_http_get_from(ctx->http, i, path, &r, err, sizeof(err)) != PBFT_OK) {
        cc->done[i] = true; /* unreachable: cannot help */
        cc->open--;
        return NULL;
    }
    tools_receipt_t other;
    tally_t *t = NULL;
    if (r.status == 200 && r.json &&
        tools_receipt_parse(r.json, &other, why, sizeof(why)) == TOOLS_RECEIPT_OK) {
        cc->done[i] = true;
        cc->open--;
        /* a receipt that does not verify says nothing about the result */
        if (tools_receipt_check(&ctx->genesis, id, &other, why, sizeof(why)) == TOOLS_RECEIPT_OK)
            t = tally_add(cc, other.result, i);
    }
    tools_http_response_free(&r);
    return t;
}

static void summarize(const wallet_ctx_t *ctx, const crosscheck_t *cc, const tally_t *decided,
                      wallet_agreement_t *out) {
    snprintf(out->result, sizeof(out->result), "%s", decided->result);
    out->agreeing = decided->count;
    out->dissent = 0;
    out->dissenter[0] = '\0';
    for (size_t i = 0; i < cc->tally_count; i++) {
        if (&cc->tallies[i] == decided) continue;
        out->dissent += cc->tallies[i].count;
        snprintf(out->dissenter, sizeof(out->dissenter), "%s",
                 tools_http_url(ctx->http, cc->tallies[i].first_index));
    }
}

int wallet_cross_check(wallet_ctx_t *ctx, const uint8_t id[PBFT_HASH_SIZE], const char *id_hex,
                       const tools_receipt_t *first, uint64_t deadline_ms,
                       wallet_agreement_t *out) {
    size_t n = tools_http_url_count(ctx->http);
    memset(out, 0, sizeof(*out));
    out->needed = pbft_validator_f(&ctx->genesis.validators) + 1;
    out->asked = (unsigned)n;
    crosscheck_t cc;
    memset(&cc, 0, sizeof(cc));
    size_t current = tools_http_current_index(ctx->http);
    tally_t *decided = tally_add(&cc, first->result, current);
    cc.done[current] = true;
    cc.open = n - 1;
    deadline_ms = PBFT_MAX(deadline_ms, wallet_now_ms() + CROSSCHECK_GRACE_MS);
    while (decided->count < out->needed && cc.open > 0) {
        for (size_t i = 0; i < n && decided->count < out->needed; i++) {
            if (cc.done[i]) continue;
            uint64_t now = wallet_now_ms();
            long left = now < deadline_ms ? (long)(deadline_ms - now) : 1;
            tools_http_set_timeout(ctx->http, PBFT_MIN(left, (long)CROSSCHECK_REQUEST_TIMEOUT_MS));
            tally_t *t = ask_one(ctx, &cc, i, id, id_hex);
            if (t && t->count > decided->count) decided = t;
        }
        if (decided->count >= out->needed || cc.open == 0 || wallet_now_ms() >= deadline_ms) break;
        wallet_sleep_ms(CROSSCHECK_POLL_MS);
    }
    summarize(ctx, &cc, decided, out);
    return 0;
}
