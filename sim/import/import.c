/* import.c: the importers' entry points (import.h): the format tables, one
 * import run from source to sink, the summary line, and the number parsing
 * every text parser shares. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/base/cli.h"
#include "sim/import/internal/imp_impl.h"

const imp_format_t *const imp_formats[] = {&imp_heaptrack, &imp_mtrace, &imp_valgrind,
                                           &imp_chatty,    &imp_wl,     NULL};

const imp_export_t *const imp_exports[] = {&imp_export_mtrace, &imp_export_wl, NULL};

const imp_format_t *imp_format_find(const char *name)
{
    for (const imp_format_t *const *f = imp_formats; *f; f++)
        if (!strcmp((*f)->name, name)) return *f;
    return NULL;
}

const imp_export_t *imp_export_find(const char *name)
{
    for (const imp_export_t *const *x = imp_exports; *x; x++)
        if (!strcmp((*x)->name, name)) return *x;
    return NULL;
}

/* The run once the source is open: parse, finish, copy the counts out. */
static int imp_go(imp_ctx_t *c, const imp_format_t *f, const char *out, trace_format_t fmt,
                  const imp_opts_t *o, imp_summary_t *sum, char *err, size_t errlen)
{
    int rc = imp_sink_init(&c->sink, c, out, fmt, o);
    if (rc == 0) {
        char v[64];
        snprintf(v, sizeof v, "arenalab %s import %s", ARENALAB_VERSION, f->name);
        rc = imp_meta(&c->sink, "producer", v);
        if (rc == 0) rc = imp_meta(&c->sink, "source", c->src.name);
        if (rc == 0) rc = imp_meta(&c->sink, "source_format", f->name);
    }
    if (rc == 0) rc = f->parse(c);
    if (rc == 0) rc = imp_sink_finish(&c->sink);
    if (sum) *sum = c->sink.sum;
    if (rc < 0) snprintf(err, errlen, "%s", c->err);
    imp_sink_free(&c->sink);
    imp_src_close(&c->src);
    return rc;
}

int imp_run(const imp_format_t *f, const char *in, const char *out, trace_format_t fmt,
            const imp_opts_t *o, imp_summary_t *sum, char *err, size_t errlen)
{
    static imp_ctx_t zero;
    imp_ctx_t *c = malloc(sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return IMP_EINPUT;
    }
    *c = zero;
    c->opts = o;
    if (sum) memset(sum, 0, sizeof *sum);
    int rc = imp_src_open(&c->src, in, err, errlen);
    if (rc == 0) rc = imp_go(c, f, out, fmt, o, sum, err, errlen);
    free(c);
    return rc;
}

int imp_run_mem(const imp_format_t *f, const char *name, const void *data, size_t size,
                const char *out, trace_format_t fmt, const imp_opts_t *o, imp_summary_t *sum,
                char *err, size_t errlen)
{
    static imp_ctx_t zero;
    imp_ctx_t *c = malloc(sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return IMP_EINPUT;
    }
    *c = zero;
    c->opts = o;
    if (sum) memset(sum, 0, sizeof *sum);
    int rc = imp_src_open_mem(&c->src, name, data, size, err, errlen);
    if (rc == 0) rc = imp_go(c, f, out, fmt, o, sum, err, errlen);
    free(c);
    return rc;
}

/* Appends to BUF (at *AT, of N) as snprintf does, never past the end. */
static void imp_cat(char *buf, size_t n, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void imp_cat(char *buf, size_t n, size_t *at, const char *fmt, ...)
{
    if (*at >= n) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *at, n - *at, fmt, ap);
    va_end(ap);
    if (k > 0) *at += (size_t)k;
}

void imp_summary_line(const imp_summary_t *s, char *buf, size_t n)
{
    size_t at = 0;
    uint64_t total = 0;
    for (int op = 0; op < TRACE_NOPS; op++)
        total += s->events[op];
    if (n) buf[0] = '\0';
    imp_cat(buf, n, &at, "%llu events (a %llu, c %llu, r %llu, f %llu)", (unsigned long long)total,
            (unsigned long long)s->events[TRACE_ALLOC], (unsigned long long)s->events[TRACE_CALLOC],
            (unsigned long long)s->events[TRACE_REALLOC],
            (unsigned long long)s->events[TRACE_FREE]);
    /* the repairs, then the rest, each only when it happened */
    for (int pass = 1; pass >= 0; pass--) {
        int any = 0;
        imp_cat(buf, n, &at, pass ? "; repaired/dropped: " : "; ");
#define IMP_SHOW(name, repair, words)                                                              \
    if (repair == pass && s->name) {                                                               \
        imp_cat(buf, n, &at, "%s%llu %s", any ? ", " : "", (unsigned long long)s->name, words);    \
        any = 1;                                                                                   \
    }
        IMP_COUNTERS(IMP_SHOW)
#undef IMP_SHOW
        if (!any && pass) imp_cat(buf, n, &at, "nothing");
        if (!any && !pass && at >= 2) {
            at -= 2;
            buf[at] = '\0';
        }
    }
    imp_cat(buf, n, &at, "; %llu blocks live at the end", (unsigned long long)s->live_end);
}

int imp_hex(const char **p, uint64_t *v, int allow0x)
{
    const char *s = *p;
    if (allow0x && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
    uint64_t x = 0;
    const char *d = s;
    for (;; d++) {
        unsigned k;
        if (*d >= '0' && *d <= '9')
            k = (unsigned)(*d - '0');
        else if (*d >= 'a' && *d <= 'f')
            k = (unsigned)(*d - 'a' + 10);
        else if (*d >= 'A' && *d <= 'F')
            k = (unsigned)(*d - 'A' + 10);
        else
            break;
        if (x >> 60) return -1;
        x = x << 4 | k;
    }
    if (d == s) return -1;
    *v = x;
    *p = d;
    return 0;
}

int imp_dec(const char **p, uint64_t *v)
{
    const char *d = *p;
    uint64_t x = 0;
    for (; *d >= '0' && *d <= '9'; d++) {
        unsigned k = (unsigned)(*d - '0');
        if (x > (UINT64_MAX - k) / 10) return -1;
        x = x * 10 + k;
    }
    if (d == *p) return -1;
    *v = x;
    *p = d;
    return 0;
}
