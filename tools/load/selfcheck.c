/*
 * tools/load/selfcheck.c — `pbft-load --self-check`: exercises the
 * generator's own pieces without a cluster (the plan signs what a replica
 * would accept, with the right nonces and ids; batch bodies are valid JSON;
 * percentiles, number parsing, URL lists and /proc reading behave), so a
 * benchmark figure is never the product of a broken generator.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "load.h"
#include "pbft/codec.h"

static int failures;
static int checks;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        checks++;                                                                                  \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "self-check FAILED: %s (%s:%d)\n", #cond, __FILE__, __LINE__);         \
        }                                                                                          \
    } while (0)

static void check_percentiles(void) {
    double v[10] = {10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
    CHECK(load_percentile(v, 10, 0.5) == 5);
    CHECK(load_percentile(v, 10, 0.9) == 9);
    CHECK(load_percentile(v, 10, 0.99) == 10);
    CHECK(load_percentile(v, 10, 1.0) == 10);
    CHECK(load_percentile(v, 0, 0.5) == 0);
    double one[1] = {42};
    CHECK(load_percentile(one, 1, 0.01) == 42);
}

static void check_linger(void) {
    load_config_t c = {.batch = 256, .linger_ms = 0};
    const uint64_t ms = 1000000;
    CHECK(load_linger_until(&c, 100 * ms, 100 * ms, 1, false) == 0); /* linger off: at once */
    c.linger_ms = 5;
    CHECK(load_linger_until(&c, 101 * ms, 100 * ms, 3, false) == 105 * ms); /* fill until +5 */
    CHECK(load_linger_until(&c, 105 * ms, 100 * ms, 3, false) == 0);        /* 5 ms late */
    CHECK(load_linger_until(&c, 101 * ms, 100 * ms, 256, false) == 0);      /* batch full */
    CHECK(load_linger_until(&c, 101 * ms, 100 * ms, 3, true) == 0);         /* nothing follows */
    c.linger_ms = 0.5;
    CHECK(load_linger_until(&c, 100 * ms, 100 * ms, 1, false) == 100 * ms + ms / 2);
}

static void check_open_due(void) {
    CHECK(load_open_due(7, 1, 100) == 7);   /* group 1: every due tx */
    CHECK(load_open_due(7, 3, 100) == 6);   /* the third group is not whole yet */
    CHECK(load_open_due(9, 3, 100) == 9);   /* now it is */
    CHECK(load_open_due(2, 3, 100) == 0);   /* nothing whole */
    CHECK(load_open_due(500, 3, 99) == 99); /* never past the end */
}

static void check_timeline_slice(void) {
    CHECK(load_timeline_slice_s(15) == 1);
    CHECK(load_timeline_slice_s(LOAD_TIMELINE_MAX) == 1);
    CHECK(load_timeline_slice_s(LOAD_TIMELINE_MAX + 1) == 2);
    CHECK(load_timeline_slice_s(1000) * LOAD_TIMELINE_MAX >= 1000);
}

static void check_json_numbers(void) {
    json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:i}", "a", "18446744073709551615", "b", 7, "c",
                          "12x", "d", "-1", "e", -3);
    uint64_t x = 0;
    CHECK(load_json_u64(o, "a", &x) && x == UINT64_MAX);
    CHECK(load_json_u64(o, "b", &x) && x == 7);
    CHECK(!load_json_u64(o, "c", &x));
    CHECK(!load_json_u64(o, "d", &x));
    CHECK(!load_json_u64(o, "e", &x));
    CHECK(!load_json_u64(o, "missing", &x));
    json_decref(o);
}

static void check_urls(void) {
    load_keystore_t ks;
    memset(&ks, 0, sizeof(ks));
    CHECK(load_parse_urls("127.0.0.1:1,http://127.0.0.1:2/", &ks) == PBFT_OK);
    CHECK(ks.url_count == 2);
    CHECK(strcmp(ks.urls[0], "http://127.0.0.1:1") == 0);
    CHECK(strcmp(ks.urls[1], "http://127.0.0.1:2") == 0);
    CHECK(load_parse_urls("", &ks) != PBFT_OK);
}

/* Every planned tx decodes, verifies for the chain, and carries the nonce
 * and sender the plan promises; ids index back to their tx. */
