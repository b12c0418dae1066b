/*
 * node/http.c — the client API over libmicrohttpd (see http.h and the
 * brief's contract). One thread per connection, capped: a POST /tx thread
 * blocks while its tx is verified on the pool and queued in consensus,
 * which keeps the handler simple and bounded by connections_max.
 *
 * Reads (tx, account, block, checkpoint) go straight to the store, which is
 * thread-safe for readers. Nothing a client sends reaches an assertion:
 * bodies are capped before they are buffered and every id, address and
 * number is parsed with an exact bound (http_parse.h).
 */
#include "http.h"

#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_parse.h"
#include "internal.h"
#include "log.h"
#include "pbft/codec.h"

#define HTTP_CONNECTION_TIMEOUT_S 30
#define HTTP_LISTEN_BACKLOG 256
/* Numeric: the symbolic names of these two changed across libmicrohttpd releases. */
#define HTTP_STATUS_TOO_LARGE 413
#define HTTP_STATUS_UNPROCESSABLE 422

struct http_server {
    node_t *node;
    struct MHD_Daemon *daemon;
};

typedef struct http_request {
    http_route_t route;
    pbft_status_t route_status;
    bool too_large;
    bool answered; /* a response was queued before the body arrived */
    char *body;
    size_t body_size;
    size_t body_capacity;
} http_request_t;

/* ------------------------------------------------------------------------ */
/* Responses                                                                 */

