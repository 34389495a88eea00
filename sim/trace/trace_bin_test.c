/* trace_bin_test.c: the binary format: its exact bytes on the spec's
 * example, round trips text <-> binary on the bundled and on seeded random
 * traces, files cut at every byte, lying headers, corrupt records; and
 * trace_next_batch (the reader's fast loop) against trace_next, on good,
 * cut and mutated traces; the writer on a caller's stream; a trace read
 * while it grows (trace_mem_follow). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc/check.h"
#include "sim/trace/internal/trace_testutil.h"
#include "sim/trace/trace.h"
#include "sim/trace/trace_bin_enc.h"
#include "sim/trace/trace_synth.h"

static const char *const bundled[] = {
    "traces/spec-example.txt",
    "traces/binary-lab.rep",
    "traces/realloc-lab.rep",
};

/* The spec's example, encoded by hand from sim/trace/TRACE-FORMAT.md. */
static const uint8_t spec_bin[] = {
    0x89, 'A',  'T',  'R', '\r', '\n', 0x1a, '\n',             /* magic                   */
    1,    0,    1,    0,   36,   0,    0,    0,                /* v1, COMPLETE, hdr len  */
    9,    0,    0,    0,   0,    0,    0,    0,                /* 9 events               */
    2,    0,    0,    0,   1,    0,    0,    0,    0, 0, 0, 0, /* 2 slots, 1 arena, meta */
    0x30, 24,                                                  /* a 0 24 obj  (next id)  */
    0x28, 100,                                                 /* a 1 100                */
    0x0a, 0xac, 0x02,                                          /* r 1 300  (slot +0)     */
    0x33,                                                      /* f 0 obj  (slot -1)     */
    0x0c, 14,                                                  /* n 7  (zigzag 7 from 0) */
    0x2d, 48,                                                  /* m 7 48  (same arena)   */
    0x2d, 0xa8, 0x46,                                          /* m 7 9000               */
    0x4e, 0,                                                   /* o 7 1  (slot +1, as 0) */
    0x2f,                                                      /* x 7                    */
    0x18, 9,                                                   /* end, 9 events          */
};

static char *file_bytes(const char *path, size_t *len)
{
    char *s = tu_read_file(path, len);
    CHECKF(s != NULL, "cannot read %s", path);
    return s;
}

static void test_spec_bytes(void)
{
    char out[512];
    tu_path(out, sizeof out, "spec.atr");
    CHECK(tu_convert("traces/spec-example.txt", out, TRACE_FMT_BIN1) == 0);
    size_t n;
    char *got = file_bytes(out, &n);
    CHECK(got && n == sizeof spec_bin && !memcmp(got, spec_bin, n));
    free(got);
    char *a = tu_log_mem("spec.atr", spec_bin, sizeof spec_bin, 0);
    char *b = tu_log_mem("spec.atr", spec_bin, sizeof spec_bin, TRACE_R_FAST);
    CHECKF(strstr(a, "x id=0 arena=7 size=0 nmemb=0 dom=mem @8 s=0 as=0 t=0 owned=1\n") != NULL,
           "%s", a);
    CHECK(!strcmp(a, b));
    free(a);
    free(b);
    remove(out);
}

/* SRC copied into a writer on the caller's stream FP. */
static void copy_to_stream(const char *src, FILE *fp, trace_format_t fmt)
{
    trace_reader_t *r;
    trace_writer_t *w;
    char err[512];
    const char *msg = NULL;
    CHECK(trace_open(&r, src, err, sizeof err) == 0);
    CHECKF(trace_writer_open_stream(&w, fp, "stream", fmt, trace_meta(r), 0, err, sizeof err) == 0,
           "%s", err);
    CHECKF(trace_copy(r, w, 0, NULL, &msg) == 0, "%s", msg ? msg : "");
    CHECK(trace_writer_close(w) == 0);
    trace_close(r);
}

/* A writer on the caller's stream: a seekable one gets the spec's bytes
 * exactly (counts patched), a pipe the same events with the counts left
 * unknown; the stream stays open and is the caller's to close. */
