/* hugepages_probe.c: a test library, preloaded into a process, that says
 * whether the process may get transparent huge pages as it starts -- the
 * moment a preloaded allocator makes its first mappings.  Its constructor
 * appends one line
 *   thp N
 * to the file named by $ARENALAB_HUGEPAGES_PROBE_OUT, N being the
 * THP_enabled field of /proc/self/status (0: PR_SET_THP_DISABLE is set),
 * or "thp unknown" when the kernel has no such field.  Used by
 * hugepages_test.sh.  Never sanitized (built by a genrule): a sanitizer
 * cannot run behind a preload. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((constructor)) static void probe_start(void)
{
    const char *out = getenv("ARENALAB_HUGEPAGES_PROBE_OUT");
    if (!out || !*out) return;
    char buf[8192];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0) close(fd);
    buf[n > 0 ? n : 0] = '\0';
    const char *f = strstr(buf, "\nTHP_enabled:");
    char line[64];
    int len = f ? snprintf(line, sizeof line, "thp %d\n", atoi(f + strlen("\nTHP_enabled:")))
                : snprintf(line, sizeof line, "thp unknown\n");
    fd = open(out, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;
    if (write(fd, line, (size_t)len) != len) {
        /* the test sees the line missing */
    }
    close(fd);
}
