/*
 * tests/sim/main.c — pbft-sim, the seeded cluster simulator.
 *
 *   pbft-sim [--scenario NAME] --seed S     one run; replays byte for byte
 *   pbft-sim --random N [--base B]          N seeds drawn from base B (printed)
 *   pbft-sim --fixed [--seeds-file PATH]    the fixed list (tests/sim/seeds.txt)
 *   pbft-sim --list                         the scenarios
 * Options: --steps N (per-run step limit), --verbose (commits, crashes,
 * partitions, replica log lines), --trace (also every message and timer),
 * --expect-failure (exit 0 only if some run fails: the mutant self-test;
 * stops at the first failure), --expect-check NAME (only failures of that
 * checker count: agreement, validity, state, liveness, ...),
 * --quiet (print only failing runs and the totals),
 * --no-cert-check (do not check delivered commit certificates, so a quorum
 * bug must be caught by agreement), --stop-on-failure.
 *
 * Exit status: 0 when every run passed (or, with --expect-failure, when one
 * failed), 1 otherwise, 64 on a usage error.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim_cluster.h"

#define SIM_SEEDS_FILE "tests/sim/seeds.txt"
#define SIM_LINE_SIZE_MAX 256

typedef struct totals {
    uint64_t runs, passed, failed;
    uint64_t failed_expected; /* failures by the --expect-check checker */
    uint64_t commits, view_changes, sim_ms, txs, steps;
} totals_t;

typedef struct cli {
    sim_options_t options;
    bool quiet; /* only failures and totals */
    bool expect_failure;
    bool stop_on_failure;
    const char *expect_check; /* e.g. "agreement": which checker must fire */
} cli_t;

static double wall_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool parse_u64(const char *s, uint64_t *out) {
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end != '\0') return false;
    *out = v;
    return true;
}

static void usage(FILE *f) {
    fprintf(f, "usage: pbft-sim [--scenario NAME] [--seed S | --random N [--base B] | --fixed "
               "[--seeds-file PATH] | --list]\n"
               "                [--steps N] [--verbose] [--trace] [--expect-failure] "
               "[--expect-check NAME]\n"
               "                [--no-cert-check] [--stop-on-failure] [--quiet]\n");
}

static void list_scenarios(void) {
    for (size_t i = 0; i < sim_scenario_count(); i++) {
        const sim_scenario_t *sc = sim_scenario_at(i);
        printf("%-32s %s\n", sc->name, sc->about);
    }
    printf("liveness bound: %u ms of simulated time after the faults stop\n",
           SIM_LIVENESS_BOUND_MS);
}

/* The run in progress, for the crash handler: an assertion or a sanitizer
 * abort inside consensus still names the seed that replays it. */
static char crash_note[256];

