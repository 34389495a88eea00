/* threads.h: a trace of several threads replayed on as many OS threads
 * (`replay --threads recorded`), each running its own events in their
 * recorded order, synchronised only at the sync points the trace needs.
 *
 * Before the baseline the whole trace is read into one stream per thread
 * (two passes over the reader, every table in mappings of its own):
 *   - the sync points come from sim/trace/tsplit.h: an `r` or `f` of a
 *     block another thread touched last waits until that thread has done
 *     that touch (its stream position); the touched event is marked, and
 *     only marked events publish their thread's progress;
 *   - pacing: the data dependencies alone let a thread that never waits
 *     (a producer) run arbitrarily far ahead of the others and hold memory
 *     the program never held at once; so the recorded order is cut into
 *     windows of W = THREADS_PACE events per thread times the threads, and
 *     a thread's first event past window L waits until every other thread
 *     has done its events before window L-1: threads stay within about 2W
 *     events of the recorded order of each other (snapshots of each
 *     thread's position at every window, published like sync points);
 *   - block slots are renumbered so that a slot freed by one thread is
 *     only ever reused by that same thread (a free list per thread): two
 *     threads never race for a slot the recorded order would have
 *     recycled between them, so allocations never wait;
 *   - the threads and their stacks (mapped here, a guard page each) are
 *     created and their stacks faulted in before the baseline, and wait
 *     on a barrier; they exit after the end.
 * Between the baseline and the end only the trace's events reach the
 * allocator (the clean room of replay.h): waits spin briefly, yield a few
 * times, then sleep on a futex; nothing allocates.
 *
 * Which runs are threaded: the trace has more than one thread and no
 * arena events (the arena modes are models); every class of the route is
 * ALLOC_THREAD_SAFE and none has the debug layer; no probes (latency,
 * instructions) and no --mallocstats dump; at most THREADS_MAX threads.
 * Any other run is serialized: the events on one thread in the recorded
 * order, as CPython with the GIL calls its allocators -- so the models
 * (pymalloc, arena, cpython, the debug variants, plugins that do not
 * declare thread safety) give the same figures as `--threads 1`.
 *
 * Figures of a threaded run: ns is the wall time from the start barrier
 * to the last thread's end; a measurement run keeps live bytes and blocks
 * in shared atomic counters (their peaks exact), samples every
 * ~events/nsamples events of all threads (resident memory, the
 * allocator's figure, fragmentation as replay.h says) and has no internal
 * fragmentation (NaN: there is no one moment of peak live to stop at).
 * Real allocators' figures then depend on the interleaving: they vary
 * from run to run as the threads' timing does.
 *
 * --verify works as in the serialized replay: a block's pattern comes from
 * its id and its event's index in the recorded order, and a thread that
 * frees another's block checks the pattern the other wrote. */
#ifndef ARENALAB_SIM_REPLAY_THREADS_H
#define ARENALAB_SIM_REPLAY_THREADS_H

#include "sim/replay/replay.h"

/* Pacing window per thread, in events (see above). */
#define THREADS_PACE 1024

/* Most threads a replay runs on; a trace with more is serialized. */
#define THREADS_MAX 256

/* replay_threads_run's answer for a run that is not threaded. */
enum { REPLAY_SERIALIZE = 1 };

/* The run of replay_run (same arguments and results) on the trace's
 * threads, with res->threads set; or REPLAY_SERIALIZE, having done
 * nothing the serialized run would notice, when the run is not threaded
 * (see above). */
int replay_threads_run(trace_reader_t *r, const route_t *route, const replay_scan_t *scan,
                       const replay_opts_t *o, replay_result_t *res, metrics_series_t *ser,
                       char *err, size_t errlen);

#endif
