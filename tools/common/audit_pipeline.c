/*
 * tools/common/audit_pipeline.c — keep every core checking signatures.
 *
 * Three stages overlap:
 *   reader thread  reads heights from the source and decodes them into a
 *                  batch (thousands of txs), then queues the batch's checks
 *                  on the signature pool;
 *   pool workers   check every tx signature (computing the tx id and the
 *                  sender address from the same encoding) and every commit
 *                  and checkpoint certificate of the batch;
 *   caller         takes the batches in height order and replays them
 *                  (audit_check.c), while the pool works on the next ones.
 * At most AUDIT_BATCH_SLOTS batches exist at once and their buffers are
 * reused, so memory is bounded by the batch size, not the chain length.
 * Nothing here reports a failure: it only precomputes answers, and the caller
 * reports them in height order exactly as a serial audit would.
 */
#include <pthread.h>
#include <string.h>

#include "audit.h"
#include "pbft/cert.h"
#include "pbft/codec.h"
#include "pbft/crypto.h"

#define PIPELINE_CHUNK 16        /* pool indexes per claim: ~16 signature checks */
#define PIPELINE_FETCH_THREADS 4 /* node sources: requests in flight at once */
#define PIPELINE_FETCH_ROUND 16  /* heights fetched at once from a node */

#define PIPELINE_FETCH_ERR_SIZE 256

/* A node answers one block per request: a round of heights is fetched over
 * several connections at once (one per fetch pool thread). */
struct fetch_round {
    struct audit_pipeline *pl;
    struct audit_batch *b;
    size_t first; /* slot of the round's first height */
    pbft_status_t st[PIPELINE_FETCH_ROUND];
    char err[PIPELINE_FETCH_ROUND][PIPELINE_FETCH_ERR_SIZE];
};

struct audit_pipeline {
    audit_source_t *src;
    const pbft_genesis_t *genesis;
    audit_sigpool_t *pool;
    uint64_t tip;
    uint64_t next_height; /* the reader's next height (reader only) */
    size_t batch_txs;
    size_t batch_blocks;
    pthread_t reader;
    bool reader_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;        /* the caller wants no more batches */
    bool reader_done; /* the reader will queue no more batches */
    audit_batch_t *free_slots[AUDIT_BATCH_SLOTS];
    size_t free_count;
    audit_batch_t *ready[AUDIT_BATCH_SLOTS]; /* FIFO in height order */
    size_t ready_head;
    size_t ready_count;
    audit_batch_t *all[AUDIT_BATCH_SLOTS];
    /* node sources: more connections and the threads that use them */
    audit_sigpool_t *fetch_pool;
    audit_source_t conns[PIPELINE_FETCH_THREADS];
    size_t conn_count;
    audit_source_t *conn_free[PIPELINE_FETCH_THREADS];
    size_t conn_free_count;
    struct fetch_round round; /* the reader's current round */
};

/* ------------------------------------------------------------------------ */
/* Checks run on the pool: index < count is block k = index (its commit and  */
/* checkpoint certificates), the rest are the batch's txs.                   */

static void check_commit_cert(const pbft_genesis_t *g, const audit_batch_t *b, size_t k,
                              audit_cert_result_t *out) {
    const audit_item_t *item = &b->items[k];
    memset(out, 0, sizeof(*out));
    out->read = item->cert_raw ? item->cert_status : PBFT_ERR_NOT_FOUND;
    if (out->read != PBFT_OK) return;
    out->decode = codec_commit_cert_decode(item->cert_raw, item->cert_size, &out->cert);
    if (out->decode != PBFT_OK) return;
    out->check = cert_check_block(&g->validators, g->chain_id, &b->blocks[k].header, &out->cert);
    out->bad = SIZE_MAX;
    if (out->check != PBFT_OK)
        out->sigs = cert_check_commit(&g->validators, g->chain_id, &out->cert, &out->bad);
}

static void check_checkpoint_cert(const pbft_genesis_t *g, audit_checkpoint_result_t *c,
                                  const uint8_t *raw, size_t raw_size) {
    if (!c->due || c->read != PBFT_OK) return;
    c->decode = codec_checkpoint_cert_decode(raw, raw_size, &c->cert);
    if (c->decode != PBFT_OK) return;
    c->bad = SIZE_MAX;
    c->sigs = cert_check_checkpoint(&g->validators, g->chain_id, &c->cert, &c->bad);
}

