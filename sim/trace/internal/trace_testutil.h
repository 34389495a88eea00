/* trace_testutil.h: helpers the trace tests share (files in the test's
 * temporary directory, whole-trace logs to compare).  Header-only and
 * static inline: only tests include it. */
#ifndef ARENALAB_SIM_TRACE_INTERNAL_TRACE_TESTUTIL_H
#define ARENALAB_SIM_TRACE_INTERNAL_TRACE_TESTUTIL_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/trace/trace.h"

/* A growable string. */
typedef struct {
    char *s;
    size_t n, cap;
} tu_buf_t;

static inline void tu_add(tu_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void tu_add(tu_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (n < 0) abort();
        if (b->s && b->n + (size_t)n < b->cap) {
            b->n += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        if (!b->s) abort();
        if (b->n == 0) b->s[0] = '\0';
    }
}

/* "$TEST_TMPDIR/NAME" (or /tmp/NAME.PID outside Bazel), in BUF. */
static inline const char *tu_path(char *buf, size_t n, const char *name)
{
    const char *dir = getenv("TEST_TMPDIR");
    if (dir)
        snprintf(buf, n, "%s/%s", dir, name);
    else
        snprintf(buf, n, "/tmp/%s.%ld", name, (long)getpid());
    return buf;
}

static inline int tu_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int bad = fwrite(data, 1, len, f) != len;
    return fclose(f) != 0 || bad ? -1 : 0;
}

/* The whole file, malloc'ed and NUL-terminated; NULL on failure. */
static inline char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    tu_buf_t b = {0};
    char chunk[65536];
    size_t n;
    b.s = malloc(1);
    b.cap = 1;
    b.s[0] = '\0';
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.n + n + 1 > b.cap) {
            b.cap = (b.n + n + 1) * 2;
            b.s = realloc(b.s, b.cap);
            if (!b.s) abort();
        }
        memcpy(b.s + b.n, chunk, n);
        b.n += n;
        b.s[b.n] = '\0';
    }
    fclose(f);
    if (len) *len = b.n;
    return b.s;
}

/* One line per event or error: the event (with where, slots, thread,
 * owned slots at `x`), or "ERR<code> message"; then markers and flags.
 * BATCH 0 reads with trace_next, else with trace_next_batch of at most
 * BATCH events, which must give the same log ("x-not-last" would show an
 * `x` inside a batch, where trace_owned cannot answer for it). */
static inline void tu_log_reader_batch(tu_buf_t *b, trace_reader_t *r, size_t batch)
{
    trace_event_t evs[64], *ev;
    for (;;) {
        int rc = batch ? trace_next_batch(r, evs, batch < 64 ? batch : 64) : trace_next(r, evs);
        if (rc == 0) break;
        if (rc < 0) {
            tu_add(b, "ERR%d %s\n", rc, trace_error(r));
            if (rc != TRACE_ESYNTAX && rc != TRACE_ESEM) break;
            continue;
        }
        for (int i = 0; i < rc; i++) {
            ev = &evs[i];
            tu_add(b,
                   "%c id=%u arena=%u size=%" PRIu64 " nmemb=%" PRIu64 " dom=%s @%" PRIu64
                   " s=%u as=%u t=%u",
                   trace_op_letter[ev->op], ev->id, ev->arena, ev->size, ev->nmemb,
                   trace_domain_name[ev->domain], ev->where,
                   ev->op <= TRACE_FREE || ev->op == TRACE_ARENA_OWN ? ev->slot : 0,
                   ev->op >= TRACE_ARENA_NEW ? ev->aslot : 0, ev->thread);
            if (ev->op == TRACE_ARENA_FREE && i < rc - 1) tu_add(b, " x-not-last");
            if (ev->op == TRACE_ARENA_FREE && i == rc - 1) {
                const uint32_t *owned;
                size_t n = trace_owned(r, ev->aslot, &owned);
                tu_add(b, " owned=");
                for (size_t k = 0; k < n; k++)
                    tu_add(b, "%s%u", k ? "," : "", owned[k]);
            }
            tu_add(b, "\n");
        }
    }
    const trace_marker_t *m;
    size_t n = trace_markers(r, &m);
    for (size_t i = 0; i < n; i++)
        tu_add(b, "marker @%" PRIu64 " %s=%s\n", m[i].at, m[i].key, m[i].value);
    const trace_meta_t *meta = trace_meta(r);
    for (size_t i = 0; i < meta->n; i++)
        tu_add(b, "meta %s=%s\n", meta->entries[i].key, meta->entries[i].value);
    if (trace_truncated(r)) tu_add(b, "truncated\n");
    if (trace_is_rep(r)) tu_add(b, "rep\n");
}

/* tu_log_reader_batch, event by event. */
static inline void tu_log_reader(tu_buf_t *b, trace_reader_t *r)
{
    tu_log_reader_batch(b, r, 0);
}

/* tu_log_reader_batch of the trace in memory DATA, as file NAME, read with
 * FLAGS (malloc'ed). */
static inline char *tu_log_mem_batch(const char *name, const void *data, size_t len, unsigned flags,
                                     size_t batch)
{
    tu_buf_t b = {0};
    char err[512];
    trace_reader_t *r;
    tu_add(&b, "%s", "");
    int rc = trace_open_mem(&r, name, data, len, flags, err, sizeof err);
    if (rc < 0) {
        tu_add(&b, "OPEN%d %s\n", rc, err);
        return b.s;
    }
    tu_log_reader_batch(&b, r, batch);
    trace_close(r);
    return b.s;
}

/* tu_log_reader of TEXT read from memory as file NAME (malloc'ed). */
static inline char *tu_log_mem(const char *name, const void *data, size_t len, unsigned flags)
{
    return tu_log_mem_batch(name, data, len, flags, 0);
}

/* Converts IN to OUT in format FMT with IN's metadata: 0 or the code. */
static inline int tu_convert(const char *in, const char *out, trace_format_t fmt)
{
    trace_reader_t *r;
    trace_writer_t *w;
    char err[512];
    int rc = trace_open(&r, in, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "%s\n", err);
        return rc;
    }
    rc = trace_writer_open(&w, out, fmt, trace_meta(r), 0, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "%s\n", err);
        trace_close(r);
        return rc;
    }
    const char *msg;
    rc = trace_copy(r, w, 0, NULL, &msg);
    if (rc < 0) {
        fprintf(stderr, "%s\n", msg);
        trace_writer_abort(w);
    } else {
        rc = trace_writer_close_err(w, err, sizeof err);
        if (rc < 0) fprintf(stderr, "%s\n", err);
    }
    trace_close(r);
    return rc;
}

/* Compares two strings, printing the first differing line. */
static inline int tu_same(const char *what, const char *a, const char *b)
{
    if (!strcmp(a, b)) return 1;
    size_t i = 0, line = 1, start = 0;
    while (a[i] && a[i] == b[i]) {
        if (a[i] == '\n') {
            line++;
            start = i + 1;
        }
        i++;
    }
    fprintf(stderr, "%s: differ at line %zu:\n  got:  %.120s\n  want: %.120s\n", what, line,
            a + start, b + start);
    return 0;
}

#endif
