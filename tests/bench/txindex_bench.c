/*
 * tests/bench/txindex_bench.c — what "is this tx already committed?" costs
 * as the chain grows. A replica asks it of every new tx it sees (a client's
 * POST, a tx relayed by a peer, each tx of a PRE-PREPARE), and the answer is
 * almost always no: a lookup of an absent tx id, which asks the memtables
 * and then every sorted run of the store's default family (each L0 file,
 * one file per deeper level) through their filters. The cost grows with the
 * LSM and with how much of its filters the block cache holds.
 *
 * The bench commits transfers through the real store (execute + synced
 * commit, blocks of 300 txs, 1000 senders in turn, commit certificates
 * signed by real validator keys; the txs are unsigned, since neither the
 * store nor execution checks client signatures and a tx id does not cover
 * the signature), and at each doubling of the chain stops writing and times
 * from one thread (as the consensus thread does):
 *   - absent: store_get_tx_location of random ids (none committed);
 *   - present: the same of committed ids drawn uniformly from the chain;
 * each after a warm-up pass of as many other lookups, with the LSM as the
 * writes left it (compactions may be running, as in a replica under load).
 * A last row repeats it after a full compaction (one sorted run per level).
 *
 *   txindex_bench [--quick] [--txs N] [--cache-mib M] [--lookups K]
 *
 * Defaults: 8M txs (--quick: 500,000), the store's default block cache
 * (STORE_BLOCK_CACHE_BYTES_DEFAULT), 200,000 lookups per figure (--quick:
 * 50,000).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../unit/store_fixture.h"

#define USERS 1000
#define TXS_PER_BLOCK 300
#define FIRST_CHECKPOINT 250000ull
#define SAMPLE_EVERY 64 /* one committed id in this many is kept for "present" */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void random_id(uint64_t *state, uint8_t id[PBFT_HASH_SIZE]) {
    for (size_t i = 0; i < PBFT_HASH_SIZE; i += 8) {
        uint64_t r = splitmix64(state);
        memcpy(id + i, &r, 8);
    }
}

typedef struct sample {
    uint8_t (*ids)[PBFT_HASH_SIZE];
    size_t count, cap;
} sample_t;

typedef struct bench {
    fixture_t f;
    store_t *s;
    uint64_t nonces[USERS];
    uint64_t committed; /* txs */
    sample_t sample;
    uint64_t rng;
} bench_t;

/* Commits blocks until the chain holds target txs; false on a store error. */
static bool grow(bench_t *b, uint64_t target) {
    pbft_tx_t txs[TXS_PER_BLOCK];
    while (b->committed < target) {
        for (uint32_t i = 0; i < TXS_PER_BLOCK; i++) {
            size_t u = (size_t)((b->committed + i) % USERS);
            txs[i] =
                fixture_tx_unsigned(&b->f, u, b->f.user_addr[(u + 1) % USERS], 1, b->nonces[u]++);
            if ((b->committed + i) % SAMPLE_EVERY == 0) {
                if (b->sample.count == b->sample.cap) {
                    b->sample.cap = b->sample.cap ? 2 * b->sample.cap : 4096;
                    b->sample.ids =
                        pbft_xrealloc(b->sample.ids, b->sample.cap * sizeof *b->sample.ids);
                }
                codec_tx_id(&txs[i], b->sample.ids[b->sample.count++]);
            }
        }
        pbft_block_t blk;
        fixture_block(b->s, txs, TXS_PER_BLOCK, 0, &blk);
        pbft_commit_cert_t cert;
        fixture_cert(&b->f, &blk.header, 3, &cert);
        store_tip_t tip;
        store_get_tip(b->s, &tip);
        ledger_state_reader_t reader = store_state_reader(b->s, NULL);
        ledger_block_result_t r;
        ledger_execute_block(&blk, &reader, tip.state_hash, &r);
        pbft_status_t st = store_commit_block(b->s, &blk, &cert, &r);
        ledger_block_result_free(&r);
        codec_block_free(&blk);
        if (st != PBFT_OK) {
            fprintf(stderr, "txindex_bench: commit at %" PRIu64 " txs: %s\n", b->committed,
                    pbft_status_string(st));
            return false;
        }
        b->committed += TXS_PER_BLOCK;
    }
    return true;
}

/* Mean seconds per lookup over n lookups; *found counts the hits; -1 on a
 * store error. */
static double time_lookups(bench_t *b, bool present, size_t n, size_t *found) {
    store_tx_location_t loc;
    uint8_t id[PBFT_HASH_SIZE];
    *found = 0;
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        uint64_t r = splitmix64(&b->rng);
        if (present)
            memcpy(id, b->sample.ids[r % b->sample.count], PBFT_HASH_SIZE);
        else
            random_id(&b->rng, id);
        pbft_status_t st = store_get_tx_location(b->s, id, &loc);
        if (st == PBFT_OK)
            (*found)++;
        else if (st != PBFT_ERR_NOT_FOUND) {
            fprintf(stderr, "txindex_bench: lookup: %s\n", pbft_status_string(st));
            return -1;
        }
    }
    return (now_s() - t0) / (double)n;
}