static enum MHD_Result respond_bytes(struct MHD_Connection *c, unsigned status,
                                     const char *content_type, char *text, size_t size) {
    struct MHD_Response *r = MHD_create_response_from_buffer(size, text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Sends obj (reference stolen) as the body. */
static enum MHD_Result respond_json(struct MHD_Connection *c, unsigned status, json_t *obj) {
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (!text) return MHD_NO;
    size_t n = strlen(text);
    text = pbft_xrealloc(text, n + 2);
    text[n] = '\n';
    text[n + 1] = '\0';
    return respond_bytes(c, status, "application/json", text, n + 1);
}

static enum MHD_Result respond_error(node_t *node, struct MHD_Connection *c, unsigned status,
                                     const char *name, const char *message) {
    atomic_fetch_add(&node_metrics(node)->http_errors, 1);
    return respond_json(c, status, json_pack("{s:s, s:s}", "error", name, "message", message));
}

static json_t *json_hex(const uint8_t *bytes, size_t size) {
    char *text = pbft_xmalloc(2 * size + 1);
    crypto_hex_encode(bytes, size, text);
    json_t *s = json_stringn(text, 2 * size);
    free(text);
    return s;
}

static json_t *json_u64(uint64_t v) {
    char text[24];
    snprintf(text, sizeof text, "%llu", (unsigned long long)v);
    return json_string(text);
}

/* ------------------------------------------------------------------------ */
/* POST /tx and POST /txs                                                    */

static bool is_octet_stream(struct MHD_Connection *c) {
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    return ct && strncasecmp(ct, "application/octet-stream", 24) == 0;
}

/* Decodes one tx from hex text; why receives a sentence on failure. */
static pbft_status_t decode_tx_hex(const char *hex, size_t len, pbft_tx_t *tx, char *why,
                                   size_t why_size) {
    uint8_t bytes[PBFT_TX_SIZE_MAX];
    size_t n = 0;
    pbft_status_t st = http_parse_hex(hex, len, bytes, sizeof bytes, &n);
    if (st == PBFT_ERR_LIMIT) {
        snprintf(why, why_size, "a transaction is at most %d bytes", PBFT_TX_SIZE_MAX);
        return st;
    }
    if (st != PBFT_OK) {
        snprintf(why, why_size, "tx is not an even-length hex string");
        return st;
    }
    st = codec_tx_decode(bytes, n, tx);
    if (st != PBFT_OK) snprintf(why, why_size, "tx does not decode: %s", pbft_status_string(st));
    return st;
}

static bool submit_accepted(node_submit_t r) {
    return r == NODE_SUBMIT_QUEUED || r == NODE_SUBMIT_PENDING || r == NODE_SUBMIT_COMMITTED;
}

static json_t *submit_json(const uint8_t id[PBFT_HASH_SIZE], node_submit_t r, pbft_status_t why,
                           unsigned *status) {
    static const char *const names[] = {"queued", "pending", "committed"};
    switch (r) {
        case NODE_SUBMIT_QUEUED:
        case NODE_SUBMIT_PENDING:
        case NODE_SUBMIT_COMMITTED:
            *status = r == NODE_SUBMIT_QUEUED ? MHD_HTTP_ACCEPTED : MHD_HTTP_OK;
            return json_pack("{s:o, s:s}", "id", json_hex(id, PBFT_HASH_SIZE), "status", names[r]);
        case NODE_SUBMIT_BAD_SIGNATURE:
            *status = HTTP_STATUS_UNPROCESSABLE;
            return json_pack("{s:s, s:s, s:o}", "error", "bad_signature", "message",
                             pbft_status_string(why), "id", json_hex(id, PBFT_HASH_SIZE));
        case NODE_SUBMIT_FULL:
            *status = MHD_HTTP_SERVICE_UNAVAILABLE;
            return json_pack("{s:s, s:s, s:o}", "error", "mempool_full", "message",
                             "the mempool is full; retry later", "id",
                             json_hex(id, PBFT_HASH_SIZE));
        case NODE_SUBMIT_UNAVAILABLE:
            break;
    }
    *status = MHD_HTTP_SERVICE_UNAVAILABLE;
    return json_pack("{s:s, s:s}", "error", "unavailable", "message",
                     "the replica is shutting down");
}

static enum MHD_Result handle_submit_tx(node_t *node, struct MHD_Connection *c,
                                        const http_request_t *req) {
    pbft_tx_t tx;
    char why[160] = "";
    pbft_status_t st;
    if (is_octet_stream(c)) {
        st = codec_tx_decode((const uint8_t *)req->body, req->body_size, &tx);
        if (st != PBFT_OK)
            snprintf(why, sizeof why, "tx does not decode: %s", pbft_status_string(st));
    } else {
        json_t *root =
            json_loadb(req->body ? req->body : "", req->body_size, JSON_REJECT_DUPLICATES, NULL);
        json_t *hex = json_object_get(root, "tx");
        if (!json_is_string(hex)) {
            json_decref(root);
            atomic_fetch_add(&node_metrics(node)->tx_rejected_malformed, 1);
            return respond_error(node, c, MHD_HTTP_BAD_REQUEST, "malformed",
                                 "body must be {\"tx\": \"<hex>\"} or raw bytes with "
                                 "Content-Type: application/octet-stream");
        }
        st = decode_tx_hex(json_string_value(hex), json_string_length(hex), &tx, why, sizeof why);
        json_decref(root);
    }
    if (st != PBFT_OK) {
        atomic_fetch_add(&node_metrics(node)->tx_rejected_malformed, 1);
        return respond_error(node, c, MHD_HTTP_BAD_REQUEST, "malformed", why);
    }
    uint8_t ids[1][PBFT_HASH_SIZE];
    codec_tx_id(&tx, ids[0]);
    node_submit_t result;
    pbft_status_t verify_status = PBFT_OK;
    node_submit_txs(node, &tx, (const uint8_t(*)[PBFT_HASH_SIZE])ids, 1, &result, &verify_status);
    unsigned status;
    json_t *body = submit_json(ids[0], result, verify_status, &status);
    if (status >= 400) atomic_fetch_add(&node_metrics(node)->http_errors, 1);
    return respond_json(c, status, body);
}

typedef struct batch {
    size_t count;
    pbft_tx_t *txs;
    uint8_t (*ids)[PBFT_HASH_SIZE];
    int *slot; /* entry i -> index in txs, or -1 when it did not decode */
    json_t **errors;
} batch_t;

static void batch_decode(node_t *node, const json_t *list, batch_t *b) {
    size_t n = json_array_size(list);
    b->count = n;
    b->txs = pbft_xcalloc(n, sizeof *b->txs);
    b->ids = pbft_xcalloc(n, sizeof *b->ids);
    b->slot = pbft_xcalloc(n, sizeof *b->slot);
    b->errors = pbft_xcalloc(n, sizeof(json_t *));
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_array_get(list, i);
        char why[160] = "entry is not a hex string";
        pbft_status_t st = PBFT_ERR_MALFORMED;
        if (json_is_string(item)) {
            st = decode_tx_hex(json_string_value(item), json_string_length(item), &b->txs[used],
                               why, sizeof why);
        }
        if (st != PBFT_OK) {
            b->slot[i] = -1;
            b->errors[i] = json_pack("{s:s, s:s}", "error", "malformed", "message", why);
            atomic_fetch_add(&node_metrics(node)->tx_rejected_malformed, 1);
            continue;
        }
        codec_tx_id(&b->txs[used], b->ids[used]);
        b->slot[i] = (int)used++;
    }
}

/* The binary form of a batch: the txs' wire encodings back to back (each
 * one says its own length). Nothing to resynchronise on after a tx that
 * does not decode, so one bad tx fails the whole batch (400, nothing
 * submitted); why receives the sentence. */
static pbft_status_t batch_decode_binary(const http_request_t *req, batch_t *b, char *why,
                                         size_t why_size) {
    memset(b, 0, sizeof *b);
    size_t cap = req->body_size / PBFT_TX_SIZE_MIN; /* >= the count of a valid body */
    if (cap > PBFT_HTTP_BATCH_TX_COUNT_MAX) cap = PBFT_HTTP_BATCH_TX_COUNT_MAX;
    b->txs = pbft_xcalloc(cap ? cap : 1, sizeof *b->txs);
    b->ids = pbft_xcalloc(cap ? cap : 1, sizeof *b->ids);
    b->slot = pbft_xcalloc(cap ? cap : 1, sizeof *b->slot);
    b->errors = pbft_xcalloc(cap ? cap : 1, sizeof(json_t *));
    codec_reader_t r;
    codec_reader_init(&r, req->body ? req->body : "", req->body_size);
    while (codec_remaining(&r) > 0) {
        size_t at = r.offset;
        pbft_tx_t tx;
        codec_tx_read(&r, &tx);
        if (r.status != PBFT_OK) {
            snprintf(why, why_size, "tx %zu (at byte %zu) does not decode: %s", b->count, at,
                     pbft_status_string(r.status));
            return PBFT_ERR_MALFORMED;
        }
        /* Every decoded tx took >= PBFT_TX_SIZE_MIN bytes, so below the
         * batch limit a full array means the body had no room for this tx
         * (it failed to decode above): only the limit leads here. */
        if (b->count == cap) {
            snprintf(why, why_size, "at most %d transactions per batch",
                     PBFT_HTTP_BATCH_TX_COUNT_MAX);
            return PBFT_ERR_LIMIT;
        }
        b->txs[b->count] = tx;
        codec_tx_id(&b->txs[b->count], b->ids[b->count]);
        b->slot[b->count] = (int)b->count;
        b->count++;
    }
    if (b->count == 0) {
        snprintf(why, why_size, "the body holds no transaction");
        return PBFT_ERR_MALFORMED;
    }
    return PBFT_OK;
}

static void batch_free(batch_t *b) {
    free(b->txs);
    free(b->ids);
    free(b->slot);
    free(b->errors);
}

/* ?results=errors: the answer lists only the txs that were not accepted,
 * each with its "index" in the batch (a gateway that knows its ids does not
 * need an entry per accepted tx). */
static enum MHD_Result handle_submit_txs(node_t *node, struct MHD_Connection *c,
                                         const http_request_t *req) {
    const char *view = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "results");
    bool errors_only = view != NULL && strcmp(view, "errors") == 0;
    if (view != NULL && !errors_only && strcmp(view, "all") != 0) {
        return respond_error(node, c, MHD_HTTP_BAD_REQUEST, "malformed",
                             "the results parameter takes all or errors");
    }
    batch_t b;
    if (is_octet_stream(c)) {
        char why[160];
        pbft_status_t st = batch_decode_binary(req, &b, why, sizeof why);
        if (st != PBFT_OK) {
            batch_free(&b);
            if (st == PBFT_ERR_LIMIT)
                return respond_error(node, c, HTTP_STATUS_TOO_LARGE, "too_large", why);
            atomic_fetch_add(&node_metrics(node)->tx_rejected_malformed, 1);
            return respond_error(node, c, MHD_HTTP_BAD_REQUEST, "malformed", why);
        }
    } else {
        json_t *root =
            json_loadb(req->body ? req->body : "", req->body_size, JSON_REJECT_DUPLICATES, NULL);
        json_t *list = json_object_get(root, "txs");
        if (!json_is_array(list)) {
            json_decref(root);
            return respond_error(node, c, MHD_HTTP_BAD_REQUEST, "malformed",
                                 "body must be {\"txs\": [\"<hex>\", ...]} or the txs' bytes "
                                 "back to back with Content-Type: application/octet-stream");
        }
        if (json_array_size(list) > PBFT_HTTP_BATCH_TX_COUNT_MAX) {
            json_decref(root);
            char msg[96];
            snprintf(msg, sizeof msg, "at most %d transactions per batch",
                     PBFT_HTTP_BATCH_TX_COUNT_MAX);
            return respond_error(node, c, HTTP_STATUS_TOO_LARGE, "too_large", msg);
        }
        batch_decode(node, list, &b);
        json_decref(root);
    }
    size_t used = 0;
    for (size_t i = 0; i < b.count; i++)
        used += b.slot[i] >= 0;
    node_submit_t *results = pbft_xcalloc(used ? used : 1, sizeof *results);
    pbft_status_t *why = pbft_xcalloc(used ? used : 1, sizeof *why);
    if (used) {
        node_submit_txs(node, b.txs, (const uint8_t(*)[PBFT_HASH_SIZE])b.ids, used, results, why);
    }
    json_t *out = json_array();
    size_t accepted = 0;
    for (size_t i = 0; i < b.count; i++) {
        json_t *entry = b.errors[i];
        if (b.slot[i] >= 0) {
            size_t k = (size_t)b.slot[i];
            if (errors_only && submit_accepted(results[k])) {
                accepted++;
                continue;
            }
            unsigned status;
            entry = submit_json(b.ids[k], results[k], why[k], &status);
            accepted += submit_accepted(results[k]);
        }
        if (errors_only) json_object_set_new(entry, "index", json_integer((json_int_t)i));
        json_array_append_new(out, entry);
    }
    free(results);
    free(why);
    batch_free(&b);
    return respond_json(c, MHD_HTTP_OK,
                        json_pack("{s:I, s:I, s:o}", "accepted", (json_int_t)accepted, "rejected",
                                  (json_int_t)(b.count - accepted), "results", out));
}

