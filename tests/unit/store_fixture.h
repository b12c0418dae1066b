/*
 * tests/unit/store_fixture.h — shared set-up for the store tests: a genesis
 * with 4 real validator keys and funded user keys, signed transactions,
 * blocks built on the store's tip, commit certificates signed by real
 * validator keys, temp directories. Header-only (static inline) so it is not
 * linked into every unit test.
 */
#ifndef PBFT_TESTS_STORE_FIXTURE_H
#define PBFT_TESTS_STORE_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pbft/cert.h"
#include "pbft/codec.h"
#include "pbft/crypto.h"
#include "pbft/ledger.h"
#include "pbft/store.h"

#define FIXTURE_VALIDATORS 4
#define FIXTURE_USERS_MAX 1024
#define FIXTURE_BALANCE 1000000000ull

typedef struct fixture {
    crypto_key_t *validator_keys[FIXTURE_VALIDATORS];
    crypto_key_t *user_keys[FIXTURE_USERS_MAX];
    uint8_t user_addr[FIXTURE_USERS_MAX][PBFT_ADDRESS_SIZE];
    size_t user_count;
    pbft_genesis_t genesis;
    char dir[64];      /* mkdtemp dir, removed by fixture_free */
    char data_dir[96]; /* dir/data */
} fixture_t;

static inline int fixture_account_cmp(const void *a, const void *b) {
    return memcmp(((const pbft_account_t *)a)->address, ((const pbft_account_t *)b)->address,
                  PBFT_ADDRESS_SIZE);
}

/* Fills f; returns false on a key-generation failure. name varies the chain. */
static inline bool fixture_init(fixture_t *f, size_t users, const char *name) {
    memset(f, 0, sizeof *f);
    if (users > FIXTURE_USERS_MAX) return false;
    f->user_count = users;
    pbft_genesis_t *g = &f->genesis;
    snprintf(g->chain_name, sizeof g->chain_name, "%s", name);
    g->genesis_time_ms = 1763780000000ull;
    g->validators.count = FIXTURE_VALIDATORS;
    for (int i = 0; i < FIXTURE_VALIDATORS; i++) {
        f->validator_keys[i] = crypto_key_generate();
        if (!f->validator_keys[i]) return false;
        crypto_key_public(f->validator_keys[i], g->validators.pubkeys[i]);
    }
    g->params = (pbft_consensus_params_t){.checkpoint_interval = 4,
                                          .batch_max = 500,
                                          .batch_delay_ms = 2,
                                          .window = 4,
                                          .view_change_timeout_ms = 2000,
                                          .request_timeout_ms = 4000};
    g->account_count = (uint32_t)users;
    g->accounts = pbft_xcalloc(users, sizeof *g->accounts);
    for (size_t i = 0; i < users; i++) {
        f->user_keys[i] = crypto_key_generate();
        if (!f->user_keys[i]) return false;
        uint8_t pk[PBFT_PUBKEY_SIZE];
        crypto_key_public(f->user_keys[i], pk);
        crypto_address(pk, f->user_addr[i]);
        memcpy(g->accounts[i].address, f->user_addr[i], PBFT_ADDRESS_SIZE);
        g->accounts[i].balance = FIXTURE_BALANCE;
    }
    qsort(g->accounts, users, sizeof *g->accounts, fixture_account_cmp);
    ledger_genesis_derive(g);
    snprintf(f->dir, sizeof f->dir, "/tmp/pbft-store-test.XXXXXX");
    if (!mkdtemp(f->dir)) return false;
    snprintf(f->data_dir, sizeof f->data_dir, "%s/data", f->dir);
    return true;
}

static inline int fixture_rm_entry(const char *path, const struct stat *sb, int type,
                                   struct FTW *ftw) {
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(path);
}

