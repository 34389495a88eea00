/* summary.c: summary.md of a report (see summary.h). */
#include "sim/report/summary.h"
#include "alloc/params.h"
#include "sim/base/outfile.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

/* A table cell: '|' would end it.  Allocators by their short names (a
 * so:/plugin: spec without its library's path). */
static void summary_cell(FILE *f, const char *s)
{
    char show[512];
    alloc_spec_display(s, show, sizeof show);
    for (s = show; *s; s++) {
        if (*s == '|') fputc('\\', f);
        fputc(*s, f);
    }
}

/* As html_margin: a memory lead of at most RESULTS_RSS_PAGES pages says so. */
static void summary_margin(FILE *f, const results_t *r, const results_best_t *b)
{
    if (b->second == EXP_NONE) {
        fputs("only one", f);
        return;
    }
    if (b->margin == 0)
        fputs("tie with ", f);
    else if (!isinf(b->margin))
        fprintf(f, fabs(b->margin) < 0.1 ? "%+.1f%% for " : "%+.0f%% for ", 100 * b->margin);
    summary_cell(f, r->exp->units[b->second].spec);
    if (b->within) fprintf(f, " (within %d pages)", RESULTS_RSS_PAGES);
}

static void summary_ratio(FILE *f, double v)
{
    if (isnan(v) || isinf(v))
        fputs(" - |", f);
    else
        fprintf(f, " %.3f |", v);
}

/* Which machine ran which trace (a Slurm run, or more than one machine). */
static void summary_machines(const results_t *r, FILE *f)
{
    int slurm = r->executor && !strcmp(r->executor, "slurm");
    if (r->nnodes <= 1 && !slurm) return;
    fputs("\n## Machines\n\n", f);
    if (r->nnodes > 1)
        fprintf(f,
                "**Timings come from %zu different machines: do not compare ns/event across "
                "traces of different machines.** Each trace's allocators ran on one machine, "
                "interleaved, so the headline and every comparison within a trace stand; memory "
                "figures of our models do not depend on the machine.\n\n",
                r->nnodes);
    fputs("| trace | host | machine | cpu | Slurm job |\n|---|---|---|---|---|\n", f);
    for (size_t t = 0; t < r->exp->ntraces; t++) {
        const results_where_t *w = &r->where[t];
        if (w->node == EXP_NONE) continue;
        const sysinfo_t *sys = &r->nodes[w->node].sys;
        const char *cells[] = {r->exp->traces[t].name, sysinfo_get(sys, "host"),
                               r->nodes[w->node].machine, sysinfo_get(sys, "cpu"),
                               w->job[0] ? w->job : "-"};
        for (size_t c = 0; c < sizeof cells / sizeof *cells; c++) {
            fputs(c ? " | " : "| ", f);
            summary_cell(f, cells[c] ? cells[c] : "unknown");
        }
        fputs(" |\n", f);
    }
}

