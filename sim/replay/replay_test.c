/* replay_test.c: the replay engine in-process — the spec example and a
 * malloc-lab .rep trace through raw and null with --verify, verification
 * catching a broken allocator, reader errors with and without --lenient,
 * NULL allocations, routes, sampling and determinism. */
#include "sim/replay/replay.h"
#include "alloc/check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- test allocators ---------------------------------------------------- */

/* Wraps libc; `broken` realloc forgets to copy, `dirty` calloc does not
 * zero, `perdomain` records the domain= parameter it was given, `order`
 * checks how arena allocations come back (rtest_order_free). */
#define RTEST_RANGES 8

typedef struct {
    int kind;
    char domain[8];
    uint64_t made[RTEST_RANGES], freed[RTEST_RANGES]; /* `order` */
} rtest_ctx_t;

enum { RTEST_BROKEN, RTEST_DIRTY, RTEST_PERDOMAIN, RTEST_ORDER };

/* `order`: a malloc of 1000 * R + K bytes (R in 1..7, K below 1000) is the
 * K-th allocation of range R (a trace gives each arena a range), and must
 * be freed after the ones before it -- per-object's `x` frees an arena's
 * allocations oldest first -- and before the instance is destroyed.  The
 * size is kept in a 16-byte header. */
static int rtest_range(uint64_t size)
{
    return size >= 1000 && size < 1000 * RTEST_RANGES ? (int)(size / 1000) : 0;
}

static void *rtest_order_malloc(rtest_ctx_t *c, size_t n)
{
    uint64_t *h = malloc(n + 16);
    if (!h) return NULL;
    h[0] = n;
    int r = rtest_range(n);
    if (r) CHECKF(n % 1000 == c->made[r]++, "range %d: allocation %zu out of order", r, n % 1000);
    return h + 2;
}

static void rtest_order_free(rtest_ctx_t *c, void *p)
{
    uint64_t *h = (uint64_t *)p - 2;
    int r = rtest_range(h[0]);
    if (r)
        CHECKF(h[0] % 1000 == c->freed[r]++, "range %d: allocation %llu freed after %llu others", r,
               (unsigned long long)(h[0] % 1000), (unsigned long long)c->freed[r] - 1);
    free(h);
}

static void *rtest_malloc(void *ctx, size_t n)
{
    rtest_ctx_t *c = ctx;
    if (c->kind == RTEST_ORDER) return rtest_order_malloc(c, n);
    return malloc(n ? n : 1);
}
static void *rtest_calloc(void *ctx, size_t n, size_t s)
{
    rtest_ctx_t *c = ctx;
    if (c->kind == RTEST_ORDER) {
        void *p = rtest_order_malloc(c, n * s);
        if (p) memset(p, 0, n * s);
        return p;
    }
    if (c->kind != RTEST_DIRTY) return calloc(n ? n : 1, s ? s : 1);
    size_t bytes = n * s;
    void *p = malloc(bytes ? bytes : 1);
    if (p) memset(p, 0xdd, bytes);
    return p;
}
static void *rtest_realloc(void *ctx, void *p, size_t n)
{
    rtest_ctx_t *c = ctx;
    if (c->kind == RTEST_ORDER) {
        void *q = rtest_order_malloc(c, n);
        if (q && p) {
            uint64_t old = ((uint64_t *)p)[-2];
            memcpy(q, p, old < n ? old : n);
        }
        if (q && p) rtest_order_free(c, p);
        return q;
    }
    if (c->kind != RTEST_BROKEN) return realloc(p, n ? n : 1);
    void *q = malloc(n ? n : 1); /* the bug: nothing copied */
    if (q) memset(q, 0, n);
    free(p);
    return q;
}
static void rtest_free(void *ctx, void *p)
{
    rtest_ctx_t *c = ctx;
    if (c->kind == RTEST_ORDER) {
        if (p) rtest_order_free(c, p);
        return;
    }
    free(p);
}
static void rtest_destroy(void *ctx)
{
    rtest_ctx_t *c = ctx;
    for (int r = 1; r < RTEST_RANGES; r++)
        CHECKF(c->freed[r] == c->made[r], "range %d: %llu of %llu allocations freed", r,
               (unsigned long long)c->freed[r], (unsigned long long)c->made[r]);
    free(ctx);
}
static void rtest_stats(void *ctx, alloc_stats_t *out)
{
    (void)ctx;
    out->footprint = 0;
    out->peak_footprint = 0;
    out->nextra = 1;
    out->extra[0].name = "calls";
    out->extra[0].value = 7;
}

