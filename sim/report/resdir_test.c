/* resdir_test.c: result directories are fresh every time (never an earlier
 * one), look partial until committed, keep a PARTIAL note on failure, and
 * `latest` follows the last commit. */
#include "sim/report/resdir.h"
#include "alloc/check.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int rt_isdir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int main(void)
{
    const char *tmp = getenv("TEST_TMPDIR");
    char parent[PATH_MAX], err[1024], path[PATH_MAX + 64], link[PATH_MAX];
    snprintf(parent, sizeof parent, "%s/resdir.%d/a/b", tmp && *tmp ? tmp : "/tmp", (int)getpid());

    resdir_t d1, d2, d3;
    CHECKF(resdir_create(&d1, parent, "exp", err, sizeof err) == 0, "%s", err);
    CHECK(rt_isdir(d1.partial) && !rt_isdir(d1.final));
    CHECK(strncmp(d1.name, "exp-", 4) == 0 && strlen(d1.name) >= strlen("exp-YYYYmmdd-HHMMSS"));
    CHECK(strlen(d1.stamp) == strlen("YYYY-mm-dd HH:MM:SS"));
    CHECK(!strcmp(d1.partial + strlen(d1.partial) - 8, ".partial"));

    /* The same second: another name, never the first one's. */
    CHECKF(resdir_create(&d2, parent, "exp", err, sizeof err) == 0, "%s", err);
    CHECK(strcmp(d1.name, d2.name) != 0 && rt_isdir(d2.partial));

    CHECK(resdir_mkdir(&d1, "plots", err, sizeof err) == 0);
    char *p = resdir_path(&d1, "plots");
    CHECK(p && rt_isdir(p));
    free(p);

    /* Commit: the final name appears, the partial one goes, latest follows. */
    CHECKF(resdir_commit(&d1, 1, err, sizeof err) == 0, "%s", err);
    CHECK(rt_isdir(d1.final) && !rt_isdir(d1.partial));
    snprintf(path, sizeof path, "%s/plots", d1.final);
    CHECK(rt_isdir(path));
    snprintf(path, sizeof path, "%s/latest", parent);
    ssize_t n = readlink(path, link, sizeof link - 1);
    CHECK(n > 0);
    if (n > 0) {
        link[n] = '\0';
        CHECK(!strcmp(link, d1.name));
    }

    /* Failure: PARTIAL says why, nothing is renamed, latest stays. */
    resdir_fail(&d2, "run 3 of 8 failed: trace x with allocator y");
    snprintf(path, sizeof path, "%s/PARTIAL", d2.partial);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (f) {
        char text[512] = "";
        size_t got = fread(text, 1, sizeof text - 1, f);
        text[got] = '\0';
        fclose(f);
        CHECK(strstr(text, "incomplete") && strstr(text, "run 3 of 8 failed"));
    }
    CHECK(!rt_isdir(d2.final));
    snprintf(path, sizeof path, "%s/latest", parent);
    n = readlink(path, link, sizeof link - 1);
    CHECK(n > 0 && (size_t)n == strlen(d1.name));

    /* A third in the same second skips both names taken. */
    CHECKF(resdir_create(&d3, parent, "exp", err, sizeof err) == 0, "%s", err);
    CHECK(strcmp(d3.name, d1.name) != 0 && strcmp(d3.name, d2.name) != 0);
    /* Someone made the final name meanwhile: commit refuses, keeps partial. */
    CHECK(mkdir(d3.final, 0777) == 0);
    CHECK(resdir_commit(&d3, 1, err, sizeof err) == -1 && strstr(err, "exists already"));
    CHECK(rt_isdir(d3.partial));

    /* PARENT/latest that is not a link (a file of the user's, in a --out
     * directory of theirs) is left alone, and so is a file at the name the
     * temporary link once had (latest.tmp.PID): only our own link is
     * replaced, and our temporary link is created, never an existing file
     * removed. */
    char parent2[PATH_MAX + 8], mine[PATH_MAX + 64], trap[PATH_MAX + 64];
    snprintf(parent2, sizeof parent2, "%s.own", parent);
    resdir_t d4;
    CHECKF(resdir_create(&d4, parent2, "exp", err, sizeof err) == 0, "%s", err);
    snprintf(mine, sizeof mine, "%s/latest", parent2);
    snprintf(trap, sizeof trap, "%s/latest.tmp.%d", parent2, (int)getpid());
    FILE *w = fopen(mine, "w");
    CHECK(w && fputs("my notes\n", w) >= 0 && fclose(w) == 0);
    w = fopen(trap, "w");
    CHECK(w && fputs("precious\n", w) >= 0 && fclose(w) == 0);
    CHECKF(resdir_commit(&d4, 1, err, sizeof err) == 0, "%s", err);
    CHECK(rt_isdir(d4.final));
    struct stat st;
    CHECKF(lstat(mine, &st) == 0 && S_ISREG(st.st_mode), "%s: the user's file was replaced", mine);
    CHECKF(lstat(trap, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 9,
           "%s: the user's file was removed", trap);
    resdir_free(&d4);

    /* A parent that cannot be made. */
    resdir_t bad;
    CHECK(resdir_create(&bad, "/proc/no/such/dir", "exp", err, sizeof err) == -1);
    CHECK(strstr(err, "/proc/no/such/dir") != NULL);

    resdir_free(&d1);
    resdir_free(&d2);
    resdir_free(&d3);
    return check_done();
}