static void check_plan_txs(const load_keystore_t *ks, const load_plan_t *plan) {
    for (size_t i = 0; i < plan->tx_count; i++) {
        pbft_tx_t tx;
        bool ok =
            codec_tx_decode(plan->bytes + i * PBFT_TX_SIZE_MIN, PBFT_TX_SIZE_MIN, &tx) == PBFT_OK;
        CHECK(ok);
        if (!ok) continue;
        const load_account_t *a = &ks->accounts[load_plan_account(plan, i)];
        CHECK(codec_tx_verify(&tx, ks->chain_id) == PBFT_OK);
        CHECK(tx.nonce == a->nonce + load_plan_nonce_offset(plan, i));
        CHECK(memcmp(tx.sender_pubkey, a->pubkey, PBFT_PUBKEY_SIZE) == 0);
        uint8_t id[PBFT_HASH_SIZE];
        codec_tx_id(&tx, id);
        CHECK(memcmp(id, plan->txs[i].id, PBFT_HASH_SIZE) == 0);
        CHECK(load_plan_find(plan, id) == i);
    }
    uint8_t other[PBFT_HASH_SIZE] = {1, 2, 3};
    CHECK(load_plan_find(plan, other) == SIZE_MAX);
    uint8_t wrong_chain[PBFT_CHAIN_ID_SIZE];
    memcpy(wrong_chain, ks->chain_id, sizeof(wrong_chain));
    wrong_chain[0] ^= 1;
    pbft_tx_t tx;
    if (codec_tx_decode(plan->bytes, PBFT_TX_SIZE_MIN, &tx) == PBFT_OK)
        CHECK(codec_tx_verify(&tx, wrong_chain) != PBFT_OK);
}

static void check_batch_body(const load_plan_t *plan) {
    size_t idx[3] = {2, 0, 5};
    char *buf = NULL;
    size_t cap = 0;
    size_t size = load_batch_body(plan, idx, 3, &buf, &cap);
    json_t *root = json_loadb(buf, size, 0, NULL);
    const json_t *txs = json_object_get(root, "txs");
    CHECK(json_array_size(txs) == 3);
    for (size_t j = 0; j < 3 && j < json_array_size(txs); j++) {
        const char *s = json_string_value(json_array_get(txs, j));
        char hex[LOAD_TX_HEX_SIZE + 1];
        crypto_hex_encode(plan->bytes + idx[j] * PBFT_TX_SIZE_MIN, PBFT_TX_SIZE_MIN, hex);
        CHECK(s && strlen(s) == LOAD_TX_HEX_SIZE && memcmp(s, hex, LOAD_TX_HEX_SIZE) == 0);
    }
    json_decref(root);
    /* the binary form: the same txs' bytes back to back, in batch order */
    size = load_batch_body_binary(plan, idx, 3, &buf, &cap);
    CHECK(size == 3 * PBFT_TX_SIZE_MIN);
    for (size_t j = 0; j < 3; j++) {
        CHECK(memcmp(buf + j * PBFT_TX_SIZE_MIN, plan->bytes + idx[j] * PBFT_TX_SIZE_MIN,
                     PBFT_TX_SIZE_MIN) == 0);
    }
    free(buf);
}

