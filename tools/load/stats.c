/*
 * tools/load/stats.c — percentiles, per-process CPU from /proc, and the
 * all-core signature-verification rate the benchmark's ceiling comes from.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "load.h"

static int double_compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double load_percentile(double *values, size_t count, double q) {
    if (count == 0) return 0;
    qsort(values, count, sizeof(*values), double_compare);
    /* nearest rank: the smallest value with at least q of the samples <= it */
    double rank = q * (double)count;
    size_t k = (size_t)rank;
    if ((double)k < rank) k++;
    if (k == 0) k = 1;
    if (k > count) k = count;
    return values[k - 1];
}

double load_timeline_slice_s(double window_s) {
    double slice = 1.0;
    while (window_s > slice * LOAD_TIMELINE_MAX)
        slice *= 2;
    return slice;
}

/* Reads `count` space-separated decimal fields from s; the first `skip`
 * fields may be non-numeric (the process state letter). */
static bool parse_fields(const char *s, unsigned long long *out, size_t count, size_t skip) {
    for (size_t i = 0; i < count; i++) {
        while (*s == ' ')
            s++;
        if (*s == '\0' || *s == '\n') return false;
        if (i < skip) {
            while (*s && *s != ' ')
                s++;
            out[i] = 0;
            continue;
        }
        char *end = NULL;
        errno = 0;
        out[i] = strtoull(s, &end, 10);
        if (end == s || errno != 0) {
            /* signed fields (priority, nice) may be negative: skip them */
            if (*s != '-') return false;
            while (*s && *s != ' ')
                s++;
            out[i] = 0;
            continue;
        }
        s = end;
    }
    return true;
}

const char *const load_cpu_class_names[LOAD_CPU_CLASS_COUNT] = {
    "verify", "consensus", "storage", "safety", "rocksdb", "http", "other"};

static load_cpu_class_t cpu_class_of(const char *comm, bool main_thread) {
    if (main_thread) return LOAD_CPU_CONSENSUS;
    if (strncmp(comm, "pbftd-verify", 12) == 0) return LOAD_CPU_VERIFY;
    if (strcmp(comm, "pbftd-storage") == 0) return LOAD_CPU_STORAGE;
    if (strcmp(comm, "pbftd-safety") == 0) return LOAD_CPU_SAFETY;
    if (strncmp(comm, "rocksdb:", 8) == 0) return LOAD_CPU_ROCKSDB;
    if (strncmp(comm, "MHD-", 4) == 0) return LOAD_CPU_HTTP;
    return LOAD_CPU_OTHER;
}

/* utime+stime (ticks) and the command name of /proc/PID[/task/TID]/stat.
 * The command name may contain spaces and parentheses; the fields resume
 * after the last ')'. utime and stime are fields 14 and 15, i.e. the 12th
 * and 13th after it. */
static bool read_stat(const char *path, unsigned long long *ticks, char *comm, size_t comm_size) {
    FILE *f = fopen(path, "r");
    if (!f) return false;
    char line[1024];
    bool ok = fgets(line, sizeof(line), f) != NULL;
    fclose(f);
    if (!ok) return false;
    const char *open = strchr(line, '(');
    const char *close = strrchr(line, ')');
    if (!open || !close || close < open) return false;
    if (comm) {
        size_t n = PBFT_MIN((size_t)(close - open - 1), comm_size - 1);
        memcpy(comm, open + 1, n);
        comm[n] = '\0';
    }
    unsigned long long fields[13];
    if (!parse_fields(close + 1, fields, 13, 1)) return false;
    *ticks = fields[11] + fields[12];
    return true;
}

static double tick_seconds(void) {
    long hz = sysconf(_SC_CLK_TCK);
    return 1.0 / (double)(hz > 0 ? hz : 100);
}

bool load_proc_cpu_s(int pid, double *out) {
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    unsigned long long ticks = 0;
    if (!read_stat(path, &ticks, NULL, 0)) return false;
    *out = (double)ticks * tick_seconds();
    return true;
}

bool load_proc_cpu_classes(int pid, double *out) {
    char path[96];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    unsigned long long total = 0, live = 0;
    if (!read_stat(path, &total, NULL, 0)) return false;
    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (!d) return false;
    double tick_s = tick_seconds();
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end = NULL;
        long tid = strtol(e->d_name, &end, 10);
        if (end == e->d_name || *end != '\0') continue;
        char tpath[128], comm[64];
        unsigned long long ticks = 0;
        snprintf(tpath, sizeof(tpath), "/proc/%d/task/%ld/stat", pid, tid);
        if (!read_stat(tpath, &ticks, comm, sizeof(comm))) continue; /* exited meanwhile */
        live += ticks;
        out[cpu_class_of(comm, tid == pid)] += (double)ticks * tick_s;
    }
    closedir(d);
    if (total > live) out[LOAD_CPU_HTTP] += (double)(total - live) * tick_s;
    return true;
}

