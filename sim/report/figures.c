/* figures.c: a report's gnuplot scripts, their data, and their rendering
 * (see figures.h).  Every script loads style.gp and names its own data
 * file, so a user restyles one plot by editing its .gp and running gnuplot
 * in plots/, or all of them through style.gp. */
#include "sim/report/figures.h"
#include "sim/report/plot.h"

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
/* Footprint plots cut the y axis at this multiple of peak live bytes, so
 * one allocator that holds far more does not flatten the others. */
#define FIGURES_FP_CUT 4

typedef struct {
    const results_t *r;
    const char *dir;
    figures_t *out;
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

/* The grid allocators that run (not skipped), as indices into allocs. */
static size_t figures_allocs(const exp_t *e, size_t *idx)
{
    size_t n = 0;
    for (size_t a = 0; a < e->nallocs; a++)
        if (!e->allocs[a].skip) idx[n++] = a;
    return n;
}

static int figures_overview_width(size_t ntraces, size_t nallocs)
{
    size_t w = 160 + ntraces * (nallocs * 12 + 20);
    if (w < FIGURES_MIN_W) w = FIGURES_MIN_W;
    if (w > FIGURES_MAX_W) w = FIGURES_MAX_W;
    return (int)w;
}

/* The shared setup of a clustered bar chart over the traces. */
static void figures_bars_setup(FILE *gp, size_t ntraces)
{
    fprintf(gp,
            "set style data histograms\n"
            "set style histogram clustered gap 1\n"
            "set boxwidth 0.9 relative\n"
            "set xtics rotate by 35 right scale 0\n"
            "set xrange [-0.6:%zu.4]\n"
            "set key outside top center horizontal\n",
            ntraces ? ntraces - 1 : 0);
}

/* ---- fragmentation: util and J&W #4 bars ------------------------------------------ */

static int figures_frag(figures_ctx_t *c)
{
    const results_t *r = c->r;
    const exp_t *e = r->exp;
    size_t idx[64 + 1], na = figures_allocs(e, idx);
    if (na == 0 || na > 64) return 0;
    FILE *d = figures_open(c, "frag", "dat");
    if (!d) return -1;
    fputs("# trace, then util per allocator, then J&W #4 per allocator (columns as in the "
          "scripts)\n",
          d);
    double lo = INFINITY, hi = 0, umax = 1;
    for (size_t t = 0; t < e->ntraces; t++) {
        fprintf(d, "%s", e->traces[t].name);
        for (int pass = 0; pass < 2; pass++)
            for (size_t k = 0; k < na; k++) {
                const driver_run_t *run = &r->runs[e->grid[t * e->nallocs + idx[k]]];
                double v = pass == 0 ? run->m.frag.util : run->m.frag.jw4;
                figures_num(d, v);
                if (pass == 0 && isfinite(v) && v > umax) umax = v;
                if (pass == 1 && v > 0 && isfinite(v)) {
                    if (v < lo) lo = v;
                    if (v > hi) hi = v;
                }
            }
        fputc('\n', d);
    }
    if (figures_close(c, d, "frag", "dat")) return -1;

    int w = figures_overview_width(e->ntraces, na);
    static const char *const bases[2] = {"frag-util", "frag-jw4"};
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && !(hi > 0)) continue; /* no positive J&W #4 to draw */
        FILE *gp = figures_open(c, bases[pass], "gp");
        if (!gp) return -1;
        plot_begin(gp, bases[pass],
                   pass == 0 ? "utilization (peak live / peak resident) per trace and allocator"
                             : "J&W fragmentation #4 (peak resident / peak live - 1)",
                   w, 460);
        figures_bars_setup(gp, e->ntraces);
        /* Utilization tops 1 only when an allocator's footprint is an
         * estimate below what is live (RSS-based ones): keep it visible. */
        if (pass == 0)
            fprintf(gp,
                    "set title 'Utilization: peak live bytes / peak resident (higher is better)'\n"
                    "set ylabel 'utilization'\n"
                    "set yrange [0:%.3f]\n"
                    "set ytics 0.2\n",
                    umax * 1.05);
        else
            fprintf(gp,
                    "set title 'Fragmentation J&W #4: peak resident / peak live - 1 "
                    "(lower is better)'\n"
                    "set ylabel 'J&W #4 (log scale)'\n"
                    "set logscale y\n"
                    "set yrange [%.6g:%.6g]\n",
                    lo / 2, hi * 2);
        if (pass == 1) figures_log_tics(gp, "y", lo / 2, hi * 2);
        fputs("plot ", gp);
        for (size_t k = 0; k < na; k++) {
            char col[16];
            const char *spec = e->allocs[idx[k]].spec;
            fprintf(gp, "%s'frag.dat' using %zu%s title ", k ? ", \\\n     " : "",
                    2 + (size_t)pass * na + k, k == 0 ? ":xtic(1)" : "");
            plot_string(gp, spec);
            fprintf(gp, " lc rgb '%s'", results_colour(r, spec, col, sizeof col));
        }
        fputc('\n', gp);
        plot_end(gp, bases[pass], w, 460);
        if (figures_close(c, gp, bases[pass], "gp")) return -1;
        int rc =
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
                                 "needed twice the memory the program ever had live.");
        if (rc) return -1;
    }
    return 0;
}

