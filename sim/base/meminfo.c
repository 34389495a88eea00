/* meminfo.c: the memory this machine has available (see meminfo.h). */
#include "sim/base/meminfo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

uint64_t meminfo_available(void)
{
    /* read(2) into the stack, not stdio: a replay worker asks before its
     * measurement, and stdio's buffer would come from the allocator under
     * test (MemAvailable is the third line, well inside the buffer) */
    char buf[1024];
    unsigned long long avail_kb = 0;
    int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n > 0) {
            buf[n] = '\0';
            const char *line = strstr(buf, "MemAvailable:");
            if (line) avail_kb = strtoull(line + sizeof "MemAvailable:" - 1, NULL, 10);
        }
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
