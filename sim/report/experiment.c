/* experiment.c: runs an experiment file and expands it (see experiment.h),
 * on Lua's public API only.
 *
 * Every declaration function checks its arguments completely before it
 * allocates anything in C, so a Lua error (which longjmps) never leaks: C
 * memory is either not yet taken or already attached to the exp_t that
 * exp_free releases.  Declarations report their own mistakes with the
 * caller's FILE:LINE and no traceback (the line is the whole story); any
 * other Lua error gets the traceback.
 */
#include "sim/report/experiment.h"
#include "sim/report/internal/experiment_impl.h"

#include "alloc/params.h"
#include "sim/lua/sandbox.h"
#include "sim/replay/driver.h"

#include <lauxlib.h>
#include <lua.h>

#include <errno.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXP_NAME_MAX 100
/* A sweep's repeat before expansion: the experiment's. */
#define EXP_REPEAT_DEFAULT UINT_MAX

typedef struct {
    exp_t *e;
    route_find_fn find;
    int allow_unsafe; /* no sandbox: the full standard library */
    size_t trace_cap, alloc_cap, sweep_cap, unit_cap;
    unsigned char *sweep_all; /* per sweep: traces omitted -> every trace  */
    int plain;                /* the error is a declaration's: no traceback */
} exp_ctx_t;

/* ---- small helpers -------------------------------------------------------- */

/* Grows *P (elements of SIZE) to hold N + 1.  Returns 0 or -1. */
static int exp_grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    if (ncap < *cap || ncap > SIZE_MAX / size) return -1;
    void *q = realloc(*p, ncap * size);
    if (!q) return -1;
    *p = q;
    *cap = ncap;
    return 0;
}

static char *exp_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* malloc'ed A + B + C; NULL when out of memory. */
static char *exp_concat(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 1);
    if (!s) return NULL;
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    memcpy(s + la + lb, c, lc + 1);
    return s;
}

static exp_ctx_t *exp_ctx(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

/* A declaration's mistake: "FILE:LINE: message" of the calling line. */
static int exp_raise(lua_State *L, const char *fmt, ...)
{
    exp_ctx(L)->plain = 1;
    luaL_where(L, 1);
    va_list ap;
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    lua_concat(L, 2);
    return lua_error(L);
}

static int exp_line(lua_State *L)
{
    lua_Debug ar;
    if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "l", &ar)) return ar.currentline;
    return 0;
}

static int exp_name_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || c == '+';
}

static int exp_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > EXP_NAME_MAX || s[0] == '.' || s[0] == '-') return 0;
    for (size_t i = 0; i < n; i++)
        if (!exp_name_char((unsigned char)s[i])) return 0;
    return 1;
}

/* A default name made from TEXT (a base name): bad characters become '_'. */
static void exp_sanitize(const char *text, char *out, size_t len)
{
    size_t n = 0;
    for (const char *p = text; *p && n + 1 < len && n < EXP_NAME_MAX; p++)
        out[n++] = exp_name_char((unsigned char)*p) ? *p : '_';
    out[n] = '\0';
    if (n == 0 || out[0] == '.' || out[0] == '-') out[0] = '_';
    if (n == 0) out[1] = '\0';
}

static const char *exp_basename(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Rejects any key of the options table at IDX that is not in KEYS. */
static void exp_check_keys(lua_State *L, int idx, const char *what, const char *const *keys)
{
    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) exp_raise(L, "%s: option keys are names", what);
        const char *k = lua_tostring(L, -1);
        const char *const *p = keys;
        while (*p && strcmp(*p, k) != 0)
            p++;
        if (!*p) exp_raise(L, "%s: unknown option '%s'", what, k);
    }
}

/* The optional string field KEY of the table at IDX, or NULL. */
static const char *exp_opt_string(lua_State *L, int idx, const char *key, const char *what)
{
    int t = lua_getfield(L, idx, key);
    const char *s = NULL;
    if (t == LUA_TSTRING)
        s = lua_tostring(L, -1);
    else if (t != LUA_TNIL)
        exp_raise(L, "%s: '%s' must be a string", what, key);
    lua_pop(L, 1); /* the string stays alive in the table */
    return s;
}

/* The optional integer field KEY in [MIN, MAX], or DEF. */
static lua_Integer exp_opt_int(lua_State *L, int idx, const char *key, lua_Integer min,
                               lua_Integer max, lua_Integer def, const char *what)
{
    int t = lua_getfield(L, idx, key);
    lua_Integer v = def;
    if (t != LUA_TNIL) {
        int isint = 0;
        v = lua_tointegerx(L, -1, &isint);
        if (t != LUA_TNUMBER || !isint || v < min || v > max)
            exp_raise(L, "%s: '%s' must be an integer from %I to %I", what, key, min, max);
    }
    lua_pop(L, 1);
    return v;
}

static int exp_opt_bool(lua_State *L, int idx, const char *key, const char *what)
{
    int t = lua_getfield(L, idx, key);
    if (t != LUA_TNIL && t != LUA_TBOOLEAN)
        exp_raise(L, "%s: '%s' must be true or false", what, key);
    int v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* A scalar (string, integer, float, boolean) at IDX as text in BUF; raises
 * for other types.  Never converts the value in place (safe in lua_next). */
static void exp_scalar(lua_State *L, int idx, char *buf, size_t len, const char *what)
{
    switch (lua_type(L, idx)) {
    case LUA_TSTRING:
        snprintf(buf, len, "%s", lua_tostring(L, idx));
        if (strlen(lua_tostring(L, idx)) >= len) exp_raise(L, "%s: value too long", what);
        return;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            snprintf(buf, len, "%lld", (long long)lua_tointeger(L, idx));
        else
            snprintf(buf, len, "%.14g", (double)lua_tonumber(L, idx));
        return;
    case LUA_TBOOLEAN:
        snprintf(buf, len, "%s", lua_toboolean(L, idx) ? "true" : "false");
        return;
    default:
        exp_raise(L, "%s: expected a string, a number or a boolean, got %s", what,
                  luaL_typename(L, idx));
    }
}

/* Absolute path of PATH (relative: to the root).  NULL when out of memory. */
static char *exp_abspath(const exp_t *e, const char *path)
{
    return path[0] == '/' ? strdup(path) : exp_concat(e->root, "/", path);
}

static int exp_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

/* SPEC with a relative so:/plugin: library path made absolute from the
 * repository root, as a trace's path is (the new text is pushed on the
 * stack, which keeps it); SPEC itself otherwise. */
static const char *exp_spec_path(lua_State *L, const char *spec)
{
    exp_ctx_t *c = exp_ctx(L);
    alloc_ext_t x;
    char err[256];
    if (alloc_spec_ext(spec, &x, err, sizeof err) != 1 || x.path[0] == '/') return spec;
    const char *path = strncmp(x.path, "./", 2) == 0 ? x.path + 2 : x.path;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, spec, x.head - strlen(x.path));
    luaL_addstring(&b, c->e->root);
    luaL_addchar(&b, '/');
    luaL_addstring(&b, path);
    luaL_addstring(&b, spec + x.head);
    luaL_pushresult(&b);
    return lua_tostring(L, -1);
}

/* Why the class of SPEC cannot run here, or NULL when it can.  BUF holds
 * the reason.  Raises for a spec that does not parse. */