/* ---- throughput: median ns/event with its confidence interval -------------------- */

static int figures_throughput(figures_ctx_t *c)
{
    const results_t *r = c->r;
    const exp_t *e = r->exp;
    size_t idx[64 + 1], na = figures_allocs(e, idx);
    if (na == 0 || na > 64 || e->repeat == 0) return 0;
    FILE *d = figures_open(c, "throughput", "dat");
    if (!d) return -1;
    fputs("# trace, then per allocator: median, confidence interval of the median (low high) "
          "of the ns/event of the timed runs\n",
          d);
    double lo = INFINITY, hi = 0;
    for (size_t t = 0; t < e->ntraces; t++) {
        fprintf(d, "%s", e->traces[t].name);
        for (size_t k = 0; k < na; k++) {
            const driver_run_t *run = &r->runs[e->grid[t * e->nallocs + idx[k]]];
            const timing_summary_t *s = &run->ns_per_event;
            int ok = run->repeat > 0 && s->ci_low > 0 && isfinite(s->ci_high);
            figures_num(d, ok ? s->median : NAN);
            figures_num(d, ok ? s->ci_low : NAN);
            figures_num(d, ok ? s->ci_high : NAN);
            if (ok && s->ci_low < lo) lo = s->ci_low;
            if (ok && s->ci_high > hi) hi = s->ci_high;
        }
        fputc('\n', d);
    }
    if (figures_close(c, d, "throughput", "dat")) return -1;
    if (!(hi > 0)) return 0;

    int w = figures_overview_width(e->ntraces, na);
    FILE *gp = figures_open(c, "throughput", "gp");
    if (!gp) return -1;
    plot_begin(gp, "throughput", "replay speed per trace and allocator", w, 460);
    figures_bars_setup(gp, e->ntraces);
    fprintf(gp,
            "set style histogram errorbars gap 1 lw 1\n"
            "set title 'Replay speed: median ns per event, whiskers its confidence interval over "
            "%u timed runs (lower is faster)'\n"
            "set ylabel 'ns per event (log scale)'\n"
            "set logscale y\n"
            "set yrange [%.6g:%.6g]\n",
            e->repeat, lo / 1.5, hi * 1.5);
    figures_log_tics(gp, "y", lo / 1.5, hi * 1.5);
    fputs("plot ", gp);
    for (size_t k = 0; k < na; k++) {
        char col[16];
        const char *spec = e->allocs[idx[k]].spec;
        fprintf(gp, "%s'throughput.dat' using %zu:%zu:%zu%s title ", k ? ", \\\n     " : "",
                2 + 3 * k, 3 + 3 * k, 4 + 3 * k, k == 0 ? ":xtic(1)" : "");
        plot_string(gp, spec);
        fprintf(gp, " lc rgb '%s'", results_colour(r, spec, col, sizeof col));
    }
    fputc('\n', gp);
    plot_end(gp, "throughput", w, 460);
    if (figures_close(c, gp, "throughput", "gp")) return -1;
    char caption[600];
    snprintf(caption, sizeof caption,
             "Median nanoseconds per replayed event over %u interleaved timed runs (log scale), "
             "whiskers a confidence interval for the median (order statistics; 96.9 %% with 6 "
             "runs, 93.8 %% with 5): shorter is faster. Whether two bars differ is the "
             "headline's Mann-Whitney test, not whether whiskers overlap.",
             e->repeat);
    return figures_render(c, "throughput", FIGURES_OVERVIEW, 0,
                          "Replay speed per trace and allocator", caption);
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
    size_t idx[64 + 1], na = figures_allocs(e, idx);
    if (na == 0 || na > 64) return 0;
    for (size_t f = 0; f < sizeof figures_counts / sizeof figures_counts[0]; f++) {
        const char *base = figures_counts[f].base;
        double hi = 0;
        for (size_t t = 0; t < e->ntraces; t++)
            for (size_t k = 0; k < na; k++) {
                double v = figures_count_of(&r->runs[e->grid[t * e->nallocs + idx[k]]],
                                            figures_counts[f].offset);
                if (isfinite(v) && v > hi) hi = v;
            }
        if (!(hi > 0)) continue; /* nothing counted */
        FILE *d = figures_open(c, base, "dat");
        if (!d) return -1;
        fprintf(d, "# trace, then %s per allocator\n", figures_counts[f].ylabel);
        for (size_t t = 0; t < e->ntraces; t++) {
            fprintf(d, "%s", e->traces[t].name);
            for (size_t k = 0; k < na; k++)
                figures_num(d, figures_count_of(&r->runs[e->grid[t * e->nallocs + idx[k]]],
                                                figures_counts[f].offset));
            fputc('\n', d);
        }
        if (figures_close(c, d, base, "dat")) return -1;
        int w = figures_overview_width(e->ntraces, na);
        FILE *gp = figures_open(c, base, "gp");
        if (!gp) return -1;
        plot_begin(gp, base, figures_counts[f].title, w, 460);
        figures_bars_setup(gp, e->ntraces);
        fputs("set title ", gp);
        plot_string(gp, figures_counts[f].title);
        fputs("\nset ylabel ", gp);
        plot_string(gp, figures_counts[f].ylabel);
        fprintf(gp, "\nset yrange [0:%.6g]\nplot ", hi * 1.08);
        for (size_t k = 0; k < na; k++) {
            char col[16];
            const char *spec = e->allocs[idx[k]].spec;
            fprintf(gp, "%s'%s.dat' using %zu%s title ", k ? ", \\\n     " : "", base, 2 + k,
                    k == 0 ? ":xtic(1)" : "");
            plot_string(gp, spec);
            fprintf(gp, " lc rgb '%s'", results_colour(r, spec, col, sizeof col));
        }
        fputc('\n', gp);
        plot_end(gp, base, w, 460);
        if (figures_close(c, gp, base, "gp")) return -1;
        if (figures_render(c, base, FIGURES_OVERVIEW, 0, figures_counts[f].title,
                           figures_counts[f].caption))
            return -1;
    }
    return 0;
}

