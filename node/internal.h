/*
 * node/internal.h — the replica process's shared state and the interfaces
 * between the node/ source files. Not for other modules.
 */
#ifndef NODE_INTERNAL_H
#define NODE_INTERNAL_H

#include <pthread.h>

#include "http.h"
#include "inbox.h"
#include "metrics.h"
#include "net.h"
#include "node.h"
#include "pbft/crypto.h"
#include "verify.h"

/* ---- admission times, for the commit-latency histogram ------------------ */

#define LATENCY_TRACK_MAX PBFT_MEMPOOL_TX_COUNT_MAX
#define LATENCY_STALE_US (600ull * 1000000ull) /* forget txs pending > 10 min */

typedef struct latency_table latency_table_t;
latency_table_t *latency_new(void);
void latency_free(latency_table_t *t);
/* Records when a tx was admitted here (first admission wins). Thread-safe. */
void latency_admit(latency_table_t *t, const uint8_t id[PBFT_HASH_SIZE], uint64_t now_us);
/* Removes the tx; true with *admit_us when it was tracked. Thread-safe. */
bool latency_take(latency_table_t *t, const uint8_t id[PBFT_HASH_SIZE], uint64_t *admit_us);

/* ---- the store's lock (node.c) ------------------------------------------ */

/* Whether another process holds RocksDB's lock on DATA_DIR/LOCK (a running
 * replica). Asked before opening: RocksDB's own open moves the running
 * replica's info LOG aside before it finds the lock taken. Only for a
 * process that holds no lock on that file itself (closing any descriptor
 * of a file drops the process's fcntl locks on it). */
bool node_store_in_use(const char *data_dir);

/* ---- malloc (heap.c) ----------------------------------------------------- */

typedef struct heap_stats {
    unsigned long long allocated; /* handed out and not had back */
    unsigned long long kept;      /* held beyond that: glibc's free chunks, or
                                     jemalloc's resident pages minus allocated */
} heap_stats_t;
/* "jemalloc" when pbftd runs on it, else "glibc"; and jemalloc's version. */
const char *heap_allocator(void);
const char *heap_allocator_version(void);
/* Sets the allocator up for a replica; call once at the start of main. */
void heap_configure(void);
/* False when the allocator cannot say. */
bool heap_read(heap_stats_t *out);
/* Hands the calling thread's cached freed blocks back to the allocator
 * (jemalloc's tcache; nothing under glibc). */
void heap_thread_flush(void);

/* ---- storage thread ------------------------------------------------------ */

typedef struct storage storage_t;
/* Starts the thread; it executes on top of the store's current tip. */
storage_t *storage_start(node_t *node);
/* Queues a committed block with its tx ids (both deep-copied) / a stable
 * checkpoint certificate. Consensus thread only. Jobs run in the order
 * queued. */
void storage_deliver(storage_t *s, const pbft_block_t *block, const uint8_t (*ids)[PBFT_HASH_SIZE],
                     const pbft_commit_cert_t *cert);
void storage_checkpoint(storage_t *s, const pbft_checkpoint_cert_t *cert);
/* Finishes the queued jobs, then joins. */
void storage_stop(storage_t *s);
size_t storage_queue_depth(storage_t *s);

/* ---- inbound frames -> consensus ---------------------------------------- */

#define INGRESS_QUEUE_COUNT_MAX 4096 /* messages held per sender */
#define INGRESS_QUEUE_BYTES_MAX (64u * 1024u * 1024u)

typedef struct ingress_item ingress_item_t;
typedef struct ingress_queue {
    ingress_item_t *head;
    ingress_item_t *tail;
    size_t count;
    size_t bytes;
} ingress_queue_t;

/* A frame from peer `link` whose transport header was valid. Messages that
 * carry transactions are first checked on the verify pool; per sender,
 * messages reach consensus in arrival order. Consensus thread only. */
void ingress_on_frame(node_t *node, uint16_t link, const uint8_t *payload, size_t size);
/* Frees what is still queued (after the verify pool stopped). */
void ingress_clear(node_t *node);

/* ---- consensus safety state (safety.c) ------------------------------------ */

#define NODE_SAFETY_KEY "consensus"

