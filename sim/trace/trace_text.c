/* trace_text.c: the text trace format (shared spec trace-text.md, v1):
 * a streaming reader and the canonical writer.
 *
 * Reading: the input goes through one TRACE_TEXT_BUF buffer, line by line,
 * so a file of any size is read in constant memory (plus the live tables).
 * At open, a prescan takes the leading blank/comment lines (collecting
 * `#@ key value` metadata) and a CS:APP malloc-lab header: four lone
 * numbers before any event.  Fewer than four lone numbers are not a header
 * but lines in error, reported (in line order) by the first trace_next
 * calls.
 *
 * arenalab's comment lines (still comments to any other reader):
 *   #@ KEY VALUE          metadata, before the first event
 *   #@ marker KEY VALUE   an inline marker at this point of the stream
 *   #@ thread N           the following events come from thread N
 * A `#@` line that does not fit these (bad key, control characters, a
 * metadata line after the first event) is an ordinary comment.
 *
 * Writing: the canonical form: one space between fields, the domain only
 * when it is not `mem`, metadata first, markers and thread switches where
 * they happen, no other comments. */
#include "sim/trace/internal/trace_impl.h"
#include "sim/trace/internal/trace_mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- input buffer -------------------------------------------------------- */

/* Compacts the buffer and reads more.  1 if bytes came, 0 at the end of
 * input, TRACE_EIO on a read error (message set). */
static int text_fill(trace_reader_t *r)
{
    trace_text_t *t = &r->text;
    if (t->beg > 0) {
        memmove(t->buf, t->buf + t->beg, t->end - t->beg);
        t->end -= t->beg;
        t->beg = 0;
    }
    size_t room = t->cap - t->end;
    ssize_t n;
    if (t->fd < 0) {
        n = (ssize_t)(t->memlen - t->mempos < room ? t->memlen - t->mempos : room);
        memcpy(t->buf + t->end, t->mem + t->mempos, (size_t)n);
        t->mempos += (size_t)n;
    } else {
        do
            n = read(t->fd, t->buf + t->end, room);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return _trace_fail(r->err, TRACE_EIO, "%s: read error: %s", r->path, strerror(errno));
    }
    if (n == 0) {
        t->eof = 1;
        return 0;
    }
    t->end += (size_t)n;
    return 1;
}

enum { TEXT_LINE = 1, TEXT_TOOLONG = 2 };

/* How far a too-long line is skipped before the input is given up on. */
#define TEXT_SKIP_MAX ((size_t)16 << 20)

/* Takes the next line into *LINE / *LEN (no newline; valid until the next
 * call).  TEXT_LINE, 0 at the end, TEXT_TOOLONG for a line that does not
 * fit the buffer (skipped up to its newline), TRACE_ECORRUPT when no newline
 * comes within TEXT_SKIP_MAX, or TRACE_EIO. */
static int text_getline(trace_reader_t *r, const char **line, size_t *len)
{
    trace_text_t *t = &r->text;
    size_t scanned = 0; /* bytes after beg known to hold no newline */
    for (;;) {
        char *nl = memchr(t->buf + t->beg + scanned, '\n', t->end - t->beg - scanned);
        if (nl) {
            *line = t->buf + t->beg;
            *len = (size_t)(nl - *line);
            t->beg = (size_t)(nl + 1 - t->buf);
            t->line++;
            return TEXT_LINE;
        }
        if (t->eof) {
            if (t->beg == t->end) return 0;
            *line = t->buf + t->beg; /* a last line without newline */
            *len = t->end - t->beg;
            t->beg = t->end;
            t->line++;
            return TEXT_LINE;
        }
        if (t->beg == 0 && t->end == t->cap) {
            t->line++;
            /* drop the rest of the line, chunk by chunk, but not forever: a
             * stream with no newline in TEXT_SKIP_MAX bytes (/dev/zero, a
             * binary file) is no text trace, and ends the reading */
            for (size_t dropped = t->end;; dropped += t->end) {
                if (dropped >= TEXT_SKIP_MAX)
                    return _trace_fail(r->err, TRACE_ECORRUPT,
                                       "%s:%llu: no end of line in %zu MiB: not a text trace",
                                       r->path, (unsigned long long)t->line, TEXT_SKIP_MAX >> 20);
                t->beg = t->end = 0;
                int rc = text_fill(r);
                if (rc <= 0) return rc < 0 ? rc : TEXT_TOOLONG;
                nl = memchr(t->buf, '\n', t->end);
                if (nl) {
                    t->beg = (size_t)(nl + 1 - t->buf);
                    return TEXT_TOOLONG;
                }
            }
        }
        scanned = t->end - t->beg;
        int rc = text_fill(r); /* moves the unread bytes to buf[0] */
        if (rc < 0) return rc;
    }
}

