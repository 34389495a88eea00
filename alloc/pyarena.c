/* pyarena.c: CPython 3.11's PyArena algorithm over any alloc_t.
 *
 * What CPython does (Python/pyarena.c and Objects/listobject.c of 3.11,
 * checked against the disassembly of Debian's libpython3.11 and by
 * alloc/pyarena_fidelity_test.c against the real _PyArena_* calls):
 *
 *   _PyArena_New       PyMem_Malloc(sizeof(struct _arena)) = 24 bytes on
 *                      LP64 (a_head, a_cur, a_objects), then the first
 *                      block right away: PyMem_Malloc(32 + 8192), then
 *                      PyList_New(0) — an empty list, whose object comes
 *                      from the list free list or the OBJ domain and whose
 *                      item array is still NULL.
 *   _PyArena_Malloc    size = (size + 7) & ~7.  If it does not fit the
 *                      current block (offset + size > ab_size), a new block
 *                      of max(8192, size) payload bytes becomes current and
 *                      the rest of the old one is never used again: fixed
 *                      size, no doubling, no search of older blocks.  A
 *                      block is one PyMem_Malloc of a 32-byte header (four
 *                      words: ab_size, ab_offset, ab_next, ab_mem) plus its
 *                      payload; its first offset aligns ab_mem up to 8,
 *                      which is 0 whenever MEM returns 8-aligned memory.
 *   _PyArena_AddPyObject  PyList_Append(a_objects, obj) and, on success,
 *                      Py_DECREF(obj): the list holds the only reference.
 *                      Appending to a full list reallocates the item array
 *                      with PyMem_Realloc to n + (n >> 3) + 6 rounded down
 *                      to a multiple of 4 items (n = the new length), so
 *                      capacities go 4, 8, 16, 24, 32, 40, 52, 64, 76, ...
 *   _PyArena_Free      PyMem_Free of each block from the first to the last,
 *                      then Py_DECREF(list): list_dealloc drops the items
 *                      from the last to the first, PyMem_Free's the item
 *                      array, parks the list object on the free list; then
 *                      PyMem_Free of the arena struct.
 *
 * Here: the same requests with the same sizes and in the same order go to
 * the alloc_t given to pyarena_new, with two deliberate differences:
 *   - the first growth of the item array is mem.malloc, not
 *     realloc(NULL, n) (the trace format's convention: a recorder writes
 *     realloc(NULL, n) as an allocation);
 *   - the list *object* is not modelled (CPython takes it from a free list
 *     most of the time, else 56 bytes from OBJ): only its item array is.
 * And one safety net: a block MEM returns unaligned for a pointer is given
 * back and the request fails (the header could not be written); a block
 * whose data MEM aligned less than params.align is asked again with room
 * for the pad (never with CPython's parameters).
 * The arena struct is requested from MEM with CPython's size but holds
 * nothing: our bookkeeping (pyarena_t) is bigger and comes from malloc(3)
 * or the caller (pyarena_new_at), because it belongs to the simulator, not
 * to the simulated program.
 *
 * Tunables (pyarena_params_t): block (8192), align (8), growth (fixed, or
 * doubling: the k-th regular block is block * 2^k bytes, capped at
 * PYARENA_MAX_BLOCK — an alternative to compare, not CPython).
 *
 * The hot path is a pointer bump: the current block's free room is
 * [a->bump, a->limit).  The current block's `offset` field is therefore
 * stale; it is written back when the block stops being current.
 *
 * Block layout (one MEM allocation):
 *
 *     | header (32) | pad | used ... | free room |
 *     ^ b           ^ b->data       ^ bump      ^ limit = data + size
 *
 * Invariants (pyarena_is_valid):
 *   - head ... cur is a chain of `blocks` blocks, cur->next == NULL;
 *   - data + pad <= bump <= limit = cur->data + cur->size;
 *   - reserved = used + padding + abandoned + (limit - bump);
 *   - nitems <= allocated; items == NULL exactly when allocated == 0.
 */
#include "alloc/pyarena.h"

#include "alloc/params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pyarena_block_s {
    size_t size;                  /* payload bytes after the header         */
    size_t offset;                /* bytes of payload passed out (incl. the
                                     alignment pad); stale while current    */
    struct pyarena_block_s *next; /* the next newer block, or NULL          */
    char *data;                   /* first payload byte: (char *)(b + 1)    */
} pyarena_block_t;

_Static_assert(sizeof(pyarena_block_t) == PYARENA_HEADER_SIZE,
               "the block header must have CPython's size: block sizes asked of MEM depend on it");
