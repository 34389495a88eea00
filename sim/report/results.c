/* results.c: a report's result set -- trace statistics, the best
 * allocators, the data files (see results.h). */
#include "sim/report/results.h"
#include "sim/base/cli.h"
#include "sim/base/json.h"
#include "sim/base/outfile.h"
#include "sim/report/plot.h"
#include "sim/replay/output.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int results_trace_stats(results_t *r, size_t t, char *err, size_t errlen)
{
    const exp_trace_t *et = &r->exp->traces[t];
    results_trace_t *rt = &r->traces[t];
    trace_reader_t *rd;
    if (trace_open(&rd, et->path, err, errlen) < 0) return -1;
    tstats_t st;
    tstats_init(&st);
    trace_event_t ev;
    int rc, oom = 0;
    while ((rc = trace_next(rd, &ev)) == 1) {
        const uint32_t *owned = NULL;
        size_t n = trace_owned(rd, ev.aslot, &owned);
        int trc = tstats_add(&st, &ev, owned, n);
        if (trc < 0) {
            snprintf(err, errlen, "%s: %s", et->path,
                     trc == TRACE_ESEM ? "live bytes exceed 2^64" : "out of memory");
            oom = 1;
            break;
        }
    }
    if (oom)
        rc = -1;
    else if (rc < 0)
        snprintf(err, errlen, "%s", trace_error(rd));
    if (rc == 0) {
        rt->events = st.events;
        rt->peak_bytes = st.peak_bytes;
        rt->peak_at = st.peak_bytes_at;
        rt->requests = 0;
        for (int k = 0; k < TSTATS_BINS; k++) {
            rt->size_hist[k] = st.size_hist[k];
            rt->requests += st.size_hist[k];
        }
    }
    tstats_free(&st);
    trace_close(rd);
    return rc == 0 ? 0 : -1;
}

unsigned results_rank(const results_t *r, const char *spec)
{
    const exp_t *e = r->exp;
    size_t n = strcspn(spec, ":");
    unsigned rank = 0;
    for (size_t a = 0; a < e->nallocs; a++) {
        if (!strcmp(e->allocs[a].spec, spec)) return rank;
        rank += strcspn(e->allocs[a].spec, ":") == n && strncmp(e->allocs[a].spec, spec, n) == 0;
    }
    return 0;
}

const char *results_colour(const results_t *r, const char *spec, char *buf, size_t len)
{
    return plot_colour(spec, results_rank(r, spec), buf, len);
}

/* ---- the best allocator --------------------------------------------------- */

int results_apart(const metrics_summary_t *a, const metrics_summary_t *b)
{
    if (isnan(a->min) || isnan(a->max) || isnan(b->min) || isnan(b->max)) return 0;
    return a->max < b->min || b->max < a->min;
}

/* Lowest KEY over the grid cells of trace T. */
static void results_best(const results_t *r, size_t t, double (*key)(const driver_run_t *),
                         results_best_t *out)
{
    const exp_t *e = r->exp;
    out->best = out->second = EXP_NONE;
    out->margin = NAN;
    out->clear = out->spread = 0;
    for (size_t a = 0; a < e->nallocs; a++) {
        size_t u = e->grid[t * e->nallocs + a];
        if (u == EXP_NONE || isnan(key(&r->runs[u]))) continue;
        double v = key(&r->runs[u]);
        /* Ties keep the first declared allocator as best. */
        if (out->best == EXP_NONE || v < key(&r->runs[out->best])) {
            out->second = out->best;
            out->best = u;
        } else if (out->second == EXP_NONE || v < key(&r->runs[out->second])) {
            out->second = u;
        }
    }
    if (out->best != EXP_NONE && out->second != EXP_NONE) {
        double b = key(&r->runs[out->best]), s = key(&r->runs[out->second]);
        out->margin = b > 0 ? s / b - 1 : (s > 0 ? INFINITY : 0);
    }
}

static double results_key_fp(const driver_run_t *run)
{
    return (double)run->m.peak_resident;
}

