/*
 * tests/unit/consensus_messages_test.c — the PBFT wire codec (pbft/messages.h):
 * round trips for every message kind, every single-byte mutation either
 * rejected or decoding to a message that re-encodes to exactly the mutated
 * bytes (one encoding per value), every truncation and trailing byte
 * rejected, and the structural rules (limits, sort orders, reserved bits).
 *
 * With PBFT_WRITE_MSG_CORPUS=DIR set, it also writes the sample bodies as
 * seed inputs DIR/fuzz_msg_<kind>/seed_<n> for the fuzz targets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "pbft/codec.h"
#include "pbft/crypto.h"
#include "pbft/messages.h"

/* ------------------------------------------------------------------------ */
/* Sample messages.                                                           */

static void fill(uint8_t *p, size_t n, uint8_t seed) {
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + 31 * i);
}

static void sample_tx(pbft_tx_t *tx, uint8_t seed) {
    memset(tx, 0, sizeof(*tx));
    fill(tx->sender_pubkey, PBFT_PUBKEY_SIZE, seed);
    tx->sender_pubkey[0] = 0x02;
    fill(tx->recipient, PBFT_ADDRESS_SIZE, (uint8_t)(seed + 1));
    tx->amount = 1000 + seed;
    tx->nonce = seed;
    tx->memo_size = seed % 3;
    fill(tx->memo, tx->memo_size, (uint8_t)(seed + 2));
    fill(tx->signature, PBFT_SIGNATURE_SIZE, (uint8_t)(seed + 3));
}

static void sample_block(pbft_block_t *b, uint64_t height, uint32_t tx_count) {
    memset(b, 0, sizeof(*b));
    b->header.version = PBFT_BLOCK_VERSION;
    b->header.height = height;
    b->header.view = 2;
    b->header.timestamp_ms = 1700000000000ull + height;
    fill(b->header.prev_hash, PBFT_HASH_SIZE, (uint8_t)height);
    b->header.tx_count = tx_count;
    b->header.proposer = 2;
    b->txs = tx_count ? calloc(tx_count, sizeof(pbft_tx_t)) : NULL;
    for (uint32_t i = 0; i < tx_count; i++)
        sample_tx(&b->txs[i], (uint8_t)(height * 7 + i));
    codec_block_tx_root(b, NULL, b->header.tx_root);
}

static void sample_prepared_cert(msg_prepared_cert_t *c, uint64_t seq) {
    memset(c, 0, sizeof(*c));
    c->view = 2;
    c->seq = seq;
    fill(c->block_hash, PBFT_HASH_SIZE, (uint8_t)(seq + 9));
    fill(c->pre_prepare_sig, PBFT_SIGNATURE_SIZE, 4);
    c->prepare_count = 2;
    c->prepares[0].replica = 0;
    c->prepares[1].replica = 3;
    fill(c->prepares[0].signature, PBFT_SIGNATURE_SIZE, 5);
    fill(c->prepares[1].signature, PBFT_SIGNATURE_SIZE, 6);
}

static void sample_view_change(msg_view_change_t *vc, uint16_t sender, bool appendix) {
    memset(vc, 0, sizeof(*vc));
    vc->new_view = 3;
    vc->sender = sender;
    vc->has_checkpoint = true;
    vc->checkpoint.height = 8;
    fill(vc->checkpoint.block_hash, PBFT_HASH_SIZE, 1);
    fill(vc->checkpoint.state_hash, PBFT_HASH_SIZE, 2);
    vc->checkpoint.count = 3;
    for (uint16_t i = 0; i < 3; i++) {
        vc->checkpoint.sigs[i].replica = i;
        fill(vc->checkpoint.sigs[i].signature, PBFT_SIGNATURE_SIZE, (uint8_t)(10 + i));
    }
    vc->has_committed = true;
    vc->committed.view = 2;
    vc->committed.seq = 10;
    fill(vc->committed.block_hash, PBFT_HASH_SIZE, 3);
    vc->committed.count = 3;
    for (uint16_t i = 0; i < 3; i++) {
        vc->committed.sigs[i].replica = (uint16_t)(i + 1);
        fill(vc->committed.sigs[i].signature, PBFT_SIGNATURE_SIZE, (uint8_t)(20 + i));
    }
    vc->cert_count = 2;
    sample_prepared_cert(&vc->certs[0], 11);
    sample_prepared_cert(&vc->certs[1], 12);
    fill(vc->signature, PBFT_SIGNATURE_SIZE, (uint8_t)(40 + sender));
    if (appendix) {
        vc->block_count = 2;
        vc->blocks = calloc(2, sizeof(pbft_block_t));
        sample_block(&vc->blocks[0], 11, 1);
        sample_block(&vc->blocks[1], 12, 0);
    }
}

