/*
 * ledger/codec.c — canonical binary encodings of the ledger types:
 * transactions, block headers, blocks, commit and checkpoint certificates.
 * docs/FORMATS.md documents every byte; the unit tests pin known answers.
 *
 * Decoders are strict: every length is bounded by the remaining bytes and by
 * the named limits in pbft/common.h before it is used, there is exactly one
 * accepted encoding per value, and trailing bytes are an error. The public
 * *_decode functions leave *out untouched on failure; the *_read functions
 * work inside a larger reader and report through its sticky status.
 */
#include "pbft/codec.h"

#include "pbft/crypto.h"

/* ------------------------------------------------------------------------ */
/* Transactions                                                               */

#define TX_PUBKEY_PREFIX_EVEN 0x02
#define TX_PUBKEY_PREFIX_ODD 0x03

size_t codec_tx_size(const pbft_tx_t *tx) {
    PBFT_ASSERT(tx->memo_size <= PBFT_TX_MEMO_SIZE_MAX);
    return PBFT_TX_SIZE_MIN + tx->memo_size;
}

static void tx_write_unsigned(codec_writer_t *w, const pbft_tx_t *tx) {
    PBFT_ASSERT(tx->memo_size <= PBFT_TX_MEMO_SIZE_MAX);
    codec_put_u8(w, PBFT_TX_VERSION);
    codec_put_bytes(w, tx->sender_pubkey, PBFT_PUBKEY_SIZE);
    codec_put_bytes(w, tx->recipient, PBFT_ADDRESS_SIZE);
    codec_put_u64(w, tx->amount);
    codec_put_u64(w, tx->nonce);
    codec_put_u16(w, tx->memo_size);
    codec_put_bytes(w, tx->memo, tx->memo_size);
}

void codec_tx_write(codec_writer_t *w, const pbft_tx_t *tx) {
    tx_write_unsigned(w, tx);
    codec_put_bytes(w, tx->signature, PBFT_SIGNATURE_SIZE);
}

size_t codec_tx_encode(const pbft_tx_t *tx, uint8_t *out, size_t capacity) {
    codec_writer_t w;
    codec_writer_init(&w, out, capacity);
    codec_tx_write(&w, tx);
    if (w.failed) return 0;
    PBFT_ASSERT(w.size == codec_tx_size(tx));
    return w.size;
}

size_t codec_tx_encode_unsigned(const pbft_tx_t *tx, uint8_t *out, size_t capacity) {
    codec_writer_t w;
    codec_writer_init(&w, out, capacity);
    tx_write_unsigned(&w, tx);
    if (w.failed) return 0;
    PBFT_ASSERT(w.size == codec_tx_size(tx) - PBFT_SIGNATURE_SIZE);
    return w.size;
}

/* The memo bytes past memo_size are zeroed so that two decodes of the same
 * bytes compare equal with memcmp. The pubkey prefix is checked for shape
 * only; whether the point is on the curve is the signature verifier's job. */
void codec_tx_read(codec_reader_t *r, pbft_tx_t *out) {
    memset(out, 0, sizeof(*out));
    uint8_t version = codec_get_u8(r);
    if (version != PBFT_TX_VERSION) codec_fail(r, PBFT_ERR_VERSION);
    codec_get_bytes(r, out->sender_pubkey, PBFT_PUBKEY_SIZE);
    if (r->status == PBFT_OK && out->sender_pubkey[0] != TX_PUBKEY_PREFIX_EVEN &&
        out->sender_pubkey[0] != TX_PUBKEY_PREFIX_ODD) {
        codec_fail(r, PBFT_ERR_MALFORMED);
    }
    codec_get_bytes(r, out->recipient, PBFT_ADDRESS_SIZE);
    out->amount = codec_get_u64(r);
    out->nonce = codec_get_u64(r);
    uint16_t memo_size = codec_get_u16(r);
    if (memo_size > PBFT_TX_MEMO_SIZE_MAX) {
        codec_fail(r, PBFT_ERR_LIMIT);
        memo_size = 0;
    }
    codec_get_bytes(r, out->memo, memo_size);
    codec_get_bytes(r, out->signature, PBFT_SIGNATURE_SIZE);
    if (r->status != PBFT_OK) {
        memset(out, 0, sizeof(*out));
        return;
    }
    out->memo_size = memo_size;
}

