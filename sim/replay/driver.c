/* driver.c: worker processes for each (trace, route) pair, the interleaved
 * schedule of their timed runs, and the worker mode itself (see driver.h
 * for the protocol). */
#include "sim/replay/driver.h"
#include "sim/base/cli.h"

#include "sim/base/mapvec.h"
#include "sim/base/meminfo.h"
#include "sim/base/progress.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <time.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* The worker's result pipe, and its command pipe (kept workers). */
#define DRIVER_FD     3
#define DRIVER_CMD_FD 4

/* ---- what is measured ----------------------------------------------------- */

const char *const driver_measure_name[DRIVER_NMEASURES] = {"time", "latency", "instructions"};

int driver_measure_parse(const char *list, unsigned *out)
{
    *out = 0;
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        int k = 0;
        while (k < DRIVER_NMEASURES &&
               (strlen(driver_measure_name[k]) != n || strncmp(driver_measure_name[k], p, n) != 0))
            k++;
        if (k == DRIVER_NMEASURES) return -1;
        *out |= 1u << k;
        p += n + (p[n] == ',');
    }
    return *out ? 0 : -1;
}

const char *driver_measure_text(unsigned m, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < DRIVER_NMEASURES; k++)
        if (m & (1u << k) && used < len)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "",
                                     driver_measure_name[k]);
    return buf;
}

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
    {"threads", offsetof(replay_result_t, threads), 0},
    {NULL, 0, 0},
};

/* ---- the worker's arguments ---------------------------------------------- */

/* One worker: what `replay --worker` is told to do. */
typedef struct {
    const char *trace;
    route_t route;
    const char *label;
    int measure;
    int warmup; /* one timed run, not reported, before the others   */
    int serve;  /* then "ready", and a timed run per command line   */
    unsigned timed;
    uint64_t nsamples;
    int verify, lenient, keep_going;
    const char *mallocstats; /* a dump job: print the classes' statistics at
                                this point (replay.h) and stop            */
    const char *arena_mode;
    const char *touch;      /* replay_touch_name; NULL: page */
    int latency;            /* timed runs with the latency probes         */
    unsigned latency_every; /* one call timed in about this many     */
    const char *count;      /* a count job, under callgrind: its output
                               file (callgrind.h)                         */
    int progress;           /* send "progress" lines (driver_worker_progress) */
    int threads_recorded;   /* replay_opts_t.threads_recorded             */
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
    {"--warmup", DRIVER_FLAG, DRIVER_AT(warmup)},
    {"--serve", DRIVER_FLAG, DRIVER_AT(serve)},
    {"--timed", DRIVER_UINT, DRIVER_AT(timed)},
    {"--samples", DRIVER_U64, DRIVER_AT(nsamples)},
    {"--verify", DRIVER_FLAG, DRIVER_AT(verify)},
    {"--lenient", DRIVER_FLAG, DRIVER_AT(lenient)},
    {"--keep-going", DRIVER_FLAG, DRIVER_AT(keep_going)},
    {"--mallocstats", DRIVER_STR, DRIVER_AT(mallocstats)},
    {"--touch", DRIVER_STR, DRIVER_AT(touch)},
    {"--latency", DRIVER_FLAG, DRIVER_AT(latency)},
    {"--latency-every", DRIVER_UINT, DRIVER_AT(latency_every)},
    {"--count", DRIVER_STR, DRIVER_AT(count)},
    {"--progress", DRIVER_FLAG, DRIVER_AT(progress)},
    {"--threads-recorded", DRIVER_FLAG, DRIVER_AT(threads_recorded)},
    {NULL, DRIVER_STR, 0},
};

#define DRIVER_NWOPTS (sizeof driver_wopts / sizeof driver_wopts[0] - 1)
/* Room for the worker's argv: valgrind's (a count job), program,
 * "replay", "--worker", two words per option, NULL. */
#define DRIVER_MAX_ARGV (CG_MAX_ARGS + 3 + 2 * DRIVER_NWOPTS + 1)

typedef struct {
    const char *argv[DRIVER_MAX_ARGV];
    char num[DRIVER_NWOPTS][24]; /* numbers as text */
    char cg[2][CG_ARG_MAX];      /* valgrind's output files        */
} driver_argv_t;

/* Fills A->argv with SELF replay --worker and JOB's options (flags and
 * strings only when set); a count job's starts with VALGRIND's. */
