/* pymalloc_test.c: the rules of CPython's obmalloc, one by one, on our
 * `pymalloc`, then seeded random sequences under several parameter sets
 * with pymalloc_is_valid() after every event. */
#include "alloc/check.h"
#include "alloc/evgen.h"
#include "alloc/params.h"
#include "alloc/pymalloc.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KIB 1024u
#define MIB (1024u * 1024u)

static pymalloc_t *t_new(const char *spec)
{
    alloc_spec_t s;
    char err[256];
    pymalloc_params_t p;
    pymalloc_params_default(&p);
    if (alloc_spec_parse(&s, spec, err, sizeof err) ||
        pymalloc_params_parse(&p, s.params, s.nparams, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", spec, err);
        return NULL;
    }
    return pymalloc_new(&p);
}

static uint64_t t_extra(pymalloc_t *pm, const char *name)
{
    alloc_stats_t st;
    pymalloc_stats(pm, &st);
    for (int i = 0; i < st.nextra; i++)
        if (strcmp(st.extra[i].name, name) == 0) return st.extra[i].value;
    fprintf(stderr, "no counter %s\n", name);
    return UINT64_MAX;
}

static uint64_t t_footprint(pymalloc_t *pm)
{
    alloc_stats_t st;
    pymalloc_stats(pm, &st);
    return st.footprint;
}

static char *t_mallocstats(pymalloc_t *pm)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK(pymalloc_mallocstats(pm, f) == 0);
    fclose(f);
    return text;
}

static uintptr_t t_pool_of(const void *p, uintptr_t pool_size)
{
    return (uintptr_t)p & ~(pool_size - 1);
}

static void test_params(void)
{
    pymalloc_params_t p;
    alloc_spec_t s;
    char err[256];
    pymalloc_params_default(&p);
    CHECK(p.align == 16 && p.threshold == 512 && p.pool_size == 16 * KIB && p.arena_size == MIB &&
          p.keep_empty == 1 && p.placement == PYMALLOC_ALIGNED);

    CHECK(alloc_spec_parse(&s, "pymalloc:preset=3.8", err, sizeof err) == 0);
    CHECK(pymalloc_params_parse(&p, s.params, s.nparams, err, sizeof err) == 0);
    CHECK(p.pool_size == 4 * KIB && p.arena_size == 256 * KIB && p.keep_empty == 0);

    /* Explicit parameters win over the preset, whatever their order. */
    pymalloc_params_default(&p);
    CHECK(alloc_spec_parse(&s, "pymalloc:keep_empty=yes:preset=3.8:placement=mmap", err,
                           sizeof err) == 0);
    CHECK(pymalloc_params_parse(&p, s.params, s.nparams, err, sizeof err) == 0);
    CHECK(p.pool_size == 4 * KIB && p.keep_empty == 1 && p.placement == PYMALLOC_MMAP);
    CHECK(alloc_params_unused(s.params, s.nparams) == NULL);

    static const char *const bad[] = {
        "pymalloc:align=12",         "pymalloc:align=4",          "pymalloc:threshold=500",
        "pymalloc:pool=1K",          "pymalloc:pool=24K",         "pymalloc:arena=32K",
        "pymalloc:arena=2G",         "pymalloc:placement=random", "pymalloc:preset=2.7",
        "pymalloc:keep_empty=maybe", "pymalloc:threshold=8K",     "pymalloc:pool=x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pymalloc_params_default(&p);
        err[0] = '\0';
        CHECK(alloc_spec_parse(&s, bad[i], err, sizeof err) == 0);
        CHECKF(pymalloc_params_parse(&p, s.params, s.nparams, err, sizeof err) == -1, "%s", bad[i]);
        CHECKF(strlen(err) > 0, "%s: no message", bad[i]);
    }

    /* Through the class, as the driver does; unknown keys stay unused. */
    const alloc_class_t *c = &alloc_pymalloc_class;
    alloc_t a;
    CHECK(alloc_spec_parse(&s, "pymalloc:pool=4K:colour=blue", err, sizeof err) == 0);
    CHECK(c->create(&a, s.params, s.nparams, err, sizeof err) == 0);
    CHECK(strcmp(alloc_params_unused(s.params, s.nparams), "colour") == 0);
    void *x = a.malloc(a.ctx, 10);
    CHECK(x && c->usable_size(a.ctx, x) == 16);
    a.free(a.ctx, x);
    c->destroy(a.ctx);
}

