/* route.c: allocator instances per CPython domain (see route.h). */
#include "sim/replay/route.h"
#include "sim/base/cli.h"

#include <string.h>

void route_uniform(route_t *r, const char *spec)
{
    for (int d = 0; d < TRACE_NDOMAINS; d++)
        r->spec[d] = spec;
    r->label = NULL;
}

/* The domain an element "raw=..." names, or -1 for a plain allocator. */
static int route_element_domain(const char *el, const char **spec)
{
    const char *eq = strchr(el, '='), *colon = strchr(el, ':');
    if (!eq || (colon && colon < eq)) return -1; /* name:k=v */
    for (int d = 0; d < TRACE_NDOMAINS; d++) {
        size_t len = strlen(trace_domain_name[d]);
        if ((size_t)(eq - el) == len && strncmp(el, trace_domain_name[d], len) == 0) {
            *spec = eq + 1;
            return d;
        }
    }
    return -2;
}

const route_alias_t route_aliases[] = {
    {"pymalloc", "malloc", NULL, "raw -> malloc, mem and obj -> one pymalloc (CPython's default)"},
    {"pymalloc_debug", "malloc_debug", NULL,
     "pymalloc with CPython's debug hooks on every domain (raw -> malloc_debug)"},
    {"debug", "malloc_debug", "pymalloc_debug",
     "the default allocators with CPython's debug hooks: pymalloc_debug"},
    {"malloc", NULL, NULL, "every domain to the process's malloc"},
    {"malloc_debug", NULL, NULL, "malloc with CPython's debug hooks on every domain"},
    {NULL, NULL, NULL, NULL},
};

/* The alias element EL names (its name before any colon), or NULL. */
static const route_alias_t *route_alias(const char *el)
{
    size_t len = strcspn(el, ":");
    for (const route_alias_t *a = route_aliases; a->name; a++)
        if (strlen(a->name) == len && strncmp(el, a->name, len) == 0) return a;
    return NULL;
}

int route_parse_list(char *text, route_t *routes, size_t max, size_t *n, char *err, size_t errlen)
{
    route_t *open_route = NULL; /* the explicit route being filled */
    char *save = NULL;
    for (char *el = strtok_r(text, ",", &save); el; el = strtok_r(NULL, ",", &save)) {
        /* "pymalloc, mimalloc": blanks around a name are no part of it */
        while (*el == ' ' || *el == '\t')
            el++;
        for (size_t k = strlen(el); k > 0 && (el[k - 1] == ' ' || el[k - 1] == '\t'); k--)
            el[k - 1] = '\0';
        if (!*el) {
            snprintf(err, errlen, "an empty name in the list");
            return -1;
        }
        const char *spec = NULL;
        int d = route_element_domain(el, &spec);
        if (d == -2) {
            snprintf(err, errlen,
                     "'%s': a route names a domain (raw=, mem=, obj=); an allocator's "
                     "parameters follow a colon (NAME:key=value)",
                     el);
            return -1;
        }
        if (d >= 0 && !*spec) {
            snprintf(err, errlen, "'%s': no allocator for the %s domain", el, trace_domain_name[d]);
            return -1;
        }
        if (d >= 0 && open_route && open_route->spec[d] == NULL) {
            open_route->spec[d] = spec;
            continue;
        }
        if (d >= 0 && open_route) {
            snprintf(err, errlen,
                     "'%s': the %s domain is given twice in one route (give each route its "
                     "own --alloc)",
                     el, trace_domain_name[d]);
            return -1;
        }
        if (*n == max) {
            snprintf(err, errlen, "too many allocators (at most %zu)", max);
            return -1;
        }
        const route_alias_t *alias = d < 0 ? route_alias(el) : NULL;
        if (alias && alias->memobj && strchr(el, ':')) {
            snprintf(err, errlen, "'%s': %s takes no parameters (give %s:key=value)", el,
                     alias->name, alias->memobj);
            return -1;
        }
        route_t *r = &routes[(*n)++];
        memset(r, 0, sizeof *r);
        open_route = NULL;
        if (d >= 0) {
            r->spec[d] = spec;
            open_route = r;
        } else if (alias && alias->raw) {
            r->spec[TRACE_RAW] = alias->raw;
            r->spec[TRACE_MEM] = r->spec[TRACE_OBJ] = alias->memobj ? alias->memobj : el;
            r->label = el;
        } else {
            route_uniform(r, el);
        }
    }
    /* Domains an explicit route left out go to malloc. */
    for (size_t i = 0; i < *n; i++)
        for (int d = 0; d < TRACE_NDOMAINS; d++)
            if (!routes[i].spec[d]) routes[i].spec[d] = "malloc";
    return 0;
}

