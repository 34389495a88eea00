/* plugin_test.c: the loader of so:/plugin: allocators (alloc/plugin.c).
 *
 * The example plugin (alloc/examples/libsegfit.so) through alloc_find:
 * one class per head, its parameters, defaults and flags, a seeded random
 * sequence of malloc/calloc/realloc/free with every block's bytes checked,
 * exact footprint counters, extras, usable size and mallocstats.  Broken
 * plugins are classes that say why they cannot run: no descriptor, another
 * ABI, no file, not a shared object.  A so: library is checked in this
 * process without being loaded (and refused in a sanitized build); its
 * create() here, where nothing preloaded it, fails with a clear message.
 * Paths are relative to the runfiles tree, where the test runs. */
#include "alloc/alloc.h"
#include "alloc/check.h"
#include "alloc/params.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define PTEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PTEST_ASAN 1
#endif
#endif

#define PTEST_SEGFIT "plugin:alloc/examples/libsegfit.so"
#define PTEST_LIBS   "alloc/plugin/testdata/"

/* The class of SPEC's head, and its parameters in *S. */
static const alloc_class_t *ptest_class(const char *spec, alloc_spec_t *s)
{
    char err[256];
    if (alloc_spec_parse(s, spec, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", spec, err);
        return NULL;
    }
    return alloc_find(s->name);
}

/* Why SPEC's class cannot run here ("" when it can). */
static const char *ptest_why(const char *spec, char *why, size_t len)
{
    alloc_spec_t s;
    const alloc_class_t *c = ptest_class(spec, &s);
    why[0] = '\0';
    if (!c) snprintf(why, len, "no class");
    if (c && c->available && !c->available(why, len) && !why[0]) snprintf(why, len, "no reason");
    return why;
}

static uint64_t ptest_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Seeded malloc/calloc/realloc/free through A, each block filled with a
 * byte derived from its slot and checked before it goes. */
static void ptest_churn(const alloc_class_t *c, alloc_t *a)
{
    enum { N = 512, STEPS = 20000 };
    static unsigned char *blk[N];
    static size_t len[N];
    uint64_t seed = 42;
    int bad = 0;
    for (int i = 0; i < STEPS; i++) {
        size_t k = ptest_rand(&seed) % N;
        size_t size =
            ptest_rand(&seed) % 4 == 0 ? ptest_rand(&seed) % 20000 : ptest_rand(&seed) % 300;
        unsigned char want = (unsigned char)(k * 7 + 1);
        if (blk[k]) {
            for (size_t j = 0; j < len[k]; j++)
                bad |= blk[k][j] != want;
            if (c->usable_size) bad |= c->usable_size(a->ctx, blk[k]) < len[k];
        }
        int op = (int)(ptest_rand(&seed) % 4);
        if (blk[k] && op == 0) {
            a->free(a->ctx, blk[k]);
            blk[k] = NULL;
            continue;
        }
        if (blk[k] && op == 1) {
            unsigned char *p = a->realloc(a->ctx, blk[k], size);
            bad |= p == NULL;
            if (!p) continue;
            for (size_t j = 0; j < (size < len[k] ? size : len[k]); j++)
                bad |= p[j] != want;
            blk[k] = p;
        } else {
            if (blk[k]) a->free(a->ctx, blk[k]);
            blk[k] = op == 2 ? a->calloc(a->ctx, 1, size) : a->malloc(a->ctx, size);
            bad |= blk[k] == NULL;
            if (!blk[k]) continue;
            if (op == 2)
                for (size_t j = 0; j < size; j++)
                    bad |= blk[k][j] != 0;
        }
        len[k] = size;
        memset(blk[k], want, size);
    }
    for (size_t k = 0; k < N; k++) {
        if (blk[k]) a->free(a->ctx, blk[k]);
        blk[k] = NULL;
    }
    CHECK(!bad);
}

static void ptest_segfit(void)
{
    alloc_spec_t s;
    char err[512] = "";
    const alloc_class_t *c = ptest_class(PTEST_SEGFIT ":chunk=64K:large=1K", &s);
    CHECK(c != NULL);
    if (!c) return;
    CHECK(strcmp(c->name, PTEST_SEGFIT) == 0);
    CHECK(alloc_find(PTEST_SEGFIT) == c); /* one class per head */
    CHECKF(c->available(err, sizeof err) == 1, "%s", err);
    CHECK(c->flags == 0 && c->preload == NULL);
    CHECK(c->usable_size && c->mallocstats && strstr(c->summary, "segregated fit"));
    CHECK(strstr(c->params, "chunk=SIZE") != NULL);
    /* the plugin's defaults make canonical specs */
    char buf[512];
    CHECK(alloc_spec_canonical(PTEST_SEGFIT ":large=4096:chunk=256K", c->defaults, buf, sizeof buf,
                               err, sizeof err) == 0 &&
          strcmp(buf, PTEST_SEGFIT) == 0);

    alloc_t a;
    CHECKF(c->create(&a, s.params, s.nparams, err, sizeof err) == 0, "%s", err);
    CHECK(alloc_params_unused(s.params, s.nparams) == NULL);
    alloc_stats_t st;
    memset(&st, 0, sizeof st);
    c->stats(a.ctx, &st);
    uint64_t base = st.footprint; /* its context page */
    CHECK(base > 0 && base % 4096 == 0 && st.peak_footprint == base);
    void *p = a.malloc(a.ctx, 100);
    CHECK(p && ((uintptr_t)p & 15) == 0 && c->usable_size(a.ctx, p) == 128);
    void *z = a.malloc(a.ctx, 0), *z2 = a.malloc(a.ctx, 0);
    CHECK(z && z2 && z != z2);
    void *big = a.malloc(a.ctx, 5000); /* above large=1K: a mapping */
    c->stats(a.ctx, &st);
    CHECK(st.footprint == base + 64 * 1024 + 8192);
    CHECK(st.nextra == 2 && strcmp(st.extra[0].name, "chunks") == 0 && st.extra[0].value == 1);
    CHECK(strcmp(st.extra[1].name, "large_blocks") == 0 && st.extra[1].value == 1);
    a.free(a.ctx, big);
    c->stats(a.ctx, &st);
    CHECK(st.footprint == base + 64 * 1024 && st.peak_footprint == base + 64 * 1024 + 8192);
    /* a freed block is reused for its class (LIFO) */
    a.free(a.ctx, p);
    CHECK(a.malloc(a.ctx, 120) == p);
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    CHECK(f && c->mallocstats(a.ctx, f) == 0);
    if (f) fclose(f);
    CHECKF(text && strstr(text, "segfit: chunk 65536, large 1024"), "%s", text ? text : "");
    free(text);
    ptest_churn(c, &a);
    c->destroy(a.ctx);

    /* parameters: a bad value fails with the plugin's message; an unknown
     * key is left unused for the caller to reject */
    CHECK(ptest_class(PTEST_SEGFIT ":chunk=1K", &s) == c);
    err[0] = '\0';
    CHECK(c->create(&a, s.params, s.nparams, err, sizeof err) == -1 && strstr(err, "chunk=1K"));
    CHECK(ptest_class(PTEST_SEGFIT ":large=3K", &s) == c);
    CHECK(c->create(&a, s.params, s.nparams, err, sizeof err) == -1 && strstr(err, "power of two"));
    CHECK(ptest_class(PTEST_SEGFIT ":chunck=1M", &s) == c);
    CHECK(c->create(&a, s.params, s.nparams, err, sizeof err) == 0);
    CHECK(strcmp(alloc_params_unused(s.params, s.nparams), "chunck") == 0);
    c->destroy(a.ctx);

    /* another head for the same file is another class, named by its NAME */
    const alloc_class_t *named = ptest_class("plugin:seg=./alloc/examples/libsegfit.so", &s);
    CHECK(named && named != c &&
          strcmp(named->name, "plugin:seg=./alloc/examples/libsegfit.so") == 0);
}

/* A plugin whose allocator fails: created fine, NULL from malloc. */
static void ptest_failing(void)
{
    alloc_spec_t s;
    char err[512] = "";
    const alloc_class_t *c = ptest_class("plugin:" PTEST_LIBS "libfailing.so", &s);
    CHECK(c && c->available(err, sizeof err) == 1);
    if (!c) return;
    CHECK(c->flags == ALLOC_PROCESS_HEAP); /* mapped from the plugin's flags */
    CHECK(c->usable_size == NULL && c->mallocstats == NULL);
    alloc_t a;
    CHECKF(c->create(&a, s.params, s.nparams, err, sizeof err) == 0, "%s", err);
    CHECK(a.malloc(a.ctx, 16) == NULL);
    c->destroy(a.ctx);
}

/* Each broken library is a class that says why, in words a user can act
 * on. */
static void ptest_broken(void)
{
    static const struct {
        const char *spec, *says;
    } cases[] = {
        {"plugin:" PTEST_LIBS "libbump.so", "has no symbol 'arenalab_plugin'"},
        {"plugin:" PTEST_LIBS "libbadabi.so", "built for plugin ABI 2; this arenalab loads ABI 1"},
        {"plugin:" PTEST_LIBS "libnothere.so", "No such file"},
        {"plugin:./alloc/plugin/arenalab_plugin.h", "is not an ELF file"},
        {"so:" PTEST_LIBS "libnothere.so", "No such file"},
        {"so:./alloc/plugin/arenalab_plugin.h", "is not an ELF file"},
    };
    char why[1024];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ptest_why(cases[i].spec, why, sizeof why);
#ifdef PTEST_ASAN
        if (strncmp(cases[i].spec, "so:", 3) == 0) {
            CHECKF(strstr(why, "sanitized build"), "%s: %s", cases[i].spec, why);
            continue;
        }
#endif
        CHECKF(strstr(why, cases[i].says), "%s: '%s', want '%s'", cases[i].spec, why,
               cases[i].says);
        /* and create() fails with the same words */
        alloc_spec_t s;
        const alloc_class_t *c = ptest_class(cases[i].spec, &s);
        alloc_t a;
        char err[1024] = "";
        CHECK(c && c->create(&a, s.params, s.nparams, err, sizeof err) == -1 &&
              strstr(err, cases[i].says));
    }
}

