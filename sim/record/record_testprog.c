/* record_testprog.c: a program for record_cli_test.sh to record under
 * libarenalab_record.so.  Built without sanitizers: ASan cannot run in a
 * process whose malloc is preloaded from a library that is not ASan's.
 *
 * Its own blocks have "magic" sizes (RTP_MAGIC_MIN .. RTP_MAGIC_MAX), which
 * the C library never asks for, so the test can tell its events from
 * libc's: every mode prints the number of events it caused on blocks of
 * magic size ("events N"), which the trace must hold exactly.
 *
 *   threads N OPS SEED  N threads trade blocks through a shared table
 *                       (atomic exchange), so blocks are freed by other
 *                       threads than the one that allocated them
 *   fork                K blocks, fork; the child allocates, frees a block
 *                       of its parent, then execs "exec-child"; the parent
 *                       exits with the child's status
 *   exec-child          allocates, exits 7
 *   abort | segv | term allocate, then abort / fault / SIGTERM themselves
 *   pipe                allocate, then write lines until SIGPIPE kills it
 *   sleep               allocate, print "ready", sleep 30 s (SIGKILL test)
 *   exit N              allocate, exit(N);   _exit N: the same with _exit
 *   apis                every interposed function once, checked
 *   closefds FILE       allocate, close every descriptor >= 3, then write
 *                       FILE in 20 lines with 100000 allocations between
 *                       them (the recorder flushes meanwhile), and check
 *                       it holds exactly those lines: prints "user file
 *                       intact" (exit 0) or "user file CORRUPT" (exit 1)
 *   clobber OUT         allocate, then dup2(1, N) over every descriptor N
 *                       that names OUT (found in /proc/self/fd), then
 *                       100000 allocations; exit 0, or 3 when none named it
 *   libcfds FILE OUT    as closefds, through the C library every way a
 *                       program closes or replaces descriptors it did not
 *                       open: close_range(3, ~0), FILE written; close()
 *                       of every number >= 4; dup2 and dup3 of FILE's
 *                       descriptor over every one that names OUT; closefrom
 *                       (4); FILE written again; prints "user file intact"
 *                       and "events N" (exit 0), or exit 1 when FILE holds
 *                       anything else
 *   fdrace FILE OUT ROUNDS  one thread allocates and frees (the recorder
 *                       flushes every buffer), one closes the 24 numbers
 *                       above the trace's without pause (a blind loop: the
 *                       trace's moves go there), and the main one ROUNDS
 *                       times closes the trace's current number (OUT,
 *                       found in /proc/self/fd), or puts FILE over it
 *                       (dup2, dup3) and closes that; FILE must stay empty;
 *                       prints "user file intact" and "events N", or exit 1
 *   cancel OUT          a thread closing an unused number in a loop is
 *                       cancelled (inside close), then the trace's number
 *                       (OUT's) is closed: prints how long that took, and
 *                       "events N"
 *   cancel-alloc        a thread allocating without pause is cancelled;
 *                       then this one allocates: prints "allocating after
 *                       the cancel" (a hang: the recorder's lock was left
 *                       taken by the cancelled thread)
 *   sigclose N OUT      N magic blocks (more until 20000 signals came, 20 s
 *                       at most; the trace's number, OUT's, closed every
 *                       1000) allocated and freed while another
 *                       thread signals this one without pause, and the
 *                       handler calls close and close_range on an unused
 *                       number: a handler that
 *                       interrupts the recorder while it takes or gives back
 *                       its lock must not wait for that lock (a hang);
 *                       prints "signals S" and "events N"
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RTP_MAGIC_MIN 40001
#define RTP_MAGIC_MAX 43000
#define RTP_TABLE     64 /* shared slots per thread */

typedef struct {
    _Atomic(void *) *table;
    size_t ntable;
    unsigned long ops;
    uint64_t seed;
    unsigned long events; /* magic events this thread caused */
} rtp_worker_t;

