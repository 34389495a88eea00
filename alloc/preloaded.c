/* preloaded.c: `jemalloc`, `mimalloc` and `tcmalloc` — real allocators from
 * Debian's packages, each loaded as the replay worker's malloc.
 *
 * The class itself only calls malloc/calloc/realloc/free: the replay driver
 * puts the class's library in the worker's LD_PRELOAD (ALLOC_PRELOAD), so
 * those calls reach the library.  create() checks that the library really
 * is the process's malloc — ld.so only warns when a preload is missing, and
 * a replay that silently measured glibc would be a lie — by looking up the
 * library's own statistics entry point.
 *
 * create() checks that the library really serves malloc in this process
 * (alloc_malloc_is: where `malloc` resolves), not only that it is loaded.
 *
 * Held memory, each library's own figure, absolute (what the library holds
 * from the system now, start-up included; the figure every allocator
 * shares is the replay's resident memory, sim/replay/replay.h):
 *   jemalloc  mallctl "stats.resident" after an "epoch" refresh: pages
 *             resident in the allocator's mappings, metadata included.
 *             jemalloc purges dirty pages on a wall-clock decay
 *             (dirty_decay_ms, 10 s by default); runs shorter than that
 *             rarely purge, so a loaded machine can show lower figures;
 *             set MALLOC_CONF (e.g. dirty_decay_ms:0) in your environment
 *             to pin it, the worker passes it on;
 *   tcmalloc  MallocExtension "generic.heap_size" minus
 *             "tcmalloc.pageheap_unmapped_bytes";
 *   mimalloc  mi_process_info's current commit (it commits in segments,
 *             so the figure moves in large steps).
 * Each of these locks the allocator or walks it, so the classes are
 * flagged ALLOC_SLOW_STATS and the driver samples them; they describe the
 * whole process heap (ALLOC_PROCESS_STATS): a route counts them once.
 *
 * Availability: alloc_preload_available() looks for the library file in
 * the linker's usual directories (and LD_LIBRARY_PATH) without loading it;
 * under AddressSanitizer no preload can replace the sanitizer's malloc, so
 * none is available there.
 */
#include "alloc/alloc.h"

#include <dlfcn.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define PRELOAD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PRELOAD_ASAN 1
#endif
#endif

typedef int (*preload_mallctl_fn)(const char *, void *, size_t *, void *, size_t);
typedef void (*preload_mi_info_fn)(size_t *, size_t *, size_t *, size_t *, size_t *, size_t *,
                                   size_t *, size_t *);
typedef int (*preload_tc_prop_fn)(const char *, size_t *);

typedef enum { PRELOAD_JEMALLOC, PRELOAD_MIMALLOC, PRELOAD_TCMALLOC } preload_kind_t;

/* One row per library: everything that differs between the three. */
typedef struct {
    preload_kind_t kind;
    const char *name;    /* class name                                    */
    const char *lib;     /* LD_PRELOAD value (a soname)                   */
    const char *package; /* the Debian package that ships it            */
    const char *symbol;  /* its statistics entry point                    */
} preload_lib_t;

/* Sonames, shared by the table and the classes' `preload` fields. */
#define PRELOAD_JEMALLOC_LIB "libjemalloc.so.2"
#define PRELOAD_MIMALLOC_LIB "libmimalloc.so.2"
#define PRELOAD_TCMALLOC_LIB "libtcmalloc_minimal.so.4"

static const preload_lib_t preload_libs[] = {
    {PRELOAD_JEMALLOC, "jemalloc", PRELOAD_JEMALLOC_LIB, "libjemalloc2", "mallctl"},
    {PRELOAD_MIMALLOC, "mimalloc", PRELOAD_MIMALLOC_LIB, "libmimalloc2.0", "mi_process_info"},
    {PRELOAD_TCMALLOC, "tcmalloc", PRELOAD_TCMALLOC_LIB, "libtcmalloc-minimal4",
     "MallocExtension_GetNumericProperty"},
};

typedef struct {
    const preload_lib_t *lib;
    void *stat_fn; /* the library's statistics entry point              */
} preload_ctx_t;

