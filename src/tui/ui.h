/* The workbench's screen state, layout, drawing and key handling, all
 * without curses. One pane a file (pane_layers.c, pane_plots.c,
 * pane_data.c, pane_conf.c, pane_log.c; pane_status.c draws the tabs, the
 * status line and the help), each a draw function and a key handler that
 * returns TUI_* flags, as htop's panels do; workbench.c lays the panes out
 * and routes a key to the open prompt, then the focused pane, then the
 * global keys (prompt.c holds the prompts). screen.c owns the terminal and
 * translates its keys into these codes. */
#ifndef THAW_TUI_UI_H
#define THAW_TUI_UI_H

#include "session.h"

/* keys beyond ASCII, translated from curses by screen.c */
enum {
	TK_UP = 0x1000, TK_DOWN, TK_LEFT, TK_RIGHT, TK_PGUP, TK_PGDN, TK_HOME, TK_END, TK_BTAB, TK_ENTER,
	TK_BACKSPACE, TK_ESC, TK_RESIZE
};

/* What a key handler did: TUI_IGNORED lets the key go on to the global
 * keys; TUI_HANDLED stops it there; TUI_REDRAW asks for a redraw;
 * TUI_BREAK ends the screen loop (quit). */
enum { TUI_IGNORED = 0, TUI_HANDLED = 1, TUI_REDRAW = 2, TUI_BREAK = 4 };

enum { PANE_LAYERS, PANE_PLOTS, PANE_DATA, PANE_CONF, PANE_LOG, PANE_EXPLORE, PANE_COUNT };

/* colours (xterm 256) */
enum {
	C_DIM = 244,
	C_FOCUS = 51,
	C_FROZEN = 117,
	C_TRAIN = 118,
	C_SERIES_TRAIN = 39,
	C_SERIES_VAL = 214,
	C_SERIES_BATCH = 242,
	C_GOOD = 77,
	C_BAD = 203,
	C_WARN = 221,
	C_TITLE = 255,
	C_SCRATCH = 170,      /* the scratch baseline's curves and line (a magenta) */
	C_SCRATCH_TRAIN = 133
};

typedef struct tui_rect {
	int x, y, w, h;
} tui_rect;

enum {
	PROMPT_NONE,
	PROMPT_LR,
	PROMPT_MULT,
	PROMPT_SAVE,
	PROMPT_OVERWRITE, /* y/n: the save path exists */
	PROMPT_SAVE_OPT,  /* y/n: store the optimizer state too */
	PROMPT_QUIT,      /* training runs: y/n */
	PROMPT_QUIT_SAVE, /* the model is unsaved: y (save, then quit) / n / c */
	PROMPT_EPOCHS,
	PROMPT_BATCH,
	PROMPT_AUG,
	PROMPT_EXPORT,
	PROMPT_EXPORT_OVERWRITE
};

typedef struct tui_ui {
	tui_session *s;
	thaw_tui_buf buf;
	int ascii, color;
	const char *title, *save_path;
	char default_save[512]; /* proposed by the save prompt */

	int focus, bottom; /* bottom: PANE_DATA, PANE_CONF or PANE_EXPLORE in the lower right */
	int zoom;          /* the focused pane fills the screen */
	int too_small;
	tui_rect tabs[PANE_COUNT], pane[PANE_COUNT], status;

	int sel, top, sel_placed; /* layers */
	int log_y, per_batch;     /* plots */
	int log_scroll;           /* lines up from the newest */

	/* data browser */
	int f_class, f_wrong, f_loss, f_true, f_pred; /* -1: any */
	int *view;
	int n_view, view_cap;
	unsigned view_pred_version;
	int view_dirty;
	int page, item, per_page, tiles_x;
	int tile_w, tile_h, grid_x, grid_y;
	int image_open; /* the selected image, large */

	int ex_sel; /* the explorer's selected bar */

	int conf_r, conf_c;                     /* confusion cursor */
	int conf_x, conf_y, conf_cw, conf_rows; /* where the cells were drawn */

	int help;
	int prompt;
	char input[256];
	char pending[256]; /* the path a y/n question is about */
	int quit_after_save;
	int quit;
} tui_ui;

/* ---- workbench.c */
/* Relays the panes out for the buffer's size (call after resizing it). */
void tui_layout(tui_ui *u);
/* Draws everything; takes the session lock itself. */
void tui_draw(tui_ui *u);
/* Handles a key; returns 1 when the screen must be redrawn. */
int tui_key(tui_ui *u, int key);
/* A click at cell (x, y) with the first button. */
int tui_click(tui_ui *u, int x, int y);
void tui_ui_free(tui_ui *u);
void tui_set_focus(tui_ui *u, int pane);
/* Queues (or applies, when idle) a command for the session. */
void tui_send(tui_ui *u, int kind, int node, float value, const char *path);

/* ---- the panes: draw with the session lock held; keys without it */
void tui_draw_layers(tui_ui *u, tui_rect r);
int tui_key_layers(tui_ui *u, int key);
void tui_click_layers(tui_ui *u, int x, int y);
void tui_draw_plots(tui_ui *u, tui_rect r);
int tui_key_plots(tui_ui *u, int key);
void tui_draw_data(tui_ui *u, tui_rect r);
int tui_key_data(tui_ui *u, int key);
void tui_click_data(tui_ui *u, int x, int y);
void tui_draw_image(tui_ui *u, tui_rect r); /* the selected image, large */
void tui_draw_conf(tui_ui *u, tui_rect r);
int tui_key_conf(tui_ui *u, int key);
void tui_click_conf(tui_ui *u, int x, int y);
void tui_draw_log(tui_ui *u, tui_rect r);
void tui_draw_explore(tui_ui *u, tui_rect r); /* pane_explore.c */
int tui_key_explore(tui_ui *u, int key);
int tui_key_log(tui_ui *u, int key);
void tui_draw_tabs(tui_ui *u);
void tui_draw_status(tui_ui *u);
void tui_draw_help(tui_ui *u);
const char *tui_class_name(const tui_session *s, int k);

/* ---- prompt.c */
void tui_prompt_start(tui_ui *u, int kind);
int tui_prompt_key(tui_ui *u, int key); /* the open prompt's keys */
/* "learning rate: 0.01_" or a question, for the status line */
void tui_prompt_text(const tui_ui *u, char *out, size_t size, const char **hint);
/* q: asks when training would be lost or the model is unsaved */
int tui_quit(tui_ui *u);

/* ---- small helpers (pane_status.c) */
static inline int tui_clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }
void tui_fmt_count(char *out, size_t size, size_t v); /* 420,544 */
void tui_fmt_short(char *out, size_t size, size_t v); /* 402k */
void tui_fmt_time(char *out, size_t size, double s);  /* 1:05 */

#endif
