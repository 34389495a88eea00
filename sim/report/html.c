/* html.c: index.html of a report (see html.h). */
#include "sim/report/html.h"
#include "alloc/params.h"
#include "sim/base/outfile.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char html_css[] =
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;color:#222;background:#fff;"
    "max-width:1500px;margin:1.5em auto;padding:0 1.2em;line-height:1.4}\n"
    "h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:2px solid #ddd;"
    "padding-bottom:.2em}h3{margin:1.4em 0 .4em}\n"
    ".meta{color:#555;margin-top:0}.note{background:#fff8e1;border-left:4px solid #f2b600;"
    "padding:.5em .8em;margin:1em 0}\n"
    "table{border-collapse:collapse;margin:.6em 0;font-size:.88em}\n"
    ".wide{overflow-x:auto}\n"
    "th,td{padding:.28em .65em;border-bottom:1px solid #e2e2e2;text-align:right;"
    "white-space:nowrap}\n"
    "th{background:#f4f4f4;border-bottom:2px solid #ccc}th.l,td.l{text-align:left}\n"
    "tr:hover td{background:#fafafa}\n"
    ".sw{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.4em;"
    "vertical-align:-.05em}\n"
    ".win{font-weight:bold}.dim{color:#777}\n"
    "figure{margin:1.2em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}\n"
    "figcaption{color:#444;max-width:62em;margin-top:.3em}figcaption b{color:#222}\n"
    ".pair{display:flex;flex-wrap:wrap;gap:1.2em}.pair figure{flex:1 1 560px;margin:.4em 0;"
    "max-width:720px}\n"
    "code,pre{font-family:'DejaVu Sans Mono',monospace;font-size:.9em}"
    "pre{background:#f6f6f6;padding:.6em .8em;overflow-x:auto}\n"
    "nav a{margin-right:1em}\n";

static void html_text(FILE *f, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
}

/* The allocator SPEC with its palette swatch. */
static void html_alloc(FILE *f, const results_t *r, const char *spec)
{
    char col[16];
    fprintf(f, "<span class=\"sw\" style=\"background:%s\"></span>",
            results_colour(r, spec, col, sizeof col));
    char show[512]; /* a so:/plugin: spec without its library's path */
    alloc_spec_display(spec, show, sizeof show);
    html_text(f, show);
}

static void html_ratio(FILE *f, double v)
{
    if (isnan(v) || isinf(v))
        fputs("&ndash;", f);
    else
        fprintf(f, "%.3f", v);
}

/* "+33%" or "tie"; the margin of a best over its runner-up.  A memory lead
 * of at most RESULTS_RSS_PAGES pages (b->within) is dim and says so. */
static void html_margin(FILE *f, const results_t *r, const results_best_t *b)
{
    if (b->second == EXP_NONE) {
        fputs("<td class=\"l dim\">only one</td>", f);
        return;
    }
    fputs(b->within ? "<td class=\"l dim\">" : "<td class=\"l\">", f);
    if (b->margin == 0)
        fputs("tie with ", f);
    else if (isinf(b->margin))
        fputs("next: ", f);
    else
        fprintf(f, fabs(b->margin) < 0.1 ? "%+.1f%% for " : "%+.0f%% for ", 100 * b->margin);
    html_alloc(f, r, r->exp->units[b->second].spec);
    if (b->within) fprintf(f, " (within %d pages)", RESULTS_RSS_PAGES);
    fputs("</td>", f);
}

