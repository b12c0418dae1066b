/*
 * node/ingress.c — frames from peers on their way into consensus.
 *
 * Messages that carry client transactions (REQUEST, PRE-PREPARE, the blocks
 * of VIEW-CHANGE / NEW-VIEW / STATE-REPLY) are decoded here and every tx not
 * known good yet is checked on the verify pool, in parallel, before
 * consensus sees the message. Known good: pending in the mempool with the
 * same signature (it was checked on its way in), or in the verified cache;
 * a relayed REQUEST's txs are new as a rule and go to the pool unlooked-up.
 * Consensus's env->tx_valid then need not check again. So the consensus
 * thread never spends its time on tx signatures, and each replica verifies
 * each tx signature once.
 *
 * Per sender, messages reach consensus in arrival order (a PRE-PREPARE that
 * waits for verification holds back that sender's later PREPAREs/COMMITs),
 * which keeps nanomsg's per-link FIFO order intact. Queues are bounded.
 */
#include <stdatomic.h>
#include <string.h>

#include "internal.h"
#include "log.h"
#include "pbft/messages.h"

struct ingress_item {
    struct ingress_item *next;
    uint16_t link;
    bool ready;
    bool drop;     /* a tx in it failed verification */
    bool verified; /* it decoded and every tx in it is known good (cache or pool) */
    /* REQUEST, PRE-PREPARE: the ids of all its txs, in order, for
     * consensus (replica_on_message_with_ids); else NULL */
    uint8_t (*ids)[PBFT_HASH_SIZE];
    size_t id_count;
    size_t size;
    uint8_t bytes[];
};

typedef struct preverify_job {
    node_t *node; /* not dereferenced when cancelled */
    ingress_item_t *item;
    verify_batch_t batch;
    pbft_tx_t *txs;
    uint8_t (*ids)[PBFT_HASH_SIZE];
    pbft_status_t *results;
} preverify_job_t;

static bool carries_txs(uint8_t type) {
    return type == MSG_REQUEST || type == MSG_PRE_PREPARE || type == MSG_VIEW_CHANGE ||
           type == MSG_NEW_VIEW || type == MSG_STATE_REPLY;
}

static void deliver(node_t *node, uint16_t link, const uint8_t *bytes, size_t size,
                    const uint8_t (*ids)[PBFT_HASH_SIZE], size_t id_count) {
    pbft_status_t st = replica_on_message_with_ids(node->replica, link, bytes, size, ids, id_count);
    if (st != PBFT_OK) {
        LOG_DEBUG("consensus", "message rejected", LOG_U64("from", link), LOG_STATUS(st));
    }
}

/* Hands the ready head items of one sender's queue to consensus. */
static void drain_queue(node_t *node, ingress_queue_t *q) {
    while (q->head && q->head->ready) {
        ingress_item_t *item = q->head;
        q->head = item->next;
        if (!q->head) q->tail = NULL;
        q->count--;
        q->bytes -= item->size;
        if (item->drop) {
            atomic_fetch_add(&node->ingress_bad_tx, 1);
            LOG_WARN_RL("net", "dropped message with an invalid transaction",
                        LOG_U64("from", item->link));
        } else {
            /* env->tx_valid need not look the txs up again (node.c). */
            node->delivering_verified = item->verified;
            deliver(node, item->link, item->bytes, item->size,
                    (const uint8_t(*)[PBFT_HASH_SIZE])item->ids, item->id_count);
            node->delivering_verified = false;
        }
        free(item->ids);
        free(item);
    }
}

static void on_preverified(void *node_ptr, void *ctx, bool cancelled) {
    preverify_job_t *job = ctx;
    if (!cancelled) {
        node_t *node = node_ptr;
        for (size_t i = 0; i < job->batch.count; i++) {
            if (job->results[i] != PBFT_OK) job->item->drop = true;
        }
        job->item->verified = !job->item->drop;
        job->item->ready = true;
        drain_queue(node, &node->ingress[job->item->link]);
    }
    free(job->txs);
    free(job->ids);
    free(job->results);
    free(job);
}

static void preverify_done(void *ctx) {
    preverify_job_t *job = ctx;
    inbox_post(job->node->inbox, on_preverified, job);
}

/* Adds the txs of one message to the job, leaving out those known good when
 * look_up: pending in the mempool with the same signature, or in the
 * verified cache (in that order: the pool holds every pending tx however
 * long its wait, the cache only the latest); all_ids (count of them, or
 * NULL) receives every tx's id. */
static void collect(node_t *node, preverify_job_t *job, size_t *cap, const pbft_tx_t *txs,
                    size_t count, uint8_t (*all_ids)[PBFT_HASH_SIZE], bool look_up) {
    for (size_t i = 0; i < count; i++) {
        uint8_t id[PBFT_HASH_SIZE];
        codec_tx_id(&txs[i], id);
        if (all_ids) memcpy(all_ids[i], id, PBFT_HASH_SIZE);
        if (look_up && (replica_tx_pending_identical(node->replica, &txs[i], id) ||
                        verify_cache_contains(node->verify, &txs[i], id)))
            continue;
        if (job->batch.count == *cap) {
            *cap = *cap ? *cap * 2 : 64;
            job->txs = pbft_xrealloc(job->txs, *cap * sizeof *job->txs);
            job->ids = pbft_xrealloc(job->ids, *cap * sizeof *job->ids);
        }
        job->txs[job->batch.count] = txs[i];
        memcpy(job->ids[job->batch.count], id, PBFT_HASH_SIZE);
        job->batch.count++;
    }
}

