/*
 * tests/unit/store_crash_test.c — crash consistency of store_commit_block.
 *
 * A child process (this binary re-executed with --child, so RocksDB never
 * runs in a forked copy of a threaded parent) commits blocks in a loop, each
 * with deterministic, recognisable content (the memo carries the height),
 * and reports every height whose commit returned to it through a pipe. The
 * parent SIGKILLs it after a random 1–30 ms (seeded; some kills land during
 * open/recovery), reopens the store and checks:
 *   - store_open succeeds (tip hash / state hash consistent);
 *   - the tip never goes back and is at least the last reported height
 *     (a commit that returned is durable) and at most one more;
 *   - every new block verifies (links, tx root, certificate, results, state
 *     hash), has the expected content, every tx is in the tx index at its
 *     (height, index, result) and in the sender's history, and a replay of
 *     the blocks in a model reproduces the stored results, state hashes and
 *     every account's balance and nonce;
 *   - nothing after the tip is visible: no block, cert, results or state
 *     hash at tip+1, and none of the txs the child would commit next is
 *     indexed.
 * Then a new child continues from the tip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "store_fixture.h"

#define USERS 8
#define KILLS 60
#define FRESH_ADDRS_MAX 4096

static char self_exe[4096];

/* ------------------------------------------------------------------------ */
/* Deterministic block content                                                */

static void fresh_address(uint64_t h, uint8_t out[PBFT_ADDRESS_SIZE]) {
    uint8_t buf[13] = "fresh";
    for (int i = 0; i < 8; i++)
        buf[5 + i] = (uint8_t)(h >> (8 * i));
    uint8_t hash[32];
    crypto_sha256(buf, sizeof buf, hash);
    memcpy(out, hash, PBFT_ADDRESS_SIZE);
}

/* The txs of block h given the store's state at h-1. Senders within a block
 * are distinct, so each nonce is the stored one. */
static uint32_t block_txs(const fixture_t *f, store_t *s, uint64_t h, pbft_tx_t *txs, bool sign) {
    uint32_t n = 1 + (uint32_t)(h % 4);
    for (uint32_t i = 0; i < n; i++) {
        size_t u = (size_t)((h + i) % USERS);
        pbft_account_t a;
        bool exists = false;
        if (store_get_account(s, f->user_addr[u], &a, &exists) != PBFT_OK) abort();
        uint8_t to[PBFT_ADDRESS_SIZE];
        if (h % 7 == 0 && i == 0)
            fresh_address(h, to);
        else
            memcpy(to, f->user_addr[(u + 1 + i) % USERS], PBFT_ADDRESS_SIZE);
        uint64_t nonce = a.nonce + (h % 11 == 0 && i == 0 ? 5 : 0); /* a bad nonce */
        uint64_t amount = (h * 7 + i) % 50 + 1;
        txs[i] = fixture_tx_unsigned(f, u, to, amount, nonce);
        txs[i].memo_size = 8;
        for (int k = 0; k < 8; k++)
            txs[i].memo[k] = (uint8_t)(h >> (8 * (7 - k)));
        if (sign && codec_tx_sign(&txs[i], f->user_keys[u], f->genesis.chain_id) != PBFT_OK)
            abort();
    }
    return n;
}

/* ------------------------------------------------------------------------ */
/* Child                                                                      */

static void path_of(const char *dir, const char *kind, int i, char *out, size_t size) {
    snprintf(out, size, "%s/%s%d.pem", dir, kind, i);
}

static bool child_load_fixture(const char *dir, fixture_t *f) {
    memset(f, 0, sizeof *f);
    char path[256], err[256];
    snprintf(path, sizeof path, "%s/genesis.json", dir);
    if (ledger_genesis_load(path, &f->genesis, err, sizeof err) != PBFT_OK) return false;
    for (int i = 0; i < FIXTURE_VALIDATORS; i++) {
        path_of(dir, "validator", i, path, sizeof path);
        if (crypto_key_load(path, &f->validator_keys[i], err, sizeof err) != PBFT_OK) return false;
    }
    f->user_count = USERS;
    for (int i = 0; i < USERS; i++) {
        path_of(dir, "user", i, path, sizeof path);
        if (crypto_key_load(path, &f->user_keys[i], err, sizeof err) != PBFT_OK) return false;
        uint8_t pk[PBFT_PUBKEY_SIZE];
        crypto_key_public(f->user_keys[i], pk);
        crypto_address(pk, f->user_addr[i]);
    }
    snprintf(f->data_dir, sizeof f->data_dir, "%s/data", dir);
    return true;
}

static int child_main(const char *dir, int fd) {
    fixture_t f;
    if (!child_load_fixture(dir, &f)) return 2;
    store_t *s = NULL;
    char err[256];
    if (store_open(f.data_dir, &f.genesis, STORE_READ_WRITE, &s, err, sizeof err) != PBFT_OK) {
        fprintf(stderr, "child: store_open: %s\n", err);
        return 3;
    }
    uint64_t ready = 0;
    if (write(fd, &ready, 8) != 8) return 4;
    for (;;) {
        store_tip_t tip;
        store_get_tip(s, &tip);
        uint64_t h = tip.height + 1;
        pbft_tx_t txs[4];
        uint32_t n = block_txs(&f, s, h, txs, true);
        if (fixture_commit(&f, s, txs, n, NULL) != PBFT_OK) return 5;
        if (write(fd, &h, 8) != 8) return 6;
    }
}

