/*
 * tests/unit/cert_test.c — the one certificate check, against a real
 * 4-validator set with ECDSA keys: quorum, unknown and duplicate signers,
 * bad and high-s signatures, another tag, another chain, and the binding of
 * a commit certificate to one block header.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pbft/cert.h"
#include "pbft/codec.h"
#include "pbft/crypto.h"

#define VALIDATOR_COUNT 4

typedef struct fixture {
    crypto_key_t *keys[VALIDATOR_COUNT];
    pbft_validator_set_t validators;
    uint8_t chain_id[PBFT_CHAIN_ID_SIZE];
    pbft_block_header_t header;
    uint8_t block_hash[PBFT_HASH_SIZE];
    uint8_t state_hash[PBFT_HASH_SIZE];
} fixture_t;

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof(*f));
    if (f == NULL) return -1;
    f->validators.count = VALIDATOR_COUNT;
    for (int i = 0; i < VALIDATOR_COUNT; i++) {
        f->keys[i] = crypto_key_generate();
        if (f->keys[i] == NULL) return -1;
        crypto_key_public(f->keys[i], f->validators.pubkeys[i]);
    }
    memset(f->chain_id, 0xc4, sizeof(f->chain_id));
    f->header.version = PBFT_BLOCK_VERSION;
    f->header.height = 17;
    f->header.view = 2;
    f->header.timestamp_ms = 1700000001000ull;
    memset(f->header.prev_hash, 0x01, PBFT_HASH_SIZE);
    crypto_sha256("", 0, f->header.tx_root);
    f->header.proposer = 2;
    codec_header_hash(&f->header, f->block_hash);
    memset(f->state_hash, 0x5e, sizeof(f->state_hash));
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    for (int i = 0; i < VALIDATOR_COUNT; i++)
        crypto_key_free(f->keys[i]);
    free(f);
    return 0;
}

/* Entry i is signed by keys[signers[i]] for slot slots[i] under tag. */
static void sign_commit_cert(const fixture_t *f, const char *tag, const uint8_t *chain_id,
                             pbft_commit_cert_t *c, uint16_t count, const uint16_t *slots,
                             const uint16_t *signers) {
    memset(c, 0, sizeof(*c));
    c->view = f->header.view;
    c->seq = f->header.height;
    memcpy(c->block_hash, f->block_hash, PBFT_HASH_SIZE);
    c->count = count;
    for (uint16_t i = 0; i < count; i++) {
        uint8_t digest[PBFT_HASH_SIZE];
        c->sigs[i].replica = slots[i];
        cert_vote_digest(tag, chain_id, c->view, c->seq, c->block_hash, slots[i], digest);
        assert_int_equal(
            crypto_sign_digest(f->keys[signers[i] % VALIDATOR_COUNT], digest, c->sigs[i].signature),
            PBFT_OK);
    }
}

static void make_commit_cert(const fixture_t *f, pbft_commit_cert_t *c, uint16_t count,
                             const uint16_t *slots) {
    sign_commit_cert(f, CRYPTO_TAG_COMMIT, f->chain_id, c, count, slots, slots);
}

static void make_checkpoint_cert(const fixture_t *f, pbft_checkpoint_cert_t *c, uint16_t count,
                                 const uint16_t *slots) {
    memset(c, 0, sizeof(*c));
    c->height = f->header.height;
    memcpy(c->block_hash, f->block_hash, PBFT_HASH_SIZE);
    memcpy(c->state_hash, f->state_hash, PBFT_HASH_SIZE);
    c->count = count;
    for (uint16_t i = 0; i < count; i++) {
        uint8_t digest[PBFT_HASH_SIZE];
        c->sigs[i].replica = slots[i];
        cert_checkpoint_digest(f->chain_id, c->height, c->block_hash, c->state_hash, slots[i],
                               digest);
        assert_int_equal(crypto_sign_digest(f->keys[slots[i]], digest, c->sigs[i].signature),
                         PBFT_OK);
    }
}

static const uint16_t SLOTS_012[] = {0, 1, 2};
static const uint16_t SLOTS_0123[] = {0, 1, 2, 3};
static const uint16_t SLOTS_123[] = {1, 2, 3};

/* ------------------------------------------------------------------------ */
/* Statements                                                                 */

