/*
 * consensus/messages.c — canonical codec of the PBFT wire messages
 * (pbft/messages.h; byte layout in docs/FORMATS.md, "PBFT messages").
 *
 * Decoding happens before any protocol logic sees a frame: structure,
 * limits, sort orders and trailing bytes are checked here; signatures,
 * quorum sizes and membership are consensus' business.
 */
#include <string.h>

#include "pbft/codec.h"
#include "pbft/crypto.h"
#include "pbft/messages.h"

/* ------------------------------------------------------------------------ */
/* Type table.                                                                */

bool msg_type_is_signed(uint8_t type) {
    return type >= MSG_TYPE_FIRST && type <= MSG_TYPE_LAST && type != MSG_REQUEST &&
           type != MSG_STATE_REPLY;
}

const char *msg_type_tag(uint8_t type) {
    switch (type) {
        case MSG_PRE_PREPARE:
            return CRYPTO_TAG_PRE_PREPARE;
        case MSG_PREPARE:
            return CRYPTO_TAG_PREPARE;
        case MSG_COMMIT:
            return CRYPTO_TAG_COMMIT;
        case MSG_CHECKPOINT:
            return CRYPTO_TAG_CHECKPOINT;
        case MSG_VIEW_CHANGE:
            return CRYPTO_TAG_VIEW_CHANGE;
        case MSG_NEW_VIEW:
            return CRYPTO_TAG_NEW_VIEW;
        case MSG_STATUS:
            return CRYPTO_TAG_STATUS;
        case MSG_STATE_REQUEST:
            return CRYPTO_TAG_STATE_REQUEST;
        default:
            return NULL;
    }
}

const char *msg_type_name(uint8_t type) {
    static const char *const names[] = {"unknown", "request",       "pre-prepare", "prepare",
                                        "commit",  "checkpoint",    "view-change", "new-view",
                                        "status",  "state-request", "state-reply"};
    if (type < MSG_TYPE_FIRST || type > MSG_TYPE_LAST) return names[0];
    return names[type];
}

void msg_signing_digest(uint8_t type, const uint8_t chain_id[PBFT_CHAIN_ID_SIZE],
                        const uint8_t *frame, size_t signed_size, uint8_t out[PBFT_HASH_SIZE]) {
    const char *tag = msg_type_tag(type);
    PBFT_ASSERT(tag != NULL);
    crypto_domain_hash(tag, chain_id, frame, signed_size, out);
}

void msg_patch_signature(uint8_t *frame, size_t signed_size,
                         const uint8_t sig[PBFT_SIGNATURE_SIZE]) {
    memcpy(frame + signed_size, sig, PBFT_SIGNATURE_SIZE);
}

/* ------------------------------------------------------------------------ */
/* Prepared certificates.                                                     */

void msg_prepared_cert_write(codec_writer_t *w, const msg_prepared_cert_t *c) {
    PBFT_ASSERT(c->prepare_count <= PBFT_REPLICA_COUNT_MAX);
    codec_put_u64(w, c->view);
    codec_put_u64(w, c->seq);
    codec_put_bytes(w, c->block_hash, PBFT_HASH_SIZE);
    codec_put_bytes(w, c->pre_prepare_sig, PBFT_SIGNATURE_SIZE);
    codec_put_u8(w, c->prepare_count);
    for (uint8_t i = 0; i < c->prepare_count; i++) {
        codec_put_u16(w, c->prepares[i].replica);
        codec_put_bytes(w, c->prepares[i].signature, PBFT_SIGNATURE_SIZE);
    }
}

