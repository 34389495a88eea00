/* pyarena_fidelity_test.c: our PyArena (alloc/pyarena.h, CPython policy)
 * against the real _PyArena_* of libpython3.11, operation by operation.
 *
 * Both run the same seeded sequences of arena operations (several arenas
 * at once; sizes from 0 to beyond a block, around the block boundary;
 * ownership of PyBytes/PyLong objects made for the purpose).  The real
 * arena's MEM and OBJ traffic is seen through counting hooks installed with
 * PyMem_SetAllocator (wrapping the interpreter's allocators); ours goes to
 * a recording alloc_t.  Hooks record only while a _PyArena_* call runs.
 * Checked after every operation:
 *   - the MEM requests, in order: malloc/realloc/free, sizes, and which
 *     block each realloc/free is about (blocks numbered by birth);
 *   - where each _PyArena_Malloc pointer lies: (block, offset) equal;
 *   - at _PyArena_Free, the owned objects are freed in the order our
 *     release callback sees them.
 *
 * What the interpreter does that we do not model, reported and checked:
 *   - the owned-object list *object* (PyList_New(0) in _PyArena_New): from
 *     the list free list, or 56 bytes from OBJ when the free list is empty;
 *     it goes back to the free list at _PyArena_Free.  Those OBJ events are
 *     counted and excluded from the comparison;
 *   - the first growth of the item array is PyMem_Realloc(NULL, n) there,
 *     malloc(n) here: compared as the same request;
 *   - the cyclic GC could run inside PyList_New (a GC object is born) and
 *     allocate: it is disabled for the test (PyGC_Disable).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "alloc/check.h"
#include "alloc/pyarena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Exported by libpython3.11 but declared only under Py_BUILD_CORE
 * (internal/pycore_pyarena.h): the same declarations. */
typedef struct _arena PyArena;
PyAPI_FUNC(PyArena *) _PyArena_New(void);
PyAPI_FUNC(void) _PyArena_Free(PyArena *);
PyAPI_FUNC(void *) _PyArena_Malloc(PyArena *, size_t size);
PyAPI_FUNC(int) _PyArena_AddPyObject(PyArena *, PyObject *);

/* ---- event logs ---------------------------------------------------------- */

#define FID_MAX_EVENTS 4096
#define FID_MAX_LIVE   4096
#define FID_ARENAS     4
#define FID_MAX_OBJS   512

typedef struct {
    char op;     /* 'm' malloc, 'c' calloc, 'r' realloc, 'f' free */
    char domain; /* 'M' MEM, 'O' OBJ                              */
    size_t size;
    uintptr_t in;  /* realloc/free: the block given (its address only) */
    uintptr_t out; /* malloc/calloc/realloc: the result                */
} fid_event_t;

typedef struct {
    fid_event_t ev[FID_MAX_EVENTS];
    size_t nev;
    int overflow;
} fid_log_t;

static void fid_log(fid_log_t *log, char op, char domain, size_t size, uintptr_t in, uintptr_t out)
{
    if (log->nev == FID_MAX_EVENTS) {
        log->overflow = 1;
        return;
    }
    log->ev[log->nev++] = (fid_event_t){op, domain, size, in, out};
}

/* ---- hooks on the interpreter's MEM and OBJ domains ---------------------- */

typedef struct {
    PyMemAllocatorEx orig;
    fid_log_t *log;
    const int *recording;
    char domain;
} fid_hook_t;

static void *fid_hook_malloc(void *ctx, size_t size)
{
    fid_hook_t *h = ctx;
    void *p = h->orig.malloc(h->orig.ctx, size);
    if (*h->recording) fid_log(h->log, 'm', h->domain, size, 0, (uintptr_t)p);
    return p;
}

static void *fid_hook_calloc(void *ctx, size_t n, size_t size)
{
    fid_hook_t *h = ctx;
    void *p = h->orig.calloc(h->orig.ctx, n, size);
    if (*h->recording) fid_log(h->log, 'c', h->domain, n * size, 0, (uintptr_t)p);
    return p;
}

