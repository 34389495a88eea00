/* debughooks_fidelity_test.c: our debug layer against libpython3.11's own
 * hooks (PyMem_SetupDebugHooks), each in a forked child, for:
 *
 *   requests  the same seeded sequence over raw, mem and obj: the
 *             allocators under the hooks log every call (op, domain, size,
 *             and a hash of the bytes realloc and free are handed: the
 *             dead and saved parts), and after every event the whole block
 *             (header, data, trailer) is hashed.  Both logs must be equal,
 *             line for line --
 *               malloc_debug:   a logging malloc under each domain;
 *               pymalloc_debug: a logging malloc under raw, pymalloc (ours)
 *                               or obmalloc (theirs) under mem and obj,
 *                               whose large requests go through the raw
 *                               domain's hook (pymalloc_set_raw).
 *   faults    another domain's block freed or realloc'ed, a leading and a
 *             trailing pad byte overwritten: both print the same report
 *             and die of SIGABRT.  Compared up to the "Fatal Python error"
 *             line, addresses blanked, without CPython's tracemalloc hint
 *             (we have no tracemalloc) -- see debughooks.c. */
#include <Python.h>

#include "alloc/check.h"
#include "alloc/debughooks.h"
#include "alloc/evgen.h"
#include "alloc/pymalloc.h"

#include <fcntl.h>
#include <malloc.h>
#include <regex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the logging malloc under the hooks ------------------------------ */

/* Live blocks of the logging malloc: pointer -> size (open addressing). */
#define LOG_CAP (1u << 17)
static struct {
    void *p;
    size_t n;
} log_tab[LOG_CAP];
static FILE *log_out;

