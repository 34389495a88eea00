/* record_core_test.c: the recorders' core against the trace reader.
 *
 * A seeded random program of mallocs, callocs, reallocs (moving or not) and
 * frees on fake addresses is recorded; reading the file back must give
 * every event, in order, with each free and realloc naming the id its
 * address got at allocation (ids are the core's slots), the counts in the
 * header, the dropped frees in the metadata; and the core's invariants must
 * hold throughout (the hash grows several times on the way).  Then: a file
 * flushed but not finished reads as cut short up to its last event, and
 * finish + reopen (a failed exec) continues the same trace.  The
 * descriptor: high and close-on-exec; replaced or closed under the core,
 * which then writes nothing more (the other file keeps its bytes, the
 * trace is cut short); moved before the program closes it (rcore_move_fd),
 * the trace goes on; a pipe is a stream (whole trace, dropped count in
 * a marker; a reader gone fails the core without SIGPIPE). */
#include "sim/record/record_core.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc/check.h"
#include "sim/trace/trace.h"

#define T_ADDRS 50000 /* distinct fake addresses */
#define T_OPS   400000

typedef struct {
    uint8_t op;
    uint32_t addr;  /* index of the address (or of the old one, for r)   */
    uint32_t addr2; /* r: the new address                                */
    uint64_t size;
    uint64_t nmemb;
} t_op_t;

static uint64_t t_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static uintptr_t t_addr(uint32_t k)
{
    return (uintptr_t)0x10000 + (uintptr_t)k * 48;
}

static const char *t_path(const char *name)
{
    static char path[512];
    const char *dir = getenv("TEST_TMPDIR");
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "/tmp", name);
    return path;
}

static void t_random_program(void)
{
    const char *path = t_path("core.atr");
    trace_meta_entry_t me[] = {{"producer", "record_core_test"}, {RCORE_KEY_DROPPED, "0"}};
    trace_meta_t meta = {2, me};
    rcore_t c;
    CHECK(rcore_open(&c, path, 0, &meta, 4096, 0) == 0);

    uint8_t *live = calloc(T_ADDRS, 1);
    t_op_t *ops = calloc(T_OPS, sizeof *ops);
    size_t nops = 0, nlive = 0, peak = 0;
    uint64_t seed = 12345, dropped_want = 0;
    for (size_t i = 0; i < T_OPS; i++) {
        uint64_t r = t_rand(&seed);
        uint32_t k = (uint32_t)((r >> 16) % T_ADDRS);
        /* Grow to ~30000 live blocks, then churn. */
        int grow = i < T_OPS / 4;
        if (!live[k]) {
            if (!grow && (r & 7) == 0) { /* free of an unknown address */
                CHECK(rcore_free(&c, t_addr(k), (uint32_t)(r >> 60)) == 0);
                dropped_want++;
                continue;
            }
            t_op_t o = {(r & 1) ? TRACE_CALLOC : TRACE_ALLOC, k, 0, (r >> 40) % 5000, 0};
            if (o.op == TRACE_CALLOC) o.nmemb = 1 + (r >> 56) % 8;
            CHECK(rcore_alloc(&c, t_addr(k), (trace_op_t)o.op, o.nmemb, o.size, TRACE_MEM,
                              (uint32_t)(r >> 60)) == 0);
            live[k] = 1;
            ops[nops++] = o;
            if (++nlive > peak) peak = nlive;
        } else if (grow ? (r & 7) == 0 : (r & 3) == 0) {
            uint32_t k2 = (uint32_t)((r >> 32) % T_ADDRS);
            if (k2 != k && live[k2]) k2 = k; /* resize in place */
            t_op_t o = {TRACE_REALLOC, k, k2, (r >> 40) % 9000, 0};
            CHECK(rcore_realloc(&c, t_addr(k), t_addr(k2), o.size, TRACE_MEM,
                                (uint32_t)(r >> 60)) == 0);
            live[k] = 0;
            live[k2] = 1;
            ops[nops++] = o;
        } else {
            CHECK(rcore_free(&c, t_addr(k), (uint32_t)(r >> 60)) == 1);
            live[k] = 0;
            nlive--;
            ops[nops++] = (t_op_t){TRACE_FREE, k, 0, 0, 0};
        }
        if (i % 50000 == 0) CHECK(rcore_is_valid(&c));
    }
    CHECK(rcore_is_valid(&c));
    CHECK(c.ncells >= 4 * ((uint64_t)1 << 14)); /* it grew, twice at least */
    CHECK(c.nslots == peak);
    CHECK(c.dropped == dropped_want);
    CHECK(rcore_finish(&c) == 0);
    rcore_close(&c);

    trace_reader_t *rd;
    char err[512];
    CHECK(trace_open(&rd, path, err, sizeof err) == 0);
    CHECK(trace_count_hint(rd) == nops);
    CHECK(trace_slot_hint(rd) == peak);
    const trace_meta_t *m = trace_meta(rd);
    CHECK(m->n == 2 && !strcmp(m->entries[1].key, RCORE_KEY_DROPPED));
    char want[24];
    snprintf(want, sizeof want, "%llu", (unsigned long long)dropped_want);
    CHECK(!strcmp(m->entries[1].value, want)); /* a number as written, no padding */
    uint32_t *id_of = calloc(T_ADDRS, sizeof *id_of);
    trace_event_t ev;
    size_t n = 0, bad = 0;
    int rc;
    while ((rc = trace_next(rd, &ev)) == 1) {
        const t_op_t *o = &ops[n++];
        if (n > nops || ev.op != o->op) {
            bad++;
            break;
        }
        switch (o->op) {
        case TRACE_ALLOC:
        case TRACE_CALLOC:
            id_of[o->addr] = ev.id;
            if (ev.size != o->size || ev.nmemb != o->nmemb) bad++;
            break;
        case TRACE_REALLOC:
            if (ev.id != id_of[o->addr] || ev.size != o->size) bad++;
            id_of[o->addr2] = ev.id;
            break;
        case TRACE_FREE:
            if (ev.id != id_of[o->addr]) bad++;
            break;
        }
    }
    CHECKF(rc == 0, "%s", trace_error(rd));
    CHECK(bad == 0);
    CHECK(n == nops);
    CHECK(!trace_truncated(rd));
    trace_close(rd);
    free(id_of);
    free(ops);
    free(live);
}

