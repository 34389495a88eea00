/* cmd_run.c: `arenalab run --alloc A[,B...] -- CMD ARGS...`: the real
 * program, not a replay, under each allocator that can serve a real
 * process (the process's malloc, a preloaded library), as mimalloc-bench
 * runs its benchmarks.
 *
 * Each allocator's runs are interleaved with the others' in rounds shuffled
 * from --seed (sim/replay/timing.h), as replay's timed runs are, so a drift
 * of the machine moves every allocator alike.  A run is a fork + exec of
 * CMD with LD_PRELOAD set to exactly the allocator's library (nothing for
 * `raw`/`malloc`: the C library's), standard input from /dev/null and its
 * output thrown away; the figures come from the kernel (wait4's rusage) and
 * a monotonic clock around it: wall, user and system seconds, max RSS
 * (ru_maxrss) and minor faults.  Per allocator and figure: the median
 * and its order-statistics confidence interval, every run in the JSON; the
 * wall-time difference from the fastest is "clear" only when the
 * Mann-Whitney test says so at 95 % after Benjamini-Hochberg.
 *
 * The runs themselves are sim/report/realrun.h's (the report's "Replay vs real
 * run" section makes the same runs).
 *
 * Invariant: every run of every allocator executes the same argv in the
 * same directory with the same environment but LD_PRELOAD.
 */
#include "sim/base/json.h"
#include "sim/base/outfile.h"
#include "sim/cli/commands.h"
#include "sim/replay/route.h"
#include "sim/replay/timing.h"
#include "sim/report/realrun.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RUN_MAX_ALLOCS 16
#define RUN_MAX_REPEAT 1000

enum { RUN_KEY_ALLOC = 'a', RUN_KEY_REPEAT = 'n', RUN_KEY_SEED = 256, RUN_KEY_JSON };

static const cli_opt_t run_opts[] = {
    {"alloc", 'a', "A[,B...]", RUN_KEY_ALLOC,
     "allocators to run CMD under: raw or malloc (the C library's) and the preloaded "
     "libraries (jemalloc, mimalloc, tcmalloc, so:[NAME=]PATH)"},
    {"repeat", 'n', "N", RUN_KEY_REPEAT, "runs per allocator (default 6)"},
    {"seed", 0, "N", RUN_KEY_SEED, "seed of the shuffled order of each round (default 1)"},
    {"json", 0, "FILE", RUN_KEY_JSON, "write every run's figures as JSON ('-': standard output)"},
    {0},
};

/* The figures of one run (sim/report/realrun.h). */
#define RUN_WALL   RR_WALL
#define RUN_MAXRSS RR_MAXRSS
#define RUN_MINFLT RR_MINFLT
#define RUN_NFIG   RR_NFIG

typedef struct {
    char *text[RUN_MAX_ALLOCS]; /* --alloc arguments, split in place     */
    size_t ntext;
    route_t routes[RUN_MAX_ALLOCS];
    size_t nallocs;
    unsigned long repeat;
    unsigned long long seed;
    const char *json;
} run_args_t;

typedef struct {
    char name[ROUTE_NAME_MAX];
    const char *preload; /* "" for the C library's malloc */
    double *fig[RUN_NFIG];
    size_t n;
    int status; /* the program's last exit status (0 when all ran well) */
} run_alloc_t;

static int run_on_opt(void *ud, int key, const char *arg)
{
    run_args_t *a = ud;
    char *end;
    switch (key) {
    case RUN_KEY_ALLOC: {
        if (a->ntext == RUN_MAX_ALLOCS) {
            cli_error("run: too many --alloc options");
            return -1;
        }
        char *copy = strdup(arg), msg[512];
        if (!copy) return -1;
        a->text[a->ntext++] = copy;
        if (route_parse_list(copy, a->routes, RUN_MAX_ALLOCS, &a->nallocs, msg, sizeof msg)) {
            cli_error("run: --alloc %s: %s", arg, msg);
            return -1;
        }
        return 0;
    }
    case RUN_KEY_REPEAT:
        errno = 0;
        a->repeat = strtoul(arg, &end, 10);
        if (errno || *end || arg[0] < '0' || arg[0] > '9' || a->repeat < 1 ||
            a->repeat > RUN_MAX_REPEAT) {
            cli_error("run: --repeat %s: expected a count from 1 to %d", arg, RUN_MAX_REPEAT);
            return -1;
        }
        return 0;
    case RUN_KEY_SEED:
        errno = 0;
        a->seed = strtoull(arg, &end, 10);
        if (errno || *end || arg[0] < '0' || arg[0] > '9') {
            cli_error("run: --seed %s: expected a decimal number", arg);
            return -1;
        }
        return 0;
    case RUN_KEY_JSON:
        a->json = arg;
        return 0;
    }
    return -1;
}