static uint64_t rtp_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static size_t rtp_size(uint64_t r)
{
    return RTP_MAGIC_MIN + (size_t)(r % (RTP_MAGIC_MAX - RTP_MAGIC_MIN));
}

static void *rtp_worker(void *arg)
{
    rtp_worker_t *w = arg;
    for (unsigned long i = 0; i < w->ops; i++) {
        uint64_t r = rtp_rand(&w->seed);
        size_t k = (size_t)(r >> 8) % w->ntable;
        void *p = atomic_exchange(&w->table[k], NULL);
        switch (r % 4) {
        case 0: /* free (or nothing when the slot was empty) */
            if (p) {
                free(p);
                w->events++;
            }
            p = NULL;
            break;
        case 1: /* resize */
            if (p) {
                void *q = realloc(p, rtp_size(r >> 20));
                if (q) {
                    p = q;
                    w->events++;
                }
            }
            break;
        default: /* replace */
            if (p) {
                free(p);
                w->events++;
            }
            p = (r & 16) ? calloc(1, rtp_size(r >> 20)) : malloc(rtp_size(r >> 20));
            if (p) {
                memset(p, 1, 64);
                w->events++;
            }
        }
        if (p) {
            void *old = atomic_exchange(&w->table[k], p);
            if (old) { /* another thread filled the slot meanwhile */
                free(old);
                w->events++;
            }
        }
    }
    return NULL;
}

static int rtp_threads(int n, unsigned long ops, uint64_t seed)
{
    size_t ntable = (size_t)n * RTP_TABLE;
    _Atomic(void *) *table = calloc(ntable, sizeof *table);
    rtp_worker_t *w = calloc((size_t)n, sizeof *w);
    pthread_t *t = calloc((size_t)n, sizeof *t);
    if (!table || !w || !t) return 2;
    for (int i = 0; i < n; i++) {
        w[i] = (rtp_worker_t){table, ntable, ops, seed * 7919 + (uint64_t)i + 1, 0};
        if (pthread_create(&t[i], NULL, rtp_worker, &w[i]) != 0) return 2;
    }
    unsigned long events = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        events += w[i].events;
    }
    for (size_t k = 0; k < ntable; k++) {
        void *p = atomic_load(&table[k]);
        if (p) {
            free(p);
            events++;
        }
    }
    free(t);
    free(w);
    free(table);
    printf("events %lu\n", events);
    return 0;
}

/* K magic blocks, half of them freed: 1.5 K events. */
static unsigned long rtp_some(int k, void **keep)
{
    unsigned long events = 0;
    for (int i = 0; i < k; i++) {
        void *p = malloc(RTP_MAGIC_MIN + (size_t)i);
        events++;
        if (i % 2) {
            free(p);
            events++;
        } else if (keep) {
            *keep = p;
        }
    }
    return events;
}

static int rtp_fork(const char *self)
{
    void *parents = NULL;
    unsigned long events = rtp_some(10, &parents);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return 2;
    if (pid == 0) {
        unsigned long ce = rtp_some(6, NULL);
        free(parents); /* allocated before the child's recording: dropped */
        printf("child %ld events %lu\n", (long)getpid(), ce);
        fflush(stdout);
        execl(self, self, "exec-child", (char *)NULL);
        _exit(3);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0) return 2;
    printf("events %lu\n", events);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}

/* Every interposed function once; returns the magic events, or 0 when a
 * result is wrong. */
