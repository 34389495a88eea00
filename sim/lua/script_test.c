/* script_test.c: `arenalab gen`'s engine — API errors point at the
 * script's line and leave no output, traces are byte-identical for the same
 * seed, the events and metadata are the ones the script asked for, pools,
 * arenas and samplers behave as documented, handles are collectable, and
 * scripts run in the sandbox (sim/lua/sandbox.h): what it refuses fails at
 * the line with no effect, --allow-unsafe gives the rest, and no mode ever
 * loads a binary chunk; simulated threads tag events, interleave
 * deterministically and refuse misuse at the line. */
#include "sim/lua/script.h"
#include "sim/trace/trace.h"

#include "alloc/check.h"

#include <lauxlib.h>
#include <lua.h>

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void st_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

/* Whole file into a malloc'ed buffer (NULL if missing); *N its size. */
static char *st_read(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) buf[len] = '\0';
    *n = len;
    return buf;
}

/* Files in the current directory whose name starts with PREFIX. */
static int st_count_files(const char *prefix)
{
    DIR *d = opendir(".");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += !strncmp(e->d_name, prefix, strlen(prefix));
    if (d) closedir(d);
    return n;
}

static char st_err[8192];
/* The sandbox options of the next st_run (script_opts_t's). */
static int st_allow_unsafe;
static const char *st_allow_hint;

static int st_run(const char *script, const char *out, uint64_t seed, const script_def_t *defs,
                  size_t ndefs)
{
    script_opts_t o = {.script = script,
                       .output = out,
                       .seed = seed,
                       .defs = defs,
                       .ndefs = ndefs,
                       .allow_unsafe = st_allow_unsafe,
                       .allow_hint = st_allow_hint};
    FILE *diag = fopen("diag.log", "w");
    o.diag = diag;
    st_err[0] = '\0';
    int rc = script_run(&o, NULL, st_err, sizeof st_err);
    if (diag) fclose(diag);
    return rc;
}

/* Runs TEXT as t.lua writing out.atr; expects a script error whose message
 * starts with "t.lua:LINE:" and contains WANT, and no output file. */
static void st_expect_error(const char *text, int line, const char *want)
{
    st_write("t.lua", text);
    int rc = st_run("t.lua", "out.atr", 1, NULL, 0);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "t.lua:%d: ", line);
    CHECKF(rc == SCRIPT_EFAIL, "rc %d for:\n%s", rc, text);
    CHECKF(!strncmp(st_err, prefix, strlen(prefix)), "want prefix '%s', got '%s'", prefix, st_err);
    CHECKF(strstr(st_err, want) != NULL, "want '%s' in '%s'", want, st_err);
    CHECKF(st_count_files("out.atr") == 0, "output left behind for:\n%s", text);
}

