/* minreplay.c: an independent, minimal replay that measures a trace's peak
 * anonymous resident memory under the process's own malloc — the check
 * that `arenalab replay`'s `peak_resident_bytes` is tested against
 * (sim/cli/resident_check_test.sh).  It shares nothing with sim/replay/:
 * the trace library only decodes, before anything is measured.
 *
 *   minreplay TRACE   prints "peak_resident_bytes N peak_live_bytes M events E"
 *   minreplay --time [--reuse] TRACE
 *                     prints "ns N events E ns_per_event X": the time of one
 *                     loop over the pre-decoded events calling malloc, calloc,
 *                     realloc and free directly, nothing touched and nothing
 *                     sampled, each stretch of 16 K events started on a fresh
 *                     time slice as arenalab's chunks are (mr_time) -- the
 *                     reference of `arenalab replay --alloc raw --touch none`
 *                     (scripts/bench, section 2).  --reuse calls
 *                     functions of this file instead, which hand back one
 *                     block and free nothing: the loop's own cost, the floor
 *                     the harness's `reuse` allocator is compared with.
 *
 * Run it as is for glibc's malloc, with LD_PRELOAD=libjemalloc.so.2 (etc.)
 * for another; it is built without sanitizers (sim/replay/BUILD) for that.
 *
 * Decoding happens in a child process, so that the reader's heap (its id
 * hashes and slot tables, freed but still resident and reused by the
 * replay) never lowers the figure: measured in-process, it hid 1.2 to
 * 1.4 MiB of jemalloc's on the recorded Python and perl traces.  The child makes two reader passes:
 *   1. count events, owned-block entries, `m` events, block and arena slots;
 *   2. decode every event: op, slot (aslot for arena events), bytes (an
 *      `x`: offset into owned[], which holds the count, then the slots);
 *      find the peak of live requested bytes and the first event reaching
 *      it;
 * and sends the counts and arrays through a pipe.  The parent reads them
 * into arrays it maps (MAP_PRIVATE | MAP_ANONYMOUS, every page written, so
 * resident before the baseline), calls each malloc entry point once, reads
 * the baseline, and replays with direct calls.  Arena events: `m` is a
 * malloc appended to its arena's list (a chain through mnext[], one entry
 * per `m` event); `x` frees the list oldest first, as CPython's PyArena
 * frees its blocks (glibc's peak moves by a third on ast.atr if newest
 * first), then the owned blocks in the order of their `o`; `n` starts an
 * empty list; `o` is the reader's bookkeeping (owned[] says it all).
 *
 * Invariants: between the baseline and the last sample nothing calls
 * malloc but the trace's own events (no stdio; statm is read with pread
 * into a stack buffer); every new block, and the grown part of a realloc,
 * gets one write per 4096 bytes and one to its last byte; a sample is taken
 * every ceil(events/1000) events, at the peak-live event and at the end.
 * Transparent huge pages are off, as in arenalab's workers (sim/cli/main.c):
 * the flag has to be set before the preloaded malloc maps anything, which
 * may happen before main, so minreplay sets it and runs its own image
 * again (ARENALAB_HUGEPAGES=system leaves the system's setting, as
 * arenalab does).
 *
 * Errors: exit 2 (usage, unreadable trace), 1 (a bad trace, a failed
 * allocation), with a message on stderr.
 */
#include "sim/trace/trace.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MR_PAGE    4096
#define MR_SAMPLES 1000
#define MR_NONE    UINT32_MAX

/* What the child sends first: the sizes of everything that follows. */
typedef struct {
    uint64_t events, nowned, marenas; /* array lengths                      */
    uint64_t slots, aslots;           /* 1 + highest slot / aslot           */
    uint64_t peak_live, peak_at;      /* peak live bytes; its 1-based event */
} mr_counts_t;

typedef struct {
    mr_counts_t n;
    uint8_t *op;      /* [events] trace_op_t                                */
    uint32_t *ref;    /* [events] slot, or aslot (n m o x)                  */
    uint64_t *arg;    /* [events] bytes; x: offset into owned[]             */
    uint32_t *owned;  /* [nowned] per x: count, then the owned slots        */
    void **ptr;       /* [slots] live block, or NULL                        */
    uint64_t *size;   /* [slots] its requested bytes                        */
    uint64_t *abytes; /* [aslots] child: live bytes of the arena            */
    uint32_t *ahead;  /* [aslots] oldest `m` of the arena's list, or MR_NONE */
    uint32_t *atail;  /* [aslots] newest `m` of the arena's list            */
    void **mptr;      /* [marenas] the `m` allocation                       */
    uint32_t *mnext;  /* [marenas] next newer `m` of the same arena         */
} mr_t;