/* ------------------------------------------------------------------------ */
/* GET /tx/{id}                                                              */

static json_t *receipt_json(const store_receipt_t *r) {
    uint8_t tx_bytes[PBFT_TX_SIZE_MAX];
    size_t tx_size = codec_tx_encode(&r->tx, tx_bytes, sizeof tx_bytes);
    uint8_t header[PBFT_BLOCK_HEADER_SIZE];
    codec_header_encode(&r->header, header);
    size_t cert_cap = codec_commit_cert_size(&r->cert);
    uint8_t *cert = pbft_xmalloc(cert_cap);
    size_t cert_size = codec_commit_cert_encode(&r->cert, cert, cert_cap);
    json_t *siblings = json_array();
    for (uint8_t i = 0; i < r->proof.sibling_count; i++) {
        json_array_append_new(siblings, json_hex(r->proof.siblings[i], PBFT_HASH_SIZE));
    }
    json_t *out =
        json_pack("{s:o, s:o, s:{s:I, s:I, s:o}, s:o}", "tx", json_hex(tx_bytes, tx_size), "header",
                  json_hex(header, sizeof header), "proof", "leaf_index",
                  (json_int_t)r->proof.leaf_index, "leaf_count", (json_int_t)r->proof.leaf_count,
                  "siblings", siblings, "cert", json_hex(cert, cert_size));
    free(cert);
    return out;
}