static void driver_job_argv(const driver_job_t *job, const char *self, const char *valgrind,
                            driver_argv_t *a)
{
    int n = 0;
    if (job->count) n = cg_argv(valgrind, job->count, a->cg, a->argv);
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

/* How far the worker's current pass got: "progress DONE TOTAL PHASE" every
 * DRIVER_PROGRESS_STEP events, sent at a chunk boundary (replay_opts_t
 * .progress: outside the clock of a timed run, where the decoder runs
 * anyway), so the timed loops never see it; the parent redraws its line
 * from these at most a few times a second.  One write per 4 Mi events:
 * nothing next to the decoding of that many. */
#define DRIVER_PROGRESS_STEP ((uint64_t)1 << 22)

typedef struct {
    FILE *out;
    const char *phase; /* "pre-pass", "measurement run", ...              */
    uint64_t total;    /* events of the pass; 0 when unknown              */
    uint64_t next;     /* events at which the next line goes out          */
} driver_progress_t;

static void driver_worker_progress(void *ud, uint64_t events)
{
    driver_progress_t *p = ud;
    if (events < p->next) return;
    p->next = events + DRIVER_PROGRESS_STEP;
    fprintf(p->out, "progress %" PRIu64 " %" PRIu64 " %s\n", events, p->total, p->phase);
    fflush(p->out); /* the buffer is a mapping of its own: no malloc */
}

/* A new pass of TOTAL events called PHASE. */
static void driver_progress_phase(driver_progress_t *p, const char *phase, uint64_t total)
{
    p->phase = phase;
    p->total = total;
    p->next = DRIVER_PROGRESS_STEP;
}

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

/* A timed run; with latency probes, the run's histograms go out before
 * its "timed" line.  Returns replay_run's code. */
static int driver_worker_timed(FILE *out, trace_reader_t *r, const driver_job_t *job,
                               const replay_scan_t *scan, const replay_opts_t *o, char *err,
                               size_t errlen)
{
    replay_result_t res;
    if (o->lat) memset(o->lat, 0, sizeof *o->lat); /* pages resident already */
    int rc = replay_run(r, &job->route, scan, o, &res, NULL, err, errlen);
    if (rc) return rc;
    for (int op = 0; o->lat && op < LAT_NOPS; op++)
        if (o->lat->op[op].count) {
            fprintf(out, "lat %s ", lat_op_name[op]);
            lat_hist_write(out, &o->lat->op[op]);
            fputc('\n', out);
        }
    fprintf(out, "timed %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", res.ns, res.events, res.cpu_ns);
    return 0;
}

/* Sets up the latency probes of O: the histograms in a mapping of their
 * own (*V), touched, and the clock, calibrated and announced; all before
 * the first baseline.  Returns 0 or -1 with ERR. */
static int driver_worker_latency(FILE *out, replay_opts_t *o, mapvec_t *v, lat_clock_t *clk,
                                 char *err, size_t errlen)
{
    /* ARENALAB_LATENCY_CLOCK=clock_gettime: the fallback, where the TSC
     * would do (tests) */
    const char *want = getenv("ARENALAB_LATENCY_CLOCK");
    int kind = -1;
    for (int k = 0; want && k < LAT_NCLOCKS; k++)
        if (!strcmp(want, lat_clock_name[k])) kind = k;
    if (mapvec_reserve(v, sizeof(lat_table_t))) {
        snprintf(err, errlen, "out of memory for the latency histograms");
        return -1;
    }
    mapvec_touch(v);
    if (lat_clock_init(clk, kind)) {
        snprintf(err, errlen, "ARENALAB_LATENCY_CLOCK=%s: not usable here", want);
        return -1;
    }
    fprintf(out, "clock %s %a %" PRIu64 " %a\n", lat_clock_name[clk->kind], clk->ticks_per_ns,
            clk->overhead, clk->resolution_ns);
    o->probe = REPLAY_PROBE_LATENCY;
    o->lat = v->p;
    o->clock = clk;
    return 0;
}

/* The run under callgrind (driver.h): counted, dumped, then the probe
 * pairs alone, dumped, and both dumps read back.  Returns replay_run's
 * code, or REPLAY_EFAIL with ERR. */
static int driver_worker_count(FILE *out, trace_reader_t *r, const driver_job_t *job,
                               const replay_scan_t *scan, replay_opts_t o, char *err, size_t errlen)
{
    if (!cg_running()) {
        snprintf(err, errlen, "worker: --count runs under valgrind's callgrind only");
        return REPLAY_EUSAGE;
    }
    replay_result_t res;
    o.verify = 0;      /* its checks are not the allocator's work */
    o.progress = NULL; /* nor our lines: they would be counted */
    o.probe = REPLAY_PROBE_COUNT;
    struct timespec t0, t1;
    cg_zero();
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = replay_run(r, &job->route, scan, &o, &res, NULL, err, errlen);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cg_dump("events");
    if (rc) return rc;
    cg_probe_pairs();
    cg_dump("probe pairs");
    cg_counts_t run, probe;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s.1", job->count);
    if (cg_parse(path, &run, err, errlen)) return REPLAY_EFAIL;
    snprintf(path, sizeof path, "%s.2", job->count);
    if (cg_parse(path, &probe, err, errlen)) return REPLAY_EFAIL;
    uint64_t ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)t1.tv_nsec -
                  (uint64_t)t0.tv_nsec;
    fprintf(out, "counts %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", res.events, res.probes, ns);
    for (int k = 0; k < 2; k++) {
        fputs(k ? "cg probe" : "cg run", out);
        for (int e = 0; e < CG_NEVENTS; e++)
            fprintf(out, " %" PRIu64, (k ? &probe : &run)->v[e]);
        fputc('\n', out);
    }
    return 0;
}

/* The most live bytes a worker's trace may reach: three quarters of the
 * memory available (ARENALAB_REPLAY_MAX_BYTES), none for a route whose
 * every allocator hands out one shared block. */
static uint64_t driver_live_bound(const driver_job_t *job, route_find_fn find)
{
    if (route_all_have(&job->route, find, ALLOC_SHARED_BLOCK)) return UINT64_MAX;
    return meminfo_bound("ARENALAB_REPLAY_MAX_BYTES", meminfo_available() / 4 * 3);
}

