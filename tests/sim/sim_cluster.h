/*
 * tests/sim/sim_cluster.h — the simulated cluster: replicas with their
 * simulated disks, clients, the network, the checkers and the run loop.
 * Internal to tests/sim.
 */
#ifndef PBFT_SIM_CLUSTER_H
#define PBFT_SIM_CLUSTER_H

#include "pbft/cert.h"
#include "pbft/ledger.h"
#include "pbft/types.h"
#include "sim.h"

struct replica; /* pbft/consensus.h */

/* The msg_type_t of a frame (pbft/messages.h), -1 when it has none. */
int sim_msg_kind(const uint8_t *bytes, size_t size);
const char *sim_msg_name(int kind);
/* The seq of a PRE-PREPARE, PREPARE or COMMIT (0 otherwise). */
uint64_t sim_msg_seq(const uint8_t *bytes, size_t size);
/* The view a message speaks for (0 when none or undecodable). */
uint64_t sim_msg_view(const uint8_t *bytes, size_t size);

/* Byzantine behaviours (byzantine.c). A Byzantine replica runs the honest
 * code; the simulator rewrites, forges or withholds what it sends. */
typedef enum sim_byz_kind {
    SIM_BYZ_NONE = 0,
    SIM_BYZ_EQUIVOCATE,       /* primary: different pre-prepares to two halves */
    SIM_BYZ_CENSOR,           /* primary: never sees one client's txs */
    SIM_BYZ_SILENT,           /* sends nothing at all */
    SIM_BYZ_INVALID_TX,       /* primary: proposals carry a badly signed tx */
    SIM_BYZ_BAD_PREV_HASH,    /* primary: proposals do not link */
    SIM_BYZ_DOUBLE_VOTE,      /* backup: prepares/commits two digests per seq */
    SIM_BYZ_PHANTOM_PREPARE,  /* backup: prepares for digests it never received */
    SIM_BYZ_WRONG_KEY,        /* signs everything with a key that is not its own */
    SIM_BYZ_IMPERSONATE,      /* claims to be another replica */
    SIM_BYZ_REPLAY,           /* re-sends old messages of earlier views */
    SIM_BYZ_DUP_TX,           /* primary: proposals repeat an already committed tx */
    SIM_BYZ_FORGE_NEW_VIEW,   /* new primary: NEW-VIEW re-proposes other blocks */
    SIM_BYZ_VIEW_CHANGE_SPAM, /* demands view changes nobody else wants */
    SIM_BYZ_LYING_STATE,      /* serves state transfer with doctored blocks */
    SIM_BYZ_BAD_CHECKPOINT,   /* CHECKPOINT votes for states nobody has */
    SIM_BYZ_LYING_STATUS,     /* STATUS claims heights and views far ahead */
    SIM_BYZ_SELECTIVE,        /* primary: each PRE-PREPARE skips f backups */
    SIM_BYZ_KIND_COUNT
} sim_byz_kind_t;

const char *sim_byz_name(sim_byz_kind_t kind);

/* One committed block as the replica's store holds it. */
typedef struct sim_chain_entry {
    pbft_block_t block; /* owned copy */
    pbft_commit_cert_t cert;
    uint8_t block_hash[PBFT_HASH_SIZE];
    uint8_t state_hash[PBFT_HASH_SIZE];
} sim_chain_entry_t;

typedef struct sim_safety_blob {
    char key[SIM_SAFETY_KEY_SIZE_MAX];
    uint8_t *bytes;
    size_t size;
} sim_safety_blob_t;

/* What survives a crash. */
typedef struct sim_disk {
    sim_safety_blob_t safety[SIM_SAFETY_KEYS_MAX];
    size_t safety_count;
    bool has_checkpoint;
    pbft_checkpoint_cert_t checkpoint;
    sim_chain_entry_t *chain; /* chain[h-1] is height h */
    size_t chain_count;
    size_t chain_capacity;
    /* The store's tx index: ids of every tx in `chain` (open addressing). */
    uint8_t (*tx_index)[PBFT_HASH_SIZE];
    size_t tx_index_capacity; /* power of two, 0 when empty */
    size_t tx_index_count;
    /* Blocks given to env->persist_block (copies), above the executed height. */
    pbft_block_t *prepared;
    size_t prepared_count;
    size_t prepared_capacity;
} sim_disk_t;

