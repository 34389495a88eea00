/* cmd_compare.c: `arenalab compare RESULT_A RESULT_B` -- what changed between
 * two reports, per (trace, allocator): every metric's change, and whether
 * it is significant.
 *
 * Each side is a result directory (or its runs.csv): the runs.csv that
 * `arenalab report` writes (sim/replay/output.c's columns).  Pairs are
 * matched on (trace, allocator); pairs found on one side only are listed
 * apart.
 *
 * Significance of timings.  Two reports run minutes or days apart on a
 * machine whose speed drifts: measured twice on a busy 2-core machine, the
 * same commit's timings moved by -29 % and +25 % between two reports, far
 * beyond the noise within one (README.md, "Comparing reports").  So compare
 * asks whether an allocator got faster or slower *relative to the other
 * allocators of its trace*: within a report the runs of a trace are
 * interleaved in rounds, so each run is divided by the median of its round
 * -- the median, over the allocator classes timed on the trace, of the run
 * in that round of the class's first configuration -- which cancels
 * whatever slowed the whole machine during that round.  One configuration
 * per class, so a change to one allocator's code, which moves all its
 * sweep points, moves one value of the reference, not half of them.  The
 * Mann-Whitney U test compares the two sides' normalised runs; the
 * p-values of every pair are adjusted together by Benjamini-Hochberg; a
 * change is significant when the adjusted p is at most 5 % (results_clear).
 * A trace with fewer than COMPARE_MIN_REFERENCE classes timed in a round
 * has no reference to speak of: its pairs are tested on the raw runs
 * (`absolute`), drift included.  A change that slows every allocator alike
 * (the machine, the replay loop) is no allocator's: it shows as the drift
 * in the tally, not as significant pairs.  Pairs on a trace too short to
 * time (timing_too_short) are left out of the family and never significant.
 * A runs.csv without ns_per_event_runs (an older report) has nothing to
 * test.
 *
 * Memory figures of our models are exact -- the same trace, allocator and
 * parameters give the same bytes -- so any change in them is significant.
 * The preloaded libraries (ALLOC_PRELOAD: jemalloc, mimalloc, tcmalloc, and
 * any so: library) are not ours: they return memory on timers and their footprint is partly
 * RSS, so theirs is a single measurement a side (jemalloc's peak footprint
 * on one trace moved from 1.6 to 3.6 MiB between two reports of one
 * commit); their memory changes are shown and counted, never judged
 * significant.
 * Machines.  Timings are only compared on one machine: when both sides
 * have a nodes.csv (every report since `report --slurm`) and a trace ran
 * on machines of different identities (sysinfo_machine: host, CPU,
 * kernel, libraries) in A and B, its pairs' timings are not tested
 * ("other machine"), and the tally counts them.  Memory figures are
 * compared as ever.
 * Peak resident memory is the kernel's count of resident pages, measured once a side:
 * it moves by a few pages between identical runs (up to 6 seen), so a
 * change is significant beyond COMPARE_RSS_PAGES pages.  The figures made
 * from resident memory (J&W #1-#4, util) move with it: a change in them
 * is significant only when peak resident moved beyond those pages.
 * Instruction and cache-miss counts (`--measure instructions`, callgrind)
 * are exact for every allocator, the preloaded libraries included (their
 * timers are pinned for the count, sim/replay/driver.c): any change in
 * them is significant.  A pair counted on one side only is not judged.
 *
 * Output: the table on standard output with a count of significant timing
 * changes, and a directory (--out DIR, else results/compare-<timestamp>/)
 * with compare.csv, compare.md and one plot (compare.gp, .dat, .svg,
 * .png): per pair, the change in median ns/event (dark when significant)
 * and in peak footprint.  --json FILE writes every pair's metrics: A, B,
 * change, significant.
 */
#include "sim/cli/commands.h"
#include "alloc/params.h"
#include "sim/base/csv.h"
#include "sim/base/json.h"
#include "sim/base/outfile.h"
#include "sim/report/plot.h"
#include "sim/base/repo.h"
#include "sim/report/resdir.h"
#include "sim/report/results.h"
#include "sim/replay/timing.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { COMPARE_KEY_OUT = 'o', COMPARE_KEY_JSON = 256 };

static const cli_opt_t compare_opts[] = {
    {"out", 'o', "DIR", COMPARE_KEY_OUT,
     "write compare.{csv,md} and the plot into DIR, a new or empty directory (default: "
     "results/compare-<timestamp>/ of the repository)"},
    {"json", 0, "FILE", COMPARE_KEY_JSON,
     "also write every pair's metrics (A, B, change, significant) as JSON ('-': standard "
     "output)"},
    {0},
};

/* The metrics compared, one line each: runs.csv column, label, kind, and
 * how a change is judged.  The first six are the table's. */
typedef enum {
    COMPARE_BYTES,
    COMPARE_RATIO,
    COMPARE_NS,
    COMPARE_COUNT,
    COMPARE_PER_EVENT
} compare_kind_t;
/* COMPARE_RESIDENT: a ratio of resident memory (J&W, util), which moves
 * with it: judged as peak resident is, by its pages. */
typedef enum {
    COMPARE_TESTED,
    COMPARE_EXACT,
    COMPARE_PAGES,
    COMPARE_RESIDENT,
    COMPARE_COUNTED
} compare_judge_t;

/* Fewest allocator classes in a round for the relative test. */
#define COMPARE_MIN_REFERENCE 3
/* Peak RSS changes of at most this many 4 KiB pages are the kernel's: the
 * headline's memory verdict uses the same pages (results.h). */
#define COMPARE_RSS_PAGES RESULTS_RSS_PAGES

static const struct {
    const char *column;
    const char *label;
    compare_kind_t kind;
    compare_judge_t judge;
} compare_metrics[] = {
    {"ns_per_event_median", "ns/event", COMPARE_NS, COMPARE_TESTED},
    {"peak_resident_bytes", "peak resident", COMPARE_BYTES, COMPARE_PAGES},
    {"peak_live_bytes", "peak live", COMPARE_BYTES, COMPARE_EXACT},
    {"peak_held_bytes", "peak held", COMPARE_BYTES, COMPARE_EXACT},
    {"frag_jw4", "jw4", COMPARE_RATIO, COMPARE_RESIDENT},
    {"util", "util", COMPARE_RATIO, COMPARE_RESIDENT},
    {"internal_frag", "internal", COMPARE_RATIO, COMPARE_EXACT},
    {"ns_per_event_mean", "ns/event mean", COMPARE_NS, COMPARE_TESTED},
    {"peak_live_blocks", "peak live blocks", COMPARE_COUNT, COMPARE_EXACT},
    {"frag_jw1", "jw1", COMPARE_RATIO, COMPARE_RESIDENT},
    {"frag_jw2", "jw2", COMPARE_RATIO, COMPARE_RESIDENT},
    {"frag_jw3", "jw3", COMPARE_RATIO, COMPARE_RESIDENT},
    {"instructions_per_event", "instructions/event", COMPARE_PER_EVENT, COMPARE_COUNTED},
    {"d1_misses_per_event", "D1 misses/event", COMPARE_PER_EVENT, COMPARE_COUNTED},
    {"ll_misses_per_event", "LL misses/event", COMPARE_PER_EVENT, COMPARE_COUNTED},
    {"callgrind_Ir", "instructions", COMPARE_COUNT, COMPARE_COUNTED},
};