int route_is_uniform(const route_t *r)
{
    return strcmp(r->spec[0], r->spec[1]) == 0 && strcmp(r->spec[1], r->spec[2]) == 0;
}

int route_name(const route_t *r, char *buf, size_t len)
{
    if (r->label) return snprintf(buf, len, "%s", r->label);
    /* so:/plugin: specs by their short names (alloc_spec_display) */
    char show[TRACE_NDOMAINS][256];
    for (int d = 0; d < TRACE_NDOMAINS; d++)
        alloc_spec_display(r->spec[d], show[d], sizeof show[d]);
    if (route_is_uniform(r)) return snprintf(buf, len, "%s", show[0]);
    return snprintf(buf, len, "%s=%s,%s=%s,%s=%s", trace_domain_name[0], show[0],
                    trace_domain_name[1], show[1], trace_domain_name[2], show[2]);
}

/* The registered allocator closest to NAME when it looks like a typo of
 * it (at most two edits), else NULL. */
static const char *route_nearest(const char *name)
{
    const char *best = NULL;
    size_t bestd = 3;
    for (const alloc_class_t *const *c = alloc_registry; *c; c++) {
        size_t dist = cli_distance(name, (*c)->name);
        if (dist < bestd) best = (*c)->name, bestd = dist;
    }
    return best;
}

/* Parses domain D's spec into H and finds its class. */
static int route_parse(route_heaps_t *h, const route_t *r, int d, route_find_fn find, char *err,
                       size_t errlen)
{
    if (alloc_spec_parse(&h->spec[d], r->spec[d], err, errlen)) return ROUTE_EUSAGE;
    h->cls[d] = (find ? find : alloc_find)(h->spec[d].name);
    if (!h->cls[d] || !h->cls[d]->create) {
        const char *near = find ? NULL : route_nearest(h->spec[d].name);
        snprintf(err, errlen, "unknown allocator '%s'%s%s%s (see 'arenalab replay --list')",
                 h->spec[d].name, near ? " (did you mean " : "", near ? near : "",
                 near ? "?)" : "");
        return ROUTE_EUSAGE;
    }
    char why[768];
    if (h->cls[d]->available && !h->cls[d]->available(why, sizeof why)) {
        snprintf(err, errlen, "allocator %s is not available here: %s", h->spec[d].name, why);
        return ROUTE_EUSAGE;
    }
    return 0;
}

int route_check(const route_t *r, route_find_fn find, unsigned *flags, char *err, size_t errlen)
{
    route_heaps_t h;
    *flags = 0;
    for (int d = 0; d < TRACE_NDOMAINS; d++) {
        int rc = route_parse(&h, r, d, find, err, errlen);
        if (rc) return rc;
        *flags |= h.cls[d]->flags;
    }
    return 0;
}

int route_all_have(const route_t *r, route_find_fn find, unsigned flag)
{
    route_heaps_t h;
    char err[256];
    for (int d = 0; d < TRACE_NDOMAINS; d++)
        if (route_parse(&h, r, d, find, err, sizeof err) || !(h.cls[d]->flags & flag)) return 0;
    return 1;
}

int route_thread_safe(const route_t *r, route_find_fn find)
{
    return route_all_have(r, find, ALLOC_THREAD_SAFE) && !route_has_debug(r);
}

/* Domain D's canonical spec into BUF, CLS being its class. */
static int route_canon_one(const alloc_class_t *cls, const route_t *r, int d, char *buf, size_t len,
                           char *err, size_t errlen)
{
    if (alloc_spec_canonical(r->spec[d], cls->defaults, buf, len, err, errlen)) return ROUTE_EUSAGE;
    return 0;
}

int route_canonical(const route_t *r, route_find_fn find, char *buf, size_t len, char *err,
                    size_t errlen)
{
    route_heaps_t h;
    char c[TRACE_NDOMAINS][sizeof h.spec[0].buf];
    for (int d = 0; d < TRACE_NDOMAINS; d++) {
        int rc = route_parse(&h, r, d, find, err, errlen);
        if (!rc) rc = route_canon_one(h.cls[d], r, d, c[d], sizeof c[d], err, errlen);
        if (rc) return rc;
    }
    int n = strcmp(c[0], c[1]) == 0 && strcmp(c[1], c[2]) == 0
                ? snprintf(buf, len, "%s", c[0])
                : snprintf(buf, len, "%s=%s,%s=%s,%s=%s", trace_domain_name[0], c[0],
                           trace_domain_name[1], c[1], trace_domain_name[2], c[2]);
    if (n < 0 || (size_t)n >= len) {
        snprintf(err, errlen, "configuration name too long");
        return ROUTE_EUSAGE;
    }
    return 0;
}