static int rtest_make(alloc_t *a, int kind, alloc_param_t *params, size_t n, char *err,
                      size_t errlen)
{
    rtest_ctx_t *c = calloc(1, sizeof *c);
    if (!c) return -1;
    c->kind = kind;
    for (size_t i = 0; i < n; i++)
        if (strcmp(params[i].key, "domain") == 0) {
            snprintf(c->domain, sizeof c->domain, "%s", params[i].value);
            params[i].used = 1;
        }
    (void)err;
    (void)errlen;
    *a = (alloc_t){c, rtest_malloc, rtest_calloc, rtest_realloc, rtest_free};
    return 0;
}
static int rtest_create_broken(alloc_t *a, alloc_param_t *p, size_t n, char *e, size_t l)
{
    return rtest_make(a, RTEST_BROKEN, p, n, e, l);
}
static int rtest_create_dirty(alloc_t *a, alloc_param_t *p, size_t n, char *e, size_t l)
{
    return rtest_make(a, RTEST_DIRTY, p, n, e, l);
}
static int rtest_create_perdomain(alloc_t *a, alloc_param_t *p, size_t n, char *e, size_t l)
{
    return rtest_make(a, RTEST_PERDOMAIN, p, n, e, l);
}

static int rtest_create_order(alloc_t *a, alloc_param_t *p, size_t n, char *e, size_t l)
{
    return rtest_make(a, RTEST_ORDER, p, n, e, l);
}

static const alloc_class_t rtest_broken = {.name = "broken",
                                           .create = rtest_create_broken,
                                           .destroy = rtest_destroy,
                                           .stats = rtest_stats};
static const alloc_class_t rtest_dirty = {
    .name = "dirty", .create = rtest_create_dirty, .destroy = rtest_destroy, .stats = rtest_stats};
static const alloc_class_t rtest_order = {
    .name = "order", .create = rtest_create_order, .destroy = rtest_destroy, .stats = rtest_stats};
static const alloc_class_t rtest_perdomain = {.name = "perdomain",
                                              .flags = ALLOC_PER_DOMAIN,
                                              .create = rtest_create_perdomain,
                                              .destroy = rtest_destroy,
                                              .stats = rtest_stats};

static const alloc_class_t *rtest_find(const char *name)
{
    static const alloc_class_t *const mine[] = {&rtest_broken, &rtest_dirty, &rtest_perdomain,
                                                &rtest_order};
    for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++)
        if (strcmp(mine[i]->name, name) == 0) return mine[i];
    return alloc_find(name);
}

/* ---- helpers ------------------------------------------------------------ */

/* The example of the shared spec trace-text.md. */
static const char rtest_spec[] = "# two objects, one resized; an arena with two allocations that "
                                 "takes over block 1\n"
                                 "a 0 24 obj\n"
                                 "a 1 100\n"
                                 "r 1 300\n"
                                 "f 0 obj\n"
                                 "n 7\n"
                                 "m 7 48\n"
                                 "m 7 9000\n"
                                 "o 7 1\n"
                                 "x 7\n";

/* A CS:APP malloc-lab trace: heap size, ids, operations, weight, events. */
static const char rtest_rep[] = "20000\n3\n8\n1\n"
                                "a 0 512\n"
                                "a 1 128\n"
                                "r 0 640\n"
                                "a 2 128\n"
                                "f 1\n"
                                "r 0 768\n"
                                "f 0\n"
                                "f 2\n";

typedef struct {
    trace_reader_t *r;
    replay_scan_t scan;
    replay_result_t res;
    metrics_series_t ser;
    int rc;
    char err[1024];
} rtest_run_t;

/* Opens TEXT as trace NAME, scans it, and (when the scan succeeds) does a
 * measurement run of SPEC; results in *T (close with rtest_done). */
