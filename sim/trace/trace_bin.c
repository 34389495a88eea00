/* trace_bin.c: arenalab's binary trace format (sim/trace/TRACE-FORMAT.md): the
 * mmap'ed one-pass reader and the writer around trace_bin_enc.h, and what
 * versions 2 and 3 (trace_bin2.c) share with them: the header (_trace_bin_header)
 * and the `_tbin_` functions of internal/trace_bin_dec.h.
 *
 * Reading trusts nothing in the file: every length is checked against the
 * bytes that remain, every count in the header is only a hint (bounded by
 * the file size before anything is allocated from it, and checked against
 * what the events really do at the end record), every slot is checked
 * against the live table.  A record that runs past the end of the file
 * means the file was cut short: the events before it are valid.
 *
 * A rejected event (a slot that is not live, a domain mismatch, a live id)
 * leaves the delta-coding state as it was, like the live table. */
#include "sim/trace/internal/trace_impl.h"
#include "sim/trace/internal/trace_bin_dec.h"

#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

/* Preallocation from header hints is capped; the tables grow past it. */
#define BIN_RESERVE_MAX ((uint32_t)1 << 22)

static int bin_corrupt_ev(trace_reader_t *r, const char *what)
{
    return _trace_fail(r->err, TRACE_ECORRUPT, "%s: event %llu: %s", r->path,
                       (unsigned long long)r->bin.nrec, what);
}

int _trace_bin_header(trace_reader_t *r, unsigned versions, size_t slots_per_byte)
{
    trace_bin_t *b = &r->bin;
    const uint8_t *base = b->base;
    if (b->size < TBENC_FIXED)
        return _trace_fail(r->err, TRACE_ECORRUPT, "%s: header: cut short (%zu of %d bytes)",
                           r->path, b->size, TBENC_FIXED);
    if (memcmp(base, TBENC_MAGIC, TBENC_MAGIC_LEN) != 0)
        return _trace_fail(r->err, TRACE_ECORRUPT,
                           "%s: header: bad magic (not an arenalab binary trace, or one mangled "
                           "by a text-mode transfer)",
                           r->path);
    unsigned version = (unsigned)bin_get(base + TBENC_OFF_VERSION, 2);
    if (version >= 32 || !(versions >> version & 1))
        return _trace_fail(r->err, TRACE_ECORRUPT,
                           "%s: header: format version %u (this reader knows versions 1, 2 and 3)",
                           r->path, version);
    b->version = version;
    b->hflags = (unsigned)bin_get(base + TBENC_OFF_FLAGS, 2);
    if (b->hflags & ~(unsigned)TBENC_F_KNOWN)
        return _trace_fail(r->err, TRACE_ECORRUPT, "%s: header: unknown flags 0x%04x", r->path,
                           b->hflags);
    uint64_t hlen = bin_get(base + TBENC_OFF_HDRLEN, 4);
    if (hlen < TBENC_FIXED || hlen > b->size)
        return _trace_fail(r->err, TRACE_ECORRUPT,
                           "%s: header: length %llu outside the file (%zu bytes)", r->path,
                           (unsigned long long)hlen, b->size);
    b->hevents = bin_get(base + TBENC_OFF_EVENTS, 8);
    b->hslots = (uint32_t)bin_get(base + TBENC_OFF_SLOTS, 4);
    b->haslots = (uint32_t)bin_get(base + TBENC_OFF_ASLOTS, 4);
    uint64_t nmeta = bin_get(base + TBENC_OFF_NMETA, 4);
    const uint8_t *p = base + TBENC_FIXED, *e = base + hlen;
    for (uint64_t i = 0; i < nmeta; i++) {
        uint64_t kl, vl;
        const uint8_t *k, *v;
        if (bin_varint(&p, e, &kl) != BIN_OK || kl > (uint64_t)(e - p)) goto bad_meta;
        k = p;
        p += kl;
        if (bin_varint(&p, e, &vl) != BIN_OK || vl > (uint64_t)(e - p)) goto bad_meta;
        v = p;
        p += vl;
        /* `pad` is reserved too, but legal here: _trace_meta_add skips it. */
        if (!_trace_meta_key_ok((const char *)k, kl) ||
            (_trace_meta_key_reserved((const char *)k, kl) && !(kl == 3 && !memcmp(k, "pad", 3))) ||
            !_trace_meta_value_ok((const char *)v, vl))
            goto bad_meta;
        if (_trace_meta_add(r, (const char *)k, kl, (const char *)v, vl) < 0)
            return _trace_fail(r->err, TRACE_ENOMEM, "%s: out of memory", r->path);
        continue;
    bad_meta:
        return _trace_fail(r->err, TRACE_ECORRUPT, "%s: header: bad metadata entry %llu", r->path,
                           (unsigned long long)i);
    }
    if (p != e)
        return _trace_fail(r->err, TRACE_ECORRUPT,
                           "%s: header: %llu metadata entries do not fill its %llu bytes", r->path,
                           (unsigned long long)nmeta, (unsigned long long)hlen);
    b->first = (size_t)hlen;
    if (b->hflags & TBENC_F_COMPLETE) {
        /* every slot is first assigned by an event of at least 1 /
         * SLOTS_PER_BYTE bytes */
        size_t room = b->size - b->first;
        room = room > SIZE_MAX / slots_per_byte ? SIZE_MAX : room * slots_per_byte;
        uint32_t nb = b->hslots, na = b->haslots;
        if (nb > room) nb = (uint32_t)room;
        if (na > room) na = (uint32_t)room;
        if (nb > BIN_RESERVE_MAX) nb = BIN_RESERVE_MAX;
        if (na > BIN_RESERVE_MAX) na = BIN_RESERVE_MAX;
        if (live_reserve(&r->live, nb, na) < 0)
            return _trace_fail(r->err, TRACE_ENOMEM, "%s: out of memory", r->path);
    }
    return 0;
}

