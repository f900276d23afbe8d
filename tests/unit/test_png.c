/* PNG read/write: every colour type and bit depth reads back to the right
 * 8-bit values, and broken files give errors naming the file and reason. */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "tmpdir.h"
#include "thaw/core.h"
#include "thaw/png.h"


/* Writes a PNG of any type straight through libpng (thaw's writer only
 * makes 8-bit gray and RGB). rows: packed libpng rows. */
static void raw_png(const char *path, int w, int h, int depth, int ctype, png_bytep *rows,
		    png_colorp pal, int npal, png_bytep trns, int ntrns, int interlace)
{
	FILE *f = fopen(path, "wb");
	png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(p);
	if (setjmp(png_jmpbuf(p))) {
		fprintf(stderr, "raw_png failed\n");
		exit(2);
	}
	png_init_io(p, f);
	png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, depth, ctype,
		     interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
		     PNG_FILTER_TYPE_DEFAULT);
	if (pal)
		png_set_PLTE(p, info, pal, npal);
	if (trns)
		png_set_tRNS(p, info, trns, ntrns, NULL);
	png_write_info(p, info);
	png_write_image(p, rows);
	png_write_end(p, NULL);
	png_destroy_write_struct(&p, &info);
	fclose(f);
}

enum { W = 7, H = 5 };

/* Expected 8-bit value of channel ch at (x, y): a pattern every test uses. */
static int pat(int x, int y, int ch) { return (x * 37 + y * 91 + ch * 53) & 255; }

/* Reads path and compares with want(x, y, ch) over c channels. */
static int read_matches(const char *path, int c, int (*want)(int, int, int))
{
	uint8_t *px;
	int rc, cc, hh, ww;
	if ((rc = thaw_png_read(path, &px, &cc, &hh, &ww)) < 0) {
		printf("  read %s: %s\n", path, thaw_errmsg());
		return 0;
	}
	int ok = cc == c && hh == H && ww == W;
	for (int ch = 0; ok && ch < c; ch++)
		for (int y = 0; y < H; y++)
			for (int x = 0; x < W; x++)
				if (px[(ch * H + y) * W + x] != want(x, y, ch)) {
					printf("  %s: (%d,%d,%d) = %d, want %d\n", path, x, y, ch,
					       px[(ch * H + y) * W + x], want(x, y, ch));
					ok = 0;
					goto out;
				}
out:
	free(px);
	return ok;
}

static int depth_bits;
static int gray_low(int x, int y, int ch)
{
	(void)ch;
	int maxv = (1 << depth_bits) - 1;
	return ((x + y) % (maxv + 1)) * (255 / maxv);
}

static void test_gray_low_depths(void)
{
	for (depth_bits = 1; depth_bits <= 4; depth_bits *= 2) {
		png_byte buf[H][8];
		png_bytep rows[H];
		memset(buf, 0, sizeof buf);
		int maxv = (1 << depth_bits) - 1;
		for (int y = 0; y < H; y++) {
			rows[y] = buf[y];
			for (int x = 0; x < W; x++) {
				int v = (x + y) % (maxv + 1);
				int bit = x * depth_bits;
				buf[y][bit / 8] |= (png_byte)(v << (8 - depth_bits - bit % 8));
			}
		}
		char name[32];
		snprintf(name, sizeof name, "gray%d.png", depth_bits);
		raw_png(tpath(name), W, H, depth_bits, PNG_COLOR_TYPE_GRAY, rows, NULL, 0, NULL, 0, 0);
		CHECKF(read_matches(tpath(name), 1, gray_low), "gray %d-bit", depth_bits);
	}
}