static void rtest_measure(rtest_run_t *t, const char *name, const char *text, const char *spec,
                          const replay_opts_t *opts)
{
    memset(t, 0, sizeof *t);
    CHECK(trace_open_mem(&t->r, name, text, strlen(text), 0, t->err, sizeof t->err) == 0);
    if (!t->r) return;
    t->rc = replay_scan(t->r, opts->lenient, &t->scan, t->err, sizeof t->err);
    if (t->rc) return;
    route_t route;
    route_uniform(&route, spec);
    t->rc = replay_run(t->r, &route, &t->scan, opts, &t->res, &t->ser, t->err, sizeof t->err);
}

static void rtest_done(rtest_run_t *t)
{
    metrics_series_free(&t->ser);
    if (t->r) trace_close(t->r);
}

static const replay_opts_t rtest_verify = {
    .find = rtest_find, .verify = 1, .nsamples = 1000, .label = "test"};

/* ---- tests -------------------------------------------------------------- */

static void rtest_spec_example(void)
{
    const char *specs[] = {"raw", "null"};
    for (int i = 0; i < 2; i++) {
        rtest_run_t t;
        rtest_measure(&t, "spec.txt", rtest_spec, specs[i], &rtest_verify);
        CHECKF(t.rc == 0, "%s: %s", specs[i], t.err);
        CHECK(t.scan.events == 9 && t.scan.peak_live_bytes == 9348 && t.scan.peak_live_at == 7);
        CHECK(t.res.events == 9);
        /* 24 + 300 + 48 + 9000: block 0 freed, both arena blocks live. */
        CHECKF(t.res.peak_live_bytes == 9348, "%s: %llu", specs[i],
               (unsigned long long)t.res.peak_live_bytes);
        CHECK(t.res.peak_live_blocks == 3);
        /* 9 events, fewer than the samples asked for: one per event. */
        CHECK(t.ser.n == 9);
        CHECK(t.ser.n == 9 && t.ser.s[8].live_bytes == 0 && t.ser.s[8].live_blocks == 0);
        CHECK(t.ser.n == 9 && t.ser.s[6].live_bytes == 9348);
        CHECK(t.res.peak_held >= 9348);
        CHECK(t.res.frag.util > 0 && t.res.frag.util <= 1.0);
        rtest_done(&t);
    }

    /* null's footprint is exact: 16-byte header + size rounded to 16 per
     * block, every block ever made: a, a, r, then what the default arena
     * mode (CPython's PyArena) asks of MEM — the 24-byte arena struct, the
     * first 8192+32-byte block (m 48 fits in it), a 9000+32-byte block for
     * m 9000, and the owned-object list's 4-item array at `o`. */
    rtest_run_t t;
    rtest_measure(&t, "spec.txt", rtest_spec, "null", &rtest_verify);
    uint64_t fp =
        (16 + 32) + (16 + 112) + (16 + 304) + (16 + 32) + (16 + 8224) + (16 + 9040) + (16 + 32);
    CHECK(fp == 17888);
    CHECKF(t.res.peak_held == fp, "%llu", (unsigned long long)t.res.peak_held);
    /* J&W and util come from resident memory, one definition for all */
    CHECK(fabs(t.res.frag.jw4 - ((double)t.res.peak_resident / 9348 - 1)) < 1e-12);
    /* Internal fragmentation at peak live: block 1 (300 -> usable 304). */
    CHECKF(fabs(t.res.internal_frag - 4.0 / 300.0) < 1e-12, "%f", t.res.internal_frag);
    rtest_done(&t);
}

static void rtest_rep_trace(void)
{
    const char *specs[] = {"raw", "null"};
    for (int i = 0; i < 2; i++) {
        rtest_run_t t;
        rtest_measure(&t, "short.rep", rtest_rep, specs[i], &rtest_verify);
        CHECKF(t.rc == 0, "%s: %s", specs[i], t.err);
        CHECK(t.r && trace_is_rep(t.r));
        CHECK(t.res.events == 8);
        /* 512+128 -> 640+128 -> +128 = 896, again after r 0 768. */
        CHECK(t.res.peak_live_bytes == 896 && t.scan.peak_live_at == 4);
        CHECK(t.res.peak_live_blocks == 3);
        rtest_done(&t);
    }
}