static void html_headline(FILE *f, const results_t *r)
{
    const exp_t *e = r->exp;
    fputs("<h2 id=\"headline\">Headline</h2>\n"
          "<p>Per trace, the allocator that needed the least memory (peak resident) and the "
          "fastest one (median ns per event), each with how much more the runner-up needed. "
          "The runner-up is another configuration. A speed difference is <b>clear</b> when the "
          "Mann&ndash;Whitney U test on the two allocators' interleaved timed runs finds it at "
          "the 95&nbsp;% level after the Benjamini&ndash;Hochberg correction across this "
          "table's traces (the adjusted p-value is shown); otherwise it is not told apart from "
          "noise. A trace of fewer than 10&nbsp;000 events is too short to time and crowns no "
          "fastest.",
          f);
    fprintf(f,
            " A memory lead of at most %d pages (%d&nbsp;KiB) says <i>within %d pages</i>: "
            "peak resident, the kernel's count of pages, moves by a few pages between identical "
            "runs of the real allocators, and one rule serves every allocator: such a lead is "
            "not told apart from that.</p>\n",
            RESULTS_RSS_PAGES, RESULTS_RSS_PAGES * 4, RESULTS_RSS_PAGES);
    fputs("<div class=\"wide\"><table>\n<tr><th class=\"l\">trace</th><th>peak live</th>"
          "<th class=\"l\">least memory</th><th>peak resident</th><th class=\"l\">runner-up"
          "</th><th class=\"l\">fastest</th><th>ns/event</th><th class=\"l\">runner-up</th>"
          "<th class=\"l\">difference</th></tr>\n",
          f);
    for (size_t t = 0; t < e->ntraces; t++) {
        const results_trace_t *rt = &r->traces[t];
        char b1[32];
        results_best_t fp, sp;
        results_best_footprint(r, t, &fp);
        results_best_speed(r, t, &sp);
        fputs("<tr><td class=\"l\"><a href=\"#trace-", f);
        html_text(f, e->traces[t].name);
        fputs("\">", f);
        html_text(f, e->traces[t].name);
        fprintf(f, "</a></td><td>%s</td>", output_bytes(rt->peak_bytes, b1, sizeof b1));
        if (fp.best == EXP_NONE) {
            fputs("<td class=\"l dim\" colspan=\"3\">no run</td>", f);
        } else {
            fputs("<td class=\"l win\">", f);
            html_alloc(f, r, e->units[fp.best].spec);
            fprintf(f, "</td><td>%s</td>",
                    output_bytes(r->runs[fp.best].m.peak_resident, b1, sizeof b1));
            html_margin(f, r, &fp);
        }
        if (sp.too_short) {
            fprintf(f,
                    "<td class=\"l dim\" colspan=\"4\">too short to time (%" PRIu64 " events)</td>",
                    rt->events);
        } else if (sp.best == EXP_NONE) {
            fputs("<td class=\"l dim\" colspan=\"4\">no timed run</td>", f);
        } else {
            fputs("<td class=\"l win\">", f);
            html_alloc(f, r, e->units[sp.best].spec);
            fprintf(f, "</td><td>%.1f</td>", r->runs[sp.best].ns_per_event.median);
            html_margin(f, r, &sp);
            char verdict[64];
            fprintf(f, "<td class=\"l%s\">%s</td>", sp.clear ? "" : " dim",
                    results_verdict(&sp, verdict, sizeof verdict));
        }
        fputs("</tr>\n", f);
    }
    fputs("</table></div>\n", f);
}

static void html_figure(FILE *f, const figures_item_t *it)
{
    fputs("<figure><a href=\"plots/", f);
    html_text(f, it->base);
    fputs(".svg\"><img src=\"plots/", f);
    html_text(f, it->base);
    fputs(".svg\" alt=\"", f);
    html_text(f, it->title);
    fputs("\"></a><figcaption><b>", f);
    html_text(f, it->title);
    fputs(".</b> ", f);
    html_text(f, it->caption);
    fputs(" <span class=\"dim\">(<a href=\"plots/", f);
    html_text(f, it->base);
    fputs(".png\">PNG</a>, <a href=\"plots/", f);
    html_text(f, it->base);
    fputs(".gp\">gnuplot script</a>)</span></figcaption></figure>\n", f);
}

/* The notes of one section: what it lacks and why (figures.h). */
static void html_notes(FILE *f, const figures_t *figs, figures_kind_t kind, size_t index)
{
    for (size_t i = 0; i < figs->nnotes; i++) {
        const figures_note_t *n = &figs->note[i];
        if (n->kind != kind || (kind != FIGURES_OVERVIEW && n->index != index)) continue;
        fputs("<p class=\"dim\">", f);
        html_text(f, n->text);
        fputs("</p>\n", f);
    }
}

