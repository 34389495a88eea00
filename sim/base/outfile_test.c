/* outfile_test.c: every kind of output path -- new, regular, symbolic link
 * (relative, chained, dangling, looping, into another directory), device,
 * FIFO, /proc/self/fd link, directory, socket -- the temporary file's name
 * and mode, write errors, and the removal of the temporary file on SIGINT,
 * SIGTERM and SIGHUP, chained with a handler installed before.
 *
 * Device nodes are private: made with mknod in the test's own directory
 * (those checks are skipped, and say so, without CAP_MKNOD). */
#include "sim/base/outfile.h"
#include "alloc/check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char ot_root[PATH_MAX];
static int ot_case;

/* A fresh empty directory for one case, in DIR. */
static void ot_dir(char *dir, size_t len)
{
    if (snprintf(dir, len, "%s/case%d", ot_root, ++ot_case) >= (int)len) {
        fprintf(stderr, "outfile_test: path too long: %s\n", ot_root);
        exit(1);
    }
    CHECKF(mkdir(dir, 0755) == 0, "mkdir %s: %s", dir, strerror(errno));
}

/* DIR/NAME into OUT. */
static void ot_path(char *out, size_t len, const char *dir, const char *name)
{
    if (snprintf(out, len, "%s/%s", dir, name) >= (int)len) {
        fprintf(stderr, "outfile_test: path too long: %s/%s\n", dir, name);
        exit(1);
    }
}

/* Entries of DIR (without . and ..); the first whose name starts with
 * PREFIX goes to FOUND when given. */
static int ot_count(const char *dir, const char *prefix, char *found, size_t len)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (found) found[0] = '\0';
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        n++;
        if (found && !found[0] && prefix && !strncmp(e->d_name, prefix, strlen(prefix)))
            snprintf(found, len, "%s", e->d_name);
    }
    closedir(d);
    return n;
}

/* PATH's content (at most LEN-1 bytes) into BUF; -1 when unreadable. */
static int ot_read(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0) return -1;
    buf[n] = '\0';
    return 0;
}

static void ot_put(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    CHECKF(fd >= 0, "%s: %s", path, strerror(errno));
    if (fd < 0) return;
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
}

/* Opens PATH, writes TEXT, commits; returns commit's (or open's) result. */
static int ot_write(const char *path, const char *text, char *err, size_t errlen)
{
    outfile_t o;
    err[0] = '\0';
    if (outfile_open(&o, path, "w", err, errlen) != 0) return -1;
    fputs(text, o.fp);
    return outfile_commit(&o, err, errlen);
}

static int ot_has(const char *path, const char *text)
{
    char buf[4096];
    return ot_read(path, buf, sizeof buf) == 0 && strcmp(buf, text) == 0;
}

/* ---- regular files ---------------------------------------------------------- */

static void ot_new_file(void)
{
    char dir[PATH_MAX], p[PATH_MAX + 32], err[512];
    struct stat st;
    ot_dir(dir, sizeof dir);
    ot_path(p, sizeof p, dir, "out.json");
    mode_t old = umask(022);
    CHECKF(ot_write(p, "hello\n", err, sizeof err) == 0, "%s", err);
    CHECK(ot_has(p, "hello\n"));
    CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0644);
    CHECK(ot_count(dir, NULL, NULL, 0) == 1);
    unlink(p);
    umask(077);
    CHECKF(ot_write(p, "x", err, sizeof err) == 0, "%s", err);
    CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0600);
    umask(old);

    /* a missing directory, an empty name, a mode we do not do */
    outfile_t o;
    ot_path(p, sizeof p, dir, "nosuch/out.json");
    CHECK(outfile_open(&o, p, "w", err, sizeof err) == -1);
    CHECKF(strstr(err, "nosuch/out.json: cannot create: No such file") != NULL, "%s", err);
    CHECK(outfile_open(&o, "", "w", err, sizeof err) == -1);
    ot_path(p, sizeof p, dir, "a.txt");
    CHECK(outfile_open(&o, p, "a", err, sizeof err) == -1 && access(p, F_OK) != 0);
    CHECK(ot_count(dir, NULL, NULL, 0) == 1);
}

/* The temporary file: beside the target, an unpredictable name, created
 * without following a link planted under the old predictable name. */
