/*
 * consensus/replica_internal.h — the replica's state and the functions the
 * consensus files share. Not a public header: only the consensus sources include it.
 *
 * Files by protocol phase (Castro & Liskov OSDI'99 sections):
 *   replica.c         create/destroy, the event wrapper (outbox, one persist
 *                     per event), dispatch, timers, client txs, status
 *   mempool.c         bounded FIFO of pending txs, dedup by id
 *   quorum.c          the one place that counts quorums and checks prepared
 *                     certificates (§4.2, §4.4)
 *   safety.c          what this replica signed that binds it, persisted (§4.5.1)
 *   normal.c          PRE-PREPARE, PREPARE, COMMIT, batching, delivery (§4.2)
 *   checkpoint.c      CHECKPOINT, stable checkpoints, water marks, GC (§4.3)
 *   view_change.c     VIEW-CHANGE, NEW-VIEW (§4.4, §4.5.2)
 *   state_transfer.c  STATUS, STATE-REQUEST/REPLY, catch-up (§5.3, TOCS §6.2)
 */
#ifndef PBFT_CONSENSUS_REPLICA_INTERNAL_H
#define PBFT_CONSENSUS_REPLICA_INTERNAL_H

#include "pbft/consensus.h"
#include "pbft/crypto.h"
#include "pbft/messages.h"

/* Sequence numbers held in the log above the committed height (slots). */
#define REPLICA_LOG_SPAN_MAX (4 * PBFT_WINDOW_MAX)
/* Safety entries above the executed height (delivery waits while
 * committed - executed would exceed REPLICA_LOG_SPAN_MAX). */
#define REPLICA_SAFETY_SLOTS_MAX (2 * REPLICA_LOG_SPAN_MAX)
#define REPLICA_CHECKPOINT_VOTES_MAX 4          /* recent CHECKPOINT votes kept per replica */
#define REPLICA_OUTBOX_MAX 256                  /* frames queued by one event */
#define REPLICA_REFORWARD_TX_MAX 4096           /* txs re-forwarded to a new primary */
#define REPLICA_VIEW_CHANGE_BACKOFF_SHIFT_MAX 4 /* at most 16x the base timeout */
#define REPLICA_TIMESTAMP_DRIFT_MS_MAX 60000
#define REPLICA_STATE_REPLY_SIZE_MAX (4u * 1024u * 1024u)
#define REPLICA_STATE_TRANSFER_ATTEMPTS_MAX 32
/* A peer gets at most one STATE-REPLY (up to 4 MiB) per this interval: a
 * small request must not buy unbounded outgoing traffic. */
#define REPLICA_STATE_SERVE_INTERVAL_MS 20
/* A catching-up replica leaves this long between requests to one peer, so
 * none falls inside the peer's serve interval (a dropped request would cost
 * a whole state_transfer_timeout_ms). Twice the interval: the two clocks
 * measure it from different events. */
#define REPLICA_STATE_REQUEST_GAP_MS (2 * REPLICA_STATE_SERVE_INTERVAL_MS)
/* PRE-PREPAREs of a view whose NEW-VIEW has not arrived yet, kept for when
 * it does (reordering is common right after a view change). */
#define REPLICA_STASH_MAX (2 * PBFT_WINDOW_MAX)
#define REPLICA_STASH_VIEWS_AHEAD_MAX 2
#define REPLICA_OWN_SIGNATURE_CHECKS 16 /* own votes verified before the key is trusted */
/* Room kept in a NEW-VIEW for its VIEW-CHANGEs; the rest bounds the blocks
 * and so the effective window (replica_create). */
#define REPLICA_NEW_VIEW_OVERHEAD_SIZE (1024u * 1024u)
/* The safety state without embedded blocks. */
#define REPLICA_SAFETY_SIZE_MAX                                                                    \
    (64 +                                                                                          \
     REPLICA_SAFETY_SLOTS_MAX * (8 + 8 + PBFT_HASH_SIZE + 1 + 1 + MSG_PREPARED_CERT_SIZE_MAX + 1))

