/* record_python.c: the `record --python` launcher — CPython's three memory
 * domains, hooked with PyMem_SetAllocator, into a binary trace.
 *
 * Start-up, as python3 does it but with a hook in the middle:
 *   1. Py_PreInitializeFromBytesArgs: the pre-configuration (PYTHONMALLOC,
 *      -X dev, -E, -I, the locale) may itself choose the allocators;
 *   2. the trace is created and each domain's current allocator (from
 *      PyMem_GetAllocator) is wrapped by ours (PyMem_SetAllocator), before
 *      the interpreter exists;
 *   3. Py_InitializeFromConfig with the same argv, then Py_RunMain: the
 *      script runs, the interpreter finalises, and every allocation and
 *      free from step 3 to the end is recorded with its domain;
 *   4. the trace is finished (END, counts).
 * CPython briefly swaps in its default raw allocator during start-up and
 * finalisation (_PyMem_SetDefaultAllocator) for data that must outlive the
 * runtime; those calls bypass every hook.  A block allocated through us
 * but freed in such a window stays live in the trace; the reverse is a
 * dropped free (counted, as are frees of blocks from step 1).
 *
 * Nesting: pymalloc serves large obj/mem requests with PyMem_RawMalloc, so
 * a call into a wrapped domain re-enters the raw hook.  A per-thread depth
 * records only the outermost call: the trace holds the block in the domain
 * the program asked, as tracemalloc sees it.
 *
 * Threads: the raw domain is called without the GIL, so one mutex
 * serialises the core; the order argument of record_preload.c applies
 * (record after the real malloc, before the real free, around realloc).
 * THREAD records number the threads 1, 2, ... (with `tid` markers), as the
 * LD_PRELOAD recorder does.
 *
 * fork (os.fork): the child starts its own trace OUT.<pid> (unless
 * opts->children is 0: an output that is not a regular file).  exec and
 * os._exit leave the trace cut short (readable up to the last flush); the
 * image an exec starts (subprocess, os.system) is recorded by the
 * LD_PRELOAD recorder into OUT.<pid>, since `arenalab record` puts its
 * settings in our environment (sim/cli/cmd_record.c): the malloc family,
 * not the domains.
 *
 * The trace descriptor is the core's (record_core.h): high, close-on-exec,
 * checked before every write, so os.closerange(3, ...) followed by open()
 * stops the recording (one message, the trace cut short) instead of
 * writing into the script's file.  Messages go to descriptor 2 only while
 * it is the file it was when recpy_run started (`arenalab record`'s own
 * standard error): a script that closed everything may have put a file of
 * its own there, and the message is then dropped (the summary of
 * `arenalab record` still says the trace is cut short), as the LD_PRELOAD
 * recorder does.
 *
 * Ctrl-C.  A KeyboardInterrupt that nobody catches makes Py_RunMain, after
 * finalising, kill its own process with SIGINT (SIG_DFL), which would lose
 * the last buffer.  A low-level exit function (Py_AtExit: the end of
 * finalisation) flushes and blocks SIGINT in this thread; that kill then
 * stays pending, Py_RunMain returns, the trace is finished, and unblocking
 * delivers the SIGINT: the process dies of it as python3 would.
 *
 * State: one recpy_ctx_t for the process (the interpreter is one per
 * process too) and the per-thread recpy_tls (thread number, depth).
 */
#include "sim/record/record_python.h"

#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sim/base/cli.h"
#include "sim/record/record_core.h"

#define RECPY_CMD_MAX 4096

typedef struct recpy_ctx_s recpy_ctx_t;

typedef struct {
    recpy_ctx_t *x;
    PyMemAllocatorEx orig; /* the allocator we wrap                          */
    uint8_t domain;        /* trace_domain_t (= PyMemAllocatorDomain)        */
} recpy_dom_t;

struct recpy_ctx_s {
    pthread_mutex_t lock;
    rcore_t core;
    _Atomic int on;  /* recording; 0 after the finish or a failure      */
    int fork_locked; /* the atfork prepare handler took the lock       */
    int threads;     /* write THREAD records                           */
    int held_sigint; /* recpy_finalized blocked SIGINT                 */
    _Atomic uint32_t nthreads;
    uint32_t gen; /* files opened (a forked child opens one more)   */
    recpy_dom_t dom[TRACE_NDOMAINS];
    const recpy_opts_t *opts;
    char path[PATH_MAX + 32];
    char command[RECPY_CMD_MAX];
    char version[64];
    char created[21];
    char pid_s[24];
    char ppid_s[24];
    int err_known; /* descriptor 2's file at start is known */
    dev_t err_dev; /* ... its device                        */
    ino_t err_ino; /* ... and inode                         */
};

