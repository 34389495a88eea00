/* imp_chatty.c: chattymalloc's binary trace (allocbench's LD_PRELOAD
 * tracer, CHATTYMALLOC_FILE=FILE): an array of 45-byte packed records,
 * native byte order (x86-64: little-endian),
 *
 *   offset  size  field
 *    0      16    struct timespec (the call's duration; not used here)
 *   16       8    ptr      the result (free: the argument)
 *   24       8    size     bytes (calloc: the element size)
 *   32       8    var_arg  realloc: the old pointer; calloc: the element
 *                          count; memalign, posix_memalign, aligned_alloc:
 *                          the alignment
 *   40       4    tid      the kernel thread id
 *   44       1    func     0 unused (a slot never written: a crashed
 *                          recorder), 1 malloc, 2 free, 3 realloc, 4 calloc,
 *                          5 memalign, 6 posix_memalign, 7 valloc,
 *                          8 pvalloc, 9 aligned_alloc, 10 thread exit
 *
 * chattymalloc claims a record's slot with an atomic counter when the call
 * is over (after the real malloc, before the real free), so a realloc's
 * record can come after another thread's allocation of the address it
 * freed: the sink holds such allocations (an inversion, counted).  Threads
 * are kept: kernel ids become trace threads 1, 2, ... in order of their
 * first record, each announced by a `tid` marker "N KERNEL_TID" as our own
 * recorder writes it.  Alignments become `align` markers (valloc and
 * pvalloc: the page, 4096). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/import/internal/imp_impl.h"

#define CH_RECORD 45
#define CH_PAGE   4096
/* chattymalloc grows its file by 10^6 records when 4096 are left, so a
 * recorder that died leaves at most about 10^6 empty records in a row; a
 * longer run is not such a tail (/dev/zero, a bomb of zeros) and would
 * otherwise be read for ever. */
#define CH_MAX_EMPTY_RUN 2000000

enum {
    CH_UNUSED,
    CH_MALLOC,
    CH_FREE,
    CH_REALLOC,
    CH_CALLOC,
    CH_MEMALIGN,
    CH_POSIX_MEMALIGN,
    CH_VALLOC,
    CH_PVALLOC,
    CH_ALIGNED_ALLOC,
    CH_THREAD_EXIT,
    CH_NFUNCS
};

/* Kernel tid -> trace thread, a small open-addressing table. */
typedef struct {
    uint32_t *tid, *num; /* num 0: empty                              */
    uint32_t cap, n;
} ch_threads_t;

static uint64_t ch_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t ch_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The trace thread of kernel TID (a new one gets a `tid` marker).  0 on
 * success with *OUT set, or an error. */
static int ch_thread(imp_ctx_t *c, ch_threads_t *t, uint32_t tid, uint32_t *out)
{
    if ((t->n + 1) * 2 > t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 64;
        uint32_t *ntid = calloc(cap, sizeof *ntid), *nnum = calloc(cap, sizeof *nnum);
        if (!ntid || !nnum) {
            free(ntid);
            free(nnum);
            return imp_fail(c, IMP_EINPUT, "out of memory");
        }
        for (uint32_t i = 0; i < t->cap; i++) {
            if (!t->num[i]) continue;
            uint32_t j = (t->tid[i] * 2654435761u) & (cap - 1);
            while (nnum[j])
                j = (j + 1) & (cap - 1);
            ntid[j] = t->tid[i];
            nnum[j] = t->num[i];
        }
        free(t->tid);
        free(t->num);
        t->tid = ntid;
        t->num = nnum;
        t->cap = cap;
    }
    uint32_t j = (tid * 2654435761u) & (t->cap - 1);
    while (t->num[j] && t->tid[j] != tid)
        j = (j + 1) & (t->cap - 1);
    if (!t->num[j]) {
        t->tid[j] = tid;
        t->num[j] = ++t->n;
        char v[32];
        snprintf(v, sizeof v, "%u %u", t->n, tid);
        int rc = imp_sink_marker(&c->sink, "tid", v);
        if (rc < 0) return rc;
    }
    *out = t->num[j];
    return 0;
}

static int ch_parse(imp_ctx_t *c)
{
    imp_sink_t *s = &c->sink;
    ch_threads_t th = {0};
    uint8_t r[CH_RECORD];
    uint64_t empty_run = 0; /* empty records since the last written one */
    int rc = 0;
    c->src.binary = 1;
    for (;;) {
        long got = imp_src_read(&c->src, r, sizeof r, c->err, sizeof c->err);
        if (got < 0) {
            rc = (int)got;
            break;
        }
        if (got == 0) break;
        if (got < CH_RECORD) {
            c->src.off -= (uint64_t)got; /* name the record's first byte */
            rc = imp_fail(c, IMP_EINPUT, "a record cut short (%ld of %d bytes)", got, CH_RECORD);
            break;
        }
        uint64_t ptr = ch_u64(r + 16), size = ch_u64(r + 24), arg = ch_u64(r + 32);
        uint8_t func = r[44];
        if (func >= CH_NFUNCS) {
            c->src.off -= CH_RECORD; /* name the record's first byte */
            rc = imp_fail(c, IMP_EINPUT, "unknown function code %u (chattymalloc writes 0-10)",
                          func);
            break;
        }
        if (func == CH_UNUSED) {
            s->sum.empty_records++;
            if (++empty_run < CH_MAX_EMPTY_RUN) continue;
            c->src.off -= empty_run * CH_RECORD; /* name the run's first byte */
            rc = imp_fail(c, IMP_EINPUT,
                          "%d empty records in a row (chattymalloc leaves at most about "
                          "1000000): not a chattymalloc trace",
                          CH_MAX_EMPTY_RUN);
            break;
        }
        empty_run = 0;
        if (func == CH_THREAD_EXIT) continue;
        uint32_t thread = 0;
        if ((rc = imp_tick(s)) < 0 || (rc = ch_thread(c, &th, ch_u32(r + 40), &thread)) < 0) break;
        switch (func) {
        case CH_MALLOC:
            rc = imp_alloc(s, thread, ptr, TRACE_ALLOC, size, 0, 0);
            break;
        case CH_FREE:
            rc = imp_free(s, thread, ptr);
            break;
        case CH_REALLOC:
            /* realloc(p, 0) that freed p returns NULL */
            if (ptr == 0 && size == 0 && arg != 0)
                rc = imp_free(s, thread, arg);
            else
                rc = imp_realloc(s, thread, arg, ptr, size);
            break;
        case CH_CALLOC:
            rc = imp_alloc(s, thread, ptr, TRACE_CALLOC, size, arg, 0);
            break;
        case CH_MEMALIGN:
        case CH_POSIX_MEMALIGN:
        case CH_ALIGNED_ALLOC:
            rc = imp_alloc(s, thread, ptr, TRACE_ALLOC, size, 0, arg ? arg : 1);
            break;
        default: /* valloc, pvalloc */
            rc = imp_alloc(s, thread, ptr, TRACE_ALLOC, size, 0, CH_PAGE);
        }
        if (rc < 0) break;
    }
    free(th.tid);
    free(th.num);
    return rc;
}

const imp_format_t imp_chatty = {
    .name = "chattymalloc",
    .summary = "chattymalloc's binary trace (allocbench; 45-byte records with thread ids)",
    .loses = "the call durations; pvalloc's rounding (its size is as asked); posix_memalign's "
             "failures (chattymalloc logs them as successes)",
    .parse = ch_parse,
};
