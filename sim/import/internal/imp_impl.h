/* imp_impl.h: what the importers share and nobody else sees: the input
 * source (imp_src.c), the sink that turns address-named calls into a valid
 * trace (imp_sink.c), and the parsers, one file per format.
 *
 * The source.  IN is read once from the start in 1 MiB chunks, plain or
 * decompressed on the fly (zstd through sim/trace/trace_zst.h, gzip through
 * a run-time libz: imp_gz.c); text formats take it line by line (a line is
 * at most IMP_MAX_LINE bytes), binary formats byte by byte.  It knows the
 * current line number and byte offset, so every message can say where.
 * A format that needs two passes (heaptrack's realloc sites) rewinds it:
 * only a regular file or a memory input can be.
 *
 * The sink.  Parsers call imp_alloc / imp_free / imp_realloc with
 * addresses (nonzero; 0 is NULL) and the recording thread, imp_time with
 * time stamps, imp_tick once per input record.  The sink keeps:
 *
 *   - addr -> cell {id of the live block there, held allocation or NONE}:
 *     an open-addressing hash (linear probing, backward-shift deletion),
 *     so its size follows the live count;
 *   - ids: a LIFO stack of free ids and a high-water mark, so ids are dense
 *     and reused after their free, as the text spec allows;
 *   - held allocations (inversions): a pool of entries in a FIFO by the
 *     record number at which each gives up waiting (deadlines grow with
 *     insertion, so the FIFO is sorted).
 *
 * Life of an address, as a state machine of its cell:
 *
 *   FREE --alloc--> LIVE(X) --free--> FREE            (f X)
 *   LIVE(X) --alloc--> LIVE(X)+HELD(Y)                (held++, nothing out)
 *   LIVE(X)+HELD(Y) --free--> LIVE(Y)                 (f X, then a Y)
 *   LIVE(X)+HELD(Y) --realloc-> the realloc is X's    (r X, then a Y)
 *   LIVE(X)+HELD(Y) --alloc Z--> LIVE(Y)+HELD(Z)      (implicit f X, a Y)
 *   LIVE(X)+HELD(Y) --deadline/end--> LIVE(Y)         (implicit f X, a Y)
 *
 * A realloc that moves block W to an address that is still live waits the
 * same way: HELD(r W) there, W's old address left at once; when the free
 * comes, `f X` then `r W`, and W lives at its new address.
 *
 * Invariants (imp_sink_is_valid): every cell names a live id; the live
 * ids are exactly the cells' ids and the held reallocs' ids (a held
 * allocation has no id until released);
 * a held entry belongs to exactly one cell and is in the FIFO once; live +
 * free ids == the high-water mark.  So every event written is valid for the
 * trace so far, and trace_write never refuses one.
 *
 * Failure: functions return 0 or a negative IMP_E* code with the message
 * in the context's err (formatted with the source's position). */
#ifndef ARENALAB_SIM_IMPORT_INTERNAL_IMP_IMPL_H
#define ARENALAB_SIM_IMPORT_INTERNAL_IMP_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "sim/import/import.h"
#include "sim/trace/trace.h"

#define IMP_ERRLEN   512
#define IMP_CHUNK    ((size_t)1 << 20)
#define IMP_MAX_LINE ((size_t)1 << 20)
#define IMP_NONE     UINT32_MAX

/* ---- imp_src.c: the input --------------------------------------------- */

typedef enum { IMP_SRC_PLAIN, IMP_SRC_ZSTD, IMP_SRC_GZIP } imp_codec_t;

typedef struct imp_src_s {
    char *name;         /* IN as given (messages)                          */
    int fd, own_fd;     /* -1 for a memory input                           */
    const uint8_t *mem; /* memory input                                  */
    size_t memlen, mempos;
    imp_codec_t codec;
    void *dec;       /* the decoder (tzst_stream_t, imp_gz_t)           */
    uint8_t *buf;    /* IMP_CHUNK + 1 bytes (room for a final NUL)      */
    size_t beg, end; /* unread bytes are buf[beg, end)                  */
    int eof;         /* the decoded stream has nothing more             */
    uint64_t line;   /* number of the last line taken (text)            */
    uint64_t off;    /* decoded bytes taken so far                      */
    int binary;      /* messages say "byte N" rather than "LINE"        */
} imp_src_t;

