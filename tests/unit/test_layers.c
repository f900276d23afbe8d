/* Layer kinds without spatial structure: gradient checks through each ops
 * table, shape errors a user sees, dropout's statistics, and a whole network
 * checked by finite differences through the model API. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gradcheck.h"
#include "thaw/layer.h"

static thaw_shape S(int c, int h, int w) { return (thaw_shape){1, c, h, w}; }

static void test_kinds_registered(void)
{
	const char *names[] = {"dense", "relu", "batchnorm", "relu6", "leaky_relu", "sigmoid",
			       "tanh", "gelu", "dropout", "flatten", "add", "concat"};
	const thaw_kind kinds[] = {THAW_DENSE, THAW_RELU, THAW_BATCHNORM, THAW_RELU6,
				   THAW_LEAKY_RELU, THAW_SIGMOID, THAW_TANH, THAW_GELU,
				   THAW_DROPOUT, THAW_FLATTEN, THAW_ADD, THAW_CONCAT};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		CHECKF(thaw_kind_from_name(names[i]) == (int)kinds[i], "%s", names[i]);
		CHECKF(strcmp(thaw_kind_name(kinds[i]), names[i]) == 0, "%s", names[i]);
	}
}

static void test_gradcheck_dense(void)
{
	thaw_shape in = S(3, 2, 2);
	thaw_attrs a = thaw_dense(4);
	gradcheck("dense", a, &in, 1, (gc_opts){.B = 3});
	a.bias = 0;
	gradcheck("dense nobias", a, &in, 1, (gc_opts){.B = 3});
	a.init = THAW_INIT_GLOROT;
	in = S(5, 1, 1);
	gradcheck("dense glorot 5->4", a, &in, 1, (gc_opts){.B = 2});
}

/* The midpoint between the GC_SPACED values i and i+1 for `count` values:
 * a clip bound there is 0.03/D away from every input, well beyond eps. */
static float spaced_mid(int i, size_t count) { return (0.23f + 0.06f * i) / (0.1f + 0.03f * count); }

static void test_gradcheck_activations(void)
{
	thaw_shape in = S(3, 2, 4); /* 24 values per sample, B = 2: 48 */
	gc_opts sp = {.B = 2, .fill = GC_SPACED};
	gradcheck("relu", thaw_layer(THAW_RELU), &in, 1, sp);
	gradcheck("relu6", thaw_layer(THAW_RELU6), &in, 1, sp);
	thaw_attrs c = thaw_layer(THAW_RELU6);
	c.lo = -spaced_mid(5, 48);
	c.hi = spaced_mid(12, 48);
	double e = gradcheck("relu6 clip lo/hi", c, &in, 1, sp);
	CHECK(e < 1e-2);
	thaw_attrs l = thaw_layer(THAW_LEAKY_RELU);
	l.alpha = 0.2f;
	gradcheck("leaky_relu 0.2", l, &in, 1, sp);
	gradcheck("sigmoid", thaw_layer(THAW_SIGMOID), &in, 1, (gc_opts){.B = 2});
	gradcheck("tanh", thaw_layer(THAW_TANH), &in, 1, (gc_opts){.B = 2});
	gradcheck("gelu", thaw_layer(THAW_GELU), &in, 1, (gc_opts){.B = 2});
	gradcheck("dropout 0.3 training", thaw_dropout(0.3f), &in, 1, (gc_opts){.B = 2, .training = 1});
	gradcheck("dropout 0.3 inference", thaw_dropout(0.3f), &in, 1, (gc_opts){.B = 2});
	gradcheck("flatten", thaw_layer(THAW_FLATTEN), &in, 1, (gc_opts){.B = 2});
}

