/*
 * pbft/consensus.h — PBFT (Castro & Liskov, OSDI'99 / TOCS'02) as a pure,
 * deterministic state machine.
 *
 * Events in (a peer's message, a timer that fired, a client transaction, a
 * block executed), actions out through replica_env_t (send, broadcast, set a
 * timer, persist the safety state, sign, deliver a committed block). No
 * clock, randomness, thread, socket or disk is touched inside: the node and
 * the simulator provide them. docs/PROTOCOL.md describes the protocol.
 *
 * Threading: a replica is not thread-safe; call every function from one
 * thread. Re-entrancy: env callbacks must not call back into the replica,
 * except replica_on_executed, which may be called from inside deliver (it
 * is queued and handled when the current call returns).
 *
 * Ownership: every pointer passed in is borrowed for the duration of the
 * call; every pointer handed to a callback is borrowed for the duration of
 * that callback.
 */
#ifndef PBFT_CONSENSUS_H
#define PBFT_CONSENSUS_H

#include "pbft/cert.h"
#include "pbft/common.h"
#include "pbft/ledger.h"
#include "pbft/types.h"

typedef struct replica replica_t;

/* The timers a replica arms through its env. Each is one-shot; set_timer
 * replaces a pending one of the same kind. */
typedef enum replica_timer {
    REPLICA_TIMER_BATCH,          /* primary: cut a partial block; backup: flush forwards */
    REPLICA_TIMER_REQUEST,        /* oldest pending tx not committed in time -> view change */
    REPLICA_TIMER_VIEW_CHANGE,    /* NEW-VIEW did not arrive in time -> next view */
    REPLICA_TIMER_STATUS,         /* periodic STATUS broadcast and retransmissions */
    REPLICA_TIMER_STATE_TRANSFER, /* state-transfer peer did not answer -> another */
    REPLICA_TIMER_COUNT
} replica_timer_t;

/* Sender id meaning "the transport cannot tell which peer sent this". */
#define REPLICA_LINK_UNKNOWN UINT16_MAX

typedef struct replica_env {
    void *ctx;
    /* Wall-clock milliseconds since the Unix epoch (it stamps blocks, and a
     * proposal more than a minute ahead of it is refused); timers are
     * relative delays, so they do not depend on it. */
    uint64_t (*now_ms)(void *ctx);
    /* Hands one frame to the network for replica `to` (never self). The
     * frame is borrowed; the env copies it if it queues it. */
    void (*send)(void *ctx, uint16_t to, const uint8_t *msg, size_t size);
    /* The same frame to every other replica. */
    void (*broadcast)(void *ctx, const uint8_t *msg, size_t size);
    /* Arms timer t to fire delay_ms from now (replaces a pending one). */
    void (*set_timer)(void *ctx, replica_timer_t t, uint64_t delay_ms);
    void (*cancel_timer)(void *ctx, replica_timer_t t);
    /* Durable safety state (what this replica has signed that binds it:
     * view, view change, per-seq votes and prepared certificates — and
     * their blocks unless persist_block is provided, so from a few KB up to
     * about window x block size). Called synchronously, at most once
     * per replica_* call, BEFORE any message derived from it is handed to
     * send/broadcast; must be synced when it returns PBFT_OK. On failure no
     * binding message of that call is sent. The bytes are opaque: hand them
     * back to replica_create after a restart. */
    pbft_status_t (*persist)(void *ctx, const uint8_t *state, size_t size);
    /* Signs a 32-byte digest with this replica's key (low-s r||s). */
    pbft_status_t (*sign)(void *ctx, const uint8_t digest[PBFT_HASH_SIZE],
                          uint8_t sig[PBFT_SIGNATURE_SIZE]);
    /* Verifies a replica signature (cert_verify_ecdsa in the product). */
    cert_verify_fn verify;
    void *verify_ctx;
    /* Is this tx's signature valid? The node answers from its cache (it
     * verified the txs on worker threads before handing the message in);
     * the simulator verifies or fakes. Judge the exact tx given: its id does
     * not cover the signature, so a cache must be keyed by id AND signature. */
    bool (*tx_valid)(void *ctx, const pbft_tx_t *tx, const uint8_t tx_id[PBFT_HASH_SIZE]);
    /* A committed block with its commit certificate, in height order,
     * exactly once per height. The env executes and stores it, then calls
     * replica_on_executed (now, from inside this callback, or later).
     * ids: the block's tx ids in block order (valid during the call), so
     * the env need not hash every tx again. */
    void (*deliver)(void *ctx, const pbft_block_t *block, const uint8_t (*ids)[PBFT_HASH_SIZE],
                    const pbft_commit_cert_t *cert);
    /* For serving state transfer: the executed block at `height` and its
     * certificate (block->txs allocated by the env; the replica frees it
     * with codec_block_free). PBFT_ERR_NOT_FOUND when not stored. */
    pbft_status_t (*load_committed)(void *ctx, uint64_t height, pbft_block_t *block,
                                    pbft_commit_cert_t *cert);
    /* A checkpoint became stable: persist its certificate. */
    void (*stable_checkpoint)(void *ctx, const pbft_checkpoint_cert_t *cert);
    /* Seeded randomness (peer choice in state transfer). */
    uint64_t (*random)(void *ctx);
    /* Optional (NULL allowed; strongly recommended): durable copy of a block
     * this replica prepared. After a crash, its VIEW-CHANGE must report the
     * prepared certificate (kept in the safety state) AND be able to supply
     * the block, or a new primary may find no copy anywhere. Called once per
     * prepared (seq, block), synchronously, before the COMMIT that depends
     * on it leaves (a failure withholds that COMMIT). Hand the blocks above
     * the executed height back in replica_restore_t.prepared_blocks; blocks
     * at or below the executed height may be dropped. */
    pbft_status_t (*persist_block)(void *ctx, const pbft_block_t *block);
    /* Optional (NULL allowed): is this tx id already in the committed
     * ledger? Consulted before a tx enters the mempool (client or relayed),
     * so a tx committed before a restart is not proposed again. The replica
     * itself remembers the last 65536 ids it saw committed. */
    bool (*tx_committed)(void *ctx, const uint8_t tx_id[PBFT_HASH_SIZE]);
    /* Optional (NULL allowed): one human-readable line about a notable
     * event (view change, state transfer, rejected message). level: 0 debug,
     * 1 info, 2 warn. */
    void (*log)(void *ctx, int level, const char *line);
} replica_env_t;

