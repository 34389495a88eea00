/* live.h: the id/slot tracker every trace reader and writer shares.
 *
 * A trace names blocks and arenas by arbitrary 32-bit ids; a replay wants
 * dense indices.  live_t keeps, for blocks and (separately) for arenas:
 *
 *   - a slot table: slot -> {id, domain, owner, ...};
 *   - a LIFO free list of slots: a new block takes the most recently freed
 *     slot that is still free, else the next never-used one (the
 *     high-water mark).  So the slot count is the trace's peak live count,
 *     and the same event gets the same slot in every reader and writer;
 *   - optionally an id -> slot hash (open addressing, linear probing,
 *     backward-shift deletion, no tombstones), used to resolve ids (text)
 *     and to reject an `a` of a live id.  A binary reader in fast mode
 *     names blocks by slot and skips it.
 *
 * Ownership (`o AID ID`): each block has at most one owning arena; each
 * arena keeps its owned blocks in a doubly linked list through the slot
 * table, in the order of their latest `o` event (an `o` of an owned block
 * unlinks it from its old owner and appends it to the new one, even when
 * both are the same arena).  `f` of an owned block unlinks it.  `x` frees
 * the arena and then its owned blocks in list order: their slots are pushed
 * on the free list in that order, so the block owned last is the first
 * slot reused.  A recorder that wants to use its own ids as slots must
 * recycle them by exactly this rule.
 *
 * Invariants (live_is_valid checks them all):
 *   - a slot is either live or on the free list, never both;
 *   - live blocks + free slots == high-water mark (same for arenas);
 *   - with the hash: it holds exactly the live ids, each mapping to the
 *     live slot that carries that id;
 *   - a block's owner is a live arena whose list contains it, once.
 *
 * Memory grows only when a successful event needs a new slot (or hash
 * room), so it is bounded by the number of events actually applied, and
 * by the peak live count, whatever the ids look like.
 *
 * Failure: live_apply_* return 0, TRACE_ESEM (message in MSG, state
 * unchanged) or TRACE_ENOMEM (state unchanged). */
#ifndef ARENALAB_SIM_LIVE_H
#define ARENALAB_SIM_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "sim/trace.h"

#define LIVE_NONE UINT32_MAX

/* Slot counts stay below this so that slot + 1 and counts fit a uint32_t. */
#define LIVE_MAX_SLOTS (UINT32_MAX - 1)

typedef struct {
    uint32_t id;    /* id as written                                     */
    uint32_t owner; /* owning arena slot, LIVE_NONE when not owned       */
    uint32_t prev;  /* owner's list; LIVE_NONE at its ends               */
    uint32_t next;  /* owner's list when live, free list when free       */
    uint8_t domain; /* trace_domain_t of the allocation                  */
    uint8_t live;   /* 1 live, 0 on the free list                        */
} live_block_t;

typedef struct {
    uint32_t id;     /* arena id as written                               */
    uint32_t head;   /* owned blocks, oldest `o` first                    */
    uint32_t tail;   /*                                                   */
    uint32_t next;   /* free list when free                               */
    uint32_t nowned; /* length of the owned list                          */
    uint8_t live;
} live_arena_t;

typedef struct {
    uint32_t id;
    uint32_t slot1; /* slot + 1; 0 marks an empty cell                    */
} live_cell_t;

typedef struct {
    live_cell_t *cells;
    uint32_t mask; /* capacity - 1; capacity a power of two, or 0        */
    uint32_t n;
} live_map_t;

typedef struct {
    live_block_t *blocks; /* [0, nblocks): every slot ever used           */
    uint32_t nblocks;     /* high-water mark = peak live blocks           */
    uint32_t bcap;
    uint32_t bfree; /* top of the block free list, LIVE_NONE if empty */
    uint32_t nlive; /* live blocks                                    */
    live_arena_t *arenas;
    uint32_t narenas; /* high-water mark = peak live arenas               */
    uint32_t acap;
    uint32_t afree;
    uint32_t nalive;
    int use_map;     /* resolve / check ids through the hashes           */
    live_map_t bmap; /* block id -> slot                                 */
    live_map_t amap; /* arena id -> slot                                 */
    uint32_t *owned; /* slots released by the last `x`, in order         */
    uint32_t nowned;
    uint32_t owned_cap;
} live_t;

/* USE_MAP: keep the id hashes (needed to resolve ids).  Allocates nothing. */
void live_init(live_t *l, int use_map);
void live_free(live_t *l);
/* Back to the empty state; keeps the memory. */
void live_reset(live_t *l);
/* Preallocates room for NB block and NA arena slots (hints: the tables
 * still grow past them).  Returns 0 or TRACE_ENOMEM. */
int live_reserve(live_t *l, uint32_t nb, uint32_t na);

/* Applies EV, whose blocks and arenas are named by ev->id / ev->arena (text
 * reader, writer): fills ev->slot / ev->aslot.  Needs use_map. */
int live_apply_ids(live_t *l, trace_event_t *ev, char *msg, size_t msglen);

/* Applies EV, whose existing blocks and arenas are named by ev->slot /
 * ev->aslot (binary reader): checks them, fills ev->id / ev->arena from the
 * tables, and assigns the slot of a new block or arena (whose id is in
 * ev->id / ev->arena).  With use_map it also rejects live ids. */
int live_apply_slots(live_t *l, trace_event_t *ev, char *msg, size_t msglen);

/* ---- the LIFO rule, shared by live.c and the readers' fast paths ------ */

/* Takes the slot a new block gets; needs room (bfree set or nblocks <
 * bcap).  The caller fills blocks[slot]. */
static inline uint32_t _live_pop_block(live_t *l)
{
    uint32_t s = l->bfree;
    if (s != LIVE_NONE)
        l->bfree = l->blocks[s].next;
    else
        s = l->nblocks++;
    l->nlive++;
    return s;
}

/* Puts the (unowned, unmapped) block at S on the free list. */
static inline void _live_push_block(live_t *l, uint32_t s)
{
    live_block_t *b = &l->blocks[s];
    b->live = 0;
    b->owner = b->prev = LIVE_NONE;
    b->next = l->bfree;
    l->bfree = s;
    l->nlive--;
}

/* Fast path for readers that name blocks by slot without the id maps: a
 * new block when that needs neither memory nor a hash.  Its slot, or
 * LIVE_NONE when live_apply_slots must do it. */
static inline uint32_t live_fast_new(live_t *l, uint32_t id, uint8_t domain)
{
    if (l->use_map || (l->bfree == LIVE_NONE && l->nblocks == l->bcap)) return LIVE_NONE;
    uint32_t s = _live_pop_block(l);
    l->blocks[s] = (live_block_t){id, LIVE_NONE, LIVE_NONE, LIVE_NONE, domain, 1};
    return s;
}

/* The live block at slot S allocated in DOMAIN, or NULL. */
static inline live_block_t *live_fast_block(live_t *l, uint32_t s, uint8_t domain)
{
    live_block_t *b = s < l->nblocks ? &l->blocks[s] : NULL;
    return b && b->live && b->domain == domain ? b : NULL;
}

/* The block slots the last successful `x` released, in release order. */
static inline uint32_t live_owned(const live_t *l, const uint32_t **slots)
{
    *slots = l->owned;
    return l->nowned;
}

/* The slot a new block would get now (the LIFO rule). */
static inline uint32_t live_next_slot(const live_t *l)
{
    return l->bfree != LIVE_NONE ? l->bfree : l->nblocks;
}

/* Checks every invariant above (O(slots)); 1 if they hold. */
int live_is_valid(const live_t *l);

#endif