static const char *exp_unavailable(lua_State *L, const char *spec, char *buf, size_t len)
{
    exp_ctx_t *c = exp_ctx(L);
    alloc_spec_t s;
    char err[512];
    if (alloc_spec_parse(&s, spec, err, sizeof err))
        exp_raise(L, "bad allocator spec '%s': %s", spec, err);
    const alloc_class_t *cls = c->find ? c->find(s.name) : alloc_find(s.name);
    if (!cls) {
        snprintf(buf, len, "'%s' is not an allocator of this build (see 'arenalab replay --list')",
                 s.name);
        return buf;
    }
    char why[768] = "";
    if (cls->available && !cls->available(why, sizeof why)) {
        snprintf(buf, len, "%s cannot run here: %s", s.name, *why ? why : "(no reason given)");
        return buf;
    }
    return NULL;
}

/* route_create and route_destroy of the uniform route SPEC.  A plugin's
 * (code that is not ours) run in a child process, so that one crashing in
 * its create() or destroy() is an error naming it, never the end of the
 * report.  0, or -1 with the message in ERR. */
static int exp_dry_run(const char *spec, route_find_fn find, char *err, size_t errlen)
{
    route_t r;
    route_uniform(&r, spec);
    route_heaps_t h;
    int fd[2] = {-1, -1};
    pid_t pid = -1;
    if (strncmp(spec, "plugin:", 7) == 0 && pipe2(fd, O_CLOEXEC) == 0) {
        fflush(stdout);
        fflush(stderr);
        pid = fork();
    }
    if (pid <= 0) {
        int rc = route_create(&h, &r, find, err, errlen);
        if (rc == 0) route_destroy(&h);
        if (pid < 0) return rc ? -1 : 0; /* no child: done here */
        if (rc) (void)!write(fd[1], err, strlen(err));
        _exit(rc ? 1 : 0);
    }
    close(fd[1]);
    size_t got = 0;
    for (ssize_t n; got + 1 < errlen && (n = read(fd[0], err + got, errlen - 1 - got)) != 0;)
        if (n > 0)
            got += (size_t)n;
        else if (errno != EINTR)
            break;
    err[got] = '\0';
    close(fd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(status)) {
        const char *abbrev = sigabbrev_np(WTERMSIG(status));
        snprintf(err, errlen,
                 "%s: the plugin crashed when created and destroyed (signal %d, SIG%s)", spec,
                 WTERMSIG(status), abbrev ? abbrev : "?");
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (!got) snprintf(err, errlen, "%s: its dry run failed", spec);
        return -1;
    }
    return 0;
}

/* Raises, at the calling line, unless SPEC (available here) can be created
 * with every one of its parameters understood: a dry run of what each
 * worker does, so that a bad parameter or value stops the experiment
 * before anything runs or is created.  The classes that cannot be created
 * in this process (a preloaded library: its malloc is not ours here; the
 * process-global cpython) are checked by name, and a preloaded library
 * takes no parameters. */
static void exp_check_spec(lua_State *L, const char *spec, const char *what)
{
    exp_ctx_t *c = exp_ctx(L);
    alloc_spec_t s;
    char err[1024];
    if (alloc_spec_parse(&s, spec, err, sizeof err))
        exp_raise(L, "%s: bad allocator spec '%s': %s", what, spec, err);
    const alloc_class_t *cls = c->find ? c->find(s.name) : alloc_find(s.name);
    if (!cls) return; /* exp_unavailable said so */
    if (cls->flags & ALLOC_PRELOAD) {
        if (s.nparams) exp_raise(L, "%s: %s takes no parameters ('%s')", what, s.name, spec);
        return;
    }
    if (cls->flags & ALLOC_PROCESS_GLOBAL) return;
    if (exp_dry_run(spec, c->find, err, sizeof err)) exp_raise(L, "%s: %s", what, err);
}

/* ---- traces ------------------------------------------------------------------ */

static size_t exp_trace_index(const exp_t *e, const char *name)
{
    for (size_t i = 0; i < e->ntraces; i++)
        if (strcmp(e->traces[i].name, name) == 0) return i;
    return EXP_NONE;
}

size_t exp_find_trace(const exp_t *e, const char *name)
{
    return exp_trace_index(e, name);
}

static void exp_trace_free(exp_trace_t *t)
{
    free(t->name);
    free(t->path);
    free(t->script);
    free(t->group);
    free(t->swept);
    for (size_t i = 0; t->cmd && t->cmd[i]; i++)
        free(t->cmd[i]);
    free(t->cmd);
    for (size_t i = 0; i < t->ndefs; i++) {
        free((char *)t->defs[i].key);
        free((char *)t->defs[i].value);
    }
    free(t->defs);
}

/* Appends T (its memory now the experiment's); frees it and raises when
 * out of memory. */
static void exp_add_trace(lua_State *L, exp_trace_t *t)
{
    exp_ctx_t *c = exp_ctx(L);
    exp_t *e = c->e;
    if (exp_grow((void **)&e->traces, &c->trace_cap, e->ntraces, sizeof *e->traces)) {
        exp_trace_free(t);
        exp_raise(L, "out of memory");
    }
    e->traces[e->ntraces++] = *t;
}

/* Checks NAME for a new trace (explicit: from the user, else derived). */
static void exp_check_trace_name(lua_State *L, const char *name)
{
    if (!exp_name_ok(name))
        exp_raise(L, "bad trace name '%s' (letters, digits and . _ + -, at most %d)", name,
                  EXP_NAME_MAX);
    if (exp_trace_index(exp_ctx(L)->e, name) != EXP_NONE)
        exp_raise(L, "a trace named '%s' already exists (give another name)", name);
}

/* Adds the recorded trace file PATH (absolute, checked) as NAME. */
static void exp_add_file(lua_State *L, const char *abs, const char *name, int line)
{
    exp_trace_t t = {0};
    t.name = strdup(name);
    t.path = strdup(abs);
    t.line = line;
    if (!t.name || !t.path) {
        exp_trace_free(&t);
        exp_raise(L, "out of memory");
    }
    exp_add_trace(L, &t);
}

/* trace(path [, name]) -> name */
static int exp_l_trace(lua_State *L)
{
    exp_ctx_t *c = exp_ctx(L);
    const char *path = luaL_checkstring(L, 1);
    const char *given = luaL_optstring(L, 2, NULL);
    char name[EXP_NAME_MAX + 2];
    if (given)
        snprintf(name, sizeof name, "%s", given);
    else
        exp_sanitize(exp_basename(path), name, sizeof name);
    if (given && strlen(given) > EXP_NAME_MAX) exp_raise(L, "trace name too long");
    exp_check_trace_name(L, name);
    char *abs = exp_abspath(c->e, path);
    if (!abs) exp_raise(L, "out of memory");
    if (!exp_is_file(abs)) {
        lua_pushstring(L, abs);
        free(abs);
        exp_raise(L, "cannot read trace '%s' (%s)", path, lua_tostring(L, -1));
    }
    lua_pushstring(L, abs); /* the copy Lua keeps until the call returns */
    free(abs);
    exp_add_file(L, lua_tostring(L, -1), name, exp_line(L));
    lua_pushstring(L, name);
    return 1;
}

/* Whether the command's program PROG can be run from ROOT: a path (with
 * a '/') relative to ROOT, else a name found on PATH. */
