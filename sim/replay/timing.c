/* timing.c: summaries, confidence intervals, Mann-Whitney, Benjamini-Hochberg
 * and the seeded shuffle (see timing.h). */
#include "sim/replay/timing.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int timing_cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* The non-NaN values of V[0..N), sorted, into a malloc'ed array; *M gets
 * their count.  NULL when out of memory. */
static double *timing_sorted(const double *v, size_t n, size_t *m)
{
    double *s = malloc((n ? n : 1) * sizeof *s);
    if (!s) return NULL;
    *m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i])) s[(*m)++] = v[i];
    qsort(s, *m, sizeof *s, timing_cmp_double);
    return s;
}

/* ---- the median and its interval ----------------------------------------- */

double timing_ci_coverage(size_t n, size_t k)
{
    if (k < 1 || 2 * k > n) return 0;
    /* P(B <= k - 1) for B ~ Binomial(n, 1/2): the pmf from 2^-n upwards
     * (n stays below 1024, so 2^-n is a normal double). */
    double pmf = ldexp(1.0, -(int)n), cdf = 0;
    for (size_t i = 0; i < k; i++) {
        cdf += pmf;
        pmf = pmf * (double)(n - i) / (double)(i + 1);
    }
    double c = 1 - 2 * cdf;
    return c < 0 ? 0 : c;
}

unsigned timing_repeats_for(double level)
{
    unsigned n = 2;
    while (n < 1000 && timing_ci_coverage(n, 1) < level)
        n++;
    return n;
}

int timing_summarize(const double *v, size_t n, timing_summary_t *out)
{
    out->n = 0;
    out->min = out->median = out->max = out->mean = NAN;
    out->ci_low = out->ci_high = NAN;
    out->ci_level = 0;
    size_t m;
    double *s = timing_sorted(v, n, &m);
    if (!s) return -1;
    if (m > 0) {
        double sum = 0;
        for (size_t i = 0; i < m; i++)
            sum += s[i];
        out->n = m;
        out->min = s[0];
        out->max = s[m - 1];
        out->median = m % 2 ? s[m / 2] : (s[m / 2 - 1] + s[m / 2]) / 2.0;
        out->mean = sum / (double)m;
        /* The narrowest [x(k), x(m+1-k)] reaching the target; k = 1 (the
         * widest) when none does, with the coverage it has. */
        size_t k = 1;
        while (2 * (k + 1) <= m && timing_ci_coverage(m, k + 1) >= TIMING_CI_TARGET)
            k++;
        out->ci_low = s[k - 1];
        out->ci_high = s[m - k];
        out->ci_level = timing_ci_coverage(m, k);
    }
    free(s);
    return 0;
}

/* ---- Mann-Whitney U -------------------------------------------------------- */

typedef struct {
    double v;
    int first; /* from the first sample */
} timing_obs_t;

static int timing_cmp_obs(const void *x, const void *y)
{
    return timing_cmp_double(&((const timing_obs_t *)x)->v, &((const timing_obs_t *)y)->v);
}

/* Exact two-sided p from the permutation distribution of the first
 * sample's rank sum.  R2[0..N) are doubled midranks (integers), N1 the
 * first sample's size, W2 its doubled rank sum.  -1 when out of memory. */
static int timing_mw_exact(const unsigned *r2, size_t n, size_t n1, unsigned w2, double *p)
{
    size_t smax = 0;
    for (size_t i = 0; i < n; i++)
        smax += r2[i];
    /* count[j * (smax + 1) + s]: ways to choose j of the items seen so far
     * with doubled rank sum s. */
    double *count = calloc((n1 + 1) * (smax + 1), sizeof *count);
    if (!count) return -1;
    count[0] = 1;
    for (size_t i = 0; i < n; i++)
        for (size_t j = (i + 1 < n1 ? i + 1 : n1); j >= 1; j--) {
            double *to = count + j * (smax + 1), *from = count + (j - 1) * (smax + 1);
            for (size_t s = smax; s >= r2[i]; s--)
                to[s] += from[s - r2[i]];
        }
    /* Doubled expected rank sum: n1 (N + 1), an integer. */
    long centre = (long)(n1 * (n + 1));
    long obs = labs((long)w2 - centre);
    double total = 0, extreme = 0;
    const double *last = count + n1 * (smax + 1);
    for (size_t s = 0; s <= smax; s++) {
        total += last[s];
        if (labs((long)s - centre) >= obs) extreme += last[s];
    }
    free(count);
    *p = extreme / total;
    if (*p > 1) *p = 1;
    return 0;
}

