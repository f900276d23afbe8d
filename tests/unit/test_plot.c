/* Plots: the PNGs a run folder gets are read back and checked where a
 * reader looks — series drawn at their data, phase markers at their epoch,
 * the confusion matrix shaded by share, and odd input still giving a chart. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "tmpdir.h"
#include "thaw/core.h"
#include "thaw/font.h"
#include "thaw/plot.h"
#include "thaw/png.h"


typedef struct image {
	uint8_t *px; /* (3, h, w) */
	int c, h, w;
} image;

static int load(const char *path, image *im)
{
	memset(im, 0, sizeof *im);
	if (thaw_png_read(path, &im->px, &im->c, &im->h, &im->w) < 0) {
		printf("  read %s: %s\n", path, thaw_errmsg());
		return 0;
	}
	return im->c == 3;
}

static thaw_rgb at(const image *im, int x, int y)
{
	thaw_rgb k = {0, 0, 0};
	if (x < 0 || y < 0 || x >= im->w || y >= im->h)
		return k;
	size_t plane = (size_t)im->h * im->w, i = (size_t)y * im->w + x;
	k.r = im->px[i];
	k.g = im->px[plane + i];
	k.b = im->px[2 * plane + i];
	return k;
}

static int same(thaw_rgb a, thaw_rgb b) { return a.r == b.r && a.g == b.g && a.b == b.b; }

/* Is colour k within `r` pixels of (x, y)? */
static int near(const image *im, double x, double y, int r, thaw_rgb k)
{
	int cx = (int)lround(x), cy = (int)lround(y);
	for (int dy = -r; dy <= r; dy++)
		for (int dx = -r; dx <= r; dx++)
			if (same(at(im, cx + dx, cy + dy), k))
				return 1;
	return 0;
}

/* Pixels of colour k in rows [y0, y1) of column x. */
static int column_count(const image *im, int x, int y0, int y1, thaw_rgb k)
{
	int n = 0;
	for (int y = y0; y < y1; y++)
		n += same(at(im, x, y), k);
	return n;
}

static int brightness(thaw_rgb k) { return k.r + k.g + k.b; }

enum { N = 20 };
static double ep[N], tl[N], vl[N];

static void curves(void)
{
	for (int i = 0; i < N; i++) {
		ep[i] = i + 1;
		tl[i] = 0.3 + 2.0 * exp(-i / 4.0);
		vl[i] = tl[i] + 0.2; /* validation above train everywhere */
	}
}

static thaw_plot_spec loss_spec(thaw_plot_series *s, thaw_plot_marker *m, int nm)
{
	s[0] = (thaw_plot_series){"train", THAW_PLOT_BLUE, ep, tl, N};
	s[1] = (thaw_plot_series){"validation", THAW_PLOT_ORANGE, ep, vl, N};
	return (thaw_plot_spec){.title = "loss", .xlabel = "epoch", .ylabel = "loss",
				.series = s, .n_series = 2, .markers = m, .n_markers = nm};
}

