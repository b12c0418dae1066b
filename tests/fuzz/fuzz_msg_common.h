/*
 * tests/fuzz/fuzz_msg_common.h — shared body of the fuzz_msg_<kind> targets.
 * The input is a message body (and signature/appendix) of one kind; the
 * target puts the 4-byte header (version, kind, sender 1) in front, decodes
 * it strictly, and when it decodes checks encode(decode(x)) == x byte for
 * byte and msg_size() == the frame size.
 */
#ifndef PBFT_TESTS_FUZZ_MSG_COMMON_H
#define PBFT_TESTS_FUZZ_MSG_COMMON_H

#include <string.h>

#include "fuzz.h"
#include "pbft/messages.h"

static inline int fuzz_msg_kind(uint8_t type, const uint8_t *data, size_t size) {
    if (size > PBFT_MESSAGE_SIZE_MAX - MSG_HEADER_SIZE) return 0;
    size_t frame_size = size + MSG_HEADER_SIZE;
    uint8_t *frame = malloc(frame_size);
    FUZZ_CHECK(frame != NULL);
    frame[0] = MSG_VERSION;
    frame[1] = type;
    frame[2] = 1;
    frame[3] = 0;
    if (size) memcpy(frame + MSG_HEADER_SIZE, data, size);
    msg_t m;
    if (msg_decode(frame, frame_size, &m) == PBFT_OK) {
        FUZZ_CHECK(m.type == type && m.sender == 1);
        FUZZ_CHECK(m.has_signature == msg_type_is_signed(type));
        FUZZ_CHECK(msg_size(&m) == frame_size);
        uint8_t *out = malloc(frame_size);
        FUZZ_CHECK(out != NULL);
        size_t signed_size = 0;
        FUZZ_CHECK(msg_encode(&m, out, frame_size, &signed_size) == frame_size);
        FUZZ_CHECK(memcmp(out, frame, frame_size) == 0);
        if (m.has_signature) FUZZ_CHECK(signed_size == m.signed_size);
        free(out);
    }
    msg_free(&m);
    free(frame);
    return 0;
}

#define FUZZ_MSG_TARGET(type)                                                                      \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {                                 \
        return fuzz_msg_kind((type), data, size);                                                  \
    }

#endif /* PBFT_TESTS_FUZZ_MSG_COMMON_H */
