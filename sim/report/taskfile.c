/* taskfile.c: an array task's result file, exact both ways (see
 * taskfile.h). */
#include "sim/report/taskfile.h"
#include "sim/base/outfile.h"
#include "sim/base/tsv.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define TASKFILE_VERSION 1

/* The figures of a run, one table for both directions: the measurement
 * (replay_result_t) and the timing summary (timing_summary_t). */
typedef enum { TASKFILE_U64, TASKFILE_DBL, TASKFILE_SIZE } taskfile_kind_t;

typedef struct {
    const char *name;
    size_t offset; /* in driver_run_t */
    taskfile_kind_t kind;
} taskfile_field_t;

#define TF_M(f, k)                                                                                 \
    {                                                                                              \
#f, offsetof(driver_run_t, m.f), k                                                         \
    }
#define TF_NS(f, k)                                                                                \
    {                                                                                              \
        "ns_" #f, offsetof(driver_run_t, ns_per_event.f), k                                        \
    }

static const taskfile_field_t taskfile_fields[] = {
    TF_M(events, TASKFILE_U64),
    TF_M(skipped, TASKFILE_U64),
    TF_M(ns, TASKFILE_U64),
    TF_M(peak_live_bytes, TASKFILE_U64),
    TF_M(peak_live_blocks, TASKFILE_U64),
    TF_M(peak_resident, TASKFILE_U64),
    TF_M(peak_held, TASKFILE_U64),
    TF_M(internal_frag, TASKFILE_DBL),
    {"jw1", offsetof(driver_run_t, m.frag.jw1), TASKFILE_DBL},
    {"jw2", offsetof(driver_run_t, m.frag.jw2), TASKFILE_DBL},
    {"jw3", offsetof(driver_run_t, m.frag.jw3), TASKFILE_DBL},
    {"jw4", offsetof(driver_run_t, m.frag.jw4), TASKFILE_DBL},
    {"util", offsetof(driver_run_t, m.frag.util), TASKFILE_DBL},
    TF_M(threads, TASKFILE_U64),
    TF_M(cpu_ns, TASKFILE_U64),
    {"ns_per_event_per_thread", offsetof(driver_run_t, ns_per_event_per_thread), TASKFILE_DBL},
    {"events_per_s", offsetof(driver_run_t, events_per_s), TASKFILE_DBL},
    {"cpu_ns_per_event", offsetof(driver_run_t, cpu_ns_per_event), TASKFILE_DBL},
    TF_NS(n, TASKFILE_SIZE),
    TF_NS(min, TASKFILE_DBL),
    TF_NS(median, TASKFILE_DBL),
    TF_NS(max, TASKFILE_DBL),
    TF_NS(mean, TASKFILE_DBL),
    TF_NS(ci_low, TASKFILE_DBL),
    TF_NS(ci_high, TASKFILE_DBL),
    TF_NS(ci_level, TASKFILE_DBL),
};

#define TASKFILE_NFIELDS (sizeof taskfile_fields / sizeof taskfile_fields[0])

_Static_assert(1 + METRICS_NFIELDS + METRICS_MAX_EXTRA <= TSV_MAX_FIELDS,
               "a sample record holds every fixed and extra column");

/* ---- writing --------------------------------------------------------------------- */

