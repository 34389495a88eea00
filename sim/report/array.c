/* array.c: a report's cells as a Slurm job array -- the tasks directory,
 * submissions, waiting, retries (see array.h). */
#include "sim/report/array.h"
#include "sim/base/cli.h"
#include "sim/base/outfile.h"
#include "sim/base/tsv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* squeue failing this many times in a row ends the wait (an error: the
 * directory stays resumable). */
#define ARRAY_MAX_QUERY_FAILURES 10
/* Seconds between two looks at the queue: 1, growing by one every 30 s of
 * waiting, up to this. */
#define ARRAY_MAX_POLL 10

char *array_path(const array_t *a, const char *rel)
{
    size_t n = strlen(a->dir) + strlen(PLAN_DIR) + strlen(rel) + 3;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s/%s/%s", a->dir, PLAN_DIR, rel);
    return s;
}

/* DIR/tasks/task-K.SUFFIX into BUF. */
static void array_task_file(const array_t *a, size_t k, const char *suffix, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s/task-%zu.%s", a->dir, PLAN_DIR, k, suffix);
}

static double array_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the tasks directory ----------------------------------------------------- */

/* Copies SRC to DST with MODE.  0 or -1 with ERR. */
static int array_copy(const char *src, const char *dst, mode_t mode, char *err, size_t errlen)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    int out = in >= 0 ? open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode) : -1;
    int rc = in >= 0 && out >= 0 ? 0 : -1;
    char buf[1 << 16];
    ssize_t got;
    while (rc == 0 && (got = read(in, buf, sizeof buf)) != 0) {
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) rc = -1;
        for (ssize_t off = 0; rc == 0 && off < got;) {
            ssize_t put = write(out, buf + off, (size_t)(got - off));
            if (put < 0 && errno != EINTR) rc = -1;
            if (put > 0) off += put;
        }
    }
    int saved = errno;
    if (in >= 0) close(in);
    if (out >= 0 && close(out) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc) snprintf(err, errlen, "cannot copy %s to %s: %s", src, dst, strerror(saved));
    return rc;
}

/* S single-quoted for a POSIX shell. */
static void array_shell_quote(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++)
        if (*s == '\'')
            fputs("'\\''", f);
        else
            fputc(*s, f);
    fputc('\'', f);
}

int array_prepare(const array_t *a, char *err, size_t errlen)
{
    char *tasks = array_path(a, ""), *logs = array_path(a, "logs"),
         *plan = array_path(a, "plan.txt"), *bin = array_path(a, "arenalab"),
         *script = array_path(a, "run.sh");
    int rc = -1;
    outfile_t o;
    if (!tasks || !logs || !plan || !bin || !script) {
        snprintf(err, errlen, "out of memory");
    } else if ((mkdir(tasks, 0777) != 0 && errno != EEXIST) ||
               (mkdir(logs, 0777) != 0 && errno != EEXIST)) {
        snprintf(err, errlen, "%s: cannot create the directory: %s", logs, strerror(errno));
    } else if (plan_write(a->plan, plan, err, errlen) == 0 &&
               array_copy("/proc/self/exe", bin, 0755, err, errlen) == 0 &&
               outfile_open(&o, script, "w", err, errlen) == 0) {
        fputs("#!/bin/sh\n"
              "# One array task of an arenalab report: the units of one trace, run as\n"
              "# `arenalab report --jobs 1` runs them (tasks/plan.txt says which).\n"
              "exec ",
              o.fp);
        array_shell_quote(o.fp, bin);
        fputs(" report --task \"$SLURM_ARRAY_TASK_ID\" ", o.fp);
        array_shell_quote(o.fp, a->dir);
        fputc('\n', o.fp);
        if (outfile_commit(&o, err, errlen) == 0) {
            if (chmod(script, 0755) != 0)
                snprintf(err, errlen, "%s: cannot make it executable: %s", script, strerror(errno));
            else
                rc = 0;
        }
    }
    free(tasks);
    free(logs);
    free(plan);
    free(bin);
    free(script);
    return rc;
}

int array_lock(const array_t *a, char *err, size_t errlen)
{
    char *path = array_path(a, "lock");
    int fd = path ? open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666) : -1;
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open the lock: %s", path ? path : a->dir,
                 path ? strerror(errno) : "out of memory");
        free(path);
        return -1;
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_SETLK, &fl) != 0) {
        snprintf(err, errlen,
                 "%s: another arenalab report is collecting this result (its lock is held)", path);
        close(fd);
        free(path);
        return -1;
    }
    free(path);
    return fd;
}

void array_unlock(int fd)
{
    if (fd >= 0) close(fd);
}

