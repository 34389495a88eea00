/* jobs.c: parallel, CPU-pinned replay groups, one per trace (see jobs.h). */
#include "sim/report/jobs.h"
#include "sim/base/cli.h"
#include "sim/base/progress.h"
#include "sim/trace/trace.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What the threads share; every field below `lock` is guarded by it. */
typedef struct {
    const jobs_config_t *cfg;
    const jobs_unit_t *units;
    driver_run_t *runs;
    size_t n;
    size_t *group;  /* units of group g: member[group[g] .. group[g+1]) */
    size_t *member; /* unit indices, grouped by trace, in unit order     */
    size_t ngroups;
    size_t only;             /* the one group to run, or JOBS_NONE for all    */
    int phase;               /* this phase: JOBS_UNTIMED, JOBS_TIMED, JOBS_THREADED */
    unsigned char *threaded; /* group g: timed, its trace of 2+ threads  */
    pthread_mutex_t lock;
    size_t next;        /* next group to consider                   */
    size_t done, total; /* units finished / to run in all phases    */
    int status;         /* first failure's exit status, or 0        */
    size_t failed;
    double start;
} jobs_ctx_t;

typedef struct {
    jobs_ctx_t *ctx;
    int cpu; /* pinned to this CPU, or -1 */
    pthread_t tid;
    size_t g;       /* the group it runs                          */
    double next;    /* no status line redraw of its own before    */
    char phase[32]; /* the pass its last redraw showed            */
} jobs_thread_t;

static double jobs_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The CPUs of our affinity mask, in order, into CPUS (room for CPU_SETSIZE).
 * Returns their count, at least 1 (CPU 0 when the mask cannot be read). */
static unsigned jobs_cpu_list(int *cpus)
{
    cpu_set_t set;
    unsigned n = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &set)) cpus[n++] = c;
    if (n == 0) cpus[n++] = 0;
    return n;
}

unsigned jobs_cpus(void)
{
    int cpus[CPU_SETSIZE];
    return jobs_cpu_list(cpus);
}

/* The status line, with PASS (NULL: none) the running worker's pass of
 * group G (caller holds the lock). */
static void jobs_progress(jobs_ctx_t *c, size_t g, int cpu, const char *pass)
{
    if (!c->cfg->progress) return;
    int secs = (int)(jobs_now() - c->start);
    char where[32] = "";
    if (cpu >= 0) snprintf(where, sizeof where, " on cpu %d", cpu);
    fprintf(stderr,
            "\r\033[Karenalab: report: %zu/%zu runs done, %zu left, %d:%02d -- %s, %zu "
            "allocators%s%s%s",
            c->done, c->total, c->total - c->done, secs / 60, secs % 60,
            c->units[c->member[c->group[g]]].name, c->group[g + 1] - c->group[g], where,
            pass ? ": " : "", pass ? pass : "");
    fflush(stderr);
}

/* driver_config_t.on_progress of thread UD's group: its worker's pass on
 * the status line, at most PROGRESS_HZ times a second (the lines come
 * every few million events; a long trace's group runs for minutes), but a
 * new pass at once: a short pass would otherwise never show. */
static void jobs_on_progress(void *ud, const char *phase, uint64_t done, uint64_t total)
{
    jobs_thread_t *t = ud;
    double now = jobs_now();
    if (now < t->next && !strncmp(phase, t->phase, sizeof t->phase - 1)) return;
    t->next = now + 1.0 / PROGRESS_HZ;
    snprintf(t->phase, sizeof t->phase, "%s", phase);
    char pass[96];
    if (total)
        snprintf(pass, sizeof pass, "%s %.0f %%", phase,
                 100.0 * (double)(done < total ? done : total) / (double)total);
    else
        snprintf(pass, sizeof pass, "%s, %.1f M events", phase, (double)done / 1e6);
    pthread_mutex_lock(&t->ctx->lock);
    jobs_progress(t->ctx, t->g, t->cpu, pass);
    pthread_mutex_unlock(&t->ctx->lock);
}

/* The phases, in order: groups without timed runs; timed groups of a
 * one-thread trace, pinned; timed groups of a trace of several threads, one
 * at a time on every CPU of our mask. */
enum { JOBS_UNTIMED, JOBS_TIMED, JOBS_THREADED };

/* Whether group G has a timed run. */
static int jobs_group_timed(const jobs_ctx_t *c, size_t g)
{
    for (size_t k = c->group[g]; k < c->group[g + 1]; k++)
        if (c->units[c->member[k]].repeat > 0) return 1;
    return 0;
}

/* Index of the next group of this phase, or JOBS_NONE (caller holds the
 * lock). */
static size_t jobs_take(jobs_ctx_t *c)
{
    while (c->status == 0 && c->next < c->ngroups) {
        size_t g = c->next++;
        if (c->only != JOBS_NONE && g != c->only) continue;
        int phase = !jobs_group_timed(c, g) ? JOBS_UNTIMED
                    : c->threaded[g]        ? JOBS_THREADED
                                            : JOBS_TIMED;
        if (phase == c->phase) return g;
    }
    return JOBS_NONE;
}

