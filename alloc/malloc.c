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
 */
#include "alloc/alloc.h"

#include <malloc.h>
#include <stdlib.h>

typedef struct {
    uint64_t live; /* usable bytes of live blocks */
    uint64_t peak;
    uint64_t blocks;
} cmalloc_ctx_t;

static void *cmalloc_counted(cmalloc_ctx_t *c, void *p)
{
    if (p) {
        c->live += malloc_usable_size(p);
        c->blocks++;
        if (c->live > c->peak) c->peak = c->live;
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
    c->live -= malloc_usable_size(ptr);
    c->blocks--;
    free(ptr);
}

static void *cmalloc_realloc(void *ctx, void *ptr, size_t new_size)
{
    cmalloc_ctx_t *c = ctx;
    if (!ptr) return cmalloc_malloc(ctx, new_size);
    size_t old = malloc_usable_size(ptr);
    void *q = realloc(ptr, new_size ? new_size : 1);
    if (!q) return NULL; /* PTR is still live and counted */
    c->live = c->live - old + malloc_usable_size(q);
    if (c->live > c->peak) c->peak = c->live;
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
    const cmalloc_ctx_t *c = ctx;
    out->footprint = c->live;
    out->peak_footprint = c->peak;
    out->nextra = 1;
    out->extra[0].name = "blocks";
    out->extra[0].value = c->blocks;
}

static size_t cmalloc_usable(void *ctx, const void *ptr)
{
    return malloc_usable_size((void *)ptr);
}

const alloc_class_t alloc_malloc_class = {
    .name = "malloc",
    .summary = "the process's malloc, footprint counted as the usable bytes of its own live blocks",
    .params = "",
    .flags = ALLOC_PROCESS_HEAP,
    .create = cmalloc_create,
    .destroy = cmalloc_destroy,
    .stats = cmalloc_stats,
    .usable_size = cmalloc_usable,
};