static void mr_die(int code, const char *msg)
{
    fprintf(stderr, "minreplay: %s\n", msg);
    exit(code);
}

/* Fails during the replay: write(2) only, no stdio. */
static void mr_die_raw(const char *msg)
{
    ssize_t n = write(2, msg, strlen(msg));
    (void)n;
    _exit(1);
}

/* N elements of ELEM bytes in a fresh anonymous mapping, every page
 * written so that it is resident before the baseline; exits on failure. */
static void *mr_map(uint64_t n, size_t elem)
{
    if (n > SIZE_MAX / elem - 1) mr_die(1, "trace too large to map");
    size_t bytes = (size_t)(n + 1) * elem;
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) mr_die(1, "out of memory for the event arrays");
    memset(p, 0, bytes);
    return p;
}

/* Moves LEN bytes through the pipe FD (READING or writing); 0 or -1. */
static int mr_xfer(int fd, void *buf, uint64_t len, int reading)
{
    for (char *p = buf; len > 0;) {
        ssize_t k = reading ? read(fd, p, len) : write(fd, p, len);
        if (k <= 0) return -1;
        p += k;
        len -= (uint64_t)k;
    }
    return 0;
}

/* The arrays that travel from the child to the parent, as a table. */
static int mr_xfer_arrays(int fd, mr_t *m, int reading)
{
    void *buf[] = {m->op, m->ref, m->arg, m->owned};
    uint64_t len[] = {m->n.events * sizeof *m->op, m->n.events * sizeof *m->ref,
                      m->n.events * sizeof *m->arg, m->n.nowned * sizeof *m->owned};
    for (int i = 0; i < 4; i++)
        if (mr_xfer(fd, buf[i], len[i], reading)) return -1;
    return 0;
}

static void mr_map_arrays(mr_t *m)
{
    m->op = mr_map(m->n.events, sizeof *m->op);
    m->ref = mr_map(m->n.events, sizeof *m->ref);
    m->arg = mr_map(m->n.events, sizeof *m->arg);
    m->owned = mr_map(m->n.nowned, sizeof *m->owned);
    m->ptr = mr_map(m->n.slots, sizeof *m->ptr);
    m->size = mr_map(m->n.slots, sizeof *m->size);
    m->abytes = mr_map(m->n.aslots, sizeof *m->abytes);
    m->ahead = mr_map(m->n.aslots, sizeof *m->ahead);
    m->atail = mr_map(m->n.aslots, sizeof *m->atail);
    m->mptr = mr_map(m->n.marenas, sizeof *m->mptr);
    m->mnext = mr_map(m->n.marenas, sizeof *m->mnext);
}

/* Next event or 0 at the end; a reader error ends the program. */
static int mr_next(trace_reader_t *r, trace_event_t *ev)
{
    int rc = trace_next(r, ev);
    if (rc < 0) mr_die(1, trace_error(r));
    return rc;
}

static int mr_is_block(int op)
{
    return op <= TRACE_FREE || op == TRACE_ARENA_OWN;
}

/* Pass 1: the sizes of the arrays. */
static void mr_count(mr_counts_t *n, trace_reader_t *r)
{
    trace_event_t ev;
    const uint32_t *slots;
    while (mr_next(r, &ev)) {
        n->events++;
        if (mr_is_block(ev.op) && ev.slot + 1ull > n->slots) n->slots = ev.slot + 1ull;
        if (ev.op >= TRACE_ARENA_NEW && ev.aslot + 1ull > n->aslots) n->aslots = ev.aslot + 1ull;
        if (ev.op == TRACE_ARENA_MALLOC) n->marenas++;
        if (ev.op == TRACE_ARENA_FREE) n->nowned += 1 + trace_owned(r, ev.aslot, &slots);
    }
    if (n->marenas >= MR_NONE) mr_die(1, "too many arena allocations");
}

/* Pass 2: the arrays, and live requested bytes as arenalab counts them
 * (blocks plus arena allocations; calloc is NMEMB * SIZE). */
