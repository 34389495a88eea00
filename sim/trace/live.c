/* live.c: id -> slot tracking with LIFO slot recycling (see live.h). */
#include "sim/trace/live.h"
#include "sim/trace/internal/trace_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIVE_MAP_MIN 64u

/* ---- id -> slot hash ------------------------------------------------- */

/* murmur3's finaliser: ids are arbitrary, often sequential; this spreads
 * them over the table so linear probing stays short. */
static inline uint32_t live_hash(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x85ebca6bu;
    x ^= x >> 13;
    x *= 0xc2b2ae35u;
    x ^= x >> 16;
    return x;
}

static uint32_t live_map_find(const live_map_t *m, uint32_t id)
{
    if (!m->cells) return LIVE_NONE;
    for (uint32_t i = live_hash(id) & m->mask;; i = (i + 1) & m->mask) {
        const live_cell_t *c = &m->cells[i];
        if (c->slot1 == 0) return LIVE_NONE;
        if (c->id == id) return c->slot1 - 1;
    }
}

static void live_map_put(live_map_t *m, uint32_t id, uint32_t slot)
{
    uint32_t i = live_hash(id) & m->mask;
    while (m->cells[i].slot1 != 0)
        i = (i + 1) & m->mask;
    m->cells[i].id = id;
    m->cells[i].slot1 = slot + 1;
    m->n++;
}

/* Makes room for one more entry (load factor <= 3/4).  0 or TRACE_ENOMEM;
 * the map is unchanged on failure. */
static int live_map_room(pheap_t *heap, live_map_t *m)
{
    uint64_t cap = m->cells ? (uint64_t)m->mask + 1 : 0;
    if ((uint64_t)(m->n + 1) * 4 <= cap * 3) return 0;
    uint64_t ncap = cap ? cap * 2 : LIVE_MAP_MIN;
    if (ncap > ((uint64_t)1 << 31)) return TRACE_ENOMEM;
    live_cell_t *cells = tmem_calloc(heap, (size_t)ncap, sizeof *cells);
    if (!cells) return TRACE_ENOMEM;
    live_map_t nm = {cells, (uint32_t)(ncap - 1), 0};
    for (uint64_t i = 0; i < cap; i++)
        if (m->cells[i].slot1) live_map_put(&nm, m->cells[i].id, m->cells[i].slot1 - 1);
    tmem_free(heap, m->cells);
    *m = nm;
    return 0;
}

/* Removes ID (present).  Backward-shift deletion keeps every probe chain
 * unbroken without tombstones, so a long trace never degrades the table. */
static void live_map_erase(live_map_t *m, uint32_t id)
{
    uint32_t i = live_hash(id) & m->mask;
    while (m->cells[i].id != id || m->cells[i].slot1 == 0)
        i = (i + 1) & m->mask;
    for (uint32_t j = (i + 1) & m->mask; m->cells[j].slot1 != 0; j = (j + 1) & m->mask) {
        uint32_t home = live_hash(m->cells[j].id) & m->mask;
        /* the entry at j may move to the hole at i only if i lies on its
         * probe path, i.e. between its home and j (cyclically) */
        if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
            m->cells[i] = m->cells[j];
            i = j;
        }
    }
    m->cells[i].slot1 = 0;
    m->n--;
}

/* ---- slot tables --------------------------------------------------------- */

void live_init(live_t *l, int use_map)
{
    memset(l, 0, sizeof *l);
    l->afree = LIVE_NONE;
    l->use_map = use_map;
}

void live_free(live_t *l)
{
    pheap_t *heap = l->heap;
    int cross = l->cross;
    tmem_free(heap, l->bstate);
    tmem_free(heap, l->bid);
    tmem_free(heap, l->blink);
    tmem_free(heap, l->bfree);
    tmem_free(heap, l->arenas);
    tmem_free(heap, l->bmap.cells);
    tmem_free(heap, l->amap.cells);
    tmem_free(heap, l->owned);
    live_init(l, l->use_map);
    l->heap = heap;
    l->cross = cross;
}

