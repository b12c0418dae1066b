/*
 * crypto/internal.h — what the files of crypto/ share with each other and
 * with nobody else. This is the only header that names OpenSSL types; it is
 * not installed and no file outside crypto/ may include it.
 */
#ifndef PBFT_CRYPTO_INTERNAL_H
#define PBFT_CRYPTO_INTERNAL_H

#ifndef OPENSSL_SUPPRESS_DEPRECATED
#define OPENSSL_SUPPRESS_DEPRECATED 1
#endif

#include <openssl/ec.h>

#include "pbft/crypto.h"

#define CRYPTO_SCALAR_SIZE 32 /* bytes of r, s, a private key, a coordinate */

struct crypto_key {
    EC_KEY *ec;                       /* owns one reference; has the private key */
    uint8_t pubkey[PBFT_PUBKEY_SIZE]; /* compressed public key, computed once */
};

/* The P-256 group, created once and shared read-only by every thread. */
const EC_GROUP *crypto_p256_group(void);
/* Big-endian group order n and floor(n/2), 32 bytes each. */
const uint8_t *crypto_p256_order_bytes(void);
const uint8_t *crypto_p256_half_order_bytes(void);

/* Decodes a compressed key into a new point; NULL when the bytes are not a
 * point on P-256. Does not touch the cache. */
EC_POINT *crypto_pubkey_decode(const uint8_t pubkey[PBFT_PUBKEY_SIZE]);

/* Makes pubkey the public key of ec (an EC_KEY on P-256 owned by the
 * calling thread), taking the decoded point from the shared cache or
 * decoding and inserting it. PBFT_ERR_BAD_KEY when the bytes are not a point
 * on P-256 (never cached); ec is then unchanged. */
PBFT_MUST_USE pbft_status_t crypto_key_cache_load(const uint8_t pubkey[PBFT_PUBKEY_SIZE],
                                                  EC_KEY *ec);

/* Verifies r||s (already checked to lie in [1, n-1]) with a decoded key. */
PBFT_MUST_USE pbft_status_t crypto_verify_with_ec_key(EC_KEY *ec,
                                                      const uint8_t digest[PBFT_HASH_SIZE],
                                                      const uint8_t sig[PBFT_SIGNATURE_SIZE]);

/* Wraps an EC_KEY holding a private key on P-256; takes ownership of ec.
 * Computes the public key when it is missing. NULL when ec is unusable. */
crypto_key_t *crypto_key_from_ec(EC_KEY *ec);

#endif /* PBFT_CRYPTO_INTERNAL_H */
