/* jobs.h: runs a report's (trace, route) units in parallel through the
 * replay driver (sim/replay/driver.h), never two timing runs on one CPU at once.
 *
 * Groups.  The units of one trace form a group, run by one driver_run:
 * its timed runs are interleaved across the group's allocators (rounds in
 * a shuffled order, see sim/replay/driver.h), and units that are the same
 * configuration run once.  Group k (in order of the trace's first unit)
 * shuffles from the seed jobs_config_t.seed + k.
 *
 * Policy.  Groups without timed runs (repeat 0 everywhere: footprint and
 * fragmentation only, figures that do not depend on speed) go first, on
 * up to `jobs` threads that may share CPUs.  Groups with timed runs go
 * next, on min(jobs, CPUs we may use) threads, thread k pinned with
 * sched_setaffinity to the k-th CPU of our affinity mask; the driver's
 * worker processes inherit the pin, and a driver runs one replay at a
 * time, so each CPU runs at most one timed replay at a time.  A thread
 * runs one group at a time, taking the next from a shared counter.
 * Timed groups whose trace has events of two threads or more (found by
 * reading it until a second thread shows) go last, one at a time on one
 * unpinned thread: their replay runs the trace's threads on every CPU of
 * our mask, with no other unit running (figures.h: the scaling plot).
 *
 * The first failed group stops the handing out; groups already running
 * finish.  Every group that ran keeps its results.
 *
 * One group alone.  jobs_run_group runs group G only, through the same
 * phases, threads and pins as jobs_run (a Slurm array task is one group:
 * sim/report/array.h), so its figures are those a local run would give.
 *
 * Progress (when asked, on a terminal): one status line on stderr,
 * rewritten in place -- units done and left, time so far, what started
 * last.
 *
 * Failure: jobs_run returns 0, or the exit status (cli.h) of the first
 * group that failed, the index of its first unit in *FAILED; the driver
 * has printed why (naming the allocator).  Out of memory or a thread that cannot start is CLI_FAIL
 * with *FAILED = JOBS_NONE.
 */
#ifndef ARENALAB_SIM_REPORT_JOBS_H
#define ARENALAB_SIM_REPORT_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "sim/replay/driver.h"

#define JOBS_NONE ((size_t)-1)
#define JOBS_MAX  256

typedef struct {
    const char *trace; /* the file to replay                              */
    const char *name;  /* shown in progress                               */
    route_t route;     /* must stay put until the results are freed       */
    unsigned repeat;   /* timed runs                                      */
} jobs_unit_t;

typedef struct {
    unsigned jobs;      /* parallel groups asked for (1..JOBS_MAX)          */
    uint64_t nsamples;  /* samples of each measurement run                 */
    int progress;       /* status line on stderr                           */
    const char *self;   /* worker executable; NULL: /proc/self/exe         */
    route_find_fn find; /* NULL: the registry                             */
    uint64_t seed;      /* order of the timed runs (driver_config_t.seed)   */
    unsigned measure;   /* what is measured (driver_config_t.measure)      */
} jobs_config_t;

/* The CPUs this process may run on (its affinity mask), at least 1. */
unsigned jobs_cpus(void);

/* Runs UNITS[0..N); RUNS[i] (zeroed by the caller) gets unit i's result,
 * with .route pointing at UNITS[i].route and .trace at UNITS[i].trace. */
int jobs_run(const jobs_config_t *cfg, const jobs_unit_t *units, size_t n, driver_run_t *runs,
             size_t *failed);

/* Runs group G alone (see above); RUNS as for jobs_run, only the group's
 * units filled.  G out of range is CLI_USAGE with *FAILED = JOBS_NONE. */
int jobs_run_group(const jobs_config_t *cfg, const jobs_unit_t *units, size_t n, size_t g,
                   driver_run_t *runs, size_t *failed);

/* The groups of UNITS[0..N): OF[i] (room for N) gets unit i's group;
 * groups are numbered in order of their first unit, and group g shuffles
 * its timed runs from jobs_config_t.seed + g.  Returns how many groups
 * there are. */
size_t jobs_groups(const jobs_unit_t *units, size_t n, size_t *of);

/* Frees what RUNS[0..N) own (units that never ran hold nothing). */
void jobs_runs_free(driver_run_t *runs, size_t n);

#endif
