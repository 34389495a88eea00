/* cpython_test.c: the `cpython` class -- routing per domain, our arena
 * allocator and its counts, CPython's statistics text.  libpython's state
 * is per process, so every scenario runs in a forked child of its own. */
#include "alloc/check.h"
#include "alloc/params.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern const alloc_class_t alloc_cpython_class;

#define MIB (1024u * 1024u)

static const alloc_class_t *const cls = &alloc_cpython_class;

/* A new instance from SPEC ("cpython:domain=obj..."); exits the child on
 * failure. */
static alloc_t c_new(const char *spec)
{
    alloc_spec_t s;
    char err[256];
    alloc_t a;
    if (alloc_spec_parse(&s, spec, err, sizeof err) ||
        cls->create(&a, s.params, s.nparams, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", spec, err);
        _exit(1);
    }
    return a;
}

static uint64_t c_extra(const alloc_t *a, const char *name)
{
    alloc_stats_t st;
    cls->stats(a->ctx, &st);
    for (int i = 0; i < st.nextra; i++)
        if (strcmp(st.extra[i].name, name) == 0) return st.extra[i].value;
    return UINT64_MAX;
}

static uint64_t c_footprint(const alloc_t *a)
{
    alloc_stats_t st;
    cls->stats(a->ctx, &st);
    return st.footprint;
}

static char *c_mallocstats(const alloc_t *a)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK(cls->mallocstats(a->ctx, f) == 0);
    fclose(f);
    return text;
}

/* Runs FN in a fresh child; the child's CHECK failures fail the parent. */
static void c_scenario(const char *name, void (*fn)(void))
{
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        check_count = check_failures = 0; /* the child's own tally */
        fn();
        fprintf(stderr, "scenario %s: %d checks, %d failed\n", name, check_count, check_failures);
        _exit(check_failures ? 1 : 0);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "scenario %s failed (status %d)", name,
           status);
}

static void sc_params(void)
{
    alloc_spec_t s;
    char err[256];
    alloc_t a;
    CHECK(cls->flags & ALLOC_PROCESS_GLOBAL);
    CHECK(cls->flags & ALLOC_PER_DOMAIN);
    CHECK(alloc_spec_parse(&s, "cpython:domain=heap", err, sizeof err) == 0);
    CHECK(cls->create(&a, s.params, s.nparams, err, sizeof err) == -1);
    CHECK(strstr(err, "domain") != NULL);
    CHECK(alloc_spec_parse(&s, "cpython:domain=obj:placement=mmap", err, sizeof err) == 0);
    CHECK(cls->create(&a, s.params, s.nparams, err, sizeof err) == 0);
    /* One process, one placement. */
    CHECK(alloc_spec_parse(&s, "cpython:domain=mem:placement=aligned", err, sizeof err) == 0);
    CHECK(cls->create(&a, s.params, s.nparams, err, sizeof err) == -1);
    CHECK(strstr(err, "placement") != NULL);
    CHECK(alloc_spec_parse(&s, "cpython:domain=raw", err, sizeof err) == 0);
    CHECK(cls->create(&a, s.params, s.nparams, err, sizeof err) == 0);
}

/* Small obj/mem requests come from pool-aligned arenas we supply. */
static void sc_arenas(void)
{
    alloc_t obj = c_new("cpython:domain=obj"), mem = c_new("cpython:domain=mem");
    CHECK(c_footprint(&obj) == 0);
    uint8_t *p = obj.malloc(obj.ctx, 16);
    CHECK(p != NULL);
    CHECK(((uintptr_t)p & (16 * 1024 - 1)) == 48); /* first block of an aligned pool */
    CHECK(c_footprint(&obj) == MIB && c_extra(&obj, "arenas") == 1);
    /* The arenas are counted once, by the first mem/obj instance. */
    CHECK(c_footprint(&mem) == 0 && c_extra(&mem, "arenas") == UINT64_MAX);
    CHECK(cls->usable_size(obj.ctx, p) == 16);
    void *q = mem.malloc(mem.ctx, 100);
    CHECK(cls->usable_size(mem.ctx, q) == 112);
    CHECK(c_extra(&obj, "raw_blocks") == 0);
    /* Fill two more arenas, empty them: one spare arena is kept (3.9+). */
    enum { N = 2 * 64 * 31 + 1 };
    static void *v[N];
    for (int i = 0; i < N; i++)
        v[i] = obj.malloc(obj.ctx, 512);
    CHECK(c_extra(&obj, "arenas") == 3);
    for (int i = 0; i < N; i++)
        obj.free(obj.ctx, v[i]);
    obj.free(obj.ctx, p);
    mem.free(mem.ctx, q);
    alloc_stats_t st;
    cls->stats(obj.ctx, &st);
    CHECK(st.footprint == MIB);
    CHECK(st.peak_footprint == 3 * MIB);
    CHECK(c_extra(&obj, "arenas_highwater") == 3);
    char *text = c_mallocstats(&obj);
    CHECK(strstr(text, "# arenas allocated total           =                    3\n") != NULL);
    CHECK(strstr(text, "# bytes lost to arena alignment    =                    0\n") != NULL);
    free(text);
}

