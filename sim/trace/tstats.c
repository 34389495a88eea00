/* tstats.c: trace statistics, event by event (see tstats.h). */
#include "sim/trace/tstats.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Names of the ops in tables and JSON, indexed by trace_op_t. */
static const char *const tstats_op_name[TRACE_NOPS] = {
    "alloc", "calloc", "realloc", "free", "arena_new", "arena_malloc", "arena_own", "arena_free",
};

/* The scalar figures, in output order: one line each in the table and one
 * member each in JSON. */
static const struct {
    const char *key;   /* JSON member                                  */
    const char *label; /* table row                                    */
    size_t off;        /* uint64_t field of tstats_t                   */
} tstats_scalars[] = {
    {"events", "events", offsetof(tstats_t, events)},
    {"peak_live_bytes", "peak live bytes", offsetof(tstats_t, peak_bytes)},
    {"peak_live_bytes_event", "  at event", offsetof(tstats_t, peak_bytes_at)},
    {"peak_live_blocks", "peak live blocks", offsetof(tstats_t, peak_blocks)},
    {"peak_live_blocks_event", "  at event", offsetof(tstats_t, peak_blocks_at)},
    {"requested_bytes", "bytes requested", offsetof(tstats_t, requested)},
    {"still_live", "blocks live at the end", offsetof(tstats_t, still_live)},
};

static const struct {
    const char *key, *label;
    size_t off;
} tstats_realloc[] = {
    {"growing", "growing", offsetof(tstats_t, re_grow)},
    {"shrinking", "shrinking", offsetof(tstats_t, re_shrink)},
    {"same", "same size", offsetof(tstats_t, re_same)},
    {"bytes_grown", "bytes grown", offsetof(tstats_t, bytes_grown)},
    {"bytes_shrunk", "bytes shrunk", offsetof(tstats_t, bytes_shrunk)},
};

static uint64_t tstats_field(const tstats_t *t, size_t off)
{
    uint64_t v;
    memcpy(&v, (const char *)t + off, sizeof v);
    return v;
}

void tstats_init(tstats_t *t)
{
    memset(t, 0, sizeof *t);
}

void tstats_free(tstats_t *t)
{
    free(t->blocks);
    free(t->arenas);
    tstats_init(t);
}

int tstats_bin(uint64_t v)
{
    return v ? 64 - __builtin_clzll(v) : 0;
}

uint64_t tstats_bin_min(int k)
{
    return k ? (uint64_t)1 << (k - 1) : 0;
}

static uint64_t tstats_sat_add(uint64_t a, uint64_t b)
{
    uint64_t s;
    return __builtin_add_overflow(a, b, &s) ? UINT64_MAX : s;
}

/* Grows *TAB to hold index I.  0 or TRACE_ENOMEM. */
static int tstats_room(void **tab, uint32_t *cap, uint32_t i, size_t elem)
{
    if (i < *cap) return 0;
    uint64_t ncap = *cap ? (uint64_t)*cap * 2 : 1024;
    if (ncap <= i) ncap = (uint64_t)i + 1;
    if (ncap > UINT32_MAX || ncap > SIZE_MAX / elem) return TRACE_ENOMEM;
    void *p = realloc(*tab, (size_t)ncap * elem);
    if (!p) return TRACE_ENOMEM;
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(ncap - *cap) * elem);
    *tab = p;
    *cap = (uint32_t)ncap;
    return 0;
}

static void tstats_request(tstats_t *t, uint64_t size)
{
    t->requested = tstats_sat_add(t->requested, size);
    t->size_hist[tstats_bin(size)]++;
}

static void tstats_release(tstats_t *t, uint32_t slot, uint64_t now)
{
    tstats_block_t *b = &t->blocks[slot];
    t->live_bytes -= b->size;
    t->live_blocks--;
    t->still_live--;
    t->life_hist[tstats_bin(now - b->birth)]++;
}

