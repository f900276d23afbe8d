/* conv2d: ONNX Conv / torch.nn.Conv2d with stride, asymmetric padding,
 * dilation and groups.
 *   x (B, C, H, W), weight (OC, C/G, kh, kw), bias (OC), y (B, OC, OH, OW)
 *   OH = floor((H + pt + pb - dh*(kh-1) - 1) / sh) + 1
 *
 * Three kernels, picked from the shapes alone (so a step is deterministic):
 *   direct  depthwise (one input channel per group, G > 1): K = kh*kw is
 *           too small for a GEMM, so loops over the taps along output rows;
 *   1x1     stride 1 and no padding: the input already is the column
 *           matrix, one GEMM per image and group, no col buffer;
 *   gemm    per image, im2col into a col buffer of the part of the batch
 *           this thread runs (thaw_parallel_for), then one single-threaded
 *           GEMM straight into NCHW with the bias added after. The col
 *           buffer stays in the core's L2; backward lowers the image again
 *           instead of keeping a whole-batch col matrix (14 MB for the
 *           reference CNN's conv2, which cost more in DRAM traffic than
 *           the second im2col). With K <= 16 (a first layer on grey
 *           images, K = 9) the products run as register-blocked loops
 *           instead of OpenBLAS: its dW GEMM (N = K) is skinny and slow.
 * Backward: dW = dY col^T into a per-part buffer (summed in part order,
 * so a thread count gives one result), then dcol = W^T dY over the spent
 * col buffer and col2im. A frozen conv (weight_grad = 0) skips the dW
 * GEMM and the second im2col. */
#include <stdint.h>
#include <string.h>

#include "thaw/layer.h"
#include "thaw/blas.h"
#include "thaw/parallel.h"

enum { PATH_DIRECT, PATH_1X1, PATH_GEMM };

/* GNU vector extensions: -O2 does not vectorize these loops by itself.
 * Vectors never cross a function boundary by value (that ABI depends on
 * -march), so loads and stores are macros over an unaligned alias type. */
typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));
typedef int32_t v8i __attribute__((vector_size(32)));
static const v8i lane8 = {0, 1, 2, 3, 4, 5, 6, 7};
#define ld8(p) (*(const v8u *)(p))
#define st8(p, v) (*(v8u *)(p) = (v))

static inline float hsum8(const v8 *v)
{
	const float *f = (const float *)v;
	return ((f[0] + f[4]) + (f[1] + f[5])) + ((f[2] + f[6]) + (f[3] + f[7]));
}

/* y[i] += a * x[i] */
static inline void axpy(float *y, float a, const float *x, int n)
{
	int i = 0;
	for (; i + 8 <= n; i += 8) {
		v8 v = ld8(y + i) + a * ld8(x + i);
		st8(y + i, v);
	}
	for (; i < n; i++)
		y[i] += a * x[i];
}

/* y[i] = x[i] + b (x may be y) */
static inline void add_bias(float *y, const float *x, float b, int n)
{
	int i = 0;
	for (; i + 8 <= n; i += 8) {
		v8 v = ld8(x + i) + b;
		st8(y + i, v);
	}
	for (; i < n; i++)
		y[i] = x[i] + b;
}

static inline float dotf(const float *a, const float *b, int n)
{
	v8 s = {0};
	int i = 0;
	for (; i + 8 <= n; i += 8)
		s += ld8(a + i) * ld8(b + i);
	float r = hsum8(&s);
	for (; i < n; i++)
		r += a[i] * b[i];
	return r;
}

/* Sum of n floats with independent vector accumulators: a scalar loop
 * is one long dependency chain, several times slower. */
static float sumf(const float *x, size_t n)
{
	v8 a = {0}, b = {0};
	size_t i = 0;
	for (; i + 16 <= n; i += 16) {
		a += ld8(x + i);
		b += ld8(x + i + 8);
	}
	a += b;
	float s = hsum8(&a);
	for (; i < n; i++)
		s += x[i];
	return s;
}

typedef struct cgeom {
	int C, H, W, G, Cg, OC, OCg;
	int kh, kw, sh, sw, pt, pl, dh, dw;
	int OH, OW, P, K; /* P = OH*OW, K = Cg*kh*kw */
	int path;
} cgeom;

static cgeom geom_of(const thaw_node *n)
{
	const thaw_attrs *a = &n->a;
	cgeom g;
	g.C = n->in_shape[0].c;
	g.H = n->in_shape[0].h;
	g.W = n->in_shape[0].w;
	g.G = a->groups;
	g.Cg = g.C / g.G;
	g.OC = a->filters;
	g.OCg = g.OC / g.G;
	g.kh = a->kh;
	g.kw = a->kw;
	g.sh = a->sh;
	g.sw = a->sw;
	g.pt = a->pad[0];
	g.pl = a->pad[1];
	g.dh = a->dh;
	g.dw = a->dw;
	g.OH = n->out.h;
	g.OW = n->out.w;
	g.P = g.OH * g.OW;
	g.K = g.Cg * g.kh * g.kw;
	if (g.Cg == 1 && g.G > 1)
		g.path = PATH_DIRECT;
	else if (g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 &&
		 a->pad[2] == 0 && a->pad[3] == 0)
		g.path = PATH_1X1;
	else
		g.path = PATH_GEMM;
	return g;
}

