/* arenas.c: the arena-emulation modes (see arenas.h) and `per-object`.
 *
 * per-object: every `m` is its own malloc from the MEM allocator, and `x`
 * frees them (oldest first) before releasing the owned blocks.  It is the
 * upper bound of per-request overhead: what an allocator pays when nothing
 * batches the small, short-lived allocations of a compiler's arena.  Its
 * records (a chain of chunks per live arena, internal/arenas_perobj.h) are
 * shared with the replay's timed loop, which runs an `m` inline.
 */
#include "sim/replay/arenas.h"
#include "sim/base/mapvec.h"
#include "sim/replay/internal/arenas_perobj.h"

#include <string.h>

static uint32_t *perobj_tops(perobj_t *s)
{
    return s->tops.p;
}

static perobj_slot_t *perobj_slots(perobj_t *s)
{
    return s->pool.p;
}

/* Chunks a slot index can address (slot indices are uint32_t). */
#define PEROBJ_MAX_CHUNKS ((uint32_t)(UINT32_MAX / PEROBJ_SLOTS))

/* A free chunk, from the free list or the pool's end; NONE when out of
 * memory. */
static uint32_t perobj_take_chunk(perobj_t *s)
{
    uint32_t c = s->free_chunk;
    if (c != PEROBJ_NONE) {
        s->free_chunk = perobj_slots(s)[(size_t)c * PEROBJ_SLOTS].next;
        return c;
    }
    if (s->nchunks >= PEROBJ_MAX_CHUNKS ||
        mapvec_reserve(&s->pool, ((size_t)s->nchunks + 1) * PEROBJ_SLOTS * sizeof(perobj_slot_t)))
        return PEROBJ_NONE;
    return s->nchunks++;
}

/* The newest chunk of ASLOT's chain, or NONE. */
static uint32_t perobj_head(perobj_t *s, uint32_t aslot)
{
    uint32_t top = perobj_tops(s)[aslot];
    return top ? (top - 1) / PEROBJ_SLOTS : PEROBJ_NONE;
}

uint32_t perobj_grow(perobj_t *s, uint32_t aslot)
{
    uint32_t fresh = perobj_take_chunk(s);
    if (fresh == PEROBJ_NONE) return 0;
    uint32_t first = fresh * PEROBJ_SLOTS;
    perobj_slots(s)[first].next = perobj_head(s, aslot);
    perobj_tops(s)[aslot] = first + 1;
    return first + 1;
}

static void *perobj_create(const alloc_t *mem, const arenas_hint_t *hint, const char *params,
                           arenas_release_fn release, void *ud, char *err, size_t errlen)
{
    if (params && *params) {
        snprintf(err, errlen, "arena mode per-object takes no parameters (got '%s')", params);
        return NULL;
    }
    /* Even the state stays out of the measured heap. */
    mapvec_t self = {0};
    if (mapvec_reserve(&self, sizeof(perobj_t))) {
        snprintf(err, errlen, "arenas: out of memory");
        return NULL;
    }
    perobj_t *s = self.p;
    *s = (perobj_t){self, *mem, release, ud, {0}, 0, {0}, 0, PEROBJ_NONE};
    /* Room for the pre-pass's peak: each live arena has at most one
     * partly filled chunk. */
    size_t chunks = (size_t)(hint->records / (PEROBJ_SLOTS - 1)) + hint->aslots + 1;
    if (mapvec_reserve(&s->tops, ((size_t)hint->aslots + 1) * sizeof(uint32_t)) ||
        mapvec_reserve(&s->pool, chunks * PEROBJ_SLOTS * sizeof(perobj_slot_t))) {
        snprintf(err, errlen, "arenas: cannot map %zu record chunks", chunks);
        mapvec_free(&s->tops);
        mapvec_free(&s->pool);
        mapvec_free(&self);
        return NULL;
    }
    mapvec_touch(&s->tops);
    mapvec_touch(&s->pool);
    return s;
}

/* Frees the records of ASLOT's chain and returns its chunks. */
static void perobj_release_chain(perobj_t *s, uint32_t aslot)
{
    perobj_slot_t *slots = perobj_slots(s);
    const uint32_t top = perobj_tops(s)[aslot], newest = perobj_head(s, aslot);
    /* Oldest first, as PyArena frees its blocks: reverse the chain. */
    uint32_t c = newest, prev = PEROBJ_NONE;
    while (c != PEROBJ_NONE) {
        uint32_t next = slots[(size_t)c * PEROBJ_SLOTS].next;
        slots[(size_t)c * PEROBJ_SLOTS].next = prev;
        prev = c;
        c = next;
    }
    /* MEM's free and context in locals: through S, each was reloaded
     * after every call (the call may write anywhere, as far as the
     * compiler knows) */
    void (*const mfree)(void *, void *) = s->mem.free;
    void *const mctx = s->mem.ctx;
    for (c = prev; c != PEROBJ_NONE;) {
        perobj_slot_t *h = &slots[(size_t)c * PEROBJ_SLOTS];
        /* every chunk is full but the newest, which ends at top */
        const perobj_slot_t *r = h + 1, *const end = c == newest ? slots + top : h + PEROBJ_SLOTS;
        for (; r < end; r++)
            mfree(mctx, r->rec.ptr);
        uint32_t next = h->next;
        h->next = s->free_chunk;
        s->free_chunk = c;
        c = next;
    }
    perobj_tops(s)[aslot] = 0;
}