/* One tx: its unsigned encoding is built once and gives the id (for the
 * Merkle root) and the signed message; the sender address feeds the nonce
 * invariants. Same answers as codec_tx_id and codec_tx_verify. */
static void check_tx(const pbft_genesis_t *g, audit_batch_t *b, size_t i) {
    const pbft_tx_t *tx = b->txs[i];
    uint8_t buf[PBFT_TX_SIZE_MAX];
    size_t size = codec_tx_encode_unsigned(tx, buf, sizeof(buf));
    PBFT_ASSERT(size > 0);
    crypto_sha256(buf, size, b->tx_ids[i]);
    b->sig_status[i] =
        crypto_verify(tx->sender_pubkey, CRYPTO_TAG_TX, g->chain_id, buf, size, tx->signature);
    crypto_address(tx->sender_pubkey, b->senders[i]);
}

typedef struct batch_job {
    const pbft_genesis_t *genesis;
    audit_batch_t *batch;
    /* checkpoint raw bytes, owned by the batch until it is cleared */
    uint8_t *checkpoint_raw[AUDIT_BATCH_BLOCKS_MAX];
    size_t checkpoint_size[AUDIT_BATCH_BLOCKS_MAX];
} batch_job_t;

static void run_index(void *ctx, size_t index) {
    batch_job_t *job = ctx;
    audit_batch_t *b = job->batch;
    if (index >= b->count) {
        check_tx(job->genesis, b, index - b->count);
        return;
    }
    size_t k = index;
    if (b->decoded[k] != PBFT_OK) return;
    check_commit_cert(job->genesis, b, k, &b->certs[k]);
    check_checkpoint_cert(job->genesis, &b->checkpoints[k], job->checkpoint_raw[k],
                          job->checkpoint_size[k]);
}

/* ------------------------------------------------------------------------ */
/* Batches                                                                    */

typedef struct slot {
    audit_batch_t batch; /* first: a batch pointer is a slot pointer */
    batch_job_t job;
} slot_t;

static slot_t *slot_of(audit_batch_t *b) {
    return (slot_t *)(void *)b;
}

static void batch_clear(audit_batch_t *b) {
    slot_t *s = slot_of(b);
    for (size_t k = 0; k < b->count; k++) {
        audit_item_free(&b->items[k]);
        if (b->decoded[k] == PBFT_OK) codec_block_free(&b->blocks[k]);
        free(s->job.checkpoint_raw[k]);
        s->job.checkpoint_raw[k] = NULL;
    }
    b->count = 0;
    b->tx_total = 0;
    b->missing = false;
    b->read_status = PBFT_OK;
    b->err[0] = '\0';
}

static void batch_free(audit_batch_t *b) {
    batch_clear(b);
    free(b->txs);
    free(b->sig_status);
    free(b->tx_ids);
    free(b->senders);
    free(slot_of(b));
}

static void batch_reserve(audit_batch_t *b, size_t txs) {
    if (txs <= b->tx_capacity) return;
    size_t cap = PBFT_MAX(txs, 2 * b->tx_capacity);
    b->txs = pbft_xrealloc(b->txs, cap * sizeof(const pbft_tx_t *));
    b->sig_status = pbft_xrealloc(b->sig_status, cap * sizeof(*b->sig_status));
    b->tx_ids = pbft_xrealloc(b->tx_ids, cap * sizeof(*b->tx_ids));
    b->senders = pbft_xrealloc(b->senders, cap * sizeof(*b->senders));
    b->tx_capacity = cap;
}

/* Reads height b->from+k into slot k with src: the item and, at checkpoint
 * heights, the stored checkpoint certificate. Nothing is kept on failure. */