pbft_status_t codec_tx_decode(const uint8_t *data, size_t size, pbft_tx_t *out) {
    codec_reader_t r;
    pbft_tx_t tx;
    codec_reader_init(&r, data, size);
    codec_tx_read(&r, &tx);
    pbft_status_t status = codec_reader_finish(&r);
    if (status == PBFT_OK) *out = tx;
    return status;
}

void codec_tx_id(const pbft_tx_t *tx, uint8_t out[PBFT_HASH_SIZE]) {
    uint8_t buf[PBFT_TX_SIZE_MAX];
    size_t size = codec_tx_encode_unsigned(tx, buf, sizeof(buf));
    PBFT_ASSERT(size > 0);
    crypto_sha256(buf, size, out);
}

pbft_status_t codec_tx_sign(pbft_tx_t *tx, const struct crypto_key *key,
                            const uint8_t chain_id[PBFT_CHAIN_ID_SIZE]) {
    uint8_t buf[PBFT_TX_SIZE_MAX];
    size_t size = codec_tx_encode_unsigned(tx, buf, sizeof(buf));
    PBFT_ASSERT(size > 0);
    return crypto_sign(key, CRYPTO_TAG_TX, chain_id, buf, size, tx->signature);
}

pbft_status_t codec_tx_verify(const pbft_tx_t *tx, const uint8_t chain_id[PBFT_CHAIN_ID_SIZE]) {
    uint8_t buf[PBFT_TX_SIZE_MAX];
    size_t size = codec_tx_encode_unsigned(tx, buf, sizeof(buf));
    PBFT_ASSERT(size > 0);
    return crypto_verify(tx->sender_pubkey, CRYPTO_TAG_TX, chain_id, buf, size, tx->signature);
}

/* ------------------------------------------------------------------------ */
/* Block headers                                                              */

/* The fields take 100 bytes; PBFT_BLOCK_HEADER_SIZE fixes the header at 132,
 * so the last 32 bytes are reserved: written as zero, rejected otherwise
 * (PBFT_ERR_RESERVED). They leave room for a future field (e.g. a state
 * root) without changing the header size everyone depends on. */
#define HEADER_FIELDS_SIZE (4 + 8 + 8 + 8 + PBFT_HASH_SIZE + PBFT_HASH_SIZE + 4 + 4)
#define HEADER_RESERVED_SIZE (PBFT_BLOCK_HEADER_SIZE - HEADER_FIELDS_SIZE)
_Static_assert(HEADER_RESERVED_SIZE == 32, "header layout");

void codec_header_write(codec_writer_t *w, const pbft_block_header_t *h) {
    codec_put_u32(w, h->version);
    codec_put_u64(w, h->height);
    codec_put_u64(w, h->view);
    codec_put_u64(w, h->timestamp_ms);
    codec_put_bytes(w, h->prev_hash, PBFT_HASH_SIZE);
    codec_put_bytes(w, h->tx_root, PBFT_HASH_SIZE);
    codec_put_u32(w, h->tx_count);
    codec_put_u32(w, h->proposer);
    for (size_t i = 0; i < HEADER_RESERVED_SIZE; i++)
        codec_put_u8(w, 0);
}

size_t codec_header_encode(const pbft_block_header_t *h, uint8_t out[PBFT_BLOCK_HEADER_SIZE]) {
    codec_writer_t w;
    codec_writer_init(&w, out, PBFT_BLOCK_HEADER_SIZE);
    codec_header_write(&w, h);
    PBFT_ASSERT(!w.failed && w.size == PBFT_BLOCK_HEADER_SIZE);
    return w.size;
}

