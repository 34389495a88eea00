/* cmd_report.c: `arenalab report [EXPERIMENT]` -- runs an experiment and
 * writes its result directory: data, plots, index.html, summary.md.
 *
 * The steps, each failing into a PARTIAL-marked directory once it exists:
 * load the experiment (sim/report/experiment.c: nothing is created when it is
 * wrong), claim results/<name>-<timestamp>.partial (sim/report/resdir.c), record
 * the environment and the experiment file, generate the workload traces
 * (sim/lua/script_run.c), read each trace's statistics, run every unit
 * (sim/report/jobs.c), take pymalloc's pool tables at each peak (sim/report/pools.c),
 * write the data (sim/report/results.c), the plots (sim/report/figures.c), the page
 * (sim/report/html.c) and the summary (sim/report/summary.c), then rename the directory
 * into place and point results/latest at it.
 *
 * With --slurm the units run elsewhere: the steps up to the generated
 * traces are the same, then the directory gets the plan and the tasks'
 * files and the traces go to Slurm as a job array, one task per trace
 * (sim/report/array.h); when every task has written its result, the
 * results are read back into the same driver_run_t array a local run
 * fills and the same steps write the report.  `--task K DIR` (hidden) is
 * what an array task runs: trace K's group through jobs_run_group, as
 * `--jobs 1` runs it.  `--resume DIR` picks a Slurm report up where it
 * stopped: waits, reruns what has no result, writes the report.
 *
 * The repository root (default experiment, default results/, relative
 * paths in experiments) comes from sim/base/repo.h.
 */
#include "sim/cli/commands.h"
#include "sim/report/array.h"
#include "sim/report/experiment.h"
#include "sim/report/figures.h"
#include "sim/report/html.h"
#include "sim/report/jobs.h"
#include "sim/report/plan.h"
#include "sim/report/pools.h"
#include "sim/base/repo.h"
#include "sim/report/resdir.h"
#include "sim/report/results.h"
#include "sim/lua/script.h"
#include "sim/report/summary.h"
#include "sim/report/sysinfo.h"
#include "sim/report/taskfile.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
    REPORT_KEY_JOBS = 'j',
    REPORT_KEY_OUT = 'o',
    REPORT_KEY_REPEAT = 256,
    REPORT_KEY_ALLOW_UNSAFE,
    REPORT_KEY_SEED,
    REPORT_KEY_SLURM,
    REPORT_KEY_PARTITION,
    REPORT_KEY_TIME,
    REPORT_KEY_SBATCH_ARG,
    REPORT_KEY_NO_WAIT,
    REPORT_KEY_RETRIES,
    REPORT_KEY_RESUME,
    REPORT_KEY_QUIET = 'q',
};

#define REPORT_MAX_SBATCH_ARGS 32
/* What report_run returns when the array was submitted, not waited for. */
#define REPORT_SUBMITTED (-100)

static const cli_opt_t report_opts[] = {
    {"jobs", 'j', "N", REPORT_KEY_JOBS,
     "replay N traces at once (default 1; a trace's units run together); timed runs use at "
     "most one job per CPU, each pinned to its own; a trace of several threads times alone, "
     "on every CPU"},
    {"out", 'o', "DIR", REPORT_KEY_OUT,
     "put the result directory in DIR (default: results/ of the repository)"},
    {"repeat", 0, "N", REPORT_KEY_REPEAT,
     "timed runs per unit, overriding the experiment (0: memory and fragmentation only)"},
    {"allow-unsafe", 0, NULL, REPORT_KEY_ALLOW_UNSAFE,
     "no sandbox: the experiment and its workloads get the full Lua standard library (io, "
     "os, require) and can do anything you can"},
    {"seed", 0, "N", REPORT_KEY_SEED,
     "seed of the shuffled order of the interleaved timed runs (default 1; recorded)"},
    {"slurm", 0, NULL, REPORT_KEY_SLURM,
     "run the traces as a Slurm job array, one task per trace (the result directory must be on "
     "a filesystem every node shares); wait, retry failed tasks, write the report"},
    {"partition", 0, "P", REPORT_KEY_PARTITION, "--slurm: the partition (sbatch --partition)"},
    {"time", 0, "T", REPORT_KEY_TIME, "--slurm: each task's time limit (sbatch --time)"},
    {"sbatch-arg", 0, "ARG", REPORT_KEY_SBATCH_ARG,
     "--slurm: one more sbatch argument (repeat it: --sbatch-arg=--exclusive "
     "--sbatch-arg=--constraint=X)"},
    {"no-wait", 0, NULL, REPORT_KEY_NO_WAIT,
     "--slurm or --resume: submit, print the job id and return; --resume DIR finishes"},
    {"retries", 0, "N", REPORT_KEY_RETRIES,
     "--slurm or --resume: attempts of a failed task after its first (default 2)"},
    {"resume", 0, "DIR", REPORT_KEY_RESUME,
     "finish the Slurm report DIR (its .partial directory): wait for its tasks, rerun those "
     "without a result, write the report"},
    {"quiet", 'q', NULL, REPORT_KEY_QUIET,
     "no progress on a terminal (runs done, and the running trace's events done of the total)"},
    {0},
};

typedef struct {
    unsigned long jobs;
    const char *out;
    long repeat;      /* -1: the experiment's */
    int allow_unsafe; /* --allow-unsafe: no sandbox (sim/lua/sandbox.h) */
    unsigned long long seed;
    int jobs_given; /* --jobs was given                             */
    int slurm;      /* --slurm                                      */
    const char *partition, *time;
    char *sbatch_args[REPORT_MAX_SBATCH_ARGS];
    size_t nsbatch_args;
    int nowait;         /* --no-wait                                   */
    long retries;       /* -1: ARRAY_DEFAULT_RETRIES (or the plan's)    */
    const char *resume; /* --resume DIR                                */
    int quiet;          /* --quiet: no progress on a terminal          */
} report_args_t;

