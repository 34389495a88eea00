/* trace_lz4.h: LZ4 block compression for the streams of binary traces of
 * version 3 (TRACE-FORMAT.md), whose plain .atr files favour decoding
 * speed: an LZ4 block decodes several times faster than zstd.  Internal
 * to sim/trace.
 *
 * liblz4 ("liblz4.so.1", the Debian package liblz4-1) is used through the
 * few functions of its block API declared in trace_lz4.c and looked up
 * with dlsym: no headers needed.  The programs link the library too
 * (sim/trace/BUILD), so that it is loaded at start-up and dlopen never
 * runs (it would take the loader's memory from malloc, the heap a replay
 * worker measures).
 *
 * Failure: tlz4_load returns -1 and tlz4_enc_open NULL with "NAME: what is
 * wrong" in ERR; tlz4_decompress and tlz4_compress return -1. */
#ifndef ARENALAB_SIM_TRACE_INTERNAL_TRACE_LZ4_H
#define ARENALAB_SIM_TRACE_INTERNAL_TRACE_LZ4_H

#include <stddef.h>

/* liblz4's functions (a reader keeps them: decoding needs no state). */
typedef struct {
    int (*decompress_safe)(const char *src, char *dst, int n, int cap);
    int (*compress_bound)(int n);
    int (*sizeof_state_hc)(void);
    int (*compress_hc)(void *state, const char *src, char *dst, int n, int cap, int level);
    int (*sizeof_state)(void);
    int (*compress_fast)(void *state, const char *src, char *dst, int n, int cap, int accel);
} tlz4_lib_t;

/* Loads liblz4 into *L: all of its functions, or with DECODE_ONLY only
 * decompress_safe (a reader's).  0, or -1 with a message naming NAME in
 * ERR. */
int tlz4_load(tlz4_lib_t *l, int decode_only, const char *name, char *err, size_t errlen);

/* The LZ4 block SRC (N bytes) into DST, never writing more than CAP
 * bytes: the decoded size, or -1 (corrupt, or more than CAP).  Reads no
 * byte outside SRC, whatever SRC holds. */
long tlz4_decompress(const tlz4_lib_t *l, void *dst, size_t cap, const void *src, size_t n);

/* An encoder (the writer's): its state is allocated at the first use and
 * reused. */
typedef struct tlz4_enc_s tlz4_enc_t;

tlz4_enc_t *tlz4_enc_open(const char *name, char *err, size_t errlen);
/* Most bytes N bytes compress to (0 when N is too large for LZ4). */
size_t tlz4_bound(const tlz4_enc_t *e, size_t n);
/* SRC (N >= 1 bytes) as one LZ4 block at the LZ4HC LEVEL into DST (CAP
 * bytes): its size, or -1.  LEVEL 0: LZ4's fast mode (several times
 * faster, larger blocks that decode more slowly). */
long tlz4_compress(tlz4_enc_t *e, void *dst, size_t cap, const void *src, size_t n, int level);
/* Frees it (NULL is fine). */
void tlz4_enc_close(tlz4_enc_t *e);

#endif
