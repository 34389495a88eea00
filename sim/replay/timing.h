/* timing.h: the statistics of timed runs -- a sample's summary with a
 * distribution-free confidence interval for its median, the Mann-Whitney
 * U test between two samples, Benjamini-Hochberg across a family of tests,
 * and the seeded shuffle that interleaves the runs of a replay.
 *
 * Why these.  Replay timings are not normal: a run is slowed by page
 * faults, a preempting process, a frequency change, never sped up, so the
 * distribution has a long right tail and a few wild values.  Everything
 * here is rank based and holds for any continuous distribution.
 *
 * Confidence interval for the median.  With n independent runs of median
 * m, the count of runs below m is Binomial(n, 1/2), so the interval
 * between the k-th smallest and the k-th largest run, [x(k), x(n+1-k)],
 * covers m with probability
 *     1 - 2 P(B <= k - 1),  B ~ Binomial(n, 1/2)
 * whatever the distribution.  We take the narrowest such interval whose
 * coverage reaches TIMING_CI_TARGET (95 %).  When even [min, max] (k = 1,
 * coverage 1 - 2^(1-n)) falls short we report [min, max] with the
 * coverage it really has -- 93.75 % for n = 5, 75 % for n = 3, 0 for a
 * single run -- never a level it does not reach.  The smallest n that
 * reaches 95 % is 6 (96.875 %): TIMING_MIN_REPEAT, the default --repeat.
 *
 * Mann-Whitney U (Wilcoxon rank-sum), two-sided.  Pool both samples, rank
 * them (ties get the mean of their ranks), and ask how extreme the first
 * sample's rank sum W is among every way of choosing n1 of the N = n1 + n2
 * ranks.  Exact when N <= TIMING_EXACT_MAX: the permutation distribution of
 * W over the actual (mid)ranks is counted by dynamic programming, so ties
 * are handled exactly too (the test is exact given the tie pattern).  For
 * larger samples the normal approximation of R's wilcox.test and SciPy:
 *     z = (|U - n1 n2 / 2| - 1/2) / sqrt(n1 n2 / 12 ((N + 1) - T / (N (N - 1))))
 * with U = W - n1 (n1 + 1) / 2 and T = sum of t^3 - t over groups of t
 * tied values.  The smallest two-sided p of n1 = n2 = 3 is 0.1 and of 6
 * and 6 is 0.0022: three runs a side can never show a difference at 5 %.
 *
 * Benjamini-Hochberg.  Testing many pairs at 5 % each flags 5 % of the
 * pairs that do not differ at all.  BH's step-up procedure bounds the
 * expected share of false discoveries among the flagged instead: with m
 * p-values sorted p(1) <= ... <= p(m), the adjusted value of p(i) is
 *     q(i) = min over j >= i of min(1, m p(j) / j)
 * and a test is a discovery at rate alpha when q <= alpha.
 *
 * Shuffle.  splitmix64 (Steele, Lea and Flood, 2014) seeded by the user
 * (`replay --seed`), and Fisher-Yates: the same seed gives the same order
 * on every machine.
 *
 * Invariant: every function is a function of its arguments; nothing reads
 * a clock or keeps state between calls (the generator's state is the
 * caller's).
 *
 * Failure: functions returning int give 0, or -1 when out of memory
 * (outputs are then NaN).  NaN inputs are left out of every computation.
 */
#ifndef ARENALAB_SIM_REPLAY_TIMING_H
#define ARENALAB_SIM_REPLAY_TIMING_H

#include <stddef.h>
#include <stdint.h>

/* The level the median's interval aims at, and the tests' error rate. */
#define TIMING_CI_TARGET 0.95
#define TIMING_ALPHA     0.05
/* The smallest number of runs whose [min, max] covers the median with at
 * least TIMING_CI_TARGET (checked by timing_test). */
#define TIMING_MIN_REPEAT 6
/* Traces with fewer events are too short to time: a run takes a few
 * microseconds, so the clock's resolution, a cache miss or an interrupt
 * decides the ranking.  Their timings are shown, flagged, never crowned. */
#define TIMING_MIN_EVENTS 10000
/* Largest n1 + n2 for the exact Mann-Whitney distribution. */
#define TIMING_EXACT_MAX 50

typedef struct {
    size_t n;                /* values summarised (NaNs left out)           */
    double min, median, max; /* NaN when n == 0                           */
    double mean;
    double ci_low, ci_high; /* confidence interval for the median          */
    double ci_level;        /* its actual coverage, 0..1 (0 when n < 2)    */
} timing_summary_t;

/* Summary of V[0..N) (not modified).  Returns 0, or -1 when out of memory
 * (every figure NaN). */
int timing_summarize(const double *v, size_t n, timing_summary_t *out);

/* Coverage of [x(k), x(n+1-k)] for the median of N runs, 1 <= k <= n/2
 * (0 for other k). */
double timing_ci_coverage(size_t n, size_t k);

/* The smallest n whose [min, max] covers the median with LEVEL (< 1). */
unsigned timing_repeats_for(double level);

/* Two-sided p-value of the Mann-Whitney U test between A[0..NA) and
 * B[0..NB) into *P (NaN when a side has no value).  Returns 0 or -1. */
int timing_mann_whitney(const double *a, size_t na, const double *b, size_t nb, double *p);

/* Benjamini-Hochberg adjusted p-values: Q[i] for P[i], N of them; NaN p's
 * get NaN and do not count in the family.  Returns 0 or -1. */
int timing_bh(const double *p, size_t n, double *q);

/* splitmix64: the next value of the generator whose state is *STATE. */
uint64_t timing_rng(uint64_t *state);

/* Fisher-Yates shuffle of V[0..N) from *STATE. */
void timing_shuffle(size_t *v, size_t n, uint64_t *state);

#endif
