/* pymalloc.c: CPython 3.11's obmalloc algorithm, our own code, with its
 * tunables as run-time parameters (see pymalloc.h).
 *
 * ---------------------------------------------------------------------
 * Layers
 *
 *   requests of 1..threshold bytes      -> a block of a size class, cut
 *                                          from a pool, cut from an arena
 *   requests of 0 or > threshold bytes  -> the raw allocator: the
 *                                          process's malloc (0 as malloc(1))
 *
 * Size classes.  A request of n bytes (1 <= n <= threshold) has class
 * (n - 1) >> log2(align) and gets (class + 1) * align bytes:
 *
 *     request      block   class          (align = 16, threshold = 512)
 *       1..16        16      0
 *      17..32        32      1
 *        ...        ...    ...
 *     497..512      512     31
 *
 * Tunables (parameters; defaults are 3.11's on 64-bit): align 16,
 * threshold 512, pool 16 KiB, arena 1 MiB, keep_empty yes; preset 3.8 is
 * 4 KiB pools in 256 KiB arenas, every empty arena released.
 *
 * Arenas are pool-aligned mappings of arena_size bytes (placement=mmap
 * takes what the kernel gives, and loses the first partial pool as CPython
 * does).  Pools are carved from an arena's high-water mark (pool_address)
 * only when no freed pool is waiting on its freepools list.  Every pool
 * starts with a header of PYMALLOC_HEADER bytes (48: CPython's
 * sizeof(struct pool_header) on 64-bit, rounded up to align) so that block
 * counts, and hence every statistic, match CPython's.
 *
 * Pool life cycle (a carved pool is in one state, forever after):
 *
 *   used   0 < count < nblocks; in the usedpools ring of its class.
 *          malloc: a block off the pool's free list; when the list runs
 *          dry the next virgin block is carved (nextoffset advances up to
 *          maxnextoffset); when none is left the pool goes
 *          -> full   (unlinked from the ring).
 *          free: the block is pushed on the free list (LIFO); the last one
 *          freed makes it
 *          -> empty  (unlinked; pushed on its arena's freepools).
 *   full   count == nblocks; in no list.
 *          free -> used, linked at the *front* of its ring, so the next
 *          malloc of the class reuses the block just freed.
 *   empty  count == 0; on its arena's freepools (singly linked, LIFO).
 *          The next class whose ring is empty takes the first free pool of
 *          the first usable arena; a pool that last held the same class
 *          keeps its free list, another is re-initialised.
 *
 * Arena life cycle.  `usable_arenas` is a doubly linked list of arenas with
 * at least one free (or never carved) pool, sorted by ascending nfreepools,
 * so pools come from the fullest arena and nearly empty ones get a chance
 * to drain; nfp2lasta[n] is the last arena with n free pools, so a changed
 * count moves an arena in O(1).  When a free empties an arena it is
 * unmapped -- unless keep_empty is on and it is the last of usable_arenas
 * (3.9+, bpo-37257: one spare arena stops alloc/free loops from thrashing).
 * Arena objects live in a vector that doubles when the unused list runs out
 * (from 16); unused objects are reused LIFO.  The vector only grows when no
 * arena has a free pool, so no list points into it then.
 *
 * Which blocks are ours: arenamap (internal/arenamap.h) answers for any
 * address in constant time, so freeing a raw block never reads memory that
 * is not ours.
 *
 * Realloc (as 3.11): a pool block stays in place when the new size fits its
 * class and keeps more than 3/4 of it (4 * n > 3 * size); otherwise a new
 * block is allocated (pool or raw by the new size), the prefix copied, the
 * old block freed.  A raw block stays raw, whatever the new size (obmalloc
 * cannot know how many bytes of it are valid to copy).  Calloc zeroes the
 * bytes asked for; requests above PY_SSIZE_T_MAX (and calloc products that
 * overflow it) fail with NULL, as in CPython.
 *
 * The raw allocator is the process's malloc, as CPython's raw domain is by
 * default -- unless set_raw gave another: obmalloc really calls
 * PyMem_RawMalloc, and under PYTHONMALLOC=pymalloc_debug that is the raw
 * domain's debug hook, which adds its own 24 bytes to every block pymalloc
 * hands on (a large obj block then carries two headers: 48 bytes).  The
 * route gives pymalloc the raw domain when that domain has the debug layer
 * (sim/replay/route.c), so malloc sees what CPython's malloc sees.
 *
 * Statistics: footprint = arenas held * arena_size + malloc_usable_size()
 * of the live raw blocks (not when set_raw gave another raw allocator:
 * its instance counts them); the peak is exact (updated where the footprint
 * grows: a new arena, a raw malloc/calloc/realloc).  Extra counters:
 * arenas, arenas_highwater, arena_bytes, pools_used, pools_free (free and
 * never carved pools of mapped arenas), raw_blocks, raw_bytes.  Only
 * counters are kept on the way; mallocstats and pymalloc_is_valid walk the
 * heap.
 * ---------------------------------------------------------------------
 */
#include "alloc/pymalloc.h"

#include "alloc/internal/arenamap.h"
#include "alloc/internal/osmem.h"
#include "alloc/params.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define PYMALLOC_LIKELY(x)   __builtin_expect(!!(x), 1)
#define PYMALLOC_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* Slow paths out of line: the fast paths then need no saved registers. */
#define PYMALLOC_NOINLINE __attribute__((noinline))
#else
#define PYMALLOC_NOINLINE
#define PYMALLOC_LIKELY(x)   (x)
#define PYMALLOC_UNLIKELY(x) (x)
#endif

#define PYMALLOC_HEADER         48u                   /* CPython's pool header, 64-bit     */
#define PYMALLOC_DUMMY_CLASS    0xffff                /* size class of a never-used pool   */
#define PYMALLOC_INITIAL_ARENAS 16                    /* first size of the arena vector    */
#define PYMALLOC_SSIZE_MAX      ((size_t)PTRDIFF_MAX) /* PY_SSIZE_T_MAX */
#define PYMALLOC_MAX_ARENA      ((uint32_t)1 << 30)
#define PYMALLOC_MIN_POOLS      4 /* per arena: see pymalloc_params_check */

/* A ring link; the first member of a pool header, so a ring head is just a
 * link and the ring order is exactly CPython's usedpools order. */
typedef struct pymalloc_link_s {
    struct pymalloc_link_s *next;
    struct pymalloc_link_s *prev;
} pymalloc_link_t;

typedef struct {
    pymalloc_link_t link;   /* usedpools ring; freepools uses link.next     */
    uint8_t *freeblock;     /* head of the free list; NULL when full        */
    uint32_t count;         /* blocks handed out                            */
    uint32_t szidx;         /* size class, or PYMALLOC_DUMMY_CLASS          */
    uint32_t arenaindex;    /* index of the arena object in pm->arenas      */
    uint32_t nextoffset;    /* offset of the next virgin block              */
    uint32_t maxnextoffset; /* largest valid nextoffset                     */
} pymalloc_pool_t;

