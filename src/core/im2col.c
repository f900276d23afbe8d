/* im2col / col2im for 2-D convolution with stride, padding and dilation.
 * Rows of col are (channel, ky, kx); columns are output pixels. */
#include "thaw/blas.h"

#include <string.h>

void thaw_im2col(float *col, int ldc, const float *im, const thaw_conv_geom *g)
{
	const int oh = g->oh, ow = g->ow, h = g->h, w = g->w;
	for (int c = 0; c < g->c; c++) {
		const float *src = im + (size_t)c * h * w;
		for (int ky = 0; ky < g->kh; ky++) {
			for (int kx = 0; kx < g->kw; kx++) {
				float *dst = col + (size_t)((c * g->kh + ky) * g->kw + kx) * ldc;
				int dy = ky * g->dh - g->ph, dx = kx * g->dw - g->pw;
				for (int oy = 0; oy < oh; oy++) {
					int iy = oy * g->sh + dy;
					float *d = dst + (size_t)oy * ow;
					if (iy < 0 || iy >= h) {
						memset(d, 0, sizeof(float) * ow);
						continue;
					}
					const float *s = src + (size_t)iy * w;
					if (g->sw == 1) {
						/* contiguous run: zero the edges, copy the middle */
						int x0 = dx < 0 ? -dx : 0;
						int x1 = w - dx < ow ? w - dx : ow;
						if (x1 < x0)
							x1 = x0;
						for (int ox = 0; ox < x0; ox++)
							d[ox] = 0;
						if (x1 > x0)
							memcpy(d + x0, s + x0 + dx, sizeof(float) * (x1 - x0));
						for (int ox = x1; ox < ow; ox++)
							d[ox] = 0;
					} else {
						for (int ox = 0; ox < ow; ox++) {
							int ix = ox * g->sw + dx;
							d[ox] = (ix >= 0 && ix < w) ? s[ix] : 0.0f;
						}
					}
				}
			}
		}
	}
}

void thaw_col2im(float *im, const float *col, int ldc, const thaw_conv_geom *g)
{
	const int oh = g->oh, ow = g->ow, h = g->h, w = g->w;
	for (int c = 0; c < g->c; c++) {
		float *dst = im + (size_t)c * h * w;
		for (int ky = 0; ky < g->kh; ky++) {
			for (int kx = 0; kx < g->kw; kx++) {
				const float *src = col + (size_t)((c * g->kh + ky) * g->kw + kx) * ldc;
				int dy = ky * g->dh - g->ph, dx = kx * g->dw - g->pw;
				for (int oy = 0; oy < oh; oy++) {
					int iy = oy * g->sh + dy;
					if (iy < 0 || iy >= h)
						continue;
					const float *s = src + (size_t)oy * ow;
					float *d = dst + (size_t)iy * w;
					for (int ox = 0; ox < ow; ox++) {
						int ix = ox * g->sw + dx;
						if (ix >= 0 && ix < w)
							d[ix] += s[ox];
					}
				}
			}
		}
	}
}
