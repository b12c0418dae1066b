/*
 * tests/sim/votes.c — the no-equivocation checker.
 *
 * An honest replica must never sign two different block hashes for the same
 * (phase, view, seq) — not even across a crash and restart, which is what
 * its durable safety state is for (DESIGN.md "Durability"). Every
 * PRE-PREPARE, PREPARE and COMMIT an honest replica hands to the network is
 * recorded here by (replica, type, view, seq) -> hash; a second, different
 * hash is a failure. This catches a vote that was sent before (or without)
 * being persisted directly, without waiting for it to cause a fork.
 */
#include <string.h>

#include "pbft/crypto.h"
#include "pbft/messages.h"
#include "sim_cluster.h"

typedef struct vote_slot {
    bool used;
    uint8_t type;
    uint16_t replica;
    uint64_t view, seq;
    uint8_t hash[PBFT_HASH_SIZE];
} vote_slot_t;

struct sim_votes {
    vote_slot_t *slots;
    size_t capacity; /* power of two */
    size_t count;
};

sim_votes_t *sim_votes_new(void) {
    sim_votes_t *v = pbft_xcalloc(1, sizeof(*v));
    v->capacity = 1u << 12;
    v->slots = pbft_xcalloc(v->capacity, sizeof(*v->slots));
    return v;
}

void sim_votes_free(sim_votes_t *v) {
    if (!v) return;
    free(v->slots);
    free(v);
}

static size_t slot_of(const sim_votes_t *v, uint8_t type, uint16_t replica, uint64_t view,
                      uint64_t seq) {
    uint64_t h = seq * 0x9e3779b97f4a7c15ull ^ view * 0xbf58476d1ce4e5b9ull ^
                 ((uint64_t)replica << 8 | type) * 0x94d049bb133111ebull;
    size_t i = (size_t)(h ^ (h >> 29)) & (v->capacity - 1);
    for (;;) {
        const vote_slot_t *s = &v->slots[i];
        if (!s->used ||
            (s->type == type && s->replica == replica && s->view == view && s->seq == seq))
            return i;
        i = (i + 1) & (v->capacity - 1);
    }
}

static void grow(sim_votes_t *v) {
    vote_slot_t *old = v->slots;
    size_t old_capacity = v->capacity;
    v->capacity *= 2;
    v->slots = pbft_xcalloc(v->capacity, sizeof(*v->slots));
    for (size_t i = 0; i < old_capacity; i++)
        if (old[i].used)
            v->slots[slot_of(v, old[i].type, old[i].replica, old[i].view, old[i].seq)] = old[i];
    free(old);
}

static uint64_t read_u64(const uint8_t *p) {
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = (x << 8) | p[i];
    return x;
}

/* Extracts (view, seq, hash) of a vote frame; false for anything else. */
static bool parse_vote(const uint8_t *bytes, size_t size, uint8_t *type, uint64_t *view,
                       uint64_t *seq, uint8_t hash[PBFT_HASH_SIZE]) {
    int kind = sim_msg_kind(bytes, size);
    const size_t body = MSG_HEADER_SIZE;
    if (kind == MSG_PREPARE || kind == MSG_COMMIT) {
        if (size < body + 16 + PBFT_HASH_SIZE) return false;
        memcpy(hash, bytes + body + 16, PBFT_HASH_SIZE);
    } else if (kind == MSG_PRE_PREPARE) {
        if (size < body + 16 + PBFT_BLOCK_HEADER_SIZE) return false;
        crypto_sha256(bytes + body + 16, PBFT_BLOCK_HEADER_SIZE, hash); /* header hash */
    } else {
        return false;
    }
    *type = (uint8_t)kind;
    *view = read_u64(bytes + body);
    *seq = read_u64(bytes + body + 8);
    return true;
}

void sim_votes_record(sim_cluster_t *c, uint16_t r, const uint8_t *bytes, size_t size) {
    uint8_t type, hash[PBFT_HASH_SIZE];
    uint64_t view, seq;
    if (!sim_is_honest(c, r) || !parse_vote(bytes, size, &type, &view, &seq, hash)) return;
    sim_votes_t *v = c->votes;
    if (v->count * 2 >= v->capacity) grow(v);
    vote_slot_t *s = &v->slots[slot_of(v, type, r, view, seq)];
    if (!s->used) {
        *s = (vote_slot_t){.used = true, .type = type, .replica = r, .view = view, .seq = seq};
        memcpy(s->hash, hash, PBFT_HASH_SIZE);
        v->count++;
        return;
    }
    if (memcmp(s->hash, hash, PBFT_HASH_SIZE) == 0) return;
    char a[17], b[17];
    crypto_hex_encode(s->hash, 8, a);
    crypto_hex_encode(hash, 8, b);
    sim_fail(c,
             "equivocation: honest replica %u signed %s for view %llu seq %llu with hash %s and "
             "later %s (crashes so far: %llu)",
             r, msg_type_name(type), (unsigned long long)view, (unsigned long long)seq, a, b,
             (unsigned long long)c->replicas[r].crashes);
}
