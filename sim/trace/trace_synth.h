/* trace_synth.h: seeded synthetic traces, for tests, fuzz seeds and the
 * benchmark.
 *
 * TSYNTH_RANDOM exercises everything the formats allow: every op and
 * domain, arenas and ownership, ids anywhere in 0 .. 2^32-1 (reused after
 * frees), sizes up to 2^48, thread switches and markers.
 * TSYNTH_REALISTIC looks like a recorded program: sequential ids, small
 * sizes, mostly last-in-first-out frees, a few reallocs and arenas.
 *
 * Both are valid by construction (the generator tracks the live set with
 * the same live_t the readers use) and depend only on the seed. */
#ifndef ARENALAB_SIM_TRACE_TRACE_SYNTH_H
#define ARENALAB_SIM_TRACE_TRACE_SYNTH_H

#include <stdint.h>

#include "sim/trace/trace.h"

typedef enum { TSYNTH_RANDOM, TSYNTH_REALISTIC } tsynth_style_t;

/* Writes N events (plus markers) to W.  0, or the writer's negative code
 * (TRACE_ENOMEM if the generator's own tables cannot grow). */
int tsynth_write(trace_writer_t *w, uint64_t seed, uint64_t n, tsynth_style_t style);

/* A trace of NTHREADS threads (ids 1..NTHREADS) for the threaded replay:
 * N events in bursts of 32 per thread, round robin; each thread keeps
 * about 256 blocks of 16..1024 bytes live, mostly allocating and freeing
 * its own (a few reallocs), and hands REMOTE_PER_MILLE of its allocations
 * over to the next thread, which frees them (remote frees).  Every thread
 * does the same work whatever NTHREADS is, so the same N over more threads
 * is the same work spread wider.  Blocks still live at the end stay live.
 * 0, or the writer's negative code. */
int tsynth_write_threads(trace_writer_t *w, uint64_t seed, uint64_t n, uint32_t nthreads,
                         unsigned remote_per_mille);

#endif
