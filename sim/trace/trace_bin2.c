/* trace_bin2.c: arenalab's binary trace format, versions 2 and 3
 * (sim/trace/TRACE-FORMAT.md): the records of version 1 split column-wise
 * into blocks of at most B2_BLOCK_RECORDS records, each block holding four
 * streams (tags, sizes, ids/slots, extras), each stored raw, as one zstd
 * frame or (version 3) as one LZ4 block.  The reader decompresses a
 * block's streams into buffers it keeps, then decodes them in one tight
 * loop; the writer gathers a block and compresses its streams with LZ4
 * when that saves enough (LZ4 decodes several times faster than zstd,
 * whose cost per decoded byte was most of a read).
 *
 * Invariants of the reader: nothing in the file is trusted.  A block's
 * stream lengths are bounded before anything is allocated (the tags stream
 * holds exactly one byte per record, the sizes and ids streams at most
 * B2_FIELD_MAX bytes per record, the extras at most B2_X_MAX), a zstd
 * frame never decompresses past its stated length, and the streams must be
 * used up exactly when the block's last record is decoded.  Every stream
 * in use is followed by at least B2_SLACK readable bytes, so the fast loop
 * reads varints without bounds checks as long as a stream's pointer is at
 * most at its end when a record starts reading that stream (a record reads
 * at most B2_FIELD_MAX bytes of a stream).  A block that runs past the end
 * of the file means the file was cut short: the events of the blocks
 * before it are valid.
 * Semantic errors reject one event, as in version 1. */
#include "sim/trace/internal/trace_impl.h"
#include "sim/trace/internal/trace_bin_dec.h"
#include "sim/trace/internal/trace_lz4.h"
#include "sim/trace/internal/trace_mem.h"
#include "sim/trace/trace_zst.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

/* Version 3 is version 2 plus the LZ4 codec: a writer that may use LZ4
 * writes 3 (even when every stream of the file came out raw), one that
 * stores every stream raw by design (a .zst output, TRACE_W_RAW, no
 * liblz4) writes 2, so that older readers read it. */
#define B2_VERSION    2
#define B2_VERSION_LZ 3

/* Records per block: the writer's, and the most a reader accepts. */
#define B2_BLOCK_RECORDS 65536
/* Most bytes one record takes in the sizes or the ids stream: two varints
 * of at most 10 bytes. */
#define B2_FIELD_MAX 20
/* Most bytes of a block's extras stream; the writer ends a block once it
 * holds B2_X_FLUSH (a marker takes at most 65535 + 255 + 6 bytes). */
#define B2_X_MAX   ((size_t)1 << 21)
#define B2_X_FLUSH ((size_t)1 << 20)
/* Readable bytes after every stream: a record's reads from the slack
 * (B2_FIELD_MAX, then an 8-byte word read by bin_varint8), rounded up. */
#define B2_SLACK 64
/* LZ4HC level of the streams of a plain .atr (a .zst output is
 * compressed whole, its streams stay raw).  Its blocks are 5-15 % smaller
 * than level 2's and decode faster (fewer, longer matches: a tags stream
 * at 5-15 GB/s); it writes at 10-40 MB/s, on the streams LZ4's fast mode
 * shows to be worth it (b2_flush). */
#define B2_LZ4_LEVEL 6
/* A stream is stored compressed only when that at least halves it (and it
 * has B2_PACK_MIN bytes): decompressing costs time on every read.  A
 * stream that LZ4 shrinks less (nearly random sizes or slots: many short
 * matches) decodes at about 2 GB/s, half a nanosecond an event for a
 * stream of one byte an event, a fifth of a fast trace's reading. */
#define B2_PACK_MIN 64
/* The header's slot counts preallocate at most this many slots per byte
 * of records (a compressed block may hold many events per byte). */
#define B2_SLOTS_PER_BYTE 64

enum { B2_T, B2_S, B2_I, B2_X, B2_NSTREAMS };

/* `a` `c` tag bit 6 (versions 2 and 3, never 1): the new block's id is the slot it
 * takes (a recorder that uses its own ids as slots), not stored.  Never
 * with NEXT (bit 5). */
#define B2_B_SLOT_ID 2
enum { B2_RAW = 0, B2_ZSTD = 1, B2_LZ4 = 2 };

static const char *const b2_stream_name[B2_NSTREAMS] = {"tags", "sizes", "ids", "extras"};

/* ---- reading ---------------------------------------------------------------- */

static int b2_corrupt(trace_reader_t *r, const char *what)
{
    /* a file cut while mapped shows zeros to the end of its last page: a
     * block that is no block then, say what happened */
    struct stat st;
    if (r->bin.is_path && stat(r->path, &st) == 0 && (uint64_t)st.st_size != r->bin.size)
        return _trace_fail(r->err, TRACE_EIO,
                           "%s: event %llu: the file changed size while it was being read "
                           "(%llu bytes, %zu when opened)",
                           r->path, (unsigned long long)r->bin.nrec, (unsigned long long)st.st_size,
                           r->bin.size);
    return _trace_fail(r->err, TRACE_ECORRUPT, "%s: event %llu: %s", r->path,
                       (unsigned long long)r->bin.nrec, what);
}

static int b2_rewind(trace_reader_t *r)
{
    trace_bin2_t *z = &r->bin2;
    _tbin_rewind(r);
    z->block = 0;
    /* no block: every stream empty, the next record loads one */
    static const uint8_t none[B2_SLACK];
    z->tp = z->te = z->sp = z->se = z->ip = z->ie = z->xp = z->xe = none;
    return 0;
}

static int b2_open(trace_reader_t *r)
{
    int rc = _trace_bin_header(r, 1u << B2_VERSION | 1u << B2_VERSION_LZ, B2_SLOTS_PER_BYTE);
    return rc < 0 ? rc : b2_rewind(r);
}

static void b2_close(trace_reader_t *r)
{
    trace_bin2_t *z = &r->bin2;
    for (int k = 0; k < B2_NSTREAMS; k++)
        tmem_free(r->heap, z->buf[k]);
    tzst_buf_close(z->zst);
    if (r->bin.mapped) munmap((void *)r->bin.base, r->bin.size);
}

/* Drops the pages of the blocks already decoded from the RSS. */
static void b2_advise(trace_bin_t *b, const uint8_t *upto)
{
    size_t pos = (size_t)(upto - b->base);
    if (b->mapped && pos - b->advised >= BIN_ADVISE_STEP) bin_advise_now(b, pos);
}