static thaw_conv_geom im_geom(const cgeom *g)
{
	return (thaw_conv_geom){.c = g->Cg, .h = g->H, .w = g->W, .kh = g->kh, .kw = g->kw,
				.sh = g->sh, .sw = g->sw, .ph = g->pt, .pw = g->pl, .dh = g->dh,
				.dw = g->dw, .oh = g->OH, .ow = g->OW};
}

static int conv_setup(thaw_node *n, const thaw_shape *in, int n_in)
{
	int rc = thaw_expect_inputs(n, n_in, 1);
	if (rc < 0)
		return rc;
	const thaw_attrs *a = &n->a;
	char is[64];
	thaw_shape_str(in[0], is, sizeof is);
	if (a->filters <= 0)
		return thaw_error(THAW_EINVAL, "node '%s' (conv2d): filters must be positive, got %d",
				  n->name, a->filters);
	if (a->kh <= 0 || a->kw <= 0 || a->sh <= 0 || a->sw <= 0 || a->dh <= 0 || a->dw <= 0)
		return thaw_error(THAW_EINVAL,
				  "node '%s' (conv2d): kernel %dx%d, stride %dx%d and dilation %dx%d must be positive",
				  n->name, a->kh, a->kw, a->sh, a->sw, a->dh, a->dw);
	for (int i = 0; i < 4; i++)
		if (a->pad[i] < 0)
			return thaw_error(THAW_EINVAL, "node '%s' (conv2d): padding %d,%d,%d,%d is negative",
					  n->name, a->pad[0], a->pad[1], a->pad[2], a->pad[3]);
	if (a->groups <= 0 || in[0].c % a->groups != 0)
		return thaw_error(THAW_EINVAL,
				  "node '%s' (conv2d): input %s has %d channels, not divisible by groups %d",
				  n->name, is, in[0].c, a->groups);
	if (a->filters % a->groups != 0)
		return thaw_error(THAW_EINVAL,
				  "node '%s' (conv2d): %d filters not divisible by groups %d (input %s)",
				  n->name, a->filters, a->groups, is);
	int ekh = a->dh * (a->kh - 1) + 1, ekw = a->dw * (a->kw - 1) + 1;
	int ph = in[0].h + a->pad[0] + a->pad[2], pw = in[0].w + a->pad[1] + a->pad[3];
	if (ekh > ph || ekw > pw) {
		char dil[48] = "";
		if (a->dh > 1 || a->dw > 1)
			snprintf(dil, sizeof dil, " (dilated to %dx%d)", ekh, ekw);
		return thaw_error(THAW_ESHAPE,
				  "node '%s' (conv2d): kernel %dx%d%s larger than padded input %dx%d (input %s)",
				  n->name, a->kh, a->kw, dil, ph, pw, is);
	}
	int oh = (ph - ekh) / a->sh + 1, ow = (pw - ekw) / a->sw + 1;
	n->out = (thaw_shape){1, a->filters, oh, ow};
	thaw_param_decl(n, 0, "weight", 0, a->filters, in[0].c / a->groups, a->kh, a->kw);
	if (a->bias)
		thaw_param_decl(n, 1, "bias", 0, a->filters, 0, 0, 0);
	return 0;
}

static void conv_init(thaw_node *n, thaw_rng *rng)
{
	const thaw_param *w = &n->p[0];
	int rf = w->dims[2] * w->dims[3];
	thaw_init_weights(w->w, w->size, w->dims[1] * rf, w->dims[0] * rf, n->a.init, rng);
	if (n->a.bias)
		memset(n->p[1].w, 0, n->p[1].size * sizeof(float));
}

static size_t round64(size_t b) { return (b + 63) & ~(size_t)63; }
static size_t gemm_scratch(const cgeom *g, int B);
static size_t direct_scratch(const thaw_node *n, const cgeom *g);

static size_t conv_scratch(const thaw_node *n, int B, int training)
{
	cgeom g = geom_of(n);
	if (g.path == PATH_DIRECT)
		return direct_scratch(n, &g);
	return g.path == PATH_GEMM ? gemm_scratch(&g, B) : 0;
}

/* Output columns ox with 0 <= ox*s + off < w, as [*x0, *x1). */
static void valid_range(int off, int s, int w, int ow, int *x0, int *x1)
{
	int a = off < 0 ? (-off + s - 1) / s : 0;
	int b = w - off <= 0 ? 0 : (w - off + s - 1) / s;
	if (b > ow)
		b = ow;
	if (a > b)
		a = b;
	*x0 = a;
	*x1 = b;
}

/* ---- direct kernels: one input channel per output plane. */