/* Gives back the line text_getline just returned. */
static void text_unget(trace_reader_t *r, const char *line)
{
    r->text.beg = (size_t)(line - r->text.buf);
    r->text.line--;
}

/* ---- lexing -------------------------------------------------------------- */

static inline int text_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Next blank-separated token of [*P, E): 1 with *TOK / *TL, or 0. */
static inline int text_token(const char **p, const char *e, const char **tok, size_t *tl)
{
    const char *s = *p;
    while (s < e && text_blank(*s))
        s++;
    if (s == e) {
        *p = s;
        return 0;
    }
    const char *q = s;
    while (q < e && !text_blank(*q))
        q++;
    *tok = s;
    *tl = (size_t)(q - s);
    *p = q;
    return 1;
}

/* Decimal number of at most MAX: 0, -1 (not a number) or -2 (too big). */
static inline int text_number(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0) return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9) return -1;
    }
    for (size_t i = 0; i < n; i++) {
        v = v * 10 + (unsigned)(s[i] - '0');
        if (v > max) return -2; /* max < 2^60, so v*10 never wraps first */
    }
    *out = v;
    return 0;
}

/* TOK shown in a message: at most 40 bytes, unprintable bytes as '?'. */
static const char *text_quote(char *buf, const char *tok, size_t n)
{
    size_t m = n > 40 ? 40 : n;
    for (size_t i = 0; i < m; i++) {
        unsigned char c = (unsigned char)tok[i];
        buf[i] = c < ' ' || c >= 0x7f ? '?' : (char)c;
    }
    strcpy(buf + m, n > m ? "..." : "");
    return buf;
}

/* Strips one trailing CR (CRLF files) and the line's trailing blanks. */
static size_t text_trim_end(const char *line, size_t len)
{
    while (len && (text_blank(line[len - 1]) || line[len - 1] == '\r'))
        len--;
    return len;
}

/* ---- the per-op table ---------------------------------------------------- */

enum { TEXT_ID, TEXT_AID, TEXT_SIZE, TEXT_NMEMB };

static const char *const text_field_name[] = {"ID", "AID", "SIZE", "NMEMB"};

static const struct {
    const char *usage;
    uint8_t nfields;
    uint8_t field[3];
    uint8_t domain; /* takes an optional DOMAIN */
} text_ops[TRACE_NOPS] = {
    [TRACE_ALLOC] = {"a ID SIZE [DOMAIN]", 2, {TEXT_ID, TEXT_SIZE}, 1},
    [TRACE_CALLOC] = {"c ID NMEMB SIZE [DOMAIN]", 3, {TEXT_ID, TEXT_NMEMB, TEXT_SIZE}, 1},
    [TRACE_REALLOC] = {"r ID SIZE [DOMAIN]", 2, {TEXT_ID, TEXT_SIZE}, 1},
    [TRACE_FREE] = {"f ID [DOMAIN]", 1, {TEXT_ID}, 1},
    [TRACE_ARENA_NEW] = {"n AID", 1, {TEXT_AID}, 0},
    [TRACE_ARENA_MALLOC] = {"m AID SIZE", 2, {TEXT_AID, TEXT_SIZE}, 0},
    [TRACE_ARENA_OWN] = {"o AID ID", 2, {TEXT_AID, TEXT_ID}, 0},
    [TRACE_ARENA_FREE] = {"x AID", 1, {TEXT_AID}, 0},
};