static size_t log_slot(const void *p)
{
    size_t h = ((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15u >> 47;
    while (log_tab[h].p && log_tab[h].p != p)
        h = (h + 1) & (LOG_CAP - 1);
    return h;
}

static void log_put(void *p, size_t n)
{
    size_t h = log_slot(p);
    log_tab[h].p = p;
    log_tab[h].n = n;
}

/* Removes P (backward-shift deletion) and returns its size. */
static size_t log_take(const void *p)
{
    size_t i = log_slot(p), n = log_tab[i].n;
    log_tab[i].p = NULL;
    for (size_t j = (i + 1) & (LOG_CAP - 1); log_tab[j].p; j = (j + 1) & (LOG_CAP - 1)) {
        size_t home = ((uintptr_t)log_tab[j].p >> 4) * 0x9E3779B97F4A7C15u >> 47;
        if (((j - home) & (LOG_CAP - 1)) >= ((j - i) & (LOG_CAP - 1))) {
            log_tab[i] = log_tab[j];
            log_tab[j].p = NULL;
            i = j;
        }
    }
    return n;
}

static uint64_t fnv(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3u;
    return h;
}

/* ctx: the domain's name */
static void *log_malloc(void *ctx, size_t n)
{
    void *p = malloc(n ? n : 1);
    fprintf(log_out, "%s malloc %zu\n", (const char *)ctx, n);
    if (p) log_put(p, n);
    return p;
}

static void *log_calloc(void *ctx, size_t k, size_t n)
{
    void *p = calloc(k ? k : 1, n ? n : 1);
    fprintf(log_out, "%s calloc %zu %zu\n", (const char *)ctx, k, n);
    if (p) log_put(p, k * n);
    return p;
}

static void *log_realloc(void *ctx, void *p, size_t n)
{
    size_t old = p ? log_take(p) : 0;
    fprintf(log_out, "%s realloc %zu -> %zu seeing %016llx\n", (const char *)ctx, old, n,
            (unsigned long long)fnv(p, old));
    void *q = realloc(p, n ? n : 1);
    if (q) log_put(q, n);
    return q;
}

static void log_free(void *ctx, void *p)
{
    if (!p) return;
    size_t n = log_take(p);
    fprintf(log_out, "%s free %zu seeing %016llx\n", (const char *)ctx, n,
            (unsigned long long)fnv(p, n));
    free(p);
}

static size_t log_usable(void *ctx, const void *p)
{
    return malloc_usable_size((void *)p);
}

static void log_destroy(void *ctx) {}

static void log_stats(void *ctx, alloc_stats_t *out)
{
    memset(out, 0, sizeof *out);
}

static const alloc_class_t log_class = {
    .name = "log", .destroy = log_destroy, .stats = log_stats, .usable_size = log_usable};

static char log_names[3][4] = {"raw", "mem", "obj"};

static alloc_t log_alloc(int d)
{
    return (alloc_t){log_names[d], log_malloc, log_calloc, log_realloc, log_free};
}

/* ---- CPython's three domains as alloc_t ------------------------------ */

#define FID_DOMAIN(name, prefix)                                                                   \
    static void *fid_##name##_malloc(void *ctx, size_t n)                                          \
    {                                                                                              \
        return prefix##Malloc(n);                                                                  \
    }                                                                                              \
    static void *fid_##name##_calloc(void *ctx, size_t k, size_t n)                                \
    {                                                                                              \
        return prefix##Calloc(k, n);                                                               \
    }                                                                                              \
    static void *fid_##name##_realloc(void *ctx, void *p, size_t n)                                \
    {                                                                                              \
        return prefix##Realloc(p, n);                                                              \
    }                                                                                              \
    static void fid_##name##_free(void *ctx, void *p)                                              \
    {                                                                                              \
        prefix##Free(p);                                                                           \
    }

FID_DOMAIN(raw, PyMem_Raw)
FID_DOMAIN(mem, PyMem_)
FID_DOMAIN(obj, PyObject_)

static const alloc_t fid_cpython[3] = {
    {NULL, fid_raw_malloc, fid_raw_calloc, fid_raw_realloc, fid_raw_free},
    {NULL, fid_mem_malloc, fid_mem_calloc, fid_mem_realloc, fid_mem_free},
    {NULL, fid_obj_malloc, fid_obj_calloc, fid_obj_realloc, fid_obj_free},
};

/* ---- the sequence ---------------------------------------------------- */

/* Runs EV through BY[domain], writing the whole block (header, data,
 * trailer) of every event's block after it to log_out. */
static void fid_run(const evgen_event_t *ev, size_t nev, uint32_t nslots, const alloc_t *by)
{
    uint8_t **ptr = calloc(nslots, sizeof *ptr);
    size_t *size = calloc(nslots, sizeof *size);
    uint8_t *dom = calloc(nslots, 1);
    for (size_t i = 0; i < nev; i++) {
        const evgen_event_t *e = &ev[i];
        const alloc_t *a = &by[e->domain];
        uint32_t s = e->slot;
        uint8_t fill = (uint8_t)(i * 7 + 1);
        fprintf(log_out, "event %zu\n", i);
        switch (e->op) {
        case EVGEN_MALLOC:
        case EVGEN_CALLOC:
            size[s] = e->op == EVGEN_MALLOC ? e->size : e->size * e->nmemb;
            ptr[s] = e->op == EVGEN_MALLOC ? a->malloc(a->ctx, e->size)
                                           : a->calloc(a->ctx, e->nmemb, e->size);
            dom[s] = e->domain;
            if (ptr[s]) memset(ptr[s], fill, size[s] / 2);
            break;
        case EVGEN_REALLOC: {
            uint8_t *q = a->realloc(a->ctx, ptr[s], e->size);
            if (!q) break;
            if (e->size > size[s]) memset(q + size[s], fill, (e->size - size[s]) / 2);
            ptr[s] = q;
            size[s] = e->size;
            break;
        }
        default:
            a->free(a->ctx, ptr[s]);
            ptr[s] = NULL;
            break;
        }
        if (ptr[s])
            fprintf(log_out, "block %016llx\n",
                    (unsigned long long)fnv(ptr[s] - DBG_HEAD, size[s] + DBG_EXTRA));
    }
    for (uint32_t s = 0; s < nslots; s++)
        if (ptr[s]) by[dom[s]].free(by[dom[s]].ctx, ptr[s]);
    free(ptr);
    free(size);
    free(dom);
}

enum { FID_MALLOC_DEBUG, FID_PYMALLOC_DEBUG };

/* Child: CPython's hooks over the logging malloc (and obmalloc). */
static void fid_theirs(int mode, const evgen_event_t *ev, size_t nev, uint32_t nslots)
{
    for (int d = 0; d < 3; d++) {
        if (mode == FID_PYMALLOC_DEBUG && d > 0) break; /* mem, obj: obmalloc */
        PyMemAllocatorEx a = {log_names[d], log_malloc, log_calloc, log_realloc, log_free};
        PyMem_SetAllocator((PyMemAllocatorDomain)d, &a);
    }
    PyMem_SetupDebugHooks();
    /* obmalloc's first block maps its arena, its arena vector and radix
     * nodes (the latter two from the raw domain): not requests of ours */
    PyObject_Free(PyObject_Malloc(1));
    fflush(log_out);
    if (ftruncate(fileno(log_out), 0) || fseek(log_out, 0, SEEK_SET)) _exit(3);
    fid_run(ev, nev, nslots, fid_cpython);
    fflush(log_out);
    _exit(ferror(log_out) ? 2 : 0);
}

/* Child: our layer over the logging malloc (and our pymalloc). */
static void fid_ours(int mode, const evgen_event_t *ev, size_t nev, uint32_t nslots)
{
    alloc_t by[3];
    dbg_t *raw = NULL;
    for (int d = 0; d < 3; d++) {
        alloc_t in = log_alloc(d);
        dbg_t *g = dbg_new(&log_class, &in, NULL, NULL);
        if (!g) _exit(4);
        by[d] = dbg_domain(g, d);
        if (d == 0) raw = g;
        if (mode == FID_PYMALLOC_DEBUG) break;
    }
    if (mode == FID_PYMALLOC_DEBUG) {
        pymalloc_params_t pp;
        pymalloc_params_default(&pp);
        alloc_t pm = {pymalloc_new(&pp), pymalloc_malloc, pymalloc_calloc, pymalloc_realloc,
                      pymalloc_free};
        if (!pm.ctx) _exit(4);
        pymalloc_set_raw(pm.ctx, &by[0], dbg_class(raw)->usable_size);
        dbg_t *g = dbg_new(&alloc_pymalloc_class, &pm, NULL, NULL);
        if (!g) _exit(4);
        by[1] = dbg_domain(g, 1);
        by[2] = dbg_domain(g, 2);
        by[2].free(by[2].ctx, by[2].malloc(by[2].ctx, 1)); /* as theirs */
    }
    fid_run(ev, nev, nslots, by);
    fflush(log_out);
    _exit(ferror(log_out) ? 2 : 0);
}

/* Runs FN(mode, ...) in a child writing to a new temporary file, which it
 * returns (rewound), or NULL. */
static FILE *fid_child(void (*fn)(int, const evgen_event_t *, size_t, uint32_t), int mode,
                       const evgen_event_t *ev, size_t nev, uint32_t nslots)
{
    FILE *f = tmpfile();
    if (!f) return NULL;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        log_out = f;
        fn(mode, ev, nev, nslots);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "child failed: status %d\n", status);
        fclose(f);
        return NULL;
    }
    rewind(f);
    return f;
}

