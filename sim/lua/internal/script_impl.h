/* script_impl.h: what the modules of the Lua glue share and nobody else
 * sees (script.h is the public side): the context, the block and arena
 * tables, handles and pools, the upvalue layout, and the helpers one
 * module calls in another, grouped under the file that defines them.
 *
 *   script_blocks.c  argument checks, event output, blocks and arenas
 *   script_pools.c   pools (the live-set helper)
 *   script_dist.c    distributions, choosers, sizes_from
 *   script_run.c     markers, parameters, counters; the Lua state; script_run
 *   script_threads.c simulated threads (the thread events carry)
 *
 * All of them use Lua's public API only.
 *
 * Invariant: a block handle is live exactly when its slot's entry carries
 * its id and is live (an arena handle: when its entry's gen equals its
 * own), and the tables describe exactly what the events emitted so far
 * leave live: every operation checks its arguments, makes room for its
 * event (flushing the batch, the one step that can fail, with a Lua
 * error), and only then changes them and emits.
 *
 * Design
 * ------
 * One context (script_ctx_t, C memory outside the Lua heap) holds the trace
 * writer, the random generator and two tables: blocks and arenas, each
 * indexed by a dense slot recycled LIFO, so both are as large as the peak
 * live count, never the total (a 100-million-event script runs in bounded
 * memory).
 *
 * A block handle is a light userdata whose bits are the block's id (high
 * 32) and slot + 1 (low 32; never NULL): a plain value like an integer, so
 * creating one allocates nothing, the collector never sees it, and two
 * handles of one block are the same value (==, table keys).  Ids are never
 * reused within a run, so the id is the generation counter: a handle is
 * live exactly when blocks[slot] is live with that id; a freed handle, or
 * a block freed with its arena, is detected in O(1) with no back-pointers
 * from C to Lua.  A script cannot forge one: no function of the sandbox
 * makes a light userdata, and the debug library is never loaded.  Light
 * userdata share one metatable per Lua state, the block type's; arenas,
 * few and long-lived, stay small full userdata {slot, gen, id}.
 *
 * Slots follow the LIFO rule of sim/trace/live.h (a new block takes the
 * most recently freed slot still free; `x` frees the owned blocks in list
 * order), so they are the slots every reader assigns, and events go to the
 * writer's trusted path (trace_write_trusted) with them, unchecked a
 * second time: buffered in the context (SCRIPT_EVBATCH) and handed over in
 * batches, before each marker and at the end.  No event allocates.
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
 * sampler metatables), so a type check is one metatable comparison (a
 * block's is lua_type alone: only blocks are light userdata), and the
 * context pointer sits in the state's extra space: the hot path (alloc,
 * free) touches no registry or string.
 *
 * Errors: API misuse raises a Lua error with luaL_error, which prefixes the
 * calling script's "FILE:LINE:"; the whole script runs under lua_pcall
 * with a traceback handler, and C work that owns resources (reading a
 * trace for sizes_from) finishes and cleans up before raising.
 */
#ifndef ARENALAB_SIM_LUA_INTERNAL_SCRIPT_IMPL_H
#define ARENALAB_SIM_LUA_INTERNAL_SCRIPT_IMPL_H

#include "sim/base/progress.h"
#include "sim/lua/rng.h"
#include "sim/lua/sandbox.h"
#include "sim/lua/script.h"
#include "sim/trace/trace.h"

#include <lauxlib.h>
#include <lua.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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
    uint32_t id;         /* trace id; kept after death (handles compare it)   */
    uint32_t owner;      /* owning arena slot + 1, or 0                       */
    uint32_t oprev;      /* owner's list, slot + 1                            */
    uint32_t onext;      /* owner's list, slot + 1; the free list when dead   */
    uint32_t ppos;       /* index in pool->items                              */
    uint32_t dead_arena; /* arena id that freed it (FREED_WITH_ARENA)         */
    uint8_t domain;      /* trace_domain_t                                    */
    uint8_t state;       /* SCRIPT_LIVE, SCRIPT_FREED, ...                    */
} script_block_t;

