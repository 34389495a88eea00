/* route.h: which allocator instance serves each CPython domain of a replay.
 *
 * A trace event names its domain (raw, mem, obj; arena events are mem).  A
 * route gives each domain an allocator spec (NAME[:key=value...]); today
 * the command line builds uniform routes (one spec for all three), and a
 * later `--alloc raw=raw,mem=pymalloc,obj=mimalloc` only has to fill the
 * three specs differently.
 *
 * Instances: domains with the same canonical spec (route_canonical) share
 * one instance, except
 * for classes flagged ALLOC_PER_DOMAIN, which get one instance per domain
 * and the extra parameter domain=raw|mem|obj.  route_heaps_t keeps each
 * domain's alloc_t by value, so the replay's hot path dispatches with one
 * index.
 *
 * The debug layer: a spec asking for it (`pymalloc_debug`, `mimalloc:debug`,
 * alloc/params.h) gets its instance wrapped in CPython's debug hooks
 * (alloc/debughooks.h), one layer per instance, and each domain it serves
 * gets the layer's face for that domain -- its own API id, so a block
 * freed through another domain is caught as CPython catches it.  The faults
 * a layer finds are counted in the route_heaps_t (which therefore must not
 * move while its instances live).
 *
 * Invariants: inst[d] <= d and inst[inst[d]] == inst[d] (a domain uses the
 * instance created by the first domain with the same spec); a[d] is a copy
 * of a[inst[d]], except under the debug layer, where a[d] is domain d's
 * face of layer dbg[inst[d]] and cls[d] the layer's class; only domains
 * with inst[d] == d are destroyed.
 */
#ifndef ARENALAB_SIM_REPLAY_ROUTE_H
#define ARENALAB_SIM_REPLAY_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "alloc/alloc.h"
#include "alloc/debughooks.h"
#include "alloc/params.h"
#include "sim/trace/trace.h"

typedef const alloc_class_t *(*route_find_fn)(const char *name);

/* Longest extra-counter name route_stats writes, NUL included. */
#define ROUTE_NAME_MAX 48
/* Room for a canonical name (route_canonical): three domains' specs, each
 * as long as a spec can be (so:/plugin: paths included). */
#define ROUTE_CONFIG_MAX (TRACE_NDOMAINS * (sizeof(((alloc_spec_t *)0)->buf) + 8))

typedef struct {
    const char *spec[TRACE_NDOMAINS]; /* not owned; must outlive the route */
    const char *label;                /* display name, NULL: from specs    */
} route_t;

/* PYTHONMALLOC's names, as routes (route_aliases, ended by a NULL name):
 * an element NAME[:k=v...] sends raw to RAW (NULL: the element itself, as
 * every other domain) and mem and obj to MEMOBJ (NULL: the element
 * itself; otherwise NAME takes no parameters). */
typedef struct {
    const char *name;
    const char *raw;
    const char *memobj;
    const char *summary; /* one line for `arenalab replay --list`          */
} route_alias_t;

extern const route_alias_t route_aliases[];

/* Parses one --alloc argument: a comma-separated list of allocators, named
 * as PYTHONMALLOC names them, into routes.  Elements:
 *   NAME[:k=v...]          every domain to NAME, except the aliases:
 *   pymalloc[:k=v...]      raw -> malloc, mem and obj -> one pymalloc
 *                          (CPython's default routing);
 *   pymalloc_debug[:k=v..] the same with CPython's debug hooks on every
 *                          domain (raw -> malloc_debug);
 *   debug                  CPython's default with the hooks: pymalloc_debug;
 *   malloc, malloc_debug   every domain to the process's malloc (with the
 *                          hooks); any NAME_debug or NAME:...:debug is NAME
 *                          with the hooks;
 *   raw=A, mem=B, obj=C    explicit routes: consecutive domain elements
 *                          make one route (a domain named again starts the
 *                          next); a domain left out goes to `malloc`.
 * TEXT is split in place: the routes point into it.  Appends to ROUTES
 * (room for MAX) and counts in *N.  Returns 0, or -1 with a message. */
int route_parse_list(char *text, route_t *routes, size_t max, size_t *n, char *err, size_t errlen);

/* The error of route_check and route_create: an unknown allocator, a bad
 * or unused parameter, or a create() that failed (the class cannot tell a
 * bad parameter value from other failures, so all count as usage). */
enum { ROUTE_EUSAGE = -2 };