void msg_prepared_cert_read(codec_reader_t *r, msg_prepared_cert_t *c) {
    memset(c, 0, sizeof(*c));
    c->view = codec_get_u64(r);
    c->seq = codec_get_u64(r);
    codec_get_bytes(r, c->block_hash, PBFT_HASH_SIZE);
    codec_get_bytes(r, c->pre_prepare_sig, PBFT_SIGNATURE_SIZE);
    c->prepare_count = codec_get_u8(r);
    if (r->status != PBFT_OK) return;
    if (c->prepare_count > PBFT_REPLICA_COUNT_MAX - 1) { /* 0 when n = 1 */
        codec_fail(r, PBFT_ERR_LIMIT);
        return;
    }
    for (uint8_t i = 0; i < c->prepare_count && r->status == PBFT_OK; i++) {
        c->prepares[i].replica = codec_get_u16(r);
        codec_get_bytes(r, c->prepares[i].signature, PBFT_SIGNATURE_SIZE);
        if (c->prepares[i].replica >= PBFT_REPLICA_COUNT_MAX) codec_fail(r, PBFT_ERR_LIMIT);
        if (i > 0 && c->prepares[i].replica <= c->prepares[i - 1].replica)
            codec_fail(r, PBFT_ERR_NOT_CANONICAL);
    }
}

size_t msg_prepared_cert_size(const msg_prepared_cert_t *c) {
    return 8 + 8 + PBFT_HASH_SIZE + PBFT_SIGNATURE_SIZE + 1 +
           (size_t)c->prepare_count * (2 + PBFT_SIGNATURE_SIZE);
}

/* ------------------------------------------------------------------------ */
/* VIEW-CHANGE.                                                               */

static void view_change_body_write(codec_writer_t *w, const msg_view_change_t *vc) {
    PBFT_ASSERT(vc->cert_count <= MSG_PREPARED_CERT_COUNT_MAX);
    codec_put_u64(w, vc->new_view);
    uint8_t flags = (uint8_t)((vc->has_checkpoint ? MSG_VIEW_CHANGE_FLAG_CHECKPOINT : 0) |
                              (vc->has_committed ? MSG_VIEW_CHANGE_FLAG_COMMITTED : 0));
    codec_put_u8(w, flags);
    if (vc->has_checkpoint) codec_checkpoint_cert_write(w, &vc->checkpoint);
    if (vc->has_committed) codec_commit_cert_write(w, &vc->committed);
    codec_put_u8(w, vc->cert_count);
    for (uint8_t i = 0; i < vc->cert_count; i++)
        msg_prepared_cert_write(w, &vc->certs[i]);
}

static void view_change_body_read(codec_reader_t *r, msg_view_change_t *vc) {
    vc->new_view = codec_get_u64(r);
    uint8_t flags = codec_get_u8(r);
    if (flags & ~(MSG_VIEW_CHANGE_FLAG_CHECKPOINT | MSG_VIEW_CHANGE_FLAG_COMMITTED))
        codec_fail(r, PBFT_ERR_RESERVED);
    vc->has_checkpoint = (flags & MSG_VIEW_CHANGE_FLAG_CHECKPOINT) != 0;
    vc->has_committed = (flags & MSG_VIEW_CHANGE_FLAG_COMMITTED) != 0;
    if (vc->has_checkpoint) codec_checkpoint_cert_read(r, &vc->checkpoint);
    if (vc->has_committed) codec_commit_cert_read(r, &vc->committed);
    vc->cert_count = codec_get_u8(r);
    if (r->status != PBFT_OK) return;
    if (vc->cert_count > MSG_PREPARED_CERT_COUNT_MAX) {
        codec_fail(r, PBFT_ERR_LIMIT);
        return;
    }
    for (uint8_t i = 0; i < vc->cert_count && r->status == PBFT_OK; i++) {
        msg_prepared_cert_read(r, &vc->certs[i]);
        if (i > 0 && vc->certs[i].seq <= vc->certs[i - 1].seq)
            codec_fail(r, PBFT_ERR_NOT_CANONICAL);
    }
}

static void appendix_write(codec_writer_t *w, const msg_view_change_t *vc) {
    PBFT_ASSERT(vc->block_count <= MSG_PREPARED_CERT_COUNT_MAX);
    codec_put_u8(w, vc->block_count);
    for (uint8_t i = 0; i < vc->block_count; i++)
        codec_block_write(w, &vc->blocks[i]);
}

