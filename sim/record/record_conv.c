/* record_conv.c: a recorder's trace into OUT.atr.zst as it is written (see
 * record_conv.h).
 *
 * Invariants: BUF holds the file's bytes [0, HAVE) as read, but for those
 * before DROPPED (already decoded, given back to the kernel); the reader
 * reads BUF and is never ahead of HAVE.  At most RCONV_WINDOW bytes are
 * read at a time and decoded before the next are read, so that the memory
 * in use stays bounded however large the trace (a child's is read whole at
 * the end).  Every event the reader hands out
 * goes to the writer, with the markers read before it, in order.  The
 * sink's HELD bytes are the first bytes of the version-2 trace: the whole
 * trace while it is small (at most RCONV_SMALL bytes after the header),
 * else the header alone, everything after it having gone into ENC, whose
 * frame goes to BODY, an unnamed file beside RAW.  Once a write to the
 * sink failed, FAILED stays set and every later write fails: the output
 * is never written from a sink that lost bytes (stdio does not tell the
 * writer: fwrite on a cookie stream counts bytes the callback refused). */
#include "sim/record/record_conv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/trace/trace.h"
#include "sim/trace/trace_bin_enc.h"
#include "sim/trace/trace_zst.h"

/* zstd level of the output: as every .zst output of the trace writer
 * (sim/trace/trace.c); with long-distance matching over 8 MiB, which costs
 * no time (less, measured) and finds what a program's phases repeat:
 * measured on the bench-record programs' traces, Lua -22 %, sqlite3 -1 %,
 * perl -0.6 %. */
#define RCONV_ZST_LEVEL 9
#define RCONV_LONG_LOG  23
/* A trace of at most this many bytes after its header is one frame, as
 * `convert` writes it; a larger one is two, the header's and the rest's
 * (which loses nothing: the header is no help in compressing the rest, and
 * any other bytes held back would be missed as history by what follows). */
#define RCONV_SMALL ((size_t)64 << 10)
/* Events per batch of the reader. */
#define RCONV_BATCH 4096
/* Bytes of RAW read (and held in memory) at a time. */
#define RCONV_WINDOW ((size_t)16 << 20)
/* Decoded bytes given back to the kernel at a time. */
#define RCONV_DROP_STEP ((size_t)4 << 20)

/* Where the writer's bytes go (a FILE through fopencookie). */
typedef struct {
    uint8_t *held; /* the first bytes: patched in place, compressed last */
    size_t nheld, heldcap;
    size_t hold;     /* bytes to hold: the header's length (0: not known
                        yet), plus RCONV_SMALL until ENC starts            */
    uint64_t pos;    /* the stream's position                              */
    uint64_t total;  /* bytes written                                      */
    tzst_enc_t *enc; /* what comes after HELD                              */
    int body;        /* ENC's frame: an unnamed temporary file, or -1      */
    const char *raw; /* the recorder's file: BODY goes in its directory    */
    int failed;      /* a write failed (sticky): the output is lost        */
    char err[512];   /* why a write failed                                 */
} rconv_sink_t;

struct rconv_s {
    char raw[PATH_MAX];
    int fd;       /* RAW, read-only, or -1 until it opens       */
    uint8_t *buf; /* RAW's bytes (anonymous memory), see above   */
    size_t cap, have, dropped;
    trace_reader_t *r; /* NULL until the header is whole          */
    trace_writer_t *w;
    FILE *fp; /* the writer's output: the sink              */
    rconv_sink_t sink;
    size_t nmark; /* the reader's markers written so far        */
    uint64_t at;  /* events read                                */
    int ended;    /* the reader stopped at the end record       */
    int state;    /* 0, or the RCONV_* code that stopped it     */
    trace_event_t ev[RCONV_BATCH];
};

/* ---- the sink --------------------------------------------------------------- */

