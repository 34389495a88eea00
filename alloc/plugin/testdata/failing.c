/* failing.c: a plugin whose allocator misbehaves on purpose, for the tests
 * of what arenalab reports: `mode=null` (the default) returns NULL from
 * every malloc, calloc and realloc; `mode=crash` crashes (SIGSEGV) in the
 * `after`-th malloc (default 100), serving the earlier ones from the
 * process's malloc (flag ARENALAB_PLUGIN_PROCESS_HEAP); `mode=create`
 * crashes in create() itself. */
#include "arenalab_plugin.h"

/* Where a crash writes: read through a volatile, so it is not folded. */
static int *volatile failing_nowhere;

typedef struct {
    int crash;
    uint64_t after, calls;
} failing_t;

static void *failing_malloc(void *ctx, size_t size)
{
    failing_t *f = ctx;
    if (!f->crash) return NULL;
    if (++f->calls >= f->after) *failing_nowhere = 1; /* SIGSEGV */
    return malloc(size ? size : 1);
}

static void *failing_calloc(void *ctx, size_t n, size_t size)
{
    failing_t *f = ctx;
    if (!f->crash) return NULL;
    if (++f->calls >= f->after) *failing_nowhere = 1;
    return calloc(n ? n : 1, size ? size : 1);
}

static void *failing_realloc(void *ctx, void *p, size_t size)
{
    failing_t *f = ctx;
    return f->crash ? realloc(p, size ? size : 1) : NULL;
}

static void failing_free(void *ctx, void *p)
{
    failing_t *f = ctx;
    if (f->crash) free(p);
}

static int failing_create(arenalab_alloc_t *a, arenalab_param_t *p, size_t n, char *err,
                          size_t errlen)
{
    const char *mode = arenalab_param_get(p, n, "mode");
    uint64_t after = 100;
    if (arenalab_param_size(p, n, "after", 1, 1000000000, &after, err, errlen)) return -1;
    if (mode && strcmp(mode, "null") != 0 && strcmp(mode, "crash") != 0 &&
        strcmp(mode, "create") != 0) {
        snprintf(err, errlen, "parameter mode=%s: expected null, crash or create", mode);
        return -1;
    }
    if (mode && strcmp(mode, "create") == 0) *failing_nowhere = 1; /* SIGSEGV */
    failing_t *f = calloc(1, sizeof *f);
    if (!f) return -1;
    f->crash = mode && strcmp(mode, "crash") == 0;
    f->after = after;
    *a = (arenalab_alloc_t){f, failing_malloc, failing_calloc, failing_realloc, failing_free};
    return 0;
}

static void failing_destroy(void *ctx)
{
    free(ctx);
}

static void failing_stats(void *ctx, arenalab_stats_t *out)
{
    out->footprint = 0;
}

ARENALAB_PLUGIN_EXPORT const arenalab_plugin_t arenalab_plugin = {
    .abi = ARENALAB_PLUGIN_ABI,
    .size = sizeof(arenalab_plugin_t),
    .name = "failing",
    .summary = "fails on purpose: NULL from every allocation, or a crash",
    .params = "mode=null|crash|create\nafter=N  the malloc that crashes\n",
    .defaults = "mode=null:after=100",
    .flags = ARENALAB_PLUGIN_PROCESS_HEAP,
    .create = failing_create,
    .destroy = failing_destroy,
    .stats = failing_stats,
};
