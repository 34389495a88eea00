/* driver_test.c: worker processes — results come back intact, a crashing
 * worker is reported (signal and pair) instead of hanging the parent,
 * errors keep their FILE:LINE, process-global classes get a process per
 * run, preload classes get LD_PRELOAD; timed runs are interleaved in the
 * seeded order, kept workers warm up once, classes whose state lives in
 * the process get a fresh process per timed run, and identical
 * configurations run once; latency histograms come back per operation,
 * every call of every timed run; instruction counts under callgrind come
 * back the same twice and move with the allocator's work.
 *
 * This binary is its own worker: the driver execs /proc/self/exe with
 * `replay --worker ...`, and main() hands that to driver_worker with the
 * test classes below. */
#include "sim/replay/driver.h"
#include "alloc/check.h"
#include "alloc/params.h"
#include "sim/base/cli.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- test classes (they live in the worker) ----------------------------- */

static void *dtest_malloc(void *ctx, size_t n)
{
    (void)ctx;
    return malloc(n ? n : 1);
}
static void *dtest_calloc(void *ctx, size_t n, size_t s)
{
    (void)ctx;
    return calloc(n ? n : 1, s ? s : 1);
}
static void *dtest_realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    return realloc(p, n ? n : 1);
}
static void dtest_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}
static void dtest_destroy(void *ctx)
{
    (void)ctx;
}
static void dtest_stats(void *ctx, alloc_stats_t *out)
{
    (void)ctx;
    memset(out, 0, sizeof *out);
}

/* `crash`: dies on the first allocation, as a buggy allocator would. */
static void *dtest_crash_malloc(void *ctx, size_t n)
{
    (void)ctx;
    (void)n;
    abort();
}
static int dtest_crash_create(alloc_t *a, alloc_param_t *p, size_t n, char *err, size_t len)
{
    *a = (alloc_t){NULL, dtest_crash_malloc, dtest_calloc, dtest_realloc, dtest_free};
    return 0;
}

/* `global`: a process-global class; a second create in one process is the
 * bug the driver must avoid.  (The counter is the state under test.) */
static int dtest_global_creates;
static int dtest_global_create(alloc_t *a, alloc_param_t *p, size_t n, char *err, size_t len)
{
    if (dtest_global_creates++) {
        snprintf(err, len, "created twice in one process");
        return -1;
    }
    *a = (alloc_t){NULL, dtest_malloc, dtest_calloc, dtest_realloc, dtest_free};
    return 0;
}

/* `preload`: asks for a library in LD_PRELOAD and checks it got it (the
 * library does not exist; the loader skips it with a warning). */
#define DTEST_PRELOAD "libarenalab-driver-test-none.so"
static int dtest_preload_create(alloc_t *a, alloc_param_t *p, size_t n, char *err, size_t len)
{
    const char *env = getenv("LD_PRELOAD");
    if (!env || !strstr(env, DTEST_PRELOAD)) {
        snprintf(err, len, "LD_PRELOAD is '%s'", env ? env : "(unset)");
        return -1;
    }
    *a = (alloc_t){NULL, dtest_malloc, dtest_calloc, dtest_realloc, dtest_free};
    return 0;
}

/* `kept` and `heap`: log every create as "NAME PID" to $DTEST_LOG, so the
 * test sees which process made which instance, in order.  `heap` is
 * flagged ALLOC_PROCESS_HEAP.  Both take size=SIZE (unused otherwise). */
static int dtest_logged_create(const char *name, alloc_param_t *p, size_t n, alloc_t *a, char *err,
                               size_t len)
{
    uint64_t size = 0;
    if (alloc_param_size(p, n, "size", 0, 1 << 30, &size, err, len)) return -1;
    const char *path = getenv("DTEST_LOG");
    FILE *f = path ? fopen(path, "a") : NULL;
    if (f) {
        fprintf(f, "%s %ld\n", name, (long)getpid());
        fclose(f);
    }
    *a = (alloc_t){NULL, dtest_malloc, dtest_calloc, dtest_realloc, dtest_free};
    return 0;
}
static int dtest_kept_create(alloc_t *a, alloc_param_t *p, size_t n, char *err, size_t len)
{
    return dtest_logged_create("kept", p, n, a, err, len);
}
static int dtest_heap_create(alloc_t *a, alloc_param_t *p, size_t n, char *err, size_t len)
{
    return dtest_logged_create("heap", p, n, a, err, len);
}

