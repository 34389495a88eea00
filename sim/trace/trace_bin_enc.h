/* trace_bin_enc.h: the binary trace encoder as pure functions (sim/trace/TRACE-FORMAT.md).
 *
 * Everything here writes into a caller's buffer and allocates nothing, so an
 * LD_PRELOAD recorder that must not call malloc can include this header and
 * produce files the readers accept.  The writer in trace_bin.c uses the same
 * functions, so there is one encoder.
 *
 * The encoder trusts its input: EV must be valid for the trace so far and
 * carry the slots the shared LIFO rule (sim/trace/live.h) assigns; a/c/n slots are
 * implicit in the format and not written.  A recorder may use its own ids
 * as slots when it recycles them by that same rule: a new block takes the
 * most recently freed slot that is still free, else the next never-used one;
 * `x` releases the arena's owned blocks in the order of their latest `o`.
 *
 * Sizes: tbenc_event writes at most TBENC_MAX_EVENT bytes (a thread switch
 * included); tbenc_end at most TBENC_MAX_END; a header and a marker as many
 * as tbenc_header_size / tbenc_marker_size say. */
#ifndef ARENALAB_SIM_TRACE_TRACE_BIN_ENC_H
#define ARENALAB_SIM_TRACE_TRACE_BIN_ENC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sim/trace/trace.h"

/* ---- file layout -------------------------------------------------------- */

#define TBENC_MAGIC                                                                                \
    "\x89"                                                                                         \
    "ATR\r\n\x1a\n" /* 8 bytes                    */
#define TBENC_MAGIC_LEN 8
#define TBENC_VERSION   1
#define TBENC_FIXED     36 /* bytes of the fixed header, before metadata   */

/* Header field offsets (little-endian). */
#define TBENC_OFF_VERSION 8  /* u16                                        */
#define TBENC_OFF_FLAGS   10 /* u16                                        */
#define TBENC_OFF_HDRLEN  12 /* u32: offset of the first record            */
#define TBENC_OFF_EVENTS  16 /* u64: event records                         */
#define TBENC_OFF_SLOTS   24 /* u32: peak live blocks                      */
#define TBENC_OFF_ASLOTS  28 /* u32: peak live arenas                      */
#define TBENC_OFF_NMETA   32 /* u32: metadata entries                      */

#define TBENC_F_COMPLETE 0x0001 /* counts are valid: the writer finished   */
#define TBENC_F_KNOWN    0x0001 /* every flag a version-1 reader knows     */

/* ---- records ------------------------------------------------------------ */

/* Tag byte: bits 0-2 op (trace_op_t), bits 3-4 domain (trace_domain_t),
 * bits 5-7 per-op bits.  Domain 3 marks a special record, op then being: */
#define TBENC_SPECIAL    3
#define TBENC_REC_END    0 /* varint event-record count; then end of file */
#define TBENC_REC_THREAD 1 /* varint thread id for the following events    */
#define TBENC_REC_MARKER 2 /* varint klen, key, varint vlen, value         */

#define TBENC_TAG(op, dom, bits) ((uint8_t)((op) | ((dom) << 3) | ((bits) << 5)))
#define TBENC_TAG_END            TBENC_TAG(TBENC_REC_END, TBENC_SPECIAL, 0)
#define TBENC_TAG_THREAD         TBENC_TAG(TBENC_REC_THREAD, TBENC_SPECIAL, 0)
#define TBENC_TAG_MARKER         TBENC_TAG(TBENC_REC_MARKER, TBENC_SPECIAL, 0)

/* Per-op bits. */
#define TBENC_B_NEXT_ID   1 /* a c n: id == previous id + 1, not stored   */
#define TBENC_B_SAME_AREA 1 /* m x: arena slot == reference, not stored    */
#define TBENC_SLOT_ESC                                                                             \
    7 /* r f o: bits hold zigzag(slot - ref) when < 7,                                             \
         else 7 and a varint zigzag delta follows     */

/* tag + id 5 + nmemb 7 + size 7, plus a 6-byte thread switch, rounded up. */
#define TBENC_MAX_EVENT 32
#define TBENC_MAX_END   11

