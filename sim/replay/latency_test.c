/* latency_test.c: the histograms' buckets tile the values with at most
 * 1/64 relative width, percentiles of known synthetic distributions come
 * out within that bound of the exact ones (never below), merging and the
 * worker's text round-trip, the invariant checker catches a broken
 * histogram, and the clock's rate agrees with CLOCK_MONOTONIC. */
#include "sim/replay/latency.h"
#include "alloc/check.h"
#include "sim/replay/timing.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int ltest_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The exact nearest-rank q-quantile of sorted V[0..N). */
static uint64_t ltest_exact(const uint64_t *v, size_t n, double q)
{
    double r = ceil(q * (double)n);
    size_t rank = r < 1 ? 1 : (size_t)r;
    return v[rank - 1];
}

static void ltest_buckets(void)
{
    for (unsigned i = 0; i + 1 < LAT_NBUCKETS; i++) {
        uint64_t lo = lat_bucket_low(i), hi = lat_bucket_high(i);
        CHECKF(lat_index(lo) == i && lat_index(hi) == i, "bucket %u [%llu, %llu]", i,
               (unsigned long long)lo, (unsigned long long)hi);
        CHECK(lat_bucket_low(i + 1) == hi + 1); /* no gap, no overlap */
        /* the width bound: at most 1/64 of the bucket's lowest value */
        CHECKF(lo < LAT_SUB || (double)(hi - lo + 1) / (double)lo <= 1.0 / LAT_SUB,
               "bucket %u is %llu wide at %llu", i, (unsigned long long)(hi - lo + 1),
               (unsigned long long)lo);
    }
    for (uint64_t v = 0; v < 4 * LAT_SUB; v++)
        CHECK(lat_bucket_low(lat_index(v)) <= v && v <= lat_bucket_high(lat_index(v)));
    CHECK(lat_index(0) == 0 && lat_index(LAT_SUB - 1) == LAT_SUB - 1);
    CHECK(lat_index(2 * LAT_SUB - 1) == 2 * LAT_SUB - 1); /* exact below 128 */
    CHECK(lat_index(UINT64_MAX) == LAT_NBUCKETS - 1);
    CHECK(lat_index((uint64_t)1 << (LAT_MAX_EXP + 1)) == LAT_NBUCKETS - 1);
    CHECK(lat_index(((uint64_t)1 << (LAT_MAX_EXP + 1)) - 1) == LAT_NBUCKETS - 1);
}

/* N values from a seeded distribution: each a log-uniform draw over six
 * decades (1 to 10^6 ticks) -- every octave of the histogram in use. */
static void ltest_distribution(size_t n, uint64_t seed)
{
    uint64_t *v = malloc(n * sizeof *v);
    lat_hist_t *h = calloc(1, sizeof *h);
    CHECK(v && h);
    if (!v || !h) {
        free(v);
        free(h);
        return;
    }
    uint64_t state = seed;
    for (size_t i = 0; i < n; i++) {
        double u = (double)(timing_rng(&state) >> 11) / 9007199254740992.0;
        v[i] = (uint64_t)pow(10, 6 * u);
        lat_record(h, v[i]);
    }
    CHECK(lat_hist_is_valid(h));
    qsort(v, n, sizeof *v, ltest_cmp);
    CHECK(h->count == n && h->max == v[n - 1]);
    static const double qs[] = {0.001, 0.1, 0.25, 0.5, 0.9, 0.99, 0.999, 0.9999, 1};
    for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
        uint64_t exact = ltest_exact(v, n, qs[k]), got = lat_hist_value_at(h, qs[k]);
        /* never below the true value, at most one bucket's width above */
        CHECKF(got >= exact && (double)got <= (double)exact * (1 + 1.0 / LAT_SUB),
               "q %g: histogram %llu, exact %llu", qs[k], (unsigned long long)got,
               (unsigned long long)exact);
        CHECK((double)got <= (double)exact * 1.02); /* the bound */
    }
    /* The summary in ns at 2.5 ticks per ns: the same values, scaled. */
    lat_summary_t s;
    lat_summarize(h, 2.5, &s);
    CHECK(s.count == n);
    for (int k = 0; k < LAT_NQUANTILES; k++)
        CHECK(s.q[k] == (double)lat_hist_value_at(h, lat_quantiles[k].q) / 2.5);
    CHECK(s.max == (double)v[n - 1] / 2.5);
    for (int k = 1; k < LAT_NQUANTILES; k++)
        CHECK(s.q[k - 1] <= s.q[k]);
    CHECK(s.q[LAT_NQUANTILES - 1] <= s.max);
    free(v);
    free(h);
}

/* Uniform 1..100000, each once: the quantiles are known by heart. */
static void ltest_uniform(void)
{
    lat_hist_t *h = calloc(1, sizeof *h);
    CHECK(h != NULL);
    if (!h) return;
    for (uint64_t x = 1; x <= 100000; x++)
        lat_record(h, x);
    static const struct {
        double q;
        uint64_t exact;
    } want[] = {{0.5, 50000}, {0.9, 90000}, {0.99, 99000}, {0.999, 99900}, {0.9999, 99990}};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        uint64_t got = lat_hist_value_at(h, want[k].q);
        CHECKF(got >= want[k].exact && (double)got <= (double)want[k].exact * 1.02, "q %g: %llu",
               want[k].q, (unsigned long long)got);
    }
    CHECK(lat_hist_value_at(h, 1) == 100000);
    /* small values are exact */
    lat_hist_t *s = calloc(1, sizeof *s);
    if (s) {
        for (uint64_t x = 0; x < 100; x++)
            lat_record(s, x);
        CHECK(lat_hist_value_at(s, 0.5) == 49 && lat_hist_value_at(s, 0.01) == 0);
        CHECK(lat_hist_value_at(s, 0.9999) == 99);
    }
    free(s);
    free(h);
}

