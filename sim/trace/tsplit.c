/* tsplit.c: threads of a trace and their sync points (see tsplit.h).
 *
 * Invariants: hash_cap is 0 or a power of two at least twice nthreads, and
 * every thread's id is in the hash; slots_v/aslots_v hold a record for
 * every slot seen, whose `last` thread did the latest touch, leaving its
 * stream at `done` events. */
#include "sim/trace/tsplit.h"

#include <string.h>

typedef struct {
    uint32_t owner; /* thread that allocated the block                    */
    uint32_t last;  /* thread of the latest touch                         */
    uint64_t done;  /* that thread's event count just after it            */
} tsplit_slot_t;

void tsplit_init(tsplit_t *t)
{
    memset(t, 0, sizeof *t);
    t->last_index = TSPLIT_NONE;
}

void tsplit_free(tsplit_t *t)
{
    mapvec_free(&t->threads_v);
    mapvec_free(&t->hash_v);
    mapvec_free(&t->slots_v);
    mapvec_free(&t->aslots_v);
    tsplit_init(t);
}

const tsplit_thread_t *tsplit_thread(const tsplit_t *t, uint32_t i)
{
    return (const tsplit_thread_t *)t->threads_v.p + i;
}

static uint32_t tsplit_hash(uint32_t id, uint32_t cap)
{
    return (id * 2654435761u) & (cap - 1);
}

/* Puts dense index I (id ID) into a hash of capacity CAP. */
static void tsplit_hash_put(uint32_t *h, uint32_t cap, uint32_t id, uint32_t i)
{
    uint32_t k = tsplit_hash(id, cap);
    while (h[k])
        k = (k + 1) & (cap - 1);
    h[k] = i + 1;
}

/* The dense index of thread ID, added when new; TSPLIT_NONE on ENOMEM. */
static uint32_t tsplit_index(tsplit_t *t, uint32_t id)
{
    if (t->last_index != TSPLIT_NONE && t->last_id == id) return t->last_index;
    tsplit_thread_t *th = t->threads_v.p;
    uint32_t *h = t->hash_v.p;
    if (t->hash_cap) {
        for (uint32_t k = tsplit_hash(id, t->hash_cap); h[k]; k = (k + 1) & (t->hash_cap - 1))
            if (th[h[k] - 1].id == id) {
                t->last_id = id;
                return t->last_index = h[k] - 1;
            }
    }
    uint32_t i = t->nthreads;
    if (i == TSPLIT_NONE - 1 ||
        mapvec_reserve(&t->threads_v, ((size_t)i + 1) * sizeof(tsplit_thread_t)))
        return TSPLIT_NONE;
    th = t->threads_v.p;
    th[i] = (tsplit_thread_t){.id = id};
    if (2 * ((uint64_t)i + 1) > t->hash_cap) {
        uint32_t cap = t->hash_cap ? 2 * t->hash_cap : 16;
        mapvec_t nv = {0};
        if (mapvec_reserve(&nv, (size_t)cap * sizeof(uint32_t))) return TSPLIT_NONE;
        for (uint32_t j = 0; j < i; j++)
            tsplit_hash_put(nv.p, cap, th[j].id, j);
        mapvec_free(&t->hash_v);
        t->hash_v = nv;
        t->hash_cap = cap;
    }
    tsplit_hash_put(t->hash_v.p, t->hash_cap, id, i);
    t->nthreads = i + 1;
    t->last_id = id;
    return t->last_index = i;
}

/* The record of slot S in V (capacity *CAP records), grown as needed. */
static tsplit_slot_t *tsplit_rec(mapvec_t *v, uint32_t *cap, uint32_t s)
{
    if (s >= *cap) {
        if (s == UINT32_MAX || mapvec_reserve(v, ((size_t)s + 1) * sizeof(tsplit_slot_t)))
            return NULL;
        *cap = (uint32_t)(v->bytes / sizeof(tsplit_slot_t) < UINT32_MAX
                              ? v->bytes / sizeof(tsplit_slot_t)
                              : UINT32_MAX);
    }
    return (tsplit_slot_t *)v->p + s;
}

/* A touch of REC by thread I, whose stream is at DONE after it: the
 * dependency on the previous toucher when it is another thread. */
static void tsplit_touch(tsplit_slot_t *rec, uint32_t i, uint64_t done, tsplit_dep_t *dep)
{
    if (rec->last != i && rec->last != TSPLIT_NONE && dep->thread == TSPLIT_NONE) {
        dep->thread = rec->last;
        dep->done = rec->done;
    }
    rec->last = i;
    rec->done = done;
}

int tsplit_add(tsplit_t *t, const trace_event_t *ev, const uint32_t *owned, size_t nowned,
               uint32_t *thread, tsplit_dep_t *dep)
{
    *dep = (tsplit_dep_t){TSPLIT_NONE, 0};
    uint32_t i = tsplit_index(t, ev->thread);
    if (i == TSPLIT_NONE) return TRACE_ENOMEM;
    *thread = i;
    tsplit_thread_t *th = (tsplit_thread_t *)t->threads_v.p + i;
    uint64_t done = ++th->events;
    tsplit_slot_t *b = NULL, *a = NULL;
    int is_block = ev->op <= TRACE_FREE || ev->op == TRACE_ARENA_OWN;
    int is_arena = ev->op >= TRACE_ARENA_NEW;
    if ((is_block && !(b = tsplit_rec(&t->slots_v, &t->nslots, ev->slot))) ||
        (is_arena && !(a = tsplit_rec(&t->aslots_v, &t->naslots, ev->aslot))))
        return TRACE_ENOMEM;
    switch (ev->op) {
    case TRACE_ALLOC:
    case TRACE_CALLOC:
        *b = (tsplit_slot_t){i, i, done};
        break;
    case TRACE_REALLOC:
    case TRACE_FREE:
        if (b->owner != i) {
            if (ev->op == TRACE_FREE) {
                th->remote_frees++;
                t->remote_frees++;
            } else {
                th->remote_reallocs++;
                t->remote_reallocs++;
            }
        }
        tsplit_touch(b, i, done, dep);
        break;
    case TRACE_ARENA_NEW:
        *a = (tsplit_slot_t){i, i, done};
        break;
    case TRACE_ARENA_OWN:
        tsplit_touch(a, i, done, dep);
        tsplit_touch(b, i, done, dep);
        break;
    case TRACE_ARENA_FREE:
        tsplit_touch(a, i, done, dep);
        for (size_t k = 0; k < nowned; k++) {
            tsplit_slot_t *o = tsplit_rec(&t->slots_v, &t->nslots, owned[k]);
            if (!o) return TRACE_ENOMEM;
            o->last = i;
            o->done = done;
        }
        break;
    default: /* TRACE_ARENA_MALLOC */
        tsplit_touch(a, i, done, dep);
        break;
    }
    if (dep->thread != TSPLIT_NONE) {
        th->waits++;
        t->waits++;
    }
    return 0;
}
