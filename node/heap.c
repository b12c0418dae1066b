/*
 * node/heap.c — which malloc pbftd runs on, how it is set up, and what it
 * says about the heap.
 *
 * pbftd links jemalloc (Makefile; sanitizer builds keep glibc's malloc,
 * which the sanitizers replace). Under glibc a replica's resident memory
 * outside RocksDB's memtables and block cache kept rising with the chain
 * while what it allocated stayed flat: fragmentation (docs/OPERATIONS.md,
 * "Internals an operator may care about"). jemalloc is found at run time
 * through its mallctl(), declared weak here, so the node library also links
 * into programs without it.
 */
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
    __attribute__((weak));

/* Read by jemalloc when it starts, before main (MALLOC_CONF in the
 * environment still overrides it). Its purging of freed pages runs on its
 * own background thread, not inside the storage thread's frees; the decay
 * times are jemalloc's defaults. tcache_max: each thread keeps freed
 * blocks of up to 1 MiB for its next malloc, not only up to jemalloc's
 * default 32 KiB. A replica under load makes a few hundred allocations a
 * second between 32 KiB and 1 MiB, about 20 per block (counted with
 * jemalloc's stats_print). With the default, every one of them went back
 * to the arena, and jemalloc cost the replicas 10-13 us more CPU per
 * committed tx than glibc's malloc; with 1 MiB, about the same as glibc
 * (docs/OPERATIONS.md, "Internals an operator may care about"). */
const char *malloc_conf = "background_thread:true,max_background_threads:1,tcache_max:1048576";

/* An HTTP connection thread idles between requests, and there are as many
 * of them as clients keep connections open (http_connections_max). With
 * 1-MiB blocks cached per thread, one large POST would leave a block of
 * each size its body buffer grew through in that thread's cache for as
 * long as the connection stays: 48 idle connections that had each posted
 * 557 KB held 75 MiB more heap (tests/e2e/node_garbage.sh without the
 * flush; 2 MiB with it). So a connection thread hands its cache back
 * after every request. */
void heap_thread_flush(void) {
    if (mallctl) (void)mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
}

const char *heap_allocator(void) {
    return mallctl ? "jemalloc" : "glibc";
}

const char *heap_allocator_version(void) {
    const char *version = NULL;
    size_t size = sizeof version;
    if (mallctl && mallctl("version", &version, &size, NULL, 0) == 0 && version) return version;
    return "";
}

/* Under glibc: keep freed heap memory instead of handing it back to the
 * kernel. RocksDB builds each memtable from 1 MiB arena blocks and frees
 * them all after the flush; with glibc's defaults those blocks are
 * returned (munmap, heap trim) and the next memtable faults every page in
 * again (16 us a fault on the 2-core VM docs/BENCHMARKS.md describes).
 * Under jemalloc this is malloc_conf's business. */
void heap_configure(void) {
#ifdef __GLIBC__
    if (mallctl) return;
    (void)mallopt(M_MMAP_THRESHOLD, 4 << 20); /* arena blocks come from the heap */
    (void)mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

static bool jemalloc_stat(const char *name, size_t *out) {
    size_t size = sizeof *out;
    return mallctl(name, out, &size, NULL, 0) == 0;
}

/* jemalloc's figures are refreshed by writing its "epoch"; glibc's
 * mallinfo2() walks every arena's free lists under that arena's lock. Once
 * per scrape is fine for both; a hot path is not. */
bool heap_read(heap_stats_t *out) {
    if (mallctl) {
        uint64_t epoch = 1;
        size_t size = sizeof epoch;
        size_t allocated = 0, resident = 0;
        if (mallctl("epoch", &epoch, &size, &epoch, sizeof epoch) != 0 ||
            !jemalloc_stat("stats.allocated", &allocated) ||
            !jemalloc_stat("stats.resident", &resident))
            return false;
        out->allocated = allocated;
        out->kept = resident > allocated ? resident - allocated : 0;
        return true;
    }
#ifdef __GLIBC__
    struct mallinfo2 mi = mallinfo2();
    out->allocated = (unsigned long long)mi.uordblks + (unsigned long long)mi.hblkhd;
    out->kept = mi.fordblks;
    return true;
#else
    return false;
#endif
}