int array_started(const array_t *a, size_t k, const char *job, char *err, size_t errlen)
{
    char path[PATH_MAX + 64], host[256];
    array_task_file(a, k, "started", path, sizeof path);
    if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "unknown");
    outfile_t o;
    if (outfile_open(&o, path, "w", err, errlen)) return -1;
    tsv_begin(o.fp, "job");
    tsv_put_str(o.fp, job);
    tsv_put_str(o.fp, host);
    tsv_put_u64(o.fp, (uint64_t)getpid());
    tsv_end(o.fp);
    return outfile_commit(&o, err, errlen);
}

/* ---- submissions ------------------------------------------------------------- */

/* The submissions so far (jobs.txt), into T: attempts and last job of
 * each task.  A missing file is none.  0 or -1. */
static int array_read_jobs(const array_t *a, array_task_t *t, char *err, size_t errlen)
{
    for (size_t k = 0; k < a->ntasks; k++)
        t[k].attempts = 0, t[k].job[0] = '\0';
    char *path = array_path(a, "jobs.txt");
    tsv_reader_t r;
    if (!path) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (tsv_open(&r, path)) {
        int missing = errno == ENOENT;
        if (!missing) snprintf(err, errlen, "%s", r.err);
        free(path);
        return missing ? 0 : -1;
    }
    int rc;
    while ((rc = tsv_next(&r)) == 1) {
        const char *job = tsv_str(&r, 1);
        if (strcmp(r.field[0], "job") != 0 || !job || strlen(job) + 24 > SLURM_JOB_MAX) {
            snprintf(err, errlen, "%s:%zu: not a submission", path, r.lineno);
            rc = -1;
            break;
        }
        for (size_t f = 2; f < r.n; f++) {
            uint64_t k;
            if (tsv_get_u64(tsv_str(&r, f), &k) == 0 && k < a->ntasks) {
                t[k].attempts++;
                snprintf(t[k].job, sizeof t[k].job, "%s_%llu", job, (unsigned long long)k);
            }
        }
    }
    if (rc < 0 && !err[0]) snprintf(err, errlen, "%s", r.err);
    tsv_close(&r);
    free(path);
    return rc < 0 ? -1 : 0;
}

/* Appends a submission to jobs.txt.  0 or -1. */
static int array_record_job(const array_t *a, const char *job, const unsigned char *todo, char *err,
                            size_t errlen)
{
    char *path = array_path(a, "jobs.txt");
    FILE *f = path ? fopen(path, "a") : NULL;
    if (!f) {
        snprintf(err, errlen, "%s: cannot append: %s", path ? path : "jobs.txt",
                 path ? strerror(errno) : "out of memory");
        free(path);
        return -1;
    }
    tsv_begin(f, "job");
    tsv_put_str(f, job);
    for (size_t k = 0; k < a->ntasks; k++)
        if (todo[k]) tsv_put_u64(f, k);
    tsv_end(f);
    int rc = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -1;
    if (fclose(f) != 0) rc = -1;
    if (rc) snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
    free(path);
    return rc;
}

/* Submits the tasks in TODO as one array; its id into JOB.  0 or -1. */
static int array_submit(const array_t *a, const unsigned char *todo, char *job, char *err,
                        size_t errlen)
{
    size_t cap = a->ntasks * 22 + 1, n = 0;
    char *indices = malloc(cap);
    char *script = array_path(a, "run.sh"), *logs = array_path(a, "logs/task-%a.%A.log"),
         *chdir = array_path(a, "");
    int rc = -1;
    if (!indices || !script || !logs || !chdir) {
        snprintf(err, errlen, "out of memory");
    } else {
        /* "0-3,5,7-9" */
        indices[0] = '\0';
        for (size_t k = 0; k < a->ntasks; k++) {
            if (!todo[k] || (k > 0 && todo[k - 1])) continue;
            size_t last = k;
            while (last + 1 < a->ntasks && todo[last + 1])
                last++;
            n += (size_t)snprintf(indices + n, cap - n, n ? ",%zu" : "%zu", k);
            if (last > k) n += (size_t)snprintf(indices + n, cap - n, "-%zu", last);
        }
        char name[160];
        snprintf(name, sizeof name, "arenalab-%s", a->plan->exp.name);
        slurm_submit_t s = {script,
                            indices,
                            name,
                            logs,
                            chdir,
                            a->plan->partition,
                            a->plan->time,
                            a->plan->sbatch_args,
                            a->plan->nsbatch_args};
        if (slurm_submit(&s, job, SLURM_JOB_MAX, err, errlen) == 0 &&
            array_record_job(a, job, todo, err, errlen) == 0)
            rc = 0;
    }
    free(indices);
    free(script);
    free(logs);
    free(chdir);
    return rc;
}