static void on_crash(int sig) {
    if (crash_note[0]) {
        ssize_t ignored = write(STDERR_FILENO, crash_note, strlen(crash_note));
        (void)ignored;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_crash_handler(void) {
    signal(SIGABRT, on_crash);
    signal(SIGSEGV, on_crash);
    signal(SIGBUS, on_crash);
    signal(SIGFPE, on_crash);
}

/* One run: prints the seed first (so a crash still names it), then a
 * deterministic result line. Returns true when it passed. */
static bool run_one(const cli_t *cli, const sim_scenario_t *sc, uint64_t seed, totals_t *t) {
    if (!cli->quiet) printf("run  %-32s seed=0x%016llx\n", sc->name, (unsigned long long)seed);
    fflush(stdout);
    snprintf(crash_note, sizeof(crash_note),
             "\npbft-sim: crashed in scenario %s seed 0x%016llx\n"
             "     replay: pbft-sim --scenario %s --seed 0x%016llx\n",
             sc->name, (unsigned long long)seed, sc->name, (unsigned long long)seed);
    sim_result_t r;
    sim_run(sc, seed, &cli->options, &r);
    crash_note[0] = '\0';
    if (!cli->quiet || !r.passed)
        printf("%s %-32s seed=0x%016llx n=%u commits=%llu view_changes=%llu view=%llu txs=%llu "
               "sim_time=%llu.%03llus liveness=%llums steps=%llu msgs=%llu lost=%llu\n",
               r.passed ? "PASS" : "FAIL", sc->name, (unsigned long long)seed, r.replica_count,
               (unsigned long long)r.commits, (unsigned long long)r.view_changes,
               (unsigned long long)r.max_view, (unsigned long long)r.txs_committed,
               (unsigned long long)(r.sim_time_ms / 1000),
               (unsigned long long)(r.sim_time_ms % 1000), (unsigned long long)r.liveness_ms,
               (unsigned long long)r.steps, (unsigned long long)r.messages,
               (unsigned long long)r.dropped);
    if (!r.passed) {
        printf("     why: %s\n", r.failure);
        printf("     replay: pbft-sim --scenario %s --seed 0x%016llx\n", sc->name,
               (unsigned long long)seed);
    }
    fflush(stdout);
    t->runs++;
    if (r.passed) {
        t->passed++;
    } else {
        t->failed++;
        if (!cli->expect_check ||
            strncmp(r.failure, cli->expect_check, strlen(cli->expect_check)) == 0)
            t->failed_expected++;
    }
    t->commits += r.commits;
    t->view_changes += r.view_changes;
    t->sim_ms += r.sim_time_ms;
    t->txs += r.txs_committed;
    t->steps += r.steps;
    return r.passed || (cli->expect_check && t->failed_expected == 0);
}

static void print_totals(const char *what, const totals_t *t, double wall) {
    printf("%s: %llu runs, %llu passed, %llu failed; %llu commits, %llu view changes, "
           "%llu txs, %.1f s simulated, %llu steps; wall %.1f s\n",
           what, (unsigned long long)t->runs, (unsigned long long)t->passed,
           (unsigned long long)t->failed, (unsigned long long)t->commits,
           (unsigned long long)t->view_changes, (unsigned long long)t->txs,
           (double)t->sim_ms / 1000.0, (unsigned long long)t->steps, wall);
    printf("liveness bound: %u ms simulated after the faults stop\n", SIM_LIVENESS_BOUND_MS);
}

static FILE *open_seeds_file(const char *path, const char *argv0) {
    FILE *f = fopen(path, "r");
    if (f || strcmp(path, SIM_SEEDS_FILE) != 0) return f;
    /* Not run from the repository root: try relative to build/<mode>/bin. */
    char alt[1024];
    const char *slash = strrchr(argv0, '/');
    if (!slash) return NULL;
    snprintf(alt, sizeof(alt), "%.*s/../../../%s", (int)(slash - argv0), argv0, SIM_SEEDS_FILE);
    return fopen(alt, "r");
}

/* Runs every "scenario seed" (or bare "seed" = swarm) line of the file, then
 * every scenario the file did not name, with seed 1. */
static int run_fixed(const cli_t *cli, const char *path, const char *argv0, totals_t *t) {
    FILE *f = open_seeds_file(path, argv0);
    if (!f) {
        fprintf(stderr, "pbft-sim: cannot open %s\n", path);
        return 64;
    }
    bool named[64] = {false};
    char line[SIM_LINE_SIZE_MAX];
    unsigned lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char a[128] = "", b[128] = "";
        int got = sscanf(line, "%127s %127s", a, b);
        if (got <= 0) continue;
        const char *name = got == 2 ? a : "swarm";
        const char *seed_text = got == 2 ? b : a;
        const sim_scenario_t *sc = sim_scenario_find(name);
        uint64_t seed = 0;
        if (!sc || !parse_u64(seed_text, &seed)) {
            fprintf(stderr, "pbft-sim: %s:%u: bad line\n", path, lineno);
            fclose(f);
            return 64;
        }
        for (size_t i = 0; i < sim_scenario_count() && i < 64; i++)
            if (sim_scenario_at(i) == sc) named[i] = true;
        if (!run_one(cli, sc, seed, t) && cli->stop_on_failure) break;
    }
    fclose(f);
    for (size_t i = 0; i < sim_scenario_count() && i < 64; i++) {
        if (named[i] || (cli->stop_on_failure && t->failed_expected)) continue;
        printf("note: %s is not in %s; running it with seed 1\n", sim_scenario_at(i)->name, path);
        run_one(cli, sim_scenario_at(i), 1, t);
    }
    return 0;
}

static void run_random(const cli_t *cli, const sim_scenario_t *sc, uint64_t count, uint64_t base,
                       totals_t *t) {
    printf("random: %llu seeds from base 0x%016llx (replay all: pbft-sim --random %llu --base "
           "0x%016llx)\n",
           (unsigned long long)count, (unsigned long long)base, (unsigned long long)count,
           (unsigned long long)base);
    uint64_t state = base;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t seed = sim_splitmix64(&state);
        if (!run_one(cli, sc, seed, t) && cli->stop_on_failure) break;
    }
}

