/* Batch norm: gradients in both modes, running statistics exactly as
 * PyTorch keeps them, and the Keras rule for frozen batch norm that
 * transfer learning relies on (running statistics used and never changed). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gradcheck.h"
#include "thaw/layer.h"

enum { GAMMA, BETA, RMEAN, RVAR };

static thaw_shape S(int c, int h, int w) { return (thaw_shape){1, c, h, w}; }

static void fill(float *x, size_t n, thaw_rng *rng, float scale, float offset)
{
	for (size_t i = 0; i < n; i++)
		x[i] = offset + scale * thaw_rng_normal(rng);
}

static void test_gradcheck_modes(void)
{
	thaw_attrs a = thaw_layer(THAW_BATCHNORM);
	thaw_shape sp = S(3, 4, 5), vec = S(5, 1, 1);
	gradcheck("batchnorm training 3x4x5", a, &sp, 1, (gc_opts){.B = 4, .training = 1});
	gradcheck("batchnorm training 5 (dense)", a, &vec, 1, (gc_opts){.B = 6, .training = 1});
	/* B = 1 over 3x4x5 still has 20 values per channel */
	gradcheck("batchnorm training B=1", a, &sp, 1, (gc_opts){.B = 1, .training = 1});
	gradcheck("batchnorm inference 3x4x5", a, &sp, 1, (gc_opts){.B = 4});
	gradcheck("batchnorm inference 5 (dense)", a, &vec, 1, (gc_opts){.B = 6});
	a.eps = 1e-3f;
	a.momentum = 0.5f;
	gradcheck("batchnorm eps 1e-3 training", a, &sp, 1, (gc_opts){.B = 2, .training = 1});
}

static void test_defaults_and_params(void)
{
	thaw_model *m = thaw_model_new(4, 2, 2, 1);
	thaw_attrs a = thaw_layer(THAW_BATCHNORM);
	CHECK_NEAR(a.eps, 1e-5, 1e-12);   /* PyTorch and ONNX default */
	CHECK_NEAR(a.momentum, 0.9, 1e-7); /* = PyTorch momentum 0.1 */
	CHECK(thaw_model_add(m, "bn", &a, NULL, 0) == 0);
	thaw_node *n = m->nodes[0];
	CHECK(n->np == 4);
	CHECK(strcmp(n->p[GAMMA].name, "gamma") == 0 && !n->p[GAMMA].is_buffer);
	CHECK(strcmp(n->p[BETA].name, "beta") == 0 && !n->p[BETA].is_buffer);
	CHECK(strcmp(n->p[RMEAN].name, "running_mean") == 0 && n->p[RMEAN].is_buffer);
	CHECK(strcmp(n->p[RVAR].name, "running_var") == 0 && n->p[RVAR].is_buffer);
	int ok = 1;
	for (int c = 0; c < 4; c++)
		ok &= n->p[GAMMA].w[c] == 1 && n->p[BETA].w[c] == 0 && n->p[RMEAN].w[c] == 0 &&
		      n->p[RVAR].w[c] == 1;
	CHECK(ok);
	CHECK(thaw_node_param_count(n) == 8); /* statistics are not learnable */
	CHECK(n->out.c == 4 && n->out.h == 2 && n->out.w == 2);
	a.momentum = 1.5f;
	CHECK_ERR(thaw_model_add(m, "bn2", &a, NULL, 0), "node 'bn2' (batchnorm): momentum 1.5");
	a.momentum = 0.9f;
	a.eps = -1.0f;
	CHECK_ERR(thaw_model_add(m, "bn3", &a, NULL, 0), "node 'bn3' (batchnorm): eps -1");
	thaw_model_free(m);
}

/* Expected batch statistics of channel c of x (B, C, HW), in double. */
static void ref_stats(const float *x, int B, int C, int HW, int c, double *mean, double *var)
{
	double s = 0, q = 0, N = (double)B * HW;
	for (int b = 0; b < B; b++)
		for (int i = 0; i < HW; i++)
			s += x[((size_t)b * C + c) * HW + i];
	*mean = s / N;
	for (int b = 0; b < B; b++)
		for (int i = 0; i < HW; i++) {
			double d = x[((size_t)b * C + c) * HW + i] - *mean;
			q += d * d;
		}
	*var = q / N; /* biased: what normalisation uses */
}

