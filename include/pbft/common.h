/*
 * pbft/common.h — the shared vocabulary of every module: the one status enum,
 * always-on assertions, allocation wrappers that abort on failure, and every
 * named limit with the compile-time relations between them.
 *
 * Depends on libc only.
 */
#ifndef PBFT_COMMON_H
#define PBFT_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define PBFT_VERSION_STRING "0.1.0"

#if defined(__GNUC__)
#define PBFT_MUST_USE __attribute__((warn_unused_result))
#define PBFT_NORETURN __attribute__((noreturn))
#define PBFT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define PBFT_MUST_USE
#define PBFT_NORETURN
#define PBFT_PRINTF(f, a)
#endif

/* ------------------------------------------------------------------------ */
/* Sizes fixed by the design.                                                */

#define PBFT_HASH_SIZE 32
#define PBFT_CHAIN_ID_SIZE 32
#define PBFT_PUBKEY_SIZE 33    /* SEC1 compressed P-256 point */
#define PBFT_SIGNATURE_SIZE 64 /* r || s, big-endian, 32 bytes each */
#define PBFT_ADDRESS_SIZE 20   /* first 20 bytes of SHA-256(pubkey) */

/* ------------------------------------------------------------------------ */
/* Named limits. Every queue, log, message and decoder is bounded by one.    */

#define PBFT_TX_MEMO_SIZE_MAX 256
/* version(1) pubkey(33) recipient(20) amount(8) nonce(8) memo_size(2)
 * memo(<=256) signature(64) */
#define PBFT_TX_SIZE_MIN                                                                           \
    (1 + PBFT_PUBKEY_SIZE + PBFT_ADDRESS_SIZE + 8 + 8 + 2 + PBFT_SIGNATURE_SIZE)
#define PBFT_TX_SIZE_MAX (PBFT_TX_SIZE_MIN + PBFT_TX_MEMO_SIZE_MAX)
#define PBFT_BLOCK_HEADER_SIZE 132
#define PBFT_BLOCK_TX_COUNT_MAX 2048
#define PBFT_BLOCK_SIZE_MAX (PBFT_BLOCK_HEADER_SIZE + PBFT_BLOCK_TX_COUNT_MAX * PBFT_TX_SIZE_MAX)
#define PBFT_REPLICA_COUNT_MAX 16 /* n = 3f+1 <= 16, so f <= 5 */
#define PBFT_REPLICA_COUNT_MIN 1
#define PBFT_WINDOW_MAX 16 /* sequence numbers in flight */
#define PBFT_CHECKPOINT_INTERVAL_MAX 1024
#define PBFT_MESSAGE_SIZE_MAX (8u * 1024u * 1024u) /* any frame on the wire */
#define PBFT_GENESIS_ACCOUNT_COUNT_MAX 100000
#define PBFT_GENESIS_FILE_SIZE_MAX (16u * 1024u * 1024u)
#define PBFT_CHAIN_NAME_SIZE_MAX 64
#define PBFT_MERKLE_DEPTH_MAX 32
#define PBFT_STATE_TRANSFER_BLOCKS_MAX 64 /* blocks per state-transfer reply */
#define PBFT_MEMPOOL_TX_COUNT_MAX 200000
#define PBFT_HTTP_BODY_SIZE_MAX (4u * 1024u * 1024u)
#define PBFT_HTTP_BATCH_TX_COUNT_MAX 4096

_Static_assert(PBFT_TX_SIZE_MIN == 136, "tx wire size");
_Static_assert(PBFT_BLOCK_SIZE_MAX < PBFT_MESSAGE_SIZE_MAX / 4,
               "a pre-prepare, view change or state transfer reply must fit one frame");
_Static_assert(PBFT_REPLICA_COUNT_MAX <= UINT16_MAX, "replica ids are u16 on the wire");
_Static_assert(PBFT_BLOCK_TX_COUNT_MAX <= (1ull << PBFT_MERKLE_DEPTH_MAX), "merkle depth");
_Static_assert(PBFT_HTTP_BATCH_TX_COUNT_MAX *PBFT_TX_SIZE_MAX * 2 <= PBFT_HTTP_BODY_SIZE_MAX * 2,
               "a full hex batch fits the HTTP body limit");
_Static_assert(PBFT_WINDOW_MAX * 2 <= PBFT_CHECKPOINT_INTERVAL_MAX * 2,
               "window within water marks");

/* ------------------------------------------------------------------------ */
/* The one status enum. 0 is success; each failure has a name and a string.  */