static inline void fixture_rm_rf(const char *path) {
    nftw(path, fixture_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void fixture_free(fixture_t *f) {
    for (int i = 0; i < FIXTURE_VALIDATORS; i++)
        crypto_key_free(f->validator_keys[i]);
    for (size_t i = 0; i < f->user_count; i++)
        crypto_key_free(f->user_keys[i]);
    ledger_genesis_free(&f->genesis);
    if (f->dir[0]) fixture_rm_rf(f->dir);
}

/* An unsigned tx (id is defined without the signature). */
static inline pbft_tx_t fixture_tx_unsigned(const fixture_t *f, size_t from,
                                            const uint8_t to[PBFT_ADDRESS_SIZE], uint64_t amount,
                                            uint64_t nonce) {
    pbft_tx_t tx;
    memset(&tx, 0, sizeof tx);
    crypto_key_public(f->user_keys[from], tx.sender_pubkey);
    memcpy(tx.recipient, to, PBFT_ADDRESS_SIZE);
    tx.amount = amount;
    tx.nonce = nonce;
    return tx;
}

static inline pbft_tx_t fixture_tx(const fixture_t *f, size_t from,
                                   const uint8_t to[PBFT_ADDRESS_SIZE], uint64_t amount,
                                   uint64_t nonce) {
    pbft_tx_t tx = fixture_tx_unsigned(f, from, to, amount, nonce);
    if (codec_tx_sign(&tx, f->user_keys[from], f->genesis.chain_id) != PBFT_OK) abort();
    return tx;
}

/* A block on top of the store's tip holding copies of txs. */
static inline void fixture_block(store_t *s, const pbft_tx_t *txs, uint32_t n, uint64_t view,
                                 pbft_block_t *out) {
    store_tip_t tip;
    store_get_tip(s, &tip);
    memset(out, 0, sizeof *out);
    out->header.version = PBFT_BLOCK_VERSION;
    out->header.height = tip.height + 1;
    out->header.view = view;
    out->header.timestamp_ms = 1763780000000ull + tip.height + 1;
    memcpy(out->header.prev_hash, tip.block_hash, PBFT_HASH_SIZE);
    out->header.tx_count = n;
    out->header.proposer = (uint32_t)(view % FIXTURE_VALIDATORS);
    if (n) {
        out->txs = pbft_xmalloc(n * sizeof *txs);
        memcpy(out->txs, txs, n * sizeof *txs);
    }
    codec_block_tx_root(out, NULL, out->header.tx_root);
}

/* A commit certificate for header signed by the first `signers` validators. */
static inline void fixture_cert(const fixture_t *f, const pbft_block_header_t *h, uint16_t signers,
                                pbft_commit_cert_t *out) {
    memset(out, 0, sizeof *out);
    out->view = h->view;
    out->seq = h->height;
    codec_header_hash(h, out->block_hash);
    out->count = signers;
    for (uint16_t r = 0; r < signers; r++) {
        uint8_t digest[PBFT_HASH_SIZE];
        cert_vote_digest(CRYPTO_TAG_COMMIT, f->genesis.chain_id, out->view, out->seq,
                         out->block_hash, r, digest);
        out->sigs[r].replica = r;
        if (crypto_sign_digest(f->validator_keys[r], digest, out->sigs[r].signature) != PBFT_OK)
            abort();
    }
}

/* Builds, executes (against the store) and commits a block of txs. */
static inline pbft_status_t fixture_commit(const fixture_t *f, store_t *s, const pbft_tx_t *txs,
                                           uint32_t n, ledger_block_result_t *result_out) {
    pbft_block_t block;
    fixture_block(s, txs, n, 0, &block);
    pbft_commit_cert_t cert;
    fixture_cert(f, &block.header, 3, &cert);
    store_tip_t tip;
    store_get_tip(s, &tip);
    ledger_state_reader_t reader = store_state_reader(s, NULL);
    ledger_block_result_t r;
    ledger_execute_block(&block, &reader, tip.state_hash, &r);
    pbft_status_t st = store_commit_block(s, &block, &cert, &r);
    codec_block_free(&block);
    if (result_out)
        *result_out = r;
    else
        ledger_block_result_free(&r);
    return st;
}

#endif /* PBFT_TESTS_STORE_FIXTURE_H */