static void mr_decode(mr_t *m, trace_reader_t *r)
{
    trace_event_t ev;
    uint64_t i = 0, off = 0, live = 0;
    while (i < m->n.events && mr_next(r, &ev)) {
        uint64_t bytes = ev.size;
        m->op[i] = ev.op;
        m->ref[i] = mr_is_block(ev.op) ? ev.slot : ev.aslot;
        switch (ev.op) {
        case TRACE_CALLOC:
            if (__builtin_mul_overflow(ev.nmemb, ev.size, &bytes))
                mr_die(1, "calloc size overflows");
            /* fall through */
        case TRACE_ALLOC:
            live += bytes;
            m->size[ev.slot] = bytes;
            break;
        case TRACE_REALLOC:
            live = live - m->size[ev.slot] + bytes;
            m->size[ev.slot] = bytes;
            break;
        case TRACE_FREE:
            live -= m->size[ev.slot];
            break;
        case TRACE_ARENA_NEW:
            m->abytes[ev.aslot] = 0;
            break;
        case TRACE_ARENA_MALLOC:
            m->abytes[ev.aslot] += bytes;
            live += bytes;
            break;
        case TRACE_ARENA_FREE: {
            const uint32_t *slots;
            size_t k = trace_owned(r, ev.aslot, &slots);
            if (off + 1 + k > m->n.nowned) mr_die(1, "trace changed between passes");
            bytes = off;
            m->owned[off++] = (uint32_t)k;
            for (size_t j = 0; j < k; j++) {
                m->owned[off++] = slots[j];
                live -= m->size[slots[j]];
            }
            live -= m->abytes[ev.aslot];
            break;
        }
        default: /* TRACE_ARENA_OWN */
            break;
        }
        m->arg[i++] = bytes;
        if (live > m->n.peak_live) {
            m->n.peak_live = live;
            m->n.peak_at = i;
        }
    }
    if (i != m->n.events) mr_die(1, "trace changed between passes");
}

/* The child: decodes PATH and sends it through FD; never returns. */
static void mr_child(const char *path, int fd)
{
    char err[512];
    trace_reader_t *r;
    if (trace_open(&r, path, err, sizeof err) < 0) mr_die(2, err);
    mr_t m;
    memset(&m, 0, sizeof m);
    mr_count(&m.n, r);
    if (trace_rewind(r) < 0) mr_die(1, trace_error(r));
    mr_map_arrays(&m);
    mr_decode(&m, r);
    trace_close(r);
    if (mr_xfer(fd, &m.n, sizeof m.n, 0) || mr_xfer_arrays(fd, &m, 0))
        mr_die(1, "cannot send the decoded trace");
    exit(0);
}

/* Anonymous resident bytes (statm: resident - shared, in pages). */
static uint64_t mr_anon(int fd)
{
    char buf[128];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) mr_die_raw("minreplay: cannot read /proc/self/statm\n");
    buf[n] = '\0';
    uint64_t f[3] = {0, 0, 0};
    const char *p = buf;
    for (int k = 0; k < 3; k++) {
        while (*p == ' ')
            p++;
        while (*p >= '0' && *p <= '9')
            f[k] = f[k] * 10 + (uint64_t)(*p++ - '0');
    }
    return (f[1] > f[2] ? f[1] - f[2] : 0) * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* One write per page of [FROM, TO) of block P, and one to its last byte. */
static void mr_touch(void *p, uint64_t from, uint64_t to)
{
    volatile unsigned char *b = p;
    for (uint64_t o = from; o < to; o += MR_PAGE)
        b[o] = 1;
    if (to > from) b[to - 1] = 1;
}

/* --time --reuse: what arenalab's `reuse` does, as functions of this
 * file -- one block (a reservation mapped at start) handed back to every
 * request, calloc zeroing what it hands out, frees ignored (noinline, so
 * the loop keeps a call per event as it does with malloc). */
#define MR_REUSE_RESERVE ((size_t)1 << 36)
static unsigned char *mr_block;
static __attribute__((noinline)) void *mr_reuse_malloc(size_t size)
{
    __asm__ volatile("" : : "r"(size) : "memory");
    return mr_block;
}
static __attribute__((noinline)) void *mr_reuse_calloc(size_t n, size_t size)
{
    memset(mr_block, 0, n * size);
    return mr_block;
}
static __attribute__((noinline)) void *mr_reuse_realloc(void *p, size_t size)
{
    __asm__ volatile("" : : "r"(p), "r"(size) : "memory");
    return mr_block;
}
static __attribute__((noinline)) void mr_reuse_free(void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}