static void test_gradcheck_merge(void)
{
	thaw_shape same[3] = {S(2, 3, 2), S(2, 3, 2), S(2, 3, 2)};
	gradcheck("add x2", thaw_layer(THAW_ADD), same, 2, (gc_opts){.B = 2});
	gradcheck("add x3", thaw_layer(THAW_ADD), same, 3, (gc_opts){.B = 2});
	thaw_shape cat[3] = {S(2, 3, 2), S(3, 3, 2), S(1, 3, 2)};
	gradcheck("concat 2+3", thaw_layer(THAW_CONCAT), cat, 2, (gc_opts){.B = 2});
	gradcheck("concat 2+3+1", thaw_layer(THAW_CONCAT), cat, 3, (gc_opts){.B = 3});
	thaw_shape vec[2] = {S(4, 1, 1), S(6, 1, 1)};
	gradcheck("concat vectors 4+6", thaw_layer(THAW_CONCAT), vec, 2, (gc_opts){.B = 2});
}

/* Values of the activations themselves (the gradient checks cannot tell a
 * consistently wrong function from the right one). */
static void test_activation_values(void)
{
	float x[6] = {-3.0f, -0.5f, 0.0f, 0.25f, 2.0f, 7.5f}, y[6];
	thaw_node n = {0};
	n.out = S(6, 1, 1);
	n.in_shape[0] = n.out;
	n.n_in = 1;
	thaw_fwd f = {.B = 1, .x = {x}, .y = y};

	n.a = thaw_layer(THAW_RELU6);
	thaw_layer_ops_of(THAW_RELU6)->forward(&n, &f);
	CHECK(y[0] == 0 && y[1] == 0 && y[3] == 0.25f && y[4] == 2.0f && y[5] == 6.0f);
	n.a.lo = -1.0f;
	n.a.hi = 1.0f;
	thaw_layer_ops_of(THAW_RELU6)->forward(&n, &f);
	CHECK(y[0] == -1.0f && y[1] == -0.5f && y[4] == 1.0f && y[5] == 1.0f);

	n.a = thaw_layer(THAW_LEAKY_RELU);
	CHECK_NEAR(n.a.alpha, 0.01f, 0); /* PyTorch's and ONNX's default slope */
	n.a.alpha = 0.1f;
	thaw_layer_ops_of(THAW_LEAKY_RELU)->forward(&n, &f);
	CHECK_NEAR(y[0], -0.3f, 1e-7);
	CHECK_NEAR(y[4], 2.0f, 0);

	thaw_layer_ops_of(THAW_SIGMOID)->forward(&n, &f);
	CHECK_NEAR(y[2], 0.5f, 1e-7);
	CHECK_NEAR(y[4], 1.0 / (1.0 + exp(-2.0)), 1e-7);
	float big[2] = {-200.0f, 200.0f}, out[2];
	thaw_fwd fb = {.B = 1, .x = {big}, .y = out};
	thaw_node n2 = n;
	n2.out = S(2, 1, 1);
	thaw_layer_ops_of(THAW_SIGMOID)->forward(&n2, &fb);
	CHECK(out[0] == 0.0f && out[1] == 1.0f);

	thaw_layer_ops_of(THAW_TANH)->forward(&n, &f);
	CHECK_NEAR(y[1], tanh(-0.5), 1e-7);

	/* exact GELU: x * Phi(x); the tanh approximation differs by ~1e-4 here */
	thaw_layer_ops_of(THAW_GELU)->forward(&n, &f);
	for (int i = 0; i < 6; i++) {
		double want = 0.5 * x[i] * (1.0 + erf(x[i] / sqrt(2.0)));
		CHECK_NEAR(y[i], want, 2e-6);
	}
	CHECK_NEAR(y[1], -0.15426877, 1e-6); /* torch.nn.GELU()(-0.5) */
}

/* Runs a kind's setup on a stand-alone node named `name`. */
static int setup_named(const char *name, thaw_kind kind, const thaw_shape *in, int n_in)
{
	thaw_node n = {0};
	snprintf(n.name, sizeof n.name, "%s", name);
	n.kind = kind;
	n.a = thaw_layer(kind);
	n.n_in = n_in;
	for (int j = 0; j < n_in; j++)
		n.in_shape[j] = in[j];
	return thaw_layer_ops_of(kind)->setup(&n, in, n_in);
}

