/* plugin.c: allocators from shared objects, as classes alloc_find returns
 * for two kinds of spec (alloc/params.h has the grammar):
 *
 *   plugin:[NAME=]PATH   a plugin built against the public header
 *                        alloc/plugin/arenalab_plugin.h: dlopened, its
 *                        descriptor `arenalab_plugin` checked and mapped
 *                        onto an alloc_class_t -- an allocator like our
 *                        own models (parameters, counters, mallocstats);
 *   so:[NAME=]PATH       any malloc library: preloaded into the worker
 *                        (ALLOC_PRELOAD of PATH), as jemalloc is, and
 *                        called through malloc/calloc/realloc/free.
 *
 * Slots.  Each distinct head (`plugin:/x/libseg.so`, `so:je=/usr/...`) gets
 * a slot the first time a process asks for it, and keeps it for the life
 * of the process (a plugin is never dlclosed: its classes, strings and
 * extra-counter names must outlive every instance).  alloc_class_t's
 * functions take no class argument, so each slot has its own entry points,
 * generated below from one list; they forward to the slot.  The instances
 * a plugin creates are its own alloc_t, unwrapped: the replay's hot path
 * calls the plugin's malloc directly, as it calls a built-in class's.
 *
 * Loading, in whichever process asks first (the parent checks specs and
 * dry-runs plugins; each worker loads again):
 *   plugin  realpath, an ELF shared object for this machine, dlopen
 *           (RTLD_NOW), the symbol `arenalab_plugin`, its abi and size, the
 *           required entries (create, destroy, stats), flags known to this
 *           ABI, defaults that parse.
 *   so      realpath, an ELF shared object for this machine; nothing is
 *           loaded in the parent.  In the worker (LD_PRELOAD set by the
 *           driver from the class's `preload`), create() checks that the
 *           library is loaded and that malloc, calloc, realloc and free
 *           each resolve into it -- a library that does not interpose them
 *           would otherwise be measured as glibc under its name.
 * A head that fails any step still gets a slot, with the reason: its
 * available() returns 0 with it (route_check and experiments report it)
 * and its create() fails with it.  Under AddressSanitizer no so: library
 * can replace the sanitizer's malloc, so none is available there.
 *
 * so: figures.  Resident memory is the common figure (replay.h).  The held
 * figure comes from the library's optional `arenalab_held_bytes()`, else
 * it is 0; --mallocstats prints its optional `arenalab_print_stats`; the
 * usable size comes from its malloc_usable_size when it defines one (so
 * the class has usable_size only in a worker where that holds).  Flags as
 * for the preloaded classes, plus ALLOC_PROCESS_HEAP: the library is the
 * process heap.
 *
 * Invariants: slots [0, plugin_nslots) are filled once, under the lock,
 * before their class is returned, and never change; a slot's class is
 * usable (create may succeed) only when its error is "".
 */
#include "alloc/alloc.h"
#include "alloc/internal/plugin.h"
#include "alloc/params.h"
#include "alloc/plugin/arenalab_plugin.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define PLUGIN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PLUGIN_ASAN 1
#endif
#endif

#if defined(__x86_64__)
#define PLUGIN_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define PLUGIN_MACHINE EM_AARCH64
#endif

/* Distinct heads one process can load. */
#define PLUGIN_SLOTS 32

_Static_assert(ALLOC_MAX_EXTRA >= ARENALAB_PLUGIN_MAX_EXTRA, "a plugin's extras fit ours");

/* Plugin flags and what they mean here: one row each. */
static const struct {
    unsigned plugin, alloc;
} plugin_flags[] = {
    {ARENALAB_PLUGIN_PROCESS_GLOBAL, ALLOC_PROCESS_GLOBAL},
    {ARENALAB_PLUGIN_PER_DOMAIN, ALLOC_PER_DOMAIN},
    {ARENALAB_PLUGIN_SLOW_STATS, ALLOC_SLOW_STATS},
    {ARENALAB_PLUGIN_PROCESS_HEAP, ALLOC_PROCESS_HEAP},
    {ARENALAB_PLUGIN_THREAD_SAFE, ALLOC_THREAD_SAFE},
};

