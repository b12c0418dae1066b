/*
 * tools/common/audit_check.c — the audit: structure, hash links, Merkle roots, tx
 * signatures, commit and checkpoint certificates, and a full replay from the
 * genesis balances with explicit supply, balance and nonce invariants.
 *
 * Every check compares what the source stored against what the verifier
 * derives itself from genesis; nothing the source says is taken on trust.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "pbft/cert.h"
#include "pbft/codec.h"
#include "pbft/crypto.h"

#define PROGRESS_INTERVAL_MS 200

/* ------------------------------------------------------------------------ */
/* Next-nonce map (open addressing), independent of the ledger's execution:  */
/* an ok tx must use exactly the next unused nonce of its sender.            */

typedef struct nonce_entry {
    uint8_t address[PBFT_ADDRESS_SIZE];
    bool used;
    uint64_t next;
} nonce_entry_t;

typedef struct nonce_map {
    nonce_entry_t *slots;
    size_t capacity; /* power of two */
    size_t count;
} nonce_map_t;

static size_t nonce_slot(const nonce_map_t *m, const uint8_t address[PBFT_ADDRESS_SIZE]) {
    uint64_t h = 0;
    memcpy(&h, address, sizeof(h)); /* addresses are hash outputs: uniform */
    size_t i = (size_t)h & (m->capacity - 1);
    while (m->slots[i].used && memcmp(m->slots[i].address, address, PBFT_ADDRESS_SIZE) != 0)
        i = (i + 1) & (m->capacity - 1);
    return i;
}

static void nonce_map_grow(nonce_map_t *m) {
    nonce_map_t bigger = {pbft_xcalloc(m->capacity * 2, sizeof(nonce_entry_t)), m->capacity * 2, 0};
    for (size_t i = 0; i < m->capacity; i++) {
        if (!m->slots[i].used) continue;
        bigger.slots[nonce_slot(&bigger, m->slots[i].address)] = m->slots[i];
        bigger.count++;
    }
    free(m->slots);
    *m = bigger;
}

static nonce_entry_t *nonce_map_get(nonce_map_t *m, const uint8_t address[PBFT_ADDRESS_SIZE]) {
    if ((m->count + 1) * 4 > m->capacity * 3) nonce_map_grow(m);
    nonce_entry_t *e = &m->slots[nonce_slot(m, address)];
    if (!e->used) {
        e->used = true;
        memcpy(e->address, address, PBFT_ADDRESS_SIZE);
        e->next = 0; /* genesis accounts start at nonce 0 */
        m->count++;
    }
    return e;
}

/* ------------------------------------------------------------------------ */

typedef struct chain_state {
    const pbft_genesis_t *genesis;
    const audit_options_t *opts;
    audit_source_t *src;
    audit_report_t *report;
    audit_sigpool_t *pool;
    ledger_memstate_t *mem;
    nonce_map_t nonces;
    uint8_t prev_hash[PBFT_HASH_SIZE];
    uint8_t state_hash[PBFT_HASH_SIZE];
    bool replaying; /* false once a block could not be executed */
    uint64_t genesis_supply;
    uint64_t last_progress_ms;
} chain_state_t;

void audit_report_fail(audit_report_t *r, uint64_t height, const char *fmt, ...) {
    if (r->failure_count == AUDIT_FAILURE_COUNT_MAX) return;
    r->failures = pbft_xrealloc(r->failures, (r->failure_count + 1) * sizeof(audit_failure_t));
    audit_failure_t *f = &r->failures[r->failure_count++];
    f->height = height;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->reason, sizeof(f->reason), fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
}

void audit_report_free(audit_report_t *r) {
    free(r->failures);
    memset(r, 0, sizeof(*r));
}

static bool should_stop(const chain_state_t *cs) {
    return cs->report->failure_count > 0 && !cs->opts->keep_going;
}

