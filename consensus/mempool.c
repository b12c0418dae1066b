/*
 * consensus/mempool.c — the bounded pool of pending transactions.
 *
 * FIFO by arrival (a doubly linked list over an entry array that grows by
 * doubling up to the limit) plus an open-addressing index by tx id (linear
 * probing, backward-shift deletion, so no tombstones). The primary marks the
 * entries it has put in an in-flight block as `proposed` so it never puts a
 * tx in two blocks of its window; they leave the pool when they commit. A
 * second list links the entries not proposed, in the same order, so the
 * primary finds what to propose next without walking past what it has in
 * flight (thousands of txs under load).
 */
#include <string.h>

#include "replica_internal.h"

#define MEMPOOL_CAPACITY_MIN 64u

static uint32_t id_hash(const uint8_t id[PBFT_HASH_SIZE]) {
    uint32_t h;
    memcpy(&h, id, sizeof(h)); /* ids are SHA-256 outputs: already uniform */
    return h;
}

static uint32_t index_find(const mempool_t *m, const uint8_t id[PBFT_HASH_SIZE]) {
    if (m->index == NULL) return MEMPOOL_NIL;
    uint32_t h = id_hash(id);
    for (uint32_t i = h & m->index_mask;; i = (i + 1) & m->index_mask) {
        const mempool_slot_t *slot = &m->index[i];
        if (slot->entry == MEMPOOL_NIL) return MEMPOOL_NIL;
        if (slot->hash == h && memcmp(m->entries[slot->entry].id, id, PBFT_HASH_SIZE) == 0)
            return i;
    }
}

static void slots_insert(mempool_slot_t *index, uint32_t mask, uint32_t entry, uint32_t hash) {
    uint32_t i = hash & mask;
    while (index[i].entry != MEMPOOL_NIL)
        i = (i + 1) & mask;
    index[i] = (mempool_slot_t){.entry = entry, .hash = hash};
}

static void index_insert(mempool_t *m, uint32_t entry) {
    slots_insert(m->index, m->index_mask, entry, id_hash(m->entries[entry].id));
}

/* Backward-shift deletion keeps every probe chain unbroken. */
static void slots_delete(mempool_slot_t *index, uint32_t mask, uint32_t hole) {
    uint32_t i = hole;
    for (;;) {
        i = (i + 1) & mask;
        if (index[i].entry == MEMPOOL_NIL) break;
        uint32_t home = index[i].hash & mask;
        /* Move slot i into the hole if its home is not in (hole, i]. */
        bool between = (hole <= i) ? (home > hole && home <= i) : (home > hole || home <= i);
        if (!between) {
            index[hole] = index[i];
            hole = i;
        }
    }
    index[hole].entry = MEMPOOL_NIL;
}

static void index_delete(mempool_t *m, uint32_t hole) {
    slots_delete(m->index, m->index_mask, hole);
}

static void grow(mempool_t *m) {
    uint32_t capacity = m->capacity ? m->capacity * 2 : MEMPOOL_CAPACITY_MIN;
    if (capacity > m->limit) capacity = m->limit;
    PBFT_ASSERT(capacity > m->capacity);
    m->entries = pbft_xrealloc(m->entries, (size_t)capacity * sizeof(mempool_entry_t));
    for (uint32_t i = m->capacity; i < capacity; i++) {
        m->entries[i].used = false;
        m->entries[i].link[MEMPOOL_ALL].next = (i + 1 < capacity) ? i + 1 : m->free_head;
    }
    m->free_head = m->capacity;
    m->capacity = capacity;
    /* Index at least twice the entries, a power of two. */
    uint32_t slots = 1;
    while (slots < 2 * capacity)
        slots <<= 1;
    free(m->index);
    m->index = pbft_xmalloc((size_t)slots * sizeof(*m->index));
    m->index_mask = slots - 1;
    for (uint32_t i = 0; i < slots; i++)
        m->index[i].entry = MEMPOOL_NIL;
    for (uint32_t e = mempool_next(m, MEMPOOL_NIL); e != MEMPOOL_NIL; e = mempool_next(m, e))
        index_insert(m, e);
}

void mempool_init(mempool_t *m, uint32_t limit) {
    PBFT_ASSERT(limit >= 1 && limit <= PBFT_MEMPOOL_TX_COUNT_MAX);
    memset(m, 0, sizeof(*m));
    m->limit = limit;
    m->free_head = MEMPOOL_NIL;
    for (int l = 0; l < MEMPOOL_LISTS; l++)
        m->head[l] = m->tail[l] = MEMPOOL_NIL;
}

/* List l: e goes after `after` (MEMPOOL_NIL: first). */
static void list_link(mempool_t *m, int l, uint32_t e, uint32_t after) {
    mempool_link_t *k = &m->entries[e].link[l];
    k->prev = after;
    k->next = after == MEMPOOL_NIL ? m->head[l] : m->entries[after].link[l].next;
    if (k->next != MEMPOOL_NIL)
        m->entries[k->next].link[l].prev = e;
    else
        m->tail[l] = e;
    if (after != MEMPOOL_NIL)
        m->entries[after].link[l].next = e;
    else
        m->head[l] = e;
    if (l == MEMPOOL_UNPROPOSED) m->unproposed++;
}

