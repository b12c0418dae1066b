/*
 * tests/unit/codec_test.c — the canonical codec of the ledger types: round
 * trips, known-answer bytes (so the format cannot drift silently), every
 * single-byte mutation and every truncation of a valid encoding, trailing
 * bytes, the named limits, the Merkle root check and tx signing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pbft/codec.h"
#include "pbft/crypto.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                    */

static void hex_to_bytes(const char *hex, uint8_t *out, size_t size) {
    assert_int_equal(strlen(hex), 2 * size);
    for (size_t i = 0; i < size; i++) {
        unsigned v = 0;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

/* A deterministic tx whose every field depends on seed. */
static void make_tx(pbft_tx_t *tx, uint32_t seed, uint16_t memo_size) {
    memset(tx, 0, sizeof(*tx));
    tx->sender_pubkey[0] = (seed & 1) ? 0x03 : 0x02;
    for (size_t i = 1; i < PBFT_PUBKEY_SIZE; i++)
        tx->sender_pubkey[i] = (uint8_t)(seed + i);
    for (size_t i = 0; i < PBFT_ADDRESS_SIZE; i++)
        tx->recipient[i] = (uint8_t)(seed * 7 + i);
    tx->amount = 1000u + seed;
    tx->nonce = seed;
    tx->memo_size = memo_size;
    for (size_t i = 0; i < memo_size; i++)
        tx->memo[i] = (uint8_t)(seed ^ i);
    for (size_t i = 0; i < PBFT_SIGNATURE_SIZE; i++)
        tx->signature[i] = (uint8_t)(seed * 3 + i);
}

static void make_header(pbft_block_header_t *h, uint64_t height, uint32_t tx_count) {
    memset(h, 0, sizeof(*h));
    h->version = PBFT_BLOCK_VERSION;
    h->height = height;
    h->view = height / 3;
    h->timestamp_ms = 1700000000000ull + height;
    memset(h->prev_hash, (int)(0xa0 + height), PBFT_HASH_SIZE);
    memset(h->tx_root, 0x5c, PBFT_HASH_SIZE);
    h->tx_count = tx_count;
    h->proposer = (uint32_t)(height % 4);
}

/* A block of count txs with the given memo size and a correct tx_root. */
static void make_block(pbft_block_t *b, uint64_t height, uint32_t count, uint16_t memo_size) {
    make_header(&b->header, height, count);
    b->txs = count ? calloc(count, sizeof(pbft_tx_t)) : NULL;
    for (uint32_t i = 0; i < count; i++)
        make_tx(&b->txs[i], i + 1, memo_size);
    codec_block_tx_root(b, NULL, b->header.tx_root);
}

static void make_commit_cert(pbft_commit_cert_t *c, uint16_t count) {
    memset(c, 0, sizeof(*c));
    c->view = 3;
    c->seq = 42;
    memset(c->block_hash, 0x77, PBFT_HASH_SIZE);
    c->count = count;
    for (uint16_t i = 0; i < count; i++) {
        c->sigs[i].replica = i;
        memset(c->sigs[i].signature, 0x10 + i, PBFT_SIGNATURE_SIZE);
    }
}

static void make_checkpoint_cert(pbft_checkpoint_cert_t *c, uint16_t count) {
    memset(c, 0, sizeof(*c));
    c->height = 128;
    memset(c->block_hash, 0x66, PBFT_HASH_SIZE);
    memset(c->state_hash, 0x99, PBFT_HASH_SIZE);
    c->count = count;
    for (uint16_t i = 0; i < count; i++) {
        c->sigs[i].replica = (uint16_t)(2 * i + 1);
        memset(c->sigs[i].signature, 0x20 + i, PBFT_SIGNATURE_SIZE);
    }
}

/* Decodes one kind and, on success, re-encodes into out (*out_size). */
typedef pbft_status_t (*reencode_fn)(const uint8_t *data, size_t size, uint8_t *out,
                                     size_t capacity, size_t *out_size);

static pbft_status_t reencode_tx(const uint8_t *data, size_t size, uint8_t *out, size_t capacity,
                                 size_t *out_size) {
    pbft_tx_t tx;
    pbft_status_t status = codec_tx_decode(data, size, &tx);
    if (status == PBFT_OK) *out_size = codec_tx_encode(&tx, out, capacity);
    return status;
}

static pbft_status_t reencode_header(const uint8_t *data, size_t size, uint8_t *out,
                                     size_t capacity, size_t *out_size) {
    pbft_block_header_t h;
    pbft_status_t status = codec_header_decode(data, size, &h);
    assert_true(capacity >= PBFT_BLOCK_HEADER_SIZE);
    if (status == PBFT_OK) *out_size = codec_header_encode(&h, out);
    return status;
}

static pbft_status_t reencode_block(const uint8_t *data, size_t size, uint8_t *out, size_t capacity,
                                    size_t *out_size) {
    pbft_block_t b;
    pbft_status_t status = codec_block_decode(data, size, &b);
    if (status == PBFT_OK) {
        *out_size = codec_block_encode(&b, out, capacity);
        codec_block_free(&b);
    }
    return status;
}

static pbft_status_t reencode_commit_cert(const uint8_t *data, size_t size, uint8_t *out,
                                          size_t capacity, size_t *out_size) {
    pbft_commit_cert_t c;
    pbft_status_t status = codec_commit_cert_decode(data, size, &c);
    if (status == PBFT_OK) *out_size = codec_commit_cert_encode(&c, out, capacity);
    return status;
}

static pbft_status_t reencode_checkpoint_cert(const uint8_t *data, size_t size, uint8_t *out,
                                              size_t capacity, size_t *out_size) {
    pbft_checkpoint_cert_t c;
    pbft_status_t status = codec_checkpoint_cert_decode(data, size, &c);
    if (status == PBFT_OK) *out_size = codec_checkpoint_cert_encode(&c, out, capacity);
    return status;
}

/* The property every decoder must have on a valid encoding `enc`:
 *  - it decodes, and re-encodes to the same bytes;
 *  - every proper prefix is rejected as truncated;
 *  - one extra byte is rejected as trailing;
 *  - every single-byte mutation (all positions x all 255 xor values) is
 *    rejected, or decodes to a value whose encoding is exactly the mutated
 *    bytes, hence a different value (no two encodings of one value). */
static void check_decoder_properties(reencode_fn reencode, const uint8_t *enc, size_t size) {
    size_t capacity = size + 1;
    uint8_t *buf = malloc(capacity);
    uint8_t *out = malloc(capacity);
    size_t out_size = 0;
    assert_non_null(buf);
    assert_non_null(out);

    assert_int_equal(reencode(enc, size, out, capacity, &out_size), PBFT_OK);
    assert_int_equal(out_size, size);
    assert_memory_equal(out, enc, size);

    for (size_t len = 0; len < size; len++) {
        memcpy(buf, enc, len);
        assert_int_equal(reencode(buf, len, out, capacity, &out_size), PBFT_ERR_TRUNCATED);
    }

    memcpy(buf, enc, size);
    buf[size] = 0;
    assert_int_equal(reencode(buf, size + 1, out, capacity, &out_size), PBFT_ERR_TRAILING);

    size_t accepted = 0;
    for (size_t pos = 0; pos < size; pos++) {
        for (unsigned x = 1; x < 256; x++) {
            memcpy(buf, enc, size);
            buf[pos] ^= (uint8_t)x;
            out_size = 0;
            if (reencode(buf, size, out, capacity, &out_size) != PBFT_OK) continue;
            accepted++;
            assert_int_equal(out_size, size);
            assert_memory_equal(out, buf, size);
            assert_memory_not_equal(out, enc, size);
        }
    }
    /* Sanity: the loop exercised the accept branch too (payload bytes). */
    assert_true(accepted > 0);
    free(buf);
    free(out);
}

/* ------------------------------------------------------------------------ */
/* Transactions                                                               */

static const char TX_KAT_HEX[] =
    "01"                                                                 /* version */
    "021111111111111111111111111111111111111111111111111111111111111111" /* pubkey */
    "2222222222222222222222222222222222222222"                           /* recipient */
    "0807060504030201"                                                   /* amount */
    "0500000000000000"                                                   /* nonce */
    "0300"                                                               /* memo_size */
    "616263"                                                             /* memo */
    "33333333333333333333333333333333333333333333333333333333333333333333333333333333"
    "333333333333333333333333333333333333333333333333"; /* signature */
static const char TX_KAT_ID_HEX[] =
    "0c8a1f039201b8d17dc27e47d073228a5083d30b038f2e6cc9c7befafcd18219";

static void make_kat_tx(pbft_tx_t *tx) {
    memset(tx, 0, sizeof(*tx));
    tx->sender_pubkey[0] = 0x02;
    memset(tx->sender_pubkey + 1, 0x11, PBFT_PUBKEY_SIZE - 1);
    memset(tx->recipient, 0x22, PBFT_ADDRESS_SIZE);
    tx->amount = 0x0102030405060708ull;
    tx->nonce = 5;
    tx->memo_size = 3;
    memcpy(tx->memo, "abc", 3);
    memset(tx->signature, 0x33, PBFT_SIGNATURE_SIZE);
}

static void test_tx_known_answer_bytes_and_id(void **state) {
    (void)state;
    pbft_tx_t tx;
    make_kat_tx(&tx);
    uint8_t expected[PBFT_TX_SIZE_MIN + 3];
    hex_to_bytes(TX_KAT_HEX, expected, sizeof(expected));

    uint8_t enc[PBFT_TX_SIZE_MAX];
    assert_int_equal(codec_tx_size(&tx), sizeof(expected));
    assert_int_equal(codec_tx_encode(&tx, enc, sizeof(enc)), sizeof(expected));
    assert_memory_equal(enc, expected, sizeof(expected));
    assert_int_equal(codec_tx_encode_unsigned(&tx, enc, sizeof(enc)),
                     sizeof(expected) - PBFT_SIGNATURE_SIZE);
    assert_memory_equal(enc, expected, sizeof(expected) - PBFT_SIGNATURE_SIZE);

    uint8_t id[PBFT_HASH_SIZE], expected_id[PBFT_HASH_SIZE];
    hex_to_bytes(TX_KAT_ID_HEX, expected_id, sizeof(expected_id));
    codec_tx_id(&tx, id);
    assert_memory_equal(id, expected_id, PBFT_HASH_SIZE);

    pbft_tx_t decoded;
    assert_int_equal(codec_tx_decode(expected, sizeof(expected), &decoded), PBFT_OK);
    assert_memory_equal(&decoded, &tx, sizeof(tx));
}

static void check_tx_round_trip(uint16_t memo_size) {
    pbft_tx_t tx, decoded;
    make_tx(&tx, 9, memo_size);
    uint8_t enc[PBFT_TX_SIZE_MAX];
    size_t size = codec_tx_encode(&tx, enc, sizeof(enc));
    assert_int_equal(size, PBFT_TX_SIZE_MIN + memo_size);
    assert_int_equal(codec_tx_decode(enc, size, &decoded), PBFT_OK);
    assert_memory_equal(&decoded, &tx, sizeof(tx));
}

static void test_tx_round_trips_empty_and_max_memo(void **state) {
    (void)state;
    check_tx_round_trip(0);
    check_tx_round_trip(1);
    check_tx_round_trip(PBFT_TX_MEMO_SIZE_MAX);
}

static void test_tx_every_mutation_and_truncation_is_caught(void **state) {
    (void)state;
    pbft_tx_t tx;
    make_tx(&tx, 4, 7);
    uint8_t enc[PBFT_TX_SIZE_MAX];
    size_t size = codec_tx_encode(&tx, enc, sizeof(enc));
    check_decoder_properties(reencode_tx, enc, size);
}

static void test_tx_rejects_memo_over_limit(void **state) {
    (void)state;
    pbft_tx_t tx;
    make_tx(&tx, 1, PBFT_TX_MEMO_SIZE_MAX);
    uint8_t enc[PBFT_TX_SIZE_MAX + 1];
    size_t size = codec_tx_encode(&tx, enc, sizeof(enc));
    /* Splice in a 257-byte memo: memo_size at offset 70, signature moves. */
    memmove(enc + 72 + 257, enc + 72 + 256, PBFT_SIGNATURE_SIZE);
    enc[72 + 256] = 0xee;
    enc[70] = (uint8_t)(257 & 0xff);
    enc[71] = (uint8_t)(257 >> 8);
    pbft_tx_t decoded;
    memset(&decoded, 0xab, sizeof(decoded));
    assert_int_equal(codec_tx_decode(enc, size + 1, &decoded), PBFT_ERR_LIMIT);
    /* A failed decode leaves the output untouched. */
    assert_int_equal(decoded.memo_size, 0xabab);
}

static void test_tx_rejects_bad_version_and_pubkey_prefix(void **state) {
    (void)state;
    pbft_tx_t tx, decoded;
    make_tx(&tx, 2, 0);
    uint8_t enc[PBFT_TX_SIZE_MAX];
    size_t size = codec_tx_encode(&tx, enc, sizeof(enc));
    enc[0] = 2;
    assert_int_equal(codec_tx_decode(enc, size, &decoded), PBFT_ERR_VERSION);
    enc[0] = 0;
    assert_int_equal(codec_tx_decode(enc, size, &decoded), PBFT_ERR_VERSION);
    enc[0] = PBFT_TX_VERSION;
    const uint8_t bad_prefixes[] = {0x00, 0x01, 0x04, 0x06, 0x07, 0xff};
    for (size_t i = 0; i < sizeof(bad_prefixes); i++) {
        enc[1] = bad_prefixes[i];
        assert_int_equal(codec_tx_decode(enc, size, &decoded), PBFT_ERR_MALFORMED);
    }
    enc[1] = 0x03;
    assert_int_equal(codec_tx_decode(enc, size, &decoded), PBFT_OK);
}

static void test_tx_encode_reports_small_buffer(void **state) {
    (void)state;
    pbft_tx_t tx;
    make_tx(&tx, 3, 10);
    uint8_t enc[PBFT_TX_SIZE_MAX];
    size_t size = codec_tx_size(&tx);
    assert_int_equal(codec_tx_encode(&tx, enc, size - 1), 0);
    assert_int_equal(codec_tx_encode(&tx, enc, size), size);
    assert_int_equal(codec_tx_encode_unsigned(&tx, enc, size - PBFT_SIGNATURE_SIZE - 1), 0);
}

static void test_tx_id_ignores_signature_and_covers_every_field(void **state) {
    (void)state;
    pbft_tx_t a, b;
    uint8_t id_a[PBFT_HASH_SIZE], id_b[PBFT_HASH_SIZE];
    make_tx(&a, 5, 4);
    codec_tx_id(&a, id_a);
    b = a;
    b.signature[10] ^= 1;
    codec_tx_id(&b, id_b);
    assert_memory_equal(id_a, id_b, PBFT_HASH_SIZE);
    b = a;
    b.nonce++;
    codec_tx_id(&b, id_b);
    assert_memory_not_equal(id_a, id_b, PBFT_HASH_SIZE);
    b = a;
    b.memo_size--;
    codec_tx_id(&b, id_b);
    assert_memory_not_equal(id_a, id_b, PBFT_HASH_SIZE);
}

static void test_tx_sign_then_verify_with_real_key(void **state) {
    (void)state;
    crypto_key_t *key = crypto_key_generate();
    assert_non_null(key);
    uint8_t chain_id[PBFT_CHAIN_ID_SIZE], other_chain[PBFT_CHAIN_ID_SIZE];
    memset(chain_id, 0xc1, sizeof(chain_id));
    memset(other_chain, 0xc2, sizeof(other_chain));
    pbft_tx_t tx;
    make_tx(&tx, 8, 12);
    crypto_key_public(key, tx.sender_pubkey);
    assert_int_equal(codec_tx_sign(&tx, key, chain_id), PBFT_OK);
    assert_true(crypto_signature_is_low_s(tx.signature));
    assert_int_equal(codec_tx_verify(&tx, chain_id), PBFT_OK);

    /* The signature survives the wire. */
    uint8_t enc[PBFT_TX_SIZE_MAX];
    pbft_tx_t decoded;
    size_t size = codec_tx_encode(&tx, enc, sizeof(enc));
    assert_int_equal(codec_tx_decode(enc, size, &decoded), PBFT_OK);
    assert_int_equal(codec_tx_verify(&decoded, chain_id), PBFT_OK);

    assert_int_not_equal(codec_tx_verify(&tx, other_chain), PBFT_OK);
    pbft_tx_t changed = tx;
    changed.amount++;
    assert_int_not_equal(codec_tx_verify(&changed, chain_id), PBFT_OK);
    changed = tx;
    changed.memo[0] ^= 1;
    assert_int_not_equal(codec_tx_verify(&changed, chain_id), PBFT_OK);
    changed = tx;
    changed.signature[40] ^= 1;
    assert_int_not_equal(codec_tx_verify(&changed, chain_id), PBFT_OK);

    /* The signature is over the tx domain: the same key signing the same
     * bytes under another tag does not produce a tx signature. */
    uint8_t unsigned_bytes[PBFT_TX_SIZE_MAX];
    size_t unsigned_size = codec_tx_encode_unsigned(&tx, unsigned_bytes, sizeof(unsigned_bytes));
    changed = tx;
    assert_int_equal(crypto_sign(key, CRYPTO_TAG_COMMIT, chain_id, unsigned_bytes, unsigned_size,
                                 changed.signature),
                     PBFT_OK);
    assert_int_not_equal(codec_tx_verify(&changed, chain_id), PBFT_OK);
    crypto_key_free(key);
}

/* ------------------------------------------------------------------------ */
/* Headers                                                                    */

static const char HEADER_KAT_HEX[] =
    "01000000"                                                          /* version */
    "0700000000000000"                                                  /* height */
    "0200000000000000"                                                  /* view */
    "7b68e5cf8b010000"                                                  /* timestamp_ms */
    "4444444444444444444444444444444444444444444444444444444444444444"  /* prev_hash */
    "5555555555555555555555555555555555555555555555555555555555555555"  /* tx_root */
    "03000000"                                                          /* tx_count */
    "01000000"                                                          /* proposer */
    "0000000000000000000000000000000000000000000000000000000000000000"; /* reserved */
static const char HEADER_KAT_HASH_HEX[] =
    "d18026e5fce4e9cf6c8a8b7bb6ec9f26fc0d872f4ba3b1102e9688a76fecea20";

static void test_header_known_answer_bytes_and_hash(void **state) {
    (void)state;
    pbft_block_header_t h;
    memset(&h, 0, sizeof(h));
    h.version = 1;
    h.height = 7;
    h.view = 2;
    h.timestamp_ms = 1700000000123ull;
    memset(h.prev_hash, 0x44, PBFT_HASH_SIZE);
    memset(h.tx_root, 0x55, PBFT_HASH_SIZE);
    h.tx_count = 3;
    h.proposer = 1;

    uint8_t expected[PBFT_BLOCK_HEADER_SIZE], enc[PBFT_BLOCK_HEADER_SIZE];
    hex_to_bytes(HEADER_KAT_HEX, expected, sizeof(expected));
    assert_int_equal(codec_header_encode(&h, enc), PBFT_BLOCK_HEADER_SIZE);
    assert_memory_equal(enc, expected, sizeof(expected));

    uint8_t hash[PBFT_HASH_SIZE], expected_hash[PBFT_HASH_SIZE];
    hex_to_bytes(HEADER_KAT_HASH_HEX, expected_hash, sizeof(expected_hash));
    codec_header_hash(&h, hash);
    assert_memory_equal(hash, expected_hash, PBFT_HASH_SIZE);

    pbft_block_header_t decoded;
    assert_int_equal(codec_header_decode(expected, sizeof(expected), &decoded), PBFT_OK);
    assert_memory_equal(&decoded, &h, sizeof(h));
}

static void test_header_every_mutation_and_truncation_is_caught(void **state) {
    (void)state;
    pbft_block_header_t h;
    make_header(&h, 99, 2);
    uint8_t enc[PBFT_BLOCK_HEADER_SIZE];
    codec_header_encode(&h, enc);
    check_decoder_properties(reencode_header, enc, sizeof(enc));
}

static void test_header_rejects_version_reserved_and_tx_count_limit(void **state) {
    (void)state;
    pbft_block_header_t h, decoded;
    make_header(&h, 1, 0);
    uint8_t enc[PBFT_BLOCK_HEADER_SIZE];

    h.version = 2;
    codec_header_encode(&h, enc);
    assert_int_equal(codec_header_decode(enc, sizeof(enc), &decoded), PBFT_ERR_VERSION);
    h.version = 0;
    codec_header_encode(&h, enc);
    assert_int_equal(codec_header_decode(enc, sizeof(enc), &decoded), PBFT_ERR_VERSION);

    h.version = PBFT_BLOCK_VERSION;
    h.tx_count = PBFT_BLOCK_TX_COUNT_MAX + 1;
    codec_header_encode(&h, enc);
    assert_int_equal(codec_header_decode(enc, sizeof(enc), &decoded), PBFT_ERR_LIMIT);
    h.tx_count = PBFT_BLOCK_TX_COUNT_MAX;
    codec_header_encode(&h, enc);
    assert_int_equal(codec_header_decode(enc, sizeof(enc), &decoded), PBFT_OK);

    for (size_t i = 100; i < PBFT_BLOCK_HEADER_SIZE; i++) {
        codec_header_encode(&h, enc);
        enc[i] = 1;
        assert_int_equal(codec_header_decode(enc, sizeof(enc), &decoded), PBFT_ERR_RESERVED);
    }
}

/* ------------------------------------------------------------------------ */
/* Blocks                                                                     */

static void check_block_round_trip(uint32_t count, uint16_t memo_size) {
    pbft_block_t b, decoded;
    make_block(&b, 5, count, memo_size);
    size_t size = codec_block_size(&b);
    assert_int_equal(size, PBFT_BLOCK_HEADER_SIZE + (size_t)count * (PBFT_TX_SIZE_MIN + memo_size));
    assert_true(size <= PBFT_BLOCK_SIZE_MAX);
    uint8_t *enc = malloc(size);
    assert_non_null(enc);
    assert_int_equal(codec_block_encode(&b, enc, size), size);
    assert_int_equal(codec_block_encode(&b, enc, size - 1), 0);
    assert_int_equal(codec_block_decode(enc, size, &decoded), PBFT_OK);
    assert_memory_equal(&decoded.header, &b.header, sizeof(b.header));
    if (count == 0) {
        assert_null(decoded.txs);
    } else {
        assert_memory_equal(decoded.txs, b.txs, count * sizeof(pbft_tx_t));
    }
    assert_int_equal(codec_block_check_root(&decoded), PBFT_OK);
    codec_block_free(&decoded);
    assert_null(decoded.txs);
    codec_block_free(&b);
    free(enc);
}

static void test_block_round_trips_empty_small_and_full(void **state) {
    (void)state;
    check_block_round_trip(0, 0);
    check_block_round_trip(1, 0);
    check_block_round_trip(3, 17);
    check_block_round_trip(PBFT_BLOCK_TX_COUNT_MAX, PBFT_TX_MEMO_SIZE_MAX);
}

static void test_block_full_size_is_exactly_the_limit(void **state) {
    (void)state;
    pbft_block_t b;
    make_block(&b, 1, PBFT_BLOCK_TX_COUNT_MAX, PBFT_TX_MEMO_SIZE_MAX);
    assert_int_equal(codec_block_size(&b), PBFT_BLOCK_SIZE_MAX);
    codec_block_free(&b);
}

static void test_block_every_mutation_and_truncation_is_caught(void **state) {
    (void)state;
    pbft_block_t b;
    make_block(&b, 12, 2, 5);
    b.txs[1].memo_size = 0;
    size_t size = codec_block_size(&b);
    uint8_t *enc = malloc(size);
    assert_non_null(enc);
    assert_int_equal(codec_block_encode(&b, enc, size), size);
    check_decoder_properties(reencode_block, enc, size);
    free(enc);
    codec_block_free(&b);
}

static void test_block_rejects_tx_count_over_limit(void **state) {
    (void)state;
    pbft_block_t b, decoded;
    make_block(&b, 2, 1, 0);
    size_t size = codec_block_size(&b);
    uint8_t enc[PBFT_BLOCK_HEADER_SIZE + PBFT_TX_SIZE_MIN];
    assert_int_equal(codec_block_encode(&b, enc, sizeof(enc)), size);
    const uint32_t too_many = PBFT_BLOCK_TX_COUNT_MAX + 1;
    for (int i = 0; i < 4; i++)
        enc[92 + i] = (uint8_t)(too_many >> (8 * i));
    assert_int_equal(codec_block_decode(enc, size, &decoded), PBFT_ERR_LIMIT);
    codec_block_free(&b);
}

/* A header claiming 2048 txs on a short input must not allocate for 2048:
 * the count is bounded by what the remaining bytes could hold. Under ASan
 * a leak or over-read would show; here we pin the status. */
static void test_block_count_beyond_remaining_bytes_is_truncated(void **state) {
    (void)state;
    pbft_block_t b, decoded;
    make_block(&b, 2, 2, 0);
    size_t size = codec_block_size(&b);
    uint8_t *enc = malloc(size);
    assert_non_null(enc);
    assert_int_equal(codec_block_encode(&b, enc, size), size);
    for (uint32_t claimed = 3; claimed <= PBFT_BLOCK_TX_COUNT_MAX; claimed += 1021) {
        for (int i = 0; i < 4; i++)
            enc[92 + i] = (uint8_t)(claimed >> (8 * i));
        memset(&decoded, 0xcd, sizeof(decoded));
        assert_int_equal(codec_block_decode(enc, size, &decoded), PBFT_ERR_TRUNCATED);
        assert_int_equal(decoded.header.tx_count, 0xcdcdcdcd); /* untouched */
    }
    /* The bound is applied before any tx is read (and before the tx array is
     * allocated): with a bad first tx and too few bytes for the claimed
     * count, the answer is TRUNCATED, not the first tx's VERSION error. */
    enc[92] = 2;
    enc[93] = enc[94] = enc[95] = 0;
    enc[PBFT_BLOCK_HEADER_SIZE] = 7; /* first tx's version */
    assert_int_equal(codec_block_decode(enc, PBFT_BLOCK_HEADER_SIZE + 200, &decoded),
                     PBFT_ERR_TRUNCATED);
    assert_int_equal(codec_block_decode(enc, size, &decoded), PBFT_ERR_VERSION);
    enc[PBFT_BLOCK_HEADER_SIZE] = PBFT_TX_VERSION;

    /* Fewer txs claimed than present: the rest is trailing. */
    enc[92] = 1;
    enc[93] = enc[94] = enc[95] = 0;
    assert_int_equal(codec_block_decode(enc, size, &decoded), PBFT_ERR_TRAILING);
    free(enc);
    codec_block_free(&b);
}

static void test_block_decode_rejects_input_over_size_limit(void **state) {
    (void)state;
    size_t size = PBFT_BLOCK_SIZE_MAX + 1;
    uint8_t *enc = calloc(1, size);
    assert_non_null(enc);
    pbft_block_t decoded;
    assert_int_equal(codec_block_decode(enc, size, &decoded), PBFT_ERR_LIMIT);
    free(enc);
}

/* Decode is structural: a block may repeat a tx and still decode (execution
 * and the mempool deal with replays); only the Merkle root is checked by
 * codec_block_check_root, separately. */
static void test_block_decode_is_structural_root_check_is_separate(void **state) {
    (void)state;
    pbft_block_t b, decoded;
    make_block(&b, 3, 3, 2);
    b.txs[2] = b.txs[0];
    codec_block_tx_root(&b, NULL, b.header.tx_root);
    uint8_t enc[PBFT_BLOCK_HEADER_SIZE + 3 * PBFT_TX_SIZE_MAX];
    size_t size = codec_block_encode(&b, enc, sizeof(enc));
    assert_int_equal(codec_block_decode(enc, size, &decoded), PBFT_OK);
    assert_int_equal(codec_block_check_root(&decoded), PBFT_OK);
    codec_block_free(&decoded);

    /* Wrong root: decodes, fails the root check. */
    enc[60] ^= 1; /* inside tx_root (offset 60..91) */
    assert_int_equal(codec_block_decode(enc, size, &decoded), PBFT_OK);
    assert_int_equal(codec_block_check_root(&decoded), PBFT_ERR_BAD_MERKLE_ROOT);
    codec_block_free(&decoded);

    /* Reordered txs change the root. */
    pbft_tx_t tmp = b.txs[0];
    b.txs[0] = b.txs[1];
    b.txs[1] = tmp;
    assert_int_equal(codec_block_check_root(&b), PBFT_ERR_BAD_MERKLE_ROOT);
    codec_block_free(&b);
}

static void test_block_tx_root_matches_crypto_merkle_of_ids(void **state) {
    (void)state;
    pbft_block_t b;
    make_block(&b, 4, 5, 1);
    uint8_t ids[5][PBFT_HASH_SIZE], root[PBFT_HASH_SIZE], expected[PBFT_HASH_SIZE];
    codec_block_tx_root(&b, ids, root);
    for (uint32_t i = 0; i < 5; i++) {
        uint8_t id[PBFT_HASH_SIZE];
        codec_tx_id(&b.txs[i], id);
        assert_memory_equal(ids[i], id, PBFT_HASH_SIZE);
    }
    crypto_merkle_root((const uint8_t(*)[PBFT_HASH_SIZE])ids, 5, expected);
    assert_memory_equal(root, expected, PBFT_HASH_SIZE);
    codec_block_free(&b);

    /* Empty block: the root of zero leaves is SHA-256(""). */
    pbft_block_t empty;
    make_block(&empty, 4, 0, 0);
    uint8_t sha_empty[PBFT_HASH_SIZE];
    hex_to_bytes("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", sha_empty,
                 sizeof(sha_empty));
    assert_memory_equal(empty.header.tx_root, sha_empty, PBFT_HASH_SIZE);
    assert_int_equal(codec_block_check_root(&empty), PBFT_OK);
}

/* ------------------------------------------------------------------------ */
/* Certificates                                                               */

static void test_commit_cert_round_trip_and_properties(void **state) {
    (void)state;
    for (uint16_t count = 1; count <= PBFT_REPLICA_COUNT_MAX; count += 5) {
        pbft_commit_cert_t c, decoded;
        make_commit_cert(&c, count);
        uint8_t enc[2048];
        size_t size = codec_commit_cert_encode(&c, enc, sizeof(enc));
        assert_int_equal(size, 50 + 66 * (size_t)count);
        assert_int_equal(size, codec_commit_cert_size(&c));
        assert_int_equal(codec_commit_cert_decode(enc, size, &decoded), PBFT_OK);
        assert_memory_equal(&decoded, &c, sizeof(c));
        assert_int_equal(codec_commit_cert_encode(&c, enc, size - 1), 0);
    }
    pbft_commit_cert_t c;
    make_commit_cert(&c, 3);
    uint8_t enc[2048];
    size_t size = codec_commit_cert_encode(&c, enc, sizeof(enc));
    check_decoder_properties(reencode_commit_cert, enc, size);
}

static void test_checkpoint_cert_round_trip_and_properties(void **state) {
    (void)state;
    for (uint16_t count = 1; count <= 7; count += 3) {
        pbft_checkpoint_cert_t c, decoded;
        make_checkpoint_cert(&c, count);
        uint8_t enc[2048];
        size_t size = codec_checkpoint_cert_encode(&c, enc, sizeof(enc));
        assert_int_equal(size, 74 + 66 * (size_t)count);
        assert_int_equal(size, codec_checkpoint_cert_size(&c));
        assert_int_equal(codec_checkpoint_cert_decode(enc, size, &decoded), PBFT_OK);
        assert_memory_equal(&decoded, &c, sizeof(c));
    }
    pbft_checkpoint_cert_t c;
    make_checkpoint_cert(&c, 3);
    uint8_t enc[2048];
    size_t size = codec_checkpoint_cert_encode(&c, enc, sizeof(enc));
    check_decoder_properties(reencode_checkpoint_cert, enc, size);
}

/* Builds a commit cert encoding by hand (the encoder would refuse nothing,
 * but the decoder must). */
static size_t put_raw_commit_cert(uint8_t *out, size_t capacity, uint16_t count,
                                  const uint16_t *replicas) {
    codec_writer_t w;
    codec_writer_init(&w, out, capacity);
    codec_put_u64(&w, 1);
    codec_put_u64(&w, 2);
    uint8_t hash[PBFT_HASH_SIZE] = {0};
    codec_put_bytes(&w, hash, sizeof(hash));
    codec_put_u16(&w, count);
    uint8_t sig[PBFT_SIGNATURE_SIZE];
    memset(sig, 0x5a, sizeof(sig));
    for (uint16_t i = 0; i < count; i++) {
        codec_put_u16(&w, replicas[i]);
        codec_put_bytes(&w, sig, sizeof(sig));
    }
    assert_false(w.failed);
    return w.size;
}

static void test_cert_decoders_enforce_count_and_order(void **state) {
    (void)state;
    uint8_t enc[4096];
    pbft_commit_cert_t c;
    uint16_t replicas[PBFT_REPLICA_COUNT_MAX + 1];
    for (uint16_t i = 0; i <= PBFT_REPLICA_COUNT_MAX; i++)
        replicas[i] = i;

    size_t size = put_raw_commit_cert(enc, sizeof(enc), 0, replicas);
    assert_int_equal(codec_commit_cert_decode(enc, size, &c), PBFT_ERR_LIMIT);
    size = put_raw_commit_cert(enc, sizeof(enc), PBFT_REPLICA_COUNT_MAX + 1, replicas);
    assert_int_equal(codec_commit_cert_decode(enc, size, &c), PBFT_ERR_LIMIT);
    size = put_raw_commit_cert(enc, sizeof(enc), PBFT_REPLICA_COUNT_MAX, replicas);
    assert_int_equal(codec_commit_cert_decode(enc, size, &c), PBFT_OK);

    const uint16_t unsorted[] = {0, 2, 1};
    size = put_raw_commit_cert(enc, sizeof(enc), 3, unsorted);
    assert_int_equal(codec_commit_cert_decode(enc, size, &c), PBFT_ERR_NOT_CANONICAL);
    const uint16_t duplicate[] = {0, 1, 1};
    size = put_raw_commit_cert(enc, sizeof(enc), 3, duplicate);
    assert_int_equal(codec_commit_cert_decode(enc, size, &c), PBFT_ERR_NOT_CANONICAL);
    const uint16_t out_of_range[] = {0, 1, PBFT_REPLICA_COUNT_MAX};
    size = put_raw_commit_cert(enc, sizeof(enc), 3, out_of_range);
    assert_int_equal(codec_commit_cert_decode(enc, size, &c), PBFT_ERR_LIMIT);
    const uint16_t sparse[] = {1, 7, 15};
    size = put_raw_commit_cert(enc, sizeof(enc), 3, sparse);
    assert_int_equal(codec_commit_cert_decode(enc, size, &c), PBFT_OK);

    /* A count of 17 is rejected even when the bytes are short: the limit is
     * checked before the entries are read. */
    size = put_raw_commit_cert(enc, sizeof(enc), 0, replicas);
    enc[48] = PBFT_REPLICA_COUNT_MAX + 1;
    assert_int_equal(codec_commit_cert_decode(enc, size, &c), PBFT_ERR_LIMIT);

    /* The checkpoint cert shares the entry rules. */
    pbft_checkpoint_cert_t k;
    make_checkpoint_cert(&k, 3);
    k.sigs[2].replica = k.sigs[1].replica;
    size = codec_checkpoint_cert_encode(&k, enc, sizeof(enc));
    pbft_checkpoint_cert_t decoded;
    assert_int_equal(codec_checkpoint_cert_decode(enc, size, &decoded), PBFT_ERR_NOT_CANONICAL);
    k.count = 0;
    size = codec_checkpoint_cert_encode(&k, enc, sizeof(enc));
    assert_int_equal(codec_checkpoint_cert_decode(enc, size, &decoded), PBFT_ERR_LIMIT);
}

/* The *_read / *_write functions compose inside larger messages (PBFT
 * messages embed blocks and certificates): a failure anywhere is sticky and
 * leaves nothing allocated. */
static void test_readers_compose_inside_a_larger_message(void **state) {
    (void)state;
    pbft_block_t b;
    pbft_commit_cert_t c;
    make_block(&b, 8, 2, 3);
    make_commit_cert(&c, 3);
    size_t capacity = 8 + codec_block_size(&b) + codec_commit_cert_size(&c) + 2;
    uint8_t *buf = malloc(capacity);
    assert_non_null(buf);
    codec_writer_t w;
    codec_writer_init(&w, buf, capacity);
    codec_put_u64(&w, 0x1122334455667788ull);
    codec_block_write(&w, &b);
    codec_commit_cert_write(&w, &c);
    codec_put_u16(&w, 0xbeef);
    assert_false(w.failed);
    assert_int_equal(w.size, capacity);

    codec_reader_t r;
    pbft_block_t rb;
    pbft_commit_cert_t rc;
    codec_reader_init(&r, buf, w.size);
    assert_int_equal(codec_get_u64(&r), 0x1122334455667788ull);
    codec_block_read(&r, &rb);
    codec_commit_cert_read(&r, &rc);
    assert_int_equal(codec_get_u16(&r), 0xbeef);
    assert_int_equal(codec_reader_finish(&r), PBFT_OK);
    assert_memory_equal(rb.txs, b.txs, 2 * sizeof(pbft_tx_t));
    assert_memory_equal(&rc, &c, sizeof(c));
    codec_block_free(&rb);

    /* Cut inside the second tx of the block: sticky TRUNCATED, no txs kept,
     * later reads yield zeros. */
    codec_reader_init(&r, buf, 8 + PBFT_BLOCK_HEADER_SIZE + codec_tx_size(&b.txs[0]) + 10);
    codec_get_u64(&r);
    codec_block_read(&r, &rb);
    assert_null(rb.txs);
    assert_int_equal(rb.header.tx_count, 0);
    codec_commit_cert_read(&r, &rc);
    assert_int_equal(rc.count, 0);
    assert_int_equal(codec_reader_finish(&r), PBFT_ERR_TRUNCATED);
    free(buf);
    codec_block_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tx_known_answer_bytes_and_id),
        cmocka_unit_test(test_tx_round_trips_empty_and_max_memo),
        cmocka_unit_test(test_tx_every_mutation_and_truncation_is_caught),
        cmocka_unit_test(test_tx_rejects_memo_over_limit),
        cmocka_unit_test(test_tx_rejects_bad_version_and_pubkey_prefix),
        cmocka_unit_test(test_tx_encode_reports_small_buffer),
        cmocka_unit_test(test_tx_id_ignores_signature_and_covers_every_field),
        cmocka_unit_test(test_tx_sign_then_verify_with_real_key),
        cmocka_unit_test(test_header_known_answer_bytes_and_hash),
        cmocka_unit_test(test_header_every_mutation_and_truncation_is_caught),
        cmocka_unit_test(test_header_rejects_version_reserved_and_tx_count_limit),
        cmocka_unit_test(test_block_round_trips_empty_small_and_full),
        cmocka_unit_test(test_block_full_size_is_exactly_the_limit),
        cmocka_unit_test(test_block_every_mutation_and_truncation_is_caught),
        cmocka_unit_test(test_block_rejects_tx_count_over_limit),
        cmocka_unit_test(test_block_count_beyond_remaining_bytes_is_truncated),
        cmocka_unit_test(test_block_decode_rejects_input_over_size_limit),
        cmocka_unit_test(test_block_decode_is_structural_root_check_is_separate),
        cmocka_unit_test(test_block_tx_root_matches_crypto_merkle_of_ids),
        cmocka_unit_test(test_commit_cert_round_trip_and_properties),
        cmocka_unit_test(test_checkpoint_cert_round_trip_and_properties),
        cmocka_unit_test(test_cert_decoders_enforce_count_and_order),
        cmocka_unit_test(test_readers_compose_inside_a_larger_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
