/*
 * node/storage.c — the storage thread: executes delivered blocks in height
 * order against the store's state and commits each (block, certificate, tx
 * index, account changes) in one write batch, then tells consensus
 * "executed(h, hash, state_hash)" through the inbox. The batch is synced
 * unless more blocks are already queued behind it (state transfer, a burst):
 * then the last of them syncs the run, one fsync instead of one per block.
 * A tx is acknowledged (GET /tx says committed) once its batch is written:
 * a killed process loses nothing; a power cut can lose the unsynced tail of
 * such a run on this replica, which then fetches it again — the commit
 * certificate a receipt carries already proves 2f+1 replicas committed it.
 *
 * Keeping this off the consensus thread lets consensus go on ordering the
 * next blocks (its window) while the disk syncs. A storage failure is fatal
 * (exit 74): blocks cannot be skipped, and everything durable is already
 * synced, so a restart resumes cleanly.
 */
#include <stdatomic.h>
#include <string.h>

#include "internal.h"
#include "log.h"
#include "pbft/codec.h"

typedef enum storage_job_kind {
    STORAGE_JOB_BLOCK,
    STORAGE_JOB_CHECKPOINT,
} storage_job_kind_t;

typedef struct storage_job {
    struct storage_job *next;
    storage_job_kind_t kind;
    pbft_block_t block;
    uint8_t (*ids)[PBFT_HASH_SIZE]; /* of block's txs, from consensus */
    pbft_commit_cert_t cert;
    pbft_checkpoint_cert_t checkpoint;
} storage_job_t;

struct storage {
    node_t *node;
    pthread_t thread;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    storage_job_t *head;
    storage_job_t *tail;
    size_t depth;
    bool stopping;
    bool failed; /* after a fatal error, jobs are dropped */
};

typedef struct executed_event {
    uint64_t height;
    uint8_t block_hash[PBFT_HASH_SIZE];
    uint8_t state_hash[PBFT_HASH_SIZE];
} executed_event_t;

static void on_executed(void *node_ptr, void *ctx, bool cancelled) {
    executed_event_t *ev = ctx;
    if (!cancelled) {
        node_t *node = node_ptr;
        replica_on_executed(node->replica, ev->height, ev->block_hash, ev->state_hash);
    }
    free(ev);
}

static void post_executed(storage_t *s, uint64_t height, const uint8_t hash[PBFT_HASH_SIZE],
                          const uint8_t state_hash[PBFT_HASH_SIZE]) {
    executed_event_t *ev = pbft_xmalloc(sizeof *ev);
    ev->height = height;
    memcpy(ev->block_hash, hash, PBFT_HASH_SIZE);
    memcpy(ev->state_hash, state_hash, PBFT_HASH_SIZE);
    atomic_store(&s->node->stored_height, height);
    inbox_post(s->node->inbox, on_executed, ev);
}

static void observe_commit(storage_t *s, const pbft_block_t *block,
                           const uint8_t (*ids)[PBFT_HASH_SIZE],
                           const ledger_block_result_t *result) {
    metrics_t *m = &s->node->metrics;
    atomic_fetch_add(&m->blocks_committed, 1);
    uint64_t now_us = node_now_us();
    for (uint32_t i = 0; i < block->header.tx_count; i++) {
        uint8_t r = result->tx_results[i];
        if (r < PBFT_TX_RESULT_COUNT) atomic_fetch_add(&m->txs_committed[r], 1);
        uint64_t admit_us;
        if (latency_take(s->node->latency, ids[i], &admit_us)) {
            metrics_observe_latency_us(m, now_us > admit_us ? now_us - admit_us : 0);
        }
    }
}

/* A re-delivered height (already stored before a restart): report it. */
static void report_stored(storage_t *s, const pbft_block_t *block) {
    uint8_t hash[PBFT_HASH_SIZE], state_hash[PBFT_HASH_SIZE];
    codec_header_hash(&block->header, hash);
    if (store_get_state_hash(s->node->store, block->header.height, state_hash) != PBFT_OK) {
        LOG_ERROR("storage", "stored block has no state hash",
                  LOG_U64("height", block->header.height));
        s->failed = true;
        node_request_stop(s->node, NODE_EXIT_IO);
        return;
    }
    post_executed(s, block->header.height, hash, state_hash);
}

static void run_block(storage_t *s, storage_job_t *job, bool sync) {
    store_t *store = s->node->store;
    store_tip_t tip;
    store_get_tip(store, &tip);
    const pbft_block_t *block = &job->block;
    uint64_t height = block->header.height;
    if (height <= tip.height) {
        report_stored(s, block);
        return;
    }
    if (height != tip.height + 1 ||
        memcmp(block->header.prev_hash, tip.block_hash, PBFT_HASH_SIZE) != 0) {
        LOG_ERROR("storage", "delivered block does not extend the stored tip",
                  LOG_U64("height", height), LOG_U64("tip", tip.height));
        s->failed = true;
        node_request_stop(s->node, NODE_EXIT_SOFTWARE);
        return;
    }
    /* Accounts are read through the store's writer cache (this thread is
     * the store's one writer). */
    pbft_status_t read_st = PBFT_OK;
    ledger_state_reader_t reader = store_state_reader(store, &read_st);
    ledger_block_result_t result;
    ledger_execute_block(block, &reader, tip.state_hash, &result);
    if (read_st != PBFT_OK) {
        /* Execution cannot go on on a guess: stop before committing it. */
        LOG_ERROR("storage", "cannot read an account", LOG_U64("height", height),
                  LOG_STATUS(read_st));
        s->failed = true;
        node_request_stop(s->node, NODE_EXIT_IO);
        ledger_block_result_free(&result);
        return;
    }
    uint64_t t0 = node_now_us();
    pbft_status_t st = store_commit_block_ex(
        store, block, (const uint8_t(*)[PBFT_HASH_SIZE])job->ids, &job->cert, &result, sync);
    atomic_fetch_add(&s->node->metrics.store_commit_us_total, node_now_us() - t0);
    if (st != PBFT_OK) {
        LOG_ERROR("storage", "cannot commit block", LOG_U64("height", height), LOG_STATUS(st));
        s->failed = true;
        node_request_stop(s->node, NODE_EXIT_IO);
        ledger_block_result_free(&result);
        return;
    }
    observe_commit(s, block, (const uint8_t(*)[PBFT_HASH_SIZE])job->ids, &result);
    uint8_t hash[PBFT_HASH_SIZE];
    codec_header_hash(&block->header, hash);
    LOG_DEBUG("storage", "committed block", LOG_U64("height", height),
              LOG_U64("txs", block->header.tx_count), LOG_HEX("hash", hash, 8));
    post_executed(s, height, hash, result.state_hash);
    ledger_block_result_free(&result);
}

