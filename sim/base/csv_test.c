/* csv_test.c: the runs.csv reader -- plain and quoted fields, CRLF, and
 * every malformed file reported with its line. */
#include "sim/base/csv.h"
#include "alloc/check.h"

#include <stdlib.h>
#include <string.h>

static int ct_parse(const char *text, csv_t *c, char *err, size_t len)
{
    char *copy = strdup(text);
    CHECK(copy != NULL);
    err[0] = '\0';
    return csv_parse(copy, "t.csv", c, err, len);
}

static void ct_good(void)
{
    csv_t c;
    char err[256];
    CHECK(ct_parse("trace,allocator,n\nchurn,raw,1\n\"a,b\",\"q\"\"z\",\n", &c, err, sizeof err) ==
          0);
    CHECK(c.ncols == 3 && c.nrows == 2);
    CHECK(csv_col(&c, "allocator") == 1 && csv_col(&c, "nope") == -1);
    CHECK(!strcmp(csv_get(&c, 0, 0), "churn") && !strcmp(csv_get(&c, 0, 2), "1"));
    CHECK(!strcmp(csv_get(&c, 1, 0), "a,b"));
    CHECK(!strcmp(csv_get(&c, 1, 1), "q\"z"));
    CHECK(!strcmp(csv_get(&c, 1, 2), ""));
    CHECK(!strcmp(csv_get(&c, 1, -1), "") && !strcmp(csv_get(&c, 9, 0), ""));
    csv_free(&c);

    CHECK(ct_parse("a,b\r\n1,2\r\n", &c, err, sizeof err) == 0);
    CHECK(c.nrows == 1 && !strcmp(csv_get(&c, 0, 1), "2") && !strcmp(c.cell[1], "b"));
    csv_free(&c);

    /* No final newline; a quoted newline. */
    CHECK(ct_parse("a\n\"x\ny\"", &c, err, sizeof err) == 0);
    CHECK(c.nrows == 1 && !strcmp(csv_get(&c, 0, 0), "x\ny"));
    csv_free(&c);
}

static void ct_bad(void)
{
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"a,b\n1,2\n3\n", "t.csv:3: 1 fields, the header has 2"},
        {"a,b\n1,2,3\n", "t.csv:2: 3 fields, the header has 2"},
        {"a\n\"open\n", "t.csv:2: bad quoting"},
        {"a\nx\"y\n", "t.csv:2: bad quoting"},
        {"a,b\n\"x\"y,2\n", "t.csv:2: bad quoting"},
        {"", "t.csv: empty (no header)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        csv_t c;
        char err[256];
        CHECKF(ct_parse(bad[i].text, &c, err, sizeof err) == -1, "case %zu", i);
        CHECKF(!strcmp(err, bad[i].msg), "case %zu: '%s', want '%s'", i, err, bad[i].msg);
        CHECK(c.cell == NULL && c.text == NULL);
    }
    csv_t c;
    char err[256];
    CHECK(csv_read("/nonexistent/runs.csv", &c, err, sizeof err) == -1);
    CHECK(strstr(err, "/nonexistent/runs.csv: ") == err);
}

/* What csv_write_field writes, csv_parse reads back. */
static void ct_write(void)
{
    static const char *const fields[] = {"plain", "a,b", "q\"z", "line\nbreak", ""};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK(f != NULL);
    if (!f) return;
    fputs("a,b,c,d,e\n", f);
    for (size_t i = 0; i < 5; i++) {
        if (i) fputc(',', f);
        csv_write_field(f, fields[i]);
    }
    fputc('\n', f);
    fclose(f);
    csv_t c;
    char err[256];
    CHECK(csv_parse(text, "w.csv", &c, err, sizeof err) == 0 && c.nrows == 1);
    for (size_t i = 0; i < 5; i++)
        CHECKF(!strcmp(csv_get(&c, 0, (int)i), fields[i]), "field %zu", i);
    csv_free(&c);
}

int main(void)
{
    ct_write();
    ct_good();
    ct_bad();
    return check_done();
}