int imp_src_open(imp_src_t *s, const char *path, char *err, size_t errlen);
int imp_src_open_mem(imp_src_t *s, const char *name, const void *data, size_t size, char *err,
                     size_t errlen);
/* The next line without its newline (a final line without one counts), as
 * a NUL-terminated string valid until the next call: 1, 0 at the end, or
 * IMP_EINPUT (read error, corrupt compressed data, a line too long). */
int imp_src_line(imp_src_t *s, char **line, size_t *len, char *err, size_t errlen);
/* Up to N bytes into DST: the count (less than N only at the end), or
 * IMP_EINPUT. */
long imp_src_read(imp_src_t *s, void *dst, size_t n, char *err, size_t errlen);
/* Back to the first byte (a regular file is opened again).  0, or
 * IMP_EINPUT for an input that cannot be read twice (a pipe). */
int imp_src_rewind(imp_src_t *s, char *err, size_t errlen);
void imp_src_close(imp_src_t *s);

/* imp_gz.c: gzip through a run-time libz.so.1 (its stable inflate API). */
typedef struct imp_gz_s imp_gz_t;
int imp_gz_is_gzip(const void *head, size_t n);
imp_gz_t *imp_gz_open(int fd, const void *head, size_t headlen, const char *name, char *err,
                      size_t errlen);
long imp_gz_read(imp_gz_t *z, void *buf, size_t n, char *err, size_t errlen);
void imp_gz_close(imp_gz_t *z);

/* ---- imp_sink.c: calls by address -> a valid trace --------------------- */

typedef struct {
    uint64_t addr; /* 0: empty cell                                       */
    uint32_t id;   /* the live block at addr                              */
    uint32_t held; /* index of the held allocation waiting here, or NONE  */
} imp_cell_t;

typedef struct {
    uint64_t addr, size, nmemb, align;
    uint64_t deadline; /* record number at which it stops waiting          */
    uint32_t thread;
    uint32_t next; /* FIFO (or the free list)                            */
    uint32_t id;   /* TRACE_REALLOC: the block that moves here           */
    uint8_t op;    /* TRACE_ALLOC, TRACE_CALLOC, or TRACE_REALLOC: a
                      realloc whose new address is still live          */
} imp_held_t;

typedef struct imp_sink_s {
    /* output */
    trace_writer_t *w; /* opened at the first event (metadata first)      */
    char *out;
    trace_format_t fmt;
    trace_meta_entry_t *meta; /* owned copies                            */
    size_t nmeta;
    /* addresses */
    imp_cell_t *cells;
    uint32_t mask; /* capacity - 1 (a power of two), or 0 before the first */
    uint32_t ncells;
    /* ids */
    uint32_t *freeids;
    uint32_t nfree, freecap;
    uint32_t nids; /* high-water mark                                    */
    uint32_t nlive;
    /* held allocations */
    imp_held_t *held;
    uint32_t nheld_cap, held_free, held_head, held_tail, nheld;
    uint64_t window;
    /* time */
    uint64_t events_at_marker; /* events written when the last time marker was */
    int have_marker;
    /* the rest */
    uint64_t rec; /* input records so far (imp_tick)                      */
    const imp_opts_t *opts;
    imp_summary_t sum;
    struct imp_ctx_s *ctx;
} imp_sink_t;

/* ---- the import context: what a parser works on ------------------------ */

typedef struct imp_ctx_s {
    imp_src_t src;
    imp_sink_t sink;
    const imp_opts_t *opts;
    char err[IMP_ERRLEN];
} imp_ctx_t;

/* "IN:LINE: message" (text) or "IN: byte N: message" (binary) into c->err;
 * returns CODE. */