/* The library R runs a real process with ("" for the C library's), or
 * NULL after saying why it cannot (a model allocator lives inside the
 * replay, not in a program). */
static const char *run_preload(const route_t *r, char *name, size_t len)
{
    char why[512];
    const char *p = rr_preload(r, name, len, why, sizeof why);
    if (!p) cli_error("run: %s", why);
    return p;
}

/* One run of CMD under A; its figures appended.  Returns 0, or -1 when it
 * could not be started (reported). */
static int run_once(run_alloc_t *a, char **cmd)
{
    double v[RR_NFIG];
    char err[512];
    if (rr_run_once(cmd, NULL, a->preload, v, &a->status, err, sizeof err)) {
        cli_error("run: %s", err);
        return -1;
    }
    for (int f = 0; f < RUN_NFIG; f++)
        a->fig[f][a->n] = v[f];
    a->n++;
    return 0;
}

static void run_print(const run_alloc_t *al, size_t n, const double *q, size_t best)
{
    printf("%-20s", "allocator");
    for (int f = 0; f < RUN_NFIG; f++)
        printf("  %24s", rr_fig_head[f]);
    printf("  %s\n", "wall vs fastest");
    for (size_t i = 0; i < n; i++) {
        printf("%-20s", al[i].name);
        for (int f = 0; f < RUN_NFIG; f++) {
            timing_summary_t s;
            timing_summarize(al[i].fig[f], al[i].n, &s);
            char cell[64];
            if (f == RUN_MAXRSS)
                snprintf(cell, sizeof cell, "%.1f MiB [%.1f-%.1f]", s.median / 1048576.0,
                         s.ci_low / 1048576.0, s.ci_high / 1048576.0);
            else if (f == RUN_MINFLT)
                snprintf(cell, sizeof cell, "%.0f [%.0f-%.0f]", s.median, s.ci_low, s.ci_high);
            else
                snprintf(cell, sizeof cell, "%.3f [%.3f-%.3f]", s.median, s.ci_low, s.ci_high);
            printf("  %24s", cell);
        }
        if (i == best)
            printf("  fastest\n");
        else if (isnan(q[i]))
            printf("  -\n");
        else
            printf("  %s (p = %.2g)\n", q[i] <= TIMING_ALPHA ? "clear" : "not clear", q[i]);
    }
    printf("median [confidence interval of the median, %.1f %%] of %zu runs each; 'clear': "
           "Mann-Whitney on wall time, Benjamini-Hochberg across allocators, 95 %%\n",
           n && al[0].n ? 100.0 * timing_ci_coverage(al[0].n, 1) : 0.0, n ? al[0].n : (size_t)0);
}