/* libzstd's contexts from a reader's private heap (TRACE_R_PRIVATE_HEAP). */
static void *b2_heap_alloc(void *heap, size_t n)
{
    return tmem_malloc(heap, n);
}

static void b2_heap_free(void *heap, void *p)
{
    tmem_free(heap, p);
}

/* Room for N bytes and the slack in buffer K (from the reader's heap).
 * 0 or TRACE_ENOMEM. */
static int b2_room(trace_reader_t *r, int k, size_t n)
{
    trace_bin2_t *z = &r->bin2;
    if (z->cap[k] >= n + B2_SLACK) return 0;
    size_t cap = n + B2_SLACK > 4096 ? n + B2_SLACK : 4096;
    tmem_free(r->heap, z->buf[k]);
    if (!(z->buf[k] = tmem_malloc(r->heap, cap))) {
        z->cap[k] = 0;
        return _trace_fail(r->err, TRACE_ENOMEM, "%s: out of memory", r->path);
    }
    z->cap[k] = cap;
    return 0;
}

/* The end record (block count 0) at P: checks it, and the header's counts.
 * 0 (done) or a negative code. */
static int b2_end(trace_reader_t *r, const uint8_t *p, const uint8_t *e)
{
    trace_bin_t *b = &r->bin;
    char what[200];
    const char *bad;
    uint64_t v;
    int rc = bin_varint(&p, e, &v);
    if (rc != BIN_OK) return rc == BIN_SHORT ? bin_cut(r) : b2_corrupt(r, "bad end record");
    if ((bad = _tbin_end_problem(r, v, p, e, what, sizeof what))) return b2_corrupt(r, bad);
    b->done = 1;
    b->p = p;
    return 0;
}

/* Loads the block at r->bin.p (the current one is used up): 1, 0 at the
 * end (or cut short), or a negative code. */
static int b2_load(trace_reader_t *r)
{
    trace_bin_t *b = &r->bin;
    trace_bin2_t *z = &r->bin2;
    const uint8_t *p = b->p, *const e = b->base + b->size;
    uint64_t nrec, raw[B2_NSTREAMS], stored[B2_NSTREAMS];
    unsigned codec[B2_NSTREAMS];
    char what[160];
    int rc;
    b2_advise(b, p);
    if ((rc = bin_varint(&p, e, &nrec)) != BIN_OK)
        return rc == BIN_SHORT ? bin_cut(r) : b2_corrupt(r, "bad block header");
    if (nrec == 0) return b2_end(r, p, e);
    if (nrec > B2_BLOCK_RECORDS) {
        snprintf(what, sizeof what, "block %llu: %llu records (at most %d)",
                 (unsigned long long)z->block, (unsigned long long)nrec, B2_BLOCK_RECORDS);
        return b2_corrupt(r, what);
    }
    const uint64_t limit[B2_NSTREAMS] = {nrec, nrec * B2_FIELD_MAX, nrec * B2_FIELD_MAX, B2_X_MAX};
    for (int k = 0; k < B2_NSTREAMS; k++) {
        if (p == e) return bin_cut(r);
        codec[k] = *p++;
        if ((rc = bin_varint(&p, e, &raw[k])) != BIN_OK) goto bad_varint;
        stored[k] = raw[k];
        if (codec[k] > (b->version == B2_VERSION_LZ ? B2_LZ4 : B2_ZSTD)) {
            snprintf(what, sizeof what, "block %llu: %s stream: unknown codec %u",
                     (unsigned long long)z->block, b2_stream_name[k], codec[k]);
            return b2_corrupt(r, what);
        }
        if (codec[k] != B2_RAW && (rc = bin_varint(&p, e, &stored[k])) != BIN_OK) goto bad_varint;
        if (k == B2_T ? raw[k] != nrec : raw[k] > limit[k]) {
            snprintf(what, sizeof what, "block %llu: %s stream of %llu bytes for %llu records",
                     (unsigned long long)z->block, b2_stream_name[k], (unsigned long long)raw[k],
                     (unsigned long long)nrec);
            return b2_corrupt(r, what);
        }
    }
    const uint8_t *beg[B2_NSTREAMS], *end[B2_NSTREAMS];
    for (int k = 0; k < B2_NSTREAMS; k++) {
        if (stored[k] > (uint64_t)(e - p)) return bin_cut(r);
        size_t n = (size_t)raw[k];
        if (codec[k] == B2_RAW && (size_t)(e - p) - n >= B2_SLACK) {
            beg[k] = p; /* the file's bytes that follow are the slack */
        } else {
            if ((rc = b2_room(r, k, n)) < 0) return rc;
            if (codec[k] == B2_RAW) {
                memcpy(z->buf[k], p, n);
            } else if (codec[k] == B2_LZ4) {
                if (!z->lz4.decompress_safe) {
                    char err[TRACE_ERRLEN - 32];
                    if (tlz4_load(&z->lz4, 1, r->path, err, sizeof err) < 0)
                        return _trace_fail(r->err, TRACE_EIO, "%s", err);
                }
                if (tlz4_decompress(&z->lz4, z->buf[k], n, p, (size_t)stored[k]) != (long)n) {
                    snprintf(what, sizeof what, "block %llu: %s stream: bad LZ4 data",
                             (unsigned long long)z->block, b2_stream_name[k]);
                    return b2_corrupt(r, what);
                }
            } else {
                if (!z->zst) {
                    /* from the reader's heap, like everything it keeps */
                    char err[TRACE_ERRLEN - 32];
                    tzst_mem_t mem = {b2_heap_alloc, b2_heap_free, r->heap};
                    if (!(z->zst = tzst_buf_open(r->path, r->heap ? &mem : NULL, err, sizeof err)))
                        return _trace_fail(r->err, TRACE_EIO, "%s", err);
                }
                long got = tzst_buf_decompress(z->zst, z->buf[k], n, p, (size_t)stored[k]);
                if (got != (long)n) {
                    snprintf(what, sizeof what, "block %llu: %s stream: bad zstd data",
                             (unsigned long long)z->block, b2_stream_name[k]);
                    return b2_corrupt(r, what);
                }
            }
            memset(z->buf[k] + n, 0, B2_SLACK);
            beg[k] = z->buf[k];
        }
        end[k] = beg[k] + n;
        p += stored[k];
    }
    z->tp = beg[B2_T], z->te = end[B2_T];
    z->sp = beg[B2_S], z->se = end[B2_S];
    z->ip = beg[B2_I], z->ie = end[B2_I];
    z->xp = beg[B2_X], z->xe = end[B2_X];
    z->block++;
    b->p = p;
    return 1;
bad_varint:
    return rc == BIN_SHORT ? bin_cut(r) : b2_corrupt(r, "bad block header");
}

