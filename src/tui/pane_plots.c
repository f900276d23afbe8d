/* The Plots pane: loss and accuracy as braille line plots, per epoch
 * (train, validation) and per batch, with dotted phase boundaries. */
#include <stdio.h>

#include "ui.h"

static void draw_plot(tui_ui *u, tui_rect r, int loss)
{
	tui_session *s = u->s;
	thaw_tui_buf *b = &u->buf;
	char title[64];
	snprintf(title, sizeof title, "%s%s", loss ? "Loss" : "Accuracy", loss && u->log_y ? " (log)" : "");
	thaw_tui_box(b, r.x, r.y, r.w, r.h, title, u->focus == PANE_PLOTS);
	int x = r.x + 1, y = r.y + 1, w = r.w - 2, h = r.h - 2;
	if (h < 3 || w < 12)
		return;
	/* the key takes a row only when the plot keeps at least three */
	int key = h >= 5;
	if (key) {
		int n = 1;
		n += thaw_tui_text(b, x + n, y, w - n, u->ascii ? "* train " : "\xe2\x94\x80 train ", C_SERIES_TRAIN, -1, 0);
		n += thaw_tui_text(b, x + n, y, w - n, u->ascii ? "o val " : "\xe2\x94\x80 val ", C_SERIES_VAL, -1, 0);
		if (u->per_batch && w >= 30)
			n += thaw_tui_text(b, x + n, y, w - n, u->ascii ? ". batch " : "\xe2\x94\x80 batch ", C_SERIES_BATCH, -1,
					   0);
		if ((s->sv_loss.n || s->s_loss.n) && w >= 30)
			n += thaw_tui_text(b, x + n, y, w - n, u->ascii ? "s scratch " : "\xe2\x94\x80 scratch ", C_SCRATCH, -1, 0);
		if (s->n_marks && w >= 30)
			n += thaw_tui_text(b, x + n, y, w - n, ": phase", 240, -1, 0);
	}
	const tui_series *bt = loss ? &s->b_loss : &s->b_acc, *tr = loss ? &s->e_loss : &s->e_acc,
			 *va = loss ? &s->v_loss : &s->v_acc;
	const tui_series *st = loss ? &s->s_loss : &s->s_acc, *sv = loss ? &s->sv_loss : &s->sv_acc;
	thaw_tui_series ser[5];
	int ns = 0;
	/* the scratch baseline in its own colour, under the transfer's curves */
	if (st->n || sv->n) {
		ser[ns++] = (thaw_tui_series){st->x, st->y, st->n, C_SCRATCH_TRAIN, '+'};
		ser[ns++] = (thaw_tui_series){sv->x, sv->y, sv->n, C_SCRATCH, 's'};
	}
	if (u->per_batch)
		ser[ns++] = (thaw_tui_series){bt->x, bt->y, bt->n, C_SERIES_BATCH, '.'};
	ser[ns++] = (thaw_tui_series){tr->x, tr->y, tr->n, C_SERIES_TRAIN, '*'};
	ser[ns++] = (thaw_tui_series){va->x, va->y, va->n, C_SERIES_VAL, 'o'};
	float xmax = s->epochs_before + ((s->busy && (s->act == ACT_TRAIN || s->act == ACT_VALIDATE) && !s->script) ? s->epochs : 0);
	if (bt->n && bt->x[bt->n - 1] > xmax)
		xmax = bt->x[bt->n - 1];
	if (tr->n && tr->x[tr->n - 1] > xmax)
		xmax = tr->x[tr->n - 1];
	if (s->scratch_state == 1 && s->epochs > xmax)
		xmax = (float)s->epochs;
	if (sv->n && sv->x[sv->n - 1] > xmax)
		xmax = sv->x[sv->n - 1];
	thaw_tui_plot_opts o = {.log_y = loss && u->log_y, .xmin = 0, .xmax = xmax > 0 ? xmax : 1,
				.marks = s->marks, .n_marks = s->n_marks};
	if (!loss) {
		o.ymin = 0;
		o.ymax = 1;
	}
	if (!bt->n && !tr->n && !va->n && !st->n && !sv->n) {
		thaw_tui_text(b, x + 1, y + h / 2, w - 1, w >= 26 ? "no training yet: press t" : "t trains", C_DIM, -1, 0);
		return;
	}
	thaw_tui_plot(b, x, y + key, w, h - key, ser, ns, &o);
}

void tui_draw_plots(tui_ui *u, tui_rect r)
{
	/* side by side when wide, or when stacking would leave each plot
	 * too short to show a curve (the 80x24 layout) */
	if (r.w >= 70 || (r.h < 16 && r.w >= 40)) {
		int half = r.w / 2;
		draw_plot(u, (tui_rect){r.x, r.y, half, r.h}, 1);
		draw_plot(u, (tui_rect){r.x + half, r.y, r.w - half, r.h}, 0);
	} else {
		int half = r.h / 2;
		draw_plot(u, (tui_rect){r.x, r.y, r.w, half}, 1);
		draw_plot(u, (tui_rect){r.x, r.y + half, r.w, r.h - half}, 0);
	}
}

int tui_key_plots(tui_ui *u, int k)
{
	if (k == 'L' || k == 'y')
		u->log_y = !u->log_y;
	else if (k == 'b')
		u->per_batch = !u->per_batch;
	else
		return TUI_IGNORED;
	return TUI_HANDLED | TUI_REDRAW;
}
