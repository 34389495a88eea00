/* cmd_import.c: `arenalab import FORMAT IN OUT` and `arenalab export
 * FORMAT IN OUT`: other tools' traces into ours and back (sim/import).
 *
 * Both stream.  OUT is written to a temporary file renamed at the end (a
 * device, FIFO or '-' in place), so a failed import leaves no OUT.  The
 * summary line (events, what was repaired and dropped) goes to stderr. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/base/outfile.h"
#include "sim/cli/commands.h"
#include "sim/import/import.h"
#include "sim/trace/trace.h"

enum {
    IMPORT_OPT_TO = 256,
    IMPORT_OPT_STRICT,
    IMPORT_OPT_POLICY,
    IMPORT_OPT_NO_FUSE,
    IMPORT_OPT_NO_ALIGN,
    IMPORT_OPT_NO_TIME,
    IMPORT_OPT_HOLD,
};

static const cli_opt_t import_opts[] = {
    {"to", 0, "FORMAT", IMPORT_OPT_TO,
     "text or bin; must agree with OUT's name (default: from it: .atr binary, .txt or .trace "
     "text, '-' text)"},
    {"strict", 0, NULL, IMPORT_OPT_STRICT,
     "any repair or dropped call is an error (FILE:LINE) instead of a count (heaptrack: "
     "with --no-fuse, as a fused realloc is a repair)"},
    {"free-policy", 0, "lifo|fifo", IMPORT_OPT_POLICY,
     "heaptrack interpreted files: which live block of the same size and call stack a free "
     "releases (default lifo)"},
    {"no-fuse", 0, NULL, IMPORT_OPT_NO_FUSE,
     "heaptrack: keep free + malloc pairs as they are (no realloc inferred)"},
    {"no-align", 0, NULL, IMPORT_OPT_NO_ALIGN, "no 'align' markers before aligned allocations"},
    {"no-time", 0, NULL, IMPORT_OPT_NO_TIME, "no 'time_ms' markers from time stamps"},
    {"hold", 0, "N", IMPORT_OPT_HOLD,
     "input records an allocation at a live address waits for that address's late free "
     "(default 65536)"},
    {0},
};

typedef struct {
    int fmt; /* trace_format_t, or -1: from OUT's name */
    imp_opts_t o;
} import_args_t;

static const char *import_describe(void);
static const char *export_describe(void);

static int import_on_opt(void *ud, int key, const char *arg)
{
    import_args_t *a = ud;
    switch (key) {
    case IMPORT_OPT_TO:
        if (!strcmp(arg, "text"))
            a->fmt = TRACE_FMT_TEXT;
        else if (!strcmp(arg, "bin") || !strcmp(arg, "binary"))
            a->fmt = TRACE_FMT_BIN;
        else {
            cli_error("import: --to wants text or bin, not '%s'", arg);
            return -1;
        }
        return 0;
    case IMPORT_OPT_STRICT:
        a->o.strict = 1;
        return 0;
    case IMPORT_OPT_POLICY:
        if (!strcmp(arg, "lifo"))
            a->o.free_policy = IMP_FREE_LIFO;
        else if (!strcmp(arg, "fifo"))
            a->o.free_policy = IMP_FREE_FIFO;
        else {
            cli_error("import: --free-policy wants lifo or fifo, not '%s'", arg);
            return -1;
        }
        return 0;
    case IMPORT_OPT_NO_FUSE:
        a->o.no_fuse = 1;
        return 0;
    case IMPORT_OPT_NO_ALIGN:
        a->o.no_align = 1;
        return 0;
    case IMPORT_OPT_NO_TIME:
        a->o.no_time = 1;
        return 0;
    case IMPORT_OPT_HOLD: {
        char *end;
        errno = 0;
        /* digits only: strtoull would take " 5", "+5" and "-5" (negated) */
        unsigned long long v = strtoull(arg, &end, 10);
        if (*arg < '0' || *arg > '9' || *end || errno || v == 0 || v > (1ull << 40)) {
            cli_error("import: --hold wants a number of records (1 .. 2^40), not '%s'", arg);
            return -1;
        }
        a->o.hold_window = v;
        return 0;
    }
    }
    return -1;
}

static int import_run(int argc, char **argv)
{
    import_args_t a = {.fmt = -1};
    cli_command_t cmd = cmd_import;
    cmd.description = import_describe();
    int first = cli_parse(&cmd, argc, argv, import_on_opt, &a);
    if (first < 0) return cli_parse_exit(first);
    if (argc - first != 3) {
        cli_error("import: give FORMAT IN OUT (see 'arenalab import --help')");
        return CLI_USAGE;
    }
    const char *name = argv[first], *in = argv[first + 1], *out = argv[first + 2];
    const imp_format_t *f = imp_format_find(name);
    if (!f) {
        cli_error("import: unknown format '%s' (see 'arenalab import --help')", name);
        return CLI_USAGE;
    }
    /* the one rule of every trace a command writes (trace.h): .atr.zst is a
     * binary trace, m.foo an error, not a text trace under that name */
    trace_format_t fmt;
    char nerr[512];
    if (trace_output_format(out, a.fmt, &fmt, nerr, sizeof nerr) < 0) {
        cli_error("import: %s", nerr);
        return CLI_USAGE;
    }
    if (outfile_replaces(out, in)) {
        cli_error("import: %s is IN itself: the trace would replace the file it is read from; "
                  "give another OUT",
                  out);
        return CLI_USAGE;
    }
    imp_summary_t sum;
    char err[512], line[1024];
    int rc = imp_run(f, in, out, fmt, &a.o, &sum, err, sizeof err);
    imp_summary_line(&sum, line, sizeof line);
    if (rc < 0) {
        cli_error("%s", err);
        cli_error(outfile_in_place(out)
                      ? "import: stopped; %s may hold part of the output (written in place)"
                      : "import: stopped; %s not written",
                  out);
        return rc == IMP_ESTRICT ? CLI_FAIL : CLI_USAGE;
    }
    cli_error("import: %s %s -> %s: %s", f->name, in, out, line);
    if (sum.warning) cli_error("import: warning: %s", sum.warning);
    return CLI_OK;
}