static int exp_program_found(const exp_t *e, const char *prog)
{
    if (strchr(prog, '/')) {
        char *abs = exp_abspath(e, prog);
        int ok = abs && access(abs, X_OK) == 0;
        free(abs);
        return ok;
    }
    const char *path = getenv("PATH");
    if (!path || !*prog) return 0;
    for (const char *p = path;;) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char buf[4096];
        if (n && n < sizeof buf - strlen(prog) - 2) {
            snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, prog);
            struct stat st;
            if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0) return 1;
        }
        if (!end) return 0;
        p = end + 1;
    }
}

/* program(name, {cmd = {PROG, ARGS...}, trace = PATH}) -> name: the trace
 * PATH, recorded from the command, which the report also runs for real. */
static int exp_l_program(lua_State *L)
{
    exp_ctx_t *c = exp_ctx(L);
    const char *name = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    static const char *const keys[] = {"cmd", "trace", NULL};
    exp_check_keys(L, 2, "program", keys);
    if (strlen(name) > EXP_NAME_MAX) exp_raise(L, "trace name too long");
    exp_check_trace_name(L, name);
    const char *path = exp_opt_string(L, 2, "trace", "program");
    if (!path) exp_raise(L, "program %s: 'trace' (the recording of the command) is missing", name);
    if (lua_getfield(L, 2, "cmd") != LUA_TTABLE)
        exp_raise(L, "program %s: 'cmd' must be a list of strings {PROGRAM, ARGS...}", name);
    int cmdidx = lua_gettop(L);
    lua_Integer n = (lua_Integer)lua_rawlen(L, cmdidx);
    if (n < 1 || n > 1000)
        exp_raise(L, "program %s: 'cmd' must be a list of 1 to 1000 strings", name);
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_rawgeti(L, cmdidx, i) != LUA_TSTRING)
            exp_raise(L, "program %s: cmd[%d] must be a string", name, (int)i);
        lua_pop(L, 1);
    }
    lua_rawgeti(L, cmdidx, 1);
    const char *prog = lua_tostring(L, -1);
    if (!exp_program_found(c->e, prog))
        exp_raise(L, "program %s: cannot run '%s' (%s)", name, prog,
                  strchr(prog, '/') ? "no executable file there, relative to the repository root"
                                    : "not found on PATH");
    lua_pop(L, 1);
    char *abs = exp_abspath(c->e, path);
    if (!abs) exp_raise(L, "out of memory");
    if (!exp_is_file(abs)) {
        lua_pushstring(L, abs);
        free(abs);
        exp_raise(L, "program %s: cannot read trace '%s' (%s)", name, path, lua_tostring(L, -1));
    }
    exp_trace_t t = {0};
    t.name = strdup(name);
    t.path = abs;
    t.line = exp_line(L);
    t.cmd = calloc((size_t)n + 1, sizeof *t.cmd);
    for (lua_Integer i = 1; t.cmd && i <= n; i++) {
        lua_rawgeti(L, cmdidx, i);
        t.cmd[i - 1] = strdup(lua_tostring(L, -1));
        lua_pop(L, 1);
        if (!t.cmd[i - 1]) {
            exp_trace_free(&t);
            exp_raise(L, "out of memory");
        }
    }
    if (!t.name || !t.cmd) {
        exp_trace_free(&t);
        exp_raise(L, "out of memory");
    }
    exp_add_trace(L, &t);
    lua_pushstring(L, name);
    return 1;
}

/* traces(pattern [, {optional = true}]) -> {names} */
static int exp_l_traces(lua_State *L)
{
    static const char *const keys[] = {"optional", NULL};
    exp_ctx_t *c = exp_ctx(L);
    const char *pattern = luaL_checkstring(L, 1);
    int optional = 0;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        exp_check_keys(L, 2, "traces", keys);
        optional = exp_opt_bool(L, 2, "optional", "traces");
    }
    char *abs = exp_abspath(c->e, pattern);
    if (!abs) exp_raise(L, "out of memory");
    glob_t g;
    int rc = glob(abs, 0, NULL, &g);
    free(abs);
    if (rc == GLOB_NOSPACE) exp_raise(L, "out of memory");
    if (rc != 0 && rc != GLOB_NOMATCH) exp_raise(L, "traces: cannot read '%s'", pattern);
    /* Copy the matches into Lua strings first, so a raise leaks nothing. */
    lua_newtable(L);
    int paths = lua_gettop(L);
    lua_Integer n = 0;
    for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++)
        if (exp_is_file(g.gl_pathv[i])) {
            lua_pushstring(L, g.gl_pathv[i]);
            lua_rawseti(L, paths, ++n);
        }
    if (rc == 0) globfree(&g);
    if (n == 0 && !optional)
        exp_raise(L,
                  "traces: no readable file matches '%s' (add {optional = true} if that is "
                  "fine)",
                  pattern);
    lua_newtable(L);
    int names = lua_gettop(L);
    int line = exp_line(L);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, paths, i);
        const char *path = lua_tostring(L, -1);
        char name[EXP_NAME_MAX + 2];
        exp_sanitize(exp_basename(path), name, sizeof name);
        exp_check_trace_name(L, name);
        exp_add_file(L, path, name, line);
        lua_pushstring(L, name);
        lua_rawseti(L, names, i);
        lua_pop(L, 1);
    }
    return 1;
}

static int exp_def_cmp(const void *a, const void *b)
{
    return strcmp(((const script_def_t *)a)->key, ((const script_def_t *)b)->key);
}

/* The trace of a workload: script PATH, SEED, the parameters of the table
 * at PARAMS (0: none) plus SWEPT=VALUE when SWEPT is not NULL, named NAME,
 * in the sweep GROUP (or NULL).  Frees what it took and raises when out
 * of memory; the table's values were checked by the caller. */
static void exp_workload_trace(lua_State *L, exp_trace_t *t, const char *name, const char *path,
                               lua_Integer seed, int params, size_t ndefs, const char *group,
                               const char *swept, const char *value)
{
    memset(t, 0, sizeof *t);
    size_t n = ndefs + (swept != NULL);
    t->name = strdup(name);
    t->script = strdup(path);
    t->seed = (uint64_t)seed;
    t->line = exp_line(L);
    t->defs = n ? calloc(n, sizeof *t->defs) : NULL;
    t->group = exp_strdup(group);
    t->swept = exp_strdup(swept);
    int oom =
        !t->name || !t->script || (n && !t->defs) || (group && !t->group) || (swept && !t->swept);
    if (params && !oom) {
        char buf[256];
        lua_pushnil(L);
        while (lua_next(L, params)) {
            exp_scalar(L, -1, buf, sizeof buf, "workload params"); /* checked: no raise */
            char *k = strdup(lua_tostring(L, -2)), *v = strdup(buf);
            t->defs[t->ndefs++] = (script_def_t){k, v};
            oom |= !k || !v;
            lua_pop(L, 1);
        }
    }
    if (swept && !oom) {
        char *k = strdup(swept), *v = strdup(value);
        t->defs[t->ndefs++] = (script_def_t){k, v};
        oom |= !k || !v;
    }
    /* none when every value was nil: qsort takes no NULL array */
    if (!oom && t->ndefs > 1) qsort(t->defs, t->ndefs, sizeof *t->defs, exp_def_cmp);
    if (oom) {
        exp_trace_free(t);
        exp_raise(L, "out of memory");
    }
}

