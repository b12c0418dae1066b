/*
 * tools/load/load.h — internals of `pbft-load`, the load generator behind
 * tests/bench/cluster.sh and docs/BENCHMARKS.md.
 *
 * Shape of a run: load K funded keys from a testnet keystore and the chain id
 * from its genesis; fetch each used account's nonce once; pre-sign every
 * transaction (so signing never competes with the replicas during timing);
 * then drive `POST /txs` batches over keep-alive libcurl handles, round-robin
 * over the replicas, while one watcher thread polls one replica's `/status`
 * and fetches each new `/block/{h}` to learn when every tx was committed.
 *
 * At most one transaction per account is in flight at any moment (tx i waits
 * for tx i-K of the same account to be seen committed), so nonces can never
 * arrive out of order at the primary whatever path each batch takes.
 */
#ifndef PBFT_TOOLS_LOAD_H
#define PBFT_TOOLS_LOAD_H

#include <pthread.h>
#include <stdatomic.h>

#include "pbft/common.h"
#include "pbft/crypto.h"
#include "pbft/types.h"

#define LOAD_REPLICA_COUNT_MAX PBFT_REPLICA_COUNT_MAX
#define LOAD_URL_SIZE_MAX 256
#define LOAD_PATH_SIZE_MAX 1024
#define LOAD_ACCOUNT_COUNT_MAX PBFT_GENESIS_ACCOUNT_COUNT_MAX
#define LOAD_TX_COUNT_MAX 16000000u /* pre-signed, ~230 bytes each: 3.7 GB at most */
#define LOAD_TIMELINE_MAX 120       /* slices of the open loop's latency timeline */
#define LOAD_THREAD_COUNT_MAX 64
#define LOAD_BATCH_TX_COUNT_MAX PBFT_HTTP_BATCH_TX_COUNT_MAX
#define LOAD_CONCURRENCY_MAX 256
#define LOAD_HTTP_RESPONSE_SIZE_MAX (256u * 1024u * 1024u)
#define LOAD_HTTP_TIMEOUT_MS 15000
/* Every tx the generator signs has an empty memo: a fixed wire size. */
#define LOAD_TX_HEX_SIZE (2 * PBFT_TX_SIZE_MIN)

/* ------------------------------------------------------------------------ */
/* Clock                                                                      */

uint64_t load_now_ns(void);
void load_sleep_ns(uint64_t ns);

/* ------------------------------------------------------------------------ */
/* HTTP (libcurl easy handle; one per thread; keep-alive to every replica)   */

typedef struct load_http {
    void *curl;           /* CURL * */
    void *json_headers;   /* struct curl_slist * */
    void *binary_headers; /* struct curl_slist * */
    char *body;
    size_t body_size;
    size_t body_capacity;
    bool body_overflow;
    long code;       /* HTTP status of the last request; 0 on transport error */
    char error[256]; /* transport error text */
} load_http_t;

void load_http_global_init(void);
void load_http_init(load_http_t *h);
void load_http_free(load_http_t *h);
/* PBFT_OK when the request completed (any HTTP status; see h->code), the
 * body NUL-terminated in h->body. PBFT_ERR_NETWORK on a transport error. */
PBFT_MUST_USE pbft_status_t load_http_get(load_http_t *h, const char *url);
PBFT_MUST_USE pbft_status_t load_http_post_json(load_http_t *h, const char *url, const char *body,
                                                size_t size);
/* The same with Content-Type: application/octet-stream. */
PBFT_MUST_USE pbft_status_t load_http_post_binary(load_http_t *h, const char *url, const char *body,
                                                  size_t size);

/* Parses a JSON number or decimal string field. False when absent/invalid. */
struct json_t;
bool load_json_u64(const struct json_t *obj, const char *key, uint64_t *out);

typedef struct load_status {
    uint64_t height;
    uint64_t view;
    uint64_t view_changes;
    uint64_t mempool_size;
    bool catching_up;
    bool has_view_changes;
} load_status_t;

/* GET base/status. */
PBFT_MUST_USE pbft_status_t load_get_status(load_http_t *h, const char *base, load_status_t *out);
/* GET base/status?after=A&wait_ms=W: answered once the height is above A,
 * or after W ms (W < LOAD_HTTP_TIMEOUT_MS). W = 0 is load_get_status. */
