/*
 * tools/load/keys.c — the keystore of a testnet directory, the accounts'
 * starting nonces, and the plan of pre-signed transactions.
 *
 * All signing happens here, before any timing starts: a benchmark of the
 * replicas must not also be a benchmark of the client's signer.
 */
#include <dirent.h>
#include <jansson.h>
#include <string.h>

#include "load.h"
#include "pbft/codec.h"
#include "pbft/ledger.h"

static int name_compare(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the DIR/NAME.pem files sorted by name (malloc'd array of malloc'd names). */
static pbft_status_t list_pem_files(const char *dir, char ***out, size_t *count) {
    DIR *d = opendir(dir);
    if (!d) return PBFT_ERR_IO;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".pem") != 0) continue;
        if (n == LOAD_ACCOUNT_COUNT_MAX) break;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            names = pbft_xrealloc(names, cap * sizeof(*names));
        }
        names[n] = pbft_xmalloc(len + 1);
        memcpy(names[n++], e->d_name, len + 1);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof(*names), name_compare);
    *out = names;
    *count = n;
    return PBFT_OK;
}

static void free_names(char **names, size_t count) {
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

static pbft_status_t add_url(load_keystore_t *ks, const char *url, size_t len) {
    if (ks->url_count == LOAD_REPLICA_COUNT_MAX || len == 0) return PBFT_ERR_LIMIT;
    while (len && url[len - 1] == '/')
        len--;
    bool has_scheme = len > 7 && (strncmp(url, "http://", 7) == 0);
    int w = snprintf(ks->urls[ks->url_count], LOAD_URL_SIZE_MAX, "%s%.*s",
                     has_scheme ? "" : "http://", (int)len, url);
    if (w <= 0 || w >= LOAD_URL_SIZE_MAX) return PBFT_ERR_LIMIT;
    ks->url_count++;
    return PBFT_OK;
}

pbft_status_t load_parse_urls(const char *list, load_keystore_t *ks) {
    ks->url_count = 0;
    while (*list) {
        const char *comma = strchr(list, ',');
        size_t len = comma ? (size_t)(comma - list) : strlen(list);
        pbft_status_t st = add_url(ks, list, len);
        if (st != PBFT_OK) return st;
        list += len + (comma ? 1 : 0);
    }
    return ks->url_count ? PBFT_OK : PBFT_ERR_ARGUMENT;
}

/* Reads replicas[].http from DIR/testnet.json, ordered by index. */
static pbft_status_t read_testnet_urls(const char *dir, load_keystore_t *ks, char *err,
                                       size_t err_size) {
    char path[LOAD_PATH_SIZE_MAX];
    snprintf(path, sizeof(path), "%s/testnet.json", dir);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) {
        snprintf(err, err_size, "cannot read %s: %s (or pass --nodes)", path, jerr.text);
        return PBFT_ERR_CONFIG;
    }
    const json_t *reps = json_object_get(root, "replicas");
    size_t n = json_array_size(reps);
    pbft_status_t st = n ? PBFT_OK : PBFT_ERR_CONFIG;
    ks->url_count = 0;
    for (size_t want = 0; want < n && st == PBFT_OK; want++) {
        const char *http = NULL;
        for (size_t i = 0; i < n; i++) {
            uint64_t index = i;
            load_json_u64(json_array_get(reps, i), "index", &index);
            if (index == want)
                http = json_string_value(json_object_get(json_array_get(reps, i), "http"));
        }
        st = http ? add_url(ks, http, strlen(http)) : PBFT_ERR_CONFIG;
    }
    json_decref(root);
    if (st != PBFT_OK) snprintf(err, err_size, "%s: replicas[].http missing or invalid", path);
    return st;
}

static pbft_status_t load_account_key(const char *path, load_account_t *a, char *err,
                                      size_t err_size) {
    char why[256] = "";
    pbft_status_t st = crypto_key_load(path, &a->key, why, sizeof(why));
    if (st != PBFT_OK) {
        snprintf(err, err_size, "%s: %s%s%s", path, pbft_status_string(st), why[0] ? ": " : "",
                 why);
        return st;
    }
    crypto_key_public(a->key, a->pubkey);
    crypto_address(a->pubkey, a->address);
    a->nonce = 0;
    return PBFT_OK;
}

