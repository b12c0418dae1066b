/*
 * tests/sim/cluster.c — the simulated cluster and its run loop.
 *
 * One run = one (scenario, seed): build a genesis with fake-keyed
 * validators and funded client accounts, start n replicas, let the scenario
 * schedule its faults, then step events in (time, insertion) order until the
 * faults have stopped and liveness has held, or a checker fails. Each
 * replica's "disk" keeps exactly what a real replica's store would keep
 * across a crash: its persisted safety state, its stable checkpoint and its
 * committed chain (durable at deliver time).
 */
#include <stdarg.h>
#include <string.h>

#include "pbft/codec.h"
#include "pbft/crypto.h"
#include "sim_cluster.h"

#define SIM_CLIENT_BALANCE 1000000000ull
#define SIM_TAIL_MS 2000 /* run on after liveness holds, still checking */

void sim_fail(sim_cluster_t *c, const char *fmt, ...) {
    if (c->failed) return; /* the first failure is the interesting one */
    c->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->failure, sizeof(c->failure), fmt, ap);
    va_end(ap);
    if (c->options.verbose) printf("[t=%llu] FAIL %s\n", (unsigned long long)c->now_ms, c->failure);
}

void sim_log(sim_cluster_t *c, const char *fmt, ...) {
    if (!c->options.verbose) return;
    printf("[t=%llu] ", (unsigned long long)c->now_ms);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

void sim_at(sim_cluster_t *c, uint64_t at_ms, sim_action_fn fn, uint64_t arg) {
    sim_event_t ev = {.time_ms = at_ms, .kind = SIM_EV_ACTION, .action = fn, .a = arg};
    sim_queue_push(&c->queue, &ev);
}

bool sim_is_honest(const sim_cluster_t *c, uint16_t replica) {
    return c->replicas[replica].byz == SIM_BYZ_NONE;
}

uint64_t sim_replica_view(const sim_cluster_t *c, uint16_t replica) {
    return c->replicas[replica].up ? sim_glue_view(c, replica) : 0;
}

uint16_t sim_primary_of(const sim_cluster_t *c) {
    uint64_t view = 0;
    for (uint16_t r = 0; r < c->replica_count; r++)
        if (sim_is_honest(c, r) && sim_replica_view(c, r) > view) view = sim_replica_view(c, r);
    return (uint16_t)(view % c->replica_count);
}

static int account_cmp(const void *a, const void *b) {
    return memcmp(((const pbft_account_t *)a)->address, ((const pbft_account_t *)b)->address,
                  PBFT_ADDRESS_SIZE);
}

/* Swarm: any valid parameters, from tiny checkpoint intervals (constant
 * garbage collection) to a window of 1 (no pipelining) or 16. */
static void draw_params(sim_cluster_t *c, pbft_consensus_params_t *p) {
    static const uint32_t intervals[] = {2, 4, 8, 16, 32};
    static const uint32_t batches[] = {1, 2, 4, 8, 32, 128};
    p->checkpoint_interval = intervals[sim_rng_below(&c->rng, PBFT_ARRAY_COUNT(intervals))];
    p->window = (uint32_t)sim_rng_between(&c->rng, 1, PBFT_MIN(p->checkpoint_interval, 16u));
    p->batch_max = batches[sim_rng_below(&c->rng, PBFT_ARRAY_COUNT(batches))];
    p->batch_delay_ms = (uint32_t)sim_rng_below(&c->rng, 51);
    p->view_change_timeout_ms = (uint32_t)sim_rng_between(&c->rng, 300, 2000);
    p->request_timeout_ms = (uint32_t)sim_rng_between(&c->rng, 500, 3000);
}

/* Small checkpoint interval and window so that checkpoints, garbage
 * collection and water marks are exercised within seconds of sim time. */
static void build_genesis(sim_cluster_t *c, uint16_t clients) {
    pbft_genesis_t *g = &c->genesis;
    memset(g, 0, sizeof(*g));
    snprintf(g->chain_name, sizeof(g->chain_name), "pbft-sim");
    g->genesis_time_ms = 0;
    g->validators.count = c->replica_count;
    for (uint16_t i = 0; i < c->replica_count; i++)
        memcpy(g->validators.pubkeys[i], sim_pubkey_table[i], PBFT_PUBKEY_SIZE);
    g->params.checkpoint_interval = 8;
    g->params.window = 4;
    g->params.batch_max = 8;
    g->params.batch_delay_ms = 20;
    g->params.view_change_timeout_ms = 1000;
    g->params.request_timeout_ms = 1500;
    if (c->scenario->random_params) draw_params(c, &g->params);
    g->account_count = clients;
    g->accounts = pbft_xcalloc(clients, sizeof(*g->accounts));
    for (uint16_t i = 0; i < clients; i++) {
        crypto_address(sim_pubkey_table[SIM_CLIENT_KEY_BASE + i], g->accounts[i].address);
        g->accounts[i].balance = SIM_CLIENT_BALANCE;
    }
    qsort(g->accounts, clients, sizeof(*g->accounts), account_cmp);
    ledger_genesis_derive(g);
}

static void cluster_init(sim_cluster_t *c, const sim_scenario_t *sc, uint64_t seed,
                         const sim_options_t *opt) {
    memset(c, 0, sizeof(*c));
    c->scenario = sc;
    c->options = *opt;
    c->seed = seed;
    sim_rng_seed(&c->rng, seed);
    sim_queue_init(&c->queue);
    sim_net_init(&c->net);
    sim_checker_init(&c->checker);
    c->votes = sim_votes_new();
    c->replica_count =
        sc->replica_count ? sc->replica_count : (sim_rng_chance(&c->rng, 300) ? 7 : 4);
    if (sc->random_params && sim_rng_chance(&c->rng, 100))
        c->replica_count = sim_rng_chance(&c->rng, 500) ? 1 : 10;
    c->f = (uint16_t)((c->replica_count - 1) / 3);
    c->heal_ms = sc->heal_ms;
    c->storage_delay_ms_max = 5;
    c->invalid_tx_pm = 50;
    c->end_ms = UINT64_MAX;
    /* No draw (so older seeds keep their runs): the seed's low bit picks
     * which way prepared blocks are made durable; the frozen swarms keep
     * the way they had (in the safety state). */
    c->persist_block = (seed & 1) && sc->swarm_version != 1 && sc->swarm_version != 2;
    /* Also without a draw: from swarm v4 on, seed bits 1-2 scale the batch
     * rates down to what a handful of clients send, so the idle gap between
     * cuts is exercised under faults too. */
    static const uint32_t batch_rates[4][2] = {{0, 0}, {0, 20}, {5, 50}, {10, 200}};
    if (sc->swarm_version >= 4) {
        c->batch_idle_rate = batch_rates[(seed >> 1) & 3][0];
        c->batch_busy_rate = batch_rates[(seed >> 1) & 3][1];
    }
    uint16_t clients = (uint16_t)sim_rng_between(&c->rng, 3, 6);
    if (sc->random_params) clients = (uint16_t)sim_rng_between(&c->rng, 1, SIM_CLIENT_MAX);
    build_genesis(c, clients);
    for (uint16_t r = 0; r < c->replica_count; r++) {
        sim_replica_t *rep = &c->replicas[r];
        rep->index = r;
        rep->state = ledger_memstate_new(&c->genesis);
        memcpy(rep->tip_hash, c->genesis.block_hash, PBFT_HASH_SIZE);
        memcpy(rep->state_hash, c->genesis.state_hash, PBFT_HASH_SIZE);
    }
    sim_clients_init(c, clients);
}

static void disk_free(sim_disk_t *d) {
    for (size_t i = 0; i < d->safety_count; i++)
        free(d->safety[i].bytes);
    for (size_t i = 0; i < d->chain_count; i++)
        codec_block_free(&d->chain[i].block);
    free(d->chain);
    free(d->tx_index);
    sim_disk_free_prepared(d);
    memset(d, 0, sizeof(*d));
}

static void cluster_free(sim_cluster_t *c) {
    for (uint16_t r = 0; r < c->replica_count; r++) {
        if (c->replicas[r].up) sim_glue_destroy(c, r);
        disk_free(&c->replicas[r].disk);
        ledger_memstate_free(c->replicas[r].state);
    }
    sim_queue_free(&c->queue);
    sim_net_free(&c->net);
    sim_checker_free(&c->checker);
    sim_votes_free(c->votes);
    ledger_genesis_free(&c->genesis);
}

/* ------------------------------------------------------------------------ */
/* Crash and restart                                                          */

void sim_crash(sim_cluster_t *c, uint16_t r) {
    sim_replica_t *rep = &c->replicas[r];
    if (!rep->up) return;
    sim_log(c, "replica %u crashes at height %llu", r, (unsigned long long)rep->height);
    sim_glue_destroy(c, r);
    rep->up = false;
    rep->incarnation++;
    rep->crashes++;
    for (size_t i = 0; i < SIM_TIMERS_MAX; i++)
        rep->timer_generation[i]++;
    /* Executions the store had not acknowledged are re-reported after the
     * restart from the chain on disk, so nothing else is lost. */
    rep->executed_acked = rep->height;
}

void sim_restart(sim_cluster_t *c, uint16_t r) {
    sim_replica_t *rep = &c->replicas[r];
    if (rep->up) return;
    if (c->now_ms > 0)
        sim_log(c, "replica %u restarts from disk: height %llu, %zu safety keys%s", r,
                (unsigned long long)rep->height, rep->disk.safety_count,
                rep->disk.has_checkpoint ? ", checkpoint" : "");
    rep->up = true;
    sim_glue_create(c, r);
}

/* ------------------------------------------------------------------------ */
/* The run loop                                                               */

static void heal(sim_cluster_t *c, uint64_t arg) {
    (void)arg;
    sim_log(c,
            "faults stop: network healed, crashed replicas restart (%llu persist failures "
            "injected so far)",
            (unsigned long long)c->persist_failures);
    sim_net_heal(&c->net);
    c->replay_pm = 0; /* the network adversary stops; a Byzantine replica may go on */
    c->persist_fail_pm = 0;
    for (uint16_t r = 0; r < c->replica_count; r++)
        sim_restart(c, r);
    c->healed = true;
    c->height_target = c->checker.max_height;
    for (uint16_t r = 0; r < c->replica_count; r++)
        c->replicas[r].height_at_heal = c->replicas[r].height;
    sim_clients_at_heal(c);
}

static void trace_event(sim_cluster_t *c, const sim_event_t *ev) {
    static const char *const kinds[] = {"msg",      "client-tx",   "timer",
                                        "executed", "client-wake", "action"};
    if (ev->kind == SIM_EV_MESSAGE)
        sim_log(c, "msg %s %u->%u view %llu seq %llu (%zu bytes)%s%s",
                sim_msg_name(sim_msg_kind(ev->bytes, ev->size)), ev->from, ev->to,
                (unsigned long long)sim_msg_view(ev->bytes, ev->size),
                (unsigned long long)sim_msg_seq(ev->bytes, ev->size), ev->size,
                c->replicas[ev->to].up ? "" : " [down]", ev->b ? " [corrupted]" : "");
    else if (ev->kind != SIM_EV_ACTION && ev->kind != SIM_EV_CLIENT_WAKE)
        sim_log(c, "%s at replica %u (a=%llu)", kinds[ev->kind], ev->to, (unsigned long long)ev->a);
}

static void dispatch(sim_cluster_t *c, sim_event_t *ev) {
    sim_replica_t *rep = ev->to < SIM_REPLICA_MAX ? &c->replicas[ev->to] : NULL;
    if (c->options.trace) trace_event(c, ev);
    switch (ev->kind) {
        case SIM_EV_MESSAGE:
            if (!rep->up) break;
            if (c->net.blocked[ev->from][ev->to]) { /* partitioned while in flight */
                c->net.stats.blocked++;
                break;
            }
            c->net.stats.delivered++;
            sim_glue_on_message(c, ev->to, ev->from, ev->bytes, ev->size);
            break;
        case SIM_EV_CLIENT_TX:
            if (rep->up) sim_glue_on_client_tx(c, ev->to, ev->bytes, ev->size);
            break;
        case SIM_EV_TIMER:
            if (rep->up && ev->a < SIM_TIMERS_MAX && ev->b == rep->timer_generation[ev->a])
                sim_glue_on_timer(c, ev->to, ev->a);
            break;
        case SIM_EV_EXECUTED:
            if (rep->up && ev->b == rep->incarnation) sim_glue_on_executed(c, ev->to, ev->a);
            break;
        case SIM_EV_CLIENT_WAKE:
            sim_client_wake(c, (uint16_t)ev->a, ev->b);
            break;
        case SIM_EV_ACTION:
            ev->action(c, ev->a);
            break;
    }
    if (rep && rep->up && !c->failed) sim_glue_check_bounds(c, ev->to);
}

static bool liveness_holds(const sim_cluster_t *c) {
    for (uint16_t r = 0; r < c->replica_count; r++) {
        const sim_replica_t *rep = &c->replicas[r];
        if (!sim_is_honest(c, r)) continue;
        if (!rep->up || rep->height <= c->height_target) return false;
    }
    return sim_clients_live(c);
}

static void liveness_failure(sim_cluster_t *c) {
    char detail[384] = "";
    size_t used = 0;
    for (uint16_t r = 0; r < c->replica_count && used < sizeof(detail) - 40; r++)
        used += (size_t)snprintf(detail + used, sizeof(detail) - used, " r%u:h=%llu,v=%llu%s%s%s",
                                 r, (unsigned long long)c->replicas[r].height,
                                 (unsigned long long)sim_replica_view(c, r),
                                 sim_is_honest(c, r) ? "" : "(byz ",
                                 sim_is_honest(c, r) ? "" : sim_byz_name(c->replicas[r].byz),
                                 sim_is_honest(c, r) ? "" : ")");
    uint64_t stuck = 0;
    for (uint16_t i = 0; i < c->client_count; i++)
        if (c->clients[i].committed <= c->clients[i].committed_at_heal) stuck |= 1ull << i;
    sim_fail(c,
             "liveness: %llu ms after the faults stopped, not every honest replica is above "
             "height %llu / clients stuck mask 0x%llx (bound %u ms):%s",
             (unsigned long long)(c->now_ms - c->heal_ms), (unsigned long long)c->height_target,
             (unsigned long long)stuck, SIM_LIVENESS_BOUND_MS, detail);
}

static void step_checks(sim_cluster_t *c) {
    if (c->failed || !c->healed || c->liveness_at_ms) return;
    if (liveness_holds(c)) {
        c->liveness_at_ms = c->now_ms;
        c->end_ms = c->now_ms + SIM_TAIL_MS;
        sim_log(c, "liveness holds %llu ms after the heal",
                (unsigned long long)(c->now_ms - c->heal_ms));
    } else if (c->now_ms > c->heal_ms + SIM_LIVENESS_BOUND_MS) {
        liveness_failure(c);
    }
}

static void run_loop(sim_cluster_t *c) {
    sim_event_t ev;
    while (!c->failed) {
        if (sim_queue_peek_time(&c->queue) > c->end_ms) break;
        if (!sim_queue_pop(&c->queue, &ev)) {
            sim_fail(c, "stuck: the event queue ran dry");
            break;
        }
        PBFT_ASSERT(ev.time_ms >= c->now_ms); /* time never goes backwards */
        c->now_ms = ev.time_ms;
        snprintf(pbft_assert_context, sizeof(pbft_assert_context), "sim seed=0x%llx t=%llu",
                 (unsigned long long)c->seed, (unsigned long long)c->now_ms);
        dispatch(c, &ev);
        free(ev.bytes);
        if (c->replay_pm && sim_rng_chance(&c->rng, c->replay_pm)) sim_net_replay_one(c);
        c->steps++;
        step_checks(c);
        if (c->steps >= c->options.steps_max)
            sim_fail(c, "stuck: %llu steps without finishing (step limit)",
                     (unsigned long long)c->steps);
    }
}

static void collect(const sim_cluster_t *c, sim_result_t *out) {
    memset(out, 0, sizeof(*out));
    out->passed = !c->failed;
    out->replica_count = c->replica_count;
    snprintf(out->failure, sizeof(out->failure), "%s", c->failure);
    out->commits = c->checker.max_height;
    for (uint16_t r = 0; r < c->replica_count; r++) {
        if (!sim_is_honest(c, r) || !c->replicas[r].up) continue;
        uint64_t vc = sim_glue_view_changes(c, r);
        if (vc > out->view_changes) out->view_changes = vc;
        if (sim_glue_view(c, r) > out->max_view) out->max_view = sim_glue_view(c, r);
    }
    out->sim_time_ms = c->now_ms;
    out->steps = c->steps;
    out->liveness_ms = c->liveness_at_ms ? c->liveness_at_ms - c->heal_ms : 0;
    out->txs_committed = c->checker.tx_count;
    out->messages = c->net.stats.sent;
    out->dropped = c->net.stats.dropped + c->net.stats.blocked;
}

void sim_run(const sim_scenario_t *sc, uint64_t seed, const sim_options_t *opt, sim_result_t *out) {
    sim_cluster_t *c = pbft_xcalloc(1, sizeof(*c));
    sim_byz_reset();
    cluster_init(c, sc, seed, opt);
    for (uint16_t r = 0; r < c->replica_count; r++)
        sim_restart(c, r);
    sc->setup(c);
    for (uint16_t r = 0; r < c->replica_count; r++)
        if (c->replicas[r].byz != SIM_BYZ_NONE)
            sim_log(c, "replica %u is Byzantine: %s (target %u)", r,
                    sim_byz_name(c->replicas[r].byz), c->replicas[r].byz_target);
    sim_log(c, "n=%u f=%u clients=%u; faults stop at %llu ms", c->replica_count, c->f,
            c->client_count, (unsigned long long)c->heal_ms);
    sim_at(c, c->heal_ms, heal, 0);
    run_loop(c);
    if (!c->failed && sc->expect) sc->expect(c);
    if (c->failed)
        for (uint16_t r = 0; r < c->replica_count; r++)
            sim_glue_dump(c, r);
    collect(c, out);
    cluster_free(c);
    free(c);
}
