/* record_core.c: addresses in, binary trace out, no malloc (see record_core.h).
 *
 * Memory comes from mmap only: the hash doubles when half full, in place
 * (mremap moves its pages into the first half of a new mapping, then a
 * rehash that swaps cells into their new places: rcore_grow); the
 * free-slot stack grows with mremap.  Size
 * arithmetic is checked: a table that cannot grow fails the core (ENOMEM)
 * rather than wrapping. */
#include "sim/record/record_core.h"

#include "sim/trace/live.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RCORE_INIT_CELLS  ((uint64_t)1 << 14)
#define RCORE_INIT_FREE   ((uint64_t)1 << 14)
#define RCORE_CLOCK_EVERY 32                /* events between looks at the clock (2^k) */
#define RCORE_HUGE_MIN    ((size_t)4 << 20) /* tables this big use huge pages */

/* Zeroed memory.  A big table is aligned to 2 MiB and asks for huge pages:
 * a hash is touched at random, so 4 KiB pages cost a fault each (on every
 * doubling) and a TLB miss on most lookups. */
static void *rcore_map(size_t bytes)
{
    const size_t huge = (size_t)2 << 20;
    if (bytes < RCORE_HUGE_MIN) {
        void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? NULL : p;
    }
    bytes = (bytes + huge - 1) & ~(huge - 1);
    char *raw =
        mmap(NULL, bytes + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    char *p = (char *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
    if (p > raw) munmap(raw, (size_t)(p - raw));
    if (p + bytes < raw + bytes + huge) munmap(p + bytes, (size_t)(raw + huge - p));
    madvise(p, bytes, MADV_HUGEPAGE);
    return p;
}

static int rcore_fail(rcore_t *c, int err)
{
    if (!c->failed) c->failed = err ? err : EIO;
    return -c->failed;
}

uint64_t rcore_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Days since 1970-01-01 -> civil date (the proleptic Gregorian calendar). */
static void rcore_civil(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    unsigned doe = (unsigned)(days - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static char *rcore_digits(char *p, uint64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

/* V in decimal, no leading zeros, at P; returns the number of digits. */
static size_t rcore_decimal(char *p, uint64_t v)
{
    char tmp[RCORE_DROPPED_WIDTH];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

/* The header's last two metadata entries, RCORE_DROPPED_TAIL bytes whatever
 * the count: `dropped_frees COUNT` as written, then `pad` with as many '.'
 * as COUNT has digits fewer than RCORE_DROPPED_WIDTH (readers skip it). */
static void rcore_dropped_tail(uint8_t out[RCORE_DROPPED_TAIL], uint64_t count)
{
    uint8_t *p = out;
    size_t kl = sizeof RCORE_KEY_DROPPED - 1, pl = sizeof RCORE_KEY_PAD - 1;
    *p++ = (uint8_t)kl;
    memcpy(p, RCORE_KEY_DROPPED, kl);
    p += kl;
    size_t d = rcore_decimal((char *)p + 1, count);
    *p = (uint8_t)d;
    p += 1 + d;
    *p++ = (uint8_t)pl;
    memcpy(p, RCORE_KEY_PAD, pl);
    p += pl;
    *p++ = (uint8_t)(RCORE_DROPPED_WIDTH - d);
    memset(p, '.', RCORE_DROPPED_WIDTH - d);
}

void rcore_utc(char out[21])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t secs = ts.tv_sec, days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int64_t y;
    unsigned m, d;
    rcore_civil(days, &y, &m, &d);
    char *p = out;
    p = rcore_digits(p, (uint64_t)(y < 0 ? 0 : y % 10000), 4);
    *p++ = '-';
    p = rcore_digits(p, m, 2);
    *p++ = '-';
    p = rcore_digits(p, d, 2);
    *p++ = 'T';
    p = rcore_digits(p, (uint64_t)rem / 3600, 2);
    *p++ = ':';
    p = rcore_digits(p, (uint64_t)rem / 60 % 60, 2);
    *p++ = ':';
    p = rcore_digits(p, (uint64_t)rem % 60, 2);
    *p++ = 'Z';
    *p = '\0';
}

/* ---- file output -------------------------------------------------------- */

int rcore_fd_floor(void)
{
    struct rlimit rl;
    uint64_t lim = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && (uint64_t)rl.rlim_cur < lim)
        lim = (uint64_t)rl.rlim_cur;
    return (int)(lim - lim / 8);
}

/* The core is lost: c->fd is forgotten, never closed (it is, or is about
 * to be, the program's), and the core fails with EBADF.  -errno. */
static int rcore_lose(rcore_t *c)
{
    c->lost = 1;
    c->lost_fd = c->fd;
    c->fd = -1;
    return rcore_fail(c, EBADF);
}

/* 1 when c->fd still names the file we opened, else 0 and the core is
 * lost (rcore_lose). */
static int rcore_ours(rcore_t *c)
{
    struct stat st;
    if (c->fd < 0) return 0;
    if (fstat(c->fd, &st) == 0 && (uint64_t)st.st_dev == c->dev && (uint64_t)st.st_ino == c->ino)
        return 1;
    rcore_lose(c);
    return 0;
}

int rcore_move_fd(rcore_t *c)
{
    if (!rcore_ours(c)) return -EBADF;
    /* (not below the floor: a number the program's next open would take) */
    int moved = fcntl(c->fd, F_DUPFD_CLOEXEC, rcore_fd_floor());
    if (moved >= 0) {
        c->fd = moved;
        return 0;
    }
    return rcore_let_go(c);
}

int rcore_let_go(rcore_t *c)
{
    if (c->fd < 0) return -EBADF;
    /* keep what was recorded, then let the number go */
    if (!c->failed) rcore_flush(c);
    return rcore_lose(c);
}

/* The writes are system calls, not the C library's pwrite and write:
 * those are cancellation points, and a thread cancelled inside one would
 * leave the recorder's lock taken (the LD_PRELOAD recorder writes from
 * inside the program's malloc and free) and every other thread waiting
 * for it. */
static int rcore_pwrite_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t w = syscall(SYS_pwrite64, fd, p, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        if (w == 0) return -EIO;
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

/* A stream, in order.  SIGPIPE is blocked around the writes and the one a
 * gone reader raises is taken back: the program must not die of it. */
static int rcore_write_stream(int fd, const uint8_t *p, size_t n)
{
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    int rc = 0;
    while (n > 0) {
        ssize_t w = syscall(SYS_write, fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            rc = -errno;
            break;
        }
        if (w == 0) {
            rc = -EIO;
            break;
        }
        p += w;
        n -= (size_t)w;
    }
    if (rc == -EPIPE) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* N bytes at file offset OFF (a stream ignores it: the next bytes), after
 * checking the descriptor is still ours.  Returns 0 or -errno. */
static int rcore_write(rcore_t *c, const uint8_t *p, size_t n, uint64_t off)
{
    if (!rcore_ours(c)) return -EBADF;
    return c->stream ? rcore_write_stream(c->fd, p, n) : rcore_pwrite_all(c->fd, p, n, off);
}

int rcore_flush(rcore_t *c)
{
    if (c->fd < 0) return c->failed ? -c->failed : 0;
    c->last_flush = rcore_now();
    if (c->len > 0) {
        int rc = rcore_write(c, c->buf, c->len, c->off);
        if (rc < 0) return rcore_fail(c, -rc);
        c->off += c->len;
        c->len = 0;
        c->events_out = c->enc.events;
    }
    if (c->dropped_off) {
        uint8_t tail[RCORE_DROPPED_TAIL];
        rcore_dropped_tail(tail, c->dropped);
        int rc = rcore_write(c, tail, sizeof tail, c->dropped_off);
        if (rc < 0) return rcore_fail(c, -rc);
    }
    return 0;
}

/* Room for N more bytes in the buffer, flushing first when needed; also the
 * time-based flush.  Returns 0 or -errno. */
static int rcore_room(rcore_t *c, size_t n)
{
    if (c->failed) return -c->failed;
    if (c->fd < 0) return -EBADF;
    if (n > c->cap) return rcore_fail(c, EINVAL);
    if (c->len + n > c->cap) return rcore_flush(c);
    /* The clock costs as much as the rest of an event: look every
     * RCORE_CLOCK_EVERY events (the preload library's flusher thread
     * covers a program that goes quiet). */
    if (c->flush_ns && c->len > 0 && (++c->tick & (RCORE_CLOCK_EVERY - 1)) == 0) {
        uint64_t now = rcore_now();
        if (now - c->last_flush >= c->flush_ns) return rcore_flush(c);
    }
    return 0;
}

int rcore_open(rcore_t *c, const char *path, int excl, const trace_meta_t *meta, size_t bufsize,
               unsigned flush_ms)
{
    int fd =
        open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | (excl ? O_EXCL : O_TRUNC), 0644);
    if (fd < 0) {
        int e = errno;
        *c = (rcore_t){.fd = -1};
        return -e;
    }
    return rcore_open_fd(c, fd, meta, bufsize, flush_ms);
}

int rcore_open_fd(rcore_t *c, int fd, const trace_meta_t *meta, size_t bufsize, unsigned flush_ms)
{
    *c = (rcore_t){.fd = -1};
    tbenc_init(&c->enc);
    /* A last entry RCORE_KEY_DROPPED is the core's: written with the count
     * and followed by its reserved room (rcore_dropped_tail). */
    int with_dropped =
        meta && meta->n > 0 && !strcmp(meta->entries[meta->n - 1].key, RCORE_KEY_DROPPED);
    trace_meta_t given = {meta ? meta->n - (size_t)with_dropped : 0, meta ? meta->entries : NULL};
    size_t hdr = tbenc_header_size(&given);
    if (hdr && with_dropped) hdr += RCORE_DROPPED_TAIL;
    struct stat st;
    int err = 0;
    if (!bufsize) bufsize = RCORE_DEFAULT_BUFFER;
    if (bufsize < 4096) bufsize = 4096;
    if (hdr == 0 || hdr > bufsize)
        err = EINVAL;
    else if (fstat(fd, &st) < 0)
        err = errno;
    else if (S_ISDIR(st.st_mode))
        err = EISDIR;
    else if (S_ISREG(st.st_mode) && ftruncate(fd, 0) < 0)
        err = errno;
    if (err) {
        close(fd);
        return -err;
    }
    /* Out of the program's way (see the header). */
    int high = fcntl(fd, F_DUPFD_CLOEXEC, rcore_fd_floor());
    if (high >= 0) {
        close(fd);
        fd = high;
    } else {
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    c->fd = fd;
    c->dev = (uint64_t)st.st_dev;
    c->ino = (uint64_t)st.st_ino;
    c->stream = !S_ISREG(st.st_mode);
    c->cap = bufsize;
    c->buf = rcore_map(bufsize);
    c->ncells = RCORE_INIT_CELLS;
    c->shift = 64 - 14;
    c->cells = rcore_map(c->ncells * sizeof *c->cells);
    c->freecap = RCORE_INIT_FREE;
    c->freeslots = rcore_map(c->freecap * sizeof *c->freeslots);
    if (!c->buf || !c->cells || !c->freeslots) {
        rcore_close(c);
        return -ENOMEM;
    }
    tbenc_header(c->buf, &given);
    if (with_dropped) {
        rcore_dropped_tail(c->buf + hdr - RCORE_DROPPED_TAIL, 0);
        tbenc_put32(c->buf + TBENC_OFF_HDRLEN, (uint32_t)hdr);
        tbenc_put32(c->buf + TBENC_OFF_NMETA, (uint32_t)given.n + 2);
        if (c->stream)
            c->dropped_marker = 1;
        else
            c->dropped_off = hdr - RCORE_DROPPED_TAIL;
    }
    memcpy(c->fixed, c->buf, TBENC_FIXED);
    c->len = hdr;
    c->flush_ns = (uint64_t)flush_ms * 1000000u;
    int rc = rcore_flush(c);
    if (rc < 0) {
        rcore_close(c);
        return rc;
    }
    return 0;
}

void rcore_close(rcore_t *c)
{
    if (c->fd >= 0 && rcore_ours(c)) close(c->fd);
    c->fd = -1;
    if (c->buf) munmap(c->buf, c->cap);
    if (c->cells) munmap(c->cells, c->ncells * sizeof *c->cells);
    if (c->freeslots) munmap(c->freeslots, c->freecap * sizeof *c->freeslots);
    c->buf = NULL;
    c->cells = NULL;
    c->freeslots = NULL;
}

int rcore_finish(rcore_t *c)
{
    if (c->failed) return -c->failed;
    int rc;
    if (c->dropped_marker) {
        char digits[RCORE_DROPPED_WIDTH + 1];
        digits[rcore_decimal(digits, c->dropped)] = '\0';
        if ((rc = rcore_marker(c, RCORE_KEY_DROPPED, digits)) < 0) return rc;
    }
    if ((rc = rcore_flush(c)) < 0) return rc;
    c->end_off = c->off;
    c->len = tbenc_end(&c->enc, c->buf);
    if ((rc = rcore_flush(c)) < 0) return rc;
    if (c->stream) return 0;
    tbenc_patch(c->fixed, c->enc.events, c->nslots, 0);
    rc = rcore_write(c, c->fixed, TBENC_FIXED, 0);
    return rc < 0 ? rcore_fail(c, -rc) : 0;
}

int rcore_reopen(rcore_t *c)
{
    if (c->failed) return -c->failed;
    if (c->fd < 0) return -EBADF;
    if (c->stream) return rcore_fail(c, ESPIPE);
    tbenc_put16(c->fixed + TBENC_OFF_FLAGS, 0);
    int rc = rcore_write(c, c->fixed, TBENC_FIXED, 0);
    /* rcore_write checked the descriptor just now. */
    if (rc == 0 && ftruncate(c->fd, (off_t)c->end_off) < 0) rc = -errno;
    if (rc < 0) return rcore_fail(c, -rc);
    c->off = c->end_off;
    return 0;
}

/* ---- the pointer hash --------------------------------------------------- */

/* Home cell of P.  The page (4 KiB) is hashed, the offset in it is kept:
 * blocks a malloc carves next to each other, which a program tends to
 * allocate and free together, then share cache lines of the table too,
 * while page-aligned blocks still spread over the whole table. */
static inline uint64_t rcore_hash(const rcore_t *c, uintptr_t p)
{
    uint64_t page = (((uint64_t)p >> 12) * 0x9E3779B97F4A7C15u) >> c->shift;
    return (page + (((uint64_t)p >> 4) & 255)) & (c->ncells - 1);
}

/* Index of P's cell, or of the empty cell where it would go. */
static inline uint64_t rcore_find(const rcore_t *c, uintptr_t p)
{
    uint64_t i = rcore_hash(c, p), mask = c->ncells - 1;
    while (c->cells[i].ptr && c->cells[i].ptr != p)
        i = (i + 1) & mask;
    return i;
}

/* Puts every cell of the previous generation (still where the old size
 * put it) where the current size puts it, in place.  A placed cell is never
 * moved again, so the run from its home to it — cells placed before it —
 * stays free of holes; a probe stops at the first empty *or* unplaced cell
 * and swaps: the unplaced cell it takes out is placed next.  Downwards: a
 * cell at I goes to about 2 I (the hash's top bits, one more of them), a
 * place already done, so swaps are rare and both ends move in order
 * through memory. */
static void rcore_rehash(rcore_t *c, uint64_t upto)
{
    uint64_t mask = c->ncells - 1;
    uint8_t gen = c->gen;
    for (uint64_t i = upto; i-- > 0;) {
        if (!c->cells[i].ptr || c->cells[i].gen == gen) continue;
        rcore_cell_t x = c->cells[i];
        c->cells[i].ptr = 0;
        for (;;) {
            x.gen = gen;
            uint64_t j = rcore_hash(c, x.ptr);
            while (c->cells[j].ptr && c->cells[j].gen == gen)
                j = (j + 1) & mask;
            rcore_cell_t taken = c->cells[j];
            c->cells[j] = x;
            if (!taken.ptr) break;
            x = taken;
        }
    }
}

/* Doubles the hash.  The old cells' pages are moved (mremap: page tables,
 * no copy) to the first half of the new mapping, whose second half the
 * kernel zeroes as it is touched: a doubling costs the new half only, not
 * a whole new table, and all doublings together zero the final table once
 * (64 MiB for a peak of 1.23 M blocks, instead of 128: zeroing pages was
 * the recorder's largest cost there).  Should the move fail, the cells are
 * copied over to the new mapping. */
static int rcore_grow(rcore_t *c)
{
    if (c->ncells > ((uint64_t)1 << 40) / sizeof *c->cells) return -ENOMEM;
    uint64_t oldn = c->ncells, n = oldn * 2;
    size_t oldbytes = oldn * sizeof *c->cells, bytes = n * sizeof *c->cells;
    rcore_cell_t *old = c->cells, *cells = rcore_map(bytes);
    if (!cells) return -ENOMEM;
    int moved = mremap(old, oldbytes, oldbytes, MREMAP_MAYMOVE | MREMAP_FIXED, cells) != MAP_FAILED;
    if (moved && bytes >= RCORE_HUGE_MIN) madvise(cells, bytes, MADV_HUGEPAGE);
    c->cells = cells;
    c->ncells = n;
    c->shift--;
    c->gen ^= 1;
    if (moved) {
        rcore_rehash(c, oldn);
        return 0;
    }
    for (uint64_t i = 0; i < oldn; i++)
        if (old[i].ptr) {
            old[i].gen = c->gen;
            c->cells[rcore_find(c, old[i].ptr)] = old[i];
        }
    munmap(old, oldbytes);
    return 0;
}

/* 1 when one more block would fill the hash past half.  (At 3/4 the
 * table is half the size, but perl's hash churn spends more on the longer
 * probe runs of lookups and deletions than the zeroing saved.) */
static inline int rcore_full(const rcore_t *c)
{
    return (c->nused + 1) * 2 > c->ncells;
}

/* Removes the cell at I, shifting later cells of its probe run back. */
static void rcore_delete(rcore_t *c, uint64_t i)
{
    uint64_t mask = c->ncells - 1, j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!c->cells[j].ptr) break;
        uint64_t home = rcore_hash(c, c->cells[j].ptr);
        /* Move j back into the hole unless its home lies in (i, j]. */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            c->cells[i] = c->cells[j];
            i = j;
        }
    }
    c->cells[i].ptr = 0;
    c->nused--;
}

int rcore_domain(const rcore_t *c, uintptr_t p)
{
    if (!c->cells || !p) return -1;
    uint64_t i = rcore_find(c, p);
    return c->cells[i].ptr ? c->cells[i].domain : -1;
}

/* ---- events ------------------------------------------------------------- */

static int rcore_emit(rcore_t *c, trace_event_t *ev)
{
    int rc = rcore_room(c, TBENC_MAX_EVENT);
    if (rc < 0) return rc;
    c->len += tbenc_event(&c->enc, c->buf + c->len, ev);
    return 0;
}

int rcore_alloc(rcore_t *c, uintptr_t p, trace_op_t op, uint64_t nmemb, uint64_t size,
                uint8_t domain, uint32_t thread)
{
    if (c->failed) return -c->failed;
    if (!p) return 0;
    if (rcore_full(c) && rcore_grow(c) < 0) return rcore_fail(c, ENOMEM);
    uint64_t i = rcore_find(c, p);
    if (c->cells[i].ptr) {
        /* The allocator handed out an address we think is live: its free
         * escaped us (e.g. made while recording was paused).  Forget the
         * old block as if freed, so the trace stays valid. */
        int rc = rcore_free(c, p, thread);
        if (rc < 0) return rc;
        i = rcore_find(c, p);
    }
    uint32_t slot;
    if (c->nfree > 0) {
        slot = c->freeslots[--c->nfree];
    } else {
        if (c->nslots >= LIVE_MAX_SLOTS) return rcore_fail(c, ENOMEM);
        slot = c->nslots++;
    }
    if (op == TRACE_CALLOC && (nmemb > TRACE_MAX_SIZE || size > TRACE_MAX_SIZE)) {
        /* Only a zero-byte calloc gets here (anything else fails). */
        op = TRACE_ALLOC;
        size = 0;
    }
    if (size > TRACE_MAX_SIZE) size = TRACE_MAX_SIZE;
    c->cells[i] = (rcore_cell_t){p, slot, domain, c->gen};
    c->nused++;
    trace_event_t ev = {.op = (uint8_t)op,
                        .domain = domain,
                        .id = slot,
                        .slot = slot,
                        .size = size,
                        .nmemb = op == TRACE_CALLOC ? nmemb : 0,
                        .thread = thread};
    return rcore_emit(c, &ev);
}

/* Pushes SLOT on the free-slot stack.  Returns 0 or -errno. */
static int rcore_push_slot(rcore_t *c, uint32_t slot)
{
    if (c->nfree == c->freecap) {
        if (c->freecap > ((uint64_t)1 << 36) / sizeof *c->freeslots) return -ENOMEM;
        size_t old = c->freecap * sizeof *c->freeslots;
        void *p = mremap(c->freeslots, old, old * 2, MREMAP_MAYMOVE);
        if (p == MAP_FAILED) return -ENOMEM;
        c->freeslots = p;
        c->freecap *= 2;
    }
    c->freeslots[c->nfree++] = slot;
    return 0;
}

int rcore_free(rcore_t *c, uintptr_t p, uint32_t thread)
{
    if (c->failed) return -c->failed;
    if (!p) return 0;
    uint64_t i = rcore_find(c, p);
    if (!c->cells[i].ptr) {
        c->dropped++;
        return 0;
    }
    rcore_cell_t cell = c->cells[i];
    /* Room first, so that a failure leaves the block live. */
    int rc = rcore_room(c, TBENC_MAX_EVENT);
    if (rc < 0) return rc;
    if ((rc = rcore_push_slot(c, cell.slot)) < 0) return rcore_fail(c, -rc);
    rcore_delete(c, i);
    trace_event_t ev = {.op = TRACE_FREE,
                        .domain = cell.domain,
                        .id = cell.slot,
                        .slot = cell.slot,
                        .thread = thread};
    c->len += tbenc_event(&c->enc, c->buf + c->len, &ev);
    return 1;
}

int rcore_realloc(rcore_t *c, uintptr_t old, uintptr_t newp, uint64_t size, uint8_t domain,
                  uint32_t thread)
{
    if (c->failed) return -c->failed;
    if (!old) return rcore_alloc(c, newp, TRACE_ALLOC, 0, size, domain, thread);
    uint64_t i = rcore_find(c, old);
    if (!c->cells[i].ptr) {
        c->dropped++;
        return rcore_alloc(c, newp, TRACE_ALLOC, 0, size, domain, thread);
    }
    rcore_cell_t cell = c->cells[i];
    int rc = rcore_room(c, TBENC_MAX_EVENT);
    if (rc < 0) return rc;
    if (newp != old) {
        if (rcore_full(c)) {
            if (rcore_grow(c) < 0) return rcore_fail(c, ENOMEM);
            i = rcore_find(c, old);
        }
        rcore_delete(c, i);
        uint64_t j = rcore_find(c, newp);
        if (c->cells[j].ptr) {
            /* NEW was live in our eyes: a free we missed (see rcore_alloc). */
            rcore_cell_t stale = c->cells[j];
            if ((rc = rcore_push_slot(c, stale.slot)) < 0) return rcore_fail(c, -rc);
            trace_event_t fev = {.op = TRACE_FREE,
                                 .domain = stale.domain,
                                 .id = stale.slot,
                                 .slot = stale.slot,
                                 .thread = thread};
            c->len += tbenc_event(&c->enc, c->buf + c->len, &fev);
            if ((rc = rcore_room(c, TBENC_MAX_EVENT)) < 0) return rc;
        } else {
            c->nused++;
        }
        c->cells[j] = (rcore_cell_t){newp, cell.slot, cell.domain, c->gen};
    }
    if (size > TRACE_MAX_SIZE) size = TRACE_MAX_SIZE;
    trace_event_t ev = {.op = TRACE_REALLOC,
                        .domain = cell.domain,
                        .id = cell.slot,
                        .slot = cell.slot,
                        .size = size,
                        .thread = thread};
    c->len += tbenc_event(&c->enc, c->buf + c->len, &ev);
    return 0;
}

int rcore_marker(rcore_t *c, const char *key, const char *value)
{
    size_t n = tbenc_marker_size(key, value);
    int rc = rcore_room(c, n);
    if (rc < 0) return rc;
    c->len += tbenc_marker(c->buf + c->len, key, value);
    return 0;
}

int rcore_is_valid(const rcore_t *c)
{
    if (!c->cells || !c->freeslots) return 0;
    size_t bytes = ((size_t)c->nslots + 8) / 8;
    uint8_t *seen = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (seen == MAP_FAILED) return 0;
    int ok = 1;
    uint64_t used = 0, mask = c->ncells - 1;
    for (uint64_t i = 0; ok && i < c->ncells; i++) {
        const rcore_cell_t *cell = &c->cells[i];
        if (!cell->ptr) continue;
        used++;
        if (cell->gen != c->gen) ok = 0; /* a doubling left it unplaced */
        /* Reachable from its home without crossing an empty cell. */
        for (uint64_t j = rcore_hash(c, cell->ptr); j != i; j = (j + 1) & mask)
            if (!c->cells[j].ptr) ok = 0;
        if (cell->slot >= c->nslots || (seen[cell->slot / 8] & (1u << cell->slot % 8))) ok = 0;
        if (ok) seen[cell->slot / 8] |= (uint8_t)(1u << cell->slot % 8);
    }
    for (uint32_t k = 0; ok && k < c->nfree; k++) {
        uint32_t s = c->freeslots[k];
        if (s >= c->nslots || (seen[s / 8] & (1u << s % 8))) ok = 0;
        if (ok) seen[s / 8] |= (uint8_t)(1u << s % 8);
    }
    if (used != c->nused || used + c->nfree != c->nslots) ok = 0;
    munmap(seen, bytes);
    return ok;
}
