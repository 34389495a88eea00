/* trace.c: the format-independent half of trace I/O: op and domain tables,
 * trace_open (each format in trace_formats.c's list may claim the input by
 * its first bytes; the one with no sniff takes the rest), calls through the
 * chosen format's table of operations, metadata and marker storage, and
 * the writer's checks and buffer.  No format's function is named here.
 *
 * Invariant: a reader or writer handed to the caller is fully set up; every
 * failure path frees what it took. */
#include "sim/trace/internal/trace_impl.h"
#include "sim/trace/internal/trace_mem.h"
#include "sim/base/meminfo.h"
#include "sim/trace/trace_zst.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

const char trace_op_letter[TRACE_NOPS] = {'a', 'c', 'r', 'f', 'n', 'm', 'o', 'x'};
const char *const trace_domain_name[TRACE_NDOMAINS] = {"raw", "mem", "obj"};

#define TRACE_WBUF ((size_t)256 << 10)
/* A stream's: its reader sees the bytes sooner (the buffer grows for a
 * larger record). */
#define TRACE_WBUF_STREAM ((size_t)16 << 10)

/* The most a reader's live tables may hold: a quarter of the memory
 * available when it opened (tables grow by doubling, so they never pass
 * half of it), or $ARENALAB_READER_MAX_BYTES.  A trace that keeps more
 * blocks live than that (200 MB of zeros after a valid binary header is
 * 66 million allocations) stops with an error, not with the machine. */
static uint64_t trace_reader_budget(void)
{
    return meminfo_bound("ARENALAB_READER_MAX_BYTES", meminfo_available() / 4);
}

/* After events were decoded: a fatal error when the live tables passed the
 * reader's budget.  0 or TRACE_ENOMEM (message in r->err). */
static int trace_check_budget(trace_reader_t *r)
{
    uint64_t held = live_bytes(&r->live);
    if (held <= r->max_bytes) return 0;
    return _trace_fail(r->err, TRACE_ENOMEM,
                       "%s: event %llu: the trace keeps more blocks live (%u) than this machine "
                       "can track in memory (its tables passed %llu MiB: the limit is a quarter "
                       "of the memory available, or ARENALAB_READER_MAX_BYTES)",
                       r->path, (unsigned long long)r->nevents, r->live.nblocks,
                       (unsigned long long)(held >> 20));
}

int _trace_fail(char *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, TRACE_ERRLEN, fmt, ap);
    va_end(ap);
    return code;
}

static void trace_copy_err(char *dst, size_t dstlen, const char *src)
{
    if (dst && dstlen) snprintf(dst, dstlen, "%s", src);
}

/* ---- metadata and markers ----------------------------------------------- */

int _trace_meta_key_ok(const char *s, size_t n)
{
    if (n == 0 || n > 255) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f) return 0;
    return 1;
}

int _trace_meta_value_ok(const char *s, size_t n)
{
    if (n > 65535) return 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] < ' ' && s[i] != '\t') || s[i] == 0x7f) return 0;
    return n == 0 || (s[0] != ' ' && s[0] != '\t' && s[n - 1] != ' ' && s[n - 1] != '\t');
}

int _trace_meta_key_reserved(const char *s, size_t n)
{
    return (n == 6 && !memcmp(s, "marker", 6)) || (n == 6 && !memcmp(s, "thread", 6)) ||
           (n == 3 && !memcmp(s, "pad", 3));
}

/* Traces recorded before the `pad` entry existed wrote dropped_frees as 20
 * zero-padded digits (rewritten in place): shown as the number it is. */
static void trace_meta_unpad_legacy(const char *k, size_t kl, const char **v, size_t *vl)
{
    if (kl != 13 || memcmp(k, "dropped_frees", 13) || *vl != 20) return;
    for (size_t i = 0; i < 20; i++)
        if ((*v)[i] < '0' || (*v)[i] > '9') return;
    while (*vl > 1 && **v == '0') {
        (*v)++;
        (*vl)--;
    }
}