/* so: in a process that did not preload it: checked, never loaded. */
static void ptest_so(void)
{
    alloc_spec_t s;
    char why[512] = "";
    const alloc_class_t *c = ptest_class("so:bump=" PTEST_LIBS "libbump.so", &s);
    CHECK(c != NULL);
    if (!c) return;
    CHECK((c->flags & ALLOC_PRELOAD) && (c->flags & ALLOC_PROCESS_HEAP) &&
          (c->flags & ALLOC_PROCESS_STATS) && (c->flags & ALLOC_SLOW_STATS));
#ifdef PTEST_ASAN
    CHECK(c->available(why, sizeof why) == 0 && strstr(why, "AddressSanitizer"));
#else
    CHECKF(c->available(why, sizeof why) == 1, "%s", why);
    /* the worker's LD_PRELOAD: an absolute path to the file */
    CHECK(c->preload && c->preload[0] == '/' && strstr(c->preload, "/libbump.so"));
    CHECK(c->usable_size == NULL); /* malloc_usable_size here is glibc's */
    alloc_t a;
    char err[512] = "";
    CHECK(c->create(&a, s.params, s.nparams, err, sizeof err) == -1);
    CHECKF(strstr(err, "is not loaded in this process"), "%s", err);
#endif
    char buf[64];
    alloc_spec_display("so:bump=" PTEST_LIBS "libbump.so", buf, sizeof buf);
    CHECK(strcmp(buf, "bump") == 0);
}

int main(void)
{
    ptest_segfit();
    ptest_failing();
    ptest_broken();
    ptest_so();
    return check_done();
}
