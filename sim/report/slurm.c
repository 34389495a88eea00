/* slurm.c: sbatch, squeue, sacct and scontrol for a report's job array
 * (see slurm.h). */
#include "sim/report/slurm.h"
#include "sim/base/proc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLURM_MAX_ARGV 64

/* "CMD: status N: what it printed" into ERR (the first line of stderr). */
static void slurm_failed(const char *cmd, const proc_result_t *r, char *err, size_t errlen)
{
    const char *msg = r->err[0] ? r->err : r->out;
    int n = (int)strcspn(msg, "\n");
    if (r->status == 127)
        snprintf(err, errlen, "%s: cannot run it (is Slurm's client installed and on PATH?)", cmd);
    else
        snprintf(err, errlen, "%s failed (status %d): %.*s", cmd, r->status, n, msg);
}

int slurm_submit(const slurm_submit_t *s, char *jobid, size_t len, char *err, size_t errlen)
{
    char array[4096], name[256], output[4096], chdir[4096], part[256], time[128];
    const char *argv[SLURM_MAX_ARGV + 16];
    size_t n = 0;
    if (s->nargs > SLURM_MAX_ARGV) {
        snprintf(err, errlen, "sbatch: more than %d extra arguments", SLURM_MAX_ARGV);
        return -1;
    }
    snprintf(array, sizeof array, "--array=%s", s->indices);
    snprintf(name, sizeof name, "--job-name=%s", s->name);
    snprintf(output, sizeof output, "--output=%s", s->output);
    snprintf(chdir, sizeof chdir, "--chdir=%s", s->chdir);
    argv[n++] = "sbatch";
    argv[n++] = "--parsable";
    argv[n++] = array;
    argv[n++] = name;
    argv[n++] = output;
    argv[n++] = chdir;
    /* the batch script's own environment is ours: ARENALAB_*, ASAN_OPTIONS */
    argv[n++] = "--export=ALL";
    if (s->partition) {
        snprintf(part, sizeof part, "--partition=%s", s->partition);
        argv[n++] = part;
    }
    if (s->time) {
        snprintf(time, sizeof time, "--time=%s", s->time);
        argv[n++] = time;
    }
    for (size_t i = 0; i < s->nargs; i++)
        argv[n++] = s->args[i];
    argv[n++] = s->script;
    argv[n] = NULL;
    proc_result_t r;
    if (proc_run(argv, NULL, &r)) {
        snprintf(err, errlen, "sbatch: cannot run it: %s", strerror(errno));
        return -1;
    }
    /* --parsable: "JOBID" or "JOBID;CLUSTER" */
    size_t idlen = strcspn(r.out, ";\n");
    int ok = r.status == 0 && idlen > 0 && idlen < len && strspn(r.out, "0123456789") == idlen;
    if (ok)
        snprintf(jobid, len, "%.*s", (int)idlen, r.out);
    else
        slurm_failed("sbatch", &r, err, errlen);
    proc_result_free(&r);
    return ok ? 0 : -1;
}

int slurm_live(const char *jobid, unsigned char *live, size_t ntasks, size_t *nlive, char *err,
               size_t errlen)
{
    memset(live, 0, ntasks);
    *nlive = 0;
    /* -r: one line per array task; %K its index ("N/A" for none) */
    const char *argv[] = {"squeue", "-h", "-r", "-j", jobid, "-o", "%K %t", NULL};
    proc_result_t r;
    if (proc_run(argv, NULL, &r)) {
        snprintf(err, errlen, "squeue: cannot run it: %s", strerror(errno));
        return -1;
    }
    int rc = 0;
    if (r.status != 0) {
        /* a job purged from the controller: nothing of it is live */
        if (!strstr(r.err, "Invalid job id")) {
            slurm_failed("squeue", &r, err, errlen);
            rc = -1;
        }
    } else {
        for (char *line = r.out; *line;) {
            char *end = line + strcspn(line, "\n");
            char *p;
            unsigned long k = strtoul(line, &p, 10);
            if (p != line && k < ntasks && !live[k]) {
                live[k] = 1;
                (*nlive)++;
            }
            line = *end ? end + 1 : end;
        }
    }
    proc_result_free(&r);
    return rc;
}

/* Sets STATES[k] from "JOB_K STATE" lines (sacct) unless set. */
static void slurm_parse_sacct(const char *out, const char *jobid, char (*states)[SLURM_STATE_MAX],
                              size_t ntasks)
{
    size_t jl = strlen(jobid);
    for (const char *line = out; *line;) {
        const char *end = line + strcspn(line, "\n");
        /* "JOB_K|STATE[ by UID]" */
        if (strncmp(line, jobid, jl) == 0 && line[jl] == '_') {
            char *p;
            unsigned long k = strtoul(line + jl + 1, &p, 10);
            if (*p == '|' && k < ntasks) {
                int n = (int)strcspn(p + 1, " |\n");
                snprintf(states[k], SLURM_STATE_MAX, "%.*s", n, p + 1);
            }
        }
        line = *end ? end + 1 : end;
    }
}

/* Sets STATES[k] from `scontrol -o show job` lines unless set. */
static void slurm_parse_scontrol(const char *out, char (*states)[SLURM_STATE_MAX], size_t ntasks)
{
    for (const char *line = out; *line;) {
        const char *end = line + strcspn(line, "\n");
        const char *task = strstr(line, " ArrayTaskId=");
        const char *state = strstr(line, " JobState=");
        if (task && state && task < end && state < end) {
            /* "K", or tasks never started as one record: "2-3,5%4" */
            int n = (int)strcspn(state + 10, " \n");
            const char *p = task + 13;
            while (*p >= '0' && *p <= '9') {
                char *q;
                unsigned long k = strtoul(p, &q, 10), last = k;
                if (*q == '-') last = strtoul(q + 1, &q, 10);
                for (unsigned long i = k; i <= last && i < ntasks; i++)
                    if (!states[i][0]) snprintf(states[i], SLURM_STATE_MAX, "%.*s", n, state + 10);
                p = *q == ',' ? q + 1 : q;
            }
        }
        line = *end ? end + 1 : end;
    }
}

void slurm_states(const char *jobid, char (*states)[SLURM_STATE_MAX], size_t ntasks)
{
    for (size_t k = 0; k < ntasks; k++)
        states[k][0] = '\0';
    const char *sacct[] = {"sacct", "-n", "-P", "-X", "-j", jobid, "-o", "JobID,State", NULL};
    proc_result_t r;
    if (proc_run(sacct, NULL, &r) == 0) {
        if (r.status == 0) slurm_parse_sacct(r.out, jobid, states, ntasks);
        proc_result_free(&r);
    }
    const char *scontrol[] = {"scontrol", "-o", "show", "job", jobid, NULL};
    if (proc_run(scontrol, NULL, &r) == 0) {
        if (r.status == 0) slurm_parse_scontrol(r.out, states, ntasks);
        proc_result_free(&r);
    }
}