int imp_fail(imp_ctx_t *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

int imp_sink_init(imp_sink_t *s, imp_ctx_t *c, const char *out, trace_format_t fmt,
                  const imp_opts_t *o);
/* Metadata for the output's header; only before the first event.  A key or
 * value the trace format cannot hold is dropped (the sink sanitises a
 * value's control characters to blanks first). */
int imp_meta(imp_sink_t *s, const char *key, const char *value);
/* OP is TRACE_ALLOC or TRACE_CALLOC (NMEMB elements of SIZE bytes); ALIGN 0
 * when the call had none.  ADDR 0 is a failed call: counted, ignored. */
int imp_alloc(imp_sink_t *s, uint32_t thread, uint64_t addr, uint8_t op, uint64_t size,
              uint64_t nmemb, uint64_t align);
/* ADDR 0 (free(NULL)) is ignored. */
int imp_free(imp_sink_t *s, uint32_t thread, uint64_t addr);
/* realloc(OLD, SIZE) == NEWP: OLD 0 allocates; NEWP 0 is a failed realloc
 * (ignored; realloc(p, 0) that freed p is the caller's imp_free). */
int imp_realloc(imp_sink_t *s, uint32_t thread, uint64_t old, uint64_t newp, uint64_t size);
/* A time stamp (milliseconds since the start): a `time_ms` marker before
 * the next event, when events were written since the last one. */
int imp_time(imp_sink_t *s, uint64_t ms);
/* An inline marker before the next event (e.g. a thread's `tid`). */
int imp_sink_marker(imp_sink_t *s, const char *key, const char *value);
/* One input record: releases held allocations whose wait is over. */
int imp_tick(imp_sink_t *s);
/* Counts a repair or drop (a counter of IMP_COUNTERS, by its offset):
 * --strict makes it an error naming WHAT. */
int imp_repair(imp_sink_t *s, uint64_t *counter, const char *what);
/* Whether ADDR is a live block's address. */
int imp_is_live(const imp_sink_t *s, uint64_t addr);
/* The end: held allocations released, the writer closed.  0 or a code. */
int imp_sink_finish(imp_sink_t *s);
/* Frees everything; discards the output unless finished. */
void imp_sink_free(imp_sink_t *s);
/* Checks every invariant above; 1 if they hold. */
int imp_sink_is_valid(const imp_sink_t *s);

/* ---- the parsers (one file each) --------------------------------------- */

extern const imp_format_t imp_heaptrack; /* imp_heaptrack.c */
extern const imp_format_t imp_mtrace;    /* imp_mtrace.c    */
extern const imp_format_t imp_valgrind;  /* imp_valgrind.c  */
extern const imp_format_t imp_chatty;    /* imp_chatty.c    */
extern const imp_format_t imp_wl;        /* imp_wl.c        */

/* Number parsing shared by the text parsers: hexadecimal digits (with an
 * optional 0x when ALLOW0X) or decimal digits at *P, advanced past them.
 * 0, or -1 when there are none or the value passes 2^64 - 1. */
int imp_hex(const char **p, uint64_t *v, int allow0x);
int imp_dec(const char **p, uint64_t *v);

/* ---- export ------------------------------------------------------------- */

extern const imp_export_t imp_export_mtrace; /* exp_mtrace.c */
extern const imp_export_t imp_export_wl;     /* exp_wl.c     */

/* The opcodes of glibc's trace_run workloads (.wl), shared by imp_wl.c
 * and exp_wl.c. */
enum {
    WL_NOP = 0,
    WL_DONE = 1,
    WL_MALLOC = 2,
    WL_CALLOC = 3,
    WL_REALLOC = 4,
    WL_FREE = 5,
    WL_SYNC_W = 6,
    WL_SYNC_R = 7,
    WL_ALLOC_PTRS = 8,
    WL_ALLOC_SYNCS = 9,
    WL_NTHREADS = 10,
    WL_START_THREAD = 11,
    WL_MEMALIGN = 12
};

#endif
