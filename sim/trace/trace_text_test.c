/* trace_text_test.c: the text reader and writer against the spec: every
 * error with its message and line, the spec's example, .rep files,
 * metadata/markers/threads, streaming past the buffer, canonical output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/check.h"
#include "sim/trace/internal/trace_testutil.h"
#include "sim/trace/trace.h"

/* Log of TEXT read as file "t.txt". */
static char *log_of(const char *text)
{
    return tu_log_mem("t.txt", text, strlen(text), 0);
}

/* The log of TEXT must be WANT. */
static void expect(const char *text, const char *want)
{
    char *got = log_of(text);
    CHECKF(tu_same("log", got, want), "input:\n%s", text);
    free(got);
}

/* The log of TEXT must hold NEEDLE. */
static void expect_has(const char *text, const char *needle)
{
    char *got = log_of(text);
    CHECKF(strstr(got, needle) != NULL, "no '%s' in:\n%s", needle, got);
    free(got);
}

static void test_spec_example(void)
{
    char *text = tu_read_file("traces/spec-example.txt", NULL);
    CHECK(text != NULL);
    if (!text) return;
    expect(text, "a id=0 arena=0 size=24 nmemb=0 dom=obj @2 s=0 as=0 t=0\n"
                 "a id=1 arena=0 size=100 nmemb=0 dom=mem @3 s=1 as=0 t=0\n"
                 "r id=1 arena=0 size=300 nmemb=0 dom=mem @4 s=1 as=0 t=0\n"
                 "f id=0 arena=0 size=0 nmemb=0 dom=obj @5 s=0 as=0 t=0\n"
                 "n id=0 arena=7 size=0 nmemb=0 dom=mem @6 s=0 as=0 t=0\n"
                 "m id=0 arena=7 size=48 nmemb=0 dom=mem @7 s=0 as=0 t=0\n"
                 "m id=0 arena=7 size=9000 nmemb=0 dom=mem @8 s=0 as=0 t=0\n"
                 "o id=1 arena=7 size=0 nmemb=0 dom=mem @9 s=1 as=0 t=0\n"
                 "x id=0 arena=7 size=0 nmemb=0 dom=mem @10 s=0 as=0 t=0 owned=1\n");
    free(text);
}