void _tbin_rewind(trace_reader_t *r)
{
    trace_bin_t *b = &r->bin;
    b->p = b->base + b->first;
    b->advised = b->first;
    b->nrec = 0;
    b->done = 0;
    tbenc_init(&b->st);
}

static int bin_rewind(trace_reader_t *r)
{
    _tbin_rewind(r);
    return 0;
}

static int bin_open(trace_reader_t *r)
{
    int rc = _trace_bin_header(r, 1u << TBENC_VERSION, 1);
    return rc < 0 ? rc : bin_rewind(r);
}

static void bin_close(trace_reader_t *r)
{
    if (r->bin.mapped) munmap((void *)r->bin.base, r->bin.size);
}

/* bin_advise_now (the pages before b->p) every BIN_ADVISE_STEP bytes: the
 * test is all that the per-event path pays. */
static inline void bin_advise(trace_bin_t *b)
{
    size_t pos = (size_t)(b->p - b->base);
    if (b->mapped && pos - b->advised >= BIN_ADVISE_STEP) bin_advise_now(b, pos);
}

const char *_tbin_end_problem(const trace_reader_t *r, uint64_t v, const uint8_t *p,
                              const uint8_t *e, char *what, size_t n)
{
    const trace_bin_t *b = &r->bin;
    if (v != b->nrec) {
        snprintf(what, n, "end record counts %llu events, the file has %llu", (unsigned long long)v,
                 (unsigned long long)b->nrec);
        return what;
    }
    if (p != e) {
        snprintf(what, n, "%zu bytes after the end record", (size_t)(e - p));
        return what;
    }
    if ((b->hflags & TBENC_F_COMPLETE) &&
        (b->hevents != b->nrec || b->hslots != r->live.nblocks || b->haslots != r->live.narenas)) {
        snprintf(what, n,
                 "header counts (%llu events, %u blocks, %u arenas) differ from the trace's "
                 "(%llu, %u, %u)",
                 (unsigned long long)b->hevents, b->hslots, b->haslots, (unsigned long long)b->nrec,
                 r->live.nblocks, r->live.narenas);
        return what;
    }
    return NULL;
}

int _tbin_marker_add(trace_reader_t *r, const uint8_t *k, uint64_t kl, const uint8_t *val,
                     uint64_t vl)
{
    if (!_trace_meta_key_ok((const char *)k, kl) || !_trace_meta_value_ok((const char *)val, vl))
        return 1;
    if (_trace_marker_add(r, r->nevents, (const char *)k, kl, (const char *)val, vl) < 0)
        return _trace_fail(r->err, TRACE_ENOMEM, "%s: out of memory", r->path);
    return 0;
}

