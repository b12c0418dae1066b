/*
 * node/inbox.h — the consensus thread's mailbox: any thread posts a closure,
 * the consensus thread runs it. An eventfd wakes the consensus thread's
 * poll(2). After inbox_close, posting runs the closure at once with
 * cancelled = true (on the poster's thread), so a waiter is never stranded
 * during shutdown.
 */
#ifndef NODE_INBOX_H
#define NODE_INBOX_H

#include "pbft/common.h"

/* Runs on the consensus thread (cancelled false) or, after close, on the
 * poster's thread or the closer's thread (cancelled true). Must free ctx if
 * it owns it. */
typedef void (*inbox_fn)(void *node, void *ctx, bool cancelled);

typedef struct inbox inbox_t;

inbox_t *inbox_new(void);
void inbox_free(inbox_t *inbox); /* precondition: closed */
int inbox_fd(const inbox_t *inbox);
/* Queues fn(node, ctx). Thread-safe. */
void inbox_post(inbox_t *inbox, inbox_fn fn, void *ctx);
/* Runs everything queued now (consensus thread). Returns how many ran. */
size_t inbox_drain(inbox_t *inbox, void *node);
/* Refuses further posts and cancels what is queued. */
void inbox_close(inbox_t *inbox, void *node);
size_t inbox_depth(inbox_t *inbox);

/* A one-shot completion for callers that wait on the consensus thread. */
typedef struct inbox_waiter inbox_waiter_t;
inbox_waiter_t *inbox_waiter_new(void);
void inbox_waiter_free(inbox_waiter_t *w);
void inbox_waiter_signal(inbox_waiter_t *w);
void inbox_waiter_wait(inbox_waiter_t *w);

#endif /* NODE_INBOX_H */