/* Size classes, alignment, 0 and large requests. */
static void test_classes(void)
{
    pymalloc_t *pm = t_new("pymalloc");
    CHECK(pm != NULL);
    static void *blocks[512 + 1];
    for (size_t n = 1; n <= 512; n++) {
        blocks[n] = pymalloc_malloc(pm, n);
        CHECK(blocks[n] != NULL);
        CHECK((uintptr_t)blocks[n] % 16 == 0);
        CHECKF(pymalloc_usable_size(pm, blocks[n]) == ((n - 1) / 16 + 1) * 16, "n=%zu", n);
    }
    CHECK(t_extra(pm, "raw_blocks") == 0);
    /* 0 and threshold + 1 go to malloc; 0 still gives distinct blocks. */
    void *z1 = pymalloc_malloc(pm, 0), *z2 = pymalloc_malloc(pm, 0);
    void *big = pymalloc_malloc(pm, 513);
    CHECK(z1 && z2 && z1 != z2 && big);
    CHECK(t_extra(pm, "raw_blocks") == 3);
    CHECK(pymalloc_usable_size(pm, big) == malloc_usable_size(big));
    CHECK(t_extra(pm, "raw_bytes") ==
          malloc_usable_size(z1) + malloc_usable_size(z2) + malloc_usable_size(big));
    CHECK(pymalloc_malloc(pm, SIZE_MAX / 2 + 1) == NULL);
    pymalloc_free(pm, NULL);
    CHECK(pymalloc_is_valid(pm));
    for (size_t n = 1; n <= 512; n++)
        pymalloc_free(pm, blocks[n]);
    pymalloc_free(pm, z1);
    pymalloc_free(pm, z2);
    pymalloc_free(pm, big);
    CHECK(t_extra(pm, "raw_blocks") == 0 && t_extra(pm, "raw_bytes") == 0);
    CHECK(t_extra(pm, "pools_used") == 0);
    CHECK(pymalloc_is_valid(pm));
    pymalloc_delete(pm);

    /* align=8: classes 8 bytes apart. */
    pm = t_new("pymalloc:align=8:threshold=256");
    void *p = pymalloc_malloc(pm, 9);
    CHECK(pymalloc_usable_size(pm, p) == 16);
    void *q = pymalloc_malloc(pm, 8);
    CHECK(pymalloc_usable_size(pm, q) == 8 && (uintptr_t)q % 8 == 0);
    void *r = pymalloc_malloc(pm, 257);
    CHECK(t_extra(pm, "raw_blocks") == 1);
    pymalloc_free(pm, p);
    pymalloc_free(pm, q);
    pymalloc_free(pm, r);
    pymalloc_delete(pm);
}

/* Blocks are carved lazily in address order after a 48-byte header; freed
 * blocks are reused last in, first out. */
static void test_carving_and_lifo(void)
{
    pymalloc_t *pm = t_new("pymalloc");
    uint8_t *a = pymalloc_malloc(pm, 16), *b = pymalloc_malloc(pm, 10), *c = pymalloc_malloc(pm, 1);
    CHECK((uintptr_t)a - t_pool_of(a, 16 * KIB) == 48);
    CHECK(b == a + 16 && c == b + 16);
    pymalloc_free(pm, a);
    pymalloc_free(pm, b);
    CHECK(pymalloc_malloc(pm, 16) == b);
    CHECK(pymalloc_malloc(pm, 16) == a);
    CHECK(pymalloc_malloc(pm, 16) == c + 16);
    CHECK(pymalloc_is_valid(pm));
    pymalloc_delete(pm);
}

