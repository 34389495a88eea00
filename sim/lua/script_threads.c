/* script_threads.c: simulated threads for scripts (thread, new_thread,
 * end_thread, on_thread, run_threads): every event carries the script's
 * current thread, so a workload can allocate on one thread and free on
 * another (scripts/SCRIPTING.md, "Threads").
 *
 * Invariants: c->thread is always 0 (the main thread, which never ends) or
 * a thread in 1..c->nthreads that has not ended: every switch checks the
 * thread it switches to, end_thread refuses the current thread, and
 * on_thread and run_threads check again before they switch back.  Thread
 * numbers are handed out 1, 2, ... and never reused.
 *
 * Design
 * ------
 * No OS thread ever runs: a thread is a number the events carry (the
 * trace's `#@ thread N` lines / THREAD records, written by the trace
 * writer when the number changes).  The trace is one global order, the
 * order the script made its calls in, so a block is always allocated
 * before any thread frees it: every trace a script writes has a valid
 * serialisation, whatever threads it uses.
 *
 * run_threads runs functions as coroutines, one thread each, and picks the
 * next one to resume at random (the seeded generator) whenever the running
 * one yields: deterministic for a seed, and interleaved like a real
 * scheduler at the points the script chooses.  Each coroutine keeps its own
 * current thread across yields (a coroutine may switch with thread(n)
 * too).
 */
#include "sim/lua/internal/script_impl.h"

#include <stdint.h>

/* A thread number argument at IDX that names a live thread, else an error
 * naming FN. */
static uint32_t script_thread_arg(lua_State *L, script_ctx_t *c, int idx, const char *fn)
{
    if (!lua_isinteger(L, idx))
        luaL_error(L, "%s: bad thread (integer expected, got %s)", fn,
                   lua_type(L, idx) == LUA_TNUMBER ? "a fraction" : luaL_typename(L, idx));
    lua_Integer n = lua_tointeger(L, idx);
    if (n < 0 || (uint64_t)n > c->nthreads)
        luaL_error(L, "%s: no thread %I (threads 0..%I exist; new_thread() creates one)", fn, n,
                   (lua_Integer)c->nthreads);
    if (c->thread_ended[n]) luaL_error(L, "%s: thread %I has ended", fn, n);
    return (uint32_t)n;
}

/* Switches back to PREV after FN ran on another thread, unless PREV ended
 * meanwhile. */
static void script_thread_restore(lua_State *L, script_ctx_t *c, uint32_t prev, const char *fn)
{
    if (c->thread_ended[prev]) {
        c->thread = 0;
        luaL_error(L, "%s: thread %I ended while %s ran (end a thread from outside it)", fn,
                   (lua_Integer)prev, fn);
    }
    c->thread = prev;
}

/* Creates a thread and returns its number. */
static uint32_t script_thread_new(lua_State *L, script_ctx_t *c, const char *fn)
{
    if (c->nthreads == UINT32_MAX - 1)
        luaL_error(L, "%s: more than 2^32 - 2 threads in one trace", fn);
    if (c->nthreads + 1 >= c->capthreads) {
        uint32_t old = c->capthreads;
        _script_grow(L, (void **)&c->thread_ended, &c->capthreads, 1, "threads");
        for (uint32_t i = old; i < c->capthreads; i++)
            c->thread_ended[i] = 0;
    }
    return ++c->nthreads;
}

/* Makes sure thread_ended has the main thread's entry. */
static void script_thread_init(lua_State *L, script_ctx_t *c)
{
    if (c->capthreads) return;
    _script_grow(L, (void **)&c->thread_ended, &c->capthreads, 1, "threads");
    for (uint32_t i = 0; i < c->capthreads; i++)
        c->thread_ended[i] = 0;
}

/* thread() -> current;  thread(n) -> previous */
static int script_thread(lua_State *L)
{
    script_ctx_t *c = _script_ctx(L);
    script_thread_init(L, c);
    uint32_t prev = c->thread;
    if (!lua_isnoneornil(L, 1)) c->thread = script_thread_arg(L, c, 1, "thread");
    lua_pushinteger(L, prev);
    return 1;
}

/* new_thread() -> n */
static int script_new_thread(lua_State *L)
{
    script_ctx_t *c = _script_ctx(L);
    script_thread_init(L, c);
    lua_pushinteger(L, script_thread_new(L, c, "new_thread"));
    return 1;
}

/* end_thread(n) */
static int script_end_thread(lua_State *L)
{
    script_ctx_t *c = _script_ctx(L);
    script_thread_init(L, c);
    uint32_t t = script_thread_arg(L, c, 1, "end_thread");
    if (t == 0) return luaL_error(L, "end_thread: thread 0 (the main thread) never ends");
    if (t == c->thread)
        return luaL_error(L, "end_thread: thread %I is the current thread (switch away first)",
                          (lua_Integer)t);
    c->thread_ended[t] = 1;
    return 0;
}

