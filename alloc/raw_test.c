/* raw_test.c: the `raw` allocator keeps the interface's promises. */
#include "alloc/alloc.h"
#include "alloc/check.h"

#if defined(__SANITIZE_ADDRESS__)
#define RAWTEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RAWTEST_ASAN 1
#endif
#endif

#include <stdint.h>
#include <string.h>

static void rawtest_basics(alloc_t *a)
{
    /* malloc(0) and calloc(0, n) give distinct non-NULL blocks. */
    void *z1 = a->malloc(a->ctx, 0), *z2 = a->malloc(a->ctx, 0);
    void *z3 = a->calloc(a->ctx, 0, 8);
    CHECK(z1 && z2 && z3 && z1 != z2 && z1 != z3 && z2 != z3);

    /* calloc memory is zero, even after the heap has held other data. */
    unsigned char *dirty = a->malloc(a->ctx, 4096);
    CHECK(dirty);
    memset(dirty, 0xa5, 4096);
    a->free(a->ctx, dirty);
    unsigned char *zero = a->calloc(a->ctx, 512, 8);
    CHECK(zero);
    int all_zero = 1;
    for (size_t i = 0; i < 4096; i++)
        all_zero &= zero[i] == 0;
    CHECK(all_zero);

    /* realloc preserves the prefix, growing and shrinking; to 0 keeps a block. */
    unsigned char *p = a->malloc(a->ctx, 100);
    CHECK(p);
    for (int i = 0; i < 100; i++)
        p[i] = (unsigned char)i;
    p = a->realloc(a->ctx, p, 100000);
    CHECK(p);
    int same = 1;
    for (int i = 0; i < 100; i++)
        same &= p[i] == (unsigned char)i;
    CHECK(same);
    p = a->realloc(a->ctx, p, 10);
    CHECK(p && p[9] == 9);
    p = a->realloc(a->ctx, p, 0);
    CHECK(p != NULL);

    const alloc_class_t *c = alloc_find("raw");
    CHECK(c->usable_size(a->ctx, zero) >= 4096);
    a->free(a->ctx, p);
    a->free(a->ctx, zero);
    a->free(a->ctx, z1);
    a->free(a->ctx, z2);
    a->free(a->ctx, z3);
}

/* Held memory is what the process heap holds (absolute: a little at
 * start; a sanitizer's heap holds more) and follows a large live set. */
static void rawtest_footprint(const alloc_class_t *c, alloc_t *a)
{
    alloc_stats_t s0 = {0}, s1 = {0}, s2 = {0};
    c->stats(a->ctx, &s0);
#ifndef RAWTEST_ASAN
    /* (AddressSanitizer's figure is its whole heap, with the blocks of
     * rawtest_basics in quarantine: over 1 MiB already.) */
    CHECK(s0.footprint < (1 << 20));
#endif
    CHECK(s0.peak_footprint == 0);
    enum { N = 64 };
    void *big[N];
    for (int i = 0; i < N; i++) {
        big[i] = a->malloc(a->ctx, 256 << 10); /* mmap'ed chunks: hblkhd */
        CHECK(big[i]);
        memset(big[i], 1, 256 << 10);
    }
    c->stats(a->ctx, &s1);
    CHECKF(s1.footprint >= s0.footprint + (uint64_t)N * (256 << 10), "%llu",
           (unsigned long long)s1.footprint);
    for (int i = 0; i < N; i++)
        a->free(a->ctx, big[i]);
    c->stats(a->ctx, &s2);
#ifndef __SANITIZE_ADDRESS__
    /* (AddressSanitizer keeps freed blocks in quarantine: no shrink there.) */
    CHECK(s2.footprint < s1.footprint);
#endif
    CHECK(s2.nextra == 3 && strcmp(s2.extra[0].name, "free_bytes") == 0);
}

int main(void)
{
    const alloc_class_t *c = alloc_find("raw");
    CHECK(c && c->create && c->stats && c->usable_size);
    if (!c || !c->create) return check_done();
    alloc_t a;
    char err[256];
    CHECK(c->create(&a, NULL, 0, err, sizeof err) == 0);
    rawtest_basics(&a);
    rawtest_footprint(c, &a);
    c->destroy(a.ctx);
    return check_done();
}