/* Blocks strictly increasing in height; at most one per cert slot. */
static void appendix_read(codec_reader_t *r, msg_view_change_t *vc) {
    uint8_t count = codec_get_u8(r);
    if (r->status != PBFT_OK) return;
    if (count > MSG_PREPARED_CERT_COUNT_MAX) {
        codec_fail(r, PBFT_ERR_LIMIT);
        return;
    }
    if (count == 0) return;
    vc->blocks = pbft_xcalloc(count, sizeof(pbft_block_t));
    for (uint8_t i = 0; i < count && r->status == PBFT_OK; i++) {
        codec_block_read(r, &vc->blocks[i]);
        if (r->status != PBFT_OK) break;
        vc->block_count = (uint8_t)(i + 1);
        if (i > 0 && vc->blocks[i].header.height <= vc->blocks[i - 1].header.height)
            codec_fail(r, PBFT_ERR_NOT_CANONICAL);
    }
}

void msg_view_change_clear(msg_view_change_t *vc) {
    if (vc == NULL) return;
    for (uint8_t i = 0; i < vc->block_count; i++)
        codec_block_free(&vc->blocks[i]);
    free(vc->blocks);
    vc->blocks = NULL;
    vc->block_count = 0;
}

static void header_write(codec_writer_t *w, uint8_t type, uint16_t sender) {
    codec_put_u8(w, MSG_VERSION);
    codec_put_u8(w, type);
    codec_put_u16(w, sender);
}

size_t msg_view_change_encode_signed(const msg_view_change_t *vc, uint8_t *out, size_t capacity,
                                     size_t *signed_size) {
    codec_writer_t w;
    codec_writer_init(&w, out, capacity);
    header_write(&w, MSG_VIEW_CHANGE, vc->sender);
    view_change_body_write(&w, vc);
    if (signed_size) *signed_size = w.size;
    codec_put_bytes(&w, vc->signature, PBFT_SIGNATURE_SIZE);
    return w.failed ? 0 : w.size;
}

size_t msg_view_change_signed_size(const msg_view_change_t *vc) {
    size_t size = MSG_HEADER_SIZE + 8 + 1 + 1 + PBFT_SIGNATURE_SIZE;
    if (vc->has_checkpoint) size += codec_checkpoint_cert_size(&vc->checkpoint);
    if (vc->has_committed) size += codec_commit_cert_size(&vc->committed);
    for (uint8_t i = 0; i < vc->cert_count; i++)
        size += msg_prepared_cert_size(&vc->certs[i]);
    return size;
}

/* A signed VIEW-CHANGE frame (embedded in a NEW-VIEW): header, body, sig. */
static void embedded_view_change_read(codec_reader_t *outer, msg_view_change_t *vc) {
    uint32_t size = codec_get_u32(outer);
    if (outer->status == PBFT_OK && size > MSG_VIEW_CHANGE_SIGNED_SIZE_MAX) {
        codec_fail(outer, PBFT_ERR_LIMIT);
        return;
    }
    const uint8_t *bytes = codec_get_view(outer, size);
    if (bytes == NULL) return;
    codec_reader_t r;
    codec_reader_init(&r, bytes, size);
    if (codec_get_u8(&r) != MSG_VERSION) codec_fail(&r, PBFT_ERR_VERSION);
    if (codec_get_u8(&r) != MSG_VIEW_CHANGE) codec_fail(&r, PBFT_ERR_MALFORMED);
    vc->sender = codec_get_u16(&r);
    view_change_body_read(&r, vc);
    codec_get_bytes(&r, vc->signature, PBFT_SIGNATURE_SIZE);
    pbft_status_t status = codec_reader_finish(&r);
    if (status != PBFT_OK) codec_fail(outer, status);
}

/* ------------------------------------------------------------------------ */
/* NEW-VIEW.                                                                  */

