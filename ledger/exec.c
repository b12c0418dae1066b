/*
 * ledger/exec.c — deterministic execution of a committed block.
 *
 * The state is read through a ledger_state_reader_t and never written: the
 * block's effects accumulate in a small per-block overlay (open addressing,
 * sized from the tx count), so later txs of the block see earlier txs'
 * effects, and the result carries only the delta (changed accounts, sorted).
 *
 * Rules, applied in this order to each tx (the first that fails is recorded
 * and the tx changes nothing — not even the recipient's existence):
 *   1. tx.nonce != sender nonce                 -> PBFT_TX_BAD_NONCE
 *   2. sender nonce == UINT64_MAX (can't bump)  -> PBFT_TX_NONCE_EXHAUSTED
 *   3. amount > sender balance                  -> PBFT_TX_INSUFFICIENT_FUNDS
 *   4. recipient != sender and recipient balance + amount > UINT64_MAX
 *                                               -> PBFT_TX_OVERFLOW
 * Otherwise the amount moves and the sender nonce goes up by one. A
 * self-transfer leaves the balance unchanged (it can never overflow) and
 * bumps the nonce. Any successful tx, including amount 0, creates an unseen
 * recipient account (balance = amount, nonce 0), so it appears in the
 * changed set and in the state hash. The changed set holds exactly the
 * accounts that were created or whose balance or nonce differs after the
 * block (an existing recipient of 0 is not in it).
 */
#include <string.h>

#include "pbft/crypto.h"
#include "pbft/ledger.h"

typedef struct overlay_entry {
    bool used;
    bool dirty;              /* written by a successful tx of this block */
    bool existed;            /* present in the state before the block */
    uint64_t balance_before; /* the state's value before the block */
    uint64_t nonce_before;
    pbft_account_t account; /* current value within the block */
} overlay_entry_t;

typedef struct overlay {
    overlay_entry_t *entries;
    size_t capacity; /* power of two, > 2x the most accounts a block touches */
    size_t used;
    const ledger_state_reader_t *state;
} overlay_t;

static uint64_t address_hash(const uint8_t address[PBFT_ADDRESS_SIZE]) {
    /* FNV-1a over all 20 bytes; the table is per block and bounded by 2x
     * PBFT_BLOCK_TX_COUNT_MAX entries, so even crafted collisions cost at most
     * a bounded linear scan. */
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < PBFT_ADDRESS_SIZE; i++)
        h = (h ^ address[i]) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

static void overlay_init(overlay_t *o, uint32_t tx_count, const ledger_state_reader_t *state) {
    size_t need = 4 * (size_t)tx_count + 4;
    size_t cap = 8;
    while (cap < need)
        cap *= 2;
    o->entries = pbft_xcalloc(cap, sizeof *o->entries);
    o->capacity = cap;
    o->used = 0;
    o->state = state;
}

/* The overlay entry of address, loaded from the state on first use. */
static overlay_entry_t *overlay_get(overlay_t *o, const uint8_t address[PBFT_ADDRESS_SIZE]) {
    size_t mask = o->capacity - 1;
    size_t i = (size_t)address_hash(address) & mask;
    while (o->entries[i].used) {
        if (memcmp(o->entries[i].account.address, address, PBFT_ADDRESS_SIZE) == 0)
            return &o->entries[i];
        i = (i + 1) & mask;
    }
    PBFT_ASSERT(o->used * 2 < o->capacity);
    overlay_entry_t *e = &o->entries[i];
    e->used = true;
    o->used++;
    pbft_account_t acct;
    memset(&acct, 0, sizeof acct);
    e->existed = o->state->get(o->state->ctx, address, &acct);
    if (!e->existed) {
        acct.balance = 0;
        acct.nonce = 0;
    }
    memcpy(acct.address, address, PBFT_ADDRESS_SIZE);
    e->account = acct;
    e->balance_before = acct.balance;
    e->nonce_before = acct.nonce;
    return e;
}

static pbft_tx_result_t apply_tx(overlay_t *o, const pbft_tx_t *tx) {
    uint8_t sender_addr[PBFT_ADDRESS_SIZE];
    crypto_address(tx->sender_pubkey, sender_addr);
    overlay_entry_t *sender = overlay_get(o, sender_addr);
    if (tx->nonce != sender->account.nonce) return PBFT_TX_BAD_NONCE;
    if (sender->account.nonce == UINT64_MAX) return PBFT_TX_NONCE_EXHAUSTED;
    if (tx->amount > sender->account.balance) return PBFT_TX_INSUFFICIENT_FUNDS;
    if (memcmp(tx->recipient, sender_addr, PBFT_ADDRESS_SIZE) == 0) {
        sender->account.nonce++;
        sender->dirty = true;
        return PBFT_TX_OK;
    }
    /* overlay_get may not move entries (no rehash), so `sender` stays valid. */
    overlay_entry_t *recipient = overlay_get(o, tx->recipient);
    if (recipient->account.balance > UINT64_MAX - tx->amount) return PBFT_TX_OVERFLOW;
    sender->account.balance -= tx->amount;
    sender->account.nonce++;
    recipient->account.balance += tx->amount;
    sender->dirty = true;
    recipient->dirty = true;
    return PBFT_TX_OK;
}

