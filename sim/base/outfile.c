/* outfile.c: outputs replaced whole through a temporary file, or written in
 * place when they are not files (the rules are in outfile.h).
 *
 * The decision is taken once, in outfile_open, from lstat of the path and
 * of each link it leads through; what it found is then pinned down so that
 * a path changed meanwhile cannot redirect the output:
 *   - a replaced file: only one the caller may write (faccessat W_OK,
 *     effective ids), since a rename needs only the directory's permission
 *     and would otherwise replace a read-only or another user's file; its
 *     directory is held open (O_PATH) and the temporary file is created in
 *     it with O_EXCL|O_NOFOLLOW and renamed with renameat in it, so a
 *     directory renamed or swapped for a link afterwards changes nothing,
 *     and no existing file is ever opened;
 *   - a device or FIFO: opened with O_NOFOLLOW and no O_CREAT, then
 *     checked (fstat) to be the very node lstat saw.
 */
#include "sim/base/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

enum {
    OUTFILE_MAX_LINKS = 40, /* as the kernel's own limit (ELOOP)      */
    OUTFILE_RAND = 12,      /* random characters in a temporary name  */
    OUTFILE_TRIES = 100,    /* names tried before giving up (EEXIST)  */
};

#define OUTFILE_PROC_MAGIC 0x9fa0 /* statfs f_type of /proc (linux/magic.h) */

/* What outfile_resolve found at the end of the links. */
typedef struct {
    char *target;     /* the path to write or replace (malloc'd)              */
    int exists;       /* lstat found something there                          */
    struct stat st;   /* what, when it exists                                 */
    int through_proc; /* the last link is a /proc magic link: write through it */
} outfile_found_t;

static void outfile_clear(outfile_t *o)
{
    free(o->path);
    free(o->name);
    free(o->tmp);
    if (o->kind == OUTFILE_REPLACE && o->dirfd >= 0) close(o->dirfd);
    memset(o, 0, sizeof *o);
    o->dirfd = -1;
}

/* "PATH: WHAT: strerror(CODE)" (WHAT may be NULL) into ERR; returns -1. */
static int outfile_fail(char *err, size_t errlen, const char *path, const char *what, int code)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s%s%s", path, what ? what : "", what && code ? ": " : "",
                 code ? strerror(code) : "");
    return -1;
}

/* The directory part of PATH ("." when none), malloc'd; NULL when out of
 * memory. */
static char *outfile_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    while (slash > path && slash[-1] == '/')
        slash--;
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

/* Whether the directory holding PATH is in procfs: its links (fd/N, exe,
 * cwd) name objects, not paths, and are followed only by the kernel. */
static int outfile_in_proc(const char *path)
{
    char *dir = outfile_dirname(path);
    struct statfs fs;
    int yes = dir && statfs(dir, &fs) == 0 && fs.f_type == OUTFILE_PROC_MAGIC;
    free(dir);
    return yes;
}

/* Follows PATH through symbolic links to what is to be written.  Returns 0
 * with *F filled, or -1 with errno set. */
static int outfile_resolve(const char *path, outfile_found_t *f)
{
    memset(f, 0, sizeof *f);
    char *cur = strdup(path);
    char *link = malloc(PATH_MAX);
    int code = ENOMEM;
    for (int hops = 0; cur && link; hops++) {
        if (lstat(cur, &f->st) != 0) {
            code = errno;
            if (code != ENOENT) break;
            f->target = cur; /* a new file there (through a dangling link too) */
            free(link);
            return 0;
        }
        if (!S_ISLNK(f->st.st_mode) || outfile_in_proc(cur)) {
            f->exists = 1;
            f->through_proc = S_ISLNK(f->st.st_mode);
            f->target = cur;
            free(link);
            return 0;
        }
        code = ELOOP;
        if (hops == OUTFILE_MAX_LINKS) break;
        ssize_t n = readlink(cur, link, PATH_MAX);
        code = errno;
        if (n < 0) break;
        code = ENAMETOOLONG;
        if (n == PATH_MAX) break;
        link[n] = '\0';
        char *next;
        if (link[0] == '/') {
            next = strdup(link);
        } else {
            char *dir = outfile_dirname(cur);
            size_t len = dir ? strlen(dir) + 1 + (size_t)n + 1 : 0;
            next = dir ? malloc(len) : NULL;
            if (next) snprintf(next, len, "%s/%s", dir, link);
            free(dir);
        }
        free(cur);
        cur = next;
        code = ENOMEM;
    }
    free(cur);
    free(link);
    errno = code;
    return -1;
}

