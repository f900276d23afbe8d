/* im2col and col2im against a plain reference over many geometries,
 * including dilated taps that fall wholly outside the image (a past bug:
 * a negative copy length in the "same width" fast path). */
#include <stdlib.h>

#include "check.h"
#include "thaw/blas.h"
#include "thaw/core.h"

static void ref_im2col(float *col, int ldc, const float *im, const thaw_conv_geom *g)
{
	for (int c = 0; c < g->c; c++)
		for (int ky = 0; ky < g->kh; ky++)
			for (int kx = 0; kx < g->kw; kx++)
				for (int oy = 0; oy < g->oh; oy++)
					for (int ox = 0; ox < g->ow; ox++) {
						int iy = oy * g->sh + ky * g->dh - g->ph, ix = ox * g->sw + kx * g->dw - g->pw;
						float v = (iy >= 0 && iy < g->h && ix >= 0 && ix < g->w)
								  ? im[((size_t)c * g->h + iy) * g->w + ix]
								  : 0.0f;
						col[(size_t)((c * g->kh + ky) * g->kw + kx) * ldc + oy * g->ow + ox] = v;
					}
}

static void test_random_geometries(void)
{
	thaw_rng r;
	thaw_rng_seed(&r, 42);
	int bad = 0, cases = 0;
	for (int t = 0; t < 2000; t++) {
		thaw_conv_geom g = {0};
		g.c = 1 + (int)thaw_rng_below(&r, 3);
		g.h = 1 + (int)thaw_rng_below(&r, 9);
		g.w = 1 + (int)thaw_rng_below(&r, 9);
		g.kh = 1 + (int)thaw_rng_below(&r, 4);
		g.kw = 1 + (int)thaw_rng_below(&r, 4);
		g.sh = 1 + (int)thaw_rng_below(&r, 2);
		g.sw = 1 + (int)thaw_rng_below(&r, 2);
		g.dh = 1 + (int)thaw_rng_below(&r, 6);
		g.dw = 1 + (int)thaw_rng_below(&r, 6);
		g.ph = (int)thaw_rng_below(&r, 9);
		g.pw = (int)thaw_rng_below(&r, 9);
		int ph_end = (int)thaw_rng_below(&r, 9), pw_end = (int)thaw_rng_below(&r, 9);
		if (t % 2) { /* "same" output size, the fast path's case */
			g.sh = g.sw = 1;
			ph_end = g.dh * (g.kh - 1) - g.ph;
			pw_end = g.dw * (g.kw - 1) - g.pw;
			if (ph_end < 0 || pw_end < 0)
				continue;
		}
		int eh = g.h + g.ph + ph_end - g.dh * (g.kh - 1), ew = g.w + g.pw + pw_end - g.dw * (g.kw - 1);
		if (eh <= 0 || ew <= 0)
			continue;
		g.oh = (eh - 1) / g.sh + 1;
		g.ow = (ew - 1) / g.sw + 1;
		cases++;
		int K = g.c * g.kh * g.kw, P = g.oh * g.ow, ldc = P + (int)thaw_rng_below(&r, 3);
		size_t nim = (size_t)g.c * g.h * g.w;
		float *im = malloc(nim * sizeof(float)), *a = calloc((size_t)K * ldc, sizeof(float)),
		      *b = calloc((size_t)K * ldc, sizeof(float)), *back = calloc(nim, sizeof(float)),
		      *want = calloc(nim, sizeof(float));
		for (size_t i = 0; i < nim; i++)
			im[i] = (float)(i + 1);
		thaw_im2col(a, ldc, im, &g);
		ref_im2col(b, ldc, im, &g);
		int same = 1;
		for (int k = 0; k < K; k++)
			same &= memcmp(a + (size_t)k * ldc, b + (size_t)k * ldc, (size_t)P * sizeof(float)) == 0;
		/* col2im is the adjoint: <im2col(x), y> == <x, col2im(y)> with y = the reference col */
		thaw_col2im(back, b, ldc, &g);
		double lhs = 0, rhs = 0;
		for (int k = 0; k < K; k++)
			for (int p = 0; p < P; p++)
				lhs += (double)b[(size_t)k * ldc + p] * b[(size_t)k * ldc + p];
		for (size_t i = 0; i < nim; i++)
			rhs += (double)im[i] * back[i];
		if (!same || fabs(lhs - rhs) > 1e-6 * fmax(1, fabs(lhs))) {
			if (bad++ < 3)
				printf("  c%d %dx%d k%dx%d s%d,%d d%d,%d p%d,%d -> %dx%d: im2col %s, adjoint %g vs %g\n", g.c,
				       g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.ph, g.pw, g.oh, g.ow,
				       same ? "ok" : "WRONG", lhs, rhs);
		}
		free(im);
		free(a);
		free(b);
		free(back);
		free(want);
	}
	printf("  %d geometries compared\n", cases);
	CHECK(cases > 800);
	CHECKF(bad == 0, "%d geometries differ", bad);
}

int main(void)
{
	RUN(test_random_geometries);
	return check_done();
}
