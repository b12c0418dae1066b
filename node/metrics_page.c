/*
 * node/metrics_page.c — renders GET /metrics (Prometheus text 0.0.4) from
 * the published replica status, the node's counters and the transport's.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

#define LOAD(x) ((unsigned long long)atomic_load(&(x)))

static void gauge(metrics_text_t *t, const char *name, const char *help, unsigned long long v) {
    metrics_text_printf(t, "# HELP %s %s\n# TYPE %s gauge\n%s %llu\n", name, help, name, name, v);
}

static void counter(metrics_text_t *t, const char *name, const char *help, unsigned long long v) {
    metrics_text_printf(t, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, v);
}

static void render_consensus(node_t *node, const node_status_t *s, metrics_text_t *t) {
    const replica_status_t *r = &s->replica;
    gauge(t, "pbft_height", "Height of the last block committed to the store.", s->stored_height);
    gauge(t, "pbft_view", "Current PBFT view.", r->view);
    gauge(t, "pbft_primary", "Primary replica of the current view.", r->primary);
    gauge(t, "pbft_in_view_change", "1 while a view change is in progress.", r->in_view_change);
    gauge(t, "pbft_catching_up", "1 while fetching committed blocks from peers.", r->catching_up);
    gauge(t, "pbft_stable_checkpoint", "Height of the latest stable checkpoint.",
          r->stable_checkpoint);
    gauge(t, "pbft_in_flight", "Sequence numbers pre-prepared and not yet committed.",
          r->in_flight);
    counter(t, "pbft_view_changes_total", "Views installed since start.", r->view_changes);
    counter(t, "pbft_blocks_committed_total", "Blocks committed to the store since start.",
            LOAD(node->metrics.blocks_committed));
    counter(t, "pbft_state_transfer_blocks_total", "Blocks applied through state transfer.",
            r->state_transfer_blocks);
    counter(t, "pbft_persist_failures_total", "Failed writes of the consensus safety state.",
            r->persist_failures);
    gauge(t, "pbft_mempool_size", "Transactions waiting in the mempool.", r->mempool_size);
    unsigned peers = 0;
    for (uint32_t m = r->peers_seen_mask; m; m &= m - 1)
        peers++;
    gauge(t, "pbft_peers_seen", "Replicas a valid signed message was received from.", peers);
}

static void render_txs(node_t *node, metrics_text_t *t) {
    metrics_text_printf(t, "# HELP pbft_txs_total Committed transactions by execution result.\n"
                           "# TYPE pbft_txs_total counter\n");
    for (int i = 0; i < PBFT_TX_RESULT_COUNT; i++) {
        metrics_text_printf(t, "pbft_txs_total{result=\"%s\"} %llu\n",
                            pbft_tx_result_string((pbft_tx_result_t)i),
                            LOAD(node->metrics.txs_committed[i]));
    }
    counter(t, "pbft_tx_submitted_total", "Transactions accepted into the mempool over HTTP.",
            LOAD(node->metrics.tx_submitted));
    metrics_text_printf(t,
                        "# HELP pbft_tx_rejected_total Transactions refused over HTTP.\n"
                        "# TYPE pbft_tx_rejected_total counter\n"
                        "pbft_tx_rejected_total{reason=\"bad_signature\"} %llu\n"
                        "pbft_tx_rejected_total{reason=\"malformed\"} %llu\n"
                        "pbft_tx_rejected_total{reason=\"mempool_full\"} %llu\n",
                        LOAD(node->metrics.tx_rejected_signature),
                        LOAD(node->metrics.tx_rejected_malformed),
                        LOAD(node->metrics.tx_rejected_full));
}

static void render_invalid(node_t *node, const replica_status_t *r, metrics_text_t *t) {
    const net_stats_t *ns = net_stats(node->net);
    metrics_text_printf(t, "# HELP pbft_invalid_messages_total Frames and messages dropped, by "
                           "reason.\n# TYPE pbft_invalid_messages_total counter\n");
    for (int i = 0; i < REPLICA_INVALID_COUNT; i++) {
        metrics_text_printf(t, "pbft_invalid_messages_total{reason=\"%s\"} %llu\n",
                            replica_invalid_reason_name((replica_invalid_reason_t)i),
                            (unsigned long long)r->invalid[i]);
    }
    metrics_text_printf(t,
                        "pbft_invalid_messages_total{reason=\"frame_malformed\"} %llu\n"
                        "pbft_invalid_messages_total{reason=\"frame_unknown_sender\"} %llu\n"
                        "pbft_invalid_messages_total{reason=\"frame_oversize\"} %llu\n"
                        "pbft_invalid_messages_total{reason=\"sender_mismatch\"} %llu\n"
                        "pbft_invalid_messages_total{reason=\"invalid_tx\"} %llu\n"
                        "pbft_invalid_messages_total{reason=\"ingress_full\"} %llu\n",
                        LOAD(ns->rejected_malformed), LOAD(ns->rejected_unknown_sender),
                        LOAD(ns->rejected_oversize), LOAD(node->metrics.frames_sender_mismatch),
                        LOAD(node->ingress_bad_tx), LOAD(node->ingress_dropped));
}

static void render_transport(node_t *node, metrics_text_t *t) {
    const net_stats_t *ns = net_stats(node->net);
    counter(t, "pbft_net_frames_received_total", "Frames received from peers.",
            LOAD(ns->frames_received));
    counter(t, "pbft_net_frames_sent_total", "Frames handed to nanomsg.", LOAD(ns->frames_sent));
    counter(t, "pbft_net_bytes_received_total", "Bytes received from peers.",
            LOAD(ns->bytes_received));
    counter(t, "pbft_net_bytes_sent_total", "Bytes sent to peers.", LOAD(ns->bytes_sent));
    counter(t, "pbft_net_send_dropped_total",
            "Frames dropped for a slow or absent peer (backlog full or older than 3 s).",
            LOAD(ns->dropped_backlog_full));
    gauge(t, "pbft_net_backlog_messages", "Frames waiting for a slow or absent peer.",
          LOAD(ns->backlog_messages));
}

static void render_store(node_t *node, metrics_text_t *t) {
    store_stats_t st;
    store_stats(node->store, &st);
    const struct {
        const char *name, *help;
        uint64_t value;
    } gauges[] = {
        {"pbft_store_memtable_bytes", "RocksDB memtables (active and being flushed).",
         st.memtables},
        {"pbft_store_table_readers_bytes", "RocksDB memory per SST file, outside the block cache.",
         st.table_readers},
        {"pbft_store_block_cache_bytes", "RocksDB block cache in use.", st.block_cache},
        {"pbft_store_block_cache_pinned_bytes", "RocksDB block cache entries pinned.",
         st.block_cache_pinned},
        {"pbft_store_l0_files",
         "RocksDB L0 files of the column family with the most (writes slow down at 20 and stop "
         "at 36).",
         st.l0_files},
        {"pbft_store_pending_compaction_bytes",
         "RocksDB's estimate of the bytes compactions still have to rewrite, all column "
         "families (it counts the chain family's, which move down without a rewrite).",
         st.pending_bytes},
        {"pbft_store_delayed_write_rate",
         "RocksDB's write rate limit in bytes/s while it slows writes down, else 0.",
         st.delayed_write_rate},
        {"pbft_store_write_stopped", "1 while RocksDB stops writes.", st.write_stopped},
    };
    for (size_t i = 0; i < sizeof gauges / sizeof gauges[0]; i++)
        gauge(t, gauges[i].name, gauges[i].help, gauges[i].value);
}

/* Resident memory, and how much of it malloc hands out: a heap that grows
 * while "allocated" stays flat is fragmentation, not a leak. */
