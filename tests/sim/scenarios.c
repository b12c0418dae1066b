/*
 * tests/sim/scenarios.c — the named scenarios.
 *
 * Each scenario configures the cluster and schedules its faults before
 * `heal_ms`; at heal_ms the network heals and crashed replicas restart (the
 * Byzantine ones stay Byzantine: at most f), and liveness must then hold
 * within SIM_LIVENESS_BOUND_MS. Random choices (which backup, when) come from
 * the seed, so every (scenario, seed) pair is one reproducible test.
 */
#include <string.h>

#include "pbft/consensus.h"
#include "pbft/messages.h"
#include "sim_cluster.h"

/* ------------------------------------------------------------------------ */
/* Actions (arg packs a replica index or a mask).                            */

static void act_restart(sim_cluster_t *c, uint64_t r) {
    sim_restart(c, (uint16_t)r);
}

static void act_crash_primary(sim_cluster_t *c, uint64_t arg) {
    (void)arg;
    sim_crash(c, sim_primary_of(c));
}

static void act_restart_all(sim_cluster_t *c, uint64_t arg) {
    (void)arg;
    for (uint16_t r = 0; r < c->replica_count; r++)
        sim_restart(c, r);
}

static void act_crash_all(sim_cluster_t *c, uint64_t arg) {
    (void)arg;
    for (uint16_t r = 0; r < c->replica_count; r++)
        sim_crash(c, r);
}

static void act_heal_net(sim_cluster_t *c, uint64_t arg) {
    (void)arg;
    memset(c->net.blocked, 0, sizeof(c->net.blocked));
    memset(c->net.kind_drop_mask, 0, sizeof(c->net.kind_drop_mask));
}

static void act_isolate(sim_cluster_t *c, uint64_t r) {
    sim_log(c, "replica %u isolated", (unsigned)r);
    sim_net_isolate(&c->net, (uint16_t)r, c->replica_count);
}

static void act_isolate_primary(sim_cluster_t *c, uint64_t arg) {
    (void)arg;
    act_isolate(c, sim_primary_of(c));
}

static void act_split(sim_cluster_t *c, uint64_t mask) {
    sim_log(c, "network split, group mask 0x%llx", (unsigned long long)mask);
    sim_net_split(&c->net, (uint32_t)mask, c->replica_count);
}

/* Replica r hears nobody (its outbound links work). */
static void act_deafen(sim_cluster_t *c, uint64_t r) {
    sim_log(c, "replica %u can send but not receive", (unsigned)r);
    for (uint16_t from = 0; from < c->replica_count; from++)
        if (from != r) sim_net_block(&c->net, from, (uint16_t)r);
}

/* Replica r is heard by nobody (it still receives). */
static void act_mute(sim_cluster_t *c, uint64_t r) {
    sim_log(c, "replica %u can receive but not send", (unsigned)r);
    for (uint16_t to = 0; to < c->replica_count; to++)
        if (to != r) sim_net_block(&c->net, (uint16_t)r, to);
}

static void act_mute_primary(sim_cluster_t *c, uint64_t arg) {
    (void)arg;
    act_mute(c, sim_primary_of(c));
}

static uint16_t random_backup(sim_cluster_t *c) {
    uint16_t p = sim_primary_of(c);
    return (uint16_t)((p + 1 + sim_rng_below(&c->rng, c->replica_count - 1u)) % c->replica_count);
}

static void act_crash_backup(sim_cluster_t *c, uint64_t down_ms) {
    uint16_t r = random_backup(c);
    sim_crash(c, r);
    sim_at(c, c->now_ms + down_ms, act_restart, r);
}

static void act_isolate_backup(sim_cluster_t *c, uint64_t arg) {
    (void)arg;
    act_isolate(c, random_backup(c));
}

/* ------------------------------------------------------------------------ */
/* Scripts.                                                                   */

static void setup_normal(sim_cluster_t *c) {
    (void)c;
}

static void setup_drop30(sim_cluster_t *c) {
    c->net.faults.drop_pm = 300;
}

