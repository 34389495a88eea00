/* figures.c: a report's gnuplot scripts, their data, and their rendering
 * (see figures.h).  Every script loads style.gp and names its own data
 * file, so a user restyles one plot by editing its .gp and running gnuplot
 * in plots/, or all of them through style.gp. */
#include "sim/report/figures.h"
#include "sim/report/jobs.h"
#include "sim/report/plot.h"
#include "alloc/params.h"
#include "alloc/pymalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Pixel sizes: overview bars widen with the number of traces. */
#define FIGURES_TRACE_W 640
#define FIGURES_TRACE_H 380
#define FIGURES_SWEEP_W 640
#define FIGURES_SWEEP_H 520
#define FIGURES_MIN_W   760
/* The page's width: a wider image would be scaled down, its text with it. */
#define FIGURES_MAX_W 1240
/* Footprint plots switch to a log y axis when an allocator peaks above
 * this multiple of peak live bytes: every line stays on the plot, and one
 * allocator that holds far more does not flatten the others. */
#define FIGURES_FP_LOG 4
/* ... whose bottom is at most this many times below its top (lower
 * samples, such as a process's first pages, are drawn at the bottom). */
#define FIGURES_FP_DEPTH 1024.0
/* A key's room.  gnuplot picks a key's columns from its own estimate of
 * the widest title; ours is generous (0.8 of the font's point size in
 * pixels per character, plus FIGURES_KEY_PAD for the sample and the
 * gaps), so gnuplot fits at least as many columns and its rows never
 * outgrow the FIGURES_KEY_ROW pixels each that the plot adds for them.
 * The base heights above hold FIGURES_KEY_ROWS rows. */
#define FIGURES_KEY_PAD  60
#define FIGURES_KEY_ROW  16
#define FIGURES_KEY_ROWS 2
/* Pixels of a plot's width outside its axes (margins, tic labels): a key
 * placed at the bottom spans the axes only. */
#define FIGURES_KEY_MARGIN 90
/* Allocators named in one note at most (the rest are counted). */
#define FIGURES_NOTE_NAMES 8

typedef struct {
    const results_t *r;
    const char *dir;
    figures_t *out;
    size_t *alloc; /* the grid allocators that run: indices into allocs */
    size_t nalloc;
    size_t *trace; /* the traces with events: indices into traces       */
    size_t ntrace;
    char *err;
    size_t errlen;
} figures_ctx_t;

static int figures_fail(figures_ctx_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int figures_fail(figures_ctx_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* DIR/BASE.EXT opened for writing, or NULL after setting the error. */
static FILE *figures_open(figures_ctx_t *c, const char *base, const char *ext)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%s", c->dir, base, ext);
    FILE *f = fopen(path, "w");
    if (!f) figures_fail(c, "%s: cannot write: %s", path, strerror(errno));
    return f;
}

static int figures_close(figures_ctx_t *c, FILE *f, const char *base, const char *ext)
{
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) return figures_fail(c, "%s/%s.%s: write error", c->dir, base, ext);
    return 0;
}

/* Ends the plot command on GP, then the script (plot_end: the outputs
 * of BASE at W x H) and closes it.  0 or -1. */
static int figures_plot_close(figures_ctx_t *c, FILE *gp, const char *base, int w, int h)
{
    fputc('\n', gp);
    plot_end(gp, base, w, h);
    return figures_close(c, gp, base, "gp");
}

/* Renders BASE.gp and lists the figure. */
static int figures_render(figures_ctx_t *c, const char *base, figures_kind_t kind, size_t index,
                          const char *title, const char *caption)
{
    char script[256];
    snprintf(script, sizeof script, "%s.gp", base);
    if (plot_run(c->dir, script, c->err, c->errlen)) return -1;
    figures_t *o = c->out;
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 32;
        figures_item_t *p = realloc(o->f, cap * sizeof *p);
        if (!p) return figures_fail(c, "out of memory");
        o->f = p;
        o->cap = cap;
    }
    figures_item_t *it = &o->f[o->n++];
    memset(it, 0, sizeof *it);
    snprintf(it->base, sizeof it->base, "%s", base);
    snprintf(it->title, sizeof it->title, "%s", title);
    snprintf(it->caption, sizeof it->caption, "%s", caption);
    it->kind = kind;
    it->index = index;
    return 0;
}

/* Notes what KIND/INDEX's section lacks (see figures.h). */
static int figures_note(figures_ctx_t *c, figures_kind_t kind, size_t index, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int figures_note(figures_ctx_t *c, figures_kind_t kind, size_t index, const char *fmt, ...)
{
    figures_t *o = c->out;
    if (o->nnotes == o->notecap) {
        size_t cap = o->notecap ? 2 * o->notecap : 8;
        figures_note_t *p = realloc(o->note, cap * sizeof *p);
        if (!p) return figures_fail(c, "out of memory");
        o->note = p;
        o->notecap = cap;
    }
    figures_note_t *n = &o->note[o->nnotes++];
    n->kind = kind;
    n->index = index;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->text, sizeof n->text, fmt, ap);
    va_end(ap);
    return 0;
}

/* The allocators K < N of the drawn set whose SKIP[K] is set, as a list
 * for a note ("a, b and 3 more") in BUF; the count of them. */
static size_t figures_names(const figures_ctx_t *c, const unsigned char *skip, char *buf,
                            size_t len)
{
    size_t n = 0, at = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < c->nalloc; k++) {
        if (!skip[k]) continue;
        if (n++ < FIGURES_NOTE_NAMES && at < len)
            at += (size_t)snprintf(buf + at, len - at, "%s%s", n > 1 ? ", " : "",
                                   c->r->exp->allocs[c->alloc[k]].spec);
    }
    if (n > FIGURES_NOTE_NAMES && at < len)
        snprintf(buf + at, len - at, " and %zu more", n - FIGURES_NOTE_NAMES);
    return n;
}

/* How allocator A looks in a plot: " lc rgb '#rrggbb'" and its bar fill
 * (BARS) or line dash (plot.h), into BUF. */
static const char *figures_look(const figures_ctx_t *c, size_t a, int bars, char *buf, size_t len)
{
    const char *spec = c->r->exp->allocs[a].spec;
    unsigned rank = results_rank(c->r, spec);
    char col[16];
    plot_colour(spec, rank, col, sizeof col);
    if (bars)
        snprintf(buf, len, " lc rgb '%s'%s", col, plot_fill(rank));
    else
        snprintf(buf, len, " lc rgb '%s' dt %s", col, plot_dash(rank));
    return buf;
}

/* The key of N entries whose longest title has MAXLEN characters, in a
 * font of PT points, in a plot *W pixels wide (widened when one column
 * would not fit): its columns, and its rows in *ROWS. */
static size_t figures_key(size_t n, size_t maxlen, int pt, int *w, size_t *rows)
{
    size_t colw = maxlen * (size_t)pt * 8 / 10 + FIGURES_KEY_PAD;
    if ((size_t)*w < colw + 40) *w = (int)(colw + 40);
    size_t cols = (size_t)*w / colw;
    *rows = (n + cols - 1) / cols;
    return cols;
}

/* The pixels a plot whose base height holds ROOM key rows grows by for
 * ROWS. */
static int figures_key_grow(size_t rows, size_t room)
{
    return rows > room ? (int)(rows - room) * FIGURES_KEY_ROW : 0;
}

/* The longest spec among the drawn allocators with DRAW[K] set (all when
 * DRAW is NULL), at least MIN. */
static size_t figures_longest(const figures_ctx_t *c, const unsigned char *draw, size_t min)
{
    for (size_t k = 0; k < c->nalloc; k++)
        if (!draw || draw[k]) {
            size_t l = strlen(c->r->exp->allocs[c->alloc[k]].spec);
            if (l > min) min = l;
        }
    return min;
}

/* A double for a data file: NaN stays NaN (style.gp: missing). */
static void figures_num(FILE *f, double v)
{
    if (isnan(v) || isinf(v))
        fputs(" NaN", f);
    else
        fprintf(f, " %.10g", v);
}

/* The unit that keeps MAX readable, and its size in bytes. */
static const char *figures_unit(uint64_t max, double *scale)
{
    if (max >= (uint64_t)1 << 30) {
        *scale = 1073741824.0;
        return "GiB";
    }
    if (max >= (uint64_t)1 << 20) {
        *scale = 1048576.0;
        return "MiB";
    }
    if (max >= (uint64_t)1 << 10) {
        *scale = 1024.0;
        return "KiB";
    }
    *scale = 1.0;
    return "bytes";
}

/* Compact byte label: 512, 4K, 1M. */
static void figures_size_label(uint64_t v, char *buf, size_t len)
{
    if (v >= ((uint64_t)1 << 30) && v % ((uint64_t)1 << 30) == 0)
        snprintf(buf, len, "%" PRIu64 "G", v >> 30);
    else if (v >= ((uint64_t)1 << 20) && v % ((uint64_t)1 << 20) == 0)
        snprintf(buf, len, "%" PRIu64 "M", v >> 20);
    else if (v >= 1024 && v % 1024 == 0)
        snprintf(buf, len, "%" PRIu64 "K", v >> 10);
    else
        snprintf(buf, len, "%" PRIu64, v);
}

/* Tics of a log axis from LO to HI: the 1-2-5 ladder, or only the powers
 * of ten when the ladder would crowd the axis (gnuplot's default shows only
 * powers of ten, too few on a short range). */
static void figures_log_tics(FILE *gp, const char *axis, double lo, double hi)
{
    static const double steps[] = {1, 2, 5};
    if (!(lo > 0) || !(hi > lo)) return;
    int k0 = (int)floor(log10(lo)), k1 = (int)ceil(log10(hi));
    int ladder = k1 - k0 <= 4;
    fprintf(gp, "set %stics (", axis);
    int n = 0;
    for (int k = k0; k <= k1; k++)
        for (size_t i = 0; i < (ladder ? 3u : 1u); i++) {
            double v = steps[i] * pow(10, k);
            if (v < lo || v > hi) continue;
            fprintf(gp, "%s'%g' %g", n++ ? ", " : "", v, v);
        }
    fputs(")\n", gp);
}

/* A count for a tic label: 800, 200k, 1.2M (distinct for the 1-2-5
 * steps of figures_count_tics). */
static void figures_count_label(double v, char *buf, size_t len)
{
    if (v >= 1e9)
        snprintf(buf, len, "%.4gG", v / 1e9);
    else if (v >= 1e6)
        snprintf(buf, len, "%.4gM", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, len, "%.4gk", v / 1e3);
    else
        snprintf(buf, len, "%.4g", v);
}

/* Tics of a linear count axis from 0 to MAX: a 1-2-5 step giving at most
 * MAXTICS of them, each labelled by figures_count_label (gnuplot's '%.0s%c'
 * would print 1.2M and 1.4M both as "1M"). */
