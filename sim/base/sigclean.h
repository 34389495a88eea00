/* sigclean.h: files removed when the process dies of SIGINT, SIGTERM or
 * SIGHUP, so an interrupted command leaves no temporary file behind.
 *
 * Invariants:
 *   - while at least one file is registered, each of the three signals
 *     that was not ignored when the first one was registered is caught by
 *     sigclean's handler; when the last one goes, the handler found then
 *     is put back (unless someone replaced sigclean's meanwhile);
 *   - the handler removes only the files registered by the process it runs
 *     in (a forked child never removes its parent's), then hands the signal
 *     to the handler it replaced (another module's, e.g. `report`'s PARTIAL
 *     marker), or dies of it as it would have without sigclean;
 *   - a signal that was ignored stays ignored (a command run with nohup or
 *     in the background of a script is not interrupted by it).
 *
 * A handler installed for these signals while files are registered must
 * chain to the one it replaces, or the files are not removed.  The three
 * signals are taken as fatal: a replaced handler that returns without
 * ending the process finds the registered files gone. */
#ifndef ARENALAB_SIM_BASE_SIGCLEAN_H
#define ARENALAB_SIM_BASE_SIGCLEAN_H

#include <signal.h>

typedef struct sigclean_entry_s sigclean_entry_t;

/* Blocks the three signals in the calling thread, saving its mask in OLD,
 * so that a file can be created and registered with no signal in between
 * (one that arrives meanwhile is delivered by sigclean_unblock, once the
 * file is registered).  Never fails. */
void sigclean_block(sigset_t *old);
/* Puts back the mask that sigclean_block saved. */
void sigclean_unblock(const sigset_t *old);

/* Registers NAME in the directory open as DIRFD (AT_FDCWD: the working
 * directory; any other must stay open until sigclean_remove) for removal
 * on a fatal signal; NAME is copied.  Returns 0 with *OUT set, or -1 with
 * errno ENOMEM (nothing registered). */
int sigclean_add(int dirfd, const char *name, sigclean_entry_t **out);

/* Forgets E and frees it; the file itself is not touched.  NULL: nothing.
 * Never fails. */
void sigclean_remove(sigclean_entry_t *e);

/* Removes every file this process registered, now: for another fatal
 * signal's handler (async-signal-safe).  Never fails. */
void sigclean_now(void);

#endif