/* A header that announces more transactions than a block may hold can never
 * be valid, so it is rejected here already (PBFT_ERR_LIMIT). */
void codec_header_read(codec_reader_t *r, pbft_block_header_t *out) {
    memset(out, 0, sizeof(*out));
    out->version = codec_get_u32(r);
    if (r->status == PBFT_OK && out->version != PBFT_BLOCK_VERSION) {
        codec_fail(r, PBFT_ERR_VERSION);
    }
    out->height = codec_get_u64(r);
    out->view = codec_get_u64(r);
    out->timestamp_ms = codec_get_u64(r);
    codec_get_bytes(r, out->prev_hash, PBFT_HASH_SIZE);
    codec_get_bytes(r, out->tx_root, PBFT_HASH_SIZE);
    out->tx_count = codec_get_u32(r);
    if (out->tx_count > PBFT_BLOCK_TX_COUNT_MAX) codec_fail(r, PBFT_ERR_LIMIT);
    out->proposer = codec_get_u32(r);
    for (size_t i = 0; i < HEADER_RESERVED_SIZE; i++)
        codec_get_reserved_u8(r);
    if (r->status != PBFT_OK) memset(out, 0, sizeof(*out));
}

pbft_status_t codec_header_decode(const uint8_t *data, size_t size, pbft_block_header_t *out) {
    codec_reader_t r;
    pbft_block_header_t h;
    codec_reader_init(&r, data, size);
    codec_header_read(&r, &h);
    pbft_status_t status = codec_reader_finish(&r);
    if (status == PBFT_OK) *out = h;
    return status;
}

void codec_header_hash(const pbft_block_header_t *h, uint8_t out[PBFT_HASH_SIZE]) {
    uint8_t buf[PBFT_BLOCK_HEADER_SIZE];
    codec_header_encode(h, buf);
    crypto_sha256(buf, sizeof(buf), out);
}

/* ------------------------------------------------------------------------ */
/* Blocks                                                                     */

size_t codec_block_size(const pbft_block_t *b) {
    size_t size = PBFT_BLOCK_HEADER_SIZE;
    for (uint32_t i = 0; i < b->header.tx_count; i++)
        size += codec_tx_size(&b->txs[i]);
    return size;
}

void codec_block_write(codec_writer_t *w, const pbft_block_t *b) {
    PBFT_ASSERT(b->header.tx_count == 0 || b->txs != NULL);
    codec_header_write(w, &b->header);
    for (uint32_t i = 0; i < b->header.tx_count; i++)
        codec_tx_write(w, &b->txs[i]);
}

size_t codec_block_encode(const pbft_block_t *b, uint8_t *out, size_t capacity) {
    codec_writer_t w;
    codec_writer_init(&w, out, capacity);
    codec_block_write(&w, b);
    return w.failed ? 0 : w.size;
}

/* Allocation is bounded by what the input can hold: every tx takes at least
 * PBFT_TX_SIZE_MIN bytes, so a header that claims more txs than the remaining
 * bytes could carry is rejected as truncated before anything is allocated.
 * On failure out->txs is NULL (nothing to free). */
void codec_block_read(codec_reader_t *r, pbft_block_t *out) {
    memset(out, 0, sizeof(*out));
    codec_header_read(r, &out->header);
    uint32_t count = out->header.tx_count;
    if (r->status != PBFT_OK || count == 0) return;
    if (count > codec_remaining(r) / PBFT_TX_SIZE_MIN) {
        codec_fail(r, PBFT_ERR_TRUNCATED);
        memset(out, 0, sizeof(*out));
        return;
    }
    out->txs = pbft_xcalloc(count, sizeof(pbft_tx_t));
    for (uint32_t i = 0; i < count && r->status == PBFT_OK; i++)
        codec_tx_read(r, &out->txs[i]);
    if (r->status != PBFT_OK) codec_block_free(out);
}

