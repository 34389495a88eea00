/* fuzz_text.c: libFuzzer target for the text parser (see fuzz_common.h). */
#include "sim/trace/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_one("fuzz.txt", data, size);
}
