/*
 * tools/common/http.c — JSON over HTTP with fallback across replicas (libcurl).
 */
#include "http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <string.h>

struct tools_http {
    CURL *curl;
    size_t url_count;
    size_t current;
    long timeout_ms;
    char urls[TOOLS_HTTP_URL_COUNT_MAX][TOOLS_HTTP_URL_SIZE_MAX];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Adds one base URL (trimmed, scheme added, trailing '/' dropped). */
static bool add_url(tools_http_t *c, const char *start, size_t len) {
    while (len && (start[0] == ' ' || start[0] == '\t'))
        start++, len--;
    while (len && (start[len - 1] == ' ' || start[len - 1] == '/'))
        len--;
    if (len == 0) return true; /* tolerate "a,,b" and a trailing comma */
    if (c->url_count == TOOLS_HTTP_URL_COUNT_MAX) return false;
    bool has_scheme = (len > 7 && strncmp(start, "http://", 7) == 0) ||
                      (len > 8 && strncmp(start, "https://", 8) == 0);
    const char *prefix = has_scheme ? "" : "http://";
    if (len + strlen(prefix) + 1 > TOOLS_HTTP_URL_SIZE_MAX) return false;
    snprintf(c->urls[c->url_count], TOOLS_HTTP_URL_SIZE_MAX, "%s%.*s", prefix, (int)len, start);
    /* A replica listed twice must not count twice (e.g. in f+1 agreement). */
    for (size_t i = 0; i < c->url_count; i++)
        if (strcmp(c->urls[i], c->urls[c->url_count]) == 0) return true;
    c->url_count++;
    return true;
}

tools_http_t *tools_http_new(const char *urls, long timeout_ms, char *err, size_t err_size) {
    pthread_once(&curl_once, curl_init_once);
    tools_http_t *c = pbft_xcalloc(1, sizeof(*c));
    const char *p = urls ? urls : "";
    while (true) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (!add_url(c, p, len)) {
            snprintf(err, err_size, "bad node list (too many or too long URLs): %s", urls);
            free(c);
            return NULL;
        }
        if (!comma) break;
        p = comma + 1;
    }
    if (c->url_count == 0) {
        snprintf(err, err_size, "no node URL given");
        free(c);
        return NULL;
    }
    c->curl = curl_easy_init();
    if (!c->curl) {
        snprintf(err, err_size, "libcurl initialisation failed");
        free(c);
        return NULL;
    }
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
    return c;
}

void tools_http_free(tools_http_t *c) {
    if (!c) return;
    curl_easy_cleanup(c->curl);
    free(c);
}

void tools_http_set_timeout(tools_http_t *c, long timeout_ms) {
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
}

const char *tools_http_current_url(const tools_http_t *c) {
    return c->urls[c->current];
}

size_t tools_http_url_count(const tools_http_t *c) {
    return c->url_count;
}

void tools_http_response_free(tools_http_response_t *r) {
    if (!r) return;
    free(r->body);
    if (r->json) json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

typedef struct body_buffer {
    char *data;
    size_t size;
    size_t capacity;
    bool too_large;
} body_buffer_t;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
    body_buffer_t *b = userdata;
    size_t n = size * nmemb;
    if (n > TOOLS_HTTP_RESPONSE_SIZE_MAX - b->size) {
        b->too_large = true;
        return 0; /* aborts the transfer */
    }
    if (b->size + n + 1 > b->capacity) {
        size_t cap = b->capacity ? b->capacity : 4096;
        while (cap < b->size + n + 1)
            cap *= 2;
        b->data = pbft_xrealloc(b->data, cap);
        b->capacity = cap;
    }
    memcpy(b->data + b->size, ptr, n);
    b->size += n;
    b->data[b->size] = '\0';
    return n;
}

/* Errors after which another replica may well answer. */
static bool is_connection_failure(CURLcode rc) {
    switch (rc) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
            return true;
        default:
            return false;
    }
}

/* One attempt against the current URL. */
static CURLcode perform_once(tools_http_t *c, const char *path, const char *post_body,
                             body_buffer_t *body, long *status) {
    char url[TOOLS_HTTP_URL_SIZE_MAX + 1024];
    snprintf(url, sizeof(url), "%s%s", c->urls[c->current], path);
    CURL *h = c->curl;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     PBFT_MIN(c->timeout_ms, (long)TOOLS_HTTP_CONNECT_TIMEOUT_MS));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "pbft-tools/" PBFT_VERSION_STRING);
    struct curl_slist *headers = NULL;
    if (post_body) {
        headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post_body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(post_body));
    }
    CURLcode rc = curl_easy_perform(h);
    *status = 0;
    if (rc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(headers);
    return rc;
}

