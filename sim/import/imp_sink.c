/* imp_sink.c: calls named by address made into a valid trace, with the
 * repairs real recorders need (the design, states and invariants are in
 * internal/imp_impl.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/import/internal/imp_impl.h"

#define SINK_MIN_CELLS 1024u

int imp_fail(imp_ctx_t *c, int code, const char *fmt, ...)
{
    int k;
    if (c->src.binary)
        k = snprintf(c->err, sizeof c->err, "%s: byte %llu: ", c->src.name,
                     (unsigned long long)c->src.off);
    else
        k = snprintf(c->err, sizeof c->err, "%s:%llu: ", c->src.name,
                     (unsigned long long)c->src.line);
    if (k < 0 || (size_t)k >= sizeof c->err) k = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + k, sizeof c->err - (size_t)k, fmt, ap);
    va_end(ap);
    return code;
}

int imp_sink_init(imp_sink_t *s, imp_ctx_t *c, const char *out, trace_format_t fmt,
                  const imp_opts_t *o)
{
    memset(s, 0, sizeof *s);
    s->ctx = c;
    s->opts = o;
    s->fmt = fmt;
    s->window = o->hold_window ? o->hold_window : IMP_HOLD_WINDOW;
    s->held_free = s->held_head = s->held_tail = IMP_NONE;
    s->out = strdup(out);
    if (!s->out) return imp_fail(c, IMP_EINPUT, "out of memory");
    return 0;
}

/* ---- the address hash ---------------------------------------------------- */

static uint32_t sink_hash(uint64_t a)
{
    a ^= a >> 33;
    a *= 0xff51afd7ed558ccdull;
    a ^= a >> 33;
    return (uint32_t)a;
}

/* The cell of ADDR, or NULL. */
static imp_cell_t *sink_find(const imp_sink_t *s, uint64_t addr)
{
    if (!s->mask) return NULL;
    for (uint32_t i = sink_hash(addr) & s->mask;; i = (i + 1) & s->mask) {
        if (s->cells[i].addr == addr) return &s->cells[i];
        if (s->cells[i].addr == 0) return NULL;
    }
}

/* Doubles the table (or makes the first).  0 or -1. */
static int sink_grow(imp_sink_t *s)
{
    uint32_t cap = s->mask ? (s->mask + 1) * 2 : SINK_MIN_CELLS;
    if (cap == 0) return -1;
    imp_cell_t *cells = calloc(cap, sizeof *cells);
    if (!cells) return -1;
    for (uint32_t k = 0; s->mask && k <= s->mask; k++) {
        if (!s->cells[k].addr) continue;
        uint32_t i = sink_hash(s->cells[k].addr) & (cap - 1);
        while (cells[i].addr)
            i = (i + 1) & (cap - 1);
        cells[i] = s->cells[k];
    }
    free(s->cells);
    s->cells = cells;
    s->mask = cap - 1;
    return 0;
}

/* A new cell for ADDR (not present).  NULL when out of memory. */
static imp_cell_t *sink_insert(imp_sink_t *s, uint64_t addr, uint32_t id)
{
    if ((uint64_t)(s->ncells + 1) * 4 > (uint64_t)(s->mask + 1) * 3 || !s->mask)
        if (sink_grow(s) < 0) return NULL;
    uint32_t i = sink_hash(addr) & s->mask;
    while (s->cells[i].addr)
        i = (i + 1) & s->mask;
    s->cells[i] = (imp_cell_t){addr, id, IMP_NONE};
    s->ncells++;
    return &s->cells[i];
}

/* Removes cell C (backward-shift deletion: no tombstones). */
static void sink_erase(imp_sink_t *s, imp_cell_t *c)
{
    uint32_t i = (uint32_t)(c - s->cells);
    for (uint32_t j = (i + 1) & s->mask;; j = (j + 1) & s->mask) {
        if (!s->cells[j].addr) break;
        uint32_t home = sink_hash(s->cells[j].addr) & s->mask;
        /* the entry at j may move to i if its home is not in (i, j] */
        if (((j - home) & s->mask) >= ((j - i) & s->mask)) {
            s->cells[i] = s->cells[j];
            i = j;
        }
    }
    s->cells[i].addr = 0;
    s->ncells--;
}

