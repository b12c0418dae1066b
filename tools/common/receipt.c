/*
 * tools/common/receipt.c — decode a /tx receipt and check it against genesis.
 */
#include "receipt.h"

#include <inttypes.h>
#include <string.h>

#include "json.h"
#include "pbft/cert.h"
#include "pbft/codec.h"

#define RECEIPT_CERT_SIZE_MAX (64u * 1024u)

const char *tools_receipt_status_name(tools_receipt_status_t s) {
    static const char *const names[] = {
#define TOOLS_RECEIPT_NAME_(name, short_name, text) short_name,
        TOOLS_RECEIPT_STATUS_LIST(TOOLS_RECEIPT_NAME_)
#undef TOOLS_RECEIPT_NAME_
    };
    return (unsigned)s < TOOLS_RECEIPT_STATUS_COUNT ? names[s] : "unknown";
}

const char *tools_receipt_status_string(tools_receipt_status_t s) {
    static const char *const texts[] = {
#define TOOLS_RECEIPT_TEXT_(name, short_name, text) text,
        TOOLS_RECEIPT_STATUS_LIST(TOOLS_RECEIPT_TEXT_)
#undef TOOLS_RECEIPT_TEXT_
    };
    return (unsigned)s < TOOLS_RECEIPT_STATUS_COUNT ? texts[s] : "unknown receipt status";
}

static tools_receipt_status_t fail(tools_receipt_status_t s, char *why, size_t why_size,
                                   const char *detail) {
    if (why && why_size) {
        snprintf(why, why_size, "%s%s%s", tools_receipt_status_string(s), detail ? ": " : "",
                 detail ? detail : "");
    }
    return s;
}

static bool parse_proof(const json_t *proof, crypto_merkle_proof_t *out) {
    uint64_t index = 0, count = 0;
    if (!tools_json_get_u64(proof, "leaf_index", &index) ||
        !tools_json_get_u64(proof, "leaf_count", &count) || index > UINT32_MAX ||
        count > UINT32_MAX)
        return false;
    const json_t *siblings = json_object_get(proof, "siblings");
    if (!json_is_array(siblings) || json_array_size(siblings) > PBFT_MERKLE_DEPTH_MAX) return false;
    memset(out, 0, sizeof(*out));
    out->leaf_index = (uint32_t)index;
    out->leaf_count = (uint32_t)count;
    out->sibling_count = (uint8_t)json_array_size(siblings);
    for (size_t i = 0; i < json_array_size(siblings); i++) {
        const json_t *s = json_array_get(siblings, i);
        if (!json_is_string(s) || json_string_length(s) != 2 * PBFT_HASH_SIZE) return false;
        if (crypto_hex_decode(json_string_value(s), json_string_length(s), out->siblings[i],
                              PBFT_HASH_SIZE) != PBFT_OK)
            return false;
    }
    return true;
}

static tools_receipt_status_t parse_body(const json_t *receipt, tools_receipt_t *out, char *why,
                                         size_t why_size) {
    uint8_t *bytes = NULL;
    size_t size = 0;
    if (!tools_json_get_hex_alloc(receipt, "tx", PBFT_TX_SIZE_MAX, &bytes, &size))
        return fail(TOOLS_RECEIPT_MALFORMED, why, why_size, "receipt.tx is not hex");
    pbft_status_t st = codec_tx_decode(bytes, size, &out->tx);
    free(bytes);
    if (st != PBFT_OK)
        return fail(TOOLS_RECEIPT_MALFORMED, why, why_size, "receipt.tx does not decode");
    uint8_t header[PBFT_BLOCK_HEADER_SIZE];
    if (!tools_json_get_hex(receipt, "header", header, sizeof(header)) ||
        codec_header_decode(header, sizeof(header), &out->header) != PBFT_OK)
        return fail(TOOLS_RECEIPT_MALFORMED, why, why_size, "receipt.header does not decode");
    if (!parse_proof(json_object_get(receipt, "proof"), &out->proof))
        return fail(TOOLS_RECEIPT_MALFORMED, why, why_size, "receipt.proof is malformed");
    if (!tools_json_get_hex_alloc(receipt, "cert", RECEIPT_CERT_SIZE_MAX, &bytes, &size))
        return fail(TOOLS_RECEIPT_MALFORMED, why, why_size, "receipt.cert is not hex");
    st = codec_commit_cert_decode(bytes, size, &out->cert);
    free(bytes);
    if (st != PBFT_OK)
        return fail(TOOLS_RECEIPT_MALFORMED, why, why_size, "receipt.cert does not decode");
    return TOOLS_RECEIPT_OK;
}