static void html_figures(FILE *f, const results_t *r, const figures_t *figs)
{
    const exp_t *e = r->exp;
    fputs("<h2 id=\"overview\">Overview</h2>\n", f);
    html_notes(f, figs, FIGURES_OVERVIEW, 0);
    for (size_t i = 0; i < figs->n; i++)
        if (figs->f[i].kind == FIGURES_OVERVIEW) html_figure(f, &figs->f[i]);
    if (e->nsweeps) {
        fputs("<h2 id=\"sweeps\">Sweeps</h2>\n", f);
        for (size_t s = 0; s < e->nsweeps; s++) {
            fputs("<h3>", f);
            html_text(f, e->sweeps[s].title);
            fputs("</h3>\n", f);
            html_notes(f, figs, FIGURES_SWEEP, s);
            fputs("<div class=\"pair\">\n", f);
            for (size_t i = 0; i < figs->n; i++)
                if (figs->f[i].kind == FIGURES_SWEEP && figs->f[i].index == s)
                    html_figure(f, &figs->f[i]);
            fputs("</div>\n", f);
        }
    }
    fputs("<h2 id=\"traces\">Per trace</h2>\n", f);
    for (size_t t = 0; t < e->ntraces; t++) {
        fputs("<h3 id=\"trace-", f);
        html_text(f, e->traces[t].name);
        fputs("\">", f);
        html_text(f, e->traces[t].name);
        fputs("</h3>\n", f);
        html_notes(f, figs, FIGURES_TRACE, t);
        fputs("<div class=\"pair\">\n", f);
        for (size_t i = 0; i < figs->n; i++)
            if (figs->f[i].kind == FIGURES_TRACE && figs->f[i].index == t)
                html_figure(f, &figs->f[i]);
        fputs("</div>\n", f);
    }
}

/* The metric columns of the full tables. */
static void html_metrics(FILE *f, const results_t *r)
{
    const exp_t *e = r->exp;
    fputs("<h2 id=\"metrics\">Metrics</h2>\n"
          "<p>Every run of every trace: the grid's allocators first, then the sweep points. ",
          f);
    html_text(f, output_memory_legend);
    fputs(". J&amp;W #1&ndash;#4 are Johnstone &amp; Wilson's fragmentation figures, from "
          "resident memory: #1 the mean over samples of resident / live - 1, #2 resident / live "
          "- 1 at peak live, #3 peak resident / live at that moment - 1, #4 peak resident / peak "
          "live - 1. internal = (usable - requested) / requested bytes of the live blocks at "
          "peak live. With measure(\"instructions\"): "
          "instructions and L1 / last-level data cache misses per event, counted under "
          "callgrind (exact); with measure(\"latency\"): percentiles of the allocator calls, "
          "in ns. The same figures are in "
          "<a href=\"runs.csv\">runs.csv</a> and <a href=\"runs.json\">runs.json</a>.</p>\n",
          f);
    int counts = (e->measure & DRIVER_MEASURE_INSTRUCTIONS) != 0;
    int latency = (e->measure & DRIVER_MEASURE_LATENCY) != 0;
    for (size_t t = 0; t < e->ntraces; t++) {
        fputs("<h3>", f);
        html_text(f, e->traces[t].name);
        fprintf(f,
                " <span class=\"dim\">(%" PRIu64 " events)</span></h3>\n<div class=\"wide\">"
                "<table>\n<tr><th class=\"l\">allocator</th><th>ns/event</th>",
                r->traces[t].events);
        fputs("<th>CI of the median</th><th>peak live</th><th>peak resident</th><th>peak held</th>"
              "<th>J&amp;W #1</th><th>#2</th><th>#3</th><th>#4</th><th>util</th>"
              "<th>internal</th>",
              f);
        if (counts) fputs("<th>instr/event</th><th>D1 misses</th><th>LL misses</th>", f);
        if (latency) fputs("<th>p50 ns</th><th>p99 ns</th><th>p99.99 ns</th><th>max ns</th>", f);
        /* a trace replayed on its threads (sim/replay/threads.h) */
        int threads = 0;
        for (size_t u = 0; u < e->nunits; u++)
            threads |= e->units[u].trace == t && r->runs[u].m.threads > 1;
        if (threads) fputs("<th>threads</th><th>events/s</th><th>CPU ns/event</th>", f);
        fputs("</tr>\n", f);
        for (size_t u = 0; u < e->nunits; u++) {
            if (e->units[u].trace != t) continue;
            const driver_run_t *run = &r->runs[u];
            char b1[32], b2[32], b3[32];
            fputs("<tr><td class=\"l\">", f);
            html_alloc(f, r, e->units[u].spec);
            if (run->same_as[0]) {
                fputs(" <span class=\"dim\">(same configuration as ", f);
                html_text(f, run->same_as);
                fputs(")</span>", f);
            }
            if (run->repeat)
                fprintf(f, "</td><td>%.1f%s</td><td>%.1f&ndash;%.1f (%.1f&nbsp;%%)</td>",
                        run->ns_per_event.median, run->timing_too_short ? " (too short)" : "",
                        run->ns_per_event.ci_low, run->ns_per_event.ci_high,
                        100 * run->ns_per_event.ci_level);
            else
                fputs("</td><td>&ndash;</td><td>&ndash;</td>", f);
            fprintf(f, "<td>%s</td><td>%s</td><td>%s</td>",
                    output_bytes(run->m.peak_live_bytes, b1, sizeof b1),
                    output_bytes(run->m.peak_resident, b2, sizeof b2),
                    output_bytes(run->m.peak_held, b3, sizeof b3));
            const double v[] = {run->m.frag.jw1, run->m.frag.jw2,  run->m.frag.jw3,
                                run->m.frag.jw4, run->m.frag.util, run->m.internal_frag};
            for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
                fputs("<td>", f);
                html_ratio(f, v[k]);
                fputs("</td>", f);
            }
            const double c[] = {run->instructions_per_event, run->d1_misses_per_event,
                                run->ll_misses_per_event};
            for (size_t k = 0; counts && k < sizeof c / sizeof c[0]; k++)
                if (isnan(c[k]))
                    fputs("<td>&ndash;</td>", f);
                else
                    fprintf(f, "<td>%.*f</td>", k ? 3 : 1, c[k]);
            const lat_summary_t *a = &run->latency[LAT_ALL];
            const double l[] = {a->q[0], a->q[2], a->q[4], a->max}; /* p50 p99 p99.99 max */
            for (size_t k = 0; latency && k < sizeof l / sizeof l[0]; k++)
                if (run->lat && a->count)
                    fprintf(f, "<td>%.0f</td>", l[k]);
                else
                    fputs("<td>&ndash;</td>", f);
            if (threads) {
                fprintf(f, "<td>%" PRIu64 "</td>", run->m.threads);
                const double tv[] = {run->events_per_s, run->cpu_ns_per_event};
                for (size_t k = 0; k < 2; k++)
                    if (isnan(tv[k]))
                        fputs("<td>&ndash;</td>", f);
                    else
                        fprintf(f, k ? "<td>%.1f</td>" : "<td>%.3g</td>", tv[k]);
            }
            fputs("</tr>\n", f);
        }
        fputs("</table></div>\n", f);
    }
}

