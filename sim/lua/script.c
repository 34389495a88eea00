/* script.c: all the Lua glue of `arenalab gen` (see script.h), on Lua's
 * public API only.
 *
 * Design
 * ------
 * One context (script_ctx_t, C memory outside the Lua heap) holds the trace
 * writer, the random generator and two tables: blocks and arenas, each
 * indexed by a dense slot recycled LIFO, so both are as large as the peak
 * live count, never the total (a 100-million-event script runs in bounded
 * memory).  Scripts hold *handles*: small full userdata {slot, gen, id}
 * that the garbage collector reclaims like any value.  A table entry's gen
 * is bumped each time its block dies, so a handle is live exactly when
 * entry.gen == handle.gen — a freed handle, or a block freed with its
 * arena, is detected in O(1) with no back-pointers from C to Lua.
 *
 * Ids written to the trace are sequential (the n-th allocation is block
 * n-1, the n-th arena is arena n-1): the binary format stores an alloc id
 * that is "previous + 1" in no bytes, and the writer maps ids to its own
 * recycled slots anyway (measured on the bundled workloads: 1-25% smaller
 * .atr files than ids recycled LIFO).  2^32 ids per run is the limit (a Lua
 * error).
 *
 * Arena ownership is an intrusive doubly linked list through the block
 * entries (owner, oprev, onext), appended in `own` order, so a:own,
 * free(b) of an owned block, and a:free() are O(1) per block.
 *
 * Pools (the live-set helper) are userdata holding an array of block slots,
 * oldest first, with tombstones: each block entry records its pool and
 * position, so free(b) of a pooled block removes it in O(1), and the pool
 * is compacted once tombstones outnumber live items (amortised O(1)).  A
 * block is in at most one pool.  A collected pool forgets its blocks (they
 * stay live: the collector never writes events).
 *
 * Every C function gets the same four upvalues (the block, arena, pool and
 * sampler metatables), so a type check is one metatable comparison, and
 * the context pointer sits in the state's extra space: the hot path
 * (alloc, free) touches no registry or string.
 *
 * Errors: API misuse raises a Lua error with luaL_error, which prefixes the
 * calling script's "FILE:LINE:"; the whole script runs under lua_pcall
 * with a traceback handler, and C work that owns resources (reading a
 * trace for sizes_from) finishes and cleans up before raising.
 */
#include "sim/lua/script.h"

#include "sim/lua/rng.h"
#include "sim/trace/trace.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define SCRIPT_DEAD      UINT32_MAX       /* tombstone in a pool's items      */
#define SCRIPT_MAX_SLOTS (UINT32_MAX - 1) /* slot + 1 must fit in a uint32    */
#define SCRIPT_MAX_ID    UINT32_MAX

/* Upvalues shared by every C function of the API: the metatables. */
#define SCRIPT_UV_BLOCK   lua_upvalueindex(1)
#define SCRIPT_UV_ARENA   lua_upvalueindex(2)
#define SCRIPT_UV_POOL    lua_upvalueindex(3)
#define SCRIPT_UV_SAMPLER lua_upvalueindex(4)
#define SCRIPT_NUV        4

/* Entry states; a dead entry keeps how it died for the error message of a
 * stale handle whose slot has not been reused yet. */
enum { SCRIPT_FREED = 0, SCRIPT_LIVE = 1, SCRIPT_FREED_WITH_ARENA = 2 };

typedef struct script_pool_s script_pool_t;
typedef struct script_ctx_s script_ctx_t;

typedef struct {
    uint64_t size;       /* bytes: SIZE, or NMEMB*SIZE for calloc             */
    script_pool_t *pool; /* the pool holding the block, or NULL               */
    uint32_t id;         /* trace id                                          */
    uint32_t gen;        /* bumped at each death; handles compare it          */
    uint32_t owner;      /* owning arena slot + 1, or 0                       */
    uint32_t oprev;      /* owner's list, slot + 1                            */
    uint32_t onext;      /* owner's list, slot + 1; the free list when dead   */
    uint32_t ppos;       /* index in pool->items                              */
    uint32_t dead_arena; /* arena id that freed it (FREED_WITH_ARENA)         */
    uint8_t domain;      /* trace_domain_t                                    */
    uint8_t state;       /* SCRIPT_LIVE, SCRIPT_FREED, ...                    */
} script_block_t;

typedef struct {
    uint64_t bytes; /* allocated with a:alloc                              */
    uint32_t id;    /* trace id                                            */
    uint32_t gen;   /* as for blocks                                       */
    uint32_t ohead; /* owned blocks (slot + 1), oldest `own` first         */
    uint32_t otail;
    uint32_t nowned;
    uint32_t nextfree; /* free list, slot + 1                                 */
    uint8_t state;
} script_arena_t;

/* What a script holds for a block or an arena (told apart by metatable). */
typedef struct {
    uint32_t slot;
    uint32_t gen;
    uint32_t id;
} script_handle_t;

struct script_pool_s {
    script_ctx_t *c;
    uint32_t *items; /* block slots, oldest first; SCRIPT_DEAD = removed      */
    uint32_t head;   /* items[head] is live unless count == 0                 */
    uint32_t tail;   /* one past the newest; items[tail-1] live unless empty  */
    uint32_t cap;
    uint32_t count; /* live items                                            */
    uint64_t bytes; /* their sizes                                           */
};

/* A weighted sampler (chooser, sizes_from), called as s(). */
typedef struct {
    rng_table_t t;
    int64_t *ints; /* value of each index (sizes_from), or NULL               */
    int values;    /* 1: user value 1 is a table of values (chooser)          */
} script_sampler_t;

struct script_ctx_s {
    trace_writer_t *w;
    FILE *diag;
    rng_t rng;
    uint64_t seed;

    script_block_t *blocks;
    uint32_t nblocks, capblocks;
    uint32_t bfree; /* free list head, slot + 1                              */
    script_arena_t *arenas;
    uint32_t narenas, caparenas;
    uint32_t afree;
    uint64_t next_id, next_aid;

    uint64_t events, markers;
    uint64_t live_blocks, live_bytes;
    uint64_t peak_blocks, peak_bytes;

    const script_def_t *defs;
    size_t ndefs;
    unsigned char *used; /* per def: read by param()                         */

    rng_zipf_t zipf; /* the last zipf(n, s), reused while n and s repeat */
    int zipf_ok;
};

/* The context lives in the state's extra space (a pointer's worth that Lua
 * copies into every coroutine): reading it is pointer arithmetic, not an
 * API call, which matters on the per-event path. */
static script_ctx_t *script_ctx(lua_State *L)
{
    return *(script_ctx_t **)lua_getextraspace(L);
}

/* ---- argument checks ------------------------------------------------------ */

/* The userdata at IDX if its metatable is upvalue UV, else a type error. */
static void *script_checktype(lua_State *L, int idx, int uv, const char *tname)
{
    /* Full userdata only: a light userdata is an arbitrary pointer. */
    void *p = lua_type(L, idx) == LUA_TUSERDATA ? lua_touserdata(L, idx) : NULL;
    if (p && lua_getmetatable(L, idx)) {
        int ok = lua_rawequal(L, -1, uv);
        lua_pop(L, 1);
        if (ok) return p;
    }
    luaL_typeerror(L, idx, tname);
    return NULL;
}

/* A byte count in 0..2^48: an integer, or a float with an integral value. */
static uint64_t script_size_arg(lua_State *L, int idx, const char *fn, const char *what)
{
    if (lua_isinteger(L, idx)) {
        lua_Integer v = lua_tointeger(L, idx);
        if (v >= 0 && (uint64_t)v <= TRACE_MAX_SIZE) return (uint64_t)v;
        luaL_error(L, "%s: bad %s %I (must be in 0..2^48)", fn, what, v);
    }
    if (lua_type(L, idx) == LUA_TNUMBER) {
        lua_Number d = lua_tonumber(L, idx);
        if (d == floor(d) && d >= 0 && d <= (lua_Number)TRACE_MAX_SIZE) return (uint64_t)d;
        luaL_error(L, "%s: bad %s %f (must be an integer in 0..2^48)", fn, what, d);
    }
    luaL_error(L, "%s: bad %s (number expected, got %s)", fn, what, luaL_typename(L, idx));
    return 0;
}

static int script_domain_arg(lua_State *L, int idx, const char *fn)
{
    if (lua_isnoneornil(L, idx)) return TRACE_MEM;
    /* Type first: lua_tolstring would turn a number into a string. */
    if (lua_type(L, idx) != LUA_TSTRING)
        luaL_error(L, "%s: bad domain (string expected, got %s)", fn, luaL_typename(L, idx));
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    if (len == 3)
        for (int d = 0; d < TRACE_NDOMAINS; d++)
            if (!memcmp(s, trace_domain_name[d], 3)) return d;
    luaL_error(L, "%s: bad domain '%s' (raw, mem or obj)", fn, s);
    return TRACE_MEM;
}

