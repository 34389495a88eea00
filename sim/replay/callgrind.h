/* callgrind.h: instruction and cache-miss counts of a replay, taken under
 * valgrind's callgrind -- figures that do not depend on how loaded or how
 * fast the machine is.
 *
 * How a count is taken (`replay --measure instructions`).  The driver runs
 * the worker under callgrind (cg_argv: `valgrind --tool=callgrind
 * CG_OPTIONS --callgrind-out-file=DIR/cg SELF replay --worker --count
 * DIR/cg ...`), with collection off from the start.  In the counted run the
 * replay switches it on just before each event's allocator call and off
 * after that event's payload touches (cg_on, cg_off; replay.h): what is
 * counted is the allocator's work and the program's use of the block; the
 * decoding, dispatch and table bookkeeping of the harness are not.  The
 * worker then dumps (DIR/cg.1), runs CG_PROBE_PAIRS empty on/off pairs and
 * dumps again (DIR/cg.2): the cost of one pair itself (the call into cg_off
 * and the request's few instructions, identical at every probe), which
 * cg_subtract takes off the run's counts, once per pair the run made.
 *
 * Simulated caches.  Fixed, not the host's (valgrind would read the host's
 * with CPUID): I1 and D1 32 KiB 8-way, LL 8 MiB 16-way, 64-byte lines, so a
 * count means the same on every machine.  Misses of the harness's own
 * accesses between two events are not counted, but they do evict lines,
 * as a program's own work would.
 *
 * Determinism.  The count of a (trace, allocator, parameters) is the same
 * run after run, whatever else the machine does: callgrind counts
 * instructions, not time; the worker runs without address randomisation
 * and with eager binding (LD_BIND_NOW: no lazy symbol resolution in the
 * counted region); time-driven behaviour of an allocator is the one thing
 * that could move it (README.md, "Instruction counts").
 *
 * Failure: cg_parse returns 0, or -1 with a message; cg_check returns 0,
 * or -1 with a message saying why counting cannot run here (a sanitized
 * build, no valgrind). */
#ifndef ARENALAB_SIM_REPLAY_CALLGRIND_H
#define ARENALAB_SIM_REPLAY_CALLGRIND_H

#include <stddef.h>
#include <stdint.h>

/* The events of callgrind's cache simulation, in its own order. */
#define CG_EVENTS(X)                                                                               \
    X(IR, "Ir")                                                                                    \
    X(DR, "Dr")                                                                                    \
    X(DW, "Dw")                                                                                    \
    X(I1MR, "I1mr")                                                                                \
    X(D1MR, "D1mr")                                                                                \
    X(D1MW, "D1mw")                                                                                \
    X(ILMR, "ILmr")                                                                                \
    X(DLMR, "DLmr")                                                                                \
    X(DLMW, "DLmw")

enum {
#define CG_ENUM(id, name) CG_##id,
    CG_EVENTS(CG_ENUM)
#undef CG_ENUM
        CG_NEVENTS
};

extern const char *const cg_event_name[CG_NEVENTS];

typedef struct {
    uint64_t v[CG_NEVENTS];
} cg_counts_t;

/* Empty on/off pairs timed after the run, to measure one pair. */
#define CG_PROBE_PAIRS 1000

/* The simulated caches (size, associativity, line size). */
#define CG_I1 "32768,8,64"
#define CG_D1 "32768,8,64"
#define CG_LL "8388608,16,64"

/* Whether this process runs under valgrind. */
int cg_running(void);

/* Collection on / off (callgrind's toggle: the caller keeps them paired;
 * nothing outside valgrind).  Out of line on purpose: every pair costs
 * the same instructions, wherever it is, so one measured pair stands for
 * all of them. */
void cg_on(void);
void cg_off(void);
/* Zeroes the counts so far; writes them to the next dump file (and zeroes
 * them).  WHAT names the dump. */
void cg_zero(void);
void cg_dump(const char *what);

/* CG_PROBE_PAIRS empty pairs (between two dumps). */
void cg_probe_pairs(void);

/* Reads the totals of the callgrind output file PATH into OUT.  Returns 0
 * or -1 with ERR. */
int cg_parse(const char *path, cg_counts_t *out, char *err, size_t errlen);

/* RUN's counts without PAIRS probe pairs, given PROBE, the counts of
 * CG_PROBE_PAIRS of them: OUT = RUN - PROBE * PAIRS / CG_PROBE_PAIRS,
 * never below 0. */
void cg_subtract(const cg_counts_t *run, uint64_t pairs, const cg_counts_t *probe,
                 cg_counts_t *out);

/* Whether counting can run here: a build valgrind can run (not sanitized)
 * and a valgrind on $PATH (or $ARENALAB_VALGRIND), whose path goes into
 * VALGRIND.  Returns 0 or -1 with ERR. */
int cg_check(char *valgrind, size_t len, char *err, size_t errlen);

/* The arguments before the worker's own: valgrind's path, the tool and
 * its options, the output file OUT and valgrind's own messages in
 * OUT.log (it warns about the host's caches even when told to be quiet).
 * ARGV gets at most CG_MAX_ARGS pointers, two of them into BUF; the count
 * is returned. */
#define CG_MAX_ARGS 16
#define CG_ARG_MAX  4200
int cg_argv(const char *valgrind, const char *out, char (*buf)[CG_ARG_MAX], const char **argv);

#endif
