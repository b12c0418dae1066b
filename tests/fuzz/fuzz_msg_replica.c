/*
 * tests/fuzz/fuzz_msg_replica.c — arbitrary frames, timers and client txs
 * into one replica (replica 1 of 4). The property: bytes from peers never
 * reach an assertion, an out-of-bounds access or a leak — every bad input
 * ends as a status and a counter. The fake signature scheme accepts every
 * signature whose first byte is not zero, so the fuzzer gets past
 * authentication into quorum counting, view changes and state transfer.
 *
 * Input: a sequence of steps, each `u8 op` then:
 *   op % 16 < 4   frame from replica (op % 4): u16 length | bytes
 *   op % 16 < 9   timer (op % 16 - 4)
 *   op % 16 == 9  client tx: u16 length | canonical tx bytes
 *   otherwise     the clock moves by op milliseconds
 */
#include <string.h>

#include "fuzz.h"
#include "pbft/codec.h"
#include "pbft/consensus.h"
#include "pbft/ledger.h"
#include "pbft/messages.h"

typedef struct fuzz_env {
    uint64_t now;
    uint64_t rnd;
    replica_t *r;
} fuzz_env_t;

static uint64_t env_now(void *ctx) {
    return ((fuzz_env_t *)ctx)->now;
}
static void env_send(void *ctx, uint16_t to, const uint8_t *msg, size_t size) {
    (void)ctx;
    FUZZ_CHECK(to < 4 && to != 1 && msg != NULL && size > 0);
}
static void env_broadcast(void *ctx, const uint8_t *msg, size_t size) {
    (void)ctx;
    FUZZ_CHECK(msg != NULL && size > 0 && size <= PBFT_MESSAGE_SIZE_MAX);
}
static void env_set_timer(void *ctx, replica_timer_t t, uint64_t delay_ms) {
    (void)ctx;
    (void)delay_ms;
    FUZZ_CHECK((unsigned)t < REPLICA_TIMER_COUNT);
}
static void env_cancel_timer(void *ctx, replica_timer_t t) {
    (void)ctx;
    FUZZ_CHECK((unsigned)t < REPLICA_TIMER_COUNT);
}
static pbft_status_t env_persist(void *ctx, const uint8_t *state, size_t size) {
    (void)ctx;
    FUZZ_CHECK(state != NULL && size > 0);
    return PBFT_OK;
}
static pbft_status_t env_sign(void *ctx, const uint8_t digest[PBFT_HASH_SIZE],
                              uint8_t sig[PBFT_SIGNATURE_SIZE]) {
    (void)ctx;
    memcpy(sig, digest, PBFT_HASH_SIZE);
    memset(sig + PBFT_HASH_SIZE, 1, PBFT_SIGNATURE_SIZE - PBFT_HASH_SIZE);
    sig[0] |= 1;
    return PBFT_OK;
}
static pbft_status_t fake_verify(void *ctx, const pbft_validator_set_t *v, uint16_t replica,
                                 const uint8_t digest[PBFT_HASH_SIZE],
                                 const uint8_t sig[PBFT_SIGNATURE_SIZE]) {
    (void)ctx;
    (void)digest;
    if (replica >= v->count) return PBFT_ERR_UNKNOWN_REPLICA;
    return sig[0] != 0 ? PBFT_OK : PBFT_ERR_BAD_SIGNATURE;
}
static bool env_tx_valid(void *ctx, const pbft_tx_t *tx, const uint8_t id[PBFT_HASH_SIZE]) {
    (void)ctx;
    (void)id;
    return !(tx->memo_size > 0 && tx->memo[0] == 0xBA);
}
static void env_deliver(void *ctx, const pbft_block_t *block, const uint8_t (*ids)[PBFT_HASH_SIZE],
                        const pbft_commit_cert_t *cert) {
    fuzz_env_t *e = ctx;
    FUZZ_CHECK(cert->seq == block->header.height);
    for (uint32_t i = 0; i < block->header.tx_count; i++) {
        uint8_t id[PBFT_HASH_SIZE];
        codec_tx_id(&block->txs[i], id);
        FUZZ_CHECK(memcmp(id, ids[i], PBFT_HASH_SIZE) == 0);
    }
    replica_on_executed(e->r, block->header.height, cert->block_hash, cert->block_hash);
}
static pbft_status_t env_load(void *ctx, uint64_t height, pbft_block_t *block,
                              pbft_commit_cert_t *cert) {
    (void)ctx;
    (void)height;
    (void)block;
    (void)cert;
    return PBFT_ERR_NOT_FOUND;
}
static void env_stable(void *ctx, const pbft_checkpoint_cert_t *cert) {
    (void)ctx;
    FUZZ_CHECK(cert->count >= 3);
}
static uint64_t env_random(void *ctx) {
    fuzz_env_t *e = ctx;
    e->rnd = e->rnd * 6364136223846793005ull + 1442695040888963407ull;
    return e->rnd >> 33;
}