static void test_syntax_errors(void)
{
    /* each bad line is reported with its line number and skipped; the
     * good line after it still comes through */
    static const struct {
        const char *line, *msg;
    } cases[] = {
        {"z 1 2", "t.txt:1: unknown op 'z' (expected one of a c r f n m o x)"},
        {"alloc 1 2", "t.txt:1: unknown op 'alloc'"},
        {"a", "t.txt:1: missing ID (expected 'a ID SIZE [DOMAIN]')"},
        {"a 1", "t.txt:1: missing SIZE (expected 'a ID SIZE [DOMAIN]')"},
        {"c 1 2", "t.txt:1: missing SIZE (expected 'c ID NMEMB SIZE [DOMAIN]')"},
        {"o 1", "t.txt:1: missing ID (expected 'o AID ID')"},
        {"a x1 2", "t.txt:1: bad ID 'x1' (expected a decimal number; 'a ID SIZE [DOMAIN]')"},
        {"a -1 2", "t.txt:1: bad ID '-1'"},
        {"a 1 +2", "t.txt:1: bad SIZE '+2'"},
        {"a 4294967296 2", "t.txt:1: ID 4294967296 is out of range (max 4294967295)"},
        {"a 1 281474976710657",
         "t.txt:1: SIZE 281474976710657 is out of range (max 281474976710656)"},
        {"a 1 99999999999999999999999999",
         "t.txt:1: SIZE 99999999999999999999999999 is out of range"},
        {"c 1 281474976710657 1", "t.txt:1: NMEMB 281474976710657 is out of range"},
        {"n 4294967296", "t.txt:1: AID 4294967296 is out of range"},
        {"a 1 2 heap", "t.txt:1: bad domain 'heap' (expected raw, mem or obj)"},
        {"a 1 2 MEM", "t.txt:1: bad domain 'MEM'"},
        {"a 1 2 obj obj", "t.txt:1: extra field 'obj' (expected 'a ID SIZE [DOMAIN]')"},
        {"n 1 obj", "t.txt:1: extra field 'obj' (expected 'n AID')"},
        {"m 1 2 3", "t.txt:1: extra field '3' (expected 'm AID SIZE')"},
        {"f 1 2", "t.txt:1: bad domain '2'"},
        {"a\x01 1 2", "t.txt:1: unknown op 'a?'"},
        {"a 1 2\x00", "t.txt:1: bad SIZE '2?'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        size_t n = strlen(cases[i].line);
        if (i == sizeof cases / sizeof cases[0] - 1) n = 6; /* with its NUL byte */
        memcpy(text, cases[i].line, n);
        memcpy(text + n, "\na 5 5\n", 8);
        char *got = tu_log_mem("t.txt", text, n + 7, 0);
        CHECKF(strncmp(got, "ERR-1 ", 6) == 0 && strstr(got, cases[i].msg) != NULL,
               "case %zu: want '%s' in:\n%s", i, cases[i].msg, got);
        CHECKF(strstr(got, "\na id=5 arena=0 size=5 nmemb=0 dom=mem @2 s=0") != NULL,
               "case %zu: the next line is lost:\n%s", i, got);
        free(got);
    }
    /* limits are inclusive */
    expect("a 4294967295 281474976710656\nc 0 281474976710656 0 raw\nn 4294967295\n",
           "a id=4294967295 arena=0 size=281474976710656 nmemb=0 dom=mem @1 s=0 as=0 t=0\n"
           "c id=0 arena=0 size=0 nmemb=281474976710656 dom=raw @2 s=1 as=0 t=0\n"
           "n id=0 arena=4294967295 size=0 nmemb=0 dom=mem @3 s=0 as=0 t=0\n");
}

static void test_semantic_errors(void)
{
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"f 1\n", "t.txt:1: f of id 1, which is not live"},
        {"r 1 10\n", "t.txt:1: r of id 1, which is not live"},
        {"a 1 1\na 1 2\n", "t.txt:2: a of id 1, which is already live"},
        {"a 1 1\nc 1 2 3\n", "t.txt:2: c of id 1, which is already live"},
        {"a 1 1\nf 1\nf 1\n", "t.txt:3: f of id 1, which is not live"},
        {"m 3 10\n", "t.txt:1: m on arena 3, which does not exist"},
        {"a 1 1\no 3 1\n", "t.txt:2: o on arena 3, which does not exist"},
        {"x 3\n", "t.txt:1: x on arena 3, which does not exist"},
        {"n 3\nx 3\nx 3\n", "t.txt:3: x on arena 3, which does not exist"},
        {"n 3\nn 3\n", "t.txt:2: n of arena 3, which already exists"},
        {"n 3\no 3 9\n", "t.txt:2: o of id 9, which is not live"},
        {"a 1 1 obj\nf 1\n",
         "t.txt:2: API violation: f of id 1 in domain mem, allocated in domain obj"},
        {"a 1 1 raw\nr 1 5 obj\n",
         "t.txt:2: API violation: r of id 1 in domain obj, allocated in domain raw"},
        {"n 3\na 1 1\no 3 1\nx 3\nf 1\n", "t.txt:5: f of id 1, which is not live"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = log_of(cases[i].text);
        char want[256];
        snprintf(want, sizeof want, "ERR-2 %s\n", cases[i].msg);
        CHECKF(strstr(got, want) != NULL, "case %zu: want '%s' in:\n%s", i, cases[i].msg, got);
        free(got);
    }
    /* a rejected event leaves no trace: the slot it would have taken is
     * still the next one, and the id stays as it was */
    expect("a 1 8 obj\nf 1 raw\na 1 9\nf 2\na 2 7\nf 1 obj\n",
           "a id=1 arena=0 size=8 nmemb=0 dom=obj @1 s=0 as=0 t=0\n"
           "ERR-2 t.txt:2: API violation: f of id 1 in domain raw, allocated in domain obj\n"
           "ERR-2 t.txt:3: a of id 1, which is already live\n"
           "ERR-2 t.txt:4: f of id 2, which is not live\n"
           "a id=2 arena=0 size=7 nmemb=0 dom=mem @5 s=1 as=0 t=0\n"
           "f id=1 arena=0 size=0 nmemb=0 dom=obj @6 s=0 as=0 t=0\n");
    /* TRACE_R_CROSS_DOMAIN: API violations come through, in the domain
     * they name, for a replay under the debug hooks; the block is freed */
    const char *cross = "a 1 8 obj\nr 1 9 mem\nf 1 raw\nf 1 obj\n";
    char *got = tu_log_mem("t.txt", cross, strlen(cross), TRACE_R_CROSS_DOMAIN);
    CHECKF(tu_same("cross", got,
                   "a id=1 arena=0 size=8 nmemb=0 dom=obj @1 s=0 as=0 t=0\n"
                   "r id=1 arena=0 size=9 nmemb=0 dom=mem @2 s=0 as=0 t=0\n"
                   "f id=1 arena=0 size=0 nmemb=0 dom=raw @3 s=0 as=0 t=0\n"
                   "ERR-2 t.txt:4: f of id 1, which is not live\n"),
           "%s", cross);
    free(got);
}

