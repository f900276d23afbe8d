/* JPEG read/write and the PNG-or-JPEG dispatcher: baseline and progressive,
 * gray and colour, EXIF orientation, DCT-scaled decodes, and the files a
 * reader must refuse (CMYK, truncated, forged headers) with the file named. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <jpeglib.h>

#include "check.h"
#include "tmpdir.h"
#include "thaw/core.h"
#include "thaw/image.h"
#include "thaw/png.h"

typedef struct bytes {
	unsigned char *p;
	size_t n;
} bytes;

static bytes slurp(const char *path)
{
	bytes b = {0};
	FILE *f = fopen(path, "rb");
	if (!f)
		return b;
	fseek(f, 0, SEEK_END);
	b.n = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	b.p = malloc(b.n + 1);
	if (fread(b.p, 1, b.n, f) != b.n)
		b.n = 0;
	fclose(f);
	return b;
}

static void spit(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	fwrite(p, 1, n, f);
	fclose(f);
}

/* Four flat quadrants (JPEG keeps flat 8x8-aligned areas nearly exact):
 * top-left red, top-right green, bottom-left blue, bottom-right white. */
static const uint8_t QUAD[4][3] = {{220, 20, 20}, {20, 200, 20}, {20, 20, 220}, {240, 240, 240}};
static uint8_t *quadrants(int h, int w)
{
	uint8_t *px = malloc((size_t)3 * h * w);
	for (int ch = 0; ch < 3; ch++)
		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++)
				px[((size_t)ch * h + y) * w + x] = QUAD[(y >= h / 2) * 2 + (x >= w / 2)][ch];
	return px;
}

/* Which quadrant colour pixel (y, x) of planar px is closest to. */
static int quad_at(const uint8_t *px, int h, int w, int y, int x)
{
	int best = -1, bd = 1 << 30;
	for (int q = 0; q < 4; q++) {
		int d = 0;
		for (int ch = 0; ch < 3; ch++) {
			int e = px[((size_t)ch * h + y) * w + x] - QUAD[q][ch];
			d += e * e;
		}
		if (d < bd)
			bd = d, best = q;
	}
	return best;
}

static int max_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
	int m = 0;
	for (size_t i = 0; i < n; i++) {
		int d = abs(a[i] - b[i]);
		m = d > m ? d : m;
	}
	return m;
}

static int has_marker(const char *path, int marker)
{
	bytes b = slurp(path);
	int found = 0;
	for (size_t i = 0; i + 1 < b.n && !found; i++)
		found = b.p[i] == 0xff && b.p[i + 1] == marker;
	free(b.p);
	return found;
}