static void new_view_body_write(codec_writer_t *w, const msg_new_view_t *nv) {
    PBFT_ASSERT(nv->vc_count <= MSG_VIEW_CHANGE_COUNT_MAX);
    PBFT_ASSERT(nv->block_count <= MSG_NEW_VIEW_BLOCK_COUNT_MAX);
    codec_put_u64(w, nv->view);
    codec_put_u8(w, nv->vc_count);
    for (uint8_t i = 0; i < nv->vc_count; i++) {
        size_t size = msg_view_change_signed_size(&nv->vcs[i]);
        codec_put_u32(w, (uint32_t)size);
        if (w->failed || size > w->capacity - w->size) {
            w->failed = true;
            return;
        }
        size_t written = msg_view_change_encode_signed(&nv->vcs[i], w->data + w->size,
                                                       w->capacity - w->size, NULL);
        PBFT_ASSERT(written == size);
        w->size += written;
    }
    codec_put_u8(w, nv->block_count);
    for (uint8_t i = 0; i < nv->block_count; i++) {
        codec_block_write(w, &nv->blocks[i]);
        codec_put_bytes(w, nv->pre_prepare_sigs[i], PBFT_SIGNATURE_SIZE);
    }
}

static void new_view_body_read(codec_reader_t *r, msg_new_view_t *nv) {
    nv->view = codec_get_u64(r);
    uint8_t vc_count = codec_get_u8(r);
    if (r->status != PBFT_OK) return;
    if (vc_count == 0 || vc_count > MSG_VIEW_CHANGE_COUNT_MAX) {
        codec_fail(r, PBFT_ERR_LIMIT);
        return;
    }
    nv->vcs = pbft_xcalloc(vc_count, sizeof(msg_view_change_t));
    nv->vc_count = vc_count;
    for (uint8_t i = 0; i < vc_count && r->status == PBFT_OK; i++) {
        embedded_view_change_read(r, &nv->vcs[i]);
        if (i > 0 && nv->vcs[i].sender <= nv->vcs[i - 1].sender)
            codec_fail(r, PBFT_ERR_NOT_CANONICAL);
    }
    uint8_t block_count = codec_get_u8(r);
    if (r->status != PBFT_OK) return;
    if (block_count > MSG_NEW_VIEW_BLOCK_COUNT_MAX) {
        codec_fail(r, PBFT_ERR_LIMIT);
        return;
    }
    if (block_count == 0) return;
    nv->blocks = pbft_xcalloc(block_count, sizeof(pbft_block_t));
    nv->pre_prepare_sigs = pbft_xcalloc(block_count, PBFT_SIGNATURE_SIZE);
    for (uint8_t i = 0; i < block_count && r->status == PBFT_OK; i++) {
        codec_block_read(r, &nv->blocks[i]);
        if (r->status != PBFT_OK) break;
        nv->block_count = (uint8_t)(i + 1);
        codec_get_bytes(r, nv->pre_prepare_sigs[i], PBFT_SIGNATURE_SIZE);
        if (i > 0 && nv->blocks[i].header.height <= nv->blocks[i - 1].header.height)
            codec_fail(r, PBFT_ERR_NOT_CANONICAL);
    }
}

/* ------------------------------------------------------------------------ */
/* Small bodies.                                                              */

static void request_read(codec_reader_t *r, msg_request_t *q) {
    uint16_t count = codec_get_u16(r);
    if (r->status != PBFT_OK) return;
    if (count == 0 || count > MSG_REQUEST_TX_COUNT_MAX) {
        codec_fail(r, PBFT_ERR_LIMIT);
        return;
    }
    if (count > codec_remaining(r) / PBFT_TX_SIZE_MIN) {
        codec_fail(r, PBFT_ERR_TRUNCATED);
        return;
    }
    q->txs = pbft_xcalloc(count, sizeof(pbft_tx_t));
    q->tx_count = count;
    for (uint16_t i = 0; i < count && r->status == PBFT_OK; i++)
        codec_tx_read(r, &q->txs[i]);
}

static void vote_read(codec_reader_t *r, msg_vote_t *v) {
    v->view = codec_get_u64(r);
    v->seq = codec_get_u64(r);
    codec_get_bytes(r, v->block_hash, PBFT_HASH_SIZE);
}

