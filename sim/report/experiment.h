/* experiment.h: an experiment -- which traces, which allocators, how many
 * timed repetitions, which parameter sweeps -- read from a Lua file and
 * expanded into the (trace, allocator spec) units `arenalab report` runs.
 * The Lua-facing API is documented in scripts/experiments/EXPERIMENTS.md.
 *
 * Loading.  The file runs once, under lua_pcall with a traceback handler,
 * in a fresh Lua 5.4 state holding the sandbox's standard library
 * (sim/lua/sandbox.h: base, coroutine, string, table, math, utf8; text
 * chunks only; the full library with allow_unsafe) plus the declaration
 * functions (name, repeats, samples, measure, trace, traces, program,
 * workload, allocator, sweep, executor).  Each declaration is checked when it is made, so a mistake
 * is a Lua error at the line that made it: "FILE:LINE: message".  The state is closed before
 * exp_load returns; an exp_t is plain C data.
 *
 * Paths.  Relative trace and workload paths are relative to the repository
 * root given to exp_load (the scripts see it as `root`); `workload("churn")`
 * is ROOT/scripts/workloads/churn.lua; so are the library paths of
 * so:/plugin: allocator specs.  Stored paths are absolute.  `bindir` is the
 * directory of the running program (the example plugin is built there).
 *
 * Allocators.  A declared allocator whose class the build lacks, or whose
 * class says it cannot run here (alloc_class_t.available: a preloaded
 * library that is not installed, a so: library in a sanitized build, a
 * plugin that does not load), is an error -- unless
 * declared optional, in which case it is kept with `skip` saying why and
 * left out of every unit.  Every allocator and sweep point that can be
 * created in this process is created and destroyed once when declared (a
 * dry run: a bad parameter is an error at its line); a plugin's dry run
 * runs in a child process, so a plugin that crashes there is an error too.
 *
 * Expansion.  Units are the distinct (trace, spec) pairs: first the grid,
 * every trace with every available allocator, trace-major in declaration
 * order; then each sweep point that is not already a unit.  A unit's repeat
 * is the highest any of its uses asks for.  Units are distinct by spec
 * text; units of one trace that are the same configuration
 * (`pymalloc:arena=1M` and `pymalloc`) stay distinct here and are run once
 * by the replay driver (sim/replay/driver.h), each keeping its row.
 *
 * Workload sweeps.  workload(SCRIPT, {sweep = {KEY = {V1, V2, ...}}})
 * declares one generated trace per value, NAME.KEY-V (NAME as the
 * workload's would be), each with KEY=V among its parameters; each is
 * dry-run when declared, so an unknown KEY or a value the script cannot
 * convert is an error at that line and declares none of them.  They are
 * ordinary traces for the grid; the report draws each group against KEY.
 *
 * Invariants (exp_is_valid): trace names are unique and made of
 * [A-Za-z0-9._+-] (they name files); a swept trace has its parameter
 * among its defs; units are distinct; every grid cell of
 * an available allocator and every sweep point names a unit with that trace
 * and spec; a skipped allocator has no grid cells.
 *
 * Failure: exp_load returns 0, or EXP_EFAIL (the file ran and was wrong:
 * Lua error, bad declaration -> exit 1) or EXP_EUSAGE (the file cannot be
 * read -> exit 2), with the message in ERR; nothing is left allocated then.
 */
#ifndef ARENALAB_SIM_REPORT_EXPERIMENT_H
#define ARENALAB_SIM_REPORT_EXPERIMENT_H

#include <stddef.h>
#include <stdint.h>

#include "sim/replay/route.h"
#include "sim/lua/script.h"

enum { EXP_EFAIL = -1, EXP_EUSAGE = -2 };

#define EXP_DEFAULT_REPEAT  6 /* TIMING_MIN_REPEAT: a 95 % interval for the median */
#define EXP_DEFAULT_SAMPLES 1000
#define EXP_MAX_REPEAT      1000
#define EXP_MAX_SAMPLES     1000000
/* Room for a unit index that does not exist (a skipped allocator's cell). */
#define EXP_NONE ((size_t)-1)

