/* registry.c: every allocator this build knows, found by name.
 * Adding an allocator is one extern and one line in the table.  Names
 * `so:...` and `plugin:...` are libraries, not registered classes: their
 * classes come from the loader (alloc/plugin.c). */
#include "alloc/alloc.h"
#include "alloc/internal/plugin.h"

#include <string.h>

extern const alloc_class_t alloc_raw_class;      /* alloc/raw.c  */
extern const alloc_class_t alloc_null_class;     /* alloc/null.c */
extern const alloc_class_t alloc_reuse_class;    /* alloc/reuse.c */
extern const alloc_class_t alloc_arena_class;    /* alloc/arena.c */
extern const alloc_class_t alloc_pymalloc_class; /* alloc/pymalloc.c */
extern const alloc_class_t alloc_cpython_class;  /* alloc/cpython.c */
extern const alloc_class_t alloc_malloc_class;   /* alloc/malloc.c */
extern const alloc_class_t alloc_jemalloc_class; /* alloc/preloaded.c */
extern const alloc_class_t alloc_mimalloc_class; /* alloc/preloaded.c */
extern const alloc_class_t alloc_tcmalloc_class; /* alloc/preloaded.c */

const alloc_class_t *const alloc_registry[] = {
    &alloc_raw_class,
    &alloc_null_class,
    &alloc_reuse_class,
    &alloc_arena_class,
    &alloc_pymalloc_class,
    &alloc_cpython_class,
    &alloc_malloc_class,
    &alloc_jemalloc_class,
    &alloc_mimalloc_class,
    &alloc_tcmalloc_class,
    NULL,
};

const alloc_class_t *alloc_find(const char *name)
{
    if (strncmp(name, "so:", 3) == 0 || strncmp(name, "plugin:", 7) == 0) return _plugin_find(name);
    for (const alloc_class_t *const *c = alloc_registry; *c; c++)
        if (strcmp((*c)->name, name) == 0) return *c;
    return NULL;
}
