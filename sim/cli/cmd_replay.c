/* cmd_replay.c: `arenalab replay TRACE... --alloc A[,B...]` — options, the
 * hidden worker mode, and the outputs; the work is sim/replay/driver.c's. */
#include "sim/cli/commands.h"
#include "alloc/params.h"
#include "sim/replay/driver.h"
#include "sim/base/outfile.h"
#include "sim/replay/output.h"

#include <errno.h>
#include <limits.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

enum {
    REPLAY_KEY_ALLOC = 'a',
    REPLAY_KEY_REPEAT = 'n',
    REPLAY_KEY_VERIFY = 256,
    REPLAY_KEY_LENIENT,
    REPLAY_KEY_JSON,
    REPLAY_KEY_SERIES,
    REPLAY_KEY_SAMPLES,
    REPLAY_KEY_ARENA_MODE,
    REPLAY_KEY_MALLOCSTATS,
    REPLAY_KEY_LIST,
    REPLAY_KEY_TOUCH,
    REPLAY_KEY_HTML,
    REPLAY_KEY_SEED,
    REPLAY_KEY_KEEP_GOING,
    REPLAY_KEY_MEASURE,
    REPLAY_KEY_LATENCY_EVERY,
    REPLAY_KEY_THREADS,
    REPLAY_KEY_QUIET = 'q',
};

#define REPLAY_MAX_ALLOCS  64
#define REPLAY_MAX_REPEAT  1000
#define REPLAY_MAX_SAMPLES 1000000

static const cli_opt_t replay_opts[] = {
    {"alloc", 'a', "A[,B...]", REPLAY_KEY_ALLOC,
     "allocators to compare, NAME[:key=value...] each (so:PATH a malloc library, "
     "plugin:PATH[:key=value...] a plugin), or a route raw=A,mem=B,obj=C; repeatable (see "
     "below)"},
    {"repeat", 'n', "N", REPLAY_KEY_REPEAT,
     "timed runs per trace and allocator (default 6, the fewest whose [min, max] is a 95 % "
     "confidence interval of the median; 0: none)"},
    {"seed", 0, "N", REPLAY_KEY_SEED,
     "seed of the shuffled order of the interleaved timed runs (default 1; recorded in the "
     "JSON)"},
    {"verify", 0, NULL, REPLAY_KEY_VERIFY,
     "fill every block with a pattern and check it on realloc and free (timings include it)"},
    {"lenient", 0, NULL, REPLAY_KEY_LENIENT, "skip and count bad trace lines instead of stopping"},
    {"quiet", 'q', NULL, REPLAY_KEY_QUIET,
     "no progress on a terminal (which pair runs, and each pass's events done of the total)"},
    {"keep-going", 0, NULL, REPLAY_KEY_KEEP_GOING,
     "under the debug hooks (NAME_debug), count the API violations they catch and go on "
     "instead of stopping"},
    {"json", 0, "FILE", REPLAY_KEY_JSON, "write the results as JSON ('-': standard output)"},
    {"series", 0, "FILE.csv", REPLAY_KEY_SERIES, "write the sampled series as CSV"},
    {"samples", 0, "N", REPLAY_KEY_SAMPLES, "samples of the measurement run (default 1000)"},
    {"arena-mode", 0, "MODE", REPLAY_KEY_ARENA_MODE,
     "how arena events (n m o x) become allocations (see --list)"},
    {"mallocstats", 0, "=WHEN", REPLAY_KEY_MALLOCSTATS,
     "print each allocator's own statistics (pymalloc/cpython: sys._debugmallocstats(); "
     "glibc: malloc_info; jemalloc, tcmalloc, mimalloc: their own) at WHEN: peak (the "
     "default: where live bytes first peak), end, event:N or marker:NAME (the "
     "first marker whose value, or KEY=VALUE, is NAME: phase(\"x\") is marker:x); from a run "
     "of its own, stopped there"},
    {"list", 0, NULL, REPLAY_KEY_LIST,
     "list the allocators, their parameters and arena modes (with --alloc so:/plugin: "
     "libraries, theirs too)"},
    {"html", 0, "DIR", REPLAY_KEY_HTML,
     "instead of the table: the plots, tables and page a report would write for these traces "
     "and allocators, in a result directory under DIR (arenalab report of an experiment made "
     "of them; plain allocator names, no explicit routes; each serves every domain, as an "
     "experiment's allocator() does, so pymalloc's raw domain is pymalloc there, not malloc)"},
    {"measure", 0, "LIST", REPLAY_KEY_MEASURE,
     "what to measure, comma-separated: time (timed runs: ns/event, the default), latency "
     "(timed runs with allocator calls timed, see --latency-every: percentiles per "
     "operation), instructions (one more run under valgrind's callgrind: instructions and "
     "cache misses per event, exact and repeatable; a hundred times slower or more)"},
    {"latency-every", 0, "N", REPLAY_KEY_LATENCY_EVERY,
     "--measure latency: time one allocator call in about N (default 32: a clock reading "
     "costs about as much as a call; 1: every call), the same calls in every run"},
    {"threads", 0, "recorded|1", REPLAY_KEY_THREADS,
     "a trace of several threads: replay it on as many threads, each its own events, "
     "waiting only where a block moves between threads (recorded, the default), or on one "
     "thread in the recorded order (1).  Only thread-safe allocators run threaded (raw, "
     "malloc, jemalloc, mimalloc, tcmalloc, so: libraries, plugins that declare it); the "
     "models (pymalloc, arena, cpython, debug variants) and runs with arena events, "
     "--measure latency/instructions or --mallocstats replay serialized, as CPython with "
     "the GIL; the JSON's `threads` says how many ran"},
    {"touch", 0, "none|page|all", REPLAY_KEY_TOUCH,
     "use every new block as a program does: one write per page and its last byte (page, "
     "the default), every byte (all), or not at all (none); timed, the same for every "
     "allocator"},
    {0},
};

