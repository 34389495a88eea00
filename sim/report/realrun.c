/* realrun.c: real runs of a program under preloaded allocators (see
 * realrun.h).
 *
 * Invariants: a run's child changes only its directory, standard streams
 * and environment (LD_PRELOAD) before exec; the rounds of one program
 * visit its allocators in an order shuffled from the seed, so a drift of
 * the machine moves every allocator alike; figures are appended per run,
 * never recomputed.
 */
#include "sim/report/realrun.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc/alloc.h"
#include "sim/replay/output.h"

extern char **environ;

const char *const rr_fig_key[RR_NFIG] = {"wall_s", "user_s", "sys_s", "maxrss_bytes",
                                         "minor_faults"};
const char *const rr_fig_head[RR_NFIG] = {"wall s", "user s", "sys s", "max RSS", "minor faults"};

const char *rr_preload(const route_t *r, char *name, size_t len, char *why, size_t whylen)
{
    route_name(r, name, len);
    unsigned flags;
    if (route_check(r, NULL, &flags, why, whylen)) return NULL;
    /* the MEM domain names the allocator the user means (pymalloc's route
     * sends raw to malloc) */
    alloc_spec_t s;
    if (alloc_spec_parse(&s, r->spec[TRACE_MEM], why, whylen)) return NULL;
    const alloc_class_t *cls = alloc_find(s.name);
    int process = cls && (!strcmp(cls->name, "raw") || !strcmp(cls->name, "malloc") ||
                          ((cls->flags & ALLOC_PRELOAD) && cls->preload));
    if (!process || s.layers) {
        snprintf(why, whylen,
                 "%s lives inside a replay and cannot serve a real program's malloc (raw, "
                 "malloc and the preloaded libraries can)",
                 name);
        return NULL;
    }
    if (!route_is_uniform(r)) {
        snprintf(why, whylen, "%s: a real program has one malloc: give one allocator, not a route",
                 name);
        return NULL;
    }
    if (s.nparams) {
        snprintf(why, whylen, "%s: a real program's malloc takes no parameters here", name);
        return NULL;
    }
    return (cls->flags & ALLOC_PRELOAD) ? cls->preload : "";
}

const char *rr_preload_spec(const char *spec, char *why, size_t whylen)
{
    char *copy = strdup(spec), name[ROUTE_NAME_MAX];
    route_t routes[2];
    size_t n = 0;
    const char *p = NULL;
    if (!copy)
        snprintf(why, whylen, "out of memory");
    else if (route_parse_list(copy, routes, 2, &n, why, whylen) == 0) {
        if (n != 1)
            snprintf(why, whylen, "%s: a real program has one malloc", spec);
        else
            p = rr_preload(&routes[0], name, sizeof name, why, whylen);
    }
    free(copy); /* P points into the class table, not into COPY */
    return p;
}

static double rr_seconds(const struct timeval *tv)
{
    return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

int rr_run_once(char *const *argv, const char *dir, const char *preload, double fig[RR_NFIG],
                int *status, char *err, size_t errlen)
{
    /* the environment: ours with LD_PRELOAD set to exactly PRELOAD */
    size_t nenv = 0;
    while (environ[nenv])
        nenv++;
    char **env = calloc(nenv + 2, sizeof *env), slot[4096];
    if (!env) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; environ[i]; i++)
        if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0) env[k++] = environ[i];
    if (*preload) {
        snprintf(slot, sizeof slot, "LD_PRELOAD=%s", preload);
        env[k++] = slot;
    }
    env[k] = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0) dup2(null, 0), dup2(null, 1);
        if (dir && chdir(dir) != 0) _exit(127);
        execvpe(argv[0], argv, env);
        _exit(127);
    }
    int saved = errno;
    free(env);
    if (pid < 0) {
        snprintf(err, errlen, "cannot fork: %s", strerror(saved));
        return -1;
    }
    int st;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0)
        if (errno != EINTR) {
            snprintf(err, errlen, "lost the program: %s", strerror(errno));
            return -1;
        }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
        snprintf(err, errlen, "%s: cannot be run (not found, or not executable)", argv[0]);
        return -1;
    }
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    fig[RR_WALL] = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fig[RR_USER] = rr_seconds(&ru.ru_utime);
    fig[RR_SYS] = rr_seconds(&ru.ru_stime);
    fig[RR_MAXRSS] = (double)ru.ru_maxrss * 1024.0;
    fig[RR_MINFLT] = (double)ru.ru_minflt;
    return 0;
}

void rr_set_free(rr_set_t *s)
{
    for (size_t t = 0; s->traces && t < s->ntraces; t++) {
        if (!s->traces[t]) continue;
        for (size_t a = 0; a < s->nallocs; a++)
            for (int f = 0; f < RR_NFIG; f++)
                free(s->traces[t][a].fig[f]);
        free(s->traces[t]);
    }
    free(s->traces);
    memset(s, 0, sizeof *s);
}

