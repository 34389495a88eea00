/* arenalab_plugin.h: the public interface of arenalab allocator plugins,
 * and the conventions of malloc libraries run with `--alloc so:PATH`.
 * Self-contained (C99 or later, the standard headers only): copy it beside
 * your allocator and build with
 *
 *     cc -std=c11 -O2 -fPIC -shared -I. myalloc.c -o libmyalloc.so
 *
 * then `arenalab replay TRACE --alloc plugin:./libmyalloc.so[:key=value...]`.
 * The guide is alloc/plugin/README.md in the arenalab tree.
 *
 * A plugin is a shared object that defines one object,
 *
 *     ARENALAB_PLUGIN_EXPORT const arenalab_plugin_t arenalab_plugin = {
 *         .abi = ARENALAB_PLUGIN_ABI, .size = sizeof(arenalab_plugin_t), ...};
 *
 * describing an allocator class: create/destroy of independent instances,
 * each a context plus malloc, calloc, realloc and free (CPython's
 * PyMemAllocatorEx), and counters.  arenalab loads it with dlopen, checks
 * `abi` and the required entries, and treats it as one of its own
 * allocators: routes per domain, parameters and sweeps, exact footprint
 * counters, --mallocstats, --verify, experiments and reports.
 *
 * Versioning.  ARENALAB_PLUGIN_ABI changes whenever a type or a rule of
 * this header changes; arenalab loads only plugins whose `abi` equals its
 * own, and says which versions differ.  `size` guards against a header
 * mixed up with another of the same version.
 *
 * The rules an instance keeps (arenalab's own allocators keep them too):
 *   - malloc(ctx, 0) returns a distinct non-NULL block;
 *   - calloc checks nelem * elsize for overflow (NULL then);
 *   - realloc(ctx, NULL, n) is malloc, and realloc to 0 bytes returns a
 *     block (as malloc(0)); free(ctx, NULL) does nothing;
 *   - stats() only reads counters kept on the way (no heap walks: arenalab
 *     may call it after every event of a measurement run, unless the class
 *     is flagged ARENALAB_PLUGIN_SLOW_STATS);
 *   - two instances share no mutable state, and destroy() returns to the
 *     system everything the instance took (unless the class is flagged
 *     ARENALAB_PLUGIN_PROCESS_GLOBAL).
 *
 * Failure: create() returns 0, or -1 with a message in ERR (it must leave
 * nothing allocated then); malloc/calloc/realloc return NULL on failure,
 * which arenalab reports with the event index.
 */
#ifndef ARENALAB_PLUGIN_H
#define ARENALAB_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENALAB_PLUGIN_ABI 1

/* The symbol arenalab looks up. */
#define ARENALAB_PLUGIN_SYMBOL "arenalab_plugin"

#if defined(__GNUC__) || defined(__clang__)
#define ARENALAB_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define ARENALAB_PLUGIN_EXPORT
#endif

/* An instance: what create() fills in.  Every function is required. */
typedef struct {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
    void *(*realloc)(void *ctx, void *ptr, size_t new_size);
    void (*free)(void *ctx, void *ptr);
} arenalab_alloc_t;

/* One `key=value` of the spec (`plugin:PATH:key=value:...`).  A plugin
 * sets `used` on each it understands (arenalab_param_get does); one left
 * unused is an error naming it, so a typo never passes silently. */
typedef struct {
    const char *key;
    const char *value;
    int used;
} arenalab_param_t;

#define ARENALAB_PLUGIN_MAX_EXTRA 8

/* Counters.  footprint: bytes the instance holds from the system now
 * (mappings, chunks; its own metadata included).  peak_footprint: the
 * highest footprint since create, or 0 when it keeps none (arenalab then
 * uses the peak of its samples).  extra: up to 8 counters of its own,
 * shown as extra series and JSON columns; names [a-z0-9_]+, in static
 * storage (the plugin stays loaded). */
typedef struct {
    uint64_t footprint;
    uint64_t peak_footprint;
    int nextra;
    struct {
        const char *name;
        uint64_t value;
    } extra[ARENALAB_PLUGIN_MAX_EXTRA];
} arenalab_stats_t;

/* Class flags. */
enum {
    /* State is per process: one instance per process, each run in a
     * process of its own, never created in arenalab's parent process. */
    ARENALAB_PLUGIN_PROCESS_GLOBAL = 1,
    /* One instance per CPython domain, created with the extra parameter
     * domain=raw|mem|obj. */
    ARENALAB_PLUGIN_PER_DOMAIN = 4,
    /* stats() is slow (walks or locks): sampled, never called per event. */
    ARENALAB_PLUGIN_SLOW_STATS = 8,
    /* Its memory comes from the process's malloc: each timed run gets a
     * fresh process, since one run's heap state would carry into the next. */
    ARENALAB_PLUGIN_PROCESS_HEAP = 16,
    /* Its functions may be called from several threads at once: a
     * multithreaded trace replays on its recorded threads (`replay
     * --threads recorded`); without it, serialized. */
    ARENALAB_PLUGIN_THREAD_SAFE = 64
};

