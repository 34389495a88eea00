/* arenamap.h: the set of arenas (address ranges [base, base + 2^bits)) an
 * allocator owns, answering "is P inside one of them?" in constant time for
 * any P, including blocks that came from somewhere else (malloc).
 *
 * Design.  Addresses are cut into "slots" of the arena size (slot =
 * address >> bits).  An arena covers the upper part [off, 2^bits) of the
 * slot it starts in and, unless it starts on a slot boundary, the lower part
 * [0, off) of the next one.  Arenas never overlap, so a slot is touched by
 * at most two of them: one entry per touched slot keeps `lo` (offsets below
 * lo are covered) and `hi` (offsets at or above hi are covered; 2^bits when
 * none).  Entries live in an open-addressing table with linear probing,
 * kept at most half full and deleted by backward shift (no tombstones), so
 * a lookup of a foreign address ends at the first empty entry, usually the
 * first one probed.
 *
 * Invariants: every entry has key = slot + 1 != 0 and covers something
 * (lo > 0 or hi < 2^bits); an entry is reachable from its home index
 * without crossing an empty entry; used <= capacity / 2. */
#ifndef ARENALAB_ALLOC_INTERNAL_ARENAMAP_H
#define ARENALAB_ALLOC_INTERNAL_ARENAMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uintptr_t key; /* slot + 1; 0 = empty entry                         */
    uint32_t lo;   /* [0, lo) of the slot belongs to an arena            */
    uint32_t hi;   /* [hi, 2^bits) belongs to an arena; 2^bits: none     */
} arenamap_entry_t;

typedef struct {
    arenamap_entry_t *table; /* never NULL after init                    */
    size_t mask;             /* capacity - 1 (capacity a power of two)   */
    size_t used;             /* entries in use                           */
    unsigned bits;           /* log2 of the arena size                   */
    unsigned hash_shift;     /* 64 - log2(capacity)                      */
    uint32_t offmask;        /* 2^bits - 1                               */
} arenamap_t;

/* Prepares an empty map for arenas of 2^BITS bytes (12 <= BITS <= 31).
 * Returns 0, or -1 when out of memory or BITS is out of range. */
int arenamap_init(arenamap_t *m, unsigned bits);

/* Frees the table; the map must be initialised again before use. */
void arenamap_fini(arenamap_t *m);

/* Records the arena starting at BASE.  Returns 0, or -1 when out of memory
 * (then the map is unchanged). */
int arenamap_add(arenamap_t *m, uintptr_t base);

/* Forgets the arena starting at BASE (which must have been added). */
void arenamap_remove(arenamap_t *m, uintptr_t base);

/* 1 when the map's own invariants hold, else 0 (test helper). */
int arenamap_is_valid(const arenamap_t *m);

static inline size_t arenamap_home(const arenamap_t *m, uintptr_t key)
{
    /* Fibonacci hashing: consecutive slots spread over the table. */
    return (size_t)(((uint64_t)key * 0x9E3779B97F4A7C15ull) >> m->hash_shift);
}

/* 1 when P lies inside an arena of M, else 0. */
static inline int arenamap_contains(const arenamap_t *m, const void *p)
{
    uintptr_t a = (uintptr_t)p;
    uintptr_t key = (a >> m->bits) + 1;
    uint32_t off = (uint32_t)(a & m->offmask);
    for (size_t i = arenamap_home(m, key);; i = (i + 1) & m->mask) {
        const arenamap_entry_t *e = &m->table[i];
        if (e->key == key) return off < e->lo || off >= e->hi;
        if (e->key == 0) return 0;
    }
}

#endif
