/* record_preload.c: libarenalab_record.so, the LD_PRELOAD recorder behind
 * `arenalab record` — every malloc-family call of a program, as a binary
 * trace (sim/trace/TRACE-FORMAT.md), without calling malloc itself.
 *
 * Layers.  The exported malloc, calloc, realloc, reallocarray, free,
 * memalign, posix_memalign, aligned_alloc, valloc, pvalloc and
 * malloc_usable_size call the next definitions (dlsym(RTLD_NEXT): libc's,
 * or another preloaded allocator's) and report to the core
 * (record_core.h), which keeps the pointer -> slot hash and the buffer.
 *
 * Ordering.  One mutex serialises the core.  The recorded order is a valid
 * serialisation of what happened because
 *   - malloc & co. record *after* the real call returned: nobody else can
 *     name the block before its `a` is written;
 *   - free records *before* the real free: no thread can get the address
 *     back from malloc before its `f` is written;
 *   - realloc holds the lock around the real call and its record, since it
 *     frees the old block and allocates the new one in one call.
 *
 * States (rec_ctx.state):
 *   UNINIT --first call or constructor--> INITING --> ON  (recording)
 *                                                 \-> OFF (no settings in
 *                                                     the environment, or a
 *                                                     failure: pass-through)
 *   ON --exit, _exit, fatal signal, write error--> OFF
 * INITING serves allocations from a static bootstrap arena (dlsym and
 * pthread_atfork allocate while we resolve the real functions); its blocks
 * are never passed to the real free or realloc.
 *
 * Per-thread state (thread-local, initial-exec so that reading it never
 * allocates): the thread's number for THREAD records, a `busy` flag that
 * makes calls made from inside the recorder (e.g. by the real realloc or
 * execvp) pass through unrecorded instead of deadlocking on the mutex, and
 * `holding` (and `locking`, wider) for signal handlers.  Everything else
 * is rec_ctx.
 *
 * Threads: numbered 1, 2, ... in the order of their first recorded event
 * (on by default; ARENALAB_RECORD_THREADS=0 turns THREAD records off); the
 * first event of each thread in a file is preceded by a marker
 * `tid "N KERNEL_TID"`.
 *
 * Files: the command opens the program's own trace and leaves it open
 * across its exec; ARENALAB_RECORD_FD says "N:DEV:INO".  The first image of
 * the process whose pid is ARENALAB_RECORD_ROOT takes descriptor N over
 * (the core moves it high, close-on-exec: record_core.h), if N still names
 * that device and inode: so a later image, whose N was closed by the exec
 * or is some file of the program's, never writes there.  Every other
 * process — a forked child, a posix_spawn'ed one, or an image that exec
 * replaced — writes ARENALAB_RECORD_OUT.<pid>-<comm> (its command name;
 * OUT.<pid>-<comm>.<k> when that exists: an exec'ed image of the same pid),
 * created with O_EXCL; with
 * ARENALAB_RECORD_CHILDREN=0 (an output that is not a regular file: one
 * stream holds one trace) they record nothing.  ARENALAB_RECORD_NAME is
 * the root trace's name in messages.  Metadata: producer, created,
 * command, exe, pid, ppid, session, dropped_frees.
 *
 * A program that closes or replaces the trace's descriptor through the C
 * library (close, dup2, dup3, close_range, closefrom) does not stop the
 * recording: the trace is moved out of the way first ("the trace's
 * descriptor" below).  By a raw system call (record_core.h notices it
 * before writing) it stops the recording: one message on stderr, the
 * trace stays cut short, nothing more is written.  Messages go to
 * descriptor 2 only while it is the file ARENALAB_RECORD_STDERR ("DEV:INO",
 * `arenalab record`'s own standard error; without it, descriptor 2 at
 * start) names: a program that closed everything may have its own file
 * there now, and the message is dropped (the trace still reads as cut
 * short, and `arenalab record`'s summary says so).  A trace that cannot
 * be created or written is also told to `arenalab record` by an empty
 * file named by the pid in its directory ARENALAB_RECORD_FAILED: its exit
 * status then says so, even of an output it cannot read back.
 *
 * fork: the child drops its copy of the parent's buffer and hash and starts
 * its own trace (the parent's live blocks are unknown there: their frees
 * are dropped and counted).  exec family: the file is finished (END, counts)
 * before the real call, under the lock, and reopened if the call fails.
 * _exit/_Exit and normal exit (a destructor) finish the file too.
 *
 * Crash safety.  SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT: flush (the trace
 * stays "cut short"); SIGTERM, SIGHUP, SIGPIPE: finish (the trace is
 * complete; `cmd | head` kills cmd with SIGPIPE).  Then the default action is
 * restored and the signal re-raised.  Handlers are installed only where the
 * disposition is the default; a program that installs its own keeps control.
 * SIGINT and SIGQUIT are left alone on purpose: programs look at those
 * dispositions (CPython raises KeyboardInterrupt only when SIGINT was SIG_DFL
 * at start, shells treat them specially), so a handler of ours would change
 * what they do; dying of one of them cuts the trace at the last flush (the
 * bounds below).  SIGKILL loses
 * what was not flushed: at most the buffer (ARENALAB_RECORD_BUFFER_KB,
 * default 64 KiB) and at most the last ARENALAB_RECORD_FLUSH_MS (default
 * 100 ms) + a quarter of it: a helper thread (signals blocked) wakes every
 * quarter interval and flushes a buffer that has been dirty for an interval,
 * and the core itself checks the clock every 32 events (so a busy program
 * needs no wake-up).  ARENALAB_RECORD_FLUSH_MS=0 disables both (and the
 * thread): then only the byte bound holds.
 *
 * Not covered: a vfork child or a raw clone() that records (the exec
 * wrappers and _exit check the pid and leave the parent's file alone);
 * statically linked programs (nothing to interpose).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sim/base/cli.h"
#include "sim/record/record_core.h"

/* The C library's own sigaction (exported as __sigaction), which ours
 * wraps (see "the program's signal dispositions"). */
extern int __sigaction(int, const struct sigaction *, struct sigaction *);

#define REC_EXPORT       __attribute__((visibility("default")))
#define REC_BOOT_SIZE    ((size_t)256 * 1024)
#define REC_CMDLINE      4096
#define REC_MAX_NAMES    1000
#define REC_META_MAX     10
#define REC_SIG_TRIES    250                    /* x 1 ms waiting for the lock in a handler */
#define REC_MOVE_WAIT_NS ((uint64_t)2000000000) /* calls a move waits for */

enum { REC_UNINIT, REC_INITING, REC_ON, REC_OFF };

typedef struct {
    void *(*malloc)(size_t);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void *(*reallocarray)(void *, size_t, size_t);
    void (*free)(void *);
    void *(*memalign)(size_t, size_t);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    size_t (*malloc_usable_size)(void *);
    int (*execve)(const char *, char *const[], char *const[]);
    int (*execv)(const char *, char *const[]);
    int (*execvp)(const char *, char *const[]);
    int (*execvpe)(const char *, char *const[], char *const[]);
    int (*fexecve)(int, char *const[], char *const[]);
    void (*exit_)(int);
    int (*close)(int);
    int (*dup2)(int, int);
    int (*dup3)(int, int, int);
    int (*close_range)(unsigned, unsigned, int); /* NULL: an older C library */
    void (*closefrom)(int);                      /* NULL: an older C library */
} rec_real_t;

