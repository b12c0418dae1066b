/*
 * tools/common/audit.h — the chain audit behind pbft-verify (in the tools
 * library so unit tests can drive it).
 *
 * The audit trusts nothing but genesis: it re-derives every hash, re-checks
 * every signature and certificate against the genesis validators and replays
 * every transaction from the genesis balances.
 */
#ifndef PBFT_TOOLS_AUDIT_H
#define PBFT_TOOLS_AUDIT_H

#include <jansson.h>

#include "http.h"
#include "keystore.h"
#include "pbft/common.h"
#include "pbft/ledger.h"
#include "pbft/store.h"
#include "pbft/types.h"

/* Exit codes of the source openers (sysexits values). */
#define AUDIT_EXIT_OK 0
#define AUDIT_EXIT_FAILED 1
#define AUDIT_EXIT_USAGE 64
#define AUDIT_EXIT_NOINPUT 66

#define AUDIT_THREAD_COUNT_MAX 64
#define AUDIT_COMPARE_COUNT_MAX 32
#define AUDIT_REASON_SIZE_MAX 512
#define AUDIT_FAILURE_COUNT_MAX 10000

/* ------------------------------------------------------------------------ */
/* Where blocks come from: a replica's data directory (read-only) or a node. */

typedef struct audit_source {
    char label[1024];
    store_t *store;     /* --home / compare DIR */
    tools_http_t *http; /* --node / compare URL */
    char *url;          /* the node URL list as given (malloc'd), for more connections */
    long timeout_ms;
} audit_source_t;

/* What a source holds at one height. */
typedef struct audit_item {
    uint8_t *block_raw; /* canonical block bytes (malloc'd) */
    size_t block_size;
    uint8_t *cert_raw; /* canonical commit cert bytes (malloc'd); NULL when none */
    size_t cert_size;
    pbft_status_t cert_status; /* why cert_raw is NULL (NOT_FOUND, CORRUPT, ...) */
    uint8_t *results;          /* stored per-tx results (malloc'd); NULL when the source has none */
    uint32_t result_count;
    bool results_valid; /* false: a result name the verifier does not know */
    bool have_state_hash;
    uint8_t state_hash[PBFT_HASH_SIZE];
} audit_item_t;

void audit_item_free(audit_item_t *item);

/* Opens a source. err receives a sentence; returns an exit code (0 = ok). */
int audit_source_open_dir(audit_source_t *src, const char *home_or_data,
                          const pbft_genesis_t *genesis, char *err, size_t err_size);
int audit_source_open_node(audit_source_t *src, const char *url, long timeout_ms, char *err,
                           size_t err_size);
/* Another connection to the same node(s) as src (a node source), so several
 * threads can read at once; a store source cannot be cloned (returns
 * AUDIT_EXIT_USAGE). */
int audit_source_clone_node(audit_source_t *clone, const audit_source_t *src, char *err,
                            size_t err_size);
void audit_source_close(audit_source_t *src);

/* The highest committed height. */
PBFT_MUST_USE pbft_status_t audit_source_tip(audit_source_t *src, uint64_t *height, char *err,
                                             size_t err_size);
/* Block h with its certificate, stored results and state hash.
 * PBFT_ERR_NOT_FOUND when the source has no block h. */
PBFT_MUST_USE pbft_status_t audit_source_get(audit_source_t *src, uint64_t height,
                                             audit_item_t *out, char *err, size_t err_size);
/* The stored checkpoint certificate at h (raw, malloc'd); NOT_FOUND when none. */
PBFT_MUST_USE pbft_status_t audit_source_checkpoint(audit_source_t *src, uint64_t height,
                                                    uint8_t **raw, size_t *raw_size, char *err,
                                                    size_t err_size);
/* The block hash at h (header hash), for --compare. */
PBFT_MUST_USE pbft_status_t audit_source_block_hash(audit_source_t *src, uint64_t height,
                                                    uint8_t out[PBFT_HASH_SIZE], char *err,
                                                    size_t err_size);