static void vote_write(codec_writer_t *w, const msg_vote_t *v) {
    codec_put_u64(w, v->view);
    codec_put_u64(w, v->seq);
    codec_put_bytes(w, v->block_hash, PBFT_HASH_SIZE);
}

static void status_read(codec_reader_t *r, msg_status_t *s) {
    s->view = codec_get_u64(r);
    uint8_t flags = codec_get_u8(r);
    if (flags & ~MSG_STATUS_FLAG_IN_VIEW_CHANGE) codec_fail(r, PBFT_ERR_RESERVED);
    s->in_view_change = (flags & MSG_STATUS_FLAG_IN_VIEW_CHANGE) != 0;
    s->committed_height = codec_get_u64(r);
    codec_get_bytes(r, s->committed_hash, PBFT_HASH_SIZE);
    s->executed_height = codec_get_u64(r);
    s->stable_height = codec_get_u64(r);
}

static void status_write(codec_writer_t *w, const msg_status_t *s) {
    codec_put_u64(w, s->view);
    codec_put_u8(w, s->in_view_change ? MSG_STATUS_FLAG_IN_VIEW_CHANGE : 0);
    codec_put_u64(w, s->committed_height);
    codec_put_bytes(w, s->committed_hash, PBFT_HASH_SIZE);
    codec_put_u64(w, s->executed_height);
    codec_put_u64(w, s->stable_height);
}

static void state_reply_read(codec_reader_t *r, msg_state_reply_t *s) {
    uint8_t count = codec_get_u8(r);
    if (r->status != PBFT_OK) return;
    if (count == 0 || count > MSG_STATE_REPLY_BLOCK_COUNT_MAX) {
        codec_fail(r, PBFT_ERR_LIMIT);
        return;
    }
    s->blocks = pbft_xcalloc(count, sizeof(pbft_block_t));
    s->certs = pbft_xcalloc(count, sizeof(pbft_commit_cert_t));
    for (uint8_t i = 0; i < count && r->status == PBFT_OK; i++) {
        codec_block_read(r, &s->blocks[i]);
        if (r->status != PBFT_OK) break;
        s->count = (uint8_t)(i + 1);
        codec_commit_cert_read(r, &s->certs[i]);
        if (i > 0 && s->blocks[i].header.height != s->blocks[i - 1].header.height + 1)
            codec_fail(r, PBFT_ERR_NOT_CANONICAL);
    }
}

/* ------------------------------------------------------------------------ */
/* Envelope.                                                                  */

static void body_read(codec_reader_t *r, msg_t *m) {
    switch (m->type) {
        case MSG_REQUEST:
            request_read(r, &m->u.request);
            break;
        case MSG_PRE_PREPARE:
            m->u.pre_prepare.view = codec_get_u64(r);
            m->u.pre_prepare.seq = codec_get_u64(r);
            codec_block_read(r, &m->u.pre_prepare.block);
            break;
        case MSG_PREPARE:
        case MSG_COMMIT:
            vote_read(r, &m->u.vote);
            break;
        case MSG_CHECKPOINT:
            m->u.checkpoint.height = codec_get_u64(r);
            codec_get_bytes(r, m->u.checkpoint.block_hash, PBFT_HASH_SIZE);
            codec_get_bytes(r, m->u.checkpoint.state_hash, PBFT_HASH_SIZE);
            break;
        case MSG_VIEW_CHANGE:
            m->u.view_change = pbft_xcalloc(1, sizeof(msg_view_change_t));
            m->u.view_change->sender = m->sender;
            view_change_body_read(r, m->u.view_change);
            break;
        case MSG_NEW_VIEW:
            new_view_body_read(r, &m->u.new_view);
            break;
        case MSG_STATUS:
            status_read(r, &m->u.status);
            break;
        case MSG_STATE_REQUEST:
            m->u.state_request.from_height = codec_get_u64(r);
            m->u.state_request.count = codec_get_u16(r);
            if (r->status == PBFT_OK &&
                (m->u.state_request.count == 0 ||
                 m->u.state_request.count > MSG_STATE_REPLY_BLOCK_COUNT_MAX))
                codec_fail(r, PBFT_ERR_LIMIT);
            break;
        case MSG_STATE_REPLY:
            state_reply_read(r, &m->u.state_reply);
            break;
        default:
            codec_fail(r, PBFT_ERR_MALFORMED);
            break;
    }
}