static void *fid_hook_realloc(void *ctx, void *ptr, size_t size)
{
    fid_hook_t *h = ctx;
    uintptr_t old = (uintptr_t)ptr; /* logged after realloc: keep the address only */
    void *p = h->orig.realloc(h->orig.ctx, ptr, size);
    if (*h->recording) fid_log(h->log, 'r', h->domain, size, old, (uintptr_t)p);
    return p;
}

static void fid_hook_free(void *ctx, void *ptr)
{
    fid_hook_t *h = ctx;
    if (*h->recording) fid_log(h->log, 'f', h->domain, 0, (uintptr_t)ptr, 0);
    h->orig.free(h->orig.ctx, ptr);
}

/* ---- our side: a recording MEM over malloc(3) ---------------------------- */

static void *fid_ours_malloc(void *ctx, size_t size)
{
    void *p = malloc(size ? size : 1);
    fid_log(ctx, 'm', 'M', size, 0, (uintptr_t)p);
    return p;
}

static void *fid_ours_calloc(void *ctx, size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    fid_log(ctx, 'c', 'M', n * size, 0, (uintptr_t)p);
    return p;
}

static void *fid_ours_realloc(void *ctx, void *ptr, size_t size)
{
    uintptr_t old = (uintptr_t)ptr; /* logged after realloc: keep the address only */
    void *p = realloc(ptr, size ? size : 1);
    fid_log(ctx, 'r', 'M', size, old, (uintptr_t)p);
    return p;
}

static void fid_ours_free(void *ctx, void *ptr)
{
    fid_log(ctx, 'f', 'M', 0, (uintptr_t)ptr, 0);
    free(ptr);
}

/* ---- one side's view of the MEM blocks, numbered by birth ---------------- */

typedef struct {
    struct {
        uintptr_t p;
        size_t size;
        unsigned id;
    } live[FID_MAX_LIVE];
    size_t nlive;
    unsigned next_id;
    uint64_t requests; /* malloc/calloc/realloc calls            */
    uint64_t bytes;    /* bytes they asked for                   */
    uint64_t blocks;   /* requests > PYARENA_BLOCK_SIZE: arena blocks */
    uint64_t block_bytes;
    uint64_t now, peak; /* bytes live                            */
} fid_side_t;

/* A MEM request with the pointers replaced by block numbers. */
typedef struct {
    char op; /* 'm' (malloc, calloc, realloc of NULL), 'r', 'f', '?' unknown block */
    unsigned id;
    size_t size;
} fid_canon_t;

static long fid_find(const fid_side_t *s, uintptr_t p)
{
    for (size_t i = 0; i < s->nlive; i++)
        if (s->live[i].p == p) return (long)i;
    return -1;
}

static fid_canon_t fid_canon(fid_side_t *s, const fid_event_t *e)
{
    if (e->op == 'f') {
        long i = fid_find(s, e->in);
        if (i < 0) return (fid_canon_t){'?', 0, 0};
        fid_canon_t c = {'f', s->live[i].id, 0};
        s->now -= s->live[i].size;
        s->live[i] = s->live[--s->nlive];
        return c;
    }
    s->requests++;
    s->bytes += e->size;
    if (e->size > PYARENA_BLOCK_SIZE) {
        s->blocks++;
        s->block_bytes += e->size;
    }
    if (e->op == 'r' && e->in) {
        long i = fid_find(s, e->in);
        if (i < 0) return (fid_canon_t){'?', 0, 0};
        s->now = s->now - s->live[i].size + e->size;
        if (s->now > s->peak) s->peak = s->now;
        s->live[i].p = e->out;
        s->live[i].size = e->size;
        return (fid_canon_t){'r', s->live[i].id, e->size};
    }
    if (s->nlive == FID_MAX_LIVE) return (fid_canon_t){'?', 0, 0};
    s->live[s->nlive].p = e->out;
    s->live[s->nlive].size = e->size;
    s->live[s->nlive].id = s->next_id;
    s->nlive++;
    s->now += e->size;
    if (s->now > s->peak) s->peak = s->now;
    return (fid_canon_t){'m', s->next_id++, e->size};
}

