/*
 * tests/sim/byzantine.c — Byzantine replicas.
 *
 * A Byzantine replica runs the honest state machine; what it sends passes
 * through here, where the simulator withholds, rewrites or forges frames and
 * signs them with the replica's own (fake) key, using the consensus codec of
 * pbft/messages.h. The honest replicas must reject or survive all of it: the
 * checkers watch agreement and validity, and liveness once faults stop
 * (at most f Byzantine replicas remain).
 */
#include <string.h>

#include "pbft/cert.h"
#include "pbft/codec.h"
#include "pbft/crypto.h"
#include "pbft/messages.h"
#include "sim_cluster.h"

#define BYZ_FORGED_MAX 64 /* remembered (view, seq) -> forged hash */
#define BYZ_PHANTOM_SEQS 3
#define BYZ_REPLAY_PM 300

static const char *const byz_names[] = {
    "none",           "equivocate",   "censor",          "silent",           "invalid-tx",
    "bad-prev-hash",  "double-vote",  "phantom-prepare", "wrong-key",        "impersonate",
    "replay",         "dup-tx",       "forge-new-view",  "view-change-spam", "lying-state",
    "bad-checkpoint", "lying-status", "selective",
};

_Static_assert(PBFT_ARRAY_COUNT(byz_names) == SIM_BYZ_KIND_COUNT, "a name per behaviour");

const char *sim_byz_name(sim_byz_kind_t kind) {
    return (unsigned)kind < SIM_BYZ_KIND_COUNT ? byz_names[kind] : "?";
}

/* Equivocation memory: which forged block hash went with (view, seq). One
 * table for the whole run is enough: at most f Byzantine replicas. */
typedef struct forged_entry {
    bool used;
    uint16_t replica;
    uint64_t view, seq;
    uint8_t original[PBFT_HASH_SIZE];
    uint8_t forged[PBFT_HASH_SIZE];
} forged_entry_t;
static forged_entry_t forged_table[BYZ_FORGED_MAX];
static size_t forged_next;

void sim_byz_reset(void) {
    memset(forged_table, 0, sizeof(forged_table));
    forged_next = 0;
}

static forged_entry_t *forged_find(uint16_t r, uint64_t view, uint64_t seq) {
    for (size_t i = 0; i < BYZ_FORGED_MAX; i++) {
        forged_entry_t *e = &forged_table[i];
        if (e->used && e->replica == r && e->view == view && e->seq == seq) return e;
    }
    return NULL;
}

static void forged_put(uint16_t r, uint64_t view, uint64_t seq, const uint8_t *original,
                       const uint8_t *forged) {
    forged_entry_t *e = forged_find(r, view, seq);
    if (!e) {
        e = &forged_table[forged_next];
        forged_next = (forged_next + 1) % BYZ_FORGED_MAX;
    }
    e->used = true;
    e->replica = r;
    e->view = view;
    e->seq = seq;
    memcpy(e->original, original, PBFT_HASH_SIZE);
    memcpy(e->forged, forged, PBFT_HASH_SIZE);
}

static bool is_vote_type(uint8_t type) {
    return type == MSG_PRE_PREPARE || type == MSG_PREPARE || type == MSG_COMMIT;
}

/* Encodes m, signs it as replica `signer` would and sends it from `from`. */
static void send_signed(sim_cluster_t *c, uint16_t from, uint16_t to, const msg_t *m,
                        uint32_t signer) {
    size_t cap = msg_size(m);
    uint8_t *frame = pbft_xmalloc(cap ? cap : 1);
    size_t signed_size = 0;
    size_t size = msg_encode(m, frame, cap, &signed_size);
    PBFT_ASSERT(size == cap);
    if (msg_type_is_signed(m->type)) {
        uint8_t digest[PBFT_HASH_SIZE], sig[PBFT_SIGNATURE_SIZE];
        if (is_vote_type(m->type)) {
            uint64_t view = m->type == MSG_PRE_PREPARE ? m->u.pre_prepare.view : m->u.vote.view;
            uint64_t seq = m->type == MSG_PRE_PREPARE ? m->u.pre_prepare.seq : m->u.vote.seq;
            uint8_t hash[PBFT_HASH_SIZE];
            if (m->type == MSG_PRE_PREPARE)
                codec_header_hash(&m->u.pre_prepare.block.header, hash);
            else
                memcpy(hash, m->u.vote.block_hash, PBFT_HASH_SIZE);
            cert_vote_digest(msg_type_tag(m->type), c->genesis.chain_id, view, seq, hash, m->sender,
                             digest);
        } else if (m->type == MSG_CHECKPOINT) {
            const msg_checkpoint_t *cp = &m->u.checkpoint;
            cert_checkpoint_digest(c->genesis.chain_id, cp->height, cp->block_hash, cp->state_hash,
                                   m->sender, digest);
        } else {
            msg_signing_digest(m->type, c->genesis.chain_id, frame, signed_size, digest);
        }
        sim_fake_sign(signer, digest, sig);
        msg_patch_signature(frame, signed_size, sig);
    }
    c->net.stats.forged++;
    sim_net_send(c, from, to, frame, size);
    free(frame);
}