/* A pool freed from when full goes to the front of its class's ring. */
static void test_usedpools_order(void)
{
    pymalloc_t *pm = t_new("pymalloc");
    enum { PER_POOL = (16 * 1024 - 48) / 512 }; /* 31 */
    void *first[PER_POOL];
    for (int i = 0; i < PER_POOL; i++)
        first[i] = pymalloc_malloc(pm, 512);
    void *second = pymalloc_malloc(pm, 512); /* a second pool */
    CHECK(t_pool_of(second, 16 * KIB) != t_pool_of(first[0], 16 * KIB));
    CHECK(t_extra(pm, "pools_used") == 2);
    pymalloc_free(pm, first[7]);
    CHECK(pymalloc_malloc(pm, 500) == first[7]); /* back to the full one */
    void *next = pymalloc_malloc(pm, 512);
    CHECK(t_pool_of(next, 16 * KIB) == t_pool_of(second, 16 * KIB));
    CHECK(pymalloc_is_valid(pm));
    pymalloc_delete(pm);
}

/* An emptied pool is taken before a fresh one is carved, by any class; the
 * same class finds its old free list. */
static void test_pool_reuse(void)
{
    pymalloc_t *pm = t_new("pymalloc");
    void *a = pymalloc_malloc(pm, 16); /* pool A */
    void *b = pymalloc_malloc(pm, 32); /* pool B, carved next */
    uintptr_t pa = t_pool_of(a, 16 * KIB), pb = t_pool_of(b, 16 * KIB);
    CHECK(pb == pa + 16 * KIB);
    pymalloc_free(pm, a); /* A empty: on freepools */
    CHECK(t_extra(pm, "pools_used") == 1);
    void *c = pymalloc_malloc(pm, 48); /* another class takes A */
    CHECK(t_pool_of(c, 16 * KIB) == pa && (uintptr_t)c == pa + 48);
    void *d = pymalloc_malloc(pm, 64); /* a fresh pool after B */
    CHECK(t_pool_of(d, 16 * KIB) == pb + 16 * KIB);
    /* Same class again: the free list survives emptying. */
    void *e1 = pymalloc_malloc(pm, 64), *e2 = pymalloc_malloc(pm, 64);
    pymalloc_free(pm, e1);
    pymalloc_free(pm, d);
    pymalloc_free(pm, e2); /* pool D empty; its list is e2, d, e1 */
    CHECK(pymalloc_malloc(pm, 64) == e2);
    CHECK(pymalloc_malloc(pm, 64) == d);
    CHECK(pymalloc_is_valid(pm));
    pymalloc_delete(pm);
}

/* usable_arenas is kept sorted by free pools: the fullest arena serves. */
static void test_arena_order(void)
{
    /* 7 blocks of 128 per 1K pool, 4 pools per 4K arena. */
    pymalloc_t *pm = t_new("pymalloc:threshold=128:pool=1K:arena=4K");
    CHECK(pm != NULL);
    if (!pm) return;
    enum { PER_POOL = 7, POOLS = 4, ARENAS = 3 };
    void *blk[ARENAS][POOLS][PER_POOL];
    for (int a = 0; a < ARENAS; a++)
        for (int p = 0; p < POOLS; p++)
            for (int k = 0; k < PER_POOL; k++)
                blk[a][p][k] = pymalloc_malloc(pm, 128);
    CHECK(t_extra(pm, "arenas") == ARENAS && t_extra(pm, "pools_free") == 0);
    /* Arena 0 and 1 get one free pool, arena 2 two. */
    int order[][2] = {{0, 1}, {1, 1}, {2, 1}, {2, 2}};
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < PER_POOL; k++)
            pymalloc_free(pm, blk[order[i][0]][order[i][1]][k]);
    CHECK(pymalloc_is_valid(pm));
    /* Arenas with 1 free pool first (1 then 0: each joined at the head),
     * then arena 2. */
    int expect[] = {1, 0, 2, 2};
    for (int i = 0; i < 4; i++) {
        void *p = pymalloc_malloc(pm, 128); /* ring empty: takes a pool */
        /* Aligned arenas start with their first pool. */
        uintptr_t base = t_pool_of(blk[expect[i]][0][0], KIB);
        CHECKF((uintptr_t)p - base < 4 * KIB, "pool %d from the wrong arena", i);
        for (int k = 1; k < PER_POOL; k++)
            pymalloc_malloc(pm, 128);
        CHECK(pymalloc_is_valid(pm));
    }
    pymalloc_delete(pm);
}

