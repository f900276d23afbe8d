/* The Explore pane: the cut explorer's held-out accuracy as one bar per
 * candidate cut, the scratch baseline as a horizontal line across them,
 * and the choice: left/right select a bar, Enter cuts the model there
 * with a new head (thaw_transfer, as `--cut NAME` does). */
#include <stdio.h>
#include <string.h>

#include "ui.h"

static void draw_hint(tui_ui *u, int x, int y, int w, const char *s) { thaw_tui_text(&u->buf, x, y, w, s, C_DIM, -1, 0); }

void tui_draw_explore(tui_ui *u, tui_rect r)
{
	tui_session *s = u->s;
	thaw_tui_buf *b = &u->buf;
	thaw_tui_box(b, r.x, r.y, r.w, r.h, "Explore cuts (held-out accuracy, k-fold)", u->focus == PANE_EXPLORE);
	int x = r.x + 2, y = r.y + 1, w = r.w - 4, h = r.h - 2;
	if (w < 20 || h < 6)
		return;
	const thaw_explore_result *e = &s->ex;
	if (s->ex_state == 0 || (s->ex_state == 1 && e->n_cuts == 0) || (s->ex_state < 0 && e->n_cuts == 0)) {
		const char *msg = s->ex_state == 1 ? "exploring: features once, then a quick head per cut and fold (log: 5)"
				  : s->ex_state < 0 ? "the explorer stopped or failed (see the log); E tries again"
						    : "E explores the cuts: a quick head per candidate cut, k-fold on the "
						      "training images only, beside a scratch baseline";
		int off[8], len[8], n = thaw_tui_wrap(msg, w, w, off, len, 8);
		for (int i = 0; i < n && i < 8 && i < h; i++) {
			char line[256];
			snprintf(line, sizeof line, "%.*s", len[i], msg + off[i]);
			draw_hint(u, x, y + h / 2 - 1 + i, w, line);
		}
		return;
	}
	int n = e->n_cuts;
	u->ex_sel = tui_clampi(u->ex_sel, 0, n - 1);
	/* the summary line */
	char top[300];
	const thaw_explore_cut *best = e->best >= 0 ? &e->cuts[e->best] : NULL;
	int m = snprintf(top, sizeof top, "best %s %.1f%% \xc2\xb1%.1f", best ? best->name : "-", best ? 100 * best->acc : 0,
			 best ? 100 * best->sd : 0);
	if (e->has_scratch)
		snprintf(top + m, sizeof top - m, "  scratch %.1f%%: %s", 100 * e->scratch.acc,
			 e->scratch_wins ? "scratch wins (negative transfer)" : "transfer wins");
	else
		snprintf(top + m, sizeof top - m, "  scratch: %s", s->ex_state == 1 ? "measuring..." : "-");
	thaw_tui_text(b, x, y, w, top, e->scratch_wins ? C_BAD : C_GOOD, -1, THAW_TUI_BOLD);
	/* the chart: rows y+2 .. y+h-3 (the value labels above, the names and the hint below) */
	int cy0 = y + 2, ch = h - 5, axis = 5, cx0 = x + axis, cw = w - axis;
	if (ch < 2)
		return;
	int slot = cw / n;
	if (slot < 2)
		slot = 2;
	int bw = tui_clampi(slot - 2, 1, 10);
	for (int k = 0; k <= 2; k++) {
		char t[8];
		snprintf(t, sizeof t, "%3d%%", 50 * k);
		thaw_tui_text(b, x, cy0 + ch - 1 - (ch - 1) * k / 2, 4, t, C_DIM, -1, 0);
	}
	int base = cy0 + ch; /* the row under the chart */
	int sc_row = -1;
	if (e->has_scratch) {
		int eighths = (int)(e->scratch.acc * ch * 8 + 0.5);
		sc_row = base - 1 - (eighths > 0 ? (eighths - 1) / 8 : 0);
	}
	for (int i = 0; i < n && cx0 + slot * i < x + w; i++) {
		const thaw_explore_cut *c = &e->cuts[i];
		int bx = cx0 + slot * i + (slot - bw) / 2;
		int col = i == u->ex_sel ? C_FOCUS : i == e->best ? C_GOOD : 250;
		int eighths = (int)(c->acc * ch * 8 + 0.5);
		int full = eighths / 8, part = eighths % 8;
		for (int row = 0; row < full && row < ch; row++)
			for (int k = 0; k < bw; k++)
				thaw_tui_put(b, bx + k, base - 1 - row, u->ascii ? '#' : 0x2588, col, -1, 0);
		if (part && full < ch)
			for (int k = 0; k < bw; k++)
				thaw_tui_put(b, bx + k, base - 1 - full, u->ascii ? (part >= 4 ? '#' : '_') : 0x2580 + part,
					     col, -1, 0);
		int top_row = base - 1 - full - (part ? 1 : 0);
		char t[16];
		snprintf(t, sizeof t, "%.0f%%", 100 * c->acc);
		int tl = (int)strlen(t);
		thaw_tui_text(b, cx0 + slot * i + (slot - tl) / 2, top_row < cy0 - 1 ? cy0 - 1 : top_row, slot, t,
			      i == u->ex_sel ? C_FOCUS : -1, -1, 0);
		char name[64];
		thaw_tui_middle(name, sizeof name, c->name, slot - 1);
		int nl = thaw_tui_cols(name);
		thaw_tui_text(b, cx0 + slot * i + (slot - nl) / 2, base, slot - 1, name, i == u->ex_sel ? -1 : C_DIM, -1,
			      i == u->ex_sel ? THAW_TUI_REVERSE : 0);
	}
	if (sc_row >= cy0 - 1) { /* the scratch line over the empty cells */
		for (int cx = cx0; cx < x + w; cx++) {
			thaw_tui_cell *cell = thaw_tui_at(b, cx, sc_row);
			if (cell && (cell->ch == ' ' || cell->ch == 0))
				thaw_tui_put(b, cx, sc_row, u->ascii ? '-' : 0x2500, C_SCRATCH, -1, 0);
		}
		char t[32];
		snprintf(t, sizeof t, " scratch %.0f%% ", 100 * e->scratch.acc);
		int tl = (int)strlen(t);
		thaw_tui_text(b, x + w - tl, sc_row, tl, t, C_SCRATCH, -1, THAW_TUI_BOLD);
	}
	const thaw_explore_cut *sel = &e->cuts[u->ex_sel];
	char hint[300];
	snprintf(hint, sizeof hint, "%s: %d features%s, %.1f%% \xc2\xb1%.1f, %.1f s   \xe2\x86\x90\xe2\x86\x92 select  Enter cuts here  E again",
		 sel->name, sel->features, sel->pooled ? " (pooled)" : "", 100 * sel->acc, 100 * sel->sd, sel->seconds);
	draw_hint(u, x, y + h - 1, w, hint);
}

