/*
 * tools/load/main.c — `pbft-load`: load generator and benchmark probe.
 *
 *   pbft-load --dir TESTNET_DIR (--closed C | --open R) [options]
 *   pbft-load --verify-rate [--seconds S] [--threads N]
 *   pbft-load --chain-stats (--dir DIR | --nodes URLS) [--watch I]
 *   pbft-load --cpu-classes --pids P,...
 *   pbft-load --self-check
 *
 * Every measuring mode prints one JSON line on stdout (for scripts) and one
 * human line on stderr.
 */
#include <getopt.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "load.h"

typedef enum action {
    ACT_RUN,
    ACT_VERIFY_RATE,
    ACT_CHAIN_STATS,
    ACT_CPU_CLASSES,
    ACT_SELF_CHECK
} action_t;

typedef struct options {
    action_t action;
    const char *dir;
    const char *nodes;
    size_t accounts;
    size_t txs;
    uint32_t threads;
    load_config_t cfg;
} options_t;

static void usage(FILE *f) {
    fprintf(f,
            "usage: pbft-load --dir DIR (--closed C | --open R) [options]\n"
            "       pbft-load --verify-rate [--seconds S] [--threads N]\n"
            "       pbft-load --chain-stats (--dir DIR | --nodes URLS) [--watch I]\n"
            "       pbft-load --cpu-classes --pids P,...   (CPU seconds so far, by thread)\n"
            "       pbft-load --self-check\n"
            "\n"
            "run options:\n"
            "  --dir DIR        testnet dir: DIR/accounts/*.pem, DIR/accounts/genesis.json,\n"
            "                   DIR/testnet.json (replica URLs unless --nodes)\n"
            "  --nodes URLS     comma-separated replica API URLs (host:port or http://...)\n"
            "  --closed C       closed loop: C batches outstanding until committed\n"
            "  --open R         open loop: R tx/s on a fixed schedule\n"
            "  --batch B        txs per POST /txs (closed: exactly; open: at most) [64]\n"
            "  --seconds T      measured window [10]\n"
            "  --warmup W       closed loop: seconds before the window [2]\n"
            "  --drain D        seconds to wait for outstanding commits afterwards [20]\n"
            "  --accounts K     use the first K keys (default all)\n"
            "  --per-account M  each account's txs go in groups of M consecutive nonces, one\n"
            "                   POST each; an account has one group in flight, so at most\n"
            "                   K x M txs are in flight (closed: C x B must fit; B a multiple\n"
            "                   of M) [1]\n"
            "  --txs N          pre-sign N txs (default: closed 12000/s x (W+T); open R x T;\n"
            "                   at most %u, about 230 bytes each)\n"
            "  --threads S      open-loop sender threads [4]; verify-rate threads [nproc]\n"
            "  --linger-ms L    open: a sender posts once the oldest due tx is L ms past its\n"
            "                   schedule or B txs are due (bigger POSTs; latency still\n"
            "                   counts from the schedule) [0]\n"
            "  --watch I        replica whose API the commit watcher polls [1 or 0]\n"
            "  --poll-ms P      poll /status every P ms instead of long-polling it [0]\n"
            "  --binary         POST /txs bodies as the txs' bytes back to back\n"
            "                   (application/octet-stream) instead of JSON hex\n"
            "  --pids P,P,...   replica pids: CPU seconds per committed tx\n"
            "  --label NAME     copied into the JSON line\n",
            LOAD_TX_COUNT_MAX);
}

static bool parse_pids(const char *s, load_config_t *cfg) {
    cfg->pid_count = 0;
    while (*s) {
        char *end = NULL;
        long pid = strtol(s, &end, 10);
        if (end == s || pid <= 0 || cfg->pid_count == LOAD_REPLICA_COUNT_MAX) return false;
        cfg->pids[cfg->pid_count++] = (int)pid;
        s = end;
        if (*s == ',')
            s++;
        else if (*s)
            return false;
    }
    return true;
}

static bool parse_double(const char *s, double min, double max, double *out) {
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= min && v <= max)) return false;
    *out = v;
    return true;
}

static bool parse_size(const char *s, size_t max, size_t *out) {
    double v;
    if (!parse_double(s, 0, (double)max, &v) || v != (double)(size_t)v) return false;
    *out = (size_t)v;
    return true;
}

