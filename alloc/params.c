/* params.c: allocator specs and `key=value` parameters (see params.h). */
#include "alloc/params.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int alloc_parse_size(const char *text, uint64_t *out)
{
    if (!text || *text < '0' || *text > '9') return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno) return -1;
    unsigned shift = 0;
    switch (*end) {
    case 'k':
    case 'K':
        shift = 10;
        end++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        end++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        end++;
        break;
    }
    if (*end == 'i' || *end == 'B') end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
    if (*end) return -1;
    if (shift && v > (UINT64_MAX >> shift)) return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

/* The layers a spec may ask for (params.h), by the word that names them. */
static const struct {
    const char *word;
    unsigned bit;
} alloc_layers[] = {
    {"debug", ALLOC_LAYER_DEBUG},
};

#define ALLOC_NLAYERS (sizeof alloc_layers / sizeof alloc_layers[0])

/* The layer bit WORD names, or 0. */
static unsigned alloc_layer(const char *word)
{
    for (size_t i = 0; i < ALLOC_NLAYERS; i++)
        if (strcmp(word, alloc_layers[i].word) == 0) return alloc_layers[i].bit;
    return 0;
}

/* Moves "_WORD" suffixes of NAME that name layers into *LAYERS (the name
 * keeps at least one character). */
static void alloc_name_layers(char *name, unsigned *layers)
{
    for (char *us; (us = strrchr(name, '_')) && us > name;) {
        unsigned bit = alloc_layer(us + 1);
        if (!bit) return;
        *layers |= bit;
        *us = '\0';
    }
}

/* ---- so: and plugin: heads (params.h) ------------------------------------ */

static const struct {
    const char *prefix;
    alloc_ext_kind_t kind;
} params_ext_kinds[] = {{"so:", ALLOC_EXT_SO}, {"plugin:", ALLOC_EXT_PLUGIN}};

static int params_name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == '+' || ch == '-';
}

int alloc_spec_ext(const char *text, alloc_ext_t *x, char *err, size_t errlen)
{
    const char *p = NULL;
    memset(x, 0, sizeof *x);
    for (size_t k = 0; k < sizeof params_ext_kinds / sizeof params_ext_kinds[0]; k++) {
        size_t n = strlen(params_ext_kinds[k].prefix);
        if (strncmp(text, params_ext_kinds[k].prefix, n) == 0) {
            x->kind = params_ext_kinds[k].kind;
            p = text + n;
        }
    }
    if (!p) return 0;
    const char *kind = x->kind == ALLOC_EXT_SO ? "so" : "plugin";
    size_t end = strcspn(p, ":");
    /* NAME=PATH when what precedes the first '=' has no '/' */
    const char *eq = memchr(p, '=', end), *path = p;
    if (eq && !memchr(p, '/', (size_t)(eq - p))) {
        size_t nl = (size_t)(eq - p);
        for (size_t i = 0; i < nl; i++)
            if (!params_name_char(p[i])) nl = 0;
        if (nl == 0 || nl > ALLOC_EXT_NAME_MAX) {
            snprintf(err, errlen,
                     "'%s': bad name before '=' (letters, digits and . _ + -, at most %d): "
                     "expected %s:[NAME=]PATH",
                     text, ALLOC_EXT_NAME_MAX, kind);
            return -1;
        }
        memcpy(x->name, p, nl);
        path = eq + 1;
    }
    size_t pl = end - (size_t)(path - p);
    if (pl == 0) {
        snprintf(err, errlen, "'%s': no library path: expected %s:[NAME=]PATH", text, kind);
        return -1;
    }
    if (pl > ALLOC_EXT_PATH_MAX) {
        snprintf(err, errlen, "'%.60s...': library path longer than %d bytes", text,
                 ALLOC_EXT_PATH_MAX);
        return -1;
    }
    memcpy(x->path, path, pl);
    if (!strchr(x->path, '/')) {
        snprintf(err, errlen,
                 "'%s': the library path must contain a '/' (./%s for one in this directory)", text,
                 x->path);
        return -1;
    }
    if (strpbrk(x->path, ", \t\n")) {
        snprintf(err, errlen, "'%s': a library path cannot hold ',' or blanks", text);
        return -1;
    }
    if (!x->name[0]) {
        const char *slash = strrchr(x->path, '/');
        if (!slash[1]) {
            snprintf(err, errlen, "'%s': the library path names a directory", text);
            return -1;
        }
        snprintf(x->name, sizeof x->name, "%s", slash + 1);
    }
    x->head = (size_t)(path - text) + pl;
    return 1;
}

