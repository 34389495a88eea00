/* trace_impl.h: what the trace modules (trace.c, trace_text.c, trace_bin.c)
 * share and nobody else sees: the reader and writer structs, and the
 * table of operations each format gives trace.c.
 *
 * Invariants of a reader: `live` holds exactly the state after the events
 * decoded so far (a rejected event leaves no trace in it); `nevents`
 * counts those events; `fatal` once set is returned by every later
 * trace_next until trace_rewind; `pending`, a recoverable error met after
 * the events of a batch, is returned (once) by the next call. */
#ifndef ARENALAB_SIM_TRACE_INTERNAL_TRACE_IMPL_H
#define ARENALAB_SIM_TRACE_INTERNAL_TRACE_IMPL_H

#include <stdint.h>
#include <stdio.h>

#include "sim/trace/live.h"
#include "sim/base/outfile.h"
#include "sim/base/pheap.h"
#include "sim/trace/trace.h"
#include "sim/trace/trace_bin_enc.h"
#include "sim/trace/internal/trace_lz4.h"

#define TRACE_ERRLEN 512

/* Bytes of a file's start that tell its format (the binary versions
 * differ in the version field after the magic). */
#define TRACE_SNIFF_BYTES 12

/* A format's operations (below). */
typedef struct trace_fmt_ops_s trace_fmt_ops_t;

/* Text input is read in chunks of this size; a longer line is an error. */
#define TRACE_TEXT_BUF ((size_t)1 << 20)

typedef struct {
    int fd;          /* -1 when reading from memory                  */
    int own_fd;      /* close fd at the end                          */
    const char *mem; /* memory source (trace_open_mem)               */
    size_t memlen, mempos;
    char *buf;        /* cap bytes                                    */
    size_t cap;       /* TRACE_TEXT_BUF; less for a smaller memory trace */
    size_t beg, end;  /* unread bytes are buf[beg, end)               */
    int eof;          /* the source has nothing more                  */
    uint64_t line;    /* number of the last line taken                */
    uint64_t held[3]; /* lone-number lines of a header that was not a
                         .rep header after all: reported as errors     */
    int nheld, iheld;
    uint64_t toolong; /* line number of a too-long line met in the
                         prescan, reported by the next trace_next      */
} trace_text_t;

typedef struct {
    const uint8_t *base; /* the whole file (mmap'ed or the caller's)      */
    size_t size;
    int mapped;
    int is_path;      /* the mapping is the file named r->path itself    */
    const uint8_t *p; /* next record                                  */
    size_t first;     /* offset of the first record                   */
    size_t advised;   /* [first, advised) was given back (DONTNEED)   */
    unsigned version; /* header version (1, 2 or 3)                   */
    unsigned hflags;  /* header flags                                 */
    uint64_t hevents; /* header counts (valid with TBENC_F_COMPLETE)  */
    uint32_t hslots, haslots;
    tbenc_t st;    /* delta-coding state                           */
    uint64_t nrec; /* event records decoded (good or bad)          */
    int done;      /* end record read, or cut short                */
} trace_bin_t;

/* Binary v2 and v3 (trace_bin2.c): the block being decoded, its streams
 * decompressed into buffers kept from block to block.  Each stream's
 * bytes are followed by at least B2_SLACK readable bytes. */
typedef struct {
    const uint8_t *tp, *te; /* tags: next, end                          */
    const uint8_t *sp, *se; /* sizes                                    */
    const uint8_t *ip, *ie; /* ids, slots, arena slots                  */
    const uint8_t *xp, *xe; /* thread ids, markers                      */
    uint8_t *buf[4];        /* decompressed streams (malloc'ed)         */
    size_t cap[4];
    uint64_t block;         /* blocks started (for messages)                */
    struct tzst_buf_s *zst; /* libzstd, loaded at the first zstd stream */
    tlz4_lib_t lz4;         /* liblz4, loaded at the first LZ4 stream   */
} trace_bin2_t;

