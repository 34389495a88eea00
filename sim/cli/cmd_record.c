/* cmd_record.c: `arenalab record -o OUT [--python] -- CMD ARGS...`: runs a
 * program with a recorder and reports what it wrote.
 *
 * Without --python the program runs with libarenalab_record.so preloaded
 * (record_preload.c; found beside our own binary, or at
 * $ARENALAB_RECORD_LIB) and its settings in the environment; with --python,
 * a forked copy of ourselves runs the script in libpython with the domain
 * hooks (record_python.c), and the library's settings in its environment
 * without its descriptor: what the script execs (subprocess) is preloaded
 * and writes OUT.<pid>, the interpreter itself is not.  Either way we
 * wait, print one summary line on stderr (events, file, dropped frees, the
 * traces of child processes: files OUT.<pid>... carrying our session id)
 * and exit with the program's status, 128+N when signal N killed it.  Our
 * own failures (usage, no recorder library, no trace written) exit 2, as
 * every command does; a program that cannot be started exits 127 (126: not
 * executable), as in the shell.
 *
 * The output.  We open OUT ourselves and hand the descriptor to the
 * recorder of the program itself (record_preload.c, record_python.c), which
 * moves it out of the program's way and checks it before every write
 * (record_core.h).  Nothing is unlinked or renamed over before the run:
 *   - a regular file (or a new one) is emptied and written in place; a
 *     symlink is followed, never replaced;
 *   - anything else (a FIFO, a character device such as /dev/null) is
 *     written straight into, as a stream: only the program itself is
 *     recorded (one stream holds one trace) and nothing is read back;
 *   - OUT.zst: the recorders write a temporary file created with O_EXCL
 *     under an unpredictable name (.OUT.zst.XXXXXX beside OUT, or in
 *     $TMPDIR when OUT is not a regular file), which we convert to binary
 *     v2 and compress while the program runs (record_conv.h: we read it
 *     as it grows, between looks at whether the program ended), into
 *     RAW.zst (O_EXCL) once it ended (one cut short is compressed as it
 *     is), then renamed over OUT if OUT is a regular file or absent, else
 *     copied into it.  OUT without .zst is never touched.
 * Child processes write OUT.<pid> beside it (O_EXCL), converted and
 * compressed likewise once the program ended.
 *
 * Failures we cannot see.  A recorder that cannot create or write its
 * trace says why on stderr and leaves an empty file named by its pid in
 * our private directory ARENALAB_RECORD_FAILED (.OUT.failed.XXXXXX beside
 * OUT, or in $TMPDIR for a stream, made by mkdtemp): we read and remove it
 * once the program ended, and exit 2 where the program exited 0, since a
 * stream (/dev/full, a FIFO) is never read back and a trace cut short by
 * a full disk looks like one cut short by a crash.  Killed with SIGKILL,
 * we leave that directory behind, as the temporary file of an OUT.zst.
 *
 * The child (program or interpreter) gets SIGKILL when we die
 * (PR_SET_PDEATHSIG): a recorder killed with SIGKILL leaves nothing
 * running.
 *
 * State: record_state (the child's pid for the SIGTERM/SIGHUP forwarder,
 * the one thing a signal handler must reach) is the only mutable static.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim/cli/commands.h"
#include "sim/base/proc.h"
#include "sim/record/record_conv.h"
#include "sim/record/record_core.h"
#include "sim/record/record_python.h"
#include "sim/trace/trace.h"
#include "sim/trace/trace_zst.h"

#define RECORD_LIB_NAME   "libarenalab_record.so"
#define RECORD_MAX_NAMED  4  /* child traces named in the summary          */
#define RECORD_ZSTD_LEVEL 3  /* fast: ~0.1 s per 10 million events        */
#define RECORD_FOLLOW_MS  10 /* the converter's look at the trace, when idle */

enum {
    RECORD_OPT_OUT = 'o',
    RECORD_OPT_PYTHON = 256,
    RECORD_OPT_NO_THREADS,
    RECORD_OPT_FLUSH_MS,
    RECORD_OPT_BUFFER_KB,
    RECORD_OPT_FOLLOW_FORK,
};

