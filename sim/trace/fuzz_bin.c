/* fuzz_bin.c: libFuzzer target for the binary parser (see fuzz_common.h).
 * The input's first four bytes are replaced by the magic, so that every
 * input reaches the binary reader; fuzz_binary reads it as it is and with
 * the header's COMPLETE flag cleared. */
#include "sim/trace/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_binary(data, size, (const uint8_t *)TBENC_MAGIC, 4);
}
