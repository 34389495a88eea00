/* script_run.c: running a script (script_run, script.h): the structure
 * functions (phase, marker, param, events, live, seed, print) and the
 * math.random overrides, the Lua state every script runs in (the standard
 * library of sandbox.h, then the API), the message handler, and the trace
 * writer's life around the run.
 *
 * Invariants: every Lua call runs protected (the setup under lua_pcall, the
 * script under lua_pcall with script_msgh); the output file is kept only
 * when the script and the writer's close both succeed (trace_writer_abort
 * otherwise); the context outlives the Lua state, whose finalizers (pools)
 * still use it.
 */
#include "sim/lua/internal/script_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- structure: markers, parameters, counters ------------------------------- */

/* What the trace metadata admits (sim/trace/trace.h): a key is 1-255 printable
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
    _script_flush(L, c); /* the events before it first */
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
    script_marker_write(L, _script_ctx(L), "phase", name);
    return 0;
}

/* marker(key, value): any inline marker. */
static int script_marker(lua_State *L)
{
    size_t klen, vlen;
    const char *key = luaL_checklstring(L, 1, &klen);
    const char *value = luaL_checklstring(L, 2, &vlen);
    script_check_marker(L, "marker", key, klen, value, vlen);
    script_marker_write(L, _script_ctx(L), key, value);
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
static int script_param_value(lua_State *L)
{
    script_ctx_t *c = _script_ctx(L);
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

/* param(), and a check_defs dry run's end once every -D has been read:
 * an error no handler in the script should see (script_execute knows it
 * by c->stopped). */
static int script_param(lua_State *L)
{
    int n = script_param_value(L);
    script_ctx_t *c = _script_ctx(L);
    if (!c->check_defs) return n;
    for (size_t i = 0; i < c->ndefs; i++)
        if (!c->used[i]) return n;
    c->stopped = 1;
    return luaL_error(L, "every -D was read (a dry run ends here)");
}

/* events() -> events written so far. */
static int script_events(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)_script_ctx(L)->events);
    return 1;
}

/* live() -> live blocks, live bytes (blocks and arena memory). */
static int script_live(lua_State *L)
{
    script_ctx_t *c = _script_ctx(L);
    lua_pushinteger(L, (lua_Integer)c->live_blocks);
    lua_pushinteger(L, (lua_Integer)c->live_bytes);
    return 2;
}

/* seed() -> the run's seed (--seed). */
static int script_seed(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)_script_ctx(L)->seed);
    return 1;
}

/* print(...): as Lua's, but to the diagnostic stream, so a trace written to
 * standard output stays clean. */
static int script_print(lua_State *L)
{
    script_ctx_t *c = _script_ctx(L);
    FILE *out = c->diag;
    int n = lua_gettop(L);
    progress_clear(&c->bar);
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
    rng_t *r = &_script_ctx(L)->rng;
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
    script_ctx_t *c = _script_ctx(L);
    lua_Integer x = lua_isnoneornil(L, 1) ? (lua_Integer)c->seed : luaL_checkinteger(L, 1);
    rng_seed(&c->rng, (uint64_t)x);
    return 0;
}

/* ---- the Lua state ----------------------------------------------------------- */

/* The structure functions (this file). */
static const luaL_Reg script_api[] = {
    {"phase", script_phase}, {"marker", script_marker},
    {"param", script_param}, {"events", script_events},
    {"live", script_live},   {"seed", script_seed},
    {"print", script_print}, {NULL, NULL},
};

