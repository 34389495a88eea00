/* driver.c: worker processes for each (trace, route) pair, and the worker
 * mode itself (see driver.h for the protocol). */
#include "sim/replay/driver.h"
#include "sim/base/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* The worker's result pipe. */
#define DRIVER_FD 3

/* The measurement figures, one table for both ends of the pipe. */
typedef struct {
    const char *name;
    size_t offset; /* in replay_result_t */
    int is_double;
} driver_field_t;

static const driver_field_t driver_fields[] = {
    {"events", offsetof(replay_result_t, events), 0},
    {"skipped", offsetof(replay_result_t, skipped), 0},
    {"peak_live_bytes", offsetof(replay_result_t, peak_live_bytes), 0},
    {"peak_live_blocks", offsetof(replay_result_t, peak_live_blocks), 0},
    {"peak_held", offsetof(replay_result_t, peak_held), 0},
    {"peak_resident", offsetof(replay_result_t, peak_resident), 0},
    {"internal_frag", offsetof(replay_result_t, internal_frag), 1},
    {"jw1", offsetof(replay_result_t, frag.jw1), 1},
    {"jw2", offsetof(replay_result_t, frag.jw2), 1},
    {"jw3", offsetof(replay_result_t, frag.jw3), 1},
    {"jw4", offsetof(replay_result_t, frag.jw4), 1},
    {"util", offsetof(replay_result_t, frag.util), 1},
    {"debug_faults", offsetof(replay_result_t, debug_faults), 0},
    {NULL, 0, 0},
};

/* ---- the worker's arguments ---------------------------------------------- */

/* One worker: what `replay --worker` is told to do. */
typedef struct {
    const char *trace;
    route_t route;
    const char *label;
    int measure;
    unsigned timed;
    uint64_t nsamples;
    int verify, lenient, mallocstats, keep_going;
    const char *arena_mode;
    const char *touch; /* replay_touch_name; NULL: page */
} driver_job_t;

typedef enum { DRIVER_STR, DRIVER_FLAG, DRIVER_UINT, DRIVER_U64 } driver_kind_t;

/* The worker's options: driver_job_argv writes them, driver_job_parse
 * reads them, from this one table. */
typedef struct {
    const char *name;
    driver_kind_t kind;
    size_t offset; /* in driver_job_t */
} driver_wopt_t;

#define DRIVER_AT(field) offsetof(driver_job_t, field)

static const driver_wopt_t driver_wopts[] = {
    {"--trace", DRIVER_STR, DRIVER_AT(trace)},
    {"--raw", DRIVER_STR, DRIVER_AT(route.spec[TRACE_RAW])},
    {"--mem", DRIVER_STR, DRIVER_AT(route.spec[TRACE_MEM])},
    {"--obj", DRIVER_STR, DRIVER_AT(route.spec[TRACE_OBJ])},
    {"--label", DRIVER_STR, DRIVER_AT(label)},
    {"--arena-mode", DRIVER_STR, DRIVER_AT(arena_mode)},
    {"--measure", DRIVER_FLAG, DRIVER_AT(measure)},
    {"--timed", DRIVER_UINT, DRIVER_AT(timed)},
    {"--samples", DRIVER_U64, DRIVER_AT(nsamples)},
    {"--verify", DRIVER_FLAG, DRIVER_AT(verify)},
    {"--lenient", DRIVER_FLAG, DRIVER_AT(lenient)},
    {"--keep-going", DRIVER_FLAG, DRIVER_AT(keep_going)},
    {"--mallocstats", DRIVER_FLAG, DRIVER_AT(mallocstats)},
    {"--touch", DRIVER_STR, DRIVER_AT(touch)},
    {NULL, DRIVER_STR, 0},
};

#define DRIVER_NWOPTS (sizeof driver_wopts / sizeof driver_wopts[0] - 1)
/* Room for the worker's argv: program, "replay", "--worker", two words
 * per option, NULL. */
