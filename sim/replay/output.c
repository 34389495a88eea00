/* output.c: the replay's table, JSON and series CSV (see output.h). */
#include "sim/replay/output.h"
#include "alloc/params.h"
#include "sim/base/cli.h"
#include "sim/base/json.h"

#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

/* ---- JSON --------------------------------------------------------------- */

typedef enum {
    REPORT_U64,
    REPORT_UINT,
    REPORT_DOUBLE,
    REPORT_BOOL,   /* an int: JSON true/false, CSV the same words          */
    REPORT_RUNS,   /* the repeat timed runs: a JSON array, in CSV joined by ';' */
    REPORT_TEXT,   /* a char array: a JSON string, a CSV field             */
    REPORT_CLOCK,  /* a lat_clock_kind_t: its name (latency.h)              */
    REPORT_COUNTS, /* a cg_counts_t: one value per callgrind event, named
                      as callgrind names them (callgrind.h)                */
    REPORT_LATENCY /* lat_summary_t[LAT_NSUMMARIES]: an object per
                      operation (count, the quantiles, max); in CSV a
                      column per operation and figure                     */
} report_kind_t;

/* Whether a run has a measure's figures: when it has not, its group is
 * left out of the JSON and its CSV fields are empty. */
static int report_has_latency(const driver_run_t *r)
{
    return r->lat != NULL;
}
static int report_has_counts(const driver_run_t *r)
{
    return r->has_counts;
}

/* The numeric figures of a run; consecutive entries of one group nest in
 * an object named after it. */
typedef struct {
    const char *group; /* NULL: at the run's top level */
    const char *key;
    report_kind_t kind;
    size_t offset;                           /* in driver_run_t            */
    int (*present)(const driver_run_t *run); /* NULL: always              */
} report_field_t;

#define REPORT_AT(field) offsetof(driver_run_t, field)

