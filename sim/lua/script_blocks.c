/* script_blocks.c: blocks and arenas for scripts (alloc, calloc, realloc,
 * free, arena and their methods), with the argument checks and the event
 * output the other script modules share (internal/script_impl.h).
 *
 * Invariants: a dead block entry is on the free list (bfree, linked through
 * onext) and a dead arena on afree (through nextfree); an owned block is on
 * its owner's list (owner, oprev, onext) only, and nowned counts that list;
 * live_blocks and live_bytes are the number and sizes of the live blocks
 * plus the live arenas' allocations (`stats` counts the same), they never
 * wrap (an event that would take live bytes past 2^64 is a Lua error), and
 * peak_blocks and peak_bytes never fall below them.
 */
#include "sim/lua/internal/script_impl.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- argument checks ------------------------------------------------------ */

/* The userdata at IDX if its metatable is upvalue UV, else a type error. */
void *_script_checktype(lua_State *L, int idx, int uv, const char *tname)
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

/* script_size_arg's whole check, out of line: a float, or an error. */
static __attribute__((noinline)) uint64_t script_size_slow(lua_State *L, int idx, const char *fn,
                                                           const char *what)
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

/* A byte count in 0..2^48: an integer, or a float with an integral value.
 * An integer in range, nearly every call, is checked inline. */
static inline uint64_t script_size_arg(lua_State *L, int idx, const char *fn, const char *what)
{
    if (lua_isinteger(L, idx)) {
        lua_Integer v = lua_tointeger(L, idx);
        if (v >= 0 && (uint64_t)v <= TRACE_MAX_SIZE) return (uint64_t)v;
    }
    return script_size_slow(L, idx, fn, what);
}

static __attribute__((noinline)) int script_domain_slow(lua_State *L, int idx, const char *fn)
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

/* The optional domain at IDX: left out (most calls: no argument there,
 * told by the stack's size without looking the slot up) is mem. */
static inline int script_domain_arg(lua_State *L, int idx, const char *fn)
{
    if (lua_gettop(L) < idx) return TRACE_MEM;
    return script_domain_slow(L, idx, fn);
}

/* ---- event output ---------------------------------------------------------- */

void _script_flush(lua_State *L, script_ctx_t *c)
{
    size_t n = c->nbatch;
    c->nbatch = 0; /* a failed writer fails every later call: nothing lost */
    if (n && trace_write_trusted(c->w, c->batch, n) < 0)
        luaL_error(L, "cannot write the trace: %s", trace_writer_error(c->w));
    progress_update(&c->bar, c->events); /* one clock read per batch */
}

/* Room for one event in the batch: called before an operation changes the
 * tables, since the flush is the one step that can fail. */
static inline void script_room(lua_State *L, script_ctx_t *c)
{
    if (c->nbatch == SCRIPT_EVBATCH) _script_flush(L, c);
}

/* The next event of the batch (after script_room), zeroed but for OP and
 * DOMAIN: the trusted path wants the fields an op does not use at zero. */
static inline trace_event_t *script_event(script_ctx_t *c, int op, int domain)
{
    trace_event_t *ev = &c->batch[c->nbatch++];
    *ev = (trace_event_t){.op = (uint8_t)op, .domain = (uint8_t)domain, .thread = c->thread};
    c->events++;
    return ev;
}

/* Raises a Lua error naming FN unless ADD more live bytes fit in 64 bits:
 * no process can hold more, so such a trace is an error, never a figure
 * that wraps. */
static void script_live_room(lua_State *L, script_ctx_t *c, uint64_t add, const char *fn)
{
    uint64_t sum;
    if (__builtin_add_overflow(c->live_bytes, add, &sum))
        luaL_error(L, "%s: live bytes would exceed 2^64 (no process can hold that)", fn);
}

static void script_note_live(script_ctx_t *c)
{
    if (c->live_blocks > c->peak_blocks) c->peak_blocks = c->live_blocks;
    if (c->live_bytes > c->peak_bytes) c->peak_bytes = c->live_bytes;
}

