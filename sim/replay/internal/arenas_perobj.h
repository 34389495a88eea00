/* arenas_perobj.h: the `per-object` arena mode's records (arenas.c), shared
 * with the replay's default timed loop (replay.c), which runs this mode's
 * `m` inline: through the mode's malloc, an `m` cost two calls (the mode,
 * then MEM) and ~40 instructions of the mode's own (registers saved, its
 * tables reloaded), 7 ns an event on ast.atr above the bare loop; inline it
 * is the record's few loads and stores and the one call to MEM.
 *
 * Bookkeeping: each live arena has a chain of chunks of {ptr, size}
 * records, newest chunk first; chunks come from one mapvec pool, sized
 * from the pre-pass's peak of live records, and go back to its free list
 * at `x`, so the pool is as large as the peak count of live records, never
 * the total.
 *
 * Invariants: heads[aslot] is NONE or the newest chunk of the arena's
 * chain; every chunk of a chain has n records in rec[0..n), the head may
 * have fewer than PEROBJ_RECORDS, the others are full; a record is written
 * only after MEM returned its pointer (perobj_room first, then MEM, then
 * perobj_note), so a failed MEM call leaves no record behind.
 */
#ifndef ARENALAB_SIM_REPLAY_INTERNAL_ARENAS_PEROBJ_H
#define ARENALAB_SIM_REPLAY_INTERNAL_ARENAS_PEROBJ_H

#include <stdint.h>

#include "sim/base/mapvec.h"
#include "sim/replay/arenas.h"

#define PEROBJ_NONE    UINT32_MAX
#define PEROBJ_RECORDS 15

typedef struct {
    void *ptr;
    uint64_t size;
} perobj_rec_t;

typedef struct {
    uint32_t next; /* older chunk of the same arena, or the free list     */
    uint32_t n;    /* records used                                         */
    perobj_rec_t rec[PEROBJ_RECORDS];
} perobj_chunk_t;

typedef struct {
    mapvec_t self; /* the mapping this struct lives in                    */
    alloc_t mem;
    arenas_release_fn release;
    void *ud;
    mapvec_t heads;  /* uint32_t per arena slot: newest chunk or NONE    */
    uint32_t nheads; /* arena slots seen                                  */
    mapvec_t pool;   /* perobj_chunk_t[]                                  */
    uint32_t nchunks;
    uint32_t free_chunk;
} perobj_t;

/* The mode (arenas.c); a replay whose mode is this one may use the
 * functions below on its state. */
extern const arenas_mode_t arenas_perobject;

/* Out of line (arenas.c): a fresh chunk at the head of ASLOT's chain, from
 * the free list or the pool's end; NULL when out of memory. */
perobj_chunk_t *perobj_grow(perobj_t *s, uint32_t aslot);

/* The chunk the next record of ASLOT goes to (NULL: out of memory). */
static inline perobj_chunk_t *perobj_room(perobj_t *s, uint32_t aslot)
{
    uint32_t c = ((const uint32_t *)s->heads.p)[aslot];
    if (__builtin_expect(c != PEROBJ_NONE, 1)) {
        perobj_chunk_t *ch = (perobj_chunk_t *)s->pool.p + c;
        if (__builtin_expect(ch->n < PEROBJ_RECORDS, 1)) return ch;
    }
    return perobj_grow(s, aslot);
}

/* Records the allocation P of SIZE bytes in CH (from perobj_room). */
static inline void perobj_note(perobj_chunk_t *ch, void *p, uint64_t size)
{
    ch->rec[ch->n++] = (perobj_rec_t){p, size};
}

#endif