/* Flushed, not finished: cut short, every flushed event readable.  Then
 * finish, reopen (as after a failed exec), more events, finish. */
static void t_cut_and_reopen(void)
{
    const char *path = t_path("cut.atr");
    rcore_t c;
    CHECK(rcore_open(&c, path, 0, NULL, 0, 0) == 0);
    for (uint32_t k = 0; k < 100; k++)
        CHECK(rcore_alloc(&c, t_addr(k), TRACE_ALLOC, 0, 8 + k, TRACE_OBJ, 1) == 0);
    CHECK(rcore_flush(&c) == 0);

    trace_reader_t *rd;
    trace_event_t ev;
    char err[512];
    int n = 0;
    CHECK(trace_open(&rd, path, err, sizeof err) == 0);
    while (trace_next(rd, &ev) == 1)
        n++;
    CHECK(n == 100);
    CHECK(trace_truncated(rd));
    trace_close(rd);

    CHECK(rcore_finish(&c) == 0);
    CHECK(rcore_reopen(&c) == 0);
    for (uint32_t k = 0; k < 50; k++)
        CHECK(rcore_free(&c, t_addr(k), 2) == 1);
    CHECK(rcore_domain(&c, t_addr(60)) == TRACE_OBJ);
    CHECK(rcore_domain(&c, t_addr(10)) == -1);
    CHECK(rcore_finish(&c) == 0);
    rcore_close(&c);
    CHECK(trace_open(&rd, path, err, sizeof err) == 0);
    n = 0;
    int frees = 0, obj = 1;
    while (trace_next(rd, &ev) == 1) {
        n++;
        frees += ev.op == TRACE_FREE;
        obj &= ev.domain == TRACE_OBJ;
    }
    CHECK(n == 150 && frees == 50 && obj);
    CHECK(!trace_truncated(rd));
    trace_close(rd);

    /* O_EXCL: a second recorder never takes an existing file. */
    CHECK(rcore_open(&c, path, 1, NULL, 0, 0) == -EEXIST);
}

/* 300000 live blocks: the table passes 4 MiB and comes from the huge-page
 * path; everything is still found and freed. */