/* `spin`: malloc does work=N loop iterations first -- an algorithm whose
 * cost the test sets. */
typedef struct {
    uint64_t work;
} dtest_spin_t;
static void *dtest_spin_malloc(void *ctx, size_t n)
{
    const dtest_spin_t *s = ctx;
    for (volatile uint64_t i = 0; i < s->work; i = i + 1)
        ;
    return malloc(n ? n : 1);
}
static int dtest_spin_create(alloc_t *a, alloc_param_t *p, size_t n, char *err, size_t len)
{
    dtest_spin_t *s = calloc(1, sizeof *s);
    if (!s || alloc_param_size(p, n, "work", 0, 1 << 20, &s->work, err, len)) {
        free(s);
        return -1;
    }
    *a = (alloc_t){s, dtest_spin_malloc, dtest_calloc, dtest_realloc, dtest_free};
    return 0;
}
static void dtest_spin_destroy(void *ctx)
{
    free(ctx);
}

static const alloc_class_t dtest_classes[] = {
    {.name = "spin",
     .defaults = "work=0",
     .create = dtest_spin_create,
     .destroy = dtest_spin_destroy,
     .stats = dtest_stats},
    {.name = "crash", .create = dtest_crash_create, .destroy = dtest_destroy, .stats = dtest_stats},
    {.name = "global",
     .flags = ALLOC_PROCESS_GLOBAL,
     .create = dtest_global_create,
     .destroy = dtest_destroy,
     .stats = dtest_stats},
    {.name = "preload",
     .flags = ALLOC_PRELOAD,
     .preload = DTEST_PRELOAD,
     .create = dtest_preload_create,
     .destroy = dtest_destroy,
     .stats = dtest_stats},
    {.name = "kept",
     .defaults = "size=0",
     .create = dtest_kept_create,
     .destroy = dtest_destroy,
     .stats = dtest_stats},
    {.name = "heap",
     .flags = ALLOC_PROCESS_HEAP,
     .create = dtest_heap_create,
     .destroy = dtest_destroy,
     .stats = dtest_stats},
};

static const alloc_class_t *dtest_find(const char *name)
{
    for (size_t i = 0; i < sizeof dtest_classes / sizeof dtest_classes[0]; i++)
        if (strcmp(dtest_classes[i].name, name) == 0) return &dtest_classes[i];
    return alloc_find(name);
}

/* ---- helpers ------------------------------------------------------------ */

typedef struct {
    char dir[512];
    char spec[600], rep[600], bad[600], missing[600];
} dtest_files_t;

static void dtest_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static void dtest_make_files(dtest_files_t *f)
{
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s", tmp && *tmp ? tmp : "/tmp");
    snprintf(f->spec, sizeof f->spec, "%s/driver_spec.txt", f->dir);
    snprintf(f->rep, sizeof f->rep, "%s/driver_short.rep", f->dir);
    snprintf(f->bad, sizeof f->bad, "%s/driver_bad.txt", f->dir);
    snprintf(f->missing, sizeof f->missing, "%s/driver_missing.txt", f->dir);
    dtest_write(f->spec, "a 0 24 obj\na 1 100\nr 1 300\nf 0 obj\nn 7\nm 7 48\nm 7 9000\n"
                         "o 7 1\nx 7\n");
    dtest_write(f->rep, "20000\n3\n8\n1\na 0 512\na 1 128\nr 0 640\na 2 128\nf 1\nr 0 768\n"
                        "f 0\nf 2\n");
    dtest_write(f->bad, "a 1 10\nf 2\nf 1\n");
    unlink(f->missing);
}

/* driver_run with stderr captured into ERRBUF. */
static int dtest_run(const driver_config_t *cfg, driver_run_t **runs, size_t *n, char *errbuf,
                     size_t errlen)
{
    char path[600];
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(path, sizeof path, "%s/driver_stderr.txt", tmp && *tmp ? tmp : "/tmp");
    fflush(stderr);
    int saved = dup(2);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    int rc = driver_run(cfg, runs, n);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t got = pread(fd, errbuf, errlen - 1, 0);
    errbuf[got > 0 ? got : 0] = '\0';
    close(fd);
    fputs(errbuf, stderr); /* keep it visible in the test log */
    return rc;
}

