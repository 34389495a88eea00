/* cmd_stats.c: `arenalab stats TRACE [--json FILE]`: what a trace does, as
 * a table or as JSON (the figures come from sim/trace/tstats.c). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sim/cli/commands.h"
#include "sim/base/json.h"
#include "sim/base/outfile.h"
#include "sim/base/progress.h"
#include "sim/trace/trace.h"
#include "sim/trace/tsplit.h"
#include "sim/trace/tstats.h"

enum { STATS_OPT_JSON = 256, STATS_OPT_LENIENT, STATS_OPT_QUIET = 'q' };

static const cli_opt_t stats_opts[] = {
    {"json", 0, "FILE", STATS_OPT_JSON,
     "write the figures as JSON to FILE ('-': standard output, "
     "instead of the table)"},
    {"lenient", 0, NULL, STATS_OPT_LENIENT,
     "skip bad lines/events (and count them) instead of "
     "stopping at the first"},
    {"quiet", 'q', NULL, STATS_OPT_QUIET, "no progress line on a terminal"},
    {0},
};

typedef struct {
    const char *json;
    int lenient;
    int quiet;
} stats_args_t;

static int stats_on_opt(void *ud, int key, const char *arg)
{
    stats_args_t *a = ud;
    if (key == STATS_OPT_JSON) a->json = arg;
    if (key == STATS_OPT_LENIENT) a->lenient = 1;
    if (key == STATS_OPT_QUIET) a->quiet = 1;
    return 0;
}

/* Markers shown in the table: the first ones (all are in the JSON). */
#define STATS_MARKERS_SHOWN 20

/* Threads shown one per line in the table (all are in the JSON). */
#define STATS_THREADS_SHOWN 32

/* Threads: how many, events of each, blocks that move between them. */
static void stats_print_threads(const tsplit_t *ts, FILE *out)
{
    fprintf(out,
            "\nthreads %u (cross-thread: %" PRIu64 " frees, %" PRIu64 " reallocs; %" PRIu64
            " sync points)\n",
            ts->nthreads, ts->remote_frees, ts->remote_reallocs, ts->waits);
    if (ts->nthreads < 2) return;
    fprintf(out, "  %-12s %14s %14s %14s %14s\n", "thread", "events", "remote frees",
            "remote reallocs", "sync points");
    for (uint32_t i = 0; i < ts->nthreads && i < STATS_THREADS_SHOWN; i++) {
        const tsplit_thread_t *th = tsplit_thread(ts, i);
        fprintf(out, "  %-12u %14" PRIu64 " %14" PRIu64 " %14" PRIu64 " %14" PRIu64 "\n", th->id,
                th->events, th->remote_frees, th->remote_reallocs, th->waits);
    }
    if (ts->nthreads > STATS_THREADS_SHOWN)
        fprintf(out, "  ... %u more (stats --json lists them all)\n",
                ts->nthreads - STATS_THREADS_SHOWN);
}

static void stats_json_threads(const tsplit_t *ts, json_t *j)
{
    json_key(j, "threads");
    json_object_begin(j);
    json_kv_uint(j, "count", ts->nthreads);
    json_kv_uint(j, "remote_frees", ts->remote_frees);
    json_kv_uint(j, "remote_reallocs", ts->remote_reallocs);
    json_kv_uint(j, "sync_points", ts->waits);
    json_key(j, "per_thread");
    json_array_begin(j);
    for (uint32_t i = 0; i < ts->nthreads; i++) {
        const tsplit_thread_t *th = tsplit_thread(ts, i);
        json_object_begin(j);
        json_kv_uint(j, "id", th->id);
        json_kv_uint(j, "events", th->events);
        json_kv_uint(j, "remote_frees", th->remote_frees);
        json_kv_uint(j, "remote_reallocs", th->remote_reallocs);
        json_kv_uint(j, "sync_points", th->waits);
        json_object_end(j);
    }
    json_array_end(j);
    json_object_end(j);
}

/* The trace's metadata (as written) and its inline markers, after the
 * statistics. */
