/* The frame around the panes: the tab line, the status line (progress,
 * or the open prompt), the help, and the number formats they share. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ui.h"

static const char *pane_names[PANE_COUNT] = {"Layers", "Plots", "Data", "Confusion", "Log", "Explore"};

void tui_fmt_count(char *out, size_t size, size_t v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof tmp, "%zu", v), o = 0;
	for (int i = 0; i < n && o + 2 < (int)size; i++) {
		if (i && (n - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = tmp[i];
	}
	out[o] = 0;
}

void tui_fmt_short(char *out, size_t size, size_t v)
{
	if (v < 10000)
		snprintf(out, size, "%zu", v);
	else if (v < 1000000)
		snprintf(out, size, "%.0fk", v / 1e3);
	else
		snprintf(out, size, "%.1fM", v / 1e6);
}

void tui_fmt_time(char *out, size_t size, double s)
{
	if (s < 0 || !isfinite(s))
		snprintf(out, size, "-:--");
	else if (s < 3600)
		snprintf(out, size, "%d:%02d", (int)s / 60, (int)s % 60);
	else
		snprintf(out, size, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60, (int)s % 60);
}

void tui_draw_status(tui_ui *u)
{
	tui_session *s = u->s;
	thaw_tui_buf *b = &u->buf;
	int y = u->status.y, W = u->status.w, a = THAW_TUI_REVERSE;
	thaw_tui_fill(b, 0, y, W, 1, ' ', -1, -1, a);
	if (u->prompt) {
		char text[600];
		const char *hint = NULL;
		tui_prompt_text(u, text, sizeof text, &hint);
		int n = thaw_tui_text(b, 1, y, W - 1, text, -1, -1, a | THAW_TUI_BOLD);
		if (hint && 1 + n + 2 < W)
			thaw_tui_text(b, 1 + n + 2, y, W - n - 3, hint, -1, -1, a);
		return;
	}
	char line[512], lr[32], eta[32];
	thaw_tui_fmt_num(lr, sizeof lr, s->busy && s->act == ACT_TRAIN && s->cur_lr > 0 ? s->cur_lr : s->lr, 7);
	int n = 1;
	if (s->busy && s->act != ACT_EVAL && s->act != ACT_EXPLORE && s->batches > 0) {
		n += thaw_tui_printf(b, n, y, W - n, -1, -1, a | THAW_TUI_BOLD, "%s", s->phase);
		n += thaw_tui_printf(b, n, y, W - n, -1, -1, a, "  epoch %d/%d ", s->epoch, s->epochs);
		double frac = s->units_total ? (double)s->units_done / s->units_total : 0;
		if (s->script)
			frac = (double)s->batch / s->batches;
		int bw = W >= 100 ? 16 : 8, full = (int)(frac * bw + 0.5);
		for (int i = 0; i < bw; i++)
			thaw_tui_put(b, n + i, y, i < full ? 0x2588 : 0x2591, -1, -1, a);
		n += bw;
		tui_fmt_time(eta, sizeof eta, s->eta);
		const char *state = s->paused ? "  PAUSED" : s->act == ACT_VALIDATE ? "  validating" : "";
		/* the most detail that leaves room for the state and "? help" (a
		 * narrow window drops the speed first, then lr, then the batch) */
		int room = W - 9 - n - (int)strlen(state);
		for (int detail = 4; detail >= 0; detail--) {
			if (detail == 4)
				snprintf(line, sizeof line, " %3.0f%%  batch %d/%d  %.0f img/s  ETA %s  lr %s", 100 * frac,
					 s->batch, s->batches, s->img_s, eta, lr);
			else if (detail == 3)
				snprintf(line, sizeof line, " %3.0f%%  batch %d/%d  ETA %s  lr %s", 100 * frac, s->batch,
					 s->batches, eta, lr);
			else if (detail == 2)
				snprintf(line, sizeof line, " %3.0f%%  batch %d/%d  ETA %s", 100 * frac, s->batch, s->batches,
					 eta);
			else if (detail == 1)
				snprintf(line, sizeof line, " %3.0f%%  ETA %s", 100 * frac, eta);
			else
				snprintf(line, sizeof line, " %3.0f%%", 100 * frac);
			if ((int)strlen(line) < room)
				break;
		}
		n += thaw_tui_text(b, n, y, W - n, line, -1, -1, a);
		if (*state)
			n += thaw_tui_text(b, n, y, W - n, state, -1, -1, s->paused ? a | THAW_TUI_BOLD : a);
	} else if (s->busy) {
		n += thaw_tui_text(b, n, y, W - n,
				   s->act == ACT_EVAL      ? "evaluating the model"
				   : s->act == ACT_EXPLORE ? "exploring the cuts (x stops)"
							   : "running the script",
				   -1, -1, a | THAW_TUI_BOLD);
	} else {
		if (s->script)
			snprintf(line, sizeof line, "%s", s->script_done ? "script finished  s saves  q quits" : "starting");
		else
			snprintf(line, sizeof line, "idle  t trains %d epoch%s (e)  batch %d (B)  lr %s (l)  s saves", s->fit.epochs,
				 s->fit.epochs == 1 ? "" : "s", s->fit.batch, lr);
		char sum[300];
		tui_scratch_summary(s, sum, sizeof sum);
		if (sum[0] && !s->script) /* beside a transfer run, the summary says which is ahead */
			snprintf(line, sizeof line, "idle  %s  t trains", sum);
		n += thaw_tui_text(b, n, y, W - n, line, -1, -1, a);
	}
	if (W - 9 > n)
		thaw_tui_text(b, W - 8, y, 8, "? help", -1, -1, a | THAW_TUI_BOLD);
}

