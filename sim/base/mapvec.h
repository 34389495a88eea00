/* mapvec.h: growable buffers in their own anonymous mappings, outside
 * malloc.
 *
 * The replay engine's bookkeeping (slot tables, decoded events, arena
 * records) must not live in the heap it measures: with the `raw`
 * allocator, or a preloaded malloc, a table grown with realloc would show
 * up in the allocator's footprint and fragment its heap.  A mapvec is one
 * mmap'ed region grown with mremap; it never calls malloc.
 *
 * Invariants: p is NULL iff bytes is 0; bytes is a multiple of the page
 * size; memory past what the caller wrote is zero (fresh anonymous pages).
 */
#ifndef ARENALAB_SIM_BASE_MAPVEC_H
#define ARENALAB_SIM_BASE_MAPVEC_H

#include <stddef.h>

typedef struct {
    void *p;
    size_t bytes; /* capacity */
} mapvec_t;

/* Makes the capacity at least NEED bytes (growing by at least half, so
 * appends are amortized O(1)); contents are kept, new bytes are zero.
 * Returns 0, or -1 when the mapping cannot grow (the old one stays). */
int mapvec_reserve(mapvec_t *v, size_t need);

/* Writes every page, so that a later RSS reading does not count the
 * buffer's first touch as the measured allocator's. */
void mapvec_touch(mapvec_t *v);

void mapvec_free(mapvec_t *v);

#endif
