/* fuzz_bin.c: libFuzzer target for the binary parser (see fuzz_common.h).
 * The input's first four bytes are replaced by the magic, so that every
 * input reaches the binary reader; it is read once as it is and once with
 * the header's COMPLETE flag cleared, since most mutations break the
 * counts the flag vouches for, and then little else would be tested. */
#include "sim/trace/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) return 0;
    uint8_t *copy = malloc(size);
    if (!copy) return 0;
    memcpy(copy, data, size);
    memcpy(copy, TBENC_MAGIC, 4);
    fuzz_one("fuzz.atr", copy, size);
    if (size > TBENC_OFF_FLAGS && (copy[TBENC_OFF_FLAGS] & TBENC_F_COMPLETE)) {
        copy[TBENC_OFF_FLAGS] &= (uint8_t)~TBENC_F_COMPLETE;
        fuzz_one("fuzz.atr", copy, size);
    }
    free(copy);
    return 0;
}
