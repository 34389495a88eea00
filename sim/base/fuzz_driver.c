/* fuzz_driver.c: runs a libFuzzer target without libFuzzer, so that a
 * bounded, repeatable fuzz pass is part of the normal test suite (and of
 * its ASan/UBSan configuration, under gcc too).  Every fuzz target of the
 * engine (sim/trace, sim/report, sim/base) links it as its main.
 *
 * usage: fuzz_driver [--iters N] [--seed S] [--dict FILE] CORPUS...
 * Runs every file of the CORPUS directories (or files), then N mutated
 * inputs (default 3000) made from them with a splitmix64 stream seeded by
 * S (default 1): bit flips, interesting bytes, tokens, inserted, deleted
 * and duplicated ranges, truncations, splices.  The tokens are the built-in
 * ones (the trace formats') and, with --dict, those of a libFuzzer
 * dictionary (the file scripts/fuzz gives libFuzzer's -dict=: one
 * "token" per line, optionally name="token", with \\, \" and \xHH).  A
 * crash is the failure; the exit status is 0 otherwise (2: no corpus, or a
 * dictionary that cannot be read).  scripts/fuzz runs the same targets
 * under real libFuzzer for coverage-guided search. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FD_MAX_INPUT  (64u << 10)
#define FD_MAX_INPUTS 4096
#define FD_MAX_TOKENS 1024
#define FD_MAX_TOKEN  128

typedef struct {
    uint8_t *data;
    size_t size;
} fd_input_t;

typedef struct {
    fd_input_t in[FD_MAX_INPUTS];
    size_t n;
    uint64_t rng;
    fd_input_t dict[FD_MAX_TOKENS]; /* --dict's tokens */
    size_t ndict;
} fd_t;

static uint64_t fd_rand(fd_t *f)
{
    uint64_t z = (f->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static size_t fd_below(fd_t *f, size_t n)
{
    return n ? (size_t)(fd_rand(f) % n) : 0;
}

static void fd_load(fd_t *f, const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp || f->n == FD_MAX_INPUTS) {
        if (fp) fclose(fp);
        return;
    }
    uint8_t *buf = malloc(FD_MAX_INPUT);
    size_t n = buf ? fread(buf, 1, FD_MAX_INPUT, fp) : 0;
    fclose(fp);
    if (!buf) return;
    f->in[f->n++] = (fd_input_t){buf, n};
}

/* A file, or every regular file of a directory (sorted: deterministic). */
static void fd_load_arg(fd_t *f, const char *arg)
{
    struct dirent **names;
    int n = scandir(arg, &names, NULL, alphasort);
    if (n < 0) {
        fd_load(f, arg);
        return;
    }
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", arg, names[i]->d_name);
            fd_load(f, path);
        }
        free(names[i]);
    }
    free(names);
}

/* The token of one dictionary line (between its first and last quote,
 * unescaped) into F's dictionary; other lines are skipped. */
static void fd_dict_line(fd_t *f, const char *line)
{
    const char *a = strchr(line, '"'), *b = strrchr(line, '"');
    if (line[strspn(line, " \t")] == '#' || !a || b <= a || f->ndict == FD_MAX_TOKENS) return;
    uint8_t tok[FD_MAX_TOKEN];
    size_t n = 0;
    for (const char *p = a + 1; p < b && n < sizeof tok; p++) {
        unsigned v;
        if (*p == '\\' && p + 3 < b && p[1] == 'x' && sscanf(p + 2, "%2x", &v) == 1) {
            tok[n++] = (uint8_t)v;
            p += 3;
        } else if (*p == '\\' && p + 1 < b) {
            tok[n++] = (uint8_t) * ++p;
        } else {
            tok[n++] = (uint8_t)*p;
        }
    }
    uint8_t *copy = n ? malloc(n) : NULL;
    if (!copy) return;
    memcpy(copy, tok, n);
    f->dict[f->ndict++] = (fd_input_t){copy, n};
}

/* Reads the dictionary PATH.  0, or -1 when it cannot be read. */
static int fd_load_dict(fd_t *f, const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp) return -1;
    char line[1024];
    while (fgets(line, sizeof line, fp))
        fd_dict_line(f, line);
    fclose(fp);
    return 0;
}

static const char *const fd_tokens[] = {
    "a ",
    "c ",
    "r ",
    "f ",
    "n ",
    "m ",
    "o ",
    "x ",
    " obj",
    " raw",
    " mem",
    "\n",
    "0",
    "4294967295",
    "4294967296",
    "281474976710656",
    "281474976710657",
    "#@ marker k v\n",
    "#@ thread 7\n",
    "#@ key value\n",
    "\r\n",
    "\t",
    " ",
    "99999999999999999999999",
};

