/* progress.c: a terminal status line for long jobs (progress.h).
 *
 * Invariant: p->drawn is 1 exactly when a line of ours is on the screen
 * with the cursor at its end: every redraw starts with "\r\033[K" (back to
 * column 0, erase the line), so a shorter line leaves nothing behind.
 */
#include "sim/base/progress.h"

#include <string.h>
#include <time.h>

static double progress_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void progress_start(progress_t *p, FILE *out, const char *what, uint64_t total)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    snprintf(p->what, sizeof p->what, "%s", what ? what : "");
    p->total = total;
    p->start = p->next = progress_now();
}

/* "1.2 M", "345.6 M", "1.23 G": events in a few characters. */
static void progress_count(char *buf, size_t n, uint64_t v)
{
    if (v < 1000000)
        snprintf(buf, n, "%llu", (unsigned long long)v);
    else if (v < 1000000000ull)
        snprintf(buf, n, "%.1f M", (double)v / 1e6);
    else
        snprintf(buf, n, "%.2f G", (double)v / 1e9);
}

void progress_update(progress_t *p, uint64_t done)
{
    if (!p->out) return;
    double now = progress_now();
    if (now < p->next) return;
    p->next = now + 1.0 / PROGRESS_HZ;
    char d[32], t[32];
    progress_count(d, sizeof d, done);
    double secs = now - p->start;
    double rate = secs > 0 ? (double)done / secs / 1e6 : 0;
    if (p->total) {
        progress_count(t, sizeof t, p->total);
        fprintf(p->out, "\r\033[Karenalab: %s: %s of %s events (%.0f %%), %.1f M events/s", p->what,
                d, t, 100.0 * (double)(done < p->total ? done : p->total) / (double)p->total, rate);
    } else {
        fprintf(p->out, "\r\033[Karenalab: %s: %s events, %.1f M events/s", p->what, d, rate);
    }
    fflush(p->out);
    p->drawn = 1;
}

void progress_clear(progress_t *p)
{
    if (!p->out || !p->drawn) return;
    fputs("\r\033[K", p->out);
    fflush(p->out);
    p->drawn = 0;
    p->next = 0; /* the next update redraws at once */
}

void progress_end(progress_t *p)
{
    progress_clear(p);
    p->out = NULL;
}