/* The block's records are all decoded: its streams must be used up. */
static int b2_block_done(trace_reader_t *r)
{
    trace_bin2_t *z = &r->bin2;
    const char *which = z->sp != z->se   ? "sizes"
                        : z->ip != z->ie ? "ids"
                        : z->xp != z->xe ? "extras"
                                         : NULL;
    if (!which) return 0;
    char what[160];
    snprintf(what, sizeof what, "block %llu: the %s stream does not match its records",
             (unsigned long long)z->block - 1, which);
    return b2_corrupt(r, what);
}

/* A varint of a stream ending at E (checked: a stream that ends inside
 * it is corrupt, the block was whole).  0 or a negative code. */
static int b2_get(trace_reader_t *r, const uint8_t **pp, const uint8_t *e, uint64_t *v)
{
    /* the fast loop may leave a pointer past its stream's end (it stops
     * at the next record): nothing is read there */
    int rc = *pp < e ? bin_varint(pp, e, v) : BIN_SHORT;
    if (rc == BIN_OK) return 0;
    return b2_corrupt(r, rc == BIN_SHORT ? "a stream ends inside a record"
                                         : "varint longer than 64 bits");
}

/* A THREAD or MARKER record, tag taken.  0 or a negative code. */
static int b2_special(trace_reader_t *r, unsigned tag)
{
    trace_bin2_t *z = &r->bin2;
    uint64_t v, kl, vl;
    int rc;
    if (tag == TBENC_TAG_THREAD) {
        if ((rc = b2_get(r, &z->xp, z->xe, &v)) < 0) return rc;
        if (v > UINT32_MAX) return b2_corrupt(r, "thread id out of range");
        r->bin.st.thread = (uint32_t)v;
        return 0;
    }
    if (tag != TBENC_TAG_MARKER) {
        char what[64];
        snprintf(what, sizeof what, "unknown record tag 0x%02x", tag);
        return b2_corrupt(r, what);
    }
    const uint8_t *k, *val;
    if ((rc = b2_get(r, &z->xp, z->xe, &kl)) < 0) return rc;
    if (kl > (uint64_t)(z->xe - z->xp)) return b2_corrupt(r, "bad marker record");
    k = z->xp;
    z->xp += kl;
    if ((rc = b2_get(r, &z->xp, z->xe, &vl)) < 0) return rc;
    if (vl > (uint64_t)(z->xe - z->xp)) return b2_corrupt(r, "bad marker record");
    val = z->xp;
    z->xp += vl;
    if ((rc = _tbin_marker_add(r, k, kl, val, vl)) != 0)
        return rc > 0 ? b2_corrupt(r, "bad marker record") : rc;
    return 0;
}

/* The careful path, as bin_step of version 1: the records up to and
 * including the next event, every read checked, every event applied by
 * live_apply_slots.  It takes what the fast loop leaves (special records,
 * `n` `x`, anything unusual, block boundaries, every event in strict
 * mode) and alone reports errors.  1 with *EV, 0 at the end, or a code. */
static int b2_step(trace_reader_t *r, trace_event_t *ev)
{
    trace_bin_t *b = &r->bin;
    trace_bin2_t *z = &r->bin2;
    tbenc_t *st = &b->st;
    const char *bad;
    int rc;
#define B2_GET(pp, e, var)                                                                         \
    do {                                                                                           \
        if ((rc = b2_get(r, &(pp), e, &(var))) < 0) return rc;                                     \
    } while (0)
    for (;;) {
        if (b->done) return 0;
        if (z->tp == z->te) {
            if ((rc = b2_block_done(r)) < 0) return rc;
            if ((rc = b2_load(r)) <= 0) return rc;
            continue;
        }
        /* the records of a block are whole: work on copies, so that a
         * rejected event leaves the streams past it */
        unsigned tag = *z->tp++;
        unsigned op = tag & 7, dom = (tag >> 3) & 3, bits = tag >> 5;
        uint64_t v;
        uint32_t id;
        if (dom == TBENC_SPECIAL) {
            if ((rc = b2_special(r, tag)) < 0) return rc;
            continue;
        }
        if (op > TRACE_FREE && dom != TRACE_MEM) {
            bad = "arena event with a domain other than mem";
            goto corrupt;
        }
        *ev = (trace_event_t){
            .op = (uint8_t)op, .domain = (uint8_t)dom, .where = b->nrec, .thread = st->thread};
        switch ((trace_op_t)op) {
        case TRACE_ALLOC:
        case TRACE_CALLOC:
        case TRACE_ARENA_NEW:
            if (bits & ~(unsigned)(op == TRACE_ARENA_NEW ? TBENC_B_NEXT_ID
                                                         : TBENC_B_NEXT_ID | B2_B_SLOT_ID) ||
                bits == (TBENC_B_NEXT_ID | B2_B_SLOT_ID))
                goto reserved;
            id = (op == TRACE_ARENA_NEW ? st->prev_arena : st->prev_id) + 1u;
            if (bits & B2_B_SLOT_ID) {
                id = live_next_slot(&r->live);
            } else if (!(bits & TBENC_B_NEXT_ID)) {
                B2_GET(z->ip, z->ie, v);
                if (v > UINT32_MAX) {
                    bad = "id delta out of range";
                    goto corrupt;
                }
                id += (uint32_t)tbenc_unzigzag(v);
            }
            if (op == TRACE_ARENA_NEW) {
                ev->arena = id;
                if ((rc = bin_take(r, ev)) < 0) return rc;
                break;
            }
            if (op == TRACE_CALLOC) B2_GET(z->sp, z->se, ev->nmemb);
            B2_GET(z->sp, z->se, ev->size);
            if (ev->size > TRACE_MAX_SIZE || ev->nmemb > TRACE_MAX_SIZE) goto too_big;
            ev->id = id;
            if ((rc = bin_take(r, ev)) < 0) return rc;
            break;
        case TRACE_REALLOC:
        case TRACE_FREE:
        case TRACE_ARENA_OWN: {
            uint64_t zz = bits;
            if (bits == TBENC_SLOT_ESC) B2_GET(z->ip, z->ie, zz);
            uint64_t s = (uint64_t)st->ref_slot + (uint64_t)tbenc_unzigzag(zz);
            ev->slot = s < UINT32_MAX ? (uint32_t)s : LIVE_NONE;
            if (op == TRACE_REALLOC) {
                B2_GET(z->sp, z->se, ev->size);
                if (ev->size > TRACE_MAX_SIZE) goto too_big;
            }
            if (op == TRACE_ARENA_OWN) {
                B2_GET(z->ip, z->ie, v);
                ev->aslot = v < UINT32_MAX ? (uint32_t)v : LIVE_NONE;
            }
            if ((rc = bin_take(r, ev)) < 0) return rc;
            break;
        }
        case TRACE_ARENA_MALLOC:
        case TRACE_ARENA_FREE:
            if (bits & ~(unsigned)TBENC_B_SAME_AREA) goto reserved;
            ev->aslot = st->ref_aslot;
            if (!(bits & TBENC_B_SAME_AREA)) {
                B2_GET(z->ip, z->ie, v);
                ev->aslot = v < UINT32_MAX ? (uint32_t)v : LIVE_NONE;
            }
            if (op == TRACE_ARENA_MALLOC) {
                B2_GET(z->sp, z->se, ev->size);
                if (ev->size > TRACE_MAX_SIZE) goto too_big;
            }
            if ((rc = bin_take(r, ev)) < 0) return rc;
            break;
        case TRACE_NOPS:
            break;
        }
        return 1;
    reserved:
        bad = "reserved bits set";
        goto corrupt;
    too_big:
        bad = "size above 2^48";
    corrupt:
        return b2_corrupt(r, bad);
    }
#undef B2_GET
}

