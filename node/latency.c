/*
 * node/latency.c — admission times of the txs this replica accepted, so the
 * storage thread can observe admission -> commit latency. A chained hash
 * table under one mutex, bounded by LATENCY_TRACK_MAX; when full, entries
 * older than LATENCY_STALE_US are swept (txs that never committed), and if
 * that frees nothing the new tx is simply not tracked.
 */
#include <pthread.h>
#include <string.h>

#include "internal.h"

#define LATENCY_BUCKETS (1u << 17)

typedef struct latency_entry {
    struct latency_entry *next;
    uint8_t id[PBFT_HASH_SIZE];
    uint64_t admit_us;
} latency_entry_t;

struct latency_table {
    pthread_mutex_t mutex;
    latency_entry_t **buckets;
    size_t count;
};

latency_table_t *latency_new(void) {
    latency_table_t *t = pbft_xcalloc(1, sizeof *t);
    pthread_mutex_init(&t->mutex, NULL);
    t->buckets = pbft_xcalloc(LATENCY_BUCKETS, sizeof(latency_entry_t *));
    return t;
}

void latency_free(latency_table_t *t) {
    if (!t) return;
    for (size_t b = 0; b < LATENCY_BUCKETS; b++) {
        for (latency_entry_t *e = t->buckets[b]; e;) {
            latency_entry_t *next = e->next;
            free(e);
            e = next;
        }
    }
    free(t->buckets);
    pthread_mutex_destroy(&t->mutex);
    free(t);
}

static size_t bucket_of(const uint8_t id[PBFT_HASH_SIZE]) {
    uint32_t v;
    memcpy(&v, id, sizeof v); /* ids are SHA-256 outputs: uniformly spread */
    return v % LATENCY_BUCKETS;
}

static void sweep_stale(latency_table_t *t, uint64_t now_us) {
    for (size_t b = 0; b < LATENCY_BUCKETS; b++) {
        latency_entry_t **link = &t->buckets[b];
        while (*link) {
            latency_entry_t *e = *link;
            if (now_us - e->admit_us > LATENCY_STALE_US) {
                *link = e->next;
                free(e);
                t->count--;
            } else {
                link = &e->next;
            }
        }
    }
}

void latency_admit(latency_table_t *t, const uint8_t id[PBFT_HASH_SIZE], uint64_t now_us) {
    size_t b = bucket_of(id);
    pthread_mutex_lock(&t->mutex);
    for (latency_entry_t *e = t->buckets[b]; e; e = e->next) {
        if (memcmp(e->id, id, PBFT_HASH_SIZE) == 0) {
            pthread_mutex_unlock(&t->mutex);
            return;
        }
    }
    if (t->count >= LATENCY_TRACK_MAX) sweep_stale(t, now_us);
    if (t->count < LATENCY_TRACK_MAX) {
        latency_entry_t *e = pbft_xmalloc(sizeof *e);
        memcpy(e->id, id, PBFT_HASH_SIZE);
        e->admit_us = now_us;
        e->next = t->buckets[b];
        t->buckets[b] = e;
        t->count++;
    }
    pthread_mutex_unlock(&t->mutex);
}

bool latency_take(latency_table_t *t, const uint8_t id[PBFT_HASH_SIZE], uint64_t *admit_us) {
    size_t b = bucket_of(id);
    bool found = false;
    pthread_mutex_lock(&t->mutex);
    for (latency_entry_t **link = &t->buckets[b]; *link; link = &(*link)->next) {
        latency_entry_t *e = *link;
        if (memcmp(e->id, id, PBFT_HASH_SIZE) == 0) {
            *admit_us = e->admit_us;
            *link = e->next;
            free(e);
            t->count--;
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&t->mutex);
    return found;
}
