/* repo.h: where the arenalab repository is, for the commands that need its
 * files at run time (report: the default experiment, results/, the
 * workload library; compare: results/).
 *
 * The root is $ARENALAB_ROOT when set (scripts/arenalab sets it);
 * otherwise the first directory above this binary, then above the current
 * directory, that holds scripts/experiments/default.lua -- resolved through
 * symlinks, since Bazel's execroot links the source tree beside bazel-bin.
 *
 * Failure: repo_root returns 0, or -1 when no root is found. */
#ifndef ARENALAB_SIM_BASE_REPO_H
#define ARENALAB_SIM_BASE_REPO_H

#include <stddef.h>

/* The file that marks the root, relative to it. */
#define REPO_MARKER "scripts/experiments/default.lua"

int repo_root(char *root, size_t len);

#endif
