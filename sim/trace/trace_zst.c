/* trace_zst.c: zstd-compressed traces through a run-time libzstd (see
 * trace_zst.h).
 *
 * The declarations below are zstd's stable streaming API (zstd.h, v1.4+):
 * ZSTD_inBuffer / ZSTD_outBuffer, ZSTD_compressStream2 with ZSTD_e_end,
 * ZSTD_decompressStream (a ZSTD_DCtx is a ZSTD_DStream).  Only they are
 * used, resolved with dlsym, so that the headers need not be installed. */
#include "sim/trace/trace_zst.h"
#include "sim/base/meminfo.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/trace/trace.h"

#define TZST_CHUNK        ((size_t)1 << 20)
#define TZST_C_LEVEL      100                           /* ZSTD_c_compressionLevel */
#define TZST_C_WINDOW_LOG 101                           /* ZSTD_c_windowLog                  */
#define TZST_C_LDM        160                           /* ZSTD_c_enableLongDistanceMatching */
#define TZST_E_CONTINUE   0                             /* ZSTD_e_continue         */
#define TZST_E_END        2                             /* ZSTD_e_end              */
#define TZST_MAX_OUTPUT   ((unsigned long long)1 << 40) /* refuse bigger */

typedef struct {
    const void *src;
    size_t size;
    size_t pos;
} tzst_in_t; /* ZSTD_inBuffer */

typedef struct {
    void *dst;
    size_t size;
    size_t pos;
} tzst_out_t; /* ZSTD_outBuffer */

typedef struct {
    void *dl;
    int linked; /* the program links libzstd: dl is RTLD_DEFAULT */
    void *(*create_cctx)(void);
    size_t (*free_cctx)(void *);
    size_t (*set_parameter)(void *, int, int);
    size_t (*compress_stream2)(void *, tzst_out_t *, tzst_in_t *, int);
    void *(*create_dctx)(void);
    size_t (*free_dctx)(void *);
    size_t (*decompress_stream)(void *, tzst_out_t *, tzst_in_t *);
    unsigned (*is_error)(size_t);
    const char *(*error_name)(size_t);
    /* one-shot buffers (tzst_buf_*): optional, NULL in an old libzstd */
    size_t (*compress_cctx)(void *, void *, size_t, const void *, size_t, int);
    size_t (*decompress_dctx)(void *, void *, size_t, const void *, size_t);
    size_t (*compress_bound)(size_t);
    void *(*create_dctx_advanced)(tzst_mem_t); /* ZSTD_customMem has this layout */
    void *(*create_cctx_advanced)(tzst_mem_t);
} tzst_lib_t;

int tzst_is_zstd(const void *head, size_t n)
{
    return n >= 4 && !memcmp(head, "\x28\xb5\x2f\xfd", 4);
}

/* Lets go of what tzst_load opened (nothing when the program links it:
 * then L->dl is RTLD_DEFAULT, which is NULL). */
static void tzst_unload(const tzst_lib_t *l)
{
    if (!l->linked && l->dl) dlclose(l->dl);
}

#define TZST_SYM(l, field, name) (*(void **)&(l)->field = dlsym((l)->dl, name))

/* Loads libzstd.  Returns 0, or -1 with a message naming NAME in ERR. */
static int tzst_load(tzst_lib_t *l, const char *name, char *err, size_t errlen)
{
    memset(l, 0, sizeof *l);
    /* linked into the program (sim/trace/BUILD): its symbols are there,
     * and no dlopen runs (which would allocate) */
    l->linked = dlsym(RTLD_DEFAULT, "ZSTD_createDCtx") != NULL;
    l->dl = l->linked ? RTLD_DEFAULT : dlopen("libzstd.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!l->linked && !l->dl) {
        snprintf(err, errlen,
                 "%s: zstd-compressed, and libzstd.so.1 cannot be loaded (Debian "
                 "package libzstd1)",
                 name);
        return -1;
    }
    TZST_SYM(l, create_cctx, "ZSTD_createCCtx");
    TZST_SYM(l, free_cctx, "ZSTD_freeCCtx");
    TZST_SYM(l, set_parameter, "ZSTD_CCtx_setParameter");
    TZST_SYM(l, compress_stream2, "ZSTD_compressStream2");
    TZST_SYM(l, create_dctx, "ZSTD_createDCtx");
    TZST_SYM(l, free_dctx, "ZSTD_freeDCtx");
    TZST_SYM(l, decompress_stream, "ZSTD_decompressStream");
    TZST_SYM(l, is_error, "ZSTD_isError");
    TZST_SYM(l, error_name, "ZSTD_getErrorName");
    TZST_SYM(l, compress_cctx, "ZSTD_compressCCtx");
    TZST_SYM(l, decompress_dctx, "ZSTD_decompressDCtx");
    TZST_SYM(l, compress_bound, "ZSTD_compressBound");
    TZST_SYM(l, create_dctx_advanced, "ZSTD_createDCtx_advanced");
    TZST_SYM(l, create_cctx_advanced, "ZSTD_createCCtx_advanced");
    if (!l->create_cctx || !l->free_cctx || !l->set_parameter || !l->compress_stream2 ||
        !l->create_dctx || !l->free_dctx || !l->decompress_stream || !l->is_error ||
        !l->error_name) {
        snprintf(err, errlen, "%s: libzstd.so.1 is too old (no streaming API)", name);
        tzst_unload(l);
        return -1;
    }
    return 0;
}