static const report_field_t report_fields[] = {
    {NULL, "events", REPORT_U64, REPORT_AT(m.events), NULL},
    {NULL, "repeat", REPORT_UINT, REPORT_AT(repeat), NULL},
    {NULL, "lenient_skipped", REPORT_U64, REPORT_AT(m.skipped), NULL},
    {"ns_per_event", "min", REPORT_DOUBLE, REPORT_AT(ns_per_event.min), NULL},
    {"ns_per_event", "median", REPORT_DOUBLE, REPORT_AT(ns_per_event.median), NULL},
    {"ns_per_event", "max", REPORT_DOUBLE, REPORT_AT(ns_per_event.max), NULL},
    {"ns_per_event", "mean", REPORT_DOUBLE, REPORT_AT(ns_per_event.mean), NULL},
    {"ns_per_event", "ci_low", REPORT_DOUBLE, REPORT_AT(ns_per_event.ci_low), NULL},
    {"ns_per_event", "ci_high", REPORT_DOUBLE, REPORT_AT(ns_per_event.ci_high), NULL},
    {"ns_per_event", "ci_level", REPORT_DOUBLE, REPORT_AT(ns_per_event.ci_level), NULL},
    {"ns_per_event", "runs", REPORT_RUNS, REPORT_AT(ns_runs), NULL},
    {NULL, "timing_too_short", REPORT_BOOL, REPORT_AT(timing_too_short), NULL},
    {NULL, "threads", REPORT_U64, REPORT_AT(m.threads), NULL},
    {NULL, "ns_per_event_per_thread", REPORT_DOUBLE, REPORT_AT(ns_per_event_per_thread), NULL},
    {NULL, "events_per_s", REPORT_DOUBLE, REPORT_AT(events_per_s), NULL},
    {NULL, "cpu_ns_per_event", REPORT_DOUBLE, REPORT_AT(cpu_ns_per_event), NULL},
    {NULL, "peak_live_bytes", REPORT_U64, REPORT_AT(m.peak_live_bytes), NULL},
    {NULL, "peak_live_blocks", REPORT_U64, REPORT_AT(m.peak_live_blocks), NULL},
    {NULL, "peak_resident_bytes", REPORT_U64, REPORT_AT(m.peak_resident), NULL},
    {NULL, "peak_held_bytes", REPORT_U64, REPORT_AT(m.peak_held), NULL},
    {"frag", "jw1", REPORT_DOUBLE, REPORT_AT(m.frag.jw1), NULL},
    {"frag", "jw2", REPORT_DOUBLE, REPORT_AT(m.frag.jw2), NULL},
    {"frag", "jw3", REPORT_DOUBLE, REPORT_AT(m.frag.jw3), NULL},
    {"frag", "jw4", REPORT_DOUBLE, REPORT_AT(m.frag.jw4), NULL},
    {NULL, "util", REPORT_DOUBLE, REPORT_AT(m.frag.util), NULL},
    {NULL, "internal_frag", REPORT_DOUBLE, REPORT_AT(m.internal_frag), NULL},
    {NULL, "configuration", REPORT_TEXT, REPORT_AT(config), NULL},
    {NULL, "instructions_per_event", REPORT_DOUBLE, REPORT_AT(instructions_per_event), NULL},
    {NULL, "d1_misses_per_event", REPORT_DOUBLE, REPORT_AT(d1_misses_per_event), NULL},
    {NULL, "ll_misses_per_event", REPORT_DOUBLE, REPORT_AT(ll_misses_per_event), NULL},
    {"callgrind", "events", REPORT_U64, REPORT_AT(count_events), report_has_counts},
    {"callgrind", NULL, REPORT_COUNTS, REPORT_AT(counts), report_has_counts},
    {"callgrind", "probe_pairs", REPORT_U64, REPORT_AT(count_probes), report_has_counts},
    {"callgrind", "probe_instructions", REPORT_DOUBLE, REPORT_AT(probe_instructions),
     report_has_counts},
    {"callgrind", "wall_ns_per_event", REPORT_DOUBLE, REPORT_AT(count_ns_per_event),
     report_has_counts},
    {"latency_clock", "name", REPORT_CLOCK, REPORT_AT(clock.kind), report_has_latency},
    {"latency_clock", "ticks_per_ns", REPORT_DOUBLE, REPORT_AT(clock.ticks_per_ns),
     report_has_latency},
    {"latency_clock", "overhead_ticks", REPORT_U64, REPORT_AT(clock.overhead), report_has_latency},
    {"latency_clock", "overhead_ns", REPORT_DOUBLE, REPORT_AT(clock.overhead_ns),
     report_has_latency},
    {"latency_clock", "resolution_ns", REPORT_DOUBLE, REPORT_AT(clock.resolution_ns),
     report_has_latency},
    {"latency_ns", NULL, REPORT_LATENCY, REPORT_AT(latency), report_has_latency},
    {NULL, NULL, REPORT_U64, 0, NULL},
};

/* A table entry's key: most have one; the expanding kinds have none. */
#define REPORT_END(f) (!(f)->key && (f)->kind != REPORT_COUNTS && (f)->kind != REPORT_LATENCY)

/* The figure of a latency summary: count, the quantiles, max. */
#define REPORT_LAT_NFIGURES (LAT_NQUANTILES + 2)

static const char *report_lat_figure(int k)
{
    return k == 0 ? "count" : k <= LAT_NQUANTILES ? lat_quantiles[k - 1].name : "max";
}

static double report_lat_value(const lat_summary_t *s, int k)
{
    return k == 0 ? (double)s->count : k <= LAT_NQUANTILES ? s->q[k - 1] : s->max;
}

