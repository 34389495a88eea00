/* segfit.c: an example arenalab plugin -- a segregated-fit allocator in one
 * file, built against arenalab_plugin.h alone (alloc/examples/README.md
 * has the build command; alloc/plugin/README.md the guide).
 *
 * Requests up to `large` bytes are rounded up to a power-of-two size class
 * (16, 32, 64, ... large); each class has a LIFO free list.  Blocks are
 * carved by bumping through the current chunk, a mapping of `chunk` bytes;
 * when the next block does not fit, the rest of the chunk is abandoned and
 * a new chunk is mapped.  Chunks are kept until destroy.  Larger requests
 * get a mapping each, returned at free.  Every block has a 16-byte header
 * (its class and usable size) just before it:
 *
 *     chunk:  | link | hdr | block | hdr | block | ...   | bump ... end |
 *     large:  | prev next len - | hdr | block ............. | (pages)
 *
 * Tunables: chunk=256K (64K..1G), large=4K (a power of two, 16..chunk/4).
 *
 * Invariants: cur <= end; every free-list block belongs to its class;
 * footprint == the bytes of the context, the chunks and the large mappings,
 * and peak is its maximum; inuse[c] counts class c's blocks handed out and
 * not freed.  Nothing is shared between instances.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS under -std=c11 */
#include "arenalab_plugin.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define SEGFIT_MIN     16 /* the smallest class                      */
#define SEGFIT_HDR     16 /* header before every block               */
#define SEGFIT_CLASSES 15 /* 16 B .. 256 KiB                         */
#define SEGFIT_BIG     0xffffffffu
#define SEGFIT_PAGE    4096

typedef struct {
    uint32_t cls; /* class index, or SEGFIT_BIG                  */
    uint32_t pad;
    uint64_t size; /* usable bytes                                */
} segfit_hdr_t;

typedef struct segfit_big_s {
    struct segfit_big_s *prev, *next;
    size_t len; /* the mapping's length                          */
    size_t pad;
} segfit_big_t;

typedef struct segfit_free_s {
    struct segfit_free_s *next;
} segfit_free_t;

_Static_assert(sizeof(segfit_hdr_t) == SEGFIT_HDR, "16-byte header");
_Static_assert(sizeof(segfit_big_t) % 16 == 0, "large blocks stay 16-byte aligned");

typedef struct {
    size_t chunk, large;
    char *cur, *end;  /* the bump region of the current chunk     */
    void *chunks;     /* chunks, linked through their first word  */
    segfit_big_t big; /* sentinel of the large mappings           */
    segfit_free_t *free[SEGFIT_CLASSES];
    uint64_t inuse[SEGFIT_CLASSES], nfree[SEGFIT_CLASSES];
    uint64_t footprint, peak, nchunks, nbig;
} segfit_t;

static void *segfit_map(segfit_t *s, size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    s->footprint += len;
    if (s->footprint > s->peak) s->peak = s->footprint;
    return p;
}

static void *segfit_big_malloc(segfit_t *s, size_t size)
{
    size_t need = sizeof(segfit_big_t) + SEGFIT_HDR;
    if (size > SIZE_MAX - need - SEGFIT_PAGE) return NULL;
    size_t len = (need + size + SEGFIT_PAGE - 1) & ~(size_t)(SEGFIT_PAGE - 1);
    segfit_big_t *b = segfit_map(s, len);
    if (!b) return NULL;
    b->len = len;
    b->prev = &s->big;
    b->next = s->big.next;
    b->next->prev = b;
    s->big.next = b;
    s->nbig++;
    segfit_hdr_t *h = (segfit_hdr_t *)(b + 1);
    *h = (segfit_hdr_t){SEGFIT_BIG, 0, len - need};
    return h + 1;
}

static void *segfit_malloc(void *ctx, size_t size)
{
    segfit_t *s = ctx;
    if (size == 0) size = 1;
    if (size > s->large) return segfit_big_malloc(s, size);
    uint32_t c = 0;
    while (((size_t)SEGFIT_MIN << c) < size)
        c++;
    segfit_hdr_t *h;
    if (s->free[c]) {
        segfit_free_t *f = s->free[c];
        s->free[c] = f->next;
        s->nfree[c]--;
        h = (segfit_hdr_t *)f - 1;
    } else {
        size_t need = SEGFIT_HDR + ((size_t)SEGFIT_MIN << c);
        if ((size_t)(s->end - s->cur) < need) {
            char *chunk = segfit_map(s, s->chunk);
            if (!chunk) return NULL;
            memcpy(chunk, &s->chunks, sizeof s->chunks);
            s->chunks = chunk;
            s->nchunks++;
            s->cur = chunk + 16;
            s->end = chunk + s->chunk;
        }
        h = (segfit_hdr_t *)s->cur;
        s->cur += need;
        *h = (segfit_hdr_t){c, 0, (uint64_t)SEGFIT_MIN << c};
    }
    s->inuse[c]++;
    return h + 1;
}

static void segfit_free(void *ctx, void *ptr)
{
    segfit_t *s = ctx;
    if (!ptr) return;
    segfit_hdr_t *h = (segfit_hdr_t *)ptr - 1;
    if (h->cls == SEGFIT_BIG) {
        segfit_big_t *b = (segfit_big_t *)h - 1;
        b->prev->next = b->next;
        b->next->prev = b->prev;
        s->nbig--;
        s->footprint -= b->len;
        munmap(b, b->len);
        return;
    }
    segfit_free_t *f = ptr;
    f->next = s->free[h->cls];
    s->free[h->cls] = f;
    s->nfree[h->cls]++;
    s->inuse[h->cls]--;
}