int route_has_debug(const route_t *r)
{
    for (int d = 0; d < TRACE_NDOMAINS; d++) {
        alloc_spec_t s;
        char err[256];
        if (r->spec[d] && alloc_spec_parse(&s, r->spec[d], err, sizeof err) == 0 &&
            (s.layers & ALLOC_LAYER_DEBUG))
            return 1;
    }
    return 0;
}

int route_preload(const route_t *r, route_find_fn find, char *buf, size_t len)
{
    route_heaps_t h;
    char err[256];
    size_t used = 0;
    if (len == 0) return -1;
    buf[0] = '\0';
    for (int d = 0; d < TRACE_NDOMAINS; d++) {
        if (route_parse(&h, r, d, find, err, sizeof err)) return -1;
        const char *lib = h.cls[d]->preload;
        if (!(h.cls[d]->flags & ALLOC_PRELOAD) || !lib || !*lib) continue;
        int seen = 0;
        for (int e = 0; e < d; e++)
            seen |= (h.cls[e]->flags & ALLOC_PRELOAD) && h.cls[e]->preload &&
                    strcmp(h.cls[e]->preload, lib) == 0;
        if (seen) continue;
        int n = snprintf(buf + used, len - used, "%s%s", used ? ":" : "", lib);
        if (n < 0 || (size_t)n >= len - used) return -1;
        used += (size_t)n;
    }
    return 0;
}

/* dbg_report_fn of the route's layers: counted, the last one kept for the
 * replay to report (sim/replay/replay.c). */
static void route_dbg_fault(void *ud, const dbg_fault_t *f)
{
    route_heaps_t *h = ud;
    h->nfaults++;
    h->fault = *f;
}

/* Wraps domain D's new instance in the debug layer.  0, or ROUTE_EUSAGE
 * with the instance destroyed. */
static int route_wrap(route_heaps_t *h, const route_t *r, int d, char *err, size_t errlen)
{
    dbg_t *g = dbg_new(h->cls[d], &h->a[d], route_dbg_fault, h);
    if (!g) {
        h->cls[d]->destroy(h->a[d].ctx);
        snprintf(err, errlen, "%s: out of memory for the debug layer", r->spec[d]);
        return ROUTE_EUSAGE;
    }
    h->dbg[d] = g;
    h->cls[d] = dbg_class(g);
    h->a[d] = dbg_domain(g, d);
    return 0;
}

/* Domain D's instance: shared with an earlier domain of the same spec, or
 * created (and wrapped in the debug layer when its spec asks). */
static int route_create_one(route_heaps_t *h, const route_t *r, int d, route_find_fn find,
                            char *err, size_t errlen)
{
    int rc = route_parse(h, r, d, find, err, errlen);
    if (rc) return rc;
    const alloc_class_t *c = h->cls[d];
    h->flags |= c->flags;
    h->inst[d] = d;
    char mine[sizeof h->spec[0].buf], other[sizeof h->spec[0].buf];
    if (!(c->flags & ALLOC_PER_DOMAIN)) {
        if ((rc = route_canon_one(c, r, d, mine, sizeof mine, err, errlen))) return rc;
        for (int e = 0; e < d; e++) {
            /* the same class by name (a debug layer stands in front of
             * h->cls[e]), and the same configuration */
            if (h->inst[e] != e || strcmp(h->spec[e].name, h->spec[d].name) != 0) continue;
            if ((rc = route_canon_one(c, r, e, other, sizeof other, err, errlen))) return rc;
            if (strcmp(other, mine) == 0) {
                h->inst[d] = e;
                h->cls[d] = h->cls[e];
                h->a[d] = h->dbg[e] ? dbg_domain(h->dbg[e], d) : h->a[e];
                return 0;
            }
        }
    }
    alloc_spec_t *s = &h->spec[d];
    if (c->flags & ALLOC_PER_DOMAIN) {
        /* the routing gives each trace domain its own instance and names
         * the domain itself (the last value given wins): a user's
         * domain= would be silently overridden, so it is refused */
        for (size_t i = 0; i < s->nparams; i++)
            if (strcmp(s->params[i].key, "domain") == 0) {
                snprintf(err, errlen,
                         "%s: parameter 'domain' is set by the routing (each trace domain "
                         "gets an instance of its own); send a domain elsewhere with "
                         "--alloc raw=A,mem=B,obj=C",
                         r->spec[d]);
                return ROUTE_EUSAGE;
            }
        if (s->nparams == ALLOC_MAX_PARAMS) {
            snprintf(err, errlen, "%s: too many parameters", r->spec[d]);
            return ROUTE_EUSAGE;
        }
        s->params[s->nparams++] = (alloc_param_t){"domain", trace_domain_name[d], 0};
    }
    char msg[768] = "";
    if (c->create(&h->a[d], s->params, s->nparams, msg, sizeof msg)) {
        snprintf(err, errlen, "%s: %s", r->spec[d], msg[0] ? msg : "cannot create the allocator");
        return ROUTE_EUSAGE;
    }
    const char *unused = alloc_params_unused(s->params, s->nparams);
    if (unused) {
        c->destroy(h->a[d].ctx);
        snprintf(err, errlen, "%s: unknown parameter '%s' for allocator %s", r->spec[d], unused,
                 c->name);
        return ROUTE_EUSAGE;
    }
    if ((s->layers & ALLOC_LAYER_DEBUG) && (rc = route_wrap(h, r, d, err, errlen))) return rc;
    h->ninst++;
    return 0;
}

