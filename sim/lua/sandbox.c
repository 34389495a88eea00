/* sandbox.c: the standard library of a script (sandbox.h) on Lua's public
 * API only: which libraries each mode opens, the text-only loaders, and the
 * refusals, each a row of a table; and the bound of a state's own memory
 * (sandbox_bound_memory), counted by its allocator.
 *
 * Invariant: every loader a script can reach (load always; loadfile, dofile
 * and require's Lua searcher with --allow-unsafe) passes mode "t", whatever
 * the script asks for, and string.dump is refused, so no binary chunk ever
 * runs in a script's state.
 */
#include "sim/lua/sandbox.h"
#include "sim/base/meminfo.h"

#include <lauxlib.h>
#include <lualib.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The libraries, opened in this order. */
typedef struct {
    const char *name;
    lua_CFunction open;
    int unsafe; /* only with --allow-unsafe */
} sandbox_lib_t;

static const sandbox_lib_t sandbox_libs[] = {
    {LUA_GNAME, luaopen_base, 0},          {LUA_COLIBNAME, luaopen_coroutine, 0},
    {LUA_TABLIBNAME, luaopen_table, 0},    {LUA_STRLIBNAME, luaopen_string, 0},
    {LUA_MATHLIBNAME, luaopen_math, 0},    {LUA_UTF8LIBNAME, luaopen_utf8, 0},
    {LUA_LOADLIBNAME, luaopen_package, 1}, {LUA_IOLIBNAME, luaopen_io, 1},
    {LUA_OSLIBNAME, luaopen_os, 1},
};

/* What a script cannot use.  A library refuses every field (read or
 * written); a function refuses to run. */
typedef struct {
    const char *name;  /* a global, or "library.function"                 */
    int library;       /* 1: a library table; 0: a function               */
    const char *never; /* NULL: --allow-unsafe gives it; else why not even
                          then                                            */
} sandbox_refusal_t;

static const sandbox_refusal_t sandbox_refusals[] = {
    {"io", 1, NULL},
    {"os", 1, NULL},
    {"package", 1, NULL},
    {"require", 0, NULL},
    {"loadfile", 0, NULL},
    {"dofile", 0, NULL},
    {"debug", 1, "it can change the metatables and upvalues that arenalab's functions rely on"},
    {"string.dump", 0,
     "arenalab loads Lua source only (precompiled chunks are not verified and can crash it)"},
};

/* ---- refusals ----------------------------------------------------------- */

/* A refused function.  Upvalues: its name, the rest of the message. */
static int sandbox_refuse(lua_State *L)
{
    return luaL_error(L, "%s%s", lua_tostring(L, lua_upvalueindex(1)),
                      lua_tostring(L, lua_upvalueindex(2)));
}

/* __index and __newindex of a refused library (table, key [, value]).
 * Upvalues: the library's name, the rest of the message. */
static int sandbox_refuse_field(lua_State *L)
{
    const char *lib = lua_tostring(L, lua_upvalueindex(1));
    const char *rest = lua_tostring(L, lua_upvalueindex(2));
    if (lua_type(L, 2) == LUA_TSTRING)
        return luaL_error(L, "%s.%s%s", lib, lua_tostring(L, 2), rest);
    return luaL_error(L, "%s%s", lib, rest);
}

/* Sets the value on top of the stack as NAME (a global, or a field of the
 * library named before the dot) and pops it. */
static void sandbox_set(lua_State *L, const char *name)
{
    const char *dot = strchr(name, '.');
    if (!dot) {
        lua_setglobal(L, name);
        return;
    }
    lua_pushglobaltable(L);
    lua_pushlstring(L, name, (size_t)(dot - name));
    lua_gettable(L, -2);   /* the library: opened above, so a table */
    lua_rotate(L, -3, -1); /* value, G, library -> G, library, value */
    lua_setfield(L, -2, dot + 1);
    lua_pop(L, 2);
}

static void sandbox_refuse_install(lua_State *L, const sandbox_refusal_t *r,
                                   const sandbox_opts_t *o)
{
    lua_pushstring(L, r->name);
    if (r->never)
        lua_pushfstring(L, " is never available to %s: %s", o->scripts, r->never);
    else
        lua_pushfstring(L, " is not available to %s (%s gives the full standard library)",
                        o->scripts, o->allow);
    if (!r->library) {
        lua_pushcclosure(L, sandbox_refuse, 2);
        sandbox_set(L, r->name);
        return;
    }
    lua_pushcclosure(L, sandbox_refuse_field, 2);
    int refuse = lua_gettop(L);
    lua_newtable(L); /* the library: always empty */
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, refuse);
    lua_setfield(L, -2, "__index");
    lua_pushvalue(L, refuse);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0); /* getmetatable() answers false; no setmetatable */
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    sandbox_set(L, r->name);
    lua_pop(L, 1);
}

