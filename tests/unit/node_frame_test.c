/*
 * tests/unit/node_frame_test.c — the replica transport's frame header:
 * round trip, and every malformed, oversize or misattributed frame rejected
 * before anything is decoded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../node/net.h"

#define REPLICAS 4
#define SELF 1

static size_t make_frame(uint8_t *buf, uint16_t sender, uint32_t declared, size_t payload) {
    net_frame_header_t h = {.magic = NET_FRAME_MAGIC,
                            .version = NET_FRAME_VERSION,
                            .reserved = 0,
                            .sender = sender,
                            .payload_size = declared};
    net_frame_header_encode(&h, buf);
    for (size_t i = 0; i < payload; i++)
        buf[NET_FRAME_HEADER_SIZE + i] = (uint8_t)(i * 7 + 1);
    return NET_FRAME_HEADER_SIZE + payload;
}

static pbft_status_t decode(const uint8_t *buf, size_t size) {
    net_frame_header_t h;
    const uint8_t *payload = NULL;
    size_t payload_size = 0;
    return net_frame_decode(buf, size, REPLICAS, SELF, &h, &payload, &payload_size);
}

static void test_frame_round_trip(void **state) {
    (void)state;
    uint8_t buf[64];
    size_t n = make_frame(buf, 2, 10, 10);
    assert_memory_equal(buf, "PBFT", 4); /* magic reads as 'PBFT' on the wire */
    net_frame_header_t h;
    const uint8_t *payload = NULL;
    size_t payload_size = 0;
    assert_int_equal(net_frame_decode(buf, n, REPLICAS, SELF, &h, &payload, &payload_size),
                     PBFT_OK);
    assert_int_equal(h.sender, 2);
    assert_int_equal(payload_size, 10);
    assert_ptr_equal(payload, buf + NET_FRAME_HEADER_SIZE);
}

static void test_frame_empty_payload_is_well_formed(void **state) {
    (void)state;
    uint8_t buf[NET_FRAME_HEADER_SIZE];
    assert_int_equal(decode(buf, make_frame(buf, 0, 0, 0)), PBFT_OK);
}

static void test_frame_rejects_short_header(void **state) {
    (void)state;
    uint8_t buf[64];
    make_frame(buf, 2, 0, 0);
    for (size_t n = 0; n < NET_FRAME_HEADER_SIZE; n++) {
        assert_int_equal(decode(buf, n), PBFT_ERR_TRUNCATED);
    }
}

static void test_frame_rejects_bad_magic_version_reserved(void **state) {
    (void)state;
    uint8_t buf[64];
    size_t n = make_frame(buf, 2, 4, 4);
    for (int i = 0; i < 4; i++) {
        buf[i] ^= 0x20;
        assert_int_equal(decode(buf, n), PBFT_ERR_MALFORMED);
        buf[i] ^= 0x20;
    }
    buf[4] = 2;
    assert_int_equal(decode(buf, n), PBFT_ERR_VERSION);
    buf[4] = NET_FRAME_VERSION;
    buf[5] = 1;
    assert_int_equal(decode(buf, n), PBFT_ERR_RESERVED);
}

static void test_frame_rejects_unknown_sender_and_self(void **state) {
    (void)state;
    uint8_t buf[64];
    assert_int_equal(decode(buf, make_frame(buf, REPLICAS, 0, 0)), PBFT_ERR_UNKNOWN_REPLICA);
    assert_int_equal(decode(buf, make_frame(buf, 0xffff, 0, 0)), PBFT_ERR_UNKNOWN_REPLICA);
    assert_int_equal(decode(buf, make_frame(buf, SELF, 0, 0)), PBFT_ERR_UNKNOWN_REPLICA);
}

static void test_frame_rejects_length_mismatch(void **state) {
    (void)state;
    uint8_t buf[64];
    assert_int_equal(decode(buf, make_frame(buf, 2, 5, 4)), PBFT_ERR_TRUNCATED);
    assert_int_equal(decode(buf, make_frame(buf, 2, 3, 4)), PBFT_ERR_TRAILING);
}

static void test_frame_rejects_oversize_before_reading_payload(void **state) {
    (void)state;
    uint8_t buf[64];
    /* Declares more than the limit; only the header is present. */
    size_t n = make_frame(buf, 2, PBFT_MESSAGE_SIZE_MAX + 1, 0);
    assert_int_equal(decode(buf, n), PBFT_ERR_LIMIT);
    n = make_frame(buf, 2, UINT32_MAX, 0);
    assert_int_equal(decode(buf, n), PBFT_ERR_LIMIT);
}

static void test_frame_every_single_byte_header_mutation_is_caught(void **state) {
    (void)state;
    uint8_t buf[64];
    size_t n = make_frame(buf, 2, 8, 8);
    for (size_t i = 0; i < NET_FRAME_HEADER_SIZE; i++) {
        for (int bit = 0; bit < 8; bit++) {
            buf[i] ^= (uint8_t)(1u << bit);
            pbft_status_t st = decode(buf, n);
            bool sender_byte = i == 6 && (2 ^ (1u << bit)) < REPLICAS && (2 ^ (1u << bit)) != SELF;
            if (sender_byte) {
                assert_int_equal(st, PBFT_OK); /* another valid replica id */
            } else {
                assert_int_not_equal(st, PBFT_OK);
            }
            buf[i] ^= (uint8_t)(1u << bit);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_round_trip),
        cmocka_unit_test(test_frame_empty_payload_is_well_formed),
        cmocka_unit_test(test_frame_rejects_short_header),
        cmocka_unit_test(test_frame_rejects_bad_magic_version_reserved),
        cmocka_unit_test(test_frame_rejects_unknown_sender_and_self),
        cmocka_unit_test(test_frame_rejects_length_mismatch),
        cmocka_unit_test(test_frame_rejects_oversize_before_reading_payload),
        cmocka_unit_test(test_frame_every_single_byte_header_mutation_is_caught),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