static pbft_status_t read_height(audit_pipeline_t *pl, audit_source_t *src, audit_batch_t *b,
                                 size_t k, char *err, size_t err_size) {
    uint64_t h = b->from + k;
    pbft_status_t st = audit_source_get(src, h, &b->items[k], err, err_size);
    if (st != PBFT_OK) return st;
    audit_checkpoint_result_t *c = &b->checkpoints[k];
    memset(c, 0, sizeof(*c));
    uint32_t interval = pl->genesis->params.checkpoint_interval;
    c->due = interval && h % interval == 0;
    if (!c->due) return PBFT_OK;
    char why[256] = "";
    batch_job_t *job = &slot_of(b)->job;
    c->read = audit_source_checkpoint(src, h, &job->checkpoint_raw[k], &job->checkpoint_size[k],
                                      why, sizeof(why));
    return PBFT_OK;
}

/* Undoes read_height for a slot that will not join the batch. */
static void drop_height(audit_batch_t *b, size_t k) {
    batch_job_t *job = &slot_of(b)->job;
    audit_item_free(&b->items[k]);
    free(job->checkpoint_raw[k]);
    job->checkpoint_raw[k] = NULL;
}

/* Adds block k (read into slot k) to the batch. Returns false when the
 * reader must stop after it (it does not decode). */
static bool batch_add(audit_batch_t *b, size_t k) {
    PBFT_ASSERT(k == b->count);
    audit_item_t *item = &b->items[k];
    b->decoded[k] = codec_block_decode(item->block_raw, item->block_size, &b->blocks[k]);
    b->tx_offset[k] = b->tx_total;
    b->count++;
    if (b->decoded[k] != PBFT_OK) return false;
    const pbft_block_t *blk = &b->blocks[k];
    batch_reserve(b, b->tx_total + blk->header.tx_count);
    for (uint32_t i = 0; i < blk->header.tx_count; i++)
        b->txs[b->tx_total + i] = &blk->txs[i];
    b->tx_total += blk->header.tx_count;
    return true;
}

/* Takes the read of slot k into the batch. Returns false when the reader
 * must stop after it (missing height, read error, undecodable block). */
static bool batch_take(audit_batch_t *b, size_t k, pbft_status_t st, const char *err) {
    if (st == PBFT_ERR_NOT_FOUND) {
        b->missing = true;
        return false;
    }
    if (st != PBFT_OK) {
        b->read_status = st;
        if (err != b->err) snprintf(b->err, sizeof(b->err), "%s", err);
        return false;
    }
    return batch_add(b, k);
}

typedef struct fetch_round fetch_round_t;

static audit_source_t *conn_take(audit_pipeline_t *pl) {
    pthread_mutex_lock(&pl->mu);
    PBFT_ASSERT(pl->conn_free_count > 0); /* one per fetching thread */
    audit_source_t *c = pl->conn_free[--pl->conn_free_count];
    pthread_mutex_unlock(&pl->mu);
    return c;
}

static void conn_give(audit_pipeline_t *pl, audit_source_t *c) {
    pthread_mutex_lock(&pl->mu);
    pl->conn_free[pl->conn_free_count++] = c;
    pthread_mutex_unlock(&pl->mu);
}

static void fetch_one(void *ctx, size_t i) {
    fetch_round_t *r = ctx;
    audit_source_t *conn = conn_take(r->pl);
    r->st[i] = read_height(r->pl, conn, r->b, r->first + i, r->err[i], sizeof(r->err[i]));
    conn_give(r->pl, conn);
}

/* Fetches up to PIPELINE_FETCH_ROUND heights at once and takes them in
 * order. Returns false when the reader must stop. */
static bool batch_fill_round(audit_pipeline_t *pl, audit_batch_t *b) {
    fetch_round_t *r = &pl->round;
    uint64_t left = pl->tip - (b->from + b->count) + 1;
    size_t n = PBFT_MIN((size_t)PIPELINE_FETCH_ROUND, pl->batch_blocks - b->count);
    n = (size_t)PBFT_MIN((uint64_t)n, left);
    r->pl = pl;
    r->b = b;
    r->first = b->count;
    audit_task_t t = {.fn = fetch_one, .ctx = r, .count = n, .chunk = 1};
    audit_sigpool_submit(pl->fetch_pool, &t);
    audit_sigpool_wait(pl->fetch_pool, &t);
    size_t i = 0;
    bool more = true;
    for (; i < n && more; i++)
        more = batch_take(b, r->first + i, r->st[i], r->err[i]);
    for (; i < n; i++) /* fetched past a stop: not part of the chain read */
        if (r->st[i] == PBFT_OK) drop_height(b, r->first + i);
    return more;
}