/* trace_op_t of an op letter, or -1. */
static int text_op_of(char c)
{
    for (int i = 0; i < TRACE_NOPS; i++)
        if (trace_op_letter[i] == c) return i;
    return -1;
}

static int text_domain_of(const char *s, size_t n)
{
    for (int d = 0; d < TRACE_NDOMAINS; d++)
        if (n == 3 && !memcmp(s, trace_domain_name[d], 3)) return d;
    return -1;
}

/* ---- comments ------------------------------------------------------------ */

/* A comment line [P, E) (P at the '#').  HEADER: before the first event,
 * where `#@ KEY VALUE` is metadata.  0 or TRACE_ENOMEM. */
static int text_comment(trace_reader_t *r, const char *p, const char *e, int header)
{
    const char *k, *k2, *v;
    size_t kl, k2l, vl;
    uint64_t n;
    if (e - p < 3 || p[1] != '@' || !text_blank(p[2])) return 0;
    p += 2;
    if (!text_token(&p, e, &k, &kl)) return 0;
    if (kl == 6 && !memcmp(k, "thread", 6)) {
        if (text_token(&p, e, &v, &vl) && p == e && text_number(v, vl, UINT32_MAX, &n) == 0)
            r->thread = (uint32_t)n;
        return 0;
    }
    int marker = kl == 6 && !memcmp(k, "marker", 6);
    if (marker && !text_token(&p, e, &k2, &k2l)) return 0;
    while (p < e && text_blank(*p))
        p++;
    v = p;
    vl = (size_t)(e - p);
    if (marker) {
        if (!_trace_meta_key_ok(k2, k2l) || !_trace_meta_value_ok(v, vl)) return 0;
        if (_trace_marker_add(r, r->nevents, k2, k2l, v, vl) < 0)
            return _trace_fail(r->err, TRACE_ENOMEM, "%s: out of memory", r->path);
        return 0;
    }
    if (!header || !_trace_meta_key_ok(k, kl) || !_trace_meta_value_ok(v, vl)) return 0;
    if (_trace_meta_add(r, k, kl, v, vl) < 0)
        return _trace_fail(r->err, TRACE_ENOMEM, "%s: out of memory", r->path);
    return 0;
}

/* ---- events ---------------------------------------------------------------- */

/* Parses the event line [P, E) into EV (ids as written).  0 or
 * TRACE_ESYNTAX with the message set. */