static double results_key_ns(const driver_run_t *run)
{
    return run->repeat ? run->ns_per_event.median : NAN;
}

void results_best_footprint(const results_t *r, size_t t, results_best_t *out)
{
    results_best(r, t, results_key_fp, out);
}

void results_best_speed(const results_t *r, size_t t, results_best_t *out)
{
    results_best(r, t, results_key_ns, out);
    if (out->best == EXP_NONE || out->second == EXP_NONE) return;
    /* One run has no spread: whether two single runs differ by more than
     * noise cannot be told. */
    out->spread = r->runs[out->best].repeat >= 2 && r->runs[out->second].repeat >= 2;
    out->clear = out->spread && results_apart(&r->runs[out->best].ns_per_event,
                                              &r->runs[out->second].ns_per_event);
}

/* ---- data files ------------------------------------------------------------ */

/* The runs as sim/replay/output.c writes them, each named by its trace's experiment
 * name rather than its path.  Returns a malloc'ed copy (shallow: the
 * series stay the originals') or NULL. */
static driver_run_t *results_named_runs(const results_t *r)
{
    const exp_t *e = r->exp;
    driver_run_t *v = malloc((e->nunits ? e->nunits : 1) * sizeof *v);
    if (!v) return NULL;
    for (size_t i = 0; i < e->nunits; i++) {
        v[i] = r->runs[i];
        v[i].trace = e->traces[e->units[i].trace].name;
    }
    return v;
}

/* Opens DIR/REL for writing. */
static int results_open(outfile_t *o, const char *dir, const char *rel, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    return outfile_open(o, path, "w", err, errlen);
}

static int results_commit(outfile_t *o, char *err, size_t errlen)
{
    return outfile_commit(o, err, errlen);
}

static int results_write_runs(const results_t *r, const driver_run_t *named, const char *dir,
                              char *err, size_t errlen)
{
    const exp_t *e = r->exp;
    outfile_t o;
    if (results_open(&o, dir, "runs.json", err, errlen)) return -1;
    output_settings_t s = {e->repeat, (unsigned long long)e->samples, arenas_modes[0]->name, 0, 0,
                           "page"};
    output_json(o.fp, named, e->nunits, &s);
    if (results_commit(&o, err, errlen)) return -1;
    if (results_open(&o, dir, "runs.csv", err, errlen)) return -1;
    output_csv_header(o.fp);
    for (size_t i = 0; i < e->nunits; i++)
        output_csv_row(o.fp, &named[i]);
    return results_commit(&o, err, errlen);
}

/* series/T.csv for every trace: all its units, in unit order. */
static int results_write_series(const results_t *r, const driver_run_t *named, const char *dir,
                                char *err, size_t errlen)
{
    const exp_t *e = r->exp;
    driver_run_t *v = malloc((e->nunits ? e->nunits : 1) * sizeof *v);
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = 0;
    for (size_t t = 0; rc == 0 && t < e->ntraces; t++) {
        size_t n = 0;
        for (size_t i = 0; i < e->nunits; i++)
            if (e->units[i].trace == t) v[n++] = named[i];
        char rel[256];
        snprintf(rel, sizeof rel, "series/%s.csv", e->traces[t].name);
        outfile_t o;
        if (results_open(&o, dir, rel, err, errlen)) {
            rc = -1;
            break;
        }
        output_series(o.fp, v, n);
        rc = results_commit(&o, err, errlen);
    }
    free(v);
    return rc;
}