static void test_stream(void)
{
    FILE *fp = tmpfile();
    CHECK(fp != NULL);
    copy_to_stream("traces/spec-example.txt", fp, TRACE_FMT_BIN1);
    CHECK(fputs("more", fp) >= 0 && fflush(fp) == 0); /* still open */
    uint8_t got[sizeof spec_bin + 8];
    rewind(fp);
    size_t n = fread(got, 1, sizeof got, fp);
    CHECKF(n == sizeof spec_bin + 4 && !memcmp(got, spec_bin, sizeof spec_bin), "%zu bytes", n);
    fclose(fp);

    int fds[2];
    CHECK(pipe(fds) == 0);
    fp = fdopen(fds[1], "wb");
    CHECK(fp != NULL);
    copy_to_stream("traces/spec-example.txt", fp, TRACE_FMT_BIN1);
    fclose(fp);
    n = (size_t)read(fds[0], got, sizeof got);
    close(fds[0]);
    CHECKF(n == sizeof spec_bin, "%zu bytes through a pipe", n);
    CHECK(!memcmp(got, spec_bin, 10) && !(got[10] & TBENC_F_COMPLETE));
    char *a = tu_log_mem("pipe.atr", got, n, 0), *b = tu_log_mem("spec.atr", spec_bin, n, 0);
    CHECK(tu_same("pipe", a, b));
    free(a);
    free(b);
}

/* Events of a log with their positions dropped, so text and binary logs
 * (lines vs event indices) compare. */
static char *strip_where(const char *log)
{
    char *s = strdup(log), *d = s;
    for (const char *p = log; *p;) {
        if (*p == '@') {
            while (*p && *p != ' ')
                p++;
        } else {
            *d++ = *p++;
        }
    }
    *d = '\0';
    return s;
}

static char *log_file(const char *path, unsigned flags)
{
    size_t n;
    char *data = file_bytes(path, &n);
    char *log = tu_log_mem(path, data ? data : "", data ? n : 0, flags);
    free(data);
    return log;
}

/* TEXT (any form) -> BIN -> TEXT2 must be TEXT's canonical form, and
 * BIN -> TEXT2 -> BIN2 must be BIN byte for byte. */
static void round_trip(const char *text, const char *tag)
{
    char canon[512], bin[512], text2[512], bin2[512];
    tu_path(canon, sizeof canon, "canon.txt");
    tu_path(bin, sizeof bin, "rt.atr");
    tu_path(text2, sizeof text2, "rt.txt");
    tu_path(bin2, sizeof bin2, "rt2.atr");
    CHECK(tu_convert(text, canon, TRACE_FMT_TEXT) == 0);
    CHECK(tu_convert(text, bin, TRACE_FMT_BIN) == 0);
    CHECK(tu_convert(bin, text2, TRACE_FMT_TEXT) == 0);
    CHECK(tu_convert(text2, bin2, TRACE_FMT_BIN) == 0);
    size_t n1, n2;
    char *c = file_bytes(canon, &n1), *t2 = file_bytes(text2, &n2);
    if (c && t2) CHECKF(tu_same(tag, t2, c), "text -> bin -> text of %s", tag);
    free(c);
    free(t2);
    char *b1 = file_bytes(bin, &n1), *b2 = file_bytes(bin2, &n2);
    CHECKF(b1 && b2 && n1 == n2 && !memcmp(b1, b2, n1), "bin -> text -> bin of %s", tag);
    free(b1);
    free(b2);
    /* both readers see the same events; the fast one too */
    char *lt = log_file(text, 0), *lb = log_file(bin, 0), *lf = log_file(bin, TRACE_R_FAST);
    char *st = strip_where(lt), *sb = strip_where(lb);
    char *rep = strstr(st, "rep\n"); /* a text-only property */
    if (rep && rep[4] == '\0') *rep = '\0';
    CHECK(tu_same(tag, sb, st));
    CHECK(!strcmp(lb, lf));
    free(lt);
    free(lb);
    free(lf);
    free(st);
    free(sb);
}

static void test_bundled(void)
{
    for (size_t i = 0; i < sizeof bundled / sizeof bundled[0]; i++)
        round_trip(bundled[i], bundled[i]);
}