typedef struct {
    char *alloc_text[REPLAY_MAX_ALLOCS]; /* --alloc arguments, split in place */
    size_t nalloc_text;
    route_t routes[REPLAY_MAX_ALLOCS];
    size_t nspecs;
    unsigned long repeat;
    unsigned long long samples, seed;
    int verify, lenient, list, keep_going, quiet;
    int threads_recorded;    /* --threads recorded (the default) or 1   */
    unsigned measure;        /* DRIVER_MEASURE_*                        */
    unsigned latency_every;  /* 0: LAT_EVERY_DEFAULT                    */
    const char *mallocstats; /* --mallocstats[=WHEN]; NULL: none            */
    const char *json, *series, *arena_mode, *touch, *html;
} replay_args_t;

/* A decimal in [0, MAX] from TEXT, or -1 (one past ULLONG_MAX too: strtoull
 * would give ULLONG_MAX, a seed the user never wrote). */
static int replay_number(const char *text, unsigned long long max, unsigned long long *out)
{
    char *end;
    if (*text < '0' || *text > '9') return -1;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end || v > max) return -1;
    *out = v;
    return 0;
}

static int replay_on_opt(void *ud, int key, const char *arg)
{
    replay_args_t *a = ud;
    unsigned long long v;
    switch (key) {
    case REPLAY_KEY_ALLOC: {
        if (a->nalloc_text == REPLAY_MAX_ALLOCS) {
            cli_error("replay: too many --alloc options");
            return -1;
        }
        char *copy = strdup(arg);
        if (!copy) return -1;
        a->alloc_text[a->nalloc_text++] = copy;
        char msg[512];
        if (route_parse_list(copy, a->routes, REPLAY_MAX_ALLOCS, &a->nspecs, msg, sizeof msg)) {
            cli_error("replay: --alloc %s: %s", arg, msg);
            return -1;
        }
        return 0;
    }
    case REPLAY_KEY_REPEAT:
        if (replay_number(arg, REPLAY_MAX_REPEAT, &v)) {
            cli_error("replay: --repeat %s: expected a count from 0 to %d", arg, REPLAY_MAX_REPEAT);
            return -1;
        }
        a->repeat = (unsigned long)v;
        return 0;
    case REPLAY_KEY_SEED:
        if (replay_number(arg, UINT64_MAX, &v)) {
            cli_error("replay: --seed %s: expected a decimal number", arg);
            return -1;
        }
        a->seed = v;
        return 0;
    case REPLAY_KEY_SAMPLES:
        if (replay_number(arg, REPLAY_MAX_SAMPLES, &v) || v == 0) {
            cli_error("replay: --samples %s: expected a count from 1 to %d", arg,
                      REPLAY_MAX_SAMPLES);
            return -1;
        }
        a->samples = v;
        return 0;
    case REPLAY_KEY_ARENA_MODE:
        char msg[256];
        if (arenas_check(arg, msg, sizeof msg)) {
            cli_error("replay: --arena-mode %s: %s", arg, msg);
            return -1;
        }
        a->arena_mode = arg;
        return 0;
    case REPLAY_KEY_THREADS:
        if (strcmp(arg, "recorded") && strcmp(arg, "1")) {
            cli_error("replay: --threads %s: expected recorded or 1", arg);
            return -1;
        }
        a->threads_recorded = strcmp(arg, "1") != 0;
        return 0;
    case REPLAY_KEY_TOUCH:
        if (replay_touch_find(arg) < 0) {
            cli_error("replay: --touch %s: expected none, page or all", arg);
            return -1;
        }
        a->touch = arg;
        return 0;
    case REPLAY_KEY_MEASURE:
        if (driver_measure_parse(arg, &a->measure)) {
            cli_error("replay: --measure %s: expected a comma-separated list of time, latency "
                      "and instructions",
                      arg);
            return -1;
        }
        return 0;
    case REPLAY_KEY_LATENCY_EVERY:
        if (replay_number(arg, LAT_EVERY_MAX, &v) || v == 0) {
            cli_error("replay: --latency-every %s: expected a count from 1 to %d", arg,
                      LAT_EVERY_MAX);
            return -1;
        }
        a->latency_every = (unsigned)v;
        return 0;
    case REPLAY_KEY_VERIFY:
        a->verify = 1;
        return 0;
    case REPLAY_KEY_LENIENT:
        a->lenient = 1;
        return 0;
    case REPLAY_KEY_QUIET:
        a->quiet = 1;
        return 0;
    case REPLAY_KEY_KEEP_GOING:
        a->keep_going = 1;
        return 0;
    case REPLAY_KEY_MALLOCSTATS:
        a->mallocstats = arg && *arg ? arg : "peak";
        if (!replay_mallocstats_when_ok(a->mallocstats)) {
            cli_error("replay: --mallocstats=%s: expected end, peak, event:N or marker:NAME", arg);
            return -1;
        }
        return 0;
    case REPLAY_KEY_LIST:
        a->list = 1;
        return 0;
    case REPLAY_KEY_JSON:
        a->json = arg;
        return 0;
    case REPLAY_KEY_SERIES:
        a->series = arg;
        return 0;
    case REPLAY_KEY_HTML:
        a->html = arg;
        return 0;
    }
    return -1; /* not reached: cli_parse passes only our keys */
}