typedef struct {
    char head[sizeof(((alloc_spec_t *)0)->name)]; /* the class name       */
    alloc_ext_t ext;                              /* head, parsed          */
    char real[ALLOC_EXT_PATH_MAX + 1];            /* realpath of its PATH  */
    char summary[320];
    char error[768];               /* why it cannot run here, or ""      */
    const arenalab_plugin_t *desc; /* plugin: its descriptor             */
    alloc_class_t cls;
} plugin_slot_t;

static plugin_slot_t plugin_slots[PLUGIN_SLOTS];
static int plugin_nslots;
static pthread_mutex_t plugin_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- checks shared by both kinds -------------------------------------------- */

/* Whether PATH is an ELF shared object for this machine.  0, or -1 with
 * the reason in S->error. */
static int plugin_check_elf(plugin_slot_t *s)
{
    int fd = open(s->real, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(s->error, sizeof s->error, "%s: cannot open: %s", s->ext.path, strerror(errno));
        return -1;
    }
    ElfW(Ehdr) eh;
    ssize_t got = read(fd, &eh, sizeof eh);
    close(fd);
    if (got != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
        snprintf(s->error, sizeof s->error, "%s is not an ELF file (expected a shared library)",
                 s->ext.path);
        return -1;
    }
    if (eh.e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32)
#ifdef PLUGIN_MACHINE
        || eh.e_machine != PLUGIN_MACHINE
#endif
    ) {
        snprintf(s->error, sizeof s->error, "%s is built for another machine", s->ext.path);
        return -1;
    }
    if (eh.e_type != ET_DYN) {
        snprintf(s->error, sizeof s->error,
                 "%s is an ELF %s, not a shared library (build it with -shared -fPIC)", s->ext.path,
                 eh.e_type == ET_EXEC ? "executable" : "object file");
        return -1;
    }
    return 0;
}

/* Resolves S's path into S->real.  0, or -1 with the reason. */
static int plugin_resolve(plugin_slot_t *s)
{
    char real[PATH_MAX];
    if (!realpath(s->ext.path, real)) {
        snprintf(s->error, sizeof s->error, "%s: %s", s->ext.path, strerror(errno));
        return -1;
    }
    size_t len = strlen(real);
    if (len > ALLOC_EXT_PATH_MAX || strpbrk(real, ":, \t\n")) {
        snprintf(s->error, sizeof s->error,
                 "%s: its real path '%.300s' is longer than %d bytes or holds ':', ',' or blanks",
                 s->ext.path, real, ALLOC_EXT_PATH_MAX);
        return -1;
    }
    memcpy(s->real, real, len + 1);
    return plugin_check_elf(s);
}

static int plugin_available(const plugin_slot_t *s, char *why, size_t len)
{
    if (!s->error[0]) return 1;
    snprintf(why, len, "%s", s->error);
    return 0;
}

/* ---- plugin: ---------------------------------------------------------------- */

