/* rng.c: xoshiro256** and the distributions of rng.h.
 *
 * Every sampler is written so its result depends on the draws alone:
 * no caching between calls (Box-Muller throws its second value away), so a
 * script that interleaves distributions gets the same sequence whatever it
 * computed before.
 */
#include "sim/lua/rng.h"

#include <math.h>
#include <stdlib.h>

_Static_assert(sizeof(unsigned __int128) == 16, "rng_below needs a 128-bit product");

static uint64_t rng_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

void rng_seed(rng_t *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = rng_splitmix(&x);
    /* splitmix64 is a bijection of its counter, so four outputs are never
     * all zero; keep the guarantee explicit anyway. */
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1;
}

uint64_t rng_below(rng_t *r, uint64_t n)
{
    if (n == 0) return rng_next(r);
    unsigned __int128 m = (unsigned __int128)rng_next(r) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        /* Reject the few products that would favour small results. */
        uint64_t thresh = (0 - n) % n;
        while (low < thresh) {
            m = (unsigned __int128)rng_next(r) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

int64_t rng_range(rng_t *r, int64_t a, int64_t b)
{
    /* Unsigned arithmetic: b - a + 1 may exceed INT64_MAX; 0 = full range. */
    uint64_t span = (uint64_t)b - (uint64_t)a + 1;
    return (int64_t)((uint64_t)a + rng_below(r, span));
}

double rng_exponential(rng_t *r, double mean)
{
    /* 1 - U is in (0, 1], so the logarithm is finite. */
    return -mean * log(1.0 - rng_double(r));
}

uint64_t rng_geometric(rng_t *r, double p)
{
    double u = 1.0 - rng_double(r); /* (0, 1] */
    if (p >= 1.0) return 1;
    double k = floor(log(u) / log1p(-p)) + 1.0;
    if (!(k < 0x1.0p53)) return (uint64_t)1 << 53;
    return (uint64_t)k;
}

double rng_normal(rng_t *r, double mu, double sigma)
{
    double u1 = 1.0 - rng_double(r); /* (0, 1]: log(u1) is finite */
    double u2 = rng_double(r);
    return mu + sigma * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

double rng_lognormal(rng_t *r, double mu, double sigma)
{
    return exp(rng_normal(r, mu, sigma));
}

/* ---- Zipf by rejection-inversion ----------------------------------------
 *
 * h(x) = x^-s is the (unnormalised) density of a continuous hat; H is its
 * antiderivative, H(x) = (x^(1-s) - 1) / (1-s) (ln x when s = 1), written
 * with expm1/log1p helpers so both forms are one formula and stay accurate
 * near s = 1.  A uniform point of [H(1.5) - h(1), H(n + 0.5)] is mapped back
 * through Hinv and rounded to the nearest integer k; it is accepted when it
 * falls under the part of the hat that belongs to k, which happens with
 * probability above 90% for every s, n. */

static double rng_log1p_over_x(double x)
{
    return fabs(x) > 1e-8 ? log1p(x) / x : 1.0 - x * (0.5 - x / 3.0);
}

static double rng_expm1_over_x(double x)
{
    return fabs(x) > 1e-8 ? expm1(x) / x : 1.0 + x * (0.5 + x / 6.0);
}

static double rng_zipf_h(double s, double x)
{
    return exp(-s * log(x));
}

static double rng_zipf_H(double s, double x)
{
    double lx = log(x);
    return rng_expm1_over_x((1.0 - s) * lx) * lx;
}

static double rng_zipf_Hinv(double s, double y)
{
    double t = y * (1.0 - s);
    if (t < -1.0) t = -1.0; /* rounding only; the exact value is >= -1 */
    return exp(rng_log1p_over_x(t) * y);
}

int rng_zipf_init(rng_zipf_t *z, uint64_t n, double s)
{
    if (n < 1 || !(s >= 0.0 && s <= 100.0)) return -1;
    z->n = n;
    z->s = s;
    z->h_x1 = rng_zipf_H(s, 1.5) - 1.0;
    z->h_n = rng_zipf_H(s, (double)n + 0.5);
    z->c = 2.0 - rng_zipf_Hinv(s, rng_zipf_H(s, 2.5) - rng_zipf_h(s, 2.0));
    return 0;
}

uint64_t rng_zipf(rng_t *r, const rng_zipf_t *z)
{
    for (;;) {
        double u = z->h_n + rng_double(r) * (z->h_x1 - z->h_n);
        double x = rng_zipf_Hinv(z->s, u);
        double kd = floor(x + 0.5);
        uint64_t k = kd < 1.0 ? 1 : kd >= (double)z->n ? z->n : (uint64_t)kd;
        double kk = (double)k;
        if (kk - x <= z->c || u >= rng_zipf_H(z->s, kk + 0.5) - rng_zipf_h(z->s, kk)) return k;
    }
}

/* ---- weighted tables ------------------------------------------------------ */

int rng_table_init(rng_table_t *t, const double *w, size_t n)
{
    t->n = 0;
    t->cum = NULL;
    if (n == 0 || n > SIZE_MAX / sizeof(double)) return -1;
    double sum = 0.0;
    size_t last = n; /* the last positive weight bounds the search */
    for (size_t i = 0; i < n; i++) {
        if (!(w[i] >= 0.0) || !isfinite(w[i])) return -1;
        if (w[i] > 0.0) last = i;
        sum += w[i];
    }
    if (last == n || !isfinite(sum)) return -1;
    t->cum = malloc((last + 1) * sizeof(double));
    if (!t->cum) return -2;
    sum = 0.0;
    for (size_t i = 0; i <= last; i++)
        t->cum[i] = sum += w[i];
    t->n = last + 1;
    return 0;
}

size_t rng_table_pick(rng_t *r, const rng_table_t *t)
{
    double u = rng_double(r) * t->cum[t->n - 1];
    size_t lo = 0, hi = t->n - 1;
    /* First index whose cumulative sum exceeds u: zero weights, which add
     * empty intervals, are never chosen. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->cum[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

void rng_table_free(rng_table_t *t)
{
    free(t->cum);
    t->cum = NULL;
    t->n = 0;
}
