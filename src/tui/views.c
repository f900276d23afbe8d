/* The workbench's panes: layout, drawing into the cell buffer, keys and
 * clicks. Runs on the UI thread; reads the session's snapshot with its
 * lock held and sends commands through session.c. No curses here. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui.h"

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
	C_TITLE = 255
};

static const char *pane_names[PANE_COUNT] = {"Layers", "Plots", "Data", "Confusion", "Log"};

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static void fmt_count(char *out, size_t size, size_t v)
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

static void fmt_short(char *out, size_t size, size_t v)
{
	if (v < 10000)
		snprintf(out, size, "%zu", v);
	else if (v < 1000000)
		snprintf(out, size, "%.0fk", v / 1e3);
	else
		snprintf(out, size, "%.1fM", v / 1e6);
}

static void fmt_time(char *out, size_t size, double s)
{
	if (s < 0 || !isfinite(s))
		snprintf(out, size, "-:--");
	else if (s < 3600)
		snprintf(out, size, "%d:%02d", (int)s / 60, (int)s % 60);
	else
		snprintf(out, size, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60, (int)s % 60);
}

/* ---------------------------------------------------------------- layout */

void tui_layout(tui_ui *u)
{
	int W = u->buf.w, H = u->buf.h;
	u->too_small = W < 80 || H < 24;
	if (u->too_small)
		return;
	int mh = H - 2;
	int lw = clampi(W * 5 / 12, 38, 64), rw = W - lw;
	int lh = clampi(u->s->n_layers + 5, 8, mh - 6);
	u->pane[PANE_LAYERS] = (tui_rect){0, 1, lw, lh};
	u->pane[PANE_LOG] = (tui_rect){0, 1 + lh, lw, mh - lh};
	int ph = clampi(mh * 2 / 5, 8, mh - 10);
	u->pane[PANE_PLOTS] = (tui_rect){lw, 1, rw, ph};
	u->pane[PANE_DATA] = u->pane[PANE_CONF] = (tui_rect){lw, 1 + ph, rw, mh - ph};
	u->status = (tui_rect){0, H - 1, W, 1};
}

/* ---------------------------------------------------------------- layers */

static void draw_layers(tui_ui *u, tui_rect r)
{
	tui_session *s = u->s;
	thaw_tui_buf *b = &u->buf;
	int focused = u->focus == PANE_LAYERS;
	thaw_tui_box(b, r.x, r.y, r.w, r.h, "Layers", focused);
	int x = r.x + 1, iw = r.w - 2, y = r.y + 1, rows = r.h - 5;
	if (s->n_layers == 0) {
		thaw_tui_text(b, x + 1, y, iw - 1, s->script ? "(the script has not built a model yet)" : "(no model)", C_DIM,
			      -1, 0);
		return;
	}
	u->sel = clampi(u->sel, 0, s->n_layers - 1);
	if (u->sel < u->top)
		u->top = u->sel;
	if (u->sel >= u->top + rows)
		u->top = u->sel - rows + 1;
	u->top = clampi(u->top, 0, s->n_layers > rows ? s->n_layers - rows : 0);
	int nw = iw - 41, show_shape = 1;
	if (nw < 7) {
		show_shape = 0;
		nw += 11;
	}
	char line[256];
	if (show_shape)
		snprintf(line, sizeof line, "  %-*.*s %-10s %-10s %8s %4s", nw, nw, "name", "kind", "output", "params", "lr");
	else
		snprintf(line, sizeof line, "  %-*.*s %-10s %8s %4s", nw, nw, "name", "kind", "params", "lr");
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
			fmt_short(params, sizeof params, l->params);
		else
			snprintf(params, sizeof params, "-");
		if (l->has_weights)
			snprintf(mult, sizeof mult, "%s%.2g", u->ascii ? "x" : "\xc3\x97", l->lr_mult);
		else
			mult[0] = 0;
		if (show_shape)
			snprintf(line, sizeof line, "%-*.*s %-10.10s %-10.10s %8s %4s", nw, nw, l->name, kind, l->shape, params,
				 mult);
		else
			snprintf(line, sizeof line, "%-*.*s %-10.10s %8s %4s", nw, nw, l->name, kind, params, mult);
		thaw_tui_text(b, x + 2, yy, iw - 2, line, l->has_weights ? -1 : C_DIM, -1, a);
	}
	char tr[32], fr[32];
	fmt_count(tr, sizeof tr, s->n_trainable);
	fmt_count(fr, sizeof fr, s->n_frozen);
	int ty = r.y + r.h - 3;
	int n = thaw_tui_text(b, x, ty, iw, u->ascii ? " o " : " \xe2\x97\x8f ", C_TRAIN, -1, 0);
	n += thaw_tui_printf(b, x + n, ty, iw - n, -1, -1, THAW_TUI_BOLD, "trainable %s", tr);
	n += thaw_tui_text(b, x + n, ty, iw - n, u->ascii ? "   * " : "   \xe2\x9d\x84 ", C_FROZEN, -1, 0);
	thaw_tui_printf(b, x + n, ty, iw - n, -1, -1, THAW_TUI_BOLD, "frozen %s", fr);
	const tui_layer *l = &s->layers[u->sel];
	thaw_tui_printf(b, x + 1, ty + 1, iw - 1, C_DIM, -1, 0, "%s: %s %s%s", l->name, l->kind, l->desc,
			l->is_bn && !l->trainable ? " (running stats kept)" : "");
}

