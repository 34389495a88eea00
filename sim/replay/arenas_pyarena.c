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
 * those of alloc/pyarena.h.  Bookkeeping (the arena table) lives in a
 * mapvec, outside the measured heap; the pyarena_t handles themselves come
 * from malloc(3), as alloc/pyarena.h documents.
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
    mapvec_t arenas;         /* pyarena_t * per arena slot, NULL if free */
    uint32_t narenas;        /* arena slots seen                          */
    const uint32_t *pending; /* the reader's owned list during a free     */
    size_t npending;
} pyam_t;

static pyarena_t **pyam_arenas(pyam_t *s)
{
    return s->arenas.p;
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
    *s = (pyam_t){self, *mem, p, release, ud, {0}, 0, NULL, 0};
    if (mapvec_reserve(&s->arenas, ((size_t)hint->aslots + 1) * sizeof(pyarena_t *))) {
        snprintf(err, errlen, "arenas: cannot map %u arena slots", hint->aslots + 1);
        mapvec_free(&self);
        return NULL;
    }
    mapvec_touch(&s->arenas);
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
        pyarena_free(pyam_arenas(s)[a]);
    }
    mapvec_free(&s->arenas);
    mapvec_t self = s->self;
    mapvec_free(&self);
}

static int pyam_new_arena(void *st, uint32_t aslot)
{
    pyam_t *s = st;
    if (aslot >= s->narenas) {
        if (aslot == UINT32_MAX ||
            mapvec_reserve(&s->arenas, ((size_t)aslot + 1) * sizeof(pyarena_t *)))
            return -1;
        s->narenas = aslot + 1; /* new mapvec bytes are zero: NULL arenas */
    }
    pyarena_t *a = pyarena_new(&s->mem, &s->params, pyam_on_release, s);
    if (!a) return -1;
    pyam_arenas(s)[aslot] = a;
    return 0;
}

static void *pyam_malloc(void *st, uint32_t aslot, uint64_t size)
{
    pyam_t *s = st;
    if (size > SIZE_MAX) return NULL;
    return pyarena_malloc(pyam_arenas(s)[aslot], (size_t)size);
}

static int pyam_own(void *st, uint32_t aslot, uint32_t slot)
{
    pyam_t *s = st;
    return pyarena_own(pyam_arenas(s)[aslot], (void *)(uintptr_t)(slot + 1u));
}

static void pyam_free_arena(void *st, uint32_t aslot, const uint32_t *owned, size_t nowned)
{
    pyam_t *s = st;
    s->pending = owned;
    s->npending = nowned;
    pyarena_free(pyam_arenas(s)[aslot]);
    /* Without any `o` the arena has no list and never calls back. */
    pyam_release_pending(s);
    pyam_arenas(s)[aslot] = NULL;
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