/* Recomputes tx_root after the txs changed. */
static void fix_root(pbft_block_t *b) {
    codec_block_tx_root(b, NULL, b->header.tx_root);
}

/* A different but well-formed block for the same height: drop the last tx,
 * or if empty, move the timestamp. Only client-signed txs remain. */
static void mutate_block_benign(pbft_block_t *b) {
    if (b->header.tx_count > 0) {
        b->header.tx_count--;
        fix_root(b);
    } else {
        b->header.timestamp_ms += 1;
    }
}

/* Adds (or corrupts) a tx so the block carries one bad client signature. */
static void mutate_block_invalid_tx(sim_cluster_t *c, pbft_block_t *b) {
    if (b->header.tx_count == 0) {
        b->txs = pbft_xcalloc(1, sizeof(pbft_tx_t));
        b->header.tx_count = 1;
        memcpy(b->txs[0].sender_pubkey, sim_pubkey_table[SIM_CLIENT_KEY_BASE], PBFT_PUBKEY_SIZE);
        memcpy(b->txs[0].recipient, c->clients[0].address, PBFT_ADDRESS_SIZE);
        b->txs[0].amount = 1;
        b->txs[0].nonce = c->clients[0].next_nonce;
    }
    /* Whatever it held, the first tx's signature no longer verifies. */
    b->txs[0].signature[0] ^= 0x5a;
    b->txs[0].signature[40] ^= 0xa5;
    fix_root(b);
}

/* Puts a tx this replica has already seen committed into the block (in
 * place of its last tx, so the block stays within batch_max). Returns false
 * when there is nothing committed to repeat yet. */
static bool mutate_block_dup_tx(sim_cluster_t *c, const sim_replica_t *rep, pbft_block_t *b) {
    const sim_disk_t *d = &rep->disk;
    for (int tries = 0; tries < 8 && d->chain_count > 0; tries++) {
        const sim_chain_entry_t *e = &d->chain[sim_rng_below(&c->rng, d->chain_count)];
        if (e->block.header.tx_count == 0) continue;
        const pbft_tx_t *old = &e->block.txs[sim_rng_below(&c->rng, e->block.header.tx_count)];
        if (b->header.tx_count == 0) {
            b->txs = pbft_xcalloc(1, sizeof(pbft_tx_t));
            b->header.tx_count = 1;
        }
        b->txs[b->header.tx_count - 1] = *old;
        fix_root(b);
        return true;
    }
    return false;
}

