/* fuzz_import.c: libFuzzer target for the importers.  The first byte picks
 * the format ('h' heaptrack, 'm' mtrace, 'v' valgrind, 'c' chattymalloc,
 * 'w' wl, any other byte by its value) and, for other bytes, --strict and a short hold window; the
 * rest is the input.  Oracles beyond "no crash, no leak, no undefined
 * behaviour": an import either fails with a message that names the input
 * ("fuzz:" / "fuzz: byte"), or writes a trace that reads back without a
 * single error (every event valid for the trace so far). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/import/import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char out[4096];
    if (!out[0]) {
        /* tmpfs when there is one: the writer fsyncs every output */
        const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TEST_TMPDIR");
        snprintf(out, sizeof out, "%s/fuzz_import.%ld.atr", dir ? dir : "/tmp", (long)getpid());
    }
    if (size == 0) return 0;
    size_t n = 0;
    while (imp_formats[n])
        n++;
    static const struct {
        char sel;
        const char *name;
    } by_letter[] = {
        {'h', "heaptrack"}, {'m', "mtrace"}, {'v', "valgrind"}, {'c', "chattymalloc"}, {'w', "wl"}};
    const imp_format_t *f = NULL;
    for (size_t i = 0; i < sizeof by_letter / sizeof by_letter[0]; i++)
        if (data[0] == by_letter[i].sel) f = imp_format_find(by_letter[i].name);
    imp_opts_t o = {0};
    if (!f) {
        f = imp_formats[data[0] % n];
        o.strict = (data[0] >> 7) & 1;
        o.hold_window = 1 + ((data[0] >> 4) & 7);
        o.free_policy = (data[0] >> 3) & 1 ? IMP_FREE_FIFO : IMP_FREE_LIFO;
        o.no_fuse = (data[0] >> 2) & 1;
    }
    imp_summary_t sum;
    char err[512];
    int rc =
        imp_run_mem(f, "fuzz", data + 1, size - 1, out, TRACE_FMT_BIN, &o, &sum, err, sizeof err);
    if (rc < 0) {
        if (strncmp(err, "fuzz", 4) != 0) {
            fprintf(stderr, "fuzz_import: a message that does not name the input: %s\n", err);
            abort();
        }
        return 0;
    }
    trace_reader_t *r;
    if (trace_open(&r, out, err, sizeof err) < 0) {
        fprintf(stderr, "fuzz_import: the import cannot be read: %s\n", err);
        abort();
    }
    trace_event_t ev;
    int k;
    while ((k = trace_next(r, &ev)) == 1) {
    }
    if (k < 0) {
        fprintf(stderr, "fuzz_import: the import is not a valid trace: %s\n", trace_error(r));
        abort();
    }
    trace_close(r);
    unlink(out);
    return 0;
}
