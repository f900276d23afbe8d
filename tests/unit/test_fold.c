/* Batch norms folded into the convolution before them in inference passes
 * (src/nn/model_exec.c decides, every conv path applies them): the folded
 * output against a training pass with the batch norm frozen, which runs
 * conv, batch norm and activation apart with the same running statistics,
 * on every path (im2col + GEMM with stride 2, banded 7x7, batched small
 * maps, small K; 1x1; depthwise stride 1, 2 and 3), with and without a
 * bias, with no activation, a ReLU or a ReLU6 after the batch norm. Then
 * the rules: what is read twice is not folded, a pass that stops at the
 * batch norm leaves its (activated) output there, and results repeat bit
 * for bit. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "thaw/blas.h"
#include "thaw/layer.h"
#include "thaw/parallel.h"

enum { ACT_NONE, ACT_RELU, ACT_RELU6 };
static const char *act_name[] = {"none", "relu", "relu6"};

/* Random running statistics, gamma and beta (frozen, so a training pass
 * uses the running statistics too), and a random conv bias. */
static void randomize_bn(thaw_model *m, int bn, thaw_rng *r)
{
	thaw_node *b = m->nodes[bn];
	int C = b->out.c;
	for (int i = 0; i < C; i++) {
		b->p[0].w[i] = 0.5f + thaw_rng_uniform(r); /* gamma */
		b->p[1].w[i] = thaw_rng_normal(r);         /* beta */
		b->p[2].w[i] = thaw_rng_normal(r);         /* running mean */
		b->p[3].w[i] = 0.1f + thaw_rng_uniform(r); /* running var */
	}
	b->trainable = 0;
	thaw_node *c = m->nodes[b->in[0]];
	if (c->kind == THAW_CONV2D && c->a.bias)
		for (int i = 0; i < c->a.filters; i++)
			c->p[1].w[i] = thaw_rng_normal(r);
}

static float *random_input(const thaw_model *m, int B, thaw_rng *r, size_t *count)
{
	size_t n = (size_t)B * m->input.c * m->input.h * m->input.w;
	float *x = malloc(n * sizeof(float));
	for (size_t i = 0; i < n; i++)
		x[i] = 2.0f * thaw_rng_normal(r);
	*count = n;
	return x;
}

/* max |a - b| over n, relative to the largest |b| (at least 1) */
static double rel_diff(const float *a, const float *b, size_t n)
{
	double e = 0, s = 1;
	for (size_t i = 0; i < n; i++) {
		e = fmax(e, fabs((double)a[i] - b[i]));
		if (a[i] != a[i]) /* NaN */
			e = INFINITY;
		s = fmax(s, fabs(b[i]));
	}
	return e / s;
}

typedef struct fcase {
	const char *name;
	thaw_attrs conv;
	int c, h, w, B;
} fcase;

static thaw_attrs conv_of(int filters, int k, int stride, int pad, int groups, int bias)
{
	thaw_attrs a = thaw_conv(filters, k, stride, pad);
	a.groups = groups;
	a.bias = bias;
	return a;
}

/* conv -> batchnorm -> activation (-> the output); returns the output's
 * relative difference between the folded inference pass and the frozen
 * training pass, and checks the fold flags. */