/* Parameters are checked before anything runs: a dry run of T into
 * /dev/null that stops once the script has read them all, so a -D it
 * never reads (a typo: then the run goes to the end) or a value param()
 * cannot convert is an error at this line.  Frees T and raises then. */
static void exp_workload_check(lua_State *L, exp_trace_t *t)
{
    if (!t->ndefs) return;
    char err[2048];
    FILE *quiet = fopen("/dev/null", "w");
    script_opts_t o = {.script = t->script,
                       .output = "/dev/null",
                       .seed = t->seed,
                       .defs = t->defs,
                       .ndefs = t->ndefs,
                       .diag = quiet,
                       .allow_unsafe = exp_ctx(L)->allow_unsafe,
                       .allow_hint = "arenalab report --allow-unsafe",
                       .check_defs = 1};
    int rc = quiet ? script_run(&o, NULL, err, sizeof err) : SCRIPT_EUSAGE;
    if (!quiet) snprintf(err, sizeof err, "/dev/null: %s", strerror(errno));
    if (quiet) fclose(quiet);
    if (rc) {
        char name[EXP_NAME_MAX + 2];
        snprintf(name, sizeof name, "%s", t->name);
        exp_trace_free(t);
        exp_raise(L, "workload %s: %s", name, err);
    }
}

/* The name of the point VALUE of the workload sweep BASE over PARAM. */
static void exp_point_name(const char *base, const char *param, const char *value, char *out,
                           size_t len)
{
    char v[EXP_NAME_MAX + 2];
    exp_sanitize(value, v, sizeof v);
    snprintf(out, len, "%s.%s-%s", base, param, v);
}

/* workload(script [, {seed = N, name = S, params = {...},
 *                     sweep = {KEY = {values}}}]) -> name, or {names} */
static int exp_l_workload(lua_State *L)
{
    static const char *const keys[] = {"seed", "name", "params", "sweep", NULL};
    exp_ctx_t *c = exp_ctx(L);
    const char *script = luaL_checkstring(L, 1);
    lua_Integer seed = SCRIPT_DEFAULT_SEED;
    const char *given = NULL;
    size_t ndefs = 0;
    int params = 0, values = 0;
    const char *swept = NULL;
    lua_Integer nvalues = 0;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        exp_check_keys(L, 2, "workload", keys);
        seed = exp_opt_int(L, 2, "seed", 0, LUA_MAXINTEGER, SCRIPT_DEFAULT_SEED, "workload");
        given = exp_opt_string(L, 2, "name", "workload");
        int t = lua_getfield(L, 2, "params");
        if (t == LUA_TTABLE) {
            params = lua_gettop(L);
            char buf[256];
            lua_pushnil(L);
            while (lua_next(L, params)) {
                if (lua_type(L, -2) != LUA_TSTRING) exp_raise(L, "workload: params keys are names");
                exp_scalar(L, -1, buf, sizeof buf, "workload params");
                ndefs++;
                lua_pop(L, 1);
            }
        } else if (t != LUA_TNIL) {
            exp_raise(L, "workload: 'params' must be a table of name = value");
        }
        t = lua_getfield(L, 2, "sweep");
        if (t == LUA_TTABLE) {
            int sw = lua_gettop(L);
            lua_pushnil(L);
            if (!lua_next(L, sw) || lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TTABLE)
                exp_raise(L, "workload: 'sweep' must be {PARAM = {values...}}");
            lua_pushvalue(L, -2);
            if (lua_next(L, sw)) exp_raise(L, "workload: 'sweep' varies one parameter");
            swept = lua_tostring(L, -2);
            values = lua_gettop(L); /* the key stays below it: the string lives */
            if (!*swept) exp_raise(L, "workload: empty sweep parameter name");
            for (const char *p = swept; *p; p++)
                if (!exp_name_char((unsigned char)*p) || *p == '.' || *p == '+' || *p == '-')
                    exp_raise(L, "workload: bad sweep parameter name '%s'", swept);
            if (params && lua_getfield(L, params, swept) != LUA_TNIL)
                exp_raise(L, "workload: '%s' is both in params and swept", swept);
            if (params) lua_pop(L, 1);
            nvalues = (lua_Integer)lua_rawlen(L, values);
            if (nvalues < 1 || nvalues > 1000)
                exp_raise(L, "workload: the sweep of '%s' must hold 1 to 1000 values", swept);
            char buf[128], other[128];
            for (lua_Integer i = 1; i <= nvalues; i++) {
                lua_rawgeti(L, values, i);
                exp_scalar(L, -1, buf, sizeof buf, "workload sweep values");
                lua_pop(L, 1);
                if (!*buf) exp_raise(L, "workload: an empty value in the sweep of '%s'", swept);
                for (lua_Integer j = 1; j < i; j++) {
                    lua_rawgeti(L, values, j);
                    exp_scalar(L, -1, other, sizeof other, "workload sweep values");
                    lua_pop(L, 1);
                    if (!strcmp(other, buf))
                        exp_raise(L, "workload: value '%s' appears twice in the sweep of '%s'", buf,
                                  swept);
                }
            }
        } else if (t != LUA_TNIL) {
            exp_raise(L, "workload: 'sweep' must be {PARAM = {values...}}");
        }
    }
    /* "churn" is the library's; anything with a slash or .lua is a path. */
    size_t sl = strlen(script);
    int library = !strchr(script, '/') && !(sl > 4 && strcmp(script + sl - 4, ".lua") == 0);
    char *abs =
        library ? exp_concat(c->e->root, "/scripts/workloads/", script) : exp_abspath(c->e, script);
    char *withext = abs && library ? exp_concat(abs, ".lua", "") : NULL;
    if (library) {
        free(abs);
        abs = withext;
    }
    if (!abs) exp_raise(L, "out of memory");
    lua_pushstring(L, abs);
    free(abs);
    const char *path = lua_tostring(L, -1);
    if (!exp_is_file(path)) exp_raise(L, "workload: cannot read script '%s' (%s)", script, path);

    char name[EXP_NAME_MAX + 2], base[EXP_NAME_MAX + 2];
    if (given) {
        if (strlen(given) > EXP_NAME_MAX) exp_raise(L, "trace name too long");
        snprintf(name, sizeof name, "%s", given);
    } else {
        exp_sanitize(exp_basename(path), base, sizeof base);
        size_t bl = strlen(base);
        if (bl > 4 && strcmp(base + bl - 4, ".lua") == 0) base[bl - 4] = '\0';
        snprintf(name, sizeof name, "%.60s-s%lld", base, (long long)seed);
    }
    exp_trace_t t;
    if (!swept) {
        exp_check_trace_name(L, name);
        exp_workload_trace(L, &t, name, path, seed, params, ndefs, NULL, NULL, NULL);
        exp_workload_check(L, &t);
        exp_add_trace(L, &t);
        lua_pushstring(L, name);
        return 1;
    }
    /* A sweep: every point's name and dry run first, so that a bad value
     * declares none of them; then the traces. */
    const exp_t *e = c->e;
    for (size_t i = 0; i < e->ntraces; i++)
        if (e->traces[i].group && !strcmp(e->traces[i].group, name))
            exp_raise(L, "a workload sweep named '%s' already exists (give another name)", name);
    char point[3 * EXP_NAME_MAX], value[128], other[3 * EXP_NAME_MAX];
    for (lua_Integer i = 1; i <= nvalues; i++) {
        lua_rawgeti(L, values, i);
        exp_scalar(L, -1, value, sizeof value, "workload sweep values");
        lua_pop(L, 1);
        exp_point_name(name, swept, value, point, sizeof point);
        if (strlen(point) > EXP_NAME_MAX)
            exp_raise(L, "workload: trace name '%.*s...' too long (give a shorter name)", 40,
                      point);
        exp_check_trace_name(L, point);
        for (lua_Integer j = 1; j < i; j++) {
            lua_rawgeti(L, values, j);
            char v2[128];
            exp_scalar(L, -1, v2, sizeof v2, "workload sweep values");
            lua_pop(L, 1);
            exp_point_name(name, swept, v2, other, sizeof other);
            if (!strcmp(other, point))
                exp_raise(L, "workload: values '%s' and '%s' would name the same trace '%s'", v2,
                          value, point);
        }
        exp_workload_trace(L, &t, point, path, seed, params, ndefs, name, swept, value);
        exp_workload_check(L, &t);
        exp_trace_free(&t);
    }
    lua_createtable(L, (int)nvalues, 0);
    for (lua_Integer i = 1; i <= nvalues; i++) {
        lua_rawgeti(L, values, i);
        exp_scalar(L, -1, value, sizeof value, "workload sweep values");
        lua_pop(L, 1);
        exp_point_name(name, swept, value, point, sizeof point);
        exp_workload_trace(L, &t, point, path, seed, params, ndefs, name, swept, value);
        exp_add_trace(L, &t);
        lua_pushstring(L, point);
        lua_rawseti(L, -2, i);
    }
    return 1;
}