/* Grows *ARR (element size ELEM) to hold one more than *N.  0 or ENOMEM. */
static int trace_push_room(pheap_t *heap, void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    if (ncap > SIZE_MAX / elem) return TRACE_ENOMEM;
    void *p = tmem_realloc(heap, *arr, ncap * elem);
    if (!p) return TRACE_ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

int _trace_meta_add(trace_reader_t *r, const char *k, size_t kl, const char *v, size_t vl)
{
    if (r->keep_notes) return 0;                   /* a rewound reader has them all already */
    if (kl == 3 && !memcmp(k, "pad", 3)) return 0; /* a writer's reserved room, not data */
    trace_meta_unpad_legacy(k, kl, &v, &vl);
    if (trace_push_room(r->heap, (void **)&r->meta, &r->meta_cap, r->nmeta, sizeof *r->meta) < 0)
        return TRACE_ENOMEM;
    char *key = tmem_strndup(r->heap, k, kl), *value = tmem_strndup(r->heap, v, vl);
    if (!key || !value) {
        tmem_free(r->heap, key);
        tmem_free(r->heap, value);
        return TRACE_ENOMEM;
    }
    r->meta[r->nmeta++] = (trace_meta_entry_t){key, value};
    r->metaview = (trace_meta_t){r->nmeta, r->meta};
    return 0;
}

int _trace_marker_add(trace_reader_t *r, uint64_t at, const char *k, size_t kl, const char *v,
                      size_t vl)
{
    if (r->keep_notes) return 0; /* a rewound reader has them all already */
    if (trace_push_room(r->heap, (void **)&r->markers, &r->markers_cap, r->nmarkers,
                        sizeof *r->markers) < 0)
        return TRACE_ENOMEM;
    char *key = tmem_strndup(r->heap, k, kl), *value = tmem_strndup(r->heap, v, vl);
    if (!key || !value) {
        tmem_free(r->heap, key);
        tmem_free(r->heap, value);
        return TRACE_ENOMEM;
    }
    r->markers[r->nmarkers++] = (trace_marker_t){at, key, value};
    return 0;
}

void _trace_meta_clear(trace_reader_t *r)
{
    if (r->keep_notes) return;
    for (size_t i = 0; i < r->nmeta; i++) {
        tmem_free(r->heap, (char *)r->meta[i].key);
        tmem_free(r->heap, (char *)r->meta[i].value);
    }
    r->nmeta = 0;
    r->metaview = (trace_meta_t){0, r->meta};
}

void _trace_markers_clear(trace_reader_t *r)
{
    if (r->keep_notes) return;
    for (size_t i = 0; i < r->nmarkers; i++) {
        tmem_free(r->heap, (char *)r->markers[i].key);
        tmem_free(r->heap, (char *)r->markers[i].value);
    }
    r->nmarkers = 0;
}

/* ---- reading ------------------------------------------------------------- */

/* The format whose sniff claims the first N bytes of HEAD, else the
 * fallback (the one with no sniff). */
static const trace_fmt_ops_t *trace_sniff(const void *head, size_t n)
{
    const trace_fmt_ops_t *fallback = NULL;
    for (int f = 0; f < TRACE_NFORMATS; f++) {
        const trace_fmt_ops_t *ops = _trace_formats[f];
        if (!ops->sniff)
            fallback = ops;
        else if (ops->sniff(head, n))
            return ops;
    }
    return fallback;
}

/* Frees R itself: in its own heap, the whole heap goes. */
static void trace_reader_free(trace_reader_t *r)
{
    if (r->heap) {
        pheap_t heap = r->heap_store; /* R is inside it */
        pheap_destroy(&heap);
    } else {
        free(r->path);
        free(r);
    }
}

static trace_reader_t *trace_reader_new(const char *name, unsigned flags,
                                        const trace_fmt_ops_t *ops)
{
    trace_reader_t *r;
    if (flags & TRACE_R_PRIVATE_HEAP) {
        /* the reader lives in its own heap, which it then carries */
        pheap_t heap;
        if (pheap_init(&heap, 0) != 0) return NULL;
        if (!(r = pheap_alloc(&heap, sizeof *r))) {
            pheap_destroy(&heap);
            return NULL;
        }
        r->heap_store = heap;
        r->heap = &r->heap_store;
    } else if (!(r = calloc(1, sizeof *r))) {
        return NULL;
    }
    r->path = tmem_strndup(r->heap, name, strlen(name));
    if (!r->path) {
        trace_reader_free(r);
        return NULL;
    }
    r->ops = ops;
    r->flags = flags;
    r->max_bytes = trace_reader_budget();
    r->last_x = LIVE_NONE;
    r->text.fd = -1;
    /* TRACE_R_FAST skips the live tables' checks where the format's own
     * header vouches for the ids (a mapped format); a stream never can */
    live_init(&r->live, !ops->mapped || !(flags & TRACE_R_FAST));
    r->live.heap = r->heap;
    r->live.cross = (flags & TRACE_R_CROSS_DOMAIN) != 0;
    return r;
}

/* Finishes opening R (format already known); frees it on failure. */
static int trace_reader_start(trace_reader_t **out, trace_reader_t *r, char *err, size_t errlen)
{
    int rc = r->ops->open(r);
    if (rc < 0) {
        trace_copy_err(err, errlen, r->err);
        trace_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

int trace_open_ex(trace_reader_t **out, const char *path, unsigned flags, char *err, size_t errlen)
{
    int fd = 0;
    *out = NULL;
    if (!path || !out) {
        trace_copy_err(err, errlen, "trace_open: no path");
        return TRACE_EUSAGE;
    }
    int is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "<stdin>" : path;
    if (!is_stdin && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        if (err) snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return TRACE_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        if (err)
            snprintf(err, errlen, "%s: cannot read: %s", name,
                     S_ISDIR(st.st_mode) ? "is a directory" : strerror(errno));
        if (!is_stdin) close(fd);
        return TRACE_EIO;
    }
    unsigned char head[TRACE_SNIFF_BYTES];
    int is_copy = 0; /* fd is a decompressed copy of PATH */
    if (S_ISREG(st.st_mode) && pread(fd, head, 4, 0) == 4 && tzst_is_zstd(head, 4)) {
        /* *.atr.zst: read the decompressed copy (sim/trace/trace_zst.h) */
        int zfd = tzst_decompress_fd(fd, name, err, errlen);
        close(fd);
        if (zfd < 0) return zfd;
        fd = zfd;
        is_copy = 1;
        if (fstat(fd, &st) != 0) st.st_size = 0;
    }
    /* a pipe cannot be sniffed here: the fallback (text) looks at what
     * comes and refuses a mapped format's bytes */
    ssize_t nhead = S_ISREG(st.st_mode) ? pread(fd, head, sizeof head, 0) : 0;
    const trace_fmt_ops_t *ops = trace_sniff(head, nhead > 0 ? (size_t)nhead : 0);
    trace_reader_t *r = trace_reader_new(name, flags, ops);
    if (!r) {
        trace_copy_err(err, errlen, "out of memory");
        if (!is_stdin) close(fd);
        return TRACE_ENOMEM;
    }
    if (ops->mapped) {
        if ((uint64_t)st.st_size > SIZE_MAX) {
            if (!is_stdin) close(fd);
            trace_copy_err(err, errlen, "file too large");
            trace_close(r);
            return TRACE_ENOMEM;
        }
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        int saved = errno;
        if (!is_stdin) close(fd); /* the mapping stays valid */
        if (p == MAP_FAILED) {
            if (err) snprintf(err, errlen, "%s: cannot map: %s", name, strerror(saved));
            trace_close(r);
            return TRACE_EIO;
        }
        /* one pass front to back: let the kernel read ahead */
        madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
        r->bin.base = p;
        r->bin.size = (size_t)st.st_size;
        r->bin.mapped = 1;
        r->bin.is_path = !is_stdin && !is_copy;
    } else {
        r->text.fd = fd;
        r->text.own_fd = !is_stdin;
    }
    return trace_reader_start(out, r, err, errlen);
}

int trace_open(trace_reader_t **out, const char *path, char *err, size_t errlen)
{
    return trace_open_ex(out, path, 0, err, errlen);
}

int trace_open_mem(trace_reader_t **out, const char *name, const void *data, size_t size,
                   unsigned flags, char *err, size_t errlen)
{
    *out = NULL;
    const trace_fmt_ops_t *ops = trace_sniff(data, size);
    trace_reader_t *r = trace_reader_new(name ? name : "<memory>", flags, ops);
    if (!r) {
        trace_copy_err(err, errlen, "out of memory");
        return TRACE_ENOMEM;
    }
    if (ops->mapped) {
        r->bin.base = data;
        r->bin.size = size;
    } else {
        r->text.mem = data;
        r->text.memlen = size;
    }
    return trace_reader_start(out, r, err, errlen);
}

int trace_mem_follow(trace_reader_t *r, const void *data, size_t size)
{
    trace_bin_t *b = &r->bin;
    if (r->ops != &_trace_bin_ops || b->mapped || !data || size < (size_t)(b->p - b->base))
        return _trace_fail(r->err, TRACE_EUSAGE,
                           "%s: trace_mem_follow: not a binary version 1 "
                           "trace in memory, or less data than before",
                           r->path);
    size_t at = (size_t)(b->p - b->base);
    b->base = data;
    b->p = b->base + at;
    b->size = size;
    /* the record that was cut short, or the end record, is read anew */
    if (b->done && !r->fatal) {
        b->done = 0;
        r->truncated = 0;
        r->complete = 0;
    }
    return 0;
}

uint64_t trace_offset(const trace_reader_t *r)
{
    return r->ops->mapped ? (uint64_t)(r->bin.p - r->bin.base) : 0;
}

/* What trace_next and trace_next_batch answer before reading anything: a
 * fatal error for good, or once an error that a batch met after handing
 * out its events.  0 when there is none. */
static int trace_before_read(trace_reader_t *r)
{
    if (r->fatal) return r->fatal;
    r->last_x = LIVE_NONE;
    int rc = r->pending;
    r->pending = 0;
    return rc;
}

int trace_next_batch(trace_reader_t *r, trace_event_t *ev, size_t max)
{
    int early = trace_before_read(r);
    if (early) return early;
    if (!ev || max == 0)
        return _trace_fail(r->err, TRACE_EUSAGE, "%s: trace_next_batch: no room for events",
                           r->path);
    if (max > INT_MAX) max = INT_MAX;
    int rc;
    size_t n = r->ops->batch(r, ev, max, &rc);
    if (n == 0 && rc == 0) r->complete = 1;
    if (trace_check_budget(r) < 0) return r->fatal = TRACE_ENOMEM;
    if (rc < 0 && rc != TRACE_ESYNTAX && rc != TRACE_ESEM)
        r->fatal = rc;
    else if (rc < 0 && n > 0)
        r->pending = rc;
    if (n == 0) return rc;
    if (ev[n - 1].op == TRACE_ARENA_FREE) r->last_x = ev[n - 1].aslot;
    return (int)n;
}

int trace_next(trace_reader_t *r, trace_event_t *ev)
{
    int early = trace_before_read(r);
    if (early) return early;
    /* not trace_next_batch(r, ev, 1): an event at a time is common
     * (check, convert, stats), and the batch machinery would double its
     * cost */
    int rc = r->ops->next(r, ev);
    if (rc == 0) r->complete = 1;
    /* the tables grow by doubling: checking at each power of two suffices */
    if (rc == 1 && (r->nevents & (r->nevents + 1)) == 0 && trace_check_budget(r) < 0)
        return r->fatal = TRACE_ENOMEM;
    if (rc == 1) {
        r->nevents++;
        if (ev->op == TRACE_ARENA_FREE) r->last_x = ev->aslot;
    } else if (rc < 0 && rc != TRACE_ESYNTAX && rc != TRACE_ESEM) {
        r->fatal = rc;
    }
    return rc;
}

const char *trace_error(const trace_reader_t *r)
{
    return r->err;
}

int trace_rewind(trace_reader_t *r)
{
    /* a private-heap reader keeps every note after a whole pass, and so
     * allocates nothing in later passes (trace.h) */
    r->keep_notes = r->complete && (r->flags & TRACE_R_PRIVATE_HEAP);
    r->complete = 0;
    live_reset(&r->live);
    _trace_markers_clear(r);
    r->thread = 0;
    r->nevents = 0;
    r->last_x = LIVE_NONE;
    r->truncated = 0;
    r->fatal = 0;
    r->pending = 0;
    int rc = r->ops->rewind(r);
    if (rc < 0) r->fatal = rc;
    return rc;
}

trace_format_t trace_format(const trace_reader_t *r)
{
    return r->ops->fmt;
}

const char *trace_path(const trace_reader_t *r)
{
    return r->path;
}

const trace_meta_t *trace_meta(const trace_reader_t *r)
{
    return &r->metaview;
}

uint64_t trace_count_hint(const trace_reader_t *r)
{
    uint64_t events;
    uint32_t slots, aslots;
    return r->ops->hints(r, &events, &slots, &aslots) ? events : 0;
}

uint32_t trace_slot_hint(const trace_reader_t *r)
{
    uint64_t events;
    uint32_t slots, aslots;
    return r->ops->hints(r, &events, &slots, &aslots) ? slots : 0;
}

uint32_t trace_aslot_hint(const trace_reader_t *r)
{
    uint64_t events;
    uint32_t slots, aslots;
    return r->ops->hints(r, &events, &slots, &aslots) ? aslots : 0;
}

int trace_truncated(const trace_reader_t *r)
{
    return r->truncated;
}

int trace_is_rep(const trace_reader_t *r)
{
    return r->is_rep;
}

size_t trace_owned(const trace_reader_t *r, uint32_t aslot, const uint32_t **slots)
{
    *slots = NULL;
    if (r->last_x != aslot || aslot == LIVE_NONE) return 0;
    return live_owned(&r->live, slots);
}

size_t trace_markers(const trace_reader_t *r, const trace_marker_t **markers)
{
    *markers = r->markers;
    return r->nmarkers;
}

void trace_close(trace_reader_t *r)
{
    if (!r) return;
    r->ops->close(r);
    r->keep_notes = 0;
    live_free(&r->live);
    _trace_meta_clear(r);
    _trace_markers_clear(r);
    tmem_free(r->heap, r->meta);
    tmem_free(r->heap, r->markers);
    trace_reader_free(r);
}

trace_format_t trace_format_for_path(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    trace_format_t fallback = TRACE_FMT_TEXT;
    for (int f = 0; f < TRACE_NFORMATS; f++) {
        const trace_fmt_ops_t *ops = _trace_formats[f];
        if (!ops->sniff) fallback = ops->fmt;
        for (size_t i = 0; dot && (!slash || dot > slash) && ops->exts[i]; i++)
            if (!strcasecmp(dot, ops->exts[i]) && ops->sniff) return ops->fmt;
    }
    return fallback;
}

/* ---- writing ------------------------------------------------------------- */

/* zstd level of compressed outputs: fast, and close to the best ratio on
 * traces (their redundancy is in the delta coding already). */
#define TRACE_ZST_LEVEL 9

/* Whether PATH names a compressed output (".zst" at its end). */
static int trace_is_zst_name(const char *path)
{
    size_t n = strlen(path);
    return n > 4 && !strcmp(path + n - 4, ".zst");
}

/* An unnamed temporary file (O_TMPFILE: nothing to clean up, ever) in
 * $TMPDIR or /tmp, or an unlinked mkstemp one where O_TMPFILE is not
 * supported; opened for reading and writing.  NULL with errno. */
static FILE *trace_scratch(void)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        char name[4096];
        snprintf(name, sizeof name, "%s/arenalab-trace.XXXXXX", dir);
        fd = mkostemp(name, O_CLOEXEC);
        if (fd >= 0) unlink(name);
    }
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "w+b");
    if (!f) close(fd);
    return f;
}

