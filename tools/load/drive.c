/*
 * tools/load/drive.c — one timed run: closed loop (C workers, each with one
 * batch of B txs outstanding until every tx of it is seen committed) or open
 * loop (txs due on a fixed schedule at R tx/s, sent by a few threads in
 * whatever batches are due), and the watcher that sees commits.
 *
 * Commit time of a tx = when the watched replica's /status first showed a
 * height that includes the tx's block (the block contents are then fetched
 * to learn which txs it holds). The watcher long-polls (GET
 * /status?after=H&wait_ms=..., answered as soon as the height passes H), so
 * it sees a block when it is stored and costs one request per block; with
 * --poll-ms P it polls every P ms instead. Open-loop latency runs from the scheduled
 * time, not from the send time, so a generator that falls behind shows up
 * as latency instead of hiding it (no coordinated omission).
 */
#include <jansson.h>
#include <string.h>
#include <sys/resource.h>

#include "load.h"

typedef struct run_block {
    uint64_t height;
    uint64_t seen_ns;
    uint64_t tx_count;
} run_block_t;

struct worker;

typedef struct run {
    const load_keystore_t *ks;
    load_plan_t *plan;
    const load_config_t *cfg;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    /* guarded by mu */
    size_t cursor;
    size_t send_end;
    size_t outstanding;
    bool stop_sending;
    bool stop_watch;
    uint64_t exhausted_ns;
    uint64_t drain_deadline_ns;
    struct worker *workers; /* the sender threads, for wake_waiters */
    size_t worker_count;
    run_block_t *blocks;
    size_t block_count;
    size_t block_capacity;
    uint64_t committed_ours;
    uint64_t committed_fail;
    uint64_t rejected;
    uint64_t lost;
    /* written once before the threads start */
    uint64_t t0_ns;
    uint64_t watch_height;
    /* counters without a lock */
    _Atomic uint64_t batch_seq;
    _Atomic uint64_t retries;
    _Atomic uint64_t http_errors;
    _Atomic uint64_t sent;
    _Atomic uint32_t active_senders;
} run_t;

/* A sender waits for one tx at a time to change state on its own
 * condition variable (with the run mutex), so a commit wakes only the
 * senders it concerns: with one shared condition, every block and every
 * POST answer woke all C closed-loop senders, and at C = 24 those wakeups
 * were half of pbft-load's CPU (perf record --call-graph dwarf). */
typedef struct worker {
    run_t *run;
    pthread_cond_t cond;
    size_t wait_tx;     /* guarded by mu: SIZE_MAX when not waiting */
    uint8_t wait_state; /* the state of wait_tx when the wait began */
    load_http_t http;
    size_t *idx;
    size_t *retry;
    char *body;
    size_t body_capacity;
} worker_t;

static void sleep_until(uint64_t t_ns) {
    uint64_t now = load_now_ns();
    if (t_ns > now) load_sleep_ns(t_ns - now);
}

static bool tx_done(const load_tx_t *tx) {
    return tx->state >= LOAD_TX_COMMITTED;
}

static void cond_wait_ms(pthread_cond_t *cond, pthread_mutex_t *mu, uint64_t ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ns = (uint64_t)ts.tv_nsec + ms * 1000000ull;
    ts.tv_sec += (time_t)(ns / 1000000000ull);
    ts.tv_nsec = (long)(ns % 1000000000ull);
    pthread_cond_timedwait(cond, mu, &ts);
}

/* Called with mu held: waits until tx i leaves its current state, the run
 * stops sending, or 100 ms pass (a safety net; callers loop). */
static void wait_tx(worker_t *w, size_t i) {
    run_t *r = w->run;
    w->wait_tx = i;
    w->wait_state = r->plan->txs[i].state;
    cond_wait_ms(&w->cond, &r->mu, 100);
    w->wait_tx = SIZE_MAX;
}

/* Called with mu held after txs changed state: wakes the senders waiting
 * on one of them (every waiting sender once the run stops sending). */