static const pbft_genesis_t *genesis(void) {
    static pbft_genesis_t g;
    static bool ready = false;
    if (ready) return &g;
    memset(&g, 0, sizeof(g));
    memcpy(g.chain_name, "fuzz", 5);
    g.genesis_time_ms = 1000;
    g.validators.count = 4;
    for (int i = 0; i < 4; i++) {
        g.validators.pubkeys[i][0] = 0x02;
        g.validators.pubkeys[i][1] = (uint8_t)i;
    }
    g.params.checkpoint_interval = 4;
    g.params.batch_max = 8;
    g.params.batch_delay_ms = 5;
    g.params.window = 4;
    g.params.view_change_timeout_ms = 1000;
    g.params.request_timeout_ms = 2000;
    ledger_genesis_derive(&g);
    ready = true;
    return &g;
}

static uint16_t get_u16(const uint8_t *p) {
    return (uint16_t)(p[0] | (p[1] << 8));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_env_t e = {.now = 5000, .rnd = 1, .r = NULL};
    replica_env_t env = {0};
    env.ctx = &e;
    env.now_ms = env_now;
    env.send = env_send;
    env.broadcast = env_broadcast;
    env.set_timer = env_set_timer;
    env.cancel_timer = env_cancel_timer;
    env.persist = env_persist;
    env.sign = env_sign;
    env.verify = fake_verify;
    env.tx_valid = env_tx_valid;
    env.deliver = env_deliver;
    env.load_committed = env_load;
    env.stable_checkpoint = env_stable;
    env.random = env_random;
    replica_options_t opts;
    replica_options_default(&opts);
    opts.mempool_max = 64;
    FUZZ_CHECK(replica_create(genesis(), 1, &env, &opts, NULL, &e.r) == PBFT_OK);
    replica_start(e.r);
    size_t at = 0;
    while (at < size) {
        uint8_t op = data[at++];
        uint8_t kind = op % 16;
        if (kind < 4 || kind == 9) {
            if (size - at < 2) break;
            size_t len = get_u16(data + at);
            at += 2;
            if (len > size - at) len = size - at;
            if (kind < 4) {
                (void)replica_on_message(e.r, kind, data + at, len);
            } else {
                pbft_tx_t tx;
                if (codec_tx_decode(data + at, len, &tx) == PBFT_OK) {
                    uint8_t id[PBFT_HASH_SIZE];
                    codec_tx_id(&tx, id);
                    (void)replica_on_client_tx(e.r, &tx, id);
                }
            }
            at += len;
        } else if (kind < 9) {
            replica_on_timer(e.r, (replica_timer_t)(kind - 4));
        } else {
            e.now += op;
        }
    }
    replica_status_t st;
    replica_get_status(e.r, &st);
    FUZZ_CHECK(st.committed_height >= st.executed_height);
    FUZZ_CHECK(st.low_water_mark <= st.committed_height + 1);
    replica_destroy(e.r);
    return 0;
}
