/* maxpool: ONNX MaxPool / torch.nn.MaxPool2d (no dilation).
 *   x (B, C, H, W) -> y (B, C, OH, OW); padding is -inf, so a window takes
 *   the max of its pixels inside the image.
 *   OH = floor or ceil((H + pt + pb - kh) / sh) + 1; with ceil_mode a last
 *   window that would start in the bottom/right padding is dropped (the
 *   PyTorch rule), so every window holds at least one pixel.
 * A training pass records the argmax of each window (its index in the
 * input plane) in scratch, which makes backward a scatter; an inference
 * pass skips it where that saves time (any window but 2x2 s2). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "thaw/layer.h"
#include "thaw/parallel.h"

static size_t maxpool_scratch(const thaw_node *n, int B, int training)
{
	return (size_t)B * thaw_shape_sample(n->out) * sizeof(int32_t);
}

/* Selects through bit masks: GCC turns `c ? a : b` on floats back into
 * branches, which mispredict on half of all pixels. m is 0 or ~0. */
static inline float fsel(uint32_t m, float a, float b)
{
	uint32_t ua, ub;
	memcpy(&ua, &a, 4);
	memcpy(&ub, &b, 4);
	ua = (ua & m) | (ub & ~m);
	memcpy(&a, &ua, 4);
	return a;
}

typedef float v8 __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4), may_alias));
typedef int32_t v8iu __attribute__((vector_size(32), aligned(4), may_alias));
#define EVEN(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14)
#define ODD(a, b) __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15)
/* m ? a : b per lane, m all ones or zeros; float lanes through their bits */
#define VSEL(m, a, b) ((v8)(((m) & (v8i)(a)) | (~(m) & (v8i)(b))))
static const v8i lane8 = {0, 1, 2, 3, 4, 5, 6, 7};

/* y (OH, OW), arg (OH, OW) <- x (H, W), the common 2x2 stride 2 case, eight
 * windows at a time. `| (v != v)` lets a NaN win, as in PyTorch. */
static void max2x2_plane(float *restrict y, int32_t *restrict arg, const float *restrict x, int W,
			 int OH, int OW)
{
	const v8i lane2 = {0, 2, 4, 6, 8, 10, 12, 14};
	for (int oy = 0; oy < OH; oy++) {
		const float *r0 = x + (size_t)2 * oy * W, *r1 = r0 + W;
		float *yr = y + (size_t)oy * OW;
		int32_t *ar = arg + (size_t)oy * OW;
		const int32_t base = 2 * oy * W;
		/* the last group of a row overlaps the one before (OW = 14 in
		 * the reference CNN): recomputing a window is cheaper than a
		 * scalar tail */
		int ox = 0;
		for (int next = 0; OW >= 8 && next < OW; next = ox + 8) {
			ox = next + 8 <= OW ? next : OW - 8;
			v8 l0 = *(const v8u *)(r0 + 2 * ox), h0 = *(const v8u *)(r0 + 2 * ox + 8);
			v8 l1 = *(const v8u *)(r1 + 2 * ox), h1 = *(const v8u *)(r1 + 2 * ox + 8);
			v8 a = EVEN(l0, h0), b = ODD(l0, h0), c = EVEN(l1, h1), d = ODD(l1, h1);
			v8i sb = (b > a) | (b != b), sd = (d > c) | (d != d);
			v8 m1 = VSEL(sb, b, a), m2 = VSEL(sd, d, c);
			v8i s2 = (m2 > m1) | (m2 != m2);
			v8i i0 = base + 2 * ox + lane2;
			v8i i1 = i0 - sb, i2 = i0 + W - sd; /* sb is -1 where b won */
			*(v8u *)(yr + ox) = VSEL(s2, m2, m1);
			*(v8iu *)(ar + ox) = (s2 & i2) | (~s2 & i1);
		}
		/* narrow rows (OW = 7 after 14x14): branch-free, as data-dependent
		 * branches here mispredict half the time */
		for (ox = OW >= 8 ? OW : 0; ox < OW; ox++) {
			float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
			int sb = (b > a) | (b != b), sd = (d > c) | (d != d);
			float m1 = fsel(-(uint32_t)sb, b, a), m2 = fsel(-(uint32_t)sd, d, c);
			int s2 = (m2 > m1) | (m2 != m2);
			yr[ox] = fsel(-(uint32_t)s2, m2, m1);
			ar[ox] = base + 2 * ox + sb + s2 * (W + sd - sb);
		}
	}
}

/* Outputs [oy0, oy1) x [ox0, ox1) of any window, branch-free: on real
 * activations `v > best` mispredicts about half the time. The first NaN
 * wins and stays, as in PyTorch. arg may be NULL (inference). */
