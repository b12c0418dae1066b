/*
 * tests/unit/crypto_wycheproof_test.c — conformance of our ECDSA P-256
 * verifier against Project Wycheproof: $PBFT_VECTORS_DIR/wycheproof/ when set,
 * else ../shared/vectors/wycheproof/, else the copy in tests/unit/crypto_vectors/
 * (relative to the repository root, where the tests run).
 *
 * P1363 file (r||s, our wire form): the raw verifier accepts all 173 valid
 * and rejects all 89 invalid vectors; the policy verifier rejects exactly the
 * 70 valid ones with s > n/2 as PBFT_ERR_HIGH_S and accepts the other 103.
 * DER file: through crypto_sig_from_der, all 174 valid accepted, all 310
 * invalid rejected (by the strict decoder or by the verifier).
 *
 * Missing vectors are a failure, not a skip, unless PBFT_SKIP_VECTORS=1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <jansson.h>
#include <string.h>
#include <sys/stat.h>

#include "pbft/crypto.h"

#define VECTOR_SIG_SIZE_MAX 8192
#define VECTOR_MSG_SIZE_MAX 4096

typedef struct vector_counts {
    int valid_accepted;
    int valid_rejected;
    int invalid_rejected;
    int invalid_accepted;
    int invalid_rejected_by_form; /* length (P1363) or strict DER */
    int policy_high_s;            /* valid, policy said PBFT_ERR_HIGH_S */
    int policy_ok;                /* valid, policy said PBFT_OK */
    int policy_other;             /* valid, policy said anything else */
    int valid_high_s;             /* valid vectors whose s > n/2 */
} vector_counts_t;

static bool skip_vectors(void) {
    const char *skip = getenv("PBFT_SKIP_VECTORS");
    return skip != NULL && strcmp(skip, "1") == 0;
}

static bool is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* $PBFT_VECTORS_DIR when set (and then only it), else the shared checkout
 * beside the repository, else the copy vendored in the repository. */
static void vector_path(const char *file, char *out, size_t size) {
    const char *dir = getenv("PBFT_VECTORS_DIR");
    if (dir == NULL || dir[0] == '\0') {
        dir = is_dir("../shared/vectors/wycheproof") ? "../shared/vectors"
                                                     : "tests/unit/crypto_vectors";
    }
    snprintf(out, size, "%s/wycheproof/%s", dir, file);
}

/* NULL (after printing why) when the file is missing and skipping is allowed;
 * fails the test when it is missing otherwise. */
static json_t *load_vectors(const char *file) {
    char path[1024];
    vector_path(file, path, sizeof(path));
    struct stat st;
    if (stat(path, &st) != 0) {
        if (skip_vectors()) {
            print_message("SKIPPED: %s not found and PBFT_SKIP_VECTORS=1\n", path);
            return NULL;
        }
        fail_msg("Wycheproof vectors not found at %s (run from the repository root, set "
                 "PBFT_VECTORS_DIR to the directory holding wycheproof/, or set "
                 "PBFT_SKIP_VECTORS=1 to skip)",
                 path);
    }
    json_error_t error;
    json_t *root = json_load_file(path, 0, &error);
    if (root == NULL) fail_msg("cannot parse %s: %s (line %d)", path, error.text, error.line);
    return root;
}

/* Decodes a hex string field into out; returns the byte count. */
static size_t hex_field(json_t *obj, const char *key, uint8_t *out, size_t size_max) {
    const char *hex = json_string_value(json_object_get(obj, key));
    assert_non_null(hex);
    size_t len = strlen(hex);
    assert_true(len % 2 == 0 && len / 2 <= size_max);
    assert_int_equal(crypto_hex_decode(hex, len, out, len / 2), PBFT_OK);
    return len / 2;
}

/* 04||x||y -> 02/03||x */
static void group_pubkey(json_t *group, uint8_t pub[PBFT_PUBKEY_SIZE]) {
    uint8_t raw[65];
    json_t *pk = json_object_get(group, "publicKey");
    assert_non_null(pk);
    assert_int_equal(hex_field(pk, "uncompressed", raw, sizeof(raw)), 65);
    assert_int_equal(raw[0], 0x04);
    pub[0] = (uint8_t)(0x02 | (raw[64] & 1));
    memcpy(pub + 1, raw + 1, 32);
}

typedef pbft_status_t (*sig_decoder_t)(const uint8_t *bytes, size_t size,
                                       uint8_t sig[PBFT_SIGNATURE_SIZE]);

static pbft_status_t p1363_decode(const uint8_t *bytes, size_t size,
                                  uint8_t sig[PBFT_SIGNATURE_SIZE]) {
    if (size != PBFT_SIGNATURE_SIZE) return PBFT_ERR_MALFORMED;
    memcpy(sig, bytes, PBFT_SIGNATURE_SIZE);
    return PBFT_OK;
}