static void report_json_field(json_t *j, const report_field_t *f, const driver_run_t *run)
{
    const char *p = (const char *)run + f->offset;
    if (f->kind == REPORT_COUNTS) {
        for (int e = 0; e < CG_NEVENTS; e++)
            json_kv_uint(j, cg_event_name[e], ((const cg_counts_t *)p)->v[e]);
        return;
    }
    if (f->kind == REPORT_LATENCY) {
        const lat_summary_t *s = (const lat_summary_t *)p;
        for (int op = 0; op < LAT_NSUMMARIES; op++) {
            if (!s[op].count) continue;
            json_key(j, lat_op_name[op]);
            json_object_begin(j);
            json_kv_uint(j, "count", s[op].count);
            for (int k = 1; k < REPORT_LAT_NFIGURES; k++)
                json_kv_double(j, report_lat_figure(k), report_lat_value(&s[op], k));
            json_object_end(j);
        }
        return;
    }
    json_key(j, f->key);
    switch (f->kind) {
    case REPORT_U64:
        json_uint(j, *(const uint64_t *)p);
        break;
    case REPORT_UINT:
        json_uint(j, *(const unsigned *)p);
        break;
    case REPORT_DOUBLE:
        json_double(j, *(const double *)p);
        break;
    case REPORT_BOOL:
        json_bool(j, *(const int *)p);
        break;
    case REPORT_RUNS:
        json_array_begin(j);
        for (unsigned i = 0; i < run->repeat; i++)
            json_double(j, (*(double *const *)p)[i]);
        json_array_end(j);
        break;
    case REPORT_TEXT:
        json_string(j, p);
        break;
    case REPORT_CLOCK:
        json_string(j, lat_clock_name[*(const lat_clock_kind_t *)p]);
        break;
    default: /* expanded above */
        break;
    }
}

/* "params": the key=value pairs of SPEC, in the order given. */
static void report_json_params(json_t *j, const char *spec)
{
    alloc_spec_t s;
    char err[256];
    json_key(j, "params");
    json_object_begin(j);
    if (alloc_spec_parse(&s, spec, err, sizeof err) == 0)
        for (size_t i = 0; i < s.nparams; i++)
            json_kv_string(j, s.params[i].key, s.params[i].value);
    json_object_end(j);
}

static void report_json_run(json_t *j, const driver_run_t *run)
{
    json_object_begin(j);
    json_kv_string(j, "trace", run->trace);
    json_kv_string(j, "allocator", run->allocator);
    report_json_params(j, run->route->spec[TRACE_MEM]);
    json_key(j, "route");
    json_object_begin(j);
    for (int d = 0; d < TRACE_NDOMAINS; d++)
        json_kv_string(j, trace_domain_name[d], run->route->spec[d]);
    json_object_end(j);
    const char *group = NULL;
    for (const report_field_t *f = report_fields; !REPORT_END(f); f++) {
        if (f->present && !f->present(run)) continue;
        if (group && (!f->group || strcmp(group, f->group) != 0)) {
            json_object_end(j);
            group = NULL;
        }
        if (f->group && !group) {
            group = f->group;
            json_key(j, group);
            json_object_begin(j);
        }
        report_json_field(j, f, run);
    }
    if (group) json_object_end(j);
    if (run->same_as[0]) json_kv_string(j, "same_as", run->same_as);
    json_object_end(j);
}

