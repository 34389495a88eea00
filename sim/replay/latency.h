/* latency.h: how long each allocator call of a timed run takes -- a clock
 * cheap enough to read around every call, and log-scaled histograms per
 * operation that cost no allocation to fill.
 *
 * Clock.  On x86-64 with RDTSCP and an invariant TSC (CPUID 0x80000001
 * EDX bit 27, 0x80000007 EDX bit 8: the counter ticks at one rate on every
 * core, whatever the frequency), a reading is `rdtscp; lfence`: rdtscp
 * waits for the instructions before it, lfence keeps those after it from
 * starting early, so a pair of readings brackets exactly the call between
 * them.  No CPUID serialisation: it traps to the hypervisor in a VM
 * (microseconds).  Elsewhere, or when asked, clock_gettime(CLOCK_MONOTONIC)
 * through the vDSO, in ns.  lat_clock_init, once per worker before the
 * baseline:
 *   rate        TSC ticks per ns, calibrated against CLOCK_MONOTONIC over
 *               LAT_CALIBRATE_NS (1 for clock_gettime);
 *   overhead    the fewest ticks between two back-to-back readings over
 *               LAT_OVERHEAD_READS pairs: what a reading adds to the
 *               interval it brackets.  It is subtracted from every
 *               duration (a call faster than the clock's own cost reads
 *               0); the fewest, not the median, so that no duration is
 *               ever made shorter than it was;
 *   resolution  the step the readings move by: the GCD of the spans of
 *               pairs a little work apart (a TSC derived from a 100 MHz
 *               reference, as on AMD Zen, moves by ~26 ticks at once;
 *               elsewhere one tick), and never below clock_getres.
 * Both are stated in the output, beside the percentiles.
 *
 * Histogram (HDR-style, after Gil Tene's HdrHistogram).  Durations in
 * clock ticks.  A value below LAT_SUB (64) has a bucket of its own; above,
 * each power of two [2^e, 2^(e+1)) is cut into LAT_SUB equal buckets, so a
 * bucket's width is at most 1/64 of its lowest value: 1.56 %, the bound on
 * every percentile's error.  Values of 2^(LAT_MAX_EXP+1) ticks and more
 * (a day at 3 GHz) share the last bucket; the maximum is kept exactly.
 * Index of v >= LAT_SUB, with e = floor(log2 v):
 *     (e - LAT_SUB_BITS) * LAT_SUB + (v >> (e - LAT_SUB_BITS))
 * (the top LAT_SUB_BITS + 1 bits of v, offset by the octave).
 *
 * Percentiles.  The q-quantile is the nearest rank: the smallest recorded
 * value with at least ceil(q N) values at or below it; reported as the
 * highest value of its bucket (never below the true value, at most 1.56 %
 * above), capped at the exact maximum.
 *
 * A table holds one histogram per trace operation (malloc, calloc, realloc,
 * free and the four arena calls): about 176 KiB, mapped and touched by the
 * worker before the baseline (the clean room, replay.h); recording is an
 * index computation and three stores.
 *
 * Invariants (lat_hist_is_valid): count is the sum of the buckets; max is
 * 0 when count is, else it falls in the highest non-empty bucket.
 *
 * Failure: lat_clock_init returns 0, or -1 when the clock asked for is not
 * available here; lat_hist_parse returns 0, or -1 on text it did not write.
 */
#ifndef ARENALAB_SIM_REPLAY_LATENCY_H
#define ARENALAB_SIM_REPLAY_LATENCY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "sim/trace/trace.h"

#define LAT_SUB_BITS 6
#define LAT_SUB      (1u << LAT_SUB_BITS)
#define LAT_MAX_EXP  47
#define LAT_NBUCKETS ((LAT_MAX_EXP - LAT_SUB_BITS + 2) * LAT_SUB)

/* One call in this many is timed by default (replay.h, LATENCY): its two
 * readings and the histogram's update (~60 ns here) spread over 32 calls
 * cost about 2 ns a call, against 10-50 ns for the call itself. */
#define LAT_EVERY_DEFAULT 32
#define LAT_EVERY_MAX     1000000

/* Calibration of the TSC against CLOCK_MONOTONIC, and the pairs of
 * back-to-back readings that measure the overhead. */
#define LAT_CALIBRATE_NS   5000000
#define LAT_OVERHEAD_READS 20000

/* One histogram per trace operation, and the summary of all of them. */
#define LAT_NOPS       TRACE_NOPS
#define LAT_ALL        LAT_NOPS
#define LAT_NSUMMARIES (LAT_NOPS + 1)

_Static_assert(LAT_SUB_BITS >= 1 && LAT_MAX_EXP < 63, "the index fits the octaves");

