/* imp_heaptrack.c: heaptrack's data files (heaptrack 1.x, file format
 * version up to 3), raw (`heaptrack -r`: HEAPTRACK.raw.zst) or interpreted
 * (the default: HEAPTRACK.zst, what heaptrack_print reads).
 *
 * Both are lines of a mode letter and hexadecimal fields.  What we use:
 *
 *   v VERSION FILEVERSION   header             X CMDLINE   command line
 *   x LEN EXE               executable (raw)   I PAGE N    page size, pages
 *   c MS                    time stamp, every 10 ms, from heaptrack's timer
 *   t IP PARENT             a new node of the trace tree (index = count)
 *   A                       heaptrack was attached to a running program
 *   raw:          + SIZE TRACE PTR   allocation     - PTR   free
 *   interpreted:  a SIZE TRACE       a new allocation record (index = count)
 *                 + IDX              an allocation of record IDX
 *                 - IDX              a free of a block of record IDX
 *
 * and m, i, s, R, S and # lines are skipped.  A raw file names blocks by
 * pointer: imported exactly.  An interpreted file has dropped the pointers
 * (and the frees heaptrack could not match): a `- IDX` frees *some* live
 * block allocated with record IDX, chosen by --free-policy (lifo: the most
 * recent, the default; fifo: the oldest).  Sizes and counts are exact
 * either way, but which block goes, hence where holes open, is the
 * policy's: the fragmentation figures of such a trace depend on it (the
 * import says so).
 *
 * Realloc.  heaptrack writes realloc(p, n) == q as `- p` then `+ n T q`
 * under one lock, exactly as free(p) followed by malloc(n) looks, so no
 * single pair tells them apart; a call site does.  A first pass finds the
 * realloc sites: trace nodes (T) at least 90 % of whose allocations
 * directly follow a free, where "directly" allows only the t/m/a/i/s lines
 * written inside the same locked call (a time stamp, written by heaptrack's
 * timer thread under the lock, breaks it).  Not 100 %: a realloc(NULL, n)
 * has no free before it, and an interpreted file has lost the frees of
 * pointers heaptrack did not know (memalign's blocks).  The second pass
 * fuses a `-` of a live block followed directly by a `+` at a realloc site
 * into `r`.  A site whose mallocs nearly always follow a free (a loop of
 * free(p); p = malloc(n) in one thread) is taken for a realloc site: the
 * summary counts the fused pairs, and --no-fuse keeps every pair.  The
 * first pass needs IN to be a file (read twice); standard input is
 * imported without fusing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/import/internal/imp_impl.h"

#define HT_MAX_FILE_VERSION 3

typedef enum { HT_UNKNOWN, HT_RAW, HT_INTERP } ht_kind_t;

/* Per trace node: allocations there, and those directly after a free. */
typedef struct {
    uint32_t plus, after_minus;
} ht_site_t;

/* An allocation record of an interpreted file, with its live blocks (a
 * ring of virtual addresses: LIFO pops the newest, FIFO the oldest). */
typedef struct {
    uint64_t size, trace;
    uint64_t *ring;
    uint32_t head, n, cap;
} ht_info_t;

typedef struct {
    imp_ctx_t *c;
    ht_kind_t kind;
    ht_site_t *sites;
    uint64_t nsites; /* trace nodes defined so far (t lines) + 1        */
    uint64_t sites_cap;
    uint8_t *realloc_site; /* per node, after the first pass            */
    uint64_t nrealloc_site;
    ht_info_t *infos;
    uint64_t ninfos, infos_cap;
    uint64_t vaddr; /* last virtual address given (interpreted)         */
    int fusing;
    /* a `-` waiting to see whether a `+` at a realloc site follows */
    int pending;
    uint64_t pending_addr;
    uint64_t pending_line;
} ht_t;

/* Parses hexadecimal fields after the mode letter: exactly N of them
 * (MORE: further text allowed after them).  0 or an error. */
