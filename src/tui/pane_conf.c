/* The Confusion pane: the validation confusion matrix (rows: true class,
 * columns: guess) with per-class recall; Enter shows a cell's images. */
#include <stdio.h>
#include <string.h>

#include "ui.h"

/* A class name in at most w columns: whole when it fits, else its start
 * and its end ("Ankle boot" in 6: "Ank~ot" would hide it; "Ankle~" keeps
 * the start, which is what tells names apart most often). */
static void fit_name(char *out, size_t size, const char *name, int w, int ascii)
{
	if (w < 1) {
		out[0] = 0;
		return;
	}
	if (thaw_tui_cols(name) <= w) {
		snprintf(out, size, "%s", name);
		return;
	}
	/* w - 1 code points and an ellipsis */
	const char *p = name;
	int k = 0;
	while (*p && k < w - 1) {
		p++;
		while (((unsigned char)*p & 0xc0) == 0x80)
			p++;
		k++;
	}
	snprintf(out, size, "%.*s%s", (int)(p - name), name, ascii ? "~" : "\xe2\x80\xa6");
}

/* 256-colour ramps: greens for the diagonal (by recall), reds for the
 * mistakes (by count, against the largest mistake) */
static const int ramp_good[5] = {22, 28, 34, 40, 46};
static const int ramp_bad[5] = {52, 88, 124, 160, 196};

void tui_draw_conf(tui_ui *u, tui_rect r)
{
	tui_session *s = u->s;
	thaw_tui_buf *b = &u->buf;
	thaw_tui_box(b, r.x, r.y, r.w, r.h, "Confusion (validation)", u->focus == PANE_CONF);
	int x = r.x + 1, y = r.y + 1, iw = r.w - 2, ih = r.h - 2;
	int K = s->K;
	if (!K || !s->confusion || !s->conf_version) {
		thaw_tui_text(b, x + 1, y, iw - 1, "no evaluation yet", C_DIM, -1, 0);
		return;
	}
	long most = 0, worst = 0; /* the largest count, the largest mistake */
	int maxname = 4;
	for (int k = 0; k < K; k++) {
		int l = thaw_tui_cols(tui_class_name(s, k));
		maxname = l > maxname ? l : maxname;
		for (int c = 0; c < K; c++) {
			long v = s->confusion[k * K + c];
			most = v > most ? v : most;
			if (c != k)
				worst = v > worst ? v : worst;
		}
	}
	char tmp[32];
	int digits = snprintf(tmp, sizeof tmp, "%ld", most);
	/* the row labels: whole names when there is room, at least the corner's
	 * "true\guess" (10) or what leaves each column its count */
	int cw_min = digits + 1 > 4 ? digits + 1 : 4;
	int labw = tui_clampi(maxname, 10, iw - 8 - K * cw_min - 2);
	if (labw < 6)
		labw = 6;
	/* the columns: wide enough for the whole names when they fit */
	int room = iw - labw - 10;
	int cw = tui_clampi(maxname + 1, cw_min, 14);
	if (cw * K > room)
		cw = tui_clampi(room / K, cw_min, 14);
	int cols = tui_clampi(room / cw, 1, K), rows = tui_clampi(ih - 3, 1, K);
	u->conf_r = tui_clampi(u->conf_r, 0, K - 1);
	u->conf_c = tui_clampi(u->conf_c, 0, K - 1);
	thaw_tui_printf(b, x + 1, y, labw, C_DIM, -1, 0, "%s", "true\\guess");
	for (int c = 0; c < cols; c++) {
		char h[64];
		fit_name(h, sizeof h, tui_class_name(s, c), cw - 1, u->ascii);
		int hl = thaw_tui_cols(h);
		thaw_tui_text(b, x + 2 + labw + c * cw + (cw - 1 - hl), y, cw - 1, h, C_DIM, -1, 0);
	}
	thaw_tui_text(b, x + 2 + labw + cols * cw + 1, y, 6, "recall", C_DIM, -1, 0);
	u->conf_x = x + 2 + labw;
	u->conf_y = y + 1;
	u->conf_cw = cw;
	u->conf_rows = rows;
	long total = 0, diag = 0;
	for (int rr = 0; rr < K; rr++) {
		long row = 0;
		for (int c = 0; c < K; c++)
			row += s->confusion[rr * K + c];
		total += row;
		diag += s->confusion[rr * K + rr];
		if (rr >= rows)
			continue;
		char name[64];
		fit_name(name, sizeof name, tui_class_name(s, rr), labw, u->ascii);
		thaw_tui_text(b, x + 1, y + 1 + rr, labw, name, -1, -1, 0);
		for (int c = 0; c < cols; c++) {
			long v = s->confusion[rr * K + c];
			int bg = -1, fg = -1;
			if (v && rr == c) {
				int lvl = (int)(row ? 4.999 * v / row : 0);
				bg = ramp_good[tui_clampi(lvl, 0, 4)];
				fg = lvl >= 3 ? 16 : 231;
			} else if (v) {
				int lvl = (int)(worst ? 4.999 * v / worst : 0);
				bg = ramp_bad[tui_clampi(lvl, 0, 4)];
				fg = 231;
			}
			int sel = rr == u->conf_r && c == u->conf_c;
			int a = sel ? (u->focus == PANE_CONF ? THAW_TUI_REVERSE : THAW_TUI_UNDERLINE) : 0;
			if (!b->color && v && rr != c && !sel)
				a |= THAW_TUI_BOLD;
			thaw_tui_printf(b, x + 2 + labw + c * cw, y + 1 + rr, cw, fg, bg, a, "%*ld ", cw - 1, v);
		}
		thaw_tui_printf(b, x + 2 + labw + cols * cw + 1, y + 1 + rr, 6, C_DIM, -1, 0, "%5.1f%%",
				row ? 100.0 * s->confusion[rr * K + rr] / row : 0);
	}
	/* the footer: on one line when it fits, else two, else the figure */
	char acc[96];
	snprintf(acc, sizeof acc, "accuracy %.2f%% of %ld", total ? 100.0 * diag / total : 0, total);
	int text = s->view && s->view->ids; /* a cell holds texts */
	const char *hint = text ? "rows: true class, columns: guess · Enter shows the texts"
				: "rows: true class, columns: guess · Enter shows the images";
	int fy = y + 1 + rows + 1, left = y + ih - fy;
	if (left <= 0)
		fy = y + ih - 1, left = 1;
	if (thaw_tui_cols(acc) + 3 + thaw_tui_cols(hint) <= iw - 1 || left < 2) {
		thaw_tui_printf(b, x + 1, fy, iw - 1, C_DIM, -1, 0, "%s · %s", acc, hint);
	} else {
		thaw_tui_text(b, x + 1, fy, iw - 1, acc, C_DIM, -1, 0);
		thaw_tui_text(b, x + 1, fy + 1, iw - 1,
			      thaw_tui_cols(hint) <= iw - 1 ? hint
			      : text			 ? "rows true, columns guess; Enter: texts"
							 : "rows true, columns guess; Enter: images",
			      C_DIM, -1, 0);
	}
}

