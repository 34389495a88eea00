/* tsv.c: tab-separated record files, exact for strings and doubles (see
 * tsv.h). */
#include "sim/base/tsv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void tsv_begin(FILE *f, const char *key)
{
    fputs(key, f);
}

void tsv_put_str(FILE *f, const char *s)
{
    fputc('\t', f);
    if (!s) {
        fputs("\\-", f);
        return;
    }
    for (; *s; s++)
        switch (*s) {
        case '\\':
            fputs("\\\\", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        default:
            fputc(*s, f);
        }
}

void tsv_put_u64(FILE *f, uint64_t v)
{
    fprintf(f, "\t%llu", (unsigned long long)v);
}

void tsv_put_dbl(FILE *f, double v)
{
    fprintf(f, "\t%a", v);
}

void tsv_end(FILE *f)
{
    fputc('\n', f);
}

int tsv_open(tsv_reader_t *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->name = path;
    if (!(r->f = fopen(path, "r"))) {
        snprintf(r->err, sizeof r->err, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

void tsv_close(tsv_reader_t *r)
{
    if (r->f) fclose(r->f);
    free(r->line);
    r->f = NULL;
    r->line = NULL;
}

/* Unescapes the field S in place (it holds no tab: the line was split at
 * them).  Returns 0 and S (NULL for \-) in *OUT, or -1 on a bad escape. */
static int tsv_unescape(char *s, char **out)
{
    if (!strcmp(s, "\\-")) {
        *out = NULL;
        return 0;
    }
    char *w = s;
    for (const char *p = s; *p; p++) {
        if (*p != '\\') {
            *w++ = *p;
            continue;
        }
        switch (*++p) {
        case '\\':
            *w++ = '\\';
            break;
        case 't':
            *w++ = '\t';
            break;
        case 'n':
            *w++ = '\n';
            break;
        case 'r':
            *w++ = '\r';
            break;
        default:
            return -1;
        }
    }
    *w = '\0';
    *out = s;
    return 0;
}

int tsv_next(tsv_reader_t *r)
{
    errno = 0;
    ssize_t got = getline(&r->line, &r->cap, r->f);
    if (got < 0) {
        if (ferror(r->f) || errno == ENOMEM) {
            snprintf(r->err, sizeof r->err, "%s: %s", r->name, strerror(errno ? errno : EIO));
            return -1;
        }
        return 0;
    }
    r->lineno++;
    if (got > 0 && r->line[got - 1] == '\n') r->line[--got] = '\0';
    if ((size_t)got != strlen(r->line)) {
        snprintf(r->err, sizeof r->err, "%s:%zu: a NUL byte in the line", r->name, r->lineno);
        return -1;
    }
    r->n = 0;
    for (char *p = r->line, *tab;; p = tab + 1) {
        if (r->n == TSV_MAX_FIELDS) {
            snprintf(r->err, sizeof r->err, "%s:%zu: more than %d fields", r->name, r->lineno,
                     TSV_MAX_FIELDS);
            return -1;
        }
        tab = strchr(p, '\t');
        if (tab) *tab = '\0';
        if (tsv_unescape(p, &r->field[r->n])) {
            snprintf(r->err, sizeof r->err, "%s:%zu: a bad escape in field %zu", r->name, r->lineno,
                     r->n + 1);
            return -1;
        }
        r->n++;
        if (!tab) break;
    }
    if (!r->field[0] || !*r->field[0]) {
        snprintf(r->err, sizeof r->err, "%s:%zu: a record without a key", r->name, r->lineno);
        return -1;
    }
    return 1;
}

const char *tsv_str(const tsv_reader_t *r, size_t k)
{
    return k < r->n ? r->field[k] : NULL;
}

int tsv_get_u64(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9') return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

int tsv_get_dbl(const char *s, double *out)
{
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end) return -1;
    *out = v;
    return 0;
}
