/*
 * tests/fuzz/fuzz_header.c — the block header decoder: decode, then
 * encode(decode(x)) == x byte for byte.
 */
#include <string.h>

#include "fuzz.h"
#include "pbft/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    pbft_block_header_t h;
    if (codec_header_decode(data, size, &h) != PBFT_OK) return 0;
    FUZZ_CHECK(size == PBFT_BLOCK_HEADER_SIZE);
    FUZZ_CHECK(h.version == PBFT_BLOCK_VERSION && h.tx_count <= PBFT_BLOCK_TX_COUNT_MAX);
    uint8_t out[PBFT_BLOCK_HEADER_SIZE];
    FUZZ_CHECK(codec_header_encode(&h, out) == size);
    FUZZ_CHECK(memcmp(out, data, size) == 0);
    return 0;
}