static void figures_count_tics(FILE *gp, const char *axis, double max, int maxtics)
{
    static const double steps[] = {1, 2, 5};
    double step = 1;
    for (int k = 0; k < 19 && max / step > maxtics; k++)
        for (size_t i = 0; i < 3; i++) {
            step = steps[i] * pow(10, k);
            if (max / step <= maxtics) break;
        }
    fprintf(gp, "set %stics (", axis);
    for (int n = 0; n * step <= max * (1 + 1e-9); n++) {
        char label[32];
        figures_count_label(n * step, label, sizeof label);
        fprintf(gp, "%s'%s' %.17g", n ? ", " : "", label, n * step);
    }
    fputs(")\n", gp);
}

/* gnuplot point types that stay apart at a small size (circle, square,
 * triangles, diamond, pentagon, filled and open), for the K-th line. */
static size_t figures_marker(size_t k)
{
    static const size_t types[] = {7, 5, 9, 11, 13, 15, 6, 4, 8, 10, 12, 14, 1, 2, 3};
    return types[k % (sizeof types / sizeof types[0])];
}

/* ---- the line plots' common parts (sweeps, workload sweeps, scaling) ------------------- */

/* A sweep's data row: X, then RUN's peak resident bytes and -- when TIMED
 * -- its median ns/event and that median's confidence interval (NaN
 * otherwise). */
static void figures_sweep_row(FILE *d, double x, const driver_run_t *run, int timed)
{
    const timing_summary_t *sm = &run->ns_per_event;
    figures_num(d, x);
    fprintf(d, " %" PRIu64, run->m.peak_resident);
    figures_num(d, timed ? sm->median : NAN);
    figures_num(d, timed ? sm->ci_low : NAN);
    figures_num(d, timed ? sm->ci_high : NAN);
    fputc('\n', d);
}

/* A sweep plot's size for a key of NDRAW lines whose longest title has
 * LONGEST characters, three columns at most: *W, *H and the key's *ROWS;
 * returns its columns. */
static size_t figures_sweep_size(size_t ndraw, size_t longest, int *w, int *h, size_t *rows)
{
    *w = FIGURES_SWEEP_W;
    size_t cols = figures_key(ndraw, longest, 9, w, rows);
    if (cols > 3) cols = 3;
    *rows = (ndraw + cols - 1) / cols;
    *h = FIGURES_SWEEP_H + figures_key_grow(*rows, 3);
    return cols;
}

/* A numeric x axis from XMIN to XMAX: base-2 logarithmic when LOGX (a
 * quarter of a doubling of room each side), else linear with 5 % each
 * side; one value alone gets room 1 to its right, and to its left too
 * when CENTRE_ONE. */
static void figures_x_range(FILE *gp, int logx, double xmin, double xmax, int centre_one)
{
    if (logx) fputs("set logscale x 2\n", gp);
    fprintf(gp, "set xrange [%.6g:%.6g]\n",
            logx ? xmin / 1.25 : xmin - (xmax - xmin) * 0.05 - (centre_one && xmax == xmin),
            logx ? xmax * 1.25 : xmax + (xmax - xmin) * 0.05 + (xmax == xmin));
}

/* The key under the x label, in a bottom margin as tall as its ROWS, in
 * COLS columns at most. */
static void figures_key_below(FILE *gp, size_t rows, size_t cols)
{
    fprintf(gp,
            "set bmargin %.1f\n"
            "set key at screen 0.5, screen 0.01 center bottom horizontal maxcols %zu "
            "samplen 3 font ',9'\n",
            5.0 + 1.2 * (double)rows, cols);
}

/* A sweep plot's y axis: peak resident memory in UNIT (PASS 0) or ns per
 * event (PASS 1), from YLO to YHI.  A log axis when the lines are 20x
 * apart, else from zero (to 1 when every point is 0: gnuplot warns about
 * an empty range). */
static void figures_sweep_y(FILE *gp, int pass, const char *unit, double ylo, double yhi)
{
    int logy = ylo > 0 && yhi / ylo >= 20;
    fprintf(gp, "set ylabel '%s%s%s'\n", pass == 0 ? "peak resident memory, " : "ns per event",
            pass == 0 ? unit : "", logy ? " (log scale)" : "");
    if (logy) {
        fprintf(gp, "set logscale y\nset yrange [%.6g:%.6g]\n", ylo / 1.3, yhi * 1.3);
        figures_log_tics(gp, "y", ylo / 1.3, yhi * 1.3);
    } else {
        fputs(yhi > 0 ? "set yrange [0:*]\n" : "set yrange [0:1]\n", gp);
    }
}

/* The x axis's label TEXT, quoted for gnuplot. */
static void figures_xlabel(FILE *gp, const char *text)
{
    fputs("set xlabel ", gp);
    plot_string(gp, text);
    fputc('\n', gp);
}

/* The I-th tic of a `set xtics (...)` list: LABEL at X. */
static void figures_xtic(FILE *gp, size_t i, const char *label, double x)
{
    fprintf(gp, "%s", i ? ", " : "");
    plot_string(gp, label);
    figures_num(gp, x);
}

/* The start of a sweep plot's K-th line, block INDEX of BASE.dat: peak
 * resident in units of SCALE bytes (PASS 0), or the median ns/event with
 * its interval as whiskers (PASS 1). */
static void figures_sweep_using(FILE *gp, size_t k, const char *base, size_t index, int pass,
                                double scale)
{
    fprintf(gp, "%s'%s.dat' index %zu ", k ? ", \\\n     " : "", base, index);
    if (pass == 0)
        fprintf(gp, "using 1:($2/%.0f) with linespoints", scale);
    else
        fputs("using 1:3:4:5 with yerrorlines", gp);
}

/* The rest of a plot line of grid allocator A (index into c->alloc): its
 * width, marker and colour, and its spec as the title. */
static void figures_alloc_line(const figures_ctx_t *c, FILE *gp, size_t a)
{
    char look[96];
    fprintf(gp, " lw 2 pt %zu ps 0.9%s title ", figures_marker(a),
            figures_look(c, c->alloc[a], 0, look, sizeof look));
    plot_string(gp, c->r->exp->allocs[c->alloc[a]].spec);
}

/* Adds NAME to a note's list BUF (AT characters used) as its *N-th name;
 * past FIGURES_NOTE_NAMES names, only counts it. */
static void figures_list_add(char *buf, size_t len, size_t *at, size_t *n, const char *name)
{
    if ((*n)++ < FIGURES_NOTE_NAMES && *at < len)
        *at += (size_t)snprintf(buf + *at, len - *at, "%s%s", *n > 1 ? ", " : "", name);
}

static int figures_overview_width(size_t ntraces, size_t nallocs)
{
    size_t w = 160 + ntraces * (nallocs * 12 + 20);
    if (w < FIGURES_MIN_W) w = FIGURES_MIN_W;
    if (w > FIGURES_MAX_W) w = FIGURES_MAX_W;
    return (int)w;
}

/* Height of the bar charts, key rows beyond FIGURES_KEY_ROWS excluded. */
#define FIGURES_BARS_H 460

/* The shared setup of a clustered bar chart over NROWS traces, its key in
 * COLS columns. */
static void figures_bars_setup(FILE *gp, size_t nrows, size_t cols)
{
    fprintf(gp,
            "set style data histograms\n"
            "set style histogram clustered gap 1\n"
            "set boxwidth 0.9 relative\n"
            "set xtics rotate by 35 right scale 0\n"
            /* symmetric: a cluster of N bars spans N / (2 (N + gap)) on
             * each side of its trace, 0.44 at 7 allocators, so a right
             * edge at 0.4 cut the last allocator's bar */
            "set xrange [-0.6:%zu.6]\n"
            "set key outside top center horizontal maxcols %zu\n",
            nrows ? nrows - 1 : 0, cols);
}

/* The plot command of a bar chart: one series per allocator K with
 * DRAW[K], its columns from COL (the first of WIDTH per allocator) of
 * DAT; the first series labels the x axis.  ZERO > 0 (a log axis whose
 * bottom is ZERO): a value of 0 or less has no bar there, so it gets a
 * "0" in its allocator's colour where its bar would stand. */
static void figures_bars_plot(const figures_ctx_t *c, FILE *gp, const char *dat,
                              const unsigned char *draw, size_t col, size_t width, double zero)
{
    const exp_t *e = c->r->exp;
    int first = 1;
    size_t n = 0, m = 0;
    for (size_t k = 0; k < c->nalloc; k++)
        n += draw[k] != 0;
    fputs("plot ", gp);
    for (size_t k = 0; k < c->nalloc; k++) {
        if (!draw[k]) continue;
        char look[80];
        fprintf(gp, "%s'%s' using ", first ? "" : ", \\\n     ", dat);
        for (size_t i = 0; i < width; i++)
            fprintf(gp, "%s%zu", i ? ":" : "", col + width * k + i);
        fprintf(gp, "%s title ", first ? ":xtic(1)" : "");
        plot_string(gp, e->allocs[c->alloc[k]].spec);
        fputs(figures_look(c, c->alloc[k], 1, look, sizeof look), gp);
        first = 0;
    }
    /* A clustered histogram (gap 1) puts row R's bar M of N at
     * R + (M - (N-1)/2) / (N+1). */
    for (size_t k = 0; zero > 0 && k < c->nalloc; k++) {
        if (!draw[k]) continue;
        char colour[16];
        const char *spec = e->allocs[c->alloc[k]].spec;
        plot_colour(spec, results_rank(c->r, spec), colour, sizeof colour);
        fprintf(gp,
                ", \\\n     '%s' using ($0 + %.6g):(%.6g):(column(%zu) > 0 ? '' : '0') "
                "with labels offset 0,0.6 font ',11' tc rgb '%s' notitle",
                dat, ((double)m - (double)(n - 1) / 2) / (double)(n + 1), zero, col + width * k,
                colour);
        m++;
    }
    fputc('\n', gp);
}

/* ---- fragmentation: util and J&W #4 bars ------------------------------------------ */