/* A special record (END, THREAD, MARKER) at *PP, tag already taken.
 * Returns 1 to go on, 0 at the end (or cut short), or a fatal code. */
static int bin_special(trace_reader_t *r, unsigned op, unsigned bits, const uint8_t **pp)
{
    trace_bin_t *b = &r->bin;
    const uint8_t *p = *pp, *e = b->base + b->size;
    uint64_t v, kl, vl;
    int rc;
    char what[200];
    const char *bad;
    if (bits) return bin_corrupt_ev(r, "reserved bits set in a special record");
    switch (op) {
    case TBENC_REC_END:
        if ((rc = bin_varint(&p, e, &v)) != BIN_OK)
            return rc == BIN_SHORT ? bin_cut(r) : bin_corrupt_ev(r, "bad end record");
        if ((bad = _tbin_end_problem(r, v, p, e, what, sizeof what))) return bin_corrupt_ev(r, bad);
        b->done = 1;
        *pp = p;
        return 0;
    case TBENC_REC_THREAD:
        if ((rc = bin_varint(&p, e, &v)) != BIN_OK)
            return rc == BIN_SHORT ? bin_cut(r) : bin_corrupt_ev(r, "bad thread record");
        if (v > UINT32_MAX) return bin_corrupt_ev(r, "thread id out of range");
        b->st.thread = (uint32_t)v;
        *pp = p;
        return 1;
    case TBENC_REC_MARKER: {
        const uint8_t *k, *val;
        if ((rc = bin_varint(&p, e, &kl)) != BIN_OK) goto marker_fail;
        if (kl > (uint64_t)(e - p)) return bin_cut(r);
        k = p;
        p += kl;
        if ((rc = bin_varint(&p, e, &vl)) != BIN_OK) goto marker_fail;
        if (vl > (uint64_t)(e - p)) return bin_cut(r);
        val = p;
        p += vl;
        if ((rc = _tbin_marker_add(r, k, kl, val, vl)) != 0)
            return rc > 0 ? bin_corrupt_ev(r, "bad marker record") : rc;
        *pp = p;
        return 1;
    marker_fail:
        return rc == BIN_SHORT ? bin_cut(r) : bin_corrupt_ev(r, "bad marker record");
    }
    default:
        snprintf(what, sizeof what, "unknown record tag 0x%02x",
                 (unsigned)(op | TBENC_SPECIAL << 3));
        return bin_corrupt_ev(r, what);
    }
}

/* Reads a slot reference (tag bits BITS, maybe an escape varint): the slot,
 * or LIVE_NONE for one outside 0 .. 2^32-2 (reported as not live).  The sum
 * is taken mod 2^64, where it is exact for every slot in range: a delta
 * is at most 2^63 away from zero and REF below 2^32. */
static inline int bin_slot(const uint8_t **p, const uint8_t *e, unsigned bits, uint32_t ref,
                           uint32_t *slot)
{
    uint64_t z = bits;
    if (bits == TBENC_SLOT_ESC) {
        int rc = bin_varint(p, e, &z);
        if (rc != BIN_OK) return rc;
    }
    uint64_t s = (uint64_t)ref + (uint64_t)tbenc_unzigzag(z);
    *slot = s < UINT32_MAX ? (uint32_t)s : LIVE_NONE;
    return BIN_OK;
}

/* The careful path: the records up to and including the next event, every
 * read checked against the end of the data, every event applied by
 * live_apply_slots.  It takes whatever the batch loop below leaves to it
 * (special records, arena events but `m`, anything unusual, the last
 * bytes of the file, and every event in strict mode) and it alone reports
 * errors.  1 with *EV filled, 0 at the end, or a negative code. */