static int text_parse(trace_reader_t *r, const char *p, const char *e, trace_event_t *ev)
{
    char q[48];
    const char *tok = p;
    size_t tl = 0;
    unsigned long long line = (unsigned long long)r->text.line;
    text_token(&p, e, &tok, &tl); /* there is one: the line is not blank */
    int op = tl == 1 ? text_op_of(tok[0]) : -1;
    if (op < 0)
        return _trace_fail(r->err, TRACE_ESYNTAX,
                           "%s:%llu: unknown op '%s' (expected one of a c r f n m o x)", r->path,
                           line, text_quote(q, tok, tl));
    ev->op = (uint8_t)op;
    ev->domain = TRACE_MEM;
    ev->id = ev->arena = 0;
    ev->slot = ev->aslot = 0;
    ev->size = ev->nmemb = 0;
    for (int i = 0; i < text_ops[op].nfields; i++) {
        int kind = text_ops[op].field[i];
        const char *what = text_field_name[kind];
        uint64_t v;
        if (!text_token(&p, e, &tok, &tl))
            return _trace_fail(r->err, TRACE_ESYNTAX, "%s:%llu: missing %s (expected '%s')",
                               r->path, line, what, text_ops[op].usage);
        uint64_t max = kind <= TEXT_AID ? UINT32_MAX : TRACE_MAX_SIZE;
        int rc = text_number(tok, tl, max, &v);
        if (rc == -1)
            return _trace_fail(r->err, TRACE_ESYNTAX,
                               "%s:%llu: bad %s '%s' (expected a decimal number; '%s')", r->path,
                               line, what, text_quote(q, tok, tl), text_ops[op].usage);
        if (rc == -2)
            return _trace_fail(r->err, TRACE_ESYNTAX, "%s:%llu: %s %s is out of range (max %llu)",
                               r->path, line, what, text_quote(q, tok, tl),
                               (unsigned long long)max);
        switch (kind) {
        case TEXT_ID:
            ev->id = (uint32_t)v;
            break;
        case TEXT_AID:
            ev->arena = (uint32_t)v;
            break;
        case TEXT_SIZE:
            ev->size = v;
            break;
        default:
            ev->nmemb = v;
        }
    }
    if (text_token(&p, e, &tok, &tl)) {
        int d = text_ops[op].domain ? text_domain_of(tok, tl) : -1;
        if (d < 0 && text_ops[op].domain)
            return _trace_fail(r->err, TRACE_ESYNTAX,
                               "%s:%llu: bad domain '%s' (expected raw, mem or obj)", r->path, line,
                               text_quote(q, tok, tl));
        if (d < 0)
            return _trace_fail(r->err, TRACE_ESYNTAX, "%s:%llu: extra field '%s' (expected '%s')",
                               r->path, line, text_quote(q, tok, tl), text_ops[op].usage);
        ev->domain = (uint8_t)d;
        if (text_token(&p, e, &tok, &tl))
            return _trace_fail(r->err, TRACE_ESYNTAX, "%s:%llu: extra field '%s' (expected '%s')",
                               r->path, line, text_quote(q, tok, tl), text_ops[op].usage);
    }
    return 0;
}

/* A line holding one decimal number and nothing else (a .rep header line). */
static int text_lone_number(const char *p, const char *e)
{
    const char *tok;
    size_t tl;
    uint64_t v;
    return text_token(&p, e, &tok, &tl) && text_number(tok, tl, UINT64_MAX / 16, &v) != -1 &&
           !text_token(&p, e, &tok, &tl);
}

/* Takes the leading comments (metadata) and a .rep header; stops before
 * the first other line.  0 or a fatal code. */
static int text_prescan(trace_reader_t *r)
{
    trace_text_t *t = &r->text;
    uint64_t lone[4];
    int nlone = 0;
    const char *line;
    size_t len;
    for (;;) {
        int rc = text_getline(r, &line, &len);
        if (rc < 0) return rc;
        if (rc == 0) break;
        if (rc == TEXT_TOOLONG) {
            t->toolong = t->line;
            break;
        }
        const char *p = line, *e = line + text_trim_end(line, len);
        while (p < e && text_blank(*p))
            p++;
        if (p == e) continue;
        if (*p == '#') {
            if ((rc = text_comment(r, p, e, 1)) < 0) return rc;
            continue;
        }
        if (!r->is_rep && text_lone_number(p, e)) {
            lone[nlone++] = t->line;
            if (nlone == 4) r->is_rep = 1;
            continue;
        }
        text_unget(r, line);
        break;
    }
    if (!r->is_rep) {
        t->nheld = nlone;
        for (int i = 0; i < nlone; i++)
            t->held[i] = lone[i];
    }
    return 0;
}

