/*
 * pbft/messages.h — the PBFT wire messages and their canonical codec.
 *
 * Every message is one frame:
 *     u8 version (MSG_VERSION) | u8 type | u16 sender | body | [signature 64]
 *     [| appendix]
 * Integers little-endian; the same strict rules as pbft/codec.h: one valid
 * encoding per value, every length bounded by the remaining bytes and by a
 * named limit, reserved/flag bits zero, no trailing bytes. docs/FORMATS.md
 * ("PBFT messages") documents each byte.
 *
 * Who signs what (the verifier of each lives in consensus/, through
 * msg_signing_digest or the vote statements of pbft/cert.h):
 *  - PRE-PREPARE, PREPARE, COMMIT: signature over the vote statement
 *    (view, seq, block_hash, sender) with CRYPTO_TAG_PRE_PREPARE / _PREPARE /
 *    _COMMIT, so 2f+1 COMMITs form a pbft_commit_cert_t and a PRE-PREPARE
 *    plus 2f PREPAREs form a prepared certificate;
 *  - CHECKPOINT: signature over the checkpoint statement (CRYPTO_TAG_CHECKPOINT)
 *    so 2f+1 of them form a pbft_checkpoint_cert_t;
 *  - VIEW-CHANGE, NEW-VIEW, STATUS, STATE-REQUEST: signature over
 *    crypto_domain_hash(tag of the type, chain_id, frame bytes before the
 *    signature) — msg_signing_digest();
 *  - REQUEST and STATE-REPLY carry no signature: transactions and committed
 *    blocks authenticate themselves (tx signatures, commit certificates).
 *  - VIEW-CHANGE has an unsigned appendix after its signature: the full
 *    blocks of its prepared certificates (bound by their hashes).
 *
 * Depends on pbft/codec.h, pbft/types.h.
 */
#ifndef PBFT_MESSAGES_H
#define PBFT_MESSAGES_H

#include "pbft/codec.h"
#include "pbft/common.h"
#include "pbft/types.h"

#define MSG_VERSION 1
#define MSG_HEADER_SIZE 4 /* version, type, sender */

typedef enum msg_type {
    MSG_REQUEST = 1,       /* forwarded client transactions (unsigned) */
    MSG_PRE_PREPARE = 2,   /* primary proposes a block at (view, seq) */
    MSG_PREPARE = 3,       /* backup vote */
    MSG_COMMIT = 4,        /* vote; 2f+1 form a commit certificate */
    MSG_CHECKPOINT = 5,    /* (height, block_hash, state_hash) */
    MSG_VIEW_CHANGE = 6,   /* move to new_view; carries prepared certificates */
    MSG_NEW_VIEW = 7,      /* new primary: 2f+1 VIEW-CHANGEs + re-proposed blocks */
    MSG_STATUS = 8,        /* periodic: view, committed height, stable checkpoint */
    MSG_STATE_REQUEST = 9, /* catch-up: send me committed blocks from height h */
    MSG_STATE_REPLY = 10,  /* committed blocks with their commit certificates */
} msg_type_t;
#define MSG_TYPE_FIRST MSG_REQUEST
#define MSG_TYPE_LAST MSG_STATE_REPLY

/* ------------------------------------------------------------------------ */
/* Limits.                                                                    */

#define MSG_REQUEST_TX_COUNT_MAX 256
/* Prepared certificates in one VIEW-CHANGE / re-proposed blocks in one
 * NEW-VIEW: at most one per sequence number of the window. */
#define MSG_PREPARED_CERT_COUNT_MAX PBFT_WINDOW_MAX
#define MSG_NEW_VIEW_BLOCK_COUNT_MAX PBFT_WINDOW_MAX
#define MSG_VIEW_CHANGE_COUNT_MAX PBFT_REPLICA_COUNT_MAX
#define MSG_STATE_REPLY_BLOCK_COUNT_MAX PBFT_STATE_TRANSFER_BLOCKS_MAX
/* A signed VIEW-CHANGE without appendix: header, new_view, flags, two
 * certificates and MSG_PREPARED_CERT_COUNT_MAX compact prepared certs. */
#define MSG_PREPARED_CERT_SIZE_MAX                                                                 \
    (8 + 8 + PBFT_HASH_SIZE + PBFT_SIGNATURE_SIZE + 1 +                                            \
     PBFT_REPLICA_COUNT_MAX * (2 + PBFT_SIGNATURE_SIZE))
#define MSG_VIEW_CHANGE_SIGNED_SIZE_MAX                                                            \
    (MSG_HEADER_SIZE + 8 + 1 +                                                                     \
     2 * (8 + 2 * PBFT_HASH_SIZE + 2 + PBFT_REPLICA_COUNT_MAX * (2 + PBFT_SIGNATURE_SIZE)) + 1 +   \
     MSG_PREPARED_CERT_COUNT_MAX * MSG_PREPARED_CERT_SIZE_MAX + PBFT_SIGNATURE_SIZE)
