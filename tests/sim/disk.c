/*
 * tests/sim/disk.c — each replica's simulated disk and execution.
 *
 * A real replica's store makes a committed block, its certificate and its
 * effects durable in one synced write batch; here `sim_deliver_block` does
 * the same at deliver time: it executes the block against the replica's
 * in-memory account state, appends it to the on-disk chain, runs the safety
 * checkers, and later (after a simulated storage delay) tells the replica the
 * height was executed. The safety blobs and the stable checkpoint also live
 * here and are all that survives a crash, together with the chain.
 */
#include <string.h>

#include "pbft/codec.h"
#include "sim_cluster.h"

void sim_disk_put_safety(sim_disk_t *d, const char *key, const uint8_t *bytes, size_t size) {
    PBFT_ASSERT(strlen(key) < SIM_SAFETY_KEY_SIZE_MAX);
    sim_safety_blob_t *blob = NULL;
    for (size_t i = 0; i < d->safety_count && !blob; i++)
        if (strcmp(d->safety[i].key, key) == 0) blob = &d->safety[i];
    if (!blob) {
        PBFT_ASSERT(d->safety_count < SIM_SAFETY_KEYS_MAX);
        blob = &d->safety[d->safety_count++];
        snprintf(blob->key, sizeof(blob->key), "%s", key);
    }
    free(blob->bytes);
    blob->bytes = pbft_xmalloc(size);
    if (size) memcpy(blob->bytes, bytes, size);
    blob->size = size;
}

const sim_safety_blob_t *sim_disk_get_safety(const sim_disk_t *d, const char *key) {
    for (size_t i = 0; i < d->safety_count; i++)
        if (strcmp(d->safety[i].key, key) == 0) return &d->safety[i];
    return NULL;
}

static const uint8_t tx_index_empty[PBFT_HASH_SIZE]; /* ids are never all zero */

static size_t tx_index_slot(const sim_disk_t *d, const uint8_t id[PBFT_HASH_SIZE]) {
    uint64_t h;
    memcpy(&h, id, sizeof(h));
    size_t i = (size_t)h & (d->tx_index_capacity - 1);
    while (memcmp(d->tx_index[i], tx_index_empty, PBFT_HASH_SIZE) != 0 &&
           memcmp(d->tx_index[i], id, PBFT_HASH_SIZE) != 0)
        i = (i + 1) & (d->tx_index_capacity - 1);
    return i;
}

bool sim_disk_has_tx(const sim_disk_t *d, const uint8_t id[PBFT_HASH_SIZE]) {
    if (d->tx_index_capacity == 0) return false;
    return memcmp(d->tx_index[tx_index_slot(d, id)], id, PBFT_HASH_SIZE) == 0;
}

static void tx_index_add(sim_disk_t *d, const uint8_t id[PBFT_HASH_SIZE]) {
    if ((d->tx_index_count + 1) * 2 > d->tx_index_capacity) {
        uint8_t(*old)[PBFT_HASH_SIZE] = d->tx_index;
        size_t old_capacity = d->tx_index_capacity;
        d->tx_index_capacity = old_capacity ? old_capacity * 2 : 1024;
        d->tx_index = pbft_xcalloc(d->tx_index_capacity, PBFT_HASH_SIZE);
        for (size_t i = 0; i < old_capacity; i++)
            if (memcmp(old[i], tx_index_empty, PBFT_HASH_SIZE) != 0)
                memcpy(d->tx_index[tx_index_slot(d, old[i])], old[i], PBFT_HASH_SIZE);
        free(old);
    }
    size_t i = tx_index_slot(d, id);
    if (memcmp(d->tx_index[i], id, PBFT_HASH_SIZE) == 0) return;
    memcpy(d->tx_index[i], id, PBFT_HASH_SIZE);
    d->tx_index_count++;
}

static void copy_block(pbft_block_t *dst, const pbft_block_t *src) {
    dst->header = src->header;
    dst->txs = NULL;
    if (src->header.tx_count) {
        dst->txs = pbft_xmalloc(src->header.tx_count * sizeof(*dst->txs));
        memcpy(dst->txs, src->txs, src->header.tx_count * sizeof(*dst->txs));
    }
}

void sim_disk_put_prepared(sim_disk_t *d, const pbft_block_t *block) {
    size_t kept = 0;
    for (size_t i = 0; i < d->prepared_count; i++) {
        if (d->prepared[i].header.height <= d->chain_count) {
            codec_block_free(&d->prepared[i]);
            continue;
        }
        d->prepared[kept++] = d->prepared[i];
    }
    d->prepared_count = kept;
    if (d->prepared_count == d->prepared_capacity) {
        d->prepared_capacity = d->prepared_capacity ? d->prepared_capacity * 2 : 16;
        d->prepared = pbft_xrealloc(d->prepared, d->prepared_capacity * sizeof(*d->prepared));
    }
    copy_block(&d->prepared[d->prepared_count++], block);
}

void sim_disk_free_prepared(sim_disk_t *d) {
    for (size_t i = 0; i < d->prepared_count; i++)
        codec_block_free(&d->prepared[i]);
    free(d->prepared);
    d->prepared = NULL;
    d->prepared_count = d->prepared_capacity = 0;
}

