/* record_conv_test.c: the converter of `record -o OUT.atr.zst` against the
 * checked conversion (`arenalab convert RAW OUT.atr.zst`).
 *
 * A seeded random program is recorded through the core (small buffer:
 * many flushes) with thread switches, markers and frees of unknown
 * addresses (so the dropped-free count in the header changes after the
 * converter has read it), and an exec that fails half-way (finish, then
 * reopen: the end record taken back).  The converter follows the file
 * between flushes; its output, decompressed, must be byte for byte what the
 * checked conversion of the finished file writes, for a large trace (two
 * frames) and a small one (one).  A trace cut short is RCONV_CUT, one that
 * is not the recorder's own (ids that are not slots) RCONV_AGAIN, and
 * neither leaves an output behind.  A sink that cannot write (a file-size
 * limit: a short write, then none) is RCONV_EIO, never an output cut short;
 * $TMPDIR plays no part (the body goes beside the trace); and a trace
 * larger than the converter's window is converted in bounded memory. */
#include "sim/record/record_conv.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc/check.h"
#include "sim/record/record_core.h"
#include "sim/trace/trace.h"
#include "sim/trace/trace_zst.h"

#define T_ADDRS 20000

static uint64_t t_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static const char *t_path(const char *name, char *buf, size_t n)
{
    const char *dir = getenv("TEST_TMPDIR");
    snprintf(buf, n, "%s/%s", dir ? dir : "/tmp", name);
    return buf;
}

/* The decompressed bytes of the zstd file PATH; *N their count. */
static char *t_unzstd(const char *path, size_t *n)
{
    char err[512];
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    int d = tzst_decompress_fd(fd, path, err, sizeof err);
    if (d < 0) fprintf(stderr, "%s\n", err);
    CHECK(d >= 0);
    close(fd);
    struct stat st;
    CHECK(fstat(d, &st) == 0);
    char *p = malloc((size_t)st.st_size + 1);
    CHECK(p && pread(d, p, (size_t)st.st_size, 0) == st.st_size);
    close(d);
    *n = (size_t)st.st_size;
    return p;
}

/* Whether the zstd files Z and REF decompress to the same bytes. */
static void t_same_unzstd(const char *z, const char *ref)
{
    size_t n1, n2;
    char *got = t_unzstd(z, &n1), *want = t_unzstd(ref, &n2);
    CHECK(n1 == n2 && memcmp(got, want, n1) == 0);
    free(got);
    free(want);
}

/* The checked conversion of RAW into REF (a .zst name). */
static void t_reference(const char *raw, const char *ref)
{
    trace_reader_t *r;
    trace_writer_t *w;
    char err[512];
    CHECK(trace_open(&r, raw, err, sizeof err) == 0);
    CHECK(trace_writer_open(&w, ref, TRACE_FMT_BIN, trace_meta(r), 0, err, sizeof err) == 0);
    CHECK(trace_copy(r, w, 0, NULL, NULL) == 0);
    CHECK(!trace_truncated(r));
    CHECK(trace_writer_close(w) == 0);
    trace_close(r);
}

/* Records NOPS random operations into NAME while a converter follows, then
 * checks its output against the reference.  NOTMP: with $TMPDIR a
 * directory that does not exist, while the converter runs. */
