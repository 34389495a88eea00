/* params_test.c: canonical allocator specs -- the same configuration
 * written differently gives one text, different ones stay apart -- each
 * class's `defaults` string says what its parser really defaults to, and
 * the grammar of so:/plugin: heads. */
#include "alloc/alloc.h"
#include "alloc/check.h"
#include "alloc/params.h"
#include "alloc/pyarena.h"
#include "alloc/pymalloc.h"

#include <string.h>

/* The canonical text of SPEC under the registry's class defaults. */
static const char *ptest_canon(const char *spec, char *buf, size_t len)
{
    alloc_spec_t s;
    char err[256];
    if (alloc_spec_parse(&s, spec, err, sizeof err)) return "PARSE ERROR";
    const alloc_class_t *cls = alloc_find(s.name);
    if (alloc_spec_canonical(spec, cls ? cls->defaults : NULL, buf, len, err, sizeof err))
        return "ERROR";
    return buf;
}

#define CANON(spec, want)                                                                          \
    do {                                                                                           \
        char b_[256];                                                                              \
        const char *got_ = ptest_canon(spec, b_, sizeof b_);                                       \
        CHECKF(strcmp(got_, want) == 0, "%s -> %s, want %s", spec, got_, want);                    \
    } while (0)

static void ptest_canonical(void)
{
    /* The case: one configuration, four spellings. */
    CANON("pymalloc", "pymalloc");
    CANON("pymalloc:arena=1M", "pymalloc");
    CANON("pymalloc:arena=1MiB", "pymalloc");
    CANON("pymalloc:arena=1048576", "pymalloc");
    CANON("pymalloc:pool=16K", "pymalloc");
    CANON("pymalloc:preset=3.11:pool=16384", "pymalloc");
    /* Sorted, sizes in their largest exact unit, the last value wins. */
    CANON("pymalloc:pool=4096:arena=256K", "pymalloc:arena=256K:pool=4K");
    CANON("pymalloc:arena=262144:pool=4KiB", "pymalloc:arena=256K:pool=4K");
    CANON("pymalloc:arena=2M:arena=1M", "pymalloc");
    CANON("pymalloc:arena=1M:arena=2048K", "pymalloc:arena=2M");
    CANON("pymalloc:threshold=384", "pymalloc:threshold=384");
    /* A preset other than the default: nothing is a default any more
     * (pool=16K differs from 3.8's 4K). */
    CANON("pymalloc:preset=3.8:pool=16K", "pymalloc:pool=16K:preset=3.8");
    CANON("pymalloc:preset=3.8", "pymalloc:preset=3.8");
    CANON("arena:block=8192", "arena");
    CANON("arena:growth=doubling:block=16K", "arena:block=16K:growth=doubling");
    CANON("null:reserve=65536M", "null");
    CANON("cpython:placement=aligned", "cpython");
    CANON("raw", "raw");
    /* No defaults known: sorted and normalised only. */
    char buf[128], err[128];
    CHECK(alloc_spec_canonical("x:b=1K:a=2048", NULL, buf, sizeof buf, err, sizeof err) == 0 &&
          strcmp(buf, "x:a=2K:b=1K") == 0);
    CHECK(alloc_spec_canonical("x:zero=0:odd=1000", NULL, buf, sizeof buf, err, sizeof err) == 0 &&
          strcmp(buf, "x:odd=1000:zero=0") == 0);
    /* Failures: a spec that does not parse, a buffer too small. */
    CHECK(alloc_spec_canonical("x:novalue", NULL, buf, sizeof buf, err, sizeof err) == -1);
    CHECK(alloc_spec_canonical("pymalloc:arena=2M", NULL, buf, 8, err, sizeof err) == -1);
}

/* Every class's defaults parse and create an instance; pymalloc's and
 * arena's equal their parsers' defaults field for field. */
static void ptest_defaults(void)
{
    char err[256];
    for (const alloc_class_t *const *c = alloc_registry; *c; c++) {
        if (!(*c)->defaults) continue;
        alloc_spec_t s;
        char full[512];
        snprintf(full, sizeof full, "%s:%s", (*c)->name, (*c)->defaults);
        CHECKF(alloc_spec_parse(&s, full, err, sizeof err) == 0, "%s: %s", full, err);
    }
    alloc_spec_t s;
    char full[512];
    snprintf(full, sizeof full, "pymalloc:%s", alloc_find("pymalloc")->defaults);
    CHECK(alloc_spec_parse(&s, full, err, sizeof err) == 0);
    pymalloc_params_t want, got;
    pymalloc_params_default(&want);
    pymalloc_params_default(&got);
    got.align = 1; /* overwritten by the defaults string */
    got.pool_size = 1;
    CHECKF(pymalloc_params_parse(&got, s.params, s.nparams, err, sizeof err) == 0, "%s", err);
    CHECK(memcmp(&want, &got, sizeof want) == 0);
    CHECK(alloc_params_unused(s.params, s.nparams) == NULL);

    snprintf(full, sizeof full, "arena:%s", alloc_find("arena")->defaults);
    CHECK(alloc_spec_parse(&s, full, err, sizeof err) == 0);
    pyarena_params_t aw, ag;
    memset(&aw, 0, sizeof aw);
    memset(&ag, 0, sizeof ag);
    pyarena_params_default(&aw);
    CHECKF(pyarena_params_parse(&ag, s.params, s.nparams, err, sizeof err) == 0, "%s", err);
    CHECK(aw.block == ag.block && aw.align == ag.align && aw.growth == ag.growth);
    CHECK(alloc_params_unused(s.params, s.nparams) == NULL);

    /* null's default reserve creates an instance like no parameter does. */
    snprintf(full, sizeof full, "null:%s", alloc_find("null")->defaults);
    CHECK(alloc_spec_parse(&s, full, err, sizeof err) == 0);
    alloc_t a;
    const alloc_class_t *null = alloc_find("null");
    CHECKF(null->create(&a, s.params, s.nparams, err, sizeof err) == 0, "%s", err);
    alloc_stats_t st;
    null->stats(a.ctx, &st);
    CHECK(st.footprint == 0);
    null->destroy(a.ctx);
}

