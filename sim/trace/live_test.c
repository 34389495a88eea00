/* live_test.c: the slot tracker against a naive reference model, on seeded
 * random event streams (valid and invalid), by id and by slot. */
#include "sim/trace/live.h"

#include <stdlib.h>
#include <string.h>

#include "alloc/check.h"

/* ---- the reference: arrays and linear searches, obviously right --------- */

#define REF_MAX 4096

typedef struct {
    uint32_t id[REF_MAX], dom[REF_MAX], owner[REF_MAX];
    int live[REF_MAX];
    uint32_t n, freestack[REF_MAX], nfree;
    uint32_t aid[REF_MAX];
    int alive[REF_MAX];
    uint32_t an, afree[REF_MAX], nafree;
    uint32_t owned[REF_MAX][64]; /* per arena slot, in `o` order */
    uint32_t nowned[REF_MAX];
    uint32_t released[64], nreleased;
} ref_t;

static uint32_t ref_find(const ref_t *m, uint32_t id)
{
    for (uint32_t s = 0; s < m->n; s++)
        if (m->live[s] && m->id[s] == id) return s;
    return LIVE_NONE;
}

static uint32_t ref_afind(const ref_t *m, uint32_t id)
{
    for (uint32_t s = 0; s < m->an; s++)
        if (m->alive[s] && m->aid[s] == id) return s;
    return LIVE_NONE;
}

static void ref_disown(ref_t *m, uint32_t s)
{
    if (m->owner[s] == LIVE_NONE) return;
    uint32_t a = m->owner[s], j = 0;
    for (uint32_t i = 0; i < m->nowned[a]; i++)
        if (m->owned[a][i] != s) m->owned[a][j++] = m->owned[a][i];
    m->nowned[a] = j;
    m->owner[s] = LIVE_NONE;
}

static void ref_release(ref_t *m, uint32_t s)
{
    m->live[s] = 0;
    m->owner[s] = LIVE_NONE;
    m->freestack[m->nfree++] = s;
}

/* Same contract as live_apply_ids: 0 (slots filled) or TRACE_ESEM. */
static int ref_apply(ref_t *m, trace_event_t *ev)
{
    uint32_t s, a;
    switch (ev->op) {
    case TRACE_ALLOC:
    case TRACE_CALLOC:
        if (ref_find(m, ev->id) != LIVE_NONE) return TRACE_ESEM;
        s = m->nfree ? m->freestack[--m->nfree] : m->n++;
        m->id[s] = ev->id;
        m->dom[s] = ev->domain;
        m->live[s] = 1;
        m->owner[s] = LIVE_NONE;
        ev->slot = s;
        return 0;
    case TRACE_REALLOC:
    case TRACE_FREE:
        if ((s = ref_find(m, ev->id)) == LIVE_NONE || m->dom[s] != ev->domain) return TRACE_ESEM;
        ev->slot = s;
        if (ev->op == TRACE_FREE) {
            ref_disown(m, s);
            ref_release(m, s);
        }
        return 0;
    case TRACE_ARENA_NEW:
        if (ref_afind(m, ev->arena) != LIVE_NONE) return TRACE_ESEM;
        a = m->nafree ? m->afree[--m->nafree] : m->an++;
        m->aid[a] = ev->arena;
        m->alive[a] = 1;
        m->nowned[a] = 0;
        ev->aslot = a;
        return 0;
    case TRACE_ARENA_MALLOC:
        if ((a = ref_afind(m, ev->arena)) == LIVE_NONE) return TRACE_ESEM;
        ev->aslot = a;
        return 0;
    case TRACE_ARENA_OWN:
        if ((a = ref_afind(m, ev->arena)) == LIVE_NONE) return TRACE_ESEM;
        if ((s = ref_find(m, ev->id)) == LIVE_NONE) return TRACE_ESEM;
        if (m->nowned[a] == 64 && m->owner[s] != a) return -99; /* model limit */
        ref_disown(m, s);
        m->owned[a][m->nowned[a]++] = s;
        m->owner[s] = a;
        ev->aslot = a;
        ev->slot = s;
        return 0;
    default:
        if ((a = ref_afind(m, ev->arena)) == LIVE_NONE) return TRACE_ESEM;
        m->nreleased = m->nowned[a];
        for (uint32_t i = 0; i < m->nowned[a]; i++) {
            m->released[i] = m->owned[a][i];
            ref_release(m, m->owned[a][i]);
        }
        m->nowned[a] = 0;
        m->alive[a] = 0;
        m->afree[m->nafree++] = a;
        ev->aslot = a;
        return 0;
    }
}

