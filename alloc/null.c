/* null.c: the `null` allocator — a bump pointer that never reuses memory,
 * the baseline that measures the replay harness's own cost.
 *
 * One large MAP_NORESERVE mapping is reserved at create (64 GiB of address
 * space by default; pages become real only when touched).  Every block is a
 * 16-byte header holding its requested size, followed by the size rounded up
 * to 16 bytes, bumped off the mapping:
 *
 *     base                                   top            base + reserve
 *     | hdr | block | hdr | block | ...      |   untouched ...            |
 *
 * Invariants:
 *   - base <= top <= base + reserve, and top - base is a multiple of 16, so
 *     every block is 16-byte aligned;
 *   - free is a no-op and nothing is ever reused, so memory past top is the
 *     mapping's zero pages: calloc needs no memset;
 *   - footprint is top - base and never decreases, so it is its own exact
 *     peak;
 *   - a request that does not fit returns NULL (never grows the mapping);
 *   - top never passes `limit`, three quarters of the machine's physical
 *     memory (or the reserve, if smaller): null touches every byte it hands
 *     out and never reuses one, so a trace that allocates more in all than
 *     the machine has would otherwise take the machine whole (the OOM
 *     killer's choice of victim is not ours to make).  A machine constant,
 *     not the memory free now, so a trace fails here always or never.
 *
 * Warm pages.  A fresh mapping costs a page fault (and the kernel's zeroing)
 * per page the bump pointer reaches, which on a trace that allocates much
 * in total is most of what `null` would measure — the cost of never
 * reusing, not of the harness.  So destroy() keeps the last mapping in a
 * one-slot cache and the next create() of the same size takes it over with
 * its pages already faulted: the replay driver's measurement run faults
 * them, its timed runs measure bumps.  This cache is the module's only
 * static mutable state, for that reason; `dirty` remembers how far earlier
 * instances wrote, and calloc zeroes what it hands out below it.
 */
#include "alloc/alloc.h"
#include "alloc/params.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NULL_ALIGN           16
#define NULL_HDR             16
#define NULL_DEFAULT_RESERVE ((uint64_t)64 << 30)

_Static_assert(NULL_HDR % NULL_ALIGN == 0, "the header keeps blocks aligned");

typedef struct {
    char *base;      /* start of the mapping                  */
    size_t reserve;  /* its length                            */
    size_t limit;    /* top stays at or below it (see above)  */
    size_t top;      /* bytes bumped so far (offset of next)  */
    size_t dirty;    /* bytes earlier instances wrote         */
    uint64_t blocks; /* blocks handed out                     */
} null_ctx_t;

/* The mapping of the last destroyed instance, pages still faulted. */
static struct {
    char *base;
    size_t reserve;
    size_t dirty;
} null_warm;

static void *null_malloc(void *ctx, size_t size)
{
    null_ctx_t *c = ctx;
    size_t room = c->limit - c->top;
    /* Overflow-free: compare before rounding up. */
    if (room < NULL_HDR || size > room - NULL_HDR) return NULL;
    size_t body = (size + NULL_ALIGN - 1) & ~(size_t)(NULL_ALIGN - 1);
    if (body > room - NULL_HDR) return NULL;
    char *hdr = c->base + c->top;
    memcpy(hdr, &size, sizeof size);
    c->top += NULL_HDR + body;
    c->blocks++;
    return hdr + NULL_HDR;
}

static void *null_calloc(void *ctx, size_t nelem, size_t elsize)
{
    null_ctx_t *c = ctx;
    size_t size;
    if (__builtin_mul_overflow(nelem, elsize, &size)) return NULL;
    char *p = null_malloc(ctx, size);
    /* Fresh pages are zero; pages an earlier instance wrote are not. */
    size_t at = p ? (size_t)(p - c->base) : 0;
    if (p && at < c->dirty) memset(p, 0, c->dirty - at < size ? c->dirty - at : size);
    return p;
}

static size_t null_size_of(const void *ptr)
{
    size_t size;
    memcpy(&size, (const char *)ptr - NULL_HDR, sizeof size);
    return size;
}