static void t_follow(const char *name, int nops, int failed_exec, int notmp)
{
    const char *tmpdir = getenv("TMPDIR");
    char oldtmp[512];
    snprintf(oldtmp, sizeof oldtmp, "%s", tmpdir ? tmpdir : "");
    if (notmp) CHECK(setenv("TMPDIR", "/nonexistent", 1) == 0);
    char raw[512], z[520], ref[530], err[512];
    t_path(name, raw, sizeof raw);
    snprintf(z, sizeof z, "%s.zst", raw);
    snprintf(ref, sizeof ref, "%s.ref.atr.zst", raw);
    unlink(z);
    trace_meta_entry_t me[] = {{"producer", "record_conv_test"}, {RCORE_KEY_DROPPED, "0"}};
    trace_meta_t meta = {2, me};
    rcore_t c;
    CHECK(rcore_open(&c, raw, 0, &meta, 4096, 0) == 0);
    rconv_t *conv = rconv_open(raw);
    CHECK(conv != NULL);
    CHECK(rconv_step(conv) >= 0); /* the header only */

    uint8_t *live = calloc(T_ADDRS, 1);
    uint64_t seed = 99 + (uint64_t)nops;
    int followed = 0; /* steps that converted something */
    for (int i = 0; i < nops; i++) {
        uint64_t r = t_rand(&seed);
        uint32_t k = (uint32_t)((r >> 16) % T_ADDRS), thread = 1 + (uint32_t)(r >> 62);
        uintptr_t a = (uintptr_t)0x10000 + (uintptr_t)k * 64;
        if (!live[k]) {
            if ((r & 15) == 0) { /* an address from before recording */
                CHECK(rcore_free(&c, a, thread) == 0);
                continue;
            }
            trace_op_t op = (r & 1) ? TRACE_CALLOC : TRACE_ALLOC;
            CHECK(rcore_alloc(&c, a, op, op == TRACE_CALLOC ? 3 : 0, (r >> 40) % 3000, TRACE_RAW,
                              thread) == 0);
            live[k] = 1;
        } else if ((r & 3) == 0) {
            uint32_t k2 = (uint32_t)((r >> 32) % T_ADDRS);
            if (k2 != k && live[k2]) k2 = k;
            CHECK(rcore_realloc(&c, a, (uintptr_t)0x10000 + (uintptr_t)k2 * 64, (r >> 40) % 5000,
                                TRACE_RAW, thread) == 0);
            live[k] = 0;
            live[k2] = 1;
        } else {
            CHECK(rcore_free(&c, a, thread) == 1);
            live[k] = 0;
        }
        if (i % 5000 == 0) CHECK(rcore_marker(&c, "phase", i % 10000 ? "odd" : "even") == 0);
        if (i % 777 == 0) {
            CHECK(rcore_flush(&c) == 0);
            int got = rconv_step(conv);
            CHECK(got >= 0);
            followed += got;
        }
        if (failed_exec && i == nops / 2) {
            /* exec: the trace is finished; the converter reads the end
             * record; the exec fails and the trace goes on */
            CHECK(rcore_finish(&c) == 0);
            CHECK(rconv_step(conv) >= 0);
            CHECK(rcore_reopen(&c) == 0);
        }
    }
    CHECK(rcore_marker(&c, "last", "after every event") == 0);
    CHECK(c.dropped > 0);
    CHECK(followed > 0); /* the converter followed the recorder */
    CHECK(rcore_finish(&c) == 0);
    rcore_close(&c);
    free(live);

    int rc = rconv_finish(conv, z, err, sizeof err);
    if (rc != 0) fprintf(stderr, "rconv_finish: %d: %s\n", rc, err);
    CHECK(rc == 0);
    rconv_free(conv);
    /* the reference's writer does use $TMPDIR */
    if (notmp && tmpdir) CHECK(setenv("TMPDIR", oldtmp, 1) == 0);
    if (notmp && !tmpdir) CHECK(unsetenv("TMPDIR") == 0);
    t_reference(raw, ref);
    t_same_unzstd(z, ref);

    /* the whole file at once (child traces): the same */
    unlink(z);
    conv = rconv_open(raw);
    CHECK(rconv_finish(conv, z, err, sizeof err) == 0);
    rconv_free(conv);
    t_same_unzstd(z, ref);
    /* Z is created exclusively: never over an existing file */
    conv = rconv_open(raw);
    CHECK(rconv_finish(conv, z, err, sizeof err) == RCONV_EIO);
    rconv_free(conv);
    unlink(z);
    unlink(ref);
    unlink(raw);
}

static void t_cut_short(void)
{
    char raw[512], z[520], err[512];
    t_path("cut.atr", raw, sizeof raw);
    snprintf(z, sizeof z, "%s.zst", raw);
    unlink(z);
    rcore_t c;
    CHECK(rcore_open(&c, raw, 0, NULL, 4096, 0) == 0);
    rconv_t *conv = rconv_open(raw);
    for (int i = 0; i < 3000; i++)
        CHECK(rcore_alloc(&c, (uintptr_t)0x1000 + (uintptr_t)i * 16, TRACE_ALLOC, 0, 8, TRACE_RAW,
                          0) == 0);
    CHECK(rcore_flush(&c) == 0);
    CHECK(rconv_step(conv) == 1);
    rcore_close(&c); /* a crash: no end record */
    CHECK(rconv_finish(conv, z, err, sizeof err) == RCONV_CUT);
    rconv_free(conv);
    CHECK(access(z, F_OK) != 0);
    unlink(raw);
}

