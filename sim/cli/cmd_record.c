/* cmd_record.c: `arenalab record -o OUT [--python] -- CMD ARGS...`: runs a
 * program with a recorder and reports what it wrote.
 *
 * Without --python the program runs with libarenalab_record.so preloaded
 * (record_preload.c; found beside our own binary, or at
 * $ARENALAB_RECORD_LIB) and its settings in the environment; with --python,
 * a forked copy of ourselves runs the script in libpython with the domain
 * hooks (record_python.c).  Either way we wait, print one summary line on
 * stderr (events, file, dropped frees, the traces of child processes: files
 * OUT.<pid>... carrying our session id) and exit with the program's status,
 * 128+N when signal N killed it.  Our own failures (usage, no recorder
 * library, no trace written) exit 2, as every command does; a program that
 * cannot be started exits 127 (126: not executable), as in the shell.
 *
 * State: record_state (the child's pid for the SIGTERM/SIGHUP forwarder,
 * the one thing a signal handler must reach) is the only mutable static.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim/cli/commands.h"
#include "sim/record/record_core.h"
#include "sim/record/record_python.h"
#include "sim/trace/trace.h"
#include "sim/trace/trace_zst.h"

#define RECORD_LIB_NAME   "libarenalab_record.so"
#define RECORD_MAX_NAMED  4 /* child traces named in the summary          */
#define RECORD_ZSTD_LEVEL 3 /* fast: ~0.1 s per 10 million events        */

enum {
    RECORD_OPT_OUT = 'o',
    RECORD_OPT_PYTHON = 256,
    RECORD_OPT_NO_THREADS,
    RECORD_OPT_FLUSH_MS,
    RECORD_OPT_BUFFER_KB,
};

static const cli_opt_t record_opts[] = {
    {"output", 'o', "OUT", RECORD_OPT_OUT, "the trace to write (binary; required)"},
    {"python", 0, NULL, RECORD_OPT_PYTHON,
     "CMD is a Python script (or python3 options): record CPython's raw, mem and obj domains"},
    {"no-threads", 0, NULL, RECORD_OPT_NO_THREADS, "do not write THREAD records"},
    {"flush-ms", 0, "N", RECORD_OPT_FLUSH_MS,
     "flush the buffer once N ms passed (default 100; 0: only when full)"},
    {"buffer-kb", 0, "N", RECORD_OPT_BUFFER_KB, "write buffer size in KiB (default 64)"},
    {0},
};

typedef struct {
    const char *out;
    int python;
    int threads;
    unsigned flush_ms;
    unsigned buffer_kb;
} record_args_t;

static struct {
    volatile sig_atomic_t child; /* pid to forward SIGTERM/SIGHUP to     */
} record_state;