_Static_assert(REPLICA_LOG_SPAN_MAX >= 2 * PBFT_WINDOW_MAX, "log holds the window twice");
_Static_assert(REPLICA_STATE_REPLY_SIZE_MAX + PBFT_BLOCK_SIZE_MAX < PBFT_MESSAGE_SIZE_MAX,
               "a state reply fits a frame");
_Static_assert(PBFT_REPLICA_COUNT_MAX <= 32, "peers_seen_mask is 32 bits");

/* ------------------------------------------------------------------------ */
/* Mempool (mempool.c).                                                       */

/* The pool's two lists, both in arrival order: every entry, and the
 * entries not proposed. */
enum { MEMPOOL_ALL, MEMPOOL_UNPROPOSED, MEMPOOL_LISTS };

typedef struct mempool_link {
    uint32_t prev, next; /* MEMPOOL_NIL at the ends */
} mempool_link_t;

typedef struct mempool_entry {
    pbft_tx_t tx;
    uint8_t id[PBFT_HASH_SIZE];
    uint64_t arrival_ms;
    mempool_link_t link[MEMPOOL_LISTS]; /* link[MEMPOOL_ALL].next: free list too */
    bool used;
    bool proposed; /* in a block this primary has in flight */
} mempool_entry_t;

#define MEMPOOL_NIL UINT32_MAX
/* Ids of recently committed txs, so a late relay or a client retry does not
 * put a committed tx into a second block (power of two). */
#define MEMPOOL_RECENT_COMMITTED_MAX (1u << 16)

/* An index slot: the entry (or ring position) and its id's hash, so a probe
 * compares hashes in the index and reads an id only when they match, and
 * deletion finds an entry's home slot without reading the id. */
typedef struct mempool_slot {
    uint32_t entry; /* MEMPOOL_NIL: empty */
    uint32_t hash;
} mempool_slot_t;

typedef struct mempool {
    uint32_t limit;
    uint32_t count;
    uint32_t unproposed;
    uint32_t capacity; /* entries allocated (grows to limit) */
    mempool_entry_t *entries;
    uint32_t free_head;
    uint32_t head[MEMPOOL_LISTS], tail[MEMPOOL_LISTS];
    /* Bumped whenever entries lose their proposed mark, so a caller can
     * tell whether marks it set are all still there. */
    uint64_t unmark_epoch; /* 64 bits: never wraps to the "not known" 0 below */
    mempool_slot_t *index; /* open addressing by id */
    uint32_t index_mask;
    /* Recently committed ids: a FIFO ring with its own index. */
    uint8_t (*recent)[PBFT_HASH_SIZE];
    mempool_slot_t *recent_index; /* 2 * MEMPOOL_RECENT_COMMITTED_MAX slots */
    uint32_t recent_next;         /* ring position of the next insert */
    uint32_t recent_count;
    /* Arrival rate (txs admitted per second), an exponentially weighted
     * average over MEMPOOL_RATE_BUCKET_MS buckets; it steers batching. */
    uint64_t rate_bucket_start_ms;
    uint32_t rate_bucket_count;
    uint32_t rate_per_s;
} mempool_t;

#define MEMPOOL_RATE_BUCKET_MS 100u
#define MEMPOOL_RATE_MIN_SPAN_MS 20u

void mempool_init(mempool_t *m, uint32_t limit);
void mempool_destroy(mempool_t *m);
pbft_status_t mempool_add(mempool_t *m, const pbft_tx_t *tx, const uint8_t id[PBFT_HASH_SIZE],
                          uint64_t now_ms);
