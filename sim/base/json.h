/* json.h: a small streaming JSON writer with deterministic number output.
 *
 * The writer tracks nesting so commas and indentation come out right; the
 * caller opens and closes objects/arrays in order.  Doubles are printed
 * with "%.6f"-style fixed precision (json_double) so two runs that compute
 * the same figures write the same bytes. */
#ifndef ARENALAB_SIM_BASE_JSON_H
#define ARENALAB_SIM_BASE_JSON_H

#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

typedef struct {
    FILE *out;
    int depth;
    int count[JSON_MAX_DEPTH]; /* items written at each depth */
    int pending_key;           /* a key was written; its value comes next */
} json_t;

void json_init(json_t *j, FILE *out);
void json_object_begin(json_t *j);
void json_object_end(json_t *j);
void json_array_begin(json_t *j);
void json_array_end(json_t *j);
void json_key(json_t *j, const char *key);
void json_string(json_t *j, const char *s);
void json_uint(json_t *j, uint64_t v);
void json_int(json_t *j, int64_t v);
/* Fixed 6 decimals; NaN/inf become null. */
void json_double(json_t *j, double v);
void json_bool(json_t *j, int v);
void json_null(json_t *j);

/* key + value shorthands */
void json_kv_string(json_t *j, const char *key, const char *s);
void json_kv_uint(json_t *j, const char *key, uint64_t v);
void json_kv_double(json_t *j, const char *key, double v);

/* Writes S as a JSON string literal (quotes and escapes) to OUT. */
void json_write_escaped(FILE *out, const char *s);

#endif
