/* main.c: `arenalab COMMAND ...` — dispatches to the command table.
 *
 * ARENALAB_ASLR=off runs the whole command, and every process it starts
 * (replay workers, report tasks, Slurm tasks that inherit the environment),
 * with the address-space layout fixed: the process re-executes itself once
 * with the ADDR_NO_RANDOMIZE personality, which children inherit.  Why: the
 * real allocators' resident figures move by a few pages from run to run
 * with where the kernel places their mappings (jemalloc on queue-s2:
 * 2797568-2813952 bytes over four runs, identical with the layout fixed).
 *
 * Transparent huge pages are off for the whole command and everything it
 * starts (PR_SET_THP_DISABLE, inherited across fork and exec, so a replay
 * worker's preloaded allocator never gets one, from its first mapping on).
 * Why: peak resident memory is counted in the kernel's pages, and a huge
 * page makes 2 MiB resident at once, or not, depending on where the
 * kernel placed the mapping and whether khugepaged got to it -- on a
 * machine whose THP setting is `always`, jemalloc's peak on churn.atr read
 * below its live bytes (the huge page resident before the baseline) and
 * minreplay disagreed with itself run to run.  With 4 KiB pages the figure
 * is the allocator's, whatever the machine's setting.
 * ARENALAB_HUGEPAGES=system leaves them as the system has them.
 *
 * `bazel run //:arenalab -- ARGS` starts the binary in its runfiles tree
 * with BUILD_WORKING_DIRECTORY naming the directory bazel was run from:
 * the command moves there first, so relative paths mean what they mean to
 * the user, as under scripts/arenalab.  The variable is then dropped, so
 * that nothing the command starts (a recorded program) moves again. */
#include "sim/base/sigclean.h"
#include "sim/cli/commands.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
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
          "environment: ARENALAB_ASLR=off runs with the address-space layout fixed (the\n"
          "real allocators' memory figures then repeat exactly; default on: randomized);\n"
          "ARENALAB_HUGEPAGES=system lets the kernel give transparent huge pages as the\n"
          "system is set (default off: 4 KiB pages only, resident figures independent of\n"
          "the machine's THP setting)\n"
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

/* ARENALAB_ASLR (see above): returns 0 to go on (the layout is as asked),
 * or an exit status after saying what is wrong; re-executes on success. */
static int main_address_layout(char **argv)
{
    const char *v = getenv("ARENALAB_ASLR");
    if (!v || !*v) return 0; /* as the parent left it */
    int off = !strcmp(v, "off");
    if (!off && strcmp(v, "on") != 0) {
        cli_error("ARENALAB_ASLR='%s': expected 'on' (the default) or 'off' (the address-space "
                  "layout fixed, for memory figures that repeat exactly)",
                  v);
        return CLI_USAGE;
    }
    /* "on" undoes a fixed layout inherited from the parent (setarch -R) */
    int now = personality(0xffffffff);
    if (now >= 0 && !(now & ADDR_NO_RANDOMIZE) == !off) return 0;
    unsigned long want = off ? (unsigned long)now | ADDR_NO_RANDOMIZE
                             : (unsigned long)now & ~(unsigned long)ADDR_NO_RANDOMIZE;
    if (now < 0 || personality(want) < 0) {
        cli_error("ARENALAB_ASLR=%s: cannot set the address-space layout: personality: %s", v,
                  strerror(errno));
        return CLI_USAGE;
    }
    execv("/proc/self/exe", argv);
    cli_error("ARENALAB_ASLR=%s: cannot re-execute /proc/self/exe: %s", v, strerror(errno));
    return CLI_USAGE;
}

/* ARENALAB_HUGEPAGES (see above): returns 0 to go on, or an exit status
 * after saying what is wrong.  Off by default; a kernel that refuses the
 * prctl (older than 3.15) is only an error when off was asked for by name:
 * the report's `huge pages` row says what the run had (sysinfo.c). */
static int main_huge_pages(void)
{
    const char *v = getenv("ARENALAB_HUGEPAGES");
    int system = v && !strcmp(v, "system");
    if (v && *v && !system && strcmp(v, "off") != 0) {
        cli_error("ARENALAB_HUGEPAGES='%s': expected 'off' (the default: 4 KiB pages only) or "
                  "'system' (transparent huge pages as the system gives them)",
                  v);
        return CLI_USAGE;
    }
    if (prctl(PR_SET_THP_DISABLE, system ? 0 : 1, 0, 0, 0) != 0 && v && !strcmp(v, "off")) {
        cli_error("ARENALAB_HUGEPAGES=off: cannot turn transparent huge pages off: prctl: %s",
                  strerror(errno));
        return CLI_USAGE;
    }
    return 0;
}

/* BUILD_WORKING_DIRECTORY (see above): returns 0 to go on, or an exit
 * status after saying what is wrong. */
static int main_working_directory(void)
{
    const char *wd = getenv("BUILD_WORKING_DIRECTORY");
    if (!wd || !*wd) return 0;
    if (chdir(wd) != 0) {
        cli_error("BUILD_WORKING_DIRECTORY=%s: cannot go there: %s", wd, strerror(errno));
        return CLI_USAGE;
    }
    unsetenv("BUILD_WORKING_DIRECTORY");
    return 0;
}

/* A command that could not write all of its standard output fails. */
int main(int argc, char **argv)
{
    int wd = main_working_directory();
    if (wd) return wd;
    int layout = main_address_layout(argv);
    if (layout) return layout;
    int pages = main_huge_pages();
    if (pages) return pages;
    struct sigaction bus;
    memset(&bus, 0, sizeof bus);
    bus.sa_handler = main_on_sigbus;
    sigaction(SIGBUS, &bus, NULL);
    return cli_finish(main_dispatch(argc, argv));
}