/* ---- the fast loop ------------------------------------------------------------
 *
 * What a replay runs per event.  In fast mode (no id hashes) it decodes
 * `a c r f m o` inline, like bin_run of version 1, over the streams of the
 * current block; in strict mode `r m o` only (they do not touch the id
 * hashes).  The tags stream bounds the loop (one byte a record), and the
 * sizes and ids streams are read without checks while their pointers have
 * not passed their ends (B2_SLACK behind them); b2_block_done catches a
 * stream that was too short or too long.  Anything unusual stops the loop
 * before its record, and b2_step decides. */

/* The slot an r f o names: the delta in the tag's bits 5-7, or an escape
 * varint in the ids stream (ending at IE); UINT64_MAX when the escape is
 * not there. */
static inline uint64_t b2_fast_slot(const uint8_t **ip, const uint8_t *ie, unsigned tag,
                                    uint32_t ref)
{
    int64_t d = bin_tab.near[tag];
    if (tag >= TBENC_SLOT_ESC << 5) {
        uint64_t zz;
        if (*ip > ie || !bin_fast_varint(ip, &zz, UINT64_MAX)) return UINT64_MAX;
        d = tbenc_unzigzag(zz);
    }
    return (uint64_t)ref + (uint64_t)d;
}

/* Eight `m` events into O[0..7]: sizes the bytes of SW (low byte first),
 * `where` from WHERE on, the arena's id and slot IDAS (id | slot << 32),
 * last word TAIL.  Each event is three 16-byte stores (size and nmemb,
 * where and id/slot, the rest: the same for all eight), half the stores
 * of bin_emit. */
static inline void b2_emit_m8(trace_event_t *o, uint64_t sw, uint64_t where, uint64_t idas,
                              uint64_t tail)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    typedef uint64_t u64x2 __attribute__((vector_size(16)));
    const u64x2 hi = {idas, tail};
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        const u64x2 lo = {sw >> 8 * i & 0xff, 0}, mid = {where + (uint64_t)i, 0};
        char *d = (char *)(o + i);
        memcpy(d, &lo, 16);
        memcpy(d + 16, &mid, 16);
        memcpy(d + 32, &hi, 16);
    }
#else
    for (int i = 0; i < 8; i++)
        bin_emit(o + i, sw >> 8 * i & 0xff, 0, where + (uint64_t)i, 0, 0, (uint32_t)idas,
                 (uint32_t)(idas >> 32), tail);
#endif
}

/* Where a run of `m` stands: the next tag and size, the next event's
 * number. */
typedef struct {
    const uint8_t *tp, *sp;
    uint64_t where;
} b2_mrun_t;

/* The `m` SAME records that follow an `m` (event O, the last one
 * written), of the arena whose id and slot are IDAS (id | slot << 32), at
 * most up to event LIM - 1; SE ends the sizes stream.  Returns the last
 * event written.  No dispatch, no arena check: eight records at a time (a
 * word of tags, a word of sizes) while there is room for eight events,
 * taking those up to the first record that is not an `m` SAME with a
 * one-byte size (the events written past them are scratch inside O ..
 * LIM, overwritten by the next ones); a record with a longer size is
 * taken alone.  Out of line: a run is many events, and inlined its
 * registers would be taken from the other records' paths. */
__attribute__((noinline)) static trace_event_t *b2_m_run(b2_mrun_t *run, trace_event_t *o,
                                                         trace_event_t *const lim,
                                                         const uint8_t *const se, uint64_t idas,
                                                         uint64_t mtail)
{
    const uint8_t *tp = run->tp, *sp = run->sp;
    uint64_t where = run->where, size;
    for (;;) {
        if (o + 8 < lim && sp + 8 <= se) {
            uint64_t tw, sw;
            memcpy(&tw, tp, 8);
            memcpy(&sw, sp, 8);
            tw = le64toh(tw), sw = le64toh(sw);
            uint64_t stop = (tw ^ TBENC_TAG(TRACE_ARENA_MALLOC, TRACE_MEM, TBENC_B_SAME_AREA) *
                                      0x0101010101010101ull) |
                            (sw & 0x8080808080808080ull);
            /* the first record that stops the run (8 for none), without
             * a branch */
            unsigned n = (unsigned)__builtin_ctzll(stop | 1ull << 63) / 8 + (stop == 0);
            b2_emit_m8(o + 1, sw, where + 1, idas, mtail);
            o += n, where += n;
            tp += n, sp += n;
            if (n == 8) continue;
        }
        if (o + 1 >= lim || *tp != TBENC_TAG(TRACE_ARENA_MALLOC, TRACE_MEM, TBENC_B_SAME_AREA) ||
            sp > se)
            break;
        const uint8_t *q = sp;
        if (!bin_fast_varint(&q, &size, TRACE_MAX_SIZE)) break;
        sp = q;
        tp++;
        bin_emit(++o, size, 0, ++where, 0, 0, (uint32_t)idas, (uint32_t)(idas >> 32), mtail);
    }
    run->tp = tp, run->sp = sp, run->where = where;
    return o;
}