static recpy_ctx_t recpy_ctx = {.lock = PTHREAD_MUTEX_INITIALIZER};
static __thread struct {
    uint32_t thread;
    uint32_t gen;
    int depth;
} recpy_tls;

/* A message on descriptor 2, only while it is still the file it was at
 * start (see the comment at the top). */
__attribute__((format(printf, 2, 3))) static void recpy_say(const recpy_ctx_t *x, const char *fmt,
                                                            ...)
{
    struct stat st;
    if (!x->err_known || fstat(STDERR_FILENO, &st) != 0 || st.st_dev != x->err_dev ||
        st.st_ino != x->err_ino)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

/* Tells `arenalab record` that this process's trace could not be written
 * (recpy_opts_t.failed). */
static void recpy_failed(const recpy_ctx_t *x)
{
    char name[PATH_MAX + 32];
    if (!x->opts->failed ||
        snprintf(name, sizeof name, "%s/%ld", x->opts->failed, (long)getpid()) >= (int)sizeof name)
        return;
    int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) close(fd);
}

/* Says why recording stopped (WHAT: how the failure came). */
static void recpy_report(recpy_ctx_t *x, const char *what, int rc)
{
    const rcore_t *c = &x->core;
    if (!c->lost) recpy_failed(x);
    if (c->lost)
        recpy_say(x,
                  "arenalab: record: the program closed or replaced the trace descriptor %d; "
                  "recording stopped after %llu events; %s is cut short\n",
                  c->lost_fd, (unsigned long long)c->events_out, x->path);
    else
        recpy_say(x, "arenalab: record: %s: %s%s\n", x->path, what, strerror(-rc));
}

/* Under the lock: stops recording after a failure of the core. */
static void recpy_check(recpy_ctx_t *x, int rc)
{
    if (rc >= 0 || !atomic_exchange(&x->on, 0)) return;
    recpy_report(x, "recording stopped: ", rc);
}

/* Under the lock: this thread's number, announced once per file. */
static uint32_t recpy_thread(recpy_ctx_t *x)
{
    if (!x->threads) return 0;
    if (!recpy_tls.thread) recpy_tls.thread = atomic_fetch_add(&x->nthreads, 1) + 1;
    if (recpy_tls.gen != x->gen) {
        char v[48];
        snprintf(v, sizeof v, "%u %ld", recpy_tls.thread, (long)syscall(SYS_gettid));
        recpy_check(x, rcore_marker(&x->core, "tid", v));
        recpy_tls.gen = x->gen;
    }
    return recpy_tls.thread;
}

static void recpy_record_alloc(recpy_dom_t *d, void *p, trace_op_t op, size_t nmemb, size_t size)
{
    recpy_ctx_t *x = d->x;
    if (!p) return;
    pthread_mutex_lock(&x->lock);
    if (atomic_load(&x->on)) {
        uint32_t t = recpy_thread(x);
        recpy_check(x, rcore_alloc(&x->core, (uintptr_t)p, op, nmemb, size, d->domain, t));
    }
    pthread_mutex_unlock(&x->lock);
}

/* ---- the hooks ------------------------------------------------------------ */

static void *recpy_malloc(void *ud, size_t n)
{
    recpy_dom_t *d = ud;
    if (recpy_tls.depth || !atomic_load(&d->x->on)) return d->orig.malloc(d->orig.ctx, n);
    recpy_tls.depth++;
    void *p = d->orig.malloc(d->orig.ctx, n);
    recpy_tls.depth--;
    recpy_record_alloc(d, p, TRACE_ALLOC, 0, n);
    return p;
}

static void *recpy_calloc(void *ud, size_t nmemb, size_t size)
{
    recpy_dom_t *d = ud;
    if (recpy_tls.depth || !atomic_load(&d->x->on)) return d->orig.calloc(d->orig.ctx, nmemb, size);
    recpy_tls.depth++;
    void *p = d->orig.calloc(d->orig.ctx, nmemb, size);
    recpy_tls.depth--;
    recpy_record_alloc(d, p, TRACE_CALLOC, nmemb, size);
    return p;
}

static void *recpy_realloc(void *ud, void *p, size_t n)
{
    recpy_dom_t *d = ud;
    recpy_ctx_t *x = d->x;
    if (recpy_tls.depth || !atomic_load(&x->on)) return d->orig.realloc(d->orig.ctx, p, n);
    if (!p) return recpy_malloc(ud, n);
    pthread_mutex_lock(&x->lock);
    recpy_tls.depth++;
    void *q = d->orig.realloc(d->orig.ctx, p, n);
    recpy_tls.depth--;
    /* CPython's reallocs never free on size 0: NULL is a failure. */
    if (q && atomic_load(&x->on)) {
        uint32_t t = recpy_thread(x);
        recpy_check(x, rcore_realloc(&x->core, (uintptr_t)p, (uintptr_t)q, n, d->domain, t));
    }
    pthread_mutex_unlock(&x->lock);
    return q;
}

