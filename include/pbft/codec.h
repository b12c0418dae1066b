/*
 * pbft/codec.h — the canonical binary codec.
 *
 * Rules for every format (docs/FORMATS.md documents each byte by byte):
 *  - integers little-endian, fixed width; lengths explicit;
 *  - exactly one valid encoding per value: reserved fields must be zero,
 *    lists that are sets must be strictly sorted, bools are 0 or 1;
 *  - decoders bound every length by the remaining bytes and by the named
 *    limits in pbft/common.h, and reject trailing bytes;
 *  - hashes and signatures are computed over these bytes only.
 *
 * The writer and reader below are the primitives every format is built from
 * (ledger types here, PBFT messages in pbft/messages.h).
 */
#ifndef PBFT_CODEC_H
#define PBFT_CODEC_H

#include <string.h>

#include "pbft/common.h"
#include "pbft/types.h"

/* ------------------------------------------------------------------------ */
/* Writer: appends to a caller-provided buffer. Overflow is sticky: once a   */
/* write does not fit, `failed` is set and later writes are ignored.         */

typedef struct codec_writer {
    uint8_t *data;
    size_t size;
    size_t capacity;
    bool failed;
} codec_writer_t;

static inline void codec_writer_init(codec_writer_t *w, uint8_t *data, size_t capacity) {
    w->data = data;
    w->size = 0;
    w->capacity = capacity;
    w->failed = false;
}

static inline void codec_put_bytes(codec_writer_t *w, const void *bytes, size_t size) {
    if (w->failed || size > w->capacity - w->size) {
        w->failed = true;
        return;
    }
    if (size) memcpy(w->data + w->size, bytes, size);
    w->size += size;
}

static inline void codec_put_u8(codec_writer_t *w, uint8_t v) {
    codec_put_bytes(w, &v, 1);
}

static inline void codec_put_u16(codec_writer_t *w, uint16_t v) {
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    codec_put_bytes(w, b, 2);
}

static inline void codec_put_u32(codec_writer_t *w, uint32_t v) {
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    codec_put_bytes(w, b, 4);
}

static inline void codec_put_u64(codec_writer_t *w, uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    codec_put_bytes(w, b, 8);
}

/* ------------------------------------------------------------------------ */
/* Reader: consumes a borrowed buffer. The first failure is sticky and is    */
/* what codec_reader_status() reports; reads after it return zeros.         */

typedef struct codec_reader {
    const uint8_t *data;
    size_t size;
    size_t offset;
    pbft_status_t status;
} codec_reader_t;

static inline void codec_reader_init(codec_reader_t *r, const void *data, size_t size) {
    r->data = (const uint8_t *)data;
    r->size = size;
    r->offset = 0;
    r->status = PBFT_OK;
}

static inline size_t codec_remaining(const codec_reader_t *r) {
    return r->size - r->offset;
}

static inline void codec_fail(codec_reader_t *r, pbft_status_t status) {
    if (r->status == PBFT_OK) r->status = status;
}

static inline bool codec_get_bytes(codec_reader_t *r, void *out, size_t size) {
    if (r->status != PBFT_OK || size > codec_remaining(r)) {
        codec_fail(r, PBFT_ERR_TRUNCATED);
        if (size) memset(out, 0, size);
        return false;
    }
    if (size) memcpy(out, r->data + r->offset, size);
    r->offset += size;
    return true;
}

/* Borrows `size` bytes in place (no copy); NULL on failure. */
static inline const uint8_t *codec_get_view(codec_reader_t *r, size_t size) {
    if (r->status != PBFT_OK || size > codec_remaining(r)) {
        codec_fail(r, PBFT_ERR_TRUNCATED);
        return NULL;
    }
    const uint8_t *p = r->data + r->offset;
    r->offset += size;
    return p;
}

static inline uint8_t codec_get_u8(codec_reader_t *r) {
    uint8_t b = 0;
    codec_get_bytes(r, &b, 1);
    return b;
}

static inline uint16_t codec_get_u16(codec_reader_t *r) {
    uint8_t b[2];
    if (!codec_get_bytes(r, b, 2)) return 0;
    return (uint16_t)(b[0] | (b[1] << 8));
}

