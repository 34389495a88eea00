/* tsv.h: record files of tab-separated fields, one record a line, that
 * carry any string and every double exactly -- what a report's array
 * tasks and the process that merges them exchange through a shared
 * directory (sim/report/plan.h, sim/report/taskfile.h).
 *
 * A line is a KEY and its fields, separated by one tab.  A field is
 * escaped: backslash, tab, newline and carriage return as \\ \t \n \r; a
 * NULL string is the field \- (which no string escapes to).  Doubles
 * are C99 hex floats (%a), so a figure read back is bit-identical to the
 * one written; integers are decimal.
 *
 * Failure: tsv_next returns 1 (a record), 0 (end of file) or -1 with
 * "FILE:LINE: reason" in the reader's err; the tsv_get_* parsers return 0
 * or -1 (malformed or out of range).  Writers never fail: the caller
 * checks the stream (sim/base/outfile.h's commit does). */
#ifndef ARENALAB_SIM_BASE_TSV_H
#define ARENALAB_SIM_BASE_TSV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TSV_MAX_FIELDS 64

/* A record: tsv_begin(KEY), then its fields, then tsv_end. */
void tsv_begin(FILE *f, const char *key);
void tsv_put_str(FILE *f, const char *s); /* NULL: \- */
void tsv_put_u64(FILE *f, uint64_t v);
void tsv_put_dbl(FILE *f, double v);
void tsv_end(FILE *f);

typedef struct {
    FILE *f;
    const char *name; /* in messages                                   */
    char *line;       /* the current line, unescaped in place           */
    size_t cap;
    size_t lineno;
    size_t n;                    /* fields of the record, the key included */
    char *field[TSV_MAX_FIELDS]; /* field[0] is the key; NULL for \-   */
    char err[512];
} tsv_reader_t;

/* Opens PATH.  Returns 0 or -1 with "PATH: reason" in R->err. */
int tsv_open(tsv_reader_t *r, const char *path);
/* The next record into R->field / R->n (see Failure above). */
int tsv_next(tsv_reader_t *r);
void tsv_close(tsv_reader_t *r);

/* Field K of the record when it exists and is not NULL, else NULL. */
const char *tsv_str(const tsv_reader_t *r, size_t k);

int tsv_get_u64(const char *s, uint64_t *out);
int tsv_get_dbl(const char *s, double *out);

#endif
