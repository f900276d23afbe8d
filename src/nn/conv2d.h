/* conv2d internals shared by its files: conv2d.c (shapes, the choice of
 * kernel, dispatch), conv2d_direct.c (depthwise), conv2d_gemm.c (1x1,
 * small K, im2col + GEMM) and conv2d_wino.c (3x3 stride 1, Winograd). Not a public header: only src/nn/conv2d*.c. */
#ifndef THAW_NN_CONV2D_H
#define THAW_NN_CONV2D_H

#include <stdint.h>

#include "thaw/layer.h"

enum { PATH_DIRECT, PATH_1X1, PATH_GEMM, PATH_WINO };
/* Winograd (conv2d_wino.c) takes 3x3 stride-1 convolutions with at least
 * WINO_MIN_C input channels (any number out) and at most WINO_TW_MAX tiles
 * of 4 a row. Measured against im2col + GEMM, CPU ms of forward + dx + dW,
 * one thread, batch 64: 32 -> 64 at 14x14 (the reference CNN's conv2)
 * 9.9 instead of 18.2; 16 -> 32 at 28x28 12.5 instead of 20.5; 12 -> 24
 * 7.7 / 12.8; 64 -> 8 16.9 / 38.9; 8 -> 64 even (20.7 / 20.7); 3 -> 64
 * 18.5 / 11.8. ResNet-18's layers (64..512, 56..7) take 0.37-0.46 of the
 * GEMM path's time. */
#if defined(__AVX2__)
enum { WINO_MIN_C = 12, WINO_TW_MAX = 128 };
#else /* SSE2 only (make portable): the transforms run at half the width
       * without FMA; 32 -> 64 at 14x14 took 20.8 instead of 18.5, 64 -> 64
       * at 56x56 0.71 of the GEMM path's time */
enum { WINO_MIN_C = 64, WINO_TW_MAX = 128 };
#endif

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
static inline float sumf(const float *x, size_t n)
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

/* The output pass of a forward (direct, 1x1 and im2col paths): per output
 * channel o, y = v + bias[o], or with a folded batch norm (thaw_fwd.post)
 * y = (v + post[o]) * post[OC + o] + post[2OC + o], then clamped to
 * [lo, hi] (NaN to lo) for the ReLU or ReLU6 folded with it. */
typedef struct cpost {
	const float *bias, *post; /* NULL: none */
	int OC, clamp;
	float lo, hi;
} cpost;

/* One channel's constants: y = (v + add) * mul + beta (scale), clamped. */
typedef struct cchan {
	float add, mul, beta, lo, hi;
	int scale, clamp;
} cchan;

static inline cpost cpost_of(const thaw_node *n, const thaw_fwd *f)
{
	cpost p = {.bias = n->a.bias ? n->p[1].w : NULL, .OC = n->a.filters};
	if (f && f->post) {
		p.post = f->post;
		p.clamp = f->post_relu || f->post_clip;
		p.lo = f->post_clip ? f->post_lo : 0.0f;
		p.hi = f->post_clip ? f->post_hi : __builtin_inff();
	}
	return p;
}

static inline cchan cpost_chan(const cpost *p, int o)
{
	cchan c = {.add = p->bias ? p->bias[o] : 0.0f, .mul = 1.0f, .clamp = p->clamp, .lo = p->lo, .hi = p->hi};
	if (p->post) {
		c.add = p->post[o];
		c.mul = p->post[p->OC + o];
		c.beta = p->post[2 * p->OC + o];
		c.scale = 1;
	}
	return c;
}

/* v (a v8) through channel c's output op */
#define VCLAMP(v, l, h)                                                                                                \
	do {                                                                                                           \
		v8 l_ = {0}, h_ = {0};                                                                                 \
		l_ += (l);                                                                                             \
		h_ += (h);                                                                                             \
		v8i m_ = (v) > l_;                                                                                     \
		(v) = (v8)((m_ & (v8i)(v)) | (~m_ & (v8i)l_));                                                         \
		m_ = (v) < h_;                                                                                         \
		(v) = (v8)((m_ & (v8i)(v)) | (~m_ & (v8i)h_));                                                         \
	} while (0)
#define VPOST(v, c)                                                                                                    \
	do {                                                                                                           \
		(v) += (c)->add;                                                                                       \
		if ((c)->scale)                                                                                        \
			(v) = (v) * (c)->mul + (c)->beta;                                                              \
		if ((c)->clamp)                                                                                        \
			VCLAMP(v, (c)->lo, (c)->hi);                                                                   \
	} while (0)

static inline float cchan_one(const cchan *c, float v)
{
	v += c->add;
	if (c->scale)
		v = v * c->mul + c->beta;
	if (c->clamp) {
		v = v > c->lo ? v : c->lo;
		v = v < c->hi ? v : c->hi;
	}
	return v;
}

/* y[i] = the op of x[i], i < n (x may be y) */
static inline void cchan_apply(const cchan *c, float *y, const float *x, int n)
{
	int i = 0;
	for (; i + 8 <= n; i += 8) {
		v8 v = ld8(x + i);
		VPOST(v, c);
		st8(y + i, v);
	}
	for (; i < n; i++)
		y[i] = cchan_one(c, x[i]);
}

typedef struct cgeom {
	int C, H, W, G, Cg, OC, OCg;
	int kh, kw, sh, sw, pt, pl, dh, dw;
	int OH, OW, P, K; /* P = OH*OW, K = Cg*kh*kw */
	int path;
} cgeom;

static inline size_t round64(size_t b) { return (b + 63) & ~(size_t)63; }

/* Scratch bytes and kernels of each path; g comes from the node's shapes. */
size_t thaw_conv2d_direct_scratch(const thaw_node *n, const cgeom *g);
/* op: the output pass (the bias or a folded batch norm, cpost_of) */
void thaw_conv2d_direct_forward(const thaw_node *n, const cgeom *g, int B, const float *x, float *y,
				float *scratch, const cpost *op);
void thaw_conv2d_direct_backward(thaw_node *n, const cgeom *g, const thaw_bwd *bw);
void thaw_conv2d_pointwise_forward(const thaw_node *n, const cgeom *g, int B, const float *x,
				   float *y, const cpost *op);
void thaw_conv2d_pointwise_backward(thaw_node *n, const cgeom *g, const thaw_bwd *bw);
size_t thaw_conv2d_pointwise_scratch(const cgeom *g, int B); /* backward's per-part dW */
size_t thaw_conv2d_gemm_scratch(const cgeom *g, int B);
void thaw_conv2d_gemm_forward(thaw_node *n, const cgeom *g, int B, const float *x, float *y,
			      void *scratch, const cpost *op);
void thaw_conv2d_gemm_backward(thaw_node *n, const cgeom *g, const thaw_bwd *bw);
size_t thaw_conv2d_wino_scratch(const cgeom *g, int B, int training);
/* post: a folded batch norm (thaw_fwd.post), NULL: none */
void thaw_conv2d_wino_forward(const thaw_node *n, const cgeom *g, int B, const float *x, float *y, void *scratch,
			      const float *post, int post_relu);
/* dx (B, C, H, W) = or += (acc) the data gradient of dy (B, OC, OH, OW) */
/* dW and db (overwritten) from x (B, C, H, W) and dy (B, OC, OH, OW) */
void thaw_conv2d_wino_backward_weights(thaw_node *n, const cgeom *g, int B, const float *x, const float *dy,
				       void *scratch);
void thaw_conv2d_wino_backward_data(const thaw_node *n, const cgeom *g, int B, const float *dy, float *dx, int acc,
				    void *scratch);

#endif