/* Pushes a new arena handle {SLOT, GEN, ID}. */
void _script_push_arena(lua_State *L, uint32_t slot, uint32_t gen, uint32_t id)
{
    script_handle_t *h = lua_newuserdatauv(L, sizeof *h, 0);
    h->slot = slot;
    h->gen = gen;
    h->id = id;
    lua_pushvalue(L, SCRIPT_UV_ARENA);
    lua_setmetatable(L, -2);
}

/* Doubles *CAP (from 16) for N + 1 entries of SIZE bytes; raises on overflow
 * or when out of memory, leaving *PTR as it was. */
void _script_grow(lua_State *L, void **ptr, uint32_t *cap, size_t size, const char *what)
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

/* ---- blocks ---------------------------------------------------------------- */

static inline uint32_t script_block_slot(lua_State *L, script_ctx_t *c)
{
    if (c->bfree) {
        uint32_t slot = c->bfree - 1;
        c->bfree = c->blocks[slot].onext;
        return slot;
    }
    if (c->nblocks == c->capblocks)
        _script_grow(L, (void **)&c->blocks, &c->capblocks, sizeof *c->blocks, "blocks");
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
static inline void script_block_release(script_ctx_t *c, uint32_t slot, int state,
                                        uint32_t arena_id)
{
    script_block_t *b = &c->blocks[slot];
    if (b->pool) _script_pool_unlink(b->pool, slot);
    if (b->owner && state != SCRIPT_FREED_WITH_ARENA) script_owner_unlink(c, slot);
    c->live_blocks--;
    c->live_bytes -= b->size;
    b->state = (uint8_t)state;
    b->dead_arena = arena_id;
    b->owner = 0;
    b->onext = c->bfree;
    c->bfree = slot + 1;
}

/* Creates a block, emits its event and pushes its handle.  Inline: alloc
 * is the API's hottest call. */
static inline __attribute__((always_inline)) int script_block_new(lua_State *L, script_ctx_t *c,
                                                                  int op, int domain,
                                                                  uint64_t nmemb, uint64_t esize,
                                                                  uint64_t total)
{
    if (c->next_id > SCRIPT_MAX_ID)
        return luaL_error(L, "%s: more than 2^32 blocks allocated in one trace",
                          op == TRACE_CALLOC ? "calloc" : "alloc");
    script_live_room(L, c, total, op == TRACE_CALLOC ? "calloc" : "alloc");
    script_room(L, c);
    uint32_t slot = script_block_slot(L, c); /* the last step that can fail */
    uint32_t id = (uint32_t)c->next_id;
    trace_event_t *ev = script_event(c, op, domain);
    ev->id = id;
    ev->slot = slot;
    ev->size = esize;
    ev->nmemb = nmemb;
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
    _script_push_block(L, slot, id);
    return 1;
}

/* The block handle at IDX: its id in *ID, its slot returned (unchecked:
 * any value up to UINT32_MAX - 1), or a type error. */
static uint32_t script_handle_arg(lua_State *L, int idx, uint32_t *id)
{
    if (lua_type(L, idx) != LUA_TLIGHTUSERDATA) luaL_typeerror(L, idx, "block");
    uint64_t bits = (uintptr_t)lua_touserdata(L, idx);
    *id = (uint32_t)(bits >> 32);
    return (uint32_t)bits - 1u;
}

static int script_block_is_live(const script_ctx_t *c, uint32_t slot, uint32_t id)
{
    return slot < c->nblocks && c->blocks[slot].id == id && c->blocks[slot].state == SCRIPT_LIVE;
}

/* Raises the error of a handle that is not live (SLOT and ID its bits). */
static __attribute__((noinline)) void script_block_dead(lua_State *L, script_ctx_t *c,
                                                        uint32_t slot, uint32_t id, const char *fn)
{
    /* Not reused since it died: say how. */
    if (slot < c->nblocks && c->blocks[slot].id == id &&
        c->blocks[slot].state == SCRIPT_FREED_WITH_ARENA)
        luaL_error(L, "%s: block %I was freed with arena %I", fn, (lua_Integer)id,
                   (lua_Integer)c->blocks[slot].dead_arena);
    luaL_error(L, "%s: block %I was already freed", fn, (lua_Integer)id);
}

/* The slot of the live block at IDX, or a Lua error naming FN. */
static inline uint32_t script_block_arg(lua_State *L, script_ctx_t *c, int idx, const char *fn)
{
    uint32_t id, slot = script_handle_arg(L, idx, &id);
    if (__builtin_expect(!script_block_is_live(c, slot, id), 0))
        script_block_dead(L, c, slot, id, fn);
    return slot;
}

uint32_t _script_block_arg(lua_State *L, script_ctx_t *c, int idx, const char *fn)
{
    return script_block_arg(L, c, idx, fn);
}

/* Emits the free event of the live block at SLOT, then forgets it. */
static inline void script_block_free(lua_State *L, script_ctx_t *c, uint32_t slot)
{
    script_block_t *b = &c->blocks[slot];
    script_room(L, c);
    trace_event_t *ev = script_event(c, TRACE_FREE, b->domain);
    ev->id = b->id;
    ev->slot = slot;
    script_block_release(c, slot, SCRIPT_FREED, 0);
}

void _script_block_free(lua_State *L, script_ctx_t *c, uint32_t slot)
{
    script_block_free(L, c, slot);
}

/* alloc(size [, domain]) -> block */
static int script_alloc(lua_State *L)
{
    script_ctx_t *c = _script_ctx(L);
    uint64_t size = script_size_arg(L, 1, "alloc", "size");
    int domain = script_domain_arg(L, 2, "alloc");
    return script_block_new(L, c, TRACE_ALLOC, domain, 0, size, size);
}

/* calloc(n, size [, domain]) -> block */
static int script_calloc(lua_State *L)
{
    script_ctx_t *c = _script_ctx(L);
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
    script_ctx_t *c = _script_ctx(L);
    uint32_t slot = _script_block_arg(L, c, 1, "realloc");
    uint64_t size = script_size_arg(L, 2, "realloc", "size");
    script_block_t *b = &c->blocks[slot];
    if (size > b->size) script_live_room(L, c, size - b->size, "realloc");
    script_room(L, c);
    trace_event_t *ev = script_event(c, TRACE_REALLOC, b->domain);
    ev->id = b->id;
    ev->slot = slot;
    ev->size = size;
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
    script_ctx_t *c = _script_ctx(L);
    script_block_free(L, c, script_block_arg(L, c, 1, "free"));
    return 0;
}

/* block:size(), block:id(), block:domain(), block:live() */
static int script_block_size(lua_State *L)
{
    script_ctx_t *c = _script_ctx(L);
    lua_pushinteger(L, (lua_Integer)c->blocks[_script_block_arg(L, c, 1, "block:size")].size);
    return 1;
}

static int script_block_id(lua_State *L)
{
    uint32_t id;
    script_handle_arg(L, 1, &id);
    lua_pushinteger(L, id);
    return 1;
}

static int script_block_domain(lua_State *L)
{
    script_ctx_t *c = _script_ctx(L);
    lua_pushstring(L,
                   trace_domain_name[c->blocks[_script_block_arg(L, c, 1, "block:domain")].domain]);
    return 1;
}

static int script_block_live(lua_State *L)
{
    script_ctx_t *c = _script_ctx(L);
    uint32_t id, slot = script_handle_arg(L, 1, &id);
    lua_pushboolean(L, script_block_is_live(c, slot, id));
    return 1;
}

static int script_block_tostring(lua_State *L)
{
    script_ctx_t *c = _script_ctx(L);
    uint32_t id, slot = script_handle_arg(L, 1, &id);
    if (!script_block_is_live(c, slot, id)) {
        lua_pushfstring(L, "block %I (freed)", (lua_Integer)id);
        return 1;
    }
    script_block_t *b = &c->blocks[slot];
    lua_pushfstring(L, "block %I (%I bytes, %s)", (lua_Integer)id, (lua_Integer)b->size,
                    trace_domain_name[b->domain]);
    return 1;
}

/* Two arena handles are equal when they name the same arena (ids are
 * never reused within a run).  Block handles need no __eq: one block, one
 * value. */
static int script_arena_eq(lua_State *L)
{
    script_handle_t *a = lua_touserdata(L, 1), *b = lua_touserdata(L, 2);
    /* Lua calls __eq for two full userdata only: same type first. */
    int same = lua_getmetatable(L, 1) && lua_getmetatable(L, 2) && lua_rawequal(L, -1, -2);
    lua_pushboolean(L, same && a->id == b->id && a->slot == b->slot && a->gen == b->gen);
    return 1;
}

/* ---- arenas ----------------------------------------------------------------- */

static uint32_t script_arena_arg(lua_State *L, script_ctx_t *c, int idx, const char *fn)
{
    script_handle_t *h = _script_checktype(L, idx, SCRIPT_UV_ARENA, "arena");
    if (h->slot < c->narenas && c->arenas[h->slot].gen == h->gen) return h->slot;
    luaL_error(L, "%s: arena %I was already freed", fn, (lua_Integer)h->id);
    return 0;
}

/* arena() -> arena */
static int script_arena(lua_State *L)
{
    script_ctx_t *c = _script_ctx(L);
    if (c->next_aid > SCRIPT_MAX_ID)
        return luaL_error(L, "arena: more than 2^32 arenas created in one trace");
    uint32_t slot;
    if (c->afree) {
        slot = c->afree - 1;
    } else {
        if (c->narenas == c->caparenas)
            _script_grow(L, (void **)&c->arenas, &c->caparenas, sizeof *c->arenas, "arenas");
        slot = c->narenas;
        c->arenas[slot].gen = 0;
        c->arenas[slot].nextfree = 0;
    }
    uint32_t id = (uint32_t)c->next_aid;
    script_room(L, c);
    trace_event_t *ev = script_event(c, TRACE_ARENA_NEW, TRACE_MEM);
    ev->arena = id;
    ev->aslot = slot;
    if (c->afree)
        c->afree = c->arenas[slot].nextfree;
    else
        c->narenas++;
    c->next_aid++;
    script_arena_t *a = &c->arenas[slot];
    a->bytes = 0;
    a->chunks = 0;
    a->id = id;
    a->ohead = a->otail = 0;
    a->nowned = 0;
    a->state = SCRIPT_LIVE;
    _script_push_arena(L, slot, a->gen, id);
    return 1;
}

/* arena:alloc(size) */
static int script_arena_alloc(lua_State *L)
{
    script_ctx_t *c = _script_ctx(L);
    uint32_t slot = script_arena_arg(L, c, 1, "arena:alloc");
    uint64_t size = script_size_arg(L, 2, "arena:alloc", "size");
    script_arena_t *a = &c->arenas[slot];
    script_live_room(L, c, size, "arena:alloc");
    script_room(L, c);
    trace_event_t *ev = script_event(c, TRACE_ARENA_MALLOC, TRACE_MEM);
    ev->arena = a->id;
    ev->aslot = slot;
    ev->size = size;
    a->bytes += size;
    a->chunks++;
    c->live_bytes += size;
    c->live_blocks++;
    script_note_live(c);
    return 0;
}

/* arena:own(block) -> block */
static int script_arena_own(lua_State *L)
{
    script_ctx_t *c = _script_ctx(L);
    uint32_t aslot = script_arena_arg(L, c, 1, "arena:own");
    uint32_t slot = _script_block_arg(L, c, 2, "arena:own");
    script_arena_t *a = &c->arenas[aslot];
    script_block_t *b = &c->blocks[slot];
    script_room(L, c);
    trace_event_t *ev = script_event(c, TRACE_ARENA_OWN, TRACE_MEM);
    ev->arena = a->id;
    ev->aslot = aslot;
    ev->id = b->id;
    ev->slot = slot;
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
    script_ctx_t *c = _script_ctx(L);
    uint32_t aslot = script_arena_arg(L, c, 1, "arena:free");
    script_arena_t *a = &c->arenas[aslot];
    script_room(L, c);
    trace_event_t *ev = script_event(c, TRACE_ARENA_FREE, TRACE_MEM);
    ev->arena = a->id;
    ev->aslot = aslot;
    for (uint32_t s = a->ohead; s;) {
        uint32_t next = c->blocks[s - 1].onext; /* release reuses onext */
        script_block_release(c, s - 1, SCRIPT_FREED_WITH_ARENA, a->id);
        s = next;
    }
    c->live_bytes -= a->bytes;
    c->live_blocks -= a->chunks;
    a->gen++;
    a->state = SCRIPT_FREED;
    a->nextfree = c->afree;
    c->afree = aslot + 1;
    return 0;
}

static int script_arena_bytes(lua_State *L)
{
    script_ctx_t *c = _script_ctx(L);
    lua_pushinteger(L, (lua_Integer)c->arenas[script_arena_arg(L, c, 1, "arena:bytes")].bytes);
    return 1;
}

static int script_arena_owned(lua_State *L)
{
    script_ctx_t *c = _script_ctx(L);
    lua_pushinteger(L, c->arenas[script_arena_arg(L, c, 1, "arena:owned")].nowned);
    return 1;
}

static int script_arena_id(lua_State *L)
{
    script_handle_t *h = _script_checktype(L, 1, SCRIPT_UV_ARENA, "arena");
    lua_pushinteger(L, h->id);
    return 1;
}

static int script_arena_live(lua_State *L)
{
    script_ctx_t *c = _script_ctx(L);
    script_handle_t *h = _script_checktype(L, 1, SCRIPT_UV_ARENA, "arena");
    lua_pushboolean(L, h->slot < c->narenas && c->arenas[h->slot].gen == h->gen);
    return 1;
}

static int script_arena_tostring(lua_State *L)
{
    script_ctx_t *c = _script_ctx(L);
    script_handle_t *h = _script_checktype(L, 1, SCRIPT_UV_ARENA, "arena");
    if (h->slot < c->narenas && c->arenas[h->slot].gen == h->gen) {
        script_arena_t *a = &c->arenas[h->slot];
        lua_pushfstring(L, "arena %I (%I bytes, %I owned blocks)", (lua_Integer)h->id,
                        (lua_Integer)a->bytes, (lua_Integer)a->nowned);
    } else {
        lua_pushfstring(L, "arena %I (freed)", (lua_Integer)h->id);
    }
    return 1;
}

/* ---- the script API --------------------------------------------------------- */

const luaL_Reg _script_block_api[] = {
    {"alloc", script_alloc}, {"calloc", script_calloc}, {"realloc", script_realloc},
    {"free", script_free},   {"arena", script_arena},   {NULL, NULL},
};

const luaL_Reg _script_block_methods[] = {
    {"size", script_block_size},
    {"id", script_block_id},
    {"domain", script_block_domain},
    {"live", script_block_live},
    {NULL, NULL},
};
const luaL_Reg _script_block_meta[] = {
    {"__tostring", script_block_tostring},
    {NULL, NULL},
};
const luaL_Reg _script_arena_methods[] = {
    {"alloc", script_arena_alloc}, {"own", script_arena_own},
    {"free", script_arena_free},   {"bytes", script_arena_bytes},
    {"owned", script_arena_owned}, {"id", script_arena_id},
    {"live", script_arena_live},   {NULL, NULL},
};
const luaL_Reg _script_arena_meta[] = {
    {"__tostring", script_arena_tostring},
    {"__eq", script_arena_eq},
    {NULL, NULL},
};
