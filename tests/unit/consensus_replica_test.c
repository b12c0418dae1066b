/*
 * tests/unit/consensus_replica_test.c — a small in-test cluster of four
 * replicas (fake signatures, a FIFO network with filters, a fake clock and
 * timers) pinning the protocol's key behaviours. The seeded simulator in
 * tests/sim does the heavy randomized testing; these are the readable cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pbft/codec.h"
#include "pbft/consensus.h"
#include "pbft/crypto.h"
#include "pbft/ledger.h"
#include "pbft/messages.h"

#define N 4
#define HEIGHT_MAX 160
#define FRAMES_MAX 200000

/* ------------------------------------------------------------------------ */
/* Harness.                                                                   */

typedef struct frame {
    uint16_t from, to;
    uint8_t *bytes;
    size_t size;
} frame_t;

struct cluster;

typedef struct node {
    struct cluster *c;
    uint16_t id;
    replica_t *r;
    bool timer_armed[REPLICA_TIMER_COUNT];
    uint64_t timer_at[REPLICA_TIMER_COUNT];
    uint8_t safety[1 << 20]; /* blocks ride in it (no persist_block here) */
    size_t safety_size;
    uint64_t persist_calls;
    uint64_t delivered;
    uint8_t hashes[HEIGHT_MAX + 1][PBFT_HASH_SIZE];
    pbft_block_t blocks[HEIGHT_MAX + 1];
    pbft_commit_cert_t certs[HEIGHT_MAX + 1];
    uint8_t state[PBFT_HASH_SIZE];
    uint64_t stable_calls;
    uint64_t stable_height;
} node_t;

/* Return false to drop a frame. */
typedef bool (*filter_fn)(struct cluster *c, const frame_t *f, const msg_t *m);

typedef struct cluster {
    pbft_genesis_t genesis;
    node_t nodes[N];
    frame_t *frames;
    size_t head, count;
    uint64_t now;
    filter_fn filter;
    bool crashed[N];
    uint64_t rnd;
    uint16_t n;            /* replicas in this cluster (<= N) */
    bool no_execute;       /* deliver without executing (an asynchronous executor) */
    uint8_t bad_tx_marker; /* txs whose memo[0] is this are invalid to tx_valid */
    bool captured;
    uint8_t captured_pp_hash[PBFT_HASH_SIZE]; /* first PRE-PREPARE seen by drop_commits */
    bool has_stored_id;
    uint8_t stored_id[PBFT_HASH_SIZE]; /* env->tx_committed says this one is in the store */
    unsigned store_lookups;            /* env->tx_committed calls */
} cluster_t;

static uint64_t env_now(void *ctx) {
    return ((node_t *)ctx)->c->now;
}

static void push_frame(cluster_t *c, uint16_t from, uint16_t to, const uint8_t *bytes,
                       size_t size) {
    assert_true(c->count < FRAMES_MAX);
    frame_t *f = &c->frames[(c->head + c->count) % FRAMES_MAX];
    f->from = from;
    f->to = to;
    f->bytes = malloc(size);
    memcpy(f->bytes, bytes, size);
    f->size = size;
    c->count++;
}

static void env_send(void *ctx, uint16_t to, const uint8_t *msg, size_t size) {
    node_t *n = ctx;
    assert_true(to < N && to != n->id);
    push_frame(n->c, n->id, to, msg, size);
}

static void env_broadcast(void *ctx, const uint8_t *msg, size_t size) {
    node_t *n = ctx;
    for (uint16_t i = 0; i < n->c->n; i++)
        if (i != n->id) push_frame(n->c, n->id, i, msg, size);
}

static void env_set_timer(void *ctx, replica_timer_t t, uint64_t delay_ms) {
    node_t *n = ctx;
    n->timer_armed[t] = true;
    n->timer_at[t] = n->c->now + delay_ms;
}

static void env_cancel_timer(void *ctx, replica_timer_t t) {
    ((node_t *)ctx)->timer_armed[t] = false;
}

static pbft_status_t env_persist(void *ctx, const uint8_t *state, size_t size) {
    node_t *n = ctx;
    assert_true(size <= sizeof(n->safety));
    memcpy(n->safety, state, size);
    n->safety_size = size;
    n->persist_calls++;
    return PBFT_OK;
}

/* Fake signature: digest || signer || zeros. */
static pbft_status_t env_sign(void *ctx, const uint8_t digest[32], uint8_t sig[64]) {
    node_t *n = ctx;
    memset(sig, 0, 64);
    memcpy(sig, digest, 32);
    sig[32] = (uint8_t)n->id;
    return PBFT_OK;
}

static pbft_status_t fake_verify(void *ctx, const pbft_validator_set_t *v, uint16_t replica,
                                 const uint8_t digest[32], const uint8_t sig[64]) {
    (void)ctx;
    if (replica >= v->count) return PBFT_ERR_UNKNOWN_REPLICA;
    if (memcmp(sig, digest, 32) != 0 || sig[32] != replica) return PBFT_ERR_BAD_SIGNATURE;
    return PBFT_OK;
}

static bool env_tx_valid(void *ctx, const pbft_tx_t *tx, const uint8_t id[32]) {
    node_t *n = ctx;
    (void)id;
    return !(tx->memo_size > 0 && tx->memo[0] == n->c->bad_tx_marker);
}

static bool env_tx_committed(void *ctx, const uint8_t id[PBFT_HASH_SIZE]) {
    cluster_t *c = ((node_t *)ctx)->c;
    c->store_lookups++;
    return c->has_stored_id && memcmp(id, c->stored_id, PBFT_HASH_SIZE) == 0;
}

