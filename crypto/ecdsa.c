/*
 * crypto/ecdsa.c — ECDSA over P-256: key generation, low-S signing, and
 * verification of fixed 64-byte r||s signatures.
 *
 * We use OpenSSL's EC_KEY/ECDSA_do_* layer rather than EVP: verification with
 * an already decoded EC_KEY skips the per-call key parsing and provider
 * fetches that EVP_DigestVerify pays, and that is the node's hottest path.
 * Everything here is thread-safe: the group is shared read-only, every BN_CTX
 * is per call, each thread verifies with its own EC_KEY, and the decoded-key
 * cache copies points out under its locks (see keycache.c).
 */
#include "internal.h"

#include <pthread.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>

static pthread_once_t p256_once = PTHREAD_ONCE_INIT;
static EC_GROUP *p256_group;
static uint8_t p256_order[CRYPTO_SCALAR_SIZE];
static uint8_t p256_half_order[CRYPTO_SCALAR_SIZE];

static void p256_init(void) {
    p256_group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    PBFT_ASSERT(p256_group != NULL);
    EC_GROUP_set_asn1_flag(p256_group, OPENSSL_EC_NAMED_CURVE);
    EC_GROUP_set_point_conversion_form(p256_group, POINT_CONVERSION_COMPRESSED);

    BIGNUM *half = BN_dup(EC_GROUP_get0_order(p256_group));
    PBFT_ASSERT(half != NULL);
    PBFT_ASSERT(BN_bn2binpad(EC_GROUP_get0_order(p256_group), p256_order, CRYPTO_SCALAR_SIZE) ==
                CRYPTO_SCALAR_SIZE);
    PBFT_ASSERT(BN_rshift1(half, half) == 1);
    PBFT_ASSERT(BN_bn2binpad(half, p256_half_order, CRYPTO_SCALAR_SIZE) == CRYPTO_SCALAR_SIZE);
    BN_free(half);
    PBFT_ASSERT(p256_order[0] == 0xff && p256_half_order[0] == 0x7f);
}

const EC_GROUP *crypto_p256_group(void) {
    PBFT_ASSERT(pthread_once(&p256_once, p256_init) == 0);
    return p256_group;
}

const uint8_t *crypto_p256_order_bytes(void) {
    (void)crypto_p256_group();
    return p256_order;
}

const uint8_t *crypto_p256_half_order_bytes(void) {
    (void)crypto_p256_group();
    return p256_half_order;
}

/* Big-endian comparison of two 32-byte scalars. Not constant time: only
 * public values (signatures, the order) go through it. */
static int scalar_compare(const uint8_t a[CRYPTO_SCALAR_SIZE],
                          const uint8_t b[CRYPTO_SCALAR_SIZE]) {
    return memcmp(a, b, CRYPTO_SCALAR_SIZE);
}

static bool scalar_is_zero(const uint8_t a[CRYPTO_SCALAR_SIZE]) {
    uint8_t acc = 0;
    for (size_t i = 0; i < CRYPTO_SCALAR_SIZE; i++)
        acc |= a[i];
    return acc == 0;
}

/* r and s in [1, n-1]. */
static bool signature_in_range(const uint8_t sig[PBFT_SIGNATURE_SIZE]) {
    const uint8_t *order = crypto_p256_order_bytes();
    const uint8_t *r = sig;
    const uint8_t *s = sig + CRYPTO_SCALAR_SIZE;
    if (scalar_is_zero(r) || scalar_is_zero(s)) return false;
    return scalar_compare(r, order) < 0 && scalar_compare(s, order) < 0;
}

bool crypto_signature_is_low_s(const uint8_t sig[PBFT_SIGNATURE_SIZE]) {
    PBFT_ASSERT(sig != NULL);
    return scalar_compare(sig + CRYPTO_SCALAR_SIZE, crypto_p256_half_order_bytes()) <= 0;
}

/* ------------------------------------------------------------------------ */
/* Public keys                                                                */

