/* sysinfo.h: what a report records so a reader can reproduce it or tell
 * why it differs: the commit, the compiler and build, the CPU, the kernel,
 * and the versions of every library a replay or a plot depends on.
 *
 * Each fact is one key/value pair in a fixed table (sysinfo.c), so the
 * HTML, the Markdown and the JSON list the same facts in the same order.
 * A fact that cannot be found reads "unknown" (or "not installed" for a
 * package): collecting never fails. */
#ifndef ARENALAB_SIM_REPORT_SYSINFO_H
#define ARENALAB_SIM_REPORT_SYSINFO_H

#include <stddef.h>

#define SYSINFO_MAX       40
#define SYSINFO_VALUE_MAX 256

typedef struct {
    const char *key; /* static storage                              */
    char value[SYSINFO_VALUE_MAX];
} sysinfo_entry_t;

typedef struct {
    sysinfo_entry_t e[SYSINFO_MAX];
    size_t n;
} sysinfo_t;

/* Collects the facts; ROOT is the repository (for git). */
void sysinfo_collect(sysinfo_t *s, const char *root);

/* The value of KEY, or NULL. */
const char *sysinfo_get(const sysinfo_t *s, const char *key);

#endif
