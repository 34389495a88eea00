/* pheap_test.c: blocks are zeroed, aligned, distinct and keep their
 * contents across realloc; the last block is reused; the reservation's
 * end is an error, not an overrun; nothing here calls malloc. */
#include "alloc/check.h"
#include "sim/base/pheap.h"

#include <stdint.h>
#include <string.h>

int main(void)
{
    pheap_t h;
    CHECK(pheap_init(&h, (size_t)1 << 20) == 0);
    char *a = pheap_alloc(&h, 10), *b = pheap_alloc(&h, 100);
    CHECK(a && b && a != b && ((uintptr_t)a & 15) == 0 && ((uintptr_t)b & 15) == 0);
    CHECK(b >= a + 10);
    memset(a, 'a', 10);
    memset(b, 'b', 100);
    /* the last block grows in place */
    char *b2 = pheap_realloc(&h, b, 5000);
    CHECK(b2 == b && b2[99] == 'b' && b2[100] == 0 && b2[4999] == 0);
    /* another grows by moving, keeping its bytes */
    char *a2 = pheap_realloc(&h, a, 20);
    CHECK(a2 && a2 != a && !memcmp(a2, "aaaaaaaaaa", 10) && a2[19] == 0);
    /* the last block freed: its room is handed out again, zeroed */
    memset(a2, 'z', 20);
    pheap_free(&h, a2);
    char *c = pheap_alloc(&h, 20);
    CHECK(c == a2 && c[0] == 0 && c[19] == 0);
    /* past the reservation: NULL */
    CHECK(pheap_alloc(&h, (size_t)2 << 20) == NULL);
    CHECK(pheap_realloc(&h, c, (size_t)2 << 20) == NULL);
    CHECK(c[0] == 0);
    pheap_free(&h, NULL);
    pheap_destroy(&h);
    return check_done();
}
