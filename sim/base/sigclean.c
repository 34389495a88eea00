/* sigclean.c: the registry of files to remove on SIGINT, SIGTERM, SIGHUP.
 *
 * Static mutable state, on purpose.  The house rule is "no global mutable
 * state outside a context struct"; a signal handler receives no context,
 * so this module keeps its registry in statics: the list of entries, the
 * lock that guards it, and the handlers it replaced.  It is the second such
 * exception, beside the PARTIAL marker path of sim/cli/cmd_report.c; the
 * two coexist by chaining: `report` installs its handler first, each
 * output's temporary file registered here while it runs makes sigclean's
 * handler the outer one, which removes the file and then calls
 * report_on_signal, which writes the marker and dies of the signal.  When
 * the last file is forgotten, report's handler is back in place.
 *
 * Concurrency.  The list is changed with the three signals blocked in the
 * changing thread and under a spin lock (an atomic_flag: lock-free, hence
 * usable from a handler).  The handler takes the same lock: in the thread
 * that holds it the signals are blocked, so the handler cannot interrupt
 * it there; in another thread the holder releases it within a few
 * instructions.  The handler runs with the three signals blocked, so it
 * never nests.  Entries carry the pid that registered them: a child forked
 * without exec inherits the list and the handler, and must not remove its
 * parent's files when it is the one that is signalled. */
#include "sim/base/sigclean.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sigclean_entry_s {
    sigclean_entry_t *next, *prev; /* the list, newest first          */
    pid_t pid;                     /* the process that registered it  */
    int dirfd;                     /* NAME's directory, or AT_FDCWD   */
    char name[];                   /* removed with unlinkat           */
};

enum { SIGCLEAN_NSIGNALS = 3 };

static const int sigclean_signals[SIGCLEAN_NSIGNALS] = {SIGINT, SIGTERM, SIGHUP};

static sigclean_entry_t *sigclean_head;                          /* guarded by the lock */
static atomic_flag sigclean_lock = ATOMIC_FLAG_INIT;             /* see above           */
static struct sigaction sigclean_replaced[SIGCLEAN_NSIGNALS];    /* valid when caught   */
static volatile sig_atomic_t sigclean_caught[SIGCLEAN_NSIGNALS]; /* ours is installed   */

_Static_assert(ATOMIC_BOOL_LOCK_FREE == 2, "the handler needs a lock-free atomic_flag");

static void sigclean_acquire(void)
{
    while (atomic_flag_test_and_set_explicit(&sigclean_lock, memory_order_acquire))
        ;
}

static void sigclean_release(void)
{
    atomic_flag_clear_explicit(&sigclean_lock, memory_order_release);
}

static void sigclean_set(sigset_t *set)
{
    sigemptyset(set);
    for (int i = 0; i < SIGCLEAN_NSIGNALS; i++)
        sigaddset(set, sigclean_signals[i]);
}

void sigclean_block(sigset_t *old)
{
    sigset_t set;
    sigclean_set(&set);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

void sigclean_unblock(const sigset_t *old)
{
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

void sigclean_now(void)
{
    int saved = errno;
    pid_t self = getpid();
    sigclean_acquire();
    for (sigclean_entry_t *e = sigclean_head; e; e = e->next)
        if (e->pid == self) unlinkat(e->dirfd, e->name, 0);
    sigclean_release();
    errno = saved;
}

/* Only async-signal-safe calls: getpid, unlinkat, sigaction, raise. */
static void sigclean_on_signal(int sig, siginfo_t *info, void *uctx)
{
    int saved = errno;
    pid_t self = getpid();
    struct sigaction next;
    memset(&next, 0, sizeof next);
    next.sa_handler = SIG_DFL;
    sigclean_acquire();
    for (sigclean_entry_t *e = sigclean_head; e; e = e->next)
        if (e->pid == self) unlinkat(e->dirfd, e->name, 0);
    for (int i = 0; i < SIGCLEAN_NSIGNALS; i++)
        if (sigclean_signals[i] == sig && sigclean_caught[i]) next = sigclean_replaced[i];
    sigclean_release();
    if (next.sa_flags & SA_SIGINFO) {
        next.sa_sigaction(sig, info, uctx);
    } else if (next.sa_handler == SIG_DFL) {
        /* Die of SIG as without us: it is blocked while we run, so the
         * raised one is delivered, to the default action, when we return. */
        sigaction(sig, &next, NULL);
        raise(sig);
    } else if (next.sa_handler != SIG_IGN) {
        next.sa_handler(sig);
    }
    errno = saved;
}

/* The list just became non-empty: catch every signal not ignored. */
static void sigclean_install(void)
{
    struct sigaction ours;
    memset(&ours, 0, sizeof ours);
    ours.sa_sigaction = sigclean_on_signal;
    ours.sa_flags = SA_SIGINFO | SA_RESTART;
    sigclean_set(&ours.sa_mask);
    for (int i = 0; i < SIGCLEAN_NSIGNALS; i++) {
        struct sigaction cur;
        if (sigaction(sigclean_signals[i], NULL, &cur) != 0) continue;
        if (!(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == SIG_IGN) continue;
        sigclean_replaced[i] = cur;
        if (sigaction(sigclean_signals[i], &ours, NULL) == 0) sigclean_caught[i] = 1;
    }
}

/* The list just became empty: put back what we replaced, unless someone
 * replaced us meanwhile. */
static void sigclean_uninstall(void)
{
    for (int i = 0; i < SIGCLEAN_NSIGNALS; i++) {
        if (!sigclean_caught[i]) continue;
        struct sigaction cur;
        if (sigaction(sigclean_signals[i], NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
            cur.sa_sigaction == sigclean_on_signal)
            sigaction(sigclean_signals[i], &sigclean_replaced[i], NULL);
        sigclean_caught[i] = 0;
    }
}

int sigclean_add(int dirfd, const char *name, sigclean_entry_t **out)
{
    size_t len = strlen(name);
    sigclean_entry_t *e = malloc(sizeof *e + len + 1);
    if (!e) {
        errno = ENOMEM;
        return -1;
    }
    e->pid = getpid();
    e->dirfd = dirfd;
    memcpy(e->name, name, len + 1);
    e->prev = NULL;
    sigset_t old;
    sigclean_block(&old);
    sigclean_acquire();
    e->next = sigclean_head;
    if (e->next) e->next->prev = e;
    sigclean_head = e;
    if (!e->next) sigclean_install();
    sigclean_release();
    sigclean_unblock(&old);
    *out = e;
    return 0;
}

void sigclean_remove(sigclean_entry_t *e)
{
    if (!e) return;
    sigset_t old;
    sigclean_block(&old);
    sigclean_acquire();
    if (e->prev)
        e->prev->next = e->next;
    else
        sigclean_head = e->next;
    if (e->next) e->next->prev = e->prev;
    if (!sigclean_head) sigclean_uninstall();
    sigclean_release();
    sigclean_unblock(&old);
    free(e);
}