static int synth(const char *path, trace_format_t fmt, uint64_t seed, uint64_t n,
                 tsynth_style_t style)
{
    char err[256];
    trace_writer_t *w;
    trace_meta_entry_t ents[] = {{"producer", "trace_bin_test"}, {"seed", "x y"}};
    trace_meta_t meta = {2, ents};
    int rc = trace_writer_open(&w, path, fmt, &meta, 0, err, sizeof err);
    if (rc < 0) return rc;
    rc = tsynth_write(w, seed, n, style);
    if (rc < 0) {
        fprintf(stderr, "%s\n", trace_writer_error(w));
        trace_writer_abort(w);
        return rc;
    }
    return trace_writer_close(w);
}

static void test_random(void)
{
    char text[512], bin[512], conv[512];
    tu_path(text, sizeof text, "rand.txt");
    tu_path(bin, sizeof bin, "rand.atr");
    tu_path(conv, sizeof conv, "conv");
    for (uint64_t seed = 1; seed <= 12; seed++) {
        uint64_t n = seed < 4 ? 20000 : 3000;
        tsynth_style_t style = seed % 4 == 0 ? TSYNTH_REALISTIC : TSYNTH_RANDOM;
        CHECK(synth(text, TRACE_FMT_TEXT, seed, n, style) == 0);
        CHECK(synth(bin, TRACE_FMT_BIN, seed, n, style) == 0);
        size_t nt, nb, nc;
        char *t = file_bytes(text, &nt), *b = file_bytes(bin, &nb), *c;
        /* the writer of each format, and the converters, agree exactly */
        CHECK(tu_convert(text, conv, TRACE_FMT_BIN) == 0);
        c = file_bytes(conv, &nc);
        CHECKF(b && c && nb == nc && !memcmp(b, c, nb), "seed %llu: text -> bin",
               (unsigned long long)seed);
        free(c);
        CHECK(tu_convert(bin, conv, TRACE_FMT_TEXT) == 0);
        c = file_bytes(conv, &nc);
        if (t && c) CHECKF(tu_same("bin -> text", c, t), "seed %llu", (unsigned long long)seed);
        free(c);
        if (seed == 1 && t) {
            /* the random style reaches every corner */
            CHECK(strstr(t, "\nc ") && strstr(t, "\nr ") && strstr(t, "\nf ") &&
                  strstr(t, "\nn ") && strstr(t, "\nm ") && strstr(t, "\no ") &&
                  strstr(t, "\nx ") && strstr(t, " raw\n") && strstr(t, " obj\n") &&
                  strstr(t, "#@ thread ") && strstr(t, "#@ marker ") &&
                  strstr(t, " 281474976710656") && strstr(t, " 42949672"));
        }
        char *lb = log_file(bin, 0), *lf = log_file(bin, TRACE_R_FAST);
        CHECK(!strcmp(lb, lf));
        CHECK(strstr(lb, "ERR") == NULL);
        free(lb);
        free(lf);
        free(t);
        free(b);
    }
    remove(text);
    remove(bin);
    remove(conv);
}

static void test_compact(void)
{
    char bin[512];
    tu_path(bin, sizeof bin, "real.atr");
    uint64_t n = 200000;
    CHECK(synth(bin, TRACE_FMT_BIN, 99, n, TSYNTH_REALISTIC) == 0);
    size_t nb;
    char *b = file_bytes(bin, &nb);
    double per = (double)nb / (double)n;
    CHECKF(per <= 4.0, "%.2f bytes/event on a realistic trace", per);
    fprintf(stderr, "realistic trace: %.2f bytes/event\n", per);
    free(b);
    remove(bin);
}

/* Bytes of the event lines at the start of a tu_log_reader log. */
static size_t events_len(const char *log)
{
    const char *p = log;
    while (*p && strncmp(p, "marker @", 8) && strncmp(p, "meta ", 5) && strncmp(p, "truncated", 9))
        p = strchr(p, '\n') + 1;
    return (size_t)(p - log);
}

/* Every prefix of a good file reads as a prefix of its events, marked cut
 * short; prefixes shorter than the header are refused. */