static void on_pre_prepare(sim_cluster_t *c, uint16_t from, uint16_t to, msg_t *m,
                           const uint8_t *bytes, size_t size) {
    sim_replica_t *rep = &c->replicas[from];
    msg_pre_prepare_t *pp = &m->u.pre_prepare;
    uint8_t original[PBFT_HASH_SIZE];
    codec_header_hash(&pp->block.header, original);
    switch (rep->byz) {
        case SIM_BYZ_EQUIVOCATE: {
            /* Replicas in the upper half (by index) get another block. */
            if (to < c->replica_count / 2 + (from < c->replica_count / 2 ? 1 : 0)) break;
            mutate_block_benign(&pp->block);
            uint8_t forged[PBFT_HASH_SIZE];
            codec_header_hash(&pp->block.header, forged);
            forged_put(from, pp->view, pp->seq, original, forged);
            send_signed(c, from, to, m, from);
            return;
        }
        case SIM_BYZ_INVALID_TX:
            mutate_block_invalid_tx(c, &pp->block);
            send_signed(c, from, to, m, from);
            return;
        case SIM_BYZ_BAD_PREV_HASH:
            pp->block.header.prev_hash[0] ^= 0xff;
            send_signed(c, from, to, m, from);
            return;
        case SIM_BYZ_SELECTIVE: {
            /* Skip f backups, a different set for each seq: they can only
             * learn the block from the others (state transfer, view change). */
            uint16_t n = c->replica_count;
            for (uint16_t k = 0; k < c->f; k++)
                if (to == (uint16_t)((pp->seq + k) % n) && to != from) return;
            break;
        }
        case SIM_BYZ_DUP_TX:
            if (!mutate_block_dup_tx(c, rep, &pp->block)) break;
            send_signed(c, from, to, m, from);
            return;
        default:
            break;
    }
    sim_net_send(c, from, to, bytes, size);
}

static void on_vote(sim_cluster_t *c, uint16_t from, uint16_t to, msg_t *m, const uint8_t *bytes,
                    size_t size) {
    sim_replica_t *rep = &c->replicas[from];
    msg_vote_t *v = &m->u.vote;
    switch (rep->byz) {
        case SIM_BYZ_EQUIVOCATE: {
            /* Stay consistent with the block each half was shown. */
            const forged_entry_t *e = forged_find(from, v->view, v->seq);
            if (e && to >= c->replica_count / 2 + (from < c->replica_count / 2 ? 1 : 0) &&
                memcmp(v->block_hash, e->original, PBFT_HASH_SIZE) == 0) {
                memcpy(v->block_hash, e->forged, PBFT_HASH_SIZE);
                send_signed(c, from, to, m, from);
                return;
            }
            break;
        }
        case SIM_BYZ_FORGE_NEW_VIEW: {
            const forged_entry_t *e = forged_find(from, v->view, v->seq);
            if (e && memcmp(v->block_hash, e->original, PBFT_HASH_SIZE) == 0) {
                memcpy(v->block_hash, e->forged, PBFT_HASH_SIZE);
                send_signed(c, from, to, m, from);
                return;
            }
            break;
        }
        case SIM_BYZ_DOUBLE_VOTE:
            sim_net_send(c, from, to, bytes, size);
            sim_rng_bytes(&c->rng, v->block_hash, PBFT_HASH_SIZE);
            send_signed(c, from, to, m, from);
            return;
        case SIM_BYZ_PHANTOM_PREPARE: {
            sim_net_send(c, from, to, bytes, size);
            uint64_t seq = v->seq;
            for (uint64_t k = 1; k <= BYZ_PHANTOM_SEQS; k++) {
                v->seq = seq + k;
                sim_rng_bytes(&c->rng, v->block_hash, PBFT_HASH_SIZE);
                send_signed(c, from, to, m, from);
            }
            return;
        }
        default:
            break;
    }
    sim_net_send(c, from, to, bytes, size);
}

/* Claims to be another replica: the sender field says `target`, the
 * signature is this replica's own (it cannot sign for another). */
static void impersonate(sim_cluster_t *c, uint16_t from, uint16_t to, msg_t *m) {
    sim_replica_t *rep = &c->replicas[from];
    uint16_t target = rep->byz_target % c->replica_count;
    if (target == from) target = (uint16_t)((from + 1) % c->replica_count);
    m->sender = target;
    if (m->type == MSG_VIEW_CHANGE) m->u.view_change->sender = target;
    send_signed(c, from, to, m, from);
}

/* A new primary that rewrites the O-set of its NEW-VIEW: every re-proposed
 * block becomes a different well-formed block (links kept, fresh PRE-PREPARE
 * signatures), and its later votes follow the forged blocks. Backups must
 * recompute the O-set from the VIEW-CHANGEs and refuse the NEW-VIEW. */
