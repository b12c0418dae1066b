/*
 * tests/unit/node_http_parse_test.c — bounded parsing of HTTP routes, hex
 * ids and addresses, heights and query numbers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../node/http_parse.h"

static void test_routes_match_method_and_path(void **state) {
    (void)state;
    http_route_t r;
    assert_int_equal(http_route_match("POST", "/tx", &r), PBFT_OK);
    assert_int_equal(r.kind, HTTP_ROUTE_TX_SUBMIT);
    assert_int_equal(http_route_match("POST", "/txs/", &r), PBFT_OK);
    assert_int_equal(r.kind, HTTP_ROUTE_TXS_SUBMIT);
    assert_int_equal(http_route_match("GET", "/tx/abcd", &r), PBFT_OK);
    assert_int_equal(r.kind, HTTP_ROUTE_TX_GET);
    assert_string_equal(r.arg, "abcd");
    assert_int_equal(http_route_match("GET", "/account/00ff/history", &r), PBFT_OK);
    assert_int_equal(r.kind, HTTP_ROUTE_ACCOUNT_HISTORY);
    assert_string_equal(r.arg, "00ff");
    assert_int_equal(http_route_match("GET", "/account/00ff", &r), PBFT_OK);
    assert_int_equal(r.kind, HTTP_ROUTE_ACCOUNT);
    assert_int_equal(http_route_match("GET", "/block/latest", &r), PBFT_OK);
    assert_int_equal(r.kind, HTTP_ROUTE_BLOCK);
    assert_int_equal(http_route_match("HEAD", "/checkpoint/7", &r), PBFT_OK);
    assert_int_equal(r.kind, HTTP_ROUTE_CHECKPOINT);
    assert_int_equal(http_route_match("GET", "/metrics", &r), PBFT_OK);
    assert_int_equal(r.kind, HTTP_ROUTE_METRICS);
}

static void test_routes_reject_wrong_method_unknown_path_and_long_path(void **state) {
    (void)state;
    http_route_t r;
    assert_int_equal(http_route_match("GET", "/tx", &r), PBFT_ERR_ARGUMENT);
    assert_int_equal(http_route_match("DELETE", "/status", &r), PBFT_ERR_ARGUMENT);
    assert_int_equal(http_route_match("GET", "/nope", &r), PBFT_ERR_NOT_FOUND);
    assert_int_equal(http_route_match("GET", "/tx/", &r), PBFT_ERR_ARGUMENT); /* = GET /tx */
    assert_int_equal(http_route_match("GET", "/block/", &r), PBFT_ERR_NOT_FOUND);
    assert_int_equal(http_route_match("GET", "/tx/a/b", &r), PBFT_ERR_NOT_FOUND);
    assert_int_equal(http_route_match("GET", "/account//history", &r), PBFT_ERR_NOT_FOUND);
    assert_int_equal(http_route_match("GET", "", &r), PBFT_ERR_NOT_FOUND);
    char path[HTTP_PATH_SIZE_MAX + 8];
    memset(path, 'a', sizeof path - 1);
    path[sizeof path - 1] = '\0';
    path[0] = '/';
    assert_int_equal(http_route_match("GET", path, &r), PBFT_ERR_LIMIT);
    char arg_path[HTTP_ARG_SIZE_MAX + 16];
    snprintf(arg_path, sizeof arg_path, "/tx/");
    memset(arg_path + 4, 'f', HTTP_ARG_SIZE_MAX + 1);
    arg_path[4 + HTTP_ARG_SIZE_MAX + 1] = '\0';
    assert_int_equal(http_route_match("GET", arg_path, &r), PBFT_ERR_LIMIT);
}

static void test_tx_id_must_be_exactly_64_hex_digits(void **state) {
    (void)state;
    uint8_t id[PBFT_HASH_SIZE];
    char text[70];
    memset(text, 'a', 64);
    text[64] = '\0';
    assert_int_equal(http_parse_tx_id(text, id), PBFT_OK);
    assert_int_equal(id[0], 0xaa);
    text[10] = 'F';
    assert_int_equal(http_parse_tx_id(text, id), PBFT_OK); /* either case */
    text[10] = 'g';
    assert_int_equal(http_parse_tx_id(text, id), PBFT_ERR_MALFORMED);
    text[10] = 'a';
    text[63] = '\0';
    assert_int_equal(http_parse_tx_id(text, id), PBFT_ERR_MALFORMED);
    text[63] = 'a';
    text[64] = 'a';
    text[65] = '\0';
    assert_int_equal(http_parse_tx_id(text, id), PBFT_ERR_MALFORMED);
    assert_int_equal(http_parse_tx_id("", id), PBFT_ERR_MALFORMED);
}