static unsigned long rtp_apis(void)
{
    unsigned long ev = 0;
    size_t s = RTP_MAGIC_MIN;
    void *p = malloc(s), *q = calloc(1, s + 1), *r = NULL, *al, *m, *v, *pv;
    ev += 2;
    p = realloc(p, s + 2);
    ev++;
    r = realloc(NULL, s + 3); /* a */
    ev++;
    r = reallocarray(r, 1, s + 4);
    ev++;
    if (posix_memalign(&al, 256, s + 5) != 0 || ((uintptr_t)al & 255)) return 0;
    ev++;
    m = memalign(4096, s + 6);
    v = valloc(s + 7);
    pv = pvalloc(s + 8);
    void *aa = aligned_alloc(64, s + 9 - (s + 9) % 64 + 64);
    ev += 4;
    if (((uintptr_t)m & 4095) || ((uintptr_t)v & 4095) || ((uintptr_t)aa & 63)) return 0;
    if (malloc_usable_size(p) < s + 2) return 0;
    void *z = realloc(q, 0); /* frees q: an `f` */
    ev++;
    if (z) return 0;
    void *ps[] = {p, r, al, m, v, pv, aa};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        free(ps[i]);
        ev++;
    }
    free(NULL);
    return ev;
}

/* N magic blocks allocated and freed: enough events to fill the
 * recorder's buffer several times. */
static void rtp_churn(int n)
{
    for (int i = 0; i < n; i++) {
        void *p = malloc(RTP_MAGIC_MIN + (size_t)(i % 1000));
        if (p) *(volatile char *)p = 1;
        free(p);
    }
}

#define RTP_LINES 20

/* Writes RTP_LINES lines "WHO line K" to FD with allocations between them
 * (the recorder flushes meanwhile), then reads FD back from its start:
 * 0 when it holds exactly those lines, 1 when not, 2 when a call failed. */
static int rtp_lines(int fd, const char *who)
{
    char line[64], want[RTP_LINES * 64], got[sizeof want + 256];
    size_t wlen = 0;
    for (int k = 0; k < RTP_LINES; k++) {
        int n = snprintf(line, sizeof line, "%s line %d\n", who, k);
        if (write(fd, line, (size_t)n) != n) return 2;
        memcpy(want + wlen, line, (size_t)n);
        wlen += (size_t)n;
        rtp_churn(100000 / RTP_LINES);
    }
    ssize_t r = pread(fd, got, sizeof got, 0);
    return r == (ssize_t)wlen && !memcmp(got, want, wlen) ? 0 : 1;
}

static int rtp_closefds(const char *path)
{
    rtp_some(20, NULL);
    /* What a daemon or a careful child does before its own work. */
    if (syscall(SYS_close_range, 3u, ~0u, 0) != 0)
        for (long fd = 3, max = sysconf(_SC_OPEN_MAX); fd < max; fd++)
            syscall(SYS_close, fd); /* not the C library's: the recorder takes that */
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return 2;
    int rc = rtp_lines(fd, "user");
    close(fd);
    if (rc == 2) return 2;
    puts(rc == 0 ? "user file intact" : "user file CORRUPT");
    return rc;
}

/* The descriptors naming PATH (from /proc/self/fd), at most MAX: count. */
static int rtp_fds_of(const char *path, int *fds, int max)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL && n < max) {
        char target[PATH_MAX];
        ssize_t len = readlinkat(dirfd(d), e->d_name, target, sizeof target - 1);
        if (len <= 0) continue;
        target[len] = '\0';
        if (!strcmp(target, path)) fds[n++] = atoi(e->d_name);
    }
    if (d) closedir(d);
    return n;
}

/* The trace's current number (OUT's), or -1: looked for again while a
 * move of the trace (another thread's close) hides it from a listing. */
static int rtp_trace_fd(const char *out)
{
    int fds[8];
    for (int tries = 0; tries < 1000; tries++)
        if (rtp_fds_of(out, fds, 8) > 0) return fds[0];
    return -1;
}

/* The recorder's trace stays its own through every C library call that
 * closes or replaces a descriptor, and recording goes on: the trace is
 * whole. */