/* One row; false on a store error or a wrong answer (a bug, not a figure). */
static bool row(bench_t *b, const char *label, size_t lookups) {
    size_t found;
    if (time_lookups(b, false, lookups, &found) < 0) return false; /* warm-up */
    double absent = time_lookups(b, false, lookups, &found);
    if (absent < 0) return false;
    if (found != 0) {
        fprintf(stderr, "txindex_bench: %zu random ids found committed\n", found);
        return false;
    }
    if (time_lookups(b, true, lookups, &found) < 0) return false;
    double present = time_lookups(b, true, lookups, &found);
    if (present < 0) return false;
    if (found != lookups) {
        fprintf(stderr, "txindex_bench: %zu of %zu committed ids not found\n", lookups - found,
                lookups);
        return false;
    }
    store_stats_t st;
    store_stats(b->s, &st);
    printf("%-10s %10" PRIu64 " %10.2f %10.2f %8" PRIu64 " %10.1f %10.1f %10.1f\n", label,
           b->committed, absent * 1e6, present * 1e6, st.l0_files,
           (double)st.block_cache / (1 << 20), (double)st.block_cache_pinned / (1 << 20),
           (double)st.pending_bytes / (1 << 20));
    fflush(stdout);
    return true;
}

static void usage(void) {
    fprintf(stderr, "usage: txindex_bench [--quick] [--txs N] [--cache-mib M] [--lookups K]\n");
    exit(64);
}

static uint64_t parse_count(const char *arg, uint64_t min, uint64_t max) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (errno || end == arg || *end || arg[0] == '-' || v < min || v > max) {
        fprintf(stderr, "txindex_bench: %s is not a number in %" PRIu64 "..%" PRIu64 "\n", arg, min,
                max);
        exit(64);
    }
    return v;
}

int main(int argc, char **argv) {
    static const struct option longopts[] = {{"quick", no_argument, NULL, 'q'},
                                             {"txs", required_argument, NULL, 't'},
                                             {"cache-mib", required_argument, NULL, 'c'},
                                             {"lookups", required_argument, NULL, 'l'},
                                             {NULL, 0, NULL, 0}};
    bool quick = false;
    uint64_t txs = 0, cache_mib = 0, lookups = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
            case 'q':
                quick = true;
                break;
            case 't':
                txs = parse_count(optarg, TXS_PER_BLOCK, 1ull << 32);
                break;
            case 'c':
                cache_mib = parse_count(optarg, 1, 1 << 20);
                break;
            case 'l':
                lookups = parse_count(optarg, 1, 100000000);
                break;
            default:
                usage();
        }
    }
    if (optind != argc) usage();
    if (!txs) txs = quick ? 500000 : 8000000;
    if (!lookups) lookups = quick ? 50000 : 200000;

    static bench_t b;
    if (!fixture_init(&b.f, USERS, "txindex-bench")) {
        fprintf(stderr, "txindex_bench: key generation failed\n");
        return 1;
    }
    store_options_t options = {.block_cache_bytes = cache_mib << 20};
    char err[256] = "";
    if (store_open_ex(b.f.data_dir, &b.f.genesis, STORE_READ_WRITE, &options, &b.s, err,
                      sizeof err) != PBFT_OK) {
        fprintf(stderr, "txindex_bench: store_open: %s\n", err);
        return 1;
    }
    store_thread_init();
    b.rng = 42;
    printf("txindex_bench%s: store_get_tx_location from one thread, %" PRIu64
           " lookups per figure, block cache %" PRIu64 " MiB\n",
           quick ? " --quick" : "", lookups,
           (cache_mib ? cache_mib << 20 : STORE_BLOCK_CACHE_BYTES_DEFAULT) >> 20);
    printf("%-10s %10s %10s %10s %8s %10s %10s %10s\n", "LSM", "txs", "absent us", "present us",
           "L0 files", "cache MiB", "pinned MiB", "pending MiB");
    int rc = 0;
    double build_s = 0;
    for (uint64_t at = FIRST_CHECKPOINT;; at *= 2) {
        uint64_t target = PBFT_MIN(at, txs);
        double t0 = now_s();
        if (!grow(&b, target)) {
            rc = 1;
            break;
        }
        build_s += now_s() - t0;
        if (!row(&b, "as written", lookups)) {
            rc = 1;
            break;
        }
        if (target == txs) break;
    }
    if (rc == 0) {
        if (store_compact(b.s) != PBFT_OK || !row(&b, "compacted", lookups)) rc = 1;
    }
    if (rc == 0)
        printf("built at %.0f txs/s (execute + synced commit, blocks of %d); absent: random "
               "ids, none committed; present: committed ids drawn uniformly from the chain; "
               "each after a warm-up pass. pending: RocksDB's estimate of the bytes compactions "
               "still have to rewrite.\n",
               (double)b.committed / build_s, TXS_PER_BLOCK);
    store_close(b.s);
    free(b.sample.ids);
    fixture_free(&b.f);
    return rc;
}