/* y = gamma (x - mean) / sqrt(var + eps) + beta, largest |y - want|. */
static double ref_check_y(const float *y, const float *x, int B, int C, int HW, const double *mean,
			  const double *var, const float *gamma, const float *beta, double eps)
{
	double worst = 0;
	for (int b = 0; b < B; b++)
		for (int c = 0; c < C; c++)
			for (int i = 0; i < HW; i++) {
				size_t k = ((size_t)b * C + c) * HW + i;
				double want = gamma[c] * (x[k] - mean[c]) / sqrt(var[c] + eps) + beta[c];
				worst = fmax(worst, fabs(y[k] - want));
			}
	return worst;
}

/* PyTorch: running = (1 - 0.2) * running + 0.2 * batch, var unbiased;
 * thaw's momentum 0.8 is PyTorch's momentum 0.2. */
static void test_running_stats_like_pytorch(void)
{
	enum { B = 3, C = 3, H = 4, W = 5, HW = H * W };
	thaw_model *m = thaw_model_new(C, H, W, 1);
	thaw_attrs a = thaw_layer(THAW_BATCHNORM);
	a.momentum = 0.8f;
	a.eps = 1e-3f;
	CHECK(thaw_model_add(m, "bn", &a, NULL, 0) == 0);
	thaw_node *n = m->nodes[0];
	float gamma[C] = {1.5f, -0.5f, 0.8f}, beta[C] = {0.1f, 0.0f, -2.0f};
	memcpy(n->p[GAMMA].w, gamma, sizeof gamma);
	memcpy(n->p[BETA].w, beta, sizeof beta);
	double rm[C] = {0, 0, 0}, rv[C] = {1, 1, 1};
	thaw_rng rng;
	thaw_rng_seed(&rng, 5);
	float x[B * C * HW];
	for (int step = 0; step < 3; step++) {
		fill(x, sizeof x / sizeof *x, &rng, 2.0f + step, 3.0f - 2.0f * step);
		CHECK_OK(thaw_model_forward(m, x, B, 1));
		double mean[C], var[C];
		for (int c = 0; c < C; c++) {
			ref_stats(x, B, C, HW, c, &mean[c], &var[c]);
			double N = B * HW;
			rm[c] = 0.8 * rm[c] + 0.2 * mean[c];
			rv[c] = 0.8 * rv[c] + 0.2 * var[c] * N / (N - 1);
		}
		double ey = ref_check_y(n->y, x, B, C, HW, mean, var, gamma, beta, 1e-3);
		CHECKF(ey < 2e-5, "step %d: output off by %g", step, ey);
		for (int c = 0; c < C; c++) {
			CHECKF(fabs(n->p[RMEAN].w[c] - rm[c]) <= 1e-5 * fmax(1, fabs(rm[c])),
			       "step %d running_mean[%d] %.8g want %.8g", step, c, n->p[RMEAN].w[c], rm[c]);
			CHECKF(fabs(n->p[RVAR].w[c] - rv[c]) <= 1e-5 * fmax(1, fabs(rv[c])),
			       "step %d running_var[%d] %.8g want %.8g", step, c, n->p[RVAR].w[c], rv[c]);
		}
	}
	/* an inference pass of a trainable node: running statistics, unchanged */
	float keep_m[C], keep_v[C];
	memcpy(keep_m, n->p[RMEAN].w, sizeof keep_m);
	memcpy(keep_v, n->p[RVAR].w, sizeof keep_v);
	CHECK_OK(thaw_model_forward(m, x, B, 0));
	CHECK(memcmp(keep_m, n->p[RMEAN].w, sizeof keep_m) == 0);
	CHECK(memcmp(keep_v, n->p[RVAR].w, sizeof keep_v) == 0);
	double ey = ref_check_y(n->y, x, B, C, HW, rm, rv, gamma, beta, 1e-3);
	CHECKF(ey < 2e-5, "inference output off by %g", ey);
	thaw_model_free(m);
}