static inline __attribute__((always_inline)) trace_event_t *
b2_run(trace_reader_t *r, trace_event_t *o, trace_event_t *const oe, const int strict)
{
    trace_bin_t *const b = &r->bin;
    trace_bin2_t *const z = &r->bin2;
    live_t *const l = &r->live;
    if (!l->bfree) return o; /* no tables yet: b2_step's first `a` makes them */
    const uint8_t *tp = z->tp, *sp = z->sp, *ip = z->ip, *q, *qi;
    const uint8_t *const se = z->se, *const ie = z->ie;
    uint8_t *const state = l->bstate;
    uint32_t *const ids = l->bid, *const bfree = l->bfree, *top = bfree + l->nbfree;
    /* the slot counts in locals: the byte stores to state[] could alias
     * them, and the compiler would reload them every event */
    uint32_t nblocks = l->nblocks;
    const uint32_t bcap = l->bcap;
    uint32_t ref_slot = b->st.ref_slot, prev_id = b->st.prev_id;
    const uint64_t thread = b->st.thread;
    uint64_t where = b->nrec;
    trace_event_t *lim = oe;
    if (z->te - tp < oe - o) lim = o + (z->te - tp);
    for (; o < lim; o++, where++) {
        /* a record checks a stream's pointer against its end before it
         * reads that stream (it reads at most B2_FIELD_MAX bytes of it,
         * within the slack); a record that would read past an end goes
         * to b2_step, which reports it */
        unsigned tag = *tp;
        uint64_t size, nmemb, v, as;
        uint32_t s, id;
        if (tag & 4) goto arena;
        if (tag & 2) {
            qi = ip;
            v = b2_fast_slot(&qi, ie, tag, ref_slot);
            if (v >= nblocks) break;
            s = (uint32_t)v;
            /* r and f each end on their own, r on the straight path
             * (neither jumps to a shared tail: a trace of reallocs, as
             * grow.atr, would take two more jumps a record) */
            if (!(tag & 1)) { /* r */
                q = sp;
                if (q > se || !bin_fast_varint(&q, &size, TRACE_MAX_SIZE) ||
                    (state[s] & ~LIVE_B_OWNED) != bin_tab.want[tag])
                    break;
                ref_slot = s;
                bin_emit(o, size, 0, where, ids[s], s, 0, 0, bin_tab.tail[tag] | thread);
                tp++, sp = q, ip = qi;
                continue;
            }
            /* f */
            if (strict || state[s] != bin_tab.want[tag]) break;
            ref_slot = s;
            state[s] = 0;
            live_lifo_give(&top, s);
            bin_emit(o, 0, 0, where, ids[s], s, 0, 0, bin_tab.tail[tag] | thread);
            tp++, ip = qi;
            continue;
        }
        if (strict) break;
        id = prev_id + 1u;
        q = sp, qi = ip;
        nmemb = 0;
        if (sp > se) break;
        if (tag >= 0x20 && tag <= 0x30 && !(tag & 1)) {
            /* a, NEXT: 0x20 0x28 0x30 */
            if (!bin_fast_varint(&q, &size, TRACE_MAX_SIZE)) break;
        } else {
            /* a c with bit 7 clear and not both bits 5 and 6, not a
             * special record */
            if (bin_tab.want[tag] == 0xff || tag >> 7 || (tag & 0x60) == 0x60) break;
            if (!(tag & 0x60)) {
                if (ip > ie || !bin_fast_varint(&qi, &v, UINT32_MAX)) break;
                id += (uint32_t)tbenc_unzigzag(v);
            }
            if ((tag & 1) && !bin_fast_varint(&q, &nmemb, TRACE_MAX_SIZE)) break;
            if (!bin_fast_varint(&q, &size, TRACE_MAX_SIZE)) break;
        }
        /* (live_lifo_take as it is: spelt out with the freed slot told
         * likely, grow.atr read ~10 % slower, churn no faster) */
        if (top == bfree && nblocks == bcap) break; /* the tables must grow */
        s = live_lifo_take(bfree, &top, &nblocks);
        if (tag & B2_B_SLOT_ID << 5) id = s;
        state[s] = bin_tab.want[tag];
        ids[s] = id;
        prev_id = id;
        ref_slot = s;
        bin_emit(o, size, nmemb, where, id, s, 0, 0, bin_tab.tail[tag] | thread);
        tp++, sp = q, ip = qi;
        continue;
    arena:
        if ((tag & 0x1f) == TBENC_TAG(TRACE_ARENA_OWN, TRACE_MEM, 0)) {
            /* o: a live block (any domain) and a live arena */
            qi = ip;
            v = b2_fast_slot(&qi, ie, tag, ref_slot);
            if (qi > ie || !bin_fast_varint(&qi, &as, UINT64_MAX) || v >= nblocks ||
                !(state[v] & LIVE_B_LIVE) || as >= l->narenas || !l->arenas[as].live)
                break;
            s = (uint32_t)v;
            l->nblocks = nblocks;
            live_own(l, (uint32_t)as, s);
            ref_slot = s;
            b->st.ref_aslot = (uint32_t)as;
            bin_emit(o, 0, 0, where, ids[s], s, l->arenas[as].id, (uint32_t)as,
                     bin_tab.tail[tag] | thread);
            tp++, ip = qi;
            continue;
        }
        /* m with bits 6-7 clear, in domain mem; n x go to b2_step */
        qi = ip;
        if (tag == TBENC_TAG(TRACE_ARENA_MALLOC, TRACE_MEM, TBENC_B_SAME_AREA))
            as = b->st.ref_aslot;
        else if (tag != TBENC_TAG(TRACE_ARENA_MALLOC, TRACE_MEM, 0) || ip > ie ||
                 !bin_fast_varint(&qi, &as, UINT64_MAX))
            break;
        q = sp;
        if (sp > se || !bin_fast_varint(&q, &size, TRACE_MAX_SIZE) || as >= l->narenas ||
            !l->arenas[as].live)
            break;
        b->st.ref_aslot = (uint32_t)as;
        id = l->arenas[as].id;
        const uint64_t mtail = bin_tab.tail[tag] | thread;
        bin_emit(o, size, 0, where, 0, 0, id, (uint32_t)as, mtail);
        tp++, sp = q, ip = qi;
        /* a run of `m` SAME of this arena (a compiler's, per function).
         * Told unlikely, which only steers the compiler (the branch
         * predictor learns the trace): with the call weighed as rare,
         * the other records' paths keep more of their values in
         * registers (5 % fewer instructions reading churn or lru) */
        if (__builtin_expect(o + 1 < lim &&
                                 *tp == TBENC_TAG(TRACE_ARENA_MALLOC, TRACE_MEM, TBENC_B_SAME_AREA),
                             0)) {
            b2_mrun_t run = {tp, sp, where};
            o = b2_m_run(&run, o, lim, se, id | (uint64_t)as << 32, mtail);
            tp = run.tp, sp = run.sp, where = run.where;
        }
    }
    z->tp = tp, z->sp = sp, z->ip = ip;
    l->nblocks = nblocks;
    l->nbfree = (uint32_t)(top - bfree);
    l->nlive = nblocks - l->nbfree;
    b->st.ref_slot = ref_slot;
    b->st.prev_id = prev_id;
    b->nrec = where;
    return o;
}

