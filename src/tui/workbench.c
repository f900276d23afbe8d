/* The workbench's layout and dispatch: where each pane goes (or the
 * focused one alone, zoomed), drawing them in order, and routing a key to
 * the open prompt, then the focused pane, then the global keys — each
 * handler returns TUI_* flags. Runs on the UI thread; no curses here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui.h"

void tui_layout(tui_ui *u)
{
	int W = u->buf.w, H = u->buf.h;
	u->too_small = W < 80 || H < 24;
	if (u->too_small)
		return;
	int mh = H - 2;
	u->status = (tui_rect){0, H - 1, W, 1};
	if (u->zoom) {
		for (int p = 0; p < PANE_COUNT; p++)
			u->pane[p] = (tui_rect){0, 1, W, mh};
		return;
	}
	int lw = tui_clampi(W * 5 / 12, 38, 64), rw = W - lw;
	/* a long layer list leaves the log at least six lines (8 at 80x24): the
	 * list scrolls, and starts on the layer that trains */
	int lh = tui_clampi(u->s->n_layers + 5, 8, mh - 8);
	u->pane[PANE_LAYERS] = (tui_rect){0, 1, lw, lh};
	u->pane[PANE_LOG] = (tui_rect){0, 1 + lh, lw, mh - lh};
	int ph = tui_clampi(mh * 2 / 5, 8, mh - 10);
	u->pane[PANE_PLOTS] = (tui_rect){lw, 1, rw, ph};
	u->pane[PANE_DATA] = u->pane[PANE_CONF] = (tui_rect){lw, 1 + ph, rw, mh - ph};
}

static void draw_pane(tui_ui *u, int p)
{
	switch (p) {
	case PANE_LAYERS: tui_draw_layers(u, u->pane[p]); break;
	case PANE_PLOTS: tui_draw_plots(u, u->pane[p]); break;
	case PANE_DATA: tui_draw_data(u, u->pane[p]); break;
	case PANE_CONF: tui_draw_conf(u, u->pane[p]); break;
	case PANE_LOG: tui_draw_log(u, u->pane[p]); break;
	}
}

void tui_draw(tui_ui *u)
{
	tui_session *s = u->s;
	pthread_mutex_lock(&s->mu);
	thaw_tui_buf_clear(&u->buf);
	tui_layout(u);
	if (u->too_small) {
		char msg[128];
		snprintf(msg, sizeof msg, "thaw needs a terminal of at least 80x24 (this one is %dx%d).", u->buf.w, u->buf.h);
		for (int i = 0, y = u->buf.h / 2 - 1; i < 2; i++, y++)
			thaw_tui_text(&u->buf, 1, y < 0 ? 0 : y, u->buf.w - 1,
				      i == 0 ? msg : "Enlarge the window, or press q to quit.", -1, -1, i == 0 ? THAW_TUI_BOLD : 0);
		pthread_mutex_unlock(&s->mu);
		return;
	}
	tui_draw_tabs(u);
	if (u->zoom) {
		draw_pane(u, u->focus);
	} else {
		draw_pane(u, PANE_LAYERS);
		draw_pane(u, PANE_PLOTS);
		draw_pane(u, u->bottom);
		draw_pane(u, PANE_LOG);
	}
	if (u->image_open) {
		if (u->zoom) {
			tui_draw_image(u, u->pane[PANE_DATA]);
		} else { /* over the whole right column, or more when it is narrow */
			tui_rect r = u->pane[PANE_DATA];
			r.y = 1;
			r.h = u->buf.h - 2;
			if (r.w < 60) {
				r.w = u->buf.w < 70 ? u->buf.w : 70;
				r.x = u->buf.w - r.w;
			}
			tui_draw_image(u, r);
		}
	}
	tui_draw_status(u);
	if (u->help)
		tui_draw_help(u);
	pthread_mutex_unlock(&s->mu);
}

void tui_set_focus(tui_ui *u, int p)
{
	u->focus = (p + PANE_COUNT) % PANE_COUNT;
	if (u->focus == PANE_DATA || u->focus == PANE_CONF)
		u->bottom = u->focus;
	if (u->focus != PANE_DATA)
		u->image_open = 0;
}

