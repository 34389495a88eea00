/* osmem.c: page-granular memory from mmap, aligned by trimming (see
 * internal/osmem.h). */
#include "alloc/internal/osmem.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static void *osmem_raw_map(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *osmem_map(size_t size, size_t align)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (size == 0) return NULL;
    if (align <= page) return osmem_raw_map(size);
    /* Over-map by ALIGN - PAGE (the worst case) and unmap both ends: the
     * kernel only hands out page-aligned addresses. */
    size_t slack = align - page;
    if (size > SIZE_MAX - slack) return NULL;
    uint8_t *p = osmem_raw_map(size + slack);
    if (!p) return NULL;
    uintptr_t a = (uintptr_t)p;
    uintptr_t aligned = (a + align - 1) & ~(uintptr_t)(align - 1);
    size_t head = aligned - a;
    size_t tail = slack - head;
    if (head) munmap(p, head);
    if (tail) munmap(p + head + size, tail);
    return p + head;
}

int osmem_unmap(void *p, size_t size)
{
    return munmap(p, size);
}