/* Appends N bytes at P to HELD.  0 or -1. */
static int rconv_hold(rconv_sink_t *s, const char *p, size_t n)
{
    if (s->heldcap - s->nheld < n) {
        size_t cap = (s->nheld + n) * 2;
        uint8_t *h = realloc(s->held, cap);
        if (!h) return -1;
        s->held = h;
        s->heldcap = cap;
    }
    memcpy(s->held + s->nheld, p, n);
    s->nheld += n;
    /* the header's length is known from its first bytes on */
    if (s->nheld >= TBENC_OFF_HDRLEN + 4 && s->hold == 0) {
        uint32_t hlen = 0;
        for (int i = 3; i >= 0; i--)
            hlen = hlen << 8 | s->held[TBENC_OFF_HDRLEN + i];
        s->hold = (size_t)hlen + RCONV_SMALL;
    }
    return 0;
}

/* Starts the body's frame: an unnamed temporary file in RAW's directory
 * (where the output goes, and which the recorder could write; not
 * $TMPDIR, often a small tmpfs), created exclusively: O_TMPFILE, else
 * mkostemp (O_EXCL, a random name) and unlinked at once.  0 or -1. */
static int rconv_start_body(rconv_sink_t *s)
{
    char dir[PATH_MAX], name[PATH_MAX + 32];
    const char *slash = strrchr(s->raw, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == s->raw)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - s->raw), s->raw);
    s->body = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (s->body < 0) {
        snprintf(name, sizeof name, "%s/.arenalab-record.XXXXXX", dir);
        s->body = mkostemp(name, O_CLOEXEC);
        if (s->body >= 0) unlink(name);
    }
    if (s->body < 0) {
        snprintf(s->err, sizeof s->err, "cannot create a temporary file in %.400s: %s", dir,
                 strerror(errno));
        return -1;
    }
    s->enc = tzst_enc_open(RCONV_ZST_LEVEL, RCONV_LONG_LOG, tzst_put_fd, &s->body, "the trace",
                           s->err, sizeof s->err);
    if (!s->enc) {
        close(s->body);
        s->body = -1;
        return -1;
    }
    return 0;
}

static ssize_t rconv_sink_write(void *cookie, const char *p, size_t n)
{
    rconv_sink_t *s = cookie;
    if (s->failed) goto fail;
    if (s->pos < s->total) {
        /* the writer patches its header: always inside HELD */
        if (s->pos + n > s->nheld) goto fail;
        memcpy(s->held + s->pos, p, n);
        s->pos += n;
        return (ssize_t)n;
    }
    size_t done = 0;
    while (done < n && (s->hold == 0 || s->nheld < s->hold)) {
        /* the header's length first: it tells how much to hold */
        size_t k = n - done, room = s->hold ? s->hold - s->nheld : TBENC_OFF_HDRLEN + 4 - s->nheld;
        if (k > room) k = room;
        if (rconv_hold(s, p + done, k) < 0) goto fail;
        done += k;
    }
    if (done < n) {
        if (!s->enc) {
            /* no small trace: the header stays, the rest is compressed from
             * now on */
            if (rconv_start_body(s) < 0) goto fail;
            size_t hlen = s->hold - RCONV_SMALL;
            if (tzst_enc_write(s->enc, s->held + hlen, s->nheld - hlen, s->err, sizeof s->err) < 0)
                goto fail;
            s->nheld = s->hold = hlen;
        }
        if (tzst_enc_write(s->enc, p + done, n - done, s->err, sizeof s->err) < 0) goto fail;
    }
    s->pos += n;
    s->total += n;
    return (ssize_t)n;
fail:
    if (!s->err[0]) snprintf(s->err, sizeof s->err, "out of memory");
    s->failed = 1;
    errno = EIO;
    return -1;
}

static int rconv_sink_seek(void *cookie, off64_t *off, int whence)
{
    rconv_sink_t *s = cookie;
    int64_t base = whence == SEEK_SET   ? 0
                   : whence == SEEK_CUR ? (int64_t)s->pos
                                        : (int64_t)s->total;
    int64_t to = base + *off;
    if (to < 0 || (uint64_t)to > s->total) {
        errno = EINVAL;
        return -1;
    }
    s->pos = (uint64_t)to;
    *off = to;
    return 0;
}