/* Reads heights from b->from on until the batch is full, the tip, a missing
 * height, a read error or an undecodable block. Returns false when the
 * reader must stop after this batch. */
static bool batch_fill(audit_pipeline_t *pl, audit_batch_t *b) {
    while (b->count < pl->batch_blocks && b->from + b->count <= pl->tip &&
           b->tx_total < pl->batch_txs) {
        bool more;
        if (pl->fetch_pool) {
            more = batch_fill_round(pl, b);
        } else {
            size_t k = b->count;
            pbft_status_t st = read_height(pl, pl->src, b, k, b->err, sizeof(b->err));
            more = batch_take(b, k, st, b->err);
        }
        if (!more) return false;
    }
    return b->from + b->count <= pl->tip;
}

static void batch_submit(audit_pipeline_t *pl, audit_batch_t *b) {
    batch_job_t *job = &slot_of(b)->job;
    job->genesis = pl->genesis;
    job->batch = b;
    audit_task_t *t = &b->task;
    memset(t, 0, sizeof(*t));
    t->fn = run_index;
    t->ctx = job;
    t->count = b->count + b->tx_total;
    t->chunk = PIPELINE_CHUNK;
    audit_sigpool_submit(pl->pool, t);
}

/* ------------------------------------------------------------------------ */
/* The reader thread                                                          */

static audit_batch_t *take_free_slot(audit_pipeline_t *pl) {
    pthread_mutex_lock(&pl->mu);
    while (!pl->stop && pl->free_count == 0)
        pthread_cond_wait(&pl->cv, &pl->mu);
    audit_batch_t *b = pl->stop ? NULL : pl->free_slots[--pl->free_count];
    pthread_mutex_unlock(&pl->mu);
    return b;
}

/* Reads the next batch into a free slot and queues it for the caller and the
 * pool. Returns false when there is nothing more to read. Runs on the reader
 * thread (or on the caller when no thread could be started). */
static bool read_batch(audit_pipeline_t *pl) {
    if (pl->next_height > pl->tip) return false;
    audit_batch_t *b = take_free_slot(pl);
    if (!b) return false;
    b->from = pl->next_height;
    bool more = batch_fill(pl, b);
    pl->next_height = more ? b->from + b->count : UINT64_MAX;
    batch_submit(pl, b);
    pthread_mutex_lock(&pl->mu);
    PBFT_ASSERT(pl->ready_count < AUDIT_BATCH_SLOTS);
    pl->ready[(pl->ready_head + pl->ready_count++) % AUDIT_BATCH_SLOTS] = b;
    pthread_cond_broadcast(&pl->cv);
    pthread_mutex_unlock(&pl->mu);
    return more;
}

static void reader_finish(audit_pipeline_t *pl) {
    pthread_mutex_lock(&pl->mu);
    pl->reader_done = true;
    pthread_cond_broadcast(&pl->cv);
    pthread_mutex_unlock(&pl->mu);
}

static void close_connections(audit_pipeline_t *pl) {
    audit_sigpool_free(pl->fetch_pool);
    pl->fetch_pool = NULL;
    for (size_t i = 1; i < pl->conn_count; i++) /* conns[0] is the caller's source */
        audit_source_close(&pl->conns[i]);
    pl->conn_count = 0;
    pl->conn_free_count = 0;
}

static void *reader_main(void *arg) {
    audit_pipeline_t *pl = arg;
    pthread_setname_np(pthread_self(), "audit-read");
    while (read_batch(pl)) {
    }
    reader_finish(pl);
    return NULL;
}

/* ------------------------------------------------------------------------ */

/* A node source gets PIPELINE_FETCH_THREADS connections (its own and
 * clones); if any cannot be made, blocks are fetched one at a time. */