static void recpy_free(void *ud, void *p)
{
    recpy_dom_t *d = ud;
    recpy_ctx_t *x = d->x;
    if (p && !recpy_tls.depth && atomic_load(&x->on)) {
        pthread_mutex_lock(&x->lock);
        if (atomic_load(&x->on)) {
            uint32_t t = recpy_thread(x);
            recpy_check(x, rcore_free(&x->core, (uintptr_t)p, t));
        }
        pthread_mutex_unlock(&x->lock);
    }
    recpy_tls.depth++;
    d->orig.free(d->orig.ctx, p);
    recpy_tls.depth--;
}

/* ---- the trace file --------------------------------------------------------- */

/* Creates the trace: OUT for the launched process, OUT.<pid>[.k] for a
 * forked child.  Returns 0 or -errno (reported). */
static int recpy_open(recpy_ctx_t *x, int child)
{
    const recpy_opts_t *o = x->opts;
    x->gen++;
    rcore_utc(x->created);
    snprintf(x->pid_s, sizeof x->pid_s, "%ld", (long)getpid());
    snprintf(x->ppid_s, sizeof x->ppid_s, "%ld", (long)getppid());
    trace_meta_entry_t e[9];
    size_t m = 0;
    e[m++] = (trace_meta_entry_t){"producer", "arenalab record --python " ARENALAB_VERSION
                                              " (PyMem_SetAllocator)"};
    e[m++] = (trace_meta_entry_t){"created", x->created};
    e[m++] = (trace_meta_entry_t){"command", x->command};
    e[m++] = (trace_meta_entry_t){"python", x->version};
    e[m++] = (trace_meta_entry_t){"pid", x->pid_s};
    e[m++] = (trace_meta_entry_t){"ppid", x->ppid_s};
    if (o->session) e[m++] = (trace_meta_entry_t){"session", o->session};
    e[m++] = (trace_meta_entry_t){RCORE_KEY_DROPPED, "0"};
    trace_meta_t meta = {m, e};
    int rc;
    if (!child) {
        snprintf(x->path, sizeof x->path, "%s", o->name ? o->name : o->out);
        rc = rcore_open_fd(&x->core, o->fd, &meta, o->bufsize, o->flush_ms);
    } else {
        rc = -EEXIST;
        for (unsigned k = 0; rc == -EEXIST && k < 1000; k++) {
            if (k == 0)
                snprintf(x->path, sizeof x->path, "%s.%s", o->out, x->pid_s);
            else
                snprintf(x->path, sizeof x->path, "%s.%s.%u", o->out, x->pid_s, k);
            rc = rcore_open(&x->core, x->path, 1, &meta, o->bufsize, o->flush_ms);
        }
    }
    if (rc < 0) {
        recpy_say(x, "arenalab: record: %s: %s\n", x->path, strerror(-rc));
        recpy_failed(x);
    }
    return rc;
}

static void recpy_finish(recpy_ctx_t *x)
{
    pthread_mutex_lock(&x->lock);
    if (atomic_exchange(&x->on, 0)) {
        int rc = rcore_finish(&x->core);
        if (rc < 0) recpy_report(x, "", rc);
        rcore_close(&x->core);
    }
    pthread_mutex_unlock(&x->lock);
}

/* The end of Py_FinalizeEx (Py_AtExit): see "Ctrl-C" above. */
static void recpy_finalized(void)
{
    recpy_ctx_t *x = &recpy_ctx;
    sigset_t intr, old;
    sigemptyset(&intr);
    sigaddset(&intr, SIGINT);
    if (pthread_sigmask(SIG_BLOCK, &intr, &old) == 0 && !sigismember(&old, SIGINT))
        x->held_sigint = 1;
    pthread_mutex_lock(&x->lock);
    if (atomic_load(&x->on)) recpy_check(x, rcore_flush(&x->core));
    pthread_mutex_unlock(&x->lock);
}

/* SystemExit in a -c command or a script ends in Py_Exit, which finalises
 * the interpreter and calls exit(): the trace is finished here then. */
static void recpy_atexit(void)
{
    recpy_finish(&recpy_ctx);
}

static void recpy_fork_prepare(void)
{
    recpy_ctx.fork_locked = atomic_load(&recpy_ctx.on);
    if (recpy_ctx.fork_locked) pthread_mutex_lock(&recpy_ctx.lock);
}

static void recpy_fork_parent(void)
{
    if (recpy_ctx.fork_locked) pthread_mutex_unlock(&recpy_ctx.lock);
}