static int record_number(const char *opt, const char *arg, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(arg, &end, 10);
    if (*arg < '0' || *arg > '9' || *end || errno || v > max) {
        cli_error("record: --%s wants a number from 0 to %u, not '%s'", opt, max, arg);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

static int record_on_opt(void *ud, int key, const char *arg)
{
    record_args_t *a = ud;
    switch (key) {
    case RECORD_OPT_OUT:
        a->out = arg;
        return 0;
    case RECORD_OPT_PYTHON:
        a->python = 1;
        return 0;
    case RECORD_OPT_NO_THREADS:
        a->threads = 0;
        return 0;
    case RECORD_OPT_FLUSH_MS:
        return record_number("flush-ms", arg, 3600000, &a->flush_ms);
    case RECORD_OPT_BUFFER_KB:
        if (record_number("buffer-kb", arg, 1u << 20, &a->buffer_kb) < 0) return -1;
        if (a->buffer_kb < 16) { /* the header, command line included, fits */
            cli_error("record: --buffer-kb must be at least 16");
            return -1;
        }
        return 0;
    }
    return -1;
}

/* Where our options end: at "--", or at the first operand (CMD), so that
 * CMD's own options are never taken for ours. */
static int record_split(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--")) return i;
        if (s[0] != '-' || !s[1]) return i;
        if (!strcmp(s, "-o") || !strcmp(s, "--output") || !strcmp(s, "--flush-ms") ||
            !strcmp(s, "--buffer-kb"))
            i++;
    }
    return argc;
}

/* ---- the summary ---------------------------------------------------------- */

typedef struct {
    uint64_t events;
    uint64_t dropped;
    int cut; /* no end record                                           */
    int ok;  /* readable                                                */
    char session[64];
} record_info_t;

static void record_read(const char *path, record_info_t *info)
{
    trace_reader_t *r;
    trace_event_t ev;
    char err[512];
    *info = (record_info_t){0};
    if (trace_open(&r, path, err, sizeof err) < 0) return;
    const trace_meta_t *m = trace_meta(r);
    for (size_t i = 0; m && i < m->n; i++) {
        if (!strcmp(m->entries[i].key, RCORE_KEY_DROPPED))
            info->dropped = strtoull(m->entries[i].value, NULL, 10);
        if (!strcmp(m->entries[i].key, "session"))
            snprintf(info->session, sizeof info->session, "%s", m->entries[i].value);
    }
    /* A finished trace announces its count; only a cut one is counted. */
    info->events = trace_count_hint(r);
    info->ok = 1;
    if (info->events == 0) {
        int rc;
        while ((rc = trace_next(r, &ev)) > 0)
            info->events++;
        info->ok = rc == 0;
        info->cut = trace_truncated(r);
    }
    trace_close(r);
}

/* OUT's directory part ("." when none) and base name. */
static void record_dir_base(const char *out, char *dir, size_t dlen, const char **base)
{
    const char *slash = strrchr(out, '/');
    *base = slash ? slash + 1 : out;
    if (!slash)
        snprintf(dir, dlen, ".");
    else if (slash == out)
        snprintf(dir, dlen, "/");
    else
        snprintf(dir, dlen, "%.*s", (int)(slash - out), out);
}

/* Compresses PATH into PATH.zst and removes PATH.  Returns 0 or -1
 * (reported; PATH is kept). */
static int record_compress(const char *path)
{
    char dst[PATH_MAX + 8], err[PATH_MAX + 256];
    snprintf(dst, sizeof dst, "%s.zst", path);
    if (tzst_compress_file(path, dst, RECORD_ZSTD_LEVEL, err, sizeof err) < 0) {
        cli_error("record: %s", err);
        return -1;
    }
    unlink(path);
    return 0;
}

/* Reads what the recorders of SESSION wrote (RAW and RAW.<pid>...), then,
 * when ZST, compresses each file to NAME.zst; prints the summary line. */
static int record_summary(const char *raw, const char *session, int zst)
{
    record_info_t main_info = {0}, ci;
    char dir[PATH_MAX], named[RECORD_MAX_NAMED * (NAME_MAX + 8) + 8] = "";
    const char *base, *ext = zst ? ".zst" : "";
    uint64_t nchild = 0, cevents = 0, cdropped = 0, ccut = 0;
    int have_main = access(raw, F_OK) == 0, rc = 0;
    if (have_main) {
        record_read(raw, &main_info);
        if (zst && record_compress(raw) < 0) rc = -1;
    }
    record_dir_base(raw, dir, sizeof dir, &base);
    size_t blen = strlen(base);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strncmp(n, base, blen) || n[blen] != '.' || n[blen + 1] < '0' || n[blen + 1] > '9')
            continue;
        if (strstr(n + blen, ".zst") || strstr(n + blen, ".tmp")) continue;
        char path[PATH_MAX + NAME_MAX + 2];
        snprintf(path, sizeof path, "%s/%s", dir, n);
        record_read(path, &ci);
        if (!ci.ok && !ci.cut) continue;
        if (strcmp(ci.session, session)) continue; /* an older run's */
        if (nchild < RECORD_MAX_NAMED) {
            size_t len = strlen(named);
            snprintf(named + len, sizeof named - len, "%s%s%s", nchild ? ", " : "", n, ext);
        }
        nchild++;
        cevents += ci.events;
        cdropped += ci.dropped;
        ccut += ci.cut;
        if (zst && record_compress(path) < 0) rc = -1;
    }
    if (d) closedir(d);
    if (!have_main)
        cli_error("record: %s: no trace was written (a statically linked program, or one that "
                  "could not start?)",
                  raw);
    else
        fprintf(stderr, "arenalab: record: %s%s: %" PRIu64 " events%s, %" PRIu64 " dropped frees",
                raw, ext, main_info.events,
                !main_info.ok && !main_info.cut ? " (unreadable)"
                : main_info.cut                 ? " (cut short)"
                                                : "",
                main_info.dropped);
    if (nchild)
        fprintf(stderr,
                "%s%" PRIu64 " child traces (%" PRIu64 " events, %" PRIu64 " dropped frees%s): "
                "%s%s\n",
                have_main ? "; " : "arenalab: record: ", nchild, cevents, cdropped,
                ccut ? ", some cut short" : "", named, nchild > RECORD_MAX_NAMED ? ", ..." : "");
    else if (have_main)
        fprintf(stderr, "; no child traces\n");
    return have_main ? rc : -1;
}

