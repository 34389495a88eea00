/* live.h: the id/slot tracker every trace reader and writer shares.
 *
 * A trace names blocks and arenas by arbitrary 32-bit ids; a replay wants
 * dense indices.  live_t keeps, for blocks and (separately) for arenas:
 *
 *   - a slot table: slot -> {state byte, id, owner links}, stored as
 *     separate arrays so that the check every event makes (is this slot
 *     live, in this domain?) reads one byte per slot;
 *   - the free slots, LIFO: a new block takes the most recently freed
 *     slot that is still free, else the next never-used one (the
 *     high-water mark).  That is a stack (blocks) or a free list
 *     (arenas).  So the slot count is the trace's peak live count, and the
 *     same event gets the same slot in every reader and writer;
 *   - optionally an id -> slot hash (open addressing, linear probing,
 *     backward-shift deletion, no tombstones), used to resolve ids (text)
 *     and to reject an `a` of a live id.  A binary reader in fast mode
 *     names blocks by slot and skips it.
 *
 * Ownership (`o AID ID`): each block has at most one owning arena; each
 * arena keeps its owned blocks in a doubly linked list through the blocks'
 * links, in the order of their latest `o` event (an `o` of an owned block
 * unlinks it from its old owner and appends it to the new one, even when
 * both are the same arena).  `f` of an owned block unlinks it.  `x` frees
 * the arena and then its owned blocks in list order: their slots are pushed
 * on the free stack in that order, so the block owned last is the first
 * slot reused.  A recorder that wants to use its own ids as slots must
 * recycle them by exactly this rule.
 *
 * Invariants (live_is_valid checks them all):
 *   - a slot is either live or on the free stack (once), never both;
 *   - live blocks + free slots == high-water mark (same for arenas);
 *   - with the hash: it holds exactly the live ids, each mapping to the
 *     live slot that carries that id;
 *   - a block is LIVE_B_OWNED iff it has an owner; its owner is a live
 *     arena whose list contains it, once.
 *
 * Memory grows only when a successful event needs a new slot (or hash
 * room), so it is bounded by the number of events actually applied, and
 * by the peak live count, whatever the ids look like.
 *
 * Failure: live_apply_* return 0, TRACE_ESEM (message in MSG, state
 * unchanged) or TRACE_ENOMEM (state unchanged). */
#ifndef ARENALAB_SIM_TRACE_LIVE_H
#define ARENALAB_SIM_TRACE_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "sim/trace/trace.h"

#define LIVE_NONE UINT32_MAX

/* Slot counts stay below this so that slot + 1 and counts fit a uint32_t. */
#define LIVE_MAX_SLOTS (UINT32_MAX - 1)

/* A block's state byte (live_t.bstate), the one thing the per-event checks
 * read: 0 when the slot is free; when live, LIVE_B_LIVE | its domain, plus
 * LIVE_B_OWNED while an arena owns it.  So "live in domain D and not
 * owned", the condition of the common `f`, is one compare with
 * LIVE_B_LIVE | D, and the whole table of a 20000-block live set is 20 KiB:
 * it stays in L1 while ids and links (cold) live in arrays of their own. */
#define LIVE_B_DOMAIN 0x03u
#define LIVE_B_LIVE   0x04u
#define LIVE_B_OWNED  0x08u

/* Owner list links of a block, meaningful only while LIVE_B_OWNED. */
typedef struct {
    uint32_t owner; /* owning arena slot                                 */
    uint32_t prev;  /* owner's list; LIVE_NONE at its ends               */
    uint32_t next;
} live_link_t;

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

/* Blocks are a struct of arrays indexed by slot, [0, nblocks) in use, all
 * bcap long; the free slots are a stack (the LIFO rule is a stack: the
 * most recently freed slot still free is its top). */
typedef struct {
    uint8_t *bstate;    /* LIVE_B_* per slot                             */
    uint32_t *bid;      /* id as written, while live                     */
    live_link_t *blink; /* owner links, while LIVE_B_OWNED               */
    uint32_t *bfree;    /* free slots; bfree[nbfree - 1] is the top      */
    uint32_t nbfree;    /* free slots = nblocks - nlive                  */
    uint32_t nblocks;   /* high-water mark = peak live blocks            */
    uint32_t bcap;      /* length of the four arrays                     */
    uint32_t nlive;     /* live blocks                                   */
    live_arena_t *arenas;
    uint32_t narenas; /* high-water mark = peak live arenas               */
    uint32_t acap;
    uint32_t afree; /* top of the arena free list, LIVE_NONE if empty   */
    uint32_t nalive;
    int use_map;     /* resolve / check ids through the hashes           */
    int cross;       /* let r/f name another domain (TRACE_R_CROSS_DOMAIN) */
    live_map_t bmap; /* block id -> slot                                 */
    live_map_t amap; /* arena id -> slot                                 */
    uint32_t *owned; /* slots released by the last `x`, in order         */
    uint32_t nowned;
    uint32_t owned_cap;
    struct pheap_s *heap; /* where the tables live; NULL: malloc (set after
                             live_init; internal/trace_mem.h)            */
} live_t;

/* USE_MAP: keep the id hashes (needed to resolve ids).  Allocates nothing. */
void live_init(live_t *l, int use_map);
void live_free(live_t *l);
/* Back to the empty state; keeps the memory. */
void live_reset(live_t *l);

/* Bytes the tables hold now (capacities, not live entries). */
uint64_t live_bytes(const live_t *l);
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

/* The `o` of live block S by live arena AS (both checked by the caller):
 * moves S to the end of AS's owned list.  For a reader's fast path. */
void live_own(live_t *l, uint32_t as, uint32_t s);

/* ---- the LIFO rule, shared by live.c and the binary reader's batch loop */

/* The slot a new block takes: the top of the free stack, which starts at
 * BASE and ends below *TOP, else the next never-used slot *N.  Needs room
 * (*TOP > BASE or *N < capacity).  The top is a pointer so that the
 * reader's loop keeps it in a register. */
static inline uint32_t live_lifo_take(const uint32_t *base, uint32_t **top, uint32_t *n)
{
    return *top != base ? *--*top : (*n)++;
}

/* Slot S becomes free: the next one taken. */
static inline void live_lifo_give(uint32_t **top, uint32_t s)
{
    *(*top)++ = s;
}

/* ---- reading the tables (tests, the synthetic generator) ---------------- */

static inline int live_block_is_live(const live_t *l, uint32_t s)
{
    return s < l->nblocks && (l->bstate[s] & LIVE_B_LIVE);
}

/* Id and domain of the live block at slot S. */
static inline uint32_t live_block_id(const live_t *l, uint32_t s)
{
    return l->bid[s];
}

static inline uint8_t live_block_domain(const live_t *l, uint32_t s)
{
    return (uint8_t)(l->bstate[s] & LIVE_B_DOMAIN);
}

static inline int live_arena_is_live(const live_t *l, uint32_t s)
{
    return s < l->narenas && l->arenas[s].live;
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
    return l->nbfree ? l->bfree[l->nbfree - 1] : l->nblocks;
}

/* Checks every invariant above (O(slots)); 1 if they hold. */
int live_is_valid(const live_t *l);

#endif