/* ---- event output ---------------------------------------------------------- */

static void script_emit(lua_State *L, script_ctx_t *c, const trace_event_t *ev)
{
    if (trace_write(c->w, ev) < 0)
        luaL_error(L, "cannot write the trace: %s", trace_writer_error(c->w));
    c->events++;
}

static void script_note_live(script_ctx_t *c)
{
    if (c->live_blocks > c->peak_blocks) c->peak_blocks = c->live_blocks;
    if (c->live_bytes > c->peak_bytes) c->peak_bytes = c->live_bytes;
}

static void script_push_handle(lua_State *L, int uv, uint32_t slot, uint32_t gen, uint32_t id)
{
    script_handle_t *h = lua_newuserdatauv(L, sizeof *h, 0);
    h->slot = slot;
    h->gen = gen;
    h->id = id;
    lua_pushvalue(L, uv);
    lua_setmetatable(L, -2);
}

/* Doubles *CAP (from 16) for N + 1 entries of SIZE bytes; raises on overflow
 * or when out of memory, leaving *PTR as it was. */
static void script_grow(lua_State *L, void **ptr, uint32_t *cap, size_t size, const char *what)
{
    uint64_t ncap = *cap ? (uint64_t)*cap * 2 : 16;
    if (ncap > SCRIPT_MAX_SLOTS) ncap = SCRIPT_MAX_SLOTS;
    if (ncap <= *cap || ncap > SIZE_MAX / size)
        luaL_error(L, "too many live %s (more than 2^32)", what);
    void *p = realloc(*ptr, (size_t)ncap * size);
    if (!p) luaL_error(L, "out of memory (%s table)", what);
    *ptr = p;
    *cap = (uint32_t)ncap;
}

/* ---- pools: internal operations -------------------------------------------- */

static void script_pool_compact(script_pool_t *p)
{
    script_block_t *blocks = p->c->blocks;
    uint32_t n = 0;
    for (uint32_t i = p->head; i < p->tail; i++) {
        uint32_t slot = p->items[i];
        if (slot == SCRIPT_DEAD) continue;
        p->items[n] = slot;
        blocks[slot].ppos = n++;
    }
    p->head = 0;
    p->tail = n;
}

static void script_pool_unlink(script_pool_t *p, uint32_t slot)
{
    script_block_t *b = &p->c->blocks[slot];
    p->items[b->ppos] = SCRIPT_DEAD;
    p->count--;
    p->bytes -= b->size;
    b->pool = NULL;
    if (p->count == 0) {
        p->head = p->tail = 0;
        return;
    }
    while (p->items[p->head] == SCRIPT_DEAD)
        p->head++;
    while (p->items[p->tail - 1] == SCRIPT_DEAD)
        p->tail--;
    /* Keep about half of the span live so free_random's rejection loop
     * stays short (two tries expected). */
    if (p->tail - p->head > 2 * (uint64_t)p->count + 32) script_pool_compact(p);
}

/* Makes room for one more item at the tail; raises when out of memory,
 * leaving the pool as it was. */
static void script_pool_reserve(lua_State *L, script_pool_t *p)
{
    if (p->tail < p->cap) return;
    if (p->count <= p->cap / 2) {
        script_pool_compact(p);
        if (p->tail < p->cap) return;
    }
    script_grow(L, (void **)&p->items, &p->cap, sizeof *p->items, "pool items");
}

static void script_pool_append(lua_State *L, script_pool_t *p, uint32_t slot)
{
    script_pool_reserve(L, p);
    script_block_t *b = &p->c->blocks[slot];
    p->items[p->tail] = slot;
    b->ppos = p->tail++;
    b->pool = p;
    p->count++;
    p->bytes += b->size;
}

/* ---- blocks ---------------------------------------------------------------- */

static uint32_t script_block_slot(lua_State *L, script_ctx_t *c)
{
    if (c->bfree) {
        uint32_t slot = c->bfree - 1;
        c->bfree = c->blocks[slot].onext;
        return slot;
    }
    if (c->nblocks == c->capblocks)
        script_grow(L, (void **)&c->blocks, &c->capblocks, sizeof *c->blocks, "blocks");
    c->blocks[c->nblocks].gen = 0;
    return c->nblocks++;
}

static void script_owner_unlink(script_ctx_t *c, uint32_t slot)
{
    script_block_t *b = &c->blocks[slot];
    script_arena_t *a = &c->arenas[b->owner - 1];
    if (b->oprev)
        c->blocks[b->oprev - 1].onext = b->onext;
    else
        a->ohead = b->onext;
    if (b->onext)
        c->blocks[b->onext - 1].oprev = b->oprev;
    else
        a->otail = b->oprev;
    a->nowned--;
    b->owner = 0;
}

/* Forgets a block that just died (its event is written by the caller). */
static void script_block_release(script_ctx_t *c, uint32_t slot, int state, uint32_t arena_id)
{
    script_block_t *b = &c->blocks[slot];
    if (b->pool) script_pool_unlink(b->pool, slot);
    if (b->owner && state != SCRIPT_FREED_WITH_ARENA) script_owner_unlink(c, slot);
    c->live_blocks--;
    c->live_bytes -= b->size;
    b->gen++;
    b->state = (uint8_t)state;
    b->dead_arena = arena_id;
    b->owner = 0;
    b->onext = c->bfree;
    c->bfree = slot + 1;
}

/* Creates a block, writes its event and pushes its handle. */
static int script_block_new(lua_State *L, script_ctx_t *c, int op, int domain, uint64_t nmemb,
                            uint64_t esize, uint64_t total)
{
    if (c->next_id > SCRIPT_MAX_ID)
        return luaL_error(L, "%s: more than 2^32 blocks allocated in one trace",
                          op == TRACE_CALLOC ? "calloc" : "alloc");
    uint32_t slot = script_block_slot(L, c);
    uint32_t id = (uint32_t)c->next_id;
    trace_event_t ev = {
        .op = (uint8_t)op, .domain = (uint8_t)domain, .id = id, .size = esize, .nmemb = nmemb};
    if (trace_write(c->w, &ev) < 0) {
        /* Give the slot back so the tables stay consistent. */
        c->blocks[slot].onext = c->bfree;
        c->blocks[slot].state = SCRIPT_FREED;
        c->bfree = slot + 1;
        return luaL_error(L, "cannot write the trace: %s", trace_writer_error(c->w));
    }
    c->events++;
    c->next_id++;
    script_block_t *b = &c->blocks[slot];
    b->size = total;
    b->pool = NULL;
    b->id = id;
    b->owner = b->oprev = b->onext = 0;
    b->domain = (uint8_t)domain;
    b->state = SCRIPT_LIVE;
    c->live_blocks++;
    c->live_bytes += total;
    script_note_live(c);
    script_push_handle(L, SCRIPT_UV_BLOCK, slot, b->gen, id);
    return 1;
}

/* The slot of the live block at IDX, or a Lua error naming FN. */
static uint32_t script_block_arg(lua_State *L, script_ctx_t *c, int idx, const char *fn)
{
    script_handle_t *h = script_checktype(L, idx, SCRIPT_UV_BLOCK, "block");
    if (h->slot < c->nblocks) {
        script_block_t *b = &c->blocks[h->slot];
        if (b->gen == h->gen) return h->slot;
        /* Not reused since it died: say how. */
        if (b->gen == h->gen + 1 && b->state == SCRIPT_FREED_WITH_ARENA)
            luaL_error(L, "%s: block %I was freed with arena %I", fn, (lua_Integer)h->id,
                       (lua_Integer)b->dead_arena);
    }
    luaL_error(L, "%s: block %I was already freed", fn, (lua_Integer)h->id);
    return 0;
}

static void script_block_free(lua_State *L, script_ctx_t *c, uint32_t slot)
{
    script_block_t *b = &c->blocks[slot];
    trace_event_t ev = {.op = TRACE_FREE, .domain = b->domain, .id = b->id};
    script_emit(L, c, &ev);
    script_block_release(c, slot, SCRIPT_FREED, 0);
}

/* alloc(size [, domain]) -> block */
static int script_alloc(lua_State *L)
{
    script_ctx_t *c = script_ctx(L);
    uint64_t size = script_size_arg(L, 1, "alloc", "size");
    int domain = script_domain_arg(L, 2, "alloc");
    return script_block_new(L, c, TRACE_ALLOC, domain, 0, size, size);
}

/* calloc(n, size [, domain]) -> block */
static int script_calloc(lua_State *L)
{
    script_ctx_t *c = script_ctx(L);
    uint64_t n = script_size_arg(L, 1, "calloc", "count");
    uint64_t size = script_size_arg(L, 2, "calloc", "size");
    int domain = script_domain_arg(L, 3, "calloc");
    if (size && n > TRACE_MAX_SIZE / size)
        return luaL_error(L, "calloc: %I x %I bytes is more than 2^48", (lua_Integer)n,
                          (lua_Integer)size);
    return script_block_new(L, c, TRACE_CALLOC, domain, n, size, n * size);
}

