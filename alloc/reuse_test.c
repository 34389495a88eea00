/* reuse_test.c: the `reuse` baseline hands every request its one block,
 * keeps calloc's zeros and fails what does not fit. */
#include "alloc/alloc.h"
#include "alloc/check.h"
#include "alloc/params.h"

#include <stdint.h>
#include <string.h>

static void reusetest_basics(const alloc_class_t *c)
{
    CHECK(c->flags & ALLOC_SHARED_BLOCK);
    alloc_t a;
    char err[256];
    CHECK(c->create(&a, NULL, 0, err, sizeof err) == 0);
    alloc_stats_t s = {0};
    c->stats(a.ctx, &s);
    CHECK(s.footprint == 0);

    unsigned char *p = a.malloc(a.ctx, 0), *q = a.malloc(a.ctx, 100);
    CHECK(p && p == q && (uintptr_t)p % 16 == 0);
    memset(q, 0x5a, 100);
    unsigned char *r = a.realloc(a.ctx, q, 5000); /* the same block, bytes kept */
    CHECK(r == p && r[99] == 0x5a);
    unsigned char *z = a.calloc(a.ctx, 10, 10); /* zeroed although written */
    int all_zero = 1;
    for (size_t i = 0; z && i < 100; i++)
        all_zero &= z[i] == 0;
    CHECK(z == p && all_zero);
    CHECK(a.calloc(a.ctx, SIZE_MAX / 2, 4) == NULL);
    a.free(a.ctx, z);
    c->stats(a.ctx, &s);
    CHECK(s.footprint == 0 && s.nextra == 0); /* nothing counted on the way */
    c->destroy(a.ctx);
}

static void reusetest_reserve(const alloc_class_t *c)
{
    alloc_spec_t spec;
    char err[256];
    CHECK(alloc_spec_parse(&spec, "reuse:reserve=1M", err, sizeof err) == 0);
    alloc_t a;
    CHECK(c->create(&a, spec.params, spec.nparams, err, sizeof err) == 0);
    CHECK(a.malloc(a.ctx, 1 << 20) != NULL);
    CHECK(a.malloc(a.ctx, (1 << 20) + 1) == NULL); /* larger than the block */
    c->destroy(a.ctx);
}

int main(void)
{
    const alloc_class_t *c = alloc_find("reuse");
    CHECK(c && c->create && c->stats);
    reusetest_basics(c);
    reusetest_reserve(c);
    return 0;
}
