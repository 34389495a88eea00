/* plan.c: a report's expanded experiment and run settings, written to and
 * read from its result directory (see plan.h). */
#include "sim/report/plan.h"
#include "sim/base/outfile.h"
#include "sim/base/tsv.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define PLAN_VERSION 1

/* ---- writing --------------------------------------------------------------------- */

static void plan_kv(FILE *f, const char *key, const char *value)
{
    tsv_begin(f, key);
    tsv_put_str(f, value);
    tsv_end(f);
}

static void plan_ku(FILE *f, const char *key, uint64_t value)
{
    tsv_begin(f, key);
    tsv_put_u64(f, value);
    tsv_end(f);
}

static void plan_write_exp(FILE *f, const exp_t *e)
{
    plan_kv(f, "name", e->name);
    plan_kv(f, "file", e->file);
    plan_kv(f, "root", e->root);
    plan_ku(f, "repeat", e->repeat);
    plan_ku(f, "samples", e->samples);
    tsv_begin(f, "counts");
    tsv_put_u64(f, e->ntraces);
    tsv_put_u64(f, e->nallocs);
    tsv_put_u64(f, e->nsweeps);
    tsv_put_u64(f, e->nunits);
    tsv_end(f);
    for (size_t t = 0; t < e->ntraces; t++) {
        const exp_trace_t *tr = &e->traces[t];
        tsv_begin(f, "trace");
        tsv_put_str(f, tr->name);
        tsv_put_str(f, tr->path);
        tsv_put_str(f, tr->script);
        tsv_put_u64(f, tr->seed);
        tsv_put_u64(f, (uint64_t)tr->line);
        tsv_put_u64(f, tr->ndefs);
        tsv_put_str(f, tr->group);
        tsv_put_str(f, tr->swept);
        tsv_end(f);
        for (size_t d = 0; d < tr->ndefs; d++) {
            tsv_begin(f, "def");
            tsv_put_str(f, tr->defs[d].key);
            tsv_put_str(f, tr->defs[d].value);
            tsv_end(f);
        }
    }
    for (size_t a = 0; a < e->nallocs; a++) {
        tsv_begin(f, "alloc");
        tsv_put_str(f, e->allocs[a].spec);
        tsv_put_u64(f, (uint64_t)e->allocs[a].optional);
        tsv_put_u64(f, (uint64_t)e->allocs[a].line);
        tsv_put_str(f, e->allocs[a].skip);
        tsv_end(f);
    }
    for (size_t s = 0; s < e->nsweeps; s++) {
        const exp_sweep_t *w = &e->sweeps[s];
        tsv_begin(f, "sweep");
        tsv_put_str(f, w->title);
        tsv_put_str(f, w->base);
        tsv_put_str(f, w->param);
        tsv_put_u64(f, w->repeat);
        tsv_put_u64(f, (uint64_t)w->line);
        tsv_put_u64(f, (uint64_t)w->numeric);
        tsv_put_u64(f, w->nvalues);
        tsv_put_u64(f, w->ntraces);
        tsv_end(f);
        for (size_t v = 0; v < w->nvalues; v++) {
            tsv_begin(f, "value");
            tsv_put_str(f, w->values[v]);
            tsv_put_dbl(f, w->x ? w->x[v] : 0.0);
            tsv_end(f);
        }
        for (size_t t = 0; t < w->ntraces; t++)
            plan_ku(f, "sweep_trace", w->traces[t]);
    }
    for (size_t u = 0; u < e->nunits; u++) {
        tsv_begin(f, "unit");
        tsv_put_u64(f, e->units[u].trace);
        tsv_put_u64(f, e->units[u].repeat);
        tsv_put_str(f, e->units[u].spec);
        tsv_end(f);
    }
}

