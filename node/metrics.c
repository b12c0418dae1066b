/*
 * node/metrics.c — see metrics.h.
 */
#include "metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>

const double metrics_latency_bounds_s[METRICS_LATENCY_BUCKET_COUNT] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, -1.0 /* +Inf */};

void metrics_observe_latency_us(metrics_t *m, uint64_t latency_us) {
    size_t b = METRICS_LATENCY_BUCKET_COUNT - 1;
    for (size_t i = 0; i + 1 < METRICS_LATENCY_BUCKET_COUNT; i++) {
        if ((double)latency_us <= metrics_latency_bounds_s[i] * 1e6) {
            b = i;
            break;
        }
    }
    atomic_fetch_add_explicit(&m->latency_buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_sum_us, latency_us, memory_order_relaxed);
}

void metrics_text_printf(metrics_text_t *t, const char *fmt, ...) {
    for (;;) {
        size_t room = t->capacity - t->size;
        va_list ap;
        va_start(ap, fmt);
        int n = -1;
        // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
        if (room) n = vsnprintf(t->data + t->size, room, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < room) {
            t->size += (size_t)n;
            return;
        }
        size_t need = n >= 0 ? (size_t)n + 1 : 256;
        t->capacity = PBFT_MAX(t->capacity * 2, t->size + need + 1024);
        t->data = pbft_xrealloc(t->data, t->capacity);
    }
}

void metrics_text_free(metrics_text_t *t) {
    free(t->data);
    memset(t, 0, sizeof *t);
}

void metrics_render_latency(metrics_t *mm, metrics_text_t *t) {
    metrics_text_printf(t, "# HELP pbft_commit_latency_seconds Time from a transaction's "
                           "admission at this replica to its synced commit.\n"
                           "# TYPE pbft_commit_latency_seconds histogram\n");
    uint64_t cumulative = 0;
    for (size_t i = 0; i < METRICS_LATENCY_BUCKET_COUNT; i++) {
        cumulative += atomic_load(&mm->latency_buckets[i]);
        if (metrics_latency_bounds_s[i] < 0) {
            metrics_text_printf(t, "pbft_commit_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
                                (unsigned long long)cumulative);
        } else {
            metrics_text_printf(t, "pbft_commit_latency_seconds_bucket{le=\"%g\"} %llu\n",
                                metrics_latency_bounds_s[i], (unsigned long long)cumulative);
        }
    }
    metrics_text_printf(t, "pbft_commit_latency_seconds_sum %.6f\n",
                        (double)atomic_load(&mm->latency_sum_us) / 1e6);
    metrics_text_printf(t, "pbft_commit_latency_seconds_count %llu\n",
                        (unsigned long long)atomic_load(&mm->latency_count));
}