_Static_assert(sizeof(pymalloc_pool_t) <= PYMALLOC_HEADER, "pool header exceeds CPython's");
_Static_assert(offsetof(pymalloc_pool_t, link) == 0, "ring link must come first");

typedef struct pymalloc_arena_s {
    uintptr_t address;                  /* mapping; 0 = object unused        */
    uint8_t *pool_address;              /* next pool to carve                */
    uint32_t nfreepools;                /* free + never carved pools         */
    uint32_t ntotalpools;               /* pools the arena can hold          */
    pymalloc_pool_t *freepools;         /* empty pools, via link.next        */
    struct pymalloc_arena_s *nextarena; /* usable_arenas, or unused list    */
    struct pymalloc_arena_s *prevarena; /* usable_arenas only               */
} pymalloc_arena_t;

struct pymalloc_s {
    /* Hot: read by every malloc/free, one cache line. */
    arenamap_t map;             /* which addresses are in our arenas        */
    uint32_t threshold;         /* largest small request                    */
    uint32_t shift;             /* log2(align)                              */
    uintptr_t pool_base;        /* ~(pool_size - 1): pool of an address     */
    pymalloc_link_t *usedpools; /* ring heads, one per class                */
    uintptr_t pool_mask;        /* pool_size - 1                            */

    /* Arena management. */
    pymalloc_arena_t *usable_arenas;
    pymalloc_arena_t **nfp2lasta; /* [0 .. max_pools]                       */
    pymalloc_arena_t *arenas;     /* the vector of arena objects            */
    uint32_t maxarenas;           /* its length                             */
    pymalloc_arena_t *unused_arena_objects;

    /* Counters (CPython's names). */
    size_t narenas_currently_allocated;
    size_t ntimes_arena_allocated;
    size_t narenas_highwater;
    uint64_t pools_used;  /* pools holding at least one block             */
    uint64_t pools_total; /* ntotalpools summed over mapped arenas        */
    uint64_t raw_blocks;  /* live blocks from the raw allocator           */
    uint64_t raw_bytes;   /* their usable bytes                           */
    uint64_t peak_footprint;

    /* The raw allocator set by pymalloc_set_raw; raw.malloc NULL: the
     * process's malloc. */
    alloc_t raw;
    size_t (*raw_usable)(void *ctx, const void *p);

    /* Geometry. */
    pymalloc_params_t p;
    uint32_t nclasses;
    uint32_t overhead;  /* pool header bytes: 48 rounded up to align       */
    uint32_t max_pools; /* arena_size / pool_size                         */
};

/* ---- Parameters ------------------------------------------------------ */

void pymalloc_params_default(pymalloc_params_t *p)
{
    p->align = 16;
    p->threshold = 512;
    p->pool_size = 16 * 1024;
    p->arena_size = 1024 * 1024;
    p->keep_empty = 1;
    p->placement = PYMALLOC_ALIGNED;
}

static int pymalloc_is_pow2(uint64_t v)
{
    return v && (v & (v - 1)) == 0;
}

static unsigned pymalloc_log2(uint64_t v)
{
    unsigned r = 0;
    while (v > 1) {
        v >>= 1;
        r++;
    }
    return r;
}

static uint32_t pymalloc_round_up(uint32_t v, uint32_t align)
{
    return (v + align - 1) & ~(align - 1);
}

int pymalloc_params_check(const pymalloc_params_t *p, char *err, size_t errlen)
{
    if (!pymalloc_is_pow2(p->align) || p->align < sizeof(void *) || p->align > 4096) {
        snprintf(err, errlen, "pymalloc: align=%u must be a power of two from %zu to 4096",
                 p->align, sizeof(void *));
        return -1;
    }
    if (p->threshold < p->align || p->threshold % p->align) {
        snprintf(err, errlen, "pymalloc: threshold=%u must be a multiple of align=%u", p->threshold,
                 p->align);
        return -1;
    }
    if (!pymalloc_is_pow2(p->pool_size) || !pymalloc_is_pow2(p->arena_size)) {
        snprintf(err, errlen, "pymalloc: pool=%u and arena=%u must be powers of two", p->pool_size,
                 p->arena_size);
        return -1;
    }
    /* Initialising a pool hands out its first block and links the second,
     * so the largest class needs two blocks per pool. */
    uint64_t need = (uint64_t)pymalloc_round_up(PYMALLOC_HEADER, p->align) + 2ull * p->threshold;
    if (p->pool_size < need || p->pool_size < 1024) {
        snprintf(err, errlen,
                 "pymalloc: pool=%u too small: a pool must hold its header and two blocks of "
                 "threshold=%u (at least %llu bytes, and 1K)",
                 p->pool_size, p->threshold, (unsigned long long)need);
        return -1;
    }
    /* With fewer pools an arena cut short by placement=mmap could hold a
     * single pool, where CPython's release test reads a stale link. */
    if (p->arena_size < (uint64_t)PYMALLOC_MIN_POOLS * p->pool_size ||
        p->arena_size > PYMALLOC_MAX_ARENA) {
        snprintf(err, errlen, "pymalloc: arena=%u must hold at least %d pools and be at most 1G",
                 p->arena_size, PYMALLOC_MIN_POOLS);
        return -1;
    }
    if (p->placement != PYMALLOC_ALIGNED && p->placement != PYMALLOC_MMAP) {
        snprintf(err, errlen, "pymalloc: bad placement");
        return -1;
    }
    return 0;
}

/* The presets: what differs between CPython versions on 64-bit. */
static const struct {
    const char *name;
    uint32_t pool_size, arena_size;
    int keep_empty;
} pymalloc_presets[] = {
    {"3.11", 16 * 1024, 1024 * 1024, 1}, /* 3.10+: radix tree, large pools */
    {"3.14", 16 * 1024, 1024 * 1024, 1}, /* unchanged since 3.11          */
    {"3.8", 4 * 1024, 256 * 1024, 0},    /* before bpo-37257 and large pools */
};

