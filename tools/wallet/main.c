/*
 * tools/wallet/main.c — pbft-wallet: options, defaults and command dispatch.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "wallet.h"
#include "../common/json.h"

static void print_help(void) {
    printf("pbft-wallet %s — keys, balances and verified payments on a pbft-ledger network\n"
           "\n"
           "usage: pbft-wallet [global options] COMMAND [args]\n"
           "\n"
           "commands:\n"
           "  new NAME                      create key NAME in the keystore (0600, never "
           "overwritten)\n"
           "  list                          list the keys in the keystore with their addresses\n"
           "  address [NAME]                print the address of NAME (default --from)\n"
           "  balance [ADDR|NAME]           balance of an account (default --from)\n"
           "  nonce [ADDR|NAME]             next nonce of an account (default --from)\n"
           "  send --to ADDR|NAME --amount N [--memo TEXT] [--nonce N] [--async]\n"
           "                                sign with --from, submit, wait for the commit and\n"
           "                                verify the receipt (Merkle path + 2f+1 commit\n"
           "                                signatures against the genesis validators)\n"
           "  sign --to ADDR|NAME --amount N --nonce N [--memo TEXT] -o FILE\n"
           "                                sign offline (no node contacted) into FILE\n"
           "  broadcast FILE [--async]      submit a signed tx file, wait and verify like send\n"
           "  tx ID                         status of a transaction (receipt not checked)\n"
           "  confirm ID                    fetch the receipt of ID and verify it against genesis\n"
           "  history [ADDR|NAME] [--limit N]  recent transactions of an account\n"
           "\n"
           "global options:\n"
           "  --keystore DIR   key directory (default $PBFT_KEYSTORE, else ~/.pbft-wallet)\n"
           "  --from NAME      key that signs (send, sign) and default account\n"
           "  --node URL[,URL...]  replicas to talk to; the next is tried when one is down\n"
           "                   (default $PBFT_NODE, else the replicas in ./.testnet/testnet.json,\n"
           "                   else http://127.0.0.1:26601)\n"
           "  --genesis FILE   the network's genesis.json (default KEYSTORE/genesis.json).\n"
           "                   It is never fetched from a node: it is what receipts are checked\n"
           "                   against.\n"
           "  --json           print one JSON document (64-bit numbers as strings)\n"
           "  --timeout SEC    how long to wait for a commit or an answer (default 30)\n"
           "\n"
           "Private keys are only read from key files; no secret is ever taken on the command\n"
           "line. A receipt that fails verification is refused (exit 65), never reported as a\n"
           "success. The result code of a committed tx (ok, bad_nonce, ...) is not covered by\n"
           "the certificate: with --node listing at least f+1 replicas, the wallet waits until\n"
           "f+1 of them report the same result with verified receipts (PBFT's client rule);\n"
           "with fewer it says so. pbft-verify checks every result by replay.\n"
           "\n"
           "exit status:\n"
           "   0  done\n"
           "   1  negative answer: rejected, not found, or committed with a failure result\n"
           "  64  usage error\n"
           "  65  data error: a receipt or proof failed verification (possible forgery),\n"
           "      or a malformed file\n"
           "  66  no input: key or genesis file missing\n"
           "  69  unavailable: no node reachable\n"
           "  73  cannot create the output file (sign -o never overwrites)\n"
           "  75  timeout or node busy: not committed yet; safe to retry with the same nonce\n"
           "  77  permission: a key file others can read (chmod 600), or an unreadable keystore\n",
           PBFT_VERSION_STRING);
}

enum {
    OPT_KEYSTORE = 1000,
    OPT_FROM,
    OPT_NODE,
    OPT_GENESIS,
    OPT_JSON,
    OPT_TIMEOUT,
    OPT_TO,
    OPT_AMOUNT,
    OPT_MEMO,
    OPT_NONCE,
    OPT_ASYNC,
    OPT_LIMIT,
    OPT_VERSION,
};

static const struct option long_options[] = {
    {"keystore", required_argument, NULL, OPT_KEYSTORE},
    {"from", required_argument, NULL, OPT_FROM},
    {"node", required_argument, NULL, OPT_NODE},
    {"genesis", required_argument, NULL, OPT_GENESIS},
    {"json", no_argument, NULL, OPT_JSON},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"to", required_argument, NULL, OPT_TO},
    {"amount", required_argument, NULL, OPT_AMOUNT},
    {"memo", required_argument, NULL, OPT_MEMO},
    {"nonce", required_argument, NULL, OPT_NONCE},
    {"async", no_argument, NULL, OPT_ASYNC},
    {"output", required_argument, NULL, 'o'},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* The replicas of ./.testnet/testnet.json, comma-separated, first first. */
static bool nodes_from_testnet(char *out, size_t size) {
    json_t *root = json_load_file(".testnet/testnet.json", 0, NULL);
    if (!root) return false;
    const json_t *replicas = json_object_get(root, "replicas");
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; json_is_array(replicas) && i < json_array_size(replicas); i++) {
        const char *http = tools_json_get_string(json_array_get(replicas, i), "http");
        if (!http) continue;
        int n = snprintf(out + used, size - used, "%shttp://%s", used ? "," : "", http);
        if (n < 0 || (size_t)n >= size - used) break;
        used += (size_t)n;
    }
    json_decref(root);
    return used > 0;
}

