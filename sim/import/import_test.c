/* import_test.c: the importers on small inputs: each repair of the sink
 * (inversions held, implicit frees, held reallocs, orphans, --strict),
 * each format's lines and its malformed forms (FILE:LINE messages), heaptrack's
 * realloc sites and free policies, compressed inputs (zstd, gzip), the mtrace
 * export read back, and seeded random calls through the sink with its
 * invariant checked after every one. */
#include <stdlib.h>
#include <string.h>

#include "alloc/check.h"
#include "sim/import/import.h"
#include "sim/import/internal/imp_impl.h"
#include "sim/trace/internal/trace_testutil.h"
#include "sim/trace/trace_zst.h"

static char it_out[4096];
static imp_summary_t it_sum;
static char it_err[512];

/* Imports TEXT as FORMAT with O (NULL: defaults); returns the importer's
 * code.  The events and markers written, one a line ("#@ marker ..."
 * kept, metadata left out), are in *EVENTS (malloc'ed; "" on failure). */
static int it_import_n(const char *format, const char *name, const void *data, size_t n,
                       const imp_opts_t *o, char **events);

static int it_import(const char *format, const char *name, const char *text, const imp_opts_t *o,
                     char **events)
{
    return it_import_n(format, name, text, strlen(text), o, events);
}

/* it_import of N bytes at DATA. */
static int it_import_n(const char *format, const char *name, const void *data, size_t n,
                       const imp_opts_t *o, char **events)
{
    static const imp_opts_t none;
    tu_path(it_out, sizeof it_out, "import_test_out.txt");
    const imp_format_t *f = imp_format_find(format);
    CHECK(f != NULL);
    int rc = imp_run_mem(f, name, data, n, it_out, TRACE_FMT_TEXT, o ? o : &none, &it_sum, it_err,
                         sizeof it_err);
    tu_buf_t b = {0};
    tu_add(&b, "%s", "");
    char *all = rc == 0 ? tu_read_file(it_out, NULL) : NULL;
    for (char *line = all ? strtok(all, "\n") : NULL; line; line = strtok(NULL, "\n"))
        if (strncmp(line, "#@ ", 3) || !strncmp(line, "#@ marker ", 10) ||
            !strncmp(line, "#@ thread ", 10))
            tu_add(&b, "%s\n", line);
    free(all);
    *events = b.s;
    return rc;
}

/* Checks that importing TEXT gives exactly WANT. */
#define IT_EXPECT(format, text, opts, want)                                                        \
    do {                                                                                           \
        char *got_;                                                                                \
        int rc_ = it_import(format, "in", text, opts, &got_);                                      \
        CHECKF(rc_ == 0, "rc %d: %s", rc_, it_err);                                                \
        CHECKF(!strcmp(got_, want), "got:\n%s\nwant:\n%s", got_, want);                            \
        free(got_);                                                                                \
    } while (0)

/* Checks that importing TEXT fails with CODE and a message starting MSG. */
#define IT_FAILS(format, text, opts, code, msg)                                                    \
    do {                                                                                           \
        char *got_;                                                                                \
        int rc_ = it_import(format, "in", text, opts, &got_);                                      \
        CHECKF(rc_ == (code), "rc %d (want %d): %s", rc_, (code), it_err);                         \
        CHECKF(!strncmp(it_err, msg, strlen(msg)), "message '%s', want '%s...'", it_err, msg);     \
        free(got_);                                                                                \
    } while (0)

static void test_mtrace_lines(void)
{
    IT_EXPECT("mtrace",
              "= Start\n"
              "@ ./prog:(main+0x1c)[0x55d0] + 0x1000 0x20\n"
              "@ [0x7f00] + 0x2000 0\n"
              "+ (nil) 0x100000000\n"
              "< 0x1000\n"
              "@ /lib/a b/libx.so:[0x10] > 0x3000 0x40\n"
              "! 0x3000 0x999999\n"
              "- 0x2000\n"
              "- 0x3000\n"
              "= End\n",
              NULL, "a 0 32\na 1 0\nr 0 64\nf 1\nf 0\n");
    CHECK(it_sum.failed == 2 && it_sum.events[TRACE_REALLOC] == 1 && it_sum.live_end == 0);
    /* decimal sizes (very old glibc), a realloc in place */
    IT_EXPECT("mtrace", "+ 0x10 24\n< 0x10\n> 0x10 0x30\n", NULL, "a 0 24\nr 0 48\n");
}

