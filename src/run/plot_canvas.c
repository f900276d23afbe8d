/* Plots to PNG, the canvas: a tiny planar RGB image with clipped drawing
 * (rectangles, lines, dashes, discs) and text in the built-in font. No
 * anti-aliasing: flat colours keep the files small and let tests find a
 * series by its exact colour. Charts are in plot_chart.c, the confusion
 * heat map in plot_confusion.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot_draw.h"
#include "thaw/core.h"
#include "thaw/font.h"
#include "thaw/png.h"

thaw_rgb thaw_plot_palette(int i)
{
	static const thaw_rgb pal[6] = {{0, 114, 178},  {230, 119, 0},  {0, 150, 115},
					{200, 60, 40},  {170, 90, 150}, {60, 160, 220}};
	return pal[((i % 6) + 6) % 6];
}

/* ---------------------------------------------------------------- canvas */

thaw_canvas *thaw_canvas_new(int w, int h, thaw_rgb bg)
{
	if (w < 1 || h < 1 || w > THAW_PNG_MAX_DIM || h > THAW_PNG_MAX_DIM) {
		thaw_error(THAW_EINVAL, "canvas: size %dx%d outside 1..%d", w, h, THAW_PNG_MAX_DIM);
		return NULL;
	}
	thaw_canvas *c = thaw_calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->px = thaw_malloc((size_t)3 * w * h);
	if (!c->px) {
		free(c);
		return NULL;
	}
	c->w = w;
	c->h = h;
	thaw_canvas_clip(c, 0, 0, 0, 0);
	thaw_canvas_fill(c, bg);
	return c;
}

void thaw_canvas_free(thaw_canvas *c)
{
	if (!c)
		return;
	free(c->px);
	free(c);
}

void thaw_canvas_clip(thaw_canvas *c, int x, int y, int w, int h)
{
	if (w <= 0 || h <= 0) {
		c->cx0 = c->cy0 = 0;
		c->cx1 = c->w;
		c->cy1 = c->h;
		return;
	}
	/* 64-bit sums: x + w may overflow int for silly arguments */
	c->cx0 = clampi(x, 0, c->w);
	c->cy0 = clampi(y, 0, c->h);
	c->cx1 = (int)(x + (long long)w > c->w ? c->w : x + (long long)w < 0 ? 0 : x + w);
	c->cy1 = (int)(y + (long long)h > c->h ? c->h : y + (long long)h < 0 ? 0 : y + h);
}

void thaw_canvas_fill(thaw_canvas *c, thaw_rgb col)
{
	size_t plane = (size_t)c->w * c->h;
	memset(c->px, col.r, plane);
	memset(c->px + plane, col.g, plane);
	memset(c->px + 2 * plane, col.b, plane);
}

thaw_rgb thaw_canvas_get(const thaw_canvas *c, int x, int y)
{
	thaw_rgb k = {0, 0, 0};
	if (x < 0 || y < 0 || x >= c->w || y >= c->h)
		return k;
	size_t plane = (size_t)c->w * c->h, i = (size_t)y * c->w + x;
	k.r = c->px[i];
	k.g = c->px[plane + i];
	k.b = c->px[2 * plane + i];
	return k;
}

void thaw_canvas_set(thaw_canvas *c, int x, int y, thaw_rgb col)
{
	if (x < c->cx0 || y < c->cy0 || x >= c->cx1 || y >= c->cy1)
		return;
	size_t plane = (size_t)c->w * c->h, i = (size_t)y * c->w + x;
	c->px[i] = col.r;
	c->px[plane + i] = col.g;
	c->px[2 * plane + i] = col.b;
}

void thaw_canvas_rect(thaw_canvas *c, int x, int y, int w, int h, thaw_rgb col)
{
	if (w <= 0 || h <= 0)
		return;
	long long x1 = (long long)x + w, y1 = (long long)y + h;
	int xa = clampi(x, c->cx0, c->cx1), ya = clampi(y, c->cy0, c->cy1);
	int xb = (int)(x1 > c->cx1 ? c->cx1 : x1 < c->cx0 ? c->cx0 : x1);
	int yb = (int)(y1 > c->cy1 ? c->cy1 : y1 < c->cy0 ? c->cy0 : y1);
	if (xa >= xb || ya >= yb)
		return;
	size_t plane = (size_t)c->w * c->h;
	for (int yy = ya; yy < yb; yy++) {
		size_t row = (size_t)yy * c->w;
		memset(c->px + row + xa, col.r, (size_t)(xb - xa));
		memset(c->px + plane + row + xa, col.g, (size_t)(xb - xa));
		memset(c->px + 2 * plane + row + xa, col.b, (size_t)(xb - xa));
	}
}

void thaw_canvas_frame(thaw_canvas *c, int x, int y, int w, int h, int width, thaw_rgb col)
{
	if (w <= 0 || h <= 0 || width <= 0)
		return;
	if (width * 2 >= w || width * 2 >= h) {
		thaw_canvas_rect(c, x, y, w, h, col);
		return;
	}
	thaw_canvas_rect(c, x, y, w, width, col);
	thaw_canvas_rect(c, x, y + h - width, w, width, col);
	thaw_canvas_rect(c, x, y + width, width, h - 2 * width, col);
	thaw_canvas_rect(c, x + w - width, y + width, width, h - 2 * width, col);
}