bool mempool_contains(const mempool_t *m, const uint8_t id[PBFT_HASH_SIZE]);
/* The pending tx with this id, or NULL. */
const pbft_tx_t *mempool_find(const mempool_t *m, const uint8_t id[PBFT_HASH_SIZE]);
/* Txs admitted per second, recently (decays while nothing arrives). */
uint32_t mempool_arrival_rate(mempool_t *m, uint64_t now_ms);
void mempool_remove(mempool_t *m, const uint8_t id[PBFT_HASH_SIZE]);
/* Removes a committed tx and remembers its id (mempool_add then says EXISTS). */
void mempool_commit(mempool_t *m, const uint8_t id[PBFT_HASH_SIZE]);
bool mempool_recently_committed(const mempool_t *m, const uint8_t id[PBFT_HASH_SIZE]);
/* Marks the pending tx with this id; false when no such tx is pending. */
bool mempool_set_proposed(mempool_t *m, const uint8_t id[PBFT_HASH_SIZE], bool proposed);
void mempool_clear_proposed(mempool_t *m);
/* Oldest entry (head) or NULL; oldest not yet proposed or NULL. */
const mempool_entry_t *mempool_oldest(const mempool_t *m);
const mempool_entry_t *mempool_oldest_unproposed(const mempool_t *m);
/* Iteration in FIFO order: start with MEMPOOL_NIL. */
uint32_t mempool_next(const mempool_t *m, uint32_t at);
/* The same over the entries not proposed. */
uint32_t mempool_next_unproposed(const mempool_t *m, uint32_t at);

/* ------------------------------------------------------------------------ */
/* The log.                                                                   */

typedef struct vote {
    bool present;
    uint64_t view;
    uint8_t hash[PBFT_HASH_SIZE];
    uint8_t sig[PBFT_SIGNATURE_SIZE];
} vote_t;

typedef struct slot {
    uint64_t seq; /* 0: empty */
    /* The PRE-PREPARE accepted for view pp_view (block owned). */
    bool has_block;
    bool valid;          /* passed the full block validation */
    bool linked;         /* chain rule held when last checked (prev prepared/committed) */
    bool prefix_checked; /* repeats-a-tx checked against the settled prefix */
    /* The primary's pool held every tx of block, marked proposed, as of
     * pool.unmark_epoch + 1 == pool_marked (0: not known). */
    uint64_t pool_marked;
    uint64_t pp_view;
    uint8_t hash[PBFT_HASH_SIZE];
    uint8_t pp_sig[PBFT_SIGNATURE_SIZE];
    pbft_block_t block;
    uint8_t (*ids)[PBFT_HASH_SIZE]; /* tx ids of block, owned */
    bool prepared;                  /* in pp_view */
    vote_t prepares[PBFT_REPLICA_COUNT_MAX];
    vote_t commits[PBFT_REPLICA_COUNT_MAX];
    /* Best prepared certificate (highest view) for VIEW-CHANGE. Its block
     * is `block` when pcert_own_block is false and pcert_block otherwise. */
    bool has_pcert;
    msg_prepared_cert_t pcert;
    bool pcert_own_block;
    pbft_block_t pcert_block;
    /* Commit certificate (2f+1 COMMITs matching `hash`). */
    bool committed;
    pbft_commit_cert_t cert;
} slot_t;

/* What this replica signed for one seq (safety.c). */
typedef struct safety_entry {
    uint64_t seq; /* 0: empty */
    uint64_t view;
    uint8_t hash[PBFT_HASH_SIZE];
    uint8_t phase; /* SAFETY_PHASE_* (highest sent in `view`), 0: none */
    /* Our best prepared certificate for seq (we sent COMMIT on it): it must
     * survive a crash, because a VIEW-CHANGE has to report it (§4.4). */
    bool has_pcert;
    msg_prepared_cert_t pcert;
    /* Its block, kept in the persisted state when the env has no
     * persist_block (owned; NULL otherwise). */
    pbft_block_t *block;
} safety_entry_t;

#define SAFETY_PHASE_PRE_PREPARE 1
#define SAFETY_PHASE_PREPARE 2
#define SAFETY_PHASE_COMMIT 3

typedef struct checkpoint_vote {
    uint64_t height; /* 0: empty */
    uint8_t block_hash[PBFT_HASH_SIZE];
    uint8_t state_hash[PBFT_HASH_SIZE];
    uint8_t sig[PBFT_SIGNATURE_SIZE];
} checkpoint_vote_t;

typedef struct peer_state {
    bool seen;
    uint64_t view;
    bool in_view_change;
    uint64_t committed_height;
    uint64_t executed_height;
    uint64_t stable_height;
    uint64_t served_ms; /* last STATE-REPLY we sent it (+1; 0: never) */
} peer_state_t;

typedef struct outbox_frame {
    uint16_t to; /* REPLICA_LINK_UNKNOWN: broadcast */
    uint8_t *bytes;
    size_t size;
} outbox_frame_t;

