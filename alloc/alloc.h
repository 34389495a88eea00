/* alloc.h: the one allocator interface of arenalab, and the registry that
 * finds allocators by name.
 *
 * An allocator instance is an alloc_t: a context plus malloc, calloc,
 * realloc and free, the shape of CPython's PyMemAllocatorEx, so a layer
 * (statistics, verification, domain routing) wraps an instance without
 * knowing what it is.  Its class (alloc_class_t) adds what a workbench needs
 * around it: create/destroy/reset, counters, and an optional usable size.
 *
 * Invariants every allocator keeps:
 *   - malloc(0) returns a distinct non-NULL block, as CPython's do (the
 *     harness's baseline `reuse`, flagged ALLOC_SHARED_BLOCK, excepted);
 *   - stats() only reads counters kept on the way (no walks of the heap on
 *     the hot path); the replay driver samples it, the allocator never
 *     samples itself;
 *   - every instance is independent: destroy() returns everything it took
 *     from the system, and two instances never share mutable state (the
 *     classes flagged ALLOC_PROCESS_GLOBAL are the exception, and the replay
 *     driver gives them a process each).
 *
 * Failure: create() returns 0 or -1 with a message; malloc/calloc/realloc
 * return NULL on failure (the driver reports it with the event index).
 */
#ifndef ARENALAB_ALLOC_ALLOC_H
#define ARENALAB_ALLOC_ALLOC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Same layout and meaning as CPython's PyMemAllocatorEx. */
typedef struct {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
    void *(*realloc)(void *ctx, void *ptr, size_t new_size);
    void (*free)(void *ctx, void *ptr);
} alloc_t;

/* Allocator-specific counters beyond the common ones (e.g. pymalloc's
 * arenas and pools): shown as extra series/JSON columns. */
#define ALLOC_MAX_EXTRA 8

typedef struct {
    uint64_t footprint;      /* bytes held from the system now             */
    uint64_t peak_footprint; /* max footprint since create/reset; 0 when the
                                allocator cannot tell (the driver then uses
                                the peak of its samples)                    */
    int nextra;
    struct {
        const char *name; /* a column name: [a-z0-9_]+, static storage   */
        uint64_t value;
    } extra[ALLOC_MAX_EXTRA];
} alloc_stats_t;

/* One `key=value` parameter from the command line (alloc/params.h). */
typedef struct {
    const char *key;
    const char *value;
    int used; /* set by the alloc_param_* getters; leftovers are errors   */
} alloc_param_t;

enum {
    ALLOC_PROCESS_GLOBAL = 1, /* state is per process (cpython): one
                                 instance per process, no reset            */
    ALLOC_PRELOAD = 2,        /* replaces the process's malloc via
                                 LD_PRELOAD of `preload`                   */
    ALLOC_PER_DOMAIN = 4,     /* behaves per CPython domain (cpython): the
                                 driver makes one instance per domain and
                                 passes the parameter domain=raw|mem|obj   */
    ALLOC_SLOW_STATS = 8,     /* stats() walks the heap (raw: mallinfo2):
                                 the driver only samples it; without the
                                 flag it may call stats() after every event
                                 of a measurement run                      */
    ALLOC_PROCESS_HEAP = 16,  /* its memory is the process's malloc heap
                                 (raw, malloc, arena's blocks): what one run
                                 leaves there (free lists, a grown or
                                 trimmed top, glibc's tuned thresholds)
                                 carries into the next run in that process,
                                 so the driver times each run in a fresh
                                 process, as for ALLOC_PROCESS_GLOBAL and
                                 ALLOC_PRELOAD                             */
    ALLOC_PROCESS_STATS = 32, /* stats() describe the process's malloc as a
                                 whole (raw, the preloaded libraries): a
                                 route whose domains share it counts it
                                 once                                      */
    ALLOC_THREAD_SAFE = 64,   /* an instance may be called from several
                                 threads at once (raw, malloc, the
                                 preloaded and so: libraries, a plugin
                                 that declares it): `replay --threads
                                 recorded` runs a multithreaded trace on
                                 its threads; without it (the models) the
                                 trace replays serialized, as CPython with
                                 the GIL calls them                        */
    ALLOC_SHARED_BLOCK = 128  /* every request gets the same memory (reuse,
                                 the exception to "distinct"): nothing may
                                 keep data in its blocks -- no --verify, no
                                 debug hooks, no arena mode that writes
                                 headers (the replay refuses them)         */
};

typedef struct alloc_class_s {
    const char *name;    /* registry key, e.g. "raw"                      */
    const char *summary; /* one line for `arenalab replay --list`         */
    const char *params;  /* parameter help, "key=VALUE  meaning\n..."     */
    unsigned flags;      /* ALLOC_* above                                 */
    const char *preload; /* ALLOC_PRELOAD: the shared library's file name
                            (a soname, or a path for so: classes)         */

    /* "key=value:..." of the parameters' defaults, or NULL: canonical specs
     * (alloc_spec_canonical) leave these values out. */
    const char *defaults;

    /* Fills *A with a new instance.  PARAMS holds NPARAMS parameters; the
     * class marks those it understood, the caller rejects the rest. */
    int (*create)(alloc_t *a, alloc_param_t *params, size_t nparams, char *err, size_t errlen);
    void (*destroy)(void *ctx);
    /* Counters; see alloc_stats_t. */
    void (*stats)(void *ctx, alloc_stats_t *out);
    /* Usable size of a live block, or NULL when the allocator cannot tell
     * (then internal fragmentation is not reported). */
    size_t (*usable_size)(void *ctx, const void *ptr);
    /* Optional: CPython-style statistics dump (pymalloc, cpython). */
    int (*mallocstats)(void *ctx, FILE *out);
    /* Optional: whether the class can run on this machine (a preloaded
     * library is installed...).  Returns 1, or 0 with the reason in WHY.
     * NULL means always. */
    int (*available)(char *why, size_t len);
    /* Optional: what the instance does not serve itself (pymalloc: requests
     * of 0 or above its threshold) goes to RAW from now on instead of the
     * process's malloc -- as CPython's obmalloc calls PyMem_RawMalloc, the
     * raw domain, debug hooks included.  USABLE(RAW->ctx, p) (may be NULL)
     * gives those blocks' usable sizes; RAW's instance counts their memory.
     * Call it before the first request. */
    void (*set_raw)(void *ctx, const alloc_t *raw, size_t (*usable)(void *, const void *));
} alloc_class_t;

/* The registry: every allocator this build knows, in display order,
 * NULL-terminated. */
extern const alloc_class_t *const alloc_registry[];

/* The class named NAME, or NULL.  A name `so:[N=]PATH` or
 * `plugin:[N=]PATH` (alloc/params.h) gives the class of that library,
 * loaded on first use (alloc/plugin.c); one that cannot run here says why
 * through its available(). */
const alloc_class_t *alloc_find(const char *name);

/* 0 when the malloc this process calls comes from LIB (a file name such
 * as "libjemalloc.so.2"); with LIB NULL, from the C library or from the
 * one library LD_PRELOAD names (a replay worker's route preloads exactly
 * that).  Otherwise -1 with a message naming both in ERR.  Under
 * AddressSanitizer malloc is the sanitizer's, which LIB NULL accepts.
 * (alloc/origin.c) */
int alloc_malloc_is(const char *lib, char *err, size_t errlen);

#endif