static void test_vote_statement_layout(void **state) {
    (void)state;
    uint8_t hash[PBFT_HASH_SIZE], stmt[CERT_VOTE_STATEMENT_SIZE];
    for (int i = 0; i < PBFT_HASH_SIZE; i++)
        hash[i] = (uint8_t)i;
    cert_vote_statement(0x0102030405060708ull, 0x1112131415161718ull, hash, 0x0a0b, stmt);
    const uint8_t expected_head[16] = {8,    7,    6,    5,    4,    3,    2,    1,
                                       0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11};
    assert_memory_equal(stmt, expected_head, 16);
    assert_memory_equal(stmt + 16, hash, PBFT_HASH_SIZE);
    assert_int_equal(stmt[48], 0x0b);
    assert_int_equal(stmt[49], 0x0a);
}

static void test_checkpoint_statement_layout(void **state) {
    (void)state;
    uint8_t block_hash[PBFT_HASH_SIZE], state_hash[PBFT_HASH_SIZE];
    uint8_t stmt[CERT_CHECKPOINT_STATEMENT_SIZE];
    memset(block_hash, 0xaa, sizeof(block_hash));
    memset(state_hash, 0xbb, sizeof(state_hash));
    cert_checkpoint_statement(0x0102ull, block_hash, state_hash, 3, stmt);
    const uint8_t expected_head[8] = {2, 1, 0, 0, 0, 0, 0, 0};
    assert_memory_equal(stmt, expected_head, 8);
    assert_memory_equal(stmt + 8, block_hash, PBFT_HASH_SIZE);
    assert_memory_equal(stmt + 40, state_hash, PBFT_HASH_SIZE);
    assert_int_equal(stmt[72], 3);
    assert_int_equal(stmt[73], 0);
}

static void test_vote_digest_is_domain_hash_of_statement(void **state) {
    (void)state;
    uint8_t chain_id[PBFT_CHAIN_ID_SIZE], hash[PBFT_HASH_SIZE];
    memset(chain_id, 0x31, sizeof(chain_id));
    memset(hash, 0x42, sizeof(hash));
    uint8_t stmt[CERT_VOTE_STATEMENT_SIZE], expected[PBFT_HASH_SIZE], digest[PBFT_HASH_SIZE];
    cert_vote_statement(4, 9, hash, 1, stmt);
    crypto_domain_hash(CRYPTO_TAG_PREPARE, chain_id, stmt, sizeof(stmt), expected);
    cert_vote_digest(CRYPTO_TAG_PREPARE, chain_id, 4, 9, hash, 1, digest);
    assert_memory_equal(digest, expected, PBFT_HASH_SIZE);
    /* Another tag, another digest. */
    cert_vote_digest(CRYPTO_TAG_COMMIT, chain_id, 4, 9, hash, 1, digest);
    assert_memory_not_equal(digest, expected, PBFT_HASH_SIZE);
    /* Another replica slot, another digest. */
    cert_vote_digest(CRYPTO_TAG_PREPARE, chain_id, 4, 9, hash, 2, digest);
    assert_memory_not_equal(digest, expected, PBFT_HASH_SIZE);
}

/* ------------------------------------------------------------------------ */
/* Commit certificates                                                        */

static void test_commit_cert_quorum_of_three_passes(void **state) {
    fixture_t *f = *state;
    pbft_commit_cert_t c;
    size_t bad = 0;
    make_commit_cert(f, &c, 3, SLOTS_012);
    assert_int_equal(cert_check_commit(&f->validators, f->chain_id, &c, &bad), PBFT_OK);
    make_commit_cert(f, &c, 3, SLOTS_123);
    assert_int_equal(cert_check_commit(&f->validators, f->chain_id, &c, NULL), PBFT_OK);
    make_commit_cert(f, &c, 4, SLOTS_0123);
    assert_int_equal(cert_check_commit(&f->validators, f->chain_id, &c, &bad), PBFT_OK);

    /* And it survives the wire. */
    uint8_t enc[1024];
    pbft_commit_cert_t decoded;
    size_t size = codec_commit_cert_encode(&c, enc, sizeof(enc));
    assert_int_equal(codec_commit_cert_decode(enc, size, &decoded), PBFT_OK);
    assert_int_equal(cert_check_commit(&f->validators, f->chain_id, &decoded, &bad), PBFT_OK);
}