static void test_shape_errors(void)
{
	thaw_shape in[3] = {S(64, 16, 16), S(64, 8, 8), S(64, 16, 16)};
	CHECK_ERR(setup_named("add1", THAW_ADD, in, 2),
		  "node 'add1' (add): input 1 is 64x8x8 but input 0 is 64x16x16");
	thaw_shape in3[3] = {S(64, 16, 16), S(64, 16, 16), S(32, 16, 16)};
	CHECK_ERR(setup_named("res", THAW_ADD, in3, 3),
		  "node 'res' (add): input 2 is 32x16x16 but input 0 is 64x16x16");
	CHECK_ERR(setup_named("lonely", THAW_ADD, in, 1), "node 'lonely' (add): takes 2 or more inputs");
	thaw_shape cin[2] = {S(16, 8, 8), S(32, 16, 16)};
	CHECK_ERR(setup_named("fire2", THAW_CONCAT, cin, 2),
		  "node 'fire2' (concat): input 1 is 32x16x16 but input 0 is 16x8x8");
	thaw_shape ok[2] = {S(16, 8, 8), S(48, 8, 8)};
	CHECK_OK(setup_named("fire3", THAW_CONCAT, ok, 2));

	/* and through the model: the node is refused, the model unchanged */
	thaw_model *m = thaw_model_new(4, 4, 4, 1);
	int fl = thaw_model_add(m, "flat", &(thaw_attrs){.kind = THAW_FLATTEN}, NULL, 0);
	CHECK(fl == 0);
	int ins[2] = {fl, -1};
	thaw_attrs add = thaw_layer(THAW_ADD);
	CHECK_ERR(thaw_model_add(m, "sum", &add, ins, 2), "node 'sum' (add): input 1 is 4x4x4 but input 0 is 64");
	CHECK(m->n == 1);
	thaw_attrs cat = thaw_layer(THAW_CONCAT);
	CHECK_ERR(thaw_model_add(m, "join", &cat, ins, 2),
		  "node 'join' (concat): input 1 is 4x4x4 but input 0 is 64");
	int ins2[2] = {-1, -1};
	int k = thaw_model_add(m, "twice", &cat, ins2, 2);
	CHECK(k == 1 && m->nodes[1]->out.c == 8 && m->nodes[1]->out.h == 4);

	thaw_attrs bad = thaw_dropout(1.0f);
	CHECK_ERR(thaw_model_add(m, "drop", &bad, NULL, 0), "node 'drop' (dropout): rate 1 must be in [0, 1)");
	thaw_attrs clip = thaw_layer(THAW_RELU6);
	clip.lo = 2;
	clip.hi = 1;
	CHECK_ERR(thaw_model_add(m, "clip", &clip, NULL, 0), "node 'clip' (relu6): clip bounds [2, 1] are empty");
	thaw_model_free(m);
}

static void test_flatten_and_concat_layout(void)
{
	thaw_model *m = thaw_model_new(2, 2, 3, 1);
	int fl = thaw_model_add(m, "flat", &(thaw_attrs){.kind = THAW_FLATTEN}, NULL, 0);
	thaw_attrs cat = thaw_layer(THAW_CONCAT);
	int ins[2] = {-1, -1};
	int c = thaw_model_add(m, "cat", &cat, ins, 2);
	CHECK(fl == 0 && c == 1);
	thaw_shape fs = m->nodes[fl]->out;
	CHECK(fs.c == 12 && fs.h == 1 && fs.w == 1);
	float x[2 * 12];
	for (int i = 0; i < 24; i++)
		x[i] = (float)i;
	CHECK_OK(thaw_model_forward(m, x, 2, 0));
	CHECK(memcmp(m->nodes[fl]->y, x, sizeof x) == 0);
	const float *y = m->nodes[c]->y; /* (2, 4, 2, 3): each sample's 12 values twice */
	int ok = 1;
	for (int b = 0; b < 2; b++)
		for (int i = 0; i < 24; i++)
			ok &= y[b * 24 + i] == x[b * 12 + i % 12];
	CHECK(ok);
	thaw_model_free(m);
}

