/* route_test.c: --alloc parsing into per-domain routes (PYTHONMALLOC names,
 * explicit routes, so:/plugin: libraries, errors) and instance sharing. */
#include "alloc/check.h"
#include "sim/replay/route.h"

#include <stdint.h>
#include <string.h>

/* Parses TEXT into ROUTES; returns the count, or -1 on error. */
static int rtest_parse(const char *text, route_t *routes, size_t max, char *buf, size_t buflen)
{
    char err[256];
    size_t n = 0;
    snprintf(buf, buflen, "%s", text);
    if (route_parse_list(buf, routes, max, &n, err, sizeof err)) return -1;
    return (int)n;
}

static int rtest_is(const route_t *r, const char *raw, const char *mem, const char *obj)
{
    return !strcmp(r->spec[TRACE_RAW], raw) && !strcmp(r->spec[TRACE_MEM], mem) &&
           !strcmp(r->spec[TRACE_OBJ], obj);
}

int main(void)
{
    route_t r[8];
    char buf[256], name[128];

    /* Plain names serve every domain; a list makes several routes. */
    CHECK(rtest_parse("raw,null,arena:growth=doubling", r, 8, buf, sizeof buf) == 3);
    CHECK(rtest_is(&r[0], "raw", "raw", "raw"));
    CHECK(
        rtest_is(&r[2], "arena:growth=doubling", "arena:growth=doubling", "arena:growth=doubling"));
    route_name(&r[2], name, sizeof name);
    CHECK(!strcmp(name, "arena:growth=doubling"));

    /* pymalloc as PYTHONMALLOC means it: raw to malloc, mem/obj to pymalloc,
     * shown under the name the user gave. */
    CHECK(rtest_parse("pymalloc:preset=3.8", r, 8, buf, sizeof buf) == 1);
    CHECK(rtest_is(&r[0], "malloc", "pymalloc:preset=3.8", "pymalloc:preset=3.8"));
    route_name(&r[0], name, sizeof name);
    CHECK(!strcmp(name, "pymalloc:preset=3.8"));
    CHECK(rtest_parse("malloc", r, 8, buf, sizeof buf) == 1);
    CHECK(rtest_is(&r[0], "malloc", "malloc", "malloc"));

    /* Explicit routes: consecutive domains make one route; a plain name
     * ends it; a missing domain goes to malloc; a domain given twice in one
     * route is an error, never a silent second route. */
    CHECK(rtest_parse("raw=raw,mem=pymalloc,obj=null", r, 8, buf, sizeof buf) == 1);
    CHECK(rtest_is(&r[0], "raw", "pymalloc", "null"));
    route_name(&r[0], name, sizeof name);
    CHECK(!strcmp(name, "raw=raw,mem=pymalloc,obj=null"));
    CHECK(rtest_parse("mem=pymalloc:arena=256K,raw", r, 8, buf, sizeof buf) == 2);
    CHECK(rtest_is(&r[0], "malloc", "pymalloc:arena=256K", "malloc"));
    CHECK(rtest_is(&r[1], "raw", "raw", "raw"));
    CHECK(rtest_parse("raw=malloc,mem=pymalloc,mem=mimalloc", r, 8, buf, sizeof buf) == -1);
    /* blanks around names are no part of them */
    CHECK(rtest_parse(" pymalloc,  raw ", r, 8, buf, sizeof buf) == 2);
    CHECK(rtest_is(&r[0], "malloc", "pymalloc", "pymalloc") &&
          rtest_is(&r[1], "raw", "raw", "raw"));
    CHECK(rtest_parse("raw, ,null", r, 8, buf, sizeof buf) == -1);

    /* Errors: an unknown domain, an empty spec, too many routes. */
    CHECK(rtest_parse("heap=raw", r, 8, buf, sizeof buf) == -1);
    CHECK(rtest_parse("obj=", r, 8, buf, sizeof buf) == -1);
    CHECK(rtest_parse("raw,raw,raw", r, 2, buf, sizeof buf) == -1);

    /* Instances: identical specs share one, so a pymalloc route has two
     * (malloc for raw; one pymalloc for mem and obj, as CPython has one). */
    char err[256];
    unsigned flags;
    CHECK(rtest_parse("pymalloc", r, 8, buf, sizeof buf) == 1);
    CHECK(route_check(&r[0], NULL, &flags, err, sizeof err) == 0);
    route_heaps_t h;
    CHECKF(route_create(&h, &r[0], NULL, err, sizeof err) == 0, "%s", err);
    CHECK(h.ninst == 2 && h.inst[TRACE_OBJ] == TRACE_MEM && h.inst[TRACE_RAW] == TRACE_RAW);
    void *p = h.a[TRACE_OBJ].malloc(h.a[TRACE_OBJ].ctx, 24);
    CHECK(p != NULL);
    h.a[TRACE_MEM].free(h.a[TRACE_MEM].ctx, p); /* the same instance */
    route_destroy(&h);

    /* Canonical names: spellings of one configuration agree, the pymalloc
     * route keeps its malloc raw domain apart from a uniform route. */
    char c1[256], c2[256];
    CHECK(rtest_parse("pymalloc,pymalloc:arena=1MiB,pymalloc:pool=4K", r, 8, buf, sizeof buf) == 3);
    CHECK(route_canonical(&r[0], NULL, c1, sizeof c1, err, sizeof err) == 0);
    CHECK(!strcmp(c1, "raw=malloc,mem=pymalloc,obj=pymalloc"));
    CHECK(route_canonical(&r[1], NULL, c2, sizeof c2, err, sizeof err) == 0 && !strcmp(c1, c2));
    CHECK(route_canonical(&r[2], NULL, c2, sizeof c2, err, sizeof err) == 0 && strcmp(c1, c2));
    route_t u;
    route_uniform(&u, "pymalloc:arena=1048576");
    CHECK(route_canonical(&u, NULL, c2, sizeof c2, err, sizeof err) == 0 &&
          !strcmp(c2, "pymalloc"));
    route_uniform(&u, "nosuch");
    CHECK(route_canonical(&u, NULL, c2, sizeof c2, err, sizeof err) == ROUTE_EUSAGE);
    /* Instances are shared by configuration, not by spelling. */
    CHECK(rtest_parse("raw=pymalloc,mem=pymalloc:arena=1M,obj=null", r, 8, buf, sizeof buf) == 1);
    CHECKF(route_create(&h, &r[0], NULL, err, sizeof err) == 0, "%s", err);
    CHECK(h.ninst == 2 && h.inst[TRACE_MEM] == TRACE_RAW && h.inst[TRACE_OBJ] == TRACE_OBJ);
    route_destroy(&h);

    /* PYTHONMALLOC's debug names: the hooks on every domain, routed as
     * CPython routes them; any allocator takes them as NAME_debug or
     * NAME:...:debug. */
    CHECK(rtest_parse("pymalloc_debug:arena=256K", r, 8, buf, sizeof buf) == 1);
    CHECK(
        rtest_is(&r[0], "malloc_debug", "pymalloc_debug:arena=256K", "pymalloc_debug:arena=256K"));
    route_name(&r[0], name, sizeof name);
    CHECK(!strcmp(name, "pymalloc_debug:arena=256K"));
    CHECK(rtest_parse("debug,malloc_debug,null:debug", r, 8, buf, sizeof buf) == 3);
    CHECK(rtest_is(&r[0], "malloc_debug", "pymalloc_debug", "pymalloc_debug"));
    route_name(&r[0], name, sizeof name);
    CHECK(!strcmp(name, "debug"));
    CHECK(rtest_is(&r[1], "malloc_debug", "malloc_debug", "malloc_debug"));
    CHECK(rtest_is(&r[2], "null:debug", "null:debug", "null:debug"));
    CHECK(route_has_debug(&r[0]) && route_has_debug(&r[2]));
    CHECK(rtest_parse("debug:arena=1M", r, 8, buf, sizeof buf) == -1);
    CHECK(rtest_parse("raw=malloc,mem=pymalloc_debug", r, 8, buf, sizeof buf) == 1);
    CHECK(route_has_debug(&r[0]));
    CHECK(rtest_parse("pymalloc,raw=malloc", r, 8, buf, sizeof buf) == 2);
    CHECK(!route_has_debug(&r[0]) && !route_has_debug(&r[1]));

    /* Instances under the layer: one layer per instance, each domain its
     * own face (API id), so another domain's free is caught, reported to
     * the route and not done. */
    CHECK(rtest_parse("pymalloc_debug", r, 8, buf, sizeof buf) == 1);
    CHECKF(route_create(&h, &r[0], NULL, err, sizeof err) == 0, "%s", err);
    CHECK(h.ninst == 2 && h.inst[TRACE_OBJ] == TRACE_MEM && h.dbg[TRACE_RAW] && h.dbg[TRACE_MEM]);
    CHECK(route_debugged(&h, TRACE_OBJ) && h.a[TRACE_OBJ].ctx != h.a[TRACE_MEM].ctx);
    CHECK(h.cls[TRACE_OBJ] == h.cls[TRACE_MEM] && !strcmp(h.cls[TRACE_MEM]->name, "pymalloc"));
    CHECK(dbg_is_valid(h.dbg[TRACE_MEM]) && dbg_of(h.a[TRACE_OBJ].ctx) == h.dbg[TRACE_MEM]);
    uint8_t *q = h.a[TRACE_OBJ].malloc(h.a[TRACE_OBJ].ctx, 10);
    CHECK(q && q[-8] == 'o' && route_usable_size(&h, TRACE_OBJ, q) == 48); /* 34 -> class 48 */
    h.a[TRACE_MEM].free(h.a[TRACE_MEM].ctx, q);
    CHECK(h.nfaults == 1 && h.fault.kind == DBG_BAD_ID && h.fault.found == 'o' &&
          h.fault.api == 'm');
    h.a[TRACE_OBJ].free(h.a[TRACE_OBJ].ctx, q);
    CHECK(h.nfaults == 1);
    /* a large block goes from pymalloc to the raw domain's hook: two
     * headers, as under CPython's pymalloc_debug */
    uint8_t *big = h.a[TRACE_MEM].malloc(h.a[TRACE_MEM].ctx, 1000);
    CHECK(big && big[-8] == 'm' && big[-16 - 8] == 'r' && big[-16 - 1] == 0xFD);
    uint64_t fp, peak;
    route_footprint(&h, &fp, &peak);
    CHECK(fp >= 1000 + 48); /* counted once, by the raw domain's malloc */
    h.a[TRACE_MEM].free(h.a[TRACE_MEM].ctx, big);
    CHECK(h.nfaults == 1);
    route_destroy(&h);

    /* uniform malloc_debug: one malloc, one layer, three faces */
    CHECK(rtest_parse("malloc_debug", r, 8, buf, sizeof buf) == 1);
    CHECKF(route_create(&h, &r[0], NULL, err, sizeof err) == 0, "%s", err);
    CHECK(h.ninst == 1 && h.dbg[0] && !h.dbg[1] && !h.dbg[2] && route_debugged(&h, TRACE_OBJ));
    CHECK(dbg_of(h.a[TRACE_RAW].ctx) == dbg_of(h.a[TRACE_OBJ].ctx));
    CHECK(h.a[TRACE_RAW].ctx != h.a[TRACE_OBJ].ctx);
    route_destroy(&h);
    CHECK(rtest_parse("pymalloc_debug:pools=4K", r, 8, buf, sizeof buf) == 1);
    CHECK(route_create(&h, &r[0], NULL, err, sizeof err) == ROUTE_EUSAGE);
    CHECKF(strstr(err, "pools") != NULL, "%s", err);

    /* An unknown allocator or parameter is a usage error with a message. */
    CHECK(rtest_parse("nosuch", r, 8, buf, sizeof buf) == 1);
    CHECK(route_check(&r[0], NULL, &flags, err, sizeof err) == ROUTE_EUSAGE);
    CHECK(strstr(err, "unknown allocator 'nosuch'") != NULL);
    /* a typo gets the name it was meant to be */
    CHECK(rtest_parse("pymaloc", r, 8, buf, sizeof buf) == 1);
    CHECK(route_check(&r[0], NULL, &flags, err, sizeof err) == ROUTE_EUSAGE);
    CHECKF(strstr(err, "unknown allocator 'pymaloc' (did you mean pymalloc?)") != NULL, "%s", err);
    CHECK(rtest_parse("pymalloc:pools=4K", r, 8, buf, sizeof buf) == 1);
    CHECK(route_create(&h, &r[0], NULL, err, sizeof err) == ROUTE_EUSAGE);
    CHECKF(strstr(err, "pools") != NULL, "%s", err);

    /* so:/plugin: specs: a path never starts a route's domain, tables show
     * short names, and a library that is not there is a usage error naming
     * it. */
    CHECK(rtest_parse("raw=so:je=/usr/lib/libje.so.2,mem=plugin:/x/libseg.so:chunk=1M,"
                      "plugin:/opt/a=b/libq.so",
                      r, 8, buf, sizeof buf) == 2);
    CHECK(rtest_is(&r[0], "so:je=/usr/lib/libje.so.2", "plugin:/x/libseg.so:chunk=1M", "malloc"));
    route_name(&r[0], name, sizeof name);
    CHECKF(!strcmp(name, "raw=je,mem=libseg.so:chunk=1M,obj=malloc"), "%s", name);
    route_name(&r[1], name, sizeof name);
    CHECK(!strcmp(name, "libq.so"));
    route_uniform(&u, "so:/nonexistent/libnothere.so");
    CHECK(route_check(&u, NULL, &flags, err, sizeof err) == ROUTE_EUSAGE);
    CHECKF(strstr(err, "so:/nonexistent/libnothere.so") != NULL, "%s", err);
    return check_done();
}