static void test_sink_repairs(void)
{
    /* inversion: the second + at a live address waits for its late free */
    IT_EXPECT("mtrace", "+ 0x10 0x8\n+ 0x10 0x9\n+ 0x20 0x1\n- 0x10\n- 0x10\n", NULL,
              "a 0 8\na 1 1\nf 0\na 0 9\nf 0\n");
    CHECK(it_sum.held == 1 && it_sum.implicit_frees == 0 && it_sum.orphan_frees == 0);
    /* ... or gives up after the window: an implicit free */
    imp_opts_t o = {.hold_window = 2};
    IT_EXPECT("mtrace", "+ 0x10 0x8\n+ 0x10 0x9\n+ 0x20 0x1\n+ 0x30 0x1\n+ 0x40 0x1\n", &o,
              "a 0 8\na 1 1\nf 0\na 0 9\na 2 1\na 3 1\n");
    CHECK(it_sum.held == 1 && it_sum.implicit_frees == 1);
    /* ... or at the end */
    IT_EXPECT("mtrace", "+ 0x10 0x8\n+ 0x10 0x9\n", NULL, "a 0 8\nf 0\na 0 9\n");
    CHECK(it_sum.implicit_frees == 1 && it_sum.live_end == 1);
    /* a third allocation there: the first held one gives up */
    IT_EXPECT("mtrace", "+ 0x10 0x8\n+ 0x10 0x9\n+ 0x10 0xa\n- 0x10\n", NULL,
              "a 0 8\nf 0\na 0 9\nf 0\na 0 10\n");
    CHECK(it_sum.held == 2 && it_sum.implicit_frees == 1);
    /* a realloc releases the held allocation at its old address */
    IT_EXPECT("mtrace", "+ 0x10 0x8\n+ 0x10 0x9\n< 0x10\n> 0x20 0x30\n", NULL,
              "a 0 8\nr 0 48\na 1 9\n");
    /* a realloc to an address still live waits for that free */
    IT_EXPECT("mtrace", "+ 0x10 0x8\n+ 0x20 0x8\n< 0x10\n> 0x20 0x30\n+ 0x10 0x5\n- 0x20\n- 0x20\n",
              NULL, "a 0 8\na 1 8\na 2 5\nf 1\nr 0 48\nf 0\n");
    CHECK(it_sum.held == 1 && it_sum.implicit_frees == 0 && it_sum.live_end == 1);
    /* orphans: a free and a realloc of unknown pointers */
    IT_EXPECT("mtrace", "- 0x99\n< 0x98\n> 0x20 0x10\n", NULL, "a 0 16\n");
    CHECK(it_sum.orphan_frees == 1 && it_sum.orphan_reallocs == 1);
    /* --strict: each of them is an error at its line */
    imp_opts_t strict = {.strict = 1};
    IT_FAILS("mtrace", "+ 0x10 0x8\n- 0x99\n", &strict, IMP_ESTRICT,
             "in:2: --strict: a free of an unknown pointer");
    IT_FAILS("mtrace", "+ 0x10 0x8\n+ 0x10 0x8\n", &strict, IMP_ESTRICT, "in:2: --strict: ");
    IT_FAILS("mtrace", "< 0x10\n> 0x20 0x8\n", &strict, IMP_ESTRICT, "in:2: --strict: ");
    IT_EXPECT("mtrace", "+ 0x10 0x8\n- 0x10\n", &strict, "a 0 8\nf 0\n");
}

