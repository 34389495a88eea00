/* replay.c: the replay engine — pre-pass, measurement and timed runs (see
 * replay.h for the design).
 *
 * Tables, all in mappings outside malloc and sized by the pre-pass:
 *   blocks[slot]   a live block in 16 bytes: pointer (NULL when the slot
 *                  is free), requested size and domain in one word (sizes
 *                  below 2^56; the format's are below 2^48) -- the table a
 *                  free misses in, as small as a bare replay's
 *   bverify[slot]  its id and --verify seed, written by --verify only
 *   acct[aslot]    bytes and count of a live arena's `m` allocations
 *   evs[]          one decoded chunk, 16 bytes an event (calloc's count
 *                  too, below 2^16): what the default timed loop
 *                  (replay_fast) reads, so that its memory traffic is that
 *                  of a bare replay's pre-decoded arrays
 *   evx[]          the same events' rarely needed rest (id, `o`'s block
 *                  slot, calloc's count, `x`'s owned list, where in the
 *                  trace), streamed past the cache: read by the general
 *                  path, by messages and by a calloc of 2^16 or more
 *                  elements only
 *   owned[]        the chunk's owned-block lists, copied from the reader
 *
 * Invariant (replay_is_valid, checked after every run):
 * live_bytes == sum of live blocks' sizes + sum of live arenas' bytes,
 * and likewise for live_blocks.
 */
#include "sim/replay/replay.h"
#include "sim/base/mapvec.h"
#include "sim/replay/callgrind.h"
#include "sim/replay/internal/arenas_perobj.h"
#include "sim/replay/internal/replay_payload.h"
#include "sim/replay/threads.h"
#include "sim/replay/timing.h"

#include <fcntl.h>
#include <math.h>
#if defined(__x86_64__) && defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Defined by a preloaded test library that counts what reaches malloc
 * between them (replay.h, the clean room); absent otherwise. */
extern void arenalab_measure_begin(void) __attribute__((weak));
extern void arenalab_measure_end(void) __attribute__((weak));

_Static_assert(ROUTE_NAME_MAX == METRICS_NAME_MAX, "extra names fit the series");
_Static_assert(TRACE_NDOMAINS *ALLOC_MAX_EXTRA == METRICS_MAX_EXTRA, "one table of extras");

typedef struct {
    void *ptr;     /* NULL when the slot is free                           */
    uint64_t meta; /* requested bytes | domain << REPLAY_DOMAIN_SHIFT      */
} replay_block_t;

_Static_assert(sizeof(replay_block_t) == 16, "four blocks a cache line");

#define REPLAY_DOMAIN_SHIFT 56
#define REPLAY_SIZE_MAX     (((uint64_t)1 << REPLAY_DOMAIN_SHIFT) - 1)

static inline uint64_t replay_bsize(const replay_block_t *b)
{
    return b->meta & REPLAY_SIZE_MAX;
}
static inline int replay_bdomain(const replay_block_t *b)
{
    return (int)(b->meta >> REPLAY_DOMAIN_SHIFT);
}
static inline uint64_t replay_bmeta(uint64_t size, int domain)
{
    return size | (uint64_t)domain << REPLAY_DOMAIN_SHIFT;
}

typedef struct {
    uint32_t id;   /* as written in the trace (messages)                    */
    uint32_t seed; /* --verify pattern                                      */
} replay_bverify_t;

typedef struct {
    uint64_t bytes; /* requested bytes of the arena's `m` allocations      */
    uint64_t count;
} replay_acct_t;

typedef struct {
    uint8_t op;
    uint8_t domain;
    uint16_t nmemb; /* c: element count below 2^16, else 0 (evx's aux)   */
    uint32_t ref;   /* a c r f: block slot; n m o x: arena slot           */
    uint64_t size;  /* a r m: bytes; c: element size; x: owned count      */
} replay_ev_t;

_Static_assert(sizeof(replay_ev_t) == 16, "four events a cache line");

typedef struct {
    uint32_t id;    /* as written in the trace                             */
    uint32_t slot;  /* o: the block slot (ref is the arena's)              */
    uint64_t aux;   /* c: element count; x: offset into owned[]            */
    uint64_t where; /* the reader's line (text) or event index (binary)    */
} replay_evx_t;

typedef struct {
    trace_reader_t *reader;
    const replay_opts_t *o;
    route_heaps_t heaps;
    const arenas_mode_t *am;
    void *ast; /* the arena mode's state                                  */
    mapvec_t blocks_v, bverify_v, acct_v, evs_v, evx_v, owned_v;
    uint32_t nslots, naslots; /* table capacities in entries                */
    size_t chunk;             /* events per chunk: evs[] and evx[] capacity */
    size_t nowned;            /* entries of owned[] used by this chunk      */
    uint64_t live_bytes, live_blocks;
    uint64_t peak_live_bytes, peak_live_blocks;
    uint64_t index;           /* events applied so far                         */
    uint64_t skipped;         /* reader errors skipped                         */
    uint64_t caught;          /* faults of the debug layer, each explained     */
    const replay_ev_t *cur;   /* the event being applied (callbacks)           */
    int failed;               /* a callback failed; message in err             */
    replay_touch_t touch;     /* o->touch                                      */
    uintptr_t page;           /* the page size, for REPLAY_TOUCH_PAGE          */
    lat_table_t *lat;         /* REPLAY_PROBE_LATENCY: o->lat, o->clock and    */
    const lat_clock_t *clock; /* the clock's overhead in ticks                */
    uint64_t overhead;
    uint64_t gap;       /* LATENCY: events until the next one timed       */
    uint64_t gap_state; /* its generator (timing_rng)                     */
    uint64_t probes;    /* REPLAY_PROBE_COUNT: on/off pairs made          */
    uint64_t cpu_ns;    /* timed run: CPU time of the event loops         */
    char *err;
    size_t errlen;
} replay_ctx_t;

static replay_block_t *replay_blocks(replay_ctx_t *c)
{
    return c->blocks_v.p;
}
/* The --verify side of block B. */
static replay_bverify_t *replay_bverify(replay_ctx_t *c, const replay_block_t *b)
{
    return (replay_bverify_t *)c->bverify_v.p + (b - (const replay_block_t *)c->blocks_v.p);
}
static replay_acct_t *replay_acct(replay_ctx_t *c)
{
    return c->acct_v.p;
}
static replay_ev_t *replay_evs(replay_ctx_t *c)
{
    return c->evs_v.p;
}
static uint32_t *replay_owned(replay_ctx_t *c)
{
    return c->owned_v.p;
}
/* The rest of event E of the current chunk. */
static const replay_evx_t *replay_evx(const replay_ctx_t *c, const replay_ev_t *e)
{
    return (const replay_evx_t *)c->evx_v.p + (e - (const replay_ev_t *)c->evs_v.p);
}

/* ---- messages ----------------------------------------------------------- */

/* "FILE:LINE: event N: " (text: N counts the events replayed before) or
 * "FILE: event N: " (binary: N is the reader's event index, as in its own
 * messages). */
static int replay_where(const replay_ctx_t *c, const replay_ev_t *e, char *buf, size_t len)
{
    const char *path = trace_path(c->reader);
    uint64_t where = replay_evx(c, e)->where;
    if (trace_format(c->reader) == TRACE_FMT_TEXT)
        return snprintf(buf, len, "%s:%llu: event %llu: ", path, (unsigned long long)where,
                        (unsigned long long)c->index);
    return snprintf(buf, len, "%s: event %llu: ", path, (unsigned long long)where);
}

