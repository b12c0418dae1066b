/*
 * tests/fuzz/fuzz_tx.c — the transaction decoder: any input either fails
 * to decode or re-encodes to exactly the same bytes (one encoding per value).
 */
#include <string.h>

#include "fuzz.h"
#include "pbft/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    pbft_tx_t tx;
    if (codec_tx_decode(data, size, &tx) != PBFT_OK) return 0;
    uint8_t out[PBFT_TX_SIZE_MAX];
    size_t n = codec_tx_encode(&tx, out, sizeof(out));
    FUZZ_CHECK(n == size && n == codec_tx_size(&tx));
    FUZZ_CHECK(memcmp(out, data, size) == 0);
    FUZZ_CHECK(codec_tx_encode_unsigned(&tx, out, sizeof(out)) == size - PBFT_SIGNATURE_SIZE);
    FUZZ_CHECK(memcmp(out, data, size - PBFT_SIGNATURE_SIZE) == 0);
    uint8_t id[PBFT_HASH_SIZE];
    codec_tx_id(&tx, id);
    return 0;
}
