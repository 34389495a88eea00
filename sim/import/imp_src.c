/* imp_src.c: an importer's input, read once from the start in chunks,
 * plain or decompressed on the fly (see internal/imp_impl.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/import/internal/imp_impl.h"
#include "sim/trace/trace_zst.h"

/* Up to N raw (still compressed) bytes of S's input; -1 on a read error. */
static long src_raw(imp_src_t *s, void *dst, size_t n)
{
    if (s->fd < 0) {
        size_t k = s->memlen - s->mempos < n ? s->memlen - s->mempos : n;
        memcpy(dst, s->mem + s->mempos, k);
        s->mempos += k;
        return (long)k;
    }
    ssize_t got;
    do
        got = read(s->fd, dst, n);
    while (got < 0 && errno == EINTR);
    return got;
}

/* Reads the first bytes and sets the decoder up.  0 or IMP_EINPUT. */
static int src_start(imp_src_t *s, char *err, size_t errlen)
{
    uint8_t head[4];
    size_t n = 0;
    while (n < sizeof head) {
        long got = src_raw(s, head + n, sizeof head - n);
        if (got < 0) {
            snprintf(err, errlen, "%s: cannot read: %s", s->name, strerror(errno));
            return IMP_EINPUT;
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    s->beg = s->end = 0;
    s->eof = 0;
    s->line = s->off = 0;
    if (tzst_is_zstd(head, n) && s->fd >= 0) {
        s->codec = IMP_SRC_ZSTD;
        s->dec = tzst_stream_open(s->fd, head, n, s->name, err, errlen);
    } else if (imp_gz_is_gzip(head, n) && s->fd >= 0) {
        s->codec = IMP_SRC_GZIP;
        s->dec = imp_gz_open(s->fd, head, n, s->name, err, errlen);
    } else {
        /* plain (memory inputs are always read as they are) */
        s->codec = IMP_SRC_PLAIN;
        memcpy(s->buf, head, n);
        s->end = n;
        return 0;
    }
    return s->dec ? 0 : IMP_EINPUT;
}

int imp_src_open(imp_src_t *s, const char *path, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->name = strdup(path);
    s->buf = malloc(IMP_CHUNK + 1);
    if (!s->name || !s->buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        imp_src_close(s);
        return IMP_EINPUT;
    }
    if (!strcmp(path, "-")) {
        s->fd = STDIN_FILENO;
    } else {
        s->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (s->fd < 0) {
            snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
            imp_src_close(s);
            return IMP_EINPUT;
        }
        s->own_fd = 1;
        struct stat st;
        if (fstat(s->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "%s: is a directory", path);
            imp_src_close(s);
            return IMP_EINPUT;
        }
    }
    int rc = src_start(s, err, errlen);
    if (rc < 0) imp_src_close(s);
    return rc;
}

int imp_src_open_mem(imp_src_t *s, const char *name, const void *data, size_t size, char *err,
                     size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->mem = data;
    s->memlen = size;
    s->name = strdup(name);
    s->buf = malloc(IMP_CHUNK + 1);
    if (!s->name || !s->buf) {
        snprintf(err, errlen, "%s: out of memory", name);
        imp_src_close(s);
        return IMP_EINPUT;
    }
    int rc = src_start(s, err, errlen);
    if (rc < 0) imp_src_close(s);
    return rc;
}

/* Refills buf after moving the unread bytes to its start: 1 if bytes were
 * added, 0 at the end, IMP_EINPUT on an error. */
static int src_fill(imp_src_t *s, char *err, size_t errlen)
{
    if (s->eof) return 0;
    if (s->beg > 0) {
        memmove(s->buf, s->buf + s->beg, s->end - s->beg);
        s->end -= s->beg;
        s->beg = 0;
    }
    size_t room = IMP_CHUNK - s->end;
    if (room == 0) return 0;
    long got;
    switch (s->codec) {
    case IMP_SRC_ZSTD:
        got = tzst_stream_read(s->dec, s->buf + s->end, room, err, errlen);
        if (got < 0) return IMP_EINPUT;
        break;
    case IMP_SRC_GZIP:
        got = imp_gz_read(s->dec, s->buf + s->end, room, err, errlen);
        if (got < 0) return IMP_EINPUT;
        break;
    default:
        got = src_raw(s, s->buf + s->end, room);
        if (got < 0) {
            snprintf(err, errlen, "%s: cannot read: %s", s->name, strerror(errno));
            return IMP_EINPUT;
        }
    }
    if (got == 0) {
        s->eof = 1;
        return 0;
    }
    s->end += (size_t)got;
    return 1;
}

int imp_src_line(imp_src_t *s, char **line, size_t *len, char *err, size_t errlen)
{
    size_t scanned = 0;
    for (;;) {
        char *start = (char *)s->buf + s->beg;
        char *nl = memchr(start + scanned, '\n', s->end - s->beg - scanned);
        if (nl || (s->eof && s->end > s->beg)) {
            size_t n = nl ? (size_t)(nl - start) : s->end - s->beg;
            s->beg += n + (nl ? 1 : 0);
            s->off += n + (nl ? 1 : 0);
            s->line++;
            if (memchr(start, '\0', n)) {
                snprintf(err, errlen, "%s:%llu: a NUL byte (binary data, not this text format?)",
                         s->name, (unsigned long long)s->line);
                return IMP_EINPUT;
            }
            if (n > 0 && start[n - 1] == '\r') n--;
            start[n] = '\0'; /* the newline's place, or buf[IMP_CHUNK] */
            *line = start;
            *len = n;
            return 1;
        }
        scanned = s->end - s->beg;
        if (scanned >= IMP_MAX_LINE) {
            snprintf(err, errlen, "%s:%llu: a line longer than %zu bytes", s->name,
                     (unsigned long long)s->line + 1, IMP_MAX_LINE);
            return IMP_EINPUT;
        }
        int rc = src_fill(s, err, errlen);
        if (rc < 0) return rc;
        if (rc == 0 && s->end == s->beg) return 0;
    }
}

long imp_src_read(imp_src_t *s, void *dst, size_t n, char *err, size_t errlen)
{
    size_t done = 0;
    while (done < n) {
        if (s->beg == s->end) {
            int rc = src_fill(s, err, errlen);
            if (rc < 0) return rc;
            if (rc == 0) break;
        }
        size_t k = s->end - s->beg < n - done ? s->end - s->beg : n - done;
        memcpy((uint8_t *)dst + done, s->buf + s->beg, k);
        s->beg += k;
        s->off += k;
        done += k;
    }
    return (long)done;
}

/* Frees the decoder. */
static void src_stop(imp_src_t *s)
{
    if (s->codec == IMP_SRC_ZSTD) tzst_stream_close(s->dec);
    if (s->codec == IMP_SRC_GZIP) imp_gz_close(s->dec);
    s->dec = NULL;
    s->codec = IMP_SRC_PLAIN;
}

int imp_src_rewind(imp_src_t *s, char *err, size_t errlen)
{
    src_stop(s);
    if (s->fd < 0) {
        s->mempos = 0;
    } else {
        struct stat st;
        if (!s->own_fd || fstat(s->fd, &st) != 0 || !S_ISREG(st.st_mode) ||
            lseek(s->fd, 0, SEEK_SET) != 0) {
            snprintf(err, errlen, "%s: needs two passes, and cannot be read twice (not a file)",
                     s->name);
            return IMP_EINPUT;
        }
    }
    return src_start(s, err, errlen);
}

void imp_src_close(imp_src_t *s)
{
    src_stop(s);
    if (s->own_fd && s->fd >= 0) close(s->fd);
    s->fd = -1;
    free(s->buf);
    free(s->name);
    s->buf = NULL;
    s->name = NULL;
}