static void env_deliver(void *ctx, const pbft_block_t *block, const uint8_t (*ids)[PBFT_HASH_SIZE],
                        const pbft_commit_cert_t *cert) {
    node_t *n = ctx;
    uint64_t h = block->header.height;
    for (uint32_t i = 0; i < block->header.tx_count; i++) { /* the ids handed over are the txs' */
        uint8_t id[PBFT_HASH_SIZE];
        codec_tx_id(&block->txs[i], id);
        assert_memory_equal(id, ids[i], PBFT_HASH_SIZE);
    }
    assert_int_equal(h, n->delivered + 1);
    assert_true(h <= HEIGHT_MAX);
    n->delivered = h;
    codec_header_hash(&block->header, n->hashes[h]);
    assert_memory_equal(n->hashes[h], cert->block_hash, 32);
    n->blocks[h].header = block->header;
    n->blocks[h].txs = NULL;
    if (block->header.tx_count) {
        n->blocks[h].txs = malloc(block->header.tx_count * sizeof(pbft_tx_t));
        memcpy(n->blocks[h].txs, block->txs, block->header.tx_count * sizeof(pbft_tx_t));
    }
    n->certs[h] = *cert;
    if (n->c->no_execute) return;
    /* Execute right away (from inside deliver: the replica defers it). */
    uint8_t buf[64];
    memcpy(buf, n->state, 32);
    memcpy(buf + 32, n->hashes[h], 32);
    crypto_sha256(buf, sizeof(buf), n->state);
    replica_on_executed(n->r, h, n->hashes[h], n->state);
}

static pbft_status_t env_load(void *ctx, uint64_t height, pbft_block_t *block,
                              pbft_commit_cert_t *cert) {
    node_t *n = ctx;
    if (height == 0 || height > n->delivered) return PBFT_ERR_NOT_FOUND;
    block->header = n->blocks[height].header;
    block->txs = NULL;
    uint32_t count = block->header.tx_count;
    if (count) {
        block->txs = malloc(count * sizeof(pbft_tx_t));
        memcpy(block->txs, n->blocks[height].txs, count * sizeof(pbft_tx_t));
    }
    *cert = n->certs[height];
    return PBFT_OK;
}

static void env_stable(void *ctx, const pbft_checkpoint_cert_t *cert) {
    node_t *n = ctx;
    n->stable_calls++;
    n->stable_height = cert->height;
}

static uint64_t env_random(void *ctx) {
    node_t *n = ctx;
    n->c->rnd = n->c->rnd * 6364136223846793005ull + 1442695040888963407ull;
    return n->c->rnd >> 33;
}

static replica_env_t make_env(node_t *n) {
    replica_env_t e = {0};
    e.ctx = n;
    e.now_ms = env_now;
    e.send = env_send;
    e.broadcast = env_broadcast;
    e.set_timer = env_set_timer;
    e.cancel_timer = env_cancel_timer;
    e.persist = env_persist;
    e.sign = env_sign;
    e.verify = fake_verify;
    e.tx_valid = env_tx_valid;
    e.tx_committed = env_tx_committed;
    e.deliver = env_deliver;
    e.load_committed = env_load;
    e.stable_checkpoint = env_stable;
    e.random = env_random;
    return e;
}

/* Batching parameters of the next cluster (a test may change them). */
static uint32_t g_batch_max = 8;
static uint32_t g_batch_delay_ms = 5;

static void make_genesis(pbft_genesis_t *g, uint16_t n, uint32_t k) {
    memset(g, 0, sizeof(*g));
    snprintf(g->chain_name, sizeof(g->chain_name), "unit");
    g->genesis_time_ms = 1000;
    g->validators.count = n;
    for (int i = 0; i < n; i++) {
        g->validators.pubkeys[i][0] = 0x02;
        g->validators.pubkeys[i][1] = (uint8_t)i;
    }
    g->params.checkpoint_interval = k;
    g->params.batch_max = g_batch_max;
    g->params.batch_delay_ms = g_batch_delay_ms;
    g->params.window = k < 4 ? k : 4;
    g->params.view_change_timeout_ms = 1000;
    g->params.request_timeout_ms = 2000;
    ledger_genesis_derive(g);
}

static void node_create(cluster_t *c, uint16_t i, const replica_restore_t *restore) {
    node_t *n = &c->nodes[i];
    replica_env_t env = make_env(n);
    replica_options_t opts;
    replica_options_default(&opts);
    opts.mempool_max = 1000;
    assert_int_equal(replica_create(&c->genesis, i, &env, &opts, restore, &n->r), PBFT_OK);
}

static cluster_t *cluster_new_n(uint16_t count, uint32_t k) {
    cluster_t *c = calloc(1, sizeof(*c));
    c->frames = calloc(FRAMES_MAX, sizeof(frame_t));
    c->now = 10000;
    c->n = count;
    c->bad_tx_marker = 0xBA;
    make_genesis(&c->genesis, count, k);
    for (uint16_t i = 0; i < count; i++) {
        node_t *n = &c->nodes[i];
        n->c = c;
        n->id = i;
        memcpy(n->state, c->genesis.state_hash, 32);
        memcpy(n->hashes[0], c->genesis.block_hash, 32);
        node_create(c, i, NULL);
    }
    for (uint16_t i = 0; i < count; i++)
        replica_start(c->nodes[i].r);
    return c;
}

static cluster_t *cluster_new(uint32_t k) {
    return cluster_new_n(N, k);
}

static void cluster_free(cluster_t *c) {
    for (uint16_t i = 0; i < c->n; i++) {
        replica_destroy(c->nodes[i].r);
        for (int h = 0; h <= HEIGHT_MAX; h++)
            free(c->nodes[i].blocks[h].txs);
    }
    while (c->count) {
        free(c->frames[c->head].bytes);
        c->head = (c->head + 1) % FRAMES_MAX;
        c->count--;
    }
    free(c->frames);
    free(c);
}