typedef struct args {
    cli_t cli;
    const char *scenario;
    const char *seeds_file;
    uint64_t seed, random_count, base;
    bool have_seed, have_base, fixed;
} args_t;

/* Flags without a value; false when `a` is none of them. */
static bool parse_flag(const char *a, args_t *o) {
    if (strcmp(a, "--verbose") == 0) {
        o->cli.options.verbose = true;
    } else if (strcmp(a, "--trace") == 0) {
        o->cli.options.verbose = true;
        o->cli.options.trace = true;
    } else if (strcmp(a, "--fixed") == 0) {
        o->fixed = true;
    } else if (strcmp(a, "--expect-failure") == 0) {
        o->cli.expect_failure = true;
        o->cli.stop_on_failure = true;
    } else if (strcmp(a, "--quiet") == 0) {
        o->cli.quiet = true;
    } else if (strcmp(a, "--no-cert-check") == 0) {
        o->cli.options.no_cert_check = true;
    } else if (strcmp(a, "--stop-on-failure") == 0) {
        o->cli.stop_on_failure = true;
    } else {
        return false;
    }
    return true;
}

/* Options with a value v; false when `a` is none of them or v is bad. */
static bool parse_option(const char *a, const char *v, args_t *o) {
    if (strcmp(a, "--expect-check") == 0) {
        o->cli.expect_check = v;
    } else if (strcmp(a, "--scenario") == 0) {
        o->scenario = v;
    } else if (strcmp(a, "--seeds-file") == 0) {
        o->seeds_file = v;
    } else if (strcmp(a, "--seed") == 0) {
        o->have_seed = parse_u64(v, &o->seed);
        return o->have_seed;
    } else if (strcmp(a, "--random") == 0) {
        return parse_u64(v, &o->random_count);
    } else if (strcmp(a, "--base") == 0) {
        o->have_base = parse_u64(v, &o->base);
        return o->have_base;
    } else if (strcmp(a, "--steps") == 0) {
        return parse_u64(v, &o->cli.options.steps_max) && o->cli.options.steps_max > 0;
    } else {
        return false;
    }
    return true;
}

/* Returns -1 to go on, or the exit status (--list, --help, usage error). */
static int parse_args(int argc, char **argv, args_t *o) {
    memset(o, 0, sizeof(*o));
    o->cli.options.steps_max = SIM_STEPS_DEFAULT;
    o->seeds_file = SIM_SEEDS_FILE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--list") == 0) {
            list_scenarios();
            return 0;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (parse_flag(a, o)) continue;
        if (i + 1 < argc && parse_option(a, argv[i + 1], o)) {
            i++;
            continue;
        }
        usage(stderr);
        return 64;
    }
    return -1;
}

int main(int argc, char **argv) {
    args_t o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    const cli_t *cli = &o.cli;
    const sim_scenario_t *sc = sim_scenario_find(o.scenario ? o.scenario : "swarm");
    if (!sc) {
        fprintf(stderr, "pbft-sim: unknown scenario '%s' (see --list)\n", o.scenario);
        return 64;
    }
    install_crash_handler();
    totals_t t;
    memset(&t, 0, sizeof(t));
    double start = wall_seconds();
    if (o.fixed) {
        rc = run_fixed(cli, o.seeds_file, argv[0], &t);
        if (rc) return rc;
        print_totals("fixed", &t, wall_seconds() - start);
    } else if (o.random_count) {
        if (!o.have_base) o.base = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
        run_random(cli, sc, o.random_count, o.base, &t);
        print_totals("random", &t, wall_seconds() - start);
    } else {
        if (!o.have_seed) {
            o.seed = (uint64_t)time(NULL);
            printf("no --seed given; using 0x%016llx\n", (unsigned long long)o.seed);
        }
        run_one(cli, sc, o.seed, &t);
    }
    if (t.failed)
        printf("%llu failing run(s); each prints its replay command above\n",
               (unsigned long long)t.failed);
    if (cli->expect_failure) {
        printf("expect-failure: %s\n", t.failed_expected ? "a run failed, as expected"
                                                         : "UNEXPECTED: no run failed that way");
        return t.failed_expected ? 0 : 1;
    }
    return t.failed ? 1 : 0;
}