static void fid_requests(int mode, const char *name, uint64_t seed)
{
    evgen_params_t gp = {
        .seed = seed,
        .nevents = 30000,
        .max_live = 3000,
        .min_live = 10,
        .min_size = 0,
        .max_size = 1200,
        .small_pct = 40,
        .threshold = 512,
        .domains = 7,
    };
    uint32_t nslots;
    evgen_event_t *ev = evgen_generate(&gp, &nslots);
    CHECK(ev != NULL);
    if (!ev) return;
    FILE *ours = fid_child(fid_ours, mode, ev, gp.nevents, nslots);
    FILE *theirs = fid_child(fid_theirs, mode, ev, gp.nevents, nslots);
    CHECKF(ours && theirs, "%s: a child failed", name);
    if (ours && theirs) {
        char a[512], b[512];
        size_t line = 0, inner = 0;
        for (;;) {
            char *x = fgets(a, sizeof a, ours), *y = fgets(b, sizeof b, theirs);
            line++;
            if (!x || !y) {
                CHECKF(!x && !y, "%s: one log ends at line %zu", name, line);
                break;
            }
            if (strcmp(a, b) != 0) {
                CHECKF(0, "%s (seed %llu): line %zu differs:\n  ours:   %s  theirs: %s", name,
                       (unsigned long long)seed, line, a, b);
                break;
            }
            inner += strncmp(a, "event", 5) != 0 && strncmp(a, "block", 5) != 0;
        }
        /* the sequence must have reached the wrapped allocators */
        CHECKF(inner > 1000, "%s: only %zu calls under the hooks", name, inner);
        fprintf(stderr, "%s (seed %llu): %zu lines equal, %zu calls under the hooks\n", name,
                (unsigned long long)seed, line - 1, inner);
    }
    if (ours) fclose(ours);
    if (theirs) fclose(theirs);
    free(ev);
}

/* ---- faults ---------------------------------------------------------- */

enum { FAULT_ID_FREE, FAULT_ID_REALLOC, FAULT_LEADING, FAULT_TRAILING, FAULT_N };

