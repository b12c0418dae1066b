/*
 * node/http_parse.h — pure, bounded parsing of what HTTP clients send: the
 * route, hex ids and addresses, heights and query numbers. Nothing here
 * allocates or trusts a length it did not check.
 */
#ifndef NODE_HTTP_PARSE_H
#define NODE_HTTP_PARSE_H

#include "pbft/common.h"

#define HTTP_PATH_SIZE_MAX 256
#define HTTP_ARG_SIZE_MAX 128 /* longest path argument: a 64-digit tx id */
#define HTTP_HISTORY_LIMIT_MAX 1000
#define HTTP_HISTORY_LIMIT_DEFAULT 100
/* Longest long-poll (?wait_ms=), well inside the 30 s connection timeout. */
#define HTTP_WAIT_MS_MAX 20000

typedef enum http_route_kind {
    HTTP_ROUTE_NONE = 0,
    HTTP_ROUTE_TX_SUBMIT,       /* POST /tx */
    HTTP_ROUTE_TXS_SUBMIT,      /* POST /txs */
    HTTP_ROUTE_TX_GET,          /* GET /tx/{id} */
    HTTP_ROUTE_ACCOUNT,         /* GET /account/{address} */
    HTTP_ROUTE_ACCOUNT_HISTORY, /* GET /account/{address}/history */
    HTTP_ROUTE_BLOCK,           /* GET /block/{height|latest} */
    HTTP_ROUTE_CHECKPOINT,      /* GET /checkpoint/{height|latest} */
    HTTP_ROUTE_STATUS,          /* GET /status */
    HTTP_ROUTE_HEALTH,          /* GET /health */
    HTTP_ROUTE_METRICS,         /* GET /metrics */
} http_route_kind_t;

typedef struct http_route {
    http_route_kind_t kind;
    char arg[HTTP_ARG_SIZE_MAX + 1]; /* the {…} segment, unvalidated but bounded */
} http_route_t;

/* Matches method and path. PBFT_ERR_NOT_FOUND: no such path;
 * PBFT_ERR_ARGUMENT: the path exists but not for this method (405);
 * PBFT_ERR_LIMIT: path or argument too long. A trailing '/' is accepted. */
PBFT_MUST_USE pbft_status_t http_route_match(const char *method, const char *path,
                                             http_route_t *out);

/* Exactly 2*out_size hex digits (either case) -> bytes; PBFT_ERR_MALFORMED. */
PBFT_MUST_USE pbft_status_t http_parse_hex_exact(const char *text, uint8_t *out, size_t out_size);
/* Hex of any even length up to 2*capacity digits; *out_size receives the
 * byte count. PBFT_ERR_LIMIT when too long, PBFT_ERR_MALFORMED otherwise. */
PBFT_MUST_USE pbft_status_t http_parse_hex(const char *text, size_t text_len, uint8_t *out,
                                           size_t capacity, size_t *out_size);
PBFT_MUST_USE pbft_status_t http_parse_tx_id(const char *text, uint8_t out[PBFT_HASH_SIZE]);
PBFT_MUST_USE pbft_status_t http_parse_address(const char *text, uint8_t out[PBFT_ADDRESS_SIZE]);
/* Canonical decimal u64: digits only, no leading zeros (except "0"), no
 * overflow. */
PBFT_MUST_USE pbft_status_t http_parse_u64(const char *text, uint64_t *out);
/* "latest" (sets *latest) or a decimal height. */
PBFT_MUST_USE pbft_status_t http_parse_height(const char *text, uint64_t *height, bool *latest);

#endif /* NODE_HTTP_PARSE_H */
