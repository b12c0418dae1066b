/*
 * tests/sim/clients.c — simulated clients.
 *
 * Each client owns one genesis-funded account and sends transfers with
 * strictly sequential nonces: one outstanding tx at a time, re-sent to a
 * random replica until some honest replica commits it (the simulator's
 * omniscient stand-in for a verified receipt), then the next after a short
 * think time. Now and then a client also sends a tx with a broken signature,
 * which must never be committed (the validity checker sees every committed
 * tx). Clients talk to replicas over lossy links that partitions don't cut.
 */
#include <string.h>

#include "pbft/codec.h"
#include "pbft/crypto.h"
#include "sim_cluster.h"

#define CLIENT_RESEND_MS_MIN 800
#define CLIENT_RESEND_MS_MAX 2500
#define CLIENT_THINK_MS_MAX 300
#define CLIENT_AMOUNT_MAX 50

/* One pending wake-up per client: a newer one supersedes the older. */
static void schedule_wake(sim_cluster_t *c, uint16_t client, uint64_t delay_ms) {
    sim_client_t *cl = &c->clients[client];
    cl->wake_generation++;
    sim_event_t ev = {.time_ms = c->now_ms + delay_ms,
                      .kind = SIM_EV_CLIENT_WAKE,
                      .a = client,
                      .b = cl->wake_generation};
    sim_queue_push(&c->queue, &ev);
}

void sim_clients_init(sim_cluster_t *c, uint16_t count) {
    PBFT_ASSERT(count >= 1 && count <= SIM_CLIENT_MAX);
    c->client_count = count;
    for (uint16_t i = 0; i < count; i++) {
        sim_client_t *cl = &c->clients[i];
        memset(cl, 0, sizeof(*cl));
        cl->index = i;
        cl->key_index = SIM_CLIENT_KEY_BASE + i;
        crypto_address(sim_pubkey_table[cl->key_index], cl->address);
        schedule_wake(c, i, sim_rng_between(&c->rng, 10, 500));
    }
}

static void make_tx(sim_cluster_t *c, sim_client_t *cl) {
    pbft_tx_t *tx = &cl->tx;
    memset(tx, 0, sizeof(*tx));
    memcpy(tx->sender_pubkey, sim_pubkey_table[cl->key_index], PBFT_PUBKEY_SIZE);
    uint16_t to = (uint16_t)sim_rng_below(&c->rng, c->client_count);
    if (to == cl->index || sim_rng_chance(&c->rng, 200))
        sim_rng_bytes(&c->rng, tx->recipient, PBFT_ADDRESS_SIZE);
    else
        memcpy(tx->recipient, c->clients[to].address, PBFT_ADDRESS_SIZE);
    tx->amount = sim_rng_between(&c->rng, 1, CLIENT_AMOUNT_MAX);
    tx->nonce = cl->next_nonce;
    tx->memo_size = (uint16_t)sim_rng_below(&c->rng, 17);
    sim_rng_bytes(&c->rng, tx->memo, tx->memo_size);
    sim_tx_sign(tx, c->genesis.chain_id);
    codec_tx_id(tx, cl->tx_id);
    cl->outstanding = true;
    cl->first_sent_ms = c->now_ms;
}

static void send_tx(sim_cluster_t *c, const sim_client_t *cl, const pbft_tx_t *tx) {
    uint8_t buf[PBFT_TX_SIZE_MAX];
    size_t size = codec_tx_encode(tx, buf, sizeof(buf));
    PBFT_ASSERT(size > 0);
    uint16_t to = (uint16_t)sim_rng_below(&c->rng, c->replica_count);
    (void)cl;
    if (c->clients_sticky && c->replica_count > 1) to = 1;
    sim_net_send_client(c, to, buf, size);
}

/* A tx whose signature does not verify: a replica must never commit it. */
static void send_forged_tx(sim_cluster_t *c, const sim_client_t *cl) {
    pbft_tx_t bad = cl->tx;
    bad.amount += 1 + sim_rng_below(&c->rng, 1000); /* signature no longer matches */
    send_tx(c, cl, &bad);
}

void sim_client_wake(sim_cluster_t *c, uint16_t client, uint64_t generation) {
    PBFT_ASSERT(client < c->client_count);
    sim_client_t *cl = &c->clients[client];
    if (generation != cl->wake_generation) return;
    if (!cl->outstanding) make_tx(c, cl);
    send_tx(c, cl, &cl->tx);
    if (sim_rng_chance(&c->rng, c->invalid_tx_pm)) send_forged_tx(c, cl);
    schedule_wake(c, client, sim_rng_between(&c->rng, CLIENT_RESEND_MS_MIN, CLIENT_RESEND_MS_MAX));
}

void sim_clients_on_tx_committed(sim_cluster_t *c, const uint8_t id[PBFT_HASH_SIZE]) {
    for (uint16_t i = 0; i < c->client_count; i++) {
        sim_client_t *cl = &c->clients[i];
        if (!cl->outstanding || memcmp(cl->tx_id, id, PBFT_HASH_SIZE) != 0) continue;
        cl->outstanding = false;
        cl->next_nonce++;
        cl->committed++;
        /* The pending resend wake-up will find nothing outstanding and send
         * the next tx; make the next one come sooner than that. */
        schedule_wake(c, i, sim_rng_between(&c->rng, 1, CLIENT_THINK_MS_MAX));
        return;
    }
}

void sim_clients_at_heal(sim_cluster_t *c) {
    for (uint16_t i = 0; i < c->client_count; i++) {
        sim_client_t *cl = &c->clients[i];
        cl->committed_at_heal = cl->committed;
        cl->outstanding_at_heal = cl->outstanding;
    }
}

/* Liveness for clients: every tx outstanding at heal time has committed
 * (and every client has committed at least one tx after the heal). */
bool sim_clients_live(const sim_cluster_t *c) {
    for (uint16_t i = 0; i < c->client_count; i++)
        if (c->clients[i].committed <= c->clients[i].committed_at_heal) return false;
    return true;
}