static int figures_frag(figures_ctx_t *c)
{
    const results_t *r = c->r;
    const exp_t *e = r->exp;
    size_t na = c->nalloc;
    if (na == 0) return 0;
    if (c->ntrace == 0)
        return figures_note(c, FIGURES_OVERVIEW, 0,
                            "No fragmentation plots: no trace has any event.");
    /* draw[pass * na + k]: allocator k has a value to draw in that pass
     * (util: finite; J&W #4: positive, on a log axis). */
    unsigned char *draw = calloc(2 * na, 1);
    if (!draw) return figures_fail(c, "out of memory");
    FILE *d = figures_open(c, "frag", "dat");
    if (!d) {
        free(draw);
        return -1;
    }
    fputs("# trace, then util per allocator, then J&W #4 per allocator (columns as in the "
          "scripts; traces with events only)\n",
          d);
    double lo = INFINITY, hi = 0, umax = 1;
    for (size_t i = 0; i < c->ntrace; i++) {
        size_t t = c->trace[i];
        fprintf(d, "%s", e->traces[t].name);
        for (int pass = 0; pass < 2; pass++)
            for (size_t k = 0; k < na; k++) {
                const driver_run_t *run = &r->runs[e->grid[t * e->nallocs + c->alloc[k]]];
                double v = pass == 0 ? run->m.frag.util : run->m.frag.jw4;
                figures_num(d, v);
                if (pass == 0 && isfinite(v)) {
                    draw[k] = 1;
                    if (v > umax) umax = v;
                }
                if (pass == 1 && isfinite(v)) draw[na + k] = 1; /* 0 or less: marked "0" */
                if (pass == 1 && v > 0 && isfinite(v)) {
                    if (v < lo) lo = v;
                    if (v > hi) hi = v;
                }
            }
        fputc('\n', d);
    }
    if (figures_close(c, d, "frag", "dat")) {
        free(draw);
        return -1;
    }
    if (hi == 0) { /* nothing above 0: an axis for the "0" marks alone */
        lo = 0.1;
        hi = 1;
    }

    static const char *const bases[2] = {"frag-util", "frag-jw4"};
    static const char *const names[2] = {"Utilization", "Fragmentation (J&W #4)"};
    static const char *const why = "no value (peak resident is 0 or unknown)";
    int rc = 0;
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        const unsigned char *dr = draw + (size_t)pass * na;
        unsigned char *skip = malloc(na);
        char list[400];
        if (!skip) {
            rc = figures_fail(c, "out of memory");
            break;
        }
        for (size_t k = 0; k < na; k++)
            skip[k] = !dr[k];
        size_t nskip = figures_names(c, skip, list, sizeof list);
        free(skip);
        if (nskip == na) {
            rc = figures_note(c, FIGURES_OVERVIEW, 0,
                              "No %s plot: no allocator has a value to draw (%s).", names[pass],
                              why);
            continue;
        }
        if (nskip)
            rc = figures_note(c, FIGURES_OVERVIEW, 0, "%s: left out of the plot: %s: %s.",
                              names[pass], list, why);
        if (rc) break;
        int w = figures_overview_width(c->ntrace, na - nskip);
        size_t rows, cols = figures_key(na - nskip, figures_longest(c, dr, 0), 11, &w, &rows);
        int h = FIGURES_BARS_H + figures_key_grow(rows, FIGURES_KEY_ROWS);
        FILE *gp = figures_open(c, bases[pass], "gp");
        if (!gp) {
            rc = -1;
            break;
        }
        plot_begin(gp, bases[pass],
                   pass == 0 ? "utilization (peak live / peak resident) per trace and allocator"
                             : "J&W fragmentation #4 (peak resident / peak live - 1)",
                   w, h);
        figures_bars_setup(gp, c->ntrace, cols);
        /* Utilization tops 1 only when an allocator's footprint is an
         * estimate below what is live (RSS-based ones): keep it visible. */
        plot_title(gp,
                   pass == 0 ? "Utilization: peak live bytes / peak resident (higher is better)"
                             : "Fragmentation J&W #4: peak resident / peak live - 1 (lower is "
                               "better)",
                   w);
        if (pass == 0)
            fprintf(gp,
                    "set ylabel 'utilization'\n"
                    "set yrange [0:%.3f]\n"
                    "set ytics 0.2\n",
                    umax * 1.05);
        else
            fprintf(gp,
                    "set ylabel 'J&W #4 (log scale)'\n"
                    "set logscale y\n"
                    "set yrange [%.6g:%.6g]\n",
                    lo / 2, hi * 2);
        if (pass == 1) figures_log_tics(gp, "y", lo / 2, hi * 2);
        figures_bars_plot(c, gp, "frag.dat", dr, 2 + (size_t)pass * na, 1, pass == 1 ? lo / 2 : 0);
        plot_end(gp, bases[pass], w, h);
        if (figures_close(c, gp, bases[pass], "gp")) {
            rc = -1;
            break;
        }
        rc =
            pass == 0
                ? figures_render(c, bases[0], FIGURES_OVERVIEW, 0,
                                 "Utilization per trace and allocator",
                                 "Peak live bytes divided by peak resident (CS:APP's "
                                 "utilization): taller is better; 1.0 would mean the "
                                 "allocator held nothing beyond what the program had live.")
                : figures_render(c, bases[1], FIGURES_OVERVIEW, 0,
                                 "Fragmentation (Johnstone & Wilson #4) per trace and "
                                 "allocator",
                                 "Peak resident memory divided by peak live bytes, minus one, on a "
                                 "log scale: shorter is better; 1.0 means the allocator "
                                 "needed twice the memory the program ever had live, and a "
                                 "\"0\" where a bar would stand means no more than live (a "
                                 "log axis has no 0).");
    }
    free(draw);
    return rc;
}

/* ---- speed: median ns/event with its confidence interval ------------------------- */

static int figures_speed(figures_ctx_t *c)
{
    const results_t *r = c->r;
    const exp_t *e = r->exp;
    size_t na = c->nalloc;
    if (na == 0) return 0;
    if (e->repeat == 0)
        return figures_note(c, FIGURES_OVERVIEW, 0,
                            "No replay speed plot: no timed runs (repeats 0).");
    if (c->ntrace == 0)
        return figures_note(c, FIGURES_OVERVIEW, 0,
                            "No replay speed plot: no trace has any event.");
    unsigned char *draw = calloc(na, 1), *skip = malloc(na);
    if (!draw || !skip) {
        free(draw);
        free(skip);
        return figures_fail(c, "out of memory");
    }
    int rc = -1;
    FILE *d = figures_open(c, "speed", "dat");
    if (!d) goto done;
    fputs("# trace, then per allocator: median, confidence interval of the median (low high) "
          "of the ns/event of the timed runs (traces with events only)\n",
          d);
    double lo = INFINITY, hi = 0;
    for (size_t i = 0; i < c->ntrace; i++) {
        size_t t = c->trace[i];
        fprintf(d, "%s", e->traces[t].name);
        for (size_t k = 0; k < na; k++) {
            const driver_run_t *run = &r->runs[e->grid[t * e->nallocs + c->alloc[k]]];
            const timing_summary_t *s = &run->ns_per_event;
            int ok = run->repeat > 0 && s->ci_low > 0 && isfinite(s->ci_high);
            figures_num(d, ok ? s->median : NAN);
            figures_num(d, ok ? s->ci_low : NAN);
            figures_num(d, ok ? s->ci_high : NAN);
            if (ok) draw[k] = 1;
            if (ok && s->ci_low < lo) lo = s->ci_low;
            if (ok && s->ci_high > hi) hi = s->ci_high;
        }
        fputc('\n', d);
    }
    if (figures_close(c, d, "speed", "dat")) goto done;
    for (size_t k = 0; k < na; k++)
        skip[k] = !draw[k];
    char list[400];
    size_t nskip = figures_names(c, skip, list, sizeof list);
    if (nskip == na || !(hi > 0)) {
        rc = figures_note(c, FIGURES_OVERVIEW, 0,
                          "No replay speed plot: no allocator has a timed run.");
        goto done;
    }
    if (nskip && figures_note(c, FIGURES_OVERVIEW, 0,
                              "Replay speed: left out of the plot (no timed run): %s.", list))
        goto done;

    int w = figures_overview_width(c->ntrace, na - nskip);
    size_t rows, cols = figures_key(na - nskip, figures_longest(c, draw, 0), 11, &w, &rows);
    int h = FIGURES_BARS_H + figures_key_grow(rows, FIGURES_KEY_ROWS);
    FILE *gp = figures_open(c, "speed", "gp");
    if (!gp) goto done;
    plot_begin(gp, "speed", "replay speed per trace and allocator", w, h);
    figures_bars_setup(gp, c->ntrace, cols);
    char title[200];
    snprintf(title, sizeof title,
             "Replay speed: median ns per event, whiskers its confidence interval over %u timed "
             "runs (lower is faster)",
             e->repeat);
    plot_title(gp, title, w);
    fprintf(gp,
            "set style histogram errorbars gap 1 lw 1\n"
            "set ylabel 'ns per event (log scale)'\n"
            "set logscale y\n"
            "set yrange [%.6g:%.6g]\n",
            lo / 1.5, hi * 1.5);
    figures_log_tics(gp, "y", lo / 1.5, hi * 1.5);
    figures_bars_plot(c, gp, "speed.dat", draw, 2, 3, 0);
    plot_end(gp, "speed", w, h);
    if (figures_close(c, gp, "speed", "gp")) goto done;
    char caption[600];
    snprintf(caption, sizeof caption,
             "Median nanoseconds per replayed event over %u interleaved timed runs (log scale), "
             "whiskers a confidence interval for the median (order statistics; 96.9 %% with 6 "
             "runs, 93.8 %% with 5): shorter is faster. Whether two bars differ is the "
             "headline's Mann-Whitney test, not whether whiskers overlap.",
             e->repeat);
    rc = figures_render(c, "speed", FIGURES_OVERVIEW, 0, "Replay speed per trace and allocator",
                        caption);
done:
    free(draw);
    free(skip);
    return rc;
}

/* ---- scaling: throughput against threads, per workload -------------------------------- */

/* Workload trace T's `threads` parameter (1 when not given), or 0 when T
 * is not a workload or the value is not a whole number from 1. */
static unsigned long figures_threads_param(const exp_trace_t *tr)
{
    if (!tr->script) return 0;
    for (size_t k = 0; k < tr->ndefs; k++)
        if (strcmp(tr->defs[k].key, "threads") == 0) {
            char *end;
            errno = 0;
            unsigned long n = strtoul(tr->defs[k].value, &end, 10);
            return errno || end == tr->defs[k].value || *end || n == 0 ? 0 : n;
        }
    return 1;
}

/* Whether workload traces A and B differ only in their `threads`
 * parameter (script, seed and every other parameter the same). */
static int figures_same_but_threads(const exp_trace_t *a, const exp_trace_t *b)
{
    if (!a->script || !b->script || strcmp(a->script, b->script) || a->seed != b->seed) return 0;
    size_t i = 0, j = 0;
    for (;;) {
        while (i < a->ndefs && strcmp(a->defs[i].key, "threads") == 0)
            i++;
        while (j < b->ndefs && strcmp(b->defs[j].key, "threads") == 0)
            j++;
        if (i == a->ndefs || j == b->ndefs) return i == a->ndefs && j == b->ndefs;
        if (strcmp(a->defs[i].key, b->defs[j].key) || strcmp(a->defs[i].value, b->defs[j].value))
            return 0;
        i++;
        j++;
    }
}

