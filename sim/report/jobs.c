/* jobs.c: parallel, CPU-pinned replay units (see jobs.h). */
#include "sim/report/jobs.h"
#include "sim/base/cli.h"

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
    int timed; /* this phase: units with repeat > 0        */
    pthread_mutex_t lock;
    size_t next;        /* next unit index to consider              */
    size_t done, total; /* units finished / to run in all phases    */
    int status;         /* first failure's exit status, or 0        */
    size_t failed;
    double start;
} jobs_ctx_t;

typedef struct {
    jobs_ctx_t *ctx;
    int cpu; /* pinned to this CPU, or -1 */
    pthread_t tid;
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

/* The status line (caller holds the lock). */
static void jobs_progress(jobs_ctx_t *c, const jobs_unit_t *u, int cpu)
{
    if (!c->cfg->progress) return;
    int secs = (int)(jobs_now() - c->start);
    char where[32] = "";
    if (cpu >= 0) snprintf(where, sizeof where, " on cpu %d", cpu);
    fprintf(stderr, "\r\033[Karenalab: report: %zu/%zu done, %zu left, %d:%02d -- %s with %s%s",
            c->done, c->total, c->total - c->done, secs / 60, secs % 60, u->name, u->route.spec[0],
            where);
    fflush(stderr);
}

/* Index of the next unit of this phase, or JOBS_NONE (caller holds the lock). */
static size_t jobs_take(jobs_ctx_t *c)
{
    while (c->status == 0 && c->next < c->n) {
        size_t i = c->next++;
        if ((c->units[i].repeat > 0) == c->timed) return i;
    }
    return JOBS_NONE;
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
        size_t i = jobs_take(c);
        if (i != JOBS_NONE) jobs_progress(c, &c->units[i], t->cpu);
        pthread_mutex_unlock(&c->lock);
        if (i == JOBS_NONE) return NULL;

        const jobs_unit_t *u = &c->units[i];
        driver_config_t dc = {
            .traces = &u->trace,
            .ntraces = 1,
            .routes = &u->route,
            .nroutes = 1,
            .repeat = u->repeat,
            .nsamples = c->cfg->nsamples,
            .self = c->cfg->self,
            .find = c->cfg->find,
        };
        driver_run_t *out = NULL;
        size_t nout = 0;
        int rc = driver_run(&dc, &out, &nout);
        if (rc == CLI_OK && nout == 1) {
            c->runs[i] = out[0];
            free(out); /* the series now belongs to runs[i] */
        } else if (rc == CLI_OK) {
            driver_runs_free(out, nout);
            rc = CLI_FAIL;
        }
        pthread_mutex_lock(&c->lock);
        c->done++;
        if (rc != CLI_OK && !c->status) {
            c->status = rc;
            c->failed = i;
        }
        pthread_mutex_unlock(&c->lock);
    }
}

/* One phase: NTHREADS threads, pinned to CPUS[k] when CPUS is not NULL. */
static void jobs_phase(jobs_ctx_t *c, int timed, unsigned nthreads, const int *cpus)
{
    jobs_thread_t th[JOBS_MAX];
    c->timed = timed;
    c->next = 0;
    unsigned started = 0;
    for (unsigned k = 0; k < nthreads; k++) {
        th[k] = (jobs_thread_t){c, cpus ? cpus[k] : -1, 0};
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

int jobs_run(const jobs_config_t *cfg, const jobs_unit_t *units, size_t n, driver_run_t *runs,
             size_t *failed)
{
    int cpus[CPU_SETSIZE];
    unsigned ncpus = jobs_cpu_list(cpus);
    unsigned jobs = cfg->jobs < 1 ? 1 : cfg->jobs > JOBS_MAX ? JOBS_MAX : cfg->jobs;
    jobs_ctx_t c = {.cfg = cfg,
                    .units = units,
                    .runs = runs,
                    .n = n,
                    .total = n,
                    .failed = JOBS_NONE,
                    .start = jobs_now()};
    if (pthread_mutex_init(&c.lock, NULL) != 0) {
        cli_error("report: out of memory");
        *failed = JOBS_NONE;
        return CLI_FAIL;
    }
    size_t nuntimed = 0;
    for (size_t i = 0; i < n; i++)
        nuntimed += units[i].repeat == 0;
    if (nuntimed) jobs_phase(&c, 0, (unsigned)(jobs < nuntimed ? jobs : nuntimed), NULL);
    if (!c.status && nuntimed < n) {
        unsigned k = jobs < ncpus ? jobs : ncpus;
        if (k > n - nuntimed) k = (unsigned)(n - nuntimed);
        jobs_phase(&c, 1, k, cpus);
    }
    if (cfg->progress) {
        int secs = (int)(jobs_now() - c.start);
        fprintf(stderr, "\r\033[Karenalab: report: %zu/%zu runs %s in %d:%02d\n", c.done, n,
                c.status ? "finished before a failure" : "done", secs / 60, secs % 60);
    }
    pthread_mutex_destroy(&c.lock);
    *failed = c.failed;
    return c.status;
}

void jobs_runs_free(driver_run_t *runs, size_t n)
{
    for (size_t i = 0; runs && i < n; i++)
        metrics_series_free(&runs[i].series);
}
