/*
 * crypto/hex.c — lowercase hex, constant-time comparison and wiping.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "pbft/crypto.h"

void crypto_hex_encode(const uint8_t *data, size_t size, char *out) {
    static const char digits[] = "0123456789abcdef";
    PBFT_ASSERT(out != NULL);
    PBFT_ASSERT(data != NULL || size == 0);
    for (size_t i = 0; i < size; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 0x0f];
    }
    out[2 * size] = '\0';
}

#define HEX_INVALID 0xffu

/* The value of a hex digit, or HEX_INVALID for anything else (NUL too). */
static unsigned hex_digit_value(char c) {
    if (c >= '0' && c <= '9') return (unsigned)(c - '0');
    if (c >= 'a' && c <= 'f') return (unsigned)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return (unsigned)(c - 'A' + 10);
    return HEX_INVALID;
}

/*
 * Input comes from users and peers, so every failure is a status. The output
 * is written only after the whole input has been checked, so a failure leaves
 * out untouched as crypto.h promises.
 */
pbft_status_t crypto_hex_decode(const char *hex, size_t hex_len, uint8_t *out, size_t out_size) {
    if (hex == NULL || (out == NULL && out_size != 0)) return PBFT_ERR_ARGUMENT;
    if (out_size > SIZE_MAX / 2 || hex_len != 2 * out_size) return PBFT_ERR_MALFORMED;
    for (size_t i = 0; i < hex_len; i++) {
        if (hex_digit_value(hex[i]) == HEX_INVALID) return PBFT_ERR_MALFORMED;
    }
    for (size_t i = 0; i < out_size; i++) {
        unsigned hi = hex_digit_value(hex[2 * i]);
        unsigned lo = hex_digit_value(hex[2 * i + 1]);
        PBFT_ASSERT(hi < 16 && lo < 16);
        out[i] = (uint8_t)((hi << 4) | lo);
    }
    return PBFT_OK;
}

bool crypto_equal_ct(const void *a, const void *b, size_t size) {
    PBFT_ASSERT((a != NULL && b != NULL) || size == 0);
    if (size == 0) return true;
    return CRYPTO_memcmp(a, b, size) == 0;
}

void crypto_wipe(void *data, size_t size) {
    if (data == NULL || size == 0) return;
    OPENSSL_cleanse(data, size);
}