static void confusion_select(tui_ui *u)
{
	u->f_true = u->conf_r;
	u->f_pred = u->conf_c;
	u->f_class = -1;
	u->f_wrong = 0;
	u->view_dirty = 1;
	u->item = 0;
	tui_set_focus(u, PANE_DATA);
}

int tui_key_conf(tui_ui *u, int k)
{
	switch (k) {
	case TK_UP: case 'k': u->conf_r--; break;
	case TK_DOWN: case 'j': u->conf_r++; break;
	case TK_LEFT: case 'h': u->conf_c--; break;
	case TK_RIGHT: case 'l': u->conf_c++; break;
	case TK_HOME: case 'g': u->conf_r = u->conf_c = 0; break;
	case TK_END: case 'G': u->conf_r = u->conf_c = u->s->K - 1; break;
	case TK_ENTER: case ' ': confusion_select(u); break;
	default: return TUI_IGNORED;
	}
	int K = u->s->K;
	u->conf_r = tui_clampi(u->conf_r, 0, K > 0 ? K - 1 : 0);
	u->conf_c = tui_clampi(u->conf_c, 0, K > 0 ? K - 1 : 0);
	return TUI_HANDLED | TUI_REDRAW;
}

void tui_click_conf(tui_ui *u, int x, int y)
{
	int c = (x - u->conf_x) / (u->conf_cw ? u->conf_cw : 1), r = y - u->conf_y;
	if (x >= u->conf_x && c < u->s->K && r >= 0 && r < u->conf_rows && r < u->s->K) {
		u->conf_r = r;
		u->conf_c = c;
		confusion_select(u);
	}
}
