/*
 * tests/sim/checker.c — the safety checkers.
 *
 * Every time an honest replica makes a block durable the checker asserts:
 *  - chain integrity: heights are contiguous, prev_hash links to the
 *    replica's previous block, the Merkle root matches the txs;
 *  - the commit certificate is a valid 2f+1 certificate for that block
 *    (the same cert_check_commit_with the verifier uses, with fake sigs);
 *  - agreement: no two honest replicas commit different block hashes at one
 *    height;
 *  - identical state: the same state hash after every height (so in
 *    particular at every checkpoint height);
 *  - validity: every tx carries a client's valid signature, and each tx id is
 *    committed at most once in the chain.
 * Stable checkpoint certificates are checked against the same records.
 */
#include <string.h>

#include "pbft/codec.h"
#include "pbft/crypto.h"
#include "sim_cluster.h"

void sim_checker_init(sim_checker_t *k) {
    memset(k, 0, sizeof(*k));
    k->tx_capacity = 1u << 14;
    k->txs = pbft_xcalloc(k->tx_capacity, sizeof(*k->txs));
}

void sim_checker_free(sim_checker_t *k) {
    free(k->heights);
    free(k->txs);
    memset(k, 0, sizeof(*k));
}

static void hex8(const uint8_t *h, char out[17]) {
    crypto_hex_encode(h, 8, out);
}

pbft_status_t sim_cert_verify(void *ctx, const pbft_validator_set_t *validators, uint16_t replica,
                              const uint8_t digest[PBFT_HASH_SIZE],
                              const uint8_t sig[PBFT_SIGNATURE_SIZE]) {
    (void)ctx;
    if (replica >= validators->count) return PBFT_ERR_UNKNOWN_REPLICA;
    return sim_fake_verify(replica, digest, sig) ? PBFT_OK : PBFT_ERR_BAD_SIGNATURE;
}

static sim_height_rec_t *height_rec(sim_checker_t *k, uint64_t height) {
    PBFT_ASSERT(height < SIM_HEIGHT_MAX);
    if (height >= k->height_capacity) {
        size_t cap = k->height_capacity ? k->height_capacity : 256;
        while (cap <= height)
            cap *= 2;
        k->heights = pbft_xrealloc(k->heights, cap * sizeof(*k->heights));
        memset(k->heights + k->height_capacity, 0,
               (cap - k->height_capacity) * sizeof(*k->heights));
        k->height_capacity = cap;
    }
    return &k->heights[height];
}

static size_t tx_slot_index(const sim_checker_t *k, const uint8_t id[PBFT_HASH_SIZE]) {
    uint64_t h;
    memcpy(&h, id, sizeof(h));
    size_t i = (size_t)(h & (k->tx_capacity - 1));
    while (k->txs[i].used && memcmp(k->txs[i].id, id, PBFT_HASH_SIZE) != 0)
        i = (i + 1) & (k->tx_capacity - 1);
    return i;
}

static void tx_map_grow(sim_checker_t *k) {
    sim_tx_slot_t *old = k->txs;
    size_t old_cap = k->tx_capacity;
    k->tx_capacity *= 2;
    k->txs = pbft_xcalloc(k->tx_capacity, sizeof(*k->txs));
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].used) k->txs[tx_slot_index(k, old[i].id)] = old[i];
    free(old);
}

uint64_t sim_checker_tx_height(const sim_checker_t *k, const uint8_t id[PBFT_HASH_SIZE]) {
    const sim_tx_slot_t *slot = &k->txs[tx_slot_index(k, id)];
    return slot->used ? slot->height : 0;
}

/* Validity of one tx at `height`: signed by a client, committed once. */
static void check_tx(sim_cluster_t *c, uint16_t r, uint64_t height, uint32_t index,
                     const pbft_tx_t *tx, const uint8_t id[PBFT_HASH_SIZE]) {
    sim_checker_t *k = &c->checker;
    char idh[17];
    hex8(id, idh);
    if (!sim_tx_valid(tx, c->genesis.chain_id)) {
        sim_fail(c,
                 "validity: replica %u committed tx %s (height %llu index %u) without a valid "
                 "client signature",
                 r, idh, (unsigned long long)height, index);
        return;
    }
    if (k->tx_count * 2 >= k->tx_capacity) tx_map_grow(k);
    sim_tx_slot_t *slot = &k->txs[tx_slot_index(k, id)];
    if (!slot->used) {
        slot->used = true;
        memcpy(slot->id, id, PBFT_HASH_SIZE);
        slot->height = height;
        k->tx_count++;
        sim_clients_on_tx_committed(c, id);
    } else if (slot->height != height) {
        sim_fail(c,
                 "validity: replica %u committed tx %s at height %llu, already committed at "
                 "height %llu",
                 r, idh, (unsigned long long)height, (unsigned long long)slot->height);
    }
}

static void check_block_txs(sim_cluster_t *c, uint16_t r, const pbft_block_t *block) {
    uint32_t count = block->header.tx_count;
    uint8_t(*ids)[PBFT_HASH_SIZE] = pbft_xmalloc((count ? count : 1) * sizeof(*ids));
    uint8_t root[PBFT_HASH_SIZE];
    codec_block_tx_root(block, ids, root);
    if (memcmp(root, block->header.tx_root, PBFT_HASH_SIZE) != 0)
        sim_fail(c,
                 "integrity: replica %u committed height %llu whose tx_root does not match its "
                 "txs",
                 r, (unsigned long long)block->header.height);
    for (uint32_t i = 0; i < count && !c->failed; i++) {
        for (uint32_t j = 0; j < i; j++)
            if (memcmp(ids[i], ids[j], PBFT_HASH_SIZE) == 0)
                sim_fail(c, "validity: replica %u committed height %llu with tx %u twice", r,
                         (unsigned long long)block->header.height, i);
        check_tx(c, r, block->header.height, i, &block->txs[i], ids[i]);
    }
    free(ids);
}

