/* imp_valgrind.c: what `valgrind --trace-malloc=yes` prints (memcheck and
 * the other tools that replace malloc), best with --log-file=FILE.
 *
 * Valgrind prints each call in pieces, on lines that start "--PID-- ": the
 * call when it starts ("malloc(100)", "realloc(0x4A42040,2000)",
 * "memalign(al 64, size 300)", "_Znwm(4)", "free(0x4A42040)") and its
 * result when it returns (" = 0x4A42040"); a call made inside another
 * shows up between them ("realloc(0x4A42040,0)free(0x4A42040)" then
 * " = 0").  So the input is read as a stream of call and result tokens, and
 * a result belongs to the most recent call still waiting for one (a small
 * stack).  Lines of other processes (another PID), valgrind's own messages
 * (==PID==, **PID**, --PID-- lines that are not calls) and the program's
 * output are skipped and counted.
 *
 * What each name means is one table (vg_calls): the C allocation functions,
 * operator new/delete and their __builtin_ forms (by prefix: _Znw/_Zna
 * allocate, _Zdl/_Zda free).  posix_memalign and aligned_alloc print no
 * result in recent valgrinds (3.19 routes both through memalign, which
 * does): their blocks are unknown, counted as orphan allocations, and
 * their frees are orphan frees.  Valgrind runs one thread at a time and
 * prints no thread ids: everything is thread 0. */
#include <stdio.h>
#include <string.h>

#include "sim/import/internal/imp_impl.h"

typedef enum {
    VG_ALLOC,    /* (N) or (size N, al A) or (al A, size N) = P      */
    VG_CALLOC,   /* (N,M) = P                                          */
    VG_REALLOC,  /* (P,N) = Q                                          */
    VG_FREE,     /* (P)                                                */
    VG_NORESULT, /* an allocation whose pointer is never printed       */
    VG_QUERY,    /* malloc_usable_size(P) = N: nothing to import       */
    VG_SKIP      /* mallinfo() and the like                           */
} vg_kind_t;

typedef struct {
    const char *name;
    int prefix; /* NAME is a prefix (C++ mangled names)                 */
    vg_kind_t kind;
} vg_call_t;

static const vg_call_t vg_calls[] = {
    {"malloc", 0, VG_ALLOC},
    {"calloc", 0, VG_CALLOC},
    {"realloc", 0, VG_REALLOC},
    {"free", 0, VG_FREE},
    {"cfree", 0, VG_FREE},
    {"memalign", 0, VG_ALLOC},
    {"valloc", 0, VG_ALLOC},
    {"posix_memalign", 0, VG_NORESULT},
    {"aligned_alloc", 0, VG_NORESULT},
    {"malloc_usable_size", 0, VG_QUERY},
    {"malloc_size", 0, VG_QUERY},
    {"mallinfo", 0, VG_SKIP},
    {"__builtin_new", 0, VG_ALLOC},
    {"__builtin_vec_new", 0, VG_ALLOC},
    {"__builtin_delete", 0, VG_FREE},
    {"__builtin_vec_delete", 0, VG_FREE},
    {"_Znw", 1, VG_ALLOC},
    {"_Zna", 1, VG_ALLOC},
    {"_Zdl", 1, VG_FREE},
    {"_Zda", 1, VG_FREE},
};

#define VG_STACK 16

/* A call waiting for its result. */
typedef struct {
    vg_kind_t kind;
    uint64_t a[3];   /* ALLOC: size, align; CALLOC: n, m; REALLOC: p, n  */
    uint64_t nested; /* an allocation made inside this call (realloc)   */
    uint64_t line;
} vg_pending_t;

typedef struct {
    imp_ctx_t *c;
    uint64_t pid; /* the process imported (the first one met)       */
    vg_pending_t stack[VG_STACK];
    int depth;
} vg_t;

static const vg_call_t *vg_lookup(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof vg_calls / sizeof vg_calls[0]; i++) {
        size_t k = strlen(vg_calls[i].name);
        if (vg_calls[i].prefix ? n >= k && !memcmp(name, vg_calls[i].name, k)
                               : n == k && !memcmp(name, vg_calls[i].name, k))
            return &vg_calls[i];
    }
    return NULL;
}

/* A number as valgrind prints it: 0x... (hex) or decimal. */
static int vg_num(const char **p, uint64_t *v)
{
    if ((*p)[0] == '0' && ((*p)[1] == 'x' || (*p)[1] == 'X')) return imp_hex(p, v, 1);
    return imp_dec(p, v);
}

/* The arguments between the parentheses at *P (past the '('): up to 3
 * numbers, each optionally labelled "al " or "size ".  The sizes go to
 * A[0], A[1] in order, except that a labelled size is A[0] and a labelled
 * alignment A[1].  0, or -1 when malformed. */
static int vg_args(const char **p, uint64_t a[3])
{
    const char *s = *p;
    int n = 0, labelled = 0;
    a[0] = a[1] = a[2] = 0;
    while (*s == ' ')
        s++;
    if (*s == ')') {
        *p = s + 1;
        return 0;
    }
    for (;;) {
        int slot = n;
        while (*s == ' ')
            s++;
        if (!strncmp(s, "al ", 3)) {
            s += 3;
            slot = 1;
            labelled = 1;
        } else if (!strncmp(s, "size ", 5)) {
            s += 5;
            slot = 0;
            labelled = 1;
        }
        uint64_t v;
        if (n == 3 || vg_num(&s, &v) < 0) return -1;
        if (labelled && slot > 2) return -1;
        a[labelled ? slot : n] = v;
        n++;
        while (*s == ' ')
            s++;
        if (*s == ')') break;
        if (*s++ != ',') return -1;
    }
    *p = s + 1;
    return 0;
}

