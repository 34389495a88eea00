/* trace_mem.h: where the trace library's own memory comes from.
 *
 * By default malloc.  A reader opened with TRACE_R_PRIVATE_HEAP takes every
 * byte it keeps (itself, its name, buffers, live tables, metadata and
 * markers) from a private heap in its own reservation (sim/base/pheap.h),
 * so that a measured worker's reader never touches the heap under test.
 * Each function takes the heap, NULL meaning malloc.  Header-only: the
 * trace modules and live.c share it. */
#ifndef ARENALAB_SIM_TRACE_INTERNAL_TRACE_MEM_H
#define ARENALAB_SIM_TRACE_INTERNAL_TRACE_MEM_H

#include <stdlib.h>
#include <string.h>

#include "sim/base/pheap.h"

static inline void *tmem_malloc(pheap_t *h, size_t n)
{
    return h ? pheap_alloc(h, n) : malloc(n);
}

static inline void *tmem_calloc(pheap_t *h, size_t n, size_t elem)
{
    if (elem && n > (size_t)-1 / elem) return NULL;
    return h ? pheap_alloc(h, n * elem) : calloc(n, elem);
}

static inline void *tmem_realloc(pheap_t *h, void *p, size_t n)
{
    return h ? pheap_realloc(h, p, n) : realloc(p, n);
}

static inline void tmem_free(pheap_t *h, void *p)
{
    if (h)
        pheap_free(h, p);
    else
        free(p);
}

static inline char *tmem_strndup(pheap_t *h, const char *s, size_t n)
{
    char *d = tmem_malloc(h, n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

#endif
