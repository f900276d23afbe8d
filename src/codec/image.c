/* PNG or JPEG by the first bytes: a photo named .png or a PNG named .jpg
 * loads all the same. */
#include "thaw/image.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "thaw/core.h"
#include "thaw/png.h"

static int format_of(const unsigned char *b, size_t n, const char *name)
{
	if (n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8))
		return THAW_IMAGE_PNG;
	if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
		return THAW_IMAGE_JPEG;
	return thaw_error(THAW_EFORMAT, "%s: not a PNG or JPEG file%s", name, n ? "" : " (empty)");
}

int thaw_image_format(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return thaw_error(THAW_EIO, "%s: cannot open: %s", path, strerror(errno));
	unsigned char b[8] = {0};
	size_t n = fread(b, 1, sizeof b, f);
	fclose(f);
	return format_of(b, n, path);
}

int thaw_image_info(const char *path, int *c, int *h, int *w)
{
	int fmt = thaw_image_format(path);
	if (fmt < 0)
		return fmt;
	return fmt == THAW_IMAGE_PNG ? thaw_png_info(path, c, h, w) : thaw_jpeg_info(path, c, h, w);
}

int thaw_image_read(const char *path, int min_h, int min_w, uint8_t **pixels, int *c, int *h, int *w)
{
	*pixels = NULL;
	int fmt = thaw_image_format(path);
	if (fmt < 0)
		return fmt;
	if (fmt == THAW_IMAGE_PNG)
		return thaw_png_read(path, pixels, c, h, w);
	return thaw_jpeg_read(path, min_h, min_w, pixels, c, h, w);
}

int thaw_image_read_mem(const void *data, size_t len, const char *name, int min_h, int min_w, uint8_t **pixels,
			int *c, int *h, int *w)
{
	*pixels = NULL;
	name = name ? name : "(memory)";
	int fmt = format_of(data, data ? len : 0, name);
	if (fmt < 0)
		return fmt;
	if (fmt == THAW_IMAGE_PNG)
		return thaw_png_read_mem(data, len, name, pixels, c, h, w);
	return thaw_jpeg_read_mem(data, len, name, min_h, min_w, pixels, c, h, w);
}