int plan_write(const plan_t *p, const char *path, char *err, size_t errlen)
{
    outfile_t o;
    if (outfile_open(&o, path, "w", err, errlen)) return -1;
    FILE *f = o.fp;
    plan_ku(f, "arenalab-plan", PLAN_VERSION);
    plan_write_exp(f, &p->exp);
    plan_ku(f, "seed", p->seed);
    plan_ku(f, "retries", p->retries);
    plan_kv(f, "partition", p->partition);
    plan_kv(f, "time", p->time);
    for (size_t i = 0; i < p->nsbatch_args; i++)
        plan_kv(f, "sbatch_arg", p->sbatch_args[i]);
    plan_kv(f, "command", p->command);
    plan_kv(f, "stamp", p->stamp);
    for (size_t i = 0; i < p->sys.n; i++) {
        tsv_begin(f, "env");
        tsv_put_str(f, p->sys.e[i].key);
        tsv_put_str(f, p->sys.e[i].value);
        tsv_end(f);
    }
    plan_kv(f, "end", "");
    return outfile_commit(&o, err, errlen);
}

/* ---- reading --------------------------------------------------------------------- */

/* The settings a plan must have, one bit each. */
static const char *const plan_settings[] = {"name",    "file",    "root",    "repeat",
                                            "samples", "seed",    "retries", "partition",
                                            "time",    "command", "stamp",   NULL};

typedef struct {
    tsv_reader_t r;
    plan_t *p;
    size_t ntraces, nallocs, nsweeps, nunits; /* read so far             */
    int counted, ended;
    int in_sweep;             /* the last record was of a sweep          */
    size_t want_defs;         /* of the last trace                       */
    unsigned seen;            /* bit i: plan_settings[i] was read         */
    size_t nvalues, nstraces; /* of the last sweep, read so far          */
    char *err;
    size_t errlen;
} plan_reader_t;

/* "PATH:LINE: WHAT" into the error; returns -1. */
static int plan_bad(plan_reader_t *pr, const char *what)
{
    snprintf(pr->err, pr->errlen, "%s:%zu: %s", pr->r.name, pr->r.lineno, what);
    return -1;
}

/* Field K as a malloc'ed copy into *OUT (NULL stays NULL).  0 or -1. */
static int plan_dup(plan_reader_t *pr, size_t k, char **out)
{
    const char *s = tsv_str(&pr->r, k);
    *out = NULL;
    if (s && !(*out = strdup(s))) return plan_bad(pr, "out of memory");
    return 0;
}

/* Field K as a number no greater than MAX.  0 or -1. */
static int plan_num(plan_reader_t *pr, size_t k, uint64_t max, uint64_t *out)
{
    if (tsv_get_u64(tsv_str(&pr->r, k), out) || *out > max)
        return plan_bad(pr, "a number out of range");
    return 0;
}

/* The unit of TRACE with SPEC, or EXP_NONE. */
static size_t plan_unit(const exp_t *e, size_t trace, const char *spec)
{
    for (size_t u = 0; u < e->nunits; u++)
        if (e->units[u].trace == trace && strcmp(e->units[u].spec, spec) == 0) return u;
    return EXP_NONE;
}

/* The grid and the sweep points, from the units (see plan.h).  0 or -1. */
static int plan_derive(plan_reader_t *pr)
{
    exp_t *e = &pr->p->exp;
    if (e->ntraces && e->nallocs && !(e->grid = malloc(e->ntraces * e->nallocs * sizeof *e->grid)))
        return plan_bad(pr, "out of memory");
    for (size_t t = 0; t < e->ntraces; t++)
        for (size_t a = 0; a < e->nallocs; a++) {
            size_t u = e->allocs[a].skip ? EXP_NONE : plan_unit(e, t, e->allocs[a].spec);
            if (!e->allocs[a].skip && u == EXP_NONE)
                return plan_bad(pr, "an allocator of a trace has no unit");
            e->grid[t * e->nallocs + a] = u;
        }
    for (size_t s = 0; s < e->nsweeps; s++) {
        exp_sweep_t *w = &e->sweeps[s];
        if (w->ntraces && !(w->points = malloc(w->ntraces * w->nvalues * sizeof *w->points)))
            return plan_bad(pr, "out of memory");
        for (size_t t = 0; t < w->ntraces; t++)
            for (size_t v = 0; v < w->nvalues; v++) {
                char spec[2048];
                snprintf(spec, sizeof spec, "%s:%s=%s", w->base, w->param, w->values[v]);
                size_t u = plan_unit(e, w->traces[t], spec);
                if (u == EXP_NONE) return plan_bad(pr, "a sweep point has no unit");
                w->points[t * w->nvalues + v] = u;
            }
    }
    return 0;
}

