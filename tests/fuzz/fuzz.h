/*
 * tests/fuzz/fuzz.h — the libFuzzer entry point every tests/fuzz/fuzz_*.c
 * defines, and the assertion the targets use. A target is built twice: with
 * clang -fsanitize=fuzzer (build/fuzz/fuzz_X, `make fuzz`) and with gcc,
 * linked with replay_main.c (build/<mode>/bin/fuzz-replay/fuzz_X), which
 * `make test` runs over tests/fuzz/corpus/fuzz_X/.
 *
 * Property checks abort() so that libFuzzer records a crash and the replay
 * binary dies with SIGABRT; PBFT_ASSERT is not used for them because a
 * property failure is a finding about the code under test, not one of its
 * own invariants.
 */
#ifndef PBFT_TESTS_FUZZ_H
#define PBFT_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FUZZ PROPERTY FAILED: %s at %s:%d\n", #cond, __FILE__, __LINE__);     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif /* PBFT_TESTS_FUZZ_H */