static inline uint32_t codec_get_u32(codec_reader_t *r) {
    uint8_t b[4];
    if (!codec_get_bytes(r, b, 4)) return 0;
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

static inline uint64_t codec_get_u64(codec_reader_t *r) {
    uint8_t b[8];
    if (!codec_get_bytes(r, b, 8)) return 0;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

/* A reserved byte must be zero; anything else is PBFT_ERR_RESERVED. */
static inline void codec_get_reserved_u8(codec_reader_t *r) {
    if (codec_get_u8(r) != 0) codec_fail(r, PBFT_ERR_RESERVED);
}

/* Ends a decode: trailing bytes are an error. Returns the sticky status. */
static inline pbft_status_t codec_reader_finish(codec_reader_t *r) {
    if (r->status == PBFT_OK && r->offset != r->size) codec_fail(r, PBFT_ERR_TRAILING);
    return r->status;
}

/* ------------------------------------------------------------------------ */
/* Ledger types. Encoders return the number of bytes written (0 when the     */
/* buffer is too small); `*_size` functions return the exact encoded size.   */
/* Decoders take exactly one encoding with nothing after it.                 */

size_t codec_tx_size(const pbft_tx_t *tx);
size_t codec_tx_encode(const pbft_tx_t *tx, uint8_t *out, size_t capacity);
/* The signed portion: the encoding without the trailing signature. */
size_t codec_tx_encode_unsigned(const pbft_tx_t *tx, uint8_t *out, size_t capacity);
PBFT_MUST_USE pbft_status_t codec_tx_decode(const uint8_t *data, size_t size, pbft_tx_t *out);
/* Reads one tx from a reader (used inside blocks, batches and messages). */
void codec_tx_read(codec_reader_t *r, pbft_tx_t *out);
void codec_tx_write(codec_writer_t *w, const pbft_tx_t *tx);
/* id = SHA-256(encode_unsigned(tx)) */
void codec_tx_id(const pbft_tx_t *tx, uint8_t out[PBFT_HASH_SIZE]);
/* Signs tx in place for chain_id. key is a crypto_key_t (pbft/crypto.h). */
struct crypto_key;
PBFT_MUST_USE pbft_status_t codec_tx_sign(pbft_tx_t *tx, const struct crypto_key *key,
                                          const uint8_t chain_id[PBFT_CHAIN_ID_SIZE]);
/* Verifies the tx signature (policy verify: low s). */
PBFT_MUST_USE pbft_status_t codec_tx_verify(const pbft_tx_t *tx,
                                            const uint8_t chain_id[PBFT_CHAIN_ID_SIZE]);

size_t codec_header_encode(const pbft_block_header_t *h, uint8_t out[PBFT_BLOCK_HEADER_SIZE]);
PBFT_MUST_USE pbft_status_t codec_header_decode(const uint8_t *data, size_t size,
                                                pbft_block_header_t *out);
void codec_header_read(codec_reader_t *r, pbft_block_header_t *out);
void codec_header_write(codec_writer_t *w, const pbft_block_header_t *h);
void codec_header_hash(const pbft_block_header_t *h, uint8_t out[PBFT_HASH_SIZE]);

/* Block = header || tx_count transactions. The decoder allocates out->txs
 * (free with codec_block_free) and checks structure only (not the Merkle
 * root: see codec_block_check_root). */
size_t codec_block_size(const pbft_block_t *b);
size_t codec_block_encode(const pbft_block_t *b, uint8_t *out, size_t capacity);
PBFT_MUST_USE pbft_status_t codec_block_decode(const uint8_t *data, size_t size, pbft_block_t *out);
void codec_block_read(codec_reader_t *r, pbft_block_t *out); /* allocates out->txs */
void codec_block_write(codec_writer_t *w, const pbft_block_t *b);
void codec_block_free(pbft_block_t *b);
/* Computes the tx ids and their Merkle root. ids may be NULL; otherwise it
 * receives header.tx_count ids. */
void codec_block_tx_root(const pbft_block_t *b, uint8_t (*ids)[PBFT_HASH_SIZE],
                         uint8_t root[PBFT_HASH_SIZE]);
/* PBFT_OK when header.tx_root matches the txs; else PBFT_ERR_BAD_MERKLE_ROOT. */
PBFT_MUST_USE pbft_status_t codec_block_check_root(const pbft_block_t *b);

size_t codec_commit_cert_size(const pbft_commit_cert_t *c);
size_t codec_commit_cert_encode(const pbft_commit_cert_t *c, uint8_t *out, size_t capacity);
PBFT_MUST_USE pbft_status_t codec_commit_cert_decode(const uint8_t *data, size_t size,
                                                     pbft_commit_cert_t *out);
void codec_commit_cert_read(codec_reader_t *r, pbft_commit_cert_t *out);
void codec_commit_cert_write(codec_writer_t *w, const pbft_commit_cert_t *c);

size_t codec_checkpoint_cert_size(const pbft_checkpoint_cert_t *c);
size_t codec_checkpoint_cert_encode(const pbft_checkpoint_cert_t *c, uint8_t *out, size_t capacity);
PBFT_MUST_USE pbft_status_t codec_checkpoint_cert_decode(const uint8_t *data, size_t size,
                                                         pbft_checkpoint_cert_t *out);
void codec_checkpoint_cert_read(codec_reader_t *r, pbft_checkpoint_cert_t *out);
void codec_checkpoint_cert_write(codec_writer_t *w, const pbft_checkpoint_cert_t *c);

#endif /* PBFT_CODEC_H */