static void test_dropout_behaviour(void)
{
	enum { N = 100000 };
	float *x = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float));
	for (int i = 0; i < N; i++)
		x[i] = 1.0f + (float)(i % 7);
	thaw_node n = {0};
	n.a = thaw_dropout(0.3f);
	n.out = S(N, 1, 1);
	n.n_in = 1;
	const thaw_layer_ops *o = thaw_layer_ops_of(THAW_DROPOUT);
	size_t sb = o->scratch(&n, 1, 1);
	void *scratch = aligned_alloc(64, (sb + 63) & ~(size_t)63);
	thaw_rng rng, before;
	thaw_rng_seed(&rng, 99);
	before = rng;

	/* inference: the identity, and no random numbers drawn */
	thaw_fwd f = {.B = 1, .training = 0, .x = {x}, .y = y, .scratch = scratch, .rng = &rng};
	o->forward(&n, &f);
	CHECK(memcmp(x, y, N * sizeof(float)) == 0);
	CHECK(memcmp(&rng, &before, sizeof rng) == 0);

	/* training: about 70% kept, each scaled by 1/0.7, the rest exactly 0 */
	f.training = 1;
	o->forward(&n, &f);
	int kept = 0, bad = 0;
	double sum = 0, sumx = 0;
	for (int i = 0; i < N; i++) {
		if (y[i] != 0.0f) {
			kept++;
			bad += fabsf(y[i] - x[i] / 0.7f) > 1e-5f * x[i];
		}
		sum += y[i];
		sumx += x[i];
	}
	double frac = (double)kept / N;
	printf("  dropout 0.3: kept %.4f of %d values, mean ratio %.4f\n", frac, N, sum / sumx);
	CHECK_NEAR(frac, 0.7, 0.01);
	CHECK(bad == 0);
	CHECK_NEAR(sum / sumx, 1.0, 0.02); /* inverted dropout keeps the expectation */

	/* backward after an inference pass of a training plan is the identity */
	float *dy = malloc(N * sizeof(float)), *dx = malloc(N * sizeof(float));
	for (int i = 0; i < N; i++)
		dy[i] = 0.5f;
	f.training = 0;
	o->forward(&n, &f);
	thaw_bwd b = {.B = 1, .x = {x}, .y = y, .dy = dy, .dx = {dx}, .scratch = scratch};
	o->backward(&n, &b);
	CHECK(memcmp(dx, dy, N * sizeof(float)) == 0);

	/* rate 0 in training is the identity too */
	n.a.rate = 0.0f;
	f.training = 1;
	o->forward(&n, &f);
	CHECK(memcmp(x, y, N * sizeof(float)) == 0);

	/* reproducible: the same seed gives the same mask through a model */
	float out[2][64];
	for (int r = 0; r < 2; r++) {
		thaw_model *m = thaw_model_new(64, 1, 1, 5);
		thaw_attrs d = thaw_dropout(0.5f);
		thaw_model_add(m, "drop", &d, NULL, 0);
		CHECK_OK(thaw_model_forward(m, x, 1, 1));
		memcpy(out[r], thaw_model_output(m), sizeof out[r]);
		thaw_model_free(m);
	}
	CHECK(memcmp(out[0], out[1], sizeof out[0]) == 0);
	free(x);
	free(y);
	free(dx);
	free(dy);
	free(scratch);
}

/* ---- a whole network through the model API */

/*   input 3x2x2 -> d1 dense 8 -> bn1 -> t1 tanh -> d2 dense 8 -> t2 tanh
 *   add1 = t2 + t1 (residual); d3 = dense 6 of the input (a second branch)
 *   cat = concat(add1, d3) -> sig -> gelu -> head dense 3 */
