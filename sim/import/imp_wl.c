/* imp_wl.c: glibc's malloc workload files (.wl), what DJ Delorie's
 * trace2wl makes of a malloc trace and trace_run replays.
 *
 * A .wl file is opcode bytes, each followed by its arguments as
 * big-endian base-128 varints (7 bits a byte, most significant first,
 * every byte but the last with its top bit set).  It starts with the main
 * stream:
 *
 *   ALLOC_PTRS n (8)     the pointer table: indices 1..n name blocks, 0 is NULL
 *   ALLOC_SYNCS n (9)    the sync points
 *   NTHREADS n (10)
 *   START_THREAD off (11)   one per thread: its stream starts at byte off
 *   DONE (1)             the end of the main stream
 *
 * and each thread's stream is
 *
 *   MALLOC p sz (2)      ptrs[p] = malloc(sz) (a block still there is freed first)
 *   CALLOC p sz (3)      ptrs[p] = calloc(sz, 1)
 *   REALLOC p2 p1 sz (4) ptrs[p2] = realloc(ptrs[p1], sz); ptrs[p1] = 0 if p1 != p2
 *   FREE p (5)           free(ptrs[p]); ptrs[p] = 0
 *   MEMALIGN p al sz (12) ptrs[p] = memalign(al, sz)
 *   SYNC_W s (6)         sync point s is reached
 *   SYNC_R s (7)         wait until sync point s is reached
 *   NOP (0), DONE (1)    the end of the thread
 *
 * (a result index 0 is a call that failed: skipped, as trace_run does).
 * The threads run concurrently, ordered only by the sync points; the
 * import runs them one at a time — each until it waits or for a quantum
 * of WL_QUANTUM operations, round robin — which is one valid order; a wait
 * that can never end is an error.  Blocks are named by their index, so
 * the sink sees no inversions.  Each thread keeps a cursor into the file
 * (read with pread, WL_BUF bytes at a time): memory stays at the threads'
 * cursors, a bit per sync point and the live blocks, whatever the file's
 * size, but the file must be a plain file (or memory), not a pipe or a
 * compressed stream. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/import/internal/imp_impl.h"

#define WL_BUF         4096
#define WL_QUANTUM     1000
#define WL_MAX_THREADS 4096 /* a cursor each: 16 MiB at most */
#define WL_MAX_SYNCS   ((uint64_t)1 << 30)

typedef struct {
    uint64_t pos; /* next byte                                        */
    uint64_t base;
    size_t len; /* buf holds the file's bytes [base, base + len)      */
    uint8_t buf[WL_BUF];
} wl_cur_t;

typedef struct {
    wl_cur_t cur;
    uint64_t start;   /* where the thread's stream begins             */
    uint64_t waiting; /* the sync point it waits for, or UINT64_MAX   */
    uint64_t op_at;   /* byte of the operation being run (messages)   */
    int done;
} wl_thread_t;

typedef struct {
    imp_ctx_t *c;
    uint64_t size; /* the file's length                               */
    uint64_t nptrs, nsyncs;
    uint8_t *synced; /* a bit per sync point                           */
    uint64_t steps;  /* operations run: at most one per byte, as the
                        threads' streams do not overlap                  */
    wl_thread_t *t;
    uint32_t nthreads, declared;
} wl_t;

/* The byte at K's position, advancing: 0, 1 at the end of the file, or an
 * error. */
static int wl_byte(wl_t *w, wl_cur_t *k, uint8_t *b)
{
    if (k->pos >= w->size) return 1;
    if (k->pos < k->base || k->pos >= k->base + k->len) {
        imp_src_t *s = &w->c->src;
        size_t want = w->size - k->pos < WL_BUF ? (size_t)(w->size - k->pos) : WL_BUF;
        if (s->fd < 0) {
            memcpy(k->buf, s->mem + k->pos, want);
        } else {
            ssize_t got;
            do
                got = pread(s->fd, k->buf, want, (off_t)k->pos);
            while (got < 0 && errno == EINTR);
            if (got <= 0) {
                w->c->src.off = k->pos;
                return imp_fail(w->c, IMP_EINPUT, "cannot read: %s",
                                got < 0 ? strerror(errno) : "the file shrank");
            }
            want = (size_t)got;
        }
        k->base = k->pos;
        k->len = want;
    }
    *b = k->buf[k->pos++ - k->base];
    return 0;
}

/* Fails naming byte AT. */
static int wl_fail_at(wl_t *w, uint64_t at, const char *what, uint64_t v)
{
    w->c->src.off = at;
    return imp_fail(w->c, IMP_EINPUT, what, (unsigned long long)v);
}

/* A varint at K.  0 or an error. */
static int wl_int(wl_t *w, wl_cur_t *k, uint64_t *v)
{
    uint64_t at = k->pos, x = 0;
    for (int n = 0;; n++) {
        uint8_t b;
        int rc = wl_byte(w, k, &b);
        if (rc < 0) return rc;
        if (rc > 0) return wl_fail_at(w, at, "the file ends inside a number%.0llu", 0);
        if (x >> 57) return wl_fail_at(w, at, "a number past 2^64%.0llu", 0);
        x = x << 7 | (b & 0x7f);
        if (!(b & 0x80)) break;
    }
    *v = x;
    return 0;
}

