/* script_dist.c: random values for scripts: distributions (uniform,
 * exponential, geometric, normal, lognormal, zipf), weighted choice, and
 * the sampler type (chooser, sizes_from).
 *
 * Invariants: every random value comes from the context's seeded generator,
 * in the order of the script's calls (the same seed gives the same values);
 * c->zipf describes zipf(c->zipf.n, c->zipf.s) whenever zipf_ok is set; a
 * sampler's table is built once, read-only afterwards and released by its
 * finalizer; sizes_from releases what it holds before raising.
 */
#include "sim/lua/internal/script_impl.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A weighted sampler (chooser, sizes_from), called as s(). */
typedef struct {
    rng_table_t t;
    int64_t *ints; /* value of each index (sizes_from), or NULL               */
    int values;    /* 1: user value 1 is a table of values (chooser)          */
} script_sampler_t;

/* ---- distributions ---------------------------------------------------------- */

static double script_num_arg(lua_State *L, int idx, const char *fn, const char *what)
{
    if (lua_type(L, idx) != LUA_TNUMBER)
        luaL_error(L, "%s: bad %s (number expected, got %s)", fn, what, luaL_typename(L, idx));
    double d = lua_tonumber(L, idx);
    if (!isfinite(d)) luaL_error(L, "%s: bad %s (not finite)", fn, what);
    return d;
}

/* uniform() -> [0,1); uniform(a, b) -> integer in [a, b] when both are
 * integers, else a float in [a, b). */
static int script_uniform(lua_State *L)
{
    script_ctx_t *c = _script_ctx(L);
    if (lua_gettop(L) == 0) {
        lua_pushnumber(L, rng_double(&c->rng));
        return 1;
    }
    if (lua_isinteger(L, 1) && lua_isinteger(L, 2)) {
        lua_Integer a = lua_tointeger(L, 1), b = lua_tointeger(L, 2);
        if (a > b) return luaL_error(L, "uniform: empty range [%I, %I]", a, b);
        lua_pushinteger(L, rng_range(&c->rng, a, b));
        return 1;
    }
    double a = script_num_arg(L, 1, "uniform", "lower bound");
    double b = script_num_arg(L, 2, "uniform", "upper bound");
    if (a > b) return luaL_error(L, "uniform: empty range [%f, %f]", a, b);
    lua_pushnumber(L, a + (b - a) * rng_double(&c->rng));
    return 1;
}

static int script_exponential(lua_State *L)
{
    double mean = script_num_arg(L, 1, "exponential", "mean");
    if (!(mean > 0)) return luaL_error(L, "exponential: mean must be positive");
    lua_pushnumber(L, rng_exponential(&_script_ctx(L)->rng, mean));
    return 1;
}

static int script_geometric(lua_State *L)
{
    double p = script_num_arg(L, 1, "geometric", "probability");
    if (!(p > 0 && p <= 1)) return luaL_error(L, "geometric: probability must be in (0, 1]");
    lua_pushinteger(L, (lua_Integer)rng_geometric(&_script_ctx(L)->rng, p));
    return 1;
}

static int script_normal_common(lua_State *L, const char *fn, int log_normal)
{
    double mu = script_num_arg(L, 1, fn, "mu");
    double sigma = script_num_arg(L, 2, fn, "sigma");
    if (sigma < 0) return luaL_error(L, "%s: sigma must not be negative", fn);
    rng_t *r = &_script_ctx(L)->rng;
    lua_pushnumber(L, log_normal ? rng_lognormal(r, mu, sigma) : rng_normal(r, mu, sigma));
    return 1;
}

static int script_normal(lua_State *L)
{
    return script_normal_common(L, "normal", 0);
}

static int script_lognormal(lua_State *L)
{
    return script_normal_common(L, "lognormal", 1);
}