static void append_chain(sim_disk_t *d, const pbft_block_t *block, const pbft_commit_cert_t *cert,
                         const uint8_t block_hash[PBFT_HASH_SIZE],
                         const uint8_t state_hash[PBFT_HASH_SIZE]) {
    if (d->chain_count == d->chain_capacity) {
        d->chain_capacity = d->chain_capacity ? d->chain_capacity * 2 : 64;
        d->chain = pbft_xrealloc(d->chain, d->chain_capacity * sizeof(*d->chain));
    }
    sim_chain_entry_t *e = &d->chain[d->chain_count++];
    copy_block(&e->block, block);
    for (uint32_t i = 0; i < block->header.tx_count; i++) {
        uint8_t id[PBFT_HASH_SIZE];
        codec_tx_id(&block->txs[i], id);
        tx_index_add(d, id);
    }
    e->cert = *cert;
    memcpy(e->block_hash, block_hash, PBFT_HASH_SIZE);
    memcpy(e->state_hash, state_hash, PBFT_HASH_SIZE);
}

/* Why a tx fails validation, for the report: does another replica hold the
 * same tx id at this height with different bytes (a signature that the
 * block hash does not cover)? */
static void describe_bad_tx(const sim_cluster_t *c, uint16_t r, const pbft_block_t *block,
                            uint32_t index, char *out, size_t out_size) {
    uint8_t id[PBFT_HASH_SIZE];
    codec_tx_id(&block->txs[index], id);
    snprintf(out, out_size, "tx id not held by any other replica at this height");
    uint64_t h = block->header.height;
    for (uint16_t o = 0; o < c->replica_count; o++) {
        const sim_disk_t *d = &c->replicas[o].disk;
        if (o == r || h == 0 || h > d->chain_count) continue;
        const pbft_block_t *other = &d->chain[h - 1].block;
        for (uint32_t k = 0; k < other->header.tx_count; k++) {
            uint8_t oid[PBFT_HASH_SIZE];
            codec_tx_id(&other->txs[k], oid);
            if (memcmp(oid, id, PBFT_HASH_SIZE) != 0) continue;
            bool sig_differs = memcmp(other->txs[k].signature, block->txs[index].signature,
                                      PBFT_SIGNATURE_SIZE) != 0;
            snprintf(out, out_size,
                     "replica %u committed the same tx id at this height%s; the block hash "
                     "(header, Merkle root of tx ids) is identical, the tx signature is not "
                     "covered by it",
                     o, sig_differs ? " with a different (valid) signature" : "");
            return;
        }
    }
}

/* Executes and stores block height+1 at replica r. Returns false (and the
 * run has failed) when a checker rejects it; nothing is stored then. */
bool sim_deliver_block(sim_cluster_t *c, uint16_t r, const pbft_block_t *block,
                       const pbft_commit_cert_t *cert) {
    sim_replica_t *rep = &c->replicas[r];
    for (uint32_t i = 0; i < block->header.tx_count; i++)
        if (!sim_tx_valid(&block->txs[i], c->genesis.chain_id)) {
            char why[256];
            describe_bad_tx(c, r, block, i, why, sizeof(why));
            sim_fail(c,
                     "validity: replica %u was asked to execute height %llu with tx %u that "
                     "has no valid client signature (%s)",
                     r, (unsigned long long)block->header.height, i, why);
            return false;
        }
    if (block->header.height != rep->height + 1) {
        sim_fail(c, "integrity: replica %u delivered height %llu after %llu", r,
                 (unsigned long long)block->header.height, (unsigned long long)rep->height);
        return false;
    }
    uint8_t block_hash[PBFT_HASH_SIZE];
    codec_header_hash(&block->header, block_hash);
    ledger_state_reader_t reader = ledger_memstate_reader(rep->state);
    ledger_block_result_t result;
    ledger_execute_block(block, &reader, rep->state_hash, &result);
    sim_check_commit(c, r, block, cert, block_hash, result.state_hash);
    if (c->failed) {
        ledger_block_result_free(&result);
        return false;
    }
    ledger_memstate_apply(rep->state, &result);
    append_chain(&rep->disk, block, cert, block_hash, result.state_hash);
    rep->height = block->header.height;
    memcpy(rep->tip_hash, block_hash, PBFT_HASH_SIZE);
    memcpy(rep->state_hash, result.state_hash, PBFT_HASH_SIZE);
    ledger_block_result_free(&result);
    /* The store finishes in order: a later block is never acknowledged
     * before an earlier one. */
    uint64_t done = c->now_ms + sim_rng_between(&c->rng, 0, c->storage_delay_ms_max);
    if (done < rep->storage_free_ms) done = rep->storage_free_ms;
    rep->storage_free_ms = done;
    sim_event_t ev = {
        .time_ms = done, .kind = SIM_EV_EXECUTED, .to = r, .a = rep->height, .b = rep->incarnation};
    sim_queue_push(&c->queue, &ev);
    return true;
}

void sim_store_checkpoint(sim_cluster_t *c, uint16_t r, const pbft_checkpoint_cert_t *cert) {
    sim_replica_t *rep = &c->replicas[r];
    sim_check_checkpoint(c, r, cert);
    if (rep->disk.has_checkpoint && rep->disk.checkpoint.height > cert->height)
        sim_fail(c, "checkpoint: replica %u's stable checkpoint went down from %llu to %llu", r,
                 (unsigned long long)rep->disk.checkpoint.height, (unsigned long long)cert->height);
    rep->disk.has_checkpoint = true;
    rep->disk.checkpoint = *cert;
}