/* CPython's obmalloc sends what it does not serve to PyMem_RawMalloc, the
 * raw domain; under the debug hooks that domain adds its own header and
 * trailer.  So when the raw domain has the debug layer, a mem/obj instance
 * of another spec whose class can take it (set_raw: pymalloc) falls back
 * on the raw domain's allocator, hooks included, rather than on malloc. */
static void route_wire_raw(route_heaps_t *h)
{
    if (!route_debugged(h, TRACE_RAW)) return;
    for (int d = TRACE_RAW + 1; d < TRACE_NDOMAINS; d++)
        if (h->inst[d] == d && h->cls[d]->set_raw)
            h->cls[d]->set_raw(h->a[d].ctx, &h->a[TRACE_RAW], h->cls[TRACE_RAW]->usable_size);
}

int route_create(route_heaps_t *h, const route_t *r, route_find_fn find, char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    for (int d = 0; d < TRACE_NDOMAINS; d++) {
        int rc = route_create_one(h, r, d, find, err, errlen);
        if (rc) {
            for (int e = 0; e < d; e++)
                if (h->inst[e] == e) h->cls[e]->destroy(h->a[e].ctx);
            memset(h, 0, sizeof *h);
            return rc;
        }
    }
    route_wire_raw(h);
    return 0;
}

void route_destroy(route_heaps_t *h)
{
    /* last domain first: an instance falling back on the raw domain's goes
     * before it */
    for (int d = TRACE_NDOMAINS - 1; d >= 0; d--)
        if (h->cls[d] && h->inst[d] == d) h->cls[d]->destroy(h->a[d].ctx);
    memset(h, 0, sizeof *h);
}

/* Whether domain D's instance describes the process's malloc (raw, a
 * preloaded library) and one such was counted already: every byte once.
 * Sets *PROCESS_HEAP when it is the first. */
static int route_counted(const route_heaps_t *h, int d, int *process_heap)
{
    if (!(h->cls[d]->flags & ALLOC_PROCESS_STATS)) return 0;
    if (*process_heap) return 1;
    *process_heap = 1;
    return 0;
}

void route_footprint(const route_heaps_t *h, uint64_t *footprint, uint64_t *peak)
{
    *footprint = *peak = 0;
    int process_heap = 0;
    for (int d = 0; d < TRACE_NDOMAINS; d++) {
        if (h->inst[d] != d || route_counted(h, d, &process_heap)) continue;
        alloc_stats_t s;
        s.peak_footprint = 0;
        s.nextra = 0;
        h->cls[d]->stats(h->a[d].ctx, &s);
        *footprint += s.footprint;
        if (h->ninst == 1) *peak = s.peak_footprint;
    }
}

int route_stats(const route_heaps_t *h, uint64_t *footprint, uint64_t *peak,
                char (*names)[ROUTE_NAME_MAX], uint64_t *values)
{
    int n = 0;
    *footprint = *peak = 0;
    int process_heap = 0;
    for (int d = 0; d < TRACE_NDOMAINS; d++) {
        if (h->inst[d] != d || route_counted(h, d, &process_heap)) continue;
        alloc_stats_t s;
        memset(&s, 0, sizeof s);
        h->cls[d]->stats(h->a[d].ctx, &s);
        *footprint += s.footprint;
        if (h->ninst == 1) *peak = s.peak_footprint;
        for (int i = 0; i < s.nextra && i < ALLOC_MAX_EXTRA; i++, n++) {
            if (h->ninst == 1)
                snprintf(names[n], ROUTE_NAME_MAX, "%s", s.extra[i].name);
            else
                snprintf(names[n], ROUTE_NAME_MAX, "%s_%s", trace_domain_name[d], s.extra[i].name);
            values[n] = s.extra[i].value;
        }
    }
    return n;
}
