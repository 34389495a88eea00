/* trace_zst_test.c: compressed traces read whole or not at all: a frame cut
 * short or corrupted is an error (never a shorter trace), a stream that
 * would inflate past the memory bound stops with a clear error, and a
 * compressed file's temp file never replaces anything but its target. */
#include "alloc/check.h"
#include "sim/trace/internal/trace_testutil.h"
#include "sim/trace/trace.h"
#include "sim/trace/trace_zst.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A text trace of N alloc/free pairs into PATH. */
static void zt_write_trace(const char *path, int n)
{
    tu_buf_t b = {0};
    for (int i = 0; i < n; i++)
        tu_add(&b, "a %d %d\nf %d\n", i, 16 + i % 100, i);
    CHECK(tu_write_file(path, b.s, b.n) == 0);
    free(b.s);
}

/* Events of PATH read to the end: the count, or -1 on an open error (ERR). */
static long zt_count(const char *path, char *err, size_t errlen)
{
    trace_reader_t *r;
    if (trace_open(&r, path, err, errlen) < 0) return -1;
    trace_event_t ev;
    long n = 0;
    int rc;
    while ((rc = trace_next(r, &ev)) == 1)
        n++;
    if (rc < 0) {
        snprintf(err, errlen, "%s", trace_error(r));
        n = -1;
    }
    trace_close(r);
    return n;
}

static size_t zt_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (size_t)st.st_size : 0;
}

int main(void)
{
    char txt[512], zst[512], cut[512], bad[512], err[1024];
    tu_path(txt, sizeof txt, "z.txt");
    tu_path(zst, sizeof zst, "z.txt.zst");
    tu_path(cut, sizeof cut, "cut.txt.zst");
    tu_path(bad, sizeof bad, "bad.txt.zst");
    zt_write_trace(txt, 100000);

    /* whole: every event */
    CHECKF(tzst_compress_file(txt, zst, 3, err, sizeof err) == 0, "%s", err);
    CHECKF(zt_count(zst, err, sizeof err) == 200000, "%s", err);

    /* cut short at several places: an error that says so, never fewer events */
    size_t n = zt_size(zst);
    char *data = tu_read_file(zst, NULL);
    CHECK(data && n > 64);
    const size_t cuts[] = {n - 1, n / 2, 64};
    for (size_t i = 0; data && i < sizeof cuts / sizeof cuts[0]; i++) {
        CHECK(tu_write_file(cut, data, cuts[i]) == 0);
        long got = zt_count(cut, err, sizeof err);
        CHECKF(got == -1, "cut at %zu: read %ld events", cuts[i], got);
        CHECKF(strstr(err, "cut short") != NULL, "cut at %zu: %s", cuts[i], err);
    }
    /* corrupted in the middle: an error */
    if (data) {
        for (size_t i = n / 3; i < n / 3 + 16; i++)
            data[i] ^= 0x5a;
        CHECK(tu_write_file(bad, data, n) == 0);
        CHECK(zt_count(bad, err, sizeof err) == -1);
    }
    free(data);

    /* a trace that decompresses to a whole number of the decoder's 1 MiB
     * chunks: the last chunk fills the buffer exactly, and the stream is
     * still whole (not "cut short") */
    {
        char mib[512];
        tu_path(mib, sizeof mib, "mib.txt");
        tu_buf_t b = {0};
        int k = 0;
        while (b.n < ((size_t)1 << 20) - 64) {
            tu_add(&b, "a %d 16\nf %d\n", k, k);
            k++;
        }
        while (b.n < ((size_t)1 << 20) - 1)
            tu_add(&b, "#");
        tu_add(&b, "\n");
        CHECK(b.n == (size_t)1 << 20);
        CHECK(tu_write_file(mib, b.s, b.n) == 0);
        free(b.s);
        CHECKF(tzst_compress_file(mib, zst, 3, err, sizeof err) == 0, "%s", err);
        long got = zt_count(zst, err, sizeof err);
        CHECKF(got == 2L * k, "1 MiB exactly: read %ld events of %d: %s", got, 2 * k, err);
    }

    /* a bomb: past the bound, a clear error before memory runs out */
    setenv("ARENALAB_ZST_MAX_BYTES", "100000", 1);
    CHECK(zt_count(zst, err, sizeof err) == -1);
    CHECKF(strstr(err, "decompresses to more than") != NULL, "%s", err);
    unsetenv("ARENALAB_ZST_MAX_BYTES");

    /* the compressor's temp file: none left behind, nothing else touched */
    char dir[512];
    tu_path(dir, sizeof dir, "");
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    for (struct dirent *e; d && (e = readdir(d));)
        CHECKF(!strstr(e->d_name, ".tmp."), "left behind: %s", e->d_name);
    if (d) closedir(d);
    return check_done();
}