EC_POINT *crypto_pubkey_decode(const uint8_t pubkey[PBFT_PUBKEY_SIZE]) {
    PBFT_ASSERT(pubkey != NULL);
    /* Only the two compressed forms: 0x00 (infinity), 0x04 (uncompressed) and
     * the hybrid forms are refused before OpenSSL sees them. */
    if (pubkey[0] != 0x02 && pubkey[0] != 0x03) return NULL;
    const EC_GROUP *group = crypto_p256_group();
    EC_POINT *point = EC_POINT_new(group);
    /* oct2point solves for y and checks the point; the explicit on-curve and
     * infinity checks cost ~1 us and keep us safe from a lenient decoder. */
    bool ok =
        point != NULL && EC_POINT_oct2point(group, point, pubkey, PBFT_PUBKEY_SIZE, NULL) == 1 &&
        EC_POINT_is_at_infinity(group, point) == 0 && EC_POINT_is_on_curve(group, point, NULL) == 1;
    if (!ok) {
        /* Peer bytes: the failure is an answer, not an error to keep. */
        ERR_clear_error();
        EC_POINT_free(point);
        return NULL;
    }
    return point;
}

/*
 * One public-key-only EC_KEY per thread, re-pointed at each verification's
 * key. Sharing one EC_KEY per cached key would cost ~2 KB per entry (each
 * EC_KEY carries its own copy of the group); a point is a few hundred bytes.
 */
static pthread_once_t verifier_once = PTHREAD_ONCE_INIT;
static pthread_key_t verifier_slot;

static void verifier_free(void *ec) {
    EC_KEY_free(ec);
}

static void verifier_init(void) {
    PBFT_ASSERT(pthread_key_create(&verifier_slot, verifier_free) == 0);
}

static EC_KEY *thread_verifier(void) {
    PBFT_ASSERT(pthread_once(&verifier_once, verifier_init) == 0);
    EC_KEY *ec = pthread_getspecific(verifier_slot);
    if (ec != NULL) return ec;
    ec = EC_KEY_new();
    if (ec == NULL || EC_KEY_set_group(ec, crypto_p256_group()) != 1) {
        ERR_clear_error();
        EC_KEY_free(ec);
        return NULL;
    }
    PBFT_ASSERT(pthread_setspecific(verifier_slot, ec) == 0);
    return ec;
}

bool crypto_pubkey_valid(const uint8_t pubkey[PBFT_PUBKEY_SIZE]) {
    PBFT_ASSERT(pubkey != NULL);
    EC_KEY *ec = thread_verifier();
    if (ec == NULL) {
        /* No memory for the verifier: decide without the cache. */
        EC_POINT *point = crypto_pubkey_decode(pubkey);
        bool valid = point != NULL;
        EC_POINT_free(point);
        return valid;
    }
    return crypto_key_cache_load(pubkey, ec) == PBFT_OK;
}

void crypto_address(const uint8_t pubkey[PBFT_PUBKEY_SIZE], uint8_t out[PBFT_ADDRESS_SIZE]) {
    PBFT_ASSERT(pubkey != NULL && out != NULL);
    uint8_t digest[PBFT_HASH_SIZE];
    crypto_sha256(pubkey, PBFT_PUBKEY_SIZE, digest);
    memcpy(out, digest, PBFT_ADDRESS_SIZE);
}

/* ------------------------------------------------------------------------ */
/* Private keys                                                               */

static bool ec_public_compressed(const EC_KEY *ec, uint8_t out[PBFT_PUBKEY_SIZE]) {
    const EC_POINT *point = EC_KEY_get0_public_key(ec);
    if (point == NULL) return false;
    return EC_POINT_point2oct(crypto_p256_group(), point, POINT_CONVERSION_COMPRESSED, out,
                              PBFT_PUBKEY_SIZE, NULL) == PBFT_PUBKEY_SIZE;
}

/* Some SEC1 files omit the public key; derive it as d*G. */
static bool ec_ensure_public(EC_KEY *ec) {
    if (EC_KEY_get0_public_key(ec) != NULL) return true;
    const EC_GROUP *group = EC_KEY_get0_group(ec);
    const BIGNUM *priv = EC_KEY_get0_private_key(ec);
    EC_POINT *point = EC_POINT_new(group);
    bool ok = point != NULL && EC_POINT_mul(group, point, priv, NULL, NULL, NULL) == 1 &&
              EC_KEY_set_public_key(ec, point) == 1;
    EC_POINT_free(point);
    return ok;
}