typedef struct {
    uint32_t thread; /* number for THREAD records; 0 until the first event */
    uint32_t gen;    /* file generation whose `tid` marker we wrote        */
    int busy;        /* inside the recorder: calls pass through            */
    int holding;     /* this thread holds rec_ctx.lock                     */
    int locking;     /* ... or is taking or giving it back: a signal
                        handler's close must not wait for it          */
    int in_fdcall;   /* inside a descriptor wrapper (or moving the
                        trace): a handler's call there passes through */
} rec_tls_t;

/* Signals that end the process: flush (crash) or finish (a request). */
static const struct {
    int sig;
    int finish;
} rec_signals[] = {
    {SIGSEGV, 0}, {SIGBUS, 0},  {SIGILL, 0}, {SIGFPE, 0},
    {SIGABRT, 0}, {SIGTERM, 1}, {SIGHUP, 1}, {SIGPIPE, 1},
};

typedef struct {
    _Atomic int state;         /* REC_*                                       */
    _Atomic int trace_fd;      /* core.fd while ON, else -1: set at unlock    */
    pthread_mutex_t lock;      /* serialises core, state changes, exec        */
    rcore_t core;              /* the trace                                   */
    rec_real_t real;           /* the functions we wrap                       */
    pid_t pid;                 /* process the core belongs to                 */
    int threads;               /* write THREAD records                        */
    int children;              /* other processes and images record           */
    unsigned flush_ms;         /* time bound of a flush; 0: none              */
    size_t bufsize;            /* byte bound of a flush                       */
    _Atomic uint32_t nthreads; /* thread numbers handed out                   */
    uint32_t gen;              /* files opened by this process image          */
    _Atomic int flusher;       /* the idle flusher runs                       */
    int fork_locked;           /* prepare took the lock                       */
    int exec_held;             /* exec wrapper finished the file              */
    _Atomic int reported;      /* a failure was reported on stderr            */
    int err_known;             /* err_dev/err_ino name the recorder's stderr  */
    uint64_t err_dev, err_ino; /* messages go to fd 2 only while it is that   */
    char failed[PATH_MAX];     /* ARENALAB_RECORD_FAILED: where to say a trace
                                  could not be written ("": nowhere)          */
    char path[PATH_MAX + 32];  /* this process's trace                        */
    char cmdline[REC_CMDLINE]; /* metadata values ...                         */
    char exe[PATH_MAX];        /*                                             */
    char created[21];          /*                                             */
    char pid_s[24];            /*                                             */
    char ppid_s[24];           /*                                             */
    char session[64];          /*                                             */
    trace_meta_entry_t meta[REC_META_MAX];
    /* The descriptor wrappers' (on a cache line of their own: a program
     * that closes in a loop must not slow every recorded call down). */
    _Alignas(64) _Atomic int fd_moving; /* a move of the trace waits or runs */
    _Atomic unsigned fd_calls;          /* program calls under way (counted) */
    _Atomic size_t boot_used;           /* bump pointer of the bootstrap arena         */
    _Alignas(64) unsigned char boot[REC_BOOT_SIZE];
} rec_ctx_t;

static rec_ctx_t rec_ctx = {.lock = PTHREAD_MUTEX_INITIALIZER, .trace_fd = -1};
static __thread rec_tls_t rec_tls __attribute__((tls_model("initial-exec")));

/* ---- small malloc-free helpers ----------------------------------------- */

/* Appends S to BUF (capacity CAP, length *LEN), truncating; keeps a NUL. */
static void rec_cat(char *buf, size_t cap, size_t *len, const char *s)
{
    while (*s && *len + 1 < cap)
        buf[(*len)++] = *s++;
    buf[*len] = '\0';
}

static void rec_cat_u64(char *buf, size_t cap, size_t *len, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    char rev[24];
    for (int i = 0; i < n; i++)
        rev[i] = tmp[n - 1 - i];
    rev[n] = '\0';
    rec_cat(buf, cap, len, rev);
}

/* Decimal S, or DEF when S is NULL or not a number. */
static uint64_t rec_num(const char *s, uint64_t def)
{
    uint64_t v = 0;
    if (!s || !*s) return def;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > UINT64_MAX / 10 - 1) return def;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    return v;
}

static void rec_say(const char *a, const char *b, const char *c)
{
    char msg[PATH_MAX + 256];
    size_t n = 0;
    rec_cat(msg, sizeof msg, &n, "arenalab: record: ");
    rec_cat(msg, sizeof msg, &n, a);
    rec_cat(msg, sizeof msg, &n, b);
    rec_cat(msg, sizeof msg, &n, c);
    rec_cat(msg, sizeof msg, &n, "\n");
    /* Descriptor 2 may be the program's own file by now (a daemon that
     * closed everything and opened its log): written only while it is
     * still the standard error `arenalab record` gave the program. */
    struct stat st;
    if (!rec_ctx.err_known || fstat(STDERR_FILENO, &st) != 0 ||
        (uint64_t)st.st_dev != rec_ctx.err_dev || (uint64_t)st.st_ino != rec_ctx.err_ino)
        return;
    /* (system calls, here and in rec_failed: the C library's are
     * cancellation points, and this runs under the lock) */
    long w = syscall(SYS_write, STDERR_FILENO, msg, n);
    (void)w;
}

/* Tells `arenalab record` that this process's trace could not be written
 * (created, or written to the end): an empty file named by our pid in its
 * private directory ARENALAB_RECORD_FAILED, which it reads once the
 * program ended, so that its exit status says so even for an output it
 * cannot read back (a device, a FIFO).  Only open(2): the signal handler
 * may come here too. */
static void rec_failed(void)
{
    if (!rec_ctx.failed[0]) return;
    char name[PATH_MAX + 32];
    size_t n = 0;
    rec_cat(name, sizeof name, &n, rec_ctx.failed);
    rec_cat(name, sizeof name, &n, "/");
    rec_cat_u64(name, sizeof name, &n, (uint64_t)getpid());
    long fd = syscall(SYS_openat, AT_FDCWD, name,
                      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) syscall(SYS_close, fd);
}

/* Metadata values: no control characters, no blanks at either end. */
static void rec_clean(char *s)
{
    size_t n = strlen(s), start = 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) s[i] = ' ';
    while (start < n && s[start] == ' ')
        start++;
    while (n > start && s[n - 1] == ' ')
        n--;
    memmove(s, s + start, n - start);
    s[n - start] = '\0';
    if (!*s) memcpy(s, "?", 2);
}

/* ---- bootstrap arena ---------------------------------------------------- */

static int rec_is_boot(const void *p)
{
    const unsigned char *b = rec_ctx.boot;
    return (const unsigned char *)p >= b && (const unsigned char *)p < b + REC_BOOT_SIZE;
}

/* A never-freed block of N bytes aligned to ALIGN (a power of two); its
 * size is kept in the 8 bytes before it.  NULL when the arena is full. */
static void *rec_boot_alloc(size_t n, size_t align)
{
    if (align < 16) align = 16;
    if (align > REC_BOOT_SIZE / 4 || n > REC_BOOT_SIZE) return NULL;
    uintptr_t base = (uintptr_t)rec_ctx.boot;
    size_t used = atomic_load(&rec_ctx.boot_used), start, end;
    do {
        start = (size_t)(((base + used + 8 + align - 1) & ~(uintptr_t)(align - 1)) - base);
        end = start + n;
        if (end > REC_BOOT_SIZE) return NULL;
    } while (!atomic_compare_exchange_weak(&rec_ctx.boot_used, &used, end));
    unsigned char *p = rec_ctx.boot + start;
    memcpy(p - 8, &n, sizeof n);
    return p;
}

static size_t rec_boot_size(const void *p)
{
    size_t n;
    memcpy(&n, (const unsigned char *)p - 8, sizeof n);
    return n;
}

/* ---- locking ------------------------------------------------------------ */