static int tzst_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Maps FD read-only; *SIZE gets its length.  An empty file maps to "". */
static const void *tzst_map(int fd, size_t *size)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < 0 || (uint64_t)st.st_size > SIZE_MAX) return NULL;
    *size = (size_t)st.st_size;
    if (*size == 0) return "";
    void *p = mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void tzst_unmap(const void *p, size_t size)
{
    if (size) munmap((void *)p, size);
}

/* The most a stream may decompress to: a quarter of the memory available
 * now (the memory file lives in RAM or swap, and the reader's tables come
 * on top), or $ARENALAB_ZST_MAX_BYTES when set (tests, and users who know
 * better).  A bomb that would exhaust the machine stops with an error. */
static unsigned long long tzst_max_output(void)
{
    uint64_t lim = meminfo_bound("ARENALAB_ZST_MAX_BYTES", meminfo_available() / 4);
    return lim < TZST_MAX_OUTPUT ? lim : TZST_MAX_OUTPUT;
}

/* Writes OB's bytes to OUT, keeping *TOTAL under MAX.  0 or a TRACE_E* code
 * with the message in ERR. */
static int tzst_emit(int out, const tzst_out_t *ob, unsigned long long *total,
                     unsigned long long max, const char *name, char *err, size_t errlen)
{
    *total += ob->pos;
    if (*total > max) {
        snprintf(err, errlen,
                 "%s: decompresses to more than %llu MiB, the most this machine can hold "
                 "in memory now (a quarter of what is available); decompress it to a file "
                 "with 'zstd -d' and read that",
                 name, max >> 20);
        return TRACE_ENOMEM;
    }
    if (ob->pos && tzst_write_all(out, ob->dst, ob->pos) < 0) {
        snprintf(err, errlen, "%s: cannot decompress: %s", name, strerror(errno));
        return TRACE_EIO;
    }
    return 0;
}

int tzst_decompress_fd(int fd, const char *name, char *err, size_t errlen)
{
    tzst_lib_t l;
    size_t insize;
    if (tzst_load(&l, name, err, errlen) < 0) return TRACE_EIO;
    const void *in = tzst_map(fd, &insize);
    void *d = l.create_dctx();
    char *buf = malloc(TZST_CHUNK);
    int out = memfd_create("arenalab-trace", MFD_CLOEXEC);
    int rc = 0;
    if (!in || !d || !buf || out < 0) {
        snprintf(err, errlen, "%s: cannot decompress: %s", name,
                 !in ? "cannot map the file" : strerror(out < 0 ? errno : ENOMEM));
        rc = !in || out < 0 ? TRACE_EIO : TRACE_ENOMEM;
    }
    tzst_in_t ib = {in, insize, 0};
    unsigned long long total = 0, max = tzst_max_output();
    /* z is the decoder's hint: 0 exactly when a frame has been decoded and
     * flushed whole.  Anything else once the input is used up is a frame
     * cut short: an error, never a shorter trace. */
    size_t z = 1;
    while (rc == 0) {
        tzst_out_t ob = {buf, TZST_CHUNK, 0};
        size_t before = ib.pos;
        size_t hint = l.decompress_stream(d, &ob, &ib);
        if (l.is_error(hint)) {
            snprintf(err, errlen, "%s: corrupt zstd data: %s", name, l.error_name(hint));
            rc = TRACE_ECORRUPT;
            break;
        }
        /* a call that did nothing (the last chunk filled the buffer
         * exactly, no input left) says what a next frame would need, not
         * whether the last one ended */
        if (ob.pos > 0 || ib.pos != before) z = hint;
        rc = tzst_emit(out, &ob, &total, max, name, err, errlen);
        /* done when the input is used up and the decoder has nothing left
         * to give (an output buffer it did not fill) */
        if (ib.pos == ib.size && ob.pos < ob.size) break;
    }
    if (rc == 0 && z != 0) {
        snprintf(err, errlen,
                 "%s: the zstd stream is cut short (%llu bytes decompressed before its end); "
                 "the file is damaged or was not written to the end",
                 name, total);
        rc = TRACE_ECORRUPT;
    }
    if (rc == 0 && lseek(out, 0, SEEK_SET) != 0) {
        snprintf(err, errlen, "%s: cannot decompress: %s", name, strerror(errno));
        rc = TRACE_EIO;
    }
    free(buf);
    if (d) l.free_dctx(d);
    if (in) tzst_unmap(in, insize);
    tzst_unload(&l);
    if (rc < 0) {
        if (out >= 0) close(out);
        return rc;
    }
    return out;
}