static void test_cut_everywhere(void)
{
    char bin[512];
    tu_path(bin, sizeof bin, "cut.atr");
    CHECK(synth(bin, TRACE_FMT_BIN, 7, 300, TSYNTH_RANDOM) == 0);
    size_t n;
    char *b = file_bytes(bin, &n);
    if (!b) return;
    char *full = tu_log_mem("cut.atr", b, n, 0);
    CHECK(strstr(full, "truncated") == NULL && strstr(full, "ERR") == NULL);
    size_t hdr = (size_t)b[12] | (size_t)b[13] << 8;
    for (size_t k = 0; k < n; k++) {
        char *part = tu_log_mem("cut.atr", b, k, 0);
        if (k < TBENC_FIXED) {
            CHECKF(strstr(part, "OPEN-3 cut.atr: header: cut short") == part || k < 4, "%zu: %s", k,
                   part);
        } else if (k < hdr) {
            CHECKF(strstr(part, "OPEN-3 cut.atr: header: length") == part, "%zu: %s", k, part);
        } else {
            /* the events (logged first) are a prefix of the full list */
            size_t evlen = events_len(part);
            CHECKF(!strncmp(part, full, evlen), "cut at %zu: not a prefix", k);
            CHECKF(strstr(part, "truncated\n") != NULL, "cut at %zu: not marked", k);
            CHECKF(strstr(part, "ERR") == NULL, "cut at %zu: %s", k, part);
        }
        free(part);
    }
    free(full);
    free(b);
    remove(bin);
}

/* A file from the spec bytes with bytes [AT, AT+LEN) replaced by WITH
 * (LEN may differ from WLEN). */
static char *patched(size_t at, size_t len, const void *with, size_t wlen, size_t *n)
{
    *n = sizeof spec_bin - len + wlen;
    char *s = malloc(*n);
    memcpy(s, spec_bin, at);
    memcpy(s + at, with, wlen);
    memcpy(s + at + wlen, spec_bin + at + len, sizeof spec_bin - at - len);
    return s;
}

static void expect_patched(size_t at, size_t len, const void *with, size_t wlen, unsigned flags,
                           const char *needle)
{
    size_t n;
    char *s = patched(at, len, with, wlen, &n);
    char *log = tu_log_mem("bad.atr", s, n, flags);
    CHECKF(strstr(log, needle) != NULL, "want '%s' in:\n%s", needle, log);
    free(log);
    free(s);
}