/* ?wait_ms=N (0..HTTP_WAIT_MS_MAX, default 0): how long a GET may wait for
 * what it asks about. False (answered 400) when malformed. */
static bool query_wait_ms(node_t *node, struct MHD_Connection *c, uint64_t *wait_ms,
                          enum MHD_Result *answer) {
    *wait_ms = 0;
    const char *text = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "wait_ms");
    if (!text) return true;
    if (http_parse_u64(text, wait_ms) == PBFT_OK && *wait_ms <= HTTP_WAIT_MS_MAX) return true;
    *answer = respond_error(node, c, MHD_HTTP_BAD_REQUEST, "malformed",
                            "wait_ms must be a number of milliseconds in 0..20000");
    return false;
}

/* With ?wait_ms=N a tx that is not committed yet is looked up again after
 * every height change until it is, or N ms have passed: a client sees its
 * commit at once without polling. */
static enum MHD_Result handle_get_tx(node_t *node, struct MHD_Connection *c, const char *arg) {
    uint8_t id[PBFT_HASH_SIZE];
    if (http_parse_tx_id(arg, id) != PBFT_OK) {
        return respond_error(node, c, MHD_HTTP_BAD_REQUEST, "malformed",
                             "a tx id is 64 hex digits");
    }
    uint64_t wait_ms;
    enum MHD_Result answer;
    if (!query_wait_ms(node, c, &wait_ms, &answer)) return answer;
    uint64_t deadline_ms = node_now_ms() + wait_ms;
    store_receipt_t *r = pbft_xmalloc(sizeof *r);
    pbft_status_t st;
    for (;;) {
        /* The height is read before the lookup: a block stored after the
         * lookup is published at a greater height, which ends the wait. */
        node_status_t s;
        node_get_status(node, &s);
        st = store_get_receipt(node_store(node), id, r);
        uint64_t now_ms = node_now_ms();
        if (st != PBFT_ERR_NOT_FOUND || now_ms >= deadline_ms || !s.serving) break;
        if (!node_wait_height(node, s.replica.executed_height, deadline_ms - now_ms, &s)) {
            st = store_get_receipt(node_store(node), id, r); /* too many waiting: answer now */
            break;
        }
    }
    if (st == PBFT_OK) {
        json_t *body =
            json_pack("{s:o, s:s, s:o, s:I, s:s, s:o}", "id", json_hex(id, PBFT_HASH_SIZE),
                      "status", "committed", "height", json_u64(r->location.height), "index",
                      (json_int_t)r->location.index, "result",
                      pbft_tx_result_string((pbft_tx_result_t)r->location.result), "receipt",
                      receipt_json(r));
        free(r);
        return respond_json(c, MHD_HTTP_OK, body);
    }
    free(r);
    if (st != PBFT_ERR_NOT_FOUND) {
        return respond_error(node, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "store",
                             pbft_status_string(st));
    }
    bool pending = node_tx_pending(node, id);
    json_t *body = json_pack("{s:o, s:s}", "id", json_hex(id, PBFT_HASH_SIZE), "status",
                             pending ? "pending" : "unknown");
    if (!pending) atomic_fetch_add(&node_metrics(node)->http_errors, 1);
    return respond_json(c, pending ? MHD_HTTP_OK : MHD_HTTP_NOT_FOUND, body);
}