static void open_connections(audit_pipeline_t *pl) {
    char err[256];
    pl->conns[0] = *pl->src; /* the reader's own: borrowed, not closed here */
    pl->conn_count = 1;
    while (pl->conn_count < PIPELINE_FETCH_THREADS &&
           audit_source_clone_node(&pl->conns[pl->conn_count], pl->src, err, sizeof(err)) ==
               AUDIT_EXIT_OK)
        pl->conn_count++;
    if (pl->conn_count < PIPELINE_FETCH_THREADS) {
        close_connections(pl);
        return;
    }
    for (size_t i = 0; i < pl->conn_count; i++)
        pl->conn_free[pl->conn_free_count++] = &pl->conns[i];
    pl->fetch_pool = audit_sigpool_new(PIPELINE_FETCH_THREADS, "audit-fetch");
}

audit_pipeline_t *audit_pipeline_start(audit_source_t *src, const pbft_genesis_t *genesis,
                                       audit_sigpool_t *pool, uint64_t from, uint64_t tip,
                                       size_t batch_txs, size_t batch_blocks) {
    PBFT_ASSERT(src != NULL && genesis != NULL && pool != NULL);
    audit_pipeline_t *pl = pbft_xcalloc(1, sizeof(*pl));
    pl->src = src;
    pl->genesis = genesis;
    pl->pool = pool;
    pl->tip = tip;
    pl->batch_txs = batch_txs ? batch_txs : AUDIT_BATCH_TXS_DEFAULT;
    pl->batch_blocks = batch_blocks ? PBFT_MIN(batch_blocks, (size_t)AUDIT_BATCH_BLOCKS_MAX)
                                    : AUDIT_BATCH_BLOCKS_MAX;
    pthread_mutex_init(&pl->mu, NULL);
    pthread_cond_init(&pl->cv, NULL);
    for (size_t i = 0; i < AUDIT_BATCH_SLOTS; i++) {
        slot_t *s = pbft_xcalloc(1, sizeof(*s));
        pl->all[i] = &s->batch;
        pl->free_slots[pl->free_count++] = &s->batch;
    }
    pl->next_height = from;
    if (src->http) open_connections(pl);
    /* Without a reader thread, audit_pipeline_next reads each batch itself. */
    pl->reader_started = pthread_create(&pl->reader, NULL, reader_main, pl) == 0;
    return pl;
}

audit_batch_t *audit_pipeline_next(audit_pipeline_t *pl) {
    if (!pl->reader_started && !pl->reader_done && pl->ready_count == 0 && !read_batch(pl))
        reader_finish(pl);
    pthread_mutex_lock(&pl->mu);
    while (pl->ready_count == 0 && !pl->reader_done)
        pthread_cond_wait(&pl->cv, &pl->mu);
    audit_batch_t *b = NULL;
    if (pl->ready_count > 0) {
        b = pl->ready[pl->ready_head];
        pl->ready_head = (pl->ready_head + 1) % AUDIT_BATCH_SLOTS;
        pl->ready_count--;
    }
    pthread_mutex_unlock(&pl->mu);
    if (b) audit_sigpool_wait(pl->pool, &b->task);
    return b;
}

void audit_pipeline_release(audit_pipeline_t *pl, audit_batch_t *b) {
    batch_clear(b);
    pthread_mutex_lock(&pl->mu);
    PBFT_ASSERT(pl->free_count < AUDIT_BATCH_SLOTS);
    pl->free_slots[pl->free_count++] = b;
    pthread_cond_broadcast(&pl->cv);
    pthread_mutex_unlock(&pl->mu);
}

void audit_pipeline_stop(audit_pipeline_t *pl) {
    if (!pl) return;
    pthread_mutex_lock(&pl->mu);
    pl->stop = true;
    pthread_cond_broadcast(&pl->cv);
    pthread_mutex_unlock(&pl->mu);
    if (pl->reader_started) pthread_join(pl->reader, NULL);
    /* The reader is gone: batches still queued are only the pool's now. */
    while (pl->ready_count > 0) {
        audit_batch_t *b = pl->ready[pl->ready_head];
        pl->ready_head = (pl->ready_head + 1) % AUDIT_BATCH_SLOTS;
        pl->ready_count--;
        audit_sigpool_cancel(pl->pool, &b->task);
    }
    for (size_t i = 0; i < AUDIT_BATCH_SLOTS; i++)
        batch_free(pl->all[i]);
    close_connections(pl);
    pthread_mutex_destroy(&pl->mu);
    pthread_cond_destroy(&pl->cv);
    free(pl);
}
