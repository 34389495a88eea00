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
 * The repository root (default experiment, default results/, relative
 * paths in experiments) comes from sim/base/repo.h.
 */
#include "sim/cli/commands.h"
#include "sim/report/experiment.h"
#include "sim/report/figures.h"
#include "sim/report/html.h"
#include "sim/report/jobs.h"
#include "sim/report/pools.h"
#include "sim/base/repo.h"
#include "sim/report/resdir.h"
#include "sim/report/results.h"
#include "sim/lua/script.h"
#include "sim/report/summary.h"
#include "sim/report/sysinfo.h"

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
};

static const cli_opt_t report_opts[] = {
    {"jobs", 'j', "N", REPORT_KEY_JOBS,
     "replay N traces at once (default 1; a trace's units run together); timed runs use at "
     "most one job per CPU, each pinned to its own"},
    {"out", 'o', "DIR", REPORT_KEY_OUT,
     "put the result directory in DIR (default: results/ of the repository)"},
    {"repeat", 0, "N", REPORT_KEY_REPEAT,
     "timed runs per unit, overriding the experiment (0: memory and fragmentation only)"},
    {"allow-unsafe", 0, NULL, REPORT_KEY_ALLOW_UNSAFE,
     "no sandbox: the experiment and its workloads get the full Lua standard library (io, "
     "os, require) and can do anything you can"},
    {"seed", 0, "N", REPORT_KEY_SEED,
     "seed of the shuffled order of the interleaved timed runs (default 1; recorded)"},
    {0},
};

typedef struct {
    unsigned long jobs;
    const char *out;
    long repeat;      /* -1: the experiment's */
    int allow_unsafe; /* --allow-unsafe: no sandbox (sim/lua/sandbox.h) */
    unsigned long long seed;
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

/* Everything after the directory exists.  Returns an exit status; on
 * failure P->err says what failed. */
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

    r->exp = e;
    r->jobs = (unsigned)a->jobs;
    r->seed = a->seed;
    r->dir = p->dir.final;
    snprintf(r->stamp, sizeof r->stamp, "%s", p->dir.stamp);
    if (!(r->command = report_command(root, argc, argv))) goto oom;
    sysinfo_collect(&r->sys, root);
    results_ranks(r);
    if (!(r->traces = calloc(e->ntraces, sizeof *r->traces))) goto oom;
    for (size_t t = 0; t < e->ntraces; t++)
        if (results_trace_stats(r, t, p->err, sizeof p->err)) return CLI_FAIL;

    if (!(p->units = calloc(e->nunits, sizeof *p->units)) ||
        !(p->runs = calloc(e->nunits, sizeof *p->runs)))
        goto oom;
    for (size_t u = 0; u < e->nunits; u++) {
        const exp_trace_t *tr = &e->traces[e->units[u].trace];
        p->units[u].trace = tr->path;
        p->units[u].name = tr->name;
        route_uniform(&p->units[u].route, e->units[u].spec);
        p->units[u].repeat = e->units[u].repeat;
    }
    r->units = p->units;
    r->runs = p->runs;
    unsigned ncpus = jobs_cpus();
    if (a->jobs > ncpus)
        cli_error("report: note: timed runs use at most %u jobs here (one per CPU)", ncpus);
    jobs_config_t jc = {(unsigned)a->jobs, e->samples, p->interactive, NULL, NULL,
                        a->seed,           e->measure};
    size_t failed;
    double t0 = report_now();
    rc = jobs_run(&jc, p->units, e->nunits, p->runs, &failed);
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
    if (p->interactive)
        fputs("arenalab: report: pool tables, data files, plots, index.html, summary.md\n", stderr);
    report_pools(p);

    char *dir = resdir_path(&p->dir, "");
    char *plots = resdir_path(&p->dir, "plots");
    figures_t figs = {0};
    rc = CLI_FAIL;
    if (!dir || !plots)
        snprintf(p->err, sizeof p->err, "out of memory");
    else if (results_write_data(r, dir, p->err, sizeof p->err) == 0 &&
             figures_make(r, plots, &figs, p->err, sizeof p->err) == 0 &&
             html_write(r, &figs, dir, p->err, sizeof p->err) == 0 &&
             summary_write(r, dir, p->err, sizeof p->err) == 0)
        rc = CLI_OK;
    figures_free(&figs);
    free(dir);
    free(plots);
    return rc;
oom:
    snprintf(p->err, sizeof p->err, "out of memory");
    return CLI_FAIL;
}

/* Loads the experiment, runs it into a fresh directory, commits or marks
 * it partial.  Returns the exit status. */
/* Interruption.  A report killed by SIGINT (Ctrl-C), SIGTERM or SIGHUP
 * must not leave a .partial directory that says nothing: the handler
 * writes its PARTIAL marker, then dies of the signal as it would have.  A
 * handler may only call async-signal-safe functions, so the marker's path
 * is prepared beforehand; it is the module's only static mutable state,
 * which a signal handler cannot do without.  While an output of the report
 * is being written, sim/base/sigclean.c's handler (which removes its
 * temporary file) sits in front of this one and chains to it; so this one
 * is installed before any output is opened and removed after the last one
 * is committed. */
static char report_partial_marker[PATH_MAX + 64];

static const int report_fatal_signals[] = {SIGINT, SIGTERM, SIGHUP};

