/*
 * node/safety.c — durable consensus safety state, group-committed and written
 * off the consensus thread.
 *
 * PBFT's rule: what a replica has signed that binds it (view, votes) must be
 * durable before the message leaves, or a crash could make it equivocate.
 * Consensus hands us its whole safety state through env->persist (each blob
 * supersedes the previous one) before it sends anything derived from it.
 *
 * We keep only the latest blob and hold back every outgoing message from
 * then on. At the end of each loop turn the blob goes to the writer thread,
 * which writes it (one synced RocksDB write) while the consensus thread goes
 * on with the next events; messages produced meanwhile stay held. When the
 * write completes, the messages it covers are released in order, and the
 * next pending blob (if any) is handed over. So:
 *   - no message leaves before every state it may derive from is synced;
 *   - one fsync covers all the events of a turn (group commit);
 *   - the consensus thread never waits for the disk.
 * A failed write is fatal (exit 74) and the held messages are dropped: a
 * replica that cannot persist must not speak.
 */
#include <stdatomic.h>
#include <string.h>

#include "internal.h"
#include "log.h"
#include "pbft/codec.h"

struct safety_writer {
    node_t *node;
    pthread_t thread;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    bool stopping;
    bool has_job;
    uint8_t *job; /* owned by the writer while has_job; NULL: blocks only */
    size_t job_size;
    prepared_msg_t *job_blocks; /* owned by the writer while has_job */
};

typedef struct outbox {
    outbox_msg_t *head;
    outbox_msg_t *tail;
} outbox_t;

typedef struct written_event {
    pbft_status_t status;
    uint8_t *blob; /* returned for reuse */
} written_event_t;

static void outbox_append(outbox_msg_t **head, outbox_msg_t **tail, outbox_msg_t *m) {
    if (*tail)
        (*tail)->next = m;
    else
        *head = m;
    *tail = m;
}

void safety_hold(node_t *node, uint16_t to, const uint8_t *msg, size_t size) {
    outbox_msg_t *m = pbft_xmalloc(sizeof *m + size);
    m->next = NULL;
    m->to = to;
    m->size = size;
    memcpy(m->bytes, msg, size);
    outbox_append(&node->held_head, &node->held_tail, m);
}

bool safety_holding(const node_t *node) {
    return node->safety_dirty || node->blocks_head != NULL || node->safety_inflight;
}

void safety_record_block(node_t *node, const pbft_block_t *block) {
    size_t size = codec_block_size(block);
    prepared_msg_t *m = pbft_xmalloc(sizeof *m + size);
    m->next = NULL;
    m->height = block->header.height;
    codec_header_hash(&block->header, m->hash);
    m->size = codec_block_encode(block, m->bytes, size);
    PBFT_ASSERT(m->size == size);
    if (node->blocks_tail)
        node->blocks_tail->next = m;
    else
        node->blocks_head = m;
    node->blocks_tail = m;
}

static void free_blocks(prepared_msg_t *m) {
    while (m) {
        prepared_msg_t *next = m->next;
        free(m);
        m = next;
    }
}

static bool write_pending(const node_t *node) {
    return node->safety_dirty || node->blocks_head != NULL;
}

void safety_record(node_t *node, const uint8_t *state, size_t size) {
    if (size > node->safety_capacity) {
        node->safety = pbft_xrealloc(node->safety, size);
        node->safety_capacity = size;
    }
    if (size) memcpy(node->safety, state, size);
    node->safety_size = size;
    node->safety_dirty = true;
}

static void release(node_t *node, outbox_msg_t *m) {
    while (m) {
        outbox_msg_t *next = m->next;
        if (m->to == NODE_OUTBOX_BROADCAST)
            net_broadcast(node->net, m->bytes, m->size);
        else
            net_send(node->net, m->to, m->bytes, m->size);
        free(m);
        m = next;
    }
}

static void drop(outbox_msg_t *m) {
    while (m) {
        outbox_msg_t *next = m->next;
        free(m);
        m = next;
    }
}

/* Hands the latest blob and the prepared blocks to the writer; the held
 * messages become the ones this write covers. Precondition: something to
 * write and nothing in flight. */
static void start_write(node_t *node) {
    PBFT_ASSERT(write_pending(node) && !node->safety_inflight);
    safety_writer_t *w = node->safety_writer;
    bool blob = node->safety_dirty;
    pthread_mutex_lock(&w->mutex);
    PBFT_ASSERT(!w->has_job);
    /* Swap buffers: the writer owns the blob until it reports back. */
    w->job = blob ? node->safety : NULL;
    w->job_size = blob ? node->safety_size : 0;
    w->job_blocks = node->blocks_head;
    w->has_job = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mutex);
    node->blocks_head = node->blocks_tail = NULL;
    node->safety_dirty = false;
    node->safety_inflight = true;
    node->covered_head = node->held_head;
    node->covered_tail = node->held_tail;
    node->held_head = node->held_tail = NULL;
    if (!blob) return; /* the blob buffers stay where they are */
    node->safety_written_capacity = node->safety_capacity;
    node->safety = node->safety_spare;
    node->safety_capacity = node->safety_spare_capacity;
    node->safety_spare = NULL;
    node->safety_spare_capacity = 0;
    node->safety_size = 0;
}