static int report_on_opt(void *ud, int key, const char *arg)
{
    report_args_t *a = ud;
    char *end;
    unsigned long v;
    switch (key) {
    case REPORT_KEY_JOBS:
        errno = 0;
        v = strtoul(arg, &end, 10);
        if (errno || *end || arg[0] < '0' || arg[0] > '9' || v < 1 || v > JOBS_MAX) {
            cli_error("report: --jobs %s: expected a count from 1 to %d", arg, JOBS_MAX);
            return -1;
        }
        a->jobs = v;
        a->jobs_given = 1;
        return 0;
    case REPORT_KEY_OUT:
        a->out = arg;
        return 0;
    case REPORT_KEY_REPEAT:
        errno = 0;
        v = strtoul(arg, &end, 10);
        if (errno || *end || arg[0] < '0' || arg[0] > '9' || v > EXP_MAX_REPEAT) {
            cli_error("report: --repeat %s: expected a count from 0 to %d", arg, EXP_MAX_REPEAT);
            return -1;
        }
        a->repeat = (long)v;
        return 0;
    case REPORT_KEY_ALLOW_UNSAFE:
        a->allow_unsafe = 1;
        return 0;
    case REPORT_KEY_SLURM:
        a->slurm = 1;
        return 0;
    case REPORT_KEY_PARTITION:
        a->partition = arg;
        return 0;
    case REPORT_KEY_TIME:
        a->time = arg;
        return 0;
    case REPORT_KEY_SBATCH_ARG:
        if (a->nsbatch_args == REPORT_MAX_SBATCH_ARGS) {
            cli_error("report: more than %d --sbatch-arg", REPORT_MAX_SBATCH_ARGS);
            return -1;
        }
        a->sbatch_args[a->nsbatch_args++] = (char *)arg;
        return 0;
    case REPORT_KEY_NO_WAIT:
        a->nowait = 1;
        return 0;
    case REPORT_KEY_RETRIES:
        errno = 0;
        v = strtoul(arg, &end, 10);
        if (errno || *end || arg[0] < '0' || arg[0] > '9' || v > 100) {
            cli_error("report: --retries %s: expected a count from 0 to 100", arg);
            return -1;
        }
        a->retries = (long)v;
        return 0;
    case REPORT_KEY_RESUME:
        a->resume = arg;
        return 0;
    case REPORT_KEY_QUIET:
        a->quiet = 1;
        return 0;
    case REPORT_KEY_SEED:
        errno = 0;
        a->seed = strtoull(arg, &end, 10);
        if (errno || *end || arg[0] < '0' || arg[0] > '9') {
            cli_error("report: --seed %s: expected a decimal number", arg);
            return -1;
        }
        return 0;
    }
    return -1;
}

/* ---- the run -------------------------------------------------------------------- */