static void max_region(float *y, int32_t *arg, const float *x, const thaw_attrs *a, int H, int W, int OW,
		       int oy0, int oy1, int ox0, int ox1)
{
	for (int oy = oy0; oy < oy1; oy++) {
		int ys = oy * a->sh - a->pad[0];
		int y0 = ys < 0 ? 0 : ys, y1 = ys + a->kh < H ? ys + a->kh : H;
		for (int ox = ox0; ox < ox1; ox++) {
			int xs = ox * a->sw - a->pad[1];
			int x0 = xs < 0 ? 0 : xs, x1 = xs + a->kw < W ? xs + a->kw : W;
			float best = -INFINITY;
			int32_t bi = y0 * W + x0;
			for (int iy = y0; iy < y1; iy++)
				for (int ix = x0; ix < x1; ix++) {
					float v = x[(size_t)iy * W + ix];
					uint32_t s = (uint32_t)((v > best) | ((v != v) & (best == best)));
					best = fsel(-s, v, best);
					bi += (int32_t)s * (iy * W + ix - bi);
				}
			y[(size_t)oy * OW + ox] = best;
			if (arg)
				arg[(size_t)oy * OW + ox] = bi;
		}
	}
}

/* Eight windows of stride 1 or 2 starting at input column xs of row r:
 * lanes l read r[xs + sw*l]. The caller keeps r[xs + 15] inside the plane.
 * A macro: vectors never cross a function boundary by value (that ABI
 * depends on -march). */
#define LOAD_STRIDED(r, xs, sw)                                                                  \
	((sw) == 1 ? (v8) * (const v8u *)((r) + (xs))                                             \
		   : EVEN(*(const v8u *)((r) + (xs)), *(const v8u *)((r) + (xs) + 8)))

/* Any window with stride 1 or 2 (ResNet's 3x3 s2 p1), eight outputs of a
 * row at a time over the interior, whose windows lie inside the image and
 * whose loads stay in the plane; the border goes through max_region. The
 * taps run in the same order as there, so ties and NaNs resolve alike.
 * The scalar code took 14% of ResNet-18's inference, more than a conv. */
static void max_plane(float *y, int32_t *arg, const float *x, const thaw_attrs *a, int H, int W, int OH,
		      int OW)
{
	const int sh = a->sh, sw = a->sw, pt = a->pad[0], pl = a->pad[1], kh = a->kh, kw = a->kw;
	/* interior rows: ys >= 0 and ys + kh <= H */
	int iy0 = (pt + sh - 1) / sh, iy1 = H - kh + pt >= 0 ? (H - kh + pt) / sh + 1 : 0;
	/* interior columns: xs >= 0 and the last load xs + kw - 1 + 15 (stride 2)
	 * or + 7 (stride 1) inside the row, so a group never reads past it */
	int reach = sw == 2 ? 16 : 8;
	int ix0 = (pl + sw - 1) / sw, ix1 = W - kw - reach + 1 + pl >= 0 ? (W - kw - reach + 1 + pl) / sw + 8 : 0;
	iy1 = iy1 < OH ? iy1 : OH;
	ix1 = ix1 < OW ? ix1 : OW; /* groups start at most at ix1 - 8 */
	if ((sw != 1 && sw != 2) || iy1 <= iy0 || ix1 - ix0 < 8) {
		max_region(y, arg, x, a, H, W, OW, 0, OH, 0, OW);
		return;
	}
	max_region(y, arg, x, a, H, W, OW, 0, iy0, 0, OW);
	max_region(y, arg, x, a, H, W, OW, iy1, OH, 0, OW);
	max_region(y, arg, x, a, H, W, OW, iy0, iy1, 0, ix0);
	max_region(y, arg, x, a, H, W, OW, iy0, iy1, ix1, OW);
	for (int oy = iy0; oy < iy1; oy++) {
		const int ys = oy * sh - pt;
		int ox = ix0;
		for (int next = ix0; next < ix1; next = ox + 8) {
			ox = next + 8 <= ix1 ? next : ix1 - 8; /* the last group overlaps */
			const int xs = ox * sw - pl;
			v8 best = LOAD_STRIDED(x + (size_t)ys * W, xs, sw);
			v8i bi = (ys * W + xs) + sw * lane8;
			for (int ky = 0; ky < kh; ky++) {
				const float *r = x + (size_t)(ys + ky) * W;
				for (int kx = ky ? 0 : 1; kx < kw; kx++) {
					v8 v = LOAD_STRIDED(r, xs + kx, sw);
					v8i s = (v > best) | ((v != v) & (best == best));
					best = VSEL(s, v, best);
					if (arg)
						bi = (s & ((ys + ky) * W + xs + kx + sw * lane8)) | (~s & bi);
				}
			}
			*(v8u *)(y + (size_t)oy * OW + ox) = best;
			if (arg)
				*(v8iu *)(arg + (size_t)oy * OW + ox) = bi;
		}
	}
}