static void stats_print_notes(const trace_reader_t *r, FILE *out)
{
    const trace_meta_t *meta = trace_meta(r);
    if (meta->n) fputs("\nmetadata\n", out);
    for (size_t i = 0; i < meta->n; i++)
        fprintf(out, "  %-28s %s\n", meta->entries[i].key, meta->entries[i].value);
    const trace_marker_t *m;
    size_t n = trace_markers(r, &m);
    if (!n) return;
    fprintf(out, "\nmarkers (%zu; replay --mallocstats=marker:VALUE shows the heap there)\n", n);
    for (size_t i = 0; i < n && i < STATS_MARKERS_SHOWN; i++)
        fprintf(out, "  at event %-12" PRIu64 " %s %s\n", m[i].at, m[i].key, m[i].value);
    if (n > STATS_MARKERS_SHOWN)
        fprintf(out, "  ... %zu more (stats --json lists them all)\n", n - STATS_MARKERS_SHOWN);
}

static void stats_json_notes(const trace_reader_t *r, json_t *j)
{
    const trace_meta_t *meta = trace_meta(r);
    json_key(j, "metadata");
    json_object_begin(j);
    for (size_t i = 0; i < meta->n; i++)
        json_kv_string(j, meta->entries[i].key, meta->entries[i].value);
    json_object_end(j);
    const trace_marker_t *m;
    size_t n = trace_markers(r, &m);
    json_key(j, "markers");
    json_array_begin(j);
    for (size_t i = 0; i < n; i++) {
        json_object_begin(j);
        json_kv_uint(j, "at", m[i].at);
        json_kv_string(j, "key", m[i].key);
        json_kv_string(j, "value", m[i].value);
        json_object_end(j);
    }
    json_array_end(j);
}

/* Writes the JSON into O, opened before the trace was read, and commits
 * it. */