static int ht_fields(ht_t *h, const char *line, uint64_t *v, int n, int more)
{
    const char *p = line + 1;
    for (int i = 0; i < n; i++) {
        if (*p != ' ')
            return imp_fail(h->c, IMP_EINPUT, "'%c' line: want %d hexadecimal field%s", line[0], n,
                            n == 1 ? "" : "s");
        p++;
        if (imp_hex(&p, &v[i], 0) < 0 || (*p && *p != ' '))
            return imp_fail(h->c, IMP_EINPUT, "'%c' line: bad hexadecimal number", line[0]);
    }
    if (*p && !more) return imp_fail(h->c, IMP_EINPUT, "'%c' line: unexpected '%s'", line[0], p);
    return 0;
}

/* How many fields a '+' line has (1 interpreted, 3 raw). */
static int ht_count_fields(const char *line)
{
    int n = 0;
    for (const char *p = line + 1; *p; p++)
        if (*p == ' ' && p[1] && p[1] != ' ') n++;
    return n;
}

static int ht_nomem(ht_t *h)
{
    return imp_fail(h->c, IMP_EINPUT, "out of memory");
}

/* A `t` line: one more trace node.  0 or an error. */
static int ht_node(ht_t *h)
{
    if (h->nsites == h->sites_cap) {
        uint64_t cap = h->sites_cap ? h->sites_cap * 2 : 1024;
        ht_site_t *s = realloc(h->sites, cap * sizeof *s);
        if (!s) return ht_nomem(h);
        h->sites = s;
        h->sites_cap = cap;
    }
    h->sites[h->nsites++] = (ht_site_t){0, 0};
    return 0;
}

/* Checks that TRACE names a node defined so far. */
static int ht_trace_ok(ht_t *h, uint64_t trace)
{
    if (trace >= h->nsites)
        return imp_fail(h->c, IMP_EINPUT, "trace index %llx before its 't' line",
                        (unsigned long long)trace);
    return 0;
}

/* An `a` line: one more allocation record. */
static int ht_info(ht_t *h, uint64_t size, uint64_t trace)
{
    if (h->ninfos == h->infos_cap) {
        uint64_t cap = h->infos_cap ? h->infos_cap * 2 : 1024;
        ht_info_t *n = realloc(h->infos, cap * sizeof *n);
        if (!n) return ht_nomem(h);
        h->infos = n;
        h->infos_cap = cap;
    }
    h->infos[h->ninfos++] = (ht_info_t){size, trace, NULL, 0, 0, 0};
    return 0;
}

/* The kind of file, from its first '+' line. */
static int ht_kind(ht_t *h, const char *line)
{
    int n = ht_count_fields(line);
    ht_kind_t k = n == 3 ? HT_RAW : n == 1 ? HT_INTERP : HT_UNKNOWN;
    if (k == HT_UNKNOWN)
        return imp_fail(h->c, IMP_EINPUT,
                        "'+' line: want 3 fields (raw file) or 1 (interpreted file)");
    if (h->kind != HT_UNKNOWN && h->kind != k)
        return imp_fail(h->c, IMP_EINPUT, "'+' line of a %s file in a %s file",
                        k == HT_RAW ? "raw" : "interpreted",
                        h->kind == HT_RAW ? "raw" : "interpreted");
    h->kind = k;
    return 0;
}

/* ---- interpreted files: live blocks per record ------------------------- */

static int ht_push(ht_t *h, ht_info_t *in, uint64_t a)
{
    if (in->n == in->cap) {
        uint32_t cap = in->cap ? in->cap * 2 : 4;
        if (cap == 0) return ht_nomem(h);
        uint64_t *r = malloc((size_t)cap * sizeof *r);
        if (!r) return ht_nomem(h);
        for (uint32_t i = 0; i < in->n; i++)
            r[i] = in->ring[(in->head + i) % in->cap];
        free(in->ring);
        in->ring = r;
        in->head = 0;
        in->cap = cap;
    }
    in->ring[(in->head + in->n) % in->cap] = a;
    in->n++;
    return 0;
}

