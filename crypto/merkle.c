/*
 * crypto/merkle.c — Merkle trees of RFC 6962 shape over 32-byte leaves.
 *
 * RFC 6962 splits n leaves at the largest power of two k < n. Building the
 * tree bottom-up — hash adjacent pairs, carry a last odd node up unchanged —
 * yields exactly that tree, so root and proof are plain loops over levels.
 * Verification follows RFC 9162 §2.1.3.2, which checks the path against
 * leaf_index and leaf_count so a proof for one position or size cannot be
 * replayed for another.
 */
#include "internal.h"

#include <string.h>

static void leaf_hash(const uint8_t leaf[PBFT_HASH_SIZE], uint8_t out[PBFT_HASH_SIZE]) {
    static const uint8_t prefix = 0x00;
    crypto_sha256_t ctx;
    crypto_sha256_init(&ctx);
    crypto_sha256_update(&ctx, &prefix, 1);
    crypto_sha256_update(&ctx, leaf, PBFT_HASH_SIZE);
    crypto_sha256_final(&ctx, out);
}

/* out may alias left or right. */
static void inner_hash(const uint8_t left[PBFT_HASH_SIZE], const uint8_t right[PBFT_HASH_SIZE],
                       uint8_t out[PBFT_HASH_SIZE]) {
    static const uint8_t prefix = 0x01;
    crypto_sha256_t ctx;
    crypto_sha256_init(&ctx);
    crypto_sha256_update(&ctx, &prefix, 1);
    crypto_sha256_update(&ctx, left, PBFT_HASH_SIZE);
    crypto_sha256_update(&ctx, right, PBFT_HASH_SIZE);
    crypto_sha256_final(&ctx, out);
}

/* Replaces level[0..count) by the next level up; returns its size. */
static size_t merkle_reduce(uint8_t (*level)[PBFT_HASH_SIZE], size_t count) {
    size_t next = 0;
    for (size_t i = 0; i + 1 < count; i += 2)
        inner_hash(level[i], level[i + 1], level[next++]);
    if (count % 2 == 1) memmove(level[next++], level[count - 1], PBFT_HASH_SIZE);
    PBFT_ASSERT(next == (count + 1) / 2);
    return next;
}

static uint8_t (*merkle_leaf_level(const uint8_t (*leaves)[PBFT_HASH_SIZE],
                                   size_t count))[PBFT_HASH_SIZE] {
    uint8_t(*level)[PBFT_HASH_SIZE] = pbft_xmalloc(count * PBFT_HASH_SIZE);
    for (size_t i = 0; i < count; i++)
        leaf_hash(leaves[i], level[i]);
    return level;
}

void crypto_merkle_root(const uint8_t (*leaves)[PBFT_HASH_SIZE], size_t count,
                        uint8_t out[PBFT_HASH_SIZE]) {
    PBFT_ASSERT(out != NULL);
    PBFT_ASSERT(leaves != NULL || count == 0);
    PBFT_ASSERT(count <= SIZE_MAX / PBFT_HASH_SIZE);
    if (count == 0) {
        crypto_sha256(NULL, 0, out);
        return;
    }
    uint8_t(*level)[PBFT_HASH_SIZE] = merkle_leaf_level(leaves, count);
    while (count > 1)
        count = merkle_reduce(level, count);
    memcpy(out, level[0], PBFT_HASH_SIZE);
    free(level);
}

void crypto_merkle_prove(const uint8_t (*leaves)[PBFT_HASH_SIZE], size_t count, size_t index,
                         crypto_merkle_proof_t *out) {
    PBFT_ASSERT(leaves != NULL && out != NULL);
    PBFT_ASSERT(index < count && count <= UINT32_MAX);
    uint8_t(*level)[PBFT_HASH_SIZE] = merkle_leaf_level(leaves, count);
    memset(out, 0, sizeof(*out));
    out->leaf_index = (uint32_t)index;
    out->leaf_count = (uint32_t)count;
    while (count > 1) {
        size_t sibling = index ^ 1u;
        if (sibling < count) {
            PBFT_ASSERT(out->sibling_count < PBFT_MERKLE_DEPTH_MAX);
            memcpy(out->siblings[out->sibling_count++], level[sibling], PBFT_HASH_SIZE);
        }
        count = merkle_reduce(level, count);
        index /= 2;
    }
    free(level);
}

pbft_status_t crypto_merkle_verify(const uint8_t leaf[PBFT_HASH_SIZE],
                                   const crypto_merkle_proof_t *proof,
                                   const uint8_t root[PBFT_HASH_SIZE]) {
    PBFT_ASSERT(leaf != NULL && proof != NULL && root != NULL);
    if (proof->leaf_count == 0 || proof->leaf_index >= proof->leaf_count) {
        return PBFT_ERR_BAD_MERKLE_PROOF;
    }
    if (proof->sibling_count > PBFT_MERKLE_DEPTH_MAX) return PBFT_ERR_BAD_MERKLE_PROOF;
    uint64_t fn = proof->leaf_index;
    uint64_t sn = (uint64_t)proof->leaf_count - 1;
    uint8_t r[PBFT_HASH_SIZE];
    leaf_hash(leaf, r);
    for (size_t i = 0; i < proof->sibling_count; i++) {
        const uint8_t *p = proof->siblings[i];
        if (sn == 0) return PBFT_ERR_BAD_MERKLE_PROOF; /* more siblings than levels */
        if ((fn & 1) == 1 || fn == sn) {
            inner_hash(p, r, r);
            while ((fn & 1) == 0 && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            inner_hash(r, p, r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0) return PBFT_ERR_BAD_MERKLE_PROOF; /* fewer siblings than levels */
    return crypto_equal_ct(r, root, PBFT_HASH_SIZE) ? PBFT_OK : PBFT_ERR_BAD_MERKLE_PROOF;
}
