/* timing_test.c: the statistics of timed runs against known values --
 * binomial coverages computed by hand, R's documented wilcox.test example,
 * permutation p-values counted by brute force, the normal approximation
 * worked through its formula, and Benjamini and Hochberg's own example. */
#include "sim/replay/timing.h"
#include "alloc/check.h"

#include <math.h>
#include <string.h>

#define NV(a) (sizeof(a) / sizeof((a)[0]))

static int near(double a, double b, double tol)
{
    return fabs(a - b) <= tol;
}

static void ttest_coverage(void)
{
    /* 1 - 2 * 2^-n for [min, max]: 1/2 for 2 runs ... 31/32 for 6. */
    CHECK(timing_ci_coverage(1, 1) == 0);
    CHECK(timing_ci_coverage(2, 1) == 0.5);
    CHECK(timing_ci_coverage(3, 1) == 0.75);
    CHECK(timing_ci_coverage(5, 1) == 0.9375);
    CHECK(timing_ci_coverage(6, 1) == 0.96875);
    /* n = 10, k = 2: 1 - 2 (1 + 10) / 1024 = 0.978515625. */
    CHECK(timing_ci_coverage(10, 2) == 1 - 2.0 * 11 / 1024);
    /* n = 20, k = 6: 1 - 2 P(B <= 5) = 1 - 2 * 21700 / 2^20. */
    CHECK(near(timing_ci_coverage(20, 6), 1 - 2.0 * 21700 / 1048576, 1e-15));
    CHECK(timing_ci_coverage(4, 3) == 0 && timing_ci_coverage(4, 0) == 0);
    /* The default --repeat is the smallest n reaching 95 %. */
    CHECK(timing_repeats_for(TIMING_CI_TARGET) == TIMING_MIN_REPEAT);
    CHECK(timing_repeats_for(0.99) == 8); /* 1 - 2^-7 = 0.9921875; 7 runs: 0.984 */
}

static void ttest_summary(void)
{
    timing_summary_t s;
    double v[] = {5, 1, 4, 2};
    CHECK(timing_summarize(v, NV(v), &s) == 0);
    CHECK(s.n == 4 && s.min == 1 && s.max == 5 && s.median == 3 && s.mean == 3);
    CHECK(v[0] == 5 && v[1] == 1); /* not reordered */
    /* Four runs: only [min, max], covering 87.5 %, reported as such. */
    CHECK(s.ci_low == 1 && s.ci_high == 5 && s.ci_level == 0.875);

    double five[] = {10, 11, 12, 13, 14};
    timing_summarize(five, NV(five), &s);
    CHECK(s.ci_low == 10 && s.ci_high == 14 && s.ci_level == 0.9375);

    double six[] = {16, 11, 12, 13, 14, 15};
    timing_summarize(six, NV(six), &s);
    CHECK(s.median == 13.5 && s.ci_low == 11 && s.ci_high == 16 && s.ci_level == 0.96875);

    /* Twenty runs: k = 6 covers 95.86 %, k = 7 only 88.5 %: [x(6), x(15)]. */
    double twenty[20];
    for (int i = 0; i < 20; i++)
        twenty[i] = 100 - i; /* 100 .. 81 */
    timing_summarize(twenty, NV(twenty), &s);
    CHECK(s.ci_low == 86 && s.ci_high == 95);
    CHECK(near(s.ci_level, 0.958610535, 1e-9));
    CHECK(s.median == 90.5 && s.mean == 90.5);

    /* One run: a median, no interval worth a name. */
    double one[] = {7};
    timing_summarize(one, 1, &s);
    CHECK(s.median == 7 && s.ci_low == 7 && s.ci_high == 7 && s.ci_level == 0);
    /* NaNs are left out; nothing left is all NaN. */
    double withnan[] = {NAN, 3, 1, NAN, 2};
    timing_summarize(withnan, NV(withnan), &s);
    CHECK(s.n == 3 && s.median == 2 && s.mean == 2);
    timing_summarize(NULL, 0, &s);
    CHECK(s.n == 0 && isnan(s.median) && isnan(s.ci_low) && s.ci_level == 0);
}