typedef struct {
    uint64_t bytes;  /* allocated with a:alloc                             */
    uint64_t chunks; /* a:alloc calls: each is a live allocation, as `stats`
                        counts them                                        */
    uint32_t id;     /* trace id                                           */
    uint32_t gen;    /* as for blocks                                       */
    uint32_t ohead;  /* owned blocks (slot + 1), oldest `own` first         */
    uint32_t otail;
    uint32_t nowned;
    uint32_t nextfree; /* free list, slot + 1                                 */
    uint8_t state;
} script_arena_t;

/* Events buffered before they go to the writer (48 bytes each). */
#define SCRIPT_EVBATCH 256

/* What a script holds for an arena. */
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

struct script_ctx_s {
    trace_writer_t *w;
    FILE *diag;
    rng_t rng;
    uint64_t seed;
    sandbox_opts_t sandbox; /* the standard library the script gets     */

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
    int check_defs;      /* script_opts_t.check_defs: stop once all are read   */
    int stopped;         /* ... and it did                                     */

    rng_zipf_t zipf; /* the last zipf(n, s), reused while n and s repeat */
    int zipf_ok;

    uint32_t thread;       /* current thread: every event carries it (0: main) */
    uint32_t nthreads;     /* threads created, numbered 1..nthreads           */
    uint32_t capthreads;   /* entries of thread_ended                         */
    uint8_t *thread_ended; /* per thread number: 1 once it ended              */
    progress_t bar;        /* script_opts_t.progress: redrawn as batches go out */

    sandbox_mem_t mem; /* the bound of the Lua state's own data */

    size_t nbatch;                       /* events in batch, not yet written */
    trace_event_t batch[SCRIPT_EVBATCH]; /* slots set, for the trusted path */
};

/* The context lives in the state's extra space (a pointer's worth that Lua
 * copies into every coroutine): reading it is pointer arithmetic, not an
 * API call, which matters on the per-event path. */
static inline script_ctx_t *_script_ctx(lua_State *L)
{
    return *(script_ctx_t **)lua_getextraspace(L);
}

/* The block handle of SLOT and ID (see Design). */
static inline void _script_push_block(lua_State *L, uint32_t slot, uint32_t id)
{
    _Static_assert(sizeof(void *) >= sizeof(uint64_t), "a handle is 64 bits");
    lua_pushlightuserdata(L, (void *)(uintptr_t)(((uint64_t)id << 32) | (slot + 1u)));
}

/* ---- script_blocks.c ------------------------------------------------------ */

void *_script_checktype(lua_State *L, int idx, int uv, const char *tname);
void _script_push_arena(lua_State *L, uint32_t slot, uint32_t gen, uint32_t id);
void _script_grow(lua_State *L, void **ptr, uint32_t *cap, size_t size, const char *what);
uint32_t _script_block_arg(lua_State *L, script_ctx_t *c, int idx, const char *fn);
void _script_block_free(lua_State *L, script_ctx_t *c, uint32_t slot);
/* Hands the buffered events to the writer; a Lua error when that fails. */
void _script_flush(lua_State *L, script_ctx_t *c);

extern const luaL_Reg _script_block_api[]; /* alloc, calloc, realloc, free, arena */
extern const luaL_Reg _script_block_methods[];
extern const luaL_Reg _script_block_meta[];
extern const luaL_Reg _script_arena_methods[];
extern const luaL_Reg _script_arena_meta[];

/* ---- script_pools.c ------------------------------------------------------- */

void _script_pool_unlink(script_pool_t *p, uint32_t slot);

extern const luaL_Reg _script_pool_api[]; /* pool */
extern const luaL_Reg _script_pool_methods[];
extern const luaL_Reg _script_pool_meta[];

/* ---- script_dist.c -------------------------------------------------------- */

extern const luaL_Reg _script_dist_api[]; /* uniform ... chooser, sizes_from */
extern const luaL_Reg _script_sampler_meta[];

/* ---- script_threads.c ----------------------------------------------------- */

extern const luaL_Reg _script_thread_api[]; /* thread, new_thread, ..., run_threads */

#endif