/* Delivers queued frames until none are left (or a step budget runs out). */
static void run_network(cluster_t *c) {
    for (size_t steps = 0; c->count > 0 && steps < 100000; steps++) {
        frame_t f = c->frames[c->head];
        c->head = (c->head + 1) % FRAMES_MAX;
        c->count--;
        bool deliver = !c->crashed[f.to] && !c->crashed[f.from];
        if (deliver && c->filter) {
            msg_t m;
            if (msg_decode(f.bytes, f.size, &m) == PBFT_OK) deliver = c->filter(c, &f, &m);
            msg_free(&m);
        }
        if (deliver) (void)replica_on_message(c->nodes[f.to].r, f.from, f.bytes, f.size);
        free(f.bytes);
    }
}

/* Advances the clock by ms in 10 ms steps, firing due timers and running the network. */
static void run_for(cluster_t *c, uint64_t ms) {
    uint64_t end = c->now + ms;
    run_network(c);
    while (c->now < end) {
        c->now += 10;
        for (uint16_t i = 0; i < c->n; i++) {
            if (c->crashed[i]) continue;
            node_t *n = &c->nodes[i];
            for (int t = 0; t < REPLICA_TIMER_COUNT; t++)
                if (n->timer_armed[t] && n->timer_at[t] <= c->now) {
                    n->timer_armed[t] = false;
                    replica_on_timer(n->r, (replica_timer_t)t);
                }
        }
        run_network(c);
    }
}

static void make_tx(pbft_tx_t *tx, uint64_t nonce, bool bad) {
    memset(tx, 0, sizeof(*tx));
    tx->sender_pubkey[0] = 0x02;
    tx->sender_pubkey[1] = 7;
    tx->recipient[0] = 1;
    tx->amount = 1;
    tx->nonce = nonce;
    tx->memo_size = 1;
    tx->memo[0] = bad ? 0xBA : 0x01;
    tx->signature[0] = 1;
}

static pbft_status_t submit(cluster_t *c, uint16_t to, uint64_t nonce, bool bad) {
    pbft_tx_t tx;
    make_tx(&tx, nonce, bad);
    uint8_t id[32];
    codec_tx_id(&tx, id);
    return replica_on_client_tx(c->nodes[to].r, &tx, id);
}

static replica_status_t status_of(cluster_t *c, uint16_t i) {
    replica_status_t s;
    replica_get_status(c->nodes[i].r, &s);
    return s;
}

