/* cmd_compare.c: `arenalab compare RESULT_A RESULT_B` -- what changed between
 * two reports, per (trace, allocator): every metric's change, and for the
 * timings whether it exceeds the run-to-run spread.
 *
 * Each side is a result directory (or its runs.csv): the runs.csv that
 * `arenalab report` writes (sim/replay/output.c's columns).  Pairs are matched on
 * (trace, allocator); pairs found on one side only are listed apart.  A
 * timing change is "clear" when the [min, max] ranges of the two sides'
 * timed runs do not overlap (results_apart), else "within spread".
 *
 * Output: the table on standard output, and a directory (--out DIR, else
 * results/compare-<timestamp>/) with compare.csv, compare.md and one plot
 * (compare.gp, .dat, .svg, .png): per pair, the change in median ns/event
 * (dark when clear) and in peak footprint.
 */
#include "sim/cli/commands.h"
#include "sim/base/csv.h"
#include "sim/base/outfile.h"
#include "sim/report/plot.h"
#include "sim/base/repo.h"
#include "sim/report/resdir.h"
#include "sim/report/results.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { COMPARE_KEY_OUT = 'o' };

static const cli_opt_t compare_opts[] = {
    {"out", 'o', "DIR", COMPARE_KEY_OUT,
     "write compare.{csv,md} and the plot into DIR, a new directory (default: "
     "results/compare-<timestamp>/ of the repository)"},
    {0},
};

/* The metrics compared, one line each: runs.csv column, label, kind. */
typedef enum { COMPARE_BYTES, COMPARE_RATIO, COMPARE_NS } compare_kind_t;

static const struct {
    const char *column;
    const char *label;
    compare_kind_t kind;
} compare_metrics[] = {
    {"ns_per_event_median", "ns/event", COMPARE_NS},
    {"peak_resident_bytes", "peak resident", COMPARE_BYTES},
    {"peak_live_bytes", "peak live", COMPARE_BYTES},
    {"peak_held_bytes", "peak held", COMPARE_BYTES},
    {"frag_jw4", "jw4", COMPARE_RATIO},
    {"util", "util", COMPARE_RATIO},
    {"internal_frag", "internal", COMPARE_RATIO},
};

#define COMPARE_NMETRICS (sizeof compare_metrics / sizeof compare_metrics[0])

typedef struct {
    const char *trace, *alloc;
    double a[COMPARE_NMETRICS], b[COMPARE_NMETRICS];
    metrics_summary_t ta, tb; /* timings of each side */
    int spread;               /* both sides ran 2+ timed runs */
    int clear;                /* spread known, timings apart  */
} compare_row_t;

typedef struct {
    const char *out;
} compare_args_t;