/* Liang-Barsky: trims the segment to [x0, x1] x [y0, y1]; 0 when nothing is left. */
static int clip_segment(double *ax, double *ay, double *bx, double *by, double x0, double y0,
			double x1, double y1)
{
	double dx = *bx - *ax, dy = *by - *ay, t0 = 0, t1 = 1;
	double p[4] = {-dx, dx, -dy, dy};
	double q[4] = {*ax - x0, x1 - *ax, *ay - y0, y1 - *ay};
	for (int i = 0; i < 4; i++) {
		if (p[i] == 0) {
			if (q[i] < 0)
				return 0;
			continue;
		}
		double t = q[i] / p[i];
		if (p[i] < 0) {
			if (t > t1)
				return 0;
			if (t > t0)
				t0 = t;
		} else {
			if (t < t0)
				return 0;
			if (t < t1)
				t1 = t;
		}
	}
	double sx = *ax, sy = *ay;
	*ax = sx + t0 * dx;
	*ay = sy + t0 * dy;
	*bx = sx + t1 * dx;
	*by = sy + t1 * dy;
	return 1;
}

void thaw_canvas_line(thaw_canvas *c, int x0, int y0, int x1, int y1, int width, thaw_rgb col)
{
	if (width < 1)
		width = 1;
	/* trim first so a far-away endpoint never means a long pixel walk */
	double ax = x0, ay = y0, bx = x1, by = y1, m = width;
	if (!clip_segment(&ax, &ay, &bx, &by, c->cx0 - m, c->cy0 - m, c->cx1 + m, c->cy1 + m))
		return;
	int xa = (int)lround(ax), ya = (int)lround(ay), xb = (int)lround(bx), yb = (int)lround(by);
	int dx = abs(xb - xa), dy = -abs(yb - ya), sx = xa < xb ? 1 : -1, sy = ya < yb ? 1 : -1;
	int err = dx + dy, off = (width - 1) / 2;
	for (;;) {
		thaw_canvas_rect(c, xa - off, ya - off, width, width, col);
		if (xa == xb && ya == yb)
			break;
		int e2 = 2 * err;
		if (e2 >= dy) {
			err += dy;
			xa += sx;
		}
		if (e2 <= dx) {
			err += dx;
			ya += sy;
		}
	}
}

void thaw_canvas_vdash(thaw_canvas *c, int x, int y0, int y1, int width, int dash, int gap,
		       thaw_rgb col)
{
	if (y0 > y1) {
		int t = y0;
		y0 = y1;
		y1 = t;
	}
	if (width < 1)
		width = 1;
	if (dash < 1)
		dash = 1;
	if (gap < 0)
		gap = 0;
	y0 = y0 < c->cy0 - dash - gap ? c->cy0 - dash - gap : y0;
	y1 = y1 > c->cy1 ? c->cy1 : y1;
	int off = (width - 1) / 2;
	for (int y = y0; y <= y1; y += dash + gap)
		thaw_canvas_rect(c, x - off, y, width, (y + dash - 1 > y1 ? y1 - y + 1 : dash), col);
}

void thaw_canvas_dot(thaw_canvas *c, int x, int y, int r, thaw_rgb col)
{
	if (r < 0 || r > 4096)
		return;
	for (int dy = -r; dy <= r; dy++) {
		int half = (int)floor(sqrt((double)r * r + r - (double)dy * dy));
		thaw_canvas_rect(c, x - half, y + dy, 2 * half + 1, 1, col);
	}
}

int thaw_text_width(const char *s, int scale)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0)
		return 0;
	scale = clampi(scale, 1, 8);
	if (n > 100000)
		n = 100000;
	return (int)n * THAW_GLYPH_ADVANCE * scale - scale;
}

/* The font's one drawer, onto the canvas with its clip rectangle. */
static int draw_text(thaw_canvas *c, int x, int y, const char *s, int scale, thaw_rgb col, int up)
{
	if (!s)
		return 0;
	uint8_t value[3] = {col.r, col.g, col.b};
	thaw_font_target t = {c->px, 3, c->w, c->h, c->cx0, c->cy0, c->cx1, c->cy1, value};
	thaw_font_draw(&t, x, y, s, -1, scale, up);
	return thaw_text_width(s, clampi(scale, 1, 8));
}

int thaw_canvas_text(thaw_canvas *c, int x, int y, const char *s, int scale, thaw_rgb col)
{
	return draw_text(c, x, y, s, scale, col, 0);
}

int thaw_canvas_text_up(thaw_canvas *c, int x, int y, const char *s, int scale, thaw_rgb col)
{
	return draw_text(c, x, y, s, scale, col, 1);
}

int thaw_canvas_write_png(const thaw_canvas *c, const char *path)
{
	if (!path)
		return thaw_error(THAW_EINVAL, "plot: no output path");
	return thaw_png_write(path, c->px, 3, c->h, c->w);
}

const char *thaw_plot_fit_text(char *buf, size_t size, const char *s, int max_chars)
{
	if (!s)
		s = "";
	if (max_chars < 1) {
		buf[0] = 0;
		return buf;
	}
	size_t n = strlen(s);
	if ((size_t)max_chars + 1 > size)
		max_chars = (int)size - 1;
	if (n <= (size_t)max_chars) {
		memcpy(buf, s, n + 1);
		return buf;
	}
	memcpy(buf, s, (size_t)max_chars);
	buf[max_chars] = 0;
	if (max_chars >= 3) { /* "an extremely." rather than "an extremely ." */
		int k = max_chars - 1;
		while (k > 1 && buf[k - 1] == ' ')
			k--;
		buf[k] = '.';
		buf[k + 1] = 0;
	}
	return buf;
}

void thaw_plot_title(thaw_canvas *c, int x, int y, const char *s, int scale)
{
	thaw_canvas_text(c, x, y, s, scale, INK);
	if (scale >= 2)
		thaw_canvas_text(c, x + 1, y, s, scale, INK);
}