#define DRIVER_MAX_ARGV (3 + 2 * DRIVER_NWOPTS + 1)

typedef struct {
    const char *argv[DRIVER_MAX_ARGV];
    char num[DRIVER_NWOPTS][24]; /* numbers as text */
} driver_argv_t;

/* Fills A->argv with SELF replay --worker and JOB's options (flags and
 * strings only when set). */
static void driver_job_argv(const driver_job_t *job, const char *self, driver_argv_t *a)
{
    int n = 0;
    a->argv[n++] = self;
    a->argv[n++] = "replay";
    a->argv[n++] = "--worker";
    for (size_t i = 0; i < DRIVER_NWOPTS; i++) {
        const driver_wopt_t *o = &driver_wopts[i];
        const char *p = (const char *)job + o->offset;
        switch (o->kind) {
        case DRIVER_STR:
            if (!*(const char *const *)p) continue;
            a->argv[n++] = o->name;
            a->argv[n++] = *(const char *const *)p;
            break;
        case DRIVER_FLAG:
            if (*(const int *)p) a->argv[n++] = o->name;
            break;
        case DRIVER_UINT:
        case DRIVER_U64:
            snprintf(a->num[i], sizeof a->num[i], "%" PRIu64,
                     o->kind == DRIVER_UINT ? (uint64_t) * (const unsigned *)p
                                            : *(const uint64_t *)p);
            a->argv[n++] = o->name;
            a->argv[n++] = a->num[i];
            break;
        }
    }
    a->argv[n] = NULL;
}

/* Parses the worker's ARGV (after "--worker") into JOB.  Returns 0 or -1
 * with ERR. */
static int driver_job_parse(int argc, char **argv, driver_job_t *job, char *err, size_t errlen)
{
    memset(job, 0, sizeof *job);
    for (int i = 1; i < argc; i++) {
        const driver_wopt_t *o = driver_wopts;
        while (o->name && strcmp(o->name, argv[i]) != 0)
            o++;
        if (!o->name || (o->kind != DRIVER_FLAG && i + 1 == argc)) {
            snprintf(err, errlen, "worker: bad argument '%s'", argv[i]);
            return -1;
        }
        char *p = (char *)job + o->offset;
        switch (o->kind) {
        case DRIVER_STR:
            *(const char **)p = argv[++i];
            break;
        case DRIVER_FLAG:
            *(int *)p = 1;
            break;
        case DRIVER_UINT:
            *(unsigned *)p = (unsigned)strtoul(argv[++i], NULL, 10);
            break;
        case DRIVER_U64:
            *(uint64_t *)p = strtoull(argv[++i], NULL, 10);
            break;
        }
    }
    if (!job->trace || !job->route.spec[0] || !job->route.spec[1] || !job->route.spec[2]) {
        snprintf(err, errlen, "worker: missing --trace or a domain's allocator");
        return -1;
    }
    return 0;
}

/* ---- the worker --------------------------------------------------------- */

/* Sends "error CODE MESSAGE" (newlines flattened) and returns CODE. */
static int driver_worker_error(FILE *out, int code, const char *msg)
{
    fprintf(out, "error %d ", code);
    for (const char *p = msg; *p; p++)
        fputc(*p == '\n' ? ' ' : *p, out);
    fputc('\n', out);
    fflush(out);
    return code;
}

static void driver_send_measurement(FILE *out, const replay_result_t *res,
                                    const metrics_series_t *ser)
{
    for (int j = 0; j < ser->nextra; j++)
        fprintf(out, "extra %d %s\n", j, ser->extra_name[j]);
    for (size_t i = 0; i < ser->n; i++) {
        fputs("sample", out);
        for (int f = 0; f < METRICS_NFIELDS; f++)
            fprintf(out, " %" PRIu64,
                    *(const uint64_t *)((const char *)&ser->s[i] + metrics_sample_offset[f]));
        fputc('\n', out);
        for (int j = 0; j < ser->nextra; j++) {
            uint64_t v = ser->extra[i * METRICS_MAX_EXTRA + (size_t)j];
            if (v != METRICS_ABSENT) fprintf(out, "x %d %" PRIu64 "\n", j, v);
        }
    }
    for (const driver_field_t *f = driver_fields; f->name; f++) {
        const char *p = (const char *)res + f->offset;
        if (f->is_double)
            fprintf(out, "m %s %a\n", f->name, *(const double *)p);
        else
            fprintf(out, "m %s %" PRIu64 "\n", f->name, *(const uint64_t *)p);
    }
}