crypto_key_t *crypto_key_from_ec(EC_KEY *ec) {
    PBFT_ASSERT(ec != NULL);
    const EC_GROUP *group = EC_KEY_get0_group(ec);
    bool ok = group != NULL && EC_GROUP_get_curve_name(group) == NID_X9_62_prime256v1 &&
              EC_KEY_get0_private_key(ec) != NULL && ec_ensure_public(ec) &&
              EC_KEY_check_key(ec) == 1;
    crypto_key_t *key = NULL;
    if (ok) {
        key = pbft_xcalloc(1, sizeof(*key));
        key->ec = ec;
        ok = ec_public_compressed(ec, key->pubkey);
    }
    if (!ok) {
        ERR_clear_error();
        if (key != NULL) key->ec = NULL;
        crypto_key_free(key);
        EC_KEY_free(ec);
        return NULL;
    }
    EC_KEY_set_asn1_flag(ec, OPENSSL_EC_NAMED_CURVE);
    EC_KEY_set_conv_form(ec, POINT_CONVERSION_COMPRESSED);
    return key;
}

crypto_key_t *crypto_key_generate(void) {
    EC_KEY *ec = EC_KEY_new();
    if (ec == NULL || EC_KEY_set_group(ec, crypto_p256_group()) != 1 ||
        EC_KEY_generate_key(ec) != 1) {
        ERR_clear_error();
        EC_KEY_free(ec);
        return NULL;
    }
    return crypto_key_from_ec(ec);
}

void crypto_key_free(crypto_key_t *key) {
    if (key == NULL) return;
    EC_KEY_free(key->ec); /* clears the private scalar before freeing it */
    crypto_wipe(key, sizeof(*key));
    free(key);
}

void crypto_key_public(const crypto_key_t *key, uint8_t out[PBFT_PUBKEY_SIZE]) {
    PBFT_ASSERT(key != NULL && out != NULL);
    memcpy(out, key->pubkey, PBFT_PUBKEY_SIZE);
}

/* ------------------------------------------------------------------------ */
/* Signing                                                                    */

/* Writes r||s, replacing s by n - s when s > n/2 (both are valid for the same
 * r; we only ever emit the low one, and verifiers refuse the high one). */
static bool signature_encode_low_s(const ECDSA_SIG *es, uint8_t sig[PBFT_SIGNATURE_SIZE]) {
    const BIGNUM *r = ECDSA_SIG_get0_r(es);
    const BIGNUM *s = ECDSA_SIG_get0_s(es);
    if (BN_bn2binpad(r, sig, CRYPTO_SCALAR_SIZE) != CRYPTO_SCALAR_SIZE) return false;
    if (BN_bn2binpad(s, sig + CRYPTO_SCALAR_SIZE, CRYPTO_SCALAR_SIZE) != CRYPTO_SCALAR_SIZE)
        return false;
    if (crypto_signature_is_low_s(sig)) return true;
    BIGNUM *low = BN_new();
    bool ok = low != NULL && BN_sub(low, EC_GROUP_get0_order(crypto_p256_group()), s) == 1 &&
              BN_bn2binpad(low, sig + CRYPTO_SCALAR_SIZE, CRYPTO_SCALAR_SIZE) == CRYPTO_SCALAR_SIZE;
    BN_free(low);
    return ok;
}