/* so:[NAME=]PATH and plugin:[NAME=]PATH[:k=v]: head, name, parameters,
 * display names; every malformed head is refused with a message. */
static void ptest_ext(void)
{
    alloc_spec_t s;
    alloc_ext_t x;
    char err[256], buf[256];
    CHECK(alloc_spec_ext("pymalloc:arena=1M", &x, err, sizeof err) == 0);
    CHECK(alloc_spec_ext("socks", &x, err, sizeof err) == 0);

    CHECK(alloc_spec_parse(&s, "so:/usr/lib/libfoo.so.2", err, sizeof err) == 0);
    CHECK(strcmp(s.name, "so:/usr/lib/libfoo.so.2") == 0 && s.nparams == 0);
    CHECK(alloc_spec_ext(s.name, &x, err, sizeof err) == 1 && x.kind == ALLOC_EXT_SO);
    CHECK(strcmp(x.name, "libfoo.so.2") == 0 && strcmp(x.path, "/usr/lib/libfoo.so.2") == 0);

    CHECKF(alloc_spec_parse(&s, "plugin:seg=./x/libseg.so:chunk=1M:large=4K", err, sizeof err) == 0,
           "%s", err);
    CHECK(strcmp(s.name, "plugin:seg=./x/libseg.so") == 0 && s.nparams == 2);
    CHECK(strcmp(s.params[0].key, "chunk") == 0 && strcmp(s.params[1].value, "4K") == 0);
    CHECK(alloc_spec_ext(s.name, &x, err, sizeof err) == 1 && x.kind == ALLOC_EXT_PLUGIN);
    CHECK(strcmp(x.name, "seg") == 0 && strcmp(x.path, "./x/libseg.so") == 0);
    /* an '=' inside the path is no NAME= */
    CHECK(alloc_spec_ext("so:/opt/a=b/lib.so", &x, err, sizeof err) == 1 &&
          strcmp(x.path, "/opt/a=b/lib.so") == 0 && strcmp(x.name, "lib.so") == 0);

    alloc_spec_display("plugin:/a/b/libseg.so:chunk=1M", buf, sizeof buf);
    CHECK(strcmp(buf, "libseg.so:chunk=1M") == 0);
    alloc_spec_display("so:je=/usr/lib/libjemalloc.so.2", buf, sizeof buf);
    CHECK(strcmp(buf, "je") == 0);
    alloc_spec_display("pymalloc:arena=1M", buf, sizeof buf);
    CHECK(strcmp(buf, "pymalloc:arena=1M") == 0);
    /* classes: each library its own, with its NAME */
    CHECK(alloc_spec_class_len("pymalloc:arena=1M") == 8);
    CHECK(alloc_spec_class_len("so:/a/l.so") == 10);
    CHECK(alloc_spec_class_len("plugin:s=/a/l.so:chunk=1M") == 16);

    /* Canonical: parameters sorted after the head, the head as written. */
    CHECK(alloc_spec_canonical("plugin:/a/l.so:b=2K:a=1024", "a=1K", buf, sizeof buf, err,
                               sizeof err) == 0 &&
          strcmp(buf, "plugin:/a/l.so:b=2K") == 0);

    static const char *const bad[] = {
        "so:",                /* no path                      */
        "so:libfoo.so",       /* no '/': the linker would search */
        "plugin:x=",          /* a name, no path              */
        "plugin:=/a/l.so",    /* an empty name                */
        "plugin:a b=/a/l.so", /* a blank in the name         */
        "so:/a/l.so/",        /* a directory                  */
        "so:/a b/l.so",       /* a blank in the path          */
        "plugin:/a/l.so:novalue",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        CHECKF(alloc_spec_parse(&s, bad[i], err, sizeof err) == -1 && err[0], "%s", bad[i]);
    }
}

int main(void)
{
    ptest_canonical();
    ptest_defaults();
    ptest_ext();
    return check_done();
}
