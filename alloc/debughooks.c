/* debughooks.c: CPython 3.11's debug hooks as a layer around any allocator
 * instance (see debughooks.h), our own code written from the behaviour of
 * Objects/obmalloc.c and checked against libpython3.11 itself
 * (debughooks_fidelity_test.c).
 *
 * ---------------------------------------------------------------------
 * The block
 *
 * A request of n bytes through a face asks the wrapped allocator for
 * n + 24 bytes (3 * SST, SST = sizeof(size_t) = 8: no serial number, as
 * PYMEM_DEBUG_SERIALNO is off in 3.11) and lays them out as
 *
 *     base                      p = base + 16          p + n
 *     | n, 8 bytes big-endian | id | FD x 7 | data (n) | FD x 8 |
 *                              ^ 'r' raw, 'm' mem, 'o' obj
 *
 * and returns p.  Data is filled with the clean byte 0xCD (malloc, realloc's
 * grown part) or left as the wrapped calloc gave it (zero).  The size is
 * big-endian so that it reads in a memory dump.
 *
 * ---------------------------------------------------------------------
 * The requests the wrapped allocator sees (what makes figures comparable
 * with CPython's: the same calls, in the same order)
 *
 *     malloc(n)          -> malloc(n + 24)
 *     calloc(k, s)       -> calloc(1, k * s + 24)   (never calloc(k, ...))
 *     realloc(NULL, n)   -> malloc(n + 24)
 *     realloc(p, n)      -> realloc(base, n + 24)
 *     free(NULL)         -> nothing
 *     free(p)            -> free(base)
 *
 * and nothing at all for a request above PY_SSIZE_T_MAX - 24 (NULL) or a
 * call whose check fails.
 *
 * ---------------------------------------------------------------------
 * What free and realloc do to the block
 *
 * Both first check it, in CPython's order, stopping at the first fault:
 * the API id byte (a block allocated through another domain: "bad ID"),
 * the 7 forbidden bytes before p from p-7 upward (an underflow: "bad
 * leading pad byte" -- checked before the size is trusted), then the 8
 * after p + n (an overflow: "bad trailing pad byte").
 *
 *   free     fills the whole block, header and trailer included (n + 24
 *            bytes), with the dead byte 0xDD, then frees base.
 *   realloc  first saves and kills the old block's ends, so that whatever
 *            the wrapped realloc copies or leaves behind reads as dead:
 *            a block of at most 128 bytes is saved whole and all of it
 *            (n + 24) set to 0xDD; a larger one has its first 64 and last
 *            64 data bytes saved, and the header with the first 64, and
 *            the last 64 with the trailer, set to 0xDD (the middle stays).
 *            Then realloc(base, n' + 24); then, on the block it returned
 *            (or on the old one if it failed), the header and trailer are
 *            written anew (for the old size on failure), the saved bytes
 *            restored up to the new size, and a grown part filled with
 *            0xCD.  A failed realloc returns NULL with the old block
 *            intact.
 *
 * ---------------------------------------------------------------------
 * Faults
 *
 * CPython prints the block (_PyObject_DebugDumpAddress) and dies with
 * "Fatal Python error: _PyMem_DebugRawFree: bad ID: Allocated using API
 * 'o', verified using API 'r'" (or _PyMem_DebugRawRealloc, or "bad leading
 * pad byte" / "bad trailing pad byte"): the function named is the raw one
 * for every domain, since the mem and obj hooks call it.  Without a report
 * function we do the same, printing the same text (without CPython's
 * tracemalloc hint and interpreter state, which we have not got) and
 * calling abort().  With one -- the replay's -- the fault is handed to it
 * and the call does nothing, so the caller may go on.
 *
 * Not reproduced: CPython's mem and obj hooks first check that the caller
 * holds the GIL (_PyMem_DebugCheckGIL).  A replay has no interpreter and
 * one thread; the check always passes there (PyGILState_Check() says yes
 * before an interpreter exists) and changes no request, so it is left out.
 *
 * State: the wrapped instance, its class, three faces, the report
 * function and a fault count; nothing per block beyond the block's own
 * bytes, as in CPython.  Not thread-safe, like the instance it wraps.
 */
#include "alloc/debughooks.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>

_Static_assert(sizeof(size_t) == DBG_SST, "the layout is 3.11's on a 64-bit size_t");
_Static_assert(DBG_EXTRA == 3 * DBG_SST, "no serial number (PYMEM_DEBUG_SERIALNO off)");

