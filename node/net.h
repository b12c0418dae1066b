/*
 * node/net.h — the replica-to-replica transport over nanomsg. node/net.c is
 * the only file that includes nanomsg/nn.h.
 *
 * One inbound NN_PULL socket bound to our `listen` URL; one outbound NN_PUSH
 * per peer connected to its URL. Sends never block the consensus thread: a
 * send that cannot go out at once (peer down or slow) waits in a per-peer
 * backlog bounded by NET_BACKLOG_BYTES_MAX / NET_BACKLOG_COUNT_MAX and is
 * flushed when the socket becomes writable (NN_SNDFD); past the bound, or
 * older than NET_BACKLOG_AGE_MS_MAX, it is dropped and counted. The links deliver at most once;
 * PBFT tolerates loss.
 *
 * Frame on the wire (little-endian):
 *   u32 magic 'PBFT' | u8 version | u8 reserved (0) | u16 sender | u32 size
 *   | size bytes of one consensus message
 * The header is checked and the size limit enforced (NN_RCVMAXSIZE) before
 * anything is decoded. The frame's sender is only a routing hint: the
 * message's signature authenticates it, and the caller checks that the
 * message names the same sender.
 */
#ifndef NODE_NET_H
#define NODE_NET_H

#include "pbft/common.h"

#define NET_FRAME_HEADER_SIZE 12
#define NET_FRAME_MAGIC 0x54464250u /* bytes 'P' 'B' 'F' 'T' */
#define NET_FRAME_VERSION 1
#define NET_FRAME_SIZE_MAX (PBFT_MESSAGE_SIZE_MAX + NET_FRAME_HEADER_SIZE)
#define NET_BACKLOG_BYTES_MAX (16u * 1024u * 1024u) /* per peer; oldest dropped past it */
#define NET_BACKLOG_COUNT_MAX 8192u                 /* per peer */
#define NET_SNDBUF_BYTES (4 * 1024 * 1024)
/* A frame that waited longer than this for a peer is dropped: after a pause
 * that long the peer needs fresh traffic (or state transfer), not a flood of
 * stale votes it would reject anyway. */
#define NET_BACKLOG_AGE_MS_MAX 3000

typedef struct net_frame_header {
    uint32_t magic;
    uint8_t version;
    uint8_t reserved;
    uint16_t sender;
    uint32_t payload_size;
} net_frame_header_t;

void net_frame_header_encode(const net_frame_header_t *h, uint8_t out[NET_FRAME_HEADER_SIZE]);

/* Checks a received frame: header complete, magic, version, reserved zero,
 * sender < replica_count and != self, payload size within
 * PBFT_MESSAGE_SIZE_MAX and equal to the bytes that follow. On PBFT_OK
 * *payload points into frame. Failures: PBFT_ERR_TRUNCATED, PBFT_ERR_MALFORMED
 * (magic), PBFT_ERR_VERSION, PBFT_ERR_RESERVED, PBFT_ERR_UNKNOWN_REPLICA,
 * PBFT_ERR_LIMIT, PBFT_ERR_TRAILING. */
PBFT_MUST_USE pbft_status_t net_frame_decode(const uint8_t *frame, size_t size,
                                             uint16_t replica_count, uint16_t self,
                                             net_frame_header_t *out, const uint8_t **payload,
                                             size_t *payload_size);

/* Counters (read by /metrics from any thread; written by the owner thread). */
typedef struct net_stats {
    _Atomic uint64_t frames_received;
    _Atomic uint64_t frames_sent;
    _Atomic uint64_t bytes_received;
    _Atomic uint64_t bytes_sent;
    _Atomic uint64_t dropped_backlog_full; /* sends dropped: peer backlog full */
    _Atomic uint64_t rejected_malformed;   /* bad header */
    _Atomic uint64_t rejected_unknown_sender;
    _Atomic uint64_t rejected_oversize;
    _Atomic uint64_t backlog_messages; /* gauge: all peers */
} net_stats_t;

typedef struct net net_t;

/* Binds listen_url and connects to every peer but self. Errors name the URL;
 * PBFT_ERR_UNAVAILABLE when the address is in use. */
PBFT_MUST_USE pbft_status_t net_open(const char *listen_url, uint16_t self, uint16_t peer_count,
                                     const char (*peer_urls)[256], net_t **out, char *err,
                                     size_t err_size);
void net_close(net_t *net);
const net_stats_t *net_stats(const net_t *net);

/* For poll(2): the inbound socket's readable fd. */
int net_recv_fd(const net_t *net);
/* Fills fds with the NN_SNDFD of every peer that has a backlog; returns how
 * many (<= max). Poll them for POLLIN; then call net_flush. */
size_t net_backlog_fds(net_t *net, int *fds, size_t max);
/* Sends what the backlogs hold until a socket would block. */
void net_flush(net_t *net);

/* Receives one frame without blocking. PBFT_OK: *payload (borrowed until the
 * next net_recv or net_close) holds a message from *sender whose header was
 * valid. PBFT_ERR_UNAVAILABLE: nothing to read. Other statuses: a bad frame
 * that was counted and dropped (call again). */
PBFT_MUST_USE pbft_status_t net_recv(net_t *net, uint16_t *sender, const uint8_t **payload,
                                     size_t *payload_size);

/* Queues one message for a peer (copied). Never blocks. */
void net_send(net_t *net, uint16_t to, const uint8_t *payload, size_t size);
/* To every peer but self. */
void net_broadcast(net_t *net, const uint8_t *payload, size_t size);

#endif /* NODE_NET_H */