/* Blocks from malloc are counted by malloc_usable_size, each by the
 * instance of its domain; reallocs move blocks across the threshold both
 * ways. */
static void sc_raw_bytes(void)
{
    alloc_t raw = c_new("cpython:domain=raw"), obj = c_new("cpython:domain=obj");
    alloc_t mem = c_new("cpython:domain=mem");
    void *r = raw.malloc(raw.ctx, 100);
    CHECK(r && c_extra(&raw, "raw_blocks") == 1);
    CHECK(c_extra(&raw, "raw_bytes") == malloc_usable_size(r));
    CHECK(c_footprint(&raw) == malloc_usable_size(r));
    r = raw.realloc(raw.ctx, r, 5000);
    CHECK(c_extra(&raw, "raw_bytes") == malloc_usable_size(r));
    void *z = obj.malloc(obj.ctx, 0); /* malloc(1) */
    CHECK(z && c_extra(&obj, "raw_blocks") == 1 && c_footprint(&obj) == malloc_usable_size(z));
    uint8_t *p = obj.malloc(obj.ctx, 200);
    memset(p, 0x5a, 200);
    uint8_t *big = obj.realloc(obj.ctx, p, 3000); /* leaves the pool */
    CHECK(big && big[0] == 0x5a && big[199] == 0x5a && c_extra(&obj, "raw_blocks") == 2);
    CHECK(cls->usable_size(obj.ctx, big) == malloc_usable_size(big));
    uint64_t peak_obj = MIB + malloc_usable_size(z) + malloc_usable_size(big);
    uint8_t *back = obj.realloc(obj.ctx, big, 20); /* a raw block stays raw */
    CHECK(back && back[19] == 0x5a && c_extra(&obj, "raw_blocks") == 2);
    CHECK(cls->usable_size(obj.ctx, back) == malloc_usable_size(back));
    CHECK(obj.calloc(obj.ctx, SIZE_MAX / 2, 4) == NULL);
    uint8_t *c = obj.calloc(obj.ctx, 10, 10);
    int zero = 1;
    for (int i = 0; i < 100; i++)
        zero &= c[i] == 0;
    CHECK(zero && c_extra(&obj, "raw_blocks") == 2);
    void *m = mem.malloc(mem.ctx, 600);
    CHECK(c_footprint(&mem) == malloc_usable_size(m));
    uint64_t expect_obj = MIB + malloc_usable_size(z) + malloc_usable_size(back);
    CHECK(c_footprint(&obj) == expect_obj);
    CHECK(c_footprint(&raw) == malloc_usable_size(r));
    raw.free(raw.ctx, r);
    obj.free(obj.ctx, z);
    obj.free(obj.ctx, back);
    obj.free(obj.ctx, c);
    mem.free(mem.ctx, m);
    CHECK(c_extra(&obj, "raw_blocks") == 0 && c_extra(&obj, "raw_bytes") == 0);
    CHECK(c_extra(&raw, "raw_blocks") == 0 && c_extra(&mem, "raw_bytes") == 0);
    alloc_stats_t st;
    cls->stats(obj.ctx, &st);
    CHECK(st.footprint == MIB && st.peak_footprint == peak_obj);
}

/* CPython's text, cut after the first Total line. */
static void sc_mallocstats(void)
{
    alloc_t obj = c_new("cpython:domain=obj");
    void *p = obj.malloc(obj.ctx, 500);
    char *text = c_mallocstats(&obj);
    CHECK(strncmp(text, "Small block threshold = 512, in 32 size classes.\n", 49) == 0);
    CHECK(strstr(text, "   31    512           1               1            30\n") != NULL);
    const char *total = strstr(text, "Total                              =            1,048,576\n");
    CHECK(total &&
          total[strlen("Total                              =            1,048,576\n")] == '\0');
    CHECK(strstr(text, "arena map") == NULL);
    free(text);
    /* Printed once per process, by the instance that counts the arenas. */
    alloc_t mem = c_new("cpython:domain=mem");
    text = c_mallocstats(&mem);
    CHECK(strcmp(text, "") == 0);
    free(text);
    obj.free(obj.ctx, p);
}

/* placement=mmap: CPython's own way; the accounting holds. */
static void sc_mmap(void)
{
    alloc_t obj = c_new("cpython:domain=obj:placement=mmap");
    enum { N = 64 * 31 + 10 };
    static void *v[N];
    for (int i = 0; i < N; i++)
        v[i] = obj.malloc(obj.ctx, 512);
    CHECK(c_extra(&obj, "arenas") == 2 && c_footprint(&obj) == 2 * MIB);
    for (int i = 0; i < N; i++)
        obj.free(obj.ctx, v[i]);
    CHECK(c_extra(&obj, "arenas") == 1);
    char *text = c_mallocstats(&obj);
    CHECK(strstr(text, "1 arenas * 1048576 bytes/arena") != NULL);
    free(text);
}

int main(void)
{
    c_scenario("params", sc_params);
    c_scenario("arenas", sc_arenas);
    c_scenario("raw_bytes", sc_raw_bytes);
    c_scenario("mallocstats", sc_mallocstats);
    c_scenario("mmap", sc_mmap);
    return check_done();
}
