/* threads.c: a trace replayed on its recorded threads (see threads.h for
 * the design).
 *
 * Tables, all in mappings outside malloc, filled before the baseline:
 *   evs[]      every event, thread by thread: thread i's stream is
 *              evs[th[i].first .. th[i].first + th[i].n)
 *   blocks[]   by replay slot (renumbered per thread, see threads.h)
 *   stacks     one mapping: per thread a guard page, then its stack
 *
 * Invariants: a thread publishes `done` (its events applied) only after
 * an event another thread waits for (`signal`), and UINT64_MAX when it
 * stops; an event with a wait runs only once the awaited thread's `done`
 * has reached it (acquire), so the block entry it touches was last
 * written by that thread before its release.  A replay slot is reused
 * only by the thread that freed it.  Measurement runs: live_bytes ==
 * sum of live blocks' sizes once every thread has ended (checked).
 */
#include "sim/replay/threads.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sim/base/mapvec.h"
#include "sim/replay/internal/replay_payload.h"
#include "sim/trace/tsplit.h"

/* The clean room's hooks (replay.h). */
extern void arenalab_measure_begin(void) __attribute__((weak));
extern void arenalab_measure_end(void) __attribute__((weak));

#define THR_NONE       UINT32_MAX
#define THR_STACK      (1024 * 1024) /* each thread's stack              */
#define THR_WARM_STACK (128 * 1024)  /* of it faulted in before the baseline */
#define THR_SPIN       64            /* checks before sleeping on a futex */
#define THR_YIELDS     4             /* then yields, then the futex       */
#define THR_BATCH      256           /* events per trace_next_batch       */

typedef struct {
    uint64_t size;        /* a r: bytes; c: element size                     */
    uint64_t nmemb;       /* c: element count                                */
    uint64_t where;       /* the reader's line (text) or event index (binary) */
    uint64_t index;       /* position in the recorded order                  */
    uint64_t wait_done;   /* wait until thread wait_thread has done this many */
    uint32_t slot;        /* replay slot                                     */
    uint32_t id;          /* as written (messages)                           */
    uint32_t wait_thread; /* dense index, or THR_NONE                      */
    uint8_t op;
    uint8_t domain;
    uint8_t signal; /* another thread waits for this event: publish    */
    uint32_t pace;  /* > 0: first wait for every other thread to reach
                       snapshot `pace` (thr_split, pacing)               */
} thr_ev_t;

typedef struct {
    void *ptr; /* NULL when the slot is free                               */
    uint64_t size;
    uint32_t seed; /* --verify pattern                                     */
    uint8_t domain;
} thr_block_t;

struct thr_run_s;

/* One replaying thread; its own cache lines (published fields first). */
typedef struct {
    _Alignas(64) _Atomic uint64_t done; /* events applied, as published    */
    _Atomic uint32_t gen;               /* futex word: bumped per publish  */
    _Atomic uint32_t sleepers;          /* threads asleep on gen           */
    _Alignas(64) struct thr_run_s *run;
    uint32_t index; /* dense thread index                                   */
    uint32_t id;    /* as recorded                                          */
    uint64_t first; /* its stream in evs[]                                  */
    uint64_t n;
    uint64_t level;   /* thr_split: the latest pace level of its events       */
    uint64_t applied; /* events applied (end of the run)                    */
    uint64_t cpu_ns;  /* its CPU time in the loop                           */
    pthread_t tid;
    int started;
} thr_thread_t;

typedef struct thr_run_s {
    trace_reader_t *reader;
    const replay_opts_t *o;
    route_heaps_t heaps;
    mapvec_t evs_v, blocks_v, threads_v, tmap_v, next_v;
    mapvec_t snaps_v; /* pacing: per level L, each thread's events before
                         L * window (uint64_t [level][thread])            */
    uint64_t window;
    void *stacks;
    size_t stacks_bytes;
    uint32_t nthreads, nslots;
    uint64_t events, skipped;
    replay_touch_t touch;
    uintptr_t page;
    int measure;
    _Atomic uint32_t go;      /* 0: wait, 1: run, 2: stop before the start */
    _Atomic uint32_t running; /* threads that have not ended               */
    _Atomic uint32_t release; /* 1: threads may exit (after the end)       */
    _Atomic int stop;         /* a thread failed: the others stop too       */
    /* measurement */
    _Alignas(64) _Atomic uint64_t live_bytes;
    _Atomic uint64_t live_blocks;
    _Atomic uint64_t peak_live_bytes, peak_live_blocks;
    _Atomic uint64_t applied;          /* over all threads                       */
    _Atomic uint64_t next_sample;      /* position of the next sample            */
    _Alignas(64) pthread_mutex_t lock; /* samples, the first error          */
    metrics_series_t *ser;
    metrics_plan_t plan;
    metrics_acc_t acc;
    int statm;
    uint64_t rss_base, peak_resident, peak_held;
    char names[METRICS_MAX_EXTRA][ROUTE_NAME_MAX];
    uint64_t values[METRICS_MAX_EXTRA];
    int failed;
    char *err;
    size_t errlen;
} thr_run_t;