static void setup_duplicate_reorder(sim_cluster_t *c) {
    c->net.faults.dup_pm = 300;
    c->net.faults.latency_min_ms = 1;
    c->net.faults.latency_max_ms = 150;
    c->net.faults.slow_pm = 100;
    c->net.faults.slow_latency_ms_max = 2000;
}

static void setup_partition_symmetric(sim_cluster_t *c) {
    c->net.faults.drop_pm = 20;
    sim_at(c, 3000, act_isolate_backup, 0);
    sim_at(c, 9000, act_heal_net, 0);
    sim_at(c, 11000, act_isolate_primary, 0);
    sim_at(c, 17000, act_heal_net, 0);
}

static void setup_partition_one_way(sim_cluster_t *c) {
    sim_at(c, 3000, act_deafen, (uint64_t)random_backup(c));
    sim_at(c, 8000, act_heal_net, 0);
    sim_at(c, 10000, act_mute_primary, 0);
    sim_at(c, 16000, act_heal_net, 0);
}

static void setup_split_2_2(sim_cluster_t *c) {
    sim_at(c, 3000, act_split, 0x3); /* {0,1} | {2,3}: no quorum anywhere */
    sim_at(c, 12000, act_heal_net, 0);
}

static void setup_isolate_primary(sim_cluster_t *c) {
    sim_at(c, 3000, act_isolate_primary, 0);
    sim_at(c, 14000, act_heal_net, 0);
}

static void setup_crash_restart_backup(sim_cluster_t *c) {
    c->net.faults.drop_pm = 20;
    sim_at(c, 3000, act_crash_backup, 6000);
    sim_at(c, 13000, act_crash_backup, 4000);
}

static void setup_crash_restart_primary(sim_cluster_t *c) {
    c->net.faults.drop_pm = 20;
    sim_at(c, 3000, act_crash_primary, 0);
    sim_at(c, 11000, act_restart_all, 0);
    sim_at(c, 14000, act_crash_primary, 0);
}

static void setup_crash_all_restart(sim_cluster_t *c) {
    sim_at(c, 4000, act_crash_all, 0);
    sim_at(c, 4500, act_restart_all, 0);
    sim_at(c, 10000, act_crash_all, 0);
    for (uint16_t r = 0; r < c->replica_count; r++)
        sim_at(c, 10100 + sim_rng_below(&c->rng, 3000), act_restart, r);
}

static void set_byz(sim_cluster_t *c, uint16_t r, sim_byz_kind_t kind, uint16_t target) {
    c->replicas[r].byz = kind;
    c->replicas[r].byz_target = target;
    if (kind == SIM_BYZ_REPLAY) c->replay_record = true;
}

static void act_byz_silent(sim_cluster_t *c, uint64_t r) {
    set_byz(c, (uint16_t)r, SIM_BYZ_SILENT, 0);
}

static void setup_equivocating_primary(sim_cluster_t *c) {
    set_byz(c, 0, SIM_BYZ_EQUIVOCATE, 0);
    c->net.faults.drop_pm = 50;
}

static void setup_censoring_primary(sim_cluster_t *c) {
    set_byz(c, 0, SIM_BYZ_CENSOR, (uint16_t)sim_rng_below(&c->rng, c->client_count));
}

static void setup_silent_primary(sim_cluster_t *c) {
    sim_at(c, 3000, act_byz_silent, 0);
}

/* Every client talks to backup 1 only and the primary goes silent: the
 * primary must be replaced although one backup alone holds the pending txs
 * (the node helper's report, 03:31). */
static void setup_sticky_clients_silent_primary(sim_cluster_t *c) {
    c->clients_sticky = true;
    sim_at(c, 3000, act_byz_silent, 0);
}

static void setup_invalid_tx_primary(sim_cluster_t *c) {
    set_byz(c, 0, SIM_BYZ_INVALID_TX, 0);
}

static void setup_bad_prev_hash_primary(sim_cluster_t *c) {
    set_byz(c, 0, SIM_BYZ_BAD_PREV_HASH, 0);
}

