/* conv2d, the direct path: depthwise convolutions (one input channel per
 * group), where K = kh*kw is too small for a GEMM; loops over the taps along
 * output rows. Chosen and called by conv2d.c. */
#include <string.h>

#include "conv2d.h"
#include "thaw/blas.h"
#include "thaw/parallel.h"

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

/* out (R, Cn) = init + sum over taps of w[ky*kw+kx] * in[r*sh + ky*dh][c*sw + kx*dw]
 * (or +=, with add), then through ch (the output op, NULL: none), in a
 * zero-padded plane with rows ldp apart; with sw = 2 each row is split in
 * its even and odd columns, ldh floats apart (pad_plane_s2), so that
 * eight outputs read eight consecutive inputs of one phase. Eight outputs
 * per vector with every tap accumulated in a register; the rows leave 8
 * columns of slack so the last, partial vector reads inside the plane.
 * Always inlined, so the 3x3 calls below get their loops unrolled and
 * their weights kept in registers. */
static inline __attribute__((always_inline)) void
correlate(float *restrict out, int R, int Cn, const float *restrict in, int ldp, int ldh,
	  const float *restrict w, int kh, int kw, int sh, int sw, int dh, int dw, float init, int add,
	  const cchan *ch)
{
	for (int r = 0; r < R; r++) {
		float *o = out + (size_t)r * Cn;
		for (int c = 0; c < Cn; c += 8) {
			v8 acc = {0};
			acc += init;
#pragma GCC unroll 4
			for (int ky = 0; ky < kh; ky++) {
				const float *row = in + (size_t)(r * sh + ky * dh) * ldp + c;
#pragma GCC unroll 4
				for (int kx = 0; kx < kw; kx++) {
					int t = kx * dw;
					acc += w[ky * kw + kx] * ld8(row + (sw == 1 ? t : (t % sw) * ldh + t / sw));
				}
			}
			if (ch)
				VPOST(acc, ch);
			if (c + 8 <= Cn) {
				if (add)
					acc += ld8(o + c);
				st8(o + c, acc);
			} else if ((size_t)r * Cn + c + 8 <= (size_t)R * Cn) {
				/* the partial vector of a row: blend into what follows it
				 * (the next rows, rewritten later), never past the plane,
				 * which another thread may be writing */
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
		correlate(out, R, Cn, in, ldp, 0, w, 3, 3, 1, 1, 1, 1, init, add, NULL);
	else
		correlate(out, R, Cn, in, ldp, 0, w, kh, kw, 1, 1, dh, dw, init, add, NULL);
}

/* Forward: stride sh x sw (sw 1 or 2), the output op ch (NULL: none). */
static void correlate_fwd(float *out, const cgeom *g, const float *in, int ldp, int ldh, const float *w, float init,
			  const cchan *ch)
{
	const int R = g->OH, Cn = g->OW;
	if (g->kh == 3 && g->kw == 3 && g->dh == 1 && g->dw == 1 && g->sh == g->sw && g->sw <= 2) {
		if (g->sw == 1 && ch)
			correlate(out, R, Cn, in, ldp, ldh, w, 3, 3, 1, 1, 1, 1, init, 0, ch);
		else if (g->sw == 1)
			correlate(out, R, Cn, in, ldp, ldh, w, 3, 3, 1, 1, 1, 1, init, 0, NULL);
		else if (ch)
			correlate(out, R, Cn, in, ldp, ldh, w, 3, 3, 2, 2, 1, 1, init, 0, ch);
		else
			correlate(out, R, Cn, in, ldp, ldh, w, 3, 3, 2, 2, 1, 1, init, 0, NULL);
	} else {
		correlate(out, R, Cn, in, ldp, ldh, w, g->kh, g->kw, g->sh, g->sw, g->dh, g->dw, init, 0, ch);
	}
}

/* dw[ky*kw+kx] += sum over (r, c) of d[r][c] * x[r*sh + ky*dh][c*sw + kx*dw]
 * for r < R, c < Cn; both planes padded, the columns of d past Cn zero, so
 * whole vectors can run over the row ends (stride 2 reads 16 floats a
 * vector: x's rows carry the slack, direct_slack). T = kh*kw <= 16. */
#define EVEN(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14)
#define LOAD_STRIDED(p, s) ((s) == 1 ? (v8)ld8(p) : (v8)EVEN(ld8(p), ld8((p) + 8)))
static inline __attribute__((always_inline)) void
weight_corr(float *restrict dwt, int R, int Cn, const float *restrict d, int ldd, const float *restrict x,
	    int ldx, int kh, int kw, int sh, int sw, int dh, int dw)
{
	v8 acc[16];
	for (int t = 0; t < kh * kw; t++)
		acc[t] = (v8){0};
	for (int r = 0; r < R; r++)
		for (int c = 0; c < Cn; c += 8) {
			v8 dv = ld8(d + (size_t)r * ldd + c);
			for (int ky = 0; ky < kh; ky++) {
				const float *row = x + (size_t)(r * sh + ky * dh) * ldx + (size_t)c * sw;
				for (int kx = 0; kx < kw; kx++)
					acc[ky * kw + kx] += dv * LOAD_STRIDED(row + kx * dw, sw);
			}
		}
	for (int t = 0; t < kh * kw; t++)
		dwt[t] += hsum8(&acc[t]);
}

static void weight_corr_any(float *dwt, int R, int Cn, const float *d, int ldd, const float *x, int ldx,
			    int kh, int kw, int sh, int sw, int dh, int dw)
{
	if (kh == 3 && kw == 3 && dh == 1 && dw == 1 && sh == 1 && sw == 1)
		weight_corr(dwt, R, Cn, d, ldd, x, ldx, 3, 3, 1, 1, 1, 1);
	else if (kh == 3 && kw == 3 && dh == 1 && dw == 1 && sh == 2 && sw == 2)
		weight_corr(dwt, R, Cn, d, ldd, x, ldx, 3, 3, 2, 2, 1, 1);
	else
		weight_corr(dwt, R, Cn, d, ldd, x, ldx, kh, kw, sh, sw, dh, dw);
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

/* p (rows, ldp) <- src (h, w) spread s apart in both directions (the
 * data gradient of a strided convolution), placed at (top, left), zeros
 * elsewhere. */
static void pad_plane_spread(float *p, int rows, int ldp, const float *src, int h, int w, int top, int left,
			     int s)
{
	memset(p, 0, sizeof(float) * (size_t)rows * ldp);
	for (int r = 0; r < h; r++) {
		float *d = p + (size_t)(top + r * s) * ldp + left;
		for (int i = 0; i < w; i++)
			d[i * s] = src[(size_t)r * w + i];
	}
}

/* Backward runs on padded planes for stride 1 and 2 when the padding is
 * within the kernel's reach for the transposed correlation (it always is
 * in practice). Stride 2 (MobileNet's downsampling depthwise
 * convolutions): dW reads x's padded plane two columns a lane, and dx is
 * the flipped kernel run over dy spread two apart (four times the
 * products, but whole vectors instead of a scalar scatter: MobileNetV2's
 * 96-channel 112x112 one went from 105 to 59 ms of CPU a batch of 32). */
static int direct_fast_bwd(const thaw_node *n, const cgeom *g)
{
	const int *pad = n->a.pad;
	int eh = (g->kh - 1) * g->dh, ew = (g->kw - 1) * g->dw;
	int stride = (g->sh == 1 && g->sw == 1) || (g->sh == 2 && g->sw == 2);
	/* dy spread s apart fits dy's padded plane (H + eh, W + ew) */
	int fits = (g->OH - 1) * g->sh + 1 + eh - pad[0] <= g->H + eh &&
		   (g->OW - 1) * g->sw + 1 + ew - pad[1] <= g->W + ew;
	return stride && fits && g->kh * g->kw <= 16 && pad[0] <= eh && pad[2] <= eh && pad[1] <= ew &&
	       pad[3] <= ew;
}

/* Columns past a padded row that whole vectors may read: 8, or 24 where a
 * stride-2 vector reads 16 floats from up to 8 columns before the end. */
static int direct_slack(const cgeom *g) { return g->sw == 2 ? 24 : 8; }

/* Scratch, per part (at most DIRECT_PARTS, which split the channels):
 * x padded (H + pt + pb, W + pl + pr + slack), then dy padded by the
 * kernel's reach (H + eh, W + ew + 8). */
enum { DIRECT_PARTS = 8 };
static size_t direct_xpad(const thaw_node *n, const cgeom *g)
{
	const int *pad = n->a.pad;
	return round64((size_t)(g->H + pad[0] + pad[2]) * (g->W + pad[1] + pad[3] + direct_slack(g)) *
		       sizeof(float));
}

static size_t direct_part(const thaw_node *n, const cgeom *g)
{
	size_t b = (size_t)(g->H + (g->kh - 1) * g->dh) * (g->W + (g->kw - 1) * g->dw + 8);
	return direct_xpad(n, g) + round64(b * sizeof(float));
}

static int direct_parts_cap(const cgeom *g) { return g->C < DIRECT_PARTS ? g->C : DIRECT_PARTS; }

/* p (rows, 2 * ldh) <- src (h, w) placed at (top, left) with zeros around
 * it, each padded row stored as its even columns, then (ldh floats on) its
 * odd ones: the plane a stride-2 correlate reads. */
static void pad_plane_s2(float *p, int rows, int ldh, const float *src, int h, int w, int top, int left)
{
	memset(p, 0, sizeof(float) * (size_t)top * 2 * ldh);
	/* source column s lands at padded column s + left: the even s in phase
	 * left & 1 from index left >> 1, the odd ones in the other phase */
	const int pe = left & 1, ie = left >> 1, io = (left + 1) >> 1;
	for (int r = 0; r < h; r++) {
		float *d = p + (size_t)(top + r) * 2 * ldh, *de = d + pe * ldh + ie, *dodd = d + (1 - pe) * ldh + io;
		const float *sr = src + (size_t)r * w;
		memset(d, 0, sizeof(float) * 2 * (size_t)ldh);
		int k = 0;
		for (; 2 * k + 16 <= w; k += 8) {
			v8 va = ld8(sr + 2 * k), vb = ld8(sr + 2 * k + 8);
			st8(de + k, __builtin_shufflevector(va, vb, 0, 2, 4, 6, 8, 10, 12, 14));
			st8(dodd + k, __builtin_shufflevector(va, vb, 1, 3, 5, 7, 9, 11, 13, 15));
		}
		for (; 2 * k < w; k++) {
			de[k] = sr[2 * k];
			if (2 * k + 1 < w)
				dodd[k] = sr[2 * k + 1];
		}
	}
	memset(p + (size_t)(top + h) * 2 * ldh, 0, sizeof(float) * (size_t)(rows - top - h) * 2 * ldh);
}

/* Forward runs on padded planes for horizontal strides 1 and 2 (the plane
 * split in phases for 2), others on the unpadded loops. */
static int direct_plane_fwd(const cgeom *g) { return g->sw == 1 || g->sw == 2; }

/* A forward plane: rows and floats a row (ldp; ldh a phase with stride 2). */
static void fwd_plane_dims(const thaw_node *n, const cgeom *g, int *rows, int *ldp, int *ldh)
{
	const int *pad = n->a.pad;
	int wp = g->W + pad[1] + pad[3];
	*rows = g->H + pad[0] + pad[2];
	*ldh = g->sw == 2 ? (wp + 1) / 2 + 8 : 0;
	*ldp = g->sw == 2 ? 2 * *ldh : wp + 8;
}

static size_t fwd_plane_bytes(const thaw_node *n, const cgeom *g)
{
	int rows, ldp, ldh;
	fwd_plane_dims(n, g, &rows, &ldp, &ldh);
	return round64((size_t)rows * ldp * sizeof(float));
}

/* Forward splits the B*C input planes over at most FWD_PARTS parts, each
 * with its own padded plane in scratch (at most FWD_BYTES of them). A
 * function of the shapes alone, so scratch and forward agree. */
enum { FWD_PARTS = 16, FWD_BYTES = 16 << 20 };

static int fwd_parts_cap(const thaw_node *n, const cgeom *g)
{
	size_t cap = FWD_BYTES / fwd_plane_bytes(n, g);
	return cap < 1 ? 1 : cap > FWD_PARTS ? FWD_PARTS : (int)cap;
}

size_t thaw_conv2d_direct_scratch(const thaw_node *n, const cgeom *g)
{
	size_t bwd = (size_t)direct_parts_cap(g) * direct_part(n, g);
	size_t fwd = direct_plane_fwd(g) ? (size_t)fwd_parts_cap(n, g) * fwd_plane_bytes(n, g) : 0;
	return bwd > fwd ? bwd : fwd;
}

typedef struct dw_job {
	const thaw_node *n;
	const cgeom *g;
	const float *x;
	float *y;
	char *scratch;
	const cpost *op;
	int BC, parts;
} dw_job;

/* Part p: input planes [BC*p/parts, BC*(p+1)/parts) in its own buffer. */
static void dw_forward_parts(int lo, int hi, void *user)
{
	const dw_job *j = user;
	const thaw_node *n = j->n;
	const cgeom *g = j->g;
	const float *W = n->p[0].w; // (OC, 1, kh, kw)
	const size_t HW = (size_t)g->H * g->W, T = (size_t)g->kh * g->kw;
	const int *pad = n->a.pad, plane = direct_plane_fwd(g);
	int rows, ldp, ldh;
	fwd_plane_dims(n, g, &rows, &ldp, &ldh);
	for (int p = lo; p < hi; p++) {
		float *pbuf = (float *)(j->scratch + (size_t)p * fwd_plane_bytes(n, g));
		int i0 = (int)((int64_t)j->BC * p / j->parts), i1 = (int)((int64_t)j->BC * (p + 1) / j->parts);
		for (int i = i0; i < i1; i++) {
			const int b = i / g->C, ic = i % g->C;
			const float *xp = j->x + (size_t)i * HW;
			if (plane && g->sw == 1)
				pad_plane(pbuf, rows, ldp, xp, g->H, g->W, pad[0], pad[1]);
			else if (plane)
				pad_plane_s2(pbuf, rows, ldh, xp, g->H, g->W, pad[0], pad[1]);
			for (int oc = ic * g->OCg; oc < (ic + 1) * g->OCg; oc++) {
				float *yp = j->y + ((size_t)b * g->OC + oc) * g->P;
				/* the bias starts the sum; a folded batch norm scales the
				 * taps and starts the sum at (bias - mean) * mul + beta,
				 * which leaves only the clamp after it */
				cchan ch = cpost_chan(j->op, oc);
				if (plane && (!j->op->post || T <= 64)) {
					float wf[64];
					const float *w = W + oc * T;
					float init = ch.add;
					if (j->op->post) {
						for (size_t t = 0; t < T; t++)
							wf[t] = w[t] * ch.mul;
						w = wf;
						init = ch.add * ch.mul + ch.beta;
						ch.add = 0.0f;
						ch.scale = 0;
					}
					correlate_fwd(yp, g, pbuf, ldp, ldh, w, init, ch.clamp ? &ch : NULL);
				} else if (plane) {
					correlate_fwd(yp, g, pbuf, ldp, ldh, W + oc * T, 0.0f, &ch);
				} else {
					float init = j->op->post ? 0.0f : ch.add;
					direct_plane_forward(yp, xp, W + oc * T, init, g);
					if (j->op->post)
						cchan_apply(&ch, yp, yp, g->P);
				}
			}
		}
	}
}

void thaw_conv2d_direct_forward(const thaw_node *n, const cgeom *g, int B, const float *x, float *y,
				float *pbuf, const cpost *op)
{
	dw_job j = {.n = n, .g = g, .x = x, .y = y, .scratch = (char *)pbuf, .op = op, .BC = B * g->C};
	int cap = direct_plane_fwd(g) ? fwd_parts_cap(n, g) : FWD_PARTS;
	j.parts = thaw_parallel_parts(j.BC);
	j.parts = j.parts < cap ? j.parts : cap;
	thaw_blas_add_flops(2.0 * B * g->OC * g->P * (double)g->kh * g->kw);
	thaw_parallel_for(j.parts, dw_forward_parts, &j);
}

/* Backward splits the channels over the pool's parts, each with its own
 * padded planes; a channel's dW and db are summed over the images in
 * order by one part, so a thread count gives one result. */
typedef struct direct_job {
	thaw_node *n;
	const cgeom *g;
	const thaw_bwd *bw;
	int parts;
} direct_job;

static void backward_channels(const direct_job *j, int p, int ic0, int ic1)
{
	thaw_node *n = j->n;
	const cgeom *g = j->g;
	const thaw_bwd *bw = j->bw;
	const int B = bw->B;
	const float *W = n->p[0].w;
	float *dW = bw->weight_grad ? n->p[0].g : NULL;
	float *db = bw->weight_grad && n->a.bias ? n->p[1].g : NULL;
	float *dx = bw->dx[0];
	const size_t HW = (size_t)g->H * g->W, T = (size_t)g->kh * g->kw;
	const int fast = direct_fast_bwd(n, g), *pad = n->a.pad;
	const int eh = (g->kh - 1) * g->dh, ew = (g->kw - 1) * g->dw;
	const int xrows = g->H + pad[0] + pad[2], ldx = g->W + pad[1] + pad[3] + direct_slack(g);
	const int drows = g->H + eh, ldd = g->W + ew + 8;
	float *xbuf = (float *)((char *)bw->scratch + (size_t)p * direct_part(n, g));
	float *dbuf = (float *)((char *)xbuf + direct_xpad(n, g));
	const int spread = g->sh > 1 || g->sw > 1;
	float wf[16]; /* the flipped kernel */
	if (dW)
		memset(dW + (size_t)ic0 * g->OCg * T, 0, sizeof(float) * T * g->OCg * (ic1 - ic0));
	for (int oc = ic0 * g->OCg; db && oc < ic1 * g->OCg; oc++)
		db[oc] = 0.0f;
	/* images outside, so a part's planes of one image are read in a row */
	for (int b = 0; b < B; b++)
		for (int ic = ic0; ic < ic1; ic++) {
			const int oc0 = ic * g->OCg, oc1 = oc0 + g->OCg;
			size_t xo = ((size_t)b * g->C + ic) * HW;
			if (dx && !bw->acc[0] && !fast)
				memset(dx + xo, 0, HW * sizeof(float));
			if (fast && dW)
				pad_plane(xbuf, xrows, ldx, bw->x[0] + xo, g->H, g->W, pad[0], pad[1]);
			for (int oc = oc0; oc < oc1; oc++) {
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
				 * is the flipped kernel run over it (dy spread s apart) */
				pad_plane(dbuf, drows, ldd, dy, g->OH, g->OW, eh - pad[0], ew - pad[1]);
				if (dW)
					weight_corr_any(dW + oc * T, g->OH, g->OW,
							dbuf + (size_t)(eh - pad[0]) * ldd + (ew - pad[1]), ldd, xbuf, ldx,
							g->kh, g->kw, g->sh, g->sw, g->dh, g->dw);
				if (!dx)
					continue;
				if (spread)
					pad_plane_spread(dbuf, drows, ldd, dy, g->OH, g->OW, eh - pad[0], ew - pad[1],
							 g->sh);
				for (size_t t = 0; t < T; t++)
					wf[t] = W[oc * T + T - 1 - t];
				correlate_any(dx + xo, g->H, g->W, dbuf, ldd, wf, g->kh, g->kw, g->dh, g->dw, 0.0f,
					      bw->acc[0] || oc > oc0);
			}
		}
}

static void backward_parts(int lo, int hi, void *user)
{
	const direct_job *j = user;
	for (int p = lo; p < hi; p++)
		backward_channels(j, p, (int)((int64_t)j->g->C * p / j->parts),
				  (int)((int64_t)j->g->C * (p + 1) / j->parts));
}

void thaw_conv2d_direct_backward(thaw_node *n, const cgeom *g, const thaw_bwd *bw)
{
	const double T = (double)g->kh * g->kw;
	thaw_blas_add_flops(2.0 * bw->B * g->OC * g->P * T * ((bw->weight_grad != 0) + (bw->dx[0] != NULL)));
	int parts = thaw_parallel_parts(g->C), cap = direct_parts_cap(g);
	direct_job j = {n, g, bw, parts < cap ? parts : cap};
	thaw_parallel_for(j.parts, backward_parts, &j);
}