/* S quoted for a POSIX shell when it needs it, appended to BUF. */
static void report_quote(char *buf, size_t len, const char *s)
{
    size_t n = strlen(buf);
    int plain = *s != '\0';
    for (const char *p = s; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%", *p))
            plain = 0;
    if (plain) {
        snprintf(buf + n, len - n, "%s", s);
        return;
    }
    if (n + 1 < len) buf[n++] = '\'';
    for (const char *p = s; *p && n + 5 < len; p++) {
        if (*p == '\'') {
            memcpy(buf + n, "'\\''", 4);
            n += 4;
        } else {
            buf[n++] = *p;
        }
    }
    if (n + 1 < len) buf[n++] = '\'';
    buf[n] = '\0';
}

/* "cd CWD && ROOT/scripts/arenalab report ARGS". */
static char *report_command(const char *root, int argc, char **argv)
{
    size_t len = 8192;
    char *buf = malloc(len);
    if (!buf) return NULL;
    char cwd[PATH_MAX];
    buf[0] = '\0';
    snprintf(buf, len, "cd ");
    report_quote(buf, len, getcwd(cwd, sizeof cwd) ? cwd : ".");
    size_t n = strlen(buf);
    snprintf(buf + n, len - n, " && ");
    char tool[PATH_MAX + 32];
    snprintf(tool, sizeof tool, "%s/scripts/arenalab", root);
    report_quote(buf, len, tool);
    n = strlen(buf);
    snprintf(buf + n, len - n, " report");
    for (int i = 1; i < argc; i++) {
        n = strlen(buf);
        snprintf(buf + n, len - n, " ");
        report_quote(buf, len, argv[i]);
    }
    return buf;
}

static double report_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Copies the file SRC to DST.  Returns 0 or -1 with ERR. */
static int report_copy(const char *src, const char *dst, char *err, size_t errlen)
{
    FILE *in = fopen(src, "rb");
    FILE *out = in ? fopen(dst, "wb") : NULL;
    int rc = in && out ? 0 : -1;
    char buf[65536];
    size_t got;
    while (rc == 0 && (got = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, got, out) != got) rc = -1;
    if (in && ferror(in)) rc = -1;
    if (in) fclose(in);
    if (out && fclose(out) != 0) rc = -1;
    if (rc) snprintf(err, errlen, "cannot copy %s to %s: %s", src, dst, strerror(errno));
    return rc;
}

typedef struct {
    exp_t exp;
    resdir_t dir;
    results_t res;
    jobs_unit_t *units;
    driver_run_t *runs;
    int interactive;
    plan_t plan;         /* --resume: the plan read (its exp moved to exp) */
    size_t *group;       /* per unit: its group, the array task running it */
    size_t ntasks;       /* groups                                        */
    const char **names;  /* per group: its trace's name                  */
    array_task_t *tasks; /* per group: the task's status                 */
    char err[8192];
} report_t;

/* Generates every workload trace into DIR/traces/, in the sandbox unless
 * ALLOW_UNSAFE. */
static int report_generate(report_t *p, int allow_unsafe)
{
    exp_t *e = &p->exp;
    size_t total = 0, k = 0;
    for (size_t t = 0; t < e->ntraces; t++)
        total += e->traces[t].script != NULL;
    if (total == 0) return CLI_OK;
    if (resdir_mkdir(&p->dir, "traces", p->err, sizeof p->err)) return CLI_FAIL;
    for (size_t t = 0; t < e->ntraces; t++) {
        exp_trace_t *tr = &e->traces[t];
        if (!tr->script) continue;
        k++;
        if (p->interactive)
            fprintf(stderr, "\r\033[Karenalab: report: generating trace %zu/%zu: %s", k, total,
                    tr->name);
        char rel[256];
        snprintf(rel, sizeof rel, "traces/%s.atr", tr->name);
        char *path = resdir_path(&p->dir, rel);
        script_opts_t o = {.script = tr->script,
                           .output = path,
                           .seed = tr->seed,
                           .defs = tr->defs,
                           .ndefs = tr->ndefs,
                           .allow_unsafe = allow_unsafe,
                           .allow_hint = "arenalab report --allow-unsafe"};
        /* A workload's print() and warnings go to our stderr. */
        char msg[4096];
        int rc = path ? script_run(&o, NULL, msg, sizeof msg) : SCRIPT_ENOMEM;
        if (rc == 0 && exp_set_trace_path(e, t, path)) rc = SCRIPT_ENOMEM;
        free(path);
        if (rc) {
            if (p->interactive) fputc('\n', stderr);
            snprintf(p->err, sizeof p->err, "%s:%d: workload %s: %s", e->file, tr->line, tr->name,
                     rc == SCRIPT_ENOMEM ? "out of memory" : msg);
            return rc == SCRIPT_EUSAGE ? CLI_USAGE : CLI_FAIL;
        }
    }
    if (p->interactive) fputc('\n', stderr);
    return CLI_OK;
}

/* The first grid allocator of class pymalloc, or NULL. */
static const char *report_pools_spec(const exp_t *e)
{
    for (size_t a = 0; a < e->nallocs; a++) {
        const char *s = e->allocs[a].spec;
        if (!e->allocs[a].skip && strncmp(s, "pymalloc", 8) == 0 && (s[8] == '\0' || s[8] == ':'))
            return s;
    }
    return NULL;
}

/* pymalloc's pool table at each trace's peak; a trace without one gets a
 * note (the report goes on: the table is an extra). */
static void report_pools(report_t *p)
{
    results_t *r = &p->res;
    exp_t *e = &p->exp;
    if (!(r->pools_spec = report_pools_spec(e))) return;
    char *tmp = resdir_path(&p->dir, "pools-prefix.tmp.atr");
    for (size_t t = 0; tmp && t < e->ntraces; t++) {
        results_trace_t *rt = &r->traces[t];
        if (rt->peak_bytes == 0) {
            snprintf(rt->pools_note, sizeof rt->pools_note, "nothing is ever live");
            continue;
        }
        char msg[1024];
        if (pools_at_peak(e->traces[t].path, rt->peak_at + 1, r->pools_spec, tmp, &rt->pools, msg,
                          sizeof msg)) {
            if (snprintf(rt->pools_note, sizeof rt->pools_note, "%s", msg) >=
                (int)sizeof rt->pools_note)
                rt->pools_note[sizeof rt->pools_note - 1] = '\0'; /* cut: a note */
            cli_error("report: warning: no pool table for %s: %s", e->traces[t].name, msg);
            continue;
        }
        rt->has_pools = 1;
    }
    free(tmp);
}

/* Reads every trace for its statistics.  Returns an exit status. */
static int report_stats(report_t *p)
{
    for (size_t t = 0; t < p->exp.ntraces; t++)
        if (results_trace_stats(&p->res, t, p->interactive ? stderr : NULL, p->err, sizeof p->err))
            return CLI_FAIL;
    return CLI_OK;
}

/* The experiment's units as jobs (each trace's allocators, their routes
 * and repeats), their groups (array tasks) and room for their runs.
 * Returns 0, or -1 out of memory. */
static int report_units(report_t *p)
{
    const exp_t *e = &p->exp;
    if (!(p->units = calloc(e->nunits, sizeof *p->units)) ||
        !(p->runs = calloc(e->nunits, sizeof *p->runs)) ||
        !(p->group = calloc(e->nunits, sizeof *p->group)))
        return -1;
    for (size_t u = 0; u < e->nunits; u++) {
        const exp_trace_t *tr = &e->traces[e->units[u].trace];
        p->units[u].trace = tr->path;
        p->units[u].name = tr->name;
        route_uniform(&p->units[u].route, e->units[u].spec);
        p->units[u].repeat = e->units[u].repeat;
    }
    p->ntasks = jobs_groups(p->units, e->nunits, p->group);
    return 0;
}

/* The result set's fields that come before any replay, the units and
 * their groups (array tasks), room for the runs.  COMMAND, STAMP and SYS
 * are set by the caller.  Returns an exit status (P->err on failure). */
static int report_setup(report_t *p)
{
    exp_t *e = &p->exp;
    results_t *r = &p->res;
    r->exp = e;
    r->dir = p->dir.final;
    if (!(r->traces = calloc(e->ntraces, sizeof *r->traces)) ||
        !(r->where = calloc(e->ntraces, sizeof *r->where)))
        goto oom;
    for (size_t t = 0; t < e->ntraces; t++)
        r->where[t].node = EXP_NONE;
    if (report_units(p)) goto oom;
    if (!(p->names = calloc(p->ntasks + 1, sizeof *p->names)) ||
        !(p->tasks = calloc(p->ntasks + 1, sizeof *p->tasks)))
        goto oom;
    for (size_t u = e->nunits; u-- > 0;)
        p->names[p->group[u]] = p->units[u].name;
    r->units = p->units;
    r->runs = p->runs;
    return CLI_OK;
oom:
    snprintf(p->err, sizeof p->err, "out of memory");
    return CLI_FAIL;
}

/* Everything after the replays: pool tables, data files, plots, the page
 * and the summary.  Returns an exit status (P->err on failure). */
static int report_finish(report_t *p)
{
    if (p->interactive)
        fputs("arenalab: report: pool tables, data files, plots, index.html, summary.md\n", stderr);
    report_pools(p);
    /* the real runs of program() traces, after the replays so that they
     * do not share the machine with them */
    rr_set_t real = {0};
    int any = 0;
    for (size_t t = 0; t < p->exp.ntraces; t++)
        any |= p->exp.traces[t].cmd != NULL;
    if (any) {
        if (rr_run_experiment(&p->exp, p->res.seed, p->interactive ? stderr : NULL, &real, p->err,
                              sizeof p->err))
            return CLI_FAIL;
        p->res.real = &real;
    }
    char *dir = resdir_path(&p->dir, "");
    char *plots = resdir_path(&p->dir, "plots");
    figures_t figs = {0};
    int rc = CLI_FAIL;
    if (!dir || !plots)
        snprintf(p->err, sizeof p->err, "out of memory");
    else if (results_write_data(&p->res, dir, p->err, sizeof p->err) == 0 &&
             figures_make(&p->res, plots, &figs, p->err, sizeof p->err) == 0 &&
             html_write(&p->res, &figs, dir, p->err, sizeof p->err) == 0 &&
             summary_write(&p->res, dir, p->err, sizeof p->err) == 0)
        rc = CLI_OK;
    figures_free(&figs);
    free(dir);
    free(plots);
    p->res.real = NULL;
    rr_set_free(&real);
    return rc;
}

/* Every unit through jobs_run, here. */
static int report_local(report_t *p, const report_args_t *a)
{
    exp_t *e = &p->exp;
    results_t *r = &p->res;
    r->executor = "local";
    for (size_t t = 0; t < e->ntraces; t++)
        if (results_ran_on(r, t, &r->sys, "", 0)) {
            snprintf(p->err, sizeof p->err, "out of memory");
            return CLI_FAIL;
        }
    unsigned ncpus = jobs_cpus();
    if (a->jobs > ncpus)
        cli_error("report: note: timed runs use at most %u jobs here (one per CPU)", ncpus);
    jobs_config_t jc = {(unsigned)a->jobs, e->samples, p->interactive, NULL, NULL,
                        a->seed,           e->measure};
    size_t failed;
    double t0 = report_now();
    int rc = jobs_run(&jc, p->units, e->nunits, p->runs, &failed);
    r->seconds = report_now() - t0;
    if (rc != CLI_OK) {
        if (failed == JOBS_NONE)
            snprintf(p->err, sizeof p->err, "the replays could not run (see the messages above)");
        else
            snprintf(p->err, sizeof p->err,
                     "the replays of trace %s (%s) failed, exit status %d; the replay's message, "
                     "naming the allocator, was printed on stderr",
                     p->units[failed].name, p->units[failed].trace, rc);
        return rc;
    }
    return report_finish(p);
}

/* The units of group K, in unit order, into MEMBERS (room for every
 * unit); returns their count. */
static size_t report_members(const report_t *p, size_t k, size_t *members)
{
    size_t n = 0;
    for (size_t u = 0; u < p->exp.nunits; u++)
        if (p->group[u] == k) members[n++] = u;
    return n;
}

/* Reads every task's result into the runs and records its machine.
 * Returns an exit status (P->err on failure). */
static int report_collect(report_t *p, const array_t *arr)
{
    exp_t *e = &p->exp;
    results_t *r = &p->res;
    size_t *members = malloc((e->nunits ? e->nunits : 1) * sizeof *members);
    taskfile_node_t *node = malloc(sizeof *node);
    int rc = CLI_OK;
    if (!members || !node) {
        snprintf(p->err, sizeof p->err, "out of memory");
        rc = CLI_FAIL;
    }
    r->seconds = 0;
    for (size_t k = 0; rc == CLI_OK && k < p->ntasks; k++) {
        size_t n = report_members(p, k, members);
        char rel[64];
        snprintf(rel, sizeof rel, "task-%zu.result", k);
        char *path = array_path(arr, rel);
        if (!path || taskfile_read(path, k, node, e, members, n, p->runs, p->err, sizeof p->err)) {
            if (!path) {
                snprintf(p->err, sizeof p->err, "out of memory");
            } else {
                /* Moved aside, so that --resume runs the task again. */
                char bad[PATH_MAX + 64];
                snprintf(bad, sizeof bad, "%s.bad", path);
                size_t len = strlen(p->err);
                if (rename(path, bad) == 0)
                    snprintf(p->err + len, sizeof p->err - len,
                             " (moved to %s: `arenalab report --resume %s` runs the task again)",
                             bad, p->dir.partial);
            }
            free(path);
            rc = CLI_FAIL;
            break;
        }
        free(path);
        for (size_t i = 0; i < n; i++) {
            p->runs[members[i]].route = &p->units[members[i]].route;
            p->runs[members[i]].trace = p->units[members[i]].trace;
        }
        if (results_ran_on(r, e->units[members[0]].trace, &node->sys, node->job, node->seconds)) {
            snprintf(p->err, sizeof p->err, "out of memory");
            rc = CLI_FAIL;
        }
        r->seconds += node->seconds;
    }
    free(members);
    free(node);
    return rc;
}

/* The array of P's plan from submission (or where --resume found it) to
 * the report.  Returns an exit status, or REPORT_SUBMITTED (--no-wait). */
static int report_array(report_t *p, const report_args_t *a, plan_t *plan, int prepare)
{
    results_t *r = &p->res;
    r->executor = "slurm";
    r->jobs = (unsigned)p->ntasks;
    array_t arr = {p->dir.partial, plan, p->ntasks, p->names, p->interactive};
    if (prepare && array_prepare(&arr, p->err, sizeof p->err)) return CLI_FAIL;
    int lock = array_lock(&arr, p->err, sizeof p->err);
    if (lock < 0) return CLI_FAIL;
    char job[SLURM_JOB_MAX];
    int rc = array_run(&arr, a->nowait, p->tasks, job, p->err, sizeof p->err);
    if (rc == ARRAY_DONE) {
        rc = prepare ? CLI_OK : report_stats(p); /* --resume: read now, what the tasks read */
        if (rc == CLI_OK) rc = report_collect(p, &arr);
        if (rc == CLI_OK) rc = report_finish(p);
        char *bin = rc == CLI_OK ? array_path(&arr, "arenalab") : NULL;
        if (bin) unlink(bin); /* no task runs again: the copy has done its work */
        free(bin);
    } else if (rc == ARRAY_SUBMITTED) {
        char text[PATH_MAX * 2 + 512];
        snprintf(text, sizeof text,
                 "This result is being made by Slurm job %s (%zu tasks, one per trace).\n"
                 "When it has ended, `arenalab report --resume %s` collects the results, "
                 "reruns the tasks that have none and writes the report.\n",
                 job, p->ntasks, p->dir.partial);
        resdir_mark(&p->dir, text);
        printf("%s\n", job);
        printf("submitted Slurm job %s: %zu task%s, one per trace, writing into %s\n"
               "finish with: arenalab report --resume %s\n",
               job, p->ntasks, p->ntasks == 1 ? "" : "s", p->dir.partial, p->dir.partial);
        rc = REPORT_SUBMITTED;
    } else if (rc == ARRAY_FAILED || rc == ARRAY_CANCELLED) {
        char *text = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&text, &len);
        if (mem) {
            fprintf(mem, "%s; `arenalab report --resume %s` runs them again and finishes:\n",
                    rc == ARRAY_CANCELLED ? "the job array was cancelled"
                                          : "some array tasks failed every attempt",
                    p->dir.partial);
            array_describe(&arr, p->tasks, mem);
            fclose(mem);
        }
        snprintf(p->err, sizeof p->err, "%s", text ? text : "array tasks failed");
        size_t n = strlen(p->err);
        if (n && p->err[n - 1] == '\n') p->err[n - 1] = '\0';
        free(text);
        rc = CLI_FAIL;
    } else {
        rc = CLI_FAIL; /* P->err says why */
    }
    array_unlock(lock);
    return rc;
}