/* The main stream: the tables' sizes and the threads' offsets. */
static int wl_header(wl_t *w)
{
    wl_cur_t k = {0};
    for (;;) {
        uint64_t at = k.pos, v;
        uint8_t op;
        int rc = wl_byte(w, &k, &op);
        if (rc < 0) return rc;
        if (rc > 0)
            return wl_fail_at(w, at, "the file ends before the main stream's DONE%.0llu", 0);
        switch (op) {
        case WL_NOP:
            continue;
        case WL_DONE:
            if (w->nthreads < w->declared)
                return wl_fail_at(w, at, "%llu threads declared, fewer started", w->declared);
            return 0;
        case WL_ALLOC_PTRS:
            if ((rc = wl_int(w, &k, &w->nptrs)) < 0) return rc;
            continue;
        case WL_ALLOC_SYNCS:
            if ((rc = wl_int(w, &k, &w->nsyncs)) < 0) return rc;
            if (w->nsyncs > WL_MAX_SYNCS || w->synced)
                return wl_fail_at(w, at, "%llu sync points (or a second ALLOC_SYNCS)", w->nsyncs);
            w->synced = calloc((size_t)(w->nsyncs / 8 + 1), 1);
            if (!w->synced) return imp_fail(w->c, IMP_EINPUT, "out of memory");
            continue;
        case WL_NTHREADS:
            if ((rc = wl_int(w, &k, &v)) < 0) return rc;
            if (v == 0 || v > WL_MAX_THREADS || w->t)
                return wl_fail_at(w, at, "NTHREADS %llu (1 .. 4096, once)", v);
            w->declared = (uint32_t)v;
            w->t = calloc(v, sizeof *w->t);
            if (!w->t) return imp_fail(w->c, IMP_EINPUT, "out of memory");
            continue;
        case WL_START_THREAD:
            if ((rc = wl_int(w, &k, &v)) < 0) return rc;
            if (!w->t || w->nthreads == w->declared)
                return wl_fail_at(w, at, "START_THREAD beyond the NTHREADS declared (%llu)",
                                  w->declared);
            if (v >= w->size) return wl_fail_at(w, at, "a thread starts past the end (%llu)", v);
            w->t[w->nthreads].start = v;
            w->t[w->nthreads].cur.pos = v;
            w->t[w->nthreads].waiting = UINT64_MAX;
            w->nthreads++;
            continue;
        default:
            return wl_fail_at(w, at, "opcode %llu in the main stream", op);
        }
    }
}

/* A pointer index P of the current operation: 0 or an error. */
static int wl_ptr_ok(wl_t *w, wl_thread_t *t, uint64_t p)
{
    if (p > w->nptrs) return wl_fail_at(w, t->op_at, "pointer index %llu past ALLOC_PTRS", p);
    return 0;
}

/* One operation of thread I: 1 when it ran, 0 when the thread waits or is
 * done, or an error. */