static int driver_worker_job(FILE *out, const driver_job_t *job, route_find_fn find)
{
    char err[1024];
    replay_opts_t o = {.find = find,
                       .verify = job->verify,
                       .lenient = job->lenient,
                       .label = job->label,
                       .touch = REPLAY_TOUCH_PAGE,
                       .keep_going = job->keep_going,
                       .probe = REPLAY_PROBE_NONE,
                       .threads_recorded = job->threads_recorded};
    mapvec_t lat_v = {0};
    lat_clock_t clk;
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
    driver_progress_t prog = {.out = out};
    if (job->progress) {
        o.progress = driver_worker_progress;
        o.progress_ud = &prog;
    }
    driver_progress_phase(&prog, "pre-pass", trace_count_hint(r));
    replay_scan_t scan;
    int rc = replay_scan_ex(r, job->lenient, o.progress, &prog, &scan, err, sizeof err);
    /* no input may exhaust the machine: a trace whose live bytes alone
     * would not fit is refused before any run */
    uint64_t bound = rc == 0 ? driver_live_bound(job, find) : UINT64_MAX;
    if (rc == 0 && scan.peak_live_bytes > bound) {
        snprintf(err, sizeof err,
                 "%s: the trace's peak live bytes (%" PRIu64 ") are more than a replay may "
                 "hold here (%" PRIu64 ": three quarters of the memory available now; "
                 "ARENALAB_REPLAY_MAX_BYTES sets another bound)",
                 job->trace, scan.peak_live_bytes, bound);
        rc = REPLAY_EUSAGE;
    }
    if (rc == 0) {
        fprintf(out, "scan %" PRIu64 " %" PRIu64 "\n", scan.events, scan.skipped);
        fflush(out);
    }
    replay_result_t res;
    if (rc == 0 && job->measure) {
        metrics_series_t ser;
        o.nsamples = job->nsamples ? job->nsamples : 1;
        o.warn = stderr;
        driver_progress_phase(&prog, "measurement run", scan.events);
        rc = replay_run(r, &job->route, &scan, &o, &res, &ser, err, sizeof err);
        if (rc == 0) driver_send_measurement(out, &res, &ser);
        metrics_series_free(&ser);
        o.nsamples = 0;
        o.warn = NULL;
    }
    if (rc == 0 && job->mallocstats) {
        /* a run of its own, stopped at the point: the measurement run
         * stays a clean room (printing the statistics allocates) */
        uint64_t at = 0;
        if (replay_mallocstats_at(job->mallocstats, &scan, r, &at, err, sizeof err) < 0) {
            rc = REPLAY_EUSAGE;
        } else {
            o.mallocstats = stdout;
            o.stop_after = at ? at : UINT64_MAX;
            driver_progress_phase(&prog, "run to the --mallocstats point", at ? at : scan.events);
            rc = replay_run(r, &job->route, &scan, &o, &res, NULL, err, sizeof err);
            o.mallocstats = NULL;
            o.stop_after = 0;
        }
    }
    if (rc == 0 && job->count) {
        if (job->warmup) rc = replay_run(r, &job->route, &scan, &o, &res, NULL, err, sizeof err);
        if (rc == 0) rc = driver_worker_count(out, r, job, &scan, o, err, sizeof err);
    }
    if (rc == 0 && job->latency && !job->count && (job->warmup || job->serve || job->timed) &&
        driver_worker_latency(out, &o, &lat_v, &clk, err, sizeof err))
        rc = REPLAY_EFAIL;
    o.lat_every = job->latency_every;
    driver_progress_phase(&prog, "warm-up run", scan.events);
    if (rc == 0 && job->warmup && !job->count)
        rc = replay_run(r, &job->route, &scan, &o, &res, NULL, err, sizeof err);
    if (rc == 0 && job->serve) {
        /* Kept: wait for a command, run, answer; the parent closing the
         * pipe (or dying) ends it. */
        FILE *cmd = fdopen(DRIVER_CMD_FD, "r");
        char line[64];
        if (!cmd) {
            snprintf(err, sizeof err, "worker: no command pipe on fd %d", DRIVER_CMD_FD);
            rc = REPLAY_EUSAGE;
        } else {
            fputs("ready\n", out);
            fflush(out);
        }
        while (rc == 0 && fgets(line, sizeof line, cmd) && strcmp(line, "run\n") == 0) {
            driver_progress_phase(&prog, "timed run", scan.events);
            rc = driver_worker_timed(out, r, job, &scan, &o, err, sizeof err);
            fflush(out);
        }
        if (cmd) fclose(cmd);
    }
    for (unsigned i = 0; rc == 0 && i < job->timed; i++) {
        driver_progress_phase(&prog, "timed run", scan.events);
        rc = driver_worker_timed(out, r, job, &scan, &o, err, sizeof err);
    }
    trace_close(r);
    mapvec_free(&lat_v);
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

/* ---- the parent: one worker ---------------------------------------------- */

int driver_fresh(unsigned flags)
{
    return (flags & (ALLOC_PROCESS_GLOBAL | ALLOC_PRELOAD | ALLOC_PROCESS_HEAP)) != 0;
}

/* What a count job's environment adds (driver_env).  LD_BIND_NOW always:
 * no lazy symbol resolution inside a counted call.  The others only when
 * the user has not set them: under callgrind a replay takes a few hundred
 * times as long, so a library's wall-clock timers would fire where they
 * never do natively, and by how much would depend on the machine's load
 * -- jemalloc's decay purging and mimalloc's delayed decommits are turned
 * off (natively a replay ends long before either would act). */
static const char *const driver_count_env[] = {
    "LD_BIND_NOW=1",
    "MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1",
    "MIMALLOC_ALLOW_DECOMMIT=0",
};
#define DRIVER_NCOUNT_ENV (sizeof driver_count_env / sizeof driver_count_env[0])

/* Whether environment entry ENTRY sets the variable of NAME_VALUE. */
static int driver_env_is(const char *entry, const char *name_value)
{
    size_t n = strcspn(name_value, "=") + 1;
    return strncmp(entry, name_value, n) == 0;
}

/* The environment of a worker: ours, with LD_PRELOAD set to exactly
 * PRELOAD (none when it is empty): a library the user preloads must not be
 * measured under another allocator's name.  A count job's gets
 * driver_count_env too.  Returns NULL when out of memory. */
static char **driver_env(const char *preload, int count, char **slot)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = malloc((n + 2 + DRIVER_NCOUNT_ENV) * sizeof *env);
    if (!env) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!driver_env_is(environ[i], "LD_PRELOAD=") &&
            (!count || !driver_env_is(environ[i], driver_count_env[0])))
            env[k++] = environ[i];
    for (size_t c = 0; count && c < DRIVER_NCOUNT_ENV; c++) {
        int set = 0;
        for (size_t i = 0; c > 0 && i < n; i++)
            set |= driver_env_is(environ[i], driver_count_env[c]);
        if (!set) env[k++] = (char *)driver_count_env[c];
    }
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

/* One (trace, route) pair as the parent runs it. */
typedef struct {
    const driver_config_t *cfg;
    const char *trace;
    const route_t *route;
    const char *label;
    const char *preload;
    unsigned flags;  /* OR of the route's class flags            */
    unsigned repeat; /* timed runs it asked for                  */
    driver_run_t *run;
    size_t ntimes;               /* timed runs received so far into run->ns_runs */
    uint64_t cpu_ns, cpu_events; /* their CPU time and events, summed */
    int fresh;                   /* driver_fresh(flags)                        */
    int has_clock;               /* run->clock is set                          */
    progress_t bar;              /* cfg->progress: its worker's pass, drawn from its
                                    "progress" lines, erased when a read returns */
    char phase[64];              /* the pass the bar is about                 */
} driver_pair_t;

