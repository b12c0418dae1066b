/*
 * node/main.c — the pbftd command line.
 *
 *   pbftd --home DIR [--log-level L] [--log-format logfmt|json]
 *         [--http HOST:PORT] [--listen URL] [--pid-file PATH]
 *   pbftd init ...      (node/init.h)
 *   pbftd testnet ...   (node/init.h)
 *   pbftd compact --home DIR   (the replica stopped)
 *   pbftd version | --version
 *   pbftd --help
 *
 * Precedence: built-in defaults < DIR/config.ini < PBFT_* environment <
 * flags. Exit codes: 0 clean shutdown, 64 usage, 65 bad config/genesis/data,
 * 69 unavailable (address in use), 74 I/O or store error, 77 key file
 * readable by others.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "init.h"
#include "internal.h"
#include "log.h"
#include "node.h"
#include "pbft/store.h"

extern char **environ;

static void usage(FILE *out) {
    fprintf(out,
            "usage: pbftd --home DIR [options]       run one replica (foreground)\n"
            "       pbftd init --home DIR [...]       make a single-replica development home\n"
            "       pbftd testnet --dir DIR [-n 4]    make the homes of a local n-replica network\n"
            "       pbftd compact --home DIR          flush and compact a stopped replica's store\n"
            "       pbftd version\n"
            "\n"
            "options:\n"
            "  --home DIR            replica home: config.ini, genesis.json, node_key.pem, data/\n"
            "                        (or PBFT_HOME)\n"
            "  --log-level LEVEL     debug | info | warn | error           (config log_level)\n"
            "  --log-format FORMAT   logfmt | json                         (config log_format)\n"
            "  --http HOST:PORT      HTTP API address                      (config http)\n"
            "  --listen URL          nanomsg address to bind, tcp://H:P    (config listen)\n"
            "  --pid-file PATH       write the process id to PATH\n"
            "  -h, --help            this text\n"
            "\n"
            "Settings come from defaults < DIR/config.ini < PBFT_<KEY> environment variables\n"
            "(PBFT_HTTP, PBFT_LOG_LEVEL, PBFT_PEER_2, ...) < flags. Logs go to stderr.\n"
            "SIGINT/SIGTERM shut down cleanly.\n"
            "\n"
            "examples:\n"
            "  pbftd testnet --dir /tmp/tn -n 4 && pbftd --home /tmp/tn/node0\n"
            "  PBFT_LOG_LEVEL=debug pbftd --home /tmp/tn/node1 --log-format json\n"
            "\n"
            "exit codes: 0 clean shutdown, 64 usage, 65 bad config/genesis/data,\n"
            "            69 address in use, 74 I/O or store error, 77 key file permissions\n");
}

typedef struct cli {
    const char *home;
    const char *pid_file;
    const char *flag_keys[8];
    const char *flag_values[8];
    const char *flag_names[8];
    int flag_count;
} cli_t;

static int parse_cli(int argc, char **argv, cli_t *cli) {
    static const struct option options[] = {{"home", required_argument, NULL, 'H'},
                                            {"log-level", required_argument, NULL, 'l'},
                                            {"log-format", required_argument, NULL, 'f'},
                                            {"http", required_argument, NULL, 'a'},
                                            {"listen", required_argument, NULL, 'L'},
                                            {"pid-file", required_argument, NULL, 'p'},
                                            {"help", no_argument, NULL, 'h'},
                                            {"version", no_argument, NULL, 'V'},
                                            {NULL, 0, NULL, 0}};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        const char *key = NULL, *name = NULL;
        switch (c) {
            case 'H':
                cli->home = optarg;
                continue;
            case 'p':
                cli->pid_file = optarg;
                continue;
            case 'h':
                usage(stdout);
                return -1;
            case 'V':
                printf("pbftd %s\n", PBFT_VERSION_STRING);
                return -1;
            case 'l':
                key = "log_level", name = "--log-level";
                break;
            case 'f':
                key = "log_format", name = "--log-format";
                break;
            case 'a':
                key = "http", name = "--http";
                break;
            case 'L':
                key = "listen", name = "--listen";
                break;
            default:
                fprintf(stderr, "pbftd: unknown or incomplete option '%s'\n", argv[optind - 1]);
                fprintf(stderr, "run 'pbftd --help' for usage\n");
                return NODE_EXIT_USAGE;
        }
        cli->flag_keys[cli->flag_count] = key;
        cli->flag_names[cli->flag_count] = name;
        cli->flag_values[cli->flag_count++] = optarg;
    }
    if (optind < argc) {
        fprintf(stderr, "pbftd: unexpected argument '%s' (run 'pbftd --help')\n", argv[optind]);
        return NODE_EXIT_USAGE;
    }
    if (!cli->home) cli->home = getenv("PBFT_HOME");
    if (!cli->home || !cli->home[0]) {
        fprintf(stderr, "pbftd: --home DIR is required (run 'pbftd --help')\n");
        return NODE_EXIT_USAGE;
    }
    return 0;
}

/* defaults < config.ini < environment < flags */
static int build_config(const cli_t *cli, node_config_t *config) {
    char err[CONFIG_ERR_SIZE_MAX] = "";
    config_defaults(config);
    if (strlen(cli->home) >= sizeof config->home) {
        fprintf(stderr, "pbftd: --home: path too long\n");
        return NODE_EXIT_USAGE;
    }
    snprintf(config->home, sizeof config->home, "%s", cli->home);
    char path[CONFIG_PATH_SIZE_MAX + 16];
    snprintf(path, sizeof path, "%s/config.ini", cli->home);
    if (config_load_file(config, path, err, sizeof err) != PBFT_OK ||
        config_apply_env(config, (const char *const *)environ, err, sizeof err) != PBFT_OK) {
        fprintf(stderr, "pbftd: configuration error: %s\n", err);
        return NODE_EXIT_DATA;
    }
    for (int i = 0; i < cli->flag_count; i++) {
        if (config_set(config, "node", cli->flag_keys[i], cli->flag_values[i], cli->flag_names[i],
                       err, sizeof err) != PBFT_OK) {
            fprintf(stderr, "pbftd: %s\n", err);
            return NODE_EXIT_USAGE;
        }
    }
    if (config_finish(config, err, sizeof err) != PBFT_OK) {
        fprintf(stderr, "pbftd: configuration error (%s): %s\n", path, err);
        return NODE_EXIT_DATA;
    }
    return NODE_EXIT_OK;
}

