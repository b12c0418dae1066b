/*
 * tests/sim/sim.h — the seeded deterministic cluster simulator (pbft-sim).
 *
 * n replicas run the real consensus state machine in one process, over a
 * simulated millisecond clock and a simulated network. Every choice comes from
 * one seeded PRNG, so `pbft-sim --seed S` replays a run byte for byte. After
 * every step the checkers assert agreement, validity, identical state and
 * bounded logs; once the faults stop, liveness within a stated bound.
 *
 * Files: rng.c (PRNG), queue.c (event heap), keys.c (fake signatures),
 * net.c (network faults), cluster.c (replicas, env, disks, crash/restart,
 * the run loop), clients.c, checker.c, byzantine.c (forged messages),
 * scenarios.c (named scripts), main.c (CLI).
 *
 * Internal to tests/sim: nothing here is a project contract.
 */
#ifndef PBFT_SIM_H
#define PBFT_SIM_H

#include "pbft/common.h"
#include "pbft/types.h"
#include "pbft/ledger.h"

/* ------------------------------------------------------------------------ */
/* Limits and bounds.                                                         */

#define SIM_REPLICA_MAX 16
#define SIM_CLIENT_MAX 15 /* key 31 is the wrong-key replicas' key */
#define SIM_PUBKEY_TABLE_SIZE 32
#define SIM_CLIENT_KEY_BASE 16 /* clients use sim_pubkey_table[16 + c] */
_Static_assert(SIM_CLIENT_KEY_BASE + SIM_CLIENT_MAX < SIM_PUBKEY_TABLE_SIZE,
               "client keys stay clear of the last key (the wrong-key replicas sign with it)");
#define SIM_QUEUE_EVENTS_MAX (4u * 1024u * 1024u)
#define SIM_SAFETY_KEYS_MAX 16
#define SIM_SAFETY_KEY_SIZE_MAX 32
#define SIM_TIMERS_MAX 16
#define SIM_REPLAY_RING_SIZE 2048 /* old messages kept for replay attacks */
#define SIM_SCRIPT_ACTIONS_MAX 64
#define SIM_HEIGHT_MAX 1000000

/* Liveness: once faults stop (network healed, crashed replicas restarted,
 * at most f Byzantine), every honest replica must commit a block above the
 * highest height any honest replica had at heal time, and every client's
 * outstanding transaction must commit, within this much simulated time. */
#define SIM_LIVENESS_BOUND_MS 60000u

/* Steps (events) one seed may take before it is declared stuck. */
#define SIM_STEPS_DEFAULT 1000000u

/* ------------------------------------------------------------------------ */
/* PRNG (rng.c)                                                               */

typedef struct sim_rng {
    uint64_t s[4];
} sim_rng_t;

uint64_t sim_splitmix64(uint64_t *state);
void sim_rng_seed(sim_rng_t *rng, uint64_t seed);
uint64_t sim_rng_next(sim_rng_t *rng);
uint64_t sim_rng_below(sim_rng_t *rng, uint64_t bound);
uint64_t sim_rng_between(sim_rng_t *rng, uint64_t lo, uint64_t hi);
bool sim_rng_chance(sim_rng_t *rng, uint32_t permille);
void sim_rng_bytes(sim_rng_t *rng, uint8_t *out, size_t size);

/* ------------------------------------------------------------------------ */
/* Event queue (queue.c)                                                      */

typedef struct sim_cluster sim_cluster_t;
typedef void (*sim_action_fn)(sim_cluster_t *c, uint64_t arg);

typedef enum sim_event_kind {
    SIM_EV_MESSAGE = 0, /* replica `from` -> replica `to`, bytes */
    SIM_EV_CLIENT_TX,   /* a client's tx (bytes) arrives at replica `to` */
    SIM_EV_TIMER,       /* replica `to`'s timer a fired; b = generation */
    SIM_EV_EXECUTED,    /* storage at replica `to` finished height a; b = incarnation */
    SIM_EV_CLIENT_WAKE, /* client a acts */
    SIM_EV_ACTION,      /* scenario action fn(arg a) */
} sim_event_kind_t;

typedef struct sim_event {
    uint64_t time_ms;
    uint64_t order; /* insertion counter: deterministic tie-break */
    sim_event_kind_t kind;
    uint16_t from;
    uint16_t to;
    uint64_t a;
    uint64_t b;
    sim_action_fn action;
    uint8_t *bytes; /* owned by the event */
    size_t size;
} sim_event_t;

typedef struct sim_queue {
    sim_event_t *heap;
    size_t count;
    size_t capacity;
    uint64_t next_order;
} sim_queue_t;

