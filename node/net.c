/*
 * node/net.c — see net.h. The only file that includes nanomsg headers.
 */
#include "net.h"

#include <errno.h>
#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>
#include <nanomsg/tcp.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "log.h"

typedef struct backlog_item {
    struct backlog_item *next;
    uint64_t queued_ms; /* CLOCK_MONOTONIC */
    size_t size;
    uint8_t frame[]; /* header + payload */
} backlog_item_t;

typedef struct net_peer {
    int sock; /* NN_PUSH; -1 for self */
    int sndfd;
    backlog_item_t *head;
    backlog_item_t *tail;
    size_t backlog_bytes;
    size_t backlog_count;
} net_peer_t;

struct net {
    int pull;
    int rcvfd;
    uint16_t self;
    uint16_t peer_count;
    net_peer_t peers[PBFT_REPLICA_COUNT_MAX];
    void *rx_msg; /* the last received nanomsg buffer (freed on next recv) */
    net_stats_t stats;
};

void net_frame_header_encode(const net_frame_header_t *h, uint8_t out[NET_FRAME_HEADER_SIZE]) {
    for (int i = 0; i < 4; i++)
        out[i] = (uint8_t)(h->magic >> (8 * i));
    out[4] = h->version;
    out[5] = h->reserved;
    out[6] = (uint8_t)h->sender;
    out[7] = (uint8_t)(h->sender >> 8);
    for (int i = 0; i < 4; i++)
        out[8 + i] = (uint8_t)(h->payload_size >> (8 * i));
}

static uint32_t read_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

pbft_status_t net_frame_decode(const uint8_t *frame, size_t size, uint16_t replica_count,
                               uint16_t self, net_frame_header_t *out, const uint8_t **payload,
                               size_t *payload_size) {
    if (size < NET_FRAME_HEADER_SIZE) return PBFT_ERR_TRUNCATED;
    net_frame_header_t h = {
        .magic = read_u32(frame),
        .version = frame[4],
        .reserved = frame[5],
        .sender = (uint16_t)(frame[6] | frame[7] << 8),
        .payload_size = read_u32(frame + 8),
    };
    if (h.magic != NET_FRAME_MAGIC) return PBFT_ERR_MALFORMED;
    if (h.version != NET_FRAME_VERSION) return PBFT_ERR_VERSION;
    if (h.reserved != 0) return PBFT_ERR_RESERVED;
    if (h.sender >= replica_count || h.sender == self) return PBFT_ERR_UNKNOWN_REPLICA;
    if (h.payload_size > PBFT_MESSAGE_SIZE_MAX) return PBFT_ERR_LIMIT;
    size_t rest = size - NET_FRAME_HEADER_SIZE;
    if (h.payload_size > rest) return PBFT_ERR_TRUNCATED;
    if (h.payload_size < rest) return PBFT_ERR_TRAILING;
    *out = h;
    *payload = frame + NET_FRAME_HEADER_SIZE;
    *payload_size = h.payload_size;
    return PBFT_OK;
}

static pbft_status_t nn_fail(const char *what, const char *url, char *err, size_t err_size) {
    int e = nn_errno();
    if (err) snprintf(err, err_size, "%s %s: %s", what, url, nn_strerror(e));
    return e == EADDRINUSE ? PBFT_ERR_UNAVAILABLE : PBFT_ERR_NETWORK;
}