enum {
    OPT_DIR = 256,
    OPT_NODES,
    OPT_CLOSED,
    OPT_OPEN,
    OPT_BATCH,
    OPT_SECONDS,
    OPT_WARMUP,
    OPT_DRAIN,
    OPT_ACCOUNTS,
    OPT_TXS,
    OPT_THREADS,
    OPT_WATCH,
    OPT_POLL,
    OPT_PIDS,
    OPT_LABEL,
    OPT_VERIFY_RATE,
    OPT_CHAIN_STATS,
    OPT_CPU_CLASSES,
    OPT_SELF_CHECK,
    OPT_HELP,
    OPT_PER_ACCOUNT,
    OPT_LINGER,
    OPT_BINARY
};

static bool apply_option(options_t *o, int c, const char *arg) {
    size_t z = 0;
    double d = 0;
    load_config_t *cfg = &o->cfg;
    switch (c) {
        case OPT_DIR:
            o->dir = arg;
            return true;
        case OPT_PER_ACCOUNT:
            return parse_size(arg, 64, &z) && z >= 1 && (cfg->group = (uint32_t)z, true);
        case OPT_NODES:
            o->nodes = arg;
            return true;
        case OPT_CLOSED:
            cfg->mode = LOAD_MODE_CLOSED;
            return parse_size(arg, LOAD_CONCURRENCY_MAX, &z) && z >= 1 &&
                   (cfg->concurrency = (uint32_t)z, true);
        case OPT_OPEN:
            cfg->mode = LOAD_MODE_OPEN;
            return parse_double(arg, 0.1, 1e6, &cfg->rate_tps);
        case OPT_BATCH:
            return parse_size(arg, LOAD_BATCH_TX_COUNT_MAX, &z) && z >= 1 &&
                   (cfg->batch = (uint32_t)z, true);
        case OPT_SECONDS:
            return parse_double(arg, 0.1, 86400, &cfg->seconds);
        case OPT_WARMUP:
            return parse_double(arg, 0, 3600, &cfg->warmup_seconds);
        case OPT_DRAIN:
            return parse_double(arg, 0, 3600, &cfg->drain_seconds);
        case OPT_ACCOUNTS:
            return parse_size(arg, LOAD_ACCOUNT_COUNT_MAX, &o->accounts);
        case OPT_TXS:
            return parse_size(arg, LOAD_TX_COUNT_MAX, &o->txs) && o->txs >= 1;
        case OPT_THREADS:
            return parse_size(arg, LOAD_THREAD_COUNT_MAX, &z) && z >= 1 &&
                   (o->threads = (uint32_t)z, true);
        case OPT_WATCH:
            return parse_size(arg, LOAD_REPLICA_COUNT_MAX - 1, &z) &&
                   (cfg->watch = (uint32_t)z, true);
        case OPT_POLL:
            return parse_double(arg, 0, 1000, &d) && (cfg->poll_ms = (uint32_t)d, true);
        case OPT_LINGER:
            return parse_double(arg, 0, 1000, &cfg->linger_ms);
        case OPT_BINARY:
            cfg->binary = true;
            return true;
        case OPT_PIDS:
            return parse_pids(arg, cfg);
        case OPT_LABEL:
            cfg->label = arg;
            return true;
        case OPT_VERIFY_RATE:
            o->action = ACT_VERIFY_RATE;
            return true;
        case OPT_CHAIN_STATS:
            o->action = ACT_CHAIN_STATS;
            return true;
        case OPT_CPU_CLASSES:
            o->action = ACT_CPU_CLASSES;
            return true;
        case OPT_SELF_CHECK:
            o->action = ACT_SELF_CHECK;
            return true;
        default:
            return false;
    }
}