int pymalloc_params_parse(pymalloc_params_t *p, alloc_param_t *params, size_t n, char *err,
                          size_t errlen)
{
    static const char *const presets[] = {"3.11", "3.14", "3.8", NULL};
    static const char *const placements[] = {"aligned", "mmap", NULL};
    static const char *const yesno[] = {"no", "yes", "0", "1", NULL};
    _Static_assert(sizeof presets / sizeof presets[0] - 1 ==
                       sizeof pymalloc_presets / sizeof pymalloc_presets[0],
                   "preset names and values disagree");
    int preset = -1;
    if (alloc_param_choice(params, n, "preset", presets, &preset, err, errlen)) return -1;
    if (preset >= 0) {
        p->pool_size = pymalloc_presets[preset].pool_size;
        p->arena_size = pymalloc_presets[preset].arena_size;
        p->keep_empty = pymalloc_presets[preset].keep_empty;
    }
    /* Explicit parameters override the preset, whatever their order. */
    uint64_t align = p->align, threshold = p->threshold, pool = p->pool_size, arena = p->arena_size;
    int placement = p->placement, keep = p->keep_empty ? 1 : 0;
    if (alloc_param_size(params, n, "align", 1, 4096, &align, err, errlen) ||
        alloc_param_size(params, n, "threshold", 1, 1 << 20, &threshold, err, errlen) ||
        alloc_param_size(params, n, "pool", 1, PYMALLOC_MAX_ARENA, &pool, err, errlen) ||
        alloc_param_size(params, n, "arena", 1, PYMALLOC_MAX_ARENA, &arena, err, errlen) ||
        alloc_param_choice(params, n, "placement", placements, &placement, err, errlen) ||
        alloc_param_choice(params, n, "keep_empty", yesno, &keep, err, errlen))
        return -1;
    p->align = (uint32_t)align;
    p->threshold = (uint32_t)threshold;
    p->pool_size = (uint32_t)pool;
    p->arena_size = (uint32_t)arena;
    p->keep_empty = keep & 1; /* "yes" and "1" are odd */
    p->placement = placement;
    return pymalloc_params_check(p, err, errlen);
}

/* ---- Creation -------------------------------------------------------- */

pymalloc_t *pymalloc_new(const pymalloc_params_t *p)
{
    char err[256];
    if (pymalloc_params_check(p, err, sizeof err)) return NULL;
    pymalloc_t *pm = aligned_alloc(64, (sizeof *pm + 63) & ~(size_t)63);
    if (!pm) return NULL;
    memset(pm, 0, sizeof *pm);
    pm->p = *p;
    pm->threshold = p->threshold;
    pm->shift = pymalloc_log2(p->align);
    pm->pool_mask = (uintptr_t)p->pool_size - 1;
    pm->pool_base = ~pm->pool_mask;
    pm->nclasses = p->threshold >> pm->shift;
    pm->overhead = pymalloc_round_up(PYMALLOC_HEADER, p->align);
    pm->max_pools = p->arena_size / p->pool_size;
    pm->usedpools = malloc(pm->nclasses * sizeof *pm->usedpools);
    pm->nfp2lasta = calloc((size_t)pm->max_pools + 1, sizeof *pm->nfp2lasta);
    if (!pm->usedpools || !pm->nfp2lasta || arenamap_init(&pm->map, pymalloc_log2(p->arena_size))) {
        free(pm->usedpools);
        free(pm->nfp2lasta);
        free(pm);
        return NULL;
    }
    for (uint32_t i = 0; i < pm->nclasses; i++)
        pm->usedpools[i].next = pm->usedpools[i].prev = &pm->usedpools[i];
    return pm;
}

void pymalloc_delete(pymalloc_t *pm)
{
    if (!pm) return;
    for (uint32_t i = 0; i < pm->maxarenas; i++)
        if (pm->arenas[i].address) osmem_unmap((void *)pm->arenas[i].address, pm->p.arena_size);
    arenamap_fini(&pm->map);
    free(pm->arenas);
    free(pm->nfp2lasta);
    free(pm->usedpools);
    free(pm);
}

/* ---- Footprint ------------------------------------------------------- */

static uint64_t pymalloc_footprint(const pymalloc_t *pm)
{
    return (uint64_t)pm->narenas_currently_allocated * pm->p.arena_size +
           (pm->raw.malloc ? 0 : pm->raw_bytes);
}

static void pymalloc_note_peak(pymalloc_t *pm)
{
    uint64_t fp = pymalloc_footprint(pm);
    if (fp > pm->peak_footprint) pm->peak_footprint = fp;
}

/* ---- Raw allocator (the process's malloc, or set_raw's) -------------- */

/* Usable bytes of raw block P. */
static size_t pymalloc_raw_usable(const pymalloc_t *pm, const void *p)
{
    if (!pm->raw.malloc) return malloc_usable_size((void *)p);
    return pm->raw_usable ? pm->raw_usable(pm->raw.ctx, p) : 0;
}

static void *pymalloc_raw_counted(pymalloc_t *pm, void *p)
{
    if (p) {
        pm->raw_blocks++;
        pm->raw_bytes += pymalloc_raw_usable(pm, p);
        pymalloc_note_peak(pm);
    }
    return p;
}

static PYMALLOC_NOINLINE void *pymalloc_raw_malloc(pymalloc_t *pm, size_t n)
{
    if (n > PYMALLOC_SSIZE_MAX) return NULL;
    if (pm->raw.malloc) return pymalloc_raw_counted(pm, pm->raw.malloc(pm->raw.ctx, n));
    return pymalloc_raw_counted(pm, malloc(n ? n : 1));
}

static void *pymalloc_raw_calloc(pymalloc_t *pm, size_t nelem, size_t elsize)
{
    if (pm->raw.malloc) return pymalloc_raw_counted(pm, pm->raw.calloc(pm->raw.ctx, nelem, elsize));
    if (!nelem || !elsize) nelem = elsize = 1;
    return pymalloc_raw_counted(pm, calloc(nelem, elsize));
}

static void *pymalloc_raw_realloc(pymalloc_t *pm, void *p, size_t n)
{
    size_t old = pymalloc_raw_usable(pm, p);
    void *q = pm->raw.malloc ? pm->raw.realloc(pm->raw.ctx, p, n) : realloc(p, n ? n : 1);
    if (!q) return NULL;
    pm->raw_bytes = pm->raw_bytes - old + pymalloc_raw_usable(pm, q);
    pymalloc_note_peak(pm);
    return q;
}

static PYMALLOC_NOINLINE void pymalloc_raw_free(pymalloc_t *pm, void *p)
{
    pm->raw_blocks--;
    pm->raw_bytes -= pymalloc_raw_usable(pm, p);
    if (pm->raw.malloc)
        pm->raw.free(pm->raw.ctx, p);
    else
        free(p);
}

void pymalloc_set_raw(void *ctx, const alloc_t *raw, size_t (*usable)(void *, const void *))
{
    pymalloc_t *pm = ctx;
    pm->raw = *raw;
    pm->raw_usable = usable;
}

/* ---- Arenas ---------------------------------------------------------- */