static double run_case(const fcase *fc, int act, int *clipped)
{
	thaw_model *m = thaw_model_new(fc->c, fc->h, fc->w, 3);
	thaw_attrs bn = thaw_layer(THAW_BATCHNORM), relu = thaw_layer(THAW_RELU), r6 = thaw_attrs_default(THAW_RELU6);
	r6.lo = 0.0f;
	r6.hi = 6.0f;
	CHECK_OK(thaw_model_add(m, "conv", &fc->conv, NULL, 0));
	CHECK_OK(thaw_model_add(m, "bn", &bn, NULL, 0));
	if (act == ACT_RELU)
		CHECK_OK(thaw_model_add(m, "act", &relu, NULL, 0));
	else if (act == ACT_RELU6)
		CHECK_OK(thaw_model_add(m, "act", &r6, NULL, 0));
	thaw_rng r;
	thaw_rng_seed(&r, 11);
	randomize_bn(m, 1, &r);
	size_t nx;
	float *x = random_input(m, fc->B, &r, &nx);
	size_t ny = (size_t)fc->B * thaw_shape_sample(thaw_model_output_shape(m));
	float *want = malloc(ny * sizeof(float));
	CHECK_OK(thaw_model_forward(m, x, fc->B, 1)); /* apart: conv, batch norm, activation */
	memcpy(want, thaw_model_output(m), ny * sizeof(float));
	const thaw_attrs *ca = &fc->conv;
	if (ca->kh == 1 && ca->kw == 1 && ca->sh == 1 && ca->sw == 1 && ca->groups == 1) {
		/* the 1x1 path computes the reference too: check it apart */
		const thaw_node *cv = m->nodes[0];
		const int OC = ca->filters, C = fc->c, P = fc->h * fc->w;
		double e = 0;
		for (size_t i = 0; i < (size_t)fc->B * OC * P; i += 7) {
			size_t b = i / ((size_t)OC * P), o = i / P % OC, p = i % P;
			double s = ca->bias ? cv->p[1].w[o] : 0.0;
			for (int c = 0; c < C; c++)
				s += (double)cv->p[0].w[o * C + c] * x[(b * C + c) * P + p];
			e = fmax(e, fabs(cv->y[i] - s));
		}
		CHECKF(e <= 1e-4, "%s: the 1x1 convolution differs from the sum by %.2e", fc->name, e);
	}
	CHECK_OK(thaw_model_forward(m, x, fc->B, 0)); /* folded */
	CHECKF(m->nodes[0]->fold_bn == 2, "%s: fold_bn %d", fc->name, m->nodes[0]->fold_bn);
	/* the activation is the output here, so it runs apart (test_rules and
	 * test_determinism fold it through the batch norm) */
	CHECKF(act == ACT_NONE || !m->nodes[2]->alias, "%s: the output %s fused", fc->name, act_name[act]);
	const float *y = thaw_model_output(m);
	double e = rel_diff(y, want, ny);
	int lo = 0, hi = 0;
	for (size_t i = 0; i < ny; i++) {
		lo += y[i] == 0.0f;
		hi += y[i] == 6.0f;
	}
	*clipped = act == ACT_NONE ? 1 : act == ACT_RELU ? lo > 0 : lo > 0 && hi > 0;
	free(x);
	free(want);
	thaw_model_free(m);
	return e;
}

static void test_paths(void)
{
	fcase cs[] = {
		{"gemm 3x3 s2", conv_of(16, 3, 2, 1, 1, 0), 8, 15, 15, 3},
		{"gemm 3x3 s2 bias", conv_of(16, 3, 2, 1, 1, 1), 8, 15, 15, 3},
		{"gemm 7x7 s2 banded", conv_of(8, 7, 2, 3, 1, 0), 3, 96, 96, 2},
		{"gemm 7x7 s2 banded bias", conv_of(8, 7, 2, 3, 1, 1), 3, 96, 96, 2},
		{"gemm 1x1 s2", conv_of(24, 1, 2, 0, 1, 0), 16, 14, 14, 3},
		{"gemm batched 7x7 map", conv_of(256, 3, 2, 1, 1, 1), 128, 14, 14, 4},
		{"gemm small K", conv_of(8, 3, 1, 1, 1, 1), 1, 12, 12, 3},
		{"gemm groups 2", conv_of(8, 3, 1, 1, 2, 1), 4, 9, 9, 2},
		{"1x1", conv_of(24, 1, 1, 0, 1, 0), 16, 20, 20, 3},
		{"1x1 bias, column blocks", conv_of(512, 1, 1, 0, 1, 1), 16, 20, 20, 2},
		{"1x1 groups 2", conv_of(8, 1, 1, 0, 2, 1), 4, 7, 7, 2},
		{"depthwise 3x3 s1", conv_of(8, 3, 1, 1, 8, 0), 8, 13, 13, 3},
		{"depthwise 3x3 s1 bias", conv_of(8, 3, 1, 1, 8, 1), 8, 13, 13, 3},
		{"depthwise 3x3 s2", conv_of(8, 3, 2, 1, 8, 0), 8, 15, 15, 3},
		{"depthwise 3x3 s2 bias", conv_of(8, 3, 2, 1, 8, 1), 8, 14, 14, 3},
		{"depthwise 3x3 s2 x2", conv_of(16, 3, 2, 1, 8, 1), 8, 16, 16, 2},
		{"depthwise 5x5 s2", conv_of(8, 5, 2, 2, 8, 1), 8, 17, 17, 2},
		{"depthwise 3x3 s3", conv_of(8, 3, 3, 1, 8, 1), 8, 13, 13, 2},
	};
	for (size_t k = 0; k < sizeof cs / sizeof *cs; k++)
		for (int act = ACT_NONE; act <= ACT_RELU6; act++) {
			int clipped = 0;
			double e = run_case(&cs[k], act, &clipped);
			CHECKF(e <= 1e-5, "%s, %s: folded differs by %.2e of the output's scale", cs[k].name,
			       act_name[act], e);
			/* the data reach both sides of the clip, so the test sees it */
			CHECKF(clipped, "%s, %s: no output at the activation's bounds", cs[k].name, act_name[act]);
		}
}

