/* rng_test.c: the generator's stream is pinned (bundled traces depend on it)
 * and each distribution has the mean / frequencies it promises. */
#include "sim/lua/rng.h"

#include "alloc/check.h"

#include <math.h>
#include <stdint.h>

/* Known answers, computed independently from the published xoshiro256** and
 * splitmix64 definitions.  If these change, every generated trace changes. */
static void rng_test_stream(void)
{
    static const uint64_t seed0[3] = {0x99ec5f36cb75f2b4u, 0xbf6e1f784956452au,
                                      0x1a5f849d4933e6e0u};
    static const uint64_t seed1[3] = {0xb3f2af6d0fc710c5u, 0x853b559647364ceau,
                                      0x92f89756082a4514u};
    rng_t r;
    rng_seed(&r, 0);
    for (int i = 0; i < 3; i++)
        CHECK(rng_next(&r) == seed0[i]);
    rng_seed(&r, 1);
    for (int i = 0; i < 3; i++)
        CHECK(rng_next(&r) == seed1[i]);

    rng_t a, b;
    rng_seed(&a, 12345);
    rng_seed(&b, 12345);
    int same = 1;
    for (int i = 0; i < 1000; i++)
        same &= rng_next(&a) == rng_next(&b);
    CHECK(same);
}

static void rng_test_uniform(void)
{
    rng_t r;
    rng_seed(&r, 7);
    enum { N = 10, DRAWS = 200000 };
    long count[N] = {0};
    int in = 1;
    for (int i = 0; i < DRAWS; i++) {
        uint64_t v = rng_below(&r, N);
        in &= v < N;
        if (v < N) count[v]++;
    }
    CHECK(in);
    /* Chi-square with 9 degrees of freedom: 27.9 is the 0.1% critical value. */
    double chi = 0;
    for (int i = 0; i < N; i++) {
        double d = (double)count[i] - DRAWS / N;
        chi += d * d / (DRAWS / N);
    }
    CHECKF(chi < 27.9, "chi-square %.2f", chi);

    for (int i = 0; i < 10000; i++) {
        int64_t v = rng_range(&r, -3, 3);
        in &= v >= -3 && v <= 3;
    }
    CHECK(in);
    CHECK(rng_range(&r, 5, 5) == 5);
    (void)rng_range(&r, INT64_MIN, INT64_MAX); /* full range: no overflow trap */
    for (int i = 0; i < 1000; i++) {
        double d = rng_double(&r);
        in &= d >= 0.0 && d < 1.0;
    }
    CHECK(in);
}

static void rng_test_continuous(void)
{
    rng_t r;
    rng_seed(&r, 99);
    enum { DRAWS = 200000 };
    double sum = 0, sum2 = 0;
    for (int i = 0; i < DRAWS; i++)
        sum += rng_exponential(&r, 50.0);
    CHECKF(fabs(sum / DRAWS - 50.0) < 1.0, "exponential mean %.3f", sum / DRAWS);

    sum = 0;
    for (int i = 0; i < DRAWS; i++) {
        double v = rng_normal(&r, 10.0, 3.0);
        sum += v;
        sum2 += v * v;
    }
    double mean = sum / DRAWS, sd = sqrt(sum2 / DRAWS - mean * mean);
    CHECKF(fabs(mean - 10.0) < 0.05, "normal mean %.4f", mean);
    CHECKF(fabs(sd - 3.0) < 0.05, "normal sd %.4f", sd);

    /* The median of a lognormal is exp(mu). */
    long below = 0;
    for (int i = 0; i < DRAWS; i++)
        below += rng_lognormal(&r, 4.0, 0.5) < exp(4.0);
    CHECKF(fabs((double)below / DRAWS - 0.5) < 0.01, "lognormal below median %ld", below);

    sum = 0;
    uint64_t minv = UINT64_MAX;
    for (int i = 0; i < DRAWS; i++) {
        uint64_t g = rng_geometric(&r, 0.25);
        if (g < minv) minv = g;
        sum += (double)g;
    }
    CHECK(minv == 1);
    CHECKF(fabs(sum / DRAWS - 4.0) < 0.05, "geometric mean %.4f", sum / DRAWS);
    CHECK(rng_geometric(&r, 1.0) == 1);
}

static void rng_test_zipf(void)
{
    rng_t r;
    rng_seed(&r, 3);
    rng_zipf_t z;
    CHECK(rng_zipf_init(&z, 0, 1.0) < 0);
    CHECK(rng_zipf_init(&z, 10, -1.0) < 0);
    CHECK(rng_zipf_init(&z, 10, NAN) < 0);

    static const double exps[] = {0.0, 0.8, 1.0, 1.3, 2.5};
    for (size_t e = 0; e < sizeof exps / sizeof exps[0]; e++) {
        enum { N = 10, DRAWS = 200000 };
        double s = exps[e];
        CHECK(rng_zipf_init(&z, N, s) == 0);
        long count[N + 1] = {0};
        int in = 1;
        for (int i = 0; i < DRAWS; i++) {
            uint64_t k = rng_zipf(&r, &z);
            in &= k >= 1 && k <= N;
            if (k >= 1 && k <= N) count[k]++;
        }
        CHECK(in);
        double norm = 0;
        for (int k = 1; k <= N; k++)
            norm += pow(k, -s);
        for (int k = 1; k <= N; k++) {
            double expect = DRAWS * pow(k, -s) / norm;
            /* 5 standard deviations of a binomial count, plus one. */
            double tol = 5.0 * sqrt(expect) + 1.0;
            CHECKF(fabs((double)count[k] - expect) < tol, "s=%.1f k=%d got %ld want %.0f", s, k,
                   count[k], expect);
        }
    }
    CHECK(rng_zipf_init(&z, 1, 1.0) == 0);
    CHECK(rng_zipf(&r, &z) == 1);
    CHECK(rng_zipf_init(&z, UINT64_C(1) << 40, 1.1) == 0);
    int in = 1;
    for (int i = 0; i < 1000; i++) {
        uint64_t k = rng_zipf(&r, &z);
        in &= k >= 1 && k <= UINT64_C(1) << 40;
    }
    CHECK(in);
}

static void rng_test_table(void)
{
    rng_t r;
    rng_seed(&r, 5);
    rng_table_t t;
    const double bad1[] = {1.0, -1.0};
    const double bad2[] = {0.0, 0.0};
    const double bad3[] = {1.0, INFINITY};
    CHECK(rng_table_init(&t, bad1, 2) == -1);
    CHECK(rng_table_init(&t, bad2, 2) == -1);
    CHECK(rng_table_init(&t, bad3, 2) == -1);
    CHECK(rng_table_init(&t, bad1, 0) == -1);

    const double w[] = {0.0, 1.0, 0.0, 3.0, 0.0};
    CHECK(rng_table_init(&t, w, 5) == 0);
    long count[5] = {0};
    enum { DRAWS = 100000 };
    int in = 1;
    for (int i = 0; i < DRAWS; i++) {
        size_t k = rng_table_pick(&r, &t);
        in &= k < 5;
        if (k < 5) count[k]++;
    }
    CHECK(in);
    CHECK(count[0] == 0 && count[2] == 0 && count[4] == 0);
    CHECKF(fabs((double)count[3] / DRAWS - 0.75) < 0.01, "weight 3 of 4 got %ld", count[3]);
    rng_table_free(&t);
}

int main(void)
{
    rng_test_stream();
    rng_test_uniform();
    rng_test_continuous();
    rng_test_zipf();
    rng_test_table();
    return check_done();
}
