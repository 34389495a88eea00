/* driver.h: runs every (trace, route) pair of a replay in worker processes
 * and collects their results.
 *
 * Each pair gets a process of its own, so heaps and RSS never leak from one
 * allocator into the next: fork, then exec of our own executable
 * (/proc/self/exe) in the hidden worker mode `replay --worker ...`.  Exec,
 * not just fork, because a class flagged ALLOC_PRELOAD needs its malloc in
 * LD_PRELOAD from the start; the driver sets it in the worker's
 * environment.  A worker reads the trace, runs the pre-pass, the
 * measurement run and the timed runs (sim/replay/replay.h), and writes its
 * results as text lines to a pipe (fd 3):
 *
 *   scan EVENTS SKIPPED
 *   progress DONE TOTAL PHASE  with --progress: the pass PHASE ("pre-pass",
 *                           "measurement run", "timed run", ...) is DONE
 *                           events in, of TOTAL (0: unknown); every 4 Mi
 *                           events, sent between chunks, outside the
 *                           clock of a timed run
 *   extra J NAME            extra column J of the series is NAME
 *   sample F1 .. F5         the METRICS_SAMPLE_FIELDS of a sample
 *   x J VALUE               extra J of the sample just sent
 *   m FIELD VALUE           a measurement figure (driver_fields in driver.c)
 *   ready                   measured and warmed up: waiting for commands
 *   clock NAME RATE OVH RES latency: the clock (latency.h), once a process
 *   lat OP HISTOGRAM        latency: the run's calls of OP (lat_hist_write)
 *   timed NS EVENTS CPU     one timed run: wall ns, events, CPU ns of
 *                           the threads that ran it
 *   counts EVENTS PAIRS NS  the run under callgrind: events, probe pairs,
 *                           its wall time
 *   cg run|probe V...       its callgrind counts (callgrind.h's events), and
 *                           those of CG_PROBE_PAIRS empty probe pairs
 *   error CODE MESSAGE      the run failed; CODE is the exit status
 *   done
 *
 * Doubles travel as C99 hex floats (%a), so the figures the parent reports
 * are bit-identical to the worker's.
 *
 * Timing.  The timed runs of a trace are interleaved across its routes:
 * round r = 1..R runs every route that asked for r or more runs once, in
 * an order shuffled afresh each round (timing_shuffle, from the seed
 * driver_config_t.seed + the trace's index), so a slow minute of the
 * machine spreads over every allocator instead of landing on one, and
 * the order is the same for the same seed.  Two kinds of worker:
 *
 *   kept     one process per (trace, route) for the whole trace: the
 *            measurement run, one warm-up run (timed, not reported), then
 *            "ready"; it then waits on a command pipe (fd 4) and does one
 *            timed run per "run" line, each on fresh allocator instances,
 *            until the pipe closes.  Idle workers wait in read(), so only
 *            one replay of a driver runs at any moment.
 *   fresh    routes with a class whose state outlives an instance in its
 *            process -- ALLOC_PROCESS_GLOBAL (cpython: one instance per
 *            process), ALLOC_PRELOAD (the library is the process's
 *            malloc) and ALLOC_PROCESS_HEAP (raw, malloc, arena: their
 *            memory is the process heap, whose free lists, top and tuned
 *            thresholds carry over) -- get a process for the measurement
 *            and a new process for every timed run.  A warm-up run would
 *            leave the very state we avoid, so theirs is the pre-pass
 *            alone: it reads the whole trace, so its pages and the decoder
 *            are warm and the heap is as empty as a new program's.
 *            `pymalloc` routes its raw domain to malloc, so it is fresh.
 *
 * What is measured (driver_config_t.measure, `replay --measure`):
 *
 *   time          the timed runs above: ns/event (the default);
 *   latency       the timed runs with allocator calls timed, one in
 *                 about latency_every (replay.h's LATENCY probes): the
 *                 worker calibrates the clock once, maps its histograms
 *                 before the baseline and sends them after each run; the
 *                 parent merges them per pair.  ns/event then includes
 *                 the clock readings;
 *   instructions  after the timed runs, one run per configuration under
 *                 callgrind (callgrind.h): a fresh worker started as
 *                 `valgrind --tool=callgrind ... SELF replay --worker
 *                 --count DIR/cg`, with LD_BIND_NOW=1 and no address
 *                 randomisation, its allocators' LD_PRELOAD passed on; a
 *                 kept route's counted run follows one warm-up run in that
 *                 process, a fresh route's follows the pre-pass alone, as
 *                 for timed runs; jemalloc's and mimalloc's wall-clock
 *                 timers are pinned (driver.c, driver_count_env).
 *                 Without time or latency there are no timed runs.
 *
 * Identical configurations (route_canonical: `pymalloc`,
 * `pymalloc:arena=1M` and `pymalloc:arena=1MiB` are one) run once per
 * trace, with the most runs any of them asked for; every route asked for
 * gets a row with the same figures, marked as a duplicate.
 *
 * The parent reads each worker's lines as they come and reaps it when its
 * pipe ends: a worker that dies of a signal is reported with the signal's
 * name and the pair it was running, never waited on forever.  The first
 * failed pair stops the replay (outputs are written only when every pair
 * succeeded); kept workers still waiting are told to stop and reaped.
 *
 * Failure: driver_run and driver_worker return an exit status (cli.h): 0,
 * 1 (a run failed: bad trace, NULL allocation, verify mismatch, crash) or 2
 * (usage: unknown allocator or parameter, unreadable trace), after printing
 * "arenalab: ..." on stderr.
 */
