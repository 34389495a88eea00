/* trace.h: allocation-trace events, and the readers and writers of the text
 * format (shared spec trace-text.md, v1) and of arenalab's binary format
 * (sim/trace/TRACE-FORMAT.md).
 *
 * Invariant: every event a reader hands out is valid for the trace so far.
 * Block events carry a dense `slot` (and arena events a dense `aslot`) that
 * is live, or was just assigned by this very event, so a replay indexes its
 * tables by slot without checking.  Slots are recycled LIFO by one shared
 * algorithm (sim/trace/live.h), so the slot table of a replay is as large as the
 * trace's peak live count, never its total, and every reader and writer
 * assigns the same slot to the same event.
 *
 * Errors: functions return 0 (or a positive count) on success and a negative
 * TRACE_E* code on failure; the message, already formatted as
 * "FILE:LINE: what is wrong" (text) or "FILE: event N: what is wrong"
 * (binary), is in the reader's or writer's error buffer.  Nothing aborts on
 * bad input, whatever the input.
 */
#ifndef ARENALAB_SIM_TRACE_TRACE_H
#define ARENALAB_SIM_TRACE_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    TRACE_ALLOC,        /* a ID SIZE [DOMAIN]        malloc                 */
    TRACE_CALLOC,       /* c ID NMEMB SIZE [DOMAIN]  calloc                 */
    TRACE_REALLOC,      /* r ID SIZE [DOMAIN]        realloc of a live ID   */
    TRACE_FREE,         /* f ID [DOMAIN]             free                   */
    TRACE_ARENA_NEW,    /* n AID                     PyArena_New            */
    TRACE_ARENA_MALLOC, /* m AID SIZE                PyArena_Malloc         */
    TRACE_ARENA_OWN,    /* o AID ID                  PyArena_AddPyObject    */
    TRACE_ARENA_FREE,   /* x AID                     PyArena_Free           */
    TRACE_NOPS
} trace_op_t;

/* Numbered as CPython's PyMemAllocatorDomain. */
typedef enum { TRACE_RAW = 0, TRACE_MEM = 1, TRACE_OBJ = 2, TRACE_NDOMAINS } trace_domain_t;

/* TRACE_FMT_BIN is the binary format writers use (version 3, column-wise
 * blocks of LZ4 or raw streams; version 2, every stream raw, for a .zst
 * output, with TRACE_W_RAW, or without liblz4) and reads versions 2 and 3; TRACE_FMT_BIN1 the first
 * version, still read, written only when asked for (`--to atr1`). */
typedef enum { TRACE_FMT_TEXT, TRACE_FMT_BIN, TRACE_FMT_BIN1, TRACE_NFORMATS } trace_format_t;

enum {
    TRACE_ESYNTAX = -1,  /* a malformed text line; the reader can go on   */
    TRACE_ESEM = -2,     /* a semantic error; event dropped, can go on     */
    TRACE_ECORRUPT = -3, /* binary data that cannot be decoded; fatal    */
    TRACE_EIO = -4,      /* open/read/write failure; fatal                 */
    TRACE_ENOMEM = -5,   /* out of memory; fatal                           */
    TRACE_EUSAGE = -6    /* bad argument to the API                        */
};

/* Largest SIZE / NMEMB the text format admits (2^48). */
#define TRACE_MAX_SIZE ((uint64_t)1 << 48)

typedef struct {
    uint64_t size;   /* a r m: bytes; c: element size                        */
    uint64_t nmemb;  /* c: element count; 0 otherwise                        */
    uint64_t where;  /* text: 1-based line; binary: 0-based event index      */
    uint32_t id;     /* block id as written (a c r f o)                      */
    uint32_t slot;   /* dense recycled block index (a c r f o)               */
    uint32_t arena;  /* arena id as written (n m o x)                        */
    uint32_t aslot;  /* dense recycled arena index (n m o x)                 */
    uint32_t thread; /* recording thread (0 when not recorded)              */
    uint8_t op;      /* trace_op_t                                           */
    uint8_t domain;  /* trace_domain_t; TRACE_MEM for arena events           */
} trace_event_t;

/* Free-form metadata: producer, created, command line, phases...  Keys and
 * values are NUL-terminated, without newlines. */
typedef struct {
    const char *key;
    const char *value;
} trace_meta_entry_t;

typedef struct {
    size_t n;
    const trace_meta_entry_t *entries;
} trace_meta_t;

/* One-letter op names as in the text format, indexed by trace_op_t. */
extern const char trace_op_letter[TRACE_NOPS];
/* "raw", "mem", "obj", indexed by trace_domain_t. */
extern const char *const trace_domain_name[TRACE_NDOMAINS];

/* ---- reading ---------------------------------------------------------- */

typedef struct trace_reader_s trace_reader_t;

/* Opens PATH ("-" is standard input, text only); the format is sniffed from
 * the content (binary magic, else text).  Text is streamed line by line and
 * binary is mmap'ed, so neither loads the whole file into the heap.
 * Returns 0, or a negative code with a message in ERR. */
int trace_open(trace_reader_t **out, const char *path, char *err, size_t errlen);

