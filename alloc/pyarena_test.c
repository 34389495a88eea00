/* pyarena_test.c: the PyArena library (alloc/pyarena.h) — the requests it
 * makes of MEM (sizes and order, as CPython 3.11), its layout, its failure
 * paths and a seeded stress run checked against a model. */
#include "alloc/check.h"
#include "alloc/params.h"
#include "alloc/pyarena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- a MEM allocator that records every call, and can fail or misalign -- */

enum { REC_MALLOC = 'm', REC_REALLOC = 'r', REC_FREE = 'f' };

typedef struct {
    int op;
    size_t size; /* malloc/realloc: bytes asked for                        */
    void *ptr;   /* the block returned (malloc/realloc) or freed           */
} rec_event_t;

typedef struct {
    rec_event_t ev[4096];
    size_t nev;
    size_t fail_at; /* calls from this one on (1-based) fail; 0: never */
    size_t calls;
    size_t skew;  /* returned pointers are this many bytes past malloc's */
    size_t live;  /* blocks live                                         */
    size_t bytes; /* bytes live                                          */
} rec_t;

/* Each block carries its size in front (for `bytes`) and the skew. */
#define REC_PAD 16

static void rec_log(rec_t *r, int op, size_t size, void *ptr)
{
    if (r->nev < sizeof r->ev / sizeof r->ev[0]) r->ev[r->nev++] = (rec_event_t){op, size, ptr};
}

static int rec_fails(rec_t *r)
{
    r->calls++;
    return r->fail_at && r->calls >= r->fail_at;
}

static void *rec_malloc(void *ctx, size_t size)
{
    rec_t *r = ctx;
    if (rec_fails(r)) return NULL;
    char *base = malloc(REC_PAD + r->skew + size);
    if (!base) return NULL;
    memcpy(base, &size, sizeof size);
    char *p = base + REC_PAD + r->skew;
    r->live++;
    r->bytes += size;
    rec_log(r, REC_MALLOC, size, p);
    return p;
}

static size_t rec_size(rec_t *r, void *p)
{
    size_t size;
    memcpy(&size, (char *)p - REC_PAD - r->skew, sizeof size);
    return size;
}

static void rec_free(void *ctx, void *p)
{
    rec_t *r = ctx;
    if (!p) return;
    r->live--;
    r->bytes -= rec_size(r, p);
    rec_log(r, REC_FREE, 0, p);
    free((char *)p - REC_PAD - r->skew);
}

static void *rec_realloc(void *ctx, void *p, size_t size)
{
    rec_t *r = ctx;
    if (!p) return rec_malloc(ctx, size);
    if (rec_fails(r)) return NULL;
    size_t old = rec_size(r, p);
    char *base = realloc((char *)p - REC_PAD - r->skew, REC_PAD + r->skew + size);
    if (!base) return NULL;
    memcpy(base, &size, sizeof size);
    r->bytes = r->bytes - old + size;
    char *q = base + REC_PAD + r->skew;
    rec_log(r, REC_REALLOC, size, q);
    return q;
}

static void *rec_calloc(void *ctx, size_t n, size_t size)
{
    void *p = rec_malloc(ctx, n * size);
    if (p) memset(p, 0, n * size);
    return p;
}

static alloc_t rec_alloc(rec_t *r)
{
    memset(r, 0, sizeof *r);
    return (alloc_t){r, rec_malloc, rec_calloc, rec_realloc, rec_free};
}

/* Release callback: records the order objects come back in. */
typedef struct {
    void *seen[256];
    size_t n;
    rec_t *rec;      /* to note where releases fall among MEM events */
    size_t at_first; /* rec->nev when the first release happened     */
} released_t;

static void release_note(void *ud, void *obj)
{
    released_t *rl = ud;
    if (rl->n == 0 && rl->rec) rl->at_first = rl->rec->nev;
    if (rl->n < 256) rl->seen[rl->n++] = obj;
}

#define HDR PYARENA_HEADER_SIZE

/* ---- CPython's requests, sizes and order --------------------------------- */

