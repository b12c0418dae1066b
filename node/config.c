/*
 * node/config.c — see config.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <ini.h>
#include <string.h>

void config_defaults(node_config_t *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->home, sizeof c->home, ".");
    snprintf(c->listen, sizeof c->listen, "tcp://127.0.0.1:26600");
    snprintf(c->http, sizeof c->http, "127.0.0.1:26601");
    snprintf(c->data_dir, sizeof c->data_dir, "data");
    snprintf(c->key_file, sizeof c->key_file, "node_key.pem");
    snprintf(c->genesis_file, sizeof c->genesis_file, "genesis.json");
    c->log_level = LOG_LEVEL_INFO;
    c->log_format = LOG_FORMAT_LOGFMT;
    c->verify_threads = 0;
    c->mempool_max = 100000;
    c->http_connections_max = 256;
}

/* Strict unsigned decimal in [min, max]: no sign, no spaces, no trailing junk. */
static bool parse_u32(const char *text, uint32_t min, uint32_t max, uint32_t *out) {
    if (!isdigit((unsigned char)text[0]) || strlen(text) > 10) return false;
    uint64_t v = 0;
    for (const char *p = text; *p; p++) {
        if (!isdigit((unsigned char)*p)) return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v < min || v > max) return false;
    *out = (uint32_t)v;
    return true;
}

static bool copy_text(char *dst, size_t dst_size, const char *value) {
    size_t n = strlen(value);
    if (n == 0 || n >= dst_size) return false;
    memcpy(dst, value, n + 1);
    return true;
}

static bool valid_nn_url(const char *value) {
    size_t n = strlen(value);
    if (n == 0 || n >= CONFIG_URL_SIZE_MAX) return false;
    if (strncmp(value, "tcp://", 6) == 0) {
        char host[CONFIG_URL_SIZE_MAX];
        uint16_t port;
        return config_parse_hostport(value + 6, host, sizeof host, &port) == PBFT_OK;
    }
    return strncmp(value, "ipc://", 6) == 0 && n > 6;
}

pbft_status_t config_parse_hostport(const char *text, char *host, size_t host_size,
                                    uint16_t *port) {
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text) return PBFT_ERR_CONFIG;
    const char *h = text;
    size_t hlen = (size_t)(colon - text);
    if (h[0] == '[') {
        if (hlen < 3 || h[hlen - 1] != ']') return PBFT_ERR_CONFIG;
        h++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= host_size) return PBFT_ERR_CONFIG;
    for (size_t i = 0; i < hlen; i++) {
        unsigned char ch = (unsigned char)h[i];
        if (!(isalnum(ch) || ch == '.' || ch == '-' || ch == ':' || ch == '*')) {
            return PBFT_ERR_CONFIG;
        }
    }
    uint32_t p;
    if (!parse_u32(colon + 1, 0, 65535, &p)) return PBFT_ERR_CONFIG;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (uint16_t)p;
    return PBFT_OK;
}

PBFT_PRINTF(5, 6)
static pbft_status_t config_error(char *err, size_t err_size, const char *origin, const char *key,
                                  const char *fmt, ...) {
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
    if (err) snprintf(err, err_size, "%s: %s: %s", origin, key, why);
    return PBFT_ERR_CONFIG;
}

static pbft_status_t set_peer(node_config_t *c, const char *key, const char *value,
                              const char *origin, char *err, size_t err_size) {
    uint32_t index;
    if (!parse_u32(key, 0, PBFT_REPLICA_COUNT_MAX - 1, &index)) {
        return config_error(err, err_size, origin, "[peers]",
                            "peer key \"%.32s\" is not a replica index in 0..%d", key,
                            PBFT_REPLICA_COUNT_MAX - 1);
    }
    if (!valid_nn_url(value)) {
        return config_error(err, err_size, origin, "[peers]",
                            "peer %u: \"%.64s\" is not a tcp://HOST:PORT or ipc://PATH url", index,
                            value);
    }
    snprintf(c->peers[index], sizeof c->peers[index], "%s", value);
    c->peer_set[index] = true;
    if (index + 1 > c->peer_count) c->peer_count = (uint16_t)(index + 1);
    return PBFT_OK;
}

static pbft_status_t set_number(uint32_t *dst, const char *value, uint32_t min, uint32_t max,
                                const char *origin, const char *key, char *err, size_t err_size) {
    if (!parse_u32(value, min, max, dst)) {
        return config_error(err, err_size, origin, key, "\"%.32s\" is not a number in %u..%u",
                            value, min, max);
    }
    return PBFT_OK;
}

static pbft_status_t set_text(char *dst, size_t dst_size, const char *value, const char *origin,
                              const char *key, char *err, size_t err_size) {
    if (!copy_text(dst, dst_size, value)) {
        return config_error(err, err_size, origin, key, "must be 1..%zu characters", dst_size - 1);
    }
    return PBFT_OK;
}

