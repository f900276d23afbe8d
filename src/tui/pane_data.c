/* The Data pane: the validation images in half blocks (or texts, wrapped)
 * with their labels and the model's guesses, filtered and ordered; Enter
 * opens one large. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "thaw/text.h"
#include "ui.h"

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

const char *tui_class_name(const tui_session *s, int k)
{
	if (s->class_names && k >= 0 && k < s->K)
		return s->class_names[k];
	if (s->view && k >= 0 && k < s->view->n_classes)
		return s->view->class_names[k];
	return "?";
}

/* The guess of sample i in at most size bytes: "ok 91%" or "->sound 58%". */
static void guess_text(const tui_ui *u, int i, char *g, size_t size)
{
	const tui_session *s = u->s;
	if (s->pred[i] == s->view->y[i])
		snprintf(g, size, "ok %.0f%%", 100 * s->conf_p[i]);
	else
		snprintf(g, size, "%s%s %.0f%%", u->ascii ? ">" : "\xe2\x86\x92", tui_class_name(s, s->pred[i]),
			 100 * s->conf_p[i]);
}

/* Up to `rows` rows of text s from (x, y), `w` columns wide, the last row
 * ending in an ellipsis when s goes on. Returns the rows drawn. */
static int draw_wrapped(tui_ui *u, int x, int y, int w, int rows, const char *s, int fg)
{
	enum { MAXR = 64 };
	int off[MAXR], len[MAXR];
	if (rows > MAXR)
		rows = MAXR;
	int n = thaw_tui_wrap(s, w, w, off, len, rows);
	int shown = n < rows ? n : rows;
	for (int k = 0; k < shown; k++) {
		char part[1024];
		int l = len[k] < (int)sizeof part - 1 ? len[k] : (int)sizeof part - 1;
		memcpy(part, s + off[k], (size_t)l);
		part[l] = 0;
		if (k == shown - 1 && n > rows) { /* more follows: an ellipsis says so */
			int used = thaw_tui_text(&u->buf, x, y + k, w > 1 ? w - 1 : 1, part, fg, -1, 0);
			thaw_tui_text(&u->buf, x + used, y + k, 1, u->ascii ? "~" : "\xe2\x80\xa6", C_DIM, -1, 0);
		} else {
			thaw_tui_text(&u->buf, x, y + k, w, part, fg, -1, 0);
		}
	}
	return shown;
}

/* Text data: a list of samples, each a line with its number, label and the
 * model's guess, then its words (what the model reads: <unk> for words the
 * vocabulary lacks), wrapped to TEXT_ROWS rows. */
enum { TEXT_ROWS = 2 };
static void draw_text_list(tui_ui *u)
{
	tui_session *s = u->s;
	const thaw_dataset *d = s->view;
	int have = s->n_pred == d->n, w = u->tile_w;
	for (int k = 0; k < u->per_page; k++) {
		int vi = u->page * u->per_page + k;
		if (vi >= u->n_view)
			break;
		int i = u->view[vi], ty = u->grid_y + k * u->tile_h;
		int sel = vi == u->item, a = sel ? (u->focus == PANE_DATA ? THAW_TUI_REVERSE : THAW_TUI_BOLD) : 0;
		char head[160];
		snprintf(head, sizeof head, "#%d %s", i, tui_class_name(s, d->y[i]));
		int used = thaw_tui_text(&u->buf, u->grid_x, ty, w, head, -1, -1, a | THAW_TUI_BOLD);
		if (have && used + 2 < w) {
			char g[96];
			guess_text(u, i, g, sizeof g);
			int ok = s->pred[i] == d->y[i];
			int gw = thaw_tui_text(&u->buf, u->grid_x + used + 2, ty, w - used - 2, g, ok ? C_GOOD : C_BAD, -1,
					       ok ? 0 : THAW_TUI_BOLD);
			char l[32];
			snprintf(l, sizeof l, "loss %.2f", s->loss_p[i]);
			if (used + 2 + gw + 2 + (int)strlen(l) <= w)
				thaw_tui_text(&u->buf, u->grid_x + used + 2 + gw + 2, ty, w - used - gw - 4, l, C_DIM, -1, 0);
		}
		char *t = thaw_text_sample(d, i);
		draw_wrapped(u, u->grid_x + 2, ty + 1, w - 2, TEXT_ROWS, t ? t : "(out of memory)", -1);
		free(t);
	}
}