/* The global functions: each module's table in turn, in this order. */
static const luaL_Reg *const script_globals[] = {
    _script_block_api, _script_pool_api, _script_dist_api, _script_thread_api, script_api,
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

/* Names the global table has room for before it grows (script_setup):
 * eight times the 64 a sandboxed script starts with. */
#define SCRIPT_GLOBAL_ROOM 512

/* In upvalue order (SCRIPT_UV_BLOCK ...).  Block handles are light
 * userdata: their metatable is also the state's one for that type. */
#define SCRIPT_TYPE_BLOCK 0
static const script_type_t script_types[] = {
    {"block", _script_block_methods, _script_block_meta},
    {"arena", _script_arena_methods, _script_arena_meta},
    {"pool", _script_pool_methods, _script_pool_meta},
    {"sampler", NULL, _script_sampler_meta},
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
    /* A roomy global table, in place of the state's empty one before
     * anything is put in it: every alloc and free looks its name up there,
     * walking the chain of the names whose hashes share its node, and the
     * hashes change from run to run (Lua seeds them with the time and
     * addresses).  Grown by Lua, the table has as many nodes as names (64:
     * full), and the lookup took 8-16 % of gen's time on bench.lua
     * depending on the run; an eighth full, 9-10 %. */
    lua_createtable(L, 0, SCRIPT_GLOBAL_ROOM);
    lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    /* Never the debug library: it can swap metatables and user values
     * behind the C code's back.  Tracebacks use the C API and need none of
     * it. */
    sandbox_open(L, &c->sandbox);

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
        if (i == SCRIPT_TYPE_BLOCK) {
            /* block handles are light userdata, whose metatable is one per
             * state (set through any light userdata) */
            lua_pushlightuserdata(L, NULL);
            lua_pushvalue(L, mt);
            lua_setmetatable(L, -2);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lua_pushglobaltable(L);
    for (size_t i = 0; i < sizeof script_globals / sizeof script_globals[0]; i++) {
        script_push_upvalues(L, first_mt);
        luaL_setfuncs(L, script_globals[i], SCRIPT_NUV);
    }
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

/* A Lua error message as ERR, naming SCRIPT first: errors raised at a line
 * of it already start "SCRIPT:LINE:"; those without a position (a binary
 * chunk refused at load, out of memory, an error object that is not a
 * string) get "SCRIPT: " in front, so every message says which file.
 * Returns CODE. */
static int script_fail_lua(int code, char *err, size_t errlen, const char *script, const char *msg)
{
    size_t n = strlen(script);
    if (!strncmp(msg, script, n) && msg[n] == ':') return script_fail(code, err, errlen, "%s", msg);
    return script_fail(code, err, errlen, "%s: %s", script, msg);
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
        return script_fail_lua(rc == LUA_ERRFILE ? SCRIPT_EUSAGE : SCRIPT_EFAIL, err, errlen,
                               o->script, msg ? msg : "cannot load the script");
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
    trace_format_t fmt = TRACE_FMT_TEXT;
    rc = trace_output_format(o->output, -1, &fmt, werr, sizeof werr);
    if (rc == 0)
        rc = trace_writer_open(&c->w, o->output, fmt, &meta, TRACE_W_TRUSTED, werr, sizeof werr);
    free(entries);
    free(buf);
    if (rc < 0) return script_fail(SCRIPT_EUSAGE, err, errlen, "%s", werr);

    lua_pushcfunction(L, script_msgh);
    lua_insert(L, -2);
    char what[160];
    const char *base = strrchr(o->script, '/');
    snprintf(what, sizeof what, "gen %s", base ? base + 1 : o->script);
    progress_start(&c->bar, o->progress, what, 0);
    rc = lua_pcall(L, 0, 0, -2);
    progress_end(&c->bar);
    if (rc != LUA_OK && c->stopped) { /* a check_defs dry run, done */
        trace_writer_abort(c->w);
        c->w = NULL;
        return 0;
    }
    if (rc == LUA_ERRMEM && c->mem.over) {
        script_fail(SCRIPT_EFAIL, err, errlen,
                    "%s: out of memory: the script's own Lua data (tables, strings) reached "
                    "its bound, %zu MiB (" SANDBOX_MEM_HINT ")",
                    o->script, c->mem.max >> 20);
        trace_writer_abort(c->w);
        c->w = NULL;
        return SCRIPT_EFAIL;
    }
    if (rc != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        script_fail_lua(SCRIPT_EFAIL, err, errlen, o->script, msg ? msg : "error in the script");
        trace_writer_abort(c->w);
        c->w = NULL;
        return SCRIPT_EFAIL;
    }
    if (c->nbatch && trace_write_trusted(c->w, c->batch, c->nbatch) < 0) {
        script_fail(SCRIPT_EFAIL, err, errlen, "cannot write the trace: %s",
                    trace_writer_error(c->w));
        trace_writer_abort(c->w);
        c->w = NULL;
        return SCRIPT_EFAIL;
    }
    c->nbatch = 0;
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
    c->sandbox = (sandbox_opts_t){"workload scripts",
                                  o->allow_hint ? o->allow_hint : "arenalab gen --allow-unsafe",
                                  o->allow_unsafe};
    c->defs = o->defs;
    c->ndefs = o->ndefs;
    c->used = calloc(o->ndefs + 1, 1);
    c->check_defs = o->check_defs;
    lua_State *L = c->used ? luaL_newstate() : NULL;
    if (L) sandbox_bound_memory(L, &c->mem);
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
            if (j == i && !c->used[i] && o->check_defs) {
                rc = script_fail(SCRIPT_EFAIL, err, errlen, "%s never reads -D %s (a typo?)",
                                 o->script, o->defs[i].key);
                break;
            }
            if (j == i && !c->used[i])
                fprintf(c->diag, "arenalab: warning: %s never reads -D %s (a typo?)\n", o->script,
                        o->defs[i].key);
        }
    }
    if (rc == 0 && stats) {
        stats->events = c->events;
        stats->markers = c->markers;
        stats->peak_blocks = c->peak_blocks;
        stats->peak_bytes = c->peak_bytes;
    }
    lua_close(L); /* finalizers (pools) still use the tables in c */
    free(c->blocks);
    free(c->arenas);
    free(c->thread_ended);
    free(c->used);
    free(c);
    return rc;
}