/* The descriptor of the loaded plugin H, checked, into S. */
static int plugin_check(plugin_slot_t *s, void *h)
{
    const arenalab_plugin_t *d = dlsym(h, ARENALAB_PLUGIN_SYMBOL);
    if (!d) {
        snprintf(s->error, sizeof s->error,
                 "%s has no symbol '%s': not an arenalab plugin (a plugin defines `const "
                 "arenalab_plugin_t %s` from arenalab_plugin.h; run a malloc library with "
                 "so:%s)",
                 s->ext.path, ARENALAB_PLUGIN_SYMBOL, ARENALAB_PLUGIN_SYMBOL, s->ext.path);
        return -1;
    }
    if (d->abi != ARENALAB_PLUGIN_ABI) {
        snprintf(s->error, sizeof s->error,
                 "%s was built for plugin ABI %u; this arenalab loads ABI %d (rebuild it "
                 "against this arenalab's alloc/plugin/arenalab_plugin.h)",
                 s->ext.path, (unsigned)d->abi, ARENALAB_PLUGIN_ABI);
        return -1;
    }
    if (d->size != sizeof *d) {
        snprintf(s->error, sizeof s->error,
                 "%s: its arenalab_plugin_t is %u bytes, ABI %d's is %zu (a mismatched "
                 "arenalab_plugin.h?)",
                 s->ext.path, (unsigned)d->size, ARENALAB_PLUGIN_ABI, sizeof *d);
        return -1;
    }
    const char *missing = !d->create ? "create" : !d->destroy ? "destroy" : !d->stats ? "stats" : 0;
    if (missing) {
        snprintf(s->error, sizeof s->error, "%s: arenalab_plugin.%s is NULL (it is required)",
                 s->ext.path, missing);
        return -1;
    }
    unsigned known = 0, flags = 0;
    for (size_t i = 0; i < sizeof plugin_flags / sizeof plugin_flags[0]; i++) {
        known |= plugin_flags[i].plugin;
        if (d->flags & plugin_flags[i].plugin) flags |= plugin_flags[i].alloc;
    }
    if (d->flags & ~known) {
        snprintf(s->error, sizeof s->error, "%s: flags 0x%x unknown to plugin ABI %d", s->ext.path,
                 d->flags & ~known, ARENALAB_PLUGIN_ABI);
        return -1;
    }
    if (d->defaults && *d->defaults) {
        alloc_spec_t spec;
        char text[sizeof spec.buf], err[256];
        snprintf(text, sizeof text, "defaults:%s", d->defaults);
        if (alloc_spec_parse(&spec, text, err, sizeof err)) {
            snprintf(s->error, sizeof s->error, "%s: bad defaults: %s", s->ext.path, err);
            return -1;
        }
    }
    s->desc = d;
    s->cls.flags = flags;
    s->cls.params = d->params ? d->params : "";
    s->cls.defaults = d->defaults;
    snprintf(s->summary, sizeof s->summary, "plugin %s (%s): %s", d->name ? d->name : "?",
             s->ext.path, d->summary ? d->summary : "");
    return 0;
}

/* dlopen and check the descriptor; 0, or -1 with the reason in S->error
 * (and the library closed again). */
static int plugin_load(plugin_slot_t *s)
{
    void *h = dlopen(s->real, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        snprintf(s->error, sizeof s->error, "cannot load %s: %s", s->ext.path,
                 why ? why : "dlopen failed");
        return -1;
    }
    if (plugin_check(s, h) == 0) return 0;
    dlclose(h);
    return -1;
}