static int rtp_libcfds(const char *path, const char *out)
{
    unsigned long events = rtp_some(20, NULL);
    if (close_range(3, ~0u, 0) != 0) return 2;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd != 3) return 2;
    int rc = rtp_lines(fd, "user");
    events += 2 * 100000;
    long max = sysconf(_SC_OPEN_MAX);
    for (long n = 4; n < max && n < 65536; n++)
        close((int)n);
    /* a dup2 that fails onto the trace's number leaves no second
     * descriptor of the trace behind */
    int fds[64], k = rtp_fds_of(out, fds, 64);
    if (k != 1) return 3;
    if (dup2(999, fds[0]) != -1 || errno != EBADF) return 2;
    if (rtp_fds_of(out, fds, 64) != 1) {
        fprintf(stderr, "a failed dup2 left two descriptors of the trace\n");
        return 4;
    }
    /* the trace's number (wherever the closes moved it) taken over */
    k = rtp_fds_of(out, fds, 64);
    if (k < 1) return 3;
    for (int i = 0; i < k; i++)
        if (dup2(fd, fds[i]) != fds[i]) return 2;
    k = rtp_fds_of(out, fds, 64);
    if (k < 1) return 3;
    for (int i = 0; i < k; i++)
        if (dup3(fd, fds[i], O_CLOEXEC) != fds[i]) return 2;
    closefrom(4);
    if (rc == 0 && ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0) rc = rtp_lines(fd, "user");
    events += 2 * 100000;
    close(fd);
    if (rc == 2) return 2;
    puts(rc == 0 ? "user file intact" : "user file CORRUPT");
    printf("events %lu\n", events);
    return rc;
}

typedef struct {
    _Atomic int stop;
    unsigned long events;
    int first, last; /* the blind closer's numbers */
} rtp_race_t;

static void *rtp_racer(void *arg)
{
    rtp_race_t *r = arg;
    while (!atomic_load(&r->stop)) {
        rtp_churn(1000);
        r->events += 2 * 1000;
    }
    return NULL;
}

/* Closes every number of first .. last (those not open too), over and
 * over, as a loop over every descriptor does: a move of the trace must not
 * land on a number this is closing at that instant. */
static void *rtp_blind_closer(void *arg)
{
    rtp_race_t *r = arg;
    while (!atomic_load(&r->stop))
        for (int fd = r->first; fd <= r->last; fd++)
            close(fd);
    return NULL;
}

/* Another thread writes the trace (flushing every buffer) and another
 * closes the numbers where the trace's moves go, without pause, while this
 * one takes the trace's current number, over and over: closing it, or
 * putting FILE over it (dup2 and dup3 in turn) and closing that.  FILE is
 * never written: a byte in it is a byte of trace.  The recorder must move
 * the trace away under the lock of its writes, and never onto a number
 * the blind closer is closing at that instant. */
static int rtp_fdrace(const char *path, const char *out, int rounds)
{
    rtp_race_t race = {0, 0, 0, 0};
    pthread_t t, blind;
    int ufd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int fd0 = rtp_trace_fd(out);
    if (ufd < 0 || fd0 < 0) return 2;
    /* the numbers just above the trace's: the lowest free ones from the
     * recorder's floor up, where its moves go */
    race.first = fd0 + 1;
    race.last = fd0 + 24;
    if (pthread_create(&t, NULL, rtp_racer, &race) != 0 ||
        pthread_create(&blind, NULL, rtp_blind_closer, &race) != 0)
        return 2;
    for (int i = 0; i < rounds; i++) {
        /* (the blind closer moves the trace too) */
        int fd = rtp_trace_fd(out);
        if (fd < 0) return 3;
        if (i % 3 == 1 && dup2(ufd, fd) < 0) return 2;
        if (i % 3 == 2 && dup3(ufd, fd, O_CLOEXEC) < 0) return 2;
        rtp_churn(20);
        close(fd);
    }
    atomic_store(&race.stop, 1);
    pthread_join(t, NULL);
    pthread_join(blind, NULL);
    struct stat st;
    int rc = fstat(ufd, &st) == 0 && st.st_size == 0 ? 0 : 1;
    close(ufd);
    puts(rc == 0 ? "user file intact" : "user file CORRUPT");
    printf("events %lu\n", race.events + 2ul * 20 * (unsigned long)rounds);
    return rc;
}

