/* record_conv.h: a recorder's trace (binary version 1, as record_core.h
 * writes it) into binary version 2 compressed with zstd -- the
 * OUT.atr.zst of `arenalab record` -- while the recorder is still writing
 * it, so that little is left to do once the program ends.
 *
 * Following.  rconv_step reads what the recorder appended since the last
 * call, at most 16 MiB at a time (pread into memory of our own: nothing the
 * program does to the file can fault us; decoded bytes are given back, so
 * the memory in use is bounded however large the trace), decodes the whole
 * records (trace_mem_follow), and writes them to a version-2 writer whose
 * output goes through zstd into an unnamed temporary file in RAW's
 * directory (O_TMPFILE, else mkostemp and unlink; not $TMPDIR, often a
 * small tmpfs).  A recorder only appends, but for two rewrites:
 * the header (the dropped-free count at each flush, the counts at the
 * end), which is read once and whose final metadata rconv_finish takes
 * from the finished file; and the end record, which it takes back when an
 * exec of the program fails.  So once the end record is read, nothing more
 * is read until rconv_finish, which reads again from the end record on.
 *
 * Trusted copy.  The recorder names blocks by their slots (record_core.h:
 * its ids *are* the LIFO slots), so every `a`/`c` whose id is its slot
 * names a block that is not live, and the fast reader (TRACE_R_FAST, slot
 * checks only) with the trusted writer (no id tables) writes exactly what
 * `arenalab convert RAW OUT.atr.zst` writes.  Anything else (an id that
 * is not its slot, an arena event) stops the conversion: RCONV_AGAIN, and
 * the caller converts the finished file the checked way.
 *
 * The output: decompressed, the same bytes as the version-2 trace that
 * `arenalab convert` writes.  A small trace is one zstd frame, written at
 * the end; a larger one two: the header (with the final metadata and
 * counts, so written last), then the rest, compressed as it came.
 *
 * Failure: rconv_open gives NULL (out of memory); rconv_step and
 * rconv_finish give a negative RCONV_* code, which stays.  Any write of the
 * output that fails (the temporary file's disk full, out of memory) is
 * RCONV_EIO, at once or at rconv_finish: never an output with bytes
 * missing.  RAW itself is never modified nor removed. */
#ifndef ARENALAB_SIM_RECORD_RECORD_CONV_H
#define ARENALAB_SIM_RECORD_RECORD_CONV_H

#include <stddef.h>

enum {
    RCONV_CUT = -1,   /* the trace is cut short (the recorder died): keep it
                         as it is                                      */
    RCONV_AGAIN = -2, /* not the recorder's own output, or unreadable here:
                         convert the finished file the checked way       */
    RCONV_EIO = -3    /* the output could not be written (message)      */
};

typedef struct rconv_s rconv_t;

/* Starts following RAW (which may be empty yet).  NULL when out of
 * memory. */
rconv_t *rconv_open(const char *raw);

/* Converts what the recorder wrote since the last call: 1 when there was
 * something, 0 when not, or a negative RCONV_* code (the conversion gave
 * up; rconv_finish says so again). */
int rconv_step(rconv_t *c);

/* The recorder is done (the program ended): converts the rest and writes
 * Z, created exclusively (O_EXCL, mode 0666 less the umask), reading the
 * rest in windows as rconv_step does (a child's trace is all rest).  0, or
 * a negative RCONV_* code (Z not left behind; RCONV_EIO with ERR). */
int rconv_finish(rconv_t *c, const char *z, char *err, size_t errlen);

/* Frees C (NULL is fine); removes nothing. */
void rconv_free(rconv_t *c);

#endif