/* Local knobs that do not need to agree across replicas. */
typedef struct replica_options {
    uint32_t mempool_max;               /* txs; 1..PBFT_MEMPOOL_TX_COUNT_MAX (default 100000) */
    uint32_t status_interval_ms;        /* STATUS period (default 1000) */
    uint32_t state_transfer_timeout_ms; /* per request (default 2000) */
    /* Batching by arrival rate (txs/s; docs/PROTOCOL.md): at or below
     * batch_idle_rate an idle primary cuts at once; the wait between cuts
     * grows linearly to batch_delay_ms at batch_busy_rate. Defaults 200 and
     * 2000; idle < busy. */
    uint32_t batch_idle_rate;
    uint32_t batch_busy_rate;
} replica_options_t;
void replica_options_default(replica_options_t *out);

/* Where a replica restarts from (all from its store). */
typedef struct replica_restore {
    /* The last executed block's header (genesis->header at genesis), its
     * hash and the state hash after it. */
    pbft_block_header_t executed_header;
    uint8_t executed_hash[PBFT_HASH_SIZE];
    uint8_t state_hash[PBFT_HASH_SIZE];
    /* Its commit certificate (NULL at genesis). */
    const pbft_commit_cert_t *executed_cert;
    /* The latest stable checkpoint certificate (NULL: none yet, h = 0). */
    const pbft_checkpoint_cert_t *stable;
    /* Bytes last given to env->persist (NULL/0: never persisted). */
    const uint8_t *safety;
    size_t safety_size;
    /* Blocks given to env->persist_block above the executed height (any
     * order; extra or stale ones are ignored). Borrowed. */
    const pbft_block_t *prepared_blocks;
    size_t prepared_block_count;
} replica_restore_t;

/* Creates replica `self` of genesis->validators. genesis is copied (not
 * its accounts). restore NULL = fresh at genesis. options NULL = defaults.
 * Returns PBFT_ERR_CONFIG for an unusable genesis/options (n not 3f+1, self
 * >= n, window > K, ...), PBFT_ERR_CORRUPT for unreadable safety bytes.
 * Nothing is sent or armed until replica_start. */
PBFT_MUST_USE pbft_status_t replica_create(const pbft_genesis_t *genesis, uint16_t self,
                                           const replica_env_t *env,
                                           const replica_options_t *options,
                                           const replica_restore_t *restore, replica_t **out);
void replica_destroy(replica_t *r); /* NULL allowed */
/* Arms the timers and announces itself (STATUS). */
void replica_start(replica_t *r);

/* A frame from peer `from_link` (REPLICA_LINK_UNKNOWN when the transport
 * cannot tell). Decoded strictly, then checked; a bad frame returns a status
 * and bumps a per-reason counter — never an assertion. PBFT_OK also for
 * harmless duplicates. */
pbft_status_t replica_on_message(replica_t *r, uint16_t from_link, const uint8_t *bytes,
                                 size_t size);
/* The same, for a REQUEST or PRE-PREPARE whose tx ids the caller computed
 * from these bytes (ids[i] of its i-th tx; count txs): they are not hashed
 * again. Ids of any other message, or a count that does not match, are
 * ignored. */
pbft_status_t replica_on_message_with_ids(replica_t *r, uint16_t from_link, const uint8_t *bytes,
                                          size_t size, const uint8_t (*ids)[PBFT_HASH_SIZE],
                                          size_t count);
