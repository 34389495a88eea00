/* raw.c: the `raw` allocator — the process's own malloc/calloc/realloc/free.
 *
 * It is whatever malloc the process runs with: glibc's by default, or the
 * library the route's class preloads into the replay worker (the driver
 * sets the worker's LD_PRELOAD to exactly that, or to nothing).  create()
 * checks which library serves malloc (dladdr) and refuses any other, so a
 * stray LD_PRELOAD can never be measured under the name raw.
 *
 * Held memory, the allocator's own figure: what the heap holds from the
 * system now, absolute (mallinfo2: the sbrk arena plus mmap'ed chunks), so
 * it includes the little the process took at start-up and never falls
 * below the live blocks it serves.  The figure every allocator shares is
 * the replay's resident memory (sim/replay/replay.h); this one is second.
 *
 * Invariants:
 *   - malloc(0), calloc(0, n) and realloc(p, 0) return a distinct non-NULL
 *     block, as CPython's raw domain does (glibc's realloc(p, 0) frees p);
 *   - stats() calls mallinfo2(), which walks malloc's arenas: too slow for
 *     every event, fine for the ~1000 samples the replay driver takes;
 *   - peak_footprint is 0: glibc keeps no peak, so the driver uses the peak
 *     of its samples;
 *   - stats() describe the whole process heap (ALLOC_PROCESS_STATS): a
 *     route counts it once.
 *
 * Under AddressSanitizer malloc is the sanitizer's and mallinfo2() reads
 * zeros, so the held figure is the sanitizer's mapped heap instead; it
 * holds freed blocks in quarantine, so it hardly shrinks on free.
 */
#include "alloc/alloc.h"

#include <malloc.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define RAW_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RAW_ASAN 1
#endif
#endif

#ifdef RAW_ASAN
size_t __sanitizer_get_heap_size(void); /* sanitizer/allocator_interface.h */
#endif

typedef struct {
    int unused; /* the instance keeps nothing: the heap is the process's */
} raw_ctx_t;

/* Heap bytes held from the system now (the sbrk arena plus mmap'ed chunks)
 * and, in *INUSE, the bytes of those in use. */
static uint64_t raw_heap_bytes(struct mallinfo2 *mi, uint64_t *inuse)
{
    *mi = mallinfo2();
#ifdef RAW_ASAN
    *inuse = 0;
    return __sanitizer_get_heap_size();
#else
    *inuse = (uint64_t)mi->uordblks + (uint64_t)mi->hblkhd;
    return (uint64_t)mi->arena + (uint64_t)mi->hblkhd;
#endif
}

static void *raw_malloc(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size ? size : 1);
}

static void *raw_calloc(void *ctx, size_t nelem, size_t elsize)
{
    (void)ctx;
    if (nelem == 0 || elsize == 0) nelem = elsize = 1;
    return calloc(nelem, elsize);
}

static void *raw_realloc(void *ctx, void *ptr, size_t new_size)
{
    (void)ctx;
    return realloc(ptr, new_size ? new_size : 1);
}

static void raw_free(void *ctx, void *ptr)
{
    (void)ctx;
    free(ptr);
}

static int raw_create(alloc_t *a, alloc_param_t *params, size_t nparams, char *err, size_t errlen)
{
    (void)params;
    (void)nparams;
    raw_ctx_t *c = malloc(sizeof *c);
    if (!c) {
        snprintf(err, errlen, "raw: out of memory");
        return -1;
    }
    if (alloc_malloc_is(NULL, err, errlen) < 0) {
        free(c);
        return -1;
    }
    *a = (alloc_t){c, raw_malloc, raw_calloc, raw_realloc, raw_free};
    return 0;
}

static void raw_destroy(void *ctx)
{
    free(ctx);
}

static void raw_stats(void *ctx, alloc_stats_t *out)
{
    (void)ctx;
    struct mallinfo2 mi;
    uint64_t inuse;
    out->footprint = raw_heap_bytes(&mi, &inuse);
    out->peak_footprint = 0;
    /* Absolute values: where the heap's unused memory sits. */
    out->nextra = 3;
    out->extra[0].name = "free_bytes"; /* free chunks inside the arena    */
    out->extra[0].value = mi.fordblks;
    out->extra[1].name = "mmap_blocks"; /* chunks mmap'ed on their own    */
    out->extra[1].value = mi.hblks;
    out->extra[2].name = "top_free_bytes"; /* releasable top of the heap  */
    out->extra[2].value = mi.keepcost;
}

static size_t raw_usable_size(void *ctx, const void *ptr)
{
    (void)ctx;
    return malloc_usable_size((void *)ptr);
}

static int raw_mallocstats(void *ctx, FILE *out)
{
    (void)ctx;
    return malloc_info(0, out);
}

const alloc_class_t alloc_raw_class = {
    .name = "raw",
    .summary = "the process's malloc (glibc unless preloaded); held memory from mallinfo2",
    .params = "",
    .flags = ALLOC_SLOW_STATS | ALLOC_PROCESS_HEAP | ALLOC_PROCESS_STATS | ALLOC_THREAD_SAFE,
    .create = raw_create,
    .destroy = raw_destroy,
    .stats = raw_stats,
    .usable_size = raw_usable_size,
    .mallocstats = raw_mallocstats,
};