/* Store only: the tip record (for the final tip checks). */
bool audit_source_store_tip(audit_source_t *src, store_tip_t *out);

/* ------------------------------------------------------------------------ */
/* The signature pool: worker threads that run queued tasks in FIFO order.   */

typedef struct audit_sigpool audit_sigpool_t;

/* fn(ctx, i) for one index of a task; must be thread-safe across indexes. */
typedef void (*audit_pool_fn)(void *ctx, size_t index);

/* fn(ctx, i) for every i < count, handed out `chunk` indexes at a time.
 * The caller fills fn, ctx, count and chunk; the rest belongs to the pool
 * from audit_sigpool_submit until audit_sigpool_wait/cancel returns. */
typedef struct audit_task {
    audit_pool_fn fn;
    void *ctx;
    size_t count;
    size_t chunk;
    size_t next; /* first unclaimed index (pool-owned) */
    size_t done; /* indexes finished or cancelled (pool-owned) */
    struct audit_task *queue_next;
} audit_task_t;

/* threads = 0: one worker per online core; name: the workers' thread name. */
audit_sigpool_t *audit_sigpool_new(size_t threads, const char *name);
void audit_sigpool_free(audit_sigpool_t *p);
size_t audit_sigpool_threads(const audit_sigpool_t *p);
/* Queues t behind every task submitted before it and returns at once. */
void audit_sigpool_submit(audit_sigpool_t *p, audit_task_t *t);
/* Returns when every index of t is done (a pool without workers runs t on
 * the calling thread here). */
void audit_sigpool_wait(audit_sigpool_t *p, audit_task_t *t);
/* Drops t's unclaimed indexes and returns when the claimed ones are done. */
void audit_sigpool_cancel(audit_sigpool_t *p, audit_task_t *t);

/* ------------------------------------------------------------------------ */
/* The pipeline: a reader thread reads and decodes batches of blocks ahead  */
/* of the audit, the pool checks every signature of a batch while the        */
/* caller replays the batches before it, in height order.                    */

#define AUDIT_BATCH_BLOCKS_MAX 512
#define AUDIT_BATCH_TXS_DEFAULT 4096 /* a batch closes once it holds this many txs */
#define AUDIT_BATCH_SLOTS 4          /* batches alive at once: bounds memory */

/* A commit certificate checked against its block's header (on the pool). */
typedef struct audit_cert_result {
    pbft_status_t read;   /* the source's status for the raw certificate */
    pbft_status_t decode; /* codec status */
    pbft_status_t check;  /* cert_check_block */
    pbft_status_t sigs;   /* cert_check_commit, when check failed */
    size_t bad;           /* the entry cert_check_commit blamed */
    pbft_commit_cert_t cert;
} audit_cert_result_t;

/* The stored checkpoint certificate at a checkpoint height (on the pool). */
typedef struct audit_checkpoint_result {
    bool due;             /* the height is a multiple of the checkpoint interval */
    pbft_status_t read;   /* NOT_FOUND: not (yet) stable on the source */
    pbft_status_t decode; /* codec status */
    pbft_status_t sigs;   /* cert_check_checkpoint */
    size_t bad;
    pbft_checkpoint_cert_t cert;
} audit_checkpoint_result_t;

/* Heights from..from+count-1, read, decoded and (once the pipeline hands it
 * out) with every signature checked. */
