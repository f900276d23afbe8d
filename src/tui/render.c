/* Cell-grid drawing for the workbench: text, frames, braille line plots and
 * half-block images. No curses here: screen.c copies the grid to the
 * terminal, and the unit tests read the grid directly. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "thaw/tui.h"

int thaw_tui_buf_init(thaw_tui_buf *b, int w, int h, int ascii, int color)
{
	if (w < 1)
		w = 1;
	if (h < 1)
		h = 1;
	thaw_tui_cell *c = thaw_malloc((size_t)w * h * sizeof *c);
	if (!c)
		return THAW_ENOMEM;
	free(b->cells);
	b->cells = c;
	b->w = w;
	b->h = h;
	b->ascii = ascii;
	b->color = color;
	thaw_tui_buf_clear(b);
	return 0;
}

void thaw_tui_buf_free(thaw_tui_buf *b)
{
	if (!b)
		return;
	free(b->cells);
	b->cells = NULL;
	b->w = b->h = 0;
}

void thaw_tui_buf_clear(thaw_tui_buf *b)
{
	for (int i = 0; i < b->w * b->h; i++)
		b->cells[i] = (thaw_tui_cell){' ', -1, -1, 0};
}

/* ASCII stand-ins for the few non-ASCII glyphs the workbench uses. */
static uint32_t ascii_of(uint32_t ch)
{
	if (ch < 128)
		return ch;
	if (ch >= 0x2800 && ch <= 0x28ff)
		return ch == 0x2800 ? ' ' : '.';
	switch (ch) {
	case 0x2500: case 0x2501: case 0x254c: return '-';
	case 0x2502: case 0x2503: case 0x254e: return '|';
	case 0x250c: case 0x2510: case 0x2514: case 0x2518: case 0x251c: case 0x2524:
	case 0x252c: case 0x2534: case 0x253c: return '+';
	case 0x2744: return '*'; /* ❄ frozen */
	case 0x25cf: return 'o'; /* ● trainable */
	case 0x2588: return '#'; /* █ */
	case 0x2591: return '.'; /* ░ */
	case 0x2592: return ':';
	case 0x2593: return '%';
	case 0x2580: return '"'; /* ▀ */
	case 0x2026: return '~'; /* … */
	case 0x2192: return '>'; /* → */
	case 0x2190: return '<';
	case 0x2191: return '^';
	case 0x2193: return 'v';
	case 0x00d7: return 'x'; /* × */
	case 0x25b6: return '>'; /* ▶ */
	case 0x2016: return '|'; /* ‖ */
	case 0x00b7: return '.'; /* · */
	default: return '?';
	}
}

void thaw_tui_put(thaw_tui_buf *b, int x, int y, uint32_t ch, int fg, int bg, int attr)
{
	thaw_tui_cell *c = thaw_tui_at(b, x, y);
	if (!c)
		return;
	if (b->ascii)
		ch = ascii_of(ch);
	if (!b->color)
		fg = bg = -1;
	*c = (thaw_tui_cell){ch, (int16_t)fg, (int16_t)bg, (uint8_t)attr};
}

/* Decodes one UTF-8 sequence; malformed bytes read as '?'. */
static uint32_t utf8_next(const char **ps)
{
	const unsigned char *s = (const unsigned char *)*ps;
	uint32_t c = s[0];
	int n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : -1;
	if (n < 0) {
		*ps += 1;
		return '?';
	}
	if (n)
		c &= 0x3f >> n;
	for (int i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*ps += i;
			return '?';
		}
		c = c << 6 | (s[i] & 0x3f);
	}
	*ps += n + 1;
	return c;
}

int thaw_tui_text(thaw_tui_buf *b, int x, int y, int maxw, const char *s, int fg, int bg, int attr)
{
	if (maxw < 0)
		maxw = b->w - x;
	int n = 0;
	while (s && *s && n < maxw) {
		uint32_t ch = utf8_next(&s);
		if (ch == '\t' || ch == '\n' || ch == '\r')
			ch = ' ';
		else if (ch < 32)
			ch = '?';
		thaw_tui_put(b, x + n, y, ch, fg, bg, attr);
		n++;
	}
	return n;
}

