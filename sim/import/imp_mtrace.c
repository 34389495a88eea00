/* imp_mtrace.c: glibc's mtrace log (MALLOC_TRACE=FILE, and since glibc
 * 2.34 LD_PRELOAD=libc_malloc_debug.so.0 with the program calling
 * mtrace()), the file the `mtrace` script reads.  Lines:
 *
 *   = Start | = End                  the log's ends (skipped)
 *   + PTR SIZE                       malloc, calloc, memalign & co.
 *   - PTR                            free (also a realloc(p, 0) that freed p)
 *   < OLD  then  > NEW SIZE          realloc(OLD, SIZE) == NEW (two lines,
 *                                    written under one lock)
 *   ! OLD SIZE                       a failed realloc (skipped)
 *
 * each optionally after a caller, "@ FILE:(SYMBOL+OFF)[ADDR] " or
 * "@ [ADDR] "; PTR is 0x... or "(nil)" (a failed call), SIZE 0x... (or
 * decimal, as very old versions wrote).
 *
 * Order.  glibc writes a free *after* the real free and a realloc after the
 * real realloc, so another thread can get the address back from malloc and
 * log its `+` first: the sink holds such an allocation until the late free
 * (an inversion, counted).  No thread ids are written: everything is
 * thread 0. */
#include <string.h>

#include "sim/import/internal/imp_impl.h"

/* A pointer field at *P: 0x... or (nil).  0 or an error. */
static int mt_ptr(imp_ctx_t *c, const char **p, uint64_t *v)
{
    if (!strncmp(*p, "(nil)", 5)) {
        *p += 5;
        *v = 0;
        return 0;
    }
    if ((*p)[0] != '0' || ((*p)[1] != 'x' && (*p)[1] != 'X') || imp_hex(p, v, 1) < 0)
        return imp_fail(c, IMP_EINPUT, "want a pointer (0x... or (nil))");
    return 0;
}

/* A size field: 0x... (hex) or decimal. */
static int mt_size(imp_ctx_t *c, const char **p, uint64_t *v)
{
    int bad =
        ((*p)[0] == '0' && ((*p)[1] == 'x' || (*p)[1] == 'X')) ? imp_hex(p, v, 1) : imp_dec(p, v);
    return bad < 0 ? imp_fail(c, IMP_EINPUT, "want a size (0x... or decimal)") : 0;
}

/* The operation part of LINE (after a caller prefix), or NULL. */
static const char *mt_op(const char *line)
{
    if (line[0] != '@') return line;
    const char *last = NULL;
    for (const char *p = line; (p = strstr(p, "] ")) != NULL; p += 2)
        last = p;
    return last ? last + 2 : NULL;
}

/* " PTR" (and " SIZE" when SIZE is not NULL) then the end of the line. */
static int mt_args(imp_ctx_t *c, const char *p, uint64_t *ptr, uint64_t *size)
{
    int rc;
    if (*p++ != ' ') return imp_fail(c, IMP_EINPUT, "want a blank after the operation");
    if ((rc = mt_ptr(c, &p, ptr)) < 0) return rc;
    if (size) {
        if (*p++ != ' ') return imp_fail(c, IMP_EINPUT, "want a size after the pointer");
        if ((rc = mt_size(c, &p, size)) < 0) return rc;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    return *p ? imp_fail(c, IMP_EINPUT, "unexpected '%s' at the end of the line", p) : 0;
}

static int mt_parse(imp_ctx_t *c)
{
    imp_sink_t *s = &c->sink;
    char *line;
    size_t len;
    int rc;
    uint64_t ptr, size, old = 0;
    int in_realloc = 0; /* a `<` waits for its `>` */
    while ((rc = imp_src_line(&c->src, &line, &len, c->err, sizeof c->err)) == 1) {
        if (len == 0) continue;
        const char *op = mt_op(line);
        if (!op) return imp_fail(c, IMP_EINPUT, "a caller '@ ...' without its '[ADDR] '");
        if (in_realloc && op[0] != '>')
            return imp_fail(c, IMP_EINPUT, "a '<' line not followed by its '>' line");
        if (op[0] == '=') continue;
        if ((rc = imp_tick(s)) < 0) return rc;
        switch (op[0]) {
        case '+':
            if ((rc = mt_args(c, op + 1, &ptr, &size)) < 0) return rc;
            rc = imp_alloc(s, 0, ptr, TRACE_ALLOC, size, 0, 0);
            break;
        case '-':
            if ((rc = mt_args(c, op + 1, &ptr, NULL)) < 0) return rc;
            rc = imp_free(s, 0, ptr);
            break;
        case '<':
            if ((rc = mt_args(c, op + 1, &old, NULL)) < 0) return rc;
            in_realloc = 1;
            break;
        case '>':
            if (!in_realloc) return imp_fail(c, IMP_EINPUT, "a '>' line without its '<' line");
            in_realloc = 0;
            if ((rc = mt_args(c, op + 1, &ptr, &size)) < 0) return rc;
            rc = imp_realloc(s, 0, old, ptr, size);
            break;
        case '!':
            if ((rc = mt_args(c, op + 1, &ptr, &size)) < 0) return rc;
            s->sum.failed++;
            break;
        default:
            return imp_fail(c, IMP_EINPUT, "not an mtrace line (want = + - < > or !)");
        }
        if (rc < 0) return rc;
    }
    if (rc < 0) return rc;
    if (in_realloc) return imp_fail(c, IMP_EINPUT, "the log ends after a '<' line");
    return 0;
}

const imp_format_t imp_mtrace = {
    .name = "mtrace",
    .summary = "glibc's mtrace log (MALLOC_TRACE with libc_malloc_debug.so.0)",
    .loses = "calloc and the aligned allocations (written as malloc, without alignment), "
             "threads, time; frees logged after the real free (inversions, repaired)",
    .parse = mt_parse,
};
