/*
 * tests/unit/codec_corpus_test.c — the seed corpus of the codec fuzz
 * targets (tests/fuzz/corpus/fuzz_<name>/seed-*.bin) is generated here and
 * checked on every run: each seed file must exist, equal the generator's
 * bytes exactly (so a format change cannot leave a stale corpus behind) and
 * decode and re-encode to itself.
 *
 *   PBFT_REGEN_CORPUS=1 build/release/bin/tests/codec_corpus_test
 *
 * rewrites the seed files instead (run from the repository root, or set
 * PBFT_SOURCE_DIR). Other files in the corpus directories — inputs found by
 * fuzzing — are left alone; the replay binaries run them in `make test`.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "pbft/codec.h"

#define CORPUS_PATH_SIZE_MAX 1024
#define SEED_SIZE_MAX (PBFT_BLOCK_HEADER_SIZE + 4 * PBFT_TX_SIZE_MAX)

typedef struct seed {
    const char *target; /* fuzz target name, e.g. "fuzz_tx" */
    const char *name;   /* file name inside the target's corpus directory */
    uint8_t bytes[SEED_SIZE_MAX];
    size_t size;
} seed_t;

/* ------------------------------------------------------------------------ */
/* Deterministic values                                                       */

static void seed_tx(pbft_tx_t *tx, uint32_t seed, uint16_t memo_size) {
    memset(tx, 0, sizeof(*tx));
    tx->sender_pubkey[0] = (seed & 1) ? 0x03 : 0x02;
    for (size_t i = 1; i < PBFT_PUBKEY_SIZE; i++)
        tx->sender_pubkey[i] = (uint8_t)(seed * 13 + i);
    for (size_t i = 0; i < PBFT_ADDRESS_SIZE; i++)
        tx->recipient[i] = (uint8_t)(seed * 7 + i);
    tx->amount = 100u * seed + 1;
    tx->nonce = seed;
    tx->memo_size = memo_size;
    for (size_t i = 0; i < memo_size; i++)
        tx->memo[i] = (uint8_t)('a' + (seed + i) % 26);
    for (size_t i = 0; i < PBFT_SIGNATURE_SIZE; i++)
        tx->signature[i] = (uint8_t)(seed + 3 * i);
}

static void seed_header(pbft_block_header_t *h, uint64_t height, uint32_t tx_count) {
    memset(h, 0, sizeof(*h));
    h->version = PBFT_BLOCK_VERSION;
    h->height = height;
    h->view = height / 5;
    h->timestamp_ms = 1763780000000ull + 1000u * height;
    for (size_t i = 0; i < PBFT_HASH_SIZE; i++)
        h->prev_hash[i] = (uint8_t)(height + i);
    h->tx_count = tx_count;
    h->proposer = (uint32_t)(h->view % 4);
}

static void seed_sigs(pbft_replica_sig_t *sigs, uint16_t count, uint16_t stride) {
    for (uint16_t i = 0; i < count; i++) {
        sigs[i].replica = (uint16_t)(i * stride);
        /* First byte == replica: the fake scheme of the fuzz targets accepts
         * it, so the certificate check's success path is seeded too. */
        sigs[i].signature[0] = (uint8_t)sigs[i].replica;
        for (size_t j = 1; j < PBFT_SIGNATURE_SIZE; j++)
            sigs[i].signature[j] = (uint8_t)(i + j);
    }
}

/* ------------------------------------------------------------------------ */
/* The seeds                                                                  */

static size_t make_tx_seeds(seed_t *out) {
    static const uint16_t memo_sizes[] = {0, 5, PBFT_TX_MEMO_SIZE_MAX};
    size_t n = 0;
    for (size_t i = 0; i < PBFT_ARRAY_COUNT(memo_sizes); i++) {
        pbft_tx_t tx;
        seed_tx(&tx, (uint32_t)i + 1, memo_sizes[i]);
        out[n].target = "fuzz_tx";
        out[n].size = codec_tx_encode(&tx, out[n].bytes, SEED_SIZE_MAX);
        n++;
    }
    out[0].name = "seed-empty-memo.bin";
    out[1].name = "seed-short-memo.bin";
    out[2].name = "seed-max-memo.bin";
    return n;
}