int thaw_tui_printf(thaw_tui_buf *b, int x, int y, int maxw, int fg, int bg, int attr, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	return thaw_tui_text(b, x, y, maxw, line, fg, bg, attr);
}

void thaw_tui_fill(thaw_tui_buf *b, int x, int y, int w, int h, uint32_t ch, int fg, int bg, int attr)
{
	for (int j = 0; j < h; j++)
		for (int i = 0; i < w; i++)
			thaw_tui_put(b, x + i, y + j, ch, fg, bg, attr);
}

void thaw_tui_box(thaw_tui_buf *b, int x, int y, int w, int h, const char *title, int focused)
{
	if (w < 2 || h < 2)
		return;
	int a = focused ? THAW_TUI_BOLD : 0, fg = focused ? 51 : 244;
	for (int i = 1; i < w - 1; i++) {
		thaw_tui_put(b, x + i, y, 0x2500, fg, -1, a);
		thaw_tui_put(b, x + i, y + h - 1, 0x2500, fg, -1, a);
	}
	for (int j = 1; j < h - 1; j++) {
		thaw_tui_put(b, x, y + j, 0x2502, fg, -1, a);
		thaw_tui_put(b, x + w - 1, y + j, 0x2502, fg, -1, a);
	}
	thaw_tui_put(b, x, y, 0x250c, fg, -1, a);
	thaw_tui_put(b, x + w - 1, y, 0x2510, fg, -1, a);
	thaw_tui_put(b, x, y + h - 1, 0x2514, fg, -1, a);
	thaw_tui_put(b, x + w - 1, y + h - 1, 0x2518, fg, -1, a);
	if (title && *title && w > 4) {
		thaw_tui_put(b, x + 1, y, ' ', fg, -1, a);
		int n = thaw_tui_text(b, x + 2, y, w - 4, title, focused ? 51 : -1, -1, a);
		thaw_tui_put(b, x + 2 + n, y, ' ', fg, -1, a);
	}
}

void thaw_tui_row(const thaw_tui_buf *b, int y, char *out, size_t size)
{
	size_t o = 0;
	if (!size)
		return;
	for (int x = 0; y >= 0 && y < b->h && x < b->w; x++) {
		uint32_t c = b->cells[(size_t)y * b->w + x].ch;
		char tmp[4];
		size_t n;
		if (c < 0x80) {
			tmp[0] = (char)c;
			n = 1;
		} else if (c < 0x800) {
			tmp[0] = (char)(0xc0 | c >> 6);
			tmp[1] = (char)(0x80 | (c & 0x3f));
			n = 2;
		} else if (c < 0x10000) {
			tmp[0] = (char)(0xe0 | c >> 12);
			tmp[1] = (char)(0x80 | ((c >> 6) & 0x3f));
			tmp[2] = (char)(0x80 | (c & 0x3f));
			n = 3;
		} else {
			tmp[0] = (char)(0xf0 | c >> 18);
			tmp[1] = (char)(0x80 | ((c >> 12) & 0x3f));
			tmp[2] = (char)(0x80 | ((c >> 6) & 0x3f));
			tmp[3] = (char)(0x80 | (c & 0x3f));
			n = 4;
		}
		if (o + n + 1 > size)
			break;
		memcpy(out + o, tmp, n);
		o += n;
	}
	out[o] = 0;
}

/* ---------------------------------------------------------------- plots */

/* Dot (col, row) inside a cell -> braille bit: the left column is dots
 * 1,2,3,7 (bits 0,1,2,6), the right column dots 4,5,6,8 (bits 3,4,5,7). */
static const uint8_t braille_bit[2][4] = {{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}};