static int driver_worker_job(FILE *out, const driver_job_t *job, route_find_fn find)
{
    char err[1024];
    replay_opts_t o = {find, NULL, NULL,       job->verify,       job->lenient,
                       0,    NULL, job->label, REPLAY_TOUCH_PAGE, job->keep_going,
                       NULL};
    if (job->arena_mode && !(o.arenas = arenas_find(job->arena_mode, &o.arena_params)))
        return driver_worker_error(out, CLI_USAGE, "unknown arena mode");
    int touch = job->touch ? replay_touch_find(job->touch) : REPLAY_TOUCH_PAGE;
    if (touch < 0) return driver_worker_error(out, CLI_USAGE, "unknown touch mode");
    o.touch = (replay_touch_t)touch;
    trace_reader_t *r;
    /* the reader's memory stays out of the heap under test; API violations
     * reach a route whose debug hooks catch them */
    unsigned rflags = TRACE_R_FAST | TRACE_R_PRIVATE_HEAP |
                      (route_has_debug(&job->route) ? TRACE_R_CROSS_DOMAIN : 0);
    if (trace_open_ex(&r, job->trace, rflags, err, sizeof err) < 0)
        return driver_worker_error(out, CLI_USAGE, err);
    replay_scan_t scan;
    int rc = replay_scan(r, job->lenient, &scan, err, sizeof err);
    if (rc == 0) {
        fprintf(out, "scan %" PRIu64 " %" PRIu64 "\n", scan.events, scan.skipped);
        fflush(out);
    }
    replay_result_t res;
    if (rc == 0 && job->measure) {
        metrics_series_t ser;
        o.nsamples = job->nsamples ? job->nsamples : 1;
        o.mallocstats = job->mallocstats ? stdout : NULL;
        o.warn = stderr;
        rc = replay_run(r, &job->route, &scan, &o, &res, &ser, err, sizeof err);
        if (rc == 0) driver_send_measurement(out, &res, &ser);
        metrics_series_free(&ser);
        o.nsamples = 0;
        o.mallocstats = NULL;
        o.warn = NULL;
    }
    for (unsigned i = 0; rc == 0 && i < job->timed; i++) {
        rc = replay_run(r, &job->route, &scan, &o, &res, NULL, err, sizeof err);
        if (rc == 0) fprintf(out, "timed %" PRIu64 " %" PRIu64 "\n", res.ns, res.events);
    }
    trace_close(r);
    if (rc) return driver_worker_error(out, rc == REPLAY_EUSAGE ? CLI_USAGE : CLI_FAIL, err);
    fputs("done\n", out);
    return fflush(out) == 0 ? CLI_OK : CLI_FAIL;
}

int driver_worker(int argc, char **argv, route_find_fn find)
{
    FILE *out = fdopen(DRIVER_FD, "w");
    if (!out) {
        cli_error("replay --worker is internal: run by 'arenalab replay' with fd %d open",
                  DRIVER_FD);
        return CLI_USAGE;
    }
    /* its buffer in a mapping of its own, not in the heap under test */
    static const size_t bufsize = 1 << 16;
    void *buf = mmap(NULL, bufsize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf != MAP_FAILED) setvbuf(out, buf, _IOFBF, bufsize);
    driver_job_t job;
    char err[256];
    int rc = driver_job_parse(argc, argv, &job, err, sizeof err)
                 ? driver_worker_error(out, CLI_USAGE, err)
                 : driver_worker_job(out, &job, find);
    fclose(out);
    return rc;
}