static void hex32(const uint8_t *bytes, char out[2 * PBFT_HASH_SIZE + 1]) {
    crypto_hex_encode(bytes, PBFT_HASH_SIZE, out);
}

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void progress(chain_state_t *cs, uint64_t height, uint64_t tip, bool final) {
    if (!cs->opts->progress) return;
    uint64_t now = now_ms();
    if (!final && now - cs->last_progress_ms < PROGRESS_INTERVAL_MS) return;
    cs->last_progress_ms = now;
    if (final)
        fprintf(stderr, "\r\033[K");
    else
        fprintf(stderr, "\r\033[Kverifying height %" PRIu64 "/%" PRIu64 " (%" PRIu64 " txs)",
                height, tip, cs->report->txs);
    fflush(stderr);
}

/* Structure, links, root, signatures. ids and status are this block's tx
 * ids and codec_tx_verify answers, computed on the pool. Returns false when
 * the block cannot be executed (a bad signature violates
 * ledger_execute_block's precondition). */
static bool check_structure(chain_state_t *cs, uint64_t h, const pbft_block_t *b,
                            const uint8_t (*ids)[PBFT_HASH_SIZE], const pbft_status_t *status) {
    audit_report_t *r = cs->report;
    if (b->header.height != h)
        audit_report_fail(r, h, "header says height %" PRIu64, b->header.height);
    if (memcmp(b->header.prev_hash, cs->prev_hash, PBFT_HASH_SIZE) != 0)
        audit_report_fail(r, h, "prev_hash does not link to block %" PRIu64, h - 1);
    if (b->header.proposer >= cs->genesis->validators.count)
        audit_report_fail(r, h, "proposer %" PRIu32 " is not a validator", b->header.proposer);
    size_t n = b->header.tx_count;
    uint8_t root[PBFT_HASH_SIZE];
    crypto_merkle_root(ids, n, root); /* as codec_block_check_root, from the pool's ids */
    if (memcmp(root, b->header.tx_root, PBFT_HASH_SIZE) != 0)
        audit_report_fail(r, h, "Merkle root of the txs does not match header.tx_root");
    bool all_valid = true;
    for (size_t i = 0; i < n; i++) {
        if (status[i] == PBFT_OK) continue;
        all_valid = false;
        audit_report_fail(r, h, "tx %zu: bad signature (%s)", i, pbft_status_string(status[i]));
        if (!cs->opts->keep_going) break;
    }
    r->txs += n;
    return all_valid;
}

static void check_commit_cert(chain_state_t *cs, uint64_t h, const audit_cert_result_t *c) {
    audit_report_t *r = cs->report;
    if (c->read != PBFT_OK) {
        audit_report_fail(r, h, "no readable commit certificate (%s)", pbft_status_string(c->read));
    } else if (c->decode != PBFT_OK) {
        audit_report_fail(r, h, "commit certificate does not decode (%s)",
                          pbft_status_string(c->decode));
    } else if (c->check == PBFT_OK) {
        r->commit_certs++;
    } else if (c->sigs == PBFT_OK) {
        audit_report_fail(r, h, "commit certificate: %s (certifies seq %" PRIu64 ")",
                          pbft_status_string(c->check), c->cert.seq);
    } else if (c->bad < c->cert.count) {
        audit_report_fail(r, h, "commit certificate: %s (entry %zu, replica %u)",
                          pbft_status_string(c->check), c->bad,
                          (unsigned)c->cert.sigs[c->bad].replica);
    } else {
        audit_report_fail(r, h, "commit certificate: %s (%u signatures, quorum %u)",
                          pbft_status_string(c->check), (unsigned)c->cert.count,
                          (unsigned)pbft_validator_quorum(&cs->genesis->validators));
    }
}