static const cli_opt_t record_opts[] = {
    {"output", 'o', "OUT", RECORD_OPT_OUT, "the trace to write (binary; required)"},
    {"python", 0, "=PYTHON", RECORD_OPT_PYTHON,
     "CMD is a Python script (or python3 options), optionally after the interpreter's name "
     "(-- python3 job.py): record CPython's raw, mem and obj domains, standing for PYTHON "
     "(default: the active virtual environment's python, else python3.11; it must be 3.11)"},
    {"no-threads", 0, NULL, RECORD_OPT_NO_THREADS, "do not write THREAD records"},
    {"flush-ms", 0, "N", RECORD_OPT_FLUSH_MS,
     "flush the buffer once N ms passed (default 100; 0: only when full)"},
    {"buffer-kb", 0, "N", RECORD_OPT_BUFFER_KB, "write buffer size in KiB (default 64)"},
    {"follow-fork", 0, "yes|no", RECORD_OPT_FOLLOW_FORK,
     "record the program's children and exec'ed images too, each into OUT.<pid>-<command> "
     "(default yes)"},
    {0},
};

typedef struct {
    const char *out;
    int python;
    int follow_fork;        /* children and exec'ed images record          */
    const char *python_exe; /* --python=PYTHON, or NULL                     */
    int threads;
    unsigned flush_ms;
    unsigned buffer_kb;
} record_args_t;

/* Where the trace goes (see the top of the file). */
typedef struct {
    char out[PATH_MAX];    /* OUT, absolute                                   */
    char plain[PATH_MAX];  /* OUT without .zst                                */
    char raw[PATH_MAX];    /* what the recorders write: OUT, or the temp file */
    int zst;               /* OUT ends with .zst: RAW is compressed into it   */
    int stream;            /* OUT is not a regular file                       */
    int created;           /* we created RAW: removed when nothing was written */
    int fd;                /* RAW, for the program's recorder                 */
    char failed[PATH_MAX]; /* our private directory where a recorder whose
                              trace could not be written leaves a file
                              (ARENALAB_RECORD_FAILED)                      */
    struct stat st;        /* its device and inode                            */
} record_out_t;

static struct {
    volatile sig_atomic_t child; /* pid to forward SIGTERM/SIGHUP to     */
} record_state;

/* Whether NAME (a path or a command) names a Python interpreter:
 * python, python3, python3.N. */
static int record_is_python_name(const char *name)
{
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    if (strncmp(base, "python", 6) != 0) return 0;
    const char *p = base + 6;
    if (!*p) return 1;
    if (*p++ != '3') return 0;
    if (!*p) return 1;
    if (*p++ != '.' || !*p) return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    return *p == '\0';
}

/* The interpreter a --python run stands for, in EXE ("" for Debian's
 * python3.11): --python=PYTHON; else the interpreter CMD starts with
 * (`-- python3 job.py`, which *SKIP then drops); else the active virtual
 * environment's python.  It is asked for its version (it must be 3.11: the
 * hooks run in libpython3.11) and its sys.executable, which is what the
 * run stands for (a venv's python: its site-packages).  0, or -1 after
 * saying what is wrong. */
static int record_python_exe(const record_args_t *a, char **cmd, int ncmd, int *skip, char *exe,
                             size_t len)
{
    const char *want = a->python_exe, *venv = getenv("VIRTUAL_ENV");
    char venv_py[PATH_MAX];
    *skip = ncmd > 0 && record_is_python_name(cmd[0]);
    if (!want && *skip) want = cmd[0];
    if (!want && venv && *venv &&
        snprintf(venv_py, sizeof venv_py, "%s/bin/python", venv) < (int)sizeof venv_py &&
        access(venv_py, X_OK) == 0)
        want = venv_py;
    *exe = '\0';
    if (!want) return 0;
    const char *const probe[] = {
        want, "-c", "import sys; print('%d.%d %s' % (sys.version_info[:2] + (sys.executable,)))",
        NULL};
    char line[PATH_MAX + 32];
    proc_line(probe, line, sizeof line);
    int major = 0, minor = 0, at = 0;
    if (sscanf(line, "%d.%d %n", &major, &minor, &at) != 2 || !line[at]) {
        cli_error("record: --python: cannot run '%s' as a Python interpreter", want);
        return -1;
    }
    if (major != 3 || minor != 11) {
        cli_error("record: --python: %s is Python %d.%d; the recorder runs scripts in "
                  "libpython3.11, so it needs a Python 3.11 (e.g. a venv made with python3.11)",
                  want, major, minor);
        return -1;
    }
    snprintf(exe, len, "%s", line + at);
    return 0;
}

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
        a->python_exe = arg && *arg ? arg : NULL;
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
    case RECORD_OPT_FOLLOW_FORK:
        if (strcmp(arg, "yes") && strcmp(arg, "no")) {
            cli_error("record: --follow-fork wants yes or no, not '%s'", arg);
            return -1;
        }
        a->follow_fork = !strcmp(arg, "yes");
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
        /* an option that takes a separate value (from the table) skips it */
        for (const cli_opt_t *o = record_opts; o->name; o++) {
            if (!o->argname || o->argname[0] == '=') continue;
            int is_short = o->short_name && s[1] == o->short_name && !s[2];
            int is_long = s[1] == '-' && !strcmp(s + 2, o->name);
            if (is_short || is_long) {
                i++;
                break;
            }
        }
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
    char pid[24];       /* metadata pid: the process it recorded          */
    char exe[PATH_MAX]; /* metadata exe: its executable                   */
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
        if (!strcmp(m->entries[i].key, "pid"))
            snprintf(info->pid, sizeof info->pid, "%s", m->entries[i].value);
        if (!strcmp(m->entries[i].key, "exe"))
            snprintf(info->exe, sizeof info->exe, "%s", m->entries[i].value);
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

