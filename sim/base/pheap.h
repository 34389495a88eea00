/* pheap.h: a private heap in a reservation of its own, never malloc.
 *
 * A measured worker's harness (the trace reader's tables, names, buffers)
 * must not live in the heap it measures: with `raw` or a preloaded
 * library, libc's malloc *is* the allocator under test.  A pheap is a bump
 * allocator over one large MAP_NORESERVE reservation: only pages written
 * become resident, and they are written before the measurement's baseline.
 *
 * Invariants: every block is 16-aligned and preceded by a 16-byte header
 * holding its size; [base, base + used) holds the blocks in address order;
 * freeing the last block gives its room back, freeing another returns its
 * whole pages to the system (MADV_DONTNEED) but not its addresses.
 *
 * Failure: pheap_init returns 0 or -1 (errno); the allocating functions
 * return NULL when the reservation is used up.  Not thread-safe. */
#ifndef ARENALAB_SIM_BASE_PHEAP_H
#define ARENALAB_SIM_BASE_PHEAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct pheap_s {
    uint8_t *base;   /* the reservation                                */
    size_t reserved; /* its size                                       */
    size_t used;     /* bytes handed out, headers included             */
    size_t last;     /* offset of the last block's header, or SIZE_MAX */
} pheap_t;

/* Reserves RESERVE bytes of address space (0: 64 GiB, or the largest
 * power of two down to 1 GiB that the address space grants). */
int pheap_init(pheap_t *h, size_t reserve);
void pheap_destroy(pheap_t *h);

/* N zeroed bytes. */
void *pheap_alloc(pheap_t *h, size_t n);
/* P (from this heap, or NULL) resized to N bytes, contents kept. */
void *pheap_realloc(pheap_t *h, void *p, size_t n);
void pheap_free(pheap_t *h, void *p);

#endif
