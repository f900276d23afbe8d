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

/* Rows and edges of padding are a few floats each: a libc memset call per
 * tap and row costs more than the stores (measured 4% of a training step),
 * so keep GCC from turning these loops back into memset calls. */
#define NO_MEMSET __attribute__((optimize("no-tree-loop-distribute-patterns")))
static inline void zero(float *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		d[i] = 0.0f;
}

/* Stride 1 and ow == w ("same" width): the row of col for one tap is the
 * image shifted by dy*w + dx, so the valid rows move as ONE copy; then the
 * columns that wrapped around a row edge, and the rows outside the image,
 * are zeroed. d (oh, w) <- s (h, w). */
NO_MEMSET static void shifted_copy(float *d, const float *s, int dy, int dx, int x0, int x1, int h, int w, int oh)
{
	int oy0 = dy < 0 ? -dy : 0, oy1 = h - dy < oh ? h - dy : oh;
	if (oy0 > oh)
		oy0 = oh;
	if (oy1 < oy0)
		oy1 = oy0;
	zero(d, (size_t)oy0 * w);
	zero(d + (size_t)oy1 * w, (size_t)(oh - oy1) * w);
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

NO_MEMSET void thaw_im2col(float *col, int ldc, const float *im, const thaw_conv_geom *g)
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
						zero(d, (size_t)ow);
						continue;
					}
					const float *s = src + (size_t)iy * w;
					for (int ox = 0; ox < x0; ox++)
						d[ox] = 0.0f;
					if (sw == 1) {
						if (x1 > x0)
							memcpy(d + x0, s + x0 + dx, sizeof(float) * (size_t)(x1 - x0));
					} else if (sw == 2) { /* a constant stride: GCC vectorizes it */
						for (int ox = x0; ox < x1; ox++)
							d[ox] = s[ox * 2 + dx];
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

typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));

/* Stride 1, ow == w, oh == h: with the padding entries of col zeroed, tap t
 * adds col_t[j - off_t] to pixel j of the flattened plane for every j in
 * one interval (wrapped columns carry zeros), so each pixel is a sum of
 * kh*kw loads: one vector store per 8 pixels and no read-modify-write of
 * im per tap (the scalar col2im above is ~10x slower on a 3x3 conv). */
NO_MEMSET static void col2im_same(float *im, float *col, int ldc, const thaw_conv_geom *g, int acc)
{
	enum { MAXT = 64 };
	const int h = g->h, w = g->w, T = g->kh * g->kw;
	const ptrdiff_t P = (ptrdiff_t)h * w;
	ptrdiff_t off[MAXT], lo[MAXT], hi[MAXT];
	for (int c = 0; c < g->c; c++) {
		float *dst = im + (size_t)c * P;
		float *src = col + (size_t)c * T * ldc;
		ptrdiff_t ilo = 0, ihi = P;
		for (int t = 0; t < T; t++) {
			int ky = t / g->kw, kx = t % g->kw;
			int dy = ky * g->dh - g->ph, dx = kx * g->dw - g->pw;
			int x0, x1;
			valid_range(dx, 1, w, w, &x0, &x1);
			float *s = src + (size_t)t * ldc;
			for (int oy = 0; oy < h; oy++) {
				for (int ox = 0; ox < x0; ox++)
					s[(size_t)oy * w + ox] = 0.0f;
				for (int ox = x1; ox < w; ox++)
					s[(size_t)oy * w + ox] = 0.0f;
			}
			int oy0 = dy < 0 ? -dy : 0, oy1 = h - dy < h ? h - dy : h;
			if (oy1 < oy0)
				oy1 = oy0;
			off[t] = (ptrdiff_t)dy * w + dx;
			lo[t] = (ptrdiff_t)oy0 * w + off[t];
			hi[t] = (ptrdiff_t)oy1 * w + off[t];
			if (x1 <= x0) /* the tap never lands inside: contributes nothing */
				lo[t] = hi[t] = 0;
			lo[t] = lo[t] < 0 ? 0 : lo[t];
			hi[t] = hi[t] > P ? P : hi[t];
			if (hi[t] < lo[t])
				hi[t] = lo[t];
			if (lo[t] > ilo)
				ilo = lo[t];
			if (hi[t] < ihi)
				ihi = hi[t];
		}
		if (ihi < ilo)
			ihi = ilo;
		/* edges: pixels some tap does not reach */
		for (ptrdiff_t j = 0; j < P; j++) {
			if (j == ilo && ihi > ilo)
				j = ihi;
			if (j >= P)
				break;
			float a = 0.0f;
			for (int t = 0; t < T; t++)
				if (j >= lo[t] && j < hi[t])
					a += src[(size_t)t * ldc + (size_t)(j - off[t])];
			dst[j] = acc ? dst[j] + a : a;
		}
		ptrdiff_t j = ilo;
		for (; j + 8 <= ihi; j += 8) {
			v8 a = {0};
			for (int t = 0; t < T; t++)
				a += *(const v8u *)(src + (size_t)t * ldc + (size_t)(j - off[t]));
			if (acc)
				a += *(const v8u *)(dst + j);
			*(v8u *)(dst + j) = a;
		}
		for (; j < ihi; j++) {
			float a = 0.0f;
			for (int t = 0; t < T; t++)
				a += src[(size_t)t * ldc + (size_t)(j - off[t])];
			dst[j] = acc ? dst[j] + a : a;
		}
	}
}

void thaw_col2im_spent(float *im, float *col, int ldc, const thaw_conv_geom *g, int acc)
{
	if (g->sh == 1 && g->sw == 1 && g->oh == g->h && g->ow == g->w && g->kh * g->kw <= 64) {
		col2im_same(im, col, ldc, g, acc);
		return;
	}
	if (!acc)
		memset(im, 0, sizeof(float) * (size_t)g->c * g->h * g->w);
	thaw_col2im(im, col, ldc, g);
}
