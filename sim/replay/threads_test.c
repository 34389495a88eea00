/* threads_test.c: the threaded replay (threads.h) in-process: cross-thread
 * frees and reallocs in the recorded order, a thread that ends with live
 * blocks, 32 threads, --verify across threads (and a broken realloc caught
 * on one), a trace whose free comes before its allocation rejected, the
 * models (and traces with arena events, or one thread) serialized with the
 * figures of --threads 1, pacing (a producer kept near its consumer), and
 * a timed run.
 *
 * The test allocators wrap libc and count, in atomics, what a wrong order
 * would show: a free or realloc of NULL (a block touched before another
 * thread allocated it), the blocks still live after the run, and the
 * distinct OS threads that called them.  Run under ThreadSanitizer too
 * (tag "threads", `bazel test --config=tsan`). */
#include "sim/replay/threads.h"
#include "alloc/check.h"
#include "sim/trace/trace_synth.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- test allocators ---------------------------------------------------- */

#define TT_MAX_CALLERS 64

static _Atomic long tt_null_touches; /* free/realloc of NULL: order broken */
static _Atomic long tt_live;         /* blocks handed out, not yet freed   */
static pthread_mutex_t tt_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t tt_callers[TT_MAX_CALLERS];
static int tt_ncallers;

static void tt_reset(void)
{
    atomic_store(&tt_null_touches, 0);
    atomic_store(&tt_live, 0);
    pthread_mutex_lock(&tt_lock);
    tt_ncallers = 0;
    pthread_mutex_unlock(&tt_lock);
}

/* Remembers the calling thread (the first TT_MAX_CALLERS). */
static void tt_caller(void)
{
    pthread_t me = pthread_self();
    pthread_mutex_lock(&tt_lock);
    int seen = 0;
    for (int i = 0; i < tt_ncallers && !seen; i++)
        seen = pthread_equal(tt_callers[i], me);
    if (!seen && tt_ncallers < TT_MAX_CALLERS) tt_callers[tt_ncallers++] = me;
    pthread_mutex_unlock(&tt_lock);
}

static int tt_callers_seen(void)
{
    pthread_mutex_lock(&tt_lock);
    int n = tt_ncallers;
    pthread_mutex_unlock(&tt_lock);
    return n;
}

typedef struct {
    int broken; /* realloc forgets to copy */
} tt_ctx_t;

static void *tt_malloc(void *ctx, size_t n)
{
    (void)ctx;
    tt_caller();
    void *p = malloc(n ? n : 1);
    if (p) atomic_fetch_add(&tt_live, 1);
    return p;
}
static void *tt_calloc(void *ctx, size_t n, size_t s)
{
    (void)ctx;
    tt_caller();
    void *p = calloc(n ? n : 1, s ? s : 1);
    if (p) atomic_fetch_add(&tt_live, 1);
    return p;
}
static void *tt_realloc(void *ctx, void *p, size_t n)
{
    tt_ctx_t *c = ctx;
    tt_caller();
    if (!p) atomic_fetch_add(&tt_null_touches, 1);
    if (!c->broken) return realloc(p, n ? n : 1);
    void *q = calloc(1, n ? n : 1); /* the bug: nothing copied */
    free(p);
    return q;
}
static void tt_free(void *ctx, void *p)
{
    (void)ctx;
    tt_caller();
    if (!p) {
        atomic_fetch_add(&tt_null_touches, 1);
        return;
    }
    atomic_fetch_sub(&tt_live, 1);
    free(p);
}
static void tt_destroy(void *ctx)
{
    free(ctx);
}
static void tt_stats(void *ctx, alloc_stats_t *out)
{
    (void)ctx;
    out->footprint = 0;
    out->peak_footprint = 0;
    out->nextra = 0;
}
static int tt_make(alloc_t *a, int broken)
{
    tt_ctx_t *c = calloc(1, sizeof *c);
    if (!c) return -1;
    c->broken = broken;
    *a = (alloc_t){c, tt_malloc, tt_calloc, tt_realloc, tt_free};
    return 0;
}
static int tt_create(alloc_t *a, alloc_param_t *p, size_t n, char *e, size_t l)
{
    (void)p, (void)n, (void)e, (void)l;
    return tt_make(a, 0);
}
static int tt_create_broken(alloc_t *a, alloc_param_t *p, size_t n, char *e, size_t l)
{
    (void)p, (void)n, (void)e, (void)l;
    return tt_make(a, 1);
}