/* OUTFILE_RAND characters from [A-Za-z0-9] into OUT: the kernel's random
 * bytes, else a mix of the clock, the pid and SALT (O_EXCL still keeps a
 * guessed name from being used against us). */
static void outfile_random(char *out, unsigned salt)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char bytes[OUTFILE_RAND];
    if (getrandom(bytes, sizeof bytes, GRND_NONBLOCK) != (ssize_t)sizeof bytes) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned long long x = (unsigned long long)ts.tv_nsec ^
                               ((unsigned long long)ts.tv_sec << 20) ^
                               ((unsigned long long)getpid() << 40) ^ (uintptr_t)out ^ salt;
        for (size_t i = 0; i < sizeof bytes; i++) {
            x ^= x << 13; /* xorshift64 */
            x ^= x >> 7;
            x ^= x << 17;
            bytes[i] = (unsigned char)x;
        }
    }
    for (size_t i = 0; i < sizeof bytes; i++)
        out[i] = alphabet[bytes[i] % (sizeof alphabet - 1)];
    out[OUTFILE_RAND] = '\0';
}

/* A regular file at F->target (or none yet): a temporary file beside it. */
static int outfile_open_replace(outfile_t *o, const outfile_found_t *f, const char *mode, char *err,
                                size_t errlen)
{
    const char *slash = strrchr(f->target, '/');
    const char *base = slash ? slash + 1 : f->target;
    if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
        return outfile_fail(err, errlen, o->path, "is a directory", 0);
    o->kind = OUTFILE_REPLACE; /* from here, outfile_abort undoes what is done */
    char *dir = outfile_dirname(f->target);
    o->name = strdup(base);
    /* NAME.tmp.RANDOM, NAME cut so that it fits in a directory entry */
    size_t keep = strlen(base), room = NAME_MAX - (sizeof ".tmp." - 1) - OUTFILE_RAND;
    if (keep > room) keep = room;
    o->tmp = malloc(keep + sizeof ".tmp." + OUTFILE_RAND);
    if (!dir || !o->name || !o->tmp) {
        free(dir);
        return outfile_fail(err, errlen, o->path, "out of memory", 0);
    }
    o->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    int code = errno;
    free(dir);
    if (o->dirfd < 0) return outfile_fail(err, errlen, o->path, "cannot create", code);

    sigset_t old;
    int fd = -1;
    sigclean_block(&old); /* no signal between creating and registering */
    for (int i = 0; i < OUTFILE_TRIES && fd < 0; i++) {
        memcpy(o->tmp, base, keep);
        memcpy(o->tmp + keep, ".tmp.", sizeof ".tmp." - 1);
        outfile_random(o->tmp + keep + sizeof ".tmp." - 1, (unsigned)i);
        fd = openat(o->dirfd, o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        code = errno;
        if (fd < 0 && code != EEXIST) break;
    }
    if (fd >= 0 && sigclean_add(o->dirfd, o->tmp, &o->guard) != 0) {
        code = errno;
        unlinkat(o->dirfd, o->tmp, 0);
        close(fd);
        fd = -1;
    }
    sigclean_unblock(&old);
    if (fd < 0) return outfile_fail(err, errlen, o->path, "cannot create", code);

    /* Replacing a file keeps its permissions, as writing into it would;
     * a new one has 0666 & ~umask from openat. */
    if (f->exists && fchmod(fd, f->st.st_mode & 0777) != 0) {
        code = errno;
        close(fd);
        return outfile_fail(err, errlen, o->path, "cannot create", code);
    }
    o->fp = fdopen(fd, mode);
    if (!o->fp) {
        code = errno;
        close(fd);
        return outfile_fail(err, errlen, o->path, "cannot create", code);
    }
    return 0;
}

/* Whether descriptor FD of this process is writable and is the object ST
 * describes: then a /proc link to it is written through a dup, sharing the
 * offset as the shell's own descriptor does. */
static int outfile_own_fd(const char *target, const struct stat *st)
{
    const char *slash = strrchr(target, '/');
    const char *digits = slash ? slash + 1 : target;
    char *end;
    long fd = strtol(digits, &end, 10);
    struct stat mine;
    if (*digits < '0' || *digits > '9' || *end || fd > INT_MAX) return -1;
    int fl = fcntl((int)fd, F_GETFL);
    if (fl < 0 || ((fl & O_ACCMODE) != O_WRONLY && (fl & O_ACCMODE) != O_RDWR)) return -1;
    if (fstat((int)fd, &mine) != 0 || mine.st_dev != st->st_dev || mine.st_ino != st->st_ino)
        return -1;
    return (int)fd;
}

/* A device, FIFO or /proc link at F->target: written in place. */
static int outfile_open_direct(outfile_t *o, const outfile_found_t *f, const char *mode, char *err,
                               size_t errlen)
{
    int fd = -1, code;
    if (f->through_proc) {
        struct stat st; /* what the link leads to */
        if (stat(f->target, &st) != 0)
            return outfile_fail(err, errlen, o->path, "cannot open", errno);
        if (S_ISDIR(st.st_mode)) return outfile_fail(err, errlen, o->path, "is a directory", 0);
        int own = outfile_own_fd(f->target, &st);
        if (own >= 0) {
            fflush(NULL); /* what stdio holds for it goes first */
            fd = fcntl(own, F_DUPFD_CLOEXEC, 3);
        } else {
            /* another process's descriptor: a file there is appended to,
             * never truncated */
            fd = open(f->target,
                      O_WRONLY | O_NOCTTY | O_CLOEXEC | (S_ISREG(st.st_mode) ? O_APPEND : 0));
        }
        code = errno;
    } else {
        fd = open(f->target, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW);
        code = errno;
        struct stat st;
        if (fd >= 0 && (fstat(fd, &st) != 0 || st.st_dev != f->st.st_dev ||
                        st.st_ino != f->st.st_ino || S_ISREG(st.st_mode))) {
            close(fd);
            return outfile_fail(err, errlen, o->path, "changed while being opened; not written", 0);
        }
    }
    if (fd < 0) return outfile_fail(err, errlen, o->path, "cannot open", code);
    o->kind = OUTFILE_DIRECT;
    o->fp = fdopen(fd, mode);
    if (!o->fp) {
        code = errno;
        close(fd);
        return outfile_fail(err, errlen, o->path, "cannot open", code);
    }
    return 0;
}

int outfile_open(outfile_t *o, const char *path, const char *mode, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->dirfd = -1;
    if (strcmp(mode, "w") != 0 && strcmp(mode, "wb") != 0)
        return outfile_fail(err, errlen, path, "outfile_open: mode must be \"w\" or \"wb\"", 0);
    if (!*path) return outfile_fail(err, errlen, "''", "cannot open", ENOENT);
    if (strcmp(path, "-") == 0) {
        o->kind = OUTFILE_STDOUT;
        o->fp = stdout;
        return 0;
    }
    if (!(o->path = strdup(path))) return outfile_fail(err, errlen, path, "out of memory", 0);
    outfile_found_t f;
    int rc;
    if (outfile_resolve(path, &f) != 0) {
        rc = outfile_fail(err, errlen, path, "cannot open", errno);
    } else if (f.exists && S_ISDIR(f.st.st_mode)) {
        rc = outfile_fail(err, errlen, path, "is a directory", 0);
    } else if (f.exists && S_ISSOCK(f.st.st_mode)) {
        rc = outfile_fail(err, errlen, path, "is a socket, which cannot be written by name", 0);
    } else if (f.exists && S_ISREG(f.st.st_mode) &&
               faccessat(AT_FDCWD, f.target, W_OK, AT_EACCESS) != 0) {
        /* a rename would replace a file the caller may not write (read-only,
         * or another user's in a directory the caller may write): refused,
         * as writing into it would be */
        rc = outfile_fail(err, errlen, path, "cannot open", errno);
    } else if (!f.exists || S_ISREG(f.st.st_mode)) {
        rc = outfile_open_replace(o, &f, mode, err, errlen);
    } else {
        rc = outfile_open_direct(o, &f, mode, err, errlen);
    }
    free(f.target);
    if (rc != 0) outfile_abort(o);
    return rc;
}

int outfile_in_place(const char *path)
{
    if (!strcmp(path, "-")) return 1;
    outfile_found_t f;
    if (!*path || outfile_resolve(path, &f) != 0) return 0;
    /* outfile_open's rule: what is there and is neither a directory, a
     * socket nor a regular file is opened direct */
    int direct =
        f.exists && !S_ISDIR(f.st.st_mode) && !S_ISSOCK(f.st.st_mode) && !S_ISREG(f.st.st_mode);
    free(f.target);
    return direct;
}

int outfile_replaces(const char *path, const char *in)
{
    struct stat a, b;
    if (!strcmp(path, "-") || !strcmp(in, "-") || stat(path, &a) != 0 || stat(in, &b) != 0)
        return 0;
    return S_ISREG(a.st_mode) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int outfile_commit(outfile_t *o, char *err, size_t errlen)
{
    int code = 0;
    if (o->kind == OUTFILE_NONE || !o->fp)
        return outfile_fail(err, errlen, "outfile_commit", "not open", 0);
    if (fflush(o->fp) != 0)
        code = errno;
    else if (ferror(o->fp))
        code = EIO; /* an earlier write failed; its errno is gone */
    if (o->kind == OUTFILE_STDOUT) {
        clearerr(stdout); /* reported here, not again by cli_finish */
        outfile_clear(o);
        return code ? outfile_fail(err, errlen, "standard output", "cannot write", code) : 0;
    }
    /* on disk before the rename; a block device's writes too (a character
     * device or FIFO has nothing to sync) */
    struct stat st;
    int sync =
        o->kind == OUTFILE_REPLACE || (fstat(fileno(o->fp), &st) == 0 && S_ISBLK(st.st_mode));
    if (!code && sync && fsync(fileno(o->fp)) != 0) code = errno;
    if (fclose(o->fp) != 0 && !code) code = errno;
    o->fp = NULL;
    /* what became of the target while we wrote: a device, FIFO, link or
     * directory made there meanwhile is not replaced */
    const char *why = "cannot write";
    if (!code && o->kind == OUTFILE_REPLACE &&
        fstatat(o->dirfd, o->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode)) {
        why = "is no longer a regular file; not replaced";
        code = -1;
    }
    if (!code && o->kind == OUTFILE_REPLACE && renameat(o->dirfd, o->tmp, o->dirfd, o->name) != 0)
        code = errno;
    if (code) outfile_fail(err, errlen, o->path, why, code > 0 ? code : 0);
    if (code && o->kind == OUTFILE_REPLACE) unlinkat(o->dirfd, o->tmp, 0);
    sigclean_remove(o->guard);
    outfile_clear(o);
    return code ? -1 : 0;
}

void outfile_abort(outfile_t *o)
{
    if (o->kind == OUTFILE_STDOUT) clearerr(stdout);       /* abandoned: its errors with it */
    if (o->kind != OUTFILE_STDOUT && o->fp) fclose(o->fp); /* in place: no unlink, ever */
    if (o->kind == OUTFILE_REPLACE && o->tmp && o->dirfd >= 0 && o->guard)
        unlinkat(o->dirfd, o->tmp, 0);
    sigclean_remove(o->guard);
    outfile_clear(o);
}
