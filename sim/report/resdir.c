/* resdir.c: unique result directories, committed by rename (see resdir.h). */
#include "sim/report/resdir.h"
#include "sim/base/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RESDIR_MAX_TRIES 1000

static char *resdir_join(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s%s%s", a, b, c);
    return s;
}

/* mkdir -p PATH.  Returns 0 or -1 (errno). */
static int resdir_mkdirs(const char *path)
{
    char *copy = strdup(path);
    if (!copy) return -1;
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(copy, 0777) != 0 && errno != EEXIST) {
            free(copy);
            return -1;
        }
        *p = '/';
    }
    int rc = mkdir(copy, 0777) != 0 && errno != EEXIST ? -1 : 0;
    free(copy);
    return rc;
}

int resdir_create(resdir_t *d, const char *parent, const char *prefix, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    if (resdir_mkdirs(parent)) {
        snprintf(err, errlen, "%s: cannot create the directory: %s", parent, strerror(errno));
        return -1;
    }
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    strftime(d->stamp, sizeof d->stamp, "%Y-%m-%d %H:%M:%S", &tm);
    if (!(d->parent = strdup(parent))) goto oom;
    for (int k = 1; k <= RESDIR_MAX_TRIES; k++) {
        char name[512];
        if (k == 1)
            snprintf(name, sizeof name, "%s-%s", prefix, stamp);
        else
            snprintf(name, sizeof name, "%s-%s-%d", prefix, stamp, k);
        char *final = resdir_join(parent, "/", name);
        char *partial = final ? resdir_join(final, ".partial", "") : NULL;
        if (!partial) {
            free(final);
            goto oom;
        }
        struct stat st;
        if (lstat(final, &st) == 0 || mkdir(partial, 0777) != 0) {
            int e = errno;
            int taken = lstat(final, &st) == 0 || e == EEXIST;
            free(final);
            free(partial);
            if (taken) continue;
            snprintf(err, errlen, "%s/%s.partial: cannot create the directory: %s", parent, name,
                     strerror(e));
            resdir_free(d);
            return -1;
        }
        if (!(d->name = strdup(name))) {
            rmdir(partial);
            free(final);
            free(partial);
            goto oom;
        }
        d->final = final;
        d->partial = partial;
        return 0;
    }
    snprintf(err, errlen, "%s: no free name for %s-%s", parent, prefix, stamp);
    resdir_free(d);
    return -1;
oom:
    snprintf(err, errlen, "%s: out of memory", parent);
    resdir_free(d);
    return -1;
}

int resdir_mkdir(const resdir_t *d, const char *rel, char *err, size_t errlen)
{
    char *path = resdir_path(d, rel);
    if (!path || (mkdir(path, 0777) != 0 && errno != EEXIST)) {
        snprintf(err, errlen, "%s/%s: cannot create the directory: %s", d->partial, rel,
                 path ? strerror(errno) : "out of memory");
        free(path);
        return -1;
    }
    free(path);
    return 0;
}

char *resdir_path(const resdir_t *d, const char *rel)
{
    return resdir_join(d->partial, "/", rel);
}

/* Points PARENT/latest at NAME: a new symlink, under a random name it is
 * created at (symlink fails on any existing file: nothing is removed),
 * renamed over the old one.  Only a link is replaced: PARENT may be a
 * directory of the user's (--out), whose own file or directory called
 * "latest" is left alone, with a warning. */
static void resdir_latest(const resdir_t *d)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    char tmp[64];
    char *latest = resdir_join(d->parent, "/", "latest");
    char *tmp_path = NULL;
    struct stat st;
    int made = 0, code = ENOMEM;
    if (latest && lstat(latest, &st) == 0 && !S_ISLNK(st.st_mode)) {
        cli_error("warning: %s not updated: not a symbolic link (left alone)", latest);
        free(latest);
        return;
    }
    for (int i = 0; latest && !made && i < RESDIR_MAX_TRIES; i++) {
        unsigned char r[12];
        if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
            unsigned long x = (unsigned long)getpid() * 2654435761u + (unsigned long)i * 40503u +
                              (unsigned long)time(NULL);
            for (size_t k = 0; k < sizeof r;
                 k++, x = x * 6364136223846793005u + 1442695040888963407u)
                r[k] = (unsigned char)(x >> 33);
        }
        size_t n = (size_t)snprintf(tmp, sizeof tmp, "latest.tmp.");
        for (size_t k = 0; k < sizeof r; k++)
            tmp[n++] = alphabet[r[k] % (sizeof alphabet - 1)];
        tmp[n] = '\0';
        free(tmp_path);
        tmp_path = resdir_join(d->parent, "/", tmp);
        if (!tmp_path) break;
        if (symlink(d->name, tmp_path) == 0)
            made = 1;
        else if ((code = errno) != EEXIST)
            break;
    }
    if (!latest || !tmp_path) {
        cli_error("warning: %s/latest not updated: out of memory", d->parent);
    } else if (!made) {
        cli_error("warning: %s not updated: %s", latest, strerror(code));
    } else if (rename(tmp_path, latest) != 0) {
        cli_error("warning: %s not updated: %s", latest, strerror(errno));
        unlink(tmp_path); /* the link we made */
    }
    free(tmp_path);
    free(latest);
}