/* One sample per kind; index selects a variant. */
static void sample(msg_t *m, uint8_t type) {
    memset(m, 0, sizeof(*m));
    m->type = type;
    m->sender = 1;
    fill(m->signature, PBFT_SIGNATURE_SIZE, 77);
    switch (type) {
        case MSG_REQUEST:
            m->u.request.tx_count = 2;
            m->u.request.txs = calloc(2, sizeof(pbft_tx_t));
            sample_tx(&m->u.request.txs[0], 1);
            sample_tx(&m->u.request.txs[1], 2);
            break;
        case MSG_PRE_PREPARE:
            m->u.pre_prepare.view = 2;
            m->u.pre_prepare.seq = 5;
            sample_block(&m->u.pre_prepare.block, 5, 2);
            break;
        case MSG_PREPARE:
        case MSG_COMMIT:
            m->u.vote.view = 2;
            m->u.vote.seq = 5;
            fill(m->u.vote.block_hash, PBFT_HASH_SIZE, 9);
            break;
        case MSG_CHECKPOINT:
            m->u.checkpoint.height = 16;
            fill(m->u.checkpoint.block_hash, PBFT_HASH_SIZE, 1);
            fill(m->u.checkpoint.state_hash, PBFT_HASH_SIZE, 2);
            break;
        case MSG_VIEW_CHANGE:
            m->u.view_change = calloc(1, sizeof(msg_view_change_t));
            sample_view_change(m->u.view_change, 1, true);
            memcpy(m->signature, m->u.view_change->signature, PBFT_SIGNATURE_SIZE);
            break;
        case MSG_NEW_VIEW:
            m->u.new_view.view = 3;
            m->u.new_view.vc_count = 2;
            m->u.new_view.vcs = calloc(2, sizeof(msg_view_change_t));
            sample_view_change(&m->u.new_view.vcs[0], 0, false);
            sample_view_change(&m->u.new_view.vcs[1], 2, false);
            m->u.new_view.block_count = 1;
            m->u.new_view.blocks = calloc(1, sizeof(pbft_block_t));
            m->u.new_view.pre_prepare_sigs = calloc(1, PBFT_SIGNATURE_SIZE);
            sample_block(&m->u.new_view.blocks[0], 11, 1);
            fill(m->u.new_view.pre_prepare_sigs[0], PBFT_SIGNATURE_SIZE, 8);
            break;
        case MSG_STATUS:
            m->u.status.view = 3;
            m->u.status.in_view_change = true;
            m->u.status.committed_height = 10;
            fill(m->u.status.committed_hash, PBFT_HASH_SIZE, 3);
            m->u.status.executed_height = 9;
            m->u.status.stable_height = 8;
            break;
        case MSG_STATE_REQUEST:
            m->u.state_request.from_height = 11;
            m->u.state_request.count = 64;
            break;
        case MSG_STATE_REPLY:
            m->u.state_reply.count = 2;
            m->u.state_reply.blocks = calloc(2, sizeof(pbft_block_t));
            m->u.state_reply.certs = calloc(2, sizeof(pbft_commit_cert_t));
            for (uint8_t i = 0; i < 2; i++) {
                sample_block(&m->u.state_reply.blocks[i], 11 + i, i);
                pbft_commit_cert_t *c = &m->u.state_reply.certs[i];
                c->view = 2;
                c->seq = 11 + i;
                codec_header_hash(&m->u.state_reply.blocks[i].header, c->block_hash);
                c->count = 3;
                for (uint16_t k = 0; k < 3; k++) {
                    c->sigs[k].replica = k;
                    fill(c->sigs[k].signature, PBFT_SIGNATURE_SIZE, (uint8_t)(50 + k));
                }
            }
            break;
        default:
            fail();
    }
}

static uint8_t *encode(const msg_t *m, size_t *size) {
    *size = msg_size(m);
    uint8_t *buf = malloc(*size);
    assert_int_equal(msg_encode(m, buf, *size, NULL), *size);
    return buf;
}

/* ------------------------------------------------------------------------ */
/* Tests.                                                                     */

