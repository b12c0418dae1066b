/*
 * tests/unit/tools_receipt_test.c — the wallet's receipt check accepts a
 * genuine receipt and rejects every forgery a lying replica could try, each
 * with the status that names what is wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "../../tools/common/json.h"
#include "../../tools/common/receipt.h"
#include "pbft/cert.h"
#include "pbft/codec.h"
#include "pbft/crypto.h"
#include "pbft/ledger.h"

#define FIXTURE_TX_COUNT 5
#define FIXTURE_HEIGHT 7

typedef struct fixture {
    crypto_key_t *validators[4];
    crypto_key_t *strangers[4];
    crypto_key_t *sender;
    pbft_genesis_t genesis;
    pbft_block_t block;
    uint8_t ids[FIXTURE_TX_COUNT][PBFT_HASH_SIZE];
    pbft_commit_cert_t cert;
} fixture_t;

/* Signs a commit certificate for header with the given keys as replicas
 * 0..count-1 over chain_id. */
static void sign_cert(crypto_key_t *const *keys, size_t count, const uint8_t *chain_id,
                      const pbft_block_header_t *header, pbft_commit_cert_t *out) {
    memset(out, 0, sizeof(*out));
    out->view = 0;
    out->seq = header->height;
    codec_header_hash(header, out->block_hash);
    out->count = (uint16_t)count;
    for (size_t i = 0; i < count; i++) {
        uint8_t digest[PBFT_HASH_SIZE];
        cert_vote_digest(CRYPTO_TAG_COMMIT, chain_id, out->view, out->seq, out->block_hash,
                         (uint16_t)i, digest);
        out->sigs[i].replica = (uint16_t)i;
        assert_int_equal(crypto_sign_digest(keys[i], digest, out->sigs[i].signature), PBFT_OK);
    }
}

static int setup(void **state) {
    fixture_t *f = pbft_xcalloc(1, sizeof(*f));
    for (int i = 0; i < 4; i++) {
        f->validators[i] = crypto_key_generate();
        f->strangers[i] = crypto_key_generate();
        crypto_key_public(f->validators[i], f->genesis.validators.pubkeys[i]);
    }
    f->sender = crypto_key_generate();
    f->genesis.validators.count = 4;
    snprintf(f->genesis.chain_name, sizeof(f->genesis.chain_name), "receipt-test");
    f->genesis.params = (pbft_consensus_params_t){64, 500, 2, 8, 2000, 4000};
    f->genesis.account_count = 1;
    f->genesis.accounts = pbft_xcalloc(1, sizeof(pbft_account_t));
    uint8_t pubkey[PBFT_PUBKEY_SIZE];
    crypto_key_public(f->sender, pubkey);
    crypto_address(pubkey, f->genesis.accounts[0].address);
    f->genesis.accounts[0].balance = 1000;
    ledger_genesis_derive(&f->genesis);

    f->block.txs = pbft_xcalloc(FIXTURE_TX_COUNT, sizeof(pbft_tx_t));
    for (uint32_t i = 0; i < FIXTURE_TX_COUNT; i++) {
        pbft_tx_t *tx = &f->block.txs[i];
        memcpy(tx->sender_pubkey, pubkey, PBFT_PUBKEY_SIZE);
        memset(tx->recipient, 0x40 + (int)i, PBFT_ADDRESS_SIZE);
        tx->amount = 10 + i;
        tx->nonce = i;
        assert_int_equal(codec_tx_sign(tx, f->sender, f->genesis.chain_id), PBFT_OK);
    }
    pbft_block_header_t *h = &f->block.header;
    h->version = PBFT_BLOCK_VERSION;
    h->height = FIXTURE_HEIGHT;
    h->view = 0;
    h->timestamp_ms = 1700000000000ull;
    memset(h->prev_hash, 0x11, PBFT_HASH_SIZE);
    h->tx_count = FIXTURE_TX_COUNT;
    h->proposer = 0;
    codec_block_tx_root(&f->block, f->ids, h->tx_root);
    sign_cert(f->validators, 3, f->genesis.chain_id, h, &f->cert);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    for (int i = 0; i < 4; i++) {
        crypto_key_free(f->validators[i]);
        crypto_key_free(f->strangers[i]);
    }
    crypto_key_free(f->sender);
    codec_block_free(&f->block);
    ledger_genesis_free(&f->genesis);
    free(f);
    return 0;
}

