/* html.h: a report's index.html -- one self-contained page (inline CSS, no
 * script, no network; images are the plots/ beside it).
 *
 * Order: the headline table (per trace: the allocator with the least peak
 * footprint and the fastest one, each with its margin over the runner-up,
 * and whether the speed difference exceeds the run-to-run spread), skipped
 * allocators, then every figure with its one-line caption (overview,
 * sweeps, per trace), the full metric tables, and how to reproduce the
 * result (command, experiment file, environment).
 *
 * Invariant: every figure shown comes from results_t (results.h); every
 * text from the experiment is HTML-escaped.
 *
 * Failure: html_write returns 0, or -1 with a message in ERR.
 */
#ifndef ARENALAB_SIM_REPORT_HTML_H
#define ARENALAB_SIM_REPORT_HTML_H

#include <stddef.h>

#include "sim/report/figures.h"
#include "sim/report/results.h"

/* Writes DIR/index.html. */
int html_write(const results_t *r, const figures_t *figs, const char *dir, char *err,
               size_t errlen);

#endif