static void run_checkpoint(storage_t *s, const pbft_checkpoint_cert_t *cert) {
    pbft_status_t st = store_put_checkpoint_cert(s->node->store, cert);
    if (st != PBFT_OK) {
        LOG_ERROR("storage", "cannot store checkpoint certificate", LOG_U64("height", cert->height),
                  LOG_STATUS(st));
        s->failed = true;
        node_request_stop(s->node, NODE_EXIT_IO);
        return;
    }
    LOG_INFO("storage", "stable checkpoint", LOG_U64("height", cert->height),
             LOG_HEX("state_hash", cert->state_hash, 8));
}

static void free_job(storage_job_t *job) {
    if (job->kind == STORAGE_JOB_BLOCK) {
        free(job->block.txs);
        free(job->ids);
    }
    free(job);
}

static void *storage_main(void *arg) {
    storage_t *s = arg;
    store_thread_init();
    for (;;) {
        pthread_mutex_lock(&s->mutex);
        while (!s->head && !s->stopping)
            pthread_cond_wait(&s->cond, &s->mutex);
        storage_job_t *job = s->head;
        if (!job) {
            pthread_mutex_unlock(&s->mutex);
            return NULL;
        }
        s->head = job->next;
        if (!s->head) s->tail = NULL;
        s->depth--;
        /* Group commit: while more jobs wait (state transfer, a burst of
         * commits) a block is written without its own fsync; the last one
         * queued syncs them all (same WAL, in order). */
        bool sync = s->head == NULL;
        pthread_mutex_unlock(&s->mutex);
        if (!s->failed) {
            if (job->kind == STORAGE_JOB_BLOCK)
                run_block(s, job, sync);
            else
                run_checkpoint(s, &job->checkpoint);
        }
        free_job(job);
    }
}

storage_t *storage_start(node_t *node) {
    storage_t *s = pbft_xcalloc(1, sizeof *s);
    s->node = node;
    pthread_mutex_init(&s->mutex, NULL);
    pthread_cond_init(&s->cond, NULL);
    int rc = pthread_create(&s->thread, NULL, storage_main, s);
    PBFT_ASSERT(rc == 0);
    pthread_setname_np(s->thread, "pbftd-storage"); /* shows in top -H, perf, gdb */
    return s;
}

static void enqueue(storage_t *s, storage_job_t *job) {
    job->next = NULL;
    pthread_mutex_lock(&s->mutex);
    PBFT_ASSERT(!s->stopping);
    if (s->tail)
        s->tail->next = job;
    else
        s->head = job;
    s->tail = job;
    s->depth++;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->mutex);
}

void storage_deliver(storage_t *s, const pbft_block_t *block, const uint8_t (*ids)[PBFT_HASH_SIZE],
                     const pbft_commit_cert_t *cert) {
    storage_job_t *job = pbft_xcalloc(1, sizeof *job);
    job->kind = STORAGE_JOB_BLOCK;
    job->block.header = block->header;
    if (block->header.tx_count) {
        size_t bytes = block->header.tx_count * sizeof(pbft_tx_t);
        job->block.txs = pbft_xmalloc(bytes);
        memcpy(job->block.txs, block->txs, bytes);
        job->ids = pbft_xmalloc(block->header.tx_count * (size_t)PBFT_HASH_SIZE);
        memcpy(job->ids, ids, block->header.tx_count * (size_t)PBFT_HASH_SIZE);
    }
    job->cert = *cert;
    enqueue(s, job);
}

void storage_checkpoint(storage_t *s, const pbft_checkpoint_cert_t *cert) {
    storage_job_t *job = pbft_xcalloc(1, sizeof *job);
    job->kind = STORAGE_JOB_CHECKPOINT;
    job->checkpoint = *cert;
    enqueue(s, job);
}

void storage_stop(storage_t *s) {
    if (!s) return;
    pthread_mutex_lock(&s->mutex);
    s->stopping = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->mutex);
    pthread_join(s->thread, NULL);
    PBFT_ASSERT(s->head == NULL);
    pthread_mutex_destroy(&s->mutex);
    pthread_cond_destroy(&s->cond);
    free(s);
}

size_t storage_queue_depth(storage_t *s) {
    pthread_mutex_lock(&s->mutex);
    size_t d = s->depth;
    pthread_mutex_unlock(&s->mutex);
    return d;
}
