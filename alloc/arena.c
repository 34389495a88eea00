/* arena.c: the `arena` allocator class — every malloc/calloc/realloc of a
 * trace served by one implicit PyArena (alloc/pyarena.h) whose blocks come
 * from the process's malloc, so the footprint shows what a bump allocator
 * that never frees costs on a malloc/free workload.
 *
 * Each allocation carries a size header (ARENA_HDR: a size_t rounded up to
 * params.align, so user memory keeps the arena's alignment) holding the
 * size last asked for: realloc needs the old size to copy, usable_size
 * reports it rounded.  Hence malloc(0) yields a distinct pointer.
 *
 *   free      a no-op, but the block's rounded bytes are counted as `dead`;
 *   realloc   always allocates anew and copies the preserved prefix (the
 *             old bytes turn dead), as a bump allocator must: it is what
 *             the footprint of a malloc/free workload on an arena shows.
 *
 * Invariants: footprint = bytes of blocks held (headers included), which
 * never decreases until destroy, so the peak is exact; dead <= used.
 */
#include "alloc/alloc.h"
#include "alloc/pyarena.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    pyarena_t *arena;
    size_t hdr;    /* bytes of the size header in front of each block */
    size_t mask;   /* params.align - 1                                */
    uint64_t dead; /* rounded bytes freed or moved away by realloc    */
} arena_ctx_t;

/* The process's malloc as an alloc_t: where the arena's blocks come from. */
static void *arena_host_malloc(void *ctx, size_t size)
{
    return malloc(size ? size : 1);
}
static void *arena_host_calloc(void *ctx, size_t n, size_t size)
{
    return calloc(n ? n : 1, size ? size : 1);
}
static void *arena_host_realloc(void *ctx, void *p, size_t size)
{
    return realloc(p, size ? size : 1);
}
static void arena_host_free(void *ctx, void *p)
{
    free(p);
}

static const alloc_t arena_host = {NULL, arena_host_malloc, arena_host_calloc, arena_host_realloc,
                                   arena_host_free};

/* Bytes the arena really hands out for a SIZE-byte allocation. */
static size_t arena_footprint_of(const arena_ctx_t *c, size_t size)
{
    return (c->hdr + size + c->mask) & ~c->mask;
}

static void *arena_malloc(void *ctx, size_t size)
{
    arena_ctx_t *c = ctx;
    if (size > SIZE_MAX - c->hdr - c->mask) return NULL;
    char *p = pyarena_malloc(c->arena, c->hdr + size);
    if (!p) return NULL;
    memcpy(p + c->hdr - sizeof(size_t), &size, sizeof size);
    return p + c->hdr;
}

static size_t arena_size_of(const void *ptr)
{
    size_t size;
    memcpy(&size, (const char *)ptr - sizeof size, sizeof size);
    return size;
}

static void *arena_calloc(void *ctx, size_t nelem, size_t elsize)
{
    if (elsize && nelem > SIZE_MAX / elsize) return NULL;
    size_t size = nelem * elsize;
    void *p = arena_malloc(ctx, size);
    /* Fresh arena memory is not zeroed: a block may come from malloc. */
    if (p) memset(p, 0, size);
    return p;
}

static void arena_free(void *ctx, void *ptr)
{
    arena_ctx_t *c = ctx;
    if (ptr) c->dead += arena_footprint_of(c, arena_size_of(ptr));
}

static void *arena_realloc(void *ctx, void *ptr, size_t new_size)
{
    arena_ctx_t *c = ctx;
    if (!ptr) return arena_malloc(ctx, new_size);
    size_t old = arena_size_of(ptr);
    void *q = arena_malloc(ctx, new_size);
    if (!q) return NULL; /* PTR stays valid, as realloc promises */
    memcpy(q, ptr, old < new_size ? old : new_size);
    c->dead += arena_footprint_of(c, old);
    return q;
}

static int arena_create(alloc_t *a, alloc_param_t *params, size_t nparams, char *err, size_t errlen)
{
    pyarena_params_t p;
    pyarena_params_default(&p);
    if (pyarena_params_parse(&p, params, nparams, err, errlen)) return -1;
    arena_ctx_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "arena: out of memory");
        return -1;
    }
    c->mask = p.align - 1;
    c->hdr = (sizeof(size_t) + c->mask) & ~c->mask;
    /* No release callback: this arena never owns objects. */
    c->arena = pyarena_new(&arena_host, &p, NULL, NULL);
    if (!c->arena) {
        free(c);
        snprintf(err, errlen, "arena: out of memory");
        return -1;
    }
    *a = (alloc_t){c, arena_malloc, arena_calloc, arena_realloc, arena_free};
    return 0;
}

static void arena_destroy(void *ctx)
{
    arena_ctx_t *c = ctx;
    pyarena_free(c->arena);
    free(c);
}

static void arena_stats(void *ctx, alloc_stats_t *out)
{
    const arena_ctx_t *c = ctx;
    pyarena_stats_t s;
    pyarena_stats(c->arena, &s);
    out->footprint = s.block_bytes;
    out->peak_footprint = s.block_bytes; /* blocks are only ever added */
    const struct {
        const char *name;
        uint64_t value;
    } extra[] = {
        {"blocks", s.blocks}, {"reserved", s.reserved},   {"used", s.used},
        {"dead", c->dead},    {"abandoned", s.abandoned},
    };
    _Static_assert(sizeof extra / sizeof extra[0] <= ALLOC_MAX_EXTRA, "too many extra counters");
    out->nextra = (int)(sizeof extra / sizeof extra[0]);
    for (int i = 0; i < out->nextra; i++) {
        out->extra[i].name = extra[i].name;
        out->extra[i].value = extra[i].value;
    }
}

static size_t arena_usable_size(void *ctx, const void *ptr)
{
    const arena_ctx_t *c = ctx;
    return arena_footprint_of(c, arena_size_of(ptr)) - c->hdr;
}

const alloc_class_t alloc_arena_class = {
    .name = "arena",
    .summary = "CPython's PyArena as a malloc: bump allocation in 8K blocks, free is a no-op",
    .params = pyarena_params_help,
    .flags = ALLOC_PROCESS_HEAP,
    .defaults = "block=8K:align=8:growth=fixed",
    .create = arena_create,
    .destroy = arena_destroy,
    .stats = arena_stats,
    .usable_size = arena_usable_size,
};