/* A large offset and many values: the one-pass variance must not cancel. */
static void test_precision_large_mean(void)
{
	enum { B = 8, C = 2, HW = 28 * 28 };
	size_t N = (size_t)B * C * HW;
	float *x = malloc(N * sizeof(float));
	thaw_rng rng;
	thaw_rng_seed(&rng, 8);
	fill(x, N, &rng, 0.01f, 1000.0f);
	thaw_model *m = thaw_model_new(C, 28, 28, 1);
	thaw_attrs a = thaw_layer(THAW_BATCHNORM);
	thaw_model_add(m, "bn", &a, NULL, 0);
	CHECK_OK(thaw_model_forward(m, x, B, 1));
	thaw_node *n = m->nodes[0];
	double mean[C], var[C];
	float one[C] = {1, 1}, zero[C] = {0, 0};
	for (int c = 0; c < C; c++)
		ref_stats(x, B, C, HW, c, &mean[c], &var[c]);
	/* values are ~1e-5 apart in float at 1000, so inputs carry ~1e-3 relative noise */
	double ey = ref_check_y(n->y, x, B, C, HW, mean, var, one, zero, 1e-5);
	printf("  mean 1000, std 0.01: largest output error %.2e\n", ey);
	CHECK(ey < 1e-2);
	for (int c = 0; c < C; c++)
		CHECK_NEAR(n->p[RMEAN].w[c], 0.1 * mean[c], 1e-3);
	thaw_model_free(m);
	free(x);
}

/* input 4x3x3 -> bn_in -> flatten -> d1 dense 8 -> bn1 -> tanh -> head dense 3 */
static thaw_model *make_net(void)
{
	thaw_model *m = thaw_model_new(4, 3, 3, 21);
	thaw_attrs bn = thaw_layer(THAW_BATCHNORM), d8 = thaw_dense(8), d3 = thaw_dense(3);
	thaw_attrs fl = thaw_layer(THAW_FLATTEN), th = thaw_layer(THAW_TANH);
	int k = thaw_model_add(m, "bn_in", &bn, NULL, 0);
	k |= thaw_model_add(m, "flat", &fl, NULL, 0);
	k |= thaw_model_add(m, "d1", &d8, NULL, 0);
	k |= thaw_model_add(m, "bn1", &bn, NULL, 0);
	k |= thaw_model_add(m, "tanh", &th, NULL, 0);
	k |= thaw_model_add(m, "head", &d3, NULL, 0);
	CHECKF(k >= 0, "%s", thaw_errmsg());
	return m;
}

/* One SGD step on a squared error to target t: w -= lr * g for the
 * learnable parameters of trainable nodes (what an optimizer would do). */
static double sgd_step(thaw_model *m, const float *x, const float *t, int B, float lr)
{
	CHECK_OK(thaw_model_forward(m, x, B, 1));
	const float *y = thaw_model_output(m);
	float d[64 * 3];
	double loss = 0;
	for (int i = 0; i < B * 3; i++) {
		d[i] = (y[i] - t[i]) / (float)B;
		loss += 0.5 * (double)(y[i] - t[i]) * (y[i] - t[i]) / B;
	}
	CHECK_OK(thaw_model_backward(m, d));
	for (int i = 0; i < m->n; i++) {
		thaw_node *n = m->nodes[i];
		if (!n->trainable)
			continue;
		for (int p = 0; p < n->np; p++)
			if (!n->p[p].is_buffer)
				for (size_t k = 0; k < n->p[p].size; k++)
					n->p[p].w[k] -= lr * n->p[p].g[k];
	}
	return loss;
}

static void make_batch(float *x, float *t, int B, thaw_rng *rng)
{
	for (int b = 0; b < B; b++) {
		int cls = (int)thaw_rng_below(rng, 3);
		for (int i = 0; i < 36; i++)
			x[b * 36 + i] = 2.0f + 1.5f * thaw_rng_normal(rng) + (i % 3 == cls ? 1.0f : 0.0f);
		for (int k = 0; k < 3; k++)
			t[b * 3 + k] = k == cls;
	}
}

typedef struct bn_snap {
	float p[4][16];
} bn_snap;

static bn_snap snap(const thaw_node *n)
{
	bn_snap s;
	memset(&s, 0, sizeof s);
	for (int p = 0; p < 4; p++)
		memcpy(s.p[p], n->p[p].w, n->p[p].size * sizeof(float));
	return s;
}

