/* figures.h: the plots of a report -- each a gnuplot script with its data
 * file in plots/, rendered as SVG and PNG, and described (title, one-line
 * caption saying what to read in it) for the HTML page.
 *
 * The figures, in page order:
 *   frag-util, frag-jw4  fragmentation per trace and allocator (bars)
 *   speed                ns/event per trace and allocator: median bars,
 *                        whiskers the median's confidence interval (only
 *                        when there are timed runs)
 *   scaling-K            each group of workloads differing only in their
 *                        `threads` parameter, at 2+ thread counts:
 *                        events/s over all threads against threads, a
 *                        line per allocator; a point only where the run
 *                        ran on the trace's threads (or threads=1)
 *   instructions, d1-misses, ll-misses  per event, per trace and
 *                        allocator (bars; only with measure("instructions"))
 *   pools, pools-occupancy  pymalloc's pools per size class at each trace's
 *                        peak (heat maps; only with a pool table)
 *   sweep-K-resident, sweep-K-speed  each sweep: parameter against peak
 *                        resident bytes and against ns/event, a line per trace
 *   wsweep-K-resident, wsweep-K-speed  each workload sweep (in the
 *                        overview): the swept workload parameter against
 *                        peak resident bytes and ns/event, a line per grid
 *                        allocator in its colour
 *   resident-T, latency-T, sizes-T  per trace: resident memory and live
 *                        bytes over time, a line per allocator; the share
 *                        of allocator calls slower than x (log-log CCDF, a
 *                        line per allocator; only with measure("latency"));
 *                        request sizes in log2 bins
 * Per-trace and overview plots show the grid's allocators (sweep points
 * appear only in the sweep plots), each in its palette colour, dash or fill
 * (plot.h), any number of them: the key gets as many rows as it needs and
 * the plot grows to hold them.
 *
 * Nothing to draw is not an error.  A trace with no events has no plots
 * of its own and is left out of the overview and sweep plots; an
 * allocator with no value to draw in a plot (no timed run, a ratio that
 * is NaN, or not positive on a log axis) is left out of that plot; a plot
 * left with nothing is not made.  Each such omission is a note
 * (figures_note_t) that the page shows where the plot would be, so gnuplot
 * never sees a series without a point (its warning would fail the report).
 *
 * Failure: figures_make returns 0, or -1 with a message in ERR (a file
 * that cannot be written; gnuplot failing or printing anything).
 */
#ifndef ARENALAB_SIM_REPORT_FIGURES_H
#define ARENALAB_SIM_REPORT_FIGURES_H

#include <stddef.h>

#include "sim/report/results.h"

typedef enum { FIGURES_OVERVIEW, FIGURES_SWEEP, FIGURES_TRACE } figures_kind_t;

typedef struct {
    char base[160]; /* plots/BASE.{gp,svg,png}                        */
    char title[256];
    char caption[600]; /* one line: what to read in it                   */
    figures_kind_t kind;
    size_t index; /* the trace (FIGURES_TRACE) or sweep             */
} figures_item_t;

/* What a section of the page lacks and why: a plot not made, or a trace
 * or allocator left out of one. */
typedef struct {
    figures_kind_t kind;
    size_t index; /* as in figures_item_t                            */
    char text[600];
} figures_note_t;

typedef struct {
    figures_item_t *f;
    size_t n, cap;
    figures_note_t *note;
    size_t nnotes, notecap;
} figures_t;

/* Writes every figure's script and data into DIR (plots/, created by the
 * caller) with style.gp, runs gnuplot on each, and lists them and the
 * notes in OUT. */
int figures_make(const results_t *r, const char *dir, figures_t *out, char *err, size_t errlen);
void figures_free(figures_t *f);

#endif
