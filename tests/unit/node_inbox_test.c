/*
 * tests/unit/node_inbox_test.c — the consensus thread's mailbox: closures
 * run in order on drain; the eventfd wakes a poller; after close nothing is
 * stranded (queued closures and later posts run with cancelled = true).
 */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../node/inbox.h"

typedef struct record {
    int order[16];
    int count;
    int cancelled;
} record_t;

typedef struct item {
    record_t *rec;
    int value;
} item_t;

static void note(void *node, void *ctx, bool cancelled) {
    (void)node;
    item_t *it = ctx;
    if (cancelled)
        it->rec->cancelled++;
    else
        it->rec->order[it->rec->count++] = it->value;
}

static bool readable(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1;
}

static void test_drain_runs_posts_in_order_and_clears_the_wakeup(void **state) {
    (void)state;
    inbox_t *inbox = inbox_new();
    record_t rec = {0};
    item_t items[3] = {{&rec, 1}, {&rec, 2}, {&rec, 3}};
    assert_false(readable(inbox_fd(inbox)));
    for (int i = 0; i < 3; i++)
        inbox_post(inbox, note, &items[i]);
    assert_true(readable(inbox_fd(inbox)));
    assert_int_equal(inbox_depth(inbox), 3);
    assert_int_equal(inbox_drain(inbox, NULL), 3);
    assert_int_equal(rec.count, 3);
    assert_int_equal(rec.order[0], 1);
    assert_int_equal(rec.order[2], 3);
    assert_false(readable(inbox_fd(inbox)));
    inbox_close(inbox, NULL);
    inbox_free(inbox);
}

static void test_close_cancels_queued_and_later_posts(void **state) {
    (void)state;
    inbox_t *inbox = inbox_new();
    record_t rec = {0};
    item_t a = {&rec, 1}, b = {&rec, 2};
    inbox_post(inbox, note, &a);
    inbox_close(inbox, NULL);
    assert_int_equal(rec.cancelled, 1);
    inbox_post(inbox, note, &b); /* runs at once, cancelled */
    assert_int_equal(rec.cancelled, 2);
    assert_int_equal(rec.count, 0);
    assert_int_equal(inbox_drain(inbox, NULL), 0);
    inbox_free(inbox);
}

typedef struct waiter_ctx {
    inbox_waiter_t *w;
    int done;
} waiter_ctx_t;

static void *signal_later(void *arg) {
    waiter_ctx_t *c = arg;
    c->done = 1;
    inbox_waiter_signal(c->w);
    return NULL;
}

static void test_waiter_returns_after_signal_from_another_thread(void **state) {
    (void)state;
    waiter_ctx_t c = {.w = inbox_waiter_new(), .done = 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, signal_later, &c), 0);
    inbox_waiter_wait(c.w);
    assert_int_equal(c.done, 1);
    pthread_join(t, NULL);
    inbox_waiter_free(c.w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drain_runs_posts_in_order_and_clears_the_wakeup),
        cmocka_unit_test(test_close_cancels_queued_and_later_posts),
        cmocka_unit_test(test_waiter_returns_after_signal_from_another_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