static void wake_waiters(run_t *r) {
    for (size_t k = 0; k < r->worker_count; k++) {
        worker_t *w = &r->workers[k];
        if (w->wait_tx != SIZE_MAX &&
            (r->stop_sending || r->plan->txs[w->wait_tx].state != w->wait_state))
            pthread_cond_signal(&w->cond);
    }
}

/* Called with mu held: waits until the previous group of every account in
 * [s, e) is finished, so an account never has two groups in flight. False when
 * the run stopped sending meanwhile (the caller then sends nothing). */
static bool wait_prerequisites(worker_t *w, size_t s, size_t e) {
    run_t *r = w->run;
    size_t k = load_plan_stride(r->plan);
    for (size_t i = PBFT_MAX(s, k); i < e; i++) {
        while (!tx_done(&r->plan->txs[i - k])) {
            if (r->stop_sending) return false;
            wait_tx(w, i - k);
        }
    }
    return true;
}

/* Called with mu held. */
static void mark_finished(run_t *r, size_t i, load_tx_state_t state) {
    load_tx_t *tx = &r->plan->txs[i];
    if (tx->state == LOAD_TX_SENT) {
        PBFT_ASSERT(r->outstanding > 0);
        r->outstanding--;
    }
    tx->state = (uint8_t)state;
    if (state == LOAD_TX_REJECTED) r->rejected++;
    if (state == LOAD_TX_LOST) r->lost++;
}

/* ------------------------------------------------------------------------ */
/* Sending                                                                    */

/* Applies the per-tx results of a POST /txs; returns how many must be
 * retried (mempool_full), stored in w->retry. */
static size_t apply_results(worker_t *w, const size_t *idx, size_t count) {
    run_t *r = w->run;
    json_t *root = json_loadb(w->http.body, w->http.body_size, 0, NULL);
    const json_t *results = json_object_get(root, "results");
    size_t retry = 0;
    bool finished = false;
    pthread_mutex_lock(&r->mu);
    uint64_t now = load_now_ns();
    for (size_t j = 0; j < count; j++)
        r->plan->txs[idx[j]].answered_ns = now;
    /* --binary asks for ?results=errors: only the rejected txs, by index */
    size_t entries = r->cfg->binary ? json_array_size(results) : count;
    for (size_t e = 0; e < entries; e++) {
        const json_t *res = json_array_get(results, e);
        size_t j = e;
        uint64_t index = 0;
        if (r->cfg->binary) {
            if (!load_json_u64(res, "index", &index) || index >= count) continue;
            j = (size_t)index;
        }
        const char *error = json_string_value(json_object_get(res, "error"));
        if (res == NULL) error = "no_result";
        if (error == NULL) continue;
        if (strcmp(error, "mempool_full") == 0) {
            w->retry[retry++] = idx[j];
        } else if (r->plan->txs[idx[j]].state == LOAD_TX_SENT) {
            mark_finished(r, idx[j], LOAD_TX_REJECTED);
            finished = true;
        }
    }
    if (finished) wake_waiters(r);
    pthread_mutex_unlock(&r->mu);
    json_decref(root);
    return retry;
}

/* POSTs one batch to the next replica (round-robin); on a transport error
 * or a non-200 answer tries the next replica until the deadline. */
static bool post_batch(worker_t *w, const size_t *idx, size_t count, uint64_t deadline_ns) {
    run_t *r = w->run;
    size_t size = r->cfg->binary
                      ? load_batch_body_binary(r->plan, idx, count, &w->body, &w->body_capacity)
                      : load_batch_body(r->plan, idx, count, &w->body, &w->body_capacity);
    for (;;) {
        uint64_t seq = atomic_fetch_add(&r->batch_seq, 1);
        char url[LOAD_URL_SIZE_MAX + 32]; /* + "/txs?results=errors" */
        snprintf(url, sizeof(url), "%s/txs%s", r->ks->urls[seq % r->ks->url_count],
                 r->cfg->binary ? "?results=errors" : "");
        pbft_status_t st = r->cfg->binary ? load_http_post_binary(&w->http, url, w->body, size)
                                          : load_http_post_json(&w->http, url, w->body, size);
        if (st == PBFT_OK && w->http.code == 200) return true;
        atomic_fetch_add(&r->http_errors, 1);
        if (load_now_ns() > deadline_ns) return false;
        load_sleep_ns(20 * 1000000ull);
    }
}