void live_reset(live_t *l)
{
    l->nblocks = l->nlive = l->nbfree = 0;
    l->narenas = l->nalive = l->nowned = 0;
    l->afree = LIVE_NONE;
    if (l->bmap.cells) memset(l->bmap.cells, 0, ((size_t)l->bmap.mask + 1) * sizeof(live_cell_t));
    if (l->amap.cells) memset(l->amap.cells, 0, ((size_t)l->amap.mask + 1) * sizeof(live_cell_t));
    l->bmap.n = l->amap.n = 0;
}

/* The capacity a table of capacity CAP needing WANT entries grows to (at
 * least doubling), or 0 when WANT exceeds LIVE_MAX_SLOTS. */
static uint64_t live_grown_cap(uint32_t cap, uint64_t want)
{
    if (want > LIVE_MAX_SLOTS) return 0;
    uint64_t ncap = cap ? (uint64_t)cap * 2 : 16;
    if (ncap < want) ncap = want;
    return ncap > LIVE_MAX_SLOTS ? LIVE_MAX_SLOTS : ncap;
}

/* Reallocates *TAB to NCAP elements of ELEM bytes.  0 or TRACE_ENOMEM
 * (table unchanged). */
static int live_realloc(pheap_t *heap, void **tab, uint64_t ncap, size_t elem)
{
    if (ncap > SIZE_MAX / elem) return TRACE_ENOMEM;
    void *p = tmem_realloc(heap, *tab, (size_t)ncap * elem);
    if (!p) return TRACE_ENOMEM;
    *tab = p;
    return 0;
}

/* Grows *TAB (element size ELEM, capacity *CAP) to hold at least WANT
 * elements.  0 or TRACE_ENOMEM (table unchanged). */
static int live_grow(pheap_t *heap, void **tab, uint32_t *cap, uint64_t want, size_t elem)
{
    if (want <= *cap) return 0;
    uint64_t ncap = live_grown_cap(*cap, want);
    if (!ncap || live_realloc(heap, tab, ncap, elem) < 0) return TRACE_ENOMEM;
    *cap = (uint32_t)ncap;
    return 0;
}

/* Grows the four block arrays together.  On failure the arrays that did
 * grow keep their contents and bcap stays: nothing changes that matters. */
static int live_grow_blocks(live_t *l, uint64_t want)
{
    if (want <= l->bcap) return 0;
    uint64_t ncap = live_grown_cap(l->bcap, want);
    if (!ncap || live_realloc(l->heap, (void **)&l->bstate, ncap, sizeof *l->bstate) < 0 ||
        live_realloc(l->heap, (void **)&l->bid, ncap, sizeof *l->bid) < 0 ||
        live_realloc(l->heap, (void **)&l->blink, ncap, sizeof *l->blink) < 0 ||
        live_realloc(l->heap, (void **)&l->bfree, ncap, sizeof *l->bfree) < 0)
        return TRACE_ENOMEM;
    l->bcap = (uint32_t)ncap;
    return 0;
}

uint64_t live_bytes(const live_t *l)
{
    uint64_t per_block = sizeof *l->bstate + sizeof *l->bid + sizeof *l->blink + sizeof *l->bfree;
    uint64_t cells = (l->bmap.cells ? (uint64_t)l->bmap.mask + 1 : 0) +
                     (l->amap.cells ? (uint64_t)l->amap.mask + 1 : 0);
    return (uint64_t)l->bcap * per_block + (uint64_t)l->acap * sizeof *l->arenas +
           cells * sizeof(live_cell_t) + (uint64_t)l->owned_cap * sizeof *l->owned;
}

int live_reserve(live_t *l, uint32_t nb, uint32_t na)
{
    if (live_grow_blocks(l, nb) < 0) return TRACE_ENOMEM;
    if (live_grow(l->heap, (void **)&l->arenas, &l->acap, na, sizeof *l->arenas) < 0)
        return TRACE_ENOMEM;
    return 0;
}

