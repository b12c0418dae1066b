/*
 * node/log.c — see log.h. Formatting happens in a stack buffer; the line is
 * written to fd 2 with one write(2) so concurrent threads never interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Atomic int log_threshold = LOG_LEVEL_INFO;
static _Atomic int log_style = LOG_FORMAT_LOGFMT;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

const char *log_level_name(log_level_t level) {
    if ((unsigned)level >= PBFT_ARRAY_COUNT(level_names)) return "unknown";
    return level_names[level];
}

bool log_level_parse(const char *text, log_level_t *out) {
    for (size_t i = 0; i < PBFT_ARRAY_COUNT(level_names); i++) {
        if (strcmp(text, level_names[i]) == 0) {
            *out = (log_level_t)i;
            return true;
        }
    }
    if (strcmp(text, "warning") == 0) {
        *out = LOG_LEVEL_WARN;
        return true;
    }
    return false;
}

bool log_format_parse(const char *text, log_format_t *out) {
    if (strcmp(text, "logfmt") == 0) {
        *out = LOG_FORMAT_LOGFMT;
        return true;
    }
    if (strcmp(text, "json") == 0) {
        *out = LOG_FORMAT_JSON;
        return true;
    }
    return false;
}

void log_configure(log_level_t level, log_format_t format) {
    atomic_store(&log_threshold, (int)level);
    atomic_store(&log_style, (int)format);
}

bool log_enabled(log_level_t level) {
    return (int)level >= atomic_load_explicit(&log_threshold, memory_order_relaxed);
}

/* A bounded appender: once full, further appends are dropped (line truncated). */
typedef struct line_buf {
    char *data;
    size_t size;
    size_t capacity; /* includes room for the final NUL */
} line_buf_t;

static void put_raw(line_buf_t *b, const char *s, size_t n) {
    if (b->size + 1 >= b->capacity) return;
    size_t room = b->capacity - 1 - b->size;
    if (n > room) n = room;
    memcpy(b->data + b->size, s, n);
    b->size += n;
    b->data[b->size] = '\0';
}

static void put_str(line_buf_t *b, const char *s) {
    put_raw(b, s, strlen(s));
}

PBFT_PRINTF(2, 3) static void put_fmt(line_buf_t *b, const char *fmt, ...) {
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    if (n > 0) put_raw(b, tmp, PBFT_MIN((size_t)n, sizeof tmp - 1));
}

/* logfmt values are quoted when they hold spaces, quotes, '=' or controls. */
static bool needs_quotes(const char *s) {
    if (*s == '\0') return true;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f) return true;
    }
    return false;
}

/* Escapes for both logfmt quoted strings and JSON strings (same rules). */
static void put_escaped(line_buf_t *b, const char *s) {
    put_raw(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put_raw(b, e, 2);
        } else if (c == '\n') {
            put_raw(b, "\\n", 2);
        } else if (c < 0x20 || c == 0x7f) {
            put_fmt(b, "\\u%04x", c);
        } else {
            put_raw(b, (const char *)&c, 1);
        }
    }
    put_raw(b, "\"", 1);
}

static void put_value_text(line_buf_t *b, log_format_t format, const char *s) {
    if (format == LOG_FORMAT_JSON || needs_quotes(s)) {
        put_escaped(b, s);
    } else {
        put_str(b, s);
    }
}

static void put_field(line_buf_t *b, log_format_t format, const log_field_t *f) {
    if (format == LOG_FORMAT_JSON) {
        put_raw(b, ",", 1);
        put_escaped(b, f->key);
        put_raw(b, ":", 1);
    } else {
        put_raw(b, " ", 1);
        put_str(b, f->key);
        put_raw(b, "=", 1);
    }
    switch (f->type) {
        case LOG_FIELD_STR:
            put_value_text(b, format, f->s ? f->s : "");
            break;
        case LOG_FIELD_U64:
            put_fmt(b, "%llu", (unsigned long long)f->u);
            break;
        case LOG_FIELD_I64:
            put_fmt(b, "%lld", (long long)f->i);
            break;
        case LOG_FIELD_BOOL:
            put_str(b, f->u ? "true" : "false");
            break;
        case LOG_FIELD_HEX: {
            char hex[2 * LOG_HEX_SIZE_MAX + 1];
            size_t n = PBFT_MIN(f->size, (size_t)LOG_HEX_SIZE_MAX);
            static const char digits[] = "0123456789abcdef";
            for (size_t i = 0; i < n; i++) {
                hex[2 * i] = digits[f->bytes[i] >> 4];
                hex[2 * i + 1] = digits[f->bytes[i] & 15];
            }
            hex[2 * n] = '\0';
            put_value_text(b, format, hex);
            break;
        }
        case LOG_FIELD_NONE:
            break;
    }
}

static void put_timestamp(line_buf_t *b, uint64_t unix_ms) {
    time_t secs = (time_t)(unix_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    put_fmt(b, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
            tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(unix_ms % 1000));
}

size_t log_format_line(char *out, size_t capacity, log_format_t format, uint64_t unix_ms,
                       log_level_t level, const char *module, const char *msg,
                       const log_field_t *fields, size_t field_count) {
    PBFT_ASSERT(capacity >= 2);
    line_buf_t b = {.data = out, .size = 0, .capacity = capacity - 1}; /* keep room for \n */
    out[0] = '\0';
    if (format == LOG_FORMAT_JSON) {
        put_str(&b, "{\"ts\":\"");
        put_timestamp(&b, unix_ms);
        put_str(&b, "\",\"level\":\"");
        put_str(&b, log_level_name(level));
        put_str(&b, "\",\"module\":");
        put_escaped(&b, module);
        put_str(&b, ",\"msg\":");
        put_escaped(&b, msg);
    } else {
        put_str(&b, "ts=");
        put_timestamp(&b, unix_ms);
        put_str(&b, " level=");
        put_str(&b, log_level_name(level));
        put_str(&b, " module=");
        put_value_text(&b, format, module);
        put_str(&b, " msg=");
        put_escaped(&b, msg);
    }
    for (size_t i = 0; i < field_count; i++) {
        if (fields[i].type != LOG_FIELD_NONE && fields[i].key) put_field(&b, format, &fields[i]);
    }
    if (format == LOG_FORMAT_JSON) {
        /* A truncated JSON line must still parse: reserve the closing brace. */
        if (b.size + 1 >= b.capacity) b.size = b.capacity > 2 ? b.capacity - 2 : 0;
        b.data[b.size++] = '}';
    }
    out[b.size++] = '\n';
    out[b.size] = '\0';
    return b.size;
}

void log_emit(log_level_t level, const char *module, const char *msg, const log_field_t *fields,
              size_t field_count) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t unix_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    char line[LOG_LINE_SIZE_MAX];
    size_t n = log_format_line(line, sizeof line, (log_format_t)atomic_load(&log_style), unix_ms,
                               level, module, msg, fields, field_count);
    ssize_t w = write(2, line, n);
    (void)w; /* nowhere to report a failing stderr */
}

bool log_rate_allow(log_rate_t *rate, uint32_t burst) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now_s = (uint64_t)ts.tv_sec;
    uint64_t window = atomic_load(&rate->window_s);
    if (window != now_s && atomic_compare_exchange_strong(&rate->window_s, &window, now_s)) {
        atomic_store(&rate->count, 0);
    }
    if (atomic_fetch_add(&rate->count, 1) < burst) return true;
    atomic_fetch_add(&rate->suppressed, 1);
    return false;
}