static void test_round_trip(void)
{
	enum { H = 32, W = 48 };
	uint8_t *px = quadrants(H, W), *q = NULL;
	int c, h, w;
	for (int prog = 0; prog < 2; prog++) {
		const char *p = tpath(prog ? "prog.jpg" : "base.jpg");
		CHECK_OK(thaw_jpeg_write(p, px, 3, H, W, 0, prog));
		/* SOF0 baseline, SOF2 progressive */
		CHECK(has_marker(p, prog ? 0xc2 : 0xc0));
		CHECK(!has_marker(p, prog ? 0xc0 : 0xc2));
		CHECK_OK(thaw_jpeg_read(p, 0, 0, &q, &c, &h, &w));
		CHECK(c == 3 && h == H && w == W);
		/* flat areas come back nearly exact (chroma is subsampled, so
		 * not next to the quadrant edges) */
		int worst = 0;
		for (int ch = 0; q && ch < 3; ch++)
			for (int y = 0; y < H; y++)
				for (int x = 0; x < W; x++) {
					if (abs(2 * y + 1 - H) < 8 || abs(2 * x + 1 - W) < 8)
						continue;
					size_t i = ((size_t)ch * H + y) * W + x;
					int d = abs(q[i] - px[i]);
					worst = d > worst ? d : worst;
				}
		CHECKF(q && worst <= 8, "progressive %d: max diff %d", prog, worst);
		free(q);
		CHECK_OK(thaw_image_info(p, &c, &h, &w));
		CHECK(c == 3 && h == H && w == W);
		CHECK(thaw_image_format(p) == THAW_IMAGE_JPEG);
	}
	/* gray stays one channel */
	uint8_t g[16 * 24];
	for (int i = 0; i < 16 * 24; i++)
		g[i] = (uint8_t)(i % 24 < 12 ? 30 : 200);
	CHECK_OK(thaw_jpeg_write(tpath("gray.jpg"), g, 1, 16, 24, 95, 0));
	CHECK_OK(thaw_image_read(tpath("gray.jpg"), 0, 0, &q, &c, &h, &w));
	CHECK(c == 1 && h == 16 && w == 24);
	if (q)
		CHECKF(max_diff(q, g, sizeof g) <= 40 && q[0] < 40 && q[23] > 190, "gray: max diff %d",
		       max_diff(q, g, sizeof g));
	free(q);
	CHECK_OK(thaw_jpeg_write(tpath("grayp.jpg"), g, 1, 16, 24, 95, 1));
	CHECK_OK(thaw_image_read(tpath("grayp.jpg"), 0, 0, &q, &c, &h, &w));
	CHECK(c == 1 && h == 16 && w == 24);
	free(q);
	/* the first bytes decide, not the name */
	CHECK_OK(thaw_png_write(tpath("png-named.jpg"), g, 1, 16, 24));
	CHECK(thaw_image_format(tpath("png-named.jpg")) == THAW_IMAGE_PNG);
	CHECK_OK(thaw_image_read(tpath("png-named.jpg"), 0, 0, &q, &c, &h, &w));
	CHECK(c == 1 && h == 16 && w == 24 && q && !memcmp(q, g, sizeof g));
	free(q);
	CHECK_OK(thaw_jpeg_write(tpath("jpeg-named.PNG"), px, 3, H, W, 90, 0));
	CHECK_OK(thaw_image_read(tpath("jpeg-named.PNG"), 0, 0, &q, &c, &h, &w));
	CHECK(c == 3 && h == H && w == W);
	free(q);
	CHECK_ERR(thaw_jpeg_write(tpath("bad.jpg"), px, 2, H, W, 90, 0), "channels");
	CHECK_ERR(thaw_jpeg_write(tpath("bad.jpg"), px, 3, H, W, 101, 0), "quality");
	free(px);
}

/* A JPEG of the quadrant image with an APP1 EXIF segment (orientation o,
 * big- or little-endian TIFF) spliced in after SOI. */
static void exif_jpeg(const char *path, int h, int w, int o, int le)
{
	uint8_t *px = quadrants(h, w);
	thaw_jpeg_write(path, px, 3, h, w, 95, 0);
	free(px);
	bytes b = slurp(path);
	unsigned char app1[36] = {0xff, 0xe1, 0, 34, 'E', 'x', 'i', 'f', 0, 0};
	unsigned char *t = app1 + 10;
	if (le) {
		memcpy(t, "II\x2a\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0", 18);
		t[18] = (unsigned char)o;
	} else {
		memcpy(t, "MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0", 19);
		t[19] = (unsigned char)o;
	}
	FILE *f = fopen(path, "wb");
	fwrite(b.p, 1, 2, f);
	fwrite(app1, 1, sizeof app1, f);
	fwrite(b.p + 2, 1, b.n - 2, f);
	fclose(f);
	free(b.p);
}

/* The upright pixel (y, x) of an orientation-o image comes from stored
 * pixel (sy, sx) of an H x W decode (EXIF 2.3, written as a lookup the
 * other way round from the reader's). */
static void stored_of(int o, int H, int W, int y, int x, int *sy, int *sx)
{
	switch (o) {
	case 2: *sy = y, *sx = W - 1 - x; break;
	case 3: *sy = H - 1 - y, *sx = W - 1 - x; break;
	case 4: *sy = H - 1 - y, *sx = x; break;
	case 5: *sy = x, *sx = y; break;
	case 6: *sy = H - 1 - x, *sx = y; break;
	case 7: *sy = H - 1 - x, *sx = W - 1 - y; break;
	case 8: *sy = x, *sx = W - 1 - y; break;
	default: *sy = y, *sx = x;
	}
}

