/*
 * tools/common/keystore.c — named keys in a private directory.
 */
#include "keystore.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool tools_key_name_valid(const char *name) {
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > TOOLS_KEY_NAME_SIZE_MAX || name[0] == '.') return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
        if (!ok) return false;
    }
    return true;
}

pbft_status_t tools_keystore_create(const char *dir, char *err, size_t err_size) {
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return PBFT_OK;
        snprintf(err, err_size, "%s exists and is not a directory", dir);
        return PBFT_ERR_EXISTS;
    }
    if (mkdir(dir, 0700) == 0) return PBFT_OK;
    snprintf(err, err_size, "cannot create keystore %s: %s", dir, strerror(errno));
    return errno == EACCES ? PBFT_ERR_PERMISSION : PBFT_ERR_IO;
}

pbft_status_t tools_keystore_key_path(const char *dir, const char *name, char *out) {
    if (!tools_key_name_valid(name)) return PBFT_ERR_ARGUMENT;
    int n = snprintf(out, TOOLS_PATH_SIZE_MAX, "%s/%s.pem", dir, name);
    return (n > 0 && n < TOOLS_PATH_SIZE_MAX) ? PBFT_OK : PBFT_ERR_LIMIT;
}

pbft_status_t tools_keystore_new(const char *dir, const char *name, crypto_key_t **out_key,
                                 char *err, size_t err_size) {
    char path[TOOLS_PATH_SIZE_MAX];
    if (tools_keystore_key_path(dir, name, path) != PBFT_OK) {
        snprintf(err, err_size, "bad key name \"%s\" (use letters, digits, '_', '-', '.')", name);
        return PBFT_ERR_ARGUMENT;
    }
    pbft_status_t st = tools_keystore_create(dir, err, err_size);
    if (st != PBFT_OK) return st;
    crypto_key_t *key = crypto_key_generate();
    if (!key) {
        snprintf(err, err_size, "key generation failed");
        return PBFT_ERR_CRYPTO;
    }
    st = crypto_key_save(key, path);
    if (st != PBFT_OK) {
        crypto_key_free(key);
        if (st == PBFT_ERR_EXISTS)
            snprintf(err, err_size, "key %s already exists (%s); refusing to overwrite", name,
                     path);
        else
            snprintf(err, err_size, "cannot save %s: %s", path, pbft_status_string(st));
        return st;
    }
    if (out_key)
        *out_key = key;
    else
        crypto_key_free(key);
    return PBFT_OK;
}

pbft_status_t tools_keystore_load(const char *dir, const char *name, crypto_key_t **out, char *err,
                                  size_t err_size) {
    char path[TOOLS_PATH_SIZE_MAX];
    if (tools_keystore_key_path(dir, name, path) != PBFT_OK) {
        snprintf(err, err_size, "bad key name \"%s\"", name);
        return PBFT_ERR_ARGUMENT;
    }
    if (access(path, F_OK) != 0) {
        snprintf(err, err_size, "no key named %s in %s (pbft-wallet new %s, or --keystore DIR)",
                 name, dir, name);
        return PBFT_ERR_NOT_FOUND;
    }
    char why[256] = "";
    pbft_status_t st = crypto_key_load(path, out, why, sizeof(why));
    if (st != PBFT_OK)
        snprintf(err, err_size, "cannot load %s: %s", path, why[0] ? why : pbft_status_string(st));
    return st;
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

pbft_status_t tools_keystore_list(const char *dir, char ***names, size_t *count) {
    *names = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? PBFT_ERR_NOT_FOUND : PBFT_ERR_IO;
    char **list = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < TOOLS_KEYSTORE_KEY_COUNT_MAX) {
        size_t len = strlen(e->d_name);
        if (len <= 4 || strcmp(e->d_name + len - 4, ".pem") != 0) continue;
        char *name = pbft_xmalloc(len - 3);
        memcpy(name, e->d_name, len - 4);
        name[len - 4] = '\0';
        if (!tools_key_name_valid(name)) {
            free(name);
            continue;
        }
        list = pbft_xrealloc(list, (n + 1) * sizeof(char *));
        list[n++] = name;
    }
    closedir(d);
    if (n) qsort(list, n, sizeof(char *), compare_names);
    *names = list;
    *count = n;
    return PBFT_OK;
}

void tools_keystore_list_free(char **names, size_t count) {
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}