/* y (OH, OW) = bias + sum over taps of w[tap] * shifted x (H, W). */
static void direct_plane_forward(float *y, const float *x, const float *w, float bias,
				 const cgeom *g)
{
	const int OW = g->OW, W = g->W;
	for (size_t i = 0; i < (size_t)g->P; i++)
		y[i] = bias;
	for (int ky = 0; ky < g->kh; ky++) {
		for (int kx = 0; kx < g->kw; kx++) {
			const float wv = w[ky * g->kw + kx];
			const int offx = kx * g->dw - g->pl;
			int x0, x1;
			valid_range(offx, g->sw, W, OW, &x0, &x1);
			if (x1 <= x0)
				continue;
			for (int oy = 0; oy < g->OH; oy++) {
				int iy = oy * g->sh + ky * g->dh - g->pt;
				if (iy < 0 || iy >= g->H)
					continue;
				float *yr = y + (size_t)oy * OW;
				const float *xr = x + (size_t)iy * W;
				if (g->sw == 1) {
					axpy(yr + x0, wv, xr + x0 + offx, x1 - x0);
				} else {
					for (int ox = x0; ox < x1; ox++)
						yr[ox] += wv * xr[ox * g->sw + offx];
				}
			}
		}
	}
}

/* dx (H, W) += adjoint of the above; dw[tap] += dy . shifted x; NULLs skip. */
static void direct_plane_backward(float *dx, float *dw, const float *x, const float *w,
				  const float *dy, const cgeom *g)
{
	const int OW = g->OW, W = g->W;
	for (int ky = 0; ky < g->kh; ky++) {
		for (int kx = 0; kx < g->kw; kx++) {
			const float wv = w[ky * g->kw + kx];
			const int offx = kx * g->dw - g->pl;
			int x0, x1;
			valid_range(offx, g->sw, W, OW, &x0, &x1);
			if (x1 <= x0)
				continue;
			float acc = 0.0f;
			for (int oy = 0; oy < g->OH; oy++) {
				int iy = oy * g->sh + ky * g->dh - g->pt;
				if (iy < 0 || iy >= g->H)
					continue;
				const float *dyr = dy + (size_t)oy * OW;
				size_t xo = (size_t)iy * W;
				if (g->sw == 1) {
					const float *dd = dyr + x0;
					if (dw)
						acc += dotf(dd, x + xo + x0 + offx, x1 - x0);
					if (dx)
						axpy(dx + xo + x0 + offx, wv, dd, x1 - x0);
				} else {
					for (int ox = x0; ox < x1; ox++) {
						int ix = ox * g->sw + offx;
						if (dw)
							acc += dyr[ox] * x[xo + ix];
						if (dx)
							dx[xo + ix] += wv * dyr[ox];
					}
				}
			}
			if (dw)
				dw[ky * g->kw + kx] += acc;
		}
	}
}

/* out (R, Cn) = init + sum over taps of w[ky*kw+kx] * in[r + ky*dh][c + kx*dw]
 * (or +=, with add), in a zero-padded plane with rows ldp apart. Eight
 * outputs per vector with every tap accumulated in a register; ldp leaves
 * 8 columns of slack so the last, partial vector reads inside the plane.
 * Always inlined, so the 3x3 call below gets its loops unrolled and its
 * weights kept in registers. */
static inline __attribute__((always_inline)) void
correlate(float *restrict out, int R, int Cn, const float *restrict in, int ldp,
	  const float *restrict w, int kh, int kw, int dh, int dw, float init, int add)
{
	for (int r = 0; r < R; r++) {
		float *o = out + (size_t)r * Cn;
		for (int c = 0; c < Cn; c += 8) {
			v8 acc = {0};
			acc += init;
			for (int ky = 0; ky < kh; ky++) {
				const float *row = in + (size_t)(r + ky * dh) * ldp + c;
				for (int kx = 0; kx < kw; kx++)
					acc += w[ky * kw + kx] * ld8(row + kx * dw);
			}
			if (c + 8 <= Cn) {
				if (add)
					acc += ld8(o + c);
				st8(o + c, acc);
			} else if (r + 1 < R) {
				/* the partial vector of a row: blend into what follows it
				 * (the next row, rewritten later), never past the plane */
				v8i m = {0};
				m += Cn - c;
				m = lane8 < m;
				v8 old = ld8(o + c);
				if (add)
					acc += old;
				st8(o + c, (v8)((m & (v8i)acc) | (~m & (v8i)old)));
			} else {
				float t[8];
				memcpy(t, &acc, sizeof t);
				for (int i = 0; i < Cn - c; i++)
					o[c + i] = add ? o[c + i] + t[i] : t[i];
			}
		}
	}
}

static void correlate_any(float *out, int R, int Cn, const float *in, int ldp, const float *w, int kh,
			  int kw, int dh, int dw, float init, int add)
{
	if (kh == 3 && kw == 3 && dh == 1 && dw == 1)
		correlate(out, R, Cn, in, ldp, w, 3, 3, 1, 1, init, add);
	else
		correlate(out, R, Cn, in, ldp, w, kh, kw, dh, dw, init, add);
}

/* dw[ky*kw+kx] += sum over (r, c) of d[r][c] * x[r + ky*dh][c + kx*dw] for
 * r < R, c < Cn; both planes padded, the columns of d past Cn zero, so
 * whole vectors can run over the row ends. T = kh*kw <= 16. */
