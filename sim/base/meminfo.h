/* meminfo.h: how much memory this machine has available now, the bound of
 * what one input may make a command hold (a decompressed stream, a
 * reader's live tables): no input may exhaust the machine.
 *
 * Failure: never; when /proc/meminfo cannot be read, 1 GiB. */
#ifndef ARENALAB_SIM_BASE_MEMINFO_H
#define ARENALAB_SIM_BASE_MEMINFO_H

#include <stdint.h>

/* MemAvailable of /proc/meminfo, in bytes. */
uint64_t meminfo_available(void);

/* The decimal number in environment variable NAME when it is set to one
 * above 0, else DEFAULT_: a user's override of a bound. */
uint64_t meminfo_bound(const char *name, uint64_t default_);

#endif