static void setup_view_change_spam(sim_cluster_t *c) {
    set_byz(c, (uint16_t)(1 + sim_rng_below(&c->rng, c->replica_count - 1u)),
            SIM_BYZ_VIEW_CHANGE_SPAM, 0);
}

/* f replicas alone cannot force a view change (OSDI'99 §4.5.2: f+1). */
static void expect_no_view_change(sim_cluster_t *c) {
    for (uint16_t r = 0; r < c->replica_count; r++)
        if (sim_is_honest(c, r) && sim_replica_view(c, r) != 0)
            sim_fail(c,
                     "expectation: honest replica %u left view 0 (view %llu) though only a "
                     "Byzantine backup asked for a view change",
                     r, (unsigned long long)sim_replica_view(c, r));
}

/* n = 7, f = 2: one replica votes for false checkpoints, another claims in
 * its STATUS to be thousands of blocks ahead; some loss, a crash, a view
 * change. */
static void setup_lying_checkpoint_status(sim_cluster_t *c) {
    set_byz(c, 2, SIM_BYZ_BAD_CHECKPOINT, 0);
    set_byz(c, 5, SIM_BYZ_LYING_STATUS, 0);
    c->net.faults.drop_pm = 50;
    sim_at(c, 4000, act_crash_backup, 3000);
    sim_at(c, 9000, act_isolate_primary, 0);
    sim_at(c, 13000, act_heal_net, 0);
}

static void setup_selective_primary(sim_cluster_t *c) {
    set_byz(c, 0, SIM_BYZ_SELECTIVE, 0);
    c->net.faults.drop_pm = 20;
}

static void setup_duplicate_tx_primary(sim_cluster_t *c) {
    set_byz(c, 0, SIM_BYZ_DUP_TX, 0);
}

static void setup_double_vote_backup(sim_cluster_t *c) {
    set_byz(c, 2, SIM_BYZ_DOUBLE_VOTE, 0);
    c->net.faults.drop_pm = 50;
}

static void setup_phantom_prepare_backup(sim_cluster_t *c) {
    set_byz(c, 2, SIM_BYZ_PHANTOM_PREPARE, 0);
}

static void setup_wrong_key(sim_cluster_t *c) {
    set_byz(c, 1, SIM_BYZ_WRONG_KEY, 0);
}

static void setup_impersonation(sim_cluster_t *c) {
    set_byz(c, 3, SIM_BYZ_IMPERSONATE, 0);
}

static void setup_replay_old_view(sim_cluster_t *c) {
    set_byz(c, 2, SIM_BYZ_REPLAY, 0);
    c->replay_record = true;
    c->replay_pm = 20;
    /* Two view changes, so there are old views to replay from. */
    sim_at(c, 3000, act_isolate_primary, 0);
    sim_at(c, 8000, act_heal_net, 0);
    sim_at(c, 11000, act_isolate_primary, 0);
    sim_at(c, 16000, act_heal_net, 0);
}

/* A replica cut off long enough that the others move several checkpoints
 * past it and garbage-collect: it can only catch up by state transfer. */
static void setup_state_transfer_lagging(sim_cluster_t *c) {
    uint16_t r = (uint16_t)(1 + sim_rng_below(&c->rng, c->replica_count - 1u));
    c->scenario_replica = r;
    sim_at(c, 1000, act_isolate, r);
    sim_at(c, 30000, act_heal_net, 0);
}

/* The same, and one of the others serves state transfer with doctored
 * blocks: the lagging replica must check every block and go elsewhere. */
static void setup_state_transfer_lying_peer(sim_cluster_t *c) {
    setup_state_transfer_lagging(c);
    uint16_t liar =
        (uint16_t)((c->scenario_replica + 1 + sim_rng_below(&c->rng, c->replica_count - 1u)) %
                   c->replica_count);
    if (liar == c->scenario_replica) liar = (uint16_t)((liar + 1) % c->replica_count);
    set_byz(c, liar, SIM_BYZ_LYING_STATE, 0);
}