static inline __attribute__((always_inline)) void
weight_corr(float *restrict dwt, int R, int Cn, const float *restrict d, int ldd,
	    const float *restrict x, int ldx, int kh, int kw, int dh, int dw)
{
	v8 acc[16];
	for (int t = 0; t < kh * kw; t++)
		acc[t] = (v8){0};
	for (int r = 0; r < R; r++)
		for (int c = 0; c < Cn; c += 8) {
			v8 dv = ld8(d + (size_t)r * ldd + c);
			for (int ky = 0; ky < kh; ky++) {
				const float *row = x + (size_t)(r + ky * dh) * ldx + c;
				for (int kx = 0; kx < kw; kx++)
					acc[ky * kw + kx] += dv * ld8(row + kx * dw);
			}
		}
	for (int t = 0; t < kh * kw; t++)
		dwt[t] += hsum8(&acc[t]);
}

static void weight_corr_any(float *dwt, int R, int Cn, const float *d, int ldd, const float *x, int ldx,
			    int kh, int kw, int dh, int dw)
{
	if (kh == 3 && kw == 3 && dh == 1 && dw == 1)
		weight_corr(dwt, R, Cn, d, ldd, x, ldx, 3, 3, 1, 1);
	else
		weight_corr(dwt, R, Cn, d, ldd, x, ldx, kh, kw, dh, dw);
}

/* p (rows, ldp) <- src (h, w) placed at (top, left), zeros around it. */
static void pad_plane(float *p, int rows, int ldp, const float *src, int h, int w, int top, int left)
{
	memset(p, 0, sizeof(float) * (size_t)top * ldp);
	for (int r = 0; r < h; r++) { /* edges of a few floats: loops beat libc calls */
		float *d = p + (size_t)(top + r) * ldp;
		for (int i = 0; i < left; i++)
			d[i] = 0.0f;
		memcpy(d + left, src + (size_t)r * w, sizeof(float) * w);
		for (int i = left + w; i < ldp; i++)
			d[i] = 0.0f;
	}
	memset(p + (size_t)(top + h) * ldp, 0, sizeof(float) * (size_t)(rows - top - h) * ldp);
}

/* Stride 1 runs on padded planes; the transposed correlation of backward
 * needs the padding within the kernel's reach (it always is in practice). */
static int direct_fast_fwd(const cgeom *g) { return g->sh == 1 && g->sw == 1; }
static int direct_fast_bwd(const thaw_node *n, const cgeom *g)
{
	const int *pad = n->a.pad;
	int eh = (g->kh - 1) * g->dh, ew = (g->kw - 1) * g->dw;
	return direct_fast_fwd(g) && g->kh * g->kw <= 16 && pad[0] <= eh && pad[2] <= eh &&
	       pad[1] <= ew && pad[3] <= ew;
}

/* Scratch: x padded (H + pt + pb, W + pl + pr + 8), then dy padded by the
 * kernel's reach (H + eh, W + ew + 8). */
static size_t direct_xpad(const thaw_node *n, const cgeom *g)
{
	const int *pad = n->a.pad;
	return round64((size_t)(g->H + pad[0] + pad[2]) * (g->W + pad[1] + pad[3] + 8) * sizeof(float));
}

static size_t direct_scratch(const thaw_node *n, const cgeom *g)
{
	size_t b = (size_t)(g->H + (g->kh - 1) * g->dh) * (g->W + (g->kw - 1) * g->dw + 8);
	return direct_xpad(n, g) + b * sizeof(float);
}

static void direct_forward(const thaw_node *n, const cgeom *g, int B, const float *x, float *y,
			   float *pbuf)
{
	const float *W = n->p[0].w; // (OC, 1, kh, kw)
	const float *bias = n->a.bias ? n->p[1].w : NULL;
	const size_t HW = (size_t)g->H * g->W, T = (size_t)g->kh * g->kw;
	const int *pad = n->a.pad;
	const int rows = g->H + pad[0] + pad[2], ldp = g->W + pad[1] + pad[3] + 8;
	thaw_blas_add_flops(2.0 * B * g->OC * g->P * (double)T);
	for (int b = 0; b < B; b++)
		for (int ic = 0; ic < g->C; ic++) {
			const float *xp = x + ((size_t)b * g->C + ic) * HW;
			if (direct_fast_fwd(g))
				pad_plane(pbuf, rows, ldp, xp, g->H, g->W, pad[0], pad[1]);
			for (int oc = ic * g->OCg; oc < (ic + 1) * g->OCg; oc++) {
				float *yp = y + ((size_t)b * g->OC + oc) * g->P;
				float bv = bias ? bias[oc] : 0.0f;
				if (direct_fast_fwd(g))
					correlate_any(yp, g->OH, g->OW, pbuf, ldp, W + oc * T, g->kh, g->kw, g->dh,
						      g->dw, bv, 0);
				else
					direct_plane_forward(yp, xp, W + oc * T, bv, g);
			}
		}
}