static int replay_fail(replay_ctx_t *c, const replay_ev_t *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Formats the message of the failing event E; returns REPLAY_EFAIL. */
static int replay_fail(replay_ctx_t *c, const replay_ev_t *e, const char *fmt, ...)
{
    if (c->failed) return REPLAY_EFAIL; /* keep the first message */
    c->failed = 1;
    int n = replay_where(c, e, c->err, c->errlen);
    if (n < 0 || (size_t)n >= c->errlen) return REPLAY_EFAIL;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    if (m >= 0 && (size_t)(n + m) < c->errlen && c->o->label)
        snprintf(c->err + n + m, c->errlen - (size_t)(n + m), " (allocator %s)", c->o->label);
    return REPLAY_EFAIL;
}

/* ---- --verify patterns -------------------------------------------------- */

/* replay_seed, replay_fill, replay_check...: internal/replay_payload.h */

/* Checks a block's whole content before WHAT; returns 0 or REPLAY_EFAIL. */
static int replay_verify_block(replay_ctx_t *c, const replay_ev_t *e, const replay_block_t *b,
                               const char *what)
{
    const replay_bverify_t *v = replay_bverify(c, b);
    uint64_t size = replay_bsize(b), bad = replay_check(b->ptr, size, v->seed);
    if (bad == size) return 0;
    return replay_fail(c, e, "verify: block %u (%llu bytes) corrupted at offset %llu before %s",
                       v->id, (unsigned long long)size, (unsigned long long)bad, what);
}

/* ---- tables ------------------------------------------------------------- */

static int replay_reserve_slots(replay_ctx_t *c, uint32_t need)
{
    if (need <= c->nslots) return 0;
    if (mapvec_reserve(&c->blocks_v, (size_t)need * sizeof(replay_block_t)) ||
        mapvec_reserve(&c->bverify_v, (size_t)need * sizeof(replay_bverify_t)))
        return -1;
    size_t nb = c->blocks_v.bytes / sizeof(replay_block_t);
    size_t nv = c->bverify_v.bytes / sizeof(replay_bverify_t);
    c->nslots = (uint32_t)(nb < nv ? nb : nv);
    return 0;
}

static int replay_reserve_aslots(replay_ctx_t *c, uint32_t need)
{
    if (need <= c->naslots) return 0;
    if (mapvec_reserve(&c->acct_v, (size_t)need * sizeof(replay_acct_t))) return -1;
    c->naslots = (uint32_t)(c->acct_v.bytes / sizeof(replay_acct_t));
    return 0;
}

static void replay_unmap(replay_ctx_t *c)
{
    mapvec_free(&c->blocks_v);
    mapvec_free(&c->bverify_v);
    mapvec_free(&c->acct_v);
    mapvec_free(&c->evs_v);
    mapvec_free(&c->evx_v);
    mapvec_free(&c->owned_v);
}

/* ---- decoding ----------------------------------------------------------- */

/* A reader result below 0: skipped (counted) under --lenient when the
 * reader can go on, else the reader's message.  Returns 0 to go on. */
static int replay_reader_error(trace_reader_t *r, int rc, int lenient, uint64_t *skipped, char *err,
                               size_t errlen)
{
    if (lenient && (rc == TRACE_ESYNTAX || rc == TRACE_ESEM)) {
        ++*skipped;
        return 0;
    }
    snprintf(err, errlen, "%s", trace_error(r));
    /* the exit status every command gives: a trace that is read but wrong
     * (a semantic error) is 1; one that cannot be read as a trace (syntax,
     * corrupt binary) is 2, as check, stats and convert say */
    return rc == TRACE_ESEM ? REPLAY_EFAIL : REPLAY_EUSAGE;
}

/* Stack faulted in before a measurement's baseline (replay_warm). */
#define REPLAY_WARM_STACK (256 * 1024)

/* Events per trace_next_batch call: the reader decodes a batch in one
 * tight loop (a binary trace several times faster than event by event). */
#define REPLAY_BATCH 256

/* Stores the rest of an event without taking the cache from what the
 * timed loop will use (the heap under test, the events): the general path
 * and messages read it rarely.  Non-temporal stores where the machine has
 * them. */
static inline void replay_evx_store(replay_evx_t *dst, const replay_evx_t *src)
{
#if defined(__x86_64__) && defined(__SSE2__)
    long long w[sizeof *src / sizeof(long long)];
    memcpy(w, src, sizeof w);
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        _mm_stream_si64((long long *)dst + i, w[i]);
#else
    *dst = *src;
#endif
}

/* Decodes up to c->chunk events into evs[]; *N gets the count (0 at
 * the end).  Tables grow here, never in the event loop, if the reader
 * exceeds the pre-pass's sizes.  Returns 0 or REPLAY_EFAIL. */
static int replay_decode(replay_ctx_t *c, size_t *n)
{
    replay_ev_t *evs = replay_evs(c);
    replay_evx_t *evx = c->evx_v.p;
    trace_event_t batch[REPLAY_BATCH];
    c->nowned = 0;
    *n = 0;
    while (*n < c->chunk) {
        size_t room = c->chunk - *n < REPLAY_BATCH ? c->chunk - *n : REPLAY_BATCH;
        int rc = trace_next_batch(c->reader, batch, room);
        if (rc == 0) break;
        if (rc < 0) {
            if (replay_reader_error(c->reader, rc, c->o->lenient, &c->skipped, c->err, c->errlen))
                return REPLAY_EFAIL;
            continue;
        }
        for (int i = 0; i < rc; i++) {
            const trace_event_t *ev = &batch[i];
            replay_ev_t *e = &evs[*n];
            int is_block = ev->op <= TRACE_FREE || ev->op == TRACE_ARENA_OWN;
            int is_arena = ev->op >= TRACE_ARENA_NEW;
            /* calloc's count in the event itself: evx[] is streamed past the
             * cache, and reading it back in the timed loop cost a miss to
             * memory per calloc (11 % of rec-perl-hash-churn's events) */
            uint16_t nmemb = ev->op == TRACE_CALLOC && ev->nmemb <= UINT16_MAX ? ev->nmemb : 0;
            *e =
                (replay_ev_t){ev->op, ev->domain, nmemb, is_arena ? ev->aslot : ev->slot, ev->size};
            replay_evx_t x = {ev->id, ev->slot, ev->nmemb, ev->where};
            if (ev->op == TRACE_ARENA_FREE)
                evx[*n] = x; /* aux is written again below */
            else
                replay_evx_store(&evx[*n], &x);
            if (ev->domain >= TRACE_NDOMAINS || ev->op >= TRACE_NOPS)
                return replay_fail(c, e, "bad event from the reader (op %u, domain %u)", ev->op,
                                   ev->domain);
            /* the format's sizes stop at 2^48; a block's must fit its word */
            if ((ev->op == TRACE_ALLOC || ev->op == TRACE_REALLOC) && ev->size > REPLAY_SIZE_MAX)
                return replay_fail(c, e, "bad event from the reader (size %llu)",
                                   (unsigned long long)ev->size);
            if ((is_block && ev->slot == UINT32_MAX) || (is_arena && ev->aslot == UINT32_MAX) ||
                (is_block && replay_reserve_slots(c, ev->slot + 1)) ||
                (is_arena && replay_reserve_aslots(c, ev->aslot + 1)))
                return replay_fail(c, e, "out of memory for the slot tables");
            if (ev->op == TRACE_ARENA_FREE) {
                /* the last event of its batch: trace_owned answers for it */
                const uint32_t *slots;
                size_t k = trace_owned(c->reader, ev->aslot, &slots);
                if (mapvec_reserve(&c->owned_v, (c->nowned + k) * sizeof(uint32_t)))
                    return replay_fail(c, e, "out of memory for owned blocks");
                if (k) memcpy(replay_owned(c) + c->nowned, slots, k * sizeof(uint32_t));
                evx[*n].aux = c->nowned;
                e->size = k;
                c->nowned += k;
            }
            ++*n;
        }
    }
#if defined(__x86_64__) && defined(__SSE2__)
    _mm_sfence(); /* the streamed stores are visible before anything reads them */
#endif
    return 0;
}

/* ---- applying events ---------------------------------------------------- */

const char *const replay_touch_name[REPLAY_NTOUCH] = {"none", "page", "all"};

int replay_touch_find(const char *name)
{
    for (int i = 0; i < REPLAY_NTOUCH; i++)
        if (!strcmp(name, replay_touch_name[i])) return i;
    return -1;
}

/* Uses bytes [FROM, TO) of the block at P as the touch mode says: zeros
 * written, so calloc'ed memory stays zero and --verify's patterns come
 * after (replay_payload.h, shared with the threaded path). */
static inline void replay_touch_as(replay_touch_t touch, uintptr_t page, void *p, uint64_t from,
                                   uint64_t to)
{
    replay_touch_bytes(touch, page, p, from, to);
}

static inline void replay_touch(const replay_ctx_t *c, void *p, uint64_t from, uint64_t to)
{
    replay_touch_as(c->touch, c->page, p, from, to);
}

/* ---- probes (replay.h): inline in the loop of their mode only -------------- */

#define REPLAY_INLINE static inline __attribute__((always_inline))

/* Keeps the timed loop's live counts in general registers where they are
 * stored: left alone, GCC pairs the two (stored side by side) in a vector
 * register and moves its halves through the stack around every call. */
#define REPLAY_IN_REGISTERS(x, y) __asm__("" : "+r"(x), "+r"(y))

/* Before the allocator call: the clock's reading, or collection on. */
REPLAY_INLINE uint64_t replay_probe_on(const replay_ctx_t *c, const replay_probe_t mode)
{
    if (mode == REPLAY_PROBE_LATENCY) return lat_now(c->clock);
    if (mode == REPLAY_PROBE_COUNT) cg_on();
    return 0;
}

/* Right after the call: its duration into OP's histogram. */
REPLAY_INLINE void replay_probe_called(replay_ctx_t *c, const replay_probe_t mode, int op,
                                       uint64_t t0)
{
    if (mode != REPLAY_PROBE_LATENCY) return;
    uint64_t d = lat_now(c->clock) - t0;
    lat_record(&c->lat->op[op], d > c->overhead ? d - c->overhead : 0);
}

/* After the event's payload touches: collection off. */
REPLAY_INLINE void replay_probe_off(replay_ctx_t *c, const replay_probe_t mode)
{
    if (mode != REPLAY_PROBE_COUNT) return;
    cg_off();
    c->probes++;
}

/* Frees block SLOT through its domain: a `f`, or an owned block at `x`
 * (MODE NONE: inside the `x`'s own probe). */
REPLAY_INLINE int replay_free_block(replay_ctx_t *c, const replay_ev_t *e, uint32_t slot,
                                    const replay_probe_t mode)
{
    replay_block_t *b = &replay_blocks(c)[slot];
    if (!b->ptr) return 0; /* the reader keeps owned lists live; be safe */
    int rc = 0;
    if (c->o->verify) rc = replay_verify_block(c, e, b, "free");
    alloc_t *a = &c->heaps.a[replay_bdomain(b)];
    uint64_t t0 = replay_probe_on(c, mode);
    a->free(a->ctx, b->ptr);
    replay_probe_called(c, mode, TRACE_FREE, t0);
    replay_probe_off(c, mode);
    b->ptr = NULL;
    c->live_bytes -= replay_bsize(b);
    c->live_blocks--;
    return rc;
}

/* arenas_release_fn: an owned block at `x`. */
static void replay_release(void *ud, uint32_t slot)
{
    replay_ctx_t *c = ud;
    if (slot < c->nslots) replay_free_block(c, c->cur, slot, REPLAY_PROBE_NONE);
}

typedef struct {
    replay_ctx_t *c;
    const replay_ev_t *e;
} replay_each_ud_t;

/* arenas_each_fn: checks one arena allocation before `x`. */
static void replay_check_arena_block(void *ud, void *ptr, uint64_t size)
{
    replay_each_ud_t *u = ud;
    uint32_t seed = replay_seed((uint32_t)(uintptr_t)ptr, size);
    uint64_t bad = replay_check(ptr, size, seed);
    if (bad != size)
        replay_fail(u->c, u->e, "verify: arena %u allocation (%llu bytes) corrupted at offset %llu",
                    u->e->ref, (unsigned long long)size, (unsigned long long)bad);
}

/* A COUNT run touches right after the call, so that nothing of the
 * harness's lies between the call and collection off; --verify (which
 * checks calloc's zeros before the touch) is off in such a run. */
REPLAY_INLINE int replay_apply_alloc(replay_ctx_t *c, const replay_ev_t *e,
                                     const replay_probe_t mode)
{
    alloc_t *a = &c->heaps.a[e->domain];
    const replay_evx_t *x = replay_evx(c, e);
    uint64_t size = e->size, t0;
    void *p;
    if (e->op == TRACE_CALLOC) {
        if (__builtin_mul_overflow(x->aux, e->size, &size) || size > SIZE_MAX ||
            size > REPLAY_SIZE_MAX)
            return replay_fail(c, e, "calloc(%llu, %llu): size overflows",
                               (unsigned long long)x->aux, (unsigned long long)e->size);
        t0 = replay_probe_on(c, mode);
        p = a->calloc(a->ctx, (size_t)x->aux, (size_t)e->size);
    } else {
        if (size > SIZE_MAX || size > REPLAY_SIZE_MAX)
            return replay_fail(c, e, "malloc(%llu): too large", (unsigned long long)size);
        t0 = replay_probe_on(c, mode);
        p = a->malloc(a->ctx, (size_t)size);
    }
    replay_probe_called(c, mode, e->op, t0);
    if (!p)
        return replay_fail(c, e, "allocation of %llu bytes returned NULL",
                           (unsigned long long)size);
    if (mode == REPLAY_PROBE_COUNT) {
        replay_touch(c, p, 0, size);
        replay_probe_off(c, mode);
    }
    replay_block_t *b = &replay_blocks(c)[e->ref];
    *b = (replay_block_t){p, replay_bmeta(size, e->domain)};
    if (c->o->verify && e->op == TRACE_CALLOC) {
        uint64_t bad = replay_check_zero(p, size);
        if (bad != size)
            return replay_fail(c, e, "verify: calloc'ed block %u reads %#x at offset %llu, not 0",
                               x->id, ((uint8_t *)p)[bad], (unsigned long long)bad);
    }
    if (mode != REPLAY_PROBE_COUNT) replay_touch(c, p, 0, size);
    if (c->o->verify) {
        replay_bverify_t *v = replay_bverify(c, b);
        *v = (replay_bverify_t){x->id, replay_seed(x->id, c->index)};
        replay_fill(p, 0, size, v->seed);
    }
    c->live_bytes += size;
    c->live_blocks++;
    return 0;
}

REPLAY_INLINE int replay_apply_realloc(replay_ctx_t *c, const replay_ev_t *e,
                                       const replay_probe_t mode)
{
    replay_block_t *b = &replay_blocks(c)[e->ref];
    alloc_t *a = &c->heaps.a[replay_bdomain(b)];
    uint64_t old = replay_bsize(b);
    if (e->size > SIZE_MAX || e->size > REPLAY_SIZE_MAX)
        return replay_fail(c, e, "realloc to %llu bytes: too large", (unsigned long long)e->size);
    if (c->o->verify && replay_verify_block(c, e, b, "realloc")) return REPLAY_EFAIL;
    uint64_t t0 = replay_probe_on(c, mode);
    void *p = a->realloc(a->ctx, b->ptr, (size_t)e->size);
    replay_probe_called(c, mode, TRACE_REALLOC, t0);
    if (!p)
        return replay_fail(c, e, "realloc to %llu bytes returned NULL",
                           (unsigned long long)e->size);
    if (mode == REPLAY_PROBE_COUNT) {
        replay_touch(c, p, old, e->size);
        replay_probe_off(c, mode);
    }
    b->ptr = p;
    b->meta = replay_bmeta(e->size, replay_bdomain(b));
    c->live_bytes = c->live_bytes - old + e->size;
    if (mode != REPLAY_PROBE_COUNT) replay_touch(c, p, old, e->size);
    if (c->o->verify) {
        uint64_t keep = old < e->size ? old : e->size;
        const replay_bverify_t *v = replay_bverify(c, b);
        uint64_t bad = replay_check(p, keep, v->seed);
        if (bad != keep)
            return replay_fail(
                c, e, "verify: realloc of block %u from %llu to %llu bytes lost byte %llu", v->id,
                (unsigned long long)old, (unsigned long long)e->size, (unsigned long long)bad);
        replay_fill(p, old, e->size, v->seed);
    }
    return 0;
}

REPLAY_INLINE int replay_apply_arena(replay_ctx_t *c, const replay_ev_t *e,
                                     const replay_probe_t mode)
{
    replay_acct_t *acct = &replay_acct(c)[e->ref];
    uint64_t t0;
    int rc;
    switch (e->op) {
    case TRACE_ARENA_NEW:
        *acct = (replay_acct_t){0, 0};
        t0 = replay_probe_on(c, mode);
        rc = c->am->new_arena(c->ast, e->ref);
        replay_probe_called(c, mode, TRACE_ARENA_NEW, t0);
        replay_probe_off(c, mode);
        if (rc) return replay_fail(c, e, "arena %u: creation failed", e->ref);
        return 0;
    case TRACE_ARENA_MALLOC: {
        t0 = replay_probe_on(c, mode);
        void *p = c->am->malloc(c->ast, e->ref, e->size);
        replay_probe_called(c, mode, TRACE_ARENA_MALLOC, t0);
        if (!p)
            return replay_fail(c, e, "arena allocation of %llu bytes returned NULL",
                               (unsigned long long)e->size);
        replay_touch(c, p, 0, e->size);
        replay_probe_off(c, mode);
        if (c->o->verify) replay_fill(p, 0, e->size, replay_seed((uint32_t)(uintptr_t)p, e->size));
        acct->bytes += e->size;
        acct->count++;
        c->live_bytes += e->size;
        c->live_blocks++;
        return 0;
    }
    case TRACE_ARENA_OWN:
        if (!c->am->own) return 0;
        t0 = replay_probe_on(c, mode);
        rc = c->am->own(c->ast, e->ref, replay_evx(c, e)->slot);
        replay_probe_called(c, mode, TRACE_ARENA_OWN, t0);
        replay_probe_off(c, mode);
        if (rc)
            return replay_fail(c, e, "arena %u: taking over block %u failed", e->ref,
                               replay_evx(c, e)->id);
        return 0;
    default: /* TRACE_ARENA_FREE */
        if (c->o->verify && c->am->each) {
            replay_each_ud_t u = {c, e};
            c->am->each(c->ast, e->ref, replay_check_arena_block, &u);
        }
        c->cur = e;
        t0 = replay_probe_on(c, mode);
        c->am->free_arena(c->ast, e->ref, replay_owned(c) + replay_evx(c, e)->aux, (size_t)e->size);
        replay_probe_called(c, mode, TRACE_ARENA_FREE, t0);
        replay_probe_off(c, mode);
        c->live_bytes -= acct->bytes;
        c->live_blocks -= acct->count;
        *acct = (replay_acct_t){0, 0};
        return c->failed ? REPLAY_EFAIL : 0;
    }
}

/* Caught API violations described under keep_going, per run. */
#define REPLAY_MAX_WARN 10

/* An `r` or `f` of E through another domain than its block's (replay.h):
 * the call through E's domain, whose debug layer must catch it.  Returns
 * 0 to go on with the event through the block's own domain (keep_going),
 * or REPLAY_EFAIL with what the layer reported. */
__attribute__((noinline)) static int replay_cross_domain(replay_ctx_t *c, const replay_ev_t *e)
{
    replay_block_t *b = &replay_blocks(c)[e->ref];
    if (!b->ptr) return 0;
    char what[160];
    snprintf(what, sizeof what, "%c of id %u in domain %s, allocated in domain %s",
             trace_op_letter[e->op], replay_evx(c, e)->id, trace_domain_name[e->domain],
             trace_domain_name[replay_bdomain(b)]);
    if (!route_debugged(&c->heaps, e->domain) || !route_debugged(&c->heaps, replay_bdomain(b)))
        return replay_fail(c, e, "API violation: %s (replayed only with the debug hooks on both)",
                           what);
    uint64_t before = c->heaps.nfaults;
    alloc_t *a = &c->heaps.a[e->domain];
    if (e->op == TRACE_FREE)
        a->free(a->ctx, b->ptr);
    else if (a->realloc(a->ctx, b->ptr, (size_t)e->size) != NULL)
        return replay_fail(c, e, "%s: the debug hooks let it through (a bug)", what);
    if (c->heaps.nfaults == before)
        return replay_fail(c, e, "%s: the debug hooks did not catch it (a bug)", what);
    char msg[256];
    dbg_message(&c->heaps.fault, msg, sizeof msg);
    if (!c->o->keep_going) return replay_fail(c, e, "debug hooks: %s (%s)", msg, what);
    if (++c->caught <= REPLAY_MAX_WARN && c->o->warn) {
        char where[256];
        replay_where(c, e, where, sizeof where);
        fprintf(c->o->warn, "arenalab: warning: %sdebug hooks: %s (%s) (allocator %s)%s\n", where,
                msg, what, c->o->label ? c->o->label : "?",
                c->caught == REPLAY_MAX_WARN ? "; no more are shown" : "");
    }
    return 0;
}

/* Without probes each kind of event is a call out of the loop, as it was
 * before probes existed: the default path's code, and cost, are what they
 * were (the probed loops have everything inline). */
static __attribute__((noinline)) int replay_apply_alloc_plain(replay_ctx_t *c, const replay_ev_t *e)
{
    return replay_apply_alloc(c, e, REPLAY_PROBE_NONE);
}
static __attribute__((noinline)) int replay_apply_realloc_plain(replay_ctx_t *c,
                                                                const replay_ev_t *e)
{
    return replay_apply_realloc(c, e, REPLAY_PROBE_NONE);
}
static __attribute__((noinline)) int replay_free_block_plain(replay_ctx_t *c, const replay_ev_t *e,
                                                             uint32_t slot)
{
    return replay_free_block(c, e, slot, REPLAY_PROBE_NONE);
}
static __attribute__((noinline)) int replay_apply_arena_plain(replay_ctx_t *c, const replay_ev_t *e)
{
    return replay_apply_arena(c, e, REPLAY_PROBE_NONE);
}

/* Applies one event; the hot path of every run. */
REPLAY_INLINE int replay_apply(replay_ctx_t *c, const replay_ev_t *e, const replay_probe_t mode)
{
    const int plain = mode == REPLAY_PROBE_NONE;
    switch (e->op) {
    case TRACE_ALLOC:
    case TRACE_CALLOC:
        return plain ? replay_apply_alloc_plain(c, e) : replay_apply_alloc(c, e, mode);
    case TRACE_REALLOC:
        if (replay_bdomain(&replay_blocks(c)[e->ref]) != e->domain && replay_cross_domain(c, e))
            return REPLAY_EFAIL;
        return plain ? replay_apply_realloc_plain(c, e) : replay_apply_realloc(c, e, mode);
    case TRACE_FREE:
        c->cur = e;
        if (replay_bdomain(&replay_blocks(c)[e->ref]) != e->domain && replay_cross_domain(c, e))
            return REPLAY_EFAIL;
        return plain ? replay_free_block_plain(c, e, e->ref)
                     : replay_free_block(c, e, e->ref, mode);
    default:
        return plain ? replay_apply_arena_plain(c, e) : replay_apply_arena(c, e, mode);
    }
}

/* Frees whatever the trace left live (blocks, then arenas), so that
 * destroy() of a class that cannot free wholesale (raw) leaks nothing. */
static void replay_free_leftovers(replay_ctx_t *c)
{
    replay_block_t *blocks = replay_blocks(c);
    for (uint32_t s = 0; s < c->nslots; s++)
        if (blocks[s].ptr) {
            alloc_t *a = &c->heaps.a[replay_bdomain(&blocks[s])];
            a->free(a->ctx, blocks[s].ptr);
            blocks[s].ptr = NULL;
        }
    if (c->ast) c->am->destroy(c->ast);
    c->ast = NULL;
}

/* The invariant of the tables (see the top of the file). */
static int replay_is_valid(replay_ctx_t *c)
{
    uint64_t bytes = 0, count = 0;
    for (uint32_t s = 0; s < c->nslots; s++)
        if (replay_blocks(c)[s].ptr) {
            bytes += replay_bsize(&replay_blocks(c)[s]);
            count++;
        }
    for (uint32_t a = 0; a < c->naslots; a++) {
        bytes += replay_acct(c)[a].bytes;
        count += replay_acct(c)[a].count;
    }
    return bytes == c->live_bytes && count == c->live_blocks;
}

/* ---- measurement -------------------------------------------------------- */

static uint64_t replay_now_ns(void);

typedef struct {
    metrics_series_t *ser;
    metrics_plan_t plan;
    uint64_t next;     /* position of the next sample                       */
    int per_event;     /* stats() cheap: track the held figure every event  */
    int statm;         /* /proc/self/statm, or -1                           */
    uint64_t rss_base; /* anon RSS at the baseline (after create)           */
    uint64_t peak_resident;
    uint64_t peak_held; /* the allocator's own figure, highest seen          */
    metrics_acc_t acc;  /* fed with (live, resident) at every sample         */
    double internal_frag;
    char names[METRICS_MAX_EXTRA][ROUTE_NAME_MAX];
    uint64_t values[METRICS_MAX_EXTRA];
} replay_meter_t;

/* Resident memory above the baseline now: max(0, anon RSS - baseline). */
static uint64_t replay_resident(const replay_meter_t *m)
{
    uint64_t rss = 0;
    if (m->statm < 0 || metrics_anon_rss(m->statm, &rss) != 0) return 0;
    return rss > m->rss_base ? rss - m->rss_base : 0;
}

/* One sample: live bytes, resident memory (the common figure: util and
 * J&W come from it) and the allocator's own held figure, as they are:
 * nothing is raised or clamped, a figure that looks impossible is a bug to
 * find, not to hide. */
static void replay_sample(replay_ctx_t *c, replay_meter_t *m)
{
    uint64_t held, exact_peak;
    int n = route_stats(&c->heaps, &held, &exact_peak, m->names, m->values);
    uint64_t resident = replay_resident(m);
    if (resident > m->peak_resident) m->peak_resident = resident;
    if (held > m->peak_held) m->peak_held = held;
    if (exact_peak > m->peak_held) m->peak_held = exact_peak;
    metrics_sample_t s = {c->index, c->live_bytes, c->live_blocks, resident, held};
    long i = metrics_series_add(m->ser, &s);
    metrics_acc_sample(&m->acc, c->live_bytes, resident);
    for (int k = 0; k < n && i >= 0; k++) {
        int j = metrics_series_extra(m->ser, m->names[k]);
        if (j >= 0) m->ser->extra[(size_t)i * METRICS_MAX_EXTRA + (size_t)j] = m->values[k];
    }
}

/* Before the baseline, everything a sample does once, and the stack a
 * run can reach: the first call of a path writes static data (libc's, the
 * allocator's statistics) and the first deep call faults stack pages; done
 * after the baseline, each would count a page or two of the harness as the
 * allocator's resident memory, and make small traces' figures wobble. */
#if defined(__SANITIZE_ADDRESS__)
#define REPLAY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REPLAY_ASAN 1
#endif
#endif

#ifdef REPLAY_ASAN
void __asan_get_shadow_mapping(size_t *scale, size_t *offset); /* sanitizer/asan_interface.h */

/* Under AddressSanitizer every stack frame with an array writes its
 * redzones into the shadow (a byte per 8 bytes of stack) on entry: a frame
 * of the measured part reaching a shadow page no frame reached before the
 * baseline makes it resident there, one page more or not depending on
 * where the stack happens to start -- the page that made sanitized runs'
 * peak_resident_bytes differ.  So every shadow page of the warmed stack is
 * made resident now, each rewritten with its own byte (no shadow changes;
 * not instrumented, as the shadow itself may not be). */
__attribute__((no_sanitize_address, noinline)) static void replay_warm_shadow(const void *lo,
                                                                              size_t len)
{
    size_t scale, offset;
    __asan_get_shadow_mapping(&scale, &offset);
    const uintptr_t from = ((uintptr_t)lo >> scale) + offset;
    const uintptr_t to = (((uintptr_t)lo + len - 1) >> scale) + offset;
    for (uintptr_t p = from;; p += 4096) {
        volatile uint8_t *b = (volatile uint8_t *)(p < to ? p : to);
        *b = *b;
        if (p >= to) break;
    }
}
#endif

__attribute__((noinline)) static void replay_warm(replay_ctx_t *c, replay_meter_t *m)
{
    volatile uint8_t stack[REPLAY_WARM_STACK];
    for (size_t i = 0; i < sizeof stack; i += 256)
        stack[i] = 0;
#ifdef REPLAY_ASAN
    replay_warm_shadow((const void *)stack, sizeof stack);
#endif
    uint64_t held, peak;
    route_stats(&c->heaps, &held, &peak, m->names, m->values);
    route_footprint(&c->heaps, &held, &peak);
    (void)replay_resident(m);
    (void)replay_now_ns();
}

/* Internal fragmentation of the live blocks now (at peak live). */
static double replay_internal_frag(replay_ctx_t *c)
{
    uint64_t usable = 0, requested = 0;
    for (int d = 0; d < TRACE_NDOMAINS; d++)
        if (!c->heaps.cls[d]->usable_size) return NAN;
    replay_block_t *blocks = replay_blocks(c);
    for (uint32_t s = 0; s < c->nslots; s++)
        if (blocks[s].ptr) {
            usable += route_usable_size(&c->heaps, replay_bdomain(&blocks[s]), blocks[s].ptr);
            requested += replay_bsize(&blocks[s]);
        }
    return requested ? ((double)usable - (double)requested) / (double)requested : NAN;
}

static int replay_measure_chunk(replay_ctx_t *c, replay_meter_t *m, uint64_t peak_at, size_t n)
{
    const replay_ev_t *evs = replay_evs(c);
    for (size_t i = 0; i < n; i++) {
        if (replay_apply(c, &evs[i], REPLAY_PROBE_NONE)) return REPLAY_EFAIL;
        c->index++;
        if (c->live_bytes > c->peak_live_bytes) c->peak_live_bytes = c->live_bytes;
        if (c->live_blocks > c->peak_live_blocks) c->peak_live_blocks = c->live_blocks;
        if (m->per_event) {
            uint64_t held, peak;
            route_footprint(&c->heaps, &held, &peak);
            if (held > m->peak_held) m->peak_held = held;
        }
        if (c->index == peak_at) m->internal_frag = replay_internal_frag(c);
        if (c->index == m->next) {
            replay_sample(c, m);
            m->next = metrics_plan_next(&m->plan, c->index);
        }
    }
    return 0;
}

static uint64_t replay_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* This thread's CPU time (a system call: once per chunk). */
static uint64_t replay_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The events of a chunk with MODE's probes (one copy of the loop per
 * mode: the constant folds every other probe away). */
