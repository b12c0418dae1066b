/*
 * tools/common/audit_sigpool.c — verify signatures on every core.
 *
 * Signature checks dominate the audit's CPU time. The pool is a fixed set of
 * workers and a FIFO of tasks (one per batch of blocks); a task's indexes are
 * handed out in chunks from a shared counter, so the workers finish the
 * oldest batch together and move on to the next one without waiting for
 * anyone. Submitting never blocks, so the caller does its own serial work
 * (reading, replaying) meanwhile; with N workers exactly N threads check
 * signatures. Only a pool whose threads could not be started runs tasks on
 * the waiting caller.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"

#define SIGPOOL_CHUNK_DEFAULT 8
#define SIGPOOL_NAME_SIZE_MAX 16 /* pthread_setname_np: 15 characters and the NUL */

struct audit_sigpool {
    pthread_t threads[AUDIT_THREAD_COUNT_MAX];
    size_t thread_count;
    char name[SIGPOOL_NAME_SIZE_MAX];
    pthread_mutex_t mu;
    pthread_cond_t work_cv;
    pthread_cond_t done_cv;
    bool stop;
    /* tasks with unclaimed indexes, oldest first */
    audit_task_t *head;
    audit_task_t *tail;
};

/* Unlinks t from the queue (mu held); t must be queued. */
static void queue_remove(audit_sigpool_t *p, audit_task_t *t) {
    audit_task_t **link = &p->head, *prev = NULL;
    while (*link != t) {
        PBFT_ASSERT(*link != NULL);
        prev = *link;
        link = &(*link)->queue_next;
    }
    *link = t->queue_next;
    if (p->tail == t) p->tail = prev;
    t->queue_next = NULL;
}

/* Claims and runs one chunk of t (mu held on entry and exit). */
static void run_chunk(audit_sigpool_t *p, audit_task_t *t) {
    PBFT_ASSERT(t->next < t->count);
    size_t start = t->next;
    size_t end = PBFT_MIN(start + t->chunk, t->count);
    t->next = end;
    if (end == t->count) queue_remove(p, t); /* fully claimed */
    pthread_mutex_unlock(&p->mu);
    for (size_t i = start; i < end; i++)
        t->fn(t->ctx, i);
    pthread_mutex_lock(&p->mu);
    t->done += end - start;
    PBFT_ASSERT(t->done <= t->count);
    if (t->done == t->count) pthread_cond_broadcast(&p->done_cv);
}

static void *worker(void *arg) {
    audit_sigpool_t *p = arg;
    pthread_setname_np(pthread_self(), p->name); /* so profiles tell the stages apart */
    pthread_mutex_lock(&p->mu);
    while (true) {
        while (!p->stop && p->head == NULL)
            pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->stop) break;
        run_chunk(p, p->head);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

audit_sigpool_t *audit_sigpool_new(size_t threads, const char *name) {
    audit_sigpool_t *p = pbft_xcalloc(1, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    if (threads == 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        threads = online > 0 ? (size_t)online : 1;
    }
    threads = PBFT_MIN(threads, (size_t)AUDIT_THREAD_COUNT_MAX);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    for (size_t i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[p->thread_count], NULL, worker, p) != 0) break;
        p->thread_count++;
    }
    return p;
}

void audit_sigpool_free(audit_sigpool_t *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    PBFT_ASSERT(p->head == NULL); /* every task was waited for or cancelled */
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
    return PBFT_MAX(p->thread_count, (size_t)1); /* with no worker the caller does it all */
}

void audit_sigpool_submit(audit_sigpool_t *p, audit_task_t *t) {
    PBFT_ASSERT(t->fn != NULL || t->count == 0);
    t->chunk = t->chunk ? t->chunk : SIGPOOL_CHUNK_DEFAULT;
    t->next = 0;
    t->done = 0;
    t->queue_next = NULL;
    if (t->count == 0) return;
    pthread_mutex_lock(&p->mu);
    if (p->tail)
        p->tail->queue_next = t;
    else
        p->head = t;
    p->tail = t;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
}

void audit_sigpool_wait(audit_sigpool_t *p, audit_task_t *t) {
    pthread_mutex_lock(&p->mu);
    while (p->thread_count == 0 && t->next < t->count)
        run_chunk(p, t);
    while (t->done < t->count)
        pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void audit_sigpool_cancel(audit_sigpool_t *p, audit_task_t *t) {
    pthread_mutex_lock(&p->mu);
    if (t->next < t->count) {
        queue_remove(p, t);
        t->done += t->count - t->next;
        t->next = t->count;
    }
    while (t->done < t->count)
        pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