static void direct_backward(thaw_node *n, const cgeom *g, const thaw_bwd *bw)
{
	const int B = bw->B;
	const float *W = n->p[0].w;
	float *dW = bw->weight_grad ? n->p[0].g : NULL;
	float *db = bw->weight_grad && n->a.bias ? n->p[1].g : NULL;
	float *dx = bw->dx[0];
	const size_t HW = (size_t)g->H * g->W, T = (size_t)g->kh * g->kw;
	const int fast = direct_fast_bwd(n, g), *pad = n->a.pad;
	const int eh = (g->kh - 1) * g->dh, ew = (g->kw - 1) * g->dw;
	const int xrows = g->H + pad[0] + pad[2], ldx = g->W + pad[1] + pad[3] + 8;
	const int drows = g->H + eh, ldd = g->W + ew + 8;
	float *xbuf = bw->scratch, *dbuf = (float *)((char *)bw->scratch + direct_xpad(n, g));
	float wf[16]; /* the flipped kernel */
	if (dW)
		memset(dW, 0, n->p[0].size * sizeof(float));
	if (db)
		memset(db, 0, n->p[1].size * sizeof(float));
	thaw_blas_add_flops(2.0 * B * g->OC * g->P * (double)T * ((dW != NULL) + (dx != NULL)));
	if (dx && !bw->acc[0] && !fast)
		memset(dx, 0, (size_t)B * g->C * HW * sizeof(float));
	for (int b = 0; b < B; b++)
		for (int ic = 0; ic < g->C; ic++) {
			size_t xo = ((size_t)b * g->C + ic) * HW;
			if (fast && dW)
				pad_plane(xbuf, xrows, ldx, bw->x[0] + xo, g->H, g->W, pad[0], pad[1]);
			for (int oc = ic * g->OCg; oc < (ic + 1) * g->OCg; oc++) {
				const float *dy = bw->dy + ((size_t)b * g->OC + oc) * g->P;
				if (db)
					db[oc] += sumf(dy, (size_t)g->P);
				if (!fast) {
					direct_plane_backward(dx ? dx + xo : NULL, dW ? dW + oc * T : NULL,
							      bw->x[0] + xo, W + oc * T, dy, g);
					continue;
				}
				/* dy sits at (eh - pt, ew - pl) of its padded plane, so that
				 * dx[iy][ix] = sum w[ky][kx] dy[iy + pt - ky*dh][ix + pl - kx*dw]
				 * is the flipped kernel run over it */
				pad_plane(dbuf, drows, ldd, dy, g->OH, g->OW, eh - pad[0], ew - pad[1]);
				if (dW)
					weight_corr_any(dW + oc * T, g->OH, g->OW,
							dbuf + (size_t)(eh - pad[0]) * ldd + (ew - pad[1]), ldd, xbuf, ldx,
							g->kh, g->kw, g->dh, g->dw);
				if (!dx)
					continue;
				for (size_t t = 0; t < T; t++)
					wf[t] = W[oc * T + T - 1 - t];
				correlate_any(dx + xo, g->H, g->W, dbuf, ldd, wf, g->kh, g->kw, g->dh, g->dw, 0.0f,
					      bw->acc[0] || oc % g->OCg);
			}
		}
}

/* ---- 1x1, stride 1, no padding: x (Cg, P) of each image and group is the col matrix. */

static void pointwise_forward(const thaw_node *n, const cgeom *g, int B, const float *x, float *y)
{
	const float *W = n->p[0].w; // (OC, Cg)
	const float *bias = n->a.bias ? n->p[1].w : NULL;
	const int P = g->P;
	for (int b = 0; b < B; b++)
		for (int gr = 0; gr < g->G; gr++) {
			float *yb = y + ((size_t)b * g->OC + (size_t)gr * g->OCg) * P; // (OCg, P)
			const float *xb = x + ((size_t)b * g->C + (size_t)gr * g->Cg) * P; // (Cg, P)
			if (bias)
				for (int o = 0; o < g->OCg; o++)
					for (int p = 0; p < P; p++)
						yb[(size_t)o * P + p] = bias[gr * g->OCg + o];
			thaw_sgemm(0, 0, g->OCg, P, g->Cg, 1.0f, W + (size_t)gr * g->OCg * g->Cg, g->Cg, xb, P,
				   bias ? 1.0f : 0.0f, yb, P);
		}
}

static void pointwise_backward(thaw_node *n, const cgeom *g, const thaw_bwd *bw)
{
	const int B = bw->B, P = g->P;
	for (int gr = 0; gr < g->G; gr++) {
		const float *Wg = n->p[0].w + (size_t)gr * g->OCg * g->Cg; // (OCg, Cg)
		for (int b = 0; b < B; b++) {
			const float *dyb = bw->dy + ((size_t)b * g->OC + (size_t)gr * g->OCg) * P; // (OCg, P)
			size_t xo = ((size_t)b * g->C + (size_t)gr * g->Cg) * P;
			if (bw->weight_grad) // dW (OCg, Cg) += dy (OCg, P) x^T (P, Cg)
				thaw_sgemm(0, 1, g->OCg, g->Cg, P, 1.0f, dyb, P, bw->x[0] + xo, P, b ? 1.0f : 0.0f,
					   n->p[0].g + (size_t)gr * g->OCg * g->Cg, g->Cg);
			if (bw->dx[0]) // dx (Cg, P) = W^T (Cg, OCg) dy (OCg, P)
				thaw_sgemm(1, 0, g->Cg, P, g->OCg, 1.0f, Wg, g->Cg, dyb, P, bw->acc[0] ? 1.0f : 0.0f,
					   bw->dx[0] + xo, P);
		}
	}
}