static void rtest_verify_catches(void)
{
    rtest_run_t t;
    rtest_measure(&t, "spec.txt", rtest_spec, "broken", &rtest_verify);
    CHECK(t.rc == REPLAY_EFAIL);
    /* The realloc is line 4 of the file, event 2. */
    CHECKF(strstr(t.err, "spec.txt:4: event 2: verify: realloc of block 1") != NULL, "%s", t.err);
    CHECKF(strstr(t.err, "(allocator test)") != NULL, "%s", t.err);
    rtest_done(&t);

    /* Without --verify the same bug goes unseen: the check is what finds it. */
    replay_opts_t quiet = rtest_verify;
    quiet.verify = 0;
    rtest_measure(&t, "spec.txt", rtest_spec, "broken", &quiet);
    CHECK(t.rc == 0);
    rtest_done(&t);

    rtest_measure(&t, "c.txt", "c 5 10 8\nf 5\n", "dirty", &rtest_verify);
    CHECK(t.rc == REPLAY_EFAIL);
    CHECKF(strstr(t.err, "c.txt:1: event 0: verify: calloc'ed block 5 reads 0xdd at offset 0") !=
               NULL,
           "%s", t.err);
    rtest_done(&t);
}

static void rtest_reader_errors(void)
{
    const char *bad = "a 1 10\nf 2\nr 1 20\nq 3\nf 1\n";
    rtest_run_t t;
    rtest_measure(&t, "bad.txt", bad, "null", &rtest_verify);
    CHECK(t.rc == REPLAY_EFAIL);
    CHECKF(strncmp(t.err, "bad.txt:2: ", 11) == 0, "%s", t.err);
    rtest_done(&t);

    replay_opts_t lenient = rtest_verify;
    lenient.lenient = 1;
    rtest_measure(&t, "bad.txt", bad, "null", &lenient);
    CHECKF(t.rc == 0, "%s", t.err);
    CHECK(t.scan.skipped == 2 && t.res.skipped == 2);
    CHECK(t.res.events == 3 && t.res.peak_live_bytes == 20);
    rtest_done(&t);
}

/* API violations under the debug layer (replay.h): CPython's verdict at the
 * event, or counted with keep_going, the events then applied through the
 * block's own domain (and --verify still holds). */