int imp_is_live(const imp_sink_t *s, uint64_t addr)
{
    return addr && sink_find(s, addr) != NULL;
}

/* ---- ids ---------------------------------------------------------------- */

/* A free id (the most recently freed, else a new one), or IMP_NONE. */
static uint32_t sink_take_id(imp_sink_t *s)
{
    if (s->nfree) {
        s->nlive++;
        return s->freeids[--s->nfree];
    }
    if (s->nids == IMP_NONE) return IMP_NONE;
    s->nlive++;
    return s->nids++;
}

/* ID is free again.  0 or -1 (out of memory). */
static int sink_give_id(imp_sink_t *s, uint32_t id)
{
    if (s->nfree == s->freecap) {
        uint32_t cap = s->freecap ? s->freecap * 2 : 1024;
        uint32_t *f = realloc(s->freeids, (size_t)cap * sizeof *f);
        if (!f) return -1;
        s->freeids = f;
        s->freecap = cap;
    }
    s->freeids[s->nfree++] = id;
    s->nlive--;
    return 0;
}

/* ---- writing -------------------------------------------------------------- */

static int sink_nomem(imp_sink_t *s)
{
    return imp_fail(s->ctx, IMP_EINPUT, "out of memory");
}

/* Opens the writer (at the first thing written).  0 or IMP_EINPUT. */
static int sink_open(imp_sink_t *s)
{
    if (s->w) return 0;
    trace_meta_t meta = {s->nmeta, s->meta};
    char err[IMP_ERRLEN];
    if (trace_writer_open(&s->w, s->out, s->fmt, &meta, 0, err, sizeof err) < 0) {
        snprintf(s->ctx->err, sizeof s->ctx->err, "%s", err);
        s->w = NULL;
        return IMP_EINPUT;
    }
    return 0;
}

/* Writes EV (thread, op, id, size, nmemb filled by the caller). */
static int sink_put(imp_sink_t *s, trace_event_t *ev)
{
    int rc = sink_open(s);
    if (rc < 0) return rc;
    ev->domain = TRACE_MEM;
    rc = trace_write(s->w, ev);
    if (rc < 0) {
        /* a refused event is a bug of the sink (its invariant), an I/O
         * error is the output's */
        snprintf(s->ctx->err, sizeof s->ctx->err, "%s%s",
                 rc == TRACE_ESEM ? "import: internal error: " : "", trace_writer_error(s->w));
        return IMP_EINPUT;
    }
    s->sum.events[ev->op]++;
    return 0;
}

static int sink_marker(imp_sink_t *s, const char *key, const char *value)
{
    int rc = sink_open(s);
    if (rc < 0) return rc;
    if (trace_write_marker(s->w, key, value) < 0) {
        snprintf(s->ctx->err, sizeof s->ctx->err, "%s", trace_writer_error(s->w));
        return IMP_EINPUT;
    }
    return 0;
}

/* Writes the allocation of a new block at ADDR's cell C (or a new cell when
 * C is NULL).  0 or a code. */
static int sink_emit_alloc(imp_sink_t *s, imp_cell_t *c, uint64_t addr, uint32_t thread, uint8_t op,
                           uint64_t size, uint64_t nmemb, uint64_t align)
{
    uint32_t id = sink_take_id(s);
    if (id == IMP_NONE) return imp_fail(s->ctx, IMP_EINPUT, "more than 2^32 - 1 live blocks");
    if (c)
        c->id = id;
    else if (!sink_insert(s, addr, id)) {
        s->nlive--; /* fatal anyway: the id is not reused */
        return sink_nomem(s);
    }
    if (align) {
        s->sum.aligned++;
        if (!s->opts->no_align) {
            char v[32];
            snprintf(v, sizeof v, "%llu", (unsigned long long)align);
            int rc = sink_marker(s, "align", v);
            if (rc < 0) return rc;
        }
    }
    if (size > TRACE_MAX_SIZE || (op == TRACE_CALLOC && nmemb > TRACE_MAX_SIZE))
        return imp_fail(s->ctx, IMP_EINPUT, "a size above 2^48 bytes (%llu)",
                        (unsigned long long)size);
    trace_event_t ev = {.op = op,
                        .id = id,
                        .size = size,
                        .nmemb = op == TRACE_CALLOC ? nmemb : 0,
                        .thread = thread};
    return sink_put(s, &ev);
}