static void rec_lock(void)
{
    rec_tls.locking = 1;
    pthread_mutex_lock(&rec_ctx.lock);
    rec_tls.holding = 1;
}

/* The trace's descriptor as the descriptor wrappers see it without the
 * lock (they take it only for that number).  Stored only when it changed:
 * this runs at the end of every recorded call. */
static void rec_publish_fd(void)
{
    int fd =
        atomic_load_explicit(&rec_ctx.state, memory_order_relaxed) == REC_ON ? rec_ctx.core.fd : -1;
    if (atomic_load_explicit(&rec_ctx.trace_fd, memory_order_relaxed) != fd)
        atomic_store_explicit(&rec_ctx.trace_fd, fd, memory_order_release);
}

static void rec_unlock(void)
{
    rec_publish_fd();
    rec_tls.holding = 0;
    pthread_mutex_unlock(&rec_ctx.lock);
    rec_tls.locking = 0;
}

/* Says once why recording stopped (WHAT: how the failure came).  Only
 * write(2): the signal handler uses it too. */
static void rec_report(const char *what, int rc)
{
    rcore_t *c = &rec_ctx.core;
    if (atomic_exchange(&rec_ctx.reported, 1)) return;
    if (!c->lost) {
        rec_say(rec_ctx.path, what, strerrordesc_np(-rc));
        rec_failed();
        return;
    }
    char msg[PATH_MAX + 256];
    size_t n = 0;
    rec_cat(msg, sizeof msg, &n, "the program closed or replaced the trace descriptor ");
    rec_cat_u64(msg, sizeof msg, &n, (uint64_t)c->lost_fd);
    rec_cat(msg, sizeof msg, &n, "; recording stopped after ");
    rec_cat_u64(msg, sizeof msg, &n, c->events_out);
    rec_cat(msg, sizeof msg, &n, " events; ");
    rec_say(msg, rec_ctx.path, " is cut short");
}

/* Under the lock: stops recording after a core failure (reported once). */
static void rec_check(int rc)
{
    if (rc >= 0) return;
    atomic_store(&rec_ctx.state, REC_OFF);
    rec_report(": recording stopped: ", rc);
}

/* Under the lock: this thread's number, announcing it once per file. */
static uint32_t rec_thread(void)
{
    if (!rec_ctx.threads) return 0;
    if (!rec_tls.thread) rec_tls.thread = atomic_fetch_add(&rec_ctx.nthreads, 1) + 1;
    if (rec_tls.gen != rec_ctx.gen) {
        char v[48];
        size_t n = 0;
        rec_cat_u64(v, sizeof v, &n, rec_tls.thread);
        rec_cat(v, sizeof v, &n, " ");
        rec_cat_u64(v, sizeof v, &n, (uint64_t)syscall(SYS_gettid));
        rec_check(rcore_marker(&rec_ctx.core, "tid", v));
        rec_tls.gen = rec_ctx.gen;
    }
    return rec_tls.thread;
}

/* ---- the trace file ----------------------------------------------------- */

static void rec_read_cmdline(void)
{
    size_t n = 0;
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t r;
        while (n + 1 < sizeof rec_ctx.cmdline &&
               (r = read(fd, rec_ctx.cmdline + n, sizeof rec_ctx.cmdline - 1 - n)) > 0)
            n += (size_t)r;
        close(fd);
    }
    /* NUL-separated arguments -> one line (arguments with blanks are not
     * quoted: this is provenance, not a replayable command). */
    for (size_t i = 0; i < n; i++)
        if (!rec_ctx.cmdline[i]) rec_ctx.cmdline[i] = ' ';
    rec_ctx.cmdline[n] = '\0';
    rec_clean(rec_ctx.cmdline);
    ssize_t e = readlink("/proc/self/exe", rec_ctx.exe, sizeof rec_ctx.exe - 1);
    rec_ctx.exe[e > 0 ? e : 0] = '\0';
    rec_clean(rec_ctx.exe);
}

/* Reads a decimal number up to ':' or the end of *S, past which *S moves.
 * Returns 0 or -1 (not a number). */
static int rec_field(const char **s, uint64_t *v)
{
    const char *p = *s;
    *v = 0;
    if (*p < '0' || *p > '9') return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (*v > UINT64_MAX / 10 - 1) return -1;
        *v = *v * 10 + (uint64_t)(*p - '0');
    }
    if (*p == ':')
        p++;
    else if (*p)
        return -1;
    *s = p;
    return 0;
}

/* The root trace's descriptor from SPEC "N:DEV:INO": N when it is open and
 * names that file, else -1 (closed by an exec, or the program's own). */
static int rec_root_fd(const char *spec)
{
    uint64_t fd, dev, ino;
    struct stat st;
    if (!spec || rec_field(&spec, &fd) < 0 || rec_field(&spec, &dev) < 0 ||
        rec_field(&spec, &ino) < 0 || *spec || fd > INT_MAX)
        return -1;
    if (fstat((int)fd, &st) < 0 || (uint64_t)st.st_dev != dev || (uint64_t)st.st_ino != ino)
        return -1;
    return (int)fd;
}

/* Which file messages may go to, from SPEC "DEV:INO" (the standard error
 * of `arenalab record`, passed down through every exec); without it (the
 * library preloaded by hand), whatever descriptor 2 is now. */
static void rec_stderr(const char *spec)
{
    uint64_t dev, ino;
    struct stat st;
    if (spec && rec_field(&spec, &dev) == 0 && rec_field(&spec, &ino) == 0 && !*spec) {
        rec_ctx.err_dev = dev;
        rec_ctx.err_ino = ino;
        rec_ctx.err_known = 1;
    } else if (!spec && fstat(STDERR_FILENO, &st) == 0) {
        rec_ctx.err_dev = (uint64_t)st.st_dev;
        rec_ctx.err_ino = (uint64_t)st.st_ino;
        rec_ctx.err_known = 1;
    }
}

/* This image's command name (/proc/self/comm), made safe for a file name:
 * letters, digits, '_', '-' and '+' kept, anything else '_'; "" when it
 * cannot be read.  No malloc. */
static void rec_comm(char *buf, size_t cap)
{
    buf[0] = '\0';
    int fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t got = read(fd, buf, cap - 1);
    close(fd);
    if (got <= 0) return;
    buf[got] = '\0';
    for (ssize_t i = 0; i < got; i++) {
        char c = buf[i];
        if (c == '\n') {
            buf[i] = '\0';
            break;
        }
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-' || c == '+';
        if (!ok) buf[i] = '_';
    }
}

/* Opens this process's trace (see the naming rule above).  Returns 0 or
 * -errno. */
