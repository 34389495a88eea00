/* import.h: other tools' allocation traces made into ours, and ours into
 * theirs: `arenalab import FORMAT IN OUT` and `arenalab export FORMAT IN
 * OUT`.
 *
 * Import reads IN once from the start, streaming (plain, zstd or gzip,
 * sniffed from its first bytes), and writes OUT through the trace writer
 * (sim/trace/trace.h: any of our formats, by OUT's name).  Every format
 * names blocks by address (or by something standing for one); one shared
 * sink (internal/imp_impl.h) maps each live address to a fresh id, repairs
 * what real recorders get wrong and counts every repair and every drop:
 *
 *   inversion        an allocation at an address that is still live, its
 *                    free logged late by another thread: the allocation is
 *                    held until that free arrives (then both go out, free
 *                    first), or an implicit free is inserted when it does
 *                    not come within a window of records;
 *   orphan free      a free (or delete) of an address never allocated, or
 *                    whose allocation the tool did not log: dropped;
 *   orphan realloc   a realloc of such an address: becomes an allocation;
 *   orphan alloc     an allocation logged without its result pointer
 *                    (valgrind's posix_memalign, aligned_alloc): dropped,
 *                    and its free then is an orphan free;
 *   fused realloc    a realloc logged as a free and an allocation (heaptrack
 *                    raw and interpreted files): made one `r` again.
 *
 * A summary line says what was repaired and dropped; with --strict the
 * first repair or drop is an error instead.  Time stamps become markers
 * (`time_ms`, milliseconds since the program started) and alignments
 * markers `align` (bytes) before the allocation they belong to, so neither
 * needs a field the trace formats do not have.
 *
 * Failure: functions return 0 or a negative IMP_E* code with the message,
 * "FILE:LINE: what is wrong" (text inputs) or "FILE: byte N: what is
 * wrong" (binary inputs), in ERR.  No input makes them crash or loop. */
#ifndef ARENALAB_SIM_IMPORT_IMPORT_H
#define ARENALAB_SIM_IMPORT_IMPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/trace/trace.h"

enum {
    IMP_EINPUT = -1,  /* malformed or unreadable input, or an output error */
    IMP_ESTRICT = -2, /* --strict: a repair or a drop was needed           */
    IMP_EUSAGE = -3   /* bad options (e.g. a policy the format lacks)       */
};

/* Which live block of the same allocation record a heaptrack `- idx`
 * releases in an interpreted file (which has no pointers). */
typedef enum { IMP_FREE_LIFO, IMP_FREE_FIFO } imp_free_policy_t;

typedef struct {
    int strict;                    /* a repair or drop is an error           */
    int no_fuse;                   /* heaptrack: keep free + alloc as they are */
    int no_align;                  /* no `align` markers                      */
    int no_time;                   /* no `time_ms` markers                    */
    imp_free_policy_t free_policy; /* heaptrack interpreted files            */
    uint64_t hold_window;          /* records an inversion waits; 0: default */
} imp_opts_t;

/* The default hold window: input records an allocation at a live address
 * waits for that address's free before an implicit free is inserted. */
#define IMP_HOLD_WINDOW 65536

/* What an import did.  The counters are one table (IMP_COUNTERS): NAME,
 * whether it is a repair/drop (--strict refuses it), and the words of the
 * summary line. */
#define IMP_COUNTERS(X)                                                                            \
    X(held, 1, "inversions held until their free")                                                 \
    X(implicit_frees, 1, "implicit frees inserted")                                                \
    X(fused, 1, "free+alloc pairs fused into realloc")                                             \
    X(orphan_frees, 1, "frees of unknown pointers dropped")                                        \
    X(orphan_reallocs, 1, "reallocs of unknown pointers made allocations")                         \
    X(orphan_allocs, 1, "allocations without a result pointer dropped")                            \
    X(failed, 0, "failed calls ignored")                                                           \
    X(aligned, 0, "aligned allocations")                                                           \
    X(time_markers, 0, "time markers")                                                             \
    X(ignored_lines, 0, "lines of other processes or tools ignored")                               \
    X(empty_records, 0, "empty records (never written: a recorder that died) skipped")

typedef struct {
#define IMP_FIELD(name, repair, words) uint64_t name;
    IMP_COUNTERS(IMP_FIELD)
#undef IMP_FIELD
    uint64_t events[TRACE_NOPS]; /* written, by op                        */
    uint64_t live_end;           /* blocks still live at the end            */
    const char *warning;         /* what the user must know about the result,
                                    or NULL (a static string)              */
} imp_summary_t;

/* One importable format; an importer works on an import context
 * (internal/imp_impl.h). */
typedef struct imp_format_s imp_format_t;
struct imp_ctx_s;

struct imp_format_s {
    const char *name;    /* "heaptrack"                                    */
    const char *summary; /* one line for --help                            */
    const char *loses;   /* what the import cannot keep, for --help/README */
    /* Reads the input (internal/imp_impl.h); 0 or a negative IMP_E* code. */
    int (*parse)(struct imp_ctx_s *c);
};

/* Every importer, NULL-terminated (imp_formats.c). */
extern const imp_format_t *const imp_formats[];

/* The importer called NAME, or NULL. */
const imp_format_t *imp_format_find(const char *name);

/* Imports IN ("-": standard input) in format F into OUT written as FMT.
 * SUM (may be NULL) gets the counts, also after a failure.  OUT is written
 * to a temporary file renamed at the end: a failed import leaves no OUT
 * (a device, FIFO or "-" is written in place). */
int imp_run(const imp_format_t *f, const char *in, const char *out, trace_format_t fmt,
            const imp_opts_t *o, imp_summary_t *sum, char *err, size_t errlen);

/* The same from memory (fuzzing, tests); NAME is IN's name in messages. */
int imp_run_mem(const imp_format_t *f, const char *name, const void *data, size_t size,
                const char *out, trace_format_t fmt, const imp_opts_t *o, imp_summary_t *sum,
                char *err, size_t errlen);

/* The summary line: "N events (a .., c .., r .., f ..); repaired: ...;
 * dropped: ...", without a newline. */
void imp_summary_line(const imp_summary_t *s, char *buf, size_t n);

/* ---- export ----------------------------------------------------------- */

typedef struct {
    const char *name;    /* "mtrace"                                      */
    const char *summary; /* one line for --help                           */
    const char *loses;   /* what the export cannot keep                   */
    /* Writes the trace R to OUT (opened by imp_export), counting the events
     * read in *NEVENTS.  0, with a warning for the user in NOTE (or ""),
     * or a negative IMP_E* code with the message in NOTE. */
    int (*write)(trace_reader_t *r, FILE *out, uint64_t *nevents, char *note, size_t notelen);
} imp_export_t;

extern const imp_export_t *const imp_exports[];
const imp_export_t *imp_export_find(const char *name);

/* Exports the trace IN to OUT ("-": standard output), through a temporary
 * file as the writers do.  *NEVENTS gets the events read.  0, with a
 * warning for the user in NOTE (or ""), or a negative IMP_E* code with the
 * message in NOTE. */
int imp_export(const imp_export_t *x, const char *in, const char *out, uint64_t *nevents,
               char *note, size_t notelen);

#endif