pbft_status_t load_keystore_open(const char *dir, size_t max_accounts, load_keystore_t *ks,
                                 char *err, size_t err_size) {
    char path[LOAD_PATH_SIZE_MAX];
    snprintf(path, sizeof(path), "%s/accounts/genesis.json", dir);
    pbft_genesis_t g;
    char gerr[256] = "";
    if (ledger_genesis_load(path, &g, gerr, sizeof(gerr)) != PBFT_OK) {
        snprintf(err, err_size, "%s: %s", path, gerr);
        return PBFT_ERR_GENESIS;
    }
    memcpy(ks->chain_id, g.chain_id, PBFT_CHAIN_ID_SIZE);
    ledger_genesis_free(&g);
    if (ks->url_count == 0) {
        pbft_status_t st = read_testnet_urls(dir, ks, err, err_size);
        if (st != PBFT_OK) return st;
    }
    snprintf(path, sizeof(path), "%s/accounts", dir);
    char **names = NULL;
    size_t count = 0;
    if (list_pem_files(path, &names, &count) != PBFT_OK || count == 0) {
        snprintf(err, err_size, "%s: no *.pem account keys", path);
        free_names(names, count);
        return PBFT_ERR_NOT_FOUND;
    }
    size_t use = max_accounts && count > max_accounts ? max_accounts : count;
    ks->accounts = pbft_xcalloc(use, sizeof(*ks->accounts));
    pbft_status_t st = PBFT_OK;
    for (size_t i = 0; i < use && st == PBFT_OK; i++) {
        char file[LOAD_PATH_SIZE_MAX + 256];
        snprintf(file, sizeof(file), "%s/%s", path, names[i]);
        st = load_account_key(file, &ks->accounts[i], err, err_size);
        if (st == PBFT_OK) ks->account_count = i + 1;
    }
    free_names(names, count);
    return st;
}

void load_keystore_free(load_keystore_t *ks) {
    for (size_t i = 0; i < ks->account_count; i++)
        crypto_key_free(ks->accounts[i].key);
    free(ks->accounts);
    ks->accounts = NULL;
    ks->account_count = 0;
}

/* ------------------------------------------------------------------------ */
/* Nonces: fetched once per run, in parallel, spread over the replicas.      */

typedef struct nonce_job {
    load_keystore_t *ks;
    size_t count;
    _Atomic size_t next;
    _Atomic int failed;
} nonce_job_t;

static void *nonce_thread(void *arg) {
    nonce_job_t *job = arg;
    load_http_t h;
    load_http_init(&h);
    for (;;) {
        size_t i = atomic_fetch_add(&job->next, 1);
        if (i >= job->count || atomic_load(&job->failed)) break;
        load_account_t *a = &job->ks->accounts[i];
        pbft_status_t st = PBFT_ERR_UNAVAILABLE;
        for (size_t r = 0; r < job->ks->url_count && st != PBFT_OK; r++) {
            const char *base = job->ks->urls[(i + r) % job->ks->url_count];
            st = load_get_nonce(&h, base, a->address, &a->nonce);
        }
        if (st != PBFT_OK) atomic_store(&job->failed, 1);
    }
    load_http_free(&h);
    return NULL;
}

pbft_status_t load_fetch_nonces(load_keystore_t *ks, size_t count, size_t threads, char *err,
                                size_t err_size) {
    PBFT_ASSERT(count <= ks->account_count);
    nonce_job_t job = {.ks = ks, .count = count};
    atomic_init(&job.next, 0);
    atomic_init(&job.failed, 0);
    threads = PBFT_MAX(1, PBFT_MIN(threads, LOAD_THREAD_COUNT_MAX));
    pthread_t tids[LOAD_THREAD_COUNT_MAX];
    for (size_t t = 0; t < threads; t++)
        pthread_create(&tids[t], NULL, nonce_thread, &job);
    for (size_t t = 0; t < threads; t++)
        pthread_join(tids[t], NULL);
    if (atomic_load(&job.failed)) {
        snprintf(err, err_size, "GET /account/{address} failed on every replica");
        return PBFT_ERR_UNAVAILABLE;
    }
    return PBFT_OK;
}

/* ------------------------------------------------------------------------ */
/* The plan                                                                   */

typedef struct sign_job {
    const load_keystore_t *ks;
    load_plan_t *plan;
    _Atomic size_t next;
    _Atomic int failed;
} sign_job_t;

#define SIGN_CHUNK 256

static pbft_status_t sign_one(const load_keystore_t *ks, load_plan_t *p, size_t i) {
    size_t k = p->account_count, a = load_plan_account(p, i);
    const load_account_t *from = &ks->accounts[a];
    pbft_tx_t tx;
    memset(&tx, 0, sizeof(tx));
    memcpy(tx.sender_pubkey, from->pubkey, PBFT_PUBKEY_SIZE);
    memcpy(tx.recipient, ks->accounts[(a + 1) % k].address, PBFT_ADDRESS_SIZE);
    tx.amount = 1;
    tx.nonce = from->nonce + load_plan_nonce_offset(p, i);
    tx.memo_size = 0;
    pbft_status_t st = codec_tx_sign(&tx, from->key, ks->chain_id);
    if (st != PBFT_OK) return st;
    uint8_t bytes[PBFT_TX_SIZE_MAX];
    size_t size = codec_tx_encode(&tx, bytes, sizeof(bytes));
    if (size != PBFT_TX_SIZE_MIN) return PBFT_ERR_INTERNAL;
    memcpy(p->bytes + i * PBFT_TX_SIZE_MIN, bytes, PBFT_TX_SIZE_MIN);
    codec_tx_id(&tx, p->txs[i].id);
    return PBFT_OK;
}