static int rec_open_trace(void)
{
    rec_ctx_t *x = &rec_ctx;
    const char *base = getenv("ARENALAB_RECORD_OUT");
    const char *session = getenv("ARENALAB_RECORD_SESSION");
    if (!base || !*base) return -ENOENT;
    x->pid = getpid();
    x->gen++;
    size_t n = 0;
    rec_read_cmdline();
    rcore_utc(x->created);
    rec_cat_u64(x->pid_s, sizeof x->pid_s, &n, (uint64_t)x->pid);
    n = 0;
    rec_cat_u64(x->ppid_s, sizeof x->ppid_s, &n, (uint64_t)getppid());
    n = 0;
    rec_cat(x->session, sizeof x->session, &n, session && *session ? session : "none");
    rec_clean(x->session);
    size_t m = 0;
    x->meta[m++] =
        (trace_meta_entry_t){"producer", "arenalab record " ARENALAB_VERSION " (LD_PRELOAD)"};
    x->meta[m++] = (trace_meta_entry_t){"created", x->created};
    x->meta[m++] = (trace_meta_entry_t){"command", x->cmdline};
    x->meta[m++] = (trace_meta_entry_t){"exe", x->exe};
    x->meta[m++] = (trace_meta_entry_t){"pid", x->pid_s};
    x->meta[m++] = (trace_meta_entry_t){"ppid", x->ppid_s};
    x->meta[m++] = (trace_meta_entry_t){"session", x->session};
    x->meta[m++] = (trace_meta_entry_t){RCORE_KEY_DROPPED, "0"};
    trace_meta_t meta = {m, x->meta};

    int rc = -EEXIST, fd;
    if ((pid_t)rec_num(getenv("ARENALAB_RECORD_ROOT"), 0) == x->pid &&
        (fd = rec_root_fd(getenv("ARENALAB_RECORD_FD"))) >= 0) {
        const char *name = getenv("ARENALAB_RECORD_NAME");
        n = 0;
        rec_cat(x->path, sizeof x->path, &n, name && *name ? name : base);
        rc = rcore_open_fd(&x->core, fd, &meta, x->bufsize, x->flush_ms);
        if (rc < 0) {
            rec_say(x->path, ": cannot write the trace: ", strerrordesc_np(-rc));
            rec_failed();
        }
        return rc;
    }
    if (!x->children) return -ENOENT;
    char comm[32];
    rec_comm(comm, sizeof comm);
    for (unsigned k = 0; rc == -EEXIST && k < REC_MAX_NAMES; k++) {
        n = 0;
        rec_cat(x->path, sizeof x->path, &n, base);
        rec_cat(x->path, sizeof x->path, &n, ".");
        rec_cat_u64(x->path, sizeof x->path, &n, (uint64_t)x->pid);
        if (*comm) {
            rec_cat(x->path, sizeof x->path, &n, "-");
            rec_cat(x->path, sizeof x->path, &n, comm);
        }
        if (k > 0) {
            rec_cat(x->path, sizeof x->path, &n, ".");
            rec_cat_u64(x->path, sizeof x->path, &n, k);
        }
        rc = rcore_open(&x->core, x->path, 1, &meta, x->bufsize, x->flush_ms);
    }
    if (rc < 0) {
        rec_say(x->path, ": cannot create the trace: ", strerrordesc_np(-rc));
        rec_failed();
    }
    return rc;
}

/* Finishes and closes the trace if this process owns one (exit paths). */
static void rec_end_interrupted(int finish);

static void rec_stop(void)
{
    if (atomic_load(&rec_ctx.state) != REC_ON || getpid() != rec_ctx.pid) return;
    if (rec_tls.locking) { /* _exit from a handler that interrupted us */
        rec_end_interrupted(1);
        return;
    }
    rec_lock();
    if (atomic_load(&rec_ctx.state) == REC_ON) {
        atomic_store(&rec_ctx.state, REC_OFF);
        int rc = rcore_finish(&rec_ctx.core);
        if (rc < 0) rec_report(": cannot finish the trace: ", rc);
        rcore_close(&rec_ctx.core);
    }
    rec_unlock();
}

/* ---- signals ------------------------------------------------------------ */

/* Ends recording from a signal handler (or _exit in one), in a thread
 * that may be inside the recorder: the lock is taken if it can be (this
 * thread may hold it already, another may hold it a while), and kept: the
 * process is ending.  FINISH: finish the trace when the lock was taken
 * cleanly (the event count must be exact), else flush it (cut short). */
static void rec_end_interrupted(int finish)
{
    /* The core is consistent between events (a record counts only once
     * whole), so if this thread was interrupted inside it we write what it
     * holds; if another thread holds the lock we wait a little. */
    int locked = 0;
    for (int i = 0; !rec_tls.holding && i < REC_SIG_TRIES; i++) {
        if (pthread_mutex_trylock(&rec_ctx.lock) == 0) {
            locked = 1;
            break;
        }
        struct timespec ms = {0, 1000000};
        syscall(SYS_nanosleep, &ms, NULL); /* not a cancellation point */
    }
    if (atomic_exchange(&rec_ctx.state, REC_OFF) == REC_ON) {
        int rc = finish && locked ? rcore_finish(&rec_ctx.core) : rcore_flush(&rec_ctx.core);
        if (rc < 0 && rec_ctx.core.lost) rec_report("", rc);
    }
}

static void rec_on_signal(int sig)
{
    int saved = errno, finish = 0;
    for (size_t i = 0; i < sizeof rec_signals / sizeof rec_signals[0]; i++)
        if (rec_signals[i].sig == sig) finish = rec_signals[i].finish;
    if (atomic_load(&rec_ctx.state) == REC_ON && getpid() == rec_ctx.pid)
        rec_end_interrupted(finish); /* the lock stays taken: the process dies below */
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigemptyset(&dfl.sa_mask);
    __sigaction(sig, &dfl, NULL); /* the C library's: ours would put us back */
    raise(sig);
    errno = saved;
}

/* Whether SIG is one whose death the recorder finishes or flushes. */
static int rec_takes(int sig)
{
    for (size_t i = 0; i < sizeof rec_signals / sizeof rec_signals[0]; i++)
        if (rec_signals[i].sig == sig) return 1;
    return 0;
}

static void rec_install_signals(void)
{
    for (size_t i = 0; i < sizeof rec_signals / sizeof rec_signals[0]; i++) {
        struct sigaction old, sa = {.sa_handler = rec_on_signal};
        if (sigaction(rec_signals[i].sig, NULL, &old) < 0 || old.sa_handler != SIG_DFL ||
            (old.sa_flags & SA_SIGINFO))
            continue;
        sigfillset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        sigaction(rec_signals[i].sig, &sa, NULL);
    }
}

/* ---- the idle flusher --------------------------------------------------- */

static void *rec_flusher(void *arg)
{
    (void)arg;
    uint64_t interval = (uint64_t)rec_ctx.flush_ms * 1000000u;
    struct timespec nap = {(time_t)(interval / 4 / 1000000000u),
                           (long)(interval / 4 % 1000000000u)};
    for (;;) {
        nanosleep(&nap, NULL);
        int s = atomic_load(&rec_ctx.state);
        if (s == REC_OFF) break;
        if (s != REC_ON) continue;
        rec_lock();
        if (atomic_load(&rec_ctx.state) == REC_ON && rec_ctx.core.len > 0 &&
            rcore_now() - rec_ctx.core.last_flush >= interval)
            rec_check(rcore_flush(&rec_ctx.core));
        rec_unlock();
    }
    atomic_store(&rec_ctx.flusher, 0);
    return NULL;
}

/* Starts the flusher thread with every signal blocked, so that signals go
 * to the program's own threads as they would without us. */
static void rec_start_flusher(void)
{
    if (!rec_ctx.flush_ms || atomic_exchange(&rec_ctx.flusher, 1)) return;
    pthread_attr_t attr;
    pthread_t t;
    sigset_t all, old;
    sigfillset(&all);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (pthread_create(&t, &attr, rec_flusher, NULL) != 0) atomic_store(&rec_ctx.flusher, 0);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
}

/* ---- fork --------------------------------------------------------------- */

static void rec_fork_prepare(void)
{
    rec_ctx.fork_locked = 0;
    if (atomic_load(&rec_ctx.state) != REC_ON || rec_tls.busy) return;
    rec_lock();
    rec_ctx.fork_locked = 1;
}

static void rec_fork_parent(void)
{
    if (rec_ctx.fork_locked) rec_unlock();
}

