/* The workbench's screen state, layout, drawing and key handling, all
 * without curses: views.c draws the session into a cell buffer and reacts
 * to keys in its own codes; screen.c owns the terminal and translates. */
#ifndef THAW_TUI_UI_H
#define THAW_TUI_UI_H

#include "session.h"

/* keys beyond ASCII, translated from curses by screen.c */
enum {
	TK_UP = 0x1000, TK_DOWN, TK_LEFT, TK_RIGHT, TK_PGUP, TK_PGDN, TK_HOME, TK_END, TK_BTAB, TK_ENTER,
	TK_BACKSPACE, TK_ESC, TK_RESIZE
};

enum { PANE_LAYERS, PANE_PLOTS, PANE_DATA, PANE_CONF, PANE_LOG, PANE_COUNT };

typedef struct tui_rect {
	int x, y, w, h;
} tui_rect;

enum { PROMPT_NONE, PROMPT_LR, PROMPT_MULT, PROMPT_SAVE, PROMPT_QUIT };

typedef struct tui_ui {
	tui_session *s;
	thaw_tui_buf buf;
	int ascii, color;
	const char *title, *save_path;

	int focus, bottom; /* bottom: PANE_DATA or PANE_CONF in the lower right */
	int too_small;
	tui_rect tabs[PANE_COUNT], pane[PANE_COUNT], status;

	int sel, top;      /* layers */
	int log_y, per_batch; /* plots */
	int log_scroll;    /* lines up from the newest */

	/* data browser */
	int f_class, f_wrong, f_loss, f_true, f_pred; /* -1: any */
	int *view;
	int n_view, view_cap;
	unsigned view_pred_version;
	int view_dirty;
	int page, item, per_page, tiles_x;
	int tile_w, tile_h, grid_x, grid_y;

	int conf_r, conf_c; /* confusion cursor */
	int conf_x, conf_y, conf_cw, conf_rows; /* where the cells were drawn */

	int help;
	int prompt;
	char input[128];
	int quit;
} tui_ui;

/* Relays the panes out for the buffer's size (call after resizing it). */
void tui_layout(tui_ui *u);
/* Draws everything; takes the session lock itself. */
void tui_draw(tui_ui *u);
/* Handles a key; returns 1 when the screen must be redrawn. */
int tui_key(tui_ui *u, int key);
/* A click at cell (x, y) with the first button. */
int tui_click(tui_ui *u, int x, int y);
void tui_ui_free(tui_ui *u);

#endif
