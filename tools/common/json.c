/*
 * tools/common/json.c — strict JSON field readers and writers.
 */
#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "pbft/crypto.h"

bool tools_parse_u64(const char *text, uint64_t *out) {
    if (!text || text[0] < '0' || text[0] > '9') return false;
    uint64_t v = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9') return false;
        uint64_t digit = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - digit) / 10) return false;
        v = v * 10 + digit;
    }
    *out = v;
    return true;
}

bool tools_json_get_u64(const json_t *obj, const char *key, uint64_t *out) {
    const json_t *v = json_object_get(obj, key);
    if (json_is_string(v)) return tools_parse_u64(json_string_value(v), out);
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return true;
    }
    return false;
}

const char *tools_json_get_string(const json_t *obj, const char *key) {
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

bool tools_json_get_hex(const json_t *obj, const char *key, uint8_t *out, size_t size) {
    const json_t *v = json_object_get(obj, key);
    if (!json_is_string(v)) return false;
    size_t len = json_string_length(v);
    if (len != 2 * size) return false;
    return crypto_hex_decode(json_string_value(v), len, out, size) == PBFT_OK;
}

bool tools_json_get_hex_alloc(const json_t *obj, const char *key, size_t size_max, uint8_t **out,
                              size_t *out_size) {
    const json_t *v = json_object_get(obj, key);
    if (!json_is_string(v)) return false;
    size_t len = json_string_length(v);
    if (len % 2 != 0 || len / 2 > size_max) return false;
    uint8_t *bytes = pbft_xmalloc(len / 2);
    if (crypto_hex_decode(json_string_value(v), len, bytes, len / 2) != PBFT_OK) {
        free(bytes);
        return false;
    }
    *out = bytes;
    *out_size = len / 2;
    return true;
}

json_t *tools_json_u64(uint64_t v) {
    char text[24];
    snprintf(text, sizeof(text), "%" PRIu64, v);
    return json_string(text);
}

json_t *tools_json_hex(const uint8_t *bytes, size_t size) {
    char *text = pbft_xmalloc(2 * size + 1);
    crypto_hex_encode(bytes, size, text);
    json_t *s = json_string(text);
    free(text);
    return s;
}

void tools_json_print(json_t *doc) {
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text) {
        fputs(text, stdout);
        fputc('\n', stdout);
        free(text);
    }
    json_decref(doc);
}