pbft_status_t msg_decode(const uint8_t *data, size_t size, msg_t *out) {
    memset(out, 0, sizeof(*out));
    if (size > PBFT_MESSAGE_SIZE_MAX) return PBFT_ERR_LIMIT;
    codec_reader_t r;
    codec_reader_init(&r, data, size);
    uint8_t version = codec_get_u8(&r);
    if (r.status == PBFT_OK && version != MSG_VERSION) codec_fail(&r, PBFT_ERR_VERSION);
    out->type = codec_get_u8(&r);
    if (r.status == PBFT_OK && (out->type < MSG_TYPE_FIRST || out->type > MSG_TYPE_LAST))
        codec_fail(&r, PBFT_ERR_MALFORMED);
    out->sender = codec_get_u16(&r);
    if (r.status == PBFT_OK && out->sender >= PBFT_REPLICA_COUNT_MAX)
        codec_fail(&r, PBFT_ERR_UNKNOWN_REPLICA);
    if (r.status != PBFT_OK) {
        out->type = 0;
        return r.status;
    }
    body_read(&r, out);
    if (msg_type_is_signed(out->type)) {
        out->signed_size = r.offset;
        out->has_signature = true;
        codec_get_bytes(&r, out->signature, PBFT_SIGNATURE_SIZE);
    }
    if (out->type == MSG_VIEW_CHANGE && r.status == PBFT_OK) {
        memcpy(out->u.view_change->signature, out->signature, PBFT_SIGNATURE_SIZE);
        appendix_read(&r, out->u.view_change);
    }
    return codec_reader_finish(&r);
}

void msg_free(msg_t *m) {
    if (m == NULL) return;
    switch (m->type) {
        case MSG_REQUEST:
            free(m->u.request.txs);
            break;
        case MSG_PRE_PREPARE:
            codec_block_free(&m->u.pre_prepare.block);
            break;
        case MSG_VIEW_CHANGE:
            msg_view_change_clear(m->u.view_change);
            free(m->u.view_change);
            break;
        case MSG_NEW_VIEW:
            for (uint8_t i = 0; i < m->u.new_view.block_count; i++)
                codec_block_free(&m->u.new_view.blocks[i]);
            free(m->u.new_view.blocks);
            free(m->u.new_view.pre_prepare_sigs);
            free(m->u.new_view.vcs);
            break;
        case MSG_STATE_REPLY:
            for (uint8_t i = 0; i < m->u.state_reply.count; i++)
                codec_block_free(&m->u.state_reply.blocks[i]);
            free(m->u.state_reply.blocks);
            free(m->u.state_reply.certs);
            break;
        default:
            break;
    }
    memset(m, 0, sizeof(*m));
}