/* What the library holds from the system now, absolute. */
static uint64_t preload_held(const preload_ctx_t *c)
{
    switch (c->lib->kind) {
    case PRELOAD_JEMALLOC: {
        preload_mallctl_fn mallctl = (preload_mallctl_fn)c->stat_fn;
        uint64_t epoch = 1;
        size_t sz = sizeof epoch;
        mallctl("epoch", &epoch, &sz, &epoch, sz);
        size_t resident = 0;
        sz = sizeof resident;
        return mallctl("stats.resident", &resident, &sz, NULL, 0) ? 0 : resident;
    }
    case PRELOAD_MIMALLOC: {
        preload_mi_info_fn info = (preload_mi_info_fn)c->stat_fn;
        size_t elapsed, user, sys, rss, peak_rss, commit = 0, peak_commit, faults;
        info(&elapsed, &user, &sys, &rss, &peak_rss, &commit, &peak_commit, &faults);
        return commit;
    }
    case PRELOAD_TCMALLOC: {
        preload_tc_prop_fn prop = (preload_tc_prop_fn)c->stat_fn;
        size_t heap = 0, unmapped = 0;
        prop("generic.heap_size", &heap);
        prop("tcmalloc.pageheap_unmapped_bytes", &unmapped);
        return heap > unmapped ? heap - unmapped : 0;
    }
    }
    return 0;
}

static void *preload_malloc(void *ctx, size_t size)
{
    return malloc(size ? size : 1);
}

static void *preload_calloc(void *ctx, size_t nelem, size_t elsize)
{
    if (nelem == 0 || elsize == 0) nelem = elsize = 1;
    return calloc(nelem, elsize);
}

static void *preload_realloc(void *ctx, void *ptr, size_t new_size)
{
    return realloc(ptr, new_size ? new_size : 1);
}

static void preload_free(void *ctx, void *ptr)
{
    free(ptr);
}

static int preload_create(const preload_lib_t *lib, alloc_t *a, char *err, size_t errlen)
{
    void *fn = dlsym(RTLD_DEFAULT, lib->symbol);
    if (!fn) {
        snprintf(err, errlen,
                 "%s is not this process's malloc (%s not loaded: is Debian's %s installed? "
                 "scripts/setup installs it; the replay driver preloads it)",
                 lib->name, lib->lib, lib->package);
        return -1;
    }
    char why[512];
    if (alloc_malloc_is(lib->lib, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s: %s", lib->name, why);
        return -1;
    }
    preload_ctx_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "%s: out of memory", lib->name);
        return -1;
    }
    c->lib = lib;
    c->stat_fn = fn;
    *a = (alloc_t){c, preload_malloc, preload_calloc, preload_realloc, preload_free};
    return 0;
}

static void preload_destroy(void *ctx)
{
    free(ctx);
}

static void preload_stats(void *ctx, alloc_stats_t *out)
{
    out->footprint = preload_held(ctx);
    out->peak_footprint = 0; /* none keeps one per instance: sampled */
    out->nextra = 0;
}

/* The library's own statistics text, as its authors print it:
 * jemalloc's malloc_stats_print, tcmalloc's MallocExtension::GetStats,
 * mimalloc's mi_stats_print_out.  Looked up at run time (the library is
 * preloaded, not linked).  0, or -1 when the library has no such entry. */
typedef void (*preload_write_cb)(void *, const char *);
typedef void (*preload_je_stats_fn)(preload_write_cb, void *, const char *);
typedef void (*preload_mi_stats_fn)(void (*)(const char *, void *), void *);
typedef void (*preload_tc_stats_fn)(char *, int);

static void preload_je_write(void *out, const char *s)
{
    fputs(s, out);
}

static void preload_mi_write(const char *s, void *out)
{
    fputs(s, out);
}