/* The fast loop keeps more values than x86-64 has registers (three
 * stream pointers and two ends, the slot tables, the delta state, the
 * event's number), and GCC keeps some of those a record changes
 * (`nblocks`, `prev_id`, the slot taken) on the stack, stored by one
 * record and loaded by the next.  Addressed from %rsp such a pair costs
 * next to nothing on a CPU that renames stack memory (AMD Zen, the
 * benchmark's VM: a store and reload of a stack slot takes one cycle an
 * iteration from %rsp, two from %rbp); from the frame pointer (the
 * build's -fno-omit-frame-pointer) it waits on store forwarding, on the
 * chain of every record.  The same instructions without the frame
 * pointer read churn.atr ~10 % faster, malloclab.atr ~12 %, no trace
 * slower.  (bin_run_fast of version 1 keeps that state in the reader,
 * not on the stack, and gains nothing from it.)  Not under the
 * sanitizers, whose fast unwinder follows the frame pointers; GCC only
 * (clang has no optimize attribute). */
#if defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define B2_HOT_REGS __attribute__((optimize("omit-frame-pointer")))
#else
#define B2_HOT_REGS
#endif

/* The copies of b2_run for a batch, out of line, so that their registers
 * are their own. */
__attribute__((noinline)) B2_HOT_REGS static trace_event_t *
b2_run_batch(trace_reader_t *r, trace_event_t *o, trace_event_t *oe)
{
    return b2_run(r, o, oe, 0);
}

__attribute__((noinline)) static trace_event_t *b2_run_strict(trace_reader_t *r, trace_event_t *o,
                                                              trace_event_t *oe)
{
    return b2_run(r, o, oe, 1);
}

/* Strict mode: whether b2_run may take the next record (bin_strict_runs_tag). */
static inline int b2_strict_runs(const trace_bin2_t *z)
{
    return z->tp < z->te && bin_strict_runs_tag(*z->tp);
}

static int b2_next(trace_reader_t *r, trace_event_t *ev)
{
    if (!r->bin.done &&
        (r->live.use_map ? b2_strict_runs(&r->bin2) && b2_run(r, ev, ev + 1, 1) != ev
                         : b2_run(r, ev, ev + 1, 0) != ev))
        return 1;
    return b2_step(r, ev);
}

static size_t b2_batch(trace_reader_t *r, trace_event_t *ev, size_t max, int *rcp)
{
    trace_event_t *o = ev, *const oe = ev + max;
    const uint64_t nev0 = r->nevents;
    int rc = 1;
    if (r->bin.done) {
        *rcp = 0;
        return 0;
    }
    while (o < oe) {
        if (!r->live.use_map)
            o = b2_run_batch(r, o, oe);
        else if (b2_strict_runs(&r->bin2))
            o = b2_run_strict(r, o, oe);
        if (o == oe) break;
        r->nevents = nev0 + (uint64_t)(o - ev); /* markers are placed by it */
        if ((rc = b2_step(r, o)) <= 0) break;
        /* trace_owned answers for the last event of a batch only */
        if (o++->op == TRACE_ARENA_FREE) break;
    }
    r->nevents = nev0 + (uint64_t)(o - ev);
    *rcp = rc;
    return (size_t)(o - ev);
}

/* ---- writing ------------------------------------------------------------------ */

/* The block being gathered. */
typedef struct {
    uint8_t *s[B2_NSTREAMS];
    size_t n[B2_NSTREAMS], cap[B2_NSTREAMS];
    uint32_t nrec;
    uint8_t *z; /* compressed streams, one after the other */
    size_t zcap;
    tlz4_enc_t *lz4; /* NULL: streams stored raw (version 2) */
} b2w_t;

static int b2_wgrow(trace_writer_t *w, b2w_t *b, int k, size_t need)
{
    if (b->cap[k] - b->n[k] >= need) return 0;
    size_t cap = (b->n[k] + need) * 2;
    uint8_t *p = realloc(b->s[k], cap);
    if (!p) return _trace_fail(w->err, TRACE_ENOMEM, "%s: out of memory", w->path);
    b->s[k] = p;
    b->cap[k] = cap;
    return 0;
}

/* Every stream grown to hold K more events (each at most two records:
 * a thread switch and the event) and X more bytes of extras. */
static int b2_wgrow_events(trace_writer_t *w, b2w_t *b, size_t k, size_t x)
{
    const size_t need[B2_NSTREAMS] = {2 * k, B2_FIELD_MAX * k, B2_FIELD_MAX * k, x};
    int rc;
    for (int j = 0; j < B2_NSTREAMS; j++)
        if ((rc = b2_wgrow(w, b, j, need[j])) < 0) return rc;
    return 0;
}