static driver_config_t dtest_config(const char *const *traces, size_t nt, const route_t *routes,
                                    size_t nr)
{
    driver_config_t cfg = {.traces = traces,
                           .ntraces = nt,
                           .routes = routes,
                           .nroutes = nr,
                           .repeat = 2,
                           .nsamples = 50,
                           .verify = 1,
                           .find = dtest_find};
    return cfg;
}

/* ---- tests -------------------------------------------------------------- */

static void dtest_results(const dtest_files_t *f)
{
    const char *traces[] = {f->spec, f->rep};
    route_t routes[2];
    route_uniform(&routes[0], "null");
    route_uniform(&routes[1], "raw");
    driver_config_t cfg = dtest_config(traces, 2, routes, 2);
    driver_run_t *runs;
    size_t n;
    char err[4096];
    CHECKF(dtest_run(&cfg, &runs, &n, err, sizeof err) == CLI_OK, "%s", err);
    CHECK(n == 4);
    for (size_t i = 0; i < n && runs; i++) {
        int is_spec = i < 2;
        CHECK(runs[i].trace == traces[i / 2]);
        CHECK(strcmp(runs[i].allocator, i % 2 ? "raw" : "null") == 0);
        CHECK(runs[i].m.events == (is_spec ? 9u : 8u));
        CHECK(runs[i].m.peak_live_bytes == (is_spec ? 9348u : 896u));
        CHECK(runs[i].series.n == runs[i].m.events);
        CHECK(runs[i].repeat == 2);
        CHECK(runs[i].ns_per_event.min > 0 &&
              runs[i].ns_per_event.min <= runs[i].ns_per_event.median &&
              runs[i].ns_per_event.median <= runs[i].ns_per_event.max);
    }
    /* Figures cross the pipe bit for bit: null's are known exactly. */
    if (runs) {
        /* replay_test.c derives 17888 (null, default PyArena mode). */
        CHECK(runs[0].m.peak_held == 17888);
        /* the fragmentation figures come from resident memory */
        CHECK(runs[0].m.frag.jw4 == (double)runs[0].m.peak_resident / 9348.0 - 1);
        CHECK(runs[0].series.nextra == 1 && strcmp(runs[0].series.extra_name[0], "blocks") == 0);
        /* a a r, arena struct, 2 arena blocks, owned-list array */
        CHECK(runs[0].series.extra[8 * METRICS_MAX_EXTRA] == 7);
    }
    driver_runs_free(runs, n);
}

static void dtest_failures(const dtest_files_t *f)
{
    char err[4096];
    driver_run_t *runs;
    size_t n;
    route_t route;

    /* A worker that aborts: reported with its signal and pair, exit 1. */
    const char *spec[] = {f->spec};
    route_uniform(&route, "crash");
    driver_config_t cfg = dtest_config(spec, 1, &route, 1);
    CHECK(dtest_run(&cfg, &runs, &n, err, sizeof err) == CLI_FAIL);
    CHECKF(strstr(err, "with crash: the worker was killed by signal 6 (SIGABRT") != NULL, "%s",
           err);
    CHECK(runs == NULL && n == 0);

    /* A semantic error keeps the reader's FILE:LINE; --lenient counts it. */
    const char *bad[] = {f->bad};
    route_uniform(&route, "null");
    cfg = dtest_config(bad, 1, &route, 1);
    CHECK(dtest_run(&cfg, &runs, &n, err, sizeof err) == CLI_FAIL);
    CHECKF(strstr(err, "driver_bad.txt:2: ") != NULL, "%s", err);
    cfg.lenient = 1;
    CHECKF(dtest_run(&cfg, &runs, &n, err, sizeof err) == CLI_OK, "%s", err);
    CHECK(n == 1 && runs[0].m.skipped == 1 && runs[0].m.events == 2);
    driver_runs_free(runs, n);

    /* An allocation that fails: the event and size, exit 1. */
    route_uniform(&route, "null:reserve=1M");
    const char *big_path = f->bad; /* reuse: rewrite with a huge block */
    dtest_write(big_path, "a 1 10\na 2 2000000\n");
    cfg = dtest_config(bad, 1, &route, 1);
    CHECK(dtest_run(&cfg, &runs, &n, err, sizeof err) == CLI_FAIL);
    CHECKF(strstr(err, ":2: event 1: allocation of 2000000 bytes returned NULL") != NULL, "%s",
           err);

    /* Usage: an unknown allocator (before any worker), a bad parameter, a
     * trace that cannot be opened: exit 2. */
    route_uniform(&route, "nosuch");
    cfg = dtest_config(spec, 1, &route, 1);
    CHECK(dtest_run(&cfg, &runs, &n, err, sizeof err) == CLI_USAGE);
    CHECKF(strstr(err, "unknown allocator 'nosuch'") != NULL, "%s", err);
    route_uniform(&route, "null:colour=blue");
    cfg = dtest_config(spec, 1, &route, 1);
    CHECK(dtest_run(&cfg, &runs, &n, err, sizeof err) == CLI_USAGE);
    CHECKF(strstr(err, "unknown parameter 'colour'") != NULL, "%s", err);
    const char *missing[] = {f->missing};
    route_uniform(&route, "null");
    cfg = dtest_config(missing, 1, &route, 1);
    CHECK(dtest_run(&cfg, &runs, &n, err, sizeof err) == CLI_USAGE);
    CHECKF(strstr(err, "driver_missing.txt: cannot open") != NULL, "%s", err);

    /* No worker at all (a bad executable): an error, not a hang. */
    route_uniform(&route, "null");
    cfg = dtest_config(spec, 1, &route, 1);
    cfg.self = "/nonexistent/arenalab";
    CHECK(dtest_run(&cfg, &runs, &n, err, sizeof err) == CLI_FAIL);
    CHECKF(strstr(err, "exec of /nonexistent/arenalab failed") != NULL, "%s", err);
}

