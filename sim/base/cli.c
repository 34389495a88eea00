/* cli.c: option tables, --help, error reporting (see cli.h). */
#include "sim/base/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { CLI_KEY_HELP = 0x10000, CLI_KEY_VERSION };

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("arenalab: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_finish(int rc)
{
    int code = 0;
    if (fflush(stdout) != 0)
        code = errno;
    else if (ferror(stdout))
        code = -1; /* an earlier write failed; its errno is gone */
    if (!code) return rc;
    cli_error("standard output: cannot write%s%s", code > 0 ? ": " : " (a write failed)",
              code > 0 ? strerror(code) : "");
    return rc == CLI_OK ? CLI_FAIL : rc;
}

int cli_interactive(void)
{
    const char *ci = getenv("CI");
    if (ci && *ci && strcmp(ci, "false") != 0 && strcmp(ci, "0") != 0) return 0;
    return isatty(STDERR_FILENO);
}

void cli_usage(const cli_command_t *cmd, FILE *out)
{
    fprintf(out, "usage: arenalab %s [OPTIONS] %s\n\n%s\n", cmd->name, cmd->args, cmd->summary);
    if (cmd->description) fprintf(out, "\n%s\n", cmd->description);
    fputs("\noptions:\n", out);
    for (const cli_opt_t *o = cmd->opts; o && o->name; o++) {
        char left[64];
        int n = 0;
        if (o->short_name)
            n = snprintf(left, sizeof left, "-%c, ", o->short_name);
        else
            n = snprintf(left, sizeof left, "    ");
        if (o->argname && o->argname[0] == '=') /* optional: --name[=VALUE] */
            snprintf(left + n, sizeof left - (size_t)n, "--%s[%s]", o->name, o->argname);
        else
            snprintf(left + n, sizeof left - (size_t)n, "--%s%s%s", o->name, o->argname ? " " : "",
                     o->argname ? o->argname : "");
        fprintf(out, "  %-26s %s\n", left, o->help);
    }
    fprintf(out, "  %-26s %s\n", "-h, --help", "show this help and exit");
    fprintf(out, "  %-26s %s\n", "    --version", "show the version and exit");
    fputs("\nexit status: 0 success, 1 input read but wrong (or run failed), 2 usage or "
          "unreadable input\n",
          out);
}

/* The option whose short name or key is C, or NULL. */
static const cli_opt_t *cli_opt_of(const cli_command_t *cmd, int c)
{
    for (const cli_opt_t *o = cmd->opts; c && o && o->name; o++)
        if (o->short_name == c || o->key == c) return o;
    return NULL;
}

size_t cli_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return (size_t)-1;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The long option of CMD closest to BAD ("--allco=x" -> "alloc"), when it
 * is close enough to be a typo; else NULL. */
static const char *cli_nearest(const cli_command_t *cmd, const char *bad)
{
    char name[64];
    while (*bad == '-')
        bad++;
    snprintf(name, sizeof name, "%.*s", (int)strcspn(bad, "="), bad);
    const char *best = NULL;
    size_t bestd = 3; /* at most two edits */
    for (const cli_opt_t *o = cmd->opts; o && o->name; o++) {
        size_t d = cli_distance(name, o->name);
        if (d < bestd) best = o->name, bestd = d;
    }
    return best;
}

int cli_parse(const cli_command_t *cmd, int argc, char **argv,
              int (*on_opt)(void *ud, int key, const char *arg), void *ud)
{
    size_t nopts = 0;
    while (cmd->opts && cmd->opts[nopts].name)
        nopts++;
    struct option *longs = calloc(nopts + 3, sizeof *longs);
    /* a leading ':' makes a missing value ':' rather than '?' */
    char shorts[2 * 64 + 4] = ":h";
    size_t sl = strlen(shorts);
    if (!longs) {
        cli_error("out of memory");
        return -1;
    }
    for (size_t i = 0; i < nopts; i++) {
        const cli_opt_t *o = &cmd->opts[i];
        int has = !o->argname            ? no_argument
                  : o->argname[0] == '=' ? optional_argument
                                         : required_argument;
        longs[i] = (struct option){o->name, has, NULL, o->short_name ? o->short_name : o->key};
        if (o->short_name && sl + 2 < sizeof shorts) {
            shorts[sl++] = (char)o->short_name;
            if (o->argname) shorts[sl++] = ':';
            shorts[sl] = '\0';
        }
    }
    longs[nopts] = (struct option){"help", no_argument, NULL, CLI_KEY_HELP};
    longs[nopts + 1] = (struct option){"version", no_argument, NULL, CLI_KEY_VERSION};
    optind = 1;
    opterr = 0;
    int rc = 0;
    for (;;) {
        int c = getopt_long(argc, argv, shorts, longs, NULL);
        if (c == -1) break;
        if (c == 'h' || c == CLI_KEY_HELP) {
            cli_usage(cmd, stdout);
            rc = -2;
            break;
        }
        if (c == CLI_KEY_VERSION) {
            printf("arenalab %s %s\n", cmd->name, ARENALAB_VERSION);
            rc = -2;
            break;
        }
        if (c == ':') {
            const cli_opt_t *o = cli_opt_of(cmd, optopt);
            if (o)
                cli_error("%s: %s needs a value (--%s %s; see 'arenalab %s --help')", cmd->name,
                          argv[optind - 1], o->name, o->argname, cmd->name);
            else
                cli_error("%s: '%s' needs a value (see 'arenalab %s --help')", cmd->name,
                          argv[optind - 1], cmd->name);
            rc = -1;
            break;
        }
        if (c == '?') {
            const char *bad = argv[optind - 1];
            if (optopt)
                cli_error("%s: unknown option '-%c' (see 'arenalab %s --help')", cmd->name, optopt,
                          cmd->name);
            else {
                const char *near = cli_nearest(cmd, bad);
                cli_error("%s: unknown option '%s'%s%s%s (see 'arenalab %s --help')", cmd->name,
                          bad, near ? " (did you mean --" : "", near ? near : "", near ? "?)" : "",
                          cmd->name);
            }
            rc = -1;
            break;
        }
        int key = c;
        for (size_t i = 0; i < nopts; i++)
            if (cmd->opts[i].short_name == c && c != 0) key = cmd->opts[i].key;
        if (on_opt(ud, key, optarg) < 0) {
            rc = -1;
            break;
        }
    }
    free(longs);
    return rc < 0 ? rc : optind;
}

int cli_parse_exit(int rc)
{
    return rc == -2 ? CLI_OK : CLI_USAGE;
}