int tstats_add(tstats_t *t, const trace_event_t *ev, const uint32_t *owned, size_t nowned)
{
    uint64_t now = t->events, size = ev->size;
    tstats_block_t *b;
    tstats_arena_t *a;
    /* slots come from a reader, which checked them; this guards a caller
     * that skipped events the reader gave it */
    int names_block = ev->op == TRACE_REALLOC || ev->op == TRACE_FREE;
    int names_arena = ev->op == TRACE_ARENA_MALLOC || ev->op == TRACE_ARENA_FREE;
    if ((names_block && ev->slot >= t->bcap) || (names_arena && ev->aslot >= t->acap))
        return TRACE_EUSAGE;
    for (size_t i = 0; ev->op == TRACE_ARENA_FREE && i < nowned; i++)
        if (owned[i] >= t->bcap) return TRACE_EUSAGE;
    switch ((trace_op_t)ev->op) {
    case TRACE_CALLOC:
        /* a product past 2^64 is no allocation any process can hold */
        if (__builtin_mul_overflow(ev->nmemb, ev->size, &size)) return TRACE_ESEM;
        /* fall through */
    case TRACE_ALLOC:
        if (tstats_room((void **)&t->blocks, &t->bcap, ev->slot, sizeof *t->blocks) < 0)
            return TRACE_ENOMEM;
        t->blocks[ev->slot] = (tstats_block_t){size, now};
        t->live_bytes += size;
        t->live_blocks++;
        t->still_live++;
        tstats_request(t, size);
        break;
    case TRACE_REALLOC:
        b = &t->blocks[ev->slot];
        if (size > b->size) {
            t->re_grow++;
            t->bytes_grown = tstats_sat_add(t->bytes_grown, size - b->size);
        } else if (size < b->size) {
            t->re_shrink++;
            t->bytes_shrunk = tstats_sat_add(t->bytes_shrunk, b->size - size);
        } else {
            t->re_same++;
        }
        t->live_bytes = t->live_bytes - b->size + size;
        b->size = size;
        tstats_request(t, size);
        break;
    case TRACE_FREE:
        tstats_release(t, ev->slot, now);
        break;
    case TRACE_ARENA_NEW:
        if (tstats_room((void **)&t->arenas, &t->acap, ev->aslot, sizeof *t->arenas) < 0)
            return TRACE_ENOMEM;
        t->arenas[ev->aslot] = (tstats_arena_t){0, 0};
        break;
    case TRACE_ARENA_MALLOC:
        a = &t->arenas[ev->aslot];
        a->bytes = tstats_sat_add(a->bytes, size);
        a->chunks++;
        t->live_bytes += size;
        t->live_blocks++;
        tstats_request(t, size);
        break;
    case TRACE_ARENA_OWN:
        break;
    case TRACE_ARENA_FREE:
        for (size_t i = 0; i < nowned; i++)
            tstats_release(t, owned[i], now);
        a = &t->arenas[ev->aslot];
        t->live_bytes -= a->bytes;
        t->live_blocks -= a->chunks;
        break;
    case TRACE_NOPS:
        return 0;
    }
    t->by_op[ev->op]++;
    if (ev->op <= TRACE_FREE) t->by_domain[ev->domain]++;
    /* no process can hold 2^64 bytes: such a trace is wrong, and a figure
     * saturated there would name the wrong peak event */
    if (t->live_bytes > UINT64_MAX) return TRACE_ESEM;
    uint64_t live = (uint64_t)t->live_bytes;
    if (live > t->peak_bytes || t->events == 0) {
        t->peak_bytes = live;
        t->peak_bytes_at = now;
        t->peak_bytes_where = ev->where;
    }
    if (t->live_blocks > t->peak_blocks || t->events == 0) {
        t->peak_blocks = t->live_blocks;
        t->peak_blocks_at = now;
        t->peak_blocks_where = ev->where;
    }
    t->events++;
    return 0;
}

/* "1.5 MiB"-style companion to a byte count. */
static const char *tstats_human(char *buf, size_t n, uint64_t v)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double d = (double)v;
    int u = 0;
    while (d >= 1024 && u < 6) {
        d /= 1024;
        u++;
    }
    snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", d, unit[u]);
    return buf;
}

static void tstats_print_hist(const uint64_t *h, const char *title, const char *unit, FILE *out)
{
    uint64_t total = 0;
    for (int k = 0; k < TSTATS_BINS; k++)
        total += h[k];
    fprintf(out, "\n%s\n", title);
    if (!total) {
        fputs("  (none)\n", out);
        return;
    }
    for (int k = 0; k < TSTATS_BINS; k++) {
        if (!h[k]) continue;
        uint64_t lo = tstats_bin_min(k), hi = k == 64 ? UINT64_MAX : tstats_bin_min(k + 1) - 1;
        if (k == 0) hi = 0;
        char range[64];
        snprintf(range, sizeof range, "%" PRIu64 " .. %" PRIu64 " %s", lo, hi, unit);
        double pct = 100.0 * (double)h[k] / (double)total;
        int bar = (int)(pct / 2.5 + 0.5);
        fprintf(out, "  %-36s %12" PRIu64 " %5.1f%% %.*s\n", range, h[k], pct, bar,
                "########################################");
    }
}