static void rec_fork_child(void)
{
    /* only this thread goes on: nobody is moving the trace or calling */
    atomic_store(&rec_ctx.fd_moving, 0);
    atomic_store(&rec_ctx.fd_calls, 0);
    if (!rec_ctx.fork_locked) return;
    pthread_mutex_init(&rec_ctx.lock, NULL);
    rec_tls.holding = 0;
    rec_tls.locking = 0;
    /* The parent flushes its own buffer; ours is a copy of it (and its
     * descriptor is ours to close, not to move: close() sees no trace). */
    atomic_store(&rec_ctx.trace_fd, -1);
    rcore_close(&rec_ctx.core);
    atomic_store(&rec_ctx.flusher, 0);
    if (rec_open_trace() < 0) {
        atomic_store(&rec_ctx.state, REC_OFF);
        return;
    }
    rec_publish_fd();
    rec_start_flusher();
}

/* ---- initialisation ----------------------------------------------------- */

#define REC_RESOLVE(field, name) (*(void **)&rec_ctx.real.field = dlsym(RTLD_NEXT, name))

/* Resolves the real functions and opens the trace.  Returns the new state
 * (INITING when another thread is initialising). */
static int rec_init(void)
{
    int expect = REC_UNINIT;
    if (!atomic_compare_exchange_strong(&rec_ctx.state, &expect, REC_INITING)) return expect;
    rec_stderr(getenv("ARENALAB_RECORD_STDERR"));
    const char *failed = getenv("ARENALAB_RECORD_FAILED");
    if (failed && failed[0] == '/' && strlen(failed) < sizeof rec_ctx.failed)
        memcpy(rec_ctx.failed, failed, strlen(failed) + 1);
    REC_RESOLVE(malloc, "malloc");
    REC_RESOLVE(calloc, "calloc");
    REC_RESOLVE(realloc, "realloc");
    REC_RESOLVE(reallocarray, "reallocarray");
    REC_RESOLVE(free, "free");
    REC_RESOLVE(memalign, "memalign");
    REC_RESOLVE(posix_memalign, "posix_memalign");
    REC_RESOLVE(aligned_alloc, "aligned_alloc");
    REC_RESOLVE(valloc, "valloc");
    REC_RESOLVE(pvalloc, "pvalloc");
    REC_RESOLVE(malloc_usable_size, "malloc_usable_size");
    REC_RESOLVE(execve, "execve");
    REC_RESOLVE(execv, "execv");
    REC_RESOLVE(execvp, "execvp");
    REC_RESOLVE(execvpe, "execvpe");
    REC_RESOLVE(fexecve, "fexecve");
    REC_RESOLVE(exit_, "_exit");
    REC_RESOLVE(close, "close");
    REC_RESOLVE(dup2, "dup2");
    REC_RESOLVE(dup3, "dup3");
    REC_RESOLVE(close_range, "close_range");
    REC_RESOLVE(closefrom, "closefrom");
    rec_real_t *r = &rec_ctx.real;
    if (!r->malloc || !r->calloc || !r->realloc || !r->free || !r->exit_ || !r->close || !r->dup2 ||
        !r->dup3) {
        rec_say("cannot find the C library's malloc, free, _exit, close, dup2 or dup3", "", "");
        abort();
    }
    rec_ctx.threads = rec_num(getenv("ARENALAB_RECORD_THREADS"), 1) != 0;
    rec_ctx.children = rec_num(getenv("ARENALAB_RECORD_CHILDREN"), 1) != 0;
    rec_ctx.flush_ms =
        (unsigned)rec_num(getenv("ARENALAB_RECORD_FLUSH_MS"), RCORE_DEFAULT_FLUSH_MS);
    uint64_t kb = rec_num(getenv("ARENALAB_RECORD_BUFFER_KB"), RCORE_DEFAULT_BUFFER / 1024);
    /* 16 KiB at least: the header (command line, exe) fits the buffer. */
    rec_ctx.bufsize = (size_t)(kb < 16 ? 16 : kb > (1u << 20) ? (1u << 20) : kb) * 1024;
    if (!getenv("ARENALAB_RECORD_OUT")) {
        atomic_store(&rec_ctx.state, REC_OFF);
        return REC_OFF;
    }
    pthread_atfork(rec_fork_prepare, rec_fork_parent, rec_fork_child);
    if (rec_open_trace() < 0) {
        atomic_store(&rec_ctx.state, REC_OFF);
        return REC_OFF;
    }
    rec_install_signals();
    /* the descriptor wrappers see the trace from the first recorded call */
    atomic_store(&rec_ctx.trace_fd, rec_ctx.core.fd);
    atomic_store(&rec_ctx.state, REC_ON);
    return REC_ON;
}

/* How this call goes: REC_ON (record it), REC_OFF (real function only) or
 * REC_INITING (bootstrap arena). */
static inline int rec_mode(void)
{
    int s = atomic_load_explicit(&rec_ctx.state, memory_order_acquire);
    if (__builtin_expect(s == REC_UNINIT, 0)) s = rec_init();
    if (s == REC_ON && rec_tls.busy) return REC_OFF;
    return s;
}

__attribute__((constructor)) static void rec_constructor(void)
{
    if (rec_mode() == REC_ON) rec_start_flusher();
}

__attribute__((destructor)) static void rec_destructor(void)
{
    rec_stop();
}

/* ---- recording ---------------------------------------------------------- */

static void rec_alloc(void *p, trace_op_t op, size_t nmemb, size_t size)
{
    if (!p) return;
    rec_lock();
    if (atomic_load(&rec_ctx.state) == REC_ON) {
        uint32_t t = rec_thread();
        rec_check(rcore_alloc(&rec_ctx.core, (uintptr_t)p, op, nmemb, size, TRACE_MEM, t));
    }
    rec_unlock();
}

/* ---- the program's signal dispositions ------------------------------------ *
 * A program that sets the default action for a signal the recorder takes
 * (SIGPIPE, SIGTERM, ... — coreutils' sort does, in its own handler, before
 * it re-raises the signal to die of it) would die without the last buffer:
 * a `sort | head` would leave sort's trace cut short.  So while recording,
 * SIG_DFL for those signals installs our handler instead, which finishes or
 * flushes the trace and then takes the default action; the program still
 * reads back SIG_DFL.  Handlers the program sets itself are left alone. */
REC_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    struct sigaction mine;
    if (act && act->sa_handler == SIG_DFL && !(act->sa_flags & SA_SIGINFO) && rec_takes(sig) &&
        atomic_load(&rec_ctx.state) == REC_ON && getpid() == rec_ctx.pid) {
        mine = *act;
        mine.sa_handler = rec_on_signal;
        sigfillset(&mine.sa_mask);
        mine.sa_flags = SA_RESTART;
        act = &mine;
    }
    int rc = __sigaction(sig, act, old);
    if (rc == 0 && old && !(old->sa_flags & SA_SIGINFO) && old->sa_handler == rec_on_signal)
        old->sa_handler = SIG_DFL; /* what the program set, as far as it knows */
    return rc;
}

REC_EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
    struct sigaction act = {.sa_handler = handler, .sa_flags = SA_RESTART}, old;
    sigemptyset(&act.sa_mask);
    return sigaction(sig, &act, &old) < 0 ? SIG_ERR : old.sa_handler;
}

REC_EXPORT void *malloc(size_t n)
{
    int m = rec_mode();
    if (m == REC_INITING) return rec_boot_alloc(n, 16);
    void *p = rec_ctx.real.malloc(n);
    if (m == REC_ON) rec_alloc(p, TRACE_ALLOC, 0, n);
    return p;
}