/* What a worker has said so far. */
typedef struct {
    long sample;
    int extra_map[METRICS_MAX_EXTRA];
    int done, ready, failed;
    int code;         /* the exit status its "error" line gave      */
    char error[2048]; /* that line's message, or ""                 */
    int counted;      /* a count job: "counts" and both "cg" lines  */
    uint64_t count_events, count_probes, count_ns;
    cg_counts_t cg_run, cg_probe;
} driver_said_t;

/* A running worker: its pid, the read end of its results, the write end
 * of its commands (-1 when it takes none), unread bytes. */
typedef struct {
    pid_t pid;
    int rfd, wfd;
    char *buf;
    size_t start, end, cap; /* buf[start..end) is unread                */
    int eof;
    driver_said_t said;
} driver_worker_t;

/* Starts a worker for PAIR doing JOB's work (trace, route and settings
 * filled in here).  Returns 0, or -1 when it could not be started
 * (reported). */
static int driver_spawn(const driver_pair_t *pair, driver_job_t job, driver_worker_t *w)
{
    const driver_config_t *cfg = pair->cfg;
    const char *self = cfg->self ? cfg->self : "/proc/self/exe";
    /* valgrind runs the program at a path of its own: not /proc/self/exe */
    char real[PATH_MAX], valgrind[PATH_MAX] = "";
    if (job.count) {
        char err[512];
        ssize_t len = readlink(self, real, sizeof real - 1);
        if (len > 0 && strcmp(self, "/proc/self/exe") == 0) {
            real[len] = '\0';
            self = real;
        }
        if (cg_check(valgrind, sizeof valgrind, err, sizeof err)) {
            cli_error("replay of %s with %s: %s", pair->trace, pair->label, err);
            return -1;
        }
    }
    job.trace = pair->trace;
    job.route = *pair->route;
    job.label = pair->label;
    job.nsamples = cfg->nsamples;
    job.verify = cfg->verify;
    job.lenient = cfg->lenient;
    job.arena_mode = cfg->arena_mode;
    job.touch = cfg->touch;
    job.keep_going = cfg->keep_going;
    job.threads_recorded = cfg->threads_recorded;
    job.latency = !job.count && (cfg->measure & DRIVER_MEASURE_LATENCY);
    job.latency_every =
        job.latency ? cfg->latency_every ? cfg->latency_every : LAT_EVERY_DEFAULT : 0;
    job.progress = (cfg->progress || cfg->on_progress) && !job.count;
    driver_argv_t args;
    driver_job_argv(&job, self, valgrind, &args);

    memset(w, 0, sizeof *w);
    w->rfd = w->wfd = -1;
    w->said.sample = -1;
    for (int j = 0; j < METRICS_MAX_EXTRA; j++)
        w->said.extra_map[j] = -1;
    char *slot;
    /* a test's counting library (sim/replay/cleanroom_shim.c) goes where
     * no class preloads anything; raw then measures it (alloc/origin.c) */
    const char *test_preload = getenv("ARENALAB_TEST_PRELOAD");
    char **env = driver_env(*pair->preload || !test_preload ? pair->preload : test_preload,
                            job.count != NULL, &slot);
    int res[2] = {-1, -1}, cmd[2] = {-1, -1};
    if (!env || pipe2(res, O_CLOEXEC) != 0 || (job.serve && pipe2(cmd, O_CLOEXEC) != 0)) {
        cli_error("replay of %s with %s: cannot start a worker: %s", pair->trace, pair->label,
                  env ? strerror(errno) : "out of memory");
        for (int k = 0; k < 2; k++) {
            if (res[k] >= 0) close(res[k]);
            if (cmd[k] >= 0) close(cmd[k]);
        }
        if (env) free(slot);
        free(env);
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        /* Only async-signal-safe calls between fork and exec.  The ends the
         * worker keeps go above every small fd first, so placing them on
         * 3 and 4 never overwrites the other (dup2 clears close-on-exec). */
        int r = fcntl(res[1], F_DUPFD_CLOEXEC, 10);
        int c = job.serve ? fcntl(cmd[0], F_DUPFD_CLOEXEC, 10) : -1;
        if (r < 0 || dup2(r, DRIVER_FD) != DRIVER_FD ||
            (job.serve && (c < 0 || dup2(c, DRIVER_CMD_FD) != DRIVER_CMD_FD)))
            _exit(127);
        /* a count job's addresses the same from run to run: the cache
         * simulation sees the same sets (callgrind.h) */
        if (job.count) personality((unsigned long)personality(0xffffffff) | ADDR_NO_RANDOMIZE);
        execve(args.argv[0], (char *const *)args.argv, env);
        _exit(127);
    }
    int saved = errno;
    close(res[1]);
    if (job.serve) close(cmd[0]);
    free(slot);
    free(env);
    if (pid < 0) {
        close(res[0]);
        if (job.serve) close(cmd[1]);
        cli_error("replay of %s with %s: cannot fork a worker: %s", pair->trace, pair->label,
                  strerror(saved));
        return -1;
    }
    w->pid = pid;
    w->rfd = res[0];
    w->wfd = job.serve ? cmd[1] : -1;
    return 0;
}

/* The next line the worker sent (NUL-terminated, no newline; valid until
 * the next call), or NULL at the end of its pipe.  A read error ends the
 * pipe too: the worker's exit then says what happened. */
static char *driver_line(driver_worker_t *w)
{
    for (;;) {
        char *nl = w->end > w->start ? memchr(w->buf + w->start, '\n', w->end - w->start) : NULL;
        if (nl || (w->eof && w->end > w->start)) {
            char *line = w->buf + w->start;
            if (nl) {
                *nl = '\0';
                w->start = (size_t)(nl - w->buf) + 1;
            } else {
                w->buf[w->end] = '\0';
                w->start = w->end;
            }
            return line;
        }
        if (w->eof) return NULL;
        if (w->start > 0) {
            memmove(w->buf, w->buf + w->start, w->end - w->start);
            w->end -= w->start;
            w->start = 0;
        }
        if (w->cap - w->end < 4096) {
            size_t cap = w->cap ? w->cap * 2 : 65536;
            char *p = realloc(w->buf, cap);
            if (!p) {
                w->eof = 1;
                continue;
            }
            w->buf = p;
            w->cap = cap;
        }
        ssize_t got = read(w->rfd, w->buf + w->end, w->cap - w->end - 1);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0)
            w->eof = 1;
        else
            w->end += (size_t)got;
    }
}