static int text_open(trace_reader_t *r)
{
    trace_text_t *t = &r->text;
    /* a trace in memory that fits the buffer needs no more than its size
     * (lines longer than TRACE_TEXT_BUF are errors either way) */
    t->cap = t->fd < 0 && t->memlen < TRACE_TEXT_BUF ? t->memlen + 1 : TRACE_TEXT_BUF;
    t->buf = tmem_malloc(r->heap, t->cap);
    if (!t->buf) return _trace_fail(r->err, TRACE_ENOMEM, "%s: out of memory", r->path);
    if (t->fd >= 0) {
        /* a pipe cannot be sniffed by trace_open: look at what came */
        int rc;
        while ((rc = text_fill(r)) > 0 && t->end < 4)
            ;
        if (rc < 0) return rc;
        if (t->end >= 4 && !memcmp(t->buf, TBENC_MAGIC, 4))
            return _trace_fail(r->err, TRACE_EUSAGE,
                               "%s: a binary trace cannot be read from a pipe; give its file name",
                               r->path);
    }
    return text_prescan(r);
}

static int text_rewind(trace_reader_t *r)
{
    trace_text_t *t = &r->text;
    if (t->fd >= 0 && lseek(t->fd, 0, SEEK_SET) != 0)
        return _trace_fail(r->err, TRACE_EUSAGE, "%s: cannot rewind: %s", r->path, strerror(errno));
    t->mempos = 0;
    t->beg = t->end = 0;
    t->eof = 0;
    t->line = 0;
    t->nheld = t->iheld = 0;
    t->toolong = 0;
    r->is_rep = 0;
    _trace_meta_clear(r);
    return text_prescan(r);
}

static void text_close(trace_reader_t *r)
{
    if (r->text.own_fd) close(r->text.fd);
    tmem_free(r->heap, r->text.buf);
}

static int text_next(trace_reader_t *r, trace_event_t *ev)
{
    trace_text_t *t = &r->text;
    char msg[TRACE_ERRLEN - 64];
    if (t->iheld < t->nheld)
        return _trace_fail(r->err, TRACE_ESYNTAX,
                           "%s:%llu: lone number outside a malloc-lab .rep header (which is "
                           "4 such lines before any event)",
                           r->path, (unsigned long long)t->held[t->iheld++]);
    if (t->toolong) {
        unsigned long long l = (unsigned long long)t->toolong;
        t->toolong = 0;
        return _trace_fail(r->err, TRACE_ESYNTAX, "%s:%llu: line too long (over %zu bytes)",
                           r->path, l, TRACE_TEXT_BUF);
    }
    for (;;) {
        const char *line;
        size_t len;
        int rc = text_getline(r, &line, &len);
        if (rc <= 0) return rc;
        if (rc == TEXT_TOOLONG)
            return _trace_fail(r->err, TRACE_ESYNTAX, "%s:%llu: line too long (over %zu bytes)",
                               r->path, (unsigned long long)t->line, TRACE_TEXT_BUF);
        const char *p = line, *e = line + text_trim_end(line, len);
        while (p < e && text_blank(*p))
            p++;
        if (p == e) continue;
        if (*p == '#') {
            if ((rc = text_comment(r, p, e, 0)) < 0) return rc;
            continue;
        }
        if ((rc = text_parse(r, p, e, ev)) < 0) return rc;
        ev->where = t->line;
        ev->thread = r->thread;
        rc = live_apply_ids(&r->live, ev, msg, sizeof msg);
        if (rc == TRACE_ENOMEM)
            return _trace_fail(r->err, rc, "%s:%llu: out of memory", r->path,
                               (unsigned long long)t->line);
        if (rc < 0)
            return _trace_fail(r->err, rc, "%s:%llu: %s", r->path, (unsigned long long)t->line,
                               msg);
        return 1;
    }
}

static size_t text_batch(trace_reader_t *r, trace_event_t *ev, size_t max, int *rc)
{
    size_t n = 0;
    *rc = 1;
    while (n < max) {
        if ((*rc = text_next(r, &ev[n])) != 1) break;
        r->nevents++; /* before the next line: a marker there is placed by it */
        if (ev[n++].op == TRACE_ARENA_FREE) break;
    }
    return n;
}

/* ---- writing --------------------------------------------------------------- */

