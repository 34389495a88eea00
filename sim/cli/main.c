/* main.c: `arenalab COMMAND ...` — dispatches to the command table. */
#include "sim/base/sigclean.h"
#include "sim/cli/commands.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static const cli_command_t *const main_commands[] = {
    &cmd_check, &cmd_stats,  &cmd_convert, &cmd_replay, &cmd_gen,     &cmd_record,
    &cmd_run,   &cmd_import, &cmd_export,  &cmd_report, &cmd_compare, NULL,
};

static void main_usage(FILE *out)
{
    fputs("usage: arenalab COMMAND [OPTIONS] [ARGS]\n\n"
          "A workbench for memory allocators: replay allocation traces through\n"
          "interchangeable allocators and compare throughput and fragmentation.\n\ncommands:\n",
          out);
    for (const cli_command_t *const *c = main_commands; *c; c++)
        fprintf(out, "  %-10s %s\n", (*c)->name, (*c)->summary);
    fputs("\n'arenalab COMMAND --help' describes each command.\n"
          "exit status: 0 success, 1 input read but wrong (or run failed), 2 usage or "
          "unreadable input\n",
          out);
}

/* Runs the command ARGV names; returns its exit status. */
static int main_dispatch(int argc, char **argv)
{
    if (argc < 2) {
        main_usage(stderr);
        return CLI_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        main_usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("arenalab %s\n", ARENALAB_VERSION);
        return CLI_OK;
    }
    for (const cli_command_t *const *c = main_commands; *c; c++)
        if (!strcmp((*c)->name, argv[1])) return (*c)->run(argc - 1, argv + 1);
    cli_error("unknown command '%s' (see 'arenalab --help')", argv[1]);
    return CLI_USAGE;
}

/* SIGBUS: an input read through mmap (a binary trace) shrank while it was
 * read — bad input, not a crash: say so, remove what sigclean holds (no
 * half-written output is left to look complete) and exit 2.  Only
 * async-signal-safe calls. */
static void main_on_sigbus(int sig)
{
    (void)sig;
    static const char msg[] =
        "arenalab: an input file changed size while it was being read (SIGBUS: a trace "
        "truncated under us?); nothing was written\n";
    if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
        /* nothing more can be said */
    }
    sigclean_now();
    _exit(CLI_USAGE);
}

/* A command that could not write all of its standard output fails. */
int main(int argc, char **argv)
{
    struct sigaction bus;
    memset(&bus, 0, sizeof bus);
    bus.sa_handler = main_on_sigbus;
    sigaction(SIGBUS, &bus, NULL);
    return cli_finish(main_dispatch(argc, argv));
}