PBFT_MUST_USE pbft_status_t load_wait_status(load_http_t *h, const char *base, uint64_t after,
                                             uint32_t wait_ms, load_status_t *out);
/* GET base/account/ADDR -> nonce. */
PBFT_MUST_USE pbft_status_t load_get_nonce(load_http_t *h, const char *base,
                                           const uint8_t address[PBFT_ADDRESS_SIZE],
                                           uint64_t *nonce);
/* GET base/metrics and sums every `name{...} value` sample; false when the
 * metric is absent. */
bool load_get_metric_sum(load_http_t *h, const char *base, const char *name, double *out);

/* Calls fn for each tx of a committed block: id (binary) and result name. */
typedef void (*load_block_tx_fn)(void *ctx, const uint8_t id[PBFT_HASH_SIZE], bool ok);
typedef struct load_block_info {
    uint64_t height;
    uint64_t tx_count;
    uint64_t timestamp_ms;
} load_block_info_t;
/* GET base/block/H. fn may be NULL (header only). PBFT_ERR_NOT_FOUND on 404. */
PBFT_MUST_USE pbft_status_t load_get_block(load_http_t *h, const char *base, uint64_t height,
                                           load_block_tx_fn fn, void *ctx, load_block_info_t *out);

/* ------------------------------------------------------------------------ */
/* Keystore, genesis, plan of pre-signed transactions                        */

typedef struct load_account {
    crypto_key_t *key;
    uint8_t pubkey[PBFT_PUBKEY_SIZE];
    uint8_t address[PBFT_ADDRESS_SIZE];
    uint64_t nonce; /* the account's nonce when the run started */
} load_account_t;

typedef struct load_keystore {
    uint8_t chain_id[PBFT_CHAIN_ID_SIZE];
    size_t account_count;
    load_account_t *accounts;
    size_t url_count;
    char urls[LOAD_REPLICA_COUNT_MAX][LOAD_URL_SIZE_MAX]; /* "http://host:port" */
} load_keystore_t;

/* Loads up to max_accounts keys from DIR/accounts/NAME.pem (sorted by name),
 * the chain id from DIR/accounts/genesis.json and, when keystore->url_count
 * is 0, the replica URLs from DIR/testnet.json. err gets a sentence. */
PBFT_MUST_USE pbft_status_t load_keystore_open(const char *dir, size_t max_accounts,
                                               load_keystore_t *ks, char *err, size_t err_size);
void load_keystore_free(load_keystore_t *ks);
/* Splits "URL,URL,..." into ks->urls (adds http:// when missing). */
PBFT_MUST_USE pbft_status_t load_parse_urls(const char *list, load_keystore_t *ks);
/* Fetches the nonce of accounts[0..count) with `threads` parallel handles. */
PBFT_MUST_USE pbft_status_t load_fetch_nonces(load_keystore_t *ks, size_t count, size_t threads,
                                              char *err, size_t err_size);

typedef enum load_tx_state {
    LOAD_TX_UNSENT = 0,
    LOAD_TX_SENT,
    LOAD_TX_COMMITTED,
    LOAD_TX_REJECTED, /* the API refused it (not counted as committed) */
    LOAD_TX_LOST,     /* accepted but not seen committed before the deadline */
} load_tx_state_t;

typedef struct load_tx {
    uint8_t id[PBFT_HASH_SIZE];
    uint64_t sched_ns; /* when it was due (open loop) or claimed (closed loop) */
    uint64_t sent_ns;
    uint64_t answered_ns; /* the POST that carried it was answered (last try) */
    uint64_t commit_ns;
    uint8_t state; /* load_tx_state_t; guarded by the run mutex */
    bool result_ok;
} load_tx_t;

/* Transactions come in groups of `group` consecutive nonces of one account:
 * tx i is sent by account a = (i / group) % account_count with nonce
 * accounts[a].nonce + (i / (group * account_count)) * group + i % group, to
 * the next account's address. The same account's previous group is
 * load_plan_stride() txs earlier. With group 1 that is i % account_count. */