/* Returns -1 to go on, else an exit status. */
static int parse_args(int argc, char **argv, options_t *o) {
    static const struct option longopts[] = {{"dir", 1, 0, OPT_DIR},
                                             {"nodes", 1, 0, OPT_NODES},
                                             {"closed", 1, 0, OPT_CLOSED},
                                             {"open", 1, 0, OPT_OPEN},
                                             {"batch", 1, 0, OPT_BATCH},
                                             {"seconds", 1, 0, OPT_SECONDS},
                                             {"warmup", 1, 0, OPT_WARMUP},
                                             {"drain", 1, 0, OPT_DRAIN},
                                             {"accounts", 1, 0, OPT_ACCOUNTS},
                                             {"per-account", 1, 0, OPT_PER_ACCOUNT},
                                             {"txs", 1, 0, OPT_TXS},
                                             {"threads", 1, 0, OPT_THREADS},
                                             {"watch", 1, 0, OPT_WATCH},
                                             {"poll-ms", 1, 0, OPT_POLL},
                                             {"linger-ms", 1, 0, OPT_LINGER},
                                             {"binary", 0, 0, OPT_BINARY},
                                             {"pids", 1, 0, OPT_PIDS},
                                             {"label", 1, 0, OPT_LABEL},
                                             {"verify-rate", 0, 0, OPT_VERIFY_RATE},
                                             {"chain-stats", 0, 0, OPT_CHAIN_STATS},
                                             {"cpu-classes", 0, 0, OPT_CPU_CLASSES},
                                             {"self-check", 0, 0, OPT_SELF_CHECK},
                                             {"help", 0, 0, OPT_HELP},
                                             {0, 0, 0, 0}};
    memset(o, 0, sizeof(*o));
    o->action = ACT_RUN;
    o->cfg = (load_config_t){.batch = 64,
                             .group = 1,
                             .seconds = -1,
                             .warmup_seconds = 2,
                             .drain_seconds = 20,
                             .sender_threads = 4,
                             .watch = UINT32_MAX,
                             .poll_ms = 0,
                             .label = ""};
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'h' || c == OPT_HELP) {
            usage(stdout);
            return 0;
        }
        if (c == '?' || !apply_option(o, c, optarg)) {
            if (c != '?') fprintf(stderr, "pbft-load: invalid value for an option: %s\n", optarg);
            usage(stderr);
            return 64;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "pbft-load: unexpected argument %s\n", argv[optind]);
        return 64;
    }
    return -1;
}

/* ------------------------------------------------------------------------ */

/* One line per pid: its CPU seconds so far, in all and by the kind of
 * thread that spent them (load_proc_cpu_classes), as NAME=SECONDS pairs
 * for the soak's sampler (tests/bench/cluster.sh). */
static int cmd_cpu_classes(const options_t *o) {
    if (o->cfg.pid_count == 0) {
        fprintf(stderr, "pbft-load: --cpu-classes needs --pids\n");
        return 64;
    }
    for (size_t i = 0; i < o->cfg.pid_count; i++) {
        double total = 0, by_class[LOAD_CPU_CLASS_COUNT] = {0};
        if (!load_proc_cpu_s(o->cfg.pids[i], &total) ||
            !load_proc_cpu_classes(o->cfg.pids[i], by_class)) {
            fprintf(stderr, "pbft-load: cannot read /proc/%d\n", o->cfg.pids[i]);
            return 1;
        }
        printf("cpu_s=%.2f", total);
        for (int k = 0; k < LOAD_CPU_CLASS_COUNT; k++)
            printf(" %s_s=%.2f", load_cpu_class_names[k], by_class[k]);
        printf("\n");
    }
    return 0;
}

static int cmd_verify_rate(const options_t *o) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t threads = o->threads ? o->threads : (size_t)(cores > 0 ? cores : 1);
    double seconds = o->cfg.seconds > 0 ? o->cfg.seconds : 2.0;
    double rate = 0, per_cpu = 0;
    uint64_t n = 0;
    pbft_status_t st = load_verify_rate(threads, seconds, &rate, &per_cpu, &n);
    if (st != PBFT_OK) {
        fprintf(stderr, "pbft-load: verify rate: %s\n", pbft_status_string(st));
        return 1;
    }
    printf("{\"mode\":\"verify_rate\",\"threads\":%zu,\"nproc\":%ld,\"seconds\":%.2f,"
           "\"verifies\":%llu,\"verify_per_s\":%.0f,\"verify_per_cpu_s\":%.0f}\n",
           threads, cores, seconds, (unsigned long long)n, rate, per_cpu);
    fprintf(stderr,
            "verify rate: %.0f ECDSA P-256 verifies/s on %zu threads (%.0f per thread; %.0f per "
            "CPU-second actually received)\n",
            rate, threads, rate / (double)threads, per_cpu);
    return 0;
}