static const alloc_class_t tt_safe = {.name = "tsafe",
                                      .flags = ALLOC_THREAD_SAFE,
                                      .create = tt_create,
                                      .destroy = tt_destroy,
                                      .stats = tt_stats};
static const alloc_class_t tt_broken = {.name = "tbroken",
                                        .flags = ALLOC_THREAD_SAFE,
                                        .create = tt_create_broken,
                                        .destroy = tt_destroy,
                                        .stats = tt_stats};

static const alloc_class_t *tt_find(const char *name)
{
    if (!strcmp(name, "tsafe")) return &tt_safe;
    if (!strcmp(name, "tbroken")) return &tt_broken;
    return alloc_find(name);
}

/* ---- helpers ------------------------------------------------------------ */

typedef struct {
    trace_reader_t *r;
    replay_scan_t scan;
    replay_result_t res;
    metrics_series_t ser;
    int rc;
    char err[1024];
} tt_run_t;

/* Scans TEXT (trace NAME) and runs it through SPEC: a measurement run
 * with --verify, or a timed run (TIMED); THREADED: --threads recorded. */
static void tt_replay(tt_run_t *t, const char *name, const char *text, size_t len, const char *spec,
                      int threaded, int timed)
{
    memset(t, 0, sizeof *t);
    tt_reset();
    replay_opts_t o = {.find = tt_find,
                       .verify = !timed,
                       .nsamples = timed ? 0 : 1000,
                       .label = spec,
                       .touch = REPLAY_TOUCH_PAGE,
                       .threads_recorded = threaded};
    CHECKF(trace_open_mem(&t->r, name, text, len, TRACE_R_PRIVATE_HEAP, t->err, sizeof t->err) == 0,
           "%s", t->err);
    if (!t->r) return;
    t->rc = replay_scan(t->r, 0, &t->scan, t->err, sizeof t->err);
    if (t->rc) return;
    route_t route;
    route_uniform(&route, spec);
    t->rc = replay_run(t->r, &route, &t->scan, &o, &t->res, timed ? NULL : &t->ser, t->err,
                       sizeof t->err);
}

static void tt_done(tt_run_t *t)
{
    if (t->ser.s) metrics_series_free(&t->ser);
    if (t->r) trace_close(t->r);
}

/* A synthetic trace of NTHREADS threads (trace_synth.h), in memory. */
static char *tt_synth(uint32_t nthreads, uint64_t events, size_t *len)
{
    char *buf = NULL;
    FILE *fp = open_memstream(&buf, len);
    trace_writer_t *w;
    char err[256];
    CHECK(fp != NULL);
    if (!fp) return NULL;
    CHECKF(trace_writer_open_stream(&w, fp, "synth", TRACE_FMT_TEXT, NULL, 0, err, sizeof err) == 0,
           "%s", err);
    CHECK(tsynth_write_threads(w, 7, events, nthreads, 100) == 0);
    CHECK(trace_writer_close(w) == 0);
    fclose(fp);
    return buf;
}

/* ---- tests -------------------------------------------------------------- */

/* Thread 1 allocates; thread 2 frees one of its blocks, reallocs another
 * (twice: a grown one is moved) and allocates its own, which thread 1
 * frees after thread 2's realloc; thread 2 ends with block 9 live. */
static const char tt_cross[] = "#@ thread 1\n"
                               "a 1 100\n"
                               "a 2 5000\n"
                               "c 3 10 10\n"
                               "#@ thread 2\n"
                               "f 1\n"
                               "r 2 90000\n"
                               "a 4 64\n"
                               "a 9 32\n"
                               "#@ thread 1\n"
                               "r 2 7\n"
                               "f 4\n"
                               "#@ thread 2\n"
                               "f 2\n"
                               "f 3\n";