typedef struct load_plan {
    size_t tx_count;
    size_t account_count;
    size_t group;
    load_tx_t *txs;
    uint8_t *bytes; /* tx_count * PBFT_TX_SIZE_MIN: tx i's wire encoding */
    /* open-addressing index id -> tx, for matching block contents */
    uint32_t *slots;
    size_t slot_mask;
} load_plan_t;

/* Signs tx_count transactions over account_count accounts in groups of
 * `group` (threads in parallel). Every account must have a fetched nonce. */
PBFT_MUST_USE pbft_status_t load_plan_build(const load_keystore_t *ks, size_t account_count,
                                            size_t group, size_t tx_count, size_t threads,
                                            load_plan_t *out, char *err, size_t err_size);
static inline size_t load_plan_stride(const load_plan_t *p) {
    return p->account_count * p->group;
}
static inline size_t load_plan_account(const load_plan_t *p, size_t i) {
    return (i / p->group) % p->account_count;
}
static inline uint64_t load_plan_nonce_offset(const load_plan_t *p, size_t i) {
    return (uint64_t)(i / load_plan_stride(p)) * p->group + i % p->group;
}
void load_plan_free(load_plan_t *p);
/* Index of the tx with this id, or SIZE_MAX. */
size_t load_plan_find(const load_plan_t *p, const uint8_t id[PBFT_HASH_SIZE]);
/* Builds `{"txs":["..",..]}` for txs idx[0..count) into buf (grown as needed). */
size_t load_batch_body(const load_plan_t *p, const size_t *idx, size_t count, char **buf,
                       size_t *capacity);
/* The binary form of the same batch: the txs' bytes back to back. */
size_t load_batch_body_binary(const load_plan_t *p, const size_t *idx, size_t count, char **buf,
                              size_t *capacity);

/* ------------------------------------------------------------------------ */
/* Runs                                                                       */

typedef enum load_mode { LOAD_MODE_CLOSED = 1, LOAD_MODE_OPEN = 2 } load_mode_t;

/* Where a replica's CPU goes, by the thread that spent it. */
typedef enum load_cpu_class {
    LOAD_CPU_VERIFY,    /* pbftd-verifyN: tx signature checks */
    LOAD_CPU_CONSENSUS, /* the main thread: PBFT, network I/O, message signatures */
    LOAD_CPU_STORAGE,   /* pbftd-storage: execution and the synced block write */
    LOAD_CPU_SAFETY,    /* pbftd-safety: the synced safety-state write */
    LOAD_CPU_ROCKSDB,   /* rocksdb:*: memtable flushes and compactions */
    LOAD_CPU_HTTP,      /* MHD-*: the API, live and exited connection threads */
    LOAD_CPU_OTHER,     /* anything else (nanomsg's worker) */
    LOAD_CPU_CLASS_COUNT
} load_cpu_class_t;

typedef struct load_config {
    load_mode_t mode;
    uint32_t concurrency;    /* closed: outstanding batches */
    double rate_tps;         /* open: offered tx/s */
    uint32_t batch;          /* txs per POST (closed: exactly; open: at most) */
    uint32_t group;          /* closed: txs per account in one batch (nonce order) */
    double seconds;          /* measured window */
    double warmup_seconds;   /* closed loop only */
    double drain_seconds;    /* after the window: wait this long for commits */
    uint32_t sender_threads; /* open loop */
    double linger_ms;        /* open: post once the oldest due tx is this late (or B are due) */
    uint32_t watch;          /* replica index whose API the watcher polls */
    uint32_t poll_ms;        /* 0: the watcher long-polls /status?after= */
    bool binary;             /* POST /txs as application/octet-stream, not JSON */
    size_t pid_count;
    int pids[LOAD_REPLICA_COUNT_MAX];
    const char *label;
} load_config_t;