static int compare_on_opt(void *ud, int key, const char *arg)
{
    compare_args_t *a = ud;
    if (key == COMPARE_KEY_OUT) a->out = arg;
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

/* Checks every row of C (read from PATH): numbers are numbers, min <= median
 * <= max, each (trace, allocator) once.  Row i is line i + 2 (runs.csv
 * quotes no newline).  0, or -1 after saying what is wrong. */
static int compare_validate(const char *path, const csv_t *c)
{
    int ct = csv_col(c, "trace"), ca = csv_col(c, "allocator");
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
                      !strcmp(name, "ns_per_event_max") || !strcmp(name, "repeat");
            if (numeric && !compare_num_ok(v)) {
                cli_error("compare: %s:%zu: column '%s': '%s' is not a finite number", path, i + 2,
                          name, v);
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

static void compare_summary(const csv_t *c, size_t row, metrics_summary_t *s)
{
    int timed = compare_num(csv_get(c, row, csv_col(c, "repeat"))) > 0;
    s->min = timed ? compare_num(csv_get(c, row, csv_col(c, "ns_per_event_min"))) : NAN;
    s->median = timed ? compare_num(csv_get(c, row, csv_col(c, "ns_per_event_median"))) : NAN;
    s->max = timed ? compare_num(csv_get(c, row, csv_col(c, "ns_per_event_max"))) : NAN;
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

/* The table: one row per pair, the metrics as "A -> B (change)". */
static void compare_table(FILE *f, const compare_row_t *rows, size_t n, int markdown)
{
    static const size_t shown[] = {0, 1, 4, 5};
    if (markdown) {
        fputs(
            "| trace | allocator | ns/event A -> B | change | timing | peak resident A -> B "
            "| change | jw4 A -> B | util A -> B |\n|---|---|---:|---:|---|---:|---:|---:|---:|\n",
            f);
    } else {
        fprintf(f, "%-24s %-24s %22s %8s %-13s %26s %8s %18s %16s\n", "trace", "allocator",
                "ns/event A -> B", "change", "timing", "peak resident A -> B", "change",
                "jw4 A -> B", "util A -> B");
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
        const char *timing = isnan(r->ta.median) || isnan(r->tb.median) ? "-"
                             : !r->spread                               ? "no spread"
                             : r->clear                                 ? "clear"
                                                                        : "within spread";
        if (markdown)
            fprintf(f, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r->trace, r->alloc,
                    cell[0], pct[0], timing, cell[1], pct[1], cell[2], cell[3]);
        else
            fprintf(f, "%-24s %-24s %22s %8s %-13s %26s %8s %18s %16s\n", r->trace, r->alloc,
                    cell[0], pct[0], timing, cell[1], pct[1], cell[2], cell[3]);
    }
}

static void compare_csv(FILE *f, const compare_row_t *rows, size_t n)
{
    fputs("trace,allocator", f);
    for (size_t m = 0; m < COMPARE_NMETRICS; m++)
        fprintf(f, ",%s_a,%s_b,%s_change", compare_metrics[m].column, compare_metrics[m].column,
                compare_metrics[m].column);
    /* 1: the timing ranges are apart; 0: they overlap; empty: fewer than
     * two timed runs on a side, no spread to judge. */
    fputs(",timing_apart\n", f);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s,%s", rows[i].trace, rows[i].alloc);
        for (size_t m = 0; m < COMPARE_NMETRICS; m++) {
            double v[3] = {rows[i].a[m], rows[i].b[m], compare_change(rows[i].a[m], rows[i].b[m])};
            for (int k = 0; k < 3; k++)
                if (isnan(v[k]))
                    fputc(',', f);
                else
                    fprintf(f, ",%.6f", v[k]);
        }
        fprintf(f, ",%s\n",
                isnan(rows[i].ta.median) || isnan(rows[i].tb.median) || !rows[i].spread ? ""
                : rows[i].clear                                                         ? "1"
                                                                                        : "0");
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
    fclose(st);
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
    fclose(d);
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
            "     keyentry with boxes lc rgb '#1f4e9c' title 'ns/event: beyond the run-to-run "
            "spread', \\\n"
            "     keyentry with boxes lc rgb '#a9c1e8' title 'ns/event: within the spread'\n",
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
            "when the [min, max] ranges of the timed runs do not overlap; with a single "
            "timed run on a side there is no spread to judge.\n\n",
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
    compare_row_t *rows = calloc(ca.nrows ? ca.nrows : 1, sizeof *rows);
    if (!rows) {
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
        compare_summary(&ca, i, &r->ta);
        compare_summary(&cb, j, &r->tb);
        r->a[0] = r->ta.median;
        r->b[0] = r->tb.median;
        r->spread = compare_num(csv_get(&ca, i, csv_col(&ca, "repeat"))) >= 2 &&
                    compare_num(csv_get(&cb, j, csv_col(&cb, "repeat"))) >= 2;
        r->clear = r->spread && results_apart(&r->ta, &r->tb);
    }
    size_t only_b = 0;
    for (size_t j = 0; matched && j < cb.nrows; j++)
        if (!matched[j]) {
            if (only_b++ == 0) cli_error("compare: in B only:");
            cli_error("  %s with %s", csv_get(&cb, j, tb), csv_get(&cb, j, ab));
        }
    int rc = matched ? CLI_OK : CLI_FAIL;
    if (!matched) cli_error("compare: out of memory");
    if (rc == CLI_OK && n == 0) {
        cli_error("compare: no (trace, allocator) pair in common");
        rc = CLI_FAIL;
    }
    resdir_t rd = {0};
    char dir[PATH_MAX + 32];
    if (rc == CLI_OK) {
        compare_table(stdout, rows, n, 0);
        fflush(stdout); /* before any message on stderr */
        if (compare_outdir(&a, &rd, dir, sizeof dir))
            rc = CLI_USAGE;
        else if (compare_write(dir, rows, n, sa, sb))
            rc = CLI_FAIL;
        if (rd.partial) {
            char err[1024];
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
    free(rows);
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
        "and B and the change from A to B.  A timing change is 'clear' when the [min, max]\n"
        "ranges of the two sides' timed runs do not overlap, else 'within spread'.  Writes\n"
        "compare.csv, compare.md and one plot (compare.svg/.png, with its gnuplot script)\n"
        "to --out DIR, or to a new results/compare-<timestamp>/.",
    .opts = compare_opts,
    .run = compare_main,
};
