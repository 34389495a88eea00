/* fuzz_csv.c: libFuzzer target for the CSV reader (csv_parse, csv.h), the
 * parser of what `arenalab compare` reads (runs.csv).
 *
 * Oracles, beyond "no crash, no leak, no undefined behaviour":
 *   - a parsed file has a header of at least one column and (rows + 1) x
 *     columns cells; csv_get gives the cells, csv_col finds every header
 *     name at or before its own column;
 *   - what parses survives a round trip: written back as arenalab writes
 *     CSV (sim/replay/output.c: a field quoted when it holds a comma, a
 *     quote, CR or LF, quotes doubled; rows ended by LF) and parsed again,
 *     it gives the same cells;
 *   - a failure leaves nothing allocated (the csv_t zeroed) and says which
 *     file.
 * The input is the file's text up to its first NUL byte (csv_read refuses
 * a file with NUL bytes before csv_parse sees it). */
#include "sim/base/csv.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FC_NAME "fuzz.csv"

/* The harness's own code, outside libFuzzer's coverage (clang only). */
#if defined(__clang__)
#define FC_NOCOV __attribute__((no_sanitize("coverage")))
#else
#define FC_NOCOV
#endif

/* Appends S as one CSV field to *BUF (*LEN bytes of *CAP).  0 or -1 (out
 * of memory). */
FC_NOCOV static int fc_put(char **buf, size_t *len, size_t *cap, const char *s, char end)
{
    size_t need = 2 * strlen(s) + 4;
    if (*len + need > *cap) {
        size_t ncap = 2 * (*len + need);
        char *p = realloc(*buf, ncap);
        if (!p) return -1;
        *buf = p;
        *cap = ncap;
    }
    char *w = *buf + *len;
    int quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote) *w++ = '"';
    for (; *s; s++) {
        if (*s == '"') *w++ = '"';
        *w++ = *s;
    }
    if (quote) *w++ = '"';
    *w++ = end;
    *w = '\0';
    *len = (size_t)(w - *buf);
    return 0;
}

/* Checks the shape of a parsed C; aborts when it is wrong. */
FC_NOCOV static void fc_check(const csv_t *c)
{
    if (c->ncols == 0 || !c->cell || !c->text) abort();
    for (size_t i = 0; i < (c->nrows + 1) * c->ncols; i++)
        if (!c->cell[i]) abort();
    for (size_t col = 0; col < c->ncols; col++) {
        int at = csv_col(c, c->cell[col]);
        if (at < 0 || (size_t)at > col) abort();
        for (size_t row = 0; row < c->nrows; row++)
            if (csv_get(c, row, (int)col) != c->cell[(row + 1) * c->ncols + col]) abort();
    }
    if (*csv_get(c, 0, -1) || *csv_get(c, c->nrows, 0)) abort();
}

FC_NOCOV int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), err[512];
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    csv_t c;
    err[0] = '\0';
    if (csv_parse(text, FC_NAME, &c, err, sizeof err) != 0) {
        /* the text was taken over and freed; nothing stays */
        if (c.cell || c.text || c.ncols || c.nrows) abort();
        if (strncmp(err, FC_NAME, strlen(FC_NAME)) != 0) abort();
        return 0;
    }
    fc_check(&c);
    /* Round trip: written as arenalab writes CSV, parsed again. */
    size_t len = 0, cap = 0, n = (c.nrows + 1) * c.ncols;
    char *out = NULL;
    for (size_t i = 0; i < n; i++)
        if (fc_put(&out, &len, &cap, c.cell[i], (i + 1) % c.ncols ? ',' : '\n')) {
            free(out);
            csv_free(&c);
            return 0; /* out of memory: not the code's fault */
        }
    csv_t d;
    if (csv_parse(out, FC_NAME, &d, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_csv: the written form does not parse: %s\n", err);
        abort();
    }
    fc_check(&d);
    if (d.ncols != c.ncols || d.nrows != c.nrows) abort();
    for (size_t i = 0; i < n; i++)
        if (strcmp(c.cell[i], d.cell[i]) != 0) abort();
    csv_free(&d);
    csv_free(&c);
    return 0;
}