/* View change after some replicas prepared but only one committed: COMMITs
 * of view 0 reach only replica 3, which then drops off the network. The
 * others must carry the prepared block into the new view, or they commit a
 * different block at a height replica 3 already committed. */
static void act_commits_only_to_last(sim_cluster_t *c, uint64_t arg) {
    (void)arg;
    uint16_t last = (uint16_t)(c->replica_count - 1);
    for (uint16_t r = 0; r < last; r++) {
        c->net.kind_drop_mask[r] = 1u << MSG_COMMIT;
        c->net.kind_drop_view_max[r] = 0;
    }
}

static void act_isolate_last(sim_cluster_t *c, uint64_t arg) {
    (void)arg;
    act_isolate(c, (uint64_t)(c->replica_count - 1));
}

static uint64_t honest_max_view(const sim_cluster_t *c);

/* The same set-up, and the new primary of view 1 forges its NEW-VIEW: it
 * re-proposes other blocks at the prepared seqs that replica 3 committed. */
static void setup_forged_new_view(sim_cluster_t *c) {
    set_byz(c, 1, SIM_BYZ_FORGE_NEW_VIEW, 0);
    sim_at(c, 2000 + sim_rng_below(&c->rng, 1000), act_commits_only_to_last, 0);
    sim_at(c, 3200 + sim_rng_below(&c->rng, 300), act_isolate_last, 0);
}

static void expect_rejected(sim_cluster_t *c, replica_invalid_reason_t a,
                            replica_invalid_reason_t b);

static void expect_new_view_refused(sim_cluster_t *c) {
    if (honest_max_view(c) < 2)
        sim_fail(c, "expectation: the forged view 1 was never abandoned (max view %llu)",
                 (unsigned long long)honest_max_view(c));
    else
        expect_rejected(c, REPLICA_INVALID_BAD_NEW_VIEW, REPLICA_INVALID_BAD_NEW_VIEW);
}

static void setup_prepared_carry(sim_cluster_t *c) {
    sim_at(c, 2000 + sim_rng_below(&c->rng, 1000), act_commits_only_to_last, 0);
    sim_at(c, 3200 + sim_rng_below(&c->rng, 300), act_isolate_last, 0);
}

/* Disk and wire faults: persist fails now and then, frames arrive with a
 * flipped byte, replicas crash and restart from whatever was persisted. */
static void setup_disk_and_wire_faults(sim_cluster_t *c) {
    c->persist_fail_pm = 50;
    c->net.faults.corrupt_pm = 20;
    c->storage_delay_ms_max = 100;
    for (uint64_t at = 2000; at < 17000; at += sim_rng_between(&c->rng, 1500, 4000))
        sim_at(c, at, act_crash_backup, sim_rng_between(&c->rng, 100, 2000));
    sim_at(c, 9000, act_crash_primary, 0);
    sim_at(c, 10000, act_restart_all, 0);
}

/* ------------------------------------------------------------------------ */
/* Swarm: a random mix of everything, drawn from the seed.                   */

static void act_random_net(sim_cluster_t *c, uint64_t arg) {
    (void)arg;
    sim_net_faults_t *f = &c->net.faults;
    f->corrupt_pm = sim_rng_chance(&c->rng, 300) ? (uint32_t)sim_rng_below(&c->rng, 30) : 0;
    f->drop_pm = (uint32_t)sim_rng_below(&c->rng, 301);
    f->dup_pm = (uint32_t)sim_rng_below(&c->rng, 200);
    f->latency_min_ms = (uint32_t)sim_rng_between(&c->rng, 1, 20);
    f->latency_max_ms = f->latency_min_ms + (uint32_t)sim_rng_below(&c->rng, 300);
    f->slow_pm = (uint32_t)sim_rng_below(&c->rng, 100);
    f->slow_latency_ms_max = (uint32_t)sim_rng_below(&c->rng, 3000);
}

