/* pools.c: pymalloc's pool table at a trace's peak (see pools.h). */
#include "sim/report/pools.h"
#include "sim/replay/replay.h"
#include "sim/trace/trace.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int pools_parse(const char *text, pools_t *out)
{
    out->n = 0;
    /* The table starts after the dashes under "class   size   num pools". */
    const char *p = strstr(text, "\n-----");
    if (!p) return -1;
    p = strchr(p + 1, '\n');
    while (p && *++p) {
        unsigned cls, size;
        unsigned long long pools, blocks, avail;
        if (sscanf(p, "%u %u %llu %llu %llu", &cls, &size, &pools, &blocks, &avail) != 5) break;
        if (out->n < POOLS_MAX_CLASSES)
            out->c[out->n++] = (pools_class_t){cls, size, pools, blocks, avail};
        p = strchr(p, '\n');
    }
    return 0;
}

/* Copies the first UPTO events of TRACE into TMP (binary). */
static int pools_prefix(const char *trace, uint64_t upto, const char *tmp, uint64_t *copied,
                        char *err, size_t errlen)
{
    trace_reader_t *r;
    if (trace_open(&r, trace, err, errlen) < 0) return -1;
    trace_writer_t *w;
    if (trace_writer_open(&w, tmp, TRACE_FMT_BIN, NULL, 0, err, errlen) < 0) {
        trace_close(r);
        return -1;
    }
    trace_event_t ev;
    int rc = 0;
    uint64_t n = 0;
    while (n < upto && (rc = trace_next(r, &ev)) == 1) {
        if (trace_write(w, &ev) < 0) {
            snprintf(err, errlen, "%s", trace_writer_error(w));
            rc = -1;
            break;
        }
        n++;
    }
    if (rc < 0) {
        if (rc != -1) snprintf(err, errlen, "%s", trace_error(r));
        trace_writer_abort(w);
        trace_close(r);
        return -1;
    }
    trace_close(r);
    *copied = n;
    return trace_writer_close_err(w, err, errlen) < 0 ? -1 : 0;
}

int pools_at_peak(const char *trace, uint64_t upto, const char *spec, const char *tmp, pools_t *out,
                  char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (pools_prefix(trace, upto, tmp, &out->events, err, errlen)) return -1;
    trace_reader_t *r;
    int rc = trace_open(&r, tmp, err, errlen) < 0 ? -1 : 0;
    char *text = NULL;
    size_t len = 0;
    if (rc == 0) {
        replay_scan_t scan;
        route_t route;
        route_uniform(&route, spec);
        replay_result_t res;
        metrics_series_t ser;
        memset(&ser, 0, sizeof ser);
        FILE *mem = open_memstream(&text, &len);
        replay_opts_t o = {.nsamples = 1, .mallocstats = mem, .label = spec};
        if (!mem) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        } else if (replay_scan(r, 0, &scan, err, errlen) ||
                   replay_run(r, &route, &scan, &o, &res, &ser, err, errlen)) {
            rc = -1;
        }
        metrics_series_free(&ser);
        if (mem) fclose(mem);
        trace_close(r);
    }
    unlink(tmp);
    if (rc == 0 && (!text || pools_parse(text, out))) {
        snprintf(err, errlen, "%s: %s printed no pool table", trace, spec);
        rc = -1;
    }
    free(text);
    return rc;
}