static const uint8_t fd_bytes[] = {0,    1,    7,    0x18, 0x19, 0x1a, 0x1f, 0x20, 0x3f,
                                   0x7f, 0x80, 0xff, '\n', ' ',  '#',  '@',  '0',  '9'};

/* One random edit of BUF (SIZE bytes of CAP); returns the new size. */
static size_t fd_mutate(fd_t *f, uint8_t *buf, size_t size, size_t cap)
{
    size_t at = fd_below(f, size + 1), len;
    switch (fd_below(f, 8)) {
    case 0: /* flip a bit */
        if (size) buf[at % size] ^= (uint8_t)(1u << fd_below(f, 8));
        return size;
    case 1: /* an interesting byte */
        if (size) buf[at % size] = fd_bytes[fd_below(f, sizeof fd_bytes)];
        return size;
    case 2: { /* insert a token: built in, or the dictionary's */
        size_t nbuiltin = sizeof fd_tokens / sizeof fd_tokens[0];
        size_t k = fd_below(f, nbuiltin + f->ndict);
        const uint8_t *t =
            k < nbuiltin ? (const uint8_t *)fd_tokens[k] : f->dict[k - nbuiltin].data;
        len = k < nbuiltin ? strlen(fd_tokens[k]) : f->dict[k - nbuiltin].size;
        if (size + len > cap) return size;
        memmove(buf + at + len, buf + at, size - at);
        memcpy(buf + at, t, len);
        return size + len;
    }
    case 3: /* delete a range */
        len = fd_below(f, size - at + 1);
        memmove(buf + at, buf + at + len, size - at - len);
        return size - len;
    case 4: { /* duplicate a range (copied out first: it may straddle AT) */
        size_t from = fd_below(f, size + 1);
        len = fd_below(f, size - from + 1);
        uint8_t *chunk = malloc(len ? len : 1);
        if (!chunk || size + len > cap) {
            free(chunk);
            return size;
        }
        memcpy(chunk, buf + from, len);
        memmove(buf + at + len, buf + at, size - at);
        memcpy(buf + at, chunk, len);
        free(chunk);
        return size + len;
    }
    case 5: /* truncate */
        return at;
    case 6: { /* splice another input in */
        fd_input_t *o = &f->in[fd_below(f, f->n)];
        size_t from = fd_below(f, o->size + 1);
        len = fd_below(f, o->size - from + 1);
        if (at + len > cap) return size;
        memcpy(buf + at, o->data + from, len);
        return at + len > size ? at + len : size;
    }
    default: /* random bytes */
        len = fd_below(f, 8);
        for (size_t i = 0; i < len && at + i < size; i++)
            buf[at + i] = (uint8_t)fd_rand(f);
        return size;
    }
}

int main(int argc, char **argv)
{
    static fd_t f;
    unsigned long iters = 3000;
    f.rng = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--iters") && i + 1 < argc)
            iters = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            f.rng = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--dict") && i + 1 < argc) {
            if (fd_load_dict(&f, argv[++i])) {
                fprintf(stderr, "fuzz_driver: cannot read the dictionary %s\n", argv[i]);
                return 2;
            }
        } else
            fd_load_arg(&f, argv[i]);
    }
    if (f.n == 0) {
        fprintf(stderr, "fuzz_driver: no corpus input found\n");
        return 2;
    }
    for (size_t i = 0; i < f.n; i++)
        LLVMFuzzerTestOneInput(f.in[i].data, f.in[i].size);
    uint8_t *buf = malloc(2 * FD_MAX_INPUT);
    if (!buf) return 2;
    for (unsigned long k = 0; k < iters; k++) {
        fd_input_t *in = &f.in[fd_below(&f, f.n)];
        size_t size = in->size;
        memcpy(buf, in->data, size);
        for (size_t m = 1 + fd_below(&f, 4); m > 0; m--)
            size = fd_mutate(&f, buf, size, 2 * FD_MAX_INPUT);
        /* an exact-size copy, so that ASan sees any read past the end */
        uint8_t *exact = malloc(size ? size : 1);
        if (!exact) return 2;
        memcpy(exact, buf, size);
        LLVMFuzzerTestOneInput(exact, size);
        free(exact);
    }
    fprintf(stderr, "fuzz_driver: %zu corpus inputs, %lu mutations: no crash\n", f.n, iters);
    free(buf);
    for (size_t i = 0; i < f.n; i++)
        free(f.in[i].data);
    for (size_t i = 0; i < f.ndict; i++)
        free(f.dict[i].data);
    return 0;
}
