/* rng.h: deterministic pseudo-random numbers and the distributions the
 * trace generator offers scripts (uniform, exponential, geometric, normal,
 * lognormal, Zipf, weighted tables).
 *
 * Invariant: every value is a pure function of the seed and of the sequence
 * of calls made so far.  Nothing reads the clock, the address space or a
 * global state, so the same script with the same seed produces the same
 * trace on every run.  The generator is xoshiro256** seeded through
 * splitmix64 (both by Blackman and Vigna, public domain algorithms); each
 * distribution consumes a fixed, documented number of draws except the
 * rejection samplers (integer ranges, Zipf).
 *
 * Errors: the *_init functions return 0 or -1 for parameters out of their
 * domain (and leave the object unusable); samplers never fail.
 */
#ifndef ARENALAB_SIM_LUA_RNG_H
#define ARENALAB_SIM_LUA_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t s[4]; /* xoshiro256** state; never all zero */
} rng_t;

/* Seeds R from SEED (any value, 0 included). */
void rng_seed(rng_t *r, uint64_t seed);

static inline uint64_t rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* The next 64 random bits (xoshiro256**).  Inline: the generator's hot path. */
static inline uint64_t rng_next(rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t out = rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rng_rotl(s[3], 45);
    return out;
}

/* Uniform double in [0, 1) with 53 random bits (one draw). */
static inline double rng_double(rng_t *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, N) without bias (Lemire's multiply-and-reject);
 * N == 0 means the full 64-bit range. */
uint64_t rng_below(rng_t *r, uint64_t n);

/* Uniform integer in [A, B] (inclusive); requires A <= B. */
int64_t rng_range(rng_t *r, int64_t a, int64_t b);

/* Exponential with the given MEAN (> 0): -MEAN * ln(1 - U).  One draw. */
double rng_exponential(rng_t *r, double mean);

/* Number of Bernoulli(P) trials up to and including the first success:
 * k >= 1 with P(k) = (1-P)^(k-1) P, mean 1/P; 0 < P <= 1.  One draw.
 * Saturates at 2^53. */
uint64_t rng_geometric(rng_t *r, double p);

/* Normal(MU, SIGMA) by Box-Muller, one value per call (two draws). */
double rng_normal(rng_t *r, double mu, double sigma);

/* exp(Normal(MU, SIGMA)) (two draws). */
double rng_lognormal(rng_t *r, double mu, double sigma);

/* Zipf over 1..N with exponent S: P(k) proportional to k^-S.  Sampled in
 * O(1) expected time by rejection-inversion (Hörmann and Derflinger, 1996),
 * so N may be huge and no table is built. */
typedef struct {
    uint64_t n;
    double s;
    double h_x1; /* H(1.5) - h(1): upper end of the inverted interval */
    double h_n;  /* H(N + 0.5): lower end                             */
    double c;    /* acceptance shortcut: 2 - Hinv(H(2.5) - h(2))      */
} rng_zipf_t;

/* Returns 0, or -1 unless N >= 1 and 0 <= S <= 100 (finite). */
int rng_zipf_init(rng_zipf_t *z, uint64_t n, double s);
uint64_t rng_zipf(rng_t *r, const rng_zipf_t *z);

/* A discrete distribution over indices 0..n-1 with non-negative weights:
 * cumulative sums searched by bisection (O(log n), one draw). */
typedef struct {
    size_t n;
    double *cum; /* cum[i] = w[0] + ... + w[i]; owned */
} rng_table_t;

/* Copies the weights.  Returns 0, -1 if a weight is negative, not finite,
 * or all are zero (or N is 0), -2 when out of memory. */
int rng_table_init(rng_table_t *t, const double *w, size_t n);
size_t rng_table_pick(rng_t *r, const rng_table_t *t);
void rng_table_free(rng_table_t *t);

#endif