/* ---- waiting ---------------------------------------------------------------------- */

/* The array job of "JOB_K" into BUF. */
static const char *array_job_of(const char *task_job, char *buf, size_t len)
{
    snprintf(buf, len, "%.*s", (int)strcspn(task_job, "_"), task_job);
    return buf;
}

/* Marks in T which tasks have their result, and for the others whether
 * their last attempt started; returns how many are done. */
static size_t array_scan(const array_t *a, array_task_t *t)
{
    size_t done = 0;
    for (size_t k = 0; k < a->ntasks; k++) {
        char path[PATH_MAX + 64];
        array_task_file(a, k, "result", path, sizeof path);
        t[k].done = access(path, F_OK) == 0;
        done += t[k].done;
        t[k].started = 0;
        array_task_file(a, k, "started", path, sizeof path);
        tsv_reader_t r;
        if (!t[k].done && t[k].job[0] && tsv_open(&r, path) == 0) {
            t[k].started = tsv_next(&r) == 1 && tsv_str(&r, 1) && !strcmp(tsv_str(&r, 1), t[k].job);
            tsv_close(&r);
        }
    }
    return done;
}

/* Waits until no task of T's last jobs is queued or running.  0 or -1. */
static int array_wait(const array_t *a, array_task_t *t, char *err, size_t errlen)
{
    unsigned char *live = calloc(a->ntasks ? a->ntasks : 1, 1);
    unsigned char *any = calloc(a->ntasks ? a->ntasks : 1, 1);
    if (!live || !any) {
        free(live);
        free(any);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    double start = array_now();
    int failures = 0, rc = 0;
    for (;;) {
        /* every distinct job that is some unfinished task's last attempt */
        size_t nlive = 0, ndone = array_scan(a, t);
        memset(any, 0, a->ntasks);
        int asked = 0, failed = 0;
        for (size_t k = 0; k < a->ntasks; k++) {
            char job[SLURM_JOB_MAX], other[SLURM_JOB_MAX];
            if (t[k].done || !t[k].job[0]) continue;
            array_job_of(t[k].job, job, sizeof job);
            int seen = 0;
            for (size_t j = 0; j < k && !seen; j++)
                seen = !t[j].done && t[j].job[0] &&
                       !strcmp(array_job_of(t[j].job, other, sizeof other), job);
            if (seen) continue;
            size_t n;
            asked = 1;
            if (slurm_live(job, live, a->ntasks, &n, err, errlen)) {
                failed = 1;
                break;
            }
            for (size_t i = 0; i < a->ntasks; i++)
                any[i] |= live[i];
        }
        for (size_t i = 0; i < a->ntasks; i++)
            nlive += any[i];
        failures = failed ? failures + 1 : 0;
        if (failures >= ARRAY_MAX_QUERY_FAILURES) {
            rc = -1;
            break;
        }
        double waited = array_now() - start;
        if (a->progress) {
            int secs = (int)waited;
            fprintf(stderr,
                    "\r\033[Karenalab: report: slurm: %zu/%zu tasks done, %zu queued or "
                    "running, %d:%02d",
                    ndone, a->ntasks, nlive, secs / 60, secs % 60);
            fflush(stderr);
        }
        if (!failed && (!asked || nlive == 0)) break;
        unsigned poll = 1 + (unsigned)(waited / 30);
        sleep(poll < ARRAY_MAX_POLL ? poll : ARRAY_MAX_POLL);
    }
    if (a->progress) fputc('\n', stderr);
    free(live);
    free(any);
    if (rc == 0) err[0] = '\0';
    return rc;
}

/* The final state of every unfinished task's last attempt, into T. */
static void array_states(const array_t *a, array_task_t *t)
{
    char(*states)[SLURM_STATE_MAX] = calloc(a->ntasks ? a->ntasks : 1, sizeof *states);
    for (size_t k = 0; k < a->ntasks; k++)
        t[k].state[0] = '\0';
    for (size_t k = 0; states && k < a->ntasks; k++) {
        char job[SLURM_JOB_MAX], other[SLURM_JOB_MAX];
        if (t[k].done || !t[k].job[0] || t[k].state[0]) continue;
        array_job_of(t[k].job, job, sizeof job);
        slurm_states(job, states, a->ntasks);
        for (size_t i = k; i < a->ntasks; i++)
            if (!t[i].done && t[i].job[0] &&
                !strcmp(array_job_of(t[i].job, other, sizeof other), job))
                snprintf(t[i].state, sizeof t[i].state, "%s", states[i][0] ? states[i] : "unknown");
    }
    free(states);
}

/* Whether JOB, submitted here, was cancelled as a whole (see array.h). */
static int array_cancelled(const array_t *a, const array_task_t *t, const char *job)
{
    size_t ntasks = 0, cancelled = 0;
    int unstarted = 0;
    char mine[SLURM_JOB_MAX];
    for (size_t k = 0; k < a->ntasks; k++) {
        if (!t[k].job[0] || strcmp(array_job_of(t[k].job, mine, sizeof mine), job) != 0) continue;
        ntasks++;
        if (t[k].done) continue;
        if (strncmp(t[k].state, "CANCELLED", 9) != 0) return 0; /* it failed otherwise */
        cancelled++;
        unstarted |= !t[k].started;
    }
    /* one task cancelled among others that ran: that task, not the array */
    return cancelled > 1 || (cancelled == 1 && (ntasks == 1 || unstarted));
}

int array_run(const array_t *a, int nowait, array_task_t *t, char *jobid, char *err, size_t errlen)
{
    err[0] = '\0';
    jobid[0] = '\0';
    unsigned *budget = calloc(a->ntasks ? a->ntasks : 1, sizeof *budget);
    unsigned char *todo = calloc(a->ntasks ? a->ntasks : 1, 1);
    int rc = -1;
    if (!budget || !todo) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (array_read_jobs(a, t, err, errlen)) goto out;
    for (size_t k = 0; k < a->ntasks; k++)
        budget[k] = t[k].attempts + 1 + a->plan->retries;
    for (;;) {
        if (array_wait(a, t, err, errlen)) goto out;
        size_t ndone = array_scan(a, t);
        if (ndone == a->ntasks) {
            rc = ARRAY_DONE;
            break;
        }
        array_states(a, t);
        if (jobid[0] && array_cancelled(a, t, jobid)) {
            rc = ARRAY_CANCELLED;
            break;
        }
        size_t n = 0;
        for (size_t k = 0; k < a->ntasks; k++)
            n += todo[k] = !t[k].done && t[k].attempts < budget[k];
        if (n == 0) {
            rc = ARRAY_FAILED;
            break;
        }
        if (jobid[0] || a->progress) {
            /* a retry says which tasks and why */
            for (size_t k = 0; jobid[0] && k < a->ntasks; k++)
                if (todo[k])
                    cli_error("report: task %zu (%s) has no result: job %s ended %s; trying "
                              "again (attempt %u of %u)",
                              k, a->names[k], t[k].job, t[k].state, t[k].attempts + 1, budget[k]);
        }
        if (array_submit(a, todo, jobid, err, errlen)) goto out;
        if (array_read_jobs(a, t, err, errlen)) goto out;
        if (a->progress)
            fprintf(stderr, "arenalab: report: submitted Slurm job %s: %zu task%s\n", jobid, n,
                    n == 1 ? "" : "s");
        if (nowait) {
            rc = ARRAY_SUBMITTED;
            break;
        }
    }
out:
    free(budget);
    free(todo);
    return rc;
}

/* The last LINES lines of the file PATH on OUT, indented. */
static void array_tail(const char *path, int lines, FILE *out)
{
    FILE *f = fopen(path, "r");
    if (!f) return;
    char ring[8][512];
    int n = 0;
    while (fgets(ring[n % 8], sizeof ring[0], f))
        n++;
    fclose(f);
    if (lines > 8) lines = 8;
    for (int i = n > lines ? n - lines : 0; i < n; i++) {
        char *s = ring[i % 8];
        fprintf(out, "    %s%s", s, s[0] && s[strlen(s) - 1] == '\n' ? "" : "\n");
    }
}

void array_describe(const array_t *a, const array_task_t *t, FILE *out)
{
    for (size_t k = 0; k < a->ntasks; k++) {
        if (t[k].done) continue;
        fprintf(out, "- task %zu (trace %s): no result", k, a->names[k]);
        if (!t[k].job[0]) {
            fputs(": never submitted\n", out);
            continue;
        }
        char job[SLURM_JOB_MAX], log[PATH_MAX + 64];
        array_job_of(t[k].job, job, sizeof job);
        snprintf(log, sizeof log, "%s/%s/logs/task-%zu.%s.log", a->dir, PLAN_DIR, k, job);
        fprintf(out, " after %u attempt%s; the last, Slurm job %s, ended %s%s; its log: %s\n",
                t[k].attempts, t[k].attempts == 1 ? "" : "s", t[k].job,
                t[k].state[0] ? t[k].state : "in a state not known",
                t[k].started ? "" : " (it never started)", log);
        array_tail(log, 3, out);
    }
}