static void test_exif_orientation(void)
{
	enum { H = 32, W = 64 };
	uint8_t *ref = NULL, *q = NULL;
	int c, h, w;
	exif_jpeg(tpath("o1.jpg"), H, W, 1, 0);
	CHECK_OK(thaw_jpeg_read(tpath("o1.jpg"), 0, 0, &ref, &c, &h, &w));
	CHECK(h == H && w == W);
	if (!ref)
		return;
	/* 6: the phone was held upright; the picture turns 90 degrees
	 * clockwise: stored bottom-left (blue) becomes top-left, stored
	 * top-left (red) top-right */
	exif_jpeg(tpath("o6.jpg"), H, W, 6, 0);
	CHECK_OK(thaw_jpeg_read(tpath("o6.jpg"), 0, 0, &q, &c, &h, &w));
	CHECK(c == 3 && h == W && w == H);
	if (q) {
		CHECK(quad_at(q, h, w, 4, 4) == 2);          /* top-left: blue */
		CHECK(quad_at(q, h, w, 4, w - 4) == 0);      /* top-right: red */
		CHECK(quad_at(q, h, w, h - 4, 4) == 3);      /* bottom-left: white */
		CHECK(quad_at(q, h, w, h - 4, w - 4) == 1);  /* bottom-right: green */
	}
	free(q);
	CHECK_OK(thaw_image_info(tpath("o6.jpg"), &c, &h, &w));
	CHECK(h == W && w == H);
	/* every orientation, both byte orders, pixel for pixel */
	for (int o = 2; o <= 8; o++)
		for (int le = 0; le < 2; le++) {
			exif_jpeg(tpath("o.jpg"), H, W, o, le);
			q = NULL;
			CHECK_OK(thaw_jpeg_read(tpath("o.jpg"), 0, 0, &q, &c, &h, &w));
			int oh = o >= 5 ? W : H, ow = o >= 5 ? H : W, bad = !q || h != oh || w != ow;
			for (int ch = 0; !bad && ch < 3; ch++)
				for (int y = 0; !bad && y < oh; y++)
					for (int x = 0; !bad && x < ow; x++) {
						int sy, sx;
						stored_of(o, H, W, y, x, &sy, &sx);
						bad = q[((size_t)ch * oh + y) * ow + x] != ref[((size_t)ch * H + sy) * W + sx];
					}
			CHECKF(!bad, "orientation %d (%s)", o, le ? "II" : "MM");
			free(q);
		}
	/* a scaled decode of a sideways photo: the minimum is upright */
	exif_jpeg(tpath("o6.jpg"), H, W, 6, 1);
	CHECK_OK(thaw_jpeg_read(tpath("o6.jpg"), 16, 8, &q, &c, &h, &w));
	CHECK(h == 16 && w == 8); /* 1/4 of 64x32 upright */
	free(q);
	free(ref);
}

static void test_scaled_decode(void)
{
	enum { H = 600, W = 800 };
	uint8_t *g = malloc((size_t)H * W), *q = NULL;
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			g[(size_t)y * W + x] = (uint8_t)(x * 255 / (W - 1));
	const char *p = tpath("big.jpg");
	CHECK_OK(thaw_jpeg_write(p, g, 1, H, W, 90, 0));
	int c, h, w;
	static const int want[][4] = {
		{0, 0, H, W},       /* full size */
		{75, 100, 75, 100}, /* 1/8 */
		{100, 100, 150, 200}, /* 1/8 gives 75 rows: 2/8 */
		{224, 224, 225, 300}, /* 3/8 */
		{1, 1, 75, 100},
		{600, 1, H, W},
		{1000, 1000, H, W}, /* never upscaled by the decoder */
	};
	for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
		CHECK_OK(thaw_image_read(p, want[k][0], want[k][1], &q, &c, &h, &w));
		CHECKF(c == 1 && h == want[k][2] && w == want[k][3], "min %dx%d: got %dx%d", want[k][0],
		       want[k][1], h, w);
		/* the gradient survives: column x of the small decode is column
		 * x*W/w of the original */
		if (q && h > 0 && w > 0) {
			int worst = 0;
			for (int x = 0; x < w; x++) {
				int e = abs(q[(size_t)(h / 2) * w + x] - (int)((x + 0.5) * W / w * 255 / (W - 1)));
				worst = e > worst ? e : worst;
			}
			CHECKF(worst <= 8, "min %dx%d: gradient off by %d", want[k][0], want[k][1], worst);
		}
		free(q);
	}
	free(g);
}