size_t alloc_spec_class_len(const char *text)
{
    alloc_ext_t x;
    char err[8];
    return alloc_spec_ext(text, &x, err, sizeof err) == 1 ? x.head : strcspn(text, ":");
}

int alloc_spec_display(const char *text, char *buf, size_t len)
{
    alloc_ext_t x;
    char err[8];
    if (alloc_spec_ext(text, &x, err, sizeof err) != 1) return snprintf(buf, len, "%s", text);
    return snprintf(buf, len, "%s%s", x.name, text + x.head);
}

/* ---- specs ---------------------------------------------------------------- */

int alloc_spec_parse(alloc_spec_t *spec, const char *text, char *err, size_t errlen)
{
    memset(spec, 0, sizeof *spec);
    size_t len = strlen(text);
    if (len >= sizeof spec->buf) {
        snprintf(err, errlen, "allocator spec too long: '%.40s...'", text);
        return -1;
    }
    memcpy(spec->buf, text, len + 1);
    char *save = NULL, *rest = spec->buf;
    alloc_ext_t x;
    int ext = alloc_spec_ext(text, &x, err, errlen);
    if (ext < 0) return -1;
    if (ext) {
        /* the head is the name; a ':' after it starts the parameters */
        memcpy(spec->name, text, x.head);
        spec->name[x.head] = '\0';
        rest = spec->buf + x.head;
    } else {
        char *name = strtok_r(spec->buf, ":", &save);
        if (!name || !*name || strlen(name) >= sizeof spec->name) {
            snprintf(err, errlen, "bad allocator spec '%s': expected NAME[:key=value...]", text);
            return -1;
        }
        strcpy(spec->name, name);
        alloc_name_layers(spec->name, &spec->layers);
        rest = NULL;
    }
    for (char *kv; (kv = strtok_r(rest, ":", &save)); rest = NULL) {
        char *eq = strchr(kv, '=');
        if (!eq && alloc_layer(kv)) {
            spec->layers |= alloc_layer(kv);
            continue;
        }
        if (!eq || eq == kv || !eq[1]) {
            snprintf(err, errlen, "bad parameter '%s' in '%s': expected key=value (or debug)", kv,
                     text);
            return -1;
        }
        if (spec->nparams == ALLOC_MAX_PARAMS) {
            snprintf(err, errlen, "too many parameters in '%s' (at most %d)", text,
                     ALLOC_MAX_PARAMS);
            return -1;
        }
        *eq = '\0';
        spec->params[spec->nparams++] = (alloc_param_t){kv, eq + 1, 0};
    }
    return 0;
}

static alloc_param_t *params_find(alloc_param_t *params, size_t n, const char *key)
{
    alloc_param_t *found = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(params[i].key, key) == 0) {
            params[i].used = 1;
            found = &params[i]; /* the last one given wins */
        }
    return found;
}

int alloc_param_size(alloc_param_t *params, size_t n, const char *key, uint64_t min, uint64_t max,
                     uint64_t *out, char *err, size_t errlen)
{
    alloc_param_t *p = params_find(params, n, key);
    if (!p) return 0;
    uint64_t v;
    if (alloc_parse_size(p->value, &v) || v < min || v > max) {
        snprintf(err, errlen,
                 "parameter %s=%s: expected a size from %llu to %llu (K/M/G suffixes allowed)", key,
                 p->value, (unsigned long long)min, (unsigned long long)max);
        return -1;
    }
    *out = v;
    return 0;
}