/* zipf(n [, s]) -> integer in 1..n, P(k) ~ k^-s (s defaults to 1). */
static int script_zipf(lua_State *L)
{
    script_ctx_t *c = _script_ctx(L);
    if (!lua_isinteger(L, 1) || lua_tointeger(L, 1) < 1)
        return luaL_error(L, "zipf: n must be an integer >= 1");
    uint64_t n = (uint64_t)lua_tointeger(L, 1);
    double s = lua_isnoneornil(L, 2) ? 1.0 : script_num_arg(L, 2, "zipf", "exponent");
    if (!c->zipf_ok || c->zipf.n != n || c->zipf.s != s) {
        c->zipf_ok = 0;
        if (rng_zipf_init(&c->zipf, n, s) < 0)
            return luaL_error(L, "zipf: exponent must be in [0, 100]");
        c->zipf_ok = 1;
    }
    lua_pushinteger(L, (lua_Integer)rng_zipf(&c->rng, &c->zipf));
    return 1;
}

/* Weight I (1-based) of the table at IDX: t[i] or, in the pair form,
 * t[i][2]. */
static double script_weight(lua_State *L, int idx, lua_Integer i, int pairs, const char *fn)
{
    double w;
    if (pairs) {
        if (lua_rawgeti(L, idx, i) != LUA_TTABLE)
            luaL_error(L, "%s: entry %I is not a {value, weight} pair", fn, i);
        lua_rawgeti(L, -1, 2);
        w = lua_tonumber(L, -1);
        int ok = lua_type(L, -1) == LUA_TNUMBER;
        lua_pop(L, 2);
        if (!ok) luaL_error(L, "%s: entry %I has no numeric weight", fn, i);
    } else {
        lua_rawgeti(L, idx, i);
        w = lua_tonumber(L, -1);
        int ok = lua_type(L, -1) == LUA_TNUMBER;
        lua_pop(L, 1);
        if (!ok) luaL_error(L, "%s: weight %I is not a number", fn, i);
    }
    if (!(w >= 0) || !isfinite(w)) luaL_error(L, "%s: weight %I is negative or not finite", fn, i);
    return w;
}

/* Entries of the choice table at IDX (>= 1) and whether it is the pair form. */
static lua_Integer script_choices(lua_State *L, int idx, const char *fn, int *pairs)
{
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    if (n < 1) luaL_error(L, "%s: empty table", fn);
    *pairs = lua_rawgeti(L, idx, 1) == LUA_TTABLE;
    lua_pop(L, 1);
    return n;
}

/* choice({w1, w2, ...}) -> index; choice({{v1, w1}, {v2, w2}, ...}) -> value.
 * One draw; linear in the table (build a chooser() for big tables). */
static int script_choice(lua_State *L)
{
    script_ctx_t *c = _script_ctx(L);
    int pairs;
    lua_Integer n = script_choices(L, 1, "choice", &pairs);
    double sum = 0;
    for (lua_Integer i = 1; i <= n; i++)
        sum += script_weight(L, 1, i, pairs, "choice");
    if (!(sum > 0) || !isfinite(sum)) return luaL_error(L, "choice: the weights sum to zero");
    double u = rng_double(&c->rng) * sum;
    lua_Integer pick = 0;
    for (lua_Integer i = 1; i <= n; i++) {
        double w = script_weight(L, 1, i, pairs, "choice");
        if (w > 0) pick = i; /* rounding can leave u past the end: keep the last */
        if (u < w) break;
        u -= w;
    }
    if (!pairs) {
        lua_pushinteger(L, pick);
        return 1;
    }
    lua_rawgeti(L, 1, pick);
    lua_rawgeti(L, -1, 1);
    return 1;
}

static script_sampler_t *script_sampler_new(lua_State *L)
{
    script_sampler_t *s = lua_newuserdatauv(L, sizeof *s, 1);
    memset(s, 0, sizeof *s);
    lua_pushvalue(L, SCRIPT_UV_SAMPLER);
    lua_setmetatable(L, -2);
    return s;
}

