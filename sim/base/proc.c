/* proc.c: a helper program's run with its output captured (see proc.h). */
#include "sim/base/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    char *p;
    size_t n, cap;
} proc_buf_t;

/* Appends LEN bytes, keeping at most PROC_MAX_OUTPUT.  Returns 0 or -1. */
static int proc_append(proc_buf_t *b, const char *data, size_t len)
{
    if (b->n >= PROC_MAX_OUTPUT) return 0;
    if (len > PROC_MAX_OUTPUT - b->n) len = PROC_MAX_OUTPUT - b->n;
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + len + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, len);
    b->n += len;
    b->p[b->n] = '\0';
    return 0;
}

/* Reads both pipes to their ends.  Returns 0 or -1 (errno). */
static int proc_drain(int out_fd, int err_fd, proc_buf_t *out, proc_buf_t *err)
{
    struct pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    proc_buf_t *bufs[2] = {out, err};
    int open_fds = 2;
    char chunk[8192];
    while (open_fds) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !fds[i].revents) continue;
            ssize_t got = read(fds[i].fd, chunk, sizeof chunk);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) {
                fds[i].fd = -1;
                open_fds--;
                continue;
            }
            if (proc_append(bufs[i], chunk, (size_t)got)) return -1;
        }
    }
    return 0;
}

int proc_run(const char *const *argv, const char *dir, proc_result_t *res)
{
    memset(res, 0, sizeof *res);
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC)) return -1;
    if (pipe2(err, O_CLOEXEC)) {
        close(out[0]);
        close(out[1]);
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        /* Only async-signal-safe calls between fork and exec. */
        int null = open("/dev/null", O_RDONLY);
        if (null < 0 || dup2(null, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0) _exit(127);
        if (dir && chdir(dir) != 0) _exit(127);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int saved = errno;
    close(out[1]);
    close(err[1]);
    if (pid < 0) {
        close(out[0]);
        close(err[0]);
        errno = saved;
        return -1;
    }
    proc_buf_t ob = {0}, eb = {0};
    int rc = proc_drain(out[0], err[0], &ob, &eb);
    saved = errno;
    close(out[0]);
    close(err[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            rc = -1;
            saved = errno;
            break;
        }
    /* Empty outputs are "" rather than NULL. */
    if (rc == 0 && (proc_append(&ob, "", 0) || proc_append(&eb, "", 0) || !ob.p || !eb.p)) {
        if (!ob.p) ob.p = calloc(1, 1);
        if (!eb.p) eb.p = calloc(1, 1);
        if (!ob.p || !eb.p) {
            rc = -1;
            saved = ENOMEM;
        }
    }
    if (rc) {
        free(ob.p);
        free(eb.p);
        errno = saved;
        return -1;
    }
    res->out = ob.p;
    res->outlen = ob.n;
    res->err = eb.p;
    res->errlen = eb.n;
    res->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return 0;
}

void proc_result_free(proc_result_t *res)
{
    free(res->out);
    free(res->err);
    memset(res, 0, sizeof *res);
}

char *proc_line(const char *const *argv, char *buf, size_t len)
{
    proc_result_t r;
    buf[0] = '\0';
    if (proc_run(argv, NULL, &r)) return buf;
    if (r.status == 0) {
        size_t n = strcspn(r.out, "\n");
        while (n && (r.out[n - 1] == ' ' || r.out[n - 1] == '\t' || r.out[n - 1] == '\r'))
            n--;
        if (n >= len) n = len - 1;
        memcpy(buf, r.out, n);
        buf[n] = '\0';
    }
    proc_result_free(&r);
    return buf;
}