/* Copies the file SRC into DST, opened as it is (a FIFO, a device, a
 * symlink's target; a regular file is emptied first).  Returns 0 or -1
 * with errno set. */
static int record_copy(const char *src, const char *dst)
{
    char buf[1 << 16];
    struct stat st;
    int in = open(src, O_RDONLY | O_CLOEXEC);
    int out = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
    int rc = in < 0 || out < 0 ? -1 : 0;
    if (rc == 0 && fstat(out, &st) == 0 && S_ISREG(st.st_mode) && ftruncate(out, 0) < 0) rc = -1;
    /* A reader of a FIFO that goes away: an error, not our death. */
    signal(SIGPIPE, SIG_IGN);
    for (ssize_t r = 1; rc == 0 && r != 0;) {
        r = read(in, buf, sizeof buf);
        if (r < 0 && errno != EINTR) rc = -1;
        for (ssize_t done = 0, w; rc == 0 && r > 0 && done < r; done += w)
            if ((w = write(out, buf + done, (size_t)(r - done))) < 0) {
                if (errno != EINTR) rc = -1;
                w = 0;
            }
    }
    int e = errno;
    if (out >= 0 && close(out) < 0 && rc == 0) {
        e = errno;
        rc = -1;
    }
    if (in >= 0) close(in);
    errno = e;
    return rc;
}

/* RAW (binary v1, as the recorders write it) as binary v2 compressed
 * whole into Z (the trace writer compresses a .zst name): its column-wise
 * blocks compress several times better.  0, or -1 (Z not written). */
static int record_convert(const char *raw, const char *z)
{
    trace_reader_t *r;
    trace_writer_t *w;
    char err[512];
    /* fast mode: the recorder's own output, and the writer checks ids */
    if (trace_open_ex(&r, raw, TRACE_R_FAST, err, sizeof err) < 0) return -1;
    if (trace_writer_open(&w, z, TRACE_FMT_BIN, trace_meta(r), 0, err, sizeof err) < 0) {
        trace_close(r);
        return -1;
    }
    int rc = trace_copy(r, w, 0, NULL, NULL);
    if (rc < 0 || trace_truncated(r)) {
        /* a trace cut short keeps its mark: compressed as it is */
        trace_writer_abort(w);
        rc = -1;
    } else {
        rc = trace_writer_close(w);
    }
    trace_close(r);
    return rc < 0 ? -1 : 0;
}

/* Compresses RAW into DST: RAW.zst first (beside RAW, whose name nobody
 * can guess), which then replaces DST when DST is a regular file or
 * absent, else is copied into it.  RAW is removed.  Returns 0 or -1
 * (reported; RAW is kept).  RAW becomes binary v2 on the way: through
 * CONV, which followed it while the program ran (NULL: the whole file now;
 * record_conv.h), else the checked way; one that cannot (cut short by a
 * crash) is compressed as it is.  Frees CONV. */
static int record_compress(const char *raw, const char *dst, rconv_t *conv)
{
    char z[PATH_MAX + 8], err[PATH_MAX + 256];
    struct stat st;
    snprintf(z, sizeof z, "%s.zst", raw);
    if (!conv) conv = rconv_open(raw);
    int rc = conv ? rconv_finish(conv, z, err, sizeof err) : RCONV_AGAIN;
    rconv_free(conv);
    if (rc < 0 && (rc == RCONV_CUT || record_convert(raw, z) < 0) &&
        tzst_compress_file(raw, z, RECORD_ZSTD_LEVEL, err, sizeof err) < 0) {
        cli_error("record: %s (the trace is kept as %s)", err, raw);
        return -1;
    }
    int exists = lstat(dst, &st) == 0;
    int plain = exists ? S_ISREG(st.st_mode) : errno == ENOENT;
    /* a file replaced keeps its mode, as every other output's (outfile.h) */
    if (plain && exists) (void)chmod(z, st.st_mode & 07777);
    if (!(plain && rename(z, dst) == 0) && record_copy(z, dst) < 0) {
        cli_error("record: %s: %s (the trace is kept as %s)", dst, strerror(errno), z);
        unlink(raw);
        return -1;
    }
    unlink(z);
    unlink(raw);
    return 0;
}

