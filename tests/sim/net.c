/*
 * tests/sim/net.c — the simulated network between replicas.
 *
 * Links deliver at most once per copy and may drop, duplicate, delay and
 * reorder (latency is drawn per message, so two messages on one link overtake
 * each other). Partitions are a matrix of blocked directed links, checked when
 * a message is sent and again when it would arrive, so a partition that
 * starts while a message is in flight loses it. Every draw comes from the
 * cluster's PRNG.
 */
#include <string.h>

#include "sim.h"
#include "sim_cluster.h"

void sim_net_init(sim_net_t *net) {
    memset(net, 0, sizeof(*net));
    net->faults.latency_min_ms = 1;
    net->faults.latency_max_ms = 10;
}

void sim_net_free(sim_net_t *net) {
    for (size_t i = 0; i < SIM_REPLAY_RING_SIZE; i++)
        free(net->replay[i].bytes);
    memset(net->replay, 0, sizeof(net->replay));
}

/* Back to a well-behaved network: no partitions, no loss, short latency. */
void sim_net_heal(sim_net_t *net) {
    memset(net->blocked, 0, sizeof(net->blocked));
    memset(net->kind_drop_mask, 0, sizeof(net->kind_drop_mask));
    memset(net->kind_drop_view_max, 0, sizeof(net->kind_drop_view_max));
    net->faults.drop_pm = 0;
    net->faults.dup_pm = 0;
    net->faults.slow_pm = 0;
    net->faults.corrupt_pm = 0;
    net->faults.latency_min_ms = 1;
    net->faults.latency_max_ms = 10;
}

void sim_net_block(sim_net_t *net, uint16_t from, uint16_t to) {
    PBFT_ASSERT(from < SIM_REPLICA_MAX && to < SIM_REPLICA_MAX);
    net->blocked[from][to] = true;
}

void sim_net_block_both(sim_net_t *net, uint16_t a, uint16_t b) {
    sim_net_block(net, a, b);
    sim_net_block(net, b, a);
}

void sim_net_split(sim_net_t *net, uint32_t group_mask, uint16_t n) {
    for (uint16_t a = 0; a < n; a++)
        for (uint16_t b = 0; b < n; b++)
            if (((group_mask >> a) & 1u) != ((group_mask >> b) & 1u)) sim_net_block(net, a, b);
}

void sim_net_isolate(sim_net_t *net, uint16_t replica, uint16_t n) {
    sim_net_split(net, 1u << replica, n);
}

static void remember_for_replay(sim_cluster_t *c, uint16_t from, const uint8_t *bytes,
                                size_t size) {
    sim_net_t *net = &c->net;
    sim_replay_entry_t *e = &net->replay[net->replay_next];
    free(e->bytes);
    e->bytes = pbft_xmalloc(size);
    memcpy(e->bytes, bytes, size);
    e->size = size;
    e->from = from;
    e->view = sim_msg_view(bytes, size);
    net->replay_next = (net->replay_next + 1) % SIM_REPLAY_RING_SIZE;
    if (net->replay_count < SIM_REPLAY_RING_SIZE) net->replay_count++;
}

static uint64_t draw_latency(sim_cluster_t *c) {
    const sim_net_faults_t *f = &c->net.faults;
    uint64_t lat = sim_rng_between(&c->rng, f->latency_min_ms, f->latency_max_ms);
    if (f->slow_pm && sim_rng_chance(&c->rng, f->slow_pm))
        lat += sim_rng_between(&c->rng, 0, f->slow_latency_ms_max);
    return lat;
}

static void push_message_flag(sim_cluster_t *c, sim_event_kind_t kind, uint16_t from, uint16_t to,
                              const uint8_t *bytes, size_t size, uint64_t latency_ms,
                              uint64_t flag);

static void push_message(sim_cluster_t *c, sim_event_kind_t kind, uint16_t from, uint16_t to,
                         const uint8_t *bytes, size_t size, uint64_t latency_ms) {
    push_message_flag(c, kind, from, to, bytes, size, latency_ms, 0);
}

