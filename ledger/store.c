/*
 * ledger/store.c — the RocksDB-backed hash-chained ledger store. This is the
 * only file in the project that includes rocksdb/c.h.
 *
 * Key space (the first byte of every key names the kind; heights are
 * big-endian so iteration follows height order). Three column families
 * (route() maps a key below to its family and stored form):
 *   "chain"     the per-height kinds B, C, R, S and L, stored height first
 *               (be64 height | kind). Blocks only ever append, so every
 *               flush is a key range above all earlier ones and RocksDB
 *               moves its files down the levels without rewriting them.
 *   "consensus" P and Z as written here: a prepared block is deleted at
 *               its commit, mostly before a flush, so little stays.
 *   "default"   everything else as written here (tx index, accounts,
 *               history marks, checkpoints, metadata): the only family
 *               compactions rewrite.
 * Format 3 had one family, and every flush spanned its whole key space
 * (random tx ids, and each per-height kind): each L0 -> L1 compaction
 * rewrote every block of L1, and at a sustained peak they fell behind
 * until RocksDB slowed writes (docs/OPERATIONS.md, docs/STORAGE.md).
 *
 *   'B' be64 height              -> canonical block (header || txs)
 *   'C' be64 height              -> canonical commit certificate (h >= 1)
 *   'R' be64 height              -> tx results, one byte per tx (h >= 1)
 *   'S' be64 height              -> state_hash(height), 32 bytes
 *   'K' be64 height              -> canonical checkpoint certificate
 *   'T' tx_id[32]                -> varint height | varint index | u8 result
 *   'A' address[20]              -> u64le balance | u64le nonce, then, once
 *                                   the account is in a tx: u8 flags |
 *                                   varint height | varint index of its
 *                                   newest tx (the head of its history) |
 *                                   varint count of its txs
 *   'L' be64 height              -> per tx, two history links (sender's,
 *                                   recipient's): where that account's
 *                                   previous tx is (h >= 1, tx_count >= 1)
 *   'H' address[20] be64 height be16 index -> (empty): every 64th tx of the
 *                                   account (history marks), so a walk to
 *                                   any height starts within 64 txs of it
 *   'M' "chain_id"               -> chain id, 32 bytes
 *   'M' "format"                 -> u8 store format version (4)
 *   'M' "accounts"               -> u64le height: the 'A' values are those
 *                                   of the state at this height (<= tip)
 *   'M' "tip"                    -> u64le height | block_hash[32] |
 *                                   state_hash[32] | u64le tx_count_total
 *   'Z' name                     -> consensus safety blob (store_put_safety)
 *   'P' be64 height block_hash[32] -> a block consensus prepared, canonical;
 *                                   deleted when it commits; any other copy
 *                                   at a committed height (one that lost a
 *                                   view change) at the next checkpoint
 *
 * Why these shapes: a committed transfer must cost well under 300 bytes on
 * disk with every index, and a commit must cost the writer few memtable
 * inserts. The tx index value is a few varint bytes. Account history is a
 * list through the blocks, newest first: the account value names the newest
 * tx and each block's 'L' value links every tx to the sender's and the
 * recipient's previous one, so history costs a key only every 64th tx of
 * an account (a mark that bounds any walk; ids are re-derived from the
 * block when history is read, which is rare next to writes). No separate
 * tx-id list is stored (receipts recompute the ids of one block). See
 * docs/STORAGE.md.
 *
 * Atomicity: a block and everything derived from it (cert, results, state
 * hash, tx index, history, tip) go into one write batch written with
 * sync = 1, so after a crash the store holds a prefix of the chain and the
 * tip metadata names its last block. store_open checks that.
 *
 * Account values are written behind: a commit keeps the accounts it changed
 * in memory (the dirty table, which every account read consults first) and
 * writes them, with 'M' "accounts" = its height, in its own batch once every
 * STORE_ACCOUNT_WRITE_EVERY blocks, when the table fills, and at close. A
 * block of 300 transfers among 1,000 users touches ~450 accounts, so this
 * saves most of a commit's memtable inserts (and WAL and flush bytes). The
 * blocks are the redo log: after a crash, store_open executes the blocks
 * above 'M' "accounts" again on the state below them, checking each against
 * its stored results and state hash (a read-only view of a live writer does
 * the same before its first account read).
 *
 * Read-only mode opens a RocksDB secondary instance over the primary's
 * directory with a private secondary directory under /tmp (removed on
 * close); store_refresh catches up with the primary.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rocksdb/c.h>

#include "pbft/cert.h"
#include "pbft/codec.h"
#include "pbft/store.h"

#define STORE_FORMAT_VERSION 4
#define STORE_BLOOM_BITS_PER_KEY 10
#define STORE_MEMTABLE_BLOOM_RATIO 0.05 /* of the write buffer, for the memtable's filter */
/* Memtable size of the default and chain families, and of the consensus
 * family (prepared blocks, deleted again before most flushes). */
#define STORE_WRITE_BUFFER_BYTES (32u * 1024u * 1024u)
#define STORE_CONSENSUS_WRITE_BUFFER_BYTES (16u * 1024u * 1024u)
#define STORE_WAL_BYTES_MAX (256ull * 1024u * 1024u)
#define STORE_KEY_SIZE_MAX 64
#define STORE_SAFETY_KEY_SIZE_MAX 48
#define STORE_TIP_VALUE_SIZE (8 + PBFT_HASH_SIZE + PBFT_HASH_SIZE + 8)
#define STORE_ACCOUNT_STATE_SIZE 16 /* balance, nonce */
#define STORE_ACCOUNT_VALUE_SIZE_MAX (STORE_ACCOUNT_STATE_SIZE + 1 + 10 + 5 + 10) /* + history */
#define STORE_ACCOUNT_NO_STATE 0x01 /* flag: a history head only; not in the state */
#define STORE_TX_LOCATION_SIZE_MAX (10 + 5 + 1)
#define STORE_LINK_SIZE_MAX (10 + 5)
#define STORE_HISTORY_MARK_EVERY 64 /* txs of an account between two 'H' marks */
#define STORE_HISTORY_KEY_SIZE (1 + PBFT_ADDRESS_SIZE + 8 + 2)
#define STORE_PATH_SIZE_MAX 4096
/* The writer's copy of the accounts it read or wrote (direct-mapped by
 * address; a miss reads the store): execution reads through it and a
 * commit does not read back the history heads it wrote. Memory does not
 * grow with accounts or chain. */
#define STORE_ACCOUNT_CACHE_SLOTS 65536u /* power of two; ~4 MiB */
/* Write-behind of account values (see the top of the file): at most this
 * many blocks, and this many accounts, wait in memory; recovery executes at
 * most that many blocks again. */
#define STORE_DIRTY_MAX 16384u
#define STORE_DIRTY_SLOTS (2u * STORE_DIRTY_MAX) /* power of two; 2 MiB */

_Static_assert(PBFT_BLOCK_TX_COUNT_MAX <= UINT16_MAX, "history marks hold the tx index in u16");
_Static_assert(2u * PBFT_BLOCK_TX_COUNT_MAX <= STORE_DIRTY_MAX, "a block's accounts fit the table");

/* Where an account's tx is: (height, index); height 0 = none (block 0 has
 * no txs). */
typedef struct hist_pos {
    uint64_t height;
    uint32_t index;
} hist_pos_t;

/* An 'A' value decoded. `exists`: the account is in the state (else its
 * balance and nonce are 0 and only the history head may be set). */
typedef struct account_rec {
    uint8_t address[PBFT_ADDRESS_SIZE];
    bool valid; /* cache slot / per-block table slot in use */
    bool exists;
    uint64_t balance;
    uint64_t nonce;
    hist_pos_t head;        /* newest tx */
    uint64_t history_count; /* txs it is in (a self-transfer counts once) */
} account_rec_t;
_Static_assert(STORE_SAFETY_KEY_SIZE_MAX + 1 <= STORE_KEY_SIZE_MAX, "safety key fits");

/* Column families (see the top of the file). */
enum { STORE_CF_DEFAULT, STORE_CF_CHAIN, STORE_CF_CONSENSUS, STORE_CF_COUNT };
static const char *const store_cf_names[STORE_CF_COUNT] = {"default", "chain", "consensus"};

struct store {
    rocksdb_t *db;
    rocksdb_column_family_handle_t *cf[STORE_CF_COUNT];
    rocksdb_options_t *options;           /* the database's and the default family's */
    rocksdb_options_t *chain_options;     /* the chain family's */
    rocksdb_options_t *consensus_options; /* the consensus family's */
    rocksdb_ratelimiter_t *rate_limiter;  /* NULL: background writes not capped */
    rocksdb_env_t *env;                   /* the process-wide default Env; NULL read-only */
    rocksdb_block_based_table_options_t *table_options;
    rocksdb_cache_t *cache;
    rocksdb_filterpolicy_t *filter;
    rocksdb_readoptions_t *read_options;
    rocksdb_writeoptions_t *write_options;        /* sync = 1 */
    rocksdb_writeoptions_t *write_options_nosync; /* store_commit_block_ex(sync = false) */
    store_mode_t mode;
    char dir[STORE_PATH_SIZE_MAX];
    char secondary_dir[64]; /* read-only: private dir, removed on close */
    pbft_genesis_t genesis; /* own copy: validators for checks, block 0 */
    pthread_mutex_t tip_lock;
    store_tip_t tip;
    /* The commit's batch deletes its block's prepared copy ('P'). The
     * consensus thread can prepare a block and have it committed by the
     * others' COMMITs before its own safety write lands; written after the
     * delete, the copy would stay (1.6-5% of the blocks did in 60-s runs).
     * prepared_lock orders the two writes: store_put_safety_and_blocks
     * leaves out blocks at or below written_height, the last block written. */
    pthread_mutex_t prepared_lock;
    uint64_t written_height;
    account_rec_t *accounts; /* read-write only; the writer's thread only */
    /* Account values newer than their 'A' records (open addressing by
     * address, STORE_DIRTY_SLOTS, allocated with the store). The writer's
     * thread changes it under dirty_lock; readers on other threads look up
     * under it. */
    pthread_mutex_t dirty_lock;
    account_rec_t *dirty;
    size_t dirty_count;
    uint64_t accounts_height;  /* 'M' "accounts": the 'A' records are current to here */
    uint64_t recovered_blocks; /* executed again by the last catch-up */
    /* Read-only: the dirty table is rebuilt before the first account read
     * after open or a refresh; rebuild_lock guards that and, on read-only
     * stores, accounts_height and recovered_blocks. */
    pthread_mutex_t rebuild_lock;
    bool dirty_stale;
    pbft_status_t dirty_status;           /* what the last rebuild found */
    pbft_status_t *reader_status;         /* store_state_reader's, for the writer's thread */
    _Atomic uint64_t history_block_loads; /* store_debug_history_block_loads */
};

PBFT_PRINTF(3, 4)
static void set_err(char *err, size_t err_size, const char *fmt, ...) {
    if (!err || !err_size) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
}

/* ------------------------------------------------------------------------ */
/* Keys and small encodings                                                   */

