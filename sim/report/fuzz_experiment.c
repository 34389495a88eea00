/* fuzz_experiment.c: libFuzzer target for the experiment loader: the input
 * is an experiment file's text, run by _exp_load (exp_load's core,
 * internal/experiment_impl.h) in the sandbox, against a small repository
 * root made once per process (two traces and a workload script).
 *
 * Oracles, beyond "no crash, no leak, no undefined behaviour":
 *   - the status is 0 or EXP_EFAIL (EXP_EUSAGE is for a file that cannot
 *     be read), with a message on failure and nothing left in the exp_t;
 *   - a loaded experiment satisfies exp_is_valid, has a trace and a unit,
 *     and every unit's spec parses (the report gives it to the replay).
 *
 * Bounds.  Any text must end quickly, so the harness -- never exp_load --
 * limits what a run may cost, and says so in its errors ("fuzz: ..."):
 *   - Lua instructions: a count hook raises after FE_MAX_STEPS; from then on
 *     it raises at every instruction of any coroutine it meets, so a pcall
 *     or a coroutine catching the error cannot loop on (the first
 *     instruction outside the protected call raises again).  Inputs with
 *     loops are kept: the loops are what the hook is for.
 *   - Lua memory: the state's allocator refuses to pass FE_MAX_MEMORY.
 *   - C work the hook cannot see: the declarations are wrapped (in Lua, so
 *     exp_load's own code is unchanged) to allow FE_MAX_DECLS of them, a
 *     sweep's values and traces lists (and a workload sweep's values) of
 *     FE_MAX_LIST entries and no
 *     metatables on them (an __index or __len could hand exp_load other
 *     tables than those checked), and traces() patterns inside the root
 *     (a glob of / could walk the disk); the sweep's expansion is
 *     quadratic in its units, so its size is what is bounded.
 *   - Lua code that runs with hooks off: a finalizer (Lua runs __gc with
 *     hooks disabled), so setmetatable refuses a metatable with __gc; and
 *     a message handler called for the hook's own error (the hook is off
 *     until the error is caught), so xpcall's handler is skipped once the
 *     budget is spent.
 *   - Library functions whose C loops ignore the hook are removed:
 *     string.rep (("").rep("", 2^62) loops 2^62 times), string.find,
 *     match, gmatch and gsub (backtracking patterns), table.move; print
 *     writes nothing.  They are Lua's code, not ours: the target is the
 *     declarations, the sandbox's refusals, errors and the expansion. */
#include "sim/report/experiment.h"
#include "sim/report/internal/experiment_impl.h"

#include "alloc/params.h"

#include <lauxlib.h>
#include <lua.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FE_MAX_STEPS  200000
#define FE_HOOK_EVERY 1000
#define FE_MAX_MEMORY ((size_t)16 << 20)
#define FE_MAX_DECLS  32
#define FE_MAX_LIST   16
#define FE_NAME       "fuzz.lua"

/* The harness's own code, outside libFuzzer's coverage (clang only). */
#if defined(__clang__)
#define FE_NOCOV __attribute__((no_sanitize("coverage")))
#else
#define FE_NOCOV
#endif

/* One run's budget (one input at a time). */
typedef struct {
    size_t memory; /* bytes the state holds             */
    long steps;    /* instructions counted so far       */
} fe_budget_t;

static fe_budget_t fe_budget;
static char fe_root[4096];

/* ---- the repository root: made once, removed at exit --------------------------- */

static const char *const fe_files[][2] = {
    {"traces/a.txt", "a 1 10\nf 1\n"},
    {"traces/b.txt", "a 1 20\nf 1\n"},
    {"scripts/workloads/w.lua", "free(alloc(param('n', 1)))\n"},
};
static const char *const fe_dirs[] = {"scripts/workloads", "scripts", "traces"};