static void test_frozen_in_training(void)
{
	enum { B = 16 };
	thaw_model *m = make_net();
	thaw_node *bn_in = m->nodes[0], *d1 = m->nodes[2], *bn1 = m->nodes[3], *head = m->nodes[5];
	thaw_rng rng;
	thaw_rng_seed(&rng, 77);
	float x[B * 36], t[B * 3];
	/* phase 1: everything trains, so the statistics move away from 0 / 1 */
	double l0 = 0, l1 = 0;
	for (int s = 0; s < 30; s++) {
		make_batch(x, t, B, &rng);
		double l = sgd_step(m, x, t, B, 0.1f);
		if (s == 0)
			l0 = l;
		l1 = l;
	}
	printf("  phase 1 (all trainable): loss %.4f -> %.4f\n", l0, l1);
	CHECK(l1 < l0);
	CHECK(fabsf(bn1->p[RMEAN].w[0]) > 1e-3f && fabsf(bn_in->p[RMEAN].w[0] - 0.0f) > 0.1f);

	/* phase 2: freeze both batch norms, keep training the rest */
	thaw_model_set_trainable_glob(m, "bn*", 0);
	bn_snap s_in = snap(bn_in), s_1 = snap(bn1);
	float d1w = d1->p[0].w[0], hw = head->p[0].w[0];
	uint64_t wg = bn1->n_weight_grad, bw_in = bn_in->n_backward;
	for (int s = 0; s < 10; s++) {
		make_batch(x, t, B, &rng);
		sgd_step(m, x, t, B, 0.1f);
	}
	bn_snap a_in = snap(bn_in), a_1 = snap(bn1);
	CHECK(memcmp(&s_in, &a_in, sizeof s_in) == 0); /* gamma, beta, running_mean, running_var */
	CHECK(memcmp(&s_1, &a_1, sizeof s_1) == 0);
	CHECK(d1->p[0].w[0] != d1w && head->p[0].w[0] != hw); /* the rest did train */
	CHECK(bn1->n_weight_grad == wg);                       /* no weight gradients */
	CHECK(bn_in->n_backward == bw_in); /* nothing below d1 runs backward */

	/* the last training pass normalised with the running statistics */
	double worst = 0;
	const float *xin = x, *x1 = d1->y;
	for (int b = 0; b < B; b++) {
		for (int c = 0; c < 4; c++)
			for (int i = 0; i < 9; i++) {
				size_t k = ((size_t)b * 4 + c) * 9 + i;
				double want = bn_in->p[GAMMA].w[c] * (xin[k] - bn_in->p[RMEAN].w[c]) /
						      sqrt(bn_in->p[RVAR].w[c] + 1e-5) +
					      bn_in->p[BETA].w[c];
				worst = fmax(worst, fabs(bn_in->y[k] - want));
			}
		for (int c = 0; c < 8; c++) {
			size_t k = (size_t)b * 8 + c;
			double want = bn1->p[GAMMA].w[c] * (x1[k] - bn1->p[RMEAN].w[c]) /
					      sqrt(bn1->p[RVAR].w[c] + 1e-5) +
				      bn1->p[BETA].w[c];
			worst = fmax(worst, fabs(bn1->y[k] - want));
		}
	}
	CHECKF(worst < 1e-5, "frozen outputs differ from running-statistics normalisation by %g", worst);
	thaw_model_free(m);
}

/* The freeze flag is read at every step: flipping it between two batches
 * changes the very next one. */
