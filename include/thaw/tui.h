/* thaw tui: the ncurses workbench. A session shows a model's layers with
 * freeze toggles, live loss and accuracy plots, a data browser and a
 * confusion matrix while a worker thread trains (thaw_fit) or runs a Lua
 * script. Only src/tui/screen.c calls curses; everything it draws is first
 * rendered into a thaw_tui_buf (a grid of cells), so the drawing code —
 * braille plots, half-block images — is plain C that tests can inspect.
 *
 *   thaw_tui_opts o = thaw_tui_opts_default();
 *   o.model = m; o.train = train; o.val = val;   // borrowed for the call
 *   int code = thaw_tui_run(&o);                 // returns when the user quits
 *
 * The caller owns the model and the data sets; the workbench may train the
 * model, change its freezing flags and learning-rate multipliers, and save
 * it, but never frees it. */
#ifndef THAW_TUI_H
#define THAW_TUI_H

#include <stddef.h>
#include <stdint.h>

#include "thaw/data.h"
#include "thaw/fit.h"
#include "thaw/model.h"
#include "thaw/run.h"

/* ---- cells */

enum { THAW_TUI_BOLD = 1, THAW_TUI_REVERSE = 2, THAW_TUI_DIM = 4, THAW_TUI_UNDERLINE = 8 };

typedef struct thaw_tui_cell {
	uint32_t ch;    /* a Unicode code point of width 1 */
	int16_t fg, bg; /* xterm 256-colour index, -1 for the terminal default */
	uint8_t attr;   /* THAW_TUI_* */
} thaw_tui_cell;

/* A w x h grid of cells. ascii: only code points < 128 are stored (the
 * drawing functions pick ASCII substitutes); color 0: fg and bg stay -1. */
typedef struct thaw_tui_buf {
	int w, h;
	int ascii, color;
	thaw_tui_cell *cells; /* (h, w) */
} thaw_tui_buf;

int thaw_tui_buf_init(thaw_tui_buf *b, int w, int h, int ascii, int color); /* 0 or THAW_ENOMEM */
void thaw_tui_buf_free(thaw_tui_buf *b);
void thaw_tui_buf_clear(thaw_tui_buf *b);
static inline thaw_tui_cell *thaw_tui_at(thaw_tui_buf *b, int x, int y)
{
	return x >= 0 && y >= 0 && x < b->w && y < b->h ? &b->cells[(size_t)y * b->w + x] : NULL;
}
/* One cell; outside the grid is ignored. Non-ASCII code points become an
 * ASCII look-alike in an ASCII buffer ('+' for box corners, '*' for ❄). */
void thaw_tui_put(thaw_tui_buf *b, int x, int y, uint32_t ch, int fg, int bg, int attr);
/* UTF-8 text clipped to maxw columns (maxw < 0: to the right edge). Returns
 * the columns written. */
int thaw_tui_text(thaw_tui_buf *b, int x, int y, int maxw, const char *s, int fg, int bg, int attr);
int thaw_tui_printf(thaw_tui_buf *b, int x, int y, int maxw, int fg, int bg, int attr, const char *fmt,
		    ...) __attribute__((format(printf, 8, 9)));
void thaw_tui_fill(thaw_tui_buf *b, int x, int y, int w, int h, uint32_t ch, int fg, int bg, int attr);
/* A frame with the title in its top edge; focused frames are bold. */
void thaw_tui_box(thaw_tui_buf *b, int x, int y, int w, int h, const char *title, int focused);
/* Row y as UTF-8 into out (trailing blanks kept); for tests and screenshots. */
void thaw_tui_row(const thaw_tui_buf *b, int y, char *out, size_t size);

/* ---- braille line plots: each cell holds 2x4 dots (U+2800..U+28FF); an
 * ASCII buffer gets one mark character per cell instead. */
typedef struct thaw_tui_series {
	const float *x, *y; /* n points; NaN and Inf are skipped */
	int n;
	int color; /* 256-colour index */
	char mark; /* ASCII mode */
} thaw_tui_series;