static pbft_status_t open_inbound(net_t *net, const char *url, char *err, size_t err_size) {
    net->pull = nn_socket(AF_SP, NN_PULL);
    if (net->pull < 0) return nn_fail("nn_socket", url, err, err_size);
    int max = (int)NET_FRAME_SIZE_MAX;
    int rcvbuf = NET_SNDBUF_BYTES;
    size_t fd_size = sizeof net->rcvfd;
    if (nn_setsockopt(net->pull, NN_SOL_SOCKET, NN_RCVMAXSIZE, &max, sizeof max) < 0 ||
        nn_setsockopt(net->pull, NN_SOL_SOCKET, NN_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0 ||
        nn_getsockopt(net->pull, NN_SOL_SOCKET, NN_RCVFD, &net->rcvfd, &fd_size) < 0) {
        return nn_fail("configure inbound socket for", url, err, err_size);
    }
    if (nn_bind(net->pull, url) < 0) return nn_fail("cannot listen on", url, err, err_size);
    return PBFT_OK;
}

static pbft_status_t open_outbound(net_peer_t *peer, const char *url, char *err, size_t err_size) {
    peer->sock = nn_socket(AF_SP, NN_PUSH);
    if (peer->sock < 0) return nn_fail("nn_socket", url, err, err_size);
    int sndbuf = NET_SNDBUF_BYTES;
    int nodelay = 1;
    int reconnect_max_ms = 1000;
    size_t fd_size = sizeof peer->sndfd;
    if (nn_setsockopt(peer->sock, NN_SOL_SOCKET, NN_SNDBUF, &sndbuf, sizeof sndbuf) < 0 ||
        nn_setsockopt(peer->sock, NN_SOL_SOCKET, NN_RECONNECT_IVL_MAX, &reconnect_max_ms,
                      sizeof reconnect_max_ms) < 0 ||
        nn_setsockopt(peer->sock, NN_TCP, NN_TCP_NODELAY, &nodelay, sizeof nodelay) < 0 ||
        nn_getsockopt(peer->sock, NN_SOL_SOCKET, NN_SNDFD, &peer->sndfd, &fd_size) < 0) {
        return nn_fail("configure outbound socket for", url, err, err_size);
    }
    if (nn_connect(peer->sock, url) < 0) return nn_fail("cannot connect to", url, err, err_size);
    return PBFT_OK;
}

pbft_status_t net_open(const char *listen_url, uint16_t self, uint16_t peer_count,
                       const char (*peer_urls)[256], net_t **out, char *err, size_t err_size) {
    PBFT_ASSERT(peer_count >= 1 && peer_count <= PBFT_REPLICA_COUNT_MAX && self < peer_count);
    net_t *net = pbft_xcalloc(1, sizeof *net);
    net->self = self;
    net->peer_count = peer_count;
    net->pull = -1;
    for (uint16_t i = 0; i < PBFT_REPLICA_COUNT_MAX; i++)
        net->peers[i].sock = -1;
    pbft_status_t st = open_inbound(net, listen_url, err, err_size);
    for (uint16_t i = 0; st == PBFT_OK && i < peer_count; i++) {
        if (i != self) st = open_outbound(&net->peers[i], peer_urls[i], err, err_size);
    }
    if (st != PBFT_OK) {
        net_close(net);
        return st;
    }
    *out = net;
    return PBFT_OK;
}

static void backlog_clear(net_t *net, net_peer_t *peer) {
    while (peer->head) {
        backlog_item_t *item = peer->head;
        peer->head = item->next;
        free(item);
        atomic_fetch_sub(&net->stats.backlog_messages, 1);
    }
    peer->tail = NULL;
    peer->backlog_bytes = 0;
    peer->backlog_count = 0;
}

void net_close(net_t *net) {
    if (!net) return;
    for (uint16_t i = 0; i < PBFT_REPLICA_COUNT_MAX; i++) {
        backlog_clear(net, &net->peers[i]);
        if (net->peers[i].sock >= 0) nn_close(net->peers[i].sock);
    }
    if (net->rx_msg) nn_freemsg(net->rx_msg);
    if (net->pull >= 0) nn_close(net->pull);
    free(net);
}

const net_stats_t *net_stats(const net_t *net) {
    return &net->stats;
}

int net_recv_fd(const net_t *net) {
    return net->rcvfd;
}

size_t net_backlog_fds(net_t *net, int *fds, size_t max) {
    size_t n = 0;
    for (uint16_t i = 0; i < net->peer_count && n < max; i++) {
        if (net->peers[i].head) fds[n++] = net->peers[i].sndfd;
    }
    return n;
}

/* One non-blocking send; true when nanomsg took the frame. */
static bool try_send(net_t *net, net_peer_t *peer, const uint8_t *frame, size_t size) {
    int rc = nn_send(peer->sock, frame, size, NN_DONTWAIT);
    if (rc < 0) return false;
    atomic_fetch_add(&net->stats.frames_sent, 1);
    atomic_fetch_add(&net->stats.bytes_sent, size);
    return true;
}

static uint64_t monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void backlog_flush_peer(net_t *net, net_peer_t *peer) {
    uint64_t now_ms = monotonic_ms();
    while (peer->head) {
        backlog_item_t *item = peer->head;
        bool stale = now_ms - item->queued_ms > NET_BACKLOG_AGE_MS_MAX;
        if (stale) {
            atomic_fetch_add(&net->stats.dropped_backlog_full, 1);
        } else if (!try_send(net, peer, item->frame, item->size)) {
            return;
        }
        peer->head = item->next;
        if (!peer->head) peer->tail = NULL;
        peer->backlog_bytes -= item->size;
        peer->backlog_count--;
        atomic_fetch_sub(&net->stats.backlog_messages, 1);
        free(item);
    }
}

void net_flush(net_t *net) {
    for (uint16_t i = 0; i < net->peer_count; i++) {
        if (net->peers[i].head) backlog_flush_peer(net, &net->peers[i]);
    }
}

/* Keeps the newest messages: past the bound the oldest are dropped, since a
 * peer that comes back needs the current view's traffic, not old votes. */
static void backlog_push(net_t *net, net_peer_t *peer, const uint8_t *frame, size_t size) {
    while (peer->head && (peer->backlog_count + 1 > NET_BACKLOG_COUNT_MAX ||
                          peer->backlog_bytes + size > NET_BACKLOG_BYTES_MAX)) {
        backlog_item_t *old = peer->head;
        peer->head = old->next;
        if (!peer->head) peer->tail = NULL;
        peer->backlog_bytes -= old->size;
        peer->backlog_count--;
        atomic_fetch_sub(&net->stats.backlog_messages, 1);
        atomic_fetch_add(&net->stats.dropped_backlog_full, 1);
        free(old);
    }
    backlog_item_t *item = pbft_xmalloc(sizeof *item + size);
    item->next = NULL;
    item->queued_ms = monotonic_ms();
    item->size = size;
    memcpy(item->frame, frame, size);
    if (peer->tail) {
        peer->tail->next = item;
    } else {
        peer->head = item;
    }
    peer->tail = item;
    peer->backlog_bytes += size;
    peer->backlog_count++;
    atomic_fetch_add(&net->stats.backlog_messages, 1);
}

static void send_frame(net_t *net, uint16_t to, const uint8_t *frame, size_t size) {
    net_peer_t *peer = &net->peers[to];
    if (peer->head) backlog_flush_peer(net, peer); /* keep order */
    if (!peer->head && try_send(net, peer, frame, size)) return;
    backlog_push(net, peer, frame, size);
}

static uint8_t *build_frame(const net_t *net, const uint8_t *payload, size_t size) {
    PBFT_ASSERT(size <= PBFT_MESSAGE_SIZE_MAX);
    uint8_t *frame = pbft_xmalloc(NET_FRAME_HEADER_SIZE + size);
    net_frame_header_t h = {.magic = NET_FRAME_MAGIC,
                            .version = NET_FRAME_VERSION,
                            .reserved = 0,
                            .sender = net->self,
                            .payload_size = (uint32_t)size};
    net_frame_header_encode(&h, frame);
    if (size) memcpy(frame + NET_FRAME_HEADER_SIZE, payload, size);
    return frame;
}

void net_send(net_t *net, uint16_t to, const uint8_t *payload, size_t size) {
    if (to >= net->peer_count || to == net->self) return;
    uint8_t *frame = build_frame(net, payload, size);
    send_frame(net, to, frame, NET_FRAME_HEADER_SIZE + size);
    free(frame);
}

void net_broadcast(net_t *net, const uint8_t *payload, size_t size) {
    uint8_t *frame = build_frame(net, payload, size);
    for (uint16_t i = 0; i < net->peer_count; i++) {
        if (i != net->self) send_frame(net, i, frame, NET_FRAME_HEADER_SIZE + size);
    }
    free(frame);
}

pbft_status_t net_recv(net_t *net, uint16_t *sender, const uint8_t **payload,
                       size_t *payload_size) {
    if (net->rx_msg) {
        nn_freemsg(net->rx_msg);
        net->rx_msg = NULL;
    }
    void *msg = NULL;
    int rc = nn_recv(net->pull, &msg, NN_MSG, NN_DONTWAIT);
    if (rc < 0) {
        int e = nn_errno();
        if (e == EAGAIN || e == EINTR) return PBFT_ERR_UNAVAILABLE;
        LOG_WARN_RL("net", "receive failed", LOG_STR("error", nn_strerror(e)));
        return PBFT_ERR_UNAVAILABLE;
    }
    net->rx_msg = msg;
    atomic_fetch_add(&net->stats.frames_received, 1);
    atomic_fetch_add(&net->stats.bytes_received, (uint64_t)rc);
    net_frame_header_t h;
    pbft_status_t st =
        net_frame_decode(msg, (size_t)rc, net->peer_count, net->self, &h, payload, payload_size);
    if (st == PBFT_OK) {
        *sender = h.sender;
        return PBFT_OK;
    }
    if (st == PBFT_ERR_UNKNOWN_REPLICA) {
        atomic_fetch_add(&net->stats.rejected_unknown_sender, 1);
    } else if (st == PBFT_ERR_LIMIT) {
        atomic_fetch_add(&net->stats.rejected_oversize, 1);
    } else {
        atomic_fetch_add(&net->stats.rejected_malformed, 1);
    }
    LOG_WARN_RL("net", "dropped bad frame", LOG_STATUS(st), LOG_U64("size", (uint64_t)rc));
    return st;
}
