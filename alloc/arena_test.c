/* arena_test.c: the `arena` allocator class (alloc/arena.c) through the
 * registry, as the replay driver uses it. */
#include "alloc/alloc.h"
#include "alloc/check.h"
#include "alloc/params.h"
#include "alloc/pyarena.h"

#include <stdint.h>
#include <string.h>

/* The value of extra counter NAME, or UINT64_MAX when absent. */
static uint64_t arena_test_extra(const alloc_stats_t *s, const char *name)
{
    for (int i = 0; i < s->nextra; i++)
        if (strcmp(s->extra[i].name, name) == 0) return s->extra[i].value;
    return UINT64_MAX;
}

/* Creates an instance from SPEC ("arena:k=v..."); returns 0 or -1. */
static int arena_test_create(const char *spec_text, alloc_t *a, char *err, size_t errlen)
{
    alloc_spec_t spec;
    if (alloc_spec_parse(&spec, spec_text, err, errlen)) return -1;
    const alloc_class_t *cls = alloc_find(spec.name);
    if (!cls) return -1;
    if (cls->create(a, spec.params, spec.nparams, err, errlen)) return -1;
    if (alloc_params_unused(spec.params, spec.nparams)) {
        cls->destroy(a->ctx);
        snprintf(err, errlen, "unused parameter");
        return -1;
    }
    return 0;
}

static void test_basics(void)
{
    const alloc_class_t *cls = alloc_find("arena");
    CHECK(cls != NULL);
    if (!cls) return;
    CHECK(cls->params && strstr(cls->params, "growth=") != NULL);
    char err[256];
    alloc_t a;
    CHECK(arena_test_create("arena", &a, err, sizeof err) == 0);

    alloc_stats_t s = {0};
    cls->stats(a.ctx, &s);
    /* One 8K block (plus its header) from the start. */
    CHECK(s.footprint == 8192 + PYARENA_HEADER_SIZE);
    CHECK(s.peak_footprint == s.footprint);

    /* malloc(0): distinct and non-NULL. */
    void *z1 = a.malloc(a.ctx, 0), *z2 = a.malloc(a.ctx, 0);
    CHECK(z1 && z2 && z1 != z2);
    CHECK(cls->usable_size(a.ctx, z1) == 0);

    char *p = a.malloc(a.ctx, 100);
    CHECK(p != NULL && (uintptr_t)p % 8 == 0);
    memset(p, 'x', 100);
    CHECK(cls->usable_size(a.ctx, p) == 104);

    /* Growing moves and copies; the old bytes are dead. */
    char *q = a.realloc(a.ctx, p, 300);
    CHECK(q != NULL && q != p);
    int same = 1;
    for (int i = 0; i < 100; i++)
        same &= q[i] == 'x';
    CHECK(same);
    cls->stats(a.ctx, &s);
    CHECK(arena_test_extra(&s, "dead") == 8 + 104);
    /* Shrinking moves too (a bump allocator never reuses): the prefix is
     * kept and the old block's bytes are dead. */
    char *r = a.realloc(a.ctx, q, 10);
    CHECK(r != NULL && r != q && memcmp(r, "xxxxxxxxxx", 10) == 0);
    CHECK(cls->usable_size(a.ctx, r) == 16);
    cls->stats(a.ctx, &s);
    CHECK(arena_test_extra(&s, "dead") == 8 + 104 + 8 + 304);
    CHECK(a.realloc(a.ctx, NULL, 5) != NULL);

    /* calloc zeroes and checks its multiplication. */
    unsigned char *c = a.calloc(a.ctx, 10, 10);
    int zero = 1;
    for (int i = 0; i < 100; i++)
        zero &= c[i] == 0;
    CHECK(c && zero);
    CHECK(a.calloc(a.ctx, SIZE_MAX / 2, 3) == NULL);
    CHECK(a.malloc(a.ctx, SIZE_MAX - 4) == NULL);

    /* free is a no-op for memory, counted as dead. */
    cls->stats(a.ctx, &s);
    uint64_t fp = s.footprint, dead = arena_test_extra(&s, "dead");
    a.free(a.ctx, c);
    a.free(a.ctx, NULL);
    cls->stats(a.ctx, &s);
    CHECK(s.footprint == fp && arena_test_extra(&s, "dead") == dead + 8 + 104);
    CHECK(arena_test_extra(&s, "blocks") == 1);
    CHECK(arena_test_extra(&s, "used") != UINT64_MAX);
    CHECK(arena_test_extra(&s, "reserved") == 8192);
    CHECK(arena_test_extra(&s, "abandoned") == 0);
    cls->destroy(a.ctx);
}

/* A malloc/free churn: the footprint only grows, by whole blocks, and is
 * its own peak. */
static void test_churn(void)
{
    char err[256];
    alloc_t a;
    CHECK(arena_test_create("arena:block=4K", &a, err, sizeof err) == 0);
    const alloc_class_t *cls = alloc_find("arena");
    uint64_t rng = 42, last = 0;
    int monotonic = 1;
    void *live[64] = {0};
    for (int i = 0; i < 20000; i++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        int k = (int)(rng >> 58);
        if (live[k]) a.free(a.ctx, live[k]);
        live[k] = a.malloc(a.ctx, (size_t)(rng >> 40) % 600);
        CHECK(live[k] != NULL);
        alloc_stats_t s = {0};
        cls->stats(a.ctx, &s);
        monotonic &= s.footprint >= last && s.peak_footprint == s.footprint;
        last = s.footprint;
    }
    CHECK(monotonic);
    alloc_stats_t s = {0};
    cls->stats(a.ctx, &s);
    uint64_t blocks = arena_test_extra(&s, "blocks");
    CHECK(s.footprint == blocks * (4096 + PYARENA_HEADER_SIZE));
    /* Nearly everything handed out is dead: all but the 64 live ones. */
    CHECK(arena_test_extra(&s, "dead") + 64 * 608 >= arena_test_extra(&s, "used"));
    cls->destroy(a.ctx);
}

static void test_params(void)
{
    char err[256] = "";
    alloc_t a;
    CHECK(arena_test_create("arena:align=16:growth=doubling", &a, err, sizeof err) == 0);
    void *p = a.malloc(a.ctx, 1), *q = a.malloc(a.ctx, 1);
    CHECK((uintptr_t)p % 16 == 0 && (uintptr_t)q % 16 == 0 && (char *)q - (char *)p == 32);
    alloc_find("arena")->destroy(a.ctx);
    CHECK(arena_test_create("arena:align=3", &a, err, sizeof err) == -1);
    CHECK(strstr(err, "align") != NULL);
    CHECK(arena_test_create("arena:growth=tripling", &a, err, sizeof err) == -1);
    CHECK(arena_test_create("arena:bloc=8K", &a, err, sizeof err) == -1);
}

int main(void)
{
    test_basics();
    test_churn();
    test_params();
    return check_done();
}