void tui_draw_data(tui_ui *u, tui_rect r)
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
	int text = thaw_dataset_is_text(d) > 0;
	/* tiles: the image at most 14 columns x 7 rows (28x28 halves), label,
	 * guess; a text takes the width: a line for label and guess, its words
	 * below, a blank line after */
	int img_cols = d->w < 14 ? d->w : 14, img_rows = (d->h < 14 ? d->h + 1 : 14) / 2;
	u->tile_w = text ? (iw > 4 ? iw - 2 : 2) : (img_cols > 12 ? img_cols : 12) + 2;
	u->tile_h = text ? 1 + TEXT_ROWS + 1 : img_rows + 2;
	u->tiles_x = iw / u->tile_w > 0 ? iw / u->tile_w : 1;
	int tiles_y = (ih - 2) / u->tile_h > 0 ? (ih - 2) / u->tile_h : 1;
	u->per_page = u->tiles_x * tiles_y;
	int pages = u->n_view ? (u->n_view + u->per_page - 1) / u->per_page : 1;
	u->item = tui_clampi(u->item, 0, u->n_view ? u->n_view - 1 : 0);
	u->page = u->item / u->per_page;
	char filt[256];
	char cls[64] = "all classes";
	if (u->f_class >= 0)
		snprintf(cls, sizeof cls, "class %s", tui_class_name(s, u->f_class));
	if (u->f_true >= 0 || u->f_pred >= 0)
		snprintf(cls, sizeof cls, "true %s, guess %s", u->f_true >= 0 ? tui_class_name(s, u->f_true) : "any",
			 u->f_pred >= 0 ? tui_class_name(s, u->f_pred) : "any");
	if (iw >= 60)
		snprintf(filt, sizeof filt, "%s · %s · %s · %d of %d · page %d/%d", cls,
			 u->f_wrong ? "misclassified" : "all guesses", u->f_loss ? "highest loss first" : "in order",
			 u->n_view, d->n, u->page + 1, pages);
	else /* narrow: the counts first, the filters as short words */
		snprintf(filt, sizeof filt, "%d of %d · p%d/%d · %s%s%s", u->n_view, d->n, u->page + 1, pages, cls,
			 u->f_wrong ? " · wrong" : "", u->f_loss ? " · by loss" : "");
	thaw_tui_text(b, x + 1, y, iw - 1, filt, -1, -1, THAW_TUI_BOLD);
	u->grid_x = x + 1;
	u->grid_y = y + 1;
	int have = s->n_pred == d->n;
	for (int k = 0; k < u->per_page && !text; k++) {
		int vi = u->page * u->per_page + k;
		if (vi >= u->n_view)
			break;
		int i = u->view[vi];
		int tx = u->grid_x + (k % u->tiles_x) * u->tile_w, ty = u->grid_y + (k / u->tiles_x) * u->tile_h;
		int rows;
		thaw_tui_image(b, tx, ty, img_cols, img_rows, thaw_dataset_image(d, i), d->c, d->h, d->w, &rows);
		int sel = vi == u->item, a = sel ? (u->focus == PANE_DATA ? THAW_TUI_REVERSE : THAW_TUI_BOLD) : 0;
		thaw_tui_text(b, tx, ty + img_rows, u->tile_w - 1, tui_class_name(s, d->y[i]), -1, -1, a);
		if (have) {
			int ok = s->pred[i] == d->y[i];
			char g[64];
			snprintf(g, sizeof g, "%s%s %.0f%%", ok ? "" : u->ascii ? ">" : "\xe2\x86\x92",
				 tui_class_name(s, s->pred[i]), 100 * s->conf_p[i]);
			if (ok)
				snprintf(g, sizeof g, "ok %.0f%%", 100 * s->conf_p[i]);
			thaw_tui_text(b, tx, ty + img_rows + 1, u->tile_w - 1, g, ok ? C_GOOD : C_BAD, -1, ok ? 0 : THAW_TUI_BOLD);
		}
	}
	if (text)
		draw_text_list(u);
	if (!u->n_view)
		thaw_tui_text(b, x + 1, y + 2, iw - 1,
			      !(have || !(u->f_wrong || u->f_pred >= 0)) ? "no predictions yet"
			      : text ? "no texts match the filters (a clears them)"
				     : "no images match the filters (a clears them)",
			      C_DIM, -1, 0);
	/* the selected image */
	int yy = r.y + r.h - 2;
	if (u->n_view) {
		int i = u->view[u->item];
		if (have && iw < 60 && s->pred[i] == d->y[i])
			thaw_tui_printf(b, x + 1, yy, iw - 1, C_DIM, -1, 0, "#%d %s ok %.0f%% loss %.2f", i,
					tui_class_name(s, d->y[i]), 100 * s->conf_p[i], s->loss_p[i]);
		else if (have && iw < 60)
			thaw_tui_printf(b, x + 1, yy, iw - 1, C_DIM, -1, 0, "#%d %s%s%s %.0f%% loss %.2f", i,
					tui_class_name(s, d->y[i]), u->ascii ? "->" : "\xe2\x86\x92", tui_class_name(s, s->pred[i]),
					100 * s->conf_p[i], s->loss_p[i]);
		else if (have)
			thaw_tui_printf(b, x + 1, yy, iw - 1, C_DIM, -1, 0, "#%d  true %s  guess %s (%.1f%%)  loss %.3f", i,
					tui_class_name(s, d->y[i]), tui_class_name(s, s->pred[i]), 100 * s->conf_p[i],
					s->loss_p[i]);
		else
			thaw_tui_printf(b, x + 1, yy, iw - 1, C_DIM, -1, 0, "#%d  true %s", i, tui_class_name(s, d->y[i]));
	}
	const char *hint = iw >= 50 ? " Enter opens  c class w wrong o loss a all n/N " : " c w o a n/N Enter ";
	int hw = (int)strlen(hint); /* ASCII */
	thaw_tui_text(b, r.x + r.w - 2 - hw, r.y + r.h - 1, hw, hint, C_DIM, -1, 0);
}