REC_EXPORT void *calloc(size_t nmemb, size_t size)
{
    int m = rec_mode();
    if (m == REC_INITING) {
        size_t n;
        /* The bootstrap arena is never reused, so it is still zero. */
        return __builtin_mul_overflow(nmemb, size, &n) ? NULL : rec_boot_alloc(n, 16);
    }
    void *p = rec_ctx.real.calloc(nmemb, size);
    if (m == REC_ON) rec_alloc(p, TRACE_CALLOC, nmemb, size);
    return p;
}

REC_EXPORT void free(void *p)
{
    if (!p || rec_is_boot(p)) return;
    int m = rec_mode();
    if (m == REC_INITING) return; /* cannot be ours to free yet */
    if (m == REC_ON) {
        rec_lock();
        if (atomic_load(&rec_ctx.state) == REC_ON) {
            uint32_t t = rec_thread();
            rec_check(rcore_free(&rec_ctx.core, (uintptr_t)p, t));
        }
        rec_unlock();
    }
    rec_ctx.real.free(p);
}

/* realloc and reallocarray: SIZE is the product for the latter; CALL does
 * the real call. */
static void *rec_resize(void *p, size_t size, int overflow, void *(*call)(void *, size_t, size_t),
                        size_t a, size_t b)
{
    if (p && rec_is_boot(p)) {
        /* Move it out of the bootstrap arena (never freed). */
        if (overflow) {
            errno = ENOMEM;
            return NULL;
        }
        void *q = malloc(size);
        if (q) memcpy(q, p, size < rec_boot_size(p) ? size : rec_boot_size(p));
        return q;
    }
    int m = rec_mode();
    if (m == REC_INITING) return p || overflow ? NULL : rec_boot_alloc(size, 16);
    if (m != REC_ON) return call(p, a, b);
    if (!p) {
        void *q = call(NULL, a, b);
        rec_alloc(q, TRACE_ALLOC, 0, size);
        return q;
    }
    rec_lock();
    rec_tls.busy = 1;
    void *q = call(p, a, b);
    int saved = errno;
    rec_tls.busy = 0;
    if (atomic_load(&rec_ctx.state) == REC_ON) {
        uint32_t t = rec_thread();
        if (q)
            rec_check(rcore_realloc(&rec_ctx.core, (uintptr_t)p, (uintptr_t)q, size, TRACE_MEM, t));
        else if (size == 0 && !overflow) /* realloc(p, 0) freed p */
            rec_check(rcore_free(&rec_ctx.core, (uintptr_t)p, t));
    }
    rec_unlock();
    errno = saved;
    return q;
}

static void *rec_call_realloc(void *p, size_t n, size_t unused)
{
    (void)unused;
    return rec_ctx.real.realloc(p, n);
}

static void *rec_call_reallocarray(void *p, size_t n, size_t m)
{
    size_t bytes;
    if (rec_ctx.real.reallocarray) return rec_ctx.real.reallocarray(p, n, m);
    if (__builtin_mul_overflow(n, m, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    return rec_ctx.real.realloc(p, bytes);
}

REC_EXPORT void *realloc(void *p, size_t n)
{
    return rec_resize(p, n, 0, rec_call_realloc, n, 0);
}

REC_EXPORT void *reallocarray(void *p, size_t nmemb, size_t size)
{
    size_t bytes;
    int overflow = __builtin_mul_overflow(nmemb, size, &bytes);
    return rec_resize(p, overflow ? 0 : bytes, overflow, rec_call_reallocarray, nmemb, size);
}

REC_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    int m = rec_mode();
    if (m == REC_INITING) {
        if (align < sizeof(void *) || (align & (align - 1))) return EINVAL;
        void *p = rec_boot_alloc(n, align);
        if (!p) return ENOMEM;
        *out = p;
        return 0;
    }
    int rc = rec_ctx.real.posix_memalign(out, align, n);
    if (m == REC_ON && rc == 0) rec_alloc(*out, TRACE_ALLOC, 0, n);
    return rc;
}

/* memalign, aligned_alloc, valloc, pvalloc: REAL(ALIGN, N) or REAL1(N). */
static void *rec_aligned(void *(*real)(size_t, size_t), void *(*real1)(size_t), size_t align,
                         size_t n)
{
    int m = rec_mode();
    if (m == REC_INITING) return (align & (align - 1)) ? NULL : rec_boot_alloc(n, align);
    if (!real && !real1) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = real ? real(align, n) : real1(n);
    if (m == REC_ON) rec_alloc(p, TRACE_ALLOC, 0, n);
    return p;
}

REC_EXPORT void *memalign(size_t align, size_t n)
{
    return rec_aligned(rec_ctx.real.memalign, NULL, align, n);
}

REC_EXPORT void *aligned_alloc(size_t align, size_t n)
{
    return rec_aligned(rec_ctx.real.aligned_alloc, NULL, align, n);
}

REC_EXPORT void *valloc(size_t n)
{
    return rec_aligned(NULL, rec_ctx.real.valloc, 4096, n);
}

REC_EXPORT void *pvalloc(size_t n)
{
    return rec_aligned(NULL, rec_ctx.real.pvalloc, 4096, n);
}

REC_EXPORT size_t malloc_usable_size(void *p)
{
    if (!p) return 0;
    if (rec_is_boot(p)) return rec_boot_size(p);
    if (rec_mode() == REC_INITING || !rec_ctx.real.malloc_usable_size) return 0;
    return rec_ctx.real.malloc_usable_size(p);
}

/* ---- exec and _exit ----------------------------------------------------- */

/* 1 when exec of FILE (searched in PATH when SEARCH and it has no '/')
 * must fail: no executable file there.  NULL (fexecve): 0, unknown. */
static int rec_exec_hopeless(const char *file, int search)
{
    if (!file) return 0;
    if (!search || strchr(file, '/')) return access(file, X_OK) != 0;
    const char *path = getenv("PATH");
    if (!path) path = "/bin:/usr/bin";
    for (const char *p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t dlen = end ? (size_t)(end - p) : strlen(p), n = 0;
        char full[PATH_MAX];
        if (dlen + strlen(file) + 2 <= sizeof full) {
            memcpy(full, dlen ? p : ".", dlen ? dlen : 1);
            n = dlen ? dlen : 1;
            full[n++] = '/';
            rec_cat(full, sizeof full, &n, file);
            if (access(full, X_OK) == 0) return 0;
        }
        if (!end) return 1;
        p = end;
    }
}

/* Before an exec: the file is finished under the lock, which stays taken
 * (other threads wait: they die with the exec).  A stream cannot take its
 * END back if the exec fails, so there an exec that cannot work (a shell
 * trying each PATH entry with execve) is left to fail unrecorded. */
static void rec_exec_begin(const char *file, int search)
{
    rec_ctx_t *x = &rec_ctx;
    /* (from a handler that interrupted the recorder: the lock may be this
     * thread's; the exec goes unrecorded, the trace cut at its last flush) */
    if (rec_mode() != REC_ON || getpid() != x->pid || rec_tls.locking) return;
    rec_lock();
    if (atomic_load(&x->state) != REC_ON || (x->core.stream && rec_exec_hopeless(file, search))) {
        rec_unlock();
        return;
    }
    rec_check(rcore_finish(&x->core));
    x->exec_held = 1;
    rec_tls.busy = 1;
}

/* The exec failed: recording goes on in the same file; a stream cannot
 * take its END back, so there it stops (the trace is whole up to here). */
static void rec_exec_failed(void)
{
    rec_ctx_t *x = &rec_ctx;
    if (!x->exec_held || !rec_tls.holding) return;
    int saved = errno;
    x->exec_held = 0;
    rec_tls.busy = 0;
    if (atomic_load(&x->state) == REC_ON && x->core.stream) {
        atomic_store(&x->state, REC_OFF);
        rcore_close(&x->core);
        if (!atomic_exchange(&x->reported, 1))
            rec_say(x->path, ": recording ended at a failed exec (not a regular file: ",
                    "the trace cannot be reopened)");
    } else if (atomic_load(&x->state) == REC_ON) {
        rec_check(rcore_reopen(&x->core));
    }
    rec_unlock();
    errno = saved;
}

REC_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    rec_exec_begin(path, 0);
    int rc = rec_ctx.real.execve(path, argv, envp);
    rec_exec_failed();
    return rc;
}