static void test_address_must_be_exactly_40_hex_digits(void **state) {
    (void)state;
    uint8_t a[PBFT_ADDRESS_SIZE];
    assert_int_equal(http_parse_address("00112233445566778899aabbccddeeff00112233", a), PBFT_OK);
    assert_int_equal(a[19], 0x33);
    assert_int_equal(http_parse_address("00112233445566778899aabbccddeeff0011223", a),
                     PBFT_ERR_MALFORMED);
    assert_int_equal(http_parse_address("00112233445566778899aabbccddeeff0011223x", a),
                     PBFT_ERR_MALFORMED);
    assert_int_equal(http_parse_address("0x112233445566778899aabbccddeeff00112233", a),
                     PBFT_ERR_MALFORMED);
}

static void test_hex_is_bounded_by_capacity(void **state) {
    (void)state;
    uint8_t out[4];
    size_t n = 99;
    assert_int_equal(http_parse_hex("0102", 4, out, sizeof out, &n), PBFT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(http_parse_hex("0102030405", 10, out, sizeof out, &n), PBFT_ERR_LIMIT);
    assert_int_equal(http_parse_hex("010", 3, out, sizeof out, &n), PBFT_ERR_MALFORMED);
    assert_int_equal(http_parse_hex("zz", 2, out, sizeof out, &n), PBFT_ERR_MALFORMED);
    assert_int_equal(http_parse_hex("", 0, out, sizeof out, &n), PBFT_OK);
    assert_int_equal(n, 0);
}

static void test_u64_is_canonical_and_never_overflows(void **state) {
    (void)state;
    uint64_t v = 0;
    assert_int_equal(http_parse_u64("0", &v), PBFT_OK);
    assert_int_equal(v, 0);
    assert_int_equal(http_parse_u64("18446744073709551615", &v), PBFT_OK);
    assert_true(v == UINT64_MAX);
    assert_int_equal(http_parse_u64("18446744073709551616", &v), PBFT_ERR_MALFORMED);
    assert_int_equal(http_parse_u64("99999999999999999999", &v), PBFT_ERR_MALFORMED);
    assert_int_equal(http_parse_u64("123456789012345678901", &v), PBFT_ERR_MALFORMED);
    assert_int_equal(http_parse_u64("007", &v), PBFT_ERR_MALFORMED);
    assert_int_equal(http_parse_u64("-1", &v), PBFT_ERR_MALFORMED);
    assert_int_equal(http_parse_u64("1 ", &v), PBFT_ERR_MALFORMED);
    assert_int_equal(http_parse_u64("", &v), PBFT_ERR_MALFORMED);
}

static void test_height_accepts_latest_or_a_number(void **state) {
    (void)state;
    uint64_t h = 5;
    bool latest = false;
    assert_int_equal(http_parse_height("latest", &h, &latest), PBFT_OK);
    assert_true(latest);
    assert_int_equal(http_parse_height("42", &h, &latest), PBFT_OK);
    assert_false(latest);
    assert_int_equal(h, 42);
    assert_int_equal(http_parse_height("LATEST", &h, &latest), PBFT_ERR_MALFORMED);
    assert_int_equal(http_parse_height("4.2", &h, &latest), PBFT_ERR_MALFORMED);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_match_method_and_path),
        cmocka_unit_test(test_routes_reject_wrong_method_unknown_path_and_long_path),
        cmocka_unit_test(test_tx_id_must_be_exactly_64_hex_digits),
        cmocka_unit_test(test_address_must_be_exactly_40_hex_digits),
        cmocka_unit_test(test_hex_is_bounded_by_capacity),
        cmocka_unit_test(test_u64_is_canonical_and_never_overflows),
        cmocka_unit_test(test_height_accepts_latest_or_a_number),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
