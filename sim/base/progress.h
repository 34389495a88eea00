/* progress.h: the one status line of a long job on a terminal: events done
 * (of the total when known, with the percentage) and the rate, redrawn in
 * place at most PROGRESS_HZ times a second and erased at the end.
 *
 * Invariant: an off line (OUT NULL: not a terminal, --quiet, CI) never
 * writes a byte; an on one has at most one line on the screen, without
 * its newline, and progress_clear / progress_end erase it.  The caller
 * decides on or off (cli_interactive() && !quiet) and calls
 * progress_update at chunk boundaries, never per event: between redraws
 * an update is one clock read.  It allocates nothing, so a parent can draw
 * a worker's counts as they arrive.
 */
#ifndef ARENALAB_SIM_BASE_PROGRESS_H
#define ARENALAB_SIM_BASE_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

#define PROGRESS_HZ 4

typedef struct {
    FILE *out;      /* where the line goes; NULL: off                  */
    char what[192]; /* "stats big.atr": what the line is about         */
    uint64_t total; /* events in all; 0 when unknown                   */
    double start;   /* monotonic seconds at progress_start             */
    double next;    /* no redraw before this                           */
    int drawn;      /* a line is on the screen                         */
} progress_t;

/* Starts a line about WHAT (copied, cut to fit) over TOTAL events (0:
 * unknown) on OUT (NULL: off).  Draws nothing yet. */
void progress_start(progress_t *p, FILE *out, const char *what, uint64_t total);

/* DONE events so far: redraws when the last redraw is 1/PROGRESS_HZ s old
 * (the first update draws at once). */
void progress_update(progress_t *p, uint64_t done);

/* Erases the line (before other output); a later update draws it again. */
void progress_clear(progress_t *p);

/* Erases the line for good: updates draw nothing until the next start. */
void progress_end(progress_t *p);

#endif
