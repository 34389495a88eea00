/* malloc.c: the `malloc` allocator (prefix cmalloc_, "counted malloc") — the process's malloc, with
 * its footprint counted rather than read from the heap.
 *
 * `raw` reads the whole heap (mallinfo2), which sees every block in the
 * process, including those another instance of the same route takes from
 * malloc (pymalloc's large requests, an arena's blocks).  `malloc` counts
 * only what it handed out itself: the footprint is the sum of
 * malloc_usable_size over its live blocks (the chunk payload: the request
 * plus glibc's rounding, without chunk headers or free space).  So it is
 * what CPython's raw domain costs under `--alloc pymalloc` (raw=malloc,
 * mem=obj=pymalloc) without counting pymalloc's memory twice, and it is
 * cheap enough for every event (exact peak).
 *
 * Invariant: footprint == sum of usable sizes of the blocks handed out and
 * not yet freed; malloc(0) returns a distinct non-NULL block.
 *
 * Thread safe (ALLOC_THREAD_SAFE): the counters are relaxed atomics, so a
 * threaded replay calls it from every thread; the peak is raised by a
 * compare-and-swap, so it is the exact peak of the sums as they happened.
 */
#include "alloc/alloc.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdlib.h>

typedef struct {
    _Atomic uint64_t live; /* usable bytes of live blocks */
    _Atomic uint64_t peak;
    _Atomic uint64_t blocks;
} cmalloc_ctx_t;

/* Adds DELTA (two's complement) to the live bytes and raises the peak. */
static void cmalloc_add(cmalloc_ctx_t *c, uint64_t delta)
{
    uint64_t live = atomic_fetch_add_explicit(&c->live, delta, memory_order_relaxed) + delta;
    uint64_t peak = atomic_load_explicit(&c->peak, memory_order_relaxed);
    while (live > peak && !atomic_compare_exchange_weak_explicit(
                              &c->peak, &peak, live, memory_order_relaxed, memory_order_relaxed)) {
    }
}

static void *cmalloc_counted(cmalloc_ctx_t *c, void *p)
{
    if (p) {
        cmalloc_add(c, malloc_usable_size(p));
        atomic_fetch_add_explicit(&c->blocks, 1, memory_order_relaxed);
    }
    return p;
}

static void *cmalloc_malloc(void *ctx, size_t size)
{
    return cmalloc_counted(ctx, malloc(size ? size : 1));
}

static void *cmalloc_calloc(void *ctx, size_t nelem, size_t elsize)
{
    if (nelem == 0 || elsize == 0) nelem = elsize = 1;
    return cmalloc_counted(ctx, calloc(nelem, elsize));
}

static void cmalloc_free(void *ctx, void *ptr)
{
    cmalloc_ctx_t *c = ctx;
    if (!ptr) return;
    atomic_fetch_sub_explicit(&c->live, malloc_usable_size(ptr), memory_order_relaxed);
    atomic_fetch_sub_explicit(&c->blocks, 1, memory_order_relaxed);
    free(ptr);
}

static void *cmalloc_realloc(void *ctx, void *ptr, size_t new_size)
{
    cmalloc_ctx_t *c = ctx;
    if (!ptr) return cmalloc_malloc(ctx, new_size);
    size_t old = malloc_usable_size(ptr);
    void *q = realloc(ptr, new_size ? new_size : 1);
    if (!q) return NULL; /* PTR is still live and counted */
    cmalloc_add(c, (uint64_t)malloc_usable_size(q) - (uint64_t)old);
    return q;
}

static int cmalloc_create(alloc_t *a, alloc_param_t *params, size_t nparams, char *err,
                          size_t errlen)
{
    cmalloc_ctx_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "malloc: out of memory");
        return -1;
    }
    *a = (alloc_t){c, cmalloc_malloc, cmalloc_calloc, cmalloc_realloc, cmalloc_free};
    return 0;
}

static void cmalloc_destroy(void *ctx)
{
    free(ctx);
}

static void cmalloc_stats(void *ctx, alloc_stats_t *out)
{
    cmalloc_ctx_t *c = ctx;
    out->footprint = atomic_load_explicit(&c->live, memory_order_relaxed);
    out->peak_footprint = atomic_load_explicit(&c->peak, memory_order_relaxed);
    out->nextra = 1;
    out->extra[0].name = "blocks";
    out->extra[0].value = atomic_load_explicit(&c->blocks, memory_order_relaxed);
}

static size_t cmalloc_usable(void *ctx, const void *ptr)
{
    return malloc_usable_size((void *)ptr);
}

const alloc_class_t alloc_malloc_class = {
    .name = "malloc",
    .summary = "the process's malloc, footprint counted as the usable bytes of its own live blocks",
    .params = "",
    .flags = ALLOC_PROCESS_HEAP | ALLOC_THREAD_SAFE,
    .create = cmalloc_create,
    .destroy = cmalloc_destroy,
    .stats = cmalloc_stats,
    .usable_size = cmalloc_usable,
};