/* Maps a new arena and returns its object, or NULL (nothing changed). */
static pymalloc_arena_t *pymalloc_new_arena(pymalloc_t *pm)
{
    if (!pm->unused_arena_objects) {
        /* All arenas are full (usable_arenas is empty, so is nfp2lasta):
         * nothing points into the vector and it may move. */
        uint32_t num = pm->maxarenas ? pm->maxarenas << 1 : PYMALLOC_INITIAL_ARENAS;
        if (num <= pm->maxarenas) return NULL; /* 2^32 arena objects */
        /* num < 2^32 objects of a few dozen bytes: no size_t overflow on
         * 64-bit; checked anyway for 32-bit hosts. */
        if ((uint64_t)num * sizeof *pm->arenas > (uint64_t)SIZE_MAX) return NULL;
        pymalloc_arena_t *v = realloc(pm->arenas, (size_t)num * sizeof *v);
        if (!v) return NULL;
        pm->arenas = v;
        for (uint32_t i = pm->maxarenas; i < num; i++) {
            v[i].address = 0;
            v[i].nextarena = i + 1 < num ? &v[i + 1] : NULL;
        }
        pm->unused_arena_objects = &v[pm->maxarenas];
        pm->maxarenas = num;
    }
    pymalloc_arena_t *ao = pm->unused_arena_objects;
    size_t align = pm->p.placement == PYMALLOC_ALIGNED ? pm->p.pool_size : 1;
    void *mem = osmem_map(pm->p.arena_size, align);
    if (!mem) return NULL;
    if (arenamap_add(&pm->map, (uintptr_t)mem)) {
        osmem_unmap(mem, pm->p.arena_size);
        return NULL;
    }
    pm->unused_arena_objects = ao->nextarena;
    ao->address = (uintptr_t)mem;
    pm->narenas_currently_allocated++;
    pm->ntimes_arena_allocated++;
    if (pm->narenas_currently_allocated > pm->narenas_highwater)
        pm->narenas_highwater = pm->narenas_currently_allocated;
    ao->freepools = NULL;
    ao->pool_address = mem;
    ao->nfreepools = pm->max_pools;
    uintptr_t excess = ao->address & pm->pool_mask;
    if (excess) {
        ao->nfreepools--;
        ao->pool_address += pm->p.pool_size - excess;
    }
    ao->ntotalpools = ao->nfreepools;
    pm->pools_total += ao->ntotalpools;
    pymalloc_note_peak(pm);
    return ao;
}

/* ---- Allocation ------------------------------------------------------ */

static inline uint32_t pymalloc_class_size(const pymalloc_t *pm, uint32_t idx)
{
    return (idx + 1) << pm->shift;
}

/* The free list of POOL ran dry after handing out BP: carve the next
 * virgin block, or, when the pool is used up, take it off its ring (it is
 * full).  Returns BP (so the fast path ends in a tail call). */
static PYMALLOC_NOINLINE void *pymalloc_pool_extend(pymalloc_t *pm, pymalloc_pool_t *pool, void *bp)
{
    if (PYMALLOC_UNLIKELY(pool->nextoffset <= pool->maxnextoffset)) {
        uint8_t *b = (uint8_t *)pool + pool->nextoffset;
        pool->freeblock = b;
        pool->nextoffset += pymalloc_class_size(pm, pool->szidx);
        *(uint8_t **)b = NULL;
        return bp;
    }
    pymalloc_link_t *next = pool->link.next, *prev = pool->link.prev;
    next->prev = prev;
    prev->next = next;
    return bp;
}

/* The ring of class IDX is empty: take a pool from the first usable arena
 * (mapping one if need be) and hand out its first block.  NULL when no
 * arena can be mapped. */
static PYMALLOC_NOINLINE void *pymalloc_from_new_pool(pymalloc_t *pm, uint32_t idx)
{
    pymalloc_arena_t *ua = pm->usable_arenas;
    if (PYMALLOC_UNLIKELY(!ua)) {
        ua = pymalloc_new_arena(pm);
        if (!ua) return NULL;
        ua->nextarena = ua->prevarena = NULL;
        pm->usable_arenas = ua;
        pm->nfp2lasta[ua->nfreepools] = ua;
    }
    /* The head arena has the fewest free pools, so taking one keeps the
     * order; only the nfp2lasta fingers move. */
    if (pm->nfp2lasta[ua->nfreepools] == ua) pm->nfp2lasta[ua->nfreepools] = NULL;
    if (ua->nfreepools > 1) pm->nfp2lasta[ua->nfreepools - 1] = ua;

    pymalloc_pool_t *pool = ua->freepools;
    if (PYMALLOC_LIKELY(pool != NULL)) {
        ua->freepools = (pymalloc_pool_t *)pool->link.next;
    } else {
        pool = (pymalloc_pool_t *)ua->pool_address;
        pool->arenaindex = (uint32_t)(ua - pm->arenas);
        pool->szidx = PYMALLOC_DUMMY_CLASS;
        ua->pool_address += pm->p.pool_size;
    }
    if (--ua->nfreepools == 0) {
        /* Wholly allocated: off the list. */
        pm->usable_arenas = ua->nextarena;
        if (pm->usable_arenas) pm->usable_arenas->prevarena = NULL;
    }
    pm->pools_used++;

    pymalloc_link_t *head = &pm->usedpools[idx];
    pool->link.next = pool->link.prev = head;
    head->next = head->prev = &pool->link;
    pool->count = 1;
    if (pool->szidx == idx) {
        /* Last held this class: its free list is intact. */
        uint8_t *bp = pool->freeblock;
        pool->freeblock = *(uint8_t **)bp;
        return bp;
    }
    uint32_t size = pymalloc_class_size(pm, idx);
    uint8_t *bp = (uint8_t *)pool + pm->overhead;
    pool->szidx = idx;
    pool->nextoffset = pm->overhead + (size << 1);
    pool->maxnextoffset = pm->p.pool_size - size;
    pool->freeblock = bp + size;
    *(uint8_t **)pool->freeblock = NULL;
    return bp;
}

/* A block of class IDX, or NULL when no arena can be mapped. */
static inline void *pymalloc_small(pymalloc_t *pm, uint32_t idx)
{
    pymalloc_link_t *head = &pm->usedpools[idx];
    pymalloc_link_t *first = head->next;
    if (PYMALLOC_LIKELY(first != head)) {
        pymalloc_pool_t *pool = (pymalloc_pool_t *)first;
        uint8_t *bp = pool->freeblock;
        pool->count++;
        if (PYMALLOC_UNLIKELY((pool->freeblock = *(uint8_t **)bp) == NULL))
            return pymalloc_pool_extend(pm, pool, bp);
        return bp;
    }
    return pymalloc_from_new_pool(pm, idx);
}

void *pymalloc_malloc(void *ctx, size_t n)
{
    pymalloc_t *pm = ctx;
    /* n - 1 wraps for n == 0, which goes to the raw allocator.  A small
     * request falls back to it too when no arena can be mapped, as in
     * CPython. */
    if (PYMALLOC_LIKELY(n - 1 < pm->threshold)) {
        void *p = pymalloc_small(pm, (uint32_t)(n - 1) >> pm->shift);
        if (PYMALLOC_LIKELY(p != NULL)) return p;
    }
    return pymalloc_raw_malloc(pm, n);
}