/* ---- running the program -------------------------------------------------- */

static void record_forward(int sig)
{
    if (record_state.child > 0) kill((pid_t)record_state.child, sig);
}

/* Waits for PID with SIGINT/SIGQUIT ignored (the terminal sends them to
 * the child too) and SIGTERM/SIGHUP forwarded.  Returns the exit status
 * the shell would report. */
static int record_wait(pid_t pid)
{
    struct sigaction ign = {.sa_handler = SIG_IGN}, fwd = {.sa_handler = record_forward};
    struct sigaction old_int, old_quit, old_term, old_hup;
    sigemptyset(&ign.sa_mask);
    sigemptyset(&fwd.sa_mask);
    fwd.sa_flags = SA_RESTART;
    record_state.child = pid;
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    sigaction(SIGTERM, &fwd, &old_term);
    sigaction(SIGHUP, &fwd, &old_hup);
    int status = 0;
    pid_t w;
    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    record_state.child = 0;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    if (w < 0) return CLI_USAGE;
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

/* The recorder library: $ARENALAB_RECORD_LIB, else beside /proc/self/exe. */
static int record_find_lib(char *lib, size_t len)
{
    const char *env = getenv("ARENALAB_RECORD_LIB");
    if (env && *env) {
        if (snprintf(lib, len, "%s", env) >= (int)len) return -1;
    } else {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0) return -1;
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) *slash = '\0';
        if (snprintf(lib, len, "%s/%s", self, RECORD_LIB_NAME) >= (int)len) return -1;
    }
    return access(lib, R_OK) == 0 ? 0 : -1;
}

static int record_setenv_u(const char *name, unsigned long v)
{
    char s[32];
    snprintf(s, sizeof s, "%lu", v);
    return setenv(name, s, 1);
}

/* In the child: the recorder's settings, then the program. */
static void record_exec(const char *lib, const char *out, const char *session,
                        const record_args_t *a, char **cmd)
{
    const char *old = getenv("LD_PRELOAD");
    size_t n = strlen(lib) + (old ? strlen(old) : 0) + 2;
    char *pre = malloc(n);
    if (!pre) _exit(CLI_USAGE);
    snprintf(pre, n, "%s%s%s", lib, old && *old ? ":" : "", old && *old ? old : "");
    if (setenv("LD_PRELOAD", pre, 1) || setenv("ARENALAB_RECORD_OUT", out, 1) ||
        setenv("ARENALAB_RECORD_SESSION", session, 1) ||
        record_setenv_u("ARENALAB_RECORD_ROOT", (unsigned long)getpid()) ||
        record_setenv_u("ARENALAB_RECORD_THREADS", (unsigned long)a->threads) ||
        record_setenv_u("ARENALAB_RECORD_FLUSH_MS", a->flush_ms) ||
        record_setenv_u("ARENALAB_RECORD_BUFFER_KB", a->buffer_kb)) {
        cli_error("record: cannot set the environment: %s", strerror(errno));
        _exit(CLI_USAGE);
    }
    free(pre);
    execvp(cmd[0], cmd);
    int e = errno;
    cli_error("record: %s: %s", cmd[0], strerror(e));
    _exit(e == ENOENT ? 127 : 126);
}