/* ------------------------------------------------------------------------ */
/* GET /account/{address}[/history]                                          */

static enum MHD_Result handle_account(node_t *node, struct MHD_Connection *c, const char *arg) {
    uint8_t address[PBFT_ADDRESS_SIZE];
    if (http_parse_address(arg, address) != PBFT_OK) {
        return respond_error(node, c, MHD_HTTP_BAD_REQUEST, "malformed",
                             "an address is 40 hex digits");
    }
    store_tip_t tip;
    store_get_tip(node_store(node), &tip);
    pbft_account_t account;
    bool exists = false;
    pbft_status_t st = store_get_account(node_store(node), address, &account, &exists);
    if (st != PBFT_OK) {
        return respond_error(node, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "store",
                             pbft_status_string(st));
    }
    return respond_json(
        c, MHD_HTTP_OK,
        json_pack("{s:o, s:o, s:o, s:o}", "address", json_hex(address, PBFT_ADDRESS_SIZE),
                  "balance", json_u64(exists ? account.balance : 0), "nonce",
                  json_u64(exists ? account.nonce : 0), "height", json_u64(tip.height)));
}

static enum MHD_Result handle_history(node_t *node, struct MHD_Connection *c, const char *arg) {
    uint8_t address[PBFT_ADDRESS_SIZE];
    if (http_parse_address(arg, address) != PBFT_OK) {
        return respond_error(node, c, MHD_HTTP_BAD_REQUEST, "malformed",
                             "an address is 40 hex digits");
    }
    uint64_t limit = HTTP_HISTORY_LIMIT_DEFAULT, before = UINT64_MAX;
    const char *text = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    if (text &&
        (http_parse_u64(text, &limit) != PBFT_OK || limit == 0 || limit > HTTP_HISTORY_LIMIT_MAX)) {
        return respond_error(node, c, MHD_HTTP_BAD_REQUEST, "malformed",
                             "limit must be a number in 1..1000");
    }
    text = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "before");
    if (text && http_parse_u64(text, &before) != PBFT_OK) {
        return respond_error(node, c, MHD_HTTP_BAD_REQUEST, "malformed",
                             "before must be a decimal height");
    }
    uint8_t(*ids)[PBFT_HASH_SIZE] = pbft_xmalloc(limit * sizeof *ids);
    uint64_t *heights = pbft_xmalloc(limit * sizeof *heights);
    size_t n = store_account_history(node_store(node), address, before, ids, heights, limit);
    json_t *txs = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(txs, json_pack("{s:o, s:o}", "id", json_hex(ids[i], PBFT_HASH_SIZE),
                                             "height", json_u64(heights[i])));
    }
    free(ids);
    free(heights);
    return respond_json(
        c, MHD_HTTP_OK,
        json_pack("{s:o, s:o}", "address", json_hex(address, PBFT_ADDRESS_SIZE), "txs", txs));
}

/* ------------------------------------------------------------------------ */
/* GET /block/{h|latest} and /checkpoint/{h|latest}                          */

static pbft_status_t resolve_height(node_t *node, const char *arg, uint64_t *height) {
    bool latest = false;
    pbft_status_t st = http_parse_height(arg, height, &latest);
    if (st == PBFT_OK && latest) {
        store_tip_t tip;
        store_get_tip(node_store(node), &tip);
        *height = tip.height;
    }
    return st;
}

static json_t *header_json(const pbft_block_header_t *h) {
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:I, s:I}", "version", (json_int_t)h->version,
                     "height", json_u64(h->height), "view", json_u64(h->view), "timestamp_ms",
                     json_u64(h->timestamp_ms), "prev_hash", json_hex(h->prev_hash, PBFT_HASH_SIZE),
                     "tx_root", json_hex(h->tx_root, PBFT_HASH_SIZE), "tx_count",
                     (json_int_t)h->tx_count, "proposer", (json_int_t)h->proposer);
}

static json_t *block_txs_json(const pbft_block_t *b, const uint8_t *results,
                              uint32_t result_count) {
    json_t *txs = json_array();
    for (uint32_t i = 0; i < b->header.tx_count; i++) {
        const pbft_tx_t *tx = &b->txs[i];
        uint8_t id[PBFT_HASH_SIZE], from[PBFT_ADDRESS_SIZE];
        codec_tx_id(tx, id);
        crypto_address(tx->sender_pubkey, from);
        const char *result =
            i < result_count ? pbft_tx_result_string((pbft_tx_result_t)results[i]) : "unknown";
        json_array_append_new(
            txs, json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:s}", "id",
                           json_hex(id, PBFT_HASH_SIZE), "from", json_hex(from, PBFT_ADDRESS_SIZE),
                           "to", json_hex(tx->recipient, PBFT_ADDRESS_SIZE), "amount",
                           json_u64(tx->amount), "nonce", json_u64(tx->nonce), "memo",
                           json_hex(tx->memo, tx->memo_size), "result", result));
    }
    return txs;
}

