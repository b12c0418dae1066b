/*
 * node/http_parse.c — see http_parse.h.
 */
#include "http_parse.h"

#include <string.h>

typedef struct route_spec {
    const char *prefix; /* path up to the argument, or the whole path */
    const char *suffix; /* after the argument ("" for none); NULL: no argument */
    const char *method;
    http_route_kind_t kind;
} route_spec_t;

static const route_spec_t routes[] = {
    {"/tx", NULL, "POST", HTTP_ROUTE_TX_SUBMIT},
    {"/txs", NULL, "POST", HTTP_ROUTE_TXS_SUBMIT},
    {"/status", NULL, "GET", HTTP_ROUTE_STATUS},
    {"/health", NULL, "GET", HTTP_ROUTE_HEALTH},
    {"/metrics", NULL, "GET", HTTP_ROUTE_METRICS},
    {"/tx/", "", "GET", HTTP_ROUTE_TX_GET},
    {"/account/", "/history", "GET", HTTP_ROUTE_ACCOUNT_HISTORY},
    {"/account/", "", "GET", HTTP_ROUTE_ACCOUNT},
    {"/block/", "", "GET", HTTP_ROUTE_BLOCK},
    {"/checkpoint/", "", "GET", HTTP_ROUTE_CHECKPOINT},
};

static bool is_get(const char *method) {
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

/* Does path (without trailing '/') match spec? Fills arg when it has one. */
static bool route_matches(const route_spec_t *spec, const char *path, size_t len, char *arg) {
    size_t plen = strlen(spec->prefix);
    if (!spec->suffix) return len == plen && memcmp(path, spec->prefix, len) == 0;
    if (len <= plen || memcmp(path, spec->prefix, plen) != 0) return false;
    const char *a = path + plen;
    size_t alen = len - plen;
    size_t slen = strlen(spec->suffix);
    if (alen <= slen || memcmp(a + alen - slen, spec->suffix, slen) != 0) return false;
    alen -= slen;
    if (memchr(a, '/', alen) != NULL) return false;
    memcpy(arg, a, alen);
    arg[alen] = '\0';
    return true;
}

pbft_status_t http_route_match(const char *method, const char *path, http_route_t *out) {
    size_t len = strnlen(path, HTTP_PATH_SIZE_MAX + 1);
    if (len > HTTP_PATH_SIZE_MAX) return PBFT_ERR_LIMIT;
    if (len > 1 && path[len - 1] == '/') len--;
    memset(out, 0, sizeof *out);
    bool path_known = false;
    for (size_t i = 0; i < PBFT_ARRAY_COUNT(routes); i++) {
        char arg[HTTP_PATH_SIZE_MAX + 1];
        if (!route_matches(&routes[i], path, len, arg)) continue;
        path_known = true;
        bool method_ok =
            strcmp(routes[i].method, "GET") == 0 ? is_get(method) : strcmp(method, "POST") == 0;
        if (!method_ok) continue;
        size_t alen = routes[i].suffix ? strlen(arg) : 0;
        if (alen > HTTP_ARG_SIZE_MAX) return PBFT_ERR_LIMIT;
        out->kind = routes[i].kind;
        memcpy(out->arg, arg, alen);
        out->arg[alen] = '\0';
        return PBFT_OK;
    }
    return path_known ? PBFT_ERR_ARGUMENT : PBFT_ERR_NOT_FOUND;
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

pbft_status_t http_parse_hex(const char *text, size_t text_len, uint8_t *out, size_t capacity,
                             size_t *out_size) {
    if (text_len % 2 != 0) return PBFT_ERR_MALFORMED;
    if (text_len / 2 > capacity) return PBFT_ERR_LIMIT;
    for (size_t i = 0; i < text_len; i += 2) {
        int hi = hex_value(text[i]);
        int lo = hex_value(text[i + 1]);
        if (hi < 0 || lo < 0) return PBFT_ERR_MALFORMED;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    *out_size = text_len / 2;
    return PBFT_OK;
}

pbft_status_t http_parse_hex_exact(const char *text, uint8_t *out, size_t out_size) {
    size_t len = strnlen(text, 2 * out_size + 1);
    if (len != 2 * out_size) return PBFT_ERR_MALFORMED;
    uint8_t tmp[HTTP_ARG_SIZE_MAX];
    PBFT_ASSERT(out_size <= sizeof tmp);
    size_t n = 0;
    pbft_status_t st = http_parse_hex(text, len, tmp, out_size, &n);
    if (st != PBFT_OK) return PBFT_ERR_MALFORMED;
    memcpy(out, tmp, out_size);
    return PBFT_OK;
}

pbft_status_t http_parse_tx_id(const char *text, uint8_t out[PBFT_HASH_SIZE]) {
    return http_parse_hex_exact(text, out, PBFT_HASH_SIZE);
}

pbft_status_t http_parse_address(const char *text, uint8_t out[PBFT_ADDRESS_SIZE]) {
    return http_parse_hex_exact(text, out, PBFT_ADDRESS_SIZE);
}

pbft_status_t http_parse_u64(const char *text, uint64_t *out) {
    size_t len = strnlen(text, 21);
    if (len == 0 || len > 20) return PBFT_ERR_MALFORMED;
    if (len > 1 && text[0] == '0') return PBFT_ERR_MALFORMED;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9') return PBFT_ERR_MALFORMED;
        uint64_t digit = (uint64_t)(text[i] - '0');
        if (v > (UINT64_MAX - digit) / 10) return PBFT_ERR_MALFORMED;
        v = v * 10 + digit;
    }
    *out = v;
    return PBFT_OK;
}

pbft_status_t http_parse_height(const char *text, uint64_t *height, bool *latest) {
    if (strcmp(text, "latest") == 0) {
        *latest = true;
        *height = 0;
        return PBFT_OK;
    }
    uint64_t h;
    pbft_status_t st = http_parse_u64(text, &h);
    if (st != PBFT_OK) return st;
    *latest = false;
    *height = h;
    return PBFT_OK;
}
