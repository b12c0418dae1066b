/*
 * tools/common/keystore.h — a directory of named account keys.
 *
 * Layout: DIR/NAME.pem (mode 0600) and optionally DIR/genesis.json. DIR is
 * created with mode 0700. Keys are never overwritten (crypto_key_save uses
 * O_EXCL). Names: 1..TOOLS_KEY_NAME_SIZE_MAX of [A-Za-z0-9_.-], not starting
 * with '.', so a name can never escape the directory.
 */
#ifndef PBFT_TOOLS_KEYSTORE_H
#define PBFT_TOOLS_KEYSTORE_H

#include "pbft/common.h"
#include "pbft/crypto.h"

#define TOOLS_KEY_NAME_SIZE_MAX 64
#define TOOLS_PATH_SIZE_MAX 4096
#define TOOLS_KEYSTORE_KEY_COUNT_MAX 10000

bool tools_key_name_valid(const char *name);

/* Creates dir (and its parent when missing) with mode 0700; an existing
 * directory is accepted as is. */
PBFT_MUST_USE pbft_status_t tools_keystore_create(const char *dir, char *err, size_t err_size);

/* DIR/NAME.pem into out (TOOLS_PATH_SIZE_MAX). PBFT_ERR_ARGUMENT on a bad name. */
PBFT_MUST_USE pbft_status_t tools_keystore_key_path(const char *dir, const char *name, char *out);

/* Generates and saves a new key NAME; PBFT_ERR_EXISTS when NAME exists.
 * *out_key (optional) receives the key (caller frees). */
PBFT_MUST_USE pbft_status_t tools_keystore_new(const char *dir, const char *name,
                                               crypto_key_t **out_key, char *err, size_t err_size);

/* Loads NAME; PBFT_ERR_NOT_FOUND, PBFT_ERR_PERMISSION (err names the chmod)
 * or PBFT_ERR_BAD_KEY. */
PBFT_MUST_USE pbft_status_t tools_keystore_load(const char *dir, const char *name,
                                                crypto_key_t **out, char *err, size_t err_size);

/* The sorted names of the keys in dir (malloc'd array of malloc'd strings). */
PBFT_MUST_USE pbft_status_t tools_keystore_list(const char *dir, char ***names, size_t *count);
void tools_keystore_list_free(char **names, size_t count);

#endif /* PBFT_TOOLS_KEYSTORE_H */
