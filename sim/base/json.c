/* json.c: streaming JSON writer (see json.h). */
#include "sim/base/json.h"

#include <inttypes.h>
#include <math.h>

void json_init(json_t *j, FILE *out)
{
    j->out = out;
    j->depth = 0;
    j->count[0] = 0;
    j->pending_key = 0;
}

static void json_indent(json_t *j)
{
    fputc('\n', j->out);
    for (int i = 0; i < j->depth; i++)
        fputs("  ", j->out);
}

/* Separator and indentation before a value or key at the current depth. */
static void json_before_item(json_t *j)
{
    if (j->pending_key) {
        j->pending_key = 0;
        return;
    }
    if (j->depth > 0) {
        if (j->count[j->depth]++) fputc(',', j->out);
        json_indent(j);
    }
}

static void json_open(json_t *j, int c)
{
    json_before_item(j);
    fputc(c, j->out);
    if (j->depth + 1 < JSON_MAX_DEPTH) j->depth++;
    j->count[j->depth] = 0;
}

static void json_close(json_t *j, int c)
{
    int had = j->count[j->depth];
    if (j->depth > 0) j->depth--;
    if (had) json_indent(j);
    fputc(c, j->out);
    if (j->depth == 0) fputc('\n', j->out);
}

void json_object_begin(json_t *j)
{
    json_open(j, '{');
}
void json_object_end(json_t *j)
{
    json_close(j, '}');
}
void json_array_begin(json_t *j)
{
    json_open(j, '[');
}
void json_array_end(json_t *j)
{
    json_close(j, ']');
}

void json_write_escaped(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", out);
            break;
        case '\\':
            fputs("\\\\", out);
            break;
        case '\n':
            fputs("\\n", out);
            break;
        case '\r':
            fputs("\\r", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

void json_key(json_t *j, const char *key)
{
    json_before_item(j);
    json_write_escaped(j->out, key);
    fputs(": ", j->out);
    j->pending_key = 1;
}

void json_string(json_t *j, const char *s)
{
    json_before_item(j);
    json_write_escaped(j->out, s);
}

void json_uint(json_t *j, uint64_t v)
{
    json_before_item(j);
    fprintf(j->out, "%" PRIu64, v);
}

void json_int(json_t *j, int64_t v)
{
    json_before_item(j);
    fprintf(j->out, "%" PRId64, v);
}

void json_double(json_t *j, double v)
{
    json_before_item(j);
    if (isnan(v) || isinf(v))
        fputs("null", j->out);
    else
        fprintf(j->out, "%.6f", v);
}

void json_bool(json_t *j, int v)
{
    json_before_item(j);
    fputs(v ? "true" : "false", j->out);
}

void json_null(json_t *j)
{
    json_before_item(j);
    fputs("null", j->out);
}

void json_kv_string(json_t *j, const char *key, const char *s)
{
    json_key(j, key);
    json_string(j, s);
}

void json_kv_uint(json_t *j, const char *key, uint64_t v)
{
    json_key(j, key);
    json_uint(j, v);
}

void json_kv_double(json_t *j, const char *key, double v)
{
    json_key(j, key);
    json_double(j, v);
}
