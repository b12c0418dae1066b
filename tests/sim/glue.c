/*
 * tests/sim/glue.c — replica_env_t for a simulated replica, and the calls
 * into the consensus state machine.
 *
 * now_ms is the simulated clock; send/broadcast go into the simulated
 * network (through byzantine.c when the replica is Byzantine); timers are
 * events in the queue, invalidated by a per-timer generation; persist copies
 * to the replica's simulated disk; sign/verify use the fake scheme;
 * deliver executes against the replica's in-memory state and acknowledges
 * after a simulated storage delay; load_committed and stable_checkpoint read
 * and write the simulated disk.
 */
#include <string.h>

#include "pbft/codec.h"
#include "pbft/consensus.h"
#include "pbft/messages.h"
#include "sim_cluster.h"

#define SIM_SAFETY_KEY "safety"
#define SIM_WRONG_KEY_INDEX (SIM_PUBKEY_TABLE_SIZE - 1)

typedef struct sim_glue {
    sim_cluster_t *c;
    uint16_t r;
    replica_env_t env;
    uint64_t committed_seen; /* committed height never goes down (per incarnation) */
} sim_glue_t;

static sim_glue_t *glue_of(const sim_cluster_t *c, uint16_t r) {
    return (sim_glue_t *)c->replicas[r].glue;
}

static uint64_t env_now_ms(void *ctx) {
    const sim_glue_t *g = ctx;
    return g->c->now_ms;
}

static void send_one(sim_glue_t *g, uint16_t to, const uint8_t *msg, size_t size) {
    if (g->c->replicas[g->r].byz != SIM_BYZ_NONE)
        sim_byz_send(g->c, g->r, to, msg, size);
    else
        sim_net_send(g->c, g->r, to, msg, size);
}

static void env_send(void *ctx, uint16_t to, const uint8_t *msg, size_t size) {
    sim_glue_t *g = ctx;
    PBFT_ASSERT(to != g->r && to < g->c->replica_count);
    sim_votes_record(g->c, g->r, msg, size);
    send_one(g, to, msg, size);
}

static void env_broadcast(void *ctx, const uint8_t *msg, size_t size) {
    sim_glue_t *g = ctx;
    sim_votes_record(g->c, g->r, msg, size);
    for (uint16_t to = 0; to < g->c->replica_count; to++)
        if (to != g->r) send_one(g, to, msg, size);
}

static void env_set_timer(void *ctx, replica_timer_t t, uint64_t delay_ms) {
    sim_glue_t *g = ctx;
    PBFT_ASSERT((unsigned)t < REPLICA_TIMER_COUNT);
    sim_replica_t *rep = &g->c->replicas[g->r];
    sim_event_t ev = {.time_ms = g->c->now_ms + delay_ms,
                      .kind = SIM_EV_TIMER,
                      .to = g->r,
                      .a = (uint64_t)t,
                      .b = ++rep->timer_generation[t]};
    sim_queue_push(&g->c->queue, &ev);
}

static void env_cancel_timer(void *ctx, replica_timer_t t) {
    sim_glue_t *g = ctx;
    PBFT_ASSERT((unsigned)t < REPLICA_TIMER_COUNT);
    g->c->replicas[g->r].timer_generation[t]++;
}

static pbft_status_t env_persist(void *ctx, const uint8_t *state, size_t size) {
    sim_glue_t *g = ctx;
    /* A failed write leaves the previous blob on disk; the replica must then
     * not send what the new state would have covered (votes.c checks). */
    if (g->c->persist_fail_pm && sim_rng_chance(&g->c->rng, g->c->persist_fail_pm)) {
        g->c->persist_failures++;
        return PBFT_ERR_IO;
    }
    sim_disk_put_safety(&g->c->replicas[g->r].disk, SIM_SAFETY_KEY, state, size);
    return PBFT_OK;
}

