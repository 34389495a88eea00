/* experiment_test.c: experiment files -- declarations become traces,
 * allocators and sweeps; expansion gives distinct units (grid first, then
 * the sweep points not already in it); optional allocators that cannot run
 * are skipped with a reason; every mistake is "FILE:LINE: message" with the
 * right status and leaves nothing behind; the file runs in the sandbox
 * (sim/lua/sandbox.h): what it refuses fails at the line with no effect,
 * allow_unsafe gives the rest, and a binary chunk never loads. */
#include "sim/report/experiment.h"
#include "alloc/check.h"
#include "sim/replay/driver.h"

#include <lauxlib.h>
#include <lua.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- a root directory with traces and a workload ------------------------- */

static char xt_root[4096];

static void xt_write(const char *rel, const char *text)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", xt_root, rel);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static void xt_setup(void)
{
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(xt_root, sizeof xt_root, "%s/exptest.%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
    char path[8192];
    mkdir(xt_root, 0755);
    snprintf(path, sizeof path, "%s/traces", xt_root);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/scripts", xt_root);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/scripts/workloads", xt_root);
    mkdir(path, 0755);
    xt_write("traces/b.txt", "a 1 10\nf 1\n");
    xt_write("traces/a.txt", "a 1 20\nf 1\n");
    xt_write("scripts/workloads/w.lua", "free(alloc(param('n', 1) + #tostring(param('k', '')) + "
                                        "math.floor(param('big', 0.5))))\n");
}

/* ---- test classes: a preload class whose library is missing ------------- */

static int xt_missing_available(char *why, size_t len)
{
    snprintf(why, len, "libarenalab-no-such-library.so.9 not found");
    return 0;
}

static const alloc_class_t xt_missing = {
    .name = "missinglib",
    .summary = "test: a preload class whose library is not installed",
    .flags = ALLOC_PRELOAD,
    .preload = "libarenalab-no-such-library.so.9",
    .available = xt_missing_available,
};

static const alloc_class_t *xt_find(const char *name)
{
    if (!strcmp(name, xt_missing.name)) return &xt_missing;
    return alloc_find(name);
}

/* exp_load's allow_unsafe for the next xt_load. */
static int xt_allow_unsafe;

/* Writes TEXT as experiment NAME and loads it. */
static int xt_load(exp_t *e, const char *name, const char *text, char *err, size_t len)
{
    char rel[256], path[8192];
    snprintf(rel, sizeof rel, "%s.lua", name);
    xt_write(rel, text);
    snprintf(path, sizeof path, "%s/%s", xt_root, rel);
    err[0] = '\0';
    return exp_load(e, path, xt_root, xt_find, xt_allow_unsafe, err, len);
}

static size_t xt_unit(const exp_t *e, const char *trace, const char *spec)
{
    size_t t = exp_find_trace(e, trace);
    for (size_t i = 0; t != EXP_NONE && i < e->nunits; i++)
        if (e->units[i].trace == t && !strcmp(e->units[i].spec, spec)) return i;
    return EXP_NONE;
}

/* ---- expansion -------------------------------------------------------------- */