static int b2_wopen(trace_writer_t *w, const trace_meta_t *meta)
{
    b2w_t *b = calloc(1, sizeof *b);
    if (!b) return _trace_fail(w->err, TRACE_ENOMEM, "%s: out of memory", w->path);
    w->fmtw = b;
    if (!w->scratch && !(w->flags & TRACE_W_RAW)) {
        /* without liblz4 the streams are stored raw: still a valid trace,
         * of version 2 */
        char err[TRACE_ERRLEN];
        b->lz4 = tlz4_enc_open(w->path, err, sizeof err);
    }
    return _tbin_wheader(w, meta, b->lz4 ? B2_VERSION_LZ : B2_VERSION);
}

static void b2_wfree(trace_writer_t *w)
{
    b2w_t *b = w->fmtw;
    if (!b) return;
    for (int k = 0; k < B2_NSTREAMS; k++)
        free(b->s[k]);
    free(b->z);
    tlz4_enc_close(b->lz4);
    free(b);
    w->fmtw = NULL;
}

/* Writes the gathered block out (nothing when it is empty). */
static int b2_flush(trace_writer_t *w)
{
    b2w_t *b = w->fmtw;
    if (b->nrec == 0) return 0;
    uint8_t head[1 + 10 + B2_NSTREAMS * 21], *h = head;
    const uint8_t *data[B2_NSTREAMS];
    size_t len[B2_NSTREAMS];
    size_t bound = 0, at = 0;
    for (int k = 0; b->lz4 && k < B2_NSTREAMS; k++)
        bound += tlz4_bound(b->lz4, b->n[k]);
    if (bound > b->zcap) {
        uint8_t *p = realloc(b->z, bound);
        if (!p) return _trace_fail(w->err, TRACE_ENOMEM, "%s: out of memory", w->path);
        b->z = p;
        b->zcap = bound;
    }
    h = tbenc_varint(h, b->nrec);
    for (int k = 0; k < B2_NSTREAMS; k++) {
        long zn = -1;
        /* LZ4's fast mode first: a stream it does not shrink by a
         * quarter (nearly random sizes or slots), LZ4HC will not halve,
         * and trying costs more than the rest of the writing */
        if (b->lz4 && b->n[k] >= B2_PACK_MIN &&
            (zn = tlz4_compress(b->lz4, b->z + at, b->zcap - at, b->s[k], b->n[k], 0)) >= 0 &&
            (size_t)zn <= b->n[k] - b->n[k] / 4)
            zn = tlz4_compress(b->lz4, b->z + at, b->zcap - at, b->s[k], b->n[k], B2_LZ4_LEVEL);
        if (zn >= 0 && (size_t)zn <= b->n[k] / 2) {
            *h++ = B2_LZ4;
            h = tbenc_varint(h, b->n[k]);
            h = tbenc_varint(h, (uint64_t)zn);
            data[k] = b->z + at;
            len[k] = (size_t)zn;
            at += (size_t)zn;
        } else {
            *h++ = B2_RAW;
            h = tbenc_varint(h, b->n[k]);
            data[k] = b->s[k];
            len[k] = b->n[k];
        }
    }
    int rc = _trace_wroom(w, (size_t)(h - head));
    if (rc < 0) return rc;
    memcpy(w->buf + w->len, head, (size_t)(h - head));
    w->len += (size_t)(h - head);
    for (int k = 0; k < B2_NSTREAMS; k++) {
        for (size_t off = 0; off < len[k];) {
            size_t n = len[k] - off < w->cap ? len[k] - off : w->cap;
            if ((rc = _trace_wroom(w, n)) < 0) return rc;
            memcpy(w->buf + w->len, data[k] + off, n);
            w->len += n;
            off += n;
        }
        b->n[k] = 0;
    }
    b->nrec = 0;
    return 0;
}

/* Room for one more event (two records: a thread switch and the event)
 * and X more bytes of extras, ending the block first when it is full. */
__attribute__((noinline)) static int b2_wroom_slow(trace_writer_t *w, size_t x)
{
    b2w_t *b = w->fmtw;
    int rc;
    if ((b->nrec + 2 > B2_BLOCK_RECORDS || b->n[B2_X] + x > B2_X_FLUSH) && (rc = b2_flush(w)) < 0)
        return rc;
    return b2_wgrow_events(w, b, 1, x);
}

/* Room for one more record (X bytes of extras at most): the block ends
 * first if it is full, every stream grows to hold the record's fields.
 * The common case, inline, is a few compares: a generator writes an
 * event every few nanoseconds (out of line, with its loop over the
 * streams, it was a tenth of `gen`'s time on bench.lua). */
static inline int b2_wroom(trace_writer_t *w, size_t x)
{
    const b2w_t *b = w->fmtw;
    if (__builtin_expect(
            b->nrec + 2 <= B2_BLOCK_RECORDS && b->n[B2_X] + x <= B2_X_FLUSH &&
                b->cap[B2_T] - b->n[B2_T] >= 2 && b->cap[B2_S] - b->n[B2_S] >= B2_FIELD_MAX &&
                b->cap[B2_I] - b->n[B2_I] >= B2_FIELD_MAX && b->cap[B2_X] - b->n[B2_X] >= x,
            1))
        return 0;
    return b2_wroom_slow(w, x);
}

/* The stream positions of the block being gathered, in locals while
 * events are encoded (b2_enc), stored back once after them. */
typedef struct {
    uint8_t *t, *s, *i, *x;
} b2_pos_t;

/* Encodes EV at P, room made (a thread switch and the event: 2 tags,
 * B2_FIELD_MAX bytes of sizes and of ids, 10 of extras); returns the
 * records written (1 or 2).  The one encoder of b2_put and b2_putn. */
