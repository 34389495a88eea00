/* null_test.c: the `null` bump allocator keeps the interface's promises. */
#include "alloc/alloc.h"
#include "alloc/check.h"
#include "alloc/params.h"

#include <stdint.h>
#include <string.h>
#include <unistd.h>

static const alloc_class_t *nulltest_class(void)
{
    const alloc_class_t *c = alloc_find("null");
    CHECK(c && c->create && c->stats);
    return c;
}

static void nulltest_basics(const alloc_class_t *c)
{
    alloc_t a;
    char err[256];
    CHECK(c->create(&a, NULL, 0, err, sizeof err) == 0);
    alloc_stats_t s = {0};
    c->stats(a.ctx, &s);
    CHECK(s.footprint == 0 && s.peak_footprint == 0);

    void *z1 = a.malloc(a.ctx, 0), *z2 = a.malloc(a.ctx, 0);
    CHECK(z1 && z2 && z1 != z2);
    CHECK((uintptr_t)z1 % 16 == 0 && (uintptr_t)z2 % 16 == 0);

    unsigned char *p = a.malloc(a.ctx, 33);
    CHECK(p && (uintptr_t)p % 16 == 0);
    memset(p, 0x5a, 33);
    CHECK(c->usable_size(a.ctx, p) == 48);
    unsigned char *q = a.realloc(a.ctx, p, 1000);
    CHECK(q && q != p && q[0] == 0x5a && q[32] == 0x5a);
    unsigned char *r = a.realloc(a.ctx, q, 8); /* shrinking copies the prefix */
    CHECK(r && r[7] == 0x5a);
    a.free(a.ctx, r);

    unsigned char *zero = a.calloc(a.ctx, 100, 40);
    int all_zero = 1;
    for (size_t i = 0; zero && i < 4000; i++)
        all_zero &= zero[i] == 0;
    CHECK(zero && all_zero);
    CHECK(a.calloc(a.ctx, SIZE_MAX / 2, 4) == NULL); /* overflow, not a small block */

    /* Footprint: every block is a 16-byte header plus its size rounded to 16. */
    c->stats(a.ctx, &s);
    uint64_t expect = 2 * 16 + (16 + 48) + (16 + 1008) + (16 + 16) + (16 + 4000);
    CHECKF(s.footprint == expect, "%llu != %llu", (unsigned long long)s.footprint,
           (unsigned long long)expect);
    CHECK(s.peak_footprint == s.footprint);
    c->destroy(a.ctx);
}

static void nulltest_reserve(const alloc_class_t *c)
{
    alloc_spec_t spec;
    char err[256];
    CHECK(alloc_spec_parse(&spec, "null:reserve=1M", err, sizeof err) == 0);
    alloc_t a;
    CHECK(c->create(&a, spec.params, spec.nparams, err, sizeof err) == 0);
    CHECK(alloc_params_unused(spec.params, spec.nparams) == NULL);
    CHECK(a.malloc(a.ctx, 512 << 10) != NULL);
    CHECK(a.malloc(a.ctx, 600 << 10) == NULL); /* beyond the reservation */
    CHECK(a.malloc(a.ctx, SIZE_MAX) == NULL);
    CHECK(a.malloc(a.ctx, 1000) != NULL); /* a failure does not poison it */
    c->destroy(a.ctx);

    CHECK(alloc_spec_parse(&spec, "null:reserve=12", err, sizeof err) == 0);
    CHECK(c->create(&a, spec.params, spec.nparams, err, sizeof err) == -1);
    CHECKF(strstr(err, "reserve") != NULL, "%s", err);
}

/* A new instance takes over the last one's faulted mapping: calloc must
 * still hand out zeros where the earlier instance wrote. */
static void nulltest_warm(const alloc_class_t *c)
{
    char err[256];
    alloc_t a;
    CHECK(c->create(&a, NULL, 0, err, sizeof err) == 0);
    unsigned char *p = a.malloc(a.ctx, 4096);
    CHECK(p != NULL);
    if (p) memset(p, 0xAB, 4096);
    c->destroy(a.ctx);
    CHECK(c->create(&a, NULL, 0, err, sizeof err) == 0);
    unsigned char *q = a.calloc(a.ctx, 64, 64);
    int zero = q != NULL;
    for (int i = 0; q && i < 4096; i++)
        zero &= q[i] == 0;
    CHECK(zero);
    alloc_stats_t s;
    c->stats(a.ctx, &s);
    CHECK(s.footprint == 16 + 4096); /* a fresh instance counts from zero */
    c->destroy(a.ctx);
}

/* null never reuses, so it touches every byte it hands out: in all it
 * hands out at most three quarters of physical memory, whatever its
 * reserve, and a trace that allocates more fails a request instead of
 * taking the machine.  1 GiB blocks touch only their headers' pages. */
static void nulltest_machine_bound(const alloc_class_t *c)
{
    char err[256];
    alloc_t a;
    uint64_t bound = (uint64_t)sysconf(_SC_PHYS_PAGES) / 4 * 3 * (uint64_t)sysconf(_SC_PAGESIZE);
    if (bound > (uint64_t)64 << 30) bound = (uint64_t)64 << 30; /* the reserve */
    /* reserve=64G given: the default's fallback to a smaller reserve (a
     * smaller address space) would move the bound */
    alloc_spec_t spec;
    CHECK(alloc_spec_parse(&spec, "null:reserve=64G", err, sizeof err) == 0);
    CHECK(c->create(&a, spec.params, spec.nparams, err, sizeof err) == 0);
    uint64_t handed = 0;
    for (int n = 0; n < 100 && a.malloc(a.ctx, ((size_t)1 << 30) - 16); n++)
        handed += (uint64_t)1 << 30;
    CHECK(handed <= bound && handed + ((uint64_t)1 << 30) > bound);
    CHECK(a.malloc(a.ctx, bound - handed) == NULL); /* the header does not fit */
    c->destroy(a.ctx);
}

int main(void)
{
    const alloc_class_t *c = nulltest_class();
    if (!c || !c->create) return check_done();
    nulltest_basics(c);
    nulltest_reserve(c);
    nulltest_warm(c);
    nulltest_machine_bound(c);
    return check_done();
}
