/* trace_bin.c: arenalab's binary trace format (sim/TRACE-FORMAT.md): the
 * mmap'ed one-pass reader and the writer around trace_bin_enc.h.
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
#include "sim/internal/trace_impl.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Give consumed pages of the mapping back every this many bytes, so the
 * RSS of a long replay does not grow with the file. */
#define BIN_ADVISE_STEP ((size_t)16 << 20)

/* Preallocation from header hints is capped; the tables grow past it. */
#define BIN_RESERVE_MAX ((uint32_t)1 << 22)

static uint64_t bin_get(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

enum { BIN_OK = 1, BIN_SHORT = 0, BIN_BAD = -1 };

/* LEB128 at *P (< E): BIN_OK, BIN_SHORT (runs past E) or BIN_BAD (over 64
 * bits).  The general case, out of line. */
__attribute__((noinline)) static int bin_varint_slow(const uint8_t **pp, const uint8_t *e,
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
static int bin_corrupt_ev(trace_reader_t *r, const char *what)
{
    return _trace_fail(r->err, TRACE_ECORRUPT, "%s: event %llu: %s", r->path,
                       (unsigned long long)r->bin.nrec, what);
}

/* The end of the data came inside a record: a recorder stopped writing. */
static int bin_cut(trace_reader_t *r)
{
    r->truncated = 1;
    r->bin.done = 1;
    return 0;
}

int _trace_bin_open(trace_reader_t *r)
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
    if (version != TBENC_VERSION)
        return _trace_fail(r->err, TRACE_ECORRUPT,
                           "%s: header: format version %u (this reader knows version %d)", r->path,
                           version, TBENC_VERSION);
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
        if (!_trace_meta_key_ok((const char *)k, kl) ||
            _trace_meta_key_reserved((const char *)k, kl) ||
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
        /* every slot is first assigned by an event of at least one byte */
        size_t room = b->size - b->first;
        uint32_t nb = b->hslots, na = b->haslots;
        if (nb > room) nb = (uint32_t)room;
        if (na > room) na = (uint32_t)room;
        if (nb > BIN_RESERVE_MAX) nb = BIN_RESERVE_MAX;
        if (na > BIN_RESERVE_MAX) na = BIN_RESERVE_MAX;
        if (live_reserve(&r->live, nb, na) < 0)
            return _trace_fail(r->err, TRACE_ENOMEM, "%s: out of memory", r->path);
    }
    return _trace_bin_rewind(r);
}

int _trace_bin_rewind(trace_reader_t *r)
{
    trace_bin_t *b = &r->bin;
    b->p = b->base + b->first;
    b->advised = b->first;
    b->nrec = 0;
    b->done = 0;
    tbenc_init(&b->st);
    return 0;
}

void _trace_bin_close(trace_reader_t *r)
{
    if (r->bin.mapped) munmap((void *)r->bin.base, r->bin.size);
}

/* Drops the pages before P from the RSS (they come back from the file if
 * touched again, e.g. after a rewind). */
static void bin_advise(trace_bin_t *b, const uint8_t *p)
{
    size_t pos = (size_t)(p - b->base);
    if (!b->mapped || pos - b->advised < BIN_ADVISE_STEP) return;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t lo = b->advised / page * page, hi = pos / page * page;
    if (hi > lo) madvise((void *)(b->base + lo), hi - lo, MADV_DONTNEED);
    b->advised = pos;
}

/* A special record (END, THREAD, MARKER) at *PP, tag already taken.
 * Returns 1 to go on, 0 at the end (or cut short), or a fatal code. */
static int bin_special(trace_reader_t *r, unsigned op, unsigned bits, const uint8_t **pp)
{
    trace_bin_t *b = &r->bin;
    const uint8_t *p = *pp, *e = b->base + b->size;
    uint64_t v, kl, vl;
    int rc;
    char what[160];
    if (bits) return bin_corrupt_ev(r, "reserved bits set in a special record");
    switch (op) {
    case TBENC_REC_END:
        if ((rc = bin_varint(&p, e, &v)) != BIN_OK)
            return rc == BIN_SHORT ? bin_cut(r) : bin_corrupt_ev(r, "bad end record");
        if (v != b->nrec) {
            snprintf(what, sizeof what, "end record counts %llu events, the file has %llu",
                     (unsigned long long)v, (unsigned long long)b->nrec);
            return bin_corrupt_ev(r, what);
        }
        if (p != e) {
            snprintf(what, sizeof what, "%zu bytes after the end record", (size_t)(e - p));
            return bin_corrupt_ev(r, what);
        }
        if ((b->hflags & TBENC_F_COMPLETE) &&
            (b->hevents != b->nrec || b->hslots != r->live.nblocks ||
             b->haslots != r->live.narenas)) {
            snprintf(what, sizeof what,
                     "header counts (%llu events, %u blocks, %u arenas) differ from the trace's "
                     "(%llu, %u, %u)",
                     (unsigned long long)b->hevents, b->hslots, b->haslots,
                     (unsigned long long)b->nrec, r->live.nblocks, r->live.narenas);
            return bin_corrupt_ev(r, what);
        }
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
        if (!_trace_meta_key_ok((const char *)k, kl) ||
            !_trace_meta_value_ok((const char *)val, vl))
            return bin_corrupt_ev(r, "bad marker record");
        if (_trace_marker_add(r, r->nevents, (const char *)k, kl, (const char *)val, vl) < 0)
            return _trace_fail(r->err, TRACE_ENOMEM, "%s: out of memory", r->path);
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
 * or LIVE_NONE for one outside 0 .. 2^32-2 (reported as not live). */
static inline int bin_slot(const uint8_t **p, const uint8_t *e, unsigned bits, uint32_t ref,
                           uint32_t *slot)
{
    uint64_t z = bits;
    if (bits == TBENC_SLOT_ESC) {
        int rc = bin_varint(p, e, &z);
        if (rc != BIN_OK) return rc;
    }
    int64_t s = (int64_t)ref + tbenc_unzigzag(z);
    *slot = s >= 0 && s < (int64_t)UINT32_MAX ? (uint32_t)s : LIVE_NONE;
    return BIN_OK;
}

/* The shared slot algorithm, for every case the fast paths below leave to
 * it (and for the message of a rejected event).  0 or a negative code. */
static int bin_apply(trace_reader_t *r, trace_event_t *ev)
{
    char msg[TRACE_ERRLEN - 64];
    int rc = live_apply_slots(&r->live, ev, msg, sizeof msg);
    if (rc < 0)
        return _trace_fail(r->err, rc, "%s: event %llu: %s", r->path, (unsigned long long)ev->where,
                           msg);
    return 0;
}

/* One switch per event does decoding, applying and the coding-state
 * update: the op is unpredictable, so each extra dispatch on it costs a
 * branch miss.  The common cases (a/c/r/f/m without ownership, in fast
 * mode) update the live table inline with live.h's primitives; the rest
 * goes through live_apply_slots. */
int _trace_bin_next(trace_reader_t *r, trace_event_t *ev)
{
    trace_bin_t *b = &r->bin;
    live_t *l = &r->live;
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
        live_block_t *blk;
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
        ev->op = (uint8_t)op;
        ev->domain = (uint8_t)dom;
        ev->id = ev->arena = ev->slot = ev->aslot = 0;
        ev->size = ev->nmemb = 0;
        ev->where = b->nrec;
        ev->thread = st->thread;
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
                b->nrec++;
                if ((rc = bin_apply(r, ev)) < 0) return rc;
                st->prev_arena = id;
                st->ref_aslot = ev->aslot;
                break;
            }
            if (op == TRACE_CALLOC) BIN_GET(ev->nmemb);
            BIN_GET(ev->size);
            if (ev->size > TRACE_MAX_SIZE || ev->nmemb > TRACE_MAX_SIZE) goto too_big;
            ev->id = id;
            b->p = p;
            b->nrec++;
            ev->slot = live_fast_new(l, id, (uint8_t)dom);
            if (ev->slot == LIVE_NONE && (rc = bin_apply(r, ev)) < 0) return rc;
            st->prev_id = id;
            st->ref_slot = ev->slot;
            break;
        case TRACE_REALLOC:
        case TRACE_FREE:
            if ((rc = bin_slot(&p, e, bits, st->ref_slot, &ev->slot)) != BIN_OK) goto bad_varint;
            if (op == TRACE_REALLOC) {
                BIN_GET(ev->size);
                if (ev->size > TRACE_MAX_SIZE) goto too_big;
            }
            b->p = p;
            b->nrec++;
            blk = live_fast_block(l, ev->slot, (uint8_t)dom);
            if (blk && (op == TRACE_REALLOC || (!l->use_map && blk->owner == LIVE_NONE))) {
                ev->id = blk->id;
                if (op == TRACE_FREE) _live_push_block(l, ev->slot);
            } else if ((rc = bin_apply(r, ev)) < 0) {
                return rc;
            }
            st->ref_slot = ev->slot;
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
            b->nrec++;
            if (op == TRACE_ARENA_MALLOC && ev->aslot < l->narenas && l->arenas[ev->aslot].live)
                ev->arena = l->arenas[ev->aslot].id;
            else if ((rc = bin_apply(r, ev)) < 0)
                return rc;
            st->ref_aslot = ev->aslot;
            break;
        case TRACE_ARENA_OWN:
            if ((rc = bin_slot(&p, e, bits, st->ref_slot, &ev->slot)) != BIN_OK) goto bad_varint;
            BIN_GET(v);
            ev->aslot = v < UINT32_MAX ? (uint32_t)v : LIVE_NONE;
            b->p = p;
            b->nrec++;
            if ((rc = bin_apply(r, ev)) < 0) return rc;
            st->ref_aslot = ev->aslot;
            st->ref_slot = ev->slot;
            break;
        case TRACE_NOPS:
            break;
        }
        bin_advise(b, p);
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

/* ---- writing --------------------------------------------------------------- */

int _trace_bin_wopen(trace_writer_t *w, const trace_meta_t *meta)
{
    size_t n = tbenc_header_size(meta);
    if (n == 0) return _trace_fail(w->err, TRACE_EUSAGE, "%s: metadata too large", w->path);
    int rc = _trace_wroom(w, n);
    if (rc < 0) return rc;
    w->len += tbenc_header(w->buf + w->len, meta);
    return 0;
}

int _trace_bin_put(trace_writer_t *w, const trace_event_t *ev)
{
    int rc = _trace_wroom(w, TBENC_MAX_EVENT);
    if (rc < 0) return rc;
    w->len += tbenc_event(&w->enc, w->buf + w->len, ev);
    return 0;
}

int _trace_bin_marker(trace_writer_t *w, const char *key, const char *value)
{
    size_t n = tbenc_marker_size(key, value);
    int rc = _trace_wroom(w, n);
    if (rc < 0) return rc;
    w->len += tbenc_marker(w->buf + w->len, key, value);
    return 0;
}

int _trace_bin_finish(trace_writer_t *w)
{
    uint8_t fixed[TBENC_FIXED];
    int rc = _trace_wroom(w, TBENC_MAX_END);
    if (rc < 0) return rc;
    w->len += tbenc_end(&w->enc, w->buf + w->len);
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