static void test_new_and_free_order(void)
{
    rec_t r;
    alloc_t mem = rec_alloc(&r);
    released_t rl = {.rec = &r};
    pyarena_t *a = pyarena_new(&mem, NULL, release_note, &rl);
    CHECK(a != NULL);
    /* The struct, then the first block, right at creation. */
    CHECK(r.nev == 2);
    CHECK(r.ev[0].op == REC_MALLOC && r.ev[0].size == 3 * sizeof(void *));
    CHECK(r.ev[1].op == REC_MALLOC && r.ev[1].size == HDR + 8192);
    CHECK(HDR == 32 || sizeof(void *) != 8);
    void *p = pyarena_malloc(a, 9000); /* one-off block of exactly 9000 */
    CHECK(p != NULL);
    CHECK(r.nev == 3 && r.ev[2].size == HDR + 9000);
    int objs[3];
    for (int i = 0; i < 3; i++)
        CHECK(pyarena_own(a, &objs[i]) == 0);
    CHECK(r.nev == 4 && r.ev[3].op == REC_MALLOC && r.ev[3].size == 4 * sizeof(void *));
    CHECK(pyarena_is_valid(a));
    void *first_block = r.ev[1].ptr, *big = r.ev[2].ptr, *items = r.ev[3].ptr, *st = r.ev[0].ptr;
    pyarena_free(a);
    /* Blocks oldest first, then the objects newest first, then the item
     * array, then the struct. */
    CHECK(r.nev == 8);
    CHECK(r.ev[4].op == REC_FREE && r.ev[4].ptr == first_block);
    CHECK(r.ev[5].op == REC_FREE && r.ev[5].ptr == big);
    CHECK(rl.n == 3 && rl.seen[0] == &objs[2] && rl.seen[1] == &objs[1] && rl.seen[2] == &objs[0]);
    CHECK(rl.at_first == 6);
    CHECK(r.ev[6].op == REC_FREE && r.ev[6].ptr == items);
    CHECK(r.ev[7].op == REC_FREE && r.ev[7].ptr == st);
    CHECK(r.live == 0 && r.bytes == 0);
}

/* A handle in the caller's memory: the same MEM traffic, reusable after
 * pyarena_free (which leaves it alone: freeing it would crash here). */
static void test_handle_at(void)
{
    static _Alignas(16) unsigned char handle[1024];
    CHECK(pyarena_handle_size() <= sizeof handle);
    memset(handle, 0xa5, sizeof handle); /* not zeroed: new_at must not care */
    for (int round = 0; round < 2; round++) {
        rec_t r;
        alloc_t mem = rec_alloc(&r);
        pyarena_t *a = pyarena_new_at(handle, &mem, NULL, NULL, NULL);
        CHECK(a == (pyarena_t *)handle && r.nev == 2);
        CHECK(pyarena_malloc(a, 100) != NULL && pyarena_is_valid(a));
        pyarena_free(a);
        CHECK(r.live == 0 && r.bytes == 0);
    }
    rec_t r;
    alloc_t mem = rec_alloc(&r);
    pyarena_params_t bad;
    pyarena_params_default(&bad);
    bad.align = 3; /* not a power of two */
    CHECK(pyarena_new_at(handle, &mem, &bad, NULL, NULL) == NULL && r.nev == 0);
    CHECK(pyarena_new_at(NULL, &mem, NULL, NULL, NULL) == NULL);
}