int tui_key_explore(tui_ui *u, int k)
{
	tui_session *s = u->s;
	switch (k) {
	case TK_LEFT: case 'h': u->ex_sel--; break;
	case TK_RIGHT: case 'l': u->ex_sel++; break;
	case TK_HOME: case 'g': u->ex_sel = 0; break;
	case TK_END: case 'G': u->ex_sel = 1 << 20; break;
	case TK_ENTER: case '\r': case '\n': {
		char name[THAW_NAME_MAX] = "";
		pthread_mutex_lock(&s->mu);
		if (s->ex.n_cuts > 0) {
			u->ex_sel = tui_clampi(u->ex_sel, 0, s->ex.n_cuts - 1);
			snprintf(name, sizeof name, "%s", s->ex.cuts[u->ex_sel].name);
		}
		pthread_mutex_unlock(&s->mu);
		if (!name[0])
			return TUI_IGNORED; /* nothing explored yet: Enter trains, as elsewhere */
		tui_send(u, CMD_CUT, 0, 0, name);
		return TUI_HANDLED | TUI_REDRAW;
	}
	default: return TUI_IGNORED;
	}
	pthread_mutex_lock(&s->mu);
	u->ex_sel = s->ex.n_cuts > 0 ? tui_clampi(u->ex_sel, 0, s->ex.n_cuts - 1) : 0;
	pthread_mutex_unlock(&s->mu);
	return TUI_HANDLED | TUI_REDRAW;
}