struct trace_reader_s {
    const trace_fmt_ops_t *ops;
    unsigned flags; /* TRACE_R_*                             */
    char *path;     /* the name used in messages             */
    char err[TRACE_ERRLEN];
    live_t live;
    trace_meta_entry_t *meta; /* strings owned (malloc'ed)             */
    size_t nmeta, meta_cap;
    trace_meta_t metaview;
    trace_marker_t *markers; /* strings owned                         */
    size_t nmarkers, markers_cap;
    uint32_t thread;  /* thread of the next event              */
    uint64_t nevents; /* events returned                       */
    uint32_t last_x;  /* aslot of the event just returned if it
                         was an `x`, else LIVE_NONE             */
    int truncated, is_rep;
    uint64_t max_bytes; /* the live tables' budget (trace.c)    */
    int complete;       /* the last pass reached the end          */
    int keep_notes;     /* rewound after a complete pass: metadata
                           and markers are all known, and a pass
                           neither clears nor adds them (nor
                           allocates for them)                    */
    pheap_t *heap;      /* TRACE_R_PRIVATE_HEAP: &heap_store; else
                           NULL (malloc)                          */
    pheap_t heap_store;
    int fatal;   /* sticky fatal error code, or 0         */
    int pending; /* TRACE_ESYNTAX / TRACE_ESEM for the next
                    call (message in err), or 0           */
    trace_text_t text;
    trace_bin_t bin; /* v2 too: the mapping, header, delta state, counts */
    trace_bin2_t bin2;
};

struct trace_writer_s {
    const trace_fmt_ops_t *ops;
    unsigned flags;
    char *path;
    char err[TRACE_ERRLEN];
    outfile_t out; /* temp file + rename (or stdout); NONE: a caller's stream */
    FILE *fp;      /* where bytes go: out.fp, the caller's stream, or the
                      scratch file of a .zst output         */
    FILE *scratch; /* PATH ends in .zst: the uncompressed
                      trace, an unnamed temporary file that
                      close compresses into out             */
    live_t live;
    uint64_t count;  /* events written                        */
    uint32_t thread; /* thread of the last event written      */
    uint8_t *buf;    /* output buffer                         */
    size_t len, cap;
    tbenc_t enc; /* binary                                */
    void *fmtw;  /* a format's own state (binary v2), freed by wfree */
    int failed;  /* a write failed: close reports it      */
};

/* ---- trace.c: shared helpers ------------------------------------------- */

