/* callgrind_test.c: callgrind's output files are read as callgrind writes
 * them (events in any order, trailing zeros left out, totals preferred
 * over the summary), bad files are refused with a reason, the probes'
 * cost comes off in proportion, and the command line carries the fixed
 * caches.  Counting itself, under valgrind: sim/cli/costs_test.sh. */
#include "sim/replay/callgrind.h"
#include "alloc/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *ctest_path(const char *name)
{
    static char path[600];
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(path, sizeof path, "%s/%s", tmp && *tmp ? tmp : "/tmp", name);
    return path;
}

static const char *ctest_write(const char *name, const char *text)
{
    const char *path = ctest_path(name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

static void ctest_parse(void)
{
    char err[512];
    cg_counts_t c;
    /* as callgrind 3.19 writes a dump (--dump-instr=no) */
    const char *p = ctest_write("cg_good", "# callgrind format\n"
                                           "version: 1\n"
                                           "creator: callgrind-3.19.0\n"
                                           "pid: 4242\n"
                                           "cmd:  arenalab replay --worker\n"
                                           "part: 1\n\n"
                                           "desc: I1 cache: 32768 B, 64 B, 8-way associative\n"
                                           "desc: Trigger: Client Request: events\n\n"
                                           "positions: line\n"
                                           "events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw\n"
                                           "summary: 1000 300 200 5 40 30 2 7 3\n\n"
                                           "fl=(1) replay.c\nfn=(1) pymalloc_malloc\n"
                                           "10 600 100 100 1 20 10 1 3 1\n\n"
                                           "totals: 1000 300 200 5 40 30 2 7 3\n");
    CHECKF(cg_parse(p, &c, err, sizeof err) == 0, "%s", err);
    const uint64_t want[CG_NEVENTS] = {1000, 300, 200, 5, 40, 30, 2, 7, 3};
    CHECK(memcmp(c.v, want, sizeof want) == 0);

    /* trailing zeros left out, events in another order, summary only */
    p = ctest_write("cg_short", "events: Dr Ir Dw I1mr D1mr D1mw ILmr DLmr DLmw\n"
                                "summary: 5 9\n");
    CHECKF(cg_parse(p, &c, err, sizeof err) == 0, "%s", err);
    CHECK(c.v[CG_IR] == 9 && c.v[CG_DR] == 5 && c.v[CG_DW] == 0 && c.v[CG_DLMW] == 0);

    /* not callgrind's, or without the cache simulation, or missing */
    p = ctest_write("cg_bad", "hello\n");
    CHECK(cg_parse(p, &c, err, sizeof err) < 0 && strstr(err, "not a callgrind output"));
    p = ctest_write("cg_nosim", "events: Ir\nsummary: 100\ntotals: 100\n");
    CHECK(cg_parse(p, &c, err, sizeof err) < 0 && strstr(err, "counted no Dr"));
    CHECK(cg_parse(ctest_path("cg_missing_file"), &c, err, sizeof err) < 0 &&
          strstr(err, "cannot open"));
}

static void ctest_subtract(void)
{
    cg_counts_t run = {{0}}, probe = {{0}}, out;
    run.v[CG_IR] = 100000;
    run.v[CG_DW] = 5000;
    run.v[CG_D1MR] = 3;
    probe.v[CG_IR] = 5 * CG_PROBE_PAIRS; /* 5 a pair */
    probe.v[CG_DW] = 2 * CG_PROBE_PAIRS;
    probe.v[CG_D1MR] = 1; /* one miss in all the pairs */
    cg_subtract(&run, 1000, &probe, &out);
    CHECK(out.v[CG_IR] == 100000 - 5000 && out.v[CG_DW] == 5000 - 2000);
    CHECK(out.v[CG_D1MR] == 2); /* 1 * 1000 / 1000 */
    cg_subtract(&run, 100000, &probe, &out);
    CHECK(out.v[CG_IR] == 0 && out.v[CG_DW] == 0); /* never below 0 */
}

static void ctest_argv(void)
{
    char buf[2][CG_ARG_MAX];
    const char *argv[CG_MAX_ARGS];
    int n = cg_argv("/usr/bin/valgrind", "/tmp/x/cg", buf, argv);
    CHECK(n > 3 && n <= CG_MAX_ARGS);
    CHECK(strcmp(argv[0], "/usr/bin/valgrind") == 0);
    int tool = 0, off = 0, sim = 0, out = 0, log = 0, ll = 0;
    for (int i = 0; i < n; i++) {
        tool |= !strcmp(argv[i], "--tool=callgrind");
        off |= !strcmp(argv[i], "--collect-atstart=no");
        sim |= !strcmp(argv[i], "--cache-sim=yes");
        out |= !strcmp(argv[i], "--callgrind-out-file=/tmp/x/cg");
        log |= !strcmp(argv[i], "--log-file=/tmp/x/cg.log");
        ll |= !strcmp(argv[i], "--LL=" CG_LL);
    }
    CHECK(tool && off && sim && out && log && ll);
    CHECK(strcmp(cg_event_name[CG_IR], "Ir") == 0 && strcmp(cg_event_name[CG_DLMW], "DLmw") == 0);
}

static void ctest_check(void)
{
    char path[512], err[512];
    /* outside valgrind the requests do nothing */
    CHECK(!cg_running());
    cg_on();
    cg_off();
    cg_zero();
    cg_probe_pairs();
#if defined(__SANITIZE_ADDRESS__)
    CHECK(cg_check(path, sizeof path, err, sizeof err) < 0 && strstr(err, "sanitized"));
#else
    setenv("ARENALAB_VALGRIND", "/nonexistent/valgrind", 1);
    CHECK(cg_check(path, sizeof path, err, sizeof err) < 0 && strstr(err, "ARENALAB_VALGRIND"));
    setenv("ARENALAB_VALGRIND", "/bin/sh", 1);
    CHECK(cg_check(path, sizeof path, err, sizeof err) == 0 && strcmp(path, "/bin/sh") == 0);
    unsetenv("ARENALAB_VALGRIND");
    const char *saved = getenv("PATH");
    char *copy = saved ? strdup(saved) : NULL;
    setenv("PATH", "/nonexistent", 1);
    CHECK(cg_check(path, sizeof path, err, sizeof err) < 0 && strstr(err, "scripts/setup"));
    if (copy) setenv("PATH", copy, 1);
    free(copy);
#endif
}

int main(void)
{
    ctest_parse();
    ctest_subtract();
    ctest_argv();
    ctest_check();
    return check_done();
}
