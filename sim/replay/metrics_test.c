/* metrics_test.c: J&W fragmentation, sampling plan and summaries on
 * hand-made inputs with answers worked out by hand. */
#include "sim/replay/metrics.h"
#include "alloc/check.h"

#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

static int mtest_near(double a, double b)
{
    return fabs(a - b) < 1e-12;
}

/* Four samples (live, fp): (100, 150) (200, 250) (0, 250) (50, 300).
 *   jw1 = mean(1.5, 1.25, 6.0) - 1 = 1.916666... (live 0 is left out)
 *   jw2: live peaks at 200 with fp 250 -> 0.25
 *   jw3: fp peaks at 300 with live 50 -> 5.0
 *   jw4: 300 / 200 - 1 = 0.5;  util = 200 / 300 */
static void mtest_jw(void)
{
    metrics_acc_t a;
    metrics_acc_init(&a);
    metrics_acc_sample(&a, 100, 150);
    metrics_acc_sample(&a, 200, 250);
    metrics_acc_sample(&a, 0, 250);
    metrics_acc_sample(&a, 50, 300);
    metrics_frag_t f;
    metrics_acc_result(&a, &f);
    CHECKF(mtest_near(f.jw1, (1.5 + 1.25 + 6.0) / 3 - 1), "jw1 %f", f.jw1);
    CHECKF(mtest_near(f.jw2, 0.25), "jw2 %f", f.jw2);
    CHECKF(mtest_near(f.jw3, 5.0), "jw3 %f", f.jw3);
    CHECKF(mtest_near(f.jw4, 0.5), "jw4 %f", f.jw4);
    CHECKF(mtest_near(f.util, 200.0 / 300.0), "util %f", f.util);

    /* A point between samples moves the peaks but not jw1; an exact peak
     * from the allocator raises peak fp only. */
    metrics_acc_point(&a, 400, 420);
    metrics_acc_result(&a, &f);
    CHECK(mtest_near(f.jw1, (1.5 + 1.25 + 6.0) / 3 - 1));
    CHECKF(mtest_near(f.jw2, 0.05), "jw2 %f", f.jw2);
    CHECKF(mtest_near(f.jw3, 420.0 / 400.0 - 1), "jw3 %f", f.jw3);
    metrics_acc_exact_peak(&a, 500);
    metrics_acc_result(&a, &f);
    CHECK(mtest_near(f.jw4, 0.25) && mtest_near(f.util, 0.8));

    /* Ties keep the first moment. */
    metrics_acc_init(&a);
    metrics_acc_sample(&a, 10, 100);
    metrics_acc_sample(&a, 50, 100);
    metrics_acc_sample(&a, 50, 200);
    metrics_acc_sample(&a, 20, 200);
    metrics_acc_result(&a, &f);
    CHECK(mtest_near(f.jw2, 1.0) && mtest_near(f.jw3, 3.0));

    /* Nothing live: figures are NaN, never a division by zero. */
    metrics_acc_init(&a);
    metrics_acc_sample(&a, 0, 64);
    metrics_acc_result(&a, &f);
    CHECK(isnan(f.jw1) && isnan(f.jw2) && isnan(f.jw3) && isnan(f.jw4) && f.util == 0.0);
}

static void mtest_plan(void)
{
    /* 10 events, 4 samples: ceil(10k/4) = 3, 5, 8, 10; plus the peak at 4. */
    metrics_plan_t p;
    metrics_plan_init(&p, 10, 4, 4);
    CHECK(metrics_plan_count(&p) == 5);
    uint64_t want[] = {3, 4, 5, 8, 10}, at = 0;
    for (size_t i = 0; i < 5; i++) {
        at = metrics_plan_next(&p, at);
        CHECKF(at == want[i], "%zu: %llu", i, (unsigned long long)at);
    }
    CHECK(metrics_plan_next(&p, at) == UINT64_MAX);

    /* The peak on an even position is not sampled twice; fewer events than
     * samples gives one per event. */
    metrics_plan_init(&p, 10, 4, 5);
    CHECK(metrics_plan_count(&p) == 4);
    metrics_plan_init(&p, 3, 1000, 0);
    CHECK(metrics_plan_count(&p) == 3);
    metrics_plan_init(&p, 0, 1000, 0);
    CHECK(metrics_plan_count(&p) == 0);

    /* Huge traces: no overflow in k * N. */
    metrics_plan_init(&p, UINT64_MAX - 1, 1000, 0);
    CHECK(metrics_plan_count(&p) == 1000);
    CHECK(metrics_plan_next(&p, 0) == (UINT64_MAX - 1) / 1000 + 1);
}

static void mtest_series(void)
{
    metrics_series_t ser;
    for (int pretouch = 0; pretouch < 2; pretouch++) {
        /* without pretouch, a row's extras are absent once it is added */
        CHECK(metrics_series_init(&ser, 2, pretouch) == 0);
        metrics_sample_t s0 = {.event = 1};
        CHECK(metrics_series_add(&ser, &s0) == 0 && ser.extra[0] == METRICS_ABSENT &&
              ser.extra[METRICS_MAX_EXTRA - 1] == METRICS_ABSENT);
        metrics_series_free(&ser);
    }
    CHECK(metrics_series_init(&ser, 2, 1) == 0);
    metrics_sample_t s = {.event = 1, .live_bytes = 2};
    CHECK(metrics_series_add(&ser, &s) == 0);
    int j = metrics_series_extra(&ser, "pools");
    CHECK(j == 0 && metrics_series_extra(&ser, "pools") == 0);
    CHECK(ser.extra[0] == METRICS_ABSENT);
    CHECK(metrics_series_add(&ser, &s) == 1);
    CHECK(metrics_series_add(&ser, &s) == -1); /* full: never grows */
    CHECK(strcmp(metrics_sample_column[3], "resident_bytes") == 0);
    CHECK(metrics_sample_offset[3] == offsetof(metrics_sample_t, resident));
    CHECK(strcmp(metrics_sample_column[4], "held_bytes") == 0);
    metrics_series_free(&ser);
}

static void mtest_rss(void)
{
    int fd = open("/proc/self/statm", O_RDONLY);
    uint64_t before = 0, after = 0;
    CHECK(fd >= 0 && metrics_anon_rss(fd, &before) == 0);
    /* Touching 8 MiB of fresh anonymous memory shows in anon RSS. */
    static char big[8 << 20];
    memset(big, 1, sizeof big);
    CHECK(metrics_anon_rss(fd, &after) == 0);
    CHECKF(after >= before + (7 << 20), "%llu -> %llu", (unsigned long long)before,
           (unsigned long long)after);
    close(fd);
}

int main(void)
{
    mtest_jw();
    mtest_plan();
    mtest_series();
    mtest_rss();
    return check_done();
}