static int cmd_chain_stats(const options_t *o, const load_keystore_t *ks) {
    size_t watch = o->cfg.watch == UINT32_MAX ? 0 : o->cfg.watch;
    if (watch >= ks->url_count) return 64;
    const char *base = ks->urls[watch];
    load_http_t h;
    load_http_init(&h);
    load_status_t s;
    int rc = 1;
    if (load_get_status(&h, base, &s) == PBFT_OK) {
        double metric = 0;
        uint64_t txs = 0;
        const char *source = "metrics";
        if (load_get_metric_sum(&h, base, "pbft_txs_total", &metric)) {
            txs = (uint64_t)metric;
        } else {
            source = "blocks";
            rc = 0;
            for (uint64_t height = 1; height <= s.height && rc == 0; height++) {
                load_block_info_t info;
                if (load_get_block(&h, base, height, NULL, NULL, &info) != PBFT_OK) rc = 1;
                txs += info.tx_count;
            }
        }
        if (rc == 0 || strcmp(source, "metrics") == 0) {
            printf("{\"mode\":\"chain_stats\",\"height\":%llu,\"txs\":%llu,\"view\":%llu,"
                   "\"source\":\"%s\"}\n",
                   (unsigned long long)s.height, (unsigned long long)txs,
                   (unsigned long long)s.view, source);
            fprintf(stderr, "chain: height %llu, %llu txs (from %s)\n",
                    (unsigned long long)s.height, (unsigned long long)txs, source);
            rc = 0;
        }
    }
    if (rc) fprintf(stderr, "pbft-load: chain stats: %s unreachable or malformed\n", base);
    load_http_free(&h);
    return rc;
}

