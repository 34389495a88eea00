/* pyarena_bench.c: ns per allocation of our pyarena_malloc against the real
 * _PyArena_Malloc of libpython3.11, on the same seeded sequence of sizes.
 *
 *   bazel run //alloc:pyarena_bench -- [ALLOCS_PER_ARENA [ARENAS [ROUNDS]]]
 *
 * Each round builds ARENAS arenas of ALLOCS_PER_ARENA allocations on both
 * sides, alternating which side goes first; the best round of each side is
 * reported (the least disturbed by the machine).  Only the allocation loop
 * is timed; the arena's new/free is timed apart.  Ours draws its blocks
 * from malloc(3), the real one from PyMem_Malloc, which hands blocks this
 * big (> 512 bytes) to malloc(3) as well.  malloc(3) is told to keep
 * freed memory (M_TRIM_THRESHOLD), else both sides mostly time the page
 * faults of re-touching memory given back to the system.  Exit status 0, or 2 on bad
 * arguments, 1 when an arena fails. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "alloc/pyarena.h"

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Declared by libpython only under Py_BUILD_CORE. */
typedef struct _arena PyArena;
PyAPI_FUNC(PyArena *) _PyArena_New(void);
PyAPI_FUNC(void) _PyArena_Free(PyArena *);
PyAPI_FUNC(void *) _PyArena_Malloc(PyArena *, size_t size);

#define BENCH_NSIZES 4096 /* a power of two: the sizes cycle */

typedef struct {
    size_t sizes[BENCH_NSIZES];
    long per_arena, arenas, rounds;
    uintptr_t sink;                    /* the pointers folded, so no loop is optimised away */
    double best_ours, best_real;       /* ns per allocation, best round */
    double best_ours_nf, best_real_nf; /* ns per arena new + free      */
} bench_t;

static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *bench_malloc(void *ctx, size_t size)
{
    return malloc(size ? size : 1);
}
static void *bench_calloc(void *ctx, size_t n, size_t size)
{
    return calloc(n ? n : 1, size ? size : 1);
}
static void *bench_realloc(void *ctx, void *p, size_t size)
{
    return realloc(p, size ? size : 1);
}
static void bench_free(void *ctx, void *p)
{
    free(p);
}

/* Sizes of compiler-like allocations: AST nodes and sequences, mostly
 * 16..96 bytes, a few strings up to 1K, rarely more than a block. */
static void bench_sizes(bench_t *b, uint64_t seed)
{
    uint64_t s = seed;
    for (int i = 0; i < BENCH_NSIZES; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t v = s >> 33, k = v % 1000;
        b->sizes[i] = k < 900 ? 16 + v % 81 : k < 998 ? v % 1024 : 8192 + v % 20000;
    }
}

/* One round of ours; returns -1 when an arena fails. */
static int bench_ours(bench_t *b, double *alloc_ns, double *newfree_ns)
{
    alloc_t mem = {NULL, bench_malloc, bench_calloc, bench_realloc, bench_free};
    double t_alloc = 0, t_nf = 0;
    for (long a = 0; a < b->arenas; a++) {
        double t0 = bench_now();
        pyarena_t *ar = pyarena_new(&mem, NULL, NULL, NULL);
        if (!ar) return -1;
        double t1 = bench_now();
        uintptr_t x = 0;
        for (long i = 0; i < b->per_arena; i++)
            x ^= (uintptr_t)pyarena_malloc(ar, b->sizes[i & (BENCH_NSIZES - 1)]);
        double t2 = bench_now();
        pyarena_free(ar);
        double t3 = bench_now();
        b->sink ^= x;
        t_alloc += t2 - t1;
        t_nf += (t1 - t0) + (t3 - t2);
    }
    *alloc_ns = t_alloc / ((double)b->arenas * (double)b->per_arena);
    *newfree_ns = t_nf / (double)b->arenas;
    return 0;
}

/* One round of the real arena; returns -1 when an arena fails. */
static int bench_real(bench_t *b, double *alloc_ns, double *newfree_ns)
{
    double t_alloc = 0, t_nf = 0;
    for (long a = 0; a < b->arenas; a++) {
        double t0 = bench_now();
        PyArena *ar = _PyArena_New();
        if (!ar) return -1;
        double t1 = bench_now();
        uintptr_t x = 0;
        for (long i = 0; i < b->per_arena; i++)
            x ^= (uintptr_t)_PyArena_Malloc(ar, b->sizes[i & (BENCH_NSIZES - 1)]);
        double t2 = bench_now();
        _PyArena_Free(ar);
        double t3 = bench_now();
        b->sink ^= x;
        t_alloc += t2 - t1;
        t_nf += (t1 - t0) + (t3 - t2);
    }
    *alloc_ns = t_alloc / ((double)b->arenas * (double)b->per_arena);
    *newfree_ns = t_nf / (double)b->arenas;
    return 0;
}

/* argv[I] as a count in [1, 1e9], or DEF when absent; -1 if malformed. */
static long bench_arg(int argc, char **argv, int i, long def)
{
    if (i >= argc) return def;
    char *end;
    long v = strtol(argv[i], &end, 10);
    return *end || v < 1 || v > 1000000000L ? -1 : v;
}

int main(int argc, char **argv)
{
    static bench_t b;
    b.per_arena = bench_arg(argc, argv, 1, 20000);
    b.arenas = bench_arg(argc, argv, 2, 200);
    b.rounds = bench_arg(argc, argv, 3, 5);
    if (b.per_arena < 0 || b.arenas < 0 || b.rounds < 0 || argc > 4) {
        fprintf(stderr, "usage: pyarena_bench [ALLOCS_PER_ARENA [ARENAS [ROUNDS]]]\n");
        return 2;
    }
    bench_sizes(&b, 12345);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    Py_InitializeEx(0);
    b.best_ours = b.best_real = b.best_ours_nf = b.best_real_nf = 1e300;
    for (long r = 0; r < b.rounds; r++) {
        double ao, nfo, ar, nfr;
        int rc = r % 2 ? bench_real(&b, &ar, &nfr) || bench_ours(&b, &ao, &nfo)
                       : bench_ours(&b, &ao, &nfo) || bench_real(&b, &ar, &nfr);
        if (rc) {
            fprintf(stderr, "pyarena_bench: an arena could not be made\n");
            return 1;
        }
        if (ao < b.best_ours) b.best_ours = ao;
        if (ar < b.best_real) b.best_real = ar;
        if (nfo < b.best_ours_nf) b.best_ours_nf = nfo;
        if (nfr < b.best_real_nf) b.best_real_nf = nfr;
    }
    printf("allocations: %ld per arena x %ld arenas, best of %ld rounds (sink %lx)\n", b.per_arena,
           b.arenas, b.rounds, (unsigned long)(b.sink & 0xf));
    printf("ours  pyarena_malloc   %7.2f ns/alloc   new+free %8.0f ns/arena\n", b.best_ours,
           b.best_ours_nf);
    printf("real  _PyArena_Malloc  %7.2f ns/alloc   new+free %8.0f ns/arena\n", b.best_real,
           b.best_real_nf);
    printf("ratio ours/real        %7.3f            %8.3f\n", b.best_ours / b.best_real,
           b.best_ours_nf / b.best_real_nf);
    Py_FinalizeEx();
    return 0;
}
