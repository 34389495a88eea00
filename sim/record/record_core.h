/* record_core.h: the recorders' core — addresses in, a binary trace out
 * (sim/trace/TRACE-FORMAT.md), without ever calling malloc.
 *
 * Both recorders share it: the LD_PRELOAD library (record_preload.c), which
 * sits *under* malloc and so may not call it, and the Python launcher
 * (record_python.c).  Everything it holds lives in mmap'ed memory:
 *
 *   - a pointer -> slot hash (open addressing, linear probing, backward-shift
 *     deletion, no tombstones) of the live blocks, with their domain;
 *   - a stack of free slots.  A new block takes the top (the most recently
 *     freed slot still free), else the next never-used slot: exactly the
 *     format's LIFO slot rule (sim/trace/live.h), so the ids we write *are* the
 *     slots and no id table is needed on either side;
 *   - the write buffer, flushed with pwrite at our own file offset (so a
 *     forked child that shares the descriptor can never move it) when it
 *     fills up, when the flush interval passed since the last flush
 *     (checked every 32 events: the clock is not free), and whenever the
 *     owner calls rcore_flush.
 *
 * The file is valid at every flush: the header (COMPLETE clear) and whole
 * records only, so a process that dies leaves a trace that readers accept up
 * to its last flushed event ("cut short").  rcore_finish appends the END
 * record and patches the counts and the COMPLETE flag.
 *
 * The descriptor belongs to the recorded program's process, which may close
 * or reuse any number (closefrom(3), dup2 over it, os.closerange).  So:
 *   - it is moved out of the way: close-on-exec, at the lowest free number
 *     >= rcore_fd_floor() (7/8 of min(RLIMIT_NOFILE, 1024): 896), where a
 *     program's own files do not go;
 *   - its device and inode are kept, and every write (and the truncation
 *     of rcore_reopen) first checks with fstat that the number still names
 *     that file.  When it does not, the core is `lost`: it forgets the
 *     number without closing it (it may be the program's file now), fails
 *     with EBADF and never writes again; the file keeps what was flushed,
 *     a trace cut short.  Never a byte goes to a file we did not open.
 *     (The check and the write are two system calls: a program thread that
 *     replaced the number between them would not be caught.  So the
 *     LD_PRELOAD recorder also takes the C library's close, dup2, dup3,
 *     close_range and closefrom, and under the lock that serialises every
 *     write it moves the trace out of their way first, rcore_move_fd: the
 *     check is then for raw system calls, which nothing can intercept.)
 *
 * Streams.  An output that is not a regular file (a FIFO, a character
 * device such as /dev/null) cannot be written at offsets nor patched: the
 * core writes it in sequence, never rewrites the header (COMPLETE stays
 * clear: readers know the trace is whole by its END record), writes the
 * dropped-free count as a last marker before END, and cannot take END
 * back (rcore_reopen fails).  A reader that goes away does not kill the
 * program with SIGPIPE: the write fails (EPIPE) and the core with it.
 *
 * Dropped frees: a free (or realloc) of an address the hash does not know —
 * allocated before recording started — writes nothing and is counted.  When
 * the last metadata entry's key is RCORE_KEY_DROPPED (its value is
 * ignored), the core writes it with the count as a plain number, followed
 * by a `pad` entry (TRACE-FORMAT.md: readers skip it) whose length makes
 * up for the digits the count does not use: the two entries always take
 * RCORE_DROPPED_TAIL bytes, so both are rewritten in place at every flush
 * and even a cut trace carries the count.
 *
 * Not thread-safe: the owner serialises calls (both recorders hold a lock).
 * Failure: functions return 0 or -errno; after a failure the core is
 * `failed` and records nothing more (the file keeps what was flushed).
 */
#ifndef ARENALAB_SIM_RECORD_RECORD_CORE_H
#define ARENALAB_SIM_RECORD_RECORD_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "sim/trace/trace.h"
#include "sim/trace/trace_bin_enc.h"

#define RCORE_KEY_DROPPED   "dropped_frees"
#define RCORE_KEY_PAD       "pad"
#define RCORE_DROPPED_WIDTH 20 /* digits of the largest uint64_t         */
/* klen, key, vlen of each entry; the digits and pad share the width. */
#define RCORE_DROPPED_TAIL                                                                         \
    (2 + (sizeof RCORE_KEY_DROPPED - 1) + 2 + (sizeof RCORE_KEY_PAD - 1) + RCORE_DROPPED_WIDTH)
#define RCORE_DEFAULT_BUFFER   ((size_t)64 * 1024)
#define RCORE_DEFAULT_FLUSH_MS 100

_Static_assert(RCORE_DROPPED_WIDTH < 128, "the value lengths are one-byte varints");

typedef struct {
    uintptr_t ptr;  /* block address; 0 marks an empty cell                */
    uint32_t slot;  /* its slot = its id in the trace                      */
    uint8_t domain; /* trace_domain_t of the allocation                    */
    uint8_t gen;    /* rcore_t.gen when placed (in-place doubling)         */
} rcore_cell_t;