/* Every domain gets SPEC. */
void route_uniform(route_t *r, const char *spec);
int route_is_uniform(const route_t *r);
/* Display name: the spec when uniform, else "raw=A,mem=B,obj=C", with
 * so:/plugin: specs by their short names (alloc_spec_display:
 * `so:je=/usr/lib/libjemalloc.so.2` shows as `je`).  Returns the length it
 * needed (snprintf-style). */
int route_name(const route_t *r, char *buf, size_t len);

/* The canonical name of R's configuration (alloc_spec_canonical of each
 * domain's spec with its class's defaults): the spec when the three agree,
 * else "raw=A,mem=B,obj=C".  Two routes with the same canonical name run
 * the same allocators with the same parameters, so a replay runs them
 * once.  Returns 0, or ROUTE_EUSAGE with a message (an unknown allocator,
 * a spec that does not parse). */
int route_canonical(const route_t *r, route_find_fn find, char *buf, size_t len, char *err,
                    size_t errlen);

/* Checks that every spec parses and names a class FIND knows (NULL: the
 * registry) and ORs their flags into *FLAGS.  Parameters are checked only
 * by route_create.  Returns 0 or ROUTE_EUSAGE with a message. */
int route_check(const route_t *r, route_find_fn find, unsigned *flags, char *err, size_t errlen);

/* Whether the class of every domain of R has FLAG (alloc_flags_t); 0 as
 * well for a route that does not resolve. */
int route_all_have(const route_t *r, route_find_fn find, unsigned flag);

/* Whether R's instances may be called from several threads at once: every
 * class is ALLOC_THREAD_SAFE and no spec asks for the debug layer (0 as
 * well for a route that does not resolve). */
int route_thread_safe(const route_t *r, route_find_fn find);

/* Whether a spec of R asks for the debug layer (one that does not parse
 * does not). */
int route_has_debug(const route_t *r);

/* The LD_PRELOAD value R's classes ask for: their `preload` libraries
 * (ALLOC_PRELOAD), ':'-separated without repeats; "" when none.  Returns 0,
 * or -1 when a spec does not parse or BUF is too small. */
int route_preload(const route_t *r, route_find_fn find, char *buf, size_t len);

typedef struct {
    alloc_spec_t spec[TRACE_NDOMAINS]; /* parsed; params point into it    */
    const alloc_class_t *cls[TRACE_NDOMAINS];
    alloc_t a[TRACE_NDOMAINS];
    int inst[TRACE_NDOMAINS];   /* domain whose instance serves this one    */
    int ninst;                  /* distinct instances                       */
    unsigned flags;             /* OR of the classes' flags                 */
    dbg_t *dbg[TRACE_NDOMAINS]; /* the debug layer around instance d, or
                                   NULL                                   */
    uint64_t nfaults;           /* faults the debug layers found           */
    dbg_fault_t fault;          /* the last one                            */
} route_heaps_t;

/* Creates the instances of R.  Returns 0, or ROUTE_EUSAGE with a message
 * (nothing is left allocated then). */
int route_create(route_heaps_t *h, const route_t *r, route_find_fn find, char *err, size_t errlen);
void route_destroy(route_heaps_t *h);

/* Total footprint and peak of all instances (see route_stats), without
 * the extras: cheap enough for every event when stats() is. */
void route_footprint(const route_heaps_t *h, uint64_t *footprint, uint64_t *peak);

/* Total footprint and peak of all instances (peak 0 unless there is one
 * instance and it reports one); extras of every instance, named as the
 * class names them, prefixed "raw_"/"mem_"/"obj_" when there are several
 * instances.  NAMES and VALUES have room for TRACE_NDOMAINS *
 * ALLOC_MAX_EXTRA entries; returns the number of extras. */
int route_stats(const route_heaps_t *h, uint64_t *footprint, uint64_t *peak,
                char (*names)[ROUTE_NAME_MAX], uint64_t *values);

/* Whether domain D is served through the debug layer. */
static inline int route_debugged(const route_heaps_t *h, int d)
{
    return h->dbg[h->inst[d]] != NULL;
}

/* The usable size of PTR from domain D's class; 0 when it cannot tell. */
static inline size_t route_usable_size(const route_heaps_t *h, int d, const void *ptr)
{
    return h->cls[d]->usable_size ? h->cls[d]->usable_size(h->a[d].ctx, ptr) : 0;
}

#endif
