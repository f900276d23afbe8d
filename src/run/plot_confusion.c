/* Plots to PNG, the confusion matrix: cells shaded by their share of the
 * row, counts where they fit, class names on both axes, a colour bar. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot_draw.h"
#include "thaw/core.h"
#include "thaw/font.h"

#define NAME_CHARS 14
#define CM_PAD 12

/* "Blues": white through mid blue to navy; darker for every larger share. */
static thaw_rgb blues(double t)
{
	static const double stop[4][3] = {
		{247, 251, 255}, {158, 202, 225}, {49, 130, 189}, {8, 48, 107}};
	if (!(t > 0))
		t = 0;
	if (t > 1)
		t = 1;
	double u = t * 3;
	int i = u >= 3 ? 2 : (int)u;
	double a = u - i;
	thaw_rgb k;
	k.r = (uint8_t)lround(stop[i][0] + a * (stop[i + 1][0] - stop[i][0]));
	k.g = (uint8_t)lround(stop[i][1] + a * (stop[i + 1][1] - stop[i][1]));
	k.b = (uint8_t)lround(stop[i][2] + a * (stop[i + 1][2] - stop[i][2]));
	return k;
}

typedef struct cm_layout {
	thaw_confusion_frame f;
	int ls;     /* class-name scale; 0 = index labels every `every` classes */
	int every;
	int band;   /* pixels for the labels beside and below the matrix */
	int bar_x, bar_h;
} cm_layout;

static const char *class_label(char *buf, size_t size, const char *const *names, int k,
			       int max_chars)
{
	char idx[16];
	const char *s = names && names[k] ? names[k] : NULL;
	if (!s) {
		snprintf(idx, sizeof idx, "%d", k);
		s = idx;
	}
	return thaw_plot_fit_text(buf, size, s, max_chars);
}

static void cm_make_layout(int K, const char *const *names, cm_layout *L)
{
	memset(L, 0, sizeof *L);
	int cell = clampi(640 / K, 3, 72);
	L->f.cell = cell;
	L->ls = cell >= 20 ? 2 : cell >= 10 ? 1 : 0;
	char b[NAME_CHARS + 1];
	int band = 0;
	if (L->ls) {
		for (int k = 0; k < K; k++) {
			int w = thaw_text_width(class_label(b, sizeof b, names, k, NAME_CHARS), L->ls);
			band = w > band ? w : band;
		}
		L->every = 1;
	} else {
		/* index labels every 1-2-5 classes, spaced to clear the 8 px font */
		static const int steps[] = {1, 2, 5, 10, 20, 50, 100, 200, 500};
		int e = 0;
		while (e < 8 && steps[e] * cell < 14)
			e++;
		L->every = steps[e];
		snprintf(b, sizeof b, "%d", K - 1);
		band = thaw_text_width(b, 1);
	}
	L->band = band;
	int th2 = THAW_GLYPH_H * 2;
	int mat = K * cell;
	L->f.x = CM_PAD + th2 + 8 + band + 6;
	L->f.y = CM_PAD + th2 + CM_PAD + 4;
	L->bar_x = L->f.x + mat + 20;
	L->bar_h = mat < 240 ? mat : 240;
	int width = L->bar_x + 16 + 6 + thaw_text_width("100%", 2) + CM_PAD;
	if (width < 520)
		width = 520;
	L->f.width = width;
	L->f.height = L->f.y + mat + 6 + band + 8 + th2 + CM_PAD;
}

int thaw_confusion_layout(int K, const char *const *class_names, thaw_confusion_frame *f)
{
	if (K < 1 || K > 1000)
		return thaw_error(THAW_EINVAL, "confusion: %d classes, expected 1..1000", K);
	cm_layout L;
	cm_make_layout(K, class_names, &L);
	*f = L.f;
	return 0;
}