typedef struct {
    int fd;                     /* the trace, -1 once closed or lost      */
    int failed;                 /* errno of the first failure, or 0       */
    int stream;                 /* not a regular file: written in order   */
    int lost;                   /* the program closed or replaced fd      */
    int lost_fd;                /* ... that number                        */
    uint64_t dev, ino;          /* the file fd must still name            */
    uint64_t events_out;        /* event records in the file (flushed)    */
    uint8_t *buf;               /* write buffer (mmap)                    */
    size_t len;                 /* bytes in buf                           */
    size_t cap;                 /* its size                               */
    uint64_t off;               /* file bytes written = offset of buf[0]  */
    uint64_t flush_ns;          /* time-based flush interval; 0: none     */
    uint64_t last_flush;        /* CLOCK_MONOTONIC_COARSE ns              */
    uint64_t tick;              /* events since open, for the clock */
    uint64_t dropped_off;       /* file offset of the padded count, or 0  */
    int dropped_marker;         /* stream: the count goes in a marker     */
    uint64_t dropped;           /* frees of unknown addresses             */
    uint64_t end_off;           /* file length before END (rcore_finish)  */
    tbenc_t enc;                /* delta-coding state                     */
    uint8_t fixed[TBENC_FIXED]; /* the header's fixed part, for patching  */
    rcore_cell_t *cells;        /* the hash (mmap)                        */
    uint64_t ncells;            /* capacity, a power of two               */
    uint64_t nused;             /* live blocks in it                      */
    unsigned shift;             /* 64 - log2(ncells)                      */
    uint8_t gen;                /* flips at each doubling (rcore_grow)    */
    uint32_t *freeslots;        /* stack of free slots (mmap)             */
    uint64_t freecap;           /* its capacity in entries                */
    uint32_t nfree;             /* entries on it                          */
    uint32_t nslots;            /* never-used slots start here (peak)     */
} rcore_t;

/* Creates PATH (with O_EXCL when EXCL, else truncating it) and writes the
 * header with META.  BUFSIZE 0 means RCORE_DEFAULT_BUFFER; FLUSH_MS 0
 * disables the time-based flush.  Returns 0 or -errno (EINVAL: metadata
 * too large for the buffer); on failure nothing is left mapped or open. */
int rcore_open(rcore_t *c, const char *path, int excl, const trace_meta_t *meta, size_t bufsize,
               unsigned flush_ms);

/* The same on FD, which the core takes over: moved to a high number,
 * close-on-exec; a regular file is emptied, anything else is a stream (see
 * above).  Returns 0 or -errno (EISDIR for a directory); FD is closed on
 * failure. */
int rcore_open_fd(rcore_t *c, int fd, const trace_meta_t *meta, size_t bufsize, unsigned flush_ms);

/* Where the core's descriptors go: the lowest free number >= this. */
int rcore_fd_floor(void);

/* The program is about to close or replace descriptor number c->fd: the
 * trace moves to another number (the lowest free one >= rcore_fd_floor(),
 * never lower: the program's own files go there), close-on-exec, and
 * c->fd names it; the old number is left
 * open for the program's call.  When no number is free, what the buffer
 * holds is written and the core is lost (rcore_let_go).
 * Returns 0 or -errno: lost (EBADF, or the error writing the buffer), or
 * the number was no longer the trace (EBADF: then nothing is written). */
int rcore_move_fd(rcore_t *c);

/* The program is about to close or replace c->fd and the trace cannot
 * move (rcore_move_fd's last resort): what the buffer holds is written,
 * then the core is lost, the number forgotten, never closed.  Returns
 * -errno: EBADF, or the error writing the buffer. */
int rcore_let_go(rcore_t *c);

/* A new block P (a for TRACE_ALLOC, c for TRACE_CALLOC).  Returns 0 or
 * -errno.  P must not be live (the caller's allocator just returned it). */
int rcore_alloc(rcore_t *c, uintptr_t p, trace_op_t op, uint64_t nmemb, uint64_t size,
                uint8_t domain, uint32_t thread);

/* A free of P: 1 recorded, 0 unknown address (counted as dropped), or
 * -errno. */
int rcore_free(rcore_t *c, uintptr_t p, uint32_t thread);

/* OLD was resized to SIZE at NEW (OLD 0: a new block, written `a`).  An
 * unknown OLD is counted as a dropped free and NEW written as `a`.
 * Returns 0 or -errno. */
int rcore_realloc(rcore_t *c, uintptr_t old, uintptr_t newp, uint64_t size, uint8_t domain,
                  uint32_t thread);

/* An inline marker (before the next event).  Returns 0 or -errno. */
int rcore_marker(rcore_t *c, const char *key, const char *value);

/* Domain of live block P, or -1 when unknown. */
int rcore_domain(const rcore_t *c, uintptr_t p);

/* Writes the buffer out and refreshes the dropped count.  Safe to call from
 * a signal handler (pwrite only) as long as no other rcore_* call runs.
 * Returns 0 or -errno. */
int rcore_flush(rcore_t *c);

/* Flushes, appends END, patches counts + COMPLETE.  The file stays open, so
 * rcore_reopen can take it back (a failed exec); rcore_close closes it.
 * Returns 0 or -errno. */
int rcore_finish(rcore_t *c);

/* Undoes rcore_finish: drops END and the COMPLETE flag, recording goes on.
 * Returns 0 or -errno (ESPIPE for a stream: END is out already). */
int rcore_reopen(rcore_t *c);

/* Closes the file (only if the descriptor still names it) and unmaps
 * everything (no flush: a forked child drops its parent's buffer this
 * way). */
void rcore_close(rcore_t *c);

/* Checks the hash and the slot stack against each other (O(cells + slots));
 * 1 if every invariant holds: live + free == nslots, each slot once. */
int rcore_is_valid(const rcore_t *c);

/* CLOCK_MONOTONIC_COARSE in ns (vDSO: no syscall, no malloc). */
uint64_t rcore_now(void);

/* Writes "YYYY-MM-DDTHH:MM:SSZ" for the current UTC time (21 bytes with the
 * NUL) without the C library's time zone code, which may allocate. */
void rcore_utc(char out[21]);

#endif