/* The GET /tx/{id} answer an honest replica would send for tx `index`. */
static json_t *honest_answer(const fixture_t *f, uint32_t index) {
    uint8_t tx_bytes[PBFT_TX_SIZE_MAX], header[PBFT_BLOCK_HEADER_SIZE], cert[4096];
    size_t tx_size = codec_tx_encode(&f->block.txs[index], tx_bytes, sizeof(tx_bytes));
    codec_header_encode(&f->block.header, header);
    size_t cert_size = codec_commit_cert_encode(&f->cert, cert, sizeof(cert));
    assert_true(tx_size > 0 && cert_size > 0);
    crypto_merkle_proof_t proof;
    crypto_merkle_prove((const uint8_t(*)[PBFT_HASH_SIZE])f->ids, FIXTURE_TX_COUNT, index, &proof);
    json_t *siblings = json_array();
    for (uint8_t i = 0; i < proof.sibling_count; i++)
        json_array_append_new(siblings, tools_json_hex(proof.siblings[i], PBFT_HASH_SIZE));
    json_t *receipt =
        json_pack("{s:o, s:o, s:{s:i, s:i, s:o}, s:o}", "tx", tools_json_hex(tx_bytes, tx_size),
                  "header", tools_json_hex(header, sizeof(header)), "proof", "leaf_index",
                  (int)proof.leaf_index, "leaf_count", (int)proof.leaf_count, "siblings", siblings,
                  "cert", tools_json_hex(cert, cert_size));
    return json_pack("{s:o, s:s, s:o, s:i, s:s, s:o}", "id",
                     tools_json_hex(f->ids[index], PBFT_HASH_SIZE), "status", "committed", "height",
                     tools_json_u64(f->block.header.height), "index", (int)index, "result", "ok",
                     "receipt", receipt);
}

static void replace_hex(json_t *obj, const char *key, const uint8_t *bytes, size_t size) {
    json_object_set_new(obj, key, tools_json_hex(bytes, size));
}

static void replace_cert(json_t *answer, const pbft_commit_cert_t *cert) {
    uint8_t bytes[4096];
    size_t size = codec_commit_cert_encode(cert, bytes, sizeof(bytes));
    assert_true(size > 0);
    replace_hex(json_object_get(answer, "receipt"), "cert", bytes, size);
}

static tools_receipt_status_t verify(const fixture_t *f, uint32_t index, const json_t *answer) {
    char why[512];
    return tools_receipt_verify(&f->genesis, f->ids[index], answer, NULL, why, sizeof(why));
}

static void test_receipt_genuine_passes_for_every_tx(void **state) {
    fixture_t *f = *state;
    for (uint32_t i = 0; i < FIXTURE_TX_COUNT; i++) {
        json_t *answer = honest_answer(f, i);
        tools_receipt_t r;
        char why[512] = "";
        assert_int_equal(tools_receipt_verify(&f->genesis, f->ids[i], answer, &r, why, sizeof(why)),
                         TOOLS_RECEIPT_OK);
        assert_int_equal(r.header.height, FIXTURE_HEIGHT);
        assert_int_equal(r.proof.leaf_index, i);
        assert_string_equal(r.result, "ok");
        json_decref(answer);
    }
}

static void test_receipt_rejects_flipped_merkle_sibling(void **state) {
    fixture_t *f = *state;
    json_t *answer = honest_answer(f, 2);
    json_t *siblings =
        json_object_get(json_object_get(json_object_get(answer, "receipt"), "proof"), "siblings");
    uint8_t sibling[PBFT_HASH_SIZE];
    const char *hex = json_string_value(json_array_get(siblings, 0));
    assert_int_equal(crypto_hex_decode(hex, strlen(hex), sibling, sizeof(sibling)), PBFT_OK);
    sibling[5] ^= 0x01;
    json_array_set_new(siblings, 0, tools_json_hex(sibling, sizeof(sibling)));
    assert_int_equal(verify(f, 2, answer), TOOLS_RECEIPT_BAD_MERKLE_PROOF);
    json_decref(answer);
}

