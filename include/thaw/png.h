/* PNG reading and writing through libpng. Pixels are planar (C, H, W)
 * uint8, the layout of thaw's data store; the caller owns what read returns.
 * Every error names the file and the reason ("a.png: truncated file"). */
#ifndef THAW_PNG_H
#define THAW_PNG_H

#include <stddef.h>
#include <stdint.h>

/* Largest width or height accepted on read; an image of more than
 * THAW_IMAGE_MAX_PIXELS pixels (thaw/image.h) is refused too. */
#define THAW_PNG_MAX_DIM 16384

/* Reads any PNG: gray and gray+alpha give c = 1; RGB, RGBA and palette
 * give c = 3 (alpha is dropped, not composited); 1/2/4-bit samples are
 * expanded and 16-bit samples scaled to 8 bits. *pixels is (c, h, w),
 * freed with free(). Returns 0 or a negative THAW_E* code. */
int thaw_png_read(const char *path, uint8_t **pixels, int *c, int *h, int *w);
/* The same from len bytes in memory (borrowed); name stands for the file in
 * messages, NULL: "(memory)". */
int thaw_png_read_mem(const void *data, size_t len, const char *name, uint8_t **pixels, int *c, int *h, int *w);
/* Only the header: size and the channel count thaw_png_read would give. */
int thaw_png_info(const char *path, int *c, int *h, int *w);
/* Writes 8-bit gray (c = 1) or RGB (c = 3) from planar (c, h, w) pixels.
 * A failed write removes the partial file. */
int thaw_png_write(const char *path, const uint8_t *pixels, int c, int h, int w);

#endif