/* Bytes of each end of a large block realloc saves and kills
 * (ERASED_SIZE); a block up to twice that is saved whole. */
#define DBG_ERASED 64

/* Largest request: PY_SSIZE_T_MAX (the public API's limit) less the
 * overhead (the hook's). */
#define DBG_MAX ((size_t)SSIZE_MAX - DBG_EXTRA)

const char dbg_api_id[3] = {'r', 'm', 'o'};

typedef struct {
    dbg_t *g;
    char api; /* dbg_api_id[domain] */
} dbg_face_t;

struct dbg_s {
    alloc_t inner;              /* the wrapped instance                  */
    const alloc_class_t *icls;  /* its class                             */
    alloc_class_t cls;          /* dbg_class()                           */
    dbg_face_t face[3];         /* raw, mem, obj                         */
    dbg_report_fn report;       /* NULL: faults abort                    */
    void *ud;                   /* its argument                          */
    unsigned long long nfaults; /* faults found                          */
};

/* ---- the header ------------------------------------------------------ */

static size_t dbg_read_size(const uint8_t *q)
{
    size_t n = 0;
    for (int i = 0; i < DBG_SST; i++)
        n = n << 8 | q[i];
    return n;
}

static void dbg_write_size(uint8_t *q, size_t n)
{
    for (int i = DBG_SST - 1; i >= 0; i--, n >>= 8)
        q[i] = (uint8_t)n;
}

/* Writes the header and trailer of a block of N bytes at BASE. */
static void dbg_mark(uint8_t *base, size_t n, char api)
{
    dbg_write_size(base, n);
    base[DBG_SST] = (uint8_t)api;
    memset(base + DBG_SST + 1, DBG_FORBIDDENBYTE, DBG_SST - 1);
    memset(base + DBG_HEAD + n, DBG_FORBIDDENBYTE, DBG_TAIL);
}

/* The first fault of block P seen through API, in CPython's order; 0 when
 * there is none. */
static int dbg_find(const uint8_t *p, char api, dbg_op_t op, dbg_fault_t *f)
{
    *f = (dbg_fault_t){DBG_BAD_ID, op, api, (char)p[-DBG_SST], p, 0};
    if (f->found != api) return 1;
    f->kind = DBG_BAD_LEADING;
    for (int i = DBG_SST - 1; i >= 1; i--)
        if (p[-i] != DBG_FORBIDDENBYTE) return 1;
    f->nbytes = dbg_read_size(p - DBG_HEAD);
    f->kind = DBG_BAD_TRAILING;
    for (int i = 0; i < DBG_TAIL; i++)
        if (p[f->nbytes + (size_t)i] != DBG_FORBIDDENBYTE) return 1;
    return 0;
}

/* ---- faults ---------------------------------------------------------- */

static const char *const dbg_func[] = {"_PyMem_DebugRawFree", "_PyMem_DebugRawRealloc",
                                       "_PyMem_DebugCheckAddress"};

int dbg_message(const dbg_fault_t *f, char *buf, size_t len)
{
    const char *func = dbg_func[f->op];
    if (f->kind == DBG_BAD_ID)
        return snprintf(buf, len, "%s: bad ID: Allocated using API '%c', verified using API '%c'",
                        func, f->found, f->api);
    return snprintf(buf, len, "%s: bad %s pad byte", func,
                    f->kind == DBG_BAD_LEADING ? "leading" : "trailing");
}

/* "FORBIDDENBYTE, as expected." or the bytes that are not, one a line. */
static void dbg_dump_pad(FILE *out, const uint8_t *at, int from, int to, int step, const char *name)
{
    int ok = 1;
    for (int i = from; i != to; i += step)
        ok &= at[i] == DBG_FORBIDDENBYTE;
    if (ok) {
        fputs("FORBIDDENBYTE, as expected.\n", out);
        return;
    }
    fprintf(out, "not all FORBIDDENBYTE (0x%02x):\n", DBG_FORBIDDENBYTE);
    for (int i = from; i != to; i += step) {
        fprintf(out, "        at %s%c%d: 0x%02x", name, i < 0 ? '-' : '+', abs(i), at[i]);
        if (at[i] != DBG_FORBIDDENBYTE) fputs(" *** OUCH", out);
        fputc('\n', out);
    }
}