int trace_output_format(const char *path, int forced, trace_format_t *fmt, char *err, size_t errlen)
{
    static const struct {
        const char *ext;
        trace_format_t fmt;
    } names[] = {{".atr", TRACE_FMT_BIN},
                 {".bin", TRACE_FMT_BIN},
                 {".txt", TRACE_FMT_TEXT},
                 {".trace", TRACE_FMT_TEXT}};
    if (!strcmp(path, "-")) {
        if (forced == TRACE_FMT_BIN || forced == TRACE_FMT_BIN1) {
            trace_copy_err(err, errlen, "a binary trace cannot go to standard output; name a file");
            return TRACE_EUSAGE;
        }
        *fmt = TRACE_FMT_TEXT;
        return 0;
    }
    struct stat st;
    int exists = stat(path, &st) == 0;
    if (exists && S_ISDIR(st.st_mode)) {
        if (err) snprintf(err, errlen, "%s: is a directory", path);
        return TRACE_EUSAGE;
    }
    size_t n = strlen(path) - (trace_is_zst_name(path) ? 4 : 0);
    int named = -1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t el = strlen(names[i].ext);
        if (n > el && !strncasecmp(path + n - el, names[i].ext, el)) named = names[i].fmt;
    }
    /* either version of the binary format is an .atr */
    if (named == TRACE_FMT_BIN && forced == TRACE_FMT_BIN1) named = TRACE_FMT_BIN1;
    if (named >= 0 && forced >= 0 && forced != named) {
        if (err)
            snprintf(err, errlen, "%s: the name says %s, but %s was asked for", path,
                     named != TRACE_FMT_TEXT ? "binary (.atr)" : "text (.txt)",
                     forced != TRACE_FMT_TEXT ? "binary" : "text");
        return TRACE_EUSAGE;
    }
    if (named < 0) {
        /* a device, FIFO or /proc link has no name to read: text, or the
         * format asked for */
        if (exists && !S_ISREG(st.st_mode)) {
            *fmt = forced >= 0 ? (trace_format_t)forced : TRACE_FMT_TEXT;
            return 0;
        }
        if (err)
            snprintf(err, errlen,
                     "%s: a trace's name ends in .atr (binary) or .txt / .trace (text), "
                     "each optionally followed by .zst (compressed)",
                     path);
        return TRACE_EUSAGE;
    }
    *fmt = (trace_format_t)named;
    return 0;
}

