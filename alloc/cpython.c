/* cpython.c: the `cpython` allocator class -- the real allocators of
 * libpython3.11 (PyMem_Raw*, PyMem_*, PyObject_*), called without an
 * interpreter, with arenas supplied by us.
 *
 * Routing.  The class is per domain (ALLOC_PER_DOMAIN): create() takes
 * `domain=raw|mem|obj` (default mem) and the instance calls that domain's
 * functions.  As in a default CPython build, raw is the process's malloc
 * and mem and obj share one obmalloc.
 *
 * Arenas.  At the first create() of the process we install an arena
 * allocator (PyObject_SetArenaAllocator) that maps each arena aligned to
 * 3.11's pool size (placement=aligned, the default: figures compare with
 * `pymalloc`'s default and never depend on where the kernel puts a mapping)
 * or with plain mmap (placement=mmap, what CPython itself does).  It counts
 * what it holds and records our arenas in an arenamap, which also tells a
 * pool block from a malloc'ed one.
 *
 * Statistics.  The process's footprint = bytes of arenas held +
 * malloc_usable_size() of every live block that came from malloc
 * (raw-domain blocks, and mem/obj requests of 0 or above 512 bytes).  It is
 * split between the instances so that their sum is the whole: each counts
 * the malloc'ed blocks of its domain, and the first mem/obj instance
 * created (the "arena owner", mem under the replay driver) also counts the
 * arenas and prints CPython's statistics; the others print nothing.  Each
 * instance's peak is the exact peak of its own share.
 *
 * Hooks.  hooks=debug installs CPython's own debug hooks
 * (PyMem_SetupDebugHooks(), what PYTHONMALLOC=pymalloc_debug gives) at the
 * first create() of the process: every domain's calls then go through
 * libpython's hooks, which add their 24 bytes and hand obmalloc (or
 * malloc) the larger request.  The reference that `pymalloc_debug` (our
 * layer, alloc/debughooks.c, over our pymalloc) is checked against.  The
 * accounting sees the hooks' pointers, 16 bytes into the block obmalloc or
 * malloc gave -- 32 for a large mem/obj block, which obmalloc passed on to
 * the (hooked) raw domain -- and undoes that offset; usable sizes are the
 * whole block's.
 *
 * The one piece of global mutable state in arenalab lives here
 * (cpython_state), because the state it describes, libpython's, is
 * process-global itself (ALLOC_PROCESS_GLOBAL): nothing of it can be
 * reset, and CPython keeps calling our arena allocator for as long as the
 * process lives.  Not thread-safe, like obmalloc without the GIL.
 */
#include <Python.h>

#include "alloc/alloc.h"
#include "alloc/internal/arenamap.h"
#include "alloc/internal/osmem.h"
#include "alloc/params.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

/* Exported by libpython3.11, declared only in its internal headers. */
extern int _PyObject_DebugMallocStats(FILE *out);

/* 3.11's obmalloc geometry on 64-bit (Objects/obmalloc.c). */
#define CPYTHON_ARENA_BITS  20
#define CPYTHON_ARENA_SIZE  ((size_t)1 << CPYTHON_ARENA_BITS)
#define CPYTHON_POOL_SIZE   ((size_t)16 * 1024)
#define CPYTHON_THRESHOLD   512
#define CPYTHON_ALIGN_SHIFT 4
/* Offset of `szidx` in 3.11's struct pool_header (after ref, freeblock,
 * nextpool, prevpool and arenaindex). */
#define CPYTHON_SZIDX_OFFSET 36

enum { CPYTHON_RAW, CPYTHON_MEM, CPYTHON_OBJ, CPYTHON_NDOMAINS };
enum { CPYTHON_ALIGNED, CPYTHON_MMAP };
enum { CPYTHON_NO_HOOKS, CPYTHON_DEBUG_HOOKS };

/* What CPython 3.11's debug hooks put around a block: 2 * SST before the
 * pointer they return, SST after (Objects/obmalloc.c; alloc/debughooks.h
 * has the same layout). */
#define CPYTHON_HOOK_HEAD  16
#define CPYTHON_HOOK_EXTRA 24

/* What one domain's instance counts (its ctx). */
typedef struct {
    int domain;          /* CPYTHON_RAW / _MEM / _OBJ                     */
    int owns_arenas;     /* counts the arenas, prints the statistics      */
    uint64_t raw_blocks; /* live blocks of this domain from malloc        */
    uint64_t raw_bytes;  /* their malloc_usable_size() sum                */
    uint64_t peak;       /* max of this instance's footprint              */
} cpython_inst_t;