typedef struct dots {
	int W, H;       /* dot resolution */
	int sx, sy;     /* dots per cell: 2x4 braille, 1x1 ASCII */
	int pw, ph;     /* cells */
	uint8_t *bits;  /* (ph, pw) braille masks or ASCII marks */
	int16_t *color; /* (ph, pw) */
} dots;

static void dot_set(dots *d, int x, int y, int color, char mark)
{
	if (x < 0 || y < 0 || x >= d->W || y >= d->H)
		return;
	int cx = x / d->sx, cy = y / d->sy, k = cy * d->pw + cx;
	if (d->sx == 2)
		d->bits[k] |= braille_bit[x & 1][y & 3];
	else
		d->bits[k] = (uint8_t)mark;
	d->color[k] = (int16_t)color;
}

static void dot_line(dots *d, int x0, int y0, int x1, int y1, int color, char mark)
{
	int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
	int dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
	int err = dx + dy;
	for (;;) {
		dot_set(d, x0, y0, color, mark);
		if (x0 == x1 && y0 == y1)
			break;
		int e2 = 2 * err;
		if (e2 >= dy) {
			err += dy;
			x0 += sx;
		}
		if (e2 <= dx) {
			err += dx;
			y0 += sy;
		}
	}
}

static int usable(float v, int log_y) { return isfinite(v) && (!log_y || v > 0); }

/* "2.7e-05" -> "2.7e-5", "1e+06" -> "1e6": the exponent's sign and
 * leading zeros cost columns a narrow axis does not have. */
static void compact_exp(char *s)
{
	char *e = strchr(s, 'e');
	if (!e)
		return;
	char *d = e + 1, *src = e + 1;
	if (*src == '+')
		src++;
	else if (*src == '-')
		*d++ = *src++;
	while (*src == '0' && src[1])
		src++;
	memmove(d, src, strlen(src) + 1);
}