enum {
    TRACE_R_FAST = 1,         /* binary traces: name blocks and arenas by slot only,
                                without the id hashes.  Every slot is still checked,
                                so the events are safe to replay, but an `a`/`n` of
                                an id that is already live goes unnoticed (only a
                                crafted file has one).  For replays; check and
                                convert use the default.  No effect on text. */
    TRACE_R_PRIVATE_HEAP = 2, /* everything the reader keeps comes from a
                                private heap in its own reservation, never
                                malloc; and after a first complete pass,
                                a rewound reader allocates nothing at all
                                (it keeps the metadata and every marker:
                                trace_markers then answers all of them
                                from the start).  For a measured worker,
                                whose malloc is the allocator under test. */
    TRACE_R_CROSS_DOMAIN = 4  /* an `r` or `f` in another domain than the
                                block was allocated in (an API violation)
                                is delivered with the domain it names
                                instead of rejected; the block keeps its
                                own (an `r`) or is freed (an `f`).  For a
                                replay under CPython's debug hooks, which
                                catch it (alloc/debughooks.h). */
};

/* trace_open with TRACE_R_* FLAGS. */
int trace_open_ex(trace_reader_t **out, const char *path, unsigned flags, char *err, size_t errlen);

/* Reads a trace held in memory (format sniffed as by trace_open); DATA must
 * outlive the reader, NAME is the file name used in messages. */
int trace_open_mem(trace_reader_t **out, const char *name, const void *data, size_t size,
                   unsigned flags, char *err, size_t errlen);

/* Following a binary version-1 trace while its recorder still appends to
 * it (`arenalab record` converting OUT.atr.zst as the program runs): R is
 * a reader from trace_open_mem, and DATA (SIZE bytes; it may have moved)
 * holds what it held before, from trace_offset(R) on at least, and more.
 * A reader that stopped at the end of its data -- inside a record (the
 * recorder was still writing: trace_truncated) or at the end record (which
 * a recorder takes back when the program's exec fails) -- goes on from
 * where it stopped.  The bytes before trace_offset(R) are never read again
 * (the caller may drop them) until trace_rewind.  0, or TRACE_EUSAGE (not
 * a version-1 reader of memory, or less data than before). */
int trace_mem_follow(trace_reader_t *r, const void *data, size_t size);

/* Bytes of a binary trace read so far (where the next record starts; the
 * end record when the reader stopped there); 0 for text. */
uint64_t trace_offset(const trace_reader_t *r);

/* Next event: 1 with *EV filled, 0 at the end, or a negative code.  After
 * TRACE_ESYNTAX or TRACE_ESEM the offending line/event is skipped, the
 * reader's state is as if it had not been there, and the caller may call
 * trace_next again (check lists every error; replay --lenient counts). */
int trace_next(trace_reader_t *r, trace_event_t *ev);

/* Up to MAX (>= 1) next events into EV[0..]: their count, 0 at the end, or
 * a negative code as trace_next gives it.  What a replay uses: the binary
 * reader in fast mode decodes a batch in one tight loop, several times
 * faster than event by event.  The events are those trace_next would give
 * one by one; an error met after some of them is returned by the next
 * call (after TRACE_ESYNTAX / TRACE_ESEM the caller may go on, as with
 * trace_next).  A batch ends after a TRACE_ARENA_FREE event, so that
 * trace_owned applies to the last event of every batch.  EV[count ..
 * MAX - 1] may be written over (the binary reader decodes some runs of
 * records eight at a time). */
int trace_next_batch(trace_reader_t *r, trace_event_t *ev, size_t max);

/* The message of the last error, "FILE:LINE: ..." or "FILE: event N: ...". */
const char *trace_error(const trace_reader_t *r);

/* Starts again from the first event with fresh state (for repetitions). */
int trace_rewind(trace_reader_t *r);

trace_format_t trace_format(const trace_reader_t *r);
const char *trace_path(const trace_reader_t *r);
const trace_meta_t *trace_meta(const trace_reader_t *r);
/* Events the header announces (binary; 0 when unknown). */
uint64_t trace_count_hint(const trace_reader_t *r);
/* Peak live blocks/arenas the header announces (binary; 0 when unknown):
 * a replay may size its slot tables with it, but slots are checked anyway. */
uint32_t trace_slot_hint(const trace_reader_t *r);
uint32_t trace_aslot_hint(const trace_reader_t *r);
/* Nonzero once the end was reached on a binary trace that was cut short
 * (no end record: a crashed recorder); its events up to the cut are valid. */
int trace_truncated(const trace_reader_t *r);
/* Nonzero for a CS:APP malloc-lab .rep file (its 4-line header skipped). */
int trace_is_rep(const trace_reader_t *r);
/* Ownership: the block slots arena ASLOT owns, valid until the next call
 * to trace_next / trace_next_batch.  A replay frees them when it sees
 * TRACE_ARENA_FREE; the order is the order of the (latest) `o` events.
 * Only at the TRACE_ARENA_FREE event of ASLOT, the last event returned:
 * returns 0 otherwise. */
size_t trace_owned(const trace_reader_t *r, uint32_t aslot, const uint32_t **slots);