typedef struct audit_batch {
    uint64_t from;
    size_t count;
    bool missing;              /* height from+count is absent from the source */
    pbft_status_t read_status; /* not OK: reading height from+count failed (err) */
    char err[AUDIT_REASON_SIZE_MAX];
    audit_item_t items[AUDIT_BATCH_BLOCKS_MAX];
    pbft_block_t blocks[AUDIT_BATCH_BLOCKS_MAX];
    pbft_status_t decoded[AUDIT_BATCH_BLOCKS_MAX]; /* the audit stops at a failure */
    size_t tx_offset[AUDIT_BATCH_BLOCKS_MAX];      /* block k's txs in the arrays below */
    audit_cert_result_t certs[AUDIT_BATCH_BLOCKS_MAX];
    audit_checkpoint_result_t checkpoints[AUDIT_BATCH_BLOCKS_MAX];
    /* one entry per tx of the batch, grown on demand and reused */
    size_t tx_total;
    size_t tx_capacity;
    const pbft_tx_t **txs;
    pbft_status_t *sig_status;             /* codec_tx_verify's answer */
    uint8_t (*tx_ids)[PBFT_HASH_SIZE];     /* codec_tx_id */
    uint8_t (*senders)[PBFT_ADDRESS_SIZE]; /* crypto_address(sender_pubkey) */
    audit_task_t task;
} audit_batch_t;

typedef struct audit_pipeline audit_pipeline_t;

/* Starts reading heights from..tip on a reader thread. The source belongs to
 * the pipeline (no other use) until audit_pipeline_stop. batch_txs = 0:
 * AUDIT_BATCH_TXS_DEFAULT; batch_blocks = 0: AUDIT_BATCH_BLOCKS_MAX. */
audit_pipeline_t *audit_pipeline_start(audit_source_t *src, const pbft_genesis_t *genesis,
                                       audit_sigpool_t *pool, uint64_t from, uint64_t tip,
                                       size_t batch_txs, size_t batch_blocks);
/* The next batch in height order with its signatures checked; NULL after
 * the last. The reader stops after a batch that ends in a missing block, a
 * read error or a block that does not decode. */
audit_batch_t *audit_pipeline_next(audit_pipeline_t *pl);
/* Hands a batch from audit_pipeline_next back for reuse. */
void audit_pipeline_release(audit_pipeline_t *pl, audit_batch_t *b);
/* Stops reading, drops unchecked work, joins the reader and frees all. */
void audit_pipeline_stop(audit_pipeline_t *pl);

/* ------------------------------------------------------------------------ */
/* The audit                                                                  */

typedef struct audit_options {
    bool keep_going;
    bool json;
    bool progress; /* stderr is a TTY */
    size_t threads;
    size_t batch_txs;    /* 0: AUDIT_BATCH_TXS_DEFAULT (tests use small batches) */
    size_t batch_blocks; /* 0: AUDIT_BATCH_BLOCKS_MAX */
} audit_options_t;

typedef struct audit_failure {
    uint64_t height;
    char reason[AUDIT_REASON_SIZE_MAX];
} audit_failure_t;

typedef struct audit_report {
    size_t threads;       /* signature-checking threads used */
    uint64_t tip;         /* highest height examined */
    uint64_t verified_to; /* all heights 0..verified_to checked (when ok) */
    uint64_t blocks;
    uint64_t txs;
    uint64_t commit_certs;
    uint64_t checkpoint_certs;
    uint64_t supply;
    bool stopped; /* could not continue past a failure */
    size_t failure_count;
    audit_failure_t *failures; /* malloc'd */
} audit_report_t;

/* Audits the chain held by src from genesis. Returns PBFT_OK when the audit
 * ran (see report->failure_count for its verdict), or a source error
 * (PBFT_ERR_UNAVAILABLE, ...) with err set. */
PBFT_MUST_USE pbft_status_t audit_chain(audit_source_t *src, const pbft_genesis_t *genesis,
                                        const audit_options_t *opts, audit_report_t *report,
                                        char *err, size_t err_size);
void audit_report_free(audit_report_t *r);
void audit_report_fail(audit_report_t *r, uint64_t height, const char *fmt, ...) PBFT_PRINTF(3, 4);

/* Checks that all sources hold the same block hash at every common height.
 * Adds failures to report; *common receives the highest common height. */
PBFT_MUST_USE pbft_status_t audit_compare(audit_source_t *sources, size_t count,
                                          const audit_options_t *opts, audit_report_t *report,
                                          uint64_t *common, char *err, size_t err_size);

#endif /* PBFT_TOOLS_AUDIT_H */