static void send_batch(worker_t *w, size_t *idx, size_t count) {
    run_t *r = w->run;
    uint64_t deadline_ns = load_now_ns() + 10ull * 1000000000ull;
    pthread_mutex_lock(&r->mu);
    uint64_t now = load_now_ns();
    for (size_t j = 0; j < count; j++) {
        load_tx_t *tx = &r->plan->txs[idx[j]];
        if (tx->state == LOAD_TX_UNSENT) {
            tx->state = LOAD_TX_SENT;
            tx->sent_ns = now;
            r->outstanding++;
        }
    }
    pthread_mutex_unlock(&r->mu);
    atomic_fetch_add(&r->sent, count);
    while (count > 0) {
        if (!post_batch(w, idx, count, deadline_ns)) break;
        size_t retry = apply_results(w, idx, count);
        if (retry == 0) return;
        atomic_fetch_add(&r->retries, retry);
        memcpy(idx, w->retry, retry * sizeof(*idx));
        count = retry;
        if (load_now_ns() > deadline_ns) break;
        load_sleep_ns(5 * 1000000ull);
    }
    pthread_mutex_lock(&r->mu);
    for (size_t j = 0; j < count; j++)
        if (r->plan->txs[idx[j]].state == LOAD_TX_SENT) mark_finished(r, idx[j], LOAD_TX_REJECTED);
    wake_waiters(r);
    pthread_mutex_unlock(&r->mu);
}

/* ------------------------------------------------------------------------ */
/* Closed loop                                                                */

/* Called with mu held: waits until every tx of the batch is finished;
 * after the drain deadline the unfinished ones are lost. */
static void wait_batch(worker_t *w, size_t s, size_t e) {
    run_t *r = w->run;
    for (size_t i = s; i < e; i++) {
        while (r->plan->txs[i].state == LOAD_TX_SENT) {
            if (r->drain_deadline_ns && load_now_ns() > r->drain_deadline_ns) {
                mark_finished(r, i, LOAD_TX_LOST);
                wake_waiters(r);
                break;
            }
            wait_tx(w, i);
        }
    }
}