/* Explicit invariants over one block's result, before it is applied. */
static void check_invariants(chain_state_t *cs, uint64_t h, const pbft_block_t *b,
                             const uint8_t (*senders)[PBFT_ADDRESS_SIZE],
                             const ledger_block_result_t *res) {
    audit_report_t *r = cs->report;
    for (uint32_t i = 0; i < res->tx_count; i++) {
        if (res->tx_results[i] != PBFT_TX_OK) continue;
        const uint8_t *sender = senders[i];
        nonce_entry_t *e = nonce_map_get(&cs->nonces, sender);
        if (b->txs[i].nonce != e->next) {
            char addr[41];
            crypto_hex_encode(sender, PBFT_ADDRESS_SIZE, addr);
            audit_report_fail(r, h,
                              "tx %" PRIu32 ": nonce %" PRIu64 " of %s %s (expected %" PRIu64 ")",
                              i, b->txs[i].nonce, addr,
                              b->txs[i].nonce < e->next ? "used twice" : "skips ahead", e->next);
        }
        e->next = b->txs[i].nonce + 1;
    }
    unsigned __int128 before = 0, after = 0;
    for (uint32_t i = 0; i < res->changed_count; i++) {
        pbft_account_t old;
        if (ledger_memstate_get(cs->mem, res->changed[i].address, &old)) before += old.balance;
        after += res->changed[i].balance;
        if (res->changed[i].balance > cs->genesis_supply) {
            audit_report_fail(r, h,
                              "an account balance exceeds the total supply (negative "
                              "balance wrapped around)");
        }
    }
    if (before != after)
        audit_report_fail(r, h,
                          "supply not conserved: changed accounts held %" PRIu64
                          " before and %" PRIu64 " after",
                          (uint64_t)before, (uint64_t)after);
}

static void compare_results(chain_state_t *cs, uint64_t h, const audit_item_t *item,
                            const ledger_block_result_t *res) {
    audit_report_t *r = cs->report;
    if (!item->results || !item->results_valid || item->result_count != res->tx_count) {
        audit_report_fail(
            r, h, "stored tx results missing or malformed (%" PRIu32 " for %" PRIu32 " txs)",
            item->result_count, res->tx_count);
        return;
    }
    for (uint32_t i = 0; i < res->tx_count; i++) {
        if (item->results[i] == res->tx_results[i]) continue;
        audit_report_fail(r, h, "tx %" PRIu32 ": stored result %s, replay gives %s", i,
                          pbft_tx_result_string((pbft_tx_result_t)item->results[i]),
                          pbft_tx_result_string((pbft_tx_result_t)res->tx_results[i]));
        if (!cs->opts->keep_going) return;
    }
}

static void replay(chain_state_t *cs, uint64_t h, const pbft_block_t *b, const audit_item_t *item,
                   const uint8_t (*senders)[PBFT_ADDRESS_SIZE]) {
    ledger_block_result_t res;
    ledger_state_reader_t reader = ledger_memstate_reader(cs->mem);
    ledger_execute_block(b, &reader, cs->state_hash, &res);
    compare_results(cs, h, item, &res);
    check_invariants(cs, h, b, senders, &res);
    char stored[65], replayed[65];
    if (!item->have_state_hash) {
        audit_report_fail(cs->report, h, "no stored state hash");
    } else if (memcmp(item->state_hash, res.state_hash, PBFT_HASH_SIZE) != 0) {
        hex32(item->state_hash, stored);
        hex32(res.state_hash, replayed);
        audit_report_fail(cs->report, h, "stored state hash %.16s… differs from replay %.16s…",
                          stored, replayed);
    }
    ledger_memstate_apply(cs->mem, &res);
    memcpy(cs->state_hash, res.state_hash, PBFT_HASH_SIZE);
    ledger_block_result_free(&res);
}

