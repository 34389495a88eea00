/* csv.h: reads the CSV files arenalab writes (runs.csv): a header row,
 * comma-separated fields, a field quoted with "..." ("" inside) when it
 * holds a comma, quote or newline.
 *
 * Invariant: every row has as many fields as the header.
 *
 * Failure: csv_read returns 0, or -1 with "FILE:LINE: what is wrong" (or
 * "FILE: reason" when it cannot be read) in ERR; nothing stays allocated. */
#ifndef ARENALAB_SIM_BASE_CSV_H
#define ARENALAB_SIM_BASE_CSV_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    char **cell; /* [row * ncols + col]; row 0 is the header           */
    size_t ncols;
    size_t nrows; /* data rows, header excluded                         */
    char *text;   /* the file, split in place                           */
} csv_t;

int csv_read(const char *path, csv_t *out, char *err, size_t errlen);
/* Parses TEXT (NUL-terminated, taken over: freed by csv_free); NAME is
 * used in messages. */
int csv_parse(char *text, const char *name, csv_t *out, char *err, size_t errlen);
void csv_free(csv_t *c);

/* Writes S as one field: quoted (with "" for ") when it holds a comma,
 * quote, carriage return or newline, as csv_read reads it. */
void csv_write_field(FILE *f, const char *s);

/* Column index of NAME in the header, or -1. */
int csv_col(const csv_t *c, const char *name);
/* Field COL of data row ROW (0-based); "" for COL < 0. */
const char *csv_get(const csv_t *c, size_t row, int col);

#endif