/* One class of --list: name, summary, a line per parameter. */
static void replay_list_class(const char *name, const alloc_class_t *c)
{
    printf("  %-12s %s\n", name, c->summary ? c->summary : "");
    const char *p = c->params;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        printf("  %-12s   %.*s\n", "", len, p);
        p = nl ? nl + 1 : p + len;
    }
}

/* --list: the registry, your own allocators (those of A's --alloc
 * libraries, or how to name them), PYTHONMALLOC's names and the layers,
 * then the arena modes. */
static void replay_list(const replay_args_t *a)
{
    puts("allocators:");
    for (const alloc_class_t *const *c = alloc_registry; *c; c++)
        replay_list_class((*c)->name, *c);
    puts("\nyour own (alloc/plugin/README.md):\n"
         "  so:[NAME=]PATH               a malloc library, preloaded into the worker\n"
         "  plugin:[NAME=]PATH[:k=v...]  a plugin built against arenalab_plugin.h");
    for (size_t i = 0; i < a->nspecs; i++)
        for (int d = 0; d < TRACE_NDOMAINS; d++) {
            alloc_spec_t s;
            char err[512], show[256];
            const alloc_class_t *c = NULL;
            if (alloc_spec_parse(&s, a->routes[i].spec[d], err, sizeof err) ||
                !(c = alloc_find(s.name)) ||
                (d > 0 && a->routes[i].spec[d] == a->routes[i].spec[0]))
                continue;
            if (strncmp(s.name, "so:", 3) && strncmp(s.name, "plugin:", 7)) continue;
            alloc_spec_display(s.name, show, sizeof show);
            if (c->available && !c->available(err, sizeof err))
                printf("  %-12s cannot run here: %s\n", show, err);
            else
                replay_list_class(show, c);
        }
    puts("\nPYTHONMALLOC names (routes over the allocators above):");
    for (const route_alias_t *r = route_aliases; r->name; r++)
        printf("  %-14s %s\n", r->name, r->summary);
    puts("\nlayers (NAME_LAYER or NAME[:key=value...]:LAYER, any allocator above):");
    printf("  %-14s %s\n", "debug",
           "CPython 3.11's debug hooks (PYTHONMALLOC=debug): 24 bytes per block, API ids, "
           "clean/dead/forbidden bytes");
    puts("\narena modes (--arena-mode):");
    for (const arenas_mode_t *const *m = arenas_modes; *m; m++)
        printf("  %-12s %s%s\n", (*m)->name, (*m)->summary, m == arenas_modes ? " (default)" : "");
}