bool load_system_busy_s(double *out) {
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return false;
    char line[512];
    bool ok = fgets(line, sizeof(line), f) != NULL;
    fclose(f);
    unsigned long long v[8] = {0};
    if (!ok || strncmp(line, "cpu ", 4) != 0 || !parse_fields(line + 4, v, 8, 0)) return false;
    /* user nice system idle iowait irq softirq steal: all but idle and iowait */
    unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    long hz = sysconf(_SC_CLK_TCK);
    *out = (double)busy / (double)(hz > 0 ? hz : 100);
    return true;
}

/* ------------------------------------------------------------------------ */
/* Verification rate                                                          */

#define VERIFY_KEY_COUNT 16
#define VERIFY_SAMPLE_COUNT 512

typedef struct verify_sample {
    uint8_t pubkey[PBFT_PUBKEY_SIZE];
    uint8_t digest[PBFT_HASH_SIZE];
    uint8_t sig[PBFT_SIGNATURE_SIZE];
} verify_sample_t;

typedef struct verify_job {
    const verify_sample_t *samples;
    _Atomic bool stop;
    _Atomic uint64_t verifies;
    _Atomic uint64_t failures;
    _Atomic uint64_t cpu_ns; /* summed thread CPU time of the verifiers */
} verify_job_t;

uint64_t load_thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *verify_thread(void *arg) {
    verify_job_t *job = arg;
    uint64_t done = 0, bad = 0;
    size_t i = 0;
    uint64_t cpu0 = load_thread_cpu_ns();
    while (!atomic_load_explicit(&job->stop, memory_order_relaxed)) {
        for (int j = 0; j < 64; j++, i = (i + 1) % VERIFY_SAMPLE_COUNT) {
            const verify_sample_t *s = &job->samples[i];
            if (crypto_verify_digest(s->pubkey, s->digest, s->sig) != PBFT_OK) bad++;
            done++;
        }
    }
    atomic_fetch_add(&job->cpu_ns, load_thread_cpu_ns() - cpu0);
    atomic_fetch_add(&job->verifies, done);
    atomic_fetch_add(&job->failures, bad);
    return NULL;
}

static pbft_status_t verify_samples(verify_sample_t *samples) {
    crypto_key_t *keys[VERIFY_KEY_COUNT] = {0};
    pbft_status_t st = PBFT_OK;
    for (size_t k = 0; k < VERIFY_KEY_COUNT && st == PBFT_OK; k++) {
        keys[k] = crypto_key_generate();
        if (!keys[k]) st = PBFT_ERR_CRYPTO;
    }
    for (size_t i = 0; i < VERIFY_SAMPLE_COUNT && st == PBFT_OK; i++) {
        verify_sample_t *s = &samples[i];
        crypto_key_t *key = keys[i % VERIFY_KEY_COUNT];
        uint64_t n = i;
        crypto_sha256(&n, sizeof(n), s->digest);
        crypto_key_public(key, s->pubkey);
        st = crypto_sign_digest(key, s->digest, s->sig);
        /* warm the decoded-key cache, as a replica's is in steady state */
        if (st == PBFT_OK) st = crypto_verify_digest(s->pubkey, s->digest, s->sig);
    }
    for (size_t k = 0; k < VERIFY_KEY_COUNT; k++)
        crypto_key_free(keys[k]);
    return st;
}

pbft_status_t load_verify_rate(size_t threads, double seconds, double *per_s, double *per_cpu_s,
                               uint64_t *verifies) {
    verify_sample_t *samples = pbft_xcalloc(VERIFY_SAMPLE_COUNT, sizeof(*samples));
    pbft_status_t st = verify_samples(samples);
    if (st != PBFT_OK) {
        free(samples);
        return st;
    }
    verify_job_t job = {.samples = samples};
    atomic_init(&job.stop, false);
    atomic_init(&job.verifies, 0);
    atomic_init(&job.failures, 0);
    atomic_init(&job.cpu_ns, 0);
    threads = PBFT_MAX(1, PBFT_MIN(threads, LOAD_THREAD_COUNT_MAX));
    pthread_t tids[LOAD_THREAD_COUNT_MAX];
    uint64_t t0 = load_now_ns();
    for (size_t t = 0; t < threads; t++)
        pthread_create(&tids[t], NULL, verify_thread, &job);
    load_sleep_ns((uint64_t)(seconds * 1e9));
    atomic_store(&job.stop, true);
    for (size_t t = 0; t < threads; t++)
        pthread_join(tids[t], NULL);
    double elapsed = (double)(load_now_ns() - t0) / 1e9;
    free(samples);
    if (atomic_load(&job.failures) != 0) return PBFT_ERR_BAD_SIGNATURE;
    *verifies = atomic_load(&job.verifies);
    *per_s = (double)*verifies / elapsed;
    uint64_t cpu_ns = atomic_load(&job.cpu_ns);
    *per_cpu_s = cpu_ns ? (double)*verifies / ((double)cpu_ns / 1e9) : 0;
    return PBFT_OK;
}