static void t_not_ours(void)
{
    char raw[512], z[520], err[512];
    t_path("other.atr", raw, sizeof raw);
    snprintf(z, sizeof z, "%s.zst", raw);
    unlink(z);
    trace_writer_t *w;
    CHECK(trace_writer_open(&w, raw, TRACE_FMT_BIN1, NULL, 0, err, sizeof err) == 0);
    trace_event_t a = {.op = TRACE_ALLOC, .id = 100, .size = 8};
    CHECK(trace_write(w, &a) == 0);
    CHECK(trace_writer_close(w) == 0);
    rconv_t *conv = rconv_open(raw);
    CHECK(rconv_finish(conv, z, err, sizeof err) == RCONV_AGAIN);
    rconv_free(conv);
    CHECK(access(z, F_OK) != 0);
    unlink(raw);
}

/* A complete trace of NOPS events in RAW, from slot churn. */
static void t_record(const char *raw, long nops)
{
    rcore_t c;
    uint64_t seed = 7;
    CHECK(rcore_open(&c, raw, 0, NULL, 1 << 16, 0) == 0);
    for (long i = 0; i < nops; i++) {
        uintptr_t a = (uintptr_t)0x10000 + (uintptr_t)(i % 1000) * 64;
        if (i % 2000 < 1000)
            CHECK(rcore_alloc(&c, a, TRACE_ALLOC, 0, t_rand(&seed) % 4000, TRACE_RAW, 0) == 0);
        else
            CHECK(rcore_free(&c, a, 0) == 1);
    }
    CHECK(rcore_finish(&c) == 0);
    rcore_close(&c);
}

/* The sink fails after LIMIT bytes of the body (a file-size limit: one
 * short write, then EFBIG), while the converter follows; the file-size
 * limit is gone when rconv_finish writes Z.  The conversion must fail
 * (the caller converts the checked way), never write Z cut short. */
static void t_sink_fails(void)
{
    char raw[512], z[520], err[512];
    t_path("sinkfail.atr", raw, sizeof raw);
    snprintf(z, sizeof z, "%s.zst", raw);
    unlink(z);
    t_record(raw, 600000);
    struct rlimit old, lim;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    lim = old;
    lim.rlim_cur = 20000 + 7;
    signal(SIGXFSZ, SIG_IGN);
    rconv_t *conv = rconv_open(raw);
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    int got = rconv_step(conv);
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    CHECK(got == RCONV_EIO);
    CHECK(rconv_finish(conv, z, err, sizeof err) == RCONV_EIO);
    rconv_free(conv);
    CHECK(access(z, F_OK) != 0);
    /* the same at the end (a child's trace: all of it in rconv_finish) */
    conv = rconv_open(raw);
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    int rc = rconv_finish(conv, z, err, sizeof err);
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    CHECK(rc == RCONV_EIO);
    rconv_free(conv);
    CHECK(access(z, F_OK) != 0);
    signal(SIGXFSZ, SIG_DFL);
    unlink(raw);
}

/* A raw trace of T_BIG_BYTES or more, converted whole at the end (as a
 * child's is), in a child process (its own peak): the peak resident set
 * grows by less than 2/3 of the trace (the converter reads it in 16 MiB
 * windows: about 24 MB here, 41 MB under ASan; 112 MB reading it whole),
 * and the output is the checked conversion's. */
#define T_BIG_BYTES ((off_t)96 << 20)
static void t_bounded(void)
{
    char raw[512], z[520], ref[530], err[512];
    t_path("bounded.atr", raw, sizeof raw);
    snprintf(z, sizeof z, "%s.zst", raw);
    snprintf(ref, sizeof ref, "%s.ref.atr.zst", raw);
    unlink(z);
    t_record(raw, 48000000);
    struct stat st;
    CHECK(stat(raw, &st) == 0 && st.st_size >= T_BIG_BYTES);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        struct rusage before, after;
        getrusage(RUSAGE_SELF, &before);
        rconv_t *conv = rconv_open(raw);
        int rc = conv ? rconv_finish(conv, z, err, sizeof err) : -9;
        rconv_free(conv);
        getrusage(RUSAGE_SELF, &after);
        long grew = after.ru_maxrss - before.ru_maxrss; /* KiB */
        fprintf(stderr, "t_bounded: %lld-byte trace, peak RSS +%ld KiB\n", (long long)st.st_size,
                grew);
        _exit(rc != 0 ? 1 : grew * 1024 * 3 >= (long)st.st_size * 2 ? 2 : 0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    t_reference(raw, ref);
    t_same_unzstd(z, ref);
    unlink(z);
    unlink(ref);
    unlink(raw);
}

int main(void)
{
    t_follow("big.atr", 400000, 1, 0);
    t_follow("small.atr", 300, 0, 0);
    /* the body's temporary file goes beside the trace, not in $TMPDIR */
    t_follow("notmp.atr", 100000, 0, 1);
    t_sink_fails();
    t_bounded();
    t_cut_short();
    t_not_ours();
    return check_done();
}