_Static_assert(PYARENA_HEADER_SIZE % PYARENA_ALIGNMENT == 0,
               "block data must stay aligned when MEM returns aligned memory");

struct pyarena_s {
    char *bump;            /* next free byte of the current block        */
    char *limit;           /* end of the current block's payload         */
    size_t mask;           /* params.align - 1                           */
    uint64_t requested;    /* sum of pyarena_malloc sizes                */
    pyarena_block_t *cur;  /* block served from; never NULL              */
    pyarena_block_t *head; /* oldest block: where pyarena_free starts    */
    size_t nominal;        /* size of the last regular block             */
    uint64_t blocks;       /* blocks in the chain                        */
    uint64_t reserved;     /* sum of block sizes                         */
    uint64_t padding;      /* sum of alignment pads                      */
    uint64_t abandoned;    /* free room left in non-current blocks       */
    void **items;          /* owned objects, oldest first; from MEM      */
    size_t nitems;         /* objects owned                              */
    size_t allocated;      /* capacity of items                          */
    void *model;           /* PYARENA_STRUCT_SIZE bytes from MEM: stands
                              for CPython's struct _arena, holds nothing */
    int own_handle;        /* this struct came from malloc(3)            */
    pyarena_release_fn release;
    void *ud;
    alloc_t mem;
    pyarena_params_t params;
};

const char pyarena_params_help[] =
    "block=SIZE  payload of a regular block (default 8K, as CPython)\n"
    "align=N  requests round up to N, block data aligned to N (power of two, default 8)\n"
    "growth=fixed|doubling  fixed: every block `block` bytes (CPython); doubling: each new block "
    "twice the last\n";

const pyarena_stat_field_t pyarena_stat_fields[] = {
#define PYARENA_STATS_ROW(name, meaning) {#name, offsetof(pyarena_stats_t, name)},
    PYARENA_STATS(PYARENA_STATS_ROW)
#undef PYARENA_STATS_ROW
        {NULL, 0},
};

void pyarena_params_default(pyarena_params_t *p)
{
    p->block = PYARENA_BLOCK_SIZE;
    p->align = PYARENA_ALIGNMENT;
    p->growth = PYARENA_FIXED;
}

int pyarena_params_check(const pyarena_params_t *p, char *err, size_t errlen)
{
    if (p->align == 0 || p->align > PYARENA_MAX_ALIGN || (p->align & (p->align - 1))) {
        snprintf(err, errlen, "arena align=%zu: expected a power of two from 1 to %d", p->align,
                 PYARENA_MAX_ALIGN);
        return -1;
    }
    if (p->block < 1 || p->block > PYARENA_MAX_BLOCK) {
        snprintf(err, errlen, "arena block=%zu: expected 1 to %zu bytes", p->block,
                 (size_t)PYARENA_MAX_BLOCK);
        return -1;
    }
    if (p->growth != PYARENA_FIXED && p->growth != PYARENA_DOUBLING) {
        snprintf(err, errlen, "arena growth=%d: expected fixed or doubling", p->growth);
        return -1;
    }
    return 0;
}

int pyarena_params_parse(pyarena_params_t *p, alloc_param_t *params, size_t n, char *err,
                         size_t errlen)
{
    static const char *const growths[] = {"fixed", "doubling", NULL};
    uint64_t block = p->block, align = p->align;
    int growth = p->growth;
    if (alloc_param_size(params, n, "block", 1, PYARENA_MAX_BLOCK, &block, err, errlen) ||
        alloc_param_size(params, n, "align", 1, PYARENA_MAX_ALIGN, &align, err, errlen) ||
        alloc_param_choice(params, n, "growth", growths, &growth, err, errlen))
        return -1;
    p->block = (size_t)block;
    p->align = (size_t)align;
    p->growth = growth;
    return pyarena_params_check(p, err, errlen);
}

/* SIZE payload bytes plus a header from MEM, or NULL.  Memory not aligned
 * for a pointer is refused like a failure: C's malloc never returns such,
 * and the header could not be written. */
static pyarena_block_t *pyarena_mem_block(pyarena_t *a, size_t size)
{
    pyarena_block_t *b = a->mem.malloc(a->mem.ctx, PYARENA_HEADER_SIZE + size);
    if (b && (uintptr_t)b % _Alignof(pyarena_block_t)) {
        a->mem.free(a->mem.ctx, b);
        return NULL;
    }
    return b;
}

/* A new block with SIZE payload bytes, of which at least NEED are usable
 * after the alignment pad.  Returns NULL when the size overflows or MEM
 * fails. */