static thr_ev_t *thr_evs(thr_run_t *run)
{
    return run->evs_v.p;
}
static thr_block_t *thr_blocks(thr_run_t *run)
{
    return run->blocks_v.p;
}
static thr_thread_t *thr_threads(thr_run_t *run)
{
    return run->threads_v.p;
}

/* ---- futexes -------------------------------------------------------------- */

static void thr_futex_wait(_Atomic uint32_t *word, uint32_t expected)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void thr_futex_wake(_Atomic uint32_t *word)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* Sleeps until *WORD is no longer 0; returns it. */
static uint32_t thr_gate_wait(_Atomic uint32_t *word)
{
    uint32_t v;
    while ((v = atomic_load(word)) == 0)
        thr_futex_wait(word, 0);
    return v;
}

static void thr_gate_open(_Atomic uint32_t *word, uint32_t v)
{
    atomic_store(word, v);
    thr_futex_wake(word);
}

static inline void thr_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* ---- sync points ------------------------------------------------------------ */

/* Publishes that T has applied DONE events, waking its sleepers.  The
 * sequentially consistent store and load pair with thr_wait's increment
 * and load: either the sleeper sees DONE, or this sees the sleeper. */
static void thr_publish(thr_thread_t *t, uint64_t done)
{
    atomic_store(&t->done, done);
    if (atomic_load(&t->sleepers)) {
        atomic_fetch_add(&t->gen, 1);
        thr_futex_wake(&t->gen);
    }
}

/* Waits until thread W has applied DONE events.  Returns 0 to go on, -1
 * when the run stops (a thread failed). */
static int thr_wait(thr_run_t *run, uint32_t w, uint64_t done)
{
    thr_thread_t *t = &thr_threads(run)[w];
    for (int i = 0; i < THR_SPIN; i++) {
        if (atomic_load_explicit(&t->done, memory_order_acquire) >= done) goto ready;
        thr_relax();
    }
    /* a loaded machine: let the awaited thread run here if it is waiting
     * for a CPU, before paying for a sleep and a wake-up */
    for (int i = 0; i < THR_YIELDS; i++) {
        sched_yield();
        if (atomic_load_explicit(&t->done, memory_order_acquire) >= done) goto ready;
    }
    for (;;) {
        uint32_t gen = atomic_load(&t->gen);
        atomic_fetch_add(&t->sleepers, 1);
        int ok = atomic_load(&t->done) >= done;
        if (!ok) thr_futex_wait(&t->gen, gen);
        atomic_fetch_sub(&t->sleepers, 1);
        if (ok || atomic_load(&t->done) >= done) break;
    }
ready:
    return atomic_load_explicit(&run->stop, memory_order_relaxed) ? -1 : 0;
}

/* ---- messages ----------------------------------------------------------- */