/* Which machine ran which trace: shown when the run was spread over a
 * cluster or over more than one machine. */
static void html_machines(FILE *f, const results_t *r)
{
    int slurm = r->executor && !strcmp(r->executor, "slurm");
    if (r->nnodes <= 1 && !slurm) return;
    fputs("<h2 id=\"machines\">Machines</h2>\n", f);
    if (r->nnodes > 1)
        fprintf(f,
                "<div class=\"note\"><b>Timings come from %zu different machines: do not "
                "compare ns/event across traces of different machines</b> (the speed plot "
                "puts them side by side). Each trace's allocators ran on one machine, their "
                "timed runs interleaved, so the headline and every comparison within a trace "
                "stand. Memory figures of our models do not depend on the machine.</div>\n",
                r->nnodes);
    else
        fputs("<p>Every trace ran on the same machine: timings compare across traces.</p>\n", f);
    fputs("<table>\n<tr><th class=\"l\">trace</th><th class=\"l\">host</th><th "
          "class=\"l\">machine</th><th class=\"l\">cpu</th><th class=\"l\">kernel</th>",
          f);
    if (slurm) fputs("<th class=\"l\">Slurm job</th><th>replays (s)</th>", f);
    fputs("</tr>\n", f);
    for (size_t t = 0; t < r->exp->ntraces; t++) {
        const results_where_t *w = &r->where[t];
        if (w->node == EXP_NONE) continue;
        const sysinfo_t *sys = &r->nodes[w->node].sys;
        const char *cells[] = {r->exp->traces[t].name,     sysinfo_get(sys, "host"),
                               r->nodes[w->node].machine,  sysinfo_get(sys, "cpu"),
                               sysinfo_get(sys, "kernel"), w->job};
        fputs("<tr>", f);
        for (size_t c = 0; c < sizeof cells / sizeof *cells - !slurm; c++) {
            fputs("<td class=\"l\">", f);
            html_text(f, cells[c] ? cells[c] : "unknown");
            fputs("</td>", f);
        }
        if (slurm) fprintf(f, "<td>%.1f</td>", w->seconds);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n<p class=\"dim\">Each machine's full environment is in <a "
          "href=\"experiment.json\">experiment.json</a> (<code>machines</code>); <a "
          "href=\"nodes.csv\">nodes.csv</a> is what <code>arenalab compare</code> reads.</p>\n",
          f);
}

