/* plot.h: the gnuplot mechanics every figure of a report shares -- one
 * palette keyed by allocator name, one style file, and running gnuplot so
 * that any complaint fails the report.
 *
 * Colours.  An allocator keeps its colour in every plot of every report:
 * the colour comes from a fixed table keyed by the class name (raw,
 * pymalloc, ...), never from the order of appearance.  Further specs of
 * the same class in one experiment (pymalloc:preset=3.8 beside pymalloc)
 * get the class colour darkened or lightened by their rank: PLOT_SHADES
 * shades, the class colour first.  Past them the shades cycle and the
 * rank's group (rank / PLOT_SHADES) tells the specs apart: a dash pattern
 * for lines, a fill pattern for bars (group 0: solid), so any number of
 * specs of one class stay distinct as far as the group tables reach
 * (PLOT_SHADES times their size) and cycle beyond.  Classes the table
 * lacks get a colour picked by a hash of the name, so it is stable too.
 * Traces, the lines of a sweep, take colours from a second table in the
 * experiment's order.
 *
 * Running.  plot_run runs `gnuplot SCRIPT` in the plots directory and
 * fails when gnuplot exits non-zero or prints anything at all: a warning
 * ("Skipping data file with no valid points") means a wrong plot.
 *
 * Failure: plot_run returns 0 or -1 with the message (gnuplot's output
 * included) in ERR. */
#ifndef ARENALAB_SIM_REPORT_PLOT_H
#define ARENALAB_SIM_REPORT_PLOT_H

#include <stddef.h>
#include <stdio.h>

/* Shades of one class colour before they cycle. */
#define PLOT_SHADES 7

/* The colour of the allocator spec SPEC, "#rrggbb", given the rank of SPEC
 * among the specs of its class (0 for the first).  Returns BUF. */
const char *plot_colour(const char *spec, unsigned rank, char *buf, size_t len);

/* The dash pattern of a line of rank RANK: gnuplot's `dt` argument ("1":
 * solid). */
const char *plot_dash(unsigned rank);

/* The fill of a bar of rank RANK: "" (the style's solid fill) or gnuplot's
 * ` fs pattern N`. */
const char *plot_fill(unsigned rank);

/* The colour of the K-th trace of a multi-trace plot. */
const char *plot_trace_colour(size_t k);

/* The style every script loads (`load 'style.gp'`), for restyling all
 * plots of a report in one place. */
void plot_style(FILE *out);

/* Starts a script: its purpose as a comment, the style, the SVG terminal
 * (W x H pixels) and its output BASE.svg. */
void plot_begin(FILE *gp, const char *base, const char *purpose, int w, int h);

/* Ends a script: replots as BASE.png (pngcairo) at the same size. */
void plot_end(FILE *gp, const char *base, int w, int h);

/* gnuplot's string literal of S: double quotes, with \\, \" and \n.  A
 * so:/plugin: allocator spec is shown by its short name
 * (alloc_spec_display), as replay's tables show it: a library's path
 * would not fit a plot's key. */
void plot_string(FILE *out, const char *s);

/* `set title` of TITLE for a plot W pixels wide: broken at blanks into
 * lines that fit (PLOT_TITLE_CHAR_PX per character of the title's font, a
 * generous estimate), so neither end is clipped in the SVG or the PNG;
 * line breaks already in TITLE are kept. */
#define PLOT_TITLE_CHAR_PX 8
void plot_title(FILE *gp, const char *title, int w);

/* Runs gnuplot on SCRIPT (a file name in DIR). */
int plot_run(const char *dir, const char *script, char *err, size_t errlen);

#endif
