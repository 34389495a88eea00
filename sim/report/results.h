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
 *                    parameters, a workload sweep's name and parameter, a
 *                    program()'s command and its real runs,
 *                    statistics, the machine that ran them),
 *                    allocators (skipped ones with the reason), sweeps, the
 *                    command, the environment, every machine's environment
 *   nodes.csv        per trace: the host and machine identity that ran it
 *                    (sysinfo_machine) and its Slurm job, what `compare`
 *                    reads to refuse timing comparisons across machines
 *
 * Machines.  Every unit of a trace runs on one machine (a local run: this
 * one; a Slurm run: the node of its array task), so comparing the
 * allocators of a trace compares timings taken on one machine.  Timings of
 * different traces, or of one trace in two reports, are comparable only
 * when their machines are the same; memory figures of our models are
 * machine-independent.
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
#include <stdio.h>

#include "sim/replay/driver.h"
#include "sim/report/experiment.h"
#include "sim/report/jobs.h"
#include "sim/report/pools.h"
#include "sim/report/realrun.h"
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

/* A machine that ran traces. */
typedef struct {
    sysinfo_t sys;    /* its environment ("host", "cpu", "kernel", ...)   */
    char machine[17]; /* sysinfo_machine                                 */
} results_node_t;

/* Where trace T ran. */
typedef struct {
    size_t node;    /* index in results_t.nodes, EXP_NONE: nowhere       */
    char job[64];   /* its Slurm array task ("JOB_K"), or ""             */
    double seconds; /* wall time of its replays (Slurm runs), else 0     */
} results_where_t;

typedef struct {
    exp_t *exp;
    const jobs_unit_t *units; /* exp->nunits, parallel to exp->units       */
    const driver_run_t *runs; /* exp->nunits                               */
    results_trace_t *traces;  /* exp->ntraces                              */
    const char *pools_spec;   /* the pymalloc spec of the pool tables      */
    sysinfo_t sys;
    char *command;         /* the command line, shell-quoted            */
    const char *dir;       /* the result directory's final path         */
    char stamp[32];        /* when it started                           */
    double seconds;        /* wall time of the replays                  */
    unsigned jobs;         /* parallel jobs used                        */
    uint64_t seed;         /* of the timed runs' order (jobs_config_t)  */
    const char *executor;  /* "local" or "slurm"                     */
    results_node_t *nodes; /* the machines that ran traces           */
    size_t nnodes;
    results_where_t *where; /* per trace                              */
    const rr_set_t *real;   /* program() traces' real runs, or NULL    */
} results_t;

/* Records that trace T ran on the machine SYS (added to R->nodes unless
 * one with the same identity is there), as Slurm job JOB ("" locally)
 * taking SECONDS.  R->where must have room for every trace.  Returns 0 or
 * -1 (out of memory). */
int results_ran_on(results_t *r, size_t t, const sysinfo_t *sys, const char *job, double seconds);

/* Reads trace T once (tstats) into R->traces[T], with a progress line on
 * PROGRESS (a terminal; NULL: none).  Returns 0 or -1. */
int results_trace_stats(results_t *r, size_t t, FILE *progress, char *err, size_t errlen);

/* The rank of the allocator SPEC among the declared allocators of its
 * class, in declaration order (0: the first; plot_colour); 0 for a spec
 * that is not declared (a sweep point). */
unsigned results_rank(const results_t *r, const char *spec);

/* The colour of SPEC in plots ("#rrggbb"), into BUF. */
const char *results_colour(const results_t *r, const char *spec, char *buf, size_t len);

/* How many units ran (the others are the same configuration as one that
 * did: driver_run_t.same_as). */
size_t results_distinct(const results_t *r);

/* Best allocator of trace T among the grid's: lowest peak footprint, or
 * lowest median ns/event.  The runner-up is the next best *other*
 * configuration: grid allocators that are the same configuration as the
 * best (driver_run_t.config) share its figures and are passed over.
 *
 * Speed verdicts.  The best and the runner-up are compared by the
 * Mann-Whitney U test on their timed runs (sim/replay/timing.h); the
 * p-values of every trace's comparison form one family, adjusted by
 * Benjamini-Hochberg.  The difference is `clear` when the adjusted p is
 * at most TIMING_ALPHA (5 %).  The runs of one report are interleaved, so
 * within it the test is calibrated (README.md, "Comparing reports"); no
 * minimum effect is needed on top.  A trace with fewer than
 * TIMING_MIN_EVENTS events crowns no fastest: `too_short`. */

/* Memory verdicts.  Peak resident memory is the kernel's count of resident
 * pages, measured once per unit: a real allocator's moves by a few pages
 * between identical runs (up to 6 seen), so a lead of at most
 * RESULTS_RSS_PAGES 4 KiB pages is not told apart from that movement (the
 * headline says "within 16 pages"; `arenalab compare` judges a change by
 * the same pages). */
#define RESULTS_RSS_PAGES 16

typedef struct {
    size_t best;   /* unit index, EXP_NONE when no allocator qualifies     */
    size_t second; /* runner-up unit, EXP_NONE when there is none          */
    double margin; /* runner-up / best - 1 (0: a tie)                     */
    int clear;     /* speed: a significant difference (see above); memory:
                      the runner-up needed more than RESULTS_RSS_PAGES pages
                      more                                                 */
    int within;    /* memory: not a tie, yet not clear: the headline says
                      "within RESULTS_RSS_PAGES pages"                     */
    int spread;    /* speed: both have 2+ timed runs, so a test to make    */
    int too_short; /* speed: the trace is too short to time: no best       */
    double p, q;   /* speed: the test's p-value and its BH-adjusted value,
                      NaN when there was no test                         */
} results_best_t;

void results_best_footprint(const results_t *r, size_t t, results_best_t *out);
void results_best_speed(const results_t *r, size_t t, results_best_t *out);

/* The headline's verdict on a speed comparison, for people: "clear (p =
 * 0.004)", "not clear (p = 0.31)", "no spread (1 run)", "" when there is
 * nothing to compare.  Returns BUF. */
const char *results_verdict(const results_best_t *b, char *buf, size_t len);

/* Whether a difference with adjusted p-value Q (NaN: untested) between
 * medians MA and MB is significant: Q <= TIMING_ALPHA and MA != MB. */
int results_clear(double q, double ma, double mb);

/* Writes runs.json, runs.csv, series/ and experiment.json into DIR (the
 * partial directory). */
int results_write_data(const results_t *r, const char *dir, char *err, size_t errlen);

#endif
