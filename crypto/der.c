/*
 * crypto/der.c — strict DER ECDSA-Sig-Value to r||s.
 *
 * Hand-written rather than d2i_ECDSA_SIG because OpenSSL's decoder is BER
 * tolerant in places (and re-encoding to compare is slower and easy to get
 * subtly wrong). Every length is checked against the bytes that remain.
 * Input comes from outside, so every failure is a status.
 */
#include <string.h>

#include "pbft/crypto.h"

#define DER_TAG_SEQUENCE 0x30
#define DER_TAG_INTEGER 0x02
#define DER_SCALAR_SIZE 32

/* Reads one INTEGER at der[*pos] into a 32-byte big-endian scalar. */
static pbft_status_t der_read_scalar(const uint8_t *der, size_t size, size_t *pos,
                                     uint8_t out[DER_SCALAR_SIZE]) {
    size_t p = *pos;
    if (size - p < 2) return PBFT_ERR_MALFORMED;
    if (der[p] != DER_TAG_INTEGER) return PBFT_ERR_MALFORMED;
    size_t len = der[p + 1];
    p += 2;
    /* Long-form lengths are never minimal below 128, and a scalar is short. */
    if (len == 0 || len > DER_SCALAR_SIZE + 1 || len > size - p) return PBFT_ERR_MALFORMED;
    const uint8_t *v = der + p;
    size_t end = p + len;
    if (v[0] & 0x80) return PBFT_ERR_MALFORMED;                               /* negative */
    if (len > 1 && v[0] == 0x00 && !(v[1] & 0x80)) return PBFT_ERR_MALFORMED; /* padding */
    if (len == DER_SCALAR_SIZE + 1) {
        if (v[0] != 0x00) return PBFT_ERR_MALFORMED; /* more than 256 bits */
        v++;
        len--;
    }
    memset(out, 0, DER_SCALAR_SIZE);
    memcpy(out + DER_SCALAR_SIZE - len, v, len);
    *pos = end;
    return PBFT_OK;
}

pbft_status_t crypto_sig_from_der(const uint8_t *der, size_t der_size,
                                  uint8_t sig[PBFT_SIGNATURE_SIZE]) {
    PBFT_ASSERT(sig != NULL);
    if (der == NULL || der_size < 2) return PBFT_ERR_MALFORMED;
    if (der[0] != DER_TAG_SEQUENCE) return PBFT_ERR_MALFORMED;
    size_t body = der[1];
    if (body >= 0x80) return PBFT_ERR_MALFORMED; /* long or indefinite form */
    if (body != der_size - 2) return der_size - 2 > body ? PBFT_ERR_TRAILING : PBFT_ERR_TRUNCATED;
    uint8_t out[PBFT_SIGNATURE_SIZE];
    size_t pos = 2;
    pbft_status_t status = der_read_scalar(der, der_size, &pos, out);
    if (status == PBFT_OK) status = der_read_scalar(der, der_size, &pos, out + DER_SCALAR_SIZE);
    if (status != PBFT_OK) return status;
    if (pos != der_size) return PBFT_ERR_TRAILING;
    memcpy(sig, out, sizeof(out));
    return PBFT_OK;
}