static void tt_cross_thread(void)
{
    tt_run_t t;
    tt_replay(&t, "cross.txt", tt_cross, strlen(tt_cross), "tsafe", 1, 0);
    CHECKF(t.rc == 0, "%s", t.err);
    CHECK(t.res.threads == 2);
    CHECK(t.res.events == 11);
    CHECK(tt_callers_seen() >= 2);
    CHECK(atomic_load(&tt_null_touches) == 0);
    /* block 9 stayed live on thread 2: the replay freed it after the end */
    CHECK(atomic_load(&tt_live) == 0);
    /* peak live is at least the largest moment the order forces: block 2
     * at 90000 bytes with block 3 (100) */
    CHECK(t.res.peak_live_bytes >= 90100);
    CHECK(t.ser.n > 0 && t.ser.s[t.ser.n - 1].live_bytes == 32);
    tt_done(&t);

    /* --threads 1: the same trace serialized */
    tt_replay(&t, "cross.txt", tt_cross, strlen(tt_cross), "tsafe", 0, 0);
    CHECKF(t.rc == 0, "%s", t.err);
    CHECK(t.res.threads == 1 && t.res.events == 11 && tt_callers_seen() == 1);
    CHECK(t.res.peak_live_bytes == 5000 + 100 + 100 + 90000 - 5000 + 64 + 32 - 100);
    tt_done(&t);
}

static void tt_many_threads(void)
{
    size_t len;
    char *text = tt_synth(32, 40000, &len);
    tt_run_t t;
    tt_replay(&t, "synth32", text, len, "tsafe", 1, 0);
    CHECKF(t.rc == 0, "%s", t.err);
    CHECK(t.res.threads == 32 && t.res.events == 40000);
    CHECK(tt_callers_seen() >= 32);
    CHECK(atomic_load(&tt_null_touches) == 0 && atomic_load(&tt_live) == 0);
    CHECK(t.ser.n > 0 && t.ser.s[t.ser.n - 1].live_bytes > 0);
    tt_done(&t);

    /* a timed run: wall time, every event */
    tt_replay(&t, "synth32", text, len, "tsafe", 1, 1);
    CHECKF(t.rc == 0, "%s", t.err);
    CHECK(t.res.threads == 32 && t.res.events == 40000 && t.res.ns > 0);
    tt_done(&t);
    free(text);
}

/* The models run serialized whatever --threads says: the same figures. */
static void tt_models_serialized(void)
{
    size_t len;
    char *text = tt_synth(4, 20000, &len);
    const char *models[] = {"pymalloc", "arena", "malloc_debug", "null"};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        tt_run_t a, b;
        tt_replay(&a, "synth4", text, len, models[i], 1, 0);
        tt_replay(&b, "synth4", text, len, models[i], 0, 0);
        CHECKF(a.rc == 0 && b.rc == 0, "%s: %s %s", models[i], a.err, b.err);
        CHECKF(a.res.threads == 1 && b.res.threads == 1, "%s", models[i]);
        /* the held figures of a class on the process heap depend on what the
         * runs before left there: compared in fresh processes by
         * //sim/cli:threads_cli_test */
        int same = a.res.peak_live_bytes == b.res.peak_live_bytes && a.ser.n == b.ser.n &&
                   a.res.peak_live_blocks == b.res.peak_live_blocks;
        for (size_t k = 0; same && k < a.ser.n; k++)
            same = a.ser.s[k].event == b.ser.s[k].event &&
                   a.ser.s[k].live_bytes == b.ser.s[k].live_bytes;
        CHECKF(same, "%s", models[i]);
        tt_done(&a);
        tt_done(&b);
    }
    /* the thread-safe real ones do run on the threads (raw refuses a
     * sanitizer's malloc) */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    const char *real[] = {"malloc"};
#else
    const char *real[] = {"raw", "malloc"};
#endif
    for (size_t i = 0; i < sizeof real / sizeof real[0]; i++) {
        tt_run_t a;
        tt_replay(&a, "synth4", text, len, real[i], 1, 0);
        CHECKF(a.rc == 0, "%s: %s", real[i], a.err);
        CHECKF(a.res.threads == 4, "%s", real[i]);
        tt_done(&a);
    }
    free(text);
}