void replica_on_timer(replica_t *r, replica_timer_t t);
/* A client tx whose signature the caller has verified. PBFT_OK (queued),
 * PBFT_ERR_DUPLICATE (already pending), PBFT_ERR_EXISTS (committed recently:
 * the replica remembers the last 65536 committed ids; older
 * ones are the store's business), PBFT_ERR_FULL (mempool full). */
pbft_status_t replica_on_client_tx(replica_t *r, const pbft_tx_t *tx,
                                   const uint8_t id[PBFT_HASH_SIZE]);
/* The same, when the caller found id absent from the store (its
 * env->tx_committed) just before: the store is not asked again. A tx that
 * committed in between is one the replica remembers (PBFT_ERR_EXISTS). */
pbft_status_t replica_on_client_tx_unstored(replica_t *r, const pbft_tx_t *tx,
                                            const uint8_t id[PBFT_HASH_SIZE]);
/* The env executed block `height` (delivered earlier) with this resulting
 * state hash. Heights arrive in order. */
void replica_on_executed(replica_t *r, uint64_t height, const uint8_t block_hash[PBFT_HASH_SIZE],
                         const uint8_t state_hash[PBFT_HASH_SIZE]);

/* Why a message was rejected (counters for /metrics). */
#define REPLICA_INVALID_LIST(X)                                                                    \
    X(REPLICA_INVALID_MALFORMED, "malformed")                                                      \
    X(REPLICA_INVALID_BAD_SIGNATURE, "bad_signature")                                              \
    X(REPLICA_INVALID_WRONG_SENDER, "wrong_sender")                                                \
    X(REPLICA_INVALID_STALE, "stale")                                                              \
    X(REPLICA_INVALID_OUT_OF_WINDOW, "out_of_window")                                              \
    X(REPLICA_INVALID_CONFLICT, "conflict")                                                        \
    X(REPLICA_INVALID_BAD_BLOCK, "bad_block")                                                      \
    X(REPLICA_INVALID_BAD_TX, "bad_tx")                                                            \
    X(REPLICA_INVALID_BAD_CERTIFICATE, "bad_certificate")                                          \
    X(REPLICA_INVALID_BAD_VIEW_CHANGE, "bad_view_change")                                          \
    X(REPLICA_INVALID_BAD_NEW_VIEW, "bad_new_view")                                                \
    X(REPLICA_INVALID_BAD_STATE_REPLY, "bad_state_reply")                                          \
    X(REPLICA_INVALID_FULL, "full")

typedef enum replica_invalid_reason {
#define REPLICA_INVALID_ENUM_(name, text) name,
    REPLICA_INVALID_LIST(REPLICA_INVALID_ENUM_)
#undef REPLICA_INVALID_ENUM_
        REPLICA_INVALID_COUNT
} replica_invalid_reason_t;
const char *replica_invalid_reason_name(replica_invalid_reason_t reason);

typedef struct replica_status {
    uint16_t replica;
    uint16_t replica_count;
    uint64_t view;
    uint16_t primary; /* primary of `view` */
    bool in_view_change;
    bool catching_up;
    uint64_t committed_height; /* delivered, contiguous */
    uint64_t executed_height;
    uint8_t executed_hash[PBFT_HASH_SIZE];
    uint8_t state_hash[PBFT_HASH_SIZE];
    uint64_t stable_checkpoint;
    uint64_t low_water_mark;
    uint64_t high_water_mark;
    uint32_t mempool_size;
    uint32_t in_flight;       /* seqs pre-prepared and not yet committed */
    uint32_t peers_seen_mask; /* bit i: a valid signed message from replica i */
    uint64_t view_changes;    /* views installed since start */
    uint64_t blocks_committed;
    uint64_t txs_committed;
    uint64_t state_transfer_blocks;
    uint64_t persist_failures;
    uint64_t invalid[REPLICA_INVALID_COUNT];
} replica_status_t;
void replica_get_status(const replica_t *r, replica_status_t *out);

/* True when the tx id is in the mempool (pending, not yet committed). */
bool replica_tx_pending(const replica_t *r, const uint8_t id[PBFT_HASH_SIZE]);
/* True when this very tx (id = codec_tx_id(tx), and the same signature) is
 * pending. Only txs whose signature was checked enter the mempool (the
 * callers of replica_on_client_tx check it; a relayed one passes
 * env->tx_valid), so such a tx needs no second check. */
bool replica_tx_pending_identical(const replica_t *r, const pbft_tx_t *tx,
                                  const uint8_t id[PBFT_HASH_SIZE]);

/* Helpers shared with the simulator and the node. */
static inline uint16_t replica_primary_of(uint64_t view, uint16_t replica_count) {
    return (uint16_t)(view % replica_count);
}

#endif /* PBFT_CONSENSUS_H */
