/* The Layers pane: every node with its freeze marker, kind, output shape,
 * parameters and lr multiplier; space toggles freezing. */
#include <stdio.h>

#include "ui.h"

/* The first layer with weights that trains (the head, in a transfer). */
static int first_trainable(const tui_session *s)
{
	for (int i = 0; i < s->n_layers; i++)
		if (s->layers[i].has_weights && s->layers[i].trainable)
			return i;
	return -1;
}

void tui_draw_layers(tui_ui *u, tui_rect r)
{
	tui_session *s = u->s;
	thaw_tui_buf *b = &u->buf;
	int focused = u->focus == PANE_LAYERS;
	thaw_tui_box(b, r.x, r.y, r.w, r.h, "Layers", focused);
	int x = r.x + 1, iw = r.w - 2, y = r.y + 1, rows = r.h - 5;
	if (rows < 1)
		rows = 1;
	if (s->n_layers == 0) {
		thaw_tui_text(b, x + 1, y, iw - 1, s->script ? "(the script has not built a model yet)" : "(no model)", C_DIM,
			      -1, 0);
		return;
	}
	/* on a screen too short for the whole list, start on the layer that
	 * trains rather than on the first frozen one (the head would be
	 * scrolled off) */
	if (!u->sel_placed) {
		u->sel_placed = 1;
		int t = first_trainable(s);
		if (s->n_layers > rows && t >= 0)
			u->sel = t;
	}
	u->sel = tui_clampi(u->sel, 0, s->n_layers - 1);
	if (u->sel < u->top)
		u->top = u->sel;
	if (u->sel >= u->top + rows)
		u->top = u->sel - rows + 1;
	u->top = tui_clampi(u->top, 0, s->n_layers > rows ? s->n_layers - rows : 0);
	/* the name column takes what the other columns leave; the shape goes
	 * when there is not room for the names beside it (80 columns, or an
	 * imported model's long dotted names), and a name still too long is
	 * cut in the middle, keeping its distinctive end */
	int longest = 0;
	for (int i = 0; i < s->n_layers; i++) {
		int n = thaw_tui_cols(s->layers[i].name);
		longest = n > longest ? n : longest;
	}
	int nw = iw - 41, show_shape = 1;
	if (nw < 7 || nw < (longest < 12 ? longest : 12)) {
		show_shape = 0;
		nw = iw - 24;
	}
	char line[256];
	if (show_shape)
		snprintf(line, sizeof line, "  %-*.*s %-10s %-10s %8s %4s", nw, nw, "name", "kind", "output", "params", "lr");
	else
		snprintf(line, sizeof line, "  %-*.*s %-9s %6s %4s", nw, nw, "name", "kind", "params", "lr");
	thaw_tui_text(b, x, y, iw, line, C_DIM, -1, THAW_TUI_UNDERLINE);
	for (int k = 0; k < rows && u->top + k < s->n_layers; k++) {
		int i = u->top + k, yy = y + 1 + k;
		const tui_layer *l = &s->layers[i];
		int a = i == u->sel ? (focused ? THAW_TUI_REVERSE : THAW_TUI_BOLD) : 0;
		uint32_t mark;
		int mc;
		if (l->has_weights) {
			mark = l->trainable ? 0x25cf : 0x2744;
			mc = l->trainable ? C_TRAIN : C_FROZEN;
		} else {
			mark = l->trainable ? 0x00b7 : 0x2744;
			mc = C_DIM;
		}
		thaw_tui_fill(b, x, yy, iw, 1, ' ', -1, -1, a);
		thaw_tui_put(b, x, yy, mark, mc, -1, a);
		char kind[16], params[16], mult[16];
		if (l->is_bn && !l->trainable)
			snprintf(kind, sizeof kind, "bn frozen");
		else
			snprintf(kind, sizeof kind, "%s", l->kind);
		if (l->has_weights)
			tui_fmt_short(params, sizeof params, l->params);
		else
			snprintf(params, sizeof params, "-");
		if (l->has_weights)
			snprintf(mult, sizeof mult, "%s%.2g", u->ascii ? "x" : "\xc3\x97", l->lr_mult);
		else
			mult[0] = 0;
		if (show_shape)
			snprintf(line, sizeof line, " %-10.10s %-10.10s %8s %4s", kind, l->shape, params, mult);
		else
			snprintf(line, sizeof line, " %-9.9s %6s %4s", kind, params, mult);
		char name[sizeof l->name * 2];
		thaw_tui_middle(name, sizeof name, l->name, nw);
		int fg = l->has_weights ? -1 : C_DIM;
		thaw_tui_text(b, x + 2, yy, nw < iw - 2 ? nw : iw - 2, name, fg, -1, a);
		thaw_tui_text(b, x + 2 + nw, yy, iw - 2 - nw, line, fg, -1, a);
	}
	/* more above or below: an arrow in the frame */
	if (u->top > 0)
		thaw_tui_put(b, r.x + r.w - 1, y + 1, u->ascii ? '^' : 0x25b2, C_DIM, -1, 0);
	if (u->top + rows < s->n_layers)
		thaw_tui_put(b, r.x + r.w - 1, y + rows, u->ascii ? 'v' : 0x25bc, C_DIM, -1, 0);
	char tr[32], fr[32];
	tui_fmt_count(tr, sizeof tr, s->n_trainable);
	tui_fmt_count(fr, sizeof fr, s->n_frozen);
	int ty = r.y + r.h - 3;
	int n = thaw_tui_text(b, x, ty, iw, u->ascii ? " o " : " \xe2\x97\x8f ", C_TRAIN, -1, 0);
	n += thaw_tui_printf(b, x + n, ty, iw - n, -1, -1, THAW_TUI_BOLD, "trainable %s", tr);
	n += thaw_tui_text(b, x + n, ty, iw - n, u->ascii ? "   * " : "   \xe2\x9d\x84 ", C_FROZEN, -1, 0);
	thaw_tui_printf(b, x + n, ty, iw - n, -1, -1, THAW_TUI_BOLD, "frozen %s", fr);
	const tui_layer *l = &s->layers[u->sel];
	thaw_tui_printf(b, x + 1, ty + 1, iw - 1, C_DIM, -1, 0, "%s: %s %s%s", l->name, l->kind, l->desc,
			l->is_bn && !l->trainable ? " (running stats kept)" : "");
}