/* A plan of the experiment being started (borrowing P's memory). */
static void report_plan(const report_t *p, const report_args_t *a, plan_t *plan)
{
    memset(plan, 0, sizeof *plan);
    plan->exp = p->exp;
    plan->seed = a->seed;
    plan->retries = a->retries >= 0 ? (unsigned)a->retries : ARRAY_DEFAULT_RETRIES;
    plan->partition = (char *)a->partition;
    plan->time = (char *)a->time;
    plan->sbatch_args = (char **)a->sbatch_args;
    plan->nsbatch_args = a->nsbatch_args;
    plan->command = p->res.command;
    snprintf(plan->stamp, sizeof plan->stamp, "%s", p->res.stamp);
    plan->sys = p->res.sys;
}

/* Everything after the directory exists.  Returns an exit status, or
 * REPORT_SUBMITTED; on failure P->err says what failed. */
static int report_run(report_t *p, const report_args_t *a, int argc, char **argv, const char *root)
{
    exp_t *e = &p->exp;
    results_t *r = &p->res;
    int rc;
    if (resdir_mkdir(&p->dir, "series", p->err, sizeof p->err) ||
        resdir_mkdir(&p->dir, "plots", p->err, sizeof p->err))
        return CLI_FAIL;
    char *copy = resdir_path(&p->dir, "experiment.lua");
    rc = copy ? report_copy(e->file, copy, p->err, sizeof p->err) : -1;
    free(copy);
    if (rc) return CLI_FAIL;
    if ((rc = report_generate(p, a->allow_unsafe)) != CLI_OK) return rc;

    r->jobs = (unsigned)a->jobs;
    r->seed = a->seed;
    snprintf(r->stamp, sizeof r->stamp, "%s", p->dir.stamp);
    if (!(r->command = report_command(root, argc, argv))) {
        snprintf(p->err, sizeof p->err, "out of memory");
        return CLI_FAIL;
    }
    sysinfo_collect(&r->sys, root);
    if ((rc = report_setup(p)) != CLI_OK || (rc = report_stats(p)) != CLI_OK) return rc;
    if (!a->slurm) return report_local(p, a);
    plan_t plan;
    report_plan(p, a, &plan);
    return report_array(p, a, &plan, 1);
}