static void results_json_trace(json_t *j, const results_t *r, size_t t)
{
    const exp_trace_t *et = &r->exp->traces[t];
    const results_trace_t *rt = &r->traces[t];
    json_object_begin(j);
    json_kv_string(j, "name", et->name);
    /* Generated traces live in the result directory: a relative path. */
    if (et->script) {
        const char *slash = strrchr(et->path, '/');
        char rel[512];
        snprintf(rel, sizeof rel, "traces/%s", slash ? slash + 1 : et->path);
        json_kv_string(j, "path", rel);
        json_kv_string(j, "workload", et->script);
        json_kv_uint(j, "seed", et->seed);
        json_key(j, "params");
        json_object_begin(j);
        for (size_t i = 0; i < et->ndefs; i++)
            json_kv_string(j, et->defs[i].key, et->defs[i].value);
        json_object_end(j);
    } else {
        json_kv_string(j, "path", et->path);
    }
    json_kv_uint(j, "events", rt->events);
    json_kv_uint(j, "peak_live_bytes", rt->peak_bytes);
    json_kv_uint(j, "peak_live_event", rt->peak_at);
    json_kv_uint(j, "requests", rt->requests);
    json_object_end(j);
}

static void results_json_sweep(json_t *j, const results_t *r, const exp_sweep_t *w)
{
    json_object_begin(j);
    json_kv_string(j, "title", w->title);
    json_kv_string(j, "allocator", w->base);
    json_kv_string(j, "param", w->param);
    json_key(j, "values");
    json_array_begin(j);
    for (size_t v = 0; v < w->nvalues; v++)
        json_string(j, w->values[v]);
    json_array_end(j);
    json_key(j, "traces");
    json_array_begin(j);
    for (size_t t = 0; t < w->ntraces; t++)
        json_string(j, r->exp->traces[w->traces[t]].name);
    json_array_end(j);
    json_kv_uint(j, "repeat", w->repeat);
    json_object_end(j);
}

static int results_write_experiment(const results_t *r, const char *dir, char *err, size_t errlen)
{
    const exp_t *e = r->exp;
    outfile_t o;
    if (results_open(&o, dir, "experiment.json", err, errlen)) return -1;
    json_t j;
    json_init(&j, o.fp);
    json_object_begin(&j);
    json_kv_string(&j, "arenalab", ARENALAB_VERSION);
    json_kv_string(&j, "command", "report");
    json_kv_string(&j, "experiment", e->name);
    json_kv_string(&j, "file", e->file);
    json_kv_string(&j, "started", r->stamp);
    json_kv_string(&j, "command_line", r->command);
    json_kv_uint(&j, "jobs", r->jobs);
    json_kv_double(&j, "replay_seconds", r->seconds);
    json_kv_uint(&j, "repeat", e->repeat);
    json_kv_uint(&j, "samples", e->samples);
    json_key(&j, "traces");
    json_array_begin(&j);
    for (size_t t = 0; t < e->ntraces; t++)
        results_json_trace(&j, r, t);
    json_array_end(&j);
    json_key(&j, "allocators");
    json_array_begin(&j);
    for (size_t a = 0; a < e->nallocs; a++) {
        json_object_begin(&j);
        json_kv_string(&j, "spec", e->allocs[a].spec);
        json_key(&j, "optional");
        json_bool(&j, e->allocs[a].optional);
        if (e->allocs[a].skip) json_kv_string(&j, "skipped", e->allocs[a].skip);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_key(&j, "sweeps");
    json_array_begin(&j);
    for (size_t s = 0; s < e->nsweeps; s++)
        results_json_sweep(&j, r, &e->sweeps[s]);
    json_array_end(&j);
    json_kv_uint(&j, "units", e->nunits);
    json_key(&j, "environment");
    json_object_begin(&j);
    for (size_t i = 0; i < r->sys.n; i++)
        json_kv_string(&j, r->sys.e[i].key, r->sys.e[i].value);
    json_object_end(&j);
    json_object_end(&j);
    fputc('\n', o.fp);
    return results_commit(&o, err, errlen);
}

int results_write_data(const results_t *r, const char *dir, char *err, size_t errlen)
{
    driver_run_t *named = results_named_runs(r);
    if (!named) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = results_write_runs(r, named, dir, err, errlen);
    if (rc == 0) rc = results_write_series(r, named, dir, err, errlen);
    if (rc == 0) rc = results_write_experiment(r, dir, err, errlen);
    free(named);
    return rc;
}