/* The block a free of record IN releases (by the policy), or 0 when it
 * has none live. */
static uint64_t ht_pop(ht_t *h, ht_info_t *in)
{
    if (in->n == 0) return 0;
    in->n--;
    if (h->c->opts->free_policy == IMP_FREE_FIFO) {
        uint64_t a = in->ring[in->head];
        in->head = (in->head + 1) % in->cap;
        return a;
    }
    return in->ring[(in->head + in->n) % in->cap];
}

/* ---- the passes ------------------------------------------------------------ */

/* Writes the pending free (no `+` fused with it).  0 or an error. */
static int ht_flush(ht_t *h)
{
    if (!h->pending) return 0;
    h->pending = 0;
    uint64_t line = h->c->src.line;
    h->c->src.line = h->pending_line; /* messages name the `-` line */
    int rc = imp_free(&h->c->sink, 0, h->pending_addr);
    h->c->src.line = line;
    return rc;
}

/* An allocation of SIZE at ADDR, from trace node TRACE. */
static int ht_alloc(ht_t *h, uint64_t addr, uint64_t size, uint64_t trace)
{
    imp_sink_t *s = &h->c->sink;
    if (h->pending && trace < h->nrealloc_site && h->realloc_site[trace] &&
        imp_is_live(s, h->pending_addr)) {
        h->pending = 0;
        int rc = imp_repair(s, &s->sum.fused,
                            "a free and an allocation taken for a realloc (--no-fuse keeps them)");
        return rc < 0 ? rc : imp_realloc(s, 0, h->pending_addr, addr, size);
    }
    int rc = ht_flush(h);
    return rc < 0 ? rc : imp_alloc(s, 0, addr, TRACE_ALLOC, size, 0, 0);
}