_Static_assert(MSG_VIEW_CHANGE_COUNT_MAX *MSG_VIEW_CHANGE_SIGNED_SIZE_MAX <
                   PBFT_MESSAGE_SIZE_MAX / 16,
               "the view changes inside a NEW-VIEW leave room for its blocks");

/* ------------------------------------------------------------------------ */
/* Bodies.                                                                    */

/* PREPARE and COMMIT body: u64 view | u64 seq | block_hash[32]. */
typedef struct msg_vote {
    uint64_t view;
    uint64_t seq;
    uint8_t block_hash[PBFT_HASH_SIZE];
} msg_vote_t;

/* PRE-PREPARE body: u64 view | u64 seq | block. The signature is the
 * primary's vote signature over (view, seq, hash(block.header), sender). */
typedef struct msg_pre_prepare {
    uint64_t view;
    uint64_t seq;
    pbft_block_t block; /* owned */
} msg_pre_prepare_t;

/* REQUEST body: u16 tx_count (1..MSG_REQUEST_TX_COUNT_MAX) | txs. */
typedef struct msg_request {
    uint16_t tx_count;
    pbft_tx_t *txs; /* owned, tx_count entries */
} msg_request_t;

/* CHECKPOINT body: u64 height | block_hash[32] | state_hash[32]. */
typedef struct msg_checkpoint {
    uint64_t height;
    uint8_t block_hash[PBFT_HASH_SIZE];
    uint8_t state_hash[PBFT_HASH_SIZE];
} msg_checkpoint_t;

/* A prepared certificate in compact form (§4.4 of the OSDI paper: the
 * PRE-PREPARE and 2f matching PREPAREs): u64 view | u64 seq | block_hash |
 * pre_prepare_sig[64] (by primary(view)) | u8 prepare_count | prepare_count
 * × (u16 replica | sig[64]) with strictly increasing replica, none equal to
 * the primary. The decoder checks structure; consensus checks the quorum
 * size and every signature. */
typedef struct msg_prepared_cert {
    uint64_t view;
    uint64_t seq;
    uint8_t block_hash[PBFT_HASH_SIZE];
    uint8_t pre_prepare_sig[PBFT_SIGNATURE_SIZE];
    uint8_t prepare_count;
    pbft_replica_sig_t prepares[PBFT_REPLICA_COUNT_MAX];
} msg_prepared_cert_t;

#define MSG_VIEW_CHANGE_FLAG_CHECKPOINT 0x01 /* a stable checkpoint cert follows */
#define MSG_VIEW_CHANGE_FLAG_COMMITTED 0x02  /* a commit cert for `committed` follows */

/* VIEW-CHANGE (§4.5.2): signed part
 *     u64 new_view | u8 flags | [checkpoint cert] | [commit cert]
 *     | u8 cert_count | cert_count prepared certs (strictly increasing seq)
 * then the envelope signature, then the unsigned appendix
 *     u8 block_count | blocks (strictly increasing height)
 * The commit cert is the sender's highest contiguously committed block
 * (absent at genesis). Prepared certs are for seqs above it (at most one per
 * seq, the highest view). Each appendix block must be the block of one of
 * the certs (same height and header hash) — checked by consensus. In a
 * NEW-VIEW the VIEW-CHANGEs travel without appendix (has_appendix false). */
typedef struct msg_view_change {
    uint64_t new_view;
    bool has_checkpoint;
    pbft_checkpoint_cert_t checkpoint;
    bool has_committed;
    pbft_commit_cert_t committed;
    uint8_t cert_count;
    msg_prepared_cert_t certs[MSG_PREPARED_CERT_COUNT_MAX];
    /* signature of the signed part (copied here so a NEW-VIEW can embed it) */
    uint16_t sender;
    uint8_t signature[PBFT_SIGNATURE_SIZE];
    uint8_t block_count;
    pbft_block_t *blocks; /* owned, block_count entries (appendix) */
} msg_view_change_t;

/* NEW-VIEW (§4.5.2): u64 view | u8 vc_count | vc_count × (u32 size |
 * signed VIEW-CHANGE frame of that size, no appendix; strictly increasing
 * sender) | u8 block_count | block_count × (block | pre_prepare_sig[64])
 * (strictly increasing height) | signature. The blocks are the O-set
 * re-proposed in `view` (identical bytes as first proposed); each sig is the
 * new primary's PRE-PREPARE vote signature over (view, height, hash). */
typedef struct msg_new_view {
    uint64_t view;
    uint8_t vc_count;
    msg_view_change_t *vcs; /* owned, vc_count entries, no appendices */
    uint8_t block_count;
    pbft_block_t *blocks;                             /* owned */
    uint8_t (*pre_prepare_sigs)[PBFT_SIGNATURE_SIZE]; /* owned, block_count */
} msg_new_view_t;