REC_EXPORT int execv(const char *path, char *const argv[])
{
    rec_exec_begin(path, 0);
    int rc = rec_ctx.real.execv(path, argv);
    rec_exec_failed();
    return rc;
}

REC_EXPORT int execvp(const char *file, char *const argv[])
{
    rec_exec_begin(file, 1);
    int rc = rec_ctx.real.execvp(file, argv);
    rec_exec_failed();
    return rc;
}

REC_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    rec_exec_begin(file, 1);
    int rc = rec_ctx.real.execvpe(file, argv, envp);
    rec_exec_failed();
    return rc;
}

REC_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    rec_exec_begin(NULL, 0);
    int rc = rec_ctx.real.fexecve(fd, argv, envp);
    rec_exec_failed();
    return rc;
}

/* execl, execlp, execle: the variadic arguments after ARG0 up to the NULL,
 * counted on a copy of AP. */
static size_t rec_va_count(const char *arg0, va_list ap)
{
    size_t n = 0;
    va_list cp;
    va_copy(cp, ap);
    if (arg0)
        while (va_arg(cp, char *))
            n++;
    va_end(cp);
    return n;
}

/* Fills ARGV (room for N + 2) with ARG0, the N arguments and the NULL; the
 * NULL itself is consumed from AP unless ARG0 was NULL. */
static void rec_va_fill(char **argv, const char *arg0, size_t n, va_list ap)
{
    argv[0] = (char *)arg0;
    for (size_t i = 1; i <= n; i++)
        argv[i] = va_arg(ap, char *);
    if (arg0) (void)va_arg(ap, char *);
    argv[n + 1] = NULL;
}

REC_EXPORT int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    size_t n = rec_va_count(arg, ap);
    char *argv[n + 2];
    rec_va_fill(argv, arg, n, ap);
    va_end(ap);
    return execv(path, argv);
}

REC_EXPORT int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    size_t n = rec_va_count(arg, ap);
    char *argv[n + 2];
    rec_va_fill(argv, arg, n, ap);
    va_end(ap);
    return execvp(file, argv);
}

REC_EXPORT int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    size_t n = rec_va_count(arg, ap);
    char *argv[n + 2];
    rec_va_fill(argv, arg, n, ap);
    char *const *envp = va_arg(ap, char *const *);
    va_end(ap);
    return execve(path, argv, envp);
}

/* ---- the trace's descriptor -------------------------------------------- *
 * A program may close or replace descriptors it never opened: a daemon's
 * closefrom(3), a child's close_range before exec, a loop of close over
 * every number, dup2 onto a number it picked.  The core checks before each
 * write that its number still names the trace (record_core.h), but between
 * that check and the write another thread could close the number and open
 * a file of its own there.  So the C library's close, dup2, dup3,
 * close_range and closefrom come here first, and the trace is kept out of
 * their way:
 *   - close, dup2, dup3 on the trace's number move the trace to another
 *     number first (rcore_move_fd, under the lock that serialises every
 *     write); the call then does what it was asked with the old one;
 *   - close_range and closefrom close their range around the trace's
 *     number (it stays open, close-on-exec).
 * Recording goes on.
 *
 * A move must not land on a number another thread is closing at that
 * instant (a loop of close over every number closes free ones too: it
 * would close the trace the move just put there), and a range must not
 * take the trace that moved into it.  So every other call counts itself
 * in fd_calls for its length, and a move first raises fd_moving and waits
 * for fd_calls to drain; calls that come during a move wait for it, then
 * look again where the trace is.  Two atomic operations a call, no lock:
 * a close that blocks (a socket that lingers) holds up a move and the
 * calls that come during it, never the recording; one that waits on a
 * thread which itself waits for the move (a FUSE file this very program
 * serves) is waited for 2 s, then the recording stops (cut short, one
 * message) and the program goes on.  A thread cancelled inside a counted
 * call (close is a cancellation point) gives its count back (a cleanup
 * handler); the waits of a move are not cancellation points.
 *
 * Only the program's own calls are taken: not the recorder's (made busy
 * or under the lock), not a signal handler's that interrupted this thread
 * inside the recorder or inside one of these wrappers (it would wait for
 * itself: the check before each write covers it), not a vfork child's
 * (its descriptor table is not the core's).  Recording also stops, cut
 * short, when no number >= rcore_fd_floor() is free to move to, and on a
 * raw system call (the check). */

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1u << 1)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1u << 2)
#endif

/* Whether this call is the program's own, in the process that owns the
 * trace, while recording. */
static int rec_program_call(void)
{
    return !rec_tls.busy && !rec_tls.locking && !rec_tls.in_fdcall &&
           atomic_load(&rec_ctx.state) == REC_ON && getpid() == rec_ctx.pid;
}

/* Waits a little: for a move, or for the calls a move waits for.  Not a
 * cancellation point (a move cancelled halfway would stop every later
 * call). */
static void rec_fd_pause(unsigned *spins)
{
    if (++*spins < 64) {
        sched_yield();
    } else {
        struct timespec us = {0, 50000};
        syscall(SYS_nanosleep, &us, NULL);
    }
}

/* The program's call is about to close or replace FD, the trace's: the
 * trace moves first, once the counted calls under way are done.  1: it
 * moved (FD is a duplicate of ours the call takes); 2: recording stopped
 * and FD is left to the call; 0: FD was not the trace's by now. */
static int rec_evict(int fd)
{
    int how = 0, idle = 0;
    unsigned spins = 0;
    rec_tls.in_fdcall = 1;
    while (!atomic_compare_exchange_weak(&rec_ctx.fd_moving, &idle, 1)) {
        idle = 0;
        rec_fd_pause(&spins);
    }
    uint64_t t0 = rcore_now();
    int drained = 1;
    for (spins = 0; atomic_load(&rec_ctx.fd_calls) != 0 && drained;) {
        rec_fd_pause(&spins);
        drained = rcore_now() - t0 < REC_MOVE_WAIT_NS;
    }
    rec_lock();
    if (atomic_load(&rec_ctx.state) == REC_ON && rec_ctx.core.fd == fd) {
        int rc = drained ? rcore_move_fd(&rec_ctx.core) : rcore_let_go(&rec_ctx.core);
        rec_check(rc);
        how = rc == 0 ? 1 : 2;
    }
    rec_unlock(); /* publishes the new number before the move ends */
    atomic_store(&rec_ctx.fd_moving, 0);
    rec_tls.in_fdcall = 0;
    return how;
}

/* Counts the program's call in fd_calls once no move runs (the caller has
 * set in_fdcall, so that a handler's call in between passes through). */
static void rec_fd_count(void)
{
    for (unsigned spins = 0;;) {
        atomic_fetch_add(&rec_ctx.fd_calls, 1);
        if (!atomic_load(&rec_ctx.fd_moving)) return;
        atomic_fetch_sub(&rec_ctx.fd_calls, 1);
        while (atomic_load(&rec_ctx.fd_moving))
            rec_fd_pause(&spins);
    }
}

/* The end of a counted call; also its cleanup when the thread is
 * cancelled inside it. */
