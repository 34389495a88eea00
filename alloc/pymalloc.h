/* pymalloc.h: CPython 3.11's small-object allocator (obmalloc), written
 * anew and parameterised, as the `pymalloc` allocator class.
 *
 * Its main invariant, checked by pymalloc_is_valid(): every pool of every
 * arena is in exactly one state -- used (in its size class's usedpools
 * ring), full (in no list) or empty (on its arena's freepools list) -- and
 * every arena with a free pool is on usable_arenas, sorted by ascending
 * free-pool count, with nfp2lasta[n] naming the last one with n.  Given
 * the same calls, an instance with the default parameters makes the same
 * decisions as libpython3.11's obmalloc: its pymalloc_mallocstats() output
 * is byte-identical to `sys._debugmallocstats()`'s pymalloc section.
 *
 * Failure: pymalloc_new() returns NULL; malloc/calloc/realloc return NULL
 * as CPython's do (sizes above PY_SSIZE_T_MAX, calloc overflow, no memory).
 */
#ifndef ARENALAB_ALLOC_PYMALLOC_H
#define ARENALAB_ALLOC_PYMALLOC_H

#include "alloc/alloc.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Where arenas come from. */
enum {
    PYMALLOC_ALIGNED = 0, /* mmap aligned to the pool size: every arena holds
                             all its pools, results never depend on where
                             the kernel puts a mapping (the default)       */
    PYMALLOC_MMAP = 1     /* plain mmap as CPython does: a pool is lost when
                             the arena is not pool-aligned                 */
};

typedef struct {
    uint32_t align;      /* block alignment and size-class spacing (16)   */
    uint32_t threshold;  /* largest request served from pools (512)       */
    uint32_t pool_size;  /* bytes per pool, a power of two (16 KiB)       */
    uint32_t arena_size; /* bytes per arena, a power of two (1 MiB)       */
    int keep_empty;      /* 1: keep one wholly empty arena (3.9+)         */
    int placement;       /* PYMALLOC_ALIGNED or PYMALLOC_MMAP             */
} pymalloc_params_t;

typedef struct pymalloc_s pymalloc_t;

/* Fills *P with CPython 3.11's values (64-bit). */
void pymalloc_params_default(pymalloc_params_t *p);

/* Reads `preset`, then every other parameter of the class, from PARAMS
 * into *P (which should hold the defaults), and checks the result.
 * Returns 0, or -1 with a message. */
int pymalloc_params_parse(pymalloc_params_t *p, alloc_param_t *params, size_t n, char *err,
                          size_t errlen);

/* Checks that *P describes a working allocator.  Returns 0, or -1 with a
 * message. */
int pymalloc_params_check(const pymalloc_params_t *p, char *err, size_t errlen);

/* A new, empty instance; NULL when P is invalid or memory is short. */
pymalloc_t *pymalloc_new(const pymalloc_params_t *p);

/* Unmaps every arena and frees the instance.  Blocks still live that came
 * from the raw allocator (the process's malloc) stay the caller's. */
void pymalloc_delete(pymalloc_t *pm);

/* The four entry points, usable directly as alloc_t members (CTX is the
 * pymalloc_t).  Same contract as CPython's PyObject_Malloc and friends. */
void *pymalloc_malloc(void *ctx, size_t size);
void *pymalloc_calloc(void *ctx, size_t nelem, size_t elsize);
void *pymalloc_realloc(void *ctx, void *ptr, size_t size);
void pymalloc_free(void *ctx, void *ptr);

/* The class size of a pool block, or malloc_usable_size() of a raw one. */
size_t pymalloc_usable_size(void *ctx, const void *ptr);

/* alloc_class_t.set_raw: requests pymalloc does not serve go to RAW (the
 * raw domain, as obmalloc's go to PyMem_RawMalloc) instead of malloc;
 * their bytes are then RAW's, not in pymalloc's footprint. */
void pymalloc_set_raw(void *ctx, const alloc_t *raw, size_t (*usable)(void *, const void *));

/* footprint = bytes of arenas held + malloc_usable_size() of every live
 * raw block; exact peak; extra counters (see pymalloc.c). */
void pymalloc_stats(void *ctx, alloc_stats_t *out);

/* Prints the pymalloc section of `sys._debugmallocstats()`, from `Small
 * block threshold` through the first `Total` line, in CPython's exact
 * layout.  Returns 0, or -1 on a write error. */
int pymalloc_mallocstats(void *ctx, FILE *out);

/* 1 when every invariant holds, else 0 after printing the first broken one
 * to stderr.  Walks the whole heap: for tests and debugging. */
int pymalloc_is_valid(const pymalloc_t *pm);

extern const alloc_class_t alloc_pymalloc_class;

#endif