static size_t make_header_seeds(seed_t *out) {
    static const char *const names[] = {"seed-genesis.bin", "seed-height-7.bin",
                                        "seed-max-count.bin"};
    static const uint64_t heights[] = {0, 7, UINT64_MAX};
    static const uint32_t counts[] = {0, 3, PBFT_BLOCK_TX_COUNT_MAX};
    for (size_t i = 0; i < 3; i++) {
        pbft_block_header_t h;
        seed_header(&h, heights[i], counts[i]);
        out[i].target = "fuzz_header";
        out[i].name = names[i];
        out[i].size = codec_header_encode(&h, out[i].bytes);
    }
    return 3;
}

static size_t make_block_seeds(seed_t *out) {
    static const char *const names[] = {"seed-empty.bin", "seed-one-tx.bin", "seed-three-txs.bin"};
    static const uint16_t memo_sizes[] = {0, 9, 31};
    for (uint32_t i = 0; i < 3; i++) {
        pbft_block_t b;
        pbft_tx_t txs[3];
        seed_header(&b.header, 10 + i, i == 2 ? 3 : i);
        for (uint32_t t = 0; t < b.header.tx_count; t++)
            seed_tx(&txs[t], 40 + t, memo_sizes[t]);
        b.txs = b.header.tx_count ? txs : NULL;
        codec_block_tx_root(&b, NULL, b.header.tx_root);
        out[i].target = "fuzz_block";
        out[i].name = names[i];
        out[i].size = codec_block_encode(&b, out[i].bytes, SEED_SIZE_MAX);
    }
    return 3;
}

static size_t make_commit_cert_seeds(seed_t *out) {
    static const char *const names[] = {"seed-one.bin", "seed-quorum-of-four.bin",
                                        "seed-sixteen.bin"};
    static const uint16_t counts[] = {1, 3, PBFT_REPLICA_COUNT_MAX};
    for (size_t i = 0; i < 3; i++) {
        pbft_commit_cert_t c;
        memset(&c, 0, sizeof(c));
        c.view = i;
        c.seq = 100 + i;
        memset(c.block_hash, (int)(0x30 + i), PBFT_HASH_SIZE);
        c.count = counts[i];
        seed_sigs(c.sigs, c.count, 1);
        out[i].target = "fuzz_commit_cert";
        out[i].name = names[i];
        out[i].size = codec_commit_cert_encode(&c, out[i].bytes, SEED_SIZE_MAX);
    }
    return 3;
}

static size_t make_checkpoint_cert_seeds(seed_t *out) {
    static const char *const names[] = {"seed-one.bin", "seed-quorum-of-four.bin",
                                        "seed-sparse.bin"};
    static const uint16_t counts[] = {1, 3, 5};
    static const uint16_t strides[] = {1, 1, 3};
    for (size_t i = 0; i < 3; i++) {
        pbft_checkpoint_cert_t c;
        memset(&c, 0, sizeof(c));
        c.height = 64 * (i + 1);
        memset(c.block_hash, (int)(0x40 + i), PBFT_HASH_SIZE);
        memset(c.state_hash, (int)(0x50 + i), PBFT_HASH_SIZE);
        c.count = counts[i];
        seed_sigs(c.sigs, c.count, strides[i]);
        out[i].target = "fuzz_checkpoint_cert";
        out[i].name = names[i];
        out[i].size = codec_checkpoint_cert_encode(&c, out[i].bytes, SEED_SIZE_MAX);
    }
    return 3;
}

#define SEED_COUNT_MAX 32

static size_t make_all_seeds(seed_t *seeds) {
    size_t n = 0;
    n += make_tx_seeds(seeds + n);
    n += make_header_seeds(seeds + n);
    n += make_block_seeds(seeds + n);
    n += make_commit_cert_seeds(seeds + n);
    n += make_checkpoint_cert_seeds(seeds + n);
    assert_true(n <= SEED_COUNT_MAX);
    for (size_t i = 0; i < n; i++)
        assert_true(seeds[i].size > 0);
    return n;
}

/* ------------------------------------------------------------------------ */
/* Decoding a seed the way its fuzz target does                               */

