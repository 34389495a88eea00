/* pymalloc_fidelity_test.c: our `pymalloc` against libpython3.11's own
 * obmalloc (the `cpython` class, aligned arenas), byte for byte.
 *
 * For seeded random sequences over the three domains (raw -> malloc,
 * mem/obj -> the obmalloc instance, as CPython routes them by default) with
 * fill and drain phases that map, release and map again arenas, reallocs
 * across the threshold both ways and callocs, the mallocstats text of ours
 * must equal CPython's at several prefixes and at the end.  CPython runs in
 * a forked child per sequence (its state is per process), concurrently with
 * our side, which checks pymalloc_is_valid() after every event. */
#include "alloc/check.h"
#include "alloc/evgen.h"
#include "alloc/pymalloc.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern const alloc_class_t alloc_cpython_class;

#define FID_NCHECK 6 /* checkpoints per sequence, the last at the end */

/* The text CLS's mallocstats prints for CTX (malloc'd), or NULL. */
static char *fid_capture(const alloc_class_t *cls, void *ctx)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    int rc = cls->mallocstats(ctx, f);
    fclose(f);
    if (rc) {
        free(text);
        return NULL;
    }
    return text;
}

/* Child: replays EV through three `cpython` instances, writing the stats
 * of each checkpoint to OUT, each followed by a line "@@". */
static void fid_child(const evgen_event_t *ev, uint32_t nslots, const size_t *cp, FILE *out)
{
    alloc_t inst[EVGEN_NDOMAINS];
    static const char *const names[EVGEN_NDOMAINS] = {"raw", "mem", "obj"};
    char err[256];
    for (int d = 0; d < EVGEN_NDOMAINS; d++) {
        alloc_param_t prm = {"domain", names[d], 0};
        if (alloc_cpython_class.create(&inst[d], &prm, 1, err, sizeof err)) {
            fprintf(stderr, "child: %s\n", err);
            _exit(2);
        }
    }
    const alloc_t *by[EVGEN_NDOMAINS] = {&inst[0], &inst[1], &inst[2]};
    evgen_replay_t r;
    if (evgen_replay_init(&r, nslots, 0)) _exit(2);
    size_t at = 0;
    for (int k = 0; k < FID_NCHECK; k++) {
        if (evgen_replay(&r, ev, at, cp[k], by) != cp[k]) _exit(3);
        at = cp[k];
        /* As the replay driver does: every instance; one of them prints. */
        for (int d = 0; d < EVGEN_NDOMAINS; d++) {
            char *text = fid_capture(&alloc_cpython_class, inst[d].ctx);
            if (!text) _exit(4);
            fputs(text, out);
            free(text);
        }
        fputs("@@\n", out);
    }
    evgen_replay_fini(&r, by);
    fflush(out);
    _exit(ferror(out) ? 5 : 0);
}

/* One sequence: ours (validated after every event) against CPython's. */
static void fid_run(const evgen_params_t *gp, uint64_t min_arenas)
{
    uint32_t nslots;
    evgen_event_t *ev = evgen_generate(gp, &nslots);
    CHECK(ev != NULL);
    if (!ev) return;
    size_t cp[FID_NCHECK];
    for (int k = 0; k < FID_NCHECK; k++)
        cp[k] = gp->nevents * (size_t)(k + 1) / FID_NCHECK;

    FILE *theirs = tmpfile();
    CHECK(theirs != NULL);
    if (!theirs) {
        free(ev);
        return;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) fid_child(ev, nslots, cp, theirs);

    pymalloc_params_t pp;
    pymalloc_params_default(&pp);
    pymalloc_t *pm = pymalloc_new(&pp);
    CHECK(pm != NULL);
    alloc_t ours = {pm, pymalloc_malloc, pymalloc_calloc, pymalloc_realloc, pymalloc_free};
    const alloc_t *by[EVGEN_NDOMAINS] = {&evgen_libc, &ours, &ours};
    evgen_replay_t r;
    CHECK(evgen_replay_init(&r, nslots, 1) == 0);
    char *mine[FID_NCHECK] = {0};
    size_t at = 0;
    int valid = 1;
    for (int k = 0; k < FID_NCHECK && valid; k++) {
        for (; at < cp[k] && valid; at++) {
            size_t done = evgen_replay(&r, ev, at, at + 1, by);
            CHECKF(done == at + 1, "seed %llu: event %zu failed", (unsigned long long)gp->seed, at);
            valid = done == at + 1 && pymalloc_is_valid(pm);
            CHECKF(valid, "seed %llu: invalid after event %zu", (unsigned long long)gp->seed, at);
        }
        mine[k] = fid_capture(&alloc_pymalloc_class, pm);
    }
    /* The sequence must have done what it is for. */
    alloc_stats_t st;
    pymalloc_stats(pm, &st);
    CHECKF(st.extra[1].value >= min_arenas, "seed %llu: only %llu arenas at most",
           (unsigned long long)gp->seed, (unsigned long long)st.extra[1].value);
    CHECKF(mine[FID_NCHECK - 1] &&
               !strstr(mine[FID_NCHECK - 1], "# arenas reclaimed                 "
                                             "=                    0\n"),
           "seed %llu: no arena was released", (unsigned long long)gp->seed);
    evgen_replay_fini(&r, by);
    pymalloc_delete(pm);

    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "seed %llu: child status %d",
           (unsigned long long)gp->seed, status);
    rewind(theirs);
    char *line = NULL;
    size_t cap = 0;
    for (int k = 0; k < FID_NCHECK; k++) {
        /* Reassemble checkpoint K of the child's output. */
        char *text = NULL;
        size_t len = 0;
        FILE *acc = open_memstream(&text, &len);
        ssize_t n;
        while ((n = getline(&line, &cap, theirs)) > 0 && strcmp(line, "@@\n") != 0)
            fwrite(line, 1, (size_t)n, acc);
        fclose(acc);
        int same = mine[k] && strcmp(mine[k], text) == 0;
        CHECKF(same, "seed %llu: checkpoint %d (after %zu events) differs",
               (unsigned long long)gp->seed, k, cp[k]);
        if (!same) {
            fprintf(stderr, "--- pymalloc ---\n%s--- cpython ---\n%s", mine[k] ? mine[k] : "(none)",
                    text);
        }
        free(text);
        free(mine[k]);
    }
    free(line);
    fclose(theirs);
    free(ev);
}

int main(void)
{
    /* Sizes up to twice the threshold; phases deep enough to drain whole
     * arenas (few survivors) and to need several. */
    static const struct {
        uint64_t seed;
        size_t nevents;
        uint32_t max_live, min_live;
        uint32_t min_size, max_size, small_pct;
        uint64_t min_arenas; /* the highwater mark it must reach */
    } runs[] = {
        /* Large small blocks: several arenas with few blocks. */
        {1, 50000, 10000, 2, 300, 600, 0, 3},
        /* The whole range, small ones favoured. */
        {2, 70000, 15000, 0, 0, 1024, 50, 2},
        /* The whole range, uniform. */
        {3, 70000, 17000, 4, 0, 1024, 0, 3},
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        evgen_params_t gp = {
            .seed = runs[i].seed,
            .nevents = runs[i].nevents,
            .max_live = runs[i].max_live,
            .min_live = runs[i].min_live,
            .min_size = runs[i].min_size,
            .max_size = runs[i].max_size,
            .small_pct = runs[i].small_pct,
            .threshold = 512,
            .domains = (1u << EVGEN_RAW) | (1u << EVGEN_MEM) | (1u << EVGEN_OBJ),
        };
        fid_run(&gp, runs[i].min_arenas);
    }
    return check_done();
}