static void act_random_partition(sim_cluster_t *c, uint64_t arg) {
    (void)arg;
    act_heal_net(c, 0);
    uint16_t n = c->replica_count;
    switch (sim_rng_below(&c->rng, 6)) {
        case 0:
            act_isolate(c, sim_rng_below(&c->rng, n));
            break;
        case 1:
            act_isolate_primary(c, 0);
            break;
        case 2:
            act_split(c, sim_rng_below(&c->rng, 1u << n));
            break;
        case 3:
            act_deafen(c, sim_rng_below(&c->rng, n));
            break;
        case 4:
            act_mute(c, sim_rng_below(&c->rng, n));
            break;
        default:
            break; /* healed */
    }
}

static void act_random_crash(sim_cluster_t *c, uint64_t arg) {
    (void)arg;
    uint16_t r = (uint16_t)sim_rng_below(&c->rng, c->replica_count);
    sim_crash(c, r);
    sim_at(c, c->now_ms + sim_rng_between(&c->rng, 200, 8000), act_restart, r);
}

/* The network changes shape every 0.3-1.5 s for 25 s: views come and go
 * while quorums form and break. */
static void setup_flapping_partitions(sim_cluster_t *c) {
    c->net.faults.drop_pm = 30;
    c->net.faults.latency_max_ms = 40;
    for (uint64_t at = 1000; at < 26000; at += sim_rng_between(&c->rng, 300, 1500))
        sim_at(c, at, act_random_partition, 0);
}

