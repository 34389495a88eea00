/* tsplit_test.c: threads and sync points of small traces worked out by
 * hand: cross-thread frees and reallocs, a thread ending with live
 * blocks, many threads, a trace without thread records. */
#include "sim/trace/tsplit.h"

#include <stdio.h>
#include <string.h>

#include "alloc/check.h"

#define MAXEV 128

typedef struct {
    uint32_t thread[MAXEV];
    tsplit_dep_t dep[MAXEV];
    int n;
} deps_t;

static void run(tsplit_t *t, deps_t *d, const char *text)
{
    trace_reader_t *r;
    trace_event_t ev;
    char err[256];
    tsplit_init(t);
    memset(d, 0, sizeof *d);
    CHECKF(trace_open_mem(&r, "t.txt", text, strlen(text), 0, err, sizeof err) == 0, "%s", err);
    if (!r) return;
    int rc;
    while ((rc = trace_next(r, &ev)) == 1 && d->n < MAXEV) {
        const uint32_t *owned;
        size_t n = trace_owned(r, ev.aslot, &owned);
        CHECK(tsplit_add(t, &ev, owned, n, &d->thread[d->n], &d->dep[d->n]) == 0);
        d->n++;
    }
    CHECKF(rc == 0, "%s", trace_error(r));
    trace_close(r);
}

static int nodep(const deps_t *d, int i)
{
    return d->dep[i].thread == TSPLIT_NONE;
}

static void test_one_thread(void)
{
    tsplit_t t;
    deps_t d;
    run(&t, &d, "a 1 10\nr 1 20\nf 1\n");
    CHECK(t.nthreads == 1 && tsplit_thread(&t, 0)->id == 0);
    CHECK(tsplit_thread(&t, 0)->events == 3);
    CHECK(nodep(&d, 0) && nodep(&d, 1) && nodep(&d, 2));
    CHECK(t.waits == 0 && t.remote_frees == 0);
    tsplit_free(&t);
}

static void test_cross_thread(void)
{
    tsplit_t t;
    deps_t d;
    /* thread 7 allocates 1 and 2; thread 9 reallocs 1 and frees 2; thread 7
     * frees 1 again after 9's realloc; 3 stays live on thread 9 */
    run(&t, &d,
        "#@ thread 7\na 1 10\na 2 10\n#@ thread 9\nr 1 30\nf 2\na 3 5\n"
        "#@ thread 7\nf 1\n");
    CHECK(t.nthreads == 2);
    CHECK(tsplit_thread(&t, 0)->id == 7 && tsplit_thread(&t, 1)->id == 9);
    CHECK(d.thread[2] == 1 && d.thread[5] == 0);
    /* r 1 on 9 waits for 7's first event, f 2 for its second */
    CHECK(d.dep[2].thread == 0 && d.dep[2].done == 1);
    CHECK(d.dep[3].thread == 0 && d.dep[3].done == 2);
    CHECK(nodep(&d, 4));
    /* f 1 on 7 waits for 9's realloc, 9's first event */
    CHECK(d.dep[5].thread == 1 && d.dep[5].done == 1);
    CHECK(t.remote_frees == 1 && t.remote_reallocs == 1 && t.waits == 3);
    CHECK(tsplit_thread(&t, 1)->remote_frees == 1 && tsplit_thread(&t, 1)->remote_reallocs == 1);
    CHECK(tsplit_thread(&t, 0)->remote_frees == 0 && tsplit_thread(&t, 0)->waits == 1);
    tsplit_free(&t);
}

static void test_many_threads(void)
{
    /* 40 threads, each allocating one block the next thread frees */
    char text[4096];
    size_t n = 0;
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "#@ thread %d\n%sa 0 8\n", 1000 + i,
                              i ? "f 0\n" : "");
    tsplit_t t;
    deps_t d;
    run(&t, &d, text);
    CHECK(t.nthreads == 40);
    for (uint32_t i = 0; i < 40; i++)
        CHECK(tsplit_thread(&t, i)->id == 1000 + i);
    /* every f waits for the previous thread's a */
    CHECK(t.waits == 39 && t.remote_frees == 39);
    CHECK(d.dep[1].thread == 0 && d.dep[1].done == 1);
    CHECK(d.dep[3].thread == 1 && d.dep[3].done == 2);
    tsplit_free(&t);
}

int main(void)
{
    test_one_thread();
    test_cross_thread();
    test_many_threads();
    return check_done();
}