void *pymalloc_calloc(void *ctx, size_t nelem, size_t elsize)
{
    pymalloc_t *pm = ctx;
    if (elsize != 0 && nelem > PYMALLOC_SSIZE_MAX / elsize) return NULL;
    size_t n = nelem * elsize;
    if (n - 1 < pm->threshold) {
        void *p = pymalloc_small(pm, (uint32_t)(n - 1) >> pm->shift);
        if (p) {
            memset(p, 0, n);
            return p;
        }
    }
    return pymalloc_raw_calloc(pm, nelem, elsize);
}

/* ---- Free ------------------------------------------------------------ */

/* POOL, now empty, goes on its arena's freepools; the arena moves right in
 * usable_arenas, or is released when wholly free. */
static PYMALLOC_NOINLINE void pymalloc_insert_to_freepool(pymalloc_t *pm, pymalloc_pool_t *pool)
{
    pymalloc_link_t *next = pool->link.next, *prev = pool->link.prev;
    next->prev = prev;
    prev->next = next;
    pm->pools_used--;

    pymalloc_arena_t *ao = &pm->arenas[pool->arenaindex];
    pool->link.next = (pymalloc_link_t *)ao->freepools;
    ao->freepools = pool;
    uint32_t nf = ao->nfreepools;
    /* If AO was the last arena with nf free pools, the finger moves to its
     * left neighbour when that one has nf too. */
    pymalloc_arena_t *lastnf = pm->nfp2lasta[nf];
    if (lastnf == ao) {
        pymalloc_arena_t *p = ao->prevarena;
        pm->nfp2lasta[nf] = (p != NULL && p->nfreepools == nf) ? p : NULL;
    }
    ao->nfreepools = ++nf;

    if (nf == ao->ntotalpools && (!pm->p.keep_empty || ao->nextarena != NULL)) {
        /* Wholly free and not the one spare: unlink and unmap. */
        if (ao->prevarena == NULL)
            pm->usable_arenas = ao->nextarena;
        else
            ao->prevarena->nextarena = ao->nextarena;
        if (ao->nextarena != NULL) ao->nextarena->prevarena = ao->prevarena;
        ao->nextarena = pm->unused_arena_objects;
        pm->unused_arena_objects = ao;
        arenamap_remove(&pm->map, ao->address);
        osmem_unmap((void *)ao->address, pm->p.arena_size);
        ao->address = 0;
        pm->narenas_currently_allocated--;
        pm->pools_total -= ao->ntotalpools;
        /* nfp2lasta[nf] cannot name AO: nf == ntotalpools only ever happens
         * here, and the finger was never set to it. */
        return;
    }
    if (nf == 1) {
        /* Was full, hence in no list: it now has the fewest free pools. */
        ao->nextarena = pm->usable_arenas;
        ao->prevarena = NULL;
        if (pm->usable_arenas) pm->usable_arenas->prevarena = ao;
        pm->usable_arenas = ao;
        if (pm->nfp2lasta[1] == NULL) pm->nfp2lasta[1] = ao;
        return;
    }
    if (pm->nfp2lasta[nf] == NULL) pm->nfp2lasta[nf] = ao;
    /* Was the last with nf - 1: still in order. */
    if (ao == lastnf) return;
    /* Move AO right, behind the last arena that had nf - 1. */
    if (ao->prevarena != NULL)
        ao->prevarena->nextarena = ao->nextarena;
    else
        pm->usable_arenas = ao->nextarena;
    ao->nextarena->prevarena = ao->prevarena;
    ao->prevarena = lastnf;
    ao->nextarena = lastnf->nextarena;
    if (ao->nextarena != NULL) ao->nextarena->prevarena = ao;
    lastnf->nextarena = ao;
}

/* POOL was full: back at the front of its ring, so the next malloc of
 * its class reuses the block just freed. */
static PYMALLOC_NOINLINE void pymalloc_unfull(pymalloc_t *pm, pymalloc_pool_t *pool)
{
    pymalloc_link_t *head = &pm->usedpools[pool->szidx];
    pymalloc_link_t *first = head->next;
    pool->link.next = first;
    pool->link.prev = head;
    first->prev = &pool->link;
    head->next = &pool->link;
}

void pymalloc_free(void *ctx, void *p)
{
    pymalloc_t *pm = ctx;
    if (PYMALLOC_UNLIKELY(p == NULL)) return;
    if (PYMALLOC_UNLIKELY(!arenamap_contains(&pm->map, p))) {
        pymalloc_raw_free(pm, p);
        return;
    }
    pymalloc_pool_t *pool = (pymalloc_pool_t *)((uintptr_t)p & pm->pool_base);
    uint8_t *last = pool->freeblock;
    *(uint8_t **)p = last;
    pool->freeblock = p;
    if (PYMALLOC_UNLIKELY(last == NULL)) {
        pool->count--;
        pymalloc_unfull(pm, pool);
        return;
    }
    if (PYMALLOC_LIKELY(--pool->count != 0)) return;
    pymalloc_insert_to_freepool(pm, pool);
}

/* ---- Realloc --------------------------------------------------------- */

void *pymalloc_realloc(void *ctx, void *p, size_t n)
{
    pymalloc_t *pm = ctx;
    if (n > PYMALLOC_SSIZE_MAX) return NULL;
    if (p == NULL) return pymalloc_malloc(ctx, n);
    if (!arenamap_contains(&pm->map, p)) return pymalloc_raw_realloc(pm, p, n);
    const pymalloc_pool_t *pool = (const pymalloc_pool_t *)((uintptr_t)p & pm->pool_base);
    size_t size = pymalloc_class_size(pm, pool->szidx);
    if (n <= size) {
        /* Copying to a smaller class costs cycles; only worth it when at
         * least a quarter of the block would be saved. */
        if (4 * n > 3 * size) return p;
        size = n;
    }
    void *q = pymalloc_malloc(ctx, n);
    if (q) {
        memcpy(q, p, size);
        pymalloc_free(ctx, p);
    }
    return q;
}

size_t pymalloc_usable_size(void *ctx, const void *p)
{
    const pymalloc_t *pm = ctx;
    if (!arenamap_contains(&pm->map, p)) return pymalloc_raw_usable(pm, p);
    const pymalloc_pool_t *pool = (const pymalloc_pool_t *)((uintptr_t)p & pm->pool_base);
    return pymalloc_class_size(pm, pool->szidx);
}

/* ---- Statistics ------------------------------------------------------ */