/* ---- small K (a first layer on grey images: K = 9). OpenBLAS packs and
 * threads for nothing here, and its dW GEMM with N = K is skinny, so these
 * two products run as register-blocked loops over rows of P pixels. */
enum { SMALL_K = 16 };
/* y (M, P) = bias + w (M, K) col (K, P), col rows ldc apart. */
static void smallk_forward(float *y, const float *w, const float *bias, const float *col, int ldc,
			   int M, int K, int P)
{
	int o = 0;
	for (; o + 4 <= M; o += 4) {
		const float *w0 = w + (size_t)o * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
		float b0 = bias ? bias[o] : 0, b1 = bias ? bias[o + 1] : 0, b2 = bias ? bias[o + 2] : 0,
		      b3 = bias ? bias[o + 3] : 0;
		float *y0 = y + (size_t)o * P, *y1 = y0 + P, *y2 = y1 + P, *y3 = y2 + P;
		int p = 0;
		for (; p + 8 <= P; p += 8) {
			v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
			a0 += b0, a1 += b1, a2 += b2, a3 += b3;
			for (int t = 0; t < K; t++) {
				v8 c = ld8(col + (size_t)t * ldc + p);
				a0 += w0[t] * c;
				a1 += w1[t] * c;
				a2 += w2[t] * c;
				a3 += w3[t] * c;
			}
			st8(y0 + p, a0);
			st8(y1 + p, a1);
			st8(y2 + p, a2);
			st8(y3 + p, a3);
		}
		for (; p < P; p++) {
			float s0 = b0, s1 = b1, s2 = b2, s3 = b3;
			for (int t = 0; t < K; t++) {
				float c = col[(size_t)t * ldc + p];
				s0 += w0[t] * c, s1 += w1[t] * c, s2 += w2[t] * c, s3 += w3[t] * c;
			}
			y0[p] = s0, y1[p] = s1, y2[p] = s2, y3[p] = s3;
		}
	}
	for (; o < M; o++)
		for (int p = 0; p < P; p++) {
			float s = bias ? bias[o] : 0;
			for (int t = 0; t < K; t++)
				s += w[(size_t)o * K + t] * col[(size_t)t * ldc + p];
			y[(size_t)o * P + p] = s;
		}
}

/* dw (M, K) += dy (M, P) col^T (P, K), col rows ldc apart: dot products,
 * four rows of col per pass over a row of dy. */
static void smallk_dw(float *dw, const float *dy, const float *col, int ldc, int M, int K, int P)
{
	for (int o = 0; o < M; o++) {
		const float *d = dy + (size_t)o * P;
		for (int t0 = 0; t0 < K; t0 += 4) {
			int nt = K - t0 < 4 ? K - t0 : 4;
			const float *c[4];
			for (int i = 0; i < 4; i++)
				c[i] = col + (size_t)(t0 + (i < nt ? i : 0)) * ldc;
			v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
			int p = 0;
			for (; p + 8 <= P; p += 8) {
				v8 dv = ld8(d + p);
				a0 += dv * ld8(c[0] + p);
				a1 += dv * ld8(c[1] + p);
				a2 += dv * ld8(c[2] + p);
				a3 += dv * ld8(c[3] + p);
			}
			float s[4] = {hsum8(&a0), hsum8(&a1), hsum8(&a2), hsum8(&a3)};
			for (; p < P; p++)
				for (int i = 0; i < 4; i++)
					s[i] += d[p] * c[i][p];
			for (int i = 0; i < nt; i++)
				dw[(size_t)o * K + t0 + i] += s[i];
		}
	}
}

/* ---- im2col + GEMM, one image at a time, the batch split over the pool's
 * parts. Each part lowers its image into its own col buffer (K, P), which
 * stays in that core's L2 for the GEMM that reads it; backward lowers the
 * image again rather than keeping a (K, B*P) matrix from forward: 14 MB
 * for the reference CNN's conv2, written and read back through DRAM,
 * cost more than a second im2col from cache. Inside a part OpenBLAS runs
 * single-threaded: a (64, 196) x (196, 288) GEMM per image and core runs
 * at the kernel's peak, which two threads on one chunk never reached.
 * Each part sums its dW and db into its own buffer; backward adds the
 * buffers in part order, so a thread count gives one result. */

/* Parts with their own buffers: at most 8, and their dW copies within
 * 16 MB. A function of the shapes alone, so scratch and the passes agree
 * whatever the thread count is when they run. */
static int parts_cap(const cgeom *g, int B)
{
	size_t wb = (size_t)g->OC * g->K * sizeof(float);
	size_t cap = ((size_t)16 << 20) / (wb ? wb : 1);
	if (cap > 8)
		cap = 8;
	if (cap < 1)
		cap = 1;
	return (int)cap < B ? (int)cap : B;
}

/* scratch: this header, then per part a col buffer (K, P), dW (OC, K), db (OC) */
typedef struct conv_state {
	int parts; /* how forward split the batch (backward splits alike) */
	char pad[60];
} conv_state;

static size_t part_col(const cgeom *g) { return round64((size_t)g->K * g->P * sizeof(float)); }
static size_t part_dw(const cgeom *g) { return round64((size_t)g->OC * g->K * sizeof(float)); }
static size_t part_bytes(const cgeom *g)
{
	return part_col(g) + part_dw(g) + round64((size_t)g->OC * sizeof(float));
}

