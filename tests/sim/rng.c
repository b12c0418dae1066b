/*
 * tests/sim/rng.c — the simulator's one source of randomness: xoshiro256**
 * seeded through splitmix64 (Blackman & Vigna). Every choice the simulator
 * makes — latencies, drops, which client sends when, which replica crashes —
 * is drawn from one of these, so a seed replays a run exactly.
 */
#include "sim.h"

uint64_t sim_splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void sim_rng_seed(sim_rng_t *rng, uint64_t seed) {
    uint64_t sm = seed;
    for (int i = 0; i < 4; i++)
        rng->s[i] = sim_splitmix64(&sm);
    /* xoshiro must not start from the all-zero state; splitmix64 never yields
     * four zeros in a row, but keep the invariant explicit. */
    PBFT_ASSERT(rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]);
}

static uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

uint64_t sim_rng_next(sim_rng_t *rng) {
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, bound) without modulo bias (Lemire's rejection is overkill
 * here; plain rejection of the short tail is enough and easy to audit). */
uint64_t sim_rng_below(sim_rng_t *rng, uint64_t bound) {
    PBFT_ASSERT(bound > 0);
    uint64_t limit = UINT64_MAX - (UINT64_MAX % bound);
    uint64_t x;
    do {
        x = sim_rng_next(rng);
    } while (x >= limit);
    return x % bound;
}

uint64_t sim_rng_between(sim_rng_t *rng, uint64_t lo, uint64_t hi) {
    PBFT_ASSERT(lo <= hi);
    if (hi - lo == UINT64_MAX) return sim_rng_next(rng);
    return lo + sim_rng_below(rng, hi - lo + 1);
}

bool sim_rng_chance(sim_rng_t *rng, uint32_t permille) {
    if (permille == 0) return false;
    if (permille >= 1000) return true;
    return sim_rng_below(rng, 1000) < permille;
}

void sim_rng_bytes(sim_rng_t *rng, uint8_t *out, size_t size) {
    for (size_t i = 0; i < size; i += 8) {
        uint64_t x = sim_rng_next(rng);
        for (size_t j = 0; j < 8 && i + j < size; j++)
            out[i + j] = (uint8_t)(x >> (8 * j));
    }
}