void output_json(FILE *out, const driver_run_t *runs, size_t n, const output_settings_t *s)
{
    json_t j;
    json_init(&j, out);
    json_object_begin(&j);
    json_kv_string(&j, "arenalab", ARENALAB_VERSION);
    json_kv_string(&j, "command", "replay");
    json_kv_uint(&j, "repeat", s->repeat);
    json_kv_uint(&j, "seed", s->seed);
    json_kv_uint(&j, "warmup_runs", 1);
    json_kv_double(&j, "ci_target", TIMING_CI_TARGET);
    json_kv_uint(&j, "timing_min_events", TIMING_MIN_EVENTS);
    json_kv_uint(&j, "samples", s->samples);
    json_kv_string(&j, "arena_mode", s->arena_mode);
    json_kv_string(&j, "touch", s->touch ? s->touch : "page");
    json_key(&j, "verify");
    json_bool(&j, s->verify);
    json_key(&j, "lenient");
    json_bool(&j, s->lenient);
    char measure[64];
    unsigned m = s->measure ? s->measure : DRIVER_MEASURE_TIME;
    json_kv_string(&j, "measure", driver_measure_text(m, measure, sizeof measure));
    if (m & DRIVER_MEASURE_INSTRUCTIONS) {
        /* what the counts mean: the simulated caches, the probes' cost */
        json_key(&j, "callgrind");
        json_object_begin(&j);
        json_kv_string(&j, "I1", CG_I1);
        json_kv_string(&j, "D1", CG_D1);
        json_kv_string(&j, "LL", CG_LL);
        json_kv_string(&j, "counted",
                       "each event's allocator call and payload touches; the cost of the "
                       "collection toggles (probe_instructions per pair) taken off");
        json_object_end(&j);
    }
    if (m & DRIVER_MEASURE_LATENCY) {
        json_key(&j, "latency");
        json_object_begin(&j);
        unsigned every = s->latency_every ? s->latency_every : LAT_EVERY_DEFAULT;
        json_kv_uint(&j, "sample_every", every);
        json_kv_string(&j, "timed",
                       every == 1 ? "every allocator call of every timed run"
                                  : "one allocator call in about sample_every of every timed "
                                    "run, pseudo-random gaps from a fixed seed (the same calls "
                                    "every run)");
        json_kv_double(&j, "bucket_error", 1.0 / LAT_SUB);
        json_kv_string(&j, "quantile",
                       "nearest rank, reported as its bucket's highest value (at most "
                       "bucket_error above), clock overhead subtracted");
        json_object_end(&j);
    }
    json_key(&j, "runs");
    json_array_begin(&j);
    for (size_t i = 0; i < n; i++)
        report_json_run(&j, &runs[i]);
    json_array_end(&j);
    json_object_end(&j);
}

/* ---- runs CSV: the JSON's figures, one column each ---------------------- */

/* A CSV field, quoted when it holds a separator, quote or newline. */
static void report_csv_text(FILE *out, const char *s);

void output_csv_header(FILE *out)
{
    fputs("trace,allocator", out);
    for (const report_field_t *f = report_fields; !REPORT_END(f); f++) {
        if (f->kind == REPORT_COUNTS) {
            for (int e = 0; e < CG_NEVENTS; e++)
                fprintf(out, ",%s_%s", f->group, cg_event_name[e]);
        } else if (f->kind == REPORT_LATENCY) {
            for (int op = 0; op < LAT_NSUMMARIES; op++)
                for (int k = 0; k < REPORT_LAT_NFIGURES; k++)
                    fprintf(out, ",%s_%s_%s", f->group, lat_op_name[op], report_lat_figure(k));
        } else {
            fprintf(out, f->group ? ",%s_%s" : ",%s", f->group ? f->group : f->key, f->key);
        }
    }
    fputc('\n', out);
}

/* A double as the JSON writes it; nothing for NaN. */
static void report_csv_double(FILE *out, double v)
{
    if (!isnan(v) && !isinf(v)) fprintf(out, "%.6f", v); /* as json_double */
}

void output_csv_row(FILE *out, const driver_run_t *run)
{
    report_csv_text(out, run->trace);
    fputc(',', out);
    report_csv_text(out, run->allocator);
    for (const report_field_t *f = report_fields; !REPORT_END(f); f++) {
        const char *p = (const char *)run + f->offset;
        int present = !f->present || f->present(run);
        if (f->kind == REPORT_COUNTS) {
            for (int e = 0; e < CG_NEVENTS; e++)
                if (present)
                    fprintf(out, ",%" PRIu64, ((const cg_counts_t *)p)->v[e]);
                else
                    fputc(',', out);
            continue;
        }
        if (f->kind == REPORT_LATENCY) {
            const lat_summary_t *s = (const lat_summary_t *)p;
            for (int op = 0; op < LAT_NSUMMARIES; op++)
                for (int k = 0; k < REPORT_LAT_NFIGURES; k++) {
                    fputc(',', out);
                    if (!present || !s[op].count) continue;
                    if (k == 0)
                        fprintf(out, "%" PRIu64, s[op].count);
                    else
                        report_csv_double(out, report_lat_value(&s[op], k));
                }
            continue;
        }
        fputc(',', out);
        if (!present) continue;
        switch (f->kind) {
        case REPORT_U64:
            fprintf(out, "%" PRIu64, *(const uint64_t *)p);
            break;
        case REPORT_UINT:
            fprintf(out, "%u", *(const unsigned *)p);
            break;
        case REPORT_DOUBLE:
            report_csv_double(out, *(const double *)p);
            break;
        case REPORT_BOOL:
            fputs(*(const int *)p ? "true" : "false", out);
            break;
        case REPORT_RUNS:
            for (unsigned i = 0; i < run->repeat; i++) {
                double v = (*(double *const *)p)[i];
                if (i) fputc(';', out);
                if (!isnan(v) && !isinf(v)) fprintf(out, "%.6f", v);
            }
            break;
        case REPORT_TEXT:
            report_csv_text(out, p);
            break;
        case REPORT_CLOCK:
            fputs(lat_clock_name[*(const lat_clock_kind_t *)p], out);
            break;
        default: /* expanded above */
            break;
        }
    }
    fputc('\n', out);
}

