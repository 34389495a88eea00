/* sysinfo.c: the environment of a report (see sysinfo.h). */
#include "sim/report/sysinfo.h"
#include "sim/base/cli.h"
#include "sim/base/proc.h"

#include <gnu/libc-version.h>
#include <lua.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <unistd.h>

/* Debian packages whose versions matter to a result: the libraries the
 * replays load and the tools the report runs. */
static const struct {
    const char *key;
    const char *package;
} sysinfo_packages[] = {
    {"package libc6", "libc6"},
    {"package libpython3.11", "libpython3.11"},
    {"package liblua5.4-0", "liblua5.4-0"},
    {"package gnuplot-nox", "gnuplot-nox"},
    {"package libjemalloc2", "libjemalloc2"},
    {"package libmimalloc2.0", "libmimalloc2.0"},
    {"package libtcmalloc-minimal4", "libtcmalloc-minimal4"},
    {"package gcc", "gcc"},
};

#ifdef __OPTIMIZE__
#define SYSINFO_OPT "optimized"
#else
#define SYSINFO_OPT "not optimized"
#endif
#ifdef __SANITIZE_ADDRESS__
#define SYSINFO_SAN ", with AddressSanitizer (timings are not representative)"
#else
#define SYSINFO_SAN ""
#endif

#define SYSINFO_NPACKAGES (sizeof sysinfo_packages / sizeof sysinfo_packages[0])

static void sysinfo_set(sysinfo_t *s, const char *key, const char *value)
{
    if (s->n == SYSINFO_MAX) return;
    sysinfo_entry_t *e = &s->e[s->n++];
    snprintf(e->key, sizeof e->key, "%s", key);
    const char *v = value && *value ? value : "unknown";
    size_t n = strlen(v);
    if (n >= sizeof e->value) n = sizeof e->value - 1; /* long values are cut */
    memcpy(e->value, v, n);
    e->value[n] = '\0';
}

/* The value of "KEY<sep>: value" in FILE (first match), into BUF. */
static void sysinfo_file_field(const char *file, const char *key, char sep, char *buf, size_t len)
{
    buf[0] = '\0';
    FILE *f = fopen(file, "r");
    if (!f) return;
    char line[1024];
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) != 0) continue;
        char *p = line + kl;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != sep) continue;
        p++;
        while (*p == ' ' || *p == '"')
            p++;
        p[strcspn(p, "\"\n")] = '\0';
        snprintf(buf, len, "%s", p);
        break;
    }
    fclose(f);
}

static void sysinfo_git(sysinfo_t *s, const char *root)
{
    char commit[128], dirty[8];
    const char *rev[] = {"git", "-C", root, "rev-parse", "HEAD", NULL};
    const char *st[] = {"git", "-C", root, "status", "--porcelain", "--untracked-files=no", NULL};
    proc_line(rev, commit, sizeof commit);
    proc_line(st, dirty, sizeof dirty);
    char value[256];
    if (!*commit)
        snprintf(value, sizeof value, "unknown (not a git checkout, or git missing)");
    else
        snprintf(value, sizeof value, "%s%s", commit, *dirty ? " (with uncommitted changes)" : "");
    sysinfo_set(s, "git commit", value);
}

static void sysinfo_packages_versions(sysinfo_t *s)
{
    const char *argv[SYSINFO_NPACKAGES + 4] = {"dpkg-query", "-W",
                                               "-f=${Package} ${Version} "
                                               "${db:Status-Abbrev}\\n"};
    for (size_t i = 0; i < SYSINFO_NPACKAGES; i++)
        argv[3 + i] = sysinfo_packages[i].package;
    argv[3 + SYSINFO_NPACKAGES] = NULL;
    proc_result_t r;
    int ran = proc_run(argv, NULL, &r) == 0;
    for (size_t i = 0; i < SYSINFO_NPACKAGES; i++) {
        char value[SYSINFO_VALUE_MAX] = "";
        const char *pkg = sysinfo_packages[i].package;
        size_t pl = strlen(pkg);
        /* Lines "name[:arch] version ii " */
        for (const char *line = ran ? r.out : ""; *line;) {
            const char *end = strchr(line, '\n');
            size_t len = end ? (size_t)(end - line) : strlen(line);
            if (len > pl && strncmp(line, pkg, pl) == 0 && (line[pl] == ' ' || line[pl] == ':')) {
                char buf[SYSINFO_VALUE_MAX];
                snprintf(buf, sizeof buf, "%.*s", (int)len, line);
                char name[128], version[128], status[16] = "";
                if (sscanf(buf, "%127s %127s %15s", name, version, status) >= 2 &&
                    strncmp(status, "ii", 2) == 0)
                    snprintf(value, sizeof value, "%s", version);
                break;
            }
            line += len + (end != NULL);
        }
        sysinfo_set(s, sysinfo_packages[i].key,
                    *value ? value
                    : ran  ? "not installed"
                           : "unknown (no dpkg-query)");
    }
    if (ran) proc_result_free(&r);
}

/* Whether mappings land at random addresses (the kernel's default) or at
 * fixed ones (ARENALAB_ASLR=off, or the kernel's randomize_va_space 0):
 * the real allocators' resident figures repeat exactly only when fixed. */