typedef struct thaw_tui_plot_opts {
	int log_y;              /* log10 scale (values <= 0 are skipped) */
	float xmin, xmax;       /* xmin >= xmax: from the data */
	float ymin, ymax;       /* ymin >= ymax: from the data */
	const float *marks;     /* x positions of phase boundaries, drawn dotted */
	int n_marks;
} thaw_tui_plot_opts;

/* Draws into the w x h area at (x, y): a 7-column y-axis label margin, the
 * plot, and the bottom row for x labels. Later series draw over earlier
 * ones. Returns 0, or THAW_EINVAL when the area is too small to plot. */
int thaw_tui_plot(thaw_tui_buf *b, int x, int y, int w, int h, const thaw_tui_series *s, int ns,
		  const thaw_tui_plot_opts *o);

/* v in at most `width` columns when it can be (fewer significant digits,
 * a compact exponent: 2.7e-5, 1e6); the columns written. */
int thaw_tui_fmt_num(char *out, size_t size, double v, int width);
/* Splits UTF-8 text into rows of at most first_w code points (the first
 * row) and rest_w (the others), breaking at spaces; a word longer than a
 * row is cut. Row i is the bytes [off[i], off[i] + len[i]). Returns the
 * number of rows (only the first max are stored). */
int thaw_tui_wrap(const char *s, int first_w, int rest_w, int *off, int *len, int max);
/* The columns UTF-8 text takes: one a code point. */
int thaw_tui_cols(const char *s);
/* s in at most `width` code points: as it is when it fits, else cut in
 * the middle at an ellipsis, its end kept longer than its start
 * ("lay…0.conv1"): the end of a dotted name is what tells it apart.
 * Returns the code points written (out is cut to size too). */
int thaw_tui_middle(char *out, size_t size, const char *s, int width);

/* ---- images in half blocks: each cell shows two pixels (▀ with the top
 * pixel as foreground and the bottom as background). img is (c, h, w)
 * uint8, c 1 (gray ramp 232..255) or 3 (the 6x6x6 cube). Images larger than
 * cols x 2*rows pixels are area-averaged down to fit (aspect kept); smaller
 * ones are drawn at their size. Without colour a density ramp stands in.
 * Returns the columns used; *rows_used gets the rows. */
int thaw_tui_image(thaw_tui_buf *b, int x, int y, int cols, int rows, const uint8_t *img, int c, int h,
		   int w, int *rows_used);
int thaw_tui_gray(int v);                 /* 0..255 -> 256-colour index */
int thaw_tui_rgb(int r, int g, int bl);   /* 0..255 each -> 256-colour index */

/* ---- the workbench */
typedef struct thaw_tui_opts {
	const char *title; /* shown in the top line */
	/* Interactive session: a model and its data (borrowed). val may be NULL:
	 * then the browser and confusion matrix use train. */
	thaw_model *model;
	const thaw_dataset *train, *val;
	thaw_fit_opts fit; /* phase defaults: epochs, batch, optimizer, lr, seed */
	/* Script session: run this Lua file with these arguments instead. */
	const char *script;
	int argc;
	char **argv;
	const char *run_dir;   /* a script's thaw.run_dir() (checkpoints, its files); NULL: none */
	const char *save_path; /* what s proposes (NULL: runs/workbench-DATE/model.thaw) */
	const char *const *log; /* lines for the log pane at start */
	int n_log;
	int autostart; /* start training at once */
	/* A checkpoint's position (thaw/run.h; phase_index 0: none): the first
	 * phase continues it (same phase number, epoch, batch, step and seed)
	 * instead of starting anew. `s` saves the position with the model. */
	thaw_position resume;
} thaw_tui_opts;

thaw_tui_opts thaw_tui_opts_default(void);
/* Runs the screen until the user quits. Returns the process exit code: 0,
 * 1 when the terminal could not be used (the message is in thaw_errmsg()),
 * 130 after SIGINT or SIGTERM, a script session's THAW_RUN_* code when its
 * script failed. The terminal is restored in every case. */
int thaw_tui_run(const thaw_tui_opts *o);

#endif
