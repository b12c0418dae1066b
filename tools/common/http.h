/*
 * tools/common/http.h — a small JSON-over-HTTP client for the tools (libcurl).
 *
 * A client holds one or more base URLs ("http://127.0.0.1:26601"). A request
 * goes to the current URL; when that node cannot be reached (refused, reset,
 * no answer within the connect timeout) the client moves on to the next URL
 * and retries, so one dead replica never stops a wallet. Any HTTP answer,
 * including 4xx/5xx, is a response and is returned to the caller.
 */
#ifndef PBFT_TOOLS_HTTP_H
#define PBFT_TOOLS_HTTP_H

#include <jansson.h>

#include "pbft/common.h"

#define TOOLS_HTTP_URL_COUNT_MAX 32
#define TOOLS_HTTP_URL_SIZE_MAX 512
#define TOOLS_HTTP_RESPONSE_SIZE_MAX (64u * 1024u * 1024u)
#define TOOLS_HTTP_CONNECT_TIMEOUT_MS 3000

typedef struct tools_http tools_http_t;

/* urls: comma-separated list of base URLs; "host:port" gets "http://"
 * prepended, trailing slashes are dropped and duplicates are ignored. Returns NULL (and writes why
 * to err) on an empty or malformed list. timeout_ms bounds each request. */
tools_http_t *tools_http_new(const char *urls, long timeout_ms, char *err, size_t err_size);
void tools_http_free(tools_http_t *c);
void tools_http_set_timeout(tools_http_t *c, long timeout_ms);
/* The base URL the last request went to (or will go to). */
const char *tools_http_current_url(const tools_http_t *c);
size_t tools_http_url_count(const tools_http_t *c);

typedef struct tools_http_response {
    long status; /* HTTP status code */
    char *body;  /* NUL-terminated, malloc'd; may be empty */
    size_t body_size;
    json_t *json; /* parsed body when it is JSON, else NULL (owned) */
} tools_http_response_t;

void tools_http_response_free(tools_http_response_t *r);

/* GET base+path. PBFT_OK when some node answered (any HTTP status);
 * PBFT_ERR_UNAVAILABLE when no URL could be reached; PBFT_ERR_TIMEOUT when a
 * node accepted the connection but did not answer in time; PBFT_ERR_LIMIT
 * when the body exceeds TOOLS_HTTP_RESPONSE_SIZE_MAX. err gets a sentence. */
PBFT_MUST_USE pbft_status_t tools_http_get(tools_http_t *c, const char *path,
                                           tools_http_response_t *out, char *err, size_t err_size);
/* POST a JSON body (serialized compactly) to base+path. */
PBFT_MUST_USE pbft_status_t tools_http_post_json(tools_http_t *c, const char *path,
                                                 const json_t *body, tools_http_response_t *out,
                                                 char *err, size_t err_size);

/* POST to the index-th base URL only, without fallback (for broadcasting a
 * request to every replica, as a PBFT client does when the primary is slow). */
PBFT_MUST_USE pbft_status_t tools_http_post_json_to(tools_http_t *c, size_t index, const char *path,
                                                    const json_t *body, tools_http_response_t *out,
                                                    char *err, size_t err_size);

/* GET from the index-th base URL only, without fallback. */
PBFT_MUST_USE pbft_status_t tools_http_get_from(tools_http_t *c, size_t index, const char *path,
                                                tools_http_response_t *out, char *err,
                                                size_t err_size);
/* The index of the current base URL, and the base URL at an index. */
size_t tools_http_current_index(const tools_http_t *c);
const char *tools_http_url(const tools_http_t *c, size_t index);

#endif /* PBFT_TOOLS_HTTP_H */
