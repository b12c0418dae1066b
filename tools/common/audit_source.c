/*
 * tools/common/audit_source.c — read blocks, certificates and results from a
 * replica's RocksDB (read-only, works while it runs) or from a node's HTTP API.
 */
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "json.h"
#include "pbft/codec.h"

#define SOURCE_CERT_SIZE_MAX (64u * 1024u)

void audit_item_free(audit_item_t *item) {
    free(item->block_raw);
    free(item->cert_raw);
    free(item->results);
    memset(item, 0, sizeof(*item));
}

static bool is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int audit_source_open_dir(audit_source_t *src, const char *home_or_data,
                          const pbft_genesis_t *genesis, char *err, size_t err_size) {
    memset(src, 0, sizeof(*src));
    snprintf(src->label, sizeof(src->label), "%s", home_or_data);
    char data[TOOLS_PATH_SIZE_MAX], current[TOOLS_PATH_SIZE_MAX + 16];
    snprintf(data, sizeof(data), "%s/data", home_or_data);
    if (!is_dir(data)) snprintf(data, sizeof(data), "%s", home_or_data);
    snprintf(current, sizeof(current), "%s/CURRENT", data);
    if (!is_dir(data) || access(current, F_OK) != 0) {
        snprintf(err, err_size,
                 "%s: no ledger store here (expected a replica home whose data/ holds a "
                 "RocksDB store; has the replica ever run?)",
                 home_or_data);
        return AUDIT_EXIT_NOINPUT;
    }
    char why[512] = "";
    pbft_status_t st = store_open(data, genesis, STORE_READ_ONLY, &src->store, why, sizeof(why));
    if (st != PBFT_OK) {
        snprintf(err, err_size, "cannot open store %s: %s%s%s", data, pbft_status_string(st),
                 why[0] ? ": " : "", why);
        src->store = NULL;
        return st == PBFT_ERR_NOT_FOUND || st == PBFT_ERR_IO ? AUDIT_EXIT_NOINPUT
                                                             : AUDIT_EXIT_FAILED;
    }
    if (store_refresh(src->store) != PBFT_OK) {
        /* A stale view is still a consistent prefix; verify what is there. */
    }
    return AUDIT_EXIT_OK;
}

int audit_source_open_node(audit_source_t *src, const char *url, long timeout_ms, char *err,
                           size_t err_size) {
    memset(src, 0, sizeof(*src));
    snprintf(src->label, sizeof(src->label), "%s", url);
    src->http = tools_http_new(url, timeout_ms, err, err_size);
    if (!src->http) return AUDIT_EXIT_USAGE;
    size_t len = strlen(url);
    src->url = pbft_xmalloc(len + 1);
    memcpy(src->url, url, len + 1);
    src->timeout_ms = timeout_ms;
    return AUDIT_EXIT_OK;
}

int audit_source_clone_node(audit_source_t *clone, const audit_source_t *src, char *err,
                            size_t err_size) {
    if (!src->http || !src->url) {
        memset(clone, 0, sizeof(*clone));
        snprintf(err, err_size, "only a node source has more connections");
        return AUDIT_EXIT_USAGE;
    }
    return audit_source_open_node(clone, src->url, src->timeout_ms, err, err_size);
}

void audit_source_close(audit_source_t *src) {
    if (src->store) store_close(src->store);
    tools_http_free(src->http);
    free(src->url);
    memset(src, 0, sizeof(*src));
}

bool audit_source_store_tip(audit_source_t *src, store_tip_t *out) {
    if (!src->store) return false;
    store_get_tip(src->store, out);
    return true;
}

/* GET path; PBFT_OK with a 200 JSON answer, NOT_FOUND on 404. */
static pbft_status_t get_json(audit_source_t *src, const char *path, tools_http_response_t *r,
                              char *err, size_t err_size) {
    pbft_status_t st = tools_http_get(src->http, path, r, err, err_size);
    if (st != PBFT_OK) return st;
    if (r->status == 404) {
        tools_http_response_free(r);
        return PBFT_ERR_NOT_FOUND;
    }
    if (r->status != 200 || !r->json) {
        snprintf(err, err_size, "%s%s: HTTP %ld", src->label, path, r->status);
        tools_http_response_free(r);
        return PBFT_ERR_UNAVAILABLE;
    }
    return PBFT_OK;
}

pbft_status_t audit_source_tip(audit_source_t *src, uint64_t *height, char *err, size_t err_size) {
    if (src->store) {
        store_tip_t tip;
        store_get_tip(src->store, &tip);
        *height = tip.height;
        return PBFT_OK;
    }
    tools_http_response_t r;
    pbft_status_t st = get_json(src, "/status", &r, err, err_size);
    if (st != PBFT_OK) return st == PBFT_ERR_NOT_FOUND ? PBFT_ERR_UNAVAILABLE : st;
    bool ok = tools_json_get_u64(r.json, "height", height);
    tools_http_response_free(&r);
    if (!ok) snprintf(err, err_size, "%s/status: no height", src->label);
    return ok ? PBFT_OK : PBFT_ERR_MALFORMED;
}

static pbft_status_t store_get(audit_source_t *src, uint64_t height, audit_item_t *out) {
    pbft_status_t st = store_get_block_raw(src->store, height, &out->block_raw, &out->block_size);
    if (st != PBFT_OK) return st;
    pbft_commit_cert_t cert;
    out->cert_status = store_get_commit_cert(src->store, height, &cert);
    if (out->cert_status == PBFT_OK) {
        size_t size = codec_commit_cert_size(&cert);
        out->cert_raw = pbft_xmalloc(size);
        out->cert_size = codec_commit_cert_encode(&cert, out->cert_raw, size);
        PBFT_ASSERT(out->cert_size == size);
    }
    if (store_get_block_results(src->store, height, &out->results, &out->result_count) != PBFT_OK) {
        out->results = NULL;
        out->result_count = 0;
    }
    out->results_valid = true;
    out->have_state_hash = store_get_state_hash(src->store, height, out->state_hash) == PBFT_OK;
    return PBFT_OK;
}