static void taskfile_write_run(FILE *f, const exp_t *e, size_t u, const driver_run_t *run)
{
    tsv_begin(f, "unit");
    tsv_put_u64(f, u);
    tsv_put_str(f, e->units[u].spec);
    tsv_put_str(f, run->allocator);
    tsv_put_str(f, run->config);
    tsv_put_str(f, run->same_as);
    tsv_put_u64(f, run->repeat);
    tsv_put_u64(f, (uint64_t)run->timing_too_short);
    tsv_end(f);
    for (size_t i = 0; i < TASKFILE_NFIELDS; i++) {
        const taskfile_field_t *fd = &taskfile_fields[i];
        const char *p = (const char *)run + fd->offset;
        tsv_begin(f, "m");
        tsv_put_str(f, fd->name);
        if (fd->kind == TASKFILE_DBL)
            tsv_put_dbl(f, *(const double *)p);
        else if (fd->kind == TASKFILE_SIZE)
            tsv_put_u64(f, *(const size_t *)p);
        else
            tsv_put_u64(f, *(const uint64_t *)p);
        tsv_end(f);
    }
    for (unsigned k = 0; k < run->repeat; k++) {
        tsv_begin(f, "run");
        tsv_put_dbl(f, run->ns_runs[k]);
        tsv_end(f);
    }
    const metrics_series_t *ser = &run->series;
    tsv_begin(f, "series");
    tsv_put_u64(f, ser->n);
    tsv_end(f);
    for (int j = 0; j < ser->nextra; j++) {
        tsv_begin(f, "extra");
        tsv_put_u64(f, (uint64_t)j);
        tsv_put_str(f, ser->extra_name[j]);
        tsv_end(f);
    }
    for (size_t i = 0; i < ser->n; i++) {
        tsv_begin(f, "sample");
        for (int k = 0; k < METRICS_NFIELDS; k++)
            tsv_put_u64(f,
                        *(const uint64_t *)((const char *)&ser->s[i] + metrics_sample_offset[k]));
        for (int j = 0; j < ser->nextra; j++)
            tsv_put_u64(f, ser->extra[i * METRICS_MAX_EXTRA + (size_t)j]);
        tsv_end(f);
    }
}

int taskfile_write(const char *path, size_t task, const taskfile_node_t *node, const exp_t *e,
                   const size_t *units, size_t n, const driver_run_t *runs, char *err,
                   size_t errlen)
{
    outfile_t o;
    if (outfile_open(&o, path, "w", err, errlen)) return -1;
    FILE *f = o.fp;
    tsv_begin(f, "arenalab-task");
    tsv_put_u64(f, TASKFILE_VERSION);
    tsv_end(f);
    tsv_begin(f, "task");
    tsv_put_u64(f, task);
    tsv_put_u64(f, n);
    tsv_end(f);
    tsv_begin(f, "job");
    tsv_put_str(f, node->job);
    tsv_end(f);
    tsv_begin(f, "seconds");
    tsv_put_dbl(f, node->seconds);
    tsv_end(f);
    for (size_t i = 0; i < node->sys.n; i++) {
        tsv_begin(f, "env");
        tsv_put_str(f, node->sys.e[i].key);
        tsv_put_str(f, node->sys.e[i].value);
        tsv_end(f);
    }
    for (size_t k = 0; k < n; k++)
        taskfile_write_run(f, e, units[k], &runs[units[k]]);
    tsv_begin(f, "end");
    tsv_end(f);
    return outfile_commit(&o, err, errlen);
}

/* ---- reading --------------------------------------------------------------------- */

typedef struct {
    tsv_reader_t r;
    const exp_t *e;
    const size_t *units;
    size_t n;
    driver_run_t *runs;
    size_t next;       /* units read so far                             */
    driver_run_t *cur; /* the unit being read, or NULL                  */
    size_t nruns;      /* its timed runs read so far                    */
    size_t nsamples;   /* its samples announced by "series"             */
    int have_task, ended;
    char *err;
    size_t errlen;
} taskfile_reader_t;

static int taskfile_bad(taskfile_reader_t *tr, const char *what)
{
    snprintf(tr->err, tr->errlen, "%s:%zu: %s", tr->r.name, tr->r.lineno, what);
    return -1;
}

static int taskfile_num(taskfile_reader_t *tr, size_t k, uint64_t *out)
{
    return tsv_get_u64(tsv_str(&tr->r, k), out) ? taskfile_bad(tr, "a bad number") : 0;
}

/* Copies field K into BUF (LEN bytes); it must fit.  0 or -1. */
static int taskfile_copy(taskfile_reader_t *tr, size_t k, char *buf, size_t len)
{
    const char *s = tsv_str(&tr->r, k);
    if (!s || strlen(s) >= len) return taskfile_bad(tr, "a missing or too long text");
    memcpy(buf, s, strlen(s) + 1);
    return 0;
}

/* Whether the unit being read is complete. */
static int taskfile_unit_done(const taskfile_reader_t *tr)
{
    return !tr->cur ||
           (tr->nruns == tr->cur->repeat && tr->cur->series.s && tr->cur->series.n == tr->nsamples);
}

