/*
 * node/init.c — `pbftd testnet` and `pbftd init`: generate keys, one genesis
 * and the replica homes of a local network (see node/init.h and the testnet
 * directory contract in the brief).
 *
 * Everything is created with O_EXCL: these commands never overwrite a key,
 * a genesis or a config, because silently replacing a node key or genesis
 * under a running replica is how a chain gets forked by accident.
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pbft/common.h"
#include "pbft/crypto.h"
#include "pbft/ledger.h"
#include "pbft/types.h"

#define INIT_EXIT_OK 0
#define INIT_EXIT_FAIL 1
#define INIT_EXIT_USAGE 64
#define INIT_EXIT_CANTCREAT 73

#define INIT_ACCOUNT_COUNT_MAX 1000
#define INIT_PATH_SIZE_MAX 4096
#define INIT_PORT_DEFAULT 26600
#define INIT_BALANCE_DEFAULT 1000000000ull
#define INIT_ACCOUNTS_DEFAULT 4

typedef struct init_options {
    const char *dir;
    uint32_t replica_count;
    uint32_t base_port;
    uint32_t account_count;
    uint64_t balance;
    const char *chain_name;
    pbft_consensus_params_t params;
} init_options_t;

typedef struct init_account {
    char name[32];
    uint8_t address[PBFT_ADDRESS_SIZE];
    char key_file[INIT_PATH_SIZE_MAX];
} init_account_t;

/* ------------------------------------------------------------------------ */
/* Small file helpers                                                         */

/* snprintf into a path buffer; a path that does not fit is fatal to the
 * command (reported, never truncated silently). */
PBFT_PRINTF(2, 3) static bool path_fmt(char *out, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, INIT_PATH_SIZE_MAX, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= INIT_PATH_SIZE_MAX) {
        fprintf(stderr, "error: path too long\n");
        out[0] = '\0';
        return false;
    }
    return true;
}

static int path_join(char *out, const char *dir, const char *name) {
    return path_fmt(out, "%s/%s", dir, name) ? 0 : -1;
}

/* Creates dir with mode, or accepts an existing directory. */
static int make_dir(const char *path, mode_t mode) {
    PBFT_ASSERT(path != NULL);
    if (mkdir(path, mode) == 0) return 0;
    struct stat st;
    if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
    fprintf(stderr, "error: cannot create directory %s: %s\n", path, strerror(errno));
    return -1;
}