/* peak_resident_bytes' index in compare_metrics. */
#define COMPARE_RESIDENT_METRIC 1

/* The table's instructions column: the first COMPARE_COUNTED metric. */
#define COMPARE_INSTRUCTIONS 12

#define COMPARE_NMETRICS (sizeof compare_metrics / sizeof compare_metrics[0])

/* A side's timed runs. */
typedef struct {
    double *v; /* malloc'ed; NULL when the CSV has no runs column */
    size_t n;
    double median;
    double *rel; /* v[k] / the median of round k; NULL: no reference    */
    double rel_median;
} compare_runs_t;

typedef struct {
    const char *trace, *alloc;
    double a[COMPARE_NMETRICS], b[COMPARE_NMETRICS];
    compare_runs_t ta, tb; /* timed runs of each side                    */
    int spread;            /* both sides ran 2+ timed runs               */
    int too_short;         /* a side's trace is too short to time        */
    int measured;          /* memory figures measured, not exact (preload) */
    int relative;          /* tested on normalised runs (else absolute)  */
    int other_machine;     /* the trace ran on different machines: untested */
    double p, q;           /* the test and its adjusted p (NaN: none)    */
    double effect;         /* change of the tested medians, B / A - 1    */
    int clear;             /* the timing change is significant           */
} compare_row_t;

typedef struct {
    const char *out;
    const char *json;
} compare_args_t;

static int compare_on_opt(void *ud, int key, const char *arg)
{
    compare_args_t *a = ud;
    if (key == COMPARE_KEY_OUT) a->out = arg;
    if (key == COMPARE_KEY_JSON) a->json = arg;
    return 0;
}

/* "PATH: WHAT" into ERR (a long path is cut, the message stays useful). */
static void compare_errf(char *err, size_t errlen, const char *path, const char *what)
{
    if (snprintf(err, errlen, "%s: %s", path, what) >= (int)errlen) err[errlen - 1] = '\0';
}