static void t_big_table(void)
{
    rcore_t c;
    const uint32_t n = 300000;
    CHECK(rcore_open(&c, t_path("big.atr"), 0, NULL, 0, 0) == 0);
    for (uint32_t k = 0; k < n; k++)
        CHECK(rcore_alloc(&c, t_addr(k), TRACE_ALLOC, 0, 16, TRACE_MEM, 0) == 0);
    CHECK(c.ncells * sizeof(rcore_cell_t) >= ((size_t)4 << 20));
    CHECK(rcore_is_valid(&c));
    int found = 1;
    for (uint32_t k = 0; k < n; k++)
        found &= rcore_free(&c, t_addr(n - 1 - k), 0) == 1;
    CHECK(found);
    CHECK(c.nused == 0 && c.nfree == n && c.nslots == n);
    CHECK(rcore_is_valid(&c));
    CHECK(rcore_finish(&c) == 0);
    rcore_close(&c);
}

/* The hash doubles in place (rcore_grow: cells swapped into their new
 * places).  Addresses of every kind — packed small blocks, page-aligned
 * ones, pages whose blocks wrap past the table's end — with frees between
 * the doublings, so each doubling starts from a table with holes: right
 * after every doubling the table is valid and every live block is found
 * with its domain, and no freed one is. */
static void t_doubling_in_place(void)
{
    rcore_t c;
    enum { N = 200000 };
    uintptr_t *addr = malloc(N * sizeof *addr);
    uint8_t *live = calloc(N, 1);
    CHECK(addr && live);
    uint64_t r = 42;
    for (uint32_t k = 0; k < N; k++) {
        switch (k % 3) {
        case 0:
            addr[k] = (uintptr_t)0x100000 + (uintptr_t)k * 16;
            break;
        case 1:
            addr[k] = (uintptr_t)0x7f0000000000 + (uintptr_t)k * 4096;
            break;
        default:
            addr[k] = (uintptr_t)0x20000000 + (uintptr_t)(k / 3) * 4096 + 4080;
            break;
        }
    }
    CHECK(rcore_open(&c, t_path("double.atr"), 0, NULL, 0, 0) == 0);
    int ok = 1, doublings = 0;
    uint64_t cells = c.ncells;
    for (uint32_t k = 0; k < N; k++) {
        CHECK(rcore_alloc(&c, addr[k], TRACE_ALLOC, 0, 8, (uint8_t)(k % 3), 0) == 0);
        live[k] = 1;
        r = r * 6364136223846793005u + 1442695040888963407u;
        uint32_t victim = (uint32_t)((r >> 33) % (k + 1));
        if ((r & 3) == 0 && live[victim]) {
            CHECK(rcore_free(&c, addr[victim], 0) == 1);
            live[victim] = 0;
        }
        if (c.ncells != cells) {
            cells = c.ncells;
            doublings++;
            ok &= rcore_is_valid(&c);
            for (uint32_t j = 0; j <= k; j++)
                ok &= rcore_domain(&c, addr[j]) == (live[j] ? (int)(j % 3) : -1);
        }
    }
    CHECK(ok);
    CHECK(doublings >= 4);
    CHECK(rcore_finish(&c) == 0);
    rcore_close(&c);
    free(addr);
    free(live);
}

/* Events of file PATH, or -1 when unreadable; *CUT: cut short. */
static long t_count(const char *path, int *cut)
{
    trace_reader_t *rd;
    trace_event_t ev;
    char err[512];
    long n = 0;
    int rc;
    if (trace_open(&rd, path, err, sizeof err) < 0) return -1;
    while ((rc = trace_next(rd, &ev)) == 1)
        n++;
    *cut = trace_truncated(rd);
    trace_close(rd);
    return rc == 0 ? n : -1;
}

/* The program replaces the trace's number with a file of its own (dup2),
 * or closes it: not a byte more goes anywhere. */