REPLAY_INLINE int replay_loop(replay_ctx_t *c, size_t n, const replay_probe_t mode)
{
    const replay_ev_t *evs = replay_evs(c);
    for (size_t i = 0; i < n; i++) {
        if (replay_apply(c, &evs[i], mode)) return REPLAY_EFAIL;
        c->index++;
    }
    return 0;
}

/* replay_fast's tail of an `m` that returned P, per-object's inline or
 * another mode's: the touch, the arena's account, the live counts (kept
 * in the loop's registers: inlined, LIVE and NLIVE stay locals). */
REPLAY_INLINE void replay_fast_arena_malloced(replay_ctx_t *c, const replay_ev_t *e, void *p,
                                              const replay_touch_t touch, const uintptr_t page,
                                              uint64_t *live, uint64_t *nlive)
{
    replay_touch_as(touch, page, p, 0, e->size);
    replay_acct_t *acct = &replay_acct(c)[e->ref];
    acct->bytes += e->size;
    acct->count++;
    *live += e->size;
    ++*nlive;
}

/* The default timed loop (no probe, no --verify), for TOUCH (a constant:
 * one copy per mode): what a bare replay does -- one pass over the 16-byte
 * events, the allocator called straight from the loop, the block table
 * and live counts kept in registers -- so the harness costs next to
 * nothing above the allocator (scripts/bench, section 2).  Whatever is not
 * a plain a/c/r/f of a block in its own domain or an `m` (a calloc whose
 * size overflows, the other arena events, an API violation, a free of a
 * slot already freed) goes through replay_apply, the one place that knows
 * every case, and so does the message of a NULL; the results are the
 * same either way.
 *
 * A free is tested before the switch: as a jump table, the switch's
 * indirect jump on a random mix of a and f cost about 1.5 ns an event
 * more on this machine (churn: 11.7 -> 10.0 ns/event); minreplay's loop
 * dispatches the same way.  Then an `m` of the per-object mode, inline
 * (internal/arenas_perobj.h): through the mode's malloc, ast.atr's `m`
 * events (91 % of them) cost the harness 5-7 ns an event above the bare
 * loop, now within noise of it (sim/replay/README.md). */