static pbft_status_t set_node_key(node_config_t *c, const char *key, const char *value,
                                  const char *origin, char *err, size_t err_size) {
    if (strcmp(key, "replica") == 0) {
        c->replica_set = true;
        return set_number(&c->replica, value, 0, PBFT_REPLICA_COUNT_MAX - 1, origin, "replica", err,
                          err_size);
    }
    if (strcmp(key, "listen") == 0) {
        if (!valid_nn_url(value)) {
            return config_error(err, err_size, origin, key,
                                "\"%.64s\" is not a tcp://HOST:PORT or ipc://PATH url", value);
        }
        return set_text(c->listen, sizeof c->listen, value, origin, key, err, err_size);
    }
    if (strcmp(key, "http") == 0) {
        char host[CONFIG_URL_SIZE_MAX];
        uint16_t port;
        if (config_parse_hostport(value, host, sizeof host, &port) != PBFT_OK) {
            return config_error(err, err_size, origin, key, "\"%.64s\" is not HOST:PORT", value);
        }
        return set_text(c->http, sizeof c->http, value, origin, key, err, err_size);
    }
    if (strcmp(key, "data_dir") == 0)
        return set_text(c->data_dir, sizeof c->data_dir, value, origin, key, err, err_size);
    if (strcmp(key, "key_file") == 0)
        return set_text(c->key_file, sizeof c->key_file, value, origin, key, err, err_size);
    if (strcmp(key, "genesis_file") == 0)
        return set_text(c->genesis_file, sizeof c->genesis_file, value, origin, key, err, err_size);
    if (strcmp(key, "log_level") == 0) {
        if (!log_level_parse(value, &c->log_level))
            return config_error(err, err_size, origin, key,
                                "\"%.32s\" is not one of debug, info, warn, error", value);
        return PBFT_OK;
    }
    if (strcmp(key, "log_format") == 0) {
        if (!log_format_parse(value, &c->log_format))
            return config_error(err, err_size, origin, key, "\"%.32s\" is not one of logfmt, json",
                                value);
        return PBFT_OK;
    }
    if (strcmp(key, "verify_threads") == 0)
        return set_number(&c->verify_threads, value, 0, CONFIG_VERIFY_THREADS_MAX, origin, key, err,
                          err_size);
    if (strcmp(key, "mempool_max") == 0)
        return set_number(&c->mempool_max, value, 1, PBFT_MEMPOOL_TX_COUNT_MAX, origin, key, err,
                          err_size);
    if (strcmp(key, "http_connections_max") == 0)
        return set_number(&c->http_connections_max, value, 1, CONFIG_HTTP_CONNECTIONS_MAX, origin,
                          key, err, err_size);
    if (strcmp(key, "store_write_mb_per_s") == 0)
        return set_number(&c->store_write_mb_per_s, value, 0, CONFIG_STORE_WRITE_MB_MAX, origin,
                          key, err, err_size);
    return config_error(err, err_size, origin, key, "unknown key in [node]");
}

pbft_status_t config_set(node_config_t *c, const char *section, const char *key, const char *value,
                         const char *origin, char *err, size_t err_size) {
    if (strcmp(section, "node") == 0) return set_node_key(c, key, value, origin, err, err_size);
    if (strcmp(section, "peers") == 0) return set_peer(c, key, value, origin, err, err_size);
    return config_error(err, err_size, origin, section, "unknown section [%.32s]", section);
}

typedef struct ini_ctx {
    node_config_t *config;
    const char *origin;
    char *err;
    size_t err_size;
    pbft_status_t status; /* first failure */
} ini_ctx_t;

static int on_ini_entry(void *user, const char *section, const char *name, const char *value) {
    ini_ctx_t *ctx = user;
    if (ctx->status != PBFT_OK) return 1; /* keep the first error */
    char origin[CONFIG_PATH_SIZE_MAX + 32];
    snprintf(origin, sizeof origin, "%s [%s]", ctx->origin, section);
    pbft_status_t st =
        config_set(ctx->config, section, name, value, origin, ctx->err, ctx->err_size);
    if (st != PBFT_OK) {
        ctx->status = st;
        return 0;
    }
    return 1;
}

static pbft_status_t finish_ini(ini_ctx_t *ctx, int rc) {
    if (ctx->status != PBFT_OK) {
        /* Prefix the line number inih reports for the failing entry. */
        if (rc > 0 && ctx->err) {
            char tmp[CONFIG_ERR_SIZE_MAX];
            snprintf(tmp, sizeof tmp, "%s (line %d)", ctx->err, rc);
            snprintf(ctx->err, ctx->err_size, "%s", tmp);
        }
        return ctx->status;
    }
    if (rc > 0) {
        if (ctx->err) snprintf(ctx->err, ctx->err_size, "%s:%d: syntax error", ctx->origin, rc);
        return PBFT_ERR_CONFIG;
    }
    if (rc < 0) {
        if (ctx->err) snprintf(ctx->err, ctx->err_size, "%s: out of memory", ctx->origin);
        return PBFT_ERR_CONFIG;
    }
    return PBFT_OK;
}

