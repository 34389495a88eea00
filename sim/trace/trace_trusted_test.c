/* trace_trusted_test.c: trace_write_trusted, the writer path of producers
 * that check their events themselves (the script engine), writes the very
 * bytes trace_write does when given the slots a reader assigns, in every
 * format, including the header's slot hints; and a writer takes one path
 * or the other, never both.  TRACE_W_RAW leaves the binary streams raw
 * (version 2). */
#include "alloc/check.h"
#include "sim/trace/trace.h"
#include "sim/trace/trace_synth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A writer (FLAGS) into a temporary file *FP, which can seek: the binary
 * header gets its counts. */
static trace_writer_t *tt_open(FILE **fp, trace_format_t fmt, unsigned flags)
{
    char err[512];
    trace_writer_t *w = NULL;
    *fp = tmpfile();
    CHECK(*fp != NULL);
    int rc = trace_writer_open_stream(&w, *fp, "tmp", fmt, NULL, flags, err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    return w;
}

/* Closes W and returns what it wrote into FP (malloc'ed, length in *LEN). */
static char *tt_close(trace_writer_t *w, FILE *fp, size_t *len)
{
    CHECK(trace_writer_close(w) == 0);
    long n = ftell(fp);
    char *buf = malloc(n > 0 ? (size_t)n + 1 : 1);
    CHECK(buf && n >= 0 && fseek(fp, 0, SEEK_SET) == 0);
    *len = n > 0 ? fread(buf, 1, (size_t)n, fp) : 0;
    buf[*len] = '\0';
    fclose(fp);
    return buf;
}

/* Copies the trace in DATA through a trusted writer (events in batches of
 * BATCH, markers where they were) and returns its bytes in *OUT. */
static size_t tt_copy_trusted(const char *data, size_t n, trace_format_t fmt, size_t batch,
                              char **out)
{
    char err[512];
    trace_reader_t *r = NULL;
    CHECKF(trace_open_mem(&r, "synth", data, n, 0, err, sizeof err) == 0, "%s", err);
    FILE *fp;
    size_t len;
    trace_writer_t *w = tt_open(&fp, fmt, TRACE_W_TRUSTED);
    trace_event_t *ev = malloc(batch * sizeof *ev);
    CHECK(ev != NULL);
    size_t nev = 0, markers_done = 0;
    for (;;) {
        trace_event_t e;
        int got = trace_next(r, &e);
        CHECKF(got >= 0, "%s", trace_error(r));
        const trace_marker_t *m;
        size_t nm = trace_markers(r, &m);
        if (nm > markers_done || got <= 0 || nev == batch) {
            CHECK(trace_write_trusted(w, ev, nev) == 0);
            nev = 0;
        }
        for (; markers_done < nm; markers_done++)
            CHECK(trace_write_marker(w, m[markers_done].key, m[markers_done].value) == 0);
        if (got <= 0) break;
        /* what a trusted producer hands over: only the op's fields */
        trace_event_t t = {.op = e.op, .domain = e.domain, .thread = e.thread};
        if (e.op <= TRACE_FREE || e.op == TRACE_ARENA_OWN) t.id = e.id, t.slot = e.slot;
        if (e.op >= TRACE_ARENA_NEW) t.arena = e.arena, t.aslot = e.aslot;
        if (e.op == TRACE_ALLOC || e.op == TRACE_CALLOC || e.op == TRACE_REALLOC ||
            e.op == TRACE_ARENA_MALLOC)
            t.size = e.size;
        if (e.op == TRACE_CALLOC) t.nmemb = e.nmemb;
        if (e.op == TRACE_ARENA_FREE || e.op == TRACE_ARENA_NEW || e.op == TRACE_ARENA_MALLOC)
            t.domain = TRACE_MEM;
        ev[nev++] = t;
    }
    trace_close(r);
    free(ev);
    *out = tt_close(w, fp, &len);
    return len;
}

/* The trace REF (REFLEN bytes) comes out of a trusted writer of format
 * FMT the same, in batches of each of BATCHES (N of them). */
static void tt_same_copy(const char *ref, size_t reflen, trace_format_t fmt, const size_t *batches,
                         size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        char *got = NULL;
        size_t len = tt_copy_trusted(ref, reflen, fmt, batches[i], &got);
        CHECKF(len == reflen && !memcmp(got, ref, len),
               "%s, format %d, batch %zu: %zu bytes, want %zu", what, (int)fmt, batches[i], len,
               reflen);
        free(got);
    }
}

static void tt_same_bytes(tsynth_style_t style, uint64_t seed)
{
    for (int fmt = 0; fmt < TRACE_NFORMATS; fmt++) {
        FILE *fp;
        char *got = NULL;
        size_t reflen;
        trace_writer_t *w = tt_open(&fp, (trace_format_t)fmt, 0);
        CHECK(tsynth_write(w, seed, 20000, style) == 0);
        char *ref = tt_close(w, fp, &reflen);
        size_t batches[] = {1, 7, 64};
        for (size_t i = 0; i < sizeof batches / sizeof batches[0]; i++) {
            size_t len = tt_copy_trusted(ref, reflen, (trace_format_t)fmt, batches[i], &got);
            CHECKF(len == reflen && !memcmp(got, ref, len),
                   "format %d, style %d, seed %llu, batch %zu: %zu bytes, want %zu", fmt,
                   (int)style, (unsigned long long)seed, batches[i], len, reflen);
            free(got);
        }
        free(ref);
    }
}