static const char *sysinfo_layout(char *buf, size_t len)
{
    int p = personality(0xffffffff);
    char va[16] = "";
    FILE *f = fopen("/proc/sys/kernel/randomize_va_space", "r");
    if (f) {
        if (fgets(va, sizeof va, f)) va[strcspn(va, "\n")] = '\0';
        fclose(f);
    }
    const char *asked = getenv("ARENALAB_ASLR");
    if (p >= 0 && (p & ADDR_NO_RANDOMIZE))
        snprintf(buf, len, "fixed (%s)",
                 asked && !strcmp(asked, "off")
                     ? "ARENALAB_ASLR=off"
                     : "ADDR_NO_RANDOMIZE inherited, as setarch -R sets it");
    else if (!strcmp(va, "0"))
        snprintf(buf, len, "fixed (kernel.randomize_va_space = 0)");
    else
        snprintf(buf, len, "randomized (ASLR)");
    return buf;
}

/* Whether this process (and so every worker it starts: the flag is
 * inherited) may get transparent huge pages: arenalab turns them off
 * (sim/cli/main.c, ARENALAB_HUGEPAGES); the system's setting beside it. */
static const char *sysinfo_huge_pages(char *buf, size_t len)
{
    char sys[64] = "";
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (f) {
        char line[128];
        if (fgets(line, sizeof line, f)) {
            const char *open = strchr(line, '['), *close = open ? strchr(open, ']') : NULL;
            if (open && close) snprintf(sys, sizeof sys, "%.*s", (int)(close - open - 1), open + 1);
        }
        fclose(f);
    }
    if (!*sys) {
        snprintf(buf, len, "none (no transparent huge pages in this kernel)");
        return buf;
    }
    int off = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
    if (off > 0)
        snprintf(buf, len, "off (4 KiB pages only; the system's setting: %s)", sys);
    else
        snprintf(buf, len, "the system's: %s (%s)", sys,
                 off == 0 ? "ARENALAB_HUGEPAGES=system" : "prctl refused");
    return buf;
}

void sysinfo_collect(sysinfo_t *s, const char *root)
{
    char buf[SYSINFO_VALUE_MAX];
    s->n = 0;
    sysinfo_set(s, "arenalab", ARENALAB_VERSION);
    sysinfo_git(s, root);
#if defined(__clang__)
    snprintf(buf, sizeof buf, "clang %s", __clang_version__);
#elif defined(__GNUC__)
    snprintf(buf, sizeof buf, "gcc %s", __VERSION__);
#else
    snprintf(buf, sizeof buf, "unknown C compiler");
#endif
    sysinfo_set(s, "compiler", buf);
    snprintf(buf, sizeof buf, "%s%s", SYSINFO_OPT, SYSINFO_SAN);
    sysinfo_set(s, "build", buf);
    char host[SYSINFO_VALUE_MAX];
    sysinfo_set(s, "host", gethostname(host, sizeof host) == 0 ? host : NULL);
    sysinfo_file_field("/proc/cpuinfo", "model name", ':', buf, sizeof buf);
    sysinfo_set(s, "cpu", buf);
    snprintf(buf, sizeof buf, "%ld online", sysconf(_SC_NPROCESSORS_ONLN));
    sysinfo_set(s, "cpus", buf);
    {
        FILE *f = fopen("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", "r");
        buf[0] = '\0';
        if (f) {
            if (fgets(buf, sizeof buf, f)) buf[strcspn(buf, "\n")] = '\0';
            fclose(f);
        }
        sysinfo_set(s, "cpu governor", *buf ? buf : "unknown (no cpufreq)");
    }
    struct utsname u;
    if (uname(&u) == 0) {
        char kernel[4 * sizeof u.release + 4];
        snprintf(kernel, sizeof kernel, "%s %s %s %s", u.sysname, u.release, u.version, u.machine);
        sysinfo_set(s, "kernel", kernel);
    } else {
        sysinfo_set(s, "kernel", NULL);
    }
    sysinfo_file_field("/etc/os-release", "PRETTY_NAME", '=', buf, sizeof buf);
    sysinfo_set(s, "os", buf);
    sysinfo_set(s, "glibc", gnu_get_libc_version());
    sysinfo_set(s, "address layout", sysinfo_layout(buf, sizeof buf));
    sysinfo_set(s, "huge pages", sysinfo_huge_pages(buf, sizeof buf));
    sysinfo_set(s, "lua", LUA_RELEASE);
    const char *gp[] = {"gnuplot", "--version", NULL};
    sysinfo_set(s, "gnuplot", proc_line(gp, buf, sizeof buf));
    sysinfo_packages_versions(s);
}

/* The facts of the code and of the run rather than the machine (see
 * sysinfo.h). */
static const char *const sysinfo_code_keys[] = {"arenalab",       "git commit", "compiler", "build",
                                                "address layout", "huge pages", NULL};

const char *sysinfo_machine(const sysinfo_t *s, char *buf, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a, 64 bits */
    for (size_t i = 0; i < s->n; i++) {
        const char *const *k = sysinfo_code_keys;
        while (*k && strcmp(*k, s->e[i].key) != 0)
            k++;
        if (*k) continue;
        for (const char *parts[2] = {s->e[i].key, s->e[i].value}, **p = parts; p < parts + 2; p++)
            for (const unsigned char *c = (const unsigned char *)*p;; c++) {
                h = (h ^ *c) * 1099511628211ull; /* the NUL too: "ab","c" != "a","bc" */
                if (!*c) break;
            }
    }
    snprintf(buf, len, "%016llx", (unsigned long long)h);
    return buf;
}

void sysinfo_put(sysinfo_t *s, const char *key, const char *value)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->e[i].key, key) == 0) {
            snprintf(s->e[i].value, sizeof s->e[i].value, "%s", value);
            return;
        }
    sysinfo_set(s, key, value);
}

const char *sysinfo_get(const sysinfo_t *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->e[i].key, key) == 0) return s->e[i].value;
    return NULL;
}