/* ---- pymalloc pools per size class at the peak --------------------------------------- */

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
    static const char *const bases[2] = {"pools", "pools-occupancy"};
    for (int pass = 0; pass < 2; pass++) {
        FILE *gp = figures_open(c, bases[pass], "gp");
        if (!gp) return -1;
        plot_begin(gp, bases[pass],
                   pass == 0 ? "pymalloc pools in use per size class at each trace's peak"
                             : "share of pool blocks in use per size class at each trace's peak",
                   w, h);
        fputs("set title ", gp);
        char title[256];
        snprintf(title, sizeof title,
                 pass == 0 ? "%s: pools in use per size class at peak live bytes"
                           : "%s: share of the pools' blocks in use at peak live bytes",
                 r->pools_spec);
        plot_string(gp, title);
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
        int rc = pass == 0
                     ? figures_render(c, bases[0], FIGURES_OVERVIEW, 0,
                                      "pymalloc pools per size class at the peak",
                                      "Pools in use per size class (column) and trace (row) at "
                                      "the moment the trace's live bytes peak (colour, log "
                                      "scale; blank: none): the size classes that hold "
                                      "pymalloc's arenas.")
                     : figures_render(c, bases[1], FIGURES_OVERVIEW, 0,
                                      "pymalloc pool occupancy at the peak",
                                      "Share of the blocks of each size class's pools that are "
                                      "in use at the peak: pale cells are pools mostly empty, "
                                      "memory pymalloc holds but cannot give to other classes.");
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
    /* A numeric axis is logarithmic when every value is positive and they
     * span a factor of 4 or more (sizes usually double). */
    double xmin = INFINITY, xmax = 0;
    for (size_t v = 0; v < w->nvalues; v++) {
        if (w->numeric && w->x[v] < xmin) xmin = w->x[v];
        if (w->numeric && w->x[v] > xmax) xmax = w->x[v];
    }
    int logx = w->numeric && xmin > 0 && xmax / xmin >= 4;
    uint64_t fpmax = 0, fpmin = UINT64_MAX;
    double nslo = INFINITY, nshi = 0;
    FILE *d = figures_open(c, base, "dat");
    if (!d) return -1;
    fprintf(d, "# one block per trace: x, peak resident bytes, ns/event median, its confidence "
               "interval (low high)\n");
    for (size_t t = 0; t < w->ntraces; t++) {
        fprintf(d, "# %s\n", e->traces[w->traces[t]].name);
        for (size_t v = 0; v < w->nvalues; v++) {
            const driver_run_t *run = &r->runs[w->points[t * w->nvalues + v]];
            const timing_summary_t *sm = &run->ns_per_event;
            int timed = run->repeat > 0 && sm->ci_low > 0 && isfinite(sm->ci_high);
            figures_num(d, w->numeric ? w->x[v] : (double)v);
            fprintf(d, " %" PRIu64, run->m.peak_resident);
            figures_num(d, timed ? sm->median : NAN);
            figures_num(d, timed ? sm->ci_low : NAN);
            figures_num(d, timed ? sm->ci_high : NAN);
            fputc('\n', d);
            if (run->m.peak_resident > fpmax) fpmax = run->m.peak_resident;
            if (run->m.peak_resident < fpmin) fpmin = run->m.peak_resident;
            if (timed && sm->ci_low < nslo) nslo = sm->ci_low;
            if (timed && sm->ci_high > nshi) nshi = sm->ci_high;
        }
        fputs("\n\n", d);
    }
    if (figures_close(c, d, base, "dat")) return -1;

    double scale;
    const char *unit = figures_unit(fpmax, &scale);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && !(nshi > 0)) continue; /* no timed runs */
        snprintf(gpbase, sizeof gpbase, "%s-%s", base, pass == 0 ? "resident" : "speed");
        FILE *gp = figures_open(c, gpbase, "gp");
        if (!gp) return -1;
        char purpose[512], title[512];
        snprintf(purpose, sizeof purpose, "sweep '%s': %s against peak resident / ns per event",
                 w->title, w->param);
        plot_begin(gp, gpbase, purpose, FIGURES_SWEEP_W, FIGURES_SWEEP_H);
        snprintf(title, sizeof title, "%s: %s", w->title,
                 pass == 0 ? "peak resident" : "median ns per event (whiskers: its CI)");
        fputs("set title ", gp);
        plot_string(gp, title);
        fputs("\nset xlabel ", gp);
        snprintf(title, sizeof title, "%s (%s:%s=VALUE)", w->param, w->base, w->param);
        plot_string(gp, title);
        fputc('\n', gp);
        if (logx) fputs("set logscale x 2\n", gp);
        if (logx || w->numeric)
            fprintf(gp, "set xrange [%.6g:%.6g]\n",
                    logx ? xmin / 1.25 : xmin - (xmax - xmin) * 0.05,
                    logx ? xmax * 1.25 : xmax + (xmax - xmin) * 0.05 + (xmax == xmin));
        else
            fprintf(gp, "set xrange [-0.3:%zu.3]\n", w->nvalues - 1);
        fputs("set xtics (", gp);
        for (size_t v = 0; v < w->nvalues; v++) {
            fprintf(gp, "%s", v ? ", " : "");
            plot_string(gp, w->values[v]);
            figures_num(gp, w->numeric ? w->x[v] : (double)v);
        }
        /* The key under the x label, in a margin as tall as its rows. */
        fprintf(gp,
                ")\nset bmargin %.1f\n"
                "set key at screen 0.5, screen 0.01 center bottom horizontal maxcols 3 "
                "samplen 1 font ',9'\n",
                4.5 + 0.95 * (double)((w->ntraces + 2) / 3));
        /* A log y axis when the lines are 20x apart, else from zero. */
        double ylo = pass == 0 ? (double)fpmin / scale : nslo;
        double yhi = pass == 0 ? (double)fpmax / scale : nshi;
        int logy = ylo > 0 && yhi / ylo >= 20;
        fprintf(gp, "set ylabel '%s%s'\n", pass == 0 ? "peak resident memory, " : "ns per event",
                pass == 0 ? unit : "");
        if (logy) {
            fprintf(gp, "set logscale y\nset yrange [%.6g:%.6g]\n", ylo / 1.3, yhi * 1.3);
            figures_log_tics(gp, "y", ylo / 1.3, yhi * 1.3);
        } else {
            fputs("set yrange [0:*]\n", gp);
        }
        fputs("plot ", gp);
        for (size_t t = 0; t < w->ntraces; t++) {
            fprintf(gp, "%s'%s.dat' index %zu ", t ? ", \\\n     " : "", base, t);
            if (pass == 0)
                fprintf(gp, "using 1:($2/%.0f) with linespoints", scale);
            else
                fputs("using 1:3:4:5 with yerrorlines", gp);
            fprintf(gp, " lw 2 pt 7 ps 0.8 lc rgb '%s' title ", plot_trace_colour(t));
            plot_string(gp, e->traces[w->traces[t]].name);
        }
        fputc('\n', gp);
        plot_end(gp, gpbase, FIGURES_SWEEP_W, FIGURES_SWEEP_H);
        if (figures_close(c, gp, gpbase, "gp")) return -1;
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
        if (figures_render(c, gpbase, FIGURES_SWEEP, s, title, caption)) return -1;
    }
    return 0;
}

