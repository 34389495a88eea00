/* evgen.c: random allocation sequences and their replay (see evgen.h). */
#include "alloc/evgen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* xorshift64*: small, fast, good enough for workloads. */
static uint64_t evgen_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Uniform in [0, n) (n > 0); the bias of a 64-bit modulo is negligible. */
static uint64_t evgen_below(uint64_t *s, uint64_t n)
{
    return evgen_next(s) % n;
}

static uint64_t evgen_size(uint64_t *s, const evgen_params_t *p)
{
    if (evgen_below(s, 100) < p->small_pct) return 1 + evgen_below(s, 128);
    if (p->max_size <= p->min_size) return p->min_size;
    return p->min_size + evgen_below(s, (uint64_t)(p->max_size - p->min_size) + 1);
}

/* A new size for a realloc of a block of OLD bytes. */
static uint64_t evgen_resize(uint64_t *s, const evgen_params_t *p, uint64_t old)
{
    uint64_t t = p->threshold;
    switch (evgen_below(s, 4)) {
    case 0: /* across the threshold */
        return old <= t ? t + 1 + evgen_below(s, t) : 1 + evgen_below(s, t);
    case 1: /* a little smaller or larger: in place or next class */
        return old - old / 4 + evgen_below(s, old / 2 + 2);
    case 2:
        return evgen_below(s, 8) == 0 ? 0 : evgen_size(s, p);
    default:
        return 1 + evgen_below(s, (uint64_t)p->max_size);
    }
}

evgen_event_t *evgen_generate(const evgen_params_t *p, uint32_t *nslots)
{
    uint64_t s = p->seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
    if (!s) s = 1;
    evgen_event_t *ev = malloc((p->nevents ? p->nevents : 1) * sizeof *ev);
    uint32_t cap = p->max_live + 1;
    uint32_t *live = malloc(cap * sizeof *live); /* live slots      */
    uint8_t *dom = malloc(cap);                  /* slot -> domain  */
    uint64_t *size = malloc(cap * sizeof *size); /* slot -> bytes   */
    uint32_t *freeslots = malloc(cap * sizeof *freeslots);
    if (!ev || !live || !dom || !size || !freeslots) {
        free(ev);
        ev = NULL;
        goto out;
    }
    unsigned domains[EVGEN_NDOMAINS], nd = 0;
    for (unsigned d = 0; d < EVGEN_NDOMAINS; d++)
        if (p->domains & (1u << d)) domains[nd++] = d;
    if (!nd) domains[nd++] = EVGEN_MEM;
    uint32_t nlive = 0, nfree = 0, used = 0;
    int filling = 1;
    for (size_t i = 0; i < p->nevents; i++) {
        if (filling && nlive >= p->max_live) filling = 0;
        if (!filling && nlive <= p->min_live) filling = 1;
        uint64_t r = evgen_below(&s, 100);
        evgen_event_t *e = &ev[i];
        memset(e, 0, sizeof *e);
        int alloc = nlive == 0 || (nlive < p->max_live && r < (filling ? 75u : 8u));
        if (alloc) {
            uint32_t slot = nfree ? freeslots[--nfree] : used++;
            e->slot = slot;
            /* Raw blocks are the minority in CPython: 1 in 8 at most. */
            unsigned d = (unsigned)evgen_below(&s, nd * 8);
            if (nd > 1 && domains[0] == EVGEN_RAW)
                d = d < nd ? 0 : 1 + d % (nd - 1);
            else
                d %= nd;
            e->domain = (uint8_t)domains[d];
            e->size = evgen_size(&s, p);
            if (evgen_below(&s, 10) == 0) {
                e->op = EVGEN_CALLOC;
                e->nmemb = 1 + evgen_below(&s, 4);
                e->size = e->size / e->nmemb;
            } else {
                e->op = EVGEN_MALLOC;
            }
            dom[slot] = e->domain;
            size[slot] = e->size * (e->nmemb ? e->nmemb : 1);
            live[nlive++] = slot;
            continue;
        }
        uint32_t k = (uint32_t)evgen_below(&s, nlive);
        uint32_t slot = live[k];
        e->slot = slot;
        e->domain = dom[slot];
        if (evgen_below(&s, 100) < (filling ? 30u : 5u)) {
            e->op = EVGEN_REALLOC;
            e->size = evgen_resize(&s, p, size[slot]);
            size[slot] = e->size;
        } else {
            e->op = EVGEN_FREE;
            live[k] = live[--nlive];
            freeslots[nfree++] = slot;
        }
    }
    *nslots = used;
out:
    free(live);
    free(dom);
    free(size);
    free(freeslots);
    return ev;
}