static void test_rounding_and_blocks(void)
{
    rec_t r;
    alloc_t mem = rec_alloc(&r);
    pyarena_t *a = pyarena_new(&mem, NULL, NULL, NULL);
    char *p1 = pyarena_malloc(a, 1);
    char *p2 = pyarena_malloc(a, 7);
    char *p3 = pyarena_malloc(a, 8);
    char *p4 = pyarena_malloc(a, 9);
    char *p5 = pyarena_malloc(a, 0);
    char *p6 = pyarena_malloc(a, 0);
    CHECK(p2 - p1 == 8 && p3 - p2 == 8 && p4 - p3 == 8 && p5 - p4 == 16);
    /* Size 0 is a valid pointer, not necessarily unique (as CPython). */
    CHECK(p5 != NULL && p6 == p5);
    CHECK((uintptr_t)p1 % 8 == 0);
    /* The first byte handed out is right after the 32-byte header. */
    CHECK(p1 == (char *)r.ev[1].ptr + HDR);
    pyarena_stats_t s;
    pyarena_stats(a, &s);
    CHECK(s.used == 40 && s.requested == 25 && s.blocks == 1 && s.abandoned == 0);
    /* Fill the block to the last byte: no new block yet. */
    char *last = pyarena_malloc(a, 8192 - 40);
    CHECK(last == p1 + 40);
    CHECK(r.nev == 2);
    /* One more byte: a new 8192 block; nothing abandoned (the old was full). */
    char *q = pyarena_malloc(a, 1);
    CHECK(r.nev == 3 && r.ev[2].size == HDR + 8192);
    CHECK(q == (char *)r.ev[2].ptr + HDR);
    /* 8000 more fit; 200 do not (only 184 left): the rest is abandoned. */
    CHECK(pyarena_malloc(a, 8000) == q + 8);
    char *w = pyarena_malloc(a, 200);
    CHECK(r.nev == 4 && r.ev[3].size == HDR + 8192 && w == (char *)r.ev[3].ptr + HDR);
    pyarena_stats(a, &s);
    CHECK(s.abandoned == 8192 - 8008);
    /* Bigger than a block: a one-off block of the rounded size, which
     * becomes current although the old one had room. */
    CHECK(pyarena_malloc(a, 10001) != NULL);
    CHECK(r.nev == 5 && r.ev[4].size == HDR + 10008);
    CHECK(pyarena_malloc(a, 8) != NULL);
    CHECK(r.nev == 6 && r.ev[5].size == HDR + 8192);
    pyarena_stats(a, &s);
    CHECK(s.blocks == 5);
    CHECK(s.abandoned == (8192 - 8008) + (8192 - 200));
    CHECK(s.reserved == 4 * 8192 + 10008);
    CHECK(s.block_bytes == s.reserved + 5 * HDR);
    CHECK(s.mem_bytes == r.bytes);
    CHECK(pyarena_is_valid(a));
    pyarena_free(a);
    CHECK(r.live == 0);
}

static void test_list_growth(void)
{
    rec_t r;
    alloc_t mem = rec_alloc(&r);
    pyarena_t *a = pyarena_new(&mem, NULL, NULL, NULL);
    static int objs[100];
    /* A Python list's capacities on append: 4, 8, 16, 24, 32, 40, 52, 64,
     * 76, 92, 108 (n + n/8 + 6, rounded down to a multiple of 4). */
    static const size_t caps[] = {4, 8, 16, 24, 32, 40, 52, 64, 76, 92, 108};
    size_t ncap = 0;
    for (int i = 0; i < 100; i++) {
        size_t before = r.nev;
        CHECK(pyarena_own(a, &objs[i]) == 0);
        if (r.nev != before) {
            CHECKF(ncap < 11 && r.ev[before].size == caps[ncap] * sizeof(void *),
                   "growth %zu: %zu bytes", ncap, r.ev[before].size);
            CHECK(r.ev[before].op == (ncap == 0 ? REC_MALLOC : REC_REALLOC));
            ncap++;
        }
    }
    CHECK(ncap == 11);
    pyarena_stats_t s;
    pyarena_stats(a, &s);
    CHECK(s.objects == 100 && s.list_bytes == 108 * sizeof(void *));
    CHECK(s.mem_bytes == r.bytes);
    pyarena_free(a);
    CHECK(r.live == 0);
}

static void test_doubling(void)
{
    rec_t r;
    alloc_t mem = rec_alloc(&r);
    pyarena_params_t p;
    pyarena_params_default(&p);
    p.growth = PYARENA_DOUBLING;
    pyarena_t *a = pyarena_new(&mem, &p, NULL, NULL);
    for (int i = 0; i < 200; i++)
        CHECK(pyarena_malloc(a, 1000) != NULL);
    /* 200 * 1000 bytes: blocks of 8K, 16K, 32K, 64K, 128K. */
    CHECK(r.nev == 6);
    for (size_t i = 1; i < r.nev; i++)
        CHECK(r.ev[i].size == HDR + ((size_t)8192 << (i - 1)));
    /* A request bigger than the next regular block gets its own size; the
     * doubling goes on from there. */
    pyarena_free(a);
    a = pyarena_new(&mem, &p, NULL, NULL);
    size_t n0 = r.nev;
    CHECK(pyarena_malloc(a, 100000) != NULL);
    CHECK(pyarena_malloc(a, 1) != NULL);
    CHECK(r.nev == n0 + 2 && r.ev[n0].size == HDR + 100000 && r.ev[n0 + 1].size == HDR + 32768);
    CHECK(pyarena_is_valid(a));
    pyarena_free(a);
    CHECK(r.live == 0);
}

/* ---- failure paths ------------------------------------------------------- */