static void dtest_process_classes(const dtest_files_t *f)
{
    char err[4096];
    driver_run_t *runs;
    size_t n;
    route_t route;
    const char *spec[] = {f->spec};

    /* Process-global: the measurement and 3 timed runs, 4 processes (the
     * class refuses a second create in one process). */
    route_uniform(&route, "global");
    driver_config_t cfg = dtest_config(spec, 1, &route, 1);
    cfg.repeat = 3;
    CHECKF(dtest_run(&cfg, &runs, &n, err, sizeof err) == CLI_OK, "%s", err);
    CHECK(n == 1 && runs[0].repeat == 3 && runs[0].m.events == 9);
    driver_runs_free(runs, n);

    route_uniform(&route, "preload");
    cfg = dtest_config(spec, 1, &route, 1);
    CHECKF(dtest_run(&cfg, &runs, &n, err, sizeof err) == CLI_OK, "%s", err);
    CHECK(n == 1);
    driver_runs_free(runs, n);
}

/* The log of creates: NAME[i] and PID[i] for each line; returns the
 * count. */
static size_t dtest_read_log(const char *path, char (*name)[8], long *pid, size_t max)
{
    FILE *f = fopen(path, "r");
    size_t n = 0;
    while (f && n < max && fscanf(f, "%7s %ld", name[n], &pid[n]) == 2)
        n++;
    if (f) fclose(f);
    return n;
}

