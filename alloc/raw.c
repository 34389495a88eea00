/* raw.c: the `raw` allocator — the process's own malloc/calloc/realloc/free.
 *
 * It is whatever malloc the process runs with: glibc's by default, or a
 * library that another class preloads into the replay worker.  The instance
 * holds no state of its own except the heap's size at create, because the
 * footprint it reports is relative to that moment: what the heap holds for
 * this replay, not what the process held before.
 *
 * Footprint.  A heap has slack at create (free chunks, the top chunk), and
 * a small replay may fit in it without growing the heap at all, which would
 * read as footprint 0.  So create trims the heap (malloc_trim), and the
 * footprint is the larger of the heap's growth (arena + mmap'ed bytes) and
 * the growth of the bytes in use (uordblks + mmap'ed): never less than what
 * the replay's blocks occupy, headers included.
 *
 * Invariants:
 *   - malloc(0), calloc(0, n) and realloc(p, 0) return a distinct non-NULL
 *     block, as CPython's raw domain does (glibc's realloc(p, 0) frees p);
 *   - stats() calls mallinfo2(), which walks malloc's arenas: too slow for
 *     every event, fine for the ~1000 samples the replay driver takes;
 *   - peak_footprint is 0: glibc keeps no peak, so the driver uses the peak
 *     of its samples.
 *
 * Under AddressSanitizer malloc is the sanitizer's and mallinfo2() reads
 * zeros, so the footprint is the sanitizer's mapped heap instead; it holds
 * freed blocks in quarantine, so it hardly shrinks on free.
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
    uint64_t held;  /* heap bytes held from the system at create           */
    uint64_t inuse; /* heap bytes in use at create                         */
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
    struct mallinfo2 mi;
    malloc_trim(0); /* give back the slack of earlier work */
    c->held = raw_heap_bytes(&mi, &c->inuse);
    *a = (alloc_t){c, raw_malloc, raw_calloc, raw_realloc, raw_free};
    return 0;
}

static void raw_destroy(void *ctx)
{
    free(ctx);
}

static void raw_stats(void *ctx, alloc_stats_t *out)
{
    const raw_ctx_t *c = ctx;
    struct mallinfo2 mi;
    uint64_t inuse;
    uint64_t held = raw_heap_bytes(&mi, &inuse);
    uint64_t grown = held > c->held ? held - c->held : 0;
    uint64_t used = inuse > c->inuse ? inuse - c->inuse : 0;
    out->footprint = grown > used ? grown : used;
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
    .summary = "the process's malloc (glibc unless preloaded); footprint from mallinfo2",
    .params = "",
    .flags = ALLOC_SLOW_STATS | ALLOC_PROCESS_HEAP,
    .create = raw_create,
    .destroy = raw_destroy,
    .stats = raw_stats,
    .usable_size = raw_usable_size,
    .mallocstats = raw_mallocstats,
};