/* realloc(block, size) -> block */
static int script_realloc(lua_State *L)
{
    script_ctx_t *c = script_ctx(L);
    uint32_t slot = script_block_arg(L, c, 1, "realloc");
    uint64_t size = script_size_arg(L, 2, "realloc", "size");
    script_block_t *b = &c->blocks[slot];
    trace_event_t ev = {.op = TRACE_REALLOC, .domain = b->domain, .id = b->id, .size = size};
    script_emit(L, c, &ev);
    c->live_bytes = c->live_bytes - b->size + size;
    if (b->pool) b->pool->bytes = b->pool->bytes - b->size + size;
    b->size = size;
    script_note_live(c);
    lua_settop(L, 1);
    return 1;
}

/* free(block) */
static int script_free(lua_State *L)
{
    script_ctx_t *c = script_ctx(L);
    script_block_free(L, c, script_block_arg(L, c, 1, "free"));
    return 0;
}

/* block:size(), block:id(), block:domain(), block:live() */
static int script_block_size(lua_State *L)
{
    script_ctx_t *c = script_ctx(L);
    lua_pushinteger(L, (lua_Integer)c->blocks[script_block_arg(L, c, 1, "block:size")].size);
    return 1;
}

static int script_block_id(lua_State *L)
{
    script_handle_t *h = script_checktype(L, 1, SCRIPT_UV_BLOCK, "block");
    lua_pushinteger(L, h->id);
    return 1;
}

static int script_block_domain(lua_State *L)
{
    script_ctx_t *c = script_ctx(L);
    lua_pushstring(L,
                   trace_domain_name[c->blocks[script_block_arg(L, c, 1, "block:domain")].domain]);
    return 1;
}

static int script_block_is_live(script_ctx_t *c, const script_handle_t *h)
{
    return h->slot < c->nblocks && c->blocks[h->slot].gen == h->gen;
}

static int script_block_live(lua_State *L)
{
    script_ctx_t *c = script_ctx(L);
    lua_pushboolean(L, script_block_is_live(c, script_checktype(L, 1, SCRIPT_UV_BLOCK, "block")));
    return 1;
}

static int script_block_tostring(lua_State *L)
{
    script_ctx_t *c = script_ctx(L);
    script_handle_t *h = script_checktype(L, 1, SCRIPT_UV_BLOCK, "block");
    if (!script_block_is_live(c, h)) {
        lua_pushfstring(L, "block %I (freed)", (lua_Integer)h->id);
        return 1;
    }
    script_block_t *b = &c->blocks[h->slot];
    lua_pushfstring(L, "block %I (%I bytes, %s)", (lua_Integer)h->id, (lua_Integer)b->size,
                    trace_domain_name[b->domain]);
    return 1;
}

/* Two handles are equal when they name the same block (ids are never
 * reused within a run). */
static int script_handle_eq(lua_State *L)
{
    script_handle_t *a = lua_touserdata(L, 1), *b = lua_touserdata(L, 2);
    /* A block and an arena may share an id: same type first. */
    int same = lua_getmetatable(L, 1) && lua_getmetatable(L, 2) && lua_rawequal(L, -1, -2);
    lua_pushboolean(L, same && a->id == b->id && a->slot == b->slot && a->gen == b->gen);
    return 1;
}

/* ---- arenas ----------------------------------------------------------------- */

static uint32_t script_arena_arg(lua_State *L, script_ctx_t *c, int idx, const char *fn)
{
    script_handle_t *h = script_checktype(L, idx, SCRIPT_UV_ARENA, "arena");
    if (h->slot < c->narenas && c->arenas[h->slot].gen == h->gen) return h->slot;
    luaL_error(L, "%s: arena %I was already freed", fn, (lua_Integer)h->id);
    return 0;
}

/* arena() -> arena */
static int script_arena(lua_State *L)
{
    script_ctx_t *c = script_ctx(L);
    if (c->next_aid > SCRIPT_MAX_ID)
        return luaL_error(L, "arena: more than 2^32 arenas created in one trace");
    uint32_t slot;
    if (c->afree) {
        slot = c->afree - 1;
    } else {
        if (c->narenas == c->caparenas)
            script_grow(L, (void **)&c->arenas, &c->caparenas, sizeof *c->arenas, "arenas");
        slot = c->narenas;
        c->arenas[slot].gen = 0;
        c->arenas[slot].nextfree = 0;
    }
    uint32_t id = (uint32_t)c->next_aid;
    trace_event_t ev = {.op = TRACE_ARENA_NEW, .domain = TRACE_MEM, .arena = id};
    script_emit(L, c, &ev);
    if (c->afree)
        c->afree = c->arenas[slot].nextfree;
    else
        c->narenas++;
    c->next_aid++;
    script_arena_t *a = &c->arenas[slot];
    a->bytes = 0;
    a->id = id;
    a->ohead = a->otail = 0;
    a->nowned = 0;
    a->state = SCRIPT_LIVE;
    script_push_handle(L, SCRIPT_UV_ARENA, slot, a->gen, id);
    return 1;
}

/* arena:alloc(size) */
static int script_arena_alloc(lua_State *L)
{
    script_ctx_t *c = script_ctx(L);
    uint32_t slot = script_arena_arg(L, c, 1, "arena:alloc");
    uint64_t size = script_size_arg(L, 2, "arena:alloc", "size");
    script_arena_t *a = &c->arenas[slot];
    trace_event_t ev = {
        .op = TRACE_ARENA_MALLOC, .domain = TRACE_MEM, .arena = a->id, .size = size};
    script_emit(L, c, &ev);
    a->bytes += size;
    c->live_bytes += size;
    script_note_live(c);
    return 0;
}

/* arena:own(block) -> block */
static int script_arena_own(lua_State *L)
{
    script_ctx_t *c = script_ctx(L);
    uint32_t aslot = script_arena_arg(L, c, 1, "arena:own");
    uint32_t slot = script_block_arg(L, c, 2, "arena:own");
    script_arena_t *a = &c->arenas[aslot];
    script_block_t *b = &c->blocks[slot];
    trace_event_t ev = {.op = TRACE_ARENA_OWN, .domain = TRACE_MEM, .arena = a->id, .id = b->id};
    script_emit(L, c, &ev);
    /* Owning again (here or in another arena) moves it to the end of the
     * new owner's list, as the reader does. */
    if (b->owner) script_owner_unlink(c, slot);
    b->owner = aslot + 1;
    b->oprev = a->otail;
    b->onext = 0;
    if (a->otail)
        c->blocks[a->otail - 1].onext = slot + 1;
    else
        a->ohead = slot + 1;
    a->otail = slot + 1;
    a->nowned++;
    lua_settop(L, 2);
    return 1;
}

/* arena:free(): frees the arena, its memory and every block it owns. */
static int script_arena_free(lua_State *L)
{
    script_ctx_t *c = script_ctx(L);
    uint32_t aslot = script_arena_arg(L, c, 1, "arena:free");
    script_arena_t *a = &c->arenas[aslot];
    trace_event_t ev = {.op = TRACE_ARENA_FREE, .domain = TRACE_MEM, .arena = a->id};
    script_emit(L, c, &ev);
    for (uint32_t s = a->ohead; s;) {
        uint32_t next = c->blocks[s - 1].onext; /* release reuses onext */
        script_block_release(c, s - 1, SCRIPT_FREED_WITH_ARENA, a->id);
        s = next;
    }
    c->live_bytes -= a->bytes;
    a->gen++;
    a->state = SCRIPT_FREED;
    a->nextfree = c->afree;
    c->afree = aslot + 1;
    return 0;
}

static int script_arena_bytes(lua_State *L)
{
    script_ctx_t *c = script_ctx(L);
    lua_pushinteger(L, (lua_Integer)c->arenas[script_arena_arg(L, c, 1, "arena:bytes")].bytes);
    return 1;
}

static int script_arena_owned(lua_State *L)
{
    script_ctx_t *c = script_ctx(L);
    lua_pushinteger(L, c->arenas[script_arena_arg(L, c, 1, "arena:owned")].nowned);
    return 1;
}

static int script_arena_id(lua_State *L)
{
    script_handle_t *h = script_checktype(L, 1, SCRIPT_UV_ARENA, "arena");
    lua_pushinteger(L, h->id);
    return 1;
}

static int script_arena_live(lua_State *L)
{
    script_ctx_t *c = script_ctx(L);
    script_handle_t *h = script_checktype(L, 1, SCRIPT_UV_ARENA, "arena");
    lua_pushboolean(L, h->slot < c->narenas && c->arenas[h->slot].gen == h->gen);
    return 1;
}