/* Where P lies: the block's number and the offset from its start. */
static int fid_locate(const fid_side_t *s, const void *p, unsigned *id, size_t *off)
{
    for (size_t i = 0; i < s->nlive; i++) {
        uintptr_t b = s->live[i].p, q = (uintptr_t)p;
        if (q >= b && q - b <= s->live[i].size) {
            *id = s->live[i].id;
            *off = (size_t)(q - b);
            return 0;
        }
    }
    return -1;
}

/* ---- the comparison ------------------------------------------------------ */

typedef struct {
    int recording;
    fid_log_t real_log; /* MEM and OBJ of the interpreter */
    fid_log_t ours_log;
    fid_hook_t hook_mem, hook_obj;
    fid_side_t real, ours;
    PyArena *real_arena[FID_ARENAS];
    pyarena_t *ours_arena[FID_ARENAS];
    void *released[FID_MAX_OBJS]; /* our release callback's order */
    size_t nreleased;
    uint64_t ops, mallocs, owns, arenas;
    uint64_t list_objects_from_obj; /* PyList_New not served by the free list */
    size_t list_object_size;        /* the OBJ request of such a PyList_New    */
    uint64_t other_obj_events;
    int mismatch_reported;
} fid_t;

static void fid_release(void *ud, void *obj)
{
    fid_t *f = ud;
    if (f->nreleased < FID_MAX_OBJS) f->released[f->nreleased++] = obj;
}

static void fid_begin(fid_t *f)
{
    f->real_log.nev = 0;
    f->ours_log.nev = 0;
    f->nreleased = 0;
    f->recording = 1;
}

/* Compares the MEM requests both sides made since fid_begin; OBJ events
 * of the interpreter are set aside in OBJ_FREES (frees) and counted. */
static void fid_compare(fid_t *f, const char *what, uint64_t seed, uintptr_t *obj_frees,
                        size_t *nobj_frees)
{
    f->recording = 0;
    CHECK(!f->real_log.overflow && !f->ours_log.overflow);
    size_t i = 0, j = 0;
    int same = 1;
    for (;;) {
        while (i < f->real_log.nev && f->real_log.ev[i].domain == 'O') {
            const fid_event_t *e = &f->real_log.ev[i++];
            if (e->op == 'f' && obj_frees && *nobj_frees < FID_MAX_OBJS)
                obj_frees[(*nobj_frees)++] = e->in;
            else if (e->op == 'm' && strcmp(what, "new") == 0) {
                f->list_objects_from_obj++;
                f->list_object_size = e->size;
            } else
                f->other_obj_events++;
        }
        if (i == f->real_log.nev || j == f->ours_log.nev) break;
        fid_canon_t r = fid_canon(&f->real, &f->real_log.ev[i++]);
        fid_canon_t o = fid_canon(&f->ours, &f->ours_log.ev[j++]);
        if (r.op != o.op || r.id != o.id || r.size != o.size || r.op == '?') {
            same = 0;
            if (!f->mismatch_reported++)
                fprintf(stderr,
                        "seed %llu op %llu (%s): real %c block %u size %zu, ours %c block %u "
                        "size %zu\n",
                        (unsigned long long)seed, (unsigned long long)f->ops, what, r.op, r.id,
                        r.size, o.op, o.id, o.size);
        }
    }
    if (i != f->real_log.nev || j != f->ours_log.nev) {
        same = 0;
        if (!f->mismatch_reported++)
            fprintf(stderr, "seed %llu op %llu (%s): %zu real MEM events, %zu ours\n",
                    (unsigned long long)seed, (unsigned long long)f->ops, what, f->real_log.nev - i,
                    f->ours_log.nev - j);
    }
    CHECKF(same, "MEM requests differ at %s (seed %llu)", what, (unsigned long long)seed);
}