static void test_mtrace_malformed(void)
{
    IT_FAILS("mtrace", "+ 0x10 0x8\n+ 0x10\n", NULL, IMP_EINPUT, "in:2: ");
    IT_FAILS("mtrace", "= Start\n* 0x10\n", NULL, IMP_EINPUT, "in:2: not an mtrace line");
    IT_FAILS("mtrace", "< 0x10\n- 0x10\n", NULL, IMP_EINPUT, "in:2: a '<' line not followed");
    IT_FAILS("mtrace", "> 0x10 0x8\n", NULL, IMP_EINPUT, "in:1: a '>' line without");
    IT_FAILS("mtrace", "+ 0x10 0x8\n< 0x10\n", NULL, IMP_EINPUT, "in:2: the log ends after");
    IT_FAILS("mtrace", "@ no bracket + 0x10 0x8\n", NULL, IMP_EINPUT, "in:1: a caller");
    IT_FAILS("mtrace", "+ 0x10 0x8 junk\n", NULL, IMP_EINPUT, "in:1: unexpected");
    IT_FAILS("mtrace", "+ 0x11111111111111111 0x8\n", NULL, IMP_EINPUT, "in:1: want a pointer");
    IT_FAILS("mtrace", "+ 0x10 0x1000000000001\n", NULL, IMP_EINPUT, "in:1: a size above 2^48");
}

/* A raw heaptrack file: site 2 reallocs (every + there follows a -), site
 * 1 mallocs; a time stamp; a free of a pointer heaptrack never saw. */
static const char it_ht_raw[] = "v 10400 3\n"
                                "x a /tmp/prog\n"
                                "X ./prog 4\n"
                                "I 1000 5e290c\n"
                                "m 1 -\n"
                                "t 55b4 0\n"
                                "+ 10 1 a000\n"
                                "+ 20 1 b000\n"
                                "- b000\n"
                                "t 55c0 1\n"
                                "+ 30 2 c000\n"
                                "c 14\n"
                                "- a000\n"
                                "+ 40 2 a000\n"
                                "- f000\n"
                                "c 28\n"
                                "R 404\n"
                                "- c000\n"
                                "+ 50 1 d000\n";

static void test_heaptrack_raw(void)
{
    IT_EXPECT("heaptrack", it_ht_raw, NULL,
              "a 0 16\na 1 32\nr 1 48\n#@ marker time_ms 20\nr 0 64\n#@ marker time_ms 40\n"
              "f 1\na 1 80\n");
    CHECK(it_sum.fused == 2 && it_sum.orphan_frees == 1 && it_sum.time_markers == 2);
    /* metadata from the header */
    char *all = tu_read_file(it_out, NULL);
    CHECK(all && strstr(all, "#@ command ./prog 4\n") && strstr(all, "#@ exe /tmp/prog\n") &&
          strstr(all, "#@ page_size 4096\n") && strstr(all, "#@ source_format heaptrack\n"));
    free(all);
    /* --strict: a fused realloc is a repair; --no-fuse keeps the pairs */
    imp_opts_t strict = {.strict = 1}, strict_nofuse = {.strict = 1, .no_fuse = 1};
    IT_FAILS("heaptrack", it_ht_raw, &strict, IMP_ESTRICT,
             "in:11: --strict: a free and an allocation taken for a realloc");
    IT_FAILS("heaptrack", it_ht_raw, &strict_nofuse, IMP_ESTRICT,
             "in:15: --strict: a free of an unknown pointer");
    imp_opts_t o = {.no_fuse = 1, .no_time = 1};
    IT_EXPECT("heaptrack", it_ht_raw, &o,
              "a 0 16\na 1 32\nf 1\na 1 48\nf 0\na 0 64\nf 1\na 1 80\n");
    CHECK(it_sum.fused == 0);
}

/* An interpreted file: records 0 (16 bytes) and 1 (32 bytes) at trace 1. */
static const char it_ht_interp[] = "v 10400 3\n"
                                   "X ./prog\n"
                                   "t 1 0\n"
                                   "a 10 1\n"
                                   "+ 0\n"
                                   "+ 0\n"
                                   "a 20 1\n"
                                   "+ 1\n"
                                   "- 0\n"
                                   "c a\n"
                                   "- 0\n";