static void test_canvas(void)
{
	thaw_canvas *c = thaw_canvas_new(40, 30, (thaw_rgb){255, 255, 255});
	CHECK(c != NULL);
	thaw_rgb red = {255, 0, 0}, white = {255, 255, 255};
	thaw_canvas_line(c, 0, 0, 19, 19, 1, red);
	CHECK(same(thaw_canvas_get(c, 10, 10), red));
	CHECK(same(thaw_canvas_get(c, 10, 12), white));
	/* a far-away endpoint is clipped, not walked pixel by pixel */
	double t0 = thaw_now();
	thaw_canvas_line(c, -2000000000, 5, 2000000000, 5, 3, red);
	CHECK(thaw_now() - t0 < 0.1);
	CHECK(same(thaw_canvas_get(c, 39, 5), red) && same(thaw_canvas_get(c, 0, 5), red));
	/* the clip rectangle keeps drawing inside it */
	thaw_canvas_fill(c, white);
	thaw_canvas_clip(c, 10, 10, 5, 5);
	thaw_canvas_rect(c, 0, 0, 40, 30, red);
	CHECK(same(thaw_canvas_get(c, 12, 12), red));
	CHECK(same(thaw_canvas_get(c, 9, 12), white) && same(thaw_canvas_get(c, 15, 12), white));
	thaw_canvas_clip(c, 0, 0, 0, 0);
	/* dashes have gaps */
	thaw_canvas_fill(c, white);
	thaw_canvas_vdash(c, 20, 0, 29, 1, 4, 3, red);
	int on = 0;
	for (int y = 0; y < 30; y++)
		on += same(thaw_canvas_get(c, 20, y), red);
	CHECK(on >= 12 && on <= 20);
	/* text: width counts 6 columns a character less the last blank one */
	CHECK(thaw_text_width("abc", 2) == (3 * THAW_GLYPH_ADVANCE - 1) * 2);
	thaw_canvas_fill(c, white);
	thaw_canvas_text(c, 2, 2, "I", 2, red);
	int lit = 0;
	for (int y = 0; y < 30; y++)
		for (int x = 0; x < 40; x++)
			lit += same(thaw_canvas_get(c, x, y), red);
	CHECK(lit > 0 && lit % 4 == 0); /* 2x2 blocks */
	/* outside reads are black, outside writes ignored */
	thaw_canvas_set(c, -1, 100, red);
	CHECK(same(thaw_canvas_get(c, -1, 0), ((thaw_rgb){0, 0, 0})));
	thaw_canvas_free(c);
	thaw_canvas_free(NULL);
	CHECK(thaw_canvas_new(0, 10, white) == NULL);
}

static void test_series_drawn(void)
{
	curves();
	thaw_plot_series s[2];
	thaw_plot_spec spec = loss_spec(s, NULL, 0);
	const char *p = tpath("loss.png");
	CHECK_OK(thaw_plot_lines(p, &spec));
	image im;
	if (!load(p, &im)) {
		CHECK(0);
		return;
	}
	CHECK(im.w == 800 && im.h == 500);
	thaw_plot_frame f;
	CHECK_OK(thaw_plot_layout(&spec, &f));
	/* the range holds the data and the area sits inside the image */
	CHECK(f.x_lo < 1 && f.x_hi > 20 && f.y_lo <= 0.3 && f.y_hi >= vl[0]);
	CHECK(f.x > 0 && f.y > 0 && f.x + f.w < im.w && f.y + f.h < im.h);
	CHECK(f.w > 500 && f.h > 300);
	int idx[2] = {0, N - 1};
	for (int k = 0; k < 2; k++) {
		int i = idx[k];
		double px, py, qx, qy;
		thaw_plot_to_px(&f, ep[i], tl[i], &px, &py);
		thaw_plot_to_px(&f, ep[i], vl[i], &qx, &qy);
		/* first point in the left tenth, last in the right tenth */
		CHECK(k == 0 ? px < f.x + f.w / 10 : px > f.x + f.w * 9 / 10);
		CHECKF(near(&im, px, py, 2, THAW_PLOT_BLUE), "train at epoch %g (%.0f,%.0f)", ep[i], px,
		       py);
		CHECKF(near(&im, qx, qy, 2, THAW_PLOT_ORANGE), "val at epoch %g (%.0f,%.0f)", ep[i],
		       qx, qy);
		CHECK(qy < py); /* the higher loss is higher up */
		/* and nowhere far from its curve in that column */
		CHECK(!near(&im, px, (py + f.y + f.h) / 2 + 20, 2, THAW_PLOT_ORANGE));
	}
	/* the legend names both series: its colour samples are somewhere */
	CHECK(column_count(&im, f.x + 30, f.y, f.y + f.h, THAW_PLOT_BLUE) > 0 ||
	      column_count(&im, f.x + f.w - 30, f.y, f.y + f.h, THAW_PLOT_BLUE) > 0);
	free(im.px);
}

