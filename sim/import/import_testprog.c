/* import_testprog.c: the program import_cli_test.sh runs under heaptrack,
 * glibc's mtrace, valgrind --trace-malloc and `arenalab record`, to compare
 * what each importer makes of it with our own recording.  Built without
 * sanitizers (a genrule): the tools preload or emulate malloc.
 *
 *   import_testprog THREADS OPS SEED
 *
 * THREADS threads each do OPS seeded operations on a private table of
 * blocks: malloc, calloc, realloc chains (a block grown and shrunk over
 * several steps), memalign, posix_memalign, aligned_alloc, free; and hand
 * blocks to each other through a shared table (atomic exchange), so some
 * blocks are freed by another thread than the one that allocated them.
 * Sizes are 64 .. 4095 bytes (small, so that replaying the imports with
 * --verify stays fast under the sanitizers).  The counts are the same in
 * every run whatever the interleaving: a handed-over block is freed by
 * whoever takes it out, and main frees what is left, so every
 * allocation is freed exactly once.  It prints them:
 *
 *   malloc N calloc N realloc N memalign N posix_memalign N aligned_alloc N free N
 *   memalign_reallocated N
 *
 * (the last: memalign blocks that went through realloc, which a tool that
 * does not intercept memalign sees as a realloc of an unknown pointer).
 *
 * When MALLOC_TRACE is set it calls mtrace() first (glibc >= 2.34 traces
 * only with libc_malloc_debug.so preloaded and mtrace() called). */
#include <malloc.h>
#include <mcheck.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ITP_SIZE_MIN 64
#define ITP_SIZE_MAX 4096
#define ITP_PRIVATE  32 /* blocks a thread keeps      */
#define ITP_SHARED   16 /* shared slots per thread    */

enum {
    ITP_MALLOC,
    ITP_CALLOC,
    ITP_REALLOC,
    ITP_MEMALIGN,
    ITP_POSIX,
    ITP_ALIGNED,
    ITP_FREE,
    ITP_MEMALIGN_REALLOCATED, /* memalign blocks later given to realloc */
    ITP_N
};

static const char *const itp_name[ITP_N] = {
    "malloc",         "calloc",        "realloc", "memalign",
    "posix_memalign", "aligned_alloc", "free",    "memalign_reallocated"};

typedef struct {
    _Atomic(void *) *shared;
    size_t nshared;
    unsigned long ops;
    uint64_t seed;
    unsigned long count[ITP_N];
} itp_worker_t;

static uint64_t itp_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static size_t itp_size(uint64_t r)
{
    return ITP_SIZE_MIN + (size_t)(r % (ITP_SIZE_MAX - ITP_SIZE_MIN));
}

/* A new block of a kind chosen by R, counted in W; *KIND says which.
 * Exits on failure. */
static void *itp_new(itp_worker_t *w, uint64_t r, int *kind_out)
{
    size_t n = itp_size(r >> 16), align = (size_t)64 << (r >> 8) % 6;
    void *p = NULL;
    int kind;
    switch (r % 8) {
    case 0:
        kind = ITP_CALLOC;
        p = calloc(1, n);
        break;
    case 1:
        kind = ITP_MEMALIGN;
        p = memalign(align, n);
        break;
    case 2:
        kind = ITP_POSIX;
        if (posix_memalign(&p, align, n) != 0) p = NULL;
        break;
    case 3:
        kind = ITP_ALIGNED;
        p = aligned_alloc(align, n);
        break;
    default:
        kind = ITP_MALLOC;
        p = malloc(n);
    }
    if (!p) {
        fprintf(stderr, "import_testprog: out of memory\n");
        exit(2);
    }
    memset(p, 1, 64);
    w->count[kind]++;
    *kind_out = kind;
    return p;
}

static void itp_free(itp_worker_t *w, void *p)
{
    free(p);
    w->count[ITP_FREE]++;
}

static void *itp_worker(void *arg)
{
    itp_worker_t *w = arg;
    void *mine[ITP_PRIVATE] = {0};
    int kind[ITP_PRIVATE] = {0}; /* how mine[k] was allocated */
    for (unsigned long i = 0; i < w->ops; i++) {
        uint64_t r = itp_rand(&w->seed);
        size_t k = (size_t)(r >> 40) % ITP_PRIVATE;
        switch (r % 5) {
        case 0: /* a realloc chain: grow in steps, then shrink */
            if (!mine[k]) mine[k] = itp_new(w, itp_rand(&w->seed), &kind[k]);
            if (kind[k] == ITP_MEMALIGN) w->count[ITP_MEMALIGN_REALLOCATED]++;
            kind[k] = ITP_REALLOC;
            for (int step = 0; step < 2 + (int)(r >> 8) % 4; step++) {
                void *q = realloc(mine[k], itp_size(itp_rand(&w->seed)));
                if (!q) exit(2);
                mine[k] = q;
                w->count[ITP_REALLOC]++;
            }
            break;
        case 1: /* hand it over; free whatever was there */
            if (mine[k]) {
                void *old = atomic_exchange(&w->shared[(r >> 20) % w->nshared], mine[k]);
                mine[k] = NULL;
                if (old) itp_free(w, old);
            }
            break;
        case 2:
            if (mine[k]) itp_free(w, mine[k]);
            mine[k] = NULL;
            break;
        default: /* replace */
            if (mine[k]) itp_free(w, mine[k]);
            mine[k] = itp_new(w, r >> 3, &kind[k]);
        }
    }
    for (size_t k = 0; k < ITP_PRIVATE; k++)
        if (mine[k]) itp_free(w, mine[k]);
    return NULL;
}

int main(int argc, char **argv)
{
    if (getenv("MALLOC_TRACE")) mtrace();
    if (argc != 4) {
        fprintf(stderr, "usage: import_testprog THREADS OPS SEED\n");
        return 2;
    }
    int n = atoi(argv[1]);
    unsigned long ops = strtoul(argv[2], NULL, 10);
    uint64_t seed = strtoull(argv[3], NULL, 10);
    if (n < 1 || n > 64) return 2;
    static itp_worker_t w[64];
    static pthread_t t[64];
    static _Atomic(void *) shared[64 * ITP_SHARED];
    for (int i = 0; i < n; i++) {
        w[i] =
            (itp_worker_t){shared, (size_t)n * ITP_SHARED, ops, seed * 7919 + (uint64_t)i + 1, {0}};
        if (pthread_create(&t[i], NULL, itp_worker, &w[i]) != 0) return 2;
    }
    unsigned long total[ITP_N] = {0};
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        for (int k = 0; k < ITP_N; k++)
            total[k] += w[i].count[k];
    }
    for (size_t k = 0; k < (size_t)n * ITP_SHARED; k++) {
        void *p = atomic_load(&shared[k]);
        if (p) {
            free(p);
            total[ITP_FREE]++;
        }
    }
    for (int k = 0; k < ITP_N; k++)
        printf("%s%s %lu", k ? " " : "", itp_name[k], total[k]);
    printf("\n");
    return 0;
}