static void test_heaptrack_interpreted(void)
{
    imp_opts_t lifo = {.no_fuse = 1}, fifo = {.no_fuse = 1, .free_policy = IMP_FREE_FIFO};
    IT_EXPECT("heaptrack", it_ht_interp, &lifo,
              "a 0 16\na 1 16\na 2 32\nf 1\n#@ marker time_ms 10\nf 0\n");
    CHECK(it_sum.warning && strstr(it_sum.warning, "lifo"));
    IT_EXPECT("heaptrack", it_ht_interp, &fifo,
              "a 0 16\na 1 16\na 2 32\nf 0\n#@ marker time_ms 10\nf 1\n");
    CHECK(it_sum.warning && strstr(it_sum.warning, "fifo"));
    /* a free of a record with nothing live is an orphan */
    IT_EXPECT("heaptrack", "t 1 0\na 10 1\n- 0\n", &lifo, "");
    CHECK(it_sum.orphan_frees == 1);
}

static void test_heaptrack_malformed(void)
{
    IT_FAILS("heaptrack", "v 10400 4\n", NULL, IMP_EINPUT, "in:1: heaptrack file format version");
    IT_FAILS("heaptrack", "t 1 0\n+ 10 5 a000\n", NULL, IMP_EINPUT, "in:2: trace index 5 before");
    IT_FAILS("heaptrack", "+ 10 0 a000\n+ 3\n", NULL, IMP_EINPUT, "in:2: '+' line of a");
    IT_FAILS("heaptrack", "+ 10 0\n", NULL, IMP_EINPUT, "in:1: '+' line: want 3 fields");
    IT_FAILS("heaptrack", "+ 2\n", NULL, IMP_EINPUT, "in:1: '+' of allocation record 2");
    IT_FAILS("heaptrack", "+ 1g 0 a000\n", NULL, IMP_EINPUT, "in:1: '+' line: bad hexadecimal");
    IT_FAILS("heaptrack", "Q what\n", NULL, IMP_EINPUT, "in:1: not a heaptrack line");
    IT_FAILS("heaptrack", "c 10 20\n", NULL, IMP_EINPUT, "in:1: 'c' line: unexpected");
    IT_FAILS("heaptrack", "+ 10 0 0\n", NULL, IMP_EINPUT, "in:1: '+' line: a NULL pointer");
}

static void test_valgrind(void)
{
    IT_EXPECT("valgrind",
              "==77== Memcheck, a memory error detector\n"
              "--77-- malloc(100) = 0x4A42040\n"
              "--77-- calloc(17,16) = 0x4A43000\n"
              "--77-- realloc(0x4A42040,2000) = 0x4A44000\n"
              "program output\n"
              "--77-- realloc(0x4A44000,0)free(0x4A44000)\n"
              "--77--  = 0\n"
              "--77-- memalign(al 64, size 300) = 0x4A45000\n"
              "--77-- _Znwm(4) = 0x4A46000\n"
              "--77-- _ZnwmSt11align_val_t(size 64, al 128) = 0x4A47000\n"
              "--77-- _ZdlPvm(0x4A46000)\n"
              "--77-- posix_memalign(al 64, size 100)\n"
              "--77-- aligned_alloc(al 64, size 128)malloc(5) = 0x4A48000\n"
              "--77-- free(0x4A49000)\n"
              "--78-- malloc(5) = 0x1\n"
              "--77-- free(0x0)\n"
              "--77-- malloc_usable_size(0x4A48000) = 8\n"
              "--77-- REDIR: 0x1 (libc.so.6:malloc) redirected to 0x2 (malloc)\n"
              "**77** whatever\n",
              NULL,
              "a 0 100\nc 1 17 16\nr 0 2000\nf 0\n#@ marker align 64\na 0 300\na 2 4\n"
              "#@ marker align 128\na 3 64\nf 2\na 2 5\n");
    CHECK(it_sum.orphan_allocs == 2 && it_sum.orphan_frees == 1 && it_sum.aligned == 4);
    CHECK(it_sum.ignored_lines == 5);
    /* realloc(NULL, n) printed around the malloc inside it */
    IT_EXPECT("valgrind", "--5-- realloc(0x0,10)malloc(10) = 0x100\n--5--  = 0x100\n", NULL,
              "a 0 10\n");
    /* a failed realloc leaves the block */
    IT_EXPECT("valgrind", "--5-- malloc(10) = 0x100\n--5-- realloc(0x100,99) = 0x0\n", NULL,
              "a 0 10\n");
    CHECK(it_sum.failed == 1);
    /* a call whose result never came */
    IT_EXPECT("valgrind", "--5-- malloc(10)\n", NULL, "");
    CHECK(it_sum.orphan_allocs == 1);
    IT_FAILS("valgrind", "--5-- malloc(10) = 0x100\n--5-- malloc(1,\n", NULL, IMP_EINPUT,
             "in:2: bad arguments of malloc");
    IT_FAILS("valgrind", "--5-- malloc(1) = zz\n", NULL, IMP_EINPUT, "in:1: a result that is not");
    IT_FAILS("valgrind", "--5-- malloc(1) = 0x10 junk(\n", NULL, IMP_EINPUT,
             "in:1: not a malloc call");
}