/* One scaling plot: the traces MEMBER[0..N) (thread counts THREADS[],
 * ascending, distinct), plots/scaling-K.  A point is a timed run that ran
 * on the trace's threads (m.threads > 1; a workload may add a main thread
 * to its N workers, churn does) -- or of threads=1; a run serialized
 * (a route not thread-safe) is no point of the line. */
static int figures_scaling_one(figures_ctx_t *c, size_t k, const size_t *member,
                               const unsigned long *threads, size_t n)
{
    const results_t *r = c->r;
    const exp_t *e = r->exp;
    size_t na = c->nalloc;
    char base[64], list[400];
    snprintf(base, sizeof base, "scaling-%zu", k + 1);
    unsigned char *draw = calloc(na + 1, 1), *skip = calloc(na + 1, 1);
    if (!draw || !skip) {
        free(draw);
        free(skip);
        return figures_fail(c, "out of memory");
    }
    int rc = -1;
    double hi = 0;
    /* data: a block per allocator that has a point, one row per thread
     * count (NaN where its run was not timed on that many threads) */
    FILE *d = figures_open(c, base, "dat");
    if (!d) goto done;
    fputs("# one block per allocator: threads, events/s over all threads (trace events / wall "
          "time of the median timed run), trace\n",
          d);
    for (size_t a = 0; a < na; a++) {
        for (size_t i = 0; i < n; i++) {
            const driver_run_t *run = &r->runs[e->grid[member[i] * e->nallocs + c->alloc[a]]];
            if (run->repeat > 0 && (threads[i] == 1 || run->m.threads > 1) &&
                run->events_per_s > 0 && isfinite(run->events_per_s))
                draw[a] = 1;
        }
        skip[a] = !draw[a];
        if (!draw[a]) continue;
        fprintf(d, "# %s\n", e->allocs[c->alloc[a]].spec);
        for (size_t i = 0; i < n; i++) {
            const driver_run_t *run = &r->runs[e->grid[member[i] * e->nallocs + c->alloc[a]]];
            int ok = run->repeat > 0 && (threads[i] == 1 || run->m.threads > 1) &&
                     run->events_per_s > 0 && isfinite(run->events_per_s);
            fprintf(d, "%lu", threads[i]);
            figures_num(d, ok ? run->events_per_s : NAN);
            fprintf(d, " %s\n", e->traces[member[i]].name);
            if (ok && run->events_per_s > hi) hi = run->events_per_s;
        }
        fputs("\n\n", d);
    }
    if (figures_close(c, d, base, "dat")) goto done;
    /* the workload as named in the experiment: its script's file name */
    char wl[128];
    const char *script = e->traces[member[0]].script, *slash = strrchr(script, '/');
    snprintf(wl, sizeof wl, "%s", slash ? slash + 1 : script);
    char *dot = strrchr(wl, '.');
    if (dot && strcmp(dot, ".lua") == 0) *dot = '\0';
    size_t nskip = figures_names(c, skip, list, sizeof list);
    if (nskip == na) {
        rc = figures_note(c, FIGURES_OVERVIEW, 0,
                          "No scaling plot for %s and its thread counts: no allocator has a "
                          "timed run on the trace's threads (repeats 0, or each run serialized).",
                          wl);
        goto done;
    }
    if (nskip &&
        figures_note(c, FIGURES_OVERVIEW, 0,
                     "Scaling (%s): left out (no timed run on the trace's threads): %s.", wl, list))
        goto done;
    int w = FIGURES_SWEEP_W;
    size_t rows, cols = figures_key(na - nskip, figures_longest(c, draw, 0), 9, &w, &rows);
    int h = FIGURES_SWEEP_H + figures_key_grow(rows, FIGURES_KEY_ROWS);
    FILE *gp = figures_open(c, base, "gp");
    if (!gp) goto done;
    plot_begin(gp, base, "throughput against threads, one line per allocator", w, h);
    char title[300];
    snprintf(title, sizeof title,
             "%s at %lu to %lu threads\nthroughput = trace events / wall time of the "
             "timed run, all threads",
             wl, threads[0], threads[n - 1]);
    plot_title(gp, title, w);
    fputs("set xlabel 'threads (the workload''s parameter: worker threads, one OS thread each)'\n"
          "set ylabel 'throughput, M events/s (all threads)'\n",
          gp);
    figures_x_range(gp, 1, (double)threads[0], (double)threads[n - 1], 0);
    fputs("set xtics (", gp);
    for (size_t i = 0; i < n; i++)
        fprintf(gp, "%s'%lu' %lu", i ? ", " : "", threads[i], threads[i]);
    fputs(")\nset yrange [0:*]\n", gp);
    figures_key_below(gp, rows, cols);
    fputs("plot ", gp);
    for (size_t a = 0, b = 0; a < na; a++) {
        if (!draw[a]) continue;
        fprintf(gp, "%s'%s.dat' index %zu using 1:($2/1e6) with linespoints",
                b ? ", \\\n     " : "", base, b);
        figures_alloc_line(c, gp, a);
        b++;
    }
    if (figures_plot_close(c, gp, base, w, h)) goto done;
    char caption[600];
    unsigned cpus = jobs_cpus();
    snprintf(caption, sizeof caption,
             "Throughput of %s's traces at each thread count, one line per allocator: trace "
             "events divided by the wall time of the median timed run, all threads together "
             "(higher is faster; flat means no scaling). CPUs available: %u -- a trace of "
             "several threads ran alone, on every CPU of the report's mask%s.",
             wl, cpus,
             cpus < threads[n - 1] ? ", fewer than its threads: beyond that they time-share" : "");
    snprintf(title, sizeof title, "Scaling: %s, throughput against threads", wl);
    rc = figures_render(c, base, FIGURES_OVERVIEW, 0, title, caption);
done:
    free(draw);
    free(skip);
    return rc;
}

/* The scaling plots: workload traces that differ only in `threads`, at
 * two thread counts or more, each such group one plot (see figures.h). */
static int figures_scaling(figures_ctx_t *c)
{
    const exp_t *e = c->r->exp;
    if (c->nalloc == 0 || e->repeat == 0) return 0;
    size_t nt = c->ntrace, k = 0;
    size_t *member = malloc((nt + 1) * sizeof *member);
    unsigned long *threads = malloc((nt + 1) * sizeof *threads);
    unsigned char *used = calloc(nt + 1, 1);
    int rc = 0;
    if (!member || !threads || !used) rc = figures_fail(c, "out of memory");
    for (size_t i = 0; i < nt && rc == 0; i++) {
        const exp_trace_t *ti = &e->traces[c->trace[i]];
        if (used[i] || !figures_threads_param(ti)) continue;
        size_t n = 0;
        for (size_t j = i; j < nt; j++) {
            const exp_trace_t *tj = &e->traces[c->trace[j]];
            unsigned long x = figures_threads_param(tj);
            if (used[j] || !x || !figures_same_but_threads(ti, tj)) continue;
            used[j] = 1;
            /* insert by thread count; a count seen before keeps its first trace */
            size_t at = 0;
            while (at < n && threads[at] < x)
                at++;
            if (at < n && threads[at] == x) continue;
            memmove(member + at + 1, member + at, (n - at) * sizeof *member);
            memmove(threads + at + 1, threads + at, (n - at) * sizeof *threads);
            member[at] = c->trace[j];
            threads[at] = x;
            n++;
        }
        if (n >= 2) rc = figures_scaling_one(c, k++, member, threads, n);
    }
    free(member);
    free(threads);
    free(used);
    return rc;
}

/* ---- instructions and cache misses per event (callgrind) ------------------------------- */

/* The bar charts of `measure("instructions")`, one line each. */
static const struct {
    const char *base;
    size_t offset; /* a double in driver_run_t */
    const char *title, *ylabel, *caption;
} figures_counts[] = {
    {"instructions", offsetof(driver_run_t, instructions_per_event),
     "Instructions per event (callgrind; lower is cheaper)", "instructions per event",
     "Instructions executed per replayed event in the allocator's calls and the program's "
     "use of each block, counted by callgrind (the harness's own work left out): exact and "
     "the same on any machine and any load, so a change is real however small."},
    {"d1-misses", offsetof(driver_run_t, d1_misses_per_event),
     "L1 data cache misses per event (simulated 32 KiB, 8-way)", "D1 misses per event",
     "Reads and writes that miss the simulated 32 KiB L1 data cache, per event: how well the "
     "allocator's placement and metadata keep what a program touches together."},
    {"ll-misses", offsetof(driver_run_t, ll_misses_per_event),
     "Last-level cache misses per event (simulated 8 MiB, 16-way)", "LL misses per event",
     "Data reads and writes that miss the simulated 8 MiB last-level cache as well, per event: "
     "each would be a trip to memory."},
};

static double figures_count_of(const driver_run_t *run, size_t offset)
{
    return *(const double *)((const char *)run + offset);
}

static int figures_costs(figures_ctx_t *c)
{
    const results_t *r = c->r;
    const exp_t *e = r->exp;
    size_t na = c->nalloc;
    if (na == 0 || c->ntrace == 0) return 0;
    for (size_t f = 0; f < sizeof figures_counts / sizeof figures_counts[0]; f++) {
        const char *base = figures_counts[f].base;
        double hi = 0;
        for (size_t i = 0; i < c->ntrace; i++)
            for (size_t k = 0; k < na; k++) {
                double v =
                    figures_count_of(&r->runs[e->grid[c->trace[i] * e->nallocs + c->alloc[k]]],
                                     figures_counts[f].offset);
                if (isfinite(v) && v > hi) hi = v;
            }
        if (!(hi > 0)) continue; /* nothing counted */
        FILE *d = figures_open(c, base, "dat");
        if (!d) return -1;
        fprintf(d, "# trace, then %s per allocator\n", figures_counts[f].ylabel);
        for (size_t i = 0; i < c->ntrace; i++) {
            size_t t = c->trace[i];
            fprintf(d, "%s", e->traces[t].name);
            for (size_t k = 0; k < na; k++)
                figures_num(d, figures_count_of(&r->runs[e->grid[t * e->nallocs + c->alloc[k]]],
                                                figures_counts[f].offset));
            fputc('\n', d);
        }
        if (figures_close(c, d, base, "dat")) return -1;
        int w = figures_overview_width(c->ntrace, na);
        size_t rows, cols = figures_key(na, figures_longest(c, NULL, 0), 11, &w, &rows);
        int h = FIGURES_BARS_H + figures_key_grow(rows, FIGURES_KEY_ROWS);
        FILE *gp = figures_open(c, base, "gp");
        if (!gp) return -1;
        plot_begin(gp, base, figures_counts[f].title, w, h);
        figures_bars_setup(gp, c->ntrace, cols);
        plot_title(gp, figures_counts[f].title, w);
        fputs("\nset ylabel ", gp);
        plot_string(gp, figures_counts[f].ylabel);
        fprintf(gp, "\nset yrange [0:%.6g]\nplot ", hi * 1.08);
        for (size_t k = 0; k < na; k++) {
            char look[80];
            const char *spec = e->allocs[c->alloc[k]].spec;
            fprintf(gp, "%s'%s.dat' using %zu%s%s title ", k ? ", \\\n     " : "", base, 2 + k,
                    k == 0 ? ":xtic(1)" : "", figures_look(c, c->alloc[k], 1, look, sizeof look));
            plot_string(gp, spec);
        }
        if (figures_plot_close(c, gp, base, w, h)) return -1;
        if (figures_render(c, base, FIGURES_OVERVIEW, 0, figures_counts[f].title,
                           figures_counts[f].caption))
            return -1;
    }
    return 0;
}