static void t_lost(void)
{
    char path[512], user[512];
    snprintf(path, sizeof path, "%s", t_path("lost.atr"));
    snprintf(user, sizeof user, "%s", t_path("lost.user"));
    int cut = 0;
    for (int how = 0; how < 2; how++) {
        rcore_t c;
        CHECK(rcore_open(&c, path, 0, NULL, 0, 0) == 0);
        CHECK(c.fd >= rcore_fd_floor());
        CHECK(fcntl(c.fd, F_GETFD) & FD_CLOEXEC);
        CHECK(!c.stream);
        for (uint32_t k = 0; k < 10; k++)
            CHECK(rcore_alloc(&c, t_addr(k), TRACE_ALLOC, 0, 8, TRACE_MEM, 0) == 0);
        CHECK(rcore_flush(&c) == 0);
        CHECK(c.events_out == 10);
        int fd = c.fd, ufd = open(user, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        CHECK(ufd >= 0 && write(ufd, "mine\n", 5) == 5);
        if (how == 0)
            CHECK(dup2(ufd, fd) == fd);
        else
            CHECK(close(fd) == 0);
        for (uint32_t k = 10; k < 20; k++)
            CHECK(rcore_alloc(&c, t_addr(k), TRACE_ALLOC, 0, 8, TRACE_MEM, 0) == 0);
        CHECK(rcore_flush(&c) == -EBADF);
        CHECK(c.lost && c.lost_fd == fd && c.fd == -1 && c.failed == EBADF);
        CHECK(rcore_alloc(&c, t_addr(30), TRACE_ALLOC, 0, 8, TRACE_MEM, 0) == -EBADF);
        CHECK(rcore_finish(&c) == -EBADF);
        rcore_close(&c);
        struct stat st;
        CHECK(fstat(ufd, &st) == 0 && st.st_size == 5);
        if (how == 0) { /* the program's descriptor was not closed under it */
            CHECK(fcntl(fd, F_GETFD) >= 0);
            close(fd);
        }
        close(ufd);
        CHECK(t_count(path, &cut) == 10 && cut);
    }
}

/* The program is about to close the trace's number: rcore_move_fd moves
 * the trace (close-on-exec, another number), the program's close takes
 * the old one, and the trace goes on, whole.  With no number free, what
 * was buffered is written, the number is left to the program, and
 * nothing more is written. */
static void t_move(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s", t_path("move.atr"));
    int cut = 1;
    rcore_t c;
    CHECK(rcore_open(&c, path, 0, NULL, 0, 0) == 0);
    for (uint32_t k = 0; k < 10; k++)
        CHECK(rcore_alloc(&c, t_addr(k), TRACE_ALLOC, 0, 8, TRACE_MEM, 0) == 0);
    int old = c.fd;
    CHECK(rcore_move_fd(&c) == 0);
    CHECK(c.fd >= rcore_fd_floor() && c.fd != old && !c.lost);
    CHECK(fcntl(c.fd, F_GETFD) & FD_CLOEXEC);
    CHECK(close(old) == 0); /* the program's call */
    for (uint32_t k = 10; k < 20; k++)
        CHECK(rcore_alloc(&c, t_addr(k), TRACE_ALLOC, 0, 8, TRACE_MEM, 0) == 0);
    CHECK(rcore_finish(&c) == 0);
    rcore_close(&c);
    CHECK(t_count(path, &cut) == 20 && !cut);

    /* every number below the limit taken */
    struct rlimit rl, low;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    CHECK(rcore_open(&c, path, 0, NULL, 0, 0) == 0);
    for (uint32_t k = 0; k < 10; k++)
        CHECK(rcore_alloc(&c, t_addr(k), TRACE_ALLOC, 0, 8, TRACE_MEM, 0) == 0);
    CHECK(c.events_out == 0); /* all in the buffer */
    low = rl;
    low.rlim_cur = (rlim_t)c.fd + 1;
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
    int fill[1024], nfill = 0, d;
    while (nfill < 1024 && (d = dup(c.fd)) >= 0)
        fill[nfill++] = d;
    CHECK(errno == EMFILE);
    old = c.fd;
    CHECK(rcore_move_fd(&c) == -EBADF);
    CHECK(c.lost && c.lost_fd == old && c.fd == -1);
    CHECK(fcntl(old, F_GETFD) >= 0); /* left open, for the program's call */
    CHECK(rcore_alloc(&c, t_addr(30), TRACE_ALLOC, 0, 8, TRACE_MEM, 0) == -EBADF);
    rcore_close(&c);
    for (int i = 0; i < nfill; i++)
        close(fill[i]);
    CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    CHECK(close(old) == 0);
    CHECK(t_count(path, &cut) == 10 && cut);
}

/* The dropped-free count of a trace still being written (read as a cut
 * trace after each flush) is the number as written, across a change in its
 * number of digits, and the reserved room never shows as metadata. */
static void t_dropped_in_place(void)
{
    const char *path = t_path("dropped.atr");
    trace_meta_entry_t me[] = {{"producer", "record_core_test"}, {RCORE_KEY_DROPPED, "0"}};
    trace_meta_t meta = {2, me};
    rcore_t c;
    CHECK(rcore_open(&c, path, 0, &meta, 0, 0) == 0);
    CHECK(rcore_alloc(&c, t_addr(1), TRACE_ALLOC, 0, 8, TRACE_MEM, 0) == 0);
    static const struct {
        unsigned drops;
        const char *want;
    } steps[] = {{0, "0"}, {9, "9"}, {1, "10"}, {990, "1000"}};
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        for (unsigned i = 0; i < steps[s].drops; i++)
            CHECK(rcore_free(&c, t_addr(1000 + i), 0) == 0);
        CHECK(rcore_flush(&c) == 0);
        trace_reader_t *rd;
        char err[512];
        CHECK(trace_open(&rd, path, err, sizeof err) == 0);
        const trace_meta_t *m = trace_meta(rd);
        CHECK(m->n == 2 && !strcmp(m->entries[1].key, RCORE_KEY_DROPPED));
        CHECKF(!strcmp(m->entries[1].value, steps[s].want), "dropped_frees '%s', want '%s'",
               m->entries[1].value, steps[s].want);
        trace_event_t ev;
        CHECK(trace_next(rd, &ev) == 1 && trace_next(rd, &ev) == 0);
        trace_close(rd);
    }
    CHECK(rcore_finish(&c) == 0);
    rcore_close(&c);
    remove(path);
}

