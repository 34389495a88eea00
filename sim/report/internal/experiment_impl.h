/* experiment_impl.h: exp_load's core, for the tests and the fuzz target
 * (sim/report/fuzz_experiment.c): the experiment's text from memory
 * instead of a file, and hooks on the Lua state it runs in.
 *
 * The hooks exist so that a harness can bound a run without changing what
 * an experiment file can do: its own allocator with a ceiling (NEWSTATE),
 * an instruction-count hook and trimmed or wrapped globals (READY).
 * `arenalab report` uses none of them. */
#ifndef ARENALAB_SIM_REPORT_INTERNAL_EXPERIMENT_IMPL_H
#define ARENALAB_SIM_REPORT_INTERNAL_EXPERIMENT_IMPL_H

#include <stddef.h>

#include <lua.h>

#include "sim/report/experiment.h"

typedef struct {
    /* Makes the state the file runs in, or NULL for none (out of memory);
     * NULL: luaL_newstate.  exp_load closes it. */
    lua_State *(*newstate)(void *ud);
    /* Called once the sandbox's library and the declaration functions
     * are in place, before the file runs; must not raise (run Lua code
     * under lua_pcall).  NULL: nothing. */
    void (*ready)(lua_State *L, void *ud);
    void *ud;
} exp_hooks_t;

/* exp_load, with TEXT (LEN bytes) as the experiment file's contents when
 * TEXT is not NULL: PATH then only names it (messages, `here`, e->file)
 * and is never read.  HOOKS may be NULL. */
int _exp_load(exp_t *e, const char *path, const char *text, size_t len, const char *root,
              route_find_fn find, int allow_unsafe, const exp_hooks_t *hooks, char *err,
              size_t errlen);

#endif
