/* exp_wl.c: a trace of ours as a glibc trace_run workload (.wl; the format
 * is described in imp_wl.c), so that trace_run replays it and our `import
 * wl` reads it back.
 *
 * Blocks get the pointer index slot + 1 (slots are unique among live blocks
 * and kept by realloc).  Each trace thread gets a stream of its own; when a
 * thread touches an index that another thread touched last, a sync point
 * orders them (SYNC_W at the end of the other thread's stream so far,
 * SYNC_R before the event), which is all trace_run needs to replay the
 * trace's order of events on each block.  `align` markers make MEMALIGN.
 * Arena events have no form there: `n`, `m` and `o` are left out (counted),
 * the blocks an `x` frees become frees.
 *
 * The streams are written to temporary files (one per thread) while the
 * trace is read, then the header, whose thread offsets depend on its own
 * length, and the streams: memory stays at the per-slot table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/import/internal/imp_impl.h"

#define XW_MAX_THREADS 4096

typedef struct {
    uint32_t id; /* the trace's thread number                        */
    FILE *f;     /* its stream so far                                 */
    uint64_t len;
} xw_stream_t;

typedef struct {
    xw_stream_t *s;
    uint32_t n, cap;
    uint32_t *last; /* per pointer index: stream that touched it last + 1 */
    uint64_t nlast;
    uint64_t maxidx, nsync, skipped;
    int failed; /* a temporary file could not be written              */
} xw_t;

/* Appends a varint to B (at most 10 bytes); returns its length. */
static size_t xw_varint(uint8_t *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (uint8_t)(v & 0x7f);
        v >>= 7;
    } while (v);
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(tmp[n - 1 - i] | (i + 1 < n ? 0x80 : 0));
    return n;
}

/* Appends OP and its N arguments to stream S. */
static void xw_op(xw_t *x, xw_stream_t *s, uint8_t op, int n, uint64_t a0, uint64_t a1, uint64_t a2)
{
    uint8_t b[1 + 3 * 10];
    size_t len = 0;
    b[len++] = op;
    uint64_t a[3] = {a0, a1, a2};
    for (int i = 0; i < n; i++)
        len += xw_varint(b + len, a[i]);
    if (fwrite(b, 1, len, s->f) != len) x->failed = 1;
    s->len += len;
}

/* The stream of trace thread ID (a new one when first met), or NULL. */
static xw_stream_t *xw_stream(xw_t *x, uint32_t id, char *note, size_t notelen)
{
    for (uint32_t i = 0; i < x->n; i++)
        if (x->s[i].id == id) return &x->s[i];
    if (x->n == XW_MAX_THREADS) {
        snprintf(note, notelen, "more than %d threads", XW_MAX_THREADS);
        return NULL;
    }
    if (x->n == x->cap) {
        uint32_t cap = x->cap ? x->cap * 2 : 8;
        xw_stream_t *n = realloc(x->s, cap * sizeof *n);
        if (!n) {
            snprintf(note, notelen, "out of memory");
            return NULL;
        }
        x->s = n;
        x->cap = cap;
    }
    FILE *f = tmpfile();
    if (!f) {
        snprintf(note, notelen, "cannot create a temporary file");
        return NULL;
    }
    x->s[x->n] = (xw_stream_t){id, f, 0};
    return &x->s[x->n++];
}

/* Thread stream S (number SI) is about to touch pointer index IDX: orders
 * it after the thread that touched it last.  0 or -1 (out of memory). */
static int xw_touch(xw_t *x, uint32_t si, uint64_t idx)
{
    if (idx >= x->nlast) {
        uint64_t n = x->nlast ? x->nlast : 1024;
        while (n <= idx)
            n *= 2;
        uint32_t *l = realloc(x->last, n * sizeof *l);
        if (!l) return -1;
        memset(l + x->nlast, 0, (n - x->nlast) * sizeof *l);
        x->last = l;
        x->nlast = n;
    }
    uint32_t prev = x->last[idx];
    if (prev && prev - 1 != si) {
        uint64_t k = x->nsync++;
        xw_op(x, &x->s[prev - 1], WL_SYNC_W, 1, k, 0, 0);
        xw_op(x, &x->s[si], WL_SYNC_R, 1, k, 0, 0);
    }
    x->last[idx] = si + 1;
    if (idx > x->maxidx) x->maxidx = idx;
    return 0;
}

/* The header for the streams as they are, at OUT (NULL: only its length).
 * Returns its length. */
static uint64_t xw_header(const xw_t *x, uint64_t hlen, FILE *out)
{
    uint8_t b[16];
    uint64_t len = 0, off = hlen;
    struct {
        uint8_t op;
        uint64_t v;
    } head[] = {{WL_ALLOC_PTRS, x->maxidx + 1},
                {WL_ALLOC_SYNCS, x->nsync ? x->nsync : 1},
                {WL_NTHREADS, x->n}};
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++) {
        b[0] = head[i].op;
        size_t n = 1 + xw_varint(b + 1, head[i].v);
        if (out) fwrite(b, 1, n, out);
        len += n;
    }
    for (uint32_t i = 0; i < x->n; i++) {
        b[0] = WL_START_THREAD;
        size_t n = 1 + xw_varint(b + 1, off);
        if (out) fwrite(b, 1, n, out);
        len += n;
        off += x->s[i].len;
    }
    b[0] = WL_DONE;
    if (out) fwrite(b, 1, 1, out);
    return len + 1;
}

