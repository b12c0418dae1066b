/*
 * node/inbox.c — see inbox.h.
 */
#include "inbox.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

typedef struct inbox_item {
    struct inbox_item *next;
    inbox_fn fn;
    void *ctx;
} inbox_item_t;

struct inbox {
    pthread_mutex_t mutex;
    inbox_item_t *head;
    inbox_item_t *tail;
    size_t depth;
    bool closed;
    int efd;
};

inbox_t *inbox_new(void) {
    inbox_t *inbox = pbft_xcalloc(1, sizeof *inbox);
    pthread_mutex_init(&inbox->mutex, NULL);
    inbox->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    PBFT_ASSERT(inbox->efd >= 0);
    return inbox;
}

void inbox_free(inbox_t *inbox) {
    if (!inbox) return;
    PBFT_ASSERT(inbox->closed && inbox->head == NULL);
    close(inbox->efd);
    pthread_mutex_destroy(&inbox->mutex);
    free(inbox);
}

int inbox_fd(const inbox_t *inbox) {
    return inbox->efd;
}

void inbox_post(inbox_t *inbox, inbox_fn fn, void *ctx) {
    inbox_item_t *item = pbft_xmalloc(sizeof *item);
    item->next = NULL;
    item->fn = fn;
    item->ctx = ctx;
    pthread_mutex_lock(&inbox->mutex);
    if (inbox->closed) {
        pthread_mutex_unlock(&inbox->mutex);
        free(item);
        fn(NULL, ctx, true);
        return;
    }
    bool was_empty = inbox->head == NULL;
    if (inbox->tail)
        inbox->tail->next = item;
    else
        inbox->head = item;
    inbox->tail = item;
    inbox->depth++;
    pthread_mutex_unlock(&inbox->mutex);
    if (was_empty) {
        uint64_t one = 1;
        ssize_t w = write(inbox->efd, &one, sizeof one);
        (void)w; /* EAGAIN: the counter is already non-zero, which is all we need */
    }
}

static inbox_item_t *take_all(inbox_t *inbox) {
    pthread_mutex_lock(&inbox->mutex);
    inbox_item_t *items = inbox->head;
    inbox->head = inbox->tail = NULL;
    inbox->depth = 0;
    uint64_t count;
    ssize_t r = read(inbox->efd, &count, sizeof count);
    (void)r;
    pthread_mutex_unlock(&inbox->mutex);
    return items;
}

size_t inbox_drain(inbox_t *inbox, void *node) {
    size_t ran = 0;
    for (inbox_item_t *item = take_all(inbox); item;) {
        inbox_item_t *next = item->next;
        item->fn(node, item->ctx, false);
        free(item);
        item = next;
        ran++;
    }
    return ran;
}

void inbox_close(inbox_t *inbox, void *node) {
    pthread_mutex_lock(&inbox->mutex);
    inbox->closed = true;
    pthread_mutex_unlock(&inbox->mutex);
    for (inbox_item_t *item = take_all(inbox); item;) {
        inbox_item_t *next = item->next;
        item->fn(node, item->ctx, true);
        free(item);
        item = next;
    }
}

size_t inbox_depth(inbox_t *inbox) {
    pthread_mutex_lock(&inbox->mutex);
    size_t d = inbox->depth;
    pthread_mutex_unlock(&inbox->mutex);
    return d;
}

struct inbox_waiter {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    bool done;
};

inbox_waiter_t *inbox_waiter_new(void) {
    inbox_waiter_t *w = pbft_xcalloc(1, sizeof *w);
    pthread_mutex_init(&w->mutex, NULL);
    pthread_cond_init(&w->cond, NULL);
    return w;
}

void inbox_waiter_free(inbox_waiter_t *w) {
    if (!w) return;
    pthread_mutex_destroy(&w->mutex);
    pthread_cond_destroy(&w->cond);
    free(w);
}

void inbox_waiter_signal(inbox_waiter_t *w) {
    pthread_mutex_lock(&w->mutex);
    w->done = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mutex);
}

void inbox_waiter_wait(inbox_waiter_t *w) {
    pthread_mutex_lock(&w->mutex);
    while (!w->done)
        pthread_cond_wait(&w->cond, &w->mutex);
    pthread_mutex_unlock(&w->mutex);
}