static void test_receipt_rejects_wrong_leaf_index(void **state) {
    fixture_t *f = *state;
    json_t *answer = honest_answer(f, 1);
    json_t *proof = json_object_get(json_object_get(answer, "receipt"), "proof");
    json_object_set_new(proof, "leaf_index", json_integer(0));
    json_object_set_new(answer, "index", json_integer(0));
    assert_int_equal(verify(f, 1, answer), TOOLS_RECEIPT_BAD_MERKLE_PROOF);
    json_decref(answer);
}

static void test_receipt_rejects_proof_with_wrong_leaf_count(void **state) {
    fixture_t *f = *state;
    json_t *answer = honest_answer(f, 0);
    json_t *proof = json_object_get(json_object_get(answer, "receipt"), "proof");
    json_object_set_new(proof, "leaf_count", json_integer(FIXTURE_TX_COUNT + 1));
    assert_int_equal(verify(f, 0, answer), TOOLS_RECEIPT_BAD_MERKLE_PROOF);
    json_decref(answer);
}

static void test_receipt_rejects_cert_with_two_signatures(void **state) {
    fixture_t *f = *state;
    pbft_commit_cert_t cert;
    sign_cert(f->validators, 2, f->genesis.chain_id, &f->block.header, &cert);
    json_t *answer = honest_answer(f, 3);
    replace_cert(answer, &cert);
    assert_int_equal(verify(f, 3, answer), TOOLS_RECEIPT_CERT_NO_QUORUM);
    json_decref(answer);
}

static void test_receipt_rejects_cert_from_wrong_keys(void **state) {
    fixture_t *f = *state;
    pbft_commit_cert_t cert;
    sign_cert(f->strangers, 4, f->genesis.chain_id, &f->block.header, &cert);
    json_t *answer = honest_answer(f, 3);
    replace_cert(answer, &cert);
    assert_int_equal(verify(f, 3, answer), TOOLS_RECEIPT_CERT_BAD_SIGNATURE);
    json_decref(answer);
}

static void test_receipt_rejects_cert_for_another_chain(void **state) {
    fixture_t *f = *state;
    uint8_t other_chain[PBFT_CHAIN_ID_SIZE];
    memcpy(other_chain, f->genesis.chain_id, sizeof(other_chain));
    other_chain[0] ^= 0xff;
    pbft_commit_cert_t cert;
    sign_cert(f->validators, 4, other_chain, &f->block.header, &cert);
    json_t *answer = honest_answer(f, 4);
    replace_cert(answer, &cert);
    assert_int_equal(verify(f, 4, answer), TOOLS_RECEIPT_CERT_BAD_SIGNATURE);
    json_decref(answer);
}

static void test_receipt_rejects_header_of_another_height(void **state) {
    fixture_t *f = *state;
    pbft_block_header_t other = f->block.header;
    other.height = FIXTURE_HEIGHT + 1;
    uint8_t bytes[PBFT_BLOCK_HEADER_SIZE];
    codec_header_encode(&other, bytes);
    json_t *answer = honest_answer(f, 0);
    replace_hex(json_object_get(answer, "receipt"), "header", bytes, sizeof(bytes));
    json_object_set_new(answer, "height", tools_json_u64(FIXTURE_HEIGHT + 1));
    assert_int_equal(verify(f, 0, answer), TOOLS_RECEIPT_CERT_WRONG_BLOCK);
    json_decref(answer);
}

static void test_receipt_rejects_header_with_same_height_other_root(void **state) {
    fixture_t *f = *state;
    pbft_block_header_t other = f->block.header;
    other.tx_root[0] ^= 1;
    uint8_t bytes[PBFT_BLOCK_HEADER_SIZE];
    codec_header_encode(&other, bytes);
    json_t *answer = honest_answer(f, 0);
    replace_hex(json_object_get(answer, "receipt"), "header", bytes, sizeof(bytes));
    assert_int_equal(verify(f, 0, answer), TOOLS_RECEIPT_CERT_WRONG_BLOCK);
    json_decref(answer);
}