static int sink_emit_free(imp_sink_t *s, uint32_t id, uint32_t thread)
{
    trace_event_t ev = {.op = TRACE_FREE, .id = id, .thread = thread};
    int rc = sink_put(s, &ev);
    if (rc < 0) return rc;
    return sink_give_id(s, id) < 0 ? sink_nomem(s) : 0;
}

/* ---- held allocations ------------------------------------------------------ */

/* Unlinks held entry H (in the FIFO) and puts it on the free list. */
static void sink_held_drop(imp_sink_t *s, uint32_t h)
{
    uint32_t prev = IMP_NONE;
    for (uint32_t i = s->held_head; i != IMP_NONE && i != h; i = s->held[i].next)
        prev = i;
    if (prev == IMP_NONE)
        s->held_head = s->held[h].next;
    else
        s->held[prev].next = s->held[h].next;
    if (s->held_tail == h) s->held_tail = prev;
    s->held[h].next = s->held_free;
    s->held_free = h;
    s->nheld--;
}

/* Releases the allocation held at cell C: the live block there (the one
 * whose free was late) is freed first, by an implicit free when IMPLICIT.
 * 0 or a code. */
static int sink_release(imp_sink_t *s, imp_cell_t *c, int implicit)
{
    uint32_t h = c->held;
    imp_held_t e = s->held[h];
    if (implicit) {
        int rc = imp_repair(s, &s->sum.implicit_frees,
                            "an allocation at a live address whose free never came");
        if (rc < 0) return rc;
        if ((rc = sink_emit_free(s, c->id, e.thread)) < 0) return rc;
    }
    c->held = IMP_NONE;
    sink_held_drop(s, h);
    if (e.op == TRACE_REALLOC) {
        trace_event_t ev = {.op = TRACE_REALLOC, .id = e.id, .size = e.size, .thread = e.thread};
        c->id = e.id;
        return sink_put(s, &ev);
    }
    return sink_emit_alloc(s, c, e.addr, e.thread, e.op, e.size, e.nmemb, e.align);
}

/* Holds E (an allocation, or a realloc moving block E.id) at live cell C
 * until the free of the block there comes. */
static int sink_hold(imp_sink_t *s, imp_cell_t *c, imp_held_t e)
{
    int rc = imp_repair(s, &s->sum.held,
                        "an allocation at an address that is still live (its free logged late)");
    if (rc < 0) return rc;
    if (c->held != IMP_NONE) {
        /* a second one: the first gives up waiting (the table does not
         * move: a release never inserts, C exists) */
        if ((rc = sink_release(s, c, 1)) < 0) return rc;
    }
    if (s->held_free == IMP_NONE) {
        uint32_t cap = s->nheld_cap ? s->nheld_cap * 2 : 64;
        imp_held_t *n = realloc(s->held, (size_t)cap * sizeof *n);
        if (!n) return sink_nomem(s);
        s->held = n;
        for (uint32_t i = s->nheld_cap; i < cap; i++)
            s->held[i].next = i + 1 < cap ? i + 1 : IMP_NONE;
        s->held_free = s->nheld_cap;
        s->nheld_cap = cap;
    }
    uint32_t h = s->held_free;
    s->held_free = s->held[h].next;
    e.addr = c->addr;
    e.deadline = s->rec + s->window;
    e.next = IMP_NONE;
    s->held[h] = e;
    if (s->held_tail == IMP_NONE)
        s->held_head = h;
    else
        s->held[s->held_tail].next = h;
    s->held_tail = h;
    s->nheld++;
    c->held = h;
    return 0;
}