int _trace_wflush(trace_writer_t *w)
{
    /* ferror too: fwrite on a fopencookie stream counts the bytes its
     * write function refused (glibc) */
    if (w->len && (fwrite(w->buf, 1, w->len, w->fp) != w->len || ferror(w->fp))) {
        w->failed = 1;
        w->len = 0;
        return _trace_fail(w->err, TRACE_EIO, "%s: cannot write: %s", w->path, strerror(errno));
    }
    w->len = 0;
    return 0;
}

int _trace_wroom_slow(trace_writer_t *w, size_t n)
{
    if (w->failed) return TRACE_EIO;
    if (w->cap - w->len >= n) return 0;
    if (_trace_wflush(w) < 0) return TRACE_EIO;
    if (n > w->cap) {
        uint8_t *p = realloc(w->buf, n);
        if (!p) return _trace_fail(w->err, TRACE_ENOMEM, "%s: out of memory", w->path);
        w->buf = p;
        w->cap = n;
    }
    return 0;
}

/* Checks every metadata entry before anything is written. */
static int trace_check_meta(char *err, const char *path, const trace_meta_t *meta)
{
    for (size_t i = 0; meta && i < meta->n; i++) {
        const char *k = meta->entries[i].key, *v = meta->entries[i].value;
        if (!k || !v || !_trace_meta_key_ok(k, strlen(k)) || _trace_meta_key_reserved(k, strlen(k)))
            return _trace_fail(err, TRACE_EUSAGE,
                               "%s: bad metadata key '%s' (1-255 printable characters, no blanks; "
                               "'marker', 'thread' and 'pad' are reserved)",
                               path, k ? k : "(null)");
        if (!_trace_meta_value_ok(v, strlen(v)))
            return _trace_fail(err, TRACE_EUSAGE,
                               "%s: bad value for metadata key '%s' (no control characters, "
                               "no leading or trailing blanks, at most 65535 bytes)",
                               path, k);
    }
    return 0;
}