/* The arrays, once "counts" is read.  0 or -1. */
static int plan_counts(plan_reader_t *pr)
{
    exp_t *e = &pr->p->exp;
    uint64_t n[4];
    for (size_t k = 0; k < 4; k++)
        if (plan_num(pr, k + 1, 1u << 24, &n[k])) return -1;
    if (pr->counted) return plan_bad(pr, "a second 'counts'");
    pr->counted = 1;
    if (!(e->traces = calloc(n[0] + 1, sizeof *e->traces)) ||
        !(e->allocs = calloc(n[1] + 1, sizeof *e->allocs)) ||
        !(e->sweeps = calloc(n[2] + 1, sizeof *e->sweeps)) ||
        !(e->units = calloc(n[3] + 1, sizeof *e->units)))
        return plan_bad(pr, "out of memory");
    pr->ntraces = n[0];
    pr->nallocs = n[1];
    pr->nsweeps = n[2];
    pr->nunits = n[3];
    return 0;
}

/* One record of the experiment's lists.  0 or -1. */
static int plan_item(plan_reader_t *pr, const char *key)
{
    exp_t *e = &pr->p->exp;
    uint64_t v1, v2;
    if (!pr->counted) return plan_bad(pr, "a list before 'counts'");
    if (!strcmp(key, "trace")) {
        if (e->ntraces == pr->ntraces) return plan_bad(pr, "more traces than counted");
        exp_trace_t *t = &e->traces[e->ntraces++];
        if (plan_dup(pr, 1, &t->name) || plan_dup(pr, 2, &t->path) || plan_dup(pr, 3, &t->script) ||
            plan_num(pr, 4, UINT64_MAX, &t->seed) || plan_num(pr, 5, INT_MAX, &v1) ||
            plan_num(pr, 6, 1u << 16, &v2) || plan_dup(pr, 7, &t->group) ||
            plan_dup(pr, 8, &t->swept))
            return -1;
        t->line = (int)v1;
        pr->want_defs = (size_t)v2;
        if (!t->name || !t->path) return plan_bad(pr, "a trace without a name or a file");
    } else if (!strcmp(key, "def")) {
        if (e->ntraces == 0) return plan_bad(pr, "a 'def' before any trace");
        exp_trace_t *t = &e->traces[e->ntraces - 1];
        if (t->ndefs == pr->want_defs) return plan_bad(pr, "more parameters than counted");
        script_def_t *d = realloc(t->defs, (t->ndefs + 1) * sizeof *d);
        if (!d) return plan_bad(pr, "out of memory");
        t->defs = d;
        char *k = NULL, *v = NULL;
        if (plan_dup(pr, 1, &k) || plan_dup(pr, 2, &v) || !k || !v) {
            free(k);
            free(v);
            return pr->err[0] ? -1 : plan_bad(pr, "a 'def' without a key or value");
        }
        t->defs[t->ndefs++] = (script_def_t){k, v};
    } else if (!strcmp(key, "alloc")) {
        if (e->nallocs == pr->nallocs) return plan_bad(pr, "more allocators than counted");
        exp_alloc_t *a = &e->allocs[e->nallocs++];
        if (plan_dup(pr, 1, &a->spec) || plan_num(pr, 2, 1, &v1) || plan_num(pr, 3, INT_MAX, &v2) ||
            plan_dup(pr, 4, &a->skip))
            return -1;
        a->optional = (int)v1;
        a->line = (int)v2;
        if (!a->spec) return plan_bad(pr, "an allocator without a spec");
    } else if (!strcmp(key, "sweep")) {
        if (e->nsweeps == pr->nsweeps) return plan_bad(pr, "more sweeps than counted");
        exp_sweep_t *w = &e->sweeps[e->nsweeps++];
        uint64_t rep, line, num;
        if (plan_dup(pr, 1, &w->title) || plan_dup(pr, 2, &w->base) || plan_dup(pr, 3, &w->param) ||
            plan_num(pr, 4, EXP_MAX_REPEAT, &rep) || plan_num(pr, 5, INT_MAX, &line) ||
            plan_num(pr, 6, 1, &num) || plan_num(pr, 7, 1u << 20, &v1) ||
            plan_num(pr, 8, pr->ntraces, &v2))
            return -1;
        w->repeat = (unsigned)rep;
        w->line = (int)line;
        w->numeric = (int)num;
        if (!w->title || !w->base || !w->param || v1 == 0)
            return plan_bad(pr, "a sweep without a title, allocator, parameter or values");
        if (!(w->values = calloc(v1, sizeof *w->values)) || !(w->x = calloc(v1, sizeof *w->x)) ||
            !(w->traces = calloc(v2 + 1, sizeof *w->traces)))
            return plan_bad(pr, "out of memory");
        w->nvalues = (size_t)v1; /* filled by the "value" records below */
        w->ntraces = (size_t)v2;
        pr->nvalues = pr->nstraces = 0;
        pr->in_sweep = 1;
    } else if (!strcmp(key, "value") || !strcmp(key, "sweep_trace")) {
        if (e->nsweeps == 0) return plan_bad(pr, "a sweep's value before any sweep");
        exp_sweep_t *w = &e->sweeps[e->nsweeps - 1];
        if (key[0] == 'v') {
            if (pr->nvalues == w->nvalues) return plan_bad(pr, "more values than counted");
            if (plan_dup(pr, 1, &w->values[pr->nvalues]) ||
                tsv_get_dbl(tsv_str(&pr->r, 2), &w->x[pr->nvalues]))
                return pr->err[0] ? -1 : plan_bad(pr, "a bad value");
            if (!w->values[pr->nvalues++]) return plan_bad(pr, "a NULL value");
        } else {
            if (pr->nstraces == w->ntraces) return plan_bad(pr, "more sweep traces than counted");
            if (plan_num(pr, 1, pr->ntraces ? pr->ntraces - 1 : 0, &v1)) return -1;
            w->traces[pr->nstraces++] = (size_t)v1;
        }
    } else if (!strcmp(key, "unit")) {
        if (e->nunits == pr->nunits) return plan_bad(pr, "more units than counted");
        exp_unit_t *u = &e->units[e->nunits++];
        if (plan_num(pr, 1, pr->ntraces ? pr->ntraces - 1 : 0, &v1) ||
            plan_num(pr, 2, EXP_MAX_REPEAT, &v2) || plan_dup(pr, 3, &u->spec))
            return -1;
        u->trace = (size_t)v1;
        u->repeat = (unsigned)v2;
        if (!u->spec) return plan_bad(pr, "a unit without a spec");
    } else {
        return plan_bad(pr, "an unknown record");
    }
    return 0;
}