int imp_repair(imp_sink_t *s, uint64_t *counter, const char *what)
{
    (*counter)++;
    if (s->opts->strict) return imp_fail(s->ctx, IMP_ESTRICT, "--strict: %s", what);
    return 0;
}

/* ---- the calls -------------------------------------------------------------- */

int imp_alloc(imp_sink_t *s, uint32_t thread, uint64_t addr, uint8_t op, uint64_t size,
              uint64_t nmemb, uint64_t align)
{
    if (addr == 0) {
        s->sum.failed++;
        return 0;
    }
    imp_cell_t *c = sink_find(s, addr);
    if (c) {
        imp_held_t e = {.size = size, .nmemb = nmemb, .align = align, .thread = thread, .op = op};
        return sink_hold(s, c, e);
    }
    return sink_emit_alloc(s, NULL, addr, thread, op, size, nmemb, align);
}

int imp_free(imp_sink_t *s, uint32_t thread, uint64_t addr)
{
    if (addr == 0) return 0;
    imp_cell_t *c = sink_find(s, addr);
    if (!c) return imp_repair(s, &s->sum.orphan_frees, "a free of an unknown pointer");
    int rc = sink_emit_free(s, c->id, thread);
    if (rc < 0) return rc;
    if (c->held != IMP_NONE) return sink_release(s, c, 0);
    sink_erase(s, c);
    return 0;
}

int imp_realloc(imp_sink_t *s, uint32_t thread, uint64_t old, uint64_t newp, uint64_t size)
{
    if (old == 0) return imp_alloc(s, thread, newp, TRACE_ALLOC, size, 0, 0);
    if (newp == 0) {
        s->sum.failed++;
        return 0;
    }
    imp_cell_t *c = sink_find(s, old);
    if (!c) {
        int rc = imp_repair(s, &s->sum.orphan_reallocs, "a realloc of an unknown pointer");
        if (rc < 0) return rc;
        return imp_alloc(s, thread, newp, TRACE_ALLOC, size, 0, 0);
    }
    if (size > TRACE_MAX_SIZE)
        return imp_fail(s->ctx, IMP_EINPUT, "a size above 2^48 bytes (%llu)",
                        (unsigned long long)size);
    uint32_t id = c->id;
    int rc;
    trace_event_t ev = {.op = TRACE_REALLOC, .id = id, .size = size, .thread = thread};
    if (newp == old) return sink_put(s, &ev);
    if (!sink_find(s, newp)) {
        /* the block moves to NEWP; a held allocation may take OLD (the
         * realloc was the free it waited for) */
        if ((rc = sink_put(s, &ev)) < 0) return rc;
        if (c->held != IMP_NONE) {
            if ((rc = sink_release(s, c, 0)) < 0) return rc;
        } else {
            sink_erase(s, c);
        }
        return sink_insert(s, newp, id) ? 0 : sink_nomem(s);
    }
    /* NEWP is still live: its free was logged late.  OLD is left now; the
     * realloc waits at NEWP for that free. */
    if (c->held != IMP_NONE) {
        if ((rc = sink_release(s, c, 0)) < 0) return rc;
    } else {
        sink_erase(s, c);
    }
    imp_held_t e = {.size = size, .thread = thread, .id = id, .op = TRACE_REALLOC};
    return sink_hold(s, sink_find(s, newp), e);
}

int imp_sink_marker(imp_sink_t *s, const char *key, const char *value)
{
    return sink_marker(s, key, value);
}

int imp_time(imp_sink_t *s, uint64_t ms)
{
    uint64_t n = 0;
    for (int op = 0; op < TRACE_NOPS; op++)
        n += s->sum.events[op];
    if (s->opts->no_time || (s->have_marker && n == s->events_at_marker)) return 0;
    char v[32];
    snprintf(v, sizeof v, "%llu", (unsigned long long)ms);
    int rc = sink_marker(s, "time_ms", v);
    if (rc < 0) return rc;
    s->have_marker = 1;
    s->events_at_marker = n;
    s->sum.time_markers++;
    return 0;
}

