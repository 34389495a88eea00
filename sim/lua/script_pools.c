/* script_pools.c: pools, the scripts' live-set helper: internal operations
 * (also used when a pooled block is freed) and the pool type's methods.
 *
 * Invariants of a pool P: items[head..tail) holds the slots of its blocks,
 * oldest first, with SCRIPT_DEAD tombstones for removed ones; count and
 * bytes are the number and sizes of the other items; each of those blocks
 * has pool == P and ppos == its index; when count > 0, items[head] and
 * items[tail - 1] are not tombstones, and when it is 0, head == tail == 0.
 */
#include "sim/lua/internal/script_impl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

void _script_pool_unlink(script_pool_t *p, uint32_t slot)
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
    _script_grow(L, (void **)&p->items, &p->cap, sizeof *p->items, "pool items");
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

/* ---- pools: the script API ------------------------------------------------- */

static script_pool_t *script_pool_self(lua_State *L)
{
    return _script_checktype(L, 1, SCRIPT_UV_POOL, "pool");
}

/* pool() -> pool */
static int script_pool(lua_State *L)
{
    script_pool_t *p = lua_newuserdatauv(L, sizeof *p, 0);
    memset(p, 0, sizeof *p);
    p->c = _script_ctx(L);
    lua_pushvalue(L, SCRIPT_UV_POOL);
    lua_setmetatable(L, -2);
    return 1;
}

static void script_push_block(lua_State *L, script_ctx_t *c, uint32_t slot)
{
    _script_push_block(L, slot, c->blocks[slot].id);
}

/* pool:add(block) -> block: appends as the newest, moving it from any pool. */
static int script_pool_add(lua_State *L)
{
    script_pool_t *p = script_pool_self(L);
    uint32_t slot = _script_block_arg(L, p->c, 2, "pool:add");
    script_block_t *b = &p->c->blocks[slot];
    script_pool_reserve(L, p); /* before unlinking: an error leaves it as it was */
    if (b->pool) _script_pool_unlink(b->pool, slot);
    script_pool_append(L, p, slot);
    lua_settop(L, 2);
    return 1;
}

/* The slot of the block at IDX, which must be in pool P. */
static uint32_t script_pool_member(lua_State *L, script_pool_t *p, int idx, const char *fn)
{
    uint32_t slot = _script_block_arg(L, p->c, idx, fn);
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
        _script_pool_unlink(p, slot);
        script_pool_append(L, p, slot);
    }
    lua_settop(L, 2);
    return 1;
}

/* pool:remove(block) -> block: takes it out without freeing it. */
static int script_pool_remove(lua_State *L)
{
    script_pool_t *p = script_pool_self(L);
    _script_pool_unlink(p, script_pool_member(L, p, 2, "pool:remove"));
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
    _script_block_free(L, p->c, slot);
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
        _script_block_free(L, p->c, p->items[p->head]);
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

/* ---- the script API --------------------------------------------------------- */

const luaL_Reg _script_pool_api[] = {
    {"pool", script_pool},
    {NULL, NULL},
};

const luaL_Reg _script_pool_methods[] = {
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
const luaL_Reg _script_pool_meta[] = {
    {"__len", script_pool_size},
    {"__tostring", script_pool_tostring},
    {"__gc", script_pool_gc},
    {NULL, NULL},
};