static void test_cmyk_refused(void)
{
	const char *p = tpath("cmyk.jpg");
	FILE *f = fopen(p, "wb");
	struct jpeg_compress_struct ci;
	struct jpeg_error_mgr jerr;
	ci.err = jpeg_std_error(&jerr);
	jpeg_create_compress(&ci);
	jpeg_stdio_dest(&ci, f);
	ci.image_width = 16, ci.image_height = 16, ci.input_components = 4, ci.in_color_space = JCS_CMYK;
	jpeg_set_defaults(&ci);
	jpeg_start_compress(&ci, TRUE);
	unsigned char row[16 * 4];
	for (int i = 0; i < 64; i++)
		row[i] = (unsigned char)(i * 4);
	while (ci.next_scanline < 16) {
		JSAMPROW rp = row;
		jpeg_write_scanlines(&ci, &rp, 1);
	}
	jpeg_finish_compress(&ci);
	jpeg_destroy_compress(&ci);
	fclose(f);
	uint8_t *q = (uint8_t *)1;
	int c, h, w;
	CHECK_ERR(thaw_image_read(p, 0, 0, &q, &c, &h, &w), "cmyk.jpg: CMYK JPEG");
	CHECK(q == NULL);
	CHECK_ERR(thaw_image_info(p, &c, &h, &w), "convert it to RGB");
}

static void test_corrupt(void)
{
	uint8_t *px = quadrants(64, 64), *q = NULL;
	CHECK_OK(thaw_jpeg_write(tpath("whole.jpg"), px, 3, 64, 64, 90, 0));
	CHECK_OK(thaw_jpeg_write(tpath("wholep.jpg"), px, 3, 64, 64, 90, 1));
	free(px);
	int c, h, w;
	for (int prog = 0; prog < 2; prog++) {
		bytes b = slurp(tpath(prog ? "wholep.jpg" : "whole.jpg"));
		spit(tpath("cut.jpg"), b.p, b.n * 2 / 3);
		CHECK_ERR(thaw_image_read(tpath("cut.jpg"), 0, 0, &q, &c, &h, &w), "cut.jpg: Premature end");
		CHECK(q == NULL);
		spit(tpath("cut.jpg"), b.p, 40); /* inside the headers */
		CHECK_ERR(thaw_image_info(tpath("cut.jpg"), &c, &h, &w), "cut.jpg: ");
		CHECK_ERR(thaw_image_read(tpath("cut.jpg"), 0, 0, &q, &c, &h, &w), "cut.jpg: ");
		free(b.p);
	}
	spit(tpath("junk.jpg"), "\xff\xd8\xff\xe0junk", 8);
	CHECK_ERR(thaw_image_read(tpath("junk.jpg"), 0, 0, &q, &c, &h, &w), "junk.jpg: ");
	spit(tpath("notes.jpg"), "shopping list\n", 14);
	CHECK_ERR(thaw_image_read(tpath("notes.jpg"), 0, 0, &q, &c, &h, &w), "notes.jpg: not a PNG or JPEG");
	spit(tpath("empty.png"), "", 0);
	CHECK_ERR(thaw_image_info(tpath("empty.png"), &c, &h, &w), "empty.png: not a PNG or JPEG file (empty)");
	CHECK_ERR(thaw_image_info(tpath("missing.jpg"), &c, &h, &w), "missing.jpg: cannot open");
}

static void test_bombs(void)
{
	int c, h, w;
	uint8_t *q = NULL;
	/* JPEG: a real 8x8 gray image whose SOF says 65000x65000 */
	uint8_t g[64] = {0};
	CHECK_OK(thaw_jpeg_write(tpath("small.jpg"), g, 1, 8, 8, 90, 0));
	bytes b = slurp(tpath("small.jpg"));
	size_t sof = 0;
	for (size_t i = 2; i + 9 < b.n; i++)
		if (b.p[i] == 0xff && b.p[i + 1] == 0xc0) {
			sof = i;
			break;
		}
	CHECK(sof > 0);
	b.p[sof + 5] = 65000 >> 8, b.p[sof + 6] = 65000 & 255; /* height */
	b.p[sof + 7] = 65000 >> 8, b.p[sof + 8] = 65000 & 255; /* width */
	spit(tpath("bomb.jpg"), b.p, b.n);
	CHECK_ERR(thaw_image_read(tpath("bomb.jpg"), 0, 0, &q, &c, &h, &w), "bomb.jpg: image is 65000x65000");
	CHECK(strstr(thaw_errmsg(), "limit of 89478485"));
	CHECK(q == NULL);
	/* at 1/8 it would be 8125x8125, under the budget: the file's length
	 * gives it away before anything is allocated */
	CHECK_ERR(thaw_image_read(tpath("bomb.jpg"), 224, 224, &q, &c, &h, &w), "bomb.jpg: header says 65000x65000");
	CHECK_ERR(thaw_image_info(tpath("bomb.jpg"), &c, &h, &w), "cannot hold");
	free(b.p);

	/* PNG: a 1x1 gray PNG whose IHDR says 16384x16384 (CRC fixed) */
	CHECK_OK(thaw_png_write(tpath("small.png"), g, 1, 1, 1));
	b = slurp(tpath("small.png"));
	for (int k = 0; k < 2; k++) {
		unsigned char *d = b.p + 16 + 4 * k;
		d[0] = 0, d[1] = 0, d[2] = 0x40, d[3] = 0;
	}
	uLong crc = crc32(0, b.p + 12, 17);
	b.p[29] = (unsigned char)(crc >> 24), b.p[30] = (unsigned char)(crc >> 16);
	b.p[31] = (unsigned char)(crc >> 8), b.p[32] = (unsigned char)crc;
	spit(tpath("bomb.png"), b.p, b.n);
	CHECK_ERR(thaw_image_info(tpath("bomb.png"), &c, &h, &w), "bomb.png: image is 16384x16384");
	CHECK_ERR(thaw_image_read(tpath("bomb.png"), 0, 0, &q, &c, &h, &w), "more than thaw's limit");
	CHECK(q == NULL);
	free(b.p);
}