/* ---------------------------------------------------------------- plots */

static void draw_plot(tui_ui *u, tui_rect r, int loss)
{
	tui_session *s = u->s;
	thaw_tui_buf *b = &u->buf;
	char title[64];
	snprintf(title, sizeof title, "%s%s", loss ? "Loss" : "Accuracy", loss && u->log_y ? " (log)" : "");
	thaw_tui_box(b, r.x, r.y, r.w, r.h, title, u->focus == PANE_PLOTS);
	int x = r.x + 1, y = r.y + 1, w = r.w - 2, h = r.h - 2;
	if (h < 4)
		return;
	/* key */
	int n = 1;
	n += thaw_tui_text(b, x + n, y, w - n, u->ascii ? "* train " : "\xe2\x94\x80 train ", C_SERIES_TRAIN, -1, 0);
	n += thaw_tui_text(b, x + n, y, w - n, u->ascii ? "o val " : "\xe2\x94\x80 val ", C_SERIES_VAL, -1, 0);
	if (u->per_batch)
		n += thaw_tui_text(b, x + n, y, w - n, u->ascii ? ". batch " : "\xe2\x94\x80 batch ", C_SERIES_BATCH, -1, 0);
	if (s->n_marks)
		n += thaw_tui_text(b, x + n, y, w - n, ": phase", 240, -1, 0);
	const tui_series *bt = loss ? &s->b_loss : &s->b_acc, *tr = loss ? &s->e_loss : &s->e_acc,
			 *va = loss ? &s->v_loss : &s->v_acc;
	thaw_tui_series ser[3];
	int ns = 0;
	if (u->per_batch)
		ser[ns++] = (thaw_tui_series){bt->x, bt->y, bt->n, C_SERIES_BATCH, '.'};
	ser[ns++] = (thaw_tui_series){tr->x, tr->y, tr->n, C_SERIES_TRAIN, '*'};
	ser[ns++] = (thaw_tui_series){va->x, va->y, va->n, C_SERIES_VAL, 'o'};
	float xmax = s->epochs_before + ((s->busy && s->act != ACT_EVAL && !s->script) ? s->epochs : 0);
	if (bt->n && bt->x[bt->n - 1] > xmax)
		xmax = bt->x[bt->n - 1];
	if (tr->n && tr->x[tr->n - 1] > xmax)
		xmax = tr->x[tr->n - 1];
	thaw_tui_plot_opts o = {.log_y = loss && u->log_y, .xmin = 0, .xmax = xmax > 0 ? xmax : 1,
				.marks = s->marks, .n_marks = s->n_marks};
	if (!loss) {
		o.ymin = 0;
		o.ymax = 1;
	}
	if (!bt->n && !tr->n && !va->n) {
		thaw_tui_text(b, x + 2, y + h / 2, w - 2, "no training yet: press t", C_DIM, -1, 0);
		return;
	}
	thaw_tui_plot(b, x, y + 1, w, h - 1, ser, ns, &o);
}

static void draw_plots(tui_ui *u, tui_rect r)
{
	if (r.w >= 70) {
		int half = r.w / 2;
		draw_plot(u, (tui_rect){r.x, r.y, half, r.h}, 1);
		draw_plot(u, (tui_rect){r.x + half, r.y, r.w - half, r.h}, 0);
	} else {
		int half = r.h / 2;
		draw_plot(u, (tui_rect){r.x, r.y, r.w, half}, 1);
		draw_plot(u, (tui_rect){r.x, r.y + half, r.w, r.h - half}, 0);
	}
}

/* ---------------------------------------------------------------- data */

static const float *sort_loss;
static int by_loss(const void *a, const void *b)
{
	float la = sort_loss[*(const int *)a], lb = sort_loss[*(const int *)b];
	return la < lb ? 1 : la > lb ? -1 : *(const int *)a - *(const int *)b;
}