FE_NOCOV static void fe_cleanup(void)
{
    char path[8192];
    for (size_t i = 0; i < sizeof fe_files / sizeof fe_files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", fe_root, fe_files[i][0]);
        unlink(path);
    }
    for (size_t i = 0; i < sizeof fe_dirs / sizeof fe_dirs[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", fe_root, fe_dirs[i]);
        rmdir(path);
    }
    rmdir(fe_root);
}

FE_NOCOV static void fe_setup(void)
{
    const char *tmp = getenv("TEST_TMPDIR");
    if (!tmp || !*tmp) tmp = getenv("TMPDIR");
    snprintf(fe_root, sizeof fe_root, "%s/arenalab-fuzzexp.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(fe_root)) abort();
    atexit(fe_cleanup);
    char path[8192];
    for (size_t i = sizeof fe_dirs / sizeof fe_dirs[0]; i-- > 0;) {
        snprintf(path, sizeof path, "%s/%s", fe_root, fe_dirs[i]);
        if (mkdir(path, 0755) != 0) abort();
    }
    for (size_t i = 0; i < sizeof fe_files / sizeof fe_files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", fe_root, fe_files[i][0]);
        FILE *f = fopen(path, "w");
        if (!f || fputs(fe_files[i][1], f) < 0 || fclose(f) != 0) abort();
    }
}

/* ---- allocator classes: the registry, and one that cannot run ------------------ */

FE_NOCOV static int fe_missing_available(char *why, size_t len)
{
    snprintf(why, len, "libarenalab-no-such-library.so.9 not found");
    return 0;
}

static const alloc_class_t fe_missing = {
    .name = "missinglib",
    .summary = "fuzz: a preload class whose library is not installed",
    .flags = ALLOC_PRELOAD,
    .preload = "libarenalab-no-such-library.so.9",
    .available = fe_missing_available,
};

FE_NOCOV static const alloc_class_t *fe_find(const char *name)
{
    return strcmp(name, fe_missing.name) == 0 ? &fe_missing : alloc_find(name);
}

/* ---- the Lua state's bounds ------------------------------------------------------ */

FE_NOCOV static void *fe_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    fe_budget_t *b = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        b->memory -= old;
        return NULL;
    }
    if (nsize > old && b->memory + (nsize - old) > FE_MAX_MEMORY) return NULL;
    void *p = realloc(ptr, nsize);
    if (p) b->memory = b->memory - old + nsize;
    return p;
}

FE_NOCOV static int fe_panic(lua_State *L)
{
    fprintf(stderr, "fuzz_experiment: Lua panic: %s\n", lua_tostring(L, -1));
    abort();
}

FE_NOCOV static lua_State *fe_newstate(void *ud)
{
    lua_State *L = lua_newstate(fe_alloc, ud);
    if (L) lua_atpanic(L, fe_panic);
    return L;
}

FE_NOCOV static void fe_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    fe_budget.steps += FE_HOOK_EVERY;
    if (fe_budget.steps <= FE_MAX_STEPS) return;
    /* over budget: raise at every instruction of this thread from now on */
    lua_sethook(L, fe_hook, LUA_MASKCOUNT, 1);
    fe_budget.steps = FE_MAX_STEPS + FE_HOOK_EVERY; /* no overflow */
    luaL_error(L, "fuzz: more than %d Lua instructions", FE_MAX_STEPS);
}

/* over(): whether the run is past its instruction budget. */
FE_NOCOV static int fe_over(lua_State *L)
{
    lua_pushboolean(L, fe_budget.steps > FE_MAX_STEPS);
    return 1;
}

/* Wraps the declarations and trims the library (see the top of the file).
 * Arguments: the limits, and over(). */
