/* fuzz_bin.c: libFuzzer target for the binary parser (see fuzz_common.h).
 * The input's first four bytes are replaced by the magic, so that every
 * input reaches the binary reader. */
#include "sim/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) return 0;
    uint8_t *copy = malloc(size);
    if (!copy) return 0;
    memcpy(copy, data, size);
    memcpy(copy, TBENC_MAGIC, 4);
    fuzz_one("fuzz.atr", copy, size);
    free(copy);
    return 0;
}