#define MR_INLINE static inline __attribute__((always_inline))

/* The calls of an event: the process's malloc, or the reused block. */
MR_INLINE void *mr_malloc(const int reuse, size_t n)
{
    return reuse ? mr_reuse_malloc(n) : malloc(n);
}
MR_INLINE void *mr_calloc(const int reuse, size_t n)
{
    return reuse ? mr_reuse_calloc(1, n) : calloc(1, n);
}
MR_INLINE void *mr_realloc(const int reuse, void *p, size_t n)
{
    return reuse ? mr_reuse_realloc(p, n) : realloc(p, n);
}
MR_INLINE void mr_free(const int reuse, void *p)
{
    if (reuse)
        mr_reuse_free(p);
    else
        free(p);
}

/* Applies event I; MORD counts the `m` events applied so far.  Sizes of 0
 * ask for 1 byte, as arenalab's classes do (glibc's realloc(p, 0) frees).
 * TOUCH and REUSE are constants: each loop below is compiled with its own. */
MR_INLINE void mr_apply(mr_t *m, uint64_t i, uint32_t *mord, const int touch, const int reuse)
{
    uint32_t s = m->ref[i];
    uint64_t bytes = m->arg[i];
    void *p;
    /* a free first, then the rest through the switch's jump table: the
     * dispatch arenalab's timed loop compiles to (a compare, then one
     * indirect jump), which spares half of most traces' events the jump */
    if (m->op[i] == TRACE_FREE) {
        mr_free(reuse, m->ptr[s]);
        m->ptr[s] = NULL;
        return;
    }
    switch (m->op[i]) {
    case TRACE_ALLOC:
    case TRACE_CALLOC:
        p = m->op[i] == TRACE_ALLOC ? mr_malloc(reuse, bytes ? bytes : 1)
                                    : mr_calloc(reuse, bytes ? bytes : 1);
        if (!p) mr_die_raw("minreplay: allocation failed\n");
        if (touch) mr_touch(p, 0, bytes);
        m->ptr[s] = p;
        m->size[s] = bytes;
        break;
    case TRACE_REALLOC:
        p = mr_realloc(reuse, m->ptr[s], bytes ? bytes : 1);
        if (!p) mr_die_raw("minreplay: realloc failed\n");
        if (touch && bytes > m->size[s]) mr_touch(p, m->size[s], bytes);
        m->ptr[s] = p;
        m->size[s] = bytes;
        break;
    case TRACE_ARENA_NEW:
        m->ahead[s] = MR_NONE;
        break;
    case TRACE_ARENA_MALLOC:
        p = mr_malloc(reuse, bytes ? bytes : 1);
        if (!p) mr_die_raw("minreplay: arena allocation failed\n");
        if (touch) mr_touch(p, 0, bytes);
        m->mptr[*mord] = p;
        m->mnext[*mord] = MR_NONE;
        if (m->ahead[s] == MR_NONE)
            m->ahead[s] = *mord;
        else
            m->mnext[m->atail[s]] = *mord;
        m->atail[s] = (*mord)++;
        break;
    case TRACE_ARENA_FREE: /* oldest first, as PyArena_Free; then what it owns */
        for (uint32_t k = m->ahead[s]; k != MR_NONE; k = m->mnext[k])
            mr_free(reuse, m->mptr[k]);
        m->ahead[s] = MR_NONE;
        for (uint32_t j = 0; j < m->owned[bytes]; j++) {
            uint32_t b = m->owned[bytes + 1 + j];
            mr_free(reuse, m->ptr[b]);
            m->ptr[b] = NULL;
        }
        break;
    default: /* TRACE_ARENA_OWN */
        break;
    }
}

static uint64_t mr_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Events per timed stretch: arenalab's REPLAY_CHUNK (sim/replay/replay.h),
 * restated here because this file shares nothing with the engine. */
#define MR_STRETCH 16384

/* --time: the loop over all events, timed in stretches of MR_STRETCH
 * events, each started on a fresh time slice (sched_yield, the clock
 * stopped) exactly as arenalab's timed loop starts each decoded chunk.
 * Timed in one piece, a loop that outlasts a time slice is preempted on a
 * loaded machine where arenalab's is not, and the reference came out up
 * to twice as slow (scripts/bench section 2 under load: raw / minreplay
 * 0.5-0.6 on adversary, ast, queue).  REUSE as in mr_apply. */
