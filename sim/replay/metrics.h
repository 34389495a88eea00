/* metrics.h: what a replay measures — the sample series, Johnstone &
 * Wilson's fragmentation figures (statistics of timings: timing.h).
 *
 * Sampling.  A measurement run takes about S samples at integer event
 * positions ceil(k * N / S), k = 1..S (N events; a position counts the
 * events applied when the sample is taken, so the last sample sees the
 * final state), plus one at the position where live bytes first peak (found
 * by a pre-pass).  Integer positions make the series of a (trace, allocator,
 * params) byte-identical from run to run, except RSS and timings.
 *
 * Fragmentation (M. S. Johnstone and P. R. Wilson, "The memory
 * fragmentation problem: solved?", ISMM 1998), with live = requested bytes
 * live and fp = the memory it costs — the replay feeds the worker's
 * resident memory above its baseline, one definition for every allocator:
 *   jw1 = mean over samples with live > 0 of fp / live - 1
 *   jw2 = fp / live - 1 at the moment live peaks
 *   jw3 = peak fp / live at the moment fp peaks - 1
 *   jw4 = peak fp / peak live - 1
 *   util = peak live / peak fp (CS:APP malloc lab's utilization)
 * A figure with a zero denominator is NaN (JSON null).  Ties keep the first
 * moment: the peak of live (or fp) is where it was first reached.
 *
 * Invariant: every figure is a function of the sequence of points fed to
 * the accumulator, in order; nothing here reads a clock.
 */
#ifndef ARENALAB_SIM_REPLAY_METRICS_H
#define ARENALAB_SIM_REPLAY_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "alloc/alloc.h"

/* ---- samples ---------------------------------------------------------- */

/* The fixed columns of a sample, one X(field, column) line each: the
 * struct, the series CSV header and the worker protocol all come from it. */
#define METRICS_SAMPLE_FIELDS(X)                                                                   \
    X(event, "event")                                                                              \
    X(live_bytes, "live_bytes")                                                                    \
    X(live_blocks, "live_blocks")                                                                  \
    X(resident, "resident_bytes")                                                                  \
    X(held, "held_bytes")

typedef struct {
#define METRICS_SAMPLE_FIELD(field, column) uint64_t field;
    METRICS_SAMPLE_FIELDS(METRICS_SAMPLE_FIELD)
#undef METRICS_SAMPLE_FIELD
} metrics_sample_t;

/* Column names in METRICS_SAMPLE_FIELDS order, and the matching offsets. */
#define METRICS_NFIELDS 5
extern const char *const metrics_sample_column[METRICS_NFIELDS];
extern const size_t metrics_sample_offset[METRICS_NFIELDS];

/* Extra (allocator-specific) counters per sample: up to ALLOC_MAX_EXTRA per
 * allocator instance, one instance per domain at most. */
#define METRICS_MAX_EXTRA (3 * ALLOC_MAX_EXTRA)
#define METRICS_NAME_MAX  48
/* Value of an extra counter a sample does not have. */
#define METRICS_ABSENT UINT64_MAX

/* A series: samples in event order, each with a value per extra name. */
typedef struct {
    metrics_sample_t *s;
    uint64_t *extra; /* [i * METRICS_MAX_EXTRA + j]: extra j of sample i  */
    size_t n, cap;
    int nextra;
    char extra_name[METRICS_MAX_EXTRA][METRICS_NAME_MAX];
} metrics_series_t;

/* Room for CAP samples in mappings of its own (never malloc: the series
 * must not live in the heap it measures).  PRETOUCH writes every page now,
 * so that sampling touches no new page while an allocator is measured (the
 * worker); without it pages become resident as rows are added (the
 * parent, which pays for what it receives, not for what it could).
 * Returns 0 or -1 (out of memory). */
int metrics_series_init(metrics_series_t *ser, size_t cap, int pretouch);
void metrics_series_free(metrics_series_t *ser);
/* Index of the extra column NAME, added if new; -1 when the table is full
 * or NAME is too long. */
int metrics_series_extra(metrics_series_t *ser, const char *name);
/* Appends S with every extra absent; returns its index, or -1 when full. */
long metrics_series_add(metrics_series_t *ser, const metrics_sample_t *s);

/* Sample positions: ceil(k * nevents / nsamples) for k = 1..nsamples, and
 * `also` (0 for none). */
typedef struct {
    uint64_t nevents;
    uint64_t nsamples; /* min(requested, nevents)                         */
    uint64_t k;        /* next k of the even positions                    */
    uint64_t also;
} metrics_plan_t;

void metrics_plan_init(metrics_plan_t *p, uint64_t nevents, uint64_t nsamples, uint64_t also);
/* The first position > AFTER, or UINT64_MAX when none is left. */
uint64_t metrics_plan_next(metrics_plan_t *p, uint64_t after);
/* How many positions the plan yields in all (for sizing a series). */
uint64_t metrics_plan_count(const metrics_plan_t *p);

/* Anonymous resident memory of this process, bytes: resident - shared from
 * /proc/self/statm, so file-backed pages (an mmap'ed trace, the binary)
 * are left out.  FD is an open /proc/self/statm (read with pread; nothing
 * is allocated).  Returns 0, or -1 when it cannot be read. */
int metrics_anon_rss(int fd, uint64_t *out);

/* ---- fragmentation ---------------------------------------------------- */

typedef struct {
    double jw1, jw2, jw3, jw4, util;
} metrics_frag_t;

typedef struct {
    double ratio_sum;   /* sum of fp / live over samples with live > 0   */
    uint64_t nratio;    /* how many                                      */
    uint64_t peak_live; /* highest live seen, and fp at that moment      */
    uint64_t fp_at_peak_live;
    uint64_t peak_fp; /* highest fp seen, and live at that moment       */
    uint64_t live_at_peak_fp;
} metrics_acc_t;

void metrics_acc_init(metrics_acc_t *a);
/* A sample: counts towards jw1 and both peaks. */
void metrics_acc_sample(metrics_acc_t *a, uint64_t live, uint64_t fp);
/* A moment that is not a sample (per-event tracking): peaks only. */
void metrics_acc_point(metrics_acc_t *a, uint64_t live, uint64_t fp);
/* An allocator's exact peak footprint, when it reports one: raises the
 * peak (live at that moment unknown, so jw3 keeps the live of the highest
 * point seen). */
void metrics_acc_exact_peak(metrics_acc_t *a, uint64_t peak_fp);
void metrics_acc_result(const metrics_acc_t *a, metrics_frag_t *out);

#endif
