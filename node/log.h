/*
 * node/log.h — structured logs to stderr, one line per event, as logfmt
 *   ts=2026-11-22T03:00:00.123Z level=info module=consensus msg="..." key=value
 * or as JSON lines. Thread-safe: each line is formatted in a local buffer and
 * written with one write(2), so lines from different threads never interleave.
 *
 * Usage:
 *   LOG_INFO("net", "peer connected", LOG_U64("peer", i), LOG_STR("url", url));
 *   LOG_WARN_RL("net", "malformed frame", ...);   rate-limited per call site
 */
#ifndef NODE_LOG_H
#define NODE_LOG_H

#include <stdint.h>

#include "pbft/common.h"

typedef enum log_level {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO = 1,
    LOG_LEVEL_WARN = 2,
    LOG_LEVEL_ERROR = 3,
} log_level_t;

typedef enum log_format {
    LOG_FORMAT_LOGFMT = 0,
    LOG_FORMAT_JSON = 1,
} log_format_t;

typedef enum log_field_type {
    LOG_FIELD_NONE = 0, /* placeholder, skipped */
    LOG_FIELD_STR,
    LOG_FIELD_U64,
    LOG_FIELD_I64,
    LOG_FIELD_BOOL,
    LOG_FIELD_HEX, /* bytes shown as lowercase hex (at most LOG_HEX_SIZE_MAX) */
} log_field_type_t;

#define LOG_HEX_SIZE_MAX 32
#define LOG_LINE_SIZE_MAX 2048

typedef struct log_field {
    const char *key;
    log_field_type_t type;
    const char *s;
    uint64_t u;
    int64_t i;
    const uint8_t *bytes;
    size_t size;
} log_field_t;

#define LOG_STR(k, v) ((log_field_t){.key = (k), .type = LOG_FIELD_STR, .s = (v)})
#define LOG_U64(k, v) ((log_field_t){.key = (k), .type = LOG_FIELD_U64, .u = (uint64_t)(v)})
#define LOG_I64(k, v) ((log_field_t){.key = (k), .type = LOG_FIELD_I64, .i = (int64_t)(v)})
#define LOG_BOOL(k, v) ((log_field_t){.key = (k), .type = LOG_FIELD_BOOL, .u = (v) ? 1u : 0u})
#define LOG_HEX(k, p, n)                                                                           \
    ((log_field_t){.key = (k), .type = LOG_FIELD_HEX, .bytes = (p), .size = (n)})
#define LOG_STATUS(st) LOG_STR("error", pbft_status_string(st))

/* Parses "debug|info|warn|error" / "logfmt|json". */
bool log_level_parse(const char *text, log_level_t *out);
bool log_format_parse(const char *text, log_format_t *out);
const char *log_level_name(log_level_t level);

/* Sets the threshold and the format (defaults: info, logfmt). */
void log_configure(log_level_t level, log_format_t format);
bool log_enabled(log_level_t level);

/* Formats one line into out (always NUL-terminated, truncated to fit);
 * returns its length. Exposed for tests; log_emit uses it. */
size_t log_format_line(char *out, size_t capacity, log_format_t format, uint64_t unix_ms,
                       log_level_t level, const char *module, const char *msg,
                       const log_field_t *fields, size_t field_count);
void log_emit(log_level_t level, const char *module, const char *msg, const log_field_t *fields,
              size_t field_count);

/* A per-call-site limiter: true for at most `burst` calls per second. */
typedef struct log_rate {
    _Atomic uint64_t window_s;
    _Atomic uint32_t count;
    _Atomic uint64_t suppressed;
} log_rate_t;
bool log_rate_allow(log_rate_t *rate, uint32_t burst);

#define LOG_AT_(level, module, msg, ...)                                                           \
    do {                                                                                           \
        if (log_enabled(level)) {                                                                  \
            const log_field_t log_fields_[] = {{.type = LOG_FIELD_NONE}, __VA_ARGS__};             \
            log_emit(level, module, msg, log_fields_, PBFT_ARRAY_COUNT(log_fields_));              \
        }                                                                                          \
    } while (0)

#define LOG_DEBUG(module, msg, ...) LOG_AT_(LOG_LEVEL_DEBUG, module, msg, __VA_ARGS__)
#define LOG_INFO(module, msg, ...) LOG_AT_(LOG_LEVEL_INFO, module, msg, __VA_ARGS__)
#define LOG_WARN(module, msg, ...) LOG_AT_(LOG_LEVEL_WARN, module, msg, __VA_ARGS__)
#define LOG_ERROR(module, msg, ...) LOG_AT_(LOG_LEVEL_ERROR, module, msg, __VA_ARGS__)

/* Rate-limited (10 lines per second per call site): for anything a peer or a
 * client can trigger at will. */
#define LOG_WARN_RL(module, msg, ...)                                                              \
    do {                                                                                           \
        static log_rate_t log_rate_;                                                               \
        if (log_enabled(LOG_LEVEL_WARN) && log_rate_allow(&log_rate_, 10))                         \
            LOG_AT_(LOG_LEVEL_WARN, module, msg, __VA_ARGS__);                                     \
    } while (0)

#endif /* NODE_LOG_H */