/* A file compressed as heaptrack writes it is read like the plain one. */
static void test_compressed(void)
{
    char plain[4096], zst[4096], gz[4096];
    tu_path(plain, sizeof plain, "import_test_ht.raw");
    tu_path(zst, sizeof zst, "import_test_ht.raw.zst");
    tu_path(gz, sizeof gz, "import_test_ht.raw.gz");
    CHECK(tu_write_file(plain, it_ht_raw, strlen(it_ht_raw)) == 0);
    char err[512];
    CHECK(tzst_compress_file(plain, zst, 3, err, sizeof err) == 0);
    /* "printf 'v 10400 3\nt 1 0\n+ 10 1 a000\n- a000\n' | gzip -n": */
    static const unsigned char gzdata[] = {
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x2b, 0x53,
        0x30, 0x34, 0x30, 0x31, 0x30, 0x50, 0x30, 0xe6, 0x2a, 0x51, 0x30, 0x54,
        0x30, 0xe0, 0xd2, 0x06, 0xf2, 0x81, 0x8c, 0x44, 0x03, 0x03, 0x03, 0x2e,
        0x5d, 0x08, 0x05, 0x00, 0x48, 0x61, 0xba, 0xda, 0x23, 0x00, 0x00, 0x00};
    CHECK(tu_write_file(gz, gzdata, sizeof gzdata) == 0);
    const imp_format_t *f = imp_format_find("heaptrack");
    imp_opts_t o = {0};
    tu_path(it_out, sizeof it_out, "import_test_out.txt");
    CHECKF(imp_run(f, zst, it_out, TRACE_FMT_TEXT, &o, &it_sum, it_err, sizeof it_err) == 0, "%s",
           it_err);
    CHECK(it_sum.events[TRACE_REALLOC] == 2 && it_sum.fused == 2);
    CHECKF(imp_run(f, gz, it_out, TRACE_FMT_TEXT, &o, &it_sum, it_err, sizeof it_err) == 0, "%s",
           it_err);
    CHECK(it_sum.events[TRACE_ALLOC] == 1 && it_sum.events[TRACE_FREE] == 1);
    /* cut short: an error, never a shorter trace */
    CHECK(tu_write_file(gz, gzdata, sizeof gzdata - 10) == 0);
    CHECK(imp_run(f, gz, it_out, TRACE_FMT_TEXT, &o, &it_sum, it_err, sizeof it_err) == IMP_EINPUT);
    CHECKF(strstr(it_err, "cut short") != NULL, "%s", it_err);
    size_t n;
    char *z = tu_read_file(zst, &n);
    CHECK(z && n > 8 && tu_write_file(zst, z, n - 5) == 0);
    free(z);
    CHECK(imp_run(f, zst, it_out, TRACE_FMT_TEXT, &o, &it_sum, it_err, sizeof it_err) ==
          IMP_EINPUT);
    CHECKF(strstr(it_err, "cut short") || strstr(it_err, "corrupt"), "%s", it_err);
    /* an unreadable input */
    CHECK(imp_run(f, "/nonexistent/x", it_out, TRACE_FMT_TEXT, &o, &it_sum, it_err,
                  sizeof it_err) == IMP_EINPUT);
    CHECK(!strncmp(it_err, "/nonexistent/x: cannot open", 27));
}