/* ?txs=ids: only each tx's id and result (a commit watcher's view). */
static json_t *block_ids_json(const pbft_block_t *b, const uint8_t *results,
                              uint32_t result_count) {
    json_t *txs = json_array();
    for (uint32_t i = 0; i < b->header.tx_count; i++) {
        uint8_t id[PBFT_HASH_SIZE];
        codec_tx_id(&b->txs[i], id);
        const char *result =
            i < result_count ? pbft_tx_result_string((pbft_tx_result_t)results[i]) : "unknown";
        json_array_append_new(
            txs, json_pack("{s:o, s:s}", "id", json_hex(id, PBFT_HASH_SIZE), "result", result));
    }
    return txs;
}

static json_t *cert_hex_json(store_t *store, uint64_t height) {
    pbft_commit_cert_t cert;
    if (height == 0 || store_get_commit_cert(store, height, &cert) != PBFT_OK) {
        return json_string("");
    }
    uint8_t *bytes = pbft_xmalloc(codec_commit_cert_size(&cert));
    size_t n = codec_commit_cert_encode(&cert, bytes, codec_commit_cert_size(&cert));
    json_t *out = json_hex(bytes, n);
    free(bytes);
    return out;
}

static enum MHD_Result handle_block(node_t *node, struct MHD_Connection *c, const char *arg) {
    uint64_t height;
    if (resolve_height(node, arg, &height) != PBFT_OK) {
        return respond_error(node, c, MHD_HTTP_BAD_REQUEST, "malformed",
                             "a height is a decimal number or \"latest\"");
    }
    const char *view = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "txs");
    bool ids_only = view != NULL && strcmp(view, "ids") == 0;
    if (view != NULL && !ids_only) {
        return respond_error(node, c, MHD_HTTP_BAD_REQUEST, "malformed",
                             "the txs parameter takes one value: ids");
    }
    store_t *store = node_store(node);
    pbft_block_t block;
    pbft_status_t st = store_get_block(store, height, &block);
    if (st == PBFT_ERR_NOT_FOUND) {
        return respond_error(node, c, MHD_HTTP_NOT_FOUND, "not_found", "no block at that height");
    }
    if (st != PBFT_OK) {
        return respond_error(node, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "store",
                             pbft_status_string(st));
    }
    uint8_t *raw = NULL, *results = NULL;
    size_t raw_size = 0;
    uint32_t result_count = 0;
    uint8_t hash[PBFT_HASH_SIZE], state_hash[PBFT_HASH_SIZE] = {0};
    codec_header_hash(&block.header, hash);
    if (ids_only) {
        if (store_get_block_results(store, height, &results, &result_count) != PBFT_OK)
            result_count = 0;
        json_t *body =
            json_pack("{s:o, s:o, s:o, s:o}", "height", json_u64(height), "hash",
                      json_hex(hash, PBFT_HASH_SIZE), "header", header_json(&block.header), "txs",
                      block_ids_json(&block, results, result_count));
        free(results);
        codec_block_free(&block);
        return respond_json(c, MHD_HTTP_OK, body);
    }
    if (store_get_block_raw(store, height, &raw, &raw_size) != PBFT_OK) raw_size = 0;
    if (store_get_block_results(store, height, &results, &result_count) != PBFT_OK) {
        result_count = 0;
    }
    if (store_get_state_hash(store, height, state_hash) != PBFT_OK) {
        memset(state_hash, 0, sizeof state_hash);
    }
    json_t *body =
        json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "height", json_u64(height), "hash",
                  json_hex(hash, PBFT_HASH_SIZE), "header", header_json(&block.header), "txs",
                  block_txs_json(&block, results, result_count), "block_hex",
                  json_hex(raw ? raw : (const uint8_t *)"", raw_size), "cert_hex",
                  cert_hex_json(store, height), "state_hash", json_hex(state_hash, PBFT_HASH_SIZE));
    free(raw);
    free(results);
    codec_block_free(&block);
    return respond_json(c, MHD_HTTP_OK, body);
}

static enum MHD_Result handle_checkpoint(node_t *node, struct MHD_Connection *c, const char *arg) {
    uint64_t height = 0;
    bool latest = false;
    if (http_parse_height(arg, &height, &latest) != PBFT_OK) {
        return respond_error(node, c, MHD_HTTP_BAD_REQUEST, "malformed",
                             "a height is a decimal number or \"latest\"");
    }
    pbft_checkpoint_cert_t cert;
    pbft_status_t st = latest ? store_latest_checkpoint_cert(node_store(node), &cert)
                              : store_get_checkpoint_cert(node_store(node), height, &cert);
    if (st == PBFT_ERR_NOT_FOUND) {
        return respond_error(node, c, MHD_HTTP_NOT_FOUND, "not_found",
                             "no stable checkpoint at that height");
    }
    if (st != PBFT_OK) {
        return respond_error(node, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "store",
                             pbft_status_string(st));
    }
    size_t cap = codec_checkpoint_cert_size(&cert);
    uint8_t *bytes = pbft_xmalloc(cap);
    size_t n = codec_checkpoint_cert_encode(&cert, bytes, cap);
    json_t *body =
        json_pack("{s:o, s:o, s:o, s:o}", "height", json_u64(cert.height), "block_hash",
                  json_hex(cert.block_hash, PBFT_HASH_SIZE), "state_hash",
                  json_hex(cert.state_hash, PBFT_HASH_SIZE), "cert_hex", json_hex(bytes, n));
    free(bytes);
    return respond_json(c, MHD_HTTP_OK, body);
}