static int bin_step(trace_reader_t *r, trace_event_t *ev)
{
    trace_bin_t *b = &r->bin;
    tbenc_t *st = &b->st;
    const uint8_t *e = b->base + b->size;
    const char *bad;
    int rc = BIN_OK;
#define BIN_GET(var)                                                                               \
    do {                                                                                           \
        if ((rc = bin_varint(&p, e, &(var))) != BIN_OK) goto bad_varint;                           \
    } while (0)
    for (;;) {
        if (b->done) return 0;
        const uint8_t *p = b->p;
        if (p == e) return bin_cut(r);
        unsigned tag = *p++;
        unsigned op = tag & 7, dom = (tag >> 3) & 3, bits = tag >> 5;
        uint64_t v;
        uint32_t id;
        if (dom == TBENC_SPECIAL) {
            rc = bin_special(r, op, bits, &p);
            if (rc <= 0) return rc;
            b->p = p;
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
            if (bits & ~(unsigned)TBENC_B_NEXT_ID) goto reserved;
            id = (op == TRACE_ARENA_NEW ? st->prev_arena : st->prev_id) + 1u;
            if (!(bits & TBENC_B_NEXT_ID)) {
                BIN_GET(v);
                if (v > UINT32_MAX) {
                    bad = "id delta out of range";
                    goto corrupt;
                }
                id += (uint32_t)tbenc_unzigzag(v);
            }
            if (op == TRACE_ARENA_NEW) {
                ev->arena = id;
                b->p = p;
                if ((rc = bin_take(r, ev)) < 0) return rc;
                break;
            }
            if (op == TRACE_CALLOC) BIN_GET(ev->nmemb);
            BIN_GET(ev->size);
            if (ev->size > TRACE_MAX_SIZE || ev->nmemb > TRACE_MAX_SIZE) goto too_big;
            ev->id = id;
            b->p = p;
            if ((rc = bin_take(r, ev)) < 0) return rc;
            break;
        case TRACE_REALLOC:
        case TRACE_FREE:
            if ((rc = bin_slot(&p, e, bits, st->ref_slot, &ev->slot)) != BIN_OK) goto bad_varint;
            if (op == TRACE_REALLOC) {
                BIN_GET(ev->size);
                if (ev->size > TRACE_MAX_SIZE) goto too_big;
            }
            b->p = p;
            if ((rc = bin_take(r, ev)) < 0) return rc;
            break;
        case TRACE_ARENA_MALLOC:
        case TRACE_ARENA_FREE:
            if (bits & ~(unsigned)TBENC_B_SAME_AREA) goto reserved;
            ev->aslot = st->ref_aslot;
            if (!(bits & TBENC_B_SAME_AREA)) {
                BIN_GET(v);
                ev->aslot = v < UINT32_MAX ? (uint32_t)v : LIVE_NONE;
            }
            if (op == TRACE_ARENA_MALLOC) {
                BIN_GET(ev->size);
                if (ev->size > TRACE_MAX_SIZE) goto too_big;
            }
            b->p = p;
            if ((rc = bin_take(r, ev)) < 0) return rc;
            break;
        case TRACE_ARENA_OWN:
            if ((rc = bin_slot(&p, e, bits, st->ref_slot, &ev->slot)) != BIN_OK) goto bad_varint;
            BIN_GET(v);
            ev->aslot = v < UINT32_MAX ? (uint32_t)v : LIVE_NONE;
            b->p = p;
            if ((rc = bin_take(r, ev)) < 0) return rc;
            break;
        case TRACE_NOPS:
            break;
        }
        return 1;
    bad_varint:
        if (rc == BIN_SHORT) return bin_cut(r);
        bad = "varint longer than 64 bits";
        goto corrupt;
    reserved:
        bad = "reserved bits set";
        goto corrupt;
    too_big:
        bad = "size above 2^48";
    corrupt:
        return bin_corrupt_ev(r, bad);
    }
#undef BIN_GET
}

/* ---- the batch loop ---------------------------------------------------------
 *
 * What a replay runs per event, so it is built for speed; bin_step stays
 * the reference.  In fast mode (no id hash) the loop decodes `a c r f m o`,
 * nearly all the events of real traces, inline (bin_run); in strict mode
 * `r m o`, which do not touch the id hashes:
 *
 *   - varints are read without a bounds check, so the fast path keeps
 *     BIN_SLACK bytes between a record and the end of the data (the last
 *     records go to bin_step); one- and two-byte varints, most sizes and
 *     slot deltas, take no branch, nor does telling a slot code in the tag
 *     from an escaped one;
 *   - slots are checked against the state bytes (one byte per slot, see
 *     live.h), and the free slots are a stack;
 *   - the dispatch is a tree of tests on the op's bits, which predict a
 *     trace's mix of ops better than the indirect jump of a switch, and a
 *     table (bin_tab) gives what depends on the whole tag;
 *   - the hot state lives in locals of bin_run, written back when it
 *     stops: the byte stores into the tables and the events may alias
 *     anything, so struct fields would be reloaded after each;
 *   - a run of `m` of one arena (a compiler's, per function) is decoded
 *     without dispatch, four records a word when their sizes are small.
 *
 * Anything unusual (a slot not live, a domain that differs, an owned block
 * freed, a table that must grow, a varint over 8 bytes, a size over 2^48,
 * reserved bits, `n`, `x`, special records) is not judged here: the loop
 * stops before the record and bin_step decodes it and decides.  So the
 * fast path accepts only what bin_step would, with the same events and
 * state; trace_bin_test.c and the fuzz targets compare the two. */