#define MSG_STATUS_FLAG_IN_VIEW_CHANGE 0x01

/* STATUS body: u64 view | u8 flags | u64 committed_height |
 * committed_hash[32] | u64 executed_height | u64 stable_height. */
typedef struct msg_status {
    uint64_t view;
    bool in_view_change;
    uint64_t committed_height;
    uint8_t committed_hash[PBFT_HASH_SIZE];
    uint64_t executed_height;
    uint64_t stable_height;
} msg_status_t;

/* STATE-REQUEST body: u64 from_height | u16 count (1..MSG_STATE_REPLY_BLOCK_COUNT_MAX). */
typedef struct msg_state_request {
    uint64_t from_height;
    uint16_t count;
} msg_state_request_t;

/* STATE-REPLY body: u8 count (1..MSG_STATE_REPLY_BLOCK_COUNT_MAX) |
 * count × (block | commit cert), consecutive heights. */
typedef struct msg_state_reply {
    uint8_t count;
    pbft_block_t *blocks;      /* owned */
    pbft_commit_cert_t *certs; /* owned */
} msg_state_reply_t;

/* A decoded message. Free with msg_free (also after a failed decode). */
typedef struct msg {
    uint8_t type; /* msg_type_t */
    uint16_t sender;
    bool has_signature;
    uint8_t signature[PBFT_SIGNATURE_SIZE];
    size_t signed_size; /* frame bytes covered by an envelope signature */
    union {
        msg_request_t request;
        msg_pre_prepare_t pre_prepare;
        msg_vote_t vote; /* PREPARE, COMMIT */
        msg_checkpoint_t checkpoint;
        msg_view_change_t *view_change; /* owned (large) */
        msg_new_view_t new_view;
        msg_status_t status;
        msg_state_request_t state_request;
        msg_state_reply_t state_reply;
    } u;
} msg_t;

/* ------------------------------------------------------------------------ */
/* Codec.                                                                     */

/* True for types whose frame carries a signature. */
bool msg_type_is_signed(uint8_t type);
/* The crypto tag of a type's signature (CRYPTO_TAG_*); NULL for unsigned. */
const char *msg_type_tag(uint8_t type);
/* Short lowercase name ("pre-prepare") for logs; "unknown" otherwise. */
const char *msg_type_name(uint8_t type);

/* Strict decode of one frame (size <= PBFT_MESSAGE_SIZE_MAX). On success
 * *out owns its allocations; on failure *out is left freeable. Does not
 * check signatures, quorum sizes or the sender against n (consensus does). */
PBFT_MUST_USE pbft_status_t msg_decode(const uint8_t *data, size_t size, msg_t *out);
void msg_free(msg_t *m);

/* Exact encoded size of m (with signature and appendix). */
size_t msg_size(const msg_t *m);
/* Encodes m including m->signature (when signed) and appendix; returns bytes
 * written or 0 when capacity is too small. Preconditions (asserted): counts
 * within the limits above. *signed_size receives the offset of the
 * signature (NULL allowed) so a caller can sign the prefix and patch it in
 * with msg_patch_signature. */
size_t msg_encode(const msg_t *m, uint8_t *out, size_t capacity, size_t *signed_size);
/* Writes sig into an encoded frame at signed_size. */
void msg_patch_signature(uint8_t *frame, size_t signed_size,
                         const uint8_t sig[PBFT_SIGNATURE_SIZE]);

/* Digest an envelope signature covers: crypto_domain_hash(msg_type_tag(type),
 * chain_id, frame[0..signed_size)). */
void msg_signing_digest(uint8_t type, const uint8_t chain_id[PBFT_CHAIN_ID_SIZE],
                        const uint8_t *frame, size_t signed_size, uint8_t out[PBFT_HASH_SIZE]);

/* The signed frame of a VIEW-CHANGE (header | body | signature, no
 * appendix), as embedded in a NEW-VIEW; returns bytes written or 0. */
size_t msg_view_change_encode_signed(const msg_view_change_t *vc, uint8_t *out, size_t capacity,
                                     size_t *signed_size);
size_t msg_view_change_signed_size(const msg_view_change_t *vc);
/* The compact prepared certificate alone (also used by the replica's
 * persisted safety state). read checks structure only. */
void msg_prepared_cert_write(codec_writer_t *w, const msg_prepared_cert_t *c);
void msg_prepared_cert_read(codec_reader_t *r, msg_prepared_cert_t *c);
size_t msg_prepared_cert_size(const msg_prepared_cert_t *c);
/* Frees the appendix blocks of a view change (not the struct itself). */
void msg_view_change_clear(msg_view_change_t *vc);

#endif /* PBFT_MESSAGES_H */