typedef struct sim_replica {
    uint16_t index;
    struct replica *replica; /* NULL while crashed */
    void *glue;              /* per-replica env state (glue.c) */
    bool up;
    uint32_t incarnation; /* bumped on crash; stale timers and I/O are dropped */
    uint64_t timer_generation[SIM_TIMERS_MAX];
    sim_byz_kind_t byz;
    uint16_t byz_target; /* client (censor) or replica (impersonate) */
    sim_disk_t disk;
    ledger_memstate_t *state; /* rebuilt from disk.chain on restart */
    uint64_t height;          /* == disk.chain_count */
    uint8_t tip_hash[PBFT_HASH_SIZE];
    uint8_t state_hash[PBFT_HASH_SIZE];
    uint64_t executed_acked;  /* highest height reported with on_executed */
    uint64_t storage_free_ms; /* storage completes in order: next ack not before */
    uint64_t height_at_heal;
    uint64_t crashes;
} sim_replica_t;

typedef struct sim_client {
    uint16_t index;
    uint32_t key_index;
    uint8_t address[PBFT_ADDRESS_SIZE];
    uint64_t next_nonce;
    uint64_t wake_generation;
    bool outstanding;
    pbft_tx_t tx;
    uint8_t tx_id[PBFT_HASH_SIZE];
    uint64_t first_sent_ms;
    uint64_t committed;
    uint64_t committed_at_heal;
    bool outstanding_at_heal;
    bool censored;
} sim_client_t;

/* tx id -> height of the (one) block that committed it. */
typedef struct sim_tx_slot {
    bool used;
    uint8_t id[PBFT_HASH_SIZE];
    uint64_t height;
} sim_tx_slot_t;

typedef struct sim_height_rec {
    bool set;
    uint16_t replica; /* first honest replica to commit this height */
    uint8_t block_hash[PBFT_HASH_SIZE];
    uint8_t state_hash[PBFT_HASH_SIZE];
} sim_height_rec_t;

typedef struct sim_checker {
    sim_height_rec_t *heights; /* heights[h] */
    size_t height_capacity;
    uint64_t max_height; /* highest height any honest replica committed */
    sim_tx_slot_t *txs;
    size_t tx_capacity;
    size_t tx_count;
} sim_checker_t;

typedef struct sim_options {
    bool verbose;
    bool trace;         /* also every message, timer and client tx (implies verbose) */
    bool no_cert_check; /* mutant self-test: leave agreement to catch it */
    uint64_t steps_max;
} sim_options_t;

typedef struct sim_result {
    bool passed;
    uint16_t replica_count;
    char failure[512];
    uint64_t commits;      /* highest honest height */
    uint64_t view_changes; /* most views installed by one honest replica */
    uint64_t max_view;     /* highest view of an honest replica at the end */
    uint64_t sim_time_ms;
    uint64_t steps;
    uint64_t liveness_ms; /* time from heal to liveness (0 if not reached) */
    uint64_t txs_committed;
    uint64_t messages;
    uint64_t dropped;
} sim_result_t;

typedef struct sim_scenario sim_scenario_t;
typedef struct sim_votes sim_votes_t; /* votes.c */