int resdir_commit(resdir_t *d, int latest, char *err, size_t errlen)
{
    /* rename() would replace an empty directory of the final name: the
     * lstat in resdir_create and this one keep it from doing so. */
    struct stat st;
    if (lstat(d->final, &st) == 0) {
        snprintf(err, errlen, "%s: exists already; the result stays in %s", d->final, d->partial);
        return -1;
    }
    char *marker = resdir_path(d, "PARTIAL");
    if (marker) unlink(marker);
    free(marker);
    if (rename(d->partial, d->final) != 0) {
        snprintf(err, errlen, "%s: cannot rename to %s: %s", d->partial, d->final, strerror(errno));
        return -1;
    }
    if (latest) resdir_latest(d);
    return 0;
}

/* PARTIAL/PARTIAL holding PREFIX and TEXT. */
static void resdir_marker(const resdir_t *d, const char *prefix, const char *text)
{
    char *path = resdir_path(d, "PARTIAL");
    FILE *f = path ? fopen(path, "w") : NULL;
    if (f) {
        fprintf(f, "%s%s\n", prefix, text);
        if (fclose(f) != 0) f = NULL;
    }
    if (!f) cli_error("%s: cannot write the PARTIAL marker", path ? path : d->partial);
    free(path);
}

void resdir_fail(const resdir_t *d, const char *why)
{
    resdir_marker(d, "This result is incomplete: the run that made it failed.\n\n", why);
}

void resdir_mark(const resdir_t *d, const char *text)
{
    resdir_marker(d, "", text);
}

int resdir_open(resdir_t *d, const char *path, const char *stamp, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    char *given = strndup(path, n);
    if (!given) goto oom;
    struct stat st;
    if (n <= 8 || strcmp(given + n - 8, ".partial") != 0) {
        /* PARENT/NAME: its .partial, unless NAME is a finished result */
        char *partial = resdir_join(given, ".partial", "");
        if (!partial) {
            free(given);
            goto oom;
        }
        if (stat(partial, &st) != 0 && stat(given, &st) == 0) {
            snprintf(err, errlen, "%s: this result is finished (there is no %s)", given, partial);
            free(given);
            free(partial);
            return -1;
        }
        free(given);
        given = partial;
        n = strlen(given);
    }
    errno = 0;
    if (stat(given, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: not a result directory being written: %s", given,
                 errno ? strerror(errno) : "not a directory");
        free(given);
        return -1;
    }
    const char *slash = strrchr(given, '/');
    d->partial = given;
    d->final = strndup(given, n - 8);
    d->parent = slash ? strndup(given, slash == given ? 1 : (size_t)(slash - given)) : strdup(".");
    d->name = strndup(slash ? slash + 1 : given, strlen(slash ? slash + 1 : given) - 8);
    snprintf(d->stamp, sizeof d->stamp, "%s", stamp);
    if (!d->final || !d->parent || !d->name) {
        resdir_free(d);
        goto oom;
    }
    if (lstat(d->final, &st) == 0) {
        snprintf(err, errlen, "%s: exists already; the result stays in %s", d->final, d->partial);
        resdir_free(d);
        return -1;
    }
    return 0;
oom:
    snprintf(err, errlen, "%s: out of memory", path);
    return -1;
}

void resdir_free(resdir_t *d)
{
    free(d->parent);
    free(d->name);
    free(d->partial);
    free(d->final);
    memset(d, 0, sizeof *d);
}