static pbft_status_t env_sign(void *ctx, const uint8_t digest[PBFT_HASH_SIZE],
                              uint8_t sig[PBFT_SIGNATURE_SIZE]) {
    sim_glue_t *g = ctx;
    /* A replica with the wrong key signs everything with a key that is not
     * its validator key: every message it sends must be rejected. */
    uint32_t key = g->c->replicas[g->r].byz == SIM_BYZ_WRONG_KEY ? SIM_WRONG_KEY_INDEX : g->r;
    sim_fake_sign(key, digest, sig);
    return PBFT_OK;
}

static pbft_status_t env_persist_block(void *ctx, const pbft_block_t *block) {
    sim_glue_t *g = ctx;
    if (g->c->persist_fail_pm && sim_rng_chance(&g->c->rng, g->c->persist_fail_pm)) {
        g->c->persist_failures++;
        return PBFT_ERR_IO; /* the COMMIT that depends on it must be withheld */
    }
    sim_disk_put_prepared(&g->c->replicas[g->r].disk, block);
    return PBFT_OK;
}

static bool env_tx_valid(void *ctx, const pbft_tx_t *tx, const uint8_t tx_id[PBFT_HASH_SIZE]) {
    sim_glue_t *g = ctx;
    (void)tx_id;
    return sim_tx_valid(tx, g->c->genesis.chain_id);
}

/* The store's tx index: is the tx in this replica's own committed chain? */
static bool env_tx_committed(void *ctx, const uint8_t tx_id[PBFT_HASH_SIZE]) {
    sim_glue_t *g = ctx;
    return sim_disk_has_tx(&g->c->replicas[g->r].disk, tx_id);
}

static void env_deliver(void *ctx, const pbft_block_t *block, const uint8_t (*ids)[PBFT_HASH_SIZE],
                        const pbft_commit_cert_t *cert) {
    sim_glue_t *g = ctx;
    for (uint32_t i = 0; i < block->header.tx_count; i++) {
        uint8_t id[PBFT_HASH_SIZE];
        codec_tx_id(&block->txs[i], id);
        if (memcmp(id, ids[i], PBFT_HASH_SIZE) != 0)
            sim_fail(g->c, "replica %u delivers height %llu with a wrong id for tx %u", g->r,
                     (unsigned long long)block->header.height, i);
    }
    sim_log(g->c, "replica %u delivers height %llu (%u txs, view %llu)", g->r,
            (unsigned long long)block->header.height, block->header.tx_count,
            (unsigned long long)cert->view);
    (void)sim_deliver_block(g->c, g->r, block, cert);
}

static pbft_status_t env_load_committed(void *ctx, uint64_t height, pbft_block_t *block,
                                        pbft_commit_cert_t *cert) {
    sim_glue_t *g = ctx;
    const sim_disk_t *d = &g->c->replicas[g->r].disk;
    if (height == 0 || height > d->chain_count) return PBFT_ERR_NOT_FOUND;
    const sim_chain_entry_t *e = &d->chain[height - 1];
    block->header = e->block.header;
    block->txs = NULL;
    if (e->block.header.tx_count) {
        size_t bytes = e->block.header.tx_count * sizeof(pbft_tx_t);
        block->txs = pbft_xmalloc(bytes);
        memcpy(block->txs, e->block.txs, bytes);
    }
    *cert = e->cert;
    return PBFT_OK;
}

static void env_stable_checkpoint(void *ctx, const pbft_checkpoint_cert_t *cert) {
    sim_glue_t *g = ctx;
    sim_log(g->c, "replica %u: stable checkpoint %llu", g->r, (unsigned long long)cert->height);
    sim_store_checkpoint(g->c, g->r, cert);
}

static uint64_t env_random(void *ctx) {
    sim_glue_t *g = ctx;
    return sim_rng_next(&g->c->rng);
}

static void env_log(void *ctx, int level, const char *line) {
    sim_glue_t *g = ctx;
    if (level >= 1 || g->c->options.verbose) sim_log(g->c, "replica %u: %s", g->r, line);
}

