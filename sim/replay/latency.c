/* latency.c: the per-call clock, its calibration, and the histograms (see
 * latency.h). */
#include "sim/replay/latency.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

const char *const lat_op_name[LAT_NSUMMARIES] = {
    "malloc",       "calloc",    "realloc",    "free", "arena_new",
    "arena_malloc", "arena_own", "arena_free", "all",
};
_Static_assert(TRACE_ALLOC == 0 && TRACE_ARENA_FREE == 7 && TRACE_NOPS == 8,
               "lat_op_name follows the trace operations");

const char *const lat_clock_name[LAT_NCLOCKS] = {"rdtscp", "clock_gettime"};

const struct lat_quantile lat_quantiles[LAT_NQUANTILES] = {
    {"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p99_9", 0.999}, {"p99_99", 0.9999},
};

/* ---- the clock ------------------------------------------------------------ */

int lat_tsc_usable(void)
{
#if defined(__x86_64__)
    unsigned a, b, c, d;
    if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u) return 0;
    if (!__get_cpuid(0x80000001u, &a, &b, &c, &d) || !(d & (1u << 27))) return 0; /* RDTSCP */
    if (!__get_cpuid(0x80000007u, &a, &b, &c, &d) || !(d & (1u << 8))) return 0;  /* invariant */
    return 1;
#else
    return 0;
#endif
}

static uint64_t lat_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t lat_gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

int lat_clock_init(lat_clock_t *c, int kind)
{
    memset(c, 0, sizeof *c);
    if (kind < 0) kind = lat_tsc_usable() ? LAT_CLOCK_TSC : LAT_CLOCK_MONOTONIC;
    if (kind == LAT_CLOCK_TSC && !lat_tsc_usable()) return -1;
    if (kind != LAT_CLOCK_TSC && kind != LAT_CLOCK_MONOTONIC) return -1;
    c->kind = (lat_clock_kind_t)kind;
    c->ticks_per_ns = 1;
    if (c->kind == LAT_CLOCK_TSC) {
        /* Both clocks read at the start and at the end of a busy wait;
         * a reading of each brackets the other, so the error is the
         * time of one clock_gettime over LAT_CALIBRATE_NS (~1e-5). */
        uint64_t n0 = lat_mono_ns(), t0 = lat_tsc(), n1, t1;
        do {
            n1 = lat_mono_ns();
        } while (n1 - n0 < LAT_CALIBRATE_NS);
        t1 = lat_tsc();
        c->ticks_per_ns = (double)(t1 - t0) / (double)(n1 - n0);
    }
    /* Overhead: the fewest ticks of back-to-back pairs.  Resolution: the
     * step the readings move by, the GCD of pairs a little work apart (a
     * TSC scaled from a slower reference moves in steps of many ticks). */
    uint64_t best = UINT64_MAX, step = 0;
    for (int i = 0; i < LAT_OVERHEAD_READS; i++) {
        uint64_t a = lat_now(c), b = lat_now(c);
        if (b - a < best) best = b - a;
        volatile unsigned spin = 0;
        for (unsigned k = 0; k < (unsigned)i % 97; k++)
            spin = spin + 1;
        uint64_t d = lat_now(c) - a;
        if (d) step = lat_gcd(step, d);
    }
    c->overhead = best == UINT64_MAX ? 0 : best;
    c->overhead_ns = (double)c->overhead / c->ticks_per_ns;
    c->resolution_ns = (double)(step ? step : 1) / c->ticks_per_ns;
    struct timespec res;
    if (c->kind == LAT_CLOCK_MONOTONIC && clock_getres(CLOCK_MONOTONIC, &res) == 0 &&
        (double)res.tv_sec * 1e9 + (double)res.tv_nsec > c->resolution_ns)
        c->resolution_ns = (double)res.tv_sec * 1e9 + (double)res.tv_nsec;
    return 0;
}

/* ---- histograms ----------------------------------------------------------- */

uint64_t lat_bucket_low(unsigned i)
{
    if (i < 2 * LAT_SUB) return i;
    unsigned k = i / LAT_SUB; /* the octave above the exact buckets, from 1 */
    uint64_t top = i - (uint64_t)(k - 1) * LAT_SUB;
    return top << (k - 1);
}

