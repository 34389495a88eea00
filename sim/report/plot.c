/* plot.c: palette, style and the gnuplot runner (see plot.h). */
#include "sim/report/plot.h"
#include "alloc/params.h"
#include "sim/base/proc.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* One colour per allocator class, picked to stay apart from each other
 * (Tableau 10 order) and readable on white. */
static const struct {
    const char *cls;
    const char *colour;
} plot_palette[] = {
    {"raw", "#4e79a7"},      /* blue     */
    {"pymalloc", "#e15759"}, /* red      */
    {"arena", "#59a14f"},    /* green    */
    {"cpython", "#f28e2b"},  /* orange   */
    {"jemalloc", "#b07aa1"}, /* purple   */
    {"mimalloc", "#76b7b2"}, /* teal     */
    {"tcmalloc", "#9c755f"}, /* brown    */
    {"null", "#79706e"},     /* grey     */
};

/* Classes outside the table: picked by name hash. */
static const char *const plot_spare[] = {"#ff9da7", "#bab0ac", "#1b9e77", "#7570b3",
                                         "#d95f02", "#66a61e", "#e7298a", "#a6761d"};

/* Lines of the traces in a sweep plot. */
static const char *const plot_traces[] = {
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39",
};

/* Per rank group (rank / PLOT_SHADES): line dashes and bar fills. */
static const char *const plot_dashes[] = {
    "1",          "(8,4)", "(2,3)",          "(8,3,2,3)",  "(8,3,2,3,2,3)", "(16,4)",
    "(16,4,2,4)", "(4,8)", "(12,3,3,3,3,3)", "(24,6,6,6)", "(16,4,8,4)",    "(2,6)",
};
static const char *const plot_fills[] = {
    "",
    " fs pattern 4",
    " fs pattern 5",
    " fs pattern 1",
    " fs pattern 2",
    " fs pattern 6",
    " fs pattern 7",
    " fs solid 0.45",
    " fs empty",
    " fs solid 0.2",
};

#define PLOT_N(a) (sizeof(a) / sizeof((a)[0]))

const char *plot_colour(const char *spec, unsigned rank, char *buf, size_t len)
{
    size_t n = alloc_spec_class_len(spec); /* a so:/plugin: library by its head */
    const char *base = NULL;
    for (size_t i = 0; i < PLOT_N(plot_palette); i++)
        if (strlen(plot_palette[i].cls) == n && strncmp(plot_palette[i].cls, spec, n) == 0)
            base = plot_palette[i].colour;
    if (!base) {
        uint32_t h = 2166136261u; /* FNV-1a of the class name */
        for (size_t i = 0; i < n; i++)
            h = (h ^ (unsigned char)spec[i]) * 16777619u;
        base = plot_spare[h % PLOT_N(plot_spare)];
    }
    unsigned rgb[3];
    sscanf(base, "#%02x%02x%02x", &rgb[0], &rgb[1], &rgb[2]);
    /* Rank 1, 2, 3...: 40% darker, 40% lighter, 65% darker, ... */
    rank %= PLOT_SHADES;
    if (rank > 0) {
        int darker = rank % 2 == 1;
        double f = 0.4 + 0.25 * (double)((rank - 1) / 2 % 3);
        for (int k = 0; k < 3; k++)
            rgb[k] =
                darker ? (unsigned)(rgb[k] * (1 - f)) : (unsigned)(rgb[k] + (255 - rgb[k]) * f);
    }
    snprintf(buf, len, "#%02x%02x%02x", rgb[0] & 255, rgb[1] & 255, rgb[2] & 255);
    return buf;
}

const char *plot_dash(unsigned rank)
{
    return plot_dashes[rank / PLOT_SHADES % PLOT_N(plot_dashes)];
}

const char *plot_fill(unsigned rank)
{
    return plot_fills[rank / PLOT_SHADES % PLOT_N(plot_fills)];
}

const char *plot_trace_colour(size_t k)
{
    return plot_traces[k % PLOT_N(plot_traces)];
}

