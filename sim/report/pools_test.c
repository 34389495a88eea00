/* pools_test.c: pymalloc's pool table at a prefix of a trace -- parsed
 * from the allocator's own mallocstats, for exactly the blocks live then. */
#include "sim/report/pools.h"
#include "alloc/check.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const pools_class_t *pt_class(const pools_t *p, uint32_t size)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->c[i].size == size) return &p->c[i];
    return NULL;
}

static void pt_parse(void)
{
    static const char text[] = "Small block threshold = 512, in 32 size classes.\n\n"
                               "class   size   num pools   blocks in use  avail blocks\n"
                               "-----   ----   ---------   -------------  ------------\n"
                               "    1     32           1               5           505\n"
                               "   18    304           2              60            46\n"
                               "\n# arenas allocated total           =                    1\n";
    pools_t p;
    CHECK(pools_parse(text, &p) == 0);
    CHECK(p.n == 2);
    CHECK(p.c[0].cls == 1 && p.c[0].size == 32 && p.c[0].pools == 1 && p.c[0].blocks == 5 &&
          p.c[0].avail == 505);
    CHECK(p.c[1].cls == 18 && p.c[1].size == 304 && p.c[1].pools == 2);
    CHECK(pools_parse("no table here\n", &p) == -1);
}

static void pt_peak(void)
{
    const char *tmpdir = getenv("TEST_TMPDIR");
    char tmp[PATH_MAX], err[1024];
    snprintf(tmp, sizeof tmp, "%s/pools.%d.atr", tmpdir && *tmpdir ? tmpdir : "/tmp",
             (int)getpid());
    pools_t p;
    /* spec-example.txt: a 0 24 obj; a 1 100; r 1 300; f 0 obj; ...  After
     * three events: one 24-byte block (class 32), one of 300 (class 304). */
    int rc = pools_at_peak("traces/spec-example.txt", 3, "pymalloc", tmp, &p, err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    CHECK(p.events == 3);
    const pools_class_t *c32 = pt_class(&p, 32), *c304 = pt_class(&p, 304);
    CHECK(c32 && c32->blocks == 1 && c32->pools == 1);
    CHECK(c304 && c304->blocks == 1 && c304->pools == 1);
    CHECK(p.n == 2);
    CHECK(access(tmp, F_OK) != 0); /* the temporary trace is gone */

    /* Another pool size: the same blocks, other capacity. */
    CHECK(pools_at_peak("traces/spec-example.txt", 3, "pymalloc:pool=4K", tmp, &p, err,
                        sizeof err) == 0);
    c32 = pt_class(&p, 32);
    CHECK(c32 && c32->blocks + c32->avail < 4096 / 32);

    /* A class without a pool table, a missing trace. */
    CHECK(pools_at_peak("traces/spec-example.txt", 3, "raw", tmp, &p, err, sizeof err) == -1);
    CHECK(strstr(err, "no pool table") != NULL);
    CHECK(access(tmp, F_OK) != 0);
    CHECK(pools_at_peak("traces/none.txt", 3, "pymalloc", tmp, &p, err, sizeof err) == -1);
    CHECK(strstr(err, "traces/none.txt") != NULL);
}

int main(void)
{
    pt_parse();
    pt_peak();
    return check_done();
}