static void test_commit_cert_two_of_four_is_no_quorum(void **state) {
    fixture_t *f = *state;
    pbft_commit_cert_t c;
    size_t bad = 0;
    make_commit_cert(f, &c, 2, SLOTS_012);
    assert_int_equal(cert_check_commit(&f->validators, f->chain_id, &c, &bad), PBFT_ERR_NO_QUORUM);
    assert_int_equal(bad, SIZE_MAX);
    c.count = 0;
    assert_int_equal(cert_check_commit(&f->validators, f->chain_id, &c, &bad), PBFT_ERR_NO_QUORUM);
}

static void test_commit_cert_rejects_duplicate_signer(void **state) {
    fixture_t *f = *state;
    pbft_commit_cert_t c;
    size_t bad = 0;
    /* Three valid signatures, but replica 1 twice: only two distinct. */
    const uint16_t slots[] = {0, 1, 1};
    make_commit_cert(f, &c, 3, slots);
    assert_int_equal(cert_check_commit(&f->validators, f->chain_id, &c, &bad),
                     PBFT_ERR_DUPLICATE_SIGNER);
    assert_int_equal(bad, 2);
    /* Out of order, duplicate not adjacent. */
    const uint16_t slots_b[] = {1, 2, 1};
    make_commit_cert(f, &c, 3, slots_b);
    assert_int_equal(cert_check_commit(&f->validators, f->chain_id, &c, &bad),
                     PBFT_ERR_DUPLICATE_SIGNER);
    assert_int_equal(bad, 2);
}

static void test_commit_cert_rejects_unsorted_signers(void **state) {
    fixture_t *f = *state;
    pbft_commit_cert_t c;
    size_t bad = 0;
    const uint16_t slots[] = {0, 2, 1};
    make_commit_cert(f, &c, 3, slots);
    assert_int_equal(cert_check_commit(&f->validators, f->chain_id, &c, &bad),
                     PBFT_ERR_NOT_CANONICAL);
    assert_int_equal(bad, 2);
}

static void test_commit_cert_rejects_unknown_replica(void **state) {
    fixture_t *f = *state;
    pbft_commit_cert_t c;
    size_t bad = 0;
    const uint16_t slots[] = {0, 1, 7};
    /* keys[7 % 4] signs slot 7: the signature is fine, the slot is not. */
    sign_commit_cert(f, CRYPTO_TAG_COMMIT, f->chain_id, &c, 3, slots, slots);
    assert_int_equal(cert_check_commit(&f->validators, f->chain_id, &c, &bad),
                     PBFT_ERR_UNKNOWN_REPLICA);
    assert_int_equal(bad, 2);
    const uint16_t slots_b[] = {0, 1, 2, 4};
    make_commit_cert(f, &c, 3, SLOTS_012);
    c.count = 4;
    c.sigs[3].replica = slots_b[3];
    assert_int_equal(cert_check_commit(&f->validators, f->chain_id, &c, &bad),
                     PBFT_ERR_UNKNOWN_REPLICA);
    assert_int_equal(bad, 3);
}

static void test_commit_cert_more_entries_than_validators_fails(void **state) {
    fixture_t *f = *state;
    pbft_commit_cert_t c;
    const uint16_t slots[] = {0, 1, 2, 3, 4};
    make_commit_cert(f, &c, 4, SLOTS_0123);
    c.count = 5;
    c.sigs[4].replica = slots[4];
    memcpy(c.sigs[4].signature, c.sigs[3].signature, PBFT_SIGNATURE_SIZE);
    assert_int_not_equal(cert_check_commit(&f->validators, f->chain_id, &c, NULL), PBFT_OK);
    c.count = PBFT_REPLICA_COUNT_MAX + 1; /* never decodes; still no overrun */
    assert_int_not_equal(cert_check_commit(&f->validators, f->chain_id, &c, NULL), PBFT_OK);
}

static void test_commit_cert_flipped_signature_byte_is_bad_signature(void **state) {
    fixture_t *f = *state;
    pbft_commit_cert_t c, flipped;
    size_t bad = 0;
    make_commit_cert(f, &c, 3, SLOTS_012);
    for (size_t entry = 0; entry < 3; entry++) {
        for (size_t pos = 0; pos < PBFT_SIGNATURE_SIZE; pos += 21) {
            flipped = c;
            flipped.sigs[entry].signature[pos] ^= 0x01;
            bad = 99;
            assert_int_equal(cert_check_commit(&f->validators, f->chain_id, &flipped, &bad),
                             PBFT_ERR_BAD_SIGNATURE);
            assert_int_equal(bad, entry);
        }
    }
}

/* s' = n - s is the other valid ECDSA signature of the same digest; the
 * policy verifier must refuse it, so a certificate cannot be re-encoded. */