static void *segfit_calloc(void *ctx, size_t nelem, size_t elsize)
{
    size_t size;
    if (__builtin_mul_overflow(nelem, elsize, &size)) return NULL;
    void *p = segfit_malloc(ctx, size);
    if (p) memset(p, 0, size);
    return p;
}

static void *segfit_realloc(void *ctx, void *ptr, size_t size)
{
    if (!ptr) return segfit_malloc(ctx, size);
    const segfit_hdr_t *h = (const segfit_hdr_t *)ptr - 1;
    /* in place while the block fits and is not far too big for it */
    if (size <= h->size && (size > h->size / 2 || h->cls == 0)) return ptr;
    void *q = segfit_malloc(ctx, size);
    if (!q) return NULL;
    memcpy(q, ptr, size < h->size ? size : h->size);
    segfit_free(ctx, ptr);
    return q;
}

static void segfit_destroy(void *ctx)
{
    segfit_t *s = ctx;
    while (s->big.next != &s->big) {
        segfit_big_t *b = s->big.next;
        s->big.next = b->next;
        munmap(b, b->len);
    }
    while (s->chunks) {
        void *chunk = s->chunks;
        memcpy(&s->chunks, chunk, sizeof s->chunks);
        munmap(chunk, s->chunk);
    }
    munmap(s, (sizeof *s + SEGFIT_PAGE - 1) & ~(size_t)(SEGFIT_PAGE - 1));
}

static int segfit_create(arenalab_alloc_t *a, arenalab_param_t *params, size_t n, char *err,
                         size_t errlen)
{
    uint64_t chunk = 256 << 10, large = 4 << 10;
    if (arenalab_param_size(params, n, "chunk", 64 << 10, (uint64_t)1 << 30, &chunk, err, errlen) ||
        arenalab_param_size(params, n, "large", SEGFIT_MIN,
                            (uint64_t)SEGFIT_MIN << (SEGFIT_CLASSES - 1), &large, err, errlen))
        return -1;
    if ((large & (large - 1)) || large > chunk / 4) {
        snprintf(err, errlen, "large=%llu: expected a power of two, at most chunk/4 (%llu)",
                 (unsigned long long)large, (unsigned long long)(chunk / 4));
        return -1;
    }
    segfit_t boot = {0};
    size_t len = (sizeof boot + SEGFIT_PAGE - 1) & ~(size_t)(SEGFIT_PAGE - 1);
    segfit_t *s = segfit_map(&boot, len);
    if (!s) {
        snprintf(err, errlen, "segfit: out of memory");
        return -1;
    }
    s->chunk = (size_t)chunk;
    s->large = (size_t)large;
    s->big.prev = s->big.next = &s->big;
    s->footprint = s->peak = len;
    *a = (arenalab_alloc_t){s, segfit_malloc, segfit_calloc, segfit_realloc, segfit_free};
    return 0;
}

static void segfit_stats(void *ctx, arenalab_stats_t *out)
{
    const segfit_t *s = ctx;
    out->footprint = s->footprint;
    out->peak_footprint = s->peak;
    out->nextra = 2;
    out->extra[0].name = "chunks";
    out->extra[0].value = s->nchunks;
    out->extra[1].name = "large_blocks";
    out->extra[1].value = s->nbig;
}

static size_t segfit_usable_size(void *ctx, const void *ptr)
{
    return ((const segfit_hdr_t *)ptr - 1)->size;
}

static int segfit_mallocstats(void *ctx, FILE *out)
{
    const segfit_t *s = ctx;
    fprintf(out, "segfit: chunk %zu, large %zu: %llu chunks, %llu large blocks\n", s->chunk,
            s->large, (unsigned long long)s->nchunks, (unsigned long long)s->nbig);
    fprintf(out, "%8s %10s %10s\n", "class", "in use", "free");
    for (int c = 0; c < SEGFIT_CLASSES && ((size_t)SEGFIT_MIN << c) <= s->large; c++)
        if (s->inuse[c] || s->nfree[c])
            fprintf(out, "%8zu %10llu %10llu\n", (size_t)SEGFIT_MIN << c,
                    (unsigned long long)s->inuse[c], (unsigned long long)s->nfree[c]);
    return 0;
}

ARENALAB_PLUGIN_EXPORT const arenalab_plugin_t arenalab_plugin = {
    .abi = ARENALAB_PLUGIN_ABI,
    .size = sizeof(arenalab_plugin_t),
    .name = "segfit",
    .summary = "segregated fit: power-of-two classes carved from chunks, large blocks mapped",
    .params = "chunk=SIZE  bytes mapped at a time for small blocks (64K..1G, default 256K)\n"
              "large=SIZE  largest request served from a class (power of two, default 4K)\n",
    .defaults = "chunk=256K:large=4K",
    .flags = 0,
    .create = segfit_create,
    .destroy = segfit_destroy,
    .stats = segfit_stats,
    .usable_size = segfit_usable_size,
    .mallocstats = segfit_mallocstats,
};