static int record_run(int argc, char **argv)
{
    record_args_t a = {.threads = 1,
                       .flush_ms = RCORE_DEFAULT_FLUSH_MS,
                       .buffer_kb = (unsigned)(RCORE_DEFAULT_BUFFER / 1024)};
    int split = record_split(argc, argv);
    int first = cli_parse(&cmd_record, split, argv, record_on_opt, &a);
    if (first < 0) return cli_parse_exit(first);
    if (first < split) {
        cli_error("record: unexpected '%s' (see 'arenalab record --help')", argv[first]);
        return CLI_USAGE;
    }
    if (split < argc && !strcmp(argv[split], "--")) split++;
    if (!a.out || !*a.out) {
        cli_error("record: no output given: -o OUT (see 'arenalab record --help')");
        return CLI_USAGE;
    }
    if (split >= argc) {
        cli_error("record: no program given: arenalab record -o OUT -- CMD ARGS...");
        return CLI_USAGE;
    }
    char **cmd = argv + split;
    int ncmd = argc - split;

    /* Absolute, so that a program that changes directory still writes it. */
    char out[PATH_MAX], cwd[PATH_MAX], lib[PATH_MAX], session[64];
    if (a.out[0] == '/') {
        snprintf(out, sizeof out, "%s", a.out);
    } else if (!getcwd(cwd, sizeof cwd) ||
               snprintf(out, sizeof out, "%s/%s", cwd, a.out) >= (int)sizeof out) {
        cli_error("record: %s: path too long", a.out);
        return CLI_USAGE;
    }
    if (!a.python && record_find_lib(lib, sizeof lib) < 0) {
        cli_error("record: cannot find %s beside the arenalab binary (bazel build //sim:arenalab "
                  "builds it; or set ARENALAB_RECORD_LIB)",
                  RECORD_LIB_NAME);
        return CLI_USAGE;
    }
    /* OUT.zst: the recorders write OUT, compressed once the program ended
     * (a recorder must stay malloc-free and crash-safe). */
    char raw[PATH_MAX];
    size_t olen = strlen(out);
    int zst = olen > 4 && !strcmp(out + olen - 4, ".zst");
    snprintf(raw, sizeof raw, "%.*s", (int)(zst ? olen - 4 : olen), out);
    if ((unlink(out) != 0 && errno != ENOENT) || (unlink(raw) != 0 && errno != ENOENT)) {
        cli_error("record: %s: %s", a.out, strerror(errno));
        return CLI_USAGE;
    }
    /* The recorders create their files in OUT's directory. */
    char dir[PATH_MAX];
    const char *base;
    record_dir_base(raw, dir, sizeof dir, &base);
    if (access(dir, W_OK | X_OK) != 0) {
        cli_error("record: %s: %s", dir, strerror(errno));
        return CLI_USAGE;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    snprintf(session, sizeof session, "%ld-%lld%09ld", (long)getpid(), (long long)now.tv_sec,
             now.tv_nsec);

    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        cli_error("record: fork: %s", strerror(errno));
        return CLI_USAGE;
    }
    if (pid == 0) {
        if (!a.python) record_exec(lib, raw, session, &a, cmd);
        recpy_opts_t po = {raw, session, a.threads, a.flush_ms, (size_t)a.buffer_kb * 1024};
        int rc = recpy_run(&po, ncmd, cmd);
        fflush(NULL);
        _exit(rc); /* not exit(): the interpreter is finalised already */
    }
    int status = record_wait(pid);
    if (record_summary(raw, session, zst) < 0 && status == 0) status = CLI_USAGE;
    return status;
}

const cli_command_t cmd_record = {
    .name = "record",
    .args = "-o OUT -- CMD [ARGS...]",
    .summary = "run a program and record its allocations as a binary trace",
    .description =
        "Runs CMD with libarenalab_record.so preloaded (any dynamically linked\n"
        "program): malloc, calloc, realloc, reallocarray, free, memalign,\n"
        "posix_memalign, aligned_alloc, valloc and pvalloc become events of OUT, a\n"
        "binary trace (sim/trace/TRACE-FORMAT.md; check, stats, convert and replay read it).\n"
        "With --python, CMD is a Python script (and its arguments, as python3 takes\n"
        "them) run in libpython3.11 with hooks on the raw, mem and obj domains.\n\n"
        "A forked child, or an image that exec replaced, writes OUT.<pid> (OUT.<pid>.N\n"
        "when taken).  OUT ending in .zst: each trace is compressed with zstd once the\n"
        "program ended (every command reads .atr.zst).  Frees of blocks allocated\n"
        "before recording began are dropped and counted (metadata dropped_frees).\n"
        "Threads are numbered 1, 2, ... in THREAD records (marker 'tid N KERNEL_TID'\n"
        "gives the kernel's id); --no-threads leaves them out.\n\n"
        "Crash safety: on SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT the trace is\n"
        "flushed and stays 'cut short'; on SIGTERM, SIGHUP and SIGPIPE it is finished;\n"
        "then the signal takes its default action (handlers are installed only where\n"
        "the program has none).  Any other death (SIGKILL, SIGINT, ...) loses at most\n"
        "the buffer (--buffer-kb) and the last --flush-ms (plus a quarter).  --python:\n"
        "the trace is finished at exit and on SystemExit; a crash, os._exit or exec\n"
        "leaves it cut short at its last flush (each --buffer-kb, or --flush-ms while\n"
        "busy).\n\n"
        "Prints one summary line on standard error and exits with CMD's status\n"
        "(128+N when signal N killed it; 127 when CMD cannot be found); 2 for a usage\n"
        "error or when no trace could be written.",
    .opts = record_opts,
    .run = record_run,
};