/* Opens the output files now, so a bad path fails before a long replay;
 * neither may be one of the NTRACES TRACES. */
static int replay_open_outputs(const replay_args_t *a, outfile_t *json, outfile_t *series,
                               char **traces, int ntraces)
{
    char err[512];
    memset(json, 0, sizeof *json);
    memset(series, 0, sizeof *series);
    for (int i = 0; i < ntraces; i++)
        for (int k = 0; k < 2; k++) {
            const char *out = k ? a->series : a->json;
            if (out && outfile_replaces(out, traces[i])) {
                cli_error("replay: %s %s is the trace %s itself: it would replace it",
                          k ? "--series" : "--json", out, traces[i]);
                return -1;
            }
        }
    if (a->json && outfile_open(json, a->json, "w", err, sizeof err)) {
        cli_error("replay: %s", err);
        return -1;
    }
    if (a->series && outfile_open(series, a->series, "w", err, sizeof err)) {
        cli_error("replay: %s", err);
        if (a->json) outfile_abort(json);
        return -1;
    }
    return 0;
}

static int replay_write_outputs(const replay_args_t *a, outfile_t *json, outfile_t *series,
                                const driver_run_t *runs, size_t n)
{
    char err[512];
    int rc = CLI_OK;
    if (a->json) {
        output_settings_t s = {(unsigned)a->repeat,
                               a->seed,
                               a->samples,
                               a->arena_mode ? a->arena_mode : arenas_modes[0]->name,
                               a->verify,
                               a->lenient,
                               a->touch ? a->touch : "page",
                               a->measure,
                               a->latency_every};
        output_json(json->fp, runs, n, &s);
        if (outfile_commit(json, err, sizeof err)) {
            cli_error("replay: %s", err);
            rc = CLI_FAIL;
        }
    }
    if (a->series) {
        output_series(series->fp, runs, n);
        if (outfile_commit(series, err, sizeof err)) {
            cli_error("replay: %s", err);
            rc = CLI_FAIL;
        }
    }
    /* The table goes to stdout unless a file output already does. */
    int json_stdout = a->json && strcmp(a->json, "-") == 0;
    int series_stdout = a->series && strcmp(a->series, "-") == 0;
    if (!json_stdout && !series_stdout) output_table(stdout, runs, n);
    return rc;
}

