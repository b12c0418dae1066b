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
/* Parallel signature verification (one batch per block).                    */

typedef struct audit_sigpool audit_sigpool_t;

/* threads = 0: one per online core. */
audit_sigpool_t *audit_sigpool_new(size_t threads);
void audit_sigpool_free(audit_sigpool_t *p);
size_t audit_sigpool_threads(const audit_sigpool_t *p);
/* Runs fn(ctx, i) for every i < count on the pool (and the caller) and
 * returns when all are done. fn must be thread-safe across indexes. */
typedef void (*audit_pool_fn)(void *ctx, size_t index);
void audit_sigpool_for(audit_sigpool_t *p, size_t count, audit_pool_fn fn, void *ctx);
/* Verifies every tx signature; status[i] receives codec_tx_verify's answer. */
void audit_sigpool_run(audit_sigpool_t *p, const pbft_tx_t *txs, size_t count,
                       const uint8_t chain_id[PBFT_CHAIN_ID_SIZE], pbft_status_t *status);

/* ------------------------------------------------------------------------ */
/* The audit                                                                  */

typedef struct audit_options {
    bool keep_going;
    bool json;
    bool progress; /* stderr is a TTY */
    size_t threads;
} audit_options_t;

typedef struct audit_failure {
    uint64_t height;
    char reason[AUDIT_REASON_SIZE_MAX];
} audit_failure_t;

typedef struct audit_report {
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