int thaw_tui_fmt_num(char *out, size_t size, double v, int width)
{
	char best[64] = "";
	if (!size)
		return 0;
	if (!isfinite(v)) {
		snprintf(out, size, "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
		return (int)strlen(out);
	}
	if (width < 1)
		width = 1;
	/* the most significant digits that fit; %g switches to an exponent
	 * for very large or small values by itself */
	for (int p = 4; p >= 1; p--) {
		char t[64];
		double a = fabs(v);
		if (a != 0 && (a < 1e-3 || a >= 1e5))
			snprintf(t, sizeof t, "%.*e", p - 1, v);
		else
			snprintf(t, sizeof t, "%.*g", p, v);
		compact_exp(t);
		/* drop zeros after the point: "2.50e-5" -> "2.5e-5" */
		char *e = strchr(t, 'e'), *dot = strchr(t, '.');
		if (dot && e) {
			char *z = e;
			while (z > dot + 1 && z[-1] == '0')
				z--;
			if (z == dot + 1)
				z = dot;
			memmove(z, e, strlen(e) + 1);
		}
		snprintf(best, sizeof best, "%s", t);
		if ((int)strlen(t) <= width)
			break;
	}
	snprintf(out, size, "%s", best);
	return (int)strlen(out);
}

static void fmt_value(char *out, size_t size, double v) { thaw_tui_fmt_num(out, size, v, 6); }

/* The byte offset of code point k of s (or its end). */
static size_t utf8_skip(const char *s, int k)
{
	size_t at = 0;
	while (s[at] && k-- > 0) {
		at++;
		while (((unsigned char)s[at] & 0xc0) == 0x80)
			at++;
	}
	return at;
}

int thaw_tui_cols(const char *s)
{
	int n = 0;
	for (; s && *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

int thaw_tui_middle(char *out, size_t size, const char *s, int width)
{
	if (!size)
		return 0;
	out[0] = 0;
	if (!s || width < 1)
		return 0;
	int n = thaw_tui_cols(s);
	if (n <= width) {
		snprintf(out, size, "%s", s);
		return n;
	}
	/* the end tells dotted names apart (layer1.0.conv1, layer2.0.conv1):
	 * it gets three quarters of the room, the start what is left */
	int room = width - 1, head = room / 4;
	if (head < 1 && room >= 2)
		head = 1;
	int tail = room - head;
	size_t hb = utf8_skip(s, head), tb = utf8_skip(s, n - tail);
	if (s[tb] == '.' && head > 1) { /* "l…1.0.relu" over "la….0.relu": the dot tells nothing */
		head--;
		tail++;
		hb = utf8_skip(s, head);
		tb = utf8_skip(s, n - tail);
	}
	snprintf(out, size, "%.*s\xe2\x80\xa6%s", (int)hb, s, s + tb);
	return width;
}

int thaw_tui_wrap(const char *s, int first_w, int rest_w, int *off, int *len, int max)
{
	int rows = 0;
	size_t at = 0, n = strlen(s);
	if (first_w < 1)
		first_w = 1;
	if (rest_w < 1)
		rest_w = 1;
	do {
		int w = rows ? rest_w : first_w;
		if (rows) /* a continuation row starts at a word */
			while (s[at] == ' ')
				at++;
		/* the byte after w code points, or the end */
		size_t end = at;
		int k = 0;
		while (end < n && k < w) {
			end++;
			while (end < n && ((unsigned char)s[end] & 0xc0) == 0x80)
				end++;
			k++;
		}
		size_t cut = end;
		if (end < n && s[end] != ' ') { /* inside a word: break at its last space */
			size_t sp = end;
			while (sp > at && s[sp - 1] != ' ')
				sp--;
			if (sp > at)
				cut = sp;
		}
		size_t shown = cut; /* trailing spaces are not shown */
		while (shown > at && s[shown - 1] == ' ')
			shown--;
		if (rows < max) {
			off[rows] = (int)at;
			len[rows] = (int)(shown - at);
		}
		rows++;
		at = cut;
		while (at < n && s[at] == ' ')
			at++;
	} while (at < n);
	return rows;
}

int thaw_tui_plot(thaw_tui_buf *b, int x, int y, int w, int h, const thaw_tui_series *s, int ns,
		  const thaw_tui_plot_opts *o)
{
	const int margin = 7;
	thaw_tui_plot_opts def = {0};
	if (!o)
		o = &def;
	if (w < margin + 4 || h < 3)
		return THAW_EINVAL;
	dots d = {.sx = b->ascii ? 1 : 2, .sy = b->ascii ? 1 : 4, .pw = w - margin, .ph = h - 1};
	d.W = d.pw * d.sx;
	d.H = d.ph * d.sy;
	/* ranges */
	double xmin = o->xmin, xmax = o->xmax, ymin = o->ymin, ymax = o->ymax;
	int autox = !(xmin < xmax), autoy = !(ymin < ymax), any = 0;
	if (autox)
		xmin = INFINITY, xmax = -INFINITY;
	if (autoy)
		ymin = INFINITY, ymax = -INFINITY;
	for (int k = 0; k < ns; k++)
		for (int i = 0; i < s[k].n; i++) {
			float xv = s[k].x[i], yv = s[k].y[i];
			if (!isfinite(xv) || !usable(yv, o->log_y))
				continue;
			any = 1;
			double ty = o->log_y ? log10(yv) : yv;
			if (autox) {
				xmin = fmin(xmin, xv);
				xmax = fmax(xmax, xv);
			}
			if (autoy) {
				ymin = fmin(ymin, ty);
				ymax = fmax(ymax, ty);
			}
		}
	if (!autoy && o->log_y) {
		ymin = log10(fmax(ymin, 1e-12));
		ymax = log10(fmax(ymax, 1e-12));
	}
	if (!any) {
		if (autox)
			xmin = 0, xmax = 1;
		if (autoy)
			ymin = 0, ymax = 1;
	}
	if (!(xmax > xmin))
		xmax = xmin + 1;
	if (!(ymax > ymin)) {
		double pad = fabs(ymin) * 0.1 + 1e-3;
		ymin -= pad;
		ymax += pad;
	}
	d.bits = calloc((size_t)d.pw * d.ph, 1);
	d.color = calloc((size_t)d.pw * d.ph, sizeof *d.color);
	if (!d.bits || !d.color) {
		free(d.bits);
		free(d.color);
		return THAW_ENOMEM;
	}
#define DX(v) ((int)lround(((v) - xmin) / (xmax - xmin) * (d.W - 1)))
#define DY(v) ((int)lround((1 - ((v) - ymin) / (ymax - ymin)) * (d.H - 1)))
	/* phase boundaries first, so the curves draw over them */
	for (int k = 0; k < o->n_marks; k++) {
		double mv = o->marks[k];
		if (mv < xmin || mv > xmax)
			continue;
		int mx = DX(mv);
		for (int yy = 0; yy < d.H; yy += d.sx == 2 ? 2 : 1)
			dot_set(&d, mx, yy, 240, ':');
	}
	for (int k = 0; k < ns; k++) {
		int have = 0, px = 0, py = 0;
		for (int i = 0; i < s[k].n; i++) {
			float xv = s[k].x[i], yv = s[k].y[i];
			if (!isfinite(xv) || !usable(yv, o->log_y))
				continue;
			double ty = o->log_y ? log10(yv) : yv;
			ty = fmin(fmax(ty, ymin), ymax);
			int cx = DX(xv), cy = DY(ty);
			if (have)
				dot_line(&d, px, py, cx, cy, s[k].color, s[k].mark ? s[k].mark : '*');
			else
				dot_set(&d, cx, cy, s[k].color, s[k].mark ? s[k].mark : '*');
			have = 1;
			px = cx;
			py = cy;
		}
	}
#undef DX
#undef DY
	for (int j = 0; j < d.ph; j++)
		for (int i = 0; i < d.pw; i++) {
			int k = j * d.pw + i;
			uint32_t ch = d.sx == 2 ? 0x2800u + d.bits[k] : (d.bits[k] ? d.bits[k] : ' ');
			if (ch == 0x2800)
				ch = ' ';
			thaw_tui_put(b, x + margin + i, y + j, ch, d.bits[k] ? d.color[k] : -1, -1, 0);
		}
	free(d.bits);
	free(d.color);
	/* axis labels: top, middle and bottom of y; both ends of x */
	char lab[32];
	double yv[3] = {ymax, (ymin + ymax) / 2, ymin};
	int yr[3] = {y, y + (d.ph - 1) / 2, y + d.ph - 1};
	for (int k = 0; k < 3; k++) {
		if (k == 1 && (yr[1] == yr[0] || yr[1] == yr[2]))
			continue;
		fmt_value(lab, sizeof lab, o->log_y ? pow(10, yv[k]) : yv[k]);
		int n = (int)strlen(lab);
		thaw_tui_text(b, x + margin - 1 - (n < margin - 1 ? n : margin - 1), yr[k], margin - 1, lab, 245, -1, 0);
		thaw_tui_put(b, x + margin - 1, yr[k], 0x2524, 240, -1, 0);
	}
	fmt_value(lab, sizeof lab, xmin);
	thaw_tui_text(b, x + margin, y + h - 1, 10, lab, 245, -1, 0);
	fmt_value(lab, sizeof lab, xmax);
	int n = (int)strlen(lab);
	thaw_tui_text(b, x + w - n, y + h - 1, n, lab, 245, -1, 0);
	return 0;
}

/* ---------------------------------------------------------------- images */

int thaw_tui_gray(int v)
{
	int k = (v < 0 ? 0 : v > 255 ? 255 : v) * 25 / 255; /* 0..25: black, 24 grays, white */
	return k == 0 ? 16 : k == 25 ? 231 : 231 + k;
}

int thaw_tui_rgb(int r, int g, int bl)
{
	int q[3] = {r, g, bl};
	for (int i = 0; i < 3; i++)
		q[i] = ((q[i] < 0 ? 0 : q[i] > 255 ? 255 : q[i]) * 5 + 127) / 255;
	if (q[0] == q[1] && q[1] == q[2]) /* grays look better on the finer ramp */
		return thaw_tui_gray((r + g + bl) / 3);
	return 16 + 36 * q[0] + 6 * q[1] + q[2];
}

/* Area average of the source box that target pixel (tx, ty) covers, in
 * channel ch. */
static int sample(const uint8_t *img, int h, int w, int ch, int tx, int ty, int dw, int dh)
{
	int x0 = tx * w / dw, x1 = (tx + 1) * w / dw, y0 = ty * h / dh, y1 = (ty + 1) * h / dh;
	if (x1 <= x0)
		x1 = x0 + 1;
	if (y1 <= y0)
		y1 = y0 + 1;
	int sum = 0, n = 0;
	for (int yy = y0; yy < y1 && yy < h; yy++)
		for (int xx = x0; xx < x1 && xx < w; xx++) {
			sum += img[((size_t)ch * h + yy) * w + xx];
			n++;
		}
	return n ? (sum + n / 2) / n : 0;
}

static int pixel_color(const uint8_t *img, int c, int h, int w, int tx, int ty, int dw, int dh, int *lum)
{
	if (c >= 3) {
		int r = sample(img, h, w, 0, tx, ty, dw, dh), g = sample(img, h, w, 1, tx, ty, dw, dh),
		    bl = sample(img, h, w, 2, tx, ty, dw, dh);
		*lum = (299 * r + 587 * g + 114 * bl) / 1000;
		return thaw_tui_rgb(r, g, bl);
	}
	*lum = sample(img, h, w, 0, tx, ty, dw, dh);
	return thaw_tui_gray(*lum);
}

int thaw_tui_image(thaw_tui_buf *b, int x, int y, int cols, int rows, const uint8_t *img, int c, int h,
		   int w, int *rows_used)
{
	if (rows_used)
		*rows_used = 0;
	if (cols < 1 || rows < 1 || h < 1 || w < 1 || !img)
		return 0;
	/* target pixels: cols wide, 2*rows tall, aspect kept, never enlarged */
	int dw = w, dh = h;
	if (dw > cols || dh > 2 * rows) {
		double s = fmin((double)cols / w, 2.0 * rows / h);
		dw = (int)(w * s);
		dh = (int)(h * s);
		if (dw < 1)
			dw = 1;
		if (dh < 1)
			dh = 1;
	}
	int used_rows = (dh + 1) / 2;
	static const char ramp[] = " .:-=+*#%@";
	static const uint32_t shades[] = {' ', 0x2591, 0x2592, 0x2593, 0x2588};
	for (int j = 0; j < used_rows; j++)
		for (int i = 0; i < dw; i++) {
			int lt, lb = 0;
			int top = pixel_color(img, c, h, w, i, 2 * j, dw, dh, &lt);
			int bot = 2 * j + 1 < dh ? pixel_color(img, c, h, w, i, 2 * j + 1, dw, dh, &lb) : 16;
			if (b->color && !b->ascii)
				thaw_tui_put(b, x + i, y + j, 0x2580, top, bot, 0);
			else if (b->color)
				thaw_tui_put(b, x + i, y + j, ' ', -1, top, 0);
			else if (b->ascii)
				thaw_tui_put(b, x + i, y + j, (uint32_t)ramp[(lt + lb) / 2 * 10 / 256], -1, -1, 0);
			else
				thaw_tui_put(b, x + i, y + j, shades[(lt + lb) / 2 * 5 / 256], -1, -1, 0);
		}
	if (rows_used)
		*rows_used = used_rows;
	return dw;
}