/* ---- the human table ---------------------------------------------------- */

const char *output_bytes(uint64_t v, char *buf, size_t len)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    if (v < 1024) {
        snprintf(buf, len, "%" PRIu64 " B", v);
        return buf;
    }
    double x = (double)v;
    int u = 0;
    while (x >= 1024 && u < 4) {
        x /= 1024;
        u++;
    }
    snprintf(buf, len, "%.1f %s", x, unit[u]);
    return buf;
}

static void report_ratio(double v, char *buf, size_t len)
{
    if (isnan(v) || isinf(v))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.3f", v);
}

static void report_col_trace(const driver_run_t *r, char *b, size_t n)
{
    snprintf(b, n, "%s", r->trace);
}
static void report_col_alloc(const driver_run_t *r, char *b, size_t n)
{
    if (r->same_as[0])
        snprintf(b, n, "%s (= %s)", r->allocator, r->same_as);
    else
        snprintf(b, n, "%s", r->allocator);
}
static void report_col_events(const driver_run_t *r, char *b, size_t n)
{
    snprintf(b, n, "%" PRIu64, r->m.events);
}
static void report_col_ns(const driver_run_t *r, char *b, size_t n)
{
    const timing_summary_t *s = &r->ns_per_event;
    if (r->repeat == 0 || isnan(s->median))
        snprintf(b, n, "-");
    else
        snprintf(b, n, "%.1f [%.1f-%.1f]%s", s->median, s->ci_low, s->ci_high,
                 r->timing_too_short ? " too short" : "");
}
static void report_col_threads(const driver_run_t *r, char *b, size_t n)
{
    snprintf(b, n, "%" PRIu64, r->m.threads);
}
/* The column only when some row ran on several threads. */
static int report_has_threads(const driver_run_t *r)
{
    return r->m.threads > 1;
}
static void report_col_live(const driver_run_t *r, char *b, size_t n)
{
    output_bytes(r->m.peak_live_bytes, b, n);
}
static void report_col_resident(const driver_run_t *r, char *b, size_t n)
{
    output_bytes(r->m.peak_resident, b, n);
}
static void report_col_held(const driver_run_t *r, char *b, size_t n)
{
    output_bytes(r->m.peak_held, b, n);
}
static void report_col_jw4(const driver_run_t *r, char *b, size_t n)
{
    report_ratio(r->m.frag.jw4, b, n);
}
static void report_col_util(const driver_run_t *r, char *b, size_t n)
{
    report_ratio(r->m.frag.util, b, n);
}

static void report_col_counts(const driver_run_t *r, char *b, size_t n)
{
    if (!r->has_counts)
        snprintf(b, n, "-");
    else
        snprintf(b, n, "%.1f / %.3f / %.3f", r->instructions_per_event, r->d1_misses_per_event,
                 r->ll_misses_per_event);
}
static void report_col_latency(const driver_run_t *r, char *b, size_t n)
{
    const lat_summary_t *s = &r->latency[LAT_ALL];
    if (!r->lat || !s->count)
        snprintf(b, n, "-");
    else /* p50, p99 (lat_quantiles[0], [2]) and max */
        snprintf(b, n, "%.0f / %.0f / %.0f", s->q[0], s->q[2], s->max);
}

