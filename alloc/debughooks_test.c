/* debughooks_test.c: the debug layer (alloc/debughooks.c) around a
 * recording allocator -- the block's bytes, the requests the wrapped
 * allocator sees and the bytes it sees then, realloc's save-and-kill,
 * faults, CPython's messages and dump, the forwarded class. */
#include "alloc/check.h"
#include "alloc/debughooks.h"

#include <limits.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- a recording allocator ------------------------------------------- */

#define REC_MAX 4096

typedef struct {
    char log[REC_MAX]; /* "m 29;c 1 36;r 124;f;" ...                  */
    size_t len;
    uint8_t seen[REC_MAX]; /* the block's bytes when realloc/free got it   */
    size_t nseen;
    int fail_realloc; /* the next realloc returns NULL                */
    int destroyed;
} rec_t;

static void rec_log(rec_t *r, const char *fmt, size_t a, size_t b)
{
    r->len += (size_t)snprintf(r->log + r->len, sizeof r->log - r->len, fmt, a, b);
}

/* Keeps the first N bytes of block P. */
static void rec_see(rec_t *r, const void *p, size_t n)
{
    r->nseen = n < REC_MAX ? n : REC_MAX;
    memcpy(r->seen, p, r->nseen);
}

static void *rec_malloc(void *ctx, size_t n)
{
    rec_log(ctx, "m %zu;", n, 0);
    return malloc(n ? n : 1);
}

static void *rec_calloc(void *ctx, size_t k, size_t n)
{
    rec_log(ctx, "c %zu %zu;", k, n);
    return calloc(k ? k : 1, n ? n : 1);
}

static void *rec_realloc(void *ctx, void *p, size_t n)
{
    rec_t *r = ctx;
    rec_log(r, "r %zu;", n, 0);
    /* the header is dead by now: the old size comes from the usable size */
    rec_see(r, p, malloc_usable_size(p) < REC_MAX ? malloc_usable_size(p) : REC_MAX);
    if (r->fail_realloc) {
        r->fail_realloc = 0;
        return NULL;
    }
    return realloc(p, n);
}

static void rec_free(void *ctx, void *p)
{
    rec_t *r = ctx;
    rec_log(r, "f;", 0, 0);
    free(p);
}

static void rec_destroy(void *ctx)
{
    ((rec_t *)ctx)->destroyed++;
}

static void rec_stats(void *ctx, alloc_stats_t *out)
{
    memset(out, 0, sizeof *out);
    out->footprint = 777;
    out->nextra = 1;
    out->extra[0].name = "rec";
    out->extra[0].value = ((rec_t *)ctx)->len;
}

static size_t rec_usable(void *ctx, const void *p)
{
    return malloc_usable_size((void *)p);
}

static const alloc_class_t rec_class = {
    .name = "rec",
    .flags = ALLOC_PROCESS_HEAP,
    .destroy = rec_destroy,
    .stats = rec_stats,
    .usable_size = rec_usable,
};

static rec_t rec;

static void rec_clear(void)
{
    rec.len = 0;
    rec.log[0] = '\0';
    rec.nseen = 0;
}

/* ---- faults ---------------------------------------------------------- */

static dbg_fault_t last;
static int nreports;

static void on_fault(void *ud, const dbg_fault_t *f)
{
    (void)ud;
    last = *f;
    nreports++;
}

static dbg_t *new_layer(void)
{
    static const alloc_t inner = {&rec, rec_malloc, rec_calloc, rec_realloc, rec_free};
    dbg_t *g = dbg_new(&rec_class, &inner, on_fault, NULL);
    CHECK(g != NULL && dbg_is_valid(g));
    return g;
}

/* All N bytes at P equal B. */
static int all(const uint8_t *p, size_t n, uint8_t b)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != b) return 0;
    return 1;
}

/* The header and trailer of a block of N bytes at P, through API. */
static int marked(const uint8_t *p, size_t n, char api)
{
    const uint8_t *h = p - DBG_HEAD;
    for (int i = 0; i < 7; i++)
        if (h[i] != 0) return 0; /* sizes here fit in one byte... */
    return h[7] == n % 256 && n < 256 && h[8] == (uint8_t)api && all(h + 9, 7, 0xFD) &&
           all(p + n, 8, 0xFD);
}

