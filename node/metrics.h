/*
 * node/metrics.h — counters and the commit-latency histogram behind
 * GET /metrics (Prometheus text format 0.0.4). Written by any thread with
 * relaxed atomics; rendered by HTTP threads.
 */
#ifndef NODE_METRICS_H
#define NODE_METRICS_H

#include "pbft/common.h"
#include "pbft/types.h"

#define METRICS_LATENCY_BUCKET_COUNT 14

typedef struct metrics {
    _Atomic uint64_t blocks_committed;
    _Atomic uint64_t txs_committed[PBFT_TX_RESULT_COUNT];
    _Atomic uint64_t tx_submitted;          /* accepted into the mempool here */
    _Atomic uint64_t tx_rejected_signature; /* HTTP: bad signature */
    _Atomic uint64_t tx_rejected_malformed; /* HTTP: does not decode */
    _Atomic uint64_t tx_rejected_full;      /* HTTP: mempool full */
    _Atomic uint64_t http_requests;
    _Atomic uint64_t http_errors; /* 4xx and 5xx answers */
    _Atomic uint64_t frames_sender_mismatch;
    _Atomic uint64_t preverified_messages; /* tx-carrying messages checked on the pool */
    _Atomic uint64_t store_commit_us_total;
    _Atomic uint64_t persist_us_total; /* synced safety-state writes (consensus thread) */
    _Atomic uint64_t persist_count;
    _Atomic uint64_t persist_bytes_total;
    _Atomic uint64_t persist_inflight;
    /* commit latency: admission here -> synced commit */
    _Atomic uint64_t latency_buckets[METRICS_LATENCY_BUCKET_COUNT]; /* non-cumulative */
    _Atomic uint64_t latency_count;
    _Atomic uint64_t latency_sum_us;
} metrics_t;

/* Upper bounds in seconds of the latency buckets (the last is +Inf). */
extern const double metrics_latency_bounds_s[METRICS_LATENCY_BUCKET_COUNT];

void metrics_observe_latency_us(metrics_t *m, uint64_t latency_us);

/* A growable text buffer for rendering. */
typedef struct metrics_text {
    char *data;
    size_t size;
    size_t capacity;
} metrics_text_t;
void metrics_text_printf(metrics_text_t *t, const char *fmt, ...) PBFT_PRINTF(2, 3);
void metrics_text_free(metrics_text_t *t);

/* Appends the histogram as pbft_commit_latency_seconds. */
void metrics_render_latency(metrics_t *m, metrics_text_t *t);

#endif /* NODE_METRICS_H */