/* ---- pymalloc pools per size class at the peak --------------------------------------- */

/* "SPEC (pool=P, arena=A)": which pymalloc the pool tables show, with
 * the sizes its parameters (a preset included) come to. */
static void figures_pymalloc_variant(const char *spec, char *buf, size_t len)
{
    alloc_spec_t as;
    pymalloc_params_t pp;
    char err[256], pool[32], arena[32];
    pymalloc_params_default(&pp);
    if (alloc_spec_parse(&as, spec, err, sizeof err) < 0 ||
        pymalloc_params_parse(&pp, as.params, as.nparams, err, sizeof err) < 0) {
        snprintf(buf, len, "%s", spec);
        return;
    }
    figures_size_label(pp.pool_size, pool, sizeof pool);
    figures_size_label(pp.arena_size, arena, sizeof arena);
    snprintf(buf, len, "%s (pool=%s, arena=%s)", spec, pool, arena);
}

static int figures_pools(figures_ctx_t *c)
{
    const results_t *r = c->r;
    const exp_t *e = r->exp;
    /* Columns: the union of block sizes over the traces with a table. */
    uint32_t sizes[POOLS_MAX_CLASSES];
    size_t ns = 0, nt = 0;
    uint64_t maxpools = 0;
    for (size_t t = 0; t < e->ntraces; t++) {
        const results_trace_t *rt = &r->traces[t];
        if (!rt->has_pools) continue;
        nt++;
        for (size_t i = 0; i < rt->pools.n; i++) {
            uint32_t s = rt->pools.c[i].size;
            size_t k = 0;
            while (k < ns && sizes[k] < s)
                k++;
            if (k < ns && sizes[k] == s) continue;
            if (ns == POOLS_MAX_CLASSES) continue;
            memmove(&sizes[k + 1], &sizes[k], (ns - k) * sizeof *sizes);
            sizes[k] = s;
            ns++;
        }
        for (size_t i = 0; i < rt->pools.n; i++)
            if (rt->pools.c[i].pools > maxpools) maxpools = rt->pools.c[i].pools;
    }
    if (nt == 0 || ns == 0 || maxpools == 0) return 0;
    FILE *d = figures_open(c, "pools", "dat");
    if (!d) return -1;
    fputs("# column (size class), row (trace), pools in use, % of their blocks in use; "
          "NaN: no pool of that class\n",
          d);
    size_t row = 0;
    for (size_t t = 0; t < e->ntraces; t++) {
        const results_trace_t *rt = &r->traces[t];
        if (!rt->has_pools) continue;
        for (size_t k = 0; k < ns; k++) {
            const pools_class_t *pc = NULL;
            for (size_t i = 0; i < rt->pools.n; i++)
                if (rt->pools.c[i].size == sizes[k] && rt->pools.c[i].pools) pc = &rt->pools.c[i];
            fprintf(d, "%zu %zu", k, row);
            figures_num(d, pc ? (double)pc->pools : NAN);
            figures_num(d,
                        pc ? 100.0 * (double)pc->blocks / (double)(pc->blocks + pc->avail) : NAN);
            fputc('\n', d);
        }
        fputc('\n', d);
        row++;
    }
    if (figures_close(c, d, "pools", "dat")) return -1;

    int h = 170 + 26 * (int)nt, w = 980;
    if (h < 280) h = 280;
    char variant[512];
    figures_pymalloc_variant(r->pools_spec, variant, sizeof variant);
    static const char *const bases[2] = {"pools", "pools-occupancy"};
    for (int pass = 0; pass < 2; pass++) {
        FILE *gp = figures_open(c, bases[pass], "gp");
        if (!gp) return -1;
        plot_begin(gp, bases[pass],
                   pass == 0 ? "pymalloc pools in use per size class at each trace's peak"
                             : "share of pool blocks in use per size class at each trace's peak",
                   w, h);
        char title[700];
        snprintf(title, sizeof title,
                 pass == 0 ? "%s: pools in use per size class at peak live bytes"
                           : "%s: share of the pools' blocks in use at peak live bytes",
                 variant);
        plot_title(gp, title, w);
        fprintf(gp,
                "\nset xlabel 'size class (block bytes)'\n"
                "set xrange [-0.5:%zu.5]\n"
                "set yrange [%zu.5:-0.5]\n"
                "set grid noytics\n"
                "unset key\n"
                "set tics scale 0\n"
                "set xtics rotate by 90 right (",
                ns - 1, nt - 1);
        for (size_t k = 0; k < ns; k++)
            fprintf(gp, "%s'%u' %zu", k ? ", " : "", sizes[k], k);
        fputs(")\nset ytics (", gp);
        row = 0;
        for (size_t t = 0; t < e->ntraces; t++) {
            if (!r->traces[t].has_pools) continue;
            fprintf(gp, "%s", row ? ", " : "");
            plot_string(gp, e->traces[t].name);
            fprintf(gp, " %zu", row++);
        }
        fputs(")\n", gp);
        if (pass == 0)
            fprintf(gp,
                    "set logscale cb\n"
                    "set cbrange [1:%" PRIu64 "]\n"
                    "set cblabel 'pools (log scale)'\n"
                    "set palette defined (0 '#fdd0a2', 0.5 '#f16913', 1 '#7f2704')\n",
                    maxpools < 2 ? 2 : maxpools);
        if (pass == 0) {
            figures_log_tics(gp, "cb", 1, (double)(maxpools < 2 ? 2 : maxpools));
            fputs("plot 'pools.dat' using 1:2:(0.5):(0.5):3 with boxxyerror fc palette "
                  "fs solid 1.0 noborder notitle\n",
                  gp);
        } else
            fputs("set cbrange [0:100]\n"
                  "set cblabel '% of blocks in use'\n"
                  "set palette defined (0 '#ffffcc', 0.5 '#41b6c4', 1 '#0c2c84')\n"
                  "plot 'pools.dat' using 1:2:(0.5):(0.5):4 with boxxyerror fc palette "
                  "fs solid 1.0 noborder notitle\n",
                  gp);
        plot_end(gp, bases[pass], w, h);
        if (figures_close(c, gp, bases[pass], "gp")) return -1;
        char rtitle[700], caption[1200];
        snprintf(rtitle, sizeof rtitle,
                 pass == 0 ? "pymalloc pools per size class at the peak: %s"
                           : "pymalloc pool occupancy at the peak: %s",
                 variant);
        snprintf(caption, sizeof caption,
                 pass == 0 ? "Pools in use per size class (column) and trace (row) at the moment "
                             "the trace's live bytes peak (colour, log scale; blank: none): the "
                             "size classes that hold pymalloc's arenas. Replayed through %s, the "
                             "experiment's first pymalloc configuration (a sweep's variants are "
                             "not shown)."
                           : "Share of the blocks of each size class's pools that are in use at "
                             "the peak: pale cells are pools mostly empty, memory pymalloc holds "
                             "but cannot give to other classes. Replayed through %s, the "
                             "experiment's first pymalloc configuration.",
                 variant);
        int rc = figures_render(c, bases[pass], FIGURES_OVERVIEW, 0, rtitle, caption);
        if (rc) return -1;
    }
    return 0;
}

/* ---- sweeps ----------------------------------------------------------------------------- */