/* Planes (image, channel) are independent: the pool splits them. */
typedef struct pool_job {
	const thaw_node *n;
	const float *x, *dy;
	float *y, *dx;
	int32_t *arg;
	int acc, fast, training; /* training: record the argmax for backward */
} pool_job;


static int fast_2x2(const thaw_attrs *a, int H, int W, int OH, int OW)
{
	return a->kh == 2 && a->kw == 2 && a->sh == 2 && a->sw == 2 && !a->pad[0] && !a->pad[1] &&
	       2 * OH <= H && 2 * OW <= W;
}

static void forward_planes(int lo, int hi, void *user)
{
	const pool_job *j = user;
	const thaw_attrs *a = &j->n->a;
	const int H = j->n->in_shape[0].h, W = j->n->in_shape[0].w, OH = j->n->out.h, OW = j->n->out.w;
	const size_t HW = (size_t)H * W, P = (size_t)OH * OW;
	for (size_t i = (size_t)lo; i < (size_t)hi; i++) {
		if (j->fast)
			max2x2_plane(j->y + i * P, j->arg + i * P, j->x + i * HW, W, OH, OW);
		else
			max_plane(j->y + i * P, j->training ? j->arg + i * P : NULL, j->x + i * HW, a, H, W, OH, OW);
	}
}

static void maxpool_forward(thaw_node *n, const thaw_fwd *f)
{
	const int H = n->in_shape[0].h, W = n->in_shape[0].w, OH = n->out.h, OW = n->out.w;
	const int planes = f->B * n->out.c;
	pool_job j = {.n = n, .x = f->x[0], .y = f->y, .arg = f->scratch, .training = f->training,
		      .fast = fast_2x2(&n->a, H, W, OH, OW)}; // arg (B, C, OH, OW)
	if ((size_t)planes * OH * OW < THAW_PARALLEL_MIN)
		forward_planes(0, planes, &j);
	else
		thaw_parallel_for(planes, forward_planes, &j);
}

static void backward_planes(int lo, int hi, void *user)
{
	const pool_job *j = user;
	const int H = j->n->in_shape[0].h, W = j->n->in_shape[0].w, OH = j->n->out.h, OW = j->n->out.w;
	const size_t HW = (size_t)H * W, P = (size_t)OH * OW;
	for (size_t i = (size_t)lo; i < (size_t)hi; i++) {
		float *d = j->dx + i * HW;
		const float *dy = j->dy + i * P;
		const int32_t *ar = j->arg + i * P;
		/* zeroed plane by plane, just before its scatter, while in L1 */
		if (!j->acc)
			memset(d, 0, HW * sizeof(float));
		for (size_t p = 0; p < P; p++)
			d[ar[p]] += dy[p];
	}
}

static void maxpool_backward(thaw_node *n, const thaw_bwd *b)
{
	if (!b->dx[0])
		return;
	const int H = n->in_shape[0].h, W = n->in_shape[0].w, OH = n->out.h, OW = n->out.w;
	const int planes = b->B * n->out.c;
	pool_job j = {.n = n, .dy = b->dy, .dx = b->dx[0], .arg = b->scratch, .acc = b->acc[0],
		      .fast = fast_2x2(&n->a, H, W, OH, OW)};
	if ((size_t)planes * H * W < THAW_PARALLEL_MIN)
		backward_planes(0, planes, &j);
	else
		thaw_parallel_for(planes, backward_planes, &j);
}

static void maxpool_describe(const thaw_node *n, char *buf, size_t size)
{
	const thaw_attrs *a = &n->a;
	char pad[48] = "";
	if (a->pad[0] || a->pad[1] || a->pad[2] || a->pad[3]) {
		if (a->pad[0] == a->pad[1] && a->pad[0] == a->pad[2] && a->pad[0] == a->pad[3])
			snprintf(pad, sizeof pad, " p%d", a->pad[0]);
		else
			snprintf(pad, sizeof pad, " p%d,%d,%d,%d", a->pad[0], a->pad[1], a->pad[2], a->pad[3]);
	}
	snprintf(buf, size, "%dx%d s%d%s%s", a->kh, a->kw, a->sh, pad, a->ceil_mode ? " ceil" : "");
}

const thaw_layer_ops thaw_maxpool_ops = {
	.name = "maxpool",
	.setup = thaw_pool_setup,
	.scratch = maxpool_scratch,
	.forward = maxpool_forward,
	.backward = maxpool_backward,
	.describe = maxpool_describe,
};