static int thr_fail(thr_run_t *run, const thr_thread_t *t, const thr_ev_t *e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The first failure's message, as replay.c words it, with the thread;
 * stops the run.  Returns REPLAY_EFAIL. */
static int thr_fail(thr_run_t *run, const thr_thread_t *t, const thr_ev_t *e, const char *fmt, ...)
{
    pthread_mutex_lock(&run->lock);
    if (!run->failed) {
        run->failed = 1;
        const char *path = trace_path(run->reader);
        int n = trace_format(run->reader) == TRACE_FMT_TEXT
                    ? snprintf(run->err, run->errlen, "%s:%llu: event %llu: ", path,
                               (unsigned long long)e->where, (unsigned long long)e->index)
                    : snprintf(run->err, run->errlen, "%s: event %llu: ", path,
                               (unsigned long long)e->where);
        if (n >= 0 && (size_t)n < run->errlen) {
            va_list ap;
            va_start(ap, fmt);
            int m = vsnprintf(run->err + n, run->errlen - (size_t)n, fmt, ap);
            va_end(ap);
            if (m >= 0 && (size_t)(n + m) < run->errlen)
                snprintf(run->err + n + m, run->errlen - (size_t)(n + m),
                         " (allocator %s, thread %u)", run->o->label ? run->o->label : "?", t->id);
        }
    }
    pthread_mutex_unlock(&run->lock);
    atomic_store(&run->stop, 1);
    return REPLAY_EFAIL;
}

/* ---- applying events ---------------------------------------------------- */

/* Live counters of a measurement run, shared by every thread. */
static inline void thr_count(thr_run_t *run, uint64_t add, uint64_t sub, int64_t blocks)
{
    uint64_t live =
        atomic_fetch_add_explicit(&run->live_bytes, add - sub, memory_order_relaxed) + (add - sub);
    uint64_t peak = atomic_load_explicit(&run->peak_live_bytes, memory_order_relaxed);
    while (live > peak &&
           !atomic_compare_exchange_weak_explicit(&run->peak_live_bytes, &peak, live,
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
    if (!blocks) return;
    uint64_t n =
        atomic_fetch_add_explicit(&run->live_blocks, (uint64_t)blocks, memory_order_relaxed) +
        (uint64_t)blocks;
    uint64_t pn = atomic_load_explicit(&run->peak_live_blocks, memory_order_relaxed);
    while (n > pn &&
           !atomic_compare_exchange_weak_explicit(&run->peak_live_blocks, &pn, n,
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

static int thr_alloc(thr_run_t *run, thr_thread_t *t, const thr_ev_t *e)
{
    alloc_t *a = &run->heaps.a[e->domain];
    uint64_t size = e->size;
    void *p;
    if (e->op == TRACE_CALLOC) {
        if (__builtin_mul_overflow(e->nmemb, e->size, &size) || size > SIZE_MAX)
            return thr_fail(run, t, e, "calloc(%llu, %llu): size overflows",
                            (unsigned long long)e->nmemb, (unsigned long long)e->size);
        p = a->calloc(a->ctx, (size_t)e->nmemb, (size_t)e->size);
    } else {
        if (size > SIZE_MAX)
            return thr_fail(run, t, e, "malloc(%llu): too large", (unsigned long long)size);
        p = a->malloc(a->ctx, (size_t)size);
    }
    if (!p)
        return thr_fail(run, t, e, "allocation of %llu bytes returned NULL",
                        (unsigned long long)size);
    thr_block_t *b = &thr_blocks(run)[e->slot];
    *b = (thr_block_t){p, size, 0, e->domain};
    if (run->o->verify && e->op == TRACE_CALLOC) {
        uint64_t bad = replay_check_zero(p, size);
        if (bad != size)
            return thr_fail(run, t, e, "verify: calloc'ed block %u reads %#x at offset %llu, not 0",
                            e->id, ((uint8_t *)p)[bad], (unsigned long long)bad);
    }
    replay_touch_bytes(run->touch, run->page, p, 0, size);
    if (run->o->verify) {
        b->seed = replay_seed(e->id, e->index);
        replay_fill(p, 0, size, b->seed);
    }
    if (run->measure) thr_count(run, size, 0, 1);
    return 0;
}

static int thr_verify_block(thr_run_t *run, thr_thread_t *t, const thr_ev_t *e,
                            const thr_block_t *b, const char *what)
{
    uint64_t bad = replay_check(b->ptr, b->size, b->seed);
    if (bad == b->size) return 0;
    return thr_fail(run, t, e, "verify: block %u (%llu bytes) corrupted at offset %llu before %s",
                    e->id, (unsigned long long)b->size, (unsigned long long)bad, what);
}

static int thr_realloc(thr_run_t *run, thr_thread_t *t, const thr_ev_t *e)
{
    thr_block_t *b = &thr_blocks(run)[e->slot];
    alloc_t *a = &run->heaps.a[b->domain];
    uint64_t old = b->size;
    if (e->size > SIZE_MAX)
        return thr_fail(run, t, e, "realloc to %llu bytes: too large", (unsigned long long)e->size);
    if (run->o->verify && thr_verify_block(run, t, e, b, "realloc")) return REPLAY_EFAIL;
    void *p = a->realloc(a->ctx, b->ptr, (size_t)e->size);
    if (!p)
        return thr_fail(run, t, e, "realloc to %llu bytes returned NULL",
                        (unsigned long long)e->size);
    b->ptr = p;
    b->size = e->size;
    replay_touch_bytes(run->touch, run->page, p, old, e->size);
    if (run->o->verify) {
        uint64_t keep = old < e->size ? old : e->size;
        uint64_t bad = replay_check(p, keep, b->seed);
        if (bad != keep)
            return thr_fail(run, t, e,
                            "verify: realloc of block %u from %llu to %llu bytes lost byte %llu",
                            e->id, (unsigned long long)old, (unsigned long long)e->size,
                            (unsigned long long)bad);
        replay_fill(p, old, e->size, b->seed);
    }
    if (run->measure) thr_count(run, e->size, old, 0);
    return 0;
}

static int thr_free(thr_run_t *run, thr_thread_t *t, const thr_ev_t *e)
{
    thr_block_t *b = &thr_blocks(run)[e->slot];
    if (run->o->verify && thr_verify_block(run, t, e, b, "free")) return REPLAY_EFAIL;
    alloc_t *a = &run->heaps.a[b->domain];
    a->free(a->ctx, b->ptr);
    b->ptr = NULL;
    if (run->measure) thr_count(run, 0, b->size, -1);
    return 0;
}

/* One sample (replay.c's replay_sample, over all threads): under the
 * lock, so samples are taken one at a time in position order. */
static void thr_sample(thr_run_t *run, uint64_t at)
{
    pthread_mutex_lock(&run->lock);
    uint64_t next = atomic_load_explicit(&run->next_sample, memory_order_relaxed);
    if (at >= next) {
        uint64_t held, exact_peak, rss = 0, resident = 0;
        int n = route_stats(&run->heaps, &held, &exact_peak, run->names, run->values);
        if (run->statm >= 0 && metrics_anon_rss(run->statm, &rss) == 0 && rss > run->rss_base)
            resident = rss - run->rss_base;
        if (resident > run->peak_resident) run->peak_resident = resident;
        if (held > run->peak_held) run->peak_held = held;
        if (exact_peak > run->peak_held) run->peak_held = exact_peak;
        uint64_t live = atomic_load_explicit(&run->live_bytes, memory_order_relaxed);
        uint64_t blocks = atomic_load_explicit(&run->live_blocks, memory_order_relaxed);
        metrics_sample_t s = {at, live, blocks, resident, held};
        long i = metrics_series_add(run->ser, &s);
        metrics_acc_sample(&run->acc, live, resident);
        for (int k = 0; k < n && i >= 0; k++) {
            int j = metrics_series_extra(run->ser, run->names[k]);
            if (j >= 0) run->ser->extra[(size_t)i * METRICS_MAX_EXTRA + (size_t)j] = run->values[k];
        }
        atomic_store_explicit(&run->next_sample, metrics_plan_next(&run->plan, at),
                              memory_order_relaxed);
    }
    pthread_mutex_unlock(&run->lock);
}

/* Pacing: waits until every other thread has applied its events before
 * snapshot LEVEL (thr_split).  Returns 0, or -1 when the run stops. */
static int thr_pace(thr_run_t *run, const thr_thread_t *t, uint32_t level)
{
    const uint64_t *snap = (const uint64_t *)run->snaps_v.p + (size_t)level * run->nthreads;
    for (uint32_t u = 0; u < run->nthreads; u++)
        if (u != t->index && snap[u] && thr_wait(run, u, snap[u])) return -1;
    return 0;
}

/* Thread T's events; MEASURE is constant in each copy. */
static inline __attribute__((always_inline)) void thr_loop(thr_run_t *run, thr_thread_t *t,
                                                           const int measure)
{
    const thr_ev_t *e = thr_evs(run) + t->first;
    uint64_t k = 0;
    for (; k < t->n; k++, e++) {
        if (e->wait_thread != THR_NONE && thr_wait(run, e->wait_thread, e->wait_done)) break;
        if (e->pace && thr_pace(run, t, e->pace)) break;
        int rc = e->op == TRACE_FREE      ? thr_free(run, t, e)
                 : e->op == TRACE_REALLOC ? thr_realloc(run, t, e)
                                          : thr_alloc(run, t, e);
        if (rc) break;
        if (e->signal) thr_publish(t, k + 1);
        if (measure) {
            uint64_t at = atomic_fetch_add_explicit(&run->applied, 1, memory_order_relaxed) + 1;
            if (at >= atomic_load_explicit(&run->next_sample, memory_order_relaxed))
                thr_sample(run, at);
        }
    }
    t->applied = k;
}

static void *thr_main(void *arg)
{
    thr_thread_t *t = arg;
    thr_run_t *run = t->run;
    /* its stack's first pages, before the baseline (replay.c's replay_warm) */
    volatile uint8_t stack[THR_WARM_STACK];
    for (size_t i = 0; i < sizeof stack; i += 256)
        stack[i] = 0;
    if (thr_gate_wait(&run->go) == 1) {
        struct timespec c0, c1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
        if (run->measure)
            thr_loop(run, t, 1);
        else
            thr_loop(run, t, 0);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
        t->cpu_ns = (uint64_t)(c1.tv_sec - c0.tv_sec) * 1000000000u + (uint64_t)c1.tv_nsec -
                    (uint64_t)c0.tv_nsec;
    }
    thr_publish(t, UINT64_MAX); /* nobody waits on a thread that has ended */
    if (atomic_fetch_sub(&run->running, 1) == 1) thr_futex_wake(&run->running);
    thr_gate_wait(&run->release); /* exit (thread caches freed) after the end */
    return NULL;
}

/* ---- loading ------------------------------------------------------------ */

/* A reader error: 0 to go on (skipped under --lenient), else the code
 * replay.c gives it. */
static int thr_reader_error(thr_run_t *run, int rc)
{
    if (run->o->lenient && (rc == TRACE_ESYNTAX || rc == TRACE_ESEM)) {
        run->skipped++;
        return 0;
    }
    snprintf(run->err, run->errlen, "%s", trace_error(run->reader));
    return rc == TRACE_ESEM ? REPLAY_EFAIL : REPLAY_EUSAGE;
}

static int thr_nomem(thr_run_t *run, const char *what)
{
    snprintf(run->err, run->errlen, "%s: out of memory for %s", trace_path(run->reader), what);
    return REPLAY_EFAIL;
}

/* Pass 1: the threads and their event counts.  REPLAY_SERIALIZE when the
 * trace is not for a threaded run (one thread, too many, arena events). */
static int thr_count_threads(thr_run_t *run)
{
    tsplit_t ts;
    tsplit_init(&ts);
    trace_event_t batch[THR_BATCH];
    int rc = trace_rewind(run->reader) < 0 ? thr_reader_error(run, TRACE_EIO) : 0;
    while (rc == 0) {
        int n = trace_next_batch(run->reader, batch, THR_BATCH);
        if (n == 0) break;
        if (n < 0) {
            rc = thr_reader_error(run, n);
            continue;
        }
        for (int i = 0; i < n && rc == 0; i++) {
            uint32_t thread;
            tsplit_dep_t dep;
            if (batch[i].op > TRACE_FREE)
                rc = REPLAY_SERIALIZE;
            else if (tsplit_add(&ts, &batch[i], NULL, 0, &thread, &dep))
                rc = thr_nomem(run, "threads");
            else if (ts.nthreads > THREADS_MAX)
                rc = REPLAY_SERIALIZE;
        }
    }
    if (rc == 0 && ts.nthreads < 2) rc = REPLAY_SERIALIZE;
    if (rc == 0 && mapvec_reserve(&run->threads_v, (size_t)ts.nthreads * sizeof(thr_thread_t)))
        rc = thr_nomem(run, "threads");
    if (rc == 0) {
        run->nthreads = ts.nthreads;
        uint64_t first = 0;
        for (uint32_t i = 0; i < ts.nthreads; i++) {
            thr_thread_t *t = &thr_threads(run)[i];
            t->run = run;
            t->index = i;
            t->id = tsplit_thread(&ts, i)->id;
            t->first = first;
            first += tsplit_thread(&ts, i)->events;
        }
        run->events = first;
    }
    tsplit_free(&ts);
    return rc;
}

/* A replay slot for a block thread I allocates: one its own frees gave
 * back, else a new one. */
static int thr_take_slot(thr_run_t *run, uint32_t *heads, uint32_t i, uint32_t *slot)
{
    if (heads[i] != THR_NONE) {
        *slot = heads[i];
        heads[i] = ((uint32_t *)run->next_v.p)[*slot];
        return 0;
    }
    if (run->nslots == THR_NONE - 1 ||
        mapvec_reserve(&run->next_v, ((size_t)run->nslots + 1) * sizeof(uint32_t)))
        return -1;
    *slot = run->nslots++;
    return 0;
}

/* Pass 2: each thread's stream, with replay slots and sync points. */
static int thr_split(thr_run_t *run, const replay_scan_t *scan)
{
    if (mapvec_reserve(&run->evs_v, (size_t)(run->events ? run->events : 1) * sizeof(thr_ev_t)) ||
        mapvec_reserve(&run->tmap_v, ((size_t)scan->slots + 1) * sizeof(uint32_t)))
        return thr_nomem(run, "the threads' events");
    mapvec_t heads_v = {0};
    run->window = (uint64_t)THREADS_PACE * run->nthreads;
    size_t nlevels = (size_t)(run->events / run->window) + 2;
    if (mapvec_reserve(&heads_v, (size_t)run->nthreads * sizeof(uint32_t)) ||
        mapvec_reserve(&run->snaps_v, nlevels * run->nthreads * sizeof(uint64_t)))
        return thr_nomem(run, "the threads' events");
    uint32_t *heads = heads_v.p;
    for (uint32_t i = 0; i < run->nthreads; i++)
        heads[i] = THR_NONE;
    tsplit_t ts;
    tsplit_init(&ts);
    trace_event_t batch[THR_BATCH];
    uint64_t index = 0;
    run->skipped = 0;
    int rc = trace_rewind(run->reader) < 0 ? thr_reader_error(run, TRACE_EIO) : 0;
    while (rc == 0) {
        int n = trace_next_batch(run->reader, batch, THR_BATCH);
        if (n == 0) break;
        if (n < 0) {
            rc = thr_reader_error(run, n);
            continue;
        }
        for (int k = 0; k < n && rc == 0; k++, index++) {
            const trace_event_t *ev = &batch[k];
            uint32_t i, slot;
            tsplit_dep_t dep;
            if (tsplit_add(&ts, ev, NULL, 0, &i, &dep) || i >= run->nthreads ||
                (ev->slot >= run->tmap_v.bytes / sizeof(uint32_t) &&
                 mapvec_reserve(&run->tmap_v, ((size_t)ev->slot + 1) * sizeof(uint32_t)))) {
                rc = thr_nomem(run, "the threads' events");
                break;
            }
            uint32_t *tmap = run->tmap_v.p;
            thr_thread_t *t = &thr_threads(run)[i];
            uint64_t level = index / run->window;
            if (index && index % run->window == 0 && level < nlevels) {
                /* snapshot LEVEL: how far each thread is; its last event
                 * before here publishes */
                uint64_t *snap = (uint64_t *)run->snaps_v.p + (size_t)level * run->nthreads;
                for (uint32_t u = 0; u < run->nthreads; u++) {
                    const thr_thread_t *tu = &thr_threads(run)[u];
                    snap[u] = tu->n;
                    if (tu->n) thr_evs(run)[tu->first + tu->n - 1].signal = 1;
                }
            }
            if (ev->op == TRACE_ALLOC || ev->op == TRACE_CALLOC) {
                if (thr_take_slot(run, heads, i, &slot)) {
                    rc = thr_nomem(run, "the block slots");
                    break;
                }
                tmap[ev->slot] = slot;
            } else {
                slot = tmap[ev->slot];
                if (ev->op == TRACE_FREE) {
                    ((uint32_t *)run->next_v.p)[slot] = heads[i];
                    heads[i] = slot;
                }
            }
            thr_ev_t *e = &thr_evs(run)[t->first + t->n++];
            *e = (thr_ev_t){.size = ev->size,
                            .nmemb = ev->nmemb,
                            .where = ev->where,
                            .index = index,
                            .slot = slot,
                            .id = ev->id,
                            .wait_thread = THR_NONE,
                            .op = ev->op,
                            .domain = ev->domain};
            if (ev->domain >= TRACE_NDOMAINS) {
                snprintf(run->err, run->errlen, "%s: event %llu: bad domain %u (a bug)",
                         trace_path(run->reader), (unsigned long long)index, ev->domain);
                rc = REPLAY_EFAIL;
                break;
            }
            if (level >= 2 && level > t->level && level - 1 < nlevels) {
                /* the thread's first event past level*window waits for
                 * every thread to pass (level-1)*window */
                e->pace = (uint32_t)(level - 1);
                t->level = level;
            }
            if (dep.thread != TSPLIT_NONE) {
                e->wait_thread = dep.thread;
                e->wait_done = dep.done;
                thr_evs(run)[thr_threads(run)[dep.thread].first + dep.done - 1].signal = 1;
            }
        }
        /* replay_opts_t.progress: the events read into the threads'
         * tables so far.  The timed region (gate open to the last thread
         * ending) calls nothing: a write there would be timed with the
         * events, and every thread runs in it, so no thread has a safe
         * point; the pass's last call, after the join, says it ended. */
        if (rc == 0 && run->o->progress) run->o->progress(run->o->progress_ud, index);
    }
    tsplit_free(&ts);
    mapvec_free(&heads_v);
    mapvec_free(&run->tmap_v);
    mapvec_free(&run->next_v);
    if (rc == 0 && mapvec_reserve(&run->blocks_v, ((size_t)run->nslots + 1) * sizeof(thr_block_t)))
        rc = thr_nomem(run, "the block slots");
    if (rc == 0) {
        mapvec_touch(&run->evs_v);
        mapvec_touch(&run->blocks_v);
    }
    return rc;
}

/* ---- the run ------------------------------------------------------------ */

/* Creates the threads on stacks of their own (a guard page below each);
 * they fault in their stacks and wait at the gate. */
static int thr_start(thr_run_t *run)
{
    size_t each = THR_STACK + run->page;
    run->stacks_bytes = each * run->nthreads;
    run->stacks = mmap(NULL, run->stacks_bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (run->stacks == MAP_FAILED) {
        run->stacks = NULL;
        return thr_nomem(run, "the threads' stacks");
    }
    atomic_store(&run->running, run->nthreads);
    for (uint32_t i = 0; i < run->nthreads; i++) {
        thr_thread_t *t = &thr_threads(run)[i];
        uint8_t *base = (uint8_t *)run->stacks + each * i;
        pthread_attr_t attr;
        int rc = mprotect(base, run->page, PROT_NONE) ? errno : pthread_attr_init(&attr);
        if (rc == 0) {
            rc = pthread_attr_setstack(&attr, base + run->page, THR_STACK);
            if (rc == 0) rc = pthread_create(&t->tid, &attr, thr_main, t);
            pthread_attr_destroy(&attr);
        }
        if (rc) {
            snprintf(run->err, run->errlen, "%s: cannot start replay thread %u of %u: %s",
                     trace_path(run->reader), i + 1, run->nthreads, strerror(rc));
            /* the ones started run nothing and end */
            atomic_store(&run->running, atomic_load(&run->running) - (run->nthreads - i));
            return REPLAY_EFAIL;
        }
        t->started = 1;
    }
    return 0;
}

/* Lets the threads exit and joins them. */
static void thr_join(thr_run_t *run)
{
    thr_gate_open(&run->release, 1);
    for (uint32_t i = 0; i < run->nthreads; i++)
        if (thr_threads(run)[i].started) pthread_join(thr_threads(run)[i].tid, NULL);
}

static uint64_t thr_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void thr_unmap(thr_run_t *run)
{
    mapvec_free(&run->evs_v);
    mapvec_free(&run->blocks_v);
    mapvec_free(&run->threads_v);
    mapvec_free(&run->tmap_v);
    mapvec_free(&run->next_v);
    mapvec_free(&run->snaps_v);
    if (run->stacks) munmap(run->stacks, run->stacks_bytes);
}

/* The figures of a measurement run, and the tables' invariant. */
static int thr_result(thr_run_t *run, replay_result_t *res)
{
    uint64_t bytes = 0, count = 0;
    for (uint32_t s = 0; s < run->nslots; s++)
        if (thr_blocks(run)[s].ptr) {
            bytes += thr_blocks(run)[s].size;
            count++;
        }
    if (bytes != atomic_load(&run->live_bytes) || count != atomic_load(&run->live_blocks)) {
        snprintf(run->err, run->errlen, "%s: replay tables out of step after the threads (a bug)",
                 trace_path(run->reader));
        return REPLAY_EFAIL;
    }
    res->peak_live_bytes = atomic_load(&run->peak_live_bytes);
    res->peak_live_blocks = atomic_load(&run->peak_live_blocks);
    res->peak_resident = run->peak_resident;
    res->peak_held = run->peak_held;
    metrics_acc_result(&run->acc, &res->frag);
    return 0;
}

int replay_threads_run(trace_reader_t *r, const route_t *route, const replay_scan_t *scan,
                       const replay_opts_t *o, replay_result_t *res, metrics_series_t *ser,
                       char *err, size_t errlen)
{
    if (!scan->threaded || scan->aslots || o->probe != REPLAY_PROBE_NONE || o->mallocstats ||
        o->stop_after || !route_thread_safe(route, o->find))
        return REPLAY_SERIALIZE;
    memset(res, 0, sizeof *res);
    res->internal_frag = NAN;
    if (o->nsamples > 0) memset(ser, 0, sizeof *ser); /* safe to free whatever happens */
    thr_run_t *run =
        mmap(NULL, sizeof *run, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (run == MAP_FAILED) {
        snprintf(err, errlen, "%s: out of memory", trace_path(r));
        return REPLAY_EFAIL;
    }
    run->reader = r;
    run->o = o;
    run->err = err;
    run->errlen = errlen;
    run->touch = o->touch;
    run->page = (uintptr_t)sysconf(_SC_PAGESIZE);
    run->measure = o->nsamples > 0;
    run->statm = -1;
    run->ser = ser;
    pthread_mutex_init(&run->lock, NULL);
    metrics_acc_init(&run->acc);
    int rc = thr_count_threads(run);
    if (rc) {
        thr_unmap(run);
        munmap(run, sizeof *run);
        return rc;
    }
    res->threads = run->nthreads;
    rc = thr_split(run, scan);
    if (rc == 0 && run->measure) {
        metrics_plan_init(&run->plan, run->events, o->nsamples, scan->peak_live_at);
        if (metrics_series_init(ser, (size_t)metrics_plan_count(&run->plan) + 1, 1)) {
            rc = thr_nomem(run, "the samples");
        } else {
            atomic_store(&run->next_sample, metrics_plan_next(&run->plan, 0));
            run->statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
        }
    }
    int created = 0;
    if (rc == 0) {
        rc = route_create(&run->heaps, route, o->find, err, errlen) ? REPLAY_EUSAGE : 0;
        created = rc == 0;
    }
    if (rc == 0) rc = thr_start(run);
    if (rc == 0 && run->measure) {
        /* what a sample does once, before the baseline (replay_warm) */
        uint64_t held, peak, rss;
        route_stats(&run->heaps, &held, &peak, run->names, run->values);
        if (run->statm >= 0) metrics_anon_rss(run->statm, &rss);
    }
    if (run->statm >= 0) metrics_anon_rss(run->statm, &run->rss_base);

    /* the baseline: from here to the end only the trace's events reach the
     * allocators (the clean room) */
    uint64_t ns = 0;
    if (rc == 0) {
        if (arenalab_measure_begin) arenalab_measure_begin();
        uint64_t t0 = thr_now_ns();
        thr_gate_open(&run->go, 1);
        uint32_t left;
        while ((left = atomic_load(&run->running)) != 0)
            thr_futex_wait(&run->running, left);
        ns = thr_now_ns() - t0;
        if (arenalab_measure_end) arenalab_measure_end();
    } else {
        thr_gate_open(&run->go, 2);
    }
    thr_join(run);
    if (rc == 0 && run->failed) rc = REPLAY_EFAIL; /* the message is in err */
    for (uint32_t i = 0; i < run->nthreads; i++) {
        res->events += thr_threads(run)[i].applied;
        res->cpu_ns += thr_threads(run)[i].cpu_ns;
    }
    if (rc == 0 && o->progress) o->progress(o->progress_ud, res->events); /* see thr_split */
    res->skipped = run->skipped;
    res->ns = ns;
    if (rc == 0 && run->measure) rc = thr_result(run, res);
    if (run->statm >= 0) close(run->statm);
    if (created) {
        /* what the threads left live (a thread may end with live blocks) */
        for (uint32_t s = 0; s < run->nslots; s++) {
            thr_block_t *b = &thr_blocks(run)[s];
            if (b->ptr) run->heaps.a[b->domain].free(run->heaps.a[b->domain].ctx, b->ptr);
        }
        route_destroy(&run->heaps);
    }
    pthread_mutex_destroy(&run->lock);
    thr_unmap(run);
    munmap(run, sizeof *run);
    return rc;
}