static int script_arena_tostring(lua_State *L)
{
    script_ctx_t *c = script_ctx(L);
    script_handle_t *h = script_checktype(L, 1, SCRIPT_UV_ARENA, "arena");
    if (h->slot < c->narenas && c->arenas[h->slot].gen == h->gen) {
        script_arena_t *a = &c->arenas[h->slot];
        lua_pushfstring(L, "arena %I (%I bytes, %I owned blocks)", (lua_Integer)h->id,
                        (lua_Integer)a->bytes, (lua_Integer)a->nowned);
    } else {
        lua_pushfstring(L, "arena %I (freed)", (lua_Integer)h->id);
    }
    return 1;
}

/* ---- pools: the script API ------------------------------------------------- */

static script_pool_t *script_pool_self(lua_State *L)
{
    return script_checktype(L, 1, SCRIPT_UV_POOL, "pool");
}

/* pool() -> pool */
static int script_pool(lua_State *L)
{
    script_pool_t *p = lua_newuserdatauv(L, sizeof *p, 0);
    memset(p, 0, sizeof *p);
    p->c = script_ctx(L);
    lua_pushvalue(L, SCRIPT_UV_POOL);
    lua_setmetatable(L, -2);
    return 1;
}

static void script_push_block(lua_State *L, script_ctx_t *c, uint32_t slot)
{
    script_push_handle(L, SCRIPT_UV_BLOCK, slot, c->blocks[slot].gen, c->blocks[slot].id);
}

/* pool:add(block) -> block: appends as the newest, moving it from any pool. */
static int script_pool_add(lua_State *L)
{
    script_pool_t *p = script_pool_self(L);
    uint32_t slot = script_block_arg(L, p->c, 2, "pool:add");
    script_block_t *b = &p->c->blocks[slot];
    script_pool_reserve(L, p); /* before unlinking: an error leaves it as it was */
    if (b->pool) script_pool_unlink(b->pool, slot);
    script_pool_append(L, p, slot);
    lua_settop(L, 2);
    return 1;
}

/* The slot of the block at IDX, which must be in pool P. */
static uint32_t script_pool_member(lua_State *L, script_pool_t *p, int idx, const char *fn)
{
    uint32_t slot = script_block_arg(L, p->c, idx, fn);
    if (p->c->blocks[slot].pool != p)
        luaL_error(L, "%s: block %I is not in this pool", fn, (lua_Integer)p->c->blocks[slot].id);
    return slot;
}

/* pool:touch(block) -> block: makes it the newest (LRU use). */
static int script_pool_touch(lua_State *L)
{
    script_pool_t *p = script_pool_self(L);
    uint32_t slot = script_pool_member(L, p, 2, "pool:touch");
    if (p->items[p->tail - 1] != slot) {
        script_pool_reserve(L, p); /* before unlinking: an error leaves it pooled */
        script_pool_unlink(p, slot);
        script_pool_append(L, p, slot);
    }
    lua_settop(L, 2);
    return 1;
}

/* pool:remove(block) -> block: takes it out without freeing it. */
static int script_pool_remove(lua_State *L)
{
    script_pool_t *p = script_pool_self(L);
    script_pool_unlink(p, script_pool_member(L, p, 2, "pool:remove"));
    lua_settop(L, 2);
    return 1;
}

static uint32_t script_pool_random_slot(script_pool_t *p)
{
    for (;;) {
        uint32_t i = p->head + (uint32_t)rng_below(&p->c->rng, p->tail - p->head);
        if (p->items[i] != SCRIPT_DEAD) return p->items[i];
    }
}

enum { SCRIPT_PICK_OLDEST, SCRIPT_PICK_NEWEST, SCRIPT_PICK_RANDOM };

static uint32_t script_pool_pick(script_pool_t *p, int which)
{
    if (which == SCRIPT_PICK_OLDEST) return p->items[p->head];
    if (which == SCRIPT_PICK_NEWEST) return p->items[p->tail - 1];
    return script_pool_random_slot(p);
}

/* pool:free_oldest() etc. -> size of the freed block, or nil when empty. */
static int script_pool_free_pick(lua_State *L, int which)
{
    script_pool_t *p = script_pool_self(L);
    if (!p->count) {
        lua_pushnil(L);
        return 1;
    }
    uint32_t slot = script_pool_pick(p, which);
    lua_pushinteger(L, (lua_Integer)p->c->blocks[slot].size);
    script_block_free(L, p->c, slot);
    return 1;
}

static int script_pool_free_oldest(lua_State *L)
{
    return script_pool_free_pick(L, SCRIPT_PICK_OLDEST);
}

static int script_pool_free_newest(lua_State *L)
{
    return script_pool_free_pick(L, SCRIPT_PICK_NEWEST);
}

static int script_pool_free_random(lua_State *L)
{
    return script_pool_free_pick(L, SCRIPT_PICK_RANDOM);
}

/* pool:oldest() etc. -> block (still pooled and live), or nil when empty. */
static int script_pool_get(lua_State *L, int which)
{
    script_pool_t *p = script_pool_self(L);
    if (!p->count)
        lua_pushnil(L);
    else
        script_push_block(L, p->c, script_pool_pick(p, which));
    return 1;
}

static int script_pool_oldest(lua_State *L)
{
    return script_pool_get(L, SCRIPT_PICK_OLDEST);
}

static int script_pool_newest(lua_State *L)
{
    return script_pool_get(L, SCRIPT_PICK_NEWEST);
}

static int script_pool_random(lua_State *L)
{
    return script_pool_get(L, SCRIPT_PICK_RANDOM);
}

/* pool:free_all() -> number of blocks freed, oldest first. */
static int script_pool_free_all(lua_State *L)
{
    script_pool_t *p = script_pool_self(L);
    lua_Integer n = 0;
    while (p->count) {
        script_block_free(L, p->c, p->items[p->head]);
        n++;
    }
    lua_pushinteger(L, n);
    return 1;
}

static int script_pool_size(lua_State *L)
{
    lua_pushinteger(L, script_pool_self(L)->count);
    return 1;
}

static int script_pool_bytes(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)script_pool_self(L)->bytes);
    return 1;
}

static int script_pool_tostring(lua_State *L)
{
    script_pool_t *p = script_pool_self(L);
    lua_pushfstring(L, "pool (%I blocks, %I bytes)", (lua_Integer)p->count, (lua_Integer)p->bytes);
    return 1;
}

/* Collected: its blocks stay live and forget it. */
static int script_pool_gc(lua_State *L)
{
    script_pool_t *p = lua_touserdata(L, 1);
    for (uint32_t i = p->head; i < p->tail; i++)
        if (p->items[i] != SCRIPT_DEAD) p->c->blocks[p->items[i]].pool = NULL;
    free(p->items);
    memset(p, 0, sizeof *p);
    return 0;
}

/* ---- distributions ---------------------------------------------------------- */

static double script_num_arg(lua_State *L, int idx, const char *fn, const char *what)
{
    if (lua_type(L, idx) != LUA_TNUMBER)
        luaL_error(L, "%s: bad %s (number expected, got %s)", fn, what, luaL_typename(L, idx));
    double d = lua_tonumber(L, idx);
    if (!isfinite(d)) luaL_error(L, "%s: bad %s (not finite)", fn, what);
    return d;
}

/* uniform() -> [0,1); uniform(a, b) -> integer in [a, b] when both are
 * integers, else a float in [a, b). */
static int script_uniform(lua_State *L)
{
    script_ctx_t *c = script_ctx(L);
    if (lua_gettop(L) == 0) {
        lua_pushnumber(L, rng_double(&c->rng));
        return 1;
    }
    if (lua_isinteger(L, 1) && lua_isinteger(L, 2)) {
        lua_Integer a = lua_tointeger(L, 1), b = lua_tointeger(L, 2);
        if (a > b) return luaL_error(L, "uniform: empty range [%I, %I]", a, b);
        lua_pushinteger(L, rng_range(&c->rng, a, b));
        return 1;
    }
    double a = script_num_arg(L, 1, "uniform", "lower bound");
    double b = script_num_arg(L, 2, "uniform", "upper bound");
    if (a > b) return luaL_error(L, "uniform: empty range [%f, %f]", a, b);
    lua_pushnumber(L, a + (b - a) * rng_double(&c->rng));
    return 1;
}

static int script_exponential(lua_State *L)
{
    double mean = script_num_arg(L, 1, "exponential", "mean");
    if (!(mean > 0)) return luaL_error(L, "exponential: mean must be positive");
    lua_pushnumber(L, rng_exponential(&script_ctx(L)->rng, mean));
    return 1;
}