static void check_cert(sim_cluster_t *c, uint16_t r, uint64_t height,
                       const pbft_commit_cert_t *cert, const uint8_t block_hash[PBFT_HASH_SIZE]) {
    size_t bad = 0;
    pbft_status_t st = cert_check_commit_with(&c->genesis.validators, c->genesis.chain_id, cert,
                                              sim_cert_verify, NULL, &bad);
    if (st != PBFT_OK)
        sim_fail(c,
                 "certificate: replica %u delivered height %llu with a bad commit certificate "
                 "(%s, %u signatures, entry %lld)",
                 r, (unsigned long long)height, pbft_status_name(st), cert->count,
                 bad < cert->count ? (long long)bad : -1ll);
    else if (cert->seq != height || memcmp(cert->block_hash, block_hash, PBFT_HASH_SIZE) != 0)
        sim_fail(c,
                 "certificate: replica %u delivered height %llu with a certificate for seq "
                 "%llu / another block",
                 r, (unsigned long long)height, (unsigned long long)cert->seq);
}

void sim_check_commit(sim_cluster_t *c, uint16_t r, const pbft_block_t *block,
                      const pbft_commit_cert_t *cert, const uint8_t block_hash[PBFT_HASH_SIZE],
                      const uint8_t state_hash[PBFT_HASH_SIZE]) {
    const sim_replica_t *rep = &c->replicas[r];
    uint64_t height = block->header.height;
    char a[17], b[17];
    if (height != rep->height + 1) {
        sim_fail(c, "integrity: replica %u delivered height %llu after %llu", r,
                 (unsigned long long)height, (unsigned long long)rep->height);
        return;
    }
    if (memcmp(block->header.prev_hash, rep->tip_hash, PBFT_HASH_SIZE) != 0)
        sim_fail(c, "integrity: replica %u delivered height %llu whose prev_hash does not link", r,
                 (unsigned long long)height);
    if (!c->options.no_cert_check) check_cert(c, r, height, cert, block_hash);
    if (!sim_is_honest(c, r)) return; /* a Byzantine replica's chain proves nothing */
    sim_height_rec_t *rec = height_rec(&c->checker, height);
    if (!rec->set) {
        rec->set = true;
        rec->replica = r;
        memcpy(rec->block_hash, block_hash, PBFT_HASH_SIZE);
        memcpy(rec->state_hash, state_hash, PBFT_HASH_SIZE);
        if (height > c->checker.max_height) c->checker.max_height = height;
        /* A stable checkpoint that arrived (by state transfer) before any
         * honest replica committed its height is compared now. */
        for (uint16_t o = 0; o < c->replica_count; o++) {
            const sim_disk_t *d = &c->replicas[o].disk;
            if (sim_is_honest(c, o) && d->has_checkpoint && d->checkpoint.height == height &&
                (memcmp(d->checkpoint.block_hash, block_hash, PBFT_HASH_SIZE) != 0 ||
                 memcmp(d->checkpoint.state_hash, state_hash, PBFT_HASH_SIZE) != 0))
                sim_fail(c,
                         "checkpoint: replica %u's stable checkpoint at %llu disagrees with the "
                         "block/state replica %u committed there",
                         o, (unsigned long long)height, r);
        }
    } else if (memcmp(rec->block_hash, block_hash, PBFT_HASH_SIZE) != 0) {
        hex8(rec->block_hash, a);
        hex8(block_hash, b);
        sim_fail(c, "agreement: at height %llu replica %u committed %s but replica %u committed %s",
                 (unsigned long long)height, rec->replica, a, r, b);
        return;
    } else if (memcmp(rec->state_hash, state_hash, PBFT_HASH_SIZE) != 0) {
        hex8(rec->state_hash, a);
        hex8(state_hash, b);
        sim_fail(c, "state: at height %llu replica %u has state %s but replica %u has %s",
                 (unsigned long long)height, rec->replica, a, r, b);
        return;
    }
    check_block_txs(c, r, block);
}

void sim_check_checkpoint(sim_cluster_t *c, uint16_t r, const pbft_checkpoint_cert_t *cert) {
    size_t bad = 0;
    pbft_status_t st = PBFT_OK;
    if (!c->options.no_cert_check)
        st = cert_check_checkpoint_with(&c->genesis.validators, c->genesis.chain_id, cert,
                                        sim_cert_verify, NULL, &bad);
    if (st != PBFT_OK) {
        sim_fail(c, "checkpoint: replica %u stored a bad checkpoint certificate at %llu (%s)", r,
                 (unsigned long long)cert->height, pbft_status_name(st));
        return;
    }
    if (!sim_is_honest(c, r)) return;
    const sim_height_rec_t *rec =
        cert->height < c->checker.height_capacity ? &c->checker.heights[cert->height] : NULL;
    if (cert->height == 0 || rec == NULL || !rec->set)
        return; /* not yet seen: nothing to compare */
    if (memcmp(rec->block_hash, cert->block_hash, PBFT_HASH_SIZE) != 0 ||
        memcmp(rec->state_hash, cert->state_hash, PBFT_HASH_SIZE) != 0)
        sim_fail(c,
                 "checkpoint: replica %u's stable checkpoint at %llu disagrees with the "
                 "committed block/state",
                 r, (unsigned long long)cert->height);
}