/* Fills two arenas with 512-byte blocks and frees everything, in
 * allocation order; returns the arenas left. */
static uint64_t t_fill_and_drain(pymalloc_t *pm, size_t nblocks)
{
    void **v = malloc(nblocks * sizeof *v);
    for (size_t i = 0; i < nblocks; i++)
        v[i] = pymalloc_malloc(pm, 512);
    CHECK(t_extra(pm, "arenas") >= 2);
    for (size_t i = 0; i < nblocks; i++) {
        pymalloc_free(pm, v[i]);
        if (i % 97 == 0) CHECK(pymalloc_is_valid(pm));
    }
    free(v);
    CHECK(pymalloc_is_valid(pm));
    return t_extra(pm, "arenas");
}

/* 3.9+ keeps one wholly free arena; 3.8 releases every one. */
static void test_arena_release(void)
{
    pymalloc_t *pm = t_new("pymalloc");
    size_t per_arena = 64 * ((16 * KIB - 48) / 512);
    CHECK(t_fill_and_drain(pm, per_arena + 1) == 1);
    CHECK(t_footprint(pm) == MIB);
    /* The kept arena serves the next request: nothing new is mapped. */
    void *p = pymalloc_malloc(pm, 8);
    char *text = t_mallocstats(pm);
    CHECK(strstr(text, "# arenas allocated total           =                    2\n") != NULL);
    CHECK(strstr(text, "# arenas reclaimed                 =                    1\n") != NULL);
    free(text);
    pymalloc_free(pm, p);
    pymalloc_delete(pm);

    pm = t_new("pymalloc:preset=3.8");
    per_arena = 64 * ((4 * KIB - 48) / 512);
    CHECK(t_fill_and_drain(pm, 2 * per_arena + 1) == 0);
    CHECK(t_footprint(pm) == 0);
    alloc_stats_t st;
    pymalloc_stats(pm, &st);
    CHECK(st.peak_footprint == 3 * 256 * KIB);
    /* Every new block maps an arena again: no spare. */
    p = pymalloc_malloc(pm, 8);
    CHECK(t_extra(pm, "arenas") == 1);
    pymalloc_free(pm, p);
    CHECK(t_extra(pm, "arenas") == 0);
    text = t_mallocstats(pm);
    CHECK(strstr(text, "# arenas allocated total           =                    4\n") != NULL);
    CHECK(strstr(text, "# arenas reclaimed                 =                    4\n") != NULL);
    CHECK(strstr(text, "Small block threshold = 512, in 32 size classes.\n") == text);
    free(text);
    pymalloc_delete(pm);

    /* keep_empty=no alone: the 3.8 rule with 3.11's sizes. */
    pm = t_new("pymalloc:keep_empty=no");
    CHECK(t_fill_and_drain(pm, 64 * 31 + 1) == 0);
    pymalloc_delete(pm);
}

static void t_fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7);
}

static int t_same(const uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (uint8_t)(seed + i * 7)) return 0;
    return 1;
}

