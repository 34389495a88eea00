/* tstats_test.c: trace statistics on traces whose figures are worked out
 * by hand. */
#include "sim/trace/tstats.h"

#include <stdlib.h>
#include <string.h>

#include "alloc/check.h"

static void run(tstats_t *t, const char *text)
{
    trace_reader_t *r;
    trace_event_t ev;
    char err[256];
    tstats_init(t);
    CHECKF(trace_open_mem(&r, "t.txt", text, strlen(text), 0, err, sizeof err) == 0, "%s", err);
    if (!r) return;
    int rc;
    while ((rc = trace_next(r, &ev)) == 1) {
        const uint32_t *owned;
        size_t n = trace_owned(r, ev.aslot, &owned);
        CHECK(tstats_add(t, &ev, owned, n) == 0);
    }
    CHECKF(rc == 0, "%s", trace_error(r));
    trace_close(r);
}

static void test_spec_example(void)
{
    tstats_t t;
    run(&t, "# spec\na 0 24 obj\na 1 100\nr 1 300\nf 0 obj\nn 7\nm 7 48\nm 7 9000\no 7 1\nx 7\n");
    CHECK(t.events == 9);
    CHECK(t.by_op[TRACE_ALLOC] == 2 && t.by_op[TRACE_REALLOC] == 1 && t.by_op[TRACE_FREE] == 1);
    CHECK(t.by_op[TRACE_ARENA_NEW] == 1 && t.by_op[TRACE_ARENA_MALLOC] == 2);
    CHECK(t.by_op[TRACE_ARENA_OWN] == 1 && t.by_op[TRACE_ARENA_FREE] == 1);
    CHECK(t.by_domain[TRACE_OBJ] == 2 && t.by_domain[TRACE_MEM] == 2 &&
          t.by_domain[TRACE_RAW] == 0);
    /* 300 (block 1) + 48 + 9000 (arena) after `m 7 9000`, event 6, line 8 */
    CHECK(t.peak_bytes == 9348 && t.peak_bytes_at == 6 && t.peak_bytes_where == 8);
    CHECK(t.peak_blocks == 3 && t.peak_blocks_at == 6);
    CHECK(t.live_bytes == 0 && t.live_blocks == 0 && t.still_live == 0);
    CHECK(t.requested == 24 + 100 + 300 + 48 + 9000);
    CHECK(t.size_hist[tstats_bin(24)] == 1 && tstats_bin(24) == 5);
    CHECK(t.size_hist[7] == 1 && t.size_hist[9] == 1 && t.size_hist[6] == 1);
    CHECK(t.size_hist[14] == 1);
    /* block 0 lived 3 events (bin 2: 2..3), block 1 7 events (bin 3: 4..7) */
    CHECK(t.life_hist[2] == 1 && t.life_hist[3] == 1);
    CHECK(t.re_grow == 1 && t.bytes_grown == 200 && t.re_shrink == 0 && t.re_same == 0);
    tstats_free(&t);
}

static void test_still_live(void)
{
    tstats_t t;
    run(&t, "a 1 7\na 2 5\nr 2 5\nr 2 1\na 3 0\nf 1\n");
    CHECK(t.peak_bytes == 12 && t.peak_bytes_at == 1);
    CHECK(t.live_bytes == 1 && t.live_blocks == 2 && t.still_live == 2);
    CHECK(t.size_hist[0] == 1);
    CHECK(t.re_same == 1 && t.re_shrink == 1 && t.bytes_shrunk == 4);
    CHECK(t.peak_blocks == 3 && t.peak_blocks_at == 4);
    CHECK(t.life_hist[tstats_bin(5)] == 1);
    tstats_free(&t);
    CHECK(tstats_bin(0) == 0 && tstats_bin(1) == 1 && tstats_bin(2) == 2 && tstats_bin(3) == 2);
    CHECK(tstats_bin(UINT64_MAX) == 64 && tstats_bin_min(64) == (uint64_t)1 << 63);
    CHECK(tstats_bin_min(0) == 0 && tstats_bin_min(1) == 1 && tstats_bin_min(5) == 16);
}

/* Live bytes past 2^64, by a calloc product or by a sum: an error (no
 * process can hold that), never a figure saturated at 2^64 - 1. */
static void test_past_2_64(void)
{
    const char *cases[] = {
        "c 1 281474976710656 281474976710656\n",
        "a 1 281474976710656\n", /* then 65535 more of 2^48: the sum passes */
    };
    for (int k = 0; k < 2; k++) {
        tstats_t t;
        trace_reader_t *r;
        trace_event_t ev;
        char err[256];
        tstats_init(&t);
        CHECK(trace_open_mem(&r, "t.txt", cases[k], strlen(cases[k]), 0, err, sizeof err) == 0);
        CHECK(trace_next(r, &ev) == 1);
        int rc = tstats_add(&t, &ev, NULL, 0);
        for (uint32_t i = 2; k == 1 && rc == 0 && i <= 65537; i++) {
            trace_event_t a = ev;
            a.slot = i - 1; /* a fresh slot each, as a reader gives them */
            a.id = i;
            rc = tstats_add(&t, &a, NULL, 0);
        }
        CHECKF(rc == TRACE_ESEM, "case %d: %d", k, rc);
        if (k == 1) CHECK(t.events == 65535); /* the 65536th 2^48 passes 2^64 */
        trace_close(r);
        tstats_free(&t);
    }
}

static void test_bad_slots(void)
{
    tstats_t t;
    tstats_init(&t);
    trace_event_t ev = {.op = TRACE_FREE, .slot = 5};
    CHECK(tstats_add(&t, &ev, NULL, 0) == TRACE_EUSAGE);
    ev = (trace_event_t){.op = TRACE_ARENA_FREE, .aslot = 0};
    CHECK(tstats_add(&t, &ev, NULL, 0) == TRACE_EUSAGE);
    CHECK(t.events == 0);
    tstats_free(&t);
}

int main(void)
{
    test_spec_example();
    test_still_live();
    test_past_2_64();
    test_bad_slots();
    return check_done();
}