static int taskfile_unit(taskfile_reader_t *tr)
{
    uint64_t u, repeat, short_;
    if (!taskfile_unit_done(tr)) return taskfile_bad(tr, "the unit before this line is incomplete");
    if (tr->next == tr->n) return taskfile_bad(tr, "more units than the task runs");
    if (taskfile_num(tr, 1, &u) || taskfile_num(tr, 6, &repeat) || taskfile_num(tr, 7, &short_))
        return -1;
    const char *spec = tsv_str(&tr->r, 2);
    if (u != tr->units[tr->next] || !spec || strcmp(spec, tr->e->units[u].spec) != 0)
        return taskfile_bad(tr, "not the unit the plan gives this task here");
    if (repeat > EXP_MAX_REPEAT) return taskfile_bad(tr, "too many timed runs");
    driver_run_t *run = &tr->runs[u];
    tr->cur = run;
    tr->next++;
    tr->nruns = tr->nsamples = 0;
    if (taskfile_copy(tr, 3, run->allocator, sizeof run->allocator) ||
        taskfile_copy(tr, 4, run->config, sizeof run->config) ||
        taskfile_copy(tr, 5, run->same_as, sizeof run->same_as))
        return -1;
    run->repeat = (unsigned)repeat;
    run->timing_too_short = short_ != 0;
    if (!(run->ns_runs = calloc(repeat ? repeat : 1, sizeof *run->ns_runs)))
        return taskfile_bad(tr, "out of memory");
    return 0;
}

static int taskfile_figure(taskfile_reader_t *tr)
{
    const char *name = tsv_str(&tr->r, 1), *value = tsv_str(&tr->r, 2);
    for (size_t i = 0; name && i < TASKFILE_NFIELDS; i++) {
        const taskfile_field_t *fd = &taskfile_fields[i];
        if (strcmp(fd->name, name) != 0) continue;
        char *p = (char *)tr->cur + fd->offset;
        uint64_t v;
        if (fd->kind == TASKFILE_DBL) return tsv_get_dbl(value, (double *)p) ? -1 : 0;
        if (tsv_get_u64(value, &v)) return -1;
        if (fd->kind == TASKFILE_SIZE)
            *(size_t *)p = (size_t)v;
        else
            *(uint64_t *)p = v;
        return 0;
    }
    return -1;
}

static int taskfile_series(taskfile_reader_t *tr, const char *key)
{
    metrics_series_t *ser = &tr->cur->series;
    uint64_t v;
    if (!strcmp(key, "series")) {
        if (ser->s) return taskfile_bad(tr, "a second series");
        if (taskfile_num(tr, 1, &v)) return -1;
        if (v > EXP_MAX_SAMPLES + 1) return taskfile_bad(tr, "too many samples");
        tr->nsamples = (size_t)v;
        if (metrics_series_init(ser, tr->nsamples + 1, 0)) return taskfile_bad(tr, "out of memory");
        return 0;
    }
    if (!ser->s) return taskfile_bad(tr, "a sample before 'series'");
    if (!strcmp(key, "extra")) {
        const char *name = tsv_str(&tr->r, 2);
        if (taskfile_num(tr, 1, &v) || !name) return taskfile_bad(tr, "a bad extra column");
        if (v != (uint64_t)ser->nextra || metrics_series_extra(ser, name) != (int)v)
            return taskfile_bad(tr, "extra columns out of order or too many");
        return 0;
    }
    /* "sample": the fixed fields, then one value per extra column */
    if (tr->r.n != 1 + METRICS_NFIELDS + (size_t)ser->nextra)
        return taskfile_bad(tr, "a sample with the wrong number of fields");
    if (ser->n == tr->nsamples) return taskfile_bad(tr, "more samples than announced");
    metrics_sample_t s;
    for (int k = 0; k < METRICS_NFIELDS; k++)
        if (taskfile_num(tr, 1 + (size_t)k, (uint64_t *)((char *)&s + metrics_sample_offset[k])))
            return -1;
    long i = metrics_series_add(ser, &s);
    if (i < 0) return taskfile_bad(tr, "more samples than room");
    for (int j = 0; j < ser->nextra; j++)
        if (taskfile_num(tr, 1 + METRICS_NFIELDS + (size_t)j,
                         &ser->extra[(size_t)i * METRICS_MAX_EXTRA + (size_t)j]))
            return -1;
    return 0;
}

