/* arenas_pyarena.c: the `pyarena` arena mode, the default — CPython's
 * PyArena algorithm (alloc/pyarena.h) with its blocks drawn from the MEM
 * allocator under test, as CPython's compiler draws them from PyMem_Malloc.
 *
 *   n AID        pyarena_new: the arena struct, then the first block
 *   m AID SIZE   pyarena_malloc: a bump, or a new block when it does not fit
 *   o AID ID     pyarena_own: grows the owned-object list's item array
 *   x AID        pyarena_free: blocks, owned objects, item array, struct
 *
 * Owned objects: the trace reader is the authority on which blocks an
 * arena owns when it is freed (an `f` or a later `o` elsewhere can take a
 * block off its list, and its slot may be reused), so the slots pyarena
 * hands to the release callback are not trusted.  At the first callback
 * during pyarena_free, the mode releases the reader's list, newest first
 * as CPython's list is decref'd, and ignores the rest; the MEM traffic and
 * its order stay CPython's.
 *
 * Parameters (`--arena-mode pyarena:block=16K:align=16:growth=doubling`):
 * those of alloc/pyarena.h.  Bookkeeping lives in mappings, outside the
 * measured heap, sized from the pre-pass and touched at create (before the
 * baseline): the live flag of each arena slot, and the pyarena_t handles
 * (pyarena_new_at), one per slot -- from malloc(3) they made the process's
 * heap grow by a page or not at a replay's first `n`, depending on where
 * the heap's top happened to be.
 */
#include "alloc/params.h"
#include "alloc/pyarena.h"
#include "sim/replay/arenas.h"
#include "sim/base/mapvec.h"

#include <string.h>

typedef struct {
    mapvec_t self;
    alloc_t mem;
    pyarena_params_t params;
    arenas_release_fn release;
    void *ud;
    mapvec_t live;           /* uint8_t per arena slot: 1 when live       */
    mapvec_t handles;        /* a pyarena_t per arena slot (hsize bytes)  */
    size_t hsize;            /* pyarena_handle_size(), pointer-aligned    */
    uint32_t narenas;        /* arena slots seen                          */
    const uint32_t *pending; /* the reader's owned list during a free     */
    size_t npending;
} pyam_t;

/* The arena of slot ASLOT (live or not: its handle's memory). */
static pyarena_t *pyam_arena(pyam_t *s, uint32_t aslot)
{
    return (pyarena_t *)((char *)s->handles.p + (size_t)aslot * s->hsize);
}

static uint8_t *pyam_live(pyam_t *s)
{
    return s->live.p;
}

/* Room for arena slots [0, N): live flags and handles. */
static int pyam_reserve(pyam_t *s, size_t n)
{
    return mapvec_reserve(&s->live, n) || mapvec_reserve(&s->handles, n * s->hsize);
}

/* Releases the reader's owned list (newest first), once per arena free. */
static void pyam_release_pending(pyam_t *s)
{
    const uint32_t *owned = s->pending;
    s->pending = NULL;
    for (size_t i = s->npending; owned && i-- > 0;)
        s->release(s->ud, owned[i]);
}

/* pyarena_release_fn: the first call stands for the whole list. */
static void pyam_on_release(void *ud, void *obj)
{
    pyam_release_pending(ud);
}

static void *pyam_create(const alloc_t *mem, const arenas_hint_t *hint, const char *params,
                         arenas_release_fn release, void *ud, char *err, size_t errlen)
{
    pyarena_params_t p;
    pyarena_params_default(&p);
    if (params && *params) {
        alloc_spec_t spec;
        char text[sizeof spec.buf];
        snprintf(text, sizeof text, "pyarena:%s", params);
        if (alloc_spec_parse(&spec, text, err, errlen) ||
            pyarena_params_parse(&p, spec.params, spec.nparams, err, errlen))
            return NULL;
        const char *unused = alloc_params_unused(spec.params, spec.nparams);
        if (unused) {
            snprintf(err, errlen, "unknown parameter '%s' for arena mode pyarena (it takes: %s)",
                     unused, "block, align, growth");
            return NULL;
        }
    }
    if (pyarena_params_check(&p, err, errlen)) return NULL;
    mapvec_t self = {0};
    if (mapvec_reserve(&self, sizeof(pyam_t))) {
        snprintf(err, errlen, "arenas: out of memory");
        return NULL;
    }
    pyam_t *s = self.p;
    size_t align = sizeof(void *);
    *s = (pyam_t){.self = self, .mem = *mem, .params = p, .release = release, .ud = ud};
    s->hsize = (pyarena_handle_size() + align - 1) / align * align;
    if (pyam_reserve(s, (size_t)hint->aslots + 1)) {
        snprintf(err, errlen, "arenas: cannot map %u arena slots", hint->aslots + 1);
        mapvec_free(&s->live);
        mapvec_free(&s->handles);
        mapvec_free(&self);
        return NULL;
    }
    mapvec_touch(&s->live);
    mapvec_touch(&s->handles);
    return s;
}

static void pyam_destroy(void *st)
{
    pyam_t *s = st;
    /* Arenas the trace left live: give their memory back; their owned
     * blocks are the replay's to free (it frees every live block). */
    for (uint32_t a = 0; a < s->narenas; a++) {
        s->pending = NULL;
        s->npending = 0;
        if (pyam_live(s)[a]) pyarena_free(pyam_arena(s, a));
    }
    mapvec_free(&s->live);
    mapvec_free(&s->handles);
    mapvec_t self = s->self;
    mapvec_free(&self);
}

static int pyam_new_arena(void *st, uint32_t aslot)
{
    pyam_t *s = st;
    if (aslot >= s->narenas) {
        if (aslot == UINT32_MAX || pyam_reserve(s, (size_t)aslot + 1)) return -1;
        s->narenas = aslot + 1; /* new mapvec bytes are zero: not live */
    }
    if (!pyarena_new_at(pyam_arena(s, aslot), &s->mem, &s->params, pyam_on_release, s)) return -1;
    pyam_live(s)[aslot] = 1;
    return 0;
}

static void *pyam_malloc(void *st, uint32_t aslot, uint64_t size)
{
    pyam_t *s = st;
    if (size > SIZE_MAX) return NULL;
    return pyarena_malloc(pyam_arena(s, aslot), (size_t)size);
}

static int pyam_own(void *st, uint32_t aslot, uint32_t slot)
{
    pyam_t *s = st;
    return pyarena_own(pyam_arena(s, aslot), (void *)(uintptr_t)(slot + 1u));
}

static void pyam_free_arena(void *st, uint32_t aslot, const uint32_t *owned, size_t nowned)
{
    pyam_t *s = st;
    s->pending = owned;
    s->npending = nowned;
    if (aslot < s->narenas && pyam_live(s)[aslot]) pyarena_free(pyam_arena(s, aslot));
    /* Without any `o` the arena has no list and never calls back. */
    pyam_release_pending(s);
    pyam_live(s)[aslot] = 0;
}

const arenas_mode_t arenas_pyarena = {
    .name = "pyarena",
    .summary = "CPython's PyArena: 8 KiB bump blocks from MEM, freed at once "
               "(params block=, align=, growth=fixed|doubling)",
    .create = pyam_create,
    .destroy = pyam_destroy,
    .new_arena = pyam_new_arena,
    .malloc = pyam_malloc,
    .own = pyam_own,
    .free_arena = pyam_free_arena,
    .each = NULL,
    .writes_blocks = 1,
};