static void test_receipt_rejects_receipt_of_another_tx(void **state) {
    fixture_t *f = *state;
    json_t *answer = honest_answer(f, 1);
    assert_int_equal(verify(f, 2, answer), TOOLS_RECEIPT_TX_MISMATCH);
    json_decref(answer);
}

static void test_receipt_rejects_claimed_height_that_differs(void **state) {
    fixture_t *f = *state;
    json_t *answer = honest_answer(f, 1);
    json_object_set_new(answer, "height", tools_json_u64(FIXTURE_HEIGHT + 5));
    assert_int_equal(verify(f, 1, answer), TOOLS_RECEIPT_LOCATION_MISMATCH);
    json_decref(answer);
}

static void test_receipt_rejects_duplicate_and_unknown_signers(void **state) {
    fixture_t *f = *state;
    json_t *answer = honest_answer(f, 0);
    tools_receipt_t r;
    assert_int_equal(tools_receipt_parse(answer, &r, NULL, 0), TOOLS_RECEIPT_OK);
    tools_receipt_t dup = r;
    dup.cert.sigs[1] = dup.cert.sigs[0];
    assert_int_equal(tools_receipt_check(&f->genesis, f->ids[0], &dup, NULL, 0),
                     TOOLS_RECEIPT_CERT_BAD_SIGNER);
    tools_receipt_t unknown = r;
    unknown.cert.sigs[2].replica = 9;
    assert_int_equal(tools_receipt_check(&f->genesis, f->ids[0], &unknown, NULL, 0),
                     TOOLS_RECEIPT_CERT_BAD_SIGNER);
    json_decref(answer);
}

static void test_receipt_rejects_malformed_answers(void **state) {
    fixture_t *f = *state;
    json_t *answer = honest_answer(f, 0);
    json_object_set_new(json_object_get(answer, "receipt"), "cert", json_string("zz"));
    assert_int_equal(verify(f, 0, answer), TOOLS_RECEIPT_MALFORMED);
    json_decref(answer);
    answer = honest_answer(f, 0);
    json_object_set_new(answer, "status", json_string("pending"));
    assert_int_equal(verify(f, 0, answer), TOOLS_RECEIPT_MALFORMED);
    json_decref(answer);
    answer = honest_answer(f, 0);
    json_object_del(json_object_get(answer, "receipt"), "proof");
    assert_int_equal(verify(f, 0, answer), TOOLS_RECEIPT_MALFORMED);
    json_decref(answer);
}

static void test_receipt_rejects_tx_with_forged_signature(void **state) {
    fixture_t *f = *state;
    json_t *answer = honest_answer(f, 0);
    tools_receipt_t r;
    assert_int_equal(tools_receipt_parse(answer, &r, NULL, 0), TOOLS_RECEIPT_OK);
    r.tx.signature[10] ^= 0x01; /* the id does not cover the signature */
    assert_int_equal(tools_receipt_check(&f->genesis, f->ids[0], &r, NULL, 0),
                     TOOLS_RECEIPT_BAD_TX_SIGNATURE);
    json_decref(answer);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_receipt_genuine_passes_for_every_tx),
        cmocka_unit_test(test_receipt_rejects_flipped_merkle_sibling),
        cmocka_unit_test(test_receipt_rejects_wrong_leaf_index),
        cmocka_unit_test(test_receipt_rejects_proof_with_wrong_leaf_count),
        cmocka_unit_test(test_receipt_rejects_cert_with_two_signatures),
        cmocka_unit_test(test_receipt_rejects_cert_from_wrong_keys),
        cmocka_unit_test(test_receipt_rejects_cert_for_another_chain),
        cmocka_unit_test(test_receipt_rejects_header_of_another_height),
        cmocka_unit_test(test_receipt_rejects_header_with_same_height_other_root),
        cmocka_unit_test(test_receipt_rejects_receipt_of_another_tx),
        cmocka_unit_test(test_receipt_rejects_claimed_height_that_differs),
        cmocka_unit_test(test_receipt_rejects_duplicate_and_unknown_signers),
        cmocka_unit_test(test_receipt_rejects_malformed_answers),
        cmocka_unit_test(test_receipt_rejects_tx_with_forged_signature),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