/* Recomputes the browser's list from the filters and predictions; mu held. */
static void refresh_view(tui_ui *u)
{
	tui_session *s = u->s;
	const thaw_dataset *d = s->view;
	if (!d)
		return;
	if (!u->view_dirty && u->view_pred_version == s->pred_version && u->view)
		return;
	if (u->view_cap < d->n) {
		int *v = realloc(u->view, (size_t)d->n * sizeof *v);
		if (!v)
			return;
		u->view = v;
		u->view_cap = d->n;
	}
	int have = s->n_pred == d->n, n = 0;
	for (int i = 0; i < d->n; i++) {
		int y = d->y[i];
		if (u->f_class >= 0 && y != u->f_class)
			continue;
		if (u->f_true >= 0 && y != u->f_true)
			continue;
		if (u->f_pred >= 0 && (!have || s->pred[i] != u->f_pred))
			continue;
		if (u->f_wrong && (!have || s->pred[i] == y))
			continue;
		u->view[n++] = i;
	}
	if (u->f_loss && have) {
		sort_loss = s->loss_p;
		qsort(u->view, (size_t)n, sizeof *u->view, by_loss);
	}
	u->n_view = n;
	u->view_dirty = 0;
	u->view_pred_version = s->pred_version;
}

static const char *class_name(const tui_session *s, int k)
{
	if (s->class_names && k >= 0 && k < s->K)
		return s->class_names[k];
	if (s->view && k >= 0 && k < s->view->n_classes)
		return s->view->class_names[k];
	return "?";
}

static void draw_data(tui_ui *u, tui_rect r)
{
	tui_session *s = u->s;
	thaw_tui_buf *b = &u->buf;
	const thaw_dataset *d = s->view;
	thaw_tui_box(b, r.x, r.y, r.w, r.h, "Data", u->focus == PANE_DATA);
	int x = r.x + 1, y = r.y + 1, iw = r.w - 2, ih = r.h - 2;
	if (!d) {
		thaw_tui_text(b, x + 1, y, iw - 1, "no data set in this session (scripts show their evaluations in Confusion)",
			      C_DIM, -1, 0);
		return;
	}
	refresh_view(u);
	/* tiles: the image at most 14 columns x 7 rows (28x28 halves), label, guess */
	int img_cols = d->w < 14 ? d->w : 14, img_rows = (d->h < 14 ? d->h + 1 : 14) / 2;
	u->tile_w = (img_cols > 12 ? img_cols : 12) + 2;
	u->tile_h = img_rows + 2;
	u->tiles_x = iw / u->tile_w > 0 ? iw / u->tile_w : 1;
	int tiles_y = (ih - 2) / u->tile_h > 0 ? (ih - 2) / u->tile_h : 1;
	u->per_page = u->tiles_x * tiles_y;
	int pages = u->n_view ? (u->n_view + u->per_page - 1) / u->per_page : 1;
	u->item = clampi(u->item, 0, u->n_view ? u->n_view - 1 : 0);
	u->page = u->item / u->per_page;
	char filt[256];
	char cls[64] = "all classes";
	if (u->f_class >= 0)
		snprintf(cls, sizeof cls, "class %s", class_name(s, u->f_class));
	if (u->f_true >= 0 || u->f_pred >= 0)
		snprintf(cls, sizeof cls, "true %s, guess %s", u->f_true >= 0 ? class_name(s, u->f_true) : "any",
			 u->f_pred >= 0 ? class_name(s, u->f_pred) : "any");
	snprintf(filt, sizeof filt, "%s · %s · %s · %d of %d · page %d/%d", cls,
		 u->f_wrong ? "misclassified" : "all guesses", u->f_loss ? "highest loss first" : "in order", u->n_view,
		 d->n, u->page + 1, pages);
	thaw_tui_text(b, x + 1, y, iw - 1, filt, -1, -1, THAW_TUI_BOLD);
	u->grid_x = x + 1;
	u->grid_y = y + 1;
	int have = s->n_pred == d->n;
	for (int k = 0; k < u->per_page; k++) {
		int vi = u->page * u->per_page + k;
		if (vi >= u->n_view)
			break;
		int i = u->view[vi];
		int tx = u->grid_x + (k % u->tiles_x) * u->tile_w, ty = u->grid_y + (k / u->tiles_x) * u->tile_h;
		int rows;
		thaw_tui_image(b, tx, ty, img_cols, img_rows, thaw_dataset_image(d, i), d->c, d->h, d->w, &rows);
		int sel = vi == u->item, a = sel ? (u->focus == PANE_DATA ? THAW_TUI_REVERSE : THAW_TUI_BOLD) : 0;
		thaw_tui_text(b, tx, ty + img_rows, u->tile_w - 1, class_name(s, d->y[i]), -1, -1, a);
		if (have) {
			int ok = s->pred[i] == d->y[i];
			char g[64];
			snprintf(g, sizeof g, "%s%s %.0f%%", ok ? "" : u->ascii ? ">" : "\xe2\x86\x92", class_name(s, s->pred[i]),
				 100 * s->conf_p[i]);
			if (ok)
				snprintf(g, sizeof g, "ok %.0f%%", 100 * s->conf_p[i]);
			thaw_tui_text(b, tx, ty + img_rows + 1, u->tile_w - 1, g, ok ? C_GOOD : C_BAD, -1, ok ? 0 : THAW_TUI_BOLD);
		}
	}
	if (!u->n_view)
		thaw_tui_text(b, x + 1, y + 2, iw - 1,
			      have || !(u->f_wrong || u->f_pred >= 0) ? "no images match the filters (a clears them)"
								      : "no predictions yet",
			      C_DIM, -1, 0);
	/* the selected image */
	int yy = r.y + r.h - 2;
	if (u->n_view) {
		int i = u->view[u->item];
		if (have)
			thaw_tui_printf(b, x + 1, yy, iw - 1, C_DIM, -1, 0, "#%d  true %s  guess %s (%.1f%%)  loss %.3f", i,
					class_name(s, d->y[i]), class_name(s, s->pred[i]), 100 * s->conf_p[i], s->loss_p[i]);
		else
			thaw_tui_printf(b, x + 1, yy, iw - 1, C_DIM, -1, 0, "#%d  true %s", i, class_name(s, d->y[i]));
	}
	thaw_tui_text(b, r.x + r.w - 37, r.y + r.h - 1, 35, " c class w wrong o loss a all n/N ", C_DIM, -1, 0);
}

