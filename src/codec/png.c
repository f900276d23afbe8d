/* PNG read/write through libpng. libpng reports errors by longjmp; the
 * handlers below keep its message so the caller's error says why. */
#include "thaw/png.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>

#include "thaw/atomic.h"
#include "thaw/core.h"
#include "thaw/image.h"

/* The source is a FILE (write, and read from a file) or bytes in memory. */
typedef struct pngctx {
	FILE *f;
	const uint8_t *buf;
	size_t len, pos;
	uint64_t size; /* of the whole file: bounds what its header may claim */
	char msg[256];
} pngctx;

static void on_error(png_structp p, png_const_charp msg)
{
	int e = errno; /* libpng's "Write Error" comes straight after fwrite failed */
	pngctx *ctx = png_get_error_ptr(p);
	if (ctx && !ctx->msg[0] && !strcmp(msg, "Write Error") && e)
		snprintf(ctx->msg, sizeof ctx->msg, "write failed: %s (the previous file is untouched)", strerror(e));
	else if (ctx && !ctx->msg[0])
		snprintf(ctx->msg, sizeof ctx->msg, "%s", msg);
	png_longjmp(p, 1);
}

static void on_warning(png_structp p, png_const_charp msg)
{
	(void)p;
	(void)msg; /* warnings (bad gamma chunks, say) do not stop a read */
}

/* Our own read function so a short file says "truncated" rather than
 * libpng's generic "Read Error". */
static void on_read(png_structp p, png_bytep data, size_t len)
{
	pngctx *ctx = png_get_io_ptr(p);
	if (!ctx->f) {
		if (len > ctx->len - ctx->pos) {
			snprintf(ctx->msg, sizeof ctx->msg, "truncated file");
			png_longjmp(p, 1);
		}
		memcpy(data, ctx->buf + ctx->pos, len);
		ctx->pos += len;
		return;
	}
	if (fread(data, 1, len, ctx->f) != len) {
		snprintf(ctx->msg, sizeof ctx->msg, "%s",
			 ferror(ctx->f) ? "read error" : "truncated file");
		png_longjmp(p, 1);
	}
}

static void close_src(pngctx *ctx)
{
	if (ctx->f)
		fclose(ctx->f);
	ctx->f = NULL;
}

/* Opens the file, or takes the bytes when path is NULL, and checks the
 * signature. */
static int open_png(const char *path, const void *data, size_t len, const char *name, pngctx *ctx)
{
	memset(ctx, 0, sizeof *ctx);
	unsigned char sig[8];
	size_t got;
	if (path) {
		ctx->f = fopen(path, "rb");
		if (!ctx->f)
			return thaw_error(THAW_EIO, "%s: cannot open: %s", name, strerror(errno));
		struct stat sb;
		ctx->size = fstat(fileno(ctx->f), &sb) == 0 ? (uint64_t)sb.st_size : UINT64_MAX / 2048;
		got = fread(sig, 1, 8, ctx->f);
	} else {
		ctx->buf = data;
		ctx->len = data ? len : 0;
		ctx->size = ctx->len;
		got = ctx->len < 8 ? ctx->len : 8;
		if (got)
			memcpy(sig, data, got);
		ctx->pos = got;
	}
	if (got < 8 || png_sig_cmp(sig, 0, 8)) {
		close_src(ctx);
		return thaw_error(THAW_EFORMAT, "%s: not a PNG file (bad signature)", name);
	}
	return 0;
}

/* Sets the transforms that reduce any PNG to 8-bit gray or RGB; returns the
 * resulting channel count. */