/* printf into r->err / w->err; returns CODE. */
int _trace_fail(char *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Metadata keys: 1..255 printable non-blank bytes.  Values: up to 64 KiB,
 * no control characters but tab, no leading or trailing blank (the text
 * form could not keep them).  1 if acceptable. */
int _trace_meta_key_ok(const char *s, size_t n);
int _trace_meta_value_ok(const char *s, size_t n);
/* "marker" and "thread" name `#@` lines of their own, not metadata; "pad"
 * is a writer's reserved room in a binary header (TRACE-FORMAT.md), which
 * readers skip and writers refuse from callers. */
int _trace_meta_key_reserved(const char *s, size_t n);

/* Appends copies (skips `pad`; a legacy zero-padded dropped_frees keeps
 * its number only); 0 or TRACE_ENOMEM. */
int _trace_meta_add(trace_reader_t *r, const char *k, size_t kl, const char *v, size_t vl);
int _trace_marker_add(trace_reader_t *r, uint64_t at, const char *k, size_t kl, const char *v,
                      size_t vl);
void _trace_meta_clear(trace_reader_t *r);
void _trace_markers_clear(trace_reader_t *r);

/* ---- formats: one table of operations per format ------------------------ */

/* What trace.c calls for one format.  Each format is a file of its own
 * (trace_text.c, trace_bin.c) that defines one of these and depends only on
 * this header; trace_formats.c lists them.  Adding a format is a new file
 * and one line there: trace.c never names a format's functions. */
struct trace_fmt_ops_s {
    trace_format_t fmt; /* the value trace_format() answers               */
    const char *name;   /* "text", "binary"                               */
    /* The file name endings (".atr") that select this format for writing,
     * NULL-terminated; the first format whose sniff is NULL is the default. */
    const char *const *exts;
    /* 1 when the first N bytes of a file are this format's (N >=
     * TRACE_SNIFF_BYTES when the file has them); NULL for the fallback
     * format. */
    int (*sniff)(const void *head, size_t n);
    /* The reader wants the whole input mapped (r->bin.base/size) rather
     * than a descriptor or memory stream (r->text). */
    int mapped;

    /* Sets the reader up over its input and reads the header.  0 or a
     * negative code (message in r->err). */
    int (*open)(trace_reader_t *r);
    /* The next event: 1, 0 at the end, or a negative code (r->nevents is
     * the caller's to count). */
    int (*next)(trace_reader_t *r, trace_event_t *ev);
    /* Up to MAX events into EV, counting them in r->nevents; stops after
     * an `x` (trace_owned answers for the last event only).  The count,
     * with *RC = 1 (stopped there), 0 (the end) or a negative code (the
     * error met after them, message in r->err). */
    size_t (*batch)(trace_reader_t *r, trace_event_t *ev, size_t max, int *rc);
    int (*rewind)(trace_reader_t *r);
    void (*close)(trace_reader_t *r);
    /* The header's counts when the file states them: 1 and the three
     * figures, or 0. */
    int (*hints)(const trace_reader_t *r, uint64_t *events, uint32_t *slots, uint32_t *aslots);

    int (*wopen)(trace_writer_t *w, const trace_meta_t *meta);
    int (*put)(trace_writer_t *w, const trace_event_t *ev);
    /* N events of the trusted path (trace_write_trusted), the bytes N
     * calls of put would write; NULL: trace.c calls put for each. */
    int (*putn)(trace_writer_t *w, const trace_event_t *ev, size_t n);
    int (*marker)(trace_writer_t *w, const char *key, const char *value);
    int (*finish)(trace_writer_t *w);
    /* Frees w->fmtw (closed or aborted); NULL when the format has none. */
    void (*wfree)(trace_writer_t *w);
};

extern const trace_fmt_ops_t _trace_text_ops; /* trace_text.c */
extern const trace_fmt_ops_t _trace_bin_ops;  /* trace_bin.c: version 1  */
extern const trace_fmt_ops_t _trace_bin2_ops; /* trace_bin2.c: versions 2, 3 */

/* trace_formats.c: every format, indexed by trace_format_t. */
extern const trace_fmt_ops_t *const _trace_formats[TRACE_NFORMATS];

/* trace_bin.c: reads the header of a binary trace (any version: they
 * share it) into r->bin and r's metadata, checking its version is one of
 * VERSIONS (bit v set: version v accepted),
 * and reserves the live tables from its counts, each bounded by
 * SLOTS_PER_BYTE per byte of the records.  0 or a negative code. */
int _trace_bin_header(trace_reader_t *r, unsigned versions, size_t slots_per_byte);

/* ---- writer buffer (trace.c) --------------------------------------------- */

/* The out-of-line half of _trace_wroom: flushes, grows. */
int _trace_wroom_slow(trace_writer_t *w, size_t n);

/* Makes room for N more bytes in w->buf (flushing it).  0 or TRACE_EIO.
 * Inline: every event of every writer asks, and nearly always there is
 * room. */
static inline int _trace_wroom(trace_writer_t *w, size_t n)
{
    if (!w->failed && w->cap - w->len >= n) return 0;
    return _trace_wroom_slow(w, n);
}
/* Writes the buffer out.  0 or TRACE_EIO. */
int _trace_wflush(trace_writer_t *w);

#endif
