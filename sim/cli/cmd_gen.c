/* cmd_gen.c: `arenalab gen SCRIPT.lua -o OUT` — runs a Lua workload script
 * (sim/lua/script_run.c) and writes the trace it describes. */
#include "sim/cli/commands.h"
#include "sim/lua/script.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    GEN_OPT_OUTPUT = 'o',
    GEN_OPT_DEFINE = 'D',
    GEN_OPT_SEED = 256,
    GEN_OPT_STATS,
    GEN_OPT_ALLOW_UNSAFE,
    GEN_OPT_QUIET = 'q'
};

static const cli_opt_t gen_opts[] = {
    {"output", 'o', "FILE", GEN_OPT_OUTPUT,
     "write the trace to FILE (.atr binary, .txt or .trace text, either optionally followed by "
     ".zst; '-': text on stdout)"},
    {"seed", 0, "N", GEN_OPT_SEED, "seed of the random generator (default 1)"},
    {"define", 'D', "KEY=VALUE", GEN_OPT_DEFINE,
     "set a script parameter, read with param(KEY, default); repeatable"},
    {"stats", 0, NULL, GEN_OPT_STATS, "print events, peak live and events/s on stderr"},
    {"allow-unsafe", 0, NULL, GEN_OPT_ALLOW_UNSAFE,
     "no sandbox: the full Lua standard library (io, os, require); the script can do "
     "anything you can"},
    {"quiet", 'q', NULL, GEN_OPT_QUIET, "no progress line on a terminal"},
    {0},
};

typedef struct {
    const char *output;
    uint64_t seed;
    script_def_t *defs; /* at most argc of them */
    size_t ndefs;
    int stats;
    int allow_unsafe;
    int quiet;
} gen_args_t;

static int gen_on_opt(void *ud, int key, const char *arg)
{
    gen_args_t *a = ud;
    switch (key) {
    case GEN_OPT_OUTPUT:
        a->output = arg;
        return 0;
    case GEN_OPT_SEED: {
        char *end;
        errno = 0;
        /* decimal, as every command's --seed: base 0 read 010 as eight and
         * refused 08 */
        unsigned long long v = strtoull(arg, &end, 10);
        if (errno || *end || arg[0] < '0' || arg[0] > '9') {
            cli_error("gen: bad --seed '%s' (an integer in 0..2^64-1)", arg);
            return -1;
        }
        a->seed = v;
        return 0;
    }
    case GEN_OPT_DEFINE: {
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg) {
            cli_error("gen: bad -D '%s' (KEY=VALUE)", arg);
            return -1;
        }
        /* Split in place: the key ends at '=' (argv strings are ours). */
        char *name = (char *)arg;
        name[eq - arg] = '\0';
        a->defs[a->ndefs++] = (script_def_t){name, eq + 1};
        return 0;
    }
    case GEN_OPT_STATS:
        a->stats = 1;
        return 0;
    case GEN_OPT_ALLOW_UNSAFE:
        a->allow_unsafe = 1;
        return 0;
    case GEN_OPT_QUIET:
        a->quiet = 1;
        return 0;
    default:
        return -1;
    }
}

static double gen_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int gen_run(int argc, char **argv)
{
    gen_args_t a = {.seed = SCRIPT_DEFAULT_SEED};
    a.defs = calloc((size_t)argc + 1, sizeof *a.defs);
    if (!a.defs) {
        cli_error("gen: out of memory");
        return CLI_FAIL;
    }
    int first = cli_parse(&cmd_gen, argc, argv, gen_on_opt, &a);
    if (first < 0) {
        free(a.defs);
        return cli_parse_exit(first);
    }
    int rc = CLI_USAGE;
    if (argc - first != 1)
        cli_error("gen: expected one SCRIPT (see 'arenalab gen --help')");
    else if (!a.output)
        cli_error("gen: missing -o OUT (see 'arenalab gen --help')");
    else
        rc = CLI_OK;
    if (rc != CLI_OK) {
        free(a.defs);
        return rc;
    }

    script_opts_t o = {.script = argv[first],
                       .output = a.output,
                       .seed = a.seed,
                       .defs = a.defs,
                       .ndefs = a.ndefs,
                       .allow_unsafe = a.allow_unsafe,
                       .progress = cli_interactive() && !a.quiet ? stderr : NULL};
    script_stats_t st;
    char err[4096];
    double t0 = gen_now();
    int src = script_run(&o, &st, err, sizeof err);
    double secs = gen_now() - t0;
    free(a.defs);
    if (src < 0) {
        cli_error("%s", err);
        return src == SCRIPT_EUSAGE ? CLI_USAGE : CLI_FAIL;
    }
    if (a.stats)
        fprintf(stderr,
                "arenalab: gen: %s: %" PRIu64 " events, %" PRIu64 " markers; peak %" PRIu64
                " live blocks, %" PRIu64 " live bytes; %.3f s, %.2f M events/s\n",
                a.output, st.events, st.markers, st.peak_blocks, st.peak_bytes, secs,
                secs > 0 ? (double)st.events / secs / 1e6 : 0.0);
    return CLI_OK;
}

const cli_command_t cmd_gen = {
    .name = "gen",
    .args = "SCRIPT.lua -o OUT",
    .summary = "generate a trace by running a Lua workload script",
    .description = "Runs SCRIPT in an embedded Lua 5.4 state; its calls (alloc, free, arena,\n"
                   "pool, phase, ...) become the events of the trace written to OUT, on the\n"
                   "script's simulated threads when it makes some (run_threads, on_thread:\n"
                   "events carry a thread, one valid order of all of them).  The same\n"
                   "script, seed and -D values give a byte-identical trace.  A Lua error stops\n"
                   "the run with SCRIPT:LINE: message, exit status 1, and no output file\n"
                   "(a device or FIFO, written in place, has had what came before).\n"
                   "The script API is documented in scripts/SCRIPTING.md; a library of\n"
                   "workloads lives in scripts/workloads/.\n\n"
                   "The script runs in a sandbox: no io, os, require, loadfile or dofile, so\n"
                   "it cannot start programs, write or delete files, read the environment or\n"
                   "the clock.  --allow-unsafe lifts it: the script can do anything you can.\n\n"
                   "On a terminal, a progress line (events written, rate) is shown on stderr\n"
                   "and erased at the end; --quiet leaves it out.  Memory stays bounded by\n"
                   "the peak live blocks, whatever the number of events.",
    .opts = gen_opts,
    .run = gen_run,
};