static void *sign_thread(void *arg) {
    sign_job_t *job = arg;
    for (;;) {
        size_t start = atomic_fetch_add(&job->next, SIGN_CHUNK);
        if (start >= job->plan->tx_count || atomic_load(&job->failed)) break;
        size_t end = PBFT_MIN(start + SIGN_CHUNK, job->plan->tx_count);
        for (size_t i = start; i < end; i++) {
            if (sign_one(job->ks, job->plan, i) != PBFT_OK) {
                atomic_store(&job->failed, 1);
                break;
            }
        }
    }
    return NULL;
}

static uint64_t id_hash(const uint8_t id[PBFT_HASH_SIZE]) {
    uint64_t h;
    memcpy(&h, id, sizeof(h));
    return h;
}

static void plan_index(load_plan_t *p) {
    size_t slots = 16;
    while (slots < 2 * p->tx_count)
        slots *= 2;
    p->slots = pbft_xcalloc(slots, sizeof(*p->slots));
    p->slot_mask = slots - 1;
    for (size_t i = 0; i < p->tx_count; i++) {
        size_t s = (size_t)id_hash(p->txs[i].id) & p->slot_mask;
        while (p->slots[s] != 0)
            s = (s + 1) & p->slot_mask;
        p->slots[s] = (uint32_t)(i + 1);
    }
}

size_t load_plan_find(const load_plan_t *p, const uint8_t id[PBFT_HASH_SIZE]) {
    size_t s = (size_t)id_hash(id) & p->slot_mask;
    while (p->slots[s] != 0) {
        size_t i = p->slots[s] - 1;
        if (memcmp(p->txs[i].id, id, PBFT_HASH_SIZE) == 0) return i;
        s = (s + 1) & p->slot_mask;
    }
    return SIZE_MAX;
}

pbft_status_t load_plan_build(const load_keystore_t *ks, size_t account_count, size_t group,
                              size_t tx_count, size_t threads, load_plan_t *out, char *err,
                              size_t err_size) {
    if (account_count == 0 || account_count > ks->account_count || tx_count == 0 ||
        tx_count > LOAD_TX_COUNT_MAX || group == 0 || group > LOAD_BATCH_TX_COUNT_MAX) {
        snprintf(err, err_size, "plan: need 1..%zu accounts and 1..%u txs", ks->account_count,
                 LOAD_TX_COUNT_MAX);
        return PBFT_ERR_ARGUMENT;
    }
    memset(out, 0, sizeof(*out));
    out->tx_count = tx_count;
    out->account_count = account_count;
    out->group = group;
    out->txs = pbft_xcalloc(tx_count, sizeof(*out->txs));
    out->bytes = pbft_xmalloc(tx_count * PBFT_TX_SIZE_MIN);
    sign_job_t job = {.ks = ks, .plan = out};
    atomic_init(&job.next, 0);
    atomic_init(&job.failed, 0);
    threads = PBFT_MAX(1, PBFT_MIN(threads, LOAD_THREAD_COUNT_MAX));
    pthread_t tids[LOAD_THREAD_COUNT_MAX];
    for (size_t t = 0; t < threads; t++)
        pthread_create(&tids[t], NULL, sign_thread, &job);
    for (size_t t = 0; t < threads; t++)
        pthread_join(tids[t], NULL);
    if (atomic_load(&job.failed)) {
        snprintf(err, err_size, "plan: signing or encoding a transaction failed");
        load_plan_free(out);
        return PBFT_ERR_CRYPTO;
    }
    plan_index(out);
    return PBFT_OK;
}

void load_plan_free(load_plan_t *p) {
    free(p->txs);
    free(p->bytes);
    free(p->slots);
    memset(p, 0, sizeof(*p));
}

size_t load_batch_body(const load_plan_t *p, const size_t *idx, size_t count, char **buf,
                       size_t *capacity) {
    size_t need = 16 + count * (LOAD_TX_HEX_SIZE + 3);
    if (*capacity < need) {
        *buf = pbft_xrealloc(*buf, need);
        *capacity = need;
    }
    char *w = *buf;
    memcpy(w, "{\"txs\":[", 8);
    w += 8;
    for (size_t i = 0; i < count; i++) {
        PBFT_ASSERT(idx[i] < p->tx_count);
        if (i) *w++ = ',';
        *w++ = '"';
        /* its NUL lands where the closing quote goes next */
        crypto_hex_encode(p->bytes + idx[i] * PBFT_TX_SIZE_MIN, PBFT_TX_SIZE_MIN, w);
        w += LOAD_TX_HEX_SIZE;
        *w++ = '"';
    }
    *w++ = ']';
    *w++ = '}';
    *w = '\0';
    return (size_t)(w - *buf);
}

size_t load_batch_body_binary(const load_plan_t *p, const size_t *idx, size_t count, char **buf,
                              size_t *capacity) {
    size_t need = 1 + count * PBFT_TX_SIZE_MIN;
    if (*capacity < need) {
        *buf = pbft_xrealloc(*buf, need);
        *capacity = need;
    }
    for (size_t i = 0; i < count; i++) {
        PBFT_ASSERT(idx[i] < p->tx_count);
        memcpy(*buf + i * PBFT_TX_SIZE_MIN, p->bytes + idx[i] * PBFT_TX_SIZE_MIN, PBFT_TX_SIZE_MIN);
    }
    return count * PBFT_TX_SIZE_MIN;
}