void dbg_dump(FILE *out, const void *p)
{
    const uint8_t *q = p;
    fprintf(out, "Debug memory block at address p=%p: API '%c'\n", p, (char)q[-DBG_SST]);
    size_t n = dbg_read_size(q - DBG_HEAD);
    fprintf(out, "    %zu bytes originally requested\n", n);
    fprintf(out, "    The %d pad bytes at p-%d are ", DBG_SST - 1, DBG_SST - 1);
    int lead_ok = 1;
    for (int i = 1; i <= DBG_SST - 1; i++)
        lead_ok &= q[-i] == DBG_FORBIDDENBYTE;
    /* CPython lists them nearest the header first: p-7 down to p-1 */
    dbg_dump_pad(out, q, -(DBG_SST - 1), 0, 1, "p");
    if (!lead_ok)
        fputs("    Because memory is corrupted at the start, the count of bytes requested\n"
              "       may be bogus, and checking the trailing pad bytes may segfault.\n",
              out);
    const uint8_t *tail = q + n;
    fprintf(out, "    The %d pad bytes at tail=%p are ", DBG_TAIL, (const void *)tail);
    dbg_dump_pad(out, tail, 0, DBG_TAIL, 1, "tail");
    if (n > 0) {
        /* up to 8 bytes at the start, and up to 8 at the end */
        fputs("    Data at p:", out);
        const uint8_t *d = q;
        for (int i = 0; d < tail && i < 8; i++)
            fprintf(out, " %02x", *d++);
        if (d < tail && tail - d > 8) {
            fputs(" ...", out);
            d = tail - 8;
        }
        while (d < tail)
            fprintf(out, " %02x", *d++);
        fputc('\n', out);
    }
    fputc('\n', out);
}

/* A fault: reported, or CPython's fatal error. */
static void dbg_fault(dbg_t *g, const dbg_fault_t *f)
{
    g->nfaults++;
    if (g->report) {
        g->report(g->ud, f);
        return;
    }
    char msg[256];
    dbg_message(f, msg, sizeof msg);
    fflush(stdout);
    dbg_dump(stderr, f->p);
    fprintf(stderr, "Fatal Python error: %s\n", msg);
    fflush(stderr);
    abort();
}

/* ---- the hooks ------------------------------------------------------- */

static void *dbg_alloc(dbg_face_t *fc, int use_calloc, size_t n)
{
    if (n > DBG_MAX) return NULL;
    const alloc_t *in = &fc->g->inner;
    size_t total = n + DBG_EXTRA;
    uint8_t *base = use_calloc ? in->calloc(in->ctx, 1, total) : in->malloc(in->ctx, total);
    if (!base) return NULL;
    dbg_mark(base, n, fc->api);
    if (n > 0 && !use_calloc) memset(base + DBG_HEAD, DBG_CLEANBYTE, n);
    return base + DBG_HEAD;
}

static void *dbg_malloc(void *ctx, size_t n)
{
    return dbg_alloc(ctx, 0, n);
}

static void *dbg_calloc(void *ctx, size_t nelem, size_t elsize)
{
    size_t n;
    if (__builtin_mul_overflow(nelem, elsize, &n)) return NULL;
    return dbg_alloc(ctx, 1, n);
}

static void dbg_free(void *ctx, void *ptr)
{
    if (!ptr) return;
    dbg_face_t *fc = ctx;
    dbg_fault_t f;
    if (dbg_find(ptr, fc->api, DBG_OP_FREE, &f)) {
        dbg_fault(fc->g, &f);
        return;
    }
    uint8_t *base = (uint8_t *)ptr - DBG_HEAD;
    memset(base, DBG_DEADBYTE, f.nbytes + DBG_EXTRA);
    fc->g->inner.free(fc->g->inner.ctx, base);
}