static void test_ticks_are_nice(void)
{
	double x[3] = {1, 2, 3}, y[3] = {0.23, 0.71, 1.64};
	thaw_plot_series s = {"train", THAW_PLOT_BLUE, x, y, 3};
	thaw_plot_spec spec = {.series = &s, .n_series = 1};
	thaw_plot_frame f;
	CHECK_OK(thaw_plot_layout(&spec, &f));
	CHECK(f.y_lo <= 0.23 && f.y_hi >= 1.64);
	/* rounded out to whole steps of 1, 2 or 5 tenths: no 0.23..1.64 axis */
	CHECK_NEAR(f.y_lo * 10, round(f.y_lo * 10), 1e-9);
	CHECK_NEAR(f.y_hi * 10, round(f.y_hi * 10), 1e-9);
	CHECK(f.y_hi - f.y_lo <= 2.5);
	/* a fixed range is kept as given */
	spec.y_min = 0;
	spec.y_max = 1;
	CHECK_OK(thaw_plot_layout(&spec, &f));
	CHECK(f.y_lo == 0 && f.y_hi == 1);
}

static void test_phase_marker(void)
{
	curves();
	thaw_plot_series s[2];
	thaw_plot_marker m = {10.5, "fine-tune"};
	thaw_plot_spec spec = loss_spec(s, &m, 1);
	const char *p = tpath("marker.png");
	CHECK_OK(thaw_plot_lines(p, &spec));
	image im;
	if (!load(p, &im)) {
		CHECK(0);
		return;
	}
	thaw_plot_frame f;
	CHECK_OK(thaw_plot_layout(&spec, &f));
	double mx, my, x10, x11;
	thaw_plot_to_px(&f, 10.5, 0, &mx, &my);
	thaw_plot_to_px(&f, 10, 0, &x10, &my);
	thaw_plot_to_px(&f, 11, 0, &x11, &my);
	/* the plot column holding the most dashes is the marker's */
	thaw_rgb dash = {120, 120, 120};
	int best = -1, most = 0;
	for (int x = f.x; x < f.x + f.w; x++) {
		int n = column_count(&im, x, f.y, f.y + f.h, dash);
		if (n > most) {
			most = n;
			best = x;
		}
	}
	CHECKF(abs(best - (int)lround(mx)) <= 1, "dashes at x=%d, expected %.1f", best, mx);
	CHECK(best > x10 && best < x11);
	/* dashed, not solid: a third to nine tenths of the rows */
	CHECK(most > f.h / 3 && most < f.h * 9 / 10);
	free(im.px);
}

static int boxes_meet(const thaw_plot_label *a, const thaw_plot_label *b)
{
	return a->x < b->x + b->w && b->x < a->x + a->w && a->y < b->y + b->h && b->y < a->y + a->h;
}

/* Short phases put their boundaries close together: the labels must not be
 * drawn over each other (nor out of the picture), whatever their lengths. */
static void test_phase_labels_apart(void)
{
	curves();
	thaw_plot_series s[2];
	thaw_plot_marker m[] = {{12.5, "fine-tune all layers"}, {13.5, "ft"},  {14.5, "head"},
				{15.5, "x2"},			{16.5, "longer phase name"},
				{17.5, "p6"},			{18.5, "p7"},
				{19.5, "last one near the edge"}};
	int nm = (int)(sizeof m / sizeof m[0]);
	thaw_plot_spec spec = loss_spec(s, m, nm);
	thaw_plot_label lab[THAW_PLOT_MAX_MARKERS];
	int n = thaw_plot_marker_labels(&spec, lab, THAW_PLOT_MAX_MARKERS);
	CHECKF(n >= 2 && n <= nm, "%d labels placed", n);
	thaw_plot_frame f;
	CHECK_OK(thaw_plot_layout(&spec, &f));
	for (int i = 0; i < n; i++) {
		CHECKF(lab[i].x >= 0 && lab[i].x + lab[i].w <= 800 && lab[i].y >= 0 &&
			       lab[i].y + lab[i].h <= f.y + f.h,
		       "label %d (%s) at %d,%d %dx%d is outside the chart", i, m[lab[i].marker].label,
		       lab[i].x, lab[i].y, lab[i].w, lab[i].h);
		for (int j = 0; j < i; j++)
			CHECKF(!boxes_meet(&lab[i], &lab[j]), "labels '%s' and '%s' overlap",
			       m[lab[i].marker].label, m[lab[j].marker].label);
	}
	CHECK(lab[0].marker == 0); /* the first boundary always keeps its label */
	CHECK_OK(thaw_plot_lines(tpath("labels.png"), &spec));

	/* phases far apart: every label in the row above the plot */
	thaw_plot_marker far[] = {{5.5, "fine-tune"}, {10.5, "thaw all"}, {15.5, "low lr"}};
	spec = loss_spec(s, far, 3);
	n = thaw_plot_marker_labels(&spec, lab, THAW_PLOT_MAX_MARKERS);
	CHECK(n == 3);
	for (int i = 0; i < n; i++)
		CHECKF(lab[i].y < f.y, "label %d at y=%d, not above the plot (top %d)", i, lab[i].y, f.y);
}