void tui_draw_tabs(tui_ui *u)
{
	thaw_tui_buf *b = &u->buf;
	/* the tabs from the right edge leftwards; the title gets what is left */
	int tabs_w = 0;
	for (int p = 0; p < PANE_COUNT; p++)
		tabs_w += (int)strlen(pane_names[p]) + 5;
	int n = thaw_tui_text(b, 0, 0, -1, " thaw ", C_TITLE, -1, THAW_TUI_BOLD);
	int title_w = b->w - n - tabs_w - 1;
	if (u->zoom)
		title_w -= 7;
	if (title_w > 0)
		n += thaw_tui_text(b, n, 0, title_w, u->title ? u->title : "", C_DIM, -1, 0);
	n = b->w - tabs_w - (u->zoom ? 7 : 0);
	if (n < 6)
		n = 6;
	for (int p = 0; p < PANE_COUNT; p++) {
		char t[32];
		snprintf(t, sizeof t, " %d %s ", p + 1, pane_names[p]);
		int len = (int)strlen(t);
		int a = p == u->focus ? THAW_TUI_REVERSE | THAW_TUI_BOLD : 0;
		u->tabs[p] = (tui_rect){n, 0, len, 1};
		thaw_tui_text(b, n, 0, len, t, p == u->focus ? -1 : C_DIM, -1, a);
		n += len + 1;
	}
	if (u->zoom)
		thaw_tui_text(b, n, 0, 6, "[zoom]", C_WARN, -1, THAW_TUI_BOLD);
}

static const char *const help_lines[] = {
	"Keys",
	"tab, shift-tab, 1-6  change pane (mouse: click a pane or tab)",
	"z  zoom (z again)    arrows, hjkl, g/G, PgUp/PgDn  move",
	"t  train (a new phase) / resume    p  pause    x  stop the phase",
	"F  fine_tune: head on the frozen base, then all at graded rates",
	"R  LR finder: curve to lr-find.png, sets the suggested lr",
	"E  explore the cuts (6 Explore)    S  scratch baseline to compare",
	"l  learning rate   e  epochs   B  batch size   A  augmentation",
	"s  save   X  export to ONNX   q  quit (asks if work would be lost)",
	"",
	"Layers: space toggles freezing (click the marker), f freezes up",
	"        to the cursor and thaws the rest, u thaws all,",
	"        m sets the lr multiplier.  \xe2\x9d\x84 frozen  \xe2\x97\x8f trainable",
	"Plots:  L log/linear loss scale, b per-batch curve on/off",
	"Data:   Enter opens the image, c cycles class, w misclassified,",
	"        o highest loss first, a clears filters, n/N page",
	"Confusion: Enter shows the cell's images",
	"Explore: left/right pick a cut, Enter cuts the model there",
	"Enter also trains in Layers, Plots and Log.   any key closes",
};

void tui_draw_help(tui_ui *u)
{
	thaw_tui_buf *b = &u->buf;
	int n = (int)(sizeof help_lines / sizeof *help_lines);
	int w = tui_clampi(70, 20, b->w - 2), h = tui_clampi(n + 2, 5, b->h - 2);
	int x = (b->w - w) / 2, y = (b->h - h) / 2;
	thaw_tui_fill(b, x, y, w, h, ' ', -1, 236, 0);
	thaw_tui_box(b, x, y, w, h, "Help", 1);
	for (int i = 0; i < n && i < h - 2; i++)
		thaw_tui_text(b, x + 2, y + 1 + i, w - 4, help_lines[i], -1, 236, i == 0 ? THAW_TUI_BOLD : 0);
}
