/* resdir.h: a result directory, PARENT/<name>-<timestamp>/, that never
 * looks complete before it is.
 *
 * Files are written into PARENT/NAME.partial/; resdir_commit renames it
 * to PARENT/NAME and points PARENT/latest at it (a relative symlink,
 * replaced atomically; a "latest" that is not a symlink is the user's and
 * is left alone, with a warning).  A run that fails calls resdir_fail, which writes
 * a PARTIAL file saying what failed and leaves the .partial directory for
 * inspection.  Names are unique: NAME is <name>-YYYYmmdd-HHMMSS, with -2,
 * -3, ... appended while NAME or NAME.partial exists, and the .partial
 * directory is claimed with mkdir (which fails if another run took it), so
 * an earlier result is never overwritten.
 *
 * Failure: functions return 0 or -1 with "PATH: reason" in ERR.
 */
#ifndef ARENALAB_SIM_REPORT_RESDIR_H
#define ARENALAB_SIM_REPORT_RESDIR_H

#include <stddef.h>

typedef struct {
    char *parent;   /* where result directories go                  */
    char *name;     /* <name>-<timestamp>[-N]                        */
    char *partial;  /* PARENT/NAME.partial: where files are written   */
    char *final;    /* PARENT/NAME once committed                     */
    char stamp[32]; /* the local time in NAME, "YYYY-mm-dd HH:MM:SS" */
} resdir_t;

/* Creates PARENT (and its parents) if needed, then a fresh
 * PARENT/<PREFIX>-<timestamp>.partial. */
int resdir_create(resdir_t *d, const char *parent, const char *prefix, char *err, size_t errlen);

/* Creates the subdirectory REL of the directory being written. */
int resdir_mkdir(const resdir_t *d, const char *rel, char *err, size_t errlen);

/* PARTIAL/REL, malloc'ed (NULL when out of memory). */
char *resdir_path(const resdir_t *d, const char *rel);

/* Fills D for the unfinished result directory PATH (PARENT/NAME.partial,
 * or PARENT/NAME when that is not there but its .partial is) started at
 * STAMP, for `report --resume`.  A PATH that is not such a directory, or
 * whose NAME exists already (it was finished), is an error. */
int resdir_open(resdir_t *d, const char *path, const char *stamp, char *err, size_t errlen);

/* Renames the directory into place (after removing its PARTIAL marker:
 * a finished result has none); with LATEST, points PARENT/latest at
 * it (a failure to do that is only a warning on stderr). */
int resdir_commit(resdir_t *d, int latest, char *err, size_t errlen);

/* Writes PARTIAL/PARTIAL: "this result is incomplete" and WHY. */
void resdir_fail(const resdir_t *d, const char *why);

/* Writes PARTIAL/PARTIAL holding TEXT as it is (a result still being
 * made elsewhere: a Slurm array). */
void resdir_mark(const resdir_t *d, const char *text);

void resdir_free(resdir_t *d);

#endif
