/* crashlib.c: a malloc library that crashes (SIGSEGV) in its 5000th
 * allocation; the ones before come from a static pool and are never
 * reused.  Preloaded with so:, it takes its worker down mid-replay: the
 * report must name it and the signal, and never wait. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CRASH_POOL   (64 << 20)
#define CRASH_AFTER  5000
#define CRASH_EXPORT __attribute__((visibility("default")))

/* Where the crash writes: read through a volatile, so it is not folded. */
static int *volatile crash_nowhere;
static _Alignas(16) char crash_pool[CRASH_POOL];
static size_t crash_top;
static unsigned crash_calls;

static void *crash_alloc(size_t size)
{
    if (++crash_calls >= CRASH_AFTER) *crash_nowhere = 1; /* SIGSEGV */
    size_t need = (size + 16 + 15) & ~(size_t)15;
    if (need > CRASH_POOL - crash_top) return NULL;
    char *p = crash_pool + crash_top;
    crash_top += need;
    memcpy(p, &size, sizeof size);
    return p + 16;
}

CRASH_EXPORT void *malloc(size_t size)
{
    return crash_alloc(size);
}

CRASH_EXPORT void free(void *p) {}

CRASH_EXPORT void *calloc(size_t n, size_t size)
{
    /* crash_alloc: the compiler turns malloc + memset into calloc */
    void *p = n && size > SIZE_MAX / n ? NULL : crash_alloc(n * size);
    if (p) memset(p, 0, n * size);
    return p;
}

CRASH_EXPORT void *realloc(void *p, size_t size)
{
    void *q = crash_alloc(size);
    if (p && q) {
        size_t old;
        memcpy(&old, (char *)p - 16, sizeof old);
        memcpy(q, p, old < size ? old : size);
    }
    return q;
}
