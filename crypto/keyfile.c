/*
 * crypto/keyfile.c — private keys in PEM files.
 *
 * Saving: PKCS#8 PEM into a file created with O_CREAT|O_EXCL and mode 0600,
 * so a key is never written over another and is never readable by others,
 * not even for an instant. Loading: refuses a file that group or others can
 * access (the check is on the opened descriptor, so the file checked is the
 * file read), refuses anything that is not exactly one unencrypted P-256
 * private key in PEM (PKCS#8 or SEC1), and wipes every buffer that held it.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#define KEY_FILE_SIZE_MAX 16384 /* a P-256 PEM is ~250 bytes */

PBFT_PRINTF(3, 4)
static void err_set(char *err, size_t err_size, const char *fmt, ...) {
    if (err == NULL || err_size == 0) return;
    va_list ap;
    va_start(ap, fmt);
    /* clang-analyzer 14 loses track of va_start here (false positive). */
    vsnprintf(err, err_size, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(ap);
}

/* Never prompt for a passphrase: an encrypted key simply fails to parse. */
static int no_passphrase(char *buf, int size, int rwflag, void *user) {
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)user;
    return -1;
}

static bool write_all(int fd, const char *data, size_t size) {
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data += n;
        size -= (size_t)n;
    }
    return true;
}

/* PEM (PKCS#8) of the key into a secure-memory BIO the caller frees. */
static BIO *key_to_pem(const crypto_key_t *key) {
    BIO *bio = BIO_new(BIO_s_secmem());
    EVP_PKEY *pkey = EVP_PKEY_new();
    bool ok = bio != NULL && pkey != NULL && EVP_PKEY_set1_EC_KEY(pkey, key->ec) == 1 &&
              PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1;
    EVP_PKEY_free(pkey);
    if (!ok) {
        ERR_clear_error();
        BIO_free(bio);
        return NULL;
    }
    return bio;
}

/* Makes the new directory entry durable too, so a crash right after a node
 * or wallet creates its key cannot leave it without one. Best effort: some
 * file systems refuse fsync on a directory, and the data is already synced. */
static void sync_parent_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (slash == NULL) {
        snprintf(dir, sizeof(dir), ".");
    } else if (slash == path) {
        snprintf(dir, sizeof(dir), "/");
    } else {
        size_t len = (size_t)(slash - path);
        if (len >= sizeof(dir)) return;
        memcpy(dir, path, len);
        dir[len] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

pbft_status_t crypto_key_save(const crypto_key_t *key, const char *path) {
    PBFT_ASSERT(key != NULL && key->ec != NULL);
    if (path == NULL || path[0] == '\0') return PBFT_ERR_ARGUMENT;
    BIO *bio = key_to_pem(key);
    if (bio == NULL) return PBFT_ERR_CRYPTO;
    char *pem = NULL;
    long pem_size = BIO_get_mem_data(bio, &pem);
    PBFT_ASSERT(pem_size > 0 && pem != NULL);

    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int e = errno;
        BIO_free(bio);
        if (e == EEXIST) return PBFT_ERR_EXISTS;
        return e == EACCES || e == EPERM ? PBFT_ERR_PERMISSION : PBFT_ERR_IO;
    }
    /* The umask can only remove bits; make sure it is exactly 0600. */
    bool ok = fchmod(fd, 0600) == 0 && write_all(fd, pem, (size_t)pem_size) && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    BIO_free(bio); /* secure memory: cleansed on free */
    if (!ok) {
        unlink(path);
        return PBFT_ERR_IO;
    }
    sync_parent_dir(path);
    return PBFT_OK;
}

/* Reads the whole file behind fd, at most KEY_FILE_SIZE_MAX bytes. */
static pbft_status_t read_key_file(int fd, const char *path, char *buf, size_t *size, char *err,
                                   size_t err_size) {
    size_t used = 0;
    for (;;) {
        ssize_t n = read(fd, buf + used, KEY_FILE_SIZE_MAX + 1 - used);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            err_set(err, err_size, "cannot read key file %s: %s", path, strerror(errno));
            return PBFT_ERR_IO;
        }
        if (n == 0) break;
        used += (size_t)n;
        if (used > KEY_FILE_SIZE_MAX) {
            err_set(err, err_size, "key file %s is larger than %d bytes; not a P-256 key", path,
                    KEY_FILE_SIZE_MAX);
            return PBFT_ERR_BAD_KEY;
        }
    }
    *size = used;
    return PBFT_OK;
}