static void run_one(json_t *test, const uint8_t pub[PBFT_PUBKEY_SIZE], sig_decoder_t decode,
                    vector_counts_t *c) {
    static uint8_t msg[VECTOR_MSG_SIZE_MAX];
    uint8_t raw_sig[VECTOR_SIG_SIZE_MAX], sig[PBFT_SIGNATURE_SIZE], digest[PBFT_HASH_SIZE];
    const char *result = json_string_value(json_object_get(test, "result"));
    assert_non_null(result);
    bool valid = strcmp(result, "valid") == 0;
    assert_true(valid || strcmp(result, "invalid") == 0); /* no "acceptable" in these files */
    size_t msg_size = hex_field(test, "msg", msg, sizeof(msg));
    size_t sig_size = hex_field(test, "sig", raw_sig, sizeof(raw_sig));
    crypto_sha256(msg, msg_size, digest);
    long id = (long)json_integer_value(json_object_get(test, "tcId"));

    pbft_status_t status = decode(raw_sig, sig_size, sig);
    if (status != PBFT_OK) {
        if (valid) print_message("tcId %ld: valid signature refused by the decoder\n", id);
        valid ? c->valid_rejected++ : (c->invalid_rejected++, c->invalid_rejected_by_form++);
        return;
    }
    status = crypto_verify_digest_raw(pub, digest, sig);
    if (valid && status != PBFT_OK) {
        print_message("tcId %ld: valid signature rejected (%s)\n", id, pbft_status_name(status));
    }
    if (!valid && status == PBFT_OK) print_message("tcId %ld: invalid signature accepted\n", id);
    if (valid) {
        status == PBFT_OK ? c->valid_accepted++ : c->valid_rejected++;
        if (!crypto_signature_is_low_s(sig)) c->valid_high_s++;
        pbft_status_t policy = crypto_verify_digest(pub, digest, sig);
        if (policy == PBFT_OK)
            c->policy_ok++;
        else if (policy == PBFT_ERR_HIGH_S)
            c->policy_high_s++;
        else
            c->policy_other++;
    } else {
        status == PBFT_OK ? c->invalid_accepted++ : c->invalid_rejected++;
        /* The policy layer is stricter than raw, never looser. */
        assert_int_not_equal(crypto_verify_digest(pub, digest, sig), PBFT_OK);
    }
}

static bool run_file(const char *file, sig_decoder_t decode, vector_counts_t *c) {
    json_t *root = load_vectors(file);
    if (root == NULL) return false;
    memset(c, 0, sizeof(*c));
    json_t *groups = json_object_get(root, "testGroups");
    assert_true(json_is_array(groups));
    size_t gi;
    json_t *group;
    json_array_foreach(groups, gi, group) {
        uint8_t pub[PBFT_PUBKEY_SIZE];
        group_pubkey(group, pub);
        assert_true(crypto_pubkey_valid(pub));
        size_t ti;
        json_t *test;
        json_array_foreach(json_object_get(group, "tests"), ti, test) {
            run_one(test, pub, decode, c);
        }
    }
    int total = c->valid_accepted + c->valid_rejected + c->invalid_accepted + c->invalid_rejected;
    assert_int_equal(total, (int)json_integer_value(json_object_get(root, "numberOfTests")));
    json_decref(root);
    print_message("%s: valid accepted %d/%d, invalid rejected %d/%d (%d by form), policy: %d ok, "
                  "%d high-s, %d other\n",
                  file, c->valid_accepted, c->valid_accepted + c->valid_rejected,
                  c->invalid_rejected, c->invalid_rejected + c->invalid_accepted,
                  c->invalid_rejected_by_form, c->policy_ok, c->policy_high_s, c->policy_other);
    return true;
}

static void test_wycheproof_p1363_raw_and_policy(void **state) {
    (void)state;
    vector_counts_t c;
    if (!run_file("ecdsa_secp256r1_sha256_p1363_test.json", p1363_decode, &c)) skip();
    assert_int_equal(c.valid_accepted, 173);
    assert_int_equal(c.valid_rejected, 0);
    assert_int_equal(c.invalid_rejected, 89);
    assert_int_equal(c.invalid_accepted, 0);
    assert_int_equal(c.valid_high_s, 70);
    assert_int_equal(c.policy_high_s, 70);
    assert_int_equal(c.policy_ok, 103);
    assert_int_equal(c.policy_other, 0);
}

static void test_wycheproof_der_strict(void **state) {
    (void)state;
    vector_counts_t c;
    if (!run_file("ecdsa_secp256r1_sha256_test.json", crypto_sig_from_der, &c)) skip();
    assert_int_equal(c.valid_accepted, 174);
    assert_int_equal(c.valid_rejected, 0);
    assert_int_equal(c.invalid_rejected, 310);
    assert_int_equal(c.invalid_accepted, 0);
    assert_int_equal(c.valid_high_s, 71);
    assert_int_equal(c.policy_high_s, 71);
    assert_int_equal(c.policy_ok, 103);
    assert_int_equal(c.policy_other, 0);
}

