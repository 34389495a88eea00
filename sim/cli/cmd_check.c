/* cmd_check.c: `arenalab check TRACE...`: lists every syntax and semantic
 * error of each trace, then one summary line per trace.
 *
 * Exit status: the worst over the traces: 2 for a trace that cannot be
 * read (missing, corrupt binary) or has syntax errors, 1 for semantic
 * errors only, 0 when clean.  A binary trace cut short (no end record, as
 * a crashed recorder leaves it) is a warning: its events are valid. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "sim/cli/commands.h"
#include "sim/trace/trace.h"
#include "sim/trace/tsplit.h"

enum { CHECK_OPT_QUIET = 'q', CHECK_OPT_MAX = 256 };

static const cli_opt_t check_opts[] = {
    {"quiet", 'q', NULL, CHECK_OPT_QUIET, "print only the summary lines"},
    {"max-errors", 0, "N", CHECK_OPT_MAX, "list at most N errors per trace (all are counted)"},
    {0},
};

typedef struct {
    int quiet;
    uint64_t max_errors; /* 0: no limit */
} check_args_t;

static int check_on_opt(void *ud, int key, const char *arg)
{
    check_args_t *a = ud;
    char *end;
    switch (key) {
    case CHECK_OPT_QUIET:
        a->quiet = 1;
        return 0;
    case CHECK_OPT_MAX:
        errno = 0;
        a->max_errors = strtoull(arg, &end, 10);
        if (*arg < '0' || *arg > '9' || *end || errno) {
            cli_error("check: --max-errors wants a number, not '%s'", arg);
            return -1;
        }
        return 0;
    }
    return -1;
}

/* Checks one trace; returns its exit status. */
static int check_one(const char *path, const check_args_t *a)
{
    trace_reader_t *r;
    trace_event_t ev;
    char err[512];
    uint64_t events = 0, nsyntax = 0, nsem = 0, listed = 0;
    int rc, fatal = 0, nomem = 0;
    tsplit_t ts;
    tsplit_init(&ts);
    if (trace_open(&r, path, err, sizeof err) < 0) {
        cli_error("%s", err);
        /* named as the reader names it in messages */
        printf("%s: unreadable\n", strcmp(path, "-") == 0 ? "<stdin>" : path);
        return CLI_USAGE;
    }
    while ((rc = trace_next(r, &ev)) != 0) {
        if (rc == 1) {
            events++;
            const uint32_t *owned;
            size_t n = trace_owned(r, ev.aslot, &owned);
            uint32_t thread;
            tsplit_dep_t dep;
            if (!nomem && tsplit_add(&ts, &ev, owned, n, &thread, &dep) < 0) nomem = 1;
            continue;
        }
        if (rc == TRACE_ESYNTAX)
            nsyntax++;
        else if (rc == TRACE_ESEM)
            nsem++;
        else
            fatal = 1;
        if (fatal || (!a->quiet && (!a->max_errors || listed < a->max_errors))) {
            cli_error("%s", trace_error(r));
            listed++;
        }
        if (fatal) break;
    }
    char threads[160] = "";
    if (ts.nthreads > 1)
        snprintf(threads, sizeof threads,
                 ", %u threads (%" PRIu64 " cross-thread frees, %" PRIu64 " reallocs)", ts.nthreads,
                 ts.remote_frees, ts.remote_reallocs);
    printf("%s: %s%s, %" PRIu64 " events%s, %" PRIu64 " errors (%" PRIu64 " syntax, %" PRIu64
           " semantic)%s%s\n",
           trace_path(r), trace_format(r) != TRACE_FMT_TEXT ? "binary" : "text",
           trace_is_rep(r) ? " (malloc-lab .rep)" : "", events, threads, nsyntax + nsem, nsyntax,
           nsem, trace_truncated(r) ? ", cut short" : "",
           fatal ? ", unreadable past that point" : "");
    /* what a multithreaded trace's order must be, once */
    if (nsem && ts.nthreads > 1 && !a->quiet)
        cli_error("%s: note: a trace of several threads lists their events in one order they "
                  "could have run in (each thread's in its own order, every block allocated "
                  "before any thread reallocates or frees it): TRACE-FORMAT.md, 'Threads'",
                  trace_path(r));
    if (nomem) cli_error("%s: out of memory for the thread table", trace_path(r));
    if (trace_truncated(r))
        cli_error("%s: warning: cut short after %" PRIu64
                  " events (no end record: the recorder stopped early); the events before the "
                  "cut are valid",
                  trace_path(r), events);
    trace_close(r);
    tsplit_free(&ts);
    return fatal || nsyntax || nomem ? CLI_USAGE : nsem ? CLI_FAIL : CLI_OK;
}

static int check_run(int argc, char **argv)
{
    check_args_t a = {0};
    int first = cli_parse(&cmd_check, argc, argv, check_on_opt, &a);
    if (first < 0) return cli_parse_exit(first);
    if (first >= argc) {
        cli_error("check: no trace given (see 'arenalab check --help')");
        return CLI_USAGE;
    }
    int worst = CLI_OK;
    for (int i = first; i < argc; i++) {
        int rc = check_one(argv[i], &a);
        if (rc > worst) worst = rc;
    }
    return worst;
}

const cli_command_t cmd_check = {
    .name = "check",
    .args = "TRACE...",
    .summary = "list every syntax and semantic error of traces (text or binary)",
    .description = "Reads each TRACE (text, malloc-lab .rep or binary; '-' is standard input, a\n"
                   "text trace: a binary one is mapped, so give its file name) to its end and\n"
                   "prints every error as 'arenalab: FILE:LINE: what is wrong' (binary:\n"
                   "'FILE: event N: ...') on standard error, then a summary line per trace on\n"
                   "standard output: format, events, threads when more than one (with the frees\n"
                   "and reallocs of a block another thread allocated), errors, and 'cut short'\n"
                   "for a binary trace without its end record (a recorder that stopped early: a\n"
                   "warning, not an error).\n\n"
                   "A trace of several threads is one order its threads' events could have run\n"
                   "in: each thread's events in its own order, and every block allocated before\n"
                   "any thread reallocates or frees it.  A free (or realloc) listed before the\n"
                   "block's allocation, whichever thread does it, is an error at its line.\n\n"
                   "Exit status: 0 every trace is clean; 1 semantic errors only (f/r of an id\n"
                   "that is not live, a of a live id, an arena that does not exist, a block\n"
                   "freed in another domain than it was allocated in); 2 a trace could not be\n"
                   "read (missing, corrupt binary), has syntax errors, or a usage error.",
    .opts = check_opts,
    .run = check_run,
};