/* Bytes a record of the fast path may read from its tag on: the tag and
 * three varints of up to 8 bytes, each read as a whole word (1 + 8 + 8 +
 * 8), rounded up. */
#define BIN_SLACK 32

_Static_assert(TBENC_TAG(TRACE_ARENA_MALLOC, TRACE_MEM, TBENC_B_SAME_AREA) == 0x2d,
               "the `m` run test of bin_run spells this tag out");

/* Most bytes a record of the fast path takes: a tag and three varints of
 * at most 8 bytes (bin_fast_varint). */
#define BIN_MAXREC 25
_Static_assert(BIN_MAXREC <= BIN_SLACK, "a record of the fast path stays in the data");

/* The slot an r f o record at P names, from reference slot REF; *PP is
 * moved past the slot.  A slot code of 7 (a varint follows) is as common
 * as the others in a churning heap, so the two are told apart without a
 * branch (one- and two-byte varints; longer ones, deltas of 8192 and
 * more, go to bin_fast_varint).  A slot outside 0 .. 2^32-2 comes back
 * as 2^32-1 or more. */
static inline uint64_t bin_fast_slot(const uint8_t **pp, unsigned tag, uint32_t ref)
{
    const uint8_t *p = *pp;
    unsigned esc = tag >= TBENC_SLOT_ESC << 5, b0 = p[1], b1 = p[2], more = b0 >> 7;
    int64_t d = bin_tab.near[tag];
    if (__builtin_expect(b0 & b1 & 0x80 && esc, 0)) {
        uint64_t z;
        p++;
        if (!bin_fast_varint(&p, &z, UINT64_MAX)) return UINT64_MAX;
        d = tbenc_unzigzag(z);
    } else {
        uint64_t z = (b0 & 0x7f) | (uint64_t)(b1 * more) << 7;
        d = esc ? tbenc_unzigzag(z) : d;
        p += 1 + ((1 + more) & -esc);
    }
    *pp = p;
    return (uint64_t)ref + (uint64_t)d; /* exact, see bin_slot */
}

/* Decodes the records at r->bin.p into O .. OE - 1 while they take the
 * fast path.  Returns where it stopped: OE, or the event slot for the
 * record at r->bin.p that bin_step must take.  STRICT (a constant: each
 * caller has its copy) leaves every `a c f` to bin_step, which keeps the
 * id hashes; `r m o` do not touch them.  The hot state is in locals (the free
 * stack as a pointer to its top), what only rare paths use stays in *R. */