/* A writer named NAME with an output buffer of CAP bytes, its metadata
 * checked; no output yet.  0, or a negative code with ERR. */
static int trace_writer_new(trace_writer_t **out, const char *name, trace_format_t fmt,
                            const trace_meta_t *meta, unsigned flags, size_t cap, char *err,
                            size_t errlen)
{
    char msg[TRACE_ERRLEN];
    *out = NULL;
    if (!name || fmt < 0 || fmt >= TRACE_NFORMATS ||
        (flags & ~(unsigned)(TRACE_W_TRUSTED | TRACE_W_RAW))) {
        trace_copy_err(err, errlen, "trace_writer_open: bad path, format or flags");
        return TRACE_EUSAGE;
    }
    if (trace_check_meta(msg, name, meta) < 0) {
        trace_copy_err(err, errlen, msg);
        return TRACE_EUSAGE;
    }
    trace_writer_t *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(name)) || !(w->buf = malloc(cap))) {
        if (w) free(w->path);
        free(w);
        trace_copy_err(err, errlen, "out of memory");
        return TRACE_ENOMEM;
    }
    w->ops = _trace_formats[fmt];
    w->flags = flags;
    w->cap = cap;
    live_init(&w->live, 1);
    tbenc_init(&w->enc);
    *out = w;
    return 0;
}

