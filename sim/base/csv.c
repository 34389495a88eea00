/* csv.c: a small CSV reader (see csv.h). */
#include "sim/base/csv.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest file read: runs.csv of a very large experiment is well below. */
#define CSV_MAX_BYTES ((size_t)256 << 20)

int csv_read(const char *path, csv_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 65536, n = 0;
    char *text = malloc(cap);
    size_t got;
    while (text && (got = fread(text + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            char *p = cap < CSV_MAX_BYTES ? realloc(text, cap * 2) : NULL;
            if (!p) {
                free(text);
                text = NULL;
                break;
            }
            text = p;
            cap *= 2;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!text || bad) {
        free(text);
        snprintf(err, errlen, "%s: %s", path, bad ? "read error" : "too large or out of memory");
        return -1;
    }
    text[n] = '\0';
    if (memchr(text, '\0', n)) {
        free(text);
        snprintf(err, errlen, "%s: not a text file (NUL bytes)", path);
        return -1;
    }
    return csv_parse(text, path, out, err, errlen);
}

/* Splits one field at *P in place; returns it, with *P after its
 * separator, *END set when the row ended.  NULL on a bad quote. */
static char *csv_field(char **p, int *end, size_t *line)
{
    char *s = *p, *field = s;
    if (*s == '"') {
        char *w = s;
        field = w;
        s++;
        for (;;) {
            if (*s == '\0') return NULL; /* unterminated */
            if (*s == '"') {
                if (s[1] == '"') {
                    *w++ = '"';
                    s += 2;
                    continue;
                }
                s++;
                break;
            }
            if (*s == '\n') (*line)++;
            *w++ = *s++;
        }
        if (*s != ',' && *s != '\n' && *s != '\r' && *s != '\0') return NULL;
        if (*s == '\r') s++;
        *end = *s != ',';
        if (*s) s++;
        *w = '\0';
        *p = s;
        return field;
    }
    size_t k = strcspn(s, ",\n\"");
    if (s[k] == '"') return NULL;
    *end = s[k] != ',';
    char *next = s + k + (s[k] != '\0');
    if (k > 0 && s[k - 1] == '\r') s[k - 1] = '\0';
    s[k] = '\0';
    *p = next;
    return field;
}

int csv_parse(char *text, const char *name, csv_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->text = text;
    size_t cap = 0, ncells = 0, line = 1, ncols = 0, col = 0;
    char *p = text;
    while (*p) {
        int end = 0;
        size_t at = line;
        char *f = csv_field(&p, &end, &line);
        if (!f) {
            snprintf(err, errlen, "%s:%zu: bad quoting", name, at);
            goto fail;
        }
        if (ncells == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            char **c = ncap < SIZE_MAX / sizeof *c ? realloc(out->cell, ncap * sizeof *c) : NULL;
            if (!c) {
                snprintf(err, errlen, "%s: out of memory", name);
                goto fail;
            }
            out->cell = c;
            cap = ncap;
        }
        out->cell[ncells++] = f;
        col++;
        if (end) {
            if (line == 1 && ncols == 0) {
                ncols = col;
            } else if (col != ncols) {
                snprintf(err, errlen, "%s:%zu: %zu fields, the header has %zu", name, line, col,
                         ncols);
                goto fail;
            }
            col = 0;
            line++;
        }
    }
    if (col != 0) {
        snprintf(err, errlen, "%s:%zu: %zu fields, the header has %zu", name, line, col, ncols);
        goto fail;
    }
    if (ncols == 0) {
        snprintf(err, errlen, "%s: empty (no header)", name);
        goto fail;
    }
    out->ncols = ncols;
    out->nrows = ncells / ncols - 1;
    return 0;
fail:
    csv_free(out);
    return -1;
}

void csv_free(csv_t *c)
{
    free(c->cell);
    free(c->text);
    memset(c, 0, sizeof *c);
}

int csv_col(const csv_t *c, const char *name)
{
    for (size_t i = 0; i < c->ncols; i++)
        if (strcmp(c->cell[i], name) == 0) return (int)i;
    return -1;
}

const char *csv_get(const csv_t *c, size_t row, int col)
{
    if (col < 0 || (size_t)col >= c->ncols || row >= c->nrows) return "";
    return c->cell[(row + 1) * c->ncols + (size_t)col];
}

void csv_write_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}