void plot_style(FILE *out)
{
    fputs("# style.gp: loaded by every plot script of this report; edit it to restyle them "
          "all.\n"
          "set border 3 lw 1 lc rgb '#555555'\n"
          "set tics nomirror out scale 0.6 textcolor rgb '#333333'\n"
          "set grid ytics lw 1 lc rgb '#e4e4e4'\n"
          "set key top left noopaque box lc rgb '#cccccc' samplen 2 spacing 1.1\n"
          "set title font ',13'\n"
          "set style fill solid 0.9 border lc rgb '#444444'\n"
          "set style line 100 lc rgb '#000000' lw 2 dt 2\n"
          "set datafile missing 'NaN'\n",
          out);
}

void plot_string(FILE *out, const char *s)
{
    char show[512];
    if (strncmp(s, "so:", 3) == 0 || strncmp(s, "plugin:", 7) == 0) {
        alloc_spec_display(s, show, sizeof show);
        s = show;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '\n') {
            fputs("\\n", out);
            continue;
        }
        if (*s == '"' || *s == '\\') fputc('\\', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

void plot_title(FILE *gp, const char *title, int w)
{
    size_t fit = w > 40 + 10 * PLOT_TITLE_CHAR_PX ? (size_t)(w - 40) / PLOT_TITLE_CHAR_PX : 10;
    char wrapped[1024];
    snprintf(wrapped, sizeof wrapped, "%s", title);
    /* Greedy: the last blank before a line outgrows FIT becomes a break. */
    size_t start = 0, blank = SIZE_MAX;
    for (size_t i = 0; wrapped[i]; i++) {
        if (wrapped[i] == '\n') {
            start = i + 1;
            blank = SIZE_MAX;
            continue;
        }
        if (wrapped[i] == ' ') blank = i;
        if (i - start >= fit && blank != SIZE_MAX && blank >= start) {
            wrapped[blank] = '\n';
            start = blank + 1;
            blank = SIZE_MAX;
        }
    }
    fputs("set title ", gp);
    plot_string(gp, wrapped);
    fputc('\n', gp);
}

void plot_begin(FILE *gp, const char *base, const char *purpose, int w, int h)
{
    fprintf(gp,
            "# %s.gp: %s\n"
            "# Written by `arenalab report`; run `gnuplot %s.gp` here after editing it.\n"
            "load 'style.gp'\n"
            "set terminal svg size %d,%d fixed noenhanced font 'DejaVu Sans,11' background rgb "
            "'white'\n"
            "set output '%s.svg'\n",
            base, purpose, base, w, h, base);
}

void plot_end(FILE *gp, const char *base, int w, int h)
{
    fprintf(
        gp,
        "set terminal pngcairo size %d,%d noenhanced font 'DejaVu Sans,10' background rgb 'white'\n"
        "set output '%s.png'\n"
        "replot\n"
        "unset output\n",
        w, h, base);
}

int plot_run(const char *dir, const char *script, char *err, size_t errlen)
{
    const char *argv[] = {"gnuplot", script, NULL};
    proc_result_t r;
    if (proc_run(argv, dir, &r)) {
        snprintf(err, errlen, "cannot run gnuplot: %s", strerror(errno));
        return -1;
    }
    int rc = 0;
    if (r.status == 127 && r.errlen == 0) {
        snprintf(err, errlen, "cannot run gnuplot (is gnuplot-nox installed? scripts/setup)");
        rc = -1;
    } else if (r.status != 0 || r.errlen > 0 || r.outlen > 0) {
        snprintf(err, errlen, "%s/%s: gnuplot %s%s%.*s%.*s", dir, script,
                 r.status ? "failed" : "printed something (a warning is a wrong plot)",
                 r.errlen || r.outlen ? ":\n" : "", (int)(r.outlen > 2000 ? 2000 : r.outlen), r.out,
                 (int)(r.errlen > 2000 ? 2000 : r.errlen), r.err);
        rc = -1;
    }
    proc_result_free(&r);
    return rc;
}
