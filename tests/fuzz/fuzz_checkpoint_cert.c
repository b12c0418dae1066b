/*
 * tests/fuzz/fuzz_checkpoint_cert.c — the checkpoint certificate decoder
 * (encode(decode(x)) == x), then the certificate check with a fake scheme.
 */
#include "fuzz_cert_common.h"
#include "pbft/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    pbft_checkpoint_cert_t c;
    if (codec_checkpoint_cert_decode(data, size, &c) != PBFT_OK) return 0;
    FUZZ_CHECK(c.count >= 1 && c.count <= PBFT_REPLICA_COUNT_MAX);
    uint8_t out[PBFT_REPLICA_COUNT_MAX * (2 + PBFT_SIGNATURE_SIZE) + 96];
    FUZZ_CHECK(codec_checkpoint_cert_encode(&c, out, sizeof(out)) == size);
    FUZZ_CHECK(codec_checkpoint_cert_size(&c) == size);
    FUZZ_CHECK(memcmp(out, data, size) == 0);

    pbft_validator_set_t validators;
    fuzz_validators(&validators);
    uint8_t chain_id[PBFT_CHAIN_ID_SIZE] = {0};
    unsigned calls = 0;
    size_t bad_index = 0;
    pbft_status_t status =
        cert_check_checkpoint_with(&validators, chain_id, &c, fuzz_fake_verify, &calls, &bad_index);
    fuzz_check_verdict(status, calls, c.count, c.sigs);
    return 0;
}