static void html_reproduce(FILE *f, const results_t *r)
{
    fputs("<h2 id=\"reproduce\">Reproduce</h2>\n<p>From the repository, at the commit below:"
          "</p>\n<pre>",
          f);
    html_text(f, r->command);
    int generated = 0;
    for (size_t t = 0; t < r->exp->ntraces; t++)
        generated |= r->exp->traces[t].script != NULL;
    fprintf(f,
            "</pre>\n<p>The experiment file as run is <a href=\"experiment.lua\">experiment.lua"
            "</a>;%s the sampled series are in <a href=\"series/\">series/</a>, the plots and "
            "their gnuplot scripts in <a href=\"plots/\">plots/</a>, everything about the run "
            "in <a href=\"experiment.json\">experiment.json</a>.</p>\n<table>\n",
            generated ? " the generated traces are in <a href=\"traces/\">traces/</a>;" : "");
    for (size_t i = 0; i < r->sys.n; i++) {
        fputs("<tr><th class=\"l\">", f);
        html_text(f, r->sys.e[i].key);
        fputs("</th><td class=\"l\">", f);
        html_text(f, r->sys.e[i].value);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

int html_write(const results_t *r, const figures_t *figs, const char *dir, char *err, size_t errlen)
{
    const exp_t *e = r->exp;
    char path[4096];
    snprintf(path, sizeof path, "%s/index.html", dir);
    outfile_t o;
    if (outfile_open(&o, path, "w", err, errlen)) return -1;
    FILE *f = o.fp;
    size_t nskipped = 0, nrun = 0;
    for (size_t a = 0; a < e->nallocs; a++) {
        nskipped += e->allocs[a].skip != NULL;
        nrun += e->allocs[a].skip == NULL;
    }
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>arenalab report: ",
          f);
    html_text(f, e->name);
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>arenalab report: ", html_css);
    html_text(f, e->name);
    fprintf(f,
            "</h1>\n<p class=\"meta\">%s &middot; %zu trace%s &times; %zu allocator%s, %zu "
            "sweep%s: %zu runs (%zu distinct configurations), %u timed repetition%s each, "
            "interleaved (seed %llu) &middot; replays took %.1f s on %u job%s &middot; ",
            r->stamp, e->ntraces, e->ntraces == 1 ? "" : "s", nrun, nrun == 1 ? "" : "s",
            e->nsweeps, e->nsweeps == 1 ? "" : "s", e->nunits, results_distinct(r), e->repeat,
            e->repeat == 1 ? "" : "s", (unsigned long long)r->seed, r->seconds, r->jobs,
            r->jobs == 1 ? "" : "s");
    const char *cpu = sysinfo_get(&r->sys, "cpu");
    html_text(f, cpu ? cpu : "unknown cpu");
    fputs("</p>\n<nav><a href=\"#headline\">Headline</a><a href=\"#overview\">Overview</a>", f);
    if (e->nsweeps) fputs("<a href=\"#sweeps\">Sweeps</a>", f);
    if (r->real) fputs("<a href=\"#realrun\">Replay vs real run</a>", f);
    fputs("<a href=\"#traces\">Per trace</a><a href=\"#metrics\">Metrics</a>"
          "<a href=\"#reproduce\">Reproduce</a><a href=\"summary.md\">summary.md</a></nav>\n",
          f);
    if (nskipped) {
        fputs("<div class=\"note\"><b>Skipped allocators</b> (declared optional, cannot run "
              "here):<ul>\n",
              f);
        for (size_t a = 0; a < e->nallocs; a++) {
            if (!e->allocs[a].skip) continue;
            fputs("<li>", f);
            html_text(f, e->allocs[a].spec);
            fputs(": ", f);
            html_text(f, e->allocs[a].skip);
            fputs("</li>\n", f);
        }
        fputs("</ul></div>\n", f);
    }
    html_headline(f, r);
    html_machines(f, r);
    if (r->pools_spec == NULL)
        fputs("<p class=\"dim\">No pymalloc allocator in the grid: no pool tables.</p>\n", f);
    for (size_t t = 0; t < e->ntraces; t++)
        if (r->pools_spec && r->traces[t].pools_note[0]) {
            fputs("<p class=\"dim\">", f);
            html_text(f, e->traces[t].name);
            fputs(": no pool table: ", f);
            html_text(f, r->traces[t].pools_note);
            fputs("</p>\n", f);
        }
    rr_write_section(f, e, r->runs, r->real, 1);
    html_figures(f, r, figs);
    html_metrics(f, r);
    html_reproduce(f, r);
    fputs("</body>\n</html>\n", f);
    return outfile_commit(&o, err, errlen);
}
