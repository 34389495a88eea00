/* summary.h: a report's summary.md -- the headline table, the metrics of
 * the grid's runs and how to reproduce the result, as Markdown for a
 * terminal, a commit message or an issue.  The same judgements as the HTML
 * page (results.h's best allocators), fewer figures.
 *
 * Failure: summary_write returns 0, or -1 with a message in ERR. */
#ifndef ARENALAB_SIM_REPORT_SUMMARY_H
#define ARENALAB_SIM_REPORT_SUMMARY_H

#include <stddef.h>
#include <stdio.h>

#include "sim/report/results.h"

/* Writes the summary to OUT. */
void summary_print(const results_t *r, FILE *out);

/* Writes DIR/summary.md. */
int summary_write(const results_t *r, const char *dir, char *err, size_t errlen);

#endif
