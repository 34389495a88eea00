/* trace_formats.c: the list of trace formats trace.c knows, indexed by
 * trace_format_t (internal/trace_impl.h says what a format provides).
 *
 * Invariant: _trace_formats[f]->fmt == f for every f; exactly one format
 * (text) has no sniff and is the fallback for input and for file names
 * whose ending no format claims.  The only file that names every format:
 * trace.c depends on this table, the formats on trace.c's helpers. */
#include "sim/trace/internal/trace_impl.h"

const trace_fmt_ops_t *const _trace_formats[TRACE_NFORMATS] = {
    [TRACE_FMT_TEXT] = &_trace_text_ops,
    [TRACE_FMT_BIN] = &_trace_bin2_ops,
    [TRACE_FMT_BIN1] = &_trace_bin_ops,
};