static int set_transforms(png_structp p, png_infop info)
{
	int ct = png_get_color_type(p, info);
	int depth = png_get_bit_depth(p, info);
	if (ct == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(p);
	if (ct == PNG_COLOR_TYPE_GRAY && depth < 8)
		png_set_expand_gray_1_2_4_to_8(p);
	if (depth == 16)
		png_set_scale_16(p);
	/* palette expansion turns a tRNS chunk into alpha; strip that too */
	if ((ct & PNG_COLOR_MASK_ALPHA) || png_get_valid(p, info, PNG_INFO_tRNS))
		png_set_strip_alpha(p);
	png_set_interlace_handling(p);
	png_read_update_info(p, info);
	return (ct & PNG_COLOR_MASK_COLOR) || ct == PNG_COLOR_TYPE_PALETTE ? 3 : 1;
}

/* Reads the file at path, or len bytes at data when path is NULL; name is
 * the source in messages. */
static int read_impl(const char *path, const void *data, size_t len, const char *name, uint8_t **pixels,
		     int *pc, int *ph, int *pw, int header_only)
{
	pngctx ctx;
	int rc = open_png(path, data, len, name, &ctx);
	if (rc < 0)
		return rc;
	png_structp p = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, on_error, on_warning);
	png_infop info = p ? png_create_info_struct(p) : NULL;
	/* volatile: assigned after setjmp and read after a longjmp */
	uint8_t *volatile hwc = NULL;
	png_bytep *volatile rows = NULL;
	uint8_t *volatile out = NULL;
	if (!info) {
		png_destroy_read_struct(&p, NULL, NULL);
		close_src(&ctx);
		return thaw_error(THAW_ENOMEM, "%s: out of memory for the PNG reader", name);
	}
	if (setjmp(png_jmpbuf(p))) {
		png_destroy_read_struct(&p, &info, NULL);
		close_src(&ctx);
		free(hwc);
		free(rows);
		free(out);
		return thaw_error(THAW_EFORMAT, "%s: %s", name, ctx.msg[0] ? ctx.msg : "corrupt PNG");
	}
	png_set_read_fn(p, &ctx, on_read);
	png_set_sig_bytes(p, 8);
	png_set_user_limits(p, THAW_PNG_MAX_DIM, THAW_PNG_MAX_DIM);
	png_read_info(p, info);
	int w = (int)png_get_image_width(p, info), h = (int)png_get_image_height(p, info);
	if ((uint64_t)w * h > THAW_IMAGE_MAX_PIXELS) {
		snprintf(ctx.msg, sizeof ctx.msg,
			 "image is %dx%d, %llu pixels, more than thaw's limit of %lld (a decompression "
			 "bomb?)",
			 w, h, (unsigned long long)w * h, THAW_IMAGE_MAX_PIXELS);
		png_longjmp(p, 1);
	}
	/* A forged IHDR can claim 16384x16384 in a few hundred bytes; deflate
	 * expands at most ~1032:1, so compare the filtered data it implies with
	 * the file's length before anything is sized from it. */
	uint64_t raw = (uint64_t)h * (1 + ((uint64_t)w * png_get_channels(p, info) *
					   png_get_bit_depth(p, info) + 7) / 8);
	if (raw > 1032 * (ctx.size + 64)) {
		snprintf(ctx.msg, sizeof ctx.msg,
			 "header says %dx%d, which needs %llu bytes of image data; the file's %lld "
			 "bytes cannot hold that (truncated or corrupt)",
			 w, h, (unsigned long long)raw, (long long)ctx.size);
		png_longjmp(p, 1);
	}
	int c = set_transforms(p, info);
	size_t rowbytes = png_get_rowbytes(p, info);
	if (rowbytes != (size_t)w * c) {
		snprintf(ctx.msg, sizeof ctx.msg, "unexpected row size %zu for %dx%d with %d channels",
			 rowbytes, w, h, c);
		png_longjmp(p, 1);
	}
	*pc = c, *ph = h, *pw = w;
	if (header_only) {
		png_destroy_read_struct(&p, &info, NULL);
		close_src(&ctx);
		return 0;
	}
	size_t total = (size_t)w * h * c; /* w, h <= 16384 by the user limits: no overflow */
	hwc = malloc(total);
	rows = malloc(sizeof(png_bytep) * (size_t)h);
	out = malloc(total);
	if (!hwc || !rows || !out) {
		snprintf(ctx.msg, sizeof ctx.msg, "out of memory (%zu bytes)", total);
		png_longjmp(p, 1);
	}
	for (int i = 0; i < h; i++)
		rows[i] = hwc + (size_t)i * rowbytes;
	png_read_image(p, rows);
	png_read_end(p, NULL);
	png_destroy_read_struct(&p, &info, NULL);
	close_src(&ctx);
	for (int ch = 0; ch < c; ch++) {
		uint8_t *o = out + (size_t)ch * h * w;
		const uint8_t *s = hwc + ch;
		for (size_t i = 0; i < (size_t)h * w; i++)
			o[i] = s[i * c];
	}
	free(hwc);
	free(rows);
	*pixels = out;
	return 0;
}

int thaw_png_read(const char *path, uint8_t **pixels, int *c, int *h, int *w)
{
	*pixels = NULL;
	if (!path)
		return thaw_error(THAW_EINVAL, "png: no path");
	return read_impl(path, NULL, 0, path, pixels, c, h, w, 0);
}

int thaw_png_read_mem(const void *data, size_t len, const char *name, uint8_t **pixels, int *c, int *h, int *w)
{
	*pixels = NULL;
	return read_impl(NULL, data, len, name ? name : "(memory)", pixels, c, h, w, 0);
}

int thaw_png_info(const char *path, int *c, int *h, int *w)
{
	if (!path)
		return thaw_error(THAW_EINVAL, "png: no path");
	return read_impl(path, NULL, 0, path, NULL, c, h, w, 1);
}

int thaw_png_write(const char *path, const uint8_t *pixels, int c, int h, int w)
{
	if (c != 1 && c != 3)
		return thaw_error(THAW_EINVAL, "%s: can write 1 or 3 channels, not %d", path, c);
	if (h <= 0 || w <= 0 || h > THAW_PNG_MAX_DIM * 4 || w > THAW_PNG_MAX_DIM * 4)
		return thaw_error(THAW_EINVAL, "%s: bad image size %dx%d", path, h, w);
	pngctx ctx;
	memset(&ctx, 0, sizeof ctx);
	thaw_atomic a;
	FILE *f = thaw_atomic_open(&a, path);
	if (!f)
		return THAW_EIO;
	png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, on_error, on_warning);
	png_infop info = p ? png_create_info_struct(p) : NULL;
	uint8_t *volatile row = NULL;
	if (!info) {
		png_destroy_write_struct(&p, NULL);
		thaw_atomic_abort(&a);
		return thaw_error(THAW_ENOMEM, "%s: out of memory for the PNG writer", path);
	}
	if (setjmp(png_jmpbuf(p))) {
		png_destroy_write_struct(&p, &info);
		thaw_atomic_abort(&a);
		free(row);
		return thaw_error(THAW_EIO, "%s: %s", path, ctx.msg[0] ? ctx.msg : "write failed");
	}
	png_init_io(p, f);
	png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, 8,
		     c == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(p, info);
	row = malloc((size_t)w * c);
	if (!row) {
		snprintf(ctx.msg, sizeof ctx.msg, "out of memory");
		png_longjmp(p, 1);
	}
	size_t plane = (size_t)h * w;
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++)
			for (int ch = 0; ch < c; ch++)
				row[(size_t)x * c + ch] = pixels[ch * plane + (size_t)y * w + x];
		png_write_row(p, row);
	}
	png_write_end(p, NULL);
	png_destroy_write_struct(&p, &info);
	free(row);
	return thaw_atomic_commit(&a);
}