int thaw_plot_confusion(const char *path, const long *counts, int K,
			const char *const *class_names, const char *title)
{
	if (!path)
		return thaw_error(THAW_EINVAL, "confusion plot: no output path");
	if (K < 1 || K > 1000)
		return thaw_error(THAW_EINVAL, "%s: %d classes, expected 1..1000", path, K);
	if (!counts)
		return thaw_error(THAW_EINVAL, "%s: no confusion counts", path);
	long total = 0, correct = 0, maxc = 0;
	for (int i = 0; i < K; i++)
		for (int j = 0; j < K; j++) {
			long v = counts[(size_t)i * K + j];
			if (v < 0)
				return thaw_error(THAW_EINVAL,
						  "%s: negative count %ld at true class %d, predicted %d",
						  path, v, i, j);
			total += v;
			if (i == j)
				correct += v;
			maxc = v > maxc ? v : maxc;
		}

	cm_layout L;
	cm_make_layout(K, class_names, &L);
	thaw_canvas *c = thaw_canvas_new(L.f.width, L.f.height, WHITE);
	if (!c) {
		thaw_error_prefix("%s", path);
		return THAW_ENOMEM;
	}
	int cell = L.f.cell, x0 = L.f.x, y0 = L.f.y, mat = K * cell;
	/* white hairlines between cells once they are big enough to need them */
	int gap = cell >= 12 ? 1 : 0;
	char b[256];

	/* count font: 2x when the widest count fits, else 1x where each fits */
	snprintf(b, sizeof b, "%ld", maxc);
	int cs = (thaw_text_width(b, 2) <= cell - 6 && 16 <= cell - 6) ? 2 : 1;
	for (int i = 0; i < K; i++) {
		long row = 0;
		for (int j = 0; j < K; j++)
			row += counts[(size_t)i * K + j];
		for (int j = 0; j < K; j++) {
			long v = counts[(size_t)i * K + j];
			double t = row ? (double)v / row : 0;
			thaw_rgb col = row ? blues(t) : EMPTY_ROW;
			int x = x0 + j * cell, y = y0 + i * cell;
			thaw_canvas_rect(c, x, y, cell - gap, cell - gap, col);
			if (!row)
				continue;
			snprintf(b, sizeof b, "%ld", v);
			int w = thaw_text_width(b, cs), h = THAW_GLYPH_H * cs;
			if (w > cell - 4 - gap || h - cs > cell - 2 - gap)
				continue;
			thaw_rgb ink_ = t > 0.45 ? WHITE : INK;
			thaw_canvas_text(c, x + (cell - gap - w) / 2, y + (cell - gap - h + cs) / 2, b, cs,
					 ink_);
		}
	}
	thaw_canvas_frame(c, x0 - 1, y0 - 1, mat + 2 - gap, mat + 2 - gap, 1, AXIS);

	/* class labels: names right-aligned left of each row, and turned up
	 * below each column; or class indices every few rows for large K */
	int ls = L.ls ? L.ls : 1;
	int lh = THAW_GLYPH_H * ls;
	for (int k = 0; k < K; k += L.every) {
		if (L.ls)
			class_label(b, sizeof b, class_names, k, NAME_CHARS);
		else
			snprintf(b, sizeof b, "%d", k);
		int w = thaw_text_width(b, ls);
		int mid = k * cell + (cell - gap) / 2;
		thaw_canvas_text(c, x0 - 6 - w, y0 + mid - lh / 2 + ls / 2, b, ls, INK);
		thaw_canvas_text_up(c, x0 + mid - lh / 2 + ls / 2, y0 + mat + 6 + w, b, ls, INK);
	}

	/* axis names */
	const char *tl = "true class", *pl = "predicted class";
	thaw_canvas_text_up(c, CM_PAD, y0 + (mat + thaw_text_width(tl, 2)) / 2, tl, 2, INK);
	thaw_canvas_text(c, x0 + (mat - thaw_text_width(pl, 2)) / 2, y0 + mat + 6 + L.band + 8, pl,
			 2, INK);

	/* colour bar: share of the row, 100% at the top */
	int bx = L.bar_x, bh = L.bar_h;
	for (int y = 0; y < bh; y++)
		thaw_canvas_rect(c, bx, y0 + y, 16, 1, blues(1.0 - (double)y / (bh > 1 ? bh - 1 : 1)));
	thaw_canvas_frame(c, bx - 1, y0 - 1, 18, bh + 2, 1, AXIS);
	int ts = bh >= 60 ? 2 : 1;
	thaw_canvas_text(c, bx + 22, y0, "100%", ts, SOFT_INK);
	thaw_canvas_text(c, bx + 22, y0 + bh - THAW_GLYPH_H * ts, "0%", ts, SOFT_INK);
	if (bh >= 120)
		thaw_canvas_text(c, bx + 22, y0 + bh / 2 - THAW_GLYPH_H * ts / 2, "50%", ts, SOFT_INK);

	/* title with the overall accuracy */
	char acc[64];
	if (total)
		snprintf(acc, sizeof acc, "accuracy %.1f%% of %ld", 100.0 * correct / total, total);
	else
		snprintf(acc, sizeof acc, "no samples");
	/* a long title gives way, never the accuracy */
	int room = (L.f.width - 2 * CM_PAD) / (THAW_GLYPH_ADVANCE * 2) - (int)strlen(acc) - 2;
	char t2[128];
	thaw_plot_fit_text(t2, sizeof t2, title, room);
	snprintf(b, sizeof b, "%s%s%s", t2, t2[0] ? ": " : "", acc);
	thaw_plot_title(c, CM_PAD, CM_PAD, b, 2);

	int rc = thaw_canvas_write_png(c, path);
	thaw_canvas_free(c);
	return rc;
}