tools_receipt_status_t tools_receipt_parse(const json_t *tx_json, tools_receipt_t *out, char *why,
                                           size_t why_size) {
    memset(out, 0, sizeof(*out));
    const char *status = tools_json_get_string(tx_json, "status");
    if (!status || strcmp(status, "committed") != 0)
        return fail(TOOLS_RECEIPT_MALFORMED, why, why_size, "status is not \"committed\"");
    uint64_t height = 0, index = 0;
    if (!tools_json_get_u64(tx_json, "height", &height) ||
        !tools_json_get_u64(tx_json, "index", &index) || index > UINT32_MAX)
        return fail(TOOLS_RECEIPT_MALFORMED, why, why_size, "height or index missing");
    out->height = height;
    out->index = (uint32_t)index;
    const char *result = tools_json_get_string(tx_json, "result");
    snprintf(out->result, sizeof(out->result), "%s", result ? result : "unknown");
    const json_t *receipt = json_object_get(tx_json, "receipt");
    if (!json_is_object(receipt))
        return fail(TOOLS_RECEIPT_MALFORMED, why, why_size, "no receipt object");
    return parse_body(receipt, out, why, why_size);
}

static tools_receipt_status_t check_cert(const pbft_genesis_t *g, const tools_receipt_t *r,
                                         char *why, size_t why_size) {
    pbft_status_t st = cert_check_block(&g->validators, g->chain_id, &r->header, &r->cert);
    if (st == PBFT_OK) return TOOLS_RECEIPT_OK;
    char detail[160];
    if (st == PBFT_ERR_BAD_HEIGHT || st == PBFT_ERR_HASH_MISMATCH) {
        snprintf(detail, sizeof(detail), "header height %" PRIu64 ", certificate seq %" PRIu64,
                 r->header.height, r->cert.seq);
        return fail(TOOLS_RECEIPT_CERT_WRONG_BLOCK, why, why_size, detail);
    }
    size_t bad = SIZE_MAX;
    if (cert_check_commit(&g->validators, g->chain_id, &r->cert, &bad) == PBFT_OK) bad = SIZE_MAX;
    if (bad < r->cert.count)
        snprintf(detail, sizeof(detail), "%s (entry %zu, replica %u)", pbft_status_string(st), bad,
                 (unsigned)r->cert.sigs[bad].replica);
    else
        snprintf(detail, sizeof(detail), "%s (%u signatures, quorum %u of %u)",
                 pbft_status_string(st), (unsigned)r->cert.count,
                 (unsigned)pbft_validator_quorum(&g->validators), (unsigned)g->validators.count);
    if (st == PBFT_ERR_NO_QUORUM) return fail(TOOLS_RECEIPT_CERT_NO_QUORUM, why, why_size, detail);
    if (st == PBFT_ERR_UNKNOWN_REPLICA || st == PBFT_ERR_DUPLICATE_SIGNER)
        return fail(TOOLS_RECEIPT_CERT_BAD_SIGNER, why, why_size, detail);
    return fail(TOOLS_RECEIPT_CERT_BAD_SIGNATURE, why, why_size, detail);
}

/* Order: cheap identity checks, then the certificate (it binds the header),
 * then the Merkle path into the now-trusted header, then the claims. */
tools_receipt_status_t tools_receipt_check(const pbft_genesis_t *g,
                                           const uint8_t tx_id[PBFT_HASH_SIZE],
                                           const tools_receipt_t *r, char *why, size_t why_size) {
    uint8_t id[PBFT_HASH_SIZE];
    codec_tx_id(&r->tx, id);
    if (!crypto_equal_ct(id, tx_id, PBFT_HASH_SIZE))
        return fail(TOOLS_RECEIPT_TX_MISMATCH, why, why_size, NULL);
    if (codec_tx_verify(&r->tx, g->chain_id) != PBFT_OK)
        return fail(TOOLS_RECEIPT_BAD_TX_SIGNATURE, why, why_size, NULL);
    tools_receipt_status_t s = check_cert(g, r, why, why_size);
    if (s != TOOLS_RECEIPT_OK) return s;
    if (r->proof.leaf_count != r->header.tx_count)
        return fail(TOOLS_RECEIPT_BAD_MERKLE_PROOF, why, why_size,
                    "proof leaf count differs from the header's tx count");
    if (crypto_merkle_verify(tx_id, &r->proof, r->header.tx_root) != PBFT_OK)
        return fail(TOOLS_RECEIPT_BAD_MERKLE_PROOF, why, why_size, NULL);
    if (r->height != r->header.height || r->index != r->proof.leaf_index)
        return fail(TOOLS_RECEIPT_LOCATION_MISMATCH, why, why_size, NULL);
    return TOOLS_RECEIPT_OK;
}

tools_receipt_status_t tools_receipt_verify(const pbft_genesis_t *genesis,
                                            const uint8_t tx_id[PBFT_HASH_SIZE],
                                            const json_t *tx_json, tools_receipt_t *out, char *why,
                                            size_t why_size) {
    tools_receipt_t local = {0};
    tools_receipt_t *r = out ? out : &local;
    tools_receipt_status_t s = tools_receipt_parse(tx_json, r, why, why_size);
    if (s != TOOLS_RECEIPT_OK) return s;
    return tools_receipt_check(genesis, tx_id, r, why, why_size);
}