static thaw_model *make_net(void)
{
	thaw_model *m = thaw_model_new(3, 2, 2, 11);
	thaw_attrs d8 = thaw_dense(8), d6 = thaw_dense(6), d3 = thaw_dense(3);
	thaw_attrs bn = thaw_layer(THAW_BATCHNORM), th = thaw_layer(THAW_TANH);
	int k = 0;
	k |= thaw_model_add(m, "d1", &d8, NULL, 0);
	k |= thaw_model_add(m, "bn1", &bn, NULL, 0);
	int t1 = thaw_model_add(m, "t1", &th, NULL, 0);
	k |= thaw_model_add(m, "d2", &d8, NULL, 0);
	int t2 = thaw_model_add(m, "t2", &th, NULL, 0);
	int ins[2] = {t2, t1};
	thaw_attrs add = thaw_layer(THAW_ADD);
	int a1 = thaw_model_add(m, "add1", &add, ins, 2);
	int in0 = -1;
	int b3 = thaw_model_add(m, "d3", &d6, &in0, 1);
	int cins[2] = {a1, b3};
	thaw_attrs cat = thaw_layer(THAW_CONCAT);
	k |= thaw_model_add(m, "cat", &cat, cins, 2);
	thaw_attrs sg = thaw_layer(THAW_SIGMOID), ge = thaw_layer(THAW_GELU);
	k |= thaw_model_add(m, "sig", &sg, NULL, 0);
	k |= thaw_model_add(m, "gelu", &ge, NULL, 0);
	k |= thaw_model_add(m, "head", &d3, NULL, 0);
	CHECKF(k >= 0 && t1 >= 0 && t2 >= 0 && a1 >= 0 && b3 >= 0, "%s", thaw_errmsg());
	/* gamma, beta away from 1, 0 so their gradients are not special */
	thaw_node *b = m->nodes[thaw_model_find(m, "bn1")];
	for (int c = 0; c < 8; c++) {
		b->p[0].w[c] = 0.7f + 0.1f * c;
		b->p[1].w[c] = 0.05f * c - 0.2f;
		b->p[2].w[c] = 0.1f * c;
		b->p[3].w[c] = 0.5f + 0.2f * c;
	}
	return m;
}

static int out_size(const thaw_model *m) { return (int)thaw_shape_sample(thaw_model_output_shape(m)); }

static double net_loss(thaw_model *m, const float *x, int B, const float *r)
{
	thaw_model_forward(m, x, B, 1);
	const float *y = thaw_model_output(m);
	double L = 0;
	for (int i = 0; i < B * out_size(m); i++)
		L += (double)r[i] * y[i];
	return L;
}

/* Compares model gradients with central differences for every learnable
 * value of every trainable node; frozen nodes must keep their (poisoned)
 * gradient buffers untouched. Returns the largest relative error. */