static pyarena_block_t *pyarena_block_new(pyarena_t *a, size_t size, size_t need)
{
    if (size > SIZE_MAX - PYARENA_HEADER_SIZE - a->mask) return NULL;
    pyarena_block_t *b = pyarena_mem_block(a, size);
    if (!b) return NULL;
    char *data = (char *)(b + 1);
    size_t pad = (size_t)(-(uintptr_t)data & a->mask);
    if (pad > size || size - pad < need) {
        /* Only when params.align is more than MEM's alignment: ask again
         * with room for any pad, rather than hand out a short block.  With
         * CPython's parameters this never runs, so the sizes asked of MEM
         * stay CPython's. */
        a->mem.free(a->mem.ctx, b);
        size += a->mask;
        b = pyarena_mem_block(a, size);
        if (!b) return NULL;
        data = (char *)(b + 1);
        pad = (size_t)(-(uintptr_t)data & a->mask);
    }
    b->size = size;
    b->offset = pad;
    b->next = NULL;
    b->data = data;
    a->blocks++;
    a->reserved += size;
    a->padding += pad;
    return b;
}

/* Makes B current (after the current block, if any). */
static void pyarena_set_current(pyarena_t *a, pyarena_block_t *b)
{
    if (a->cur) {
        a->cur->offset = (size_t)(a->bump - a->cur->data);
        a->abandoned += (uint64_t)(a->limit - a->bump);
        a->cur->next = b;
    }
    a->cur = b;
    a->bump = b->data + b->offset;
    a->limit = b->data + b->size;
}

/* pyarena_new and pyarena_new_at: the arena in A, which came from
 * malloc(3) when OWN (and is freed with it). */
static pyarena_t *pyarena_init(pyarena_t *a, int own, const alloc_t *mem, const pyarena_params_t *p,
                               pyarena_release_fn release, void *ud)
{
    pyarena_params_t defaults;
    if (!p) {
        pyarena_params_default(&defaults);
        p = &defaults;
    }
    char err[128];
    if (!mem || pyarena_params_check(p, err, sizeof err)) {
        if (own) free(a);
        return NULL;
    }
    memset(a, 0, sizeof *a);
    a->own_handle = own;
    a->mem = *mem;
    a->params = *p;
    a->mask = p->align - 1;
    a->nominal = p->block;
    a->release = release;
    a->ud = ud;
    /* CPython's order: the struct, then the first block. */
    a->model = a->mem.malloc(a->mem.ctx, PYARENA_STRUCT_SIZE);
    if (!a->model) goto fail;
    pyarena_block_t *first = pyarena_block_new(a, p->block, 0);
    if (!first) goto fail;
    a->head = first;
    pyarena_set_current(a, first);
    return a;
fail:
    if (a->model) a->mem.free(a->mem.ctx, a->model);
    if (a->own_handle) free(a);
    return NULL;
}

size_t pyarena_handle_size(void)
{
    return sizeof(pyarena_t);
}

pyarena_t *pyarena_new(const alloc_t *mem, const pyarena_params_t *p, pyarena_release_fn release,
                       void *ud)
{
    pyarena_t *a = malloc(sizeof *a);
    return a ? pyarena_init(a, 1, mem, p, release, ud) : NULL;
}

pyarena_t *pyarena_new_at(void *handle, const alloc_t *mem, const pyarena_params_t *p,
                          pyarena_release_fn release, void *ud)
{
    return handle ? pyarena_init(handle, 0, mem, p, release, ud) : NULL;
}

/* The size of the next regular block. */
static size_t pyarena_next_nominal(const pyarena_t *a)
{
    if (a->params.growth == PYARENA_FIXED) return a->nominal;
    return a->nominal >= PYARENA_MAX_BLOCK / 2 ? PYARENA_MAX_BLOCK : a->nominal * 2;
}

/* pyarena_malloc when ROUNDED bytes do not fit the current block. */
static void *pyarena_malloc_slow(pyarena_t *a, size_t rounded, size_t size)
{
    size_t nominal = pyarena_next_nominal(a);
    pyarena_block_t *b = pyarena_block_new(a, rounded > nominal ? rounded : nominal, rounded);
    if (!b) return NULL;
    a->nominal = nominal;
    pyarena_set_current(a, b);
    char *p = a->bump;
    a->bump += rounded;
    a->requested += size;
    return p;
}