static int script_geometric(lua_State *L)
{
    double p = script_num_arg(L, 1, "geometric", "probability");
    if (!(p > 0 && p <= 1)) return luaL_error(L, "geometric: probability must be in (0, 1]");
    lua_pushinteger(L, (lua_Integer)rng_geometric(&script_ctx(L)->rng, p));
    return 1;
}

static int script_normal_common(lua_State *L, const char *fn, int log_normal)
{
    double mu = script_num_arg(L, 1, fn, "mu");
    double sigma = script_num_arg(L, 2, fn, "sigma");
    if (sigma < 0) return luaL_error(L, "%s: sigma must not be negative", fn);
    rng_t *r = &script_ctx(L)->rng;
    lua_pushnumber(L, log_normal ? rng_lognormal(r, mu, sigma) : rng_normal(r, mu, sigma));
    return 1;
}

static int script_normal(lua_State *L)
{
    return script_normal_common(L, "normal", 0);
}

static int script_lognormal(lua_State *L)
{
    return script_normal_common(L, "lognormal", 1);
}

/* zipf(n [, s]) -> integer in 1..n, P(k) ~ k^-s (s defaults to 1). */
static int script_zipf(lua_State *L)
{
    script_ctx_t *c = script_ctx(L);
    if (!lua_isinteger(L, 1) || lua_tointeger(L, 1) < 1)
        return luaL_error(L, "zipf: n must be an integer >= 1");
    uint64_t n = (uint64_t)lua_tointeger(L, 1);
    double s = lua_isnoneornil(L, 2) ? 1.0 : script_num_arg(L, 2, "zipf", "exponent");
    if (!c->zipf_ok || c->zipf.n != n || c->zipf.s != s) {
        c->zipf_ok = 0;
        if (rng_zipf_init(&c->zipf, n, s) < 0)
            return luaL_error(L, "zipf: exponent must be in [0, 100]");
        c->zipf_ok = 1;
    }
    lua_pushinteger(L, (lua_Integer)rng_zipf(&c->rng, &c->zipf));
    return 1;
}

/* Weight I (1-based) of the table at IDX: t[i] or, in the pair form,
 * t[i][2]. */
static double script_weight(lua_State *L, int idx, lua_Integer i, int pairs, const char *fn)
{
    double w;
    if (pairs) {
        if (lua_rawgeti(L, idx, i) != LUA_TTABLE)
            luaL_error(L, "%s: entry %I is not a {value, weight} pair", fn, i);
        lua_rawgeti(L, -1, 2);
        w = lua_tonumber(L, -1);
        int ok = lua_type(L, -1) == LUA_TNUMBER;
        lua_pop(L, 2);
        if (!ok) luaL_error(L, "%s: entry %I has no numeric weight", fn, i);
    } else {
        lua_rawgeti(L, idx, i);
        w = lua_tonumber(L, -1);
        int ok = lua_type(L, -1) == LUA_TNUMBER;
        lua_pop(L, 1);
        if (!ok) luaL_error(L, "%s: weight %I is not a number", fn, i);
    }
    if (!(w >= 0) || !isfinite(w)) luaL_error(L, "%s: weight %I is negative or not finite", fn, i);
    return w;
}

/* Entries of the choice table at IDX (>= 1) and whether it is the pair form. */
static lua_Integer script_choices(lua_State *L, int idx, const char *fn, int *pairs)
{
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    if (n < 1) luaL_error(L, "%s: empty table", fn);
    *pairs = lua_rawgeti(L, idx, 1) == LUA_TTABLE;
    lua_pop(L, 1);
    return n;
}

/* choice({w1, w2, ...}) -> index; choice({{v1, w1}, {v2, w2}, ...}) -> value.
 * One draw; linear in the table (build a chooser() for big tables). */
static int script_choice(lua_State *L)
{
    script_ctx_t *c = script_ctx(L);
    int pairs;
    lua_Integer n = script_choices(L, 1, "choice", &pairs);
    double sum = 0;
    for (lua_Integer i = 1; i <= n; i++)
        sum += script_weight(L, 1, i, pairs, "choice");
    if (!(sum > 0) || !isfinite(sum)) return luaL_error(L, "choice: the weights sum to zero");
    double u = rng_double(&c->rng) * sum;
    lua_Integer pick = 0;
    for (lua_Integer i = 1; i <= n; i++) {
        double w = script_weight(L, 1, i, pairs, "choice");
        if (w > 0) pick = i; /* rounding can leave u past the end: keep the last */
        if (u < w) break;
        u -= w;
    }
    if (!pairs) {
        lua_pushinteger(L, pick);
        return 1;
    }
    lua_rawgeti(L, 1, pick);
    lua_rawgeti(L, -1, 1);
    return 1;
}

static script_sampler_t *script_sampler_new(lua_State *L)
{
    script_sampler_t *s = lua_newuserdatauv(L, sizeof *s, 1);
    memset(s, 0, sizeof *s);
    lua_pushvalue(L, SCRIPT_UV_SAMPLER);
    lua_setmetatable(L, -2);
    return s;
}

/* chooser(t) -> sampler: choice(t) precomputed, O(log n) per call. */
static int script_chooser(lua_State *L)
{
    int pairs;
    lua_Integer n = script_choices(L, 1, "chooser", &pairs);
    if ((uint64_t)n > SIZE_MAX / sizeof(double)) return luaL_error(L, "chooser: table too large");
    /* Scratch weights in a userdata: a Lua error cannot leak them. */
    double *w = lua_newuserdatauv(L, (size_t)n * sizeof(double), 0);
    for (lua_Integer i = 1; i <= n; i++)
        w[i - 1] = script_weight(L, 1, i, pairs, "chooser");
    script_sampler_t *s = script_sampler_new(L);
    int rc = rng_table_init(&s->t, w, (size_t)n);
    if (rc == -2) return luaL_error(L, "chooser: out of memory");
    if (rc < 0) return luaL_error(L, "chooser: the weights sum to zero");
    if (pairs) {
        lua_createtable(L, (int)(n < INT32_MAX ? n : 0), 0);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, 1, i);
            lua_rawgeti(L, -1, 1);
            lua_rawseti(L, -3, i);
            lua_pop(L, 1);
        }
        lua_setiuservalue(L, -2, 1);
        s->values = 1;
    }
    return 1;
}

static int script_sampler_call(lua_State *L)
{
    script_ctx_t *c = script_ctx(L);
    script_sampler_t *s = script_checktype(L, 1, SCRIPT_UV_SAMPLER, "sampler");
    if (!s->t.n) return luaL_error(L, "sampler: not initialised");
    size_t k = rng_table_pick(&c->rng, &s->t);
    if (s->ints) {
        lua_pushinteger(L, s->ints[k]);
    } else if (s->values) {
        if (lua_getiuservalue(L, 1, 1) != LUA_TTABLE)
            return luaL_error(L, "sampler: lost its values");
        lua_rawgeti(L, -1, (lua_Integer)k + 1);
    } else {
        lua_pushinteger(L, (lua_Integer)k + 1);
    }
    return 1;
}

static int script_sampler_gc(lua_State *L)
{
    script_sampler_t *s = lua_touserdata(L, 1);
    rng_table_free(&s->t);
    free(s->ints);
    s->ints = NULL;
    return 0;
}

/* ---- sizes_from: an empirical size distribution ------------------------------ */

/* Size -> count, open addressing; keys are size + 1 so 0 marks a free cell. */
typedef struct {
    uint64_t *keys;
    uint64_t *counts;
    size_t cap; /* a power of two */
    size_t n;
} script_hist_t;

static size_t script_hist_cell(const script_hist_t *h, uint64_t key)
{
    size_t i = (size_t)((key * 0x9e3779b97f4a7c15u) >> 32) & (h->cap - 1);
    while (h->keys[i] && h->keys[i] != key)
        i = (i + 1) & (h->cap - 1);
    return i;
}

/* Returns 0, or -1 when out of memory. */
static int script_hist_add(script_hist_t *h, uint64_t size)
{
    if (2 * (h->n + 1) > h->cap) {
        size_t ncap = h->cap ? 2 * h->cap : 256;
        if (ncap > SIZE_MAX / sizeof(uint64_t) / 2) return -1;
        script_hist_t g = {calloc(ncap, sizeof(uint64_t)), calloc(ncap, sizeof(uint64_t)), ncap,
                           h->n};
        if (!g.keys || !g.counts) {
            free(g.keys);
            free(g.counts);
            return -1;
        }
        for (size_t i = 0; i < h->cap; i++)
            if (h->keys[i]) {
                size_t j = script_hist_cell(&g, h->keys[i]);
                g.keys[j] = h->keys[i];
                g.counts[j] = h->counts[i];
            }
        free(h->keys);
        free(h->counts);
        *h = g;
    }
    size_t i = script_hist_cell(h, size + 1);
    if (!h->keys[i]) {
        h->keys[i] = size + 1;
        h->n++;
    }
    h->counts[i]++;
    return 0;
}