static void test_slots_and_ownership(void)
{
    /* LIFO recycling; `x` releases owned blocks in the order of their
     * latest `o` (7 was re-owned last), and the last released is reused
     * first; `f` of an owned block takes it off the list */
    expect("a 5 1\na 6 1\na 7 1\na 8 1\nn 1\nn 2\no 1 7\no 1 5\no 2 8\nf 8\no 1 7\nx 1\na 9 1\n"
           "a 10 1\nx 2\nf 6\na 11 1\n",
           "a id=5 arena=0 size=1 nmemb=0 dom=mem @1 s=0 as=0 t=0\n"
           "a id=6 arena=0 size=1 nmemb=0 dom=mem @2 s=1 as=0 t=0\n"
           "a id=7 arena=0 size=1 nmemb=0 dom=mem @3 s=2 as=0 t=0\n"
           "a id=8 arena=0 size=1 nmemb=0 dom=mem @4 s=3 as=0 t=0\n"
           "n id=0 arena=1 size=0 nmemb=0 dom=mem @5 s=0 as=0 t=0\n"
           "n id=0 arena=2 size=0 nmemb=0 dom=mem @6 s=0 as=1 t=0\n"
           "o id=7 arena=1 size=0 nmemb=0 dom=mem @7 s=2 as=0 t=0\n"
           "o id=5 arena=1 size=0 nmemb=0 dom=mem @8 s=0 as=0 t=0\n"
           "o id=8 arena=2 size=0 nmemb=0 dom=mem @9 s=3 as=1 t=0\n"
           "f id=8 arena=0 size=0 nmemb=0 dom=mem @10 s=3 as=0 t=0\n"
           "o id=7 arena=1 size=0 nmemb=0 dom=mem @11 s=2 as=0 t=0\n"
           "x id=0 arena=1 size=0 nmemb=0 dom=mem @12 s=0 as=0 t=0 owned=0,2\n"
           "a id=9 arena=0 size=1 nmemb=0 dom=mem @13 s=2 as=0 t=0\n"
           "a id=10 arena=0 size=1 nmemb=0 dom=mem @14 s=0 as=0 t=0\n"
           "x id=0 arena=2 size=0 nmemb=0 dom=mem @15 s=0 as=1 t=0 owned=\n"
           "f id=6 arena=0 size=0 nmemb=0 dom=mem @16 s=1 as=0 t=0\n"
           "a id=11 arena=0 size=1 nmemb=0 dom=mem @17 s=1 as=0 t=0\n");
}

static void test_rep(void)
{
    const char *rep = "20000\n3\n5\n1\na 0 10\na 1 20\nr 0 30\nf 1\nf 0\n";
    char *got = log_of(rep);
    CHECK(strstr(got, "a id=0 arena=0 size=10 nmemb=0 dom=mem @5 s=0") == got);
    CHECK(strstr(got, "\nf id=0 arena=0 size=0 nmemb=0 dom=mem @9 s=0") != NULL);
    CHECK(strstr(got, "ERR") == NULL);
    CHECK(strstr(got, "\nrep\n") != NULL);
    free(got);
    /* comments and blank lines may sit between the header lines */
    expect_has("# lab\n\n20000\n  3\n# c\n5\t\n1\n\na 0 10\n", "rep\n");
    /* fewer than four lone numbers are errors, in line order */
    expect("1\n2\na 0 5\n", "ERR-1 t.txt:1: lone number outside a malloc-lab .rep header (which "
                            "is 4 such lines before any event)\n"
                            "ERR-1 t.txt:2: lone number outside a malloc-lab .rep header (which "
                            "is 4 such lines before any event)\n"
                            "a id=0 arena=0 size=5 nmemb=0 dom=mem @3 s=0 as=0 t=0\n");
    expect_has("7\n", "ERR-1 t.txt:1: lone number");
    /* a fifth lone number is not a header line */
    expect_has("1\n2\n3\n4\n5\n", "ERR-1 t.txt:5: unknown op '5'");
    /* the real malloc-lab files bundled */
    for (int i = 0; i < 2; i++) {
        const char *path = i ? "traces/realloc-lab.rep" : "traces/binary-lab.rep";
        trace_reader_t *r;
        char err[256];
        CHECKF(trace_open(&r, path, err, sizeof err) == 0, "%s", err);
        if (!r) continue;
        tu_buf_t b = {0};
        tu_log_reader(&b, r);
        CHECKF(b.s && strstr(b.s, "ERR") == NULL, "%s", b.s);
        CHECK(trace_is_rep(r));
        trace_close(r);
        free(b.s);
    }
}