/* ---- the parent --------------------------------------------------------- */

typedef struct {
    char *p;
    size_t n, cap;
} driver_buf_t;

/* Reads FD to its end into B.  Returns 0 or -1 (out of memory, read error). */
static int driver_slurp(int fd, driver_buf_t *b)
{
    for (;;) {
        if (b->cap - b->n < 4096) {
            size_t cap = b->cap ? b->cap * 2 : 65536;
            char *p = realloc(b->p, cap);
            if (!p) return -1;
            b->p = p;
            b->cap = cap;
        }
        ssize_t got = read(fd, b->p + b->n, b->cap - b->n - 1);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return -1;
        if (got == 0) break;
        b->n += (size_t)got;
    }
    b->p[b->n] = '\0';
    return 0;
}

/* The environment of a worker: ours, with LD_PRELOAD set to exactly
 * PRELOAD (none when it is empty): a library the user preloads must not be
 * measured under another allocator's name.  Returns NULL when out of
 * memory. */
static char **driver_env(const char *preload, char **slot)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = malloc((n + 2) * sizeof *env);
    if (!env) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0) env[k++] = environ[i];
    *slot = NULL;
    if (*preload) {
        size_t len = strlen(preload) + 12;
        if (!(*slot = malloc(len))) {
            free(env);
            return NULL;
        }
        snprintf(*slot, len, "LD_PRELOAD=%s", preload);
        env[k++] = *slot;
    }
    env[k] = NULL;
    return env;
}

typedef struct {
    const driver_config_t *cfg;
    const char *trace;
    const route_t *route;
    const char *label;
    const char *preload;
} driver_pair_t;

/* Starts a worker for PAIR and reads everything it sends into OUT; *STATUS
 * gets its wait status.  Returns 0, or -1 when it could not be run
 * (reported). */
static int driver_spawn(const driver_pair_t *pair, int measure, unsigned timed, driver_buf_t *out,
                        int *status)
{
    const driver_config_t *cfg = pair->cfg;
    const char *self = cfg->self ? cfg->self : "/proc/self/exe";
    driver_job_t job = {pair->trace,     *pair->route,    pair->label,
                        measure,         timed,           cfg->nsamples,
                        cfg->verify,     cfg->lenient,    cfg->mallocstats && measure,
                        cfg->keep_going, cfg->arena_mode, cfg->touch};
    driver_argv_t args;
    driver_job_argv(&job, self, &args);

    char *slot;
    /* a test's counting library (sim/replay/cleanroom_shim.c) goes where
     * no class preloads anything; raw then measures it (alloc/origin.c) */
    const char *test_preload = getenv("ARENALAB_TEST_PRELOAD");
    char **env = driver_env(*pair->preload || !test_preload ? pair->preload : test_preload, &slot);
    int fds[2];
    if (!env || pipe2(fds, O_CLOEXEC) != 0) {
        cli_error("replay of %s with %s: cannot start a worker: %s", pair->trace, pair->label,
                  env ? strerror(errno) : "out of memory");
        if (env) free(slot);
        free(env);
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        /* Only async-signal-safe calls between fork and exec. */
        if (fds[1] == DRIVER_FD ? fcntl(DRIVER_FD, F_SETFD, 0) != 0
                                : dup2(fds[1], DRIVER_FD) != DRIVER_FD)
            _exit(127);
        execve(self, (char *const *)args.argv, env);
        _exit(127);
    }
    int saved = errno;
    close(fds[1]);
    free(slot);
    free(env);
    if (pid < 0) {
        close(fds[0]);
        cli_error("replay of %s with %s: cannot fork a worker: %s", pair->trace, pair->label,
                  strerror(saved));
        return -1;
    }
    int rc = driver_slurp(fds[0], out);
    close(fds[0]);
    while (waitpid(pid, status, 0) < 0)
        if (errno != EINTR) {
            cli_error("replay of %s with %s: lost the worker: %s", pair->trace, pair->label,
                      strerror(errno));
            return -1;
        }
    if (rc) {
        cli_error("replay of %s with %s: cannot read the worker's results", pair->trace,
                  pair->label);
        return -1;
    }
    return 0;
}

