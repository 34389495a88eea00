/* params.h: parsing of allocator specs and `key=value` parameters.
 *
 * An allocator spec on the command line is NAME[:key=value[:key=value...]],
 * e.g. `pymalloc:pool=4K:arena=256K` or `arena:growth=doubling`.  Sizes
 * take K/M/G suffixes (powers of 1024).  Getters mark each parameter they
 * read; alloc_params_unused() names the first one nobody read, so a typo
 * is an error, never silently ignored.
 *
 * Layers: a bare word among the parameters, or a suffix of the name after
 * an underscore, asks for a layer around the allocator instead of passing
 * it a parameter: `mimalloc:debug` and `mimalloc_debug` are mimalloc with
 * CPython's debug hooks (alloc/debughooks.h), as PYTHONMALLOC spells
 * `pymalloc_debug`.  The name is then the wrapped class's.
 *
 * Allocators from files.  Two kinds of spec name a shared object instead
 * of a registered class (alloc/plugin.c loads them):
 *
 *     so:[NAME=]PATH             a malloc library, preloaded into the worker
 *     plugin:[NAME=]PATH[:k=v...] a plugin built against
 *                                alloc/plugin/arenalab_plugin.h
 *
 * The class name is the whole head `KIND:[NAME=]PATH`; parameters follow
 * it as for any class.  PATH runs to the next ':' (so it holds none), must
 * contain a '/' (`./libfoo.so` for one in the current directory: a bare
 * file name would be searched for by the dynamic linker, and could not be
 * checked), and holds no ',' (the --alloc list separator) nor blanks
 * (LD_PRELOAD's separators).  NAME, when given, is the row's name in
 * tables ([A-Za-z0-9._+-]); without it, the file name of PATH is. */
#ifndef ARENALAB_ALLOC_PARAMS_H
#define ARENALAB_ALLOC_PARAMS_H

#include "alloc/alloc.h"

#define ALLOC_MAX_PARAMS 16
/* Longest PATH and NAME of a so:/plugin: spec, NUL excluded. */
#define ALLOC_EXT_PATH_MAX 255
#define ALLOC_EXT_NAME_MAX 63

/* Layers a spec can ask for, as bits (alloc_spec_t.layers). */
enum {
    ALLOC_LAYER_DEBUG = 1 /* `debug`: CPython's debug hooks (debughooks.h) */
};

typedef struct {
    char name[384];  /* allocator name (a so:/plugin: head included),
                        without a layer suffix */
    unsigned layers; /* ALLOC_LAYER_* asked for */
    size_t nparams;
    alloc_param_t params[ALLOC_MAX_PARAMS];
    char buf[1024]; /* storage for keys and values  */
} alloc_spec_t;

typedef enum { ALLOC_EXT_SO = 1, ALLOC_EXT_PLUGIN = 2 } alloc_ext_kind_t;

/* The head of a so:/plugin: spec (see above). */
typedef struct {
    alloc_ext_kind_t kind;
    char name[ALLOC_EXT_NAME_MAX + 1]; /* NAME, or the file name of PATH    */
    char path[ALLOC_EXT_PATH_MAX + 1]; /* PATH as written                   */
    size_t head;                       /* length of KIND:[NAME=]PATH in TEXT */
} alloc_ext_t;

/* Whether TEXT (a spec or a class name) starts with `so:` or `plugin:`:
 * 0 when it does not; 1 when it does, with its head in *X; -1 with a
 * message when it does but the head is malformed. */
int alloc_spec_ext(const char *text, alloc_ext_t *x, char *err, size_t errlen);

/* The length of the class part of the spec TEXT: its so:/plugin: head (each
 * library is a class of its own), else up to its first ':'. */
size_t alloc_spec_class_len(const char *text);

/* The name a table shows for the spec TEXT: a so:/plugin: head becomes its
 * NAME (or file name), parameters kept as written
 * (`plugin:/x/libseg.so:chunk=1M` -> `libseg.so:chunk=1M`); any other spec
 * is itself.  Returns the length it needed (snprintf-style). */
int alloc_spec_display(const char *text, char *buf, size_t len);

/* Parses TEXT ("name:k=v:k=v", "name_debug:k=v", "name:k=v:debug").
 * Returns 0 or -1 with a message. */
int alloc_spec_parse(alloc_spec_t *spec, const char *text, char *err, size_t errlen);

/* Parses a byte count with optional K/M/G suffix.  Returns 0 or -1. */
int alloc_parse_size(const char *text, uint64_t *out);

/* Looks KEY up; when present parses it as a size in [MIN, MAX] into *OUT
 * (else leaves *OUT as is).  Returns 0, or -1 with a message. */
int alloc_param_size(alloc_param_t *params, size_t n, const char *key, uint64_t min, uint64_t max,
                     uint64_t *out, char *err, size_t errlen);

/* Looks KEY up; when present stores the index of its value in CHOICES
 * (NULL-terminated) into *OUT.  Returns 0, or -1 with a message. */
int alloc_param_choice(alloc_param_t *params, size_t n, const char *key, const char *const *choices,
                       int *out, char *err, size_t errlen);

/* The canonical text of the allocator spec TEXT, whose class has the
 * parameter defaults DEFAULTS ("key=value:...", NULL for none): the name,
 * then the parameters sorted by key, each key once (the last given wins,
 * as the getters read them), sizes in the largest unit that divides them
 * (`1M` for 1M, 1MiB, 1024K and 1048576), and parameters equal to their
 * default left out -- unless a `preset` other than the default one is
 * given: a preset sets other parameters, so their defaults no longer
 * hold.  Specs with the same canonical text make the same allocator (the
 * converse can fail: `keep_empty=1` and `keep_empty=yes` stay apart).
 * Returns 0, or -1 with a message (TEXT does not parse, BUF too small). */
int alloc_spec_canonical(const char *text, const char *defaults, char *buf, size_t len, char *err,
                         size_t errlen);

/* The first parameter no getter read, or NULL. */
const char *alloc_params_unused(const alloc_param_t *params, size_t n);

#endif
