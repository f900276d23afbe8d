/* im2col / col2im for 2-D convolution with stride, padding and dilation.
 * Rows of col are (channel, ky, kx); columns are output pixels. For each
 * (row, oy) the output columns whose input pixel lies inside the image form
 * one interval [x0, x1), computed once, so the inner loops carry no bounds
 * tests and vectorize (a contiguous copy / add when the stride is 1). */
#include "thaw/blas.h"

#include <stddef.h>
#include <string.h>

/* d[i] += s[i]. Kept scalar on purpose: the rows of neighbouring taps
 * overlap shifted by one pixel, and vector stores followed by misaligned
 * vector loads of the same bytes stall store forwarding (measured 1.6x
 * slower on the reference CNN's conv2). */
static void add_to(float *restrict d, const float *restrict s, int n)
{
	for (int i = 0; i < n; i++)
		d[i] += s[i];
}

/* Output columns ox with 0 <= ox*s + off < w, as [*x0, *x1). */
static void valid_range(int off, int s, int w, int ow, int *x0, int *x1)
{
	int a = off < 0 ? (-off + s - 1) / s : 0;
	int b = w - off <= 0 ? 0 : (w - off + s - 1) / s; /* first ox with ox*s+off >= w */
	if (b > ow)
		b = ow;
	if (a > b)
		a = b;
	*x0 = a;
	*x1 = b;
}

/* Stride 1 and ow == w ("same" width): the row of col for one tap is the
 * image shifted by dy*w + dx, so the valid rows move as ONE copy; then the
 * columns that wrapped around a row edge, and the rows outside the image,
 * are zeroed. d (oh, w) <- s (h, w). */
static void shifted_copy(float *d, const float *s, int dy, int dx, int x0, int x1, int h, int w, int oh)
{
	int oy0 = dy < 0 ? -dy : 0, oy1 = h - dy < oh ? h - dy : oh;
	if (oy0 > oh)
		oy0 = oh;
	if (oy1 < oy0)
		oy1 = oy0;
	memset(d, 0, sizeof(float) * (size_t)oy0 * w);
	memset(d + (size_t)oy1 * w, 0, sizeof(float) * (size_t)(oh - oy1) * w);
	if (oy1 == oy0)
		return;
	/* d[j] = s[j + dy*w + dx] for j in the valid rows, trimmed by |dx| at the
	 * end that would read outside the image (those are edge columns) */
	ptrdiff_t j0 = (ptrdiff_t)oy0 * w + (dx < 0 ? -dx : 0), j1 = (ptrdiff_t)oy1 * w - (dx > 0 ? dx : 0);
	if (j1 > j0) /* signed: a dilated tap can lie wholly beyond the row */
		memcpy(d + j0, s + j0 + (ptrdiff_t)dy * w + dx, sizeof(float) * (size_t)(j1 - j0));
	for (int oy = oy0; oy < oy1; oy++) {
		float *r = d + (size_t)oy * w;
		for (int ox = 0; ox < x0; ox++)
			r[ox] = 0.0f;
		for (int ox = x1; ox < w; ox++)
			r[ox] = 0.0f;
	}
}

void thaw_im2col(float *col, int ldc, const float *im, const thaw_conv_geom *g)
{
	const int oh = g->oh, ow = g->ow, h = g->h, w = g->w, sw = g->sw;
	const int same = sw == 1 && g->sh == 1 && ow == w;
	for (int c = 0; c < g->c; c++) {
		const float *src = im + (size_t)c * h * w;
		for (int ky = 0; ky < g->kh; ky++) {
			for (int kx = 0; kx < g->kw; kx++) {
				float *dst = col + (size_t)((c * g->kh + ky) * g->kw + kx) * ldc;
				int dy = ky * g->dh - g->ph, dx = kx * g->dw - g->pw;
				int x0, x1;
				valid_range(dx, sw, w, ow, &x0, &x1);
				if (same) {
					shifted_copy(dst, src, dy, dx, x0, x1, h, w, oh);
					continue;
				}
				for (int oy = 0; oy < oh; oy++) {
					int iy = oy * g->sh + dy;
					float *d = dst + (size_t)oy * ow;
					if (iy < 0 || iy >= h) {
						memset(d, 0, sizeof(float) * ow);
						continue;
					}
					const float *s = src + (size_t)iy * w;
					for (int ox = 0; ox < x0; ox++)
						d[ox] = 0.0f;
					if (sw == 1) {
						if (x1 > x0)
							memcpy(d + x0, s + x0 + dx, sizeof(float) * (size_t)(x1 - x0));
					} else {
						for (int ox = x0; ox < x1; ox++)
							d[ox] = s[ox * sw + dx];
					}
					for (int ox = x1; ox < ow; ox++)
						d[ox] = 0.0f;
				}
			}
		}
	}
}

void thaw_col2im(float *im, const float *col, int ldc, const thaw_conv_geom *g)
{
	const int oh = g->oh, ow = g->ow, h = g->h, w = g->w, sw = g->sw;
	for (int c = 0; c < g->c; c++) {
		float *dst = im + (size_t)c * h * w;
		for (int ky = 0; ky < g->kh; ky++) {
			for (int kx = 0; kx < g->kw; kx++) {
				const float *src = col + (size_t)((c * g->kh + ky) * g->kw + kx) * ldc;
				int dy = ky * g->dh - g->ph, dx = kx * g->dw - g->pw;
				int x0, x1;
				valid_range(dx, sw, w, ow, &x0, &x1);
				for (int oy = 0; oy < oh; oy++) {
					int iy = oy * g->sh + dy;
					if (iy < 0 || iy >= h)
						continue;
					const float *s = src + (size_t)oy * ow;
					float *d = dst + (size_t)iy * w;
					if (x1 <= x0)
						continue;
					if (sw == 1) {
						add_to(d + x0 + dx, s + x0, x1 - x0);
					} else {
						for (int ox = x0; ox < x1; ox++)
							d[ox * sw + dx] += s[ox];
					}
				}
			}
		}
	}
}
