/*
 * tools/common/json.h — strict readers for the node's JSON (jansson):
 * 64-bit numbers travel as decimal strings, bytes as lowercase hex.
 * Every reader returns false (never asserts) on a missing or malformed field.
 */
#ifndef PBFT_TOOLS_JSON_H
#define PBFT_TOOLS_JSON_H

#include <jansson.h>

#include "pbft/common.h"

/* A decimal string ("123") or a JSON integer >= 0. */
bool tools_json_get_u64(const json_t *obj, const char *key, uint64_t *out);
/* Exactly size bytes of hex. */
bool tools_json_get_hex(const json_t *obj, const char *key, uint8_t *out, size_t size);
/* Any even-length hex string of at most size_max bytes; *out is malloc'd. */
bool tools_json_get_hex_alloc(const json_t *obj, const char *key, size_t size_max, uint8_t **out,
                              size_t *out_size);
/* The string value of key, or NULL. Borrowed from obj. */
const char *tools_json_get_string(const json_t *obj, const char *key);
/* Parses a decimal u64 from text (no sign, no spaces, no overflow). */
bool tools_parse_u64(const char *text, uint64_t *out);

/* New JSON values for output: u64 as a decimal string, bytes as hex. */
json_t *tools_json_u64(uint64_t v);
json_t *tools_json_hex(const uint8_t *bytes, size_t size);
/* Prints one JSON document (indented, newline-terminated) and decrefs it. */
void tools_json_print(json_t *doc);

#endif /* PBFT_TOOLS_JSON_H */