/* ---------------------------------------------------------------- confusion */

static void draw_conf(tui_ui *u, tui_rect r)
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
	int labw = 4;
	for (int k = 0; k < K; k++) {
		int l = (int)strlen(class_name(s, k));
		labw = l > labw ? l : labw;
	}
	labw = clampi(labw, 10, 12); /* room for the corner's "true\\guess" */
	int cw = clampi((iw - labw - 8) / K, 4, 7);
	int cols = clampi((iw - labw - 8) / cw, 1, K), rows = clampi(ih - 3, 1, K);
	u->conf_r = clampi(u->conf_r, 0, K - 1);
	u->conf_c = clampi(u->conf_c, 0, K - 1);
	thaw_tui_printf(b, x + 1, y, iw - 1, C_DIM, -1, 0, "%-*s", labw, "true\\guess");
	for (int c = 0; c < cols; c++) {
		char h[16];
		snprintf(h, sizeof h, "%.*s", cw - 1, class_name(s, c));
		thaw_tui_printf(b, x + 2 + labw + c * cw, y, cw, C_DIM, -1, 0, "%*s", cw - 1, h);
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
		thaw_tui_printf(b, x + 1, y + 1 + rr, labw, -1, -1, 0, "%.*s", labw, class_name(s, rr));
		for (int c = 0; c < cols; c++) {
			long v = s->confusion[rr * K + c];
			double f = row ? (double)v / row : 0;
			int lvl = (int)lround(f * 5), bg = -1, fg = -1;
			if (v && lvl == 0)
				lvl = 1;
			if (lvl) {
				bg = rr == c ? 16 + 6 * lvl : 16 + 36 * lvl;
				fg = lvl >= 3 ? 16 : 231;
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
	thaw_tui_printf(b, x + 1, y + 1 + rows + 1, iw - 1, C_DIM, -1, 0,
			"accuracy %.2f%% of %ld · rows: true class, columns: guess · Enter shows the images",
			total ? 100.0 * diag / total : 0, total);
}

/* ---------------------------------------------------------------- log */

static int utf8_len(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Byte offset of code point k of s. */
static const char *utf8_at(const char *s, int k)
{
	for (; *s && k > 0; s++)
		if (((unsigned char)s[1] & 0xc0) != 0x80)
			k--;
	return s;
}

static void draw_log(tui_ui *u, tui_rect r)
{
	tui_session *s = u->s;
	thaw_tui_buf *b = &u->buf;
	thaw_tui_box(b, r.x, r.y, r.w, r.h, u->log_scroll ? "Log (scrolled: End returns)" : "Log", u->focus == PANE_LOG);
	int ih = r.h - 2, iw = r.w - 2, avail = s->log_n < TUI_LOG_LINES ? s->log_n : TUI_LOG_LINES;
	u->log_scroll = clampi(u->log_scroll, 0, avail > 1 ? avail - 1 : 0);
	/* newest at the bottom; long lines wrap, continuation rows indented */
	int yy = r.y + 1 + ih;
	for (int i = s->log_n - 1 - u->log_scroll; i >= s->log_n - avail && yy > r.y + 1; i--) {
		const char *line = s->log[i % TUI_LOG_LINES];
		int fg = strncmp(line, "error", 5) == 0 || strstr(line, "error:") ? C_BAD
			 : strncmp(line, "warning", 7) == 0                        ? C_WARN
										   : -1;
		int len = utf8_len(line), rows = 1;
		if (len > iw && iw > 4)
			rows += (len - iw + iw - 3) / (iw - 2);
		for (int k = rows - 1; k >= 0; k--) {
			if (--yy < r.y + 1)
				break;
			if (k == 0)
				thaw_tui_text(b, r.x + 1, yy, iw, line, fg, -1, 0);
			else
				thaw_tui_text(b, r.x + 3, yy, iw - 2, utf8_at(line, iw + (k - 1) * (iw - 2)), fg, -1, 0);
		}
	}
}

/* ---------------------------------------------------------------- status */

static void draw_status(tui_ui *u)
{
	tui_session *s = u->s;
	thaw_tui_buf *b = &u->buf;
	int y = u->status.y, W = u->status.w, a = THAW_TUI_REVERSE;
	thaw_tui_fill(b, 0, y, W, 1, ' ', -1, -1, a);
	if (u->prompt == PROMPT_QUIT) {
		thaw_tui_text(b, 1, y, W - 1,
			      s->busy ? "Training is running and will be lost. Quit anyway? (y/n)"
				      : "The trained model is not saved. Quit anyway? (y/n)",
			      -1, -1, a | THAW_TUI_BOLD);
		return;
	}
	if (u->prompt) {
		const char *what = u->prompt == PROMPT_LR ? "learning rate" : u->prompt == PROMPT_MULT ? "lr multiplier" : "save to";
		int n = thaw_tui_printf(b, 1, y, W - 1, -1, -1, a | THAW_TUI_BOLD, "%s: %s_", what, u->input);
		thaw_tui_text(b, 1 + n + 2, y, W - n - 3, "Enter applies, Esc cancels", -1, -1, a);
		return;
	}
	char line[512], lr[32], eta[32];
	snprintf(lr, sizeof lr, "%.2g", s->busy && s->act == ACT_TRAIN && s->cur_lr > 0 ? s->cur_lr : s->lr);
	int n = 1;
	if (s->busy && s->act != ACT_EVAL && s->batches > 0) {
		n += thaw_tui_printf(b, n, y, W - n, -1, -1, a | THAW_TUI_BOLD, "%s", s->phase);
		n += thaw_tui_printf(b, n, y, W - n, -1, -1, a, "  epoch %d/%d ", s->epoch, s->epochs);
		double frac = s->units_total ? (double)s->units_done / s->units_total : 0;
		if (s->script)
			frac = (double)s->batch / s->batches;
		int bw = 16, full = (int)(frac * bw + 0.5);
		for (int i = 0; i < bw; i++)
			thaw_tui_put(b, n + i, y, i < full ? 0x2588 : 0x2591, -1, -1, a);
		n += bw;
		fmt_time(eta, sizeof eta, s->eta);
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
		if (s->paused)
			n += thaw_tui_text(b, n, y, W - n, state, -1, -1, a | THAW_TUI_BOLD);
		else if (*state)
			n += thaw_tui_text(b, n, y, W - n, state, -1, -1, a);
	} else if (s->busy) {
		n += thaw_tui_text(b, n, y, W - n, s->act == ACT_EVAL ? "evaluating the model" : "running the script", -1, -1,
				   a | THAW_TUI_BOLD);
	} else {
		if (s->script)
			snprintf(line, sizeof line, "%s", s->script_done ? "script finished  s saves  q quits" : "starting");
		else
			snprintf(line, sizeof line, "idle  t trains %d epoch%s  l sets lr (%s)  s saves", s->fit.epochs,
				 s->fit.epochs == 1 ? "" : "s", lr);
		n += thaw_tui_text(b, n, y, W - n, line, -1, -1, a);
	}
	if (W - 9 > n)
		thaw_tui_text(b, W - 8, y, 8, "? help", -1, -1, a | THAW_TUI_BOLD);
}

static void draw_tabs(tui_ui *u)
{
	thaw_tui_buf *b = &u->buf;
	int n = thaw_tui_text(b, 0, 0, -1, " thaw ", C_TITLE, -1, THAW_TUI_BOLD);
	n += thaw_tui_text(b, n, 0, b->w / 3, u->title ? u->title : "", C_DIM, -1, 0);
	n += 2;
	for (int p = 0; p < PANE_COUNT; p++) {
		char t[32];
		snprintf(t, sizeof t, " %d %s ", p + 1, pane_names[p]);
		int len = (int)strlen(t);
		int a = p == u->focus ? THAW_TUI_REVERSE | THAW_TUI_BOLD : 0;
		u->tabs[p] = (tui_rect){n, 0, len, 1};
		thaw_tui_text(b, n, 0, len, t, p == u->focus ? -1 : C_DIM, -1, a);
		n += len + 1;
	}
}

static const char *const help_lines[] = {
	"Keys",
	"tab, shift-tab, 1-5   change pane (mouse: click a pane or tab)",
	"arrows, hjkl          move;  PgUp/PgDn page",
	"t or Enter            train (a new phase) / resume",
	"p                     pause / resume      x  stop the phase",
	"l                     set the learning rate",
	"s                     save the model (a checkpoint)",
	"q                     quit (asks when training would be lost)",
	"",
	"Layers: space toggles freezing (click the marker), f freezes up",
	"        to the cursor and thaws the rest, u thaws all,",
	"        m sets the lr multiplier.  \xe2\x9d\x84 frozen  \xe2\x97\x8f trainable;",
	"        a frozen batch norm keeps its running statistics.",
	"Plots:  L log/linear loss scale, b per-batch curve on/off",
	"Data:   c cycle class, w misclassified only, o highest loss",
	"        first, a clear filters, n/N next/previous page",
	"Confusion: Enter (or click) shows that cell's images",
	"",
	"Changes apply at the next batch boundary.   any key closes",
};

static void draw_help(tui_ui *u)
{
	thaw_tui_buf *b = &u->buf;
	int n = (int)(sizeof help_lines / sizeof *help_lines);
	int w = clampi(70, 20, b->w - 2), h = clampi(n + 2, 5, b->h - 2);
	int x = (b->w - w) / 2, y = (b->h - h) / 2;
	thaw_tui_fill(b, x, y, w, h, ' ', -1, 236, 0);
	thaw_tui_box(b, x, y, w, h, "Help", 1);
	for (int i = 0; i < n && i < h - 2; i++)
		thaw_tui_text(b, x + 2, y + 1 + i, w - 4, help_lines[i], -1, 236, i == 0 ? THAW_TUI_BOLD : 0);
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
	draw_tabs(u);
	draw_layers(u, u->pane[PANE_LAYERS]);
	draw_plots(u, u->pane[PANE_PLOTS]);
	if (u->bottom == PANE_CONF)
		draw_conf(u, u->pane[PANE_CONF]);
	else
		draw_data(u, u->pane[PANE_DATA]);
	draw_log(u, u->pane[PANE_LOG]);
	draw_status(u);
	if (u->help)
		draw_help(u);
	pthread_mutex_unlock(&s->mu);
}

/* ---------------------------------------------------------------- keys */

static void set_focus(tui_ui *u, int p)
{
	u->focus = (p + PANE_COUNT) % PANE_COUNT;
	if (u->focus == PANE_DATA || u->focus == PANE_CONF)
		u->bottom = u->focus;
}

static void send(tui_ui *u, int kind, int node, float value, const char *path)
{
	tui_cmd c = {.kind = kind, .node = node, .value = value};
	if (path)
		snprintf(c.path, sizeof c.path, "%s", path);
	tui_session_command(u->s, &c);
}

static void start_prompt(tui_ui *u, int kind)
{
	u->prompt = kind;
	u->input[0] = 0;
	pthread_mutex_lock(&u->s->mu);
	if (kind == PROMPT_LR)
		snprintf(u->input, sizeof u->input, "%g", u->s->lr);
	else if (kind == PROMPT_MULT && u->sel < u->s->n_layers)
		snprintf(u->input, sizeof u->input, "%g", u->s->layers[u->sel].lr_mult);
	else if (kind == PROMPT_SAVE)
		snprintf(u->input, sizeof u->input, "%s", u->save_path ? u->save_path : "workbench.thaw");
	pthread_mutex_unlock(&u->s->mu);
}

static void finish_prompt(tui_ui *u)
{
	int kind = u->prompt;
	u->prompt = PROMPT_NONE;
	if (kind == PROMPT_SAVE) {
		if (u->input[0])
			send(u, CMD_SAVE, 0, 0, u->input);
		return;
	}
	char *end;
	double v = strtod(u->input, &end);
	if (end == u->input || *end || !(v >= 0) || !isfinite(v) || (kind == PROMPT_LR && (v <= 0 || v > 10))) {
		tui_session_log(u->s, "error: '%s' is not a valid %s", u->input,
				kind == PROMPT_LR ? "learning rate (0 < lr <= 10)" : "multiplier (>= 0)");
		return;
	}
	if (kind == PROMPT_LR)
		send(u, CMD_LR, 0, (float)v, NULL);
	else
		send(u, CMD_LR_MULT, u->sel, (float)v, NULL);
}

static void confusion_select(tui_ui *u)
{
	u->f_true = u->conf_r;
	u->f_pred = u->conf_c;
	u->f_class = -1;
	u->f_wrong = 0;
	u->view_dirty = 1;
	u->item = 0;
	set_focus(u, PANE_DATA);
}

static int key_layers(tui_ui *u, int k)
{
	int n = u->s->n_layers, page = u->pane[PANE_LAYERS].h - 5;
	switch (k) {
	case TK_UP: case 'k': u->sel--; break;
	case TK_DOWN: case 'j': u->sel++; break;
	case TK_PGUP: u->sel -= page; break;
	case TK_PGDN: u->sel += page; break;
	case TK_HOME: case 'g': u->sel = 0; break;
	case TK_END: case 'G': u->sel = n - 1; break;
	case ' ': send(u, CMD_TOGGLE, u->sel, 0, NULL); break;
	case 'f': send(u, CMD_FREEZE_UPTO, u->sel, 0, NULL); break;
	case 'u': send(u, CMD_UNFREEZE_ALL, 0, 0, NULL); break;
	case 'm': start_prompt(u, PROMPT_MULT); break;
	default: return 0;
	}
	u->sel = clampi(u->sel, 0, n > 0 ? n - 1 : 0);
	return 1;
}

static int key_data(tui_ui *u, int k)
{
	int K = u->s->view ? u->s->view->n_classes : 0;
	switch (k) {
	case TK_LEFT: case 'h': u->item--; break;
	case TK_RIGHT: case 'l': u->item++; break;
	case TK_UP: case 'k': u->item -= u->tiles_x; break;
	case TK_DOWN: case 'j': u->item += u->tiles_x; break;
	case TK_PGDN: case 'n': u->item += u->per_page; break;
	case TK_PGUP: case 'N': u->item -= u->per_page; break;
	case TK_HOME: u->item = 0; break;
	case TK_END: u->item = u->n_view - 1; break;
	case 'c':
		u->f_class = u->f_class + 1 >= K ? -1 : u->f_class + 1;
		u->f_true = u->f_pred = -1;
		u->view_dirty = 1;
		u->item = 0;
		break;
	case 'w': u->f_wrong = !u->f_wrong; u->view_dirty = 1; u->item = 0; break;
	case 'o': u->f_loss = !u->f_loss; u->view_dirty = 1; u->item = 0; break;
	case 'a':
		u->f_class = u->f_true = u->f_pred = -1;
		u->f_wrong = u->f_loss = 0;
		u->view_dirty = 1;
		u->item = 0;
		break;
	default: return 0;
	}
	u->item = clampi(u->item, 0, u->n_view > 0 ? u->n_view - 1 : 0);
	return 1;
}

static int key_conf(tui_ui *u, int k)
{
	switch (k) {
	case TK_UP: case 'k': u->conf_r--; break;
	case TK_DOWN: case 'j': u->conf_r++; break;
	case TK_LEFT: case 'h': u->conf_c--; break;
	case TK_RIGHT: case 'l': u->conf_c++; break;
	case TK_ENTER: case ' ': confusion_select(u); break;
	default: return 0;
	}
	int K = u->s->K;
	u->conf_r = clampi(u->conf_r, 0, K > 0 ? K - 1 : 0);
	u->conf_c = clampi(u->conf_c, 0, K > 0 ? K - 1 : 0);
	return 1;
}

int tui_key(tui_ui *u, int k)
{
	if (k == TK_RESIZE)
		return 1;
	if (u->prompt == PROMPT_QUIT) {
		if (k == 'y' || k == 'Y')
			u->quit = 1;
		else if (k == 'n' || k == 'N' || k == TK_ESC || k == 'q')
			u->prompt = PROMPT_NONE;
		return 1;
	}
	if (u->prompt) {
		size_t len = strlen(u->input);
		if (k == TK_ENTER)
			finish_prompt(u);
		else if (k == TK_ESC)
			u->prompt = PROMPT_NONE;
		else if (k == TK_BACKSPACE && len)
			u->input[len - 1] = 0;
		else if (k >= 32 && k < 127 && len + 1 < sizeof u->input)
			u->input[len] = (char)k, u->input[len + 1] = 0;
		return 1;
	}
	if (u->help) {
		u->help = 0;
		return 1;
	}
	if (k == 'q' || k == 'Q') {
		pthread_mutex_lock(&u->s->mu);
		int lose = (u->s->busy && u->s->act != ACT_EVAL) || (u->s->unsaved && !u->s->script);
		pthread_mutex_unlock(&u->s->mu);
		if (lose && !u->too_small)
			u->prompt = PROMPT_QUIT;
		else
			u->quit = 1;
		return 1;
	}
	if (u->too_small)
		return 0;
	int handled = 0;
	switch (u->focus) {
	case PANE_LAYERS: handled = key_layers(u, k); break;
	case PANE_DATA: handled = key_data(u, k); break;
	case PANE_CONF: handled = key_conf(u, k); break;
	case PANE_PLOTS:
		if (k == 'L' || k == 'y')
			u->log_y = !u->log_y, handled = 1;
		else if (k == 'b')
			u->per_batch = !u->per_batch, handled = 1;
		break;
	case PANE_LOG:
		if (k == TK_UP || k == 'k')
			u->log_scroll++, handled = 1;
		else if (k == TK_DOWN || k == 'j')
			u->log_scroll = u->log_scroll > 0 ? u->log_scroll - 1 : 0, handled = 1;
		else if (k == TK_PGUP)
			u->log_scroll += u->pane[PANE_LOG].h - 3, handled = 1;
		else if (k == TK_PGDN)
			u->log_scroll = u->log_scroll > u->pane[PANE_LOG].h - 3 ? u->log_scroll - (u->pane[PANE_LOG].h - 3) : 0,
			handled = 1;
		else if (k == TK_END)
			u->log_scroll = 0, handled = 1;
		break;
	}
	if (handled)
		return 1;
	switch (k) {
	case '\t': set_focus(u, u->focus + 1); return 1;
	case TK_BTAB: set_focus(u, u->focus - 1); return 1;
	case '1': case '2': case '3': case '4': case '5': set_focus(u, k - '1'); return 1;
	case '?': u->help = 1; return 1;
	case 't': case TK_ENTER: tui_session_train(u->s); return 1;
	case 'p': tui_session_pause(u->s); return 1;
	case 'x': tui_session_stop(u->s); return 1;
	case 'l': start_prompt(u, PROMPT_LR); return 1;
	case 's': start_prompt(u, PROMPT_SAVE); return 1;
	case 'L': u->log_y = !u->log_y; return 1;
	}
	return 0;
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
			set_focus(u, p);
			return 1;
		}
	if (inside(u->pane[PANE_LAYERS], x, y)) {
		set_focus(u, PANE_LAYERS);
		tui_rect r = u->pane[PANE_LAYERS];
		int row = y - (r.y + 2);
		if (row >= 0 && row < r.h - 5 && u->top + row < u->s->n_layers) {
			u->sel = u->top + row;
			if (x <= r.x + 2) /* the marker column toggles */
				send(u, CMD_TOGGLE, u->sel, 0, NULL);
		}
		return 1;
	}
	if (inside(u->pane[PANE_PLOTS], x, y)) {
		set_focus(u, PANE_PLOTS);
		return 1;
	}
	if (inside(u->pane[PANE_LOG], x, y)) {
		set_focus(u, PANE_LOG);
		return 1;
	}
	if (inside(u->pane[PANE_DATA], x, y)) {
		if (u->bottom == PANE_CONF) {
			set_focus(u, PANE_CONF);
			int c = (x - u->conf_x) / (u->conf_cw ? u->conf_cw : 1), r = y - u->conf_y;
			if (x >= u->conf_x && c < u->s->K && r >= 0 && r < u->conf_rows && r < u->s->K) {
				u->conf_r = r;
				u->conf_c = c;
				confusion_select(u);
			}
			return 1;
		}
		set_focus(u, PANE_DATA);
		if (u->tile_w && u->tile_h && x >= u->grid_x && y >= u->grid_y) {
			int tx = (x - u->grid_x) / u->tile_w, ty = (y - u->grid_y) / u->tile_h;
			if (tx < u->tiles_x) {
				int vi = u->page * u->per_page + ty * u->tiles_x + tx;
				if (vi < u->n_view && ty * u->tiles_x + tx < u->per_page)
					u->item = vi;
			}
		}
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