static void put_be(uint8_t *b, uint64_t v, int width) {
    for (int i = 0; i < width; i++)
        b[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
}

static uint64_t get_be(const uint8_t *b, int width) {
    uint64_t v = 0;
    for (int i = 0; i < width; i++)
        v = (v << 8) | b[i];
    return v;
}

static void put_le(uint8_t *b, uint64_t v, int width) {
    for (int i = 0; i < width; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *b, int width) {
    uint64_t v = 0;
    for (int i = width - 1; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

static size_t height_key(char kind, uint64_t height, uint8_t key[9]) {
    key[0] = (uint8_t)kind;
    put_be(key + 1, height, 8);
    return 9;
}

static size_t prepared_key(uint64_t height, const uint8_t hash[PBFT_HASH_SIZE],
                           uint8_t key[STORE_KEY_SIZE_MAX]) {
    height_key('P', height, key);
    memcpy(key + 9, hash, PBFT_HASH_SIZE);
    return 9 + PBFT_HASH_SIZE;
}

static size_t meta_key(const char *name, uint8_t key[STORE_KEY_SIZE_MAX]) {
    size_t len = strlen(name);
    PBFT_ASSERT(len + 1 <= STORE_KEY_SIZE_MAX);
    key[0] = 'M';
    memcpy(key + 1, name, len); // NOLINT(bugprone-not-null-terminated-result): a key, not a string
    return len + 1;
}

static void account_key(const uint8_t address[PBFT_ADDRESS_SIZE],
                        uint8_t key[1 + PBFT_ADDRESS_SIZE]) {
    key[0] = 'A';
    memcpy(key + 1, address, PBFT_ADDRESS_SIZE);
}

static void history_key(const uint8_t address[PBFT_ADDRESS_SIZE], uint64_t height, uint32_t index,
                        uint8_t key[STORE_HISTORY_KEY_SIZE]) {
    key[0] = 'H';
    memcpy(key + 1, address, PBFT_ADDRESS_SIZE);
    put_be(key + 1 + PBFT_ADDRESS_SIZE, height, 8);
    put_be(key + 1 + PBFT_ADDRESS_SIZE + 8, index, 2);
}

static size_t put_varint(uint8_t *b, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        b[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (uint8_t)v;
    return n;
}

/* Strict LEB128: at most 10 bytes, no redundant trailing zero group. */
static bool get_varint(const uint8_t *b, size_t size, size_t *offset, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *offset < size; shift += 7) {
        uint8_t byte = b[(*offset)++];
        if (shift == 63 && byte > 1) return false;
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            if (byte == 0 && shift > 0) return false;
            *out = v;
            return true;
        }
    }
    return false;
}

static size_t encode_location(const store_tx_location_t *loc, uint8_t *b) {
    size_t n = put_varint(b, loc->height);
    n += put_varint(b + n, loc->index);
    b[n++] = loc->result;
    return n;
}

static bool decode_location(const uint8_t *b, size_t size, store_tx_location_t *out) {
    size_t off = 0;
    uint64_t height = 0, index = 0;
    if (!get_varint(b, size, &off, &height) || !get_varint(b, size, &off, &index)) return false;
    if (off + 1 != size || index >= PBFT_BLOCK_TX_COUNT_MAX) return false;
    if (b[off] >= PBFT_TX_RESULT_COUNT) return false;
    out->height = height;
    out->index = (uint32_t)index;
    out->result = b[off];
    return true;
}

static void encode_tip(const store_tip_t *t, uint8_t b[STORE_TIP_VALUE_SIZE]) {
    put_le(b, t->height, 8);
    memcpy(b + 8, t->block_hash, PBFT_HASH_SIZE);
    memcpy(b + 8 + PBFT_HASH_SIZE, t->state_hash, PBFT_HASH_SIZE);
    put_le(b + 8 + 2 * PBFT_HASH_SIZE, t->tx_count_total, 8);
}

static void decode_tip(const uint8_t b[STORE_TIP_VALUE_SIZE], store_tip_t *t) {
    t->height = get_le(b, 8);
    memcpy(t->block_hash, b + 8, PBFT_HASH_SIZE);
    memcpy(t->state_hash, b + 8 + PBFT_HASH_SIZE, PBFT_HASH_SIZE);
    t->tx_count_total = get_le(b + 8 + 2 * PBFT_HASH_SIZE, 8);
}

/* 16 bytes while the account has no tx (genesis accounts), then the flags,
 * the history head and the count. Only an account in the state has no
 * head (16 bytes read back as existing). */
static size_t encode_account_rec(const account_rec_t *a, uint8_t b[STORE_ACCOUNT_VALUE_SIZE_MAX]) {
    PBFT_ASSERT(a->exists || a->head.height != 0);
    put_le(b, a->exists ? a->balance : 0, 8);
    put_le(b + 8, a->exists ? a->nonce : 0, 8);
    if (a->head.height == 0) return STORE_ACCOUNT_STATE_SIZE;
    size_t n = STORE_ACCOUNT_STATE_SIZE;
    b[n++] = a->exists ? 0 : STORE_ACCOUNT_NO_STATE;
    n += put_varint(b + n, a->head.height);
    n += put_varint(b + n, a->head.index);
    n += put_varint(b + n, a->history_count);
    return n;
}

static bool decode_account_rec(const uint8_t *b, size_t size, account_rec_t *a) {
    if (size < STORE_ACCOUNT_STATE_SIZE) return false;
    a->exists = true;
    a->balance = get_le(b, 8);
    a->nonce = get_le(b + 8, 8);
    a->head = (hist_pos_t){0, 0};
    a->history_count = 0;
    if (size == STORE_ACCOUNT_STATE_SIZE) return true;
    size_t off = STORE_ACCOUNT_STATE_SIZE + 1;
    uint8_t flags = b[STORE_ACCOUNT_STATE_SIZE];
    uint64_t height = 0, index = 0, count = 0;
    if ((flags & ~STORE_ACCOUNT_NO_STATE) != 0 || !get_varint(b, size, &off, &height) ||
        !get_varint(b, size, &off, &index) || !get_varint(b, size, &off, &count) || off != size ||
        height == 0 || index >= PBFT_BLOCK_TX_COUNT_MAX || count == 0)
        return false;
    a->history_count = count;
    if (flags & STORE_ACCOUNT_NO_STATE) {
        if (a->balance != 0 || a->nonce != 0) return false;
        a->exists = false;
    }
    a->head = (hist_pos_t){height, (uint32_t)index};
    return true;
}

/* A history link as stored in 'L' values: 0 for none, else the distance
 * back in heights + 1 (small for active accounts) and the index. */
static size_t put_link(uint8_t *b, uint64_t height, hist_pos_t prev) {
    if (prev.height == 0) return put_varint(b, 0);
    size_t n = put_varint(b, height - prev.height + 1);
    return n + put_varint(b + n, prev.index);
}

static bool get_link(const uint8_t *b, size_t size, size_t *off, uint64_t height, hist_pos_t *out) {
    uint64_t back = 0, index = 0;
    if (!get_varint(b, size, off, &back)) return false;
    if (back == 0) {
        *out = (hist_pos_t){0, 0};
        return true;
    }
    if (back - 1 >= height || !get_varint(b, size, off, &index) || index >= PBFT_BLOCK_TX_COUNT_MAX)
        return false;
    *out = (hist_pos_t){height - (back - 1), (uint32_t)index};
    return true;
}

/* ------------------------------------------------------------------------ */
/* RocksDB access                                                             */

/* Where RocksDB keeps a key of the layout at the top of the file: the
 * per-height kinds go to the chain family, height first; prepared blocks
 * and safety blobs to the consensus family; everything else to the default
 * family. Only the chain family's keys are stored differently (same size;
 * tmp holds them). */
static bool is_chain_kind(uint8_t kind) {
    return kind == 'B' || kind == 'C' || kind == 'R' || kind == 'S' || kind == 'L';
}

static const uint8_t *route(const store_t *s, const uint8_t *key, size_t key_size, uint8_t tmp[9],
                            rocksdb_column_family_handle_t **cf) {
    if (key_size == 9 && is_chain_kind(key[0])) {
        memcpy(tmp, key + 1, 8);
        tmp[8] = key[0];
        *cf = s->cf[STORE_CF_CHAIN];
        return tmp;
    }
    bool consensus = key_size > 0 && (key[0] == 'P' || key[0] == 'Z');
    *cf = s->cf[consensus ? STORE_CF_CONSENSUS : STORE_CF_DEFAULT];
    return key;
}

/* *out is malloc'd by RocksDB (free with free()); PBFT_ERR_NOT_FOUND if absent. */
static pbft_status_t db_get(store_t *s, const uint8_t *key, size_t key_size, uint8_t **out,
                            size_t *out_size) {
    char *err = NULL;
    size_t size = 0;
    uint8_t tmp[9];
    rocksdb_column_family_handle_t *cf = NULL;
    const uint8_t *k = route(s, key, key_size, tmp, &cf);
    char *value =
        rocksdb_get_cf(s->db, s->read_options, cf, (const char *)k, key_size, &size, &err);
    if (err) {
        fprintf(stderr, "store: rocksdb get: %s\n", err);
        rocksdb_free(err);
        return PBFT_ERR_STORE;
    }
    if (!value) return PBFT_ERR_NOT_FOUND;
    *out = (uint8_t *)value;
    *out_size = size;
    return PBFT_OK;
}

/* A fixed-size value; a different size is corruption. */
static pbft_status_t db_get_fixed(store_t *s, const uint8_t *key, size_t key_size, uint8_t *out,
                                  size_t size) {
    uint8_t *value = NULL;
    size_t value_size = 0;
    pbft_status_t st = db_get(s, key, key_size, &value, &value_size);
    if (st != PBFT_OK) return st;
    if (value_size != size)
        st = PBFT_ERR_CORRUPT;
    else
        memcpy(out, value, size);
    free(value);
    return st;
}

static pbft_status_t db_write_opt(store_t *s, rocksdb_writebatch_t *batch, bool sync) {
    char *err = NULL;
    rocksdb_write(s->db, sync ? s->write_options : s->write_options_nosync, batch, &err);
    if (err) {
        fprintf(stderr, "store: rocksdb write: %s\n", err);
        rocksdb_free(err);
        return PBFT_ERR_STORE;
    }
    return PBFT_OK;
}

static pbft_status_t db_write(store_t *s, rocksdb_writebatch_t *batch) {
    return db_write_opt(s, batch, true);
}

static void batch_put(const store_t *s, rocksdb_writebatch_t *b, const uint8_t *key,
                      size_t key_size, const void *value, size_t value_size) {
    uint8_t tmp[9];
    rocksdb_column_family_handle_t *cf = NULL;
    const uint8_t *k = route(s, key, key_size, tmp, &cf);
    rocksdb_writebatch_put_cf(b, cf, (const char *)k, key_size, (const char *)value, value_size);
}

static void batch_delete(const store_t *s, rocksdb_writebatch_t *b, const uint8_t *key,
                         size_t key_size) {
    uint8_t tmp[9];
    rocksdb_column_family_handle_t *cf = NULL;
    const uint8_t *k = route(s, key, key_size, tmp, &cf);
    rocksdb_writebatch_delete_cf(b, cf, (const char *)k, key_size);
}

static pbft_status_t db_put_synced(store_t *s, const uint8_t *key, size_t key_size,
                                   const void *value, size_t value_size) {
    if (s->mode != STORE_READ_WRITE) return PBFT_ERR_ARGUMENT;
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    batch_put(s, b, key, key_size, value, value_size);
    pbft_status_t st = db_write(s, b);
    rocksdb_writebatch_destroy(b);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Open, create, check, close                                                 */

/* What every column family shares: the table format, block cache and
 * filters, compression, the memtable count. */
static void set_family_options(store_t *s, rocksdb_options_t *o, size_t write_buffer_bytes) {
    rocksdb_options_set_block_based_table_factory(o, s->table_options);
    /* LZ4 is linked on our platforms (checked in the RocksDB LOG); blocks
     * compress a little (repeated sender keys), hashes and signatures not. */
    rocksdb_options_set_compression(o, rocksdb_lz4_compression);
    rocksdb_options_set_write_buffer_size(o, write_buffer_bytes);
    if (s->mode == STORE_READ_WRITE) {
        /* A starved flush took 16-21 s in a saturated closed loop (against
         * ~3 s at normal priority) while the next memtable filled in ~31 s;
         * a third memtable doubles that margin before writes stop. */
        rocksdb_options_set_max_write_buffer_number(o, 3);
    }
}

static void make_options(store_t *s, const store_options_t *o) {
    s->options = rocksdb_options_create();
    if (o && o->background_write_bytes_per_s > 0 && s->mode == STORE_READ_WRITE) {
        /* 100 ms refills, RocksDB's default fairness */
        s->rate_limiter = rocksdb_ratelimiter_create(
            (int64_t)PBFT_MIN(o->background_write_bytes_per_s, (uint64_t)INT64_MAX), 100000, 10);
        rocksdb_options_set_ratelimiter(s->options, s->rate_limiter);
    }
    if (s->mode == STORE_READ_WRITE) {
        /* Flushes run at the lowest CPU priority (nice 19, set by the
         * flush thread before its next job): a flush is ~0.2 s of CPU per
         * replica in a few seconds, and on a busy machine it came out of
         * the consensus and verify threads' time (a 2-3 s latency spike at
         * 80% load, docs/OPERATIONS.md). Work that waits for them is
         * bounded: RocksDB slows and then stops writes if they fall
         * behind. Compactions keep normal priority: at nice 19 a saturated
         * replica gave them so little CPU that an L0 -> L1 compaction of
         * the default family took 417 s of wall time for 2.7 s of CPU, L0
         * grew to 9 files, and every lookup of a new tx id, which asks
         * each L0 file, got dearer (over 15 min of a soak the consensus
         * thread's CPU per tx went 17 -> 31 us at nice 19, 16 -> 22 at
         * normal priority, where the same compaction took 39 s;
         * docs/OPERATIONS.md).
         * The background-write cap still spreads their disk writes. The
         * pools belong to the default Env, so this holds for every store
         * of the process. */
        s->env = rocksdb_create_default_env();
        rocksdb_env_lower_high_priority_thread_pool_cpu_priority(s->env); /* flushes */
        rocksdb_options_set_env(s->options, s->env);
        /* A flush per column family at once, and up to three compactions
         * (RocksDB's default is one of each). With one flush thread a
         * starved flush of the default family (30-63 s of wall time for
         * 0.3 s of CPU at nice 19 on a saturated machine) held up the
         * consensus family's, whose 16 MiB memtables fill about every 30 s
         * and flush in 1-2 ms of CPU, until RocksDB stopped writes (a
         * 2400-s soak; with a thread per family no memtable waited in
         * 1200 s: docs/OPERATIONS.md). RocksDB runs more than one
         * compaction only once it wants to catch up (8 L0 files in a
         * family here): from then on the chain family's files, which only
         * move down a level (no CPU), need not wait behind a long
         * compaction of the default family (docs/STORAGE.md). These two
         * size RocksDB's flush and compaction pools. */
        rocksdb_options_set_max_background_flushes(s->options, STORE_CF_COUNT);
        rocksdb_options_set_max_background_compactions(s->options, 3);
    }
    /* A WAL file is deleted once every family with data in it has flushed.
     * The default family fills slowest (tens of bytes of memtable per
     * transfer, against hundreds in the WAL), so the WAL since its last
     * flush stays on disk (store_bench: 329 bytes per tx live against 193
     * compacted after 240,000 txs). Past this size RocksDB flushes it
     * early, which bounds the WAL whatever the txs' shape (memos fill the
     * other families faster). */
    rocksdb_options_set_max_total_wal_size(s->options, STORE_WAL_BYTES_MAX);
    s->table_options = rocksdb_block_based_options_create();
    s->cache = rocksdb_cache_create_lru(o && o->block_cache_bytes
                                            ? (size_t)PBFT_MIN(o->block_cache_bytes, SIZE_MAX)
                                            : (size_t)STORE_BLOCK_CACHE_BYTES_DEFAULT);
    s->filter = rocksdb_filterpolicy_create_bloom_full(STORE_BLOOM_BITS_PER_KEY);
    rocksdb_block_based_options_set_block_cache(s->table_options, s->cache);
    rocksdb_block_based_options_set_filter_policy(s->table_options, s->filter);
    /* Index and filter blocks live in the block cache, not beside it:
     * held by the table readers they grew with the chain (about 1.1 bytes
     * per committed tx, every SST's filter and index resident for good).
     * Partitioned, a lookup loads only the 4 KiB pieces it needs, and high
     * priority keeps them ahead of data blocks. L0's stay pinned (a
     * bounded number of files, the newest and most asked-about keys), and
     * so does every file's top level (the index of its partitions: one
     * entry of about 16 bytes per 4 KiB partition, so about 0.01 bytes per
     * tx id; docs/OPERATIONS.md): unpinned, a lookup pays one more cache
     * lookup per file for it, and most lookups miss (is this new tx
     * committed?) and so ask every level. Negative lookups in a store of
     * 8M tx ids (2 L1 + 4 L2 files; a throwaway program with these options,
     * in issue 7's notes): 1.99 us each unpinned, 1.63 pinned.
     * tests/bench/txindex_bench times them through the store as the chain
     * grows (docs/STORAGE.md). */
    rocksdb_block_based_options_set_index_type(
        s->table_options, rocksdb_block_based_table_index_type_two_level_index_search);
    rocksdb_block_based_options_set_partition_filters(s->table_options, 1);
    rocksdb_block_based_options_set_metadata_block_size(s->table_options, 4096);
    rocksdb_block_based_options_set_cache_index_and_filter_blocks(s->table_options, 1);
    rocksdb_block_based_options_set_cache_index_and_filter_blocks_with_high_priority(
        s->table_options, 1);
    rocksdb_block_based_options_set_pin_top_level_index_and_filter(s->table_options, 1);
    rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(s->table_options, 1);
    set_family_options(s, s->options, STORE_WRITE_BUFFER_BYTES);
    /* Most point reads ask for a tx id that is not there yet (is this new tx
     * already committed?): a whole-key bloom filter over the memtable answers
     * those without walking the skiplist (SST files have their own filter).
     * The chain family is read by height, below the tip: no such filter. */
    rocksdb_options_set_memtable_prefix_bloom_size_ratio(s->options, STORE_MEMTABLE_BLOOM_RATIO);
    rocksdb_options_set_memtable_whole_key_filtering(s->options, 1);
    s->chain_options = rocksdb_options_create();
    set_family_options(s, s->chain_options, STORE_WRITE_BUFFER_BYTES);
    s->consensus_options = rocksdb_options_create();
    set_family_options(s, s->consensus_options, STORE_CONSENSUS_WRITE_BUFFER_BYTES);
    rocksdb_options_set_create_if_missing(s->options, s->mode == STORE_READ_WRITE);
    rocksdb_options_set_create_missing_column_families(s->options, s->mode == STORE_READ_WRITE);
    rocksdb_options_set_keep_log_file_num(s->options, 4);
    rocksdb_options_set_max_open_files(s->options, -1); /* required by secondaries */
    /* A torn WAL tail after a crash is dropped: the last complete (synced)
     * batch is the tip. */
    rocksdb_options_set_wal_recovery_mode(s->options, 2 /* point in time */);
    s->read_options = rocksdb_readoptions_create();
    rocksdb_readoptions_set_verify_checksums(s->read_options, 1);
    s->write_options = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(s->write_options, 1);
    s->write_options_nosync = rocksdb_writeoptions_create();
}

static void remove_dir_flat(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char path[STORE_PATH_SIZE_MAX + 512];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

static void store_destroy(store_t *s) {
    for (int i = 0; i < STORE_CF_COUNT; i++)
        if (s->cf[i]) rocksdb_column_family_handle_destroy(s->cf[i]);
    if (s->db) rocksdb_close(s->db);
    if (s->write_options) rocksdb_writeoptions_destroy(s->write_options);
    if (s->write_options_nosync) rocksdb_writeoptions_destroy(s->write_options_nosync);
    if (s->read_options) rocksdb_readoptions_destroy(s->read_options);
    if (s->options) rocksdb_options_destroy(s->options);
    if (s->chain_options) rocksdb_options_destroy(s->chain_options);
    if (s->consensus_options) rocksdb_options_destroy(s->consensus_options);
    if (s->rate_limiter) rocksdb_ratelimiter_destroy(s->rate_limiter);
    if (s->env) rocksdb_env_destroy(s->env); /* the wrapper only; the default Env stays */
    /* the table options own the filter policy once set */
    if (s->table_options) rocksdb_block_based_options_destroy(s->table_options);
    if (s->cache) rocksdb_cache_destroy(s->cache);
    if (s->secondary_dir[0]) remove_dir_flat(s->secondary_dir);
    ledger_genesis_free(&s->genesis);
    pthread_mutex_destroy(&s->tip_lock);
    pthread_mutex_destroy(&s->prepared_lock);
    pthread_mutex_destroy(&s->dirty_lock);
    pthread_mutex_destroy(&s->rebuild_lock);
    free(s->accounts);
    free(s->dirty);
    free(s);
}

/* Writes genesis: accounts, block 0, state_hash(0), metadata — one synced batch. */
static pbft_status_t create_from_genesis(store_t *s) {
    const pbft_genesis_t *g = &s->genesis;
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    uint8_t key[STORE_KEY_SIZE_MAX], value[PBFT_BLOCK_HEADER_SIZE + STORE_TIP_VALUE_SIZE];
    for (uint32_t i = 0; i < g->account_count; i++) {
        account_rec_t rec = {
            .exists = true, .balance = g->accounts[i].balance, .nonce = g->accounts[i].nonce};
        account_key(g->accounts[i].address, key);
        batch_put(s, b, key, 1 + PBFT_ADDRESS_SIZE, value, encode_account_rec(&rec, value));
    }
    pbft_block_t block0 = {.header = g->header, .txs = NULL};
    size_t n = codec_block_encode(&block0, value, sizeof value);
    PBFT_ASSERT(n == PBFT_BLOCK_HEADER_SIZE);
    batch_put(s, b, key, height_key('B', 0, key), value, n);
    batch_put(s, b, key, height_key('S', 0, key), g->state_hash, PBFT_HASH_SIZE);
    uint8_t format = STORE_FORMAT_VERSION;
    batch_put(s, b, key, meta_key("format", key), &format, 1);
    batch_put(s, b, key, meta_key("chain_id", key), g->chain_id, PBFT_CHAIN_ID_SIZE);
    store_tip_t tip = {.height = 0, .tx_count_total = 0};
    memcpy(tip.block_hash, g->block_hash, PBFT_HASH_SIZE);
    memcpy(tip.state_hash, g->state_hash, PBFT_HASH_SIZE);
    encode_tip(&tip, value);
    batch_put(s, b, key, meta_key("tip", key), value, STORE_TIP_VALUE_SIZE);
    put_le(value, 0, 8);
    batch_put(s, b, key, meta_key("accounts", key), value, 8);
    pbft_status_t st = db_write(s, b);
    rocksdb_writebatch_destroy(b);
    return st;
}

static pbft_status_t format_error(const store_t *s, unsigned format, char *err, size_t err_size) {
    set_err(err, err_size,
            "store %s has format %u, this build reads format %u (docs/STORAGE.md): move "
            "the directory away and start again; a replica fetches the chain from its peers",
            s->dir, format, STORE_FORMAT_VERSION);
    return PBFT_ERR_VERSION;
}

/* 'M' "accounts": present and at most the tip. */
static pbft_status_t read_accounts_height(store_t *s, uint64_t tip_height, uint64_t *out) {
    uint8_t key[STORE_KEY_SIZE_MAX], buf[8];
    pbft_status_t st = db_get_fixed(s, key, meta_key("accounts", key), buf, sizeof buf);
    if (st != PBFT_OK) return st == PBFT_ERR_STORE ? st : PBFT_ERR_CORRUPT;
    *out = get_le(buf, 8);
    return *out <= tip_height ? PBFT_OK : PBFT_ERR_CORRUPT;
}

/* Chain id, tip header hash, tip state hash, nothing past the tip, the
 * height the account values are written to. */
static pbft_status_t check_stored(store_t *s, char *err, size_t err_size) {
    uint8_t key[STORE_KEY_SIZE_MAX], buf[STORE_TIP_VALUE_SIZE];
    char hex_a[2 * PBFT_HASH_SIZE + 1], hex_b[2 * PBFT_HASH_SIZE + 1];
    pbft_status_t st = db_get_fixed(s, key, meta_key("chain_id", key), buf, PBFT_CHAIN_ID_SIZE);
    if (st == PBFT_ERR_NOT_FOUND && s->mode == STORE_READ_ONLY) {
        set_err(err, err_size, "store %s: empty (no chain created yet)", s->dir);
        return PBFT_ERR_NOT_FOUND;
    }
    if (st != PBFT_OK) {
        set_err(err, err_size, "store %s: chain id metadata: %s", s->dir, pbft_status_string(st));
        return st == PBFT_ERR_NOT_FOUND ? PBFT_ERR_CORRUPT : st;
    }
    if (memcmp(buf, s->genesis.chain_id, PBFT_CHAIN_ID_SIZE) != 0) {
        crypto_hex_encode(buf, PBFT_CHAIN_ID_SIZE, hex_a);
        crypto_hex_encode(s->genesis.chain_id, PBFT_CHAIN_ID_SIZE, hex_b);
        set_err(err, err_size, "store %s belongs to chain %s, but genesis is chain %s", s->dir,
                hex_a, hex_b);
        return PBFT_ERR_WRONG_CHAIN;
    }
    st = db_get_fixed(s, key, meta_key("format", key), buf, 1);
    if (st != PBFT_OK) {
        set_err(err, err_size, "store %s: format metadata: %s", s->dir, pbft_status_string(st));
        return st == PBFT_ERR_STORE ? st : PBFT_ERR_CORRUPT;
    }
    if (buf[0] != STORE_FORMAT_VERSION) return format_error(s, buf[0], err, err_size);
    st = db_get_fixed(s, key, meta_key("tip", key), buf, STORE_TIP_VALUE_SIZE);
    if (st != PBFT_OK) {
        set_err(err, err_size, "store %s: tip metadata: %s", s->dir, pbft_status_string(st));
        return st == PBFT_ERR_STORE ? st : PBFT_ERR_CORRUPT;
    }
    store_tip_t tip;
    decode_tip(buf, &tip);
    pbft_block_header_t header;
    uint8_t hash[PBFT_HASH_SIZE] = {0};
    st = store_get_header(s, tip.height, &header);
    if (st == PBFT_OK) codec_header_hash(&header, hash);
    if (st != PBFT_OK || memcmp(hash, tip.block_hash, PBFT_HASH_SIZE) != 0) {
        set_err(err, err_size,
                "store %s: height %llu: tip block hash does not match the stored "
                "block header (%s)",
                s->dir, (unsigned long long)tip.height,
                st == PBFT_OK ? "hash mismatch" : pbft_status_string(st));
        return st == PBFT_ERR_STORE ? st : PBFT_ERR_CORRUPT;
    }
    st = store_get_state_hash(s, tip.height, hash);
    if (st != PBFT_OK || memcmp(hash, tip.state_hash, PBFT_HASH_SIZE) != 0) {
        set_err(err, err_size,
                "store %s: height %llu: tip state hash does not match the stored "
                "state hash (%s)",
                s->dir, (unsigned long long)tip.height,
                st == PBFT_OK ? "hash mismatch" : pbft_status_string(st));
        return st == PBFT_ERR_STORE ? st : PBFT_ERR_CORRUPT;
    }
    uint8_t *value = NULL;
    size_t value_size = 0;
    st = db_get(s, key, height_key('B', tip.height + 1, key), &value, &value_size);
    free(value);
    if (st != PBFT_ERR_NOT_FOUND) {
        set_err(err, err_size, "store %s: height %llu: a block exists past the tip", s->dir,
                (unsigned long long)tip.height + 1);
        return st == PBFT_ERR_STORE ? st : PBFT_ERR_CORRUPT;
    }
    st = read_accounts_height(s, tip.height, &s->accounts_height);
    if (st != PBFT_OK) {
        set_err(err, err_size,
                "store %s: the account values' height (metadata \"accounts\") is missing, "
                "unreadable or above the tip %llu",
                s->dir, (unsigned long long)tip.height);
        return st;
    }
    pthread_mutex_lock(&s->tip_lock);
    s->tip = tip;
    pthread_mutex_unlock(&s->tip_lock);
    s->written_height = tip.height;
    return PBFT_OK;
}

/* This store never enables RocksDB's blob files, and a secondary instance
 * (every read-only open) cannot read them: rocksdb_get crashes on a blob
 * reference (facebook/rocksdb#13296). A directory holding one was written
 * by something else, so it is refused before RocksDB sees it. */
static bool find_blob_file(const char *dir, char *name, size_t name_size) {
    DIR *d = opendir(dir);
    if (!d) return false; /* a missing directory is reported by the open */
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".blob") == 0) {
            snprintf(name, name_size, "%s", e->d_name);
            found = true;
        }
    }
    closedir(d);
    return found;
}

/* A database that lacks one of this store's column families was written
 * by format 3 or older (one family) or by something else. It is opened
 * read-only, the default family alone, only to say which: nothing in it
 * changes. */
static pbft_status_t refuse_layout(store_t *s, const char *missing, char *err, size_t err_size) {
    char *rerr = NULL;
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_t *db = rocksdb_open_for_read_only(o, s->dir, 0, &rerr);
    rocksdb_options_destroy(o);
    if (rerr) {
        set_err(err, err_size, "store %s: rocksdb open: %s", s->dir, rerr);
        rocksdb_free(rerr);
        return PBFT_ERR_STORE;
    }
    uint8_t key[STORE_KEY_SIZE_MAX];
    size_t key_size = meta_key("format", key), size = 0;
    rocksdb_readoptions_t *r = rocksdb_readoptions_create();
    char *value = rocksdb_get(db, r, (const char *)key, key_size, &size, &rerr);
    rocksdb_readoptions_destroy(r);
    rocksdb_close(db);
    pbft_status_t st = PBFT_ERR_VERSION;
    if (rerr) {
        set_err(err, err_size, "store %s: rocksdb get: %s", s->dir, rerr);
        st = PBFT_ERR_STORE;
    } else if (value && size == 1 && (uint8_t)value[0] != STORE_FORMAT_VERSION) {
        st = format_error(s, (uint8_t)value[0], err, err_size);
    } else {
        set_err(err, err_size,
                "store %s: a RocksDB database without this store's column family \"%s\"; "
                "not a pbft-ledger data directory of format %u",
                s->dir, missing, STORE_FORMAT_VERSION);
    }
    rocksdb_free(rerr);
    free(value);
    return st;
}

/* The first of this store's column families that the directory's database
 * lacks; NULL when it has them all or there is no database yet. */
static const char *missing_family(const store_t *s) {
    size_t count = 0;
    char *rerr = NULL;
    char **names = rocksdb_list_column_families(s->options, s->dir, &count, &rerr);
    if (rerr) { /* no database yet, or one RocksDB's open will report on */
        rocksdb_free(rerr);
        rocksdb_list_column_families_destroy(names, count); /* malloc(0) even then */
        return NULL;
    }
    const char *missing = NULL;
    for (int f = 0; f < STORE_CF_COUNT && !missing; f++) {
        bool found = false;
        for (size_t i = 0; i < count && !found; i++)
            found = strcmp(names[i], store_cf_names[f]) == 0;
        if (!found) missing = store_cf_names[f];
    }
    rocksdb_list_column_families_destroy(names, count);
    return missing;
}

static pbft_status_t open_db(store_t *s, char *err, size_t err_size) {
    char *rerr = NULL;
    char blob[256];
    if (find_blob_file(s->dir, blob, sizeof blob)) {
        set_err(err, err_size,
                "store %s: holds a RocksDB blob file (%s), which this store never writes; "
                "not a pbft-ledger data directory",
                s->dir, blob);
        return PBFT_ERR_VERSION;
    }
    const char *missing = missing_family(s);
    if (missing) return refuse_layout(s, missing, err, err_size);
    const rocksdb_options_t *family_options[STORE_CF_COUNT] = {s->options, s->chain_options,
                                                               s->consensus_options};
    if (s->mode == STORE_READ_WRITE) {
        if (mkdir(s->dir, 0755) != 0 && errno != EEXIST) {
            set_err(err, err_size, "store %s: mkdir: %s", s->dir, strerror(errno));
            return PBFT_ERR_IO;
        }
        s->db = rocksdb_open_column_families(s->options, s->dir, STORE_CF_COUNT, store_cf_names,
                                             family_options, s->cf, &rerr);
    } else {
        snprintf(s->secondary_dir, sizeof s->secondary_dir, "/tmp/pbft-store-secondary.XXXXXX");
        if (!mkdtemp(s->secondary_dir)) {
            s->secondary_dir[0] = '\0';
            set_err(err, err_size, "store: mkdtemp for the secondary: %s", strerror(errno));
            return PBFT_ERR_IO;
        }
        struct stat st_buf;
        if (stat(s->dir, &st_buf) != 0) {
            set_err(err, err_size, "store %s: %s", s->dir, strerror(errno));
            return PBFT_ERR_NOT_FOUND;
        }
        s->db = rocksdb_open_as_secondary_column_families(s->options, s->dir, s->secondary_dir,
                                                          STORE_CF_COUNT, store_cf_names,
                                                          family_options, s->cf, &rerr);
    }
    if (rerr) {
        set_err(err, err_size, "store %s: rocksdb open: %s", s->dir, rerr);
        rocksdb_free(rerr);
        s->db = NULL;
        return PBFT_ERR_STORE;
    }
    return PBFT_OK;
}

static pbft_status_t accounts_catch_up(store_t *s, char *err, size_t err_size);
static pbft_status_t write_back_all(store_t *s);
static bool reader_get(void *ctx, const uint8_t address[PBFT_ADDRESS_SIZE], pbft_account_t *out);

pbft_status_t store_open(const char *dir, const pbft_genesis_t *genesis, store_mode_t mode,
                         store_t **out, char *err, size_t err_size) {
    return store_open_ex(dir, genesis, mode, NULL, out, err, err_size);
}

pbft_status_t store_open_ex(const char *dir, const pbft_genesis_t *genesis, store_mode_t mode,
                            const store_options_t *options, store_t **out, char *err,
                            size_t err_size) {
    PBFT_ASSERT(dir != NULL && genesis != NULL && out != NULL);
    PBFT_ASSERT(mode == STORE_READ_WRITE || mode == STORE_READ_ONLY);
    if (strlen(dir) + 1 > STORE_PATH_SIZE_MAX - 64) {
        set_err(err, err_size, "store: path too long");
        return PBFT_ERR_ARGUMENT;
    }
    store_t *s = pbft_xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->tip_lock, NULL);
    pthread_mutex_init(&s->prepared_lock, NULL);
    pthread_mutex_init(&s->dirty_lock, NULL);
    pthread_mutex_init(&s->rebuild_lock, NULL);
    s->mode = mode;
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    ledger_genesis_copy(&s->genesis, genesis);
    make_options(s, options);
    pbft_status_t st = open_db(s, err, err_size);
    if (st == PBFT_OK && mode == STORE_READ_WRITE) {
        uint8_t key[STORE_KEY_SIZE_MAX], *value = NULL;
        size_t value_size = 0;
        st = db_get(s, key, meta_key("chain_id", key), &value, &value_size);
        free(value);
        if (st == PBFT_ERR_NOT_FOUND) st = create_from_genesis(s);
        if (st != PBFT_OK) set_err(err, err_size, "store %s: %s", dir, pbft_status_string(st));
    }
    if (st == PBFT_OK) st = check_stored(s, err, err_size);
    if (st == PBFT_OK) {
        s->dirty = pbft_xcalloc(STORE_DIRTY_SLOTS, sizeof *s->dirty);
        if (mode == STORE_READ_WRITE) {
            s->accounts = pbft_xcalloc(STORE_ACCOUNT_CACHE_SLOTS, sizeof *s->accounts);
            st = accounts_catch_up(s, err, err_size);
        } else {
            s->dirty_stale = true; /* rebuilt on the first account read */
        }
    }
    if (st != PBFT_OK) {
        store_destroy(s);
        return st;
    }
    *out = s;
    return PBFT_OK;
}

void store_thread_init(void) {
    rocksdb_set_perf_level(rocksdb_disable);
}

void store_close(store_t *s) {
    if (!s) return;
    /* A failed write-back loses nothing: the next open executes the blocks
     * above 'M' "accounts" again. */
    if (s->mode == STORE_READ_WRITE && write_back_all(s) != PBFT_OK)
        fprintf(stderr,
                "store %s: writing the account values back at close failed; the next "
                "open recovers them from the blocks\n",
                s->dir);
    store_destroy(s);
}

uint64_t store_recovered_blocks(store_t *s) {
    PBFT_ASSERT(s != NULL);
    return s->recovered_blocks;
}

void store_debug_close_without_write_back(store_t *s) {
    if (s) store_destroy(s);
}

pbft_status_t store_refresh(store_t *s) {
    PBFT_ASSERT(s != NULL);
    if (s->mode != STORE_READ_ONLY) return PBFT_OK;
    char *err = NULL;
    rocksdb_try_catch_up_with_primary(s->db, &err);
    if (err) {
        fprintf(stderr, "store: catch up with primary: %s\n", err);
        rocksdb_free(err);
        return PBFT_ERR_STORE;
    }
    uint8_t key[STORE_KEY_SIZE_MAX], buf[STORE_TIP_VALUE_SIZE];
    pbft_status_t st = db_get_fixed(s, key, meta_key("tip", key), buf, STORE_TIP_VALUE_SIZE);
    if (st != PBFT_OK) return st == PBFT_ERR_NOT_FOUND ? PBFT_ERR_CORRUPT : st;
    store_tip_t tip;
    decode_tip(buf, &tip);
    /* The primary never un-commits; a tip that went down was rewritten on
     * disk behind its back (bytes from a file: a status, not an assertion). */
    uint64_t accounts_height = 0;
    st = read_accounts_height(s, tip.height, &accounts_height);
    if (st != PBFT_OK) return st;
    pthread_mutex_lock(&s->tip_lock);
    bool went_down = tip.height < s->tip.height;
    if (!went_down) s->tip = tip;
    pthread_mutex_unlock(&s->tip_lock);
    if (went_down) return PBFT_ERR_CORRUPT;
    pthread_mutex_lock(&s->rebuild_lock);
    s->accounts_height = accounts_height;
    s->dirty_stale = true;
    pthread_mutex_unlock(&s->rebuild_lock);
    return PBFT_OK;
}

void store_get_tip(store_t *s, store_tip_t *out) {
    PBFT_ASSERT(s != NULL && out != NULL);
    pthread_mutex_lock(&s->tip_lock);
    *out = s->tip;
    pthread_mutex_unlock(&s->tip_lock);
}

/* ------------------------------------------------------------------------ */
/* Commit                                                                     */

static void put_tx_location(store_t *s, rocksdb_writebatch_t *b,
                            const uint8_t key[1 + PBFT_HASH_SIZE], uint64_t height, uint32_t index,
                            uint8_t result) {
    uint8_t value[STORE_TX_LOCATION_SIZE_MAX];
    store_tx_location_t loc = {.height = height, .index = index, .result = result};
    batch_put(s, b, key, 1 + PBFT_HASH_SIZE, value, encode_location(&loc, value));
}

/* Which inclusion of a tx id the index names. A tx id can succeed at most
 * once (its nonce is used up), but can be included again and fail: a
 * Byzantine primary may re-propose a committed tx, or a tx may be included
 * once too early (nonce ahead) and again in time. So the index holds the
 * successful inclusion when there is one, else the first failed one:
 *   - failed txs are put only when the id is not indexed yet, in reverse
 *     block order (within a batch a later put wins, so the block's first
 *     occurrence stays);
 *   - successful txs are put last, overwriting any failed entry.
 * Only failed txs cost a read, so the common all-ok block does none. */
/* qsort has no context argument; the store has one writer thread. */
static _Thread_local const uint8_t (*sort_ids_ctx)[PBFT_HASH_SIZE];

static int compare_id_index(const void *a, const void *b) {
    return memcmp(sort_ids_ctx[*(const uint32_t *)a], sort_ids_ctx[*(const uint32_t *)b],
                  PBFT_HASH_SIZE);
}

static pbft_status_t batch_tx_index(store_t *s, rocksdb_writebatch_t *b, const pbft_block_t *block,
                                    const uint8_t (*ids)[PBFT_HASH_SIZE], const uint8_t *results) {
    uint32_t n = block->header.tx_count;
    uint8_t key[1 + PBFT_HASH_SIZE];
    key[0] = 'T';
    for (uint32_t k = n; k-- > 0;) {
        if (results[k] == PBFT_TX_OK) continue;
        memcpy(key + 1, ids[k], PBFT_HASH_SIZE);
        uint8_t *old = NULL;
        size_t old_size = 0;
        pbft_status_t st = db_get(s, key, sizeof key, &old, &old_size);
        free(old);
        if (st == PBFT_OK) continue;
        if (st != PBFT_ERR_NOT_FOUND) return st;
        put_tx_location(s, b, key, block->header.height, k, results[k]);
    }
    /* Successful ids are unique in a block, so their order is free: key
     * order lets the memtable's skiplist reuse its search path from one
     * insert to the next instead of starting over for every random id. */
    uint32_t *order = n ? pbft_xmalloc(n * sizeof *order) : NULL;
    uint32_t ok = 0;
    for (uint32_t k = 0; k < n; k++)
        if (results[k] == PBFT_TX_OK) order[ok++] = k;
    sort_ids_ctx = ids;
    if (ok > 1) qsort(order, ok, sizeof *order, compare_id_index);
    for (uint32_t i = 0; i < ok; i++) {
        memcpy(key + 1, ids[order[i]], PBFT_HASH_SIZE);
        put_tx_location(s, b, key, block->header.height, order[i], PBFT_TX_OK);
    }
    free(order);
    return PBFT_OK;
}

/* ------------------------------------------------------------------------ */
/* Accounts not yet written back (the dirty table)                            */

/* The hash of the account tables (cache, dirty, a block's touched set):
 * addresses are hash outputs, so their first bytes already are one. */
static uint32_t address_hash(const uint8_t address[PBFT_ADDRESS_SIZE]) {
    uint32_t h;
    memcpy(&h, address, sizeof h);
    return h;
}

/* The slot holding address, or the empty one where it would go. With
 * dirty_lock held, or on the writer's thread for a read. */
static account_rec_t *dirty_slot(const store_t *s, const uint8_t address[PBFT_ADDRESS_SIZE]) {
    uint32_t i = address_hash(address) & (STORE_DIRTY_SLOTS - 1);
    while (s->dirty[i].valid && memcmp(s->dirty[i].address, address, PBFT_ADDRESS_SIZE) != 0)
        i = (i + 1) & (STORE_DIRTY_SLOTS - 1);
    return &s->dirty[i];
}

static bool dirty_get(store_t *s, const uint8_t address[PBFT_ADDRESS_SIZE], account_rec_t *out) {
    pthread_mutex_lock(&s->dirty_lock);
    const account_rec_t *slot = dirty_slot(s, address);
    bool hit = slot->valid;
    if (hit) *out = *slot;
    pthread_mutex_unlock(&s->dirty_lock);
    return hit;
}

/* With dirty_lock held; the caller checked that they fit. */
static void dirty_put_locked(store_t *s, const account_rec_t *recs, size_t count) {
    PBFT_ASSERT(s->dirty_count + count <= STORE_DIRTY_MAX);
    for (size_t i = 0; i < count; i++) {
        account_rec_t *slot = dirty_slot(s, recs[i].address);
        if (!slot->valid) s->dirty_count++;
        *slot = recs[i];
        slot->valid = true;
    }
}

static void dirty_clear_locked(store_t *s) {
    memset(s->dirty, 0, STORE_DIRTY_SLOTS * sizeof *s->dirty);
    s->dirty_count = 0;
}

/* An account as stored (or absent: not in the state, no history), the
 * dirty table first. */
static pbft_status_t load_account(store_t *s, const uint8_t address[PBFT_ADDRESS_SIZE],
                                  account_rec_t *out) {
    if (dirty_get(s, address, out)) return PBFT_OK;
    uint8_t key[1 + PBFT_ADDRESS_SIZE], *value = NULL;
    size_t size = 0;
    account_key(address, key);
    memset(out, 0, sizeof *out);
    memcpy(out->address, address, PBFT_ADDRESS_SIZE);
    out->valid = true;
    pbft_status_t st = db_get(s, key, sizeof key, &value, &size);
    if (st == PBFT_ERR_NOT_FOUND) return PBFT_OK;
    if (st != PBFT_OK) return st;
    if (!decode_account_rec(value, size, out)) st = PBFT_ERR_CORRUPT;
    free(value);
    return st;
}

static account_rec_t *cache_slot(store_t *s, const uint8_t address[PBFT_ADDRESS_SIZE]) {
    return &s->accounts[address_hash(address) & (STORE_ACCOUNT_CACHE_SLOTS - 1)];
}

/* The accounts one block touches, open addressing (capacity a power of two,
 * at least twice the 2n addresses of n txs; the accounts execution changed
 * are among them). */
typedef struct touched {
    account_rec_t *slots;
    size_t mask;
    size_t count;
} touched_t;

static pbft_status_t touched_get(store_t *s, touched_t *t, const uint8_t address[PBFT_ADDRESS_SIZE],
                                 account_rec_t **out) {
    size_t i = address_hash(address) & t->mask;
    while (t->slots[i].valid) {
        if (memcmp(t->slots[i].address, address, PBFT_ADDRESS_SIZE) == 0) {
            *out = &t->slots[i];
            return PBFT_OK;
        }
        i = (i + 1) & t->mask;
    }
    PBFT_ASSERT(2 * (t->count + 1) <= t->mask + 1); /* so probing always ends */
    const account_rec_t *cached = s->accounts ? cache_slot(s, address) : NULL;
    if (cached && cached->valid && memcmp(cached->address, address, PBFT_ADDRESS_SIZE) == 0) {
        t->slots[i] = *cached;
    } else {
        pbft_status_t st = load_account(s, address, &t->slots[i]);
        if (st != PBFT_OK) return st;
    }
    t->count++;
    *out = &t->slots[i];
    return PBFT_OK;
}

static int compare_rec_address(const void *a, const void *b) {
    return memcmp(((const account_rec_t *)a)->address, ((const account_rec_t *)b)->address,
                  PBFT_ADDRESS_SIZE);
}

static int compare_history_key(const void *a, const void *b) {
    return memcmp(a, b, STORE_HISTORY_KEY_SIZE);
}

/* What a block's history writes besides the accounts. */
typedef struct history_out {
    uint8_t *links; /* the 'L' value */
    size_t links_size;
    uint8_t (*marks)[STORE_HISTORY_KEY_SIZE]; /* 'H' keys */
    size_t mark_count;
} history_out_t;

/* Account a is in tx i of block h: link the tx to its previous one, make it
 * the newest, and mark every STORE_HISTORY_MARK_EVERY-th. */
static void history_step(account_rec_t *a, uint64_t h, uint32_t i, history_out_t *out) {
    out->links_size += put_link(out->links + out->links_size, h, a->head);
    a->head = (hist_pos_t){h, i};
    if (++a->history_count % STORE_HISTORY_MARK_EVERY == 0)
        history_key(a->address, h, i, out->marks[out->mark_count++]);
}

/* History links of every tx into the batch, and the new values of every
 * account the block touched: new balance and nonce where it changed, new
 * history head for all (a failed tx is history too). On success *accounts
 * holds them, sorted by address, for the dirty table and the cache once the
 * batch is written. */
static pbft_status_t batch_history_and_accounts(store_t *s, rocksdb_writebatch_t *b,
                                                const pbft_block_t *block,
                                                const ledger_block_result_t *result,
                                                account_rec_t **accounts, size_t *account_count) {
    uint64_t h = block->header.height;
    uint32_t n = block->header.tx_count;
    *accounts = NULL;
    *account_count = 0;
    if (n == 0) return PBFT_OK;
    touched_t t = {.mask = 1};
    while (t.mask + 1 < 4 * (size_t)n)
        t.mask = 2 * t.mask + 1;
    t.slots = pbft_xcalloc(t.mask + 1, sizeof *t.slots);
    history_out_t out = {.links = pbft_xmalloc(2 * (size_t)n * STORE_LINK_SIZE_MAX),
                         .marks = pbft_xmalloc(2 * (size_t)n * sizeof *out.marks)};
    pbft_status_t st = PBFT_OK;
    for (uint32_t i = 0; i < n && st == PBFT_OK; i++) {
        const pbft_tx_t *tx = &block->txs[i];
        uint8_t sender_addr[PBFT_ADDRESS_SIZE];
        crypto_address(tx->sender_pubkey, sender_addr);
        account_rec_t *sender = NULL, *recipient = NULL;
        st = touched_get(s, &t, sender_addr, &sender);
        if (st != PBFT_OK) break;
        history_step(sender, h, i, &out);
        if (memcmp(sender_addr, tx->recipient, PBFT_ADDRESS_SIZE) == 0) {
            out.links_size += put_link(out.links + out.links_size, h, (hist_pos_t){0, 0});
            continue;
        }
        st = touched_get(s, &t, tx->recipient, &recipient);
        if (st != PBFT_OK) break;
        history_step(recipient, h, i, &out);
    }
    if (st == PBFT_OK) {
        for (uint32_t i = 0; i < result->changed_count; i++) {
            account_rec_t *a = NULL;
            st = touched_get(s, &t, result->changed[i].address, &a);
            if (st != PBFT_OK) break;
            a->exists = true;
            a->balance = result->changed[i].balance;
            a->nonce = result->changed[i].nonce;
        }
    }
    if (st == PBFT_OK) {
        uint8_t key[9];
        batch_put(s, b, key, height_key('L', h, key), out.links, out.links_size);
        if (out.mark_count > 1)
            qsort(out.marks, out.mark_count, sizeof *out.marks, compare_history_key);
        for (size_t i = 0; i < out.mark_count; i++)
            batch_put(s, b, out.marks[i], STORE_HISTORY_KEY_SIZE, NULL, 0);
        /* Compact the table, in key order for a write-back. */
        size_t count = 0;
        for (size_t i = 0; i <= t.mask; i++)
            if (t.slots[i].valid) t.slots[count++] = t.slots[i];
        qsort(t.slots, count, sizeof *t.slots, compare_rec_address);
        *accounts = t.slots;
        *account_count = count;
    } else {
        free(t.slots);
    }
    free(out.links);
    free(out.marks);
    return st;
}

/* Puts the 'A' value of every dirty account, newest[] instead where an
 * address is in both (newest: sorted by address), and 'M' "accounts" =
 * height. Writer's thread. */
static void batch_write_back(store_t *s, rocksdb_writebatch_t *b, const account_rec_t *newest,
                             size_t newest_count, uint64_t height) {
    size_t total = s->dirty_count + newest_count, n = 0;
    account_rec_t *all = pbft_xmalloc(PBFT_MAX(total, 1) * sizeof *all);
    for (size_t i = 0; i < STORE_DIRTY_SLOTS; i++) {
        const account_rec_t *d = &s->dirty[i];
        if (!d->valid) continue;
        if (newest_count &&
            bsearch(d, newest, newest_count, sizeof *newest, compare_rec_address) != NULL)
            continue;
        all[n++] = *d;
    }
    for (size_t i = 0; i < newest_count; i++)
        all[n++] = newest[i];
    PBFT_ASSERT(n <= total);
    /* key order: the memtable's skiplist reuses its search path */
    if (n > 1) qsort(all, n, sizeof *all, compare_rec_address);
    uint8_t key[STORE_KEY_SIZE_MAX], value[STORE_ACCOUNT_VALUE_SIZE_MAX];
    for (size_t i = 0; i < n; i++) {
        account_key(all[i].address, key);
        batch_put(s, b, key, 1 + PBFT_ADDRESS_SIZE, value, encode_account_rec(&all[i], value));
    }
    free(all);
    uint8_t h[8];
    put_le(h, height, 8);
    batch_put(s, b, key, meta_key("accounts", key), h, sizeof h);
}

/* Writes every dirty account back at the tip (store_close, a raw account
 * write). Writer's thread. */
static pbft_status_t write_back_all(store_t *s) {
    store_tip_t tip;
    store_get_tip(s, &tip);
    if (s->dirty_count == 0 && s->accounts_height == tip.height) return PBFT_OK;
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    batch_write_back(s, b, NULL, 0, tip.height);
    pbft_status_t st = db_write(s, b);
    rocksdb_writebatch_destroy(b);
    if (st != PBFT_OK) return st;
    pthread_mutex_lock(&s->dirty_lock);
    dirty_clear_locked(s);
    pthread_mutex_unlock(&s->dirty_lock);
    s->accounts_height = tip.height;
    return PBFT_OK;
}

static void batch_block(store_t *s, rocksdb_writebatch_t *b, const pbft_block_t *block,
                        const pbft_commit_cert_t *cert, const ledger_block_result_t *result) {
    uint64_t h = block->header.height;
    uint8_t key[9];
    size_t size = codec_block_size(block);
    uint8_t *raw = pbft_xmalloc(size);
    PBFT_ASSERT(codec_block_encode(block, raw, size) == size);
    batch_put(s, b, key, height_key('B', h, key), raw, size);
    free(raw);
    size = codec_commit_cert_size(cert);
    uint8_t *cert_raw = pbft_xmalloc(size);
    PBFT_ASSERT(codec_commit_cert_encode(cert, cert_raw, size) == size);
    batch_put(s, b, key, height_key('C', h, key), cert_raw, size);
    free(cert_raw);
    batch_put(s, b, key, height_key('R', h, key), result->tx_results, result->tx_count);
    batch_put(s, b, key, height_key('S', h, key), result->state_hash, PBFT_HASH_SIZE);
}

pbft_status_t store_commit_block(store_t *s, const pbft_block_t *block,
                                 const pbft_commit_cert_t *cert,
                                 const ledger_block_result_t *result) {
    return store_commit_block_ex(s, block, NULL, cert, result, true);
}

pbft_status_t store_commit_block_ex(store_t *s, const pbft_block_t *block,
                                    const uint8_t (*given_ids)[PBFT_HASH_SIZE],
                                    const pbft_commit_cert_t *cert,
                                    const ledger_block_result_t *result, bool sync) {
    PBFT_ASSERT(s != NULL && block != NULL && cert != NULL && result != NULL);
    PBFT_ASSERT(s->mode == STORE_READ_WRITE);
    store_tip_t tip;
    store_get_tip(s, &tip);
    uint32_t n = block->header.tx_count;
    PBFT_ASSERT(block->header.height == tip.height + 1);
    PBFT_ASSERT(memcmp(block->header.prev_hash, tip.block_hash, PBFT_HASH_SIZE) == 0);
    PBFT_ASSERT(result->height == block->header.height && result->tx_count == n);
    PBFT_ASSERT(cert->seq == block->header.height);
    /* Given ids were checked against tx_root by consensus (it validated the
     * block from them); hashing them into the root again would repeat it. */
    uint8_t(*ids)[PBFT_HASH_SIZE] = NULL;
    if (given_ids == NULL) {
        uint8_t root[PBFT_HASH_SIZE];
        ids = n ? pbft_xmalloc((size_t)n * PBFT_HASH_SIZE) : NULL;
        codec_block_tx_root(block, ids, root);
        PBFT_ASSERT(memcmp(root, block->header.tx_root, PBFT_HASH_SIZE) == 0);
        given_ids = (const uint8_t(*)[PBFT_HASH_SIZE])ids;
    }

    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    batch_block(s, b, block, cert, result);
    pbft_status_t st = batch_tx_index(s, b, block, given_ids, result->tx_results);
    free(ids);
    store_tip_t next = {.height = block->header.height, .tx_count_total = tip.tx_count_total + n};
    codec_header_hash(&block->header, next.block_hash);
    memcpy(next.state_hash, result->state_hash, PBFT_HASH_SIZE);
    account_rec_t *accounts = NULL;
    size_t account_count = 0;
    bool write_back = false;
    if (st == PBFT_OK)
        st = batch_history_and_accounts(s, b, block, result, &accounts, &account_count);
    if (st == PBFT_OK) {
        write_back = next.height - s->accounts_height >= STORE_ACCOUNT_WRITE_EVERY ||
                     s->dirty_count + account_count > STORE_DIRTY_MAX;
        if (write_back) batch_write_back(s, b, accounts, account_count, next.height);
        uint8_t key[STORE_KEY_SIZE_MAX], value[STORE_TIP_VALUE_SIZE];
        encode_tip(&next, value);
        batch_put(s, b, key, meta_key("tip", key), value, sizeof value);
        size_t ksize = prepared_key(block->header.height, next.block_hash, key);
        batch_delete(s, b, key, ksize);
        pthread_mutex_lock(&s->prepared_lock);
        st = db_write_opt(s, b, sync);
        if (st == PBFT_OK) s->written_height = next.height;
        pthread_mutex_unlock(&s->prepared_lock);
    }
    rocksdb_writebatch_destroy(b);
    /* The dirty table and the cache learn the new values only once the
     * block is written, before the new tip shows. */
    if (st == PBFT_OK) {
        pthread_mutex_lock(&s->dirty_lock);
        if (write_back)
            dirty_clear_locked(s);
        else
            dirty_put_locked(s, accounts, account_count);
        pthread_mutex_unlock(&s->dirty_lock);
        if (write_back) s->accounts_height = next.height;
        for (size_t i = 0; i < account_count; i++)
            *cache_slot(s, accounts[i].address) = accounts[i];
    }
    free(accounts);
    if (st != PBFT_OK) return st;
    pthread_mutex_lock(&s->tip_lock);
    PBFT_ASSERT(s->tip.height + 1 == next.height); /* one writer */
    s->tip = next;
    pthread_mutex_unlock(&s->tip_lock);
    return PBFT_OK;
}

/* Executes the blocks above 'M' "accounts" again, each on the state below
 * it (the dirty table over the 'A' records) and checked against its stored
 * results and state hash, and keeps the accounts they changed in the dirty
 * table: what a crash, or a read-only view of a live writer, finds not yet
 * written back. */
static pbft_status_t accounts_catch_up(store_t *s, char *err, size_t err_size) {
    store_tip_t tip;
    store_get_tip(s, &tip);
    pthread_mutex_lock(&s->dirty_lock);
    dirty_clear_locked(s);
    pthread_mutex_unlock(&s->dirty_lock);
    uint64_t h = s->accounts_height;
    uint8_t state[PBFT_HASH_SIZE];
    pbft_status_t st = store_get_state_hash(s, h, state);
    const char *why = "state hash";
    bool mismatch = false; /* else st says what failed */
    pbft_status_t *saved_status = s->reader_status;
    while (st == PBFT_OK && h < tip.height) {
        h++;
        pbft_block_t block;
        why = "block";
        st = store_get_block(s, h, &block);
        if (st != PBFT_OK) break;
        pbft_status_t read_st = PBFT_OK;
        s->reader_status = &read_st;
        ledger_state_reader_t reader = {.get = reader_get, .ctx = s};
        ledger_block_result_t res = {0};
        ledger_execute_block(&block, &reader, state, &res);
        uint8_t stored_state[PBFT_HASH_SIZE], *results = NULL;
        uint32_t result_count = 0;
        why = "account read";
        st = read_st;
        if (st == PBFT_OK) {
            why = "state hash";
            st = store_get_state_hash(s, h, stored_state);
        }
        if (st == PBFT_OK && memcmp(stored_state, res.state_hash, PBFT_HASH_SIZE) != 0)
            mismatch = true; /* why: state hash */
        if (st == PBFT_OK && !mismatch) {
            why = "tx results";
            st = store_get_block_results(s, h, &results, &result_count);
        }
        if (st == PBFT_OK && !mismatch &&
            (result_count != res.tx_count ||
             (result_count && memcmp(results, res.tx_results, result_count) != 0)))
            mismatch = true;
        if (mismatch) st = PBFT_ERR_CORRUPT;
        free(results);
        account_rec_t *accounts = NULL;
        size_t count = 0;
        if (st == PBFT_OK) {
            why = "account history";
            rocksdb_writebatch_t *scratch = rocksdb_writebatch_create(); /* links: stored */
            st = batch_history_and_accounts(s, scratch, &block, &res, &accounts, &count);
            rocksdb_writebatch_destroy(scratch);
        }
        if (st == PBFT_OK && s->dirty_count + count > STORE_DIRTY_MAX) {
            why = "more accounts changed than a writer leaves unwritten";
            st = PBFT_ERR_CORRUPT;
        }
        if (st == PBFT_OK) {
            pthread_mutex_lock(&s->dirty_lock);
            dirty_put_locked(s, accounts, count);
            pthread_mutex_unlock(&s->dirty_lock);
            for (size_t i = 0; s->accounts && i < count; i++)
                *cache_slot(s, accounts[i].address) = accounts[i];
            memcpy(state, res.state_hash, PBFT_HASH_SIZE);
        }
        free(accounts);
        ledger_block_result_free(&res);
        codec_block_free(&block);
    }
    s->reader_status = saved_status;
    if (st == PBFT_OK) s->recovered_blocks = tip.height - s->accounts_height;
    if (st != PBFT_OK)
        set_err(err, err_size,
                "store %s: height %llu: recovering the account values from the blocks above "
                "height %llu: %s: %s",
                s->dir, (unsigned long long)h, (unsigned long long)s->accounts_height, why,
                mismatch ? "does not match what is stored" : pbft_status_string(st));
    return st;
}

/* Read-only: rebuilds the dirty table, once after open or a refresh,
 * before an account read. */
static pbft_status_t accounts_ready(store_t *s) {
    if (s->mode != STORE_READ_ONLY) return PBFT_OK;
    pthread_mutex_lock(&s->rebuild_lock);
    if (s->dirty_stale) {
        char err[512];
        s->dirty_status = accounts_catch_up(s, err, sizeof err);
        if (s->dirty_status != PBFT_OK) fprintf(stderr, "%s\n", err);
        s->dirty_stale = false;
    }
    pbft_status_t st = s->dirty_status;
    pthread_mutex_unlock(&s->rebuild_lock);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Blocks, certificates, results                                              */

pbft_status_t store_get_block_raw(store_t *s, uint64_t height, uint8_t **out, size_t *out_size) {
    PBFT_ASSERT(s != NULL && out != NULL && out_size != NULL);
    uint8_t key[9];
    return db_get(s, key, height_key('B', height, key), out, out_size);
}

/* Decodes a stored block and checks it is the block of that height with a
 * matching Merkle root: a failure is PBFT_ERR_CORRUPT. */
static pbft_status_t decode_stored_block(const uint8_t *raw, size_t size, uint64_t height,
                                         pbft_block_t *out) {
    pbft_block_t b;
    if (codec_block_decode(raw, size, &b) != PBFT_OK) return PBFT_ERR_CORRUPT;
    if (b.header.height != height || codec_block_check_root(&b) != PBFT_OK) {
        codec_block_free(&b);
        return PBFT_ERR_CORRUPT;
    }
    *out = b;
    return PBFT_OK;
}

pbft_status_t store_get_block(store_t *s, uint64_t height, pbft_block_t *out) {
    PBFT_ASSERT(out != NULL);
    uint8_t *raw = NULL;
    size_t size = 0;
    pbft_status_t st = store_get_block_raw(s, height, &raw, &size);
    if (st != PBFT_OK) return st;
    st = decode_stored_block(raw, size, height, out);
    free(raw);
    return st;
}

/* store_get_block for a reader that needs the tx ids too: they are hashed
 * once, for the root check and for the caller (*ids malloc'd). */
static pbft_status_t get_block_with_ids(store_t *s, uint64_t height, pbft_block_t *out,
                                        uint8_t (**ids)[PBFT_HASH_SIZE]) {
    uint8_t *raw = NULL;
    size_t size = 0;
    pbft_status_t st = store_get_block_raw(s, height, &raw, &size);
    if (st != PBFT_OK) return st;
    pbft_block_t b;
    st = codec_block_decode(raw, size, &b) == PBFT_OK ? PBFT_OK : PBFT_ERR_CORRUPT;
    free(raw);
    if (st != PBFT_OK) return st;
    uint8_t(*v)[PBFT_HASH_SIZE] =
        pbft_xmalloc((size_t)PBFT_MAX(b.header.tx_count, 1) * PBFT_HASH_SIZE);
    uint8_t root[PBFT_HASH_SIZE];
    codec_block_tx_root(&b, v, root);
    if (b.header.height != height || memcmp(root, b.header.tx_root, PBFT_HASH_SIZE) != 0) {
        free(v);
        codec_block_free(&b);
        return PBFT_ERR_CORRUPT;
    }
    *out = b;
    *ids = v;
    return PBFT_OK;
}

pbft_status_t store_get_header(store_t *s, uint64_t height, pbft_block_header_t *out) {
    PBFT_ASSERT(out != NULL);
    uint8_t *raw = NULL;
    size_t size = 0;
    pbft_status_t st = store_get_block_raw(s, height, &raw, &size);
    if (st != PBFT_OK) return st;
    pbft_block_header_t h;
    if (size < PBFT_BLOCK_HEADER_SIZE ||
        codec_header_decode(raw, PBFT_BLOCK_HEADER_SIZE, &h) != PBFT_OK || h.height != height)
        st = PBFT_ERR_CORRUPT;
    else
        *out = h;
    free(raw);
    return st;
}

pbft_status_t store_get_commit_cert(store_t *s, uint64_t height, pbft_commit_cert_t *out) {
    PBFT_ASSERT(s != NULL && out != NULL);
    uint8_t key[9], *raw = NULL;
    size_t size = 0;
    pbft_status_t st = db_get(s, key, height_key('C', height, key), &raw, &size);
    if (st != PBFT_OK) return st;
    pbft_commit_cert_t c;
    if (codec_commit_cert_decode(raw, size, &c) != PBFT_OK || c.seq != height)
        st = PBFT_ERR_CORRUPT;
    else
        *out = c;
    free(raw);
    return st;
}

pbft_status_t store_get_block_results(store_t *s, uint64_t height, uint8_t **out, uint32_t *count) {
    PBFT_ASSERT(s != NULL && out != NULL && count != NULL);
    if (height == 0) {
        *out = NULL;
        *count = 0;
        return PBFT_OK;
    }
    uint8_t key[9], *raw = NULL;
    size_t size = 0;
    pbft_status_t st = db_get(s, key, height_key('R', height, key), &raw, &size);
    if (st != PBFT_OK) return st;
    bool ok = size <= PBFT_BLOCK_TX_COUNT_MAX;
    for (size_t i = 0; ok && i < size; i++)
        ok = raw[i] < PBFT_TX_RESULT_COUNT;
    if (!ok) {
        free(raw);
        return PBFT_ERR_CORRUPT;
    }
    *out = raw;
    *count = (uint32_t)size;
    return PBFT_OK;
}

pbft_status_t store_get_state_hash(store_t *s, uint64_t height, uint8_t out[PBFT_HASH_SIZE]) {
    PBFT_ASSERT(s != NULL && out != NULL);
    uint8_t key[9];
    return db_get_fixed(s, key, height_key('S', height, key), out, PBFT_HASH_SIZE);
}

/* ------------------------------------------------------------------------ */
/* Checkpoints                                                                */

/* The checkpoint's batch also deletes every prepared copy at or below the
 * last block written. A commit deletes only its own block's copy, so a
 * block this replica prepared that then lost a view change (same height,
 * another hash) would otherwise stay until the next open. One range
 * tombstone per checkpoint, in a family read only at open. */
pbft_status_t store_put_checkpoint_cert(store_t *s, const pbft_checkpoint_cert_t *cert) {
    PBFT_ASSERT(s != NULL && cert != NULL);
    if (s->mode != STORE_READ_WRITE) return PBFT_ERR_ARGUMENT;
    uint8_t key[9];
    size_t size = codec_checkpoint_cert_size(cert);
    uint8_t *raw = pbft_xmalloc(size);
    PBFT_ASSERT(codec_checkpoint_cert_encode(cert, raw, size) == size);
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    batch_put(s, b, key, height_key('K', cert->height, key), raw, size);
    free(raw);
    pthread_mutex_lock(&s->prepared_lock);
    uint64_t written = s->written_height;
    pthread_mutex_unlock(&s->prepared_lock);
    if (written > 0) {
        const char first = 'P';
        uint8_t end[9];
        height_key('P', written + 1, end);
        rocksdb_writebatch_delete_range_cf(b, s->cf[STORE_CF_CONSENSUS], &first, 1,
                                           (const char *)end, sizeof end);
    }
    pbft_status_t st = db_write(s, b);
    rocksdb_writebatch_destroy(b);
    return st;
}

static pbft_status_t decode_checkpoint(const uint8_t *raw, size_t size, uint64_t height,
                                       pbft_checkpoint_cert_t *out) {
    pbft_checkpoint_cert_t c;
    if (codec_checkpoint_cert_decode(raw, size, &c) != PBFT_OK || c.height != height)
        return PBFT_ERR_CORRUPT;
    *out = c;
    return PBFT_OK;
}

pbft_status_t store_get_checkpoint_cert(store_t *s, uint64_t height, pbft_checkpoint_cert_t *out) {
    PBFT_ASSERT(s != NULL && out != NULL);
    uint8_t key[9], *raw = NULL;
    size_t size = 0;
    pbft_status_t st = db_get(s, key, height_key('K', height, key), &raw, &size);
    if (st != PBFT_OK) return st;
    st = decode_checkpoint(raw, size, height, out);
    free(raw);
    return st;
}

pbft_status_t store_latest_checkpoint_cert(store_t *s, pbft_checkpoint_cert_t *out) {
    PBFT_ASSERT(s != NULL && out != NULL);
    uint8_t key[9];
    height_key('K', UINT64_MAX, key);
    rocksdb_iterator_t *it = rocksdb_create_iterator(s->db, s->read_options);
    rocksdb_iter_seek_for_prev(it, (const char *)key, sizeof key);
    pbft_status_t st = PBFT_ERR_NOT_FOUND;
    if (rocksdb_iter_valid(it)) {
        size_t ksize = 0, vsize = 0;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &ksize);
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vsize);
        if (ksize == 9 && k[0] == 'K') st = decode_checkpoint(v, vsize, get_be(k + 1, 8), out);
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    if (err) {
        rocksdb_free(err);
        st = PBFT_ERR_STORE;
    }
    rocksdb_iter_destroy(it);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Accounts                                                                   */

pbft_status_t store_get_account(store_t *s, const uint8_t address[PBFT_ADDRESS_SIZE],
                                pbft_account_t *out, bool *exists) {
    PBFT_ASSERT(s != NULL && address != NULL && out != NULL && exists != NULL);
    pbft_status_t st = accounts_ready(s);
    if (st != PBFT_OK) return st;
    account_rec_t rec;
    st = load_account(s, address, &rec);
    if (st != PBFT_OK) return st;
    memset(out, 0, sizeof *out);
    memcpy(out->address, address, PBFT_ADDRESS_SIZE);
    *exists = rec.exists;
    if (rec.exists) {
        out->balance = rec.balance;
        out->nonce = rec.nonce;
    }
    return PBFT_OK;
}

/* Through the writer's cache on a read-write store: execution reads the
 * accounts the commit then writes. */
static pbft_status_t reader_load(store_t *s, const uint8_t address[PBFT_ADDRESS_SIZE],
                                 account_rec_t *out) {
    if (!s->accounts) return load_account(s, address, out);
    account_rec_t *slot = cache_slot(s, address);
    if (slot->valid && memcmp(slot->address, address, PBFT_ADDRESS_SIZE) == 0) {
        *out = *slot;
        return PBFT_OK;
    }
    pbft_status_t st = load_account(s, address, out);
    if (st == PBFT_OK) *slot = *out;
    return st;
}

/* Execution cannot run on a state it cannot read: a failed read is reported
 * through the status the caller gave (which must then drop the result), or
 * stops the process when it gave none. */
static bool reader_get(void *ctx, const uint8_t address[PBFT_ADDRESS_SIZE], pbft_account_t *out) {
    store_t *s = ctx;
    account_rec_t rec;
    pbft_status_t st = reader_load(s, address, &rec);
    memset(out, 0, sizeof *out);
    memcpy(out->address, address, PBFT_ADDRESS_SIZE);
    if (st != PBFT_OK) {
        if (!s->reader_status) {
            fprintf(stderr, "FATAL: store: cannot read an account during execution: %s\n",
                    pbft_status_string(st));
            abort();
        }
        if (*s->reader_status == PBFT_OK) *s->reader_status = st;
        return false;
    }
    if (!rec.exists) return false;
    out->balance = rec.balance;
    out->nonce = rec.nonce;
    return true;
}

ledger_state_reader_t store_state_reader(store_t *s, pbft_status_t *status) {
    PBFT_ASSERT(s != NULL);
    s->reader_status = status;
    if (status) *status = PBFT_OK;
    ledger_state_reader_t r = {.get = reader_get, .ctx = s};
    return r;
}

/* ------------------------------------------------------------------------ */
/* Transactions, receipts, history                                            */

pbft_status_t store_get_tx_location(store_t *s, const uint8_t tx_id[PBFT_HASH_SIZE],
                                    store_tx_location_t *out) {
    PBFT_ASSERT(s != NULL && tx_id != NULL && out != NULL);
    uint8_t key[1 + PBFT_HASH_SIZE], *raw = NULL;
    size_t size = 0;
    key[0] = 'T';
    memcpy(key + 1, tx_id, PBFT_HASH_SIZE);
    pbft_status_t st = db_get(s, key, sizeof key, &raw, &size);
    if (st != PBFT_OK) return st;
    store_tx_location_t loc;
    if (!decode_location(raw, size, &loc))
        st = PBFT_ERR_CORRUPT;
    else
        *out = loc;
    free(raw);
    return st;
}

pbft_status_t store_get_receipt(store_t *s, const uint8_t tx_id[PBFT_HASH_SIZE],
                                store_receipt_t *out) {
    PBFT_ASSERT(out != NULL);
    store_tx_location_t loc;
    pbft_status_t st = store_get_tx_location(s, tx_id, &loc);
    if (st != PBFT_OK) return st;
    pbft_block_t block;
    uint8_t(*ids)[PBFT_HASH_SIZE] = NULL;
    st = get_block_with_ids(s, loc.height, &block, &ids);
    if (st != PBFT_OK) return st == PBFT_ERR_NOT_FOUND ? PBFT_ERR_CORRUPT : st;
    uint32_t n = block.header.tx_count;
    if (loc.index >= n || memcmp(ids[loc.index], tx_id, PBFT_HASH_SIZE) != 0) {
        st = PBFT_ERR_CORRUPT;
    } else {
        out->tx = block.txs[loc.index];
        out->location = loc;
        out->header = block.header;
        crypto_merkle_prove((const uint8_t(*)[PBFT_HASH_SIZE])ids, n, loc.index, &out->proof);
        st = store_get_commit_cert(s, loc.height, &out->cert);
        if (st == PBFT_ERR_NOT_FOUND) st = PBFT_ERR_CORRUPT;
    }
    free(ids);
    codec_block_free(&block);
    return st;
}

/* One block as the history walk needs it: txs, ids (checked against the
 * header's tx_root) and the two links of every tx. */
typedef struct hist_block {
    uint64_t height; /* 0: none loaded */
    pbft_block_t block;
    uint8_t (*ids)[PBFT_HASH_SIZE];
    hist_pos_t *links; /* 2 per tx: the sender's, the recipient's */
} hist_block_t;

static void hist_block_free(hist_block_t *hb) {
    if (hb->height) codec_block_free(&hb->block);
    free(hb->ids);
    free(hb->links);
    memset(hb, 0, sizeof *hb);
}

/* False when missing or corrupt. */
static bool hist_block_load(store_t *s, uint64_t height, hist_block_t *hb) {
    hist_block_free(hb);
    atomic_fetch_add(&s->history_block_loads, 1);
    if (height == 0 || get_block_with_ids(s, height, &hb->block, &hb->ids) != PBFT_OK) return false;
    hb->height = height;
    uint32_t n = hb->block.header.tx_count;
    hb->links = pbft_xcalloc(2 * (size_t)PBFT_MAX(n, 1), sizeof *hb->links);
    uint8_t key[9], *raw = NULL;
    size_t size = 0, off = 0;
    bool ok = db_get(s, key, height_key('L', height, key), &raw, &size) == PBFT_OK;
    for (uint32_t i = 0; ok && i < 2 * n; i++) {
        ok = get_link(raw, size, &off, height, &hb->links[i]) &&
             (hb->links[i].height < height ||
              (hb->links[i].height == height && hb->links[i].index < i / 2));
    }
    free(raw);
    if (!ok || off != size) {
        hist_block_free(hb);
        return false;
    }
    return true;
}

/* Which of tx `index`'s two links follows `address`, or -1 when the tx does
 * not involve it (a corrupt link). */
static int hist_role(const hist_block_t *hb, uint32_t index,
                     const uint8_t address[PBFT_ADDRESS_SIZE]) {
    if (index >= hb->block.header.tx_count) return -1;
    const pbft_tx_t *tx = &hb->block.txs[index];
    uint8_t sender[PBFT_ADDRESS_SIZE];
    crypto_address(tx->sender_pubkey, sender);
    if (memcmp(sender, address, PBFT_ADDRESS_SIZE) == 0) return 0;
    if (memcmp(tx->recipient, address, PBFT_ADDRESS_SIZE) == 0) return 1;
    return -1;
}

/* Where a walk to txs below before_height starts, the newest tx being at or
 * above it. Paging passes the height of the last entry it got: the
 * account's first tx in that block, if it is there, links straight below.
 * Otherwise the first history mark at or above before_height: fewer than
 * STORE_HISTORY_MARK_EVERY txs of the account lie between it and the first
 * one below. Without such a mark, fewer than that lie above the last mark,
 * and the walk starts at the newest. */
static hist_pos_t history_start(store_t *s, const uint8_t address[PBFT_ADDRESS_SIZE],
                                uint64_t before_height, hist_pos_t newest, hist_block_t *hb) {
    if (hist_block_load(s, before_height, hb)) {
        for (uint32_t i = 0; i < hb->block.header.tx_count; i++)
            if (hist_role(hb, i, address) >= 0) return (hist_pos_t){before_height, i};
    }
    uint8_t key[STORE_HISTORY_KEY_SIZE];
    history_key(address, before_height, 0, key);
    rocksdb_iterator_t *it = rocksdb_create_iterator(s->db, s->read_options);
    rocksdb_iter_seek(it, (const char *)key, sizeof key);
    hist_pos_t pos = newest;
    size_t ksize = 0;
    const uint8_t *k =
        rocksdb_iter_valid(it) ? (const uint8_t *)rocksdb_iter_key(it, &ksize) : NULL;
    if (k && ksize == STORE_HISTORY_KEY_SIZE && k[0] == 'H' &&
        memcmp(k + 1, address, PBFT_ADDRESS_SIZE) == 0) {
        hist_pos_t mark = {get_be(k + 1 + PBFT_ADDRESS_SIZE, 8),
                           (uint32_t)get_be(k + 1 + PBFT_ADDRESS_SIZE + 8, 2)};
        /* a mark past the newest tx is corrupt: keep the newest */
        if (mark.height < newest.height ||
            (mark.height == newest.height && mark.index <= newest.index))
            pos = mark;
    }
    rocksdb_iter_destroy(it);
    return pos;
}

size_t store_account_history(store_t *s, const uint8_t address[PBFT_ADDRESS_SIZE],
                             uint64_t before_height, uint8_t (*ids)[PBFT_HASH_SIZE],
                             uint64_t *heights, size_t max) {
    PBFT_ASSERT(s != NULL && address != NULL);
    PBFT_ASSERT(max == 0 || ids != NULL);
    if (max == 0 || before_height == 0) return 0;
    account_rec_t rec;
    if (accounts_ready(s) != PBFT_OK || load_account(s, address, &rec) != PBFT_OK) return 0;
    hist_block_t hb = {0};
    hist_pos_t pos = rec.head;
    if (pos.height >= before_height) pos = history_start(s, address, before_height, pos, &hb);
    size_t count = 0;
    while (count < max && pos.height != 0) {
        if (pos.height != hb.height && !hist_block_load(s, pos.height, &hb)) break;
        int role = hist_role(&hb, pos.index, address);
        if (role < 0) break; /* corrupt: stop, never follow a wrong list */
        if (pos.height < before_height) {
            memcpy(ids[count], hb.ids[pos.index], PBFT_HASH_SIZE);
            if (heights) heights[count] = pos.height;
            count++;
        }
        pos = hb.links[2 * pos.index + (uint32_t)role]; /* strictly older: checked on load */
    }
    hist_block_free(&hb);
    return count;
}

pbft_status_t store_iterate_blocks(store_t *s, uint64_t from, store_block_fn fn, void *ctx) {
    PBFT_ASSERT(s != NULL && fn != NULL);
    store_tip_t tip;
    store_get_tip(s, &tip);
    for (uint64_t h = from; h <= tip.height; h++) {
        uint8_t *raw = NULL;
        size_t size = 0;
        pbft_status_t st = store_get_block_raw(s, h, &raw, &size);
        pbft_block_t block;
        if (st == PBFT_OK) st = decode_stored_block(raw, size, h, &block);
        if (st != PBFT_OK) {
            free(raw);
            return st == PBFT_ERR_NOT_FOUND ? PBFT_ERR_CORRUPT : st;
        }
        pbft_commit_cert_t cert;
        if (h > 0) st = store_get_commit_cert(s, h, &cert);
        bool more = false;
        if (st == PBFT_OK) more = fn(ctx, &block, h > 0 ? &cert : NULL, raw, size);
        codec_block_free(&block);
        free(raw);
        if (st != PBFT_OK) return st == PBFT_ERR_NOT_FOUND ? PBFT_ERR_CORRUPT : st;
        if (!more) break;
    }
    return PBFT_OK;
}

/* ------------------------------------------------------------------------ */
/* Verification of one stored height (corruption detection)                   */

PBFT_PRINTF(4, 5)
static pbft_status_t verify_fail(pbft_status_t st, char *err, size_t err_size, const char *fmt,
                                 ...) {
    if (err && err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
        va_end(ap);
    }
    return st;
}

pbft_status_t store_verify_block(store_t *s, uint64_t height, char *err, size_t err_size) {
    PBFT_ASSERT(s != NULL);
    unsigned long long h = height;
    pbft_block_t block;
    pbft_status_t st = store_get_block(s, height, &block);
    if (st != PBFT_OK)
        return verify_fail(st, err, err_size, "height %llu: block: %s", h,
                           st == PBFT_ERR_CORRUPT ? "does not decode, or its tx root or height "
                                                    "does not match its transactions"
                                                  : pbft_status_string(st));
    pbft_block_header_t header = block.header;
    uint32_t tx_count = block.header.tx_count;
    codec_block_free(&block);
    uint8_t hash[PBFT_HASH_SIZE];
    if (height == 0) {
        codec_header_hash(&header, hash);
        if (memcmp(hash, s->genesis.block_hash, PBFT_HASH_SIZE) != 0)
            return verify_fail(PBFT_ERR_CORRUPT, err, err_size,
                               "height 0: block is not the genesis block");
        return PBFT_OK;
    }
    pbft_block_header_t prev;
    st = store_get_header(s, height - 1, &prev);
    if (st != PBFT_OK)
        return verify_fail(PBFT_ERR_CORRUPT, err, err_size, "height %llu: previous header: %s",
                           h - 1, pbft_status_string(st));
    codec_header_hash(&prev, hash);
    if (memcmp(hash, header.prev_hash, PBFT_HASH_SIZE) != 0)
        return verify_fail(PBFT_ERR_CORRUPT, err, err_size,
                           "height %llu: prev_hash does not link to block %llu", h, h - 1);
    pbft_commit_cert_t cert;
    st = store_get_commit_cert(s, height, &cert);
    if (st != PBFT_OK)
        return verify_fail(PBFT_ERR_CORRUPT, err, err_size, "height %llu: commit certificate: %s",
                           h, pbft_status_string(st));
    st = cert_check_block(&s->genesis.validators, s->genesis.chain_id, &header, &cert);
    if (st != PBFT_OK)
        return verify_fail(PBFT_ERR_CORRUPT, err, err_size,
                           "height %llu: commit certificate does not certify the block: %s", h,
                           pbft_status_string(st));
    uint8_t *results = NULL;
    uint32_t count = 0;
    st = store_get_block_results(s, height, &results, &count);
    free(results);
    if (st != PBFT_OK || count != tx_count)
        return verify_fail(PBFT_ERR_CORRUPT, err, err_size, "height %llu: tx results: %s", h,
                           st != PBFT_OK ? pbft_status_string(st) : "wrong count");
    st = store_get_state_hash(s, height, hash);
    if (st != PBFT_OK)
        return verify_fail(PBFT_ERR_CORRUPT, err, err_size, "height %llu: state hash: %s", h,
                           pbft_status_string(st));
    return PBFT_OK;
}

/* ------------------------------------------------------------------------ */
/* Safety state, disk usage, test hook                                        */

static pbft_status_t safety_key(const char *name, uint8_t key[STORE_KEY_SIZE_MAX], size_t *size) {
    size_t len = strlen(name);
    if (len == 0 || len > STORE_SAFETY_KEY_SIZE_MAX) return PBFT_ERR_ARGUMENT;
    key[0] = 'Z';
    memcpy(key + 1, name, len); // NOLINT(bugprone-not-null-terminated-result): a key, not a string
    *size = len + 1;
    return PBFT_OK;
}

pbft_status_t store_put_safety(store_t *s, const char *key, const void *bytes, size_t size) {
    PBFT_ASSERT(s != NULL && key != NULL && (bytes != NULL || size == 0));
    uint8_t k[STORE_KEY_SIZE_MAX];
    size_t ksize = 0;
    pbft_status_t st = safety_key(key, k, &ksize);
    if (st != PBFT_OK) return st;
    return db_put_synced(s, k, ksize, bytes, size);
}

pbft_status_t store_put_safety_and_blocks(store_t *s, const char *key, const void *bytes,
                                          size_t size, const store_prepared_block_t *blocks,
                                          size_t block_count) {
    PBFT_ASSERT(s != NULL && key != NULL && (blocks != NULL || block_count == 0));
    if (s->mode != STORE_READ_WRITE) return PBFT_ERR_ARGUMENT;
    uint8_t k[STORE_KEY_SIZE_MAX];
    size_t ksize = 0;
    pbft_status_t st = safety_key(key, k, &ksize);
    if (st != PBFT_OK) return st;
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    pthread_mutex_lock(&s->prepared_lock);
    for (size_t i = 0; i < block_count; i++) {
        if (blocks[i].height <= s->written_height) continue; /* committed: see prepared_lock */
        uint8_t bk[STORE_KEY_SIZE_MAX];
        size_t bksize = prepared_key(blocks[i].height, blocks[i].hash, bk);
        batch_put(s, b, bk, bksize, blocks[i].bytes, blocks[i].size);
    }
    if (bytes != NULL) batch_put(s, b, k, ksize, bytes, size);
    st = db_write(s, b);
    pthread_mutex_unlock(&s->prepared_lock);
    rocksdb_writebatch_destroy(b);
    return st;
}

/* Collects the prepared blocks above the tip; those at or below it (left
 * over from a view change, or a crash between commit and cleanup) are
 * deleted in one batch. */
pbft_status_t store_load_prepared_blocks(store_t *s, pbft_block_t **out, size_t *count) {
    PBFT_ASSERT(s != NULL && out != NULL && count != NULL);
    *out = NULL;
    *count = 0;
    store_tip_t tip;
    store_get_tip(s, &tip);
    size_t cap = 0;
    pbft_status_t st = PBFT_OK;
    rocksdb_writebatch_t *stale = rocksdb_writebatch_create();
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(s->db, s->read_options, s->cf[STORE_CF_CONSENSUS]);
    const char prefix = 'P';
    for (rocksdb_iter_seek(it, &prefix, 1); st == PBFT_OK && rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t ksize = 0, vsize = 0;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &ksize);
        if (ksize == 0 || k[0] != 'P') break;
        if (ksize != 9 + PBFT_HASH_SIZE) {
            st = PBFT_ERR_CORRUPT;
            break;
        }
        uint64_t height = 0;
        for (int i = 1; i < 9; i++)
            height = (height << 8) | k[i];
        if (height <= tip.height) {
            batch_delete(s, stale, k, ksize);
            continue;
        }
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vsize);
        pbft_block_t block;
        if (codec_block_decode(v, vsize, &block) != PBFT_OK) {
            st = PBFT_ERR_CORRUPT;
            break;
        }
        uint8_t hash[PBFT_HASH_SIZE];
        codec_header_hash(&block.header, hash);
        if (block.header.height != height || memcmp(hash, k + 9, PBFT_HASH_SIZE) != 0) {
            codec_block_free(&block);
            st = PBFT_ERR_CORRUPT;
            break;
        }
        if (*count == cap) {
            cap = cap ? 2 * cap : 8;
            *out = pbft_xrealloc(*out, cap * sizeof **out);
        }
        (*out)[(*count)++] = block;
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    if (err) {
        fprintf(stderr, "store: rocksdb iterate: %s\n", err);
        rocksdb_free(err);
        st = PBFT_ERR_STORE;
    }
    rocksdb_iter_destroy(it);
    if (st == PBFT_OK && s->mode == STORE_READ_WRITE && rocksdb_writebatch_count(stale) > 0)
        st = db_write(s, stale);
    rocksdb_writebatch_destroy(stale);
    if (st != PBFT_OK) {
        for (size_t i = 0; i < *count; i++)
            codec_block_free(&(*out)[i]);
        free(*out);
        *out = NULL;
        *count = 0;
    }
    return st;
}

pbft_status_t store_get_safety(store_t *s, const char *key, uint8_t **out, size_t *out_size) {
    PBFT_ASSERT(s != NULL && key != NULL && out != NULL && out_size != NULL);
    uint8_t k[STORE_KEY_SIZE_MAX];
    size_t ksize = 0;
    pbft_status_t st = safety_key(key, k, &ksize);
    if (st != PBFT_OK) return st;
    return db_get(s, k, ksize, out, out_size);
}

uint64_t store_disk_bytes(store_t *s) {
    PBFT_ASSERT(s != NULL);
    uint64_t total = 0;
    DIR *d = opendir(s->dir);
    if (!d) return 0;
    struct dirent *e;
    char path[STORE_PATH_SIZE_MAX + 512];
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        bool sst = len > 4 && strcmp(e->d_name + len - 4, ".sst") == 0;
        bool wal = len > 4 && strcmp(e->d_name + len - 4, ".log") == 0;
        if (!sst && !wal) continue;
        snprintf(path, sizeof path, "%s/%s", s->dir, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0) total += (uint64_t)st.st_size;
    }
    closedir(d);
    return total;
}

