/*
 * tools/verify/tamper.c — TEST HOOK behind pbft-verify --debug-tamper.
 *
 * Corrupts one stored value of a stopped replica through
 * store_debug_put_raw so tests/e2e/tamper_store.sh can check that the audit
 * finds it and names the height and the reason. Not listed in --help.
 *   tx-amount:H  add 1 to the amount of tx 0 of block H (signature and Merkle
 *                root no longer match)
 *   cert-sig:H   flip one bit of the first signature in block H's commit
 *                certificate
 */
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "verify.h"
#include "../common/json.h"
#include "pbft/codec.h"

#define TAMPER_CERT_SIZE_MAX (64u * 1024u)

static pbft_status_t tamper_tx_amount(store_t *s, uint64_t h) {
    pbft_block_t b;
    pbft_status_t st = store_get_block(s, h, &b);
    if (st != PBFT_OK) return st;
    if (b.header.tx_count == 0) {
        codec_block_free(&b);
        fprintf(stderr, "tamper: block %" PRIu64 " has no txs\n", h);
        return PBFT_ERR_ARGUMENT;
    }
    b.txs[0].amount += 1;
    size_t cap = codec_block_size(&b);
    uint8_t *raw = pbft_xmalloc(cap);
    size_t size = codec_block_encode(&b, raw, cap);
    st = size ? store_debug_put_raw(s, "block", h, raw, size) : PBFT_ERR_INTERNAL;
    free(raw);
    codec_block_free(&b);
    return st;
}

static pbft_status_t tamper_cert_sig(store_t *s, uint64_t h) {
    pbft_commit_cert_t cert;
    pbft_status_t st = store_get_commit_cert(s, h, &cert);
    if (st != PBFT_OK) return st;
    if (cert.count == 0) return PBFT_ERR_ARGUMENT;
    cert.sigs[0].signature[20] ^= 0x01; /* inside r: stays in range, no longer valid */
    uint8_t raw[TAMPER_CERT_SIZE_MAX];
    size_t size = codec_commit_cert_encode(&cert, raw, sizeof(raw));
    return size ? store_debug_put_raw(s, "cert", h, raw, size) : PBFT_ERR_INTERNAL;
}

int verify_debug_tamper(const char *home, const pbft_genesis_t *genesis, const char *spec) {
    const char *colon = strchr(spec, ':');
    uint64_t h = 0;
    if (!colon || !tools_parse_u64(colon + 1, &h)) {
        fprintf(stderr, "tamper: expected tx-amount:H or cert-sig:H\n");
        return VERIFY_EXIT_USAGE;
    }
    char data[TOOLS_PATH_SIZE_MAX], err[512] = "";
    /* Same resolution as the audit (DIR/data, else DIR itself), and never
     * create a store: a typo must not make an empty one. */
    snprintf(data, sizeof(data), "%s/data/CURRENT", home);
    if (access(data, F_OK) == 0)
        snprintf(data, sizeof(data), "%s/data", home);
    else
        snprintf(data, sizeof(data), "%s", home);
    char current[TOOLS_PATH_SIZE_MAX + 16];
    snprintf(current, sizeof(current), "%s/CURRENT", data);
    if (access(current, F_OK) != 0) {
        fprintf(stderr, "tamper: no store under %s\n", home);
        return VERIFY_EXIT_NOINPUT;
    }
    store_t *s = NULL;
    pbft_status_t st = store_open(data, genesis, STORE_READ_WRITE, &s, err, sizeof(err));
    if (st != PBFT_OK) {
        fprintf(stderr, "tamper: cannot open %s read-write (is the replica stopped?): %s %s\n",
                data, pbft_status_string(st), err);
        return VERIFY_EXIT_FAILED;
    }
    size_t kind_len = (size_t)(colon - spec);
    if (kind_len == 9 && strncmp(spec, "tx-amount", 9) == 0)
        st = tamper_tx_amount(s, h);
    else if (kind_len == 8 && strncmp(spec, "cert-sig", 8) == 0)
        st = tamper_cert_sig(s, h);
    else
        st = PBFT_ERR_ARGUMENT;
    store_close(s);
    if (st != PBFT_OK) {
        fprintf(stderr, "tamper: %s failed: %s\n", spec, pbft_status_string(st));
        return VERIFY_EXIT_FAILED;
    }
    printf("tampered %s in %s\n", spec, data);
    return VERIFY_EXIT_OK;
}