/* Mostly small sizes, as the compiler asks for; some around and beyond a
 * block. */
static size_t fid_size(uint64_t *rng)
{
    uint64_t k = *rng % 100;
    *rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
    uint64_t v = *rng >> 20;
    if (k < 60) return v % 65;
    if (k < 85) return v % 1025;
    if (k < 92) return 8180 + v % 24;
    if (k < 99) return v % 40000;
    return 100000 + v % 200000;
}

static uint64_t fid_next(uint64_t *rng)
{
    *rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return *rng >> 33;
}

static void fid_free_arena(fid_t *f, int k, uint64_t seed)
{
    uintptr_t obj_frees[FID_MAX_OBJS];
    size_t nobj_frees = 0;
    fid_begin(f);
    /* Ours first: it only notes the objects' addresses, never touches
     * them, while the real free deallocates them. */
    pyarena_free(f->ours_arena[k]);
    _PyArena_Free(f->real_arena[k]);
    fid_compare(f, "free", seed, obj_frees, &nobj_frees);
    int order = nobj_frees == f->nreleased;
    for (size_t i = 0; order && i < nobj_frees; i++)
        order = obj_frees[i] == (uintptr_t)f->released[i];
    CHECKF(order, "seed %llu: %zu objects freed by the real arena, %zu released by ours",
           (unsigned long long)seed, nobj_frees, f->nreleased);
    f->real_arena[k] = NULL;
    f->ours_arena[k] = NULL;
}

static void fid_run(fid_t *f, uint64_t seed, int nops)
{
    /* Empty the list free list (outside the hooks' window), so the first
     * arenas take their list object from OBJ: that path runs too. */
    PyObject *drain[100];
    for (int i = 0; i < 100; i++)
        drain[i] = PyList_New(0);
    uint64_t rng = seed;
    alloc_t mem = {&f->ours_log, fid_ours_malloc, fid_ours_calloc, fid_ours_realloc, fid_ours_free};
    for (int op = 0; op < nops; op++, f->ops++) {
        int k = (int)(fid_next(&rng) % FID_ARENAS);
        uint64_t what = fid_next(&rng) % 1000;
        if (!f->real_arena[k]) {
            fid_begin(f);
            f->real_arena[k] = _PyArena_New();
            f->ours_arena[k] = pyarena_new(&mem, NULL, fid_release, f);
            fid_compare(f, "new", seed, NULL, NULL);
            CHECK(f->real_arena[k] && f->ours_arena[k]);
            if (!f->real_arena[k] || !f->ours_arena[k]) return;
            f->arenas++;
        } else if (what < 8) {
            fid_free_arena(f, k, seed);
        } else if (what < 80) {
            PyObject *obj = fid_next(&rng) % 2
                                ? PyBytes_FromStringAndSize(NULL, 2 + (Py_ssize_t)(what % 200))
                                : PyLong_FromLongLong((long long)(fid_next(&rng) << 20) + 1000);
            CHECK(obj != NULL);
            if (!obj) return;
            fid_begin(f);
            int rr = _PyArena_AddPyObject(f->real_arena[k], obj); /* steals obj */
            int ro = pyarena_own(f->ours_arena[k], obj);
            fid_compare(f, "own", seed, NULL, NULL);
            CHECK(rr == 0 && ro == 0);
            f->owns++;
        } else {
            size_t n = fid_size(&rng);
            fid_begin(f);
            void *pr = _PyArena_Malloc(f->real_arena[k], n);
            void *po = pyarena_malloc(f->ours_arena[k], n);
            fid_compare(f, "malloc", seed, NULL, NULL);
            unsigned idr = 0, ido = 1;
            size_t offr = 0, offo = 1;
            int found = pr && po && fid_locate(&f->real, pr, &idr, &offr) == 0 &&
                        fid_locate(&f->ours, po, &ido, &offo) == 0;
            CHECKF(found && idr == ido && offr == offo,
                   "seed %llu op %llu: malloc(%zu) at block %u+%zu real, %u+%zu ours",
                   (unsigned long long)seed, (unsigned long long)f->ops, n, idr, offr, ido, offo);
            f->mallocs++;
        }
    }
    for (int k = 0; k < FID_ARENAS; k++)
        if (f->real_arena[k]) fid_free_arena(f, k, seed);
    for (int i = 0; i < 100; i++)
        Py_XDECREF(drain[i]);
    CHECK(f->real.nlive == 0 && f->ours.nlive == 0);
}

