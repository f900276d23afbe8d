/* JPEG read/write through libjpeg-turbo. libjpeg's default error handler
 * prints and calls exit(); ours keeps the message and longjmps back, so
 * every failure becomes a thaw error naming the file. A file that ends
 * early is an error too: libjpeg would only warn and fill the rest gray.
 *
 * Before any pixels are allocated a read checks what the header claims:
 * the decoded size (after DCT scaling) against THAW_IMAGE_MAX_PIXELS, and
 * the blocks it implies against the file's length (Huffman coding spends
 * at least one bit per block), so a forged SOF in a few hundred bytes
 * cannot ask for gigabytes. libjpeg's own allocations are capped as well. */
#include "thaw/image.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jerror.h>
#include <jpeglib.h>

#include "thaw/atomic.h"
#include "thaw/core.h"

/* libjpeg's working memory at most (a progressive decode keeps every DCT
 * coefficient of the full-size image: 2 bytes a sample) */
#define JPEG_MEM_LIMIT (4 * THAW_IMAGE_MAX_PIXELS)

typedef struct jerr {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
	int code; /* THAW_E* the longjmp stands for */
	char msg[JMSG_LENGTH_MAX + 200];
} jerr;

static void on_error_exit(j_common_ptr ci)
{
	jerr *e = (jerr *)ci->err;
	if (!e->msg[0]) {
		ci->err->format_message(ci, e->msg);
		if (ci->err->msg_code == JERR_OUT_OF_MEMORY || ci->err->msg_code == JERR_NO_BACKING_STORE)
			e->code = THAW_ENOMEM;
	}
	longjmp(e->jb, 1);
}

static void on_emit(j_common_ptr ci, int level)
{
	if (level >= 0)
		return; /* trace messages */
	ci->err->num_warnings++;
	/* a truncated file would decode as gray rows; refuse it, as Pillow does */
	if (ci->err->msg_code == JWRN_JPEG_EOF)
		on_error_exit(ci);
}

static void on_output(j_common_ptr ci) { (void)ci; /* library code never prints */ }

static void init_err(jerr *e)
{
	memset(e, 0, sizeof *e);
	jpeg_std_error(&e->pub);
	e->pub.error_exit = on_error_exit;
	e->pub.emit_message = on_emit;
	e->pub.output_message = on_output;
	e->code = THAW_EFORMAT;
}

