/* taskfile_test.c: a task's result read back holds bit for bit what was
 * written -- figures, NaN and subnormal doubles, every timed run, the
 * series with its extra columns, the machine -- and a result of another
 * task, another unit or cut short is an error that leaves the runs
 * zeroed. */
#include "sim/report/taskfile.h"
#include "alloc/check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Two units of an experiment with three (unit 1 belongs to another task). */
static exp_unit_t tt_units[] = {{0, "raw", 2}, {1, "raw", 0}, {0, "pymalloc:arena=1M", 2}};
static exp_t tt_exp = {.units = tt_units, .nunits = 3};

static void tt_run(driver_run_t *r, const char *name, double first)
{
    memset(r, 0, sizeof *r);
    snprintf(r->allocator, sizeof r->allocator, "%s", name);
    snprintf(r->config, sizeof r->config, "cfg-%s", name);
    r->m.events = 123456789012345ull;
    r->m.peak_resident = 4096;
    r->m.internal_frag = NAN;
    r->m.frag.jw1 = 4.9e-324;
    r->m.frag.util = 1.0 / 3.0;
    r->repeat = 2;
    r->ns_runs = malloc(2 * sizeof *r->ns_runs);
    r->ns_runs[0] = first;
    r->ns_runs[1] = -INFINITY;
    r->ns_per_event.n = 2;
    r->ns_per_event.median = first / 7;
    r->timing_too_short = 1;
    CHECK(metrics_series_init(&r->series, 4, 0) == 0);
    int j = metrics_series_extra(&r->series, "pools");
    metrics_sample_t s = {1, 2, 3, 4, 5};
    for (int i = 0; i < 3; i++) {
        s.event += (uint64_t)i;
        long k = metrics_series_add(&r->series, &s);
        if (i != 1) r->series.extra[(size_t)k * METRICS_MAX_EXTRA + (size_t)j] = 10u + (unsigned)i;
    }
}

static void tt_same(const driver_run_t *a, const driver_run_t *b)
{
    CHECK(!strcmp(a->allocator, b->allocator) && !strcmp(a->config, b->config) &&
          !strcmp(a->same_as, b->same_as));
    CHECK(memcmp(&a->m, &b->m, sizeof a->m) == 0);
    CHECK(memcmp(&a->ns_per_event, &b->ns_per_event, sizeof a->ns_per_event) == 0);
    CHECK(a->repeat == b->repeat && a->timing_too_short == b->timing_too_short);
    CHECK(b->ns_runs && memcmp(a->ns_runs, b->ns_runs, a->repeat * sizeof(double)) == 0);
    CHECK(a->series.n == b->series.n && a->series.nextra == b->series.nextra);
    CHECK(!strcmp(b->series.extra_name[0], "pools"));
    for (size_t i = 0; i < a->series.n && i < b->series.n; i++) {
        CHECK(memcmp(&a->series.s[i], &b->series.s[i], sizeof a->series.s[i]) == 0);
        CHECK(a->series.extra[i * METRICS_MAX_EXTRA] == b->series.extra[i * METRICS_MAX_EXTRA]);
    }
}

static int tt_empty(const driver_run_t *r)
{
    static const driver_run_t zero;
    return memcmp(r, &zero, sizeof *r) == 0;
}

int main(void)
{
    char path[4096], err[1024];
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(path, sizeof path, "%s/task-3.result.%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
    driver_run_t runs[3], back[3];
    tt_run(&runs[0], "raw", 12.5);
    tt_run(&runs[2], "pymalloc:arena=1M", 0.1);
    snprintf(runs[2].same_as, sizeof runs[2].same_as, "pymalloc");
    taskfile_node_t node = {.seconds = 1.25}, got;
    snprintf(node.job, sizeof node.job, "41_3");
    sysinfo_put(&node.sys, "host", "node7");
    sysinfo_put(&node.sys, "cpu", "cpu\twith a tab");
    const size_t units[] = {0, 2};
    CHECKF(taskfile_write(path, 3, &node, &tt_exp, units, 2, runs, err, sizeof err) == 0, "%s",
           err);

    memset(back, 0, sizeof back);
    CHECKF(taskfile_read(path, 3, &got, &tt_exp, units, 2, back, err, sizeof err) == 0, "%s", err);
    CHECK(got.seconds == 1.25 && !strcmp(got.job, "41_3"));
    CHECK(!strcmp(sysinfo_get(&got.sys, "cpu"), "cpu\twith a tab"));
    tt_same(&runs[0], &back[0]);
    tt_same(&runs[2], &back[2]);
    CHECK(tt_empty(&back[1]));
    driver_run_release(&back[0]);
    driver_run_release(&back[2]);

    /* Another task's file, other units: errors, nothing kept. */
    memset(back, 0, sizeof back);
    CHECK(taskfile_read(path, 4, &got, &tt_exp, units, 2, back, err, sizeof err) == -1 &&
          strstr(err, "another task"));
    CHECK(tt_empty(&back[0]) && tt_empty(&back[2]));
    const size_t other[] = {1, 2};
    CHECK(taskfile_read(path, 3, &got, &tt_exp, other, 2, back, err, sizeof err) == -1 &&
          strstr(err, "not the unit"));
    CHECK(tt_empty(&back[0]) && tt_empty(&back[1]) && tt_empty(&back[2]));

    /* Cut short anywhere: an error. */
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t cap = 0;
    ssize_t len = f ? getdelim(&text, &cap, '\0', f) : -1;
    if (f) fclose(f);
    CHECK(len > 0);
    for (ssize_t cut = 0; cut < len; cut += 7) {
        FILE *g = fopen(path, "w");
        if (g) {
            fwrite(text, 1, (size_t)cut, g);
            fclose(g);
        }
        CHECKF(taskfile_read(path, 3, &got, &tt_exp, units, 2, back, err, sizeof err) == -1,
               "cut at %zd", cut);
        CHECK(tt_empty(&back[0]) && tt_empty(&back[2]));
    }
    free(text);
    unlink(path);
    driver_run_release(&runs[0]);
    driver_run_release(&runs[2]);
    return check_done();
}
