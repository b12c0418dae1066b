/*
 * tools/common/audit_sigpool.c — verify signatures on every core.
 *
 * Signature checks dominate the audit's CPU time, so each batch (tx
 * signatures, commit certificates) is split across a fixed pool of workers;
 * the calling thread works too. Work is handed out in small chunks from a
 * shared counter so an uneven machine still finishes a batch together.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "pbft/codec.h"

#define SIGPOOL_CHUNK 8
#define SIGPOOL_INLINE_MAX 8 /* smaller batches are not worth waking workers */

struct audit_sigpool {
    pthread_t threads[AUDIT_THREAD_COUNT_MAX];
    size_t thread_count;
    pthread_mutex_t mu;
    pthread_cond_t work_cv;
    pthread_cond_t done_cv;
    uint64_t generation;
    bool stop;
    /* the current batch: fn(ctx, i) for every i < count */
    audit_pool_fn fn;
    void *ctx;
    size_t count;
    size_t next;
    size_t done;
};

/* Takes and verifies chunks until the batch is exhausted. Called with mu held;
 * returns with mu held. */
static void work_batch(audit_sigpool_t *p) {
    while (p->next < p->count) {
        size_t start = p->next;
        size_t end = PBFT_MIN(start + SIGPOOL_CHUNK, p->count);
        p->next = end;
        audit_pool_fn fn = p->fn;
        void *ctx = p->ctx;
        pthread_mutex_unlock(&p->mu);
        for (size_t i = start; i < end; i++)
            fn(ctx, i);
        pthread_mutex_lock(&p->mu);
        p->done += end - start;
        if (p->done == p->count) pthread_cond_broadcast(&p->done_cv);
    }
}

static void *worker(void *arg) {
    audit_sigpool_t *p = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    while (true) {
        while (!p->stop && p->generation == seen)
            pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->stop) break;
        seen = p->generation;
        work_batch(p);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

audit_sigpool_t *audit_sigpool_new(size_t threads) {
    audit_sigpool_t *p = pbft_xcalloc(1, sizeof(*p));
    if (threads == 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        threads = online > 0 ? (size_t)online : 1;
    }
    threads = PBFT_MIN(threads, (size_t)AUDIT_THREAD_COUNT_MAX);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    /* The caller is one of the workers: start threads-1 helpers. */
    for (size_t i = 0; i + 1 < threads; i++) {
        if (pthread_create(&p->threads[p->thread_count], NULL, worker, p) != 0) break;
        p->thread_count++;
    }
    return p;
}

void audit_sigpool_free(audit_sigpool_t *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < p->thread_count; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    free(p);
}

size_t audit_sigpool_threads(const audit_sigpool_t *p) {
    return p->thread_count + 1;
}

void audit_sigpool_for(audit_sigpool_t *p, size_t count, audit_pool_fn fn, void *ctx) {
    if (count <= SIGPOOL_INLINE_MAX || p->thread_count == 0) {
        for (size_t i = 0; i < count; i++)
            fn(ctx, i);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->count = count;
    p->next = 0;
    p->done = 0;
    p->generation++;
    pthread_cond_broadcast(&p->work_cv);
    work_batch(p);
    while (p->done < p->count)
        pthread_cond_wait(&p->done_cv, &p->mu);
    PBFT_ASSERT(p->next == p->count && p->done == p->count);
    p->count = 0;
    p->fn = NULL;
    p->ctx = NULL;
    pthread_mutex_unlock(&p->mu);
}

typedef struct tx_job {
    const pbft_tx_t *txs;
    const uint8_t *chain_id;
    pbft_status_t *status;
} tx_job_t;

static void verify_one_tx(void *ctx, size_t i) {
    tx_job_t *job = ctx;
    job->status[i] = codec_tx_verify(&job->txs[i], job->chain_id);
}

void audit_sigpool_run(audit_sigpool_t *p, const pbft_tx_t *txs, size_t count,
                       const uint8_t chain_id[PBFT_CHAIN_ID_SIZE], pbft_status_t *status) {
    tx_job_t job = {txs, chain_id, status};
    audit_sigpool_for(p, count, verify_one_tx, &job);
}