static int plugin_create(const plugin_slot_t *s, alloc_t *a, alloc_param_t *params, size_t n,
                         char *err, size_t errlen)
{
    if (s->error[0] || !s->desc) {
        snprintf(err, errlen, "%s", s->error[0] ? s->error : "not a plugin");
        return -1;
    }
    arenalab_param_t p[ALLOC_MAX_PARAMS];
    if (n > ALLOC_MAX_PARAMS) {
        snprintf(err, errlen, "too many parameters (at most %d)", ALLOC_MAX_PARAMS);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (arenalab_param_t){params[i].key, params[i].value, 0};
    arenalab_alloc_t pa = {0};
    char msg[256] = "";
    if (s->desc->create(&pa, p, n, msg, sizeof msg)) {
        snprintf(err, errlen, "%s", msg[0] ? msg : "the plugin's create() failed");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        params[i].used |= p[i].used;
    if (!pa.malloc || !pa.calloc || !pa.realloc || !pa.free) {
        s->desc->destroy(pa.ctx);
        snprintf(err, errlen, "%s: create() left %s NULL", s->ext.path,
                 !pa.malloc    ? "malloc"
                 : !pa.calloc  ? "calloc"
                 : !pa.realloc ? "realloc"
                               : "free");
        return -1;
    }
    *a = (alloc_t){pa.ctx, pa.malloc, pa.calloc, pa.realloc, pa.free};
    return 0;
}

static void plugin_stats(const plugin_slot_t *s, void *ctx, alloc_stats_t *out)
{
    arenalab_stats_t st;
    memset(&st, 0, sizeof st);
    s->desc->stats(ctx, &st);
    out->footprint = st.footprint;
    out->peak_footprint = st.peak_footprint;
    out->nextra = st.nextra < 0                           ? 0
                  : st.nextra > ARENALAB_PLUGIN_MAX_EXTRA ? ARENALAB_PLUGIN_MAX_EXTRA
                                                          : st.nextra;
    for (int i = 0; i < out->nextra; i++) {
        out->extra[i].name = st.extra[i].name ? st.extra[i].name : "extra";
        out->extra[i].value = st.extra[i].value;
    }
}

/* ---- so: -------------------------------------------------------------------- */

typedef struct {
    arenalab_held_bytes_fn held;   /* the library's, or NULL              */
    arenalab_print_stats_fn print; /* the library's, or NULL              */
} plugin_so_ctx_t;

static void *plugin_so_malloc(void *ctx, size_t size)
{
    return malloc(size ? size : 1);
}

static void *plugin_so_calloc(void *ctx, size_t nelem, size_t elsize)
{
    if (nelem == 0 || elsize == 0) nelem = elsize = 1;
    return calloc(nelem, elsize);
}

static void *plugin_so_realloc(void *ctx, void *ptr, size_t new_size)
{
    return realloc(ptr, new_size ? new_size : 1);
}

static void plugin_so_free(void *ctx, void *ptr)
{
    free(ptr);
}

/* The link-map name of S's library when it is loaded here, else NULL. */
static const char *plugin_so_loaded(const plugin_slot_t *s, void **handle)
{
    void *h = dlopen(s->real, RTLD_NOW | RTLD_NOLOAD);
    struct link_map *lm = NULL;
    if (!h) return NULL;
    if (dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0 || !lm || !lm->l_name) {
        dlclose(h);
        return NULL;
    }
    *handle = h;
    return lm->l_name;
}

/* The file SYMBOL resolves into in this process, or "(nowhere)". */
static const char *plugin_so_origin(const char *symbol)
{
    void *fn = dlsym(RTLD_DEFAULT, symbol);
    Dl_info info;
    if (!fn || !dladdr(fn, &info) || !info.dli_fname) return "(nowhere)";
    return info.dli_fname[0] ? info.dli_fname : "the program itself";
}

static int plugin_so_create(const plugin_slot_t *s, alloc_t *a, char *err, size_t errlen)
{
    if (s->error[0]) {
        snprintf(err, errlen, "%s", s->error);
        return -1;
    }
    void *h = NULL;
    const char *lib = plugin_so_loaded(s, &h);
    if (!lib) {
        snprintf(err, errlen,
                 "%s is not loaded in this process: the dynamic linker could not preload it "
                 "(its message is above), or nothing preloaded it",
                 s->ext.path);
        return -1;
    }
    static const char *const serves[] = {"malloc", "calloc", "realloc", "free"};
    for (size_t i = 0; i < sizeof serves / sizeof serves[0]; i++) {
        const char *from = plugin_so_origin(serves[i]);
        if (strcmp(from, lib) != 0) {
            snprintf(err, errlen,
                     "%s does not serve %s in this process (%s does): a so: library must define "
                     "malloc, calloc, realloc and free",
                     s->ext.path, serves[i], from);
            dlclose(h);
            return -1;
        }
    }
    plugin_so_ctx_t *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "%s: out of memory", s->ext.path);
        dlclose(h);
        return -1;
    }
    c->held = (arenalab_held_bytes_fn)dlsym(h, ARENALAB_HELD_BYTES_SYMBOL);
    c->print = (arenalab_print_stats_fn)dlsym(h, ARENALAB_PRINT_STATS_SYMBOL);
    dlclose(h); /* drops the RTLD_NOLOAD reference only: the preload stays */
    *a = (alloc_t){c, plugin_so_malloc, plugin_so_calloc, plugin_so_realloc, plugin_so_free};
    return 0;
}

static void plugin_so_destroy(void *ctx)
{
    free(ctx);
}

