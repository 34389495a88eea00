/* taskfile.h: one Slurm array task's result -- every unit of its trace as
 * the replay driver returned it, and the machine that ran them -- written
 * by the task into the result directory and read back by the process that
 * merges the report (sim/report/array.h).
 *
 * The file (PARTIAL/tasks/task-K.result, sim/base/tsv.h records): the
 * task's index, its Slurm job, the wall time of its replays, the machine's
 * environment (sim/report/sysinfo.h), then per unit its index, spec,
 * allocator name, configuration, duplicate mark, the measurement figures,
 * the timing summary, every timed run and the sampled series.  Doubles are
 * hex floats: the merged report holds bit for bit what the task measured,
 * so a report merged from tasks and one run locally differ only in what
 * the machine decides (timings, the process-malloc libraries' memory).
 * The file is written to a temporary name and renamed: it is complete or
 * absent.
 *
 * Invariant: taskfile_read fills exactly the units it is told to expect,
 * in their order, each with the spec the plan gives it; anything else is
 * an error, never a partly filled run.
 *
 * Failure: both functions return 0, or -1 with "PATH: reason" (or
 * "PATH:LINE: reason") in ERR; a failed read leaves the runs as they were
 * (zeroed).
 */
#ifndef ARENALAB_SIM_REPORT_TASKFILE_H
#define ARENALAB_SIM_REPORT_TASKFILE_H

#include <stddef.h>

#include "sim/replay/driver.h"
#include "sim/report/experiment.h"
#include "sim/report/sysinfo.h"

typedef struct {
    sysinfo_t sys;  /* the machine that ran the task                    */
    double seconds; /* wall time of its replays                          */
    char job[64];   /* its Slurm job, "ARRAYJOB_TASK", or ""             */
} taskfile_node_t;

/* Writes task TASK's result: units UNITS[0..N) of E, their figures in
 * RUNS[UNITS[k]]. */
int taskfile_write(const char *path, size_t task, const taskfile_node_t *node, const exp_t *e,
                   const size_t *units, size_t n, const driver_run_t *runs, char *err,
                   size_t errlen);

/* Reads task TASK's result into NODE and RUNS[UNITS[k]] (zeroed by the
 * caller; allocator, figures, timings and series -- route and trace are the
 * caller's to set). */
int taskfile_read(const char *path, size_t task, taskfile_node_t *node, const exp_t *e,
                  const size_t *units, size_t n, driver_run_t *runs, char *err, size_t errlen);

#endif