/* chooser(t) -> sampler: choice(t) precomputed, O(log n) per call. */
static int script_chooser(lua_State *L)
{
    int pairs;
    lua_Integer n = script_choices(L, 1, "chooser", &pairs);
    if ((uint64_t)n > SIZE_MAX / sizeof(double)) return luaL_error(L, "chooser: table too large");
    /* Scratch weights in a userdata: a Lua error cannot leak them. */
    double *w = lua_newuserdatauv(L, (size_t)n * sizeof(double), 0);
    for (lua_Integer i = 1; i <= n; i++)
        w[i - 1] = script_weight(L, 1, i, pairs, "chooser");
    script_sampler_t *s = script_sampler_new(L);
    int rc = rng_table_init(&s->t, w, (size_t)n);
    if (rc == -2) return luaL_error(L, "chooser: out of memory");
    if (rc < 0) return luaL_error(L, "chooser: the weights sum to zero");
    if (pairs) {
        lua_createtable(L, (int)(n < INT32_MAX ? n : 0), 0);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, 1, i);
            lua_rawgeti(L, -1, 1);
            lua_rawseti(L, -3, i);
            lua_pop(L, 1);
        }
        lua_setiuservalue(L, -2, 1);
        s->values = 1;
    }
    return 1;
}

static int script_sampler_call(lua_State *L)
{
    script_ctx_t *c = _script_ctx(L);
    script_sampler_t *s = _script_checktype(L, 1, SCRIPT_UV_SAMPLER, "sampler");
    if (!s->t.n) return luaL_error(L, "sampler: not initialised");
    size_t k = rng_table_pick(&c->rng, &s->t);
    if (s->ints) {
        lua_pushinteger(L, s->ints[k]);
    } else if (s->values) {
        if (lua_getiuservalue(L, 1, 1) != LUA_TTABLE)
            return luaL_error(L, "sampler: lost its values");
        lua_rawgeti(L, -1, (lua_Integer)k + 1);
    } else {
        lua_pushinteger(L, (lua_Integer)k + 1);
    }
    return 1;
}

static int script_sampler_gc(lua_State *L)
{
    script_sampler_t *s = lua_touserdata(L, 1);
    rng_table_free(&s->t);
    free(s->ints);
    s->ints = NULL;
    return 0;
}

/* ---- sizes_from: an empirical size distribution ------------------------------ */

/* Size -> count, open addressing; keys are size + 1 so 0 marks a free cell. */
typedef struct {
    uint64_t *keys;
    uint64_t *counts;
    size_t cap; /* a power of two */
    size_t n;
} script_hist_t;

static size_t script_hist_cell(const script_hist_t *h, uint64_t key)
{
    size_t i = (size_t)((key * 0x9e3779b97f4a7c15u) >> 32) & (h->cap - 1);
    while (h->keys[i] && h->keys[i] != key)
        i = (i + 1) & (h->cap - 1);
    return i;
}

/* Returns 0, or -1 when out of memory. */
static int script_hist_add(script_hist_t *h, uint64_t size)
{
    if (2 * (h->n + 1) > h->cap) {
        size_t ncap = h->cap ? 2 * h->cap : 256;
        if (ncap > SIZE_MAX / sizeof(uint64_t) / 2) return -1;
        script_hist_t g = {calloc(ncap, sizeof(uint64_t)), calloc(ncap, sizeof(uint64_t)), ncap,
                           h->n};
        if (!g.keys || !g.counts) {
            free(g.keys);
            free(g.counts);
            return -1;
        }
        for (size_t i = 0; i < h->cap; i++)
            if (h->keys[i]) {
                size_t j = script_hist_cell(&g, h->keys[i]);
                g.keys[j] = h->keys[i];
                g.counts[j] = h->counts[i];
            }
        free(h->keys);
        free(h->counts);
        *h = g;
    }
    size_t i = script_hist_cell(h, size + 1);
    if (!h->keys[i]) {
        h->keys[i] = size + 1;
        h->n++;
    }
    h->counts[i]++;
    return 0;
}

