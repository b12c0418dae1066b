/*
 * tools/verify/main.c — pbft-verify: audit a chain from genesis alone.
 *
 * Test hook (not in --help, used by tests/e2e/tamper_store.sh only):
 *   pbft-verify --home DIR --debug-tamper tx-amount:H | cert-sig:H
 * opens the STOPPED replica's store read-write and corrupts one stored value
 * with store_debug_put_raw (the amount of tx 0 of block H, or one byte of the
 * first signature of block H's commit certificate), so the test can check
 * that the audit names that height and the reason. Never use it on data you
 * care about.
 */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "verify.h"
#include "../common/json.h"
#include "pbft/codec.h"
#include "pbft/crypto.h"

#define VERIFY_TIMEOUT_MS_DEFAULT 15000

static void print_help(void) {
    printf("pbft-verify %s — audit a pbft-ledger chain trusting only genesis.json\n"
           "\n"
           "usage: pbft-verify --home DIR [--genesis FILE] [options]\n"
           "       pbft-verify --node URL --genesis FILE [options]\n"
           "       pbft-verify --genesis FILE --compare DIR|URL --compare DIR|URL ...\n"
           "\n"
           "  --home DIR       a replica home: opens DIR/data read-only (works while the replica\n"
           "                   runs); genesis defaults to DIR/genesis.json\n"
           "  --node URL       a running node: fetches /block/0../status height over HTTP\n"
           "  --genesis FILE   the genesis the chain must descend from\n"
           "  --compare X      also check that replica X (a home DIR or a URL) holds the same\n"
           "                   block hash at every common height; repeatable; extra arguments\n"
           "                   after the options are compared too\n"
           "  --keep-going     list every failure instead of stopping at the first\n"
           "  --json           print one JSON document (64-bit numbers as strings)\n"
           "  --threads N      signature-checking threads (default: one per core)\n"
           "  --timeout SEC    per-request timeout for --node (default 15)\n"
           "\n"
           "Checks, level by level: every block decodes and heights are contiguous; hash links\n"
           "(block 0 is the genesis block); Merkle roots; every tx signature (on all cores);\n"
           "every commit certificate and stored checkpoint certificate (2f+1 distinct genesis\n"
           "validators); a full replay from the genesis balances: stored per-tx results and\n"
           "state hashes match, certified checkpoint state hashes match, supply is conserved,\n"
           "no balance goes negative, no nonce is used twice.\n"
           "\n"
           "exit status: 0 everything checks, 1 something failed (the first bad height and why\n"
           "is printed), 64 usage, 66 missing input (genesis, home), 69 node unavailable\n",
           PBFT_VERSION_STRING);
}

typedef struct verify_args {
    const char *home;
    const char *node;
    char genesis[TOOLS_PATH_SIZE_MAX + 32];
    const char *compare[AUDIT_COMPARE_COUNT_MAX];
    size_t compare_count;
    const char *tamper;
    long timeout_ms;
    audit_options_t opts;
} verify_args_t;

enum {
    OPT_GENESIS = 1000,
    OPT_HOME,
    OPT_NODE,
    OPT_COMPARE,
    OPT_KEEP_GOING,
    OPT_JSON,
    OPT_THREADS,
    OPT_TIMEOUT,
    OPT_TAMPER,
    OPT_VERSION
};

static const struct option long_options[] = {
    {"genesis", required_argument, NULL, OPT_GENESIS},
    {"home", required_argument, NULL, OPT_HOME},
    {"node", required_argument, NULL, OPT_NODE},
    {"compare", required_argument, NULL, OPT_COMPARE},
    {"keep-going", no_argument, NULL, OPT_KEEP_GOING},
    {"json", no_argument, NULL, OPT_JSON},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"debug-tamper", required_argument, NULL, OPT_TAMPER},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static bool add_compare(verify_args_t *a, const char *target) {
    if (a->compare_count == AUDIT_COMPARE_COUNT_MAX) return false;
    a->compare[a->compare_count++] = target;
    return true;
}

static bool apply_option(verify_args_t *a, int c, const char *arg) {
    uint64_t v = 0;
    switch (c) {
        case OPT_GENESIS:
            snprintf(a->genesis, sizeof(a->genesis), "%s", arg);
            return true;
        case OPT_HOME:
            a->home = arg;
            return true;
        case OPT_NODE:
            a->node = arg;
            return true;
        case OPT_COMPARE:
            return add_compare(a, arg);
        case OPT_KEEP_GOING:
            a->opts.keep_going = true;
            return true;
        case OPT_JSON:
            a->opts.json = true;
            return true;
        case OPT_THREADS:
            if (!tools_parse_u64(arg, &v) || v > AUDIT_THREAD_COUNT_MAX) return false;
            a->opts.threads = (size_t)v;
            return true;
        case OPT_TIMEOUT:
            if (!tools_parse_u64(arg, &v) || v == 0 || v > 3600) return false;
            a->timeout_ms = (long)v * 1000;
            return true;
        case OPT_TAMPER:
            a->tamper = arg;
            return true;
        default:
            return false;
    }
}