static pbft_status_t open_key_file(const char *path, int *fd_out, char *err, size_t err_size) {
    /* O_NONBLOCK: opening a FIFO planted at the path must not hang us; the
     * regular-file check below then refuses it. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        err_set(err, err_size, "cannot open key file %s: %s", path, strerror(e));
        if (e == ENOENT) return PBFT_ERR_NOT_FOUND;
        return e == EACCES || e == EPERM ? PBFT_ERR_PERMISSION : PBFT_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        err_set(err, err_size, "cannot stat key file %s: %s", path, strerror(errno));
        close(fd);
        return PBFT_ERR_IO;
    }
    if (!S_ISREG(st.st_mode)) {
        err_set(err, err_size, "key file %s is not a regular file", path);
        close(fd);
        return PBFT_ERR_BAD_KEY;
    }
    if ((st.st_mode & 077) != 0) {
        err_set(err, err_size,
                "key file %s is readable by group/others (mode %04o); run: chmod 600 %s", path,
                (unsigned)(st.st_mode & 07777), path);
        close(fd);
        return PBFT_ERR_PERMISSION;
    }
    *fd_out = fd;
    return PBFT_OK;
}

static bool only_whitespace(const char *p, size_t size) {
    for (size_t i = 0; i < size; i++) {
        if (p[i] != '\n' && p[i] != '\r' && p[i] != ' ' && p[i] != '\t') return false;
    }
    return true;
}

/*
 * Strict PEM: the file starts with a PEM block (OpenSSL would skip any text
 * before it), may hold an "EC PARAMETERS" block first (what `openssl ecparam
 * -genkey` writes), then exactly one unencrypted private key and nothing but
 * whitespace after it.
 */
static EC_KEY *parse_pem_key(const char *pem, size_t size) {
    static const char begin[] = "-----BEGIN ";
    if (size < sizeof(begin) - 1 || memcmp(pem, begin, sizeof(begin) - 1) != 0) return NULL;
    BIO *bio = BIO_new_mem_buf(pem, (int)size);
    if (bio == NULL) return NULL;
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    EC_KEY *ec = NULL;
    if (pkey != NULL && EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC) {
        char *rest = NULL;
        long rest_size = BIO_get_mem_data(bio, &rest);
        if (rest_size >= 0 && only_whitespace(rest, (size_t)rest_size)) {
            ec = EVP_PKEY_get1_EC_KEY(pkey);
        }
    }
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    ERR_clear_error();
    /* A key with explicit curve parameters is refused even when they equal
     * P-256's: named curves only, as every careful verifier does. */
    if (ec != NULL && EC_KEY_decoded_from_explicit_params(ec) != 0) {
        EC_KEY_free(ec);
        return NULL;
    }
    return ec;
}

pbft_status_t crypto_key_load(const char *path, crypto_key_t **out, char *err, size_t err_size) {
    if (path == NULL || out == NULL) return PBFT_ERR_ARGUMENT;
    int fd = -1;
    pbft_status_t status = open_key_file(path, &fd, err, err_size);
    if (status != PBFT_OK) return status;

    char *buf = pbft_xmalloc(KEY_FILE_SIZE_MAX + 1);
    size_t size = 0;
    status = read_key_file(fd, path, buf, &size, err, err_size);
    close(fd);
    EC_KEY *ec = status == PBFT_OK ? parse_pem_key(buf, size) : NULL;
    crypto_wipe(buf, KEY_FILE_SIZE_MAX + 1);
    free(buf);
    if (status != PBFT_OK) return status;
    if (ec == NULL) {
        err_set(err, err_size,
                "key file %s is not an unencrypted PEM EC private key on a named curve "
                "(PKCS#8 or SEC1)",
                path);
        return PBFT_ERR_BAD_KEY;
    }
    crypto_key_t *key = crypto_key_from_ec(ec); /* takes ec, checks the curve */
    if (key == NULL) {
        err_set(err, err_size, "key file %s does not hold a valid P-256 (prime256v1) key", path);
        return PBFT_ERR_BAD_KEY;
    }
    *out = key;
    return PBFT_OK;
}