static int run_json(const char *path, const run_alloc_t *al, size_t n, const double *q,
                    const run_args_t *a, char **cmd)
{
    outfile_t o;
    char err[512];
    if (outfile_open(&o, path, "w", err, sizeof err) < 0) {
        cli_error("run: %s", err);
        return CLI_USAGE;
    }
    json_t j;
    json_init(&j, o.fp);
    json_object_begin(&j);
    json_kv_string(&j, "arenalab", ARENALAB_VERSION);
    json_kv_string(&j, "command", "run");
    json_key(&j, "argv");
    json_array_begin(&j);
    for (size_t i = 0; cmd[i]; i++)
        json_string(&j, cmd[i]);
    json_array_end(&j);
    json_kv_uint(&j, "repeat", a->repeat);
    json_kv_uint(&j, "seed", a->seed);
    json_key(&j, "allocators");
    json_array_begin(&j);
    for (size_t i = 0; i < n; i++) {
        json_object_begin(&j);
        json_kv_string(&j, "allocator", al[i].name);
        json_kv_string(&j, "preload", al[i].preload);
        json_kv_uint(&j, "exit_status", (uint64_t)al[i].status);
        for (int f = 0; f < RUN_NFIG; f++) {
            timing_summary_t s;
            timing_summarize(al[i].fig[f], al[i].n, &s);
            json_key(&j, rr_fig_key[f]);
            json_object_begin(&j);
            json_kv_double(&j, "median", s.median);
            json_kv_double(&j, "ci_low", s.ci_low);
            json_kv_double(&j, "ci_high", s.ci_high);
            json_kv_double(&j, "ci_level", s.ci_level);
            json_key(&j, "runs");
            json_array_begin(&j);
            for (size_t k = 0; k < al[i].n; k++)
                json_double(&j, al[i].fig[f][k]);
            json_array_end(&j);
            json_object_end(&j);
        }
        json_kv_double(&j, "wall_vs_fastest_p_adjusted", q[i]);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    fputc('\n', o.fp);
    if (outfile_commit(&o, err, sizeof err) < 0) {
        cli_error("run: %s", err);
        return CLI_FAIL;
    }
    return CLI_OK;
}

static int run_main(int argc, char **argv)
{
    run_args_t a = {.repeat = TIMING_MIN_REPEAT, .seed = 1};
    /* our options end at "--" (CMD's are its own) */
    int split = argc;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--")) {
            split = i;
            break;
        }
    int first = cli_parse(&cmd_run, split, argv, run_on_opt, &a);
    int rc = CLI_OK;
    if (first < 0) {
        /* --help (or a bad option): nothing to run */
        for (size_t i = 0; i < a.ntext; i++)
            free(a.text[i]);
        return cli_parse_exit(first);
    } else if (first < split || split + 1 >= argc || !a.nallocs) {
        cli_error("run: usage: arenalab run --alloc A[,B...] -- CMD ARGS... (see 'arenalab run "
                  "--help')");
        rc = CLI_USAGE;
    }
    char **cmd = argv + split + 1;
    run_alloc_t al[RUN_MAX_ALLOCS];
    memset(al, 0, sizeof al);
    for (size_t i = 0; rc == CLI_OK && i < a.nallocs; i++) {
        al[i].preload = run_preload(&a.routes[i], al[i].name, sizeof al[i].name);
        if (!al[i].preload) rc = CLI_USAGE;
        for (int f = 0; rc == CLI_OK && f < RUN_NFIG; f++)
            if (!(al[i].fig[f] = calloc(a.repeat, sizeof(double)))) rc = CLI_FAIL;
    }
    size_t order[RUN_MAX_ALLOCS];
    uint64_t state = a.seed;
    for (unsigned long r = 0; rc == CLI_OK && r < a.repeat; r++) {
        for (size_t i = 0; i < a.nallocs; i++)
            order[i] = i;
        timing_shuffle(order, a.nallocs, &state);
        for (size_t k = 0; rc == CLI_OK && k < a.nallocs; k++) {
            run_alloc_t *x = &al[order[k]];
            if (cli_interactive())
                fprintf(stderr, "arenalab: run [%lu/%lu] %s\n", r + 1, a.repeat, x->name);
            if (run_once(x, cmd) < 0) rc = CLI_USAGE;
        }
    }
    if (rc == CLI_OK) {
        /* the fastest by median wall time; each other against it */
        size_t best = 0;
        double bm = INFINITY, p[RUN_MAX_ALLOCS], q[RUN_MAX_ALLOCS];
        for (size_t i = 0; i < a.nallocs; i++) {
            timing_summary_t s;
            timing_summarize(al[i].fig[RUN_WALL], al[i].n, &s);
            if (s.median < bm) bm = s.median, best = i;
        }
        for (size_t i = 0; i < a.nallocs; i++) {
            p[i] = NAN;
            if (i != best)
                timing_mann_whitney(al[i].fig[RUN_WALL], al[i].n, al[best].fig[RUN_WALL],
                                    al[best].n, &p[i]);
        }
        timing_bh(p, a.nallocs, q);
        for (size_t i = 0; i < a.nallocs; i++)
            if (al[i].status)
                cli_error("run: warning: under %s the program exited with status %d", al[i].name,
                          al[i].status);
        if (!a.json || strcmp(a.json, "-") != 0) run_print(al, a.nallocs, q, best);
        if (a.json) rc = run_json(a.json, al, a.nallocs, q, &a, cmd);
    }
    for (size_t i = 0; i < a.nallocs; i++)
        for (int f = 0; f < RUN_NFIG; f++)
            free(al[i].fig[f]);
    for (size_t i = 0; i < a.ntext; i++)
        free(a.text[i]);
    return rc;
}

const cli_command_t cmd_run = {
    .name = "run",
    .args = "--alloc A[,B...] -- CMD [ARGS...]",
    .summary = "run a real program under each allocator: wall, user, sys, max RSS, faults",
    .description =
        "Runs CMD (standard input /dev/null, its output thrown away) --repeat times under\n"
        "each allocator that can serve a real process: raw or malloc (the C library's\n"
        "malloc) and the preloaded libraries (jemalloc, mimalloc, tcmalloc, so:PATH:\n"
        "LD_PRELOAD of exactly that library).  The runs of all allocators are\n"
        "interleaved in rounds shuffled from --seed.  Per allocator: wall, user and\n"
        "system seconds, max RSS (the kernel's ru_maxrss: the whole program's peak\n"
        "resident set) and minor page faults, each as the median [its confidence\n"
        "interval]; the wall-time difference from the fastest is 'clear' only when the\n"
        "Mann-Whitney test says so at 95 % after Benjamini-Hochberg.  Set the replay of\n"
        "a recording of CMD beside it to see how well the replay predicts it.",
    .opts = run_opts,
    .run = run_main,
};