/* Returns -1 to continue, else an exit code. */
static int parse_args(int argc, char **argv, verify_args_t *a) {
    memset(a, 0, sizeof(*a));
    a->timeout_ms = VERIFY_TIMEOUT_MS_DEFAULT;
    int c;
    while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        if (c == 'h') {
            print_help();
            return VERIFY_EXIT_OK;
        }
        if (c == OPT_VERSION) {
            printf("pbft-verify %s\n", PBFT_VERSION_STRING);
            return VERIFY_EXIT_OK;
        }
        if (c == '?' || !apply_option(a, c, optarg)) {
            if (c != '?') fprintf(stderr, "pbft-verify: bad value: %s\n", optarg);
            fprintf(stderr, "usage: pbft-verify --home DIR | --node URL [options] (--help)\n");
            return VERIFY_EXIT_USAGE;
        }
    }
    for (int i = optind; i < argc; i++) {
        if (!add_compare(a, argv[i])) return VERIFY_EXIT_USAGE;
    }
    if (a->home && a->node) {
        fprintf(stderr, "pbft-verify: give --home or --node, not both\n");
        return VERIFY_EXIT_USAGE;
    }
    if (!a->home && !a->node && a->compare_count < 2) {
        fprintf(stderr, "pbft-verify: nothing to verify: give --home DIR or --node URL "
                        "(or two or more --compare targets)\n");
        return VERIFY_EXIT_USAGE;
    }
    if (!a->genesis[0]) {
        if (!a->home) {
            fprintf(stderr, "pbft-verify: --genesis FILE is required with --node/--compare "
                            "(it is never taken from a node)\n");
            return VERIFY_EXIT_USAGE;
        }
        snprintf(a->genesis, sizeof(a->genesis), "%s/genesis.json", a->home);
    }
    a->opts.progress = !a->opts.json && isatty(STDERR_FILENO);
    return -1;
}

static bool is_url(const char *target) {
    if (strncmp(target, "http://", 7) == 0 || strncmp(target, "https://", 8) == 0) return true;
    return access(target, F_OK) != 0 && strchr(target, ':') != NULL;
}

static int open_source(audit_source_t *src, const char *target, bool url, const pbft_genesis_t *g,
                       long timeout_ms) {
    char err[1024] = "";
    int rc = url ? audit_source_open_node(src, target, timeout_ms, err, sizeof(err))
                 : audit_source_open_dir(src, target, g, err, sizeof(err));
    if (rc) fprintf(stderr, "pbft-verify: %s\n", err);
    return rc;
}

static json_t *report_json(const verify_args_t *a, const pbft_genesis_t *g, const audit_report_t *r,
                           bool audited, uint64_t common, bool compared) {
    json_t *doc = json_object();
    json_object_set_new(doc, "ok", json_boolean(r->failure_count == 0));
    json_object_set_new(doc, "source", json_string(a->home ? a->home : a->node ? a->node : ""));
    json_object_set_new(doc, "genesis", json_string(a->genesis));
    json_object_set_new(doc, "chain_id", tools_json_hex(g->chain_id, PBFT_CHAIN_ID_SIZE));
    if (audited) {
        json_object_set_new(
            doc, "heights",
            json_pack("{s:o, s:o}", "from", tools_json_u64(0), "to", tools_json_u64(r->tip)));
        json_object_set_new(doc, "blocks", tools_json_u64(r->blocks));
        json_object_set_new(doc, "txs", tools_json_u64(r->txs));
        json_object_set_new(doc, "commit_certificates", tools_json_u64(r->commit_certs));
        json_object_set_new(doc, "checkpoint_certificates", tools_json_u64(r->checkpoint_certs));
        json_object_set_new(doc, "supply", tools_json_u64(r->supply));
    }
    if (compared) {
        json_t *list = json_array();
        for (size_t i = 0; i < a->compare_count; i++)
            json_array_append_new(list, json_string(a->compare[i]));
        json_object_set_new(
            doc, "compare",
            json_pack("{s:o, s:o}", "targets", list, "common_height", tools_json_u64(common)));
    }
    json_t *failures = json_array();
    size_t shown = a->opts.keep_going ? r->failure_count : PBFT_MIN(r->failure_count, (size_t)1);
    for (size_t i = 0; i < shown; i++)
        json_array_append_new(failures, json_pack("{s:o, s:s}", "height",
                                                  tools_json_u64(r->failures[i].height), "reason",
                                                  r->failures[i].reason));
    json_object_set_new(doc, "failures", failures);
    return doc;
}