static void test_failures(void)
{
    rec_t r;
    alloc_t mem = rec_alloc(&r);
    /* MEM fails at the struct, then at the first block: NULL, no leak. */
    for (size_t k = 1; k <= 2; k++) {
        r.fail_at = k;
        r.calls = 0;
        CHECK(pyarena_new(&mem, NULL, NULL, NULL) == NULL);
        CHECK(r.live == 0);
    }
    CHECK(r.live == 0);

    r.fail_at = 3; /* struct and first block, then nothing */
    r.calls = 0;
    pyarena_t *a = pyarena_new(&mem, NULL, NULL, NULL);
    CHECK(a != NULL);
    CHECK(pyarena_malloc(a, 100) != NULL);
    CHECK(pyarena_malloc(a, 9000) == NULL); /* needs a block: MEM fails */
    CHECK(pyarena_is_valid(a));
    CHECK(pyarena_malloc(a, 100) != NULL); /* still usable */
    int obj;
    CHECK(pyarena_own(a, &obj) == -1);
    pyarena_stats_t s;
    pyarena_stats(a, &s);
    CHECK(s.objects == 0 && s.used == 208 && s.requested == 200);
    /* Sizes whose rounding or block would overflow size_t. */
    CHECK(pyarena_malloc(a, SIZE_MAX) == NULL);
    CHECK(pyarena_malloc(a, SIZE_MAX - 7) == NULL);
    CHECK(pyarena_malloc(a, SIZE_MAX - 64) == NULL);
    CHECK(pyarena_is_valid(a));
    pyarena_free(a);
    CHECK(r.live == 0);

    /* Invalid parameters. */
    r.fail_at = 0;
    pyarena_params_t p;
    pyarena_params_default(&p);
    p.align = 12;
    CHECK(pyarena_new(&mem, &p, NULL, NULL) == NULL);
    CHECK(r.live == 0);
    CHECK(pyarena_new(NULL, NULL, NULL, NULL) == NULL);
}

/* MEM returning memory 8- but not 16-aligned, with align=16: block data
 * gets a pad, a one-off block is asked with room for it, pointers stay
 * aligned.  Memory not even aligned for a pointer is refused. */
static void test_misaligned_mem(void)
{
    rec_t r;
    alloc_t mem = rec_alloc(&r);
    r.skew = 8;
    pyarena_params_t p;
    pyarena_params_default(&p);
    p.align = 16;
    pyarena_t *a = pyarena_new(&mem, &p, NULL, NULL);
    CHECK(a != NULL);
    char *q = pyarena_malloc(a, 8);
    CHECK((uintptr_t)q % 16 == 0 && q == (char *)r.ev[1].ptr + HDR + 8);
    char *big = pyarena_malloc(a, 16000);
    CHECK(big != NULL && (uintptr_t)big % 16 == 0);
    /* Asked 16000 + header, got a pad of 8: asked again with 15 to spare. */
    CHECK(r.nev == 5 && r.ev[2].size == HDR + 16000 && r.ev[3].op == REC_FREE &&
          r.ev[4].size == HDR + 16015);
    memset(big, 1, 16000);
    CHECK(pyarena_is_valid(a));
    pyarena_stats_t s;
    pyarena_stats(a, &s);
    CHECK(s.padding == 16 && s.used == 16016);
    pyarena_free(a);
    CHECK(r.live == 0);

    r.skew = 4;
    CHECK(pyarena_new(&mem, NULL, NULL, NULL) == NULL);
    CHECK(r.live == 0);
}

/* ---- parameters ---------------------------------------------------------- */

