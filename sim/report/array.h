/* array.h: a report's cells as a Slurm job array.
 *
 * The unit of work is one trace: every allocator and sweep point of it,
 * with all their timed runs -- the group `--jobs` runs on one thread
 * (sim/report/jobs.h) -- so every timing comparison a report makes ran on
 * one node, interleaved as in a local run.  Array task K runs group K
 * through `arenalab report --task K DIR`, which is jobs_run_group on the
 * plan saved in DIR (sim/report/plan.h); it writes its result file
 * (sim/report/taskfile.h), which the merge reads back into the same
 * driver_run_t a local run would hold.
 *
 * The tasks directory, DIR/tasks/ (DIR: the result directory being
 * written, NAME.partial, on a filesystem every node shares):
 *
 *   plan.txt             the expanded experiment and the run's settings
 *   arenalab             a copy of the binary that started the report: every
 *                        task and retry runs the same code, whatever is
 *                        rebuilt meanwhile (removed once the report
 *                        is written)
 *   run.sh               the batch script: exec arenalab report --task ...
 *   jobs.txt             one line per submission: job id and its tasks
 *   task-K.started       written when task K starts: its job, host, pid
 *   task-K.result        task K's result (complete or absent)
 *   logs/task-K.JOB.log  standard output and error of task K in job JOB
 *   lock                 held (fcntl) by the one process collecting
 *
 * A task's life:
 *
 *   submitted --> pending --> running --> result          (done)
 *                    |           |
 *                    +-----------+------> no result       (failed: any
 *                                         state -- FAILED, CANCELLED,
 *                                         TIMEOUT, OUT_OF_MEMORY,
 *                                         NODE_FAIL -- or unknown)
 *
 * A failed task is submitted again (a new array of the failed tasks)
 * while it has had at most `retries` attempts more than its first; then
 * it is reported with its last state and log.  One exception: when the
 * array this process submitted was cancelled as a whole (`scancel JOB`) --
 * every task of it without a result ended CANCELLED, and that is more than
 * one task, or a task that never started, or the array's only task -- nothing
 * is resubmitted and the directory is left for `report --resume`.  A single
 * task cancelled while the others ran is retried like any failure (a
 * node's end, a time limit and a lack of memory have states of their own:
 * NODE_FAIL, TIMEOUT, OUT_OF_MEMORY).
 * `--resume` gives every task without a result a fresh budget (one
 * attempt and `retries` more), after waiting for the tasks still queued.
 *
 * Failure: functions returning int give 0 (or an ARRAY_* outcome), or -1
 * with a message in ERR; the directory stays resumable.
 */
#ifndef ARENALAB_SIM_REPORT_ARRAY_H
#define ARENALAB_SIM_REPORT_ARRAY_H

#include <stddef.h>
#include <stdio.h>

#include "sim/report/plan.h"
#include "sim/report/slurm.h"

#define ARRAY_DEFAULT_RETRIES 2

typedef struct {
    const char *dir; /* the result directory being written (absolute)    */
    const plan_t *plan;
    size_t ntasks;            /* its groups: one per trace with units             */
    const char *const *names; /* per task: its trace's name (messages)      */
    int progress;             /* a status line on stderr while waiting            */
} array_t;

typedef struct {
    int done;                    /* its result file is there                */
    unsigned attempts;           /* submissions that included it            */
    char job[SLURM_JOB_MAX];     /* its last attempt, "ARRAYJOB_K", or ""  */
    char state[SLURM_STATE_MAX]; /* how that attempt ended; "" when unknown */
    int started;                 /* that attempt wrote its start marker     */
} array_task_t;

enum {
    ARRAY_DONE,      /* every task has its result                           */
    ARRAY_SUBMITTED, /* submitted, not waited for (--no-wait)               */
    ARRAY_FAILED,    /* some tasks have no result and no attempt left       */
    ARRAY_CANCELLED, /* the array submitted here was cancelled as a whole   */
};

/* DIR/tasks/REL, malloc'ed (NULL when out of memory). */
char *array_path(const array_t *a, const char *rel);

/* Creates DIR/tasks: the plan, the binary's copy, run.sh, logs/. */
int array_prepare(const array_t *a, char *err, size_t errlen);

/* Takes the collector's lock (fails when another process holds it);
 * returns its descriptor, closed by array_unlock. */
int array_lock(const array_t *a, char *err, size_t errlen);
void array_unlock(int fd);

/* Runs the array to an outcome (see above): waits for the tasks still
 * queued, then submits those without a result that have attempts left,
 * until every task has a result or none can be tried again.  NOWAIT:
 * returns ARRAY_SUBMITTED after the first submission, its job id in
 * JOBID (SLURM_JOB_MAX bytes); with nothing to submit it goes on as
 * without it.  TASKS (NTASKS) gets every task's status. */
int array_run(const array_t *a, int nowait, array_task_t *tasks, char *jobid, char *err,
              size_t errlen);

/* Every task without a result on OUT, one paragraph each: its trace, its
 * attempts, its last job's state, its log and the log's last lines. */
void array_describe(const array_t *a, const array_task_t *tasks, FILE *out);

/* Writes task K's start marker (the task itself calls it). */
int array_started(const array_t *a, size_t k, const char *job, char *err, size_t errlen);

#endif