static void test_corrupt(void)
{
    /* header */
    expect_patched(1, 7, "ATR\r\n\n\n", 7, 0, "OPEN-3 bad.atr: header: bad magic");
    expect_patched(8, 1, "\x04", 1, 0, "OPEN-3 bad.atr: header: format version 4");
    expect_patched(10, 1, "\x03", 1, 0, "OPEN-3 bad.atr: header: unknown flags 0x0003");
    expect_patched(12, 1, "\x23", 1, 0, "OPEN-3 bad.atr: header: length 35 outside");
    expect_patched(12, 1, "\xff", 1, 0, "OPEN-3 bad.atr: header: length 255 outside");
    expect_patched(32, 1, "\x01", 1, 0, "OPEN-3 bad.atr: header: bad metadata entry 0");
    /* a header that lies about its counts: read, then refused at the end;
     * a huge slot count allocates nothing big (ASan would say) */
    expect_patched(16, 1, "\x08", 1, 0,
                   "ERR-3 bad.atr: event 9: header counts (8 events, 2 blocks, 1 arenas) differ "
                   "from the trace's (9, 2, 1)");
    expect_patched(24, 4, "\xff\xff\xff\xff", 4, 0, "header counts (9 events, 4294967295 blocks");
    expect_patched(16, 16, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 16,
                   TRACE_R_FAST, "header counts");
    /* without the COMPLETE flag the counts are not checked */
    expect_patched(10, 1, "\x00", 1, 0, "x id=0 arena=7");
    /* records */
    expect_patched(36, 1, "\x1b", 1, 0, "ERR-3 bad.atr: event 0: unknown record tag 0x1b");
    expect_patched(36, 1, "\x38", 1, 0, "ERR-3 bad.atr: event 0: reserved bits set in a special");
    expect_patched(36, 1, "\x70", 1, 0, "ERR-3 bad.atr: event 0: reserved bits set");
    expect_patched(36, 2, "\x30\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 11, 0,
                   "ERR-3 bad.atr: event 0: varint longer than 64 bits");
    expect_patched(36, 2, "\x30\x81\x80\x80\x80\x80\x80\x40", 8, 0,
                   "ERR-3 bad.atr: event 0: size above 2^48");
    expect_patched(36, 2, "\x30\x80\x80\x80\x80\x80\x80\x40", 8, 0,
                   "a id=0 arena=0 size=281474976710656 nmemb=0 dom=obj");
    expect_patched(36, 2, "\x30\x80\x80\x80\x80\x80\x80\x40", 8, 0, "x id=0 arena=7");
    expect_patched(36, 2, "\x00\x80\x80\x80\x80\x10\x05", 7, 0,
                   "ERR-3 bad.atr: event 0: id delta out of range");
    expect_patched(44, 1, "\x14", 1, 0,
                   "ERR-3 bad.atr: event 4: arena event with a domain other than mem");
    expect_patched(sizeof spec_bin - 1, 1, "\x08", 1, 0,
                   "ERR-3 bad.atr: event 9: end record counts 8 events, the file has 9");
    expect_patched(sizeof spec_bin, 0, "\x00", 1, 0,
                   "ERR-3 bad.atr: event 9: 1 bytes after the end record");
    /* semantic errors are reported and skipped; later events still come */
    expect_patched(43, 1, "\x13", 1, 0,
                   "ERR-2 bad.atr: event 3: API violation: f of slot 1 in domain obj, allocated "
                   "in domain mem");
    /* ... unless the replay's debug hooks are to catch them, fast or not */
    expect_patched(43, 1, "\x13", 1, TRACE_R_CROSS_DOMAIN,
                   "f id=1 arena=0 size=0 nmemb=0 dom=obj @3 s=1");
    expect_patched(43, 1, "\x13", 1, TRACE_R_CROSS_DOMAIN | TRACE_R_FAST,
                   "f id=1 arena=0 size=0 nmemb=0 dom=obj @3 s=1");
    expect_patched(43, 1, "\x53", 1, 0, "ERR-2 bad.atr: event 3: f of slot 2, which is not live");
    expect_patched(43, 1, "\x53", 1, 0, "x id=0 arena=7 size=0 nmemb=0 dom=mem @8");
    expect_patched(43, 1, "\xf3\x81\x80\x80\x80\x20", 6, 0,
                   "ERR-2 bad.atr: event 3: f of slot 4294967295, which is not live");
    expect_patched(46, 1, "\x0d\x05", 2, 0,
                   "ERR-2 bad.atr: event 5: m on arena slot 5, which does not exist");
    /* `a 0` twice: strict mode sees the live id, fast mode does not */
    expect_patched(38, 1, "\x08\x01", 2, 0,
                   "ERR-2 bad.atr: event 1: a of id 0, which is already live");
    expect_patched(38, 1, "\x08\x01", 2, TRACE_R_FAST,
                   "a id=0 arena=0 size=100 nmemb=0 dom=mem @1 s=1");
    /* no end record: cut short, not an error */
    expect_patched(sizeof spec_bin - 2, 2, "", 0, 0, "owned=1\ntruncated\n");
}

static void test_meta_markers_threads(void)
{
    char text[512], bin[512], back[512];
    tu_path(text, sizeof text, "mm.txt");
    tu_path(bin, sizeof bin, "mm.atr");
    tu_path(back, sizeof back, "mm2.txt");
    const char *src = "#@ producer arenalab 0.1.0\n#@ created 2024-05-01T10:00:00Z\n"
                      "#@ command arenalab gen --seed 3\n#@ marker phase warmup\n"
                      "#@ thread 5\na 1 10\n#@ marker phase run\n#@ thread 4294967295\n"
                      "f 1\n#@ marker phase\n";
    CHECK(tu_write_file(text, src, strlen(src)) == 0);
    CHECK(tu_convert(text, bin, TRACE_FMT_BIN) == 0);
    CHECK(tu_convert(bin, back, TRACE_FMT_TEXT) == 0);
    char *got = file_bytes(back, NULL);
    if (got) CHECK(tu_same("meta", got, src));
    free(got);
    trace_reader_t *r;
    char err[256];
    CHECK(trace_open(&r, bin, err, sizeof err) == 0);
    if (r) {
        CHECK(trace_format(r) == TRACE_FMT_BIN && trace_meta(r)->n == 3);
        CHECK(trace_count_hint(r) == 2 && trace_slot_hint(r) == 1 && trace_aslot_hint(r) == 0);
        trace_event_t ev;
        CHECK(trace_next(r, &ev) == 1 && ev.thread == 5);
        CHECK(trace_next(r, &ev) == 1 && ev.thread == 4294967295u);
        CHECK(trace_next(r, &ev) == 0 && !trace_truncated(r));
        const trace_marker_t *m;
        CHECK(trace_markers(r, &m) == 3 && m[2].at == 2 && !strcmp(m[2].value, ""));
        CHECK(trace_rewind(r) == 0 && trace_markers(r, &m) == 0);
        CHECK(trace_next(r, &ev) == 1 && ev.op == TRACE_ALLOC && ev.id == 1);
        trace_close(r);
    }
    remove(text);
    remove(bin);
    remove(back);
}

