/* Plots to PNG, line charts: training curves with 1-2-5 ticks (linear or
 * logarithmic), a legend where the data leaves room, and phase boundaries
 * as labelled dashed lines. Drawn on the canvas of plot_canvas.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot_draw.h"
#include "thaw/core.h"
#include "thaw/font.h"

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
	int log_y = spec->log_y != 0, log_x = spec->log_x != 0;

	double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
	int x_integral = 1;
	for (int i = 0; i < spec->n_series; i++) {
		const thaw_plot_series *sr = &spec->series[i];
		for (int j = 0; j < sr->n; j++) {
			double x = series_x(sr, j), y = sr->y[j];
			if (!usable(x) || !usable(y))
				continue;
			if ((log_y && y <= 0) || (log_x && x <= 0)) {
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
	L->f.log_x = log_x;
	if (log_x) { /* whole decades around the data (x > 0 here) */
		double llo = xlo > 0 ? floor(log10(xlo) + 1e-9) : 0, lhi = xhi > 0 ? ceil(log10(xhi) - 1e-9) : 1;
		if (lhi <= llo)
			lhi = llo + 1;
		L->f.x_lo = pow(10, llo);
		L->f.x_hi = pow(10, lhi);
	}

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
	if (log_x)
		log_ticks(&L->xt, log10(L->f.x_lo), log10(L->f.x_hi));
	else
		linear_ticks(&L->xt, L->f.x_lo, L->f.x_hi, xstep);

	L->f.x = left;
	L->f.y = top;
	L->f.w = pw;
	L->f.h = ph;
}

