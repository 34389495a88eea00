/* fuzz_common.h: what both fuzz targets do with an input, so that the text
 * and binary targets differ only in how they name the input.
 *
 * Oracles, beyond "no crash, no leak, no undefined behaviour":
 *   - the live tables satisfy live_is_valid after every input;
 *   - trace_next_batch gives what trace_next gives (events, errors), in
 *     strict and in fast mode;
 *   - an input that reads without any error survives a round trip through
 *     the other format: the events, markers and metadata read back from
 *     binary (then text again) are those of the input.
 *
 * Cost per input, since a bounded run is worth what it executes: inputs are
 * read from memory, the round trips write into memory streams (no file, no
 * fsync, no rename), and the oracle's own loops are left out of coverage
 * instrumentation (FUZZ_NOCOV): under -fsanitize=fuzzer every compare in
 * them was a callback, and their branches are not the code under test.
 * Header-only (static): each fuzz target is one translation unit. */
#ifndef ARENALAB_SIM_TRACE_FUZZ_COMMON_H
#define ARENALAB_SIM_TRACE_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim/trace/internal/trace_impl.h"

/* Events read per input at most: keeps a run's inputs fast. */
#define FUZZ_MAX_EVENTS 100000

/* The harness's own code, outside libFuzzer's coverage (clang only; gcc
 * builds the targets without it). */
#if defined(__clang__)
#define FUZZ_NOCOV __attribute__((no_sanitize("coverage")))
#else
#define FUZZ_NOCOV
#endif

/* FNV-1a over N bytes, continuing H. */
FUZZ_NOCOV static uint64_t fuzz_hash(uint64_t h, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ ((const uint8_t *)p)[i]) * 0x100000001b3ull;
    return h;
}

/* The same mix, a 64-bit word at a time. */
FUZZ_NOCOV static uint64_t fuzz_hash_words(uint64_t h, const uint64_t *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ w[i]) * 0x100000001b3ull;
    return h;
}

FUZZ_NOCOV static uint64_t fuzz_hash_str(uint64_t h, const char *s)
{
    return fuzz_hash(h, s, strlen(s) + 1);
}

/* Reads DATA with FLAGS, event by event (BATCH 0) or with
 * trace_next_batch of at most BATCH (<= 16) events; returns 1 if it read
 * cleanly to its end (no error, not cut short).  *DIGEST: a hash of what
 * a reader hands out (events without their positions, errors, markers,
 * metadata), to compare two readings. */
FUZZ_NOCOV static int fuzz_read(const char *name, const uint8_t *data, size_t size, unsigned flags,
                                size_t batch, uint64_t *digest)
{
    trace_reader_t *r;
    char err[512];
    uint64_t h = 0xcbf29ce484222325ull;
    *digest = 0;
    if (trace_open_mem(&r, name, data, size, flags, err, sizeof err) < 0) return 0;
    trace_event_t evs[16];
    int rc, clean = 1;
    uint64_t n = 0;
    while ((rc = batch ? trace_next_batch(r, evs, batch) : trace_next(r, evs)) != 0 &&
           n < FUZZ_MAX_EVENTS) {
        if (rc < 0) {
            n++;
            clean = 0;
            h = fuzz_hash_str(fuzz_hash(h, &rc, sizeof rc), trace_error(r));
            if (rc != TRACE_ESYNTAX && rc != TRACE_ESEM) break;
            if (strncmp(trace_error(r), name, strlen(name)) != 0) abort(); /* names the file */
            continue;
        }
        if ((size_t)rc > (batch ? batch : 1)) abort();
        for (int i = 0; i < rc; i++, n++) {
            const trace_event_t *ev = &evs[i];
            if (ev->op >= TRACE_NOPS || ev->domain >= TRACE_NDOMAINS) abort();
            /* a block event names a slot that is live after it (freed for
             * f); after a batch, the live tables are past its other events */
            int names_block = ev->op <= TRACE_FREE || ev->op == TRACE_ARENA_OWN;
            if (names_block && i == rc - 1 &&
                live_block_is_live(&r->live, ev->slot) != (ev->op != TRACE_FREE))
                abort();
            if (ev->op == TRACE_ARENA_FREE) {
                /* the last of its batch, where trace_owned answers */
                const uint32_t *owned;
                if (i != rc - 1) abort();
                size_t k = trace_owned(r, ev->aslot, &owned);
                for (size_t j = 0; j < k; j++)
                    if (owned[j] >= r->live.nblocks || live_block_is_live(&r->live, owned[j]))
                        abort();
            }
            uint64_t f[] = {ev->op,    ev->domain, ev->id,    ev->arena, ev->slot,
                            ev->aslot, ev->size,   ev->nmemb, ev->thread};
            h = fuzz_hash_words(h, f, sizeof f / sizeof f[0]);
        }
    }
    if (rc != 0 || trace_truncated(r)) clean = 0;
    if (!live_is_valid(&r->live)) abort();
    const trace_marker_t *m;
    size_t nm = trace_markers(r, &m);
    for (size_t i = 0; i < nm; i++) {
        h = fuzz_hash(h, &m[i].at, sizeof m[i].at);
        h = fuzz_hash_str(fuzz_hash_str(h, m[i].key), m[i].value);
    }
    const trace_meta_t *meta = trace_meta(r);
    for (size_t i = 0; i < meta->n; i++)
        h = fuzz_hash_str(fuzz_hash_str(h, meta->entries[i].key), meta->entries[i].value);
    trace_close(r);
    *digest = h;
    return clean;
}