int rr_run_experiment(const exp_t *e, uint64_t seed, FILE *progress, rr_set_t *out, char *err,
                      size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!(out->traces = calloc(e->ntraces ? e->ntraces : 1, sizeof *out->traces))) goto oom;
    out->ntraces = e->ntraces;
    out->nallocs = e->nallocs;
    /* --repeat 0 (memory only) still runs the program once: max RSS */
    out->repeat = e->repeat ? e->repeat : 1;
    for (size_t t = 0; t < e->ntraces; t++) {
        const exp_trace_t *tr = &e->traces[t];
        if (!tr->cmd) continue;
        rr_alloc_t *al = calloc(e->nallocs + 1, sizeof *al);
        if (!(out->traces[t] = al)) goto oom;
        size_t order[64], n = 0, idx[64];
        for (size_t a = 0; a < e->nallocs; a++) {
            char why[160];
            if (e->allocs[a].skip) {
                snprintf(al[a].skip, sizeof al[a].skip, "not available: %s", e->allocs[a].skip);
                continue;
            }
            if (!(al[a].preload = rr_preload_spec(e->allocs[a].spec, why, sizeof why))) {
                snprintf(al[a].skip, sizeof al[a].skip, "%s", why);
                continue;
            }
            if (n == sizeof idx / sizeof idx[0]) {
                snprintf(al[a].skip, sizeof al[a].skip, "more than %zu allocators", n);
                continue;
            }
            for (int f = 0; f < RR_NFIG; f++)
                if (!(al[a].fig[f] = calloc(out->repeat, sizeof(double)))) goto oom;
            idx[n++] = a;
        }
        uint64_t state = seed;
        for (unsigned r = 0; r < out->repeat; r++) {
            for (size_t k = 0; k < n; k++)
                order[k] = k;
            timing_shuffle(order, n, &state);
            for (size_t k = 0; k < n; k++) {
                rr_alloc_t *x = &al[idx[order[k]]];
                double fig[RR_NFIG];
                if (progress)
                    fprintf(progress, "arenalab: report: real run of %s [%u/%u] %s\n", tr->name,
                            r + 1, out->repeat, e->allocs[idx[order[k]]].spec);
                char why[512];
                if (rr_run_once(tr->cmd, e->root, x->preload, fig, &x->status, why, sizeof why)) {
                    snprintf(err, errlen, "%s:%d: program %s: %s", e->file, tr->line, tr->name,
                             why);
                    rr_set_free(out);
                    return -1;
                }
                for (int f = 0; f < RR_NFIG; f++)
                    x->fig[f][x->n] = fig[f];
                x->n++;
            }
        }
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    rr_set_free(out);
    return -1;
}

size_t rr_rows(const exp_t *e, const driver_run_t *runs, const rr_set_t *s, size_t t,
               rr_row_t *rows)
{
    if (t >= s->ntraces || !s->traces[t]) return 0;
    size_t n = 0;
    for (size_t a = 0; a < e->nallocs; a++) {
        const rr_alloc_t *x = &s->traces[t][a];
        size_t u = e->grid[t * e->nallocs + a];
        if (x->skip[0] || !x->n || u == EXP_NONE) continue;
        rr_row_t *row = &rows[n++];
        row->alloc = a;
        row->replay_resident = runs[u].m.peak_resident;
        row->replay_ns = runs[u].ns_per_event;
        timing_summarize(x->fig[RR_MAXRSS], x->n, &row->real_maxrss);
        timing_summarize(x->fig[RR_WALL], x->n, &row->real_wall);
    }
    return n;
}

void rr_agreement(const double *a, const double *b, size_t n, size_t *agree, size_t *pairs,
                  double *tau)
{
    size_t same = 0, other = 0, all = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            all++;
            double da = a[i] - a[j], db = b[i] - b[j];
            if ((da < 0 && db < 0) || (da > 0 && db > 0))
                same++;
            else if ((da < 0 && db > 0) || (da > 0 && db < 0))
                other++;
        }
    *agree = same;
    *pairs = all;
    *tau = all ? ((double)same - (double)other) / (double)all : NAN;
}

size_t rr_rank(const double *v, size_t n, size_t i)
{
    size_t r = 1;
    for (size_t k = 0; k < n; k++)
        r += v[k] < v[i];
    return r;
}

/* S as text of the section's format: HTML escaped, Markdown with '|'
 * escaped. */
