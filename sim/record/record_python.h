/* record_python.h: `arenalab record --python` — runs a script in Debian's
 * libpython3.11 with the raw, mem and obj domains hooked, recording every
 * allocation with its domain (record_python.c says how). */
#ifndef ARENALAB_SIM_RECORD_RECORD_PYTHON_H
#define ARENALAB_SIM_RECORD_RECORD_PYTHON_H

#include <stddef.h>

typedef struct {
    int fd;              /* the trace, opened by the caller (taken over)     */
    const char *name;    /* its name, for messages                           */
    const char *out;     /* a forked child writes OUT.<pid>                  */
    int children;        /* forked children record (0: only this process)    */
    const char *session; /* metadata `session`, or NULL                      */
    int threads;         /* write THREAD records                             */
    unsigned flush_ms;   /* time-based flush interval; 0: none               */
    size_t bufsize;      /* write buffer bytes; 0: the default               */
    const char *python;  /* the interpreter the run stands for (argv[0]:
                            sys.executable, the prefix, a virtual
                            environment's site-packages); NULL: Debian's
                            python3.11.  Must be Python 3.11.            */
    const char *failed;  /* a directory where a trace that could not be
                            written leaves an empty file named by the pid
                            (as the LD_PRELOAD recorder does); NULL: none */
} recpy_opts_t;

/* Runs `python3 ARGV[0] ARGV[1..]` (ARGV[0] is the script, or an option
 * such as -c or -m, as python3 takes them) with the hooks installed, and
 * finishes the trace in O->fd (record_core.h: rcore_open_fd).  Returns the
 * interpreter's exit status, or 2 when the trace cannot be written
 * (message on stderr); a KeyboardInterrupt the script did not catch ends
 * the process with SIGINT after the trace is finished, as python3 does.
 * Meant for a process of its own: the interpreter cannot be started
 * twice. */
int recpy_run(const recpy_opts_t *o, int argc, char **argv);

#endif