static void test_realloc(void)
{
    pymalloc_t *pm = t_new("pymalloc");
    uint8_t *p = pymalloc_malloc(pm, 100); /* class of 112 */
    t_fill(p, 100, 1);
    CHECK(pymalloc_realloc(pm, p, 112) == p); /* same class */
    CHECK(pymalloc_realloc(pm, p, 85) == p);  /* 340 > 336: in place */
    uint8_t *q = pymalloc_realloc(pm, p, 84); /* 336: moves down */
    CHECK(q != p && pymalloc_usable_size(pm, q) == 96 && t_same(q, 84, 1));
    uint8_t *r = pymalloc_realloc(pm, q, 300); /* grows: moves */
    CHECK(r != q && pymalloc_usable_size(pm, r) == 304 && t_same(r, 84, 1));
    t_fill(r, 300, 2);
    /* Small to large: now from malloc. */
    uint8_t *big = pymalloc_realloc(pm, r, 5000);
    CHECK(big && t_same(big, 300, 2) && t_extra(pm, "raw_blocks") == 1);
    CHECK(pymalloc_usable_size(pm, big) == malloc_usable_size(big));
    /* A raw block stays raw, however small it gets. */
    uint8_t *small = pymalloc_realloc(pm, big, 10);
    CHECK(small && t_same(small, 10, 2) && t_extra(pm, "raw_blocks") == 1);
    CHECK(t_extra(pm, "raw_bytes") == malloc_usable_size(small));
    CHECK(pymalloc_realloc(pm, small, SIZE_MAX / 2 + 1) == NULL); /* too big: kept */
    CHECK(t_same(small, 10, 2));
    pymalloc_free(pm, small);
    CHECK(t_extra(pm, "raw_blocks") == 0 && t_extra(pm, "raw_bytes") == 0);
    /* realloc to 0 leaves the pool for malloc(1); NULL reallocs malloc. */
    void *s = pymalloc_realloc(pm, NULL, 50);
    CHECK(s && pymalloc_usable_size(pm, s) == 64);
    void *z = pymalloc_realloc(pm, s, 0);
    CHECK(z && t_extra(pm, "raw_blocks") == 1);
    pymalloc_free(pm, z);
    CHECK(pymalloc_is_valid(pm));
    pymalloc_delete(pm);
}

static void test_calloc(void)
{
    pymalloc_t *pm = t_new("pymalloc");
    uint8_t *p = pymalloc_malloc(pm, 64);
    memset(p, 0xff, 64);
    pymalloc_free(pm, p);
    uint8_t *q = pymalloc_calloc(pm, 4, 16); /* the same, dirty block */
    CHECK(q == p);
    int zero = 1;
    for (int i = 0; i < 64; i++)
        zero &= q[i] == 0;
    CHECK(zero);
    CHECK(pymalloc_calloc(pm, SIZE_MAX / 4, 8) == NULL);
    CHECK(pymalloc_calloc(pm, (SIZE_MAX / 2) / 3 + 1, 3) == NULL);
    void *z = pymalloc_calloc(pm, 0, 5);
    uint8_t *big = pymalloc_calloc(pm, 100, 100);
    CHECK(z && big && t_extra(pm, "raw_blocks") == 2);
    zero = 1;
    for (int i = 0; i < 10000; i++)
        zero &= big[i] == 0;
    CHECK(zero);
    pymalloc_free(pm, q);
    pymalloc_free(pm, z);
    pymalloc_free(pm, big);
    pymalloc_delete(pm);
}

static void test_footprint(void)
{
    pymalloc_t *pm = t_new("pymalloc");
    CHECK(t_footprint(pm) == 0);
    void *a = pymalloc_malloc(pm, 16);
    CHECK(t_footprint(pm) == MIB);
    void *big = pymalloc_malloc(pm, 100000);
    size_t us = malloc_usable_size(big);
    CHECK(t_footprint(pm) == MIB + us);
    pymalloc_free(pm, big);
    pymalloc_free(pm, a);
    alloc_stats_t st;
    pymalloc_stats(pm, &st);
    CHECK(st.footprint == MIB); /* the spare arena stays */
    CHECK(st.peak_footprint == MIB + us);
    CHECK(st.nextra >= 5 && st.nextra <= ALLOC_MAX_EXTRA);
    pymalloc_delete(pm);
}