static void forge_new_view(sim_cluster_t *c, uint16_t from, uint16_t to, msg_t *m,
                           const uint8_t *bytes, size_t size) {
    msg_new_view_t *nv = &m->u.new_view;
    if (nv->block_count == 0) {
        sim_net_send(c, from, to, bytes, size);
        return;
    }
    /* Forge from a seed-chosen block on (earlier ones keep their links, so
     * only the hash-vs-prepared-certificate check can catch the last). */
    uint8_t first = (uint8_t)sim_rng_below(&c->rng, nv->block_count);
    uint8_t prev[PBFT_HASH_SIZE];
    for (uint8_t i = first; i < nv->block_count; i++) {
        pbft_block_t *b = &nv->blocks[i];
        uint8_t original[PBFT_HASH_SIZE], forged[PBFT_HASH_SIZE], digest[PBFT_HASH_SIZE];
        codec_header_hash(&b->header, original);
        if (i > first) memcpy(b->header.prev_hash, prev, PBFT_HASH_SIZE);
        mutate_block_benign(b);
        codec_header_hash(&b->header, forged);
        forged_put(from, nv->view, b->header.height, original, forged);
        cert_vote_digest(CRYPTO_TAG_PRE_PREPARE, c->genesis.chain_id, nv->view, b->header.height,
                         forged, from, digest);
        sim_fake_sign(from, digest, nv->pre_prepare_sigs[i]);
        memcpy(prev, forged, PBFT_HASH_SIZE);
    }
    send_signed(c, from, to, m, from);
}

/* A VIEW-CHANGE for a random higher view, validly signed by `from` and
 * otherwise empty. One replica alone (f) must not move anyone's view. */
static void spam_view_change(sim_cluster_t *c, uint16_t from, uint16_t to) {
    msg_view_change_t *vc = pbft_xcalloc(1, sizeof(*vc));
    vc->new_view = sim_replica_view(c, from) + 1 + sim_rng_below(&c->rng, 4);
    vc->sender = from;
    msg_t m;
    memset(&m, 0, sizeof(m));
    m.type = MSG_VIEW_CHANGE;
    m.sender = from;
    m.has_signature = true;
    m.u.view_change = vc;
    send_signed(c, from, to, &m, from);
    free(vc);
}

/* A STATE-REPLY whose blocks were doctored: one block loses a tx (its hash
 * no longer matches the certificate) or one tx signature is flipped (the
 * hash still matches; only verifying the tx catches it). Unsigned frame. */
static void lie_in_state_reply(sim_cluster_t *c, uint16_t from, uint16_t to, msg_t *m,
                               const uint8_t *bytes, size_t size) {
    msg_state_reply_t *sr = &m->u.state_reply;
    if (sr->count == 0) {
        sim_net_send(c, from, to, bytes, size);
        return;
    }
    pbft_block_t *b = &sr->blocks[sim_rng_below(&c->rng, sr->count)];
    if (b->header.tx_count > 0 && sim_rng_chance(&c->rng, 500))
        b->txs[sim_rng_below(&c->rng, b->header.tx_count)].signature[7] ^= 0x20;
    else
        mutate_block_benign(b);
    send_signed(c, from, to, m, from);
}

/* CHECKPOINT votes for a state nobody has: f of them must never make a
 * checkpoint stable (the checkers compare stable certificates with the
 * committed blocks and states). */
static void bad_checkpoint(sim_cluster_t *c, uint16_t from, uint16_t to, msg_t *m) {
    sim_rng_bytes(&c->rng, m->u.checkpoint.state_hash, PBFT_HASH_SIZE);
    if (sim_rng_chance(&c->rng, 500))
        sim_rng_bytes(&c->rng, m->u.checkpoint.block_hash, PBFT_HASH_SIZE);
    send_signed(c, from, to, m, from);
}

/* STATUS that claims to be far ahead (or in a far view): honest replicas may
 * try to catch up from it but must not stall on a target nobody can serve. */
static void lying_status(sim_cluster_t *c, uint16_t from, uint16_t to, msg_t *m) {
    msg_status_t *st = &m->u.status;
    st->committed_height += sim_rng_between(&c->rng, 1, 5000);
    st->executed_height = st->committed_height;
    sim_rng_bytes(&c->rng, st->committed_hash, PBFT_HASH_SIZE);
    if (sim_rng_chance(&c->rng, 300)) st->view += sim_rng_between(&c->rng, 1, 100);
    send_signed(c, from, to, m, from);
}