/* Child: makes fault K through A (the three domains), which must abort. */
static void fault_make(int k, const alloc_t *a)
{
    uint8_t *p = a[2].malloc(a[2].ctx, 24);
    for (int i = 0; i < 24; i++)
        p[i] = (uint8_t)(0x30 + i);
    switch (k) {
    case FAULT_ID_FREE:
        a[0].free(a[0].ctx, p);
        break;
    case FAULT_ID_REALLOC:
        a[1].realloc(a[1].ctx, p, 100);
        break;
    case FAULT_LEADING:
        p[-2] = 0;
        a[2].free(a[2].ctx, p);
        break;
    default:
        p[24 + 3] = 'x';
        a[2].realloc(a[2].ctx, p, 10);
        break;
    }
    _exit(0); /* not reached when the fault was caught */
}

/* What child K of side OURS printed on stderr, or NULL when it did not die
 * of SIGABRT. */
static char *fault_report(int k, int ours)
{
    char path[] = "/tmp/dbgfaultXXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return NULL;
    unlink(path);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd, 2);
        alloc_t a[3];
        if (ours) {
            alloc_t in = {NULL, evgen_libc.malloc, evgen_libc.calloc, evgen_libc.realloc,
                          evgen_libc.free};
            dbg_t *g = dbg_new(&log_class, &in, NULL, NULL);
            for (int d = 0; d < 3; d++)
                a[d] = dbg_domain(g, d);
        } else {
            PyMem_SetupDebugHooks();
            memcpy(a, fid_cpython, sizeof a);
        }
        fault_make(k, a);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    char *text = NULL;
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) {
        off_t len = lseek(fd, 0, SEEK_END);
        text = calloc(1, (size_t)len + 1);
        if (text && pread(fd, text, (size_t)len, 0) != len) text[0] = '\0';
    }
    close(fd);
    return text;
}

/* TEXT up to its "Fatal Python error" line, addresses as ADDR, without
 * the tracemalloc hint (and the blank line after it). */
static char *fault_normal(const char *text)
{
    size_t cap = strlen(text) + 1;
    char *out = calloc(1, cap), *o = out;
    regex_t addr;
    regcomp(&addr, "0x[0-9a-f]+", REG_EXTENDED);
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
        char buf[512];
        snprintf(buf, sizeof buf, "%.*s", (int)len, line);
        line += len;
        if (strncmp(buf, "Enable tracemalloc", 18) == 0) {
            if (*line == '\n') line++;
            continue;
        }
        /* blank every address of the line */
        regmatch_t m;
        char *s = buf;
        while (regexec(&addr, s, 1, &m, 0) == 0) {
            o += sprintf(o, "%.*sADDR", (int)m.rm_so, s);
            s += m.rm_eo;
        }
        o += sprintf(o, "%s", s);
        if (strncmp(buf, "Fatal Python error", 18) == 0) break;
    }
    regfree(&addr);
    return out;
}

static void fid_faults(void)
{
    static const char *const names[FAULT_N] = {"bad ID (free)", "bad ID (realloc)", "leading pad",
                                               "trailing pad"};
    static const char *const fatal[FAULT_N] = {
        "Fatal Python error: _PyMem_DebugRawFree: bad ID: Allocated using API 'o', verified "
        "using API 'r'\n",
        "Fatal Python error: _PyMem_DebugRawRealloc: bad ID: Allocated using API 'o', "
        "verified using API 'm'\n",
        "Fatal Python error: _PyMem_DebugRawFree: bad leading pad byte\n",
        "Fatal Python error: _PyMem_DebugRawRealloc: bad trailing pad byte\n",
    };
    for (int k = 0; k < FAULT_N; k++) {
        char *ours = fault_report(k, 1), *theirs = fault_report(k, 0);
        CHECKF(ours && theirs, "%s: a side did not abort", names[k]);
        if (ours && theirs) {
            char *a = fault_normal(ours), *b = fault_normal(theirs);
            CHECKF(!strcmp(a, b), "%s: reports differ:\n--- ours ---\n%s--- CPython ---\n%s",
                   names[k], a, b);
            CHECKF(strstr(a, fatal[k]) != NULL, "%s: no '%s' in\n%s", names[k], fatal[k], a);
            free(a);
            free(b);
        }
        free(ours);
        free(theirs);
    }
}

int main(void)
{
    fid_requests(FID_MALLOC_DEBUG, "malloc_debug", 1);
    fid_requests(FID_MALLOC_DEBUG, "malloc_debug", 2);
    fid_requests(FID_PYMALLOC_DEBUG, "pymalloc_debug", 3);
    fid_requests(FID_PYMALLOC_DEBUG, "pymalloc_debug", 4);
    fid_faults();
    return check_done();
}
