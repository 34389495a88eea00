/* imp_gz.c: gzip input (heaptrack writes .gz when zstd is missing) through
 * libz.so.1 loaded at run time, so that no zlib headers are needed: the
 * declarations below are zlib's stable ABI (z_stream, inflateInit2_,
 * inflate, inflateReset, inflateEnd, zlibVersion).  Concatenated gzip
 * members are read one after the other, as gzip -d does; a member cut short
 * or corrupt is an error, never a shorter input. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/import/internal/imp_impl.h"

#define GZ_OK         0
#define GZ_STREAM_END 1
#define GZ_BUF_ERROR  (-5)
#define GZ_NO_FLUSH   0
#define GZ_WBITS_GZIP (15 + 16) /* gzip header, largest window */

typedef struct {
    const unsigned char *next_in;
    unsigned avail_in;
    unsigned long total_in;
    unsigned char *next_out;
    unsigned avail_out;
    unsigned long total_out;
    const char *msg;
    void *state;
    void *zalloc, *zfree, *opaque;
    int data_type;
    unsigned long adler, reserved;
} gz_stream_t; /* z_stream */

struct imp_gz_s {
    void *dl;
    int (*init2)(gz_stream_t *, int, const char *, int);
    int (*inflate)(gz_stream_t *, int);
    int (*reset)(gz_stream_t *);
    int (*end)(gz_stream_t *);
    gz_stream_t zs;
    int started; /* inflateInit2_ succeeded                        */
    int member;  /* inside a member (its end not seen yet)         */
    int fd, in_eof, done;
    unsigned char *in;
    char name[256];
};

int imp_gz_is_gzip(const void *head, size_t n)
{
    return n >= 2 && ((const uint8_t *)head)[0] == 0x1f && ((const uint8_t *)head)[1] == 0x8b;
}

imp_gz_t *imp_gz_open(int fd, const void *head, size_t headlen, const char *name, char *err,
                      size_t errlen)
{
    imp_gz_t *z = calloc(1, sizeof *z);
    if (!z || !(z->in = malloc(IMP_CHUNK)) || headlen > IMP_CHUNK) {
        snprintf(err, errlen, "%s: out of memory", name);
        imp_gz_close(z);
        return NULL;
    }
    snprintf(z->name, sizeof z->name, "%s", name);
    z->fd = fd;
    z->dl = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
    const char *(*version)(void) = NULL;
    if (z->dl) {
        *(void **)&z->init2 = dlsym(z->dl, "inflateInit2_");
        *(void **)&z->inflate = dlsym(z->dl, "inflate");
        *(void **)&z->reset = dlsym(z->dl, "inflateReset");
        *(void **)&z->end = dlsym(z->dl, "inflateEnd");
        *(void **)&version = dlsym(z->dl, "zlibVersion");
    }
    if (!z->dl || !z->init2 || !z->inflate || !z->reset || !z->end || !version) {
        snprintf(err, errlen,
                 "%s: gzip-compressed, and libz.so.1 cannot be loaded (Debian package zlib1g)",
                 name);
        imp_gz_close(z);
        return NULL;
    }
    if (z->init2(&z->zs, GZ_WBITS_GZIP, version(), (int)sizeof z->zs) != GZ_OK) {
        snprintf(err, errlen, "%s: cannot start decompressing (libz)", name);
        imp_gz_close(z);
        return NULL;
    }
    z->started = 1;
    z->member = 1;
    memcpy(z->in, head, headlen);
    z->zs.next_in = z->in;
    z->zs.avail_in = (unsigned)headlen;
    return z;
}

long imp_gz_read(imp_gz_t *z, void *buf, size_t n, char *err, size_t errlen)
{
    if (z->done || n == 0) return 0;
    if (n > (1u << 30)) n = 1u << 30;
    for (;;) {
        if (z->zs.avail_in == 0 && !z->in_eof) {
            ssize_t got;
            do
                got = read(z->fd, z->in, IMP_CHUNK);
            while (got < 0 && errno == EINTR);
            if (got < 0) {
                snprintf(err, errlen, "%s: cannot read: %s", z->name, strerror(errno));
                return IMP_EINPUT;
            }
            if (got == 0) z->in_eof = 1;
            z->zs.next_in = z->in;
            z->zs.avail_in = (unsigned)got;
        }
        if (!z->member) {
            /* between members: another one, or the end */
            if (z->zs.avail_in == 0 && z->in_eof) {
                z->done = 1;
                return 0;
            }
            if (z->zs.avail_in == 0) continue;
            z->reset(&z->zs);
            z->member = 1;
        }
        z->zs.next_out = buf;
        z->zs.avail_out = (unsigned)n;
        int rc = z->inflate(&z->zs, GZ_NO_FLUSH);
        size_t got = n - z->zs.avail_out;
        if (rc == GZ_STREAM_END) {
            z->member = 0;
        } else if (rc != GZ_OK && !(rc == GZ_BUF_ERROR && got == 0 && !z->in_eof)) {
            if (rc == GZ_BUF_ERROR && z->in_eof)
                snprintf(err, errlen,
                         "%s: the gzip stream is cut short; the file is damaged or was not "
                         "written to the end",
                         z->name);
            else
                snprintf(err, errlen, "%s: corrupt gzip data: %s", z->name,
                         z->zs.msg ? z->zs.msg : "inflate failed");
            return IMP_EINPUT;
        }
        if (got > 0) return (long)got;
        if (z->member && z->in_eof && z->zs.avail_in == 0) {
            snprintf(err, errlen,
                     "%s: the gzip stream is cut short; the file is damaged or was not written "
                     "to the end",
                     z->name);
            return IMP_EINPUT;
        }
    }
}

void imp_gz_close(imp_gz_t *z)
{
    if (!z) return;
    if (z->started) z->end(&z->zs);
    if (z->dl) dlclose(z->dl);
    free(z->in);
    free(z);
}