/* The layout of CPython's _debugmallocstats, checked on known states. */
static void test_mallocstats(void)
{
    pymalloc_t *pm = t_new("pymalloc");
    char *text = t_mallocstats(pm);
    static const char empty[] = "Small block threshold = 512, in 32 size classes.\n"
                                "\n"
                                "class   size   num pools   blocks in use  avail blocks\n"
                                "-----   ----   ---------   -------------  ------------\n"
                                "\n"
                                "# arenas allocated total           =                    0\n"
                                "# arenas reclaimed                 =                    0\n"
                                "# arenas highwater mark            =                    0\n"
                                "# arenas allocated current         =                    0\n"
                                "0 arenas * 1048576 bytes/arena     =                    0\n"
                                "\n"
                                "# bytes in allocated blocks        =                    0\n"
                                "# bytes in available blocks        =                    0\n"
                                "0 unused pools * 16384 bytes       =                    0\n"
                                "# bytes lost to pool headers       =                    0\n"
                                "# bytes lost to quantization       =                    0\n"
                                "# bytes lost to arena alignment    =                    0\n"
                                "Total                              =                    0\n";
    CHECKF(strcmp(text, empty) == 0, "got:\n%s", text);
    free(text);

    void *a = pymalloc_malloc(pm, 16), *b = pymalloc_malloc(pm, 500);
    text = t_mallocstats(pm);
    static const char two[] = "Small block threshold = 512, in 32 size classes.\n"
                              "\n"
                              "class   size   num pools   blocks in use  avail blocks\n"
                              "-----   ----   ---------   -------------  ------------\n"
                              "    0     16           1               1          1020\n"
                              "   31    512           1               1            30\n"
                              "\n"
                              "# arenas allocated total           =                    1\n"
                              "# arenas reclaimed                 =                    0\n"
                              "# arenas highwater mark            =                    1\n"
                              "# arenas allocated current         =                    1\n"
                              "1 arenas * 1048576 bytes/arena     =            1,048,576\n"
                              "\n"
                              "# bytes in allocated blocks        =                  528\n"
                              "# bytes in available blocks        =               31,680\n"
                              "62 unused pools * 16384 bytes      =            1,015,808\n"
                              "# bytes lost to pool headers       =                   96\n"
                              "# bytes lost to quantization       =                  464\n"
                              "# bytes lost to arena alignment    =                    0\n"
                              "Total                              =            1,048,576\n";
    CHECKF(strcmp(text, two) == 0, "got:\n%s", text);
    free(text);
    pymalloc_free(pm, a);
    pymalloc_free(pm, b);
    pymalloc_delete(pm);
}

/* The checker sees a corrupted free list (then the damage is undone). */
static void test_is_valid_catches(void)
{
    pymalloc_t *pm = t_new("pymalloc");
    void **p = pymalloc_malloc(pm, 16), **q = pymalloc_malloc(pm, 16);
    pymalloc_free(pm, p);
    CHECK(pymalloc_is_valid(pm));
    void *saved = *p;
    fprintf(stderr, "(two complaints from pymalloc_is_valid are expected here)\n");
    *p = p; /* a loop */
    CHECK(!pymalloc_is_valid(pm));
    *p = (char *)q + 8; /* not a block boundary */
    CHECK(!pymalloc_is_valid(pm));
    *p = saved;
    CHECK(pymalloc_is_valid(pm));
    pymalloc_free(pm, q);
    pymalloc_delete(pm);
}

/* Random sequences, every invariant checked after every event, contents
 * verified, under several parameter sets. */