void sim_queue_init(sim_queue_t *q);
void sim_queue_free(sim_queue_t *q);
void sim_queue_push(sim_queue_t *q, sim_event_t *ev);
bool sim_queue_pop(sim_queue_t *q, sim_event_t *out);
uint64_t sim_queue_peek_time(const sim_queue_t *q);

/* ------------------------------------------------------------------------ */
/* Fake keys and signatures (keys.c, keys_table.c)                            */
/*
 * Real ECDSA would make thousands of seeds too slow, so the simulator signs
 * with sig = SHA-256(secret || digest) || SHA-256(digest || secret) and
 * verifies by recomputing. Secrets are derived from the key index; public
 * keys are real P-256 points from a fixed table. Fakes live only here.
 */
extern const uint8_t sim_pubkey_table[SIM_PUBKEY_TABLE_SIZE][PBFT_PUBKEY_SIZE];

void sim_key_secret(uint32_t key_index, uint8_t out[PBFT_HASH_SIZE]);
void sim_fake_sign(uint32_t key_index, const uint8_t digest[PBFT_HASH_SIZE],
                   uint8_t sig[PBFT_SIGNATURE_SIZE]);
bool sim_fake_verify(uint32_t key_index, const uint8_t digest[PBFT_HASH_SIZE],
                     const uint8_t sig[PBFT_SIGNATURE_SIZE]);
/* Key index of a public key in the table, or -1. */
int sim_key_index_of(const uint8_t pubkey[PBFT_PUBKEY_SIZE]);
/* Client tx signatures under the fake scheme. */
void sim_tx_sign(pbft_tx_t *tx, const uint8_t chain_id[PBFT_CHAIN_ID_SIZE]);
bool sim_tx_valid(const pbft_tx_t *tx, const uint8_t chain_id[PBFT_CHAIN_ID_SIZE]);

/* ------------------------------------------------------------------------ */
/* Network model (net.c)                                                      */

typedef struct sim_net_faults {
    uint32_t drop_pm;        /* per mille of messages lost */
    uint32_t dup_pm;         /* per mille delivered twice (or more) */
    uint32_t latency_min_ms; /* uniform latency, so messages reorder */
    uint32_t latency_max_ms;
    uint32_t slow_pm; /* per mille delayed much longer */
    uint32_t slow_latency_ms_max;
    uint32_t corrupt_pm; /* per mille with one byte flipped (bit errors, malice) */
} sim_net_faults_t;

typedef struct sim_net_stats {
    uint64_t sent;
    uint64_t delivered;
    uint64_t dropped;
    uint64_t duplicated;
    uint64_t blocked;
    uint64_t replayed;
    uint64_t forged;
    uint64_t corrupted;
} sim_net_stats_t;

typedef struct sim_replay_entry {
    uint16_t from;
    uint8_t *bytes;
    size_t size;
    uint64_t view; /* view the message was sent in (best effort) */
} sim_replay_entry_t;

typedef struct sim_net {
    sim_net_faults_t faults;
    bool blocked[SIM_REPLICA_MAX][SIM_REPLICA_MAX]; /* [from][to] */
    /* Messages of these types (bit 1 << msg_type_t) towards replica `to`
     * are dropped; used by scripted scenarios to shape who learns what. */
    uint32_t kind_drop_mask[SIM_REPLICA_MAX];
    uint64_t kind_drop_view_max[SIM_REPLICA_MAX]; /* ...only of views <= this */
    sim_net_stats_t stats;
    sim_replay_entry_t replay[SIM_REPLAY_RING_SIZE];
    size_t replay_next;
    size_t replay_count;
} sim_net_t;

void sim_net_init(sim_net_t *net);
void sim_net_free(sim_net_t *net);
void sim_net_heal(sim_net_t *net);
void sim_net_block(sim_net_t *net, uint16_t from, uint16_t to);
void sim_net_block_both(sim_net_t *net, uint16_t a, uint16_t b);
/* Cuts every link between the group given by mask and its complement. */
void sim_net_split(sim_net_t *net, uint32_t group_mask, uint16_t n);
void sim_net_isolate(sim_net_t *net, uint16_t replica, uint16_t n);
/* Sends bytes (copied) from replica `from` to `to` through the faults. */
void sim_net_send(sim_cluster_t *c, uint16_t from, uint16_t to, const uint8_t *bytes, size_t size);
/* A client's tx towards replica `to` (latency and drops, no partitions). */
void sim_net_send_client(sim_cluster_t *c, uint16_t to, const uint8_t *bytes, size_t size);
/* Re-injects a random remembered message at a random replica. */
void sim_net_replay_one(sim_cluster_t *c);

#endif /* PBFT_SIM_H */