static void maybe_write_corpus(uint8_t type, const uint8_t *frame, size_t size) {
    static const char *const names[] = {"",       "request",       "pre_prepare", "prepare",
                                        "commit", "checkpoint",    "view_change", "new_view",
                                        "status", "state_request", "state_reply"};
    const char *dir = getenv("PBFT_WRITE_MSG_CORPUS");
    if (dir == NULL) return;
    char path[512];
    snprintf(path, sizeof(path), "%s/fuzz_msg_%s", dir, names[type]);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/fuzz_msg_%s/seed_1", dir, names[type]);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    /* The targets take the frame without its 4-byte header. */
    assert_int_equal(fwrite(frame + MSG_HEADER_SIZE, 1, size - MSG_HEADER_SIZE, f),
                     size - MSG_HEADER_SIZE);
    fclose(f);
}

static void test_every_kind_round_trips(void **state) {
    (void)state;
    for (uint8_t type = MSG_TYPE_FIRST; type <= MSG_TYPE_LAST; type++) {
        msg_t m, d;
        sample(&m, type);
        size_t size;
        uint8_t *frame = encode(&m, &size);
        maybe_write_corpus(type, frame, size);
        assert_int_equal(msg_decode(frame, size, &d), PBFT_OK);
        assert_int_equal(d.type, type);
        assert_int_equal(d.sender, 1);
        assert_int_equal(d.has_signature, msg_type_is_signed(type));
        size_t size2;
        uint8_t *again = encode(&d, &size2);
        assert_int_equal(size2, size);
        assert_memory_equal(again, frame, size);
        if (msg_type_is_signed(type)) {
            size_t signed_size = 0;
            uint8_t *tmp = malloc(size);
            (void)msg_encode(&m, tmp, size, &signed_size);
            assert_int_equal(d.signed_size, signed_size);
            assert_memory_equal(frame + signed_size, m.signature, PBFT_SIGNATURE_SIZE);
            free(tmp);
        }
        free(again);
        free(frame);
        msg_free(&d);
        msg_free(&m);
    }
}

/* A mutated frame is either rejected or is itself the one encoding of
 * what it decodes to. */
static void test_every_byte_mutation_rejected_or_canonical(void **state) {
    (void)state;
    static const uint8_t flips[] = {0x01, 0x80, 0xff};
    for (uint8_t type = MSG_TYPE_FIRST; type <= MSG_TYPE_LAST; type++) {
        msg_t m;
        sample(&m, type);
        size_t size;
        uint8_t *frame = encode(&m, &size);
        uint8_t *mut = malloc(size);
        size_t rejected = 0;
        for (size_t i = 0; i < size; i++) {
            for (size_t k = 0; k < sizeof(flips); k++) {
                memcpy(mut, frame, size);
                mut[i] ^= flips[k];
                msg_t d;
                if (msg_decode(mut, size, &d) == PBFT_OK) {
                    size_t size2;
                    uint8_t *again = encode(&d, &size2);
                    assert_int_equal(size2, size);
                    assert_memory_equal(again, mut, size);
                    free(again);
                } else {
                    rejected++;
                }
                msg_free(&d);
            }
        }
        assert_true(rejected > 0); /* at least the header bytes */
        free(mut);
        free(frame);
        msg_free(&m);
    }
}

static void test_truncation_and_trailing_bytes_rejected(void **state) {
    (void)state;
    for (uint8_t type = MSG_TYPE_FIRST; type <= MSG_TYPE_LAST; type++) {
        msg_t m, d;
        sample(&m, type);
        size_t size;
        uint8_t *frame = encode(&m, &size);
        for (size_t cut = 0; cut < size; cut++) {
            assert_int_not_equal(msg_decode(frame, cut, &d), PBFT_OK);
            msg_free(&d);
        }
        uint8_t *longer = malloc(size + 1);
        memcpy(longer, frame, size);
        longer[size] = 0;
        assert_int_equal(msg_decode(longer, size + 1, &d), PBFT_ERR_TRAILING);
        msg_free(&d);
        free(longer);
        free(frame);
        msg_free(&m);
    }
}

static void test_header_rules(void **state) {
    (void)state;
    msg_t m, d;
    sample(&m, MSG_PREPARE);
    size_t size;
    uint8_t *frame = encode(&m, &size);
    frame[0] = MSG_VERSION + 1;
    assert_int_equal(msg_decode(frame, size, &d), PBFT_ERR_VERSION);
    msg_free(&d);
    frame[0] = MSG_VERSION;
    frame[1] = MSG_TYPE_LAST + 1;
    assert_int_equal(msg_decode(frame, size, &d), PBFT_ERR_MALFORMED);
    msg_free(&d);
    frame[1] = 0;
    assert_int_equal(msg_decode(frame, size, &d), PBFT_ERR_MALFORMED);
    msg_free(&d);
    frame[1] = MSG_PREPARE;
    frame[2] = PBFT_REPLICA_COUNT_MAX;
    assert_int_equal(msg_decode(frame, size, &d), PBFT_ERR_UNKNOWN_REPLICA);
    msg_free(&d);
    free(frame);
    msg_free(&m);
}