static void rr_text(FILE *f, const char *s, int html)
{
    for (; *s; s++)
        if (html && *s == '<')
            fputs("&lt;", f);
        else if (html && *s == '>')
            fputs("&gt;", f);
        else if (html && *s == '&')
            fputs("&amp;", f);
        else if (html && *s == '"')
            fputs("&quot;", f);
        else if (!html && (*s == '|' || *s == '\\'))
            fprintf(f, "\\%c", *s);
        else
            fputc(*s, f);
}

/* The rank of V[I] as text, "-" when there is none (NaN: not timed). */
static const char *rr_rank_cell(const double *v, size_t n, size_t i, char *buf, size_t len)
{
    if (isnan(v[i]))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%zu", rr_rank(v, n, i));
    return buf;
}

/* A median with its interval (none with fewer than two runs), in FMT. */
static void rr_cell(const timing_summary_t *m, const char *fmt, char *buf, size_t len)
{
    char a[32], b[32], c[32];
    if (isnan(m->median)) {
        snprintf(buf, len, "-");
        return;
    }
    snprintf(a, sizeof a, fmt, m->median);
    snprintf(b, sizeof b, fmt, m->ci_low);
    snprintf(c, sizeof c, fmt, m->ci_high);
    if (m->ci_level > 0)
        snprintf(buf, len, "%s [%s-%s]", a, b, c);
    else
        snprintf(buf, len, "%s", a);
}

static void rr_cell_bytes(const timing_summary_t *m, char *buf, size_t len)
{
    char a[32], b[32], c[32];
    output_bytes((uint64_t)m->median, a, sizeof a);
    if (m->ci_level > 0)
        snprintf(buf, len, "%s [%s-%s]", a, output_bytes((uint64_t)m->ci_low, b, sizeof b),
                 output_bytes((uint64_t)m->ci_high, c, sizeof c));
    else
        snprintf(buf, len, "%s", a);
}

/* Prose with <b>..</b> (HTML is written as it is; Markdown gets **). */
static void rr_prose(const char *text, FILE *f, int html)
{
    if (html) {
        fputs(text, f);
        return;
    }
    for (const char *p = text; *p;)
        if (!strncmp(p, "<b>", 3))
            fputs("**", f), p += 3;
        else if (!strncmp(p, "</b>", 4))
            fputs("**", f), p += 4;
        else
            fputc(*p++, f);
}

static void rr_agreement_line(FILE *f, const char *what, const double *a, const double *b, size_t n,
                              int html)
{
    size_t agree, pairs;
    double tau;
    for (size_t i = 0; i < n; i++)
        if (isnan(a[i]) || isnan(b[i])) {
            fprintf(f,
                    html ? "<li class=\"agreement\">%s: no ranking (the replays were not timed: "
                           "--repeat 0)</li>\n"
                         : "- %s: no ranking (the replays were not timed: --repeat 0)\n",
                    what);
            return;
        }
    rr_agreement(a, b, n, &agree, &pairs, &tau);
    fprintf(
        f,
        html ? "<li class=\"agreement\">%s: the replay orders %zu of %zu pairs as the real run does"
             : "- %s: the replay orders %zu of %zu pairs as the real run does",
        what, agree, pairs);
    if (isnan(tau))
        fputs(" (fewer than two allocators: no ranking to compare)", f);
    else
        fprintf(f, ", Kendall's tau = %.2f", tau);
    fputs(html ? "</li>\n" : "\n", f);
}

