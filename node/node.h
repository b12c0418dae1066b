/*
 * node/node.h — one replica process: wires the consensus state machine to
 * the network (net.h), the store (pbft/store.h), the verify pool (verify.h)
 * and the HTTP API (http.h).
 *
 * Threads:
 *   consensus  — the caller of node_run: owns the replica_t, the transport
 *                and the timers; polls the inbox eventfd, the signalfd, the
 *                nanomsg receive fd and the send backlogs;
 *   storage    — executes and commits delivered blocks in height order, one
 *                synced write batch each, then posts "executed" back;
 *   verify × N — transaction signatures (verify.h);
 *   HTTP       — libmicrohttpd, one thread per connection (capped); reads go
 *                to the store directly, writes go through the inbox.
 */
#ifndef NODE_NODE_H
#define NODE_NODE_H

#include "config.h"
#include "metrics.h"
#include "pbft/consensus.h"
#include "pbft/ledger.h"
#include "pbft/store.h"

/* Process exit codes (sysexits.h values). */
#define NODE_EXIT_OK 0
#define NODE_EXIT_USAGE 64
#define NODE_EXIT_DATA 65
#define NODE_EXIT_UNAVAILABLE 69
#define NODE_EXIT_SOFTWARE 70
#define NODE_EXIT_IO 74
#define NODE_EXIT_PERMISSION 77

typedef struct node node_t;

/* Loads genesis, key and store, binds the sockets and starts the worker
 * threads and the HTTP server. Logs the reason and returns an exit code
 * (NODE_EXIT_OK with *out set on success). */
int node_open(const node_config_t *config, node_t **out);
/* Runs the consensus loop on the calling thread until SIGINT/SIGTERM or a
 * fatal storage error. Returns the process exit code. */
int node_run(node_t *node);
/* Stops everything and closes the store. NULL allowed. */
void node_close(node_t *node);

/* ---- for the HTTP threads ---------------------------------------------- */

typedef enum node_submit {
    NODE_SUBMIT_QUEUED = 0,    /* new: in the mempool now */
    NODE_SUBMIT_PENDING,       /* already in the mempool */
    NODE_SUBMIT_COMMITTED,     /* already committed */
    NODE_SUBMIT_BAD_SIGNATURE, /* signature does not verify */
    NODE_SUBMIT_FULL,          /* mempool full */
    NODE_SUBMIT_UNAVAILABLE,   /* shutting down */
} node_submit_t;

/* Verifies (on the pool) and queues txs in consensus; blocks the calling
 * thread until every tx has an answer. why[i] (may be NULL) receives the
 * signature failure for NODE_SUBMIT_BAD_SIGNATURE. */
void node_submit_txs(node_t *node, const pbft_tx_t *txs, const uint8_t (*ids)[PBFT_HASH_SIZE],
                     size_t count, node_submit_t *out, pbft_status_t *why);
/* True when the tx is pending in this replica's mempool. */
bool node_tx_pending(node_t *node, const uint8_t id[PBFT_HASH_SIZE]);

typedef struct node_status {
    replica_status_t replica;
    bool serving; /* loop running, not shutting down */
    uint64_t stored_height;
    uint8_t chain_id[PBFT_CHAIN_ID_SIZE];
} node_status_t;
void node_get_status(node_t *node, node_status_t *out);
/* Long-poll: blocks the calling (HTTP) thread until the published height
 * (status.replica.executed_height, which counts stored blocks only) is
 * above `above`, wait_ms have passed or the node is stopping, then fills
 * *out. Returns at once when the height is already above, and also when
 * half of http_connections_max threads are already waiting here (false),
 * so long-polls cannot take every connection from submissions. */
bool node_wait_height(node_t *node, uint64_t above, uint64_t wait_ms, node_status_t *out);

store_t *node_store(node_t *node);
const pbft_genesis_t *node_genesis(const node_t *node);
metrics_t *node_metrics(node_t *node);
/* The whole /metrics page. */
void node_render_metrics(node_t *node, metrics_text_t *out);

#endif /* NODE_NODE_H */