static void ltest_merge_and_text(void)
{
    lat_hist_t *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b), *all = calloc(1, sizeof *all),
               *back = calloc(1, sizeof *back);
    CHECK(a && b && all && back);
    if (!a || !b || !all || !back) goto out;
    uint64_t state = 7;
    for (int i = 0; i < 20000; i++) {
        uint64_t x = timing_rng(&state) % 5000000;
        lat_record(i % 2 ? a : b, x);
        lat_record(all, x);
    }
    lat_hist_merge(a, b);
    CHECK(memcmp(a, all, sizeof *a) == 0);

    /* the worker's text: written, read back into an empty histogram */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK(f != NULL);
    if (f) {
        lat_hist_write(f, all);
        fclose(f);
        CHECK(lat_hist_parse(back, text) == 0);
        CHECK(memcmp(back, all, sizeof *back) == 0);
        /* parsing adds: twice is every count doubled */
        CHECK(lat_hist_parse(back, text) == 0 && back->count == 2 * all->count);
    }
    free(text);
    memset(back, 0, sizeof *back);
    CHECK(lat_hist_parse(back, "") < 0);
    CHECK(lat_hist_parse(back, "3 10 10:3") == 0 && back->count == 3);
    CHECK(lat_hist_parse(back, "3 10 10:2") < 0);     /* counts do not add up */
    CHECK(lat_hist_parse(back, "1 10 999999:1") < 0); /* no such bucket */
    CHECK(lat_hist_parse(back, "1 10 11:1") < 0);     /* max not in the top bucket */
    CHECK(lat_hist_parse(back, "1 10 10:1 junk") < 0);
    CHECK(back->count == 3); /* a bad line adds nothing */

    /* the checker */
    CHECK(lat_hist_is_valid(all));
    all->count++;
    CHECK(!lat_hist_is_valid(all));
    all->count--;
    all->max = 0;
    CHECK(!lat_hist_is_valid(all));
out:
    free(a);
    free(b);
    free(all);
    free(back);
}

/* The table: per operation, then all of them. */
static void ltest_table(void)
{
    lat_table_t *t = calloc(1, sizeof *t);
    CHECK(t != NULL);
    if (!t) return;
    for (uint64_t x = 1; x <= 1000; x++)
        lat_record(&t->op[TRACE_ALLOC], x);
    lat_record(&t->op[TRACE_FREE], 5000);
    lat_summary_t s[LAT_NSUMMARIES];
    lat_table_summarize(t, 1, s);
    CHECK(s[TRACE_ALLOC].count == 1000 && s[TRACE_FREE].count == 1);
    CHECK(s[TRACE_CALLOC].count == 0 && isnan(s[TRACE_CALLOC].q[0]) && isnan(s[TRACE_CALLOC].max));
    CHECK(s[LAT_ALL].count == 1001 && s[LAT_ALL].max == 5000);
    CHECK(strcmp(lat_op_name[TRACE_ALLOC], "malloc") == 0 &&
          strcmp(lat_op_name[TRACE_ARENA_FREE], "arena_free") == 0 &&
          strcmp(lat_op_name[LAT_ALL], "all") == 0);
    free(t);
}

static uint64_t ltest_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Each clock that runs here: its rate agrees with CLOCK_MONOTONIC over a
 * sleep, readings never go back, overhead and resolution are sane. */
static void ltest_clock(void)
{
    lat_clock_t c;
    CHECK(lat_clock_init(&c, -1) == 0);
    CHECK(c.kind == (lat_tsc_usable() ? LAT_CLOCK_TSC : LAT_CLOCK_MONOTONIC));
    CHECK(lat_clock_init(&c, LAT_NCLOCKS) < 0);
    if (!lat_tsc_usable()) CHECK(lat_clock_init(&c, LAT_CLOCK_TSC) < 0);
    for (int kind = 0; kind < LAT_NCLOCKS; kind++) {
        if (lat_clock_init(&c, kind)) continue;
        CHECK(c.ticks_per_ns > 0.05 && c.ticks_per_ns < 20);
        CHECK(c.resolution_ns > 0 && c.resolution_ns < 1000);
        CHECKF(c.overhead_ns < 10000, "%s: overhead %g ns", lat_clock_name[kind], c.overhead_ns);
        uint64_t prev = lat_now(&c);
        for (int i = 0; i < 100000; i++) {
            uint64_t now = lat_now(&c);
            CHECK(now >= prev);
            prev = now;
        }
        uint64_t n0 = ltest_mono(), t0 = lat_now(&c);
        struct timespec nap = {0, 50000000};
        nanosleep(&nap, NULL);
        uint64_t t1 = lat_now(&c), n1 = ltest_mono();
        double ratio = (double)(t1 - t0) / c.ticks_per_ns / (double)(n1 - n0);
        CHECKF(ratio > 0.99 && ratio < 1.01, "%s: %g", lat_clock_name[kind], ratio);
    }
}

int main(void)
{
    ltest_buckets();
    ltest_distribution(1000000, 1);
    ltest_distribution(10007, 42);
    ltest_uniform();
    ltest_merge_and_text();
    ltest_table();
    ltest_clock();
    return check_done();
}