static int xw_write(trace_reader_t *r, FILE *out, uint64_t *nevents, char *note, size_t notelen)
{
    xw_t x;
    memset(&x, 0, sizeof x);
    trace_event_t ev;
    int rc, bad = 0; /* bad: an error of ours, message in NOTE */
    size_t nmark = 0;
    *nevents = 0;
    while (!bad && (rc = trace_next(r, &ev)) == 1) {
        uint64_t at = (*nevents)++, align = 0;
        const trace_marker_t *m;
        size_t nm = trace_markers(r, &m);
        for (; nmark < nm && m[nmark].at <= at; nmark++)
            if (m[nmark].at == at && !strcmp(m[nmark].key, "align"))
                align = strtoull(m[nmark].value, NULL, 10);
        xw_stream_t *s = xw_stream(&x, ev.thread, note, notelen);
        if (!s) {
            bad = 1;
            break;
        }
        uint32_t si = (uint32_t)(s - x.s);
        uint64_t idx = (uint64_t)ev.slot + 1, bytes;
        switch (ev.op) {
        case TRACE_ALLOC:
        case TRACE_CALLOC:
        case TRACE_REALLOC:
        case TRACE_FREE:
            if (xw_touch(&x, si, idx) < 0) {
                snprintf(note, notelen, "out of memory");
                bad = 1;
            }
            break;
        default:
            break;
        }
        if (bad) break;
        switch (ev.op) {
        case TRACE_ALLOC:
            if (align)
                xw_op(&x, s, WL_MEMALIGN, 3, idx, align, ev.size);
            else
                xw_op(&x, s, WL_MALLOC, 2, idx, ev.size, 0);
            break;
        case TRACE_CALLOC:
            if (__builtin_mul_overflow(ev.nmemb, ev.size, &bytes)) {
                snprintf(note, notelen, "%s: event %llu: calloc of more than 2^64 bytes",
                         trace_path(r), (unsigned long long)at);
                bad = 1;
                break;
            }
            xw_op(&x, s, WL_CALLOC, 2, idx, bytes, 0);
            break;
        case TRACE_REALLOC:
            xw_op(&x, s, WL_REALLOC, 3, idx, idx, ev.size);
            break;
        case TRACE_FREE:
            xw_op(&x, s, WL_FREE, 1, idx, 0, 0);
            break;
        case TRACE_ARENA_FREE: {
            const uint32_t *slots;
            size_t n = trace_owned(r, ev.aslot, &slots);
            for (size_t i = 0; i < n && !bad; i++) {
                if (xw_touch(&x, si, (uint64_t)slots[i] + 1) < 0) {
                    snprintf(note, notelen, "out of memory");
                    bad = 1;
                }
                xw_op(&x, s, WL_FREE, 1, (uint64_t)slots[i] + 1, 0, 0);
            }
            x.skipped++;
            break;
        }
        default:
            x.skipped++;
        }
    }
    if (bad) {
        rc = IMP_EINPUT;
    } else if (rc < 0) {
        snprintf(note, notelen, "%s", trace_error(r));
        rc = IMP_EINPUT;
    }
    if (rc == 0 && x.n == 0 && !xw_stream(&x, 0, note, notelen)) rc = IMP_EINPUT;
    if (rc == 0) {
        for (uint32_t i = 0; i < x.n; i++)
            xw_op(&x, &x.s[i], WL_DONE, 0, 0, 0, 0);
        /* the header's length, given the offsets it holds, is a fixed point */
        uint64_t h = 0, next;
        while ((next = xw_header(&x, h, NULL)) != h)
            h = next;
        xw_header(&x, h, out);
        char buf[65536];
        for (uint32_t i = 0; i < x.n && !x.failed; i++) {
            size_t n;
            if (fflush(x.s[i].f) != 0 || fseek(x.s[i].f, 0, SEEK_SET) != 0) x.failed = 1;
            while (!x.failed && (n = fread(buf, 1, sizeof buf, x.s[i].f)) > 0)
                if (fwrite(buf, 1, n, out) != n) break;
            if (ferror(x.s[i].f)) x.failed = 1;
        }
        if (x.failed) {
            snprintf(note, notelen, "cannot write a temporary file (TMPDIR full?)");
            rc = IMP_EINPUT;
        } else if (x.skipped) {
            snprintf(note, notelen,
                     "%llu arena events (n, m, o, x) have no trace_run form: left out (the "
                     "blocks an arena frees became frees)",
                     (unsigned long long)x.skipped);
        }
    }
    for (uint32_t i = 0; i < x.n; i++)
        fclose(x.s[i].f);
    free(x.s);
    free(x.last);
    return rc;
}

const imp_export_t imp_export_wl = {
    .name = "wl",
    .summary = "glibc's trace_run workload (.wl), one stream per thread with sync points",
    .loses = "domains, markers but `align` (memalign), arena events (the blocks an arena frees "
             "become frees), calloc's element count (calloc(n*size, 1)); time",
    .write = xw_write,
};