struct sim_cluster {
    const sim_scenario_t *scenario;
    sim_options_t options;
    uint64_t seed;
    sim_rng_t rng;
    sim_queue_t queue;
    uint64_t now_ms;
    uint64_t steps;
    uint16_t replica_count;
    uint16_t f;
    pbft_genesis_t genesis;
    sim_replica_t replicas[SIM_REPLICA_MAX];
    sim_client_t clients[SIM_CLIENT_MAX];
    uint16_t client_count;
    sim_net_t net;
    bool replay_record; /* remember sent frames for replay attacks */
    uint32_t replay_pm; /* per-step chance the network adversary replays one (until heal) */
    sim_checker_t checker;
    sim_votes_t *votes;
    /* Phases: faults until heal_ms; then liveness must hold within
     * SIM_LIVENESS_BOUND_MS; the run ends a little after it does. */
    uint64_t heal_ms;
    bool healed;
    uint64_t height_target; /* liveness: every honest replica above this */
    uint64_t liveness_at_ms;
    uint64_t end_ms;
    uint32_t storage_delay_ms_max;
    uint32_t invalid_tx_pm; /* clients' deliberately bad signatures */
    /* replica_options_t batch rates (0/0: the product's defaults, which the
     * simulated clients never reach). */
    uint32_t batch_idle_rate;
    uint32_t batch_busy_rate;
    uint32_t persist_fail_pm;  /* env->persist fails (disk error), until heal */
    uint16_t scenario_replica; /* the replica a scenario singled out */
    bool clients_sticky;       /* every client talks to replica 1 only */
    /* Provide env->persist_block (as the node does) — odd seeds — or leave it
     * NULL so prepared blocks ride in the safety state — even seeds. */
    bool persist_block;
    uint64_t persist_failures;
    bool failed;
    char failure[512];
};

/* Scenario: configures the cluster and schedules its script. */
struct sim_scenario {
    const char *name;
    const char *about;
    uint16_t replica_count; /* 0: chosen by the seed (4 or 7) */
    uint64_t heal_ms;       /* faults stop here */
    void (*setup)(sim_cluster_t *c);
    /* Optional: after a run that passed every checker, asserts that the
     * scenario exercised what it is named for (a view change happened, the
     * forged messages were rejected, state transfer ran, ...). */
    void (*expect)(sim_cluster_t *c);
    /* Draw n (1, 4, 7 or 10) and the consensus parameters from the seed. */
    bool random_params;
    /* Swarm generation: 1 = 03:45 (no random params, Byzantine kinds up to
     * dup-tx), 2 = 04:10 (random params, kinds up to lying-status), 3 = 05:10
     * (also long fault periods), 4 = now (also batching by arrival rate at
     * the simulator's low rates). Old generations keep their seeds' runs. */
    uint8_t swarm_version;
};

const sim_scenario_t *sim_scenario_find(const char *name);
size_t sim_scenario_count(void);
const sim_scenario_t *sim_scenario_at(size_t i);

/* cluster.c */
void sim_fail(sim_cluster_t *c, const char *fmt, ...) PBFT_PRINTF(2, 3);
void sim_log(sim_cluster_t *c, const char *fmt, ...) PBFT_PRINTF(2, 3);
void sim_at(sim_cluster_t *c, uint64_t at_ms, sim_action_fn fn, uint64_t arg);
void sim_run(const sim_scenario_t *sc, uint64_t seed, const sim_options_t *opt, sim_result_t *out);
void sim_crash(sim_cluster_t *c, uint16_t replica);
void sim_restart(sim_cluster_t *c, uint16_t replica);
bool sim_is_honest(const sim_cluster_t *c, uint16_t replica);
uint16_t sim_primary_of(const sim_cluster_t *c); /* primary of the highest honest view */
uint64_t sim_replica_view(const sim_cluster_t *c, uint16_t replica);

/* disk.c */
void sim_disk_put_safety(sim_disk_t *d, const char *key, const uint8_t *bytes, size_t size);
const sim_safety_blob_t *sim_disk_get_safety(const sim_disk_t *d, const char *key);
/* Is the tx in this replica's committed chain (its store's tx index)? */
bool sim_disk_has_tx(const sim_disk_t *d, const uint8_t id[PBFT_HASH_SIZE]);
/* env->persist_block: keeps a copy; drops copies at or below the executed height. */
void sim_disk_put_prepared(sim_disk_t *d, const pbft_block_t *block);
void sim_disk_free_prepared(sim_disk_t *d);
bool sim_deliver_block(sim_cluster_t *c, uint16_t r, const pbft_block_t *block,
                       const pbft_commit_cert_t *cert);