static int wl_step(wl_t *w, uint32_t i)
{
    wl_thread_t *t = &w->t[i];
    imp_sink_t *s = &w->c->sink;
    uint32_t thread = i + 1;
    if (t->done) return 0;
    if (t->waiting != UINT64_MAX) {
        if (!(w->synced[t->waiting / 8] & (1u << (t->waiting % 8)))) return 0;
        t->waiting = UINT64_MAX;
    }
    t->op_at = t->cur.pos;
    if (++w->steps > w->size)
        return wl_fail_at(w, t->op_at,
                          "more operations than bytes: the threads' streams overlap%.0llu", 0);
    uint8_t op;
    uint64_t a[3] = {0};
    int rc = wl_byte(w, &t->cur, &op);
    if (rc < 0) return rc;
    if (rc > 0) return wl_fail_at(w, t->op_at, "thread %llu runs past the end of the file", i + 1);
    static const uint8_t nargs[] = {0, 0, 2, 2, 3, 1, 1, 1, 0, 0, 0, 0, 3};
    if (op >= sizeof nargs || (op >= WL_ALLOC_PTRS && op <= WL_START_THREAD))
        return wl_fail_at(w, t->op_at, "opcode %llu in a thread's stream", op);
    for (int k = 0; k < nargs[op]; k++)
        if ((rc = wl_int(w, &t->cur, &a[k])) < 0) return rc;
    w->c->src.off = t->op_at; /* the sink's messages name the operation */
    if ((rc = imp_tick(s)) < 0) return rc;
    switch (op) {
    case WL_NOP:
        return 1;
    case WL_DONE:
        t->done = 1;
        return 0;
    case WL_MALLOC:
    case WL_CALLOC:
    case WL_MEMALIGN: {
        uint64_t p = a[0], sz = op == WL_MEMALIGN ? a[2] : a[1];
        if (p == 0) {
            s->sum.failed++;
            return 1;
        }
        if ((rc = wl_ptr_ok(w, t, p)) < 0) return rc;
        /* trace_run frees what the slot still holds */
        if (imp_is_live(s, p) && (rc = imp_free(s, thread, p)) < 0) return rc;
        rc = op == WL_CALLOC   ? imp_alloc(s, thread, p, TRACE_CALLOC, sz, 1, 0)
             : op == WL_MALLOC ? imp_alloc(s, thread, p, TRACE_ALLOC, sz, 0, 0)
                               : imp_alloc(s, thread, p, TRACE_ALLOC, sz, 0, a[1] ? a[1] : 1);
        return rc < 0 ? rc : 1;
    }
    case WL_REALLOC:
        if (a[0] == 0) {
            s->sum.failed++;
            return 1;
        }
        if ((rc = wl_ptr_ok(w, t, a[0])) < 0 || (rc = wl_ptr_ok(w, t, a[1])) < 0) return rc;
        if (a[0] != a[1] && imp_is_live(s, a[0])) {
            /* trace_run would lose that block (a leak): freed instead */
            rc = imp_repair(s, &s->sum.implicit_frees, "a realloc into a pointer index in use");
            if (rc < 0 || (rc = imp_free(s, thread, a[0])) < 0) return rc;
        }
        rc = imp_is_live(s, a[1]) ? imp_realloc(s, thread, a[1], a[0], a[2])
                                  : imp_alloc(s, thread, a[0], TRACE_ALLOC, a[2], 0, 0);
        return rc < 0 ? rc : 1;
    case WL_FREE:
        if ((rc = wl_ptr_ok(w, t, a[0])) < 0) return rc;
        /* an index that holds nothing is free(NULL) */
        if (a[0] && imp_is_live(s, a[0]) && (rc = imp_free(s, thread, a[0])) < 0) return rc;
        return 1;
    case WL_SYNC_W:
    case WL_SYNC_R:
        if (a[0] > w->nsyncs || !w->synced)
            return wl_fail_at(w, t->op_at, "sync point %llu past ALLOC_SYNCS", a[0]);
        if (op == WL_SYNC_W)
            w->synced[a[0] / 8] |= (uint8_t)(1u << (a[0] % 8));
        else
            t->waiting = a[0];
        return 1;
    default:
        return wl_fail_at(w, t->op_at, "opcode %llu in a thread's stream", op);
    }
}

static int wl_parse(imp_ctx_t *c)
{
    wl_t w;
    memset(&w, 0, sizeof w);
    w.c = c;
    c->src.binary = 1;
    if (c->src.codec != IMP_SRC_PLAIN)
        return imp_fail(c, IMP_EINPUT,
                        "a compressed workload: its threads are read at their own offsets, "
                        "so decompress it to a file first");
    if (c->src.fd >= 0) {
        struct stat st;
        if (fstat(c->src.fd, &st) != 0 || !S_ISREG(st.st_mode))
            return imp_fail(c, IMP_EINPUT,
                            "a workload is read at several offsets at once: give a file, not a "
                            "pipe");
        w.size = (uint64_t)st.st_size;
    } else {
        w.size = c->src.memlen;
    }
    int rc = wl_header(&w);
    if (rc == 0 && !w.synced) {
        w.synced = calloc(1, 1);
        if (!w.synced) rc = imp_fail(c, IMP_EINPUT, "out of memory");
    }
    char v[32];
    snprintf(v, sizeof v, "%u", w.nthreads);
    if (rc == 0) rc = imp_meta(&c->sink, "threads", v);
    /* round robin: each thread until it waits, ends, or its quantum ends */
    uint32_t live = w.nthreads;
    while (rc == 0 && live > 0) {
        int progress = 0;
        live = 0;
        for (uint32_t i = 0; i < w.nthreads && rc == 0; i++) {
            for (int q = 0; q < WL_QUANTUM; q++) {
                int k = wl_step(&w, i);
                if (k < 0) rc = k;
                if (k <= 0) break;
                progress = 1;
            }
            if (!w.t[i].done) live++;
        }
        if (rc == 0 && live > 0 && !progress) {
            for (uint32_t i = 0; i < w.nthreads; i++)
                if (!w.t[i].done && w.t[i].waiting != UINT64_MAX) {
                    c->src.off = w.t[i].op_at;
                    rc = imp_fail(c, IMP_EINPUT,
                                  "thread %u waits at sync point %llu, which no thread reaches",
                                  i + 1, (unsigned long long)w.t[i].waiting);
                    break;
                }
            if (rc == 0) rc = imp_fail(c, IMP_EINPUT, "the threads make no progress");
        }
    }
    free(w.t);
    free(w.synced);
    return rc;
}

const imp_format_t imp_wl = {
    .name = "wl",
    .summary = "glibc's trace_run workload (.wl, DJ Delorie's trace2wl)",
    .loses = "time; the threads' real interleaving (one valid order the sync points allow is "
             "taken); calloc's element size (calloc(sz, 1))",
    .parse = wl_parse,
};