/* The round trips' output: one memory file for the process (memfd: no
 * path, no disk, no fsync), emptied before each use; NULL when there is
 * none.  Not open_memstream: glibc's cuts the stream where the binary
 * writer seeks back to patch its header. */
FUZZ_NOCOV static FILE *fuzz_memfile(void)
{
    static FILE *fp;
    if (!fp) {
        int fd = memfd_create("arenalab-fuzz", MFD_CLOEXEC);
        if (fd < 0) return NULL;
        if (!(fp = fdopen(fd, "w+b"))) {
            close(fd);
            return NULL;
        }
    }
    rewind(fp);
    return ftruncate(fileno(fp), 0) == 0 ? fp : NULL;
}

/* Converts DATA to FMT in memory, reads it back: same digest, or abort. */
FUZZ_NOCOV static void fuzz_round_trip(const uint8_t *data, size_t size, uint64_t digest,
                                       trace_format_t fmt)
{
    char err[512];
    FILE *fp = fuzz_memfile();
    if (!fp) return; /* out of memory: not the code's fault */
    trace_reader_t *r;
    trace_writer_t *w;
    if (trace_open_mem(&r, "in", data, size, 0, err, sizeof err) < 0) abort();
    if (trace_writer_open_stream(&w, fp, "out", fmt, trace_meta(r), 0, err, sizeof err) < 0) {
        trace_close(r);
        return;
    }
    const char *msg;
    if (trace_copy(r, w, 0, NULL, &msg) < 0) abort();
    trace_close(r);
    if (trace_writer_close(w) < 0) return;
    /* an exact-size copy, so that ASan sees any read past its end */
    off_t n = lseek(fileno(fp), 0, SEEK_END);
    uint8_t *out = n >= 0 ? malloc(n ? (size_t)n : 1) : NULL;
    if (!out) return;
    if (pread(fileno(fp), out, (size_t)n, 0) != (ssize_t)n) abort();
    uint64_t digest2;
    if (!fuzz_read("out", out, (size_t)n, 0, 0, &digest2) || digest2 != digest) abort();
    free(out);
}

FUZZ_NOCOV static int fuzz_one(const char *name, const uint8_t *data, size_t size)
{
    uint64_t digest, fast, batched;
    int clean = fuzz_read(name, data, size, 0, 0, &digest);
    /* batches give what single events give, errors included, in both
     * modes (the fast mode's loop is its own code) */
    fuzz_read(name, data, size, TRACE_R_FAST, 0, &fast);
    fuzz_read(name, data, size, TRACE_R_FAST, 7, &batched);
    if (batched != fast) abort();
    /* and batches with room for the version 3 reader's runs of `m`
     * decoded eight at a time */
    fuzz_read(name, data, size, TRACE_R_FAST, 16, &batched);
    if (batched != fast) abort();
    fuzz_read(name, data, size, 0, 5, &batched);
    if (batched != digest) abort();
    if (clean) {
        /* fast mode sees the same events on anything strict mode accepts */
        if (fast != digest) abort();
        fuzz_round_trip(data, size, digest, TRACE_FMT_BIN);
        fuzz_round_trip(data, size, digest, TRACE_FMT_TEXT);
    }
    return 0;
}

/* The binary targets: the input with its first NHEAD bytes replaced by
 * HEAD (the magic, and for versions 2 and 3 the version), so that every input
 * reaches the reader under test, read once as it is and once with the
 * header's COMPLETE flag cleared, since most mutations break the counts
 * the flag vouches for, and then little else would be tested. */
__attribute__((unused)) FUZZ_NOCOV static int fuzz_binary(const uint8_t *data, size_t size,
                                                          const uint8_t *head, size_t nhead)
{
    if (size < nhead) return 0;
    uint8_t *copy = malloc(size);
    if (!copy) return 0;
    memcpy(copy, data, size);
    memcpy(copy, head, nhead);
    fuzz_one("fuzz.atr", copy, size);
    if (size > TBENC_OFF_FLAGS && (copy[TBENC_OFF_FLAGS] & TBENC_F_COMPLETE)) {
        copy[TBENC_OFF_FLAGS] &= (uint8_t)~TBENC_F_COMPLETE;
        fuzz_one("fuzz.atr", copy, size);
    }
    free(copy);
    return 0;
}

#endif