REPLAY_INLINE int replay_fast(replay_ctx_t *c, size_t n, const replay_touch_t touch)
{
    const replay_ev_t *const evs = replay_evs(c), *const end = evs + n;
    replay_block_t *const blocks = replay_blocks(c);
    const alloc_t *const a = c->heaps.a;
    const uintptr_t page = c->page;
    /* per-object's `m` runs inline (internal/arenas_perobj.h) */
    perobj_t *const po = c->am == &arenas_perobject ? c->ast : NULL;
    uint64_t live = c->live_bytes, nlive = c->live_blocks;
    for (const replay_ev_t *e = evs; e < end; e++) {
        const alloc_t *h;
        replay_block_t *b;
        void *p;
        if (e->op == TRACE_FREE) {
            h = &a[e->domain];
            b = &blocks[e->ref];
            if (__builtin_expect(!b->ptr || replay_bdomain(b) != e->domain, 0)) goto other;
            h->free(h->ctx, b->ptr);
            b->ptr = NULL;
            live -= replay_bsize(b);
            nlive--;
            continue;
        }
        if (e->op == TRACE_ARENA_MALLOC && po) {
            /* most events of a compiler's trace: per-object's malloc
             * inline (room for the record, MEM's call, the record:
             * perobj_malloc's steps), ahead of the switch and of the block
             * and domain a block's event looks up (computed for every
             * event above the switch, they cost an `m` ~6 instructions) */
            uint32_t slot = perobj_room(po, e->ref);
            if (__builtin_expect(!slot || e->size > SIZE_MAX, 0)) goto null;
            p = po->mem.malloc(po->mem.ctx, (size_t)e->size);
            if (__builtin_expect(!p, 0)) goto null;
            perobj_note(po, e->ref, slot, p, e->size);
            replay_fast_arena_malloced(c, e, p, touch, page, &live, &nlive);
            continue;
        }
        h = &a[e->domain];
        b = &blocks[e->ref];
        switch (e->op) {
        case TRACE_ALLOC:
            p = h->malloc(h->ctx, (size_t)e->size);
            if (__builtin_expect(!p, 0)) goto null;
            replay_touch_as(touch, page, p, 0, e->size);
            b->ptr = p;
            b->meta = replay_bmeta(e->size, e->domain);
            live += e->size;
            nlive++;
            continue;
        case TRACE_ARENA_MALLOC: { /* another mode's */
            p = c->am->malloc(c->ast, e->ref, e->size);
            if (__builtin_expect(!p, 0)) goto null;
            replay_fast_arena_malloced(c, e, p, touch, page, &live, &nlive);
            continue;
        }
        case TRACE_REALLOC:
            if (__builtin_expect(replay_bdomain(b) != e->domain, 0)) break;
            p = h->realloc(h->ctx, b->ptr, (size_t)e->size);
            if (__builtin_expect(!p, 0)) goto null;
            replay_touch_as(touch, page, p, replay_bsize(b), e->size);
            live = live - replay_bsize(b) + e->size;
            b->ptr = p;
            b->meta = replay_bmeta(e->size, e->domain);
            continue;
        case TRACE_CALLOC: {
            uint64_t nmemb = e->nmemb ? e->nmemb : replay_evx(c, e)->aux, size;
            if (__builtin_mul_overflow(nmemb, e->size, &size) || size > REPLAY_SIZE_MAX) break;
            p = h->calloc(h->ctx, (size_t)nmemb, (size_t)e->size);
            if (__builtin_expect(!p, 0)) goto null;
            replay_touch_as(touch, page, p, 0, size);
            b->ptr = p;
            b->meta = replay_bmeta(size, e->domain);
            live += size;
            nlive++;
            continue;
        }
        case TRACE_ARENA_OWN: /* the reader's bookkeeping, unless the mode models it */
            if (!c->am->own) continue;
            break;
        default:
            break;
        }
    other:
        /* everything else, as the probed loops run it */
        REPLAY_IN_REGISTERS(live, nlive);
        c->index += (uint64_t)(e - evs);
        c->live_bytes = live;
        c->live_blocks = nlive;
        if (replay_apply(c, e, REPLAY_PROBE_NONE)) return REPLAY_EFAIL;
        c->index -= (uint64_t)(e - evs);
        live = c->live_bytes;
        nlive = c->live_blocks;
        continue;
    null:
        /* a NULL: the general path's message, the call not repeated */
        REPLAY_IN_REGISTERS(live, nlive);
        c->index += (uint64_t)(e - evs);
        c->live_bytes = live;
        c->live_blocks = nlive;
        if (e->op == TRACE_CALLOC)
            return replay_fail(c, e, "allocation of %llu bytes returned NULL",
                               (unsigned long long)(replay_evx(c, e)->aux * e->size));
        return replay_fail(c, e,
                           e->op == TRACE_ALLOC ? "allocation of %llu bytes returned NULL"
                           : e->op == TRACE_REALLOC
                               ? "realloc to %llu bytes returned NULL"
                               : "arena allocation of %llu bytes returned NULL",
                           (unsigned long long)e->size);
    }
    REPLAY_IN_REGISTERS(live, nlive);
    c->index += n;
    c->live_bytes = live;
    c->live_blocks = nlive;
    return 0;
}

