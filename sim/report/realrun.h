/* realrun.h: a real program, not a replay, run under an allocator that can
 * serve a real process (the C library's malloc, or a preloaded library),
 * with the kernel's figures of each run -- what `arenalab run` prints and
 * what a report's "Replay vs real run" section sets beside the replays of
 * the program's recording (experiment declaration program()).
 *
 * A run is a fork + exec of ARGV (PATH searched) in a given directory with
 * our environment but LD_PRELOAD, set to exactly the allocator's library
 * (nothing for raw/malloc), standard input and output /dev/null; the
 * figures are wait4's rusage and a monotonic clock around it.
 *
 * Comparison.  A replay's peak resident is the allocator's heap above the
 * worker's baseline; a real run's max RSS includes the program itself (its
 * interpreter, code, stack): the two measure different things, so what is
 * compared is the order they put the allocators in -- the count of pairs
 * the replay orders as the real run does, and Kendall's tau-a.
 *
 * Invariant: every run of one program executes the same argv in the same
 * directory with the same environment but LD_PRELOAD.
 */
#ifndef ARENALAB_SIM_REPORT_REALRUN_H
#define ARENALAB_SIM_REPORT_REALRUN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/replay/driver.h"
#include "sim/replay/route.h"
#include "sim/replay/timing.h"
#include "sim/report/experiment.h"

/* The figures of one run. */
typedef enum { RR_WALL, RR_USER, RR_SYS, RR_MAXRSS, RR_MINFLT, RR_NFIG } rr_fig_t;

/* Their JSON keys ("wall_s", ...) and column heads ("wall s", ...). */
extern const char *const rr_fig_key[RR_NFIG];
extern const char *const rr_fig_head[RR_NFIG];

/* The library route R runs a real process with ("" for the C library's),
 * its display name in NAME; or NULL with the reason in WHY (a model
 * allocator lives inside a replay; a route, parameters or layers are not
 * one malloc). */
const char *rr_preload(const route_t *r, char *name, size_t len, char *why, size_t whylen);

/* The same for an allocator SPEC as an experiment declares it. */
const char *rr_preload_spec(const char *spec, char *why, size_t whylen);

/* One run of ARGV in DIR (NULL: here) under PRELOAD: its figures into FIG,
 * its exit status into *STATUS (128 + signal when killed).  Returns 0, or
 * -1 with a message in ERR when it could not be started or was not found
 * (exit status 127). */
int rr_run_once(char *const *argv, const char *dir, const char *preload, double fig[RR_NFIG],
                int *status, char *err, size_t errlen);

/* A program's runs under one declared allocator. */
typedef struct {
    char skip[160];      /* why it was not run, or ""                   */
    const char *preload; /* its library ("": the C library's)           */
    double *fig[RR_NFIG];
    size_t n;
    int status; /* the program's last exit status               */
} rr_alloc_t;

/* Per trace of an experiment: NULL unless it was declared by program(),
 * else one rr_alloc_t per declared allocator. */
typedef struct {
    rr_alloc_t **traces;
    size_t ntraces, nallocs;
    unsigned repeat; /* runs per allocator                         */
} rr_set_t;

/* Runs every program() trace of E under each of its available allocators
 * that can serve a real process, E->repeat times each (once when it is
 * 0: memory only), in rounds shuffled
 * from SEED, in E->root; a progress line per run on PROGRESS (NULL: none).
 * Returns 0, or -1 with a message in ERR (nothing left allocated). */
int rr_run_experiment(const exp_t *e, uint64_t seed, FILE *progress, rr_set_t *out, char *err,
                      size_t errlen);
void rr_set_free(rr_set_t *s);

/* One row of the comparison of trace T: a declared allocator replayed in
 * the grid and run for real. */
typedef struct {
    size_t alloc;                 /* index in exp_t.allocs                  */
    uint64_t replay_resident;     /* driver_run_t.m.peak_resident            */
    timing_summary_t replay_ns;   /* ns/event of the replay                  */
    timing_summary_t real_maxrss; /* bytes                                   */
    timing_summary_t real_wall;   /* seconds                                 */
} rr_row_t;

/* The rows of trace T (room for E->nallocs) from RUNS (per unit); returns
 * their count. */
size_t rr_rows(const exp_t *e, const driver_run_t *runs, const rr_set_t *s, size_t t,
               rr_row_t *rows);

/* Rank agreement of A and B (N values each, lower is better): the pairs
 * both order the same way (ties in either count as not agreeing), of all
 * N(N-1)/2, and Kendall's tau-a ((agree - disagree) / pairs; NaN when N <
 * 2). */
void rr_agreement(const double *a, const double *b, size_t n, size_t *agree, size_t *pairs,
                  double *tau);

/* The rank (1 = lowest) of V[I] among V[0..N), ties sharing the best. */
size_t rr_rank(const double *v, size_t n, size_t i);

/* Writes the section "Replay vs real run" of S to F: as HTML (HTML != 0,
 * names escaped) or as Markdown; nothing when no trace has real runs. */
void rr_write_section(FILE *f, const exp_t *e, const driver_run_t *runs, const rr_set_t *s,
                      int html);

#endif