static void xt_expansion(void)
{
    exp_t e;
    char err[4096];
    int rc = xt_load(&e, "grid",
                     "name('grid-1')\n"
                     "repeats(4)\n"
                     "samples(50)\n"
                     "local files = traces('traces/*.txt')\n"
                     "assert(#files == 2 and files[1] == 'a.txt' and files[2] == 'b.txt')\n"
                     "workload('w', {seed = 5, params = {n = 10, k = 'x', big = 2.5}})\n"
                     "allocator('raw')\n"
                     "allocator('pymalloc:arena=1M')\n"
                     "sweep{alloc = 'pymalloc', param = 'arena', values = {'256K', '1M'},\n"
                     "      traces = {'a.txt'}, repeats = 7}\n"
                     "sweep{alloc = 'arena', param = 'growth', values = {'doubling', 'fixed'}}\n"
                     "repeats(2)\n",
                     err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    if (rc) return;
    CHECK(exp_is_valid(&e));
    CHECK(!strcmp(e.name, "grid-1"));
    CHECK(e.repeat == 2 && e.samples == 50);
    CHECK(e.measure == DRIVER_MEASURE_TIME); /* the default */
    CHECK(e.ntraces == 3 && e.nallocs == 2 && e.nsweeps == 2);
    /* Glob matches in sorted order, named by base name; paths absolute. */
    CHECK(!strcmp(e.traces[0].name, "a.txt") && !strcmp(e.traces[1].name, "b.txt"));
    CHECK(e.traces[0].path[0] == '/' && strstr(e.traces[0].path, "/traces/a.txt"));
    CHECK(e.traces[0].script == NULL);
    /* A workload: named script-sSEED, its parameters sorted by key. */
    const exp_trace_t *w = &e.traces[2];
    CHECK(!strcmp(w->name, "w-s5") && w->seed == 5 && w->path == NULL);
    CHECK(w->script && strstr(w->script, "/scripts/workloads/w.lua"));
    CHECK(w->ndefs == 3);
    if (w->ndefs == 3) {
        CHECK(!strcmp(w->defs[0].key, "big") && !strcmp(w->defs[0].value, "2.5"));
        CHECK(!strcmp(w->defs[1].key, "k") && !strcmp(w->defs[1].value, "x"));
        CHECK(!strcmp(w->defs[2].key, "n") && !strcmp(w->defs[2].value, "10"));
    }
    /* Grid: 3 traces x 2 allocators, trace-major, first.  Then the sweep
     * points: pymalloc:arena=1M on a.txt is a grid unit already; 256K is
     * new; the raw sweep adds 2 per trace. */
    CHECK(e.nunits == 6 + 1 + 6);
    for (size_t t = 0; t < 3; t++)
        for (size_t a = 0; a < 2; a++)
            CHECK(e.grid[t * 2 + a] == t * 2 + a);
    CHECK(!strcmp(e.units[1].spec, "pymalloc:arena=1M") && e.units[1].trace == 0);
    size_t p256 = xt_unit(&e, "a.txt", "pymalloc:arena=256K");
    CHECK(p256 == 6);
    const exp_sweep_t *s = &e.sweeps[0];
    CHECK(s->ntraces == 1 && s->nvalues == 2 && s->numeric);
    CHECK(s->x[0] == 262144.0 && s->x[1] == 1048576.0);
    CHECK(s->points[0] == p256 && s->points[1] == 1);
    CHECK(!strcmp(s->title, "pymalloc arena"));
    /* A shared unit keeps the highest repeat; the sweep's own is 7, the
     * grid's the experiment's final value. */
    CHECK(e.units[1].repeat == 7 && e.units[p256].repeat == 7);
    CHECK(e.units[0].repeat == 2 && e.units[3].repeat == 2);
    /* Traces omitted: every trace; values that are not numbers. */
    const exp_sweep_t *r = &e.sweeps[1];
    CHECK(r->ntraces == 3 && !r->numeric && r->repeat == 2);
    CHECK(xt_unit(&e, "w-s5", "arena:growth=fixed") != EXP_NONE);
    CHECK(xt_unit(&e, "b.txt", "arena:growth=doubling") != EXP_NONE);
    CHECK(exp_set_trace_path(&e, 2, "/tmp/w.atr") == 0 && !strcmp(e.traces[2].path, "/tmp/w.atr"));
    exp_free(&e);
    CHECK(e.ntraces == 0 && e.units == NULL);
}

/* Optional allocators that cannot run are kept with a reason, out of the
 * units; the default name is the file's. */
static void xt_optional(void)
{
    exp_t e;
    char err[4096];
    int rc = xt_load(&e, "opt",
                     "trace('traces/a.txt', 'first')\n"
                     "allocator('missinglib', {optional = true})\n"
                     "allocator('nosuchclass', {optional = true})\n"
                     "allocator('raw')\n",
                     err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    if (rc) return;
    CHECK(exp_is_valid(&e));
    CHECK(!strcmp(e.name, "opt"));
    CHECK(!strcmp(e.traces[0].name, "first"));
    CHECK(e.nallocs == 3 && e.nunits == 1);
    CHECK(e.allocs[0].skip && strstr(e.allocs[0].skip, "libarenalab-no-such-library.so.9") &&
          strstr(e.allocs[0].skip, "cannot run here"));
    CHECK(e.allocs[1].skip && strstr(e.allocs[1].skip, "nosuchclass"));
    CHECK(e.allocs[2].skip == NULL);
    CHECK(e.grid[0] == EXP_NONE && e.grid[1] == EXP_NONE && e.grid[2] == 0);
    exp_free(&e);
}

/* A workload whose params table is empty (or holds only nils) has no
 * parameters (found by fuzz_experiment: qsort of a NULL array). */
static void xt_empty_params(void)
{
    exp_t e;
    char err[4096];
    int rc = xt_load(&e, "noparams",
                     "workload('w', {params = {}})\n"
                     "workload('w', {seed = 2, params = {n = nil}})\n"
                     "allocator('raw')\n",
                     err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    if (rc) return;
    CHECK(exp_is_valid(&e));
    CHECK(e.ntraces == 2 && e.traces[0].ndefs == 0 && e.traces[1].ndefs == 0);
    exp_free(&e);
}

/* A workload sweep: one trace per value, named NAME.KEY-VALUE, each with
 * the swept value among its sorted parameters; the grid covers each;
 * workload() returns their names. */
static void xt_workload_sweep(void)
{
    exp_t e;
    char err[4096];
    int rc = xt_load(&e, "wsweep",
                     "local names = workload('w', {seed = 4, params = {k = 'x'},\n"
                     "                             sweep = {n = {10, 2048, 7}}})\n"
                     "assert(#names == 3 and names[2] == 'w-s4.n-2048')\n"
                     "workload('w', {name = 'big', sweep = {big = {1.5}}})\n"
                     "allocator('raw')\nallocator('pymalloc')\n",
                     err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    if (rc) return;
    CHECK(exp_is_valid(&e));
    CHECK(e.ntraces == 4 && e.nunits == 8);
    static const char *const names[] = {"w-s4.n-10", "w-s4.n-2048", "w-s4.n-7", "big.big-1.5"};
    static const char *const values[] = {"10", "2048", "7", "1.5"};
    for (size_t t = 0; t < 4 && t < e.ntraces; t++) {
        const exp_trace_t *w = &e.traces[t];
        CHECKF(!strcmp(w->name, names[t]), "trace %zu: %s", t, w->name);
        CHECK(w->group && !strcmp(w->group, t < 3 ? "w-s4" : "big"));
        CHECK(w->swept && !strcmp(w->swept, t < 3 ? "n" : "big"));
        CHECK(w->seed == (t < 3 ? 4u : (uint64_t)SCRIPT_DEFAULT_SEED) && w->path == NULL);
        CHECK(w->ndefs == (t < 3 ? 2u : 1u));
        const script_def_t *d = &w->defs[t < 3 ? 1 : 0]; /* sorted: k before n */
        CHECK(!strcmp(d->key, w->swept) && !strcmp(d->value, values[t]));
        if (t < 3) CHECK(!strcmp(w->defs[0].key, "k") && !strcmp(w->defs[0].value, "x"));
    }
    exp_free(&e);
}

/* ---- mistakes ---------------------------------------------------------------- */

#define XT_REFUSED                                                                                 \
    "is not available to experiment files (arenalab report --allow-unsafe "                        \
    "gives the full standard library)"

typedef struct {
    const char *name;
    const char *text;
    int rc;
    int line;         /* expected FILE:LINE (0: no line)            */
    const char *what; /* a substring of the message                 */
    int traceback;    /* the message carries a Lua traceback        */
} xt_bad_t;

static const xt_bad_t xt_bads[] = {
    {"runtime", "trace('traces/a.txt')\nallocator('raw')\nlocal x = nil + 1\n", EXP_EFAIL, 3,
     "arithmetic", 1},
    {"syntax", "trace('traces/a.txt')\nallocator('raw'\n", EXP_EFAIL, 3, "expected", 0},
    {"badrepeat", "trace('traces/a.txt')\nrepeats(-1)\n", EXP_EFAIL, 2, "repeats", 0},
    {"badsamples", "samples(1.5)\n", EXP_EFAIL, 1, "samples", 0},
    {"badmeasure", "trace('traces/a.txt')\nmeasure('time', 'speed')\n", EXP_EFAIL, 2,
     "measure: argument 2: expected", 0},
    {"nomeasure", "measure()\n", EXP_EFAIL, 1, "name at least one", 0},
    {"unknownalloc", "trace('traces/a.txt')\n\nallocator('nosuch')\n", EXP_EFAIL, 3,
     "not an allocator", 0},
    {"missinglib", "trace('traces/a.txt')\nallocator('missinglib')\n", EXP_EFAIL, 2,
     "cannot run here", 0},
    {"badspec", "allocator('raw:novalue')\n", EXP_EFAIL, 1, "bad allocator spec", 0},
    {"dupalloc", "allocator('raw')\nallocator('raw')\n", EXP_EFAIL, 2, "already declared", 0},
    {"notrace", "trace('traces/none.txt')\n", EXP_EFAIL, 1, "cannot read trace", 0},
    {"dupname", "trace('traces/a.txt')\ntrace('traces/b.txt', 'a.txt')\n", EXP_EFAIL, 2,
     "already exists", 0},
    {"badname", "trace('traces/a.txt', 'a b')\n", EXP_EFAIL, 1, "bad trace name", 0},
    {"noglob", "traces('traces/*.nothing')\n", EXP_EFAIL, 1, "no readable file", 0},
    {"badkey", "trace('traces/a.txt')\nallocator('raw', {optinal = true})\n", EXP_EFAIL, 2,
     "unknown option 'optinal'", 0},
    {"noscript", "workload('nosuch')\n", EXP_EFAIL, 1, "cannot read script", 0},
    {"badparams", "workload('w', {params = {n = {}}})\n", EXP_EFAIL, 1, "workload params", 0},
    /* A parameter the workload never reads (a typo): found by a dry run
     * when declared, before anything runs. */
    {"paramtypo", "allocator('raw')\n\nworkload('w', {params = {m = 3}})\n", EXP_EFAIL, 3,
     "never reads -D m (a typo?)", 0},
    /* Workload sweeps: every value is dry-run when declared; one bad
     * value declares none of the traces (the message names the point). */
    {"wsweeptypo", "allocator('raw')\nworkload('w', {sweep = {m = {1, 2}}})\n", EXP_EFAIL, 2,
     "workload w-s1.m-1: ", 0},
    {"wsweepvalue", "allocator('raw')\n\nworkload('w', {sweep = {n = {1, 'lots'}}})\n", EXP_EFAIL,
     3, "workload w-s1.n-lots: ", 1},
    {"wsweepboth", "workload('w', {params = {n = 1}, sweep = {n = {1, 2}}})\n", EXP_EFAIL, 1,
     "'n' is both in params and swept", 0},
    {"wsweeptwo", "workload('w', {sweep = {n = {1}, k = {'a'}}})\n", EXP_EFAIL, 1,
     "varies one parameter", 0},
    {"wsweepform", "workload('w', {sweep = {n = 1}})\n", EXP_EFAIL, 1,
     "'sweep' must be {PARAM = {values...}}", 0},
    {"wsweepempty", "workload('w', {sweep = {n = {}}})\n", EXP_EFAIL, 1, "1 to 1000 values", 0},
    {"wsweepdup", "workload('w', {sweep = {n = {1, 2, 1}}})\n", EXP_EFAIL, 1, "appears twice", 0},
    {"wsweepclash", "workload('w', {sweep = {k = {'a b', 'a_b'}}})\n", EXP_EFAIL, 1,
     "would name the same trace", 0},
    {"wsweepgroup", "workload('w', {sweep = {n = {1}}})\nworkload('w', {sweep = {k = {'a'}}})\n",
     EXP_EFAIL, 2, "workload sweep named 'w-s1' already exists", 0},
    {"sweeptrace",
     "trace('traces/a.txt')\nsweep{alloc='pymalloc', param='arena', "
     "values={'1M'}, traces={'zz'}}\n",
     EXP_EFAIL, 2, "no trace named 'zz'", 0},
    {"sweepdup",
     "trace('traces/a.txt')\nsweep{alloc='pymalloc', param='arena', "
     "values={'1M', '1M'}}\n",
     EXP_EFAIL, 2, "appears twice", 0},
    {"sweepset",
     "trace('traces/a.txt')\nsweep{alloc='pymalloc:arena=1M', param='arena', "
     "values={'2M'}}\n",
     EXP_EFAIL, 2, "already sets arena", 0},
    {"sweepvalue",
     "trace('traces/a.txt')\nsweep{alloc='pymalloc', param='arena', "
     "values={'1M:x=2'}}\n",
     EXP_EFAIL, 2, "bad value", 0},
    {"sweepmissing",
     "trace('traces/a.txt')\nsweep{alloc='missinglib', param='x', "
     "values={1}}\n",
     EXP_EFAIL, 2, "cannot run here", 0},
    {"badexecutor", "executor('pbs')\n", EXP_EFAIL, 1, "not an executor (local or slurm)", 0},
    {"executorkey", "\nexecutor('slurm', {partiton = 'x'})\n", EXP_EFAIL, 2,
     "unknown option 'partiton'", 0},
    {"executorargs", "executor('slurm', {sbatch_args = {'--exclusive', 3}})\n", EXP_EFAIL, 1,
     "'sbatch_args' must be a list of strings", 0},
    {"executorretries", "executor('slurm', {retries = 101})\n", EXP_EFAIL, 1,
     "'retries' must be an integer from 0 to 100", 0},
    {"executorlocal", "executor('local', {time = '1:00'})\n", EXP_EFAIL, 1,
     "'local' takes no options", 0},
    {"notraces", "allocator('raw')\n", EXP_EFAIL, 0, "declares no trace", 0},
    {"noallocs", "trace('traces/a.txt')\n", EXP_EFAIL, 0, "declares no allocator", 0},
    {"allskipped", "trace('traces/a.txt')\nallocator('nosuch', {optional = true})\n", EXP_EFAIL, 0,
     "every allocator is skipped", 0},
    /* The sandbox: refused at the line, with the way to allow it. */
    {"nodofile", "dofile('x.lua')\n", EXP_EFAIL, 1, "dofile " XT_REFUSED, 1},
    {"noexec", "trace('traces/a.txt')\nallocator('raw')\nos.execute('touch ' .. root .. '/ran')\n",
     EXP_EFAIL, 3, "os.execute " XT_REFUSED, 1},
    {"nopopen", "local p = io.popen('touch ' .. root .. '/ran')\n", EXP_EFAIL, 1,
     "io.popen " XT_REFUSED, 1},
    {"nowrite", "\nlocal f = io.open(root .. '/written', 'w')\nf:write('x')\n", EXP_EFAIL, 2,
     "io.open " XT_REFUSED, 1},
    {"noremove", "os.remove(root .. '/traces/b.txt')\n", EXP_EFAIL, 1, "os.remove " XT_REFUSED, 1},
    {"nogetenv", "name(os.getenv('USER'))\n", EXP_EFAIL, 1, "os.getenv " XT_REFUSED, 1},
    {"norequire", "local lfs = require('lfs')\n", EXP_EFAIL, 1, "require " XT_REFUSED, 1},
    {"noloadlib", "package.loadlib('libc.so.6', 'system')\n", EXP_EFAIL, 1,
     "package.loadlib " XT_REFUSED, 1},
    {"noloadfile", "loadfile(root .. '/traces/a.txt')\n", EXP_EFAIL, 1, "loadfile " XT_REFUSED, 1},
    {"nodump", "local code = string.dump(function() end)\n", EXP_EFAIL, 1,
     "string.dump is never available to experiment files", 1},
    {"nodebug", "debug.setupvalue(trace, 1, 0)\n", EXP_EFAIL, 1,
     "debug.setupvalue is never available to experiment files", 1},
};

static void xt_bad(const xt_bad_t *b)
{
    exp_t e;
    char err[4096], want[8192];
    int rc = xt_load(&e, b->name, b->text, err, sizeof err);
    CHECKF(rc == b->rc, "%s: rc %d, want %d (%s)", b->name, rc, b->rc, err);
    if (b->line)
        snprintf(want, sizeof want, "%s/%s.lua:%d: ", xt_root, b->name, b->line);
    else
        snprintf(want, sizeof want, "%s/%s.lua: ", xt_root, b->name);
    CHECKF(strncmp(err, want, strlen(want)) == 0, "%s: message '%s', want it to start with '%s'",
           b->name, err, want);
    CHECKF(strstr(err, b->what) != NULL, "%s: message '%s' lacks '%s'", b->name, err, b->what);
    CHECKF((strstr(err, "stack traceback") != NULL) == b->traceback, "%s: traceback: '%s'", b->name,
           err);
    /* Nothing is left: the exp_t is empty. */
    CHECK(e.ntraces == 0 && e.traces == NULL && e.units == NULL && e.name == NULL);
}

static int xt_dump_writer(lua_State *L, const void *p, size_t n, void *ud)
{
    char **out = ud;
    for (size_t i = 0; i < n; i++)
        *out += sprintf(*out, "\\%03u", (unsigned)((const unsigned char *)p)[i]);
    return 0;
}

/* The precompiled chunk of SOURCE as the body of a Lua string literal. */
static void xt_bytecode_literal(const char *source, char *out)
{
    char *p = out;
    *p = '\0';
    lua_State *L = luaL_newstate();
    CHECK(L && luaL_loadstring(L, source) == LUA_OK && lua_dump(L, xt_dump_writer, &p, 0) == 0);
    if (L) lua_close(L);
    CHECK(!strncmp(out, "\\027", 4));
}

/* Nothing the refused calls asked for happened; a binary chunk never loads
 * (it used to crash `report`: Lua does not verify bytecode); allow_unsafe
 * gives io and os, still not binary chunks. */
static void xt_sandbox(void)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/ran", xt_root);
    CHECK(access(path, F_OK) != 0);
    snprintf(path, sizeof path, "%s/written", xt_root);
    CHECK(access(path, F_OK) != 0);
    snprintf(path, sizeof path, "%s/traces/b.txt", xt_root);
    CHECK(access(path, F_OK) == 0);

    static char lit[16384], text[20000];
    xt_bytecode_literal("trace('traces/a.txt')\nallocator('raw')\n", lit);
    snprintf(text, sizeof text, "local f = assert(load(\"%s\"))\nf()\n", lit);
    xt_bad(&(xt_bad_t){"binary", text, EXP_EFAIL, 1, "attempt to load a binary chunk", 1});
    snprintf(text, sizeof text, "\nlocal f = assert(load(\"%s\", 'x', 'b', _ENV))\n", lit);
    xt_bad(&(xt_bad_t){"binary2", text, EXP_EFAIL, 2, "attempt to load a binary chunk", 1});

    xt_allow_unsafe = 1;
    exp_t e;
    char err[4096];
    int rc = xt_load(&e, "unsafe",
                     "local f = assert(io.open(root .. '/written', 'w'))\n"
                     "f:write(os.getenv('PATH') and 'yes' or 'no')\n"
                     "f:close()\n"
                     "trace('traces/a.txt')\n"
                     "allocator('raw')\n",
                     err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    if (rc == 0) exp_free(&e);
    snprintf(path, sizeof path, "%s/written", xt_root);
    FILE *f = fopen(path, "r");
    char got[16] = "";
    CHECK(f && fgets(got, sizeof got, f) && !strcmp(got, "yes"));
    if (f) fclose(f);
    xt_bad(&(xt_bad_t){"unsafebinary", text, EXP_EFAIL, 2, "attempt to load a binary chunk", 1});
    xt_bad(&(xt_bad_t){"unsafedump", "string.dump(print)\n", EXP_EFAIL, 1,
                       "string.dump is never available to experiment files", 1});
    xt_allow_unsafe = 0;
}

/* measure(...): any of the three, together, the last call wins. */
static void xt_measure(void)
{
    exp_t e;
    char err[4096];
    int rc = xt_load(&e, "measure",
                     "trace('traces/a.txt')\nallocator('raw')\nmeasure('latency')\n"
                     "measure('instructions', 'time')\n",
                     err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    if (rc) return;
    CHECK(e.measure == (DRIVER_MEASURE_INSTRUCTIONS | DRIVER_MEASURE_TIME));
    exp_free(&e);
}

static void xt_unreadable(void)
{
    exp_t e;
    char err[4096], path[8192];
    snprintf(path, sizeof path, "%s/no-such-experiment.lua", xt_root);
    int rc = exp_load(&e, path, xt_root, xt_find, 0, err, sizeof err);
    CHECK(rc == EXP_EUSAGE);
    CHECKF(strncmp(err, path, strlen(path)) == 0 && strstr(err, "cannot read"), "%s", err);
}

/* executor(): where the units run, kept as given (the last one wins). */
static void xt_executor(void)
{
    exp_t e;
    char err[1024];
    int rc = xt_load(&e, "exec",
                     "trace('traces/a.txt')\nallocator('raw')\nexecutor('local')\n"
                     "executor('slurm', {partition = 'short', time = '5:00', retries = 0, "
                     "sbatch_args = {'--exclusive', '--constraint=avx2'}})\n",
                     err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    if (rc) return;
    const exp_executor_t *x = &e.executor;
    CHECK(x->slurm == 1 && !strcmp(x->partition, "short") && !strcmp(x->time, "5:00"));
    CHECK(x->retries == 0 && x->nsbatch_args == 2 &&
          !strcmp(x->sbatch_args[1], "--constraint=avx2"));
    exp_free(&e);
    rc = xt_load(&e, "noexec", "trace('traces/a.txt')\nallocator('raw')\n", err, sizeof err);
    CHECK(rc == 0 && e.executor.slurm == 0 && e.executor.retries == -1 && !e.executor.partition);
    if (rc == 0) exp_free(&e);
}

/* The experiment's own Lua data is bounded as a workload's is: a table
 * grown without end is an error naming the bound; under it nothing
 * changes. */
static void xt_memory_bound(void)
{
    exp_t e;
    char err[4096];
    setenv("ARENALAB_LUA_MAX_BYTES", "67108864", 1); /* 64 MiB */
    int rc = xt_load(&e, "hog",
                     "local t = {}\nfor i = 1, 2e8 do t[i] = i end\n"
                     "trace('traces/a.txt')\nallocator('raw')\n",
                     err, sizeof err);
    CHECKF(rc == EXP_EFAIL, "rc %d: an unbounded table ran (%s)", rc, err);
    CHECKF(strstr(err, "hog.lua: out of memory") && strstr(err, "64 MiB") &&
               strstr(err, "ARENALAB_LUA_MAX_BYTES"),
           "%s", err);
    if (rc == 0) exp_free(&e);
    rc = xt_load(&e, "small",
                 "local t = {}\nfor i = 1, 1e5 do t[i] = i end\n"
                 "trace('traces/a.txt')\nallocator('raw')\n",
                 err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    if (rc == 0) exp_free(&e);
    unsetenv("ARENALAB_LUA_MAX_BYTES");
}

int main(void)
{
    xt_setup();
    xt_expansion();
    xt_executor();
    xt_optional();
    xt_empty_params();
    xt_workload_sweep();
    for (size_t i = 0; i < sizeof xt_bads / sizeof xt_bads[0]; i++)
        xt_bad(&xt_bads[i]);
    xt_sandbox();
    xt_measure();
    xt_unreadable();
    xt_memory_bound();
    return check_done();
}