int tui_key_layers(tui_ui *u, int k)
{
	int n = u->s->n_layers, page = u->pane[PANE_LAYERS].h - 5;
	switch (k) {
	case TK_UP: case 'k': u->sel--; break;
	case TK_DOWN: case 'j': u->sel++; break;
	case TK_PGUP: u->sel -= page; break;
	case TK_PGDN: u->sel += page; break;
	case TK_HOME: case 'g': u->sel = 0; break;
	case TK_END: case 'G': u->sel = n - 1; break;
	case ' ': tui_send(u, CMD_TOGGLE, u->sel, 0, NULL); break;
	case 'f': tui_send(u, CMD_FREEZE_UPTO, u->sel, 0, NULL); break;
	case 'u': tui_send(u, CMD_UNFREEZE_ALL, 0, 0, NULL); break;
	case 'm': tui_prompt_start(u, PROMPT_MULT); break;
	default: return TUI_IGNORED;
	}
	u->sel_placed = 1;
	u->sel = tui_clampi(u->sel, 0, n > 0 ? n - 1 : 0);
	return TUI_HANDLED | TUI_REDRAW;
}

void tui_click_layers(tui_ui *u, int x, int y)
{
	tui_rect r = u->pane[PANE_LAYERS];
	int row = y - (r.y + 2);
	if (row >= 0 && row < r.h - 5 && u->top + row < u->s->n_layers) {
		u->sel = u->top + row;
		u->sel_placed = 1;
		if (x <= r.x + 2) /* the marker column toggles */
			tui_send(u, CMD_TOGGLE, u->sel, 0, NULL);
	}
}