static size_t gemm_scratch(const cgeom *g, int B)
{
	return sizeof(conv_state) + (size_t)parts_cap(g, B) * part_bytes(g);
}

typedef struct gemm_job {
	thaw_node *n;
	const cgeom *g;
	int B, parts;
	const float *x, *dy;
	float *y, *dx;
	int weight_grad, acc;
	char *part0; // the first part's buffers
} gemm_job;

static gemm_job job_of(thaw_node *n, const cgeom *g, int B, void *scratch)
{
	gemm_job j = {.n = n, .g = g, .B = B};
	j.part0 = (char *)scratch + sizeof(conv_state);
	return j;
}

static float *part_col_of(const gemm_job *j, int p) { return (float *)(j->part0 + (size_t)p * part_bytes(j->g)); }
static float *part_dw_of(const gemm_job *j, int p) { return (float *)((char *)part_col_of(j, p) + part_col(j->g)); }
static float *part_db_of(const gemm_job *j, int p) { return (float *)((char *)part_dw_of(j, p) + part_dw(j->g)); }

static void forward_images(const gemm_job *j, int p, int b_lo, int b_hi)
{
	const cgeom *g = j->g;
	const thaw_node *n = j->n;
	const int P = g->P, K = g->K, OCg = g->OCg;
	const size_t HW = (size_t)g->H * g->W;
	float *c = part_col_of(j, p); // (K, P)
	const float *bias = n->a.bias ? n->p[1].w : NULL;
	thaw_conv_geom ig = im_geom(g);
	for (int b = b_lo; b < b_hi; b++)
		for (int gr = 0; gr < g->G; gr++) {
			const float *Wg = n->p[0].w + (size_t)gr * OCg * K; // (OCg, K)
			float *yb = j->y + ((size_t)b * g->OC + (size_t)gr * OCg) * P; // (OCg, P)
			thaw_im2col(c, P, j->x + ((size_t)b * g->C + (size_t)gr * g->Cg) * HW, &ig);
			if (K <= SMALL_K) {
				smallk_forward(yb, Wg, bias ? bias + gr * OCg : NULL, c, P, OCg, K, P);
				thaw_blas_add_flops(2.0 * OCg * K * P);
				continue;
			}
			// y_b (OCg, P) = W_g (OCg, K) col (K, P), straight into NCHW
			thaw_sgemm(0, 0, OCg, P, K, 1.0f, Wg, K, c, P, 0.0f, yb, P);
			for (int o = 0; bias && o < OCg; o++)
				add_bias(yb + (size_t)o * P, yb + (size_t)o * P, bias[gr * OCg + o], P);
		}
}

static void backward_images(const gemm_job *j, int p, int b_lo, int b_hi)
{
	const cgeom *g = j->g;
	const thaw_node *n = j->n;
	const int P = g->P, K = g->K, OCg = g->OCg;
	const size_t HW = (size_t)g->H * g->W;
	float *c = part_col_of(j, p);                                      // (K, P)
	float *dW = j->weight_grad ? part_dw_of(j, p) : NULL;              // (OC, K)
	float *db = j->weight_grad && n->a.bias ? part_db_of(j, p) : NULL; // (OC)
	thaw_conv_geom ig = im_geom(g);
	if (db)
		memset(db, 0, sizeof(float) * g->OC);
	if (dW && K <= SMALL_K)
		memset(dW, 0, sizeof(float) * g->OC * K);
	for (int b = b_lo; b < b_hi; b++)
		for (int gr = 0; gr < g->G; gr++) {
			const float *Wg = n->p[0].w + (size_t)gr * OCg * K;                 // (OCg, K)
			const float *d = j->dy + ((size_t)b * g->OC + (size_t)gr * OCg) * P; // dY (OCg, P)
			size_t xo = ((size_t)b * g->C + (size_t)gr * g->Cg) * HW;
			for (int o = 0; db && o < OCg; o++)
				db[gr * OCg + o] += sumf(d + (size_t)o * P, (size_t)P);
			if (dW) {
				float *dWg = dW + (size_t)gr * OCg * K; // (OCg, K)
				thaw_im2col(c, P, j->x + xo, &ig);
				if (K <= SMALL_K) {
					smallk_dw(dWg, d, c, P, OCg, K, P);
					thaw_blas_add_flops(2.0 * OCg * K * P);
				} else // dW_g (OCg, K) += dY (OCg, P) col^T (P, K)
					thaw_sgemm(0, 1, OCg, K, P, 1.0f, d, P, c, P, b > b_lo ? 1.0f : 0.0f, dWg, K);
			}
			if (!j->dx)
				continue;
			// dcol (K, P) = W_g^T (K, OCg) dY (OCg, P), into the col buffer, which is spent
			thaw_sgemm(1, 0, K, P, OCg, 1.0f, Wg, K, d, P, 0.0f, c, P);
			thaw_col2im_spent(j->dx + xo, c, P, &ig, j->acc);
		}
}

