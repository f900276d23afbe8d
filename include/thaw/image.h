/* Image files as users have them: PNG (through libpng, see png.h) and JPEG
 * (through libjpeg-turbo), told apart by their first bytes, never by the
 * file name. Pixels are planar (C, H, W) uint8, the layout of thaw's data
 * store; the caller owns what a read returns and frees it with free().
 *
 *   uint8_t *px; int c, h, w;
 *   if (thaw_image_read("IMG_0001.JPG", 224, 224, &px, &c, &h, &w) < 0)
 *           puts(thaw_errmsg());   // "IMG_0001.JPG: Premature end of JPEG file"
 *   // 4000x3000 photo: decoded at 1/8 scale as 500x375 (>= 224 both ways)
 *
 * Every error names the file and the reason. */
#ifndef THAW_IMAGE_H
#define THAW_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* The pixel budget: an image whose decoded size (for JPEG: after DCT
 * scaling) has more pixels than this is refused before its pixels are
 * allocated; a forged header cannot make thaw allocate gigabytes. Pillow's
 * MAX_IMAGE_PIXELS, 2^30 / 4 / 3: a 16384x16384 PNG is refused, a 9000x9000
 * photo is not. */
#define THAW_IMAGE_MAX_PIXELS 89478485ll

enum { THAW_IMAGE_PNG = 1, THAW_IMAGE_JPEG = 2 };

/* THAW_IMAGE_PNG or THAW_IMAGE_JPEG from the file's first bytes; THAW_EIO
 * when it cannot be read, THAW_EFORMAT ("not a PNG or JPEG file") else. */
int thaw_image_format(const char *path);

/* Size and channels (1 gray, 3 colour) a full-size read would give; for
 * JPEG after its EXIF orientation (a portrait phone photo stored sideways
 * reports its upright size). */
int thaw_image_info(const char *path, int *c, int *h, int *w);

/* Reads a PNG or JPEG. min_h, min_w > 0 allow a reduced JPEG decode: the
 * smallest DCT scale n/8 (n = 1..8) whose upright result is at least
 * min_h x min_w, so a caller that will shrink the image anyway never holds
 * the full decode (PNG always decodes at full size). 0, 0: full size. */
int thaw_image_read(const char *path, int min_h, int min_w, uint8_t **pixels, int *c, int *h, int *w);
/* The same from len bytes in memory (borrowed); name stands for the file in
 * messages, NULL: "(memory)". So are the _mem functions below. */
int thaw_image_read_mem(const void *data, size_t len, const char *name, int min_h, int min_w, uint8_t **pixels,
			int *c, int *h, int *w);

/* ---- JPEG itself */

/* Baseline and progressive JPEG, gray (c = 1) or YCbCr/RGB (c = 3); CMYK
 * and YCCK are refused. EXIF orientation 2..8 is applied, so pixels and
 * sizes are upright. A file that ends early is an error (not gray rows).
 * min_h, min_w as for thaw_image_read. */
int thaw_jpeg_read(const char *path, int min_h, int min_w, uint8_t **pixels, int *c, int *h, int *w);
int thaw_jpeg_info(const char *path, int *c, int *h, int *w);
int thaw_jpeg_read_mem(const void *data, size_t len, const char *name, int min_h, int min_w, uint8_t **pixels,
		       int *c, int *h, int *w);

#define THAW_JPEG_QUALITY 90
/* Writes gray (c = 1) or RGB (c = 3) planar pixels; quality 1..100 (0:
 * THAW_JPEG_QUALITY); progressive != 0 writes a progressive JPEG. A failed
 * write removes the partial file. */
int thaw_jpeg_write(const char *path, const uint8_t *pixels, int c, int h, int w, int quality,
		    int progressive);

#endif
