/* pymalloc_bench.c: ns per event of our `pymalloc` against libpython3.11's
 * obmalloc (the `cpython` class) on the same generated sequence.
 *
 * Usage: pymalloc_bench [NEVENTS [SEED [MAXSIZE]]]
 *
 * Sizes are 0..MAXSIZE (default 1024: a fifth of the blocks come from
 * malloc on both sides), 60% of them in 1..128.  MAXSIZE=512 keeps every
 * request but size 0 in the pools.
 * The sequence uses the mem and obj domains only (the raw domain is the
 * same malloc on both sides).  Both run in this one process, alternately,
 * each repetition replaying every event and then freeing what is left;
 * the best repetition counts.  `cpython (bare)` calls PyObject_* directly,
 * without the class's footprint accounting, so the ratio against it
 * isolates the two obmallocs. */
#include "alloc/evgen.h"
#include "alloc/params.h"
#include "alloc/pymalloc.h"

#include <Python.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

extern const alloc_class_t alloc_cpython_class;

#define BENCH_REPS 9

static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ns per event of one replay of EV through BY (live blocks freed after). */
static double bench_once(const evgen_event_t *ev, size_t n, uint32_t nslots,
                         const alloc_t *const by[EVGEN_NDOMAINS])
{
    evgen_replay_t r;
    if (evgen_replay_init(&r, nslots, 0)) {
        fprintf(stderr, "pymalloc_bench: out of memory\n");
        exit(1);
    }
    double t0 = bench_now();
    size_t done = evgen_replay(&r, ev, 0, n, by);
    double t1 = bench_now();
    if (done != n) {
        fprintf(stderr, "pymalloc_bench: event %zu failed\n", done);
        exit(1);
    }
    evgen_replay_fini(&r, by);
    return (t1 - t0) / (double)n;
}

static void *bench_bare_malloc(void *ctx, size_t n)
{
    return PyObject_Malloc(n);
}

static void *bench_bare_calloc(void *ctx, size_t nelem, size_t elsize)
{
    return PyObject_Calloc(nelem, elsize);
}

static void *bench_bare_realloc(void *ctx, void *p, size_t n)
{
    return PyObject_Realloc(p, n);
}

static void bench_bare_free(void *ctx, void *p)
{
    PyObject_Free(p);
}

static alloc_t bench_cpython(const char *domain)
{
    alloc_param_t prm = {"domain", domain, 0};
    char err[256];
    alloc_t a;
    if (alloc_cpython_class.create(&a, &prm, 1, err, sizeof err)) {
        fprintf(stderr, "pymalloc_bench: %s\n", err);
        exit(1);
    }
    return a;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    unsigned long max_size = argc > 3 ? strtoul(argv[3], NULL, 10) : 1024;
    if (n == 0 || max_size == 0 || max_size > 1 << 20) {
        fprintf(stderr, "usage: pymalloc_bench [NEVENTS [SEED [MAXSIZE]]]\n");
        return 2;
    }
    evgen_params_t gp = {
        .seed = seed,
        .nevents = n,
        .max_live = 20000,
        .min_live = 2000,
        .min_size = 0,
        .max_size = (uint32_t)max_size,
        .small_pct = 60,
        .threshold = 512,
        .domains = (1u << EVGEN_MEM) | (1u << EVGEN_OBJ),
    };
    uint32_t nslots;
    evgen_event_t *ev = evgen_generate(&gp, &nslots);
    if (!ev) {
        fprintf(stderr, "pymalloc_bench: out of memory\n");
        return 1;
    }

    pymalloc_params_t pp;
    pymalloc_params_default(&pp);
    pymalloc_t *pm = pymalloc_new(&pp);
    alloc_t ours = {pm, pymalloc_malloc, pymalloc_calloc, pymalloc_realloc, pymalloc_free};
    alloc_t raw = bench_cpython("raw"), mem = bench_cpython("mem"), obj = bench_cpython("obj");
    alloc_t bare = {NULL, bench_bare_malloc, bench_bare_calloc, bench_bare_realloc,
                    bench_bare_free};
    const alloc_t *by_ours[EVGEN_NDOMAINS] = {&evgen_libc, &ours, &ours};
    const alloc_t *by_cpy[EVGEN_NDOMAINS] = {&raw, &mem, &obj};
    const alloc_t *by_bare[EVGEN_NDOMAINS] = {&raw, &bare, &bare};

    double best[3] = {1e30, 1e30, 1e30};
    /* One untimed round each warms arenas and caches alike. */
    for (int rep = -1; rep < BENCH_REPS; rep++) {
        double t[3] = {bench_once(ev, n, nslots, by_ours), bench_once(ev, n, nslots, by_cpy),
                       bench_once(ev, n, nslots, by_bare)};
        for (int k = 0; rep >= 0 && k < 3; k++)
            if (t[k] < best[k]) best[k] = t[k];
    }
    printf("events: %zu (seed %llu; mem/obj domains; sizes 0..%lu, 60%% in 1..128; "
           "best of %d)\n",
           n, (unsigned long long)seed, max_size, BENCH_REPS);
    printf("pymalloc         %7.2f ns/event\n", best[0]);
    printf("cpython          %7.2f ns/event\n", best[1]);
    printf("cpython (bare)   %7.2f ns/event  (PyObject_* directly, no accounting)\n", best[2]);
    printf("ratio pymalloc/cpython         %.3f\n", best[0] / best[1]);
    printf("ratio pymalloc/cpython (bare)  %.3f\n", best[0] / best[2]);
    pymalloc_delete(pm);
    free(ev);
    return 0;
}