static double net_check(thaw_model *m, const char *label)
{
	enum { B = 5 };
	thaw_rng rng;
	thaw_rng_seed(&rng, 3);
	const int nx = B * m->input.c * m->input.h * m->input.w, ny = B * out_size(m);
	float *x = malloc(nx * sizeof(float)), *r = malloc(ny * sizeof(float));
	for (int i = 0; i < nx; i++)
		x[i] = 2.0f * thaw_rng_uniform(&rng) - 1.0f;
	for (int i = 0; i < ny; i++)
		r[i] = 2.0f * thaw_rng_uniform(&rng) - 1.0f;
	for (int i = 0; i < m->n; i++)
		for (int p = 0; p < m->nodes[i]->np; p++)
			if (m->nodes[i]->p[p].g)
				for (size_t k = 0; k < m->nodes[i]->p[p].size; k++)
					m->nodes[i]->p[p].g[k] = NAN;
	net_loss(m, x, B, r);
	CHECK_OK(thaw_model_backward(m, r));
	double worst = 0;
	int checked = 0, frozen_ok = 1;
	const float eps = 1e-2f;
	for (int i = 0; i < m->n; i++) {
		thaw_node *n = m->nodes[i];
		for (int p = 0; p < n->np; p++) {
			thaw_param *P = &n->p[p];
			if (P->is_buffer)
				continue;
			if (!n->trainable) {
				for (size_t k = 0; k < P->size; k++)
					frozen_ok &= isnan(P->g[k]);
				continue;
			}
			for (size_t k = 0; k < P->size; k++) {
				float keep = P->w[k];
				P->w[k] = keep + eps;
				double lp = net_loss(m, x, B, r);
				P->w[k] = keep - eps;
				double lm = net_loss(m, x, B, r);
				P->w[k] = keep;
				double num = (lp - lm) / (2.0 * eps);
				double e = fabs(num - P->g[k]) / fmax(fabs(num) + fabs(P->g[k]), 1e-1);
				if (e > 2e-2)
					printf("  %s: %s.%s[%zu] analytic %.6g numeric %.6g\n", label, n->name,
					       P->name, k, P->g[k], num);
				worst = fmax(worst, e);
				checked++;
			}
		}
	}
	printf("  network %-24s %d parameters checked, max rel error %.2e\n", label, checked, worst);
	CHECKF(worst < 2e-2, "%s: %.3g", label, worst);
	CHECKF(frozen_ok, "%s: a frozen node's gradient was written", label);
	free(x);
	free(r);
	return worst;
}

static void test_network_gradients(void)
{
	thaw_model *m = make_net();
	net_check(m, "all trainable");
	/* frozen in the middle: gradients still flow through d2 and bn1 to d1,
	 * and bn1 normalises with (and keeps) its running statistics */
	thaw_node *bn = m->nodes[thaw_model_find(m, "bn1")];
	float rm[8], rv[8];
	memcpy(rm, bn->p[2].w, sizeof rm);
	memcpy(rv, bn->p[3].w, sizeof rv);
	thaw_model_set_trainable_glob(m, "d2", 0);
	thaw_model_set_trainable_glob(m, "bn1", 0);
	net_check(m, "d2, bn1 frozen");
	CHECK(memcmp(rm, bn->p[2].w, sizeof rm) == 0 && memcmp(rv, bn->p[3].w, sizeof rv) == 0);
	/* everything below head frozen: only head computes, d1..cat run no backward */
	thaw_model_freeze_upto(m, "gelu");
	uint64_t before = m->nodes[0]->n_backward;
	net_check(m, "only head trainable");
	CHECK(m->nodes[0]->n_backward == before);
	thaw_model_free(m);

	/* one node feeding an add twice and a concat: dx must accumulate */
	m = thaw_model_new(2, 2, 1, 3);
	thaw_attrs d4 = thaw_dense(4), d2 = thaw_dense(2);
	int d = thaw_model_add(m, "d", &d4, NULL, 0);
	int twice[2] = {d, d}, three[3] = {d, d, d};
	thaw_attrs add = thaw_layer(THAW_ADD), cat = thaw_layer(THAW_CONCAT);
	int a = thaw_model_add(m, "x2", &add, twice, 2);
	int a3 = thaw_model_add(m, "x3", &add, three, 3);
	int ins[3] = {a, d, a3};
	thaw_model_add(m, "cat", &cat, ins, 3);
	thaw_model_add(m, "head", &d2, NULL, 0);
	CHECK(m->n == 5);
	net_check(m, "shared input x+x, x+x+x");
	thaw_model_free(m);
}

int main(void)
{
	RUN(test_kinds_registered);
	RUN(test_gradcheck_dense);
	RUN(test_gradcheck_activations);
	RUN(test_gradcheck_merge);
	RUN(test_activation_values);
	RUN(test_shape_errors);
	RUN(test_flatten_and_concat_layout);
	RUN(test_dropout_behaviour);
	RUN(test_network_gradients);
	return check_done();
}
