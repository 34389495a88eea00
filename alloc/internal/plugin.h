/* plugin.h: the classes of so:/plugin: specs, for the registry
 * (alloc/plugin.c; alloc_find calls it for names with those prefixes). */
#ifndef ARENALAB_ALLOC_INTERNAL_PLUGIN_H
#define ARENALAB_ALLOC_INTERNAL_PLUGIN_H

#include "alloc/alloc.h"

/* The class of NAME, a head `so:[NAME=]PATH` or `plugin:[NAME=]PATH`
 * (alloc/params.h), loaded on first use and kept for the life of the
 * process.  A library that cannot run here still gets a class: its
 * available() says why and its create() fails with the same words.
 * Returns NULL only when NAME is no such head.  Thread-safe. */
const alloc_class_t *_plugin_find(const char *name);

#endif
