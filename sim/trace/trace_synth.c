/* trace_synth.c: seeded synthetic traces (see trace_synth.h).
 *
 * The generator proposes an event, applies it to its own live_t model (a
 * proposal the model rejects, e.g. a random id that is live, is redrawn),
 * then writes it.  Live blocks and arenas are picked by slot from the
 * model's tables. */
#include "sim/trace/trace_synth.h"

#include <stdio.h>
#include <stdlib.h>

#include "sim/trace/live.h"

#define TSYNTH_RECENT 64

typedef struct {
    uint64_t rng;
    tsynth_style_t style;
    live_t model;
    uint32_t next_id; /* realistic: sequential ids        */
    uint32_t next_arena;
    uint32_t recent[TSYNTH_RECENT]; /* recently allocated slots (ring)  */
    unsigned head, nrecent;         /* next ring cell, cells in use     */
    uint32_t thread;
} tsynth_t;

/* splitmix64: tiny, fast, and fully determined by the seed. */
static uint64_t tsynth_rand(tsynth_t *g)
{
    uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t tsynth_below(tsynth_t *g, uint64_t n)
{
    return n ? tsynth_rand(g) % n : 0;
}

/* A live block slot (LIVE_NONE if none): RECENT_FIRST prefers the most
 * recent allocation still live, as programs free in LIFO order. */
static uint32_t tsynth_pick_block(tsynth_t *g, int recent_first)
{
    live_t *m = &g->model;
    if (m->nlive == 0) return LIVE_NONE;
    while (recent_first && g->nrecent) {
        g->nrecent--;
        uint32_t s = g->recent[--g->head % TSYNTH_RECENT];
        if (live_block_is_live(m, s)) return s;
    }
    for (int i = 0; i < 32; i++) {
        uint32_t s = (uint32_t)tsynth_below(g, m->nblocks);
        if (live_block_is_live(m, s)) return s;
    }
    for (uint32_t s = (uint32_t)tsynth_below(g, m->nblocks);; s = (s + 1) % m->nblocks)
        if (live_block_is_live(m, s)) return s;
}

static uint32_t tsynth_pick_arena(tsynth_t *g)
{
    live_t *m = &g->model;
    if (m->nalive == 0) return LIVE_NONE;
    for (uint32_t s = (uint32_t)tsynth_below(g, m->narenas);; s = (s + 1) % m->narenas)
        if (live_arena_is_live(m, s)) return s;
}

/* Random: any id, drawn three ways so that every id coding is used. */
static uint32_t tsynth_any_id(tsynth_t *g)
{
    switch (tsynth_below(g, 4)) {
    case 0:
        return g->next_id++;
    case 1:
        return (uint32_t)tsynth_below(g, 1000);
    case 2:
        return UINT32_MAX - (uint32_t)tsynth_below(g, 1000);
    default:
        return (uint32_t)tsynth_rand(g);
    }
}

/* Random: 0 .. 2^48, log-uniform so that every varint length shows up. */
static uint64_t tsynth_any_size(tsynth_t *g)
{
    unsigned bits = (unsigned)tsynth_below(g, 50);
    if (bits == 49) return TRACE_MAX_SIZE;
    return tsynth_rand(g) & (((uint64_t)1 << bits) - 1);
}

static uint64_t tsynth_real_size(tsynth_t *g)
{
    uint64_t r = tsynth_below(g, 100);
    if (r < 70) return 8 * (1 + tsynth_below(g, 16));
    if (r < 90) return 129 + tsynth_below(g, 896);
    if (r < 98) return 1024 + tsynth_below(g, 63 << 10);
    return (64 << 10) + tsynth_below(g, 960 << 10);
}

/* Proposes one event into EV; 0 if the state allows none of the kind drawn. */
static int tsynth_propose(tsynth_t *g, trace_event_t *ev)
{
    live_t *m = &g->model;
    int real = g->style == TSYNTH_REALISTIC;
    uint64_t r = tsynth_below(g, 1000);
    uint32_t s, as;
    *ev = (trace_event_t){.domain = TRACE_MEM, .thread = g->thread};
    if (real) {
        r = tsynth_below(g, 1000);
        ev->domain = r % 20 == 0 ? TRACE_RAW : r % 20 < 8 ? TRACE_MEM : TRACE_OBJ;
        /* a program in its steady state: the live set stays around
         * 20000 blocks, frees outnumber allocations above it */
        int bias = m->nlive > 20000 ? 60 : m->nlive < 100 ? -60 : 0;
        r = tsynth_below(g, 1000);
        if (r < (uint64_t)(440 - bias)) {
            ev->op = TRACE_ALLOC;
        } else if (r < (uint64_t)(470 - bias)) {
            ev->op = TRACE_CALLOC;
        } else if (r < (uint64_t)(530 - bias)) {
            ev->op = TRACE_REALLOC;
        } else if (r < 960) {
            ev->op = TRACE_FREE;
        } else if (r < 964) {
            /* short-lived arenas, as a compiler makes per function */
            ev->op = m->nalive > 8 ? TRACE_ARENA_FREE : TRACE_ARENA_NEW;
        } else if (r < 990) {
            ev->op = TRACE_ARENA_MALLOC;
        } else if (r < 997) {
            ev->op = TRACE_ARENA_OWN;
        } else {
            ev->op = TRACE_ARENA_FREE;
        }
    } else {
        int bias = m->nlive > 2000 ? 150 : 0;
        ev->domain = (uint8_t)tsynth_below(g, TRACE_NDOMAINS);
        if (r < (uint64_t)(250 - bias / 2))
            ev->op = TRACE_ALLOC;
        else if (r < 330)
            ev->op = TRACE_CALLOC;
        else if (r < 450)
            ev->op = TRACE_REALLOC;
        else if (r < (uint64_t)(650 + bias))
            ev->op = TRACE_FREE;
        else if (r < 850)
            ev->op = (uint8_t)(TRACE_ARENA_NEW + tsynth_below(g, 4));
        else
            ev->op = (uint8_t)tsynth_below(g, TRACE_NOPS);
    }
    switch ((trace_op_t)ev->op) {
    case TRACE_CALLOC:
        ev->nmemb = real ? 1 + tsynth_below(g, 8) : tsynth_any_size(g);
        /* fall through */
    case TRACE_ALLOC:
        ev->id = real ? g->next_id++ : tsynth_any_id(g);
        ev->size = real ? tsynth_real_size(g) : tsynth_any_size(g);
        if (ev->op == TRACE_CALLOC && real) ev->size = ev->size / 8 + 1;
        return 1;
    case TRACE_REALLOC:
    case TRACE_FREE:
        if ((s = tsynth_pick_block(g, real && ev->op == TRACE_FREE && r % 10 < 6)) == LIVE_NONE)
            return 0;
        ev->id = live_block_id(m, s);
        ev->domain = live_block_domain(m, s);
        ev->size = real ? tsynth_real_size(g) * 2 : tsynth_any_size(g);
        return 1;
    case TRACE_ARENA_NEW:
        ev->arena = real ? g->next_arena++ : tsynth_any_id(g);
        return 1;
    case TRACE_ARENA_MALLOC:
    case TRACE_ARENA_FREE:
        if ((as = tsynth_pick_arena(g)) == LIVE_NONE) return 0;
        ev->arena = m->arenas[as].id;
        ev->size = real ? tsynth_real_size(g) : tsynth_any_size(g);
        return 1;
    case TRACE_ARENA_OWN:
        if ((as = tsynth_pick_arena(g)) == LIVE_NONE) return 0;
        if ((s = tsynth_pick_block(g, 0)) == LIVE_NONE) return 0;
        ev->arena = m->arenas[as].id;
        ev->id = live_block_id(m, s);
        return 1;
    case TRACE_NOPS:
        break;
    }
    return 0;
}

int tsynth_write(trace_writer_t *w, uint64_t seed, uint64_t n, tsynth_style_t style)
{
    tsynth_t g = {.rng = seed, .style = style};
    char msg[256], key[32], value[64];
    int rc = 0;
    live_init(&g.model, 1);
    for (uint64_t done = 0; done < n && rc == 0;) {
        if (style == TSYNTH_RANDOM && tsynth_below(&g, 100) == 0) {
            snprintf(key, sizeof key, "k%u", (unsigned)tsynth_below(&g, 5));
            snprintf(value, sizeof value, "v %llu\tx", (unsigned long long)done);
            rc = trace_write_marker(w, key, tsynth_below(&g, 4) ? value : "");
            continue;
        }
        if (style == TSYNTH_RANDOM && tsynth_below(&g, 50) == 0)
            g.thread = tsynth_below(&g, 2) ? (uint32_t)tsynth_rand(&g) : 0;
        if (style == TSYNTH_REALISTIC && done % (n / 4 + 1) == 0) {
            snprintf(value, sizeof value, "%llu", (unsigned long long)(done / (n / 4 + 1)));
            if ((rc = trace_write_marker(w, "phase", value)) < 0) break;
        }
        trace_event_t ev, applied;
        if (!tsynth_propose(&g, &ev)) continue;
        applied = ev;
        int ok = live_apply_ids(&g.model, &applied, msg, sizeof msg);
        if (ok == TRACE_ESEM) continue; /* e.g. a random id that is live */
        if (ok < 0) {
            rc = ok;
            break;
        }
        if (ev.op <= TRACE_CALLOC) {
            g.recent[g.head++ % TSYNTH_RECENT] = applied.slot;
            if (g.nrecent < TSYNTH_RECENT) g.nrecent++;
        }
        rc = trace_write(w, &ev);
        done++;
    }
    live_free(&g.model);
    return rc;
}

/* ---- threads (tsynth_write_threads) ---------------------------------------- */

#define TSYNTH_T_LIVE    256 /* blocks a thread keeps live               */
#define TSYNTH_T_HANDOFF 64  /* blocks handed over, per thread           */
#define TSYNTH_T_BURST   32  /* events of a thread before the next one's */

typedef struct {
    uint32_t live[2 * TSYNTH_T_LIVE]; /* ids of its own live blocks         */
    uint32_t nlive;
    uint32_t inbox[TSYNTH_T_HANDOFF]; /* ids handed over to it (a ring)     */
    uint32_t in_head, nin;
} tsynth_thread_t;

int tsynth_write_threads(trace_writer_t *w, uint64_t seed, uint64_t n, uint32_t nthreads,
                         unsigned remote_per_mille)
{
    if (nthreads == 0) return TRACE_EUSAGE;
    tsynth_thread_t *th = calloc(nthreads, sizeof *th);
    if (!th) return TRACE_ENOMEM;
    tsynth_t g = {.rng = seed};
    uint32_t next_id = 1;
    int rc = 0;
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        uint32_t t = (uint32_t)(i / TSYNTH_T_BURST % nthreads);
        tsynth_thread_t *me = &th[t];
        trace_event_t ev = {.domain = TRACE_MEM, .thread = t + 1};
        uint64_t r = tsynth_below(&g, 1000);
        if (me->nin && r < 2 * remote_per_mille) {
            /* a block another thread handed over */
            ev.op = TRACE_FREE;
            ev.id = me->inbox[(me->in_head + TSYNTH_T_HANDOFF - me->nin) % TSYNTH_T_HANDOFF];
            me->nin--;
        } else if (me->nlive && (me->nlive >= 2 * TSYNTH_T_LIVE || r % 2 == 0) &&
                   (me->nlive > TSYNTH_T_LIVE / 2 || r % 8 == 0)) {
            uint32_t k = (uint32_t)tsynth_below(&g, me->nlive);
            ev.id = me->live[k];
            if (r % 16 == 1) {
                ev.op = TRACE_REALLOC;
                ev.size = 16 + tsynth_below(&g, 1009);
            } else {
                ev.op = TRACE_FREE;
                me->live[k] = me->live[--me->nlive];
            }
        } else {
            ev.op = TRACE_ALLOC;
            ev.id = next_id++;
            ev.size = 16 + tsynth_below(&g, 1009);
            tsynth_thread_t *next = &th[(t + 1) % nthreads];
            if (nthreads > 1 && tsynth_below(&g, 1000) < remote_per_mille &&
                next->nin < TSYNTH_T_HANDOFF) {
                next->inbox[next->in_head] = ev.id;
                next->in_head = (next->in_head + 1) % TSYNTH_T_HANDOFF;
                next->nin++;
            } else {
                me->live[me->nlive++] = ev.id;
            }
        }
        rc = trace_write(w, &ev);
    }
    free(th);
    return rc < 0 ? rc : 0;
}
