/* trace_bin2_test.c: the binary format versions 2 and 3 (TRACE-FORMAT.md):
 * the spec's bytes, round trips text <-> v1 <-> v3 of every bundled trace
 * with the same events in every reading mode, blocks with threads and
 * markers, LZ4 streams, a version 2 file of zstd streams as the writer of
 * version 2 made it, and bad input (cut short, corrupt zstd and LZ4,
 * streams that lie, limits). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/check.h"
#include "sim/trace/internal/trace_testutil.h"
#include "sim/trace/trace.h"
#include "sim/trace/trace_synth.h"

/* The spec's example in version 2 (sim/trace/TRACE-FORMAT.md), one block of
 * raw streams. */
static const uint8_t spec_v2[] = {
    0x89, 'A',  'T',  'R',  '\r', '\n', 0x1a, '\n',                /* magic                 */
    2,    0,    1,    0,    36,   0,    0,    0,                   /* v2, COMPLETE, H = 36  */
    9,    0,    0,    0,    0,    0,    0,    0,                   /* 9 events              */
    2,    0,    0,    0,    1,    0,    0,    0,    0,    0, 0, 0, /* 2 slots, 1 arena      */
    9,                                                             /* block of 9 records    */
    0,    9,    0,    7,    0,    2,    0,    0,                   /* T S I X: raw, lengths */
    0x30, 0x28, 0x0a, 0x33, 0x0c, 0x2d, 0x2d, 0x4e, 0x2f,          /* tags                  */
    24,   100,  0xac, 0x02, 48,   0xa8, 0x46,                      /* sizes                 */
    14,   0,                                                       /* ids: n 7, o's arena 0 */
    0,    9,                                                       /* end, 9 events         */
};

static const char *const bundled[] = {
    "traces/adversary.atr",
    "traces/ast.atr",
    "traces/churn.atr",
    "traces/grow.atr",
    "traces/lru.atr",
    "traces/malloclab.atr",
    "traces/queue.atr",
    "traces/rec-lua-binary-trees.atr",
    "traces/rec-perl-hash-churn.atr",
    "traces/rec-python-json.atr",
    "traces/spec-example.txt",
};

static void test_spec_bytes(void)
{
    char out[512];
    tu_path(out, sizeof out, "spec2.atr");
    CHECK(tu_convert("traces/spec-example.txt", out, TRACE_FMT_BIN) == 0);
    size_t n;
    char *got = tu_read_file(out, &n);
    /* the writer's bytes: version 3 (it may use LZ4), every stream too
     * short to try it, so the rest is version 2's example */
    uint8_t spec_v3[sizeof spec_v2];
    memcpy(spec_v3, spec_v2, sizeof spec_v2);
    spec_v3[8] = 3;
    CHECKF(got && n == sizeof spec_v3 && !memcmp(got, spec_v3, n), "%zu bytes", n);
    free(got);
    /* and the hand-made bytes read as the text does */
    size_t tn;
    char *text = tu_read_file("traces/spec-example.txt", &tn);
    /* (the v1 form numbers events as v2 does; the text numbers lines) */
    CHECK(tu_convert("traces/spec-example.txt", out, TRACE_FMT_BIN1) == 0);
    free(text);
    text = tu_read_file(out, &tn);
    char *a = tu_log_mem("spec.atr", text, tn, 0);
    char *b = tu_log_mem("spec.atr", spec_v2, sizeof spec_v2, 0);
    CHECK(tu_same("spec v2", b, a));
    free(a);
    free(b);
    free(text);
    remove(out);
}

/* Every reading of FILE (strict, fast, fast from a private heap; event by
 * event and in batches of 1, 7 and 64) gives the log of WANT. */
static void same_in_every_mode(const char *what, const char *file, const char *want)
{
    size_t n;
    char *data = tu_read_file(file, &n);
    CHECKF(data != NULL, "%s", file);
    if (!data) return;
    static const unsigned flags[] = {0, TRACE_R_FAST, TRACE_R_FAST | TRACE_R_PRIVATE_HEAP};
    static const size_t batch[] = {0, 1, 7, 64};
    for (size_t f = 0; f < 3; f++)
        for (size_t k = 0; k < 4; k++) {
            char *got = tu_log_mem_batch("x", data, n, flags[f], batch[k]);
            CHECKF(tu_same(what, got, want), "%s flags %u batch %zu", what, flags[f], batch[k]);
            free(got);
        }
    free(data);
}