/* ------------------------------------------------------------------------ */
/* GET /status, /health, /metrics                                            */

/* With ?after=H the answer waits (up to ?wait_ms, default 0) until the
 * height is above H: a commit watcher makes one request per block instead
 * of polling. */
static enum MHD_Result handle_status(node_t *node, struct MHD_Connection *c) {
    uint64_t wait_ms, after = 0;
    enum MHD_Result answer;
    if (!query_wait_ms(node, c, &wait_ms, &answer)) return answer;
    const char *text = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "after");
    if (text && http_parse_u64(text, &after) != PBFT_OK) {
        return respond_error(node, c, MHD_HTTP_BAD_REQUEST, "malformed",
                             "after must be a decimal height");
    }
    node_status_t s;
    if (text && wait_ms > 0)
        (void)node_wait_height(node, after, wait_ms, &s); /* answered either way */
    else
        node_get_status(node, &s);
    const replica_status_t *r = &s.replica;
    json_t *peers = json_array();
    for (uint16_t i = 0; i < PBFT_REPLICA_COUNT_MAX; i++) {
        if (r->peers_seen_mask & (1u << i)) json_array_append_new(peers, json_integer(i));
    }
    json_t *body = json_pack(
        "{s:I, s:o, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:b, s:b, s:o, s:o, s:o, s:b}",
        "replica", (json_int_t)r->replica, "view", json_u64(r->view), "primary",
        (json_int_t)r->primary, "height", json_u64(r->executed_height), "block_hash",
        json_hex(r->executed_hash, PBFT_HASH_SIZE), "state_hash",
        json_hex(r->state_hash, PBFT_HASH_SIZE), "stable_checkpoint",
        json_u64(r->stable_checkpoint), "low_water_mark", json_u64(r->low_water_mark),
        "high_water_mark", json_u64(r->high_water_mark), "peers_seen", peers, "mempool_size",
        (json_int_t)r->mempool_size, "catching_up", r->catching_up, "in_view_change",
        r->in_view_change, "chain_id", json_hex(s.chain_id, PBFT_CHAIN_ID_SIZE), "view_changes",
        json_u64(r->view_changes), "committed_height", json_u64(r->committed_height), "serving",
        s.serving);
    return respond_json(c, MHD_HTTP_OK, body);
}

static enum MHD_Result handle_health(node_t *node, struct MHD_Connection *c) {
    node_status_t s;
    node_get_status(node, &s);
    if (!s.serving) {
        return respond_json(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                            json_pack("{s:s}", "status", "unavailable"));
    }
    return respond_json(
        c, MHD_HTTP_OK,
        json_pack("{s:s, s:b}", "status", "ok", "catching_up", s.replica.catching_up));
}

static enum MHD_Result handle_metrics(node_t *node, struct MHD_Connection *c) {
    metrics_text_t text = {0};
    node_render_metrics(node, &text);
    return respond_bytes(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text.data,
                         text.size);
}

/* ------------------------------------------------------------------------ */
/* Dispatch                                                                  */

static enum MHD_Result dispatch(node_t *node, struct MHD_Connection *c, http_request_t *req) {
    req->answered = true;
    if (req->route_status == PBFT_ERR_LIMIT) {
        return respond_error(node, c, MHD_HTTP_URI_TOO_LONG, "too_large", "path too long");
    }
    if (req->route_status == PBFT_ERR_ARGUMENT) {
        return respond_error(node, c, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                             "method not allowed on this path");
    }
    if (req->route_status != PBFT_OK) {
        return respond_error(node, c, MHD_HTTP_NOT_FOUND, "not_found", "no such path");
    }
    if (req->too_large) {
        char msg[96];
        snprintf(msg, sizeof msg, "request body exceeds %u bytes", PBFT_HTTP_BODY_SIZE_MAX);
        return respond_error(node, c, HTTP_STATUS_TOO_LARGE, "too_large", msg);
    }
    const char *arg = req->route.arg;
    switch (req->route.kind) {
        case HTTP_ROUTE_TX_SUBMIT:
            return handle_submit_tx(node, c, req);
        case HTTP_ROUTE_TXS_SUBMIT:
            return handle_submit_txs(node, c, req);
        case HTTP_ROUTE_TX_GET:
            return handle_get_tx(node, c, arg);
        case HTTP_ROUTE_ACCOUNT:
            return handle_account(node, c, arg);
        case HTTP_ROUTE_ACCOUNT_HISTORY:
            return handle_history(node, c, arg);
        case HTTP_ROUTE_BLOCK:
            return handle_block(node, c, arg);
        case HTTP_ROUTE_CHECKPOINT:
            return handle_checkpoint(node, c, arg);
        case HTTP_ROUTE_STATUS:
            return handle_status(node, c);
        case HTTP_ROUTE_HEALTH:
            return handle_health(node, c);
        case HTTP_ROUTE_METRICS:
            return handle_metrics(node, c);
        case HTTP_ROUTE_NONE:
            break;
    }
    return respond_error(node, c, MHD_HTTP_NOT_FOUND, "not_found", "no such path");
}

