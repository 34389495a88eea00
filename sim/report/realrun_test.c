/* realrun_test.c: the rank agreement a report prints (pairs ordered
 * alike, Kendall's tau-a, ties), ranks, which allocators can serve a real
 * program, and a real run's exit status and failure to start. */
#include "sim/report/realrun.h"
#include "alloc/check.h"

#include <math.h>
#include <string.h>

int main(void)
{
    size_t agree, pairs;
    double tau;
    const double a[] = {1, 2, 3, 4}, same[] = {10, 20, 30, 40}, rev[] = {4, 3, 2, 1};
    rr_agreement(a, same, 4, &agree, &pairs, &tau);
    CHECK(agree == 6 && pairs == 6 && tau == 1.0);
    rr_agreement(a, rev, 4, &agree, &pairs, &tau);
    CHECK(agree == 0 && pairs == 6 && tau == -1.0);
    /* one swapped pair of 6: 5 agree, tau = (5 - 1) / 6 */
    const double swap[] = {2, 1, 3, 4};
    rr_agreement(a, swap, 4, &agree, &pairs, &tau);
    CHECK(agree == 5 && fabs(tau - 4.0 / 6.0) < 1e-12);
    /* a tie agrees with neither order */
    const double tie[] = {1, 1, 3, 4};
    rr_agreement(a, tie, 4, &agree, &pairs, &tau);
    CHECK(agree == 5 && fabs(tau - 5.0 / 6.0) < 1e-12);
    rr_agreement(a, same, 1, &agree, &pairs, &tau);
    CHECK(agree == 0 && pairs == 0 && isnan(tau));

    CHECK(rr_rank(tie, 4, 0) == 1 && rr_rank(tie, 4, 1) == 1 && rr_rank(tie, 4, 2) == 3);

    char why[256];
    const char *p = rr_preload_spec("raw", why, sizeof why);
    CHECKF(p && !*p, "%s", p ? p : why);
    CHECK(rr_preload_spec("pymalloc", why, sizeof why) == NULL);
    CHECKF(strstr(why, "lives inside a replay") != NULL, "%s", why);
    CHECK(rr_preload_spec("malloc:x=1", why, sizeof why) == NULL);

    double fig[RR_NFIG];
    int status = -1;
    char err[256];
    char *exit3[] = {"sh", "-c", "exit 3", NULL};
    CHECKF(rr_run_once(exit3, "/", "", fig, &status, err, sizeof err) == 0, "%s", err);
    CHECK(status == 3 && fig[RR_WALL] >= 0 && fig[RR_MAXRSS] > 0);
    /* the directory is the program's */
    char *inroot[] = {"sh", "-c", "test \"$(pwd)\" = /", NULL};
    CHECKF(rr_run_once(inroot, "/", "", fig, &status, err, sizeof err) == 0, "%s", err);
    CHECK(status == 0);
    char *missing[] = {"no-such-program-realrun-test", NULL};
    CHECK(rr_run_once(missing, NULL, "", fig, &status, err, sizeof err) == -1);
    CHECKF(strstr(err, "cannot be run") != NULL, "%s", err);
    return check_done();
}