/* replay_fast for each touch mode, each a function of its own: inlined
 * into replay_run, the loop shared the registers of the whole run and
 * reloaded its tables and bounds from the stack around every call. */
static __attribute__((noinline)) int replay_fast_none(replay_ctx_t *c, size_t n)
{
    return replay_fast(c, n, REPLAY_TOUCH_NONE);
}
static __attribute__((noinline)) int replay_fast_page(replay_ctx_t *c, size_t n)
{
    return replay_fast(c, n, REPLAY_TOUCH_PAGE);
}
static __attribute__((noinline)) int replay_fast_all(replay_ctx_t *c, size_t n)
{
    return replay_fast(c, n, REPLAY_TOUCH_ALL);
}

/* The gap to the next event timed: uniform in [1, 2 every - 1], mean
 * EVERY, from a generator seeded at the start of every run -- the same
 * events are timed run after run, and a trace whose events repeat with a
 * period (malloc, free, malloc, ...) is not sampled in step with it. */
static uint64_t replay_next_gap(replay_ctx_t *c)
{
    uint64_t every = c->o->lat_every ? c->o->lat_every : 1;
    return every == 1 ? 1 : 1 + timing_rng(&c->gap_state) % (2 * every - 1);
}

/* LATENCY: the events between two timed ones run as the default loop
 * runs them (the plain calls); only the timed one has the probes. */
