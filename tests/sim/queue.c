/*
 * tests/sim/queue.c — the event queue: a binary min-heap ordered by
 * (time_ms, order). `order` is a counter assigned at insertion, so two events
 * due at the same millisecond always run in the order they were scheduled and
 * a run depends on nothing but the seed.
 */
#include <string.h>

#include "sim.h"

static bool event_before(const sim_event_t *a, const sim_event_t *b) {
    if (a->time_ms != b->time_ms) return a->time_ms < b->time_ms;
    return a->order < b->order;
}

void sim_queue_init(sim_queue_t *q) {
    memset(q, 0, sizeof(*q));
}

void sim_queue_free(sim_queue_t *q) {
    for (size_t i = 0; i < q->count; i++)
        free(q->heap[i].bytes);
    free(q->heap);
    memset(q, 0, sizeof(*q));
}

static void swap_events(sim_event_t *a, sim_event_t *b) {
    sim_event_t t = *a;
    *a = *b;
    *b = t;
}

/* Takes ownership of ev->bytes. */
void sim_queue_push(sim_queue_t *q, sim_event_t *ev) {
    PBFT_ASSERT(q->count < SIM_QUEUE_EVENTS_MAX);
    if (q->count == q->capacity) {
        q->capacity = q->capacity ? q->capacity * 2 : 1024;
        q->heap = pbft_xrealloc(q->heap, q->capacity * sizeof(*q->heap));
    }
    ev->order = q->next_order++;
    size_t i = q->count++;
    q->heap[i] = *ev;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!event_before(&q->heap[i], &q->heap[parent])) break;
        swap_events(&q->heap[i], &q->heap[parent]);
        i = parent;
    }
}

bool sim_queue_pop(sim_queue_t *q, sim_event_t *out) {
    if (q->count == 0) return false;
    *out = q->heap[0];
    q->heap[0] = q->heap[--q->count];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->count && event_before(&q->heap[l], &q->heap[m])) m = l;
        if (r < q->count && event_before(&q->heap[r], &q->heap[m])) m = r;
        if (m == i) break;
        swap_events(&q->heap[i], &q->heap[m]);
        i = m;
    }
    return true;
}

uint64_t sim_queue_peek_time(const sim_queue_t *q) {
    return q->count ? q->heap[0].time_ms : UINT64_MAX;
}