static void plugin_so_stats(void *ctx, alloc_stats_t *out)
{
    const plugin_so_ctx_t *c = ctx;
    out->footprint = c->held ? c->held() : 0;
    out->peak_footprint = 0; /* sampled */
    out->nextra = 0;
}

static void plugin_so_write(void *out, const char *text)
{
    fputs(text, out);
}

static int plugin_so_mallocstats(void *ctx, FILE *out)
{
    const plugin_so_ctx_t *c = ctx;
    if (!c->print) return -1;
    c->print(plugin_so_write, out);
    return 0;
}

static size_t plugin_so_usable_size(void *ctx, const void *ptr)
{
    return malloc_usable_size((void *)ptr);
}

/* Fills S's so: class: checks only (the library is the worker's). */
static void plugin_so_class(plugin_slot_t *s)
{
    s->cls.flags = ALLOC_PRELOAD | ALLOC_PROCESS_HEAP | ALLOC_PROCESS_STATS | ALLOC_SLOW_STATS |
                   ALLOC_THREAD_SAFE;
    s->cls.params = "";
    s->cls.destroy = plugin_so_destroy;
    s->cls.stats = plugin_so_stats;
    s->cls.mallocstats = plugin_so_mallocstats;
    snprintf(s->summary, sizeof s->summary, "malloc library %s, preloaded into the worker",
             s->ext.path);
#ifdef PLUGIN_ASAN
    snprintf(s->error, sizeof s->error,
             "so: libraries cannot replace AddressSanitizer's malloc in a sanitized build");
    return;
#endif
    if (plugin_resolve(s)) return;
    /* in its worker, where it is preloaded: its own usable size, if any */
    void *h = NULL;
    const char *lib = plugin_so_loaded(s, &h);
    if (lib && strcmp(plugin_so_origin("malloc_usable_size"), lib) == 0)
        s->cls.usable_size = plugin_so_usable_size;
    if (h) dlclose(h);
}

/* ---- slots -------------------------------------------------------------------- */

static int plugin_slot_create(int k, alloc_t *a, alloc_param_t *p, size_t n, char *err,
                              size_t errlen)
{
    const plugin_slot_t *s = &plugin_slots[k];
    return s->ext.kind == ALLOC_EXT_SO ? plugin_so_create(s, a, err, errlen)
                                       : plugin_create(s, a, p, n, err, errlen);
}

/* Each slot's entry points, forwarding to it (see "Slots" above). */
#define PLUGIN_SLOT_FNS(K)                                                                         \
    static int plugin_create_##K(alloc_t *a, alloc_param_t *p, size_t n, char *err, size_t len)    \
    {                                                                                              \
        return plugin_slot_create(K, a, p, n, err, len);                                           \
    }                                                                                              \
    static void plugin_destroy_##K(void *ctx)                                                      \
    {                                                                                              \
        plugin_slots[K].desc->destroy(ctx);                                                        \
    }                                                                                              \
    static void plugin_stats_##K(void *ctx, alloc_stats_t *out)                                    \
    {                                                                                              \
        plugin_stats(&plugin_slots[K], ctx, out);                                                  \
    }                                                                                              \
    static size_t plugin_usable_##K(void *ctx, const void *ptr)                                    \
    {                                                                                              \
        return plugin_slots[K].desc->usable_size(ctx, ptr);                                        \
    }                                                                                              \
    static int plugin_mallocstats_##K(void *ctx, FILE *out)                                        \
    {                                                                                              \
        return plugin_slots[K].desc->mallocstats(ctx, out);                                        \
    }                                                                                              \
    static int plugin_available_##K(char *why, size_t len)                                         \
    {                                                                                              \
        return plugin_available(&plugin_slots[K], why, len);                                       \
    }

#define PLUGIN_SLOT_ROW(K)                                                                         \
    {plugin_create_##K, plugin_destroy_##K,     plugin_stats_##K,                                  \
     plugin_usable_##K, plugin_mallocstats_##K, plugin_available_##K},

/* clang-format off */
#define PLUGIN_SLOT_LIST(X)                                                                        \
    X(0)  X(1)  X(2)  X(3)  X(4)  X(5)  X(6)  X(7)  X(8)  X(9)  X(10) X(11) X(12) X(13) X(14)    \
    X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24) X(25) X(26) X(27) X(28) X(29)    \
    X(30) X(31)