static void perobj_destroy(void *st)
{
    perobj_t *s = st;
    for (uint32_t a = 0; a < s->naslots; a++)
        perobj_release_chain(s, a);
    mapvec_free(&s->tops);
    mapvec_free(&s->pool);
    mapvec_t self = s->self;
    mapvec_free(&self);
}

static int perobj_new_arena(void *st, uint32_t aslot)
{
    perobj_t *s = st;
    if (aslot >= s->naslots) {
        if (aslot == UINT32_MAX || mapvec_reserve(&s->tops, ((size_t)aslot + 1) * sizeof(uint32_t)))
            return -1;
        s->naslots = aslot + 1; /* new mapvec bytes are zero: no chunk */
    }
    perobj_tops(s)[aslot] = 0;
    return 0;
}

static void *perobj_malloc(void *st, uint32_t aslot, uint64_t size)
{
    perobj_t *s = st;
    if (size > SIZE_MAX) return NULL;
    uint32_t slot = perobj_room(s, aslot);
    if (!slot) return NULL;
    void *p = s->mem.malloc(s->mem.ctx, (size_t)size);
    if (p) perobj_note(s, aslot, slot, p, size);
    return p;
}

static void perobj_free_arena(void *st, uint32_t aslot, const uint32_t *owned, size_t nowned)
{
    perobj_t *s = st;
    perobj_release_chain(s, aslot);
    for (size_t i = 0; i < nowned; i++)
        s->release(s->ud, owned[i]);
}

static void perobj_each(void *st, uint32_t aslot, arenas_each_fn fn, void *ud)
{
    perobj_t *s = st;
    perobj_slot_t *slots = perobj_slots(s);
    const uint32_t top = perobj_tops(s)[aslot], newest = perobj_head(s, aslot);
    for (uint32_t c = newest; c != PEROBJ_NONE;) {
        perobj_slot_t *h = &slots[(size_t)c * PEROBJ_SLOTS];
        const perobj_slot_t *r = h + 1, *const end = c == newest ? slots + top : h + PEROBJ_SLOTS;
        for (; r < end; r++)
            fn(ud, r->rec.ptr, r->rec.size);
        c = h->next;
    }
}

const arenas_mode_t arenas_perobject = {
    .name = "per-object",
    .summary = "every arena allocation is its own MEM malloc, all freed with the arena",
    .create = perobj_create,
    .destroy = perobj_destroy,
    .new_arena = perobj_new_arena,
    .malloc = perobj_malloc,
    .own = NULL,
    .free_arena = perobj_free_arena,
    .each = perobj_each,
};

extern const arenas_mode_t arenas_pyarena; /* sim/replay/arenas_pyarena.c */

const arenas_mode_t *const arenas_modes[] = {
    &arenas_pyarena,
    &arenas_perobject,
    NULL,
};

const arenas_mode_t *arenas_find(const char *spec, const char **params)
{
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    for (const arenas_mode_t *const *m = arenas_modes; *m; m++)
        if (strlen((*m)->name) == n && strncmp((*m)->name, spec, n) == 0) {
            if (params) *params = colon ? colon + 1 : "";
            return *m;
        }
    return NULL;
}

/* A MEM that never hands out memory: arenas_check only parses. */
static void *arenas_null_malloc(void *ctx, size_t size)
{
    return NULL;
}
static void *arenas_null_calloc(void *ctx, size_t n, size_t size)
{
    return NULL;
}
static void *arenas_null_realloc(void *ctx, void *p, size_t size)
{
    return NULL;
}
static void arenas_null_free(void *ctx, void *p) {}
static void arenas_null_release(void *ud, uint32_t slot) {}

int arenas_check(const char *spec, char *err, size_t errlen)
{
    const char *params;
    const arenas_mode_t *m = arenas_find(spec, &params);
    if (!m) {
        snprintf(err, errlen, "unknown arena mode '%s' (see 'arenalab replay --list')", spec);
        return -1;
    }
    const alloc_t mem = {NULL, arenas_null_malloc, arenas_null_calloc, arenas_null_realloc,
                         arenas_null_free};
    const arenas_hint_t hint = {0, 0};
    void *st = m->create(&mem, &hint, params, arenas_null_release, NULL, err, errlen);
    if (!st) return -1;
    m->destroy(st);
    return 0;
}