static int script_cmp_u64pair(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Fills S from the request sizes of the trace at PATH: a and m sizes, and
 * NMEMB*SIZE of c.  Plain C with no Lua error inside, so everything it
 * holds is released before the caller raises.  Returns 0 or -1 with ERR. */
static int script_sizes_load(const char *path, script_sampler_t *s, char *err, size_t errlen)
{
    trace_reader_t *r;
    if (trace_open(&r, path, err, errlen) < 0) return -1;
    script_hist_t h = {0};
    trace_event_t ev;
    int rc, bad = 0;
    while ((rc = trace_next(r, &ev)) > 0) {
        uint64_t size;
        if (ev.op == TRACE_ALLOC || ev.op == TRACE_ARENA_MALLOC) {
            size = ev.size;
        } else if (ev.op == TRACE_CALLOC) {
            if (ev.size && ev.nmemb > TRACE_MAX_SIZE / ev.size) {
                snprintf(err, errlen, "%s: event %" PRIu64 ": calloc of more than 2^48 bytes", path,
                         ev.where);
                bad = 1;
                break;
            }
            size = ev.nmemb * ev.size;
        } else {
            continue;
        }
        if (script_hist_add(&h, size) < 0) {
            snprintf(err, errlen, "%s: out of memory", path);
            bad = 1;
            break;
        }
    }
    if (rc < 0 && !bad) {
        snprintf(err, errlen, "%s", trace_error(r));
        bad = 1;
    }
    trace_close(r);
    if (!bad && h.n == 0) {
        snprintf(err, errlen, "%s: no allocation to take sizes from", path);
        bad = 1;
    }
    uint64_t *pairs = NULL;
    double *w = NULL;
    if (!bad) {
        pairs = malloc(h.n * 2 * sizeof *pairs);
        w = malloc(h.n * sizeof *w);
        s->ints = malloc(h.n * sizeof *s->ints);
        if (!pairs || !w || !s->ints) {
            snprintf(err, errlen, "%s: out of memory", path);
            bad = 1;
        }
    }
    if (!bad) {
        size_t n = 0;
        for (size_t i = 0; i < h.cap; i++)
            if (h.keys[i]) {
                pairs[2 * n] = h.keys[i] - 1;
                pairs[2 * n + 1] = h.counts[i];
                n++;
            }
        /* Sorted by size so the sampler does not depend on hash order. */
        qsort(pairs, n, 2 * sizeof *pairs, script_cmp_u64pair);
        for (size_t i = 0; i < n; i++) {
            s->ints[i] = (int64_t)pairs[2 * i];
            w[i] = (double)pairs[2 * i + 1];
        }
        if (rng_table_init(&s->t, w, n) < 0) {
            snprintf(err, errlen, "%s: out of memory", path);
            bad = 1;
        }
    }
    free(pairs);
    free(w);
    free(h.keys);
    free(h.counts);
    return bad ? -1 : 0;
}

/* sizes_from(path) -> sampler of the trace's request sizes. */
static int script_sizes_from(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    script_sampler_t *s = script_sampler_new(L);
    char err[512];
    if (script_sizes_load(path, s, err, sizeof err) < 0)
        return luaL_error(L, "sizes_from: %s", err);
    return 1;
}

/* ---- structure: markers, parameters, counters ------------------------------- */

/* What the trace metadata admits (sim/trace.h): a key is 1-255 printable
 * characters without blanks; a value at most 65535 characters, no control
 * characters but tabs, no leading or trailing blanks. */
static int script_key_ok(const char *k, size_t n)
{
    if (n == 0 || n > 255) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)k[i] <= ' ' || k[i] == 0x7f) return 0;
    return 1;
}

static int script_value_ok(const char *v, size_t n)
{
    if (n > 65535) return 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)v[i] < ' ' && v[i] != '\t') || v[i] == 0x7f) return 0;
    return n == 0 || (v[0] != ' ' && v[0] != '\t' && v[n - 1] != ' ' && v[n - 1] != '\t');
}

static void script_check_marker(lua_State *L, const char *fn, const char *key, size_t klen,
                                const char *value, size_t vlen)
{
    if (key && !script_key_ok(key, klen))
        luaL_error(L, "%s: bad key '%s' (1-255 printable characters, no blanks)", fn, key);
    if (!vlen || !script_value_ok(value, vlen))
        luaL_error(L,
                   "%s: bad value '%s' (one line of text, no control characters, no "
                   "leading or trailing blanks)",
                   fn, value);
}

static void script_marker_write(lua_State *L, script_ctx_t *c, const char *key, const char *value)
{
    if (trace_write_marker(c->w, key, value) < 0)
        luaL_error(L, "cannot write the trace: %s", trace_writer_error(c->w));
    c->markers++;
}

/* phase(name): a "phase" marker at this point of the trace. */
static int script_phase(lua_State *L)
{
    size_t len;
    const char *name = luaL_checklstring(L, 1, &len);
    script_check_marker(L, "phase", NULL, 0, name, len);
    script_marker_write(L, script_ctx(L), "phase", name);
    return 0;
}

/* marker(key, value): any inline marker. */
static int script_marker(lua_State *L)
{
    size_t klen, vlen;
    const char *key = luaL_checklstring(L, 1, &klen);
    const char *value = luaL_checklstring(L, 2, &vlen);
    script_check_marker(L, "marker", key, klen, value, vlen);
    script_marker_write(L, script_ctx(L), key, value);
    return 0;
}

/* "64K" -> 65536 (K, M, G: powers of 1024, as allocator specs); pushes the
 * number and returns 1, or returns 0 when TEXT is not a number. */
static int script_push_number(lua_State *L, const char *text)
{
    size_t len = strlen(text);
    int shift = 0;
    if (len > 1) {
        switch (text[len - 1]) {
        case 'k':
        case 'K':
            shift = 10;
            break;
        case 'm':
        case 'M':
            shift = 20;
            break;
        case 'g':
        case 'G':
            shift = 30;
            break;
        default:
            break;
        }
    }
    if (!shift) return lua_stringtonumber(L, text) != 0;
    lua_pushlstring(L, text, len - 1);
    int ok = lua_stringtonumber(L, lua_tostring(L, -1)) != 0;
    lua_remove(L, ok ? -2 : -1);
    if (!ok) return 0;
    if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 0 &&
        lua_tointeger(L, -1) <= (LUA_MAXINTEGER >> shift)) {
        lua_Integer v = lua_tointeger(L, -1) << shift;
        lua_pop(L, 1);
        lua_pushinteger(L, v);
    } else {
        lua_Number v = lua_tonumber(L, -1) * (lua_Number)((lua_Integer)1 << shift);
        lua_pop(L, 1);
        lua_pushnumber(L, v);
    }
    return 1;
}

/* param(name [, default]) -> the -D value (a number when it reads as one,
 * converted to the default's type) or the default. */
static int script_param(lua_State *L)
{
    script_ctx_t *c = script_ctx(L);
    const char *name = luaL_checkstring(L, 1);
    const char *value = NULL;
    for (size_t i = 0; i < c->ndefs; i++)
        if (!strcmp(c->defs[i].key, name)) {
            value = c->defs[i].value; /* the last one wins */
            c->used[i] = 1;
        }
    int dtype = lua_type(L, 2);
    if (!value) {
        lua_settop(L, 2);
        return 1;
    }
    if (dtype == LUA_TBOOLEAN) {
        static const char *const yes[] = {"1", "true", "yes", "on", NULL};
        static const char *const no[] = {"0", "false", "no", "off", NULL};
        for (int i = 0; yes[i]; i++)
            if (!strcmp(value, yes[i]) || !strcmp(value, no[i])) {
                lua_pushboolean(L, !strcmp(value, yes[i]));
                return 1;
            }
        return luaL_error(L, "param: -D %s=%s: expected true or false", name, value);
    }
    if (dtype == LUA_TSTRING) {
        lua_pushstring(L, value);
        return 1;
    }
    if (!script_push_number(L, value)) {
        if (dtype == LUA_TNUMBER)
            return luaL_error(L, "param: -D %s=%s: expected a number", name, value);
        lua_pushstring(L, value);
        return 1;
    }
    if (dtype == LUA_TNUMBER && lua_isinteger(L, 2) && !lua_isinteger(L, -1)) {
        lua_Number d = lua_tonumber(L, -1);
        if (d != floor(d) || !(d >= (lua_Number)LUA_MININTEGER && d < -(lua_Number)LUA_MININTEGER))
            return luaL_error(L, "param: -D %s=%s: expected an integer", name, value);
        lua_pushinteger(L, (lua_Integer)d);
    }
    return 1;
}

/* events() -> events written so far. */
static int script_events(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)script_ctx(L)->events);
    return 1;
}

