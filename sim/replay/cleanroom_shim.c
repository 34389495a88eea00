/* cleanroom_shim.c: a test library, preloaded into a replay worker, that
 * counts what reaches malloc between the replay's baseline and its end.
 *
 * The replay engine calls arenalab_measure_begin() at the baseline of a
 * run and arenalab_measure_end() at its end (weak references, resolved to
 * this library when it is preloaded; sim/replay/replay.h, the clean room).
 * Every malloc-family call goes on to glibc's own (__libc_*); between the
 * two hooks each is counted, and at the end one line
 *   cleanroom malloc M calloc C realloc R free F other O
 * is appended to the file named by $ARENALAB_CLEANROOM_OUT.  With the
 * `raw` allocator the counts must equal the trace's a, c, r and f events:
 * anything more is the harness touching the heap under test.
 *
 * The counters are atomic: a threaded replay (sim/replay/threads.h) calls
 * malloc from several threads at once.
 *
 * Never sanitized (built by a genrule): a sanitizer cannot run behind a
 * preloaded malloc. */
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

/* Process-wide by nature: a preloaded malloc has no context to hold it. */
static int shim_on;
static unsigned long shim_n[5]; /* malloc, calloc, realloc, free, other */

/* Counts a call of kind K while measuring. */
static void shim_count(int k)
{
    if (__atomic_load_n(&shim_on, __ATOMIC_ACQUIRE))
        __atomic_fetch_add(&shim_n[k], 1, __ATOMIC_RELAXED);
}

__attribute__((visibility("default"))) void arenalab_measure_begin(void)
{
    for (int k = 0; k < 5; k++)
        __atomic_store_n(&shim_n[k], 0, __ATOMIC_RELAXED);
    __atomic_store_n(&shim_on, 1, __ATOMIC_RELEASE);
}

__attribute__((visibility("default"))) void arenalab_measure_end(void)
{
    __atomic_store_n(&shim_on, 0, __ATOMIC_SEQ_CST);
    const char *path = getenv("ARENALAB_CLEANROOM_OUT");
    if (!path) return;
    char line[160];
    int n = snprintf(line, sizeof line,
                     "cleanroom malloc %lu calloc %lu realloc %lu free %lu other %lu\n", shim_n[0],
                     shim_n[1], shim_n[2], shim_n[3], shim_n[4]);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;
    if (n > 0 && write(fd, line, (size_t)n) < 0) {
        /* nothing to do: the test sees the line missing */
    }
    close(fd);
}

__attribute__((visibility("default"))) void *malloc(size_t n)
{
    shim_count(0);
    return __libc_malloc(n);
}

__attribute__((visibility("default"))) void *calloc(size_t n, size_t m)
{
    shim_count(1);
    return __libc_calloc(n, m);
}

__attribute__((visibility("default"))) void *realloc(void *p, size_t n)
{
    shim_count(2);
    return __libc_realloc(p, n);
}

__attribute__((visibility("default"))) void free(void *p)
{
    if (p) shim_count(3);
    __libc_free(p);
}

__attribute__((visibility("default"))) void *memalign(size_t a, size_t n)
{
    shim_count(4);
    return __libc_memalign(a, n);
}

__attribute__((visibility("default"))) void *aligned_alloc(size_t a, size_t n)
{
    shim_count(4);
    return __libc_memalign(a, n);
}

__attribute__((visibility("default"))) int posix_memalign(void **out, size_t a, size_t n)
{
    shim_count(4);
    void *p = __libc_memalign(a, n);
    if (!p) return 12; /* ENOMEM */
    *out = p;
    return 0;
}