int alloc_param_choice(alloc_param_t *params, size_t n, const char *key, const char *const *choices,
                       int *out, char *err, size_t errlen)
{
    alloc_param_t *p = params_find(params, n, key);
    if (!p) return 0;
    for (int i = 0; choices[i]; i++)
        if (strcmp(choices[i], p->value) == 0) {
            *out = i;
            return 0;
        }
    int off = snprintf(err, errlen, "parameter %s=%s: expected one of", key, p->value);
    for (int i = 0; choices[i] && off > 0 && (size_t)off < errlen; i++)
        off += snprintf(err + off, errlen - (size_t)off, "%s %s", i ? "," : "", choices[i]);
    return -1;
}

const char *alloc_params_unused(const alloc_param_t *params, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!params[i].used) return params[i].key;
    return NULL;
}

/* ---- canonical specs ------------------------------------------------------ */

/* VALUE as canonical text: a size in its largest exact unit, anything
 * else as given. */
static void params_value(const char *value, char *buf, size_t len)
{
    static const struct {
        unsigned shift;
        char suffix;
    } units[] = {{30, 'G'}, {20, 'M'}, {10, 'K'}};
    uint64_t v;
    if (alloc_parse_size(value, &v) != 0) {
        snprintf(buf, len, "%s", value);
        return;
    }
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++)
        if (v && v % ((uint64_t)1 << units[u].shift) == 0) {
            snprintf(buf, len, "%llu%c", (unsigned long long)(v >> units[u].shift),
                     units[u].suffix);
            return;
        }
    snprintf(buf, len, "%llu", (unsigned long long)v);
}

/* The canonical value of KEY in D (parsed defaults), or NULL. */
static const char *params_default(const alloc_spec_t *d, const char *key, char *buf, size_t len)
{
    for (size_t i = d->nparams; i-- > 0;)
        if (strcmp(d->params[i].key, key) == 0) {
            params_value(d->params[i].value, buf, len);
            return buf;
        }
    return NULL;
}

static int params_cmp_key(const void *a, const void *b)
{
    return strcmp(((const alloc_param_t *)a)->key, ((const alloc_param_t *)b)->key);
}

int alloc_spec_canonical(const char *text, const char *defaults, char *buf, size_t len, char *err,
                         size_t errlen)
{
    alloc_spec_t s, d;
    if (alloc_spec_parse(&s, text, err, errlen)) return -1;
    d.nparams = 0;
    if (defaults && *defaults) {
        char full[sizeof d.buf];
        snprintf(full, sizeof full, "%s:%s", s.name, defaults);
        if (alloc_spec_parse(&d, full, err, errlen)) return -1;
    }
    /* Each key once, the last given: drop earlier duplicates. */
    size_t n = 0;
    for (size_t i = 0; i < s.nparams; i++) {
        int later = 0;
        for (size_t j = i + 1; j < s.nparams; j++)
            later |= strcmp(s.params[i].key, s.params[j].key) == 0;
        if (!later) s.params[n++] = s.params[i];
    }
    qsort(s.params, n, sizeof s.params[0], params_cmp_key);
    char v[64], dv[64];
    int keep_all = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(s.params[i].key, "preset") == 0) {
            params_value(s.params[i].value, v, sizeof v);
            const char *pd = params_default(&d, "preset", dv, sizeof dv);
            keep_all = !pd || strcmp(v, pd) != 0;
        }
    size_t used = (size_t)snprintf(buf, len, "%s", s.name);
    for (size_t i = 0; i < n && used < len; i++) {
        params_value(s.params[i].value, v, sizeof v);
        const char *def = params_default(&d, s.params[i].key, dv, sizeof dv);
        if (!keep_all && def && strcmp(def, v) == 0) continue;
        used += (size_t)snprintf(buf + used, len - used, ":%s=%s", s.params[i].key, v);
    }
    /* the layers are part of the configuration: pymalloc_debug is not
     * pymalloc */
    for (size_t i = 0; i < ALLOC_NLAYERS && used < len; i++)
        if (s.layers & alloc_layers[i].bit)
            used += (size_t)snprintf(buf + used, len - used, ":%s", alloc_layers[i].word);
    if (used >= len) {
        snprintf(err, errlen, "canonical form of '%s' too long", text);
        return -1;
    }
    return 0;
}