static void test_comments_meta_markers(void)
{
    expect("#@ producer arenalab test\n#@ created  2024-01-01T00:00:00Z \n# plain\n"
           "#@ empty\n#@\n#@nokey x\n#@ marker phase start\n\t  \n   a 1 2\t obj \r\n"
           "#@ thread 42\n#@ late meta\nf 1 obj\n#@ marker phase  end of it\n#@ thread 7x\n"
           "#@ marker\na 2 3",
           "a id=1 arena=0 size=2 nmemb=0 dom=obj @9 s=0 as=0 t=0\n"
           "f id=1 arena=0 size=0 nmemb=0 dom=obj @12 s=0 as=0 t=42\n"
           "a id=2 arena=0 size=3 nmemb=0 dom=mem @16 s=0 as=0 t=42\n"
           "marker @0 phase=start\n"
           "marker @2 phase=end of it\n"
           "meta producer=arenalab test\n"
           "meta created=2024-01-01T00:00:00Z\n"
           "meta empty=\n");
    expect("", "");
    expect("\n\n# only comments\n", "");
}

static void test_long_lines_and_streaming(void)
{
    char path[512];
    tu_path(path, sizeof path, "long.txt");
    /* a line longer than the reader's buffer, then events that straddle
     * buffer boundaries: 300000 events of ~20 bytes = 6 MB */
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs("a 1 1\n", f);
    for (int i = 0; i < (3 << 20); i++)
        fputs("xy", f);
    fputs("\nf 1\n", f);
    for (unsigned i = 0; i < 300000; i++)
        fprintf(f, "a %u %u\nf %u\n", 4000000000u - i, i % 1000, 4000000000u - i);
    fclose(f);
    trace_reader_t *r;
    char err[256];
    CHECKF(trace_open(&r, path, err, sizeof err) == 0, "%s", err);
    if (!r) return;
    for (int pass = 0; pass < 2; pass++) {
        trace_event_t ev;
        uint64_t n = 0, bad = 0, sum = 0;
        int rc;
        while ((rc = trace_next(r, &ev)) != 0) {
            if (rc < 0) {
                bad++;
                CHECKF(rc == TRACE_ESYNTAX && strstr(trace_error(r), ":2: line too long"), "%s",
                       trace_error(r));
                if (rc != TRACE_ESYNTAX) break;
                continue;
            }
            n++;
            sum += ev.size + ev.slot;
            if (n == 3) CHECK(ev.where == 4 && ev.id == 4000000000u);
        }
        CHECK(n == 2 + 600000 && bad == 1);
        CHECK(sum == 1 + 300 * (999 * 1000 / 2)); /* every slot is 0 */
        CHECK(trace_rewind(r) == 0);
    }
    trace_close(r);
    remove(path);
}