/* Appends S as a Lua string literal to F. */
static void replay_lua_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++)
        fprintf(f, (unsigned char)*s < ' ' || *s == '"' || *s == '\\' ? "\\%03u" : "%c",
                (unsigned char)*s);
    fputc('"', f);
}

/* --html DIR: the report of an experiment made of TRACES and A's
 * allocators (a temporary Lua file), run by `arenalab report` itself, so
 * the page is exactly a report's.  Returns report's exit status. */
static int replay_html(const replay_args_t *a, char **traces, int ntraces)
{
    const char *dir = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/arenalab-replay-XXXXXX.lua", dir && *dir ? dir : "/tmp");
    int fd = mkstemps(tmpl, 4);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        cli_error("replay --html: cannot create a temporary experiment: %s", strerror(errno));
        if (fd >= 0) close(fd), unlink(tmpl);
        return CLI_USAGE;
    }
    fputs("-- made by arenalab replay --html\nname(\"replay\")\n", f);
    fprintf(f, "repeats(%lu)\nsamples(%llu)\n", a->repeat, a->samples);
    char measure[64];
    driver_measure_text(a->measure, measure, sizeof measure);
    const char *sep = "measure(";
    for (char *m = strtok(measure, ","); m; m = strtok(NULL, ",")) {
        fprintf(f, "%s\"%s\"", sep, m);
        sep = ", ";
    }
    fputs(")\n", f);
    int rc = CLI_OK;
    for (int i = 0; i < ntraces && rc == CLI_OK; i++) {
        char abs[PATH_MAX];
        if (!realpath(traces[i], abs)) {
            cli_error("replay: %s: %s", traces[i], strerror(errno));
            rc = CLI_USAGE;
            break;
        }
        fputs("trace(", f);
        replay_lua_string(f, abs);
        fputs(")\n", f);
    }
    for (size_t i = 0; i < a->nspecs && rc == CLI_OK; i++) {
        const route_t *r = &a->routes[i];
        char name[512], spec[PATH_MAX + 1024];
        route_name(r, name, sizeof name);
        if (!route_is_uniform(r) && !r->label) {
            cli_error("replay --html: %s: a report runs allocators by name, not explicit routes",
                      name);
            rc = CLI_USAGE;
            break;
        }
        /* the spec itself (a name shows a library's file name only), with
         * a library path made absolute: an experiment's relative paths
         * are from the repository root, ours from here */
        const char *text = r->label ? r->label : r->spec[0];
        alloc_ext_t x;
        char abs[PATH_MAX];
        if (alloc_spec_ext(text, &x, spec, sizeof spec) == 1 && realpath(x.path, abs))
            snprintf(spec, sizeof spec, "%.*s%s%s", (int)(x.head - strlen(x.path)), text, abs,
                     text + x.head);
        else
            snprintf(spec, sizeof spec, "%s", text);
        fputs("allocator(", f);
        replay_lua_string(f, spec);
        fputs(")\n", f);
    }
    if (fclose(f) != 0 && rc == CLI_OK) rc = CLI_USAGE;
    if (rc == CLI_OK) {
        char seed[32];
        snprintf(seed, sizeof seed, "%llu", a->seed);
        const char *const argv[] = {"arenalab", "report", tmpl, "--out",
                                    a->html,    "--seed", seed, NULL};
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            execv("/proc/self/exe", (char *const *)argv);
            _exit(127);
        }
        int status = 0;
        while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        rc = pid < 0               ? CLI_USAGE
             : WIFEXITED(status)   ? WEXITSTATUS(status)
             : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                   : CLI_FAIL;
    }
    unlink(tmpl);
    return rc;
}