/* Indices [lo, hi) are parts; part p owns images [B*p/parts, B*(p+1)/parts). */
static void forward_parts(int lo, int hi, void *user)
{
	const gemm_job *j = user;
	for (int p = lo; p < hi; p++)
		forward_images(j, p, (int)((int64_t)j->B * p / j->parts),
			       (int)((int64_t)j->B * (p + 1) / j->parts));
}

static void backward_parts(int lo, int hi, void *user)
{
	const gemm_job *j = user;
	for (int p = lo; p < hi; p++)
		backward_images(j, p, (int)((int64_t)j->B * p / j->parts),
				(int)((int64_t)j->B * (p + 1) / j->parts));
}

static void gemm_forward(thaw_node *n, const cgeom *g, int B, const float *x, float *y, void *scratch)
{
	gemm_job j = job_of(n, g, B, scratch);
	int cap = parts_cap(g, B), parts = thaw_parallel_parts(B);
	j.parts = parts < cap ? parts : cap;
	j.x = x;
	j.y = y;
	((conv_state *)scratch)->parts = j.parts;
	thaw_parallel_for(j.parts, forward_parts, &j);
}

static void gemm_backward(thaw_node *n, const cgeom *g, const thaw_bwd *bw)
{
	gemm_job j = job_of(n, g, bw->B, bw->scratch);
	j.parts = ((const conv_state *)bw->scratch)->parts;
	j.x = bw->x[0];
	j.dy = bw->dy;
	j.dx = bw->dx[0];
	j.acc = bw->acc[0];
	j.weight_grad = bw->weight_grad;
	thaw_parallel_for(j.parts, backward_parts, &j);
	if (!bw->weight_grad)
		return;
	/* dW = sum of the parts' dW, in part order */
	const size_t nw = (size_t)g->OC * g->K;
	float *dW = n->p[0].g, *db = n->a.bias ? n->p[1].g : NULL;
	memcpy(dW, part_dw_of(&j, 0), nw * sizeof(float));
	if (db)
		memcpy(db, part_db_of(&j, 0), sizeof(float) * g->OC);
	for (int p = 1; p < j.parts; p++) {
		axpy(dW, 1.0f, part_dw_of(&j, p), (int)nw);
		for (int o = 0; db && o < g->OC; o++)
			db[o] += part_db_of(&j, p)[o];
	}
}

static void conv_forward(thaw_node *n, const thaw_fwd *f)
{
	cgeom g = geom_of(n);
	if (g.path == PATH_DIRECT)
		direct_forward(n, &g, f->B, f->x[0], f->y, f->scratch);
	else if (g.path == PATH_1X1)
		pointwise_forward(n, &g, f->B, f->x[0], f->y);
	else
		gemm_forward(n, &g, f->B, f->x[0], f->y, f->scratch);
}

static void conv_backward(thaw_node *n, const thaw_bwd *b)
{
	if (!b->weight_grad && !b->dx[0])
		return;
	cgeom g = geom_of(n);
	if (g.path == PATH_DIRECT) {
		direct_backward(n, &g, b);
		return;
	}
	if (b->weight_grad && n->a.bias && g.path == PATH_1X1) {
		float *db = n->p[1].g;
		for (int oc = 0; oc < g.OC; oc++) {
			float s = 0.0f;
			for (int i = 0; i < b->B; i++)
				s += sumf(b->dy + ((size_t)i * g.OC + oc) * g.P, (size_t)g.P);
			db[oc] = s;
		}
	}
	if (g.path == PATH_1X1)
		pointwise_backward(n, &g, b);
	else
		gemm_backward(n, &g, b);
}

static void conv_describe(const thaw_node *n, char *buf, size_t size)
{
	const thaw_attrs *a = &n->a;
	char pad[48], extra[64] = "";
	if (a->pad[0] == a->pad[1] && a->pad[0] == a->pad[2] && a->pad[0] == a->pad[3])
		snprintf(pad, sizeof pad, "p%d", a->pad[0]);
	else
		snprintf(pad, sizeof pad, "p%d,%d,%d,%d", a->pad[0], a->pad[1], a->pad[2], a->pad[3]);
	size_t k = 0;
	if (a->dh > 1 || a->dw > 1)
		k += (size_t)snprintf(extra + k, sizeof extra - k, " d%d", a->dh);
	if (a->groups > 1 && k < sizeof extra)
		k += (size_t)snprintf(extra + k, sizeof extra - k,
				      a->groups == n->in_shape[0].c ? " dw" : " g%d", a->groups);
	if (!a->bias && k < sizeof extra)
		snprintf(extra + k, sizeof extra - k, " nobias");
	char st[24];
	if (a->sh == a->sw)
		snprintf(st, sizeof st, "s%d", a->sh);
	else
		snprintf(st, sizeof st, "s%dx%d", a->sh, a->sw);
	snprintf(buf, size, "%dx%d %s %s %d->%d%s", a->kh, a->kw, st, pad, n->in_shape[0].c, a->filters,
		 extra);
}

const thaw_layer_ops thaw_conv2d_ops = {
	.name = "conv2d",
	.setup = conv_setup,
	.init = conv_init,
	.scratch = conv_scratch,
	.forward = conv_forward,
	.backward = conv_backward,
	.describe = conv_describe,
};
