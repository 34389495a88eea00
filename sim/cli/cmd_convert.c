/* cmd_convert.c: `arenalab convert IN OUT`: text <-> binary (v3, or v1
 * with --to atr1), streaming.
 *
 * The output is canonical (see trace.h) and carries IN's metadata, not a
 * new timestamp, so binary -> text -> binary gives the same bytes.  A file
 * OUT is written to a temporary file renamed at the end: a failed
 * conversion leaves no OUT (a device or FIFO is written in place:
 * sim/base/outfile.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sim/base/outfile.h"
#include "sim/cli/commands.h"
#include "sim/trace/trace.h"

enum { CONVERT_OPT_TO = 256, CONVERT_OPT_LENIENT };

static const cli_opt_t convert_opts[] = {
    {"to", 0, "FORMAT", CONVERT_OPT_TO,
     "text, bin (binary, version 3) or atr1 (binary version 1, for older readers); "
     "must agree with OUT's name (default: from it: .atr binary, .txt or .trace text, '-' text)"},
    {"lenient", 0, NULL, CONVERT_OPT_LENIENT,
     "skip bad lines/events (and say how many) instead of stopping at the first"},
    {0},
};

typedef struct {
    int fmt; /* trace_format_t, or -1: from OUT's name */
    int lenient;
} convert_args_t;

static int convert_on_opt(void *ud, int key, const char *arg)
{
    convert_args_t *a = ud;
    if (key == CONVERT_OPT_LENIENT) {
        a->lenient = 1;
        return 0;
    }
    if (!strcmp(arg, "text"))
        a->fmt = TRACE_FMT_TEXT;
    else if (!strcmp(arg, "bin") || !strcmp(arg, "binary"))
        a->fmt = TRACE_FMT_BIN;
    else if (!strcmp(arg, "atr1"))
        a->fmt = TRACE_FMT_BIN1;
    else {
        cli_error("convert: --to wants text, bin or atr1, not '%s'", arg);
        return -1;
    }
    return 0;
}

static int convert_run(int argc, char **argv)
{
    convert_args_t a = {-1, 0};
    int first = cli_parse(&cmd_convert, argc, argv, convert_on_opt, &a);
    if (first < 0) return cli_parse_exit(first);
    if (argc - first != 2) {
        cli_error("convert: give IN and OUT (see 'arenalab convert --help')");
        return CLI_USAGE;
    }
    const char *in = argv[first], *out = argv[first + 1];
    trace_format_t fmt;
    char nerr[512];
    if (trace_output_format(out, a.fmt, &fmt, nerr, sizeof nerr) < 0) {
        cli_error("convert: %s", nerr);
        return CLI_USAGE;
    }
    trace_reader_t *r;
    trace_writer_t *w;
    char err[512];
    if (trace_open(&r, in, err, sizeof err) < 0) {
        cli_error("%s", err);
        return CLI_USAGE;
    }
    if (trace_writer_open(&w, out, fmt, trace_meta(r), 0, err, sizeof err) < 0) {
        cli_error("convert: %s", err);
        trace_close(r);
        return CLI_USAGE;
    }
    uint64_t skipped = 0;
    const char *msg = NULL;
    int rc = trace_copy(r, w, a.lenient, &skipped, &msg);
    if (rc < 0) {
        cli_error("%s", msg ? msg : "convert failed");
        cli_error(outfile_in_place(out)
                      ? "convert: stopped; %s may hold part of the output (written in place)"
                      : "convert: stopped; %s not written",
                  out);
        trace_writer_abort(w);
        trace_close(r);
        return rc == TRACE_ESEM ? CLI_FAIL : CLI_USAGE;
    }
    uint64_t n = trace_writer_count(w);
    if (trace_writer_close_err(w, err, sizeof err) < 0) {
        cli_error("convert: %s", err);
        trace_close(r);
        return CLI_USAGE;
    }
    if (trace_truncated(r))
        cli_error("%s: warning: cut short after %" PRIu64
                  " events (no end record); converted what is there",
                  trace_path(r), n);
    if (skipped)
        cli_error("convert: skipped %" PRIu64 " bad lines/events ('arenalab check %s' lists them)",
                  skipped, in);
    if (strcmp(out, "-") != 0)
        printf("%s: %" PRIu64 " events, %s\n", out, n, fmt != TRACE_FMT_TEXT ? "binary" : "text");
    trace_close(r);
    return CLI_OK;
}

const cli_command_t cmd_convert = {
    .name = "convert",
    .args = "IN OUT",
    .summary = "convert a trace between the text and binary formats",
    .description = "Streams IN (text, .rep or binary) to OUT in canonical form, keeping IN's\n"
                   "metadata, markers and thread switches.  OUT's format comes from its name:\n"
                   ".atr binary, .txt or .trace text, .zst after either compressed; '-' is\n"
                   "text on standard output; any other name is an error.  Binary is version\n"
                   "3 (column-wise, LZ4 streams; version 2, raw streams, for a .zst OUT);\n"
                   "--to atr1 writes version 1, for readers older than version 2.  A file\n"
                   "OUT is written to a temporary file and renamed at the end, so it never\n"
                   "exists half-written (through a symbolic link, the link's target is\n"
                   "replaced); a device, FIFO or '-' is written in place.\n\n"
                   "A bad line stops the conversion and leaves no OUT: exit 1 for a semantic\n"
                   "error, 2 for a syntax error or an unreadable IN.  --lenient skips bad\n"
                   "lines instead and says how many.",
    .opts = convert_opts,
    .run = convert_run,
};