static void test_log_scale(void)
{
	double y[6] = {2.0, 0.0, 0.5, -1.0, 0.05, 0.01};
	thaw_plot_series s = {"train", THAW_PLOT_BLUE, NULL, y, 6};
	thaw_plot_spec spec = {.title = "log", .ylabel = "loss", .series = &s, .n_series = 1,
			       .log_y = 1};
	thaw_plot_frame f;
	CHECK_OK(thaw_plot_layout(&spec, &f));
	/* the axis spans the positive values only, whole decades here */
	CHECK(f.y_lo > 0 && f.y_lo <= 0.01 && f.y_hi >= 2.0);
	CHECK_NEAR(log10(f.y_lo), round(log10(f.y_lo)), 1e-9);
	CHECK(f.y_hi / f.y_lo <= 1e4);
	const char *p = tpath("log.png");
	CHECK_OK(thaw_plot_lines(p, &spec));
	image im;
	if (load(p, &im)) {
		double px, py;
		thaw_plot_to_px(&f, 5, 0.05, &px, &py);
		CHECK(near(&im, px, py, 2, THAW_PLOT_BLUE));
		/* equal ratios are equal distances */
		double a, b, c2, d;
		thaw_plot_to_px(&f, 1, 0.01, &a, &b);
		thaw_plot_to_px(&f, 1, 0.1, &a, &c2);
		thaw_plot_to_px(&f, 1, 1, &a, &d);
		CHECK_NEAR(b - c2, c2 - d, 1e-6);
		free(im.px);
	} else {
		CHECK(0);
	}
	/* nothing positive: still a chart, with a positive axis */
	double z[3] = {0, -1, 0};
	s.y = z;
	s.n = 3;
	CHECK_OK(thaw_plot_layout(&spec, &f));
	CHECK(f.y_lo > 0 && f.y_hi > f.y_lo);
	CHECK_OK(thaw_plot_lines(tpath("log0.png"), &spec));
	/* a fixed range reaching zero cannot be a log range: ignored */
	s.y = y;
	s.n = 6;
	spec.y_min = 0;
	spec.y_max = 10;
	CHECK_OK(thaw_plot_layout(&spec, &f));
	CHECK(f.y_lo > 0);
}

static int valid_png(const char *p, int w, int h)
{
	int c, hh, ww;
	if (thaw_png_info(p, &c, &hh, &ww) < 0)
		return 0;
	return c == 3 && hh == h && ww == w;
}