/* Timings of the timed runs of one pair. */
typedef struct {
    double *ns_per_event;
    size_t n, cap;
} driver_times_t;

/* Reads a worker's lines: samples and figures into RUN, timings into T.
 * Returns the exit status of the pair (0 when the worker said "done"),
 * after reporting a failure. */
static int driver_parse(const driver_pair_t *pair, char *text, int status, driver_run_t *run,
                        driver_times_t *t)
{
    const char *error = NULL;
    int code = CLI_FAIL, done = 0;
    long sample = -1;
    int extra_map[METRICS_MAX_EXTRA];
    for (int j = 0; j < METRICS_MAX_EXTRA; j++)
        extra_map[j] = -1;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        char *rest = strchr(line, ' ');
        if (rest)
            *rest++ = '\0';
        else
            rest = line + strlen(line);
        if (!strcmp(line, "done")) {
            done = 1;
        } else if (!strcmp(line, "error")) {
            code = (int)strtol(rest, &rest, 10);
            error = rest + (*rest == ' ');
        } else if (!strcmp(line, "timed") && t->n < t->cap) {
            uint64_t ns = strtoull(rest, &rest, 10);
            uint64_t events = strtoull(rest, NULL, 10);
            t->ns_per_event[t->n++] = events ? (double)ns / (double)events : NAN;
        } else if (!strcmp(line, "sample")) {
            metrics_sample_t s;
            for (int f = 0; f < METRICS_NFIELDS; f++)
                *(uint64_t *)((char *)&s + metrics_sample_offset[f]) = strtoull(rest, &rest, 10);
            sample = metrics_series_add(&run->series, &s);
        } else if (!strcmp(line, "extra")) {
            int j = (int)strtol(rest, &rest, 10);
            if (j >= 0 && j < METRICS_MAX_EXTRA)
                extra_map[j] = metrics_series_extra(&run->series, rest + (*rest == ' '));
        } else if (!strcmp(line, "x")) {
            int j = (int)strtol(rest, &rest, 10);
            uint64_t v = strtoull(rest, NULL, 10);
            if (sample >= 0 && j >= 0 && j < METRICS_MAX_EXTRA && extra_map[j] >= 0)
                run->series.extra[(size_t)sample * METRICS_MAX_EXTRA + (size_t)extra_map[j]] = v;
        } else if (!strcmp(line, "m")) {
            char *value = strchr(rest, ' ');
            if (!value) continue;
            *value++ = '\0';
            for (const driver_field_t *f = driver_fields; f->name; f++)
                if (!strcmp(f->name, rest)) {
                    char *p = (char *)&run->m + f->offset;
                    if (f->is_double)
                        *(double *)p = strtod(value, NULL);
                    else
                        *(uint64_t *)p = strtoull(value, NULL, 10);
                }
        }
        /* "scan" lines only show how far a worker got. */
    }
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *abbrev = sigabbrev_np(sig);
        cli_error("replay of %s with %s: the worker was killed by signal %d (SIG%s: %s)",
                  pair->trace, pair->label, sig, abbrev ? abbrev : "?", strsignal(sig));
        return CLI_FAIL;
    }
    int exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : CLI_FAIL;
    if (error) {
        cli_error("%s", error);
        return code ? code : CLI_FAIL;
    }
    if (exit_code == 127 && !done) {
        cli_error("replay of %s with %s: cannot run the worker (exec of %s failed)", pair->trace,
                  pair->label, pair->cfg->self ? pair->cfg->self : "/proc/self/exe");
        return CLI_FAIL;
    }
    if (exit_code != 0 || !done) {
        cli_error("replay of %s with %s: the worker exited with status %d without a result",
                  pair->trace, pair->label, exit_code);
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* One pair: its worker(s), their results in RUN. */
static int driver_pair(const driver_pair_t *pair, unsigned flags, driver_run_t *run)
{
    const driver_config_t *cfg = pair->cfg;
    /* A process-global class runs once per process: the measurement, then
     * each timed run, in processes of their own. */
    int separate = (flags & ALLOC_PROCESS_GLOBAL) != 0;
    unsigned nworkers = separate ? 1 + cfg->repeat : 1;
    driver_times_t t = {calloc(cfg->repeat + 1, sizeof(double)), 0, cfg->repeat};
    /* The plan's positions plus the peak; the worker sends no more. */
    if (!t.ns_per_event || metrics_series_init(&run->series, (size_t)cfg->nsamples + 1, 0)) {
        free(t.ns_per_event);
        cli_error("out of memory");
        return CLI_FAIL;
    }
    int rc = CLI_OK;
    for (unsigned w = 0; rc == CLI_OK && w < nworkers; w++) {
        driver_buf_t buf = {0};
        int status = 0;
        unsigned timed = separate ? (w == 0 ? 0 : 1) : cfg->repeat;
        rc = driver_spawn(pair, w == 0, timed, &buf, &status)
                 ? CLI_FAIL
                 : driver_parse(pair, buf.p, status, run, &t);
        free(buf.p);
    }
    run->repeat = (unsigned)t.n;
    metrics_summary(t.ns_per_event, t.n, &run->ns_per_event);
    free(t.ns_per_event);
    return rc;
}

int driver_run(const driver_config_t *cfg, driver_run_t **runs, size_t *nruns)
{
    *runs = NULL;
    *nruns = 0;
    unsigned *flags = calloc(cfg->nroutes + 1, sizeof *flags);
    char(*preload)[512] = calloc(cfg->nroutes + 1, sizeof *preload);
    if (!flags || !preload) {
        free(flags);
        free(preload);
        cli_error("out of memory");
        return CLI_FAIL;
    }
    /* Every allocator name is checked before the first worker starts. */
    for (size_t i = 0; i < cfg->nroutes; i++) {
        char err[256];
        if (route_check(&cfg->routes[i], cfg->find, &flags[i], err, sizeof err) ||
            route_preload(&cfg->routes[i], cfg->find, preload[i], sizeof preload[i])) {
            cli_error("replay: %s", err);
            free(flags);
            free(preload);
            return CLI_USAGE;
        }
    }
    size_t n = cfg->ntraces * cfg->nroutes;
    driver_run_t *out = calloc(n ? n : 1, sizeof *out);
    if (!out) {
        free(flags);
        free(preload);
        cli_error("out of memory");
        return CLI_FAIL;
    }
    int rc = CLI_OK;
    size_t done = 0;
    for (size_t t = 0; rc == CLI_OK && t < cfg->ntraces; t++)
        for (size_t a = 0; rc == CLI_OK && a < cfg->nroutes; a++) {
            driver_run_t *run = &out[done++];
            run->trace = cfg->traces[t];
            run->route = &cfg->routes[a];
            route_name(run->route, run->allocator, sizeof run->allocator);
            if (cfg->progress)
                fprintf(stderr, "arenalab: replay [%zu/%zu] %s with %s\n", done, n, run->trace,
                        run->allocator);
            driver_pair_t pair = {cfg, run->trace, run->route, run->allocator, preload[a]};
            rc = driver_pair(&pair, flags[a], run);
        }
    free(flags);
    free(preload);
    if (rc != CLI_OK) {
        driver_runs_free(out, done);
        return rc;
    }
    *runs = out;
    *nruns = n;
    return CLI_OK;
}

void driver_runs_free(driver_run_t *runs, size_t n)
{
    for (size_t i = 0; runs && i < n; i++)
        metrics_series_free(&runs[i].series);
    free(runs);
}