static unsigned get16(const uint8_t *p, int le) { return le ? p[0] | p[1] << 8 : p[0] << 8 | p[1]; }
static uint32_t get32(const uint8_t *p, int le)
{
	return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
		  : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The EXIF orientation tag (0x0112) of IFD0 in an APP1 "Exif" segment:
 * 1..8, or 1 when absent or unreadable (a bad EXIF block is not worth
 * refusing the photo over). */
static int exif_orientation(jpeg_saved_marker_ptr m)
{
	for (; m; m = m->next) {
		if (m->marker != JPEG_APP0 + 1 || m->data_length < 6 + 8 || memcmp(m->data, "Exif\0\0", 6))
			continue;
		const uint8_t *t = m->data + 6; /* the TIFF header */
		size_t n = m->data_length - 6;
		int le = t[0] == 'I' && t[1] == 'I';
		if (!le && !(t[0] == 'M' && t[1] == 'M'))
			return 1;
		if (get16(t + 2, le) != 42)
			return 1;
		uint32_t ifd = get32(t + 4, le);
		if (ifd < 8 || ifd > n - 2)
			return 1;
		unsigned count = get16(t + ifd, le);
		for (unsigned i = 0; i < count; i++) {
			size_t e = ifd + 2 + (size_t)12 * i;
			if (e + 12 > n)
				return 1;
			if (get16(t + e, le) != 0x0112)
				continue;
			/* SHORT, count 1, the value left-justified in the 4-byte field */
			unsigned v = get16(t + e + 8, le);
			return get16(t + e + 2, le) == 3 && get32(t + e + 4, le) >= 1 && v >= 1 && v <= 8 ? (int)v
													  : 1;
		}
		return 1;
	}
	return 1;
}

/* Where stored pixel (y, x) of an H x W decode lands in the upright image:
 * offset a + y*sy + x*sx (orientations 5..8 swap the axes). */
static void orient_steps(int o, int H, int W, ptrdiff_t *a, ptrdiff_t *sy, ptrdiff_t *sx)
{
	ptrdiff_t h = H, w = W;
	switch (o) {
	case 2: *a = w - 1, *sy = w, *sx = -1; break;                 /* mirror left-right */
	case 3: *a = (h - 1) * w + w - 1, *sy = -w, *sx = -1; break;  /* rotate 180 */
	case 4: *a = (h - 1) * w, *sy = -w, *sx = 1; break;           /* mirror top-bottom */
	case 5: *a = 0, *sy = 1, *sx = h; break;                      /* transpose */
	case 6: *a = h - 1, *sy = -1, *sx = h; break;                 /* rotate 90 clockwise */
	case 7: *a = (w - 1) * h + h - 1, *sy = -1, *sx = -h; break;  /* transverse */
	case 8: *a = (w - 1) * h, *sy = 1, *sx = -h; break;           /* rotate 90 anticlockwise */
	default: *a = 0, *sy = w, *sx = 1; break;
	}
}

/* Huffman coding spends at least one bit per block of every component (the
 * DC code of the first scan), so the header's size must fit in the file.
 * Arithmetic coding (rare in the wild) can go below that on flat images;
 * it is held to one bit per 8 blocks, which any photograph exceeds. */
static void check_length(j_decompress_ptr ci, uint64_t size, jerr *err)
{
	uint64_t blocks = 0, per_byte = ci->arith_code ? 64 : 8;
	for (int i = 0; i < ci->num_components; i++)
		blocks += (uint64_t)ci->comp_info[i].width_in_blocks * ci->comp_info[i].height_in_blocks;
	if (blocks > per_byte * size) {
		snprintf(err->msg, sizeof err->msg,
			 "header says %ux%u, which needs at least %llu bytes of image data; the file's "
			 "%lld bytes cannot hold that (truncated or corrupt)",
			 ci->image_width, ci->image_height, (unsigned long long)(blocks / per_byte),
			 (long long)size);
		longjmp(err->jb, 1);
	}
}

/* Where a read takes its bytes from: an open file or memory. */
typedef struct jsrc {
	FILE *f;
	const void *data;
	size_t n;
	uint64_t size; /* of the whole file: bounds what its header may claim */
	const char *name;
} jsrc;

/* Decodes from s; pixels NULL: the header only. */
static int decode(const jsrc *s, int min_h, int min_w, uint8_t **pixels, int *pc, int *ph, int *pw)
{
	struct jpeg_decompress_struct ci;
	jerr err;
	/* volatile: assigned after setjmp and read after a longjmp */
	uint8_t *volatile out = NULL;
	JSAMPLE *volatile row = NULL;
	memset(&ci, 0, sizeof ci);
	init_err(&err);
	ci.err = &err.pub;
	if (setjmp(err.jb)) {
		jpeg_destroy_decompress(&ci);
		free(out);
		free(row);
		return thaw_error(err.code, "%s: %s", s->name, err.msg[0] ? err.msg : "corrupt JPEG");
	}
	jpeg_create_decompress(&ci);
	ci.mem->max_memory_to_use = JPEG_MEM_LIMIT;
	if (s->f)
		jpeg_stdio_src(&ci, s->f);
	else if (s->n)
		jpeg_mem_src(&ci, s->data, (unsigned long)s->n);
	else
		ERREXIT(&ci, JERR_INPUT_EMPTY); /* as jpeg_mem_src would */
	jpeg_save_markers(&ci, JPEG_APP0 + 1, 0xffff);
	jpeg_read_header(&ci, TRUE);
	int c;
	switch (ci.jpeg_color_space) {
	case JCS_GRAYSCALE:
		c = 1;
		ci.out_color_space = JCS_GRAYSCALE;
		break;
	case JCS_YCbCr:
	case JCS_RGB:
		c = 3;
		ci.out_color_space = JCS_RGB;
		break;
	case JCS_CMYK:
	case JCS_YCCK:
		snprintf(err.msg, sizeof err.msg,
			 "%s JPEG (print colours): thaw reads gray and RGB JPEGs; convert it to RGB first",
			 ci.jpeg_color_space == JCS_CMYK ? "CMYK" : "YCCK");
		longjmp(err.jb, 1);
	default:
		snprintf(err.msg, sizeof err.msg, "JPEG with %d colour components in an unknown colour space",
			 ci.num_components);
		longjmp(err.jb, 1);
	}
	unsigned W = ci.image_width, H = ci.image_height;
	int orient = exif_orientation(ci.marker_list);
	int swap = orient >= 5;
	if (!pixels) { /* header only */
		check_length(&ci, s->size, &err);
		*pc = c, *ph = (int)(swap ? W : H), *pw = (int)(swap ? H : W);
		jpeg_destroy_decompress(&ci);
		return 0;
	}
	/* the smallest n/8 scale reaching the size wanted, in stored orientation */
	int mh = swap ? min_w : min_h, mw = swap ? min_h : min_w;
	ci.scale_denom = 8;
	for (int n = 1; n <= 8; n++) {
		ci.scale_num = (unsigned)n;
		jpeg_calc_output_dimensions(&ci);
		if ((mh > 0 || mw > 0) && ci.output_height >= (unsigned)mh && ci.output_width >= (unsigned)mw)
			break;
	}
	unsigned oh = ci.output_height, ow = ci.output_width;
	if ((uint64_t)oh * ow > THAW_IMAGE_MAX_PIXELS) {
		snprintf(err.msg, sizeof err.msg,
			 "image is %ux%u; decoding it %s gives %llu pixels, more than thaw's limit of %lld "
			 "(a decompression bomb?)",
			 W, H, ci.scale_num == 8 ? "at full size" : "scaled down", (unsigned long long)oh * ow,
			 THAW_IMAGE_MAX_PIXELS);
		longjmp(err.jb, 1);
	}
	check_length(&ci, s->size, &err);
	size_t plane = (size_t)oh * ow;
	out = malloc(plane * (size_t)c);
	row = malloc((size_t)ow * (size_t)c);
	if (!out || !row) {
		snprintf(err.msg, sizeof err.msg, "out of memory (%zu bytes)", plane * (size_t)c);
		err.code = THAW_ENOMEM;
		longjmp(err.jb, 1);
	}
	jpeg_start_decompress(&ci);
	if (ci.output_components != c || ci.output_height != oh || ci.output_width != ow) {
		snprintf(err.msg, sizeof err.msg, "decoder gave %dx%u x%d, expected %ux%u x%d",
			 ci.output_components, ci.output_height, ci.output_width, oh, ow, c);
		longjmp(err.jb, 1);
	}
	ptrdiff_t a, sy, sx;
	orient_steps(orient, (int)oh, (int)ow, &a, &sy, &sx);
	while (ci.output_scanline < oh) {
		ptrdiff_t y = ci.output_scanline;
		JSAMPROW rp = row;
		if (jpeg_read_scanlines(&ci, &rp, 1) != 1) {
			snprintf(err.msg, sizeof err.msg, "decoder stopped at row %td of %u", y, oh);
			longjmp(err.jb, 1);
		}
		for (int ch = 0; ch < c; ch++) {
			uint8_t *o = out + (size_t)ch * plane + a + y * sy;
			const JSAMPLE *s = row + ch;
			for (ptrdiff_t x = 0; x < (ptrdiff_t)ow; x++)
				o[x * sx] = s[x * c];
		}
	}
	jpeg_finish_decompress(&ci);
	jpeg_destroy_decompress(&ci);
	free(row);
	*pixels = out;
	*pc = c, *ph = (int)(swap ? ow : oh), *pw = (int)(swap ? oh : ow);
	return 0;
}

/* Reads the file at path, or len bytes at data when path is NULL; name is
 * the source in messages. */
static int read_impl(const char *path, const void *data, size_t len, const char *name, int min_h,
		     int min_w, uint8_t **pixels, int *pc, int *ph, int *pw)
{
	jsrc s = {NULL, data, data ? len : 0, data ? len : 0, name};
	if (path) {
		s.f = fopen(path, "rb");
		if (!s.f)
			return thaw_error(THAW_EIO, "%s: cannot open: %s", name, strerror(errno));
		struct stat sb;
		s.size = fstat(fileno(s.f), &sb) == 0 ? (uint64_t)sb.st_size : UINT64_MAX / 64;
	}
	int rc = decode(&s, min_h, min_w, pixels, pc, ph, pw);
	if (s.f)
		fclose(s.f);
	return rc;
}

int thaw_jpeg_read(const char *path, int min_h, int min_w, uint8_t **pixels, int *c, int *h, int *w)
{
	*pixels = NULL;
	if (!path)
		return thaw_error(THAW_EINVAL, "jpeg: no path");
	int rc = read_impl(path, NULL, 0, path, min_h, min_w, pixels, c, h, w);
	if (rc < 0)
		*pixels = NULL;
	return rc;
}

int thaw_jpeg_read_mem(const void *data, size_t len, const char *name, int min_h, int min_w, uint8_t **pixels,
		       int *c, int *h, int *w)
{
	*pixels = NULL;
	int rc = read_impl(NULL, data, len, name ? name : "(memory)", min_h, min_w, pixels, c, h, w);
	if (rc < 0)
		*pixels = NULL;
	return rc;
}

int thaw_jpeg_info(const char *path, int *c, int *h, int *w)
{
	if (!path)
		return thaw_error(THAW_EINVAL, "jpeg: no path");
	return read_impl(path, NULL, 0, path, 0, 0, NULL, c, h, w);
}

int thaw_jpeg_write(const char *path, const uint8_t *pixels, int c, int h, int w, int quality,
		    int progressive)
{
	if (c != 1 && c != 3)
		return thaw_error(THAW_EINVAL, "%s: can write 1 or 3 channels as JPEG, not %d", path, c);
	if (h <= 0 || w <= 0 || h > JPEG_MAX_DIMENSION || w > JPEG_MAX_DIMENSION)
		return thaw_error(THAW_EINVAL, "%s: bad JPEG size %dx%d", path, h, w);
	if (quality < 0 || quality > 100)
		return thaw_error(THAW_EINVAL, "%s: JPEG quality %d is not 1..100", path, quality);
	const volatile int q = quality ? quality : THAW_JPEG_QUALITY;
	thaw_atomic a;
	FILE *f = thaw_atomic_open(&a, path);
	if (!f)
		return THAW_EIO;
	struct jpeg_compress_struct ci;
	jerr err;
	JSAMPLE *volatile row = NULL;
	memset(&ci, 0, sizeof ci);
	init_err(&err);
	err.code = THAW_EIO;
	ci.err = &err.pub;
	if (setjmp(err.jb)) {
		jpeg_destroy_compress(&ci);
		thaw_atomic_abort(&a);
		free(row);
		return thaw_error(err.code, "%s: %s", path, err.msg[0] ? err.msg : "write failed");
	}
	jpeg_create_compress(&ci);
	jpeg_stdio_dest(&ci, f);
	ci.image_width = (JDIMENSION)w;
	ci.image_height = (JDIMENSION)h;
	ci.input_components = c;
	ci.in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_set_defaults(&ci);
	jpeg_set_quality(&ci, q, TRUE);
	if (progressive)
		jpeg_simple_progression(&ci);
	row = malloc((size_t)w * c);
	if (!row) {
		snprintf(err.msg, sizeof err.msg, "out of memory");
		err.code = THAW_ENOMEM;
		longjmp(err.jb, 1);
	}
	jpeg_start_compress(&ci, TRUE);
	size_t plane = (size_t)h * w;
	while (ci.next_scanline < ci.image_height) {
		size_t y = ci.next_scanline;
		for (int x = 0; x < w; x++)
			for (int ch = 0; ch < c; ch++)
				row[(size_t)x * c + ch] = pixels[ch * plane + y * w + x];
		JSAMPROW rp = row;
		jpeg_write_scanlines(&ci, &rp, 1);
	}
	jpeg_finish_compress(&ci);
	jpeg_destroy_compress(&ci);
	free(row);
	return thaw_atomic_commit(&a);
}