static uint64_t rnd_state;
static uint32_t rnd(uint32_t n)
{
    rnd_state = rnd_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)((rnd_state >> 33) % n);
}

/* A random event over a small id space, so that hits and misses mix. */
static trace_event_t random_event(uint32_t ids, uint32_t aids)
{
    trace_event_t ev = {0};
    ev.op = (uint8_t)rnd(TRACE_NOPS);
    if (rnd(3)) ev.op = (uint8_t)rnd(4); /* mostly a c r f */
    ev.domain = ev.op <= TRACE_FREE ? (uint8_t)(rnd(8) ? TRACE_MEM : rnd(3)) : TRACE_MEM;
    /* ids spread over the whole u32 range but drawn from a small set */
    ev.id = rnd(ids) * 2654435761u;
    ev.arena = rnd(aids) * 40503u + 7;
    return ev;
}

static void test_against_reference(uint64_t seed, uint32_t ids, uint32_t aids, int steps)
{
    static ref_t m;
    memset(&m, 0, sizeof m);
    live_t byid, byslot, byslotmap;
    live_init(&byid, 1);
    live_init(&byslot, 0);
    live_init(&byslotmap, 1);
    rnd_state = seed;
    char msg[256];
    int ok = 0, sem = 0, fails = 0;
    for (int i = 0; i < steps && fails < 5; i++) {
        trace_event_t ev = random_event(ids, aids), want = ev, got = ev;
        int rw = ref_apply(&m, &want);
        if (rw == -99) continue;
        int rg = live_apply_ids(&byid, &got, msg, sizeof msg);
        if (rg != rw) {
            fails++;
            CHECKF(0, "seed %llu step %d: op %c: live %d (%s), reference %d",
                   (unsigned long long)seed, i, trace_op_letter[ev.op], rg, msg, rw);
            continue;
        }
        if (rw < 0) {
            sem++;
            continue;
        }
        ok++;
        int has_slot = ev.op <= TRACE_FREE || ev.op == TRACE_ARENA_OWN;
        int has_aslot = ev.op >= TRACE_ARENA_NEW;
        if ((has_slot && got.slot != want.slot) || (has_aslot && got.aslot != want.aslot)) {
            fails++;
            CHECKF(0, "seed %llu step %d: slots %u/%u, reference %u/%u", (unsigned long long)seed,
                   i, got.slot, got.aslot, want.slot, want.aslot);
        }
        if (ev.op == TRACE_ARENA_FREE) {
            const uint32_t *owned;
            uint32_t n = live_owned(&byid, &owned);
            CHECK(n == m.nreleased && (n == 0 || !memcmp(owned, m.released, n * sizeof *owned)));
        }
        /* the same event named by slot gives the same state */
        for (int k = 0; k < 2; k++) {
            live_t *l = k ? &byslotmap : &byslot;
            trace_event_t bs = ev;
            bs.slot = got.slot;
            bs.aslot = got.aslot;
            if (ev.op == TRACE_ALLOC || ev.op == TRACE_CALLOC) bs.slot = 12345;
            if (ev.op != TRACE_ALLOC && ev.op != TRACE_CALLOC && ev.op != TRACE_ARENA_NEW)
                bs.id = bs.arena = 0; /* must come from the table */
            if (ev.op == TRACE_ARENA_NEW) bs.aslot = 999;
            int rs = live_apply_slots(l, &bs, msg, sizeof msg);
            CHECKF(rs == 0, "by slot: %s", msg);
            CHECK(bs.slot == got.slot || !has_slot);
            CHECK(bs.aslot == got.aslot || !has_aslot);
            CHECK(bs.id == got.id || (ev.op >= TRACE_ARENA_NEW && ev.op != TRACE_ARENA_OWN));
            CHECK(bs.arena == got.arena || ev.op <= TRACE_FREE);
        }
        if (i % 997 == 0) {
            CHECK(live_is_valid(&byid));
            CHECK(live_is_valid(&byslot));
            CHECK(live_is_valid(&byslotmap));
        }
    }
    CHECK(live_is_valid(&byid));
    CHECK(byid.nblocks == m.n && byid.narenas == m.an && byid.nlive == byslot.nlive);
    CHECKF(ok > steps / 5 && sem > steps / 20, "ok %d sem %d: the stream tests too little", ok,
           sem);
    live_free(&byid);
    live_free(&byslot);
    live_free(&byslotmap);
}