void pymalloc_stats(void *ctx, alloc_stats_t *out)
{
    const pymalloc_t *pm = ctx;
    uint64_t arena_bytes = (uint64_t)pm->narenas_currently_allocated * pm->p.arena_size;
    memset(out, 0, sizeof *out);
    out->footprint = pymalloc_footprint(pm);
    out->peak_footprint = pm->peak_footprint;
    const struct {
        const char *name;
        uint64_t value;
    } extra[] = {
        {"arenas", pm->narenas_currently_allocated},
        {"arenas_highwater", pm->narenas_highwater},
        {"arena_bytes", arena_bytes},
        {"pools_used", pm->pools_used},
        {"pools_free", pm->pools_total - pm->pools_used},
        {"raw_blocks", pm->raw_blocks},
        {"raw_bytes", pm->raw_bytes},
    };
    _Static_assert(sizeof extra / sizeof extra[0] <= ALLOC_MAX_EXTRA, "too many extra counters");
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        out->extra[i].name = extra[i].name;
        out->extra[i].value = extra[i].value;
    }
    out->nextra = (int)(sizeof extra / sizeof extra[0]);
}

/* One `label = value` line as CPython's printone(): the label padded to 35
 * columns, the value with thousands commas right-aligned in 21 (CPython
 * keeps the last 21 characters of a longer one). */
static void pymalloc_printone(FILE *out, const char *label, uint64_t value)
{
    char digits[32];
    char buf[48];
    int nd = snprintf(digits, sizeof digits, "%llu", (unsigned long long)value);
    int len = 0;
    for (int i = 0; i < nd; i++) {
        if (i > 0 && (nd - i) % 3 == 0) buf[len++] = ',';
        buf[len++] = digits[i];
    }
    buf[len] = '\0';
    const char *shown = len > 21 ? buf + (len - 21) : buf;
    fprintf(out, "%-35s=%21s\n", label, shown);
}

int pymalloc_mallocstats(void *ctx, FILE *out)
{
    const pymalloc_t *pm = ctx;
    uint32_t nc = pm->nclasses;
    uint64_t *numpools = calloc((size_t)nc * 3, sizeof *numpools);
    if (!numpools) return -1;
    uint64_t *numblocks = numpools + nc, *numfree = numpools + 2 * nc;
    uint64_t numfreepools = 0, arena_alignment = 0, narenas = 0;

    fprintf(out, "Small block threshold = %u, in %u size classes.\n", pm->p.threshold, nc);
    /* Full pools are in no list: walk every arena, as CPython does. */
    for (uint32_t i = 0; i < pm->maxarenas; i++) {
        const pymalloc_arena_t *ao = &pm->arenas[i];
        if (!ao->address) continue;
        narenas++;
        numfreepools += ao->nfreepools;
        uintptr_t base = ao->address;
        if (base & pm->pool_mask) {
            arena_alignment += pm->p.pool_size;
            base = (base & ~pm->pool_mask) + pm->p.pool_size;
        }
        for (; base < (uintptr_t)ao->pool_address; base += pm->p.pool_size) {
            const pymalloc_pool_t *pool = (const pymalloc_pool_t *)base;
            if (pool->count == 0) continue;
            uint32_t sz = pool->szidx;
            numpools[sz]++;
            numblocks[sz] += pool->count;
            numfree[sz] +=
                (pm->p.pool_size - pm->overhead) / pymalloc_class_size(pm, sz) - pool->count;
        }
    }
    fputs("\nclass   size   num pools   blocks in use  avail blocks\n"
          "-----   ----   ---------   -------------  ------------\n",
          out);
    uint64_t allocated = 0, available = 0, headers = 0, quantization = 0;
    for (uint32_t i = 0; i < nc; i++) {
        if (!numpools[i]) continue;
        uint32_t size = pymalloc_class_size(pm, i);
        fprintf(out, "%5u %6u %11llu %15llu %13llu\n", i, size, (unsigned long long)numpools[i],
                (unsigned long long)numblocks[i], (unsigned long long)numfree[i]);
        allocated += numblocks[i] * size;
        available += numfree[i] * size;
        headers += numpools[i] * pm->overhead;
        quantization += numpools[i] * ((pm->p.pool_size - pm->overhead) % size);
    }
    free(numpools);
    fputc('\n', out);
    char label[128];
    pymalloc_printone(out, "# arenas allocated total", pm->ntimes_arena_allocated);
    pymalloc_printone(out, "# arenas reclaimed", pm->ntimes_arena_allocated - narenas);
    pymalloc_printone(out, "# arenas highwater mark", pm->narenas_highwater);
    pymalloc_printone(out, "# arenas allocated current", narenas);
    snprintf(label, sizeof label, "%llu arenas * %u bytes/arena", (unsigned long long)narenas,
             pm->p.arena_size);
    pymalloc_printone(out, label, narenas * pm->p.arena_size);
    fputc('\n', out);
    uint64_t unused = numfreepools * pm->p.pool_size;
    pymalloc_printone(out, "# bytes in allocated blocks", allocated);
    pymalloc_printone(out, "# bytes in available blocks", available);
    snprintf(label, sizeof label, "%llu unused pools * %u bytes", (unsigned long long)numfreepools,
             pm->p.pool_size);
    pymalloc_printone(out, label, unused);
    pymalloc_printone(out, "# bytes lost to pool headers", headers);
    pymalloc_printone(out, "# bytes lost to quantization", quantization);
    pymalloc_printone(out, "# bytes lost to arena alignment", arena_alignment);
    pymalloc_printone(out, "Total",
                      allocated + available + unused + headers + quantization + arena_alignment);
    return ferror(out) ? -1 : 0;
}

/* ---- Invariants ------------------------------------------------------ */

#define PYMALLOC_BAD(...)                                                                          \
    do {                                                                                           \
        fprintf(stderr, "pymalloc_is_valid: " __VA_ARGS__);                                        \
        fputc('\n', stderr);                                                                       \
        goto bad;                                                                                  \
    } while (0)

/* Number of blocks of class IDX a pool holds. */
static uint32_t pymalloc_nblocks(const pymalloc_t *pm, uint32_t idx)
{
    return (pm->p.pool_size - pm->overhead) / pymalloc_class_size(pm, idx);
}

/* Checks the free list and carving state of POOL (class already checked).
 * Returns the number of free blocks on the list, or -1 after printing what
 * is wrong.  A singly linked list revisits a block only by looping, so
 * bounding the walk by the carved count catches duplicates too. */