/* Summed over the column families. */
static uint64_t family_sum(store_t *s, const char *name) {
    uint64_t total = 0;
    for (int i = 0; i < STORE_CF_COUNT; i++) {
        uint64_t v = 0;
        if (rocksdb_property_int_cf(s->db, s->cf[i], name, &v) == 0) total += v;
    }
    return total;
}

/* One of the database's, not a family's (any family handle reads it). */
static uint64_t db_property(store_t *s, const char *name) {
    uint64_t v = 0;
    if (rocksdb_property_int(s->db, name, &v) != 0) v = 0;
    return v;
}

void store_stats(store_t *s, store_stats_t *out) {
    PBFT_ASSERT(s != NULL && out != NULL);
    out->memtables = family_sum(s, "rocksdb.cur-size-all-mem-tables");
    out->table_readers = family_sum(s, "rocksdb.estimate-table-readers-mem");
    out->block_cache = rocksdb_cache_get_usage(s->cache);
    out->block_cache_capacity = rocksdb_cache_get_capacity(s->cache);
    out->block_cache_pinned = rocksdb_cache_get_pinned_usage(s->cache);
    /* a string property (RocksDB has no integer form of it); RocksDB slows
     * writes on one family's count, so the largest */
    out->l0_files = 0;
    for (int i = 0; i < STORE_CF_COUNT; i++) {
        char *l0 = rocksdb_property_value_cf(s->db, s->cf[i], "rocksdb.num-files-at-level0");
        out->l0_files = PBFT_MAX(out->l0_files, l0 ? strtoull(l0, NULL, 10) : 0);
        rocksdb_free(l0);
    }
    out->pending_bytes = family_sum(s, "rocksdb.estimate-pending-compaction-bytes");
    out->delayed_write_rate = db_property(s, "rocksdb.actual-delayed-write-rate");
    out->write_stopped = db_property(s, "rocksdb.is-write-stopped");
}