static void rtest_debug_hooks(void)
{
    const char *text = "a 1 10 obj\na 2 30 raw\nr 1 700 mem\nf 1 raw\nf 2 obj\n";
    static const struct {
        const char *spec;
        int keep_going, rc;
        uint64_t caught;
        const char *msg;
    } cases[] = {
        {"malloc_debug", 0, REPLAY_EFAIL, 0,
         "api.txt:3: event 2: debug hooks: _PyMem_DebugRawRealloc: bad ID: Allocated using API "
         "'o', verified using API 'm' (r of id 1 in domain mem, allocated in domain obj) "
         "(allocator test)"},
        {"pymalloc:debug", 1, 0, 3, NULL},
        {"null_debug", 1, 0, 3, NULL},
        {"null", 1, REPLAY_EFAIL, 0,
         "api.txt:3: event 2: API violation: r of id 1 in domain mem, allocated in domain obj "
         "(replayed only with the debug hooks on both) (allocator test)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rtest_run_t t;
        memset(&t, 0, sizeof t);
        CHECK(trace_open_mem(&t.r, "api.txt", text, strlen(text), TRACE_R_CROSS_DOMAIN, t.err,
                             sizeof t.err) == 0);
        CHECK(replay_scan(t.r, 0, &t.scan, t.err, sizeof t.err) == 0 && t.scan.events == 5);
        replay_opts_t o = rtest_verify;
        o.keep_going = cases[i].keep_going;
        route_t route;
        route_uniform(&route, cases[i].spec);
        t.rc = replay_run(t.r, &route, &t.scan, &o, &t.res, &t.ser, t.err, sizeof t.err);
        CHECKF(t.rc == cases[i].rc, "%s: %s", cases[i].spec, t.err);
        CHECKF(!cases[i].msg || !strcmp(t.err, cases[i].msg), "%s: %s", cases[i].spec, t.err);
        if (t.rc == 0)
            CHECKF(t.res.debug_faults == cases[i].caught && t.res.events == 5 &&
                       t.res.peak_live_bytes == 730,
                   "%s: %llu caught", cases[i].spec, (unsigned long long)t.res.debug_faults);
        rtest_done(&t);
    }
}

static void rtest_null_allocation(void)
{
    rtest_run_t t;
    rtest_measure(&t, "big.txt", "a 1 10\na 2 2000000\n", "null:reserve=1M", &rtest_verify);
    CHECK(t.rc == REPLAY_EFAIL);
    CHECKF(strstr(t.err, "big.txt:2: event 1: allocation of 2000000 bytes returned NULL") != NULL,
           "%s", t.err);
    rtest_done(&t);
}

static void rtest_usage(void)
{
    rtest_run_t t;
    rtest_measure(&t, "spec.txt", rtest_spec, "nosuch", &rtest_verify);
    CHECK(t.rc == REPLAY_EUSAGE && strstr(t.err, "unknown allocator 'nosuch'"));
    rtest_done(&t);
    rtest_measure(&t, "spec.txt", rtest_spec, "null:colour=blue", &rtest_verify);
    CHECKF(t.rc == REPLAY_EUSAGE && strstr(t.err, "unknown parameter 'colour'"), "%s", t.err);
    rtest_done(&t);
}

static void rtest_routes(void)
{
    char err[256];
    route_t r = {{"raw", "null", "null"}, NULL};
    route_heaps_t h;
    CHECK(route_create(&h, &r, rtest_find, err, sizeof err) == 0);
    CHECK(h.ninst == 2 && h.inst[0] == 0 && h.inst[1] == 1 && h.inst[2] == 1);
    CHECK(h.a[2].ctx == h.a[1].ctx);
    char names[METRICS_MAX_EXTRA][ROUTE_NAME_MAX];
    uint64_t values[METRICS_MAX_EXTRA], fp, peak;
    int n = route_stats(&h, &fp, &peak, names, values);
    CHECK(n == 4 && strcmp(names[0], "raw_free_bytes") == 0 && strcmp(names[3], "mem_blocks") == 0);
    CHECK(peak == 0); /* two instances: no single exact peak */
    route_destroy(&h);
    char name[128];
    route_name(&r, name, sizeof name);
    CHECK(strcmp(name, "raw=raw,mem=null,obj=null") == 0);

    /* One instance per domain for ALLOC_PER_DOMAIN, each told its domain. */
    route_uniform(&r, "perdomain");
    CHECK(route_create(&h, &r, rtest_find, err, sizeof err) == 0);
    CHECK(h.ninst == 3);
    CHECK(strcmp(((rtest_ctx_t *)h.a[TRACE_OBJ].ctx)->domain, "obj") == 0);
    CHECK(strcmp(((rtest_ctx_t *)h.a[TRACE_RAW].ctx)->domain, "raw") == 0);
    route_destroy(&h);

    /* A mixed route replays with each block freed by its own domain. */
    rtest_run_t t;
    memset(&t, 0, sizeof t);
    CHECK(trace_open_mem(&t.r, "spec.txt", rtest_spec, strlen(rtest_spec), 0, err, sizeof err) ==
          0);
    CHECK(replay_scan(t.r, 0, &t.scan, err, sizeof err) == 0);
    route_t mixed = {{"raw", "raw", "null"}, NULL};
    t.rc = replay_run(t.r, &mixed, &t.scan, &rtest_verify, &t.res, &t.ser, t.err, sizeof t.err);
    CHECKF(t.rc == 0, "%s", t.err);
    CHECK(t.res.peak_live_bytes == 9348);
    rtest_done(&t);
}

/* A longer trace: sampling spacing, the peak sample, determinism, and
 * a timed run. */
static char *rtest_long_trace(size_t *len)
{
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    uint32_t x = 12345; /* explicit seed: the same trace every time */
    for (int i = 0; i < 3000 && n + 64 < cap; i++) {
        x = x * 1103515245u + 12345u;
        n += (size_t)snprintf(buf + n, cap - n, "a %d %u\n", i, 1 + (x >> 16) % 500);
        if (i % 3 == 2) n += (size_t)snprintf(buf + n, cap - n, "f %d\n", i - 1);
    }
    for (int i = 0; i < 3000 && n + 64 < cap; i++)
        if (i % 3 != 1) n += (size_t)snprintf(buf + n, cap - n, "f %d\n", i);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void rtest_sampling_and_determinism(void)
{
    size_t len;
    char *text = rtest_long_trace(&len);
    CHECK(text != NULL);
    if (!text) return;
    replay_opts_t o = rtest_verify;
    o.nsamples = 100;
    rtest_run_t a, b;
    rtest_measure(&a, "long.txt", text, "null", &o);
    rtest_measure(&b, "long.txt", text, "null", &o);
    CHECKF(a.rc == 0 && b.rc == 0, "%s %s", a.err, b.err);
    /* 3000 a, 1000 f inside the loop, 2000 f after it. */
    CHECK(a.scan.events == 6000);
    /* 100 positions, multiples of 60, plus the peak when it is not one. */
    CHECKF(a.ser.n == 100 + (a.scan.peak_live_at % 60 != 0), "%zu", a.ser.n);
    int has_peak = 0;
    for (size_t i = 0; i < a.ser.n; i++)
        has_peak |= a.ser.s[i].event == a.scan.peak_live_at &&
                    a.ser.s[i].live_bytes == a.scan.peak_live_bytes;
    CHECK(has_peak);
    CHECK(a.ser.s[a.ser.n - 1].event == 6000 && a.ser.s[a.ser.n - 1].live_bytes == 0);
    CHECK(a.ser.s[0].event == 60 || a.ser.s[0].event == a.scan.peak_live_at);
    int same = a.ser.n == b.ser.n;
    for (size_t i = 0; same && i < a.ser.n; i++)
        same = a.ser.s[i].event == b.ser.s[i].event &&
               a.ser.s[i].live_bytes == b.ser.s[i].live_bytes &&
               a.ser.s[i].resident == b.ser.s[i].resident;
    CHECK(same);
    CHECK(memcmp(&a.res.frag, &b.res.frag, sizeof a.res.frag) == 0);

    /* A timed run: counters only, time measured. */
    route_t route;
    route_uniform(&route, "null");
    replay_opts_t timed = {.nsamples = 0};
    replay_result_t res;
    CHECK(replay_run(a.r, &route, &a.scan, &timed, &res, NULL, a.err, sizeof a.err) == 0);
    CHECK(res.events == 6000 && res.ns > 0);
    rtest_done(&a);
    rtest_done(&b);
    free(text);
}

/* The spec example converted to the binary format replays the same, and
 * its errors name the event, not a line. */
static void rtest_binary(void)
{
    char path[600], err[1024];
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(path, sizeof path, "%s/replay_test_spec.atr", tmp && *tmp ? tmp : "/tmp");
    const char *big = "a 1 10\na 2 2000000\n";
    for (int pass = 0; pass < 2; pass++) {
        const char *text = pass ? big : rtest_spec;
        trace_reader_t *r;
        trace_writer_t *w;
        CHECK(trace_open_mem(&r, "in.txt", text, strlen(text), 0, err, sizeof err) == 0);
        CHECK(trace_writer_open(&w, path, TRACE_FMT_BIN, NULL, 0, err, sizeof err) == 0);
        CHECK(trace_copy(r, w, 0, NULL, NULL) == 0);
        CHECK(trace_writer_close(w) == 0);
        trace_close(r);

        rtest_run_t t;
        memset(&t, 0, sizeof t);
        CHECKF(trace_open_ex(&t.r, path, TRACE_R_FAST, t.err, sizeof t.err) == 0, "%s", t.err);
        if (!t.r) return;
        CHECK(trace_format(t.r) == TRACE_FMT_BIN);
        CHECK(replay_scan(t.r, 0, &t.scan, t.err, sizeof t.err) == 0);
        route_t route;
        route_uniform(&route, pass ? "null:reserve=1M" : "null");
        t.rc = replay_run(t.r, &route, &t.scan, &rtest_verify, &t.res, &t.ser, t.err, sizeof t.err);
        if (!pass) {
            CHECKF(t.rc == 0, "%s", t.err);
            CHECK(t.res.events == 9 && t.res.peak_live_bytes == 9348);
            CHECK(t.res.peak_held == 17888); /* as above */
        } else {
            CHECK(t.rc == REPLAY_EFAIL);
            CHECKF(strstr(t.err, "replay_test_spec.atr: event 1: allocation of 2000000 bytes") !=
                       NULL,
                   "%s", t.err);
        }
        rtest_done(&t);
    }
    unlink(path);
}

/* Timed runs take the default loop (replay_fast) unless --verify or a
 * probe is on: the same events, the same tables (replay_run checks them
 * after every run) and the same messages as the general path, whatever
 * the touch mode and arena mode. */
static void rtest_timed_fast(void)
{
    /* the spec example, then a calloc and a free of an arena's block */
    char text[1024];
    snprintf(text, sizeof text, "%sc 3 4 8 raw\nf 3 raw\na 4 0\nf 4\n", rtest_spec);
    const char *allocs[] = {"raw", "null", "dirty", "perdomain"};
    const char *modes[] = {"pyarena", "per-object"};
    for (int touch = 0; touch < REPLAY_NTOUCH; touch++)
        for (int m = 0; m < 2; m++)
            for (int k = 0; k < 4; k++) {
                rtest_run_t t;
                replay_opts_t o = {.find = rtest_find, .label = "test", .nsamples = 1};
                o.touch = (replay_touch_t)touch;
                o.arenas = arenas_find(modes[m], &o.arena_params);
                rtest_measure(&t, "spec.txt", text, allocs[k], &o);
                CHECKF(t.rc == 0 && t.res.events == 13, "%s: %s", allocs[k], t.err);
                route_t route;
                route_uniform(&route, allocs[k]);
                o.nsamples = 0;
                replay_result_t res;
                int rc = replay_run(t.r, &route, &t.scan, &o, &res, NULL, t.err, sizeof t.err);
                CHECKF(rc == 0 && res.events == 13, "%s %s touch %d: %s", allocs[k], modes[m],
                       touch, t.err);
                rtest_done(&t);
            }

    /* a NULL in the default loop: the general path's message */
    static const struct {
        const char *text, *mode, *msg;
    } nulls[] = {
        {"a 1 10\na 2 2000000\n", "pyarena",
         "big.txt:2: event 1: allocation of 2000000 bytes returned NULL (allocator test)"},
        {"a 1 10\nr 1 2000000\n", "pyarena",
         "big.txt:2: event 1: realloc to 2000000 bytes returned NULL (allocator test)"},
        {"n 1\nm 1 2000000\n", "per-object",
         "big.txt:2: event 1: arena allocation of 2000000 bytes returned NULL (allocator test)"},
        {"a 1 10\nc 2 1000 2000\n", "pyarena",
         "big.txt:2: event 1: allocation of 2000000 bytes returned NULL (allocator test)"},
        /* a count of 2^16 or more is not in the 16-byte event: read beside it */
        {"a 1 10\nc 2 100000 20\n", "pyarena",
         "big.txt:2: event 1: allocation of 2000000 bytes returned NULL (allocator test)"},
    };
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++) {
        rtest_run_t t;
        memset(&t, 0, sizeof t);
        CHECK(trace_open_mem(&t.r, "big.txt", nulls[i].text, strlen(nulls[i].text), 0, t.err,
                             sizeof t.err) == 0);
        CHECK(replay_scan(t.r, 0, &t.scan, t.err, sizeof t.err) == 0);
        replay_opts_t o = {.find = rtest_find, .label = "test"};
        o.arenas = arenas_find(nulls[i].mode, &o.arena_params);
        route_t route;
        route_uniform(&route, "null:reserve=1M");
        replay_result_t res;
        int rc = replay_run(t.r, &route, &t.scan, &o, &res, NULL, t.err, sizeof t.err);
        CHECKF(rc == REPLAY_EFAIL && !strcmp(t.err, nulls[i].msg), "%s", t.err);
        rtest_done(&t);
    }
}

/* per-object keeps a record of every `m` (chunks of 15 per arena, taken
 * from a free list that arenas give back to at `x`) and frees them at `x`,
 * oldest first, then the blocks the arena owns: in the measurement run
 * (the general path), the default timed loop (which runs an `m` inline) in
 * every touch mode, and with --verify.  The `order` allocator checks each
 * arena's allocations come back in order and all of them (rtest_order). */
static void rtest_perobj_records(void)
{
    char text[8192];
    size_t n = 0;
#define RTEST_ADD(...) n += (size_t)snprintf(text + n, sizeof text - n, __VA_ARGS__)
    RTEST_ADD("n 1\nn 2\na 5 64\n");
    for (int k = 0; k < 40; k++) { /* interleaved: 3 chunks and 2 */
        RTEST_ADD("m 1 %d\n", 1000 + k);
        if (k < 20) RTEST_ADD("m 2 %d\n", 2000 + k);
    }
    RTEST_ADD("o 1 5\nx 1\nn 1\n"); /* arena 1 again, on chunks given back */
    for (int k = 0; k < 50; k++)
        RTEST_ADD("m 1 %d\n", 3000 + k);
    RTEST_ADD("x 2\nn 3\n");
    for (int k = 0; k < 17; k++) /* left live: the mode's destroy frees them */
        RTEST_ADD("m 3 %d\n", 4000 + k);
    RTEST_ADD("x 1\nn 4\nm 4 5000\nx 4\n");
#undef RTEST_ADD
    CHECK(n < sizeof text);
    const uint64_t events = 3 + 60 + 3 + 50 + 2 + 17 + 4;
    for (int pass = 0; pass < 2 + REPLAY_NTOUCH; pass++) {
        rtest_run_t t;
        replay_opts_t o = {.find = rtest_find, .label = "order", .nsamples = 1};
        o.arenas = arenas_find("per-object", &o.arena_params);
        rtest_measure(&t, "order.txt", text, "order", &o);
        CHECKF(t.rc == 0 && t.res.events == events, "%s", t.err);
        if (pass > 0) { /* a timed run: --verify, or the default loop */
            o.nsamples = 0;
            o.verify = pass == 1;
            o.touch = pass > 1 ? (replay_touch_t)(pass - 2) : REPLAY_TOUCH_PAGE;
            route_t route;
            route_uniform(&route, "order");
            replay_result_t res;
            int rc = replay_run(t.r, &route, &t.scan, &o, &res, NULL, t.err, sizeof t.err);
            CHECKF(rc == 0 && res.events == events, "pass %d: %s", pass, t.err);
        }
        rtest_done(&t);
    }
}

/* `reuse` hands every request one block: fine for plain events (the
 * harness's cost), refused where something keeps data in blocks. */
static void rtest_reuse(void)
{
    replay_opts_t o = {.find = rtest_find, .label = "reuse", .nsamples = 1};
    rtest_run_t t;
    o.arenas = arenas_find("per-object", &o.arena_params);
    rtest_measure(&t, "spec.txt", rtest_spec, "reuse", &o);
    CHECKF(t.rc == 0 && t.res.events == 9 && t.res.peak_live_bytes == 9348, "%s", t.err);
    rtest_done(&t);

    o.arenas = NULL; /* pyarena: its block headers would share the block */
    rtest_measure(&t, "spec.txt", rtest_spec, "reuse", &o);
    CHECKF(t.rc == REPLAY_EUSAGE && strstr(t.err, "arena mode") != NULL, "%s", t.err);
    rtest_done(&t);

    o.verify = 1;
    rtest_measure(&t, "spec.txt", rtest_rep, "reuse", &o);
    CHECKF(t.rc == REPLAY_EUSAGE && strstr(t.err, "--verify") != NULL, "%s", t.err);
    rtest_done(&t);

    o.verify = 0;
    rtest_measure(&t, "spec.txt", rtest_rep, "reuse_debug", &o);
    CHECKF(t.rc == REPLAY_EUSAGE && strstr(t.err, "debug hooks") != NULL, "%s", t.err);
    rtest_done(&t);
}

int main(void)
{
    rtest_spec_example();
    rtest_rep_trace();
    rtest_verify_catches();
    rtest_reader_errors();
    rtest_debug_hooks();
    rtest_null_allocation();
    rtest_usage();
    rtest_routes();
    rtest_sampling_and_determinism();
    rtest_binary();
    rtest_timed_fast();
    rtest_perobj_records();
    rtest_reuse();
    return check_done();
}