/* ---- following the recorder ----------------------------------------------- */

rconv_t *rconv_open(const char *raw)
{
    rconv_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    snprintf(c->raw, sizeof c->raw, "%s", raw);
    c->fd = -1;
    c->sink.body = -1;
    c->sink.raw = c->raw;
    return c;
}

/* Reads RAW's bytes from FROM (at most HAVE) into BUF: to its end, or
 * RCONV_WINDOW bytes (at least to HAVE).  1 when there were new ones, 0
 * when not, or RCONV_AGAIN. */
static int rconv_read(rconv_t *c, size_t from)
{
    struct stat st;
    if (c->fd < 0 && (c->fd = open(c->raw, O_RDONLY | O_CLOEXEC)) < 0) return RCONV_AGAIN;
    if (fstat(c->fd, &st) != 0 || st.st_size < 0 || (uint64_t)st.st_size > SIZE_MAX / 2)
        return RCONV_AGAIN;
    size_t size = (size_t)st.st_size;
    if (size < from) return RCONV_AGAIN; /* shorter than what was read: not a recorder's */
    if (size == c->have && from == c->have) return 0;
    if (size - from > RCONV_WINDOW)
        size = from + RCONV_WINDOW > c->have ? from + RCONV_WINDOW : c->have;
    if (size > c->cap) {
        size_t cap = c->cap ? c->cap : (size_t)1 << 20;
        while (cap < size)
            cap *= 2;
        /* address space for the whole file (NORESERVE: a trace larger
         * than the memory is no overcommit); only the window read last
         * is resident, the decoded pages before it given back as we go */
        void *p = c->buf ? mremap(c->buf, c->cap, cap, MREMAP_MAYMOVE)
                         : mmap(NULL, cap, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) return RCONV_AGAIN;
        c->buf = p;
        c->cap = cap;
    }
    size_t got = from;
    while (got < size) {
        ssize_t n = pread(c->fd, c->buf + got, size - got, (off_t)got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return RCONV_AGAIN;
        if (n == 0) break; /* it shrank meanwhile: what we have is whole */
        got += (size_t)n;
    }
    c->have = got;
    return 1;
}

/* Opens the reader and the writer once the header is whole.  1 when they
 * are open, 0 when the header is not all there yet, or RCONV_AGAIN. */
static int rconv_start(rconv_t *c)
{
    char err[512];
    if (c->have < TBENC_FIXED) return 0;
    uint32_t hlen = 0;
    for (int i = 3; i >= 0; i--)
        hlen = hlen << 8 | c->buf[TBENC_OFF_HDRLEN + i];
    if (c->have < hlen) return 0;
    if (trace_open_mem(&c->r, c->raw, c->buf, c->have, TRACE_R_FAST, err, sizeof err) < 0)
        return 0; /* a header read while the recorder rewrote it: again at the next step */
    if (trace_format(c->r) != TRACE_FMT_BIN1) return RCONV_AGAIN;
    static const cookie_io_functions_t io = {.write = rconv_sink_write, .seek = rconv_sink_seek};
    if (!(c->fp = fopencookie(&c->sink, "w", io))) return RCONV_AGAIN;
    setvbuf(c->fp, NULL, _IONBF, 0);
    /* the metadata as it is now: rconv_finish puts the final one in */
    if (trace_writer_open_stream(&c->w, c->fp, c->raw, TRACE_FMT_BIN, trace_meta(c->r),
                                 TRACE_W_TRUSTED | TRACE_W_RAW, err, sizeof err) < 0)
        return RCONV_AGAIN;
    return 1;
}

/* Writes the reader's markers placed before event index UPTO. */
static int rconv_markers(rconv_t *c, uint64_t upto)
{
    const trace_marker_t *m;
    size_t n = trace_markers(c->r, &m);
    for (; c->nmark < n && m[c->nmark].at <= upto; c->nmark++)
        if (trace_write_marker(c->w, m[c->nmark].key, m[c->nmark].value) < 0) return RCONV_EIO;
    return 0;
}

/* Decodes and writes every whole record in BUF.  0, or a negative code. */
static int rconv_pump(rconv_t *c)
{
    for (;;) {
        int n = trace_next_batch(c->r, c->ev, RCONV_BATCH);
        if (n < 0) return RCONV_AGAIN;
        for (int i = 0; i < n; i++) {
            const trace_event_t *e = &c->ev[i];
            if (e->op > TRACE_FREE || (e->op <= TRACE_CALLOC && e->id != e->slot))
                return RCONV_AGAIN;
        }
        /* the events, with each marker before the event it was read before */
        const trace_marker_t *m;
        size_t nm = trace_markers(c->r, &m);
        int from = 0;
        while (c->nmark < nm && m[c->nmark].at < c->at + (uint64_t)n) {
            int upto = (int)(m[c->nmark].at - c->at);
            if (upto > from && trace_write_trusted(c->w, c->ev + from, (size_t)(upto - from)) < 0)
                return RCONV_EIO;
            from = upto > from ? upto : from;
            if (rconv_markers(c, m[c->nmark].at) < 0) return RCONV_EIO;
        }
        if (n > from && trace_write_trusted(c->w, c->ev + from, (size_t)(n - from)) < 0)
            return RCONV_EIO;
        if (c->sink.failed || ferror(c->fp)) return RCONV_EIO;
        c->at += (uint64_t)n;
        if (n == 0) {
            /* markers after the last event */
            if (rconv_markers(c, c->at) < 0) return RCONV_EIO;
            c->ended = !trace_truncated(c->r);
            break;
        }
    }
    /* give the decoded bytes back */
    size_t off = (size_t)trace_offset(c->r), page = (size_t)sysconf(_SC_PAGESIZE);
    size_t upto = off / page * page;
    if (upto >= c->dropped + RCONV_DROP_STEP) {
        madvise(c->buf + c->dropped, upto - c->dropped, MADV_DONTNEED);
        c->dropped = upto;
    }
    return 0;
}

/* One step (a window) from byte FROM of RAW on.  1 when there were new
 * bytes, 0 when not, or a negative code. */
static int rconv_advance(rconv_t *c, size_t from)
{
    int rc = rconv_read(c, from);
    if (rc <= 0) return rc;
    if (!c->r) {
        if ((rc = rconv_start(c)) <= 0) return rc < 0 ? rc : 1; /* 0: the header is not whole */
    } else if (trace_mem_follow(c->r, c->buf, c->have) < 0) {
        return RCONV_AGAIN;
    }
    rc = rconv_pump(c);
    return rc < 0 ? rc : 1;
}

int rconv_step(rconv_t *c)
{
    if (c->state || c->ended) return c->state;
    int rc = rconv_advance(c, c->have);
    if (rc < 0) c->state = rc;
    return rc;
}

/* The header of the final trace in HELD: METADATA from the finished file
 * (the recorder's dropped-free count is final only there), the rest from
 * what the writer wrote.  0 or -1. */
static int rconv_header(rconv_sink_t *s, const trace_meta_t *meta)
{
    if (s->nheld < TBENC_FIXED) return -1;
    uint32_t hlen = 0;
    for (int i = 3; i >= 0; i--)
        hlen = hlen << 8 | s->held[TBENC_OFF_HDRLEN + i];
    size_t n = tbenc_header_size(meta);
    if (n == 0 || hlen > s->nheld) return -1;
    uint8_t *h = malloc(n + s->nheld - hlen);
    if (!h) return -1;
    tbenc_header(h, meta);
    /* version and flags, then the counts (the header length and the
     * metadata are the new ones) */
    memcpy(h + TBENC_OFF_VERSION, s->held + TBENC_OFF_VERSION,
           TBENC_OFF_HDRLEN - TBENC_OFF_VERSION);
    memcpy(h + TBENC_OFF_EVENTS, s->held + TBENC_OFF_EVENTS, TBENC_OFF_NMETA - TBENC_OFF_EVENTS);
    memcpy(h + n, s->held + hlen, s->nheld - hlen);
    free(s->held);
    s->held = h;
    s->nheld = s->heldcap = n + s->nheld - hlen;
    return 0;
}

/* Writes Z: HELD as one frame, then BODY's frame.  0 or RCONV_EIO. */
static int rconv_write(rconv_sink_t *s, const char *z, char *err, size_t errlen)
{
    tzst_buf_t *zb = tzst_buf_open(z, NULL, err, errlen);
    size_t cap = zb ? tzst_buf_bound(zb, s->nheld) : 0;
    uint8_t *frame = zb ? malloc(cap) : NULL;
    long fn = frame ? tzst_buf_compress(zb, frame, cap, s->held, s->nheld, RCONV_ZST_LEVEL) : -1;
    tzst_buf_close(zb);
    if (fn < 0) {
        free(frame);
        if (zb) snprintf(err, errlen, "%s: cannot compress the trace's header", z);
        return RCONV_EIO;
    }
    int out = open(z, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0666);
    int rc = out >= 0 && tzst_put_fd(&out, frame, (size_t)fn) == 0 ? 0 : -1;
    free(frame);
    if (rc == 0 && s->body >= 0) {
        /* the body's frame after it */
        char buf[1 << 16];
        off_t at = 0;
        for (ssize_t n; rc == 0 && (n = pread(s->body, buf, sizeof buf, at)) != 0; at += n) {
            if (n < 0 && errno == EINTR)
                n = 0;
            else if (n < 0 || tzst_put_fd(&out, buf, (size_t)n) < 0)
                rc = -1;
        }
    }
    if (out >= 0 && close(out) != 0) rc = -1;
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", z, strerror(errno));
        if (out >= 0) unlink(z);
        return RCONV_EIO;
    }
    return 0;
}

