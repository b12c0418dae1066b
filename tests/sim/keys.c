/*
 * tests/sim/keys.c — the simulator's fake signature scheme.
 *
 * Real ECDSA costs ~100 us per verification; a seed verifies hundreds of
 * thousands of signatures, so thousands of seeds would take hours. Here a
 * signature by key k over a digest is
 *     SHA-256(secret_k || digest) || SHA-256(digest || secret_k)
 * and verification recomputes it. It is unforgeable inside the simulation
 * (the Byzantine code only ever signs with its own key index), which is all
 * the protocol's safety argument needs. Fakes are allowed only in tests/sim.
 */
#include <string.h>

#include "pbft/codec.h"
#include "pbft/crypto.h"
#include "sim.h"

void sim_key_secret(uint32_t key_index, uint8_t out[PBFT_HASH_SIZE]) {
    uint8_t seed[16] = "sim-secret-key";
    seed[14] = (uint8_t)key_index;
    seed[15] = (uint8_t)(key_index >> 8);
    crypto_sha256(seed, sizeof(seed), out);
}

static void fake_sig(const uint8_t secret[PBFT_HASH_SIZE], const uint8_t digest[PBFT_HASH_SIZE],
                     uint8_t sig[PBFT_SIGNATURE_SIZE]) {
    uint8_t buf[2 * PBFT_HASH_SIZE];
    memcpy(buf, secret, PBFT_HASH_SIZE);
    memcpy(buf + PBFT_HASH_SIZE, digest, PBFT_HASH_SIZE);
    crypto_sha256(buf, sizeof(buf), sig);
    memcpy(buf, digest, PBFT_HASH_SIZE);
    memcpy(buf + PBFT_HASH_SIZE, secret, PBFT_HASH_SIZE);
    crypto_sha256(buf, sizeof(buf), sig + PBFT_HASH_SIZE);
}

void sim_fake_sign(uint32_t key_index, const uint8_t digest[PBFT_HASH_SIZE],
                   uint8_t sig[PBFT_SIGNATURE_SIZE]) {
    uint8_t secret[PBFT_HASH_SIZE];
    sim_key_secret(key_index, secret);
    fake_sig(secret, digest, sig);
}

bool sim_fake_verify(uint32_t key_index, const uint8_t digest[PBFT_HASH_SIZE],
                     const uint8_t sig[PBFT_SIGNATURE_SIZE]) {
    uint8_t expect[PBFT_SIGNATURE_SIZE];
    sim_fake_sign(key_index, digest, expect);
    return memcmp(expect, sig, PBFT_SIGNATURE_SIZE) == 0;
}

int sim_key_index_of(const uint8_t pubkey[PBFT_PUBKEY_SIZE]) {
    for (int i = 0; i < SIM_PUBKEY_TABLE_SIZE; i++)
        if (memcmp(sim_pubkey_table[i], pubkey, PBFT_PUBKEY_SIZE) == 0) return i;
    return -1;
}

/* The tx digest: domain-separated hash of the tx id for this chain. */
static void tx_digest(const pbft_tx_t *tx, const uint8_t chain_id[PBFT_CHAIN_ID_SIZE],
                      uint8_t out[PBFT_HASH_SIZE]) {
    uint8_t id[PBFT_HASH_SIZE];
    codec_tx_id(tx, id);
    crypto_domain_hash(CRYPTO_TAG_TX, chain_id, id, sizeof(id), out);
}

void sim_tx_sign(pbft_tx_t *tx, const uint8_t chain_id[PBFT_CHAIN_ID_SIZE]) {
    int k = sim_key_index_of(tx->sender_pubkey);
    PBFT_ASSERT(k >= 0);
    uint8_t digest[PBFT_HASH_SIZE];
    tx_digest(tx, chain_id, digest);
    sim_fake_sign((uint32_t)k, digest, tx->signature);
}

bool sim_tx_valid(const pbft_tx_t *tx, const uint8_t chain_id[PBFT_CHAIN_ID_SIZE]) {
    int k = sim_key_index_of(tx->sender_pubkey);
    if (k < SIM_CLIENT_KEY_BASE) return false; /* unknown key, or a validator's */
    uint8_t digest[PBFT_HASH_SIZE];
    tx_digest(tx, chain_id, digest);
    return sim_fake_verify((uint32_t)k, digest, tx->signature);
}