/* Safety after every scenario: no two replicas delivered different blocks at a height. */
static void assert_agreement(cluster_t *c) {
    for (int h = 1; h <= HEIGHT_MAX; h++) {
        const uint8_t *first = NULL;
        for (uint16_t i = 0; i < N; i++) {
            if (c->nodes[i].delivered < (uint64_t)h) continue;
            if (first == NULL)
                first = c->nodes[i].hashes[h];
            else
                assert_memory_equal(first, c->nodes[i].hashes[h], 32);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Filters.                                                                   */

static bool drop_from_2_and_3(cluster_t *c, const frame_t *f, const msg_t *m) {
    (void)c;
    (void)m;
    return f->from != 2 && f->from != 3;
}

static bool drop_checkpoints(cluster_t *c, const frame_t *f, const msg_t *m) {
    (void)c;
    (void)f;
    return m->type != MSG_CHECKPOINT;
}

static bool drop_commits(cluster_t *c, const frame_t *f, const msg_t *m) {
    (void)f;
    if (m->type == MSG_PRE_PREPARE && !c->captured) {
        codec_header_hash(&m->u.pre_prepare.block.header, c->captured_pp_hash);
        c->captured = true;
    }
    return !(m->type == MSG_COMMIT && m->u.vote.view == 0); /* view-0 commits never arrive */
}

/* Replica 1 and 3 are silent; replica 2's frames arrive twice. */
static bool duplicate_2_drop_1_3(cluster_t *c, const frame_t *f, const msg_t *m) {
    (void)m;
    if (f->from == 1 || f->from == 3) return false;
    if (f->from == 2) {
        /* Inject the same frame once more, directly. */
        (void)replica_on_message(c->nodes[f->to].r, f->from, f->bytes, f->size);
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Tests.                                                                     */

static void test_normal_case_commits_identical_hashes(void **state) {
    (void)state;
    cluster_t *c = cluster_new(16);
    for (uint64_t i = 0; i < 20; i++)
        assert_int_equal(submit(c, (uint16_t)(i % N), i, false), PBFT_OK);
    run_for(c, 200);
    for (uint16_t i = 0; i < N; i++) {
        replica_status_t s = status_of(c, i);
        assert_true(s.committed_height >= 3); /* 20 txs, batch_max 8 */
        assert_int_equal(s.mempool_size, 0);
        assert_int_equal(s.txs_committed, 20);
        assert_int_equal(s.view, 0);
        assert_true(c->nodes[i].persist_calls > 0);
    }
    assert_agreement(c);
    cluster_free(c);
}

static void test_two_f_votes_do_not_prepare(void **state) {
    (void)state;
    cluster_t *c = cluster_new(16);
    c->filter = drop_from_2_and_3; /* primary 0 + backup 1 = 2f */
    assert_int_equal(submit(c, 0, 0, false), PBFT_OK);
    run_for(c, 500);
    for (uint16_t i = 0; i < N; i++)
        assert_int_equal(status_of(c, i).committed_height, 0);
    cluster_free(c);
}

static void test_quorum_rejects_duplicate_sender(void **state) {
    (void)state;
    cluster_t *c = cluster_new(16);
    c->filter = duplicate_2_drop_1_3;
    assert_int_equal(submit(c, 0, 0, false), PBFT_OK);
    run_for(c, 500);
    for (uint16_t i = 0; i < N; i++)
        assert_int_equal(status_of(c, i).committed_height, 0);
    cluster_free(c);
}

static void test_invalid_tx_signature_in_pre_prepare_is_not_prepared(void **state) {
    (void)state;
    cluster_t *c = cluster_new(16);
    /* The primary is told the tx is valid; backups' tx_valid says no. */
    assert_int_equal(submit(c, 0, 0, true), PBFT_OK);
    run_for(c, 200);
    for (uint16_t i = 0; i < N; i++)
        assert_int_equal(status_of(c, i).committed_height, 0);
    for (uint16_t i = 1; i < N; i++)
        assert_true(status_of(c, i).invalid[REPLICA_INVALID_BAD_TX] >= 1);
    cluster_free(c);
}

/* Primary 0's signed PRE-PREPARE (view 0, seq 1) of a block of one tx on
 * prev; returns its size in frame. */
static size_t pre_prepare_1(cluster_t *c, const uint8_t prev[32], pbft_tx_t *tx, uint8_t *frame,
                            size_t cap) {
    pbft_block_t b = {0};
    b.header.version = PBFT_BLOCK_VERSION;
    b.header.height = 1;
    b.header.timestamp_ms = c->now;
    memcpy(b.header.prev_hash, prev, 32);
    b.header.tx_count = 1;
    b.txs = tx;
    codec_block_tx_root(&b, NULL, b.header.tx_root);
    msg_t m = {0};
    m.type = MSG_PRE_PREPARE;
    m.u.pre_prepare.seq = 1;
    m.u.pre_prepare.block = b;
    uint8_t hash[32], digest[32];
    codec_header_hash(&b.header, hash);
    cert_vote_digest(CRYPTO_TAG_PRE_PREPARE, c->genesis.chain_id, 0, 1, hash, 0, digest);
    env_sign(&c->nodes[0], digest, m.signature);
    size_t size = msg_encode(&m, frame, cap, NULL);
    assert_true(size > 0);
    return size;
}

/* A PRE-PREPARE for seq 1 whose prev_hash is not the genesis hash. */
static void test_wrong_prev_hash_is_not_prepared(void **state) {
    (void)state;
    cluster_t *c = cluster_new(16);
    pbft_tx_t tx;
    make_tx(&tx, 0, false);
    uint8_t prev[32], frame[4096];
    memset(prev, 0x55, 32);
    size_t size = pre_prepare_1(c, prev, &tx, frame, sizeof frame);
    for (uint16_t i = 1; i < N; i++)
        assert_int_equal(replica_on_message(c->nodes[i].r, 0, frame, size), PBFT_OK);
    /* No PREPARE left any backup. */
    for (size_t k = 0; k < c->count; k++) {
        msg_t out;
        frame_t *f = &c->frames[(c->head + k) % FRAMES_MAX];
        assert_int_equal(msg_decode(f->bytes, f->size, &out), PBFT_OK);
        assert_int_not_equal(out.type, MSG_PREPARE);
        msg_free(&out);
    }
    run_for(c, 100);
    for (uint16_t i = 0; i < N; i++)
        assert_int_equal(status_of(c, i).committed_height, 0);
    cluster_free(c);
}

/* Ids a caller passes with a PRE-PREPARE are the ones the block is checked
 * with (wrong ones fail its tx root); ids of the wrong count are ignored. */
static void test_given_tx_ids_are_checked_against_the_tx_root(void **state) {
    (void)state;
    cluster_t *c = cluster_new(16);
    pbft_tx_t tx;
    make_tx(&tx, 0, false);
    uint8_t frame[4096];
    size_t size = pre_prepare_1(c, c->genesis.block_hash, &tx, frame, sizeof frame);
    uint8_t right[2][32], wrong[1][32];
    codec_tx_id(&tx, right[0]);
    memcpy(right[1], right[0], 32);
    memcpy(wrong[0], right[0], 32);
    wrong[0][31] ^= 1;
    replica_t *r1 = c->nodes[1].r, *r2 = c->nodes[2].r, *r3 = c->nodes[3].r;
    (void)replica_on_message_with_ids(r1, 0, frame, size, (const uint8_t(*)[32])wrong, 1);
    assert_int_equal(status_of(c, 1).invalid[REPLICA_INVALID_BAD_BLOCK], 1);
    assert_int_equal(
        replica_on_message_with_ids(r2, 0, frame, size, (const uint8_t(*)[32])right, 1), PBFT_OK);
    assert_int_equal(
        replica_on_message_with_ids(r3, 0, frame, size, (const uint8_t(*)[32])right, 2), PBFT_OK);
    size_t prepares[N] = {0};
    for (size_t k = 0; k < c->count; k++) {
        msg_t out;
        frame_t *f = &c->frames[(c->head + k) % FRAMES_MAX];
        assert_int_equal(msg_decode(f->bytes, f->size, &out), PBFT_OK);
        if (out.type == MSG_PREPARE) prepares[f->from]++;
        msg_free(&out);
    }
    assert_int_equal(prepares[1], 0);
    assert_true(prepares[2] > 0 && prepares[3] > 0);
    for (uint16_t i = 2; i < N; i++)
        assert_int_equal(status_of(c, i).invalid[REPLICA_INVALID_BAD_BLOCK], 0);
    cluster_free(c);
}

static void test_checkpoint_becomes_stable_and_log_is_collected(void **state) {
    (void)state;
    cluster_t *c = cluster_new(2);
    for (uint64_t i = 0; i < 40; i++) {
        assert_int_equal(submit(c, 0, i, false), PBFT_OK);
        run_for(c, 20); /* one small block per round */
    }
    run_for(c, 100);
    for (uint16_t i = 0; i < N; i++) {
        replica_status_t s = status_of(c, i);
        assert_true(s.committed_height >= 4);
        assert_true(s.stable_checkpoint >= 2);
        assert_int_equal(s.stable_checkpoint % 2, 0);
        assert_int_equal(s.low_water_mark, s.stable_checkpoint);
        assert_int_equal(s.high_water_mark, s.stable_checkpoint + 4);
        assert_true(c->nodes[i].stable_calls >= 1);
        assert_int_equal(c->nodes[i].stable_height, s.stable_checkpoint);
    }
    assert_agreement(c);
    cluster_free(c);
}

static void test_view_change_after_primary_silence_installs_view_1(void **state) {
    (void)state;
    cluster_t *c = cluster_new(16);
    c->crashed[0] = true;
    assert_int_equal(submit(c, 1, 0, false), PBFT_OK);
    assert_int_equal(submit(c, 2, 1, false), PBFT_OK);
    run_for(c, 8000);
    for (uint16_t i = 1; i < N; i++) {
        replica_status_t s = status_of(c, i);
        assert_int_equal(s.view, 1);
        assert_false(s.in_view_change);
        assert_true(s.committed_height >= 1);
        assert_int_equal(s.mempool_size, 0);
    }
    assert_agreement(c);
    cluster_free(c);
}

static void test_prepared_block_survives_view_change(void **state) {
    (void)state;
    cluster_t *c = cluster_new(16);
    c->filter = drop_commits;
    /* The client sends its tx to every replica (backups arm request timers). */
    for (uint16_t i = 0; i < N; i++)
        assert_int_equal(submit(c, i, 0, false), PBFT_OK);
    run_for(c, 50);
    for (uint16_t i = 0; i < N; i++)
        assert_int_equal(status_of(c, i).committed_height, 0);
    assert_true(c->captured);
    /* The primary goes silent; commits of later views flow. */
    c->crashed[0] = true;
    run_for(c, 8000);
    for (uint16_t i = 1; i < N; i++) {
        replica_status_t s = status_of(c, i);
        assert_true(s.view >= 1);
        assert_true(s.committed_height >= 1);
    }
    /* The block at height 1 is the one proposed in view 0. */
    for (uint16_t i = 1; i < N; i++)
        assert_memory_equal(c->nodes[i].hashes[1], c->captured_pp_hash, 32);
    assert_int_equal(c->nodes[1].blocks[1].header.view, 0);
    assert_int_equal(c->nodes[1].blocks[1].header.proposer, 0);
    assert_agreement(c);
    cluster_free(c);
}

static void test_restart_from_safety_state_does_not_equivocate(void **state) {
    (void)state;
    cluster_t *c = cluster_new(16);
    c->filter = drop_commits;
    assert_int_equal(submit(c, 0, 0, false), PBFT_OK);
    run_for(c, 50);
    assert_true(c->nodes[1].safety_size > 0);
    /* Restart replica 1 from its persisted safety state. */
    replica_destroy(c->nodes[1].r);
    replica_restore_t rs = {0};
    rs.executed_header = c->genesis.header;
    memcpy(rs.executed_hash, c->genesis.block_hash, 32);
    memcpy(rs.state_hash, c->genesis.state_hash, 32);
    rs.safety = c->nodes[1].safety;
    rs.safety_size = c->nodes[1].safety_size;
    node_create(c, 1, &rs);
    replica_start(c->nodes[1].r);
    run_network(c);
    /* A different block for (view 0, seq 1), correctly signed by primary 0. */
    pbft_tx_t tx;
    make_tx(&tx, 99, false);
    pbft_block_t b = {0};
    b.header.version = PBFT_BLOCK_VERSION;
    b.header.height = 1;
    b.header.timestamp_ms = c->now;
    memcpy(b.header.prev_hash, c->genesis.block_hash, 32);
    b.header.tx_count = 1;
    b.txs = &tx;
    codec_block_tx_root(&b, NULL, b.header.tx_root);
    msg_t m = {0};
    m.type = MSG_PRE_PREPARE;
    m.u.pre_prepare.seq = 1;
    m.u.pre_prepare.block = b;
    uint8_t hash[32], digest[32];
    codec_header_hash(&b.header, hash);
    cert_vote_digest(CRYPTO_TAG_PRE_PREPARE, c->genesis.chain_id, 0, 1, hash, 0, digest);
    env_sign(&c->nodes[0], digest, m.signature);
    uint8_t frame[4096];
    size_t size = msg_encode(&m, frame, sizeof(frame), NULL);
    assert_int_equal(replica_on_message(c->nodes[1].r, 0, frame, size), PBFT_ERR_CONFLICT);
    for (size_t k = 0; k < c->count; k++) {
        msg_t out;
        frame_t *f = &c->frames[(c->head + k) % FRAMES_MAX];
        assert_int_equal(msg_decode(f->bytes, f->size, &out), PBFT_OK);
        if (f->from == 1 && (out.type == MSG_PREPARE || out.type == MSG_COMMIT))
            assert_memory_not_equal(out.u.vote.block_hash, hash, 32);
        msg_free(&out);
    }
    assert_true(status_of(c, 1).invalid[REPLICA_INVALID_CONFLICT] >= 1);
    cluster_free(c);
}

static void test_lagging_replica_catches_up_by_state_transfer(void **state) {
    (void)state;
    cluster_t *c = cluster_new(4);
    c->crashed[3] = true;
    for (uint64_t i = 0; i < 12; i++) {
        assert_int_equal(submit(c, 0, i, false), PBFT_OK);
        run_for(c, 20);
    }
    assert_int_equal(status_of(c, 3).committed_height, 0);
    c->crashed[3] = false;
    run_for(c, 5000);
    replica_status_t s0 = status_of(c, 0), s3 = status_of(c, 3);
    assert_true(s0.committed_height >= 3);
    assert_int_equal(s3.committed_height, s0.committed_height);
    assert_true(s3.state_transfer_blocks >= 1);
    assert_agreement(c);
    cluster_free(c);
}

/* More blocks than one STATE-REPLY carries: the catching-up replica paces
 * its requests past the serving peer's interval, so none is dropped and
 * waits out state_transfer_timeout_ms (2,000 ms here). */
static void test_state_transfer_paces_requests(void **state) {
    (void)state;
    cluster_t *c = cluster_new(4);
    c->crashed[3] = true;
    for (uint64_t i = 0; i < 3 * MSG_STATE_REPLY_BLOCK_COUNT_MAX / 2; i++) {
        assert_int_equal(submit(c, 0, i, false), PBFT_OK);
        run_for(c, 20);
    }
    uint64_t target = status_of(c, 0).committed_height;
    assert_true(target > MSG_STATE_REPLY_BLOCK_COUNT_MAX);
    c->crashed[3] = false;
    uint64_t start = c->now;
    while (status_of(c, 3).committed_height < target && c->now < start + 20000)
        run_for(c, 10);
    assert_int_equal(status_of(c, 3).committed_height, target);
    /* up to one STATUS interval (1,000 ms) to notice, then a few gaps */
    assert_true(c->now - start < 1500);
    assert_true(status_of(c, 3).state_transfer_blocks >= MSG_STATE_REPLY_BLOCK_COUNT_MAX);
    assert_agreement(c);
    cluster_free(c);
}

static void test_garbage_frames_are_counted_not_fatal(void **state) {
    (void)state;
    cluster_t *c = cluster_new(16);
    uint8_t junk[4 + 48 + 64];
    for (int i = 0; i < (int)sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 37);
    assert_int_not_equal(replica_on_message(c->nodes[1].r, 0, junk, sizeof(junk)), PBFT_OK);
    junk[0] = MSG_VERSION;
    junk[1] = MSG_PREPARE;
    junk[2] = 9; /* sender 9 of 4 */
    junk[3] = 0;
    assert_int_not_equal(replica_on_message(c->nodes[1].r, REPLICA_LINK_UNKNOWN, junk, 4 + 48 + 64),
                         PBFT_OK);
    replica_status_t s = status_of(c, 1);
    assert_true(s.invalid[REPLICA_INVALID_MALFORMED] + s.invalid[REPLICA_INVALID_WRONG_SENDER] >=
                2);
    cluster_free(c);
}

static void test_single_replica_commits_alone(void **state) {
    (void)state;
    cluster_t *c = cluster_new_n(1, 4);
    for (uint64_t i = 0; i < 5; i++)
        assert_int_equal(submit(c, 0, i, false), PBFT_OK);
    run_for(c, 100);
    replica_status_t s = status_of(c, 0);
    assert_true(s.committed_height >= 1);
    assert_int_equal(s.txs_committed, 5);
    assert_int_equal(s.view, 0);
    cluster_free(c);
}

/* replica_on_client_tx asks the store whether the tx is committed;
 * replica_on_client_tx_unstored relies on its caller's lookup, and the
 * replica's memory of recent commits still refuses a committed tx. */
static void test_client_tx_unstored_skips_only_the_store(void **state) {
    (void)state;
    cluster_t *c = cluster_new_n(1, 4);
    pbft_tx_t tx;
    uint8_t id[PBFT_HASH_SIZE];
    make_tx(&tx, 0, false);
    codec_tx_id(&tx, id);
    memcpy(c->stored_id, id, PBFT_HASH_SIZE);
    c->has_stored_id = true;
    unsigned before = c->store_lookups;
    assert_int_equal(replica_on_client_tx(c->nodes[0].r, &tx, id), PBFT_ERR_EXISTS);
    assert_int_equal(c->store_lookups, before + 1);
    /* The caller looked it up (and, say, the store had not got it yet). */
    c->has_stored_id = false;
    before = c->store_lookups;
    assert_int_equal(replica_on_client_tx_unstored(c->nodes[0].r, &tx, id), PBFT_OK);
    assert_int_equal(c->store_lookups, before);
    run_for(c, 100);
    assert_int_equal(status_of(c, 0).txs_committed, 1);
    assert_int_equal(replica_on_client_tx_unstored(c->nodes[0].r, &tx, id), PBFT_ERR_EXISTS);
    cluster_free(c);
}

/* A pending tx is "identical" only with its own signature; once it
 * commits it is not pending at all. */
static void test_pending_identical_needs_the_same_signature(void **state) {
    (void)state;
    cluster_t *c = cluster_new(64);
    pbft_tx_t tx, other;
    uint8_t id[PBFT_HASH_SIZE], other_id[PBFT_HASH_SIZE];
    make_tx(&tx, 0, false);
    codec_tx_id(&tx, id);
    make_tx(&other, 1, false);
    codec_tx_id(&other, other_id);
    assert_int_equal(replica_on_client_tx(c->nodes[1].r, &tx, id), PBFT_OK);
    assert_true(replica_tx_pending_identical(c->nodes[1].r, &tx, id));
    assert_false(replica_tx_pending_identical(c->nodes[1].r, &other, other_id));
    pbft_tx_t resigned = tx;
    resigned.signature[5] ^= 1; /* same id, another signature */
    assert_false(replica_tx_pending_identical(c->nodes[1].r, &resigned, id));
    run_for(c, 200);
    assert_int_equal(status_of(c, 1).txs_committed, 1);
    assert_false(replica_tx_pending_identical(c->nodes[1].r, &tx, id));
    cluster_free(c);
}

/* The store is asked about a tx when it enters each replica's mempool (at
 * the replica the client chose, and at the others from the relay), but not
 * again by the prefix check before PREPARE: it is still pending there. */
static void test_prefix_check_does_not_ask_the_store_about_pending_txs(void **state) {
    (void)state;
    cluster_t *c = cluster_new(64);
    c->store_lookups = 0;
    assert_int_equal(submit(c, 1, 0, false), PBFT_OK);
    run_for(c, 200);
    for (uint16_t i = 0; i < c->n; i++)
        assert_int_equal(status_of(c, i).txs_committed, 1);
    assert_int_equal(c->store_lookups, c->n);
    cluster_free(c);
}

/* Advances the clock by 1 ms, firing due timers, then runs the network. */
static void tick_1ms(cluster_t *c) {
    c->now += 1;
    for (uint16_t i = 0; i < c->n; i++) {
        node_t *n = &c->nodes[i];
        for (int t = 0; t < REPLICA_TIMER_COUNT; t++)
            if (!c->crashed[i] && n->timer_armed[t] && n->timer_at[t] <= c->now) {
                n->timer_armed[t] = false;
                replica_on_timer(n->r, (replica_timer_t)t);
            }
    }
    run_network(c);
}

/* Batches of up to 500 txs, batch_delay_ms 100 (the defaults of the other
 * tests are restored for the next one). */
static cluster_t *cluster_for_batching(void) {
    g_batch_max = 500;
    g_batch_delay_ms = 100;
    cluster_t *c = cluster_new(64);
    g_batch_max = 8;
    g_batch_delay_ms = 5;
    return c;
}

/* A lone tx is cut into a block at once; a steady stream of thousands of
 * txs/s is gathered into few large blocks, each tx still committed within
 * batch_delay_ms (the network here is instant, so without the idle gap
 * every tx would get a block of its own). */
static void test_batching_follows_the_arrival_rate(void **state) {
    (void)state;
    cluster_t *c = cluster_for_batching();
    uint64_t nonce = 0;
    assert_int_equal(submit(c, 0, nonce++, false), PBFT_OK);
    run_network(c);
    assert_int_equal(status_of(c, 0).committed_height, 1);
    run_for(c, 1000);
    assert_int_equal(submit(c, 0, nonce++, false), PBFT_OK);
    run_network(c);
    assert_int_equal(status_of(c, 0).committed_height, 2);
    run_for(c, 1000);

    /* 3 txs per ms (3,000 tx/s) for 300 ms. */
    uint64_t oldest_pending_ms = 0, worst_wait_ms = 0;
    uint64_t submitted_at[900];
    uint64_t first = nonce;
    for (int ms = 0; ms < 300; ms++) {
        for (int k = 0; k < 3; k++) {
            submitted_at[nonce - first] = c->now;
            assert_int_equal(submit(c, 0, nonce++, false), PBFT_OK);
        }
        tick_1ms(c);
        uint64_t done = status_of(c, 0).txs_committed - 2; /* FIFO: the first `done` */
        if (done < nonce - first) {
            oldest_pending_ms = c->now - submitted_at[done];
            if (oldest_pending_ms > worst_wait_ms) worst_wait_ms = oldest_pending_ms;
        }
    }
    for (int ms = 0; ms < 200; ms++)
        tick_1ms(c);
    replica_status_t s = status_of(c, 0);
    assert_int_equal(s.txs_committed, 902);
    uint64_t busy_blocks = s.committed_height - 2;
    assert_true(busy_blocks >= 3);  /* not one block for everything */
    assert_true(busy_blocks <= 12); /* not one per arrival: 300 ms / ~100 ms gaps, plus the ramp */
    assert_true(worst_wait_ms <= 100 + 2);
    for (uint16_t i = 1; i < N; i++)
        assert_int_equal(status_of(c, i).txs_committed, 902);
    cluster_free(c);
}

static uint32_t g_requests_from_1;

static bool count_requests_from_1(cluster_t *c, const frame_t *f, const msg_t *m) {
    (void)c;
    if (m->type == MSG_REQUEST && f->from == 1 && f->to == 0)
        g_requests_from_1++; /* one per broadcast */
    return true;
}

/* A backup relays a lone client tx at once, but under load gathers what
 * arrives for up to batch_delay_ms / 10 per REQUEST (without the relay gap
 * every 1 ms tick below would send one). */
static void test_relay_follows_the_arrival_rate(void **state) {
    (void)state;
    cluster_t *c = cluster_for_batching();
    c->filter = count_requests_from_1;
    uint64_t nonce = 0;
    assert_int_equal(submit(c, 1, nonce++, false), PBFT_OK);
    assert_true(c->nodes[1].timer_armed[REPLICA_TIMER_BATCH]);
    assert_int_equal(c->nodes[1].timer_at[REPLICA_TIMER_BATCH], c->now); /* idle: at once */
    tick_1ms(c);
    assert_int_equal(g_requests_from_1, 1);
    run_for(c, 1000);
    assert_int_equal(status_of(c, 1).txs_committed, 1);

    /* 3 txs per ms (3,000 tx/s) to replica 1 for 300 ms. */
    g_requests_from_1 = 0;
    for (int ms = 0; ms < 300; ms++) {
        for (int k = 0; k < 3; k++)
            assert_int_equal(submit(c, 1, nonce++, false), PBFT_OK);
        tick_1ms(c);
    }
    for (int ms = 0; ms < 300; ms++)
        tick_1ms(c);
    assert_true(g_requests_from_1 >= 300 / 10); /* at most 10 ms per REQUEST */
    assert_true(g_requests_from_1 <= 300 / 3);  /* not one per 1 ms tick */
    for (uint16_t i = 0; i < N; i++)
        assert_int_equal(status_of(c, i).txs_committed, 901);
    cluster_free(c);
}

static void restart_from_safety(cluster_t *c, uint16_t i) {
    replica_destroy(c->nodes[i].r);
    replica_restore_t rs = {0};
    rs.executed_header = c->genesis.header;
    memcpy(rs.executed_hash, c->genesis.block_hash, 32);
    memcpy(rs.state_hash, c->genesis.state_hash, 32);
    rs.safety = c->nodes[i].safety;
    rs.safety_size = c->nodes[i].safety_size;
    node_create(c, i, &rs);
    replica_start(c->nodes[i].r);
}

/* Every backup prepared seq 1 and sent COMMIT, then all of them restart:
 * only the persisted safety state remembers the prepared certificate (and
 * its block), and the next view must still re-propose that very block. */
static void test_prepared_certificate_survives_restart_of_every_backup(void **state) {
    (void)state;
    cluster_t *c = cluster_new(16);
    c->filter = drop_commits;
    for (uint16_t i = 0; i < N; i++)
        assert_int_equal(submit(c, i, 0, false), PBFT_OK);
    run_for(c, 50);
    assert_true(c->captured);
    c->crashed[0] = true;
    for (uint16_t i = 1; i < N; i++)
        restart_from_safety(c, i);
    for (uint16_t i = 1; i < N; i++) /* the client retries */
        assert_int_equal(submit(c, i, 0, false), PBFT_OK);
    run_for(c, 10000);
    for (uint16_t i = 1; i < N; i++) {
        assert_true(status_of(c, i).committed_height >= 1);
        assert_memory_equal(c->nodes[i].hashes[1], c->captured_pp_hash, 32);
    }
    assert_agreement(c);
    cluster_free(c);
}

/* Every CHECKPOINT is lost for a while: the high water mark (2K above the
 * stable checkpoint) stops the primary; once links heal, the checkpoints
 * are re-sent (STATUS shows a peer's stable checkpoint) and commits go on. */
static void test_lost_checkpoints_are_resent_and_water_marks_move(void **state) {
    (void)state;
    cluster_t *c = cluster_new(2); /* K = 2, window 2: high water mark 4 */
    c->filter = drop_checkpoints;
    uint64_t nonce = 0;
    for (int i = 0; i < 10; i++) {
        assert_int_equal(submit(c, 0, nonce++, false), PBFT_OK);
        run_for(c, 30);
    }
    for (uint16_t i = 0; i < N; i++) {
        assert_int_equal(status_of(c, i).committed_height, 4);
        assert_int_equal(status_of(c, i).stable_checkpoint, 0);
    }
    c->filter = NULL;
    run_for(c, 3000);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(submit(c, 0, nonce++, false), PBFT_OK);
        run_for(c, 30);
    }
    run_for(c, 500);
    for (uint16_t i = 0; i < N; i++) {
        replica_status_t s = status_of(c, i);
        assert_true(s.stable_checkpoint >= 4);
        assert_true(s.committed_height > 4);
        assert_int_equal(s.mempool_size, 0);
    }
    assert_agreement(c);
    cluster_free(c);
}

/* With n = 1 a prepared certificate has no PREPAREs: the safety state the
 * replica wrote must still be accepted by replica_create after a crash. */
static void test_single_replica_restarts_from_its_own_safety_state(void **state) {
    (void)state;
    cluster_t *c = cluster_new_n(1, 64);
    c->no_execute = true; /* the blob then still holds the prepared certificates */
    for (uint64_t i = 0; i < 3; i++)
        assert_int_equal(submit(c, 0, i, false), PBFT_OK);
    run_for(c, 50);
    assert_true(c->nodes[0].safety_size > 0);
    replica_destroy(c->nodes[0].r);
    replica_restore_t rs = {0};
    rs.executed_header = c->genesis.header;
    memcpy(rs.executed_hash, c->genesis.block_hash, 32);
    memcpy(rs.state_hash, c->genesis.state_hash, 32);
    rs.safety = c->nodes[0].safety;
    rs.safety_size = c->nodes[0].safety_size;
    replica_env_t env = make_env(&c->nodes[0]);
    assert_int_equal(replica_create(&c->genesis, 0, &env, NULL, &rs, &c->nodes[0].r), PBFT_OK);
    /* Corrupt bytes are refused with a status, not a crash. */
    replica_t *bad = NULL;
    uint8_t junk[16] = {1, 2, 3};
    rs.safety = junk;
    rs.safety_size = sizeof(junk);
    assert_int_equal(replica_create(&c->genesis, 0, &env, NULL, &rs, &bad), PBFT_ERR_CORRUPT);
    assert_null(bad);
    cluster_free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal_case_commits_identical_hashes),
        cmocka_unit_test(test_two_f_votes_do_not_prepare),
        cmocka_unit_test(test_quorum_rejects_duplicate_sender),
        cmocka_unit_test(test_invalid_tx_signature_in_pre_prepare_is_not_prepared),
        cmocka_unit_test(test_wrong_prev_hash_is_not_prepared),
        cmocka_unit_test(test_given_tx_ids_are_checked_against_the_tx_root),
        cmocka_unit_test(test_checkpoint_becomes_stable_and_log_is_collected),
        cmocka_unit_test(test_view_change_after_primary_silence_installs_view_1),
        cmocka_unit_test(test_prepared_block_survives_view_change),
        cmocka_unit_test(test_restart_from_safety_state_does_not_equivocate),
        cmocka_unit_test(test_lagging_replica_catches_up_by_state_transfer),
        cmocka_unit_test(test_state_transfer_paces_requests),
        cmocka_unit_test(test_garbage_frames_are_counted_not_fatal),
        cmocka_unit_test(test_single_replica_commits_alone),
        cmocka_unit_test(test_client_tx_unstored_skips_only_the_store),
        cmocka_unit_test(test_pending_identical_needs_the_same_signature),
        cmocka_unit_test(test_prefix_check_does_not_ask_the_store_about_pending_txs),
        cmocka_unit_test(test_batching_follows_the_arrival_rate),
        cmocka_unit_test(test_relay_follows_the_arrival_rate),
        cmocka_unit_test(test_prepared_certificate_survives_restart_of_every_backup),
        cmocka_unit_test(test_lost_checkpoints_are_resent_and_water_marks_move),
        cmocka_unit_test(test_single_replica_restarts_from_its_own_safety_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