static void fill_env(sim_glue_t *g) {
    replica_env_t *e = &g->env;
    memset(e, 0, sizeof(*e));
    e->ctx = g;
    e->now_ms = env_now_ms;
    e->send = env_send;
    e->broadcast = env_broadcast;
    e->set_timer = env_set_timer;
    e->cancel_timer = env_cancel_timer;
    e->persist = env_persist;
    e->sign = env_sign;
    e->verify = sim_cert_verify;
    e->verify_ctx = NULL;
    e->tx_valid = env_tx_valid;
    e->deliver = env_deliver;
    e->load_committed = env_load_committed;
    e->stable_checkpoint = env_stable_checkpoint;
    e->random = env_random;
    e->tx_committed = env_tx_committed;
    e->persist_block = g->c->persist_block ? env_persist_block : NULL;
    e->log = env_log;
}

/* Where the replica restarts from: exactly what its disk holds. */
static void fill_restore(const sim_cluster_t *c, uint16_t r, replica_restore_t *rs) {
    const sim_replica_t *rep = &c->replicas[r];
    const sim_disk_t *d = &rep->disk;
    memset(rs, 0, sizeof(*rs));
    if (d->chain_count == 0) {
        rs->executed_header = c->genesis.header;
        memcpy(rs->executed_hash, c->genesis.block_hash, PBFT_HASH_SIZE);
        memcpy(rs->state_hash, c->genesis.state_hash, PBFT_HASH_SIZE);
    } else {
        const sim_chain_entry_t *e = &d->chain[d->chain_count - 1];
        rs->executed_header = e->block.header;
        memcpy(rs->executed_hash, e->block_hash, PBFT_HASH_SIZE);
        memcpy(rs->state_hash, e->state_hash, PBFT_HASH_SIZE);
        rs->executed_cert = &e->cert;
    }
    rs->stable = d->has_checkpoint ? &d->checkpoint : NULL;
    rs->prepared_blocks = d->prepared;
    rs->prepared_block_count = d->prepared_count;
    const sim_safety_blob_t *blob = sim_disk_get_safety(d, SIM_SAFETY_KEY);
    if (blob) {
        rs->safety = blob->bytes;
        rs->safety_size = blob->size;
    }
}

void sim_glue_create(sim_cluster_t *c, uint16_t r) {
    sim_replica_t *rep = &c->replicas[r];
    PBFT_ASSERT(rep->replica == NULL && rep->glue == NULL);
    sim_glue_t *g = pbft_xcalloc(1, sizeof(*g));
    g->c = c;
    g->r = r;
    fill_env(g);
    rep->glue = g;
    replica_restore_t rs;
    fill_restore(c, r, &rs);
    bool fresh = rep->disk.chain_count == 0 && rs.safety == NULL && rs.stable == NULL &&
                 rs.prepared_block_count == 0;
    replica_t *replica = NULL;
    replica_options_t options;
    replica_options_default(&options);
    if (c->batch_busy_rate != 0) {
        options.batch_idle_rate = c->batch_idle_rate;
        options.batch_busy_rate = c->batch_busy_rate;
    }
    pbft_status_t st =
        replica_create(&c->genesis, r, &g->env, &options, fresh ? NULL : &rs, &replica);
    if (st != PBFT_OK) {
        sim_fail(c, "restart: replica_create for replica %u failed: %s", r, pbft_status_name(st));
        return;
    }
    rep->replica = replica;
    rep->executed_acked = rep->height;
    g->committed_seen = rep->height;
    replica_start(replica);
}

void sim_glue_destroy(sim_cluster_t *c, uint16_t r) {
    sim_replica_t *rep = &c->replicas[r];
    replica_destroy(rep->replica);
    rep->replica = NULL;
    free(rep->glue);
    rep->glue = NULL;
}

void sim_glue_deliver_raw(sim_cluster_t *c, uint16_t r, uint16_t from, const uint8_t *bytes,
                          size_t size) {
    replica_t *replica = c->replicas[r].replica;
    if (!replica) return;
    (void)replica_on_message(replica, from, bytes, size); /* rejections are counted inside */
}

