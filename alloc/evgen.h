/* evgen.h: seeded random malloc/calloc/realloc/free sequences over the
 * three CPython domains, and a replayer that runs one through a set of
 * alloc_t instances -- for allocator tests and benchmarks (testonly).
 *
 * Invariant: a sequence depends on its parameters only (own PRNG), names
 * blocks by dense slots, and is valid: realloc/free name a live slot, in
 * the domain it was allocated in.  The replayer can fill every block with
 * a pattern of its slot and generation and check it on realloc (the kept
 * prefix) and free, and that calloc memory reads as zero. */
#ifndef ARENALAB_ALLOC_EVGEN_H
#define ARENALAB_ALLOC_EVGEN_H

#include "alloc/alloc.h"

#include <stddef.h>
#include <stdint.h>

enum { EVGEN_MALLOC, EVGEN_CALLOC, EVGEN_REALLOC, EVGEN_FREE };
enum { EVGEN_RAW, EVGEN_MEM, EVGEN_OBJ, EVGEN_NDOMAINS };

typedef struct {
    uint8_t op;     /* EVGEN_*                                   */
    uint8_t domain; /* EVGEN_RAW / _MEM / _OBJ                   */
    uint32_t slot;  /* block                                     */
    uint64_t size;  /* malloc/realloc: bytes; calloc: elsize     */
    uint64_t nmemb; /* calloc: count                             */
} evgen_event_t;

typedef struct {
    uint64_t seed;
    size_t nevents;
    uint32_t max_live; /* fill phases stop at this many live blocks  */
    uint32_t min_live; /* drain phases stop at this many             */
    uint32_t min_size; /* sizes drawn from min_size .. max_size      */
    uint32_t max_size;
    uint32_t small_pct; /* % of sizes drawn from 1 .. 128 instead     */
    uint32_t threshold; /* realloc crosses it both ways               */
    unsigned domains;   /* bit mask of 1 << EVGEN_* to draw from      */
} evgen_params_t;

/* A new sequence of P->nevents events (free with free()), or NULL when out
 * of memory.  Phases alternate: fill (mostly allocations) until max_live
 * blocks are live, drain (mostly frees) down to min_live; reallocs and
 * callocs throughout.  *NSLOTS receives the number of slots used. */
evgen_event_t *evgen_generate(const evgen_params_t *p, uint32_t *nslots);

/* Replay state: the live block of each slot. */
typedef struct {
    uint32_t nslots;
    void **ptr;
    uint64_t *size;
    uint8_t *domain;
    uint8_t *gen;
    int verify; /* fill and check patterns                          */
} evgen_replay_t;

/* Returns 0, or -1 when out of memory. */
int evgen_replay_init(evgen_replay_t *r, uint32_t nslots, int verify);

/* Runs events [FROM, TO) through BY_DOMAIN[event.domain].  Returns TO, or
 * the index of the first event that failed (NULL result, or a pattern
 * mismatch: then a message goes to stderr). */
size_t evgen_replay(evgen_replay_t *r, const evgen_event_t *ev, size_t from, size_t to,
                    const alloc_t *const by_domain[EVGEN_NDOMAINS]);

/* Frees every live block and the state. */
void evgen_replay_fini(evgen_replay_t *r, const alloc_t *const by_domain[EVGEN_NDOMAINS]);

/* An alloc_t over the process's malloc/calloc/realloc/free, as CPython's
 * raw domain (0 bytes as 1). */
extern const alloc_t evgen_libc;

#endif
