/* trace_lz4.c: LZ4 block compression of the streams of a binary trace
 * (version 3, TRACE-FORMAT.md) through a run-time liblz4 (see
 * internal/trace_lz4.h).
 *
 * The declarations below are LZ4's stable block API (lz4.h and lz4hc.h,
 * v1.9+): LZ4_decompress_safe, LZ4_compressBound, LZ4_sizeofStateHC,
 * LZ4_compress_HC_extStateHC, LZ4_sizeofState and
 * LZ4_compress_fast_extState.  Only they are used, resolved with dlsym, so
 * that the headers need not be installed.  The decoder keeps no state and
 * allocates nothing; the encoder's state is one buffer it allocates once. */
#include "sim/trace/internal/trace_lz4.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tlz4_enc_s {
    tlz4_lib_t l;
    void *state_hc; /* LZ4_sizeofStateHC() bytes, made at the first use */
    void *state;    /* LZ4_sizeofState() bytes, likewise */
};

#define TLZ4_SYM(l, dl, field, name) (*(void **)&(l)->field = dlsym(dl, name))

int tlz4_load(tlz4_lib_t *l, int decode_only, const char *name, char *err, size_t errlen)
{
    memset(l, 0, sizeof *l);
    /* linked into the program (sim/trace/BUILD): its symbols are there,
     * and no dlopen runs (which would allocate).  Otherwise the library
     * stays loaded once opened (no dlclose), as libzstd does: the next
     * reader's dlopen is then a lookup. */
    void *dl = RTLD_DEFAULT;
    if (!TLZ4_SYM(l, dl, decompress_safe, "LZ4_decompress_safe") &&
        !(dl = dlopen("liblz4.so.1", RTLD_NOW))) {
        snprintf(err, errlen,
                 "%s: LZ4-compressed, and liblz4.so.1 cannot be loaded (Debian package liblz4-1)",
                 name);
        return -1;
    }
    /* a reader needs one function: each lookup walks the symbol tables
     * of every loaded library, a cost paid at every open */
    if (!l->decompress_safe) TLZ4_SYM(l, dl, decompress_safe, "LZ4_decompress_safe");
    if (!decode_only) {
        TLZ4_SYM(l, dl, compress_bound, "LZ4_compressBound");
        TLZ4_SYM(l, dl, sizeof_state_hc, "LZ4_sizeofStateHC");
        TLZ4_SYM(l, dl, compress_hc, "LZ4_compress_HC_extStateHC");
        TLZ4_SYM(l, dl, sizeof_state, "LZ4_sizeofState");
        TLZ4_SYM(l, dl, compress_fast, "LZ4_compress_fast_extState");
    }
    if (!l->decompress_safe ||
        (!decode_only && (!l->compress_bound || !l->sizeof_state_hc || !l->compress_hc ||
                          !l->sizeof_state || !l->compress_fast))) {
        snprintf(err, errlen, "%s: liblz4.so.1 is too old (no block API)", name);
        return -1;
    }
    return 0;
}

long tlz4_decompress(const tlz4_lib_t *l, void *dst, size_t cap, const void *src, size_t n)
{
    if (cap > INT_MAX || n > INT_MAX) return -1;
    int got = l->decompress_safe(src, dst, (int)n, (int)cap);
    return got < 0 ? -1 : got;
}

tlz4_enc_t *tlz4_enc_open(const char *name, char *err, size_t errlen)
{
    tlz4_enc_t *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    if (tlz4_load(&e->l, 0, name, err, errlen) < 0) {
        free(e);
        return NULL;
    }
    return e;
}

size_t tlz4_bound(const tlz4_enc_t *e, size_t n)
{
    int b = n <= INT_MAX ? e->l.compress_bound((int)n) : 0;
    return b > 0 ? (size_t)b : 0;
}

long tlz4_compress(tlz4_enc_t *e, void *dst, size_t cap, const void *src, size_t n, int level)
{
    if (n > INT_MAX || n == 0) return -1;
    int c, icap = cap > INT_MAX ? INT_MAX : (int)cap;
    if (level > 0) {
        if (!e->state_hc && !(e->state_hc = malloc((size_t)e->l.sizeof_state_hc()))) return -1;
        c = e->l.compress_hc(e->state_hc, src, dst, (int)n, icap, level);
    } else {
        if (!e->state && !(e->state = malloc((size_t)e->l.sizeof_state()))) return -1;
        c = e->l.compress_fast(e->state, src, dst, (int)n, icap, 1);
    }
    return c > 0 ? c : -1;
}

void tlz4_enc_close(tlz4_enc_t *e)
{
    if (!e) return;
    free(e->state_hc);
    free(e->state);
    free(e);
}
