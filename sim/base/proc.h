/* proc.h: runs a helper program (gnuplot, git, dpkg-query) and captures
 * everything it prints, so the caller decides what its output means (a
 * report fails on any gnuplot warning).
 *
 * The child gets /dev/null as standard input and nothing else of ours:
 * every descriptor we open is close-on-exec.  Call it from one thread at a
 * time while no other thread forks (the report runs it before and after
 * its replay threads, never during).
 *
 * Failure: proc_run returns 0 once the program ran (whatever its status),
 * or -1 with errno when it could not be started or read. */
#ifndef ARENALAB_SIM_BASE_PROC_H
#define ARENALAB_SIM_BASE_PROC_H

#include <stddef.h>

/* Bytes kept of each output stream; the rest is read and dropped. */
#define PROC_MAX_OUTPUT (1u << 20)

typedef struct {
    char *out; /* standard output, NUL-terminated (never NULL on 0)  */
    size_t outlen;
    char *err; /* standard error, NUL-terminated (never NULL on 0)   */
    size_t errlen;
    int status; /* exit status; 128 + N after signal N; 127: no exec  */
} proc_result_t;

/* Runs ARGV[0] (looked up in PATH) with ARGV (NULL-terminated) in DIR
 * (NULL: the current directory) and waits for it. */
int proc_run(const char *const *argv, const char *dir, proc_result_t *res);
void proc_result_free(proc_result_t *res);

/* The first line of ARGV's standard output (trailing blanks removed) in
 * BUF, or "" when it fails or prints nothing.  Returns BUF. */
char *proc_line(const char *const *argv, char *buf, size_t len);

#endif