static void print_human(const verify_args_t *a, const audit_report_t *r, bool audited,
                        uint64_t common, bool compared, size_t threads) {
    size_t shown = a->opts.keep_going ? r->failure_count : PBFT_MIN(r->failure_count, (size_t)1);
    for (size_t i = 0; i < shown; i++)
        printf("height %" PRIu64 ": %s\n", r->failures[i].height, r->failures[i].reason);
    if (r->failure_count) {
        printf("FAILED: %zu problem%s found%s\n", r->failure_count,
               r->failure_count == 1 ? "" : "s",
               a->opts.keep_going ? "" : " (stopped at the first; --keep-going lists all)");
        return;
    }
    if (audited) {
        printf("verified heights 0..%" PRIu64 ": OK (%" PRIu64 " blocks, %" PRIu64 " txs, %" PRIu64
               " certificates)\n",
               r->tip, r->blocks, r->txs, r->commit_certs + r->checkpoint_certs);
        printf("  %" PRIu64 " commit + %" PRIu64 " checkpoint certificates; replay matches every "
               "stored result and state hash; supply %" PRIu64 " conserved; signatures checked "
               "on %zu thread%s\n",
               r->commit_certs, r->checkpoint_certs, r->supply, threads, threads == 1 ? "" : "s");
    }
    if (compared)
        printf("compared %zu replicas at heights 1..%" PRIu64 ": identical block hashes\n",
               a->compare_count, common);
}

static int run(verify_args_t *a, const pbft_genesis_t *g) {
    audit_report_t report;
    memset(&report, 0, sizeof(report));
    char err[1024] = "";
    bool audited = false, compared = false;
    uint64_t common = 0;
    pbft_status_t st = PBFT_OK;
    size_t threads = 0;
    if (a->home || a->node) {
        audit_source_t src;
        int rc = open_source(&src, a->home ? a->home : a->node, a->node != NULL, g, a->timeout_ms);
        if (rc) return rc;
        st = audit_chain(&src, g, &a->opts, &report, err, sizeof(err));
        threads = report.threads;
        audit_source_close(&src);
        audited = st == PBFT_OK;
    }
    bool go_on = report.failure_count == 0 || a->opts.keep_going;
    if (st == PBFT_OK && a->compare_count > 0 && go_on) {
        audit_source_t sources[AUDIT_COMPARE_COUNT_MAX + 1];
        size_t n = 0;
        const char *primary = a->home ? a->home : a->node;
        if (primary && add_compare(a, primary)) {
            /* keep the primary first in the list for readable messages */
            memmove(&a->compare[1], &a->compare[0], (a->compare_count - 1) * sizeof(char *));
            a->compare[0] = primary;
        }
        int rc = 0;
        for (; n < a->compare_count && rc == 0; n++) {
            rc = open_source(&sources[n], a->compare[n], is_url(a->compare[n]), g, a->timeout_ms);
            if (rc) break;
        }
        if (rc == 0) st = audit_compare(sources, n, &a->opts, &report, &common, err, sizeof(err));
        for (size_t i = 0; i < n; i++)
            audit_source_close(&sources[i]);
        if (rc) {
            audit_report_free(&report);
            return rc;
        }
        compared = st == PBFT_OK;
    }
    if (st != PBFT_OK) {
        fprintf(stderr, "pbft-verify: %s\n", err[0] ? err : pbft_status_string(st));
        audit_report_free(&report);
        return st == PBFT_ERR_UNAVAILABLE || st == PBFT_ERR_TIMEOUT ? VERIFY_EXIT_UNAVAILABLE
                                                                    : VERIFY_EXIT_FAILED;
    }
    if (a->opts.json)
        tools_json_print(report_json(a, g, &report, audited, common, compared));
    else
        print_human(a, &report, audited, common, compared, threads);
    int rc = report.failure_count ? VERIFY_EXIT_FAILED : VERIFY_EXIT_OK;
    audit_report_free(&report);
    return rc;
}

int main(int argc, char **argv) {
    verify_args_t a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) return rc;
    if (access(a.genesis, F_OK) != 0) {
        fprintf(stderr, "pbft-verify: no genesis file at %s\n", a.genesis);
        return VERIFY_EXIT_NOINPUT;
    }
    pbft_genesis_t g;
    char err[512] = "";
    pbft_status_t st = ledger_genesis_load(a.genesis, &g, err, sizeof(err));
    if (st != PBFT_OK) {
        fprintf(stderr, "pbft-verify: cannot load genesis %s: %s\n", a.genesis,
                err[0] ? err : pbft_status_string(st));
        return VERIFY_EXIT_NOINPUT;
    }
    if (a.tamper) {
        rc = a.home ? verify_debug_tamper(a.home, &g, a.tamper) : VERIFY_EXIT_USAGE;
    } else {
        rc = run(&a, &g);
    }
    ledger_genesis_free(&g);
    return rc;
}