static void test_messages(void)
{
    live_t l;
    char msg[256];
    live_init(&l, 0);
    trace_event_t ev = {.op = TRACE_FREE, .slot = 3};
    CHECK(live_apply_slots(&l, &ev, msg, sizeof msg) == TRACE_ESEM);
    CHECK(!strcmp(msg, "f of slot 3, which is not live"));
    ev = (trace_event_t){.op = TRACE_ARENA_MALLOC, .aslot = 2};
    CHECK(live_apply_slots(&l, &ev, msg, sizeof msg) == TRACE_ESEM);
    CHECK(!strcmp(msg, "m on arena slot 2, which does not exist"));
    ev = (trace_event_t){.op = TRACE_ALLOC, .id = 1};
    CHECK(live_apply_ids(&l, &ev, msg, sizeof msg) == TRACE_EUSAGE); /* no map */
    ev = (trace_event_t){.op = 8};
    CHECK(live_apply_slots(&l, &ev, msg, sizeof msg) == TRACE_EUSAGE);
    live_free(&l);
}

/* Failed events must not grow anything: garbage input cannot exhaust
 * memory through the tracker. */
static void test_no_growth_on_errors(void)
{
    live_t l;
    char msg[256];
    live_init(&l, 1);
    for (uint32_t i = 0; i < 100000; i++) {
        trace_event_t ev = {.op = (uint8_t)(TRACE_REALLOC + i % 2), .id = i * 7919u};
        CHECK(live_apply_ids(&l, &ev, msg, sizeof msg) == TRACE_ESEM);
        ev = (trace_event_t){.op = (uint8_t)(TRACE_ARENA_MALLOC + i % 3), .arena = i};
        CHECK(live_apply_ids(&l, &ev, msg, sizeof msg) == TRACE_ESEM);
    }
    CHECK(l.bcap == 0 && l.acap == 0 && l.bmap.cells == NULL && l.amap.cells == NULL);
    /* many ids, alive then freed: the hash is as large as the peak only */
    for (uint32_t round = 0; round < 50; round++) {
        for (uint32_t i = 0; i < 1000; i++) {
            trace_event_t ev = {.op = TRACE_ALLOC, .id = round * 1000003u + i * 2654435761u};
            CHECK(live_apply_ids(&l, &ev, msg, sizeof msg) == 0);
        }
        for (uint32_t i = 0; i < 1000; i++) {
            trace_event_t ev = {.op = TRACE_FREE, .id = round * 1000003u + i * 2654435761u};
            CHECK(live_apply_ids(&l, &ev, msg, sizeof msg) == 0);
        }
    }
    CHECK(l.nblocks == 1000 && l.nlive == 0 && l.bmap.mask + 1 <= 2048);
    CHECK(live_is_valid(&l));
    live_reset(&l);
    CHECK(live_is_valid(&l) && l.nblocks == 0);
    live_free(&l);
}

int main(void)
{
    test_messages();
    test_no_growth_on_errors();
    test_against_reference(1, 40, 6, 200000);
    test_against_reference(2, 400, 30, 200000);
    test_against_reference(3, 4000, 3, 100000);
    test_against_reference(4, 7, 2, 50000);
    return check_done();
}