/* ---- allocators ------------------------------------------------------------- */

/* allocator(spec [, {optional = true}]) -> spec */
static int exp_l_allocator(lua_State *L)
{
    static const char *const keys[] = {"optional", NULL};
    exp_ctx_t *c = exp_ctx(L);
    exp_t *e = c->e;
    const char *spec = luaL_checkstring(L, 1);
    int optional = 0;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        exp_check_keys(L, 2, "allocator", keys);
        optional = exp_opt_bool(L, 2, "optional", "allocator");
    }
    spec = exp_spec_path(L, spec);
    for (size_t i = 0; i < e->nallocs; i++)
        if (strcmp(e->allocs[i].spec, spec) == 0)
            exp_raise(L, "allocator '%s' is already declared", spec);
    char why[1024];
    const char *skip = exp_unavailable(L, spec, why, sizeof why);
    if (skip && !optional)
        exp_raise(L, "allocator %s (declare it with {optional = true} to skip it)", skip);
    if (!skip) exp_check_spec(L, spec, "allocator");
    if (exp_grow((void **)&e->allocs, &c->alloc_cap, e->nallocs, sizeof *e->allocs))
        exp_raise(L, "out of memory");
    exp_alloc_t a = {strdup(spec), optional, exp_strdup(skip), exp_line(L)};
    if (!a.spec || (skip && !a.skip)) {
        free(a.spec);
        free(a.skip);
        exp_raise(L, "out of memory");
    }
    e->allocs[e->nallocs++] = a;
    lua_pushstring(L, spec);
    return 1;
}

/* ---- sweeps --------------------------------------------------------------------- */

static void exp_sweep_free(exp_sweep_t *s)
{
    free(s->title);
    free(s->base);
    free(s->param);
    for (size_t i = 0; s->values && i < s->nvalues; i++)
        free(s->values[i]);
    free(s->values);
    free(s->x);
    free(s->traces);
    free(s->points);
}

/* A sweep value as a number (experiment.h); figures.c places a workload
 * sweep's values with it too. */
int exp_value_number(const char *value, double *out)
{
    uint64_t v;
    if (alloc_parse_size(value, &v) == 0) {
        *out = (double)v;
        return 0;
    }
    char *end;
    errno = 0;
    double d = strtod(value, &end);
    if (end == value || *end || errno || !isfinite(d)) return -1;
    *out = d;
    return 0;
}

/* sweep{alloc = SPEC, param = KEY, values = {...}, traces = {...},
 *       repeats = N, title = S} */
