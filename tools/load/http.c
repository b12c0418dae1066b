/*
 * tools/load/http.c — the generator's HTTP client: one libcurl easy handle
 * per thread (its connection cache keeps one keep-alive connection to each
 * replica), plus the few API reads the generator needs.
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "load.h"

uint64_t load_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void load_sleep_ns(uint64_t ns) {
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
                          .tv_nsec = (long)(ns % 1000000000ull)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void load_http_global_init(void) {
    curl_global_init(CURL_GLOBAL_ALL);
}

static size_t http_write_cb(char *data, size_t size, size_t nmemb, void *ctx) {
    load_http_t *h = ctx;
    size_t n = size * nmemb;
    if (h->body_size + n + 1 > LOAD_HTTP_RESPONSE_SIZE_MAX) {
        h->body_overflow = true;
        return 0; /* aborts the transfer */
    }
    if (h->body_size + n + 1 > h->body_capacity) {
        size_t cap = h->body_capacity ? h->body_capacity : 4096;
        while (cap < h->body_size + n + 1)
            cap *= 2;
        h->body = pbft_xrealloc(h->body, cap);
        h->body_capacity = cap;
    }
    memcpy(h->body + h->body_size, data, n);
    h->body_size += n;
    h->body[h->body_size] = '\0';
    return n;
}

void load_http_init(load_http_t *h) {
    memset(h, 0, sizeof(*h));
    CURL *c = curl_easy_init();
    PBFT_ASSERT(c != NULL);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)LOAD_HTTP_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(c, CURLOPT_MAXCONNECTS, (long)LOAD_REPLICA_COUNT_MAX);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    /* "Expect: 100-continue" would add a round trip to every large batch. */
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
    hd = curl_slist_append(hd, "Expect:");
    h->curl = c;
    h->json_headers = hd;
    hd = curl_slist_append(NULL, "Content-Type: application/octet-stream");
    h->binary_headers = curl_slist_append(hd, "Expect:");
    h->body = pbft_xmalloc(4096);
    h->body_capacity = 4096;
    h->body[0] = '\0';
}

void load_http_free(load_http_t *h) {
    if (h->curl) curl_easy_cleanup(h->curl);
    if (h->json_headers) curl_slist_free_all(h->json_headers);
    if (h->binary_headers) curl_slist_free_all(h->binary_headers);
    free(h->body);
    memset(h, 0, sizeof(*h));
}

static pbft_status_t http_perform(load_http_t *h) {
    h->body_size = 0;
    h->body[0] = '\0';
    h->body_overflow = false;
    h->code = 0;
    h->error[0] = '\0';
    CURLcode rc = curl_easy_perform(h->curl);
    if (rc != CURLE_OK) {
        snprintf(h->error, sizeof(h->error), "%s", curl_easy_strerror(rc));
        return PBFT_ERR_NETWORK;
    }
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &h->code);
    return PBFT_OK;
}

pbft_status_t load_http_get(load_http_t *h, const char *url) {
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
    return http_perform(h);
}

static pbft_status_t http_post(load_http_t *h, struct curl_slist *headers, const char *url,
                               const char *body, size_t size) {
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)size);
    return http_perform(h);
}

pbft_status_t load_http_post_json(load_http_t *h, const char *url, const char *body, size_t size) {
    return http_post(h, h->json_headers, url, body, size);
}

pbft_status_t load_http_post_binary(load_http_t *h, const char *url, const char *body,
                                    size_t size) {
    return http_post(h, h->binary_headers, url, body, size);
}

bool load_json_u64(const json_t *obj, const char *key, uint64_t *out) {
    const json_t *v = json_object_get(obj, key);
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0) return false;
        *out = (uint64_t)i;
        return true;
    }
    if (!json_is_string(v)) return false;
    const char *s = json_string_value(v);
    if (*s < '0' || *s > '9') return false;
    errno = 0;
    char *end = NULL;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') return false;
    *out = (uint64_t)x;
    return true;
}

/* GETs url and parses a JSON object; NULL on transport, status or parse
 * failure (a 404 sets *not_found when not NULL). */
static json_t *http_get_json(load_http_t *h, const char *url, bool *not_found) {
    if (not_found) *not_found = false;
    if (load_http_get(h, url) != PBFT_OK) return NULL;
    if (h->code == 404 && not_found) *not_found = true;
    if (h->code != 200) return NULL;
    json_t *root = json_loadb(h->body, h->body_size, 0, NULL);
    if (root && !json_is_object(root)) {
        json_decref(root);
        return NULL;
    }
    return root;
}

pbft_status_t load_get_status(load_http_t *h, const char *base, load_status_t *out) {
    return load_wait_status(h, base, 0, 0, out);
}

