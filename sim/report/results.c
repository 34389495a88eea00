/* results.c: a report's result set -- trace statistics, the best
 * allocators, the data files (see results.h). */
#include "sim/report/results.h"
#include "alloc/params.h"
#include "sim/base/cli.h"
#include "sim/base/csv.h"
#include "sim/base/json.h"
#include "sim/base/outfile.h"
#include "sim/base/progress.h"
#include "sim/report/plot.h"
#include "sim/replay/output.h"
#include "sim/replay/timing.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int results_trace_stats(results_t *r, size_t t, FILE *progress, char *err, size_t errlen)
{
    const exp_trace_t *et = &r->exp->traces[t];
    results_trace_t *rt = &r->traces[t];
    trace_reader_t *rd;
    if (trace_open(&rd, et->path, err, errlen) < 0) return -1;
    tstats_t st;
    tstats_init(&st);
    trace_event_t ev;
    int rc, oom = 0;
    progress_t bar;
    char what[160];
    snprintf(what, sizeof what, "report: statistics of %s", et->name);
    progress_start(&bar, progress, what, trace_count_hint(rd));
    while ((rc = trace_next(rd, &ev)) == 1) {
        if ((st.events & 0xffff) == 0) progress_update(&bar, st.events);
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
    progress_end(&bar);
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

int results_ran_on(results_t *r, size_t t, const sysinfo_t *sys, const char *job, double seconds)
{
    char id[17];
    sysinfo_machine(sys, id, sizeof id);
    size_t k = 0;
    while (k < r->nnodes && strcmp(r->nodes[k].machine, id) != 0)
        k++;
    if (k == r->nnodes) {
        results_node_t *v = realloc(r->nodes, (r->nnodes + 1) * sizeof *v);
        if (!v) return -1;
        r->nodes = v;
        v[k].sys = *sys;
        memcpy(v[k].machine, id, sizeof id);
        r->nnodes++;
    }
    r->where[t].node = k;
    snprintf(r->where[t].job, sizeof r->where[t].job, "%s", job);
    r->where[t].seconds = seconds;
    return 0;
}

unsigned results_rank(const results_t *r, const char *spec)
{
    const exp_t *e = r->exp;
    size_t n = alloc_spec_class_len(spec);
    unsigned rank = 0;
    for (size_t a = 0; a < e->nallocs; a++) {
        if (!strcmp(e->allocs[a].spec, spec)) return rank;
        rank += alloc_spec_class_len(e->allocs[a].spec) == n &&
                strncmp(e->allocs[a].spec, spec, n) == 0;
    }
    return 0;
}

const char *results_colour(const results_t *r, const char *spec, char *buf, size_t len)
{
    return plot_colour(spec, results_rank(r, spec), buf, len);
}

size_t results_distinct(const results_t *r)
{
    size_t n = 0;
    for (size_t u = 0; u < r->exp->nunits; u++)
        n += !r->runs[u].same_as[0];
    return n;
}

/* ---- the best allocator --------------------------------------------------- */

int results_clear(double q, double ma, double mb)
{
    return !isnan(q) && !isnan(ma) && !isnan(mb) && q <= TIMING_ALPHA && ma != mb;
}

const char *results_verdict(const results_best_t *b, char *buf, size_t len)
{
    if (b->too_short)
        snprintf(buf, len, "too short to time");
    else if (b->best == EXP_NONE || b->second == EXP_NONE)
        snprintf(buf, len, "%s", "");
    else if (!b->spread)
        snprintf(buf, len, "no spread (1 run)");
    else if (isnan(b->q))
        snprintf(buf, len, "not tested");
    else
        snprintf(buf, len, "%s (p = %.2g)", b->clear ? "clear" : "not clear", b->q);
    return buf;
}

/* Lowest KEY over the grid cells of trace T; the runner-up is of another
 * configuration. */
static void results_best(const results_t *r, size_t t, double (*key)(const driver_run_t *),
                         results_best_t *out)
{
    const exp_t *e = r->exp;
    out->best = out->second = EXP_NONE;
    out->margin = NAN;
    out->clear = out->spread = out->within = 0;
    out->too_short = 0;
    out->p = out->q = NAN;
    for (size_t a = 0; a < e->nallocs; a++) {
        size_t u = e->grid[t * e->nallocs + a];
        if (u == EXP_NONE || isnan(key(&r->runs[u]))) continue;
        double v = key(&r->runs[u]);
        /* Ties keep the first declared allocator as best. */
        if (out->best == EXP_NONE || v < key(&r->runs[out->best])) {
            out->best = u;
        }
    }
    for (size_t a = 0; out->best != EXP_NONE && a < e->nallocs; a++) {
        size_t u = e->grid[t * e->nallocs + a];
        if (u == EXP_NONE || isnan(key(&r->runs[u])) ||
            strcmp(r->runs[u].config, r->runs[out->best].config) == 0)
            continue;
        if (out->second == EXP_NONE || key(&r->runs[u]) < key(&r->runs[out->second]))
            out->second = u;
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
    if (out->best != EXP_NONE && out->second != EXP_NONE) {
        out->clear = r->runs[out->second].m.peak_resident - r->runs[out->best].m.peak_resident >
                     (uint64_t)RESULTS_RSS_PAGES * 4096;
        out->within = !out->clear && out->margin != 0;
    }
}

/* Trace T's fastest and runner-up with the test's raw p-value (no
 * adjustment yet). */
static void results_speed_raw(const results_t *r, size_t t, results_best_t *out)
{
    results_best(r, t, results_key_ns, out);
    if (out->best != EXP_NONE && r->runs[out->best].timing_too_short) {
        /* Too short to time: nobody is crowned. */
        out->best = out->second = EXP_NONE;
        out->margin = NAN;
        out->too_short = 1;
        return;
    }
    if (out->best == EXP_NONE || out->second == EXP_NONE) return;
    /* One run has no spread: whether two single runs differ by more than
     * noise cannot be told. */
    const driver_run_t *b = &r->runs[out->best], *s = &r->runs[out->second];
    out->spread = b->repeat >= 2 && s->repeat >= 2;
    if (out->spread && timing_mann_whitney(b->ns_runs, b->repeat, s->ns_runs, s->repeat, &out->p))
        out->p = NAN;
}

void results_best_speed(const results_t *r, size_t t, results_best_t *out)
{
    /* The family: every trace's comparison, adjusted together. */
    size_t nt = r->exp->ntraces;
    double *p = malloc((nt ? nt : 1) * sizeof *p), *q = malloc((nt ? nt : 1) * sizeof *q);
    results_speed_raw(r, t, out);
    for (size_t k = 0; p && q && k < nt; k++) {
        results_best_t other;
        results_speed_raw(r, k, &other);
        p[k] = other.p;
    }
    if (p && q && timing_bh(p, nt, q) == 0) out->q = q[t];
    free(p);
    free(q);
    if (out->best != EXP_NONE && out->second != EXP_NONE)
        out->clear = results_clear(out->q, r->runs[out->best].ns_per_event.median,
                                   r->runs[out->second].ns_per_event.median);
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
    output_settings_t s = {e->repeat,
                           (unsigned long long)r->seed,
                           (unsigned long long)e->samples,
                           arenas_modes[0]->name,
                           0,
                           0,
                           "page",
                           e->measure,
                           0};
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

/* A program() trace's command and its real runs (sim/report/realrun.h):
 * per declared allocator, why it was not run, or each figure's median, its
 * interval and every run. */
static void results_json_program(json_t *j, const results_t *r, size_t t)
{
    const exp_t *e = r->exp;
    json_key(j, "program");
    json_array_begin(j);
    for (size_t i = 0; e->traces[t].cmd[i]; i++)
        json_string(j, e->traces[t].cmd[i]);
    json_array_end(j);
    if (!r->real || t >= r->real->ntraces || !r->real->traces[t]) return;
    json_key(j, "real_runs");
    json_array_begin(j);
    for (size_t a = 0; a < e->nallocs; a++) {
        const rr_alloc_t *x = &r->real->traces[t][a];
        json_object_begin(j);
        json_kv_string(j, "allocator", e->allocs[a].spec);
        if (x->skip[0]) {
            json_kv_string(j, "skipped", x->skip);
            json_object_end(j);
            continue;
        }
        json_kv_string(j, "preload", x->preload);
        json_kv_uint(j, "exit_status", (uint64_t)x->status);
        for (int f = 0; f < RR_NFIG; f++) {
            timing_summary_t m;
            timing_summarize(x->fig[f], x->n, &m);
            json_key(j, rr_fig_key[f]);
            json_object_begin(j);
            json_kv_double(j, "median", m.median);
            json_kv_double(j, "ci_low", m.ci_low);
            json_kv_double(j, "ci_high", m.ci_high);
            json_kv_double(j, "ci_level", m.ci_level);
            json_key(j, "runs");
            json_array_begin(j);
            for (size_t k = 0; k < x->n; k++)
                json_double(j, x->fig[f][k]);
            json_array_end(j);
            json_object_end(j);
        }
        json_object_end(j);
    }
    json_array_end(j);
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
        if (et->swept) { /* a point of a workload sweep */
            json_kv_string(j, "workload_sweep", et->group);
            json_kv_string(j, "swept", et->swept);
        }
    } else {
        json_kv_string(j, "path", et->path);
    }
    if (et->cmd) results_json_program(j, r, t);
    json_kv_uint(j, "events", rt->events);
    json_kv_uint(j, "peak_live_bytes", rt->peak_bytes);
    json_kv_uint(j, "peak_live_event", rt->peak_at);
    json_kv_uint(j, "requests", rt->requests);
    const results_where_t *w = r->where ? &r->where[t] : NULL;
    if (w && w->node != EXP_NONE) {
        const char *host = sysinfo_get(&r->nodes[w->node].sys, "host");
        json_kv_string(j, "host", host ? host : "unknown");
        json_kv_string(j, "machine", r->nodes[w->node].machine);
        if (w->job[0]) {
            json_kv_string(j, "slurm_job", w->job);
            json_kv_double(j, "replay_seconds", w->seconds);
        }
    }
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
    json_kv_string(&j, "executor", r->executor ? r->executor : "local");
    json_kv_uint(&j, "jobs", r->jobs);
    json_kv_double(&j, "replay_seconds", r->seconds);
    json_kv_uint(&j, "repeat", e->repeat);
    json_kv_uint(&j, "seed", r->seed);
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
    json_key(&j, "machines");
    json_array_begin(&j);
    for (size_t k = 0; k < r->nnodes; k++) {
        json_object_begin(&j);
        json_kv_string(&j, "machine", r->nodes[k].machine);
        json_key(&j, "environment");
        json_object_begin(&j);
        for (size_t i = 0; i < r->nodes[k].sys.n; i++)
            json_kv_string(&j, r->nodes[k].sys.e[i].key, r->nodes[k].sys.e[i].value);
        json_object_end(&j);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    fputc('\n', o.fp);
    return results_commit(&o, err, errlen);
}

/* nodes.csv: per trace, where it ran. */
static int results_write_nodes(const results_t *r, const char *dir, char *err, size_t errlen)
{
    outfile_t o;
    if (results_open(&o, dir, "nodes.csv", err, errlen)) return -1;
    fputs("trace,host,machine,cpu,kernel,slurm_job\n", o.fp);
    for (size_t t = 0; t < r->exp->ntraces; t++) {
        const results_where_t *w = r->where ? &r->where[t] : NULL;
        if (!w || w->node == EXP_NONE) continue;
        const sysinfo_t *s = &r->nodes[w->node].sys;
        const char *cells[] = {r->exp->traces[t].name,    sysinfo_get(s, "host"),
                               r->nodes[w->node].machine, sysinfo_get(s, "cpu"),
                               sysinfo_get(s, "kernel"),  w->job};
        for (size_t c = 0; c < sizeof cells / sizeof *cells; c++) {
            if (c) fputc(',', o.fp);
            csv_write_field(o.fp, cells[c] ? cells[c] : "unknown");
        }
        fputc('\n', o.fp);
    }
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
    if (rc == 0) rc = results_write_nodes(r, dir, err, errlen);
    free(named);
    return rc;
}