typedef struct {
    const char *head;
    int left; /* left-aligned (text) rather than right-aligned (numbers) */
    void (*fmt)(const driver_run_t *r, char *buf, size_t len);
    int (*present)(const driver_run_t *r); /* shown when a row has it; NULL: always */
} report_col_t;

static const report_col_t report_cols[] = {
    {"trace", 1, report_col_trace, NULL},
    {"allocator", 1, report_col_alloc, NULL},
    {"events", 0, report_col_events, NULL},
    {"threads", 0, report_col_threads, report_has_threads},
    {"ns/event [CI]", 0, report_col_ns, NULL},
    {"peak live", 0, report_col_live, NULL},
    {"peak resident", 0, report_col_resident, NULL},
    {"peak held", 0, report_col_held, NULL},
    {"jw4", 0, report_col_jw4, NULL},
    {"util", 0, report_col_util, NULL},
    {"instr / D1 / LL miss per event", 0, report_col_counts, report_has_counts},
    {"latency p50 / p99 / max ns", 0, report_col_latency, report_has_latency},
};

#define REPORT_NCOLS (sizeof report_cols / sizeof report_cols[0])

static void report_row(FILE *out, const int *width, const char (*cell)[256])
{
    for (size_t c = 0; c < REPORT_NCOLS; c++)
        if (width[c] >= 0)
            fprintf(out, "%s%*s", c ? "  " : "", report_cols[c].left ? -width[c] : width[c],
                    cell[c]);
    fputc('\n', out);
}

const char output_memory_legend[] =
    "peak live: the highest sum of live requested bytes; peak resident: the memory figure, one "
    "definition for every allocator: the worker's highest anonymous resident memory above its "
    "baseline; peak held: the allocator's own figure (pymalloc's arenas, jemalloc's "
    "stats.resident, ...), never used for verdicts; jw4 = peak resident / peak live - 1; "
    "util = peak live / peak resident";

/* What the timing column means, under the table: the interval's level
 * (the lowest of the rows: it depends on how many runs each had), and
 * the flags used. */
static void report_notes(FILE *out, const driver_run_t *runs, size_t n)
{
    double level = 1;
    unsigned most = 0;
    int short_ = 0, same = 0;
    for (size_t i = 0; i < n; i++) {
        if (runs[i].repeat && runs[i].ns_per_event.ci_level < level)
            level = runs[i].ns_per_event.ci_level;
        if (runs[i].repeat > most) most = runs[i].repeat;
        short_ |= runs[i].timing_too_short && runs[i].repeat;
        same |= runs[i].same_as[0] != 0;
    }
    if (most)
        fprintf(out,
                "ns/event: median of the timed runs, interleaved across allocators; [CI]: "
                "interval holding the true median with %.1f %% confidence%s\n",
                100 * level,
                level < TIMING_CI_TARGET ? " (too few runs for 95 %: --repeat 6)" : "");
    fprintf(out, "%s\n", output_memory_legend);
    if (short_)
        fprintf(out, "too short: fewer than %d events, too short to time\n", TIMING_MIN_EVENTS);
    if (same) fputs("(= A): the same configuration as A, run once: the same figures\n", out);
    for (size_t i = 0; i < n; i++)
        if (runs[i].m.threads > 1) {
            fputs("threads: the OS threads the trace's threads ran on (1: serialized, as the "
                  "models always are); ns/event is then the wall time over all events\n",
                  out);
            break;
        }
    for (size_t i = 0; i < n; i++)
        if (runs[i].has_counts) {
            fputs("instr / D1 / LL miss per event: counted under callgrind in the allocator's "
                  "calls and the blocks' touches, exact (simulated caches: D1 32 KiB, LL 8 "
                  "MiB)\n",
                  out);
            break;
        }
    for (size_t i = 0; i < n; i++)
        if (runs[i].lat) {
            fprintf(out,
                    "latency: allocator calls of the timed runs (a sample: count per "
                    "operation in the JSON), clock %s (overhead %.1f ns subtracted, resolution "
                    "%.2f ns); ns/event includes the clock readings\n",
                    lat_clock_name[runs[i].clock.kind], runs[i].clock.overhead_ns,
                    runs[i].clock.resolution_ns);
            break;
        }
}