static void recpy_fork_child(void)
{
    recpy_ctx_t *x = &recpy_ctx;
    if (!x->fork_locked) return;
    pthread_mutex_init(&x->lock, NULL);
    rcore_close(&x->core); /* the parent writes its own buffer */
    if (!x->opts->children || recpy_open(x, 1) < 0) atomic_store(&x->on, 0);
}

/* ---- running ---------------------------------------------------------------- */

static void recpy_command(recpy_ctx_t *x, int argc, char **argv)
{
    size_t n = 0;
    x->command[0] = '\0';
    for (int i = 0; i < argc && n + 2 < sizeof x->command; i++) {
        int w = snprintf(x->command + n, sizeof x->command - n, "%s%s", i ? " " : "", argv[i]);
        if (w < 0) break;
        n += (size_t)w;
        if (n >= sizeof x->command) n = sizeof x->command - 1;
    }
    /* Metadata values hold no control characters. */
    for (char *p = x->command; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = ' ';
    size_t len = strlen(x->command);
    while (len && x->command[len - 1] == ' ')
        x->command[--len] = '\0';
    snprintf(x->version, sizeof x->version, "%s", Py_GetVersion());
    char *sp = strchr(x->version, ' ');
    if (sp) *sp = '\0';
}

/* Py_ExitStatusException, after finishing the trace; returns only for an
 * exit status. */
static int recpy_status(recpy_ctx_t *x, PyStatus st)
{
    recpy_finish(x);
    if (PyStatus_IsExit(st)) return st.exitcode;
    Py_ExitStatusException(st);
    return 1;
}

int recpy_run(const recpy_opts_t *o, int argc, char **argv)
{
    recpy_ctx_t *x = &recpy_ctx;
    struct stat err_st;
    if (fstat(STDERR_FILENO, &err_st) == 0) {
        x->err_known = 1;
        x->err_dev = err_st.st_dev;
        x->err_ino = err_st.st_ino;
    }
    x->opts = o;
    x->threads = o->threads;
    /* argv[0] is the interpreter itself, so sys.executable and the prefix
     * come out as for python3 (our own binary is not a Python). */
    char exe[PATH_MAX];
    if (o->python)
        snprintf(exe, sizeof exe, "%s", o->python); /* a venv's python: its site-packages */
    else if (snprintf(exe, sizeof exe, "/usr/bin/python%d.%d", PY_MAJOR_VERSION, PY_MINOR_VERSION) >
                 0 &&
             access(exe, X_OK) != 0)
        snprintf(exe, sizeof exe, "python3");
    char *pyargv[argc + 2];
    pyargv[0] = exe;
    for (int i = 0; i < argc; i++)
        pyargv[i + 1] = argv[i];
    pyargv[argc + 1] = NULL;
    recpy_command(x, argc + 1, pyargv);
    /* PYTHONMALLOC and -X dev are applied here, so we wrap what they chose. */
    PyPreConfig pre;
    PyPreConfig_InitPythonConfig(&pre);
    PyStatus st = Py_PreInitializeFromBytesArgs(&pre, argc + 1, pyargv);
    if (PyStatus_Exception(st)) return recpy_status(x, st);

    if (recpy_open(x, 0) < 0) return CLI_USAGE;
    pthread_atfork(recpy_fork_prepare, recpy_fork_parent, recpy_fork_child);
    atexit(recpy_atexit);
    for (int d = 0; d < TRACE_NDOMAINS; d++) {
        recpy_dom_t *dom = &x->dom[d];
        dom->x = x;
        dom->domain = (uint8_t)d;
        PyMem_GetAllocator((PyMemAllocatorDomain)d, &dom->orig);
        PyMemAllocatorEx hook = {dom, recpy_malloc, recpy_calloc, recpy_realloc, recpy_free};
        PyMem_SetAllocator((PyMemAllocatorDomain)d, &hook);
    }
    atomic_store(&x->on, 1);

    PyConfig cfg;
    PyConfig_InitPythonConfig(&cfg);
    st = PyConfig_SetBytesArgv(&cfg, argc + 1, pyargv);
    if (!PyStatus_Exception(st)) st = Py_InitializeFromConfig(&cfg);
    PyConfig_Clear(&cfg);
    if (PyStatus_Exception(st)) return recpy_status(x, st);
    Py_AtExit(recpy_finalized);
    int rc = Py_RunMain();
    recpy_finish(x);
    if (x->held_sigint) { /* a pending SIGINT (see "Ctrl-C") ends us here */
        sigset_t intr;
        sigemptyset(&intr);
        sigaddset(&intr, SIGINT);
        pthread_sigmask(SIG_UNBLOCK, &intr, NULL);
    }
    return rc;
}
