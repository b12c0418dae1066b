/*
 * tests/unit/crypto_merkle_test.c — Merkle roots and audit paths of RFC 6962
 * shape, checked against a direct recursive transcription of RFC 6962 §2.1
 * for many sizes and every leaf, and against hand-computed small trees.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <string.h>

#include "pbft/crypto.h"

#define LEAF_COUNT_MAX 64

static void hash_leaf(const uint8_t leaf[PBFT_HASH_SIZE], uint8_t out[PBFT_HASH_SIZE]) {
    uint8_t buf[1 + PBFT_HASH_SIZE];
    buf[0] = 0x00;
    memcpy(buf + 1, leaf, PBFT_HASH_SIZE);
    crypto_sha256(buf, sizeof(buf), out);
}

static void hash_inner(const uint8_t l[PBFT_HASH_SIZE], const uint8_t r[PBFT_HASH_SIZE],
                       uint8_t out[PBFT_HASH_SIZE]) {
    uint8_t buf[1 + 2 * PBFT_HASH_SIZE];
    buf[0] = 0x01;
    memcpy(buf + 1, l, PBFT_HASH_SIZE);
    memcpy(buf + 1 + PBFT_HASH_SIZE, r, PBFT_HASH_SIZE);
    crypto_sha256(buf, sizeof(buf), out);
}

static size_t split_point(size_t n) {
    size_t k = 1;
    while (k * 2 < n)
        k *= 2;
    return k;
}

/* RFC 6962 §2.1 MTH, verbatim. */
static void reference_root(const uint8_t (*d)[PBFT_HASH_SIZE], size_t n,
                           uint8_t out[PBFT_HASH_SIZE]) {
    if (n == 0) {
        crypto_sha256(NULL, 0, out);
    } else if (n == 1) {
        hash_leaf(d[0], out);
    } else {
        size_t k = split_point(n);
        uint8_t l[PBFT_HASH_SIZE], r[PBFT_HASH_SIZE];
        reference_root(d, k, l);
        reference_root(d + k, n - k, r);
        hash_inner(l, r, out);
    }
}

/* RFC 6962 §2.1.1 PATH(m, D[n]), root-to-leaf order reversed to leaf-to-root. */
static size_t reference_path(const uint8_t (*d)[PBFT_HASH_SIZE], size_t n, size_t m,
                             uint8_t path[][PBFT_HASH_SIZE]) {
    if (n == 1) return 0;
    size_t k = split_point(n);
    size_t len;
    if (m < k) {
        len = reference_path(d, k, m, path);
        reference_root(d + k, n - k, path[len]);
    } else {
        len = reference_path(d + k, n - k, m - k, path);
        reference_root(d, k, path[len]);
    }
    return len + 1;
}

/* The sides (1 = sibling on the left) of leaf m's path in a tree of n
 * leaves, leaf to root, per RFC 6962 §2.1.1; returns the path length. */
static size_t reference_shape(size_t n, size_t m, uint8_t sides[PBFT_MERKLE_DEPTH_MAX]) {
    if (n == 1) return 0;
    size_t k = split_point(n);
    size_t len;
    if (m < k) {
        len = reference_shape(k, m, sides);
        sides[len] = 0;
    } else {
        len = reference_shape(n - k, m - k, sides);
        sides[len] = 1;
    }
    return len + 1;
}

static bool same_shape(size_t n, size_t c, size_t m) {
    if (c == 0 || m >= c) return false;
    uint8_t a[PBFT_MERKLE_DEPTH_MAX], b[PBFT_MERKLE_DEPTH_MAX];
    size_t la = reference_shape(n, m, a);
    size_t lb = reference_shape(c, m, b);
    return la == lb && memcmp(a, b, la) == 0;
}

static void make_leaves(uint8_t (*leaves)[PBFT_HASH_SIZE], size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t v = (uint32_t)(i * 2654435761u);
        crypto_sha256(&v, sizeof(v), leaves[i]);
    }
}

static const size_t sizes[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64};

static void test_root_of_zero_and_one_leaf(void **state) {
    (void)state;
    uint8_t root[PBFT_HASH_SIZE], want[PBFT_HASH_SIZE];
    crypto_merkle_root(NULL, 0, root);
    crypto_sha256(NULL, 0, want);
    assert_memory_equal(root, want, PBFT_HASH_SIZE);

    uint8_t leaf[1][PBFT_HASH_SIZE];
    memset(leaf[0], 0xab, PBFT_HASH_SIZE);
    crypto_merkle_root((const uint8_t(*)[PBFT_HASH_SIZE])leaf, 1, root);
    hash_leaf(leaf[0], want);
    assert_memory_equal(root, want, PBFT_HASH_SIZE);
}