static void st_test_errors(void)
{
    /* errors without a position of their own still name the script: a
     * script file that is a binary chunk, an error object that is not a
     * string */
    st_write("t.lua", "\x1bLua\x54\x00");
    CHECK(st_run("t.lua", "out.atr", 1, NULL, 0) == SCRIPT_EFAIL);
    CHECKF(!strncmp(st_err, "t.lua: ", 7) && strstr(st_err, "binary chunk"), "got '%s'", st_err);
    CHECK(st_count_files("out.atr") == 0);
    st_write("t.lua", "error()\n");
    CHECK(st_run("t.lua", "out.atr", 1, NULL, 0) == SCRIPT_EFAIL);
    CHECKF(!strncmp(st_err, "t.lua: ", 7) && strstr(st_err, "nil value"), "got '%s'", st_err);
    CHECK(st_count_files("out.atr") == 0);
    /* freed handles */
    st_expect_error("local b = alloc(8)\nfree(b)\nfree(b)\n", 3, "free: block 0 was already freed");
    st_expect_error("local b = alloc(8)\nfree(b)\nrealloc(b, 16)\n", 3,
                    "realloc: block 0 was already freed");
    st_expect_error("local a = arena()\nlocal b = a:own(alloc(8, 'obj'))\na:free()\n\nfree(b)\n", 5,
                    "free: block 0 was freed with arena 0");
    st_expect_error("local a = arena()\na:free()\na:alloc(8)\n", 3,
                    "arena:alloc: arena 0 was already freed");
    st_expect_error("local a = arena()\na:free()\na:free()\n", 3, "arena 0 was already freed");
    st_expect_error("local a = arena()\nlocal b = alloc(8)\nfree(b)\na:own(b)\n", 4,
                    "arena:own: block 0 was already freed");
    st_expect_error("local p = pool()\nlocal b = alloc(8)\np:add(b)\nfree(b)\np:touch(b)\n", 5,
                    "already freed");
    st_expect_error("local p, q = pool(), pool()\nlocal b = q:add(alloc(8))\np:touch(b)\n", 3,
                    "pool:touch: block 0 is not in this pool");
    st_expect_error("local b = alloc(8)\nprint(b:size())\nfree(b)\nprint(b:size())\n", 4,
                    "block:size: block 0 was already freed");
    /* a stale handle whose slot a new block took: the id tells them apart */
    st_expect_error("local a = alloc(8)\nfree(a)\nlocal b = alloc(8)\nfree(a)\n", 4,
                    "free: block 0 was already freed");
    st_expect_error("local a = arena()\nlocal b = a:own(alloc(8))\na:free()\nlocal c = alloc(8)\n"
                    "realloc(b, 9)\n",
                    5, "realloc: block 0 was already freed");
    st_expect_error("local b = alloc(8)\nfree(b)\nlocal a = arena()\nlocal c = alloc(8)\n"
                    "a:own(b)\n",
                    5, "arena:own: block 0 was already freed");
    st_expect_error("local t = {}\nfor i = 1, 100 do t[i] = alloc(i) end\n"
                    "for i = 1, 100 do free(t[i]) end\nfor i = 1, 100 do alloc(i) end\n"
                    "free(t[50])\n",
                    5, "free: block 49 was already freed");
    /* bad sizes */
    st_expect_error("alloc(8)\nalloc(-1)\n", 2, "alloc: bad size -1");
    st_expect_error("alloc(1.5)\n", 1, "alloc: bad size 1.5");
    st_expect_error("alloc((1 << 48) + 1)\n", 1, "alloc: bad size 281474976710657");
    st_expect_error("alloc('12')\n", 1, "alloc: bad size (number expected, got string)");
    st_expect_error("alloc(0/0)\n", 1, "alloc: bad size");
    st_expect_error("calloc(1 << 40, 1 << 10)\n", 1, "calloc: 1099511627776 x 1024 bytes");
    st_expect_error("calloc(-2, 8)\n", 1, "calloc: bad count -2");
    st_expect_error("local b = alloc(8)\nrealloc(b, -5)\n", 2, "realloc: bad size -5");
    st_expect_error("local a = arena()\na:alloc(2.5)\n", 2, "arena:alloc: bad size 2.5");
    /* bad domains and types */
    st_expect_error("alloc(8, 'foo')\n", 1, "alloc: bad domain 'foo' (raw, mem or obj)");
    st_expect_error("alloc(8, 3)\n", 1, "alloc: bad domain (string expected, got number)");
    st_expect_error("calloc(2, 8, 'MEM')\n", 1, "calloc: bad domain 'MEM'");
    st_expect_error("free(nil)\n", 1, "block expected, got nil");
    st_expect_error("free(arena())\n", 1, "block expected, got arena");
    st_expect_error("free(pool())\n", 1, "block expected, got pool");
    st_expect_error("free(8)\n", 1, "block expected, got number");
    st_expect_error("free({})\n", 1, "block expected, got table");
    st_expect_error("arena():own(arena())\n", 1, "block expected, got arena");
    st_expect_error("local a, b = arena(), alloc(8)\na.alloc(b, 8)\n", 2,
                    "arena expected, got block");
    st_expect_error("local p = pool()\np.add(alloc(8), alloc(8))\n", 2, "pool expected, got block");
    /* distributions */
    st_expect_error("uniform(5, 1)\n", 1, "uniform: empty range [5, 1]");
    st_expect_error("geometric(0)\n", 1, "geometric: probability must be in (0, 1]");
    st_expect_error("exponential(-1)\n", 1, "exponential: mean must be positive");
    st_expect_error("zipf(0, 1)\n", 1, "zipf: n must be an integer >= 1");
    st_expect_error("choice({})\n", 1, "choice: empty table");
    st_expect_error("choice({1, -2})\n", 1, "choice: weight 2 is negative");
    st_expect_error("chooser({0, 0})\n", 1, "chooser: the weights sum to zero");
    st_expect_error("normal(0, -1)\n", 1, "normal: sigma must not be negative");
    st_expect_error("sizes_from('missing.txt')\n", 1, "sizes_from: ");
    /* markers */
    st_expect_error("phase('a\\nb')\n", 1, "phase: bad value");
    st_expect_error("marker('two words', 'x')\n", 1, "marker: bad key 'two words'");
    /* the script's own errors, deep in a call, after many events */
    st_expect_error("local function f(n)\n  if n == 0 then error('boom') end\n  f(n - 1)\nend\n"
                    "for i = 1, 300000 do free(alloc(i % 100)) end\nf(3)\n",
                    2, "boom");
    st_expect_error("x = = 1\n", 1, "unexpected symbol");
    CHECK(strstr(st_err, "stack traceback") == NULL); /* a syntax error has none */
    st_expect_error("local t = nil\nlocal x = t.field\n", 2, "attempt to index");
    CHECK(strstr(st_err, "stack traceback:") != NULL);

    /* usage errors: exit 2 material */
    CHECK(st_run("nonexistent.lua", "out.atr", 1, NULL, 0) == SCRIPT_EUSAGE);
    CHECKF(strstr(st_err, "nonexistent.lua: cannot read the script") != NULL, "%s", st_err);
    st_write("ok.lua", "free(alloc(1))\n");
    CHECK(st_run("ok.lua", "no/such/dir/out.atr", 1, NULL, 0) == SCRIPT_EUSAGE);
    script_def_t bad[] = {{"two words", "1"}};
    CHECK(st_run("ok.lua", "out.atr", 1, bad, 1) == SCRIPT_EUSAGE);
    script_def_t bad2[] = {{"k", "line\nbreak"}};
    CHECK(st_run("ok.lua", "out.atr", 1, bad2, 1) == SCRIPT_EUSAGE);
    CHECK(st_count_files("out.atr") == 0);
}