static int replay_sampled_loop(replay_ctx_t *c, size_t n)
{
    const replay_ev_t *evs = replay_evs(c);
    for (size_t i = 0; i < n; i++) {
        int rc;
        if (--c->gap) {
            rc = replay_apply(c, &evs[i], REPLAY_PROBE_NONE);
        } else {
            rc = replay_apply(c, &evs[i], REPLAY_PROBE_LATENCY);
            c->gap = replay_next_gap(c);
        }
        if (rc) return REPLAY_EFAIL;
        c->index++;
    }
    return 0;
}

static int replay_timed_chunk(replay_ctx_t *c, size_t n, uint64_t *ns)
{
    /* a dump run ends at its point (replay_opts_t.stop_after) */
    if (c->o->stop_after && c->index + n > c->o->stop_after) n = c->o->stop_after - c->index;
    /* a fresh time slice for the loop: on a loaded machine a run that
     * starts at the end of one (after the decoding) is preempted more
     * often, and comes back to cold caches (minreplay --time does the same) */
    sched_yield();
    /* the CPU clock is a system call (~0.4 us here): read outside the
     * wall clock's window, which holds the loop alone */
    const uint64_t c0 = replay_cpu_ns(), t0 = replay_now_ns();
    int rc;
    switch (c->o->probe) {
    case REPLAY_PROBE_LATENCY:
        rc = replay_sampled_loop(c, n);
        break;
    case REPLAY_PROBE_COUNT:
        rc = replay_loop(c, n, REPLAY_PROBE_COUNT);
        break;
    default:
        if (c->o->verify)
            rc = replay_loop(c, n, REPLAY_PROBE_NONE);
        else if (c->touch == REPLAY_TOUCH_NONE)
            rc = replay_fast_none(c, n);
        else if (c->touch == REPLAY_TOUCH_PAGE)
            rc = replay_fast_page(c, n);
        else
            rc = replay_fast_all(c, n);
        break;
    }
    if (rc) return rc;
    *ns += replay_now_ns() - t0;
    c->cpu_ns += replay_cpu_ns() - c0;
    return 0;
}