static int replay_main(int argc, char **argv)
{
    replay_args_t a;
    memset(&a, 0, sizeof a);
    a.repeat = TIMING_MIN_REPEAT;
    a.samples = 1000;
    a.seed = DRIVER_DEFAULT_SEED;
    a.measure = DRIVER_MEASURE_TIME;
    a.threads_recorded = 1;
    int rc = cli_parse(&cmd_replay, argc, argv, replay_on_opt, &a);
    if (rc < 0) {
        rc = cli_parse_exit(rc);
    } else if (a.list) {
        replay_list(&a);
        rc = CLI_OK;
    } else if (rc >= argc || a.nspecs == 0) {
        cli_error("replay: %s (see 'arenalab replay --help')",
                  rc >= argc ? "no trace given" : "no allocator given (--alloc NAME)");
        rc = CLI_USAGE;
    } else {
        int first = rc;
        rc = CLI_OK;
        for (int i = first; i < argc; i++)
            if (strcmp(argv[i], "-") == 0) {
                cli_error("replay: a trace on standard input cannot be replayed: it is read "
                          "several times; give a file");
                rc = CLI_USAGE;
            }
        if (rc == CLI_OK && a.html) {
            if (a.json || a.series || a.mallocstats || a.verify || a.lenient || a.arena_mode ||
                a.touch || a.latency_every) {
                cli_error("replay --html: only --alloc, --repeat, --samples, --seed and --measure "
                          "go with it (a report's settings)");
                rc = CLI_USAGE;
            } else {
                rc = replay_html(&a, argv + first, argc - first);
            }
            for (size_t i = 0; i < a.nalloc_text; i++)
                free(a.alloc_text[i]);
            return rc;
        }
        outfile_t json, series;
        if (rc == CLI_OK && replay_open_outputs(&a, &json, &series, argv + first, argc - first))
            rc = CLI_USAGE;
        if (rc == CLI_OK) {
            driver_config_t cfg = {
                .traces = (const char *const *)argv + first,
                .ntraces = (size_t)(argc - first),
                .routes = a.routes,
                .nroutes = a.nspecs,
                .repeat = (unsigned)a.repeat,
                .seed = a.seed,
                .nsamples = a.samples,
                .verify = a.verify,
                .lenient = a.lenient,
                .keep_going = a.keep_going,
                .mallocstats = a.mallocstats,
                .arena_mode = a.arena_mode,
                .touch = a.touch,
                .progress = cli_interactive() && !a.quiet,
                .measure = a.measure,
                .latency_every = a.latency_every,
                .threads_recorded = a.threads_recorded,
            };
            driver_run_t *runs;
            size_t n;
            rc = driver_run(&cfg, &runs, &n);
            /* Skips are the trace's, the same for every allocator: once. */
            for (size_t i = 0; rc == CLI_OK && i < n; i += a.nspecs)
                if (runs[i].m.skipped)
                    cli_error("replay: %s: %llu bad lines or events skipped (--lenient)",
                              runs[i].trace, (unsigned long long)runs[i].m.skipped);
            for (size_t i = 0; rc == CLI_OK && i < n; i++)
                if (runs[i].m.debug_faults)
                    cli_error("replay: %s with %s: %llu API violations caught by the debug hooks "
                              "and replayed through the allocating domain (--keep-going)",
                              runs[i].trace, runs[i].allocator,
                              (unsigned long long)runs[i].m.debug_faults);
            if (rc == CLI_OK)
                rc = replay_write_outputs(&a, &json, &series, runs, n);
            else {
                if (a.json) outfile_abort(&json);
                if (a.series) outfile_abort(&series);
            }
            driver_runs_free(runs, n);
        }
    }
    for (size_t i = 0; i < a.nalloc_text; i++)
        free(a.alloc_text[i]);
    return rc;
}

static int replay_command(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--worker") == 0)
        return driver_worker(argc - 1, argv + 1, NULL);
    return replay_main(argc, argv);
}

