/* metrics.c: sample series, sampling plan, RSS, J&W fragmentation and
 * summaries (see metrics.h). */
#include "sim/replay/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

const char *const metrics_sample_column[METRICS_NFIELDS] = {
#define METRICS_COLUMN(field, column) column,
    METRICS_SAMPLE_FIELDS(METRICS_COLUMN)
#undef METRICS_COLUMN
};

const size_t metrics_sample_offset[METRICS_NFIELDS] = {
#define METRICS_OFFSET(field, column) offsetof(metrics_sample_t, field),
    METRICS_SAMPLE_FIELDS(METRICS_OFFSET)
#undef METRICS_OFFSET
};

_Static_assert(sizeof(metrics_sample_t) == METRICS_NFIELDS * sizeof(uint64_t),
               "METRICS_NFIELDS matches METRICS_SAMPLE_FIELDS");

/* ---- series ------------------------------------------------------------- */

/* N bytes of fresh anonymous memory (zero, untouched), or NULL. */
static void *metrics_map(size_t n)
{
    void *p = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int metrics_series_init(metrics_series_t *ser, size_t cap, int pretouch)
{
    memset(ser, 0, sizeof *ser);
    if (cap == 0) cap = 1;
    if (cap > SIZE_MAX / (METRICS_MAX_EXTRA * sizeof(uint64_t))) return -1;
    ser->s = metrics_map(cap * sizeof *ser->s);
    ser->extra = metrics_map(cap * METRICS_MAX_EXTRA * sizeof *ser->extra);
    ser->cap = cap;
    if (!ser->s || !ser->extra) {
        metrics_series_free(ser);
        return -1;
    }
    /* Written now, so that sampling touches no new page (it would count
     * as the measured allocator's resident memory); otherwise a row's
     * pages are written when it is added. */
    if (pretouch) {
        memset(ser->s, 0, cap * sizeof *ser->s);
        for (size_t i = 0; i < cap * METRICS_MAX_EXTRA; i++)
            ser->extra[i] = METRICS_ABSENT;
    }
    return 0;
}

void metrics_series_free(metrics_series_t *ser)
{
    if (ser->s) munmap(ser->s, ser->cap * sizeof *ser->s);
    if (ser->extra) munmap(ser->extra, ser->cap * METRICS_MAX_EXTRA * sizeof *ser->extra);
    memset(ser, 0, sizeof *ser);
}

int metrics_series_extra(metrics_series_t *ser, const char *name)
{
    for (int j = 0; j < ser->nextra; j++)
        if (strcmp(ser->extra_name[j], name) == 0) return j;
    if (ser->nextra == METRICS_MAX_EXTRA || strlen(name) >= METRICS_NAME_MAX) return -1;
    strcpy(ser->extra_name[ser->nextra], name);
    return ser->nextra++;
}

long metrics_series_add(metrics_series_t *ser, const metrics_sample_t *s)
{
    if (ser->n == ser->cap) return -1;
    size_t i = ser->n++;
    ser->s[i] = *s;
    for (size_t j = 0; j < METRICS_MAX_EXTRA; j++)
        ser->extra[i * METRICS_MAX_EXTRA + j] = METRICS_ABSENT;
    return (long)i;
}

/* ---- sampling plan ------------------------------------------------------ */

void metrics_plan_init(metrics_plan_t *p, uint64_t nevents, uint64_t nsamples, uint64_t also)
{
    p->nevents = nevents;
    p->nsamples = nsamples < nevents ? nsamples : nevents;
    p->k = 1;
    p->also = also <= nevents ? also : 0;
}

/* ceil(k * n / s) without overflow. */
static uint64_t metrics_plan_at(const metrics_plan_t *p, uint64_t k)
{
    unsigned __int128 num = (unsigned __int128)k * p->nevents;
    return (uint64_t)((num + p->nsamples - 1) / p->nsamples);
}

uint64_t metrics_plan_next(metrics_plan_t *p, uint64_t after)
{
    uint64_t even = UINT64_MAX;
    while (p->k <= p->nsamples) {
        uint64_t at = metrics_plan_at(p, p->k);
        if (at > after) {
            even = at;
            break;
        }
        p->k++;
    }
    if (p->also > after && p->also < even) return p->also;
    return even;
}

uint64_t metrics_plan_count(const metrics_plan_t *p)
{
    metrics_plan_t q = *p;
    uint64_t n = 0;
    for (uint64_t at = metrics_plan_next(&q, 0); at != UINT64_MAX; at = metrics_plan_next(&q, at))
        n++;
    return n;
}

/* ---- RSS ---------------------------------------------------------------- */

int metrics_anon_rss(int fd, uint64_t *out)
{
    char buf[256];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return -1;
    buf[n] = '\0';
    /* "size resident shared text lib data dt", in pages. */
    uint64_t field[3] = {0, 0, 0};
    const char *p = buf;
    for (int i = 0; i < 3; i++) {
        while (*p == ' ')
            p++;
        if (*p < '0' || *p > '9') return -1;
        while (*p >= '0' && *p <= '9')
            field[i] = field[i] * 10 + (uint64_t)(*p++ - '0');
    }
    uint64_t anon = field[1] > field[2] ? field[1] - field[2] : 0;
    *out = anon * (uint64_t)sysconf(_SC_PAGESIZE);
    return 0;
}

/* ---- fragmentation ------------------------------------------------------ */

void metrics_acc_init(metrics_acc_t *a)
{
    memset(a, 0, sizeof *a);
}

void metrics_acc_point(metrics_acc_t *a, uint64_t live, uint64_t fp)
{
    if (live > a->peak_live) {
        a->peak_live = live;
        a->fp_at_peak_live = fp;
    }
    if (fp > a->peak_fp) {
        a->peak_fp = fp;
        a->live_at_peak_fp = live;
    }
}

void metrics_acc_sample(metrics_acc_t *a, uint64_t live, uint64_t fp)
{
    if (live > 0) {
        a->ratio_sum += (double)fp / (double)live;
        a->nratio++;
    }
    metrics_acc_point(a, live, fp);
}

void metrics_acc_exact_peak(metrics_acc_t *a, uint64_t peak_fp)
{
    if (peak_fp > a->peak_fp) a->peak_fp = peak_fp;
}

/* num / den - 1, NaN for a zero denominator. */
static double metrics_ratio_m1(uint64_t num, uint64_t den)
{
    return den ? (double)num / (double)den - 1.0 : NAN;
}

void metrics_acc_result(const metrics_acc_t *a, metrics_frag_t *out)
{
    out->jw1 = a->nratio ? a->ratio_sum / (double)a->nratio - 1.0 : NAN;
    out->jw2 = metrics_ratio_m1(a->fp_at_peak_live, a->peak_live);
    out->jw3 = metrics_ratio_m1(a->peak_fp, a->live_at_peak_fp);
    out->jw4 = metrics_ratio_m1(a->peak_fp, a->peak_live);
    out->util = a->peak_fp ? (double)a->peak_live / (double)a->peak_fp : NAN;
}
