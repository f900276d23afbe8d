/* Plots to PNG for run folders: line charts of training curves (loss.png,
 * accuracy.png) and confusion-matrix heat maps, drawn on an in-memory RGB
 * canvas with the built-in bitmap font and written with thaw_png_write.
 * The caller owns every array it passes (all borrowed for the call only);
 * a canvas is owned by whoever made it with thaw_canvas_new.
 *
 *   double ep[] = {1, 2, 3}, tr[] = {0.9, 0.5, 0.4}, va[] = {1.0, 0.7, 0.6};
 *   thaw_plot_series s[2] = {{"train", THAW_PLOT_BLUE, ep, tr, 3},
 *                            {"validation", THAW_PLOT_ORANGE, ep, va, 3}};
 *   thaw_plot_marker m = {1.5, "fine-tune"};
 *   thaw_plot_spec spec = {.title = "loss", .xlabel = "epoch", .ylabel = "loss",
 *                          .series = s, .n_series = 2, .markers = &m, .n_markers = 1};
 *   if (thaw_plot_lines("run/loss.png", &spec) < 0) puts(thaw_errmsg());
 */
#ifndef THAW_PLOT_H
#define THAW_PLOT_H

#include <stdint.h>

typedef struct thaw_rgb {
	uint8_t r, g, b;
} thaw_rgb;

/* A palette that stays distinguishable for most colour-blind readers
 * (Okabe-Ito); thaw_plot_palette(i) cycles through it. */
#define THAW_PLOT_BLUE ((thaw_rgb){0, 114, 178})
#define THAW_PLOT_ORANGE ((thaw_rgb){230, 119, 0})
#define THAW_PLOT_GREEN ((thaw_rgb){0, 150, 115})
#define THAW_PLOT_RED ((thaw_rgb){200, 60, 40})
#define THAW_PLOT_PURPLE ((thaw_rgb){170, 90, 150})
#define THAW_PLOT_SKY ((thaw_rgb){60, 160, 220})
thaw_rgb thaw_plot_palette(int i);

/* ---- Canvas: planar (3, h, w) uint8, the layout thaw_png_write takes.
 * Every drawing call clips to the canvas and to the clip rectangle, so
 * any coordinates are safe. */
typedef struct thaw_canvas {
	int w, h;
	uint8_t *px;            /* (3, h, w): r plane, g plane, b plane */
	int cx0, cy0, cx1, cy1; /* clip rectangle, [cx0, cx1) x [cy0, cy1) */
} thaw_canvas;

/* A w x h canvas filled with bg (1..16384 each side); NULL on error. */
thaw_canvas *thaw_canvas_new(int w, int h, thaw_rgb bg);
void thaw_canvas_free(thaw_canvas *c);
/* Restricts drawing to the rectangle at (x, y) of size w x h; a w or h of
 * 0 or less lifts the restriction. */
void thaw_canvas_clip(thaw_canvas *c, int x, int y, int w, int h);
void thaw_canvas_fill(thaw_canvas *c, thaw_rgb col);
thaw_rgb thaw_canvas_get(const thaw_canvas *c, int x, int y); /* black outside */
void thaw_canvas_set(thaw_canvas *c, int x, int y, thaw_rgb col);
/* Filled rectangle with its top-left corner at (x, y). */
void thaw_canvas_rect(thaw_canvas *c, int x, int y, int w, int h, thaw_rgb col);
/* Rectangle outline, `width` pixels thick, drawn inside the w x h box. */
void thaw_canvas_frame(thaw_canvas *c, int x, int y, int w, int h, int width, thaw_rgb col);
/* Line from (x0, y0) to (x1, y1) with a square pen `width` pixels wide. */
void thaw_canvas_line(thaw_canvas *c, int x0, int y0, int x1, int y1, int width, thaw_rgb col);
/* Vertical dashed line at x from y0 to y1: `dash` pixels on, `gap` off. */
void thaw_canvas_vdash(thaw_canvas *c, int x, int y0, int y1, int width, int dash, int gap,
		       thaw_rgb col);
/* Filled disc of radius r centred on (x, y). */
void thaw_canvas_dot(thaw_canvas *c, int x, int y, int r, thaw_rgb col);
/* Text in the 5x8 font magnified `scale` times (1..8), top-left corner at
 * (x, y), left to right; returns the width drawn. thaw_canvas_text_up
 * turns it 90 degrees to read bottom to top, (x, y) being the bottom-left
 * corner of the turned text. Bytes outside printable ASCII draw as '?'. */
int thaw_canvas_text(thaw_canvas *c, int x, int y, const char *s, int scale, thaw_rgb col);
int thaw_canvas_text_up(thaw_canvas *c, int x, int y, const char *s, int scale, thaw_rgb col);
/* Width of s in pixels at `scale` (no trailing blank column); height is
 * THAW_GLYPH_H * scale. */