pbft_status_t load_wait_status(load_http_t *h, const char *base, uint64_t after, uint32_t wait_ms,
                               load_status_t *out) {
    char url[LOAD_URL_SIZE_MAX + 64];
    if (wait_ms > 0)
        snprintf(url, sizeof(url), "%s/status?after=%" PRIu64 "&wait_ms=%" PRIu32, base, after,
                 wait_ms);
    else
        snprintf(url, sizeof(url), "%s/status", base);
    json_t *root = http_get_json(h, url, NULL);
    if (!root) return PBFT_ERR_UNAVAILABLE;
    memset(out, 0, sizeof(*out));
    bool ok = load_json_u64(root, "height", &out->height);
    load_json_u64(root, "view", &out->view);
    load_json_u64(root, "mempool_size", &out->mempool_size);
    out->has_view_changes = load_json_u64(root, "view_changes", &out->view_changes);
    out->catching_up = json_is_true(json_object_get(root, "catching_up"));
    json_decref(root);
    return ok ? PBFT_OK : PBFT_ERR_MALFORMED;
}

pbft_status_t load_get_nonce(load_http_t *h, const char *base,
                             const uint8_t address[PBFT_ADDRESS_SIZE], uint64_t *nonce) {
    char hex[2 * PBFT_ADDRESS_SIZE + 1];
    crypto_hex_encode(address, PBFT_ADDRESS_SIZE, hex);
    char url[LOAD_URL_SIZE_MAX + 64];
    snprintf(url, sizeof(url), "%s/account/%s", base, hex);
    json_t *root = http_get_json(h, url, NULL);
    if (!root) return PBFT_ERR_UNAVAILABLE;
    bool ok = load_json_u64(root, "nonce", nonce);
    json_decref(root);
    return ok ? PBFT_OK : PBFT_ERR_MALFORMED;
}

bool load_get_metric_sum(load_http_t *h, const char *base, const char *name, double *out) {
    char url[LOAD_URL_SIZE_MAX + 32];
    snprintf(url, sizeof(url), "%s/metrics", base);
    if (load_http_get(h, url) != PBFT_OK || h->code != 200) return false;
    size_t name_len = strlen(name);
    bool found = false;
    double sum = 0;
    for (char *line = h->body; line && *line;) {
        char *next = strchr(line, '\n');
        if (next) *next++ = '\0';
        if (strncmp(line, name, name_len) == 0 &&
            (line[name_len] == ' ' || line[name_len] == '{')) {
            char *value = strrchr(line, ' ');
            if (value) {
                sum += strtod(value + 1, NULL);
                found = true;
            }
        }
        line = next;
    }
    if (found) *out = sum;
    return found;
}

/* Reads the txs array of a block: ids in hex and their result names. */
static pbft_status_t block_read_txs(const json_t *txs, load_block_tx_fn fn, void *ctx) {
    size_t i;
    const json_t *tx;
    json_array_foreach(txs, i, tx) {
        const char *id_hex = json_string_value(json_object_get(tx, "id"));
        if (!id_hex) return PBFT_ERR_MALFORMED;
        uint8_t id[PBFT_HASH_SIZE];
        if (crypto_hex_decode(id_hex, strlen(id_hex), id, sizeof(id)) != PBFT_OK)
            return PBFT_ERR_MALFORMED;
        const char *result = json_string_value(json_object_get(tx, "result"));
        fn(ctx, id, result == NULL || strcmp(result, "ok") == 0);
    }
    return PBFT_OK;
}

pbft_status_t load_get_block(load_http_t *h, const char *base, uint64_t height, load_block_tx_fn fn,
                             void *ctx, load_block_info_t *out) {
    char url[LOAD_URL_SIZE_MAX + 48];
    snprintf(url, sizeof(url), "%s/block/%llu?txs=ids", base, (unsigned long long)height);
    bool not_found = false;
    json_t *root = http_get_json(h, url, &not_found);
    if (!root) return not_found ? PBFT_ERR_NOT_FOUND : PBFT_ERR_UNAVAILABLE;
    pbft_status_t st = PBFT_OK;
    memset(out, 0, sizeof(*out));
    out->height = height;
    const json_t *header = json_object_get(root, "header");
    const json_t *txs = json_object_get(root, "txs");
    if (!json_is_object(header) || !load_json_u64(header, "tx_count", &out->tx_count)) {
        st = PBFT_ERR_MALFORMED;
    } else {
        load_json_u64(header, "timestamp_ms", &out->timestamp_ms);
        if (fn) {
            if (!json_is_array(txs) || json_array_size(txs) != out->tx_count)
                st = PBFT_ERR_MALFORMED;
            else
                st = block_read_txs(txs, fn, ctx);
        }
    }
    json_decref(root);
    return st;
}