/* Writes W's header; frees W on failure. */
static int trace_writer_start(trace_writer_t **out, trace_writer_t *w, const trace_meta_t *meta,
                              char *err, size_t errlen)
{
    int rc = w->ops->wopen(w, meta);
    if (rc < 0) {
        trace_copy_err(err, errlen, w->err);
        trace_writer_abort(w);
        return rc;
    }
    *out = w;
    return 0;
}

int trace_writer_open(trace_writer_t **out, const char *path, trace_format_t fmt,
                      const trace_meta_t *meta, unsigned flags, char *err, size_t errlen)
{
    trace_writer_t *w;
    int rc = trace_writer_new(&w, path, fmt, meta, flags, TRACE_WBUF, err, errlen);
    if (rc < 0) return rc;
    if (outfile_open(&w->out, path, "wb", w->err, sizeof w->err) < 0) {
        trace_copy_err(err, errlen, w->err);
        trace_writer_abort(w);
        return TRACE_EIO;
    }
    if (trace_is_zst_name(path)) {
        /* the whole trace first (the binary header is patched at the end),
         * compressed into OUT at close */
        if (!(w->scratch = trace_scratch())) {
            _trace_fail(w->err, TRACE_EIO, "%s: cannot create a temporary file: %s", path,
                        strerror(errno));
            trace_copy_err(err, errlen, w->err);
            trace_writer_abort(w);
            return TRACE_EIO;
        }
        w->fp = w->scratch;
    } else {
        w->fp = w->out.fp;
    }
    return trace_writer_start(out, w, meta, err, errlen);
}