static void test_degenerate(void)
{
	double one = 0.7, same4[4] = {0.5, 0.5, 0.5, 0.5}, x4[4] = {3, 3, 3, 3};
	double nan4[4] = {NAN, NAN, NAN, NAN}, mix[5] = {1, NAN, INFINITY, -INFINITY, 2};
	double huge[3] = {1e300, -1e300, 1};
	thaw_plot_series s = {"train", {0, 0, 0}, NULL, &one, 1};
	thaw_plot_spec spec = {.title = "t", .xlabel = "epoch", .ylabel = "loss", .series = &s,
			       .n_series = 1};
	thaw_plot_frame f;

	/* one point: a visible dot in the palette's first colour */
	CHECK_OK(thaw_plot_lines(tpath("one.png"), &spec));
	CHECK(valid_png(tpath("one.png"), 800, 500));
	CHECK_OK(thaw_plot_layout(&spec, &f));
	CHECK(f.y_lo < 0.7 && f.y_hi > 0.7 && f.x_lo < 1 && f.x_hi > 1);
	image im;
	if (load(tpath("one.png"), &im)) {
		double px, py;
		thaw_plot_to_px(&f, 1, 0.7, &px, &py);
		CHECK(near(&im, px, py, 1, thaw_plot_palette(0)));
		free(im.px);
	}

	struct {
		const char *name;
		const double *x, *y;
		int n;
	} cases[] = {
		{"equal.png", NULL, same4, 4}, {"samex.png", x4, same4, 4}, {"empty.png", NULL, NULL, 0},
		{"nan.png", NULL, nan4, 4},    {"mix.png", NULL, mix, 5},   {"huge.png", NULL, huge, 3},
		{"nanx.png", nan4, same4, 4},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		s.x = cases[i].x;
		s.y = cases[i].y;
		s.n = cases[i].n;
		CHECK_OK(thaw_plot_layout(&spec, &f));
		CHECKF(isfinite(f.y_lo) && isfinite(f.y_hi) && f.y_lo < f.y_hi && f.x_lo < f.x_hi,
		       "%s: y %g..%g x %g..%g", cases[i].name, f.y_lo, f.y_hi, f.x_lo, f.x_hi);
		CHECK_OK(thaw_plot_lines(tpath(cases[i].name), &spec));
		CHECKF(valid_png(tpath(cases[i].name), 800, 500), "%s", cases[i].name);
	}
	/* no series at all, a small canvas, a marker with no data */
	thaw_plot_marker m = {NAN, "bad"};
	thaw_plot_spec bare = {.markers = &m, .n_markers = 1, .width = 120, .height = 90};
	CHECK_OK(thaw_plot_lines(tpath("bare.png"), &bare));
	CHECK(valid_png(tpath("bare.png"), 120, 90));
	/* long texts are cut, not overflowing */
	char longs[600];
	memset(longs, 'x', sizeof longs - 1);
	longs[sizeof longs - 1] = 0;
	s.name = longs;
	s.x = NULL;
	s.y = same4;
	s.n = 4;
	spec.title = spec.xlabel = spec.ylabel = longs;
	m.x = 2;
	m.label = longs;
	spec.markers = &m;
	spec.n_markers = 1;
	CHECK_OK(thaw_plot_lines(tpath("long.png"), &spec));
	CHECK(valid_png(tpath("long.png"), 800, 500));
}

static void test_bad_input(void)
{
	double y[2] = {1, 2};
	thaw_plot_series s[THAW_PLOT_MAX_SERIES + 1];
	for (int i = 0; i <= THAW_PLOT_MAX_SERIES; i++)
		s[i] = (thaw_plot_series){"s", {0, 0, 0}, NULL, y, 2};
	thaw_plot_spec spec = {.series = s, .n_series = THAW_PLOT_MAX_SERIES + 1};
	CHECK_ERR(thaw_plot_lines(tpath("many.png"), &spec), "many.png");
	spec.n_series = 1;
	s[0].y = NULL;
	CHECK_ERR(thaw_plot_lines(tpath("noy.png"), &spec), "no y values");
	s[0].y = y;
	spec.width = 50;
	CHECK_ERR(thaw_plot_lines(tpath("small.png"), &spec), "50x");
	spec.width = 0;
	/* an unwritable path: the message names it */
	const char *bad = "/nonexistent-thaw-dir/run/loss.png";
	CHECK_ERR(thaw_plot_lines(bad, &spec), bad);
	long cm[4] = {1, 2, 3, 4};
	CHECK_ERR(thaw_plot_confusion("/nonexistent-thaw-dir/confusion.png", cm, 2, NULL, NULL),
		  "/nonexistent-thaw-dir/confusion.png");
	cm[1] = -1;
	CHECK_ERR(thaw_plot_confusion(tpath("neg.png"), cm, 2, NULL, NULL), "negative count");
	CHECK_ERR(thaw_plot_confusion(tpath("k0.png"), cm, 0, NULL, NULL), "k0.png");
	CHECK_ERR(thaw_plot_confusion(tpath("null.png"), NULL, 2, NULL, NULL), "null.png");
}

