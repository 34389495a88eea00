/* arenas_perobj.h: the `per-object` arena mode's records (arenas.c), shared
 * with the replay's default timed loop (replay.c), which runs this mode's
 * `m` inline: through the mode's malloc, an `m` cost two calls (the mode,
 * then MEM) and ~40 instructions of the mode's own (registers saved, its
 * tables reloaded), 5-7 ns an event on ast.atr above the bare loop; inline it
 * is a few loads and stores around the one call to MEM.
 *
 * Bookkeeping: one pool of 16-byte slots (a mapvec), in chunks of
 * PEROBJ_SLOTS: a chunk's first slot is its header (the older chunk of the
 * same arena, or the next on the free list), the other 15 hold {ptr, size}
 * records.  Each live arena has a chain of chunks, newest first, and one
 * word: top[aslot], the slot its next record goes to (0: no chunk yet).
 * So an `m` reads top, writes the record and top + 1, and takes a chunk
 * only when top is at a chunk boundary (a multiple of PEROBJ_SLOTS: the
 * newest chunk is full, or there is none).  Chunks go back to the free
 * list at `x`; the pool is sized from the pre-pass's peak of live records,
 * so it is as large as that peak, never the total.
 *
 * Invariants: top[aslot] is 0 or a slot of the arena's newest chunk C in
 * (C * PEROBJ_SLOTS, (C + 1) * PEROBJ_SLOTS]; that chunk holds records in
 * slots C * PEROBJ_SLOTS + 1 .. top - 1, every older chunk of the chain is
 * full; chunks start at multiples of 256 bytes of a page-aligned mapping,
 * so a record never straddles a cache line; a record is
 * written only after MEM returned its pointer (perobj_room first, then
 * MEM, then perobj_note), so a failed MEM call leaves no record behind.
 */
#ifndef ARENALAB_SIM_REPLAY_INTERNAL_ARENAS_PEROBJ_H
#define ARENALAB_SIM_REPLAY_INTERNAL_ARENAS_PEROBJ_H

#include <stdint.h>

#include "sim/base/mapvec.h"
#include "sim/replay/arenas.h"

#define PEROBJ_NONE  UINT32_MAX
#define PEROBJ_SLOTS 16 /* a chunk: its header, then 15 records */

typedef struct {
    void *ptr;
    uint64_t size;
} perobj_rec_t;

typedef union {
    perobj_rec_t rec;
    uint32_t next; /* a header: the older chunk of the arena, or the free list */
} perobj_slot_t;

_Static_assert(sizeof(perobj_slot_t) == 16, "a chunk is 256 bytes");

typedef struct {
    mapvec_t self; /* the mapping this struct lives in                    */
    alloc_t mem;
    arenas_release_fn release;
    void *ud;
    mapvec_t tops;    /* uint32_t per arena slot: top (see above)         */
    uint32_t naslots; /* arena slots seen                                 */
    mapvec_t pool;    /* perobj_slot_t[], PEROBJ_SLOTS per chunk           */
    uint32_t nchunks;
    uint32_t free_chunk;
} perobj_t;

/* The mode (arenas.c); a replay whose mode is this one may use the
 * functions below on its state. */
extern const arenas_mode_t arenas_perobject;

/* Out of line (arenas.c): a fresh chunk at the head of ASLOT's chain, from
 * the free list or the pool's end; its first record slot, or 0 when out of
 * memory. */
uint32_t perobj_grow(perobj_t *s, uint32_t aslot);

/* The slot the next record of ASLOT goes to (0: out of memory). */
static inline uint32_t perobj_room(perobj_t *s, uint32_t aslot)
{
    uint32_t top = ((const uint32_t *)s->tops.p)[aslot];
    if (__builtin_expect(top % PEROBJ_SLOTS != 0, 1)) return top;
    return perobj_grow(s, aslot);
}

/* Records the allocation P of SIZE bytes in SLOT (from perobj_room). */
static inline void perobj_note(perobj_t *s, uint32_t aslot, uint32_t slot, void *p, uint64_t size)
{
    ((perobj_slot_t *)s->pool.p)[slot].rec = (perobj_rec_t){p, size};
    ((uint32_t *)s->tops.p)[aslot] = slot + 1;
}

#endif
