/* arenamap_test.c: the arena address map against a brute-force model, with
 * aligned, unaligned and adjacent arenas, growth and backward-shift
 * deletion.  Addresses are only numbers here: nothing is mapped. */
#include "alloc/check.h"
#include "alloc/internal/arenamap.h"

#include <stdlib.h>

#define AM_BITS 20
#define AM_SIZE ((uintptr_t)1 << AM_BITS)
#define AM_N    600

static uint64_t am_rng = 0x1234567;

static uint64_t am_next(void)
{
    am_rng ^= am_rng << 13;
    am_rng ^= am_rng >> 7;
    am_rng ^= am_rng << 17;
    return am_rng;
}

/* Brute force: is P inside one of the live arenas? */
static int am_model(const uintptr_t *base, const int *live, int n, uintptr_t p)
{
    for (int i = 0; i < n; i++)
        if (live[i] && p - base[i] < AM_SIZE) return 1;
    return 0;
}

int main(void)
{
    arenamap_t m;
    CHECK(arenamap_init(&m, 11) == -1);
    CHECK(arenamap_init(&m, 32) == -1);
    CHECK(arenamap_init(&m, AM_BITS) == 0);

    /* Arenas laid out left to right with random gaps (0 = adjacent) and
     * random page offsets (0 = aligned to the arena size). */
    static uintptr_t base[AM_N];
    static int live[AM_N];
    uintptr_t at = (uintptr_t)0x7f0000000000;
    for (int i = 0; i < AM_N; i++) {
        uint64_t r = am_next();
        if (r % 5 == 0) at = (at + AM_SIZE - 1) & ~(AM_SIZE - 1); /* aligned */
        base[i] = at;
        at += AM_SIZE + (r % 3 == 0 ? 0 : ((r >> 8) % 512) * 4096);
    }
    for (int i = 0; i < AM_N; i++) {
        CHECK(arenamap_add(&m, base[i]) == 0);
        live[i] = 1;
        if (i % 50 == 0) CHECK(arenamap_is_valid(&m));
    }
    CHECK(arenamap_is_valid(&m));
    for (int round = 0; round < 4; round++) {
        for (int k = 0; k < 20000; k++) {
            int i = (int)(am_next() % AM_N);
            uintptr_t probe;
            switch (am_next() % 4) {
            case 0:
                probe = base[i];
                break;
            case 1:
                probe = base[i] + AM_SIZE - 1;
                break;
            case 2:
                probe = base[i] - 1;
                break;
            default:
                probe = base[i] + am_next() % (3 * AM_SIZE) - AM_SIZE;
                break;
            }
            CHECKF(arenamap_contains(&m, (void *)probe) == am_model(base, live, AM_N, probe),
                   "round %d probe %#lx", round, (unsigned long)probe);
        }
        /* Remove or re-add a random half. */
        for (int i = 0; i < AM_N; i++)
            if (am_next() % 2) {
                if (live[i])
                    arenamap_remove(&m, base[i]);
                else
                    CHECK(arenamap_add(&m, base[i]) == 0);
                live[i] = !live[i];
            }
        CHECK(arenamap_is_valid(&m));
    }
    for (int i = 0; i < AM_N; i++)
        if (live[i]) arenamap_remove(&m, base[i]);
    CHECK(arenamap_is_valid(&m) && m.used == 0);
    CHECK(!arenamap_contains(&m, (void *)base[0]));
    /* Foreign addresses near the top and bottom of the address space. */
    CHECK(!arenamap_contains(&m, (void *)(uintptr_t)0));
    CHECK(!arenamap_contains(&m, (void *)UINTPTR_MAX));
    arenamap_fini(&m);
    return check_done();
}