/* The ids of a message's only tx list go to the item, for consensus. */
static uint8_t (*item_ids(ingress_item_t *item, size_t count))[PBFT_HASH_SIZE] {
    item->id_count = count;
    item->ids = pbft_xmalloc(PBFT_MAX(count, 1) * PBFT_HASH_SIZE);
    return item->ids;
}

static void collect_message(node_t *node, preverify_job_t *job, const msg_t *m) {
    size_t cap = 0;
    switch (m->type) {
        case MSG_REQUEST:
            /* A relayed tx is new here, as a rule: lookups would miss, on
             * this (the consensus) thread and on the worker. One relayed
             * twice is verified twice; consensus ignores the repeat. */
            collect(node, job, &cap, m->u.request.txs, m->u.request.tx_count,
                    item_ids(job->item, m->u.request.tx_count), false);
            job->batch.skip_lookup = true;
            break;
        case MSG_PRE_PREPARE:
            collect(node, job, &cap, m->u.pre_prepare.block.txs,
                    m->u.pre_prepare.block.header.tx_count,
                    item_ids(job->item, m->u.pre_prepare.block.header.tx_count), true);
            break;
        case MSG_VIEW_CHANGE:
            for (size_t b = 0; b < m->u.view_change->block_count; b++) {
                const pbft_block_t *blk = &m->u.view_change->blocks[b];
                collect(node, job, &cap, blk->txs, blk->header.tx_count, NULL, true);
            }
            break;
        case MSG_NEW_VIEW:
            for (size_t b = 0; b < m->u.new_view.block_count; b++) {
                const pbft_block_t *blk = &m->u.new_view.blocks[b];
                collect(node, job, &cap, blk->txs, blk->header.tx_count, NULL, true);
            }
            break;
        case MSG_STATE_REPLY:
            for (size_t b = 0; b < m->u.state_reply.count; b++) {
                const pbft_block_t *blk = &m->u.state_reply.blocks[b];
                collect(node, job, &cap, blk->txs, blk->header.tx_count, NULL, true);
            }
            break;
        default:
            break;
    }
}

/* Starts verification of the item's uncached txs; marks it ready when there
 * are none (or when it does not decode: consensus rejects and counts it). */
static void preverify(node_t *node, ingress_item_t *item) {
    msg_t m;
    memset(&m, 0, sizeof m);
    if (msg_decode(item->bytes, item->size, &m) != PBFT_OK) {
        msg_free(&m);
        item->ready = true;
        return;
    }
    preverify_job_t *job = pbft_xcalloc(1, sizeof *job);
    job->node = node;
    job->item = item;
    collect_message(node, job, &m);
    msg_free(&m);
    if (job->batch.count == 0) {
        free(job);
        item->verified = true;
        item->ready = true;
        return;
    }
    atomic_fetch_add(&node->metrics.preverified_messages, 1);
    job->results = pbft_xcalloc(job->batch.count, sizeof *job->results);
    job->batch.txs = job->txs;
    job->batch.ids = (const uint8_t(*)[PBFT_HASH_SIZE])job->ids;
    job->batch.results = job->results;
    job->batch.done = preverify_done;
    job->batch.done_ctx = job;
    verify_batch_submit(node->verify, &job->batch);
}

void ingress_on_frame(node_t *node, uint16_t link, const uint8_t *payload, size_t size) {
    PBFT_ASSERT(link < PBFT_REPLICA_COUNT_MAX);
    /* The frame header's sender is a routing hint; a message claiming another
     * sender than the link it came on is dropped before any decoding. */
    if (size >= MSG_HEADER_SIZE) {
        uint16_t claimed = (uint16_t)(payload[2] | payload[3] << 8);
        if (claimed != link) {
            atomic_fetch_add(&node->metrics.frames_sender_mismatch, 1);
            LOG_WARN_RL("net", "dropped frame: sender mismatch", LOG_U64("link", link),
                        LOG_U64("claimed", claimed));
            return;
        }
    }
    ingress_queue_t *q = &node->ingress[link];
    bool needs_check = size >= MSG_HEADER_SIZE && carries_txs(payload[1]);
    if (!needs_check && q->head == NULL) {
        deliver(node, link, payload, size, NULL, 0); /* the common path: no copy */
        return;
    }
    if (q->count >= INGRESS_QUEUE_COUNT_MAX || q->bytes + size > INGRESS_QUEUE_BYTES_MAX) {
        atomic_fetch_add(&node->ingress_dropped, 1);
        LOG_WARN_RL("net", "dropped frame: sender queue full", LOG_U64("link", link));
        return;
    }
    ingress_item_t *item = pbft_xmalloc(sizeof *item + size);
    item->next = NULL;
    item->link = link;
    item->ready = !needs_check;
    item->drop = false;
    item->verified = false;
    item->ids = NULL;
    item->id_count = 0;
    item->size = size;
    memcpy(item->bytes, payload, size);
    if (q->tail)
        q->tail->next = item;
    else
        q->head = item;
    q->tail = item;
    q->count++;
    q->bytes += size;
    if (needs_check) preverify(node, item);
    drain_queue(node, q);
}

void ingress_clear(node_t *node) {
    for (size_t i = 0; i < PBFT_REPLICA_COUNT_MAX; i++) {
        ingress_queue_t *q = &node->ingress[i];
        while (q->head) {
            ingress_item_t *item = q->head;
            q->head = item->next;
            free(item->ids);
            free(item);
        }
        memset(q, 0, sizeof *q);
    }
}