void summary_print(const results_t *r, FILE *f)
{
    const exp_t *e = r->exp;
    fprintf(f, "# arenalab report: %s\n\n", e->name);
    fprintf(f,
            "%s; %zu traces, %zu runs (%zu distinct configurations), %u timed repetitions each, "
            "interleaved (seed %llu); replays took %.1f s on %u job(s).\n\n",
            r->stamp, e->ntraces, e->nunits, results_distinct(r), e->repeat,
            (unsigned long long)r->seed, r->seconds, r->jobs);
    for (size_t a = 0; a < e->nallocs; a++)
        if (e->allocs[a].skip)
            fprintf(f, "- skipped %s: %s\n", e->allocs[a].spec, e->allocs[a].skip);
    fprintf(
        f,
        "\n## Headline\n\n"
        "Least peak resident memory and fastest median ns/event per trace; the margin is how much "
        "more the runner-up (another configuration) needed. A speed difference is *clear* "
        "when the Mann-Whitney U test on the two allocators' interleaved timed runs finds it "
        "at the 95 %% level after the Benjamini-Hochberg correction across this table's "
        "traces; the adjusted p-value is shown. A trace of fewer than %d events is too "
        "short to time and crowns no fastest. A memory lead of at most %d pages (%d KiB) "
        "says *within %d pages*: peak resident, the kernel's count of pages, moves by a few "
        "pages between identical runs of the real allocators, and one rule serves every "
        "allocator: such a lead is not told apart from that.\n\n",
        TIMING_MIN_EVENTS, RESULTS_RSS_PAGES, RESULTS_RSS_PAGES * 4, RESULTS_RSS_PAGES);
    fputs("| trace | least memory | peak resident | runner-up | fastest | ns/event | runner-up "
          "| difference |\n|---|---|---:|---|---|---:|---|---|\n",
          f);
    for (size_t t = 0; t < e->ntraces; t++) {
        results_best_t fp, sp;
        char b[32];
        results_best_footprint(r, t, &fp);
        results_best_speed(r, t, &sp);
        fputs("| ", f);
        summary_cell(f, e->traces[t].name);
        if (fp.best == EXP_NONE) {
            fputs(" | - | - | - |", f);
        } else {
            fputs(" | **", f);
            summary_cell(f, e->units[fp.best].spec);
            fprintf(f, "** | %s | ", output_bytes(r->runs[fp.best].m.peak_resident, b, sizeof b));
            summary_margin(f, r, &fp);
            fputs(" |", f);
        }
        if (sp.too_short) {
            fprintf(f, " too short to time (%" PRIu64 " events) | - | - | - |\n",
                    r->traces[t].events);
        } else if (sp.best == EXP_NONE) {
            fputs(" - | - | - | - |\n", f);
        } else {
            fputs(" **", f);
            summary_cell(f, e->units[sp.best].spec);
            fprintf(f, "** | %.1f | ", r->runs[sp.best].ns_per_event.median);
            summary_margin(f, r, &sp);
            char verdict[64];
            results_verdict(&sp, verdict, sizeof verdict);
            fprintf(f, " | %s |\n", verdict);
        }
    }
    summary_machines(r, f);
    rr_write_section(f, e, r->runs, r->real, 0);
    /* traces replayed on their threads get a threads column */
    int threads = 0;
    for (size_t u = 0; u < e->nunits; u++)
        threads |= r->runs[u].m.threads > 1;
    fputs("\n## Metrics\n\n"
          "ns/event: the median of the timed runs [a confidence interval for it, from order "
          "statistics, at the level given]. *(= A)*: the same configuration as A, run once.\n",
          f);
    fprintf(f, "%s.\n", output_memory_legend);
    if (threads)
        fputs("threads: the OS threads a trace's threads ran on (1: serialized, as the models "
              "always are); ns/event is then the wall time over all events.\n",
              f);
    fprintf(f,
            "\n| trace | allocator |%s ns/event [CI] | CI level | peak live | peak resident | "
            "jw4 | util |\n"
            "|---|---|%s---:|---:|---:|---:|---:|---:|\n",
            threads ? " threads |" : "", threads ? "---:|" : "");
    for (size_t u = 0; u < e->nunits; u++) {
        const driver_run_t *run = &r->runs[u];
        char b1[32], b2[32];
        fputs("| ", f);
        summary_cell(f, e->traces[e->units[u].trace].name);
        fputs(" | ", f);
        summary_cell(f, e->units[u].spec);
        if (run->same_as[0]) {
            fputs(" *(= ", f);
            summary_cell(f, run->same_as);
            fputs(")*", f);
        }
        if (threads) fprintf(f, " | %" PRIu64, run->m.threads);
        if (run->repeat)
            fprintf(f, " | %.1f [%.1f-%.1f]%s | %.1f %% |", run->ns_per_event.median,
                    run->ns_per_event.ci_low, run->ns_per_event.ci_high,
                    run->timing_too_short ? " too short" : "", 100 * run->ns_per_event.ci_level);
        else
            fputs(" | - | - |", f);
        fprintf(f, " %s | %s |", output_bytes(run->m.peak_live_bytes, b1, sizeof b1),
                output_bytes(run->m.peak_resident, b2, sizeof b2));
        summary_ratio(f, run->m.frag.jw4);
        summary_ratio(f, run->m.frag.util);
        fputc('\n', f);
    }
    fputs("\n## Reproduce\n\n```\n", f);
    fputs(r->command, f);
    fputs("\n```\n\nThe experiment as run: `experiment.lua`. Everything else: "
          "`experiment.json`, `runs.csv`, `runs.json`, `series/`, `plots/`.\n\n",
          f);
    for (size_t i = 0; i < r->sys.n; i++)
        fprintf(f, "- %s: %s\n", r->sys.e[i].key, r->sys.e[i].value);
}

int summary_write(const results_t *r, const char *dir, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/summary.md", dir);
    outfile_t o;
    if (outfile_open(&o, path, "w", err, errlen)) return -1;
    summary_print(r, o.fp);
    return outfile_commit(&o, err, errlen);
}