void sim_store_checkpoint(sim_cluster_t *c, uint16_t r, const pbft_checkpoint_cert_t *cert);

/* checker.c */
void sim_checker_init(sim_checker_t *k);
void sim_checker_free(sim_checker_t *k);
/* Called when honest replica r has made block `height` durable. */
void sim_check_commit(sim_cluster_t *c, uint16_t r, const pbft_block_t *block,
                      const pbft_commit_cert_t *cert, const uint8_t block_hash[PBFT_HASH_SIZE],
                      const uint8_t state_hash[PBFT_HASH_SIZE]);
void sim_check_checkpoint(sim_cluster_t *c, uint16_t r, const pbft_checkpoint_cert_t *cert);
/* Height at which an honest replica committed the tx, 0 if none did. */
uint64_t sim_checker_tx_height(const sim_checker_t *k, const uint8_t id[PBFT_HASH_SIZE]);
pbft_status_t sim_cert_verify(void *ctx, const pbft_validator_set_t *validators, uint16_t replica,
                              const uint8_t digest[PBFT_HASH_SIZE],
                              const uint8_t sig[PBFT_SIGNATURE_SIZE]);

/* votes.c: no honest replica signs two hashes for one (phase, view, seq). */
sim_votes_t *sim_votes_new(void);
void sim_votes_free(sim_votes_t *v);
void sim_votes_record(sim_cluster_t *c, uint16_t r, const uint8_t *bytes, size_t size);

/* clients.c */
void sim_clients_init(sim_cluster_t *c, uint16_t count);
void sim_client_wake(sim_cluster_t *c, uint16_t client, uint64_t generation);
void sim_clients_on_tx_committed(sim_cluster_t *c, const uint8_t id[PBFT_HASH_SIZE]);
void sim_clients_at_heal(sim_cluster_t *c);
bool sim_clients_live(const sim_cluster_t *c);

/* glue.c: the replica_env_t implementation and the consensus calls. */
void sim_glue_create(sim_cluster_t *c, uint16_t r);
void sim_glue_destroy(sim_cluster_t *c, uint16_t r);
void sim_glue_on_message(sim_cluster_t *c, uint16_t r, uint16_t from, const uint8_t *bytes,
                         size_t size);
/* Hands a frame to replica r without the inbound filters. */
void sim_glue_deliver_raw(sim_cluster_t *c, uint16_t r, uint16_t from, const uint8_t *bytes,
                          size_t size);
void sim_glue_on_client_tx(sim_cluster_t *c, uint16_t r, const uint8_t *bytes, size_t size);
void sim_glue_on_timer(sim_cluster_t *c, uint16_t r, uint64_t timer);
void sim_glue_on_executed(sim_cluster_t *c, uint16_t r, uint64_t height);
void sim_glue_check_bounds(sim_cluster_t *c, uint16_t r);
void sim_glue_dump(sim_cluster_t *c, uint16_t r);
struct replica_status;
/* False when replica r is down. */
bool sim_glue_status(const sim_cluster_t *c, uint16_t r, struct replica_status *out);
uint64_t sim_glue_view(const sim_cluster_t *c, uint16_t r);
uint64_t sim_glue_view_changes(const sim_cluster_t *c, uint16_t r);

/* byzantine.c: outgoing messages of a Byzantine replica pass through here. */
void sim_byz_send(sim_cluster_t *c, uint16_t from, uint16_t to, const uint8_t *bytes, size_t size);
/* Inbound filter (censoring); false drops the client tx. */
bool sim_byz_accept_client_tx(sim_cluster_t *c, uint16_t r, const pbft_tx_t *tx);
/* Inbound filter for frames; false when the frame was consumed. */
bool sim_byz_filter_inbound(sim_cluster_t *c, uint16_t r, uint16_t from, const uint8_t *bytes,
                            size_t size);
void sim_byz_reset(void);

#endif /* PBFT_SIM_CLUSTER_H */