static void test_commit_cert_high_s_twin_is_rejected(void **state) {
    fixture_t *f = *state;
    static const uint8_t order[32] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
                                      0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};
    pbft_commit_cert_t c;
    size_t bad = 0;
    make_commit_cert(f, &c, 3, SLOTS_012);
    uint8_t *s = c.sigs[1].signature + 32;
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = order[i] - s[i] - borrow;
        borrow = d < 0;
        s[i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
    assert_false(crypto_signature_is_low_s(c.sigs[1].signature));
    assert_int_equal(cert_check_commit(&f->validators, f->chain_id, &c, &bad),
                     PBFT_ERR_BAD_SIGNATURE);
    assert_int_equal(bad, 1);
}

static void test_commit_cert_signature_for_another_slot_fails(void **state) {
    fixture_t *f = *state;
    pbft_commit_cert_t c;
    size_t bad = 0;
    /* Replica 3 signs, claiming slot 2. */
    const uint16_t signers[] = {0, 1, 3};
    sign_commit_cert(f, CRYPTO_TAG_COMMIT, f->chain_id, &c, 3, SLOTS_012, signers);
    assert_int_equal(cert_check_commit(&f->validators, f->chain_id, &c, &bad),
                     PBFT_ERR_BAD_SIGNATURE);
    assert_int_equal(bad, 2);
}

static void test_commit_cert_prepare_signatures_do_not_count(void **state) {
    fixture_t *f = *state;
    pbft_commit_cert_t c;
    size_t bad = 0;
    sign_commit_cert(f, CRYPTO_TAG_PREPARE, f->chain_id, &c, 3, SLOTS_012, SLOTS_012);
    assert_int_equal(cert_check_commit(&f->validators, f->chain_id, &c, &bad),
                     PBFT_ERR_BAD_SIGNATURE);
    assert_int_equal(bad, 0);
    sign_commit_cert(f, CRYPTO_TAG_PRE_PREPARE, f->chain_id, &c, 3, SLOTS_012, SLOTS_012);
    assert_int_equal(cert_check_commit(&f->validators, f->chain_id, &c, &bad),
                     PBFT_ERR_BAD_SIGNATURE);
}

static void test_commit_cert_for_another_chain_fails(void **state) {
    fixture_t *f = *state;
    pbft_commit_cert_t c;
    uint8_t other_chain[PBFT_CHAIN_ID_SIZE];
    memcpy(other_chain, f->chain_id, sizeof(other_chain));
    other_chain[31] ^= 0x80;
    sign_commit_cert(f, CRYPTO_TAG_COMMIT, other_chain, &c, 3, SLOTS_012, SLOTS_012);
    assert_int_equal(cert_check_commit(&f->validators, f->chain_id, &c, NULL),
                     PBFT_ERR_BAD_SIGNATURE);
    assert_int_equal(cert_check_commit(&f->validators, other_chain, &c, NULL), PBFT_OK);
}

static void test_commit_cert_binds_view_seq_and_hash(void **state) {
    fixture_t *f = *state;
    pbft_commit_cert_t c, changed;
    make_commit_cert(f, &c, 3, SLOTS_012);
    changed = c;
    changed.view++;
    assert_int_equal(cert_check_commit(&f->validators, f->chain_id, &changed, NULL),
                     PBFT_ERR_BAD_SIGNATURE);
    changed = c;
    changed.seq++;
    assert_int_equal(cert_check_commit(&f->validators, f->chain_id, &changed, NULL),
                     PBFT_ERR_BAD_SIGNATURE);
    changed = c;
    changed.block_hash[0] ^= 1;
    assert_int_equal(cert_check_commit(&f->validators, f->chain_id, &changed, NULL),
                     PBFT_ERR_BAD_SIGNATURE);
}

/* ------------------------------------------------------------------------ */
/* cert_check_block                                                           */

static void test_check_block_accepts_the_certified_header(void **state) {
    fixture_t *f = *state;
    pbft_commit_cert_t c;
    make_commit_cert(f, &c, 3, SLOTS_123);
    assert_int_equal(cert_check_block(&f->validators, f->chain_id, &f->header, &c), PBFT_OK);
}

