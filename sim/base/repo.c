/* repo.c: finding the repository root (see repo.h). */
#include "sim/base/repo.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The directory above START (its parents tried in turn) holding the
 * marker, resolved through symlinks.  Returns 0 with ROOT filled, or -1. */
static int repo_above(const char *start, char *root, size_t len)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", start);
    for (;;) {
        char probe[PATH_MAX + 64], real[PATH_MAX];
        snprintf(probe, sizeof probe, "%s/%s", dir, REPO_MARKER);
        if (access(probe, R_OK) == 0 && realpath(probe, real)) {
            /* real is ROOT/scripts/experiments/default.lua */
            for (int up = 0; up < 3; up++) {
                char *slash = strrchr(real, '/');
                if (!slash) return -1;
                *slash = '\0';
            }
            snprintf(root, len, "%s", real[0] ? real : "/");
            return 0;
        }
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir) return -1;
        *slash = '\0';
    }
}

int repo_root(char *root, size_t len)
{
    const char *env = getenv("ARENALAB_ROOT");
    if (env && *env) {
        char real[PATH_MAX];
        snprintf(root, len, "%s", realpath(env, real) ? real : env);
        return 0;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        if (repo_above(self, root, len) == 0) return 0;
    }
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) && repo_above(cwd, root, len) == 0) return 0;
    return -1;
}