/* A result VALUE for the most recent waiting call. */
static int vg_result(vg_t *v, uint64_t value)
{
    imp_sink_t *s = &v->c->sink;
    if (v->depth == 0) {
        s->sum.ignored_lines++; /* a result whose call we did not see */
        return 0;
    }
    vg_pending_t e = v->stack[--v->depth];
    vg_pending_t *outer = v->depth ? &v->stack[v->depth - 1] : NULL;
    switch (e.kind) {
    case VG_ALLOC:
        if (outer && outer->kind == VG_REALLOC) outer->nested = value;
        return imp_alloc(s, 0, value, TRACE_ALLOC, e.a[0], 0, e.a[1]);
    case VG_CALLOC:
        if (outer && outer->kind == VG_REALLOC) outer->nested = value;
        return imp_alloc(s, 0, value, TRACE_CALLOC, e.a[1], e.a[0], 0);
    case VG_REALLOC:
        if (value == 0) {
            /* realloc(p, 0) freed p (valgrind printed that free inside,
             * or not); with n > 0 it failed */
            if (e.a[1] == 0 && imp_is_live(s, e.a[0])) return imp_free(s, 0, e.a[0]);
            if (e.a[1] != 0) s->sum.failed++;
            return 0;
        }
        if (e.a[0] == 0 && e.nested == value)
            return 0; /* realloc(NULL, n): the malloc inside said it */
        return imp_realloc(s, 0, e.a[0], value, e.a[1]);
    default:
        return 0;
    }
}

/* A call token NAME(ARGS). */
static int vg_call(vg_t *v, const vg_call_t *k, const uint64_t a[3])
{
    imp_sink_t *s = &v->c->sink;
    int rc = imp_tick(s);
    if (rc < 0) return rc;
    switch (k->kind) {
    case VG_FREE:
        return imp_free(s, 0, a[0]);
    case VG_SKIP:
        return 0;
    case VG_NORESULT:
        s->sum.aligned++;
        return imp_repair(s, &s->sum.orphan_allocs,
                          "an allocation whose pointer valgrind does not print");
    default:
        break;
    }
    if (v->depth == VG_STACK) {
        /* results went missing (an output cut short?): forget the oldest */
        memmove(v->stack, v->stack + 1, (VG_STACK - 1) * sizeof v->stack[0]);
        v->depth--;
        s->sum.ignored_lines++;
    }
    v->stack[v->depth++] = (vg_pending_t){k->kind, {a[0], a[1], a[2]}, 0, v->c->src.line};
    return 0;
}

/* The payload of a "--PID-- " line. */
static int vg_payload(vg_t *v, const char *p)
{
    imp_sink_t *s = &v->c->sink;
    int first = 1, rc;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p) return 0;
        if (*p == '=') {
            uint64_t value;
            p++;
            while (*p == ' ')
                p++;
            if (!strncmp(p, "(nil)", 5)) {
                value = 0;
                p += 5;
            } else if (vg_num(&p, &value) < 0) {
                return imp_fail(v->c, IMP_EINPUT, "a result that is not a number");
            }
            if ((rc = vg_result(v, value)) < 0) return rc;
            first = 0;
            continue;
        }
        const char *name = p;
        while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
               *p == '_')
            p++;
        const vg_call_t *k = *p == '(' ? vg_lookup(name, (size_t)(p - name)) : NULL;
        if (!k) {
            /* valgrind's own chatter (-v), or something we do not know */
            if (first) {
                s->sum.ignored_lines++;
                return 0;
            }
            return imp_fail(v->c, IMP_EINPUT, "not a malloc call: '%.40s'", name);
        }
        p++;
        uint64_t a[3];
        if (vg_args(&p, a) < 0)
            return imp_fail(v->c, IMP_EINPUT, "bad arguments of %.*s()", (int)(p - name), name);
        if ((rc = vg_call(v, k, a)) < 0) return rc;
        first = 0;
    }
}

static int vg_parse(imp_ctx_t *c)
{
    vg_t v;
    memset(&v, 0, sizeof v);
    v.c = c;
    imp_sink_t *s = &c->sink;
    char *line;
    size_t len;
    int rc;
    while ((rc = imp_src_line(&c->src, &line, &len, c->err, sizeof c->err)) == 1) {
        const char *p = line;
        uint64_t pid;
        if (p[0] != '-' || p[1] != '-' || (p += 2, imp_dec(&p, &pid) < 0) || p[0] != '-' ||
            p[1] != '-') {
            if (len) s->sum.ignored_lines++; /* ==PID==, **PID**, the program's output */
            continue;
        }
        if (v.pid == 0) {
            v.pid = pid;
            char pv[32];
            snprintf(pv, sizeof pv, "%llu", (unsigned long long)pid);
            if ((rc = imp_meta(s, "pid", pv)) < 0) return rc;
        }
        if (pid != v.pid) {
            s->sum.ignored_lines++;
            continue;
        }
        if ((rc = vg_payload(&v, p + 2)) < 0) return rc;
    }
    if (rc < 0) return rc;
    for (; v.depth > 0; v.depth--) {
        c->src.line = v.stack[v.depth - 1].line;
        rc = imp_repair(s, &s->sum.orphan_allocs, "a call whose result never came");
        if (rc < 0) return rc;
    }
    return 0;
}

const imp_format_t imp_valgrind = {
    .name = "valgrind",
    .summary = "valgrind --trace-malloc=yes output (--log-file=FILE, or its stderr)",
    .loses = "threads, time, alignment of posix_memalign/aligned_alloc when valgrind prints no "
             "result for them (those blocks are dropped, their frees counted as orphans); "
             "new/delete become malloc/free",
    .parse = vg_parse,
};