static void test_confusion(void)
{
	enum { K = 4 };
	/* rows of 100: class 2's 97 correct is both the largest count and
	 * the largest share of its row */
	long cm[K * K] = {
		80, 10, 5,  5,  //
		20, 70, 0,  10, //
		1,  1,  97, 1,  //
		0,  0,  0,  0,  // no samples of class 3
	};
	const char *names[K] = {"cat", "dog", "bird", "an extremely long class name"};
	const char *p = tpath("confusion.png");
	CHECK_OK(thaw_plot_confusion(p, cm, K, names, "test"));
	thaw_confusion_frame f;
	CHECK_OK(thaw_confusion_layout(K, names, &f));
	image im;
	if (!load(p, &im)) {
		CHECK(0);
		return;
	}
	CHECK(im.w == f.width && im.h == f.height);
	CHECK(f.cell >= 20 && f.x + K * f.cell < im.w && f.y + K * f.cell < im.h);
	/* sample each cell near its corner, away from the printed count */
	int darkest = -1, least = 1000;
	thaw_rgb cellc[K * K];
	for (int i = 0; i < K; i++)
		for (int j = 0; j < K; j++) {
			thaw_rgb k = at(&im, f.x + j * f.cell + 2, f.y + i * f.cell + 2);
			cellc[i * K + j] = k;
			if (brightness(k) < least) {
				least = brightness(k);
				darkest = i * K + j;
			}
		}
	CHECKF(darkest == 2 * K + 2, "darkest cell %d", darkest);
	/* shading follows the share within a row */
	CHECK(brightness(cellc[0]) < brightness(cellc[1]));
	CHECK(brightness(cellc[1]) < brightness(cellc[2]));
	CHECK(brightness(cellc[2]) == brightness(cellc[3]));
	CHECK(brightness(cellc[K + 0]) > brightness(cellc[K + 1]));
	/* the empty row is one flat grey, neither white nor shaded */
	CHECK(same(cellc[3 * K], cellc[3 * K + 3]) && brightness(cellc[3 * K]) < 3 * 250);
	/* a count is printed: the dark diagonal cell has white text in it */
	int x0 = f.x + 2 * f.cell, y0 = f.y + 2 * f.cell, white = 0;
	for (int y = y0; y < y0 + f.cell - 1; y++)
		for (int x = x0; x < x0 + f.cell - 1; x++)
			white += same(at(&im, x, y), ((thaw_rgb){255, 255, 255}));
	CHECK(white > 10);
	free(im.px);

	/* no class names, one class, a hundred classes, all zero */
	CHECK_OK(thaw_plot_confusion(tpath("k1.png"), cm, 1, NULL, NULL));
	long *big = calloc(100 * 100, sizeof *big);
	for (int i = 0; i < 100; i++)
		big[i * 100 + i] = 50 + i, big[i * 100 + (i + 1) % 100] = 7;
	CHECK_OK(thaw_plot_confusion(tpath("k100.png"), big, 100, NULL, "hundred"));
	CHECK_OK(thaw_confusion_layout(100, NULL, &f));
	CHECK(valid_png(tpath("k100.png"), f.width, f.height));
	CHECK(f.width <= 1200 && f.height <= 1200);
	memset(big, 0, 100 * 100 * sizeof *big);
	CHECK_OK(thaw_plot_confusion(tpath("zero.png"), big, 100, NULL, NULL));
	free(big);
}

int main(void)
{
	if (tmpdir_make("thaw-plot") < 0)
		return 2;
	RUN(test_canvas);
	RUN(test_series_drawn);
	RUN(test_ticks_are_nice);
	RUN(test_phase_marker);
	RUN(test_phase_labels_apart);
	RUN(test_log_scale);
	RUN(test_degenerate);
	RUN(test_bad_input);
	RUN(test_confusion);
	if (getenv("THAW_KEEP_PLOTS"))
		printf("plots kept in %s\n", dir);
	else
		tmpdir_remove();
	return check_done();
}