void tui_send(tui_ui *u, int kind, int node, float value, const char *path)
{
	tui_cmd c = {.kind = kind, .node = node, .value = value};
	if (path)
		snprintf(c.path, sizeof c.path, "%s", path);
	tui_session_command(u->s, &c);
}

/* The focused pane's handler. */
static int pane_key(tui_ui *u, int k)
{
	switch (u->focus) {
	case PANE_LAYERS: return tui_key_layers(u, k);
	case PANE_PLOTS: return tui_key_plots(u, k);
	case PANE_DATA: return tui_key_data(u, k);
	case PANE_CONF: return tui_key_conf(u, k);
	case PANE_LOG: return tui_key_log(u, k);
	}
	return TUI_IGNORED;
}

/* Keys that mean the same in every pane. */
static int global_key(tui_ui *u, int k)
{
	switch (k) {
	case '\t': tui_set_focus(u, u->focus + 1); break;
	case TK_BTAB: tui_set_focus(u, u->focus - 1); break;
	case '1': case '2': case '3': case '4': case '5': tui_set_focus(u, k - '1'); break;
	case 'z': u->zoom = !u->zoom; break;
	case '?': u->help = 1; break;
	case 't': case TK_ENTER: tui_session_train(u->s); break;
	case 'F': tui_session_finetune(u->s); break;
	case 'R': tui_session_lrfind(u->s); break;
	case 'p': tui_session_pause(u->s); break;
	case 'x': tui_session_stop(u->s); break;
	case 'l': tui_prompt_start(u, PROMPT_LR); break;
	case 'e': tui_prompt_start(u, PROMPT_EPOCHS); break;
	case 'B': tui_prompt_start(u, PROMPT_BATCH); break;
	case 'A': tui_prompt_start(u, PROMPT_AUG); break;
	case 's': tui_prompt_start(u, PROMPT_SAVE); break;
	case 'X': tui_prompt_start(u, PROMPT_EXPORT); break;
	case 'L': u->log_y = !u->log_y; break;
	default: return TUI_IGNORED;
	}
	return TUI_HANDLED | TUI_REDRAW;
}

int tui_key(tui_ui *u, int k)
{
	if (k == TK_RESIZE)
		return 1;
	int f = TUI_IGNORED;
	if (u->prompt)
		f = tui_prompt_key(u, k);
	else if (u->help)
		u->help = 0, f = TUI_HANDLED | TUI_REDRAW;
	else if (k == 'q' || k == 'Q')
		f = tui_quit(u);
	else if (u->too_small)
		return 0;
	else if (!(f = pane_key(u, k)))
		f = global_key(u, k);
	if (f & TUI_BREAK)
		u->quit = 1;
	return (f & (TUI_REDRAW | TUI_BREAK)) != 0;
}

static int inside(tui_rect r, int x, int y) { return x >= r.x && y >= r.y && x < r.x + r.w && y < r.y + r.h; }

int tui_click(tui_ui *u, int x, int y)
{
	if (u->too_small || u->prompt)
		return 0;
	if (u->help) {
		u->help = 0;
		return 1;
	}
	for (int p = 0; p < PANE_COUNT; p++)
		if (inside(u->tabs[p], x, y)) {
			tui_set_focus(u, p);
			return 1;
		}
	if (u->image_open) {
		tui_click_data(u, x, y);
		return 1;
	}
	int order[4] = {PANE_LAYERS, PANE_PLOTS, PANE_LOG, u->bottom};
	for (int i = 0; i < 4; i++) {
		int p = order[i];
		if (u->zoom && p != u->focus)
			continue;
		if (!inside(u->pane[p], x, y))
			continue;
		tui_set_focus(u, p);
		if (p == PANE_LAYERS)
			tui_click_layers(u, x, y);
		else if (p == PANE_DATA)
			tui_click_data(u, x, y);
		else if (p == PANE_CONF)
			tui_click_conf(u, x, y);
		return 1;
	}
	return 0;
}

void tui_ui_free(tui_ui *u)
{
	thaw_tui_buf_free(&u->buf);
	free(u->view);
	u->view = NULL;
}
