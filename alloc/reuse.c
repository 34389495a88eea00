/* reuse.c: the `reuse` allocator — every request gets the same block, and
 * free does nothing: calls that cost a function call and a compare, so a
 * replay through it measures the harness's own cost per event (decoding
 * aside), which `null` (a bump allocator that faults in fresh memory)
 * does not.
 *
 * The block is the start of one MAP_NORESERVE mapping (`reserve`, 64 GiB
 * by default, halved where the address space is smaller); a request
 * larger than the mapping returns NULL.  Pages become resident only where
 * something writes (the replay's --touch).
 *
 * Invariants:
 *   - malloc, calloc and realloc return the mapping's start for every
 *     request that fits, so blocks alias one another: the exception to
 *     alloc.h's "distinct block" promise, flagged ALLOC_SHARED_BLOCK --
 *     the replay refuses --verify, the debug hooks and arena modes that
 *     keep data in their blocks with it;
 *   - calloc zeroes the bytes it hands out (someone may have written
 *     them), so its cost grows with the size, as any calloc's does
 *     (minreplay --time --reuse, the floor it is compared with, zeroes
 *     too);
 *   - nothing is counted on the way: footprint is 0 (the block is the
 *     mapping's; what writes made resident shows in the replay's
 *     resident figure, not here).
 */
#include "alloc/alloc.h"
#include "alloc/params.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define REUSE_DEFAULT_RESERVE ((uint64_t)64 << 30)

typedef struct {
    char *base;     /* the block                                 */
    size_t reserve; /* the mapping's length                      */
} reuse_ctx_t;

static void *reuse_malloc(void *ctx, size_t size)
{
    reuse_ctx_t *c = ctx;
    return size <= c->reserve ? c->base : NULL;
}

static void *reuse_calloc(void *ctx, size_t nelem, size_t elsize)
{
    size_t size;
    if (__builtin_mul_overflow(nelem, elsize, &size)) return NULL;
    char *p = reuse_malloc(ctx, size);
    if (p) memset(p, 0, size);
    return p;
}

static void *reuse_realloc(void *ctx, void *ptr, size_t new_size)
{
    (void)ptr; /* the same block: its bytes stay where they are */
    return reuse_malloc(ctx, new_size);
}

static void reuse_free(void *ctx, void *ptr)
{
    (void)ctx;
    (void)ptr;
}

static int reuse_create(alloc_t *a, alloc_param_t *params, size_t nparams, char *err, size_t errlen)
{
    uint64_t reserve = REUSE_DEFAULT_RESERVE;
    if (alloc_param_size(params, nparams, "reserve", 1 << 20, (uint64_t)1 << 44, &reserve, err,
                         errlen))
        return -1;
    if (reserve > SIZE_MAX) {
        snprintf(err, errlen, "reuse: reserve=%llu does not fit the address space",
                 (unsigned long long)reserve);
        return -1;
    }
    reuse_ctx_t *c = malloc(sizeof *c);
    if (!c) {
        snprintf(err, errlen, "reuse: out of memory");
        return -1;
    }
    void *base;
    /* the default halves where the address space is smaller (valgrind) */
    int fallback = reserve == REUSE_DEFAULT_RESERVE;
    while ((base = mmap(NULL, (size_t)reserve, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)) == MAP_FAILED &&
           fallback && reserve > ((uint64_t)1 << 30))
        reserve /= 2;
    if (base == MAP_FAILED) {
        snprintf(err, errlen, "reuse: cannot reserve %llu bytes of address space (reserve=SIZE)",
                 (unsigned long long)reserve);
        free(c);
        return -1;
    }
    *c = (reuse_ctx_t){base, (size_t)reserve};
    *a = (alloc_t){c, reuse_malloc, reuse_calloc, reuse_realloc, reuse_free};
    return 0;
}

static void reuse_destroy(void *ctx)
{
    reuse_ctx_t *c = ctx;
    munmap(c->base, c->reserve);
    free(c);
}

static void reuse_stats(void *ctx, alloc_stats_t *out)
{
    (void)ctx;
    out->footprint = 0;
    out->peak_footprint = 0;
    out->nextra = 0;
}

const alloc_class_t alloc_reuse_class = {
    .name = "reuse",
    .summary = "baseline: every request gets the same block, free is a no-op -- the harness's "
               "own cost per event",
    .params = "reserve=SIZE  address space to reserve (default 64G); larger requests fail\n",
    .flags = ALLOC_SHARED_BLOCK,
    .defaults = "reserve=64G",
    .create = reuse_create,
    .destroy = reuse_destroy,
    .stats = reuse_stats,
};