/* Our trace -> mtrace -> our trace again: the same events (calloc as a). */
static void test_export_mtrace(void)
{
    char in[4096], mt[4096];
    tu_path(in, sizeof in, "import_test_exp.txt");
    tu_path(mt, sizeof mt, "import_test_exp.mtrace");
    const char *trace = "a 5 10\nc 7 3 4 obj\nr 5 100\nn 1\nm 1 50\no 1 7\nf 5\nx 1\na 9 1\n";
    CHECK(tu_write_file(in, trace, strlen(trace)) == 0);
    char note[512];
    uint64_t n;
    CHECKF(imp_export(&imp_export_mtrace, in, mt, &n, note, sizeof note) == 0, "%s", note);
    CHECK(n == 9 && strstr(note, "3 arena events") != NULL);
    char *text = tu_read_file(mt, NULL);
    CHECKF(text && !strcmp(text, "= Start\n+ 0x10000 0xa\n+ 0x10010 0xc\n< 0x10000\n> 0x10000 "
                                 "0x64\n- 0x10000\n- 0x10010\n+ 0x10010 0x1\n= End\n"),
           "%s", text);
    char *events;
    CHECK(it_import("mtrace", "x", text, NULL, &events) == 0);
    CHECKF(!strcmp(events, "a 0 10\na 1 12\nr 0 100\nf 0\nf 1\na 1 1\n"), "%s", events);
    free(events);
    free(text);
}

/* A chattymalloc record (45 bytes, little-endian) at B. */
static size_t it_chatty(uint8_t *b, uint8_t func, uint64_t ptr, uint64_t size, uint64_t arg,
                        uint32_t tid)
{
    memset(b, 0, 45);
    for (int i = 0; i < 8; i++) {
        b[16 + i] = (uint8_t)(ptr >> 8 * i);
        b[24 + i] = (uint8_t)(size >> 8 * i);
        b[32 + i] = (uint8_t)(arg >> 8 * i);
    }
    for (int i = 0; i < 4; i++)
        b[40 + i] = (uint8_t)(tid >> 8 * i);
    b[44] = func;
    return 45;
}

static void test_chatty(void)
{
    uint8_t b[45 * 16];
    size_t n = 0;
    n += it_chatty(b + n, 1, 0x1000, 10, 0, 700);      /* t1: malloc            */
    n += it_chatty(b + n, 4, 0x2000, 8, 3, 701);       /* t2: calloc(3, 8)      */
    n += it_chatty(b + n, 1, 0x1000, 20, 0, 701);      /* t2 gets 0x1000 first  */
    n += it_chatty(b + n, 3, 0x3000, 40, 0x1000, 700); /* t1: realloc, logged late */
    n += it_chatty(b + n, 9, 0x4000, 64, 256, 700);    /* aligned_alloc(256, 64) */
    n += it_chatty(b + n, 0, 0, 0, 0, 0);              /* a slot never written  */
    n += it_chatty(b + n, 2, 0x9999, 0, 0, 701);       /* free of the unknown   */
    n += it_chatty(b + n, 3, 0, 0, 0x2000, 701);       /* realloc(p, 0) frees p */
    n += it_chatty(b + n, 10, 0, 0, 0, 701);           /* thread exit           */
    char *got;
    CHECKF(it_import_n("chattymalloc", "in", b, n, NULL, &got) == 0, "%s", it_err);
    CHECKF(!strcmp(got, "#@ marker tid 1 700\n#@ thread 1\na 0 10\n#@ marker tid 2 701\n"
                        "#@ thread 2\nc 1 3 8\n#@ thread 1\nr 0 40\n#@ thread 2\na 2 20\n"
                        "#@ marker align 256\n#@ thread 1\na 3 64\n#@ thread 2\nf 1\n"),
           "%s", got);
    free(got);
    CHECK(it_sum.held == 1 && it_sum.orphan_frees == 1 && it_sum.empty_records == 1);
    /* malformed: an unknown function, a record cut short (byte offsets) */
    n = it_chatty(b, 1, 0x1000, 10, 0, 700);
    n += it_chatty(b + n, 11, 0x1000, 10, 0, 700);
    CHECK(it_import_n("chattymalloc", "in", b, n, NULL, &got) == IMP_EINPUT);
    CHECKF(!strcmp(it_err, "in: byte 45: unknown function code 11 (chattymalloc writes 0-10)"),
           "%s", it_err);
    free(got);
    CHECK(it_import_n("chattymalloc", "in", b, 45 + 10, NULL, &got) == IMP_EINPUT);
    CHECKF(!strcmp(it_err, "in: byte 45: a record cut short (10 of 45 bytes)"), "%s", it_err);
    free(got);
}