static void test_params(void)
{
    char err[256];
    alloc_spec_t spec;
    pyarena_params_t p;
    CHECK(alloc_spec_parse(&spec, "arena:block=16K:align=16:growth=doubling", err, sizeof err) ==
          0);
    pyarena_params_default(&p);
    CHECK(pyarena_params_parse(&p, spec.params, spec.nparams, err, sizeof err) == 0);
    CHECK(p.block == 16384 && p.align == 16 && p.growth == PYARENA_DOUBLING);
    CHECK(alloc_params_unused(spec.params, spec.nparams) == NULL);

    CHECK(alloc_spec_parse(&spec, "arena:align=12", err, sizeof err) == 0);
    pyarena_params_default(&p);
    CHECK(pyarena_params_parse(&p, spec.params, spec.nparams, err, sizeof err) == -1);
    CHECK(strstr(err, "power of two") != NULL);

    CHECK(alloc_spec_parse(&spec, "arena:growth=triple", err, sizeof err) == 0);
    pyarena_params_default(&p);
    CHECK(pyarena_params_parse(&p, spec.params, spec.nparams, err, sizeof err) == -1);
    CHECK(strstr(err, "doubling") != NULL);

    CHECK(alloc_spec_parse(&spec, "arena:block=0", err, sizeof err) == 0);
    pyarena_params_default(&p);
    CHECK(pyarena_params_parse(&p, spec.params, spec.nparams, err, sizeof err) == -1);

    /* Keys it does not know are left for the caller to reject. */
    CHECK(alloc_spec_parse(&spec, "arena:blok=8K", err, sizeof err) == 0);
    pyarena_params_default(&p);
    CHECK(pyarena_params_parse(&p, spec.params, spec.nparams, err, sizeof err) == 0);
    CHECK(alloc_params_unused(spec.params, spec.nparams) != NULL);

    /* A small block with a big alignment still works. */
    rec_t r;
    alloc_t mem = rec_alloc(&r);
    pyarena_params_default(&p);
    p.block = 100;
    p.align = 64;
    pyarena_t *a = pyarena_new(&mem, &p, NULL, NULL);
    CHECK(a != NULL);
    for (int i = 0; i < 50; i++) {
        char *q = pyarena_malloc(a, (size_t)i * 3);
        CHECK(q != NULL && (uintptr_t)q % 64 == 0);
    }
    CHECK(pyarena_is_valid(a));
    pyarena_free(a);
    CHECK(r.live == 0);
}

/* ---- seeded stress against a model -------------------------------------- */

/* xorshift64*: deterministic for a given seed. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* Mostly small sizes, as the compiler asks for, some beyond a block. */
static size_t stress_size(uint64_t *rng)
{
    uint64_t k = rng_next(rng) % 100;
    if (k < 70) return rng_next(rng) % 64;
    if (k < 95) return rng_next(rng) % 2000;
    return rng_next(rng) % 30000;
}

typedef struct {
    unsigned char *p;
    size_t n;
    unsigned char tag;
} piece_t;

static void test_stress(uint64_t seed, int growth)
{
    uint64_t rng = seed;
    rec_t r;
    alloc_t mem = rec_alloc(&r);
    pyarena_params_t p;
    pyarena_params_default(&p);
    p.growth = growth;
    released_t rl = {0};
    pyarena_t *a = pyarena_new(&mem, &p, release_note, &rl);
    static piece_t pieces[3000];
    static int objs[200];
    size_t npieces = 0, nobjs = 0;
    uint64_t used = 0, requested = 0;
    for (int i = 0; i < 3000; i++) {
        if (rng_next(&rng) % 20 == 0 && nobjs < 200) {
            CHECK(pyarena_own(a, &objs[nobjs]) == 0);
            nobjs++;
            continue;
        }
        size_t n = stress_size(&rng);
        unsigned char *q = pyarena_malloc(a, n);
        CHECK(q != NULL && (uintptr_t)q % 8 == 0);
        if (!q) break;
        memset(q, (int)(i & 0xff), n);
        pieces[npieces++] = (piece_t){q, n, (unsigned char)(i & 0xff)};
        used += (n + 7) & ~(size_t)7;
        requested += n;
    }
    /* Every piece still holds what was written: no two overlap. */
    int intact = 1;
    for (size_t i = 0; i < npieces; i++)
        for (size_t j = 0; j < pieces[i].n; j++)
            if (pieces[i].p[j] != pieces[i].tag) intact = 0;
    CHECK(intact);
    pyarena_stats_t s;
    pyarena_stats(a, &s);
    CHECK(s.used == used && s.requested == requested && s.objects == nobjs);
    CHECK(s.mem_bytes == r.bytes && s.blocks + 1 + (nobjs > 0) == r.live);
    CHECK(s.reserved >= s.used + s.abandoned);
    CHECK(pyarena_is_valid(a));
    pyarena_free(a);
    CHECK(rl.n == nobjs && r.live == 0 && r.bytes == 0);
}

int main(void)
{
    test_new_and_free_order();
    test_handle_at();
    test_rounding_and_blocks();
    test_list_growth();
    test_doubling();
    test_failures();
    test_misaligned_mem();
    test_params();
    for (uint64_t seed = 1; seed <= 8; seed++) {
        test_stress(seed * 0x9e3779b97f4a7c15ULL, PYARENA_FIXED);
        test_stress(seed * 0x9e3779b97f4a7c15ULL, PYARENA_DOUBLING);
    }
    return check_done();
}