/* ---- runs --------------------------------------------------------------- */

/* The seed of the latency sample's gaps (the same in every run). */
#define REPLAY_GAP_SEED 0x5eed1a7e9c0ffee5u

/* Maps and touches every table at the pre-pass's sizes; a trace shorter
 * than REPLAY_CHUNK gets a chunk of its own length. */
static int replay_map_tables(replay_ctx_t *c, const replay_scan_t *scan)
{
    c->chunk = scan->events < REPLAY_CHUNK ? (size_t)scan->events + 1 : REPLAY_CHUNK;
    if (replay_reserve_slots(c, scan->slots + 1) || replay_reserve_aslots(c, scan->aslots + 1) ||
        mapvec_reserve(&c->evs_v, c->chunk * sizeof(replay_ev_t)) ||
        mapvec_reserve(&c->evx_v, c->chunk * sizeof(replay_evx_t)) ||
        mapvec_reserve(&c->owned_v, ((size_t)scan->slots + 1) * sizeof(uint32_t))) {
        snprintf(c->err, c->errlen, "%s: out of memory for %u block slots", trace_path(c->reader),
                 scan->slots);
        return REPLAY_EFAIL;
    }
    mapvec_touch(&c->blocks_v);
    mapvec_touch(&c->bverify_v);
    mapvec_touch(&c->acct_v);
    mapvec_touch(&c->evs_v);
    mapvec_touch(&c->evx_v);
    mapvec_touch(&c->owned_v);
    return 0;
}

/* An allocator that hands every request the same memory (reuse,
 * ALLOC_SHARED_BLOCK) cannot serve what keeps data in blocks: --verify's
 * patterns, the debug hooks' headers, an arena mode's headers.  Returns 0
 * or REPLAY_EUSAGE with a message. */
static int replay_shared_block_ok(replay_ctx_t *c, const replay_scan_t *scan)
{
    if (!(c->heaps.flags & ALLOC_SHARED_BLOCK)) return 0;
    int debug = 0;
    for (int d = 0; d < TRACE_NDOMAINS; d++)
        debug |= route_debugged(&c->heaps, d);
    const char *what = c->o->verify ? "--verify's patterns"
                       : debug      ? "the debug hooks"
                       : scan->aslots && c->am->writes_blocks
                           ? "this trace's arena events under an arena mode that keeps headers "
                             "in its blocks (give --arena-mode per-object)"
                           : NULL;
    if (!what) return 0;
    snprintf(c->err, c->errlen,
             "%s: allocator %s hands every request the same block: it cannot serve %s",
             trace_path(c->reader), c->o->label ? c->o->label : "?", what);
    return REPLAY_EUSAGE;
}

/* Prints each instance's own statistics.  An instance that prints nothing
 * (cpython's raw domain) is left out, and so is one that prints what the
 * previous one did (cpython's mem and obj share one obmalloc): domain
 * headers appear only when several different dumps remain. */
static void replay_mallocstats(replay_ctx_t *c, FILE *out)
{
    fprintf(out, "== mallocstats: %s with %s after event %llu ==\n", trace_path(c->reader),
            c->o->label ? c->o->label : "?", (unsigned long long)c->index);
    char *text[TRACE_NDOMAINS] = {NULL};
    int shown[TRACE_NDOMAINS] = {0}, nshown = 0;
    for (int d = 0; d < TRACE_NDOMAINS; d++) {
        const alloc_class_t *cls = c->heaps.cls[d];
        if (c->heaps.inst[d] != d || !cls->mallocstats) continue;
        size_t len = 0;
        FILE *mem = open_memstream(&text[d], &len);
        if (!mem) continue;
        cls->mallocstats(c->heaps.a[d].ctx, mem);
        fclose(mem);
        int repeat = 0;
        for (int e = 0; e < d; e++)
            repeat |= shown[e] && strcmp(text[e], text[d]) == 0;
        if (len > 0 && !repeat) {
            shown[d] = 1;
            nshown++;
        }
    }
    for (int d = 0; d < TRACE_NDOMAINS; d++) {
        if (!shown[d]) continue;
        if (nshown > 1) fprintf(out, "-- domain %s --\n", trace_domain_name[d]);
        fputs(text[d], out);
    }
    for (int d = 0; d < TRACE_NDOMAINS; d++)
        free(text[d]);
    if (!nshown) fputs("(this allocator has no mallocstats)\n", out);
    fflush(out);
}

int replay_run(trace_reader_t *r, const route_t *route, const replay_scan_t *scan,
               const replay_opts_t *o, replay_result_t *res, metrics_series_t *ser, char *err,
               size_t errlen)
{
    replay_ctx_t c;
    memset(&c, 0, sizeof c);
    c.reader = r;
    c.o = o;
    c.am = o->arenas ? o->arenas : arenas_modes[0];
    c.err = err;
    c.errlen = errlen;
    c.touch = o->touch;
    c.page = (uintptr_t)sysconf(_SC_PAGESIZE);
    c.lat = o->lat;
    c.clock = o->clock;
    c.overhead = o->clock ? o->clock->overhead : 0;
    c.gap_state = REPLAY_GAP_SEED;
    c.gap = replay_next_gap(&c);
    if (o->threads_recorded) {
        int trc = replay_threads_run(r, route, scan, o, res, ser, err, errlen);
        if (trc != REPLAY_SERIALIZE) return trc;
    }
    memset(res, 0, sizeof *res);
    res->internal_frag = NAN;
    res->threads = 1;

    const int measure = o->nsamples > 0;
    if (!measure && o->probe == REPLAY_PROBE_LATENCY && (!o->lat || !o->clock)) {
        snprintf(err, errlen, "latency probes without a table and a clock (a bug)");
        return REPLAY_EFAIL;
    }
    replay_meter_t meter;
    memset(&meter, 0, sizeof meter);
    meter.statm = -1;
    meter.internal_frag = NAN;
    meter.ser = ser;
    metrics_acc_init(&meter.acc);
    if (measure) memset(ser, 0, sizeof *ser); /* safe to free whatever happens */
    if (trace_rewind(r) < 0) {
        snprintf(err, errlen, "%s", trace_error(r));
        return REPLAY_EFAIL;
    }
    /* Everything the run allocates for itself, before the allocator
     * exists: the baseline of the footprint and of RSS includes it. */
    if (measure) {
        metrics_plan_init(&meter.plan, scan->events, o->nsamples, scan->peak_live_at);
        if (metrics_series_init(ser, (size_t)metrics_plan_count(&meter.plan) + 1, 1)) {
            snprintf(err, errlen, "out of memory for %llu samples",
                     (unsigned long long)o->nsamples);
            return REPLAY_EFAIL;
        }
        meter.next = metrics_plan_next(&meter.plan, 0);
        meter.statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    }
    int rc = replay_map_tables(&c, scan);
    if (rc == 0) {
        rc = route_create(&c.heaps, route, o->find, err, errlen) ? REPLAY_EUSAGE : 0;
        if (rc) {
            replay_unmap(&c);
            if (meter.statm >= 0) close(meter.statm);
            return rc;
        }
        if (rc == 0) rc = replay_shared_block_ok(&c, scan);
        arenas_hint_t hint = {scan->aslots, scan->arena_records};
        char msg[256] = "";
        if (rc == 0)
            c.ast =
                c.am->create(&c.heaps.a[TRACE_MEM], &hint, o->arena_params ? o->arena_params : "",
                             replay_release, &c, msg, sizeof msg);
        if (rc == 0 && !c.ast) {
            snprintf(err, errlen, "%s", msg);
            rc = REPLAY_EFAIL;
        }
    }
    meter.per_event = measure && !(c.heaps.flags & ALLOC_SLOW_STATS);
    if (rc == 0 && measure) replay_warm(&c, &meter);
    if (meter.statm >= 0) metrics_anon_rss(meter.statm, &meter.rss_base);

    /* the baseline: from here to the end only the trace's events reach the
     * allocators (the clean room, replay.h) */
    if (rc == 0 && arenalab_measure_begin) arenalab_measure_begin();
    uint64_t ns = 0;
    for (size_t n = 1; rc == 0 && n > 0 && !(o->stop_after && c.index >= o->stop_after);) {
        rc = replay_decode(&c, &n);
        if (rc == 0 && n > 0)
            rc = measure ? replay_measure_chunk(&c, &meter, scan->peak_live_at, n)
                         : replay_timed_chunk(&c, n, &ns);
        /* outside replay_timed_chunk's clock, like the decoding */
        if (rc == 0 && o->progress) o->progress(o->progress_ud, c.index);
    }
    if (arenalab_measure_end) arenalab_measure_end();
    if (rc == 0 && c.heaps.nfaults != c.caught) {
        char msg[256];
        dbg_message(&c.heaps.fault, msg, sizeof msg);
        snprintf(err, errlen, "%s: the debug hooks found a fault no event explains (a bug): %s",
                 trace_path(r), msg);
        rc = REPLAY_EFAIL;
    }
    /* every run, so the default timed loop's counts are checked too */
    if (rc == 0 && !replay_is_valid(&c)) {
        snprintf(err, errlen, "%s: replay tables out of step after %llu events (a bug)",
                 trace_path(r), (unsigned long long)c.index);
        rc = REPLAY_EFAIL;
    }
    if (rc == 0 && o->mallocstats) replay_mallocstats(&c, o->mallocstats);

    res->events = c.index;
    res->skipped = c.skipped;
    res->debug_faults = c.caught;
    res->ns = ns;
    res->cpu_ns = c.cpu_ns;
    res->probes = c.probes;
    if (measure) {
        res->peak_live_bytes = c.peak_live_bytes;
        res->peak_live_blocks = c.peak_live_blocks;
        res->peak_resident = meter.peak_resident;
        res->peak_held = meter.peak_held;
        res->internal_frag = meter.internal_frag;
        metrics_acc_result(&meter.acc, &res->frag);
        if (meter.statm >= 0) close(meter.statm);
    }
    replay_free_leftovers(&c);
    if (c.heaps.cls[0]) route_destroy(&c.heaps);
    replay_unmap(&c);
    return rc;
}

