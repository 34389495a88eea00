/* meminfo.c: the memory this machine has available (see meminfo.h). */
#include "sim/base/meminfo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

uint64_t meminfo_available(void)
{
    unsigned long long avail_kb = 0;
    FILE *f = fopen("/proc/meminfo", "re");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemAvailable: %llu kB", &avail_kb) == 1) break;
        fclose(f);
    }
    return avail_kb ? (uint64_t)avail_kb * 1024 : (uint64_t)1 << 30;
}

uint64_t meminfo_bound(const char *name, uint64_t default_)
{
    const char *env = getenv(name);
    if (env && *env) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(env, &end, 10);
        if (errno == 0 && *end == '\0' && v > 0) return v;
    }
    return default_;
}