/* A workload: thread 1 waits for thread 2's allocation, then frees it. */
static const uint8_t it_wl[] = {WL_ALLOC_PTRS,
                                3,
                                WL_ALLOC_SYNCS,
                                1,
                                WL_NTHREADS,
                                2,
                                WL_START_THREAD,
                                12,
                                WL_START_THREAD,
                                17,
                                WL_DONE,
                                /* 11 */ WL_NOP,
                                /* 12: thread 1 */ WL_SYNC_R,
                                0,
                                WL_FREE,
                                1,
                                WL_DONE,
                                /* 17: thread 2 */ WL_MALLOC,
                                1,
                                0x81,
                                0x00,
                                WL_MEMALIGN,
                                2,
                                64,
                                10,
                                WL_SYNC_W,
                                0,
                                WL_REALLOC,
                                2,
                                2,
                                0x7f,
                                WL_CALLOC,
                                0,
                                5,
                                WL_DONE};

static void test_wl(void)
{
    char *got;
    CHECKF(it_import_n("wl", "in", it_wl, sizeof it_wl, NULL, &got) == 0, "%s", it_err);
    CHECKF(!strcmp(got, "#@ thread 2\na 0 128\n#@ marker align 64\na 1 10\nr 1 127\n"
                        "#@ thread 1\nf 0\n"),
           "%s", got);
    free(got);
    CHECK(it_sum.failed == 1 && it_sum.aligned == 1);
    /* a wait nobody ends; an opcode the main stream cannot have; a number cut */
    uint8_t dead[] = {WL_ALLOC_SYNCS, 1,         WL_NTHREADS, 1,      WL_START_THREAD, 7,
                      WL_DONE,        WL_SYNC_R, 0,           WL_DONE};
    CHECK(it_import_n("wl", "in", dead, sizeof dead, NULL, &got) == IMP_EINPUT);
    CHECKF(!strcmp(it_err, "in: byte 7: thread 1 waits at sync point 0, which no thread reaches"),
           "%s", it_err);
    free(got);
    uint8_t badop[] = {WL_ALLOC_PTRS, 3, WL_MALLOC};
    CHECK(it_import_n("wl", "in", badop, sizeof badop, NULL, &got) == IMP_EINPUT);
    CHECKF(!strcmp(it_err, "in: byte 2: opcode 2 in the main stream"), "%s", it_err);
    free(got);
    uint8_t cut[] = {WL_ALLOC_PTRS, 0x83};
    CHECK(it_import_n("wl", "in", cut, sizeof cut, NULL, &got) == IMP_EINPUT);
    CHECKF(!strcmp(it_err, "in: byte 1: the file ends inside a number"), "%s", it_err);
    free(got);
    uint8_t far[] = {WL_ALLOC_PTRS, 1,       WL_NTHREADS, 1,      WL_START_THREAD, 7,
                     WL_DONE,       WL_FREE, 9,           WL_DONE};
    CHECK(it_import_n("wl", "in", far, sizeof far, NULL, &got) == IMP_EINPUT);
    CHECKF(!strcmp(it_err, "in: byte 7: pointer index 9 past ALLOC_PTRS"), "%s", it_err);
    free(got);
}

/* Our trace -> .wl -> our trace: the same events on the same blocks, in an
 * order the sync points allow; alignment kept. */