static void test_check_block_rejects_wrong_height_and_hash(void **state) {
    fixture_t *f = *state;
    pbft_commit_cert_t c;
    make_commit_cert(f, &c, 3, SLOTS_012);
    pbft_block_header_t other = f->header;
    other.height++;
    assert_int_equal(cert_check_block(&f->validators, f->chain_id, &other, &c),
                     PBFT_ERR_BAD_HEIGHT);
    other = f->header;
    other.timestamp_ms++;
    assert_int_equal(cert_check_block(&f->validators, f->chain_id, &other, &c),
                     PBFT_ERR_HASH_MISMATCH);
    other = f->header;
    other.tx_root[5] ^= 1;
    assert_int_equal(cert_check_block(&f->validators, f->chain_id, &other, &c),
                     PBFT_ERR_HASH_MISMATCH);
    /* Right header, but the cert itself lacks a quorum. */
    c.count = 2;
    assert_int_equal(cert_check_block(&f->validators, f->chain_id, &f->header, &c),
                     PBFT_ERR_NO_QUORUM);
}

/* ------------------------------------------------------------------------ */
/* Checkpoint certificates                                                    */

static void test_checkpoint_cert_checks(void **state) {
    fixture_t *f = *state;
    pbft_checkpoint_cert_t c, changed;
    size_t bad = 0;
    make_checkpoint_cert(f, &c, 3, SLOTS_123);
    assert_int_equal(cert_check_checkpoint(&f->validators, f->chain_id, &c, &bad), PBFT_OK);

    changed = c;
    changed.state_hash[0] ^= 1;
    assert_int_equal(cert_check_checkpoint(&f->validators, f->chain_id, &changed, &bad),
                     PBFT_ERR_BAD_SIGNATURE);
    assert_int_equal(bad, 0);
    changed = c;
    changed.height--;
    assert_int_equal(cert_check_checkpoint(&f->validators, f->chain_id, &changed, &bad),
                     PBFT_ERR_BAD_SIGNATURE);
    changed = c;
    changed.count = 2;
    assert_int_equal(cert_check_checkpoint(&f->validators, f->chain_id, &changed, &bad),
                     PBFT_ERR_NO_QUORUM);
    changed = c;
    changed.sigs[2].replica = 9;
    assert_int_equal(cert_check_checkpoint(&f->validators, f->chain_id, &changed, &bad),
                     PBFT_ERR_UNKNOWN_REPLICA);
    assert_int_equal(bad, 2);
    changed = c;
    changed.sigs[2].signature[63] ^= 4;
    assert_int_equal(cert_check_checkpoint(&f->validators, f->chain_id, &changed, &bad),
                     PBFT_ERR_BAD_SIGNATURE);
    assert_int_equal(bad, 2);
}

/* A commit statement's signatures never pass as a checkpoint, even when the
 * bytes are rearranged to line up. */
static void test_commit_signatures_are_not_checkpoint_signatures(void **state) {
    fixture_t *f = *state;
    pbft_commit_cert_t c;
    make_commit_cert(f, &c, 3, SLOTS_012);
    pbft_checkpoint_cert_t k;
    memset(&k, 0, sizeof(k));
    k.height = c.seq;
    memcpy(k.block_hash, c.block_hash, PBFT_HASH_SIZE);
    memcpy(k.state_hash, f->state_hash, PBFT_HASH_SIZE);
    k.count = 3;
    memcpy(k.sigs, c.sigs, 3 * sizeof(pbft_replica_sig_t));
    assert_int_equal(cert_check_checkpoint(&f->validators, f->chain_id, &k, NULL),
                     PBFT_ERR_BAD_SIGNATURE);
}

/* ------------------------------------------------------------------------ */
/* The injected verifier                                                      */

typedef struct counting_verifier {
    int calls;
    uint16_t reject_replica; /* UINT16_MAX: accept all */
} counting_verifier_t;

static pbft_status_t counting_verify(void *ctx, const pbft_validator_set_t *validators,
                                     uint16_t replica, const uint8_t digest[PBFT_HASH_SIZE],
                                     const uint8_t sig[PBFT_SIGNATURE_SIZE]) {
    (void)validators;
    (void)digest;
    (void)sig;
    counting_verifier_t *v = ctx;
    v->calls++;
    return replica == v->reject_replica ? PBFT_ERR_HIGH_S : PBFT_OK;
}