/* live() -> live blocks, live bytes (blocks and arena memory). */
static int script_live(lua_State *L)
{
    script_ctx_t *c = script_ctx(L);
    lua_pushinteger(L, (lua_Integer)c->live_blocks);
    lua_pushinteger(L, (lua_Integer)c->live_bytes);
    return 2;
}

/* seed() -> the run's seed (--seed). */
static int script_seed(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)script_ctx(L)->seed);
    return 1;
}

/* print(...): as Lua's, but to the diagnostic stream, so a trace written to
 * standard output stays clean. */
static int script_print(lua_State *L)
{
    FILE *out = script_ctx(L)->diag;
    int n = lua_gettop(L);
    for (int i = 1; i <= n; i++) {
        size_t len;
        const char *s = luaL_tolstring(L, i, &len);
        if (i > 1) fputc('\t', out);
        fwrite(s, 1, len, out);
        lua_pop(L, 1);
    }
    fputc('\n', out);
    fflush(out);
    return 0;
}

/* math.random([m [, n]]): Lua 5.4's contract on the seeded generator. */
static int script_math_random(lua_State *L)
{
    rng_t *r = &script_ctx(L)->rng;
    lua_Integer lo, hi;
    switch (lua_gettop(L)) {
    case 0:
        lua_pushnumber(L, rng_double(r));
        return 1;
    case 1:
        lo = 1;
        hi = luaL_checkinteger(L, 1);
        if (hi == 0) {
            lua_pushinteger(L, (lua_Integer)rng_next(r));
            return 1;
        }
        break;
    case 2:
        lo = luaL_checkinteger(L, 1);
        hi = luaL_checkinteger(L, 2);
        break;
    default:
        return luaL_error(L, "wrong number of arguments");
    }
    luaL_argcheck(L, lo <= hi, lua_gettop(L), "interval is empty");
    lua_pushinteger(L, rng_range(r, lo, hi));
    return 1;
}

/* math.randomseed([x]): restarts the generator from X (default: --seed). */
static int script_math_randomseed(lua_State *L)
{
    script_ctx_t *c = script_ctx(L);
    lua_Integer x = lua_isnoneornil(L, 1) ? (lua_Integer)c->seed : luaL_checkinteger(L, 1);
    rng_seed(&c->rng, (uint64_t)x);
    return 0;
}

/* ---- the Lua state ----------------------------------------------------------- */

static const luaL_Reg script_api[] = {
    {"alloc", script_alloc},
    {"calloc", script_calloc},
    {"realloc", script_realloc},
    {"free", script_free},
    {"arena", script_arena},
    {"pool", script_pool},
    {"uniform", script_uniform},
    {"exponential", script_exponential},
    {"geometric", script_geometric},
    {"normal", script_normal},
    {"lognormal", script_lognormal},
    {"zipf", script_zipf},
    {"choice", script_choice},
    {"chooser", script_chooser},
    {"sizes_from", script_sizes_from},
    {"phase", script_phase},
    {"marker", script_marker},
    {"param", script_param},
    {"events", script_events},
    {"live", script_live},
    {"seed", script_seed},
    {"print", script_print},
    {NULL, NULL},
};

static const luaL_Reg script_math_api[] = {
    {"random", script_math_random},
    {"randomseed", script_math_randomseed},
    {NULL, NULL},
};

/* Per type: methods (reached through __index) and metamethods, kept apart
 * so a script cannot call __gc by hand. */
typedef struct {
    const char *name;
    const luaL_Reg *methods;
    const luaL_Reg *meta;
} script_type_t;

static const luaL_Reg script_block_methods[] = {
    {"size", script_block_size},
    {"id", script_block_id},
    {"domain", script_block_domain},
    {"live", script_block_live},
    {NULL, NULL},
};
static const luaL_Reg script_block_meta[] = {
    {"__tostring", script_block_tostring},
    {"__eq", script_handle_eq},
    {NULL, NULL},
};
static const luaL_Reg script_arena_methods[] = {
    {"alloc", script_arena_alloc}, {"own", script_arena_own},
    {"free", script_arena_free},   {"bytes", script_arena_bytes},
    {"owned", script_arena_owned}, {"id", script_arena_id},
    {"live", script_arena_live},   {NULL, NULL},
};
static const luaL_Reg script_arena_meta[] = {
    {"__tostring", script_arena_tostring},
    {"__eq", script_handle_eq},
    {NULL, NULL},
};
static const luaL_Reg script_pool_methods[] = {
    {"add", script_pool_add},
    {"touch", script_pool_touch},
    {"remove", script_pool_remove},
    {"free_random", script_pool_free_random},
    {"free_oldest", script_pool_free_oldest},
    {"free_newest", script_pool_free_newest},
    {"free_all", script_pool_free_all},
    {"random", script_pool_random},
    {"oldest", script_pool_oldest},
    {"newest", script_pool_newest},
    {"size", script_pool_size},
    {"bytes", script_pool_bytes},
    {NULL, NULL},
};
static const luaL_Reg script_pool_meta[] = {
    {"__len", script_pool_size},
    {"__tostring", script_pool_tostring},
    {"__gc", script_pool_gc},
    {NULL, NULL},
};
static const luaL_Reg script_sampler_meta[] = {
    {"__call", script_sampler_call},
    {"__gc", script_sampler_gc},
    {NULL, NULL},
};

/* In upvalue order (SCRIPT_UV_BLOCK ...). */
static const script_type_t script_types[] = {
    {"block", script_block_methods, script_block_meta},
    {"arena", script_arena_methods, script_arena_meta},
    {"pool", script_pool_methods, script_pool_meta},
    {"sampler", NULL, script_sampler_meta},
};
#define SCRIPT_NTYPES (sizeof script_types / sizeof script_types[0])
_Static_assert(SCRIPT_NTYPES == SCRIPT_NUV, "one upvalue per userdata type");

/* Plain-Lua helpers over the C API (wrk keeps its defaults in a Lua file
 * the same way).  Errors they raise point at the caller (level 2). */
static const char script_prelude[] =
    "function round(x)\n"
    "  if type(x) ~= 'number' then error('round: number expected', 2) end\n"
    "  return math.floor(x + 0.5)\n"
    "end\n"
    "function clamp(x, lo, hi)\n"
    "  if x < lo then return lo elseif x > hi then return hi end\n"
    "  return x\n"
    "end\n"
    "-- pairs() in sorted key order: pairs() itself depends on addresses and\n"
    "-- on Lua's per-run string hash seed, so it must not drive a workload.\n"
    "function spairs(t)\n"
    "  local keys = {}\n"
    "  for k in pairs(t) do\n"
    "    local kt = type(k)\n"
    "    if kt ~= 'number' and kt ~= 'string' then\n"
    "      error('spairs: keys must be numbers or strings', 2)\n"
    "    end\n"
    "    keys[#keys + 1] = k\n"
    "  end\n"
    "  table.sort(keys, function(a, b)\n"
    "    local ta, tb = type(a), type(b)\n"
    "    if ta ~= tb then return ta == 'number' end\n"
    "    return a < b\n"
    "  end)\n"
    "  local i = 0\n"
    "  return function()\n"
    "    i = i + 1\n"
    "    local k = keys[i]\n"
    "    if k ~= nil then return k, t[k] end\n"
    "  end\n"
    "end\n"
    "-- Text chunks only: precompiled bytecode is not verified and can crash\n"
    "-- the interpreter; C modules could do anything.\n"
    "do\n"
    "  local rawload, rawloadfile, select = load, loadfile, select\n"
    "  local searchpath, package = package.searchpath, package\n"
    "  function load(chunk, name, mode, ...)\n"
    "    if select('#', ...) > 0 then return rawload(chunk, name, 't', ...) end\n"
    "    return rawload(chunk, name, 't')\n"
    "  end\n"
    "  function loadfile(file, mode, ...)\n"
    "    if select('#', ...) > 0 then return rawloadfile(file, 't', ...) end\n"
    "    return rawloadfile(file, 't')\n"
    "  end\n"
    "  function dofile(file)\n"
    "    local f, err = rawloadfile(file, 't')\n"
    "    if not f then error(err, 2) end\n"
    "    return f()\n"
    "  end\n"
    "  package.cpath = ''\n"
    "  package.loadlib = nil\n"
    "  package.searchers = {package.searchers[1], function(name)\n"
    "    local path, err = searchpath(name, package.path)\n"
    "    if not path then return err end\n"
    "    local f, lerr = rawloadfile(path, 't')\n"
    "    if not f then error(lerr, 3) end\n"
    "    return f, path\n"
    "  end}\n"
    "end\n";

static void script_push_upvalues(lua_State *L, int first_mt)
{
    for (size_t i = 0; i < SCRIPT_NTYPES; i++)
        lua_pushvalue(L, first_mt + (int)i);
}