static long pymalloc_check_pool_blocks(const pymalloc_t *pm, const pymalloc_pool_t *pool)
{
    uint32_t size = pymalloc_class_size(pm, pool->szidx);
    uint32_t nblocks = pymalloc_nblocks(pm, pool->szidx);
    if (pool->maxnextoffset != pm->p.pool_size - size) {
        fprintf(stderr, "pymalloc_is_valid: pool %p: maxnextoffset %u\n", (void *)pool,
                pool->maxnextoffset);
        return -1;
    }
    if (pool->nextoffset < pm->overhead + size || (pool->nextoffset - pm->overhead) % size ||
        pool->nextoffset > pool->maxnextoffset + size) {
        fprintf(stderr, "pymalloc_is_valid: pool %p: nextoffset %u\n", (void *)pool,
                pool->nextoffset);
        return -1;
    }
    uint32_t carved = (pool->nextoffset - pm->overhead) / size;
    long nfree = 0;
    for (const uint8_t *b = pool->freeblock; b; b = *(uint8_t *const *)b) {
        uintptr_t off = (uintptr_t)b - (uintptr_t)pool;
        if (off < pm->overhead || off >= pool->nextoffset || (off - pm->overhead) % size) {
            fprintf(stderr, "pymalloc_is_valid: pool %p: free block at bad offset %lu\n",
                    (void *)pool, (unsigned long)off);
            return -1;
        }
        if (++nfree > (long)carved) {
            fprintf(stderr, "pymalloc_is_valid: pool %p: free list loops\n", (void *)pool);
            return -1;
        }
    }
    if ((uint64_t)nfree + pool->count != carved) {
        fprintf(stderr,
                "pymalloc_is_valid: pool %p (class %u): %ld free + %u used != %u carved blocks\n",
                (void *)pool, pool->szidx, nfree, pool->count, carved);
        return -1;
    }
    if (carved > nblocks) {
        fprintf(stderr, "pymalloc_is_valid: pool %p: %u carved > %u blocks\n", (void *)pool, carved,
                nblocks);
        return -1;
    }
    return nfree;
}

/* 1 when an arena of PM starts at ADDRESS (linear: tests only). */
static int pymalloc_find_arena(const pymalloc_t *pm, uintptr_t address)
{
    for (uint32_t i = 0; i < pm->maxarenas; i++)
        if (pm->arenas[i].address == address) return 1;
    return 0;
}

int pymalloc_is_valid(const pymalloc_t *pm)
{
    uint64_t *inring = calloc((size_t)pm->nclasses * 2, sizeof *inring);
    if (!inring) {
        fprintf(stderr, "pymalloc_is_valid: out of memory\n");
        goto bad;
    }
    uint64_t *partial = inring + pm->nclasses;
    size_t narenas = 0, nusable = 0, nempty = 0;
    uint64_t pools_used = 0, pools_total = 0;

    if (!arenamap_is_valid(&pm->map)) PYMALLOC_BAD("arena map broken");
    /* The unused list: objects without arenas, no cycle. */
    size_t nunused = 0;
    for (const pymalloc_arena_t *a = pm->unused_arena_objects; a; a = a->nextarena) {
        if (a < pm->arenas || a >= pm->arenas + pm->maxarenas || a->address)
            PYMALLOC_BAD("unused_arena_objects holds a bad object");
        if (++nunused > pm->maxarenas) PYMALLOC_BAD("unused_arena_objects loops");
    }

    for (uint32_t i = 0; i < pm->maxarenas; i++) {
        const pymalloc_arena_t *ao = &pm->arenas[i];
        if (!ao->address) continue;
        narenas++;
        uintptr_t first = (ao->address + pm->pool_mask) & ~pm->pool_mask;
        uint32_t ntotal = pm->max_pools - (first != ao->address);
        if (pm->p.placement == PYMALLOC_ALIGNED && first != ao->address)
            PYMALLOC_BAD("arena %u not pool-aligned", i);
        if (ao->ntotalpools != ntotal) PYMALLOC_BAD("arena %u: ntotalpools %u", i, ao->ntotalpools);
        if (!arenamap_contains(&pm->map, (void *)ao->address) ||
            !arenamap_contains(&pm->map, (void *)(ao->address + pm->p.arena_size - 1)))
            PYMALLOC_BAD("arena %u: not in the arena map", i);
        uintptr_t pa = (uintptr_t)ao->pool_address;
        if (pa < first || (pa - first) & pm->pool_mask || (pa - first) / pm->p.pool_size > ntotal)
            PYMALLOC_BAD("arena %u: pool_address out of range", i);
        uint32_t carved = (uint32_t)((pa - first) / pm->p.pool_size);
        pools_total += ntotal;

        /* freepools: distinct empty pools of this arena. */
        uint32_t nfreelist = 0;
        for (const pymalloc_pool_t *pool = ao->freepools; pool;
             pool = (const pymalloc_pool_t *)pool->link.next) {
            uintptr_t a = (uintptr_t)pool;
            if (a < first || a >= pa || (a - first) & pm->pool_mask)
                PYMALLOC_BAD("arena %u: freepools holds a foreign pool", i);
            if (pool->count != 0) PYMALLOC_BAD("arena %u: freepools holds a used pool", i);
            if (++nfreelist > carved) PYMALLOC_BAD("arena %u: freepools loops", i);
        }
        if (nfreelist + (ntotal - carved) != ao->nfreepools)
            PYMALLOC_BAD("arena %u: nfreepools %u != %u free + %u uncarved", i, ao->nfreepools,
                         nfreelist, ntotal - carved);
        if (ao->nfreepools == ntotal) nempty++;
        if (ao->nfreepools > 0) nusable++;

        uint32_t nempty_pools = 0;
        for (uintptr_t a = first; a < pa; a += pm->p.pool_size) {
            const pymalloc_pool_t *pool = (const pymalloc_pool_t *)a;
            if (pool->arenaindex != i) PYMALLOC_BAD("pool %p: arenaindex %u", (void *)pool, i);
            if (pool->szidx >= pm->nclasses) {
                /* Only a pool carved and never used could lack a class, and
                 * carving always uses the pool at once. */
                PYMALLOC_BAD("pool %p: class %u", (void *)pool, pool->szidx);
            }
            uint32_t nblocks = pymalloc_nblocks(pm, pool->szidx);
            if (pool->count > nblocks) PYMALLOC_BAD("pool %p: count %u", (void *)pool, pool->count);
            /* An empty pool keeps its free list for reuse by its old class. */
            long nfree = pymalloc_check_pool_blocks(pm, pool);
            if (nfree < 0) goto bad;
            if (pool->count == 0) {
                nempty_pools++;
                continue;
            }
            pools_used++;
            int full = pool->count == nblocks;
            if (full != (pool->freeblock == NULL))
                PYMALLOC_BAD("pool %p: full=%d but freeblock=%p", (void *)pool, full,
                             (void *)pool->freeblock);
            if (!full) partial[pool->szidx]++;
        }
        if (nempty_pools != nfreelist)
            PYMALLOC_BAD("arena %u: %u empty pools but %u on freepools", i, nempty_pools,
                         nfreelist);
    }

    /* Everything the arena map covers starts a mapped arena. */
    for (size_t e = 0; e <= pm->map.mask; e++) {
        const arenamap_entry_t *me = &pm->map.table[e];
        if (!me->key) continue;
        uintptr_t slot_base = (me->key - 1) << pm->map.bits;
        if (me->lo && !pymalloc_find_arena(pm, slot_base - pm->p.arena_size + me->lo))
            PYMALLOC_BAD("arena map covers %#lx, no arena there", (unsigned long)slot_base);
        if (me->hi <= pm->map.offmask && !pymalloc_find_arena(pm, slot_base + me->hi))
            PYMALLOC_BAD("arena map covers %#lx, no arena there",
                         (unsigned long)(slot_base + me->hi));
    }

    /* usedpools rings: exactly the partially used pools of each class. */
    for (uint32_t c = 0; c < pm->nclasses; c++) {
        const pymalloc_link_t *head = &pm->usedpools[c];
        for (const pymalloc_link_t *l = head->next; l != head; l = l->next) {
            const pymalloc_pool_t *pool = (const pymalloc_pool_t *)l;
            if (l->next->prev != l || l->prev->next != l)
                PYMALLOC_BAD("class %u: ring links broken at %p", c, (void *)pool);
            if (!arenamap_contains(&pm->map, pool) || ((uintptr_t)pool & pm->pool_mask))
                PYMALLOC_BAD("class %u: ring holds a foreign pool %p", c, (void *)pool);
            if (pool->szidx != c)
                PYMALLOC_BAD("class %u: ring holds a class %u pool", c, pool->szidx);
            if (pool->count == 0 || pool->freeblock == NULL)
                PYMALLOC_BAD("class %u: ring holds an empty or full pool", c);
            if (++inring[c] > partial[c]) PYMALLOC_BAD("class %u: ring too long or loops", c);
        }
        if (head->next->prev != head || head->prev->next != head)
            PYMALLOC_BAD("class %u: ring head links broken", c);
        if (inring[c] != partial[c])
            PYMALLOC_BAD("class %u: %llu pools in ring, %llu partially used", c,
                         (unsigned long long)inring[c], (unsigned long long)partial[c]);
    }

    /* usable_arenas: sorted, linked both ways, fingers right. */
    size_t n = 0;
    const pymalloc_arena_t *prev = NULL;
    for (const pymalloc_arena_t *a = pm->usable_arenas; a; prev = a, a = a->nextarena) {
        if (a < pm->arenas || a >= pm->arenas + pm->maxarenas || !a->address)
            PYMALLOC_BAD("usable_arenas holds an unmapped arena");
        if (a->prevarena != prev) PYMALLOC_BAD("usable_arenas: bad prevarena");
        if (a->nfreepools == 0) PYMALLOC_BAD("usable_arenas holds a full arena");
        if (prev && prev->nfreepools > a->nfreepools) PYMALLOC_BAD("usable_arenas not sorted");
        if (++n > nusable) PYMALLOC_BAD("usable_arenas too long or loops");
        int last_of_count = a->nextarena == NULL || a->nextarena->nfreepools != a->nfreepools;
        if (last_of_count != (pm->nfp2lasta[a->nfreepools] == a))
            PYMALLOC_BAD("nfp2lasta[%u] wrong", a->nfreepools);
    }
    if (n != nusable) PYMALLOC_BAD("usable_arenas misses %zu arenas", nusable - n);
    for (uint32_t k = 0; k <= pm->max_pools; k++) {
        const pymalloc_arena_t *a = pm->nfp2lasta[k];
        if (a && (k == 0 || a < pm->arenas || a >= pm->arenas + pm->maxarenas || !a->address ||
                  a->nfreepools != k))
            PYMALLOC_BAD("nfp2lasta[%u] names an arena with another count", k);
    }

    /* Arena release rule. */
    if (!pm->p.keep_empty && nempty) PYMALLOC_BAD("%zu wholly free arenas kept", nempty);
    if (pm->p.keep_empty && pm->p.placement == PYMALLOC_ALIGNED) {
        /* With equal arenas an emptied arena is last in usable_arenas and
         * stays so: at most one, at the tail. */
        if (nempty > 1) PYMALLOC_BAD("%zu wholly free arenas kept", nempty);
        if (nempty && prev->nfreepools != prev->ntotalpools)
            PYMALLOC_BAD("the free arena is not last in usable_arenas");
    }

    /* Counters. */
    if (narenas != pm->narenas_currently_allocated)
        PYMALLOC_BAD("narenas_currently_allocated %zu, counted %zu",
                     pm->narenas_currently_allocated, narenas);
    if (narenas + nunused != pm->maxarenas) PYMALLOC_BAD("arena objects lost");
    if (pm->narenas_highwater < narenas || pm->ntimes_arena_allocated < pm->narenas_highwater)
        PYMALLOC_BAD("arena counters inconsistent");
    if (pools_used != pm->pools_used || pools_total != pm->pools_total)
        PYMALLOC_BAD("pool counters: used %llu/%llu total %llu/%llu",
                     (unsigned long long)pm->pools_used, (unsigned long long)pools_used,
                     (unsigned long long)pm->pools_total, (unsigned long long)pools_total);
    uint64_t fp = (uint64_t)narenas * pm->p.arena_size + pm->raw_bytes;
    if (pm->peak_footprint < fp) PYMALLOC_BAD("peak_footprint below footprint");

    free(inring);
    return 1;
bad:
    free(inring);
    return 0;
}