/* Interruption.  A report killed by SIGINT (Ctrl-C), SIGTERM or SIGHUP
 * must not leave a .partial directory that says nothing: the handler
 * writes its PARTIAL marker, then dies of the signal as it would have.  A
 * handler may only call async-signal-safe functions, so the marker's path
 * is prepared beforehand; it is the module's only static mutable state,
 * which a signal handler cannot do without.  While an output of the report
 * is being written, sim/base/sigclean.c's handler (which removes its
 * temporary file) sits in front of this one and chains to it; so this one
 * is installed before any output is opened and removed after the last one
 * is committed.  A Slurm report's tasks go on without us: its message
 * says how to finish it. */
static char report_partial_marker[PATH_MAX + 64];
static char report_partial_text[PATH_MAX + 512];

static const int report_fatal_signals[] = {SIGINT, SIGTERM, SIGHUP};

static void report_on_signal(int sig)
{
    int fd = open(report_partial_marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        ssize_t w = write(fd, report_partial_text, strlen(report_partial_text));
        (void)w;
        close(fd);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Installs the handler for the result directory DIR (NULL: removes it);
 * SLURM: its cells run as a Slurm array. */
static void report_guard(const resdir_t *dir, int slurm)
{
    if (dir) {
        snprintf(report_partial_marker, sizeof report_partial_marker, "%s/PARTIAL", dir->partial);
        snprintf(report_partial_text, sizeof report_partial_text,
                 "This result is incomplete: the report was interrupted by a signal (SIGINT, "
                 "SIGTERM or SIGHUP) before it finished.\n%s%s%s",
                 slurm ? "Its Slurm tasks go on: `arenalab report --resume " : "",
                 slurm ? dir->partial : "", slurm ? "` waits for them and finishes it.\n" : "");
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = dir ? report_on_signal : SIG_DFL;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof report_fatal_signals / sizeof *report_fatal_signals; i++)
        sigaction(report_fatal_signals[i], &sa, NULL);
}

/* The headline of summary.md (everything before its full metric tables)
 * on OUT: what a user of the quick start reads in the terminal. */
static void report_print_headline(const results_t *r, FILE *out)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem) return;
    summary_print(r, mem);
    fclose(mem);
    char *cut = text ? strstr(text, "\n## Metrics") : NULL;
    if (cut) cut[1] = '\0';
    if (text) fputs(text, out);
    free(text);
}