void output_table(FILE *out, const driver_run_t *runs, size_t n)
{
    int width[REPORT_NCOLS];
    char cell[REPORT_NCOLS][256];
    for (size_t c = 0; c < REPORT_NCOLS; c++) {
        int shown = !report_cols[c].present;
        for (size_t i = 0; i < n && !shown; i++)
            shown = report_cols[c].present(&runs[i]);
        width[c] = shown ? (int)strlen(report_cols[c].head) : -1; /* -1: left out */
    }
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < REPORT_NCOLS; c++) {
            report_cols[c].fmt(&runs[i], cell[c], sizeof cell[c]);
            int w = (int)strlen(cell[c]);
            if (width[c] >= 0 && w > width[c]) width[c] = w;
        }
    for (size_t c = 0; c < REPORT_NCOLS; c++)
        snprintf(cell[c], sizeof cell[c], "%s", report_cols[c].head);
    report_row(out, width, cell);
    for (size_t i = 0; i < n; i++) {
        for (size_t c = 0; c < REPORT_NCOLS; c++)
            report_cols[c].fmt(&runs[i], cell[c], sizeof cell[c]);
        report_row(out, width, cell);
    }
    report_notes(out, runs, n);
}

/* ---- series CSV --------------------------------------------------------- */

/* A CSV field, quoted when it holds a separator, quote or newline. */
static void report_csv_text(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"') fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

void output_series(FILE *out, const driver_run_t *runs, size_t n)
{
    /* The union of extra names, in order of first appearance. */
    enum { REPORT_MAX_UNION = 64 };
    const char *names[REPORT_MAX_UNION];
    int nnames = 0;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < runs[i].series.nextra; j++) {
            const char *name = runs[i].series.extra_name[j];
            int seen = 0;
            for (int k = 0; k < nnames; k++)
                seen |= strcmp(names[k], name) == 0;
            if (!seen && nnames < REPORT_MAX_UNION) names[nnames++] = name;
        }
    fputs("trace,allocator", out);
    for (int f = 0; f < METRICS_NFIELDS; f++)
        fprintf(out, ",%s", metrics_sample_column[f]);
    for (int k = 0; k < nnames; k++)
        fprintf(out, ",extra_%s", names[k]);
    fputc('\n', out);
    for (size_t i = 0; i < n; i++) {
        const metrics_series_t *ser = &runs[i].series;
        int col[REPORT_MAX_UNION]; /* union column -> the run's extra index */
        for (int k = 0; k < nnames; k++) {
            col[k] = -1;
            for (int j = 0; j < ser->nextra; j++)
                if (strcmp(ser->extra_name[j], names[k]) == 0) col[k] = j;
        }
        for (size_t s = 0; s < ser->n; s++) {
            report_csv_text(out, runs[i].trace);
            fputc(',', out);
            report_csv_text(out, runs[i].allocator);
            for (int f = 0; f < METRICS_NFIELDS; f++)
                fprintf(out, ",%" PRIu64,
                        *(const uint64_t *)((const char *)&ser->s[s] + metrics_sample_offset[f]));
            for (int k = 0; k < nnames; k++) {
                uint64_t v = col[k] < 0 ? METRICS_ABSENT
                                        : ser->extra[s * METRICS_MAX_EXTRA + (size_t)col[k]];
                if (v == METRICS_ABSENT)
                    fputc(',', out);
                else
                    fprintf(out, ",%" PRIu64, v);
            }
            fputc('\n', out);
        }
    }
}
