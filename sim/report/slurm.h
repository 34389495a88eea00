/* slurm.h: the Slurm commands a report runs -- sbatch, squeue, sacct,
 * scontrol -- each through sim/base/proc.h, its output parsed here and
 * nowhere else.  Which cluster they talk to is Slurm's business
 * (SLURM_CONF, the commands' defaults); nothing here starts a daemon.
 *
 * States.  A finished task's state (COMPLETED, FAILED, CANCELLED,
 * TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, ...) comes from sacct when the
 * cluster keeps accounting, else from `scontrol show job`, which knows a
 * job for MinJobAge seconds (300 by default) after it ends; after that it
 * is unknown ("").
 *
 * Failure: functions returning int give 0, or -1 with the command and
 * what it printed in ERR. */
#ifndef ARENALAB_SIM_REPORT_SLURM_H
#define ARENALAB_SIM_REPORT_SLURM_H

#include <stddef.h>

#define SLURM_STATE_MAX 32
#define SLURM_JOB_MAX   64

typedef struct {
    const char *script;    /* the batch script                             */
    const char *indices;   /* the array's task indices: "0-3", "1,4"        */
    const char *name;      /* --job-name                                    */
    const char *output;    /* --output pattern (%A job, %a task)           */
    const char *chdir;     /* --chdir                                       */
    const char *partition; /* --partition, or NULL                          */
    const char *time;      /* --time, or NULL                               */
    char *const *args;     /* more arguments, before the script             */
    size_t nargs;
} slurm_submit_t;

/* Submits the array; its job id into JOBID (LEN bytes). */
int slurm_submit(const slurm_submit_t *s, char *jobid, size_t len, char *err, size_t errlen);

/* Sets LIVE[k] (NTASKS of them, cleared first) for every task k of JOBID
 * still pending or running, *NLIVE to their count.  A job the controller
 * no longer knows has none. */
int slurm_live(const char *jobid, unsigned char *live, size_t ntasks, size_t *nlive, char *err,
               size_t errlen);

/* The final state of every task of JOBID into STATES[k] (NTASKS of them);
 * "" where it is not known.  Never fails. */
void slurm_states(const char *jobid, char (*states)[SLURM_STATE_MAX], size_t ntasks);

#endif