static void *dbg_realloc(void *ctx, void *ptr, size_t n)
{
    dbg_face_t *fc = ctx;
    if (!ptr) return dbg_alloc(fc, 0, n);
    dbg_fault_t f;
    if (dbg_find(ptr, fc->api, DBG_OP_REALLOC, &f)) {
        dbg_fault(fc->g, &f);
        return NULL;
    }
    if (n > DBG_MAX) return NULL; /* checked after the block, as CPython */
    uint8_t *data = ptr, *base = data - DBG_HEAD;
    const size_t old = f.nbytes;
    uint8_t save[2 * DBG_ERASED];
    if (old <= sizeof save) {
        memcpy(save, data, old);
        memset(base, DBG_DEADBYTE, old + DBG_EXTRA);
    } else {
        memcpy(save, data, DBG_ERASED);
        memset(base, DBG_DEADBYTE, DBG_HEAD + DBG_ERASED);
        memcpy(save + DBG_ERASED, data + old - DBG_ERASED, DBG_ERASED);
        memset(data + old - DBG_ERASED, DBG_DEADBYTE, DBG_ERASED + DBG_TAIL);
    }
    const alloc_t *in = &fc->g->inner;
    uint8_t *r = in->realloc(in->ctx, base, n + DBG_EXTRA);
    if (r)
        base = r;
    else
        n = old; /* the old block, marked again */
    data = base + DBG_HEAD;
    dbg_mark(base, n, fc->api);
    if (old <= sizeof save) {
        memcpy(data, save, n < old ? n : old);
    } else {
        size_t back = old - DBG_ERASED; /* where the saved end goes */
        memcpy(data, save, n < DBG_ERASED ? n : DBG_ERASED);
        if (n > back)
            memcpy(data + back, save + DBG_ERASED, n - back < DBG_ERASED ? n - back : DBG_ERASED);
    }
    if (!r) return NULL;
    if (n > old) memset(data + old, DBG_CLEANBYTE, n - old);
    return data;
}

/* ---- the layer ------------------------------------------------------- */

dbg_t *dbg_of(void *ctx)
{
    return ((dbg_face_t *)ctx)->g;
}

static void dbg_class_destroy(void *ctx)
{
    dbg_delete(dbg_of(ctx));
}

static void dbg_class_stats(void *ctx, alloc_stats_t *out)
{
    dbg_t *g = dbg_of(ctx);
    g->icls->stats(g->inner.ctx, out);
}

static size_t dbg_class_usable_size(void *ctx, const void *ptr)
{
    dbg_t *g = dbg_of(ctx);
    return g->icls->usable_size(g->inner.ctx, (const uint8_t *)ptr - DBG_HEAD);
}

static int dbg_class_mallocstats(void *ctx, FILE *out)
{
    dbg_t *g = dbg_of(ctx);
    return g->icls->mallocstats(g->inner.ctx, out);
}

static void dbg_class_set_raw(void *ctx, const alloc_t *raw, size_t (*usable)(void *, const void *))
{
    dbg_t *g = dbg_of(ctx);
    g->icls->set_raw(g->inner.ctx, raw, usable);
}

dbg_t *dbg_new(const alloc_class_t *cls, const alloc_t *inner, dbg_report_fn report, void *ud)
{
    dbg_t *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->inner = *inner;
    g->icls = cls;
    g->report = report;
    g->ud = ud;
    for (int d = 0; d < 3; d++)
        g->face[d] = (dbg_face_t){g, dbg_api_id[d]};
    g->cls = (alloc_class_t){
        .name = cls->name,
        .summary = cls->summary,
        .params = cls->params,
        .flags = cls->flags & ~(unsigned)ALLOC_THREAD_SAFE, /* one fault record */
        .preload = cls->preload,
        .destroy = dbg_class_destroy,
        .stats = dbg_class_stats,
        .usable_size = cls->usable_size ? dbg_class_usable_size : NULL,
        .mallocstats = cls->mallocstats ? dbg_class_mallocstats : NULL,
        .available = cls->available,
        .set_raw = cls->set_raw ? dbg_class_set_raw : NULL,
    };
    return g;
}

void dbg_delete(dbg_t *g)
{
    if (!g) return;
    g->icls->destroy(g->inner.ctx);
    free(g);
}

alloc_t dbg_domain(dbg_t *g, int d)
{
    return (alloc_t){&g->face[d], dbg_malloc, dbg_calloc, dbg_realloc, dbg_free};
}

const alloc_class_t *dbg_class(const dbg_t *g)
{
    return &g->cls;
}

int dbg_check(const alloc_t *face, const void *p, dbg_fault_t *f)
{
    const dbg_face_t *fc = face->ctx;
    return dbg_find(p, fc->api, DBG_OP_CHECK, f);
}

int dbg_is_valid(const dbg_t *g)
{
    if (!g || !g->icls || !g->inner.malloc || !g->inner.calloc || !g->inner.realloc ||
        !g->inner.free)
        return 0;
    for (int d = 0; d < 3; d++)
        if (g->face[d].g != g || g->face[d].api != dbg_api_id[d]) return 0;
    return 1;
}

unsigned long long dbg_faults(const dbg_t *g)
{
    return g->nfaults;
}