/* ---- text-only loaders ------------------------------------------------------ */

/* The base library's load or loadfile (upvalue 1) with its mode argument,
 * at the index in upvalue 2, forced to "t".  The argument after the mode
 * (env) is passed on only when given: base load tells an env of nil from
 * no env. */
static int sandbox_text_only(lua_State *L)
{
    int mode = (int)lua_tointeger(L, lua_upvalueindex(2));
    int nargs = lua_gettop(L) > mode ? mode + 1 : mode;
    lua_settop(L, nargs);
    lua_pushliteral(L, "t");
    lua_replace(L, mode);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, nargs, LUA_MULTRET);
    return lua_gettop(L);
}

static void sandbox_wrap_loader(lua_State *L, const char *name, int mode_arg)
{
    lua_getglobal(L, name);
    lua_pushinteger(L, mode_arg);
    lua_pushcclosure(L, sandbox_text_only, 2);
    lua_setglobal(L, name);
}

/* dofile([filename]): the base library's, loading text only. */
static int sandbox_dofile(lua_State *L)
{
    const char *name = luaL_optstring(L, 1, NULL);
    lua_settop(L, 1);
    if (luaL_loadfilex(L, name, "t") != LUA_OK) return lua_error(L);
    lua_call(L, 0, LUA_MULTRET);
    return lua_gettop(L) - 1;
}

/* require's searcher for Lua modules, as package.searchers[2] but loading
 * text only.  Upvalue 1: the package table. */
static int sandbox_search_lua(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lua_getfield(L, lua_upvalueindex(1), "searchpath");
    lua_pushvalue(L, 1);
    if (lua_getfield(L, lua_upvalueindex(1), "path") != LUA_TSTRING)
        return luaL_error(L, "'package.path' must be a string");
    lua_call(L, 2, 2);
    if (lua_isnil(L, -2)) return 1; /* the message: where it looked */
    lua_pop(L, 1);
    const char *file = lua_tostring(L, -1);
    if (luaL_loadfilex(L, file, "t") != LUA_OK)
        return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", name, file,
                          lua_tostring(L, -1));
    lua_pushstring(L, file); /* the loader's second argument */
    return 2;
}

/* ---- the state ----------------------------------------------------------- */

void sandbox_open(lua_State *L, const sandbox_opts_t *o)
{
    for (size_t i = 0; i < sizeof sandbox_libs / sizeof sandbox_libs[0]; i++) {
        const sandbox_lib_t *l = &sandbox_libs[i];
        if (l->unsafe && !o->unsafe) continue;
        luaL_requiref(L, l->name, l->open, 1);
        lua_pop(L, 1);
    }
    sandbox_wrap_loader(L, "load", 3);
    if (o->unsafe) {
        sandbox_wrap_loader(L, "loadfile", 2);
        lua_pushcfunction(L, sandbox_dofile);
        lua_setglobal(L, "dofile");
        lua_getglobal(L, LUA_LOADLIBNAME);
        lua_getfield(L, -1, "searchers");
        lua_pushvalue(L, -2);
        lua_pushcclosure(L, sandbox_search_lua, 1);
        lua_rawseti(L, -2, 2);
        lua_pop(L, 2);
    }
    for (size_t i = 0; i < sizeof sandbox_refusals / sizeof sandbox_refusals[0]; i++)
        if (!o->unsafe || sandbox_refusals[i].never)
            sandbox_refuse_install(L, &sandbox_refusals[i], o);
}

/* ---- the memory bound ------------------------------------------------------ */

/* malloc's allocator (as luaL_newstate's), counted against M->max. */
static void *sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    sandbox_mem_t *m = ud;
    size_t old = ptr ? osize : 0; /* without PTR, OSIZE is a type tag */
    if (nsize == 0) {
        free(ptr);
        m->bytes -= old;
        return NULL;
    }
    if (nsize > old && nsize - old > m->max - m->bytes) {
        m->over = 1;
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (p) m->bytes = m->bytes - old + nsize;
    return p;
}

void sandbox_bound_memory(lua_State *L, sandbox_mem_t *m)
{
    uint64_t max = meminfo_bound("ARENALAB_LUA_MAX_BYTES", meminfo_available() / 2);
    m->max = max > SIZE_MAX ? SIZE_MAX : (size_t)max;
    m->over = 0;
    /* luaL_newstate's panic and warning functions are kept; its allocator
     * is realloc/free too, so the blocks it made are freed here as well,
     * and Lua's own count says how many bytes they are */
    m->bytes = (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(L, LUA_GCCOUNTB, 0);
    lua_setallocf(L, sandbox_alloc, m);
}