int trace_writer_open_stream(trace_writer_t **out, FILE *fp, const char *name, trace_format_t fmt,
                             const trace_meta_t *meta, unsigned flags, char *err, size_t errlen)
{
    trace_writer_t *w;
    *out = NULL;
    if (!fp) {
        trace_copy_err(err, errlen, "trace_writer_open_stream: no stream");
        return TRACE_EUSAGE;
    }
    int rc = trace_writer_new(&w, name, fmt, meta, flags, TRACE_WBUF_STREAM, err, errlen);
    if (rc < 0) return rc;
    w->fp = fp; /* w->out stays OUTFILE_NONE: nothing to commit or remove */
    return trace_writer_start(out, w, meta, err, errlen);
}

int trace_write(trace_writer_t *w, const trace_event_t *ev)
{
    char msg[TRACE_ERRLEN - 64];
    if (w->failed) return TRACE_EIO;
    if (w->flags & TRACE_W_TRUSTED)
        return _trace_fail(w->err, TRACE_EUSAGE, "%s: trace_write on a trusted writer", w->path);
    if (ev->op >= TRACE_NOPS || (ev->op <= TRACE_FREE && ev->domain >= TRACE_NDOMAINS))
        return _trace_fail(w->err, TRACE_EUSAGE, "%s: event %llu: bad op %u or domain %u", w->path,
                           (unsigned long long)w->count, ev->op, ev->domain);
    /* only the fields the op has: the output is canonical whatever the
     * caller left in the others */
    trace_event_t e = {.op = ev->op, .domain = ev->domain, .thread = ev->thread};
    switch ((trace_op_t)ev->op) {
    case TRACE_CALLOC:
        e.nmemb = ev->nmemb;
        /* fall through */
    case TRACE_ALLOC:
    case TRACE_REALLOC:
        e.size = ev->size;
        /* fall through */
    case TRACE_FREE:
        e.id = ev->id;
        break;
    case TRACE_ARENA_MALLOC:
        e.size = ev->size;
        /* fall through */
    case TRACE_ARENA_NEW:
    case TRACE_ARENA_FREE:
        e.arena = ev->arena;
        break;
    case TRACE_ARENA_OWN:
        e.arena = ev->arena;
        e.id = ev->id;
        break;
    case TRACE_NOPS:
        break;
    }
    if (e.op > TRACE_FREE) e.domain = TRACE_MEM;
    if (e.size > TRACE_MAX_SIZE || e.nmemb > TRACE_MAX_SIZE)
        return _trace_fail(w->err, TRACE_EUSAGE, "%s: event %llu: size or nmemb above 2^48",
                           w->path, (unsigned long long)w->count);
    int rc = live_apply_ids(&w->live, &e, msg, sizeof msg);
    if (rc < 0)
        return _trace_fail(w->err, rc, "%s: event %llu: %s", w->path, (unsigned long long)w->count,
                           msg);
    rc = w->ops->put(w, &e);
    if (rc < 0) return rc;
    w->count++;
    return 0;
}

/* The trusted path keeps none of the live tables: only their high-water
 * marks (live.nblocks, live.narenas), which is all a format's finish reads
 * (the header's slot hints).  Slots are the LIFO rule's, so the highest
 * slot named + 1 is the peak live count, as trace_write's tables count it. */
int trace_write_trusted(trace_writer_t *w, const trace_event_t *ev, size_t n)
{
    if (w->failed) return TRACE_EIO;
    if (!(w->flags & TRACE_W_TRUSTED))
        return _trace_fail(w->err, TRACE_EUSAGE, "%s: trace_write_trusted on a checked writer",
                           w->path);
    uint32_t nblocks = w->live.nblocks, narenas = w->live.narenas;
    for (size_t i = 0; i < n; i++) {
        const trace_event_t *e = &ev[i];
        if (e->op <= TRACE_CALLOC && e->slot >= nblocks) nblocks = e->slot + 1;
        if (e->op == TRACE_ARENA_NEW && e->aslot >= narenas) narenas = e->aslot + 1;
    }
    /* the batch in one call where the format takes one (a generator's
     * events come by the thousand a millisecond) */
    int rc = 0;
    if (w->ops->putn)
        rc = w->ops->putn(w, ev, n);
    else
        for (size_t i = 0; i < n && rc >= 0; i++)
            rc = w->ops->put(w, &ev[i]);
    if (rc < 0) return rc;
    w->live.nblocks = nblocks;
    w->live.narenas = narenas;
    w->count += n;
    return 0;
}

