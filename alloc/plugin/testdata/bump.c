/* bump.c: a tiny malloc library for the so: tests -- a bump pointer through
 * one reserved mapping, with a LIFO free list per power-of-two class, that
 * replaces the whole malloc family when preloaded.  It exports the so:
 * conventions of arenalab_plugin.h: arenalab_held_bytes (the bytes bumped
 * so far, rounded up to pages) and arenalab_print_stats.
 *
 * Every block has a 16-byte header holding its class just before it;
 * aligned requests take a class big enough to place the block at the
 * alignment inside it, with a header copied there.  Invariants: bump <=
 * limit; a free-list block belongs to its class.  A spin lock serialises
 * callers (threads are rare in a replay worker, never absent in ld.so). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "arenalab_plugin.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define BUMP_HDR     16
#define BUMP_CLASSES 40
#define BUMP_RESERVE ((size_t)16 << 30)
#define BUMP_EXPORT  __attribute__((visibility("default")))

typedef struct {
    uint64_t cls;  /* class: the block holds 16 << cls bytes        */
    uint64_t back; /* 0, or (aligned block) offset to the real one */
} bump_hdr_t;

static char *bump_base, *bump_top;
static void *bump_free[BUMP_CLASSES];
static uint64_t bump_calls;
static volatile char bump_lock;

static void bump_acquire(void)
{
    while (__atomic_test_and_set(&bump_lock, __ATOMIC_ACQUIRE))
        ;
}

static void bump_release(void)
{
    __atomic_clear(&bump_lock, __ATOMIC_RELEASE);
}

static void *bump_alloc(size_t size)
{
    unsigned c = 0;
    while (c < BUMP_CLASSES && ((size_t)16 << c) < size)
        c++;
    if (c == BUMP_CLASSES) return NULL;
    bump_acquire();
    bump_calls++;
    bump_hdr_t *h = NULL;
    if (bump_free[c]) {
        h = (bump_hdr_t *)bump_free[c] - 1;
        memcpy(&bump_free[c], h + 1, sizeof(void *));
    } else {
        if (!bump_base) {
            void *p = mmap(NULL, BUMP_RESERVE, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (p != MAP_FAILED) bump_base = bump_top = p;
        }
        size_t need = BUMP_HDR + ((size_t)16 << c);
        if (bump_base && (size_t)(bump_base + BUMP_RESERVE - bump_top) >= need) {
            h = (bump_hdr_t *)bump_top;
            bump_top += need;
        }
    }
    if (h) *h = (bump_hdr_t){c, 0};
    bump_release();
    if (!h) errno = ENOMEM;
    return h ? h + 1 : NULL;
}

/* The header of the block P, the real one of an aligned block. */
static bump_hdr_t *bump_hdr(void *p)
{
    bump_hdr_t *h = (bump_hdr_t *)p - 1;
    return h->back ? (bump_hdr_t *)((char *)h - h->back) : h;
}

BUMP_EXPORT void free(void *p)
{
    if (!p) return;
    bump_hdr_t *h = bump_hdr(p);
    bump_acquire();
    bump_calls++;
    memcpy(h + 1, &bump_free[h->cls], sizeof(void *));
    bump_free[h->cls] = h + 1;
    bump_release();
}

BUMP_EXPORT void *malloc(size_t size)
{
    return bump_alloc(size ? size : 1);
}

BUMP_EXPORT size_t malloc_usable_size(void *p)
{
    if (!p) return 0;
    bump_hdr_t *h = bump_hdr(p);
    return ((size_t)16 << h->cls) - (size_t)((char *)p - (char *)(h + 1));
}

BUMP_EXPORT void *calloc(size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    /* bump_alloc, not malloc: the compiler turns malloc + memset into a
     * call to calloc, that is, into this very function */
    void *p = bump_alloc(total ? total : 1);
    if (p) memset(p, 0, total);
    return p;
}

BUMP_EXPORT void *realloc(void *p, size_t size)
{
    if (!p) return malloc(size);
    size_t have = malloc_usable_size(p);
    if (size && size <= have) return p;
    void *q = malloc(size);
    if (q) {
        memcpy(q, p, have < size ? have : size);
        free(p);
    }
    return q;
}

BUMP_EXPORT void *memalign(size_t align, size_t size)
{
    if (align <= 16) return malloc(size);
    if (align & (align - 1) || size > SIZE_MAX - align - BUMP_HDR) {
        errno = EINVAL;
        return NULL;
    }
    char *p = malloc(size + align + BUMP_HDR);
    if (!p) return NULL;
    char *q = (char *)(((uintptr_t)p + BUMP_HDR + align - 1) & ~(uintptr_t)(align - 1));
    bump_hdr_t *h = (bump_hdr_t *)q - 1;
    h->cls = 0;
    h->back = (uint64_t)((char *)h - ((char *)p - BUMP_HDR));
    return q;
}

BUMP_EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
    if (align < sizeof(void *) || (align & (align - 1))) return EINVAL;
    void *p = memalign(align, size);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

BUMP_EXPORT void *aligned_alloc(size_t align, size_t size)
{
    return memalign(align, size);
}

BUMP_EXPORT void *valloc(size_t size)
{
    return memalign(4096, size);
}

BUMP_EXPORT void *pvalloc(size_t size)
{
    return memalign(4096, (size + 4095) & ~(size_t)4095);
}

/* ---- the so: conventions ------------------------------------------------- */

BUMP_EXPORT size_t arenalab_held_bytes(void)
{
    return (size_t)(bump_top - bump_base + 4095) & ~(size_t)4095;
}

BUMP_EXPORT void arenalab_print_stats(void (*write)(void *, const char *), void *arg)
{
    char line[128];
    snprintf(line, sizeof line, "bump: %zu bytes bumped, %llu calls\n",
             (size_t)(bump_top - bump_base), (unsigned long long)bump_calls);
    write(arg, line);
}