/* Delta-coding state, the same in the encoder and the decoder. */
typedef struct {
    uint32_t prev_id;    /* last a/c id; UINT32_MAX at start, so 0 is next  */
    uint32_t prev_arena; /* last n arena id; UINT32_MAX at start            */
    uint32_t ref_slot;   /* last block slot named or assigned (a c r f o)   */
    uint32_t ref_aslot;  /* last arena slot named or assigned (n m o x)     */
    uint32_t thread;     /* thread of the following events; 0 at start      */
    uint64_t events;     /* event records so far                            */
} tbenc_t;

static inline void tbenc_init(tbenc_t *s)
{
    s->prev_id = s->prev_arena = UINT32_MAX;
    s->ref_slot = s->ref_aslot = s->thread = 0;
    s->events = 0;
}

static inline uint8_t *tbenc_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static inline size_t tbenc_varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline uint64_t tbenc_zigzag(int64_t d)
{
    return ((uint64_t)d << 1) ^ (uint64_t)(d >> 63);
}

static inline int64_t tbenc_unzigzag(uint64_t z)
{
    return (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
}

static inline void tbenc_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void tbenc_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void tbenc_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Bytes of the header with metadata META (NULL: none); 0 if it would not
 * fit the u32 header length. */
static inline size_t tbenc_header_size(const trace_meta_t *meta)
{
    uint64_t n = TBENC_FIXED;
    for (size_t i = 0; meta && i < meta->n; i++) {
        size_t kl = strlen(meta->entries[i].key), vl = strlen(meta->entries[i].value);
        n += tbenc_varint_len(kl) + kl + tbenc_varint_len(vl) + vl;
        if (n > UINT32_MAX) return 0;
    }
    return (size_t)n;
}

/* Writes the header (tbenc_header_size bytes) with unknown counts and the
 * COMPLETE flag clear; tbenc_patch fills them in when the trace is done. */
static inline size_t tbenc_header(uint8_t *out, const trace_meta_t *meta)
{
    size_t n = tbenc_header_size(meta);
    uint8_t *p = out + TBENC_FIXED;
    memset(out, 0, TBENC_FIXED);
    memcpy(out, TBENC_MAGIC, TBENC_MAGIC_LEN);
    tbenc_put16(out + TBENC_OFF_VERSION, TBENC_VERSION);
    tbenc_put32(out + TBENC_OFF_HDRLEN, (uint32_t)n);
    tbenc_put32(out + TBENC_OFF_NMETA, meta ? (uint32_t)meta->n : 0);
    for (size_t i = 0; meta && i < meta->n; i++) {
        size_t kl = strlen(meta->entries[i].key), vl = strlen(meta->entries[i].value);
        p = tbenc_varint(p, kl);
        memcpy(p, meta->entries[i].key, kl);
        p = tbenc_varint(p + kl, vl);
        memcpy(p, meta->entries[i].value, vl);
        p += vl;
    }
    return n;
}

/* Fills the counts of a finished trace into the first TBENC_FIXED bytes of
 * its header and sets TBENC_F_COMPLETE. */
static inline void tbenc_patch(uint8_t *fixed, uint64_t events, uint32_t slots, uint32_t aslots)
{
    tbenc_put16(fixed + TBENC_OFF_FLAGS, TBENC_F_COMPLETE);
    tbenc_put64(fixed + TBENC_OFF_EVENTS, events);
    tbenc_put32(fixed + TBENC_OFF_SLOTS, slots);
    tbenc_put32(fixed + TBENC_OFF_ASLOTS, aslots);
}

/* Block slot reference: returns the tag bits, writing an escape varint to
 * *P when the delta does not fit them. */
static inline unsigned tbenc_slot(tbenc_t *s, uint8_t **p, uint32_t slot)
{
    uint64_t z = tbenc_zigzag((int64_t)slot - (int64_t)s->ref_slot);
    s->ref_slot = slot;
    if (z < TBENC_SLOT_ESC) return (unsigned)z;
    *p = tbenc_varint(*p, z);
    return TBENC_SLOT_ESC;
}

/* New id: returns TBENC_B_NEXT_ID, or 0 after writing the zigzag delta from
 * previous + 1 (mod 2^32) to *P. */
static inline unsigned tbenc_id(uint32_t *prev, uint8_t **p, uint32_t id)
{
    int32_t d = (int32_t)(id - (*prev + 1u));
    *prev = id;
    if (d == 0) return TBENC_B_NEXT_ID;
    *p = tbenc_varint(*p, tbenc_zigzag(d));
    return 0;
}

/* Arena slot reference for m/x: TBENC_B_SAME_AREA or 0 after a varint. */
static inline unsigned tbenc_aslot(tbenc_t *s, uint8_t **p, uint32_t aslot)
{
    if (aslot == s->ref_aslot) return TBENC_B_SAME_AREA;
    s->ref_aslot = aslot;
    *p = tbenc_varint(*p, aslot);
    return 0;
}

/* Encodes EV (slots resolved) into OUT (>= TBENC_MAX_EVENT bytes), preceded
 * by a thread switch when ev->thread changed.  Returns the bytes written. */
static inline size_t tbenc_event(tbenc_t *s, uint8_t *out, const trace_event_t *ev)
{
    uint8_t *p = out;
    if (ev->thread != s->thread) {
        *p++ = TBENC_TAG_THREAD;
        p = tbenc_varint(p, ev->thread);
        s->thread = ev->thread;
    }
    uint8_t *tag = p++;
    unsigned bits = 0, dom = ev->op <= TRACE_FREE ? ev->domain : TRACE_MEM;
    switch ((trace_op_t)ev->op) {
    case TRACE_ALLOC:
    case TRACE_CALLOC:
        bits = tbenc_id(&s->prev_id, &p, ev->id);
        if (ev->op == TRACE_CALLOC) p = tbenc_varint(p, ev->nmemb);
        p = tbenc_varint(p, ev->size);
        s->ref_slot = ev->slot;
        break;
    case TRACE_REALLOC:
        bits = tbenc_slot(s, &p, ev->slot);
        p = tbenc_varint(p, ev->size);
        break;
    case TRACE_FREE:
        bits = tbenc_slot(s, &p, ev->slot);
        break;
    case TRACE_ARENA_NEW:
        bits = tbenc_id(&s->prev_arena, &p, ev->arena);
        s->ref_aslot = ev->aslot;
        break;
    case TRACE_ARENA_MALLOC:
        bits = tbenc_aslot(s, &p, ev->aslot);
        p = tbenc_varint(p, ev->size);
        break;
    case TRACE_ARENA_OWN:
        bits = tbenc_slot(s, &p, ev->slot);
        p = tbenc_varint(p, ev->aslot);
        s->ref_aslot = ev->aslot;
        break;
    case TRACE_ARENA_FREE:
    default:
        bits = tbenc_aslot(s, &p, ev->aslot);
        break;
    }
    *tag = TBENC_TAG(ev->op & 7u, dom, bits);
    s->events++;
    return (size_t)(p - out);
}

static inline size_t tbenc_marker_size(const char *key, const char *value)
{
    size_t kl = strlen(key), vl = strlen(value);
    return 1 + tbenc_varint_len(kl) + kl + tbenc_varint_len(vl) + vl;
}

/* Writes an inline marker record (tbenc_marker_size bytes). */
static inline size_t tbenc_marker(uint8_t *out, const char *key, const char *value)
{
    size_t kl = strlen(key), vl = strlen(value);
    uint8_t *p = out;
    *p++ = TBENC_TAG_MARKER;
    p = tbenc_varint(p, kl);
    memcpy(p, key, kl);
    p = tbenc_varint(p + kl, vl);
    memcpy(p, value, vl);
    return (size_t)(p + vl - out);
}

/* Writes the end record (at most TBENC_MAX_END bytes). */
static inline size_t tbenc_end(const tbenc_t *s, uint8_t *out)
{
    out[0] = TBENC_TAG_END;
    return (size_t)(tbenc_varint(out + 1, s->events) - out);
}

#endif
