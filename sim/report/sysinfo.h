/* sysinfo.h: what a report records so a reader can reproduce it or tell
 * why it differs: the commit, the compiler and build, the CPU, the kernel,
 * and the versions of every library a replay or a plot depends on.
 *
 * Each fact is one key/value pair in a fixed table (sysinfo.c), so the
 * HTML, the Markdown and the JSON list the same facts in the same order.
 * A fact that cannot be found reads "unknown" (or "not installed" for a
 * package): collecting never fails.
 *
 * The machine.  Timings are only compared on one machine: the facts that
 * describe it (host, CPU, governor, kernel, OS, libraries: every fact but
 * the code's own -- arenalab, git commit, compiler, build -- and the run's
 * address layout, randomized or fixed by ARENALAB_ASLR=off, and its huge
 * pages, off unless ARENALAB_HUGEPAGES=system) give it an
 * identity, sysinfo_machine, the same for two collections on one machine
 * with the same software and different otherwise. */
#ifndef ARENALAB_SIM_REPORT_SYSINFO_H
#define ARENALAB_SIM_REPORT_SYSINFO_H

#include <stddef.h>

#define SYSINFO_MAX       40
#define SYSINFO_VALUE_MAX 256
#define SYSINFO_KEY_MAX   64

typedef struct {
    char key[SYSINFO_KEY_MAX]; /* (a task's result file brings its own) */
    char value[SYSINFO_VALUE_MAX];
} sysinfo_entry_t;

typedef struct {
    sysinfo_entry_t e[SYSINFO_MAX];
    size_t n;
} sysinfo_t;

/* Collects the facts; ROOT is the repository (for git). */
void sysinfo_collect(sysinfo_t *s, const char *root);

/* Sets KEY to VALUE, replacing its value or adding it;
 * a table that is full keeps what it has. */
void sysinfo_put(sysinfo_t *s, const char *key, const char *value);

/* The machine's identity (see above): 16 hex digits into BUF (17 bytes).
 * Returns BUF. */
const char *sysinfo_machine(const sysinfo_t *s, char *buf, size_t len);

/* The value of KEY, or NULL. */
const char *sysinfo_get(const sysinfo_t *s, const char *key);

#endif