/* DIR/NAME into BUF.  Returns 0, or -1 when it does not fit. */
static int compare_path(char *buf, size_t len, const char *dir, const char *name)
{
    int n = snprintf(buf, len, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* A number of runs.csv: NaN when empty. */
static double compare_num(const char *s)
{
    if (!*s) return NAN;
    char *end;
    double v = strtod(s, &end);
    return *end ? NAN : v;
}

/* 1 when S is empty or a finite number. */
static int compare_num_ok(const char *s)
{
    if (!*s) return 1;
    char *end;
    double v = strtod(s, &end);
    return *end == '\0' && isfinite(v);
}

/* The ';'-separated timed runs S into V (room for MAX): *N of them.
 * Returns 0, or -1 when a field is not a finite number or there are more
 * than MAX. */
static int compare_parse_runs(const char *s, double *v, size_t max, size_t *n)
{
    *n = 0;
    while (*s) {
        char *end;
        double x = strtod(s, &end);
        if (end == s || (*end && *end != ';') || !isfinite(x) || *n == max) return -1;
        v[(*n)++] = x;
        s = *end ? end + 1 : end;
    }
    return 0;
}

/* Checks every row of C (read from PATH): numbers are numbers (none
 * negative but J&W's and internal_frag), min <= median <= max, as many timed runs as
 * `repeat` says, each (trace, allocator) once.
 * Row i is line i + 2 (runs.csv quotes no newline).  0, or -1 after saying
 * what is wrong. */
static int compare_validate(const char *path, const csv_t *c)
{
    int ct = csv_col(c, "trace"), ca = csv_col(c, "allocator");
    int cruns = csv_col(c, "ns_per_event_runs"), crep = csv_col(c, "repeat");
    int cmin = csv_col(c, "ns_per_event_min"), cmed = csv_col(c, "ns_per_event_median"),
        cmax = csv_col(c, "ns_per_event_max");
    for (size_t i = 0; i < c->nrows; i++) {
        for (size_t k = 0; k < c->ncols; k++) {
            const char *name = c->cell[k], *v = csv_get(c, i, (int)k);
            if ((int)k == ct || (int)k == ca) continue;
            /* the metric columns hold numbers; text columns are left alone */
            int numeric = 0;
            for (size_t m = 0; m < COMPARE_NMETRICS && !numeric; m++)
                numeric = !strcmp(name, compare_metrics[m].column);
            numeric = numeric || !strcmp(name, "ns_per_event_min") ||
                      !strcmp(name, "ns_per_event_max") || !strcmp(name, "repeat") ||
                      !strcmp(name, "events");
            if (numeric && !compare_num_ok(v)) {
                cli_error("compare: %s:%zu: column '%s': '%s' is not a finite number", path, i + 2,
                          name, v);
                return -1;
            }
            /* counts, sizes, times and util never are negative; J&W's
             * figures are when resident memory stays below live, and
             * internal_frag when a so:/plugin: library's usable size is
             * below the request (its figure, reported as it is) */
            if (numeric && compare_num(v) < 0 && strncmp(name, "frag_jw", 7) != 0 &&
                strcmp(name, "internal_frag") != 0) {
                cli_error("compare: %s:%zu: column '%s': '%s' is negative (an impossible figure)",
                          path, i + 2, name, v);
                return -1;
            }
        }
        double lo = compare_num(csv_get(c, i, cmin)), mid = compare_num(csv_get(c, i, cmed)),
               hi = compare_num(csv_get(c, i, cmax));
        if ((!isnan(lo) && !isnan(hi) && hi < lo) || (!isnan(mid) && !isnan(lo) && mid < lo) ||
            (!isnan(mid) && !isnan(hi) && mid > hi)) {
            cli_error("compare: %s:%zu: ns_per_event min %s, median %s, max %s are out of order",
                      path, i + 2, csv_get(c, i, cmin), csv_get(c, i, cmed), csv_get(c, i, cmax));
            return -1;
        }
        if (cruns >= 0) {
            double repeat = compare_num(csv_get(c, i, crep));
            size_t max = repeat >= 0 && repeat <= EXP_MAX_REPEAT ? (size_t)repeat : 0, n = 0;
            double *v = malloc((max ? max : 1) * sizeof *v);
            int bad = !v || compare_parse_runs(csv_get(c, i, cruns), v, max, &n) || n != max;
            free(v);
            if (bad) {
                cli_error("compare: %s:%zu: ns_per_event_runs '%s' is not %s finite numbers "
                          "separated by ';'",
                          path, i + 2, csv_get(c, i, cruns), csv_get(c, i, crep));
                return -1;
            }
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(csv_get(c, i, ct), csv_get(c, j, ct)) &&
                !strcmp(csv_get(c, i, ca), csv_get(c, j, ca))) {
                cli_error("compare: %s:%zu: %s with %s again (first on line %zu)", path, i + 2,
                          csv_get(c, i, ct), csv_get(c, i, ca), j + 2);
                return -1;
            }
    }
    return 0;
}

/* Reads SIDE's runs.csv (SIDE: a result directory or the file).  An
 * incomplete report (NAME.partial/, or a PARTIAL file) is refused: its
 * figures are not a result. */
static int compare_load(const char *side, csv_t *c)
{
    char path[PATH_MAX + 16], err[1024];
    struct stat st;
    int is_dir = stat(side, &st) == 0 && S_ISDIR(st.st_mode);
    if (is_dir) {
        size_t n = strlen(side);
        while (n > 1 && side[n - 1] == '/')
            n--;
        snprintf(path, sizeof path, "%s/PARTIAL", side);
        if ((n >= 8 && !strncmp(side + n - 8, ".partial", 8)) || access(path, F_OK) == 0) {
            cli_error("compare: %s is an incomplete report (see its PARTIAL file); compare "
                      "complete reports only",
                      side);
            return -1;
        }
        snprintf(path, sizeof path, "%s/runs.csv", side);
    } else {
        snprintf(path, sizeof path, "%s", side);
        const char *dot = strrchr(side, '.');
        if (!dot || strcmp(dot, ".csv") != 0) {
            cli_error("compare: %s: give a report directory or its runs.csv (this is not a "
                      ".csv file)",
                      side);
            return -1;
        }
    }
    if (csv_read(path, c, err, sizeof err)) {
        cli_error("compare: %s", err);
        return -1;
    }
    static const char *const need[] = {
        "trace", "allocator", "ns_per_event_min", "ns_per_event_max", "repeat", NULL};
    for (const char *const *n = need; *n; n++)
        if (csv_col(c, *n) < 0) {
            cli_error("compare: %s: no column '%s' (not a runs.csv of arenalab report?)", path, *n);
            csv_free(c);
            return -1;
        }
    if (compare_validate(path, c) < 0) {
        csv_free(c);
        return -1;
    }
    return 0;
}

/* SIDE's nodes.csv (beside its runs.csv) into C.  Returns 1 when there is
 * one that reads, else 0 (an older report: nothing to check). */
static int compare_nodes(const char *side, csv_t *c)
{
    char path[PATH_MAX + 16], err[1024];
    size_t n = strlen(side);
    struct stat st;
    if (stat(side, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(path, sizeof path, "%s/nodes.csv", side);
    else if (n >= 8 && !strcmp(side + n - 8, "runs.csv"))
        snprintf(path, sizeof path, "%.*snodes.csv", (int)(n - 8), side);
    else
        return 0;
    if (access(path, F_OK) != 0) return 0;
    if (csv_read(path, c, err, sizeof err) == 0) {
        if (csv_col(c, "trace") >= 0 && csv_col(c, "machine") >= 0) return 1;
        csv_free(c);
    }
    cli_error("compare: warning: %s does not read: machines not checked", path);
    return 0;
}

/* The machine that ran TRACE in nodes C, or NULL. */
static const char *compare_machine(const csv_t *c, const char *trace)
{
    int tc = csv_col(c, "trace"), mc = csv_col(c, "machine");
    for (size_t i = 0; i < c->nrows; i++)
        if (!strcmp(csv_get(c, i, tc), trace)) return csv_get(c, i, mc);
    return NULL;
}

/* ROW's timed runs (validated) into R.  Returns 0 or -1 (out of memory). */
static int compare_runs(const csv_t *c, size_t row, compare_runs_t *r)
{
    double repeat = compare_num(csv_get(c, row, csv_col(c, "repeat")));
    r->n = 0;
    r->v = NULL;
    r->median = repeat > 0 ? compare_num(csv_get(c, row, csv_col(c, "ns_per_event_median"))) : NAN;
    int col = csv_col(c, "ns_per_event_runs");
    if (col < 0) return 0;
    size_t max = repeat > 0 ? (size_t)repeat : 0;
    if (!(r->v = malloc((max ? max : 1) * sizeof *r->v))) return -1;
    compare_parse_runs(csv_get(c, row, col), r->v, max, &r->n);
    return 0;
}

/* The length of the class part of a configuration: up to its first ':',
 * or the whole head of a so:/plugin: spec (each library its own class). */
static size_t compare_class_len(const char *config)
{
    return alloc_spec_class_len(config);
}

/* The median of round K over the allocator classes of ROW's trace in C
 * (each class once: its first row), into *REF; their count is returned.
 * -1 when out of memory. */
static int compare_round(const csv_t *c, size_t row, size_t k, double *ref)
{
    int ct = csv_col(c, "trace"), cc = csv_col(c, "configuration"), ca = csv_col(c, "allocator");
    int cr = csv_col(c, "ns_per_event_runs");
    int cfg = cc >= 0 ? cc : ca;
    const char *trace = csv_get(c, row, ct);
    double *vals = malloc(c->nrows * sizeof *vals),
           *runs = malloc((EXP_MAX_REPEAT + 1) * sizeof *runs);
    int n = 0;
    for (size_t i = 0; vals && runs && i < c->nrows; i++) {
        if (strcmp(csv_get(c, i, ct), trace) != 0) continue;
        const char *mine = csv_get(c, i, cfg);
        size_t len = compare_class_len(mine);
        int first = 1;
        for (size_t j = 0; j < i && first; j++) {
            const char *other = csv_get(c, j, cfg);
            first = strcmp(csv_get(c, j, ct), trace) != 0 || compare_class_len(other) != len ||
                    strncmp(other, mine, len) != 0;
        }
        size_t m = 0;
        if (first && compare_parse_runs(csv_get(c, i, cr), runs, EXP_MAX_REPEAT + 1, &m) == 0 &&
            m > k)
            vals[n++] = runs[k];
    }
    timing_summary_t s;
    int rc = vals && runs && timing_summarize(vals, (size_t)n, &s) == 0 ? n : -1;
    *ref = rc > 0 ? s.median : NAN;
    free(vals);
    free(runs);
    return rc;
}

/* R's runs divided by their rounds' medians (R->rel), when every round has
 * a reference of COMPARE_MIN_REFERENCE configurations.  -1 when out of
 * memory. */
static int compare_normalise(const csv_t *c, size_t row, compare_runs_t *r)
{
    r->rel = NULL;
    r->rel_median = NAN;
    if (!r->v || r->n == 0) return 0;
    double *rel = malloc(r->n * sizeof *rel);
    if (!rel) return -1;
    for (size_t k = 0; k < r->n; k++) {
        double ref;
        int n = compare_round(c, row, k, &ref);
        if (n < 0) {
            free(rel);
            return -1;
        }
        if (n < COMPARE_MIN_REFERENCE || !(ref > 0)) {
            free(rel);
            return 0;
        }
        rel[k] = r->v[k] / ref;
    }
    timing_summary_t s;
    if (timing_summarize(rel, r->n, &s)) {
        free(rel);
        return -1;
    }
    r->rel = rel;
    r->rel_median = s.median;
    return 0;
}

/* 1 when ROW's trace is flagged too short to time. */
static int compare_too_short(const csv_t *c, size_t row)
{
    return strcmp(csv_get(c, row, csv_col(c, "timing_too_short")), "true") == 0;
}

/* 1 when the allocator ALLOC (a spec, or a route "raw=A,mem=B,obj=C")
 * has a preloaded library in it (a so: library too): its memory figures
 * are measured. */
static int compare_measured(const char *alloc)
{
    char name[64];
    for (const char *p = alloc; *p;) {
        size_t len = strcspn(p, ",");
        const char *el = p, *eq = memchr(p, '=', len), *colon = memchr(p, ':', len);
        if (eq && (!colon || eq < colon)) el = eq + 1; /* domain=SPEC */
        if (strncmp(el, "so:", 3) == 0) return 1;
        size_t nl = strcspn(el, ":,");
        snprintf(name, sizeof name, "%.*s", (int)(nl < sizeof name ? nl : sizeof name - 1), el);
        const alloc_class_t *cls = alloc_find(name);
        if (cls && (cls->flags & ALLOC_PRELOAD)) return 1;
        p += len + (p[len] == ',');
    }
    return 0;
}

/* Whether metric M of ROW changed significantly (see the top). */
static int compare_significant(const compare_row_t *row, size_t m)
{
    if (compare_metrics[m].judge == COMPARE_TESTED) return row->clear;
    double a = row->a[m], b = row->b[m];
    if (compare_metrics[m].judge == COMPARE_COUNTED) return !isnan(a) && !isnan(b) && a != b;
    if (row->measured) return 0;
    if (isnan(a) && isnan(b)) return 0;
    if (isnan(a) || isnan(b)) return 1;
    if (compare_metrics[m].judge == COMPARE_PAGES) return fabs(b - a) > COMPARE_RSS_PAGES * 4096.0;
    if (compare_metrics[m].judge == COMPARE_RESIDENT) {
        /* resident memory within its pages' jitter moves these too */
        double ra = row->a[COMPARE_RESIDENT_METRIC], rb = row->b[COMPARE_RESIDENT_METRIC];
        if (!isnan(ra) && !isnan(rb) && fabs(rb - ra) <= COMPARE_RSS_PAGES * 4096.0) return 0;
    }
    return a != b;
}

/* What the table says about a timing change. */
static const char *compare_timing(const compare_row_t *r, char *buf, size_t len)
{
    if (isnan(r->ta.median) || isnan(r->tb.median))
        snprintf(buf, len, "-");
    else if (!r->spread)
        snprintf(buf, len, "no spread");
    else if (r->too_short)
        snprintf(buf, len, "too short");
    else if (r->other_machine)
        snprintf(buf, len, "other machine");
    else if (isnan(r->q))
        snprintf(buf, len, "no runs");
    else
        snprintf(buf, len, "%s%s p=%.2g", r->clear ? "clear" : "noise", r->relative ? "" : "*",
                 r->q);
    return buf;
}

/* B / A - 1, NaN when undefined. */
static double compare_change(double a, double b)
{
    if (isnan(a) || isnan(b)) return NAN;
    if (a == b) return 0;
    if (a == 0) return NAN;
    return b / a - 1;
}

static void compare_value(FILE *f, compare_kind_t kind, double v)
{
    char buf[32];
    if (isnan(v))
        fputs("-", f);
    else if (kind == COMPARE_BYTES)
        fputs(output_bytes((uint64_t)v, buf, sizeof buf), f);
    else if (kind == COMPARE_NS)
        fprintf(f, "%.1f", v);
    else
        fprintf(f, "%.3f", v);
}

static void compare_pct(FILE *f, double change)
{
    if (isnan(change))
        fputs("-", f);
    else
        fprintf(f, "%+.1f%%", 100 * change);
}

/* "A -> B (change)" of the counted instructions, when counted on both
 * sides ("-" otherwise), into BUF. */
static const char *compare_counted(const compare_row_t *r, char *buf, size_t len)
{
    double a = r->a[COMPARE_INSTRUCTIONS], b = r->b[COMPARE_INSTRUCTIONS];
    if (isnan(a) || isnan(b))
        snprintf(buf, len, "-");
    else if (a == b)
        snprintf(buf, len, "%.2f (=)", a);
    else
        snprintf(buf, len, "%.2f -> %.2f (%+.2f%%)", a, b, 100 * compare_change(a, b));
    return buf;
}

/* The table: one row per pair, the metrics as "A -> B (change)"; the
 * instructions per event when some pair was counted on both sides. */
static void compare_table(FILE *f, const compare_row_t *rows, size_t n, int markdown)
{
    static const size_t shown[] = {0, 1, 4, 5};
    int counted = 0;
    for (size_t i = 0; i < n; i++)
        counted |=
            !isnan(rows[i].a[COMPARE_INSTRUCTIONS]) && !isnan(rows[i].b[COMPARE_INSTRUCTIONS]);
    if (markdown) {
        fputs("| trace | allocator | ns/event A -> B | change | timing | peak resident A -> B "
              "| change | jw4 A -> B | util A -> B |",
              f);
        fputs(counted ? " instructions/event A -> B |\n" : "\n", f);
        fputs("|---|---|---:|---:|---|---:|---:|---:|---:|", f);
        fputs(counted ? "---:|\n" : "\n", f);
    } else {
        fprintf(f, "%-24s %-24s %22s %8s %-15s %26s %8s %18s %16s", "trace", "allocator",
                "ns/event A -> B", "change", "timing", "peak resident A -> B", "change",
                "jw4 A -> B", "util A -> B");
        fputs(counted ? "  instructions/event A -> B\n" : "\n", f);
    }
    for (size_t i = 0; i < n; i++) {
        const compare_row_t *r = &rows[i];
        char cell[4][80], pct[2][32];
        for (size_t k = 0; k < 4; k++) {
            size_t m = shown[k];
            char a[32], b[32];
            FILE *mf = fmemopen(a, sizeof a, "w");
            if (mf) {
                compare_value(mf, compare_metrics[m].kind, r->a[m]);
                fclose(mf);
            }
            mf = fmemopen(b, sizeof b, "w");
            if (mf) {
                compare_value(mf, compare_metrics[m].kind, r->b[m]);
                fclose(mf);
            }
            snprintf(cell[k], sizeof cell[k], "%s -> %s", a, b);
        }
        for (size_t k = 0; k < 2; k++) {
            FILE *mf = fmemopen(pct[k], sizeof pct[k], "w");
            if (mf) {
                compare_pct(mf, compare_change(r->a[k], r->b[k]));
                fclose(mf);
            }
        }
        char timing[32], ins[96];
        compare_timing(r, timing, sizeof timing);
        compare_counted(r, ins, sizeof ins);
        if (markdown)
            fprintf(f, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |", r->trace, r->alloc,
                    cell[0], pct[0], timing, cell[1], pct[1], cell[2], cell[3]);
        else
            fprintf(f, "%-24s %-24s %22s %8s %-15s %26s %8s %18s %16s", r->trace, r->alloc, cell[0],
                    pct[0], timing, cell[1], pct[1], cell[2], cell[3]);
        if (counted) fprintf(f, markdown ? " %s |" : "  %s", ins);
        fputc('\n', f);
    }
}

static void compare_csv(FILE *f, const compare_row_t *rows, size_t n)
{
    fputs("trace,allocator", f);
    for (size_t m = 0; m < COMPARE_NMETRICS; m++)
        fprintf(f, ",%s_a,%s_b,%s_change,%s_significant", compare_metrics[m].column,
                compare_metrics[m].column, compare_metrics[m].column, compare_metrics[m].column);
    /* The timing test: its p-value and the adjusted one (empty: no test),
     * and whether a side's trace is too short to time. */
    fputs(",timing_p,timing_q,timing_too_short\n", f);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s,%s", rows[i].trace, rows[i].alloc);
        for (size_t m = 0; m < COMPARE_NMETRICS; m++) {
            double v[3] = {rows[i].a[m], rows[i].b[m], compare_change(rows[i].a[m], rows[i].b[m])};
            for (int k = 0; k < 3; k++)
                if (isnan(v[k]))
                    fputc(',', f);
                else
                    fprintf(f, ",%.6f", v[k]);
            fputs(compare_significant(&rows[i], m) ? ",true" : ",false", f);
        }
        for (int k = 0; k < 2; k++) {
            double v = k ? rows[i].q : rows[i].p;
            if (isnan(v))
                fputc(',', f);
            else
                fprintf(f, ",%.6g", v);
        }
        fprintf(f, ",%s\n", rows[i].too_short ? "true" : "false");
    }
}

/* The last path component of a result (trailing slashes and /runs.csv
 * dropped), for titles; into BUF. */
static const char *compare_base(const char *side, char *buf)
{
    snprintf(buf, PATH_MAX, "%s", side);
    size_t n = strlen(buf);
    while (n > 1 && buf[n - 1] == '/')
        buf[--n] = '\0';
    if (n > 9 && strcmp(buf + n - 9, "/runs.csv") == 0) buf[n -= 9] = '\0';
    const char *slash = strrchr(buf, '/');
    return slash && slash[1] ? slash + 1 : buf;
}

/* compare.gp + compare.dat: horizontal bars per pair. */
static int compare_plot(const char *dir, const compare_row_t *rows, size_t n, const char *a,
                        const char *b, char *err, size_t errlen)
{
    char path[PATH_MAX + 64];
    FILE *st = compare_path(path, sizeof path, dir, "style.gp") ? NULL : fopen(path, "w");
    if (!st) {
        compare_errf(err, errlen, dir, strerror(errno));
        return -1;
    }
    plot_style(st);
    if (fclose(st) != 0) {
        compare_errf(err, errlen, path, "write error");
        return -1;
    }
    FILE *d = compare_path(path, sizeof path, dir, "compare.dat") ? NULL : fopen(path, "w");
    if (!d) {
        compare_errf(err, errlen, dir, strerror(errno));
        return -1;
    }
    fputs("# row, trace/allocator, ns/event change %, its colour, peak resident change %\n", d);
    double lo = 0, hi = 0;
    for (size_t i = 0; i < n; i++) {
        double ns = 100 * compare_change(rows[i].a[0], rows[i].b[0]);
        double fp = 100 * compare_change(rows[i].a[1], rows[i].b[1]);
        fprintf(d, "%zu %s/%s", i, rows[i].trace, rows[i].alloc);
        fprintf(d, isnan(ns) ? " NaN" : " %.4f", ns);
        fprintf(d, " %d", rows[i].clear ? 0x1f4e9c : 0xa9c1e8);
        fprintf(d, isnan(fp) ? " NaN\n" : " %.4f\n", fp);
        if (!isnan(ns)) lo = ns < lo ? ns : lo, hi = ns > hi ? ns : hi;
        if (!isnan(fp)) lo = fp < lo ? fp : lo, hi = fp > hi ? fp : hi;
    }
    if (fclose(d) != 0) {
        compare_errf(err, errlen, path, "write error");
        return -1;
    }
    int h = 170 + 26 * (int)n, w = 900;
    FILE *gp = compare_path(path, sizeof path, dir, "compare.gp") ? NULL : fopen(path, "w");
    if (!gp) {
        compare_errf(err, errlen, dir, strerror(errno));
        return -1;
    }
    plot_begin(gp, "compare", "change from result A to result B per trace and allocator", w, h);
    double pad = (hi - lo) * 0.08 + 1;
    char title[2 * PATH_MAX + 64], ba[PATH_MAX], bb[PATH_MAX];
    snprintf(title, sizeof title, "Change from A to B (%%)\nA = %s, B = %s", compare_base(a, ba),
             compare_base(b, bb));
    fputs("set title ", gp);
    plot_string(gp, title);
    fprintf(gp,
            "\nset xlabel 'change from A to B, %% (negative: B is lower)'\n"
            "set xrange [%.4f:%.4f]\n"
            "set yrange [%zu.6:-0.6]\n"
            "set grid xtics noytics\n"
            "set ytics scale 0\n"
            "set yzeroaxis lt -1\n"
            "set bmargin 7\n"
            "set key at screen 0.5, screen 0.01 center bottom horizontal maxcols 2 samplen 1 "
            "font ',9'\n"
            "plot 'compare.dat' using ($3/2):1:(($3<0)?$3:0):(($3<0)?0:$3):($1-0.42):($1-0.02):4:"
            "ytic(2) with boxxyerror lc rgb variable notitle, \\\n"
            "     '' using ($5/2):1:(($5<0)?$5:0):(($5<0)?0:$5):($1+0.02):($1+0.42) with "
            "boxxyerror lc rgb '#f28e2b' title 'peak resident', \\\n"
            "     keyentry with boxes lc rgb '#1f4e9c' title 'ns/event: significant change', "
            "\\\n"
            "     keyentry with boxes lc rgb '#a9c1e8' title 'ns/event: not told from noise'\n",
            lo - pad, hi + pad, n ? n - 1 : 0);
    plot_end(gp, "compare", w, h);
    if (fclose(gp) != 0) {
        compare_errf(err, errlen, path, "write error");
        return -1;
    }
    return plot_run(dir, "compare.gp", err, errlen);
}

/* The output directory: --out DIR (new or empty), else results/compare-TS. */
static int compare_outdir(const compare_args_t *a, resdir_t *rd, char *dir, size_t len)
{
    char err[1024];
    if (a->out) {
        if (mkdir(a->out, 0777) != 0 && errno != EEXIST) {
            cli_error("compare: %s: cannot create: %s", a->out, strerror(errno));
            return -1;
        }
        snprintf(dir, len, "%s/compare.csv", a->out);
        if (access(dir, F_OK) == 0) {
            cli_error("compare: %s already holds a comparison (never overwritten)", a->out);
            return -1;
        }
        /* new or empty: the files written there (compare.md, the plot and
         * its script) would replace the user's of the same names */
        DIR *d = opendir(a->out);
        if (!d) {
            cli_error("compare: %s: %s", a->out, strerror(errno));
            return -1;
        }
        struct dirent *e;
        while ((e = readdir(d)) && (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")))
            ;
        closedir(d);
        if (e) {
            cli_error("compare: %s is not empty (--out names a new or empty directory)", a->out);
            return -1;
        }
        snprintf(dir, len, "%s", a->out);
        return 0;
    }
    char root[PATH_MAX], parent[PATH_MAX + 16];
    if (repo_root(root, sizeof root)) {
        cli_error("compare: cannot find the repository for results/: give --out DIR, or set "
                  "ARENALAB_ROOT");
        return -1;
    }
    snprintf(parent, sizeof parent, "%s/results", root);
    if (resdir_create(rd, parent, "compare", err, sizeof err)) {
        cli_error("compare: %s", err);
        return -1;
    }
    snprintf(dir, len, "%s", rd->partial);
    return 0;
}

static int compare_write(const char *dir, const compare_row_t *rows, size_t n, const char *sa,
                         const char *sb)
{
    char path[PATH_MAX + 64], err[8192];
    outfile_t o;
    if (compare_path(path, sizeof path, dir, "compare.csv")) {
        compare_errf(err, sizeof err, dir, "path too long");
        goto fail;
    }
    if (outfile_open(&o, path, "w", err, sizeof err)) goto fail;
    compare_csv(o.fp, rows, n);
    if (outfile_commit(&o, err, sizeof err)) goto fail;
    if (compare_path(path, sizeof path, dir, "compare.md")) {
        compare_errf(err, sizeof err, dir, "path too long");
        goto fail;
    }
    if (outfile_open(&o, path, "w", err, sizeof err)) goto fail;
    fprintf(o.fp,
            "# arenalab compare\n\n- A: `%s`\n- B: `%s`\n\nA timing change is *clear* "
            "when the Mann-Whitney U test on the two sides' timed runs finds it at the 95 %% "
            "level after the Benjamini-Hochberg correction across every pair here (p: the "
            "adjusted p-value), each run taken relative to the median of its round over the "
            "trace's allocator classes so that the machine's drift between the reports cancels; "
            "*noise* otherwise (`*`: fewer than 3 allocator classes on the trace, raw runs "
            "tested). Pairs on a trace too short to time are not judged, nor pairs whose trace ran "
            "on different machines in A and B (*other machine*); with a single timed "
            "run on a side there is no spread to judge. Memory figures of our models are exact: "
            "any change in them is real (peak resident, and the J&W and util figures made from "
            "it: beyond 16 pages); the preloaded libraries' are one measurement a side, counted "
            "but never judged. So are instruction and cache-miss "
            "counts (callgrind) exact, for every allocator.\n\n",
            sa, sb);
    compare_table(o.fp, rows, n, 1);
    fputs("\n![change per trace and allocator](compare.svg)\n", o.fp);
    if (outfile_commit(&o, err, sizeof err)) goto fail;
    if (n && compare_plot(dir, rows, n, sa, sb, err, sizeof err)) goto fail;
    return 0;
fail:
    cli_error("compare: %s", err);
    return -1;
}

/* The family of timing tests: Benjamini-Hochberg over every pair's p,
 * then each pair's verdict.  Returns 0 or -1 (out of memory). */
static int compare_judge(compare_row_t *rows, size_t n)
{
    double *p = malloc((n ? n : 1) * sizeof *p), *q = malloc((n ? n : 1) * sizeof *q);
    int rc = p && q ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++)
        p[i] = rows[i].p;
    if (rc == 0 && timing_bh(p, n, q)) rc = -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rows[i].q = q[i];
        rows[i].clear = rows[i].relative
                            ? results_clear(q[i], rows[i].ta.rel_median, rows[i].tb.rel_median)
                            : results_clear(q[i], rows[i].ta.median, rows[i].tb.median);
    }
    free(p);
    free(q);
    return rc;
}

/* The count of significant timing changes among the pairs tested, and the
 * drift: the median change of every pair's median ns/event (what moved
 * every allocator alike). */
static void compare_tally(FILE *f, const compare_row_t *rows, size_t n)
{
    size_t tested = 0, clear = 0, short_ = 0, memory = 0, absolute = 0, nch = 0, measured = 0,
           machines = 0;
    size_t counted = 0, recounted = 0; /* pairs counted on both sides, changed */
    double *ch = malloc((n ? n : 1) * sizeof *ch);
    for (size_t i = 0; i < n; i++) {
        double c = compare_change(rows[i].ta.median, rows[i].tb.median);
        if (ch && !isnan(c) && !rows[i].too_short) ch[nch++] = c;
        absolute += !isnan(rows[i].q) && !rows[i].relative;
        machines += rows[i].other_machine;
        tested += !isnan(rows[i].q);
        clear += rows[i].clear;
        short_ += rows[i].too_short && !isnan(rows[i].ta.median) && !isnan(rows[i].tb.median);
        int changed = 0, moved = 0, recount = 0;
        for (size_t m = 0; m < COMPARE_NMETRICS; m++) {
            if (compare_metrics[m].judge == COMPARE_TESTED) continue;
            if (compare_metrics[m].judge == COMPARE_COUNTED) {
                recount |= compare_significant(&rows[i], m);
                continue;
            }
            changed |= compare_significant(&rows[i], m);
            moved |= (compare_metrics[m].judge == COMPARE_EXACT ||
                      compare_metrics[m].judge == COMPARE_RESIDENT) &&
                     !isnan(compare_change(rows[i].a[m], rows[i].b[m])) &&
                     compare_change(rows[i].a[m], rows[i].b[m]) != 0;
        }
        memory += changed;
        measured += rows[i].measured && moved;
        counted +=
            !isnan(rows[i].a[COMPARE_INSTRUCTIONS]) && !isnan(rows[i].b[COMPARE_INSTRUCTIONS]);
        recounted += recount;
    }
    timing_summary_t drift;
    if (!ch || timing_summarize(ch, nch, &drift)) drift.median = NAN;
    free(ch);
    fprintf(f,
            "\ntiming: %zu of %zu pairs tested changed significantly (%.1f %%; Mann-Whitney U on "
            "runs relative to their round's median, Benjamini-Hochberg at %.0f %%); %zu pairs "
            "too short to time",
            clear, tested, tested ? 100.0 * (double)clear / (double)tested : 0.0,
            100 * TIMING_ALPHA, short_);
    if (absolute) fprintf(f, "; *: %zu tested on raw runs (no reference)", absolute);
    if (machines)
        fprintf(f, "; %zu pairs not tested: their trace ran on different machines in A and B",
                machines);
    if (!isnan(drift.median))
        fprintf(f,
                "\ndrift: the median pair's ns/event moved %+.1f %% from A to B (every "
                "allocator alike: the machine or the harness, not judged)",
                100 * drift.median);
    fprintf(f, "\nmemory: %zu of %zu pairs changed (exact figures; peak resident beyond %d pages)",
            memory, n, COMPARE_RSS_PAGES);
    if (measured)
        fprintf(f, "; %zu pairs of preloaded libraries moved (measured, not judged)", measured);
    if (counted)
        fprintf(f,
                "\ninstructions: %zu of %zu pairs counted on both sides changed (exact counts "
                "under callgrind: any change is real)",
                recounted, counted);
    fputc('\n', f);
}

/* --json: {"command": "compare", "a", "b", ..., "pairs": [...]}. */
static void compare_json(FILE *out, const compare_row_t *rows, size_t n, const char *sa,
                         const char *sb)
{
    json_t j;
    json_init(&j, out);
    json_object_begin(&j);
    json_kv_string(&j, "arenalab", ARENALAB_VERSION);
    json_kv_string(&j, "command", "compare");
    json_kv_string(&j, "a", sa);
    json_kv_string(&j, "b", sb);
    json_kv_string(&j, "timing_test", "Mann-Whitney U, two-sided, Benjamini-Hochberg");
    json_kv_double(&j, "alpha", TIMING_ALPHA);
    json_kv_uint(&j, "min_reference_classes", COMPARE_MIN_REFERENCE);
    json_key(&j, "pairs");
    json_array_begin(&j);
    for (size_t i = 0; i < n; i++) {
        const compare_row_t *r = &rows[i];
        json_object_begin(&j);
        json_kv_string(&j, "trace", r->trace);
        json_kv_string(&j, "allocator", r->alloc);
        json_key(&j, "timing_too_short");
        json_bool(&j, r->too_short);
        json_key(&j, "other_machine");
        json_bool(&j, r->other_machine);
        json_key(&j, "memory_exact");
        json_bool(&j, !r->measured);
        json_key(&j, "timing");
        json_object_begin(&j);
        for (int side = 0; side < 2; side++) {
            const compare_runs_t *t = side ? &r->tb : &r->ta;
            json_key(&j, side ? "runs_b" : "runs_a");
            json_array_begin(&j);
            for (size_t k = 0; t->v && k < t->n; k++)
                json_double(&j, t->v[k]);
            json_array_end(&j);
        }
        json_kv_string(&j, "test", r->relative ? "relative" : "absolute");
        for (int side = 0; side < 2; side++) {
            const compare_runs_t *t = side ? &r->tb : &r->ta;
            json_key(&j, side ? "relative_runs_b" : "relative_runs_a");
            json_array_begin(&j);
            for (size_t k = 0; t->rel && k < t->n; k++)
                json_double(&j, t->rel[k]);
            json_array_end(&j);
        }
        json_kv_double(&j, "change_tested", r->effect);
        json_kv_double(&j, "p", r->p);
        json_kv_double(&j, "p_adjusted", r->q);
        json_object_end(&j);
        json_key(&j, "metrics");
        json_object_begin(&j);
        for (size_t m = 0; m < COMPARE_NMETRICS; m++) {
            json_key(&j, compare_metrics[m].column);
            json_object_begin(&j);
            json_kv_double(&j, "a", r->a[m]);
            json_kv_double(&j, "b", r->b[m]);
            json_kv_double(&j, "change", compare_change(r->a[m], r->b[m]));
            json_key(&j, "significant");
            json_bool(&j, compare_significant(r, m));
            json_object_end(&j);
        }
        json_object_end(&j);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    fputc('\n', out);
}

static int compare_main(int argc, char **argv)
{
    compare_args_t a = {0};
    int first = cli_parse(&cmd_compare, argc, argv, compare_on_opt, &a);
    if (first < 0) return cli_parse_exit(first);
    if (argc - first != 2) {
        cli_error("compare: give two results, A and B (see 'arenalab compare --help')");
        return CLI_USAGE;
    }
    const char *sa = argv[first], *sb = argv[first + 1];
    csv_t ca, cb;
    if (compare_load(sa, &ca)) return CLI_USAGE;
    if (compare_load(sb, &cb)) {
        csv_free(&ca);
        return CLI_USAGE;
    }
    csv_t na, nb;
    int nodes_a = compare_nodes(sa, &na), nodes_b = compare_nodes(sb, &nb);
    compare_row_t *rows = calloc(ca.nrows ? ca.nrows : 1, sizeof *rows);
    if (!rows) {
        if (nodes_a) csv_free(&na);
        if (nodes_b) csv_free(&nb);
        cli_error("compare: out of memory");
        csv_free(&ca);
        csv_free(&cb);
        return CLI_FAIL;
    }
    size_t n = 0, only_a = 0;
    int ta = csv_col(&ca, "trace"), aa = csv_col(&ca, "allocator");
    int tb = csv_col(&cb, "trace"), ab = csv_col(&cb, "allocator");
    unsigned char *matched = calloc(cb.nrows ? cb.nrows : 1, 1);
    /* nothing in common: say that first and only, not after a list of
     * every pair of each side */
    size_t common = 0;
    for (size_t i = 0; i < ca.nrows && !common; i++)
        for (size_t j = 0; j < cb.nrows && !common; j++)
            common = !strcmp(csv_get(&ca, i, ta), csv_get(&cb, j, tb)) &&
                     !strcmp(csv_get(&ca, i, aa), csv_get(&cb, j, ab));
    if (!common) {
        cli_error("compare: A and B have no (trace, allocator) pair in common (A has %zu pairs, "
                  "e.g. %s with %s; B has %zu, e.g. %s with %s)",
                  ca.nrows, ca.nrows ? csv_get(&ca, 0, ta) : "-",
                  ca.nrows ? csv_get(&ca, 0, aa) : "-", cb.nrows,
                  cb.nrows ? csv_get(&cb, 0, tb) : "-", cb.nrows ? csv_get(&cb, 0, ab) : "-");
        free(matched);
        free(rows);
        if (nodes_a) csv_free(&na);
        if (nodes_b) csv_free(&nb);
        csv_free(&ca);
        csv_free(&cb);
        return CLI_FAIL;
    }
    for (size_t i = 0; matched && i < ca.nrows; i++) {
        size_t j = 0;
        while (j < cb.nrows && (strcmp(csv_get(&ca, i, ta), csv_get(&cb, j, tb)) != 0 ||
                                strcmp(csv_get(&ca, i, aa), csv_get(&cb, j, ab)) != 0))
            j++;
        if (j == cb.nrows) {
            if (only_a++ == 0) cli_error("compare: in A only:");
            cli_error("  %s with %s", csv_get(&ca, i, ta), csv_get(&ca, i, aa));
            continue;
        }
        matched[j] = 1;
        compare_row_t *r = &rows[n++];
        r->trace = csv_get(&ca, i, ta);
        r->alloc = csv_get(&ca, i, aa);
        for (size_t m = 0; m < COMPARE_NMETRICS; m++) {
            r->a[m] = compare_num(csv_get(&ca, i, csv_col(&ca, compare_metrics[m].column)));
            r->b[m] = compare_num(csv_get(&cb, j, csv_col(&cb, compare_metrics[m].column)));
        }
        if (compare_runs(&ca, i, &r->ta) || compare_runs(&cb, j, &r->tb)) {
            free(matched);
            matched = NULL; /* reported as out of memory below */
            break;
        }
        r->a[0] = r->ta.median;
        r->b[0] = r->tb.median;
        r->spread = compare_num(csv_get(&ca, i, csv_col(&ca, "repeat"))) >= 2 &&
                    compare_num(csv_get(&cb, j, csv_col(&cb, "repeat"))) >= 2;
        r->too_short = compare_too_short(&ca, i) || compare_too_short(&cb, j);
        int cfg = csv_col(&ca, "configuration"); /* the full spec: so: libraries by path */
        r->measured = compare_measured(cfg >= 0 ? csv_get(&ca, i, cfg) : r->alloc);
        r->p = r->q = NAN;
        if (compare_normalise(&ca, i, &r->ta) || compare_normalise(&cb, j, &r->tb)) {
            free(matched);
            matched = NULL;
            break;
        }
        r->relative = r->ta.rel && r->tb.rel;
        const char *ma = nodes_a ? compare_machine(&na, r->trace) : NULL;
        const char *mb = nodes_b ? compare_machine(&nb, r->trace) : NULL;
        r->other_machine = ma && mb && strcmp(ma, mb) != 0;
        r->effect = r->relative ? compare_change(r->ta.rel_median, r->tb.rel_median)
                                : compare_change(r->ta.median, r->tb.median);
        if (r->spread && !r->too_short && !r->other_machine && r->ta.v && r->tb.v &&
            (r->relative ? timing_mann_whitney(r->ta.rel, r->ta.n, r->tb.rel, r->tb.n, &r->p)
                         : timing_mann_whitney(r->ta.v, r->ta.n, r->tb.v, r->tb.n, &r->p)))
            r->p = NAN;
    }
    size_t only_b = 0;
    for (size_t j = 0; matched && j < cb.nrows; j++)
        if (!matched[j]) {
            if (only_b++ == 0) cli_error("compare: in B only:");
            cli_error("  %s with %s", csv_get(&cb, j, tb), csv_get(&cb, j, ab));
        }
    int rc = matched && compare_judge(rows, n) == 0 ? CLI_OK : CLI_FAIL;
    if (rc != CLI_OK) cli_error("compare: out of memory");
    if (rc == CLI_OK && n == 0) {
        cli_error("compare: no (trace, allocator) pair in common");
        rc = CLI_FAIL;
    }
    resdir_t rd = {0};
    char dir[PATH_MAX + 32];
    outfile_t json = {0};
    char err[1024];
    if (rc == CLI_OK && a.json && outfile_open(&json, a.json, "w", err, sizeof err)) {
        cli_error("compare: %s", err);
        rc = CLI_USAGE;
    }
    /* the directory first: a --out refused is a usage error that must
     * leave --json FILE as it was, and comes before the table */
    if (rc == CLI_OK && compare_outdir(&a, &rd, dir, sizeof dir)) {
        rc = CLI_USAGE;
        if (a.json) outfile_abort(&json);
    }
    if (rc == CLI_OK) {
        int json_stdout = a.json && strcmp(a.json, "-") == 0;
        FILE *tab = json_stdout ? stderr : stdout;
        compare_table(tab, rows, n, 0);
        compare_tally(tab, rows, n);
        fflush(tab); /* before any message on stderr */
        if (compare_write(dir, rows, n, sa, sb)) rc = CLI_FAIL;
        if (rc == CLI_OK && a.json) {
            compare_json(json.fp, rows, n, sa, sb);
            if (outfile_commit(&json, err, sizeof err)) {
                cli_error("compare: %s", err);
                rc = CLI_FAIL;
            }
        } else if (a.json) {
            outfile_abort(&json);
        }
        if (rd.partial) {
            if (rc == CLI_OK && resdir_commit(&rd, 0, err, sizeof err)) {
                cli_error("compare: %s", err);
                rc = CLI_FAIL;
            }
            if (rc != CLI_OK) resdir_fail(&rd, "arenalab compare failed (see its messages)");
            snprintf(dir, sizeof dir, "%s", rc == CLI_OK ? rd.final : rd.partial);
        }
        if (rc == CLI_OK)
            fprintf(stderr, "arenalab: compare: %s/ (compare.md, compare.csv, compare.svg)\n", dir);
    }
    resdir_free(&rd);
    free(matched);
    for (size_t i = 0; i < n; i++) {
        free(rows[i].ta.v);
        free(rows[i].tb.v);
        free(rows[i].ta.rel);
        free(rows[i].tb.rel);
    }
    free(rows);
    if (nodes_a) csv_free(&na);
    if (nodes_b) csv_free(&nb);
    csv_free(&ca);
    csv_free(&cb);
    return rc;
}

const cli_command_t cmd_compare = {
    .name = "compare",
    .args = "RESULT_A RESULT_B",
    .summary = "what changed between two reports: per trace and allocator, and beyond noise?",
    .description =
        "Reads the runs.csv of two result directories of `arenalab report` (or two runs.csv\n"
        "files) and, for every (trace, allocator) pair they share, prints each metric of A\n"
        "and B and the change from A to B.  A timing change is 'clear' when the Mann-Whitney\n"
        "U test on the two sides' timed runs (ns_per_event_runs), each taken relative to the\n"
        "median of its round over the trace's allocator classes (the machine's drift between\n"
        "two reports cancels; raw runs, marked '*', when a trace has fewer than 3 classes),\n"
        "finds it at 95 % after the Benjamini-Hochberg correction across every pair\n"
        "compared, else 'noise'; the adjusted p-value is shown, and a count of clear changes\n"
        "and the drift (the median pair's change) end the table.  Pairs on a trace too short\n"
        "to time are not judged, nor, when both reports have nodes.csv, pairs whose trace\n"
        "ran on different machines in A and B ('other machine').  Memory figures of our\n"
        "models are exact, so any change in them is significant (peak resident, and the\n"
        "J&W and util figures made from it: beyond 16 pages); the preloaded libraries'\n"
        "(jemalloc, mimalloc, tcmalloc, so:) are one measurement a side: their changes are\n"
        "counted, never judged.  Instruction and cache-miss counts (replay --measure\n"
        "instructions) are exact for every allocator: any change is significant.\n"
        "Writes compare.csv, compare.md and one plot (compare.svg/.png, with its gnuplot\n"
        "script) to --out DIR, or to a new results/compare-<timestamp>/; --json FILE writes\n"
        "every pair's metrics with A, B, change and significant.\n"
        "Incomplete reports (.partial, PARTIAL) and malformed runs.csv files are refused.",
    .opts = compare_opts,
    .run = compare_main,
};
