/* replay_payload.h: what a replay does with a block's bytes -- --verify's
 * patterns and the touch modes (replay.h) -- shared by the serialized
 * loop (replay.c) and the threaded one (threads.c), so that both fill and
 * check the same bytes: a block's pattern depends on its id and the
 * event's index in the recorded order, never on the thread or the run. */
#ifndef ARENALAB_SIM_REPLAY_INTERNAL_REPLAY_PAYLOAD_H
#define ARENALAB_SIM_REPLAY_INTERNAL_REPLAY_PAYLOAD_H

#include <stdint.h>
#include <string.h>

#include "sim/replay/replay.h"

static inline uint32_t replay_seed(uint32_t id, uint64_t index)
{
    uint64_t x = ((uint64_t)id << 32 | (uint32_t)index) ^ (index >> 32) * 0x9E3779B97F4A7C15u;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdu;
    x ^= x >> 33;
    return (uint32_t)x;
}

static inline uint8_t replay_pattern(uint32_t seed, uint64_t i)
{
    return (uint8_t)(((uint32_t)i * 2654435761u + seed) >> 24);
}

static inline void replay_fill(void *p, uint64_t from, uint64_t to, uint32_t seed)
{
    uint8_t *b = p;
    for (uint64_t i = from; i < to; i++)
        b[i] = replay_pattern(seed, i);
}

/* Offset of the first byte in [0, n) that breaks the pattern, or n. */
static inline uint64_t replay_check(const void *p, uint64_t n, uint32_t seed)
{
    const uint8_t *b = p;
    for (uint64_t i = 0; i < n; i++)
        if (b[i] != replay_pattern(seed, i)) return i;
    return n;
}

static inline uint64_t replay_check_zero(const void *p, uint64_t n)
{
    const uint8_t *b = p;
    for (uint64_t i = 0; i < n; i++)
        if (b[i]) return i;
    return n;
}

/* Uses bytes [FROM, TO) of the block at P as MODE says (PAGE: the page
 * size): zeros written, so calloc'ed memory stays zero and --verify's
 * patterns come after. */
static inline __attribute__((always_inline)) void
replay_touch_bytes(replay_touch_t mode, uintptr_t page, void *p, uint64_t from, uint64_t to)
{
    if (mode == REPLAY_TOUCH_NONE || to <= from) return;
    if (mode == REPLAY_TOUCH_ALL) {
        memset((uint8_t *)p + from, 0, (size_t)(to - from));
        return;
    }
    uintptr_t a = (uintptr_t)p + (uintptr_t)from, end = (uintptr_t)p + (uintptr_t)to;
    *(volatile uint8_t *)a = 0;
    for (uintptr_t q = (a | (page - 1)) + 1; q < end; q += page)
        *(volatile uint8_t *)q = 0;
    *(volatile uint8_t *)(end - 1) = 0;
}

#endif