typedef struct load_result {
    uint64_t planned;
    uint64_t sent;
    uint64_t committed_ours; /* our txs seen committed (any time) */
    uint64_t committed_fail; /* ... of which with a failure result */
    uint64_t rejected;
    uint64_t lost;
    uint64_t retries;
    uint64_t http_errors;
    bool exhausted; /* closed loop ran out of pre-signed txs */
    double window_s;
    uint64_t window_txs; /* txs in blocks seen during the window */
    uint64_t window_blocks;
    double tps;
    double blocks_per_s;
    double txs_per_block;
    double offered_tps; /* open loop */
    double sent_tps;
    double lag_p99_ms; /* open: how late sends were against schedule */
    bool sustained;
    double lat_ms[4]; /* p50 p90 p99 max (submit -> seen committed) */
    uint64_t lat_count;
    /* The same txs, submit -> their POST answered: the part of lat_ms spent
     * before the tx was verified and in a replica's mempool. */
    double answer_ms[4];
    /* Open loop: the schedule cut into timeline_count slices of timeline_s
     * seconds; per slice, the txs due in it that were sent and that were
     * seen committed, and the p99 latency of the latter (0 if none). A
     * stall shows as a few slices with high p99, saturation as a climb. */
    double timeline_s;
    size_t timeline_count;
    uint32_t timeline_sent[LOAD_TIMELINE_MAX];
    uint32_t timeline_committed[LOAD_TIMELINE_MAX];
    double timeline_p99_ms[LOAD_TIMELINE_MAX];
    double cpu_s; /* replicas' utime+stime during the window */
    double cpu_s_per_tx;
    double cpu_class_s[LOAD_CPU_CLASS_COUNT]; /* cpu_s split by thread (load_cpu_class_t) */
    double loadgen_cpu_s;
    double system_cpu_s;   /* every process on the machine, in the window */
    uint64_t view_changes; /* summed over replicas, during the run */
    bool view_changes_known;
    uint64_t height_start;
    uint64_t height_end;
} load_result_t;

PBFT_MUST_USE pbft_status_t load_run(const load_keystore_t *ks, load_plan_t *plan,
                                     const load_config_t *cfg, load_result_t *out);

/* ------------------------------------------------------------------------ */
/* Figures                                                                    */

/* Sorts values in place; returns the q-quantile (nearest rank), 0 if none. */
double load_percentile(double *values, size_t count, double q);
/* Width in seconds of the timeline's slices for a window of window_s: 1 s,
 * or wider so that at most LOAD_TIMELINE_MAX slices cover it. */
double load_timeline_slice_s(double window_s);

/* Open loop: how many txs may have been sent by now. A group goes out once
 * its last tx is due (never split over two POSTs, so an account's nonces
 * reach a replica in order), and never beyond `end`. */
size_t load_open_due(size_t scheduled, size_t group, size_t end);
/* Open loop: when a sender with `due` txs due, the oldest scheduled at
 * oldest_sched_ns, should post them: 0 = now (a full batch, the schedule's
 * last txs, or the oldest is linger_ms late), else the time to wait until
 * so the POST fills. */
uint64_t load_linger_until(const load_config_t *cfg, uint64_t now_ns, uint64_t oldest_sched_ns,
                           size_t due, bool last);
/* CPU time the calling thread has used, in nanoseconds. */
uint64_t load_thread_cpu_ns(void);
/* utime+stime of a process in seconds; false if it cannot be read. */
bool load_proc_cpu_s(int pid, double *out);
/* Adds a replica's CPU seconds so far, split by thread (pbftd names its
 * threads), to out[LOAD_CPU_CLASS_COUNT]. Threads that have exited (HTTP
 * connection threads) count as LOAD_CPU_HTTP: the process total minus its
 * live threads. False if the process cannot be read. */
bool load_proc_cpu_classes(int pid, double *out);
extern const char *const load_cpu_class_names[LOAD_CPU_CLASS_COUNT];
/* CPU seconds all processes spent (all cores, from /proc/stat). */
bool load_system_busy_s(double *out);
/* ECDSA verifies/s through crypto_verify_digest over `threads` threads with a
 * warm key cache (wall clock), and verifies per CPU-second the threads were
 * actually given (what one core does when nothing else competes for it). */
PBFT_MUST_USE pbft_status_t load_verify_rate(size_t threads, double seconds, double *per_s,
                                             double *per_cpu_s, uint64_t *verifies);
/* Checks the generator's own pieces without a cluster; prints what failed. */
int load_self_check(void);

#endif /* PBFT_TOOLS_LOAD_H */