/* Folding needs the conv's output read by the batch norm alone, and the
 * clip the batch norm's by the relu6 alone; otherwise what others read
 * stays in place. */
static void test_rules(void)
{
	thaw_attrs c = conv_of(8, 3, 1, 1, 8, 1), bn = thaw_layer(THAW_BATCHNORM), add = thaw_layer(THAW_ADD);
	thaw_attrs r6 = thaw_attrs_default(THAW_RELU6);
	r6.lo = 0.0f;
	r6.hi = 6.0f;
	for (int shape = 0; shape < 3; shape++) {
		thaw_model *m = thaw_model_new(8, 10, 10, 5);
		CHECK_OK(thaw_model_add(m, "conv", &c, NULL, 0));      /* 0 */
		CHECK_OK(thaw_model_add(m, "bn", &bn, NULL, 0));       /* 1 */
		CHECK_OK(thaw_model_add(m, "clip", &r6, NULL, 0));     /* 2 */
		int two[2] = {2, shape == 0 ? 1 : shape == 1 ? 0 : 2}; /* bn, the conv, or the clip again */
		CHECK_OK(thaw_model_add(m, "add", &add, two, 2));      /* 3 */
		thaw_rng r;
		thaw_rng_seed(&r, 12);
		randomize_bn(m, 1, &r);
		size_t nx;
		float *x = random_input(m, 2, &r, &nx);
		size_t ny = 2 * thaw_shape_sample(thaw_model_output_shape(m));
		float *want = malloc(ny * sizeof(float));
		CHECK_OK(thaw_model_forward(m, x, 2, 1));
		memcpy(want, thaw_model_output(m), ny * sizeof(float));
		CHECK_OK(thaw_model_forward(m, x, 2, 0));
		/* fc: the clip fused into the batch norm (so into the conv with it) */
		int fb = m->nodes[0]->fold_bn, fc = m->nodes[2]->alias;
		if (shape == 0) /* the batch norm read twice: folded, its clip not */
			CHECKF(fb == 2 && fc == 0, "bn read twice: fold_bn %d clip fused %d", fb, fc);
		else if (shape == 1) /* the conv read twice: nothing folded, the clip fused */
			CHECKF(fb == 0 && fc == 1, "conv read twice: fold_bn %d clip fused %d", fb, fc);
		else /* the clip read twice: both folded */
			CHECKF(fb == 2 && fc == 1, "clip read twice: fold_bn %d clip fused %d", fb, fc);
		double e = rel_diff(thaw_model_output(m), want, ny);
		CHECKF(e <= 1e-5, "shape %d: differs by %.2e", shape, e);
		free(x);
		free(want);
		thaw_model_free(m);
	}
}

/* The relu6 is fused into the batch norm (they share a buffer), so a pass
 * that stops at the batch norm (a feature cut) leaves the clipped output,
 * as the training pass does, and a pass from the relu6 on reads it; the
 * feature cache and explore rely on both. */