#define PBFT_STATUS_LIST(X)                                                                        \
    X(PBFT_OK, "ok")                                                                               \
    X(PBFT_ERR_ARGUMENT, "invalid argument")                                                       \
    X(PBFT_ERR_IO, "input/output error")                                                           \
    X(PBFT_ERR_NOT_FOUND, "not found")                                                             \
    X(PBFT_ERR_EXISTS, "already exists")                                                           \
    X(PBFT_ERR_PERMISSION, "file permissions too open")                                            \
    X(PBFT_ERR_TRUNCATED, "truncated encoding")                                                    \
    X(PBFT_ERR_TRAILING, "trailing bytes after encoding")                                          \
    X(PBFT_ERR_MALFORMED, "malformed encoding")                                                    \
    X(PBFT_ERR_LIMIT, "exceeds a size or count limit")                                             \
    X(PBFT_ERR_RESERVED, "non-zero reserved field")                                                \
    X(PBFT_ERR_VERSION, "unsupported version")                                                     \
    X(PBFT_ERR_NOT_CANONICAL, "non-canonical encoding")                                            \
    X(PBFT_ERR_BAD_KEY, "invalid public or private key")                                           \
    X(PBFT_ERR_BAD_SIGNATURE, "invalid signature")                                                 \
    X(PBFT_ERR_HIGH_S, "signature has high s")                                                     \
    X(PBFT_ERR_CRYPTO, "cryptographic library failure")                                            \
    X(PBFT_ERR_HASH_MISMATCH, "hash mismatch")                                                     \
    X(PBFT_ERR_BAD_MERKLE_PROOF, "invalid merkle proof")                                           \
    X(PBFT_ERR_UNKNOWN_REPLICA, "unknown replica")                                                 \
    X(PBFT_ERR_DUPLICATE_SIGNER, "duplicate signer")                                               \
    X(PBFT_ERR_NO_QUORUM, "not enough signatures for a quorum")                                    \
    X(PBFT_ERR_BAD_CERTIFICATE, "invalid certificate")                                             \
    X(PBFT_ERR_WRONG_CHAIN, "belongs to another chain")                                            \
    X(PBFT_ERR_BAD_HEIGHT, "unexpected height")                                                    \
    X(PBFT_ERR_BAD_PREV_HASH, "previous hash does not link")                                       \
    X(PBFT_ERR_BAD_MERKLE_ROOT, "merkle root mismatch")                                            \
    X(PBFT_ERR_CORRUPT, "stored data is corrupt")                                                  \
    X(PBFT_ERR_STORE, "storage engine error")                                                      \
    X(PBFT_ERR_CONFIG, "configuration error")                                                      \
    X(PBFT_ERR_GENESIS, "invalid genesis")                                                         \
    X(PBFT_ERR_DUPLICATE, "duplicate")                                                             \
    X(PBFT_ERR_FULL, "queue full")                                                                 \
    X(PBFT_ERR_STALE, "stale: old view or below the low water mark")                               \
    X(PBFT_ERR_OUT_OF_WINDOW, "outside the water marks")                                           \
    X(PBFT_ERR_WRONG_SENDER, "sender not allowed for this message")                                \
    X(PBFT_ERR_CONFLICT, "conflicts with an earlier message")                                      \
    X(PBFT_ERR_TIMEOUT, "timed out")                                                               \
    X(PBFT_ERR_UNAVAILABLE, "unavailable")                                                         \
    X(PBFT_ERR_NETWORK, "network error")                                                           \
    X(PBFT_ERR_INTERNAL, "internal error")

typedef enum pbft_status {
#define PBFT_STATUS_ENUM_(name, text) name,
    PBFT_STATUS_LIST(PBFT_STATUS_ENUM_)
#undef PBFT_STATUS_ENUM_
        PBFT_STATUS_COUNT
} pbft_status_t;

/* "PBFT_ERR_TRUNCATED" -> "truncated" style short name for logs and JSON. */
static inline const char *pbft_status_name(pbft_status_t status) {
    static const char *const names[] = {
#define PBFT_STATUS_NAME_(name, text) #name,
        PBFT_STATUS_LIST(PBFT_STATUS_NAME_)
#undef PBFT_STATUS_NAME_
    };
    if ((unsigned)status >= PBFT_STATUS_COUNT) return "PBFT_ERR_UNKNOWN";
    return names[status];
}

/* Human sentence fragment, e.g. "truncated encoding". */
static inline const char *pbft_status_string(pbft_status_t status) {
    static const char *const texts[] = {
#define PBFT_STATUS_TEXT_(name, text) text,
        PBFT_STATUS_LIST(PBFT_STATUS_TEXT_)
#undef PBFT_STATUS_TEXT_
    };
    if ((unsigned)status >= PBFT_STATUS_COUNT) return "unknown status";
    return texts[status];
}

/* ------------------------------------------------------------------------ */
/* Assertions: always compiled in (no NDEBUG switch), for our own bugs only. */
/* Bytes from a peer, a client or a file must never reach one.               */

/* Optional per-thread context printed with a failed assertion, e.g.
 * "replica=2 view=3 seq=17". The consensus driver keeps it current. */
extern _Thread_local char pbft_assert_context[128];

PBFT_NORETURN static inline void pbft_assert_fail_(const char *expr, const char *file, int line,
                                                   const char *func) {
    fprintf(stderr, "ASSERTION FAILED: %s\n  at %s:%d in %s()\n  context: %s\n", expr, file, line,
            func, pbft_assert_context[0] ? pbft_assert_context : "-");
    fflush(stderr);
    abort();
}

#define PBFT_ASSERT(cond)                                                                          \
    ((cond) ? (void)0 : pbft_assert_fail_(#cond, __FILE__, __LINE__, __func__))

/* For code paths that must be unreachable. */
#define PBFT_UNREACHABLE() pbft_assert_fail_("unreachable", __FILE__, __LINE__, __func__)

/* ------------------------------------------------------------------------ */
/* Allocation: failure aborts inside the wrapper so call sites stay clean.   */

PBFT_NORETURN static inline void pbft_alloc_fail_(size_t size) {
    fprintf(stderr, "FATAL: out of memory allocating %zu bytes\n", size);
    abort();
}

static inline void *pbft_xmalloc(size_t size) {
    void *p = malloc(size ? size : 1);
    if (p == NULL) pbft_alloc_fail_(size);
    return p;
}

static inline void *pbft_xcalloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p == NULL) pbft_alloc_fail_(count * size);
    return p;
}

static inline void *pbft_xrealloc(void *old, size_t size) {
    void *p = realloc(old, size ? size : 1);
    if (p == NULL) pbft_alloc_fail_(size);
    return p;
}

#define PBFT_ARRAY_COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define PBFT_MIN(a, b) ((a) < (b) ? (a) : (b))
#define PBFT_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif /* PBFT_COMMON_H */