static void render_memory(metrics_text_t *t) {
    unsigned long long resident = 0;
    char buf[128];
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fgets(buf, sizeof buf, f)) {
            char *end = NULL;
            (void)strtoull(buf, &end, 10); /* total program size */
            resident = strtoull(end, NULL, 10);
        }
        fclose(f);
    }
    gauge(t, "process_resident_memory_bytes", "Resident set size.",
          resident * (unsigned long long)sysconf(_SC_PAGESIZE));
    metrics_text_printf(t,
                        "# HELP pbft_heap_info The malloc this replica runs on.\n"
                        "# TYPE pbft_heap_info gauge\n"
                        "pbft_heap_info{allocator=\"%s\",version=\"%s\"} 1\n",
                        heap_allocator(), heap_allocator_version());
    heap_stats_t heap;
    if (!heap_read(&heap)) return;
    gauge(t, "pbft_heap_allocated_bytes", "Bytes malloc has handed out and not had back.",
          heap.allocated);
    gauge(t, "pbft_heap_free_bytes",
          "Bytes malloc keeps beyond that: glibc's free chunks in its arenas, or the pages "
          "jemalloc keeps resident minus what it has handed out.",
          heap.kept);
}

static void render_workers(node_t *node, metrics_text_t *t) {
    gauge(t, "pbft_verify_queue_depth", "Transactions waiting for a verify thread.",
          verify_pool_queue_depth(node->verify));
    counter(t, "pbft_verify_signatures_total", "Transaction signatures verified.",
            verify_pool_verified_total(node->verify));
    counter(t, "pbft_verify_cache_hits_total", "Transactions found already verified.",
            verify_pool_cache_hits(node->verify));
    counter(t, "pbft_verify_preverified_messages_total",
            "Peer messages whose transactions were verified before consensus saw them.",
            LOAD(node->metrics.preverified_messages));
    counter(t, "pbft_verify_inline_total",
            "Transactions consensus asked about that were not cached.",
            LOAD(node->tx_valid_fallbacks));
    gauge(t, "pbft_storage_queue_depth", "Delivered blocks waiting to be executed and stored.",
          storage_queue_depth(node->storage));
    metrics_text_printf(t,
                        "# HELP pbft_store_commit_seconds_total Time spent in synced block "
                        "writes.\n# TYPE pbft_store_commit_seconds_total counter\n"
                        "pbft_store_commit_seconds_total %.6f\n",
                        (double)atomic_load(&node->metrics.store_commit_us_total) / 1e6);
    metrics_text_printf(t,
                        "# HELP pbft_persist_seconds_total Time the consensus thread spent "
                        "in synced safety-state writes.\n# TYPE pbft_persist_seconds_total "
                        "counter\npbft_persist_seconds_total %.6f\n",
                        (double)atomic_load(&node->metrics.persist_us_total) / 1e6);
    counter(t, "pbft_persist_total", "Synced safety-state writes.",
            LOAD(node->metrics.persist_count));
    counter(t, "pbft_persist_bytes_total", "Bytes of safety state written.",
            LOAD(node->metrics.persist_bytes_total));
    render_store(node, t);
    counter(t, "pbft_http_requests_total", "HTTP requests served.",
            LOAD(node->metrics.http_requests));
    counter(t, "pbft_http_errors_total", "HTTP requests answered with 4xx or 5xx.",
            LOAD(node->metrics.http_errors));
    gauge(t, "pbft_http_long_polls", "HTTP requests waiting for a block (?wait_ms=).",
          LOAD(node->long_polls));
}

void node_render_metrics(node_t *node, metrics_text_t *out) {
    node_status_t s;
    node_get_status(node, &s);
    render_consensus(node, &s, out);
    render_txs(node, out);
    render_invalid(node, &s.replica, out);
    render_transport(node, out);
    render_workers(node, out);
    render_memory(out);
    metrics_render_latency(&node->metrics, out);
}