const cli_command_t cmd_replay = {
    .name = "replay",
    .args = "TRACE... --alloc A[,B...]",
    .summary = "replay traces through allocators: throughput, memory, fragmentation",
    .description =
        "Each (trace, allocator) pair runs in worker processes of its own: one measurement\n"
        "run, then --repeat timed runs on fresh allocator instances (ns/event: decoding is\n"
        "never timed).  Memory, one definition for every allocator: peak_resident_bytes,\n"
        "the worker's highest anonymous resident memory above its baseline (taken after\n"
        "the allocator is created), over ~--samples samples and the event where live\n"
        "bytes peak; Johnstone & Wilson's jw1-jw4 and util (peak live / peak resident)\n"
        "come from it.  peak_held_bytes is each allocator's own figure (pymalloc's\n"
        "arenas, jemalloc's stats.resident, ...).  Between the baseline and the end only\n"
        "the trace's events reach the allocator: the worker's own memory is mapped by\n"
        "itself beforehand.  Blocks are used as a program uses them (--touch).\n"
        "On a terminal, progress goes to stderr (which pair runs; each pass's events\n"
        "done, sent by the worker between chunks, outside the timed loops); --quiet\n"
        "leaves it out.  Memory stays bounded whatever the length of the trace; a trace\n"
        "whose peak live bytes pass three quarters of the memory available is refused\n"
        "(exit 2; ARENALAB_REPLAY_MAX_BYTES sets another bound).\n"
        "The timed runs of a trace are interleaved: each round runs every allocator once,\n"
        "in an order shuffled from --seed.  A worker kept for the whole trace does one\n"
        "untimed warm-up run first; allocators whose state outlives an instance in its\n"
        "process (cpython, raw, malloc, arena, the preloaded libraries, pymalloc's malloc\n"
        "raw domain) get a fresh process for every timed run instead.  ns/event is shown\n"
        "as the median [confidence interval of the median, from order statistics; its\n"
        "level is printed]; traces of fewer than 10000 events are flagged 'too short'.\n"
        "Allocators that are the same configuration (pymalloc, pymalloc:arena=1M,\n"
        "pymalloc:arena=1MiB) run once and show the same figures.\n"
        "--measure adds what a noisy machine cannot blur and what timings average away:\n"
        "instructions (one more run per configuration under valgrind's callgrind,\n"
        "counting the allocator's calls and the blocks' touches, not the harness:\n"
        "instructions and D1/LL cache misses per event, the same on any load) and latency\n"
        "(allocator calls of the timed runs timed, one in --latency-every, into\n"
        "histograms per operation: p50 to p99.99 and max, with the clock's overhead and\n"
        "resolution).\n"
        "A trace of several threads (#@ thread N, THREAD records) replays on as many\n"
        "threads with a thread-safe allocator (--threads): each thread runs its own events,\n"
        "waiting only where a block moves between threads; ns/event is then the wall time\n"
        "over all events (ns_per_event_per_thread and events_per_s in the JSON), memory\n"
        "figures depend on the threads' interleaving, and internal fragmentation is not\n"
        "measured.  The models run serialized (threads 1), so their figures are the same\n"
        "with --threads 1.\n"
        "A bad trace line, an allocation that returns NULL or a --verify mismatch stops\n"
        "the replay with the event and exit status 1; outputs are written only when every\n"
        "pair succeeded.  Under the debug hooks, an r or f through another domain than the\n"
        "one that allocated the block (an API violation) is reported as CPython reports it,\n"
        "and stops the replay too (--keep-going: counted, then replayed as meant).\n"
        "\n"
        "Allocators are named as PYTHONMALLOC names them: `pymalloc` routes the raw domain\n"
        "to malloc and mem/obj to pymalloc (CPython's default); `malloc` sends every domain\n"
        "to the process's malloc (held memory counted per block), `raw` too (held memory\n"
        "from mallinfo2); pymalloc_debug, malloc_debug and debug add CPython's debug hooks\n"
        "(24 bytes a block, API ids checked), and so does NAME_debug or NAME:debug for any\n"
        "allocator; any other NAME serves every domain.  An explicit route gives each\n"
        "CPython domain its own allocator: --alloc raw=raw,mem=pymalloc,obj=mimalloc\n"
        "(a domain left out goes to malloc).  Parameters follow a colon:\n"
        "pymalloc:preset=3.8, arena:growth=doubling.  jemalloc, mimalloc and tcmalloc are\n"
        "loaded into their worker with LD_PRELOAD.  Arena events (n m o x) run CPython's\n"
        "PyArena over the MEM allocator by default (--arena-mode).",
    .opts = replay_opts,
    .run = replay_command,
};