static void test_root_of_three_leaves_by_hand(void **state) {
    (void)state;
    uint8_t leaves[3][PBFT_HASH_SIZE];
    make_leaves(leaves, 3);
    uint8_t h0[PBFT_HASH_SIZE], h1[PBFT_HASH_SIZE], h2[PBFT_HASH_SIZE], h01[PBFT_HASH_SIZE],
        want[PBFT_HASH_SIZE], root[PBFT_HASH_SIZE];
    hash_leaf(leaves[0], h0);
    hash_leaf(leaves[1], h1);
    hash_leaf(leaves[2], h2);
    hash_inner(h0, h1, h01);
    hash_inner(h01, h2, want); /* the odd leaf is promoted, not duplicated */
    crypto_merkle_root((const uint8_t(*)[PBFT_HASH_SIZE])leaves, 3, root);
    assert_memory_equal(root, want, PBFT_HASH_SIZE);
}

static void test_roots_match_rfc6962(void **state) {
    (void)state;
    uint8_t leaves[LEAF_COUNT_MAX][PBFT_HASH_SIZE];
    make_leaves(leaves, LEAF_COUNT_MAX);
    for (size_t n = 0; n <= LEAF_COUNT_MAX; n++) {
        uint8_t got[PBFT_HASH_SIZE], want[PBFT_HASH_SIZE];
        crypto_merkle_root((const uint8_t(*)[PBFT_HASH_SIZE])leaves, n, got);
        reference_root((const uint8_t(*)[PBFT_HASH_SIZE])leaves, n, want);
        assert_memory_equal(got, want, PBFT_HASH_SIZE);
    }
}

static void test_no_duplication_ambiguity(void **state) {
    (void)state;
    /* [a, b, c] and [a, b, c, c] must differ (Bitcoin's CVE-2012-2459 shape). */
    uint8_t leaves[4][PBFT_HASH_SIZE];
    make_leaves(leaves, 3);
    memcpy(leaves[3], leaves[2], PBFT_HASH_SIZE);
    uint8_t r3[PBFT_HASH_SIZE], r4[PBFT_HASH_SIZE];
    crypto_merkle_root((const uint8_t(*)[PBFT_HASH_SIZE])leaves, 3, r3);
    crypto_merkle_root((const uint8_t(*)[PBFT_HASH_SIZE])leaves, 4, r4);
    assert_memory_not_equal(r3, r4, PBFT_HASH_SIZE);
}

static void test_proofs_for_every_leaf_verify_and_match_rfc6962(void **state) {
    (void)state;
    uint8_t leaves[LEAF_COUNT_MAX][PBFT_HASH_SIZE];
    make_leaves(leaves, LEAF_COUNT_MAX);
    const uint8_t(*cleaves)[PBFT_HASH_SIZE] = (const uint8_t(*)[PBFT_HASH_SIZE])leaves;
    for (size_t si = 0; si < PBFT_ARRAY_COUNT(sizes); si++) {
        size_t n = sizes[si];
        uint8_t root[PBFT_HASH_SIZE];
        crypto_merkle_root(cleaves, n, root);
        for (size_t i = 0; i < n; i++) {
            crypto_merkle_proof_t proof;
            crypto_merkle_prove(cleaves, n, i, &proof);
            assert_int_equal(proof.leaf_index, i);
            assert_int_equal(proof.leaf_count, n);
            uint8_t path[PBFT_MERKLE_DEPTH_MAX][PBFT_HASH_SIZE];
            size_t len = reference_path(cleaves, n, i, path);
            assert_int_equal(proof.sibling_count, len);
            assert_memory_equal(proof.siblings, path, len * PBFT_HASH_SIZE);
            assert_int_equal(crypto_merkle_verify(leaves[i], &proof, root), PBFT_OK);
        }
    }
}