static void test_layout(dbg_t *g)
{
    alloc_t raw = dbg_domain(g, 0), mem = dbg_domain(g, 1), obj = dbg_domain(g, 2);
    CHECK(dbg_api_id[0] == 'r' && dbg_api_id[1] == 'm' && dbg_api_id[2] == 'o');

    rec_clear();
    uint8_t *p = raw.malloc(raw.ctx, 5);
    CHECK(p && !strcmp(rec.log, "m 29;"));
    static const uint8_t want[] = {0,    0,    0,    0,    0,    0,    0,    5,    'r',  0xFD,
                                   0xFD, 0xFD, 0xFD, 0xFD, 0xFD, 0xFD, 0xCD, 0xCD, 0xCD, 0xCD,
                                   0xCD, 0xFD, 0xFD, 0xFD, 0xFD, 0xFD, 0xFD, 0xFD, 0xFD};
    CHECK(memcmp(p - 16, want, sizeof want) == 0);

    /* 0 bytes: the header and trailer alone */
    rec_clear();
    uint8_t *z = mem.malloc(mem.ctx, 0);
    CHECK(z && !strcmp(rec.log, "m 24;") && marked(z, 0, 'm'));

    /* calloc asks for one element of the whole size, and is not filled */
    rec_clear();
    uint8_t *c = obj.calloc(obj.ctx, 3, 4);
    CHECK(c && !strcmp(rec.log, "c 1 36;") && marked(c, 12, 'o') && all(c, 12, 0));

    /* free kills the whole block, header and trailer included */
    rec_clear();
    raw.free(raw.ctx, p);
    CHECK(!strcmp(rec.log, "f;"));
    mem.free(mem.ctx, z);
    obj.free(obj.ctx, c);
    rec_clear();
    raw.free(raw.ctx, NULL);
    CHECK(rec.len == 0);

    /* sizes past PY_SSIZE_T_MAX - 24 reach nobody */
    CHECK(raw.malloc(raw.ctx, (size_t)SSIZE_MAX - 23) == NULL);
    CHECK(raw.calloc(raw.ctx, SIZE_MAX / 2, 3) == NULL);
    CHECK(rec.len == 0);
}

/* free's dead bytes, seen by a free that keeps what it got */
static uint8_t dead_seen[64];
static void keep_free(void *ctx, void *p)
{
    memcpy(dead_seen, p, sizeof dead_seen);
    free(p);
}

static void test_dead(void)
{
    const alloc_t inner = {&rec, rec_malloc, rec_calloc, rec_realloc, keep_free};
    dbg_t *g = dbg_new(&rec_class, &inner, on_fault, NULL);
    alloc_t raw = dbg_domain(g, 0);
    uint8_t *p = raw.malloc(raw.ctx, 40);
    memset(p, 7, 40);
    raw.free(raw.ctx, p);
    CHECK(all(dead_seen, 64, 0xDD));
    rec.destroyed = 0;
    dbg_delete(g);
    CHECK(rec.destroyed == 1);
}