#ifndef ARENALAB_SIM_REPLAY_DRIVER_H
#define ARENALAB_SIM_REPLAY_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include "sim/replay/callgrind.h"
#include "sim/replay/latency.h"
#include "sim/replay/metrics.h"
#include "sim/replay/replay.h"
#include "sim/replay/route.h"
#include "sim/replay/timing.h"

/* The seed of the run order when none is given (`replay --seed`). */
#define DRIVER_DEFAULT_SEED 1

/* What a replay measures, a set of bits (see above). */
enum {
    DRIVER_MEASURE_TIME = 1,
    DRIVER_MEASURE_LATENCY = 2,
    DRIVER_MEASURE_INSTRUCTIONS = 4,
    DRIVER_NMEASURES = 3
};

/* "time", "latency", "instructions": bit k is driver_measure_name[k]. */
extern const char *const driver_measure_name[DRIVER_NMEASURES];

/* The set named by LIST ("time,instructions") into *OUT.  Returns 0, or -1
 * for an empty list or an unknown name. */
int driver_measure_parse(const char *list, unsigned *out);

/* The names of the set M, comma-separated, into BUF. */
const char *driver_measure_text(unsigned m, char *buf, size_t len);

typedef struct {
    const char *const *traces;
    size_t ntraces;
    const route_t *routes;
    size_t nroutes;
    unsigned repeat;         /* timed runs per pair                        */
    uint64_t nsamples;       /* samples of the measurement run (> 0)       */
    int verify;              /* replay_opts_t.verify                       */
    int lenient;             /* replay_opts_t.lenient                      */
    int keep_going;          /* replay_opts_t.keep_going                   */
    const char *mallocstats; /* NULL, or where workers print the classes'
                                statistics on stdout (replay.h: end, peak,
                                event:N, marker:NAME)                     */
    const char *arena_mode;  /* NULL: the default mode                     */
    const char *touch;       /* replay_touch_name[]; NULL: "page"          */
    int progress;            /* on stderr: "[n/m] trace with allocator",
                                and a line of each pass's events done     */
    const char *self;        /* NULL: /proc/self/exe                       */
    route_find_fn find;      /* NULL: the registry                         */

    /* Timed runs per route, overriding `repeat` (NULL: none), and the seed
     * of their interleaved order. */
    const unsigned *repeats;
    uint64_t seed;

    unsigned measure;       /* DRIVER_MEASURE_*; 0: time                 */
    unsigned latency_every; /* latency: one call timed in about this many
                               (0: LAT_EVERY_DEFAULT; 1: every call)     */

    /* How far the running worker got, for a caller that draws progress of
     * its own (report's status line): the pass ("measurement run", ...),
     * events done of TOTAL (0: unknown).  Called in the thread that
     * called driver_run, every few million events (workers send it at
     * chunk boundaries, outside any timed region); NULL: none. */
    void (*on_progress)(void *ud, const char *phase, uint64_t done, uint64_t total);
    void *on_progress_ud;
    int threads_recorded;   /* a trace of several threads on as many
                               (replay_opts_t.threads_recorded); 0: one  */
} driver_config_t;