static int preload_mallocstats(void *ctx, FILE *out)
{
    const preload_ctx_t *c = ctx;
    switch (c->lib->kind) {
    case PRELOAD_JEMALLOC: {
        preload_je_stats_fn f = (preload_je_stats_fn)dlsym(RTLD_DEFAULT, "malloc_stats_print");
        if (!f) return -1;
        f(preload_je_write, out, NULL);
        return 0;
    }
    case PRELOAD_MIMALLOC: {
        preload_mi_stats_fn f = (preload_mi_stats_fn)dlsym(RTLD_DEFAULT, "mi_stats_print_out");
        if (!f) return -1;
        f(preload_mi_write, out);
        return 0;
    }
    case PRELOAD_TCMALLOC: {
        preload_tc_stats_fn f =
            (preload_tc_stats_fn)dlsym(RTLD_DEFAULT, "MallocExtension_GetStats");
        if (!f) return -1;
        enum { PRELOAD_TC_TEXT = 1 << 16 };
        char *text = malloc(PRELOAD_TC_TEXT); /* after the run: the clean room is over */
        if (!text) return -1;
        text[0] = '\0';
        f(text, PRELOAD_TC_TEXT);
        fputs(text, out);
        free(text);
        return 0;
    }
    }
    return -1;
}

static size_t preload_usable_size(void *ctx, const void *ptr)
{
    /* Every one of the three libraries interposes malloc_usable_size. */
    return malloc_usable_size((void *)ptr);
}

/* Whether LIB's file is in a directory ld.so searches (not loading it). */
static int preload_lib_available(const preload_lib_t *lib, char *why, size_t len)
{
#ifdef PRELOAD_ASAN
    snprintf(why, len, "%s cannot replace AddressSanitizer's malloc in a sanitized build",
             lib->name);
    return 0;
#else
    static const char *const dirs[] = {"/usr/lib/x86_64-linux-gnu",
                                       "/lib/x86_64-linux-gnu",
                                       "/usr/lib64",
                                       "/usr/lib",
                                       "/lib",
                                       "/usr/local/lib",
                                       NULL};
    char path[4096];
    const char *extra = getenv("LD_LIBRARY_PATH");
    if (extra && *extra) {
        char copy[2048];
        snprintf(copy, sizeof copy, "%s", extra);
        char *save = NULL;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
            snprintf(path, sizeof path, "%s/%s", d, lib->lib);
            if (access(path, R_OK) == 0) return 1;
        }
    }
    for (const char *const *d = dirs; *d; d++) {
        snprintf(path, sizeof path, "%s/%s", *d, lib->lib);
        if (access(path, R_OK) == 0) return 1;
    }
    snprintf(why, len, "%s not found: install Debian's %s (scripts/setup does)", lib->lib,
             lib->package);
    return 0;
#endif
}

/* The per-class entry points: one line each, forwarding to the table. */
#define PRELOAD_CLASS(ID, IDX, LIB, SUMMARY)                                                       \
    static int preload_create_##ID(alloc_t *a, alloc_param_t *params, size_t nparams, char *err,   \
                                   size_t errlen)                                                  \
    {                                                                                              \
        return preload_create(&preload_libs[IDX], a, err, errlen);                                 \
    }                                                                                              \
    static int preload_available_##ID(char *why, size_t len)                                       \
    {                                                                                              \
        return preload_lib_available(&preload_libs[IDX], why, len);                                \
    }                                                                                              \
    const alloc_class_t alloc_##ID##_class = {                                                     \
        .name = #ID,                                                                               \
        .summary = SUMMARY,                                                                        \
        .params = "",                                                                              \
        .flags = ALLOC_PRELOAD | ALLOC_SLOW_STATS | ALLOC_PROCESS_STATS | ALLOC_THREAD_SAFE,       \
        .preload = LIB,                                                                            \
        .create = preload_create_##ID,                                                             \
        .destroy = preload_destroy,                                                                \
        .stats = preload_stats,                                                                    \
        .usable_size = preload_usable_size,                                                        \
        .mallocstats = preload_mallocstats,                                                        \
        .available = preload_available_##ID,                                                       \
    }

PRELOAD_CLASS(jemalloc, PRELOAD_JEMALLOC, PRELOAD_JEMALLOC_LIB,
              "jemalloc 5 (Debian libjemalloc2) as the worker's malloc");
PRELOAD_CLASS(mimalloc, PRELOAD_MIMALLOC, PRELOAD_MIMALLOC_LIB,
              "mimalloc 2 (Debian libmimalloc2.0) as the worker's malloc");
PRELOAD_CLASS(tcmalloc, PRELOAD_TCMALLOC, PRELOAD_TCMALLOC_LIB,
              "tcmalloc (Debian libtcmalloc-minimal4) as the worker's malloc");