static int write_pid_file(const char *path) {
    FILE *f = fopen(path, "w");
    if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
        fprintf(stderr, "pbftd: cannot write pid file %s: %s\n", path, strerror(errno));
        return NODE_EXIT_IO;
    }
    return NODE_EXIT_OK;
}

/* pbftd compact --home DIR: with the replica stopped, writes its store's
 * account values back, flushes every memtable and compacts every column
 * family (store_compact). The data dir then holds no write-ahead log to
 * replay and takes what the chain takes at rest: before a backup or a
 * copy, or to measure bytes per tx. It never changes what is stored. A
 * running replica holds RocksDB's lock: then it refuses (exit 74) without
 * touching the directory. */
static int cmd_compact(int argc, char **argv) {
    static const struct option options[] = {{"home", required_argument, NULL, 'H'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    cli_t cli = {0};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (c == 'H') {
            cli.home = optarg;
        } else if (c == 'h') {
            printf("usage: pbftd compact --home DIR\n"
                   "With the replica stopped: write its account values back, flush its\n"
                   "memtables and compact its store, so that the data dir holds no\n"
                   "write-ahead log; what is stored does not change.\n");
            return NODE_EXIT_OK;
        } else {
            fprintf(stderr, "pbftd compact: unknown or incomplete option '%s'\n", argv[optind - 1]);
            return NODE_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "pbftd compact: unexpected argument '%s'\n", argv[optind]);
        return NODE_EXIT_USAGE;
    }
    if (!cli.home) cli.home = getenv("PBFT_HOME");
    if (!cli.home || !cli.home[0]) {
        fprintf(stderr, "pbftd compact: --home DIR is required\n");
        return NODE_EXIT_USAGE;
    }
    node_config_t *config = pbft_xcalloc(1, sizeof *config);
    int rc = build_config(&cli, config);
    pbft_genesis_t genesis;
    bool genesis_loaded = false;
    store_t *store = NULL;
    char err[512] = "";
    if (rc == NODE_EXIT_OK) {
        if (ledger_genesis_load(config->genesis_file, &genesis, err, sizeof err) != PBFT_OK) {
            fprintf(stderr, "pbftd compact: genesis %s: %s\n", config->genesis_file, err);
            rc = NODE_EXIT_DATA;
        } else {
            genesis_loaded = true;
        }
    }
    if (rc == NODE_EXIT_OK && node_store_in_use(config->data_dir)) {
        fprintf(stderr,
                "pbftd compact: the store %s is in use (a running replica holds its lock); "
                "stop the replica first\n",
                config->data_dir);
        rc = NODE_EXIT_IO;
    }
    if (rc == NODE_EXIT_OK) {
        pbft_status_t st = store_open_ex(config->data_dir, &genesis, STORE_READ_WRITE, NULL, &store,
                                         err, sizeof err);
        if (st != PBFT_OK) {
            rc = st == PBFT_ERR_WRONG_CHAIN || st == PBFT_ERR_VERSION || st == PBFT_ERR_CORRUPT
                     ? NODE_EXIT_DATA
                     : NODE_EXIT_IO;
            fprintf(stderr, "pbftd compact: cannot open the store %s%s: %s\n", config->data_dir,
                    rc == NODE_EXIT_IO ? " (is the replica running? it holds the store's lock)"
                                       : "",
                    err[0] ? err : pbft_status_string(st));
        }
    }
    if (rc == NODE_EXIT_OK) {
        pbft_status_t st = store_compact(store);
        if (st != PBFT_OK) {
            fprintf(stderr, "pbftd compact: %s: %s\n", config->data_dir, pbft_status_string(st));
            rc = NODE_EXIT_IO;
        } else {
            store_tip_t tip;
            store_get_tip(store, &tip);
            uint64_t after = store_disk_bytes(store);
            printf("compacted %s: height %" PRIu64 ", %" PRIu64 " txs; %" PRIu64
                   " bytes of SST and WAL files",
                   config->data_dir, tip.height, tip.tx_count_total, after);
            if (tip.tx_count_total)
                printf(" = %.0f bytes per committed tx", (double)after / tip.tx_count_total);
            printf("\n");
        }
    }
    store_close(store);
    if (genesis_loaded) ledger_genesis_free(&genesis);
    free(config);
    return rc;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "init") == 0) return pbftd_cmd_init(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "testnet") == 0) return pbftd_cmd_testnet(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "compact") == 0) return cmd_compact(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "version") == 0) {
        printf("pbftd %s\n", PBFT_VERSION_STRING);
        return NODE_EXIT_OK;
    }
    if (argc >= 2 && strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return NODE_EXIT_OK;
    }
    cli_t cli = {0};
    int rc = parse_cli(argc, argv, &cli);
    if (rc != 0) return rc < 0 ? NODE_EXIT_OK : rc;
    node_config_t *config = pbft_xcalloc(1, sizeof *config);
    rc = build_config(&cli, config);
    if (rc == NODE_EXIT_OK && cli.pid_file) rc = write_pid_file(cli.pid_file);
    if (rc != NODE_EXIT_OK) {
        free(config);
        return rc;
    }
    log_configure(config->log_level, config->log_format);
    heap_configure();
    LOG_INFO("node", "allocator", LOG_STR("malloc", heap_allocator()),
             LOG_STR("version", heap_allocator_version()));
    node_t *node = NULL;
    rc = node_open(config, &node);
    if (rc == NODE_EXIT_OK) rc = node_run(node);
    node_close(node);
    LOG_INFO("node", "exit", LOG_I64("code", rc));
    free(config);
    return rc;
}
