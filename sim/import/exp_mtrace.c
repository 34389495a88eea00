/* exp_mtrace.c: a trace of ours as a glibc mtrace log, which glibc's
 * `mtrace` script (and whatever reads MALLOC_TRACE files) takes, and our
 * own `import mtrace` reads back with the same events (calloc as malloc).
 *
 * Addresses are made up from slots: a live block's slot is unique among
 * live blocks and kept by realloc, so 0x10000 + 16 * slot is a valid
 * address history (reused after a free, as malloc reuses).  Arena events
 * have no mtrace form: `n` and `m` are left out (counted), and the blocks
 * an `x` frees become frees.
 *
 * Also the shared exporter entry point, imp_export. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sim/base/outfile.h"
#include "sim/import/internal/imp_impl.h"

#define EXP_BASE 0x10000u

static uint64_t exp_addr(uint32_t slot)
{
    return EXP_BASE + (uint64_t)slot * 16;
}

static int exp_mtrace_write(trace_reader_t *r, FILE *out, uint64_t *nevents, char *note,
                            size_t notelen)
{
    trace_event_t ev;
    int rc;
    uint64_t skipped = 0;
    *nevents = 0;
    fputs("= Start\n", out);
    while ((rc = trace_next(r, &ev)) == 1) {
        ++*nevents;
        switch (ev.op) {
        case TRACE_ALLOC:
            fprintf(out, "+ %#" PRIx64 " %#" PRIx64 "\n", exp_addr(ev.slot), ev.size);
            break;
        case TRACE_CALLOC: {
            uint64_t bytes;
            if (__builtin_mul_overflow(ev.size, ev.nmemb, &bytes)) {
                snprintf(note, notelen, "%s: event %" PRIu64 ": calloc of more than 2^64 bytes",
                         trace_path(r), *nevents - 1);
                return IMP_EINPUT;
            }
            fprintf(out, "+ %#" PRIx64 " %#" PRIx64 "\n", exp_addr(ev.slot), bytes);
            break;
        }
        case TRACE_REALLOC:
            fprintf(out, "< %#" PRIx64 "\n> %#" PRIx64 " %#" PRIx64 "\n", exp_addr(ev.slot),
                    exp_addr(ev.slot), ev.size);
            break;
        case TRACE_FREE:
            fprintf(out, "- %#" PRIx64 "\n", exp_addr(ev.slot));
            break;
        case TRACE_ARENA_FREE: {
            const uint32_t *slots;
            size_t n = trace_owned(r, ev.aslot, &slots);
            for (size_t i = 0; i < n; i++)
                fprintf(out, "- %#" PRIx64 "\n", exp_addr(slots[i]));
            break;
        }
        default:
            skipped++;
        }
    }
    if (rc < 0) {
        snprintf(note, notelen, "%s", trace_error(r));
        return IMP_EINPUT;
    }
    fputs("= End\n", out);
    if (skipped)
        snprintf(note, notelen, "%" PRIu64 " arena events (n, m, o) have no mtrace form: left out",
                 skipped);
    return 0;
}

const imp_export_t imp_export_mtrace = {
    .name = "mtrace",
    .summary = "glibc's mtrace log, for the mtrace script",
    .loses = "calloc (written as malloc), domains, threads, markers, arena events (the blocks "
             "an arena frees become frees); addresses are made up",
    .write = exp_mtrace_write,
};

int imp_export(const imp_export_t *x, const char *in, const char *out, uint64_t *nevents,
               char *note, size_t notelen)
{
    trace_reader_t *r;
    *nevents = 0;
    if (trace_open(&r, in, note, notelen) < 0) return IMP_EINPUT;
    outfile_t o;
    if (outfile_open(&o, out, "w", note, notelen) < 0) {
        trace_close(r);
        return IMP_EINPUT;
    }
    char msg[IMP_ERRLEN] = "";
    int rc = x->write(r, o.fp, nevents, msg, sizeof msg);
    trace_close(r);
    if (rc < 0) {
        outfile_abort(&o);
        snprintf(note, notelen, "%s", msg);
        return rc;
    }
    if (outfile_commit(&o, note, notelen) < 0) return IMP_EINPUT;
    snprintf(note, notelen, "%s", msg);
    return 0;
}