/* One record.  0 or -1. */
static int plan_record(plan_reader_t *pr)
{
    plan_t *p = pr->p;
    exp_t *e = &p->exp;
    const char *key = pr->r.field[0];
    uint64_t v;
    if (pr->ended) return plan_bad(pr, "a record after 'end'");
    if (pr->in_sweep && strcmp(key, "value") != 0 && strcmp(key, "sweep_trace") != 0) {
        const exp_sweep_t *w = &e->sweeps[e->nsweeps - 1];
        if (pr->nvalues != w->nvalues || pr->nstraces != w->ntraces)
            return plan_bad(pr, "the sweep before this line lacks values or traces");
        pr->in_sweep = 0;
    }
    if (e->ntraces && strcmp(key, "def") != 0 && e->traces[e->ntraces - 1].ndefs != pr->want_defs)
        return plan_bad(pr, "the trace before this line lacks parameters");
    for (size_t i = 0; plan_settings[i]; i++)
        if (!strcmp(key, plan_settings[i])) pr->seen |= 1u << i;
    if (!strcmp(key, "name")) return plan_dup(pr, 1, &e->name);
    if (!strcmp(key, "file")) return plan_dup(pr, 1, &e->file);
    if (!strcmp(key, "root")) return plan_dup(pr, 1, &e->root);
    if (!strcmp(key, "partition")) return plan_dup(pr, 1, &p->partition);
    if (!strcmp(key, "time")) return plan_dup(pr, 1, &p->time);
    if (!strcmp(key, "command")) return plan_dup(pr, 1, &p->command);
    if (!strcmp(key, "repeat")) {
        if (plan_num(pr, 1, EXP_MAX_REPEAT, &v)) return -1;
        e->repeat = (unsigned)v;
        return 0;
    }
    if (!strcmp(key, "samples")) return plan_num(pr, 1, EXP_MAX_SAMPLES, &e->samples);
    if (!strcmp(key, "seed")) return plan_num(pr, 1, UINT64_MAX, &p->seed);
    if (!strcmp(key, "retries")) {
        if (plan_num(pr, 1, 1000, &v)) return -1;
        p->retries = (unsigned)v;
        return 0;
    }
    if (!strcmp(key, "stamp")) {
        const char *s = tsv_str(&pr->r, 1);
        snprintf(p->stamp, sizeof p->stamp, "%s", s ? s : "");
        return 0;
    }
    if (!strcmp(key, "sbatch_arg")) {
        char **a = realloc(p->sbatch_args, (p->nsbatch_args + 1) * sizeof *a);
        if (!a) return plan_bad(pr, "out of memory");
        p->sbatch_args = a;
        if (plan_dup(pr, 1, &a[p->nsbatch_args])) return -1;
        if (!a[p->nsbatch_args]) return plan_bad(pr, "a NULL sbatch argument");
        p->nsbatch_args++;
        return 0;
    }
    if (!strcmp(key, "env")) {
        const char *k = tsv_str(&pr->r, 1), *val = tsv_str(&pr->r, 2);
        if (!k || !val) return plan_bad(pr, "an 'env' without a key or value");
        sysinfo_put(&p->sys, k, val);
        return 0;
    }
    if (!strcmp(key, "counts")) return plan_counts(pr);
    if (!strcmp(key, "end")) {
        pr->ended = 1;
        return 0;
    }
    return plan_item(pr, key);
}