static void test_flip_between_batches(void)
{
	enum { B = 4, C = 2, HW = 6 };
	thaw_model *m = thaw_model_new(C, 2, 3, 1);
	thaw_attrs a = thaw_layer(THAW_BATCHNORM);
	thaw_model_add(m, "bn", &a, NULL, 0);
	thaw_node *n = m->nodes[0];
	thaw_rng rng;
	thaw_rng_seed(&rng, 3);
	float x[B * C * HW];
	float one[C] = {1, 1}, zero[C] = {0, 0};
	double mean[C], var[C];

	fill(x, B * C * HW, &rng, 2.0f, 5.0f);
	CHECK_OK(thaw_model_forward(m, x, B, 1));
	bn_snap s1 = snap(n);
	CHECK(s1.p[RMEAN][0] != 0.0f && s1.p[RVAR][0] != 1.0f); /* batch 1 updated them */

	thaw_model_set_trainable(m, 0, 0, 0);
	fill(x, B * C * HW, &rng, 2.0f, 5.0f);
	CHECK_OK(thaw_model_forward(m, x, B, 1));
	bn_snap s2 = snap(n);
	CHECK(memcmp(&s1, &s2, sizeof s1) == 0); /* batch 2 frozen: unchanged */
	double rm[C] = {s1.p[RMEAN][0], s1.p[RMEAN][1]}, rv[C] = {s1.p[RVAR][0], s1.p[RVAR][1]};
	CHECK(ref_check_y(n->y, x, B, C, HW, rm, rv, one, zero, 1e-5) < 1e-5);
	/* its backward is the inference one: no gamma / beta gradient written */
	float dy[B * C * HW];
	for (int i = 0; i < B * C * HW; i++)
		dy[i] = 1.0f;
	uint64_t wg = n->n_weight_grad;
	CHECK_OK(thaw_model_backward(m, dy));
	CHECK(n->n_weight_grad == wg);

	thaw_model_set_trainable(m, 0, 0, 1);
	fill(x, B * C * HW, &rng, 2.0f, 5.0f);
	CHECK_OK(thaw_model_forward(m, x, B, 1));
	for (int c = 0; c < C; c++)
		ref_stats(x, B, C, HW, c, &mean[c], &var[c]);
	CHECK(ref_check_y(n->y, x, B, C, HW, mean, var, one, zero, 1e-5) < 1e-5);
	double N = B * HW;
	for (int c = 0; c < C; c++) {
		CHECK_NEAR(n->p[RMEAN].w[c], 0.9 * rm[c] + 0.1 * mean[c], 1e-5);
		CHECK_NEAR(n->p[RVAR].w[c], 0.9 * rv[c] + 0.1 * var[c] * N / (N - 1), 1e-5);
	}
	CHECK_OK(thaw_model_backward(m, dy));
	CHECK(n->n_weight_grad == wg + 1);
	thaw_model_free(m);
}

/* A frozen batch norm in a training pass must pass the gradient of the
 * normalisation it actually applied (running statistics) to the node below:
 * bn_a (trainable) -> bn_b (frozen) -> flatten -> head; central differences on
 * bn_a's gamma and beta through thaw_model_forward / thaw_model_backward. */
static void test_frozen_gradient_flows(void)
{
	enum { B = 3, C = 2, HW = 4 };
	thaw_model *m = thaw_model_new(C, 2, 2, 4);
	thaw_attrs bn = thaw_layer(THAW_BATCHNORM), fl = thaw_layer(THAW_FLATTEN), d = thaw_dense(2);
	thaw_model_add(m, "bn_a", &bn, NULL, 0);
	thaw_model_add(m, "bn_b", &bn, NULL, 0);
	thaw_model_add(m, "flat", &fl, NULL, 0);
	thaw_model_add(m, "head", &d, NULL, 0);
	thaw_node *na = m->nodes[0], *nb = m->nodes[1];
	nb->p[GAMMA].w[0] = 1.7f;
	nb->p[GAMMA].w[1] = -0.6f;
	nb->p[RMEAN].w[0] = 0.3f;
	nb->p[RVAR].w[1] = 2.5f;
	na->p[GAMMA].w[1] = 0.8f;
	na->p[BETA].w[0] = 0.4f;
	nb->trainable = 0;
	thaw_rng rng;
	thaw_rng_seed(&rng, 12);
	float x[B * C * HW], r[B * 2];
	fill(x, B * C * HW, &rng, 1.0f, 0.0f);
	fill(r, B * 2, &rng, 1.0f, 0.0f);
	CHECK_OK(thaw_model_forward(m, x, B, 1));
	CHECK_OK(thaw_model_backward(m, r));
	double worst = 0;
	for (int p = GAMMA; p <= BETA; p++)
		for (int c = 0; c < C; c++) {
			float keep = na->p[p].w[c], eps = 1e-2f;
			double L[2];
			for (int s = 0; s < 2; s++) {
				na->p[p].w[c] = keep + (s ? -eps : eps);
				thaw_model_forward(m, x, B, 1);
				L[s] = 0;
				for (int i = 0; i < B * 2; i++)
					L[s] += (double)r[i] * thaw_model_output(m)[i];
			}
			na->p[p].w[c] = keep;
			double num = (L[0] - L[1]) / (2 * eps), an = na->p[p].g[c];
			worst = fmax(worst, fabs(num - an) / fmax(fabs(num) + fabs(an), 1e-1));
		}
	printf("  through a frozen batch norm: max rel error %.2e\n", worst);
	CHECK(worst < 1e-2);
	thaw_model_free(m);
}

