/* What the plot files share (src/run/plot_*.c only, not public): the ink
 * colours, clamping, and the text helpers built on thaw_canvas_text. */
#ifndef THAW_RUN_PLOT_DRAW_H
#define THAW_RUN_PLOT_DRAW_H

#include <stddef.h>

#include "thaw/plot.h"

static const thaw_rgb WHITE = {255, 255, 255};
static const thaw_rgb INK = {40, 40, 40};       /* text */
static const thaw_rgb SOFT_INK = {90, 90, 90};  /* tick labels, notes */
static const thaw_rgb AXIS = {110, 110, 110};   /* plot frame, ticks */
static const thaw_rgb GRID = {232, 232, 232};   /* grid lines */
static const thaw_rgb MARKER = {120, 120, 120}; /* phase boundaries */
static const thaw_rgb EMPTY_ROW = {225, 225, 225};

static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }
static inline int eq_rgb(thaw_rgb a, thaw_rgb b) { return a.r == b.r && a.g == b.g && a.b == b.b; }

/* Copies s into buf, cut to at most max_chars with a '.' marking the cut;
 * returns buf. */
const char *thaw_plot_fit_text(char *buf, size_t size, const char *s, int max_chars);
/* Bold-looking title: the same text drawn twice, one pixel apart. */
void thaw_plot_title(thaw_canvas *c, int x, int y, const char *s, int scale);

#endif
