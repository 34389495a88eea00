/* driver.h: runs every (trace, route) pair of a replay in worker processes
 * and collects their results.
 *
 * Each pair gets a process of its own, so heaps and RSS never leak from one
 * allocator into the next: fork, then exec of our own executable
 * (/proc/self/exe) in the hidden worker mode `replay --worker ...`.  Exec,
 * not just fork, because a class flagged ALLOC_PRELOAD needs its malloc in
 * LD_PRELOAD from the start; the driver sets it in the worker's
 * environment.  A worker reads the trace, runs the pre-pass, the
 * measurement run and the timed runs (sim/replay/replay.h), and writes its results
 * as text lines to a pipe (fd 3):
 *
 *   scan EVENTS SKIPPED
 *   extra J NAME            extra column J of the series is NAME
 *   sample F1 .. F5         the METRICS_SAMPLE_FIELDS of a sample
 *   x J VALUE               extra J of the sample just sent
 *   m FIELD VALUE           a measurement figure (driver_fields in driver.c)
 *   timed NS EVENTS         one timed run
 *   error CODE MESSAGE      the run failed; CODE is the exit status
 *   done
 *
 * Doubles travel as C99 hex floats (%a), so the figures the parent reports
 * are bit-identical to the worker's.  A class flagged ALLOC_PROCESS_GLOBAL
 * gets a fresh worker for the measurement run and for each timed run, so
 * none of its statistics include a warm-up.
 *
 * The parent reads the pipe to its end, then reaps the worker: a worker
 * that dies of a signal is reported with the signal's name and the pair it
 * was running, never waited on forever.  The first failed pair stops the
 * replay (outputs are written only when every pair succeeded).
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

#include "sim/replay/metrics.h"
#include "sim/replay/replay.h"
#include "sim/replay/route.h"

typedef struct {
    const char *const *traces;
    size_t ntraces;
    const route_t *routes;
    size_t nroutes;
    unsigned repeat;        /* timed runs per pair                        */
    uint64_t nsamples;      /* samples of the measurement run (> 0)       */
    int verify;             /* replay_opts_t.verify                       */
    int lenient;            /* replay_opts_t.lenient                      */
    int keep_going;         /* replay_opts_t.keep_going                   */
    int mallocstats;        /* workers print it on stdout                 */
    const char *arena_mode; /* NULL: the default mode                     */
    const char *touch;      /* replay_touch_name[]; NULL: "page"          */
    int progress;           /* "[n/m] trace with allocator" on stderr     */
    const char *self;       /* NULL: /proc/self/exe                       */
    route_find_fn find;     /* NULL: the registry                         */
} driver_config_t;

typedef struct {
    const char *trace;    /* as given                                   */
    const route_t *route; /* as given                                   */
    char allocator[256];  /* route_name()                               */
    replay_result_t m;    /* the measurement run                        */
    unsigned repeat;      /* timed runs done                            */
    metrics_summary_t ns_per_event;
    metrics_series_t series;
} driver_run_t;

/* Runs every pair, trace-major.  On 0, *RUNS holds ntraces * nroutes
 * results (free with driver_runs_free). */
int driver_run(const driver_config_t *cfg, driver_run_t **runs, size_t *nruns);
void driver_runs_free(driver_run_t *runs, size_t n);

/* The worker mode: ARGV[0] is "--worker", the rest what driver_run passes.
 * FIND resolves allocator names (NULL: the registry; tests add their own
 * classes).  Returns the exit status. */
int driver_worker(int argc, char **argv, route_find_fn find);

#endif