/* Takes one line of the worker of PAIR: samples and figures into its run,
 * timings into its ns_runs, sync lines into W->said. */
static void driver_take(driver_pair_t *pair, driver_worker_t *w, char *line)
{
    driver_run_t *run = pair->run;
    driver_said_t *said = &w->said;
    char *rest = strchr(line, ' ');
    if (rest)
        *rest++ = '\0';
    else
        rest = line + strlen(line);
    if (!strcmp(line, "done")) {
        said->done = 1;
    } else if (!strcmp(line, "ready")) {
        said->ready = 1;
    } else if (!strcmp(line, "error")) {
        said->failed = 1;
        said->code = (int)strtol(rest, &rest, 10);
        snprintf(said->error, sizeof said->error, "%s", rest + (*rest == ' '));
    } else if (!strcmp(line, "timed")) {
        uint64_t ns = strtoull(rest, &rest, 10);
        uint64_t events = strtoull(rest, &rest, 10);
        uint64_t cpu = strtoull(rest, NULL, 10);
        if (pair->ntimes < pair->repeat) {
            run->ns_runs[pair->ntimes++] = events ? (double)ns / (double)events : NAN;
            pair->cpu_ns += cpu;
            pair->cpu_events += events;
        }
    } else if (!strcmp(line, "sample")) {
        metrics_sample_t s;
        for (int f = 0; f < METRICS_NFIELDS; f++)
            *(uint64_t *)((char *)&s + metrics_sample_offset[f]) = strtoull(rest, &rest, 10);
        said->sample = metrics_series_add(&run->series, &s);
    } else if (!strcmp(line, "extra")) {
        int j = (int)strtol(rest, &rest, 10);
        if (j >= 0 && j < METRICS_MAX_EXTRA)
            said->extra_map[j] = metrics_series_extra(&run->series, rest + (*rest == ' '));
    } else if (!strcmp(line, "x")) {
        int j = (int)strtol(rest, &rest, 10);
        uint64_t v = strtoull(rest, NULL, 10);
        if (said->sample >= 0 && j >= 0 && j < METRICS_MAX_EXTRA && said->extra_map[j] >= 0)
            run->series
                .extra[(size_t)said->sample * METRICS_MAX_EXTRA + (size_t)said->extra_map[j]] = v;
    } else if (!strcmp(line, "clock")) {
        char *name = rest;
        rest += strcspn(rest, " ");
        if (*rest) *rest++ = '\0';
        for (int k = 0; k < LAT_NCLOCKS && !pair->has_clock; k++)
            if (!strcmp(name, lat_clock_name[k])) {
                run->clock.kind = (lat_clock_kind_t)k;
                run->clock.ticks_per_ns = strtod(rest, &rest);
                run->clock.overhead = strtoull(rest, &rest, 10);
                run->clock.overhead_ns = (double)run->clock.overhead / run->clock.ticks_per_ns;
                run->clock.resolution_ns = strtod(rest, NULL);
                pair->has_clock = 1;
            }
    } else if (!strcmp(line, "lat")) {
        size_t n = strcspn(rest, " ");
        int op = 0;
        while (op < LAT_NOPS && (strlen(lat_op_name[op]) != n || strncmp(lat_op_name[op], rest, n)))
            op++;
        if (op == LAT_NOPS || !run->lat || !rest[n] ||
            lat_hist_parse(&run->lat->op[op], rest + n + 1)) {
            said->failed = 1;
            said->code = CLI_FAIL;
            snprintf(said->error, sizeof said->error,
                     "replay of %s with %s: a latency histogram the driver cannot read (a bug)",
                     pair->trace, pair->label);
        }
    } else if (!strcmp(line, "counts")) {
        said->count_events = strtoull(rest, &rest, 10);
        said->count_probes = strtoull(rest, &rest, 10);
        said->count_ns = strtoull(rest, NULL, 10);
        said->counted |= 1;
    } else if (!strcmp(line, "cg")) {
        int probe = !strncmp(rest, "probe ", 6);
        cg_counts_t *c = probe ? &said->cg_probe : &said->cg_run;
        rest += strcspn(rest, " ");
        for (int e = 0; e < CG_NEVENTS; e++)
            c->v[e] = strtoull(rest, &rest, 10);
        said->counted |= probe ? 4 : 2;
    } else if (!strcmp(line, "progress")) {
        uint64_t done = strtoull(rest, &rest, 10);
        uint64_t total = strtoull(rest, &rest, 10);
        const char *phase = rest + (*rest == ' ');
        if (strcmp(phase, pair->phase) != 0) {
            char what[512];
            snprintf(pair->phase, sizeof pair->phase, "%s", phase);
            snprintf(what, sizeof what, "replay %s with %s, %s", pair->trace, pair->label, phase);
            progress_start(&pair->bar, pair->cfg->progress ? stderr : NULL, what, total);
        }
        progress_update(&pair->bar, done);
        if (pair->cfg->on_progress)
            pair->cfg->on_progress(pair->cfg->on_progress_ud, phase, done, total);
    } else if (!strcmp(line, "m")) {
        char *value = strchr(rest, ' ');
        if (!value) return;
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

/* Reads W's lines until one that satisfies UNTIL (after it is taken), an
 * "error" line, or the end of the pipe.  Returns 1 when UNTIL was met. */
typedef enum { DRIVER_UNTIL_END, DRIVER_UNTIL_READY, DRIVER_UNTIL_TIMED } driver_until_t;

static int driver_read_lines(driver_pair_t *pair, driver_worker_t *w, driver_until_t until)
{
    size_t before = pair->ntimes;
    char *line;
    while ((line = driver_line(w))) {
        driver_take(pair, w, line);
        if (w->said.failed) return 0;
        if (until == DRIVER_UNTIL_READY && w->said.ready) return 1;
        if (until == DRIVER_UNTIL_TIMED && pair->ntimes > before) return 1;
    }
    return until == DRIVER_UNTIL_END;
}

/* driver_read_lines, and the progress line erased: whatever comes next
 * (a message, the next pass) starts on a clean line. */
static int driver_read(driver_pair_t *pair, driver_worker_t *w, driver_until_t until)
{
    int met = driver_read_lines(pair, w, until);
    progress_clear(&pair->bar);
    pair->phase[0] = '\0';
    return met;
}

/* Closes W's pipes, reads what is left, reaps it and judges how it ended.
 * Returns the pair's exit status (0 when the worker said "done" and exited
 * 0), after reporting a failure; REPORT 0 keeps quiet (cleaning up after
 * another pair's failure). */
static int driver_finish(driver_pair_t *pair, driver_worker_t *w, int report)
{
    if (w->wfd >= 0) close(w->wfd);
    w->wfd = -1;
    if (!w->said.failed) driver_read(pair, w, DRIVER_UNTIL_END);
    close(w->rfd);
    free(w->buf);
    w->buf = NULL;
    int status = 0;
    while (waitpid(w->pid, &status, 0) < 0)
        if (errno != EINTR) {
            if (report)
                cli_error("replay of %s with %s: lost the worker: %s", pair->trace, pair->label,
                          strerror(errno));
            return CLI_FAIL;
        }
    if (!report) return CLI_FAIL;
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *abbrev = sigabbrev_np(sig);
        cli_error("replay of %s with %s: the worker was killed by signal %d (SIG%s: %s)",
                  pair->trace, pair->label, sig, abbrev ? abbrev : "?", strsignal(sig));
        return CLI_FAIL;
    }
    int exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : CLI_FAIL;
    if (w->said.failed) {
        cli_error("%s", w->said.error);
        return w->said.code ? w->said.code : CLI_FAIL;
    }
    if (exit_code == 127 && !w->said.done) {
        cli_error("replay of %s with %s: cannot run the worker (exec of %s failed)", pair->trace,
                  pair->label, pair->cfg->self ? pair->cfg->self : "/proc/self/exe");
        return CLI_FAIL;
    }
    if (exit_code != 0 || !w->said.done) {
        cli_error("replay of %s with %s: the worker exited with status %d without a result",
                  pair->trace, pair->label, exit_code);
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* Sends a command line to a kept worker.  SIGPIPE is blocked in this
 * thread while writing: a worker that died shows as EPIPE (and then in its
 * exit status), not as the death of the whole program.  Returns 0 or -1. */
static int driver_command(driver_worker_t *w, const char *text)
{
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    size_t len = strlen(text);
    ssize_t put;
    while ((put = write(w->wfd, text, len)) < 0 && errno == EINTR)
        ;
    if (put < 0 && errno == EPIPE) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe_set, NULL, &zero); /* consume ours */
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return put == (ssize_t)len ? 0 : -1;
}

/* ---- the parent: one trace ------------------------------------------------ */

/* A worker doing JOB for PAIR from start to end.  Returns an exit status. */
static int driver_once(driver_pair_t *pair, driver_job_t job)
{
    driver_worker_t w;
    if (driver_spawn(pair, job, &w)) return CLI_FAIL;
    return driver_finish(pair, &w, 1);
}

/* The measurement of PAIR: a kept worker (measured, warmed up, waiting in
 * W) or a fresh one that ran to its end.  Returns an exit status. */
static int driver_start(driver_pair_t *pair, driver_worker_t *w)
{
    if (metrics_series_init(&pair->run->series, (size_t)pair->cfg->nsamples + 1, 0) ||
        !(pair->run->ns_runs = calloc(pair->repeat ? pair->repeat : 1, sizeof(double))) ||
        ((pair->cfg->measure & DRIVER_MEASURE_LATENCY) && pair->repeat &&
         !(pair->run->lat = calloc(1, sizeof *pair->run->lat)))) {
        cli_error("out of memory");
        return CLI_FAIL;
    }
    driver_job_t job = {0};
    job.measure = 1;
    if (pair->cfg->mallocstats) {
        /* the statistics at the point asked for, from a worker of its own */
        driver_job_t dump = {0};
        dump.mallocstats = pair->cfg->mallocstats;
        int rc = driver_once(pair, dump);
        if (rc) return rc;
    }
    if (pair->fresh || pair->repeat == 0) return driver_once(pair, job);
    job.warmup = job.serve = 1;
    if (driver_spawn(pair, job, w)) return CLI_FAIL;
    if (driver_read(pair, w, DRIVER_UNTIL_READY)) return CLI_OK;
    int rc = driver_finish(pair, w, 1);
    w->pid = 0;
    return rc ? rc : CLI_FAIL;
}

/* One timed run of PAIR: a command to its kept worker W, or a fresh
 * process.  Returns an exit status. */
static int driver_timed(driver_pair_t *pair, driver_worker_t *w)
{
    if (pair->fresh) {
        driver_job_t job = {0};
        job.timed = 1;
        return driver_once(pair, job);
    }
    if (driver_command(w, "run\n") == 0 && driver_read(pair, w, DRIVER_UNTIL_TIMED)) return CLI_OK;
    int rc = driver_finish(pair, w, 1);
    w->pid = 0;
    return rc ? rc : CLI_FAIL;
}

/* Removes DIR and the files in it (callgrind's output). */
static void driver_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[PATH_MAX + 256];
    while (d && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            unlink(path);
        }
    if (d) closedir(d);
    rmdir(dir);
}

/* The run of PAIR under callgrind (driver.h): its counts, less the probe
 * pairs' cost, and per event into the pair's run.  Returns an exit
 * status. */
static int driver_count(driver_pair_t *pair)
{
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX], out[PATH_MAX + 8];
    snprintf(dir, sizeof dir, "%s/arenalab-cg-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        cli_error("replay of %s with %s: cannot make a directory for callgrind: %s: %s",
                  pair->trace, pair->label, dir, strerror(errno));
        return CLI_FAIL;
    }
    snprintf(out, sizeof out, "%s/cg", dir);
    driver_job_t job = {0};
    job.count = out;
    job.warmup = !pair->fresh;
    driver_worker_t w;
    int rc = driver_spawn(pair, job, &w) ? CLI_USAGE : CLI_OK;
    driver_said_t said;
    if (rc == CLI_OK) {
        rc = driver_finish(pair, &w, 1);
        said = w.said;
    }
    if (rc != CLI_OK) {
        /* what valgrind itself said, when the worker never got going */
        snprintf(out, sizeof out, "%s/cg.log", dir);
        FILE *log = fopen(out, "r");
        char line[512];
        while (log && fgets(line, sizeof line, log)) {
            line[strcspn(line, "\n")] = '\0';
            if (*line && !strstr(line, "warning:")) cli_error("valgrind: %s", line);
        }
        if (log) fclose(log);
    }
    driver_rmdir(dir);
    if (rc != CLI_OK) return rc;
    if (said.counted != 7 || said.count_events == 0) {
        cli_error("replay of %s with %s: the run under callgrind sent no counts", pair->trace,
                  pair->label);
        return CLI_FAIL;
    }
    driver_run_t *run = pair->run;
    double n = (double)said.count_events;
    run->has_counts = 1;
    cg_subtract(&said.cg_run, said.count_probes, &said.cg_probe, &run->counts);
    run->count_events = said.count_events;
    run->count_probes = said.count_probes;
    run->probe_instructions = (double)said.cg_probe.v[CG_IR] / CG_PROBE_PAIRS;
    run->count_ns_per_event = (double)said.count_ns / n;
    run->instructions_per_event = (double)run->counts.v[CG_IR] / n;
    run->d1_misses_per_event = (double)(run->counts.v[CG_D1MR] + run->counts.v[CG_D1MW]) / n;
    run->ll_misses_per_event = (double)(run->counts.v[CG_DLMR] + run->counts.v[CG_DLMW]) / n;
    return CLI_OK;
}