uint64_t lat_bucket_high(unsigned i)
{
    if (i + 1 >= LAT_NBUCKETS) return UINT64_MAX;
    return lat_bucket_low(i + 1) - 1;
}

uint64_t lat_hist_value_at(const lat_hist_t *h, double q)
{
    if (h->count == 0) return 0;
    if (q >= 1) return h->max;
    double r = ceil(q * (double)h->count);
    uint64_t rank = r < 1 ? 1 : (uint64_t)r, seen = 0;
    for (unsigned i = 0; i < LAT_NBUCKETS; i++) {
        seen += h->bucket[i];
        if (seen >= rank) {
            uint64_t hi = lat_bucket_high(i);
            return hi < h->max ? hi : h->max;
        }
    }
    return h->max;
}

void lat_hist_merge(lat_hist_t *dst, const lat_hist_t *src)
{
    for (unsigned i = 0; i < LAT_NBUCKETS; i++)
        dst->bucket[i] += src->bucket[i];
    dst->count += src->count;
    if (src->max > dst->max) dst->max = src->max;
}

int lat_hist_is_valid(const lat_hist_t *h)
{
    uint64_t sum = 0;
    unsigned top = 0;
    for (unsigned i = 0; i < LAT_NBUCKETS; i++) {
        sum += h->bucket[i];
        if (h->bucket[i]) top = i;
    }
    if (sum != h->count) return 0;
    if (h->count == 0) return h->max == 0;
    return lat_index(h->max) == top;
}

/* ---- summaries ------------------------------------------------------------ */

void lat_summarize(const lat_hist_t *h, double ticks_per_ns, lat_summary_t *out)
{
    out->count = h->count;
    for (int k = 0; k < LAT_NQUANTILES; k++)
        out->q[k] =
            h->count ? (double)lat_hist_value_at(h, lat_quantiles[k].q) / ticks_per_ns : NAN;
    out->max = h->count ? (double)h->max / ticks_per_ns : NAN;
}

void lat_table_all(const lat_table_t *t, lat_hist_t *out)
{
    memset(out, 0, sizeof *out);
    for (int op = 0; op < LAT_NOPS; op++)
        lat_hist_merge(out, &t->op[op]);
}

void lat_table_summarize(const lat_table_t *t, double ticks_per_ns,
                         lat_summary_t out[LAT_NSUMMARIES])
{
    for (int op = 0; op < LAT_NOPS; op++)
        lat_summarize(&t->op[op], ticks_per_ns, &out[op]);
    lat_hist_t *all = malloc(sizeof *all);
    if (!all) {
        memset(&out[LAT_ALL], 0, sizeof out[LAT_ALL]);
        for (int k = 0; k < LAT_NQUANTILES; k++)
            out[LAT_ALL].q[k] = NAN;
        out[LAT_ALL].max = NAN;
        return;
    }
    lat_table_all(t, all);
    lat_summarize(all, ticks_per_ns, &out[LAT_ALL]);
    free(all);
}

/* ---- the worker's pipe ---------------------------------------------------- */

void lat_hist_write(FILE *out, const lat_hist_t *h)
{
    fprintf(out, "%" PRIu64 " %" PRIu64, h->count, h->max);
    for (unsigned i = 0; i < LAT_NBUCKETS; i++)
        if (h->bucket[i]) fprintf(out, " %u:%" PRIu64, i, h->bucket[i]);
}

int lat_hist_parse(lat_hist_t *h, const char *text)
{
    char *end;
    uint64_t count = strtoull(text, &end, 10);
    if (end == text || *end != ' ') return -1;
    const char *p = end + 1;
    uint64_t max = strtoull(p, &end, 10);
    if (end == p) return -1;
    lat_hist_t add;
    memset(&add, 0, sizeof add);
    add.count = count;
    add.max = max;
    uint64_t sum = 0;
    for (p = end; *p == ' ';) {
        unsigned long i = strtoul(p + 1, &end, 10);
        if (end == p + 1 || *end != ':' || i >= LAT_NBUCKETS) return -1;
        p = end + 1;
        uint64_t n = strtoull(p, &end, 10);
        if (end == p) return -1;
        add.bucket[i] += n;
        sum += n;
        p = end;
    }
    if (*p || sum != count || !lat_hist_is_valid(&add)) return -1;
    lat_hist_merge(h, &add);
    return 0;
}