static int figures_sweep(figures_ctx_t *c, size_t s)
{
    const results_t *r = c->r;
    const exp_t *e = r->exp;
    const exp_sweep_t *w = &e->sweeps[s];
    char base[64], gpbase[80];
    snprintf(base, sizeof base, "sweep-%zu", s + 1);
    /* A numeric axis is logarithmic (base 2: sizes usually double) when
     * every value is positive and they span a factor of 2 or more: every
     * size sweep alike (pool sizes as arena sizes). */
    double xmin = INFINITY, xmax = 0;
    for (size_t v = 0; v < w->nvalues; v++) {
        if (w->numeric && w->x[v] < xmin) xmin = w->x[v];
        if (w->numeric && w->x[v] > xmax) xmax = w->x[v];
    }
    int logx = w->numeric && xmin > 0 && xmax / xmin >= 2;
    uint64_t fpmax = 0, fpmin = UINT64_MAX;
    double nslo = INFINITY, nshi = 0;
    /* draw[pass * ntraces + t]: trace t has a line in that pass (events;
     * and a timed point for the speed pass). */
    unsigned char *draw = calloc(2 * w->ntraces + 1, 1);
    if (!draw) return figures_fail(c, "out of memory");
    FILE *d = figures_open(c, base, "dat");
    if (!d) {
        free(draw);
        return -1;
    }
    fprintf(d, "# one block per trace: x, peak resident bytes, ns/event median, its confidence "
               "interval (low high)\n");
    for (size_t t = 0; t < w->ntraces; t++) {
        int events = r->traces[w->traces[t]].events > 0;
        draw[t] = (unsigned char)events;
        fprintf(d, "# %s\n", e->traces[w->traces[t]].name);
        for (size_t v = 0; v < w->nvalues; v++) {
            const driver_run_t *run = &r->runs[w->points[t * w->nvalues + v]];
            const timing_summary_t *sm = &run->ns_per_event;
            int timed = events && run->repeat > 0 && sm->ci_low > 0 && isfinite(sm->ci_high);
            figures_sweep_row(d, w->numeric ? w->x[v] : (double)v, run, timed);
            if (events && run->m.peak_resident > fpmax) fpmax = run->m.peak_resident;
            if (events && run->m.peak_resident < fpmin) fpmin = run->m.peak_resident;
            if (timed) draw[w->ntraces + t] = 1;
            if (timed && sm->ci_low < nslo) nslo = sm->ci_low;
            if (timed && sm->ci_high > nshi) nshi = sm->ci_high;
        }
        fputs("\n\n", d);
    }
    if (figures_close(c, d, base, "dat")) {
        free(draw);
        return -1;
    }

    double scale;
    const char *unit = figures_unit(fpmax, &scale);
    int rc = 0;
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        const unsigned char *dr = draw + (size_t)pass * w->ntraces;
        size_t ndraw = 0, longest = 0, nempty = 0, at = 0;
        char empty[400] = "";
        for (size_t t = 0; t < w->ntraces; t++) {
            const char *name = e->traces[w->traces[t]].name;
            if (dr[t]) {
                ndraw++;
                if (strlen(name) > longest) longest = strlen(name);
            } else if (pass == 0 || draw[t]) { /* the speed pass notes only the untimed */
                figures_list_add(empty, sizeof empty, &at, &nempty, name);
            }
        }
        if (nempty > FIGURES_NOTE_NAMES && at < sizeof empty)
            snprintf(empty + at, sizeof empty - at, " and %zu more", nempty - FIGURES_NOTE_NAMES);
        if (ndraw == 0) {
            if (pass == 0)
                rc = figures_note(c, FIGURES_SWEEP, s,
                                  "No plots of this sweep: none of its traces has any event.");
            else
                rc = figures_note(c, FIGURES_SWEEP, s, "No speed plot: no timed runs%s.",
                                  w->repeat == 0 ? " (repeats 0)" : "");
            break;
        }
        if (nempty && pass == 0)
            rc = figures_note(c, FIGURES_SWEEP, s,
                              "Left out of this sweep's plots (no events): %s.", empty);
        else if (nempty)
            rc = figures_note(c, FIGURES_SWEEP, s, "Left out of the speed plot (no timed run): %s.",
                              empty);
        if (rc) break;
        snprintf(gpbase, sizeof gpbase, "%s-%s", base, pass == 0 ? "resident" : "speed");
        size_t rows;
        int pw, ph;
        size_t cols = figures_sweep_size(ndraw, longest, &pw, &ph, &rows);
        FILE *gp = figures_open(c, gpbase, "gp");
        if (!gp) {
            rc = -1;
            break;
        }
        char purpose[512], title[512];
        snprintf(purpose, sizeof purpose, "sweep '%s': %s against peak resident / ns per event",
                 w->title, w->param);
        plot_begin(gp, gpbase, purpose, pw, ph);
        snprintf(title, sizeof title, "%s: %s", w->title,
                 pass == 0 ? "peak resident" : "median ns per event (whiskers: its CI)");
        plot_title(gp, title, pw);
        snprintf(title, sizeof title, "%s (%s:%s=VALUE)", w->param, w->base, w->param);
        figures_xlabel(gp, title);
        if (w->numeric)
            figures_x_range(gp, logx, xmin, xmax, 0);
        else
            fprintf(gp, "set xrange [-0.3:%zu.3]\n", w->nvalues - 1);
        fputs("set xtics (", gp);
        for (size_t v = 0; v < w->nvalues; v++)
            figures_xtic(gp, v, w->values[v], w->numeric ? w->x[v] : (double)v);
        fputs(")\n", gp);
        figures_key_below(gp, rows, cols);
        figures_sweep_y(gp, pass, unit, pass == 0 ? (double)fpmin / scale : nslo,
                        pass == 0 ? (double)fpmax / scale : nshi);
        fputs("plot ", gp);
        for (size_t t = 0, k = 0; t < w->ntraces; t++) {
            if (!dr[t]) continue;
            figures_sweep_using(gp, k++, base, t, pass, scale);
            /* One colour per allocator: the swept one's, in its shades;
             * the traces differ by dash and marker. */
            static const unsigned shades[] = {0, 1, 3, 2}; /* the palest ones fade */
            char col[16];
            plot_colour(w->base, shades[t % 4], col, sizeof col);
            fprintf(gp, " lw 2 pt %zu ps 0.9 lc rgb '%s' dt %s title ", figures_marker(t), col,
                    plot_dash((unsigned)t * PLOT_SHADES));
            plot_string(gp, e->traces[w->traces[t]].name);
        }
        if (figures_plot_close(c, gp, gpbase, pw, ph)) {
            rc = -1;
            break;
        }
        char caption[600];
        if (pass == 0)
            snprintf(caption, sizeof caption,
                     "Peak resident memory of %s as %s varies, one line per trace: where a line "
                     "bottoms out is the setting that needs the least memory for that trace.",
                     w->base, w->param);
        else
            snprintf(caption, sizeof caption,
                     "Median ns per event of %s as %s varies, whiskers a confidence interval for "
                     "the median over %u timed runs: the price in speed of each setting.",
                     w->base, w->param, w->repeat);
        snprintf(title, sizeof title, "Sweep: %s (%s)", w->title, pass == 0 ? "resident" : "speed");
        rc = figures_render(c, gpbase, FIGURES_SWEEP, s, title, caption);
    }
    free(draw);
    return rc;
}

/* ---- workload sweeps ---------------------------------------------------------------------- */

/* The value of trace T's swept parameter, as declared. */
static const char *figures_swept_value(const exp_trace_t *t)
{
    for (size_t d = 0; d < t->ndefs; d++)
        if (!strcmp(t->defs[d].key, t->swept)) return t->defs[d].value;
    return ""; /* exp_is_valid: never */
}

/* The K-th workload sweep, the group of trace T0 (its first point): peak
 * resident bytes and ns/event against the swept parameter, a line per
 * grid allocator in its own colour.  Points with no events are left out
 * (a note says which). */
static int figures_wsweep(figures_ctx_t *c, size_t t0, size_t k)
{
    const results_t *r = c->r;
    const exp_t *e = r->exp;
    const exp_trace_t *g = &e->traces[t0];
    size_t *pt = malloc((e->ntraces + 1) * sizeof *pt);
    double *x = malloc((e->ntraces + 1) * sizeof *x);
    unsigned char *draw = calloc(2 * c->nalloc + 1, 1);
    size_t npt = 0, nempty = 0;
    int numeric = 1, rc = -1;
    char empty[400] = "", base[64], gpbase[80];
    size_t at = 0;
    FILE *d = NULL;
    if (!pt || !x || !draw) {
        figures_fail(c, "out of memory");
        goto done;
    }
    for (size_t t = t0; t < e->ntraces; t++) {
        if (!e->traces[t].group || strcmp(e->traces[t].group, g->group) != 0) continue;
        if (r->traces[t].events == 0) {
            figures_list_add(empty, sizeof empty, &at, &nempty, e->traces[t].name);
            continue;
        }
        if (exp_value_number(figures_swept_value(&e->traces[t]), &x[npt])) numeric = 0;
        pt[npt++] = t;
    }
    if (nempty && figures_note(c, FIGURES_OVERVIEW, 0,
                               "Left out of the plots of workload sweep '%s' (no events): %s.",
                               g->group, empty))
        goto done;
    if (npt == 0 || c->nalloc == 0) {
        rc = 0;
        goto done;
    }
    double xmin = INFINITY, xmax = -INFINITY;
    for (size_t i = 0; i < npt; i++) {
        if (!numeric) x[i] = (double)i;
        if (x[i] < xmin) xmin = x[i];
        if (x[i] > xmax) xmax = x[i];
    }
    int logx = numeric && xmin > 0 && xmax / xmin >= 4;
    snprintf(base, sizeof base, "wsweep-%zu", k + 1);
    if (!(d = figures_open(c, base, "dat"))) goto done;
    fprintf(d,
            "# workload sweep '%s' over %s; one block per allocator: x, peak resident bytes, "
            "ns/event median, its confidence interval (low high)\n",
            g->group, g->swept);
    uint64_t fpmax = 0, fpmin = UINT64_MAX;
    double nslo = INFINITY, nshi = 0;
    for (size_t a = 0; a < c->nalloc; a++) {
        fprintf(d, "# %s\n", e->allocs[c->alloc[a]].spec);
        for (size_t i = 0; i < npt; i++) {
            const driver_run_t *run = &r->runs[e->grid[pt[i] * e->nallocs + c->alloc[a]]];
            const timing_summary_t *sm = &run->ns_per_event;
            int timed = run->repeat > 0 && sm->ci_low > 0 && isfinite(sm->ci_high);
            figures_sweep_row(d, x[i], run, timed);
            draw[a] = 1;
            if (run->m.peak_resident > fpmax) fpmax = run->m.peak_resident;
            if (run->m.peak_resident < fpmin) fpmin = run->m.peak_resident;
            if (timed) draw[c->nalloc + a] = 1;
            if (timed && sm->ci_low < nslo) nslo = sm->ci_low;
            if (timed && sm->ci_high > nshi) nshi = sm->ci_high;
        }
        fputs("\n\n", d);
    }
    FILE *dd = d;
    d = NULL;
    if (figures_close(c, dd, base, "dat")) goto done;
    double scale;
    const char *unit = figures_unit(fpmax, &scale);
    rc = 0;
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        const unsigned char *dr = draw + (size_t)pass * c->nalloc;
        size_t ndraw = 0;
        for (size_t a = 0; a < c->nalloc; a++)
            ndraw += dr[a];
        if (ndraw == 0) {
            rc = figures_note(c, FIGURES_OVERVIEW, 0,
                              "No speed plot of workload sweep '%s': no timed runs.", g->group);
            break;
        }
        snprintf(gpbase, sizeof gpbase, "%s-%s", base, pass == 0 ? "resident" : "speed");
        size_t rows;
        int pw, ph;
        size_t cols = figures_sweep_size(ndraw, figures_longest(c, dr, 0), &pw, &ph, &rows);
        FILE *gp = figures_open(c, gpbase, "gp");
        if (!gp) {
            rc = -1;
            break;
        }
        char purpose[512], title[512];
        snprintf(purpose, sizeof purpose,
                 "workload sweep '%s': %s against peak resident / ns per event", g->group,
                 g->swept);
        plot_begin(gp, gpbase, purpose, pw, ph);
        snprintf(title, sizeof title, "%s over %s: %s", g->group, g->swept,
                 pass == 0 ? "peak resident" : "median ns per event (whiskers: its CI)");
        plot_title(gp, title, pw);
        snprintf(title, sizeof title, "%s (workload parameter -D %s=VALUE)", g->swept, g->swept);
        figures_xlabel(gp, title);
        figures_x_range(gp, logx, xmin, xmax, 1);
        fputs("set xtics (", gp);
        for (size_t i = 0; i < npt; i++)
            figures_xtic(gp, i, figures_swept_value(&e->traces[pt[i]]), x[i]);
        fputs(")\n", gp);
        figures_key_below(gp, rows, cols);
        figures_sweep_y(gp, pass, unit, pass == 0 ? (double)fpmin / scale : nslo,
                        pass == 0 ? (double)fpmax / scale : nshi);
        fputs("plot ", gp);
        for (size_t a = 0, n = 0; a < c->nalloc; a++) {
            if (!dr[a]) continue;
            figures_sweep_using(gp, n++, base, a, pass, scale);
            figures_alloc_line(c, gp, a);
        }
        if (figures_plot_close(c, gp, gpbase, pw, ph)) {
            rc = -1;
            break;
        }
        char caption[600];
        if (pass == 0)
            snprintf(caption, sizeof caption,
                     "Peak resident memory of each allocator replaying the workload '%s' "
                     "generated with each value of %s, one line per allocator: how each "
                     "allocator's footprint grows with the workload.",
                     g->group, g->swept);
        else
            snprintf(caption, sizeof caption,
                     "Median ns per event of each allocator on the workload '%s' as %s "
                     "varies, whiskers a confidence interval for the median: how each "
                     "allocator's speed scales with the workload.",
                     g->group, g->swept);
        snprintf(title, sizeof title, "Workload sweep: %s over %s (%s)", g->group, g->swept,
                 pass == 0 ? "resident" : "speed");
        rc = figures_render(c, gpbase, FIGURES_OVERVIEW, 0, title, caption);
    }