/* The body is buffered up to PBFT_HTTP_BODY_SIZE_MAX; past it the rest is
 * read and discarded so the client gets a clean 413. */
static void append_body(http_request_t *req, const char *data, size_t size) {
    if (req->too_large) return;
    if (size > PBFT_HTTP_BODY_SIZE_MAX - req->body_size) {
        req->too_large = true;
        free(req->body);
        req->body = NULL;
        req->body_size = req->body_capacity = 0;
        return;
    }
    if (req->body_size + size > req->body_capacity) {
        size_t cap = PBFT_MAX(req->body_capacity * 2, req->body_size + size);
        req->body_capacity = PBFT_MIN(cap, (size_t)PBFT_HTTP_BODY_SIZE_MAX);
        req->body = pbft_xrealloc(req->body, req->body_capacity);
    }
    memcpy(req->body + req->body_size, data, size);
    req->body_size += size;
}

static http_request_t *request_begin(struct MHD_Connection *c, const char *url,
                                     const char *method) {
    http_request_t *req = pbft_xcalloc(1, sizeof *req);
    req->route_status = http_route_match(method, url, &req->route);
    const char *length =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t declared;
    if (length && http_parse_u64(length, &declared) == PBFT_OK &&
        declared > PBFT_HTTP_BODY_SIZE_MAX) {
        req->too_large = true;
    }
    return req;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
    (void)version;
    node_t *node = cls;
    http_request_t *req = *con_cls;
    if (!req) {
        req = request_begin(c, url, method);
        *con_cls = req;
        atomic_fetch_add(&node_metrics(node)->http_requests, 1);
        /* A declared body over the limit is refused before it is read. */
        if (req->too_large) return dispatch(node, c, req);
        return MHD_YES;
    }
    if (req->answered) {
        *upload_data_size = 0; /* discard the rest of a refused body */
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        append_body(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return dispatch(node, c, req);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode code) {
    (void)cls;
    (void)c;
    (void)code;
    http_request_t *req = *con_cls;
    if (req) {
        free(req->body);
        free(req);
        *con_cls = NULL;
    }
    heap_thread_flush(); /* this connection's thread may now idle (node/heap.c) */
}

/* ------------------------------------------------------------------------ */
/* Listening socket and daemon                                               */

static int bind_listener(const char *hostport, char *err, size_t err_size) {
    char host[CONFIG_URL_SIZE_MAX], port_text[8];
    uint16_t port;
    if (config_parse_hostport(hostport, host, sizeof host, &port) != PBFT_OK) {
        snprintf(err, err_size, "http: \"%s\" is not HOST:PORT", hostport);
        return -1;
    }
    snprintf(port_text, sizeof port_text, "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(strcmp(host, "*") == 0 ? NULL : host, port_text, &hints, &res);
    if (rc != 0) {
        snprintf(err, err_size, "http: cannot resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, HTTP_LISTEN_BACKLOG) != 0) {
            saved = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) snprintf(err, err_size, "http: cannot listen on %s: %s", hostport, strerror(saved));
    return fd;
}

pbft_status_t http_start(struct node *node, const char *hostport, uint32_t connections_max,
                         http_server_t **out, char *err, size_t err_size) {
    int fd = bind_listener(hostport, err, err_size);
    if (fd < 0) return PBFT_ERR_UNAVAILABLE;
    http_server_t *server = pbft_xcalloc(1, sizeof *server);
    server->node = node;
    server->daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL,
        NULL, on_request, node, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)connections_max, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)HTTP_CONNECTION_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_END);
    if (!server->daemon) {
        close(fd);
        free(server);
        snprintf(err, err_size, "http: cannot start the server on %s", hostport);
        return PBFT_ERR_UNAVAILABLE;
    }
    LOG_INFO("http", "listening", LOG_STR("addr", hostport),
             LOG_U64("connections_max", connections_max));
    *out = server;
    return PBFT_OK;
}

void http_stop(http_server_t *server) {
    if (!server) return;
    MHD_stop_daemon(server->daemon);
    free(server);
}