static uint64_t mr_time(mr_t *m, const int reuse)
{
    uint32_t mord = 0;
    uint64_t ns = 0;
    for (uint64_t i = 0; i < m->n.events;) {
        const uint64_t end = m->n.events - i > MR_STRETCH ? i + MR_STRETCH : m->n.events;
        sched_yield();
        const uint64_t t0 = mr_now_ns();
        for (; i < end; i++)
            mr_apply(m, i, &mord, 0, reuse);
        ns += mr_now_ns() - t0;
    }
    return ns;
}

/* Huge pages off from the image's start (see the top): sets the flag and
 * re-executes once; the second image finds it set. */
static void mr_small_pages(char **argv)
{
    const char *v = getenv("ARENALAB_HUGEPAGES");
    if ((v && !strcmp(v, "system")) || prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) != 0) return;
    if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0) return; /* a kernel without it */
    execv("/proc/self/exe", argv);
    mr_die(2, "cannot re-execute /proc/self/exe with huge pages off");
}

int main(int argc, char **argv)
{
    mr_small_pages(argv);
    int timed = 0, reuse = 0, a = 1;
    for (; a < argc && argv[a][0] == '-'; a++) {
        if (!strcmp(argv[a], "--time"))
            timed = 1;
        else if (!strcmp(argv[a], "--reuse"))
            reuse = 1;
        else
            break;
    }
    if (a != argc - 1 || argv[a][0] == '-' || (reuse && !timed)) {
        fputs("usage: minreplay [--time [--reuse]] TRACE\n", stderr);
        return 2;
    }
    const char *path = argv[a];
    int fds[2];
    if (pipe(fds)) mr_die(2, "pipe failed");
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) mr_die(2, "fork failed");
    if (pid == 0) {
        close(fds[0]);
        mr_child(path, fds[1]);
    }
    close(fds[1]);
    mr_t m;
    memset(&m, 0, sizeof m);
    int got = mr_xfer(fds[0], &m.n, sizeof m.n, 1) == 0;
    if (got) {
        mr_map_arrays(&m);
        got = mr_xfer_arrays(fds[0], &m, 1) == 0;
    }
    close(fds[0]);
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) mr_die(1, "the decoder crashed");
    if (WEXITSTATUS(status)) return WEXITSTATUS(status); /* it said why */
    if (!got) mr_die(1, "short read from the decoder");

    /* Every entry point once (lazy binding, the allocator's own start);
     * volatile, or the compiler drops a calloc freed unused. */
    void *volatile warm = malloc(16);
    warm = realloc(warm, 32);
    free(warm);
    warm = calloc(1, 16);
    free(warm);
    if (reuse) {
        void *block = mmap(NULL, MR_REUSE_RESERVE, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (block == MAP_FAILED) mr_die(1, "cannot reserve the reused block");
        mr_block = block;
    }
    if (timed) {
        uint64_t ns = reuse ? mr_time(&m, 1) : mr_time(&m, 0);
        printf("ns %llu events %llu ns_per_event %.2f\n", (unsigned long long)ns,
               (unsigned long long)m.n.events, m.n.events ? (double)ns / (double)m.n.events : 0.0);
        return 0;
    }
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) mr_die(2, "cannot open /proc/self/statm");

    /* ---- measured: the trace's own calls only, from here to the end ---- */
    const uint64_t step = (m.n.events + MR_SAMPLES - 1) / MR_SAMPLES;
    const uint64_t base = mr_anon(fd);
    uint64_t peak = 0;
    uint32_t mord = 0;
    for (uint64_t i = 0; i < m.n.events; i++) {
        mr_apply(&m, i, &mord, 1, 0);
        uint64_t n = i + 1;
        if (n % step == 0 || n == m.n.peak_at || n == m.n.events) {
            uint64_t rss = mr_anon(fd);
            if (rss > base && rss - base > peak) peak = rss - base;
        }
    }
    /* ---- end of the measured part ---- */

    close(fd);
    printf("peak_resident_bytes %llu peak_live_bytes %llu events %llu\n", (unsigned long long)peak,
           (unsigned long long)m.n.peak_live, (unsigned long long)m.n.events);
    return 0;
}