/* A pipe: in order, never patched, whole at END (COMPLETE clear); the
 * dropped count comes last as a marker.  Then a pipe with no reader: the
 * core fails with EPIPE and this process lives on. */
static void t_stream(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    trace_meta_entry_t me[] = {{"producer", "record_core_test"}, {RCORE_KEY_DROPPED, "0"}};
    trace_meta_t meta = {2, me};
    rcore_t c;
    CHECK(rcore_open_fd(&c, p[1], &meta, 0, 0) == 0);
    CHECK(c.stream && c.fd >= 3);
    for (uint32_t k = 0; k < 100; k++)
        CHECK(rcore_alloc(&c, t_addr(k), TRACE_ALLOC, 0, 8 + k, TRACE_MEM, 0) == 0);
    CHECK(rcore_free(&c, t_addr(500), 0) == 0); /* dropped */
    CHECK(rcore_flush(&c) == 0);
    CHECK(rcore_finish(&c) == 0);
    CHECK(rcore_reopen(&c) == -ESPIPE);
    rcore_close(&c);
    static uint8_t buf[1 << 16];
    ssize_t n = read(p[0], buf, sizeof buf);
    CHECK(n > 0 && (size_t)n < sizeof buf);
    close(p[0]);
    const char *path = t_path("stream.atr");
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(buf, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    int cut = 1;
    CHECK(t_count(path, &cut) == 100 && !cut);
    /* the marker holds the count as written; the header's room says 0 */
    CHECK(memmem(buf, (size_t)n,
                 "\x0d" RCORE_KEY_DROPPED "\x01"
                 "1",
                 16) != NULL);

    CHECK(pipe(p) == 0);
    close(p[0]);
    CHECK(rcore_open_fd(&c, p[1], NULL, 0, 0) == -EPIPE);
}

static void t_utc(void)
{
    char s[21];
    rcore_utc(s);
    CHECK(strlen(s) == 20 && s[4] == '-' && s[10] == 'T' && s[19] == 'Z');
    CHECK(s[0] == '2'); /* this millennium */
}

int main(void)
{
    t_random_program();
    t_cut_and_reopen();
    t_dropped_in_place();
    t_big_table();
    t_doubling_in_place();
    t_lost();
    t_move();
    t_stream();
    t_utc();
    return check_done();
}