static void test_realloc(dbg_t *g)
{
    alloc_t mem = dbg_domain(g, 1);
    /* a small block: saved whole, all of it dead for the wrapped realloc */
    uint8_t *p = mem.malloc(mem.ctx, 10);
    for (int i = 0; i < 10; i++)
        p[i] = (uint8_t)i;
    rec_clear();
    p = mem.realloc(mem.ctx, p, 100);
    CHECK(p && !strcmp(rec.log, "r 124;") && all(rec.seen, 34, 0xDD));
    CHECK(marked(p, 100, 'm') && all(p + 10, 90, 0xCD));
    int kept = 1;
    for (int i = 0; i < 10; i++)
        kept &= p[i] == i;
    CHECK(kept);

    /* a large one: its ends die, the middle stays for the copy */
    for (int i = 0; i < 100; i++)
        p[i] = (uint8_t)(i + 1);
    p = mem.realloc(mem.ctx, p, 200);
    for (int i = 0; i < 200; i++)
        p[i] = (uint8_t)(i + 1);
    rec_clear();
    p = mem.realloc(mem.ctx, p, 250);
    CHECK(p && !strcmp(rec.log, "r 274;"));
    CHECK(all(rec.seen, 16 + 64, 0xDD));                   /* header, first 64 */
    CHECK(rec.seen[80] == 65 && rec.seen[80 + 71] == 136); /* middle kept */
    CHECK(all(rec.seen + 16 + 136, 64 + 8, 0xDD));         /* last 64, trailer */
    kept = 1;
    for (int i = 0; i < 200; i++)
        kept &= p[i] == (uint8_t)(i + 1);
    CHECK(kept && all(p + 200, 50, 0xCD));

    /* shrinking into the saved end: what is left of it comes back */
    for (int i = 0; i < 250; i++)
        p[i] = (uint8_t)(i + 1);
    p = mem.realloc(mem.ctx, p, 220);
    CHECK(p && marked(p, 220, 'm'));
    kept = 1;
    for (int i = 0; i < 220; i++)
        kept &= p[i] == (uint8_t)(i + 1);
    CHECK(kept);
    p = mem.realloc(mem.ctx, p, 150);
    CHECK(p && marked(p, 150, 'm'));
    kept = 1;
    for (int i = 0; i < 150; i++)
        kept &= p[i] == (uint8_t)(i + 1);
    CHECK(kept);

    /* a failed realloc: NULL, and the old block as it was */
    rec.fail_realloc = 1;
    CHECK(mem.realloc(mem.ctx, p, 1000) == NULL);
    dbg_fault_t f;
    CHECK(dbg_check(&mem, p, &f) == 0 && f.nbytes == 150);
    kept = 1;
    for (int i = 0; i < 150; i++)
        kept &= p[i] == (uint8_t)(i + 1);
    CHECK(kept);
    mem.free(mem.ctx, p);

    /* realloc(NULL) is a malloc */
    rec_clear();
    p = mem.realloc(mem.ctx, NULL, 3);
    CHECK(p && !strcmp(rec.log, "m 27;") && marked(p, 3, 'm'));
    CHECK(mem.realloc(mem.ctx, p, (size_t)SSIZE_MAX) == NULL && marked(p, 3, 'm'));
    mem.free(mem.ctx, p);
}

static void test_faults(dbg_t *g)
{
    alloc_t raw = dbg_domain(g, 0), mem = dbg_domain(g, 1), obj = dbg_domain(g, 2);
    char msg[256];
    unsigned long long before = dbg_faults(g);

    /* another domain's block: a bad ID, and the call does nothing */
    uint8_t *p = obj.malloc(obj.ctx, 8);
    rec_clear();
    nreports = 0;
    raw.free(raw.ctx, p);
    CHECK(nreports == 1 && rec.len == 0 && marked(p, 8, 'o'));
    CHECK(last.kind == DBG_BAD_ID && last.op == DBG_OP_FREE && last.api == 'r' &&
          last.found == 'o' && last.p == p);
    dbg_message(&last, msg, sizeof msg);
    CHECK(!strcmp(msg, "_PyMem_DebugRawFree: bad ID: Allocated using API 'o', verified using "
                       "API 'r'"));
    CHECK(mem.realloc(mem.ctx, p, 20) == NULL && nreports == 2 && rec.len == 0);
    dbg_message(&last, msg, sizeof msg);
    CHECK(!strcmp(msg, "_PyMem_DebugRawRealloc: bad ID: Allocated using API 'o', verified "
                       "using API 'm'"));

    /* an underflow, caught before the size is trusted */
    p[-1] = 0;
    obj.free(obj.ctx, p);
    CHECK(nreports == 3 && last.kind == DBG_BAD_LEADING && rec.len == 0);
    dbg_message(&last, msg, sizeof msg);
    CHECK(!strcmp(msg, "_PyMem_DebugRawFree: bad leading pad byte"));
    p[-1] = 0xFD;

    /* an overflow */
    p[8] = 'x';
    CHECK(obj.realloc(obj.ctx, p, 4) == NULL && nreports == 4 && last.kind == DBG_BAD_TRAILING);
    CHECK(last.nbytes == 8);
    dbg_message(&last, msg, sizeof msg);
    CHECK(!strcmp(msg, "_PyMem_DebugRawRealloc: bad trailing pad byte"));
    dbg_fault_t f;
    CHECK(dbg_check(&obj, p, &f) == 1 && f.kind == DBG_BAD_TRAILING && f.op == DBG_OP_CHECK);
    p[8] = 0xFD;
    CHECK(dbg_check(&obj, p, &f) == 0 && dbg_check(&raw, p, &f) == 1 && f.kind == DBG_BAD_ID);
    CHECK(dbg_faults(g) == before + 4 && nreports == 4); /* dbg_check reports nothing */
    obj.free(obj.ctx, p);
    CHECK(nreports == 4);
}

