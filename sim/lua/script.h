/* script.h: the engine of `arenalab gen` — runs a Lua 5.4 workload script
 * whose calls (alloc, free, arena, pool, ...) become the events of a trace.
 * The script-facing API is documented in scripts/SCRIPTING.md.
 *
 * Invariant: the trace is valid by construction.  Every event the script
 * asks for is checked against the script's own view of what is live before
 * it reaches the writer (a freed handle, a bad size or domain is a Lua error
 * at the script's line), so a trace_write that fails is an I/O problem,
 * never a semantic one.  The output is the same bytes for the same script,
 * seed and -D values: randomness comes only from the seeded generator
 * (sim/lua/rng.h), and the metadata holds no clock or path.
 *
 * Errors: script_run returns 0, or a negative SCRIPT_E* code with a message
 * in ERR ("SCRIPT:LINE: what is wrong" for script errors, followed by a Lua
 * stack traceback on later lines).  On any failure no output file is left
 * behind (trace_writer_abort).
 */
#ifndef ARENALAB_SIM_LUA_SCRIPT_H
#define ARENALAB_SIM_LUA_SCRIPT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The seed when --seed is not given (documented in SCRIPTING.md). */
#define SCRIPT_DEFAULT_SEED 1

enum {
    SCRIPT_EFAIL = -1,  /* the script failed: Lua error, syntax error (exit 1) */
    SCRIPT_EUSAGE = -2, /* script unreadable, output not writable (exit 2)   */
    SCRIPT_ENOMEM = -3  /* out of memory before the script could run         */
};

/* One -D KEY=VALUE. */
typedef struct {
    const char *key;
    const char *value;
} script_def_t;

typedef struct {
    const char *script;       /* path of the Lua script                          */
    const char *output;       /* trace path, named by trace_output_format's rule;
                                 "-" text to standard output                     */
    uint64_t seed;            /* SCRIPT_DEFAULT_SEED unless --seed               */
    const script_def_t *defs; /* -D values in command-line order; a later value
                                 for the same key wins                           */
    size_t ndefs;
    FILE *diag;             /* print() and warnings (e.g. a -D never read);
                               NULL for stderr                                 */
    int allow_unsafe;       /* 1: the full standard library (--allow-unsafe);
                               0: the sandbox (sim/lua/sandbox.h)               */
    const char *allow_hint; /* how to allow it, named when the sandbox refuses
                               something; NULL: "arenalab gen --allow-unsafe"   */
    int check_defs;         /* 1: a dry run that checks the -D values: it
                               stops as soon as every one was read (and
                               converted), and a -D the script never reads is
                               an error (SCRIPT_EFAIL), not a warning; the
                               trace is not whole: write it to /dev/null     */
    FILE *progress;         /* a progress line (events written, rate) here, a
                               terminal (sim/base/progress.h); NULL: none     */
} script_opts_t;

typedef struct {
    uint64_t events;      /* events written                                   */
    uint64_t markers;     /* phase / marker records written                   */
    uint64_t peak_blocks; /* most blocks + arena allocations live at once    */
    uint64_t peak_bytes;  /* most bytes live at once (blocks + arena memory)  */
} script_stats_t;

/* Runs O->script and writes the trace to O->output.  STATS (may be NULL)
 * is filled on success.  Returns 0 or a SCRIPT_E* code (see above). */
int script_run(const script_opts_t *o, script_stats_t *stats, char *err, size_t errlen);

#endif