static void set_defaults(wallet_ctx_t *ctx) {
    memset(ctx, 0, sizeof(*ctx));
    ctx->timeout_ms = WALLET_TIMEOUT_MS_DEFAULT;
    const char *ks = getenv("PBFT_KEYSTORE");
    const char *home = getenv("HOME");
    if (ks && *ks)
        snprintf(ctx->keystore, sizeof(ctx->keystore), "%s", ks);
    else
        snprintf(ctx->keystore, sizeof(ctx->keystore), "%s/.pbft-wallet", home ? home : ".");
    const char *node = getenv("PBFT_NODE");
    if (node && *node)
        snprintf(ctx->nodes, sizeof(ctx->nodes), "%s", node);
    else if (!nodes_from_testnet(ctx->nodes, sizeof(ctx->nodes)))
        snprintf(ctx->nodes, sizeof(ctx->nodes), "http://127.0.0.1:26601");
}

/* Applies one option; returns false on a bad value. */
static bool apply_option(wallet_ctx_t *ctx, int c, const char *arg, bool *genesis_set) {
    uint64_t v = 0;
    switch (c) {
        case OPT_KEYSTORE:
            snprintf(ctx->keystore, sizeof(ctx->keystore), "%s", arg);
            return true;
        case OPT_FROM:
            ctx->from = arg;
            return true;
        case OPT_NODE:
            snprintf(ctx->nodes, sizeof(ctx->nodes), "%s", arg);
            return true;
        case OPT_GENESIS:
            snprintf(ctx->genesis_path, sizeof(ctx->genesis_path), "%s", arg);
            *genesis_set = true;
            return true;
        case OPT_JSON:
            ctx->json = true;
            return true;
        case OPT_TIMEOUT:
            if (!tools_parse_u64(arg, &v) || v == 0 || v > 86400) return false;
            ctx->timeout_ms = (long)v * 1000;
            return true;
        case OPT_TO:
            ctx->to = arg;
            return true;
        case OPT_AMOUNT:
            ctx->amount = arg;
            return true;
        case OPT_MEMO:
            ctx->memo = arg;
            return true;
        case OPT_NONCE:
            ctx->nonce = arg;
            return true;
        case OPT_ASYNC:
            ctx->async = true;
            return true;
        case 'o':
            ctx->output = arg;
            return true;
        case OPT_LIMIT:
            ctx->limit = arg;
            return true;
        default:
            return false;
    }
}

typedef int (*wallet_cmd_fn)(wallet_ctx_t *, int, char **);

static const struct {
    const char *name;
    wallet_cmd_fn fn;
} commands[] = {
    {"new", wallet_cmd_new},
    {"list", wallet_cmd_list},
    {"address", wallet_cmd_address},
    {"balance", wallet_cmd_balance},
    {"nonce", wallet_cmd_nonce},
    {"history", wallet_cmd_history},
    {"send", wallet_cmd_send},
    {"sign", wallet_cmd_sign},
    {"broadcast", wallet_cmd_broadcast},
    {"tx", wallet_cmd_tx},
    {"confirm", wallet_cmd_confirm},
};

int main(int argc, char **argv) {
    wallet_ctx_t ctx;
    set_defaults(&ctx);
    bool genesis_set = false;
    int c;
    while ((c = getopt_long(argc, argv, "ho:", long_options, NULL)) != -1) {
        if (c == 'h') {
            print_help();
            return WALLET_EXIT_OK;
        }
        if (c == OPT_VERSION) {
            printf("pbft-wallet %s\n", PBFT_VERSION_STRING);
            return WALLET_EXIT_OK;
        }
        if (c == '?' || !apply_option(&ctx, c, optarg, &genesis_set)) {
            if (c != '?') fprintf(stderr, "pbft-wallet: bad value: %s\n", optarg);
            fprintf(stderr, "usage: pbft-wallet [options] COMMAND [args] (--help for more)\n");
            return WALLET_EXIT_USAGE;
        }
    }
    if (!genesis_set)
        snprintf(ctx.genesis_path, sizeof(ctx.genesis_path), "%s/genesis.json", ctx.keystore);
    if (optind >= argc) {
        fprintf(stderr, "usage: pbft-wallet [options] COMMAND [args] (--help for more)\n");
        return WALLET_EXIT_USAGE;
    }
    const char *name = argv[optind];
    int rc = -1;
    for (size_t i = 0; i < PBFT_ARRAY_COUNT(commands); i++) {
        if (strcmp(commands[i].name, name) == 0) {
            rc = commands[i].fn(&ctx, argc - optind - 1, argv + optind + 1);
            break;
        }
    }
    if (rc < 0) {
        fprintf(stderr, "pbft-wallet: unknown command \"%s\" (--help lists them)\n", name);
        rc = WALLET_EXIT_USAGE;
    }
    tools_http_free(ctx.http);
    if (ctx.genesis_loaded) ledger_genesis_free(&ctx.genesis);
    return rc;
}
