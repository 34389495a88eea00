/* pheap.c: a bump allocator in its own reservation (see pheap.h). */
#include "sim/base/pheap.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PHEAP_HDR           16
#define PHEAP_DEFAULT       ((size_t)64 << 30)
#define PHEAP_SMALLEST      ((size_t)1 << 30)
#define PHEAP_RELEASE_BYTES ((size_t)64 << 10) /* a freed block this big gives pages back */

int pheap_init(pheap_t *h, size_t reserve)
{
    memset(h, 0, sizeof *h);
    int fallback = !reserve;
    if (!reserve) reserve = PHEAP_DEFAULT;
    void *p;
    /* the default halves down to PHEAP_SMALLEST where the address space
     * is smaller (under valgrind: 64 GiB in one piece is refused) */
    while ((p = mmap(NULL, reserve, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)) == MAP_FAILED &&
           fallback && reserve > PHEAP_SMALLEST)
        reserve /= 2;
    if (p == MAP_FAILED) return -1;
    h->base = p;
    h->reserved = reserve;
    h->last = SIZE_MAX;
    return 0;
}

void pheap_destroy(pheap_t *h)
{
    if (h->base) munmap(h->base, h->reserved);
    memset(h, 0, sizeof *h);
}

static size_t *pheap_size_of(void *p)
{
    return (size_t *)((uint8_t *)p - PHEAP_HDR);
}

void *pheap_alloc(pheap_t *h, size_t n)
{
    size_t need = (n + PHEAP_HDR + 15) & ~(size_t)15;
    if (n > h->reserved || need > h->reserved - h->used) return NULL;
    uint8_t *hdr = h->base + h->used;
    *(size_t *)hdr = n;
    h->last = h->used;
    h->used += need;
    /* fresh pages are zero; a block given back and handed out again is not */
    memset(hdr + PHEAP_HDR, 0, n);
    return hdr + PHEAP_HDR;
}

void pheap_free(pheap_t *h, void *p)
{
    if (!p) return;
    uint8_t *hdr = (uint8_t *)p - PHEAP_HDR;
    size_t n = *pheap_size_of(p);
    if ((size_t)(hdr - h->base) == h->last) {
        h->used = h->last;
        h->last = SIZE_MAX; /* the one before is not known: no more popping */
        return;
    }
    if (n >= PHEAP_RELEASE_BYTES) {
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        uintptr_t from = ((uintptr_t)p + page - 1) & ~(uintptr_t)(page - 1);
        uintptr_t to = ((uintptr_t)p + n) & ~(uintptr_t)(page - 1);
        if (to > from) madvise((void *)from, to - from, MADV_DONTNEED);
    }
}

void *pheap_realloc(pheap_t *h, void *p, size_t n)
{
    if (!p) return pheap_alloc(h, n);
    uint8_t *hdr = (uint8_t *)p - PHEAP_HDR;
    size_t old = *pheap_size_of(p);
    if ((size_t)(hdr - h->base) == h->last) {
        /* the last block grows or shrinks in place */
        size_t need = (n + PHEAP_HDR + 15) & ~(size_t)15;
        if (n > h->reserved || need > h->reserved - h->last) return NULL;
        if (n > old) memset((uint8_t *)p + old, 0, n - old);
        *(size_t *)hdr = n;
        h->used = h->last + need;
        return p;
    }
    void *q = pheap_alloc(h, n);
    if (!q) return NULL;
    memcpy(q, p, old < n ? old : n);
    pheap_free(h, p);
    return q;
}