static void ot_temp_name(void)
{
    char dir[PATH_MAX], p[PATH_MAX + 32], err[512], tmp1[256], tmp2[256], pidname[64];
    struct stat st;
    ot_dir(dir, sizeof dir);
    ot_path(p, sizeof p, dir, "out.json");

    char victim[PATH_MAX + 32], trap[PATH_MAX + 64];
    ot_path(victim, sizeof victim, dir, "victim");
    ot_put(victim, "precious\n", 0644);
    snprintf(pidname, sizeof pidname, "out.json.tmp.%ld", (long)getpid());
    ot_path(trap, sizeof trap, dir, pidname);
    CHECK(symlink("victim", trap) == 0);

    mode_t old = umask(027);
    outfile_t a, b;
    CHECKF(outfile_open(&a, p, "w", err, sizeof err) == 0, "%s", err);
    CHECKF(outfile_open(&b, p, "w", err, sizeof err) == 0, "%s", err);
    umask(old);
    CHECK(ot_count(dir, "out.json.tmp.", tmp1, sizeof tmp1) == 4); /* victim, trap, 2 temps */
    fputs("a", a.fp);
    fputs("b", b.fp);
    fflush(a.fp);
    fflush(b.fp);
    CHECK(a.tmp && b.tmp && strcmp(a.tmp, b.tmp) != 0);
    snprintf(tmp1, sizeof tmp1, "%s", a.tmp ? a.tmp : "");
    snprintf(tmp2, sizeof tmp2, "%s", b.tmp ? b.tmp : "");
    CHECKF(strncmp(tmp1, "out.json.tmp.", 13) == 0 && strlen(tmp1) == 13 + 12, "%s", tmp1);
    CHECKF(strcmp(tmp1, pidname) != 0 && strcmp(tmp2, pidname) != 0, "%s", tmp1);
    char t[PATH_MAX + 300];
    ot_path(t, sizeof t, dir, tmp1);
    CHECK(lstat(t, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0640);
    CHECK(ot_has(victim, "precious\n"));
    outfile_abort(&b);
    CHECKF(outfile_commit(&a, err, sizeof err) == 0, "%s", err);
    CHECK(ot_has(p, "a") && ot_has(victim, "precious\n"));
    CHECK(lstat(trap, &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(ot_count(dir, NULL, NULL, 0) == 3); /* out.json, victim, trap */
    CHECK(a.fp == NULL && a.tmp == NULL && b.fp == NULL);

    /* a name at NAME_MAX still gets a temporary file that fits */
    char name[NAME_MAX + 1];
    memset(name, 'n', NAME_MAX);
    name[NAME_MAX] = '\0';
    ot_path(p, sizeof p, dir, name);
    CHECKF(ot_write(p, "long", err, sizeof err) == 0, "%s", err);
    CHECK(ot_has(p, "long"));
    CHECK(ot_count(dir, NULL, NULL, 0) == 4);
}

/* Without the right to write a file, the caller may not replace it either:
 * a read-only file (or another user's, in a directory the caller may
 * write) is refused as writing into it would be, and left as it was.  Run
 * in a child without CAP_DAC_OVERRIDE when the test runs as root, for
 * whom every file is writable. */
static void ot_not_writable(void)
{
    char dir[PATH_MAX], p[PATH_MAX + 32], err[512];
    ot_dir(dir, sizeof dir);
    ot_path(p, sizeof p, dir, "ro.txt");
    ot_put(p, "old\n", 0444);
    pid_t pid = fork();
    if (pid == 0) {
        if (geteuid() == 0) {
            struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
            struct __user_cap_data_struct d[2];
            if (syscall(SYS_capget, &h, d) != 0) _exit(70);
            for (int i = 0; i < 2; i++)
                d[i].effective &= ~(1u << CAP_DAC_OVERRIDE) & ~(1u << CAP_DAC_READ_SEARCH);
            if (syscall(SYS_capset, &h, d) != 0) _exit(71);
        }
        int rc = ot_write(p, "new\n", err, sizeof err);
        CHECKF(rc == -1, "a read-only file was replaced (%s)", err);
        CHECKF(strstr(err, "ro.txt: cannot open: Permission denied") != NULL, "%s", err);
        _exit(check_done());
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
    CHECKF(WEXITSTATUS(status) == 0, "the unprivileged child failed (status %d)",
           WEXITSTATUS(status));
    CHECK(ot_has(p, "old\n"));
    struct stat st;
    CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0444);
    CHECK(ot_count(dir, NULL, NULL, 0) == 1); /* no temporary file left */
}

static void ot_replace(void)
{
    char dir[PATH_MAX], p[PATH_MAX + 32], err[512];
    struct stat before, after;
    ot_dir(dir, sizeof dir);
    ot_path(p, sizeof p, dir, "out.txt");
    ot_put(p, "old\n", 0600);
    CHECK(chmod(p, 0604) == 0);
    CHECK(stat(p, &before) == 0);

    outfile_t o;
    CHECKF(outfile_open(&o, p, "w", err, sizeof err) == 0, "%s", err);
    fputs("new\n", o.fp);
    fflush(o.fp);
    CHECK(ot_has(p, "old\n")); /* untouched until the commit */
    CHECKF(outfile_commit(&o, err, sizeof err) == 0, "%s", err);
    CHECK(ot_has(p, "new\n"));
    CHECK(stat(p, &after) == 0 && after.st_ino != before.st_ino);
    CHECK((after.st_mode & 07777) == 0604); /* the replaced file's permissions */
    CHECK(ot_count(dir, NULL, NULL, 0) == 1);

    /* a FIFO made at the path while the output was written is not replaced */
    CHECKF(outfile_open(&o, p, "w", err, sizeof err) == 0, "%s", err);
    fputs("late\n", o.fp);
    CHECK(unlink(p) == 0 && mkfifo(p, 0600) == 0);
    CHECK(outfile_commit(&o, err, sizeof err) == -1);
    CHECKF(strstr(err, "out.txt: is no longer a regular file; not replaced") != NULL, "%s", err);
    struct stat st;
    CHECK(lstat(p, &st) == 0 && S_ISFIFO(st.st_mode));
    CHECK(ot_count(dir, NULL, NULL, 0) == 1);
    CHECK(unlink(p) == 0);
    ot_put(p, "new\n", 0644);

    /* abort: the old file stays, the temporary file goes */
    CHECKF(outfile_open(&o, p, "w", err, sizeof err) == 0, "%s", err);
    fputs("discarded\n", o.fp);
    outfile_abort(&o);
    CHECK(ot_has(p, "new\n"));
    CHECK(ot_count(dir, NULL, NULL, 0) == 1);
}

/* A write that fails (the file size limit): commit fails, says why, and
 * removes the temporary file; the old output stays. */
static void ot_write_error(void)
{
    char dir[PATH_MAX], p[PATH_MAX + 32];
    ot_dir(dir, sizeof dir);
    ot_path(p, sizeof p, dir, "big.out");
    ot_put(p, "old\n", 0644);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = {4096, 4096};
        signal(SIGXFSZ, SIG_IGN);
        setrlimit(RLIMIT_FSIZE, &rl);
        char err[512];
        outfile_t o;
        if (outfile_open(&o, p, "w", err, sizeof err) != 0) _exit(10);
        for (int i = 0; i < 10000; i++)
            fputs("0123456789", o.fp);
        if (outfile_commit(&o, err, sizeof err) != -1) _exit(11);
        if (!strstr(err, "big.out: cannot write: File too large")) _exit(12);
        _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
    CHECK(ot_has(p, "old\n"));
    CHECK(ot_count(dir, NULL, NULL, 0) == 1);
}

/* ---- symbolic links -------------------------------------------------------------- */

static int ot_is_link_to(const char *path, const char *text)
{
    char buf[PATH_MAX];
    struct stat st;
    ssize_t n = readlink(path, buf, sizeof buf - 1);
    if (n < 0 || lstat(path, &st) != 0 || !S_ISLNK(st.st_mode)) return 0;
    buf[n] = '\0';
    return strcmp(buf, text) == 0;
}

static void ot_symlinks(void)
{
    char dir[PATH_MAX], p[PATH_MAX + 32], q[PATH_MAX + 32], err[512];
    ot_dir(dir, sizeof dir);

    /* relative, through a chain: the target is replaced, links stay */
    ot_path(p, sizeof p, dir, "real.json");
    ot_put(p, "old", 0644);
    ot_path(q, sizeof q, dir, "link");
    CHECK(symlink("real.json", q) == 0);
    ot_path(q, sizeof q, dir, "link2");
    CHECK(symlink("link", q) == 0);
    CHECKF(ot_write(q, "via links", err, sizeof err) == 0, "%s", err);
    CHECK(ot_has(p, "via links"));
    CHECK(ot_is_link_to(q, "link"));
    ot_path(q, sizeof q, dir, "link");
    CHECK(ot_is_link_to(q, "real.json"));
    CHECK(ot_count(dir, NULL, NULL, 0) == 3);

    /* into another directory: the temporary file is made there */
    char sub[PATH_MAX + 32];
    ot_path(sub, sizeof sub, dir, "sub");
    CHECK(mkdir(sub, 0755) == 0);
    ot_path(q, sizeof q, dir, "far");
    CHECK(symlink("sub/target.json", q) == 0);
    outfile_t o;
    CHECKF(outfile_open(&o, q, "w", err, sizeof err) == 0, "%s", err);
    CHECK(ot_count(sub, "target.json.tmp.", NULL, 0) == 1);
    fputs("far away", o.fp);
    CHECKF(outfile_commit(&o, err, sizeof err) == 0, "%s", err);
    ot_path(p, sizeof p, sub, "target.json");
    CHECK(ot_has(p, "far away") && ot_is_link_to(q, "sub/target.json"));
    CHECK(ot_count(sub, NULL, NULL, 0) == 1);

    /* absolute and dangling: the target is created */
    ot_path(p, sizeof p, dir, "created.json");
    ot_path(q, sizeof q, dir, "dangling");
    CHECK(symlink(p, q) == 0);
    CHECKF(ot_write(q, "made", err, sizeof err) == 0, "%s", err);
    CHECK(ot_has(p, "made") && ot_is_link_to(q, p));

    /* a loop: an error, nothing created */
    int n = ot_count(dir, NULL, NULL, 0);
    ot_path(p, sizeof p, dir, "loop1");
    ot_path(q, sizeof q, dir, "loop2");
    CHECK(symlink("loop2", p) == 0 && symlink("loop1", q) == 0);
    CHECK(ot_write(p, "x", err, sizeof err) == -1);
    CHECKF(strstr(err, "loop1: cannot open: Too many levels of symbolic links") != NULL, "%s", err);
    CHECK(ot_count(dir, NULL, NULL, 0) == n + 2);
}

static void ot_directory(void)
{
    char dir[PATH_MAX], p[PATH_MAX + 32], err[512];
    struct stat st;
    ot_dir(dir, sizeof dir);
    outfile_t o;
    CHECK(outfile_open(&o, dir, "w", err, sizeof err) == -1);
    CHECKF(strstr(err, ": is a directory") != NULL && strstr(err, dir) == err, "%s", err);
    ot_path(p, sizeof p, dir, "to-dir");
    CHECK(symlink(".", p) == 0);
    CHECK(outfile_open(&o, p, "w", err, sizeof err) == -1);
    CHECKF(strstr(err, "to-dir: is a directory") != NULL, "%s", err);
    CHECK(lstat(p, &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(ot_count(dir, NULL, NULL, 0) == 1);
}

/* ---- written in place ---------------------------------------------------------- */

static int ot_mknod(const char *path, unsigned major, unsigned minor)
{
    if (mknod(path, S_IFCHR | 0666, makedev(major, minor)) == 0) return 0;
    fprintf(stderr, "outfile_test: mknod %s: %s: device checks skipped\n", path, strerror(errno));
    return -1;
}

static int ot_is_chr(const char *path, unsigned major, unsigned minor)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(major, minor);
}

static void ot_devices(void)
{
    char dir[PATH_MAX], null[PATH_MAX + 32], full[PATH_MAX + 32], p[PATH_MAX + 32], err[512];
    ot_dir(dir, sizeof dir);
    ot_path(null, sizeof null, dir, "null");
    ot_path(full, sizeof full, dir, "full");
    if (ot_mknod(null, 1, 3) || ot_mknod(full, 1, 7)) return;

    CHECKF(ot_write(null, "gone", err, sizeof err) == 0, "%s", err);
    CHECK(ot_is_chr(null, 1, 3));
    outfile_t o;
    CHECKF(outfile_open(&o, null, "wb", err, sizeof err) == 0, "%s", err);
    CHECK(o.kind == OUTFILE_DIRECT && o.tmp == NULL);
    CHECK(ot_count(dir, NULL, NULL, 0) == 2);
    outfile_abort(&o); /* never removed */
    CHECK(ot_is_chr(null, 1, 3));

    /* through a link: the link and the node stay */
    ot_path(p, sizeof p, dir, "to-null");
    CHECK(symlink("null", p) == 0);
    CHECKF(ot_write(p, "gone", err, sizeof err) == 0, "%s", err);
    CHECK(ot_is_chr(null, 1, 3) && ot_is_link_to(p, "null"));

    /* a device that fails writes: commit says so */
    CHECKF(outfile_open(&o, full, "w", err, sizeof err) == 0, "%s", err);
    for (int i = 0; i < 2000; i++)
        fputs("0123456789", o.fp);
    CHECK(outfile_commit(&o, err, sizeof err) == -1);
    CHECKF(strstr(err, "full: cannot write: No space left on device") != NULL, "%s", err);
    CHECK(ot_is_chr(full, 1, 7));
    CHECK(ot_count(dir, NULL, NULL, 0) == 3);
}

static void ot_fifo(void)
{
    char dir[PATH_MAX], p[PATH_MAX + 32], err[512], buf[64];
    struct stat st;
    ot_dir(dir, sizeof dir);
    ot_path(p, sizeof p, dir, "fifo");
    CHECK(mkfifo(p, 0600) == 0);
    int rd = open(p, O_RDONLY | O_NONBLOCK); /* a reader, so the open does not wait */
    CHECK(rd >= 0);
    CHECKF(ot_write(p, "through the fifo", err, sizeof err) == 0, "%s", err);
    ssize_t n = read(rd, buf, sizeof buf - 1);
    CHECK(n == 16);
    buf[n > 0 ? n : 0] = '\0';
    CHECK(strcmp(buf, "through the fifo") == 0);
    close(rd);
    CHECK(lstat(p, &st) == 0 && S_ISFIFO(st.st_mode));
    CHECK(ot_count(dir, NULL, NULL, 0) == 1);
}

/* outfile_in_place says beforehand which outputs a failed command leaves
 * with part of its bytes: standard output, devices, FIFOs, /proc links;
 * never a file (new or replaced) or what cannot be opened. */
static void ot_in_place(void)
{
    char dir[PATH_MAX], p[PATH_MAX + 32];
    ot_dir(dir, sizeof dir);
    CHECK(outfile_in_place("-") == 1);
    CHECK(outfile_in_place("/dev/null") == 1);
    CHECK(outfile_in_place("/dev/stdout") == 1);
    ot_path(p, sizeof p, dir, "fifo");
    CHECK(mkfifo(p, 0600) == 0);
    CHECK(outfile_in_place(p) == 1);
    ot_path(p, sizeof p, dir, "file");
    CHECK(outfile_in_place(p) == 0); /* not there yet: a new file */
    ot_put(p, "x", 0644);
    CHECK(outfile_in_place(p) == 0);
    CHECK(outfile_in_place(dir) == 0);
    CHECK(outfile_in_place("") == 0);
}

/* outfile_replaces: the same regular file under any name, nothing else. */
static void ot_replaces(void)
{
    char dir[PATH_MAX], a[PATH_MAX + 32], b[PATH_MAX + 32], l[PATH_MAX + 32];
    ot_dir(dir, sizeof dir);
    ot_path(a, sizeof a, dir, "in");
    ot_path(b, sizeof b, dir, "other");
    ot_path(l, sizeof l, dir, "link");
    ot_put(a, "x", 0644);
    CHECK(outfile_replaces(a, a) == 1);
    CHECK(symlink("in", l) == 0);
    CHECK(outfile_replaces(l, a) == 1 && outfile_replaces(a, l) == 1);
    CHECK(outfile_replaces(b, a) == 0); /* not there */
    ot_put(b, "x", 0644);
    CHECK(outfile_replaces(b, a) == 0); /* another file, the same bytes */
    CHECK(outfile_replaces("-", "-") == 0);
    CHECK(outfile_replaces("/dev/null", "/dev/null") == 0); /* written in place */
}

/* /proc/self/fd/N (what /dev/stdout leads to): this process's descriptor
 * is written through, sharing its offset; a file behind it is not
 * replaced. */
static void ot_proc_fd(void)
{
    char dir[PATH_MAX], p[PATH_MAX + 32], link[64], err[512], buf[64];
    struct stat before, after;
    int pfd[2];
    CHECK(pipe(pfd) == 0);
    snprintf(link, sizeof link, "/proc/self/fd/%d", pfd[1]);
    CHECKF(ot_write(link, "piped", err, sizeof err) == 0, "%s", err);
    close(pfd[1]);
    ssize_t n = read(pfd[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    CHECK(strcmp(buf, "piped") == 0);
    close(pfd[0]);

    ot_dir(dir, sizeof dir);
    ot_path(p, sizeof p, dir, "stdout.txt");
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && write(fd, "head\n", 5) == 5 && fstat(fd, &before) == 0);
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    CHECKF(ot_write(link, "json\n", err, sizeof err) == 0, "%s", err);
    CHECK(write(fd, "tail\n", 5) == 5);
    close(fd);
    CHECK(ot_has(p, "head\njson\ntail\n"));
    CHECK(stat(p, &after) == 0 && after.st_ino == before.st_ino);
    CHECK(ot_count(dir, NULL, NULL, 0) == 1);
}

static void ot_socket(void)
{
    char dir[PATH_MAX], p[PATH_MAX + 32], err[512], cwd[PATH_MAX];
    ot_dir(dir, sizeof dir);
    ot_path(p, sizeof p, dir, "sock");
    /* bound by a relative name: TEST_TMPDIR may be longer than sun_path */
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX, .sun_path = "sock"};
    CHECK(getcwd(cwd, sizeof cwd) != NULL && chdir(dir) == 0);
    CHECK(s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof sa) == 0);
    CHECK(chdir(cwd) == 0);
    outfile_t o;
    CHECK(outfile_open(&o, p, "w", err, sizeof err) == -1);
    CHECKF(strstr(err, "sock: is a socket") != NULL, "%s", err);
    close(s);
    CHECK(ot_count(dir, NULL, NULL, 0) == 1);
}

/* "-": a write error on standard output is reported by commit. */
static void ot_stdout(void)
{
    char dir[PATH_MAX], full[PATH_MAX + 32];
    ot_dir(dir, sizeof dir);
    ot_path(full, sizeof full, dir, "full");
    if (ot_mknod(full, 1, 7)) return;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(full, O_WRONLY);
        if (fd < 0 || dup2(fd, 1) != 1) _exit(10);
        char err[512];
        outfile_t o;
        if (outfile_open(&o, "-", "w", err, sizeof err) != 0 || o.fp != stdout) _exit(11);
        for (int i = 0; i < 2000; i++)
            fputs("0123456789", o.fp);
        if (outfile_commit(&o, err, sizeof err) != -1) _exit(12);
        if (strcmp(err, "standard output: cannot write: No space left on device") != 0) _exit(13);
        _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
}

/* ---- signals --------------------------------------------------------------------- */

static char ot_marker[PATH_MAX + 32];

/* As sim/cli/cmd_report.c's: mark, then die of the signal. */
static void ot_on_signal(int sig)
{
    int fd = open(ot_marker, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) close(fd);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void ot_quiet(int sig)
{
    (void)sig;
}

/* A child opens two outputs in DIR, writes, and gets SIG (having installed
 * ot_on_signal first when CHAIN).  Returns its wait status. */
static int ot_killed(const char *dir, int sig, int chain)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        char p[PATH_MAX + 32], err[512];
        outfile_t a, b;
        signal(sig, chain ? ot_on_signal : SIG_DFL);
        ot_path(p, sizeof p, dir, "a.out");
        if (outfile_open(&a, p, "w", err, sizeof err)) _exit(10);
        ot_path(p, sizeof p, dir, "b.out");
        if (outfile_open(&b, p, "w", err, sizeof err)) _exit(11);
        fputs("half", a.fp);
        fflush(a.fp);
        kill(getpid(), sig);
        _exit(12); /* not reached */
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    return status;
}

static void ot_signals(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    char dir[PATH_MAX];
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        ot_dir(dir, sizeof dir);
        int status = ot_killed(dir, sigs[i], 0);
        CHECKF(WIFSIGNALED(status) && WTERMSIG(status) == sigs[i], "signal %d: status %#x", sigs[i],
               status);
        CHECKF(ot_count(dir, NULL, NULL, 0) == 0, "signal %d: files left", sigs[i]);

        /* chained with a handler installed before: both run */
        ot_dir(dir, sizeof dir);
        ot_path(ot_marker, sizeof ot_marker, dir, "MARKER");
        status = ot_killed(dir, sigs[i], 1);
        CHECKF(WIFSIGNALED(status) && WTERMSIG(status) == sigs[i], "chained %d: status %#x",
               sigs[i], status);
        CHECKF(ot_count(dir, NULL, NULL, 0) == 1 && access(ot_marker, F_OK) == 0,
               "chained %d: want only MARKER", sigs[i]);
    }
}

/* The handler is there only while a temporary file exists, and puts back
 * the one it replaced; an ignored signal stays ignored. */
static void ot_handlers(void)
{
    char dir[PATH_MAX], p[PATH_MAX + 32], err[512];
    struct sigaction sa, cur;
    ot_dir(dir, sizeof dir);
    ot_path(p, sizeof p, dir, "h.out");
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = ot_quiet;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGTERM, &sa, NULL) == 0);
    sa.sa_handler = SIG_IGN;
    CHECK(sigaction(SIGHUP, &sa, NULL) == 0);
    signal(SIGINT, SIG_DFL);

    outfile_t o;
    CHECKF(outfile_open(&o, p, "w", err, sizeof err) == 0, "%s", err);
    CHECK(sigaction(SIGTERM, NULL, &cur) == 0 && cur.sa_handler != ot_quiet);
    CHECK(sigaction(SIGHUP, NULL, &cur) == 0 && cur.sa_handler == SIG_IGN);
    CHECK(sigaction(SIGINT, NULL, &cur) == 0 && cur.sa_handler != SIG_DFL);
    raise(SIGHUP); /* ignored: nothing happens */
    CHECK(ot_count(dir, NULL, NULL, 0) == 1);
    fputs("kept", o.fp);
    CHECKF(outfile_commit(&o, err, sizeof err) == 0, "%s", err);
    CHECK(sigaction(SIGTERM, NULL, &cur) == 0 && cur.sa_handler == ot_quiet);
    CHECK(sigaction(SIGHUP, NULL, &cur) == 0 && cur.sa_handler == SIG_IGN);
    CHECK(sigaction(SIGINT, NULL, &cur) == 0 && cur.sa_handler == SIG_DFL);
    CHECK(ot_has(p, "kept"));

    /* outputs in place need no handler */
    CHECKF(outfile_open(&o, "-", "w", err, sizeof err) == 0, "%s", err);
    CHECK(sigaction(SIGINT, NULL, &cur) == 0 && cur.sa_handler == SIG_DFL);
    CHECK(outfile_commit(&o, err, sizeof err) == 0);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
}

