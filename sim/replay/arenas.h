/* arenas.h: how a replay turns arena events (n m o x) into allocator calls.
 *
 * The allocators under test have no arenas, so the replay emulates them.
 * A mode is one arenas_mode_t; adding one is one file defining it plus a
 * line in arenas.c's table.  Modes: `pyarena` (the default: CPython's
 * PyArena algorithm, sim/replay/arenas_pyarena.c) and `per-object`.
 *
 *   n AID        new_arena(aslot)
 *   m AID SIZE   malloc(aslot, size): memory drawn from the MEM allocator
 *   o AID ID     own(aslot, slot), optional: the trace reader already
 *                tracks ownership; a mode calls it to model the cost
 *   x AID        free_arena(aslot, owned, nowned): gives back everything
 *                the arena drew from MEM and calls release(ud, slot) once
 *                for each owned block still live, in the order given (the
 *                replay frees it through the block's own domain)
 *
 * Invariants a mode keeps: after free_arena nothing the arena drew is held;
 * destroy() gives back what live arenas still hold (a trace may end with
 * arenas live); a mode's bookkeeping lives outside the measured heap
 * (sim/base/mapvec.h), so only what CPython's arenas would ask of MEM shows in
 * the footprint.
 *
 * Failure: create returns NULL with a message; new_arena/own return -1 and
 * malloc NULL when MEM fails (the replay reports the event).
 */
#ifndef ARENALAB_SIM_REPLAY_ARENAS_H
#define ARENALAB_SIM_REPLAY_ARENAS_H

#include <stddef.h>
#include <stdint.h>

#include "alloc/alloc.h"

/* Frees one owned block slot (the replay's side of free_arena). */
typedef void (*arenas_release_fn)(void *ud, uint32_t slot);
/* Visits one block an arena handed out (for --verify). */
typedef void (*arenas_each_fn)(void *ud, void *ptr, uint64_t size);

/* Sizes seen by the trace's pre-pass, so a mode can size its tables before
 * the measured part (they may still grow). */
typedef struct {
    uint32_t aslots;  /* arena slots (peak live arenas)                   */
    uint64_t records; /* peak count of live arena allocations (`m`)      */
} arenas_hint_t;

typedef struct {
    const char *name;    /* --arena-mode NAME                              */
    const char *summary; /* one line for --help and --list                 */
    /* PARAMS: the mode's parameters from the command line ("k=v:k=v", ""
     * for none); an unknown or bad one fails the create. */
    void *(*create)(const alloc_t *mem, const arenas_hint_t *hint, const char *params,
                    arenas_release_fn release, void *ud, char *err, size_t errlen);
    void (*destroy)(void *st);
    int (*new_arena)(void *st, uint32_t aslot);
    void *(*malloc)(void *st, uint32_t aslot, uint64_t size);
    int (*own)(void *st, uint32_t aslot, uint32_t slot); /* may be NULL  */
    void (*free_arena)(void *st, uint32_t aslot, const uint32_t *owned, size_t nowned);
    /* Every block malloc() handed out for ASLOT; NULL if the mode cannot
     * tell (then --verify does not check arena memory). */
    void (*each)(void *st, uint32_t aslot, arenas_each_fn fn, void *ud);
    /* The mode keeps data of its own in the memory it draws (pyarena's
     * block headers): an allocator that hands every request the same
     * memory (ALLOC_SHARED_BLOCK) cannot serve it. */
    int writes_blocks;
} arenas_mode_t;

/* Every mode, the default first, NULL-terminated. */
extern const arenas_mode_t *const arenas_modes[];

/* The mode a spec "NAME[:key=value...]" names, or NULL; *PARAMS (if not
 * NULL) gets the text after the first ':' ("" when there is none). */
const arenas_mode_t *arenas_find(const char *spec, const char **params);

/* Checks that SPEC names a mode and that the mode accepts its parameters
 * (by creating and destroying one over a dummy MEM).  Returns 0, or -1 with
 * a message. */
int arenas_check(const char *spec, char *err, size_t errlen);

#endif