/* The selected text in full, with its label, the model's guess,
 * confidence and loss. */
static void draw_text_open(tui_ui *u, tui_rect r, int i)
{
	tui_session *s = u->s;
	thaw_tui_buf *b = &u->buf;
	const thaw_dataset *d = s->view;
	char title[96];
	snprintf(title, sizeof title, "Text #%d", i);
	thaw_tui_fill(b, r.x, r.y, r.w, r.h, ' ', -1, -1, 0);
	thaw_tui_box(b, r.x, r.y, r.w, r.h, title, 1);
	int x = r.x + 1, y = r.y + 1, iw = r.w - 2, ih = r.h - 2, ty = y, have = s->n_pred == d->n;
	thaw_tui_printf(b, x + 1, ty++, iw - 1, -1, -1, THAW_TUI_BOLD, "label  %s", tui_class_name(s, d->y[i]));
	if (have) {
		int ok = s->pred[i] == d->y[i];
		thaw_tui_printf(b, x + 1, ty++, iw - 1, ok ? C_GOOD : C_BAD, -1, THAW_TUI_BOLD, "guess  %s  (%s)",
				tui_class_name(s, s->pred[i]), ok ? "right" : "wrong");
		thaw_tui_printf(b, x + 1, ty++, iw - 1, -1, -1, 0, "confidence %.1f%%   loss %.3f", 100 * s->conf_p[i],
				s->loss_p[i]);
	} else {
		thaw_tui_text(b, x + 1, ty++, iw - 1, "no prediction yet", C_DIM, -1, 0);
	}
	int len = d->len[i], cut = len > d->w ? len - d->w : 0;
	if (cut)
		thaw_tui_printf(b, x + 1, ty++, iw - 1, C_DIM, -1, 0, "%d tokens; the model reads the first %d", len, d->w);
	else
		thaw_tui_printf(b, x + 1, ty++, iw - 1, C_DIM, -1, 0, "%d tokens", len);
	ty++;
	char *t = thaw_text_sample(d, i);
	draw_wrapped(u, x + 1, ty, iw - 2, y + ih - 2 - ty, t ? t : "(out of memory)", -1);
	free(t);
	thaw_tui_printf(b, x + 1, y + ih - 1, iw - 1, C_DIM, -1, 0, "%d of %d   h/l previous/next, Esc or Enter closes",
			u->item + 1, u->n_view);
}

/* The selected image as large as the area allows, with its label, the
 * model's guess, confidence and loss. */