typedef struct {
    int installed;                   /* our arena allocator is in place  */
    int placement;                   /* CPYTHON_ALIGNED or CPYTHON_MMAP  */
    int hooks;                       /* CPYTHON_NO_HOOKS or _DEBUG_HOOKS */
    size_t head;                     /* bytes before a returned pointer:
                                        0, or 16 under the debug hooks   */
    size_t extra;                    /* bytes a request grows by: 0/24   */
    int arena_failed;                /* an arena could not be mapped:
                                        small requests may now be raw   */
    arenamap_t map;                  /* our arenas                       */
    PyObjectArenaAllocator previous; /* frees arenas we did not map      */
    uint64_t narenas;                /* arenas held now                  */
    uint64_t narenas_peak;
    cpython_inst_t *owner; /* the instance that counts the arenas    */
    cpython_inst_t inst[CPYTHON_NDOMAINS];
} cpython_state_t;

static cpython_state_t cpython_state;

/* ---- Accounting ------------------------------------------------------ */

static uint64_t cpython_footprint(const cpython_inst_t *in)
{
    uint64_t arenas = in->owns_arenas ? cpython_state.narenas * CPYTHON_ARENA_SIZE : 0;
    return arenas + in->raw_bytes;
}

static void cpython_note_peak(cpython_inst_t *in)
{
    uint64_t fp = cpython_footprint(in);
    if (fp > in->peak) in->peak = fp;
}

/* The block obmalloc gave for the pointer P the caller got. */
static inline void *cpython_base(const void *p)
{
    return (char *)p - cpython_state.head;
}

/* malloc_usable_size of the malloc'ed block behind P, a block of IN's
 * domain.  Under the debug hooks a raw-domain block has one header; a
 * mem/obj block obmalloc passed on to PyMem_RawMalloc has two, as that
 * call goes through the raw domain's hook too. */
static size_t cpython_raw_usable(const cpython_inst_t *in, const void *p)
{
    size_t head = in->domain == CPYTHON_RAW ? cpython_state.head : 2 * cpython_state.head;
    return malloc_usable_size((char *)p - head);
}

static void cpython_raw_add(cpython_inst_t *in, void *p)
{
    in->raw_blocks++;
    in->raw_bytes += cpython_raw_usable(in, p);
    cpython_note_peak(in);
}

static void cpython_raw_sub(cpython_inst_t *in, size_t usable)
{
    in->raw_blocks--;
    in->raw_bytes -= usable;
}

/* 1 when P, a live mem/obj block, came from malloc rather than a pool. */
static inline int cpython_is_raw(const void *p)
{
    return !arenamap_contains(&cpython_state.map, p);
}

/* ---- The arena allocator --------------------------------------------- */

static void *cpython_arena_alloc(void *ctx, size_t size)
{
    cpython_state_t *st = ctx;
    void *p = NULL;
    if (size == CPYTHON_ARENA_SIZE)
        p = osmem_map(size, st->placement == CPYTHON_ALIGNED ? CPYTHON_POOL_SIZE : 1);
    if (p && arenamap_add(&st->map, (uintptr_t)p)) {
        osmem_unmap(p, size);
        p = NULL;
    }
    if (!p) {
        st->arena_failed = 1;
        return NULL;
    }
    st->narenas++;
    if (st->narenas > st->narenas_peak) st->narenas_peak = st->narenas;
    if (st->owner) cpython_note_peak(st->owner);
    return p;
}

static void cpython_arena_free(void *ctx, void *p, size_t size)
{
    cpython_state_t *st = ctx;
    if (!arenamap_contains(&st->map, p)) {
        /* Mapped before we were installed. */
        st->previous.free(st->previous.ctx, p, size);
        return;
    }
    arenamap_remove(&st->map, (uintptr_t)p);
    osmem_unmap(p, size);
    st->narenas--;
}

/* ---- The raw domain: every block is malloc's ------------------------- */

static void *cpython_raw_malloc(void *ctx, size_t n)
{
    void *p = PyMem_RawMalloc(n);
    if (p) cpython_raw_add(ctx, p);
    return p;
}

static void *cpython_raw_calloc(void *ctx, size_t nelem, size_t elsize)
{
    void *p = PyMem_RawCalloc(nelem, elsize);
    if (p) cpython_raw_add(ctx, p);
    return p;
}

static void *cpython_raw_realloc(void *ctx, void *p, size_t n)
{
    size_t old = p ? cpython_raw_usable(ctx, p) : 0;
    void *q = PyMem_RawRealloc(p, n);
    if (!q) return NULL;
    if (p) cpython_raw_sub(ctx, old);
    cpython_raw_add(ctx, q);
    return q;
}