/* Copies SRC's figures into DST (a duplicate configuration): series and
 * timings deep, so each row owns what it frees.  Returns 0 or -1. */
static int driver_copy(driver_run_t *dst, const driver_run_t *src)
{
    dst->m = src->m;
    dst->repeat = src->repeat;
    dst->ns_per_event = src->ns_per_event;
    dst->ns_per_event_per_thread = src->ns_per_event_per_thread;
    dst->events_per_s = src->events_per_s;
    dst->cpu_ns_per_event = src->cpu_ns_per_event;
    dst->timing_too_short = src->timing_too_short;
    snprintf(dst->config, sizeof dst->config, "%s", src->config);
    snprintf(dst->same_as, sizeof dst->same_as, "%s", src->allocator);
    const metrics_series_t *a = &src->series;
    metrics_series_t *b = &dst->series;
    if (metrics_series_init(b, a->cap, 0)) return -1;
    memcpy(b->s, a->s, a->n * sizeof *a->s);
    memcpy(b->extra, a->extra, a->n * METRICS_MAX_EXTRA * sizeof *a->extra);
    b->n = a->n;
    b->nextra = a->nextra;
    memcpy(b->extra_name, a->extra_name, sizeof a->extra_name);
    dst->ns_runs = malloc((src->repeat ? src->repeat : 1) * sizeof(double));
    if (!dst->ns_runs) return -1;
    memcpy(dst->ns_runs, src->ns_runs, src->repeat * sizeof(double));
    if (src->lat) {
        if (!(dst->lat = malloc(sizeof *dst->lat))) return -1;
        memcpy(dst->lat, src->lat, sizeof *dst->lat);
    }
    dst->clock = src->clock;
    memcpy(dst->latency, src->latency, sizeof dst->latency);
    dst->has_counts = src->has_counts;
    dst->counts = src->counts;
    dst->count_events = src->count_events;
    dst->count_probes = src->count_probes;
    dst->probe_instructions = src->probe_instructions;
    dst->count_ns_per_event = src->count_ns_per_event;
    dst->instructions_per_event = src->instructions_per_event;
    dst->d1_misses_per_event = src->d1_misses_per_event;
    dst->ll_misses_per_event = src->ll_misses_per_event;
    return 0;
}