/* The option of A that needs a Slurm run, or NULL. */
static const char *report_slurm_only(const report_args_t *a)
{
    return a->nowait         ? "--no-wait"
           : a->retries >= 0 ? "--retries"
           : a->partition    ? "--partition"
           : a->time         ? "--time"
           : a->nsbatch_args ? "--sbatch-arg"
                             : NULL;
}

static int report_end(report_t *p, int rc);

/* Loads the experiment, runs it into a fresh directory, commits or marks
 * it partial.  Returns the exit status. */
static int report_experiment(report_t *p, const report_args_t *a, const char *path,
                             const char *root, int argc, char **argv)
{
    p->interactive = cli_interactive() && !a->quiet;
    int rc = exp_load(&p->exp, path, root, NULL, a->allow_unsafe, p->err, sizeof p->err);
    if (rc) {
        cli_error("%s", p->err);
        return rc == EXP_EUSAGE ? CLI_USAGE : CLI_FAIL;
    }
    exp_t *e = &p->exp;
    for (size_t i = 0; i < e->nallocs; i++)
        if (e->allocs[i].skip)
            cli_error("report: skipping %s: %s", e->allocs[i].spec, e->allocs[i].skip);
    /* executor("slurm", ...) in the file: as --slurm and its options,
     * unless the command line says otherwise (--jobs: a local run). */
    report_args_t eff = *a;
    const exp_executor_t *x = &e->executor;
    if (x->slurm && !a->jobs_given) {
        eff.slurm = 1;
        if (!eff.partition) eff.partition = x->partition;
        if (!eff.time) eff.time = x->time;
        if (eff.retries < 0) eff.retries = x->retries;
        for (size_t i = 0; !a->nsbatch_args && i < x->nsbatch_args; i++) {
            if (eff.nsbatch_args == REPORT_MAX_SBATCH_ARGS) {
                cli_error("%s: executor: more than %d sbatch_args", path, REPORT_MAX_SBATCH_ARGS);
                return CLI_USAGE;
            }
            eff.sbatch_args[eff.nsbatch_args++] = x->sbatch_args[i];
        }
    }
    a = &eff;
    if (!a->slurm && report_slurm_only(a)) {
        cli_error("report: %s goes with --slurm or --resume (or executor(\"slurm\") in the "
                  "experiment)",
                  report_slurm_only(a));
        return CLI_USAGE;
    }
    if (a->repeat >= 0) {
        e->repeat = (unsigned)a->repeat;
        for (size_t u = 0; u < e->nunits; u++)
            e->units[u].repeat = (unsigned)a->repeat;
        for (size_t s = 0; s < e->nsweeps; s++)
            e->sweeps[s].repeat = (unsigned)a->repeat;
    }
    char parent[2 * PATH_MAX + 16], cwd[PATH_MAX];
    if (a->out && a->out[0] != '/' && a->slurm && getcwd(cwd, sizeof cwd))
        snprintf(parent, sizeof parent, "%s/%s", cwd, a->out); /* the tasks' path to it */
    else if (a->out)
        snprintf(parent, sizeof parent, "%s", a->out);
    else
        snprintf(parent, sizeof parent, "%s/results", root);
    if (resdir_create(&p->dir, parent, e->name, p->err, sizeof p->err)) {
        cli_error("report: %s", p->err);
        return CLI_USAGE;
    }
    if (p->interactive)
        fprintf(stderr, "arenalab: report: %s: %zu traces, %zu runs -> %s\n", e->name, e->ntraces,
                e->nunits, p->dir.partial);
    report_guard(&p->dir, a->slurm);
    rc = report_run(p, a, argc, argv, root);
    return report_end(p, rc);
}

/* Commits the directory after RC (an exit status or REPORT_SUBMITTED) or
 * marks it partial.  Returns the exit status. */
static int report_end(report_t *p, int rc)
{
    if (rc == CLI_OK && resdir_commit(&p->dir, 1, p->err, sizeof p->err)) rc = CLI_FAIL;
    report_guard(NULL, 0);
    if (rc == REPORT_SUBMITTED) return CLI_OK;
    if (rc == CLI_OK) {
        report_print_headline(&p->res, stdout);
        printf("\n%s/index.html\n", p->dir.final); /* last line: the page */
        return CLI_OK;
    }
    cli_error("report: %s", p->err);
    resdir_fail(&p->dir, p->err);
    cli_error("report: the incomplete result is in %s (see its PARTIAL file)", p->dir.partial);
    return rc;
}

/* `report --resume DIR`: the plan saved in DIR, its array run to the end,
 * the report written.  Returns the exit status. */