typedef struct {
    char *name;         /* unique; also its file names                    */
    char *path;         /* the trace file; a workload's is NULL until the
                           report generates it (exp_set_trace_path)      */
    char *script;       /* workload: absolute path of the script; else NULL */
    script_def_t *defs; /* workload parameters, sorted by key (owned)     */
    size_t ndefs;
    uint64_t seed; /* workload seed                                  */
    int line;      /* declaring line of the experiment file          */
    /* A point of a workload sweep (workload(..., {sweep = {KEY = {...}}})):
     * GROUP names the sweep (the traces sharing it are its points, in
     * declaration order), SWEPT the parameter it varies (one of DEFS).
     * Both NULL for any other trace. */
    char *group;
    char *swept;
    /* program(NAME, {cmd = {...}, trace = PATH}): the real command whose
     * recording PATH is (argv, NULL-terminated, owned), run in ROOT by the
     * report's "Replay vs real run" section (sim/report/realrun.h); NULL
     * for any other trace. */
    char **cmd;
} exp_trace_t;

typedef struct {
    char *spec;   /* NAME[:key=value...], as declared                  */
    int optional; /* declared with {optional = true}                   */
    char *skip;   /* why it is left out (optional only), or NULL       */
    int line;
} exp_alloc_t;

typedef struct {
    size_t trace;    /* index in exp_t.traces                              */
    char *spec;      /* allocator spec                                     */
    unsigned repeat; /* timed runs                                         */
} exp_unit_t;

typedef struct {
    char *title;   /* "pymalloc arena" unless given                     */
    char *base;    /* the spec the parameter is added to                */
    char *param;   /* the swept parameter                               */
    char **values; /* as declared                                       */
    double *x;     /* values as numbers (K/M/G allowed) when numeric    */
    int numeric;   /* every value parsed as a number                    */
    size_t nvalues;
    size_t *traces; /* indices in exp_t.traces                           */
    size_t ntraces;
    unsigned repeat;
    size_t *points; /* [t * nvalues + v]: unit of traces[t], values[v]   */
    int line;
} exp_sweep_t;

/* executor(NAME, OPTIONS): where the units run (what `report --slurm` and
 * its options would say); NULL fields were not given. */
typedef struct {
    int slurm;          /* executor("slurm")                               */
    char *partition;    /* sbatch --partition                              */
    char *time;         /* sbatch --time                                   */
    char **sbatch_args; /* more sbatch arguments (owned)                   */
    size_t nsbatch_args;
    int retries; /* -1: not given                                   */
} exp_executor_t;

typedef struct {
    char *name; /* experiment name: results/<name>-<timestamp>           */
    char *file; /* the experiment file, as given                         */
    char *root; /* repository root, as given                             */
    unsigned repeat;
    uint64_t samples;
    unsigned measure; /* DRIVER_MEASURE_* (sim/replay/driver.h); time by
                         default                                        */
    exp_trace_t *traces;
    size_t ntraces;
    exp_alloc_t *allocs;
    size_t nallocs;
    exp_sweep_t *sweeps;
    size_t nsweeps;
    exp_unit_t *units;
    size_t nunits;
    size_t *grid; /* [t * nallocs + a]: unit, EXP_NONE for a skipped one    */
    exp_executor_t executor;
} exp_t;

/* Runs the experiment file PATH with repository root ROOT and expands it
 * into E.  FIND resolves allocator names (NULL: the registry).
 * ALLOW_UNSAFE (--allow-unsafe) gives the file the full standard library
 * instead of the sandbox. */
int exp_load(exp_t *e, const char *path, const char *root, route_find_fn find, int allow_unsafe,
             char *err, size_t errlen);
void exp_free(exp_t *e);

/* Sets the file a workload trace was generated into (copied).  Returns 0
 * or -1 (out of memory). */
int exp_set_trace_path(exp_t *e, size_t trace, const char *path);

/* Index of the trace named NAME, or EXP_NONE. */
size_t exp_find_trace(const exp_t *e, const char *name);

/* VALUE as a number: a size with K/M/G (alloc_parse_size), or a plain
 * finite decimal -- how a sweep value becomes its x (exp_sweep_t.x) and a
 * workload sweep's value its place on the report's axis.  0 or -1. */
int exp_value_number(const char *value, double *out);

/* 1 when the invariants above hold, else 0 after printing the first broken
 * one to stderr. */
int exp_is_valid(const exp_t *e);

#endif
