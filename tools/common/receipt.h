/*
 * tools/common/receipt.h — checking a transaction receipt against genesis.
 *
 * A receipt (the "receipt" object of GET /tx/{id}) carries the tx, the
 * canonical block header, the Merkle path of the tx id to header.tx_root and
 * the block's commit certificate. Checking it needs only genesis: the tx id
 * must be the one asked about, the tx signature valid for this chain, the
 * certificate must certify exactly this header with 2f+1 valid signatures of
 * distinct genesis validators, and the Merkle path must take the tx id to
 * the certified tx root. One lying replica cannot forge that.
 *
 * Not covered by the certificate: the per-tx result code ("ok",
 * "bad_nonce"...), which is the node's report of deterministic execution;
 * pbft-verify replays the chain to check it.
 */
#ifndef PBFT_TOOLS_RECEIPT_H
#define PBFT_TOOLS_RECEIPT_H

#include <jansson.h>

#include "pbft/common.h"
#include "pbft/crypto.h"
#include "pbft/ledger.h"
#include "pbft/types.h"

#define TOOLS_RECEIPT_STATUS_LIST(X)                                                               \
    X(TOOLS_RECEIPT_OK, "ok", "receipt verified")                                                  \
    X(TOOLS_RECEIPT_MALFORMED, "malformed", "receipt is missing a field or does not decode")       \
    X(TOOLS_RECEIPT_TX_MISMATCH, "tx_mismatch", "receipt is for another transaction")              \
    X(TOOLS_RECEIPT_BAD_TX_SIGNATURE, "bad_tx_signature",                                          \
      "transaction signature is not valid for this chain")                                         \
    X(TOOLS_RECEIPT_CERT_WRONG_BLOCK, "cert_wrong_block",                                          \
      "commit certificate certifies another block (height or hash differs)")                       \
    X(TOOLS_RECEIPT_CERT_NO_QUORUM, "cert_no_quorum",                                              \
      "commit certificate has fewer than 2f+1 signatures")                                         \
    X(TOOLS_RECEIPT_CERT_BAD_SIGNER, "cert_bad_signer",                                            \
      "commit certificate names an unknown or duplicate validator")                                \
    X(TOOLS_RECEIPT_CERT_BAD_SIGNATURE, "cert_bad_signature",                                      \
      "commit certificate signature is not by the genesis validator")                              \
    X(TOOLS_RECEIPT_BAD_MERKLE_PROOF, "bad_merkle_proof",                                          \
      "Merkle path does not lead from the tx id to the certified tx root")                         \
    X(TOOLS_RECEIPT_LOCATION_MISMATCH, "location_mismatch",                                        \
      "claimed height or index disagrees with the certified header or the proof")

typedef enum tools_receipt_status {
#define TOOLS_RECEIPT_ENUM_(name, short_name, text) name,
    TOOLS_RECEIPT_STATUS_LIST(TOOLS_RECEIPT_ENUM_)
#undef TOOLS_RECEIPT_ENUM_
        TOOLS_RECEIPT_STATUS_COUNT
} tools_receipt_status_t;

const char *tools_receipt_status_name(tools_receipt_status_t s);   /* "bad_merkle_proof" */
const char *tools_receipt_status_string(tools_receipt_status_t s); /* a sentence */

typedef struct tools_receipt {
    uint64_t height; /* claimed by the node ("height") */
    uint32_t index;  /* claimed by the node ("index") */
    char result[32]; /* claimed by the node ("result"); not certified */
    pbft_tx_t tx;
    pbft_block_header_t header;
    crypto_merkle_proof_t proof;
    pbft_commit_cert_t cert;
} tools_receipt_t;

/* Decodes a committed GET /tx/{id} answer (the whole object, with
 * "status": "committed" and "receipt"). TOOLS_RECEIPT_MALFORMED on any
 * missing field, bad hex or codec failure (why says which). */
tools_receipt_status_t tools_receipt_parse(const json_t *tx_json, tools_receipt_t *out, char *why,
                                           size_t why_size);

/* Checks a decoded receipt for tx_id against genesis (chain id and
 * validators). why (may be NULL) receives a precise sentence on failure. */
tools_receipt_status_t tools_receipt_check(const pbft_genesis_t *genesis,
                                           const uint8_t tx_id[PBFT_HASH_SIZE],
                                           const tools_receipt_t *r, char *why, size_t why_size);

/* parse + check. out may be NULL. */
tools_receipt_status_t tools_receipt_verify(const pbft_genesis_t *genesis,
                                            const uint8_t tx_id[PBFT_HASH_SIZE],
                                            const json_t *tx_json, tools_receipt_t *out, char *why,
                                            size_t why_size);

#endif /* PBFT_TOOLS_RECEIPT_H */