/* One line of the second pass (the import). */
static int ht_line2(ht_t *h, char *line)
{
    imp_sink_t *s = &h->c->sink;
    uint64_t v[3];
    int rc;
    switch (line[0]) {
    case '+':
        if ((rc = ht_kind(h, line)) < 0) return rc;
        if ((rc = imp_tick(s)) < 0) return rc;
        if (h->kind == HT_RAW) {
            if ((rc = ht_fields(h, line, v, 3, 0)) < 0 || (rc = ht_trace_ok(h, v[1])) < 0)
                return rc;
            if (v[2] == 0) return imp_fail(h->c, IMP_EINPUT, "'+' line: a NULL pointer");
            return ht_alloc(h, v[2], v[0], v[1]);
        }
        if ((rc = ht_fields(h, line, v, 1, 0)) < 0) return rc;
        if (v[0] >= h->ninfos)
            return imp_fail(h->c, IMP_EINPUT, "'+' of allocation record %llx before its 'a' line",
                            (unsigned long long)v[0]);
        ht_info_t *in = &h->infos[v[0]];
        uint64_t a = ++h->vaddr;
        if ((rc = ht_alloc(h, a, in->size, in->trace)) < 0) return rc;
        return ht_push(h, in, a);
    case '-':
        if ((rc = ht_flush(h)) < 0) return rc;
        if ((rc = imp_tick(s)) < 0) return rc;
        if ((rc = ht_fields(h, line, v, 1, 0)) < 0) return rc;
        if (h->kind == HT_INTERP || (h->kind == HT_UNKNOWN && h->ninfos > 0)) {
            h->kind = HT_INTERP;
            if (v[0] >= h->ninfos)
                return imp_fail(h->c, IMP_EINPUT,
                                "'-' of allocation record %llx before its 'a' line",
                                (unsigned long long)v[0]);
            v[0] = ht_pop(h, &h->infos[v[0]]);
            if (v[0] == 0)
                return imp_repair(s, &s->sum.orphan_frees,
                                  "a free of an allocation record with no live block");
        }
        if (!h->fusing) return imp_free(s, 0, v[0]);
        h->pending = 1;
        h->pending_addr = v[0];
        h->pending_line = h->c->src.line;
        return 0;
    case 'a':
        if ((rc = ht_fields(h, line, v, 2, 0)) < 0 || (rc = ht_trace_ok(h, v[1])) < 0) return rc;
        return ht_info(h, v[0], v[1]);
    case 't':
        if ((rc = ht_fields(h, line, v, 2, 1)) < 0) return rc;
        return ht_node(h);
    case 'c':
        if ((rc = ht_flush(h)) < 0) return rc;
        if ((rc = ht_fields(h, line, v, 1, 0)) < 0) return rc;
        return imp_time(s, v[0]);
    case 'v':
        if ((rc = ht_fields(h, line, v, 2, 1)) < 0) return rc;
        if (v[1] > HT_MAX_FILE_VERSION)
            return imp_fail(h->c, IMP_EINPUT,
                            "heaptrack file format version %llu; this importer knows up to %d",
                            (unsigned long long)v[1], HT_MAX_FILE_VERSION);
        {
            char ver[64];
            snprintf(ver, sizeof ver, "%llx (file format %llu)", (unsigned long long)v[0],
                     (unsigned long long)v[1]);
            return imp_meta(s, "heaptrack_version", ver);
        }
    case 'X':
        return line[1] == ' ' ? imp_meta(s, "command", line + 2) : 0;
    case 'x': {
        /* x LEN PATH (file format 3: a sized string) */
        const char *p = line + 1;
        uint64_t len;
        if (*p == ' ') p++;
        if (imp_hex(&p, &len, 0) == 0 && *p == ' ') return imp_meta(s, "exe", p + 1);
        return imp_meta(s, "exe", line + 2);
    }
    case 'I':
        if ((rc = ht_fields(h, line, v, 2, 1)) < 0) return rc;
        {
            char pg[32];
            snprintf(pg, sizeof pg, "%llu", (unsigned long long)v[0]);
            return imp_meta(s, "page_size", pg);
        }
    case 'A':
        s->sum.warning = "heaptrack was attached to a running program: what it allocated "
                         "before is missing";
        return imp_meta(s, "attached", "yes");
    case 'm':
    case 'i':
    case 's':
    case 'R':
    case 'S':
    case '#':
    case '\0':
        return 0;
    default:
        return imp_fail(h->c, IMP_EINPUT, "not a heaptrack line (mode '%c')",
                        line[0] >= 0x20 && line[0] < 0x7f ? line[0] : '?');
    }
}

/* One line of the first pass: trace nodes and their allocations, and
 * whether each directly follows a free (*AFTER: the previous record was a
 * `-`, kept across the t/m/a/i/s lines of the same call). */
static int ht_line1(ht_t *h, char *line, int *after)
{
    uint64_t v[3];
    int rc;
    switch (line[0]) {
    case 't':
        if ((rc = ht_fields(h, line, v, 2, 1)) < 0) return rc;
        return ht_node(h);
    case 'a':
        if ((rc = ht_fields(h, line, v, 2, 0)) < 0 || (rc = ht_trace_ok(h, v[1])) < 0) return rc;
        return ht_info(h, v[0], v[1]);
    case '+': {
        if ((rc = ht_kind(h, line)) < 0) return rc;
        uint64_t trace;
        if (h->kind == HT_RAW) {
            if ((rc = ht_fields(h, line, v, 3, 0)) < 0 || (rc = ht_trace_ok(h, v[1])) < 0)
                return rc;
            trace = v[1];
        } else {
            if ((rc = ht_fields(h, line, v, 1, 0)) < 0) return rc;
            if (v[0] >= h->ninfos)
                return imp_fail(h->c, IMP_EINPUT,
                                "'+' of allocation record %llx before its 'a' line",
                                (unsigned long long)v[0]);
            trace = h->infos[v[0]].trace;
        }
        h->sites[trace].plus++;
        if (*after) h->sites[trace].after_minus++;
        *after = 0;
        return 0;
    }
    case '-':
        *after = 1;
        return 0;
    case 'm':
    case 'i':
    case 's':
        return 0;
    default:
        *after = 0;
        return 0;
    }
}