/* Reads what the recorders of SESSION wrote (O->raw and RAW.<pid>...),
 * then, for .zst, compresses each file into its final name; prints the
 * summary line.  Returns 0 or -1 (no trace, or it could not be
 * compressed). */
static int record_summary(const record_out_t *o, const char *session, rconv_t *conv)
{
    record_info_t main_info = {0}, ci;
    /* The program the user named may be a shell script or a shim that
     * execs the real one (pyenv's python): the last image of CMD's own
     * process -- the trace of its pid written last -- is that program. */
    char last_image[PATH_MAX + NAME_MAX + 8] = "", last_exe[PATH_MAX] = "";
    struct timespec last_at = {0, 0};
    char dir[PATH_MAX], named[RECORD_MAX_NAMED * (NAME_MAX + 8) + 8] = "";
    const char *base, *pbase;
    uint64_t nchild = 0, cevents = 0, cdropped = 0, ccut = 0;
    struct stat st;
    int rc = 0;
    if (o->stream && !o->zst) {
        fprintf(stderr,
                "arenalab: record: %s: not a regular file: the trace went straight into it "
                "(not read back; child processes not recorded)\n",
                o->out);
        return 0;
    }
    int have_main = stat(o->raw, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
    if (have_main) {
        record_read(o->raw, &main_info);
        if (o->zst && record_compress(o->raw, o->out, conv) < 0) rc = -1;
        conv = NULL;
    } else if (o->created) {
        unlink(o->raw);
    }
    rconv_free(conv);
    char pdir[PATH_MAX];
    record_dir_base(o->plain, pdir, sizeof pdir, &pbase);
    record_dir_base(o->raw, dir, sizeof dir, &base);
    size_t blen = strlen(base);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strncmp(n, base, blen) || n[blen] != '.' || n[blen + 1] < '0' || n[blen + 1] > '9')
            continue;
        if (strstr(n + blen, ".zst") || strstr(n + blen, ".tmp")) continue;
        char path[PATH_MAX + NAME_MAX + 2], final[PATH_MAX + NAME_MAX + 8];
        snprintf(path, sizeof path, "%s/%s", dir, n);
        record_read(path, &ci);
        if (!ci.ok && !ci.cut) continue;
        if (strcmp(ci.session, session)) continue; /* an older run's */
        /* RAW.<pid>[.k] -> OUT-without-.zst.<pid>[.k].zst */
        snprintf(final, sizeof final, "%s%s%s", o->zst ? o->plain : path, o->zst ? n + blen : "",
                 o->zst ? ".zst" : "");
        if (nchild < RECORD_MAX_NAMED) {
            size_t len = strlen(named);
            snprintf(named + len, sizeof named - len, "%s%s%s%s", nchild ? ", " : "",
                     o->zst ? pbase : n, o->zst ? n + blen : "", o->zst ? ".zst" : "");
        }
        if (main_info.pid[0] && !strcmp(ci.pid, main_info.pid) && stat(path, &st) == 0 &&
            (st.st_mtim.tv_sec > last_at.tv_sec ||
             (st.st_mtim.tv_sec == last_at.tv_sec && st.st_mtim.tv_nsec > last_at.tv_nsec))) {
            last_at = st.st_mtim;
            snprintf(last_image, sizeof last_image, "%s%s", o->zst ? o->plain : path,
                     o->zst ? n + blen : "");
            if (o->zst) strncat(last_image, ".zst", sizeof last_image - strlen(last_image) - 1);
            snprintf(last_exe, sizeof last_exe, "%s", ci.exe);
        }
        nchild++;
        cevents += ci.events;
        cdropped += ci.dropped;
        ccut += ci.cut;
        if (o->zst && record_compress(path, final, NULL) < 0) rc = -1;
    }
    if (d) closedir(d);
    if (!have_main)
        cli_error("record: %s: no trace was written (a statically linked program, or one that "
                  "could not start?)",
                  o->out);
    else
        fprintf(stderr, "arenalab: record: %s: %" PRIu64 " events%s, %" PRIu64 " dropped frees",
                o->out, main_info.events,
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
    if (have_main && last_image[0])
        fprintf(stderr,
                "arenalab: record: the program you named exec'd %s (pid %s): its trace is %s "
                "(%s holds what ran before the exec)\n",
                last_exe[0] ? last_exe : "another program", main_info.pid, last_image, o->out);
    return have_main ? rc : -1;
}