static void cpython_raw_free(void *ctx, void *p)
{
    if (p) cpython_raw_sub(ctx, cpython_raw_usable(ctx, p));
    PyMem_RawFree(p);
}

/* ---- The mem and obj domains: obmalloc ------------------------------- */

/* A request of N bytes is served from a pool unless it is 0 or above the
 * threshold (counting what the debug hooks add) -- or an arena could not
 * be mapped, when obmalloc falls back to malloc and only the address
 * tells. */
#define CPYTHON_MAYBE_RAW(n)                                                                       \
    ((n) + cpython_state.extra - 1 >= CPYTHON_THRESHOLD || cpython_state.arena_failed)

/* The four functions of one obmalloc domain (PREFIX: PyMem or PyObject). */
#define CPYTHON_POOLED_DOMAIN(name, prefix)                                                        \
    static void *cpython_##name##_malloc(void *ctx, size_t n)                                      \
    {                                                                                              \
        void *p = prefix##_Malloc(n);                                                              \
        if (p && CPYTHON_MAYBE_RAW(n) && cpython_is_raw(p)) cpython_raw_add(ctx, p);               \
        return p;                                                                                  \
    }                                                                                              \
    static void *cpython_##name##_calloc(void *ctx, size_t nelem, size_t elsize)                   \
    {                                                                                              \
        void *p = prefix##_Calloc(nelem, elsize);                                                  \
        if (p && cpython_is_raw(p)) cpython_raw_add(ctx, p);                                       \
        return p;                                                                                  \
    }                                                                                              \
    static void *cpython_##name##_realloc(void *ctx, void *p, size_t n)                            \
    {                                                                                              \
        int was_raw = p && cpython_is_raw(p);                                                      \
        size_t old = was_raw ? cpython_raw_usable(ctx, p) : 0;                                     \
        void *q = prefix##_Realloc(p, n);                                                          \
        if (!q) return NULL;                                                                       \
        if (was_raw) cpython_raw_sub(ctx, old);                                                    \
        if (cpython_is_raw(q)) cpython_raw_add(ctx, q);                                            \
        return q;                                                                                  \
    }                                                                                              \
    static void cpython_##name##_free(void *ctx, void *p)                                          \
    {                                                                                              \
        if (p && cpython_is_raw(p)) cpython_raw_sub(ctx, cpython_raw_usable(ctx, p));              \
        prefix##_Free(p);                                                                          \
    }

CPYTHON_POOLED_DOMAIN(mem, PyMem)
CPYTHON_POOLED_DOMAIN(obj, PyObject)

/* The functions of each domain, indexed by domain. */
static const alloc_t cpython_domains[CPYTHON_NDOMAINS] = {
    {NULL, cpython_raw_malloc, cpython_raw_calloc, cpython_raw_realloc, cpython_raw_free},
    {NULL, cpython_mem_malloc, cpython_mem_calloc, cpython_mem_realloc, cpython_mem_free},
    {NULL, cpython_obj_malloc, cpython_obj_calloc, cpython_obj_realloc, cpython_obj_free},
};

/* ---- The class ------------------------------------------------------- */

static int cpython_create(alloc_t *a, alloc_param_t *params, size_t nparams, char *err,
                          size_t errlen)
{
    static const char *const domains[] = {"raw", "mem", "obj", NULL};
    static const char *const placements[] = {"aligned", "mmap", NULL};
    static const char *const hookses[] = {"none", "debug", NULL};
    cpython_state_t *st = &cpython_state;
    int domain = CPYTHON_MEM, placement = st->installed ? st->placement : CPYTHON_ALIGNED;
    int hooks = st->installed ? st->hooks : CPYTHON_NO_HOOKS;
    if (alloc_param_choice(params, nparams, "domain", domains, &domain, err, errlen) ||
        alloc_param_choice(params, nparams, "placement", placements, &placement, err, errlen) ||
        alloc_param_choice(params, nparams, "hooks", hookses, &hooks, err, errlen))
        return -1;
    if (st->installed && placement != st->placement) {
        snprintf(err, errlen,
                 "cpython: placement=%s, but this process already places arenas with %s",
                 placements[placement], placements[st->placement]);
        return -1;
    }
    if (st->installed && hooks != st->hooks) {
        snprintf(err, errlen, "cpython: hooks=%s, but this process already runs with hooks=%s",
                 hookses[hooks], hookses[st->hooks]);
        return -1;
    }
    if (!st->installed) {
        if (arenamap_init(&st->map, CPYTHON_ARENA_BITS)) {
            snprintf(err, errlen, "cpython: out of memory");
            return -1;
        }
        st->placement = placement;
        PyObject_GetArenaAllocator(&st->previous);
        PyObjectArenaAllocator ours = {st, cpython_arena_alloc, cpython_arena_free};
        PyObject_SetArenaAllocator(&ours);
        st->hooks = hooks;
        if (hooks == CPYTHON_DEBUG_HOOKS) {
            /* before any block exists: every block then has the hooks' bytes */
            PyMem_SetupDebugHooks();
            st->head = CPYTHON_HOOK_HEAD;
            st->extra = CPYTHON_HOOK_EXTRA;
        }
        st->installed = 1;
        for (int d = 0; d < CPYTHON_NDOMAINS; d++)
            st->inst[d].domain = d;
    }
    cpython_inst_t *in = &st->inst[domain];
    if (!st->owner && domain != CPYTHON_RAW) {
        st->owner = in;
        in->owns_arenas = 1;
        cpython_note_peak(in);
    }
    *a = cpython_domains[domain];
    a->ctx = in;
    return 0;
}

