/* Plots to PNG: a tiny RGB canvas, line charts with nice ticks, and the
 * confusion heat map. No anti-aliasing: flat colours keep the files small
 * and let tests find a series by its exact colour. */
#include "thaw/plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "thaw/core.h"
#include "thaw/font.h"
#include "thaw/png.h"

static const thaw_rgb WHITE = {255, 255, 255};
static const thaw_rgb INK = {40, 40, 40};       /* text */
static const thaw_rgb SOFT_INK = {90, 90, 90};  /* tick labels, notes */
static const thaw_rgb AXIS = {110, 110, 110};   /* plot frame, ticks */
static const thaw_rgb GRID = {232, 232, 232};   /* grid lines */
static const thaw_rgb MARKER = {120, 120, 120}; /* phase boundaries */
static const thaw_rgb EMPTY_ROW = {225, 225, 225};

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }
static int eq_rgb(thaw_rgb a, thaw_rgb b) { return a.r == b.r && a.g == b.g && a.b == b.b; }

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

/* One text drawer for both directions: along = advance axis. */
static int draw_text(thaw_canvas *c, int x, int y, const char *s, int scale, thaw_rgb col, int up)
{
	if (!s)
		return 0;
	scale = clampi(scale, 1, 8);
	int n = 0;
	for (const char *p = s; *p && n < 100000; p++, n++) {
		const uint8_t *g = thaw_font_glyph((unsigned char)*p);
		int base = n * THAW_GLYPH_ADVANCE * scale;
		if (!up && x + base > c->cx1)
			break;
		if (up && y - base < c->cy0)
			break;
		for (int col_ = 0; col_ < THAW_GLYPH_W; col_++)
			for (int row = 0; row < THAW_GLYPH_H; row++) {
				if (!(g[col_] >> row & 1))
					continue;
				if (up)
					thaw_canvas_rect(c, x + row * scale, y - base - (col_ + 1) * scale,
							 scale, scale, col);
				else
					thaw_canvas_rect(c, x + base + col_ * scale, y + row * scale, scale,
							 scale, col);
			}
	}
	return thaw_text_width(s, scale);
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

/* Copies s into buf, cut to at most max_chars with a '.' marking the cut. */
static const char *fit_text(char *buf, size_t size, const char *s, int max_chars)
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

/* Bold-looking title: the same text drawn twice, one pixel apart. */
static void title_text(thaw_canvas *c, int x, int y, const char *s, int scale)
{
	thaw_canvas_text(c, x, y, s, scale, INK);
	if (scale >= 2)
		thaw_canvas_text(c, x + 1, y, s, scale, INK);
}

/* ---------------------------------------------------------------- ticks */

#define MAX_TICKS 64
/* Values beyond this are treated like Inf: ranges computed from them would
 * overflow. */
#define HUGE_VALUE 1e150

typedef struct ticks {
	double v[MAX_TICKS];
	int n;
	int prec;     /* significant digits for %g-style labels */
	int decimals; /* >= 0: fixed-point labels with this many decimals */
} ticks;

/* 1, 2 or 5 times a power of ten, the smallest not below x. */
static double nice_step(double x)
{
	if (!(x > 0) || !isfinite(x))
		return 1;
	double mag = pow(10, floor(log10(x)));
	double f = x / mag;
	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

/* "%g" without "e+06" noise: 1.2e6, 5e-5, 0.25, 0. */
static void fmt_num(char *buf, size_t size, double v, int prec)
{
	if (v == 0)
		v = 0; /* no "-0" */
	char tmp[64];
	snprintf(tmp, sizeof tmp, "%.*g", clampi(prec, 1, 12), v);
	char *e = strchr(tmp, 'e');
	if (!e) {
		snprintf(buf, size, "%s", tmp);
		return;
	}
	char *m = e + 1;
	int neg = *m == '-';
	if (*m == '+' || *m == '-')
		m++;
	while (*m == '0' && m[1])
		m++;
	char *o = e + 1; /* rewrite the exponent in place; it only gets shorter */
	if (neg)
		*o++ = '-';
	memmove(o, m, strlen(m) + 1);
	snprintf(buf, size, "%s", tmp);
}

/* Linear ticks at multiples of a 1-2-5 step inside [lo, hi]. */
static void linear_ticks(ticks *t, double lo, double hi, double step)
{
	t->n = 0;
	double first = ceil(lo / step - 1e-9);
	for (int i = 0; t->n < MAX_TICKS; i++) {
		double v = (first + i) * step;
		if (v > hi + step * 1e-9)
			break;
		if (fabs(v) < step * 1e-9)
			v = 0;
		t->v[t->n++] = v;
	}
	double big = fmax(fabs(lo), fabs(hi));
	/* digits from the largest magnitude down to the step's */
	int e = (int)floor(log10(step) + 1e-9);
	int prec = (int)floor(log10(big > 0 ? big : 1)) - e + 1;
	t->prec = clampi(prec, 1, 12);
	/* "0.8 1.0 1.2" reads better than "0.8 1 1.2"; huge or tiny values
	 * fall back to exponents */
	t->decimals = (big < 1e6 && e >= -5) ? (e < 0 ? -e : 0) : -1;
}

static void fmt_tick(char *buf, size_t size, const ticks *t, int i)
{
	if (t->decimals >= 0)
		snprintf(buf, size, "%.*f", t->decimals, t->v[i] == 0 ? 0.0 : t->v[i]);
	else
		fmt_num(buf, size, t->v[i], t->prec);
}

/* Log ticks (values in data units): every 1..9, 1-2-5, or decades, by span. */
static void log_ticks(ticks *t, double llo, double lhi)
{
	static const int all[] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, ots[] = {1, 2, 5};
	double span = lhi - llo;
	const int *ms = span < 0.7 ? all : ots;
	int nm = span < 0.7 ? 9 : 3;
	int every = 1;
	if (span >= 2.5) {
		nm = 1;
		every = span > 8 ? (int)ceil(span / 8) : 1;
	}
	t->n = 0;
	t->prec = 3;
	t->decimals = -1;
	for (int k = (int)floor(llo) - 1; k <= (int)ceil(lhi) && t->n < MAX_TICKS; k++) {
		if (nm == 1 && k % every)
			continue;
		for (int j = 0; j < nm && t->n < MAX_TICKS; j++) {
			double l = k + log10(ms[j]);
			if (l >= llo - 1e-9 && l <= lhi + 1e-9)
				t->v[t->n++] = pow(10, l);
		}
	}
}

/* ---------------------------------------------------------------- lines */

typedef struct layout {
	thaw_plot_frame f;
	ticks xt, yt;
	int scale;     /* text scale for labels and ticks */
	int tscale;    /* title */
	int skipped;   /* non-positive values left out on a log axis */
	int any;       /* some point is drawable */
	int marker_row; /* a row above the plot for marker labels */
	int W, H;
} layout;

static int usable(double v) { return isfinite(v) && fabs(v) < HUGE_VALUE; }

static double series_x(const thaw_plot_series *s, int i) { return s->x ? s->x[i] : i + 1.0; }

static int check_spec(const thaw_plot_spec *spec, const char *path)
{
	if (!spec)
		return thaw_error(THAW_EINVAL, "%s: no plot spec", path);
	if (spec->n_series < 0 || spec->n_series > THAW_PLOT_MAX_SERIES)
		return thaw_error(THAW_EINVAL, "%s: %d series, at most %d can be drawn", path,
				  spec->n_series, THAW_PLOT_MAX_SERIES);
	if (spec->n_series && !spec->series)
		return thaw_error(THAW_EINVAL, "%s: %d series but no series array", path,
				  spec->n_series);
	if (spec->n_markers < 0 || spec->n_markers > THAW_PLOT_MAX_MARKERS)
		return thaw_error(THAW_EINVAL, "%s: %d markers, at most %d can be drawn", path,
				  spec->n_markers, THAW_PLOT_MAX_MARKERS);
	if (spec->n_markers && !spec->markers)
		return thaw_error(THAW_EINVAL, "%s: %d markers but no marker array", path,
				  spec->n_markers);
	for (int i = 0; i < spec->n_series; i++) {
		const thaw_plot_series *s = &spec->series[i];
		if (s->n < 0 || (s->n > 0 && !s->y))
			return thaw_error(THAW_EINVAL, "%s: series %d ('%s'): %d points but %s", path,
					  i, s->name ? s->name : "", s->n,
					  s->n < 0 ? "a negative count" : "no y values");
	}
	int w = spec->width ? spec->width : 800, h = spec->height ? spec->height : 500;
	if (w < 120 || h < 90 || w > 8192 || h > 8192)
		return thaw_error(THAW_EINVAL, "%s: plot size %dx%d outside 120x90..8192x8192", path,
				  w, h);
	return 0;
}

/* Axis ranges, ticks and the plot area. Vertical space is fixed first
 * because the y tick labels' width (the left margin) depends on the y
 * ticks, whose count depends on the plot height. */
static void make_layout(const thaw_plot_spec *spec, layout *L)
{
	memset(L, 0, sizeof *L);
	L->W = spec->width ? spec->width : 800;
	L->H = spec->height ? spec->height : 500;
	L->scale = (L->W >= 480 && L->H >= 320) ? 2 : 1;
	L->tscale = L->scale;
	int s = L->scale, th = THAW_GLYPH_H * s, pad = 6 * s;
	int log_y = spec->log_y != 0;

	double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
	int x_integral = 1;
	for (int i = 0; i < spec->n_series; i++) {
		const thaw_plot_series *sr = &spec->series[i];
		for (int j = 0; j < sr->n; j++) {
			double x = series_x(sr, j), y = sr->y[j];
			if (!usable(x) || !usable(y))
				continue;
			if (log_y && y <= 0) {
				L->skipped++;
				continue;
			}
			L->any = 1;
			xlo = fmin(xlo, x);
			xhi = fmax(xhi, x);
			ylo = fmin(ylo, y);
			yhi = fmax(yhi, y);
			if (x != floor(x))
				x_integral = 0;
		}
	}
	for (int i = 0; i < spec->n_markers; i++) {
		double x = spec->markers[i].x;
		if (!usable(x))
			continue;
		xlo = fmin(xlo, x);
		xhi = fmax(xhi, x);
	}

	/* x: the data range and a little air, so end points clear the frame */
	if (!(xlo <= xhi)) {
		xlo = 0;
		xhi = 1;
	} else if (xhi - xlo <= 1e-9 * fmax(1, fabs(xlo))) {
		double d = fabs(xlo) > 1e6 ? fabs(xlo) * 1e-3 : 1;
		xlo -= d;
		xhi += d;
	}
	double xpad = (xhi - xlo) * 0.02;
	L->f.x_lo = xlo - xpad;
	L->f.x_hi = xhi + xpad;

	/* y */
	L->f.log_y = log_y;
	int fixed = spec->y_min < spec->y_max && usable(spec->y_min) && usable(spec->y_max) &&
		    (!log_y || spec->y_min > 0);
	if (fixed) {
		ylo = spec->y_min;
		yhi = spec->y_max;
	} else if (!(ylo <= yhi)) {
		ylo = log_y ? 0.1 : 0;
		yhi = 1;
	}

	int top = pad + (spec->title && *spec->title ? THAW_GLYPH_H * L->tscale + pad : 0);
	for (int i = 0; i < spec->n_markers; i++)
		if (spec->markers[i].label && *spec->markers[i].label && usable(spec->markers[i].x)) {
			L->marker_row = 1;
			top += th + 3 * s;
			break;
		}
	int bottom = pad + 6 + th + 6 + (spec->xlabel && *spec->xlabel ? th + pad / 2 : 0) +
		     (L->skipped ? th : 0);
	int ph = L->H - top - bottom;
	if (ph < 20)
		ph = 20;
	int target = clampi(ph / (th * 4), 2, 10);

	if (log_y) {
		double llo = log10(ylo), lhi = log10(yhi);
		if (lhi - llo < 1e-9) {
			llo -= 0.5;
			lhi += 0.5;
		} else if (!fixed) {
			if (lhi - llo >= 1) {
				llo = floor(llo + 1e-9);
				lhi = ceil(lhi - 1e-9);
			} else { /* widen to the 1-2-5 values around the data */
				static const double m[] = {1, 2, 5, 10};
				double k = floor(llo), best = k;
				for (int j = 0; j < 4; j++)
					if (k + log10(m[j]) <= llo + 1e-9)
						best = k + log10(m[j]);
				llo = best;
				k = floor(lhi);
				best = k + 1;
				for (int j = 3; j >= 0; j--)
					if (k + log10(m[j]) >= lhi - 1e-9)
						best = k + log10(m[j]);
				lhi = best;
			}
		}
		L->f.y_lo = pow(10, llo);
		L->f.y_hi = pow(10, lhi);
		log_ticks(&L->yt, llo, lhi);
	} else {
		if (yhi - ylo <= 1e-9 * fmax(fabs(ylo), fabs(yhi))) {
			double d = ylo == 0 ? 1 : fabs(ylo) * 0.1;
			ylo -= d;
			yhi += d;
		}
		double step = nice_step((yhi - ylo) / target);
		if (!fixed) {
			ylo = floor(ylo / step + 1e-9) * step;
			yhi = ceil(yhi / step - 1e-9) * step;
		}
		L->f.y_lo = ylo;
		L->f.y_hi = yhi;
		linear_ticks(&L->yt, ylo, yhi, step);
	}

	int lw = 0;
	for (int i = 0; i < L->yt.n; i++) {
		char b[64];
		fmt_tick(b, sizeof b, &L->yt, i);
		int w = thaw_text_width(b, s);
		lw = w > lw ? w : lw;
	}
	int left = pad + (spec->ylabel && *spec->ylabel ? th + pad : 0) + lw + 6 + 4;
	int right = 4 * s + pad;
	int pw = L->W - left - right;
	if (pw < 20)
		pw = 20;

	/* x ticks: about one per 90 px at scale 2, at least 1 apart for epochs */
	int xtarget = clampi(pw / (45 * s), 2, 12);
	double xstep = nice_step((L->f.x_hi - L->f.x_lo) / xtarget);
	if (x_integral && xstep < 1)
		xstep = 1;
	linear_ticks(&L->xt, L->f.x_lo, L->f.x_hi, xstep);

	L->f.x = left;
	L->f.y = top;
	L->f.w = pw;
	L->f.h = ph;
}

void thaw_plot_to_px(const thaw_plot_frame *f, double x, double y, double *px, double *py)
{
	double ylo = f->y_lo, yhi = f->y_hi;
	if (f->log_y) {
		y = y > 0 ? log10(y) : -INFINITY;
		ylo = log10(ylo);
		yhi = log10(yhi);
	}
	*px = f->x + (x - f->x_lo) / (f->x_hi - f->x_lo) * (f->w - 1);
	*py = f->y + (f->h - 1) - (y - ylo) / (yhi - ylo) * (f->h - 1);
}

int thaw_plot_layout(const thaw_plot_spec *spec, thaw_plot_frame *f)
{
	int rc = check_spec(spec, "plot");
	if (rc < 0)
		return rc;
	layout L;
	make_layout(spec, &L);
	*f = L.f;
	return 0;
}

static int to_int(double v)
{
	if (!(v > -1e6))
		return -1000000;
	if (v > 1e6)
		return 1000000;
	return (int)lround(v);
}

/* Counts pixels other than the plot background and grid in a rectangle:
 * the legend goes where it hides least. */
static long ink(const thaw_canvas *c, int x, int y, int w, int h)
{
	long n = 0;
	for (int yy = y; yy < y + h; yy++)
		for (int xx = x; xx < x + w; xx++) {
			thaw_rgb k = thaw_canvas_get(c, xx, yy);
			if (!eq_rgb(k, WHITE) && !eq_rgb(k, GRID))
				n++;
		}
	return n;
}

static thaw_rgb series_color(const thaw_plot_series *s, int i)
{
	thaw_rgb z = {0, 0, 0};
	return eq_rgb(s->color, z) ? thaw_plot_palette(i) : s->color;
}

static void draw_series(thaw_canvas *c, const layout *L, const thaw_plot_series *sr, int log_y,
			thaw_rgb col)
{
	int s = L->scale, lw = s >= 2 ? 3 : 2, r = s >= 2 ? 3 : 2;
	int drawable = 0;
	for (int j = 0; j < sr->n; j++)
		if (usable(series_x(sr, j)) && usable(sr->y[j]) && (!log_y || sr->y[j] > 0))
			drawable++;
	int prev = 0, px0 = 0, py0 = 0;
	for (int j = 0; j < sr->n; j++) {
		double x = series_x(sr, j), y = sr->y[j];
		if (!usable(x) || !usable(y) || (log_y && y <= 0)) {
			prev = 0;
			continue;
		}
		double fx, fy;
		thaw_plot_to_px(&L->f, x, y, &fx, &fy);
		int px = to_int(fx), py = to_int(fy);
		if (prev)
			thaw_canvas_line(c, px0, py0, px, py, lw, col);
		/* dots show each epoch while they stay apart, and always show a
		 * point with no neighbour (a line of one point is invisible) */
		int next_ok = j + 1 < sr->n && usable(series_x(sr, j + 1)) && usable(sr->y[j + 1]) &&
			      (!log_y || sr->y[j + 1] > 0);
		if (drawable <= L->f.w / 12 || (!prev && !next_ok))
			thaw_canvas_dot(c, px, py, r, col);
		prev = 1;
		px0 = px;
		py0 = py;
	}
}

static void draw_legend(thaw_canvas *c, const layout *L, const thaw_plot_spec *spec)
{
	int s = L->scale, th = THAW_GLYPH_H * s, row = th + 4 * s, sample = 14 * s, inner = 5 * s;
	int n = 0, tw = 0;
	for (int i = 0; i < spec->n_series; i++) {
		const char *nm = spec->series[i].name;
		if (!nm || !*nm)
			continue;
		char b[40];
		int w = thaw_text_width(fit_text(b, sizeof b, nm, 24), s);
		tw = w > tw ? w : tw;
		n++;
	}
	if (!n)
		return;
	int bw = inner + sample + 4 * s + tw + inner, bh = inner * 2 + n * row - 4 * s;
	const thaw_plot_frame *f = &L->f;
	if (bw > f->w - 8 || bh > f->h - 8)
		return; /* a legend bigger than the plot would hide it all */
	int m = 4 * s;
	int cx[4] = {f->x + f->w - bw - m, f->x + m, f->x + f->w - bw - m, f->x + m};
	int cy[4] = {f->y + m, f->y + m, f->y + f->h - bh - m, f->y + f->h - bh - m};
	int best = 0;
	long least = -1;
	for (int k = 0; k < 4; k++) {
		long v = ink(c, cx[k], cy[k], bw, bh);
		if (least < 0 || v < least) {
			least = v;
			best = k;
		}
	}
	int x = cx[best], y = cy[best];
	thaw_canvas_rect(c, x, y, bw, bh, WHITE);
	thaw_canvas_frame(c, x, y, bw, bh, 1, (thaw_rgb){200, 200, 200});
	int k = 0;
	for (int i = 0; i < spec->n_series; i++) {
		const char *nm = spec->series[i].name;
		if (!nm || !*nm)
			continue;
		thaw_rgb col = series_color(&spec->series[i], i);
		int ry = y + inner + k * row, mid = ry + th / 2;
		thaw_canvas_line(c, x + inner, mid, x + inner + sample, mid, s >= 2 ? 3 : 2, col);
		thaw_canvas_dot(c, x + inner + sample / 2, mid, s >= 2 ? 3 : 2, col);
		char b[40];
		thaw_canvas_text(c, x + inner + sample + 4 * s, ry + s / 2, fit_text(b, sizeof b, nm, 24),
				 s, INK);
		k++;
	}
}

static void render_lines(thaw_canvas *c, const layout *L, const thaw_plot_spec *spec)
{
	const thaw_plot_frame *f = &L->f;
	int s = L->scale, th = THAW_GLYPH_H * s, pad = 6 * s;
	char b[256];

	/* grid first, so everything else sits on top of it */
	for (int i = 0; i < L->yt.n; i++) {
		double px, py;
		thaw_plot_to_px(f, f->x_lo, L->yt.v[i], &px, &py);
		thaw_canvas_rect(c, f->x, to_int(py), f->w, 1, GRID);
	}
	for (int i = 0; i < L->xt.n; i++) {
		double px, py;
		thaw_plot_to_px(f, L->xt.v[i], f->y_lo, &px, &py);
		thaw_canvas_rect(c, to_int(px), f->y, 1, f->h, GRID);
	}

	/* markers: dashed line, its label above the plot right of the line (left
	 * of it near the edge); a label that would run into the previous one
	 * goes inside the plot instead, on a white patch */
	int last_end = -1000000, level = 0;
	for (int i = 0; i < spec->n_markers; i++) {
		const thaw_plot_marker *m = &spec->markers[i];
		if (!usable(m->x))
			continue;
		double px, py;
		thaw_plot_to_px(f, m->x, f->y_lo, &px, &py);
		int x = to_int(px);
		if (x < f->x - 1 || x > f->x + f->w)
			continue;
		int ytop = L->marker_row ? f->y - th - 3 * s : f->y;
		thaw_canvas_vdash(c, x, ytop, f->y + f->h - 1, 2, 3 * s + 3, 2 * s + 1, MARKER);
		if (m->label && *m->label) {
			fit_text(b, sizeof b, m->label, 30);
			int w = thaw_text_width(b, s), lx = x + 4 * s;
			if (lx + w > L->W - 2 * s)
				lx = x - 4 * s - w;
			level = lx < last_end + 3 * s ? level + 1 : 0;
			int ly = level ? f->y + 2 * s + (level - 1) * (th + 2 * s) : ytop;
			if (level)
				thaw_canvas_rect(c, lx - s, ly - s, w + 2 * s, th + s, WHITE);
			thaw_canvas_text(c, lx, ly, b, s, SOFT_INK);
			last_end = lx + w;
		}
	}

	/* series, clipped a little outside the frame so a line along the edge
	 * (accuracy 1.0 on a 0..1 axis) stays fully visible */
	int air = 4 * s;
	thaw_canvas_clip(c, f->x - air, f->y - air, f->w + 2 * air, f->h + 2 * air);
	for (int i = 0; i < spec->n_series; i++)
		draw_series(c, L, &spec->series[i], f->log_y, series_color(&spec->series[i], i));
	thaw_canvas_clip(c, 0, 0, 0, 0);

	/* axes: the frame's left and bottom, ticks and their labels */
	thaw_canvas_rect(c, f->x - 1, f->y, 1, f->h + 1, AXIS);
	thaw_canvas_rect(c, f->x - 1, f->y + f->h, f->w + 1, 1, AXIS);
	int last_top = 1000000;
	for (int i = 0; i < L->yt.n; i++) {
		double px, py;
		thaw_plot_to_px(f, f->x_lo, L->yt.v[i], &px, &py);
		int y = to_int(py);
		thaw_canvas_rect(c, f->x - 6, y, 5, 1, AXIS);
		fmt_tick(b, sizeof b, &L->yt, i);
		int w = thaw_text_width(b, s), ty = y - th / 2 + s / 2;
		if (ty + th > last_top) /* labels would touch: keep the grid line only */
			continue;
		thaw_canvas_text(c, f->x - 10 - w, ty, b, s, SOFT_INK);
		last_top = ty;
	}
	int last_right = -1000000;
	for (int i = 0; i < L->xt.n; i++) {
		double px, py;
		thaw_plot_to_px(f, L->xt.v[i], f->y_lo, &px, &py);
		int x = to_int(px);
		thaw_canvas_rect(c, x, f->y + f->h + 1, 1, 5, AXIS);
		fmt_tick(b, sizeof b, &L->xt, i);
		int w = thaw_text_width(b, s), tx = x - w / 2;
		if (tx < last_right + 4 * s)
			continue;
		thaw_canvas_text(c, tx, f->y + f->h + 10, b, s, SOFT_INK);
		last_right = tx + w;
	}

	int below = f->y + f->h + 10 + th + pad / 2;
	if (spec->xlabel && *spec->xlabel) {
		fit_text(b, sizeof b, spec->xlabel, f->w / (THAW_GLYPH_ADVANCE * s));
		thaw_canvas_text(c, f->x + (f->w - thaw_text_width(b, s)) / 2, below, b, s, INK);
		below += th + pad / 2;
	}
	if (spec->ylabel && *spec->ylabel) {
		fit_text(b, sizeof b, spec->ylabel, f->h / (THAW_GLYPH_ADVANCE * s));
		thaw_canvas_text_up(c, pad, f->y + (f->h + thaw_text_width(b, s)) / 2, b, s, INK);
	}
	if (spec->title && *spec->title) {
		fit_text(b, sizeof b, spec->title, (L->W - 2 * pad) / (THAW_GLYPH_ADVANCE * L->tscale));
		int w = thaw_text_width(b, L->tscale);
		title_text(c, f->x + (f->w - w) / 2 < pad ? pad : f->x + (f->w - w) / 2, pad, b,
			   L->tscale);
	}
	if (L->skipped) {
		snprintf(b, sizeof b, "%d value%s <= 0 not shown (log scale)", L->skipped,
			 L->skipped == 1 ? "" : "s");
		thaw_canvas_text(c, f->x, below, b, s, SOFT_INK);
	}
	if (!L->any) {
		const char *msg = spec->n_series && L->skipped ? "no positive values" : "no data";
		int w = thaw_text_width(msg, s);
		thaw_canvas_text(c, f->x + (f->w - w) / 2, f->y + (f->h - th) / 2, msg, s, SOFT_INK);
	}
	draw_legend(c, L, spec);
}

int thaw_plot_lines(const char *path, const thaw_plot_spec *spec)
{
	if (!path)
		return thaw_error(THAW_EINVAL, "plot: no output path");
	int rc = check_spec(spec, path);
	if (rc < 0)
		return rc;
	layout L;
	make_layout(spec, &L);
	thaw_canvas *c = thaw_canvas_new(L.W, L.H, WHITE);
	if (!c) {
		thaw_error_prefix("%s", path);
		return THAW_ENOMEM;
	}
	render_lines(c, &L, spec);
	rc = thaw_canvas_write_png(c, path);
	thaw_canvas_free(c);
	return rc;
}

/* ---------------------------------------------------------------- confusion */

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
	return fit_text(buf, size, s, max_chars);
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
	fit_text(t2, sizeof t2, title, room);
	snprintf(b, sizeof b, "%s%s%s", t2, t2[0] ? ": " : "", acc);
	title_text(c, CM_PAD, CM_PAD, b, 2);

	int rc = thaw_canvas_write_png(c, path);
	thaw_canvas_free(c);
	return rc;
}
