/* replay.h: the replay engine — one run of one trace through one route of
 * allocator instances, in this process.
 *
 * A replay of a (trace, route) pair is a pre-pass and a series of runs,
 * each on fresh instances (sim/replay/driver.c puts them in worker processes):
 *
 *   replay_scan   reads the whole trace once without allocating: event
 *                 count, where live bytes peak, table sizes.  Its numbers
 *                 size every table before an allocator exists, so nothing
 *                 the engine keeps grows (or shows in RSS) while measured.
 *   measurement   replay_run with nsamples > 0: samples ~nsamples points
 *                 (sim/replay/metrics.h) plus the peak-live event: live
 *                 bytes, the worker's anonymous resident memory above its
 *                 baseline (the one memory figure of every allocator) and
 *                 the allocator's own held figure, tracked after every
 *                 event when the classes' stats() are cheap (not
 *                 ALLOC_SLOW_STATS); computes the fragmentation figures
 *                 (from resident memory) and internal fragmentation at peak
 *                 live.  It also warms up.
 *   timed         replay_run with nsamples == 0: counters only; the time of
 *                 the event loops is summed in ns.
 *
 * Clean room: between the baseline (taken after the route is created) and
 * the end of a run, nothing but the trace's events reaches the allocators:
 * the engine's tables live in mappings of their own (sim/base/mapvec.h),
 * touched before the baseline; the worker's reader keeps its memory in a
 * private heap (TRACE_R_PRIVATE_HEAP) and, rewound after the pre-pass,
 * allocates nothing; samples go to a pre-mapped series and RSS is read
 * with pread.  The weak hooks arenalab_measure_begin/end, when a preloaded
 * library defines them, are called at the baseline and at the end (the
 * tests count malloc calls between them).
 *
 * Decoding is never timed: events are decoded in chunks of REPLAY_CHUNK
 * into a compact array (16 bytes an event, the rest of each event beside
 * it; mapped outside malloc, sim/base/mapvec.h), then the loop over the
 * chunk is timed with CLOCK_MONOTONIC, after a sched_yield so that it
 * starts on a fresh time slice.  The default loop (no probe, no --verify)
 * calls the allocator straight from a switch over the events, as a bare
 * replayer does (minreplay --time; scripts/bench section 2 holds the two
 * side by side); every other event kind and every failure goes through the
 * general path.  Memory stays bounded for any trace length, and every run
 * starts with trace_rewind.
 *
 * --verify fills each block with a pattern derived from its id and the
 * event that allocated it (as CS:APP's mdriver does), checks a calloc'ed
 * block reads as zero, the whole block before a realloc, the preserved
 * prefix after it, and the whole block at free (arena memory at `x`).
 *
 * API violations (an `r` or `f` through another domain than the block's,
 * delivered by a reader opened with TRACE_R_CROSS_DOMAIN) replay only when
 * both domains have the debug layer (route.h): the call goes through the
 * calling domain, whose layer catches it as CPython's hooks do, and the
 * run fails with their message -- or, with keep_going, counts it
 * (debug_faults) and applies the event through the block's own domain, as
 * the program meant.  Without the layer on both, the run fails with the
 * reader's message.
 *
 * Live bytes count every requested byte the trace holds: blocks (a c r)
 * and arena allocations (m); live blocks count both kinds.  Internal
 * fragmentation (sum usable - sum requested, / sum requested, at peak
 * live) covers blocks only: arena memory belongs to the arena mode.
 *
 * Failure: 0 on success; REPLAY_EUSAGE for a route that cannot be created
 * (unknown allocator or parameter) or a trace that cannot be read as one
 * (a syntax error, a corrupt binary: exit 2, as every command gives);
 * REPLAY_EFAIL for everything else: a semantic error of the trace (without
 * --lenient), an allocation that returned NULL, a verification mismatch,
 * out of memory.  The message is in ERR, as
 * "FILE:LINE: event N: what (allocator A)" for text traces and
 * "FILE: event N: what (allocator A)" for binary ones.
 */
#ifndef ARENALAB_SIM_REPLAY_REPLAY_H
#define ARENALAB_SIM_REPLAY_REPLAY_H

#include <stdint.h>
#include <stdio.h>

#include "sim/replay/arenas.h"
#include "sim/replay/latency.h"
#include "sim/replay/metrics.h"
#include "sim/replay/route.h"
#include "sim/trace/trace.h"