/* Room for one new block (a table slot and a hash cell), done before any
 * change so that a failure leaves the state as it was. */
static int live_block_room(live_t *l)
{
    if (l->nbfree == 0 && live_grow_blocks(l, (uint64_t)l->nblocks + 1) < 0) return TRACE_ENOMEM;
    return l->use_map ? live_map_room(l->heap, &l->bmap) : 0;
}

static int live_arena_room(live_t *l)
{
    if (l->afree == LIVE_NONE && live_grow(l->heap, (void **)&l->arenas, &l->acap,
                                           (uint64_t)l->narenas + 1, sizeof *l->arenas) < 0)
        return TRACE_ENOMEM;
    return l->use_map ? live_map_room(l->heap, &l->amap) : 0;
}

/* Frees the block at S, unlinked from its owner (or its owner's whole list
 * being dropped, at `x`). */
static void live_put_block(live_t *l, uint32_t s)
{
    if (l->use_map) live_map_erase(&l->bmap, l->bid[s]);
    uint32_t *top = l->bfree + l->nbfree;
    l->bstate[s] = 0;
    live_lifo_give(&top, s);
    l->nbfree++;
    l->nlive--;
}

static void live_unlink(live_t *l, uint32_t s)
{
    if (!(l->bstate[s] & LIVE_B_OWNED)) return;
    live_link_t *b = &l->blink[s];
    live_arena_t *a = &l->arenas[b->owner];
    if (b->prev != LIVE_NONE)
        l->blink[b->prev].next = b->next;
    else
        a->head = b->next;
    if (b->next != LIVE_NONE)
        l->blink[b->next].prev = b->prev;
    else
        a->tail = b->prev;
    a->nowned--;
    l->bstate[s] &= (uint8_t)~LIVE_B_OWNED;
}

static void live_append(live_t *l, uint32_t as, uint32_t s)
{
    live_arena_t *a = &l->arenas[as];
    l->blink[s] = (live_link_t){as, a->tail, LIVE_NONE};
    if (a->tail != LIVE_NONE)
        l->blink[a->tail].next = s;
    else
        a->head = s;
    a->tail = s;
    a->nowned++;
    l->bstate[s] |= LIVE_B_OWNED;
}

void live_own(live_t *l, uint32_t as, uint32_t s)
{
    live_unlink(l, s);
    live_append(l, as, s);
}

/* ---- applying events ----------------------------------------------------- */

/* The live block named by EV (by id or by slot), or LIVE_NONE. */
static uint32_t live_find_block(const live_t *l, const trace_event_t *ev, int by_slot)
{
    if (!by_slot) return live_map_find(&l->bmap, ev->id);
    return live_block_is_live(l, ev->slot) ? ev->slot : LIVE_NONE;
}

static uint32_t live_find_arena(const live_t *l, const trace_event_t *ev, int by_slot)
{
    if (!by_slot) return live_map_find(&l->amap, ev->arena);
    return live_arena_is_live(l, ev->aslot) ? ev->aslot : LIVE_NONE;
}

/* "id 5" or "slot 5": how the message names what EV names. */
static void live_name(char *buf, size_t n, int by_slot, uint32_t id, uint32_t slot)
{
    snprintf(buf, n, by_slot ? "slot %u" : "id %u", by_slot ? slot : id);
}

