/* tstats.h: statistics of a trace, computed event by event (for `arenalab
 * stats`, and for the replay's report, which sees the same events).
 *
 * What is counted:
 *   - events by op, and a/c/r/f events by domain;
 *   - live bytes and live blocks after each event, and their peaks with the
 *     index (0-based) and `where` (text line / binary index) of the event
 *     that reached each peak first.  Live = every block allocated with
 *     a/c and not yet freed (owned blocks included), plus every `m`
 *     allocation of an arena that is not yet freed.  A calloc counts
 *     NMEMB*SIZE bytes (saturated at 2^64-1);
 *   - bytes requested by a/c/r/m in total, and a histogram of request sizes
 *     (power-of-two bins: bin 0 holds size 0, bin k holds 2^(k-1) .. 2^k-1);
 *   - block lifetimes in events (free index - allocation index, for a/c
 *     blocks freed by f or by their arena's x), in the same bins; blocks
 *     still live at the end are counted apart (still_live);
 *   - reallocs that grow, shrink or keep the size, and the bytes grown and
 *     shrunk.
 *
 * Memory: per block slot and per arena slot, so bounded by the trace's
 * peak live counts (slots come from a reader, which checked them).
 * Failure: tstats_add returns 0, TRACE_ENOMEM, TRACE_EUSAGE for a slot it
 * never saw allocated (events skipped by the caller), or TRACE_ESEM when the
 * live bytes pass 2^64 (no process can hold that: the trace is wrong); after
 * a failure the statistics are not to be used. */
#ifndef ARENALAB_SIM_TRACE_TSTATS_H
#define ARENALAB_SIM_TRACE_TSTATS_H

#include <stdint.h>
#include <stdio.h>

#include "sim/base/json.h"
#include "sim/trace/trace.h"

#define TSTATS_BINS 65 /* size 0, then one per bit length 1..64 */

__extension__ typedef unsigned __int128 tstats_u128; /* sums of 2^32 sizes */

typedef struct {
    uint64_t size;  /* bytes, as counted                                  */
    uint64_t birth; /* event index of the a/c                             */
} tstats_block_t;

typedef struct {
    uint64_t bytes;  /* m bytes of the arena (saturated)                  */
    uint64_t chunks; /* m allocations                                     */
} tstats_arena_t;

typedef struct {
    uint64_t events;
    uint64_t by_op[TRACE_NOPS];
    uint64_t by_domain[TRACE_NDOMAINS]; /* a c r f events                 */
    tstats_u128 live_bytes;
    uint64_t live_blocks;
    uint64_t peak_bytes, peak_bytes_at, peak_bytes_where;
    uint64_t peak_blocks, peak_blocks_at, peak_blocks_where;
    uint64_t requested; /* saturated                      */
    uint64_t size_hist[TSTATS_BINS];
    uint64_t life_hist[TSTATS_BINS];
    uint64_t still_live; /* a/c blocks live now            */
    uint64_t re_grow, re_shrink, re_same;
    uint64_t bytes_grown, bytes_shrunk; /* saturated                      */
    tstats_block_t *blocks;             /* by slot                        */
    uint32_t bcap;
    tstats_arena_t *arenas; /* by arena slot                  */
    uint32_t acap;
} tstats_t;

void tstats_init(tstats_t *t);
void tstats_free(tstats_t *t);

/* Counts EV (as a reader returned it).  At TRACE_ARENA_FREE, OWNED/NOWNED
 * are the block slots the arena owned (trace_owned). */
int tstats_add(tstats_t *t, const trace_event_t *ev, const uint32_t *owned, size_t nowned);

/* Histogram bin of V, and the smallest value of bin K. */
int tstats_bin(uint64_t v);
uint64_t tstats_bin_min(int k);

/* The human table, for trace NAME. */
void tstats_print(const tstats_t *t, const char *name, trace_format_t fmt, FILE *out);

/* The figures as members of the JSON object being written. */
void tstats_json(const tstats_t *t, json_t *j);

#endif