static void test_writer_canonical(void)
{
    char path[512], err[256];
    tu_path(path, sizeof path, "w.txt");
    trace_meta_entry_t ents[] = {{"producer", "test"}, {"note", "a\tb c"}};
    trace_meta_t meta = {2, ents};
    trace_writer_t *w;
    CHECKF(trace_writer_open(&w, path, TRACE_FMT_TEXT, &meta, 0, err, sizeof err) == 0, "%s", err);
    if (!w) return;
    trace_event_t evs[] = {
        {.op = TRACE_ALLOC, .domain = TRACE_OBJ, .id = 4294967295u, .size = TRACE_MAX_SIZE},
        {.op = TRACE_CALLOC, .domain = TRACE_RAW, .id = 0, .nmemb = 3, .size = 8, .thread = 9},
        {.op = TRACE_REALLOC, .domain = TRACE_OBJ, .id = 4294967295u, .size = 0, .thread = 9},
        {.op = TRACE_ARENA_NEW, .domain = TRACE_OBJ, .arena = 12, .size = 77},
        {.op = TRACE_ARENA_MALLOC, .arena = 12, .size = 48, .nmemb = 5},
        {.op = TRACE_ARENA_OWN, .arena = 12, .id = 0},
        {.op = TRACE_FREE, .domain = TRACE_OBJ, .id = 4294967295u, .size = 5},
        {.op = TRACE_ARENA_FREE, .arena = 12},
    };
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++) {
        if (i == 3) CHECK(trace_write_marker(w, "phase", "two words") == 0);
        CHECKF(trace_write(w, &evs[i]) == 0, "%s", trace_writer_error(w));
    }
    /* semantic errors and bad arguments write nothing */
    trace_event_t bad = {.op = TRACE_FREE, .id = 0, .domain = TRACE_RAW};
    CHECK(trace_write(w, &bad) == TRACE_ESEM);
    CHECKF(strstr(trace_writer_error(w), "w.txt") &&
               strstr(trace_writer_error(w), ": event 8: f of id 0, which is not live"),
           "%s", trace_writer_error(w));
    bad = (trace_event_t){.op = TRACE_ALLOC, .id = 1, .size = TRACE_MAX_SIZE + 1};
    CHECK(trace_write(w, &bad) == TRACE_EUSAGE);
    bad = (trace_event_t){.op = 9};
    CHECK(trace_write(w, &bad) == TRACE_EUSAGE);
    CHECK(trace_write_marker(w, "two words", "x") == TRACE_EUSAGE);
    CHECK(trace_write_marker(w, "k", " lead") == TRACE_EUSAGE);
    CHECK(trace_write_marker(w, "k", "new\nline") == TRACE_EUSAGE);
    CHECK(trace_write_marker(w, "k", "") == 0);
    CHECK(trace_writer_count(w) == 8);
    CHECK(trace_writer_close(w) == 0);
    char *got = tu_read_file(path, NULL);
    CHECK(got != NULL);
    if (got)
        CHECK(tu_same("canonical", got,
                      "#@ producer test\n#@ note a\tb c\n"
                      "a 4294967295 281474976710656 obj\n"
                      "#@ thread 9\nc 0 3 8 raw\nr 4294967295 0 obj\n"
                      "#@ marker phase two words\n"
                      "#@ thread 0\nn 12\nm 12 48\no 12 0\nf 4294967295 obj\nx 12\n"
                      "#@ marker k\n"));
    free(got);
    remove(path);

    /* bad metadata is refused before anything is created */
    trace_meta_entry_t badents[] = {{"marker", "x"}};
    trace_meta_t badmeta = {1, badents};
    CHECK(trace_writer_open(&w, path, TRACE_FMT_TEXT, &badmeta, 0, err, sizeof err) ==
          TRACE_EUSAGE);
    CHECK(strstr(err, "bad metadata key 'marker'") != NULL);
    CHECK(access(path, F_OK) != 0);

    /* abort leaves nothing behind */
    CHECK(trace_writer_open(&w, path, TRACE_FMT_TEXT, NULL, 0, err, sizeof err) == 0);
    CHECK(trace_write(w, &evs[0]) == 0);
    trace_writer_abort(w);
    CHECK(access(path, F_OK) != 0);
}

static void test_open_errors(void)
{
    trace_reader_t *r;
    char err[256];
    CHECK(trace_open(&r, "/nonexistent/t.txt", err, sizeof err) == TRACE_EIO);
    CHECK(strstr(err, "/nonexistent/t.txt: cannot open") == err);
    CHECK(trace_open(&r, "sim", err, sizeof err) == TRACE_EIO);
    CHECK(strstr(err, "is a directory") != NULL);
    CHECK(trace_format_for_path("x.atr") == TRACE_FMT_BIN);
    CHECK(trace_format_for_path("x.ATR") == TRACE_FMT_BIN);
    CHECK(trace_format_for_path("x.bin") == TRACE_FMT_BIN);
    CHECK(trace_format_for_path("x.txt") == TRACE_FMT_TEXT);
    CHECK(trace_format_for_path("dir.atr/x") == TRACE_FMT_TEXT);
    CHECK(trace_format_for_path("-") == TRACE_FMT_TEXT);
}

int main(void)
{
    test_spec_example();
    test_syntax_errors();
    test_semantic_errors();
    test_slots_and_ownership();
    test_rep();
    test_comments_meta_markers();
    test_long_lines_and_streaming();
    test_writer_canonical();
    test_open_errors();
    return check_done();
}