int imp_tick(imp_sink_t *s)
{
    s->rec++;
    while (s->held_head != IMP_NONE && s->held[s->held_head].deadline <= s->rec) {
        imp_cell_t *c = sink_find(s, s->held[s->held_head].addr);
        int rc = sink_release(s, c, 1);
        if (rc < 0) return rc;
    }
    return 0;
}

int imp_meta(imp_sink_t *s, const char *key, const char *value)
{
    if (s->w) return 0;
    size_t kl = strlen(key), vl = strlen(value);
    if (kl == 0 || kl > 255 || vl == 0) return 0;
    char *k = strdup(key), *v = strndup(value, vl > 4096 ? 4096 : vl); /* long: cut */
    trace_meta_entry_t *m = realloc(s->meta, (s->nmeta + 1) * sizeof *m);
    if (!k || !v || !m) {
        free(k);
        free(v);
        if (m) s->meta = m;
        return sink_nomem(s);
    }
    s->meta = m;
    for (char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = ' ';
    for (char *p = k; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f) *p = '_';
    /* no leading or trailing blanks (the text form could not keep them) */
    char *b = v;
    while (*b == ' ')
        b++;
    size_t n = strlen(b);
    while (n && b[n - 1] == ' ')
        b[--n] = '\0';
    memmove(v, b, n + 1);
    if (!*v) {
        free(k);
        free(v);
        return 0;
    }
    s->meta[s->nmeta++] = (trace_meta_entry_t){k, v};
    return 0;
}

int imp_sink_finish(imp_sink_t *s)
{
    while (s->held_head != IMP_NONE) {
        imp_cell_t *c = sink_find(s, s->held[s->held_head].addr);
        int rc = sink_release(s, c, 1);
        if (rc < 0) return rc;
    }
    int rc = sink_open(s);
    if (rc < 0) return rc;
    s->sum.live_end = s->nlive;
    char err[IMP_ERRLEN];
    trace_writer_t *w = s->w;
    s->w = NULL;
    if (trace_writer_close_err(w, err, sizeof err) < 0) {
        snprintf(s->ctx->err, sizeof s->ctx->err, "%s", err);
        return IMP_EINPUT;
    }
    return 0;
}

void imp_sink_free(imp_sink_t *s)
{
    if (s->w) trace_writer_abort(s->w);
    s->w = NULL;
    for (size_t i = 0; i < s->nmeta; i++) {
        free((char *)s->meta[i].key);
        free((char *)s->meta[i].value);
    }
    free(s->meta);
    free(s->cells);
    free(s->freeids);
    free(s->held);
    free(s->out);
    s->meta = NULL;
    s->cells = NULL;
    s->freeids = NULL;
    s->held = NULL;
    s->out = NULL;
}

int imp_sink_is_valid(const imp_sink_t *s)
{
    if (s->nlive + s->nfree != s->nids) return 0;
    uint8_t *seen = calloc(s->nids ? s->nids : 1, 1);
    if (!seen) return 0;
    int ok = 1;
    uint32_t cells = 0, held = 0;
    for (uint32_t i = 0; s->mask && i <= s->mask && ok; i++) {
        const imp_cell_t *c = &s->cells[i];
        if (!c->addr) continue;
        cells++;
        if (c->id >= s->nids || seen[c->id] || sink_find(s, c->addr) != c) ok = 0;
        if (ok) seen[c->id] = 1;
        if (c->held != IMP_NONE) {
            held++;
            if (c->held >= s->nheld_cap || s->held[c->held].addr != c->addr) ok = 0;
        }
    }
    for (uint32_t i = 0; i < s->nfree && ok; i++)
        if (s->freeids[i] >= s->nids || seen[s->freeids[i]]++) ok = 0;
    uint32_t inlist = 0, moving = 0;
    for (uint32_t h = s->held_head; h != IMP_NONE && ok; h = s->held[h].next) {
        if (++inlist > s->nheld) ok = 0;
        if (ok && s->held[h].op == TRACE_REALLOC) {
            moving++;
            if (s->held[h].id >= s->nids || seen[s->held[h].id]++) ok = 0;
        }
    }
    free(seen);
    return ok && cells == s->ncells && cells + moving == s->nlive && held == s->nheld &&
           inlist == s->nheld;
}