/* "malloc" .. "arena_free" by trace operation, then "all". */
extern const char *const lat_op_name[LAT_NSUMMARIES];

/* ---- the clock ------------------------------------------------------------ */

typedef enum { LAT_CLOCK_TSC, LAT_CLOCK_MONOTONIC, LAT_NCLOCKS } lat_clock_kind_t;

/* "rdtscp", "clock_gettime". */
extern const char *const lat_clock_name[LAT_NCLOCKS];

typedef struct {
    lat_clock_kind_t kind;
    double ticks_per_ns;  /* the rate (1 for clock_gettime)            */
    uint64_t overhead;    /* ticks subtracted from every duration      */
    double overhead_ns;   /* the same in ns                            */
    double resolution_ns; /* the step readings move by                  */
} lat_clock_t;

/* Whether this CPU has RDTSCP and an invariant TSC. */
int lat_tsc_usable(void);

/* Picks, calibrates and measures the clock: KIND, or the TSC when usable
 * and clock_gettime otherwise when KIND is -1.  Takes about
 * LAT_CALIBRATE_NS for the TSC.  Returns 0, or -1 (KIND not usable). */
int lat_clock_init(lat_clock_t *c, int kind);

static inline uint64_t lat_tsc(void)
{
#if defined(__x86_64__)
    uint32_t lo, hi, aux;
    __asm__ volatile("rdtscp\n\tlfence" : "=a"(lo), "=d"(hi), "=c"(aux)::"memory");
    return (uint64_t)hi << 32 | lo;
#else
    return 0;
#endif
}

/* A reading of C, in ticks. */
static inline uint64_t lat_now(const lat_clock_t *c)
{
    if (c->kind == LAT_CLOCK_TSC) return lat_tsc();
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- histograms ----------------------------------------------------------- */

typedef struct {
    uint64_t count; /* values recorded                            */
    uint64_t max;   /* the largest, exactly (ticks)               */
    uint64_t bucket[LAT_NBUCKETS];
} lat_hist_t;

typedef struct {
    lat_hist_t op[LAT_NOPS]; /* by trace operation (trace.h)        */
} lat_table_t;

static inline unsigned lat_index(uint64_t v)
{
    if (v < LAT_SUB) return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    if (e > LAT_MAX_EXP) return LAT_NBUCKETS - 1;
    return (e - LAT_SUB_BITS) * LAT_SUB + (unsigned)(v >> (e - LAT_SUB_BITS));
}

/* Records a duration of TICKS. */
static inline void lat_record(lat_hist_t *h, uint64_t ticks)
{
    h->bucket[lat_index(ticks)]++;
    h->count++;
    if (ticks > h->max) h->max = ticks;
}

/* The lowest and the highest value of bucket I. */
uint64_t lat_bucket_low(unsigned i);
uint64_t lat_bucket_high(unsigned i);

/* The q-quantile (0 < q <= 1) of H in ticks (see the top); 0 when empty. */
uint64_t lat_hist_value_at(const lat_hist_t *h, double q);

/* Adds SRC's values to DST. */
void lat_hist_merge(lat_hist_t *dst, const lat_hist_t *src);

int lat_hist_is_valid(const lat_hist_t *h);

/* ---- summaries ------------------------------------------------------------ */

/* The percentiles reported, one line each: name (a JSON key and a CSV
 * column part) and q. */
#define LAT_NQUANTILES 5
extern const struct lat_quantile {
    const char *name;
    double q;
} lat_quantiles[LAT_NQUANTILES];

typedef struct {
    uint64_t count;           /* calls timed                          */
    double q[LAT_NQUANTILES]; /* ns, lat_quantiles' order; NaN: none  */
    double max;               /* ns; NaN when count is 0              */
} lat_summary_t;

/* The summary of H, ticks converted at TICKS_PER_NS. */
void lat_summarize(const lat_hist_t *h, double ticks_per_ns, lat_summary_t *out);

/* Every operation of T and, last, all of them merged (LAT_ALL). */
void lat_table_summarize(const lat_table_t *t, double ticks_per_ns,
                         lat_summary_t out[LAT_NSUMMARIES]);

/* All of T's operations in one histogram. */
void lat_table_all(const lat_table_t *t, lat_hist_t *out);

/* ---- the worker's pipe -------------------------------------------------------- */

/* "COUNT MAX I:N I:N ..." for the non-empty buckets of H, no newline. */
void lat_hist_write(FILE *out, const lat_hist_t *h);

/* Adds what lat_hist_write wrote (TEXT) to H.  Returns 0 or -1. */
int lat_hist_parse(lat_hist_t *h, const char *text);

#endif