static pbft_status_t request(tools_http_t *c, const char *path, const char *post_body,
                             tools_http_response_t *out, char *err, size_t err_size) {
    memset(out, 0, sizeof(*out));
    CURLcode last = CURLE_OK;
    for (size_t attempt = 0; attempt < c->url_count; attempt++) {
        body_buffer_t body = {0};
        long status = 0;
        last = perform_once(c, path, post_body, &body, &status);
        if (last == CURLE_OK) {
            out->status = status;
            out->body = body.data ? body.data : pbft_xcalloc(1, 1);
            out->body_size = body.size;
            out->json = json_loadb(out->body, out->body_size, 0, NULL);
            return PBFT_OK;
        }
        free(body.data);
        if (body.too_large) {
            snprintf(err, err_size, "%s%s: response larger than %u bytes", c->urls[c->current],
                     path, TOOLS_HTTP_RESPONSE_SIZE_MAX);
            return PBFT_ERR_LIMIT;
        }
        snprintf(err, err_size, "%s%s: %s", c->urls[c->current], path, curl_easy_strerror(last));
        if (!is_connection_failure(last)) return PBFT_ERR_NETWORK;
        c->current = (c->current + 1) % c->url_count;
    }
    if (c->url_count > 1) {
        size_t used = strlen(err);
        snprintf(err + used, err_size - used, " (all %zu nodes failed)", c->url_count);
    }
    return last == CURLE_OPERATION_TIMEDOUT ? PBFT_ERR_TIMEOUT : PBFT_ERR_UNAVAILABLE;
}

pbft_status_t tools_http_get(tools_http_t *c, const char *path, tools_http_response_t *out,
                             char *err, size_t err_size) {
    return request(c, path, NULL, out, err, err_size);
}

pbft_status_t tools_http_post_json(tools_http_t *c, const char *path, const json_t *body,
                                   tools_http_response_t *out, char *err, size_t err_size) {
    char *text = json_dumps(body, JSON_COMPACT);
    if (!text) {
        snprintf(err, err_size, "cannot serialize request body");
        return PBFT_ERR_INTERNAL;
    }
    pbft_status_t st = request(c, path, text, out, err, err_size);
    free(text);
    return st;
}

/* One attempt against URL index only (no fallback); post_body may be NULL. */
static pbft_status_t request_to(tools_http_t *c, size_t index, const char *path,
                                const char *post_body, tools_http_response_t *out, char *err,
                                size_t err_size) {
    memset(out, 0, sizeof(*out));
    if (index >= c->url_count) return PBFT_ERR_ARGUMENT;
    size_t saved = c->current;
    c->current = index;
    body_buffer_t buf = {0};
    long status = 0;
    CURLcode rc = perform_once(c, path, post_body, &buf, &status);
    c->current = saved;
    if (rc != CURLE_OK) {
        free(buf.data);
        snprintf(err, err_size, "%s%s: %s", c->urls[index], path, curl_easy_strerror(rc));
        return rc == CURLE_OPERATION_TIMEDOUT ? PBFT_ERR_TIMEOUT : PBFT_ERR_UNAVAILABLE;
    }
    out->status = status;
    out->body = buf.data ? buf.data : pbft_xcalloc(1, 1);
    out->body_size = buf.size;
    out->json = json_loadb(out->body, out->body_size, 0, NULL);
    return PBFT_OK;
}

pbft_status_t tools_http_post_json_to(tools_http_t *c, size_t index, const char *path,
                                      const json_t *body, tools_http_response_t *out, char *err,
                                      size_t err_size) {
    char *text = json_dumps(body, JSON_COMPACT);
    if (!text) return PBFT_ERR_INTERNAL;
    pbft_status_t st = request_to(c, index, path, text, out, err, err_size);
    free(text);
    return st;
}

pbft_status_t tools_http_get_from(tools_http_t *c, size_t index, const char *path,
                                  tools_http_response_t *out, char *err, size_t err_size) {
    return request_to(c, index, path, NULL, out, err, err_size);
}

size_t tools_http_current_index(const tools_http_t *c) {
    return c->current;
}

const char *tools_http_url(const tools_http_t *c, size_t index) {
    return index < c->url_count ? c->urls[index] : "";
}