static void cpython_destroy(void *ctx)
{
    /* libpython keeps its arenas (and calls our arena allocator) until the
     * process ends: nothing can be given back here. */
    (void)ctx;
}

static void cpython_stats(void *ctx, alloc_stats_t *out)
{
    const cpython_inst_t *in = ctx;
    const cpython_state_t *st = &cpython_state;
    memset(out, 0, sizeof *out);
    out->footprint = cpython_footprint(in);
    out->peak_footprint = in->peak;
    const struct {
        const char *name;
        uint64_t value;
    } extra[] = {
        {"raw_blocks", in->raw_blocks},
        {"raw_bytes", in->raw_bytes},
        {"arenas", st->narenas},
        {"arenas_highwater", st->narenas_peak},
        {"arena_bytes", st->narenas * CPYTHON_ARENA_SIZE},
    };
    int n = in->owns_arenas ? 5 : 2;
    for (int i = 0; i < n; i++) {
        out->extra[i].name = extra[i].name;
        out->extra[i].value = extra[i].value;
    }
    out->nextra = n;
}

/* The usable size of the whole block (under the debug hooks, their bytes
 * included, as alloc/debughooks.c counts them). */
static size_t cpython_usable_size(void *ctx, const void *p)
{
    if (cpython_is_raw(p)) return cpython_raw_usable(ctx, p);
    /* A pool block: the class is in its pool's header. */
    const uint8_t *pool =
        (const uint8_t *)((uintptr_t)cpython_base(p) & ~(uintptr_t)(CPYTHON_POOL_SIZE - 1));
    unsigned szidx;
    memcpy(&szidx, pool + CPYTHON_SZIDX_OFFSET, sizeof szidx);
    return (size_t)(szidx + 1) << CPYTHON_ALIGN_SHIFT;
}

/* CPython's own statistics, cut after the first `Total` line (what follows
 * is about its radix tree, which `pymalloc` does not have); printed by the
 * arena owner only, so a process shows them once. */
static int cpython_mallocstats(void *ctx, FILE *out)
{
    const cpython_inst_t *in = ctx;
    if (!in->owns_arenas) return 0; /* printed once, by the owner */
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem) return -1;
    int wrote = _PyObject_DebugMallocStats(mem);
    if (fclose(mem) || !wrote) {
        free(text);
        return -1;
    }
    size_t end = len;
    for (const char *line = text, *stop = text + len; line < stop;) {
        const char *nl = memchr(line, '\n', (size_t)(stop - line));
        const char *next = nl ? nl + 1 : stop;
        if (strncmp(line, "Total", 5) == 0) {
            end = (size_t)(next - text);
            break;
        }
        line = next;
    }
    size_t put = fwrite(text, 1, end, out);
    free(text);
    return put == end && !ferror(out) ? 0 : -1;
}

const alloc_class_t alloc_cpython_class = {
    .name = "cpython",
    .summary = "libpython3.11's own allocators (PyMem_Raw/PyMem/PyObject), arenas from us",
    .params = "placement=aligned|mmap  arenas aligned to the pool size, or plain mmap as CPython "
              "(aligned)\n"
              "hooks=none|debug  CPython's own debug hooks on every domain "
              "(PyMem_SetupDebugHooks, as PYTHONMALLOC=pymalloc_debug) (none)\n",
    .flags = ALLOC_PROCESS_GLOBAL | ALLOC_PER_DOMAIN,
    .defaults = "domain=mem:placement=aligned",
    .create = cpython_create,
    .destroy = cpython_destroy,
    .stats = cpython_stats,
    .usable_size = cpython_usable_size,
    .mallocstats = cpython_mallocstats,
};