/* Group G through the driver, its results into C->runs.  Returns an exit
 * status. */
static int jobs_group(jobs_thread_t *t, size_t g)
{
    jobs_ctx_t *c = t->ctx;
    size_t n = c->group[g + 1] - c->group[g];
    const size_t *mem = c->member + c->group[g];
    route_t *routes = malloc(n * sizeof *routes);
    unsigned *repeats = malloc(n * sizeof *repeats);
    if (!routes || !repeats) {
        free(routes);
        free(repeats);
        cli_error("report: out of memory");
        return CLI_FAIL;
    }
    for (size_t k = 0; k < n; k++) {
        routes[k] = c->units[mem[k]].route;
        repeats[k] = c->units[mem[k]].repeat;
    }
    driver_config_t dc = {
        .traces = &c->units[mem[0]].trace,
        .ntraces = 1,
        .routes = routes,
        .nroutes = n,
        .repeats = repeats,
        .seed = c->cfg->seed + g,
        .measure = c->cfg->measure,
        .nsamples = c->cfg->nsamples,
        .self = c->cfg->self,
        .find = c->cfg->find,
        .on_progress = c->cfg->progress ? jobs_on_progress : NULL,
        .on_progress_ud = t,
        /* as `replay`: a trace of several threads on as many (their
         * workers inherit the job's CPUs: all of ours in the threaded
         * phase) */
        .threads_recorded = 1,
    };
    driver_run_t *out = NULL;
    size_t nout = 0;
    int rc = driver_run(&dc, &out, &nout);
    if (rc == CLI_OK && nout == n) {
        /* The results now belong to the units: their own route and trace. */
        for (size_t k = 0; k < n; k++) {
            c->runs[mem[k]] = out[k];
            c->runs[mem[k]].route = &c->units[mem[k]].route;
            c->runs[mem[k]].trace = c->units[mem[k]].trace;
        }
        free(out);
    } else if (rc == CLI_OK) {
        driver_runs_free(out, nout);
        rc = CLI_FAIL;
    }
    free(routes);
    free(repeats);
    return rc;
}

static void *jobs_thread(void *arg)
{
    jobs_thread_t *t = arg;
    jobs_ctx_t *c = t->ctx;
    if (t->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(t->cpu, &set);
        /* A pin that fails would let two timed runs share a CPU: stop. */
        if (sched_setaffinity(0, sizeof set, &set) != 0) {
            pthread_mutex_lock(&c->lock);
            if (!c->status) {
                cli_error("report: cannot pin a job to cpu %d", t->cpu);
                c->status = CLI_FAIL;
                c->failed = JOBS_NONE;
            }
            pthread_mutex_unlock(&c->lock);
            return NULL;
        }
    }
    for (;;) {
        pthread_mutex_lock(&c->lock);
        size_t g = jobs_take(c);
        if (g != JOBS_NONE) jobs_progress(c, g, t->cpu, NULL);
        pthread_mutex_unlock(&c->lock);
        if (g == JOBS_NONE) return NULL;
        t->g = g;
        t->next = 0;
        t->phase[0] = '\0';
        int rc = jobs_group(t, g);
        pthread_mutex_lock(&c->lock);
        c->done += c->group[g + 1] - c->group[g];
        if (rc != CLI_OK && !c->status) {
            c->status = rc;
            c->failed = c->member[c->group[g]];
        }
        pthread_mutex_unlock(&c->lock);
    }
}

size_t jobs_groups(const jobs_unit_t *units, size_t n, size_t *of)
{
    size_t ngroups = 0;
    for (size_t i = 0; i < n; i++) {
        of[i] = ngroups;
        for (size_t j = 0; j < i; j++)
            if (strcmp(units[j].trace, units[i].trace) == 0) {
                of[i] = of[j];
                break;
            }
        if (of[i] == ngroups) ngroups++;
    }
    return ngroups;
}

/* Groups the units by trace (C->group, C->member).  Returns 0 or -1. */
static int jobs_make_groups(jobs_ctx_t *c)
{
    size_t n = c->n;
    c->member = malloc((n ? n : 1) * sizeof *c->member);
    c->group = malloc((n + 1) * sizeof *c->group);
    size_t *of = malloc((n ? n : 1) * sizeof *of); /* unit -> its group */
    if (!c->member || !c->group || !of) {
        free(of);
        return -1;
    }
    c->ngroups = jobs_groups(c->units, n, of);
    size_t k = 0;
    for (size_t g = 0; g < c->ngroups; g++) {
        c->group[g] = k;
        for (size_t i = 0; i < n; i++)
            if (of[i] == g) c->member[k++] = i;
    }
    c->group[c->ngroups] = k;
    free(of);
    return 0;
}

/* Whether TRACE has events of two threads or more: read until a second
 * thread shows (a trace that cannot be read is one thread here; its
 * driver run says what is wrong). */