static char *log_file(const char *file)
{
    size_t n;
    char *data = tu_read_file(file, &n);
    char *log = tu_log_mem("x", data ? data : "", data ? n : 0, 0);
    free(data);
    return log;
}

/* text -> v2 -> text gives the text back; v1 -> v2 -> v1 the same bytes;
 * every form gives the same events. */
static void test_round_trips(void)
{
    char text[512], v1[512], v2[512], back[512], v1b[512];
    tu_path(text, sizeof text, "rt.txt");
    tu_path(v1, sizeof v1, "rt.v1.atr");
    tu_path(v2, sizeof v2, "rt.v2.atr");
    tu_path(back, sizeof back, "rt2.txt");
    tu_path(v1b, sizeof v1b, "rt2.v1.atr");
    for (size_t i = 0; i < sizeof bundled / sizeof bundled[0]; i++) {
        const char *src = bundled[i];
        CHECKF(tu_convert(src, text, TRACE_FMT_TEXT) == 0, "%s", src);
        CHECKF(tu_convert(text, v1, TRACE_FMT_BIN1) == 0, "%s", src);
        CHECKF(tu_convert(v1, v2, TRACE_FMT_BIN) == 0, "%s", src);
        CHECKF(tu_convert(v2, back, TRACE_FMT_TEXT) == 0, "%s", src);
        CHECKF(tu_convert(v2, v1b, TRACE_FMT_BIN1) == 0, "%s", src);
        size_t n1, n2, b1, b2;
        char *t1 = tu_read_file(text, &n1), *t2 = tu_read_file(back, &n2);
        CHECKF(t1 && t2 && n1 == n2 && !memcmp(t1, t2, n1), "%s: text -> v1 -> v2 -> text", src);
        char *a1 = tu_read_file(v1, &b1), *a2 = tu_read_file(v1b, &b2);
        CHECKF(a1 && a2 && b1 == b2 && !memcmp(a1, a2, b1), "%s: v1 -> v2 -> v1", src);
        if (strstr(src, ".atr")) {
            size_t on;
            char *orig = tu_read_file(src, &on);
            /* the bundled traces may be either version: v1 bytes match
             * when they are v1 */
            if (orig && on > 9 && orig[8] == 1)
                CHECKF(on == b1 && !memcmp(orig, a1, on), "%s: bytes of v1", src);
            free(orig);
        }
        char *want = log_file(v1);
        same_in_every_mode(src, v2, want);
        free(want);
        if (strstr(src, "rec-lua")) {
            /* the streams of this one halve under LZ4: version 3, LZ4
             * codec (the first block's tags descriptor) */
            size_t vn;
            uint8_t *v = (uint8_t *)tu_read_file(v2, &vn);
            size_t at = v && vn > 40 ? (size_t)v[12] | (size_t)v[13] << 8 : 0;
            while (at && at < vn && v[at] & 0x80) /* the block's record count */
                at++;
            CHECKF(at && at + 1 < vn && v[8] == 3 && v[at + 1] == 2, "%s: version 3, LZ4", src);
            free(v);
        }
        free(t1);
        free(t2);
        free(a1);
        free(a2);
    }
    remove(text);
    remove(v1);
    remove(v2);
    remove(back);
    remove(v1b);
}

/* Several blocks, with thread switches and markers across their borders,
 * and synthetic traces of both styles: v1 and v2 give the same events. */