/* ------------------------------------------------------------------------ */
/* The replica.                                                               */

struct replica {
    /* replica_on_message_with_ids: the message being handled and the ids of
     * its txs (valid during that call only). */
    const msg_t *given_ids_msg;
    const uint8_t (*given_ids)[PBFT_HASH_SIZE];
    size_t given_id_count;
    /* Configuration (fixed). */
    uint16_t self;
    uint16_t n;
    uint32_t f;
    pbft_validator_set_t validators;
    uint8_t chain_id[PBFT_CHAIN_ID_SIZE];
    uint8_t genesis_hash[PBFT_HASH_SIZE];
    pbft_consensus_params_t params;
    uint32_t window;   /* effective: params.window clamped by frame size */
    uint32_t log_span; /* seqs accepted above committed */
    replica_options_t options;
    replica_env_t env;
    bool own_key_ok;               /* env->sign produces signatures env->verify accepts */
    uint32_t own_signature_checks; /* own votes verified so far */

    /* View (§4.4). */
    uint64_t view;
    bool in_view_change;
    uint32_t view_change_failures; /* consecutive views without progress */
    uint64_t view_start_ms;

    /* Committed (delivered, contiguous) and executed. */
    uint64_t committed;
    uint8_t committed_hash[PBFT_HASH_SIZE];
    pbft_block_header_t committed_header;
    bool has_committed_cert;
    pbft_commit_cert_t committed_cert;
    uint64_t executed;
    uint8_t executed_hash[PBFT_HASH_SIZE];
    uint8_t state_hash[PBFT_HASH_SIZE];

    /* Stable checkpoint (§4.3). */
    uint64_t stable;
    bool has_stable_cert;
    pbft_checkpoint_cert_t stable_cert;
    checkpoint_vote_t checkpoint_votes[PBFT_REPLICA_COUNT_MAX][REPLICA_CHECKPOINT_VOTES_MAX];

    /* The log: slots[seq % REPLICA_LOG_SPAN_MAX] for committed < seq <= committed + log_span. */
    slot_t *slots;
    uint64_t next_seq;    /* primary: next seq to propose */
    uint64_t last_cut_ms; /* primary: when it last cut a block */
    /* Highest seq the NEW-VIEW of `view` decided (c + re-proposals; 0 in
     * view 0). In this view, a PRE-PREPARE at or below it is refused, and
     * the primary proposes fresh blocks only once it committed up to it:
     * it must neither contradict nor repeat what the NEW-VIEW carried.
     * Persisted with the safety state, so a restart does not forget it. */
    uint64_t view_floor;

    /* Safety state (safety.c). */
    safety_entry_t *safety; /* [REPLICA_SAFETY_SLOTS_MAX], seq % size */
    uint8_t *safety_buf;    /* encode buffer (grows) */
    size_t safety_buf_capacity;
    bool safety_dirty;

    /* View change (view_change.c): latest valid VIEW-CHANGE per sender. */
    msg_view_change_t *vcs[PBFT_REPLICA_COUNT_MAX];
    uint8_t *own_vc_frame;
    size_t own_vc_size;
    uint8_t *new_view_frame; /* as primary of new_view_frame_view */
    size_t new_view_size;
    uint64_t new_view_frame_view;

    /* Peers (state_transfer.c). */
    peer_state_t peers[PBFT_REPLICA_COUNT_MAX];
    uint32_t peers_seen_mask;
    bool catching_up;
    uint64_t catch_up_target;
    uint16_t catch_up_peer;
    uint32_t catch_up_attempts;
    uint64_t committed_at_last_tick;
    bool catch_up_waits_for_execution;
    uint64_t catch_up_sent_ms; /* when the last STATE-REQUEST went out */
    bool catch_up_pacing;      /* the STATE_TRANSFER timer is the request gap, not a timeout */

    /* Mempool and forwarding. */
    mempool_t pool;
    pbft_tx_t *forward; /* [MSG_REQUEST_TX_COUNT_MAX] */
    uint16_t forward_count;
    uint64_t request_deadline_ms; /* armed deadline, 0: none */
    uint64_t request_base_ms;     /* request timers postponed to at least here */