/* ---- The allocator class --------------------------------------------- */

static int pymalloc_class_create(alloc_t *a, alloc_param_t *params, size_t nparams, char *err,
                                 size_t errlen)
{
    pymalloc_params_t p;
    pymalloc_params_default(&p);
    if (pymalloc_params_parse(&p, params, nparams, err, errlen)) return -1;
    pymalloc_t *pm = pymalloc_new(&p);
    if (!pm) {
        snprintf(err, errlen, "pymalloc: out of memory");
        return -1;
    }
    *a = (alloc_t){pm, pymalloc_malloc, pymalloc_calloc, pymalloc_realloc, pymalloc_free};
    return 0;
}

static void pymalloc_class_destroy(void *ctx)
{
    pymalloc_delete(ctx);
}

const alloc_class_t alloc_pymalloc_class = {
    .name = "pymalloc",
    .summary = "CPython 3.11's obmalloc (small blocks in pools in arenas), our own code",
    .params = "preset=3.11|3.14|3.8  3.11 (= 3.14): the defaults; 3.8: pool=4K arena=256K "
              "keep_empty=no\n"
              "align=N          block alignment and size-class spacing (16)\n"
              "threshold=N      largest request served from pools; larger and 0 go to malloc "
              "(512)\n"
              "pool=N           pool size, a power of two (16K)\n"
              "arena=N          arena size, a power of two, >= 4 pools (1M)\n"
              "keep_empty=yes|no  keep one wholly free arena, as 3.9+ (yes)\n"
              "placement=aligned|mmap  arenas aligned to the pool size, or plain mmap as CPython "
              "(aligned)\n",
    .flags = 0,
    .defaults = "preset=3.11:align=16:threshold=512:pool=16K:arena=1M:keep_empty=yes:"
                "placement=aligned",
    .create = pymalloc_class_create,
    .destroy = pymalloc_class_destroy,
    .stats = pymalloc_stats,
    .usable_size = pymalloc_usable_size,
    .mallocstats = pymalloc_mallocstats,
    .set_raw = pymalloc_set_raw,
};