int thaw_text_width(const char *s, int scale);
/* Writes the canvas as an RGB PNG; errors name the path. */
int thaw_canvas_write_png(const thaw_canvas *c, const char *path);

/* ---- Line charts */
#define THAW_PLOT_MAX_SERIES 8
#define THAW_PLOT_MAX_MARKERS 32

typedef struct thaw_plot_series {
	const char *name; /* legend entry; NULL or "" leaves it out */
	thaw_rgb color;   /* {0, 0, 0}, a zeroed struct, takes thaw_plot_palette(i) */
	const double *x;  /* (n) or NULL for 1, 2, ..., n (epochs) */
	const double *y;  /* (n); NaN or Inf is a gap in the line */
	int n;
} thaw_plot_series;

/* A labelled dashed vertical line (a phase boundary, say at x = 10.5
 * between epochs 10 and 11, label "fine-tune"). */
typedef struct thaw_plot_marker {
	double x;
	const char *label; /* may be NULL */
} thaw_plot_marker;

typedef struct thaw_plot_spec {
	const char *title, *xlabel, *ylabel; /* each may be NULL */
	const thaw_plot_series *series;      /* (n_series), 0..THAW_PLOT_MAX_SERIES */
	int n_series;
	const thaw_plot_marker *markers; /* (n_markers), 0..THAW_PLOT_MAX_MARKERS */
	int n_markers;
	/* Logarithmic y axis: values <= 0 cannot be shown there, so they are
	 * left out as gaps and a note under the plot counts them. */
	int log_y;
	/* Logarithmic x axis (a learning-rate sweep): whole decades around
	 * the data; values <= 0 are left out and counted like log_y's. */
	int log_x;
	/* A fixed y range when y_min < y_max (say 0..1 for accuracy); otherwise
	 * the range is chosen from the data and rounded to tick values. */
	double y_min, y_max;
	int width, height; /* pixels; 0 means 800 x 500; at most 8192 each */
} thaw_plot_spec;

/* Where the plot area lies and which data range it shows; tests and
 * callers that annotate a chart use it to map data to pixels. */
typedef struct thaw_plot_frame {
	int x, y, w, h;                /* plot area, top-left corner and size */
	double x_lo, x_hi, y_lo, y_hi; /* data at the left/right, bottom/top edges */
	int log_y, log_x;
} thaw_plot_frame;

/* Draws the chart and writes it to path as a PNG. Axis ranges come from
 * the finite data (and the markers), with ticks at 1-2-5 steps. Degenerate
 * input (no points, one point, all values equal, NaN) still writes a
 * readable chart. Returns 0 or a negative THAW_E* code; messages name path. */
int thaw_plot_lines(const char *path, const thaw_plot_spec *spec);
/* Computes the frame thaw_plot_lines would use, without drawing. */
int thaw_plot_layout(const thaw_plot_spec *spec, thaw_plot_frame *f);
/* Data (x, y) to pixel coordinates in the frame (not clamped). */
void thaw_plot_to_px(const thaw_plot_frame *f, double x, double y, double *px, double *py);

/* Where thaw_plot_lines puts the marker labels: the text's box in pixels
 * for each labelled marker it shows. Labels never overlap: one that would
 * is moved to a free row inside the plot, or left out when no row is free
 * (many phases of an epoch or two). Returns how many labels are drawn (the
 * first cap of them written to out) or a negative THAW_E* code. */
typedef struct thaw_plot_label {
	int marker;     /* index into spec->markers */
	int x, y, w, h; /* top-left corner and size of the text */
} thaw_plot_label;
int thaw_plot_marker_labels(const thaw_plot_spec *spec, thaw_plot_label *out, int cap);

/* ---- Confusion matrix
 * counts: (K, K), row = true class, column = predicted, all >= 0. Each cell
 * is shaded by its share of the row (white 0 .. dark blue 1); counts are
 * printed where they fit and class names (truncated) label both axes when
 * the cells are tall enough; the title ends with the overall accuracy.
 * class_names may be NULL (indices are used), title may be NULL. K is
 * 1..1000. Returns 0 or a negative THAW_E* code; messages name path. */
int thaw_plot_confusion(const char *path, const long *counts, int K,
			const char *const *class_names, const char *title);

/* The geometry thaw_plot_confusion uses for K classes: the matrix's
 * top-left corner, the cell size in pixels, and the image size. */
typedef struct thaw_confusion_frame {
	int x, y, cell, width, height;
} thaw_confusion_frame;
int thaw_confusion_layout(int K, const char *const *class_names, thaw_confusion_frame *f);

/* ---- The LR finder's curve (thaw/finetune.h): loss against the learning
 * rate on a log axis, the raw losses faint, the smoothed curve strong, and
 * the suggested rate as a labelled marker. title NULL: a default. */
struct thaw_lrfind_result;
int thaw_plot_lrfind(const char *path, const struct thaw_lrfind_result *r, const char *title);

#endif
