/* trace_bench.c: how fast the trace readers are, and how compact the
 * binary form is.
 *
 * usage: trace_bench [--synth N] [--style realistic|random|threads:T[:P]]
 *                    [--seed S] [--reps R] [--write FILE] [TRACE...]
 *
 * For each TRACE (text or binary) and for a synthetic trace of N events
 * (--synth), the three forms (text, binary v1, binary v3: what writers
 * write for .atr) are made in
 * $TMPDIR, then each is read to its end
 * R times in a row, in two rounds (R default 5; the best time counts),
 * each time from trace_open to trace_close, in CPU time of the process
 * (user + system: the decoding's work, page faults included, not the time
 * other processes of a busy machine hold the CPU).  The readings: text
 * parsing (ids resolved through the hash) and binary decoding in fast
 * mode (slots only), both in batches of BENCH_BATCH events
 * (trace_next_batch: what a replay does); then binary fast mode event by
 * event (trace_next) and binary strict mode (ids checked too), event by
 * event, each binary reading for v1 and v3 alternately.  Prints events/s
 * of each, the binary (v3)/text speed ratios (batch against batch first),
 * the v3/v1 decode speed ratios of the best times (target >= 1) and, for
 * the batch readings, the Hodges-Lehmann ratio of all 2R readings of each
 * with its 95 % interval and what it says (at least v1's when the whole
 * interval is >= 1, SLOWER when all of it is below), bytes/event of the forms
 * (v3 target <= 2), and the peak RSS,
 * which must not grow with the file (the binary reader gives consumed
 * pages back).  --write FILE only writes the synthetic trace to FILE
 * (format from its name) and exits; style threads:T[:P] writes a trace
 * of T threads, P per mille of whose blocks another thread frees
 * (tsynth_write_threads; default 100), for scripts/bench's threaded
 * replay. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sim/trace/trace.h"
#include "sim/trace/trace_synth.h"

typedef struct {
    uint64_t synth;
    tsynth_style_t style;
    uint64_t seed;
    int reps;
    const char *write;
    uint32_t threads; /* style threads:T: T, else 0                    */
    unsigned remote;  /* its per mille of remote frees                 */
} bench_args_t;

static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long long bench_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Events per trace_next_batch call, as in a replay (sim/replay/replay.c). */
#define BENCH_BATCH 256

/* Reads PATH to its end once, with trace_next_batch when BATCH, else
 * event by event: seconds, events in *N; < 0 on error. */
static double bench_read(const char *path, unsigned flags, int batch, uint64_t *n)
{
    static trace_event_t ev[BENCH_BATCH];
    trace_reader_t *r;
    char err[512];
    uint64_t k = 0, sum = 0;
    int rc;
    double t0 = bench_now();
    if (trace_open_ex(&r, path, flags, err, sizeof err) < 0) {
        fprintf(stderr, "trace_bench: %s\n", err);
        return -1;
    }
    while ((rc = batch ? trace_next_batch(r, ev, BENCH_BATCH) : trace_next(r, ev)) > 0) {
        /* use the fields, as a replay would */
        for (int j = 0; j < rc; j++)
            sum += ev[j].slot + ev[j].size;
        k += (uint64_t)rc;
    }
    if (rc < 0) {
        fprintf(stderr, "trace_bench: %s\n", trace_error(r));
        trace_close(r);
        return -1;
    }
    trace_close(r);
    double t = bench_now() - t0;
    volatile uint64_t sink = sum; /* the reads must not be optimised away */
    (void)sink;
    *n = k;
    return t;
}

static int bench_convert(const char *in, const char *out, trace_format_t fmt)
{
    trace_reader_t *r;
    trace_writer_t *w;
    char err[512];
    const char *msg;
    if (trace_open(&r, in, err, sizeof err) < 0) {
        fprintf(stderr, "trace_bench: %s\n", err);
        return -1;
    }
    if (trace_writer_open(&w, out, fmt, trace_meta(r), 0, err, sizeof err) < 0) {
        fprintf(stderr, "trace_bench: %s\n", err);
        trace_close(r);
        return -1;
    }
    int rc = trace_copy(r, w, 0, NULL, &msg);
    if (rc < 0) {
        fprintf(stderr, "trace_bench: %s\n", msg);
        trace_writer_abort(w);
    } else if ((rc = trace_writer_close_err(w, err, sizeof err)) < 0) {
        fprintf(stderr, "trace_bench: %s\n", err);
    }
    trace_close(r);
    return rc;
}