/* A batch norm followed by its only ReLU or relu6 applies it itself and,
 * in backward, recomputes the cut from its input instead of reading its
 * output. The gradients must equal those of the same net with the
 * activation as a separate node (behind a leaky ReLU of slope 1, the
 * identity, which no batch norm fuses; a ReLU as a leaky ReLU of slope 0):
 * batch statistics and frozen running ones, with the conv's gradient
 * summed from two consumers (the add below reads the conv too). */
static thaw_model *act_net(int fused, int six)
{
	thaw_model *m = thaw_model_new(3, 6, 5, 5);
	thaw_attrs cv = thaw_conv(4, 3, 1, 1), bn = thaw_layer(THAW_BATCHNORM), add = thaw_layer(THAW_ADD);
	thaw_attrs id = thaw_layer(THAW_LEAKY_RELU), r0 = thaw_layer(THAW_LEAKY_RELU), fl = thaw_layer(THAW_FLATTEN);
	thaw_attrs r6 = thaw_attrs_default(THAW_RELU6), relu = thaw_layer(THAW_RELU), d3 = thaw_dense(3);
	id.alpha = 1.0f;
	r0.alpha = 0.0f;
	r6.lo = 0.0f;
	r6.hi = 1.0f; /* low enough that some values clip at the top */
	int k = thaw_model_add(m, "conv", &cv, NULL, 0);
	k |= thaw_model_add(m, "bn", &bn, NULL, 0);
	if (!fused && six)
		k |= thaw_model_add(m, "identity", &id, NULL, 0);
	k |= thaw_model_add(m, "act", six ? &r6 : fused ? &relu : &r0, NULL, 0);
	int act = m->n - 1;
	k |= thaw_model_add(m, "add", &add, (int[]){act, 0}, 2);
	k |= thaw_model_add(m, "flat", &fl, NULL, 0);
	k |= thaw_model_add(m, "head", &d3, NULL, 0);
	CHECKF(k >= 0, "%s", thaw_errmsg());
	thaw_node *b = m->nodes[1];
	for (int c = 0; c < 4; c++) { /* a channel mostly cut, one mostly passed */
		b->p[GAMMA].w[c] = 0.5f + 0.3f * (float)c;
		b->p[BETA].w[c] = 0.4f * (float)c - 0.6f;
		b->p[RMEAN].w[c] = 0.1f * (float)c;
		b->p[RVAR].w[c] = 0.7f + 0.2f * (float)c;
	}
	return m;
}

static void test_fused_activation_gradients(void)
{
	enum { B = 5 };
	thaw_rng rng;
	thaw_rng_seed(&rng, 31);
	float x[B * 6 * 5 * 5], r[B * 3];
	fill(x, sizeof x / sizeof *x, &rng, 1.0f, 0.2f);
	fill(r, B * 3, &rng, 1.0f, 0.0f);
	for (int six = 0; six < 2; six++)
		for (int frozen = 0; frozen < 2; frozen++) {
			thaw_model *m[2] = {act_net(1, six), act_net(0, six)};
			for (int v = 0; v < 2; v++) {
				m[v]->nodes[1]->trainable = !frozen;
				CHECK_OK(thaw_model_forward(m[v], x, B, 1));
				CHECK_OK(thaw_model_backward(m[v], r));
			}
			CHECK(m[0]->nodes[1]->fused_relu && !m[1]->nodes[1]->fused_relu);
			int same = 1;
			for (int p = 0; p < 2; p++) /* the conv's weight and bias, which see dx */
				for (size_t i = 0; i < m[0]->nodes[0]->p[p].size; i++)
					same &= m[0]->nodes[0]->p[p].g[i] == m[1]->nodes[0]->p[p].g[i];
			for (int p = GAMMA; !frozen && p <= BETA; p++)
				for (int c = 0; c < 4; c++)
					same &= m[0]->nodes[1]->p[p].g[c] == m[1]->nodes[1]->p[p].g[c];
			CHECKF(same, "fused and separate %s gradients differ (%s batch norm)", six ? "relu6" : "ReLU",
			       frozen ? "frozen" : "training");
			thaw_model_free(m[0]);
			thaw_model_free(m[1]);
		}
}