static inline __attribute__((always_inline)) trace_event_t *
bin_run(trace_reader_t *r, trace_event_t *o, trace_event_t *const oe, const int strict)
{
    trace_bin_t *const b = &r->bin;
    live_t *const l = &r->live;
    if (!l->bfree) return o; /* no tables yet: bin_step's first `a` makes them */
    const uint8_t *p = b->p, *q;
    const uint8_t *const end = b->size > BIN_SLACK ? b->base + b->size - BIN_SLACK : b->base;
    uint8_t *const state = l->bstate;
    uint32_t *const ids = l->bid, *top = l->bfree + l->nbfree;
    uint32_t ref_slot = b->st.ref_slot;
    const uint64_t thread = b->st.thread;
    uint64_t where = b->nrec;
    while (o < oe && p < end) {
        /* records are checked against the end of the data in chunks: as
         * many as surely start before END, each taking BIN_MAXREC
         * bytes at most */
        trace_event_t *lim = oe;
        if (oe - o > 1) { /* (one record surely fits: P < END) */
            size_t k = ((size_t)(end - p) + BIN_MAXREC - 1) / BIN_MAXREC;
            if (k < (size_t)(oe - o)) lim = o + k;
        }
        for (; o < lim; o++, where++) {
            unsigned tag = p[0];
            uint64_t size, nmemb, v, as;
            uint32_t s, id;
            /* dispatch on the op's bits, a tree of conditional branches:
             * they predict the mix of a real trace better than the
             * indirect jump of a switch */
            if (tag & 4) goto arena;
            if (tag & 2) {
                q = p;
                v = bin_fast_slot(&q, tag, ref_slot);
                if (v >= l->nblocks) goto out;
                s = (uint32_t)v;
                if (tag & 1) { /* f */
                    /* live, in this domain, and not owned (bin_step
                     * unlinks) */
                    if (strict || state[s] != bin_tab.want[tag]) goto out;
                    state[s] = 0;
                    live_lifo_give(&top, s);
                    size = 0;
                } else { /* r */
                    if (!bin_fast_varint(&q, &size, TRACE_MAX_SIZE) ||
                        (state[s] & ~LIVE_B_OWNED) != bin_tab.want[tag])
                        goto out;
                }
                ref_slot = s;
                bin_emit(o, size, 0, where, ids[s], s, 0, 0, bin_tab.tail[tag] | thread);
                p = q;
                continue;
            }
            if (strict) goto out;
            q = p + 1;
            id = b->st.prev_id + 1u;
            nmemb = 0;
            if (tag >= 0x20 && tag <= 0x30 && !(tag & 1)) { /* a, NEXT: 0x20 0x28 0x30 */
                if (!bin_fast_varint(&q, &size, TRACE_MAX_SIZE)) goto out;
            } else {
                /* a c with bits 6-7 clear, not a special record */
                if (bin_tab.want[tag] == 0xff || tag >> 6) goto out;
                if (!(tag & TBENC_B_NEXT_ID << 5)) {
                    if (!bin_fast_varint(&q, &v, UINT32_MAX)) goto out;
                    id += (uint32_t)tbenc_unzigzag(v);
                }
                if ((tag & 1) && !bin_fast_varint(&q, &nmemb, TRACE_MAX_SIZE)) goto out;
                if (!bin_fast_varint(&q, &size, TRACE_MAX_SIZE)) goto out;
            }
            if (top == l->bfree && l->nblocks == l->bcap) goto out; /* the tables must grow */
            s = live_lifo_take(l->bfree, &top, &l->nblocks);
            state[s] = bin_tab.want[tag];
            ids[s] = id;
            b->st.prev_id = id;
            ref_slot = s;
            bin_emit(o, size, nmemb, where, id, s, 0, 0, bin_tab.tail[tag] | thread);
            p = q;
            continue;
        arena:
            if ((tag & 0x1f) == TBENC_TAG(TRACE_ARENA_OWN, TRACE_MEM, 0)) {
                /* o: a live block (any domain) and a live arena */
                q = p;
                v = bin_fast_slot(&q, tag, ref_slot);
                if (!bin_fast_varint(&q, &as, UINT64_MAX) || v >= l->nblocks ||
                    !(state[v] & LIVE_B_LIVE) || as >= l->narenas || !l->arenas[as].live)
                    goto out;
                s = (uint32_t)v;
                live_own(l, (uint32_t)as, s);
                ref_slot = s;
                b->st.ref_aslot = (uint32_t)as;
                bin_emit(o, 0, 0, where, ids[s], s, l->arenas[as].id, (uint32_t)as,
                         bin_tab.tail[tag] | thread);
                p = q;
                continue;
            }
            /* m with bits 6-7 clear, in domain mem; n x go to bin_step */
            q = p + 1;
            if (tag == TBENC_TAG(TRACE_ARENA_MALLOC, TRACE_MEM, TBENC_B_SAME_AREA))
                as = b->st.ref_aslot;
            else if (tag != TBENC_TAG(TRACE_ARENA_MALLOC, TRACE_MEM, 0) ||
                     !bin_fast_varint(&q, &as, UINT64_MAX))
                goto out;
            if (!bin_fast_varint(&q, &size, TRACE_MAX_SIZE) || as >= l->narenas ||
                !l->arenas[as].live)
                goto out;
            b->st.ref_aslot = (uint32_t)as;
            id = l->arenas[as].id;
            const uint64_t mtail = bin_tab.tail[tag] | thread;
            bin_emit(o, size, 0, where, 0, 0, id, (uint32_t)as, mtail);
            /* an arena gets its `m` in runs (a compiler's, per function):
             * the SAME ones that follow need neither the dispatch nor the
             * arena check */
            p = q;
            /* four at a time while they are `m` SAME with one-byte sizes:
             * then one word holds them all, and no record's length
             * waits for the one before */
            while (o + 4 < lim) {
                uint64_t w;
                memcpy(&w, p, 8);
                w = le64toh(w);
                if ((w & 0x80ff80ff80ff80ffull) != 0x002d002d002d002dull) break;
                for (int i = 1; i < 8; i += 2)
                    bin_emit(++o, w >> 8 * i & 0xff, 0, ++where, 0, 0, id, (uint32_t)as, mtail);
                p += 8;
            }
            while (o + 1 < lim &&
                   p[0] == TBENC_TAG(TRACE_ARENA_MALLOC, TRACE_MEM, TBENC_B_SAME_AREA)) {
                q = p + 1;
                if (!bin_fast_varint(&q, &size, TRACE_MAX_SIZE)) break;
                p = q;
                bin_emit(++o, size, 0, ++where, 0, 0, id, (uint32_t)as, mtail);
            }
        }
    }
out:
    b->p = p;
    l->nbfree = (uint32_t)(top - l->bfree);
    l->nlive = l->nblocks - l->nbfree;
    b->st.ref_slot = ref_slot;
    b->nrec = where;
    return o;
}