static void test_random(void)
{
    static const struct {
        const char *spec;
        uint64_t seed;
        size_t nevents;
        uint32_t max_live, min_size, max_size, threshold;
    } runs[] = {
        /* Large small blocks to need several 1M arenas quickly. */
        {"pymalloc", 11, 50000, 10000, 300, 600, 512},
        {"pymalloc:preset=3.8", 12, 40000, 3000, 0, 1024, 512},
        {"pymalloc:placement=mmap", 13, 50000, 10000, 300, 600, 512},
        {"pymalloc:preset=3.8:placement=mmap:keep_empty=yes", 14, 30000, 2500, 0, 1024, 512},
        {"pymalloc:align=8:threshold=256:pool=4K:arena=64K", 15, 30000, 2500, 0, 512, 256},
        {"pymalloc:threshold=128:pool=1K:arena=4K", 16, 30000, 1500, 0, 256, 128},
        {"pymalloc:threshold=128:pool=1K:arena=4K:placement=mmap", 17, 20000, 1500, 0, 256, 128},
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        pymalloc_t *pm = t_new(runs[i].spec);
        CHECK(pm != NULL);
        if (!pm) continue;
        evgen_params_t gp = {
            .seed = runs[i].seed,
            .nevents = runs[i].nevents,
            .max_live = runs[i].max_live,
            .min_live = 2,
            .min_size = runs[i].min_size,
            .max_size = runs[i].max_size,
            .small_pct = runs[i].min_size ? 0 : 30,
            .threshold = runs[i].threshold,
            .domains = (1u << EVGEN_RAW) | (1u << EVGEN_MEM) | (1u << EVGEN_OBJ),
        };
        uint32_t nslots;
        evgen_event_t *ev = evgen_generate(&gp, &nslots);
        alloc_t a = {pm, pymalloc_malloc, pymalloc_calloc, pymalloc_realloc, pymalloc_free};
        const alloc_t *by[EVGEN_NDOMAINS] = {&a, &a, &a};
        evgen_replay_t r;
        CHECK(ev && evgen_replay_init(&r, nslots, 1) == 0);
        int ok = 1;
        uint64_t maxarenas = 0;
        for (size_t k = 0; k < gp.nevents && ok; k++) {
            ok = evgen_replay(&r, ev, k, k + 1, by) == k + 1;
            CHECKF(ok, "%s: event %zu failed", runs[i].spec, k);
            ok = ok && pymalloc_is_valid(pm);
            CHECKF(ok, "%s: invalid after event %zu", runs[i].spec, k);
            if (k % 512 == 0 && t_extra(pm, "arenas") > maxarenas)
                maxarenas = t_extra(pm, "arenas");
        }
        CHECKF(maxarenas >= 2, "%s: only %llu arenas", runs[i].spec, (unsigned long long)maxarenas);
        char *text = t_mallocstats(pm);
        CHECKF(!strstr(text, "# arenas reclaimed                 =                    0\n"),
               "%s: no arena released", runs[i].spec);
        free(text);
        evgen_replay_fini(&r, by);
        CHECK(pymalloc_is_valid(pm));
        /* Everything freed: at most the spare arena is left. */
        alloc_stats_t st;
        pymalloc_stats(pm, &st);
        uint64_t arena = st.footprint;
        CHECKF(t_extra(pm, "raw_bytes") == 0 && t_extra(pm, "pools_used") == 0, "%s: blocks left",
               runs[i].spec);
        if (strstr(runs[i].spec, "3.8") && !strstr(runs[i].spec, "keep_empty=yes"))
            CHECKF(arena == 0, "%s: %llu bytes left", runs[i].spec, (unsigned long long)arena);
        else if (!strstr(runs[i].spec, "mmap"))
            CHECKF(t_extra(pm, "arenas") <= 1, "%s: %llu arenas left", runs[i].spec,
                   (unsigned long long)t_extra(pm, "arenas"));
        CHECK(st.peak_footprint >= st.footprint);
        free(ev);
        pymalloc_delete(pm);
    }
}

int main(void)
{
    test_params();
    test_classes();
    test_carving_and_lifo();
    test_usedpools_order();
    test_pool_reuse();
    test_arena_order();
    test_arena_release();
    test_realloc();
    test_calloc();
    test_footprint();
    test_mallocstats();
    test_is_valid_catches();
    test_random();
    return check_done();
}
