/* outfile.c: temp file + rename, so no output looks complete early. */
#include "sim/base/outfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void outfile_clear(outfile_t *o)
{
    free(o->path);
    free(o->tmp);
    o->path = o->tmp = NULL;
    o->fp = NULL;
}

int outfile_open(outfile_t *o, const char *path, const char *mode, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    if (strcmp(path, "-") == 0) {
        o->fp = stdout;
        return 0;
    }
    size_t n = strlen(path) + 32;
    o->path = strdup(path);
    o->tmp = malloc(n);
    if (!o->path || !o->tmp) {
        snprintf(err, errlen, "%s: out of memory", path);
        outfile_clear(o);
        return -1;
    }
    snprintf(o->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    o->fp = fopen(o->tmp, mode);
    if (!o->fp) {
        snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        outfile_clear(o);
        return -1;
    }
    return 0;
}

int outfile_commit(outfile_t *o, char *err, size_t errlen)
{
    if (!o->tmp) { /* standard output */
        int bad = fflush(o->fp) != 0 || ferror(o->fp);
        outfile_clear(o);
        if (bad) snprintf(err, errlen, "standard output: write error");
        return bad ? -1 : 0;
    }
    int bad = fflush(o->fp) != 0 || ferror(o->fp) || fsync(fileno(o->fp)) != 0;
    int saved = errno;
    if (fclose(o->fp) != 0 && !bad) {
        bad = 1;
        saved = errno;
    }
    if (!bad && rename(o->tmp, o->path) != 0) {
        bad = 1;
        saved = errno;
    }
    if (bad) {
        snprintf(err, errlen, "%s: cannot write: %s", o->path, strerror(saved));
        unlink(o->tmp);
    }
    outfile_clear(o);
    return bad ? -1 : 0;
}

void outfile_abort(outfile_t *o)
{
    if (o->tmp) {
        if (o->fp) fclose(o->fp);
        unlink(o->tmp);
    }
    outfile_clear(o);
}
