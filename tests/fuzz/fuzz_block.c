/*
 * tests/fuzz/fuzz_block.c — the block decoder: decode, then
 * encode(decode(x)) == x byte for byte; the Merkle root check must run on
 * whatever decodes (it may fail, it may not crash).
 */
#include <string.h>

#include "fuzz.h"
#include "pbft/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    pbft_block_t b;
    if (codec_block_decode(data, size, &b) != PBFT_OK) return 0;
    FUZZ_CHECK(b.header.tx_count <= PBFT_BLOCK_TX_COUNT_MAX);
    FUZZ_CHECK((b.header.tx_count == 0) == (b.txs == NULL));
    size_t encoded_size = codec_block_size(&b);
    FUZZ_CHECK(encoded_size == size && size <= PBFT_BLOCK_SIZE_MAX);
    uint8_t *out = malloc(size);
    FUZZ_CHECK(out != NULL);
    FUZZ_CHECK(codec_block_encode(&b, out, size) == size);
    FUZZ_CHECK(memcmp(out, data, size) == 0);
    free(out);
    pbft_status_t root_status = codec_block_check_root(&b);
    FUZZ_CHECK(root_status == PBFT_OK || root_status == PBFT_ERR_BAD_MERKLE_ROOT);
    codec_block_free(&b);
    return 0;
}