int evgen_replay_init(evgen_replay_t *r, uint32_t nslots, int verify)
{
    size_t n = nslots ? nslots : 1;
    r->nslots = nslots;
    r->verify = verify;
    r->ptr = calloc(n, sizeof *r->ptr);
    r->size = calloc(n, sizeof *r->size);
    r->domain = calloc(n, 1);
    r->gen = calloc(n, 1);
    if (r->ptr && r->size && r->domain && r->gen) return 0;
    free(r->ptr);
    free(r->size);
    free(r->domain);
    free(r->gen);
    return -1;
}

static uint8_t evgen_pattern(uint32_t slot, uint8_t gen, uint64_t at)
{
    return (uint8_t)(slot * 131u + gen * 17u + (uint32_t)at * 7u + 1u);
}

static void evgen_fill(const evgen_replay_t *r, uint32_t slot, uint64_t from)
{
    uint8_t *p = r->ptr[slot];
    for (uint64_t i = from; i < r->size[slot]; i++)
        p[i] = evgen_pattern(slot, r->gen[slot], i);
}

/* 1 when the first N bytes of SLOT's block still hold its pattern. */
static int evgen_check(const evgen_replay_t *r, uint32_t slot, uint64_t n, size_t i)
{
    const uint8_t *p = r->ptr[slot];
    for (uint64_t k = 0; k < n; k++)
        if (p[k] != evgen_pattern(slot, r->gen[slot], k)) {
            fprintf(stderr, "evgen: event %zu: slot %u: byte %llu of %llu changed\n", i, slot,
                    (unsigned long long)k, (unsigned long long)n);
            return 0;
        }
    return 1;
}

size_t evgen_replay(evgen_replay_t *r, const evgen_event_t *ev, size_t from, size_t to,
                    const alloc_t *const by_domain[EVGEN_NDOMAINS])
{
    for (size_t i = from; i < to; i++) {
        const evgen_event_t *e = &ev[i];
        const alloc_t *a = by_domain[e->domain];
        uint32_t s = e->slot;
        switch (e->op) {
        case EVGEN_MALLOC:
        case EVGEN_CALLOC:
            if (e->op == EVGEN_MALLOC)
                r->ptr[s] = a->malloc(a->ctx, e->size);
            else
                r->ptr[s] = a->calloc(a->ctx, e->nmemb, e->size);
            if (!r->ptr[s]) return i;
            r->size[s] = e->size * (e->op == EVGEN_CALLOC ? e->nmemb : 1);
            r->domain[s] = e->domain;
            r->gen[s]++;
            if (r->verify) {
                if (e->op == EVGEN_CALLOC) {
                    const uint8_t *p = r->ptr[s];
                    for (uint64_t k = 0; k < r->size[s]; k++)
                        if (p[k]) {
                            fprintf(stderr, "evgen: event %zu: calloc byte %llu not zero\n", i,
                                    (unsigned long long)k);
                            return i;
                        }
                }
                evgen_fill(r, s, 0);
            }
            break;
        case EVGEN_REALLOC: {
            uint64_t keep = e->size < r->size[s] ? e->size : r->size[s];
            void *q = a->realloc(a->ctx, r->ptr[s], e->size);
            if (!q) return i;
            r->ptr[s] = q;
            if (r->verify) {
                if (!evgen_check(r, s, keep, i)) return i;
                r->size[s] = e->size;
                evgen_fill(r, s, keep);
            }
            r->size[s] = e->size;
            break;
        }
        case EVGEN_FREE:
            if (r->verify && !evgen_check(r, s, r->size[s], i)) return i;
            a->free(a->ctx, r->ptr[s]);
            r->ptr[s] = NULL;
            break;
        }
    }
    return to;
}

void evgen_replay_fini(evgen_replay_t *r, const alloc_t *const by_domain[EVGEN_NDOMAINS])
{
    for (uint32_t s = 0; s < r->nslots; s++)
        if (r->ptr[s]) {
            const alloc_t *a = by_domain[r->domain[s]];
            a->free(a->ctx, r->ptr[s]);
        }
    free(r->ptr);
    free(r->size);
    free(r->domain);
    free(r->gen);
}

static void *evgen_libc_malloc(void *ctx, size_t n)
{
    return malloc(n ? n : 1);
}

static void *evgen_libc_calloc(void *ctx, size_t nelem, size_t elsize)
{
    if (!nelem || !elsize) nelem = elsize = 1;
    return calloc(nelem, elsize);
}

static void *evgen_libc_realloc(void *ctx, void *p, size_t n)
{
    return realloc(p, n ? n : 1);
}

static void evgen_libc_free(void *ctx, void *p)
{
    free(p);
}

const alloc_t evgen_libc = {NULL, evgen_libc_malloc, evgen_libc_calloc, evgen_libc_realloc,
                            evgen_libc_free};