/* Events decoded per chunk at most (and the size of the timed loop): 256
 * KiB of events, which the loop then reads from the cache the decoding
 * left them in; the rest of each event (24 bytes) is streamed past the
 * cache.  Measured against 8 K, 32 K and a whole trace at once (raw,
 * interleaved): decoding megabytes evicts the heap under test before every
 * loop, and smaller chunks pay their boundaries. */
#define REPLAY_CHUNK 16384

enum { REPLAY_EFAIL = -1, REPLAY_EUSAGE = -2 };

typedef struct {
    uint64_t events;           /* events delivered                          */
    uint64_t skipped;          /* reader errors skipped (--lenient)        */
    uint64_t peak_live_bytes;  /* highest live requested bytes             */
    uint64_t peak_live_at;     /* position (events applied) where it was
                                  first reached; 0 when nothing was live   */
    uint64_t peak_live_blocks; /* highest live block + arena-block count   */
    uint32_t slots;            /* block slot high-water mark               */
    uint32_t aslots;           /* arena slot high-water mark               */
    uint64_t arena_records;    /* highest count of live arena allocations  */
    int threaded;              /* events of more than one thread (threads.h) */
} replay_scan_t;

/* The pre-pass over R (rewound first).  With LENIENT, reader errors that
 * leave the reader usable are counted; otherwise the first stops it.
 * Returns 0, or REPLAY_EFAIL / REPLAY_EUSAGE (as replay_run) with the
 * reader's message. */
int replay_scan(trace_reader_t *r, int lenient, replay_scan_t *out, char *err, size_t errlen);

/* How far a pass got, for a progress line: called with the events taken so
 * far, once per batch or chunk of events and outside any timed region (see
 * replay_opts_t.progress). */
typedef void (*replay_progress_fn)(void *ud, uint64_t events);

/* replay_scan calling PROGRESS (may be NULL) with UD as it goes. */
int replay_scan_ex(trace_reader_t *r, int lenient, replay_progress_fn progress, void *ud,
                   replay_scan_t *out, char *err, size_t errlen);

/* How a replay uses the payload of the blocks it allocates, as a program
 * would: nothing, one write per page (and the last byte) of every new
 * block and of the grown part of a realloc, or every byte.  The writes are
 * part of the timed region (the page faults they cause are a cost the
 * allocator's placement decides) and the same for every allocator. */
typedef enum {
    REPLAY_TOUCH_NONE,
    REPLAY_TOUCH_PAGE,
    REPLAY_TOUCH_ALL,
    REPLAY_NTOUCH
} replay_touch_t;

/* "none", "page", "all", indexed by replay_touch_t. */
extern const char *const replay_touch_name[REPLAY_NTOUCH];

/* The mode named NAME, or -1. */
int replay_touch_find(const char *name);

/* What a timed run does around each event's allocator call -- each a loop
 * of its own, compiled with its probe inline, so the default loop has
 * none and costs what it cost before probes existed:
 *   NONE      nothing (timed runs, and the measurement run);
 *   LATENCY   reads the clock (latency.h) just before the call and just
 *             after it, and records the duration, less the clock's
 *             overhead, in the histogram of the event's operation -- for
 *             one event in about lat_every, chosen by pseudo-random gaps
 *             from a fixed seed (the same events in every run); the
 *             others run as the default loop runs them.  A clock reading
 *             costs 15-35 ns on the machines we have, a call 10-50 ns:
 *             timing every call would triple the cost of a run;
 *   COUNT     switches callgrind's collection on just before the call and
 *             off after the event's payload touches (callgrind.h), so
 *             only the allocator's work and the program's use of the block
 *             are counted; --verify's checks are left out of such a run.
 * Arena events are probed as one call each (`x` with the frees of the
 * blocks it owns). */
typedef enum { REPLAY_PROBE_NONE, REPLAY_PROBE_LATENCY, REPLAY_PROBE_COUNT } replay_probe_t;