static void dtest_timing(const dtest_files_t *f)
{
    char err[4096], log[600];
    snprintf(log, sizeof log, "%s/driver_creates.log", f->dir);
    setenv("DTEST_LOG", log, 1);
    const char *spec[] = {f->spec};
    route_t routes[4];
    route_uniform(&routes[0], "kept");
    route_uniform(&routes[1], "heap");
    route_uniform(&routes[2], "kept:size=1K");
    route_uniform(&routes[3], "kept:size=1024:size=0"); /* the last wins: = kept */
    driver_config_t cfg = dtest_config(spec, 1, routes, 4);
    cfg.repeat = 4;
    cfg.seed = 7;
    driver_run_t *runs;
    size_t n;
    unlink(log);
    CHECKF(dtest_run(&cfg, &runs, &n, err, sizeof err) == CLI_OK, "%s", err);
    CHECK(n == 4);

    /* Every timed run reported, in order run, summarised. */
    for (size_t i = 0; runs && i < n; i++) {
        CHECK(runs[i].repeat == 4 && runs[i].ns_runs != NULL);
        CHECK(runs[i].ns_per_event.n == 4 && runs[i].ns_per_event.ci_level == 0.875);
        CHECK(runs[i].timing_too_short); /* 9 events */
        for (unsigned k = 0; k < runs[i].repeat; k++)
            CHECK(runs[i].ns_runs[k] >= runs[i].ns_per_event.min &&
                  runs[i].ns_runs[k] <= runs[i].ns_per_event.max);
    }
    /* kept:size=1024:size=0 is kept: one run, the same figures, marked. */
    if (runs) {
        CHECK(strcmp(runs[0].config, "kept") == 0 && strcmp(runs[3].config, "kept") == 0);
        CHECK(strcmp(runs[2].config, "kept:size=1K") == 0);
        CHECK(!runs[0].same_as[0] && strcmp(runs[3].same_as, "kept") == 0);
        CHECK(runs[3].ns_runs != runs[0].ns_runs &&
              memcmp(runs[3].ns_runs, runs[0].ns_runs, 4 * sizeof(double)) == 0);
        CHECK(runs[3].m.events == runs[0].m.events && runs[3].series.n == runs[0].series.n);
    }
    driver_runs_free(runs, n);

    /* The log: kept routes (0 and 2) each make the measurement, a warm-up
     * and 4 timed instances in one process of their own; heap makes one
     * instance per process, 1 + 4 processes; the duplicate makes none. */
    char name[64][8];
    long pid[64];
    size_t nlog = dtest_read_log(log, name, pid, 64);
    CHECKF(nlog == 6 + 5 + 6, "%zu creates logged", nlog);
    long kept_pid[2] = {0, 0};
    int kept_creates[2] = {0, 0}, heap_creates = 0;
    size_t first_timed = 0;
    for (size_t i = 0; i < nlog; i++) {
        if (strcmp(name[i], "heap") == 0) {
            heap_creates++;
            for (size_t j = 0; j < i; j++)
                CHECKF(pid[j] != pid[i], "heap create %zu shares process %ld", i, pid[i]);
            continue;
        }
        int k = kept_pid[0] == 0 || kept_pid[0] == pid[i] ? 0 : 1;
        if (!kept_pid[k]) kept_pid[k] = pid[i];
        CHECK(kept_pid[k] == pid[i]);
        kept_creates[k]++;
    }
    CHECK(kept_creates[0] == 6 && kept_creates[1] == 6 && heap_creates == 5);
    CHECK(kept_pid[0] != kept_pid[1]);
    /* The measurements and warm-ups come first, in route order: kept
     * (2), heap (1), kept:size=1K (2); then 4 rounds of three runs in the
     * order timing_shuffle gives for seed 7 + trace 0. */
    first_timed = 5;
    uint64_t state = 7;
    size_t at = first_timed;
    for (int r = 0; r < 4 && at + 3 <= nlog; r++) {
        size_t order[3] = {0, 1, 2};
        timing_shuffle(order, 3, &state);
        for (int k = 0; k < 3; k++, at++) {
            /* route 0 and 2 are kept (told apart by process), 1 is heap */
            const char *want = order[k] == 1 ? "heap" : "kept";
            CHECKF(strcmp(name[at], want) == 0, "round %d slot %d: %s, want %s", r, k, name[at],
                   want);
            if (order[k] != 1) CHECK(pid[at] == kept_pid[order[k] == 0 ? 0 : 1]);
        }
    }
    unsetenv("DTEST_LOG");
}

/* --measure latency: per operation, every call of every timed run; the
 * clock announced; nothing without it. */
static void dtest_latency(const dtest_files_t *f)
{
    char err[4096];
    const char *spec[] = {f->spec};
    route_t routes[2];
    route_uniform(&routes[0], "kept");
    route_uniform(&routes[1], "heap");
    driver_config_t cfg = dtest_config(spec, 1, routes, 2);
    cfg.repeat = 3;
    cfg.measure = DRIVER_MEASURE_LATENCY;
    cfg.latency_every = 1; /* every call: the counts are known */
    driver_run_t *runs;
    size_t n;
    CHECKF(dtest_run(&cfg, &runs, &n, err, sizeof err) == CLI_OK, "%s", err);
    CHECK(n == 2);
    for (size_t i = 0; runs && i < n; i++) {
        const driver_run_t *r = &runs[i];
        CHECK(r->lat != NULL && r->repeat == 3);
        if (!r->lat) continue;
        CHECK(r->clock.ticks_per_ns > 0 && r->clock.resolution_ns > 0);
        /* the spec trace: a a r f n m m o x, three timed runs */
        CHECK(r->latency[TRACE_ALLOC].count == 6 && r->latency[TRACE_REALLOC].count == 3);
        CHECK(r->latency[TRACE_FREE].count == 3 && r->latency[TRACE_CALLOC].count == 0);
        CHECK(r->latency[TRACE_ARENA_NEW].count == 3 && r->latency[TRACE_ARENA_MALLOC].count == 6);
        CHECK(r->latency[TRACE_ARENA_FREE].count == 3);
        CHECK(r->latency[LAT_ALL].count >= 24);
        for (int op = 0; op < LAT_NOPS; op++)
            CHECK(lat_hist_is_valid(&r->lat->op[op]));
        const lat_summary_t *a = &r->latency[LAT_ALL];
        for (int k = 1; k < LAT_NQUANTILES; k++)
            CHECK(a->q[k - 1] <= a->q[k]);
        CHECK(a->q[LAT_NQUANTILES - 1] <= a->max && a->q[0] >= 0);
    }
    driver_runs_free(runs, n);
    cfg.measure = DRIVER_MEASURE_TIME;
    CHECKF(dtest_run(&cfg, &runs, &n, err, sizeof err) == CLI_OK, "%s", err);
    CHECK(n == 2 && runs[0].lat == NULL && runs[0].repeat == 3);
    driver_runs_free(runs, n);
}