static void check_plan(void) {
    load_keystore_t ks;
    memset(&ks, 0, sizeof(ks));
    ks.accounts = pbft_xcalloc(3, sizeof(*ks.accounts));
    for (size_t i = 0; i < 3; i++) {
        ks.accounts[i].key = crypto_key_generate();
        CHECK(ks.accounts[i].key != NULL);
        if (!ks.accounts[i].key) {
            load_keystore_free(&ks);
            return;
        }
        ks.account_count = i + 1;
        crypto_key_public(ks.accounts[i].key, ks.accounts[i].pubkey);
        crypto_address(ks.accounts[i].pubkey, ks.accounts[i].address);
        ks.accounts[i].nonce = 5 * i;
    }
    crypto_sha256("self-check chain", 16, ks.chain_id);
    load_plan_t plan;
    char err[256];
    CHECK(load_plan_build(&ks, 3, 1, 0, 2, &plan, err, sizeof(err)) != PBFT_OK);
    CHECK(load_plan_build(&ks, 3, 0, 10, 2, &plan, err, sizeof(err)) != PBFT_OK);
    /* groups of 2: txs 0,1 = account 0 nonces +0,+1; txs 2,3 = account 1;
     * txs 6,7 = account 0 nonces +2,+3 */
    if (load_plan_build(&ks, 3, 2, 14, 2, &plan, err, sizeof(err)) == PBFT_OK) {
        check_plan_txs(&ks, &plan);
        CHECK(load_plan_account(&plan, 1) == 0 && load_plan_nonce_offset(&plan, 1) == 1);
        CHECK(load_plan_account(&plan, 2) == 1 && load_plan_nonce_offset(&plan, 2) == 0);
        CHECK(load_plan_account(&plan, 7) == 0 && load_plan_nonce_offset(&plan, 7) == 3);
        CHECK(load_plan_account(&plan, 12) == 0 && load_plan_nonce_offset(&plan, 12) == 4);
        CHECK(load_plan_stride(&plan) == 6);
        load_plan_free(&plan);
    } else {
        CHECK(!"load_plan_build group 2");
    }
    if (load_plan_build(&ks, 3, 1, 10, 2, &plan, err, sizeof(err)) == PBFT_OK) {
        check_plan_txs(&ks, &plan);
        check_batch_body(&plan);
        load_plan_free(&plan);
    } else {
        CHECK(!"load_plan_build");
    }
    load_keystore_free(&ks);
}

/* A live thread named like a verify worker is counted as verify; the
 * classes add up to the process total (exited threads included). The
 * thread burns a fixed amount of its own CPU time, so the check does not
 * depend on how busy the machine is. */
typedef struct burner {
    _Atomic bool burned;
    _Atomic bool stop;
} burner_t;

static void *burn_named(void *arg) {
    burner_t *b = arg;
    pthread_setname_np(pthread_self(), "pbftd-verify9");
    volatile uint64_t x = 0;
    while (load_thread_cpu_ns() < 150000000ull)
        x++;
    atomic_store(&b->burned, true);
    while (!atomic_load(&b->stop))
        load_sleep_ns(1000000ull);
    return NULL;
}

static void check_cpu_classes(void) {
    burner_t b = {false, false};
    double c0[LOAD_CPU_CLASS_COUNT] = {0}, c1[LOAD_CPU_CLASS_COUNT] = {0}, total = 0;
    CHECK(load_proc_cpu_classes(getpid(), c0));
    pthread_t t;
    CHECK(pthread_create(&t, NULL, burn_named, &b) == 0);
    for (int ms = 0; ms < 120000 && !atomic_load(&b.burned); ms++)
        load_sleep_ns(1000000ull);
    CHECK(atomic_load(&b.burned));
    CHECK(load_proc_cpu_classes(getpid(), c1) && load_proc_cpu_s(getpid(), &total));
    CHECK(c1[LOAD_CPU_VERIFY] - c0[LOAD_CPU_VERIFY] >= 0.12); /* 150 ms, in 10 ms ticks */
    double sum = 0;
    for (size_t k = 0; k < LOAD_CPU_CLASS_COUNT; k++)
        sum += c1[k];
    CHECK(sum > total - 0.05 && sum < total + 0.05);
    atomic_store(&b.stop, true);
    pthread_join(t, NULL);
    CHECK(!load_proc_cpu_classes(-1, c1));
}

int load_self_check(void) {
    check_percentiles();
    check_linger();
    check_open_due();
    check_timeline_slice();
    check_json_numbers();
    check_urls();
    check_plan();
    double rate = 0, per_cpu = 0;
    uint64_t n = 0;
    CHECK(load_verify_rate(1, 0.05, &rate, &per_cpu, &n) == PBFT_OK && n > 0 && rate > 0 &&
          per_cpu > 0);
    /* /proc/self/stat agrees with getrusage (both count this process) */
    double cpu = -1, busy = -1;
    struct rusage ru;
    CHECK(load_proc_cpu_s(getpid(), &cpu) && getrusage(RUSAGE_SELF, &ru) == 0);
    double ru_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                  (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    CHECK(cpu > ru_s - 0.05 && cpu < ru_s + 0.05);
    CHECK(!load_proc_cpu_s(-1, &cpu));
    check_cpu_classes();
    CHECK(load_system_busy_s(&busy) && busy >= cpu);
    printf("self-check: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
