/* Plots to PNG, bar charts: one bar per item with its value above it, an
 * optional error bar and a labelled horizontal reference line (the cut
 * explorer's chart: one bar per cut, the scratch baseline as the line). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "plot_draw.h"
#include "thaw/core.h"
#include "thaw/font.h"

/* A round axis top at or above v: 1, 2 or 5 times a power of ten. */
static double nice_top(double v)
{
	if (!(v > 0))
		return 1;
	double p = pow(10, floor(log10(v)));
	for (int i = 0; i < 3; i++) {
		double m = (double[]){1, 2, 5}[i] * p;
		if (m >= v)
			return m;
	}
	return 10 * p;
}

int thaw_plot_bars(const char *path, const thaw_plot_bars_spec *sp)
{
	if (!path || !sp || !sp->names || !sp->value || sp->n < 1 || sp->n > 200)
		return thaw_error(THAW_EINVAL, "%s: a bar chart needs 1 to 200 bars with names and values",
				  path ? path : "(no path)");
	int W = sp->width > 0 ? sp->width : 800, H = sp->height > 0 ? sp->height : 500;
	if (W > 8192 || H > 8192 || W < 200 || H < 150)
		return thaw_error(THAW_EINVAL, "%s: bar chart size %dx%d outside 200x150..8192x8192", path, W, H);
	double scale = sp->value_scale > 0 ? sp->value_scale : 1;
	const char *fmt = sp->value_fmt ? sp->value_fmt : "%.1f";
	double top = sp->y_max;
	if (!(top > 0)) {
		double mx = sp->has_ref && isfinite(sp->ref) ? sp->ref : 0;
		for (int i = 0; i < sp->n; i++)
			if (isfinite(sp->value[i]) && sp->value[i] + (sp->err ? sp->err[i] : 0) > mx)
				mx = sp->value[i] + (sp->err ? sp->err[i] : 0);
		top = nice_top(mx);
	}
	/* names below the bars: flat when they fit, turned up otherwise */
	int longest = 0;
	for (int i = 0; i < sp->n; i++) {
		int w = thaw_text_width(sp->names[i] ? sp->names[i] : "?", 1);
		longest = w > longest ? w : longest;
	}
	int left = 70, right = 24, top_px = sp->title ? 44 : 20;
	int slot = (W - left - right) / sp->n;
	int turned = longest + 4 > slot;
	int bottom = turned ? clampi(longest + 16, 40, H / 3) : 34;
	int px = left, py = top_px, pw = W - left - right, ph = H - top_px - bottom;
	if (pw < sp->n || ph < 40)
		return thaw_error(THAW_EINVAL, "%s: %d bars do not fit in %dx%d pixels", path, sp->n, W, H);
	thaw_canvas *c = thaw_canvas_new(W, H, WHITE);
	if (!c)
		return THAW_ENOMEM;
	if (sp->title) {
		char b[256];
		thaw_plot_fit_text(b, sizeof b, sp->title, (W - 20) / (2 * THAW_GLYPH_ADVANCE));
		int tw = thaw_text_width(b, 2);
		thaw_plot_title(c, (W - tw) / 2 > 8 ? (W - tw) / 2 : 8, 10, b, 2);
	}
	/* grid and y ticks: five steps */
	for (int k = 0; k <= 5; k++) {
		double v = top * k / 5;
		int y = py + ph - (int)lround(ph * (double)k / 5);
		if (k > 0)
			thaw_canvas_rect(c, px, y, pw, 1, GRID);
		char t[32];
		snprintf(t, sizeof t, fmt, v * scale);
		thaw_canvas_text(c, px - 6 - thaw_text_width(t, 1), y - THAW_GLYPH_H / 2, t, 1, SOFT_INK);
	}
	if (sp->ylabel)
		thaw_canvas_text_up(c, 8, py + ph / 2 + thaw_text_width(sp->ylabel, 1) / 2, sp->ylabel, 1, INK);
	thaw_rgb bar = {150, 150, 150}, accent = THAW_PLOT_BLUE;
	int bw = slot * 3 / 5 > 1 ? slot * 3 / 5 : 1;
	for (int i = 0; i < sp->n; i++) {
		int cx = px + slot * i + slot / 2;
		double v = isfinite(sp->value[i]) && sp->value[i] > 0 ? sp->value[i] : 0;
		int h = (int)lround(ph * (v > top ? 1 : v / top));
		thaw_canvas_rect(c, cx - bw / 2, py + ph - h, bw, h, i == sp->highlight ? accent : bar);
		if (sp->err && isfinite(sp->err[i]) && sp->err[i] > 0) {
			double lo = v - sp->err[i], hi = v + sp->err[i];
			int ylo = py + ph - (int)lround(ph * (lo < 0 ? 0 : lo > top ? 1 : lo / top));
			int yhi = py + ph - (int)lround(ph * (hi > top ? 1 : hi / top));
			thaw_canvas_line(c, cx, ylo, cx, yhi, 1, INK);
			thaw_canvas_line(c, cx - bw / 6, yhi, cx + bw / 6, yhi, 1, INK);
			thaw_canvas_line(c, cx - bw / 6, ylo, cx + bw / 6, ylo, 1, INK);
		}
		char t[32];
		snprintf(t, sizeof t, fmt, sp->value[i] * scale);
		int tw = thaw_text_width(t, 1);
		int ty = py + ph - h - THAW_GLYPH_H - 4;
		if (sp->err && isfinite(sp->err[i]) && sp->err[i] > 0)
			ty = py + ph - (int)lround(ph * ((v + sp->err[i]) > top ? 1 : (v + sp->err[i]) / top)) -
			     THAW_GLYPH_H - 4;
		thaw_canvas_text(c, cx - tw / 2, ty < py - THAW_GLYPH_H ? py - THAW_GLYPH_H : ty, t, 1, INK);
		const char *nm = sp->names[i] ? sp->names[i] : "?";
		int nw = thaw_text_width(nm, 1);
		if (turned)
			thaw_canvas_text_up(c, cx - THAW_GLYPH_H / 2, py + ph + 6 + nw, nm, 1, INK);
		else
			thaw_canvas_text(c, cx - nw / 2, py + ph + 8, nm, 1, INK);
	}
	thaw_canvas_frame(c, px, py, pw, ph + 1, 1, AXIS);
	if (sp->has_ref && isfinite(sp->ref)) {
		double v = sp->ref < 0 ? 0 : sp->ref > top ? top : sp->ref;
		int y = py + ph - (int)lround(ph * v / top);
		thaw_rgb red = THAW_PLOT_ORANGE;
		for (int x = px; x < px + pw; x += 10)
			thaw_canvas_rect(c, x, y - 1, x + 6 < px + pw ? 6 : px + pw - x, 3, red);
		if (sp->ref_label) {
			char t[128];
			snprintf(t, sizeof t, "%s", sp->ref_label);
			int tw = thaw_text_width(t, 1);
			int ty = y - THAW_GLYPH_H - 4 < py + 2 ? y + 5 : y - THAW_GLYPH_H - 4;
			thaw_canvas_rect(c, px + pw - tw - 8, ty - 1, tw + 4, THAW_GLYPH_H + 2, WHITE);
			thaw_canvas_text(c, px + pw - tw - 6, ty, t, 1, red);
		}
	}
	int rc = thaw_canvas_write_png(c, path);
	thaw_canvas_free(c);
	return rc;
}