/* Writes text to a new file (O_EXCL): an existing file is an error. */
static int write_new_file(const char *path, const char *text, mode_t mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        fprintf(stderr, "error: cannot create %s: %s%s\n", path, strerror(errno),
                errno == EEXIST ? " (refusing to overwrite)" : "");
        return -1;
    }
    size_t size = strlen(text), done = 0;
    while (done < size) {
        ssize_t w = write(fd, text + done, size - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            fprintf(stderr, "error: writing %s: %s\n", path, strerror(errno));
            close(fd);
            return -1;
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fprintf(stderr, "error: writing %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static bool path_exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Generates a key, saves it (0600, never overwriting) and returns its public key. */
static int new_key_file(const char *path, uint8_t pubkey[PBFT_PUBKEY_SIZE]) {
    crypto_key_t *key = crypto_key_generate();
    if (!key) {
        fprintf(stderr, "error: key generation failed\n");
        return -1;
    }
    pbft_status_t st = crypto_key_save(key, path);
    if (st == PBFT_OK) crypto_key_public(key, pubkey);
    crypto_key_free(key);
    if (st != PBFT_OK) {
        fprintf(stderr, "error: cannot save key %s: %s%s\n", path, pbft_status_string(st),
                st == PBFT_ERR_EXISTS ? " (refusing to overwrite)" : "");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Option parsing                                                             */

static bool parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out) {
    if (!text || !*text || *text == '-') return false;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end || v < min || v > max) return false;
    *out = v;
    return true;
}

static void default_params(pbft_consensus_params_t *p) {
    p->checkpoint_interval = 64;
    /* Under load a block is cut every batch_delay_ms, and each costs every
     * replica signatures, messages and synced writes whatever its size:
     * 75 ms spends about 5% less CPU per tx than 50 ms at 5,200 tx/s on the
     * benchmark machine, for 25 ms more latency at that load (idle txs
     * still go out at once; docs/PROTOCOL.md, Batching). */
    p->batch_max = 750;
    p->batch_delay_ms = 75;
    p->window = 8;
    p->view_change_timeout_ms = 2000;
    p->request_timeout_ms = 4000;
}

enum {
    OPT_BASE_PORT = 1000,
    OPT_ACCOUNTS,
    OPT_BALANCE,
    OPT_CHAIN_NAME,
    OPT_CHECKPOINT_INTERVAL,
    OPT_BATCH_MAX,
    OPT_BATCH_DELAY_MS,
    OPT_WINDOW,
    OPT_VIEW_CHANGE_TIMEOUT_MS,
    OPT_REQUEST_TIMEOUT_MS,
};

static const struct option init_long_options[] = {
    {"dir", required_argument, NULL, 'd'},
    {"home", required_argument, NULL, 'd'},
    {"replicas", required_argument, NULL, 'n'},
    {"base-port", required_argument, NULL, OPT_BASE_PORT},
    {"accounts", required_argument, NULL, OPT_ACCOUNTS},
    {"balance", required_argument, NULL, OPT_BALANCE},
    {"chain-name", required_argument, NULL, OPT_CHAIN_NAME},
    {"checkpoint-interval", required_argument, NULL, OPT_CHECKPOINT_INTERVAL},
    {"batch-max", required_argument, NULL, OPT_BATCH_MAX},
    {"batch-delay-ms", required_argument, NULL, OPT_BATCH_DELAY_MS},
    {"window", required_argument, NULL, OPT_WINDOW},
    {"view-change-timeout-ms", required_argument, NULL, OPT_VIEW_CHANGE_TIMEOUT_MS},
    {"request-timeout-ms", required_argument, NULL, OPT_REQUEST_TIMEOUT_MS},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void print_usage(bool testnet) {
    if (testnet) {
        printf("usage: pbftd testnet --dir DIR [-n 4] [--base-port 26600] [--accounts 4]\n"
               "                     [--balance 1000000000] [--chain-name NAME]\n");
    } else {
        printf("usage: pbftd init --home DIR [--base-port 26600] [--balance 1000000000]\n"
               "                  [--chain-name NAME]\n");
    }
    printf("consensus parameters (written into genesis):\n"
           "  --checkpoint-interval 64  --batch-max 750  --batch-delay-ms 75  --window 8\n"
           "  --view-change-timeout-ms 2000  --request-timeout-ms 4000\n"
           "Replica i listens on tcp://127.0.0.1:(P+2i) and serves HTTP on 127.0.0.1:(P+2i+1).\n"
           "Never overwrites an existing file.\n");
}

/* Applies one parsed option; returns false on a bad value. */
static bool apply_option(init_options_t *o, int c, const char *arg) {
    uint64_t v = 0;
    pbft_consensus_params_t *p = &o->params;
    switch (c) {
        case 'd':
            o->dir = arg;
            return true;
        case 'n':
            if (!parse_u64(arg, PBFT_REPLICA_COUNT_MIN, PBFT_REPLICA_COUNT_MAX, &v)) return false;
            o->replica_count = (uint32_t)v;
            return true;
        case OPT_BASE_PORT:
            if (!parse_u64(arg, 1, 65535 - 2 * PBFT_REPLICA_COUNT_MAX, &v)) return false;
            o->base_port = (uint32_t)v;
            return true;
        case OPT_ACCOUNTS:
            if (!parse_u64(arg, 0, INIT_ACCOUNT_COUNT_MAX, &v)) return false;
            o->account_count = (uint32_t)v;
            return true;
        case OPT_BALANCE:
            return parse_u64(arg, 0, UINT64_MAX, &o->balance);
        case OPT_CHAIN_NAME:
            o->chain_name = arg;
            return strlen(arg) >= 1 && strlen(arg) <= PBFT_CHAIN_NAME_SIZE_MAX;
        default:
            break;
    }
    if (!parse_u64(arg, 0, UINT32_MAX, &v)) return false;
    switch (c) {
        case OPT_CHECKPOINT_INTERVAL:
            p->checkpoint_interval = (uint32_t)v;
            return true;
        case OPT_BATCH_MAX:
            p->batch_max = (uint32_t)v;
            return true;
        case OPT_BATCH_DELAY_MS:
            p->batch_delay_ms = (uint32_t)v;
            return true;
        case OPT_WINDOW:
            p->window = (uint32_t)v;
            return true;
        case OPT_VIEW_CHANGE_TIMEOUT_MS:
            p->view_change_timeout_ms = (uint32_t)v;
            return true;
        case OPT_REQUEST_TIMEOUT_MS:
            p->request_timeout_ms = (uint32_t)v;
            return true;
        default:
            return false;
    }
}

static const char *check_options(const init_options_t *o) {
    const pbft_consensus_params_t *p = &o->params;
    if (!o->dir) return "missing --dir";
    if (o->replica_count % 3 != 1) return "-n must be 3f+1 (1, 4, 7, 10, 13 or 16)";
    if (p->checkpoint_interval < 1 || p->checkpoint_interval > PBFT_CHECKPOINT_INTERVAL_MAX)
        return "--checkpoint-interval out of range";
    if (p->batch_max < 1 || p->batch_max > PBFT_BLOCK_TX_COUNT_MAX)
        return "--batch-max out of range";
    if (p->window < 1 || p->window > PBFT_WINDOW_MAX || p->window > p->checkpoint_interval)
        return "--window must be 1..16 and <= --checkpoint-interval";
    if (p->view_change_timeout_ms == 0 || p->request_timeout_ms == 0) return "timeouts must be > 0";
    if (o->account_count > 0 && o->balance > UINT64_MAX / o->account_count)
        return "--balance times --accounts overflows the supply";
    return NULL;
}

/* Returns -1 on success (continue), else an exit status. */
static int parse_options(int argc, char **argv, bool testnet, init_options_t *o) {
    memset(o, 0, sizeof(*o));
    o->replica_count = testnet ? 4 : 1;
    o->base_port = INIT_PORT_DEFAULT;
    o->account_count = testnet ? INIT_ACCOUNTS_DEFAULT : 1;
    o->balance = INIT_BALANCE_DEFAULT;
    o->chain_name = testnet ? "pbft-testnet" : "pbft-dev";
    default_params(&o->params);
    optind = 0; /* GNU: full re-initialisation, main.c may have used getopt */
    int c;
    while ((c = getopt_long(argc, argv, testnet ? "d:n:h" : "d:h", init_long_options, NULL)) !=
           -1) {
        if (c == 'h') {
            print_usage(testnet);
            return INIT_EXIT_OK;
        }
        if (c == '?' || !apply_option(o, c, optarg)) {
            if (c != '?') fprintf(stderr, "error: bad value for an option: %s\n", optarg);
            print_usage(testnet);
            return INIT_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "error: unexpected argument %s\n", argv[optind]);
        return INIT_EXIT_USAGE;
    }
    if (!testnet) {
        o->replica_count = 1;
        o->account_count = 1;
    }
    const char *problem = check_options(o);
    if (problem) {
        fprintf(stderr, "error: %s\n", problem);
        print_usage(testnet);
        return INIT_EXIT_USAGE;
    }
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Generation                                                                 */

static void account_name(uint32_t index, char *out, size_t size) {
    static const char *const names[] = {"alice", "bob", "carol", "dave", "erin"};
    if (index < PBFT_ARRAY_COUNT(names))
        snprintf(out, size, "%s", names[index]);
    else
        snprintf(out, size, "acct%" PRIu32, index);
}

static int compare_accounts(const void *a, const void *b) {
    return memcmp(((const pbft_account_t *)a)->address, ((const pbft_account_t *)b)->address,
                  PBFT_ADDRESS_SIZE);
}

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void home_path(const init_options_t *o, bool testnet, uint32_t i, char *out) {
    if (testnet)
        path_fmt(out, "%s/node%" PRIu32, o->dir, i);
    else
        path_fmt(out, "%s", o->dir);
}

static int make_node_keys(const init_options_t *o, bool testnet, pbft_genesis_t *g) {
    char home[INIT_PATH_SIZE_MAX], path[INIT_PATH_SIZE_MAX];
    g->validators.count = (uint16_t)o->replica_count;
    for (uint32_t i = 0; i < o->replica_count; i++) {
        home_path(o, testnet, i, home);
        if (make_dir(home, 0700) != 0 || path_join(path, home, "node_key.pem") != 0) return -1;
        if (new_key_file(path, g->validators.pubkeys[i]) != 0) return -1;
    }
    return 0;
}

static int make_accounts(const init_options_t *o, pbft_genesis_t *g, init_account_t *accts) {
    char dir[INIT_PATH_SIZE_MAX];
    if (path_join(dir, o->dir, "accounts") != 0 || make_dir(dir, 0700) != 0) return -1;
    if (chmod(dir, 0700) != 0) return -1;
    g->account_count = o->account_count;
    g->accounts = pbft_xcalloc(o->account_count, sizeof(pbft_account_t));
    for (uint32_t i = 0; i < o->account_count; i++) {
        uint8_t pubkey[PBFT_PUBKEY_SIZE];
        char file[48];
        account_name(i, accts[i].name, sizeof(accts[i].name));
        snprintf(file, sizeof(file), "%s.pem", accts[i].name);
        if (path_join(accts[i].key_file, dir, file) != 0) return -1;
        if (new_key_file(accts[i].key_file, pubkey) != 0) return -1;
        crypto_address(pubkey, accts[i].address);
        memcpy(g->accounts[i].address, accts[i].address, PBFT_ADDRESS_SIZE);
        g->accounts[i].balance = o->balance;
        g->accounts[i].nonce = 0;
    }
    qsort(g->accounts, g->account_count, sizeof(pbft_account_t), compare_accounts);
    for (uint32_t i = 1; i < g->account_count; i++) {
        if (memcmp(g->accounts[i - 1].address, g->accounts[i].address, PBFT_ADDRESS_SIZE) == 0) {
            fprintf(stderr, "error: two generated accounts share an address\n");
            return -1;
        }
    }
    return 0;
}

/* A testnet's replicas share one machine and its disk, so they share this
 * much of RocksDB's background writes (docs/OPERATIONS.md): on the 2-core
 * benchmark VM, the four replicas flush their memtables at the same moment,
 * and uncapped that moment's p99 commit latency was 321-739 ms at 5,000
 * tx/s; capped at 8 MB/s each, 222-245 ms. */
#define INIT_TESTNET_STORE_WRITE_MB 32u

static int write_config(const init_options_t *o, bool testnet, uint32_t i) {
    char home[INIT_PATH_SIZE_MAX], path[INIT_PATH_SIZE_MAX];
    home_path(o, testnet, i, home);
    if (path_join(path, home, "config.ini") != 0) return -1;
    /* n is 3f+1 in 1..16 (checked above): 2..32 MB/s each */
    uint32_t write_mb = testnet ? INIT_TESTNET_STORE_WRITE_MB / o->replica_count : 0;
    size_t cap = 4096;
    char *text = pbft_xmalloc(cap);
    int n = snprintf(text, cap,
                     "; generated by pbftd %s\n[node]\nreplica = %" PRIu32
                     "\nlisten = tcp://127.0.0.1:%" PRIu32 "\nhttp = 127.0.0.1:%" PRIu32
                     "\ndata_dir = data\nkey_file = node_key.pem\nlog_level = info\n"
                     "log_format = logfmt\nverify_threads = 0\nmempool_max = 100000\n"
                     "store_write_mb_per_s = %" PRIu32 "\n\n[peers]\n",
                     testnet ? "testnet" : "init", i, o->base_port + 2 * i,
                     o->base_port + 2 * i + 1, write_mb);
    for (uint32_t j = 0; j < o->replica_count; j++) {
        n += snprintf(text + n, cap - (size_t)n, "%" PRIu32 " = tcp://127.0.0.1:%" PRIu32 "\n", j,
                      o->base_port + 2 * j);
    }
    int rc = write_new_file(path, text, 0644);
    free(text);
    return rc;
}

static int write_genesis_copies(const init_options_t *o, bool testnet, const pbft_genesis_t *g) {
    char home[INIT_PATH_SIZE_MAX], path[INIT_PATH_SIZE_MAX];
    for (uint32_t i = 0; i < o->replica_count; i++) {
        home_path(o, testnet, i, home);
        if (path_join(path, home, "genesis.json") != 0) return -1;
        pbft_status_t st = ledger_genesis_write(g, path);
        if (st != PBFT_OK) {
            fprintf(stderr, "error: cannot write %s: %s\n", path, pbft_status_string(st));
            return -1;
        }
    }
    path_fmt(home, "%s/accounts", o->dir);
    if (path_join(path, home, "genesis.json") != 0) return -1;
    pbft_status_t st = ledger_genesis_write(g, path);
    if (st != PBFT_OK) {
        fprintf(stderr, "error: cannot write %s: %s\n", path, pbft_status_string(st));
        return -1;
    }
    return 0;
}

static json_t *u64_json(uint64_t v) {
    char text[24];
    snprintf(text, sizeof(text), "%" PRIu64, v);
    return json_string(text);
}

static json_t *hex_json(const uint8_t *bytes, size_t size) {
    char text[2 * PBFT_HASH_SIZE + 1];
    PBFT_ASSERT(size <= PBFT_HASH_SIZE);
    crypto_hex_encode(bytes, size, text);
    return json_string(text);
}

static json_t *replicas_json(const init_options_t *o, bool testnet) {
    json_t *replicas = json_array();
    char home[INIT_PATH_SIZE_MAX], text[INIT_PATH_SIZE_MAX + 32];
    for (uint32_t i = 0; i < o->replica_count; i++) {
        json_t *r = json_object();
        home_path(o, testnet, i, home);
        json_object_set_new(r, "index", json_integer(i));
        snprintf(text, sizeof(text), "127.0.0.1:%" PRIu32, o->base_port + 2 * i + 1);
        json_object_set_new(r, "http", json_string(text));
        snprintf(text, sizeof(text), "tcp://127.0.0.1:%" PRIu32, o->base_port + 2 * i);
        json_object_set_new(r, "listen", json_string(text));
        json_object_set_new(r, "home", json_string(home));
        path_fmt(text, "%s/pbftd.pid", home);
        json_object_set_new(r, "pid_file", json_string(text));
        path_fmt(text, "%s/pbftd.log", home);
        json_object_set_new(r, "log_file", json_string(text));
        json_array_append_new(replicas, r);
    }
    return replicas;
}

static int write_testnet_json(const init_options_t *o, bool testnet, const pbft_genesis_t *g,
                              const init_account_t *accts) {
    json_t *root = json_object();
    json_object_set_new(root, "chain_name", json_string(g->chain_name));
    json_object_set_new(root, "chain_id", hex_json(g->chain_id, PBFT_CHAIN_ID_SIZE));
    json_object_set_new(root, "replicas", replicas_json(o, testnet));
    json_t *accounts = json_array();
    char addr[2 * PBFT_ADDRESS_SIZE + 1], keystore[INIT_PATH_SIZE_MAX];
    for (uint32_t i = 0; i < o->account_count; i++) {
        json_t *a = json_object();
        crypto_hex_encode(accts[i].address, PBFT_ADDRESS_SIZE, addr);
        json_object_set_new(a, "name", json_string(accts[i].name));
        json_object_set_new(a, "address", json_string(addr));
        json_object_set_new(a, "key_file", json_string(accts[i].key_file));
        json_object_set_new(a, "balance", u64_json(o->balance));
        json_array_append_new(accounts, a);
    }
    json_object_set_new(root, "accounts", accounts);
    path_fmt(keystore, "%s/accounts", o->dir);
    json_object_set_new(root, "keystore", json_string(keystore));
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text) return -1;
    char path[INIT_PATH_SIZE_MAX];
    int rc = path_join(path, o->dir, testnet ? "testnet.json" : "dev.json");
    if (rc == 0) {
        size_t len = strlen(text);
        char *with_newline = pbft_xmalloc(len + 2);
        snprintf(with_newline, len + 2, "%s\n", text);
        rc = write_new_file(path, with_newline, 0644);
        free(with_newline);
    }
    free(text);
    return rc;
}

/* Refuses up front when the directory already holds anything we would make,
 * so a refused run leaves no half-made directory behind. */
static int check_fresh(const init_options_t *o, bool testnet) {
    static const char *const per_home[] = {"config.ini", "genesis.json", "node_key.pem"};
    char home[INIT_PATH_SIZE_MAX], path[INIT_PATH_SIZE_MAX];
    path_fmt(path, "%s/%s", o->dir, testnet ? "testnet.json" : "dev.json");
    bool clash = path_exists(path);
    for (uint32_t i = 0; i < o->replica_count && !clash; i++) {
        home_path(o, testnet, i, home);
        for (size_t k = 0; k < PBFT_ARRAY_COUNT(per_home) && !clash; k++) {
            path_fmt(path, "%s/%s", home, per_home[k]);
            clash = path_exists(path);
        }
    }
    if (!clash) {
        path_fmt(path, "%s/accounts/genesis.json", o->dir);
        clash = path_exists(path);
    }
    if (clash) {
        fprintf(stderr,
                "error: %s already exists; refusing to overwrite (choose another "
                "directory or remove it first)\n",
                path);
        return -1;
    }
    return 0;
}

static void print_summary(const init_options_t *o, bool testnet, const pbft_genesis_t *g,
                          const init_account_t *accts) {
    char hex[2 * PBFT_HASH_SIZE + 1];
    crypto_hex_encode(g->chain_id, PBFT_CHAIN_ID_SIZE, hex);
    printf("created %s in %s\nchain id %s (%s, n=%" PRIu32 ", f=%" PRIu32 ")\n",
           testnet ? "testnet" : "dev home", o->dir, hex, g->chain_name, o->replica_count,
           pbft_validator_f(&g->validators));
    for (uint32_t i = 0; i < o->account_count; i++) {
        char addr[2 * PBFT_ADDRESS_SIZE + 1];
        crypto_hex_encode(accts[i].address, PBFT_ADDRESS_SIZE, addr);
        printf("account %-6s %s balance %" PRIu64 " key %s\n", accts[i].name, addr, o->balance,
               accts[i].key_file);
    }
}

static int run(int argc, char **argv, bool testnet) {
    init_options_t o;
    int rc = parse_options(argc, argv, testnet, &o);
    if (rc >= 0) return rc;
    if (make_dir(o.dir, 0755) != 0) return INIT_EXIT_CANTCREAT;
    char dir_real[PATH_MAX];
    if (!realpath(o.dir, dir_real)) return INIT_EXIT_CANTCREAT;
    if (strlen(dir_real) > INIT_PATH_SIZE_MAX / 2) {
        fprintf(stderr, "error: directory path too long: %s\n", dir_real);
        return INIT_EXIT_USAGE;
    }
    o.dir = dir_real;
    if (check_fresh(&o, testnet) != 0) return INIT_EXIT_CANTCREAT;

    pbft_genesis_t g;
    memset(&g, 0, sizeof(g));
    snprintf(g.chain_name, sizeof(g.chain_name), "%s", o.chain_name);
    g.genesis_time_ms = now_ms();
    g.params = o.params;
    init_account_t *accts = pbft_xcalloc(o.account_count, sizeof(init_account_t));
    rc = INIT_EXIT_CANTCREAT;
    if (make_node_keys(&o, testnet, &g) == 0 && make_accounts(&o, &g, accts) == 0) {
        ledger_genesis_derive(&g);
        bool ok = write_genesis_copies(&o, testnet, &g) == 0;
        for (uint32_t i = 0; ok && i < o.replica_count; i++)
            ok = write_config(&o, testnet, i) == 0;
        ok = ok && write_testnet_json(&o, testnet, &g, accts) == 0;
        if (ok) {
            print_summary(&o, testnet, &g, accts);
            rc = INIT_EXIT_OK;
        }
    }
    free(accts);
    ledger_genesis_free(&g);
    return rc;
}

int pbftd_cmd_testnet(int argc, char **argv) {
    return run(argc, argv, true);
}

int pbftd_cmd_init(int argc, char **argv) {
    return run(argc, argv, false);
}