/* Per route of a driver_run: its flags, preload, configuration and the
 * route that runs for it. */
typedef struct {
    unsigned flags;
    char preload[512];
    char config[ROUTE_CONFIG_MAX];
    size_t same; /* first route with this configuration */
    unsigned repeat;
} driver_route_t;

/* Trace T (its NR routes' rows in RUNS): measurements, then the
 * interleaved rounds, then the duplicates' copies. */
static int driver_trace(const driver_config_t *cfg, size_t t, const driver_route_t *rt,
                        driver_run_t *runs)
{
    size_t nr = cfg->nroutes;
    driver_pair_t *pairs = calloc(nr, sizeof *pairs);
    driver_worker_t *workers = calloc(nr, sizeof *workers);
    size_t *order = calloc(nr, sizeof *order);
    if (!pairs || !workers || !order) {
        free(pairs);
        free(workers);
        free(order);
        cli_error("out of memory");
        return CLI_FAIL;
    }
    int rc = CLI_OK;
    unsigned rounds = 0;
    for (size_t a = 0; a < nr; a++) {
        driver_run_t *run = &runs[a];
        run->instructions_per_event = run->d1_misses_per_event = run->ll_misses_per_event = NAN;
        run->probe_instructions = run->count_ns_per_event = NAN;
        run->trace = cfg->traces[t];
        run->route = &cfg->routes[a];
        route_name(run->route, run->allocator, sizeof run->allocator);
        snprintf(run->config, sizeof run->config, "%s", rt[a].config);
        pairs[a] = (driver_pair_t){.cfg = cfg,
                                   .trace = run->trace,
                                   .route = run->route,
                                   .label = run->allocator,
                                   .preload = rt[a].preload,
                                   .flags = rt[a].flags,
                                   .repeat = rt[a].repeat,
                                   .run = run,
                                   .fresh = driver_fresh(rt[a].flags)};
        if (rt[a].same == a && rt[a].repeat > rounds) rounds = rt[a].repeat;
    }
    for (size_t a = 0; rc == CLI_OK && a < nr; a++) {
        if (rt[a].same != a) continue;
        if (cfg->progress)
            fprintf(stderr, "arenalab: replay [%zu/%zu] %s with %s\n", t * nr + a + 1,
                    cfg->ntraces * nr, runs[a].trace, runs[a].allocator);
        rc = driver_start(&pairs[a], &workers[a]);
    }
    if (cfg->progress && rounds && rc == CLI_OK)
        fprintf(stderr, "arenalab: replay %s: %u rounds of timed runs, interleaved\n",
                cfg->traces[t], rounds);
    /* Round r: every configuration that asked for more than r runs, once,
     * in a fresh order. */
    uint64_t state = cfg->seed + t;
    for (unsigned r = 0; rc == CLI_OK && r < rounds; r++) {
        size_t n = 0;
        for (size_t a = 0; a < nr; a++)
            if (rt[a].same == a && rt[a].repeat > r) order[n++] = a;
        timing_shuffle(order, n, &state);
        for (size_t k = 0; rc == CLI_OK && k < n; k++)
            rc = driver_timed(&pairs[order[k]], &workers[order[k]]);
    }
    /* Kept workers: the pipe closes, they say "done". */
    for (size_t a = 0; a < nr; a++)
        if (workers[a].pid > 0) {
            int wrc = driver_finish(&pairs[a], &workers[a], rc == CLI_OK);
            if (rc == CLI_OK) rc = wrc;
        }
    /* Then each configuration once under callgrind. */
    for (size_t a = 0; rc == CLI_OK && (cfg->measure & DRIVER_MEASURE_INSTRUCTIONS) && a < nr;
         a++) {
        if (rt[a].same != a) continue;
        if (cfg->progress)
            fprintf(stderr,
                    "arenalab: replay [%zu/%zu] %s with %s: instructions, under callgrind\n",
                    t * nr + a + 1, cfg->ntraces * nr, runs[a].trace, runs[a].allocator);
        rc = driver_count(&pairs[a]);
    }
    for (size_t a = 0; a < nr; a++) {
        driver_run_t *run = &runs[a];
        if (rc != CLI_OK || rt[a].same != a) continue;
        run->repeat = (unsigned)pairs[a].ntimes;
        run->timing_too_short = run->m.events < TIMING_MIN_EVENTS;
        if (run->lat) lat_table_summarize(run->lat, run->clock.ticks_per_ns, run->latency);
        if (timing_summarize(run->ns_runs, run->repeat, &run->ns_per_event)) {
            cli_error("out of memory");
            rc = CLI_FAIL;
        }
        run->cpu_ns_per_event =
            pairs[a].cpu_events ? (double)pairs[a].cpu_ns / (double)pairs[a].cpu_events : NAN;
        double med = run->repeat ? run->ns_per_event.median : NAN;
        run->ns_per_event_per_thread = med * (double)(run->m.threads ? run->m.threads : 1);
        run->events_per_s = med > 0 ? 1e9 / med : NAN;
    }
    for (size_t a = 0; rc == CLI_OK && a < nr; a++)
        if (rt[a].same != a && driver_copy(&runs[a], &runs[rt[a].same])) {
            cli_error("out of memory");
            rc = CLI_FAIL;
        }
    free(pairs);
    free(workers);
    free(order);
    return rc;
}