static int script_cmp_u64pair(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Fills S from the request sizes of the trace at PATH: a and m sizes, and
 * NMEMB*SIZE of c.  Plain C with no Lua error inside, so everything it
 * holds is released before the caller raises.  Returns 0 or -1 with ERR. */
static int script_sizes_load(const char *path, script_sampler_t *s, char *err, size_t errlen)
{
    trace_reader_t *r;
    if (trace_open(&r, path, err, errlen) < 0) return -1;
    script_hist_t h = {0};
    trace_event_t ev;
    int rc, bad = 0;
    while ((rc = trace_next(r, &ev)) > 0) {
        uint64_t size;
        if (ev.op == TRACE_ALLOC || ev.op == TRACE_ARENA_MALLOC) {
            size = ev.size;
        } else if (ev.op == TRACE_CALLOC) {
            if (ev.size && ev.nmemb > TRACE_MAX_SIZE / ev.size) {
                snprintf(err, errlen, "%s: event %" PRIu64 ": calloc of more than 2^48 bytes", path,
                         ev.where);
                bad = 1;
                break;
            }
            size = ev.nmemb * ev.size;
        } else {
            continue;
        }
        if (script_hist_add(&h, size) < 0) {
            snprintf(err, errlen, "%s: out of memory", path);
            bad = 1;
            break;
        }
    }
    if (rc < 0 && !bad) {
        snprintf(err, errlen, "%s", trace_error(r));
        bad = 1;
    }
    trace_close(r);
    if (!bad && h.n == 0) {
        snprintf(err, errlen, "%s: no allocation to take sizes from", path);
        bad = 1;
    }
    uint64_t *pairs = NULL;
    double *w = NULL;
    if (!bad) {
        pairs = malloc(h.n * 2 * sizeof *pairs);
        w = malloc(h.n * sizeof *w);
        s->ints = malloc(h.n * sizeof *s->ints);
        if (!pairs || !w || !s->ints) {
            snprintf(err, errlen, "%s: out of memory", path);
            bad = 1;
        }
    }
    if (!bad) {
        size_t n = 0;
        for (size_t i = 0; i < h.cap; i++)
            if (h.keys[i]) {
                pairs[2 * n] = h.keys[i] - 1;
                pairs[2 * n + 1] = h.counts[i];
                n++;
            }
        /* Sorted by size so the sampler does not depend on hash order. */
        qsort(pairs, n, 2 * sizeof *pairs, script_cmp_u64pair);
        for (size_t i = 0; i < n; i++) {
            s->ints[i] = (int64_t)pairs[2 * i];
            w[i] = (double)pairs[2 * i + 1];
        }
        if (rng_table_init(&s->t, w, n) < 0) {
            snprintf(err, errlen, "%s: out of memory", path);
            bad = 1;
        }
    }
    free(pairs);
    free(w);
    free(h.keys);
    free(h.counts);
    return bad ? -1 : 0;
}

/* sizes_from(path) -> sampler of the trace's request sizes. */
static int script_sizes_from(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    script_sampler_t *s = script_sampler_new(L);
    char err[512];
    if (script_sizes_load(path, s, err, sizeof err) < 0)
        return luaL_error(L, "sizes_from: %s", err);
    return 1;
}

/* ---- the script API --------------------------------------------------------- */

const luaL_Reg _script_dist_api[] = {
    {"uniform", script_uniform},       {"exponential", script_exponential},
    {"geometric", script_geometric},   {"normal", script_normal},
    {"lognormal", script_lognormal},   {"zipf", script_zipf},
    {"choice", script_choice},         {"chooser", script_chooser},
    {"sizes_from", script_sizes_from}, {NULL, NULL},
};

const luaL_Reg _script_sampler_meta[] = {
    {"__call", script_sampler_call},
    {"__gc", script_sampler_gc},
    {NULL, NULL},
};