static int live_apply(live_t *l, trace_event_t *ev, int by_slot, char *msg, size_t msglen)
{
    char name[32];
    char op = ev->op < TRACE_NOPS ? trace_op_letter[ev->op] : '?';
    uint32_t s = LIVE_NONE, as = LIVE_NONE;
    int rc;

    if (ev->op >= TRACE_NOPS || ev->domain >= TRACE_NDOMAINS) {
        snprintf(msg, msglen, "bad event (op %u, domain %u)", ev->op, ev->domain);
        return TRACE_EUSAGE;
    }
    switch ((trace_op_t)ev->op) {
    case TRACE_ALLOC:
    case TRACE_CALLOC:
        if (l->use_map && live_map_find(&l->bmap, ev->id) != LIVE_NONE) {
            snprintf(msg, msglen, "%c of id %u, which is already live", op, ev->id);
            return TRACE_ESEM;
        }
        if ((rc = live_block_room(l)) < 0) return rc;
        {
            uint32_t *top = l->bfree + l->nbfree;
            s = live_lifo_take(l->bfree, &top, &l->nblocks);
            l->nbfree = (uint32_t)(top - l->bfree);
        }
        l->nlive++;
        l->bstate[s] = (uint8_t)(LIVE_B_LIVE | ev->domain);
        l->bid[s] = ev->id;
        if (l->use_map) live_map_put(&l->bmap, ev->id, s);
        ev->slot = s;
        return 0;
    case TRACE_REALLOC:
    case TRACE_FREE:
        s = live_find_block(l, ev, by_slot);
        if (s == LIVE_NONE) {
            live_name(name, sizeof name, by_slot, ev->id, ev->slot);
            snprintf(msg, msglen, "%c of %s, which is not live", op, name);
            return TRACE_ESEM;
        }
        if (live_block_domain(l, s) != ev->domain && !l->cross) {
            live_name(name, sizeof name, by_slot, ev->id, ev->slot);
            snprintf(msg, msglen, "API violation: %c of %s in domain %s, allocated in domain %s",
                     op, name, trace_domain_name[ev->domain],
                     trace_domain_name[live_block_domain(l, s)]);
            return TRACE_ESEM;
        }
        ev->slot = s;
        ev->id = l->bid[s];
        if (ev->op == TRACE_FREE) {
            live_unlink(l, s);
            live_put_block(l, s);
        }
        return 0;
    case TRACE_ARENA_NEW:
        ev->domain = TRACE_MEM;
        if (l->use_map && live_map_find(&l->amap, ev->arena) != LIVE_NONE) {
            snprintf(msg, msglen, "n of arena %u, which already exists", ev->arena);
            return TRACE_ESEM;
        }
        if ((rc = live_arena_room(l)) < 0) return rc;
        as = l->afree;
        if (as != LIVE_NONE)
            l->afree = l->arenas[as].next;
        else
            as = l->narenas++;
        l->nalive++;
        l->arenas[as] = (live_arena_t){ev->arena, LIVE_NONE, LIVE_NONE, LIVE_NONE, 0, 1};
        if (l->use_map) live_map_put(&l->amap, ev->arena, as);
        ev->aslot = as;
        return 0;
    case TRACE_ARENA_MALLOC:
    case TRACE_ARENA_OWN:
    case TRACE_ARENA_FREE:
        ev->domain = TRACE_MEM;
        as = live_find_arena(l, ev, by_slot);
        if (as == LIVE_NONE) {
            snprintf(msg, msglen,
                     by_slot ? "%c on arena slot %u, which does not exist"
                             : "%c on arena %u, which does not exist",
                     op, by_slot ? ev->aslot : ev->arena);
            return TRACE_ESEM;
        }
        if (ev->op == TRACE_ARENA_OWN) {
            s = live_find_block(l, ev, by_slot);
            if (s == LIVE_NONE) {
                live_name(name, sizeof name, by_slot, ev->id, ev->slot);
                snprintf(msg, msglen, "o of %s, which is not live", name);
                return TRACE_ESEM;
            }
            live_own(l, as, s);
            ev->slot = s;
            ev->id = l->bid[s];
        }
        if (ev->op == TRACE_ARENA_FREE) {
            live_arena_t *a = &l->arenas[as];
            if (live_grow(l->heap, (void **)&l->owned, &l->owned_cap, a->nowned, sizeof *l->owned) <
                0)
                return TRACE_ENOMEM;
            l->nowned = 0;
            for (uint32_t b = a->head; b != LIVE_NONE;) {
                uint32_t next = l->blink[b].next;
                l->owned[l->nowned++] = b;
                live_put_block(l, b);
                b = next;
            }
            a->head = a->tail = LIVE_NONE;
            a->nowned = 0;
            a->live = 0;
            if (l->use_map) live_map_erase(&l->amap, a->id);
            a->next = l->afree;
            l->afree = as;
            l->nalive--;
        }
        ev->aslot = as;
        ev->arena = l->arenas[as].id;
        return 0;
    case TRACE_NOPS:
        break;
    }
    return TRACE_EUSAGE;
}