/* A child forked without exec inherits the handler: signalled, it must not
 * remove its parent's temporary file. */
static void ot_fork(void)
{
    char dir[PATH_MAX], p[PATH_MAX + 32], err[512];
    ot_dir(dir, sizeof dir);
    ot_path(p, sizeof p, dir, "parent.out");
    outfile_t o;
    CHECKF(outfile_open(&o, p, "w", err, sizeof err) == 0, "%s", err);
    fputs("parent's", o.fp);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        kill(getpid(), SIGTERM);
        _exit(12);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    CHECK(ot_count(dir, "parent.out.tmp.", NULL, 0) == 1);
    CHECKF(outfile_commit(&o, err, sizeof err) == 0, "%s", err);
    CHECK(ot_has(p, "parent's"));
}

int main(void)
{
    const char *base = getenv("TEST_TMPDIR");
    char made[] = "/tmp/outfile_test.XXXXXX";
    if (!base || !*base) base = mkdtemp(made);
    if (!base) {
        perror("outfile_test: temporary directory");
        return 1;
    }
    snprintf(ot_root, sizeof ot_root, "%s/outfile_test.%ld", base, (long)getpid());
    if (mkdir(ot_root, 0755) != 0) {
        perror(ot_root);
        return 1;
    }
    ot_new_file();
    ot_temp_name();
    ot_replace();
    ot_not_writable();
    ot_write_error();
    ot_symlinks();
    ot_directory();
    ot_devices();
    ot_fifo();
    ot_in_place();
    ot_replaces();
    ot_proc_fd();
    ot_socket();
    ot_stdout();
    ot_signals();
    ot_handlers();
    ot_fork();
    return check_done();
}
