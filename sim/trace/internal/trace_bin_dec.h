/* trace_bin_dec.h: what the binary formats (trace_bin.c, version 1;
 * trace_bin2.c, version 2) share, so that each piece has one home: varints
 * read with and without bounds, the event store, the per-tag table of the
 * fast paths, the small steps of both readers (a cut file, an event
 * applied and the delta state moved past it, pages given back), and the
 * functions trace_bin.c defines for both (`_tbin_`: the end record's
 * checks, header hints, rewinding, the writer's header and finish,
 * sniffing, markers).  Internal to sim/trace.
 *
 * Invariant: the unchecked readers (bin_varint8, bin_fast_varint) read 8
 * bytes at P, which the caller guarantees are readable; the checked ones
 * never read at or past E. */
#ifndef ARENALAB_SIM_TRACE_INTERNAL_TRACE_BIN_DEC_H
#define ARENALAB_SIM_TRACE_INTERNAL_TRACE_BIN_DEC_H

#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim/trace/internal/trace_impl.h"

static inline uint64_t bin_get(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

enum { BIN_OK = 1, BIN_SHORT = 0, BIN_BAD = -1 };

/* LEB128 at *P (< E): BIN_OK, BIN_SHORT (runs past E) or BIN_BAD (over 64
 * bits).  The general case, out of line. */
__attribute__((noinline, unused)) static int bin_varint_slow(const uint8_t **pp, const uint8_t *e,
                                                             uint64_t *out)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (p == e) return BIN_SHORT;
        uint8_t b = *p++;
        if (shift == 63 && b > 1) return BIN_BAD;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (b < 0x80) {
            *out = v;
            *pp = p;
            return BIN_OK;
        }
    }
    return BIN_BAD;
}

static inline int bin_varint(const uint8_t **pp, const uint8_t *e, uint64_t *out)
{
    const uint8_t *p = *pp;
    if (e - p >= 2 && !(p[0] & p[1] & 0x80)) {
        unsigned more = p[0] >> 7;
        *out = (uint64_t)(p[0] & 0x7f) | (uint64_t)(p[1] * more) << 7;
        *pp = p + 1 + more;
        return BIN_OK;
    }
    return bin_varint_slow(pp, e, out);
}

/* The varint at P (with 8 readable bytes) when it is at most 8 bytes long:
 * its value, and its length in *LEN; 0 in *LEN for a longer one.  The
 * first byte below 0x80 ends it; the 7-bit groups are then packed together
 * in three shift-and-merge steps (pairs, quads, the whole word). */
static inline uint64_t bin_varint8(const uint8_t *p, unsigned *len)
{
    uint64_t w;
    memcpy(&w, p, 8);
    w = le64toh(w);
    uint64_t stops = ~w & 0x8080808080808080ull;
    *len = stops ? (unsigned)__builtin_ctzll(stops) / 8 + 1 : 0;
    uint64_t x = w & (stops ^ (stops - 1)) & 0x7f7f7f7f7f7f7f7full;
    x = (x & 0x007f007f007f007full) | (x & 0x7f007f007f007f00ull) >> 1;
    x = (x & 0x00003fff00003fffull) | (x & 0x3fff00003fff0000ull) >> 2;
    return (x & 0x000000000fffffffull) | (x & 0x0fffffff00000000ull) >> 4;
}

/* The varint at *PP (8 readable bytes), at most MAX: 1 with *V and *PP
 * past it, or 0 (longer than 8 bytes, or above MAX: bin_step's cases).  One
 * or two bytes, most varints of real traces, take no branch, and cannot
 * exceed any MAX used here (2^32 - 1 or 2^48). */
static inline int bin_fast_varint(const uint8_t **pp, uint64_t *v, uint64_t max)
{
    const uint8_t *p = *pp;
    unsigned b0 = p[0], b1 = p[1];
    if (__builtin_expect(!(b0 & b1 & 0x80), 1)) {
        unsigned more = b0 >> 7;
        *v = (b0 & 0x7f) | (uint64_t)(b1 * more) << 7;
        *pp = p + 1 + more;
        return 1;
    }
    unsigned len;
    *v = bin_varint8(p, &len);
    *pp = p + len;
    return len != 0 && *v <= max;
}

/* Fills *O.  TAIL is thread | op << 32 | domain << 40: with the fields in
 * trace_event_t's order, 6 stores of 8 bytes (padding included) instead of
 * 10; stores are much of what this loop does. */
