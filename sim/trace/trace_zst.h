/* trace_zst.h: zstd-compressed traces (`*.atr.zst`): reading them through
 * the ordinary reader, and compressing what a recorder wrote.
 *
 * libzstd ("libzstd.so.1", the Debian package libzstd1, which dpkg itself
 * depends on) is used through the few functions of its API declared in
 * trace_zst.c and looked up with dlopen/dlsym: no headers needed.  The
 * programs link the library too (sim/trace/BUILD), so that it is loaded at
 * start-up and dlopen only finds it: a library loaded later takes the
 * loader's memory from malloc, the heap a replay worker measures.
 *
 * Reading decompresses the whole stream into a memory file (memfd), which
 * trace_open then maps like any binary trace: pages can be dropped and come
 * back, as with a file on disk.  The memory file is bounded: a stream that
 * would decompress to more than a quarter of the memory available (or
 * $ARENALAB_ZST_MAX_BYTES) is an error, so a small bomb cannot exhaust the
 * machine.  A frame cut short or corrupt is an error too, never a shorter
 * trace.
 *
 * Streaming (tzst_stream_*): the decompressed bytes of a descriptor read
 * chunk by chunk, for inputs that are read once from the start and need
 * not be mapped (other tools' traces, sim/import).  Memory stays at two
 * 1 MiB buffers and the decoder's window, whatever the stream's size; a
 * frame cut short or corrupt is an error at the point where it shows.
 *
 * Failure: tzst_decompress_fd and tzst_stream_read return a negative
 * TRACE_E* code, tzst_stream_open NULL and tzst_compress_file -1, with
 * "NAME: what is wrong" in ERR. */
#ifndef ARENALAB_SIM_TRACE_TRACE_ZST_H
#define ARENALAB_SIM_TRACE_TRACE_ZST_H

#include <stddef.h>
#include <stdio.h>

/* The first bytes of a zstd frame (4 needed). */
int tzst_is_zstd(const void *head, size_t n);

/* The decompressed content of the zstd file FD (read from offset 0) as a
 * new descriptor (a memory file at offset 0), or a negative TRACE_E* code.
 * FD is not closed. */
int tzst_decompress_fd(int fd, const char *name, char *err, size_t errlen);

/* Compresses SRC into DST (temporary file + rename) at LEVEL (1-19).
 * Returns 0 or -1. */
int tzst_compress_file(const char *src, const char *dst, int level, char *err, size_t errlen);

/* Compresses the whole file open as IN_FD (read from offset 0) into OUT at
 * LEVEL; NAME is used in messages.  Returns 0 or -1. */
int tzst_compress_fd(int in_fd, FILE *out, int level, const char *name, char *err, size_t errlen);

/* A zstd frame being compressed as its input comes (a converter that
 * runs while its input is still being written): each tzst_enc_write
 * compresses what it was given, a block at a time, and hands the output
 * to PUT(UD, P, N) (which returns 0, or -1 with errno); tzst_enc_end ends
 * the frame.  Memory: libzstd's context at LEVEL and a 1 MiB buffer. */
typedef struct tzst_enc_s tzst_enc_t;

/* LONG_LOG (0: off): zstd's long-distance matching over a window of
 * 2^LONG_LOG bytes (what `zstd --long=LONG_LOG` does; readers need that
 * much memory, at most 2^27 by default).  NULL (libzstd missing, out of
 * memory) with "NAME: ..." in ERR. */
tzst_enc_t *tzst_enc_open(int level, int long_log, int (*put)(void *ud, const void *p, size_t n),
                          void *ud, const char *name, char *err, size_t errlen);
/* A PUT for tzst_enc_open: writes all N bytes at P to the descriptor
 * *(int *)UD, again after EINTR and short writes.  0, or -1 with errno. */
int tzst_put_fd(void *ud, const void *p, size_t n);
/* Compresses N bytes at P.  0, or -1 with the message in ERR. */
int tzst_enc_write(tzst_enc_t *z, const void *p, size_t n, char *err, size_t errlen);
/* Ends the frame (everything given so far goes out).  0 or -1 with ERR. */
int tzst_enc_end(tzst_enc_t *z, char *err, size_t errlen);
/* Frees it (NULL is fine). */
void tzst_enc_close(tzst_enc_t *z);

/* A zstd stream being decompressed. */
typedef struct tzst_stream_s tzst_stream_t;

/* Starts decompressing what FD holds: first the HEADLEN bytes at HEAD
 * (already read from FD, e.g. to sniff the format; may be 0), then what
 * read(FD) gives.  FD is not closed.  NULL on failure (libzstd missing,
 * out of memory) with the message in ERR. */
tzst_stream_t *tzst_stream_open(int fd, const void *head, size_t headlen, const char *name,
                                char *err, size_t errlen);

/* Up to N (>= 1) decompressed bytes into BUF: their count, 0 at the end of
 * the stream, or a negative TRACE_E* code (corrupt data, a frame cut short,
 * a read error) with the message in ERR. */
long tzst_stream_read(tzst_stream_t *z, void *buf, size_t n, char *err, size_t errlen);

/* Frees the decoder (NULL is fine). */
void tzst_stream_close(tzst_stream_t *z);

/* One-shot compression of buffers (the streams of a binary v2 block),
 * with contexts kept between calls. */
typedef struct tzst_buf_s tzst_buf_t;

/* Where a tzst_buf_t and its zstd contexts take memory from (zstd's
 * ZSTD_customMem): ALLOC(OPAQUE, N) and FREE(OPAQUE, P). */
typedef struct {
    void *(*alloc)(void *opaque, size_t n);
    void (*free)(void *opaque, void *p);
    void *opaque;
} tzst_mem_t;

/* Loads libzstd: NULL with "NAME: ..." in ERR when it cannot.  MEM (NULL:
 * malloc) provides every byte it and its contexts keep; each context is
 * made once, at its first use, and reused. */
tzst_buf_t *tzst_buf_open(const char *name, const tzst_mem_t *mem, char *err, size_t errlen);
/* Most bytes N bytes compress to. */
size_t tzst_buf_bound(const tzst_buf_t *z, size_t n);
/* One zstd frame of SRC at LEVEL into DST (CAP bytes): its size, or -1. */
long tzst_buf_compress(tzst_buf_t *z, void *dst, size_t cap, const void *src, size_t n, int level);
/* The content of the zstd frame(s) SRC into DST, never more than CAP
 * bytes: its size, or -1 (corrupt, or more than CAP). */
long tzst_buf_decompress(tzst_buf_t *z, void *dst, size_t cap, const void *src, size_t n);
/* Frees it (NULL is fine). */
void tzst_buf_close(tzst_buf_t *z);

#endif