/* ------------------------------------------------------------------------ */
/* Parent                                                                     */

typedef struct checker {
    fixture_t f;
    ledger_memstate_t *model;
    uint8_t model_state_hash[32];
    uint64_t verified_height;
    uint64_t tx_total;
    uint8_t (*fresh)[PBFT_ADDRESS_SIZE];
    size_t fresh_count;
} checker_t;

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void sleep_us(uint64_t us) {
    struct timespec ts = {.tv_sec = (time_t)(us / 1000000), .tv_nsec = (long)(us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Starts a child; returns its pid and the read end of its pipe. */
static pid_t spawn_child(const char *dir, int *read_fd) {
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        char fd_arg[16];
        snprintf(fd_arg, sizeof fd_arg, "%d", p[1]);
        execl(self_exe, self_exe, "--child", dir, fd_arg, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    *read_fd = p[0];
    return pid;
}

/* Reads one u64 with a generous deadline (the child's open); false at EOF. */
static bool read_u64(int fd, uint64_t *out, int timeout_ms) {
    size_t got = 0;
    uint8_t buf[8];
    while (got < 8) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, timeout_ms);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        ssize_t n = read(fd, buf + got, 8 - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        got += (size_t)n;
    }
    memcpy(out, buf, 8);
    return true;
}

static void check_block(checker_t *c, store_t *s, uint64_t h) {
    char err[256] = "";
    if (store_verify_block(s, h, err, sizeof err) != PBFT_OK) fail_msg("verify: %s", err);
    pbft_block_t b;
    assert_int_equal(store_get_block(s, h, &b), PBFT_OK);
    uint32_t n = b.header.tx_count;
    assert_int_equal(n, 1 + h % 4);
    uint8_t *results = NULL;
    uint32_t count = 0;
    assert_int_equal(store_get_block_results(s, h, &results, &count), PBFT_OK);
    /* replay in the model */
    ledger_state_reader_t reader = ledger_memstate_reader(c->model);
    ledger_block_result_t r;
    ledger_execute_block(&b, &reader, c->model_state_hash, &r);
    assert_memory_equal(r.tx_results, results, n);
    uint8_t stored_state[32];
    assert_int_equal(store_get_state_hash(s, h, stored_state), PBFT_OK);
    assert_memory_equal(r.state_hash, stored_state, 32);
    memcpy(c->model_state_hash, r.state_hash, 32);
    ledger_memstate_apply(c->model, &r);
    ledger_block_result_free(&r);
    for (uint32_t i = 0; i < n; i++) {
        const pbft_tx_t *tx = &b.txs[i];
        /* recognisable content: the memo is the height */
        uint64_t memo_h = 0;
        assert_int_equal(tx->memo_size, 8);
        for (int k = 0; k < 8; k++)
            memo_h = (memo_h << 8) | tx->memo[k];
        assert_true(memo_h == h);
        assert_int_equal(codec_tx_verify(tx, c->f.genesis.chain_id), PBFT_OK);
        uint8_t id[32], hid[32], sender[20];
        codec_tx_id(tx, id);
        store_tx_location_t loc;
        assert_int_equal(store_get_tx_location(s, id, &loc), PBFT_OK);
        assert_true(loc.height == h && loc.index == i && loc.result == results[i]);
        crypto_address(tx->sender_pubkey, sender);
        uint64_t hh = 0;
        assert_int_equal(store_account_history(s, sender, h + 1, &hid, &hh, 1), 1);
        assert_true(hh == h);
        assert_memory_equal(hid, id, 32);
        if (h % 7 == 0 && i == 0 && results[i] == PBFT_TX_OK) {
            assert_true(c->fresh_count < FRESH_ADDRS_MAX);
            memcpy(c->fresh[c->fresh_count++], tx->recipient, 20);
        }
    }
    c->tx_total += n;
    free(results);
    codec_block_free(&b);
}

static void check_accounts(checker_t *c, store_t *s) {
    for (size_t i = 0; i < USERS + c->fresh_count; i++) {
        const uint8_t *addr = i < USERS ? c->f.user_addr[i] : c->fresh[i - USERS];
        pbft_account_t want, got;
        bool exists = false;
        bool want_exists = ledger_memstate_get(c->model, addr, &want);
        assert_int_equal(store_get_account(s, addr, &got, &exists), PBFT_OK);
        assert_int_equal(exists, want_exists);
        assert_true(got.balance == want.balance && got.nonce == want.nonce);
    }
    assert_true(ledger_memstate_total_supply(c->model) == USERS * FIXTURE_BALANCE);
}

static void check_nothing_after_tip(checker_t *c, store_t *s, uint64_t tip) {
    pbft_block_t b;
    pbft_commit_cert_t cert;
    uint8_t hash[32], *results = NULL;
    uint32_t count = 0;
    assert_int_equal(store_get_block(s, tip + 1, &b), PBFT_ERR_NOT_FOUND);
    assert_int_equal(store_get_commit_cert(s, tip + 1, &cert), PBFT_ERR_NOT_FOUND);
    assert_int_equal(store_get_state_hash(s, tip + 1, hash), PBFT_ERR_NOT_FOUND);
    assert_int_equal(store_get_block_results(s, tip + 1, &results, &count), PBFT_ERR_NOT_FOUND);
    pbft_tx_t next[4];
    uint32_t n = block_txs(&c->f, s, tip + 1, next, false);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t id[32];
        codec_tx_id(&next[i], id);
        store_tx_location_t loc;
        assert_int_equal(store_get_tx_location(s, id, &loc), PBFT_ERR_NOT_FOUND);
    }
}

static void save_fixture_files(const fixture_t *f) {
    char path[256];
    snprintf(path, sizeof path, "%s/genesis.json", f->dir);
    assert_int_equal(ledger_genesis_write(&f->genesis, path), PBFT_OK);
    for (int i = 0; i < FIXTURE_VALIDATORS; i++) {
        path_of(f->dir, "validator", i, path, sizeof path);
        assert_int_equal(crypto_key_save(f->validator_keys[i], path), PBFT_OK);
    }
    for (int i = 0; i < USERS; i++) {
        path_of(f->dir, "user", i, path, sizeof path);
        assert_int_equal(crypto_key_save(f->user_keys[i], path), PBFT_OK);
    }
}

static void test_sigkill_during_commits_never_leaves_a_partial_block(void **state) {
    (void)state;
    uint64_t seed = (uint64_t)time(NULL) ^ (uint64_t)getpid();
    const char *env = getenv("PBFT_TEST_SEED");
    if (env) seed = strtoull(env, NULL, 10);
    printf("store_crash seed: %" PRIu64 " (PBFT_TEST_SEED=%" PRIu64 " to replay)\n", seed, seed);
    uint64_t rng = seed;
    checker_t *c = pbft_xcalloc(1, sizeof *c);
    assert_true(fixture_init(&c->f, USERS, "crash-test"));
    save_fixture_files(&c->f);
    c->model = ledger_memstate_new(&c->f.genesis);
    memcpy(c->model_state_hash, c->f.genesis.state_hash, 32);
    c->fresh = pbft_xcalloc(FRESH_ADDRS_MAX, PBFT_ADDRESS_SIZE);
    size_t unreported_commits = 0, kills_in_open = 0;
    for (int kill_no = 0; kill_no < KILLS; kill_no++) {
        int fd = -1;
        pid_t pid = spawn_child(c->f.dir, &fd);
        uint64_t reported = c->verified_height, v = 0;
        bool early = rng_next(&rng) % 8 == 0; /* kill during open/recovery */
        if (early) {
            sleep_us(rng_next(&rng) % 5000);
            kills_in_open++;
        } else {
            if (!read_u64(fd, &v, 60000)) fail_msg("kill %d: child never got ready", kill_no);
            sleep_us(1000 + rng_next(&rng) % 29000);
        }
        assert_int_equal(kill(pid, SIGKILL), 0);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status)) fail_msg("kill %d: child exited with %d", kill_no, status);
        while (read_u64(fd, &v, 0))
            if (v > reported) reported = v;
        close(fd);

        store_t *s = NULL;
        char err[256] = "";
        pbft_status_t st =
            store_open(c->f.data_dir, &c->f.genesis, STORE_READ_WRITE, &s, err, sizeof err);
        if (st != PBFT_OK) fail_msg("kill %d: reopen: %s: %s", kill_no, pbft_status_name(st), err);
        store_tip_t tip;
        store_get_tip(s, &tip);
        if (tip.height < reported || tip.height > reported + 1)
            fail_msg("kill %d: tip %" PRIu64 ", child reported %" PRIu64, kill_no, tip.height,
                     reported);
        unreported_commits += tip.height == reported + 1;
        for (uint64_t h = c->verified_height + 1; h <= tip.height; h++)
            check_block(c, s, h);
        c->verified_height = tip.height;
        assert_memory_equal(tip.state_hash, c->model_state_hash, 32);
        assert_true(tip.tx_count_total == c->tx_total);
        check_accounts(c, s);
        check_nothing_after_tip(c, s, tip.height);
        store_close(s);
    }
    printf("store_crash: %d kills (%zu during open), %" PRIu64 " blocks, %" PRIu64
           " txs, %zu commits durable but unreported at the kill\n",
           KILLS, kills_in_open, c->verified_height, c->tx_total, unreported_commits);
    assert_true(c->verified_height > 0);
    ledger_memstate_free(c->model);
    free(c->fresh);
    fixture_free(&c->f);
    free(c);
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "--child") == 0) return child_main(argv[2], atoi(argv[3]));
    ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
    if (n <= 0) return 1;
    self_exe[n] = '\0';
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_during_commits_never_leaves_a_partial_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