uint64_t store_debug_history_block_loads(store_t *s) {
    PBFT_ASSERT(s != NULL);
    return atomic_load(&s->history_block_loads);
}

pbft_status_t store_debug_put_raw(store_t *s, const char *kind, uint64_t height,
                                  const uint8_t *bytes, size_t size) {
    PBFT_ASSERT(s != NULL && kind != NULL && (bytes != NULL || size == 0));
    uint8_t key[STORE_KEY_SIZE_MAX];
    size_t ksize;
    if (strcmp(kind, "block") == 0)
        ksize = height_key('B', height, key);
    else if (strcmp(kind, "cert") == 0)
        ksize = height_key('C', height, key);
    else if (strcmp(kind, "results") == 0)
        ksize = height_key('R', height, key);
    else if (strcmp(kind, "state_hash") == 0)
        ksize = height_key('S', height, key);
    else if (strcmp(kind, "links") == 0)
        ksize = height_key('L', height, key);
    else if (strcmp(kind, "tip") == 0)
        ksize = meta_key("tip", key);
    else if (strcmp(kind, "format") == 0)
        ksize = meta_key("format", key);
    else if (strcmp(kind, "account") == 0 && size >= PBFT_ADDRESS_SIZE) {
        /* what is in memory first, so the raw value is the one read */
        pbft_status_t st = s->mode == STORE_READ_WRITE ? write_back_all(s) : PBFT_OK;
        if (st != PBFT_OK) return st;
        account_key(bytes, key); /* bytes: the address, then the value */
        return db_put_synced(s, key, 1 + PBFT_ADDRESS_SIZE, bytes + PBFT_ADDRESS_SIZE,
                             size - PBFT_ADDRESS_SIZE);
    } else
        return PBFT_ERR_ARGUMENT;
    return db_put_synced(s, key, ksize, bytes, size);
}

pbft_status_t store_compact(store_t *s) {
    PBFT_ASSERT(s != NULL);
    if (s->mode != STORE_READ_WRITE) return PBFT_ERR_ARGUMENT;
    /* first, so that the flush below takes the write-back with it */
    pbft_status_t st = write_back_all(s);
    if (st != PBFT_OK) return st;
    char *err = NULL;
    rocksdb_flushoptions_t *f = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(f, 1);
    for (int i = 0; i < STORE_CF_COUNT && !err; i++)
        rocksdb_flush_cf(s->db, f, s->cf[i], &err);
    rocksdb_flushoptions_destroy(f);
    for (int i = 0; i < STORE_CF_COUNT && !err; i++)
        rocksdb_compact_range_cf(s->db, s->cf[i], NULL, 0, NULL, 0);
    if (err) {
        rocksdb_free(err);
        return PBFT_ERR_STORE;
    }
    return PBFT_OK;
}