static void test_tampered_proofs_fail(void **state) {
    (void)state;
    uint8_t leaves[LEAF_COUNT_MAX][PBFT_HASH_SIZE];
    make_leaves(leaves, LEAF_COUNT_MAX);
    const uint8_t(*cleaves)[PBFT_HASH_SIZE] = (const uint8_t(*)[PBFT_HASH_SIZE])leaves;
    for (size_t si = 0; si < PBFT_ARRAY_COUNT(sizes); si++) {
        size_t n = sizes[si];
        uint8_t root[PBFT_HASH_SIZE];
        crypto_merkle_root(cleaves, n, root);
        for (size_t i = 0; i < n; i++) {
            crypto_merkle_proof_t proof, bad;
            crypto_merkle_prove(cleaves, n, i, &proof);
            /* Every sibling, flipped. */
            for (size_t s = 0; s < proof.sibling_count; s++) {
                bad = proof;
                bad.siblings[s][s % PBFT_HASH_SIZE] ^= 0x01;
                assert_int_equal(crypto_merkle_verify(leaves[i], &bad, root),
                                 PBFT_ERR_BAD_MERKLE_PROOF);
            }
            /* Every other index, and indexes out of range. */
            for (size_t j = 0; j <= n + 1; j++) {
                if (j == i) continue;
                bad = proof;
                bad.leaf_index = (uint32_t)j;
                assert_int_equal(crypto_merkle_verify(leaves[i], &bad, root),
                                 PBFT_ERR_BAD_MERKLE_PROOF);
            }
            /* Every other count from 0 to 2n fails, except a count whose tree
             * gives leaf i exactly the same path shape (the root cannot tell
             * those apart; callers compare leaf_count with the header). */
            for (size_t c = 0; c <= 2 * n; c++) {
                if (c == n) continue;
                bad = proof;
                bad.leaf_count = (uint32_t)c;
                pbft_status_t want = same_shape(n, c, i) ? PBFT_OK : PBFT_ERR_BAD_MERKLE_PROOF;
                assert_int_equal(crypto_merkle_verify(leaves[i], &bad, root), want);
            }
            /* One sibling too few, one too many, an absurd count. */
            if (proof.sibling_count > 0) {
                bad = proof;
                bad.sibling_count--;
                assert_int_equal(crypto_merkle_verify(leaves[i], &bad, root),
                                 PBFT_ERR_BAD_MERKLE_PROOF);
            }
            bad = proof;
            bad.sibling_count++;
            assert_int_equal(crypto_merkle_verify(leaves[i], &bad, root),
                             PBFT_ERR_BAD_MERKLE_PROOF);
            bad.sibling_count = 255;
            assert_int_equal(crypto_merkle_verify(leaves[i], &bad, root),
                             PBFT_ERR_BAD_MERKLE_PROOF);
            /* The wrong leaf, the wrong root. */
            if (n > 1) {
                assert_int_equal(crypto_merkle_verify(leaves[(i + 1) % n], &proof, root),
                                 PBFT_ERR_BAD_MERKLE_PROOF);
            }
            uint8_t other_root[PBFT_HASH_SIZE];
            memcpy(other_root, root, sizeof(other_root));
            other_root[31] ^= 0x80;
            assert_int_equal(crypto_merkle_verify(leaves[i], &proof, other_root),
                             PBFT_ERR_BAD_MERKLE_PROOF);
        }
    }
}

static void test_proof_at_block_size_limit(void **state) {
    (void)state;
    size_t n = PBFT_BLOCK_TX_COUNT_MAX + 1; /* past a power of two: deepest path */
    uint8_t(*leaves)[PBFT_HASH_SIZE] = pbft_xmalloc(n * PBFT_HASH_SIZE);
    make_leaves(leaves, n);
    const uint8_t(*cleaves)[PBFT_HASH_SIZE] = (const uint8_t(*)[PBFT_HASH_SIZE])leaves;
    uint8_t root[PBFT_HASH_SIZE], want[PBFT_HASH_SIZE];
    crypto_merkle_root(cleaves, n, root);
    reference_root(cleaves, n, want);
    assert_memory_equal(root, want, PBFT_HASH_SIZE);
    static const size_t picks[] = {0, 1, 1023, 2047, 2048};
    for (size_t p = 0; p < PBFT_ARRAY_COUNT(picks); p++) {
        crypto_merkle_proof_t proof;
        crypto_merkle_prove(cleaves, n, picks[p], &proof);
        assert_int_equal(crypto_merkle_verify(leaves[picks[p]], &proof, root), PBFT_OK);
    }
    free(leaves);
}

static void test_every_size_to_64_every_leaf_round_trips(void **state) {
    (void)state;
    uint8_t leaves[LEAF_COUNT_MAX][PBFT_HASH_SIZE];
    make_leaves(leaves, LEAF_COUNT_MAX);
    const uint8_t(*cleaves)[PBFT_HASH_SIZE] = (const uint8_t(*)[PBFT_HASH_SIZE])leaves;
    for (size_t n = 1; n <= LEAF_COUNT_MAX; n++) {
        uint8_t root[PBFT_HASH_SIZE];
        crypto_merkle_root(cleaves, n, root);
        for (size_t i = 0; i < n; i++) {
            crypto_merkle_proof_t proof;
            crypto_merkle_prove(cleaves, n, i, &proof);
            uint8_t sides[PBFT_MERKLE_DEPTH_MAX];
            assert_int_equal(proof.sibling_count, reference_shape(n, i, sides));
            assert_int_equal(crypto_merkle_verify(leaves[i], &proof, root), PBFT_OK);
            /* The same leaf claimed at the mirrored index never verifies. */
            if (n > 1) {
                crypto_merkle_proof_t bad = proof;
                bad.leaf_index = (uint32_t)(n - 1 - i);
                if (bad.leaf_index != i) {
                    assert_int_equal(crypto_merkle_verify(leaves[i], &bad, root),
                                     PBFT_ERR_BAD_MERKLE_PROOF);
                }
            }
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root_of_zero_and_one_leaf),
        cmocka_unit_test(test_root_of_three_leaves_by_hand),
        cmocka_unit_test(test_roots_match_rfc6962),
        cmocka_unit_test(test_no_duplication_ambiguity),
        cmocka_unit_test(test_proofs_for_every_leaf_verify_and_match_rfc6962),
        cmocka_unit_test(test_tampered_proofs_fail),
        cmocka_unit_test(test_proof_at_block_size_limit),
        cmocka_unit_test(test_every_size_to_64_every_leaf_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