    /* Early PRE-PREPAREs (normal.c): decoded messages, owned. */
    msg_t stash[REPLICA_STASH_MAX];
    uint32_t stash_count;

    /* replica_progress re-entrancy. */
    bool in_progress;
    bool progress_again;

    /* Event wrapper. */
    uint32_t depth;
    outbox_frame_t outbox[REPLICA_OUTBOX_MAX];
    uint32_t outbox_count;
    /* on_executed calls made from inside deliver, handled at the end */
    struct {
        uint64_t height;
        uint8_t block_hash[PBFT_HASH_SIZE];
        uint8_t state_hash[PBFT_HASH_SIZE];
    } deferred[REPLICA_LOG_SPAN_MAX];
    uint32_t deferred_count;

    /* Counters. */
    uint64_t view_changes;
    uint64_t blocks_committed;
    uint64_t txs_committed;
    uint64_t state_transfer_blocks;
    uint64_t persist_failures;
    uint64_t invalid[REPLICA_INVALID_COUNT];
};

/* replica.c */
void replica_logf(replica_t *r, int level, const char *fmt, ...) PBFT_PRINTF(3, 4);
pbft_status_t replica_reject(replica_t *r, replica_invalid_reason_t reason, pbft_status_t status);
uint64_t replica_now(replica_t *r);
uint16_t replica_primary(const replica_t *r, uint64_t view);
bool replica_is_primary(const replica_t *r);
uint64_t replica_high_water_mark(const replica_t *r);
void replica_update_context(const replica_t *r, uint64_t seq);
/* Encodes, signs (per type) and queues m to `to` (REPLICA_LINK_UNKNOWN:
 * broadcast). Returns false when signing failed (nothing queued). When
 * frame_out is not NULL it receives a heap copy of the frame. */
bool replica_queue_msg(replica_t *r, uint16_t to, msg_t *m, uint8_t **frame_out,
                       size_t *frame_size_out);
void replica_queue_frame(replica_t *r, uint16_t to, const uint8_t *frame, size_t size);
bool replica_verify_envelope(replica_t *r, const msg_t *m, const uint8_t *frame);
void replica_rearm_request_timer(replica_t *r);
void replica_flush_forward(replica_t *r);
/* How long a backup may hold client txs before relaying them (normal.c). */
uint64_t replica_forward_gap_ms(replica_t *r, uint64_t now);

/* quorum.c */
uint32_t replica_quorum(const replica_t *r);
uint32_t replica_prepare_quorum(const replica_t *r);
bool replica_verify_vote(replica_t *r, const char *tag, uint64_t view, uint64_t seq,
                         const uint8_t hash[PBFT_HASH_SIZE], uint16_t signer,
                         const uint8_t sig[PBFT_SIGNATURE_SIZE]);
uint32_t replica_count_prepares(const replica_t *r, const slot_t *s, uint64_t view,
                                const uint8_t hash[PBFT_HASH_SIZE]);
bool replica_find_commit_quorum(const replica_t *r, const slot_t *s, uint64_t *view_out);
void replica_build_commit_cert(const replica_t *r, const slot_t *s, uint64_t view,
                               pbft_commit_cert_t *out);
void replica_build_prepared_cert(const replica_t *r, const slot_t *s, msg_prepared_cert_t *out);
pbft_status_t replica_check_prepared_cert(replica_t *r, const msg_prepared_cert_t *c);
pbft_status_t replica_check_commit_cert(replica_t *r, const pbft_commit_cert_t *c);

/* safety.c */
bool replica_safety_allows(const replica_t *r, uint64_t view, uint64_t seq,
                           const uint8_t hash[PBFT_HASH_SIZE]);
void replica_safety_record(replica_t *r, uint64_t view, uint64_t seq,
                           const uint8_t hash[PBFT_HASH_SIZE], uint8_t phase);
const safety_entry_t *replica_safety_get(const replica_t *r, uint64_t seq);
void replica_safety_record_pcert(replica_t *r, const msg_prepared_cert_t *pcert,
                                 const pbft_block_t *block);