/* Every event of a trace as text lines "a 0 8 mem" (all fields). */
static char *st_events(const char *path, char *meta, size_t metalen)
{
    trace_reader_t *r;
    char err[512];
    if (trace_open(&r, path, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return NULL;
    }
    size_t cap = 1 << 20, len = 0;
    char *out = malloc(cap);
    out[0] = '\0';
    trace_event_t ev;
    int rc;
    while ((rc = trace_next(r, &ev)) > 0 && len + 128 < cap)
        len +=
            (size_t)snprintf(out + len, cap - len, "%c %u %u %llu %llu %s\n",
                             trace_op_letter[ev.op], ev.id, ev.arena, (unsigned long long)ev.nmemb,
                             (unsigned long long)ev.size, trace_domain_name[ev.domain]);
    CHECKF(rc == 0, "%s: %s", path, trace_error(r));
    const trace_meta_t *m = trace_meta(r);
    size_t ml = 0;
    meta[0] = '\0';
    for (size_t i = 0; m && i < m->n && ml + 1 < metalen; i++)
        ml += (size_t)snprintf(meta + ml, metalen - ml, "%s=%s;", m->entries[i].key,
                               m->entries[i].value);
    const trace_marker_t *mk;
    size_t nm = trace_markers(r, &mk);
    for (size_t i = 0; i < nm && ml + 1 < metalen; i++)
        ml += (size_t)snprintf(meta + ml, metalen - ml, "@%llu:%s=%s;",
                               (unsigned long long)mk[i].at, mk[i].key, mk[i].value);
    trace_close(r);
    return out;
}

static void st_test_events(void)
{
    st_write("ev.lua", "phase('setup')\n"
                       "local b = alloc(10)\n"
                       "local c = calloc(3, 8, 'raw')\n"
                       "realloc(b, 100)\n"
                       "local a = arena()\n"
                       "a:alloc(48)\n"
                       "local o = a:own(alloc(24, 'obj'))\n"
                       "phase('teardown')\n"
                       "free(b)\n"
                       "a:free()\n"
                       "free(c)\n"
                       "alloc(1 << 48)\n");
    script_def_t defs[] = {{"zeta", "1"}, {"alpha", "x"}, {"zeta", "2"}};
    static const char want[] = "a 0 0 0 10 mem\n"
                               "c 1 0 3 8 raw\n"
                               "r 0 0 0 100 mem\n"
                               "n 0 0 0 0 mem\n"
                               "m 0 0 0 48 mem\n"
                               "a 2 0 0 24 obj\n"
                               "o 2 0 0 0 mem\n"
                               "f 0 0 0 0 mem\n"
                               "x 0 0 0 0 mem\n"
                               "f 1 0 0 0 raw\n"
                               "a 3 0 0 281474976710656 mem\n";
    static const char *const outs[] = {"ev.txt", "ev.atr"};
    for (int i = 0; i < 2; i++) {
        CHECKF(st_run("ev.lua", outs[i], 42, defs, 3) == 0, "%s", st_err);
        char meta[1024];
        char *got = st_events(outs[i], meta, sizeof meta);
        CHECK(got != NULL);
        if (!got) continue;
        /* The arena id of `o` events sits in the arena field: compare the
         * op letters, ids and sizes above, plus the arena of m/o/x here. */
        CHECKF(!strcmp(got, want), "%s events:\n%s", outs[i], got);
        free(got);
        CHECKF(strstr(meta, "producer=arenalab gen;script=ev.lua;seed=42;") != NULL, "%s", meta);
        CHECKF(strstr(meta, "param.alpha=x;param.zeta=2;") != NULL, "%s", meta);
        CHECKF(strstr(meta, "@0:phase=setup;@7:phase=teardown;") != NULL, "%s", meta);
    }
    /* -D never read: a warning naming it, once */
    size_t n;
    char *diag = st_read("diag.log", &n);
    CHECK(diag && strstr(diag, "never reads -D zeta") && strstr(diag, "never reads -D alpha"));
    int zetas = 0; /* -D zeta was given twice: one warning */
    for (const char *p = diag; p && (p = strstr(p, "-D zeta")); p++)
        zetas++;
    CHECK(zetas == 1);
    free(diag);
}

/* Runs a script with its own Lua asserts: it must succeed. */
static void st_expect_ok(const char *name, const char *text)
{
    st_write(name, text);
    int rc = st_run(name, "ok.atr", 7, NULL, 0);
    CHECKF(rc == 0, "%s failed: %s", name, st_err);
}

static void st_test_semantics(void)
{
    st_expect_ok("pool.lua",
                 "local p = pool()\n"
                 "local a, b, c = alloc(10), alloc(20), alloc(30)\n"
                 "p:add(a); p:add(b); p:add(c)\n"
                 "assert(#p == 3 and p:size() == 3 and p:bytes() == 60)\n"
                 "assert(p:oldest() == a and p:newest() == c)\n"
                 "p:touch(a)\n"
                 "assert(p:oldest() == b and p:newest() == a)\n"
                 "realloc(b, 120)\n"
                 "assert(p:bytes() == 160)\n"
                 "free(c)\n"
                 "assert(#p == 2 and p:bytes() == 130)\n"
                 "assert(p:free_oldest() == 120 and #p == 1)\n"
                 "assert(not b:live() and a:live())\n"
                 "local q = pool()\n"
                 "q:add(a)\n"
                 "assert(#p == 0 and #q == 1 and p:free_newest() == nil)\n"
                 "q:remove(a)\n"
                 "assert(#q == 0 and a:live())\n"
                 "for i = 1, 1000 do q:add(alloc(i)) end\n"
                 "for i = 1, 500 do q:free_random() end\n"
                 "assert(#q == 500)\n"
                 "local x = arena()\n"
                 "local r = q:random()\n"
                 "local sz = r:size()\n"
                 "x:own(r)\n"
                 "x:free()\n"
                 "assert(#q == 499 and not r:live())\n"
                 "assert(q:free_all() == 499 and #q == 0 and q:bytes() == 0)\n"
                 "local blocks, bytes = live()\n"
                 "assert(blocks == 1 and bytes == 10)\n"
                 "assert(a:id() == 0 and a:domain() == 'mem' and tostring(a):find('block 0'))\n");
    /* Handles are values: one block, one value (==, table keys), not a
     * collectable object; their metatable stays hidden. */
    st_expect_ok("handles.lua",
                 "local p = pool()\n"
                 "local b = p:add(alloc(8))\n"
                 "local seen = {[b] = 'b'}\n"
                 "assert(seen[p:oldest()] == 'b' and p:newest() == b and rawequal(p:random(), b))\n"
                 "assert(type(b) == 'userdata' and getmetatable(b) == false)\n"
                 "assert(alloc(8) ~= b and realloc(b, 16) == b)\n"
                 "local a = arena()\n"
                 "assert(a ~= b and a == a and tostring(a):find('arena 0'))\n"
                 "free(b)\n"
                 "assert(not b:live() and b:id() == 0 and tostring(b) == 'block 0 (freed)')\n"
                 "local c = alloc(4)\n"
                 "assert(c ~= b and not b:live() and c:live() and c:id() == 2)\n"
                 "collectgarbage()\n"
                 "assert(c:live() and c:size() == 4)\n");
    st_expect_ok("arena.lua", "local a = arena()\n"
                              "local b1, b2 = alloc(8, 'obj'), alloc(16, 'obj')\n"
                              "a:own(b1); a:own(b2); a:alloc(100)\n"
                              "assert(a:owned() == 2 and a:bytes() == 100)\n"
                              "free(b1)\n"
                              "assert(a:owned() == 1)\n"
                              "local a2 = arena()\n"
                              "a2:own(b2)\n"
                              "assert(a:owned() == 0 and a2:owned() == 1)\n"
                              "a:free()\n"
                              "assert(b2:live() and not a:live())\n"
                              "a2:free()\n"
                              "assert(not b2:live())\n"
                              "assert(select(1, live()) == 0)\n");
    st_expect_ok("param.lua", "assert(param('missing', 5) == 5)\n"
                              "assert(param('missing') == nil)\n"
                              "assert(math.type(param('missing', 5)) == 'integer')\n");
    script_def_t defs[] = {{"n", "1e3"}, {"k", "64K"}, {"f", "0.5"},
                           {"s", "abc"}, {"b", "no"},  {"m", "2M"}};
    st_write("param2.lua",
             "assert(param('n', 1) == 1000 and math.type(param('n', 1)) == 'integer')\n"
             "assert(param('k', 1) == 65536)\n"
             "assert(param('m', 0) == 2097152)\n"
             "assert(param('f', 0.1) == 0.5)\n"
             "assert(param('s', 'x') == 'abc' and param('s') == 'abc')\n"
             "assert(param('b', true) == false)\n");
    CHECKF(st_run("param2.lua", "ok.atr", 1, defs, 6) == 0, "%s", st_err);
    st_write("param3.lua", "local n = param('s', 1)\n");
    CHECK(st_run("param3.lua", "ok.atr", 1, defs, 6) == SCRIPT_EFAIL);
    CHECKF(strstr(st_err, "param3.lua:1: param: -D s=abc: expected a number") != NULL, "%s",
           st_err);
    st_write("param4.lua", "local n = param('f', 1)\n");
    CHECK(st_run("param4.lua", "ok.atr", 1, defs, 6) == SCRIPT_EFAIL);
    CHECKF(strstr(st_err, "expected an integer") != NULL, "%s", st_err);

    /* distributions stay in range; choice forms */
    st_expect_ok(
        "dist.lua",
        "for i = 1, 10000 do\n"
        "  local u = uniform(3, 9); assert(math.type(u) == 'integer' and u >= 3 and u <= 9)\n"
        "  local f = uniform(1.5, 2.5); assert(f >= 1.5 and f < 2.5)\n"
        "  local z = zipf(50, 1.1); assert(z >= 1 and z <= 50)\n"
        "  assert(geometric(0.3) >= 1 and exponential(5) >= 0)\n"
        "  assert(choice({0, 1, 0}) == 2)\n"
        "  assert(choice({{'x', 0}, {'y', 3}}) == 'y')\n"
        "  local r = math.random(1, 6); assert(r >= 1 and r <= 6)\n"
        "end\n"
        "local ch = chooser({{'a', 1}, {'b', 3}})\n"
        "local nb = 0\n"
        "for i = 1, 10000 do if ch() == 'b' then nb = nb + 1 end end\n"
        "assert(nb > 7200 and nb < 7800, nb)\n"
        "local ci = chooser({1, 0, 1})\n"
        "for i = 1, 100 do assert(ci() ~= 2) end\n"
        "assert(seed() == 7)\n");

    /* coroutines share the context; the computing libraries are there,
     * load takes text (st_test_sandbox: what is refused) */
    st_expect_ok("sandbox.lua",
                 "local co = coroutine.wrap(function() local b = alloc(8)\n"
                 "  coroutine.yield(b); free(b) end)\n"
                 "local b = co()\n"
                 "assert(b:live()); co(); assert(not b:live())\n"
                 "assert(getmetatable(alloc(1)) == false)\n"
                 "assert(load('return 7')() == 7 and load('return x', 'c', 't', {x = 3})() == 3)\n"
                 "assert(utf8.char(72, 105) == 'Hi' and table.concat({1, 2}, ',') == '1,2')\n"
                 "assert(string.rep('ab', 2) == 'abab' and ('%d'):format(5) == '5')\n"
                 "assert(math.floor(2.5) == 2 and math.maxinteger > 0)\n");

    /* sizes_from: the request sizes of a trace, in proportion */
    st_write("sizes.txt", "a 0 16\na 1 16\nf 0\na 2 16 obj\nc 3 2 16\nn 5\nm 5 16\nr 1 999\n");
    st_expect_ok("sizes.lua", "local s = sizes_from('sizes.txt')\n"
                              "local n32 = 0\n"
                              "for i = 1, 10000 do\n"
                              "  local v = s()\n"
                              "  assert(v == 16 or v == 32, v)\n"
                              "  if v == 32 then n32 = n32 + 1 end\n"
                              "end\n"
                              "assert(n32 > 1700 and n32 < 2300, n32)\n");
    st_write("empty.txt", "# nothing\n");
    st_expect_error("local s = sizes_from('empty.txt')\n", 1, "no allocation");
    st_write("badtrace.txt", "a 0 16\nf 7\n");
    st_expect_error("\nsizes_from('badtrace.txt')\n", 2, "badtrace.txt:2:");

    /* handles are collectable: a long loop keeps the Lua heap small */
    st_expect_ok("gc.lua", "local p = pool()\n"
                           "for i = 1, 2000000 do\n"
                           "  local b = alloc(i % 512)\n"
                           "  if i % 3 == 0 then p:add(b) else free(b) end\n"
                           "  if #p > 100 then p:free_random() end\n"
                           "end\n"
                           "collectgarbage()\n"
                           "assert(collectgarbage('count') < 2048, collectgarbage('count'))\n");
}

/* ---- the sandbox --------------------------------------------------------- */

typedef struct {
    char *buf;
    size_t len, cap;
} st_bytes_t;

static int st_dump_writer(lua_State *L, const void *p, size_t n, void *ud)
{
    st_bytes_t *b = ud;
    if (b->len + n > b->cap) return 1;
    memcpy(b->buf + b->len, p, n);
    b->len += n;
    return 0;
}

/* The precompiled chunk of SOURCE (what string.dump or luac would give)
 * into BUF; returns its size (0 on failure). */
static size_t st_bytecode(const char *source, char *buf, size_t cap)
{
    st_bytes_t b = {buf, 0, cap};
    lua_State *L = luaL_newstate();
    int ok = L && luaL_loadstring(L, source) == LUA_OK && lua_dump(L, st_dump_writer, &b, 0) == 0;
    if (L) lua_close(L);
    CHECKF(ok && b.len > 4 && buf[0] == '\x1b', "cannot precompile '%s'", source);
    return ok ? b.len : 0;
}

/* The same chunk as the body of a Lua string literal: "\027\076...". */
static void st_bytecode_literal(const char *source, char *out, size_t len)
{
    char code[2048];
    size_t n = st_bytecode(source, code, sizeof code), k = 0;
    for (size_t i = 0; i < n && k + 5 < len; i++)
        k += (size_t)snprintf(out + k, len - k, "\\%03u", (unsigned)(unsigned char)code[i]);
    out[k] = '\0';
}

static int st_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

#define ST_REFUSED                                                                                 \
    "is not available to workload scripts (arenalab gen --allow-unsafe gives "                     \
    "the full standard library)"
#define ST_NEVER "is never available to workload scripts"

/* What the sandbox refuses: an error at the line naming it, no trace, and
 * no effect (nothing spawned, written or removed). */
static void st_test_sandbox(void)
{
    static const struct {
        const char *text;
        int line;
        const char *want;
    } refused[] = {
        {"free(alloc(8))\nos.execute('touch executed.flag')\n", 2, "os.execute " ST_REFUSED},
        {"local p = io.popen('touch popen.flag')\n", 1, "io.popen " ST_REFUSED},
        {"local f = io.open('written.txt', 'w')\nf:write('x')\nf:close()\n", 1,
         "io.open " ST_REFUSED},
        {"\nlocal ok = pcall(io.lines, 'victim.txt')\n", 2, "io.lines " ST_REFUSED},
        {"alloc(1)\n\nos.remove('victim.txt')\n", 3, "os.remove " ST_REFUSED},
        {"os.rename('victim.txt', 'written.txt')\n", 1, "os.rename " ST_REFUSED},
        {"local home = os.getenv('HOME')\n", 1, "os.getenv " ST_REFUSED},
        {"local t = os.time()\n", 1, "os.time " ST_REFUSED},
        {"local t = os.clock()\n", 1, "os.clock " ST_REFUSED},
        {"require('lfs')\n", 1, "require " ST_REFUSED},
        {"\n\nlocal socket = require 'socket.core'\n", 3, "require " ST_REFUSED},
        {"local f = package.loadlib('libc.so.6', 'system')\n", 1, "package.loadlib " ST_REFUSED},
        {"package.cpath = './?.so'\n", 1, "package.cpath " ST_REFUSED},
        {"local f = loadfile('victim.txt')\n", 1, "loadfile " ST_REFUSED},
        {"dofile('victim.txt')\n", 1, "dofile " ST_REFUSED},
        {"local code = string.dump(function() return 1 end)\n", 1, "string.dump " ST_NEVER},
        {"local code = ('').dump(print)\n", 1, "string.dump " ST_NEVER},
        {"debug.sethook(print, 'l')\n", 1, "debug.sethook " ST_NEVER},
        {"local mt = debug.getmetatable(alloc(8))\n", 1, "debug.getmetatable " ST_NEVER},
        {"os.exit(3)\n", 1, "os.exit " ST_REFUSED}, /* last: it used to end this test */
    };
    st_write("victim.txt", "return 1\n");
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        st_expect_error(refused[i].text, refused[i].line, refused[i].want);
    CHECK(!st_exists("executed.flag") && !st_exists("popen.flag") && !st_exists("written.txt"));
    CHECK(st_exists("victim.txt"));

    /* A binary chunk never loads: from a string, a reader, with mode "b". */
    char lit[8192], text[20000];
    st_bytecode_literal("return 42", lit, sizeof lit);
    snprintf(text, sizeof text, "local f = assert(load(\"%s\"))\nf()\n", lit);
    st_expect_error(text, 1, "attempt to load a binary chunk");
    snprintf(text, sizeof text, "\nlocal f = assert(load(\"%s\", 'x', 'b'))\n", lit);
    st_expect_error(text, 2, "attempt to load a binary chunk");
    snprintf(text, sizeof text,
             "local s = \"%s\"\nlocal f = assert(load(function() local r = s; s = nil; return r "
             "end))\n",
             lit);
    st_expect_error(text, 2, "attempt to load a binary chunk");

    /* The hint names the command the caller gives (report's workloads). */
    st_allow_hint = "arenalab report --allow-unsafe";
    st_expect_error("os.execute('touch executed.flag')\n", 1,
                    "os.execute is not available to workload scripts (arenalab report "
                    "--allow-unsafe gives the full standard library)");
    st_allow_hint = NULL;
    CHECK(!st_exists("executed.flag"));

    /* --allow-unsafe: the full standard library... */
    char code[2048];
    size_t n = st_bytecode("return {x = 1}", code, sizeof code);
    FILE *f = fopen("chunk.luac", "wb");
    CHECK(f && fwrite(code, 1, n, f) == n);
    if (f) fclose(f);
    f = fopen("mod_bin.lua", "wb");
    CHECK(f && fwrite(code, 1, n, f) == n);
    if (f) fclose(f);
    st_write("mod_text.lua", "return {x = 5}\n");
    st_allow_unsafe = 1;
    st_expect_ok("unsafe.lua", "local f = assert(io.open('unsafe.txt', 'w'))\n"
                               "f:write('written')\n"
                               "f:close()\n"
                               "assert(os.remove('victim.txt'))\n"
                               "assert(type(os.getenv('PATH')) == 'string')\n"
                               "assert(type(os.time()) == 'number')\n"
                               "package.path = './?.lua'\n"
                               "assert(require('mod_text').x == 5)\n"
                               "assert(dofile('mod_text.lua').x == 5)\n"
                               "assert(loadfile('mod_text.lua')().x == 5)\n"
                               "assert(type(package.loadlib) == 'function')\n"
                               /* ...but still text chunks only, and no debug */
                               "local ok, err = pcall(require, 'mod_bin')\n"
                               "assert(not ok and err:find('binary chunk'), err)\n"
                               "local f, err = loadfile('chunk.luac')\n"
                               "assert(f == nil and err:find('binary chunk'), err)\n"
                               "local f, err = loadfile('chunk.luac', 'b')\n"
                               "assert(f == nil and err:find('binary chunk'), err)\n"
                               "ok, err = pcall(dofile, 'chunk.luac')\n"
                               "assert(not ok and err:find('binary chunk'), err)\n"
                               "assert(not pcall(string.dump, print))\n"
                               "assert(not pcall(function() return debug.getinfo end))\n"
                               /* a foreign userdata is not a block */
                               "assert(not pcall(free, io.stdout))\n");
    size_t len;
    char *got = st_read("unsafe.txt", &len);
    CHECKF(got && !strcmp(got, "written"), "unsafe.txt: %s", got ? got : "(missing)");
    free(got);
    CHECK(!st_exists("victim.txt"));
    snprintf(text, sizeof text, "local f = assert(load(\"%s\", 'x', 'bt'))\n", lit);
    st_expect_error(text, 1, "attempt to load a binary chunk");
    st_expect_error("local s = string.dump(print)\n", 1, "string.dump " ST_NEVER);
    st_allow_unsafe = 0;
}

static void st_test_determinism(void)
{
    st_write("det.lua",
             "local p = pool()\n"
             "local sizes = chooser({{16, 3}, {48, 2}, {200, 1}})\n"
             "for i = 1, 20000 do\n"
             "  local r = uniform()\n"
             "  if r < 0.5 or #p == 0 then\n"
             "    p:add(alloc(sizes() + zipf(100, 1.2), choice({{'mem', 3}, {'obj', 1}})))\n"
             "  elseif r < 0.6 then realloc(p:random(), round(lognormal(5, 1)))\n"
             "  elseif r < 0.65 then local a = arena(); a:alloc(geometric(0.1))\n"
             "    a:own(p:random()); a:free()\n"
             "  else p:free_random() end\n"
             "  if i % 5000 == 0 then phase('q' .. i // 5000) end\n"
             "  alloc(math.random(1, 64) + round(exponential(8)) + round(normal(50, 5)))\n"
             "end\n");
    script_def_t defs[] = {{"unused", "1"}};
    static const char *const exts[] = {"atr", "txt"};
    for (int f = 0; f < 2; f++) {
        char p1[32], p2[32], p3[32];
        snprintf(p1, sizeof p1, "det1.%s", exts[f]);
        snprintf(p2, sizeof p2, "det2.%s", exts[f]);
        snprintf(p3, sizeof p3, "det3.%s", exts[f]);
        CHECKF(st_run("det.lua", p1, 99, defs, 1) == 0, "%s", st_err);
        CHECKF(st_run("det.lua", p2, 99, defs, 1) == 0, "%s", st_err);
        CHECKF(st_run("det.lua", p3, 100, defs, 1) == 0, "%s", st_err);
        size_t n1, n2, n3;
        char *a = st_read(p1, &n1), *b = st_read(p2, &n2), *c = st_read(p3, &n3);
        CHECK(a && b && c);
        CHECKF(a && b && n1 == n2 && !memcmp(a, b, n1), "%s and %s differ", p1, p2);
        CHECKF(a && c && (n1 != n3 || memcmp(a, c, n1)), "seeds 99 and 100 gave the same %s", p1);
        CHECK(n1 > 10000);
        free(a);
        free(b);
        free(c);
    }
}

/* Events of PATH as "OP ID THREAD\n" lines (NULL if unreadable). */
static char *st_thread_events(const char *path)
{
    trace_reader_t *r;
    char err[512];
    if (trace_open(&r, path, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    out[0] = '\0';
    trace_event_t ev;
    int rc;
    while ((rc = trace_next(r, &ev)) > 0 && len + 64 < cap)
        len += (size_t)snprintf(out + len, cap - len, "%c %u %u\n", trace_op_letter[ev.op], ev.id,
                                ev.thread);
    CHECKF(rc == 0, "%s: %s", path, trace_error(r));
    trace_close(r);
    return out;
}

/* Threads: every event carries the current thread, in both formats; frees
 * and reallocs on other threads than the allocation's; run_threads
 * interleaves deterministically for a seed; misuse is an error at the
 * line. */
static void st_test_threads(void)
{
    st_write("th.lua", "local b = alloc(10)\n"
                       "local t1, t2 = new_thread(), new_thread()\n"
                       "assert(t1 == 1 and t2 == 2 and thread() == 0)\n"
                       "assert(thread(t1) == 0)\n"
                       "local c = alloc(20)\n"
                       "on_thread(t2, free, c)\n"
                       "assert(on_thread(t2, realloc, b, 30) == b)\n"
                       "assert(thread() == t1)\n"
                       "thread(0)\n"
                       "end_thread(t1)\n"
                       "free(b)\n"
                       "local ts = run_threads(2, function(i, t)\n"
                       "  assert(thread() == t and t == i + 2)\n"
                       "  local x = alloc(i)\n"
                       "  coroutine.yield()\n"
                       "  free(x)\n"
                       "end)\n"
                       "assert(#ts == 2 and ts[1] == 3 and ts[2] == 4 and thread() == 0)\n"
                       "assert(not pcall(thread, 3))\n"
                       "free(alloc(1))\n");
    static const char want[] = "a 0 0\n"
                               "a 1 1\n"
                               "f 1 2\n"
                               "r 0 2\n"
                               "f 0 0\n";
    static const char *const outs[] = {"th.txt", "th.atr"};
    for (int i = 0; i < 2; i++) {
        CHECKF(st_run("th.lua", outs[i], 5, NULL, 0) == 0, "%s", st_err);
        char *got = st_thread_events(outs[i]);
        CHECK(got != NULL);
        if (!got) continue;
        CHECKF(!strncmp(got, want, strlen(want)), "%s events:\n%s", outs[i], got);
        /* run_threads: blocks 2 and 3, each allocated and freed on its own
         * thread (3 or 4) in some interleaving; then thread 0 again. */
        const char *rest = got + strlen(want);
        for (unsigned id = 2; id <= 3; id++) {
            char a[32], f[32];
            snprintf(a, sizeof a, "a %u %u\n", id, id + 1);
            snprintf(f, sizeof f, "f %u %u\n", id, id + 1);
            const char *pa = strstr(rest, a), *pf = strstr(rest, f);
            CHECKF(pa && pf && pa < pf, "%s: block %u:\n%s", outs[i], id, got);
        }
        CHECKF(strstr(rest, "a 4 0\nf 4 0\n") != NULL, "%s: after run_threads:\n%s", outs[i], got);
        free(got);
    }
    size_t n;
    char *text = st_read("th.txt", &n);
    CHECK(text && strstr(text, "\n#@ thread 1\na 1 20\n#@ thread 2\nf 1\nr 0 30\n#@ thread 0\n"));
    free(text);

    /* A trace without threads has no thread lines. */
    st_write("nt.lua", "free(alloc(8))\n");
    CHECKF(st_run("nt.lua", "nt.txt", 1, NULL, 0) == 0, "%s", st_err);
    text = st_read("nt.txt", &n);
    CHECK(text && !strstr(text, "#@ thread"));
    free(text);

    /* Same seed, same interleaving (and bytes); another seed, another. */
    st_write("thd.lua", "local shared = pool()\n"
                        "run_threads(4, function(i)\n"
                        "  for k = 1, 500 do\n"
                        "    shared:add(alloc(uniform(8, 64)))\n"
                        "    if #shared > 50 then shared:free_random() end\n"
                        "    if k % 7 == 0 then coroutine.yield() end\n"
                        "  end\n"
                        "end)\n"
                        "shared:free_all()\n");
    CHECKF(st_run("thd.lua", "thd1.atr", 3, NULL, 0) == 0, "%s", st_err);
    CHECKF(st_run("thd.lua", "thd2.atr", 3, NULL, 0) == 0, "%s", st_err);
    CHECKF(st_run("thd.lua", "thd3.atr", 4, NULL, 0) == 0, "%s", st_err);
    size_t n1, n2, n3;
    char *a = st_read("thd1.atr", &n1), *b = st_read("thd2.atr", &n2),
         *c = st_read("thd3.atr", &n3);
    CHECK(a && b && c);
    CHECKF(a && b && n1 == n2 && !memcmp(a, b, n1), "same seed, different threaded traces");
    CHECKF(a && c && (n1 != n3 || memcmp(a, c, n1)), "seeds 3 and 4 gave the same trace");
    free(a);
    free(b);
    free(c);
    /* Frees on other threads than the allocation's happened, and every
     * thread 1..4 wrote events. */
    char *ev = st_thread_events("thd1.atr");
    unsigned owner[4096] = {0}, remote = 0, seen = 0;
    for (const char *p = ev; p && *p; p = strchr(p, '\n') + 1) {
        char op;
        unsigned id, t;
        if (sscanf(p, "%c %u %u", &op, &id, &t) != 3 || id >= 4096) break;
        if (op == 'a') owner[id] = t;
        if (op == 'f' && owner[id] != t) remote++;
        if (t >= 1 && t <= 4) seen |= 1u << t;
    }
    CHECKF(remote > 100 && seen == 0x1e, "remote frees %u, threads seen %#x", remote, seen);
    free(ev);

    /* Misuse: an error at the line, no output. */
    st_expect_error("free(alloc(8))\nthread(1)\n", 2,
                    "thread: no thread 1 (threads 0..0 exist; new_thread() creates one)");
    st_expect_error("local b = alloc(8)\nnew_thread()\non_thread(5, free, b)\n", 3,
                    "on_thread: no thread 5 (threads 0..1 exist");
    st_expect_error("local t = new_thread()\nend_thread(t)\non_thread(t, free, alloc(8))\n", 3,
                    "on_thread: thread 1 has ended");
    st_expect_error("end_thread(0)\n", 1, "end_thread: thread 0 (the main thread) never ends");
    st_expect_error("local t = new_thread()\nthread(t)\nend_thread(t)\n", 3,
                    "end_thread: thread 1 is the current thread");
    st_expect_error("new_thread()\nthread(1.5)\n", 2,
                    "thread: bad thread (integer expected, got a fraction)");
    st_expect_error("thread('1')\n", 1, "thread: bad thread (integer expected, got string)");
    st_expect_error("local t = new_thread()\nthread(t)\non_thread(0, end_thread, t)\n", 3,
                    "on_thread: thread 1 ended while on_thread ran");
    st_expect_error("run_threads(2, function(i)\n"
                    "  local b = alloc(8)\n"
                    "  free(b)\n"
                    "  coroutine.yield()\n"
                    "  free(b)\n"
                    "end)\n",
                    5, "free: block");
    st_expect_error("run_threads({function() end, 3})\n", 1,
                    "run_threads: entry 2 is a number, not a function");
    st_expect_error("\nrun_threads(-1, print)\n", 2, "run_threads: bad count");
    st_expect_error("run_threads(2, function(i, t)\n"
                    "  if i == 1 then coroutine.yield() else end_thread(1) end\n"
                    "  coroutine.yield()\n"
                    "end)\n",
                    1, "run_threads: thread 1 ended while a function ran on it");
}

/* check_defs, the experiments' dry run: it ends as soon as every -D was
 * read (no event of the loop is written), a -D never read is an error
 * naming it, a value param() cannot convert is the script's error. */
static void st_test_check_defs(void)
{
    st_write("t.lua", "local n = param('n', 1)\nlocal k = param('k', 2)\n"
                      "for i = 1, 1000000 do free(alloc(n + k)) end\n");
    script_def_t nk[] = {{"n", "3"}, {"k", "4"}}, nm[] = {{"n", "3"}, {"m", "4"}},
                 bad[] = {{"n", "x"}};
    script_stats_t st;
    for (int pass = 0; pass < 3; pass++) {
        script_opts_t o = {.script = "t.lua",
                           .output = "/dev/null",
                           .seed = 1,
                           .defs = pass == 0   ? nk
                                   : pass == 1 ? nm
                                               : bad,
                           .ndefs = pass == 2 ? 1 : 2,
                           .check_defs = 1};
        FILE *diag = fopen("diag.log", "w");
        o.diag = diag;
        st_err[0] = '\0';
        int rc = script_run(&o, &st, st_err, sizeof st_err);
        if (diag) fclose(diag);
        if (pass == 0) CHECKF(rc == 0 && st.events == 0, "rc %d, %s", rc, st_err);
        if (pass == 1)
            CHECKF(rc == SCRIPT_EFAIL && strstr(st_err, "t.lua never reads -D m (a typo?)"),
                   "rc %d, %s", rc, st_err);
        if (pass == 2)
            CHECKF(rc == SCRIPT_EFAIL && strstr(st_err, "t.lua:1:"), "rc %d, %s", rc, st_err);
    }
}

/* The script's own Lua data is bounded (meminfo.h: no input may exhaust the
 * machine): a table grown without end is an error naming the bound and
 * ARENALAB_LUA_MAX_BYTES, no output; a script that catches the failed
 * allocation (pcall) goes on; under the bound nothing changes. */
static void st_test_memory_bound(void)
{
    setenv("ARENALAB_LUA_MAX_BYTES", "67108864", 1); /* 64 MiB */
    st_write("t.lua", "local t = {}\nfor i = 1, 1e9 do t[i] = i end\n");
    int rc = st_run("t.lua", "out.atr", 1, NULL, 0);
    CHECKF(rc == SCRIPT_EFAIL, "rc %d: an unbounded table ran (%s)", rc, st_err);
    CHECKF(strstr(st_err, "t.lua:") && strstr(st_err, "64 MiB") &&
               strstr(st_err, "ARENALAB_LUA_MAX_BYTES"),
           "%s", st_err);
    CHECK(st_count_files("out.atr") == 0);

    st_write("t.lua", "local ok = pcall(string.rep, 'x', 200 * 1024 * 1024)\n"
                      "assert(not ok)\nfree(alloc(8))\n");
    rc = st_run("t.lua", "out.atr", 1, NULL, 0);
    CHECKF(rc == 0, "rc %d: %s", rc, st_err);
    CHECK(st_count_files("out.atr") == 1);
    remove("out.atr");

    st_write("t.lua", "local t = {}\nfor i = 1, 1e6 do t[i] = i end\nfree(alloc(#t))\n");
    rc = st_run("t.lua", "out.atr", 1, NULL, 0);
    CHECKF(rc == 0, "rc %d: %s", rc, st_err);
    remove("out.atr");
    unsetenv("ARENALAB_LUA_MAX_BYTES");
}

int main(void)
{
    /* Short relative paths: Lua shortens long chunk names in messages. */
    const char *tmp = getenv("TEST_TMPDIR");
    char dir[] = "/tmp/script_test.XXXXXX";
    if (!tmp || !*tmp) tmp = mkdtemp(dir);
    if (!tmp || chdir(tmp) != 0) {
        perror("script_test: temporary directory");
        return 2;
    }
    st_test_errors();
    st_test_events();
    st_test_semantics();
    st_test_sandbox();
    st_test_determinism();
    st_test_threads();
    st_test_check_defs();
    st_test_memory_bound();
    return check_done();
}