static void *closed_worker(void *arg) {
    worker_t *w = arg;
    run_t *r = w->run;
    size_t n = r->plan->tx_count;
    pthread_mutex_lock(&r->mu);
    while (!r->stop_sending) {
        if (r->cursor >= n) {
            if (!r->exhausted_ns) r->exhausted_ns = load_now_ns();
            break;
        }
        size_t s = r->cursor, e = PBFT_MIN(n, s + r->cfg->batch);
        r->cursor = e;
        if (!wait_prerequisites(w, s, e)) break;
        pthread_mutex_unlock(&r->mu);
        for (size_t i = s; i < e; i++)
            w->idx[i - s] = i;
        send_batch(w, w->idx, e - s);
        pthread_mutex_lock(&r->mu);
        wait_batch(w, s, e);
    }
    pthread_mutex_unlock(&r->mu);
    atomic_fetch_sub(&r->active_senders, 1);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Open loop                                                                  */

static uint64_t sched_ns(const run_t *r, size_t i) {
    return r->t0_ns + (uint64_t)((double)i * 1e9 / r->cfg->rate_tps);
}

uint64_t load_linger_until(const load_config_t *cfg, uint64_t now_ns, uint64_t oldest_sched_ns,
                           size_t due, bool last) {
    if (last || due >= cfg->batch) return 0;
    uint64_t ripe = oldest_sched_ns + (uint64_t)(cfg->linger_ms * 1e6);
    return now_ns < ripe ? ripe : 0;
}

size_t load_open_due(size_t scheduled, size_t group, size_t end) {
    return PBFT_MIN(scheduled / group * group, end);
}

static void *open_sender(void *arg) {
    worker_t *w = arg;
    run_t *r = w->run;
    pthread_mutex_lock(&r->mu);
    while (r->cursor < r->send_end && !r->stop_sending) {
        uint64_t now = load_now_ns();
        if (now < r->t0_ns) {
            pthread_mutex_unlock(&r->mu);
            sleep_until(r->t0_ns);
            pthread_mutex_lock(&r->mu);
            continue;
        }
        size_t due = load_open_due((size_t)((double)(now - r->t0_ns) * r->cfg->rate_tps / 1e9) + 1,
                                   r->plan->group, r->send_end);
        if (r->cursor >= due) {
            uint64_t next = sched_ns(r, r->cursor + r->plan->group - 1);
            pthread_mutex_unlock(&r->mu);
            if (next > now) load_sleep_ns(PBFT_MIN(next - now, 50000000ull));
            pthread_mutex_lock(&r->mu);
            continue;
        }
        uint64_t ripe = load_linger_until(r->cfg, now, sched_ns(r, r->cursor), due - r->cursor,
                                          due == r->send_end);
        if (ripe) {
            pthread_mutex_unlock(&r->mu);
            load_sleep_ns(ripe - now);
            pthread_mutex_lock(&r->mu);
            continue;
        }
        size_t s = r->cursor, e = PBFT_MIN(due, s + r->cfg->batch);
        r->cursor = e;
        if (!wait_prerequisites(w, s, e)) break;
        pthread_mutex_unlock(&r->mu);
        for (size_t i = s; i < e; i++) {
            r->plan->txs[i].sched_ns = sched_ns(r, i);
            w->idx[i - s] = i;
        }
        send_batch(w, w->idx, e - s);
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    atomic_fetch_sub(&r->active_senders, 1);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Watcher                                                                    */

typedef struct seen_batch {
    const load_plan_t *plan;
    size_t count;
    size_t capacity;
    size_t *idx;
    bool *ok;
} seen_batch_t;

static void on_block_tx(void *ctx, const uint8_t id[PBFT_HASH_SIZE], bool ok) {
    seen_batch_t *b = ctx;
    size_t i = load_plan_find(b->plan, id);
    if (i == SIZE_MAX) return;
    if (b->count == b->capacity) {
        b->capacity = b->capacity ? 2 * b->capacity : 1024;
        b->idx = pbft_xrealloc(b->idx, b->capacity * sizeof(*b->idx));
        b->ok = pbft_xrealloc(b->ok, b->capacity * sizeof(*b->ok));
    }
    b->idx[b->count] = i;
    b->ok[b->count++] = ok;
}

/* Called with mu held. */
static void record_block(run_t *r, const load_block_info_t *info, uint64_t seen_ns,
                         const seen_batch_t *b) {
    if (r->block_count == r->block_capacity) {
        r->block_capacity = r->block_capacity ? 2 * r->block_capacity : 1024;
        r->blocks = pbft_xrealloc(r->blocks, r->block_capacity * sizeof(*r->blocks));
    }
    r->blocks[r->block_count++] =
        (run_block_t){.height = info->height, .seen_ns = seen_ns, .tx_count = info->tx_count};
    for (size_t j = 0; j < b->count; j++) {
        load_tx_t *tx = &r->plan->txs[b->idx[j]];
        if (tx->state != LOAD_TX_SENT && tx->state != LOAD_TX_UNSENT) continue;
        if (tx->state == LOAD_TX_SENT) r->outstanding--;
        tx->state = LOAD_TX_COMMITTED;
        tx->commit_ns = seen_ns;
        tx->result_ok = b->ok[j];
        r->committed_ours++;
        if (!b->ok[j]) r->committed_fail++;
    }
}

/* Long enough to cost nothing, short enough that the watcher notices
 * stop_watch promptly when no block comes. */
#define WATCH_WAIT_MS 200

static void *watcher(void *arg) {
    run_t *r = arg;
    const char *base = r->ks->urls[r->cfg->watch];
    load_http_t h;
    load_http_init(&h);
    seen_batch_t b = {.plan = r->plan};
    uint64_t last = r->watch_height;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        bool stop = r->stop_watch;
        pthread_mutex_unlock(&r->mu);
        if (stop) break;
        load_status_t s;
        uint64_t before = last;
        pbft_status_t st = r->cfg->poll_ms ? load_get_status(&h, base, &s)
                                           : load_wait_status(&h, base, last, WATCH_WAIT_MS, &s);
        if (st == PBFT_OK) {
            uint64_t seen_ns = load_now_ns();
            while (last < s.height) {
                load_block_info_t info;
                b.count = 0;
                if (load_get_block(&h, base, last + 1, on_block_tx, &b, &info) != PBFT_OK) break;
                last++;
                pthread_mutex_lock(&r->mu);
                record_block(r, &info, seen_ns, &b);
                wake_waiters(r);
                if (r->stop_sending) pthread_cond_broadcast(&r->cond); /* drain() */
                pthread_mutex_unlock(&r->mu);
            }
        }
        /* Polling; or the replica did not answer, did not hold the request
         * (too many long-polls there) or a block fetch failed: do not spin. */
        if (r->cfg->poll_ms || st != PBFT_OK || last == before || last < s.height)
            load_sleep_ns((uint64_t)PBFT_MAX(r->cfg->poll_ms, 1u) * 1000000ull);
    }
    free(b.idx);
    free(b.ok);
    load_http_free(&h);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Measurements around the window                                            */

static double replicas_cpu_s(const load_config_t *cfg) {
    double sum = 0;
    for (size_t i = 0; i < cfg->pid_count; i++) {
        double s = 0;
        if (load_proc_cpu_s(cfg->pids[i], &s)) sum += s;
    }
    return sum;
}

static void replicas_cpu_classes(const load_config_t *cfg, double *out) {
    for (size_t i = 0; i < cfg->pid_count; i++)
        (void)load_proc_cpu_classes(cfg->pids[i], out);
}

static double self_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Sums view_changes over every replica that answers; false if none does. */
static bool total_view_changes(const load_keystore_t *ks, load_http_t *h, uint64_t *out) {
    uint64_t sum = 0;
    bool any = false;
    for (size_t i = 0; i < ks->url_count; i++) {
        load_status_t s;
        if (load_get_status(h, ks->urls[i], &s) == PBFT_OK && s.has_view_changes) {
            sum += s.view_changes;
            any = true;
        }
    }
    *out = sum;
    return any;
}

/* ------------------------------------------------------------------------ */
/* Results                                                                    */

static void window_blocks(const run_t *r, uint64_t ws, uint64_t we, load_result_t *out) {
    for (size_t i = 0; i < r->block_count; i++) {
        if (r->blocks[i].seen_ns < ws || r->blocks[i].seen_ns > we) continue;
        out->window_blocks++;
        out->window_txs += r->blocks[i].tx_count;
    }
    if (r->block_count) out->height_end = r->blocks[r->block_count - 1].height;
    out->tps = out->window_s > 0 ? (double)out->window_txs / out->window_s : 0;
    out->blocks_per_s = out->window_s > 0 ? (double)out->window_blocks / out->window_s : 0;
    out->txs_per_block =
        out->window_blocks ? (double)out->window_txs / (double)out->window_blocks : 0;
}

/* Latency: closed loop from send to seen committed, for txs committed in
 * the window; open loop from the schedule, for every committed tx. */
static void latencies(const run_t *r, uint64_t ws, uint64_t we, load_result_t *out) {
    const load_plan_t *p = r->plan;
    double *lat = pbft_xmalloc(p->tx_count * sizeof(double));
    double *lag = pbft_xmalloc(p->tx_count * sizeof(double));
    double *answer = pbft_xmalloc(p->tx_count * sizeof(double));
    size_t n = 0, m = 0, a = 0;
    uint64_t last_commit = 0;
    bool open = r->cfg->mode == LOAD_MODE_OPEN;
    for (size_t i = 0; i < p->tx_count; i++) {
        const load_tx_t *tx = &p->txs[i];
        if (open && tx->sent_ns)
            lag[m++] = tx->sent_ns > tx->sched_ns ? (double)(tx->sent_ns - tx->sched_ns) / 1e6 : 0;
        if (tx->state != LOAD_TX_COMMITTED || tx->sent_ns == 0) continue;
        last_commit = PBFT_MAX(last_commit, tx->commit_ns);
        uint64_t from = open ? tx->sched_ns : tx->sent_ns;
        if (!open && (tx->commit_ns < ws || tx->commit_ns > we)) continue;
        lat[n++] = tx->commit_ns > from ? (double)(tx->commit_ns - from) / 1e6 : 0;
        if (tx->answered_ns)
            answer[a++] = tx->answered_ns > from ? (double)(tx->answered_ns - from) / 1e6 : 0;
    }
    out->lat_count = n;
    const double quantiles[4] = {0.50, 0.90, 0.99, 1.0};
    for (int q = 0; q < 4; q++) {
        out->lat_ms[q] = load_percentile(lat, n, quantiles[q]);
        out->answer_ms[q] = load_percentile(answer, a, quantiles[q]);
    }
    out->lag_p99_ms = load_percentile(lag, m, 0.99);
    if (open) {
        /* Sustained: every tx went out on schedule, all committed, and the
         * backlog was gone soon after the offered load stopped. */
        double tail_s = last_commit > we ? (double)(last_commit - we) / 1e9 : 0;
        out->sustained = out->sent == r->send_end && out->lost == 0 && out->rejected == 0 &&
                         out->lag_p99_ms < 100 && tail_s <= PBFT_MAX(1.0, 0.1 * out->window_s);
    } else {
        out->sustained = out->lost == 0 && out->rejected == 0 && !out->exhausted;
    }
    free(lat);
    free(lag);
    free(answer);
}

/* Open loop: the plan is in schedule order, so each slice is a run of
 * consecutive txs. */
static void timeline(const run_t *r, load_result_t *out) {
    const load_plan_t *p = r->plan;
    out->timeline_s = load_timeline_slice_s(out->window_s);
    uint64_t slice_ns = (uint64_t)(out->timeline_s * 1e9);
    double *lat = pbft_xmalloc((p->tx_count + 1) * sizeof(double));
    size_t i = 0;
    for (size_t k = 0; k < LOAD_TIMELINE_MAX && i < r->send_end; k++) {
        uint64_t end_ns = r->t0_ns + (k + 1) * slice_ns;
        size_t n = 0;
        uint32_t sent = 0;
        for (; i < r->send_end && sched_ns(r, i) < end_ns; i++) {
            const load_tx_t *tx = &p->txs[i];
            if (tx->sent_ns == 0) continue;
            sent++;
            if (tx->state != LOAD_TX_COMMITTED) continue;
            lat[n++] =
                tx->commit_ns > tx->sched_ns ? (double)(tx->commit_ns - tx->sched_ns) / 1e6 : 0;
        }
        out->timeline_sent[k] = sent;
        out->timeline_committed[k] = (uint32_t)n;
        out->timeline_p99_ms[k] = load_percentile(lat, n, 0.99);
        out->timeline_count = k + 1;
    }
    free(lat);
}

static void run_results(run_t *r, uint64_t ws, uint64_t we, load_result_t *out) {
    out->planned = r->plan->tx_count;
    out->sent = atomic_load(&r->sent);
    out->committed_ours = r->committed_ours;
    out->committed_fail = r->committed_fail;
    out->rejected = r->rejected;
    out->lost = r->lost;
    out->retries = atomic_load(&r->retries);
    out->http_errors = atomic_load(&r->http_errors);
    out->exhausted = r->exhausted_ns != 0;
    out->window_s = (double)(we - ws) / 1e9;
    out->height_start = r->watch_height;
    out->height_end = r->watch_height;
    window_blocks(r, ws, we, out);
    if (r->cfg->mode == LOAD_MODE_OPEN) {
        out->offered_tps = r->cfg->rate_tps;
        out->sent_tps = out->window_s > 0 ? (double)out->sent / out->window_s : 0;
    }
    latencies(r, ws, we, out);
    if (r->cfg->mode == LOAD_MODE_OPEN) timeline(r, out);
    out->cpu_s_per_tx = out->window_txs ? out->cpu_s / (double)out->window_txs : 0;
}

/* ------------------------------------------------------------------------ */
/* The run                                                                    */

static void start_threads(run_t *r, worker_t *workers, pthread_t *tids, size_t count,
                          void *(*fn)(void *)) {
    atomic_store(&r->active_senders, (uint32_t)count);
    pthread_mutex_lock(&r->mu);
    r->workers = workers;
    r->worker_count = count;
    for (size_t i = 0; i < count; i++) {
        workers[i].run = r;
        pthread_cond_init(&workers[i].cond, NULL);
        workers[i].wait_tx = SIZE_MAX;
    }
    pthread_mutex_unlock(&r->mu);
    for (size_t i = 0; i < count; i++) {
        load_http_init(&workers[i].http);
        workers[i].idx = pbft_xcalloc(r->cfg->batch, sizeof(size_t));
        workers[i].retry = pbft_xcalloc(r->cfg->batch, sizeof(size_t));
        pthread_create(&tids[i], NULL, fn, &workers[i]);
    }
}

static void join_threads(run_t *r, worker_t *workers, pthread_t *tids, size_t count) {
    for (size_t i = 0; i < count; i++)
        pthread_join(tids[i], NULL);
    pthread_mutex_lock(&r->mu); /* the watcher goes on: no more waiters to wake */
    r->workers = NULL;
    r->worker_count = 0;
    pthread_mutex_unlock(&r->mu);
    for (size_t i = 0; i < count; i++) {
        pthread_cond_destroy(&workers[i].cond);
        load_http_free(&workers[i].http);
        free(workers[i].idx);
        free(workers[i].retry);
        free(workers[i].body);
    }
}

/* Waits (bounded by the drain deadline) for every sent tx to finish, then
 * stops the watcher. */
static void drain(run_t *r, pthread_t watch_tid) {
    pthread_mutex_lock(&r->mu);
    while (r->outstanding > 0 && load_now_ns() < r->drain_deadline_ns)
        cond_wait_ms(&r->cond, &r->mu, 20);
    for (size_t i = 0; i < r->plan->tx_count; i++)
        if (r->plan->txs[i].state == LOAD_TX_SENT) mark_finished(r, i, LOAD_TX_LOST);
    r->stop_watch = true;
    pthread_mutex_unlock(&r->mu);
    pthread_join(watch_tid, NULL);
}

/* Sleeps until t_ns or until every sender has exited. */
static void wait_senders(run_t *r, uint64_t t_ns) {
    while (load_now_ns() < t_ns && atomic_load(&r->active_senders) > 0)
        load_sleep_ns(PBFT_MIN(t_ns - PBFT_MIN(t_ns, load_now_ns()), 10000000ull) + 1);
}

static void stop_sending(run_t *r, uint64_t drain_deadline_ns) {
    pthread_mutex_lock(&r->mu);
    r->stop_sending = true;
    r->drain_deadline_ns = drain_deadline_ns;
    wake_waiters(r);
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
}

/* The timed part; returns the window [*ws, *we] and fills the CPU figures. */
static void run_timed(run_t *r, worker_t *workers, pthread_t *tids, uint64_t *ws, uint64_t *we,
                      load_result_t *out) {
    const load_config_t *cfg = r->cfg;
    bool open = cfg->mode == LOAD_MODE_OPEN;
    size_t count = open ? cfg->sender_threads : cfg->concurrency;
    uint64_t drain_ns = (uint64_t)(cfg->drain_seconds * 1e9);
    r->t0_ns = load_now_ns() + 20000000ull; /* lets the threads start first */
    /* Whole groups only: an account's consecutive nonces travel together.
     * Never past the plan (--txs may be smaller than R x T). */
    if (open)
        r->send_end = PBFT_MIN((size_t)(cfg->rate_tps * cfg->seconds), r->plan->tx_count) /
                      r->plan->group * r->plan->group;
    start_threads(r, workers, tids, count, open ? open_sender : closed_worker);
    *ws = r->t0_ns + (open ? 0 : (uint64_t)(cfg->warmup_seconds * 1e9));
    *we = *ws + (uint64_t)(cfg->seconds * 1e9);
    sleep_until(*ws);
    double classes0[LOAD_CPU_CLASS_COUNT] = {0};
    replicas_cpu_classes(cfg, classes0);
    double cpu0 = replicas_cpu_s(cfg), self0 = self_cpu_s(), sys0 = 0, sys1 = 0;
    bool sys_ok = load_system_busy_s(&sys0);
    wait_senders(r, *we);
    pthread_mutex_lock(&r->mu);
    if (r->exhausted_ns && r->exhausted_ns < *we) *we = PBFT_MAX(*ws, r->exhausted_ns);
    pthread_mutex_unlock(&r->mu);
    sleep_until(*we);
    out->cpu_s = replicas_cpu_s(cfg) - cpu0;
    replicas_cpu_classes(cfg, out->cpu_class_s);
    for (size_t k = 0; k < LOAD_CPU_CLASS_COUNT; k++)
        out->cpu_class_s[k] = PBFT_MAX(0.0, out->cpu_class_s[k] - classes0[k]);
    out->loadgen_cpu_s = self_cpu_s() - self0;
    if (sys_ok && load_system_busy_s(&sys1)) out->system_cpu_s = sys1 - sys0;
    if (open) wait_senders(r, *we + drain_ns);
    stop_sending(r, PBFT_MAX(load_now_ns(), *we) + drain_ns);
    join_threads(r, workers, tids, count);
}

pbft_status_t load_run(const load_keystore_t *ks, load_plan_t *plan, const load_config_t *cfg,
                       load_result_t *out) {
    PBFT_ASSERT(cfg->watch < ks->url_count);
    PBFT_ASSERT(cfg->batch >= 1 && cfg->batch <= LOAD_BATCH_TX_COUNT_MAX);
    memset(out, 0, sizeof(*out));
    run_t *r = pbft_xcalloc(1, sizeof(*r));
    r->ks = ks;
    r->plan = plan;
    r->cfg = cfg;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cond, NULL);
    load_http_t h;
    load_http_init(&h);
    load_status_t s;
    pbft_status_t st = load_get_status(&h, ks->urls[cfg->watch], &s);
    if (st == PBFT_OK) {
        r->watch_height = s.height;
        uint64_t vc0 = 0, vc1 = 0;
        bool vc_known = total_view_changes(ks, &h, &vc0);
        pthread_t watch_tid;
        pthread_create(&watch_tid, NULL, watcher, r);
        size_t count = cfg->mode == LOAD_MODE_OPEN ? cfg->sender_threads : cfg->concurrency;
        worker_t *workers = pbft_xcalloc(count, sizeof(*workers));
        pthread_t *tids = pbft_xcalloc(count, sizeof(*tids));
        uint64_t ws = 0, we = 0;
        run_timed(r, workers, tids, &ws, &we, out);
        drain(r, watch_tid);
        run_results(r, ws, we, out);
        out->view_changes_known = vc_known && total_view_changes(ks, &h, &vc1);
        out->view_changes = out->view_changes_known && vc1 > vc0 ? vc1 - vc0 : 0;
        free(workers);
        free(tids);
    }
    load_http_free(&h);
    free(r->blocks);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->mu);
    free(r);
    return st;
}