void tui_draw_image(tui_ui *u, tui_rect r)
{
	tui_session *s = u->s;
	thaw_tui_buf *b = &u->buf;
	const thaw_dataset *d = s->view;
	if (!d || !u->n_view) {
		u->image_open = 0;
		return;
	}
	int i = u->view[tui_clampi(u->item, 0, u->n_view - 1)];
	if (thaw_dataset_is_text(d)) {
		draw_text_open(u, r, i);
		return;
	}
	char title[96];
	snprintf(title, sizeof title, "Image #%d", i);
	thaw_tui_fill(b, r.x, r.y, r.w, r.h, ' ', -1, -1, 0);
	thaw_tui_box(b, r.x, r.y, r.w, r.h, title, 1);
	int x = r.x + 1, y = r.y + 1, iw = r.w - 2, ih = r.h - 2;
	/* image cells hold one pixel across and two down: keep the aspect */
	int rows = ih - 5, cols = iw - 2;
	if (cols > rows * 2 * d->w / d->h)
		cols = rows * 2 * d->w / d->h;
	if (rows > cols * d->h / d->w / 2 + 1)
		rows = cols * d->h / d->w / 2 + 1;
	int used_rows = 0;
	int used = thaw_tui_image(b, x + (iw - cols) / 2, y, cols, rows, thaw_dataset_image(d, i), d->c, d->h, d->w,
				  &used_rows);
	(void)used;
	int ty = y + used_rows + 1, have = s->n_pred == d->n;
	thaw_tui_printf(b, x + 1, ty++, iw - 1, -1, -1, THAW_TUI_BOLD, "label  %s", tui_class_name(s, d->y[i]));
	if (have) {
		int ok = s->pred[i] == d->y[i];
		thaw_tui_printf(b, x + 1, ty++, iw - 1, ok ? C_GOOD : C_BAD, -1, THAW_TUI_BOLD, "guess  %s  (%s)",
				tui_class_name(s, s->pred[i]), ok ? "right" : "wrong");
		thaw_tui_printf(b, x + 1, ty++, iw - 1, -1, -1, 0, "confidence %.1f%%   loss %.3f", 100 * s->conf_p[i],
				s->loss_p[i]);
	} else {
		thaw_tui_text(b, x + 1, ty++, iw - 1, "no prediction yet", C_DIM, -1, 0);
	}
	thaw_tui_printf(b, x + 1, y + ih - 1, iw - 1, C_DIM, -1, 0, "%d of %d  %dx%dx%d   h/l previous/next, Esc or Enter closes",
			u->item + 1, u->n_view, d->c, d->h, d->w);
}

int tui_key_data(tui_ui *u, int k)
{
	int K = u->s->view ? u->s->view->n_classes : 0;
	if (u->image_open) {
		switch (k) {
		case TK_ENTER: case TK_ESC: case ' ': u->image_open = 0; break;
		case TK_LEFT: case 'h': case TK_UP: case 'k': u->item--; break;
		case TK_RIGHT: case 'l': case TK_DOWN: case 'j': u->item++; break;
		case 'g': case TK_HOME: u->item = 0; break;
		case 'G': case TK_END: u->item = u->n_view - 1; break;
		default: return TUI_IGNORED;
		}
		u->item = tui_clampi(u->item, 0, u->n_view > 0 ? u->n_view - 1 : 0);
		return TUI_HANDLED | TUI_REDRAW;
	}
	switch (k) {
	case TK_LEFT: case 'h': u->item--; break;
	case TK_RIGHT: case 'l': u->item++; break;
	case TK_UP: case 'k': u->item -= u->tiles_x; break;
	case TK_DOWN: case 'j': u->item += u->tiles_x; break;
	case TK_PGDN: case 'n': u->item += u->per_page; break;
	case TK_PGUP: case 'N': u->item -= u->per_page; break;
	case TK_HOME: case 'g': u->item = 0; break;
	case TK_END: case 'G': u->item = u->n_view - 1; break;
	case TK_ENTER: u->image_open = u->n_view > 0; break;
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
	default: return TUI_IGNORED;
	}
	u->item = tui_clampi(u->item, 0, u->n_view > 0 ? u->n_view - 1 : 0);
	return TUI_HANDLED | TUI_REDRAW;
}

void tui_click_data(tui_ui *u, int x, int y)
{
	if (u->image_open) {
		u->image_open = 0;
		return;
	}
	if (u->tile_w && u->tile_h && x >= u->grid_x && y >= u->grid_y) {
		int tx = (x - u->grid_x) / u->tile_w, ty = (y - u->grid_y) / u->tile_h;
		if (tx < u->tiles_x) {
			int vi = u->page * u->per_page + ty * u->tiles_x + tx;
			if (vi < u->n_view && ty * u->tiles_x + tx < u->per_page)
				u->item = vi;
		}
	}
}