static void print_result(const options_t *o, const load_plan_t *plan, const load_result_t *r) {
    const load_config_t *c = &o->cfg;
    bool open = c->mode == LOAD_MODE_OPEN;
    json_t *j = json_object();
    json_object_set_new(j, "mode", json_string(open ? "open" : "closed"));
    json_object_set_new(j, "label", json_string(c->label));
    if (open) {
        json_object_set_new(j, "offered_tps", json_real(c->rate_tps));
        json_object_set_new(j, "linger_ms", json_real(c->linger_ms));
    } else {
        json_object_set_new(j, "concurrency", json_integer(c->concurrency));
    }
    json_object_set_new(j, "batch", json_integer(c->batch));
    json_object_set_new(j, "accounts", json_integer((json_int_t)plan->account_count));
    json_object_set_new(j, "per_account", json_integer((json_int_t)plan->group));
    json_object_set_new(j, "replicas", json_integer((json_int_t)c->pid_count));
    json_object_set_new(j, "window_s", json_real(r->window_s));
    json_object_set_new(j, "tps", json_real(r->tps));
    json_object_set_new(j, "window_txs", json_integer((json_int_t)r->window_txs));
    json_object_set_new(j, "blocks", json_integer((json_int_t)r->window_blocks));
    json_object_set_new(j, "blocks_per_s", json_real(r->blocks_per_s));
    json_object_set_new(j, "txs_per_block", json_real(r->txs_per_block));
    json_object_set_new(j, "lat_ms",
                        json_pack("{s:f,s:f,s:f,s:f,s:I}", "p50", r->lat_ms[0], "p90", r->lat_ms[1],
                                  "p99", r->lat_ms[2], "max", r->lat_ms[3], "samples",
                                  (json_int_t)r->lat_count));
    json_object_set_new(j, "answer_ms",
                        json_pack("{s:f,s:f,s:f,s:f}", "p50", r->answer_ms[0], "p90",
                                  r->answer_ms[1], "p99", r->answer_ms[2], "max", r->answer_ms[3]));
    if (open) {
        json_object_set_new(j, "sent_tps", json_real(r->sent_tps));
        json_object_set_new(j, "send_lag_p99_ms", json_real(r->lag_p99_ms));
        json_t *p99 = json_array(), *sent = json_array(), *committed = json_array();
        for (size_t k = 0; k < r->timeline_count; k++) {
            json_array_append_new(p99, json_real(r->timeline_p99_ms[k]));
            json_array_append_new(sent, json_integer(r->timeline_sent[k]));
            json_array_append_new(committed, json_integer(r->timeline_committed[k]));
        }
        json_object_set_new(j, "timeline",
                            json_pack("{s:f,s:o,s:o,s:o}", "slice_s", r->timeline_s, "p99_ms", p99,
                                      "sent", sent, "committed", committed));
    }
    json_object_set_new(j, "sustained", json_boolean(r->sustained));
    json_object_set_new(j, "planned", json_integer((json_int_t)r->planned));
    json_object_set_new(j, "sent", json_integer((json_int_t)r->sent));
    json_object_set_new(j, "committed", json_integer((json_int_t)r->committed_ours));
    json_object_set_new(j, "committed_failed", json_integer((json_int_t)r->committed_fail));
    json_object_set_new(j, "rejected", json_integer((json_int_t)r->rejected));
    json_object_set_new(j, "lost", json_integer((json_int_t)r->lost));
    json_object_set_new(j, "retries", json_integer((json_int_t)r->retries));
    json_object_set_new(j, "http_errors", json_integer((json_int_t)r->http_errors));
    json_object_set_new(j, "exhausted", json_boolean(r->exhausted));
    json_object_set_new(j, "cpu_s", c->pid_count ? json_real(r->cpu_s) : json_null());
    json_object_set_new(j, "cpu_ms_per_tx",
                        c->pid_count && r->window_txs ? json_real(r->cpu_s_per_tx * 1e3)
                                                      : json_null());
    if (c->pid_count && r->window_txs) {
        json_t *by = json_object();
        for (size_t k = 0; k < LOAD_CPU_CLASS_COUNT; k++) {
            json_object_set_new(by, load_cpu_class_names[k],
                                json_real(r->cpu_class_s[k] * 1e6 / (double)r->window_txs));
        }
        json_object_set_new(j, "cpu_us_per_tx_by_thread", by);
    }
    json_object_set_new(j, "loadgen_cpu_s", json_real(r->loadgen_cpu_s));
    json_object_set_new(j, "system_cpu_s", json_real(r->system_cpu_s));
    json_object_set_new(j, "nproc", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
    json_object_set_new(j, "view_changes",
                        r->view_changes_known ? json_integer((json_int_t)r->view_changes)
                                              : json_null());
    json_object_set_new(j, "height_start", json_integer((json_int_t)r->height_start));
    json_object_set_new(j, "height_end", json_integer((json_int_t)r->height_end));
    char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
    printf("%s\n", s);
    fflush(stdout);
    free(s);
    json_decref(j);
}

static void print_human(const options_t *o, const load_result_t *r) {
    const load_config_t *c = &o->cfg;
    char what[64];
    if (c->mode == LOAD_MODE_OPEN)
        snprintf(what, sizeof(what), "open %.0f tx/s", c->rate_tps);
    else
        snprintf(what, sizeof(what), "closed C=%u B=%u", c->concurrency, c->batch);
    fprintf(stderr,
            "%s: %.0f tx/s committed (%.1f s window, %llu txs, %.1f blocks/s, %.0f tx/block); "
            "latency p50 %.1f p90 %.1f p99 %.1f max %.1f ms (POST answered p50 %.1f p99 "
            "%.1f); sustained %s; "
            "rejected %llu lost %llu failed %llu; cpu %.3f ms/tx; view changes %s%llu\n",
            what, r->tps, r->window_s, (unsigned long long)r->window_txs, r->blocks_per_s,
            r->txs_per_block, r->lat_ms[0], r->lat_ms[1], r->lat_ms[2], r->lat_ms[3],
            r->answer_ms[0], r->answer_ms[2], r->sustained ? "yes" : "no",
            (unsigned long long)r->rejected, (unsigned long long)r->lost,
            (unsigned long long)r->committed_fail, r->cpu_s_per_tx * 1e3,
            r->view_changes_known ? "" : "?", (unsigned long long)r->view_changes);
}

/* Fills defaults that depend on the mode and the keystore. */
static bool finish_config(options_t *o, const load_keystore_t *ks, size_t *accounts, size_t *txs) {
    load_config_t *c = &o->cfg;
    if (c->seconds < 0) c->seconds = 10;
    if (c->watch == UINT32_MAX) c->watch = ks->url_count > 1 ? 1 : 0;
    if (c->watch >= ks->url_count) {
        fprintf(stderr, "pbft-load: --watch %u but only %zu replicas\n", c->watch, ks->url_count);
        return false;
    }
    if (o->threads) c->sender_threads = o->threads;
    if (c->batch % c->group != 0) {
        fprintf(stderr, "pbft-load: --batch must be a multiple of --per-account\n");
        return false;
    }
    size_t n = o->txs;
    if (n == 0 && c->mode == LOAD_MODE_OPEN) n = (size_t)(c->rate_tps * c->seconds) + 1;
    if (n == 0) n = (size_t)(12000.0 * (c->warmup_seconds + c->seconds));
    n = PBFT_MIN(n, LOAD_TX_COUNT_MAX);
    size_t k = PBFT_MIN(ks->account_count, (n + c->group - 1) / c->group);
    size_t in_flight_max = k * c->group;
    if (c->mode == LOAD_MODE_CLOSED && (size_t)c->concurrency * c->batch > in_flight_max) {
        /* one group per account in flight: C x B must not exceed K x M */
        size_t b = PBFT_MAX(c->group, in_flight_max / c->concurrency / c->group * c->group);
        fprintf(stderr, "pbft-load: %u x %u in flight > %zu accounts x %u; using batch %zu\n",
                c->concurrency, c->batch, k, c->group, b);
        c->batch = (uint32_t)b;
    }
    *accounts = k;
    *txs = n;
    return true;
}

static int cmd_run(options_t *o, load_keystore_t *ks) {
    if (o->cfg.mode == 0) {
        fprintf(stderr, "pbft-load: choose --closed C or --open R\n");
        return 64;
    }
    if (o->cfg.mode != LOAD_MODE_OPEN && o->cfg.linger_ms > 0) {
        fprintf(stderr, "pbft-load: --linger-ms applies to --open only\n");
        return 64;
    }
    size_t accounts = 0, txs = 0;
    if (!finish_config(o, ks, &accounts, &txs)) return 64;
    char err[512] = "";
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    uint64_t t0 = load_now_ns();
    if (load_fetch_nonces(ks, accounts, 8, err, sizeof(err)) != PBFT_OK) {
        fprintf(stderr, "pbft-load: %s\n", err);
        return 1;
    }
    uint64_t t1 = load_now_ns();
    load_plan_t plan;
    if (load_plan_build(ks, accounts, o->cfg.group, txs, (size_t)(cores > 0 ? cores : 1), &plan,
                        err, sizeof(err)) != PBFT_OK) {
        fprintf(stderr, "pbft-load: %s\n", err);
        return 1;
    }
    uint64_t t2 = load_now_ns();
    fprintf(stderr, "pbft-load: %zu accounts, nonces in %.2f s; pre-signed %zu txs in %.2f s\n",
            accounts, (double)(t1 - t0) / 1e9, txs, (double)(t2 - t1) / 1e9);
    load_result_t r;
    pbft_status_t st = load_run(ks, &plan, &o->cfg, &r);
    if (st != PBFT_OK) {
        fprintf(stderr, "pbft-load: replica %u API unavailable: %s\n", o->cfg.watch,
                pbft_status_string(st));
        load_plan_free(&plan);
        return 1;
    }
    print_result(o, &plan, &r);
    print_human(o, &r);
    load_plan_free(&plan);
    return r.window_txs > 0 ? 0 : 2;
}

int main(int argc, char **argv) {
    options_t o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    load_http_global_init();
    if (o.action == ACT_SELF_CHECK) return load_self_check();
    if (o.action == ACT_VERIFY_RATE) return cmd_verify_rate(&o);
    if (o.action == ACT_CPU_CLASSES) return cmd_cpu_classes(&o);
    load_keystore_t ks;
    memset(&ks, 0, sizeof(ks));
    if (o.nodes && load_parse_urls(o.nodes, &ks) != PBFT_OK) {
        fprintf(stderr, "pbft-load: bad --nodes list\n");
        return 64;
    }
    if (o.action == ACT_CHAIN_STATS) {
        if (ks.url_count == 0 && o.dir) {
            char err[512];
            if (load_keystore_open(o.dir, 1, &ks, err, sizeof(err)) != PBFT_OK) {
                fprintf(stderr, "pbft-load: %s\n", err);
                return 1;
            }
        }
        rc = ks.url_count ? cmd_chain_stats(&o, &ks) : 64;
        load_keystore_free(&ks);
        return rc;
    }
    if (!o.dir) {
        fprintf(stderr, "pbft-load: --dir DIR is required\n");
        usage(stderr);
        return 64;
    }
    char err[512] = "";
    if (load_keystore_open(o.dir, o.accounts, &ks, err, sizeof(err)) != PBFT_OK) {
        fprintf(stderr, "pbft-load: %s\n", err);
        load_keystore_free(&ks);
        return 1;
    }
    rc = cmd_run(&o, &ks);
    load_keystore_free(&ks);
    return rc;
}