/* ---- per trace: footprint over time, request sizes -------------------------------------- */

static int figures_footprint(figures_ctx_t *c, size_t t)
{
    const results_t *r = c->r;
    const exp_t *e = r->exp;
    const char *name = e->traces[t].name;
    size_t idx[64 + 1], na = figures_allocs(e, idx);
    if (na == 0 || na > 64) return 0;
    char base[200];
    snprintf(base, sizeof base, "resident-%s", name);
    FILE *d = figures_open(c, base, "dat");
    if (!d) return -1;
    uint64_t max = 0, maxlive = 0, peak[64] = {0}, lastevent = 0;
    size_t nonempty = 0;
    fputs("# one block per allocator (script order): event, live bytes, resident bytes\n", d);
    for (size_t k = 0; k < na; k++) {
        const metrics_series_t *ser = &r->runs[e->grid[t * e->nallocs + idx[k]]].series;
        fprintf(d, "# %s\n", e->allocs[idx[k]].spec);
        for (size_t i = 0; i < ser->n; i++) {
            fprintf(d, "%" PRIu64 " %" PRIu64 " %" PRIu64 "\n", ser->s[i].event,
                    ser->s[i].live_bytes, ser->s[i].resident);
            if (ser->s[i].resident > peak[k]) peak[k] = ser->s[i].resident;
            if (ser->s[i].live_bytes > maxlive) maxlive = ser->s[i].live_bytes;
            if (ser->s[i].event > lastevent) lastevent = ser->s[i].event;
        }
        if (peak[k] > max) max = peak[k];
        nonempty += ser->n > 0;
        /* gnuplot reads a block with no point as an error: keep one. */
        if (ser->n == 0) fputs("0 0 0\n", d);
        fputs("\n\n", d);
    }
    if (figures_close(c, d, base, "dat")) return -1;
    if (nonempty == 0) return 0;

    /* Cut the axis when some allocator towers over live bytes; say who. */
    uint64_t cut = maxlive > 0 && maxlive <= UINT64_MAX / FIGURES_FP_CUT ? maxlive * FIGURES_FP_CUT
                                                                         : UINT64_MAX;
    int cutting = max > cut + cut / 20;
    uint64_t top = cutting ? cut : max > maxlive ? max : maxlive;
    double scale;
    const char *unit = figures_unit(top, &scale);
    char title[512], off[400] = "";
    size_t ol = 0;
    for (size_t k = 0; cutting && k < na && ol + 80 < sizeof off; k++)
        if (peak[k] > cut) {
            char b[32];
            ol += (size_t)snprintf(off + ol, sizeof off - ol, "%s%s %s", ol ? ", " : "",
                                   e->allocs[idx[k]].spec, output_bytes(peak[k], b, sizeof b));
        }
    FILE *gp = figures_open(c, base, "gp");
    if (!gp) return -1;
    plot_begin(gp, base, "resident memory and live bytes over time, one line per allocator",
               FIGURES_TRACE_W, FIGURES_TRACE_H);
    if (cutting)
        snprintf(title, sizeof title,
                 "%s: resident memory over time\n(axis cut at %dx peak live; "
                 "peaks: %s)",
                 name, FIGURES_FP_CUT, off);
    else
        snprintf(title, sizeof title, "%s: resident memory over time", name);
    fputs("set title ", gp);
    plot_string(gp, title);
    fprintf(gp,
            "\nset xlabel 'events replayed'\n"
            "set ylabel '%s'\n",
            unit);
    if (cutting)
        fprintf(gp, "set yrange [0:%.6g]\n", (double)cut / scale);
    else
        fputs("set yrange [0:*]\n", gp);
    fprintf(gp,
            "set xrange [0:%" PRIu64 "]\n"
            "set key outside top center horizontal maxcols 4 samplen 1 width -1 font ',9'\n"
            "set format x '%%.0s%%c'\n"
            "plot ",
            lastevent ? lastevent : 1);
    for (size_t k = 0; k < na; k++) {
        char col[16];
        const char *spec = e->allocs[idx[k]].spec;
        fprintf(gp, "%s'%s.dat' index %zu using 1:($3/%.0f) with steps lw 2 lc rgb '%s' title ",
                k ? ", \\\n     " : "", base, k, scale, results_colour(r, spec, col, sizeof col));
        plot_string(gp, spec);
    }
    fprintf(gp,
            ", \\\n     '%s.dat' index 0 using 1:($2/%.0f) with steps ls 100 title 'live bytes "
            "(requested)'\n",
            base, scale);
    plot_end(gp, base, FIGURES_TRACE_W, FIGURES_TRACE_H);
    if (figures_close(c, gp, base, "gp")) return -1;
    char caption[600];
    snprintf(caption, sizeof caption,
             "Memory each allocator held from the system (solid, sampled about %llu times) "
             "against the bytes the program had live (dashed): the gap between a line and the "
             "dashed curve is that allocator's overhead at that moment.",
             (unsigned long long)e->samples);
    snprintf(title, sizeof title, "%s: resident memory over time", name);
    return figures_render(c, base, FIGURES_TRACE, t, title, caption);
}