static void list_unlink(mempool_t *m, int l, uint32_t e) {
    const mempool_link_t *k = &m->entries[e].link[l];
    if (k->prev != MEMPOOL_NIL)
        m->entries[k->prev].link[l].next = k->next;
    else
        m->head[l] = k->next;
    if (k->next != MEMPOOL_NIL)
        m->entries[k->next].link[l].prev = k->prev;
    else
        m->tail[l] = k->prev;
    if (l == MEMPOOL_UNPROPOSED) {
        PBFT_ASSERT(m->unproposed > 0);
        m->unproposed--;
    }
}

void mempool_destroy(mempool_t *m) {
    free(m->entries);
    free(m->index);
    free(m->recent);
    free(m->recent_index);
    memset(m, 0, sizeof(*m));
}

/* Closes the buckets that ended by now_ms: each folds its count into the
 * average with weight 1/2 (an empty one halves it). */
static void rate_roll(mempool_t *m, uint64_t now_ms) {
    if (now_ms < m->rate_bucket_start_ms + MEMPOOL_RATE_BUCKET_MS) return;
    uint64_t buckets = (now_ms - m->rate_bucket_start_ms) / MEMPOOL_RATE_BUCKET_MS;
    uint64_t rate = ((uint64_t)m->rate_per_s +
                     (uint64_t)m->rate_bucket_count * (1000u / MEMPOOL_RATE_BUCKET_MS)) /
                    2;
    for (uint64_t i = 1; i < buckets && rate > 0; i++)
        rate /= 2;
    m->rate_per_s = (uint32_t)PBFT_MIN(rate, UINT32_MAX);
    m->rate_bucket_count = 0;
    m->rate_bucket_start_ms = now_ms - (now_ms - m->rate_bucket_start_ms) % MEMPOOL_RATE_BUCKET_MS;
}

/* The average, or the current bucket's rate so far if that is higher (a
 * burst shows within MEMPOOL_RATE_MIN_SPAN_MS, not a bucket later). */
uint32_t mempool_arrival_rate(mempool_t *m, uint64_t now_ms) {
    rate_roll(m, now_ms);
    uint64_t span = now_ms > m->rate_bucket_start_ms ? now_ms - m->rate_bucket_start_ms : 0;
    span = PBFT_MAX(span, MEMPOOL_RATE_MIN_SPAN_MS);
    uint64_t current = (uint64_t)m->rate_bucket_count * 1000u / span;
    return (uint32_t)PBFT_MIN(PBFT_MAX(current, m->rate_per_s), UINT32_MAX);
}

pbft_status_t mempool_add(mempool_t *m, const pbft_tx_t *tx, const uint8_t id[PBFT_HASH_SIZE],
                          uint64_t now_ms) {
    if (index_find(m, id) != MEMPOOL_NIL) return PBFT_ERR_DUPLICATE;
    if (mempool_recently_committed(m, id)) return PBFT_ERR_EXISTS;
    if (m->count >= m->limit) return PBFT_ERR_FULL;
    if (m->free_head == MEMPOOL_NIL) grow(m);
    uint32_t e = m->free_head;
    PBFT_ASSERT(e != MEMPOOL_NIL && !m->entries[e].used);
    m->free_head = m->entries[e].link[MEMPOOL_ALL].next;
    mempool_entry_t *entry = &m->entries[e];
    entry->tx = *tx;
    memcpy(entry->id, id, PBFT_HASH_SIZE);
    entry->arrival_ms = now_ms;
    entry->used = true;
    entry->proposed = false;
    list_link(m, MEMPOOL_ALL, e, m->tail[MEMPOOL_ALL]);
    list_link(m, MEMPOOL_UNPROPOSED, e, m->tail[MEMPOOL_UNPROPOSED]);
    index_insert(m, e);
    m->count++;
    rate_roll(m, now_ms);
    m->rate_bucket_count++;
    return PBFT_OK;
}

bool mempool_contains(const mempool_t *m, const uint8_t id[PBFT_HASH_SIZE]) {
    return index_find(m, id) != MEMPOOL_NIL;
}

const pbft_tx_t *mempool_find(const mempool_t *m, const uint8_t id[PBFT_HASH_SIZE]) {
    uint32_t slot = index_find(m, id);
    return slot == MEMPOOL_NIL ? NULL : &m->entries[m->index[slot].entry].tx;
}

void mempool_remove(mempool_t *m, const uint8_t id[PBFT_HASH_SIZE]) {
    uint32_t slot = index_find(m, id);
    if (slot == MEMPOOL_NIL) return;
    uint32_t e = m->index[slot].entry;
    index_delete(m, slot);
    mempool_entry_t *entry = &m->entries[e];
    PBFT_ASSERT(entry->used && m->count > 0);
    list_unlink(m, MEMPOOL_ALL, e);
    if (!entry->proposed) list_unlink(m, MEMPOOL_UNPROPOSED, e);
    entry->used = false;
    entry->link[MEMPOOL_ALL].next = m->free_head;
    m->free_head = e;
    m->count--;
}