static void test_ranges(void)
{
	thaw_attrs c = conv_of(16, 1, 1, 0, 1, 0), bn = thaw_layer(THAW_BATCHNORM), gap = thaw_layer(THAW_GLOBALAVGPOOL);
	thaw_attrs r6 = thaw_attrs_default(THAW_RELU6);
	r6.lo = 0.0f;
	r6.hi = 6.0f;
	thaw_model *m = thaw_model_new(8, 9, 9, 6);
	CHECK_OK(thaw_model_add(m, "conv", &c, NULL, 0));
	CHECK_OK(thaw_model_add(m, "bn", &bn, NULL, 0));
	CHECK_OK(thaw_model_add(m, "clip", &r6, NULL, 0));
	CHECK_OK(thaw_model_add(m, "gap", &gap, NULL, 0));
	thaw_rng r;
	thaw_rng_seed(&r, 13);
	randomize_bn(m, 1, &r);
	size_t nx;
	const int B = 3;
	float *x = random_input(m, B, &r, &nx);
	size_t nbn = (size_t)B * thaw_shape_sample(m->nodes[1]->out), ny = (size_t)B * 16;
	float *bn_want = malloc(nbn * sizeof(float)), *want = malloc(ny * sizeof(float));
	CHECK_OK(thaw_model_forward(m, x, B, 1));
	memcpy(bn_want, m->nodes[1]->y, nbn * sizeof(float));
	memcpy(want, thaw_model_output(m), ny * sizeof(float));
	int neg = 0;
	for (size_t i = 0; i < nbn; i++)
		neg += bn_want[i] < 0.0f;
	CHECK(neg == 0 && m->nodes[2]->alias); /* clipped by the batch norm itself */
	float *x2 = malloc(nx * sizeof(float)); /* first a pass over other images: every buffer stale */
	for (size_t i = 0; i < nx; i++)
		x2[i] = -x[i];
	CHECK_OK(thaw_model_forward(m, x2, B, 0));
	free(x2);
	CHECK_OK(thaw_model_forward_range(m, 0, 1, x, B, 0));
	CHECKF(rel_diff(m->nodes[1]->y, bn_want, nbn) <= 1e-5, "the batch norm's output after a pass to it");
	CHECK_OK(thaw_model_forward_range(m, 2, 3, x, B, 0));
	CHECKF(rel_diff(thaw_model_output(m), want, ny) <= 1e-5, "the rest, from the relu6 on");
	CHECK_OK(thaw_model_forward(m, x, B, 0)); /* the whole pass: folded */
	CHECK(m->nodes[0]->fold_bn == 2);
	CHECKF(rel_diff(thaw_model_output(m), want, ny) <= 1e-5, "the whole pass");
	free(x);
	free(bn_want);
	free(want);
	thaw_model_free(m);
}

/* An inference pass repeats bit for bit at a thread count, and the
 * depthwise and 1x1 paths (images and planes split over the pool, each
 * computed by one thread) give the same bits for 1 and 2 threads. */
static void test_determinism(void)
{
	thaw_attrs pw = conv_of(32, 1, 1, 0, 1, 0), dw = conv_of(32, 3, 2, 1, 32, 0), bn = thaw_layer(THAW_BATCHNORM);
	thaw_attrs r6 = thaw_attrs_default(THAW_RELU6);
	r6.lo = 0.0f;
	r6.hi = 6.0f;
	thaw_model *m = thaw_model_new(16, 28, 28, 7);
	const thaw_attrs *seq[] = {&pw, &bn, &r6, &dw, &bn, &r6};
	for (int i = 0; i < 6; i++)
		CHECK_OK(thaw_model_add(m, NULL, seq[i], NULL, 0));
	thaw_rng r;
	thaw_rng_seed(&r, 14);
	randomize_bn(m, 1, &r);
	randomize_bn(m, 4, &r);
	size_t nx;
	const int B = 8;
	float *x = random_input(m, B, &r, &nx);
	size_t ny = (size_t)B * thaw_shape_sample(thaw_model_output_shape(m));
	float *out[3];
	int threads[3] = {2, 2, 1};
	for (int t = 0; t < 3; t++) {
		thaw_blas_set_threads(threads[t]);
		CHECK_OK(thaw_model_forward(m, x, B, 0));
		out[t] = malloc(ny * sizeof(float));
		memcpy(out[t], thaw_model_output(m), ny * sizeof(float));
	}
	thaw_blas_set_threads(0);
	CHECK(m->nodes[0]->fold_bn == 2 && m->nodes[2]->alias && m->nodes[3]->fold_bn == 5 && !m->nodes[5]->alias); /* the output runs apart */
	CHECK(!memcmp(out[0], out[1], ny * sizeof(float)));
	CHECK(!memcmp(out[0], out[2], ny * sizeof(float)));
	for (int t = 0; t < 3; t++)
		free(out[t]);
	free(x);
	thaw_model_free(m);
}

int main(void)
{
	RUN(test_paths);
	RUN(test_rules);
	RUN(test_ranges);
	RUN(test_determinism);
	return check_done();
}