void replica_safety_destroy(replica_t *r);
/* Size replica_safety_encode needs. */
size_t replica_safety_size(const replica_t *r);
size_t replica_safety_encode(const replica_t *r, uint8_t *out, size_t capacity);
pbft_status_t replica_safety_decode(replica_t *r, const uint8_t *data, size_t size);

/* normal.c */
slot_t *replica_slot(replica_t *r, uint64_t seq); /* NULL outside the log */
void replica_slot_clear(slot_t *s);
void replica_slot_set_block(replica_t *r, slot_t *s, uint64_t view, pbft_block_t *block,
                            uint8_t (*ids)[PBFT_HASH_SIZE],
                            const uint8_t pp_sig[PBFT_SIGNATURE_SIZE]);
pbft_status_t replica_validate_block(replica_t *r, const pbft_block_t *b, uint64_t seq,
                                     uint8_t (**ids_out)[PBFT_HASH_SIZE]);
/* The same with the txs' ids already computed (NULL: computes them). */
pbft_status_t replica_validate_block_ids(replica_t *r, const pbft_block_t *b, uint64_t seq,
                                         const uint8_t (*given)[PBFT_HASH_SIZE],
                                         uint8_t (**ids_out)[PBFT_HASH_SIZE]);
/* replica.c: the ids replica_on_message_with_ids was given for m, if it has
 * count txs; else NULL. */
const uint8_t (*replica_given_ids(const replica_t *r, const msg_t *m,
                                  size_t count))[PBFT_HASH_SIZE];
pbft_status_t replica_on_pre_prepare(replica_t *r, msg_t *m);
/* Replays stashed PRE-PREPAREs of the current view (after a NEW-VIEW). */
void replica_replay_stash(replica_t *r);
void replica_stash_destroy(replica_t *r);
pbft_status_t replica_on_vote(replica_t *r, msg_t *m);
pbft_status_t replica_on_request(replica_t *r, msg_t *m);
void replica_progress(replica_t *r);
void replica_try_propose(replica_t *r);
bool replica_deliver(replica_t *r, const pbft_block_t *block, const uint8_t (*ids)[PBFT_HASH_SIZE],
                     const pbft_commit_cert_t *cert);
/* cert must be valid (checked by the caller). */
void replica_adopt_commit_cert(replica_t *r, const pbft_commit_cert_t *cert);
/* Re-sends our PRE-PREPARE/PREPARE/COMMIT of current-view slots above
 * peer_committed to a peer that is stuck. */
void replica_retransmit(replica_t *r, uint16_t to, uint64_t peer_committed);

/* checkpoint.c */
void replica_checkpoint_executed(replica_t *r, uint64_t height);
pbft_status_t replica_on_checkpoint(replica_t *r, msg_t *m);
void replica_checkpoint_restore(replica_t *r, const pbft_checkpoint_cert_t *stable);
void replica_checkpoint_retransmit(replica_t *r, uint16_t to, uint64_t peer_stable);
void replica_checkpoint_adopt(replica_t *r, const pbft_checkpoint_cert_t *cert);

/* view_change.c */
void replica_start_view_change(replica_t *r, uint64_t new_view);
pbft_status_t replica_on_view_change(replica_t *r, msg_t *m, const uint8_t *frame);
pbft_status_t replica_on_new_view(replica_t *r, msg_t *m, const uint8_t *frame);
void replica_view_change_timeout(replica_t *r);
void replica_start_new_view_if_ready(replica_t *r);
void replica_view_change_destroy(replica_t *r);

/* state_transfer.c */
void replica_status_tick(replica_t *r);
pbft_status_t replica_on_status(replica_t *r, msg_t *m);
pbft_status_t replica_on_state_request(replica_t *r, msg_t *m);
pbft_status_t replica_on_state_reply(replica_t *r, msg_t *m);
void replica_catch_up(replica_t *r, uint64_t target, uint16_t hint_peer);
/* The (f+1)-th highest committed height peers reported (0 if too few). */
uint64_t replica_peers_committed(const replica_t *r, uint16_t *best_peer);
void replica_state_transfer_timeout(replica_t *r);
void replica_state_transfer_executed(replica_t *r);

#endif /* PBFT_CONSENSUS_REPLICA_INTERNAL_H */
