/* origin.c: which library serves this process's malloc (alloc.h,
 * alloc_malloc_is).
 *
 * A replay that silently measured glibc under the name of another library
 * (a preload that did not load, a stray LD_PRELOAD in the user's
 * environment) would be a lie, so the process-malloc classes ask the
 * dynamic linker where `malloc` resolves before they measure anything. */
#include "alloc/alloc.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define ORIGIN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ORIGIN_ASAN 1
#endif
#endif

/* The file name part of PATH. */
static const char *origin_base(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int alloc_malloc_is(const char *lib, char *err, size_t errlen)
{
    void *fn = dlsym(RTLD_DEFAULT, "malloc");
    Dl_info info;
    if (!fn || !dladdr(fn, &info) || !info.dli_fname) {
        snprintf(err, errlen, "cannot tell which library serves malloc in this process");
        return -1;
    }
    const char *have = origin_base(info.dli_fname);
#ifdef ORIGIN_ASAN
    if (!lib) return 0; /* the sanitizer's own, in the executable */
#endif
    if (lib) {
        if (!strcmp(have, origin_base(lib))) return 0;
        snprintf(err, errlen,
                 "malloc in this process comes from %s, not %s (the library did not load "
                 "in front of it)",
                 info.dli_fname, lib);
        return -1;
    }
    if (!strncmp(have, "libc.so", 7)) return 0;
    /* the library the worker's route preloads, and nothing else (valgrind's
     * own preloads, vgpreload_*, come first under callgrind) */
    const char *pre = getenv("LD_PRELOAD");
    const char *only = pre;
    for (const char *sep; only && (sep = strchr(only, ':'));) {
        const char *base = sep;
        while (base > only && base[-1] != '/')
            base--;
        if (strncmp(base, "vgpreload_", 10) != 0) break;
        only = sep + 1;
    }
    if (only && *only && !strchr(only, ' ') && !strchr(only, ':') &&
        !strcmp(have, origin_base(only)))
        return 0;
    snprintf(err, errlen,
             "malloc in this process comes from %s, not the C library%s%s%s: refusing to "
             "measure it under another name",
             info.dli_fname, pre && *pre ? " (LD_PRELOAD is '" : "", pre && *pre ? pre : "",
             pre && *pre ? "')" : "");
    return -1;
}
