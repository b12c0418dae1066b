/*
 * tools/common/audit_compare.c — do several replicas hold the same chain?
 *
 * Safety in PBFT means no two correct replicas commit different blocks at
 * the same height, so the block hash at every height both hold must match.
 */
#include <inttypes.h>
#include <string.h>

#include "audit.h"
#include "pbft/crypto.h"

pbft_status_t audit_compare(audit_source_t *sources, size_t count, const audit_options_t *opts,
                            audit_report_t *report, uint64_t *common, char *err, size_t err_size) {
    *common = UINT64_MAX;
    for (size_t i = 0; i < count; i++) {
        uint64_t tip = 0;
        pbft_status_t st = audit_source_tip(&sources[i], &tip, err, err_size);
        if (st != PBFT_OK) return st;
        *common = PBFT_MIN(*common, tip);
    }
    if (count == 0) *common = 0;
    /* Block 0 is derived from genesis (and store_open checks the chain id). */
    for (uint64_t h = 1; h <= *common; h++) {
        if (opts->progress && h % 64 == 0) {
            fprintf(stderr, "\r\033[Kcomparing height %" PRIu64 "/%" PRIu64, h, *common);
            fflush(stderr);
        }
        uint8_t first[PBFT_HASH_SIZE], hash[PBFT_HASH_SIZE];
        pbft_status_t st = audit_source_block_hash(&sources[0], h, first, err, err_size);
        if (st != PBFT_OK) return st;
        for (size_t i = 1; i < count; i++) {
            st = audit_source_block_hash(&sources[i], h, hash, err, err_size);
            if (st != PBFT_OK) return st;
            if (memcmp(first, hash, PBFT_HASH_SIZE) == 0) continue;
            char a[65], b[65];
            crypto_hex_encode(first, PBFT_HASH_SIZE, a);
            crypto_hex_encode(hash, PBFT_HASH_SIZE, b);
            audit_report_fail(report, h, "replicas disagree: %s has block %.16s…, %s has %.16s…",
                              sources[0].label, a, sources[i].label, b);
            if (!opts->keep_going) goto done;
        }
    }
done:
    if (opts->progress) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
    return PBFT_OK;
}