static void *null_realloc(void *ctx, void *ptr, size_t new_size)
{
    void *p = null_malloc(ctx, new_size);
    if (p && ptr) {
        size_t old = null_size_of(ptr);
        memcpy(p, ptr, old < new_size ? old : new_size);
    }
    return p;
}

static void null_free(void *ctx, void *ptr)
{
    (void)ctx;
    (void)ptr;
}

/* Three quarters of physical memory, at most RESERVE. */
static size_t null_limit(size_t reserve)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return reserve;
    uint64_t limit = (uint64_t)pages / 4 * 3 * (uint64_t)page;
    return limit < reserve ? (size_t)limit : reserve;
}

static int null_create(alloc_t *a, alloc_param_t *params, size_t nparams, char *err, size_t errlen)
{
    uint64_t reserve = NULL_DEFAULT_RESERVE;
    if (alloc_param_size(params, nparams, "reserve", 1 << 20, (uint64_t)1 << 44, &reserve, err,
                         errlen))
        return -1;
    if (reserve > SIZE_MAX) {
        snprintf(err, errlen, "null: reserve=%llu does not fit the address space",
                 (unsigned long long)reserve);
        return -1;
    }
    null_ctx_t *c = malloc(sizeof *c);
    if (!c) {
        snprintf(err, errlen, "null: out of memory");
        return -1;
    }
    if (null_warm.base && null_warm.reserve == reserve) {
        *c = (null_ctx_t){
            null_warm.base, (size_t)reserve, null_limit((size_t)reserve), 0, null_warm.dirty, 0};
        null_warm.base = NULL;
        *a = (alloc_t){c, null_malloc, null_calloc, null_realloc, null_free};
        return 0;
    }
    void *base;
    /* the default halves where the address space is smaller (valgrind's
     * grants 32 GiB in one piece): counting instructions needs no more */
    int fallback = reserve == NULL_DEFAULT_RESERVE;
    while ((base = mmap(NULL, (size_t)reserve, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)) == MAP_FAILED &&
           fallback && reserve > ((uint64_t)1 << 30))
        reserve /= 2;
    if (base == MAP_FAILED) {
        snprintf(err, errlen, "null: cannot reserve %llu bytes of address space (reserve=SIZE)",
                 (unsigned long long)reserve);
        free(c);
        return -1;
    }
    /* Huge pages where the kernel allows them: the baseline should cost
     * bumps, not a page fault per 4 KiB of fresh memory. */
    madvise(base, (size_t)reserve, MADV_HUGEPAGE);
    *c = (null_ctx_t){base, (size_t)reserve, null_limit((size_t)reserve), 0, 0, 0};
    *a = (alloc_t){c, null_malloc, null_calloc, null_realloc, null_free};
    return 0;
}

static void null_destroy(void *ctx)
{
    null_ctx_t *c = ctx;
    if (null_warm.base) munmap(null_warm.base, null_warm.reserve);
    null_warm.base = c->base;
    null_warm.reserve = c->reserve;
    null_warm.dirty = c->top > c->dirty ? c->top : c->dirty;
    free(c);
}

static void null_stats(void *ctx, alloc_stats_t *out)
{
    const null_ctx_t *c = ctx;
    out->footprint = c->top;
    out->peak_footprint = c->top;
    out->nextra = 1;
    out->extra[0].name = "blocks";
    out->extra[0].value = c->blocks;
}

static size_t null_usable_size(void *ctx, const void *ptr)
{
    (void)ctx;
    size_t size = null_size_of(ptr);
    return (size + NULL_ALIGN - 1) & ~(size_t)(NULL_ALIGN - 1);
}

const alloc_class_t alloc_null_class = {
    .name = "null",
    .summary = "baseline: bump allocation from one reserved mapping, never reuses, free is a no-op",
    .params = "reserve=SIZE  address space to reserve (default 64G); requests past it, or past\n"
              "              3/4 of physical memory handed out in all, fail\n",
    .flags = 0,
    .defaults = "reserve=64G",
    .create = null_create,
    .destroy = null_destroy,
    .stats = null_stats,
    .usable_size = null_usable_size,
};