static int bench_synth(const char *path, const bench_args_t *a)
{
    trace_writer_t *w;
    char err[512];
    trace_meta_entry_t ent = {"producer", "trace_bench"};
    trace_meta_t meta = {1, &ent};
    if (trace_writer_open(&w, path, trace_format_for_path(path), &meta, 0, err, sizeof err) < 0) {
        fprintf(stderr, "trace_bench: %s\n", err);
        return -1;
    }
    if ((a->threads ? tsynth_write_threads(w, a->seed, a->synth, a->threads, a->remote)
                    : tsynth_write(w, a->seed, a->synth, a->style)) < 0) {
        fprintf(stderr, "trace_bench: %s\n", trace_writer_error(w));
        trace_writer_abort(w);
        return -1;
    }
    if (trace_writer_close_err(w, err, sizeof err) < 0) {
        fprintf(stderr, "trace_bench: %s\n", err);
        return -1;
    }
    return 0;
}

/* Benchmarks one trace given in any form: made into text, binary v1 and
 * binary v3 in $TMPDIR, each read in every mode.  0 or -1. */
static int bench_cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* The speed of B relative to A from N reading times of each: the
 * Hodges-Lehmann estimate of the ratio (the median over all pairs of
 * log tA - log tB, exponentiated) and its 95 % interval from Mann-Whitney's
 * order statistics (normal approximation; Hollander & Wolfe), as
 * scripts/bench's section 2 does.  OUT: estimate, low, high.  -1: no
 * memory. */
static int bench_hl(const double *ta, const double *tb, int n, double out[3])
{
    size_t nn = (size_t)n * (size_t)n;
    double *d = malloc(sizeof(double) * nn);
    if (!d) return -1;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            d[(size_t)i * (size_t)n + (size_t)j] = log(ta[i]) - log(tb[j]);
    qsort(d, nn, sizeof(double), bench_cmp_double);
    double mid = nn % 2 ? d[nn / 2] : (d[nn / 2 - 1] + d[nn / 2]) / 2;
    /* k: the 1-based rank of the interval's ends among the n*n differences */
    long k = (long)floor((double)nn / 2 - 1.959964 * sqrt((double)nn * (2.0 * n + 1) / 12));
    if (k < 1) k = 1;
    out[0] = exp(mid);
    out[1] = exp(d[k - 1]);
    out[2] = exp(d[nn - (size_t)k]);
    free(d);
    return 0;
}

static int bench_one(const char *name, const char *path, const bench_args_t *a)
{
    enum { F_TEXT, F_V1, F_V3, F_N };
    char file[F_N][4096];
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    static const char *const ext[F_N] = {"txt", "v1.atr", "v3.atr"};
    static const trace_format_t fmt[F_N] = {TRACE_FMT_TEXT, TRACE_FMT_BIN1, TRACE_FMT_BIN};
    int bad = 0;
    for (int f = 0; f < F_N; f++)
        snprintf(file[f], sizeof file[f], "%s/trace_bench.%ld.%s", tmp, (long)getpid(), ext[f]);
    for (int f = 0; f < F_N && !bad; f++)
        bad = bench_convert(f == F_TEXT ? path : file[F_TEXT], file[f], fmt[f]) < 0;
    /* each reading REPS times, the best time: the decoder's steady state
     * (caches and branch predictors warm), as in a replay's long run; then
     * the whole round once more, so that a slow spell of a busy machine
     * does not decide a figure.  v1 and v3 of a kind alternate reading by
     * reading (the order swapped every other one), so the machine's drift
     * falls on both alike: their every time goes into bench_hl's ratio. */
    static const struct {
        unsigned flags;
        int batch, form;
    } mode[] = {{0, 1, F_TEXT},
                {TRACE_R_FAST, 1, F_V1},
                {TRACE_R_FAST, 1, F_V3},
                {TRACE_R_FAST, 0, F_V1},
                {TRACE_R_FAST, 0, F_V3},
                {0, 0, F_V1},
                {0, 0, F_V3}};
    enum { NMODES = sizeof mode / sizeof mode[0] };
    double best[NMODES];
    uint64_t cnt[NMODES] = {0};
    int nt_each = 2 * a->reps;
    double *times = malloc(sizeof(double) * NMODES * (size_t)nt_each);
    bad |= times == NULL;
    for (int m = 0; m < NMODES; m++)
        best[m] = -1;
    for (int round = 0; round < 2 && !bad; round++)
        for (int i = 0; i < a->reps && !bad; i++)
            for (int k = 0; k < NMODES && !bad; k++) {
                /* k = 0 text; then v1, v3 pairs, swapped when i + round is odd */
                int m = k == 0 || (i + round) % 2 == 0 ? k : (k % 2 ? k + 1 : k - 1);
                double t = bench_read(file[mode[m].form], mode[m].flags, mode[m].batch, &cnt[m]);
                bad = t < 0;
                times[(size_t)m * nt_each + (size_t)(round * a->reps + i)] = t;
                if (best[m] < 0 || t < best[m]) best[m] = t;
            }
    long long size[F_N];
    for (int f = 0; f < F_N; f++) {
        size[f] = bench_size(file[f]);
        remove(file[f]);
    }
    uint64_t nt = cnt[0];
    for (int m = 1; m < NMODES; m++)
        bad |= cnt[m] != nt;
    if (bad || nt == 0) {
        fprintf(stderr, "trace_bench: %s: the forms disagree or cannot be read\n", name);
        free(times);
        return -1;
    }
    double n = (double)nt;
    printf("%s: %llu events\n", name, (unsigned long long)nt);
    printf("  text parse          %12.0f events/s  %6.1f ns/event  %5.2f bytes/event\n",
           n / best[0], best[0] / n * 1e9, (double)size[F_TEXT] / n);
    printf("  binary v1 decode    %12.0f events/s  %6.1f ns/event  %5.2f bytes/event\n",
           n / best[1], best[1] / n * 1e9, (double)size[F_V1] / n);
    printf("  binary decode       %12.0f events/s  %6.1f ns/event  %5.2f bytes/event (v3)\n",
           n / best[2], best[2] / n * 1e9, (double)size[F_V3] / n);
    printf("  binary, per event   %12.0f events/s  %6.1f ns/event (v1: %.1f)\n", n / best[4],
           best[4] / n * 1e9, best[3] / n * 1e9);
    printf("  binary, strict ids  %12.0f events/s  %6.1f ns/event (v1: %.1f)\n", n / best[6],
           best[6] / n * 1e9, best[5] / n * 1e9);
    printf("  binary/text speed   %12.1fx (per event: %.1fx, strict: %.1fx)\n", best[0] / best[2],
           best[0] / best[4], best[0] / best[6]);
    printf("  v3/v1 decode speed  %12.2fx (per event: %.2fx, strict: %.2fx; target >= 1)\n",
           best[1] / best[2], best[3] / best[4], best[5] / best[6]);
    double hl[3];
    bad = bench_hl(times + 1 * (size_t)nt_each, times + 2 * (size_t)nt_each, nt_each, hl) < 0;
    free(times);
    if (bad) {
        fprintf(stderr, "trace_bench: out of memory\n");
        return -1;
    }
    printf("  v3/v1 Hodges-Lehmann %11.3fx (95 %% interval %.3f-%.3f, %d readings each: %s)\n",
           hl[0], hl[1], hl[2], nt_each,
           hl[1] >= 1.0  ? "at least v1's"
           : hl[2] < 1.0 ? "SLOWER than v1"
                         : "no difference from v1 found");
    printf("  v3 bytes/event      %12.2f (v1: %.2f; target <= 2)\n", (double)size[F_V3] / n,
           (double)size[F_V1] / n);
    return 0;
}