/* Maps the node's per-tx "result" names back to codes. */
static void http_results(const json_t *txs, audit_item_t *out) {
    if (!json_is_array(txs)) return;
    size_t n = json_array_size(txs);
    out->results = pbft_xcalloc(n, 1);
    out->result_count = (uint32_t)n;
    out->results_valid = true;
    for (size_t i = 0; i < n; i++) {
        const char *name = tools_json_get_string(json_array_get(txs, i), "result");
        int code = -1;
        for (int k = 0; name && k < PBFT_TX_RESULT_COUNT; k++)
            if (strcmp(name, pbft_tx_result_string((pbft_tx_result_t)k)) == 0) code = k;
        if (code < 0) out->results_valid = false;
        out->results[i] = (uint8_t)(code < 0 ? 0xff : code);
    }
}

static pbft_status_t http_get(audit_source_t *src, uint64_t height, audit_item_t *out, char *err,
                              size_t err_size) {
    char path[64];
    snprintf(path, sizeof(path), "/block/%" PRIu64, height);
    tools_http_response_t r;
    pbft_status_t st = get_json(src, path, &r, err, err_size);
    if (st != PBFT_OK) return st;
    if (!tools_json_get_hex_alloc(r.json, "block_hex", PBFT_BLOCK_SIZE_MAX, &out->block_raw,
                                  &out->block_size)) {
        snprintf(err, err_size, "%s%s: no block_hex", src->label, path);
        tools_http_response_free(&r);
        return PBFT_ERR_MALFORMED;
    }
    const char *cert_hex = tools_json_get_string(r.json, "cert_hex");
    out->cert_status = PBFT_ERR_NOT_FOUND;
    if (cert_hex && cert_hex[0]) {
        out->cert_status = PBFT_ERR_MALFORMED;
        if (tools_json_get_hex_alloc(r.json, "cert_hex", SOURCE_CERT_SIZE_MAX, &out->cert_raw,
                                     &out->cert_size))
            out->cert_status = PBFT_OK;
    }
    http_results(json_object_get(r.json, "txs"), out);
    out->have_state_hash =
        tools_json_get_hex(r.json, "state_hash", out->state_hash, PBFT_HASH_SIZE);
    tools_http_response_free(&r);
    return PBFT_OK;
}

pbft_status_t audit_source_get(audit_source_t *src, uint64_t height, audit_item_t *out, char *err,
                               size_t err_size) {
    memset(out, 0, sizeof(*out));
    pbft_status_t st =
        src->store ? store_get(src, height, out) : http_get(src, height, out, err, err_size);
    if (st != PBFT_OK) {
        if (src->store && st != PBFT_ERR_NOT_FOUND)
            snprintf(err, err_size, "%s: reading block %" PRIu64 ": %s", src->label, height,
                     pbft_status_string(st));
        audit_item_free(out);
    }
    return st;
}

pbft_status_t audit_source_checkpoint(audit_source_t *src, uint64_t height, uint8_t **raw,
                                      size_t *raw_size, char *err, size_t err_size) {
    if (src->store) {
        pbft_checkpoint_cert_t cert;
        pbft_status_t st = store_get_checkpoint_cert(src->store, height, &cert);
        if (st != PBFT_OK) return st;
        size_t size = codec_checkpoint_cert_size(&cert);
        *raw = pbft_xmalloc(size);
        *raw_size = codec_checkpoint_cert_encode(&cert, *raw, size);
        PBFT_ASSERT(*raw_size == size);
        return PBFT_OK;
    }
    char path[64];
    snprintf(path, sizeof(path), "/checkpoint/%" PRIu64, height);
    tools_http_response_t r;
    pbft_status_t st = get_json(src, path, &r, err, err_size);
    if (st != PBFT_OK) return st;
    bool ok = tools_json_get_hex_alloc(r.json, "cert_hex", SOURCE_CERT_SIZE_MAX, raw, raw_size);
    tools_http_response_free(&r);
    return ok ? PBFT_OK : PBFT_ERR_MALFORMED;
}

pbft_status_t audit_source_block_hash(audit_source_t *src, uint64_t height,
                                      uint8_t out[PBFT_HASH_SIZE], char *err, size_t err_size) {
    pbft_block_header_t header;
    if (src->store) {
        pbft_status_t st = store_get_header(src->store, height, &header);
        if (st != PBFT_OK) {
            snprintf(err, err_size, "%s: header %" PRIu64 ": %s", src->label, height,
                     pbft_status_string(st));
            return st;
        }
        codec_header_hash(&header, out);
        return PBFT_OK;
    }
    audit_item_t item;
    memset(&item, 0, sizeof(item));
    pbft_status_t st = http_get(src, height, &item, err, err_size);
    if (st != PBFT_OK) {
        audit_item_free(&item);
        return st;
    }
    if (item.block_size < PBFT_BLOCK_HEADER_SIZE ||
        codec_header_decode(item.block_raw, PBFT_BLOCK_HEADER_SIZE, &header) != PBFT_OK) {
        audit_item_free(&item);
        snprintf(err, err_size, "%s: block %" PRIu64 ": header does not decode", src->label,
                 height);
        return PBFT_ERR_MALFORMED;
    }
    audit_item_free(&item);
    codec_header_hash(&header, out);
    return PBFT_OK;
}