static void rec_fd_done(void *unused)
{
    (void)unused;
    atomic_fetch_sub(&rec_ctx.fd_calls, 1);
    rec_tls.in_fdcall = 0;
}

/* Before the program's close, dup2 or dup3 of number FD.  Returns 1 when
 * the call is counted (FD is not the trace's, and no move can start
 * before rec_fd_done), 0 when it runs as it is: not the program's, or FD
 * was the trace's and the trace moved away or recording stopped
 * (*EVICTED: rec_evict's answer). */
static int rec_fd_begin(int fd, int *evicted)
{
    *evicted = 0;
    if (fd < 0 || !rec_program_call()) return 0;
    for (;;) {
        if (fd == atomic_load(&rec_ctx.trace_fd)) {
            /* 0: the trace had moved elsewhere meanwhile: look again */
            if ((*evicted = rec_evict(fd)) != 0) return 0;
            continue;
        }
        rec_tls.in_fdcall = 1;
        rec_fd_count();
        /* a move that ended just before may have put the trace on FD */
        if (fd != atomic_load(&rec_ctx.trace_fd)) return 1;
        rec_fd_done(NULL);
    }
}

/* rec_fd_done for a call that was counted (*COUNTED): the end of close,
 * and its cleanup when the thread is cancelled inside it. */
static void rec_fd_done_if(void *counted)
{
    if (*(int *)counted) rec_fd_done(NULL);
}

REC_EXPORT int close(int fd)
{
    if (rec_mode() == REC_INITING) return (int)syscall(SYS_close, fd);
    int saved = errno, evicted, rc;
    int counted = rec_fd_begin(fd, &evicted);
    pthread_cleanup_push(rec_fd_done_if, &counted);
    errno = saved;
    rc = rec_ctx.real.close(fd);
    saved = errno;
    pthread_cleanup_pop(1);
    errno = saved;
    return rc;
}

/* dup2 and dup3 onto NEWFD, as close (neither is a cancellation point):
 * when the trace was there and moved, and the call then fails, the
 * duplicate of ours left at NEWFD is closed (the program's call must not
 * leave a descriptor of ours behind). */
static int rec_dup_onto(int (*call)(int, int, int), int oldfd, int newfd, int flags)
{
    int saved = errno, evicted = 0;
    int counted = oldfd != newfd ? rec_fd_begin(newfd, &evicted) : 0;
    errno = saved;
    int rc = call(oldfd, newfd, flags);
    saved = errno;
    if (rc < 0 && evicted) rec_ctx.real.close(newfd);
    if (counted) rec_fd_done(NULL);
    errno = saved;
    return rc;
}

static int rec_call_dup2(int oldfd, int newfd, int unused)
{
    (void)unused;
    return rec_ctx.real.dup2(oldfd, newfd);
}

static int rec_call_dup3(int oldfd, int newfd, int flags)
{
    return rec_ctx.real.dup3(oldfd, newfd, flags);
}

REC_EXPORT int dup2(int oldfd, int newfd)
{
    if (rec_mode() == REC_INITING) {
        if (oldfd != newfd) return (int)syscall(SYS_dup3, oldfd, newfd, 0);
        return fcntl(oldfd, F_GETFD) < 0 ? -1 : newfd;
    }
    return rec_dup_onto(rec_call_dup2, oldfd, newfd, 0);
}

REC_EXPORT int dup3(int oldfd, int newfd, int flags)
{
    if (rec_mode() == REC_INITING) return (int)syscall(SYS_dup3, oldfd, newfd, flags);
    return rec_dup_onto(rec_call_dup3, oldfd, newfd, flags);
}

/* Every number of FIRST .. LAST closed (FLAGS 0), one at a time: a kernel
 * without close_range.  The top part (LAST ~0) goes to the C library's
 * closefrom, which finds the open ones in /proc. */
static void rec_close_each(unsigned first, unsigned last)
{
    if (last == ~0u && rec_ctx.real.closefrom && first <= (unsigned)INT_MAX) {
        rec_ctx.real.closefrom((int)first);
        return;
    }
    long max = sysconf(_SC_OPEN_MAX);
    unsigned top = max > 0 && (unsigned long)max - 1 < last ? (unsigned)(max - 1) : last;
    for (unsigned n = first; n <= top && n <= (unsigned)INT_MAX; n++)
        rec_ctx.real.close((int)n);
}

/* The C library's close_range, or the system call (an older library, or
 * while the recorder resolves its functions); with FALLBACK, a kernel
 * without it gets every number closed one at a time (flags 0 only). */
static int rec_real_close_range(unsigned first, unsigned last, int flags, int fallback)
{
    int r = atomic_load(&rec_ctx.state) != REC_INITING && rec_ctx.real.close_range
                ? rec_ctx.real.close_range(first, last, flags)
                : (int)syscall(SYS_close_range, first, last, flags);
    if (r < 0 && errno == ENOSYS && fallback && flags == 0) {
        rec_close_each(first, last);
        r = 0;
    }
    return r;
}

/* close_range (FALLBACK 0) or closefrom (1) of FIRST .. LAST, the
 * program's, counted: around the trace's number when it is in the range
 * (it cannot move while the call is counted).  Returns 0 (errno as it
 * was) or -1 with errno from the first part that failed. */
static int rec_close_around(unsigned first, unsigned last, int flags, int fallback)
{
    /* (volatile: the cleanup handler's setjmp; a cancelled call never
     * returns, so they are read only on the way out of a whole one) */
    volatile int rc = 0, err = errno;
    rec_tls.in_fdcall = 1;
    rec_fd_count();
    pthread_cleanup_push(rec_fd_done, NULL);
    rec_tls.busy = 1; /* the C library's closefrom may allocate */
    int fd = atomic_load(&rec_ctx.trace_fd);
    if (fd < 0 || (unsigned)fd < first || (unsigned)fd > last) {
        rc = rec_real_close_range(first, last, flags, fallback);
        if (rc < 0) err = errno;
    } else {
        unsigned ours = (unsigned)fd;
        if (ours > first) rc = rec_real_close_range(first, ours - 1, flags, fallback);
        if (rc < 0) err = errno;
        if (ours < last) {
            int r = rec_real_close_range(ours + 1, last, flags, fallback);
            if (r < 0 && rc == 0) {
                rc = r;
                err = errno;
            }
        }
    }
    rec_tls.busy = 0;
    pthread_cleanup_pop(1);
    errno = err;
    return rc;
}

/* A range that only sets close-on-exec, or flags the kernel refuses, goes
 * straight to it. */
REC_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
    if (rec_mode() != REC_INITING && first <= last && !(flags & ~(int)CLOSE_RANGE_UNSHARE) &&
        rec_program_call())
        return rec_close_around(first, last, flags, 0);
    return rec_real_close_range(first, last, flags, 0);
}

REC_EXPORT void closefrom(int lowfd)
{
    unsigned low = lowfd < 0 ? 0u : (unsigned)lowfd;
    int saved = errno; /* closefrom says nothing */
    int resolved = rec_mode() != REC_INITING;
    if (resolved && rec_program_call())
        rec_close_around(low, ~0u, 0, 1);
    else if (resolved && rec_ctx.real.closefrom)
        rec_ctx.real.closefrom(lowfd);
    else
        rec_real_close_range(low, ~0u, 0, 1);
    errno = saved;
}

REC_EXPORT void _exit(int code)
{
    rec_stop();
    if (rec_ctx.real.exit_) rec_ctx.real.exit_(code);
    for (;;)
        syscall(SYS_exit_group, code);
}

REC_EXPORT void _Exit(int code)
{
    _exit(code);
}
