/*
 * node/config.h — a replica's configuration: defaults < DIR/config.ini (inih)
 * < PBFT_* environment variables < command-line flags. Every layer goes
 * through config_set, so every error names the key and where it came from
 * ("/home/n0/config.ini:4: [node] verify_threads: not a number in 0..256").
 */
#ifndef NODE_CONFIG_H
#define NODE_CONFIG_H

#include <limits.h>

#include "log.h"
#include "pbft/common.h"

#define CONFIG_URL_SIZE_MAX 256
#define CONFIG_PATH_SIZE_MAX 1024
#define CONFIG_ERR_SIZE_MAX 512
#define CONFIG_VERIFY_THREADS_MAX 256
#define CONFIG_HTTP_CONNECTIONS_MAX 4096
#define CONFIG_STORE_WRITE_MB_MAX 100000

typedef struct node_config {
    char home[CONFIG_PATH_SIZE_MAX];
    uint32_t replica;
    bool replica_set;
    char listen[CONFIG_URL_SIZE_MAX];    /* nanomsg URL we bind */
    char http[CONFIG_URL_SIZE_MAX];      /* host:port of the HTTP API */
    char data_dir[CONFIG_PATH_SIZE_MAX]; /* relative to home until config_finish */
    char key_file[CONFIG_PATH_SIZE_MAX];
    char genesis_file[CONFIG_PATH_SIZE_MAX];
    log_level_t log_level;
    log_format_t log_format;
    uint32_t verify_threads; /* 0 = one per core */
    uint32_t mempool_max;
    uint32_t http_connections_max;
    uint32_t store_write_mb_per_s; /* cap on RocksDB's background writes; 0 = none */
    uint16_t peer_count;
    char peers[PBFT_REPLICA_COUNT_MAX][CONFIG_URL_SIZE_MAX];
    bool peer_set[PBFT_REPLICA_COUNT_MAX];
} node_config_t;

void config_defaults(node_config_t *c);

/* Sets one key. section is "node" or "peers" (peers: key is the replica
 * index). origin names where the value came from, for the error message. */
PBFT_MUST_USE pbft_status_t config_set(node_config_t *c, const char *section, const char *key,
                                       const char *value, const char *origin, char *err,
                                       size_t err_size);

/* Reads an ini file (PBFT_ERR_IO when it cannot be opened, PBFT_ERR_CONFIG on
 * a bad line or value; err names the file, the line and the key). */
PBFT_MUST_USE pbft_status_t config_load_file(node_config_t *c, const char *path, char *err,
                                             size_t err_size);
/* The same from memory (tests); origin stands in for the file name. */
PBFT_MUST_USE pbft_status_t config_load_string(node_config_t *c, const char *text,
                                               const char *origin, char *err, size_t err_size);

/* Applies PBFT_<KEY> variables from a NULL-terminated environ-style array:
 * PBFT_REPLICA, PBFT_LISTEN, PBFT_HTTP, PBFT_DATA_DIR, PBFT_KEY_FILE,
 * PBFT_GENESIS_FILE, PBFT_LOG_LEVEL, PBFT_LOG_FORMAT, PBFT_VERIFY_THREADS,
 * PBFT_MEMPOOL_MAX, PBFT_HTTP_CONNECTIONS_MAX, and PBFT_PEER_<i>. Other PBFT_*
 * names (PBFT_HOME, PBFT_BIN, ...) are not config keys and are ignored. */
PBFT_MUST_USE pbft_status_t config_apply_env(node_config_t *c, const char *const *envp, char *err,
                                             size_t err_size);

/* Final checks (replica set and within the peers, peers contiguous from 0)
 * and resolution of relative paths against c->home. */
PBFT_MUST_USE pbft_status_t config_finish(node_config_t *c, char *err, size_t err_size);

/* Splits "host:port" (host may be "[v6]"); PBFT_ERR_CONFIG when malformed. */
PBFT_MUST_USE pbft_status_t config_parse_hostport(const char *text, char *host, size_t host_size,
                                                  uint16_t *port);

#endif /* NODE_CONFIG_H */