/* CPython's _PyObject_DebugDumpAddress text, for an intact block and for
 * one with both ends overwritten. */
static void test_dump(dbg_t *g)
{
    alloc_t obj = dbg_domain(g, 2);
    uint8_t *p = obj.malloc(obj.ctx, 20);
    for (int i = 0; i < 20; i++)
        p[i] = (uint8_t)(0xA0 + i);
    char *text = NULL, want[2048];
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    dbg_dump(f, p);
    fclose(f);
    snprintf(want, sizeof want,
             "Debug memory block at address p=%p: API 'o'\n"
             "    20 bytes originally requested\n"
             "    The 7 pad bytes at p-7 are FORBIDDENBYTE, as expected.\n"
             "    The 8 pad bytes at tail=%p are FORBIDDENBYTE, as expected.\n"
             "    Data at p: a0 a1 a2 a3 a4 a5 a6 a7 ... ac ad ae af b0 b1 b2 b3\n"
             "\n",
             (void *)p, (void *)(p + 20));
    CHECKF(!strcmp(text, want), "got:\n%s", text);
    free(text);

    p[-3] = 1;
    p[21] = 2;
    f = open_memstream(&text, &len);
    dbg_dump(f, p);
    fclose(f);
    snprintf(want, sizeof want,
             "Debug memory block at address p=%p: API 'o'\n"
             "    20 bytes originally requested\n"
             "    The 7 pad bytes at p-7 are not all FORBIDDENBYTE (0xfd):\n"
             "        at p-7: 0xfd\n"
             "        at p-6: 0xfd\n"
             "        at p-5: 0xfd\n"
             "        at p-4: 0xfd\n"
             "        at p-3: 0x01 *** OUCH\n"
             "        at p-2: 0xfd\n"
             "        at p-1: 0xfd\n"
             "    Because memory is corrupted at the start, the count of bytes requested\n"
             "       may be bogus, and checking the trailing pad bytes may segfault.\n"
             "    The 8 pad bytes at tail=%p are not all FORBIDDENBYTE (0xfd):\n"
             "        at tail+0: 0xfd\n"
             "        at tail+1: 0x02 *** OUCH\n"
             "        at tail+2: 0xfd\n"
             "        at tail+3: 0xfd\n"
             "        at tail+4: 0xfd\n"
             "        at tail+5: 0xfd\n"
             "        at tail+6: 0xfd\n"
             "        at tail+7: 0xfd\n"
             "    Data at p: a0 a1 a2 a3 a4 a5 a6 a7 ... ac ad ae af b0 b1 b2 b3\n"
             "\n",
             (void *)p, (void *)(p + 20));
    CHECKF(!strcmp(text, want), "got:\n%s", text);
    free(text);
    p[-3] = 0xFD;
    p[21] = 0xFD;
    obj.free(obj.ctx, p);
}

/* The layer's class: the wrapped class's figures, usable sizes of whole
 * blocks, absent members stay absent, destroy takes everything. */
static void test_class(void)
{
    dbg_t *g = new_layer();
    const alloc_class_t *cls = dbg_class(g);
    alloc_t obj = dbg_domain(g, 2);
    CHECK(dbg_of(obj.ctx) == g);
    CHECK(!strcmp(cls->name, "rec") && cls->flags == ALLOC_PROCESS_HEAP && !cls->create);
    CHECK(cls->mallocstats == NULL && cls->set_raw == NULL && cls->usable_size != NULL);
    alloc_stats_t st;
    cls->stats(obj.ctx, &st);
    CHECK(st.footprint == 777 && st.nextra == 1 && !strcmp(st.extra[0].name, "rec"));
    uint8_t *p = obj.malloc(obj.ctx, 100);
    CHECK(cls->usable_size(obj.ctx, p) == malloc_usable_size(p - 16));
    obj.free(obj.ctx, p);
    rec.destroyed = 0;
    cls->destroy(dbg_domain(g, 1).ctx);
    CHECK(rec.destroyed == 1);
}

int main(void)
{
    dbg_t *g = new_layer();
    test_layout(g);
    test_dead();
    test_realloc(g);
    test_faults(g);
    test_dump(g);
    dbg_delete(g);
    test_class();
    return check_done();
}