static void body_write(codec_writer_t *w, const msg_t *m) {
    switch (m->type) {
        case MSG_REQUEST:
            PBFT_ASSERT(m->u.request.tx_count >= 1 &&
                        m->u.request.tx_count <= MSG_REQUEST_TX_COUNT_MAX);
            codec_put_u16(w, m->u.request.tx_count);
            for (uint16_t i = 0; i < m->u.request.tx_count; i++)
                codec_tx_write(w, &m->u.request.txs[i]);
            break;
        case MSG_PRE_PREPARE:
            codec_put_u64(w, m->u.pre_prepare.view);
            codec_put_u64(w, m->u.pre_prepare.seq);
            codec_block_write(w, &m->u.pre_prepare.block);
            break;
        case MSG_PREPARE:
        case MSG_COMMIT:
            vote_write(w, &m->u.vote);
            break;
        case MSG_CHECKPOINT:
            codec_put_u64(w, m->u.checkpoint.height);
            codec_put_bytes(w, m->u.checkpoint.block_hash, PBFT_HASH_SIZE);
            codec_put_bytes(w, m->u.checkpoint.state_hash, PBFT_HASH_SIZE);
            break;
        case MSG_VIEW_CHANGE:
            view_change_body_write(w, m->u.view_change);
            break;
        case MSG_NEW_VIEW:
            new_view_body_write(w, &m->u.new_view);
            break;
        case MSG_STATUS:
            status_write(w, &m->u.status);
            break;
        case MSG_STATE_REQUEST:
            codec_put_u64(w, m->u.state_request.from_height);
            codec_put_u16(w, m->u.state_request.count);
            break;
        case MSG_STATE_REPLY:
            PBFT_ASSERT(m->u.state_reply.count >= 1 &&
                        m->u.state_reply.count <= MSG_STATE_REPLY_BLOCK_COUNT_MAX);
            codec_put_u8(w, m->u.state_reply.count);
            for (uint8_t i = 0; i < m->u.state_reply.count; i++) {
                codec_block_write(w, &m->u.state_reply.blocks[i]);
                codec_commit_cert_write(w, &m->u.state_reply.certs[i]);
            }
            break;
        default:
            PBFT_UNREACHABLE();
    }
}

size_t msg_encode(const msg_t *m, uint8_t *out, size_t capacity, size_t *signed_size) {
    PBFT_ASSERT(m->type >= MSG_TYPE_FIRST && m->type <= MSG_TYPE_LAST);
    codec_writer_t w;
    codec_writer_init(&w, out, capacity);
    header_write(&w, m->type, m->sender);
    body_write(&w, m);
    if (signed_size) *signed_size = w.size;
    if (msg_type_is_signed(m->type)) codec_put_bytes(&w, m->signature, PBFT_SIGNATURE_SIZE);
    if (m->type == MSG_VIEW_CHANGE) appendix_write(&w, m->u.view_change);
    return w.failed ? 0 : w.size;
}

size_t msg_size(const msg_t *m) {
    size_t size = MSG_HEADER_SIZE + (msg_type_is_signed(m->type) ? PBFT_SIGNATURE_SIZE : 0);
    switch (m->type) {
        case MSG_REQUEST:
            size += 2;
            for (uint16_t i = 0; i < m->u.request.tx_count; i++)
                size += codec_tx_size(&m->u.request.txs[i]);
            return size;
        case MSG_PRE_PREPARE:
            return size + 16 + codec_block_size(&m->u.pre_prepare.block);
        case MSG_PREPARE:
        case MSG_COMMIT:
            return size + 16 + PBFT_HASH_SIZE;
        case MSG_CHECKPOINT:
            return size + 8 + 2 * PBFT_HASH_SIZE;
        case MSG_VIEW_CHANGE: {
            const msg_view_change_t *vc = m->u.view_change;
            size = msg_view_change_signed_size(vc) + 1;
            for (uint8_t i = 0; i < vc->block_count; i++)
                size += codec_block_size(&vc->blocks[i]);
            return size;
        }
        case MSG_NEW_VIEW: {
            const msg_new_view_t *nv = &m->u.new_view;
            size += 8 + 1 + 1;
            for (uint8_t i = 0; i < nv->vc_count; i++)
                size += 4 + msg_view_change_signed_size(&nv->vcs[i]);
            for (uint8_t i = 0; i < nv->block_count; i++)
                size += codec_block_size(&nv->blocks[i]) + PBFT_SIGNATURE_SIZE;
            return size;
        }
        case MSG_STATUS:
            return size + 8 + 1 + 8 + PBFT_HASH_SIZE + 8 + 8;
        case MSG_STATE_REQUEST:
            return size + 8 + 2;
        case MSG_STATE_REPLY:
            size += 1;
            for (uint8_t i = 0; i < m->u.state_reply.count; i++)
                size += codec_block_size(&m->u.state_reply.blocks[i]) +
                        codec_commit_cert_size(&m->u.state_reply.certs[i]);
            return size;
        default:
            PBFT_UNREACHABLE();
    }
}