static void test_structural_limits(void **state) {
    (void)state;
    msg_t m, d;
    size_t size;
    uint8_t *frame;
    /* Prepared certificates out of seq order are not canonical. */
    sample(&m, MSG_VIEW_CHANGE);
    m.u.view_change->certs[1].seq = 11;
    frame = encode(&m, &size);
    assert_int_equal(msg_decode(frame, size, &d), PBFT_ERR_NOT_CANONICAL);
    msg_free(&d);
    free(frame);
    /* Prepare signers out of order. */
    m.u.view_change->certs[1].seq = 12;
    m.u.view_change->certs[0].prepares[1].replica = 0;
    frame = encode(&m, &size);
    assert_int_equal(msg_decode(frame, size, &d), PBFT_ERR_NOT_CANONICAL);
    msg_free(&d);
    free(frame);
    m.u.view_change->certs[0].prepares[1].replica = 3;
    /* Reserved flag bit. */
    frame = encode(&m, &size);
    frame[MSG_HEADER_SIZE + 8] |= 0x80;
    assert_int_equal(msg_decode(frame, size, &d), PBFT_ERR_RESERVED);
    msg_free(&d);
    free(frame);
    msg_free(&m);
    /* An empty REQUEST. */
    uint8_t empty[MSG_HEADER_SIZE + 2] = {MSG_VERSION, MSG_REQUEST, 1, 0, 0, 0};
    assert_int_equal(msg_decode(empty, sizeof(empty), &d), PBFT_ERR_LIMIT);
    msg_free(&d);
    /* STATE-REQUEST for 0 or too many blocks. */
    sample(&m, MSG_STATE_REQUEST);
    m.u.state_request.count = MSG_STATE_REPLY_BLOCK_COUNT_MAX + 1;
    frame = encode(&m, &size);
    assert_int_equal(msg_decode(frame, size, &d), PBFT_ERR_LIMIT);
    msg_free(&d);
    free(frame);
    msg_free(&m);
    /* STATE-REPLY heights must be consecutive. */
    sample(&m, MSG_STATE_REPLY);
    m.u.state_reply.blocks[1].header.height = 20;
    frame = encode(&m, &size);
    assert_int_equal(msg_decode(frame, size, &d), PBFT_ERR_NOT_CANONICAL);
    msg_free(&d);
    free(frame);
    msg_free(&m);
    /* A NEW-VIEW's view changes must be sorted by sender. */
    sample(&m, MSG_NEW_VIEW);
    m.u.new_view.vcs[1].sender = 0;
    frame = encode(&m, &size);
    assert_int_equal(msg_decode(frame, size, &d), PBFT_ERR_NOT_CANONICAL);
    msg_free(&d);
    free(frame);
    msg_free(&m);
}

static void test_signing_digest_depends_on_tag_and_chain(void **state) {
    (void)state;
    uint8_t chain_a[32], chain_b[32], d1[32], d2[32], d3[32];
    memset(chain_a, 1, 32);
    memset(chain_b, 2, 32);
    uint8_t frame[16] = {1, 2, 3};
    msg_signing_digest(MSG_STATUS, chain_a, frame, sizeof(frame), d1);
    msg_signing_digest(MSG_VIEW_CHANGE, chain_a, frame, sizeof(frame), d2);
    msg_signing_digest(MSG_STATUS, chain_b, frame, sizeof(frame), d3);
    assert_memory_not_equal(d1, d2, 32);
    assert_memory_not_equal(d1, d3, 32);
    assert_null(msg_type_tag(MSG_REQUEST));
    assert_null(msg_type_tag(MSG_STATE_REPLY));
    assert_false(msg_type_is_signed(MSG_REQUEST));
    assert_true(msg_type_is_signed(MSG_NEW_VIEW));
    assert_string_equal(msg_type_name(MSG_PRE_PREPARE), "pre-prepare");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind_round_trips),
        cmocka_unit_test(test_every_byte_mutation_rejected_or_canonical),
        cmocka_unit_test(test_truncation_and_trailing_bytes_rejected),
        cmocka_unit_test(test_header_rules),
        cmocka_unit_test(test_structural_limits),
        cmocka_unit_test(test_signing_digest_depends_on_tag_and_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