typedef struct {
    route_find_fn find;          /* NULL: the registry                     */
    const arenas_mode_t *arenas; /* NULL: arenas_modes[0]                  */
    const char *arena_params;    /* the mode's "k=v:k=v", NULL for none   */
    int verify;                  /* check patterns (see above)             */
    int lenient;                 /* skip and count reader errors           */
    uint64_t nsamples;           /* > 0: measurement run; 0: timed run    */
    FILE *mallocstats;           /* measurement: dump the classes'
                                    mallocstats here before destroying    */
    const char *label;           /* allocator name in messages            */
    replay_touch_t touch;        /* REPLAY_TOUCH_PAGE by default (0 is none:
                                    callers set it)                       */
    int keep_going;              /* count what the debug layer catches and
                                    go on (see above)                     */
    FILE *warn;                  /* keep_going: the first caught ones are
                                    described here; NULL: not at all      */
    uint64_t stop_after;         /* > 0: end the run after this many events
                                    (a mallocstats dump at that point)    */
    replay_probe_t probe;        /* timed run: the probes (see above)      */
    lat_table_t *lat;            /* LATENCY: the histograms, mapped and
                                    zeroed by the caller before the run   */
    const lat_clock_t *clock;    /* LATENCY: the clock, calibrated         */
    uint32_t lat_every;          /* LATENCY: time one event in about this
                                    many (0 or 1: every one)              */
    replay_progress_fn progress; /* NULL, or called after each chunk with
                                    the events applied so far: between
                                    chunks, where the clock of a timed run
                                    is stopped and the decoder runs, so it
                                    never lands in a timed loop; it must
                                    not allocate (the clean room).  On
                                    the threaded path (threads.h): the
                                    events read into the threads' tables
                                    before the clock starts, then once
                                    all when the threads have ended --
                                    nothing while they run              */
    void *progress_ud;
    int threads_recorded; /* replay a trace of several threads on
                             as many threads (threads.h) when the
                             route and the run allow it; 0: one
                             thread, events in the recorded order */
} replay_opts_t;

/* Where `--mallocstats[=WHEN]` dumps: "end", "peak" (the first event where
 * live bytes peak), "event:N" (after N events) or "marker:NAME" (where the
 * first marker whose value, or KEY=VALUE, is NAME was written).  The event
 * count after which the state is shown, from SCAN and R's markers (R must
 * have been read through: the worker's reader keeps every marker).  0
 * with *AT set, or -1 with a message in ERR. */
int replay_mallocstats_at(const char *when, const replay_scan_t *scan, const trace_reader_t *r,
                          uint64_t *at, char *err, size_t errlen);

/* Whether WHEN is well formed (the marker's existence aside). */
int replay_mallocstats_when_ok(const char *when);

typedef struct {
    uint64_t events;          /* events applied                           */
    uint64_t skipped;         /* reader errors skipped (--lenient)        */
    uint64_t ns;              /* timed run: ns spent in the event loops   */
    uint64_t cpu_ns;          /* timed run: CPU time of the threads that ran
                                 them (CLOCK_THREAD_CPUTIME_ID), summed:
                                 the harness's and allocator's work,
                                 whatever else the machine runs          */
    uint64_t peak_live_bytes; /* measurement run: the figures below       */
    uint64_t peak_live_blocks;
    uint64_t peak_resident; /* the common figure: highest anonymous resident
                               memory of the worker above its baseline
                               (taken after create), over the samples and
                               the peak-live event                       */
    uint64_t peak_held;     /* the allocator's own figure: the highest of
                               its exact peak, the per-event readings and
                               the samples (alloc_stats_t.footprint)     */
    double internal_frag;   /* NaN when a class has no usable_size      */
    metrics_frag_t frag;
    uint64_t debug_faults; /* API violations the debug layer caught
                              (keep_going)                              */
    uint64_t probes;       /* COUNT: on/off pairs made (callgrind.h)    */
    uint64_t threads;      /* threads the events ran on: 1 serialized,
                              else the trace's thread count (threads.h);
                              ns is then the wall time of them all     */
} replay_result_t;

/* One run of R through fresh instances of ROUTE (created and destroyed
 * here).  SCAN comes from replay_scan on the same trace.  A measurement run
 * fills SER (initialized here; the caller frees it), a timed run leaves it
 * alone (may be NULL).  Returns 0, REPLAY_EUSAGE or REPLAY_EFAIL. */
int replay_run(trace_reader_t *r, const route_t *route, const replay_scan_t *scan,
               const replay_opts_t *o, replay_result_t *res, metrics_series_t *ser, char *err,
               size_t errlen);

#endif