void *pyarena_malloc(pyarena_t *a, size_t size)
{
    if (size > SIZE_MAX - a->mask) return NULL;
    size_t rounded = (size + a->mask) & ~a->mask;
    if (rounded > (size_t)(a->limit - a->bump)) return pyarena_malloc_slow(a, rounded, size);
    char *p = a->bump;
    a->bump += rounded;
    a->requested += size;
    return p;
}

int pyarena_own(pyarena_t *a, void *obj)
{
    if (a->nitems == a->allocated) {
        /* list_resize for one appended item.  Its other clause ("do not
         * overallocate if the new size is closer to the overallocated size
         * than to the old one") cannot fire when growing by one: the
         * formula gives at least n + 3. */
        size_t n = a->nitems + 1;
        if (n > SIZE_MAX / 2 / sizeof(void *)) return -1;
        size_t cap = (n + (n >> 3) + 6) & ~(size_t)3;
        void **items = a->items ? a->mem.realloc(a->mem.ctx, a->items, cap * sizeof(void *))
                                : a->mem.malloc(a->mem.ctx, cap * sizeof(void *));
        if (!items) return -1;
        a->items = items;
        a->allocated = cap;
    }
    a->items[a->nitems++] = obj;
    return 0;
}

void pyarena_free(pyarena_t *a)
{
    if (!a) return;
    for (pyarena_block_t *b = a->head, *next; b; b = next) {
        next = b->next;
        a->mem.free(a->mem.ctx, b);
    }
    /* list_dealloc's order: last item first, then the array. */
    if (a->release)
        for (size_t i = a->nitems; i-- > 0;)
            a->release(a->ud, a->items[i]);
    if (a->items) a->mem.free(a->mem.ctx, a->items);
    a->mem.free(a->mem.ctx, a->model);
    if (a->own_handle) free(a);
}

void pyarena_stats(const pyarena_t *a, pyarena_stats_t *out)
{
    uint64_t room = (uint64_t)(a->limit - a->bump);
    out->blocks = a->blocks;
    out->block_bytes = a->reserved + a->blocks * PYARENA_HEADER_SIZE;
    out->reserved = a->reserved;
    out->used = a->reserved - a->padding - a->abandoned - room;
    out->requested = a->requested;
    out->abandoned = a->abandoned;
    out->padding = a->padding;
    out->objects = a->nitems;
    out->list_bytes = (uint64_t)a->allocated * sizeof(void *);
    out->mem_bytes = PYARENA_STRUCT_SIZE + out->block_bytes + out->list_bytes;
}

const pyarena_params_t *pyarena_params(const pyarena_t *a)
{
    return &a->params;
}

/* Prints what is wrong and returns 0, for pyarena_is_valid. */
static int pyarena_invalid(const char *what)
{
    fprintf(stderr, "pyarena_is_valid: %s\n", what);
    return 0;
}

int pyarena_is_valid(const pyarena_t *a)
{
    if (!a || !a->head || !a->cur || !a->model) return pyarena_invalid("missing head/cur/struct");
    uint64_t blocks = 0, reserved = 0, abandoned = 0, padding = 0;
    const pyarena_block_t *b = a->head;
    for (;; b = b->next) {
        if (b->data != (const char *)(b + 1)) return pyarena_invalid("block data not after header");
        size_t pad = (size_t)(-(uintptr_t)b->data & a->mask);
        if (pad > b->size) return pyarena_invalid("pad larger than block");
        blocks++;
        reserved += b->size;
        padding += pad;
        if (b == a->cur) break;
        if (!b->next) return pyarena_invalid("current block not in the chain");
        if (b->offset < pad || b->offset > b->size) return pyarena_invalid("offset out of block");
        abandoned += b->size - b->offset;
    }
    if (b->next) return pyarena_invalid("current block is not the last");
    if (a->limit != b->data + b->size) return pyarena_invalid("limit is not the end of cur");
    if (a->bump < b->data + (size_t)(-(uintptr_t)b->data & a->mask) || a->bump > a->limit)
        return pyarena_invalid("bump outside the current block");
    if (blocks != a->blocks || reserved != a->reserved || padding != a->padding ||
        abandoned != a->abandoned)
        return pyarena_invalid("counters disagree with the blocks");
    if (a->reserved < a->padding + a->abandoned + (uint64_t)(a->limit - a->bump))
        return pyarena_invalid("used would be negative");
    if (((uintptr_t)a->bump & a->mask) != 0) return pyarena_invalid("bump misaligned");
    if (a->nitems > a->allocated || (a->items == NULL) != (a->allocated == 0))
        return pyarena_invalid("item array inconsistent");
    return 1;
}