/* Inline markers (e.g. phases) met so far: event index at which each was
 * written, key and value.  The strings stay valid until trace_rewind or
 * trace_close; the array may move as more markers are read, so call again
 * after trace_next. */
typedef struct {
    uint64_t at;
    const char *key;
    const char *value;
} trace_marker_t;
size_t trace_markers(const trace_reader_t *r, const trace_marker_t **markers);

void trace_close(trace_reader_t *r);

/* ---- writing ---------------------------------------------------------- */

typedef struct trace_writer_s trace_writer_t;

enum {
    TRACE_W_TRUSTED = 1, /* the events come through trace_write_trusted only */
    TRACE_W_RAW = 2      /* the caller compresses the whole output (as a .zst
                            name does): the binary writer stores its streams
                            raw (version 2), which then compress better */
};

/* Creates a writer for PATH in format FMT with metadata META (copied).
 * Output goes where sim/base/outfile.h says: a regular file (or a new one,
 * or a symlink's target) through an exclusive temporary file beside it
 * that trace_writer_close renames into place, so a half-written trace never
 * looks complete; a device, FIFO or /proc link is written in place and
 * never removed.  PATH "-" writes to standard output.  FLAGS: TRACE_W_*. */
int trace_writer_open(trace_writer_t **out, const char *path, trace_format_t fmt,
                      const trace_meta_t *meta, unsigned flags, char *err, size_t errlen);

/* A writer into FP, a stream the caller opened and owns (open_memstream, a
 * pipe): the bytes go there as the trace is written, trace_writer_close
 * flushes it, and the writer never closes, truncates or removes anything.
 * The binary format patches its header's counts when FP can seek.  NAME
 * names the output in messages.  FLAGS: TRACE_W_*. */
int trace_writer_open_stream(trace_writer_t **out, FILE *fp, const char *name, trace_format_t fmt,
                             const trace_meta_t *meta, unsigned flags, char *err, size_t errlen);

/* Appends EV (op, domain, id, arena, size, nmemb, thread; slot/aslot are
 * ignored and recomputed).  A semantic error returns TRACE_ESEM and writes
 * nothing: a binary trace is valid by construction.  Not on a writer
 * opened with TRACE_W_TRUSTED (TRACE_EUSAGE). */
int trace_write(trace_writer_t *w, const trace_event_t *ev);

/* Appends EV[0..N) unchecked, for a producer that keeps an exact view of
 * what is live itself (the script engine, sim/lua) and so would pay twice
 * for trace_write's id tables.  The caller vouches that each event is
 * valid for the trace so far, names its blocks and arenas by `slot` and
 * `aslot` as the LIFO rule of sim/trace/live.h assigns them (a new block's
 * and arena's too), and has zero in the fields its op does not use.  A
 * wrong slot makes a corrupt trace, so only for writers opened with
 * TRACE_W_TRUSTED (TRACE_EUSAGE otherwise).  0 or a negative code. */
int trace_write_trusted(trace_writer_t *w, const trace_event_t *ev, size_t n);

/* Inline metadata (e.g. a phase marker) at this point of the stream. */
int trace_write_marker(trace_writer_t *w, const char *key, const char *value);

const char *trace_writer_error(const trace_writer_t *w);
uint64_t trace_writer_count(const trace_writer_t *w);

/* Flushes, finishes the header, renames into place (a stream: flushes
 * it).  Returns 0 or a negative code; the writer is freed either way. */
int trace_writer_close(trace_writer_t *w);
/* trace_writer_close that also copies the message of a failure into ERR. */
int trace_writer_close_err(trace_writer_t *w, char *err, size_t errlen);
/* Discards the output (removes the temporary file); frees the writer. */
void trace_writer_abort(trace_writer_t *w);

/* ---- copying ---------------------------------------------------------- */

/* Copies the rest of R to W: every event, with the markers and thread
 * switches where they were (metadata is W's: open it with trace_meta(R)).
 * Stops at the first bad line/event unless LENIENT, which skips them and
 * counts them in *SKIPPED (may be NULL).  Returns 0, or a negative code
 * with *ERRMSG (may be NULL) pointing at the message (R's or W's). */
int trace_copy(trace_reader_t *r, trace_writer_t *w, int lenient, uint64_t *skipped,
               const char **errmsg);

/* Format from a file name: ".atr" (and ".bin") is binary, anything else
 * (including "-") text.  For reading hints; outputs use the rule below. */
trace_format_t trace_format_for_path(const char *path);

/* The one rule for the name of a trace every command writes: ".atr" (or
 * ".bin") is binary, ".txt" or ".trace" text, either followed by ".zst"
 * for a compressed file (the writer compresses it); "-" is standard output
 * (text); an existing device, FIFO or /proc link, whose name says nothing,
 * takes FORCED or text.  FORCED (-1: none) must agree with the name.
 * Anything else is an error that says the rule.  0 with *FMT set, or
 * TRACE_EUSAGE with a message. */
int trace_output_format(const char *path, int forced, trace_format_t *fmt, char *err,
                        size_t errlen);

#endif
