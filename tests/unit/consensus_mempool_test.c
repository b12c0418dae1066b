/*
 * tests/unit/consensus_mempool_test.c — the pool's list of entries not
 * proposed (what the primary cuts its next block from) stays the pool's
 * arrival order without the proposed ones, through every operation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../consensus/replica_internal.h"

static void make_id(uint32_t n, uint8_t id[PBFT_HASH_SIZE]) {
    memset(id, 0, PBFT_HASH_SIZE);
    /* spread over the index like SHA-256 outputs would be */
    uint32_t h = n * 2654435761u;
    memcpy(id, &h, sizeof h);
    memcpy(id + 4, &n, sizeof n);
}

static void add(mempool_t *m, uint32_t n) {
    pbft_tx_t tx;
    memset(&tx, 0, sizeof tx);
    tx.nonce = n;
    uint8_t id[PBFT_HASH_SIZE];
    make_id(n, id);
    assert_int_equal(mempool_add(m, &tx, id, 0), PBFT_OK);
}

static bool mark(mempool_t *m, uint32_t n, bool proposed) {
    uint8_t id[PBFT_HASH_SIZE];
    make_id(n, id);
    return mempool_set_proposed(m, id, proposed);
}

/* The unproposed list equals the arrival list filtered by !proposed, both
 * ways, and its length is pool.unproposed. */
static void check_lists(const mempool_t *m) {
    uint32_t expect = mempool_next(m, MEMPOOL_NIL), prev = MEMPOOL_NIL, count = 0;
    for (uint32_t e = mempool_next_unproposed(m, MEMPOOL_NIL); e != MEMPOOL_NIL;
         e = mempool_next_unproposed(m, e)) {
        while (expect != MEMPOOL_NIL && m->entries[expect].proposed)
            expect = mempool_next(m, expect);
        assert_int_equal(e, expect);
        assert_false(m->entries[e].proposed);
        assert_int_equal(m->entries[e].link[MEMPOOL_UNPROPOSED].prev, prev);
        prev = e;
        expect = mempool_next(m, expect);
        count++;
    }
    while (expect != MEMPOOL_NIL && m->entries[expect].proposed)
        expect = mempool_next(m, expect);
    assert_int_equal(expect, MEMPOOL_NIL);
    assert_int_equal(m->tail[MEMPOOL_UNPROPOSED], prev);
    assert_int_equal(count, m->unproposed);
    const mempool_entry_t *oldest = mempool_oldest_unproposed(m);
    if (count == 0)
        assert_null(oldest);
    else
        assert_ptr_equal(oldest, &m->entries[mempool_next_unproposed(m, MEMPOOL_NIL)]);
}

/* The nonces (= the numbers added) of the entries not proposed, in order. */
static void check_order(const mempool_t *m, const uint32_t *want, uint32_t count) {
    check_lists(m);
    uint32_t i = 0;
    for (uint32_t e = mempool_next_unproposed(m, MEMPOOL_NIL); e != MEMPOOL_NIL;
         e = mempool_next_unproposed(m, e), i++) {
        assert_true(i < count);
        assert_int_equal(m->entries[e].tx.nonce, want[i]);
    }
    assert_int_equal(i, count);
}

static void test_unproposed_list_follows_marks_and_removals(void **state) {
    (void)state;
    mempool_t m;
    mempool_init(&m, 100);
    for (uint32_t n = 1; n <= 6; n++)
        add(&m, n);
    check_order(&m, (uint32_t[]){1, 2, 3, 4, 5, 6}, 6);

    uint64_t epoch = m.unmark_epoch;
    assert_true(mark(&m, 1, true));
    assert_true(mark(&m, 2, true));
    assert_true(mark(&m, 4, true));
    assert_true(mark(&m, 4, true)); /* again: no change */
    assert_false(mark(&m, 99, true));
    assert_int_equal(m.unmark_epoch, epoch); /* marking loses no mark */
    check_order(&m, (uint32_t[]){3, 5, 6}, 3);

    /* Unmarked, 2 goes back between 1 and 3 (arrival order). */
    assert_true(mark(&m, 2, false));
    assert_int_not_equal(m.unmark_epoch, epoch);
    check_order(&m, (uint32_t[]){2, 3, 5, 6}, 4);

    uint8_t id[PBFT_HASH_SIZE];
    make_id(3, id);
    mempool_commit(&m, id);
    make_id(6, id);
    mempool_remove(&m, id);
    make_id(1, id);
    mempool_commit(&m, id); /* proposed: only the arrival list changes */
    check_order(&m, (uint32_t[]){2, 5}, 2);
    add(&m, 7);
    check_order(&m, (uint32_t[]){2, 5, 7}, 3);

    epoch = m.unmark_epoch;
    mempool_clear_proposed(&m);
    assert_int_not_equal(m.unmark_epoch, epoch);
    check_order(&m, (uint32_t[]){2, 4, 5, 7}, 4);
    mempool_destroy(&m);
}

/* Random adds, marks, unmarks, commits and clears, past the pool's growth
 * steps: the lists agree after every one. */
static void test_unproposed_list_survives_random_operations(void **state) {
    (void)state;
    mempool_t m;
    mempool_init(&m, 400);
    srand(7);
    uint32_t next = 1;
    for (int step = 0; step < 20000; step++) {
        int op = rand() % 100;
        uint32_t n = 1 + (uint32_t)rand() % next; /* added already, or next: not yet */
        if (n == next && op >= 85) continue;      /* a committed id could not be added */
        if (op < 40 && m.count < m.limit) {
            add(&m, next++);
        } else if (op < 70) {
            (void)mark(&m, n, true);
        } else if (op < 85) {
            (void)mark(&m, n, false);
        } else if (op < 99) {
            uint8_t id[PBFT_HASH_SIZE];
            make_id(n, id);
            mempool_commit(&m, id);
        } else {
            mempool_clear_proposed(&m);
        }
        check_lists(&m);
    }
    assert_true(next > 1000); /* the pool grew and turned over */
    mempool_destroy(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unproposed_list_follows_marks_and_removals),
        cmocka_unit_test(test_unproposed_list_survives_random_operations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