typedef struct {
    const char *trace;    /* as given                                   */
    const route_t *route; /* as given                                   */
    char allocator[256];  /* route_name()                               */
    replay_result_t m;    /* the measurement run                        */
    unsigned repeat;      /* timed runs done                            */
    timing_summary_t ns_per_event;
    double *ns_runs; /* ns/event of each timed run, in the order run
                        (repeat of them; malloc'ed, NULL when none)  */
    /* route_canonical: rows of one trace with the same config are the
     * same configuration */
    char config[ROUTE_CONFIG_MAX];
    char same_as[256];    /* "", or the allocator of the earlier row of
                             this trace with the same config: it ran once,
                             this row's figures are a copy of its          */
    int timing_too_short; /* fewer than TIMING_MIN_EVENTS events: its
                             timings are mostly the clock's and the
                             loop's overhead, never a verdict           */
    metrics_series_t series;
    /* m.threads replayed the events (threads.h): the median run's wall
     * time per event times the threads (a thread's time per event, were
     * they all busy throughout), and events per second over all threads
     * (NaN without timed runs) */
    double ns_per_event_per_thread;
    double events_per_s;
    /* CPU time per event of the timed runs' threads (their sum over all
     * runs / their events): what the work costs, whatever else the
     * machine runs; NaN without timed runs */
    double cpu_ns_per_event;

    /* latency: the calls of every timed run, merged (NULL: not measured),
     * the clock of the first worker that timed them, and the summaries
     * per operation, LAT_ALL last */
    lat_table_t *lat;
    lat_clock_t clock;
    lat_summary_t latency[LAT_NSUMMARIES];
    /* instructions: the run under callgrind (has_counts), the cost of the
     * probe pairs taken off (cg_subtract) */
    int has_counts;
    cg_counts_t counts;
    uint64_t count_events;     /* events of that run                      */
    uint64_t count_probes;     /* probe pairs made                        */
    double probe_instructions; /* instructions of one pair, taken off     */
    double count_ns_per_event; /* its wall time per event (the slowdown)  */
    double instructions_per_event, d1_misses_per_event, ll_misses_per_event;
} driver_run_t;

/* Runs every pair, trace-major.  On 0, *RUNS holds ntraces * nroutes
 * results (free with driver_runs_free). */
int driver_run(const driver_config_t *cfg, driver_run_t **runs, size_t *nruns);
void driver_runs_free(driver_run_t *runs, size_t n);
/* Frees what one result owns (its series and timings). */
void driver_run_release(driver_run_t *run);

/* Whether a route with class flags FLAGS gets a fresh process for every
 * timed run (see "fresh" above). */
int driver_fresh(unsigned flags);

/* The worker mode: ARGV[0] is "--worker", the rest what driver_run passes.
 * FIND resolves allocator names (NULL: the registry; tests add their own
 * classes).  Returns the exit status. */
int driver_worker(int argc, char **argv, route_find_fn find);

#endif