/* A stored checkpoint certificate (read and signature-checked ahead). */
static void check_checkpoint(chain_state_t *cs, uint64_t h, const audit_checkpoint_result_t *c) {
    if (c->read == PBFT_ERR_NOT_FOUND) return; /* not (yet) stable on this replica */
    audit_report_t *r = cs->report;
    const pbft_checkpoint_cert_t *cert = &c->cert;
    if (c->read != PBFT_OK || c->decode != PBFT_OK) {
        audit_report_fail(r, h, "checkpoint certificate unreadable or does not decode");
    } else if (c->sigs != PBFT_OK) {
        if (c->bad < cert->count)
            audit_report_fail(r, h, "checkpoint certificate: %s (entry %zu, replica %u)",
                              pbft_status_string(c->sigs), c->bad,
                              (unsigned)cert->sigs[c->bad].replica);
        else
            audit_report_fail(r, h, "checkpoint certificate: %s (%u signatures)",
                              pbft_status_string(c->sigs), (unsigned)cert->count);
    } else if (cert->height != h || memcmp(cert->block_hash, cs->prev_hash, PBFT_HASH_SIZE) != 0) {
        audit_report_fail(r, h, "checkpoint certificate certifies another block");
    } else if (cs->replaying && memcmp(cert->state_hash, cs->state_hash, PBFT_HASH_SIZE) != 0) {
        audit_report_fail(r, h, "certified checkpoint state hash differs from replay");
    } else {
        r->checkpoint_certs++;
    }
}

/* Block k of a batch, height h >= 1, in height order. Returns false when
 * the audit cannot go on. */
static bool check_height(chain_state_t *cs, const audit_batch_t *bt, size_t k) {
    uint64_t h = bt->from + k;
    if (bt->decoded[k] != PBFT_OK) {
        audit_report_fail(cs->report, h, "block does not decode (%s)",
                          pbft_status_string(bt->decoded[k]));
        cs->report->stopped = true;
        return false;
    }
    const pbft_block_t *b = &bt->blocks[k];
    size_t off = bt->tx_offset[k];
    bool executable = check_structure(cs, h, b, (const uint8_t(*)[PBFT_HASH_SIZE])bt->tx_ids + off,
                                      bt->sig_status + off);
    check_commit_cert(cs, h, &bt->certs[k]);
    if (cs->replaying && !executable) {
        audit_report_fail(cs->report, h,
                          "replay stops here (a block with an invalid signature "
                          "cannot be executed)");
        cs->replaying = false;
    }
    codec_header_hash(&b->header, cs->prev_hash);
    if (cs->replaying)
        replay(cs, h, b, &bt->items[k], (const uint8_t(*)[PBFT_ADDRESS_SIZE])bt->senders + off);
    if (bt->checkpoints[k].due) check_checkpoint(cs, h, &bt->checkpoints[k]);
    cs->report->blocks++;
    return true;
}

/* Height 0 is derived from genesis; a stored block 0 must be exactly it. */
static void check_genesis_block(chain_state_t *cs, const audit_item_t *item) {
    pbft_block_t b;
    if (codec_block_decode(item->block_raw, item->block_size, &b) != PBFT_OK) {
        audit_report_fail(cs->report, 0, "stored block 0 does not decode");
        return;
    }
    uint8_t hash[PBFT_HASH_SIZE];
    codec_header_hash(&b.header, hash);
    if (memcmp(hash, cs->genesis->block_hash, PBFT_HASH_SIZE) != 0)
        audit_report_fail(cs->report, 0, "stored block 0 is not the block derived from genesis");
    if (item->have_state_hash &&
        memcmp(item->state_hash, cs->genesis->state_hash, PBFT_HASH_SIZE) != 0)
        audit_report_fail(cs->report, 0, "stored state hash 0 is not genesis's");
    codec_block_free(&b);
}

static void check_tip(chain_state_t *cs, uint64_t tip_height) {
    store_tip_t tip;
    if (!audit_source_store_tip(cs->src, &tip) || tip.height != tip_height) return;
    if (memcmp(tip.block_hash, cs->prev_hash, PBFT_HASH_SIZE) != 0)
        audit_report_fail(cs->report, tip_height, "stored tip hash is not the last block's hash");
    if (cs->replaying && memcmp(tip.state_hash, cs->state_hash, PBFT_HASH_SIZE) != 0)
        audit_report_fail(cs->report, tip_height, "stored tip state hash differs from replay");
    if (tip.tx_count_total != cs->report->txs)
        audit_report_fail(cs->report, tip_height,
                          "stored tx total %" PRIu64 " differs from the %" PRIu64 " txs counted",
                          tip.tx_count_total, cs->report->txs);
}

