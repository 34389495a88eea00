/* callgrind.c: callgrind's client requests, its output files and its
 * command line (see callgrind.h). */
#include "sim/replay/callgrind.h"

#include <valgrind/callgrind.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A sanitized build cannot run under valgrind (both own the address
 * space). */
#if defined(__SANITIZE_ADDRESS__)
#define CG_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CG_SANITIZED 1
#endif
#endif

const char *const cg_event_name[CG_NEVENTS] = {
#define CG_NAME(id, name) name,
    CG_EVENTS(CG_NAME)
#undef CG_NAME
};

int cg_running(void)
{
    return RUNNING_ON_VALGRIND != 0;
}

__attribute__((noinline)) void cg_on(void)
{
    CALLGRIND_TOGGLE_COLLECT;
}

__attribute__((noinline)) void cg_off(void)
{
    CALLGRIND_TOGGLE_COLLECT;
}

void cg_zero(void)
{
    CALLGRIND_ZERO_STATS;
}

void cg_dump(const char *what)
{
    CALLGRIND_DUMP_STATS_AT(what);
}

void cg_probe_pairs(void)
{
    for (int i = 0; i < CG_PROBE_PAIRS; i++) {
        cg_on();
        cg_off();
    }
}

/* The numbers after "KEY:" in LINE, in the order of NAMES (the file's
 * events line), into OUT; a value left out at the end is 0. */
static void cg_values(const char *line, const int *map, int nnames, cg_counts_t *out)
{
    memset(out, 0, sizeof *out);
    const char *p = strchr(line, ':') + 1;
    for (int k = 0; k < nnames; k++) {
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p) break;
        if (map[k] >= 0) out->v[map[k]] = v;
        p = end;
    }
}

int cg_parse(const char *path, cg_counts_t *out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open callgrind's output: %s", path, strerror(errno));
        return -1;
    }
    enum { CG_MAX_NAMES = 32 };
    int map[CG_MAX_NAMES], nnames = -1, found = 0;
    char line[4096];
    cg_counts_t summary;
    memset(&summary, 0, sizeof summary);
    memset(out, 0, sizeof *out);
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "events:", 7)) {
            nnames = 0;
            for (char *tok = strtok(line + 7, " \t\n"); tok && nnames < CG_MAX_NAMES;
                 tok = strtok(NULL, " \t\n")) {
                map[nnames] = -1;
                for (int e = 0; e < CG_NEVENTS; e++)
                    if (!strcmp(tok, cg_event_name[e])) map[nnames] = e;
                nnames++;
            }
        } else if (nnames >= 0 && !strncmp(line, "summary:", 8)) {
            cg_values(line, map, nnames, &summary);
            found |= 1;
        } else if (nnames >= 0 && !strncmp(line, "totals:", 7)) {
            cg_values(line, map, nnames, out);
            found |= 2;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad || nnames < 0 || !found) {
        snprintf(err, errlen, "%s: not a callgrind output (no events and totals)", path);
        return -1;
    }
    for (int e = 0; e < CG_NEVENTS; e++) {
        int seen = 0;
        for (int k = 0; k < nnames; k++)
            seen |= map[k] == e;
        if (!seen) {
            snprintf(err, errlen, "%s: callgrind counted no %s (run without --cache-sim=yes?)",
                     path, cg_event_name[e]);
            return -1;
        }
    }
    if (!(found & 2)) *out = summary;
    return 0;
}

void cg_subtract(const cg_counts_t *run, uint64_t pairs, const cg_counts_t *probe, cg_counts_t *out)
{
    for (int e = 0; e < CG_NEVENTS; e++) {
        unsigned __int128 cost = (unsigned __int128)probe->v[e] * pairs / CG_PROBE_PAIRS;
        out->v[e] = cost < run->v[e] ? run->v[e] - (uint64_t)cost : 0;
    }
}

int cg_check(char *valgrind, size_t len, char *err, size_t errlen)
{
#ifdef CG_SANITIZED
    (void)valgrind;
    (void)len;
    snprintf(err, errlen,
             "this is a sanitized build (AddressSanitizer): valgrind cannot run it; count "
             "instructions with a normal build (bazel build //sim/cli:arenalab)");
    return -1;
#else
    const char *given = getenv("ARENALAB_VALGRIND");
    if (given && *given) {
        if (access(given, X_OK) != 0) {
            snprintf(err, errlen, "ARENALAB_VALGRIND=%s: %s", given, strerror(errno));
            return -1;
        }
        snprintf(valgrind, len, "%s", given);
        return 0;
    }
    const char *path = getenv("PATH");
    for (const char *p = path && *path ? path : "/usr/bin:/bin"; *p;) {
        size_t n = strcspn(p, ":");
        if (n > 0 && (size_t)snprintf(valgrind, len, "%.*s/valgrind", (int)n, p) < len &&
            access(valgrind, X_OK) == 0)
            return 0;
        p += n + (p[n] == ':');
    }
    snprintf(err, errlen,
             "valgrind is not installed (scripts/setup installs it: Debian package "
             "valgrind)");
    return -1;
#endif
}

int cg_argv(const char *valgrind, const char *out, char (*buf)[CG_ARG_MAX], const char **argv)
{
    snprintf(buf[0], CG_ARG_MAX, "--callgrind-out-file=%s", out);
    snprintf(buf[1], CG_ARG_MAX, "--log-file=%s.log", out);
    static const char *const opts[] = {
        "-q",
        "--tool=callgrind",
        "--collect-atstart=no",
        "--cache-sim=yes",
        "--I1=" CG_I1,
        "--D1=" CG_D1,
        "--LL=" CG_LL,
        "--dump-instr=no",
        "--compress-strings=no",
        "--compress-pos=no",
    };
    _Static_assert(sizeof opts / sizeof opts[0] + 3 <= CG_MAX_ARGS, "room for the options");
    int n = 0;
    argv[n++] = valgrind;
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        argv[n++] = opts[i];
    argv[n++] = buf[0];
    argv[n++] = buf[1];
    return n;
}