static int exp_l_sweep(lua_State *L)
{
    static const char *const keys[] = {"alloc",   "param", "values", "traces",
                                       "repeats", "title", NULL};
    exp_ctx_t *c = exp_ctx(L);
    exp_t *e = c->e;
    luaL_checktype(L, 1, LUA_TTABLE);
    exp_check_keys(L, 1, "sweep", keys);
    const char *base = exp_opt_string(L, 1, "alloc", "sweep");
    const char *param = exp_opt_string(L, 1, "param", "sweep");
    const char *title = exp_opt_string(L, 1, "title", "sweep");
    if (!base || !param) exp_raise(L, "sweep: 'alloc' and 'param' are required");
    base = exp_spec_path(L, base);
    for (const char *p = param; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            exp_raise(L, "sweep: bad parameter name '%s'", param);
    if (!*param) exp_raise(L, "sweep: empty parameter name");
    char why[1024];
    const char *skip = exp_unavailable(L, base, why, sizeof why);
    if (skip) exp_raise(L, "sweep: allocator %s", skip);
    alloc_spec_t s;
    char err[512];
    alloc_spec_parse(&s, base, err, sizeof err); /* parsed fine just above */
    for (size_t i = 0; i < s.nparams; i++)
        if (strcmp(s.params[i].key, param) == 0)
            exp_raise(L, "sweep: '%s' already sets %s", base, param);
    /* -1: the experiment's repeats, whatever it is once the file has run. */
    lua_Integer repeat = exp_opt_int(L, 1, "repeats", 0, EXP_MAX_REPEAT, -1, "sweep");

    if (lua_getfield(L, 1, "values") != LUA_TTABLE)
        exp_raise(L, "sweep: 'values' must be a list of parameter values");
    int vidx = lua_gettop(L);
    lua_Integer nvalues = luaL_len(L, vidx);
    if (nvalues < 1 || nvalues > 1000) exp_raise(L, "sweep: 'values' must hold 1 to 1000 values");
    char buf[128];
    for (lua_Integer i = 1; i <= nvalues; i++) {
        lua_rawgeti(L, vidx, i);
        exp_scalar(L, -1, buf, sizeof buf, "sweep values");
        if (!*buf || strpbrk(buf, ":=, \t\n")) exp_raise(L, "sweep: bad value '%s'", buf);
        char point[512];
        snprintf(point, sizeof point, "%s:%s=%s", base, param, buf);
        exp_check_spec(L, point, "sweep");
        for (lua_Integer j = 1; j < i; j++) {
            lua_rawgeti(L, vidx, j);
            char other[128];
            exp_scalar(L, -1, other, sizeof other, "sweep values");
            lua_pop(L, 1);
            if (!strcmp(other, buf)) exp_raise(L, "sweep: value '%s' appears twice", buf);
        }
        lua_pop(L, 1);
    }
    int tt = lua_getfield(L, 1, "traces");
    int tidx = lua_gettop(L);
    lua_Integer ntraces = 0;
    if (tt == LUA_TTABLE) {
        ntraces = luaL_len(L, tidx);
        if (ntraces < 1) exp_raise(L, "sweep: 'traces' is empty");
        for (lua_Integer i = 1; i <= ntraces; i++) {
            if (lua_rawgeti(L, tidx, i) != LUA_TSTRING)
                exp_raise(L, "sweep: 'traces' must list trace names");
            if (exp_trace_index(e, lua_tostring(L, -1)) == EXP_NONE)
                exp_raise(L, "sweep: no trace named '%s' (declare it first)", lua_tostring(L, -1));
            lua_pop(L, 1);
        }
    } else if (tt != LUA_TNIL) {
        exp_raise(L, "sweep: 'traces' must list trace names");
    }

    /* Checked: now build it. */
    if (exp_grow((void **)&e->sweeps, &c->sweep_cap, e->nsweeps, sizeof *e->sweeps))
        exp_raise(L, "out of memory");
    unsigned char *all = realloc(c->sweep_all, c->sweep_cap);
    if (!all) exp_raise(L, "out of memory");
    c->sweep_all = all;
    exp_sweep_t w = {0};
    w.base = strdup(base);
    w.param = strdup(param);
    char show[96]; /* a so:/plugin: base by its short name */
    alloc_spec_display(base, show, sizeof show);
    snprintf(buf, sizeof buf, "%s %s", show, param);
    w.title = strdup(title ? title : buf);
    w.values = calloc((size_t)nvalues, sizeof *w.values);
    w.x = calloc((size_t)nvalues, sizeof *w.x);
    w.traces = ntraces ? calloc((size_t)ntraces, sizeof *w.traces) : NULL;
    w.repeat = repeat < 0 ? EXP_REPEAT_DEFAULT : (unsigned)repeat;
    w.line = exp_line(L);
    w.numeric = 1;
    int oom = !w.base || !w.param || !w.title || !w.values || !w.x || (ntraces && !w.traces);
    for (lua_Integer i = 1; !oom && i <= nvalues; i++) {
        lua_rawgeti(L, vidx, i);
        exp_scalar(L, -1, buf, sizeof buf, "sweep values");
        lua_pop(L, 1);
        if (!(w.values[w.nvalues++] = strdup(buf)))
            oom = 1;
        else if (exp_value_number(buf, &w.x[i - 1]))
            w.numeric = 0;
    }
    for (lua_Integer i = 1; !oom && i <= ntraces; i++) {
        lua_rawgeti(L, tidx, i);
        w.traces[w.ntraces++] = exp_trace_index(e, lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    if (oom) {
        exp_sweep_free(&w);
        exp_raise(L, "out of memory");
    }
    c->sweep_all[e->nsweeps] = ntraces == 0;
    e->sweeps[e->nsweeps++] = w;
    return 0;
}

/* ---- settings ------------------------------------------------------------------ */

static int exp_l_name(lua_State *L)
{
    exp_t *e = exp_ctx(L)->e;
    const char *name = luaL_checkstring(L, 1);
    if (!exp_name_ok(name))
        exp_raise(L, "bad experiment name '%s' (letters, digits and . _ + -)", name);
    char *copy = strdup(name);
    if (!copy) exp_raise(L, "out of memory");
    free(e->name);
    e->name = copy;
    return 0;
}

static lua_Integer exp_check_count(lua_State *L, const char *what, lua_Integer min, lua_Integer max)
{
    int isint = 0;
    lua_Integer v = lua_tointegerx(L, 1, &isint);
    if (lua_type(L, 1) != LUA_TNUMBER || !isint || v < min || v > max)
        exp_raise(L, "%s: expected an integer from %I to %I", what, min, max);
    return v;
}

static int exp_l_repeats(lua_State *L)
{
    exp_ctx(L)->e->repeat = (unsigned)exp_check_count(L, "repeats", 0, EXP_MAX_REPEAT);
    return 0;
}

static int exp_l_samples(lua_State *L)
{
    exp_ctx(L)->e->samples = (uint64_t)exp_check_count(L, "samples", 1, EXP_MAX_SAMPLES);
    return 0;
}

static void exp_executor_free(exp_executor_t *x);

/* executor(name [, {partition, time, sbatch_args, retries}]) */
static int exp_l_executor(lua_State *L)
{
    static const char *const keys[] = {"partition", "time", "sbatch_args", "retries", NULL};
    static const char *const what = "executor";
    exp_executor_t *x = &exp_ctx(L)->e->executor;
    const char *name = luaL_checkstring(L, 1);
    if (strcmp(name, "local") != 0 && strcmp(name, "slurm") != 0)
        exp_raise(L, "executor: '%s' is not an executor (local or slurm)", name);
    int has = !lua_isnoneornil(L, 2);
    if (has) {
        luaL_checktype(L, 2, LUA_TTABLE);
        exp_check_keys(L, 2, what, keys);
    }
    const char *part = has ? exp_opt_string(L, 2, "partition", what) : NULL;
    const char *time = has ? exp_opt_string(L, 2, "time", what) : NULL;
    lua_Integer retries = has ? exp_opt_int(L, 2, "retries", 0, 100, -1, what) : -1;
    size_t nargs = 0;
    if (has && lua_getfield(L, 2, "sbatch_args") != LUA_TNIL) {
        if (!lua_istable(L, -1)) exp_raise(L, "executor: 'sbatch_args' must be a list of strings");
        nargs = lua_rawlen(L, -1);
        for (size_t i = 1; i <= nargs; i++)
            if (lua_rawgeti(L, -1, (lua_Integer)i) != LUA_TSTRING || (lua_pop(L, 1), 0))
                exp_raise(L, "executor: 'sbatch_args' must be a list of strings");
    }
    if (strcmp(name, "local") == 0 && (part || time || nargs || retries >= 0))
        exp_raise(L, "executor: 'local' takes no options");
    /* Checked: now the C side (the list, if any, is at the top). */
    exp_executor_t nx = {
        strcmp(name, "slurm") == 0, exp_strdup(part), exp_strdup(time), NULL, 0, (int)retries};
    int oom = (part && !nx.partition) || (time && !nx.time) ||
              (nargs && !(nx.sbatch_args = calloc(nargs, sizeof *nx.sbatch_args)));
    for (size_t i = 0; !oom && i < nargs; i++) {
        lua_rawgeti(L, -1, (lua_Integer)i + 1);
        oom = !(nx.sbatch_args[nx.nsbatch_args] = strdup(lua_tostring(L, -1)));
        nx.nsbatch_args += !oom;
        lua_pop(L, 1);
    }
    exp_executor_free(x);
    *x = nx;
    if (oom) exp_raise(L, "out of memory");
    return 0;
}

/* measure("time", "latency", "instructions"): any of them, at least one. */
static int exp_l_measure(lua_State *L)
{
    int n = lua_gettop(L);
    unsigned m = 0;
    if (n == 0) exp_raise(L, "measure: name at least one of time, latency, instructions");
    for (int i = 1; i <= n; i++) {
        unsigned one;
        if (lua_type(L, i) != LUA_TSTRING || driver_measure_parse(lua_tostring(L, i), &one))
            exp_raise(L,
                      "measure: argument %d: expected \"time\", \"latency\" or "
                      "\"instructions\"",
                      i);
        m |= one;
    }
    exp_ctx(L)->e->measure = m;
    return 0;
}

static const luaL_Reg exp_api[] = {
    {"name", exp_l_name},         {"repeats", exp_l_repeats},     {"samples", exp_l_samples},
    {"trace", exp_l_trace},       {"traces", exp_l_traces},       {"program", exp_l_program},
    {"workload", exp_l_workload}, {"allocator", exp_l_allocator}, {"sweep", exp_l_sweep},
    {"executor", exp_l_executor}, {"measure", exp_l_measure},     {NULL, NULL},
};

/* ---- running the file ------------------------------------------------------------- */

/* Message handler: a declaration's message as it is, anything else with a
 * traceback. */
static int exp_msgh(lua_State *L)
{
    exp_ctx_t *c = lua_touserdata(L, lua_upvalueindex(1));
    const char *msg = lua_tostring(L, 1);
    if (!msg) msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    if (c->plain) return 1;
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* Opens the standard library of the sandbox (sim/lua/sandbox.h: no io, os,
 * require, loadfile or dofile unless allow_unsafe; text chunks only) and
 * the API, then sets `root`, `here` and `bindir` (under lua_pcall: it
 * allocates).
 * Upvalue 1: the context. */
static int exp_setup(lua_State *L)
{
    exp_ctx_t *c = lua_touserdata(L, lua_upvalueindex(1));
    sandbox_open(L, &(sandbox_opts_t){"experiment files", "arenalab report --allow-unsafe",
                                      c->allow_unsafe});
    lua_pushglobaltable(L);
    lua_pushlightuserdata(L, c);
    luaL_setfuncs(L, exp_api, 1);
    lua_pushstring(L, c->e->root);
    lua_setglobal(L, "root");
    const char *file = c->e->file;
    const char *slash = strrchr(file, '/');
    if (slash)
        lua_pushlstring(L, file, (size_t)(slash - file));
    else
        lua_pushliteral(L, ".");
    lua_setglobal(L, "here");
    /* where the program is, and the example plugin built beside it */
    char self[PATH_MAX];
    if (realpath("/proc/self/exe", self)) {
        char *last = strrchr(self, '/');
        if (last) *last = '\0';
        lua_pushstring(L, self);
        lua_setglobal(L, "bindir");
    }
    return 0;
}

/* Adds (TRACE, SPEC) as a unit unless it is one; returns its index or
 * EXP_NONE (out of memory). */
static size_t exp_unit(exp_ctx_t *c, size_t trace, const char *spec, unsigned repeat)
{
    exp_t *e = c->e;
    for (size_t i = 0; i < e->nunits; i++)
        if (e->units[i].trace == trace && strcmp(e->units[i].spec, spec) == 0) {
            if (repeat > e->units[i].repeat) e->units[i].repeat = repeat;
            return i;
        }
    if (exp_grow((void **)&e->units, &c->unit_cap, e->nunits, sizeof *e->units)) return EXP_NONE;
    char *copy = strdup(spec);
    if (!copy) return EXP_NONE;
    e->units[e->nunits] = (exp_unit_t){trace, copy, repeat};
    return e->nunits++;
}

/* The expansion (see experiment.h).  Returns 0 or -1 (out of memory). */
static int exp_expand(exp_ctx_t *c)
{
    exp_t *e = c->e;
    if (e->ntraces && e->nallocs &&
        (e->ntraces > SIZE_MAX / sizeof *e->grid / e->nallocs ||
         !(e->grid = malloc(e->ntraces * e->nallocs * sizeof *e->grid))))
        return -1;
    for (size_t t = 0; t < e->ntraces; t++)
        for (size_t a = 0; a < e->nallocs; a++) {
            size_t *cell = &e->grid[t * e->nallocs + a];
            *cell = EXP_NONE;
            if (e->allocs[a].skip) continue;
            if ((*cell = exp_unit(c, t, e->allocs[a].spec, e->repeat)) == EXP_NONE) return -1;
        }
    for (size_t i = 0; i < e->nsweeps; i++) {
        exp_sweep_t *w = &e->sweeps[i];
        if (w->repeat == EXP_REPEAT_DEFAULT) w->repeat = e->repeat;
        if (c->sweep_all[i]) {
            free(w->traces);
            if (!(w->traces = malloc(e->ntraces * sizeof *w->traces))) return -1;
            for (size_t t = 0; t < e->ntraces; t++)
                w->traces[t] = t;
            w->ntraces = e->ntraces;
        }
        if (w->ntraces > SIZE_MAX / sizeof *w->points / w->nvalues ||
            !(w->points = malloc(w->ntraces * w->nvalues * sizeof *w->points)))
            return -1;
        for (size_t t = 0; t < w->ntraces; t++)
            for (size_t v = 0; v < w->nvalues; v++) {
                char *spec = exp_concat(w->base, ":", w->param);
                char *full = spec ? exp_concat(spec, "=", w->values[v]) : NULL;
                free(spec);
                if (!full) return -1;
                size_t u = exp_unit(c, w->traces[t], full, w->repeat);
                free(full);
                if (u == EXP_NONE) return -1;
                w->points[t * w->nvalues + v] = u;
            }
    }
    return 0;
}

/* Lua shortens a chunk name to LUA_IDSIZE characters in messages ("...
 * end of the path"); the file is loaded under this one-character name
 * instead, which exp_message replaces with the whole path. */
#define EXP_CHUNK_TOKEN '\x1e'

/* Loads TEXT (LEN bytes), else the file PATH, as text under the chunk
 * name "@" EXP_CHUNK_TOKEN.  Returns a LUA_* status with the function or
 * the message on the stack. */
static int exp_loadfile(lua_State *L, const char *path, const char *text, size_t len)
{
    const char chunk[3] = {'@', EXP_CHUNK_TOKEN, '\0'};
    if (text) return luaL_loadbufferx(L, text, len, chunk, "t");
    FILE *f = fopen(path, "r");
    if (!f) {
        lua_pushfstring(L, "%s: cannot read the experiment file: %s", path, strerror(errno));
        return LUA_ERRFILE;
    }
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    size_t got;
    do {
        char *p = luaL_prepbuffer(&b);
        got = fread(p, 1, LUAL_BUFFERSIZE, f);
        luaL_addsize(&b, got);
    } while (got == LUAL_BUFFERSIZE);
    int bad = ferror(f);
    fclose(f);
    luaL_pushresult(&b);
    if (bad) {
        lua_pushfstring(L, "%s: cannot read the experiment file", path);
        return LUA_ERRFILE;
    }
    text = lua_tolstring(L, -1, &len);
    int rc = luaL_loadbufferx(L, text, len, chunk, "t");
    lua_remove(L, -2);
    return rc;
}

/* MSG with the chunk token replaced by PATH, into ERR. */
static void exp_message(const char *msg, const char *path, char *err, size_t errlen)
{
    size_t n = 0, pl = strlen(path);
    if (!msg) msg = "(no message)";
    for (const char *p = msg; *p && n + 1 < errlen; p++) {
        if (*p != EXP_CHUNK_TOKEN) {
            err[n++] = *p;
            continue;
        }
        size_t k = pl < errlen - 1 - n ? pl : errlen - 1 - n;
        memcpy(err + n, path, k);
        n += k;
    }
    err[n] = '\0';
}

/* The experiment's default name: the file's base name without ".lua". */
static char *exp_default_name(const char *path)
{
    char buf[EXP_NAME_MAX + 2];
    exp_sanitize(exp_basename(path), buf, sizeof buf);
    size_t n = strlen(buf);
    if (n > 4 && strcmp(buf + n - 4, ".lua") == 0) buf[n - 4] = '\0';
    return strdup(buf);
}

int exp_load(exp_t *e, const char *path, const char *root, route_find_fn find, int allow_unsafe,
             char *err, size_t errlen)
{
    return _exp_load(e, path, NULL, 0, root, find, allow_unsafe, NULL, err, errlen);
}

int _exp_load(exp_t *e, const char *path, const char *text, size_t len, const char *root,
              route_find_fn find, int allow_unsafe, const exp_hooks_t *hooks, char *err,
              size_t errlen)
{
    memset(e, 0, sizeof *e);
    e->repeat = EXP_DEFAULT_REPEAT;
    e->samples = EXP_DEFAULT_SAMPLES;
    e->executor.retries = -1;
    e->measure = DRIVER_MEASURE_TIME;
    e->file = strdup(path);
    e->root = strdup(root);
    e->name = exp_default_name(path);
    exp_ctx_t c = {e, find, allow_unsafe, 0, 0, 0, 0, NULL, 0};
    sandbox_mem_t mem = {0};
    lua_State *L = !(e->file && e->root && e->name) ? NULL
                   : hooks && hooks->newstate       ? hooks->newstate(hooks->ud)
                                                    : luaL_newstate();
    /* the experiment's own data must not exhaust the machine either (a
     * hook's state has its own allocator) */
    if (L && !(hooks && hooks->newstate)) sandbox_bound_memory(L, &mem);
    if (!L) {
        snprintf(err, errlen, "%s: out of memory", path);
        exp_free(e);
        return EXP_EFAIL;
    }
    int rc = EXP_EFAIL;
    lua_pushlightuserdata(L, &c);
    lua_pushcclosure(L, exp_msgh, 1);
    int msgh = lua_gettop(L);
    lua_pushlightuserdata(L, &c);
    lua_pushcclosure(L, exp_setup, 1);
    int setup = lua_pcall(L, 0, 0, msgh);
    if (setup == LUA_OK && hooks && hooks->ready) hooks->ready(L, hooks->ud);
    if (setup != LUA_OK) {
        snprintf(err, errlen, "%s: %s", path, lua_tostring(L, -1));
    } else if (!text && !exp_is_file(path)) {
        snprintf(err, errlen, "%s: cannot read the experiment file: %s", path,
                 access(path, F_OK) ? strerror(errno) : "not a readable file");
        rc = EXP_EUSAGE;
    } else if (exp_loadfile(L, path, text, len) != LUA_OK || lua_pcall(L, 0, 0, msgh) != LUA_OK) {
        if (mem.over && lua_tostring(L, -1) && !strcmp(lua_tostring(L, -1), "not enough memory"))
            snprintf(err, errlen,
                     "%s: out of memory: the experiment's own Lua data (tables, strings) "
                     "reached its bound, %zu MiB (" SANDBOX_MEM_HINT ")",
                     path, mem.max >> 20);
        else
            exp_message(lua_tostring(L, -1), path, err, errlen);
    } else if (e->ntraces == 0) {
        snprintf(err, errlen, "%s: declares no trace (trace, traces or workload)", path);
    } else if (e->nallocs == 0 && e->nsweeps == 0) {
        snprintf(err, errlen, "%s: declares no allocator (allocator or sweep)", path);
    } else if (exp_expand(&c)) {
        snprintf(err, errlen, "%s: out of memory", path);
    } else if (e->nunits == 0) {
        snprintf(err, errlen, "%s: nothing to run: every allocator is skipped", path);
    } else {
        rc = 0;
    }
    lua_close(L);
    free(c.sweep_all);
    if (rc) exp_free(e);
    return rc;
}

static void exp_executor_free(exp_executor_t *x)
{
    free(x->partition);
    free(x->time);
    for (size_t i = 0; i < x->nsbatch_args; i++)
        free(x->sbatch_args[i]);
    free(x->sbatch_args);
    memset(x, 0, sizeof *x);
    x->retries = -1;
}

void exp_free(exp_t *e)
{
    for (size_t i = 0; i < e->ntraces; i++)
        exp_trace_free(&e->traces[i]);
    for (size_t i = 0; i < e->nallocs; i++) {
        free(e->allocs[i].spec);
        free(e->allocs[i].skip);
    }
    for (size_t i = 0; i < e->nsweeps; i++)
        exp_sweep_free(&e->sweeps[i]);
    for (size_t i = 0; i < e->nunits; i++)
        free(e->units[i].spec);
    free(e->traces);
    free(e->allocs);
    free(e->sweeps);
    free(e->units);
    free(e->grid);
    free(e->name);
    free(e->file);
    free(e->root);
    exp_executor_free(&e->executor);
    memset(e, 0, sizeof *e);
}

int exp_set_trace_path(exp_t *e, size_t trace, const char *path)
{
    char *copy = strdup(path);
    if (!copy) return -1;
    free(e->traces[trace].path);
    e->traces[trace].path = copy;
    return 0;
}

#define EXP_BAD(...)                                                                               \
    do {                                                                                           \
        fprintf(stderr, "exp_is_valid: " __VA_ARGS__);                                             \
        fputc('\n', stderr);                                                                       \
        return 0;                                                                                  \
    } while (0)

int exp_is_valid(const exp_t *e)
{
    for (size_t i = 0; i < e->ntraces; i++) {
        if (!exp_name_ok(e->traces[i].name)) EXP_BAD("trace %zu: bad name", i);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(e->traces[i].name, e->traces[j].name))
                EXP_BAD("traces %zu and %zu share a name", j, i);
    }
    for (size_t i = 0; i < e->ntraces; i++) {
        const exp_trace_t *t = &e->traces[i];
        if (!t->swept != !t->group) EXP_BAD("trace %zu: a sweep parameter without a group", i);
        size_t d = 0;
        while (t->swept && d < t->ndefs && strcmp(t->defs[d].key, t->swept) != 0)
            d++;
        if (t->swept && d == t->ndefs) EXP_BAD("trace %zu: the swept parameter is not set", i);
    }
    for (size_t i = 0; i < e->nunits; i++) {
        if (e->units[i].trace >= e->ntraces) EXP_BAD("unit %zu: no such trace", i);
        for (size_t j = 0; j < i; j++)
            if (e->units[i].trace == e->units[j].trace &&
                !strcmp(e->units[i].spec, e->units[j].spec))
                EXP_BAD("units %zu and %zu are the same", j, i);
    }
    for (size_t t = 0; t < e->ntraces; t++)
        for (size_t a = 0; a < e->nallocs; a++) {
            size_t u = e->grid[t * e->nallocs + a];
            if (e->allocs[a].skip) {
                if (u != EXP_NONE) EXP_BAD("skipped allocator %zu has a unit", a);
                continue;
            }
            if (u >= e->nunits || e->units[u].trace != t ||
                strcmp(e->units[u].spec, e->allocs[a].spec) != 0)
                EXP_BAD("grid cell (%zu, %zu) names the wrong unit", t, a);
        }
    for (size_t i = 0; i < e->nsweeps; i++) {
        const exp_sweep_t *w = &e->sweeps[i];
        for (size_t t = 0; t < w->ntraces; t++)
            for (size_t v = 0; v < w->nvalues; v++) {
                size_t u = w->points[t * w->nvalues + v];
                char spec[1024];
                snprintf(spec, sizeof spec, "%s:%s=%s", w->base, w->param, w->values[v]);
                if (u >= e->nunits || e->units[u].trace != w->traces[t] ||
                    strcmp(e->units[u].spec, spec) != 0)
                    EXP_BAD("sweep %zu point (%zu, %zu) names the wrong unit", i, t, v);
            }
    }
    return 1;
}
