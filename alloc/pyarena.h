/* pyarena.h: CPython 3.11's PyArena (Python/pyarena.c) as a library over
 * any alloc_t: a bump allocator whose memory is freed all at once.
 *
 * Invariant: everything an arena asks of its MEM allocator is released by
 * pyarena_free() and by nothing else — nothing allocated from an arena is
 * freed on its own.
 *
 * What CPython's arena asks of its MEM domain, and this library asks of
 * the alloc_t it is given, with the same sizes and in the same order
 * (alloc/pyarena.c has the whole story):
 *   pyarena_new    the arena struct (PYARENA_STRUCT_SIZE bytes), then the
 *                  first block (PYARENA_HEADER_SIZE + block bytes);
 *   pyarena_malloc a new block when the request does not fit the current
 *                  one;
 *   pyarena_own    the owned-object list's item array, grown (realloc) the
 *                  way a Python list grows on append;
 *   pyarena_free   every block (oldest first), then the owned objects are
 *                  released (newest first), then the item array, then the
 *                  arena struct.
 * The pyarena_t handle itself is the simulator's bookkeeping and comes from
 * malloc(3) (or the caller's memory, pyarena_new_at), not from MEM: it is
 * not part of what is modelled.
 */
#ifndef ARENALAB_ALLOC_PYARENA_H
#define ARENALAB_ALLOC_PYARENA_H

#include "alloc/alloc.h"

#include <stddef.h>
#include <stdint.h>

/* CPython's tunables (DEFAULT_BLOCK_SIZE, ALIGNMENT). */
#define PYARENA_BLOCK_SIZE 8192
#define PYARENA_ALIGNMENT  8
/* Bytes in front of each block's data: CPython's `block` header, four
 * pointer-sized fields (size, offset, next, mem). */
#define PYARENA_HEADER_SIZE (4 * sizeof(void *))
/* CPython's `struct _arena` in a release build: a_head, a_cur, a_objects. */
#define PYARENA_STRUCT_SIZE (3 * sizeof(void *))
/* Largest block= and align= the parameter parser accepts; doubling stops
 * growing blocks at PYARENA_MAX_BLOCK (bigger requests still get a block of
 * their own). */
#define PYARENA_MAX_BLOCK ((size_t)1 << 30)
#define PYARENA_MAX_ALIGN 4096

enum {
    PYARENA_FIXED = 0,   /* every regular block is `block` bytes (CPython)  */
    PYARENA_DOUBLING = 1 /* each new block twice the previous regular one  */
};

typedef struct {
    size_t block; /* payload bytes of a regular block                       */
    size_t align; /* requests round up to it; block data aligned to it;
                     a power of two                                         */
    int growth;   /* PYARENA_FIXED or PYARENA_DOUBLING                      */
} pyarena_params_t;

/* The `key=VALUE  meaning` lines of the parameters pyarena_params_parse
 * reads, for alloc_class_t.params and --help. */
extern const char pyarena_params_help[];

/* CPython's values: 8192-byte blocks, 8-byte alignment, fixed growth. */
void pyarena_params_default(pyarena_params_t *p);

/* Reads block=SIZE, align=N and growth=fixed|doubling from PARAMS (marking
 * them used) over the values already in *P.  Returns 0, or -1 with a
 * message in ERR (then *P is unspecified). */
int pyarena_params_parse(pyarena_params_t *p, alloc_param_t *params, size_t n, char *err,
                         size_t errlen);

/* Returns 0 when *P is usable, else -1 with a message. */
int pyarena_params_check(const pyarena_params_t *p, char *err, size_t errlen);

/* Counters, one X(name, meaning) line each: adding one is one line here
 * and its upkeep in pyarena.c.  Relations pyarena_is_valid() checks:
 *   reserved = used + padding + abandoned + (free room in the current block)
 *   block_bytes = reserved + blocks * PYARENA_HEADER_SIZE
 *   mem_bytes = PYARENA_STRUCT_SIZE + block_bytes + list_bytes */
#define PYARENA_STATS(X)                                                                           \
    X(blocks, "blocks held")                                                                       \
    X(block_bytes, "bytes of those blocks as asked from MEM, headers included")                    \
    X(reserved, "payload bytes of those blocks")                                                   \
    X(used, "bytes handed out by pyarena_malloc, after rounding")                                  \
    X(requested, "bytes callers asked pyarena_malloc for")                                         \
    X(abandoned, "payload left unused at the end of blocks that are no longer current")            \
    X(padding, "payload skipped to align the data of a block")                                     \
    X(objects, "objects owned")                                                                    \
    X(list_bytes, "bytes of the owned-object list's item array")                                   \
    X(mem_bytes, "everything held from MEM: struct, blocks, item array")

typedef struct {
#define PYARENA_STATS_FIELD(name, meaning) uint64_t name;
    PYARENA_STATS(PYARENA_STATS_FIELD)
#undef PYARENA_STATS_FIELD
} pyarena_stats_t;

/* Called once per owned object by pyarena_free(). */
typedef void (*pyarena_release_fn)(void *ud, void *obj);

typedef struct pyarena_s pyarena_t;

/* A new arena drawing from MEM (copied: the caller's alloc_t need not
 * outlive the call, its ctx must outlive the arena).  P may be NULL for
 * CPython's parameters.  RELEASE(UD, obj), if not NULL, is called for each
 * owned object when the arena is freed.  Returns NULL when P is invalid or
 * MEM fails (everything taken from MEM is given back). */
pyarena_t *pyarena_new(const alloc_t *mem, const pyarena_params_t *p, pyarena_release_fn release,
                       void *ud);

/* Bytes of a handle, for pyarena_new_at. */
size_t pyarena_handle_size(void);

/* pyarena_new with the handle in the caller's memory HANDLE
 * (pyarena_handle_size() bytes, aligned for a pointer) instead of
 * malloc(3): a replay keeps its handles in memory mapped before its
 * baseline, so that nothing of the simulator reaches the process's heap
 * while an allocator is measured.  pyarena_free leaves that memory alone. */
pyarena_t *pyarena_new_at(void *handle, const alloc_t *mem, const pyarena_params_t *p,
                          pyarena_release_fn release, void *ud);

/* SIZE bytes, aligned to params.align, valid until pyarena_free().  Size 0
 * returns a valid pointer that need not be unique (as CPython).  Returns
 * NULL when the rounded size overflows or MEM fails; the arena stays
 * usable either way. */
void *pyarena_malloc(pyarena_t *a, size_t size);

/* The arena takes OBJ over: it is released when the arena is freed.
 * Returns 0, or -1 when MEM fails (then OBJ is not owned). */
int pyarena_own(pyarena_t *a, void *obj);

/* Frees the blocks, releases the owned objects, frees the rest.  NULL is a
 * no-op. */
void pyarena_free(pyarena_t *a);

void pyarena_stats(const pyarena_t *a, pyarena_stats_t *out);

/* The parameters A was made with. */
const pyarena_params_t *pyarena_params(const pyarena_t *a);

/* Checks every invariant of A (block chain, counters, item array).
 * Returns 1 when valid, 0 (after printing what is wrong to stderr) if
 * not.  Walks all blocks: for tests and debug builds. */
int pyarena_is_valid(const pyarena_t *a);

/* The stats table: name and offset of each pyarena_stats_t field, in
 * PYARENA_STATS order, ending with {NULL, 0}. */
typedef struct {
    const char *name;
    size_t offset;
} pyarena_stat_field_t;

extern const pyarena_stat_field_t pyarena_stat_fields[];

#endif