int main(void)
{
    Py_InitializeEx(0);
    PyGC_Disable();
    static fid_t f; /* big logs: not on the stack */
    f.hook_mem = (fid_hook_t){.log = &f.real_log, .recording = &f.recording, .domain = 'M'};
    f.hook_obj = (fid_hook_t){.log = &f.real_log, .recording = &f.recording, .domain = 'O'};
    PyMem_GetAllocator(PYMEM_DOMAIN_MEM, &f.hook_mem.orig);
    PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &f.hook_obj.orig);
    PyMemAllocatorEx hm = {&f.hook_mem, fid_hook_malloc, fid_hook_calloc, fid_hook_realloc,
                           fid_hook_free};
    PyMemAllocatorEx ho = {&f.hook_obj, fid_hook_malloc, fid_hook_calloc, fid_hook_realloc,
                           fid_hook_free};
    PyMem_SetAllocator(PYMEM_DOMAIN_MEM, &hm);
    PyMem_SetAllocator(PYMEM_DOMAIN_OBJ, &ho);

    for (uint64_t seed = 1; seed <= 12; seed++)
        fid_run(&f, seed * 0x9e3779b97f4a7c15ULL, 3000);

    /* The totals, side by side. */
    fprintf(stderr,
            "%llu ops (%llu arenas, %llu mallocs, %llu objects owned)\n"
            "MEM requests     real %llu  ours %llu\n"
            "MEM bytes asked  real %llu  ours %llu\n"
            "blocks           real %llu  ours %llu\n"
            "block bytes      real %llu  ours %llu\n"
            "peak MEM live    real %llu  ours %llu\n"
            "interpreter only: %llu list objects from OBJ (%zu bytes each; the rest from the "
            "list free list), %llu other OBJ events\n",
            (unsigned long long)f.ops, (unsigned long long)f.arenas, (unsigned long long)f.mallocs,
            (unsigned long long)f.owns, (unsigned long long)f.real.requests,
            (unsigned long long)f.ours.requests, (unsigned long long)f.real.bytes,
            (unsigned long long)f.ours.bytes, (unsigned long long)f.real.blocks,
            (unsigned long long)f.ours.blocks, (unsigned long long)f.real.block_bytes,
            (unsigned long long)f.ours.block_bytes, (unsigned long long)f.real.peak,
            (unsigned long long)f.ours.peak, (unsigned long long)f.list_objects_from_obj,
            f.list_object_size, (unsigned long long)f.other_obj_events);
    CHECK(f.real.requests == f.ours.requests && f.real.bytes == f.ours.bytes);
    CHECK(f.real.blocks == f.ours.blocks && f.real.block_bytes == f.ours.block_bytes);
    CHECK(f.real.peak == f.ours.peak);
    CHECK(f.ours.blocks > 100 && f.owns > 100); /* the run exercised both */
    /* At most one list object per arena comes from OBJ; nothing else. */
    CHECK(f.list_objects_from_obj > 0 && f.list_objects_from_obj <= f.arenas);
    CHECK(f.other_obj_events == 0);

    PyMem_SetAllocator(PYMEM_DOMAIN_MEM, &f.hook_mem.orig);
    PyMem_SetAllocator(PYMEM_DOMAIN_OBJ, &f.hook_obj.orig);
    CHECK(Py_FinalizeEx() == 0);
    return check_done();
}