/* Closes our copy of the descriptor; with DROP, removes what we created. */
static void record_out_close(record_out_t *o, int drop)
{
    if (o->fd >= 0) close(o->fd);
    o->fd = -1;
    if (drop && o->created) unlink(o->raw);
    if (drop) o->created = 0;
}

/* Opens where the trace goes (see the top of the file).  Returns 0, or -1
 * (reported). */
static int record_out_open(record_out_t *o, const char *given)
{
    struct stat st;
    char dir[PATH_MAX];
    const char *base;
    size_t olen = strlen(o->out);
    o->fd = -1;
    o->zst = olen > 4 && !strcmp(o->out + olen - 4, ".zst");
    snprintf(o->plain, sizeof o->plain, "%.*s", (int)(o->zst ? olen - 4 : olen), o->out);
    if (stat(o->out, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            cli_error("record: %s: %s", given, strerror(EISDIR));
            return -1;
        }
        o->stream = !S_ISREG(st.st_mode);
        /* OUT.zst is renamed over a file, which needs only the directory's
         * permission: a file the user may not write is refused here, as
         * open() refuses OUT without .zst, before the program runs */
        if (S_ISREG(st.st_mode) && faccessat(AT_FDCWD, o->out, W_OK, AT_EACCESS) != 0) {
            cli_error("record: %s: %s", given, strerror(errno));
            return -1;
        }
    } else if (errno != ENOENT) {
        cli_error("record: %s: %s", given, strerror(errno));
        return -1;
    }
    /* Child processes create their traces in OUT's directory. */
    record_dir_base(o->out, dir, sizeof dir, &base);
    if (!o->stream && access(dir, W_OK | X_OK) != 0) {
        cli_error("record: %s: %s", dir, strerror(errno));
        return -1;
    }
    if (o->zst) {
        const char *tmpdir = getenv("TMPDIR");
        if (o->stream) snprintf(dir, sizeof dir, "%s", tmpdir && *tmpdir ? tmpdir : "/tmp");
        if (snprintf(o->raw, sizeof o->raw, "%s/.%s.XXXXXX", dir, base) >= (int)sizeof o->raw) {
            cli_error("record: %s: path too long", given);
            return -1;
        }
        o->fd = mkostemp(o->raw, O_CLOEXEC);
        o->created = o->fd >= 0;
    } else {
        snprintf(o->raw, sizeof o->raw, "%s", o->out);
        o->fd = open(o->raw, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0644);
        o->created = o->fd >= 0;
        /* It exists (or is a symlink): open what it names, FIFOs wait for
         * their reader. */
        if (o->fd < 0 && errno == EEXIST)
            o->fd = open(o->raw, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
    }
    if (o->fd >= 0 && fstat(o->fd, &o->st) == 0) {
        if (!o->zst) o->stream = !S_ISREG(o->st.st_mode);
        if (!S_ISREG(o->st.st_mode) || ftruncate(o->fd, 0) == 0) return 0;
    }
    cli_error("record: %s: %s", o->zst ? o->raw : given, strerror(errno));
    record_out_close(o, 1);
    return -1;
}

/* ---- running the program -------------------------------------------------- */

static void record_forward(int sig)
{
    if (record_state.child > 0) kill((pid_t)record_state.child, sig);
}

/* Waits for PID with SIGINT/SIGQUIT ignored (the terminal sends them to
 * the child too) and SIGTERM/SIGHUP forwarded; meanwhile CONV (may be
 * NULL) converts what the recorder writes, on a core the program leaves
 * free, looking again every RECORD_FOLLOW_MS when there was nothing new
 * (the program's end wakes us at once: a pidfd; without one, naps of a
 * tenth of that).
 * Returns the exit status the shell would report. */
static int record_wait(pid_t pid, rconv_t *conv)
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
    int pidfd = conv ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
    for (;;) {
        int got = conv ? rconv_step(conv) : -1; /* < 0: not following */
        w = waitpid(pid, &status, got >= 0 ? WNOHANG : 0);
        if (w == 0) {
            struct timespec nap = {0, RECORD_FOLLOW_MS * 100000L};
            struct pollfd end = {.fd = pidfd, .events = POLLIN};
            if (got == 0 && (pidfd < 0 || poll(&end, 1, RECORD_FOLLOW_MS) < 0))
                nanosleep(&nap, NULL);
            continue;
        }
        if (w >= 0 || errno != EINTR) break;
    }
    if (pidfd >= 0) close(pidfd);
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

/* Makes O->failed, the private directory where recorders say that a
 * trace could not be written: beside OUT as RAW is (.BASE.failed.XXXXXX),
 * in $TMPDIR or /tmp for an OUT that is not a regular file.  0, or -1
 * (reported). */
static int record_failed_open(record_out_t *o)
{
    char dir[PATH_MAX];
    const char *base;
    record_dir_base(o->out, dir, sizeof dir, &base);
    const char *tmpdir = getenv("TMPDIR");
    int n = o->stream ? snprintf(o->failed, sizeof o->failed, "%s/arenalab-record-XXXXXX",
                                 tmpdir && *tmpdir ? tmpdir : "/tmp")
                      : snprintf(o->failed, sizeof o->failed, "%s/.%s.failed.XXXXXX", dir, base);
    if (n >= (int)sizeof o->failed || !mkdtemp(o->failed)) {
        cli_error("record: cannot create %s: %s", o->failed, strerror(errno));
        return -1;
    }
    return 0;
}

/* How many recorders said in O->failed that their trace could not be
 * written; empties and removes the directory (only the names recorders
 * give: a pid). */
static int record_failed_close(const record_out_t *o)
{
    int n = 0;
    DIR *d = opendir(o->failed);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (e->d_name[0] >= '0' && e->d_name[0] <= '9' &&
            strspn(e->d_name, "0123456789") == strlen(e->d_name)) {
            n++;
            unlinkat(dirfd(d), e->d_name, 0);
        }
    if (d) closedir(d);
    rmdir(o->failed);
    return n;
}

/* In the child, first: it dies with us (SIGKILL), and if we are gone
 * already, it does not start. */
static void record_child_init(pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(CLI_USAGE);
}

/* The recorder library's settings in our environment, for the images we
 * exec: LD_PRELOAD (LIB in front of any other), OUT's names, the session,
 * the options, and the root process (ourselves: the image that replaces
 * us takes the descriptor FD over; -1: none does, every image writes
 * OUT.<pid>).  0, or -1 with errno. */
static int record_env(const char *lib, const record_out_t *o, const char *session,
                      const record_args_t *a, int fd)
{
    const char *old = getenv("LD_PRELOAD");
    size_t n = strlen(lib) + (old ? strlen(old) : 0) + 2;
    char *pre = malloc(n), fdspec[80];
    if (!pre) return -1;
    snprintf(pre, n, "%s%s%s", lib, old && *old ? ":" : "", old && *old ? old : "");
    snprintf(fdspec, sizeof fdspec, "%d:%ju:%ju", fd, (uintmax_t)o->st.st_dev,
             (uintmax_t)o->st.st_ino);
    /* our standard error: the only file the recorder's messages may go to
     * ("-": none, ours is closed) */
    char errspec[64] = "-";
    struct stat est;
    if (fstat(STDERR_FILENO, &est) == 0)
        snprintf(errspec, sizeof errspec, "%ju:%ju", (uintmax_t)est.st_dev, (uintmax_t)est.st_ino);
    int bad =
        setenv("LD_PRELOAD", pre, 1) || setenv("ARENALAB_RECORD_OUT", o->raw, 1) ||
        setenv("ARENALAB_RECORD_STDERR", errspec, 1) ||
        setenv("ARENALAB_RECORD_FAILED", o->failed, 1) ||
        (fd >= 0 ? setenv("ARENALAB_RECORD_FD", fdspec, 1) : unsetenv("ARENALAB_RECORD_FD")) ||
        setenv("ARENALAB_RECORD_NAME", o->out, 1) ||
        record_setenv_u("ARENALAB_RECORD_CHILDREN",
                        (unsigned long)(!o->stream && a->follow_fork)) ||
        setenv("ARENALAB_RECORD_SESSION", session, 1) ||
        record_setenv_u("ARENALAB_RECORD_ROOT", (unsigned long)getpid()) ||
        record_setenv_u("ARENALAB_RECORD_THREADS", (unsigned long)a->threads) ||
        record_setenv_u("ARENALAB_RECORD_FLUSH_MS", a->flush_ms) ||
        record_setenv_u("ARENALAB_RECORD_BUFFER_KB", a->buffer_kb);
    free(pre);
    return bad ? -1 : 0;
}

/* In the child: the recorder's settings, then the program.  O->fd stays
 * open across the exec for the program's recorder to take. */
static void record_exec(const char *lib, const record_out_t *o, const char *session,
                        const record_args_t *a, char **cmd)
{
    if (fcntl(o->fd, F_SETFD, 0) < 0 || record_env(lib, o, session, a, o->fd) < 0) {
        cli_error("record: cannot set the environment: %s", strerror(errno));
        _exit(CLI_USAGE);
    }
    execvp(cmd[0], cmd);
    int e = errno;
    cli_error("record: %s: %s", cmd[0], strerror(e));
    _exit(e == ENOENT ? 127 : 126);
}

static int record_run(int argc, char **argv)
{
    record_args_t a = {.threads = 1,
                       .follow_fork = 1,
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
    /* the one rule for trace names: the recorders write binary traces */
    trace_format_t fmt;
    char nerr[512];
    if (trace_output_format(a.out, TRACE_FMT_BIN, &fmt, nerr, sizeof nerr) < 0 ||
        !strcmp(a.out, "-")) {
        cli_error("record: %s (record writes binary traces: OUT.atr or OUT.atr.zst)",
                  strcmp(a.out, "-") ? nerr : "standard output");
        return CLI_USAGE;
    }
    if (split >= argc) {
        cli_error("record: no program given: arenalab record -o OUT -- CMD ARGS...");
        return CLI_USAGE;
    }
    char **cmd = argv + split;
    int ncmd = argc - split;

    /* Absolute, so that a program that changes directory still writes it. */
    record_out_t o = {.fd = -1};
    char cwd[PATH_MAX], lib[PATH_MAX], session[64];
    if (a.out[0] == '/') {
        snprintf(o.out, sizeof o.out, "%s", a.out);
    } else if (!getcwd(cwd, sizeof cwd) ||
               snprintf(o.out, sizeof o.out, "%s/%s", cwd, a.out) >= (int)sizeof o.out) {
        cli_error("record: %s: path too long", a.out);
        return CLI_USAGE;
    }
    /* --python records the programs the script execs (subprocess) with
     * the library too, when there is one */
    int have_lib = record_find_lib(lib, sizeof lib) == 0;
    if (!a.python && !have_lib) {
        cli_error("record: cannot find %s beside the arenalab binary (bazel build //sim:arenalab "
                  "builds it; or set ARENALAB_RECORD_LIB)",
                  RECORD_LIB_NAME);
        return CLI_USAGE;
    }
    char python[PATH_MAX] = "";
    if (a.python) {
        int skip = 0;
        if (record_python_exe(&a, cmd, ncmd, &skip, python, sizeof python) < 0) return CLI_USAGE;
        cmd += skip;
        ncmd -= skip;
        if (ncmd == 0) {
            cli_error("record: --python: no script after the interpreter (-- python3 job.py)");
            return CLI_USAGE;
        }
    }
    if (record_out_open(&o, a.out) < 0) return CLI_USAGE;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    snprintf(session, sizeof session, "%ld-%lld%09ld", (long)getpid(), (long long)now.tv_sec,
             now.tv_nsec);

    if (record_failed_open(&o) < 0) {
        record_out_close(&o, 1);
        return CLI_USAGE;
    }
    fflush(NULL);
    pid_t parent = getpid(), pid = fork();
    if (pid < 0) {
        cli_error("record: fork: %s", strerror(errno));
        record_out_close(&o, 1);
        record_failed_close(&o);
        return CLI_USAGE;
    }
    if (pid == 0) {
        record_child_init(parent);
        if (!a.python) record_exec(lib, &o, session, &a, cmd);
        /* The interpreter is not preloaded (its domains are hooked
         * instead); what it execs is, and writes OUT.<pid>.  A stream
         * holds one trace: then nothing else records. */
        if (have_lib && !o.stream && record_env(lib, &o, session, &a, -1) < 0) {
            cli_error("record: cannot set the environment: %s", strerror(errno));
            _exit(CLI_USAGE);
        }
        recpy_opts_t po = {.fd = o.fd,
                           .name = o.out,
                           .out = o.raw,
                           .children = !o.stream && a.follow_fork,
                           .session = session,
                           .threads = a.threads,
                           .flush_ms = a.flush_ms,
                           .bufsize = (size_t)a.buffer_kb * 1024,
                           .python = *python ? python : NULL,
                           .failed = o.failed};
        int rc = recpy_run(&po, ncmd, cmd);
        fflush(NULL);
        _exit(rc); /* not exit(): the interpreter is finalised already */
    }
    /* The recorder holds the descriptor now (a FIFO's reader sees its end
     * when the program's goes). */
    record_out_close(&o, 0);
    rconv_t *conv = o.zst ? rconv_open(o.raw) : NULL;
    int status = record_wait(pid, conv);
    if (record_summary(&o, session, conv) < 0 && status == 0) status = CLI_USAGE;
    /* a trace the recorder could not create or write to its end: said by
     * the recorder (its message above), and here by the exit status,
     * also of an output we cannot read back */
    int failed = record_failed_close(&o);
    if (failed) {
        cli_error("record: %s: %d trace%s could not be written whole (the recorder's message "
                  "above says why)",
                  o.out, failed, failed == 1 ? "" : "s");
        if (status == 0) status = CLI_USAGE;
    }
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
        "them) run in libpython3.11 with hooks on the raw, mem and obj domains,\n"
        "standing for the active virtual environment's python ($VIRTUAL_ENV: its\n"
        "site-packages are there), for the interpreter named first (-- python3 job.py),\n"
        "or for --python=PYTHON; it must be a Python 3.11.  A program the script starts\n"
        "(subprocess, os.system, os.exec*) is recorded with libarenalab_record.so like\n"
        "any program (its malloc family, not domains: to record a Python child's\n"
        "domains, run it under arenalab record --python).\n\n"
        "A forked child, or an image that exec replaced, writes OUT.<pid>-<command>\n"
        "(OUT.<pid>-<command>.N when taken; --python children: OUT.<pid>; an OUT.zst's\n"
        "children: OUT.<pid>-<command>.zst); --follow-fork no records CMD's own\n"
        "process only.  When CMD's own process execs another\n"
        "program (CMD is a shell script or a shim, as pyenv's python), the summary\n"
        "says which file holds that program.  OUT ending in .zst: each trace becomes\n"
        "binary version 2 compressed with zstd (every command reads .atr.zst; a trace\n"
        "cut short is compressed as written): CMD's own while CMD runs, converted as\n"
        "the recorder writes it (on a core CMD leaves free), its children's once CMD\n"
        "ended; until then a trace is a temporary file beside OUT, and OUT without\n"
        ".zst is never touched; a trace that cannot be written is kept as that file,\n"
        "with an error and a non-zero exit status.  Frees of blocks allocated before\n"
        "recording began are dropped and counted (metadata dropped_frees).\n\n"
        "OUT is opened, never unlinked: a symlink is followed; a FIFO or a device\n"
        "(e.g. /dev/null) is written straight into, and then only CMD itself is\n"
        "recorded (not its children nor what it execs).  The trace's descriptor is\n"
        "kept high and close-on-exec; CMD's close, dup2, dup3, close_range and\n"
        "closefrom (the C library's) never take it: it moves out of their way\n"
        "between two of the recorder's writes, and recording goes on.  It is also\n"
        "checked before every write: if a raw system call (or --python's\n"
        "os.closerange) closed or replaced it, recording stops with a message and\n"
        "the trace is cut short, rather than write to a file CMD owns.  If arenalab\n"
        "itself is killed, CMD gets SIGKILL.\n\n"
        "Threads are numbered 1, 2, ... in THREAD records (marker 'tid N KERNEL_TID'\n"
        "gives the kernel's id); --no-threads leaves them out.  Each thread's calls\n"
        "are in the order it made them, and the trace is one valid order of all\n"
        "threads: a block's allocation is written before malloc returns it, its free\n"
        "before the block goes back to the allocator, and a realloc under the\n"
        "recorder's lock, so no thread frees or resizes a block before its\n"
        "allocation in the trace (sim/record/README.md, \"Threads\").\n\n"
        "Crash safety: on SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT the trace is\n"
        "flushed and stays 'cut short'; on SIGTERM, SIGHUP and SIGPIPE it is finished;\n"
        "then the signal takes its default action (handlers are installed only where\n"
        "the program has none).  Any other death (SIGKILL, SIGINT, ...) loses at most\n"
        "the buffer (--buffer-kb) and the last --flush-ms (plus a quarter).  --python:\n"
        "the trace is finished at exit, on SystemExit and on an uncaught\n"
        "KeyboardInterrupt (Ctrl-C); a crash, os._exit or exec leaves it cut short at\n"
        "its last flush (each --buffer-kb, or --flush-ms while busy).\n\n"
        "Prints one summary line on standard error and exits with CMD's status\n"
        "(128+N when signal N killed it; 127 when CMD cannot be found); 2 for a usage\n"
        "error, when no trace could be written, or when a recorder could not create its\n"
        "trace or write it to the end (disk full, -o /dev/full: its message says why).",
    .opts = record_opts,
    .run = record_run,
};
