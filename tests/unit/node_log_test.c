/*
 * tests/unit/node_log_test.c — log lines: logfmt quoting and escaping, JSON
 * lines that parse, truncation that keeps a line well-formed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../node/log.h"

#define TS 1795317600123ull /* 2026-11-22T03:20:00.123Z */

static void test_logfmt_line_shape(void **state) {
    (void)state;
    char line[512];
    log_field_t f[] = {LOG_U64("height", 42), LOG_STR("peer", "tcp://a:1"), LOG_BOOL("ok", 1)};
    log_format_line(line, sizeof line, LOG_FORMAT_LOGFMT, TS, LOG_LEVEL_INFO, "consensus",
                    "block committed", f, 3);
    assert_string_equal(line, "ts=2026-11-22T03:20:00.123Z level=info module=consensus "
                              "msg=\"block committed\" height=42 peer=tcp://a:1 ok=true\n");
}

static void test_logfmt_quotes_and_escapes_values(void **state) {
    (void)state;
    char line[512];
    log_field_t f[] = {LOG_STR("why", "a \"b\" c\nd"), LOG_STR("empty", "")};
    log_format_line(line, sizeof line, LOG_FORMAT_LOGFMT, TS, LOG_LEVEL_WARN, "net", "x", f, 2);
    assert_non_null(strstr(line, "why=\"a \\\"b\\\" c\\nd\""));
    assert_non_null(strstr(line, "empty=\"\""));
    assert_int_equal(strchr(line, '\n') - line, (long)strlen(line) - 1); /* one line */
}

static void test_json_line_parses(void **state) {
    (void)state;
    char line[512];
    const uint8_t hash[4] = {0xde, 0xad, 0xbe, 0xef};
    log_field_t f[] = {LOG_HEX("hash", hash, 4), LOG_I64("delta", -3),
                       LOG_STR("text", "q\"\\\x01")};
    log_format_line(line, sizeof line, LOG_FORMAT_JSON, TS, LOG_LEVEL_ERROR, "store", "bad", f, 3);
    json_error_t err;
    json_t *j = json_loads(line, 0, &err);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "error");
    assert_string_equal(json_string_value(json_object_get(j, "hash")), "deadbeef");
    assert_int_equal(json_integer_value(json_object_get(j, "delta")), -3);
    assert_string_equal(json_string_value(json_object_get(j, "text")), "q\"\\\x01");
    json_decref(j);
}

static void test_truncated_json_line_still_parses(void **state) {
    (void)state;
    char line[96];
    char big[400];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    log_field_t f[] = {LOG_STR("big", big)};
    size_t n =
        log_format_line(line, sizeof line, LOG_FORMAT_JSON, TS, LOG_LEVEL_INFO, "m", "x", f, 1);
    assert_true(n < sizeof line);
    assert_int_equal(line[n - 1], '\n');
    assert_int_equal(line[n - 2], '}');
}

static void test_levels_and_formats_parse(void **state) {
    (void)state;
    log_level_t l;
    log_format_t f;
    assert_true(log_level_parse("debug", &l) && l == LOG_LEVEL_DEBUG);
    assert_true(log_level_parse("error", &l) && l == LOG_LEVEL_ERROR);
    assert_false(log_level_parse("INFO", &l));
    assert_true(log_format_parse("json", &f) && f == LOG_FORMAT_JSON);
    assert_false(log_format_parse("xml", &f));
}

static void test_rate_limit_allows_a_burst_then_suppresses(void **state) {
    (void)state;
    log_rate_t rate = {0};
    int allowed = 0;
    for (int i = 0; i < 100; i++)
        allowed += log_rate_allow(&rate, 10);
    assert_true(allowed >= 10 && allowed <= 20); /* 20: a second boundary mid-loop */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logfmt_line_shape),
        cmocka_unit_test(test_logfmt_quotes_and_escapes_values),
        cmocka_unit_test(test_json_line_parses),
        cmocka_unit_test(test_truncated_json_line_still_parses),
        cmocka_unit_test(test_levels_and_formats_parse),
        cmocka_unit_test(test_rate_limit_allows_a_burst_then_suppresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