int main(int argc, char **argv)
{
    bench_args_t a = {0, TSYNTH_REALISTIC, 1, 5, NULL, 0, 100};
    int ntraces = 0, rc = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--synth") && v) {
            a.synth = strtoull(v, NULL, 10);
            i++;
        } else if (!strcmp(argv[i], "--style") && v) {
            a.style = !strcmp(v, "random") ? TSYNTH_RANDOM : TSYNTH_REALISTIC;
            if (!strncmp(v, "threads:", 8)) {
                char *end;
                a.threads = (uint32_t)strtoul(v + 8, &end, 10);
                if (*end == ':') a.remote = (unsigned)strtoul(end + 1, &end, 10);
                if (!a.threads || *end || a.remote > 1000) {
                    fprintf(stderr, "trace_bench: --style threads:T[:P], T >= 1, P <= 1000\n");
                    return 2;
                }
            }
            i++;
        } else if (!strcmp(argv[i], "--seed") && v) {
            a.seed = strtoull(v, NULL, 10);
            i++;
        } else if (!strcmp(argv[i], "--reps") && v) {
            a.reps = atoi(v) > 0 ? atoi(v) : 1;
            i++;
        } else if (!strcmp(argv[i], "--write") && v) {
            a.write = v;
            i++;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr,
                    "usage: trace_bench [--synth N] [--style realistic|random|threads:T[:P]] "
                    "[--seed S] [--reps R] [--write FILE] [TRACE...]\n");
            return 2;
        } else {
            ntraces++;
        }
    }
    if (a.write) {
        if (!a.synth) a.synth = 1000000;
        return bench_synth(a.write, &a) < 0 ? 1 : 0;
    }
    if (!ntraces && !a.synth) a.synth = 2000000;
    if (a.synth) {
        char path[4096], name[64];
        const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        snprintf(path, sizeof path, "%s/trace_bench_synth.%ld.txt", tmp, (long)getpid());
        snprintf(name, sizeof name, "synthetic %s (seed %llu)",
                 a.style == TSYNTH_RANDOM ? "random" : "realistic", (unsigned long long)a.seed);
        if (bench_synth(path, &a) < 0 || bench_one(name, path, &a) < 0) rc = 1;
        remove(path);
    }
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) {
            i++;
            continue;
        }
        if (bench_one(argv[i], argv[i], &a) < 0) rc = 1;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS %ld MiB\n", ru.ru_maxrss / 1024);
    return rc;
}