static void report_on_signal(int sig)
{
    static const char msg[] = "This result is incomplete: the report was interrupted by a "
                              "signal (SIGINT, SIGTERM or SIGHUP) before it finished.\n";
    int fd = open(report_partial_marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        ssize_t w = write(fd, msg, sizeof msg - 1);
        (void)w;
        close(fd);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Installs the handler for the result directory DIR (NULL: removes it). */
static void report_guard(const resdir_t *dir)
{
    if (dir)
        snprintf(report_partial_marker, sizeof report_partial_marker, "%s/PARTIAL", dir->partial);
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

static int report_experiment(report_t *p, const report_args_t *a, const char *path,
                             const char *root, int argc, char **argv)
{
    p->interactive = cli_interactive();
    int rc = exp_load(&p->exp, path, root, NULL, a->allow_unsafe, p->err, sizeof p->err);
    if (rc) {
        cli_error("%s", p->err);
        return rc == EXP_EUSAGE ? CLI_USAGE : CLI_FAIL;
    }
    exp_t *e = &p->exp;
    for (size_t i = 0; i < e->nallocs; i++)
        if (e->allocs[i].skip)
            cli_error("report: skipping %s: %s", e->allocs[i].spec, e->allocs[i].skip);
    if (a->repeat >= 0) {
        e->repeat = (unsigned)a->repeat;
        for (size_t u = 0; u < e->nunits; u++)
            e->units[u].repeat = (unsigned)a->repeat;
        for (size_t s = 0; s < e->nsweeps; s++)
            e->sweeps[s].repeat = (unsigned)a->repeat;
    }
    char parent[PATH_MAX + 16];
    if (a->out)
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
    report_guard(&p->dir);
    rc = report_run(p, a, argc, argv, root);
    if (rc == CLI_OK && resdir_commit(&p->dir, 1, p->err, sizeof p->err)) rc = CLI_FAIL;
    report_guard(NULL);
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

static int report_main(int argc, char **argv)
{
    report_args_t a = {1, NULL, -1, 0, DRIVER_DEFAULT_SEED};
    int first = cli_parse(&cmd_report, argc, argv, report_on_opt, &a);
    if (first < 0) return cli_parse_exit(first);
    if (argc - first > 1) {
        cli_error("report: give at most one experiment (see 'arenalab report --help')");
        return CLI_USAGE;
    }
    char root[PATH_MAX];
    if (repo_root(root, sizeof root)) {
        cli_error("report: cannot find the repository (the directory holding %s); set "
                  "ARENALAB_ROOT, or run scripts/arenalab",
                  REPO_MARKER);
        return CLI_USAGE;
    }
    char path[PATH_MAX + 64];
    if (first < argc)
        snprintf(path, sizeof path, "%s", argv[first]);
    else
        snprintf(path, sizeof path, "%s/%s", root, REPO_MARKER);
    report_t *p = calloc(1, sizeof *p);
    if (!p) {
        cli_error("report: out of memory");
        return CLI_FAIL;
    }
    int rc = report_experiment(p, &a, path, root, argc, argv);
    jobs_runs_free(p->runs, p->exp.nunits);
    free(p->runs);
    free(p->units);
    free(p->res.traces);
    free(p->res.command);
    resdir_free(&p->dir);
    exp_free(&p->exp);
    free(p);
    return rc;
}

const cli_command_t cmd_report = {
    .name = "report",
    .args = "[EXPERIMENT.lua]",
    .summary = "run an experiment: plots, an HTML report, summary.md in results/",
    .description =
        "Runs EXPERIMENT (default: scripts/experiments/default.lua; the Lua API is in\n"
        "scripts/experiments/EXPERIMENTS.md): generates its workload traces, replays every\n"
        "(trace, allocator) pair and every sweep point in worker processes, and writes\n"
        "results/<name>-<timestamp>/ -- runs.json and runs.csv (as `replay --json`), the\n"
        "sampled series, gnuplot scripts with their data and plots (SVG, PNG), index.html\n"
        "and summary.md -- then points results/latest at it.  The directory is written as\n"
        "NAME.partial/ and renamed when complete; a failure leaves it with a PARTIAL file\n"
        "saying what failed.  Progress is shown on a terminal.\n\n"
        "Timing: the units of a trace run together, their timed runs interleaved (each\n"
        "round runs every allocator once, in an order shuffled from --seed), after a\n"
        "warm-up run or in a fresh process per run (see `arenalab replay --help`).  Units\n"
        "that are the same configuration (pymalloc, pymalloc:arena=1M) run once and show\n"
        "the same figures.  Per unit: the median ns/event and a confidence interval for\n"
        "it, every run in runs.csv/runs.json.  The headline calls the fastest allocator's\n"
        "lead 'clear' only when the Mann-Whitney U test finds it at 95 % after the\n"
        "Benjamini-Hochberg correction across the headline's traces; a trace of fewer\n"
        "than 10000 events is 'too short to time' and crowns no fastest.\n\n"
        "The repository root (for the default experiment, results/ and relative paths in\n"
        "experiments) is $ARENALAB_ROOT, which scripts/arenalab sets; without it, the\n"
        "directory above this binary or the current directory that holds the default\n"
        "experiment.  An error in the experiment file is reported as FILE:LINE: message\n"
        "(exit 1) before anything is created.\n\n"
        "The experiment and its workloads run in a sandbox: no io, os, require, loadfile\n"
        "or dofile, so they cannot start programs, write or delete files or read the\n"
        "environment.  --allow-unsafe lifts it: they can do anything you can.",
    .opts = report_opts,
    .run = report_main,
};
