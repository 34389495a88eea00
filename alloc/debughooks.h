/* debughooks.h: CPython 3.11's debug hooks on the memory allocators
 * (PyMem_SetupDebugHooks(), PYTHONMALLOC=debug / pymalloc_debug /
 * malloc_debug) as a layer around any allocator instance, our own code.
 *
 * A layer (dbg_t) wraps one instance of any class and serves the three
 * CPython domains through three faces, each an alloc_t with the domain's
 * API id ('r', 'm', 'o'), as CPython installs one hook per domain around
 * that domain's allocator.  Every block gets CPython's header and trailer,
 * new memory its clean byte, freed memory its dead byte, and the wrapped
 * allocator sees exactly the requests CPython's hooks send it (the layout,
 * the request sequence and the faults are described in debughooks.c).
 *
 * Invariants (dbg_is_valid): face d serves domain d with API id
 * dbg_api_id[d] and leads back to its layer; a block a face handed out and
 * nobody has overwritten passes dbg_check() through the face of the domain
 * that allocated it, and fails it (a bad ID) through any other face.
 *
 * Failure: dbg_new returns NULL (out of memory).  malloc/calloc/realloc
 * return NULL when the wrapped allocator does, and for sizes above
 * PY_SSIZE_T_MAX - 24 (CPython's limit, overflow of a calloc product
 * included).  A fault found by free or realloc (an API id that is not the
 * face's, a leading or trailing pad byte overwritten) is CPython's fatal
 * error: with no report function the layer prints CPython's report on
 * stderr and aborts, as CPython does; with one, it calls it and the call
 * does nothing (free) or returns NULL (realloc), leaving the block as it
 * was.
 */
#ifndef ARENALAB_ALLOC_DEBUGHOOKS_H
#define ARENALAB_ALLOC_DEBUGHOOKS_H

#include "alloc/alloc.h"

#include <stddef.h>
#include <stdio.h>

/* The block layout of 3.11 (PYMEM_DEBUG_SERIALNO undefined, its default),
 * on a 64-bit size_t: SST = sizeof(size_t). */
#define DBG_SST   8
#define DBG_HEAD  (2 * DBG_SST)         /* size, API id, 7 forbidden bytes */
#define DBG_TAIL  DBG_SST               /* 8 forbidden bytes               */
#define DBG_EXTRA (DBG_HEAD + DBG_TAIL) /* 24: what every request grows by */

/* Include/internal/pycore_pymem.h of 3.11. */
#define DBG_CLEANBYTE     0xCD /* clean (newly allocated) memory           */
#define DBG_DEADBYTE      0xDD /* dead (newly freed) memory                */
#define DBG_FORBIDDENBYTE 0xFD /* untouchable bytes at each end of a block */

/* 'r', 'm', 'o': the API id of the raw, mem and obj domains. */
extern const char dbg_api_id[3];

typedef enum {
    DBG_BAD_ID,       /* the header's API id is not the calling face's    */
    DBG_BAD_LEADING,  /* a forbidden byte before the block overwritten    */
    DBG_BAD_TRAILING, /* a forbidden byte after the block overwritten     */
    DBG_NFAULTS
} dbg_fault_kind_t;

typedef enum { DBG_OP_FREE, DBG_OP_REALLOC, DBG_OP_CHECK } dbg_op_t;

/* What a check found, in the terms of CPython's report. */
typedef struct {
    dbg_fault_kind_t kind;
    dbg_op_t op;   /* the call that checked                          */
    char api;      /* the calling face's API id                      */
    char found;    /* the API id byte in the block's header          */
    const void *p; /* the block, as its caller knows it              */
    size_t nbytes; /* the size its header holds (may be garbage after
                      DBG_BAD_LEADING)                               */
} dbg_fault_t;

/* Called with each fault when the layer was given it (see dbg_new). */
typedef void (*dbg_report_fn)(void *ud, const dbg_fault_t *fault);

typedef struct dbg_s dbg_t;

/* A layer around INNER, an instance of CLS; from now on the layer owns it
 * (dbg_delete destroys it).  REPORT NULL: faults are fatal, as in CPython;
 * otherwise see the top of this file.  NULL when out of memory (INNER is
 * then left alone). */
dbg_t *dbg_new(const alloc_class_t *cls, const alloc_t *inner, dbg_report_fn report, void *ud);

/* Destroys the layer and the instance it wraps. */
void dbg_delete(dbg_t *g);

/* The functions of domain D (0 raw, 1 mem, 2 obj): CPython's hook of that
 * domain.  The ctx stays valid until dbg_delete. */
alloc_t dbg_domain(dbg_t *g, int d);

/* The class of the layer's faces, valid until dbg_delete: destroy (of any
 * face: the whole layer), stats, mallocstats and set_raw are the wrapped
 * class's,
 * usable_size the wrapped block's (header and trailer included: overhead
 * counts as internal fragmentation); name, flags, preload as the wrapped
 * class's; create NULL.  A member the wrapped class lacks stays NULL. */
const alloc_class_t *dbg_class(const dbg_t *g);

/* The layer of face CTX (a dbg_domain ctx). */
dbg_t *dbg_of(void *ctx);

/* Checks live block P as free and realloc do through FACE, without
 * touching it.  0, or 1 with *F filled (nothing is reported). */
int dbg_check(const alloc_t *face, const void *p, dbg_fault_t *f);

/* The invariants above that can be checked without the blocks. */
int dbg_is_valid(const dbg_t *g);

/* CPython's fatal error message for F, without "Fatal Python error: ",
 * e.g. "_PyMem_DebugRawFree: bad ID: Allocated using API 'o', verified
 * using API 'r'".  snprintf-style result. */
int dbg_message(const dbg_fault_t *f, char *buf, size_t len);

/* What CPython prints before its fatal error (_PyObject_DebugDumpAddress):
 * the block at P, its API id, size, pad bytes and first and last data
 * bytes.  Reads the block's header and trailer as its size field says. */
void dbg_dump(FILE *out, const void *p);

/* Faults the layer has found since dbg_new. */
unsigned long long dbg_faults(const dbg_t *g);

#endif