static int figures_sizes(figures_ctx_t *c, size_t t)
{
    const results_t *r = c->r;
    const exp_t *e = r->exp;
    const results_trace_t *rt = &r->traces[t];
    const char *name = e->traces[t].name;
    if (rt->requests == 0) return 0;
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
    fputs("set title ", gp);
    plot_string(gp, title);
    fprintf(gp,
            "\nset xlabel 'request size, bytes (bin a-b: a <= size < b)'\n"
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
    size_t idx[64 + 1], na = figures_allocs(e, idx);
    if (na == 0 || na > 64) return 0;
    size_t have = 0;
    for (size_t k = 0; k < na; k++)
        have += r->runs[e->grid[t * e->nallocs + idx[k]]].lat != NULL;
    if (!have) return 0;
    lat_hist_t *all = malloc(sizeof *all);
    if (!all) return figures_fail(c, "out of memory");
    char base[200];
    snprintf(base, sizeof base, "latency-%s", name);
    FILE *d = figures_open(c, base, "dat");
    if (!d) {
        free(all);
        return -1;
    }
    fputs("# one block per allocator (script order): latency ns (bucket's highest value), "
          "share of calls slower than that\n",
          d);
    double xmax = 1, ymin = 1, overhead = NAN, resolution = NAN;
    const char *clock = "?";
    for (size_t k = 0; k < na; k++) {
        const driver_run_t *run = &r->runs[e->grid[t * e->nallocs + idx[k]]];
        fprintf(d, "# %s\n", e->allocs[idx[k]].spec);
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
        fputs("\n\n", d);
    }
    free(all);
    if (figures_close(c, d, base, "dat")) return -1;
    FILE *gp = figures_open(c, base, "gp");
    if (!gp) return -1;
    plot_begin(gp, base, "latency of the allocator calls: share slower than x, log-log",
               FIGURES_TRACE_W, FIGURES_TRACE_H);
    char title[512];
    snprintf(title, sizeof title, "%s: latency of allocator calls (CCDF)", name);
    fputs("set title ", gp);
    plot_string(gp, title);
    double xlo = isfinite(resolution) && resolution > 0 ? resolution / 1.5 : 0.5;
    fprintf(gp,
            "\nset xlabel 'latency per call, ns (log scale)'\n"
            "set ylabel 'share of calls slower (log scale)'\n"
            "set logscale xy\n"
            "set xrange [%.6g:%.6g]\n"
            "set yrange [%.6g:1.5]\n"
            "set format y '%%.0e'\n"
            "set key outside top center horizontal maxcols 4 samplen 1 width -1 font ',9'\n"
            "plot ",
            xlo, xmax * 1.5, ymin / 2);
    for (size_t k = 0; k < na; k++) {
        char col[16];
        const char *spec = e->allocs[idx[k]].spec;
        fprintf(gp, "%s'%s.dat' index %zu using 1:2 with steps lw 2 lc rgb '%s' title ",
                k ? ", \\\n     " : "", base, k, results_colour(r, spec, col, sizeof col));
        plot_string(gp, spec);
    }
    fputc('\n', gp);
    plot_end(gp, base, FIGURES_TRACE_W, FIGURES_TRACE_H);
    if (figures_close(c, gp, base, "gp")) return -1;
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
    memset(out, 0, sizeof *out);
    figures_ctx_t c = {r, dir, out, err, errlen};
    FILE *st = figures_open(&c, "style", "gp");
    if (!st) return -1;
    plot_style(st);
    if (figures_close(&c, st, "style", "gp")) return -1;
    if (figures_frag(&c) || figures_throughput(&c) || figures_costs(&c) || figures_pools(&c))
        return -1;
    for (size_t s = 0; s < r->exp->nsweeps; s++)
        if (figures_sweep(&c, s)) return -1;
    for (size_t t = 0; t < r->exp->ntraces; t++)
        if (figures_footprint(&c, t) || figures_latency(&c, t) || figures_sizes(&c, t)) return -1;
    return 0;
}

void figures_free(figures_t *f)
{
    free(f->f);
    memset(f, 0, sizeof *f);
}
