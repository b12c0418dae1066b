/*
 * node/node.c — start-up, the replica's environment, the consensus loop and
 * shutdown. See node.h for the threads and internal.h for the shared state.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "log.h"
#include "pbft/codec.h"

#define NODE_RECV_BURST_MAX 512 /* frames per loop turn, so timers stay on time */
#define NODE_POLL_MS_MAX 1000

uint64_t node_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t node_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void wake_noop(void *node, void *ctx, bool cancelled) {
    (void)node;
    (void)ctx;
    (void)cancelled;
}

/* Long-polling HTTP threads re-check `stopping` when woken. */
static void wake_height_waiters(node_t *node) {
    pthread_mutex_lock(&node->status_mutex);
    pthread_cond_broadcast(&node->height_cond);
    pthread_mutex_unlock(&node->status_mutex);
}

void node_request_stop(node_t *node, int exit_code) {
    int expected = NODE_EXIT_OK;
    atomic_compare_exchange_strong(&node->exit_code, &expected, exit_code);
    atomic_store(&node->stopping, true);
    inbox_post(node->inbox, wake_noop, NULL); /* wake the loop */
    wake_height_waiters(node);
}

/* ------------------------------------------------------------------------ */
/* The replica's environment (all called on the consensus thread).          */

/* Wall-clock milliseconds: consensus stamps blocks with now_ms and checks a
 * proposal's timestamp against it, and genesis carries a wall-clock time, so
 * replicas on different hosts must share this clock. Our own timers run on
 * CLOCK_MONOTONIC (env_set_timer takes a relative delay). */