/* The shape the reference CNN runs every step: (64, 32, 28, 28). */
static void test_speed(void)
{
	enum { B = 64, C = 32, H = 28, W = 28 };
	size_t N = (size_t)B * C * H * W;
	float *x = thaw_aligned(N * sizeof(float)), *y = thaw_aligned(N * sizeof(float));
	float *dy = thaw_aligned(N * sizeof(float)), *dx = thaw_aligned(N * sizeof(float));
	thaw_rng rng;
	thaw_rng_seed(&rng, 1);
	fill(x, N, &rng, 1.0f, 0.5f);
	fill(dy, N, &rng, 1.0f, 0.0f);
	thaw_model *m = thaw_model_new(C, H, W, 1);
	thaw_attrs a = thaw_layer(THAW_BATCHNORM);
	thaw_model_add(m, "bn", &a, NULL, 0);
	thaw_node *n = m->nodes[0];
	const thaw_layer_ops *o = thaw_layer_ops_of(THAW_BATCHNORM);
	void *scratch = thaw_aligned(o->scratch(n, B, 1));
	thaw_fwd f = {.B = B, .training = 1, .x = {x}, .y = y, .scratch = scratch};
	thaw_bwd b = {.B = B, .x = {x}, .y = y, .dy = dy, .dx = {dx}, .weight_grad = 1, .scratch = scratch};
	enum { REPS = 10 };
	double tf = 1e9, tb = 1e9;
	for (int r = 0; r < REPS; r++) {
		double t0 = thaw_now();
		o->forward(n, &f);
		double t1 = thaw_now();
		o->backward(n, &b);
		double t2 = thaw_now();
		tf = fmin(tf, t1 - t0);
		tb = fmin(tb, t2 - t1);
	}
	double mb = N * sizeof(float) / 1e6;
	printf("  batchnorm 64x32x28x28 training: forward %.2f ms (%.1f GB/s), backward %.2f ms (%.1f GB/s)\n",
	       tf * 1e3, 3 * mb / tf / 1e3, tb * 1e3, 5 * mb / tb / 1e3);
	/* the normalised output has mean beta = 0 and variance ~1 per channel */
	double mean, var;
	ref_stats(y, B, C, H * W, 5, &mean, &var);
	CHECK_NEAR(mean, 0.0, 1e-4);
	CHECK_NEAR(var, 1.0, 1e-3);
	/* and its gradient is orthogonal to the constant and to the output:
	 * sum(dx) = 0 and sum(dx * xhat) = 0 per channel (training mode) */
	double s0 = 0, s1 = 0;
	for (int bb = 0; bb < B; bb++)
		for (int i = 0; i < H * W; i++) {
			size_t k = ((size_t)bb * C + 5) * H * W + i;
			s0 += dx[k];
			s1 += dx[k] * y[k];
		}
	CHECK_NEAR(s0, 0.0, 1e-2);
	CHECK_NEAR(s1, 0.0, 1e-2);
	thaw_model_free(m);
	free(x);
	free(y);
	free(dy);
	free(dx);
	free(scratch);
}

int main(void)
{
	RUN(test_gradcheck_modes);
	RUN(test_defaults_and_params);
	RUN(test_running_stats_like_pytorch);
	RUN(test_precision_large_mean);
	RUN(test_frozen_in_training);
	RUN(test_flip_between_batches);
	RUN(test_frozen_gradient_flows);
	RUN(test_fused_activation_gradients);
	RUN(test_speed);
	return check_done();
}
