/*
 * tests/unit/crypto_test.c — SHA-256, hex, ECDSA P-256 (sign, verify, the
 * low-S policy, domain separation, the key cache, threads) and key files.
 * Merkle trees: crypto_merkle_test.c. Wycheproof: crypto_wycheproof_test.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pbft/crypto.h"

static const uint8_t chain_a[PBFT_CHAIN_ID_SIZE] = {1, 2, 3};
static const uint8_t chain_b[PBFT_CHAIN_ID_SIZE] = {1, 2, 4};

static const char p256_order_hex[] =
    "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";

static void hex_to(const char *hex, uint8_t *out, size_t size) {
    assert_int_equal(crypto_hex_decode(hex, strlen(hex), out, size), PBFT_OK);
}

static void assert_hash_hex(const uint8_t hash[PBFT_HASH_SIZE], const char *hex) {
    char buf[2 * PBFT_HASH_SIZE + 1];
    crypto_hex_encode(hash, PBFT_HASH_SIZE, buf);
    assert_string_equal(buf, hex);
}

/* s -> n - s, big-endian, for s in [1, n-1]: the other valid s of a signature. */
static void negate_s(uint8_t sig[PBFT_SIGNATURE_SIZE]) {
    uint8_t n[32];
    hex_to(p256_order_hex, n, sizeof(n));
    uint8_t *s = sig + 32;
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = (int)n[i] - (int)s[i] - borrow;
        borrow = d < 0;
        s[i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
    assert_int_equal(borrow, 0);
}

/* ------------------------------------------------------------------------ */
/* SHA-256                                                                    */

static void test_sha256_known_answers(void **state) {
    (void)state;
    uint8_t h[PBFT_HASH_SIZE];
    crypto_sha256("abc", 3, h);
    assert_hash_hex(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    crypto_sha256(NULL, 0, h);
    assert_hash_hex(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    crypto_sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, h);
    assert_hash_hex(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_sha256_incremental_million_a(void **state) {
    (void)state;
    char chunk[1000];
    memset(chunk, 'a', sizeof(chunk));
    crypto_sha256_t ctx;
    crypto_sha256_init(&ctx);
    /* Odd-sized pieces so block boundaries fall inside updates. */
    size_t done = 0;
    size_t piece = 1;
    while (done < 1000000) {
        size_t n = PBFT_MIN(piece, 1000000 - done);
        n = PBFT_MIN(n, sizeof(chunk));
        crypto_sha256_update(&ctx, chunk, n);
        done += n;
        piece = piece * 7 % 997 + 1;
    }
    uint8_t h[PBFT_HASH_SIZE];
    crypto_sha256_final(&ctx, h);
    assert_hash_hex(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_sha256_incremental_matches_one_shot(void **state) {
    (void)state;
    uint8_t data[300];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 31 + 7);
    for (size_t split = 0; split <= sizeof(data); split += 13) {
        uint8_t a[PBFT_HASH_SIZE], b[PBFT_HASH_SIZE];
        crypto_sha256(data, sizeof(data), a);
        crypto_sha256_t ctx;
        crypto_sha256_init(&ctx);
        crypto_sha256_update(&ctx, data, split);
        crypto_sha256_update(&ctx, data + split, sizeof(data) - split);
        crypto_sha256_final(&ctx, b);
        assert_memory_equal(a, b, PBFT_HASH_SIZE);
    }
}

/* ------------------------------------------------------------------------ */
/* Hex, comparisons, wipe                                                     */

static void test_hex_round_trip(void **state) {
    (void)state;
    uint8_t bytes[256];
    for (size_t i = 0; i < sizeof(bytes); i++)
        bytes[i] = (uint8_t)i;
    char hex[2 * sizeof(bytes) + 1];
    crypto_hex_encode(bytes, sizeof(bytes), hex);
    assert_int_equal(strlen(hex), 2 * sizeof(bytes));
    assert_memory_equal(hex, "000102", 6);
    assert_memory_equal(hex + 2 * 0xab, "abac", 4);
    uint8_t back[sizeof(bytes)];
    assert_int_equal(crypto_hex_decode(hex, strlen(hex), back, sizeof(back)), PBFT_OK);
    assert_memory_equal(bytes, back, sizeof(bytes));
    /* Upper case decodes too. */
    uint8_t two[2];
    assert_int_equal(crypto_hex_decode("ABcd", 4, two, 2), PBFT_OK);
    assert_int_equal(two[0], 0xab);
    assert_int_equal(two[1], 0xcd);
}

static void test_hex_decode_rejects_bad_input_and_leaves_output(void **state) {
    (void)state;
    uint8_t out[2] = {0x55, 0x55};
    assert_int_equal(crypto_hex_decode("abc", 3, out, 2), PBFT_ERR_MALFORMED);    /* odd */
    assert_int_equal(crypto_hex_decode("abcdef", 6, out, 2), PBFT_ERR_MALFORMED); /* long */
    assert_int_equal(crypto_hex_decode("ab", 2, out, 2), PBFT_ERR_MALFORMED);     /* short */
    assert_int_equal(crypto_hex_decode("abzd", 4, out, 2), PBFT_ERR_MALFORMED);
    assert_int_equal(crypto_hex_decode("ab d", 4, out, 2), PBFT_ERR_MALFORMED);
    assert_int_equal(crypto_hex_decode("0x12", 4, out, 2), PBFT_ERR_MALFORMED);
    assert_int_equal(crypto_hex_decode("ab\0d", 4, out, 2), PBFT_ERR_MALFORMED);
    assert_int_equal(crypto_hex_decode("abcg", 4, out, 2), PBFT_ERR_MALFORMED);
    assert_int_equal(out[0], 0x55);
    assert_int_equal(out[1], 0x55);
}

static void test_equal_ct_and_wipe(void **state) {
    (void)state;
    uint8_t a[40], b[40];
    memset(a, 7, sizeof(a));
    memset(b, 7, sizeof(b));
    assert_true(crypto_equal_ct(a, b, sizeof(a)));
    for (size_t i = 0; i < sizeof(a); i++) {
        b[i] ^= 0x80;
        assert_false(crypto_equal_ct(a, b, sizeof(a)));
        b[i] ^= 0x80;
    }
    assert_true(crypto_equal_ct(a, b, 0));
    crypto_wipe(a, sizeof(a));
    for (size_t i = 0; i < sizeof(a); i++)
        assert_int_equal(a[i], 0);
}

static void test_domain_hash_layout(void **state) {
    (void)state;
    /* SHA-256( u8 len(tag) || tag || chain_id || bytes ) */
    uint8_t manual[1 + 7 + 32 + 3];
    manual[0] = 7;
    memcpy(manual + 1, "pbft/tx", 7);
    memcpy(manual + 8, chain_a, 32);
    memcpy(manual + 40, "xyz", 3);
    uint8_t want[PBFT_HASH_SIZE], got[PBFT_HASH_SIZE];
    crypto_sha256(manual, sizeof(manual), want);
    crypto_domain_hash(CRYPTO_TAG_TX, chain_a, "xyz", 3, got);
    assert_memory_equal(want, got, PBFT_HASH_SIZE);
    uint8_t other[PBFT_HASH_SIZE];
    crypto_domain_hash(CRYPTO_TAG_COMMIT, chain_a, "xyz", 3, other);
    assert_memory_not_equal(got, other, PBFT_HASH_SIZE);
    crypto_domain_hash(CRYPTO_TAG_TX, chain_b, "xyz", 3, other);
    assert_memory_not_equal(got, other, PBFT_HASH_SIZE);
}

/* ------------------------------------------------------------------------ */
/* ECDSA                                                                      */

/* RFC 6979 A.2.5: P-256, SHA-256, message "sample". OpenSSL's k is random,
 * so we use the published signature as a verification known answer; its s
 * is high, which makes it a natural HIGH_S case too. */
static const char rfc6979_pub_hex[] =
    "0360fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6";
static const char rfc6979_sig_hex[] =
    "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
    "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8";

static void test_verify_rfc6979_known_answer(void **state) {
    (void)state;
    uint8_t pub[PBFT_PUBKEY_SIZE], sig[PBFT_SIGNATURE_SIZE], digest[PBFT_HASH_SIZE];
    hex_to(rfc6979_pub_hex, pub, sizeof(pub));
    hex_to(rfc6979_sig_hex, sig, sizeof(sig));
    crypto_sha256("sample", 6, digest);
    assert_true(crypto_pubkey_valid(pub));
    assert_false(crypto_signature_is_low_s(sig));
    assert_int_equal(crypto_verify_digest_raw(pub, digest, sig), PBFT_OK);
    assert_int_equal(crypto_verify_digest(pub, digest, sig), PBFT_ERR_HIGH_S);
    negate_s(sig);
    assert_true(crypto_signature_is_low_s(sig));
    assert_int_equal(crypto_verify_digest(pub, digest, sig), PBFT_OK);
    crypto_sha256("samplf", 6, digest);
    assert_int_equal(crypto_verify_digest_raw(pub, digest, sig), PBFT_ERR_BAD_SIGNATURE);
}

static void test_sign_verify_round_trip_low_s(void **state) {
    (void)state;
    crypto_key_t *key = crypto_key_generate();
    assert_non_null(key);
    uint8_t pub[PBFT_PUBKEY_SIZE];
    crypto_key_public(key, pub);
    assert_true(pub[0] == 0x02 || pub[0] == 0x03);
    assert_true(crypto_pubkey_valid(pub));
    for (int i = 0; i < 64; i++) {
        uint8_t digest[PBFT_HASH_SIZE], sig[PBFT_SIGNATURE_SIZE];
        crypto_sha256(&i, sizeof(i), digest);
        assert_int_equal(crypto_sign_digest(key, digest, sig), PBFT_OK);
        assert_true(crypto_signature_is_low_s(sig));
        assert_int_equal(crypto_verify_digest(pub, digest, sig), PBFT_OK);
        assert_int_equal(crypto_verify_digest_raw(pub, digest, sig), PBFT_OK);
    }
    crypto_key_free(key);
    crypto_key_free(NULL);
}

static void test_tampered_digest_signature_or_key_rejected(void **state) {
    (void)state;
    crypto_key_t *key = crypto_key_generate();
    crypto_key_t *other = crypto_key_generate();
    assert_non_null(key);
    assert_non_null(other);
    uint8_t pub[PBFT_PUBKEY_SIZE], other_pub[PBFT_PUBKEY_SIZE];
    crypto_key_public(key, pub);
    crypto_key_public(other, other_pub);
    uint8_t digest[PBFT_HASH_SIZE], sig[PBFT_SIGNATURE_SIZE];
    crypto_sha256("payload", 7, digest);
    assert_int_equal(crypto_sign_digest(key, digest, sig), PBFT_OK);

    for (size_t i = 0; i < PBFT_HASH_SIZE; i++) {
        digest[i] ^= 0x01;
        assert_int_not_equal(crypto_verify_digest(pub, digest, sig), PBFT_OK);
        digest[i] ^= 0x01;
    }
    for (size_t i = 0; i < PBFT_SIGNATURE_SIZE; i++) {
        sig[i] ^= 0x01;
        assert_int_not_equal(crypto_verify_digest_raw(pub, digest, sig), PBFT_OK);
        sig[i] ^= 0x01;
    }
    assert_int_equal(crypto_verify_digest(other_pub, digest, sig), PBFT_ERR_BAD_SIGNATURE);
    assert_int_equal(crypto_verify_digest(pub, digest, sig), PBFT_OK);
    crypto_key_free(key);
    crypto_key_free(other);
}

static void test_high_s_raw_accepts_policy_rejects(void **state) {
    (void)state;
    crypto_key_t *key = crypto_key_generate();
    assert_non_null(key);
    uint8_t pub[PBFT_PUBKEY_SIZE];
    crypto_key_public(key, pub);
    uint8_t digest[PBFT_HASH_SIZE], sig[PBFT_SIGNATURE_SIZE];
    crypto_sha256("mutable?", 8, digest);
    assert_int_equal(crypto_sign_digest(key, digest, sig), PBFT_OK);
    negate_s(sig);
    assert_false(crypto_signature_is_low_s(sig));
    assert_int_equal(crypto_verify_digest_raw(pub, digest, sig), PBFT_OK);
    assert_int_equal(crypto_verify_digest(pub, digest, sig), PBFT_ERR_HIGH_S);
    crypto_key_free(key);
}

static void test_low_s_boundary_is_half_the_order(void **state) {
    (void)state;
    uint8_t sig[PBFT_SIGNATURE_SIZE] = {0};
    sig[31] = 1;
    /* floor(n/2) */
    hex_to("7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a8", sig + 32, 32);
    assert_true(crypto_signature_is_low_s(sig));
    sig[63] = 0xa9; /* floor(n/2) + 1 */
    assert_false(crypto_signature_is_low_s(sig));
    memset(sig + 32, 0, 32);
    sig[63] = 1;
    assert_true(crypto_signature_is_low_s(sig));
    hex_to(p256_order_hex, sig + 32, 32);
    sig[63] -= 1; /* n - 1 */
    assert_false(crypto_signature_is_low_s(sig));
}

static void test_signature_scalars_out_of_range_rejected(void **state) {
    (void)state;
    crypto_key_t *key = crypto_key_generate();
    assert_non_null(key);
    uint8_t pub[PBFT_PUBKEY_SIZE], n[32];
    crypto_key_public(key, pub);
    hex_to(p256_order_hex, n, sizeof(n));
    uint8_t digest[PBFT_HASH_SIZE], good[PBFT_SIGNATURE_SIZE], sig[PBFT_SIGNATURE_SIZE];
    crypto_sha256("range", 5, digest);
    assert_int_equal(crypto_sign_digest(key, digest, good), PBFT_OK);

    memcpy(sig, good, sizeof(sig));
    memset(sig, 0, 32); /* r = 0 */
    assert_int_equal(crypto_verify_digest_raw(pub, digest, sig), PBFT_ERR_BAD_SIGNATURE);
    memcpy(sig, good, sizeof(sig));
    memset(sig + 32, 0, 32); /* s = 0 */
    assert_int_equal(crypto_verify_digest_raw(pub, digest, sig), PBFT_ERR_BAD_SIGNATURE);
    memcpy(sig, good, sizeof(sig));
    memcpy(sig, n, 32); /* r = n */
    assert_int_equal(crypto_verify_digest_raw(pub, digest, sig), PBFT_ERR_BAD_SIGNATURE);
    memcpy(sig, good, sizeof(sig));
    memcpy(sig + 32, n, 32); /* s = n */
    assert_int_equal(crypto_verify_digest_raw(pub, digest, sig), PBFT_ERR_BAD_SIGNATURE);
    memcpy(sig, good, sizeof(sig));
    memset(sig, 0xff, 32); /* r > n */
    assert_int_equal(crypto_verify_digest_raw(pub, digest, sig), PBFT_ERR_BAD_SIGNATURE);
    /* r + n would be congruent to r mod n: still refused. */
    memcpy(sig, good, sizeof(sig));
    memset(sig + 32, 0xff, 32);
    assert_int_equal(crypto_verify_digest_raw(pub, digest, sig), PBFT_ERR_BAD_SIGNATURE);
    crypto_key_free(key);
}

static void test_invalid_public_keys_rejected(void **state) {
    (void)state;
    crypto_key_t *key = crypto_key_generate();
    assert_non_null(key);
    uint8_t pub[PBFT_PUBKEY_SIZE], bad[PBFT_PUBKEY_SIZE];
    crypto_key_public(key, pub);
    uint8_t digest[PBFT_HASH_SIZE], sig[PBFT_SIGNATURE_SIZE];
    crypto_sha256("keys", 4, digest);
    assert_int_equal(crypto_sign_digest(key, digest, sig), PBFT_OK);

    static const uint8_t prefixes[] = {0x00, 0x01, 0x04, 0x05, 0x06, 0x07, 0xff};
    for (size_t i = 0; i < PBFT_ARRAY_COUNT(prefixes); i++) {
        memcpy(bad, pub, sizeof(bad));
        bad[0] = prefixes[i];
        assert_false(crypto_pubkey_valid(bad));
        assert_int_equal(crypto_verify_digest_raw(bad, digest, sig), PBFT_ERR_BAD_KEY);
    }
    /* x = 1: x^3 - 3x + b is not a square mod p, so no point has it. */
    memset(bad, 0, sizeof(bad));
    bad[0] = 0x02;
    bad[32] = 0x01;
    assert_false(crypto_pubkey_valid(bad));
    assert_int_equal(crypto_verify_digest(bad, digest, sig), PBFT_ERR_BAD_KEY);
    /* Twice: a bad key must not have been cached as valid. */
    assert_int_equal(crypto_verify_digest(bad, digest, sig), PBFT_ERR_BAD_KEY);
    /* x = p (not reduced) and x = 2^256 - 1. */
    hex_to("02ffffffff00000001000000000000000000000000ffffffffffffffffffffffff", bad, sizeof(bad));
    assert_false(crypto_pubkey_valid(bad));
    memset(bad + 1, 0xff, 32);
    assert_false(crypto_pubkey_valid(bad));
    /* The other parity of a valid x is a valid, different key. */
    memcpy(bad, pub, sizeof(bad));
    bad[0] ^= 0x01;
    assert_true(crypto_pubkey_valid(bad));
    assert_int_equal(crypto_verify_digest(bad, digest, sig), PBFT_ERR_BAD_SIGNATURE);
    crypto_key_free(key);
}

static void test_domain_separation_tag_and_chain(void **state) {
    (void)state;
    crypto_key_t *key = crypto_key_generate();
    assert_non_null(key);
    uint8_t pub[PBFT_PUBKEY_SIZE], sig[PBFT_SIGNATURE_SIZE];
    crypto_key_public(key, pub);
    const char msg[] = "block 7";
    assert_int_equal(crypto_sign(key, CRYPTO_TAG_PREPARE, chain_a, msg, sizeof(msg), sig), PBFT_OK);
    assert_int_equal(crypto_verify(pub, CRYPTO_TAG_PREPARE, chain_a, msg, sizeof(msg), sig),
                     PBFT_OK);
    assert_int_equal(crypto_verify(pub, CRYPTO_TAG_COMMIT, chain_a, msg, sizeof(msg), sig),
                     PBFT_ERR_BAD_SIGNATURE);
    assert_int_equal(crypto_verify(pub, CRYPTO_TAG_PREPARE, chain_b, msg, sizeof(msg), sig),
                     PBFT_ERR_BAD_SIGNATURE);
    assert_int_equal(crypto_verify(pub, CRYPTO_TAG_PREPARE, chain_a, msg, sizeof(msg) - 1, sig),
                     PBFT_ERR_BAD_SIGNATURE);
    /* Signing the plain digest of the bytes is not a domain signature. */
    uint8_t digest[PBFT_HASH_SIZE];
    crypto_sha256(msg, sizeof(msg), digest);
    assert_int_equal(crypto_sign_digest(key, digest, sig), PBFT_OK);
    assert_int_equal(crypto_verify(pub, CRYPTO_TAG_PREPARE, chain_a, msg, sizeof(msg), sig),
                     PBFT_ERR_BAD_SIGNATURE);
    crypto_key_free(key);
}

static void test_address_known_answer(void **state) {
    (void)state;
    /* The compressed generator of P-256. */
    uint8_t g[PBFT_PUBKEY_SIZE], addr[PBFT_ADDRESS_SIZE];
    hex_to("036b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296", g, sizeof(g));
    assert_true(crypto_pubkey_valid(g));
    crypto_address(g, addr);
    char hex[2 * PBFT_ADDRESS_SIZE + 1];
    crypto_hex_encode(addr, sizeof(addr), hex);
    assert_string_equal(hex, "5baff89de7de5c1d7b6193a1567ceeeb397cbda8");
}

static void test_key_cache_counts_hits_and_misses(void **state) {
    (void)state;
    crypto_key_t *key = crypto_key_generate();
    assert_non_null(key);
    uint8_t pub[PBFT_PUBKEY_SIZE], digest[PBFT_HASH_SIZE], sig[PBFT_SIGNATURE_SIZE];
    crypto_key_public(key, pub);
    crypto_sha256("cache", 5, digest);
    assert_int_equal(crypto_sign_digest(key, digest, sig), PBFT_OK);

    crypto_key_cache_clear();
    crypto_key_cache_stats_t s0, s1, s2;
    crypto_key_cache_stats(&s0);
    assert_int_equal(s0.entries, 0);
    assert_int_equal(crypto_verify_digest(pub, digest, sig), PBFT_OK);
    crypto_key_cache_stats(&s1);
    assert_int_equal(s1.misses, s0.misses + 1);
    assert_int_equal(s1.hits, s0.hits);
    assert_int_equal(s1.entries, 1);
    for (int i = 0; i < 10; i++)
        assert_int_equal(crypto_verify_digest(pub, digest, sig), PBFT_OK);
    crypto_key_cache_stats(&s2);
    assert_int_equal(s2.hits, s1.hits + 10);
    assert_int_equal(s2.misses, s1.misses);
    assert_int_equal(s2.entries, 1);

    /* A key that does not decode is a miss and is never inserted. */
    uint8_t bad[PBFT_PUBKEY_SIZE] = {0x02};
    bad[32] = 1;
    assert_int_equal(crypto_verify_digest(bad, digest, sig), PBFT_ERR_BAD_KEY);
    crypto_key_cache_stats(&s1);
    assert_int_equal(s1.entries, 1);
    crypto_key_cache_clear();
    crypto_key_cache_stats(&s1);
    assert_int_equal(s1.entries, 0);
    assert_int_equal(crypto_verify_digest(pub, digest, sig), PBFT_OK);
    crypto_key_free(key);
}

static void test_key_cache_counts_distinct_keys(void **state) {
    (void)state;
    /* Each distinct valid key (both parities of each x) is one entry; the
     * answers stay right. Overflowing the bound itself is exercised by the
     * benchmark's cold runs; stats asserts entries <= the bound. */
    crypto_key_cache_clear();
    enum { KEYS = 64 };
    for (int i = 0; i < KEYS; i++) {
        crypto_key_t *key = crypto_key_generate();
        assert_non_null(key);
        uint8_t pub[PBFT_PUBKEY_SIZE], digest[PBFT_HASH_SIZE], sig[PBFT_SIGNATURE_SIZE];
        crypto_key_public(key, pub);
        crypto_sha256(&i, sizeof(i), digest);
        assert_int_equal(crypto_sign_digest(key, digest, sig), PBFT_OK);
        assert_int_equal(crypto_verify_digest(pub, digest, sig), PBFT_OK);
        pub[0] ^= 1;
        assert_int_equal(crypto_verify_digest(pub, digest, sig), PBFT_ERR_BAD_SIGNATURE);
        crypto_key_free(key);
    }
    crypto_key_cache_stats_t s;
    crypto_key_cache_stats(&s);
    assert_int_equal(s.entries, 2 * KEYS);
    assert_true(s.entries <= CRYPTO_KEY_CACHE_ENTRIES_MAX);
}

/* ------------------------------------------------------------------------ */
/* Threads                                                                    */

enum { THREAD_COUNT = 4, THREAD_KEYS = 8, THREAD_ROUNDS = 150 };

typedef struct thread_fixture {
    uint8_t pubs[THREAD_KEYS][PBFT_PUBKEY_SIZE];
    uint8_t digests[THREAD_KEYS][PBFT_HASH_SIZE];
    uint8_t sigs[THREAD_KEYS][PBFT_SIGNATURE_SIZE];
} thread_fixture_t;

typedef struct thread_arg {
    const thread_fixture_t *fixture;
    int id;
    int wrong; /* answers that differ from the expected */
    int checked;
} thread_arg_t;

static void *verify_thread(void *p) {
    thread_arg_t *arg = p;
    const thread_fixture_t *f = arg->fixture;
    for (int round = 0; round < THREAD_ROUNDS; round++) {
        int k = (round + arg->id) % THREAD_KEYS;
        uint8_t sig[PBFT_SIGNATURE_SIZE];
        memcpy(sig, f->sigs[k], sizeof(sig));
        bool tamper = (round + arg->id) % 3 == 0;
        if (tamper) sig[round % PBFT_SIGNATURE_SIZE] ^= 0x10;
        pbft_status_t st = crypto_verify_digest(f->pubs[k], f->digests[k], sig);
        if ((st == PBFT_OK) == tamper) arg->wrong++;
        /* The right signature under another key must fail. */
        int other = (k + 1) % THREAD_KEYS;
        if (crypto_verify_digest(f->pubs[other], f->digests[k], f->sigs[k]) == PBFT_OK) {
            arg->wrong++;
        }
        if (round % 50 == 0 && arg->id == 0) crypto_key_cache_clear();
        arg->checked += 2;
    }
    return NULL;
}

static void test_concurrent_verification_is_correct(void **state) {
    (void)state;
    thread_fixture_t *f = pbft_xcalloc(1, sizeof(*f));
    for (int k = 0; k < THREAD_KEYS; k++) {
        crypto_key_t *key = crypto_key_generate();
        assert_non_null(key);
        crypto_key_public(key, f->pubs[k]);
        crypto_sha256(&k, sizeof(k), f->digests[k]);
        assert_int_equal(crypto_sign_digest(key, f->digests[k], f->sigs[k]), PBFT_OK);
        crypto_key_free(key);
    }
    pthread_t threads[THREAD_COUNT];
    thread_arg_t args[THREAD_COUNT];
    for (int t = 0; t < THREAD_COUNT; t++) {
        args[t] = (thread_arg_t){.fixture = f, .id = t};
        assert_int_equal(pthread_create(&threads[t], NULL, verify_thread, &args[t]), 0);
    }
    for (int t = 0; t < THREAD_COUNT; t++) {
        assert_int_equal(pthread_join(threads[t], NULL), 0);
        assert_int_equal(args[t].wrong, 0);
        assert_int_equal(args[t].checked, 2 * THREAD_ROUNDS);
    }
    free(f);
}

typedef struct sign_arg {
    const crypto_key_t *key;
    uint8_t pub[PBFT_PUBKEY_SIZE];
    int id;
    int wrong;
} sign_arg_t;

static void *sign_thread(void *p) {
    sign_arg_t *arg = p;
    for (int i = 0; i < 50; i++) {
        uint8_t digest[PBFT_HASH_SIZE], sig[PBFT_SIGNATURE_SIZE];
        int seed = arg->id * 1000 + i;
        crypto_sha256(&seed, sizeof(seed), digest);
        if (crypto_sign_digest(arg->key, digest, sig) != PBFT_OK ||
            crypto_verify_digest(arg->pub, digest, sig) != PBFT_OK) {
            arg->wrong++;
        }
    }
    return NULL;
}

static void test_concurrent_signing_with_one_key(void **state) {
    (void)state;
    crypto_key_t *key = crypto_key_generate();
    assert_non_null(key);
    pthread_t threads[THREAD_COUNT];
    sign_arg_t args[THREAD_COUNT];
    for (int t = 0; t < THREAD_COUNT; t++) {
        args[t] = (sign_arg_t){.key = key, .id = t};
        crypto_key_public(key, args[t].pub);
        assert_int_equal(pthread_create(&threads[t], NULL, sign_thread, &args[t]), 0);
    }
    for (int t = 0; t < THREAD_COUNT; t++) {
        assert_int_equal(pthread_join(threads[t], NULL), 0);
        assert_int_equal(args[t].wrong, 0);
    }
    crypto_key_free(key);
}

/* ------------------------------------------------------------------------ */
/* Key files                                                                  */

static char tmp_dir[64];

static int setup_tmp(void **state) {
    (void)state;
    strcpy(tmp_dir, "/tmp/pbft-crypto-test.XXXXXX");
    return mkdtemp(tmp_dir) == NULL ? -1 : 0;
}

static int teardown_tmp(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void tmp_path(char *out, size_t size, const char *name) {
    snprintf(out, size, "%s/%s", tmp_dir, name);
}

static void write_file(const char *path, const char *text, mode_t mode) {
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(close(fd), 0);
}

static void test_key_save_is_0600_exclusive_and_loads_back(void **state) {
    (void)state;
    char path[128];
    tmp_path(path, sizeof(path), "node_key.pem");
    crypto_key_t *key = crypto_key_generate();
    assert_non_null(key);
    mode_t old = umask(0);
    assert_int_equal(crypto_key_save(key, path), PBFT_OK);
    umask(old);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(crypto_key_save(key, path), PBFT_ERR_EXISTS);

    crypto_key_t *loaded = NULL;
    char err[256] = "";
    assert_int_equal(crypto_key_load(path, &loaded, err, sizeof(err)), PBFT_OK);
    uint8_t a[PBFT_PUBKEY_SIZE], b[PBFT_PUBKEY_SIZE];
    crypto_key_public(key, a);
    crypto_key_public(loaded, b);
    assert_memory_equal(a, b, sizeof(a));
    /* The loaded key signs for the same public key. */
    uint8_t digest[PBFT_HASH_SIZE], sig[PBFT_SIGNATURE_SIZE];
    crypto_sha256("k", 1, digest);
    assert_int_equal(crypto_sign_digest(loaded, digest, sig), PBFT_OK);
    assert_int_equal(crypto_verify_digest(a, digest, sig), PBFT_OK);

    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[64] = "";
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    assert_string_equal(line, "-----BEGIN PRIVATE KEY-----\n");
    crypto_key_free(key);
    crypto_key_free(loaded);
}

static void test_key_load_refuses_group_readable_file(void **state) {
    (void)state;
    char path[128];
    tmp_path(path, sizeof(path), "open_key.pem");
    crypto_key_t *key = crypto_key_generate();
    assert_non_null(key);
    assert_int_equal(crypto_key_save(key, path), PBFT_OK);
    crypto_key_free(key);
    static const mode_t modes[] = {0644, 0640, 0604, 0660, 0601};
    for (size_t i = 0; i < PBFT_ARRAY_COUNT(modes); i++) {
        assert_int_equal(chmod(path, modes[i]), 0);
        crypto_key_t *loaded = (crypto_key_t *)(uintptr_t)1; /* must stay untouched */
        char err[512] = "";
        assert_int_equal(crypto_key_load(path, &loaded, err, sizeof(err)), PBFT_ERR_PERMISSION);
        assert_true(loaded == (crypto_key_t *)(uintptr_t)1);
        assert_non_null(strstr(err, "chmod 600"));
        assert_non_null(strstr(err, path));
    }
    char err[512];
    snprintf(err, sizeof(err), "%s", "");
    crypto_key_t *loaded = NULL;
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(crypto_key_load(path, &loaded, err, sizeof(err)), PBFT_ERR_PERMISSION);
    assert_non_null(strstr(err, "0644"));
    assert_int_equal(chmod(path, 0400), 0);
    assert_int_equal(crypto_key_load(path, &loaded, NULL, 0), PBFT_OK);
    crypto_key_free(loaded);
}

static void test_key_load_rejects_garbage_cleanly(void **state) {
    (void)state;
    char path[128];
    char err[256];
    crypto_key_t *loaded = NULL;
    static const char *const bodies[] = {
        "",
        "hello world\n",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        "-----BEGIN EC PRIVATE KEY-----\n!!!!\n-----END EC PRIVATE KEY-----\n",
        "-----BEGIN PUBLIC KEY-----\n"
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYP7UuiVanTHJYet0xjVtaMBJuJI7\n"
        "Yfps5mliLmDyn7Z5A/4QCLi8maQa6elWKLxk8vGyDC1+n1F3o8KU1EYimQ==\n"
        "-----END PUBLIC KEY-----\n",
    };
    for (size_t i = 0; i < PBFT_ARRAY_COUNT(bodies); i++) {
        tmp_path(path, sizeof(path), "garbage.pem");
        unlink(path);
        write_file(path, bodies[i], 0600);
        err[0] = '\0';
        assert_int_equal(crypto_key_load(path, &loaded, err, sizeof(err)), PBFT_ERR_BAD_KEY);
        assert_null(loaded);
        assert_true(strlen(err) > 0);
    }
    tmp_path(path, sizeof(path), "missing.pem");
    assert_int_equal(crypto_key_load(path, &loaded, err, sizeof(err)), PBFT_ERR_NOT_FOUND);
    assert_null(loaded);
}

static void test_key_load_accepts_sec1_and_rejects_trailing_data(void **state) {
    (void)state;
    /* A SEC1 "EC PRIVATE KEY" (RFC 6979 A.2.5 key, with public key). */
    static const char sec1[] = "-----BEGIN EC PRIVATE KEY-----\n"
                               "MHcCAQEEIMmvqdhFunUWa1whV2ex1pNOUMPbNuibEnuKYisSD2choAoGCCqGSM49\n"
                               "AwEHoUQDQgAEYP7UuiVanTHJYet0xjVtaMBJuJI7Yfps5mliLmDyn7Z5A/4QCLi8\n"
                               "maQa6elWKLxk8vGyDC1+n1F3o8KU1EYimQ==\n"
                               "-----END EC PRIVATE KEY-----\n";
    char path[128];
    tmp_path(path, sizeof(path), "sec1.pem");
    write_file(path, sec1, 0600);
    crypto_key_t *loaded = NULL;
    char err[256] = "";
    assert_int_equal(crypto_key_load(path, &loaded, err, sizeof(err)), PBFT_OK);
    uint8_t pub[PBFT_PUBKEY_SIZE], want[PBFT_PUBKEY_SIZE];
    crypto_key_public(loaded, pub);
    hex_to(rfc6979_pub_hex, want, sizeof(want));
    assert_memory_equal(pub, want, sizeof(pub));
    crypto_key_free(loaded);
    loaded = NULL;

    char doubled[sizeof(sec1) + 16];
    snprintf(doubled, sizeof(doubled), "%sjunk\n", sec1);
    unlink(path);
    write_file(path, doubled, 0600);
    assert_int_equal(crypto_key_load(path, &loaded, err, sizeof(err)), PBFT_ERR_BAD_KEY);
    assert_null(loaded);
}

/* Fixtures made with the openssl 3.0 CLI (test keys, never used elsewhere):
 * genpkey P-256 (PKCS#8); ecparam -genkey (EC PARAMETERS + SEC1); ecparam
 * -param_enc explicit; secp384r1; secp256k1; ed25519; RSA-1024; PKCS#8
 * encrypted with "secret". */
static const char key_p256_pkcs8[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgxMydH6AezO9Z1lRL\n"
    "4mQ2wSEceYa0ZweWN/YqxzazBjShRANCAATCwAvZ06w9Xz6/xVdRSu62/NdA3DbR\n"
    "AShGZK7sDncqLq5813441CsOc4wBsH/UwViBDgtGesWFavQik4opSTjC\n"
    "-----END PRIVATE KEY-----\n";

static const char key_p256_params_sec1[] =
    "-----BEGIN EC PARAMETERS-----\n"
    "BggqhkjOPQMBBw==\n"
    "-----END EC PARAMETERS-----\n"
    "-----BEGIN EC PRIVATE KEY-----\n"
    "MHcCAQEEIAGHlcXXU25lJ8dT4wxUPPEVR2540u+BDKqQ5LN+PrhDoAoGCCqGSM49\n"
    "AwEHoUQDQgAEE2dqTtSh8MBuaFEd+Drgg/ouYx5JzSga1DMGdnEsXQMimD6pV8iD\n"
    "esk3ZbHCPn+zo0TyEoI64h4oGNAm8qGIKA==\n"
    "-----END EC PRIVATE KEY-----\n";

static const char key_explicit[] =
    "-----BEGIN EC PRIVATE KEY-----\n"
    "MIIBaAIBAQQgOgBfsdKRIABb2uSIAvMEqdNFUQsAW1LDZXL6+TnMLBWggfowgfcC\n"
    "AQEwLAYHKoZIzj0BAQIhAP////8AAAABAAAAAAAAAAAAAAAA////////////////\n"
    "MFsEIP////8AAAABAAAAAAAAAAAAAAAA///////////////8BCBaxjXYqjqT57Pr\n"
    "vVV2mIa8ZR0GsMxTsPY7zjw+J9JgSwMVAMSdNgiG5wSTamZ44ROdJreBn36QBEEE\n"
    "axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpZP40Li/hp/m47n60p8D54W\n"
    "K84zV2sxXs7LtkBoN79R9QIhAP////8AAAAA//////////+85vqtpxeehPO5ysL8\n"
    "YyVRAgEBoUQDQgAE90SO8gKNHW1jFYIFYO2YZe5DW5VU4n+cOZgdYCEu3awY4DWd\n"
    "qqhympLpyM7P8pzLN2S1t+RgiBlT0W0bQOPqxQ==\n"
    "-----END EC PRIVATE KEY-----\n";

static const char key_p384[] = "-----BEGIN EC PRIVATE KEY-----\n"
                               "MIGkAgEBBDD9vwJ2ExjB9h6Gu9Clx7YPlg59N/r9FoZ+ww5iamKnymDfppiOw/U2\n"
                               "a6NzRExrj12gBwYFK4EEACKhZANiAAQGOVI9bseqbqNhmO1OZ4NmmdEp5ulPLTWq\n"
                               "F9RY6SyFES6l2EZbDSyWShA27WuTF9c8Dy6rdV1Iooc3qQLYuBFEyRWiOWNDtyho\n"
                               "XinOkfJYBBMjV1W2s367/FtclN+g3RQ=\n"
                               "-----END EC PRIVATE KEY-----\n";

static const char key_k1[] = "-----BEGIN EC PRIVATE KEY-----\n"
                             "MHQCAQEEIHhMZWJspQvLGG99ovEc2+gYPXln5VIk1qJ/J2klP1fEoAcGBSuBBAAK\n"
                             "oUQDQgAEJ/9bJY9omzfqmsStHoaE8/V/HYKz5d6ksaLuuy1kWKRMlTf1qqBFn1+x\n"
                             "PSkMCjf7x1q9d+Hff7r7balBv0Y14g==\n"
                             "-----END EC PRIVATE KEY-----\n";

static const char key_ed[] = "-----BEGIN PRIVATE KEY-----\n"
                             "MC4CAQAwBQYDK2VwBCIEIKALcpWfABBzVmpD9dYsW+wB1++ZRVr8v/XtyM3gv/Dm\n"
                             "-----END PRIVATE KEY-----\n";

static const char key_rsa[] = "-----BEGIN PRIVATE KEY-----\n"
                              "MIICeAIBADANBgkqhkiG9w0BAQEFAASCAmIwggJeAgEAAoGBAOA1bmKkyKrCWSaD\n"
                              "FjiE+qVDtwCsePXE/ovLY5DHmoPz86U0kJIx/b+nh7S+gsM4fabtaXjlfcYqmru1\n"
                              "6DDEQqcvV63Rdpqt4CX/sULO2NxaMJdWeNyPvx910oVPTWOMVvCfOdMw8rGmt9gJ\n"
                              "j4HqpAt9XAfERKYLOR/s/HzrHinZAgMBAAECgYEAm9koMNNgVSog9B88q+7rl0MZ\n"
                              "ixNYRWY4lg272OCWbFB/tP9z2tt7CeS29RFULcUvun/ex9Wl9sCYrBBHJNbXiLfT\n"
                              "U9FvzkK7qQju9uedM+aZ9Ars39enNFH0VzyISzOrnA+iK0SNx3yRcPecy4MgRG8Y\n"
                              "o3WiY6iUlrX9u074560CQQDwHppueRnUqBlDAqqZxUlvjc5tqnEQS1DpnMZ9VoRO\n"
                              "DQVzjEN2PJU2rXcW/lOvvdSJH8rbJw/l6Pmc569PAHV7AkEA7wlyN+sUEqg5N+K9\n"
                              "U7gslFeom9XcjiRF5q0FGW/S4tTEzHshwuYaIbWpF2Ywqe6kEUEhJImxwUK77N7m\n"
                              "AY87uwJAV/Vt7r/vxWWac2Cbq96IKxQQJT4FUsm0Jw9l6m3x40GD2LLt13cT1cav\n"
                              "VD3v2/W20FBUF/l0Km0wWtjH8DGj1wJBAKEi+gcuBksJcgD1bXGJXyvk57mdcl+z\n"
                              "nheBnUVnd38HtV6uxrSOzyDYSBOJBNcZEyq6f/AUjmpcZTipjd2RQ88CQQCSe8dV\n"
                              "I7YXRqlHJtyfVFZvzT9HEcsmYV4w9ooUHzJYSD9+jm8LAxWnPEmnTPlwzj8nSIl/\n"
                              "k93L6x1hP2PDBJ7t\n"
                              "-----END PRIVATE KEY-----\n";

static const char key_enc[] = "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
                              "MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAgZqhrCXppJxAICCAAw\n"
                              "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEAQIEEGtY8O28Ti3o/G80aIe2QBkEgZD7\n"
                              "U9dQYYiM07REzwsowOSceOhCyPqQn91uhAX7METpGdghM3kvBzMFdaLfsDpHpwiQ\n"
                              "jWavTijlvRwgUoolskBX15c/zBL8QNC7lb6Ojg5QGxEvwcp0COufB1nZ1l8Vd7ZB\n"
                              "NeX1euglXAe1zstxUy+k4uD15nuobAmo1VzT8lL/01h4+sM/WehV5zM7kBfkdR0=\n"
                              "-----END ENCRYPTED PRIVATE KEY-----\n";

static pbft_status_t load_text(const char *name, const char *text, char *err, size_t err_size) {
    char path[128];
    tmp_path(path, sizeof(path), name);
    unlink(path);
    write_file(path, text, 0600);
    crypto_key_t *key = NULL;
    pbft_status_t status = crypto_key_load(path, &key, err, err_size);
    if (status == PBFT_OK) {
        assert_non_null(key);
        uint8_t pub[PBFT_PUBKEY_SIZE], digest[PBFT_HASH_SIZE], sig[PBFT_SIGNATURE_SIZE];
        crypto_key_public(key, pub);
        crypto_sha256(name, strlen(name), digest);
        assert_int_equal(crypto_sign_digest(key, digest, sig), PBFT_OK);
        assert_int_equal(crypto_verify_digest(pub, digest, sig), PBFT_OK);
        crypto_key_free(key);
    } else {
        assert_null(key);
    }
    return status;
}

static void test_key_load_accepts_openssl_cli_p256_keys(void **state) {
    (void)state;
    char err[256] = "";
    assert_int_equal(load_text("pkcs8.pem", key_p256_pkcs8, err, sizeof(err)), PBFT_OK);
    assert_int_equal(load_text("params.pem", key_p256_params_sec1, err, sizeof(err)), PBFT_OK);
}

static void test_key_load_refuses_other_curves_algorithms_and_encryption(void **state) {
    (void)state;
    static const struct {
        const char *name;
        const char *text;
    } refused[] = {
        {"explicit.pem", key_explicit},
        {"p384.pem", key_p384},
        {"k1.pem", key_k1},
        {"ed.pem", key_ed},
        {"rsa.pem", key_rsa},
        {"enc.pem", key_enc},
    };
    for (size_t i = 0; i < PBFT_ARRAY_COUNT(refused); i++) {
        char err[256] = "";
        assert_int_equal(load_text(refused[i].name, refused[i].text, err, sizeof(err)),
                         PBFT_ERR_BAD_KEY);
        assert_non_null(strstr(err, refused[i].name));
    }
}

static void test_key_load_refuses_leading_text_and_non_files(void **state) {
    (void)state;
    char text[1024];
    snprintf(text, sizeof(text), "comment\n%s", key_p256_pkcs8);
    char err[256] = "";
    assert_int_equal(load_text("leading.pem", text, err, sizeof(err)), PBFT_ERR_BAD_KEY);
    /* Concatenated keys: the second is trailing data. */
    snprintf(text, sizeof(text), "%s%s", key_p256_pkcs8, key_p256_pkcs8);
    assert_int_equal(load_text("two.pem", text, err, sizeof(err)), PBFT_ERR_BAD_KEY);

    crypto_key_t *key = NULL;
    char path[128];
    tmp_path(path, sizeof(path), "fifo.pem");
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(crypto_key_load(path, &key, err, sizeof(err)), PBFT_ERR_BAD_KEY);
    assert_non_null(strstr(err, "not a regular file"));
    tmp_path(path, sizeof(path), "dir.pem");
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(crypto_key_load(path, &key, err, sizeof(err)), PBFT_ERR_BAD_KEY);
    assert_null(key);
}

static void test_key_save_into_missing_directory_fails_cleanly(void **state) {
    (void)state;
    crypto_key_t *key = crypto_key_generate();
    assert_non_null(key);
    char path[128];
    tmp_path(path, sizeof(path), "no/such/dir/key.pem");
    assert_int_equal(crypto_key_save(key, path), PBFT_ERR_IO);
    assert_int_equal(crypto_key_save(key, ""), PBFT_ERR_ARGUMENT);
    crypto_key_free(key);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_known_answers),
        cmocka_unit_test(test_sha256_incremental_million_a),
        cmocka_unit_test(test_sha256_incremental_matches_one_shot),
        cmocka_unit_test(test_hex_round_trip),
        cmocka_unit_test(test_hex_decode_rejects_bad_input_and_leaves_output),
        cmocka_unit_test(test_equal_ct_and_wipe),
        cmocka_unit_test(test_domain_hash_layout),
        cmocka_unit_test(test_verify_rfc6979_known_answer),
        cmocka_unit_test(test_sign_verify_round_trip_low_s),
        cmocka_unit_test(test_tampered_digest_signature_or_key_rejected),
        cmocka_unit_test(test_high_s_raw_accepts_policy_rejects),
        cmocka_unit_test(test_low_s_boundary_is_half_the_order),
        cmocka_unit_test(test_signature_scalars_out_of_range_rejected),
        cmocka_unit_test(test_invalid_public_keys_rejected),
        cmocka_unit_test(test_domain_separation_tag_and_chain),
        cmocka_unit_test(test_address_known_answer),
        cmocka_unit_test(test_key_cache_counts_hits_and_misses),
        cmocka_unit_test(test_key_cache_counts_distinct_keys),
        cmocka_unit_test(test_concurrent_verification_is_correct),
        cmocka_unit_test(test_concurrent_signing_with_one_key),
        cmocka_unit_test(test_key_save_is_0600_exclusive_and_loads_back),
        cmocka_unit_test(test_key_load_refuses_group_readable_file),
        cmocka_unit_test(test_key_load_rejects_garbage_cleanly),
        cmocka_unit_test(test_key_load_accepts_sec1_and_rejects_trailing_data),
        cmocka_unit_test(test_key_load_accepts_openssl_cli_p256_keys),
        cmocka_unit_test(test_key_load_refuses_other_curves_algorithms_and_encryption),
        cmocka_unit_test(test_key_load_refuses_leading_text_and_non_files),
        cmocka_unit_test(test_key_save_into_missing_directory_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