static int tzst_enc_run(tzst_enc_t *z, tzst_in_t *ib, int op, char *err, size_t errlen);

/* Compresses IN (INSIZE bytes) at LEVEL, giving the output to PUT in
 * chunks: one frame of the streaming encoder below, ended at once.  0, or
 * -1 with "NAME: ..." in ERR. */
static int tzst_compress_core(const void *in, size_t insize, int level,
                              int (*put)(void *ud, const void *p, size_t n), void *ud,
                              const char *name, char *err, size_t errlen)
{
    tzst_enc_t *z = tzst_enc_open(level, 0, put, ud, name, err, errlen);
    if (!z) return -1;
    tzst_in_t ib = {in, insize, 0};
    int rc = tzst_enc_run(z, &ib, TZST_E_END, err, errlen);
    tzst_enc_close(z);
    return rc;
}

int tzst_put_fd(void *ud, const void *p, size_t n)
{
    return tzst_write_all(*(int *)ud, p, n);
}

static int tzst_put_file(void *ud, const void *p, size_t n)
{
    return n == 0 || fwrite(p, 1, n, ud) == n ? 0 : -1;
}

int tzst_compress_fd(int in_fd, FILE *out, int level, const char *name, char *err, size_t errlen)
{
    size_t insize;
    const void *in = tzst_map(in_fd, &insize);
    if (!in) {
        snprintf(err, errlen, "%s: cannot read what was written: %s", name, strerror(errno));
        return -1;
    }
    int rc = tzst_compress_core(in, insize, level, tzst_put_file, out, name, err, errlen);
    tzst_unmap(in, insize);
    return rc;
}

int tzst_compress_file(const char *src, const char *dst, int level, char *err, size_t errlen)
{
    size_t insize = 0;
    char tmp[4096];
    /* beside DST (rename stays on one filesystem), created exclusively
     * under a name nobody can predict */
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", dst) >= (int)sizeof tmp) {
        snprintf(err, errlen, "%s: path too long", dst);
        return -1;
    }
    int in_fd = open(src, O_RDONLY | O_CLOEXEC);
    const void *in = in_fd >= 0 ? tzst_map(in_fd, &insize) : NULL;
    int out = in ? mkostemp(tmp, O_CLOEXEC) : -1;
    if (out >= 0) {
        mode_t um = umask(0);
        umask(um);
        fchmod(out, 0666 & ~um); /* as a file the user's program would create */
    }
    int rc = 0;
    if (!in || out < 0) {
        snprintf(err, errlen, "%s: %s", !in ? src : dst, strerror(errno));
        rc = -1;
    }
    if (rc == 0) rc = tzst_compress_core(in, insize, level, tzst_put_fd, &out, dst, err, errlen);
    if (out >= 0 && close(out) != 0 && rc == 0) {
        snprintf(err, errlen, "%s: %s", dst, strerror(errno));
        rc = -1;
    }
    if (rc == 0 && rename(tmp, dst) != 0) {
        snprintf(err, errlen, "%s: %s", dst, strerror(errno));
        rc = -1;
    }
    if (rc < 0 && out >= 0) unlink(tmp);
    if (in) tzst_unmap(in, insize);
    if (in_fd >= 0) close(in_fd);
    return rc;
}

/* ---- compressing as the input comes ---------------------------------------- */

struct tzst_enc_s {
    tzst_lib_t l;
    void *c;   /* the encoder                         */
    char *buf; /* TZST_CHUNK bytes of its output      */
    int (*put)(void *ud, const void *p, size_t n);
    void *ud;
    char name[256];
};