static void test_injected_verifier_runs_only_after_structure_and_quorum(void **state) {
    fixture_t *f = *state;
    pbft_commit_cert_t c;
    memset(&c, 0, sizeof(c));
    counting_verifier_t v = {0, UINT16_MAX};
    size_t bad = 0;

    c.count = 2;
    c.sigs[0].replica = 0;
    c.sigs[1].replica = 1;
    assert_int_equal(
        cert_check_commit_with(&f->validators, f->chain_id, &c, counting_verify, &v, &bad),
        PBFT_ERR_NO_QUORUM);
    c.count = 3;
    c.sigs[2].replica = 1;
    assert_int_equal(
        cert_check_commit_with(&f->validators, f->chain_id, &c, counting_verify, &v, &bad),
        PBFT_ERR_DUPLICATE_SIGNER);
    assert_int_equal(v.calls, 0);

    c.sigs[2].replica = 3;
    assert_int_equal(
        cert_check_commit_with(&f->validators, f->chain_id, &c, counting_verify, &v, &bad),
        PBFT_OK);
    assert_int_equal(v.calls, 3);

    /* Any verifier failure is reported as a bad signature of that entry. */
    v.reject_replica = 3;
    assert_int_equal(
        cert_check_commit_with(&f->validators, f->chain_id, &c, counting_verify, &v, &bad),
        PBFT_ERR_BAD_SIGNATURE);
    assert_int_equal(bad, 2);
}

static void test_cert_verify_ecdsa_rejects_unknown_replica(void **state) {
    fixture_t *f = *state;
    uint8_t digest[PBFT_HASH_SIZE], sig[PBFT_SIGNATURE_SIZE];
    memset(digest, 0x12, sizeof(digest));
    assert_int_equal(crypto_sign_digest(f->keys[1], digest, sig), PBFT_OK);
    assert_int_equal(cert_verify_ecdsa(NULL, &f->validators, 1, digest, sig), PBFT_OK);
    assert_int_not_equal(cert_verify_ecdsa(NULL, &f->validators, 2, digest, sig), PBFT_OK);
    assert_int_equal(cert_verify_ecdsa(NULL, &f->validators, 4, digest, sig),
                     PBFT_ERR_UNKNOWN_REPLICA);
}

/* n = 1 (development): f = 0, one signature is a quorum. */
static void test_single_validator_quorum_is_one(void **state) {
    fixture_t *f = *state;
    pbft_validator_set_t one;
    memset(&one, 0, sizeof(one));
    one.count = 1;
    memcpy(one.pubkeys[0], f->validators.pubkeys[0], PBFT_PUBKEY_SIZE);
    pbft_commit_cert_t c;
    make_commit_cert(f, &c, 1, SLOTS_012);
    assert_int_equal(cert_check_commit(&one, f->chain_id, &c, NULL), PBFT_OK);
    make_commit_cert(f, &c, 2, SLOTS_012);
    assert_int_equal(cert_check_commit(&one, f->chain_id, &c, NULL), PBFT_ERR_UNKNOWN_REPLICA);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vote_statement_layout),
        cmocka_unit_test(test_checkpoint_statement_layout),
        cmocka_unit_test(test_vote_digest_is_domain_hash_of_statement),
        cmocka_unit_test(test_commit_cert_quorum_of_three_passes),
        cmocka_unit_test(test_commit_cert_two_of_four_is_no_quorum),
        cmocka_unit_test(test_commit_cert_rejects_duplicate_signer),
        cmocka_unit_test(test_commit_cert_rejects_unsorted_signers),
        cmocka_unit_test(test_commit_cert_rejects_unknown_replica),
        cmocka_unit_test(test_commit_cert_more_entries_than_validators_fails),
        cmocka_unit_test(test_commit_cert_flipped_signature_byte_is_bad_signature),
        cmocka_unit_test(test_commit_cert_high_s_twin_is_rejected),
        cmocka_unit_test(test_commit_cert_signature_for_another_slot_fails),
        cmocka_unit_test(test_commit_cert_prepare_signatures_do_not_count),
        cmocka_unit_test(test_commit_cert_for_another_chain_fails),
        cmocka_unit_test(test_commit_cert_binds_view_seq_and_hash),
        cmocka_unit_test(test_check_block_accepts_the_certified_header),
        cmocka_unit_test(test_check_block_rejects_wrong_height_and_hash),
        cmocka_unit_test(test_checkpoint_cert_checks),
        cmocka_unit_test(test_commit_signatures_are_not_checkpoint_signatures),
        cmocka_unit_test(test_injected_verifier_runs_only_after_structure_and_quorum),
        cmocka_unit_test(test_cert_verify_ecdsa_rejects_unknown_replica),
        cmocka_unit_test(test_single_validator_quorum_is_one),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