static void tt_verify_catches(void)
{
    tt_run_t t;
    tt_replay(&t, "cross.txt", tt_cross, strlen(tt_cross), "tbroken", 1, 0);
    CHECK(t.rc == REPLAY_EFAIL);
    /* thread 2's realloc of thread 1's block 2, at line 7 */
    CHECKF(strstr(t.err, "cross.txt:7: event 4: verify: realloc of block 2") != NULL &&
               strstr(t.err, "thread 2") != NULL,
           "%s", t.err);
    CHECK(atomic_load(&tt_live) == 0);
    tt_done(&t);
}

/* Pacing: a producer that never waits for its consumer still stays
 * within two windows (2 x 1024 x 2 events of the recorded order) of it,
 * so the live memory stays near the recorded one: 20000 blocks of 100
 * bytes, each freed by the other thread ~64 allocations later; run free,
 * the producer could hold all 2 MB at once. */
static void tt_pacing(void)
{
    size_t cap = 1 << 20, len = 0;
    char *text = malloc(cap);
    CHECK(text != NULL);
    if (!text) return;
    int freed = 0;
    for (int i = 0; i < 20000; i += 16) {
        len += (size_t)snprintf(text + len, cap - len, "#@ thread 1\n");
        for (int k = i; k < i + 16; k++)
            len += (size_t)snprintf(text + len, cap - len, "a %d 100\n", k);
        len += (size_t)snprintf(text + len, cap - len, "#@ thread 2\n");
        for (; freed < i + 16 - 64; freed++)
            len += (size_t)snprintf(text + len, cap - len, "f %d\n", freed);
    }
    tt_run_t t;
    tt_replay(&t, "prodcons.txt", text, len, "tsafe", 1, 0);
    CHECKF(t.rc == 0, "%s", t.err);
    CHECK(t.res.threads == 2);
    /* recorded: 80 blocks, 8000 bytes; paced: at most ~2 x 2048 events apart */
    CHECKF(t.res.peak_live_bytes <= 300000, "peak live %llu",
           (unsigned long long)t.res.peak_live_bytes);
    CHECK(atomic_load(&tt_null_touches) == 0 && atomic_load(&tt_live) == 0);
    tt_done(&t);
    free(text);
}

/* Arena events (the arena modes are models) and a single thread: the
 * serialized replay, whatever --threads says. */
static void tt_serialized_traces(void)
{
    static const char arenas[] = "#@ thread 1\na 1 10\nn 7\nm 7 48\n#@ thread 2\nf 1\nx 7\n";
    static const char one[] = "#@ thread 5\na 1 10\nr 1 20\nf 1\n";
    tt_run_t t;
    tt_replay(&t, "arenas.txt", arenas, strlen(arenas), "tsafe", 1, 0);
    CHECKF(t.rc == 0, "%s", t.err);
    CHECK(t.scan.threaded && t.res.threads == 1 && t.res.events == 5);
    tt_done(&t);
    tt_replay(&t, "one.txt", one, strlen(one), "tsafe", 1, 0);
    CHECKF(t.rc == 0, "%s", t.err);
    CHECK(!t.scan.threaded && t.res.threads == 1 && t.res.events == 3);
    tt_done(&t);
}

/* A free listed before its allocation is wrong in every order. */
static void tt_inconsistent(void)
{
    static const char bad[] = "#@ thread 1\na 1 10\n#@ thread 2\nf 2\n#@ thread 1\na 2 10\n";
    tt_run_t t;
    tt_replay(&t, "bad.txt", bad, strlen(bad), "tsafe", 1, 0);
    CHECK(t.rc == REPLAY_EFAIL);
    CHECKF(strstr(t.err, "bad.txt:4: f of id 2, which is not live") != NULL, "%s", t.err);
    tt_done(&t);
}

int main(void)
{
    tt_cross_thread();
    tt_many_threads();
    tt_models_serialized();
    tt_verify_catches();
    tt_serialized_traces();
    tt_pacing();
    tt_inconsistent();
    return check_done();
}