/* "  NAME  SUMMARY\n      loses: ..." for every format, into the help. */
static char import_help[4096], export_help[2048];

static const char *import_describe(void)
{
    size_t at = 0;
    at += (size_t)snprintf(
        import_help + at, sizeof import_help - at, "%s",
        "Reads IN (a file or '-'; plain, .zst or .gz) in another tool's format and writes\n"
        "OUT as an arenalab trace (.atr binary, .txt or .trace text, either optionally\n"
        "followed by .zst: compressed; '-' text on stdout), streaming.  Addresses\n"
        "become ids (reused after their free), time stamps 'time_ms' markers,\n"
        "alignments 'align' markers.  What real recorders get wrong\n"
        "is repaired and counted on the summary line: an allocation logged before the\n"
        "late free of its address is held until that free (or an implicit free is\n"
        "inserted after --hold records); frees of unknown pointers are dropped; a\n"
        "realloc written as free + malloc is fused.  --strict makes any of these an\n"
        "error.  Exit 0, 1 (--strict refused a repair), 2 (malformed or unreadable\n"
        "input: FILE:LINE says where).\n\nformats:\n");
    for (const imp_format_t *const *f = imp_formats; *f && at < sizeof import_help; f++)
        at += (size_t)snprintf(import_help + at, sizeof import_help - at,
                               "  %-10s %s\n             loses: %s\n", (*f)->name, (*f)->summary,
                               (*f)->loses);
    return import_help;
}

static const char *export_describe(void)
{
    size_t at = 0;
    at += (size_t)snprintf(export_help + at, sizeof export_help - at, "%s",
                           "Writes the trace IN (text, binary or .zst) to OUT ('-': standard\n"
                           "output) in another tool's format, streaming.\n\nformats:\n");
    for (const imp_export_t *const *x = imp_exports; *x && at < sizeof export_help; x++)
        at += (size_t)snprintf(export_help + at, sizeof export_help - at,
                               "  %-10s %s\n             loses: %s\n", (*x)->name, (*x)->summary,
                               (*x)->loses);
    return export_help;
}

static const cli_opt_t export_opts[] = {{0}};

static int export_on_opt(void *ud, int key, const char *arg)
{
    (void)ud;
    (void)key;
    (void)arg;
    return -1;
}

static int export_run(int argc, char **argv)
{
    cli_command_t cmd = cmd_export;
    cmd.description = export_describe();
    int first = cli_parse(&cmd, argc, argv, export_on_opt, NULL);
    if (first < 0) return cli_parse_exit(first);
    if (argc - first != 3) {
        cli_error("export: give FORMAT IN OUT (see 'arenalab export --help')");
        return CLI_USAGE;
    }
    const char *name = argv[first], *in = argv[first + 1], *out = argv[first + 2];
    const imp_export_t *x = imp_export_find(name);
    if (!x) {
        cli_error("export: unknown format '%s' (see 'arenalab export --help')", name);
        return CLI_USAGE;
    }
    if (outfile_replaces(out, in)) {
        cli_error("export: %s is IN itself: the %s file would replace the trace it is read "
                  "from; give another OUT",
                  out, x->name);
        return CLI_USAGE;
    }
    char note[512];
    uint64_t n;
    int rc = imp_export(x, in, out, &n, note, sizeof note);
    if (rc < 0) {
        cli_error("%s", note);
        cli_error(outfile_in_place(out)
                      ? "export: stopped; %s may hold part of the output (written in place)"
                      : "export: stopped; %s not written",
                  out);
        return CLI_USAGE;
    }
    if (note[0]) cli_error("export: warning: %s", note);
    if (strcmp(out, "-") != 0) printf("%s: %" PRIu64 " events, %s\n", out, n, x->name);
    return CLI_OK;
}

const cli_command_t cmd_import = {
    .name = "import",
    .args = "FORMAT IN OUT",
    .summary =
        "import another tool's allocation trace (heaptrack, mtrace, valgrind, chattymalloc, wl)",
    .description = NULL, /* import_describe(), from the format table */
    .opts = import_opts,
    .run = import_run,
};

const cli_command_t cmd_export = {
    .name = "export",
    .args = "FORMAT IN OUT",
    .summary = "write a trace in another tool's format (mtrace, wl)",
    .description = NULL, /* export_describe(), from the format table */
    .opts = export_opts,
    .run = export_run,
};