/* One path per writer: the other is a usage error that writes nothing. */
static void tt_one_path(void)
{
    FILE *fp;
    size_t len;
    trace_event_t a = {.op = TRACE_ALLOC, .domain = TRACE_MEM, .id = 0, .size = 8};
    trace_writer_t *w = tt_open(&fp, TRACE_FMT_TEXT, TRACE_W_TRUSTED);
    CHECK(trace_write(w, &a) == TRACE_EUSAGE);
    CHECK(trace_write_trusted(w, &a, 1) == 0);
    CHECK(trace_writer_count(w) == 1);
    char *buf = tt_close(w, fp, &len);
    CHECKF(!strcmp(buf, "a 0 8\n"), "%s", buf);
    free(buf);

    w = tt_open(&fp, TRACE_FMT_TEXT, 0);
    CHECK(trace_write_trusted(w, &a, 1) == TRACE_EUSAGE);
    CHECK(trace_writer_count(w) == 0);
    buf = tt_close(w, fp, &len);
    CHECK(len == 0);
    free(buf);

    char err[512];
    CHECK(trace_writer_open_stream(&w, stdout, "x", TRACE_FMT_TEXT, NULL, 4, err, sizeof err) ==
          TRACE_EUSAGE);
}

/* TRACE_W_RAW (a caller that compresses the whole output): the binary
 * writer stores its streams raw, as version 2 (else LZ4, version 3), which
 * read back as the same events. */
static void tt_raw_streams(void)
{
    FILE *fp;
    size_t len[2];
    char *buf[2];
    for (int raw = 0; raw < 2; raw++) {
        trace_writer_t *w = tt_open(&fp, TRACE_FMT_BIN, raw ? TRACE_W_RAW : 0);
        for (uint32_t i = 0; i < 20000; i++) {
            trace_event_t a = {.op = TRACE_ALLOC, .domain = TRACE_MEM, .id = i, .size = 16 + i % 4};
            CHECK(trace_write(w, &a) == 0);
        }
        buf[raw] = tt_close(w, fp, &len[raw]);
    }
    CHECKF(len[1] > 2 * len[0], "raw %zu bytes, compressed %zu", len[1], len[0]);
    CHECK(len[0] > 8 && len[1] > 8 && buf[0][8] == 3 && buf[1][8] == 2);
    trace_reader_t *r[2];
    trace_event_t ev[2];
    char err[512];
    for (int k = 0; k < 2; k++)
        CHECKF(trace_open_mem(&r[k], "raw", buf[k], len[k], 0, err, sizeof err) == 0, "%s", err);
    int got;
    while ((got = trace_next(r[0], &ev[0])) == 1) {
        CHECK(trace_next(r[1], &ev[1]) == 1);
        CHECK(ev[0].id == ev[1].id && ev[0].size == ev[1].size);
    }
    CHECK(got == 0 && trace_next(r[1], &ev[1]) == 0);
    for (int k = 0; k < 2; k++) {
        trace_close(r[k]);
        free(buf[k]);
    }
}

/* Batches that cross the binary format's block ends: many blocks, thread
 * switches (two records an event), and markers large enough to end blocks
 * on the extras' size, between long batches. */
static void tt_block_edges(void)
{
    const size_t batches[] = {1, 256, 4099, 70000};
    FILE *fp;
    size_t reflen;
    trace_writer_t *w = tt_open(&fp, TRACE_FMT_BIN, 0);
    CHECK(tsynth_write_threads(w, 5, 300000, 3, 50) == 0);
    char *ref = tt_close(w, fp, &reflen);
    tt_same_copy(ref, reflen, TRACE_FMT_BIN, batches, 4, "threads");
    free(ref);

    /* Markers of 60007 bytes of extras (tag aside: key "big", value of
     * 60000), 17 of them and one of 28452 leave the extras 5 bytes short
     * of the 1 MiB at which a block ends: the next event ends it. */
    static char big[60001];
    memset(big, 'v', sizeof big - 1);
    w = tt_open(&fp, TRACE_FMT_BIN, 0);
    uint32_t id = 0;
    for (int round = 0; round < 3; round++) {
        for (int m = 0; m < 18; m++) {
            const char *v = m < 17 ? big : big + 60000 - 28445;
            CHECK(trace_write_marker(w, "big", v) == 0);
            for (int i = 0; i < 1000; i++, id++) {
                trace_event_t a = {
                    .op = TRACE_ALLOC, .domain = TRACE_MEM, .id = id, .size = 8 + id % 64};
                trace_event_t f = {.op = TRACE_FREE, .domain = TRACE_MEM, .id = id};
                CHECK(trace_write(w, &a) == 0);
                if (id % 3) CHECK(trace_write(w, &f) == 0);
            }
        }
    }
    ref = tt_close(w, fp, &reflen);
    tt_same_copy(ref, reflen, TRACE_FMT_BIN, batches, 4, "markers");
    free(ref);
}

int main(void)
{
    for (uint64_t seed = 1; seed <= 3; seed++) {
        tt_same_bytes(TSYNTH_REALISTIC, seed);
        tt_same_bytes(TSYNTH_RANDOM, seed);
    }
    tt_one_path();
    tt_raw_streams();
    tt_block_edges();
    return check_done();
}