static inline void bin_emit(trace_event_t *o, uint64_t size, uint64_t nmemb, uint64_t where,
                            uint32_t id, uint32_t slot, uint32_t arena, uint32_t aslot,
                            uint64_t tail)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* one word at a time: an array would be built on the stack and
     * copied with a wider load, which store forwarding cannot serve */
    uint64_t w0 = id | (uint64_t)slot << 32, w1 = arena | (uint64_t)aslot << 32;
    char *d = (char *)o + offsetof(trace_event_t, id);
    o->size = size;
    o->nmemb = nmemb;
    o->where = where;
    memcpy(d, &w0, 8);
    memcpy(d + 8, &w1, 8);
    memcpy(d + 16, &tail, 8);
#else
    *o = (trace_event_t){.size = size,
                         .nmemb = nmemb,
                         .where = where,
                         .id = id,
                         .slot = slot,
                         .arena = arena,
                         .aslot = aslot,
                         .thread = (uint32_t)tail,
                         .op = (uint8_t)(tail >> 32),
                         .domain = (uint8_t)(tail >> 40)};
#endif
}

_Static_assert(offsetof(trace_event_t, slot) == offsetof(trace_event_t, id) + 4 &&
                   offsetof(trace_event_t, arena) == offsetof(trace_event_t, id) + 8 &&
                   offsetof(trace_event_t, aslot) == offsetof(trace_event_t, id) + 12 &&
                   offsetof(trace_event_t, thread) == offsetof(trace_event_t, id) + 16 &&
                   offsetof(trace_event_t, op) == offsetof(trace_event_t, id) + 20 &&
                   offsetof(trace_event_t, domain) == offsetof(trace_event_t, id) + 21 &&
                   sizeof(trace_event_t) == offsetof(trace_event_t, id) + 24,
               "bin_emit writes id .. domain as three words");

/* What the fast path needs of a tag, precomputed (one table, one base
 * register): the event's last word but the thread, the state a block
 * named by an r f must have, and the slot delta of a code below 7. */
typedef struct {
    uint64_t tail[256]; /* (op | domain << 8) << 32, see bin_emit          */
    uint8_t want[256];  /* a c r f: LIVE_B_LIVE | domain; others 0xff, never
                           a state (nor is domain 3 of a special record)  */
    int8_t near[256];   /* r f o: unzigzag(bits 5-7) when below 7        */
} bin_tab_t;

#define BIN_OP(t)   ((t)&7)
#define BIN_DOM(t)  ((t) >> 3 & 3)
#define BIN_CODE(t) ((t) >> 5)
#define BIN_TAIL(t) ((uint64_t)(BIN_OP(t) | BIN_DOM(t) << 8) << 32)
#define BIN_WANT(t)                                                                                \
    (BIN_OP(t) <= TRACE_FREE && BIN_DOM(t) != TBENC_SPECIAL ? LIVE_B_LIVE | BIN_DOM(t) : 0xff)
#define BIN_NEAR(t)   (BIN_CODE(t) == TBENC_SLOT_ESC ? 0 : (BIN_CODE(t) >> 1) ^ -(BIN_CODE(t) & 1))
#define BIN_X4(M, t)  M(t), M((t) + 1), M((t) + 2), M((t) + 3)
#define BIN_X16(M, t) BIN_X4(M, t), BIN_X4(M, (t) + 4), BIN_X4(M, (t) + 8), BIN_X4(M, (t) + 12)
#define BIN_X64(M, t)                                                                              \
    BIN_X16(M, t), BIN_X16(M, (t) + 16), BIN_X16(M, (t) + 32), BIN_X16(M, (t) + 48)
#define BIN_X256(M) BIN_X64(M, 0), BIN_X64(M, 64), BIN_X64(M, 128), BIN_X64(M, 192)

static const bin_tab_t bin_tab = {{BIN_X256(BIN_TAIL)}, {BIN_X256(BIN_WANT)}, {BIN_X256(BIN_NEAR)}};

/* ---- the readers' small steps -------------------------------------------------- */

/* Give consumed pages of the mapping back every this many bytes, so the
 * RSS of a long replay does not grow with the file. */
#define BIN_ADVISE_STEP ((size_t)16 << 20)

/* The end of the data came inside a record (v1) or a block (v2): a
 * recorder stopped writing, the events before it are valid.  0. */
static inline int bin_cut(trace_reader_t *r)
{
    r->truncated = 1;
    r->bin.done = 1;
    return 0;
}

/* The shared slot algorithm; the message of a rejected event.  0 or a
 * negative code. */