static pbft_status_t seed_round_trip(const char *target, const uint8_t *data, size_t size,
                                     uint8_t *out, size_t *out_size) {
    pbft_status_t status = PBFT_ERR_ARGUMENT;
    if (strcmp(target, "fuzz_tx") == 0) {
        pbft_tx_t tx;
        status = codec_tx_decode(data, size, &tx);
        if (status == PBFT_OK) *out_size = codec_tx_encode(&tx, out, SEED_SIZE_MAX);
    } else if (strcmp(target, "fuzz_header") == 0) {
        pbft_block_header_t h;
        status = codec_header_decode(data, size, &h);
        if (status == PBFT_OK) *out_size = codec_header_encode(&h, out);
    } else if (strcmp(target, "fuzz_block") == 0) {
        pbft_block_t b;
        status = codec_block_decode(data, size, &b);
        if (status == PBFT_OK) {
            *out_size = codec_block_encode(&b, out, SEED_SIZE_MAX);
            status = codec_block_check_root(&b);
            codec_block_free(&b);
        }
    } else if (strcmp(target, "fuzz_commit_cert") == 0) {
        pbft_commit_cert_t c;
        status = codec_commit_cert_decode(data, size, &c);
        if (status == PBFT_OK) *out_size = codec_commit_cert_encode(&c, out, SEED_SIZE_MAX);
    } else if (strcmp(target, "fuzz_checkpoint_cert") == 0) {
        pbft_checkpoint_cert_t c;
        status = codec_checkpoint_cert_decode(data, size, &c);
        if (status == PBFT_OK) *out_size = codec_checkpoint_cert_encode(&c, out, SEED_SIZE_MAX);
    }
    return status;
}

/* ------------------------------------------------------------------------ */
/* Files                                                                      */

static void seed_path(const seed_t *s, char *path, size_t path_size, bool dir_only) {
    const char *root = getenv("PBFT_SOURCE_DIR");
    if (root == NULL || root[0] == '\0') root = ".";
    int n = dir_only
                ? snprintf(path, path_size, "%s/tests/fuzz/corpus/%s", root, s->target)
                : snprintf(path, path_size, "%s/tests/fuzz/corpus/%s/%s", root, s->target, s->name);
    assert_true(n > 0 && (size_t)n < path_size);
}

static void write_seed(const seed_t *s) {
    char path[CORPUS_PATH_SIZE_MAX];
    seed_path(s, path, sizeof(path), true);
    if (mkdir(path, 0755) != 0) assert_int_equal(errno, EEXIST);
    seed_path(s, path, sizeof(path), false);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(s->bytes, 1, s->size, f), s->size);
    assert_int_equal(fclose(f), 0);
    printf("wrote %s (%zu bytes)\n", path, s->size);
}

/* Reads the committed seed; fails the test when it is missing or differs. */
static void check_seed_file(const seed_t *s) {
    char path[CORPUS_PATH_SIZE_MAX];
    seed_path(s, path, sizeof(path), false);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        print_error("missing seed %s (run from the repo root; PBFT_REGEN_CORPUS=1 rewrites)\n",
                    path);
        fail();
    }
    uint8_t bytes[SEED_SIZE_MAX + 1];
    size_t size = fread(bytes, 1, sizeof(bytes), f);
    fclose(f);
    if (size != s->size || memcmp(bytes, s->bytes, size) != 0) {
        print_error("stale seed %s: differs from the generator (PBFT_REGEN_CORPUS=1)\n", path);
        fail();
    }
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                      */

static void test_seeds_decode_and_reencode_to_themselves(void **state) {
    (void)state;
    static seed_t seeds[SEED_COUNT_MAX];
    size_t n = make_all_seeds(seeds);
    for (size_t i = 0; i < n; i++) {
        uint8_t out[SEED_SIZE_MAX];
        size_t out_size = 0;
        assert_int_equal(
            seed_round_trip(seeds[i].target, seeds[i].bytes, seeds[i].size, out, &out_size),
            PBFT_OK);
        assert_int_equal(out_size, seeds[i].size);
        assert_memory_equal(out, seeds[i].bytes, out_size);
    }
}

static void test_committed_corpus_matches_generator(void **state) {
    (void)state;
    static seed_t seeds[SEED_COUNT_MAX];
    size_t n = make_all_seeds(seeds);
    const char *regen = getenv("PBFT_REGEN_CORPUS");
    bool rewrite = regen != NULL && strcmp(regen, "1") == 0;
    for (size_t i = 0; i < n; i++) {
        if (rewrite) write_seed(&seeds[i]);
        check_seed_file(&seeds[i]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seeds_decode_and_reencode_to_themselves),
        cmocka_unit_test(test_committed_corpus_matches_generator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