/* The copies of bin_run for a batch, out of line, so that their registers
 * are their own. */
__attribute__((noinline)) static trace_event_t *bin_run_fast(trace_reader_t *r, trace_event_t *o,
                                                             trace_event_t *oe)
{
    return bin_run(r, o, oe, 0);
}

__attribute__((noinline)) static trace_event_t *bin_run_strict(trace_reader_t *r, trace_event_t *o,
                                                               trace_event_t *oe)
{
    return bin_run(r, o, oe, 1);
}

/* Strict mode: whether bin_run may take the next record (bin_strict_runs_tag). */
static inline int bin_strict_runs(const trace_bin_t *b)
{
    return b->p < b->base + b->size && bin_strict_runs_tag(*b->p);
}

static int bin_next(trace_reader_t *r, trace_event_t *ev)
{
    /* bin_run inlined here, for one event: its chunking folds away */
    if (!r->bin.done &&
        (r->live.use_map ? bin_strict_runs(&r->bin) && bin_run(r, ev, ev + 1, 1) != ev
                         : bin_run(r, ev, ev + 1, 0) != ev)) {
        bin_advise(&r->bin);
        return 1;
    }
    int rc = bin_step(r, ev);
    /* the record-by-record path too: a checked reader of a long trace
     * (stats, check) keeps its RSS bounded */
    bin_advise(&r->bin);
    return rc;
}

static size_t bin_batch(trace_reader_t *r, trace_event_t *ev, size_t max, int *rcp)
{
    trace_bin_t *b = &r->bin;
    trace_event_t *o = ev, *const oe = ev + max;
    const uint64_t nev0 = r->nevents;
    int rc = 1;
    if (b->done) {
        *rcp = 0;
        return 0;
    }
    while (o < oe) {
        if (!r->live.use_map)
            o = bin_run_fast(r, o, oe);
        else if (bin_strict_runs(b))
            o = bin_run_strict(r, o, oe);
        if (o == oe) break;
        r->nevents = nev0 + (uint64_t)(o - ev); /* markers are placed by it */
        if ((rc = bin_step(r, o)) <= 0) break;
        /* trace_owned answers for the last event of a batch only */
        if (o++->op == TRACE_ARENA_FREE) break;
    }
    r->nevents = nev0 + (uint64_t)(o - ev);
    bin_advise(b);
    *rcp = rc;
    return (size_t)(o - ev);
}

/* ---- writing --------------------------------------------------------------- */

