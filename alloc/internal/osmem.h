/* osmem.h: whole-page memory straight from the kernel (mmap), optionally
 * aligned, for the allocators that manage arenas (pymalloc, cpython).
 *
 * Invariant: a region from osmem_map() is exactly SIZE bytes of zeroed,
 * read-write, private memory, aligned to ALIGN, and is returned with
 * osmem_unmap() with the same SIZE; nothing else is held for it (the
 * alignment slack is unmapped at once), so SIZE is what it costs. */
#ifndef ARENALAB_ALLOC_INTERNAL_OSMEM_H
#define ARENALAB_ALLOC_INTERNAL_OSMEM_H

#include <stddef.h>

/* Maps SIZE bytes (a multiple of the page size) aligned to ALIGN (a power
 * of two; values up to the page size cost nothing extra).  Returns the
 * region, or NULL when the kernel refuses or SIZE + ALIGN overflows. */
void *osmem_map(size_t size, size_t align);

/* Unmaps a region from osmem_map().  Returns 0, or -1 (errno set). */
int osmem_unmap(void *p, size_t size);

#endif
