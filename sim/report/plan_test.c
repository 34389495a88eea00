/* plan_test.c: a plan read back is the experiment it was written from --
 * every trace, workload parameter, allocator (skipped ones with their
 * reason), sweep value and unit, in order, and the run's settings -- and a
 * damaged plan is an error at its line, with nothing left allocated. */
#include "sim/report/plan.h"
#include "alloc/check.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char pt_root[4096];

static void pt_write(const char *rel, const char *text)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", pt_root, rel);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static void pt_setup(void)
{
    const char *tmp = getenv("TEST_TMPDIR");
    snprintf(pt_root, sizeof pt_root, "%s/plantest.%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
    char path[8192];
    mkdir(pt_root, 0755);
    snprintf(path, sizeof path, "%s/traces", pt_root);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/scripts", pt_root);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/scripts/workloads", pt_root);
    mkdir(path, 0755);
    pt_write("traces/a.txt", "a 1 20\nf 1\n");
    pt_write("traces/b\ttab.txt", "a 1 10\nf 1\n");
    pt_write("scripts/workloads/w.lua", "local z = param('z', '')\nfree(alloc(param('n', 1)))\n");
    pt_write("exp.lua", "name('p')\nrepeats(3)\nsamples(50)\n"
                        "trace('traces/a.txt')\ntrace('traces/b\\ttab.txt', 'b')\n"
                        "workload('w', {seed = 9, params = {n = 5, z = 'x\\ty'}})\n"
                        "workload('w', {seed = 2, sweep = {n = {1, 2}}})\n"
                        "allocator('raw')\nallocator('pymalloc')\n"
                        "sweep{alloc = 'pymalloc', param = 'arena', values = {'256K', '1M'}}\n"
                        "sweep{alloc = 'pymalloc', param = 'arena', values = {'4M'}, "
                        "traces = {'b'}, repeats = 1, title = 't'}\n");
}

static void pt_same(const plan_t *a, const plan_t *b)
{
    const exp_t *x = &a->exp, *y = &b->exp;
    CHECK(!strcmp(x->name, y->name) && !strcmp(x->file, y->file) && !strcmp(x->root, y->root));
    CHECK(x->repeat == y->repeat && x->samples == y->samples);
    CHECK(x->ntraces == y->ntraces && x->nallocs == y->nallocs && x->nsweeps == y->nsweeps &&
          x->nunits == y->nunits);
    for (size_t t = 0; t < x->ntraces && t < y->ntraces; t++) {
        const exp_trace_t *p = &x->traces[t], *q = &y->traces[t];
        CHECKF(!strcmp(p->name, q->name) && !strcmp(p->path, q->path), "trace %zu", t);
        CHECK((p->script == NULL) == (q->script == NULL));
        CHECK(!p->script || !strcmp(p->script, q->script));
        CHECK(p->seed == q->seed && p->line == q->line && p->ndefs == q->ndefs);
        /* a workload sweep's points keep their group and parameter */
        CHECK((p->group == NULL) == (q->group == NULL) && (p->swept == NULL) == (q->swept == NULL));
        CHECK(!p->group || (!strcmp(p->group, q->group) && !strcmp(p->swept, q->swept)));
        for (size_t d = 0; d < p->ndefs && d < q->ndefs; d++)
            CHECK(!strcmp(p->defs[d].key, q->defs[d].key) &&
                  !strcmp(p->defs[d].value, q->defs[d].value));
    }
    for (size_t i = 0; i < x->nallocs && i < y->nallocs; i++)
        CHECK(!strcmp(x->allocs[i].spec, y->allocs[i].spec) &&
              x->allocs[i].optional == y->allocs[i].optional);
    for (size_t s = 0; s < x->nsweeps && s < y->nsweeps; s++) {
        const exp_sweep_t *p = &x->sweeps[s], *q = &y->sweeps[s];
        CHECK(!strcmp(p->title, q->title) && !strcmp(p->base, q->base) &&
              !strcmp(p->param, q->param) && p->repeat == q->repeat && p->numeric == q->numeric &&
              p->nvalues == q->nvalues && p->ntraces == q->ntraces);
        for (size_t v = 0; v < p->nvalues && v < q->nvalues; v++)
            CHECK(!strcmp(p->values[v], q->values[v]) && p->x[v] == q->x[v]);
        for (size_t k = 0;
             k < p->ntraces * p->nvalues && p->ntraces == q->ntraces && p->nvalues == q->nvalues;
             k++)
            CHECK(p->points[k] == q->points[k]);
    }
    for (size_t u = 0; u < x->nunits && u < y->nunits; u++)
        CHECKF(x->units[u].trace == y->units[u].trace && x->units[u].repeat == y->units[u].repeat &&
                   !strcmp(x->units[u].spec, y->units[u].spec),
               "unit %zu", u);
    for (size_t k = 0; k < x->ntraces * x->nallocs && x->nallocs == y->nallocs; k++)
        CHECK(x->grid[k] == y->grid[k]);
    CHECK(a->seed == b->seed && a->retries == b->retries);
    CHECK(!strcmp(a->partition, b->partition) && b->time == NULL);
    CHECK(b->nsbatch_args == 2 && !strcmp(b->sbatch_args[1], "--comment=a\tb"));
    CHECK(!strcmp(a->command, b->command) && !strcmp(a->stamp, b->stamp));
    CHECK(b->sys.n == a->sys.n && !strcmp(sysinfo_get(&b->sys, "host"), "h\\1"));
}