static int jobs_trace_threaded(const char *trace)
{
    trace_reader_t *r;
    char err[256];
    if (trace_open(&r, trace, err, sizeof err) != 0) return 0;
    trace_event_t batch[256];
    uint32_t first = 0;
    int seen = 0, many = 0, n;
    while (!many && (n = trace_next_batch(r, batch, 256)) > 0)
        for (int k = 0; k < n && !many; k++) {
            if (!seen) first = batch[k].thread;
            seen = 1;
            many = batch[k].thread != first;
        }
    trace_close(r);
    return many;
}

/* One phase: NTHREADS threads, pinned to CPUS[k] when CPUS is not NULL. */
static void jobs_phase(jobs_ctx_t *c, int phase, unsigned nthreads, const int *cpus)
{
    jobs_thread_t th[JOBS_MAX];
    c->phase = phase;
    c->next = 0;
    unsigned started = 0;
    for (unsigned k = 0; k < nthreads; k++) {
        th[k] = (jobs_thread_t){.ctx = c, .cpu = cpus ? cpus[k] : -1};
        if (pthread_create(&th[k].tid, NULL, jobs_thread, &th[k]) != 0) {
            pthread_mutex_lock(&c->lock);
            if (!c->status) {
                cli_error("report: cannot start a job thread");
                c->status = CLI_FAIL;
                c->failed = JOBS_NONE;
            }
            pthread_mutex_unlock(&c->lock);
            break;
        }
        started++;
    }
    for (unsigned k = 0; k < started; k++)
        pthread_join(th[k].tid, NULL);
}

/* jobs_run, or jobs_run_group when ONLY is not JOBS_NONE. */
static int jobs_exec(const jobs_config_t *cfg, const jobs_unit_t *units, size_t n, size_t only,
                     driver_run_t *runs, size_t *failed)
{
    int cpus[CPU_SETSIZE];
    unsigned ncpus = jobs_cpu_list(cpus);
    unsigned jobs = cfg->jobs < 1 ? 1 : cfg->jobs > JOBS_MAX ? JOBS_MAX : cfg->jobs;
    jobs_ctx_t c = {.cfg = cfg,
                    .units = units,
                    .runs = runs,
                    .n = n,
                    .only = only,
                    .total = n,
                    .failed = JOBS_NONE,
                    .start = jobs_now()};
    c.threaded = calloc(n + 1, 1);
    if (!c.threaded || jobs_make_groups(&c) || pthread_mutex_init(&c.lock, NULL) != 0) {
        cli_error("report: out of memory");
        free(c.threaded);
        free(c.group);
        free(c.member);
        *failed = JOBS_NONE;
        return CLI_FAIL;
    }
    if (only != JOBS_NONE && only >= c.ngroups) {
        cli_error("report: there is no group %zu (%zu in all)", only, c.ngroups);
        c.status = CLI_USAGE;
    }
    /* The groups to run: every one, or the one asked for. */
    size_t first = only == JOBS_NONE ? 0 : only, end = only == JOBS_NONE ? c.ngroups : only + 1;
    size_t nuntimed = 0, nthreaded = 0, nrun = c.status ? 0 : end - first;
    if (only != JOBS_NONE && !c.status) c.total = c.group[only + 1] - c.group[only];
    for (size_t g = first; g < end && !c.status; g++) {
        if (!jobs_group_timed(&c, g))
            nuntimed++;
        else if (jobs_trace_threaded(units[c.member[c.group[g]]].trace)) {
            c.threaded[g] = 1;
            nthreaded++;
        }
    }
    if (nuntimed) jobs_phase(&c, JOBS_UNTIMED, (unsigned)(jobs < nuntimed ? jobs : nuntimed), NULL);
    if (!c.status && nuntimed + nthreaded < nrun) {
        unsigned k = jobs < ncpus ? jobs : ncpus;
        if (k > nrun - nuntimed - nthreaded) k = (unsigned)(nrun - nuntimed - nthreaded);
        jobs_phase(&c, JOBS_TIMED, k, cpus);
    }
    /* unpinned: the job's thread and the driver's workers keep our mask */
    if (!c.status && nthreaded) jobs_phase(&c, JOBS_THREADED, 1, NULL);
    if (cfg->progress) {
        int secs = (int)(jobs_now() - c.start);
        fprintf(stderr, "\r\033[Karenalab: report: %zu/%zu runs %s in %d:%02d\n", c.done, c.total,
                c.status ? "finished before a failure" : "done", secs / 60, secs % 60);
    }
    pthread_mutex_destroy(&c.lock);
    free(c.threaded);
    free(c.group);
    free(c.member);
    *failed = c.failed;
    return c.status;
}

int jobs_run(const jobs_config_t *cfg, const jobs_unit_t *units, size_t n, driver_run_t *runs,
             size_t *failed)
{
    return jobs_exec(cfg, units, n, JOBS_NONE, runs, failed);
}

int jobs_run_group(const jobs_config_t *cfg, const jobs_unit_t *units, size_t n, size_t g,
                   driver_run_t *runs, size_t *failed)
{
    return jobs_exec(cfg, units, n, g, runs, failed);
}

void jobs_runs_free(driver_run_t *runs, size_t n)
{
    for (size_t i = 0; runs && i < n; i++)
        driver_run_release(&runs[i]);
}