done:
    if (d) fclose(d);
    free(pt);
    free(x);
    free(draw);
    return rc;
}

/* Every workload sweep's plots, in declaration order. */
static int figures_wsweeps(figures_ctx_t *c)
{
    const exp_t *e = c->r->exp;
    size_t k = 0;
    for (size_t t = 0; t < e->ntraces; t++) {
        if (!e->traces[t].group) continue;
        size_t first = 0;
        while (first < t &&
               (!e->traces[first].group || strcmp(e->traces[first].group, e->traces[t].group) != 0))
            first++;
        if (first == t && figures_wsweep(c, t, k++)) return -1;
    }
    return 0;
}

/* ---- per trace: footprint over time, request sizes -------------------------------------- */

static int figures_footprint(figures_ctx_t *c, size_t t)
{
    const results_t *r = c->r;
    const exp_t *e = r->exp;
    const char *name = e->traces[t].name;
    size_t na = c->nalloc;
    if (na == 0) return 0;
    char base[200];
    snprintf(base, sizeof base, "resident-%s", name);
    uint64_t *peak = calloc(na, sizeof *peak);
    if (!peak) return figures_fail(c, "out of memory");
    int rc = -1;
    FILE *d = figures_open(c, base, "dat");
    if (!d) goto done;
    uint64_t max = 0, maxlive = 0, lastevent = 0;
    size_t nonempty = 0, live = 0; /* live: the block that draws live bytes */
    fputs("# one block per allocator (script order): event, live bytes, resident bytes\n", d);
    for (size_t k = 0; k < na; k++) {
        const metrics_series_t *ser = &r->runs[e->grid[t * e->nallocs + c->alloc[k]]].series;
        fprintf(d, "# %s\n", e->allocs[c->alloc[k]].spec);
        for (size_t i = 0; i < ser->n; i++) {
            fprintf(d, "%" PRIu64 " %" PRIu64 " %" PRIu64 "\n", ser->s[i].event,
                    ser->s[i].live_bytes, ser->s[i].resident);
            if (ser->s[i].resident > peak[k]) peak[k] = ser->s[i].resident;
            if (ser->s[i].live_bytes > maxlive) maxlive = ser->s[i].live_bytes;
            if (ser->s[i].event > lastevent) lastevent = ser->s[i].event;
        }
        if (peak[k] > max) max = peak[k];
        if (ser->n > 0 && nonempty++ == 0) live = k;
        /* gnuplot reads a block with no point as an error: keep one. */
        if (ser->n == 0) fputs("0 0 0\n", d);
        fputs("\n\n", d);
    }
    if (figures_close(c, d, base, "dat")) goto done;
    if (nonempty == 0) {
        rc = figures_note(c, FIGURES_TRACE, t,
                          "No plot of resident memory over time: no run took a sample.");
        goto done;
    }

    /* A log axis when some allocator towers over live bytes; say who. */
    int logy = maxlive > 0 && (double)max > (double)maxlive * FIGURES_FP_LOG;
    uint64_t top = max > maxlive ? max : maxlive;
    double scale;
    const char *unit = figures_unit(top, &scale);
    double ylo = 0, yhi = (double)top * 1.3 / scale;
    char tower[300] = "";
    if (logy) {
        uint64_t minpos = top;
        size_t highest = 0;
        for (size_t k = 0; k < na; k++) {
            const metrics_series_t *ser = &r->runs[e->grid[t * e->nallocs + c->alloc[k]]].series;
            for (size_t i = 0; i < ser->n; i++) {
                if (ser->s[i].resident && ser->s[i].resident < minpos) minpos = ser->s[i].resident;
                if (ser->s[i].live_bytes && ser->s[i].live_bytes < minpos)
                    minpos = ser->s[i].live_bytes;
            }
            if (peak[k] > peak[highest]) highest = k;
        }
        double floor = (double)top / FIGURES_FP_DEPTH;
        ylo = ((double)minpos > floor ? (double)minpos : floor) / 1.3 / scale;
        char b[32];
        snprintf(tower, sizeof tower,
                 " The y axis is logarithmic: %s peaks at %s, %.0fx the peak "
                 "live bytes%s.",
                 e->allocs[c->alloc[highest]].spec, output_bytes(peak[highest], b, sizeof b),
                 (double)peak[highest] / (double)maxlive,
                 (double)minpos * 1.3 < floor ? "; samples below the axis are drawn at its bottom"
                                              : "");
    }
    char title[1024];
    /* The key: above the plot while it is short, else under the x label in
     * a margin as tall as its rows, across the plot's width. */
    int w = FIGURES_TRACE_W;
    size_t rows, cols = figures_key(na + 1, figures_longest(c, NULL, 21), 9, &w, &rows);
    if (rows > FIGURES_KEY_ROWS) {
        int inner = w - FIGURES_KEY_MARGIN;
        cols = figures_key(na + 1, figures_longest(c, NULL, 21), 9, &inner, &rows);
        if (inner + FIGURES_KEY_MARGIN > w) w = inner + FIGURES_KEY_MARGIN;
    }
    int h = FIGURES_TRACE_H + figures_key_grow(rows, FIGURES_KEY_ROWS);
    FILE *gp = figures_open(c, base, "gp");
    if (!gp) goto done;
    plot_begin(gp, base, "resident memory and live bytes over time, one line per allocator", w, h);
    snprintf(title, sizeof title, "%s: resident memory over time%s", name,
             logy ? " (log scale)" : "");
    plot_title(gp, title, w);
    fprintf(gp,
            "\nset xlabel 'events replayed'\n"
            "set ylabel '%s%s'\n",
            unit, logy ? " (log scale)" : "");
    /* [0:*] over nothing but zeros is an empty range gnuplot warns of. */
    if (logy) {
        fprintf(gp, "set logscale y\nset yrange [%.6g:%.6g]\n", ylo, yhi);
        figures_log_tics(gp, "y", ylo, yhi);
    } else {
        fputs(top > 0 ? "set yrange [0:*]\n" : "set yrange [0:1]\n", gp);
    }
    fprintf(gp, "set xrange [0:%" PRIu64 "]\n", lastevent ? lastevent : 1);
    if (rows > FIGURES_KEY_ROWS)
        fprintf(gp,
                "set bmargin %.1f\n"
                "set key at screen 0.5, screen 0.01 center bottom horizontal maxcols %zu "
                "samplen 1 width -1 font ',9'\n",
                4.5 + (double)rows, cols);
    else
        fprintf(gp,
                "set key outside top center horizontal maxcols %zu samplen 1 width -1 font "
                "',9'\n",
                cols);
    figures_count_tics(gp, "x", (double)(lastevent ? lastevent : 1), 8);
    /* On a log axis, a sample below its bottom is drawn at the bottom. */
    char yres[96], ylive[96];
    if (logy) {
        snprintf(yres, sizeof yres, "($3/%.0f > %.6g ? $3/%.0f : %.6g)", scale, ylo, scale, ylo);
        snprintf(ylive, sizeof ylive, "($2/%.0f > %.6g ? $2/%.0f : %.6g)", scale, ylo, scale, ylo);
    } else {
        snprintf(yres, sizeof yres, "($3/%.0f)", scale);
        snprintf(ylive, sizeof ylive, "($2/%.0f)", scale);
    }
    fputs("plot ", gp);
    for (size_t k = 0; k < na; k++) {
        char look[80];
        fprintf(gp, "%s'%s.dat' index %zu using 1:%s with steps lw 2%s title ",
                k ? ", \\\n     " : "", base, k, yres,
                figures_look(c, c->alloc[k], 0, look, sizeof look));
        plot_string(gp, e->allocs[c->alloc[k]].spec);
    }
    fprintf(gp,
            ", \\\n     '%s.dat' index %zu using 1:%s with steps ls 100 title 'live bytes "
            "(requested)'\n",
            base, live, ylive);
    plot_end(gp, base, w, h);
    if (figures_close(c, gp, base, "gp")) goto done;
    char caption[1000];
    snprintf(caption, sizeof caption,
             "Resident memory under each allocator: the worker's anonymous resident memory "
             "above its baseline, the figure whose highest point is peak resident (a line each, "
             "sampled about %llu times), against the bytes the program had live (black, "
             "dashed): the gap between a line and the dashed curve is that allocator's overhead "
             "at that moment.%s",
             (unsigned long long)e->samples, tower);
    snprintf(title, sizeof title, "%s: resident memory over time", name);
    rc = figures_render(c, base, FIGURES_TRACE, t, title, caption);
done:
    free(peak);
    return rc;
}