static void test_blocks(void)
{
    char text[512], v1[512], v2[512];
    tu_path(text, sizeof text, "blk.txt");
    tu_path(v1, sizeof v1, "blk.v1.atr");
    tu_path(v2, sizeof v2, "blk.v2.atr");
    tu_buf_t b = {0};
    tu_add(&b, "#@ producer test\n");
    for (unsigned i = 0; i < 200000; i++) {
        if (i % 9973 == 0) tu_add(&b, "#@ thread %u\n", i / 9973);
        if (i % 65535 == 0 || i % 65536 == 0) tu_add(&b, "#@ marker phase p%u\n", i);
        if (i % 3 == 0)
            tu_add(&b, "a %u %u\n", i, i % 5000);
        else if (i % 3 == 1)
            tu_add(&b, "r %u %u\n", i - 1, i % 70000);
        else
            tu_add(&b, "f %u\n", i - 2);
    }
    CHECK(tu_write_file(text, b.s, b.n) == 0);
    free(b.s);
    CHECK(tu_convert(text, v1, TRACE_FMT_BIN1) == 0);
    CHECK(tu_convert(text, v2, TRACE_FMT_BIN) == 0);
    char *want = log_file(v1);
    same_in_every_mode("blocks", v2, want);
    free(want);
    for (int style = 0; style < 2; style++) {
        trace_writer_t *w;
        char err[256];
        CHECK(trace_writer_open(&w, v1, TRACE_FMT_BIN1, NULL, 0, err, sizeof err) == 0);
        CHECK(tsynth_write(w, 5, 150000, style ? TSYNTH_RANDOM : TSYNTH_REALISTIC) == 0);
        CHECK(trace_writer_close(w) == 0);
        CHECK(tu_convert(v1, v2, TRACE_FMT_BIN) == 0);
        want = log_file(v1);
        same_in_every_mode("synth", v2, want);
        free(want);
    }
    remove(text);
    remove(v1);
    remove(v2);
}

/* A version 2 file as the writer of version 2 wrote it (its streams zstd
 * frames: testdata/v2-lua-binary-trees.atr, `arenalab convert` of
 * traces/rec-lua-binary-trees.atr before version 3) reads as the version 1
 * original in every mode, and converts to the same version 1 bytes. */
static void test_v2_file(void)
{
    const char *v2 = "sim/trace/testdata/v2-lua-binary-trees.atr";
    size_t n, on;
    char *data = tu_read_file(v2, &n);
    CHECK(data && n > 40 && data[8] == 2);
    free(data);
    char *want = log_file("traces/rec-lua-binary-trees.atr");
    same_in_every_mode("v2 file", v2, want);
    free(want);
    char v1[512];
    tu_path(v1, sizeof v1, "v2file.v1.atr");
    CHECK(tu_convert(v2, v1, TRACE_FMT_BIN1) == 0);
    char *orig = tu_read_file("traces/rec-lua-binary-trees.atr", &on);
    data = tu_read_file(v1, &n);
    CHECK(orig && data && n == on && !memcmp(orig, data, n));
    free(orig);
    free(data);
    remove(v1);
}

/* The log of DATA (LEN bytes) read strictly and fast contains NEEDLE. */
static void expect_bytes(const char *what, const uint8_t *data, size_t len, const char *needle)
{
    for (unsigned flags = 0; flags <= TRACE_R_FAST; flags += TRACE_R_FAST)
        for (size_t batch = 0; batch <= 64; batch += 64) {
            char *log = tu_log_mem_batch("bad.atr", data, len, flags, batch);
            CHECKF(strstr(log, needle) != NULL, "%s: want '%s' in:\n%s", what, needle, log);
            free(log);
        }
}

/* The spec bytes with [AT, AT+LEN) replaced by WITH (WLEN bytes). */
static void expect_patched(const char *what, size_t at, size_t len, const void *with, size_t wlen,
                           const char *needle)
{
    size_t n = sizeof spec_v2 - len + wlen;
    uint8_t *s = malloc(n);
    memcpy(s, spec_v2, at);
    memcpy(s + at, with, wlen);
    memcpy(s + at + wlen, spec_v2 + at + len, sizeof spec_v2 - at - len);
    expect_bytes(what, s, n, needle);
    free(s);
}

enum { OFF_BLOCK = 36, OFF_DESC = 37, OFF_TAGS = 45 };

