/* tsv_test.c: record files carry any string (tabs, newlines, backslashes,
 * NULL) and every double (NaN, infinities, the smallest subnormal)
 * exactly; malformed lines are reported with their line. */
#include "sim/base/tsv.h"
#include "alloc/check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *tt_path(void)
{
    static char path[4096];
    const char *dir = getenv("TEST_TMPDIR");
    snprintf(path, sizeof path, "%s/tsv_test.%ld", dir ? dir : "/tmp", (long)getpid());
    return path;
}

static void tt_roundtrip(void)
{
    static const char *const strs[] = {"",    "plain", "a\tb", "line\nbreak\r", "back\\slash",
                                       "\\-", "\\",    NULL};
    static const double dbls[] = {0.0, -0.0, 1.0 / 3.0, 4.9e-324, 1e308};
    const char *path = tt_path();
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    tsv_begin(f, "strs");
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
        tsv_put_str(f, strs[i]);
    tsv_end(f);
    tsv_begin(f, "nums");
    tsv_put_u64(f, UINT64_MAX);
    for (size_t i = 0; i < sizeof dbls / sizeof *dbls; i++)
        tsv_put_dbl(f, dbls[i]);
    tsv_put_dbl(f, NAN);
    tsv_put_dbl(f, -INFINITY);
    tsv_end(f);
    tsv_begin(f, "empty");
    tsv_end(f);
    CHECK(fclose(f) == 0);

    tsv_reader_t r;
    CHECK(tsv_open(&r, path) == 0);
    CHECK(tsv_next(&r) == 1);
    CHECK(!strcmp(r.field[0], "strs") && r.n == 1 + sizeof strs / sizeof *strs);
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
        CHECKF(strs[i] ? r.field[1 + i] && !strcmp(r.field[1 + i], strs[i]) : !r.field[1 + i],
               "string %zu", i);
    CHECK(tsv_str(&r, 99) == NULL);
    CHECK(tsv_next(&r) == 1);
    uint64_t u;
    CHECK(tsv_get_u64(r.field[1], &u) == 0 && u == UINT64_MAX);
    for (size_t i = 0; i < sizeof dbls / sizeof *dbls; i++) {
        double d;
        CHECK(tsv_get_dbl(r.field[2 + i], &d) == 0 && memcmp(&d, &dbls[i], sizeof d) == 0);
    }
    double d;
    CHECK(tsv_get_dbl(r.field[2 + sizeof dbls / sizeof *dbls], &d) == 0 && isnan(d));
    CHECK(tsv_get_dbl(r.field[3 + sizeof dbls / sizeof *dbls], &d) == 0 && isinf(d) && d < 0);
    CHECK(tsv_next(&r) == 1 && r.n == 1 && !strcmp(r.field[0], "empty"));
    CHECK(tsv_next(&r) == 0);
    tsv_close(&r);
    unlink(path);
}

static void tt_bad(void)
{
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {"ok\tfine\nbad\tx\\q\n", ":2: a bad escape in field 2"},
        {"\tnokey\n", ":1: a record without a key"},
        {"\\-\tnull key\n", ":1: a record without a key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *path = tt_path();
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        if (!f) return;
        fputs(cases[i].text, f);
        fclose(f);
        tsv_reader_t r;
        CHECK(tsv_open(&r, path) == 0);
        int rc;
        while ((rc = tsv_next(&r)) == 1)
            ;
        CHECKF(rc == -1 && strstr(r.err, cases[i].want), "case %zu: %s", i, r.err);
        tsv_close(&r);
        unlink(path);
    }
    uint64_t u;
    double d;
    CHECK(tsv_get_u64("-1", &u) == -1 && tsv_get_u64("12x", &u) == -1 && tsv_get_u64(NULL, &u));
    CHECK(tsv_get_u64("99999999999999999999999", &u) == -1);
    CHECK(tsv_get_dbl("", &d) == -1 && tsv_get_dbl("1.5q", &d) == -1);
    tsv_reader_t r;
    CHECK(tsv_open(&r, "/nonexistent/x") == -1 && strstr(r.err, "/nonexistent/x: "));
}

int main(void)
{
    tt_roundtrip();
    tt_bad();
    return check_done();
}