int trace_write_marker(trace_writer_t *w, const char *key, const char *value)
{
    if (w->failed) return TRACE_EIO;
    if (!key || !value || !_trace_meta_key_ok(key, strlen(key)) ||
        !_trace_meta_value_ok(value, strlen(value)))
        return _trace_fail(w->err, TRACE_EUSAGE,
                           "%s: bad marker '%s' (key: 1-255 printable characters, no blanks; "
                           "value: no control characters, no leading or trailing blanks)",
                           w->path, key ? key : "(null)");
    return w->ops->marker(w, key, value);
}

const char *trace_writer_error(const trace_writer_t *w)
{
    return w->err;
}

uint64_t trace_writer_count(const trace_writer_t *w)
{
    return w->count;
}

static void trace_writer_free(trace_writer_t *w)
{
    if (w->ops && w->ops->wfree) w->ops->wfree(w);
    if (w->scratch) fclose(w->scratch);
    live_free(&w->live);
    free(w->buf);
    free(w->path);
    free(w);
}

int trace_writer_close_err(trace_writer_t *w, char *err, size_t errlen)
{
    if (!w) return TRACE_EUSAGE;
    int rc = w->failed ? TRACE_EIO : 0;
    if (rc == 0) rc = w->ops->finish(w);
    if (rc == 0) rc = _trace_wflush(w);
    if (rc == 0 && w->scratch) {
        char zerr[TRACE_ERRLEN] = "cannot write the uncompressed trace";
        if (fflush(w->scratch) != 0 ||
            tzst_compress_fd(fileno(w->scratch), w->out.fp, TRACE_ZST_LEVEL, w->path, zerr,
                             sizeof zerr) < 0)
            rc = _trace_fail(w->err, TRACE_EIO, "%s", zerr);
    }
    if (w->out.kind == OUTFILE_NONE) { /* a caller's stream: flushed, left open */
        if (rc == 0 && fflush(w->fp) != 0)
            rc = _trace_fail(w->err, TRACE_EIO, "%s: cannot write: %s", w->path, strerror(errno));
    } else if (rc == 0) {
        if (outfile_commit(&w->out, w->err, sizeof w->err) < 0) rc = TRACE_EIO;
    } else {
        outfile_abort(&w->out);
    }
    if (rc < 0) trace_copy_err(err, errlen, w->err);
    trace_writer_free(w);
    return rc;
}

int trace_writer_close(trace_writer_t *w)
{
    return trace_writer_close_err(w, NULL, 0);
}

void trace_writer_abort(trace_writer_t *w)
{
    if (!w) return;
    if (w->scratch) fclose(w->scratch);
    w->scratch = NULL;
    outfile_abort(&w->out);
    trace_writer_free(w);
}

/* ---- copying ------------------------------------------------------------- */

/* Writes the markers of R that W has not seen yet (from *DONE on). */
static int trace_copy_markers(trace_reader_t *r, trace_writer_t *w, size_t *done)
{
    const trace_marker_t *m;
    size_t n = trace_markers(r, &m);
    for (; *done < n; ++*done) {
        int rc = trace_write_marker(w, m[*done].key, m[*done].value);
        if (rc < 0) return rc;
    }
    return 0;
}

int trace_copy(trace_reader_t *r, trace_writer_t *w, int lenient, uint64_t *skipped,
               const char **errmsg)
{
    trace_event_t ev;
    size_t markers = 0;
    uint64_t bad = 0;
    const char *msg = NULL;
    int rc;
    for (;;) {
        int got = trace_next(r, &ev);
        if (got == TRACE_ESYNTAX || got == TRACE_ESEM) {
            if (lenient) {
                bad++;
                continue;
            }
        }
        if (got < 0) {
            rc = got;
            msg = trace_error(r);
            break;
        }
        /* markers read before this event (or before the end) come first */
        rc = trace_copy_markers(r, w, &markers);
        if (rc == 0 && got == 1) rc = trace_write(w, &ev);
        if (rc < 0) {
            msg = trace_writer_error(w);
            break;
        }
        if (got == 0) break;
    }
    if (skipped) *skipped = bad;
    if (errmsg) *errmsg = msg;
    return rc;
}