/* ---- where --mallocstats dumps ----------------------------------------- */

int replay_mallocstats_when_ok(const char *when)
{
    if (!strcmp(when, "end") || !strcmp(when, "peak")) return 1;
    if (!strncmp(when, "marker:", 7)) return when[7] != '\0';
    if (strncmp(when, "event:", 6) || when[6] < '0' || when[6] > '9') return 0;
    char *end;
    strtoull(when + 6, &end, 10);
    return *end == '\0';
}

int replay_mallocstats_at(const char *when, const replay_scan_t *scan, const trace_reader_t *r,
                          uint64_t *at, char *err, size_t errlen)
{
    if (!replay_mallocstats_when_ok(when)) {
        snprintf(err, errlen, "--mallocstats=%s: expected end, peak, event:N or marker:NAME", when);
        return -1;
    }
    if (!strcmp(when, "end")) {
        *at = scan->events;
    } else if (!strcmp(when, "peak")) {
        *at = scan->peak_live_at ? scan->peak_live_at : scan->events;
    } else if (!strncmp(when, "event:", 6)) {
        *at = strtoull(when + 6, NULL, 10);
        if (*at > scan->events) {
            snprintf(err, errlen, "%s: --mallocstats=%s: the trace has %llu events", trace_path(r),
                     when, (unsigned long long)scan->events);
            return -1;
        }
    } else {
        const char *name = when + 7;
        const trace_marker_t *m;
        size_t n = trace_markers(r, &m);
        for (size_t i = 0; i < n; i++) {
            char kv[1024];
            snprintf(kv, sizeof kv, "%s=%s", m[i].key, m[i].value);
            if (!strcmp(m[i].value, name) || !strcmp(kv, name)) {
                *at = m[i].at;
                return 0;
            }
        }
        snprintf(err, errlen, "%s: --mallocstats=%s: no such marker (see 'arenalab stats')",
                 trace_path(r), when);
        return -1;
    }
    return 0;
}

/* ---- pre-pass ----------------------------------------------------------- */

int replay_scan(trace_reader_t *r, int lenient, replay_scan_t *out, char *err, size_t errlen)
{
    return replay_scan_ex(r, lenient, NULL, NULL, out, err, errlen);
}

int replay_scan_ex(trace_reader_t *r, int lenient, replay_progress_fn progress, void *ud,
                   replay_scan_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (trace_rewind(r) < 0) {
        snprintf(err, errlen, "%s", trace_error(r));
        return REPLAY_EFAIL;
    }
    mapvec_t size_v = {0}, acct_v = {0};
    uint64_t live = 0, blocks = 0, records = 0;
    uint32_t first_thread = 0;
    int rc = 0, nbatch = 0, ibatch = 0;
    trace_event_t batch[REPLAY_BATCH];
    for (;;) {
        if (ibatch == nbatch) {
            /* an `x` ends its batch, so trace_owned answers below */
            if (progress) progress(ud, out->events);
            int n = trace_next_batch(r, batch, REPLAY_BATCH);
            if (n == 0) break;
            if (n < 0) {
                rc = replay_reader_error(r, n, lenient, &out->skipped, err, errlen);
                if (rc) break;
                continue;
            }
            nbatch = n;
            ibatch = 0;
        }
        trace_event_t ev = batch[ibatch++];
        if (!out->events)
            first_thread = ev.thread;
        else if (ev.thread != first_thread)
            out->threaded = 1;
        int is_block = ev.op <= TRACE_FREE || ev.op == TRACE_ARENA_OWN;
        int is_arena = ev.op >= TRACE_ARENA_NEW;
        if ((is_block && (ev.slot == UINT32_MAX ||
                          mapvec_reserve(&size_v, ((size_t)ev.slot + 1) * sizeof(uint64_t)))) ||
            (is_arena &&
             (ev.aslot == UINT32_MAX ||
              mapvec_reserve(&acct_v, ((size_t)ev.aslot + 1) * sizeof(replay_acct_t))))) {
            snprintf(err, errlen, "%s: out of memory in the pre-pass", trace_path(r));
            rc = REPLAY_EFAIL;
            break;
        }
        uint64_t *size = size_v.p;
        replay_acct_t *acct = acct_v.p;
        if (is_block && ev.slot + 1 > out->slots) out->slots = ev.slot + 1;
        if (is_arena && ev.aslot + 1 > out->aslots) out->aslots = ev.aslot + 1;
        uint64_t bytes;
        switch (ev.op) {
        case TRACE_ALLOC:
        case TRACE_CALLOC:
            bytes = ev.size;
            if (ev.op == TRACE_CALLOC && __builtin_mul_overflow(ev.nmemb, ev.size, &bytes))
                bytes = UINT64_MAX / 2; /* the run fails on it; keep sums sane */
            size[ev.slot] = bytes;
            live += bytes;
            blocks++;
            break;
        case TRACE_REALLOC:
            live = live - size[ev.slot] + ev.size;
            size[ev.slot] = ev.size;
            break;
        case TRACE_FREE:
            live -= size[ev.slot];
            blocks--;
            break;
        case TRACE_ARENA_NEW:
            acct[ev.aslot] = (replay_acct_t){0, 0};
            break;
        case TRACE_ARENA_MALLOC:
            acct[ev.aslot].bytes += ev.size;
            acct[ev.aslot].count++;
            live += ev.size;
            blocks++;
            if (++records > out->arena_records) out->arena_records = records;
            break;
        case TRACE_ARENA_FREE: {
            const uint32_t *owned;
            size_t k = trace_owned(r, ev.aslot, &owned);
            for (size_t i = 0; i < k; i++)
                live -= size[owned[i]];
            blocks -= k;
            live -= acct[ev.aslot].bytes;
            blocks -= acct[ev.aslot].count;
            records -= acct[ev.aslot].count;
            acct[ev.aslot] = (replay_acct_t){0, 0};
            break;
        }
        default: /* TRACE_ARENA_OWN */
            break;
        }
        out->events++;
        if (live > out->peak_live_bytes) {
            out->peak_live_bytes = live;
            out->peak_live_at = out->events;
        }
        if (blocks > out->peak_live_blocks) out->peak_live_blocks = blocks;
    }
    mapvec_free(&size_v);
    mapvec_free(&acct_v);
    return rc;
}
