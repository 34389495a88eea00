/* cli.h: what every `arenalab` subcommand shares: an option table that both
 * parses argv and prints --help, error reporting, exit codes.
 *
 * Exit codes, the same for every command (README documents them):
 *   0  success
 *   1  the input was read but is wrong (semantic errors, a failed replay,
 *      a verification mismatch)
 *   2  usage error, or an input that cannot be read at all
 */
#ifndef ARENALAB_SIM_BASE_CLI_H
#define ARENALAB_SIM_BASE_CLI_H

#include <stdarg.h>
#include <stdio.h>

#define ARENALAB_VERSION "0.1.0"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

typedef struct {
    const char *name;    /* long name without "--"                        */
    int short_name;      /* 'o', or 0                                     */
    const char *argname; /* NULL for a flag, else e.g. "FILE"; "=FILE" for
                            an optional value (--name or --name=FILE;
                            the callback gets NULL without one)       */
    int key;             /* handed to the callback; > 255 for long-only   */
    const char *help;
} cli_opt_t;

typedef struct {
    const char *name;        /* "replay"                                  */
    const char *args;        /* "TRACE... --alloc A[,B...]"               */
    const char *summary;     /* one line for `arenalab --help`            */
    const char *description; /* paragraphs printed under usage, or NULL   */
    const cli_opt_t *opts;   /* terminated by {0}                         */
    int (*run)(int argc, char **argv);
} cli_command_t;

/* Parses the options of CMD in ARGV (argv[0] is the command name).  For each
 * option calls ON_OPT(UD, key, arg); ON_OPT returns 0 or -1 after printing
 * its error.  --help prints usage and returns -2 (exit 0); --version too.
 * Returns the index of the first operand, or -1 on a usage error (already
 * reported). */
int cli_parse(const cli_command_t *cmd, int argc, char **argv,
              int (*on_opt)(void *ud, int key, const char *arg), void *ud);

/* Exit status for a cli_parse result below 0: -2 -> 0, -1 -> 2. */
int cli_parse_exit(int rc);

void cli_usage(const cli_command_t *cmd, FILE *out);

/* "arenalab: MESSAGE\n" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The end of every command: flushes standard output and checks that all
 * of it was written (a full disk, /dev/full, a closed descriptor).  A
 * failure not reported yet (stdout's error flag still set: whoever reports
 * one clears it) gets "arenalab: standard output: cannot write: REASON".
 * Returns RC, or CLI_FAIL instead of CLI_OK after a failure. */
int cli_finish(int rc);

/* Levenshtein distance between two short words (each under 64 bytes;
 * (size_t)-1 for longer ones): the "did you mean" of options and names. */
size_t cli_distance(const char *a, const char *b);

/* Whether stderr is a terminal (progress lines) — respects CI=true. */
int cli_interactive(void);

#endif