void safety_turn_end(node_t *node) {
    if (write_pending(node) && !node->safety_inflight) start_write(node);
    PBFT_ASSERT(safety_holding(node) || node->held_head == NULL);
}

static void on_written(void *node_ptr, void *ctx, bool cancelled) {
    written_event_t *ev = ctx;
    if (cancelled) {
        free(ev->blob);
        free(ev);
        return;
    }
    node_t *node = node_ptr;
    PBFT_ASSERT(node->safety_inflight);
    node->safety_inflight = false;
    if (ev->blob) { /* a blocks-only write leaves the spare as it was */
        free(node->safety_spare);
        node->safety_spare = ev->blob;
        node->safety_spare_capacity = node->safety_written_capacity;
    }
    atomic_store(&node->metrics.persist_inflight, 0);
    if (ev->status != PBFT_OK) {
        LOG_ERROR("store", "cannot persist the consensus safety state; stopping",
                  LOG_STATUS(ev->status));
        drop(node->covered_head);
        drop(node->held_head);
        node->covered_head = node->covered_tail = node->held_head = node->held_tail = NULL;
        node->safety_dirty = false;
        free_blocks(node->blocks_head);
        node->blocks_head = node->blocks_tail = NULL;
        node_request_stop(node, NODE_EXIT_IO);
        free(ev);
        return;
    }
    release(node, node->covered_head);
    node->covered_head = node->covered_tail = NULL;
    if (write_pending(node)) {
        start_write(node); /* the held messages ride on the next write */
    } else {
        release(node, node->held_head); /* their states are all durable now */
        node->held_head = node->held_tail = NULL;
    }
    free(ev);
}

static void *writer_main(void *arg) {
    safety_writer_t *w = arg;
    node_t *node = w->node;
    store_thread_init();
    for (;;) {
        pthread_mutex_lock(&w->mutex);
        while (!w->has_job && !w->stopping)
            pthread_cond_wait(&w->cond, &w->mutex);
        if (!w->has_job) {
            pthread_mutex_unlock(&w->mutex);
            return NULL;
        }
        uint8_t *blob = w->job;
        size_t size = w->job_size;
        prepared_msg_t *blocks = w->job_blocks;
        pthread_mutex_unlock(&w->mutex);
        atomic_store(&node->metrics.persist_inflight, 1);
        uint64_t t0 = node_now_us();
        size_t count = 0;
        for (const prepared_msg_t *m = blocks; m; m = m->next)
            count++;
        store_prepared_block_t *raw = pbft_xcalloc(count ? count : 1, sizeof *raw);
        count = 0;
        for (const prepared_msg_t *m = blocks; m; m = m->next) {
            raw[count] =
                (store_prepared_block_t){.height = m->height, .bytes = m->bytes, .size = m->size};
            memcpy(raw[count].hash, m->hash, PBFT_HASH_SIZE);
            size += m->size;
            count++;
        }
        pbft_status_t st = store_put_safety_and_blocks(node->store, NODE_SAFETY_KEY, blob,
                                                       w->job_size, raw, count);
        free(raw);
        free_blocks(blocks);
        atomic_fetch_add(&node->metrics.persist_us_total, node_now_us() - t0);
        atomic_fetch_add(&node->metrics.persist_count, 1);
        atomic_fetch_add(&node->metrics.persist_bytes_total, size);
        pthread_mutex_lock(&w->mutex);
        w->has_job = false;
        w->job = NULL;
        w->job_blocks = NULL;
        pthread_mutex_unlock(&w->mutex);
        written_event_t *ev = pbft_xmalloc(sizeof *ev);
        ev->status = st;
        ev->blob = blob;
        inbox_post(node->inbox, on_written, ev);
    }
}

safety_writer_t *safety_writer_start(node_t *node) {
    safety_writer_t *w = pbft_xcalloc(1, sizeof *w);
    w->node = node;
    pthread_mutex_init(&w->mutex, NULL);
    pthread_cond_init(&w->cond, NULL);
    int rc = pthread_create(&w->thread, NULL, writer_main, w);
    PBFT_ASSERT(rc == 0);
    pthread_setname_np(w->thread, "pbftd-safety"); /* shows in top -H, perf, gdb */
    return w;
}

void safety_writer_stop(safety_writer_t *w) {
    if (!w) return;
    pthread_mutex_lock(&w->mutex);
    w->stopping = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mutex);
    pthread_join(w->thread, NULL); /* finishes a write in progress first */
    free(w->job);
    free_blocks(w->job_blocks);
    pthread_mutex_destroy(&w->mutex);
    pthread_cond_destroy(&w->cond);
    free(w);
}

void safety_clear(node_t *node) {
    drop(node->covered_head);
    drop(node->held_head);
    node->covered_head = node->covered_tail = node->held_head = node->held_tail = NULL;
    free_blocks(node->blocks_head);
    node->blocks_head = node->blocks_tail = NULL;
    free(node->safety);
    free(node->safety_spare);
    node->safety = node->safety_spare = NULL;
}