static void test_8_and_16_bit_types(void)
{
	struct {
		const char *name;
		int ctype, channels, out_c;
	} t[] = {
		{"gray", PNG_COLOR_TYPE_GRAY, 1, 1},
		{"gray_alpha", PNG_COLOR_TYPE_GRAY_ALPHA, 2, 1},
		{"rgb", PNG_COLOR_TYPE_RGB, 3, 3},
		{"rgba", PNG_COLOR_TYPE_RGB_ALPHA, 4, 3},
	};
	for (int k = 0; k < 4; k++)
		for (int depth = 8; depth <= 16; depth += 8)
			for (int il = 0; il <= 1; il++) {
				int bpp = t[k].channels * depth / 8;
				png_byte buf[H][W * 8];
				png_bytep rows[H];
				for (int y = 0; y < H; y++) {
					rows[y] = buf[y];
					for (int x = 0; x < W; x++)
						for (int ch = 0; ch < t[k].channels; ch++) {
							/* alpha varies too: it must be dropped, never mixed in */
							int v = ch == t[k].out_c ? (x * 50) & 255 : pat(x, y, ch);
							png_bytep q = buf[y] + x * bpp + ch * depth / 8;
							if (depth == 8) {
								q[0] = (png_byte)v;
							} else { /* v*257 scales back to v exactly */
								q[0] = (png_byte)v, q[1] = (png_byte)v;
							}
						}
				}
				char name[64];
				snprintf(name, sizeof name, "%s%d%s.png", t[k].name, depth, il ? "i" : "");
				raw_png(tpath(name), W, H, depth, t[k].ctype, rows, NULL, 0, NULL, 0, il);
				CHECKF(read_matches(tpath(name), t[k].out_c, pat), "%s", name);
			}
}

static png_color palette[16];
static int pal_want(int x, int y, int ch)
{
	int i = (x + 2 * y) % 16;
	return ch == 0 ? palette[i].red : ch == 1 ? palette[i].green : palette[i].blue;
}

static void test_palette(void)
{
	for (int i = 0; i < 16; i++)
		palette[i] = (png_color){(png_byte)(i * 16), (png_byte)(255 - i * 7), (png_byte)(i * 3 + 1)};
	for (int depth = 4; depth <= 8; depth += 4) {
		png_byte buf[H][W];
		png_bytep rows[H];
		memset(buf, 0, sizeof buf);
		for (int y = 0; y < H; y++) {
			rows[y] = buf[y];
			for (int x = 0; x < W; x++) {
				int v = (x + 2 * y) % 16;
				if (depth == 8)
					buf[y][x] = (png_byte)v;
				else
					buf[y][x / 2] |= (png_byte)(v << (x % 2 ? 0 : 4));
			}
		}
		png_byte trns[16];
		for (int i = 0; i < 16; i++)
			trns[i] = (png_byte)(i * 17);
		char name[32];
		snprintf(name, sizeof name, "pal%d.png", depth);
		/* with a tRNS chunk: transparency must not become a fourth channel */
		raw_png(tpath(name), W, H, depth, PNG_COLOR_TYPE_PALETTE, rows, palette, 16, trns, 16, 0);
		CHECKF(read_matches(tpath(name), 3, pal_want), "%s", name);
	}
}

static void test_thaw_writer_round_trip(void)
{
	for (int c = 1; c <= 3; c += 2) {
		uint8_t img[3 * H * W];
		for (int ch = 0; ch < c; ch++)
			for (int y = 0; y < H; y++)
				for (int x = 0; x < W; x++)
					img[(ch * H + y) * W + x] = (uint8_t)pat(x, y, ch);
		const char *p = tpath(c == 1 ? "w1.png" : "w3.png");
		CHECK_OK(thaw_png_write(p, img, c, H, W));
		CHECK(read_matches(p, c, pat));
		int ic, ih, iw;
		CHECK_OK(thaw_png_info(p, &ic, &ih, &iw));
		CHECK(ic == c && ih == H && iw == W);
	}
	uint8_t img[4] = {0};
	CHECK_ERR(thaw_png_write(tpath("no/such/dir.png"), img, 1, 2, 2), "no/such/dir.png: cannot create");
	CHECK_ERR(thaw_png_write(tpath("x.png"), img, 2, 2, 1), "1 or 3 channels");
}

