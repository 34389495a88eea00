/* sandbox.h: the Lua standard library a script gets -- one model for
 * workload scripts (`arenalab gen`, sim/lua/script_run.c) and experiment
 * files (`arenalab report`, sim/report/experiment.c).  The script-facing
 * side is documented in scripts/SCRIPTING.md and
 * scripts/experiments/EXPERIMENTS.md ("What a script can do").
 *
 * Model.  A script is code from anywhere (a workload copied from a
 * colleague, an experiment in a shared repository), run by a tool that is
 * expected to read traces and write results, nothing else.  By default it
 * gets the libraries that compute: base, coroutine, string, table, math and
 * utf8.  It cannot start a process, write, rename or delete a file, read a
 * file except through the documented API (sizes_from; trace, traces,
 * workload), read the environment or the clock, or load C code: io, os,
 * package, require, loadfile and dofile are refused.  With `unsafe`
 * (--allow-unsafe) it gets the full standard library: it can do anything
 * the user running it can.
 *
 * Invariants, in every mode: only text chunks are ever loaded -- load,
 * loadfile, dofile and require's Lua searcher refuse precompiled bytecode,
 * which Lua does not verify (a patched chunk crashes the process), and
 * string.dump is refused; the debug library is refused (it can swap the
 * metatables and upvalues the C functions rely on).
 *
 * Refusals are Lua errors at the script's line that name what is refused
 * and how to allow it, never a call of nil:
 *   t.lua:3: os.execute is not available to workload scripts (arenalab gen
 *   --allow-unsafe gives the full standard library)
 * A refused library is an empty table whose every field raises (so
 * `os.execute(...)` fails at the index, naming the function); a refused
 * function raises when called.
 */
#ifndef ARENALAB_SIM_LUA_SANDBOX_H
#define ARENALAB_SIM_LUA_SANDBOX_H

#include <lua.h>
#include <stddef.h>

typedef struct {
    const char *scripts; /* who runs, in messages: "workload scripts"       */
    const char *allow;   /* how to allow, in messages:
                            "arenalab gen --allow-unsafe"                   */
    int unsafe;          /* 1: the full standard library (still text only,
                            no debug, no string.dump)                       */
} sandbox_opts_t;

/* The bound of a state's own data (tables, strings): no script may
 * exhaust the machine (sim/base/meminfo.h). */
typedef struct {
    size_t bytes; /* what the state holds now                            */
    size_t max;   /* ARENALAB_LUA_MAX_BYTES, else half the memory available
                     when sandbox_bound_memory was called               */
    int over;     /* an allocation was refused for the bound             */
} sandbox_mem_t;

/* Puts L (made by luaL_newstate, whose allocator is realloc/free) under
 * M's bound: past it an allocation fails as Lua's "not enough memory",
 * which a script may catch with pcall; uncaught, the caller sees
 * LUA_ERRMEM with M->over set and names the bound (SANDBOX_MEM_HINT).  M
 * must outlive L (lua_close frees through it). */
void sandbox_bound_memory(lua_State *L, sandbox_mem_t *m);

#define SANDBOX_MEM_HINT                                                                           \
    "half the memory available at the start; ARENALAB_LUA_MAX_BYTES=BYTES sets it"

/* Opens the libraries O allows in L's global table and installs the
 * refusals.  Raises a Lua error when out of memory: call it protected
 * (from the function that sets up the state under lua_pcall). */
void sandbox_open(lua_State *L, const sandbox_opts_t *o);

#endif