/* --measure instructions: one run under callgrind per configuration, the
 * same counts twice, moving with the allocator's work; no timed runs
 * unless asked.  A sanitized build or no valgrind: a usage error. */
static void dtest_counts(const dtest_files_t *f)
{
    char err[4096], valgrind[512], why[512];
    const char *spec[] = {f->spec};
    route_t routes[4];
    route_uniform(&routes[0], "spin");          /* kept: after a warm-up    */
    route_uniform(&routes[1], "heap");          /* fresh: after the pre-pass */
    route_uniform(&routes[2], "spin:work=200"); /* more work per malloc   */
    route_uniform(&routes[3], "spin:work=0");   /* = spin: counted once     */
    driver_config_t cfg = dtest_config(spec, 1, routes, 4);
    cfg.measure = DRIVER_MEASURE_INSTRUCTIONS;
    driver_run_t *runs[2] = {NULL, NULL};
    size_t n[2] = {0, 0};
    if (cg_check(valgrind, sizeof valgrind, why, sizeof why)) {
        CHECK(dtest_run(&cfg, &runs[0], &n[0], err, sizeof err) == CLI_USAGE);
        CHECKF(strstr(err, "--measure instructions") != NULL, "%s", err);
        return;
    }
    for (int k = 0; k < 2; k++)
        CHECKF(dtest_run(&cfg, &runs[k], &n[k], err, sizeof err) == CLI_OK, "%s", err);
    if (!runs[0] || !runs[1]) return;
    for (size_t i = 0; i < n[0]; i++) {
        const driver_run_t *r = &runs[0][i];
        CHECK(r->has_counts && r->count_events == 9 && r->repeat == 0);
        CHECK(r->count_probes >= 8 && r->count_probes <= 9); /* `o` is probed when served */
        CHECK(r->instructions_per_event > 0 && r->counts.v[CG_IR] > 0);
        CHECK(r->probe_instructions > 0 && r->probe_instructions < 100);
        CHECK(r->instructions_per_event == (double)r->counts.v[CG_IR] / 9);
        /* the same counts, run after run */
        CHECK(memcmp(&r->counts, &runs[1][i].counts, sizeof r->counts) == 0);
    }
    /* 200 more loop iterations in each of the 2 mallocs: hundreds more
     * instructions per event; work=0 is spin's configuration */
    CHECKF(runs[0][2].counts.v[CG_IR] > runs[0][0].counts.v[CG_IR] + 2 * 200, "%llu vs %llu",
           (unsigned long long)runs[0][2].counts.v[CG_IR],
           (unsigned long long)runs[0][0].counts.v[CG_IR]);
    CHECK(strcmp(runs[0][3].same_as, "spin") == 0 &&
          memcmp(&runs[0][3].counts, &runs[0][0].counts, sizeof runs[0][0].counts) == 0);
    for (int k = 0; k < 2; k++)
        driver_runs_free(runs[k], n[k]);
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "replay") == 0 && strcmp(argv[2], "--worker") == 0)
        return driver_worker(argc - 2, argv + 2, dtest_find);
    dtest_files_t f;
    dtest_make_files(&f);
    dtest_results(&f);
    dtest_failures(&f);
    dtest_process_classes(&f);
    dtest_timing(&f);
    dtest_latency(&f);
    dtest_counts(&f);
    return check_done();
}