static inline int bin_apply(trace_reader_t *r, trace_event_t *ev)
{
    char msg[TRACE_ERRLEN - 64];
    int rc = live_apply_slots(&r->live, ev, msg, sizeof msg);
    if (rc < 0)
        return _trace_fail(r->err, rc, "%s: event %llu: %s", r->path, (unsigned long long)ev->where,
                           msg);
    return 0;
}

/* Counts the event EV just decoded, applies it, and only when it is
 * accepted moves the delta state past it: a rejected event leaves the
 * state as it was, like the live table.  0 or a negative code. */
static inline int bin_take(trace_reader_t *r, trace_event_t *ev)
{
    tbenc_t *st = &r->bin.st;
    r->bin.nrec++;
    int rc = bin_apply(r, ev);
    if (rc < 0) return rc;
    switch ((trace_op_t)ev->op) {
    case TRACE_ALLOC:
    case TRACE_CALLOC:
        st->prev_id = ev->id;
        st->ref_slot = ev->slot;
        break;
    case TRACE_REALLOC:
    case TRACE_FREE:
        st->ref_slot = ev->slot;
        break;
    case TRACE_ARENA_NEW:
        st->prev_arena = ev->arena;
        st->ref_aslot = ev->aslot;
        break;
    case TRACE_ARENA_OWN:
        st->ref_slot = ev->slot;
        st->ref_aslot = ev->aslot;
        break;
    case TRACE_ARENA_MALLOC:
    case TRACE_ARENA_FREE:
        st->ref_aslot = ev->aslot;
        break;
    case TRACE_NOPS:
        break;
    }
    return 0;
}

/* Drops the pages of the mapping before offset POS from the RSS (they come
 * back from the file if touched again, e.g. after a rewind).  Out of line:
 * the callers test BIN_ADVISE_STEP first, which is all the per-event path
 * pays. */
__attribute__((noinline, unused)) static void bin_advise_now(trace_bin_t *b, size_t pos)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t lo = b->advised / page * page, hi = pos / page * page;
    if (hi > lo) madvise((void *)(b->base + lo), hi - lo, MADV_DONTNEED);
    b->advised = pos;
}

/* ---- defined in trace_bin.c, for both versions ------------------------------- */

/* The end record whose count V has been read, P just past it, E the end of
 * the file: NULL when V is the number of events, nothing follows and a
 * COMPLETE header's counts are the trace's; else what is wrong, in WHAT. */
const char *_tbin_end_problem(const trace_reader_t *r, uint64_t v, const uint8_t *p,
                              const uint8_t *e, char *what, size_t n);

/* A marker record's KEY and VALUE, read: checked and added at the current
 * event.  0, 1 when they are not a valid key and value (the caller says
 * where), or TRACE_ENOMEM. */
int _tbin_marker_add(trace_reader_t *r, const uint8_t *k, uint64_t kl, const uint8_t *val,
                     uint64_t vl);

/* The reader's position and delta state back at the first record. */
void _tbin_rewind(trace_reader_t *r);

/* The ops table's `hints`: the header's counts when it is COMPLETE. */
int _tbin_hints(const trace_reader_t *r, uint64_t *events, uint32_t *slots, uint32_t *aslots);

/* The version (0 .. 65535) a file starting with the N bytes at HEAD
 * claims: -1 when its first four bytes are not a binary trace's magic, -2
 * when they are but the bytes are too few to hold the version.  (Bytes 4-7
 * of the magic are left to the caller.) */
int _tbin_sniff_version(const void *head, size_t n);

/* Writes the header of a binary trace of VERSION into w's buffer.  0 or a
 * negative code. */
int _tbin_wheader(trace_writer_t *w, const trace_meta_t *meta, unsigned version);

/* Appends the N bytes of the end record at END, writes everything out and
 * patches the header's flags and counts (when the file can seek: a pipe's
 * counts stay unknown, which readers accept).  0 or a negative code. */
int _tbin_finish(trace_writer_t *w, const uint8_t *end, size_t n);

/* Strict mode (the id hashes kept): whether a reader's fast loop may take
 * a record with tag TAG, an `r m o`, which do not touch the hashes; the
 * others go straight to the reader's step, where the loop would stop at
 * once. */
static inline int bin_strict_runs_tag(unsigned tag)
{
    const unsigned ops = 1u << TRACE_REALLOC | 1u << TRACE_ARENA_MALLOC | 1u << TRACE_ARENA_OWN;
    return ops >> (tag & 7) & 1;
}

#endif