void sim_glue_on_message(sim_cluster_t *c, uint16_t r, uint16_t from, const uint8_t *bytes,
                         size_t size) {
    if (!sim_byz_filter_inbound(c, r, from, bytes, size)) return;
    sim_glue_deliver_raw(c, r, from, bytes, size);
}

void sim_glue_on_client_tx(sim_cluster_t *c, uint16_t r, const uint8_t *bytes, size_t size) {
    replica_t *replica = c->replicas[r].replica;
    if (!replica) return;
    pbft_tx_t tx;
    if (codec_tx_decode(bytes, size, &tx) != PBFT_OK) return;
    /* The node verifies a client's signature before consensus sees the tx. */
    if (!sim_tx_valid(&tx, c->genesis.chain_id)) return;
    if (!sim_byz_accept_client_tx(c, r, &tx)) return;
    uint8_t id[PBFT_HASH_SIZE];
    codec_tx_id(&tx, id);
    if (sim_disk_has_tx(&c->replicas[r].disk, id))
        return; /* a real node answers "committed" from its own tx index */
    (void)replica_on_client_tx(replica, &tx, id);
}

void sim_glue_on_timer(sim_cluster_t *c, uint16_t r, uint64_t timer) {
    replica_t *replica = c->replicas[r].replica;
    if (replica) replica_on_timer(replica, (replica_timer_t)timer);
}

void sim_glue_on_executed(sim_cluster_t *c, uint16_t r, uint64_t height) {
    sim_replica_t *rep = &c->replicas[r];
    if (!rep->replica) return;
    PBFT_ASSERT(height >= 1 && height <= rep->disk.chain_count);
    if (height != rep->executed_acked + 1) return; /* acknowledged in order only */
    /* Acknowledge every consecutive height that is already executed: the
     * storage delay of a later one may have been drawn shorter. */
    const sim_chain_entry_t *e = &rep->disk.chain[height - 1];
    rep->executed_acked = height;
    replica_on_executed(rep->replica, height, e->block_hash, e->state_hash);
}

uint64_t sim_glue_view(const sim_cluster_t *c, uint16_t r) {
    const sim_replica_t *rep = &c->replicas[r];
    if (!rep->replica) return 0;
    replica_status_t st;
    replica_get_status(rep->replica, &st);
    return st.view;
}

uint64_t sim_glue_view_changes(const sim_cluster_t *c, uint16_t r) {
    const sim_replica_t *rep = &c->replicas[r];
    if (!rep->replica) return 0;
    replica_status_t st;
    replica_get_status(rep->replica, &st);
    return st.view_changes;
}

bool sim_glue_status(const sim_cluster_t *c, uint16_t r, replica_status_t *out) {
    const sim_replica_t *rep = &c->replicas[r];
    if (!rep->replica) return false;
    replica_get_status(rep->replica, out);
    return true;
}

/* One line per replica for failure reports (--verbose). */
void sim_glue_dump(sim_cluster_t *c, uint16_t r) {
    const sim_replica_t *rep = &c->replicas[r];
    if (!rep->replica) {
        sim_log(c, "status replica %u: down", r);
        return;
    }
    replica_status_t st;
    replica_get_status(rep->replica, &st);
    sim_log(c,
            "status replica %u: view %llu%s primary %u committed %llu executed %llu stable %llu "
            "water [%llu, %llu] in_flight %u mempool %u catching_up %d persist_failures %llu "
            "invalid: malformed %llu "
            "sig %llu sender %llu stale %llu window %llu conflict %llu block %llu tx %llu",
            r, (unsigned long long)st.view, st.in_view_change ? " (changing)" : "", st.primary,
            (unsigned long long)st.committed_height, (unsigned long long)st.executed_height,
            (unsigned long long)st.stable_checkpoint, (unsigned long long)st.low_water_mark,
            (unsigned long long)st.high_water_mark, st.in_flight, st.mempool_size, st.catching_up,
            (unsigned long long)st.persist_failures,
            (unsigned long long)st.invalid[REPLICA_INVALID_MALFORMED],
            (unsigned long long)st.invalid[REPLICA_INVALID_BAD_SIGNATURE],
            (unsigned long long)st.invalid[REPLICA_INVALID_WRONG_SENDER],
            (unsigned long long)st.invalid[REPLICA_INVALID_STALE],
            (unsigned long long)st.invalid[REPLICA_INVALID_OUT_OF_WINDOW],
            (unsigned long long)st.invalid[REPLICA_INVALID_CONFLICT],
            (unsigned long long)st.invalid[REPLICA_INVALID_BAD_BLOCK],
            (unsigned long long)st.invalid[REPLICA_INVALID_BAD_TX]);
}