typedef struct {
    uint32_t abi;         /* ARENALAB_PLUGIN_ABI                                */
    uint32_t size;        /* sizeof(arenalab_plugin_t)                          */
    const char *name;     /* short name for messages, e.g. "segfit"       */
    const char *summary;  /* one line: what it is                          */
    const char *params;   /* parameter help, "key=VALUE  meaning\n...", or ""  */
    const char *defaults; /* "key=value:..." of the parameters' defaults (a
                             spec giving exactly these is the same
                             configuration as none), or NULL            */
    unsigned flags;       /* ARENALAB_PLUGIN_* above                       */

    /* Required: a new instance into *A from NPARAMS parameters. */
    int (*create)(arenalab_alloc_t *a, arenalab_param_t *params, size_t nparams, char *err,
                  size_t errlen);
    /* Required: releases everything the instance holds. */
    void (*destroy)(void *ctx);
    /* Required: the counters above. */
    void (*stats)(void *ctx, arenalab_stats_t *out);
    /* Optional (NULL): the usable size of a live block; enables the
     * internal fragmentation figure. */
    size_t (*usable_size)(void *ctx, const void *ptr);
    /* Optional (NULL): the allocator's own statistics as text, for
     * `--mallocstats`.  Returns 0, or -1 when it has none. */
    int (*mallocstats)(void *ctx, FILE *out);
} arenalab_plugin_t;

/* ---- parameters: helpers for create() ------------------------------------ */

/* The value of KEY (the last one given wins), marking it used; NULL when
 * absent. */
static inline const char *arenalab_param_get(arenalab_param_t *params, size_t n, const char *key)
{
    const char *value = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(params[i].key, key) == 0) {
            params[i].used = 1;
            value = params[i].value;
        }
    return value;
}

/* KEY as a byte count with an optional K/M/G suffix (powers of 1024,
 * "KiB"/"KB" spellings too) in [MIN, MAX], into *OUT; *OUT is left as it
 * is when KEY is absent.  Returns 0, or -1 with a message in ERR. */
static inline int arenalab_param_size(arenalab_param_t *params, size_t n, const char *key,
                                      uint64_t min, uint64_t max, uint64_t *out, char *err,
                                      size_t errlen)
{
    const char *text = arenalab_param_get(params, n, key);
    if (!text) return 0;
    uint64_t v = 0;
    const char *p = text;
    int ok = *p >= '0' && *p <= '9';
    for (; ok && *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10) ok = 0;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    unsigned shift = 0;
    if (*p == 'k' || *p == 'K') shift = 10;
    if (*p == 'm' || *p == 'M') shift = 20;
    if (*p == 'g' || *p == 'G') shift = 30;
    if (shift) p++;
    if (shift && (p[0] == 'i' && p[1] == 'B'))
        p += 2;
    else if (shift && p[0] == 'B')
        p++;
    if (*p || (shift && v > (UINT64_MAX >> shift))) ok = 0;
    v <<= ok ? shift : 0;
    if (!ok || v < min || v > max) {
        snprintf(err, errlen,
                 "parameter %s=%s: expected a size from %llu to %llu (K/M/G suffixes allowed)", key,
                 text, (unsigned long long)min, (unsigned long long)max);
        return -1;
    }
    *out = v;
    return 0;
}

/* ---- so: libraries ---------------------------------------------------------
 *
 * `--alloc so:PATH` preloads any malloc library (one that defines malloc,
 * calloc, realloc and free) into the replay's worker with LD_PRELOAD, as
 * arenalab does jemalloc.  It needs nothing of this header; these optional
 * functions, when the library exports them, give arenalab more to show:
 *
 *   arenalab_held_bytes()     bytes the library holds from the system now
 *                             (the "held" figure; without it, 0);
 *   arenalab_print_stats(w, arg)
 *                             its statistics as text, through w(arg, text)
 *                             as many times as it likes (--mallocstats).
 *
 * The usable size of a block comes from the library's malloc_usable_size
 * when it defines one. */
#define ARENALAB_HELD_BYTES_SYMBOL  "arenalab_held_bytes"
#define ARENALAB_PRINT_STATS_SYMBOL "arenalab_print_stats"

typedef size_t (*arenalab_held_bytes_fn)(void);
typedef void (*arenalab_print_stats_fn)(void (*write)(void *arg, const char *text), void *arg);

/* Their prototypes, for a library that defines them (with default
 * visibility: ARENALAB_PLUGIN_EXPORT). */
size_t arenalab_held_bytes(void);
void arenalab_print_stats(void (*write)(void *arg, const char *text), void *arg);

#endif