static void ttest_mann_whitney(void)
{
    double p;
    /* R's ?wilcox.test example (Hollander & Wolfe): W = 35, one-sided
     * p = 0.1272, so two-sided 0.2544 (no ties: a symmetric null). */
    double x[] = {0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46};
    double y[] = {1.15, 0.88, 0.90, 0.74, 1.21};
    CHECK(timing_mann_whitney(x, NV(x), y, NV(y), &p) == 0);
    CHECKF(near(p, 0.2544122544122544, 1e-12), "p = %.16g", p);
    CHECK(timing_mann_whitney(y, NV(y), x, NV(x), &p) == 0 && near(p, 0.2544122544, 1e-9));

    /* Complete separation: 2 of C(6,3) = 20 orderings are as extreme. */
    double a[] = {1, 2, 3}, b[] = {4, 5, 6};
    timing_mann_whitney(a, 3, b, 3, &p);
    CHECK(near(p, 0.1, 1e-15));
    /* Five against five: 2 / C(10,5) = 2 / 252; six against six: 2 / 924. */
    double a5[] = {1, 2, 3, 4, 5}, b5[] = {6, 7, 8, 9, 10};
    timing_mann_whitney(a5, 5, b5, 5, &p);
    CHECK(near(p, 2.0 / 252, 1e-15));
    double a6[] = {1, 2, 3, 4, 5, 6}, b6[] = {7, 8, 9, 10, 11, 12};
    timing_mann_whitney(b6, 6, a6, 6, &p);
    CHECK(near(p, 2.0 / 924, 1e-15));

    /* Ties, exactly: midranks 1, 3, 3, 5.5 against 3, 5.5, 7.5, 7.5, 9;
     * counting all 126 choices of four ranks by brute force gives 11 as
     * far from the centre 20 as the observed 12.5. */
    double t1[] = {1, 2, 2, 3}, t2[] = {2, 3, 4, 4, 5};
    timing_mann_whitney(t1, NV(t1), t2, NV(t2), &p);
    CHECKF(near(p, 11.0 / 126, 1e-12), "p = %.16g", p);

    /* Identical samples: p = 1. */
    double same[] = {4, 4, 4};
    timing_mann_whitney(same, 3, same, 3, &p);
    CHECK(p == 1);

    /* Above TIMING_EXACT_MAX: the normal approximation.  a = 0,0,1,1,..,14,14
     * and b = a + 5: rank sum of a 665, U = 200, 25 ties of two give
     * T = 150, sigma^2 = 900/12 (61 - 150/3540) = 4571.822, z = (250 -
     * 0.5)/67.6153 = 3.68996, p = erfc(z / sqrt 2) = 2.2044e-4. */
    double na[30], nb[30];
    for (int i = 0; i < 30; i++) {
        na[i] = i / 2;
        nb[i] = i / 2 + 5;
    }
    CHECK(timing_mann_whitney(na, 30, nb, 30, &p) == 0);
    CHECKF(near(p, 0.0002204376650291787, 1e-12), "p = %.16g", p);

    /* An empty side: no test. */
    timing_mann_whitney(a, 3, b, 0, &p);
    CHECK(isnan(p));
    double nans[] = {NAN, NAN};
    timing_mann_whitney(a, 3, nans, 2, &p);
    CHECK(isnan(p));
}

static void ttest_bh(void)
{
    /* Benjamini & Hochberg (1995), section 4: fifteen p-values; at 0.05
     * the four smallest are discoveries. */
    double p[] = {0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344,
                  0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.000};
    double q[NV(p)];
    CHECK(timing_bh(p, NV(p), q) == 0);
    int found = 0;
    for (size_t i = 0; i < NV(p); i++)
        found += q[i] <= TIMING_ALPHA;
    CHECK(found == 4);
    CHECK(near(q[3], 0.0095 * 15 / 4, 1e-15));
    CHECK(near(q[0], 0.0001 * 15, 1e-15) && near(q[1], 0.0004 * 15 / 2, 1e-15));
    CHECK(q[14] == 1);

    /* Unsorted, with a NaN outside the family (m = 5): by hand,
     * 0.005*5/1, 0.01*5/2 -> 0.025, 0.025; 0.03*5/3 = 0.05 and 0.04*5/4 =
     * 0.05; 0.5. */
    double u[] = {0.01, 0.04, NAN, 0.03, 0.005, 0.5};
    double v[NV(u)];
    timing_bh(u, NV(u), v);
    CHECK(near(v[0], 0.025, 1e-15) && near(v[4], 0.025, 1e-15));
    CHECK(near(v[1], 0.05, 1e-15) && near(v[3], 0.05, 1e-15));
    CHECK(isnan(v[2]) && v[5] == 0.5);
    CHECK(timing_bh(NULL, 0, NULL) == 0);
}

static void ttest_shuffle(void)
{
    /* splitmix64 from 0: the reference implementation's first outputs. */
    uint64_t st = 0;
    CHECK(timing_rng(&st) == 0xe220a8397b1dcdafull);
    CHECK(timing_rng(&st) == 0x6e789e6aa1b965f4ull);
    /* A permutation; the same seed gives the same order; all orders of
     * three show up. */
    int seen[6] = {0};
    uint64_t s1 = 42, s2 = 42;
    for (int round = 0; round < 600; round++) {
        size_t v[3] = {0, 1, 2}, w[3] = {0, 1, 2};
        timing_shuffle(v, 3, &s1);
        timing_shuffle(w, 3, &s2);
        CHECK(memcmp(v, w, sizeof v) == 0);
        CHECK(v[0] + v[1] + v[2] == 3 && v[0] != v[1] && v[1] != v[2] && v[0] != v[2]);
        seen[v[0] * 2 + (v[1] > v[2])]++;
    }
    for (int i = 0; i < 6; i++)
        CHECKF(seen[i] > 60, "order %d seen %d times of 600", i, seen[i]);
}

int main(void)
{
    ttest_coverage();
    ttest_summary();
    ttest_mann_whitney();
    ttest_bh();
    ttest_shuffle();
    return check_done();
}