pbft_status_t codec_block_decode(const uint8_t *data, size_t size, pbft_block_t *out) {
    if (size > PBFT_BLOCK_SIZE_MAX) return PBFT_ERR_LIMIT;
    codec_reader_t r;
    pbft_block_t b;
    codec_reader_init(&r, data, size);
    codec_block_read(&r, &b);
    pbft_status_t status = codec_reader_finish(&r);
    if (status != PBFT_OK) {
        codec_block_free(&b);
        return status;
    }
    *out = b;
    return PBFT_OK;
}

void codec_block_free(pbft_block_t *b) {
    if (b == NULL) return;
    free(b->txs);
    memset(b, 0, sizeof(*b));
}

void codec_block_tx_root(const pbft_block_t *b, uint8_t (*ids)[PBFT_HASH_SIZE],
                         uint8_t root[PBFT_HASH_SIZE]) {
    uint32_t count = b->header.tx_count;
    PBFT_ASSERT(count <= PBFT_BLOCK_TX_COUNT_MAX);
    PBFT_ASSERT(count == 0 || b->txs != NULL);
    uint8_t(*leaves)[PBFT_HASH_SIZE] = ids;
    if (leaves == NULL && count > 0) leaves = pbft_xcalloc(count, PBFT_HASH_SIZE);
    for (uint32_t i = 0; i < count; i++)
        codec_tx_id(&b->txs[i], leaves[i]);
    crypto_merkle_root((const uint8_t(*)[PBFT_HASH_SIZE])leaves, count, root);
    if (leaves != ids) free(leaves);
}

pbft_status_t codec_block_check_root(const pbft_block_t *b) {
    uint8_t root[PBFT_HASH_SIZE];
    codec_block_tx_root(b, NULL, root);
    if (memcmp(root, b->header.tx_root, PBFT_HASH_SIZE) != 0) return PBFT_ERR_BAD_MERKLE_ROOT;
    return PBFT_OK;
}

/* ------------------------------------------------------------------------ */
/* Certificates: a fixed statement followed by u16 count and count entries   */
/* (u16 replica | sig[64]) with strictly increasing replica indexes.         */

#define CERT_ENTRY_SIZE (2 + PBFT_SIGNATURE_SIZE)
#define COMMIT_CERT_FIXED_SIZE (8 + 8 + PBFT_HASH_SIZE + 2)
#define CHECKPOINT_CERT_FIXED_SIZE (8 + PBFT_HASH_SIZE + PBFT_HASH_SIZE + 2)

static void cert_sigs_write(codec_writer_t *w, uint16_t count, const pbft_replica_sig_t *sigs) {
    PBFT_ASSERT(count <= PBFT_REPLICA_COUNT_MAX);
    codec_put_u16(w, count);
    for (uint16_t i = 0; i < count; i++) {
        codec_put_u16(w, sigs[i].replica);
        codec_put_bytes(w, sigs[i].signature, PBFT_SIGNATURE_SIZE);
    }
}

/* 1 <= count <= PBFT_REPLICA_COUNT_MAX and replica indexes strictly
 * increasing and below PBFT_REPLICA_COUNT_MAX; whether they are members of a
 * given validator set is the certificate check's business (pbft/cert.h). */
static uint16_t cert_sigs_read(codec_reader_t *r, pbft_replica_sig_t *sigs) {
    uint16_t count = codec_get_u16(r);
    if (r->status != PBFT_OK) return 0;
    if (count == 0 || count > PBFT_REPLICA_COUNT_MAX) {
        codec_fail(r, PBFT_ERR_LIMIT);
        return 0;
    }
    for (uint16_t i = 0; i < count; i++) {
        sigs[i].replica = codec_get_u16(r);
        codec_get_bytes(r, sigs[i].signature, PBFT_SIGNATURE_SIZE);
        if (r->status != PBFT_OK) return 0;
        if (sigs[i].replica >= PBFT_REPLICA_COUNT_MAX) {
            codec_fail(r, PBFT_ERR_LIMIT);
            return 0;
        }
        if (i > 0 && sigs[i].replica <= sigs[i - 1].replica) {
            codec_fail(r, PBFT_ERR_NOT_CANONICAL);
            return 0;
        }
    }
    return count;
}

