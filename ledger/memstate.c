/*
 * ledger/memstate.c — the in-memory account map: open addressing with linear
 * probing, grown at 50% load, seeded from genesis. Used by the simulator,
 * the verifier's replay and tests, where the whole state fits in memory.
 *
 * Addresses reaching the map come from clients (any 20 bytes), so the slot
 * hash is keyed with a per-map random seed: a crafted set of addresses cannot
 * be made to collide. The seed affects only slot order, never a result.
 */
#include <string.h>
#include <sys/random.h>

#include "pbft/ledger.h"

#define MEMSTATE_CAPACITY_MIN 64

typedef struct memstate_slot {
    bool used;
    pbft_account_t account;
} memstate_slot_t;

struct ledger_memstate {
    memstate_slot_t *slots;
    size_t capacity; /* power of two */
    size_t count;
    uint64_t seed;
};

static uint64_t slot_hash(const ledger_memstate_t *m, const uint8_t address[PBFT_ADDRESS_SIZE]) {
    uint64_t h = m->seed ^ 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < PBFT_ADDRESS_SIZE; i++) {
        h ^= address[i];
        h *= 0x100000001b3ull;
        h ^= h >> 32;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

static memstate_slot_t *find_slot(const ledger_memstate_t *m,
                                  const uint8_t address[PBFT_ADDRESS_SIZE]) {
    size_t mask = m->capacity - 1;
    size_t i = (size_t)slot_hash(m, address) & mask;
    while (m->slots[i].used && memcmp(m->slots[i].account.address, address, PBFT_ADDRESS_SIZE) != 0)
        i = (i + 1) & mask;
    return &m->slots[i];
}

static void grow(ledger_memstate_t *m) {
    memstate_slot_t *old = m->slots;
    size_t old_capacity = m->capacity;
    m->capacity *= 2;
    m->slots = pbft_xcalloc(m->capacity, sizeof *m->slots);
    for (size_t i = 0; i < old_capacity; i++) {
        if (!old[i].used) continue;
        memstate_slot_t *s = find_slot(m, old[i].account.address);
        PBFT_ASSERT(!s->used);
        *s = old[i];
    }
    free(old);
}

static void put(ledger_memstate_t *m, const pbft_account_t *a) {
    if ((m->count + 1) * 2 > m->capacity) grow(m);
    memstate_slot_t *s = find_slot(m, a->address);
    if (!s->used) {
        s->used = true;
        m->count++;
    }
    s->account = *a;
}

ledger_memstate_t *ledger_memstate_new(const pbft_genesis_t *genesis) {
    PBFT_ASSERT(genesis != NULL);
    ledger_memstate_t *m = pbft_xcalloc(1, sizeof *m);
    m->capacity = MEMSTATE_CAPACITY_MIN;
    while (m->capacity < 2 * (size_t)genesis->account_count + 2)
        m->capacity *= 2;
    m->slots = pbft_xcalloc(m->capacity, sizeof *m->slots);
    if (getrandom(&m->seed, sizeof m->seed, GRND_NONBLOCK) != (ssize_t)sizeof m->seed)
        m->seed = (uint64_t)(uintptr_t)m; /* any value is correct; this one is merely weaker */
    for (uint32_t i = 0; i < genesis->account_count; i++)
        put(m, &genesis->accounts[i]);
    PBFT_ASSERT(m->count == genesis->account_count);
    return m;
}

void ledger_memstate_free(ledger_memstate_t *m) {
    if (!m) return;
    free(m->slots);
    free(m);
}

bool ledger_memstate_get(const ledger_memstate_t *m, const uint8_t address[PBFT_ADDRESS_SIZE],
                         pbft_account_t *out) {
    PBFT_ASSERT(m != NULL && address != NULL && out != NULL);
    const memstate_slot_t *s = find_slot(m, address);
    if (!s->used) {
        memset(out, 0, sizeof *out);
        memcpy(out->address, address, PBFT_ADDRESS_SIZE);
        return false;
    }
    *out = s->account;
    return true;
}

static bool reader_get(void *ctx, const uint8_t address[PBFT_ADDRESS_SIZE], pbft_account_t *out) {
    return ledger_memstate_get(ctx, address, out);
}

ledger_state_reader_t ledger_memstate_reader(ledger_memstate_t *m) {
    ledger_state_reader_t r = {.get = reader_get, .ctx = m};
    return r;
}

void ledger_memstate_apply(ledger_memstate_t *m, const ledger_block_result_t *r) {
    PBFT_ASSERT(m != NULL && r != NULL);
    PBFT_ASSERT(r->changed_count == 0 || r->changed != NULL);
    for (uint32_t i = 0; i < r->changed_count; i++)
        put(m, &r->changed[i]);
}

uint64_t ledger_memstate_total_supply(const ledger_memstate_t *m) {
    PBFT_ASSERT(m != NULL);
    uint64_t total = 0;
    for (size_t i = 0; i < m->capacity; i++) {
        if (!m->slots[i].used) continue;
        /* Genesis caps supply at 2^64-1 and execution conserves it. */
        PBFT_ASSERT(m->slots[i].account.balance <= UINT64_MAX - total);
        total += m->slots[i].account.balance;
    }
    return total;
}

size_t ledger_memstate_count(const ledger_memstate_t *m) {
    PBFT_ASSERT(m != NULL);
    return m->count;
}