static char *text_put_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *text_put_str(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

/* "#@ A B C\n" with the empty trailing parts left out. */
static int text_put_comment(trace_writer_t *w, const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = b ? strlen(b) : 0, lc = c ? strlen(c) : 0;
    int rc = _trace_wroom(w, la + lb + lc + 8);
    if (rc < 0) return rc;
    char *p = (char *)w->buf + w->len;
    p = text_put_str(p, "#@ ", 3);
    p = text_put_str(p, a, la);
    if (lb) p = text_put_str(text_put_str(p, " ", 1), b, lb);
    if (lc) p = text_put_str(text_put_str(p, " ", 1), c, lc);
    *p++ = '\n';
    w->len = (size_t)(p - (char *)w->buf);
    return 0;
}

static int text_wopen(trace_writer_t *w, const trace_meta_t *meta)
{
    for (size_t i = 0; meta && i < meta->n; i++) {
        int rc = text_put_comment(w, meta->entries[i].key, meta->entries[i].value, NULL);
        if (rc < 0) return rc;
    }
    return 0;
}

static int text_put(trace_writer_t *w, const trace_event_t *ev)
{
    int rc = _trace_wroom(w, 128);
    if (rc < 0) return rc;
    char *p = (char *)w->buf + w->len;
    if (ev->thread != w->thread) {
        p = text_put_str(p, "#@ thread ", 10);
        p = text_put_u64(p, ev->thread);
        *p++ = '\n';
        w->thread = ev->thread;
    }
    *p++ = trace_op_letter[ev->op];
    *p++ = ' ';
    switch ((trace_op_t)ev->op) {
    case TRACE_ALLOC:
    case TRACE_REALLOC:
        p = text_put_u64(p, ev->id);
        *p++ = ' ';
        p = text_put_u64(p, ev->size);
        break;
    case TRACE_CALLOC:
        p = text_put_u64(p, ev->id);
        *p++ = ' ';
        p = text_put_u64(p, ev->nmemb);
        *p++ = ' ';
        p = text_put_u64(p, ev->size);
        break;
    case TRACE_FREE:
        p = text_put_u64(p, ev->id);
        break;
    case TRACE_ARENA_NEW:
    case TRACE_ARENA_FREE:
        p = text_put_u64(p, ev->arena);
        break;
    case TRACE_ARENA_MALLOC:
        p = text_put_u64(p, ev->arena);
        *p++ = ' ';
        p = text_put_u64(p, ev->size);
        break;
    case TRACE_ARENA_OWN:
        p = text_put_u64(p, ev->arena);
        *p++ = ' ';
        p = text_put_u64(p, ev->id);
        break;
    case TRACE_NOPS:
        break;
    }
    if (ev->op <= TRACE_FREE && ev->domain != TRACE_MEM) {
        *p++ = ' ';
        p = text_put_str(p, trace_domain_name[ev->domain], 3);
    }
    *p++ = '\n';
    w->len = (size_t)(p - (char *)w->buf);
    return 0;
}

static int text_marker(trace_writer_t *w, const char *key, const char *value)
{
    return text_put_comment(w, "marker", key, value);
}

static int text_finish(trace_writer_t *w)
{
    (void)w;
    return 0;
}

/* ---- the format's table (internal/trace_impl.h) ------------------------------ */

static int text_hints(const trace_reader_t *r, uint64_t *events, uint32_t *slots, uint32_t *aslots)
{
    (void)r, (void)events, (void)slots, (void)aslots;
    return 0; /* a text trace states no counts */
}

static const char *const text_exts[] = {".txt", ".trace", ".rep", NULL};

/* The fallback: what is not another format's is read as text. */
const trace_fmt_ops_t _trace_text_ops = {
    .fmt = TRACE_FMT_TEXT,
    .name = "text",
    .exts = text_exts,
    .sniff = NULL,
    .mapped = 0,
    .open = text_open,
    .next = text_next,
    .batch = text_batch,
    .rewind = text_rewind,
    .close = text_close,
    .hints = text_hints,
    .wopen = text_wopen,
    .put = text_put,
    .marker = text_marker,
    .finish = text_finish,
};
