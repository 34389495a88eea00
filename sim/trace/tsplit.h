/* tsplit.h: the threads of a trace and the sync points a threaded replay
 * needs (prefix tsplit_), derived event by event from the recorded order.
 *
 * A trace is one serialized order of its threads' events (every reader
 * checks it: an `f` or `r` of a block that is not live is an error where it
 * stands).  Replayed on its threads, each thread runs its own events in
 * their recorded order; the only other order to keep is the one between
 * threads on a shared block: an `r` or `f` (or an arena's `o`/`m`/`x`) on
 * thread B of a block last touched by thread A must wait until A has done
 * that touch.  So for each event that touches a block or arena last
 * touched by another thread, tsplit gives a dependency (thread A, and
 * how many of A's events must be done: the position, within A's stream,
 * just after that touch) -- as glibc's trace2wl derives its sync points.
 * The recorded order satisfies every dependency, so waiting on them never
 * deadlocks.  An `a`/`c` has none: a new block has no past (a replay that
 * recycles slots must not hand one thread's freed slot to another, see
 * sim/replay/threads.c).  An arena's `x` depends on the arena's last
 * toucher only; the blocks it owns become its thread's (a replay with
 * arena events runs serialized: the arena modes are models).
 *
 * Threads are numbered densely in order of first appearance (index 0 is
 * the first event's thread); `id` is the thread as recorded.  A trace
 * without thread records is one thread, id 0.
 *
 * Memory: a hash of thread ids and per-slot / per-arena-slot records, in
 * mappings of their own (sim/base/mapvec.h, never malloc: the replay uses
 * it before its baseline), bounded by the thread count and the trace's
 * peak live counts.  Failure: tsplit_add returns TRACE_ENOMEM. */
#ifndef ARENALAB_SIM_TRACE_TSPLIT_H
#define ARENALAB_SIM_TRACE_TSPLIT_H

#include <stdint.h>

#include "sim/base/mapvec.h"
#include "sim/trace/trace.h"

#define TSPLIT_NONE UINT32_MAX /* no dependency / no thread */

typedef struct {
    uint32_t thread; /* dense index of the thread waited for, or TSPLIT_NONE */
    uint64_t done;   /* its events that must be done first (>= 1)            */
} tsplit_dep_t;

typedef struct {
    uint32_t id;              /* as recorded                                    */
    uint64_t events;          /* events so far                                  */
    uint64_t remote_frees;    /* f of a block another thread allocated     */
    uint64_t remote_reallocs; /* r of a block another thread allocated     */
    uint64_t waits;           /* events with a dependency                       */
} tsplit_thread_t;

typedef struct {
    mapvec_t threads_v; /* tsplit_thread_t by dense index                 */
    mapvec_t hash_v;    /* open addressing: dense index + 1, 0 empty       */
    mapvec_t slots_v;   /* per block slot: owner, last toucher            */
    mapvec_t aslots_v;  /* per arena slot: last toucher                   */
    uint32_t nthreads, hash_cap, nslots, naslots;
    uint32_t last_id, last_index;                  /* the previous event's thread (cache)  */
    uint64_t remote_frees, remote_reallocs, waits; /* totals             */
} tsplit_t;

void tsplit_init(tsplit_t *t);
void tsplit_free(tsplit_t *t);

/* Counts EV (as a reader returned it) on its thread: *THREAD gets the
 * thread's dense index, *DEP its dependency (thread TSPLIT_NONE when
 * none).  At TRACE_ARENA_FREE, OWNED/NOWNED are the block slots the arena
 * owned (trace_owned): their touches count too.  Returns 0 or
 * TRACE_ENOMEM. */
int tsplit_add(tsplit_t *t, const trace_event_t *ev, const uint32_t *owned, size_t nowned,
               uint32_t *thread, tsplit_dep_t *dep);

/* The thread of dense index I (I < t->nthreads). */
const tsplit_thread_t *tsplit_thread(const tsplit_t *t, uint32_t i);

#endif