static int stats_write_json(outfile_t *o, trace_reader_t *r, const tstats_t *t, const tsplit_t *ts,
                            uint64_t skipped)
{
    json_t j;
    char err[512];
    json_init(&j, o->fp);
    json_object_begin(&j);
    json_kv_string(&j, "trace", trace_path(r));
    json_kv_string(&j, "format", trace_format(r) != TRACE_FMT_TEXT ? "binary" : "text");
    json_key(&j, "cut_short");
    json_bool(&j, trace_truncated(r));
    json_kv_uint(&j, "skipped", skipped);
    tstats_json(t, &j);
    stats_json_threads(ts, &j);
    stats_json_notes(r, &j);
    json_object_end(&j);
    if (outfile_commit(o, err, sizeof err) < 0) {
        cli_error("stats: %s", err);
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int stats_run(int argc, char **argv)
{
    stats_args_t a = {0};
    int first = cli_parse(&cmd_stats, argc, argv, stats_on_opt, &a);
    if (first < 0) return cli_parse_exit(first);
    if (argc - first != 1) {
        cli_error("stats: give exactly one trace (see 'arenalab stats --help')");
        return CLI_USAGE;
    }
    trace_reader_t *r;
    char err[512];
    if (trace_open(&r, argv[first], err, sizeof err) < 0) {
        cli_error("%s", err);
        return CLI_USAGE;
    }
    /* opened first, as replay's outputs are: an --json that cannot be
     * written (a directory) fails before a long trace is read */
    outfile_t json;
    if (a.json && outfile_replaces(a.json, argv[first])) {
        cli_error("stats: --json %s is the trace itself: the JSON would replace it", a.json);
        trace_close(r);
        return CLI_USAGE;
    }
    if (a.json && outfile_open(&json, a.json, "w", err, sizeof err) < 0) {
        cli_error("stats: %s", err);
        trace_close(r);
        return CLI_USAGE;
    }
    tstats_t t;
    tsplit_t ts;
    trace_event_t ev;
    uint64_t skipped = 0;
    int rc, status = CLI_OK;
    tstats_init(&t);
    progress_t prog;
    char what[160];
    snprintf(what, sizeof what, "stats %s", trace_path(r));
    progress_start(&prog, cli_interactive() && !a.quiet ? stderr : NULL, what, trace_count_hint(r));
    tsplit_init(&ts);
    while ((rc = trace_next(r, &ev)) != 0) {
        if (rc == 1) {
            if ((t.events & 0xffff) == 0) progress_update(&prog, t.events);
            const uint32_t *owned = NULL;
            size_t n = trace_owned(r, ev.aslot, &owned);
            int trc = tstats_add(&t, &ev, owned, n);
            uint32_t thread;
            tsplit_dep_t dep;
            if (trc == 0) trc = tsplit_add(&ts, &ev, owned, n, &thread, &dep);
            if (trc == TRACE_ESEM) {
                cli_error("%s: event %llu: live bytes exceed 2^64 (no process can hold that)",
                          trace_path(r), (unsigned long long)t.events);
                status = CLI_FAIL;
                break;
            }
            if (trc < 0) {
                cli_error("stats: out of memory");
                status = CLI_USAGE;
                break;
            }
            continue;
        }
        progress_clear(&prog);
        cli_error("%s", trace_error(r));
        if ((rc == TRACE_ESYNTAX || rc == TRACE_ESEM) && a.lenient) {
            skipped++;
            continue;
        }
        status = rc == TRACE_ESEM ? CLI_FAIL : CLI_USAGE;
        break;
    }
    progress_end(&prog);
    if (status == CLI_OK) {
        if (trace_truncated(r))
            cli_error("%s: warning: cut short after %" PRIu64 " events (no end record)",
                      trace_path(r), t.events);
        if (skipped) cli_error("stats: skipped %" PRIu64 " bad lines/events", skipped);
        if (!a.json || strcmp(a.json, "-") != 0) {
            tstats_print(&t, trace_path(r), trace_format(r), stdout);
            stats_print_threads(&ts, stdout);
            stats_print_notes(r, stdout);
            /* before the JSON: a table that was not written fails the command */
            int code = fflush(stdout) != 0 ? errno : ferror(stdout) ? EIO : 0;
            if (code) {
                cli_error("stats: standard output: cannot write: %s", strerror(code));
                clearerr(stdout); /* said */
                status = CLI_USAGE;
            }
        }
        if (a.json && status == CLI_OK)
            status = stats_write_json(&json, r, &t, &ts, skipped);
        else if (a.json)
            outfile_abort(&json);
    } else if (a.json) {
        outfile_abort(&json);
    }
    tstats_free(&t);
    tsplit_free(&ts);
    trace_close(r);
    return status;
}

const cli_command_t cmd_stats = {
    .name = "stats",
    .args = "TRACE",
    .summary = "what a trace does: events, peaks, size and lifetime histograms",
    .description = "Reads TRACE (text, .rep or binary) and prints: events by kind and by domain;\n"
                   "peak live bytes and peak live blocks with the event (0-based) where each is\n"
                   "first reached, and in a text trace its line (JSON: *_event, and *_where: the\n"
                   "line, or the event again in a binary trace); live = a/c blocks not yet\n"
                   "freed, owned ones included, plus the m allocations of arenas not yet freed;\n"
                   "a calloc counts NMEMB*SIZE; bytes requested; a histogram of request sizes\n"
                   "and one of block lifetimes in events (power-of-two bins; blocks still live\n"
                   "at the end counted apart); reallocs that grow, shrink or keep their size;\n"
                   "the markers with the event each falls on; threads (as recorded by\n"
                   "'#@ thread N' / THREAD records): events per thread, cross-thread frees\n"
                   "and reallocs (of a block another thread allocated), and the sync points a\n"
                   "threaded replay waits at (sim/trace/TRACE-FORMAT.md, 'Threads').\n\n"
                   "A bad line stops the command (exit 1 for a semantic error, 2 for a syntax\n"
                   "error or an unreadable trace) unless --lenient.\n\n"
                   "On a terminal, a progress line (events read of the total, rate) is shown\n"
                   "on stderr while the trace is read, then erased; --quiet leaves it out.\n"
                   "Memory stays bounded whatever the length of the trace.",
    .opts = stats_opts,
    .run = stats_run,
};
