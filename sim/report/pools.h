/* pools.h: pymalloc's pools per size class at the moment a trace's live
 * bytes peak -- the report's view of where pymalloc's footprint goes.
 *
 * How: the trace's first UPTO events are copied into a temporary binary
 * trace, which replay_run (sim/replay/replay.h) replays in this process through a
 * fresh pymalloc instance with mallocstats on; the class table of that
 * dump (CPython's `sys._debugmallocstats()` layout: class, size, pools,
 * blocks in use, blocks available) is parsed.  No new counter in the
 * allocator is needed, and the figures are exactly what pymalloc reports.
 * A replay's final state would miss the point (most traces free everything
 * at the end); the peak is where the footprint is decided.
 *
 * Failure: pools_at_peak returns 0, or -1 with a message in ERR (trace
 * unreadable, replay failed, a spec whose class prints no pool table);
 * the temporary file is removed either way.
 */
#ifndef ARENALAB_SIM_REPORT_POOLS_H
#define ARENALAB_SIM_REPORT_POOLS_H

#include <stddef.h>
#include <stdint.h>

#define POOLS_MAX_CLASSES 256

typedef struct {
    uint32_t cls;    /* size class index                                 */
    uint32_t size;   /* block size of the class, bytes                   */
    uint64_t pools;  /* pools of the class in use                        */
    uint64_t blocks; /* blocks in use                                    */
    uint64_t avail;  /* free blocks in those pools                       */
} pools_class_t;

typedef struct {
    uint64_t events; /* events replayed (the prefix length)            */
    size_t n;        /* classes with at least one pool, by class       */
    pools_class_t c[POOLS_MAX_CLASSES];
} pools_t;

/* Replays TRACE's first UPTO events through SPEC (a pymalloc spec) and
 * fills OUT from its mallocstats.  TMP is the path of the temporary trace. */
int pools_at_peak(const char *trace, uint64_t upto, const char *spec, const char *tmp, pools_t *out,
                  char *err, size_t errlen);

/* Parses the class table of a mallocstats dump TEXT into OUT (n and c).
 * Returns 0, or -1 when TEXT holds no class table. */
int pools_parse(const char *text, pools_t *out);

#endif
