/* output.h: what `arenalab replay` writes — the human table, the JSON
 * results and the series CSV — each from one column table in output.c.
 *
 * Invariant: every figure shown comes from a driver_run_t field; nothing
 * here measures or recomputes.  JSON and CSV use fixed formatting (json.h's
 * doubles, integers as integers), so equal figures give equal bytes.
 */
#ifndef ARENALAB_SIM_REPLAY_OUTPUT_H
#define ARENALAB_SIM_REPLAY_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include "sim/replay/driver.h"

/* Settings of the whole replay, echoed in the JSON. */
typedef struct {
    unsigned repeat;
    unsigned long long seed; /* of the run order (driver_config_t.seed)   */
    unsigned long long samples;
    const char *arena_mode;
    int verify, lenient;
    const char *touch;      /* replay_touch_name */
    unsigned measure;       /* DRIVER_MEASURE_*; 0: time                   */
    unsigned latency_every; /* 0: LAT_EVERY_DEFAULT                   */
} output_settings_t;

/* What the memory columns mean, one definition each, as README's metric
 * table gives them: written under every table that shows them (replay's,
 * summary.md's, index.html's), so the definition stays next to the number. */
extern const char output_memory_legend[];

/* One row per run: trace, allocator, events, ns/event median [confidence
 * interval], peak live, peak resident, peak held, jw4, util, and when a
 * row has them the counts per event and the latency percentiles; then a
 * note on what the timing column, its flags and those columns mean. */
void output_table(FILE *out, const driver_run_t *runs, size_t n);

/* {"arenalab": version, "command": "replay", settings..., "runs": [...]}. */
void output_json(FILE *out, const driver_run_t *runs, size_t n, const output_settings_t *s);

/* The figures of the JSON as CSV columns: trace, allocator, then one per
 * JSON value, named KEY or GROUP_KEY (ns_per_event_median, frag_jw4,
 * callgrind_Ir, latency_ns_malloc_p99), formatted as the JSON does (a NaN
 * is an empty field, a boolean true/false); the array ns_per_event.runs
 * is one field, its numbers joined by ';'.  Every column is always there:
 * a group the run did not measure (left out of its JSON) is empty. */
void output_csv_header(FILE *out);
void output_csv_row(FILE *out, const driver_run_t *run);

/* A byte count for people: "1.4 MiB", "312 B".  Returns BUF. */
const char *output_bytes(uint64_t v, char *buf, size_t len);

/* trace, allocator, the sample columns, then extra_<name> for the union of
 * every run's extra counters (empty where a run has none). */
void output_series(FILE *out, const driver_run_t *runs, size_t n);

#endif