static uint64_t env_now_ms(void *ctx) {
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* While a safety state is pending or being written, messages are held back
 * until it is durable (safety.c). */
static void env_send(void *ctx, uint16_t to, const uint8_t *msg, size_t size) {
    node_t *node = ctx;
    if (safety_holding(node))
        safety_hold(node, to, msg, size);
    else
        net_send(node->net, to, msg, size);
}

static void env_broadcast(void *ctx, const uint8_t *msg, size_t size) {
    node_t *node = ctx;
    if (safety_holding(node))
        safety_hold(node, NODE_OUTBOX_BROADCAST, msg, size);
    else
        net_broadcast(node->net, msg, size);
}

static void env_set_timer(void *ctx, replica_timer_t t, uint64_t delay_ms) {
    node_t *node = ctx;
    PBFT_ASSERT((unsigned)t < REPLICA_TIMER_COUNT);
    node->timer_armed[t] = true;
    node->timer_deadline_ms[t] = node_now_ms() + delay_ms;
}

static void env_cancel_timer(void *ctx, replica_timer_t t) {
    node_t *node = ctx;
    PBFT_ASSERT((unsigned)t < REPLICA_TIMER_COUNT);
    node->timer_armed[t] = false;
}

/* Recorded now, written at the end of the loop turn (safety.c). A write
 * failure stops the replica before any message depending on it leaves. */
static pbft_status_t env_persist(void *ctx, const uint8_t *state, size_t size) {
    safety_record(ctx, state, size);
    return PBFT_OK;
}

/* The block of a slot that just prepared: written once, in the same synced
 * batch as the safety state that names it, instead of riding in every
 * safety blob while it is in flight. The COMMIT that depends on it is held
 * until that batch is durable (safety_holding). */
static pbft_status_t env_persist_block(void *ctx, const pbft_block_t *block) {
    safety_record_block(ctx, block);
    return PBFT_OK;
}

static pbft_status_t env_sign(void *ctx, const uint8_t digest[PBFT_HASH_SIZE],
                              uint8_t sig[PBFT_SIGNATURE_SIZE]) {
    node_t *node = ctx;
    return crypto_sign_digest(node->key, digest, sig);
}

/* Answers from the verified cache; a miss (evicted, or a message kind the
 * ingress did not pre-check) is verified here and cached. */
static bool env_tx_valid(void *ctx, const pbft_tx_t *tx, const uint8_t tx_id[PBFT_HASH_SIZE]) {
    node_t *node = ctx;
    /* Consensus asks while it handles a message; ingress has checked every
     * tx of that message (a bad one drops it), and of every message that
     * came before it, so a second cache lookup would only cost time.
     * Outside a delivery (timers, client txs) the cache answers. */
    if (node->delivering_verified) return true;
    if (verify_cache_contains(node->verify, tx, tx_id)) return true;
    atomic_fetch_add(&node->tx_valid_fallbacks, 1);
    pbft_status_t result;
    uint8_t ids[1][PBFT_HASH_SIZE];
    memcpy(ids[0], tx_id, PBFT_HASH_SIZE);
    verify_batch_run(node->verify, tx, (const uint8_t(*)[PBFT_HASH_SIZE])ids, 1, &result);
    return result == PBFT_OK;
}

static void env_deliver(void *ctx, const pbft_block_t *block, const uint8_t (*ids)[PBFT_HASH_SIZE],
                        const pbft_commit_cert_t *cert) {
    node_t *node = ctx;
    storage_deliver(node->storage, block, ids, cert);
}

static pbft_status_t env_load_committed(void *ctx, uint64_t height, pbft_block_t *block,
                                        pbft_commit_cert_t *cert) {
    node_t *node = ctx;
    pbft_status_t st = store_get_block(node->store, height, block);
    if (st != PBFT_OK) return st;
    st = store_get_commit_cert(node->store, height, cert);
    if (st != PBFT_OK) codec_block_free(block);
    return st;
}

/* Point read of the tx index: a tx committed before a restart must not be
 * proposed again. Blocks still queued for the storage thread are covered by
 * the replica's own memory of recent commits. */
static bool env_tx_committed(void *ctx, const uint8_t tx_id[PBFT_HASH_SIZE]) {
    node_t *node = ctx;
    store_tx_location_t loc;
    return store_get_tx_location(node->store, tx_id, &loc) == PBFT_OK;
}

static void env_stable_checkpoint(void *ctx, const pbft_checkpoint_cert_t *cert) {
    node_t *node = ctx;
    storage_checkpoint(node->storage, cert);
}

static uint64_t env_random(void *ctx) {
    node_t *node = ctx; /* splitmix64 */
    uint64_t z = (node->rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void env_log(void *ctx, int level, const char *line) {
    (void)ctx;
    log_level_t l = level <= 0 ? LOG_LEVEL_DEBUG : level == 1 ? LOG_LEVEL_INFO : LOG_LEVEL_WARN;
    if (l == LOG_LEVEL_WARN) {
        LOG_WARN_RL("consensus", line, {.type = LOG_FIELD_NONE});
    } else {
        LOG_AT_(l, "consensus", line, {.type = LOG_FIELD_NONE});
    }
}

static void env_init(node_t *node) {
    replica_env_t *e = &node->env;
    memset(e, 0, sizeof *e);
    e->ctx = node;
    e->now_ms = env_now_ms;
    e->send = env_send;
    e->broadcast = env_broadcast;
    e->set_timer = env_set_timer;
    e->cancel_timer = env_cancel_timer;
    e->persist = env_persist;
    e->persist_block = env_persist_block;
    e->sign = env_sign;
    e->verify = cert_verify_ecdsa;
    e->verify_ctx = NULL;
    e->tx_valid = env_tx_valid;
    e->deliver = env_deliver;
    e->load_committed = env_load_committed;
    e->stable_checkpoint = env_stable_checkpoint;
    e->tx_committed = env_tx_committed;
    e->random = env_random;
    e->log = env_log;
}

/* ------------------------------------------------------------------------ */
/* Start-up                                                                  */

static int load_genesis(node_t *node) {
    char err[512] = "";
    pbft_status_t st =
        ledger_genesis_load(node->config.genesis_file, &node->genesis, err, sizeof err);
    if (st != PBFT_OK) {
        LOG_ERROR("node", "cannot load genesis", LOG_STR("file", node->config.genesis_file),
                  LOG_STR("error", err[0] ? err : pbft_status_string(st)));
        return st == PBFT_ERR_IO ? NODE_EXIT_IO : NODE_EXIT_DATA;
    }
    node->genesis_loaded = true;
    if (node->genesis.validators.count != node->config.peer_count) {
        LOG_ERROR("node", "config [peers] does not match the genesis validator set",
                  LOG_U64("peers", node->config.peer_count),
                  LOG_U64("validators", node->genesis.validators.count));
        return NODE_EXIT_DATA;
    }
    return NODE_EXIT_OK;
}

static int load_key(node_t *node) {
    char err[512] = "";
    pbft_status_t st = crypto_key_load(node->config.key_file, &node->key, err, sizeof err);
    if (st != PBFT_OK) {
        LOG_ERROR("node", "cannot load the node key", LOG_STR("file", node->config.key_file),
                  LOG_STR("error", err[0] ? err : pbft_status_string(st)));
        if (st == PBFT_ERR_PERMISSION) return NODE_EXIT_PERMISSION;
        return st == PBFT_ERR_IO || st == PBFT_ERR_NOT_FOUND ? NODE_EXIT_IO : NODE_EXIT_DATA;
    }
    uint8_t pub[PBFT_PUBKEY_SIZE];
    crypto_key_public(node->key, pub);
    if (memcmp(pub, node->genesis.validators.pubkeys[node->config.replica], PBFT_PUBKEY_SIZE) !=
        0) {
        LOG_ERROR("node", "node key is not the genesis key of this replica",
                  LOG_STR("file", node->config.key_file), LOG_U64("replica", node->config.replica));
        return NODE_EXIT_DATA;
    }
    return NODE_EXIT_OK;
}

/* internal.h; RocksDB takes an fcntl write lock on the whole of LOCK */
bool node_store_in_use(const char *data_dir) {
    char path[CONFIG_PATH_SIZE_MAX + 8];
    snprintf(path, sizeof path, "%s/LOCK", data_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false; /* no store yet, or the open reports it */
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    bool held = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
    close(fd);
    return held;
}

static int open_store(node_t *node) {
    if (node_store_in_use(node->config.data_dir)) {
        LOG_ERROR("store", "the store is in use: another pbftd holds its lock",
                  LOG_STR("dir", node->config.data_dir));
        return NODE_EXIT_IO;
    }
    store_thread_init(); /* the consensus thread: point reads on every new tx */
    char err[512] = "";
    store_options_t options = {.background_write_bytes_per_s =
                                   (uint64_t)node->config.store_write_mb_per_s << 20};
    uint64_t open_start_ms = node_now_ms();
    pbft_status_t st = store_open_ex(node->config.data_dir, &node->genesis, STORE_READ_WRITE,
                                     &options, &node->store, err, sizeof err);
    uint64_t open_ms = node_now_ms() - open_start_ms;
    if (st != PBFT_OK) {
        LOG_ERROR("store", "cannot open the store", LOG_STR("dir", node->config.data_dir),
                  LOG_STR("error", err[0] ? err : pbft_status_string(st)));
        return st == PBFT_ERR_WRONG_CHAIN || st == PBFT_ERR_VERSION ? NODE_EXIT_DATA : NODE_EXIT_IO;
    }
    store_tip_t tip;
    store_get_tip(node->store, &tip);
    atomic_store(&node->stored_height, tip.height);
    uint64_t recovered = store_recovered_blocks(node->store);
    if (recovered > 0)
        LOG_INFO("store", "recovered account values from the blocks not written back",
                 LOG_U64("blocks", recovered), LOG_U64("height", tip.height),
                 LOG_U64("open_ms", open_ms));
    return NODE_EXIT_OK;
}

/* Where the replica resumes: tip, its certificate, the latest stable
 * checkpoint and the safety bytes last persisted. */
static int create_replica(node_t *node) {
    store_tip_t tip;
    store_get_tip(node->store, &tip);
    replica_restore_t restore;
    memset(&restore, 0, sizeof restore);
    pbft_commit_cert_t cert;
    pbft_checkpoint_cert_t checkpoint;
    uint8_t *safety = NULL;
    size_t safety_size = 0;
    pbft_status_t st = PBFT_OK;
    restore.executed_header = node->genesis.header;
    if (tip.height > 0) {
        st = store_get_header(node->store, tip.height, &restore.executed_header);
        if (st == PBFT_OK) st = store_get_commit_cert(node->store, tip.height, &cert);
        restore.executed_cert = &cert;
    }
    memcpy(restore.executed_hash, tip.block_hash, PBFT_HASH_SIZE);
    memcpy(restore.state_hash, tip.state_hash, PBFT_HASH_SIZE);
    if (st == PBFT_OK) {
        st = store_latest_checkpoint_cert(node->store, &checkpoint);
        if (st == PBFT_OK) restore.stable = &checkpoint;
        if (st == PBFT_ERR_NOT_FOUND) st = PBFT_OK;
    }
    if (st == PBFT_OK) {
        st = store_get_safety(node->store, NODE_SAFETY_KEY, &safety, &safety_size);
        if (st == PBFT_ERR_NOT_FOUND) st = PBFT_OK;
        restore.safety = safety;
        restore.safety_size = safety_size;
    }
    pbft_block_t *prepared = NULL;
    size_t prepared_count = 0;
    if (st == PBFT_OK) st = store_load_prepared_blocks(node->store, &prepared, &prepared_count);
    restore.prepared_blocks = prepared;
    restore.prepared_block_count = prepared_count;
    if (st != PBFT_OK) {
        LOG_ERROR("store", "cannot read the restart state", LOG_STATUS(st));
        free(safety);
        return NODE_EXIT_IO;
    }
    replica_options_t options;
    replica_options_default(&options);
    options.mempool_max = node->config.mempool_max;
    st = replica_create(&node->genesis, (uint16_t)node->config.replica, &node->env, &options,
                        &restore, &node->replica);
    free(safety);
    for (size_t i = 0; i < prepared_count; i++)
        codec_block_free(&prepared[i]);
    free(prepared);
    if (st != PBFT_OK) {
        LOG_ERROR("consensus", "cannot create the replica", LOG_STATUS(st));
        return st == PBFT_ERR_CORRUPT ? NODE_EXIT_IO : NODE_EXIT_DATA;
    }
    LOG_INFO("node", "restored", LOG_U64("height", tip.height),
             LOG_U64("stable_checkpoint", restore.stable ? restore.stable->height : 0),
             LOG_BOOL("safety_state", safety_size > 0), LOG_U64("prepared_blocks", prepared_count));
    return NODE_EXIT_OK;
}

static int open_network(node_t *node) {
    char err[512] = "";
    pbft_status_t st = net_open(
        node->config.listen, (uint16_t)node->config.replica, node->config.peer_count,
        (const char(*)[CONFIG_URL_SIZE_MAX])node->config.peers, &node->net, err, sizeof err);
    if (st != PBFT_OK) {
        LOG_ERROR("net", "cannot open the replica transport", LOG_STR("error", err));
        return NODE_EXIT_UNAVAILABLE;
    }
    st = http_start(node, node->config.http, node->config.http_connections_max, &node->http, err,
                    sizeof err);
    if (st != PBFT_OK) {
        LOG_ERROR("http", "cannot start the HTTP API", LOG_STR("error", err));
        return NODE_EXIT_UNAVAILABLE;
    }
    return NODE_EXIT_OK;
}

/* SIGINT/SIGTERM/SIGHUP are blocked in every thread and read from a signalfd by
 * the consensus loop, so shutdown runs as ordinary code, not in a handler. */
static int setup_signals(node_t *node) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP); /* a closed terminal: shut down cleanly too */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    node->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (node->signal_fd < 0) {
        LOG_ERROR("node", "signalfd failed", LOG_STR("error", strerror(errno)));
        return NODE_EXIT_SOFTWARE;
    }
    return NODE_EXIT_OK;
}

int node_open(const node_config_t *config, node_t **out) {
    node_t *node = pbft_xcalloc(1, sizeof *node);
    node->config = *config;
    node->signal_fd = -1;
    pthread_mutex_init(&node->status_mutex, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&node->height_cond, &attr);
    pthread_condattr_destroy(&attr);
    node->inbox = inbox_new();
    node->latency = latency_new();
    if (getrandom(&node->rng_state, sizeof node->rng_state, 0) != sizeof node->rng_state) {
        node->rng_state = node_now_us() ^ (uint64_t)getpid();
    }
    env_init(node);
    int rc = setup_signals(node);
    if (rc == NODE_EXIT_OK) rc = load_genesis(node);
    if (rc == NODE_EXIT_OK) rc = load_key(node);
    if (rc == NODE_EXIT_OK) rc = open_store(node);
    if (rc == NODE_EXIT_OK) {
        node->verify = verify_pool_new(config->verify_threads, node->genesis.chain_id);
        node->storage = storage_start(node);
        node->safety_writer = safety_writer_start(node);
        rc = create_replica(node);
    }
    if (rc == NODE_EXIT_OK) rc = open_network(node);
    if (rc != NODE_EXIT_OK) {
        node_close(node);
        return rc;
    }
    *out = node;
    return NODE_EXIT_OK;
}

/* ------------------------------------------------------------------------ */
/* The consensus loop                                                        */

static void publish_status(node_t *node) {
    replica_status_t s;
    replica_get_status(node->replica, &s);
    pthread_mutex_lock(&node->status_mutex);
    /* One broadcast per height change (a block, or a state-transfer jump),
     * not per loop turn; glibc's broadcast without waiters is a few loads. */
    if (s.executed_height != node->status.executed_height)
        pthread_cond_broadcast(&node->height_cond);
    node->status = s;
    pthread_mutex_unlock(&node->status_mutex);
    snprintf(pbft_assert_context, sizeof pbft_assert_context, "replica=%u view=%llu height=%llu",
             (unsigned)s.replica, (unsigned long long)s.view,
             (unsigned long long)s.committed_height);
}

static int next_timeout_ms(const node_t *node, uint64_t now_ms) {
    uint64_t wait_ms = NODE_POLL_MS_MAX;
    for (int t = 0; t < REPLICA_TIMER_COUNT; t++) {
        if (!node->timer_armed[t]) continue;
        uint64_t due = node->timer_deadline_ms[t];
        uint64_t left = due > now_ms ? due - now_ms : 0;
        if (left < wait_ms) wait_ms = left;
    }
    return (int)wait_ms;
}

/* Five timer kinds: a scan over the array is the min-heap's whole job. */
static void fire_timers(node_t *node) {
    uint64_t now_ms = node_now_ms();
    for (int t = 0; t < REPLICA_TIMER_COUNT; t++) {
        if (node->timer_armed[t] && node->timer_deadline_ms[t] <= now_ms) {
            node->timer_armed[t] = false;
            replica_on_timer(node->replica, (replica_timer_t)t);
        }
    }
}

static void receive_frames(node_t *node) {
    for (int i = 0; i < NODE_RECV_BURST_MAX; i++) {
        uint16_t sender;
        const uint8_t *payload;
        size_t size;
        pbft_status_t st = net_recv(node->net, &sender, &payload, &size);
        if (st == PBFT_ERR_UNAVAILABLE) return;
        if (st == PBFT_OK) ingress_on_frame(node, sender, payload, size);
    }
}

static void read_signals(node_t *node) {
    struct signalfd_siginfo info;
    while (read(node->signal_fd, &info, sizeof info) == (ssize_t)sizeof info) {
        LOG_INFO("node", "shutting down", LOG_STR("signal", strsignal((int)info.ssi_signo)));
        node_request_stop(node, NODE_EXIT_OK);
    }
}

static void loop_once(node_t *node) {
    safety_turn_end(node); /* hand this turn's safety state to the writer */
    if (atomic_load(&node->stopping)) return;
    struct pollfd fds[3 + PBFT_REPLICA_COUNT_MAX];
    fds[0] = (struct pollfd){.fd = inbox_fd(node->inbox), .events = POLLIN};
    fds[1] = (struct pollfd){.fd = node->signal_fd, .events = POLLIN};
    fds[2] = (struct pollfd){.fd = net_recv_fd(node->net), .events = POLLIN};
    int backlog[PBFT_REPLICA_COUNT_MAX];
    size_t nb = net_backlog_fds(node->net, backlog, PBFT_REPLICA_COUNT_MAX);
    for (size_t i = 0; i < nb; i++)
        fds[3 + i] = (struct pollfd){.fd = backlog[i], .events = POLLIN};
    int rc = poll(fds, 3 + nb, next_timeout_ms(node, node_now_ms()));
    if (rc < 0 && errno != EINTR) {
        LOG_ERROR("node", "poll failed", LOG_STR("error", strerror(errno)));
        node_request_stop(node, NODE_EXIT_SOFTWARE);
        return;
    }
    if (rc > 0 && (fds[1].revents & POLLIN)) read_signals(node);
    inbox_drain(node->inbox, node);
    if (rc > 0 && (fds[2].revents & POLLIN)) receive_frames(node);
    bool writable = false;
    for (size_t i = 0; i < nb; i++)
        writable |= (fds[3 + i].revents & POLLIN) != 0;
    if (writable) net_flush(node->net);
    fire_timers(node);
    publish_status(node);
}

int node_run(node_t *node) {
    replica_start(node->replica);
    publish_status(node);
    atomic_store(&node->serving, true);
    LOG_INFO("node", "started", LOG_U64("replica", node->config.replica),
             LOG_STR("listen", node->config.listen), LOG_STR("http", node->config.http),
             LOG_U64("replicas", node->config.peer_count),
             LOG_U64("verify_threads", verify_pool_threads(node->verify)),
             LOG_U64("height", atomic_load(&node->stored_height)));
    while (!atomic_load(&node->stopping))
        loop_once(node);
    atomic_store(&node->serving, false);
    return atomic_load(&node->exit_code);
}

void node_close(node_t *node) {
    if (!node) return;
    atomic_store(&node->serving, false);
    atomic_store(&node->stopping, true);
    inbox_close(node->inbox, node); /* waiters get "unavailable" from here on */
    wake_height_waiters(node);      /* long-polls answer now, so http_stop does not wait */
    http_stop(node->http);
    storage_stop(node->storage); /* finishes the blocks already delivered */
    verify_pool_free(node->verify);
    ingress_clear(node);
    safety_writer_stop(node->safety_writer);
    safety_clear(node); /* unsent messages: their state may never have been written */
    replica_destroy(node->replica);
    net_close(node->net);
    if (node->store) {
        store_close(node->store);
        LOG_INFO("node", "store closed", LOG_U64("height", atomic_load(&node->stored_height)));
    }
    crypto_key_free(node->key);
    if (node->genesis_loaded) ledger_genesis_free(&node->genesis);
    latency_free(node->latency);
    inbox_free(node->inbox);
    if (node->signal_fd >= 0) close(node->signal_fd);
    pthread_cond_destroy(&node->height_cond);
    pthread_mutex_destroy(&node->status_mutex);
    free(node);
}

/* ------------------------------------------------------------------------ */
/* Calls from HTTP threads                                                   */

typedef struct submit_call {
    const pbft_tx_t *txs;
    const uint8_t (*ids)[PBFT_HASH_SIZE];
    size_t count;
    node_submit_t *out;
    bool *admit; /* admit[i]: hand txs[i] to consensus */
    inbox_waiter_t *waiter;
} submit_call_t;

static void on_submit(void *node_ptr, void *ctx, bool cancelled) {
    submit_call_t *call = ctx;
    node_t *node = node_ptr;
    uint64_t now_us = node_now_us();
    for (size_t i = 0; i < call->count; i++) {
        if (!call->admit[i]) continue;
        if (cancelled) {
            call->out[i] = NODE_SUBMIT_UNAVAILABLE;
            continue;
        }
        /* node_submit_txs found it absent from the store. */
        pbft_status_t st =
            replica_on_client_tx_unstored(node->replica, &call->txs[i], call->ids[i]);
        if (st == PBFT_OK) {
            call->out[i] = NODE_SUBMIT_QUEUED;
            latency_admit(node->latency, call->ids[i], now_us);
            atomic_fetch_add(&node->metrics.tx_submitted, 1);
        } else if (st == PBFT_ERR_DUPLICATE) {
            call->out[i] = NODE_SUBMIT_PENDING;
        } else if (st == PBFT_ERR_EXISTS) {
            call->out[i] = NODE_SUBMIT_COMMITTED; /* known committed (maybe not stored yet) */
        } else if (st == PBFT_ERR_FULL) {
            call->out[i] = NODE_SUBMIT_FULL;
            atomic_fetch_add(&node->metrics.tx_rejected_full, 1);
        } else {
            LOG_WARN_RL("consensus", "client tx refused", LOG_STATUS(st));
            call->out[i] = NODE_SUBMIT_UNAVAILABLE;
        }
    }
    inbox_waiter_signal(call->waiter);
}

void node_submit_txs(node_t *node, const pbft_tx_t *txs, const uint8_t (*ids)[PBFT_HASH_SIZE],
                     size_t count, node_submit_t *out, pbft_status_t *why) {
    pbft_status_t *results = pbft_xcalloc(count, sizeof *results);
    bool *admit = pbft_xcalloc(count, sizeof *admit);
    verify_batch_run(node->verify, txs, ids, count, results);
    size_t to_admit = 0;
    for (size_t i = 0; i < count; i++) {
        store_tx_location_t loc;
        if (why) why[i] = results[i];
        if (results[i] != PBFT_OK) {
            out[i] = NODE_SUBMIT_BAD_SIGNATURE;
            atomic_fetch_add(&node->metrics.tx_rejected_signature, 1);
        } else if (store_get_tx_location(node->store, ids[i], &loc) == PBFT_OK) {
            out[i] = NODE_SUBMIT_COMMITTED;
        } else {
            admit[i] = true;
            to_admit++;
        }
    }
    if (to_admit > 0) {
        submit_call_t call = {.txs = txs,
                              .ids = ids,
                              .count = count,
                              .out = out,
                              .admit = admit,
                              .waiter = inbox_waiter_new()};
        inbox_post(node->inbox, on_submit, &call);
        inbox_waiter_wait(call.waiter);
        inbox_waiter_free(call.waiter);
    }
    free(admit);
    free(results);
}

typedef struct pending_call {
    const uint8_t *id;
    bool pending;
    inbox_waiter_t *waiter;
} pending_call_t;

static void on_pending_query(void *node_ptr, void *ctx, bool cancelled) {
    pending_call_t *call = ctx;
    if (!cancelled) call->pending = replica_tx_pending(((node_t *)node_ptr)->replica, call->id);
    inbox_waiter_signal(call->waiter);
}

bool node_tx_pending(node_t *node, const uint8_t id[PBFT_HASH_SIZE]) {
    pending_call_t call = {.id = id, .pending = false, .waiter = inbox_waiter_new()};
    inbox_post(node->inbox, on_pending_query, &call);
    inbox_waiter_wait(call.waiter);
    inbox_waiter_free(call.waiter);
    return call.pending;
}

void node_get_status(node_t *node, node_status_t *out) {
    pthread_mutex_lock(&node->status_mutex);
    out->replica = node->status;
    pthread_mutex_unlock(&node->status_mutex);
    out->serving = atomic_load(&node->serving) && !atomic_load(&node->stopping);
    out->stored_height = atomic_load(&node->stored_height);
    memcpy(out->chain_id, node->genesis.chain_id, PBFT_CHAIN_ID_SIZE);
}

bool node_wait_height(node_t *node, uint64_t above, uint64_t wait_ms, node_status_t *out) {
    uint32_t cap = PBFT_MAX(node->config.http_connections_max / 2, 1u);
    if (atomic_fetch_add(&node->long_polls, 1) >= cap) {
        atomic_fetch_sub(&node->long_polls, 1);
        node_get_status(node, out);
        return false;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t)(wait_ms / 1000);
    deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&node->status_mutex);
    while (node->status.executed_height <= above && !atomic_load(&node->stopping)) {
        if (pthread_cond_timedwait(&node->height_cond, &node->status_mutex, &deadline) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&node->status_mutex);
    atomic_fetch_sub(&node->long_polls, 1);
    node_get_status(node, out);
    return true;
}

store_t *node_store(node_t *node) {
    return node->store;
}

const pbft_genesis_t *node_genesis(const node_t *node) {
    return &node->genesis;
}

metrics_t *node_metrics(node_t *node) {
    return &node->metrics;
}