static inline __attribute__((always_inline)) unsigned b2_enc(tbenc_t *s, b2_pos_t *p,
                                                             const trace_event_t *ev)
{
    uint8_t *t = p->t, *ps = p->s, *pi = p->i;
    unsigned nrec = 1;
    if (ev->thread != s->thread) {
        *t++ = TBENC_TAG_THREAD;
        p->x = tbenc_varint(p->x, ev->thread);
        s->thread = ev->thread;
        nrec = 2;
    }
    unsigned bits = 0, dom = ev->op <= TRACE_FREE ? ev->domain : TRACE_MEM;
    switch ((trace_op_t)ev->op) {
    case TRACE_ALLOC:
    case TRACE_CALLOC:
        if (ev->id != s->prev_id + 1u && ev->id == ev->slot) {
            bits = B2_B_SLOT_ID;
            s->prev_id = ev->id;
        } else {
            bits = tbenc_id(&s->prev_id, &pi, ev->id);
        }
        if (ev->op == TRACE_CALLOC) ps = tbenc_varint(ps, ev->nmemb);
        ps = tbenc_varint(ps, ev->size);
        s->ref_slot = ev->slot;
        break;
    case TRACE_REALLOC:
        bits = tbenc_slot(s, &pi, ev->slot);
        ps = tbenc_varint(ps, ev->size);
        break;
    case TRACE_FREE:
        bits = tbenc_slot(s, &pi, ev->slot);
        break;
    case TRACE_ARENA_NEW:
        bits = tbenc_id(&s->prev_arena, &pi, ev->arena);
        s->ref_aslot = ev->aslot;
        break;
    case TRACE_ARENA_MALLOC:
        bits = tbenc_aslot(s, &pi, ev->aslot);
        ps = tbenc_varint(ps, ev->size);
        break;
    case TRACE_ARENA_OWN:
        bits = tbenc_slot(s, &pi, ev->slot);
        pi = tbenc_varint(pi, ev->aslot);
        s->ref_aslot = ev->aslot;
        break;
    case TRACE_ARENA_FREE:
    default:
        bits = tbenc_aslot(s, &pi, ev->aslot);
        break;
    }
    *t++ = TBENC_TAG(ev->op & 7u, dom, bits);
    p->t = t, p->s = ps, p->i = pi;
    return nrec;
}

static inline b2_pos_t b2_pos(const b2w_t *b)
{
    return (b2_pos_t){b->s[B2_T] + b->n[B2_T], b->s[B2_S] + b->n[B2_S], b->s[B2_I] + b->n[B2_I],
                      b->s[B2_X] + b->n[B2_X]};
}

static inline void b2_setpos(b2w_t *b, const b2_pos_t *p)
{
    b->n[B2_T] = (size_t)(p->t - b->s[B2_T]);
    b->n[B2_S] = (size_t)(p->s - b->s[B2_S]);
    b->n[B2_I] = (size_t)(p->i - b->s[B2_I]);
    b->n[B2_X] = (size_t)(p->x - b->s[B2_X]);
}

static int b2_put(trace_writer_t *w, const trace_event_t *ev)
{
    int rc = b2_wroom(w, 10);
    if (rc < 0) return rc;
    b2w_t *b = w->fmtw;
    b2_pos_t p = b2_pos(b);
    b->nrec += b2_enc(&w->enc, &p, ev);
    w->enc.events++;
    b2_setpos(b, &p);
    return 0;
}

/* How many of the next MAX events the block takes before b2_wroom(w, 10)
 * would end it: each event is at most 2 records and 10 bytes of extras,
 * so before each of the first K the block's checks pass when they pass
 * for K such events at once. */
static inline size_t b2_fits(const b2w_t *b, size_t max)
{
    size_t k = max, m;
    if ((m = (B2_BLOCK_RECORDS - b->nrec) / 2) < k) k = m;
    if ((m = (B2_X_FLUSH - b->n[B2_X]) / 10) < k) k = m;
    return k;
}

/* N events, the same bytes as N calls of b2_put: the checks once a run of
 * events the block takes (b2_fits), the streams grown for the whole run
 * (growth changes no byte written), their positions in registers across
 * it, and no call an event (a generator hands over its events by the
 * thousand a millisecond). */
static int b2_putn(trace_writer_t *w, const trace_event_t *ev, size_t n)
{
    b2w_t *b = w->fmtw;
    const trace_event_t *const end = ev + n;
    int rc;
    while (ev < end) {
        size_t k = b2_fits(b, (size_t)(end - ev));
        if (k == 0) {
            /* what b2_wroom would do before the next event: end the block
             * (then at least one event fits) */
            if ((rc = b2_wroom_slow(w, 10)) < 0) return rc;
            continue;
        }
        if ((rc = b2_wgrow_events(w, b, k, 10 * k)) < 0) return rc;
        b2_pos_t p = b2_pos(b);
        tbenc_t s = w->enc;
        uint32_t nrec = b->nrec;
        for (const trace_event_t *const e = ev + k; ev < e; ev++)
            nrec += b2_enc(&s, &p, ev);
        s.events += k;
        w->enc = s;
        b->nrec = nrec;
        b2_setpos(b, &p);
    }
    return 0;
}

static int b2_marker(trace_writer_t *w, const char *key, const char *value)
{
    /* the tag goes to the tags stream, the rest to the extras */
    size_t n = tbenc_marker_size(key, value) - 1;
    int rc = b2_wroom(w, n + 1);
    if (rc < 0) return rc;
    b2w_t *b = w->fmtw;
    size_t kl = strlen(key), vl = strlen(value);
    uint8_t *px = b->s[B2_X] + b->n[B2_X];
    px = tbenc_varint(px, kl);
    memcpy(px, key, kl);
    px = tbenc_varint(px + kl, vl);
    memcpy(px, value, vl);
    b->n[B2_X] = (size_t)(px + vl - b->s[B2_X]);
    b->s[B2_T][b->n[B2_T]++] = TBENC_TAG_MARKER;
    b->nrec++;
    return 0;
}

static int b2_finish(trace_writer_t *w)
{
    /* the end record: a block of 0 records, then the count of events */
    uint8_t end[1 + 10], *e = end;
    int rc = b2_flush(w);
    if (rc < 0) return rc;
    *e++ = 0;
    e = tbenc_varint(e, w->enc.events);
    return _tbin_finish(w, end, (size_t)(e - end));
}

/* ---- the format's table (internal/trace_impl.h) --------------------------------- */

static int b2_sniff(const void *head, size_t n)
{
    int version = _tbin_sniff_version(head, n);
    return (version == B2_VERSION || version == B2_VERSION_LZ) &&
           !memcmp(head, TBENC_MAGIC, TBENC_MAGIC_LEN);
}

static const char *const b2_exts[] = {".atr", ".bin", NULL};

const trace_fmt_ops_t _trace_bin2_ops = {
    .fmt = TRACE_FMT_BIN,
    .name = "binary",
    .exts = b2_exts,
    .sniff = b2_sniff,
    .mapped = 1,
    .open = b2_open,
    .next = b2_next,
    .batch = b2_batch,
    .rewind = b2_rewind,
    .close = b2_close,
    .hints = _tbin_hints,
    .wopen = b2_wopen,
    .put = b2_put,
    .putn = b2_putn,
    .marker = b2_marker,
    .finish = b2_finish,
    .wfree = b2_wfree,
};