int rconv_finish(rconv_t *c, const char *z, char *err, size_t errlen)
{
    char rerr[512];
    snprintf(err, errlen, "%s: cannot convert", c->raw);
    if (c->state) return c->state;
    /* the rest, from where the reader stopped (an end record that was
     * read may have been taken back meanwhile) */
    c->ended = 0;
    int rc = rconv_advance(c, c->r ? (size_t)trace_offset(c->r) : 0);
    while (rc == 1 && !c->ended)
        rc = rconv_advance(c, c->have);
    if (rc < 0) return c->state = rc;
    if (!c->r) return c->state = RCONV_AGAIN;
    if (!c->ended) return c->state = trace_truncated(c->r) ? RCONV_CUT : RCONV_AGAIN;
    /* the metadata as the recorder left it */
    trace_reader_t *fin;
    if (trace_open(&fin, c->raw, rerr, sizeof rerr) < 0) return c->state = RCONV_AGAIN;
    rc = trace_writer_close_err(c->w, err, errlen);
    c->w = NULL;
    if (rc == 0 && fflush(c->fp) != 0) rc = -1;
    if (rc == 0 && (c->sink.failed || ferror(c->fp))) rc = -1;
    if (rc == 0 && c->sink.enc && tzst_enc_end(c->sink.enc, err, errlen) < 0) rc = -1;
    if (rc == 0 && rconv_header(&c->sink, trace_meta(fin)) < 0) {
        snprintf(err, errlen, "%s: out of memory", z);
        rc = -1;
    }
    trace_close(fin);
    if (rc < 0) {
        if (c->sink.err[0]) snprintf(err, errlen, "%s: %s", z, c->sink.err);
        return c->state = RCONV_EIO;
    }
    return c->state = rconv_write(&c->sink, z, err, errlen);
}

void rconv_free(rconv_t *c)
{
    if (!c) return;
    if (c->w) trace_writer_abort(c->w);
    if (c->fp) fclose(c->fp);
    trace_close(c->r);
    tzst_enc_close(c->sink.enc);
    if (c->sink.body >= 0) close(c->sink.body);
    free(c->sink.held);
    if (c->buf) munmap(c->buf, c->cap);
    if (c->fd >= 0) close(c->fd);
    free(c);
}