static long file_size(const char *p)
{
	FILE *f = fopen(p, "rb");
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fclose(f);
	return n;
}

static void copy_prefix(const char *from, const char *to, long n)
{
	FILE *f = fopen(from, "rb"), *g = fopen(to, "wb");
	for (long i = 0; i < n; i++)
		fputc(fgetc(f), g);
	fclose(f);
	fclose(g);
}

static void test_bad_files(void)
{
	uint8_t img[64 * 64], *px = NULL;
	for (int i = 0; i < 64 * 64; i++)
		img[i] = (uint8_t)(i * 7 + i / 64);
	char good[512];
	snprintf(good, sizeof good, "%s", tpath("good.png"));
	CHECK_OK(thaw_png_write(good, img, 1, 64, 64));
	long n = file_size(good);
	int c, h, w;

	copy_prefix(good, tpath("trunc.png"), n / 2);
	CHECK_ERR(thaw_png_read(tpath("trunc.png"), &px, &c, &h, &w), "trunc.png: truncated file");
	CHECK(px == NULL);
	copy_prefix(good, tpath("hdr.png"), 20); /* inside IHDR */
	CHECK_ERR(thaw_png_read(tpath("hdr.png"), &px, &c, &h, &w), "hdr.png: truncated file");
	copy_prefix(good, tpath("sig.png"), 5);
	CHECK_ERR(thaw_png_read(tpath("sig.png"), &px, &c, &h, &w), "sig.png: not a PNG file");
	copy_prefix(good, tpath("empty.png"), 0);
	CHECK_ERR(thaw_png_read(tpath("empty.png"), &px, &c, &h, &w), "empty.png: not a PNG file");

	/* a flipped byte in the middle of the image data: zlib or the CRC check
	 * stops it; in IDAT's CRC itself (just before the 12-byte IEND): libpng
	 * names the chunk */
	long where[2] = {n / 2, n - 14};
	const char *want[2] = {"flip.png: ", "flip.png: IDAT: CRC error"};
	FILE *f;
	for (int k = 0; k < 2; k++) {
		copy_prefix(good, tpath("flip.png"), n);
		f = fopen(tpath("flip.png"), "r+b");
		fseek(f, where[k], SEEK_SET);
		int b = fgetc(f);
		fseek(f, where[k], SEEK_SET);
		fputc(b ^ 0x5a, f);
		fclose(f);
		CHECK_ERR(thaw_png_read(tpath("flip.png"), &px, &c, &h, &w), want[k]);
		CHECK(px == NULL);
	}

	/* a huge declared width: refused from the header, nothing allocated */
	copy_prefix(good, tpath("wide.png"), n);
	f = fopen(tpath("wide.png"), "r+b");
	fseek(f, 16, SEEK_SET); /* IHDR width */
	fputc(0x00, f), fputc(0x10, f), fputc(0x00, f), fputc(0x00, f);
	fclose(f);
	CHECK_ERR(thaw_png_read(tpath("wide.png"), &px, &c, &h, &w), "wide.png: ");
	CHECK(px == NULL);

	CHECK_ERR(thaw_png_read(tpath("missing.png"), &px, &c, &h, &w),
		  "missing.png: cannot open: No such file or directory");
	FILE *t = fopen(tpath("text.png"), "w");
	fputs("this is not an image at all\n", t);
	fclose(t);
	CHECK_ERR(thaw_png_read(tpath("text.png"), &px, &c, &h, &w), "text.png: not a PNG file");
}

int main(void)
{
	if (tmpdir_make("thaw_png") < 0)
		return 2;
	RUN(test_gray_low_depths);
	RUN(test_8_and_16_bit_types);
	RUN(test_palette);
	RUN(test_thaw_writer_round_trip);
	RUN(test_bad_files);
	tmpdir_remove();
	return check_done();
}