void tstats_print(const tstats_t *t, const char *name, trace_format_t fmt, FILE *out)
{
    char h[32];
    fprintf(out, "trace %s (%s)\n\n", name, fmt != TRACE_FMT_TEXT ? "binary" : "text");
    for (size_t i = 0; i < sizeof tstats_scalars / sizeof tstats_scalars[0]; i++) {
        uint64_t v = tstats_field(t, tstats_scalars[i].off);
        fprintf(out, "  %-24s %14" PRIu64, tstats_scalars[i].label, v);
        if (strstr(tstats_scalars[i].key, "bytes") && !strstr(tstats_scalars[i].key, "event"))
            fprintf(out, "  (%s)", tstats_human(h, sizeof h, v));
        if (tstats_scalars[i].off == offsetof(tstats_t, peak_bytes_at) && fmt == TRACE_FMT_TEXT)
            fprintf(out, "  (line %" PRIu64 ")", t->peak_bytes_where);
        if (tstats_scalars[i].off == offsetof(tstats_t, peak_blocks_at) && fmt == TRACE_FMT_TEXT)
            fprintf(out, "  (line %" PRIu64 ")", t->peak_blocks_where);
        fputc('\n', out);
    }
    fputs("\nevents by kind\n", out);
    for (int op = 0; op < TRACE_NOPS; op++)
        fprintf(out, "  %c %-22s %14" PRIu64 "\n", trace_op_letter[op], tstats_op_name[op],
                t->by_op[op]);
    fputs("\nalloc/calloc/realloc/free events by domain\n", out);
    for (int d = 0; d < TRACE_NDOMAINS; d++)
        fprintf(out, "  %-24s %14" PRIu64 "\n", trace_domain_name[d], t->by_domain[d]);
    fputs("\nreallocs\n", out);
    for (size_t i = 0; i < sizeof tstats_realloc / sizeof tstats_realloc[0]; i++)
        fprintf(out, "  %-24s %14" PRIu64 "\n", tstats_realloc[i].label,
                tstats_field(t, tstats_realloc[i].off));
    tstats_print_hist(t->size_hist, "request sizes (a c r m)", "bytes", out);
    tstats_print_hist(t->life_hist, "block lifetimes (a/c blocks freed; in events)", "events", out);
}

static void tstats_json_hist(json_t *j, const char *key, const uint64_t *h)
{
    json_key(j, key);
    json_array_begin(j);
    for (int k = 0; k < TSTATS_BINS; k++) {
        if (!h[k]) continue;
        json_object_begin(j);
        json_kv_uint(j, "min", tstats_bin_min(k));
        json_kv_uint(j, "max", k == 0 ? 0 : k == 64 ? UINT64_MAX : tstats_bin_min(k + 1) - 1);
        json_kv_uint(j, "count", h[k]);
        json_object_end(j);
    }
    json_array_end(j);
}

void tstats_json(const tstats_t *t, json_t *j)
{
    for (size_t i = 0; i < sizeof tstats_scalars / sizeof tstats_scalars[0]; i++)
        json_kv_uint(j, tstats_scalars[i].key, tstats_field(t, tstats_scalars[i].off));
    json_kv_uint(j, "peak_live_bytes_where", t->peak_bytes_where);
    json_kv_uint(j, "peak_live_blocks_where", t->peak_blocks_where);
    json_key(j, "by_op");
    json_object_begin(j);
    for (int op = 0; op < TRACE_NOPS; op++)
        json_kv_uint(j, tstats_op_name[op], t->by_op[op]);
    json_object_end(j);
    json_key(j, "by_domain");
    json_object_begin(j);
    for (int d = 0; d < TRACE_NDOMAINS; d++)
        json_kv_uint(j, trace_domain_name[d], t->by_domain[d]);
    json_object_end(j);
    json_key(j, "realloc");
    json_object_begin(j);
    for (size_t i = 0; i < sizeof tstats_realloc / sizeof tstats_realloc[0]; i++)
        json_kv_uint(j, tstats_realloc[i].key, tstats_field(t, tstats_realloc[i].off));
    json_object_end(j);
    tstats_json_hist(j, "size_histogram", t->size_hist);
    tstats_json_hist(j, "lifetime_histogram", t->life_hist);
}