static _Atomic unsigned long rtp_signals;
static _Atomic int rtp_sig_stop;

static void rtp_on_usr1(int sig)
{
    (void)sig;
    int saved = errno;
    /* not open: nothing closed, but each goes through the recorder */
    close(1000);
    close_range(1000, 1000, 0);
    atomic_fetch_add(&rtp_signals, 1);
    errno = saved;
}

/* Signals the main thread as fast as it can. */
static void *rtp_signaller(void *arg)
{
    pthread_t main_thread = *(pthread_t *)arg;
    while (!atomic_load(&rtp_sig_stop)) {
        pthread_kill(main_thread, SIGUSR1);
        for (volatile int spin = 0; spin < 2000; spin++)
            ;
    }
    return NULL;
}

static int rtp_sigclose(int n, const char *out)
{
    struct sigaction sa = {.sa_handler = rtp_on_usr1, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    pthread_t self = pthread_self(), t;
    if (sigaction(SIGUSR1, &sa, NULL) != 0 || pthread_create(&t, NULL, rtp_signaller, &self) != 0)
        return 2;
    /* at least N blocks, and on until 20000 signals came (a busy machine
     * may run the signaller late), 60 s at most */
    unsigned long blocks = 0;
    time_t t0 = time(NULL);
    while (blocks < (unsigned long)n ||
           (atomic_load(&rtp_signals) < 20000 && time(NULL) - t0 < 20)) {
        rtp_churn(1000);
        blocks += 1000;
        /* and the trace moved now and then (a handler's call may come in
         * the middle of the move) */
        int fd = rtp_trace_fd(out);
        if (fd >= 0) close(fd);
    }
    atomic_store(&rtp_sig_stop, 1);
    pthread_join(t, NULL);
    printf("signals %lu\n", atomic_load(&rtp_signals));
    printf("events %lu\n", 2ul * blocks);
    return 0;
}

static void *rtp_closer(void *arg)
{
    (void)arg;
    for (;;)
        close(5000); /* a cancellation point, inside the recorder's count */
    return NULL;
}

/* Allocates without end; its only cancellation point outside the
 * recorder comes every 100000 blocks, so a cancel lands while it is
 * allocating, where the recorder may be writing its buffer. */
static void *rtp_allocator(void *arg)
{
    (void)arg;
    for (;;) {
        rtp_churn(100000);
        pthread_testcancel();
    }
    return NULL;
}

/* A thread cancelled while it allocates must not leave the recorder's
 * lock taken: then this thread's next malloc would wait for ever. */
static int rtp_cancel_alloc(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, rtp_allocator, NULL) != 0) return 2;
    struct timespec ms = {0, 20000000};
    nanosleep(&ms, NULL);
    if (pthread_cancel(t) != 0 || pthread_join(t, NULL) != 0) return 2;
    rtp_churn(1000);
    puts("allocating after the cancel");
    return 0;
}

/* A thread cancelled inside close must give back what the recorder
 * counts: then closing the trace's number still moves it at once. */
static int rtp_cancel(const char *out)
{
    unsigned long events = rtp_some(20, NULL);
    pthread_t t;
    if (pthread_create(&t, NULL, rtp_closer, NULL) != 0) return 2;
    struct timespec ms = {0, 20000000};
    nanosleep(&ms, NULL);
    if (pthread_cancel(t) != 0 || pthread_join(t, NULL) != 0) return 2;
    int fds[8];
    if (rtp_fds_of(out, fds, 8) < 1) return 3;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    close(fds[0]);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
    rtp_churn(10000);
    events += 2 * 10000;
    printf("close took %.3f s\n", s);
    printf("events %lu\n", events);
    return 0;
}