void sim_byz_send(sim_cluster_t *c, uint16_t from, uint16_t to, const uint8_t *bytes, size_t size) {
    sim_replica_t *rep = &c->replicas[from];
    if (rep->byz == SIM_BYZ_SILENT) return;
    if (rep->byz == SIM_BYZ_VIEW_CHANGE_SPAM && sim_rng_chance(&c->rng, 100))
        spam_view_change(c, from, to);
    if (rep->byz == SIM_BYZ_REPLAY) {
        sim_net_send(c, from, to, bytes, size);
        if (sim_rng_chance(&c->rng, BYZ_REPLAY_PM)) sim_net_replay_one(c);
        return;
    }
    msg_t m;
    memset(&m, 0, sizeof(m));
    if (msg_decode(bytes, size, &m) != PBFT_OK) {
        msg_free(&m);
        sim_net_send(c, from, to, bytes, size);
        return;
    }
    if (rep->byz == SIM_BYZ_IMPERSONATE && msg_type_is_signed(m.type) &&
        sim_rng_chance(&c->rng, 500))
        impersonate(c, from, to, &m);
    else if (rep->byz == SIM_BYZ_BAD_CHECKPOINT && m.type == MSG_CHECKPOINT)
        bad_checkpoint(c, from, to, &m);
    else if (rep->byz == SIM_BYZ_LYING_STATUS && m.type == MSG_STATUS)
        lying_status(c, from, to, &m);
    else if (rep->byz == SIM_BYZ_LYING_STATE && m.type == MSG_STATE_REPLY)
        lie_in_state_reply(c, from, to, &m, bytes, size);
    else if (rep->byz == SIM_BYZ_FORGE_NEW_VIEW && m.type == MSG_NEW_VIEW)
        forge_new_view(c, from, to, &m, bytes, size);
    else if (m.type == MSG_PRE_PREPARE)
        on_pre_prepare(c, from, to, &m, bytes, size);
    else if (m.type == MSG_PREPARE || m.type == MSG_COMMIT)
        on_vote(c, from, to, &m, bytes, size);
    else
        sim_net_send(c, from, to, bytes, size);
    msg_free(&m);
}

/* ------------------------------------------------------------------------ */
/* Censorship: the censoring replica never accepts the target client's txs,  */
/* neither from the client nor forwarded by other replicas.                  */

static bool censored(const sim_cluster_t *c, uint16_t r, const pbft_tx_t *tx) {
    const sim_replica_t *rep = &c->replicas[r];
    if (rep->byz != SIM_BYZ_CENSOR) return false;
    uint16_t client = rep->byz_target % c->client_count;
    return memcmp(tx->sender_pubkey, sim_pubkey_table[SIM_CLIENT_KEY_BASE + client],
                  PBFT_PUBKEY_SIZE) == 0;
}

bool sim_byz_accept_client_tx(sim_cluster_t *c, uint16_t r, const pbft_tx_t *tx) {
    return !censored(c, r, tx);
}

/* Returns true when the frame may be handed to replica r as is; false when
 * it was consumed (dropped, or re-delivered without the censored txs). */
bool sim_byz_filter_inbound(sim_cluster_t *c, uint16_t r, uint16_t from, const uint8_t *bytes,
                            size_t size) {
    if (c->replicas[r].byz != SIM_BYZ_CENSOR || sim_msg_kind(bytes, size) != MSG_REQUEST)
        return true;
    msg_t m;
    memset(&m, 0, sizeof(m));
    if (msg_decode(bytes, size, &m) != PBFT_OK) {
        msg_free(&m);
        return true;
    }
    msg_request_t *req = &m.u.request;
    uint16_t kept = 0;
    for (uint16_t i = 0; i < req->tx_count; i++)
        if (!censored(c, r, &req->txs[i])) req->txs[kept++] = req->txs[i];
    if (kept != req->tx_count && kept > 0) {
        req->tx_count = kept;
        size_t cap = msg_size(&m);
        uint8_t *frame = pbft_xmalloc(cap);
        size_t n = msg_encode(&m, frame, cap, NULL);
        sim_glue_deliver_raw(c, r, from, frame, n);
        free(frame);
    }
    bool pass = kept == req->tx_count;
    msg_free(&m);
    return pass;
}
