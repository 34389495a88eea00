/* fuzz_bin2.c: libFuzzer target for the binary parser, version 2 (see
 * fuzz_common.h).  The input's first ten bytes are replaced by the magic
 * and version 2, so that every input reaches the v2 reader (block headers,
 * stream lengths, zstd frames, the fast loop); it is read once as it is and
 * once with the header's COMPLETE flag cleared, as in fuzz_bin.c. */
#include "sim/trace/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < TBENC_OFF_VERSION + 2) return 0;
    uint8_t *copy = malloc(size);
    if (!copy) return 0;
    memcpy(copy, data, size);
    memcpy(copy, TBENC_MAGIC, TBENC_MAGIC_LEN);
    copy[TBENC_OFF_VERSION] = 2;
    copy[TBENC_OFF_VERSION + 1] = 0;
    fuzz_one("fuzz.atr", copy, size);
    if (size > TBENC_OFF_FLAGS && (copy[TBENC_OFF_FLAGS] & TBENC_F_COMPLETE)) {
        copy[TBENC_OFF_FLAGS] &= (uint8_t)~TBENC_F_COMPLETE;
        fuzz_one("fuzz.atr", copy, size);
    }
    free(copy);
    return 0;
}
