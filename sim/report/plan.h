/* plan.h: a report's plan -- the experiment as expanded when the report
 * started, and how it is to be run -- saved in the result directory, so
 * that every Slurm array task, and a later `report --resume`, runs and
 * merges exactly the units the submitting command expanded.
 *
 * Why not run the experiment file again?  A task re-running it could see
 * other files (`traces("*.atr")`), another `root`, a `here` inside the
 * result directory, and an --allow-unsafe file would do its side effects
 * once per task; the plan is plain data, read without Lua.
 *
 * The file (PARTIAL/tasks/plan.txt, sim/base/tsv.h records): the
 * experiment's settings, its traces (paths absolute: generated ones in the
 * result directory; a workload sweep's point with its group and
 * parameter), allocators, sweeps and units, then the run's seed,
 * retries and Slurm options, the command line, the start time and the
 * submitting machine's environment.  Grid cells and sweep points are not
 * stored: they are the units with their trace and spec, found again when
 * the plan is read.
 *
 * Invariant: a plan read back satisfies exp_is_valid, and gives the same
 * units, in the same order, as the experiment it was written from.
 *
 * Failure: plan_write and plan_read return 0, or -1 with "PATH: reason"
 * (plan_read: "PATH:LINE: reason") in ERR; a failed plan_read leaves
 * nothing allocated.
 */
#ifndef ARENALAB_SIM_REPORT_PLAN_H
#define ARENALAB_SIM_REPORT_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "sim/report/experiment.h"
#include "sim/report/sysinfo.h"

/* Where the plan and the tasks' files live in a result directory. */
#define PLAN_DIR  "tasks"
#define PLAN_FILE "tasks/plan.txt"

typedef struct {
    exp_t exp;
    uint64_t seed;      /* of the timed runs' order (jobs_config_t)       */
    unsigned retries;   /* attempts of a task after its first             */
    char *partition;    /* sbatch --partition, or NULL                    */
    char *time;         /* sbatch --time, or NULL                         */
    char **sbatch_args; /* more sbatch arguments, as given                */
    size_t nsbatch_args;
    char *command;  /* the report's command line, shell-quoted       */
    char stamp[32]; /* when it started, "YYYY-mm-dd HH:MM:SS"         */
    sysinfo_t sys;  /* the machine that started it                    */
} plan_t;

int plan_write(const plan_t *p, const char *path, char *err, size_t errlen);
int plan_read(plan_t *p, const char *path, char *err, size_t errlen);

/* Frees what P owns, its experiment included. */
void plan_free(plan_t *p);

#endif