size_t codec_commit_cert_size(const pbft_commit_cert_t *c) {
    PBFT_ASSERT(c->count <= PBFT_REPLICA_COUNT_MAX);
    return COMMIT_CERT_FIXED_SIZE + (size_t)c->count * CERT_ENTRY_SIZE;
}

void codec_commit_cert_write(codec_writer_t *w, const pbft_commit_cert_t *c) {
    codec_put_u64(w, c->view);
    codec_put_u64(w, c->seq);
    codec_put_bytes(w, c->block_hash, PBFT_HASH_SIZE);
    cert_sigs_write(w, c->count, c->sigs);
}

size_t codec_commit_cert_encode(const pbft_commit_cert_t *c, uint8_t *out, size_t capacity) {
    codec_writer_t w;
    codec_writer_init(&w, out, capacity);
    codec_commit_cert_write(&w, c);
    if (w.failed) return 0;
    PBFT_ASSERT(w.size == codec_commit_cert_size(c));
    return w.size;
}

void codec_commit_cert_read(codec_reader_t *r, pbft_commit_cert_t *out) {
    memset(out, 0, sizeof(*out));
    out->view = codec_get_u64(r);
    out->seq = codec_get_u64(r);
    codec_get_bytes(r, out->block_hash, PBFT_HASH_SIZE);
    out->count = cert_sigs_read(r, out->sigs);
    if (r->status != PBFT_OK) memset(out, 0, sizeof(*out));
}

pbft_status_t codec_commit_cert_decode(const uint8_t *data, size_t size, pbft_commit_cert_t *out) {
    codec_reader_t r;
    pbft_commit_cert_t c;
    codec_reader_init(&r, data, size);
    codec_commit_cert_read(&r, &c);
    pbft_status_t status = codec_reader_finish(&r);
    if (status == PBFT_OK) *out = c;
    return status;
}

size_t codec_checkpoint_cert_size(const pbft_checkpoint_cert_t *c) {
    PBFT_ASSERT(c->count <= PBFT_REPLICA_COUNT_MAX);
    return CHECKPOINT_CERT_FIXED_SIZE + (size_t)c->count * CERT_ENTRY_SIZE;
}

void codec_checkpoint_cert_write(codec_writer_t *w, const pbft_checkpoint_cert_t *c) {
    codec_put_u64(w, c->height);
    codec_put_bytes(w, c->block_hash, PBFT_HASH_SIZE);
    codec_put_bytes(w, c->state_hash, PBFT_HASH_SIZE);
    cert_sigs_write(w, c->count, c->sigs);
}

size_t codec_checkpoint_cert_encode(const pbft_checkpoint_cert_t *c, uint8_t *out,
                                    size_t capacity) {
    codec_writer_t w;
    codec_writer_init(&w, out, capacity);
    codec_checkpoint_cert_write(&w, c);
    if (w.failed) return 0;
    PBFT_ASSERT(w.size == codec_checkpoint_cert_size(c));
    return w.size;
}

void codec_checkpoint_cert_read(codec_reader_t *r, pbft_checkpoint_cert_t *out) {
    memset(out, 0, sizeof(*out));
    out->height = codec_get_u64(r);
    codec_get_bytes(r, out->block_hash, PBFT_HASH_SIZE);
    codec_get_bytes(r, out->state_hash, PBFT_HASH_SIZE);
    out->count = cert_sigs_read(r, out->sigs);
    if (r->status != PBFT_OK) memset(out, 0, sizeof(*out));
}

pbft_status_t codec_checkpoint_cert_decode(const uint8_t *data, size_t size,
                                           pbft_checkpoint_cert_t *out) {
    codec_reader_t r;
    pbft_checkpoint_cert_t c;
    codec_reader_init(&r, data, size);
    codec_checkpoint_cert_read(&r, &c);
    pbft_status_t status = codec_reader_finish(&r);
    if (status == PBFT_OK) *out = c;
    return status;
}