/* Bounded logs and internal consistency, after every step of replica r. */
void sim_glue_check_bounds(sim_cluster_t *c, uint16_t r) {
    sim_replica_t *rep = &c->replicas[r];
    sim_glue_t *g = glue_of(c, r);
    if (!rep->replica || !g) return;
    replica_status_t st;
    replica_get_status(rep->replica, &st);
    uint64_t two_k = 2ull * c->genesis.params.checkpoint_interval;
    if (st.in_flight > c->genesis.params.window)
        sim_fail(c, "bounds: replica %u has %u seqs in flight, window %u", r, st.in_flight,
                 c->genesis.params.window);
    else if (st.high_water_mark > st.low_water_mark + two_k)
        sim_fail(c, "bounds: replica %u water marks [%llu, %llu] span more than 2K=%llu", r,
                 (unsigned long long)st.low_water_mark, (unsigned long long)st.high_water_mark,
                 (unsigned long long)two_k);
    else if (st.mempool_size > PBFT_MEMPOOL_TX_COUNT_MAX)
        sim_fail(c, "bounds: replica %u mempool %u over the limit", r, st.mempool_size);
    else if (st.committed_height < g->committed_seen)
        sim_fail(c, "integrity: replica %u committed height went down from %llu to %llu", r,
                 (unsigned long long)g->committed_seen, (unsigned long long)st.committed_height);
    else if (st.executed_height > rep->height)
        sim_fail(c, "integrity: replica %u claims executed height %llu, its store has %llu", r,
                 (unsigned long long)st.executed_height, (unsigned long long)rep->height);
    else if (st.executed_height > 0 &&
             memcmp(st.state_hash, rep->disk.chain[st.executed_height - 1].state_hash,
                    PBFT_HASH_SIZE) != 0)
        sim_fail(c, "integrity: replica %u's state hash at %llu differs from its store's", r,
                 (unsigned long long)st.executed_height);
    g->committed_seen = st.committed_height;
}

/* ------------------------------------------------------------------------ */
/* Frame inspection for the network model.                                   */

int sim_msg_kind(const uint8_t *bytes, size_t size) {
    if (size < MSG_HEADER_SIZE || bytes[0] != MSG_VERSION) return -1;
    if (bytes[1] < MSG_TYPE_FIRST || bytes[1] > MSG_TYPE_LAST) return -1;
    return bytes[1];
}

uint64_t sim_msg_seq(const uint8_t *bytes, size_t size) {
    int kind = sim_msg_kind(bytes, size);
    if (kind != MSG_PRE_PREPARE && kind != MSG_PREPARE && kind != MSG_COMMIT) return 0;
    if (size < MSG_HEADER_SIZE + 16) return 0;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | bytes[MSG_HEADER_SIZE + 8 + i];
    return v;
}

const char *sim_msg_name(int kind) {
    return kind < 0 ? "undecodable" : msg_type_name((uint8_t)kind);
}

uint64_t sim_msg_view(const uint8_t *bytes, size_t size) {
    int kind = sim_msg_kind(bytes, size);
    switch (kind) {
        case MSG_PRE_PREPARE:
        case MSG_PREPARE:
        case MSG_COMMIT:
        case MSG_VIEW_CHANGE:
        case MSG_NEW_VIEW:
        case MSG_STATUS:
            break;
        default:
            return 0;
    }
    if (size < MSG_HEADER_SIZE + 8) return 0;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | bytes[MSG_HEADER_SIZE + i];
    return v;
}