int live_apply_ids(live_t *l, trace_event_t *ev, char *msg, size_t msglen)
{
    if (!l->use_map) {
        snprintf(msg, msglen, "live_apply_ids needs the id map");
        return TRACE_EUSAGE;
    }
    return live_apply(l, ev, 0, msg, msglen);
}

int live_apply_slots(live_t *l, trace_event_t *ev, char *msg, size_t msglen)
{
    return live_apply(l, ev, 1, msg, msglen);
}

/* ---- invariants -------------------------------------------------------- */

/* Every entry of the free stack is a free slot, each one once.  (Counting
 * alone cannot tell a repeated slot; a bitmap can.  The check allocates,
 * so it reports 0 when it cannot.) */
static int live_free_ok(const live_t *l)
{
    uint8_t *seen = tmem_calloc(l->heap, (size_t)l->nblocks / 8 + 1, 1);
    int ok = seen != NULL;
    for (uint32_t i = 0; ok && i < l->nbfree; i++) {
        uint32_t s = l->bfree[i];
        ok = s < l->nblocks && l->bstate[s] == 0 && !(seen[s / 8] & (1u << s % 8));
        if (ok) seen[s / 8] |= (uint8_t)(1u << s % 8);
    }
    tmem_free(l->heap, seen);
    return ok;
}

int live_is_valid(const live_t *l)
{
    uint32_t nlive = 0, nowned = 0;
    if (l->nblocks > l->bcap || l->narenas > l->acap || l->nbfree > l->nblocks) return 0;
    for (uint32_t s = 0; s < l->nblocks; s++) {
        uint8_t st = l->bstate[s];
        if (!(st & LIVE_B_LIVE)) {
            if (st) return 0;
            continue;
        }
        nlive++;
        if ((st & LIVE_B_DOMAIN) >= TRACE_NDOMAINS || (st & ~0x0fu)) return 0;
        if (st & LIVE_B_OWNED) {
            uint32_t o = l->blink[s].owner;
            if (o >= l->narenas || !l->arenas[o].live) return 0;
            nowned++;
        }
        if (l->use_map && live_map_find(&l->bmap, l->bid[s]) != s) return 0;
    }
    if (nlive != l->nlive || nlive + l->nbfree != l->nblocks) return 0;
    if (l->use_map && l->bmap.n != nlive) return 0;
    if (!live_free_ok(l)) return 0;

    uint32_t afree = 0, alive = 0;
    for (uint32_t s = l->afree; s != LIVE_NONE; s = l->arenas[s].next) {
        if (s >= l->narenas || l->arenas[s].live || ++afree > l->narenas) return 0;
    }
    for (uint32_t s = 0; s < l->narenas; s++) {
        const live_arena_t *a = &l->arenas[s];
        if (!a->live) continue;
        alive++;
        if (l->use_map && live_map_find(&l->amap, a->id) != s) return 0;
        uint32_t n = 0, prev = LIVE_NONE;
        for (uint32_t b = a->head; b != LIVE_NONE; b = l->blink[b].next) {
            if (b >= l->nblocks || !(l->bstate[b] & LIVE_B_OWNED) || l->blink[b].owner != s ||
                l->blink[b].prev != prev || ++n > a->nowned)
                return 0;
            prev = b;
        }
        if (n != a->nowned || a->tail != prev) return 0;
        if (n > nowned) return 0;
        nowned -= n;
    }
    if (alive != l->nalive || alive + afree != l->narenas) return 0;
    if (l->use_map && l->amap.n != alive) return 0;
    return nowned == 0;
}
