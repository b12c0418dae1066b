/*
 * tests/bench/store_bench.c — committed blocks/s and txs/s through the real
 * store (execute against the store + one synced write batch per block), for
 * blocks of 1, 100, 1000 and 300 transfers (the last over 240,000 txs, the
 * memtable size of a benchmark cluster run), the committing thread's CPU
 * time per tx, and bytes on disk per committed tx.
 *
 * Txs, headers and commit certificates are built and signed before timing;
 * the timed loop is ledger_execute_block (accounts through the store's
 * writer cache, as in a replica; a miss reads RocksDB) +
 * store_commit_block. 1000 funded users send in turn (so keys and addresses
 * do not repeat within a 1000-tx block and compress no better than in real
 * traffic); transfers have an empty memo; 1 in 10 goes to a new address, so
 * the account set grows. Each row uses a fresh store.
 *
 *   store_bench [--quick]
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../unit/store_fixture.h"

#define USERS 1000

typedef struct row {
    uint32_t txs_per_block;
    uint32_t blocks;
} row_t;

typedef struct prepared {
    pbft_block_t *blocks;
    pbft_commit_cert_t *certs;
} prepared_t;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double thread_cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The chain is deterministic, so every header (and so every certificate)
 * can be built before the store sees block 1. */
static void prepare(const fixture_t *f, const row_t *row, prepared_t *p) {
    p->blocks = pbft_xcalloc(row->blocks, sizeof *p->blocks);
    p->certs = pbft_xcalloc(row->blocks, sizeof *p->certs);
    uint64_t nonces[USERS] = {0}, fresh = 0;
    uint8_t prev[PBFT_HASH_SIZE];
    memcpy(prev, f->genesis.block_hash, PBFT_HASH_SIZE);
    for (uint32_t b = 0; b < row->blocks; b++) {
        pbft_block_t *blk = &p->blocks[b];
        blk->header.version = PBFT_BLOCK_VERSION;
        blk->header.height = (uint64_t)b + 1;
        blk->header.timestamp_ms = f->genesis.genesis_time_ms + b + 1;
        memcpy(blk->header.prev_hash, prev, PBFT_HASH_SIZE);
        blk->header.tx_count = row->txs_per_block;
        blk->txs = pbft_xcalloc(row->txs_per_block, sizeof *blk->txs);
        for (uint32_t i = 0; i < row->txs_per_block; i++) {
            size_t u = (size_t)(b * row->txs_per_block + i) % USERS;
            uint8_t to[PBFT_ADDRESS_SIZE];
            memcpy(to, f->user_addr[(u + 1) % USERS], PBFT_ADDRESS_SIZE);
            if (i % 10 == 9) {
                fresh++;
                memset(to, 0xf0, PBFT_ADDRESS_SIZE);
                memcpy(to, &fresh, sizeof fresh);
            }
            blk->txs[i] = fixture_tx(f, u, to, 1, nonces[u]++);
        }
        codec_block_tx_root(blk, NULL, blk->header.tx_root);
        fixture_cert(f, &blk->header, 3, &p->certs[b]);
        codec_header_hash(&blk->header, prev);
    }
}

static void prepared_free(const row_t *row, prepared_t *p) {
    for (uint32_t b = 0; b < row->blocks; b++)
        codec_block_free(&p->blocks[b]);
    free(p->blocks);
    free(p->certs);
}

static int run_row(const row_t *row) {
    fixture_t f;
    if (!fixture_init(&f, USERS, "store-bench")) return 1;
    prepared_t p;
    prepare(&f, row, &p);
    store_t *s = NULL;
    char err[256] = "";
    if (store_open(f.data_dir, &f.genesis, STORE_READ_WRITE, &s, err, sizeof err) != PBFT_OK) {
        fprintf(stderr, "store_open: %s\n", err);
        return 1;
    }
    uint64_t base_bytes = 0;
    if (store_compact(s) == PBFT_OK) base_bytes = store_disk_bytes(s);
    double *lat = pbft_xcalloc(row->blocks, sizeof *lat);
    double *exec_lat = pbft_xcalloc(row->blocks, sizeof *exec_lat);
    double start = now_s(), cpu_start = thread_cpu_s();
    for (uint32_t b = 0; b < row->blocks; b++) {
        double t0 = now_s();
        store_tip_t tip;
        store_get_tip(s, &tip);
        ledger_state_reader_t reader = store_state_reader(s, NULL);
        ledger_block_result_t r;
        ledger_execute_block(&p.blocks[b], &reader, tip.state_hash, &r);
        exec_lat[b] = now_s() - t0;
        pbft_status_t st = store_commit_block(s, &p.blocks[b], &p.certs[b], &r);
        ledger_block_result_free(&r);
        if (st != PBFT_OK) {
            fprintf(stderr, "commit %u: %s\n", b + 1, pbft_status_string(st));
            return 1;
        }
        lat[b] = now_s() - t0;
    }
    double elapsed = now_s() - start, cpu = thread_cpu_s() - cpu_start;
    uint64_t live_bytes = store_disk_bytes(s);
    if (store_compact(s) != PBFT_OK) return 1;
    uint64_t compact_bytes = store_disk_bytes(s);
    qsort(lat, row->blocks, sizeof *lat, cmp_double);
    qsort(exec_lat, row->blocks, sizeof *exec_lat, cmp_double);
    double txs = (double)row->blocks * row->txs_per_block;
    printf("%9u %7u %8.0f %10.1f %10.0f %9.2f %9.2f %9.2f %10.1f %12.1f %12.1f\n",
           row->txs_per_block, row->blocks, txs, row->blocks / elapsed, txs / elapsed,
           lat[row->blocks / 2] * 1e3, lat[(size_t)(row->blocks * 0.99)] * 1e3,
           exec_lat[row->blocks / 2] * 1e3, cpu * 1e6 / txs,
           (double)(compact_bytes - PBFT_MIN(base_bytes, compact_bytes)) / txs,
           (double)live_bytes / txs);
    fflush(stdout);
    free(lat);
    free(exec_lat);
    store_close(s);
    prepared_free(row, &p);
    fixture_free(&f);
    return 0;
}

int main(int argc, char **argv) {
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    const row_t rows[] = {
        {1, quick ? 200 : 1000},
        {100, quick ? 50 : 200},
        {1000, quick ? 10 : 50},
        /* the benchmark cluster's block size, over a memtable of its size */
        {300, quick ? 100 : 800},
    };
    printf("store_bench%s: execute + synced commit per block, fresh store per row\n",
           quick ? " --quick" : "");
    printf("%9s %7s %8s %10s %10s %9s %9s %9s %10s %12s %12s\n", "txs/block", "blocks", "txs",
           "blocks/s", "txs/s", "p50 ms", "p99 ms", "exec p50", "CPU us/tx", "B/tx disk",
           "B/tx +WAL");
    for (size_t i = 0; i < PBFT_ARRAY_COUNT(rows); i++)
        if (run_row(&rows[i]) != 0) return 1;
    printf("p50/p99 ms: execute + commit of one block; exec p50: the execute part alone.\n");
    printf("CPU us/tx: the committing thread's CPU time over the row (execute + commit; RocksDB's "
           "background flushes and compactions not included), per tx.\n");
    printf("B/tx disk: SST bytes after flush + full compaction, minus the genesis store, per tx "
           "(all indexes included).\nB/tx +WAL: live SST + WAL bytes before compaction, per "
           "tx.\n");
    return 0;
}