int timing_mann_whitney(const double *a, size_t na, const double *b, size_t nb, double *p)
{
    *p = NAN;
    timing_obs_t *o = malloc((na + nb ? na + nb : 1) * sizeof *o);
    unsigned *r2 = malloc((na + nb ? na + nb : 1) * sizeof *r2);
    if (!o || !r2) {
        free(o);
        free(r2);
        return -1;
    }
    size_t n = 0, n1 = 0;
    for (size_t i = 0; i < na; i++)
        if (!isnan(a[i])) o[n++] = (timing_obs_t){a[i], 1}, n1++;
    for (size_t i = 0; i < nb; i++)
        if (!isnan(b[i])) o[n++] = (timing_obs_t){b[i], 0};
    size_t n2 = n - n1;
    int rc = 0;
    if (n1 > 0 && n2 > 0) {
        qsort(o, n, sizeof *o, timing_cmp_obs);
        /* Doubled midranks: a group of tied values at 1-based ranks
         * i+1..j shares (i + 1 + j) / 2, doubled i + 1 + j. */
        double ties = 0;
        unsigned w2 = 0;
        for (size_t i = 0; i < n;) {
            size_t j = i + 1;
            while (j < n && o[j].v == o[i].v)
                j++;
            double t = (double)(j - i);
            ties += t * t * t - t;
            for (size_t k = i; k < j; k++) {
                r2[k] = (unsigned)(i + 1 + j);
                if (o[k].first) w2 += r2[k];
            }
            i = j;
        }
        if (n <= TIMING_EXACT_MAX) {
            rc = timing_mw_exact(r2, n, n1, w2, p);
        } else {
            double dn = (double)n, d1 = (double)n1, d2 = (double)n2;
            double u = (double)w2 / 2 - d1 * (d1 + 1) / 2;
            double var = d1 * d2 / 12 * ((dn + 1) - ties / (dn * (dn - 1)));
            if (var <= 0) {
                *p = 1; /* every value tied: no evidence either way */
            } else {
                double z = (fabs(u - d1 * d2 / 2) - 0.5) / sqrt(var);
                *p = z <= 0 ? 1 : erfc(z / sqrt(2.0));
            }
        }
    }
    free(o);
    free(r2);
    return rc;
}

/* ---- Benjamini-Hochberg ------------------------------------------------------ */

typedef struct {
    double p;
    size_t i;
} timing_rank_t;

static int timing_cmp_rank(const void *x, const void *y)
{
    return timing_cmp_double(&((const timing_rank_t *)x)->p, &((const timing_rank_t *)y)->p);
}

int timing_bh(const double *p, size_t n, double *q)
{
    for (size_t i = 0; i < n; i++)
        q[i] = NAN;
    timing_rank_t *r = malloc((n ? n : 1) * sizeof *r);
    if (!r) return -1;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(p[i])) r[m++] = (timing_rank_t){p[i], i};
    qsort(r, m, sizeof *r, timing_cmp_rank);
    /* Step up from the largest p: q(i) = min(q(i+1), m p(i) / i). */
    double run = 1;
    for (size_t k = m; k >= 1; k--) {
        double v = r[k - 1].p * (double)m / (double)k;
        if (v < run) run = v;
        q[r[k - 1].i] = run;
    }
    free(r);
    return 0;
}

/* ---- the shuffle ------------------------------------------------------------- */

uint64_t timing_rng(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void timing_shuffle(size_t *v, size_t n, uint64_t *state)
{
    for (size_t i = n; i > 1; i--) {
        /* An index below i; the modulo bias is below 2^-50 for any n we
         * shuffle. */
        size_t j = (size_t)(timing_rng(state) % i);
        size_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}