/* A writer's `pad` entry (reserved room) is skipped by readers; a legacy
 * zero-padded dropped_frees (recorders before `pad`) reads as its number;
 * callers cannot write `pad` themselves. */
static void test_meta_pad(void)
{
    char bin[512];
    tu_path(bin, sizeof bin, "pad.atr");
    static const uint8_t hdr[] = {0x89, 'A',     'T', 'R', '\r', '\n', 0x1a, '\n', 1,   0,    0,
                                  0,    36 + 40, 0,   0,   0, /* */
                                  0,    0,       0,   0,   0,    0,    0,    0,    0,   0,    0,
                                  0,    0,       0,   0,   0,    2,    0,    0,    0, /* */
                                  13,   'd',     'r', 'o', 'p',  'p',  'e',  'd',  '_', 'f',  'r',
                                  'e',  'e',     's', 20, /* */
                                  '0',  '0',     '0', '0', '0',  '0',  '0',  '0',  '0', '0',  '0',
                                  '0',  '0',     '0', '0', '0', /* */
                                  '0',  '0',     '4', '2', 3,    'p',  'a',  'd',  0,   0x18, 0};
    _Static_assert(sizeof hdr == 36 + 40 + 2, "header as written");
    CHECK(tu_write_file(bin, (const char *)hdr, sizeof hdr) == 0);
    trace_reader_t *r;
    char err[256];
    CHECKF(trace_open(&r, bin, err, sizeof err) == 0, "%s", err);
    if (r) {
        const trace_meta_t *m = trace_meta(r);
        CHECK(m->n == 1 && !strcmp(m->entries[0].key, "dropped_frees") &&
              !strcmp(m->entries[0].value, "42"));
        trace_event_t ev;
        CHECK(trace_next(r, &ev) == 0);
        trace_close(r);
    }
    trace_writer_t *w;
    trace_meta_entry_t ents[] = {{"pad", "x"}};
    trace_meta_t meta = {1, ents};
    CHECK(trace_writer_open(&w, bin, TRACE_FMT_BIN, &meta, 0, err, sizeof err) < 0);
    CHECK(strstr(err, "'pad' are reserved") != NULL);
    remove(bin);
}

/* Batch sizes the batch tests read with: 1 (the fast loop's setup every
 * event), small ones that end batches everywhere, and a replay's. */
static const size_t batch_sizes[] = {1, 2, 3, 7, 64};

/* DATA read in both modes: event by event and in batches of every size,
 * the same log (events, errors and where they fall, markers, owned lists,
 * the cut-short flag).  WHAT names the input in a failure. */
static void same_batched(const char *what, const void *data, size_t n)
{
    static const unsigned modes[] = {0, TRACE_R_FAST};
    for (size_t m = 0; m < 2; m++) {
        char *one = tu_log_mem_batch("b.atr", data, n, modes[m], 0);
        for (size_t i = 0; i < sizeof batch_sizes / sizeof batch_sizes[0]; i++) {
            char *many = tu_log_mem_batch("b.atr", data, n, modes[m], batch_sizes[i]);
            CHECKF(tu_same(what, many, one), "%s: flags %u, batches of %zu", what, modes[m],
                   batch_sizes[i]);
            free(many);
        }
        free(one);
    }
}