static int account_cmp(const void *a, const void *b) {
    return memcmp(((const pbft_account_t *)a)->address, ((const pbft_account_t *)b)->address,
                  PBFT_ADDRESS_SIZE);
}

/* Changed = created by the block, or a different balance or nonce after it.
 * An existing account that only received 0 was written but did not change. */
static bool entry_changed(const overlay_entry_t *e) {
    return e->dirty && (!e->existed || e->account.balance != e->balance_before ||
                        e->account.nonce != e->nonce_before);
}

/* Collects the changed accounts, sorted, and checks the block conserved supply. */
static void overlay_collect(const overlay_t *o, ledger_block_result_t *out) {
    size_t dirty = 0;
    for (size_t i = 0; i < o->capacity; i++)
        dirty += entry_changed(&o->entries[i]);
    out->changed = dirty ? pbft_xmalloc(dirty * sizeof *out->changed) : NULL;
    out->changed_count = (uint32_t)dirty;
    unsigned __int128 before = 0, after = 0;
    size_t k = 0;
    for (size_t i = 0; i < o->capacity; i++) {
        if (!entry_changed(&o->entries[i])) continue;
        before += o->entries[i].balance_before;
        after += o->entries[i].account.balance;
        out->changed[k++] = o->entries[i].account;
    }
    PBFT_ASSERT(k == dirty);
    PBFT_ASSERT(before == after); /* a transfer neither mints nor burns */
    if (dirty > 1) qsort(out->changed, dirty, sizeof *out->changed, account_cmp);
    for (size_t i = 1; i < dirty; i++)
        PBFT_ASSERT(account_cmp(&out->changed[i - 1], &out->changed[i]) < 0);
}

static void put_le(uint8_t *b, uint64_t v, int width) {
    for (int i = 0; i < width; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static void state_hash_step(const uint8_t prev[PBFT_HASH_SIZE], const ledger_block_result_t *r,
                            uint8_t out[PBFT_HASH_SIZE]) {
    crypto_sha256_t ctx;
    crypto_sha256_init(&ctx);
    crypto_sha256_update(&ctx, prev, PBFT_HASH_SIZE);
    uint8_t b[PBFT_ADDRESS_SIZE + 16];
    put_le(b, r->changed_count, 4);
    crypto_sha256_update(&ctx, b, 4);
    for (uint32_t i = 0; i < r->changed_count; i++) {
        memcpy(b, r->changed[i].address, PBFT_ADDRESS_SIZE);
        put_le(b + PBFT_ADDRESS_SIZE, r->changed[i].balance, 8);
        put_le(b + PBFT_ADDRESS_SIZE + 8, r->changed[i].nonce, 8);
        crypto_sha256_update(&ctx, b, sizeof b);
    }
    crypto_sha256_final(&ctx, out);
}

void ledger_execute_block(const pbft_block_t *block, const ledger_state_reader_t *state,
                          const uint8_t prev_state_hash[PBFT_HASH_SIZE],
                          ledger_block_result_t *out) {
    PBFT_ASSERT(block != NULL && state != NULL && state->get != NULL && out != NULL);
    uint32_t n = block->header.tx_count;
    PBFT_ASSERT(n <= PBFT_BLOCK_TX_COUNT_MAX);
    PBFT_ASSERT(n == 0 || block->txs != NULL);
    memset(out, 0, sizeof *out);
    out->height = block->header.height;
    out->tx_count = n;
    out->tx_results = n ? pbft_xmalloc(n) : NULL;
    overlay_t o;
    overlay_init(&o, n, state);
    for (uint32_t i = 0; i < n; i++) {
        PBFT_ASSERT(block->txs[i].memo_size <= PBFT_TX_MEMO_SIZE_MAX);
        out->tx_results[i] = (uint8_t)apply_tx(&o, &block->txs[i]);
    }
    overlay_collect(&o, out);
    free(o.entries);
    state_hash_step(prev_state_hash, out, out->state_hash);
}

void ledger_block_result_free(ledger_block_result_t *r) {
    if (!r) return;
    free(r->tx_results);
    free(r->changed);
    memset(r, 0, sizeof *r);
}