/* The first pass: which trace nodes are realloc sites. */
static int ht_prescan(ht_t *h)
{
    imp_ctx_t *c = h->c;
    char *line;
    size_t len;
    int rc, after = 0;
    if ((rc = ht_node(h)) < 0) return rc; /* node 0: the empty trace */
    while ((rc = imp_src_line(&c->src, &line, &len, c->err, sizeof c->err)) == 1)
        if ((rc = ht_line1(h, line, &after)) < 0) return rc;
    if (rc < 0) return rc;
    h->realloc_site = calloc(h->nsites ? h->nsites : 1, 1);
    if (!h->realloc_site) return ht_nomem(h);
    h->nrealloc_site = h->nsites;
    for (uint64_t i = 0; i < h->nsites; i++)
        h->realloc_site[i] =
            h->sites[i].after_minus > 0 &&
            h->sites[i].after_minus >= h->sites[i].plus / 10 * 9 + h->sites[i].plus % 10 * 9 / 10;
    /* the second pass defines nodes and records again */
    h->nsites = 0;
    h->ninfos = 0;
    h->kind = HT_UNKNOWN;
    return imp_src_rewind(&c->src, c->err, sizeof c->err);
}

static int ht_parse(imp_ctx_t *c)
{
    ht_t h;
    memset(&h, 0, sizeof h);
    h.c = c;
    int rc = 0;
    h.fusing = !c->opts->no_fuse;
    if (h.fusing && c->src.fd == 0 && !c->src.own_fd) {
        h.fusing = 0; /* standard input cannot be read twice */
        c->sink.sum.warning = "read from standard input, so realloc calls (written by heaptrack "
                              "as free + malloc) were not fused (give IN as a file)";
    }
    if (h.fusing) rc = ht_prescan(&h);
    if (rc == 0) rc = ht_node(&h);
    char *line;
    size_t len;
    while (rc == 0 && (rc = imp_src_line(&c->src, &line, &len, c->err, sizeof c->err)) == 1)
        rc = ht_line2(&h, line);
    if (rc == 0) rc = ht_flush(&h);
    if (rc == 0 && h.kind == HT_INTERP && !c->sink.sum.warning)
        c->sink.sum.warning =
            c->opts->free_policy == IMP_FREE_FIFO
                ? "an interpreted heaptrack file has no pointers: each free released the "
                  "oldest live block of the same size and call stack (--free-policy fifo), so "
                  "fragmentation figures depend on that policy (heaptrack -r keeps pointers)"
                : "an interpreted heaptrack file has no pointers: each free released the "
                  "newest live block of the same size and call stack (--free-policy lifo), so "
                  "fragmentation figures depend on that policy (heaptrack -r keeps pointers)";
    for (uint64_t i = 0; i < h.infos_cap && i < h.ninfos; i++)
        free(h.infos[i].ring);
    free(h.infos);
    free(h.sites);
    free(h.realloc_site);
    return rc;
}

const imp_format_t imp_heaptrack = {
    .name = "heaptrack",
    .summary = "heaptrack's raw (heaptrack -r) or interpreted data file, plain, .zst or .gz",
    .loses = "calloc (written as malloc), alignment, threads; memalign (not intercepted by "
             "heaptrack 1.4: its blocks are missing, their frees dropped); realloc(p, 0) "
             "(not written); an interpreted file also loses pointers: frees are matched by "
             "--free-policy; realloc is told from free+malloc by call site",
    .parse = ht_parse,
};
