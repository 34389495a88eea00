/* badabi.c: a plugin built for another ABI version than this arenalab's:
 * loading it must fail with both versions named. */
#include "arenalab_plugin.h"

static int badabi_create(arenalab_alloc_t *a, arenalab_param_t *p, size_t n, char *err,
                         size_t errlen)
{
    snprintf(err, errlen, "never called");
    return -1;
}

static void badabi_destroy(void *ctx) {}

static void badabi_stats(void *ctx, arenalab_stats_t *out) {}

ARENALAB_PLUGIN_EXPORT const arenalab_plugin_t arenalab_plugin = {
    .abi = ARENALAB_PLUGIN_ABI + 1,
    .size = sizeof(arenalab_plugin_t),
    .name = "badabi",
    .create = badabi_create,
    .destroy = badabi_destroy,
    .stats = badabi_stats,
};
