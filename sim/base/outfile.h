/* outfile.h: output files that never look complete while half-written.
 *
 * Everything is written to "PATH.tmp.PID" beside PATH, and outfile_commit
 * flushes, fsyncs and renames it into place; outfile_abort (or a commit that
 * fails) removes it.  "-" means standard output (no temp file). */
#ifndef ARENALAB_SIM_BASE_OUTFILE_H
#define ARENALAB_SIM_BASE_OUTFILE_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    FILE *fp;   /* write here                                      */
    char *path; /* final name                                      */
    char *tmp;  /* temporary name, NULL for stdout                 */
} outfile_t;

/* Returns 0, or -1 with "PATH: reason" in ERR. */
int outfile_open(outfile_t *o, const char *path, const char *mode, char *err, size_t errlen);
/* Returns 0, or -1 with a message in ERR (the temp file is removed). */
int outfile_commit(outfile_t *o, char *err, size_t errlen);
void outfile_abort(outfile_t *o);

#endif