pbft_status_t crypto_sign_digest(const crypto_key_t *key, const uint8_t digest[PBFT_HASH_SIZE],
                                 uint8_t sig[PBFT_SIGNATURE_SIZE]) {
    PBFT_ASSERT(key != NULL && key->ec != NULL);
    PBFT_ASSERT(digest != NULL && sig != NULL);
    ECDSA_SIG *es = ECDSA_do_sign(digest, PBFT_HASH_SIZE, key->ec);
    uint8_t out[PBFT_SIGNATURE_SIZE];
    bool ok = es != NULL && signature_encode_low_s(es, out);
    ECDSA_SIG_free(es);
    if (!ok) {
        ERR_clear_error();
        return PBFT_ERR_CRYPTO;
    }
    PBFT_ASSERT(signature_in_range(out) && crypto_signature_is_low_s(out));
    memcpy(sig, out, PBFT_SIGNATURE_SIZE);
    return PBFT_OK;
}

pbft_status_t crypto_sign(const crypto_key_t *key, const char *tag,
                          const uint8_t chain_id[PBFT_CHAIN_ID_SIZE], const void *bytes,
                          size_t size, uint8_t sig[PBFT_SIGNATURE_SIZE]) {
    uint8_t digest[PBFT_HASH_SIZE];
    crypto_domain_hash(tag, chain_id, bytes, size, digest);
    return crypto_sign_digest(key, digest, sig);
}

/* ------------------------------------------------------------------------ */
/* Verification                                                               */

pbft_status_t crypto_verify_with_ec_key(EC_KEY *ec, const uint8_t digest[PBFT_HASH_SIZE],
                                        const uint8_t sig[PBFT_SIGNATURE_SIZE]) {
    PBFT_ASSERT(ec != NULL && digest != NULL && sig != NULL);
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, CRYPTO_SCALAR_SIZE, NULL);
    BIGNUM *s = BN_bin2bn(sig + CRYPTO_SCALAR_SIZE, CRYPTO_SCALAR_SIZE, NULL);
    if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
        ECDSA_SIG_free(es);
        BN_free(r);
        BN_free(s);
        ERR_clear_error();
        return PBFT_ERR_CRYPTO;
    }
    int rc = ECDSA_do_verify(digest, PBFT_HASH_SIZE, es, ec);
    ECDSA_SIG_free(es); /* frees r and s */
    if (rc == 1) return PBFT_OK;
    ERR_clear_error();
    return PBFT_ERR_BAD_SIGNATURE;
}

pbft_status_t crypto_verify_digest_raw(const uint8_t pubkey[PBFT_PUBKEY_SIZE],
                                       const uint8_t digest[PBFT_HASH_SIZE],
                                       const uint8_t sig[PBFT_SIGNATURE_SIZE]) {
    PBFT_ASSERT(pubkey != NULL && digest != NULL && sig != NULL);
    EC_KEY *ec = thread_verifier();
    if (ec == NULL) return PBFT_ERR_CRYPTO;
    pbft_status_t status = crypto_key_cache_load(pubkey, ec);
    if (status != PBFT_OK) return status;
    if (!signature_in_range(sig)) return PBFT_ERR_BAD_SIGNATURE;
    return crypto_verify_with_ec_key(ec, digest, sig);
}

pbft_status_t crypto_verify_digest(const uint8_t pubkey[PBFT_PUBKEY_SIZE],
                                   const uint8_t digest[PBFT_HASH_SIZE],
                                   const uint8_t sig[PBFT_SIGNATURE_SIZE]) {
    PBFT_ASSERT(pubkey != NULL && digest != NULL && sig != NULL);
    pbft_status_t status = crypto_verify_digest_raw(pubkey, digest, sig);
    if (status != PBFT_OK) return status;
    /* Checked after the math so a mutated signature of a valid one is named
     * as such (HIGH_S) rather than as a generic bad signature. */
    return crypto_signature_is_low_s(sig) ? PBFT_OK : PBFT_ERR_HIGH_S;
}

pbft_status_t crypto_verify(const uint8_t pubkey[PBFT_PUBKEY_SIZE], const char *tag,
                            const uint8_t chain_id[PBFT_CHAIN_ID_SIZE], const void *bytes,
                            size_t size, const uint8_t sig[PBFT_SIGNATURE_SIZE]) {
    uint8_t digest[PBFT_HASH_SIZE];
    crypto_domain_hash(tag, chain_id, bytes, size, digest);
    return crypto_verify_digest(pubkey, digest, sig);
}