static int report_resume(report_t *p, const report_args_t *a)
{
    char path[PATH_MAX + 64];
    p->interactive = cli_interactive() && !a->quiet;
    size_t n = strlen(a->resume);
    while (n > 1 && a->resume[n - 1] == '/')
        n--;
    /* DIR or DIR.partial: the plan is in the .partial one */
    snprintf(path, sizeof path, "%.*s%s/%s", (int)n, a->resume,
             n > 8 && !strncmp(a->resume + n - 8, ".partial", 8) ? "" : ".partial", PLAN_FILE);
    if (access(path, F_OK) != 0)
        snprintf(path, sizeof path, "%.*s/%s", (int)n, a->resume, PLAN_FILE);
    if (access(path, F_OK) != 0) {
        cli_error("report: --resume %s: no %s: not a Slurm report being written (finished ones, "
                  "and local runs, have nothing to resume)",
                  a->resume, PLAN_FILE);
        return CLI_USAGE;
    }
    if (plan_read(&p->plan, path, p->err, sizeof p->err)) {
        cli_error("report: %s", p->err);
        return CLI_FAIL;
    }
    /* Absolute: the tasks' logs and working directory are given to sbatch. */
    char abs[PATH_MAX];
    const char *dir = realpath(a->resume, abs) ? abs : a->resume;
    if (resdir_open(&p->dir, dir, p->plan.stamp, p->err, sizeof p->err)) {
        cli_error("report: --resume: %s", p->err);
        return CLI_USAGE;
    }
    /* The experiment moves into the report; the plan keeps the rest. */
    p->exp = p->plan.exp;
    memset(&p->plan.exp, 0, sizeof p->plan.exp);
    plan_t plan = p->plan;
    plan.exp = p->exp;
    if (a->retries >= 0) plan.retries = (unsigned)a->retries;
    if (a->partition) plan.partition = (char *)a->partition;
    if (a->time) plan.time = (char *)a->time;
    if (a->nsbatch_args) {
        plan.sbatch_args = (char **)a->sbatch_args;
        plan.nsbatch_args = a->nsbatch_args;
    }
    results_t *r = &p->res;
    r->seed = p->plan.seed;
    snprintf(r->stamp, sizeof r->stamp, "%s", p->plan.stamp);
    r->sys = p->plan.sys;
    if (!(r->command = strdup(p->plan.command))) {
        cli_error("report: out of memory");
        return CLI_FAIL;
    }
    if (p->interactive)
        fprintf(stderr, "arenalab: report: resuming %s: %zu traces, %zu runs\n", p->exp.name,
                p->exp.ntraces, p->exp.nunits);
    report_guard(&p->dir, 1);
    int rc = report_setup(p);
    if (rc == CLI_OK) rc = report_array(p, a, &plan, 0);
    return report_end(p, rc);
}

/* `report --task K DIR`, what array task K runs: group K of the plan in
 * DIR through jobs_run_group, as `--jobs 1` runs it, its result into
 * DIR/tasks/task-K.result.  Returns the exit status. */
static int report_task(report_t *p, int argc, char **argv)
{
    char *end;
    unsigned long k = argc == 4 ? strtoul(argv[2], &end, 10) : 0;
    if (argc != 4 || argv[2][0] < '0' || argv[2][0] > '9' || *end) {
        cli_error("report --task K DIR is what a Slurm array task runs (see 'arenalab report "
                  "--help': --slurm)");
        return CLI_USAGE;
    }
    const char *dir = argv[3];
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, PLAN_FILE);
    if (plan_read(&p->plan, path, p->err, sizeof p->err)) {
        cli_error("report --task: %s", p->err);
        return CLI_USAGE;
    }
    p->exp = p->plan.exp;
    memset(&p->plan.exp, 0, sizeof p->plan.exp);
    exp_t *e = &p->exp;
    if (report_units(p)) {
        cli_error("report --task: out of memory");
        return CLI_FAIL;
    }
    if (k >= p->ntasks) {
        cli_error("report --task %lu: the plan in %s has %zu tasks", k, dir, p->ntasks);
        return CLI_USAGE;
    }
    plan_t plan = p->plan;
    plan.exp = *e;
    array_t arr = {dir, &plan, p->ntasks, NULL, 0};
    const char *aj = getenv("SLURM_ARRAY_JOB_ID"), *at = getenv("SLURM_ARRAY_TASK_ID");
    taskfile_node_t *node = calloc(1, sizeof *node);
    if (!node) {
        cli_error("report --task: out of memory");
        return CLI_FAIL;
    }
    if (aj && at) snprintf(node->job, sizeof node->job, "%s_%s", aj, at);
    if (array_started(&arr, k, node->job, p->err, sizeof p->err))
        cli_error("report --task: warning: %s", p->err); /* only a marker */
    jobs_config_t jc = {1, e->samples, 0, NULL, NULL, p->plan.seed, e->measure};
    size_t failed;
    double t0 = report_now();
    int rc = jobs_run_group(&jc, p->units, e->nunits, k, p->runs, &failed);
    node->seconds = report_now() - t0;
    size_t *members = malloc(e->nunits * sizeof *members);
    if (rc != CLI_OK) {
        cli_error("report --task %lu: the replays of trace %s failed, exit status %d (the "
                  "replay's message, naming the allocator, is above)",
                  k, failed == JOBS_NONE ? "?" : p->units[failed].name, rc);
    } else if (!members) {
        cli_error("report --task: out of memory");
        rc = CLI_FAIL;
    } else {
        sysinfo_collect(&node->sys, e->root);
        size_t n = report_members(p, k, members);
        snprintf(path, sizeof path, "%s/%s/task-%lu.result", dir, PLAN_DIR, k);
        if (taskfile_write(path, k, node, e, members, n, p->runs, p->err, sizeof p->err)) {
            cli_error("report --task: %s", p->err);
            rc = CLI_FAIL;
        }
    }
    free(members);
    free(node);
    return rc;
}

/* Whether A's options make sense together; reports the first that does
 * not (those that need a Slurm run are checked once the experiment, which
 * may ask for one, is read). */
static int report_args_ok(const report_args_t *a, int noperands)
{
    if (a->slurm && a->jobs_given) {
        cli_error("report: --jobs does not go with --slurm (each array task runs one trace, "
                  "as --jobs 1 would)");
        return 0;
    }
    if (a->resume && (noperands || a->slurm || a->jobs_given || a->out || a->repeat >= 0 ||
                      a->allow_unsafe || a->seed != DRIVER_DEFAULT_SEED)) {
        cli_error("report: --resume DIR takes no experiment and no option that changes what "
                  "runs (only --no-wait, --retries, --partition, --time, --sbatch-arg)");
        return 0;
    }
    return 1;
}