static unsigned char *slurp_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b = malloc(1 << 20);
	*n = f ? fread(b, 1, 1 << 20, f) : 0;
	if (f)
		fclose(f);
	return b;
}

/* PNG and JPEG read from memory as from a file, and errors name the source. */
static void test_read_from_memory(void)
{
	enum { H = 32, W = 48 };
	uint8_t *px = quadrants(H, W);
	CHECK_OK(thaw_jpeg_write(tpath("m.jpg"), px, 3, H, W, 0, 1));
	CHECK_OK(thaw_png_write(tpath("m.png"), px, 3, H, W));
	const char *files[2] = {tpath("m.jpg"), tpath("m.png")};
	for (int k = 0; k < 2; k++) {
		size_t n;
		unsigned char *b = slurp_file(files[k], &n);
		uint8_t *a = NULL, *m = NULL;
		int c1, h1, w1, c2, h2, w2;
		CHECK_OK(thaw_image_read(files[k], 0, 0, &a, &c1, &h1, &w1));
		CHECK_OK(thaw_image_read_mem(b, n, "upload", 0, 0, &m, &c2, &h2, &w2));
		CHECK(a && m && c1 == c2 && h1 == h2 && w1 == w2 && !memcmp(a, m, (size_t)c1 * h1 * w1));
		free(m);
		m = NULL;
		if (k == 0) {
			CHECK_OK(thaw_jpeg_read_mem(b, n, NULL, 8, 8, &m, &c2, &h2, &w2)); /* scaled: 1/4 */
			CHECK(m && h2 == 8 && w2 == 12);
			free(m);
			CHECK_ERR(thaw_jpeg_read_mem(b, n / 2, "half.jpg", 0, 0, &m, &c2, &h2, &w2), "half.jpg: ");
			CHECK(m == NULL);
			CHECK_ERR(thaw_jpeg_read_mem(NULL, 0, NULL, 0, 0, &m, &c2, &h2, &w2), "(memory): ");
		} else {
			CHECK_ERR(thaw_png_read_mem(b, n - 20, "half.png", &m, &c2, &h2, &w2), "half.png: ");
			CHECK_ERR(thaw_png_read_mem(b, 5, "five.png", &m, &c2, &h2, &w2),
				  "five.png: not a PNG file (bad signature)");
			CHECK_ERR(thaw_png_read_mem(NULL, 0, NULL, &m, &c2, &h2, &w2), "(memory): not a PNG file");
		}
		CHECK_ERR(thaw_image_read_mem(b, 0, "empty", 0, 0, &m, &c2, &h2, &w2), "empty: not a PNG or JPEG file (empty)");
		free(a);
		free(b);
	}
	free(px);
}

int main(void)
{
	if (tmpdir_make("thaw-jpeg") < 0)
		return 2;
	RUN(test_round_trip);
	RUN(test_exif_orientation);
	RUN(test_scaled_decode);
	RUN(test_cmyk_refused);
	RUN(test_corrupt);
	RUN(test_bombs);
	RUN(test_read_from_memory);
	tmpdir_remove();
	return check_done();
}