static void test_export_wl(void)
{
    char in[4096], wl[4096];
    tu_path(in, sizeof in, "import_test_exp2.txt");
    tu_path(wl, sizeof wl, "import_test_exp2.wl");
    const char *trace = "#@ thread 1\na 5 10\n#@ marker align 128\na 6 300\n#@ thread 2\n"
                        "r 5 20\nc 7 2 4\n#@ thread 1\nf 5\nf 7\n";
    CHECK(tu_write_file(in, trace, strlen(trace)) == 0);
    char note[512];
    uint64_t n;
    CHECKF(imp_export(&imp_export_wl, in, wl, &n, note, sizeof note) == 0, "%s", note);
    CHECK(n == 6 && note[0] == '\0');
    size_t len;
    char *bytes = tu_read_file(wl, &len);
    char *got;
    CHECKF(bytes && it_import_n("wl", "x", bytes, len, NULL, &got) == 0, "%s", it_err);
    CHECKF(!strcmp(got, "#@ thread 1\na 0 10\n#@ marker align 128\na 1 300\n#@ thread 2\n"
                        "r 0 20\nc 2 1 8\n#@ thread 1\nf 0\nf 2\n"),
           "%s", got);
    free(got);
    free(bytes);
}

/* Seeded random calls on a few addresses straight into the sink (many
 * inversions, orphans, holds and moves), the invariant checked after each;
 * the trace written must read back without an error. */
static void test_sink_random(void)
{
    static imp_ctx_t c;
    imp_opts_t o = {.hold_window = 7, .no_align = 0};
    char path[4096];
    tu_path(path, sizeof path, "import_test_random.atr");
    uint64_t seed = 12345;
    for (int round = 0; round < 20; round++) {
        memset(&c, 0, sizeof c);
        c.opts = &o;
        CHECK(imp_src_open_mem(&c.src, "rand", "", 0, c.err, sizeof c.err) == 0);
        CHECK(imp_sink_init(&c.sink, &c, path, TRACE_FMT_BIN, &o) == 0);
        int ok = 1;
        for (int i = 0; i < 3000 && ok; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            uint64_t r = seed >> 20;
            uint64_t a = 16 * (1 + r % 9), b = 16 * (1 + (r >> 8) % 9);
            int rc;
            switch ((r >> 16) % 6) {
            case 0:
            case 1:
                rc = imp_alloc(&c.sink, (uint32_t)(r >> 24) % 3, a, TRACE_ALLOC, r % 100, 0,
                               (r >> 30) % 3 ? 0 : 64);
                break;
            case 2:
                rc = imp_alloc(&c.sink, 0, a, TRACE_CALLOC, 3, r % 50, 0);
                break;
            case 3:
                rc = imp_realloc(&c.sink, 1, (r >> 40) % 5 ? a : 0, b, r % 1000);
                break;
            case 4:
                rc = imp_time(&c.sink, (uint64_t)i);
                break;
            default:
                rc = imp_free(&c.sink, 2, a);
            }
            if (rc == 0) rc = imp_tick(&c.sink);
            CHECKF(rc == 0, "%s", c.err);
            ok = rc == 0 && imp_sink_is_valid(&c.sink);
            CHECKF(ok, "invalid after call %d of round %d", i, round);
        }
        CHECKF(imp_sink_finish(&c.sink) == 0, "%s", c.err);
        CHECK(c.sink.sum.held > 0 && c.sink.sum.orphan_frees > 0);
        imp_sink_free(&c.sink);
        imp_src_close(&c.src);
        trace_reader_t *r;
        char err[512];
        CHECK(trace_open(&r, path, err, sizeof err) == 0);
        trace_event_t ev;
        int rc;
        while ((rc = trace_next(r, &ev)) == 1) {
        }
        CHECKF(rc == 0, "%s", trace_error(r));
        trace_close(r);
    }
}

int main(void)
{
    test_mtrace_lines();
    test_sink_repairs();
    test_mtrace_malformed();
    test_heaptrack_raw();
    test_heaptrack_interpreted();
    test_heaptrack_malformed();
    test_valgrind();
    test_compressed();
    test_export_mtrace();
    test_chatty();
    test_wl();
    test_export_wl();
    test_sink_random();
    return check_done();
}