bool mempool_set_proposed(mempool_t *m, const uint8_t id[PBFT_HASH_SIZE], bool proposed) {
    uint32_t slot = index_find(m, id);
    if (slot == MEMPOOL_NIL) return false;
    uint32_t e = m->index[slot].entry;
    mempool_entry_t *entry = &m->entries[e];
    if (entry->proposed == proposed) return true;
    entry->proposed = proposed;
    if (proposed) {
        list_unlink(m, MEMPOOL_UNPROPOSED, e);
    } else {
        /* Back in arrival order: after the nearest older entry not proposed. */
        uint32_t after = entry->link[MEMPOOL_ALL].prev;
        while (after != MEMPOOL_NIL && m->entries[after].proposed)
            after = m->entries[after].link[MEMPOOL_ALL].prev;
        list_link(m, MEMPOOL_UNPROPOSED, e, after);
        m->unmark_epoch++;
    }
    return true;
}

void mempool_clear_proposed(mempool_t *m) {
    m->head[MEMPOOL_UNPROPOSED] = m->tail[MEMPOOL_UNPROPOSED] = MEMPOOL_NIL;
    m->unproposed = 0;
    for (uint32_t e = mempool_next(m, MEMPOOL_NIL); e != MEMPOOL_NIL; e = mempool_next(m, e)) {
        m->entries[e].proposed = false;
        list_link(m, MEMPOOL_UNPROPOSED, e, m->tail[MEMPOOL_UNPROPOSED]);
    }
    m->unmark_epoch++;
}

const mempool_entry_t *mempool_oldest(const mempool_t *m) {
    uint32_t e = m->head[MEMPOOL_ALL];
    return e == MEMPOOL_NIL ? NULL : &m->entries[e];
}

const mempool_entry_t *mempool_oldest_unproposed(const mempool_t *m) {
    uint32_t e = m->head[MEMPOOL_UNPROPOSED];
    return e == MEMPOOL_NIL ? NULL : &m->entries[e];
}

uint32_t mempool_next(const mempool_t *m, uint32_t at) {
    return at == MEMPOOL_NIL ? m->head[MEMPOOL_ALL] : m->entries[at].link[MEMPOOL_ALL].next;
}

uint32_t mempool_next_unproposed(const mempool_t *m, uint32_t at) {
    return at == MEMPOOL_NIL ? m->head[MEMPOOL_UNPROPOSED]
                             : m->entries[at].link[MEMPOOL_UNPROPOSED].next;
}

/* ------------------------------------------------------------------------ */
/* Recently committed ids (linear probing over ring positions).              */

#define RECENT_INDEX_SIZE (2 * MEMPOOL_RECENT_COMMITTED_MAX)
#define RECENT_INDEX_MASK (RECENT_INDEX_SIZE - 1)

static uint32_t recent_find(const mempool_t *m, const uint8_t id[PBFT_HASH_SIZE]) {
    if (m->recent == NULL) return MEMPOOL_NIL;
    uint32_t h = id_hash(id);
    for (uint32_t i = h & RECENT_INDEX_MASK;; i = (i + 1) & RECENT_INDEX_MASK) {
        const mempool_slot_t *slot = &m->recent_index[i];
        if (slot->entry == MEMPOOL_NIL) return MEMPOOL_NIL;
        if (slot->hash == h && memcmp(m->recent[slot->entry], id, PBFT_HASH_SIZE) == 0) return i;
    }
}

bool mempool_recently_committed(const mempool_t *m, const uint8_t id[PBFT_HASH_SIZE]) {
    return recent_find(m, id) != MEMPOOL_NIL;
}

void mempool_commit(mempool_t *m, const uint8_t id[PBFT_HASH_SIZE]) {
    mempool_remove(m, id);
    if (m->recent == NULL) {
        m->recent = pbft_xcalloc(MEMPOOL_RECENT_COMMITTED_MAX, PBFT_HASH_SIZE);
        m->recent_index = pbft_xmalloc(RECENT_INDEX_SIZE * sizeof(*m->recent_index));
        for (uint32_t i = 0; i < RECENT_INDEX_SIZE; i++)
            m->recent_index[i].entry = MEMPOOL_NIL;
    }
    if (recent_find(m, id) != MEMPOOL_NIL) return;
    uint32_t pos = m->recent_next;
    if (m->recent_count == MEMPOOL_RECENT_COMMITTED_MAX) {
        uint32_t old = recent_find(m, m->recent[pos]); /* evict the oldest */
        PBFT_ASSERT(old != MEMPOOL_NIL);
        slots_delete(m->recent_index, RECENT_INDEX_MASK, old);
    } else {
        m->recent_count++;
    }
    memcpy(m->recent[pos], id, PBFT_HASH_SIZE);
    slots_insert(m->recent_index, RECENT_INDEX_MASK, pos, id_hash(id));
    m->recent_next = (pos + 1) & (MEMPOOL_RECENT_COMMITTED_MAX - 1);
    PBFT_ASSERT(m->recent_count <= MEMPOOL_RECENT_COMMITTED_MAX);
}
