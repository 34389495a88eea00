/* mapvec.c: growable buffers in anonymous mappings (see mapvec.h). */
#include "sim/base/mapvec.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

int mapvec_reserve(mapvec_t *v, size_t need)
{
    if (need <= v->bytes) return 0;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t want = v->bytes + v->bytes / 2;
    if (want < need) want = need;
    if (want > SIZE_MAX - page) return -1;
    want = (want + page - 1) & ~(page - 1);
    void *p = v->p ? mremap(v->p, v->bytes, want, MREMAP_MAYMOVE)
                   : mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return -1;
    v->p = p;
    v->bytes = want;
    return 0;
}

void mapvec_touch(mapvec_t *v)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    volatile char *p = v->p;
    for (size_t off = 0; off < v->bytes; off += page)
        p[off] = p[off];
}

void mapvec_free(mapvec_t *v)
{
    if (v->p) munmap(v->p, v->bytes);
    v->p = NULL;
    v->bytes = 0;
}