static void test_der_decoder_known_forms(void **state) {
    (void)state;
    uint8_t sig[PBFT_SIGNATURE_SIZE];
    /* r = 1, s = 0x80 (needs a 0x00 pad). */
    static const uint8_t good[] = {0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x02, 0x00, 0x80};
    assert_int_equal(crypto_sig_from_der(good, sizeof(good), sig), PBFT_OK);
    assert_int_equal(sig[31], 1);
    assert_int_equal(sig[63], 0x80);
    assert_int_equal(sig[62], 0);
    static const uint8_t padded[] = {0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01};
    assert_int_equal(crypto_sig_from_der(padded, sizeof(padded), sig), PBFT_ERR_MALFORMED);
    static const uint8_t negative[] = {0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01};
    assert_int_equal(crypto_sig_from_der(negative, sizeof(negative), sig), PBFT_ERR_MALFORMED);
    static const uint8_t long_len[] = {0x30, 0x81, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01};
    assert_int_equal(crypto_sig_from_der(long_len, sizeof(long_len), sig), PBFT_ERR_MALFORMED);
    static const uint8_t trailing[] = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00};
    assert_int_not_equal(crypto_sig_from_der(trailing, sizeof(trailing), sig), PBFT_OK);
    static const uint8_t inner_trailing[] = {0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00};
    assert_int_not_equal(crypto_sig_from_der(inner_trailing, sizeof(inner_trailing), sig), PBFT_OK);
    static const uint8_t truncated[] = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x02, 0x01};
    assert_int_not_equal(crypto_sig_from_der(truncated, sizeof(truncated), sig), PBFT_OK);
    static const uint8_t empty_int[] = {0x30, 0x05, 0x02, 0x00, 0x02, 0x01, 0x01};
    assert_int_not_equal(crypto_sig_from_der(empty_int, sizeof(empty_int), sig), PBFT_OK);
    /* Every truncation of a good encoding is refused. */
    for (size_t n = 0; n < sizeof(good); n++) {
        assert_int_not_equal(crypto_sig_from_der(good, n, sig), PBFT_OK);
    }
}

/* Minimal DER of r||s: the one encoding a strict decoder may accept. */
static size_t der_encode(const uint8_t sig[PBFT_SIGNATURE_SIZE], uint8_t out[72]) {
    size_t pos = 2;
    for (int half = 0; half < 2; half++) {
        const uint8_t *v = sig + 32 * half;
        size_t skip = 0;
        while (skip < 31 && v[skip] == 0)
            skip++;
        size_t len = 32 - skip;
        bool pad = (v[skip] & 0x80) != 0;
        out[pos++] = 0x02;
        out[pos++] = (uint8_t)(len + pad);
        if (pad) out[pos++] = 0x00;
        memcpy(out + pos, v + skip, len);
        pos += len;
    }
    out[0] = 0x30;
    out[1] = (uint8_t)(pos - 2);
    return pos;
}

/* Accepted input == the minimal encoding of what it decoded to. */
static void assert_der_canonical(const uint8_t *der, size_t size, int *accepted) {
    uint8_t sig[PBFT_SIGNATURE_SIZE], again[72];
    if (crypto_sig_from_der(der, size, sig) != PBFT_OK) return;
    (*accepted)++;
    size_t n = der_encode(sig, again);
    assert_int_equal(n, size);
    assert_memory_equal(again, der, size);
}

static void test_der_decoder_accepts_only_canonical_encodings(void **state) {
    (void)state;
    json_t *root = load_vectors("ecdsa_secp256r1_sha256_test.json");
    if (root == NULL) skip();
    int accepted = 0;
    int mutants = 0;
    size_t gi;
    json_t *group;
    json_array_foreach(json_object_get(root, "testGroups"), gi, group) {
        size_t ti;
        json_t *test;
        json_array_foreach(json_object_get(group, "tests"), ti, test) {
            static uint8_t der[VECTOR_SIG_SIZE_MAX];
            size_t size = hex_field(test, "sig", der, sizeof(der));
            assert_der_canonical(der, size, &accepted);
            if (size > 80) continue;
            /* Every byte of every short vector, set to a few telling values. */
            static const uint8_t values[] = {0x00, 0x01, 0x7f, 0x80, 0x81, 0xff};
            for (size_t i = 0; i < size; i++) {
                uint8_t saved = der[i];
                for (size_t v = 0; v < sizeof(values); v++) {
                    der[i] = values[v];
                    assert_der_canonical(der, size, &mutants);
                }
                der[i] = saved;
            }
        }
    }
    json_decref(root);
    print_message("DER: %d vectors and %d mutants accepted, all canonical\n", accepted, mutants);
    assert_true(accepted >= 174);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_der_decoder_known_forms),
        cmocka_unit_test(test_wycheproof_p1363_raw_and_policy),
        cmocka_unit_test(test_wycheproof_der_strict),
        cmocka_unit_test(test_der_decoder_accepts_only_canonical_encodings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