/* on_thread(n, fn, ...) -> fn(...) run with thread n current */
static int script_on_thread(lua_State *L)
{
    script_ctx_t *c = _script_ctx(L);
    script_thread_init(L, c);
    uint32_t t = script_thread_arg(L, c, 1, "on_thread");
    luaL_checktype(L, 2, LUA_TFUNCTION);
    uint32_t prev = c->thread;
    c->thread = t;
    /* Protected, so that a script catching the error with pcall finds its
     * own thread current again. */
    int rc = lua_pcall(L, lua_gettop(L) - 2, LUA_MULTRET, 0);
    script_thread_restore(L, c, prev, "on_thread");
    if (rc != LUA_OK) return lua_error(L);
    return lua_gettop(L) - 1;
}

/* What run_threads keeps per coroutine (a userdata array: freed by the
 * collector whatever happens). */
typedef struct {
    uint32_t thread;  /* its own thread                                     */
    uint32_t current; /* its current thread when it last yielded            */
    int started;
} script_runner_t;

/* run_threads(n, fn) or run_threads({fn, ...}) -> {thread numbers}
 * Each function runs as a coroutine on a new thread (fn(i, thread)); the
 * next one to resume after a yield is drawn at random; each thread ends
 * when its function returns. */
static int script_run_threads(lua_State *L)
{
    script_ctx_t *c = _script_ctx(L);
    script_thread_init(L, c);
    lua_Integer n;
    int list = lua_type(L, 1) == LUA_TTABLE;
    if (list) {
        n = (lua_Integer)lua_rawlen(L, 1);
        for (lua_Integer i = 1; i <= n; i++) {
            if (lua_rawgeti(L, 1, i) != LUA_TFUNCTION)
                return luaL_error(L, "run_threads: entry %I is a %s, not a function", i,
                                  luaL_typename(L, -1));
            lua_pop(L, 1);
        }
        lua_settop(L, 1);
    } else {
        if (!lua_isinteger(L, 1) || lua_tointeger(L, 1) < 0)
            return luaL_error(L, "run_threads: bad count (a whole number >= 0, or a list of "
                                 "functions, expected)");
        n = lua_tointeger(L, 1);
        luaL_checktype(L, 2, LUA_TFUNCTION);
        lua_settop(L, 2);
    }
    if ((uint64_t)n > UINT32_MAX - 1 - c->nthreads)
        return luaL_error(L, "run_threads: more than 2^32 - 2 threads in one trace");
    uint32_t prev = c->thread;
    int fns = list ? 1 : 2;
    script_runner_t *run = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *run, 0);
    lua_createtable(L, (int)n, 0); /* the coroutines, anchored */
    int cos = lua_gettop(L);
    lua_createtable(L, (int)n, 0); /* the result: thread numbers */
    int result = lua_gettop(L);
    for (lua_Integer i = 0; i < n; i++) {
        run[i].thread = run[i].current = script_thread_new(L, c, "run_threads");
        run[i].started = 0;
        lua_newthread(L);
        lua_rawseti(L, cos, i + 1);
        lua_pushinteger(L, run[i].thread);
        lua_rawseti(L, result, i + 1);
    }
    /* live[0..nlive) index the unfinished runners; a finished one is
     * replaced by the last (a deterministic order). */
    uint32_t *live = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *live, 0);
    for (lua_Integer i = 0; i < n; i++)
        live[i] = (uint32_t)i;
    uint64_t nlive = (uint64_t)n;
    while (nlive) {
        uint64_t k = nlive == 1 ? 0 : rng_below(&c->rng, nlive);
        uint32_t i = live[k];
        script_runner_t *r = &run[i];
        if (c->thread_ended[r->current]) {
            c->thread = c->thread_ended[prev] ? 0 : prev;
            return luaL_error(L, "run_threads: thread %I ended while a function ran on it",
                              (lua_Integer)r->current);
        }
        lua_rawgeti(L, cos, (lua_Integer)i + 1);
        lua_State *co = lua_tothread(L, -1);
        lua_pop(L, 1); /* still anchored in cos */
        int nargs = 0;
        if (!r->started) {
            if (list)
                lua_rawgeti(L, fns, (lua_Integer)i + 1);
            else
                lua_pushvalue(L, fns);
            lua_pushinteger(L, (lua_Integer)i + 1);
            lua_pushinteger(L, r->thread);
            lua_xmove(L, co, 3);
            nargs = 2;
            r->started = 1;
        }
        c->thread = r->current;
        int nres = 0;
        int rc = lua_resume(co, L, nargs, &nres);
        if (rc == LUA_YIELD) {
            r->current = c->thread;
            lua_pop(co, nres);
            continue;
        }
        if (rc != LUA_OK) {
            lua_xmove(co, L, 1); /* the error object (its message has FILE:LINE) */
            c->thread = c->thread_ended[prev] ? 0 : prev;
            return lua_error(L);
        }
        lua_pop(co, nres);
        c->thread = 0; /* until the next resume: never an ended thread */
        c->thread_ended[r->thread] = 1;
        live[k] = live[--nlive];
    }
    lua_settop(L, result);
    script_thread_restore(L, c, prev, "run_threads");
    return 1;
}

const luaL_Reg _script_thread_api[] = {
    {"thread", script_thread},           {"new_thread", script_new_thread},
    {"end_thread", script_end_thread},   {"on_thread", script_on_thread},
    {"run_threads", script_run_threads}, {NULL, NULL},
};