typedef struct safety_writer safety_writer_t;
typedef struct outbox_msg outbox_msg_t;
safety_writer_t *safety_writer_start(node_t *node);
/* Joins the writer (a write in progress completes first). */
void safety_writer_stop(safety_writer_t *w);
/* env->persist: keeps the latest state for the end of the turn. */
void safety_record(node_t *node, const uint8_t *state, size_t size);
/* True while outgoing messages must be held (a state pending or in flight). */
bool safety_holding(const node_t *node);
/* Holds one outgoing message (copied) until its state is durable. */
void safety_hold(node_t *node, uint16_t to, const uint8_t *msg, size_t size);
/* env->persist_block: the block (encoded now) goes out with the next write. */
void safety_record_block(node_t *node, const pbft_block_t *block);
/* End of a loop turn: starts writing the pending state if the writer is idle. */
void safety_turn_end(node_t *node);
/* Frees held messages and buffers (shutdown, after the writer stopped). */
void safety_clear(node_t *node);

/* ---- the process --------------------------------------------------------- */

#define NODE_OUTBOX_BROADCAST UINT16_MAX

/* A prepared block waiting for (or in) a safety write. */
typedef struct prepared_msg prepared_msg_t;
struct prepared_msg {
    prepared_msg_t *next;
    uint64_t height;
    uint8_t hash[PBFT_HASH_SIZE];
    size_t size;
    uint8_t bytes[];
};

/* A message held back until the safety state it derives from is synced. */
struct outbox_msg {
    struct outbox_msg *next;
    uint16_t to; /* replica, or NODE_OUTBOX_BROADCAST */
    size_t size;
    uint8_t bytes[];
};

struct node {
    node_config_t config;
    pbft_genesis_t genesis;
    bool genesis_loaded;
    crypto_key_t *key;
    store_t *store;
    net_t *net;
    verify_pool_t *verify;
    inbox_t *inbox;
    storage_t *storage;
    latency_table_t *latency;
    http_server_t *http;
    replica_t *replica;
    replica_env_t env;
    metrics_t metrics;
    int signal_fd;

    bool timer_armed[REPLICA_TIMER_COUNT];
    uint64_t timer_deadline_ms[REPLICA_TIMER_COUNT];
    ingress_queue_t ingress[PBFT_REPLICA_COUNT_MAX];
    uint64_t rng_state;

    /* safety state (safety.c; consensus thread only) */
    safety_writer_t *safety_writer;
    uint8_t *safety; /* latest state not yet handed to the writer */
    size_t safety_size;
    size_t safety_capacity;
    uint8_t *safety_spare; /* buffer returned by the writer, for reuse */
    size_t safety_spare_capacity;
    size_t safety_written_capacity;
    prepared_msg_t *blocks_head; /* prepared blocks not yet handed to the writer */
    prepared_msg_t *blocks_tail;
    bool safety_dirty;          /* safety holds a state to write */
    bool safety_inflight;       /* the writer is writing one */
    outbox_msg_t *covered_head; /* held messages the in-flight write covers */
    outbox_msg_t *covered_tail;
    outbox_msg_t *held_head; /* held messages produced since */
    outbox_msg_t *held_tail;

    pthread_mutex_t status_mutex;
    pthread_cond_t height_cond; /* with status_mutex: the published height rose, or stopping */
    replica_status_t status;    /* published by the consensus thread */
    _Atomic uint64_t stored_height;
    _Atomic bool serving;
    _Atomic bool stopping;
    _Atomic int exit_code;
    _Atomic uint64_t tx_valid_fallbacks; /* tx_valid cache misses verified inline */
    _Atomic uint32_t long_polls;         /* HTTP threads in node_wait_height */
    bool delivering_verified;            /* consensus thread: the message being delivered has
                                            had every tx verified by ingress */
    _Atomic uint64_t ingress_dropped;    /* per-sender queue full */
    _Atomic uint64_t ingress_bad_tx;     /* tx-carrying message with a bad tx */
};

uint64_t node_now_ms(void);
uint64_t node_now_us(void);
/* Ends node_run with this exit code (any thread). */
void node_request_stop(node_t *node, int exit_code);

#endif /* NODE_INTERNAL_H */