static void pt_roundtrip(void)
{
    char path[8192], plan_path[8192], err[1024];
    snprintf(path, sizeof path, "%s/exp.lua", pt_root);
    snprintf(plan_path, sizeof plan_path, "%s/plan.txt", pt_root);
    plan_t a = {0}, b;
    CHECKF(exp_load(&a.exp, path, pt_root, NULL, 0, err, sizeof err) == 0, "%s", err);
    CHECK(exp_set_trace_path(&a.exp, 2, "/r/traces/w-s9.atr") == 0);
    CHECK(a.exp.ntraces == 5 && a.exp.traces[4].swept && !strcmp(a.exp.traces[4].group, "w-s2"));
    CHECK(exp_set_trace_path(&a.exp, 3, "/r/traces/w-s2.n-1.atr") == 0);
    CHECK(exp_set_trace_path(&a.exp, 4, "/r/traces/w-s2.n-2.atr") == 0);
    char *args[] = {"--exclusive", "--comment=a\tb"};
    a.seed = 77;
    a.retries = 4;
    a.partition = "short";
    a.sbatch_args = args;
    a.nsbatch_args = 2;
    a.command = "cd /x && arenalab report exp.lua --slurm";
    snprintf(a.stamp, sizeof a.stamp, "2026-01-02 03:04:05");
    sysinfo_put(&a.sys, "host", "h\\1");
    sysinfo_put(&a.sys, "cpu", "a CPU\nwith a newline");
    CHECKF(plan_write(&a, plan_path, err, sizeof err) == 0, "%s", err);
    CHECKF(plan_read(&b, plan_path, err, sizeof err) == 0, "%s", err);
    CHECK(exp_is_valid(&b.exp));
    pt_same(&a, &b);
    plan_free(&b);

    /* Damage: each line cut out in turn is an error or the same plan. */
    FILE *f = fopen(plan_path, "r");
    CHECK(f != NULL);
    char lines[200][2048];
    size_t n = 0;
    while (f && n < 200 && fgets(lines[n], sizeof lines[n], f))
        n++;
    if (f) fclose(f);
    for (size_t skip = 0; skip < n; skip++) {
        FILE *g = fopen(plan_path, "w");
        for (size_t i = 0; g && i < n; i++)
            if (i != skip) fputs(lines[i], g);
        if (g) fclose(g);
        int rc = plan_read(&b, plan_path, err, sizeof err);
        /* only "env" and "sbatch_arg" lines may go (a fact fewer) */
        int optional = !strncmp(lines[skip], "env\t", 4) || !strncmp(lines[skip], "sbatch_arg", 10);
        CHECKF(rc == -1 || optional, "line %zu cut: %s", skip + 1, lines[skip]);
        if (rc == 0) plan_free(&b);
        CHECKF(rc == 0 || strstr(err, plan_path), "line %zu cut: %s", skip + 1, err);
    }
    FILE *g = fopen(plan_path, "w");
    if (g) {
        fputs("arenalab-plan\t1\nname\tp\ncounts\t1\t0\t0\t0\nwhat\t1\n", g);
        fclose(g);
    }
    CHECK(plan_read(&b, plan_path, err, sizeof err) == -1 && strstr(err, ":4: an unknown record"));
    CHECK(plan_read(&b, "/nonexistent/plan.txt", err, sizeof err) == -1);
    exp_free(&a.exp);
}

int main(void)
{
    pt_setup();
    pt_roundtrip();
    return check_done();
}