void rr_write_section(FILE *f, const exp_t *e, const driver_run_t *runs, const rr_set_t *s,
                      int html)
{
    int any = 0;
    for (size_t t = 0; s && t < s->ntraces; t++)
        any |= s->traces[t] != NULL;
    if (!any) return;
    fputs(html ? "<h2 id=\"realrun\">Replay vs real run</h2>\n<p>" : "\n## Replay vs real run\n\n",
          f);
    rr_prose("How well the replay of a recording predicts the program it was recorded from: the "
             "program run for real under each allocator that can serve a real process (the C "
             "library's malloc and the LD_PRELOADed libraries), interleaved in shuffled rounds, "
             "beside the replay of its trace. <b>Replay peak resident</b>: the replay worker's "
             "highest anonymous resident memory above its baseline (peak_resident_bytes, the "
             "memory figure of every allocator). <b>Max RSS</b>: the kernel's peak resident set "
             "of the whole program (its interpreter, code and stack too). <b>ns/event</b>: the "
             "replay's median time per trace event; <b>wall s</b>: the real run's median elapsed "
             "time. They measure different things, so the figures are not compared with each "
             "other: the <b>rankings</b> are (rank 1: least memory, fastest). Agreement: the "
             "pairs of allocators the replay orders as the real run does (a tie in either counts "
             "as not agreeing), and Kendall's tau-a (1: the same order, -1: reversed). Medians "
             "[confidence interval of the median]; with one run there is no interval, and "
             "timings on a loaded machine are noisy.",
             f, html);
    fputs(html ? "</p>\n" : "\n", f);
    for (size_t t = 0; t < s->ntraces; t++) {
        if (!s->traces[t]) continue;
        const exp_trace_t *tr = &e->traces[t];
        if (html) {
            fputs("<h3>", f);
            rr_text(f, tr->name, 1);
            fputs("</h3>\n<p class=\"dim\">real command: <code>", f);
        } else {
            fputs("\n### ", f);
            rr_text(f, tr->name, 0);
            fputs("\n\nreal command: `", f);
        }
        for (size_t i = 0; tr->cmd[i]; i++) {
            if (i) fputc(' ', f);
            rr_text(f, tr->cmd[i], html);
        }
        fprintf(f,
                html ? "</code> (in the repository root), %u run%s per allocator</p>\n"
                     : "` (in the repository root), %u run%s per allocator\n\n",
                s->repeat, s->repeat == 1 ? "" : "s");
        rr_row_t *rows = calloc(e->nallocs ? e->nallocs : 1, sizeof *rows);
        double *v = calloc(4 * (e->nallocs ? e->nallocs : 1), sizeof *v);
        if (!rows || !v) {
            free(rows);
            free(v);
            fputs("(out of memory)\n", f);
            continue;
        }
        size_t n = rr_rows(e, runs, s, t, rows);
        double *res = v, *rsss = v + e->nallocs, *nss = v + 2 * e->nallocs,
               *walls = v + 3 * e->nallocs;
        for (size_t i = 0; i < n; i++) {
            res[i] = (double)rows[i].replay_resident;
            rsss[i] = rows[i].real_maxrss.median;
            nss[i] = rows[i].replay_ns.median;
            walls[i] = rows[i].real_wall.median;
        }
        fputs(html ? "<div class=\"wide\"><table class=\"realrun\">\n<tr><th class=\"l\">"
                     "allocator</th><th>replay peak resident</th><th>rank</th><th>max RSS</th>"
                     "<th>rank</th><th>replay ns/event</th><th>rank</th><th>wall s</th>"
                     "<th>rank</th><th>exit</th></tr>\n"
                   : "| allocator | replay peak resident | rank | max RSS | rank | replay "
                     "ns/event | rank | wall s | rank | exit |\n"
                     "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
              f);
        for (size_t i = 0; i < n; i++) {
            const rr_row_t *w = &rows[i];
            char b1[32];
            fputs(html ? "<tr><td class=\"l\">" : "| ", f);
            rr_text(f, e->allocs[w->alloc].spec, html);
            const char *sep = html ? "</td><td>" : " | ";
            char rss[128], ns[128], wall[128];
            rr_cell_bytes(&w->real_maxrss, rss, sizeof rss);
            rr_cell(&w->replay_ns, "%.1f", ns, sizeof ns);
            rr_cell(&w->real_wall, "%.3f", wall, sizeof wall);
            char r1[24], r2[24], r3[24], r4[24];
            fprintf(f, "%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%s%d", sep,
                    output_bytes(w->replay_resident, b1, sizeof b1), sep,
                    rr_rank_cell(res, n, i, r1, sizeof r1), sep, rss, sep,
                    rr_rank_cell(rsss, n, i, r2, sizeof r2), sep, ns, sep,
                    rr_rank_cell(nss, n, i, r3, sizeof r3), sep, wall, sep,
                    rr_rank_cell(walls, n, i, r4, sizeof r4), sep, s->traces[t][w->alloc].status);
            fputs(html ? "</td></tr>\n" : " |\n", f);
        }
        fputs(html ? "</table></div>\n<ul>\n" : "\n", f);
        rr_agreement_line(f, "Memory ranking (replay peak resident vs max RSS)", res, rsss, n,
                          html);
        rr_agreement_line(f, "Speed ranking (replay ns/event vs wall time)", nss, walls, n, html);
        for (size_t a = 0; a < e->nallocs; a++) {
            if (!s->traces[t][a].skip[0]) continue;
            fputs(html ? "<li>not run for real: " : "- not run for real: ", f);
            rr_text(f, e->allocs[a].spec, html);
            fputs(": ", f);
            rr_text(f, s->traces[t][a].skip, html);
            fputs(html ? "</li>\n" : "\n", f);
        }
        for (size_t i = 0; i < n; i++)
            if (s->traces[t][rows[i].alloc].status) {
                fputs(html ? "<li>warning: under " : "- warning: under ", f);
                rr_text(f, e->allocs[rows[i].alloc].spec, html);
                fprintf(f, " the program exited with status %d%s",
                        s->traces[t][rows[i].alloc].status, html ? "</li>\n" : "\n");
            }
        if (html) fputs("</ul>\n", f);
        free(rows);
        free(v);
    }
}