void plan_free(plan_t *p)
{
    exp_free(&p->exp);
    free(p->partition);
    free(p->time);
    for (size_t i = 0; i < p->nsbatch_args; i++)
        free(p->sbatch_args[i]);
    free(p->sbatch_args);
    free(p->command);
    memset(p, 0, sizeof *p);
}

int plan_read(plan_t *p, const char *path, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    plan_reader_t pr = {.p = p, .err = err, .errlen = errlen};
    err[0] = '\0';
    if (tsv_open(&pr.r, path)) {
        snprintf(err, errlen, "%s", pr.r.err);
        return -1;
    }
    int rc;
    uint64_t version;
    if ((rc = tsv_next(&pr.r)) != 1 || strcmp(pr.r.field[0], "arenalab-plan") != 0 ||
        tsv_get_u64(tsv_str(&pr.r, 1), &version) || version != PLAN_VERSION) {
        if (rc < 0)
            snprintf(err, errlen, "%s", pr.r.err);
        else
            snprintf(err, errlen, "%s: not a plan of this arenalab (version %d)", path,
                     PLAN_VERSION);
        tsv_close(&pr.r);
        return -1;
    }
    while ((rc = tsv_next(&pr.r)) == 1)
        if (plan_record(&pr)) break;
    if (rc < 0)
        snprintf(err, errlen, "%s", pr.r.err);
    else if (rc == 0 && !pr.ended)
        snprintf(err, errlen, "%s: cut short (no 'end')", path);
    else if (rc == 0 && pr.seen != (1u << (sizeof plan_settings / sizeof *plan_settings - 1)) - 1)
        snprintf(err, errlen, "%s: incomplete (a setting is missing)", path);
    else if (rc == 0 &&
             (!p->exp.name || !p->exp.file || !p->exp.root || !p->command || !pr.counted ||
              p->exp.ntraces != pr.ntraces || p->exp.nallocs != pr.nallocs ||
              p->exp.nsweeps != pr.nsweeps || p->exp.nunits != pr.nunits))
        snprintf(err, errlen, "%s: incomplete (a setting or a counted item is missing)", path);
    else if (rc == 0 && plan_derive(&pr) == 0 && !exp_is_valid(&p->exp))
        snprintf(err, errlen, "%s: the experiment in it is not valid (see above)", path);
    tsv_close(&pr.r);
    if (err[0]) {
        plan_free(p);
        return -1;
    }
    return 0;
}
