/* outfile.h: output files that never look complete while half-written,
 * and never destroy what is not a file.
 *
 * Where the bytes go depends on what PATH is when outfile_open looks:
 *
 *   "-"                  standard output, written in place.
 *   nothing, or a        a new file in PATH's directory, "NAME.tmp.XXXXXXXXXXXX"
 *   regular file         (random suffix; created O_CREAT|O_EXCL|O_NOFOLLOW with
 *                        mode 0666 & ~umask, or the mode of the file it will
 *                        replace), renamed over PATH by outfile_commit and
 *                        removed by outfile_abort, a failed commit, or
 *                        SIGINT/SIGTERM/SIGHUP (sim/base/sigclean.h).  A
 *                        file the caller may not write (read-only, another
 *                        user's) is an error, as writing into it would be.
 *   a symbolic link      followed (up to 40 links, relative ones from the
 *                        link's directory) to the path it names, which is
 *                        treated by these rules: a file there is replaced
 *                        as above, the link stays a link.
 *   a character or       opened and written in place: no temporary file, no
 *   block device, FIFO   rename, never removed.
 *   a link in /proc      (/dev/stdout, /dev/fd/N, /proc/self/fd/N): written in
 *                        place through the link; one of this process's own
 *                        descriptors is shared (dup), so its offset is too.
 *   a directory, socket  an error.
 *
 * The decision is taken when the output is opened; a replaced file's
 * target that is no longer a regular file at the commit (a FIFO or device
 * made there meanwhile) is not replaced: the commit fails.
 *
 * "No half-written output": a replaced file appears complete or not at all.
 * An output written in place (standard output, a device, a FIFO) receives
 * its bytes as they are produced and cannot be taken back: a reader sees a
 * prefix when the command fails, and the command's exit status is the only
 * sign of it.  Commands check for every write error, so the status is
 * reliable.
 *
 * Errors: functions that can fail return 0 or -1 with "PATH: reason" in
 * ERR (PATH as the caller gave it).  outfile_abort never fails. */
#ifndef ARENALAB_SIM_BASE_OUTFILE_H
#define ARENALAB_SIM_BASE_OUTFILE_H

#include <stddef.h>
#include <stdio.h>

#include "sim/base/sigclean.h"

typedef enum {
    OUTFILE_NONE,    /* not open (a zeroed outfile_t)                */
    OUTFILE_STDOUT,  /* "-": stdout itself                           */
    OUTFILE_REPLACE, /* a temporary file renamed over the target     */
    OUTFILE_DIRECT,  /* a device, FIFO or /proc link, written in place */
} outfile_kind_t;

typedef struct {
    FILE *fp;                /* write here                                       */
    outfile_kind_t kind;     /* how the bytes reach the output                   */
    char *path;              /* as given (messages); NULL for stdout             */
    char *name;              /* REPLACE: the target's name in dirfd              */
    char *tmp;               /* REPLACE: the temporary file's name in dirfd      */
    int dirfd;               /* REPLACE: the target's directory (O_PATH), else -1 */
    sigclean_entry_t *guard; /* REPLACE: removes tmp on a fatal signal           */
} outfile_t;

/* Opens PATH for writing by the rules above; MODE is "w" or "wb".  A FIFO
 * blocks until it has a reader, as a shell redirection does.  Returns 0, or
 * -1 with "PATH: reason" in ERR (nothing was created). */
int outfile_open(outfile_t *o, const char *path, const char *mode, char *err, size_t errlen);

/* Whether outfile_open would write PATH in place (standard output, a
 * device, a FIFO, a /proc link): then a command that fails leaves it with
 * what it wrote before, and must not say it was not written.  1 or 0 (0
 * also when PATH cannot be looked at: outfile_open would fail). */
int outfile_in_place(const char *path);

/* Whether PATH, written by outfile_open, would replace the existing regular
 * file IN (the same file, through names or symbolic links): a command that
 * reads IN and writes PATH would leave the user without their input.  1 or
 * 0 ('-', a missing file, anything not regular: 0). */
int outfile_replaces(const char *path, const char *in);

/* Flushes and checks every write: a replaced file is fsynced, closed and
 * renamed into place; an output in place is flushed and closed (standard
 * output is only flushed, and its error flag cleared: a failure is the
 * caller's to report, from ERR).  Returns 0, or -1 with a message in ERR
 * (a temporary file is removed).  O is cleared either way. */
int outfile_commit(outfile_t *o, char *err, size_t errlen);

/* Discards the output: a temporary file is removed; an output in place is
 * closed (what was written stays written; standard output's error flag is
 * cleared: the caller that gives up has said why).  O is cleared. */
void outfile_abort(outfile_t *o);

#endif
