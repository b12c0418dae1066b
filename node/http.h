/*
 * node/http.h — the client HTTP API (libmicrohttpd, one thread per
 * connection, capped). Routes and JSON shapes are the brief's contract; see
 * docs/OPERATIONS.md. Every input is bounded: body <= PBFT_HTTP_BODY_SIZE_MAX,
 * path <= HTTP_PATH_SIZE_MAX, ids and addresses exact-length hex.
 */
#ifndef NODE_HTTP_H
#define NODE_HTTP_H

#include "pbft/common.h"

struct node;
typedef struct http_server http_server_t;

/* Binds host:port (PBFT_ERR_UNAVAILABLE when the address is in use or
 * cannot be bound; err says why) and serves until http_stop. */
PBFT_MUST_USE pbft_status_t http_start(struct node *node, const char *hostport,
                                       uint32_t connections_max, http_server_t **out, char *err,
                                       size_t err_size);
/* Stops accepting, waits for the connection threads. NULL allowed. */
void http_stop(http_server_t *server);

#endif /* NODE_HTTP_H */