/* clang-format on */

PLUGIN_SLOT_LIST(PLUGIN_SLOT_FNS)

static const struct {
    int (*create)(alloc_t *, alloc_param_t *, size_t, char *, size_t);
    void (*destroy)(void *);
    void (*stats)(void *, alloc_stats_t *);
    size_t (*usable_size)(void *, const void *);
    int (*mallocstats)(void *, FILE *);
    int (*available)(char *, size_t);
} plugin_slot_fns[] = {PLUGIN_SLOT_LIST(PLUGIN_SLOT_ROW)};

_Static_assert(sizeof plugin_slot_fns / sizeof plugin_slot_fns[0] == PLUGIN_SLOTS,
               "one row of entry points per slot");

/* What every head gets once the slots are used up. */
static int plugin_full_create(alloc_t *a, alloc_param_t *p, size_t n, char *err, size_t len)
{
    snprintf(err, len, "more than %d so:/plugin: libraries in one process", PLUGIN_SLOTS);
    return -1;
}

static int plugin_full_available(char *why, size_t len)
{
    return plugin_full_create(NULL, NULL, 0, why, len);
}

static const alloc_class_t plugin_full_class = {
    .name = "so:/(too-many)",
    .summary = "",
    .params = "",
    .create = plugin_full_create,
    .destroy = plugin_so_destroy,
    .stats = plugin_so_stats,
    .available = plugin_full_available,
};

/* Fills slot K for the head X (NAME as written).  Built on the stack and
 * copied: the class's strings point into the slot itself. */
static void plugin_slot_fill(int k, const char *name, const alloc_ext_t *x)
{
    plugin_slot_t s;
    memset(&s, 0, sizeof s);
    snprintf(s.head, sizeof s.head, "%s", name);
    s.ext = *x;
    s.cls.create = plugin_slot_fns[k].create;
    s.cls.available = plugin_slot_fns[k].available;
    if (x->kind == ALLOC_EXT_SO) {
        plugin_so_class(&s);
    } else {
        /* placeholders until loaded, so a failed load still is a class */
        s.cls.params = "";
        s.cls.destroy = plugin_so_destroy;
        s.cls.stats = plugin_so_stats;
        snprintf(s.summary, sizeof s.summary, "plugin %s", x->path);
        if (plugin_resolve(&s) == 0 && plugin_load(&s) == 0) {
            s.cls.destroy = plugin_slot_fns[k].destroy;
            s.cls.stats = plugin_slot_fns[k].stats;
            if (s.desc->usable_size) s.cls.usable_size = plugin_slot_fns[k].usable_size;
            if (s.desc->mallocstats) s.cls.mallocstats = plugin_slot_fns[k].mallocstats;
        }
    }
    plugin_slot_t *slot = &plugin_slots[k];
    *slot = s;
    slot->cls.name = slot->head;
    slot->cls.summary = slot->summary;
    if (slot->cls.flags & ALLOC_PRELOAD) slot->cls.preload = slot->real;
}

const alloc_class_t *_plugin_find(const char *name)
{
    alloc_ext_t x;
    char err[8];
    if (alloc_spec_ext(name, &x, err, sizeof err) != 1 || x.head != strlen(name) ||
        x.head >= sizeof plugin_slots[0].head)
        return NULL;
    const alloc_class_t *cls = NULL;
    pthread_mutex_lock(&plugin_lock);
    for (int k = 0; k < plugin_nslots && !cls; k++)
        if (strcmp(plugin_slots[k].head, name) == 0) cls = &plugin_slots[k].cls;
    if (!cls && plugin_nslots < PLUGIN_SLOTS) {
        plugin_slot_fill(plugin_nslots, name, &x);
        cls = &plugin_slots[plugin_nslots++].cls;
    }
    pthread_mutex_unlock(&plugin_lock);
    return cls ? cls : &plugin_full_class;
}