pbft_status_t config_load_file(node_config_t *c, const char *path, char *err, size_t err_size) {
    FILE *f = fopen(path, "r");
    if (!f) {
        if (err) snprintf(err, err_size, "%s: cannot open: %s", path, strerror(errno));
        return PBFT_ERR_IO;
    }
    ini_ctx_t ctx = {.config = c, .origin = path, .err = err, .err_size = err_size};
    int rc = ini_parse_file(f, on_ini_entry, &ctx);
    fclose(f);
    return finish_ini(&ctx, rc);
}

pbft_status_t config_load_string(node_config_t *c, const char *text, const char *origin, char *err,
                                 size_t err_size) {
    ini_ctx_t ctx = {.config = c, .origin = origin, .err = err, .err_size = err_size};
    int rc = ini_parse_string(text, on_ini_entry, &ctx);
    return finish_ini(&ctx, rc);
}

static const char *const env_keys[] = {
    "replica",
    "listen",
    "http",
    "data_dir",
    "key_file",
    "genesis_file",
    "log_level",
    "log_format",
    "verify_threads",
    "mempool_max",
    "http_connections_max",
    "store_write_mb_per_s",
};

/* PBFT_LOG_LEVEL -> "log_level"; false when name is not PBFT_<known key>. */
static bool env_to_key(const char *name, size_t name_len, char *key, size_t key_size) {
    if (name_len <= 5 || strncmp(name, "PBFT_", 5) != 0 || name_len - 5 >= key_size) return false;
    for (size_t i = 5; i < name_len; i++)
        key[i - 5] = (char)tolower((unsigned char)name[i]);
    key[name_len - 5] = '\0';
    for (size_t i = 0; i < PBFT_ARRAY_COUNT(env_keys); i++) {
        if (strcmp(key, env_keys[i]) == 0) return true;
    }
    return false;
}

pbft_status_t config_apply_env(node_config_t *c, const char *const *envp, char *err,
                               size_t err_size) {
    for (size_t i = 0; envp && envp[i]; i++) {
        const char *entry = envp[i];
        const char *eq = strchr(entry, '=');
        if (!eq) continue;
        size_t name_len = (size_t)(eq - entry);
        char key[64];
        char origin[96];
        snprintf(origin, sizeof origin, "environment %.*s", (int)PBFT_MIN(name_len, 64u), entry);
        pbft_status_t st = PBFT_OK;
        if (name_len > 10 && strncmp(entry, "PBFT_PEER_", 10) == 0) {
            snprintf(key, sizeof key, "%.*s", (int)PBFT_MIN(name_len - 10, 32u), entry + 10);
            st = config_set(c, "peers", key, eq + 1, origin, err, err_size);
        } else if (env_to_key(entry, name_len, key, sizeof key)) {
            st = config_set(c, "node", key, eq + 1, origin, err, err_size);
        }
        if (st != PBFT_OK) return st;
    }
    return PBFT_OK;
}

static pbft_status_t resolve(const char *home, char *path, size_t path_size, const char *key,
                             char *err, size_t err_size) {
    if (path[0] == '/') return PBFT_OK;
    char joined[CONFIG_PATH_SIZE_MAX];
    int n = snprintf(joined, sizeof joined, "%s/%s", home, path);
    if (n < 0 || (size_t)n >= path_size || (size_t)n >= sizeof joined) {
        return config_error(err, err_size, "configuration", key, "path too long");
    }
    memcpy(path, joined, (size_t)n + 1);
    return PBFT_OK;
}

pbft_status_t config_finish(node_config_t *c, char *err, size_t err_size) {
    if (c->peer_count == 0) {
        return config_error(err, err_size, "configuration", "[peers]",
                            "no peers: list every replica as INDEX = tcp://HOST:PORT");
    }
    for (uint16_t i = 0; i < c->peer_count; i++) {
        if (!c->peer_set[i]) {
            return config_error(err, err_size, "configuration", "[peers]",
                                "peer %u is missing (indexes must run 0..%u)", i,
                                c->peer_count - 1);
        }
    }
    if (!c->replica_set) {
        return config_error(err, err_size, "configuration", "replica",
                            "not set (index of this replica in the validator set)");
    }
    if (c->replica >= c->peer_count) {
        return config_error(err, err_size, "configuration", "replica",
                            "%u is not below the number of peers (%u)", c->replica, c->peer_count);
    }
    pbft_status_t st = resolve(c->home, c->data_dir, sizeof c->data_dir, "data_dir", err, err_size);
    if (st == PBFT_OK)
        st = resolve(c->home, c->key_file, sizeof c->key_file, "key_file", err, err_size);
    if (st == PBFT_OK)
        st = resolve(c->home, c->genesis_file, sizeof c->genesis_file, "genesis_file", err,
                     err_size);
    return st;
}