static int taskfile_record(taskfile_reader_t *tr, taskfile_node_t *node, size_t task)
{
    const char *key = tr->r.field[0];
    uint64_t v, n;
    if (tr->ended) return taskfile_bad(tr, "a record after 'end'");
    if (!strcmp(key, "task")) {
        if (taskfile_num(tr, 1, &v) || taskfile_num(tr, 2, &n)) return -1;
        if (v != task || n != tr->n) return taskfile_bad(tr, "the result of another task");
        tr->have_task = 1;
        return 0;
    }
    if (!tr->have_task) return taskfile_bad(tr, "no 'task' record first");
    if (!strcmp(key, "job")) return taskfile_copy(tr, 1, node->job, sizeof node->job);
    if (!strcmp(key, "seconds"))
        return tsv_get_dbl(tsv_str(&tr->r, 1), &node->seconds) ? taskfile_bad(tr, "bad seconds")
                                                               : 0;
    if (!strcmp(key, "env")) {
        const char *k = tsv_str(&tr->r, 1), *val = tsv_str(&tr->r, 2);
        if (!k || !val) return taskfile_bad(tr, "an 'env' without a key or value");
        sysinfo_put(&node->sys, k, val);
        return 0;
    }
    if (!strcmp(key, "unit")) return taskfile_unit(tr);
    if (!strcmp(key, "end")) {
        if (!taskfile_unit_done(tr) || tr->next != tr->n)
            return taskfile_bad(tr, "units are missing before 'end'");
        tr->ended = 1;
        return 0;
    }
    if (!tr->cur) return taskfile_bad(tr, "a figure before any unit");
    if (!strcmp(key, "m"))
        return taskfile_figure(tr) ? taskfile_bad(tr, "an unknown or bad figure") : 0;
    if (!strcmp(key, "run")) {
        if (tr->nruns == tr->cur->repeat) return taskfile_bad(tr, "more timed runs than said");
        return tsv_get_dbl(tsv_str(&tr->r, 1), &tr->cur->ns_runs[tr->nruns++])
                   ? taskfile_bad(tr, "a bad timed run")
                   : 0;
    }
    if (!strcmp(key, "series") || !strcmp(key, "extra") || !strcmp(key, "sample"))
        return taskfile_series(tr, key);
    return taskfile_bad(tr, "an unknown record");
}

int taskfile_read(const char *path, size_t task, taskfile_node_t *node, const exp_t *e,
                  const size_t *units, size_t n, driver_run_t *runs, char *err, size_t errlen)
{
    memset(node, 0, sizeof *node);
    taskfile_reader_t tr = {
        .e = e, .units = units, .n = n, .runs = runs, .err = err, .errlen = errlen};
    err[0] = '\0';
    if (tsv_open(&tr.r, path)) {
        snprintf(err, errlen, "%s", tr.r.err);
        return -1;
    }
    int rc = tsv_next(&tr.r);
    uint64_t version;
    if (rc != 1 || strcmp(tr.r.field[0], "arenalab-task") != 0 ||
        tsv_get_u64(tsv_str(&tr.r, 1), &version) || version != TASKFILE_VERSION) {
        if (rc < 0)
            snprintf(err, errlen, "%s", tr.r.err);
        else
            snprintf(err, errlen, "%s: not a task result of this arenalab (version %d)", path,
                     TASKFILE_VERSION);
    } else {
        while ((rc = tsv_next(&tr.r)) == 1)
            if (taskfile_record(&tr, node, task)) break;
        if (rc < 0)
            snprintf(err, errlen, "%s", tr.r.err);
        else if (rc == 0 && !tr.ended)
            snprintf(err, errlen, "%s: cut short (no 'end')", path);
    }
    tsv_close(&tr.r);
    if (!err[0]) return 0;
    for (size_t k = 0; k < n; k++) {
        driver_run_release(&runs[units[k]]);
        memset(&runs[units[k]], 0, sizeof runs[units[k]]);
    }
    return -1;
}