/* Builds the script environment (run under lua_pcall: it allocates). */
static int script_setup(lua_State *L)
{
    script_ctx_t *c = lua_touserdata(L, 1);
    _Static_assert(LUA_EXTRASPACE >= sizeof c, "the context pointer fits the extra space");
    *(script_ctx_t **)lua_getextraspace(L) = c;
    luaL_openlibs(L);
    /* No debug library: it can swap metatables and user values behind the
     * C code's back.  Tracebacks use the C API and need none of it. */
    lua_pushnil(L);
    lua_setglobal(L, "debug");

    int first_mt = lua_gettop(L) + 1;
    for (size_t i = 0; i < SCRIPT_NTYPES; i++)
        lua_newtable(L);
    for (size_t i = 0; i < SCRIPT_NTYPES; i++) {
        const script_type_t *t = &script_types[i];
        int mt = first_mt + (int)i;
        lua_pushvalue(L, mt);
        script_push_upvalues(L, first_mt);
        luaL_setfuncs(L, t->meta, SCRIPT_NUV);
        if (t->methods) {
            lua_newtable(L);
            script_push_upvalues(L, first_mt);
            luaL_setfuncs(L, t->methods, SCRIPT_NUV);
            lua_setfield(L, -2, "__index");
        }
        lua_pushstring(L, t->name);
        lua_setfield(L, -2, "__name");
        lua_pushboolean(L, 0); /* getmetatable() answers false */
        lua_setfield(L, -2, "__metatable");
        lua_pop(L, 1);
    }
    lua_pushglobaltable(L);
    script_push_upvalues(L, first_mt);
    luaL_setfuncs(L, script_api, SCRIPT_NUV);
    lua_pop(L, 1);
    lua_getglobal(L, "math");
    script_push_upvalues(L, first_mt);
    luaL_setfuncs(L, script_math_api, SCRIPT_NUV);
    lua_pop(L, 1);

    if (luaL_loadbuffer(L, script_prelude, sizeof script_prelude - 1, "=[arenalab]") != LUA_OK)
        return lua_error(L);
    lua_call(L, 0, 0);
    /* Handles are short-lived: the generational collector reclaims them in
     * the young generation at a fraction of the incremental cost. */
    lua_gc(L, LUA_GCGEN, 0, 0);
    return 0;
}

/* Message handler: the error message plus a stack traceback. */
static int script_msgh(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* ---- running a script ---------------------------------------------------------- */

/* Formats into ERR; returns CODE. */
static int script_fail(int code, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int script_fail(int code, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

static int script_def_ok(const script_def_t *d)
{
    if (!d->key || !d->value || strchr(d->key, '=')) return 0;
    /* Stored as metadata "param.KEY". */
    return script_key_ok(d->key, strlen(d->key)) && strlen(d->key) <= 255 - 6 &&
           script_value_ok(d->value, strlen(d->value));
}

static int script_cmp_meta(const void *a, const void *b)
{
    return strcmp(((const trace_meta_entry_t *)a)->key, ((const trace_meta_entry_t *)b)->key);
}

/* The trace metadata: producer, script (base name: paths differ between
 * machines), seed, and param.KEY for each -D (last value, sorted by key).
 * ENTRIES and BUF are the caller's to free.  Returns 0, or -1 when out of
 * memory. */
static int script_metadata(const script_opts_t *o, trace_meta_t *meta, trace_meta_entry_t **entries,
                           char **buf)
{
    size_t bytes = 32;
    for (size_t i = 0; i < o->ndefs; i++) {
        size_t k = strlen(o->defs[i].key);
        if (k > SIZE_MAX / 2 - bytes) return -1;
        bytes += k + sizeof "param.";
    }
    *entries = calloc(o->ndefs + 3, sizeof **entries);
    *buf = malloc(bytes);
    if (!*entries || !*buf) return -1;
    trace_meta_entry_t *e = *entries;
    char *p = *buf;
    const char *base = strrchr(o->script, '/');
    size_t n = 0;
    e[n++] = (trace_meta_entry_t){"producer", "arenalab gen"};
    e[n++] = (trace_meta_entry_t){"script", base ? base + 1 : o->script};
    int len = snprintf(p, 32, "%" PRIu64, o->seed);
    e[n++] = (trace_meta_entry_t){"seed", p};
    p += len + 1;
    size_t first_param = n;
    for (size_t i = 0; i < o->ndefs; i++) {
        len = sprintf(p, "param.%s", o->defs[i].key);
        size_t j = first_param;
        while (j < n && strcmp(e[j].key, p))
            j++;
        if (j == n) {
            e[n++].key = p;
            p += len + 1;
        }
        e[j].value = o->defs[i].value;
    }
    qsort(e + first_param, n - first_param, sizeof *e, script_cmp_meta);
    meta->n = n;
    meta->entries = e;
    return 0;
}

/* Loads the script and opens the writer, then runs the script protected.
 * Returns 0 or a SCRIPT_E* code with ERR. */
static int script_execute(lua_State *L, script_ctx_t *c, const script_opts_t *o, char *err,
                          size_t errlen)
{
    int rc = luaL_loadfilex(L, o->script, "t");
    if (rc != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        return script_fail(rc == LUA_ERRFILE ? SCRIPT_EUSAGE : SCRIPT_EFAIL, err, errlen, "%s",
                           msg ? msg : "cannot load the script");
    }
    trace_meta_t meta;
    trace_meta_entry_t *entries = NULL;
    char *buf = NULL;
    if (script_metadata(o, &meta, &entries, &buf) < 0) {
        free(entries);
        free(buf);
        return script_fail(SCRIPT_ENOMEM, err, errlen, "out of memory");
    }
    char werr[512] = "";
    rc = trace_writer_open(&c->w, o->output, trace_format_for_path(o->output), &meta, 0, werr,
                           sizeof werr);
    free(entries);
    free(buf);
    if (rc < 0) return script_fail(SCRIPT_EUSAGE, err, errlen, "%s", werr);

    lua_pushcfunction(L, script_msgh);
    lua_insert(L, -2);
    rc = lua_pcall(L, 0, 0, -2);
    if (rc != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        script_fail(SCRIPT_EFAIL, err, errlen, "%s", msg ? msg : "error in the script");
        trace_writer_abort(c->w);
        c->w = NULL;
        return SCRIPT_EFAIL;
    }
    rc = trace_writer_close_err(c->w, werr, sizeof werr);
    c->w = NULL;
    if (rc < 0) return script_fail(SCRIPT_EFAIL, err, errlen, "%s", werr);
    return 0;
}

int script_run(const script_opts_t *o, script_stats_t *stats, char *err, size_t errlen)
{
    for (size_t i = 0; i < o->ndefs; i++)
        if (!script_def_ok(&o->defs[i]))
            return script_fail(SCRIPT_EUSAGE, err, errlen,
                               "bad -D '%s=%s' (KEY: one word; VALUE: one line, no control "
                               "characters, no leading or trailing blanks)",
                               o->defs[i].key ? o->defs[i].key : "",
                               o->defs[i].value ? o->defs[i].value : "");
    FILE *f = fopen(o->script, "r");
    if (!f)
        return script_fail(SCRIPT_EUSAGE, err, errlen, "%s: cannot read the script: %s", o->script,
                           strerror(errno));
    fclose(f);

    script_ctx_t *c = calloc(1, sizeof *c);
    if (!c) return script_fail(SCRIPT_ENOMEM, err, errlen, "out of memory");
    c->diag = o->diag ? o->diag : stderr;
    c->seed = o->seed;
    rng_seed(&c->rng, o->seed);
    c->defs = o->defs;
    c->ndefs = o->ndefs;
    c->used = calloc(o->ndefs + 1, 1);
    lua_State *L = c->used ? luaL_newstate() : NULL;
    if (!L) {
        free(c->used);
        free(c);
        return script_fail(SCRIPT_ENOMEM, err, errlen, "out of memory");
    }

    int rc;
    lua_pushcfunction(L, script_setup);
    lua_pushlightuserdata(L, c);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK)
        rc = script_fail(SCRIPT_ENOMEM, err, errlen, "cannot set up Lua: %s",
                         lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
    else
        rc = script_execute(L, c, o, err, errlen);

    if (rc == 0) {
        for (size_t i = 0; i < o->ndefs; i++) {
            size_t j = 0; /* warn once per key */
            while (j < i && strcmp(o->defs[j].key, o->defs[i].key))
                j++;
            if (j == i && !c->used[i])
                fprintf(c->diag, "arenalab: warning: %s never reads -D %s (a typo?)\n", o->script,
                        o->defs[i].key);
        }
        if (stats) {
            stats->events = c->events;
            stats->markers = c->markers;
            stats->peak_blocks = c->peak_blocks;
            stats->peak_bytes = c->peak_bytes;
        }
    }
    lua_close(L); /* finalizers (pools) still use the tables in c */
    free(c->blocks);
    free(c->arenas);
    free(c->used);
    free(c);
    return rc;
}