static void check_height_zero(chain_state_t *cs, char *err, size_t err_size, pbft_status_t *st) {
    audit_item_t item;
    *st = audit_source_get(cs->src, 0, &item, err, err_size);
    if (*st == PBFT_ERR_NOT_FOUND) {
        *st = PBFT_OK; /* block 0 is implied by genesis */
        return;
    }
    if (*st != PBFT_OK) return;
    check_genesis_block(cs, &item);
    audit_item_free(&item);
}

/* Checks one batch in height order. Returns false when the audit stops. */
static bool check_batch(chain_state_t *cs, const audit_batch_t *b) {
    for (size_t k = 0; k < b->count; k++) {
        if (should_stop(cs)) return false;
        bool go_on = check_height(cs, b, k);
        cs->report->tip = b->from + k;
        if (!go_on) return false;
    }
    if (should_stop(cs)) return false;
    if (b->missing) {
        audit_report_fail(cs->report, b->from + b->count,
                          "block missing (heights must be contiguous)");
        cs->report->stopped = true;
        return false;
    }
    return true;
}

/* Heights 1..tip through the pipeline: the pool checks the signatures of
 * the batches ahead while this thread replays the current one. */
static pbft_status_t run_heights(chain_state_t *cs, uint64_t tip, char *err, size_t err_size) {
    pbft_status_t st;
    check_height_zero(cs, err, err_size, &st);
    if (st != PBFT_OK || should_stop(cs)) return st;
    audit_pipeline_t *pl = audit_pipeline_start(cs->src, cs->genesis, cs->pool, 1, tip,
                                                cs->opts->batch_txs, cs->opts->batch_blocks);
    audit_batch_t *b;
    while ((b = audit_pipeline_next(pl)) != NULL) {
        progress(cs, b->from, tip, false);
        bool go_on = check_batch(cs, b);
        if (go_on && b->read_status != PBFT_OK) {
            st = b->read_status;
            snprintf(err, err_size, "%s", b->err);
            go_on = false;
        }
        audit_pipeline_release(pl, b);
        if (!go_on) break;
    }
    audit_pipeline_stop(pl);
    return st;
}

pbft_status_t audit_chain(audit_source_t *src, const pbft_genesis_t *genesis,
                          const audit_options_t *opts, audit_report_t *report, char *err,
                          size_t err_size) {
    memset(report, 0, sizeof(*report));
    uint64_t tip = 0;
    pbft_status_t st = audit_source_tip(src, &tip, err, err_size);
    if (st != PBFT_OK) return st;
    chain_state_t cs = {.genesis = genesis, .opts = opts, .src = src, .report = report};
    cs.pool = audit_sigpool_new(opts->threads, "audit-verify");
    report->threads = audit_sigpool_threads(cs.pool);
    cs.mem = ledger_memstate_new(genesis);
    cs.nonces.capacity = 1024;
    cs.nonces.slots = pbft_xcalloc(cs.nonces.capacity, sizeof(nonce_entry_t));
    cs.replaying = true;
    cs.genesis_supply = ledger_memstate_total_supply(cs.mem);
    memcpy(cs.prev_hash, genesis->block_hash, PBFT_HASH_SIZE);
    memcpy(cs.state_hash, genesis->state_hash, PBFT_HASH_SIZE);
    st = run_heights(&cs, tip, err, err_size);
    progress(&cs, tip, tip, true);
    if (st == PBFT_OK && !report->stopped && report->tip == tip) {
        check_tip(&cs, tip);
        uint64_t supply = ledger_memstate_total_supply(cs.mem);
        if (cs.replaying && supply != cs.genesis_supply)
            audit_report_fail(report, tip, "total supply %" PRIu64 " differs from genesis %" PRIu64,
                              supply, cs.genesis_supply);
    }
    report->supply = ledger_memstate_total_supply(cs.mem);
    audit_sigpool_free(cs.pool);
    ledger_memstate_free(cs.mem);
    free(cs.nonces.slots);
    return st;
}