int driver_run(const driver_config_t *cfg, driver_run_t **runs, size_t *nruns)
{
    *runs = NULL;
    *nruns = 0;
    driver_route_t *rt = calloc(cfg->nroutes + 1, sizeof *rt);
    if (!rt) {
        cli_error("out of memory");
        return CLI_FAIL;
    }
    unsigned measure = cfg->measure ? cfg->measure : DRIVER_MEASURE_TIME;
    if (measure & DRIVER_MEASURE_INSTRUCTIONS) {
        char valgrind[PATH_MAX], err[512];
        if (cg_check(valgrind, sizeof valgrind, err, sizeof err)) {
            cli_error("replay --measure instructions: %s", err);
            free(rt);
            return CLI_USAGE;
        }
    }
    int timed = (measure & (DRIVER_MEASURE_TIME | DRIVER_MEASURE_LATENCY)) != 0;
    /* Every allocator name is checked before the first worker starts. */
    for (size_t i = 0; i < cfg->nroutes; i++) {
        char err[1024];
        if (route_check(&cfg->routes[i], cfg->find, &rt[i].flags, err, sizeof err) ||
            route_preload(&cfg->routes[i], cfg->find, rt[i].preload, sizeof rt[i].preload) ||
            route_canonical(&cfg->routes[i], cfg->find, rt[i].config, sizeof rt[i].config, err,
                            sizeof err)) {
            cli_error("replay: %s", err);
            free(rt);
            return CLI_USAGE;
        }
        rt[i].repeat = !timed ? 0 : cfg->repeats ? cfg->repeats[i] : cfg->repeat;
        rt[i].same = i;
        for (size_t j = 0; j < i && rt[i].same == i; j++)
            if (rt[j].same == j && strcmp(rt[j].config, rt[i].config) == 0) rt[i].same = j;
        if (rt[i].same != i && rt[i].repeat > rt[rt[i].same].repeat)
            rt[rt[i].same].repeat = rt[i].repeat;
    }
    size_t n = cfg->ntraces * cfg->nroutes;
    driver_run_t *out = calloc(n ? n : 1, sizeof *out);
    if (!out) {
        free(rt);
        cli_error("out of memory");
        return CLI_FAIL;
    }
    int rc = CLI_OK;
    size_t done = 0;
    for (size_t t = 0; rc == CLI_OK && t < cfg->ntraces; t++) {
        rc = driver_trace(cfg, t, rt, &out[done]);
        done += cfg->nroutes;
    }
    free(rt);
    if (rc != CLI_OK) {
        driver_runs_free(out, done);
        return rc;
    }
    *runs = out;
    *nruns = n;
    return CLI_OK;
}

void driver_run_release(driver_run_t *run)
{
    metrics_series_free(&run->series);
    free(run->ns_runs);
    run->ns_runs = NULL;
    free(run->lat);
    run->lat = NULL;
}

void driver_runs_free(driver_run_t *runs, size_t n)
{
    for (size_t i = 0; runs && i < n; i++)
        driver_run_release(&runs[i]);
    free(runs);
}