/* flag (event field b): 1 = this copy was corrupted on the wire (--trace shows it). */
static void push_message_flag(sim_cluster_t *c, sim_event_kind_t kind, uint16_t from, uint16_t to,
                              const uint8_t *bytes, size_t size, uint64_t latency_ms,
                              uint64_t flag) {
    sim_event_t ev;
    memset(&ev, 0, sizeof(ev));
    ev.time_ms = c->now_ms + latency_ms;
    ev.kind = kind;
    ev.from = from;
    ev.to = to;
    ev.bytes = pbft_xmalloc(size);
    memcpy(ev.bytes, bytes, size);
    ev.size = size;
    ev.b = flag;
    sim_queue_push(&c->queue, &ev);
}

/* Number of copies the network will deliver: 0 (lost), 1, or more. */
static unsigned draw_copies(sim_cluster_t *c) {
    const sim_net_faults_t *f = &c->net.faults;
    if (sim_rng_chance(&c->rng, f->drop_pm)) return 0;
    unsigned copies = 1;
    while (copies < 4 && sim_rng_chance(&c->rng, f->dup_pm))
        copies++;
    return copies;
}

void sim_net_send(sim_cluster_t *c, uint16_t from, uint16_t to, const uint8_t *bytes, size_t size) {
    sim_net_t *net = &c->net;
    PBFT_ASSERT(from < c->replica_count && to < c->replica_count);
    net->stats.sent++;
    if (c->replay_record) remember_for_replay(c, from, bytes, size);
    if (net->blocked[from][to]) {
        net->stats.blocked++;
        return;
    }
    int kind = sim_msg_kind(bytes, size);
    if (kind >= 0 && (net->kind_drop_mask[to] >> kind) & 1u &&
        sim_msg_view(bytes, size) <= net->kind_drop_view_max[to]) {
        net->stats.dropped++;
        return;
    }
    unsigned copies = draw_copies(c);
    if (copies == 0) {
        net->stats.dropped++;
        return;
    }
    if (copies > 1) net->stats.duplicated += copies - 1;
    for (unsigned i = 0; i < copies; i++) {
        if (size > 0 && net->faults.corrupt_pm && sim_rng_chance(&c->rng, net->faults.corrupt_pm)) {
            /* One flipped byte anywhere: header, body, signature or the
             * unsigned parts. The receiver must reject it with a status. */
            uint8_t *bad = pbft_xmalloc(size);
            memcpy(bad, bytes, size);
            bad[sim_rng_below(&c->rng, size)] ^= (uint8_t)sim_rng_between(&c->rng, 1, 255);
            net->stats.corrupted++;
            push_message_flag(c, SIM_EV_MESSAGE, from, to, bad, size, draw_latency(c), 1);
            free(bad);
            continue;
        }
        push_message(c, SIM_EV_MESSAGE, from, to, bytes, size, draw_latency(c));
    }
}

void sim_net_send_client(sim_cluster_t *c, uint16_t to, const uint8_t *bytes, size_t size) {
    PBFT_ASSERT(to < c->replica_count);
    unsigned copies = draw_copies(c);
    for (unsigned i = 0; i < copies; i++)
        push_message(c, SIM_EV_CLIENT_TX, SIM_REPLICA_MAX, to, bytes, size, draw_latency(c));
}

/* A network adversary re-sends a message it saw earlier — possibly from an
 * old view, possibly to a replica it was never meant for. Signatures are the
 * original sender's, so only the protocol's view and seq checks stop it. */
void sim_net_replay_one(sim_cluster_t *c) {
    sim_net_t *net = &c->net;
    if (net->replay_count == 0) return;
    size_t i = (size_t)sim_rng_below(&c->rng, net->replay_count);
    const sim_replay_entry_t *e = &net->replay[i];
    uint16_t to = (uint16_t)sim_rng_below(&c->rng, c->replica_count);
    if (to == e->from) return;
    net->stats.replayed++;
    push_message(c, SIM_EV_MESSAGE, e->from, to, e->bytes, e->size, draw_latency(c));
}