static void setup_swarm(sim_cluster_t *c) {
    uint8_t version = c->scenario->swarm_version;
    uint64_t heal = sim_rng_between(&c->rng, 8000, 30000);
    /* Since v3: one run in ten keeps the faults up for up to 90 s, so
     * back-offs reach their cap and many checkpoints come and go. */
    if (version >= 3 && sim_rng_chance(&c->rng, 100)) heal = sim_rng_between(&c->rng, 30000, 90000);
    c->heal_ms = heal;
    if (c->f > 0 && sim_rng_chance(&c->rng, 500)) {
        uint16_t byz = (uint16_t)sim_rng_between(&c->rng, 1, c->f);
        for (uint16_t i = 0; i < byz; i++) {
            uint16_t r = (uint16_t)sim_rng_below(&c->rng, c->replica_count);
            /* swarm_v1 keeps the behaviours it had, so its seeds keep meaning. */
            uint64_t last = version == 1   ? SIM_BYZ_DUP_TX
                            : version == 2 ? SIM_BYZ_LYING_STATUS
                                           : SIM_BYZ_KIND_COUNT - 1;
            sim_byz_kind_t k = (sim_byz_kind_t)sim_rng_between(&c->rng, 1, last);
            set_byz(c, r, k, (uint16_t)sim_rng_below(&c->rng, SIM_REPLICA_MAX));
        }
    }
    if (sim_rng_chance(&c->rng, 300)) {
        c->replay_record = true;
        c->replay_pm = (uint32_t)sim_rng_between(&c->rng, 1, 50);
    }
    if (sim_rng_chance(&c->rng, 300))
        c->persist_fail_pm = (uint32_t)sim_rng_between(&c->rng, 1, 100);
    c->storage_delay_ms_max = (uint32_t)sim_rng_below(&c->rng, 300);
    act_random_net(c, 0);
    uint64_t events = sim_rng_between(&c->rng, 2, 12);
    for (uint64_t i = 0; i < events; i++) {
        uint64_t at = sim_rng_between(&c->rng, 500, heal - 1);
        switch (sim_rng_below(&c->rng, 3)) {
            case 0:
                sim_at(c, at, act_random_net, 0);
                break;
            case 1:
                sim_at(c, at, act_random_partition, 0);
                break;
            default:
                sim_at(c, at, act_random_crash, 0);
                break;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Expectations: the scenario did what it is named for.                      */

static uint64_t honest_max_view(const sim_cluster_t *c) {
    uint64_t view = 0;
    for (uint16_t r = 0; r < c->replica_count; r++)
        if (sim_is_honest(c, r) && sim_replica_view(c, r) > view) view = sim_replica_view(c, r);
    return view;
}

/* Sum of an invalid-message counter over the honest replicas (since their
 * last restart). */
static uint64_t honest_invalid(const sim_cluster_t *c, replica_invalid_reason_t reason) {
    uint64_t sum = 0;
    replica_status_t st;
    for (uint16_t r = 0; r < c->replica_count; r++)
        if (sim_is_honest(c, r) && sim_glue_status(c, r, &st)) sum += st.invalid[reason];
    return sum;
}

static void expect_view_change(sim_cluster_t *c) {
    if (honest_max_view(c) == 0)
        sim_fail(c, "expectation: %s never left view 0", c->scenario->name);
}

static void expect_rejected(sim_cluster_t *c, replica_invalid_reason_t a,
                            replica_invalid_reason_t b) {
    if (honest_invalid(c, a) + honest_invalid(c, b) == 0)
        sim_fail(c, "expectation: no honest replica counted a %s or %s message in %s",
                 replica_invalid_reason_name(a), replica_invalid_reason_name(b), c->scenario->name);
}

static void expect_bad_block_replaced(sim_cluster_t *c) {
    expect_view_change(c);
    if (!c->failed) expect_rejected(c, REPLICA_INVALID_BAD_BLOCK, REPLICA_INVALID_BAD_TX);
}

static void expect_bad_signatures(sim_cluster_t *c) {
    expect_rejected(c, REPLICA_INVALID_BAD_SIGNATURE, REPLICA_INVALID_WRONG_SENDER);
}

static void expect_stale_rejected(sim_cluster_t *c) {
    expect_view_change(c);
    if (!c->failed) expect_rejected(c, REPLICA_INVALID_STALE, REPLICA_INVALID_CONFLICT);
}

static void expect_state_transfer(sim_cluster_t *c) {
    replica_status_t st;
    uint16_t r = c->scenario_replica;
    if (sim_glue_status(c, r, &st) && st.state_transfer_blocks == 0)
        sim_fail(c, "expectation: lagging replica %u caught up without state transfer", r);
}

static void expect_state_transfer_despite_liar(sim_cluster_t *c) {
    expect_state_transfer(c);
    if (!c->failed && c->net.stats.forged > 0)
        expect_rejected(c, REPLICA_INVALID_BAD_STATE_REPLY, REPLICA_INVALID_BAD_BLOCK);
}

static void expect_disk_and_wire(sim_cluster_t *c) {
    if (c->persist_failures == 0 || c->net.stats.corrupted == 0)
        sim_fail(c, "expectation: no persist failure or corrupted frame was injected");
}

/* ------------------------------------------------------------------------ */

static const sim_scenario_t scenarios[] = {
    {"normal", "no faults, 4 replicas", 4, 8000, setup_normal},
    {"normal_7", "no faults, 7 replicas", 7, 8000, setup_normal},
    {"drop30", "30% of messages lost", 0, 20000, setup_drop30},
    {"duplicate_reorder", "30% duplicated, random and long delays", 0, 20000,
     setup_duplicate_reorder},
    {"partition_symmetric", "a backup, then the primary, cut off both ways", 4, 20000,
     setup_partition_symmetric},
    {"partition_one_way", "a backup that cannot hear, a primary nobody hears", 4, 20000,
     setup_partition_one_way},
    {"split_2_2", "two halves, no quorum on either side", 4, 15000, setup_split_2_2},
    {"isolate_primary", "the primary cut off for 11 s", 0, 16000, setup_isolate_primary,
     expect_view_change},
    {"crash_restart_backup", "backups crash and restart from disk", 0, 20000,
     setup_crash_restart_backup},
    {"crash_restart_primary", "primaries crash and restart from disk", 0, 22000,
     setup_crash_restart_primary, expect_view_change},
    {"crash_all_restart", "every replica crashes at once, twice", 0, 16000,
     setup_crash_all_restart},
    {"equivocating_primary", "primary sends different blocks to two halves", 4, 20000,
     setup_equivocating_primary},
    {"censoring_primary", "primary ignores one client's txs", 4, 15000, setup_censoring_primary,
     expect_view_change},
    {"silent_primary", "primary goes silent after 3 s", 4, 15000, setup_silent_primary,
     expect_view_change},
    {"sticky_clients_silent_primary", "all clients use backup 1; the primary goes silent", 0, 15000,
     setup_sticky_clients_silent_primary, expect_view_change},
    {"invalid_tx_primary", "primary's blocks carry a badly signed tx", 4, 15000,
     setup_invalid_tx_primary, expect_bad_block_replaced},
    {"bad_prev_hash_primary", "primary's blocks do not link", 4, 15000, setup_bad_prev_hash_primary,
     expect_view_change},
    {"selective_primary", "primary's PRE-PREPAREs skip f backups (a new set each seq)", 0, 15000,
     setup_selective_primary},
    {"duplicate_tx_primary", "primary's blocks repeat an already committed tx", 4, 15000,
     setup_duplicate_tx_primary, expect_bad_block_replaced},
    {"double_vote_backup", "backup votes for two digests per seq", 4, 15000,
     setup_double_vote_backup},
    {"phantom_prepare_backup", "backup prepares digests it never received", 4, 15000,
     setup_phantom_prepare_backup},
    {"wrong_key", "replica signs with a key that is not its own", 4, 15000, setup_wrong_key,
     expect_bad_signatures},
    {"impersonation", "replica claims another replica's id", 4, 15000, setup_impersonation,
     expect_bad_signatures},
    {"replay_old_view", "old-view messages replayed across two view changes", 4, 20000,
     setup_replay_old_view, expect_stale_rejected},
    {"state_transfer_lagging_replica", "a replica misses many checkpoints, then catches up", 0,
     32000, setup_state_transfer_lagging, expect_state_transfer},
    {"state_transfer_lying_peer", "catching up while one peer serves doctored blocks", 0, 32000,
     setup_state_transfer_lying_peer, expect_state_transfer_despite_liar},
    {"prepared_carry", "view change after only one replica committed", 4, 15000,
     setup_prepared_carry, expect_view_change},
    {"forged_new_view", "new primary re-proposes other blocks than the prepared ones", 4, 15000,
     setup_forged_new_view, expect_new_view_refused},
    {"view_change_spam", "a Byzantine backup keeps demanding view changes", 0, 12000,
     setup_view_change_spam, expect_no_view_change},
    {"lying_checkpoint_status", "n=7: false CHECKPOINT votes and a STATUS far ahead", 7, 16000,
     setup_lying_checkpoint_status, expect_view_change},
    {"flapping_partitions", "the partition changes every 0.3-1.5 s for 25 s", 0, 26000,
     setup_flapping_partitions},
    {"disk_and_wire_faults", "persist failures, corrupted frames, crash/restart", 0, 18000,
     setup_disk_and_wire_faults, expect_disk_and_wire},
    {"swarm_v1", "swarm as of 03:45 (n 4 or 7, fixed params): keeps old regression seeds", 0, 0,
     setup_swarm, NULL, false, 1},
    {"swarm_v2", "swarm as of 04:10 (random params, 16 Byzantine kinds): keeps regression seeds", 0,
     0, setup_swarm, NULL, true, 2},
    {"swarm_v3", "swarm as of 05:10 (long fault periods): keeps regression seeds", 0, 0,
     setup_swarm, NULL, true, 3},
    {"swarm_v4", "swarm as of 2026-11-22 (batch rates from the seed): keeps regression seeds", 0, 0,
     setup_swarm, NULL, true, 4},
    {"swarm", "random mix of all faults (heal time drawn from the seed)", 0, 0, setup_swarm, NULL,
     true, 4},
};

size_t sim_scenario_count(void) {
    return PBFT_ARRAY_COUNT(scenarios);
}

const sim_scenario_t *sim_scenario_at(size_t i) {
    return i < PBFT_ARRAY_COUNT(scenarios) ? &scenarios[i] : NULL;
}

const sim_scenario_t *sim_scenario_find(const char *name) {
    for (size_t i = 0; i < PBFT_ARRAY_COUNT(scenarios); i++)
        if (strcmp(scenarios[i].name, name) == 0) return &scenarios[i];
    return NULL;
}