int _tbin_wheader(trace_writer_t *w, const trace_meta_t *meta, unsigned version)
{
    size_t n = tbenc_header_size(meta);
    if (n == 0) return _trace_fail(w->err, TRACE_EUSAGE, "%s: metadata too large", w->path);
    int rc = _trace_wroom(w, n);
    if (rc < 0) return rc;
    w->len += tbenc_header(w->buf + w->len, meta);
    tbenc_put16(w->buf + w->len - n + TBENC_OFF_VERSION, (uint16_t)version);
    return 0;
}

static int bin_wopen(trace_writer_t *w, const trace_meta_t *meta)
{
    return _tbin_wheader(w, meta, TBENC_VERSION);
}

static int bin_put(trace_writer_t *w, const trace_event_t *ev)
{
    int rc = _trace_wroom(w, TBENC_MAX_EVENT);
    if (rc < 0) return rc;
    w->len += tbenc_event(&w->enc, w->buf + w->len, ev);
    return 0;
}

static int bin_marker(trace_writer_t *w, const char *key, const char *value)
{
    size_t n = tbenc_marker_size(key, value);
    int rc = _trace_wroom(w, n);
    if (rc < 0) return rc;
    w->len += tbenc_marker(w->buf + w->len, key, value);
    return 0;
}

int _tbin_finish(trace_writer_t *w, const uint8_t *end, size_t n)
{
    uint8_t fixed[TBENC_FIXED];
    int rc = _trace_wroom(w, n);
    if (rc < 0) return rc;
    memcpy(w->buf + w->len, end, n);
    w->len += n;
    if ((rc = _trace_wflush(w)) < 0) return rc;
    if (fflush(w->fp) != 0)
        return _trace_fail(w->err, TRACE_EIO, "%s: cannot write: %s", w->path, strerror(errno));
    tbenc_patch(fixed, w->enc.events, w->live.nblocks, w->live.narenas);
    /* a pipe cannot seek: its counts stay unknown, which readers accept */
    if (fseek(w->fp, TBENC_OFF_FLAGS, SEEK_SET) != 0) return 0;
    if (fwrite(fixed + TBENC_OFF_FLAGS, 1, 2, w->fp) != 2 ||
        fseek(w->fp, TBENC_OFF_EVENTS, SEEK_SET) != 0 ||
        fwrite(fixed + TBENC_OFF_EVENTS, 1, 16, w->fp) != 16 || fseek(w->fp, 0, SEEK_END) != 0)
        return _trace_fail(w->err, TRACE_EIO, "%s: cannot write: %s", w->path, strerror(errno));
    return 0;
}

static int bin_finish(trace_writer_t *w)
{
    uint8_t end[TBENC_MAX_END];
    return _tbin_finish(w, end, tbenc_end(&w->enc, end));
}

/* ---- the format's table (internal/trace_impl.h) ------------------------------ */

int _tbin_sniff_version(const void *head, size_t n)
{
    /* four bytes tell binary from text (which cannot start with 0x89) */
    const uint8_t *h = head;
    if (n < 4 || memcmp(head, TBENC_MAGIC, 4) != 0) return -1;
    return n < TBENC_OFF_VERSION + 2 ? -2 : (int)bin_get(h + TBENC_OFF_VERSION, 2);
}

static int bin_sniff(const void *head, size_t n)
{
    /* a version other than 2 and 3 (trace_bin2.c) is this reader's to judge */
    int version = _tbin_sniff_version(head, n);
    return version != -1 && version != 2 && version != 3;
}

int _tbin_hints(const trace_reader_t *r, uint64_t *events, uint32_t *slots, uint32_t *aslots)
{
    if (!(r->bin.hflags & TBENC_F_COMPLETE)) return 0;
    *events = r->bin.hevents;
    *slots = r->bin.hslots;
    *aslots = r->bin.haslots;
    return 1;
}

/* no name selects version 1: writers use version 3 (or 2) unless asked */
static const char *const bin_exts[] = {NULL};

const trace_fmt_ops_t _trace_bin_ops = {
    .fmt = TRACE_FMT_BIN1,
    .name = "binary v1",
    .exts = bin_exts,
    .sniff = bin_sniff,
    .mapped = 1,
    .open = bin_open,
    .next = bin_next,
    .batch = bin_batch,
    .rewind = bin_rewind,
    .close = bin_close,
    .hints = _tbin_hints,
    .wopen = bin_wopen,
    .put = bin_put,
    .marker = bin_marker,
    .finish = bin_finish,
};