static void test_bad_input(void)
{
    /* cut short anywhere in the block: no events of it, truncated */
    for (size_t cut = OFF_BLOCK; cut < sizeof spec_v2 - 2; cut++)
        expect_bytes("cut", spec_v2, cut, "truncated\n");
    /* the end record missing: every event, then truncated */
    expect_bytes("no end", spec_v2, sizeof spec_v2 - 2, "owned=1\ntruncated\n");
    /* stream length lies: sizes one byte short, ids one byte long */
    expect_patched("short sizes", OFF_DESC + 2, 2, "\x00\x06", 2, "ERR-3 bad.atr");
    expect_patched("long ids", OFF_DESC + 4, 2, "\x00\x03", 2, "ERR-3 bad.atr");
    /* tags stream length other than the record count */
    expect_patched("tags", OFF_DESC, 2, "\x00\x08", 2,
                   "block 0: tags stream of 8 bytes for 9 records");
    /* too many records, a sizes stream over its bound, an unknown codec */
    expect_patched("records", OFF_BLOCK, 1, "\x81\x80\x08", 3, "records (at most 65536)");
    expect_patched("sizes bound", OFF_DESC + 2, 2, "\x00\xb5\x01", 3,
                   "sizes stream of 181 bytes for 9 records");
    expect_patched("codec", OFF_DESC + 6, 1, "\x07", 1, "extras stream: unknown codec 7");
    /* a zstd stream that is no zstd frame */
    expect_patched("zstd garbage", OFF_DESC + 4, 2, "\x01\x02\x02", 3, "ids stream: bad zstd data");
    /* LZ4 (codec 2) in version 2: unknown there */
    expect_patched("lz4 in v2", OFF_DESC + 4, 2, "\x02\x02\x02", 3, "ids stream: unknown codec 2");
    /* version 3: the ids stream ("0e 00") as an LZ4 block reads as the
     * raw one; LZ4 blocks that are no LZ4, or decode to more bytes, are
     * corrupt */
    static const struct {
        const char *what;
        uint8_t block[4];
        size_t len;
        const char *needle;                         /* NULL: the events of the raw example */
    } lz[] = {{"lz4", {0x20, 0x0e, 0x00}, 3, NULL}, /* 2 literals, the end */
              {"lz4 long", {0x30, 0x0e, 0x00, 0x00}, 4, "ids stream: bad LZ4 data"},
              {"lz4 garbage", {0xf0, 0xff, 0xff}, 3, "ids stream: bad LZ4 data"}};
    enum { OFF_IDS = sizeof spec_v2 - 4 }; /* the ids' 2 bytes, then the end record */
    char *raw = tu_log_mem("bad.atr", spec_v2, sizeof spec_v2, 0);
    for (size_t i = 0; i < sizeof lz / sizeof lz[0]; i++) {
        uint8_t t[sizeof spec_v2 + 8];
        size_t k = OFF_DESC + 4;
        memcpy(t, spec_v2, k);
        t[8] = 3;
        t[k++] = 2, t[k++] = 2, t[k++] = (uint8_t)lz[i].len; /* LZ4, 2 bytes, stored */
        memcpy(t + k, spec_v2 + OFF_DESC + 6, OFF_IDS - (OFF_DESC + 6));
        k += OFF_IDS - (OFF_DESC + 6);
        memcpy(t + k, lz[i].block, lz[i].len);
        k += lz[i].len;
        memcpy(t + k, spec_v2 + OFF_IDS + 2, 2);
        k += 2;
        if (lz[i].needle) {
            expect_bytes(lz[i].what, t, k, lz[i].needle);
        } else {
            char *got = tu_log_mem("bad.atr", t, k, 0);
            CHECK(tu_same(lz[i].what, got, raw));
            free(got);
        }
    }
    free(raw);
    /* an END count that differs */
    expect_patched("end count", sizeof spec_v2 - 1, 1, "\x08", 1,
                   "end record counts 8 events, the file has 9");
    /* bytes after the end */
    expect_patched("trailing", sizeof spec_v2, 0, "\x00", 1, "1 bytes after the end record");
    /* a reserved tag and a special record's unknown tag in the tags stream */
    expect_patched("tag", OFF_TAGS, 1, "\x1b", 1, "unknown record tag 0x1b");
    expect_patched("end tag", OFF_TAGS, 1, "\x18", 1, "unknown record tag 0x18");
    /* NEXT and SLOT_ID together, and bit 7 of an `a` */
    expect_patched("next+slot", OFF_TAGS, 1, "\x70", 1, "event 0: reserved bits set");
    expect_patched("bit 7", OFF_TAGS, 1, "\xb0", 1, "event 0: reserved bits set");
    /* a slot that is not live: that event rejected, the rest read */
    expect_patched("slot", OFF_TAGS + 3, 1, "\x53", 1, "ERR-2 bad.atr: event 3:");
}

int main(void)
{
    test_spec_bytes();
    test_round_trips();
    test_blocks();
    test_v2_file();
    test_bad_input();
    return check_done();
}