/* A daemon's way: every descriptor closed, standard ones included, then
 * its own file opened (it becomes 0) and put on 1 and 2 as well.  The file
 * must hold its lines and nothing else: the recorder, finding its trace's
 * descriptor gone, must not say so on a descriptor 2 that is now the
 * program's file.  Exit 0 when intact, 1 when not (standard output is the
 * file: nothing is printed). */
static int rtp_closeall(const char *path)
{
    rtp_some(20, NULL);
    if (syscall(SYS_close_range, 0u, ~0u, 0) != 0)
        for (long fd = 0, max = sysconf(_SC_OPEN_MAX); fd < max; fd++)
            syscall(SYS_close, fd);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd != 0 || dup2(fd, 1) != 1 || dup2(fd, 2) != 2) return 2;
    return rtp_lines(fd, "daemon");
}

static int rtp_clobber(const char *out)
{
    rtp_some(20, NULL);
    int fds[64], n = rtp_fds_of(out, fds, 64);
    for (int i = 0; i < n; i++) {
        fprintf(stderr, "clobbering descriptor %d\n", fds[i]);
        if (dup2(STDOUT_FILENO, fds[i]) < 0) return 2;
    }
    if (n == 0) {
        fprintf(stderr, "no descriptor names %s\n", out);
        return 3;
    }
    rtp_churn(100000);
    puts("clobbered");
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "threads") && argc == 5)
        return rtp_threads(atoi(argv[2]), strtoul(argv[3], NULL, 10), strtoull(argv[4], NULL, 10));
    if (!strcmp(mode, "fork")) return rtp_fork(argv[0]);
    if (!strcmp(mode, "exec-child")) {
        printf("exec-child events %lu\n", rtp_some(8, NULL));
        return 7;
    }
    if (!strcmp(mode, "closefds") && argc == 3) return rtp_closefds(argv[2]);
    if (!strcmp(mode, "clobber") && argc == 3) return rtp_clobber(argv[2]);
    if (!strcmp(mode, "closeall") && argc == 3) return rtp_closeall(argv[2]);
    if (!strcmp(mode, "libcfds") && argc == 4) return rtp_libcfds(argv[2], argv[3]);
    if (!strcmp(mode, "sigclose") && argc == 4) return rtp_sigclose(atoi(argv[2]), argv[3]);
    if (!strcmp(mode, "cancel") && argc == 3) return rtp_cancel(argv[2]);
    if (!strcmp(mode, "cancel-alloc")) return rtp_cancel_alloc();
    if (!strcmp(mode, "fdrace") && argc == 5) return rtp_fdrace(argv[2], argv[3], atoi(argv[4]));
    if (!strcmp(mode, "apis")) {
        unsigned long ev = rtp_apis();
        printf("events %lu\n", ev);
        return ev ? 0 : 1;
    }
    printf("events %lu\n", rtp_some(20, NULL));
    if (!strcmp(mode, "abort")) abort();
    if (!strcmp(mode, "segv")) {
        raise(SIGSEGV); /* as a fault would, without a compiler warning */
    }
    if (!strcmp(mode, "term")) {
        kill(getpid(), SIGTERM);
        pause();
    }
    if (!strcmp(mode, "pipe")) /* until SIGPIPE (`| head -1`) */
        for (;;)
            puts("y");
    if (!strcmp(mode, "sleep")) {
        printf("ready %ld\n", (long)getpid());
        sleep(30);
        return 0;
    }
    if (!strcmp(mode, "exit") && argc == 3) exit(atoi(argv[2]));
    if (!strcmp(mode, "_exit") && argc == 3) _exit(atoi(argv[2]));
    fprintf(stderr, "usage: record_testprog threads N OPS SEED | fork | abort | segv | term | "
                    "pipe | sleep | exit N | _exit N | apis | closefds FILE | clobber OUT | "
                    "closeall FILE | libcfds FILE OUT | fdrace FILE OUT ROUNDS | sigclose N OUT | "
                    "cancel OUT | cancel-alloc\n");
    return 2;
}