void thaw_plot_to_px(const thaw_plot_frame *f, double x, double y, double *px, double *py)
{
	double ylo = f->y_lo, yhi = f->y_hi, xlo = f->x_lo, xhi = f->x_hi;
	if (f->log_x) {
		x = x > 0 ? log10(x) : -INFINITY;
		xlo = log10(xlo);
		xhi = log10(xhi);
	}
	if (f->log_y) {
		y = y > 0 ? log10(y) : -INFINITY;
		ylo = log10(ylo);
		yhi = log10(yhi);
	}
	*px = f->x + (x - xlo) / (xhi - xlo) * (f->w - 1);
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
		if (usable(series_x(sr, j)) && usable(sr->y[j]) && (!log_y || sr->y[j] > 0) &&
		    (!L->f.log_x || series_x(sr, j) > 0))
			drawable++;
	int prev = 0, px0 = 0, py0 = 0;
	for (int j = 0; j < sr->n; j++) {
		double x = series_x(sr, j), y = sr->y[j];
		if (!usable(x) || !usable(y) || (log_y && y <= 0) || (L->f.log_x && x <= 0)) {
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
			      (!log_y || sr->y[j + 1] > 0) && (!L->f.log_x || series_x(sr, j + 1) > 0);
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
		int w = thaw_text_width(thaw_plot_fit_text(b, sizeof b, nm, 24), s);
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
		thaw_canvas_text(c, x + inner + sample + 4 * s, ry + s / 2, thaw_plot_fit_text(b, sizeof b, nm, 24),
				 s, INK);
		k++;
	}
}

/* Where a marker's dashed line is drawn: 0 when it is not shown. */
static int marker_px(const layout *L, const thaw_plot_marker *m, int *x)
{
	const thaw_plot_frame *f = &L->f;
	if (!usable(m->x))
		return 0;
	double px, py;
	thaw_plot_to_px(f, m->x, f->y_lo, &px, &py);
	*x = to_int(px);
	return *x >= f->x - 1 && *x <= f->x + f->w;
}

/* The top of the dashed lines: the label row above the plot, if any. */
static int marker_top(const layout *L)
{
	int th = THAW_GLYPH_H * L->scale;
	return L->marker_row ? L->f.y - th - 3 * L->scale : L->f.y;
}

#define LABEL_CHARS 30

/* Places the label of every shown marker: right of its line (left of it
 * near the edge), in the row above the plot when that is free there, else
 * in the first free row inside the plot, top down. A label that finds no
 * free row is left out rather than drawn over another. Returns how many
 * it placed, in marker order. */
static int place_labels(const layout *L, const thaw_plot_spec *spec, thaw_plot_label *out)
{
	const thaw_plot_frame *f = &L->f;
	int s = L->scale, th = THAW_GLYPH_H * s, n = 0;
	char b[256];
	for (int i = 0; i < spec->n_markers; i++) {
		const thaw_plot_marker *m = &spec->markers[i];
		int x;
		if (!m->label || !*m->label || !marker_px(L, m, &x))
			continue;
		thaw_plot_fit_text(b, sizeof b, m->label, LABEL_CHARS);
		int w = thaw_text_width(b, s), lx = x + 4 * s;
		if (lx + w > L->W - 2 * s)
			lx = x - 4 * s - w;
		if (lx < 0)
			lx = 0;
		for (int row = 0;; row++) {
			int ly = row ? f->y + 2 * s + (row - 1) * (th + 2 * s) : marker_top(L);
			if (ly + th > f->y + f->h)
				break; /* no free row: leave it out */
			/* free: no placed label within 3s beside or s above or below */
			int free = 1;
			for (int j = 0; free && j < n; j++)
				free = lx >= out[j].x + out[j].w + 3 * s || out[j].x >= lx + w + 3 * s ||
				       ly >= out[j].y + out[j].h + s || out[j].y >= ly + th + s;
			if (free) {
				out[n++] = (thaw_plot_label){i, lx, ly, w, th};
				break;
			}
		}
	}
	return n;
}

int thaw_plot_marker_labels(const thaw_plot_spec *spec, thaw_plot_label *out, int cap)
{
	int rc = check_spec(spec, "plot");
	if (rc < 0)
		return rc;
	layout L;
	make_layout(spec, &L);
	thaw_plot_label all[THAW_PLOT_MAX_MARKERS];
	int n = place_labels(&L, spec, all);
	for (int i = 0; i < n && i < cap; i++)
		out[i] = all[i];
	return n;
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

	/* markers: all dashed lines first, then the labels on white patches,
	 * so no line runs through a label */
	for (int i = 0; i < spec->n_markers; i++) {
		int x;
		if (marker_px(L, &spec->markers[i], &x))
			thaw_canvas_vdash(c, x, marker_top(L), f->y + f->h - 1, 2, 3 * s + 3, 2 * s + 1,
					  MARKER);
	}
	thaw_plot_label lab[THAW_PLOT_MAX_MARKERS];
	int nl = place_labels(L, spec, lab);
	for (int i = 0; i < nl; i++) {
		thaw_plot_fit_text(b, sizeof b, spec->markers[lab[i].marker].label, LABEL_CHARS);
		thaw_canvas_rect(c, lab[i].x - s, lab[i].y - s, lab[i].w + 2 * s, lab[i].h + s, WHITE);
		thaw_canvas_text(c, lab[i].x, lab[i].y, b, s, SOFT_INK);
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
		thaw_plot_fit_text(b, sizeof b, spec->xlabel, f->w / (THAW_GLYPH_ADVANCE * s));
		thaw_canvas_text(c, f->x + (f->w - thaw_text_width(b, s)) / 2, below, b, s, INK);
		below += th + pad / 2;
	}
	if (spec->ylabel && *spec->ylabel) {
		thaw_plot_fit_text(b, sizeof b, spec->ylabel, f->h / (THAW_GLYPH_ADVANCE * s));
		thaw_canvas_text_up(c, pad, f->y + (f->h + thaw_text_width(b, s)) / 2, b, s, INK);
	}
	if (spec->title && *spec->title) {
		thaw_plot_fit_text(b, sizeof b, spec->title, (L->W - 2 * pad) / (THAW_GLYPH_ADVANCE * L->tscale));
		int w = thaw_text_width(b, L->tscale);
		thaw_plot_title(c, f->x + (f->w - w) / 2 < pad ? pad : f->x + (f->w - w) / 2, pad, b,
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
