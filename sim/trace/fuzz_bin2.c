/* fuzz_bin2.c: libFuzzer target for the binary parser, versions 2 and 3
 * (see fuzz_common.h).  The input's first ten bytes are replaced by the
 * magic and version 3 when its byte 8 is 3, else version 2, so that every
 * input reaches the reader of versions 2 and 3 (block headers, stream
 * lengths, zstd frames, LZ4 blocks, the fast loop); fuzz_binary reads it
 * as it is and with the header's COMPLETE flag cleared, as in
 * fuzz_bin.c. */
#include "sim/trace/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t head[TBENC_OFF_VERSION + 2];
    _Static_assert(TBENC_OFF_VERSION == TBENC_MAGIC_LEN, "the version follows the magic");
    memcpy(head, TBENC_MAGIC, TBENC_MAGIC_LEN);
    head[TBENC_OFF_VERSION] = size > TBENC_OFF_VERSION && data[TBENC_OFF_VERSION] == 3 ? 3 : 2;
    head[TBENC_OFF_VERSION + 1] = 0;
    return fuzz_binary(data, size, head, sizeof head);
}