static int figures_sizes(figures_ctx_t *c, size_t t)
{
    const results_t *r = c->r;
    const exp_t *e = r->exp;
    const results_trace_t *rt = &r->traces[t];
    const char *name = e->traces[t].name;
    if (rt->requests == 0)
        return figures_note(c, FIGURES_TRACE, t,
                            "No plot of request sizes: the trace requests no memory.");
    int first = -1, last = -1;
    for (int k = 0; k < TSTATS_BINS; k++)
        if (rt->size_hist[k]) {
            if (first < 0) first = k;
            last = k;
        }
    char base[200];
    snprintf(base, sizeof base, "sizes-%s", name);
    FILE *d = figures_open(c, base, "dat");
    if (!d) return -1;
    fputs("# size bin (bytes), % of requests, requests\n", d);
    for (int k = first; k <= last; k++) {
        char lo[32], hi[32];
        if (k == 0) {
            fprintf(d, "0");
        } else {
            uint64_t a = tstats_bin_min(k), b = k == 64 ? UINT64_MAX : tstats_bin_min(k + 1) - 1;
            figures_size_label(a, lo, sizeof lo);
            figures_size_label(b + 1, hi, sizeof hi);
            if (a == b)
                fprintf(d, "%s", lo);
            else
                fprintf(d, "%s-%s", lo, hi);
        }
        figures_num(d, 100.0 * (double)rt->size_hist[k] / (double)rt->requests);
        fprintf(d, " %" PRIu64 "\n", rt->size_hist[k]);
    }
    if (figures_close(c, d, base, "dat")) return -1;
    FILE *gp = figures_open(c, base, "gp");
    if (!gp) return -1;
    char title[512];
    plot_begin(gp, base, "request sizes in power-of-two bins", FIGURES_TRACE_W, FIGURES_TRACE_H);
    snprintf(title, sizeof title, "%s: request sizes (%" PRIu64 " requests)", name, rt->requests);
    plot_title(gp, title, FIGURES_TRACE_W);
    fprintf(gp,
            "set xlabel 'request size, bytes (bin a-b: a <= size < b)'\n"
            "set ylabel '%% of requests'\n"
            "set yrange [0:*]\n"
            "set style data histograms\n"
            "set style histogram clustered gap 1\n"
            "set boxwidth 0.85 relative\n"
            "set xtics rotate by 45 right scale 0\n"
            "set xrange [-0.6:%d.6]\n"
            "unset key\n"
            "plot '%s.dat' using 2:xtic(1) notitle lc rgb '#4e79a7'\n",
            last - first, base);
    plot_end(gp, base, FIGURES_TRACE_W, FIGURES_TRACE_H);
    if (figures_close(c, gp, base, "gp")) return -1;
    char caption[600];
    snprintf(caption, sizeof caption,
             "Share of the allocation requests (a, c, r, m events) by size, in power-of-two "
             "bins: the size classes the allocators had to serve.");
    snprintf(title, sizeof title, "%s: request sizes", name);
    return figures_render(c, base, FIGURES_TRACE, t, title, caption);
}

/* ---- per trace: latency of the allocator calls (CCDF) ------------------------------------ */

static int figures_latency(figures_ctx_t *c, size_t t)
{
    const results_t *r = c->r;
    const exp_t *e = r->exp;
    const char *name = e->traces[t].name;
    size_t na = c->nalloc;
    if (na == 0) return 0;
    size_t have = 0;
    for (size_t k = 0; k < na; k++)
        have += r->runs[e->grid[t * e->nallocs + c->alloc[k]]].lat != NULL;
    if (!have) return 0;
    lat_hist_t *all = malloc(sizeof *all);
    unsigned char *untimed = calloc(na, 1); /* no call timed: no line */
    if (!all || !untimed) {
        free(all);
        free(untimed);
        return figures_fail(c, "out of memory");
    }
    char base[200];
    snprintf(base, sizeof base, "latency-%s", name);
    FILE *d = figures_open(c, base, "dat");
    if (!d) {
        free(all);
        free(untimed);
        return -1;
    }
    fputs("# one block per allocator (script order): latency ns (bucket's highest value), "
          "share of calls slower than that\n",
          d);
    double xmax = 1, ymin = 1, overhead = NAN, resolution = NAN;
    const char *clock = "?";
    for (size_t k = 0; k < na; k++) {
        const driver_run_t *run = &r->runs[e->grid[t * e->nallocs + c->alloc[k]]];
        fprintf(d, "# %s\n", e->allocs[c->alloc[k]].spec);
        int points = 0;
        if (run->lat) {
            lat_table_all(run->lat, all);
            double n = (double)all->count, tpn = run->clock.ticks_per_ns;
            uint64_t above = all->count;
            for (unsigned i = 0; i < LAT_NBUCKETS && above; i++) {
                if (!all->bucket[i]) continue;
                above -= all->bucket[i];
                uint64_t hi = lat_bucket_high(i);
                double x = (double)(hi < all->max ? hi : all->max) / tpn;
                /* a log axis has no 0: the fastest calls at the resolution */
                if (x < run->clock.resolution_ns) x = run->clock.resolution_ns;
                /* the last point (no call slower) at 1/N, below every other */
                double y = above ? (double)above / n : 1 / n;
                fprintf(d, "%.6g %.6g\n", x, y);
                points++;
                if (x > xmax) xmax = x;
                if (y < ymin) ymin = y;
            }
            overhead = run->clock.overhead_ns;
            resolution = run->clock.resolution_ns;
            clock = lat_clock_name[run->clock.kind];
        }
        if (!points) fputs("NaN NaN\n", d);
        untimed[k] = !points;
        fputs("\n\n", d);
    }
    free(all);
    /* gnuplot warns of a block with no point: such allocators are left
     * out (and said so), and with none left there is no plot. */
    char list[400];
    size_t nuntimed = figures_names(c, untimed, list, sizeof list);
    int rc = figures_close(c, d, base, "dat");
    if (rc == 0 && nuntimed == na)
        rc = figures_note(c, FIGURES_TRACE, t,
                          "No latency plot: no allocator call was timed on this trace.");
    else if (rc == 0 && nuntimed)
        rc = figures_note(c, FIGURES_TRACE, t, "Latency: left out of the plot (no call timed): %s.",
                          list);
    if (rc || nuntimed == na) {
        char path[4096]; /* a data file no script reads is not left behind */
        snprintf(path, sizeof path, "%s/%s.dat", c->dir, base);
        if (nuntimed == na) remove(path);
        free(untimed);
        return rc;
    }
    FILE *gp = figures_open(c, base, "gp");
    if (!gp) {
        free(untimed);
        return -1;
    }
    plot_begin(gp, base, "latency of the allocator calls: share slower than x, log-log",
               FIGURES_TRACE_W, FIGURES_TRACE_H);
    char title[512];
    snprintf(title, sizeof title, "%s: latency of allocator calls (CCDF)", name);
    plot_title(gp, title, FIGURES_TRACE_W);
    double xlo = isfinite(resolution) && resolution > 0 ? resolution / 1.5 : 0.5;
    fprintf(gp,
            "set xlabel 'latency per call, ns (log scale)'\n"
            "set ylabel 'share of calls slower (log scale)'\n"
            "set logscale xy\n"
            "set xrange [%.6g:%.6g]\n"
            "set yrange [%.6g:1.5]\n"
            "set key outside top center horizontal maxcols 4 samplen 1 width -1 font ',9'\n",
            xlo, xmax * 1.5, ymin / 2);
    /* Tics at the powers of ten, read as a share (100% ... 0.01%; a tic
     * label is a format, hence "%%") and a duration (10, 1k, 1M ns),
     * rather than gnuplot's 1e-04 and 1e+06. */
    fputs("set ytics (", gp);
    for (int k = 0, n = 0; pow(10, k) >= ymin / 2; k--) {
        double pct = 100 * pow(10, k);
        fprintf(gp, pct >= 1e-4 ? "%s'%.6g%%%%' %.17g" : "%s'%.0e%%%%' %.17g", n++ ? ", " : "", pct,
                pow(10, k));
    }
    fputs(")\nset xtics (", gp);
    for (int k = (int)floor(log10(xlo)), n = 0; pow(10, k) <= xmax * 1.5; k++) {
        char label[32];
        if (pow(10, k) < xlo) continue;
        figures_count_label(pow(10, k), label, sizeof label);
        fprintf(gp, "%s'%s' %.17g", n++ ? ", " : "", label, pow(10, k));
    }
    fputs(")\nplot ", gp);
    for (size_t k = 0, n = 0; k < na; k++) {
        if (untimed[k]) continue;
        char look[80];
        const char *spec = e->allocs[c->alloc[k]].spec;
        fprintf(gp, "%s'%s.dat' index %zu using 1:2 with steps lw 2%s title ",
                n++ ? ", \\\n     " : "", base, k,
                figures_look(c, c->alloc[k], 0, look, sizeof look));
        plot_string(gp, spec);
    }
    free(untimed);
    if (figures_plot_close(c, gp, base, FIGURES_TRACE_W, FIGURES_TRACE_H)) return -1;
    char caption[600];
    snprintf(caption, sizeof caption,
             "Share of all allocator calls of the timed runs (malloc, calloc, realloc, free, "
             "arena calls) that took longer than x, one line per allocator: the right end is "
             "the slowest call; a line further right at the bottom has worse tails. Clock: %s, "
             "its overhead (%.1f ns) subtracted, resolution %.2f ns.",
             clock, overhead, resolution);
    snprintf(title, sizeof title, "%s: latency of allocator calls", name);
    return figures_render(c, base, FIGURES_TRACE, t, title, caption);
}

int figures_make(const results_t *r, const char *dir, figures_t *out, char *err, size_t errlen)
{
    const exp_t *e = r->exp;
    memset(out, 0, sizeof *out);
    figures_ctx_t c = {r, dir, out, NULL, 0, NULL, 0, err, errlen};
    c.alloc = malloc((e->nallocs + 1) * sizeof *c.alloc);
    c.trace = malloc((e->ntraces + 1) * sizeof *c.trace);
    int rc = -1;
    if (!c.alloc || !c.trace) {
        figures_fail(&c, "out of memory");
        goto done;
    }
    for (size_t a = 0; a < e->nallocs; a++)
        if (!e->allocs[a].skip) c.alloc[c.nalloc++] = a;
    for (size_t t = 0; t < e->ntraces; t++)
        if (r->traces[t].events > 0) c.trace[c.ntrace++] = t;
    FILE *st = figures_open(&c, "style", "gp");
    if (!st) goto done;
    plot_style(st);
    if (figures_close(&c, st, "style", "gp")) goto done;
    if (c.ntrace < e->ntraces) {
        char list[400] = "";
        size_t at = 0, n = 0;
        for (size_t t = 0; t < e->ntraces; t++)
            if (r->traces[t].events == 0 && n++ < FIGURES_NOTE_NAMES && at < sizeof list)
                at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", n > 1 ? ", " : "",
                                       e->traces[t].name);
        if (n > FIGURES_NOTE_NAMES && at < sizeof list)
            snprintf(list + at, sizeof list - at, " and %zu more", n - FIGURES_NOTE_NAMES);
        if (figures_note(&c, FIGURES_OVERVIEW, 0,
                         "Left out of these plots (no events, no plots of their own): %s.", list))
            goto done;
    }
    if (figures_frag(&c) || figures_speed(&c) || figures_scaling(&c) || figures_costs(&c) ||
        figures_pools(&c))
        goto done;
    for (size_t s = 0; s < e->nsweeps; s++)
        if (figures_sweep(&c, s)) goto done;
    if (figures_wsweeps(&c)) goto done;
    for (size_t t = 0; t < e->ntraces; t++) {
        if (r->traces[t].events == 0) {
            if (figures_note(&c, FIGURES_TRACE, t, "No events: nothing to plot.")) goto done;
            continue;
        }
        if (figures_footprint(&c, t) || figures_latency(&c, t) || figures_sizes(&c, t)) goto done;
    }
    rc = 0;
done:
    free(c.alloc);
    free(c.trace);
    return rc;
}

void figures_free(figures_t *f)
{
    free(f->f);
    free(f->note);
    memset(f, 0, sizeof *f);
}
