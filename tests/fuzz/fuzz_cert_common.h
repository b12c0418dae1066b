/*
 * tests/fuzz/fuzz_cert_common.h — a fake signature scheme for the
 * certificate fuzz targets, so that decoded certificates also run through
 * the one certificate check (pbft/cert.h) without real ECDSA: the signature
 * of replica r is "valid" when its first byte is r. The verifier checks it
 * is only ever called for members of the validator set.
 */
#ifndef PBFT_TESTS_FUZZ_CERT_COMMON_H
#define PBFT_TESTS_FUZZ_CERT_COMMON_H

#include <string.h>

#include "fuzz.h"
#include "pbft/cert.h"

#define FUZZ_VALIDATOR_COUNT 4

static pbft_status_t fuzz_fake_verify(void *ctx, const pbft_validator_set_t *validators,
                                      uint16_t replica, const uint8_t digest[PBFT_HASH_SIZE],
                                      const uint8_t sig[PBFT_SIGNATURE_SIZE]) {
    (void)digest;
    FUZZ_CHECK(replica < validators->count);
    (*(unsigned *)ctx)++;
    return sig[0] == (uint8_t)replica ? PBFT_OK : PBFT_ERR_BAD_SIGNATURE;
}

static void fuzz_validators(pbft_validator_set_t *v) {
    memset(v, 0, sizeof(*v));
    v->count = FUZZ_VALIDATOR_COUNT;
    for (int i = 0; i < FUZZ_VALIDATOR_COUNT; i++)
        v->pubkeys[i][0] = 0x02;
}

/* What a passing check implies, restated independently of cert.c. */
static void fuzz_check_verdict(pbft_status_t status, unsigned verify_calls, uint16_t count,
                               const pbft_replica_sig_t *sigs) {
    if (status != PBFT_OK) return;
    FUZZ_CHECK(count >= 3 && count <= FUZZ_VALIDATOR_COUNT);
    FUZZ_CHECK(verify_calls == count);
    for (uint16_t i = 0; i < count; i++) {
        FUZZ_CHECK(sigs[i].replica < FUZZ_VALIDATOR_COUNT);
        FUZZ_CHECK(sigs[i].signature[0] == sigs[i].replica);
        FUZZ_CHECK(i == 0 || sigs[i].replica > sigs[i - 1].replica);
    }
}

#endif /* PBFT_TESTS_FUZZ_CERT_COMMON_H */
