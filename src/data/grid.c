/* The sample grid: one row of images per class, the class name on the left
 * drawn with thaw's built-in 5x8 bitmap font (thaw/font.h). */
#include "thaw/data.h"

#include <stdlib.h>
#include <string.h>

#include "thaw/font.h"
#include "thaw/png.h"

#define GLYPH_W THAW_GLYPH_ADVANCE
#define GLYPH_H THAW_GLYPH_H
#define LABEL_CHARS 14
#define GAP 2

int thaw_dataset_grid_png(const thaw_dataset *d, const char *path, int per_row, uint64_t seed)
{
	if (d->ids)
		return thaw_error(THAW_EINVAL, "%s: %s holds text, not images to draw", path, d->source);
	if (per_row <= 0 || per_row > 1000)
		return thaw_error(THAW_EINVAL, "%s: images per row must be 1..1000, not %d", path, per_row);
	if (d->n_classes > 10000 || d->h > 4096 || d->w > 4096)
		return thaw_error(THAW_EINVAL, "%s: too large a grid (%d classes of %dx%d)", path,
				  d->n_classes, d->h, d->w);
	int oc = d->c == 1 ? 1 : 3;
	int label_w = LABEL_CHARS * GLYPH_W + 2 * GAP;
	int cell_h = (d->h > GLYPH_H ? d->h : GLYPH_H) + GAP;
	int W = label_w + per_row * (d->w + GAP) + GAP;
	int H = d->n_classes * cell_h + GAP;
	if ((size_t)W * H * oc > ((size_t)1 << 30))
		return thaw_error(THAW_EINVAL, "%s: grid of %dx%d pixels is too large", path, W, H);
	size_t plane = (size_t)H * W;
	uint8_t *img = thaw_calloc(plane * oc, 1);
	int *pick = thaw_malloc(sizeof(int) * (size_t)(d->n ? d->n : 1));
	if (!img || !pick) {
		free(img);
		free(pick);
		return THAW_ENOMEM;
	}
	/* background a dark gray so black image borders stay visible */
	memset(img, 40, plane * oc);
	static const uint8_t white[3] = {255, 255, 255};
	thaw_font_target label = {img, oc, W, H, 0, 0, W, H, white};
	thaw_rng r;
	thaw_rng_seed(&r, seed);
	size_t sp = (size_t)d->h * d->w;
	for (int k = 0; k < d->n_classes; k++) {
		int n = 0;
		for (int i = 0; i < d->n; i++)
			if (d->y[i] == k)
				pick[n++] = i;
		/* partial Fisher-Yates: the first per_row entries are a seeded sample */
		for (int i = 0; i < n && i < per_row; i++) {
			int j = i + (int)thaw_rng_below(&r, (uint32_t)(n - i));
			int t = pick[i];
			pick[i] = pick[j];
			pick[j] = t;
		}
		int y0 = GAP + k * cell_h;
		thaw_font_draw(&label, GAP, y0 + (d->h - GLYPH_H) / 2, d->class_names[k], LABEL_CHARS, 1, 0);
		for (int j = 0; j < per_row && j < n; j++) {
			const uint8_t *src = thaw_dataset_image(d, pick[j]);
			int x0 = label_w + j * (d->w + GAP);
			for (int ch = 0; ch < oc; ch++) {
				const uint8_t *s = src + (size_t)(d->c == 1 ? 0 : (ch < d->c ? ch : 0)) * sp;
				for (int y = 0; y < d->h; y++)
					memcpy(img + ch * plane + (size_t)(y0 + y) * W + x0, s + (size_t)y * d->w,
					       (size_t)d->w);
			}
		}
	}
	int rc = thaw_png_write(path, img, oc, H, W);
	free(img);
	free(pick);
	return rc;
}