static const char fe_limits[] =
    "local ndecls, nlist, over = ...\n"
    "local n = 0\n"
    "local error, type, rawget, rawlen, getmetatable = error, type, rawget, rawlen, getmetatable\n"
    "local sub, find = string.sub, string.find\n"
    "local function count()\n"
    "  n = n + 1\n"
    "  if n > ndecls then error('fuzz: more than ' .. ndecls .. ' declarations', 0) end\n"
    "end\n"
    "local function plain(x, what)\n"
    "  if getmetatable(x) ~= nil then error('fuzz: ' .. what .. ' with a metatable', 0) end\n"
    "  if type(x) == 'table' and rawlen(x) > nlist then\n"
    "    error('fuzz: ' .. what .. ' longer than ' .. nlist, 0)\n"
    "  end\n"
    "end\n"
    "for _, k in ipairs{'name', 'repeats', 'samples', 'trace', 'allocator'} do\n"
    "  local f = _G[k]\n"
    "  _G[k] = function(...) count() return f(...) end\n"
    "end\n"
    "local traces, sweep, workload = traces, sweep, workload\n"
    "_G.workload = function(w, o, ...)\n"
    "  count()\n"
    "  if type(o) == 'table' then\n"
    "    plain(o, 'a workload options table')\n"
    "    local s = rawget(o, 'sweep')\n"
    "    if type(s) == 'table' then\n"
    "      plain(s, 'a workload sweep')\n"
    "      for _, v in next, s do plain(v, 'a workload sweep\\'s values') end\n"
    "    end\n"
    "  end\n"
    "  return workload(w, o, ...)\n"
    "end\n"
    "_G.traces = function(p, ...)\n"
    "  count()\n"
    "  if type(p) == 'string' and (sub(p, 1, 1) == '/' or find(p, '..', 1, true)) then\n"
    "    error('fuzz: a traces() pattern outside the root', 0)\n"
    "  end\n"
    "  return traces(p, ...)\n"
    "end\n"
    "_G.sweep = function(s, ...)\n"
    "  count()\n"
    "  if type(s) == 'table' then\n"
    "    if getmetatable(s) ~= nil then error('fuzz: a sweep table with a metatable', 0) end\n"
    "    local v, t = rawget(s, 'values'), rawget(s, 'traces')\n"
    "    if type(v) == 'table' then plain(v, 'values') end\n"
    "    if type(t) == 'table' then plain(t, 'traces') end\n"
    "  end\n"
    "  return sweep(s, ...)\n"
    "end\n"
    "local xpcall, setmetatable = xpcall, setmetatable\n"
    "_G.xpcall = function(f, h, ...)\n"
    "  return xpcall(f, function(m) if over() then return m end return h(m) end, ...)\n"
    "end\n"
    "_G.setmetatable = function(t, mt)\n"
    "  if type(mt) == 'table' and rawget(mt, '__gc') ~= nil then\n"
    "    error('fuzz: no __gc metamethods (finalizers run without hooks)', 2)\n"
    "  end\n"
    "  return setmetatable(t, mt)\n"
    "end\n"
    "print = function() end\n"
    "string.rep, string.find, string.match, string.gmatch, string.gsub = nil\n"
    "table.move = nil\n";

FE_NOCOV static void fe_ready(lua_State *L, void *ud)
{
    (void)ud;
    if (luaL_loadbufferx(L, fe_limits, sizeof fe_limits - 1, "=fuzz", "t") != LUA_OK) abort();
    lua_pushinteger(L, FE_MAX_DECLS);
    lua_pushinteger(L, FE_MAX_LIST);
    lua_pushcfunction(L, fe_over);
    if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
        fprintf(stderr, "fuzz_experiment: limits: %s\n", lua_tostring(L, -1));
        abort();
    }
    fe_budget.steps = 0;
    lua_sethook(L, fe_hook, LUA_MASKCOUNT, FE_HOOK_EVERY);
}

/* ---- the target ------------------------------------------------------------------ */

FE_NOCOV int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fe_root[0]) fe_setup();
    fe_budget = (fe_budget_t){0, 0};
    const exp_hooks_t hooks = {fe_newstate, fe_ready, &fe_budget};
    char path[8192], err[4096];
    snprintf(path, sizeof path, "%s/%s", fe_root, FE_NAME);
    exp_t e;
    err[0] = '\0';
    int rc =
        _exp_load(&e, path, (const char *)data, size, fe_root, fe_find, 0, &hooks, err, sizeof err);
    if (fe_budget.memory != 0) abort(); /* the state was closed */
    if (rc != 0) {
        static const exp_t zero;
        if (rc != EXP_EFAIL || !err[0] || memcmp(&e, &zero, sizeof e) != 0) abort();
        return 0;
    }
    if (!exp_is_valid(&e) || e.ntraces == 0 || e.nunits == 0) abort();
    for (size_t u = 0; u < e.nunits; u++) {
        alloc_spec_t s;
        char msg[256];
        if (alloc_spec_parse(&s, e.units[u].spec, msg, sizeof msg) != 0) {
            fprintf(stderr, "fuzz_experiment: unit %zu: spec '%s' does not parse: %s\n", u,
                    e.units[u].spec, msg);
            abort();
        }
    }
    exp_free(&e);
    return 0;
}