static void report_free(report_t *p)
{
    jobs_runs_free(p->runs, p->exp.nunits);
    free(p->runs);
    free(p->units);
    free(p->group);
    free(p->names);
    free(p->tasks);
    free(p->res.traces);
    free(p->res.where);
    free(p->res.nodes);
    free(p->res.command);
    resdir_free(&p->dir);
    exp_free(&p->exp);
    plan_free(&p->plan);
    free(p);
}

static int report_main(int argc, char **argv)
{
    report_t *p = calloc(1, sizeof *p);
    if (!p) {
        cli_error("report: out of memory");
        return CLI_FAIL;
    }
    int rc;
    if (argc > 1 && strcmp(argv[1], "--task") == 0) {
        rc = report_task(p, argc, argv);
        report_free(p);
        return rc;
    }
    report_args_t a = {.jobs = 1, .repeat = -1, .seed = DRIVER_DEFAULT_SEED, .retries = -1};
    int first = cli_parse(&cmd_report, argc, argv, report_on_opt, &a);
    if (first < 0 || argc - first > 1 || !report_args_ok(&a, argc - first)) {
        if (first >= 0 && argc - first > 1)
            cli_error("report: give at most one experiment (see 'arenalab report --help')");
        free(p);
        return first < 0 ? cli_parse_exit(first) : CLI_USAGE;
    }
    if (a.resume) {
        rc = report_resume(p, &a);
        report_free(p);
        return rc;
    }
    char root[PATH_MAX];
    if (repo_root(root, sizeof root)) {
        cli_error("report: cannot find the repository (the directory holding %s); set "
                  "ARENALAB_ROOT, or run scripts/arenalab",
                  REPO_MARKER);
        free(p);
        return CLI_USAGE;
    }
    char path[PATH_MAX + 64];
    if (first < argc)
        snprintf(path, sizeof path, "%s", argv[first]);
    else
        snprintf(path, sizeof path, "%s/%s", root, REPO_MARKER);
    rc = report_experiment(p, &a, path, root, argc, argv);
    report_free(p);
    return rc;
}

const cli_command_t cmd_report = {
    .name = "report",
    .args = "[EXPERIMENT.lua] | --resume DIR",
    .summary = "run an experiment: plots, an HTML report, summary.md in results/",
    .description =
        "Runs EXPERIMENT (default: scripts/experiments/default.lua; the Lua API is in\n"
        "scripts/experiments/EXPERIMENTS.md): generates its workload traces, replays every\n"
        "(trace, allocator) pair and every sweep point in worker processes, and writes\n"
        "results/<name>-<timestamp>/ -- runs.json and runs.csv (as `replay --json`), the\n"
        "sampled series, gnuplot scripts with their data and plots (SVG, PNG), index.html\n"
        "and summary.md -- then points results/latest at it.  The directory is written as\n"
        "NAME.partial/ and renamed when complete; a failure leaves it with a PARTIAL file\n"
        "saying what failed.  Progress is shown on a terminal (runs done, the running\n"
        "trace's pass and its events done; --quiet: none).\n\n"
        "Timing: the units of a trace run together, their timed runs interleaved (each\n"
        "round runs every allocator once, in an order shuffled from --seed), after a\n"
        "warm-up run or in a fresh process per run (see `arenalab replay --help`).  Units\n"
        "that are the same configuration (pymalloc, pymalloc:arena=1M) run once and show\n"
        "the same figures.  Per unit: the median ns/event and a confidence interval for\n"
        "it, every run in runs.csv/runs.json.  The headline calls the fastest allocator's\n"
        "lead 'clear' only when the Mann-Whitney U test finds it at 95 % after the\n"
        "Benjamini-Hochberg correction across the headline's traces; a trace of fewer\n"
        "than 10000 events is 'too short to time' and crowns no fastest.  A memory lead\n"
        "of at most 16 pages (64 KiB of peak resident) says 'within 16 pages': the real\n"
        "allocators' resident memory moves by a few pages between identical runs, and\n"
        "one rule serves every allocator.\n\n"
        "A trace declared with program() (its recording and the real command) is also\n"
        "run for real after the replays, as `arenalab run` does, under each allocator\n"
        "that can serve a real process: the section 'Replay vs real run' sets peak\n"
        "resident and ns/event beside max RSS and wall time, with both rankings and how\n"
        "many pairs the replay orders as the real run does (Kendall's tau).\n\n"
        "The repository root (for the default experiment, results/ and relative paths in\n"
        "experiments) is $ARENALAB_ROOT, which scripts/arenalab sets; without it, the\n"
        "directory above this binary or the current directory that holds the default\n"
        "experiment.  An error in the experiment file is reported as FILE:LINE: message\n"
        "(exit 1) before anything is created.\n\n"
        "The experiment and its workloads run in a sandbox: no io, os, require, loadfile\n"
        "or dofile, so they cannot start programs, write or delete files or read the\n"
        "environment.  --allow-unsafe lifts it: they can do anything you can.\n\n"
        "On a Slurm cluster (--slurm, or executor(\"slurm\") in the experiment): the traces\n"
        "run as a job array, one task per trace, each running what --jobs 1 runs for it, on\n"
        "one node; the result directory (--out) must be on a filesystem every node shares.\n"
        "A task without a result is submitted again up to --retries times; then PARTIAL\n"
        "lists it with its Slurm state and log (tasks/logs/ in the directory).  The report\n"
        "says which node ran which trace (nodes.csv, Machines) and warns when timings come\n"
        "from different machines.  --no-wait submits, prints the job id and returns;\n"
        "--resume DIR waits for the tasks, reruns those without a result and finishes.",
    .opts = report_opts,
    .run = report_main,
};
