/* results.h: everything one report knows -- the experiment, each unit's
 * replay result, each trace's own statistics, the environment -- the
 * judgements drawn from it (the best allocator per trace and by how much)
 * and the data files written from it.
 *
 * Data files, in the result directory:
 *   runs.json        `arenalab replay --json`'s document (sim/replay/output.c),
 *                    one run per unit, traces named by their experiment name
 *   runs.csv         the same figures, one row per unit (report_csv_*):
 *                    what `arenalab compare` reads
 *   series/T.csv     trace T's sampled series, every allocator (output_series)
 *   experiment.json  the experiment as run: traces (paths, workload seeds and
 *                    parameters, statistics), allocators (skipped ones with
 *                    the reason), sweeps, the command, the environment
 *
 * Invariant: every figure comes from a driver_run_t, a tstats pass or a
 * pools table; nothing is recomputed from the series.  Output is sorted by
 * the experiment's order, never by a hash, so equal inputs give equal bytes
 * (except timings, RSS and the environment).
 *
 * Failure: functions returning int give 0, or -1 with a message in ERR.
 */
#ifndef ARENALAB_SIM_REPORT_RESULTS_H
#define ARENALAB_SIM_REPORT_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "sim/replay/driver.h"
#include "sim/report/experiment.h"
#include "sim/report/jobs.h"
#include "sim/report/pools.h"
#include "sim/replay/output.h" /* output_bytes */
#include "sim/report/sysinfo.h"
#include "sim/trace/tstats.h"

typedef struct {
    uint64_t events;
    uint64_t peak_bytes; /* peak live bytes                             */
    uint64_t peak_at;    /* 0-based index of the event reaching it      */
    uint64_t size_hist[TSTATS_BINS];
    uint64_t requests;    /* sum of size_hist                            */
    int has_pools;        /* pools below is filled                       */
    pools_t pools;        /* pymalloc at peak_at (sim/report/pools.h)           */
    char pools_note[256]; /* why there is no pool table, or ""          */
} results_trace_t;

typedef struct {
    exp_t *exp;
    const jobs_unit_t *units; /* exp->nunits, parallel to exp->units       */
    const driver_run_t *runs; /* exp->nunits                               */
    results_trace_t *traces;  /* exp->ntraces                              */
    const char *pools_spec;   /* the pymalloc spec of the pool tables      */
    sysinfo_t sys;
    char *command;   /* the command line, shell-quoted            */
    const char *dir; /* the result directory's final path         */
    char stamp[32];  /* when it started                           */
    double seconds;  /* wall time of the replays                  */
    unsigned jobs;   /* parallel jobs used                        */
} results_t;

/* Reads trace T once (tstats) into R->traces[T].  Returns 0 or -1. */
int results_trace_stats(results_t *r, size_t t, char *err, size_t errlen);

/* The rank of the allocator SPEC among the declared allocators of its
 * class, in declaration order (0: the first; plot_colour); 0 for a spec
 * that is not declared (a sweep point). */
unsigned results_rank(const results_t *r, const char *spec);

/* The colour of SPEC in plots ("#rrggbb"), into BUF. */
const char *results_colour(const results_t *r, const char *spec, char *buf, size_t len);

/* Best allocator of trace T among the grid's: lowest peak footprint, or
 * lowest median ns/event. */
typedef struct {
    size_t best;   /* unit index, EXP_NONE when no allocator qualifies     */
    size_t second; /* runner-up unit, EXP_NONE when there is none          */
    double margin; /* runner-up / best - 1 (0: a tie)                     */
    int clear;     /* speed: the [min, max] ranges do not overlap          */
    int spread;    /* speed: both have 2+ timed runs, so a spread to judge */
} results_best_t;

void results_best_footprint(const results_t *r, size_t t, results_best_t *out);
void results_best_speed(const results_t *r, size_t t, results_best_t *out);

/* Whether two timing ranges are apart: [min, max] of A and B do not
 * overlap.  0 when either has no timed run. */
int results_apart(const metrics_summary_t *a, const metrics_summary_t *b);

/* Writes runs.json, runs.csv, series/ and experiment.json into DIR (the
 * partial directory). */
int results_write_data(const results_t *r, const char *dir, char *err, size_t errlen);

#endif