static uint64_t batch_rng(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

/* trace_next_batch gives exactly what trace_next gives: on seeded traces
 * of both styles (every record kind, long varints, thread switches,
 * markers, ownership), on every cut of a short one, and on mutated copies
 * (flipped bytes, cleared COMPLETE flag, both), where rejected events,
 * corrupt records and cuts fall inside batches; and fast mode agrees with
 * strict mode on what strict mode reads cleanly. */
static void test_batch(void)
{
    char bin[512], what[64];
    tu_path(bin, sizeof bin, "batch.atr");
    for (uint64_t seed = 1; seed <= 6; seed++) {
        tsynth_style_t style = seed % 3 == 0 ? TSYNTH_REALISTIC : TSYNTH_RANDOM;
        CHECK(synth(bin, TRACE_FMT_BIN, seed, seed <= 2 ? 12000 : 1500, style) == 0);
        size_t n;
        char *b = file_bytes(bin, &n);
        if (!b) continue;
        snprintf(what, sizeof what, "seed %llu", (unsigned long long)seed);
        same_batched(what, b, n);
        char *strict = tu_log_mem_batch("b.atr", b, n, 0, 0);
        char *fast = tu_log_mem_batch("b.atr", b, n, TRACE_R_FAST, 64);
        CHECKF(tu_same(what, fast, strict), "%s: fast batches and strict", what);
        CHECK(strstr(strict, "ERR") == NULL && strstr(strict, "x-not-last") == NULL);
        free(strict);
        free(fast);
        if (seed == 3) {
            /* every cut of a realistic trace, batch boundaries anywhere */
            size_t hdr = (size_t)(uint8_t)b[12] | (size_t)(uint8_t)b[13] << 8;
            for (size_t k = hdr; k < n && k < hdr + 400; k++) {
                snprintf(what, sizeof what, "seed 3 cut at %zu", k);
                same_batched(what, b, k);
            }
        }
        uint64_t rng = seed;
        for (int i = 0; i < 50; i++) {
            char *c = malloc(n);
            memcpy(c, b, n);
            size_t len = i % 4 == 3 ? TBENC_FIXED + batch_rng(&rng) % (n - TBENC_FIXED) : n;
            int flips = 1 + (int)(batch_rng(&rng) % 4);
            for (int k = 0; k < flips; k++)
                c[TBENC_FIXED + batch_rng(&rng) % (len - TBENC_FIXED)] = (char)batch_rng(&rng);
            if (i % 2) c[TBENC_OFF_FLAGS] &= (char)~TBENC_F_COMPLETE;
            snprintf(what, sizeof what, "seed %llu mutant %d", (unsigned long long)seed, i);
            same_batched(what, c, len);
            free(c);
        }
        free(b);
    }
    /* the text reader batches alike */
    const char *text = "a 1 10\nf 9\nn 4\nm 4 8\no 4 1\nx 4\nr 1 3\nbad\nc 2 3 4 raw\nf 2 raw\n";
    char *one = tu_log_mem_batch("t.txt", text, strlen(text), 0, 0);
    for (size_t i = 0; i < sizeof batch_sizes / sizeof batch_sizes[0]; i++) {
        char *many = tu_log_mem_batch("t.txt", text, strlen(text), 0, batch_sizes[i]);
        CHECK(tu_same("text batches", many, one));
        free(many);
    }
    CHECK(strstr(one, "ERR-2 t.txt:2: f of id 9") && strstr(one, "ERR-1 t.txt:8: unknown op"));
    free(one);
    /* no room: a usage error, and the reader can go on */
    trace_reader_t *r;
    trace_event_t ev[2];
    char err[256];
    CHECK(trace_open_mem(&r, "s.atr", spec_bin, sizeof spec_bin, TRACE_R_FAST, err, sizeof err) ==
          0);
    CHECK(trace_next_batch(r, ev, 0) == TRACE_EUSAGE);
    CHECK(trace_next_batch(r, ev, 2) == 2 && ev[0].op == TRACE_ALLOC && ev[1].slot == 1);
    trace_close(r);
    remove(bin);
}

/* One event as a line, for comparing reads. */
static void follow_log(tu_buf_t *b, const trace_event_t *ev)
{
    tu_add(b, "%c %u %u %u %u %" PRIu64 " %" PRIu64 " %u @%" PRIu64 "\n", trace_op_letter[ev->op],
           ev->id, ev->slot, ev->arena, ev->aslot, ev->size, ev->nmemb, ev->thread, ev->where);
}

/* Reads R to the end of its data into B (batches of BATCH, or event by
 * event when 0). */
static void follow_drain(tu_buf_t *b, trace_reader_t *r, size_t batch)
{
    trace_event_t ev[16];
    int n;
    while ((n = batch ? trace_next_batch(r, ev, batch) : trace_next(r, ev)) > 0)
        for (int i = 0; i < n; i++)
            follow_log(b, &ev[i]);
    CHECKF(n == 0, "%d %s", n, trace_error(r));
}

/* trace_mem_follow: a version-1 trace read while it grows a few bytes at
 * a time (records cut anywhere; the data moving each time) gives the
 * events, markers and end of the whole trace read at once, in both modes;
 * other readers refuse it. */
static void test_follow(void)
{
    char err[512];
    for (uint64_t seed = 1; seed <= 4; seed++) {
        FILE *fp = tmpfile();
        trace_writer_t *w;
        CHECK(fp &&
              trace_writer_open_stream(&w, fp, "m", TRACE_FMT_BIN1, NULL, 0, err, sizeof err) == 0);
        CHECK(tsynth_write(w, seed, 3000, seed & 1 ? TSYNTH_RANDOM : TSYNTH_REALISTIC) == 0);
        CHECK(trace_writer_close(w) == 0);
        long flen = ftell(fp);
        CHECK(flen > 0 && fseek(fp, 0, SEEK_SET) == 0);
        size_t len = (size_t)flen;
        char *buf = malloc(len);
        CHECK(buf && fread(buf, 1, len, fp) == len);
        fclose(fp);
        unsigned flags = seed & 2 ? TRACE_R_FAST : 0;
        size_t batch = seed <= 2 ? 0 : 16;
        tu_buf_t want = {0}, got = {0};
        trace_reader_t *r, *whole;
        CHECKF(trace_open_mem(&whole, "m", buf, len, flags, err, sizeof err) == 0, "%s", err);
        follow_drain(&want, whole, batch);
        CHECK(!trace_truncated(whole));
        size_t hlen = (size_t)buf[TBENC_OFF_HDRLEN] | (size_t)(uint8_t)buf[TBENC_OFF_HDRLEN + 1]
                                                          << 8;
        size_t have = hlen;
        char *data = malloc(have);
        memcpy(data, buf, have);
        CHECK(trace_open_mem(&r, "m", data, have, flags, err, sizeof err) == 0);
        uint64_t rnd = seed;
        while (have < len) {
            follow_drain(&got, r, batch);
            CHECK(trace_truncated(r));
            rnd = rnd * 6364136223846793005u + 1442695040888963407u;
            have += 1 + (rnd >> 59);
            if (have > len) have = len;
            char *more = malloc(have); /* the data moves */
            memcpy(more, buf, have);
            CHECK(trace_mem_follow(r, more, have) == 0);
            CHECK(trace_offset(r) <= have);
            free(data);
            data = more;
        }
        follow_drain(&got, r, batch);
        CHECK(!trace_truncated(r) && trace_offset(r) < len); /* at the end record */
        CHECK(tu_same("follow", got.s, want.s));
        const trace_marker_t *m1, *m2;
        size_t n1 = trace_markers(r, &m1), n2 = trace_markers(whole, &m2);
        CHECK(n1 == n2);
        for (size_t i = 0; i < n1 && i < n2; i++)
            CHECK(m1[i].at == m2[i].at && !strcmp(m1[i].key, m2[i].key) &&
                  !strcmp(m1[i].value, m2[i].value));
        /* less than what was read: refused */
        CHECK(trace_mem_follow(r, data, (size_t)trace_offset(r) - 1) == TRACE_EUSAGE);
        trace_close(r);
        trace_close(whole);
        free(data);
        free(buf);
        free(want.s);
        free(got.s);
    }
    /* a text reader, a version-2 one: refused */
    static const char text[] = "a 1 8\n";
    trace_reader_t *r;
    CHECK(trace_open_mem(&r, "t", text, sizeof text - 1, 0, err, sizeof err) == 0);
    CHECK(trace_mem_follow(r, text, sizeof text - 1) == TRACE_EUSAGE);
    trace_close(r);
}

int main(void)
{
    test_spec_bytes();
    test_bundled();
    test_random();
    test_compact();
    test_cut_everywhere();
    test_corrupt();
    test_meta_markers_threads();
    test_meta_pad();
    test_batch();
    test_stream();
    test_follow();
    return check_done();
}