tzst_enc_t *tzst_enc_open(int level, int long_log, int (*put)(void *ud, const void *p, size_t n),
                          void *ud, const char *name, char *err, size_t errlen)
{
    tzst_enc_t *z = calloc(1, sizeof *z);
    if (!z) {
        snprintf(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    snprintf(z->name, sizeof z->name, "%s", name);
    if (tzst_load(&z->l, name, err, errlen) < 0) {
        free(z);
        return NULL;
    }
    z->c = z->l.create_cctx();
    z->buf = malloc(TZST_CHUNK);
    z->put = put;
    z->ud = ud;
    if (!z->c || !z->buf || z->l.is_error(z->l.set_parameter(z->c, TZST_C_LEVEL, level)) ||
        (long_log && (z->l.is_error(z->l.set_parameter(z->c, TZST_C_LDM, 1)) ||
                      z->l.is_error(z->l.set_parameter(z->c, TZST_C_WINDOW_LOG, long_log))))) {
        snprintf(err, errlen, "%s: cannot start compressing: out of memory", name);
        tzst_enc_close(z);
        return NULL;
    }
    return z;
}

/* Runs the encoder on IB with directive OP until it has taken all of IB
 * (and, for TZST_E_END, flushed the frame).  0 or -1 with ERR. */
static int tzst_enc_run(tzst_enc_t *z, tzst_in_t *ib, int op, char *err, size_t errlen)
{
    for (;;) {
        tzst_out_t ob = {z->buf, TZST_CHUNK, 0};
        size_t left = z->l.compress_stream2(z->c, &ob, ib, op);
        if (z->l.is_error(left)) {
            snprintf(err, errlen, "%s: zstd: %s", z->name, z->l.error_name(left));
            return -1;
        }
        if (ob.pos && z->put(z->ud, z->buf, ob.pos) < 0) {
            snprintf(err, errlen, "%s: cannot write: %s", z->name, strerror(errno));
            return -1;
        }
        /* TZST_E_CONTINUE: done once the input is taken (the encoder keeps
         * what does not fill a block); TZST_E_END: once nothing is left */
        if (op == TZST_E_END ? left == 0 : ib->pos == ib->size) return 0;
    }
}

int tzst_enc_write(tzst_enc_t *z, const void *p, size_t n, char *err, size_t errlen)
{
    tzst_in_t ib = {p, n, 0};
    return n ? tzst_enc_run(z, &ib, TZST_E_CONTINUE, err, errlen) : 0;
}

int tzst_enc_end(tzst_enc_t *z, char *err, size_t errlen)
{
    tzst_in_t ib = {"", 0, 0};
    return tzst_enc_run(z, &ib, TZST_E_END, err, errlen);
}

void tzst_enc_close(tzst_enc_t *z)
{
    if (!z) return;
    if (z->c) z->l.free_cctx(z->c);
    free(z->buf);
    tzst_unload(&z->l);
    free(z);
}

/* ---- streaming ----------------------------------------------------------- */

struct tzst_stream_s {
    tzst_lib_t l;
    void *d;      /* the decoder                                     */
    int fd;       /* the compressed input                            */
    char *in;     /* TZST_CHUNK bytes of compressed input            */
    tzst_in_t ib; /* in[ib.pos, ib.size) not decoded yet             */
    int in_eof;   /* read(fd) said end of file                       */
    size_t z;     /* the decoder's last hint: 0 after a whole frame  */
    int done;     /* the end was reached (cleanly)                   */
    char name[256];
};

tzst_stream_t *tzst_stream_open(int fd, const void *head, size_t headlen, const char *name,
                                char *err, size_t errlen)
{
    tzst_stream_t *z = calloc(1, sizeof *z);
    if (!z) {
        snprintf(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    snprintf(z->name, sizeof z->name, "%s", name);
    if (tzst_load(&z->l, name, err, errlen) < 0) {
        free(z);
        return NULL;
    }
    z->d = z->l.create_dctx();
    z->in = malloc(TZST_CHUNK);
    if (!z->d || !z->in || headlen > TZST_CHUNK) {
        snprintf(err, errlen, "%s: cannot decompress: out of memory", name);
        tzst_stream_close(z);
        return NULL;
    }
    if (headlen) memcpy(z->in, head, headlen);
    z->ib = (tzst_in_t){z->in, headlen, 0};
    z->fd = fd;
    z->z = 1;
    return z;
}

long tzst_stream_read(tzst_stream_t *z, void *buf, size_t n, char *err, size_t errlen)
{
    if (z->done || n == 0) return 0;
    for (;;) {
        if (z->ib.pos == z->ib.size && !z->in_eof) {
            ssize_t got;
            do
                got = read(z->fd, z->in, TZST_CHUNK);
            while (got < 0 && errno == EINTR);
            if (got < 0) {
                snprintf(err, errlen, "%s: cannot read: %s", z->name, strerror(errno));
                return TRACE_EIO;
            }
            z->ib = (tzst_in_t){z->in, (size_t)got, 0};
            if (got == 0) z->in_eof = 1;
        }
        tzst_out_t ob = {buf, n, 0};
        size_t before = z->ib.pos;
        size_t hint = z->l.decompress_stream(z->d, &ob, &z->ib);
        if (z->l.is_error(hint)) {
            snprintf(err, errlen, "%s: corrupt zstd data: %s", z->name, z->l.error_name(hint));
            return TRACE_ECORRUPT;
        }
        /* a call that did nothing (no input left) says what a next frame
         * would need, not whether the last one ended */
        if (ob.pos > 0 || z->ib.pos != before) z->z = hint;
        if (ob.pos > 0) return (long)ob.pos;
        /* nothing came out: more input is needed, or this is the end */
        if (z->in_eof && z->ib.pos == z->ib.size) {
            if (z->z != 0) {
                snprintf(err, errlen,
                         "%s: the zstd stream is cut short; the file is damaged or was not "
                         "written to the end",
                         z->name);
                return TRACE_ECORRUPT;
            }
            z->done = 1;
            return 0;
        }
    }
}

void tzst_stream_close(tzst_stream_t *z)
{
    if (!z) return;
    if (z->d) z->l.free_dctx(z->d);
    free(z->in);
    tzst_unload(&z->l);
    free(z);
}

/* ---- one-shot buffers ------------------------------------------------------ */

struct tzst_buf_s {
    tzst_lib_t l;
    void *cctx, *dctx; /* made on first use */
    tzst_mem_t mem;
    int custom; /* mem is the caller's, not malloc */
};

static void *tzst_malloc(void *opaque, size_t n)
{
    (void)opaque;
    return malloc(n);
}

static void tzst_free(void *opaque, void *p)
{
    (void)opaque;
    free(p);
}

tzst_buf_t *tzst_buf_open(const char *name, const tzst_mem_t *mem, char *err, size_t errlen)
{
    tzst_lib_t l;
    if (tzst_load(&l, name, err, errlen) < 0) return NULL;
    if (!l.compress_cctx || !l.decompress_dctx || !l.compress_bound ||
        (mem && (!l.create_dctx_advanced || !l.create_cctx_advanced))) {
        snprintf(err, errlen, "%s: libzstd.so.1 is too old (no one-shot API)", name);
        tzst_unload(&l);
        return NULL;
    }
    tzst_mem_t m = mem ? *mem : (tzst_mem_t){tzst_malloc, tzst_free, NULL};
    tzst_buf_t *z = m.alloc(m.opaque, sizeof *z);
    if (!z) {
        snprintf(err, errlen, "%s: out of memory", name);
        tzst_unload(&l);
        return NULL;
    }
    memset(z, 0, sizeof *z);
    z->l = l;
    z->mem = m;
    z->custom = mem != NULL;
    return z;
}

size_t tzst_buf_bound(const tzst_buf_t *z, size_t n)
{
    return z->l.compress_bound(n);
}

long tzst_buf_compress(tzst_buf_t *z, void *dst, size_t cap, const void *src, size_t n, int level)
{
    if (!z->cctx && !(z->cctx = z->custom ? z->l.create_cctx_advanced(z->mem) : z->l.create_cctx()))
        return -1;
    size_t r = z->l.compress_cctx(z->cctx, dst, cap, src, n, level);
    return z->l.is_error(r) || r > (size_t)LONG_MAX ? -1 : (long)r;
}

long tzst_buf_decompress(tzst_buf_t *z, void *dst, size_t cap, const void *src, size_t n)
{
    if (!z->dctx && !(z->dctx = z->custom ? z->l.create_dctx_advanced(z->mem) : z->l.create_dctx()))
        return -1;
    size_t r = z->l.decompress_dctx(z->dctx, dst, cap, src, n);
    return z->l.is_error(r) || r > (size_t)LONG_MAX ? -1 : (long)r;
}

void tzst_buf_close(tzst_buf_t *z)
{
    if (!z) return;
    if (z->cctx) z->l.free_cctx(z->cctx);
    if (z->dctx) z->l.free_dctx(z->dctx);
    /* libzstd stays mapped (no dlclose): the next reader's dlopen is then a
     * lookup, not a load, which would cost a small trace's whole decode */
    z->mem.free(z->mem.opaque, z);
}
