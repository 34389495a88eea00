/* arenamap.c: constant-time "is this address in one of our arenas?" (see
 * internal/arenamap.h for the design). */
#include "alloc/internal/arenamap.h"

#include <stdlib.h>

#define ARENAMAP_MIN_LOG2 4 /* 16 entries to start with */

static int arenamap_alloc_table(arenamap_t *m, unsigned log2cap)
{
    arenamap_entry_t *t = calloc((size_t)1 << log2cap, sizeof *t);
    if (!t) return -1;
    m->table = t;
    m->mask = ((size_t)1 << log2cap) - 1;
    m->hash_shift = 64 - log2cap;
    m->used = 0;
    return 0;
}

int arenamap_init(arenamap_t *m, unsigned bits)
{
    m->table = NULL;
    if (bits < 12 || bits > 31) return -1;
    m->bits = bits;
    m->offmask = ((uint32_t)1 << bits) - 1;
    return arenamap_alloc_table(m, ARENAMAP_MIN_LOG2);
}

void arenamap_fini(arenamap_t *m)
{
    free(m->table);
    m->table = NULL;
}

/* The entry of KEY, or the empty entry where it would go. */
static arenamap_entry_t *arenamap_find(arenamap_t *m, uintptr_t key)
{
    size_t i = arenamap_home(m, key);
    while (m->table[i].key != 0 && m->table[i].key != key)
        i = (i + 1) & m->mask;
    return &m->table[i];
}

static int arenamap_grow(arenamap_t *m)
{
    arenamap_t old = *m;
    unsigned log2cap = 64 - m->hash_shift + 1;
    if (log2cap >= sizeof(size_t) * 8 - 5) return -1;
    if (arenamap_alloc_table(m, log2cap)) {
        *m = old;
        return -1;
    }
    for (size_t i = 0; i <= old.mask; i++)
        if (old.table[i].key) {
            *arenamap_find(m, old.table[i].key) = old.table[i];
            m->used++;
        }
    free(old.table);
    return 0;
}

/* The entry for KEY, created (covering nothing) if need be; NULL when out
 * of memory. */
static arenamap_entry_t *arenamap_get(arenamap_t *m, uintptr_t key)
{
    arenamap_entry_t *e = arenamap_find(m, key);
    if (e->key) return e;
    if ((m->used + 1) * 2 > m->mask + 1) {
        if (arenamap_grow(m)) return NULL;
        e = arenamap_find(m, key);
    }
    e->key = key;
    e->lo = 0;
    e->hi = m->offmask + 1;
    m->used++;
    return e;
}

/* Deletes E by shifting back the entries of its probe run behind it. */
static void arenamap_delete(arenamap_t *m, arenamap_entry_t *e)
{
    size_t i = (size_t)(e - m->table);
    for (size_t j = (i + 1) & m->mask; m->table[j].key; j = (j + 1) & m->mask) {
        size_t home = arenamap_home(m, m->table[j].key);
        /* The entry at j may move to the hole at i only if its home is
         * not cyclically inside (i, j]. */
        int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            m->table[i] = m->table[j];
            i = j;
        }
    }
    m->table[i].key = 0;
    m->used--;
}

static void arenamap_settle(arenamap_t *m, arenamap_entry_t *e)
{
    if (e->lo == 0 && e->hi == m->offmask + 1) arenamap_delete(m, e);
}

int arenamap_add(arenamap_t *m, uintptr_t base)
{
    uintptr_t key = (base >> m->bits) + 1;
    uint32_t off = (uint32_t)(base & m->offmask);
    if (off != 0) {
        /* Create the second entry first, so a failure leaves no trace. */
        arenamap_entry_t *next = arenamap_get(m, key + 1);
        if (!next) return -1;
        arenamap_entry_t *first = arenamap_get(m, key);
        if (!first) {
            arenamap_settle(m, arenamap_find(m, key + 1));
            return -1;
        }
        first->hi = off;
        /* FIRST may have moved NEXT (growth): look it up again. */
        arenamap_find(m, key + 1)->lo = off;
        return 0;
    }
    arenamap_entry_t *e = arenamap_get(m, key);
    if (!e) return -1;
    e->hi = 0;
    return 0;
}

void arenamap_remove(arenamap_t *m, uintptr_t base)
{
    uintptr_t key = (base >> m->bits) + 1;
    uint32_t off = (uint32_t)(base & m->offmask);
    arenamap_entry_t *e = arenamap_find(m, key);
    if (!e->key) return;
    e->hi = m->offmask + 1;
    arenamap_settle(m, e);
    if (off != 0) {
        e = arenamap_find(m, key + 1);
        if (!e->key) return;
        e->lo = 0;
        arenamap_settle(m, e);
    }
}

int arenamap_is_valid(const arenamap_t *m)
{
    size_t used = 0;
    if (!m->table) return 0;
    for (size_t i = 0; i <= m->mask; i++) {
        const arenamap_entry_t *e = &m->table[i];
        if (!e->key) continue;
        used++;
        if (e->lo == 0 && e->hi == m->offmask + 1) return 0; /* covers nothing */
        if (e->lo > e->hi) return 0;                         /* overlap */
        for (size_t j = arenamap_home(m, e->key); j != i; j = (j + 1) & m->mask)
            if (!m->table[j].key) return 0; /* unreachable */
    }
    return used == m->used && used * 2 <= m->mask + 1;
}
