/* Freezing, the heart of transfer learning: frozen parameters and frozen
 * batch-norm statistics stay bit-identical, frozen nodes' backward work is
 * skipped (counted), flag flips apply at the next batch; plus determinism,
 * a whole-network gradient check, and a CNN that learns. */
#include <stdlib.h>

#include "check.h"
#include "thaw/train.h"
#include "thaw/zoo.h"

#define H 12
#define B 16

static void fill(float *x, size_t n, uint64_t seed)
{
	thaw_rng r;
	thaw_rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++)
		x[i] = thaw_rng_normal(&r);
}

/* Copies of every parameter and buffer of node i, for comparison. */
static float *snapshot(const thaw_node *n, size_t *bytes)
{
	size_t total = 0;
	for (int k = 0; k < n->np; k++)
		total += n->p[k].size;
	float *s = malloc((total ? total : 1) * sizeof(float)), *q = s;
	for (int k = 0; k < n->np; k++) {
		memcpy(q, n->p[k].w, n->p[k].size * sizeof(float));
		q += n->p[k].size;
	}
	*bytes = total * sizeof(float);
	return s;
}

static int same_as(const thaw_node *n, const float *s)
{
	for (int k = 0; k < n->np; k++) {
		if (memcmp(s, n->p[k].w, n->p[k].size * sizeof(float)) != 0)
			return 0;
		s += n->p[k].size;
	}
	return 1;
}

static void train_steps(thaw_model *m, int steps, uint64_t seed)
{
	thaw_optim o = thaw_optim_default(THAW_ADAM);
	thaw_trainer *t = thaw_trainer_new(m, &o, NULL, B);
	CHECKF(t != NULL, "%s", thaw_errmsg());
	static float x[B * H * H];
	int32_t y[B];
	for (int s = 0; t && s < steps; s++) {
		fill(x, sizeof x / sizeof *x, seed + s);
		for (int i = 0; i < B; i++)
			y[i] = (i + s) % 5;
		CHECK_OK(thaw_trainer_step(t, x, y, B, NULL));
	}
	thaw_trainer_free(t);
}

static void test_frozen_prefix_is_bit_identical_and_skipped(void)
{
	thaw_model *m = thaw_zoo_reference_cnn(1, H, H, 5, 11);
	CHECK_OK(thaw_model_freeze_upto(m, "pool2"));
	int fc1 = thaw_model_find(m, "fc1");
	float *snap[16];
	size_t bytes;
	for (int i = 0; i < m->n; i++)
		snap[i] = snapshot(m->nodes[i], &bytes);
	train_steps(m, 5, 100);
	for (int i = 0; i < m->n; i++) {
		const thaw_node *n = m->nodes[i];
		if (i < fc1) {
			/* frozen: weights and running statistics bit-identical, no backward at all */
			CHECKF(same_as(n, snap[i]), "frozen node '%s' changed", n->name);
			CHECKF(n->n_backward == 0 && n->n_weight_grad == 0,
			       "frozen node '%s' ran backward %llu times", n->name,
			       (unsigned long long)n->n_backward);
			CHECK(n->n_forward == 5);
		} else {
			CHECKF(n->n_backward == 5, "node '%s' ran backward %llu times", n->name,
			       (unsigned long long)n->n_backward);
			if (thaw_node_has_weights(n))
				CHECKF(!same_as(n, snap[i]), "trainable node '%s' did not change", n->name);
		}
	}
	for (int i = 0; i < m->n; i++)
		free(snap[i]);
	thaw_model_free(m);
}

static void test_frozen_bn_between_trainable_convs(void)
{
	/* conv1 trainable, bn1 frozen, conv2 trainable: gradient flows through the
	 * frozen batch norm (in inference mode) but its statistics never move */
	thaw_model *m = thaw_zoo_reference_cnn(1, H, H, 5, 12);
	int bn1 = thaw_model_find(m, "bn1"), bn2 = thaw_model_find(m, "bn2");
	m->nodes[bn1]->trainable = 0;
	size_t bytes;
	float *s1 = snapshot(m->nodes[bn1], &bytes), *s2 = snapshot(m->nodes[bn2], &bytes);
	float *c1 = snapshot(m->nodes[0], &bytes);
	train_steps(m, 3, 200);
	CHECK(same_as(m->nodes[bn1], s1));
	CHECK(!same_as(m->nodes[bn2], s2)); /* a trainable BN updates its running stats */
	CHECK(!same_as(m->nodes[0], c1));
	CHECK(m->nodes[bn1]->n_backward == 3 && m->nodes[bn1]->n_weight_grad == 0);
	CHECK(m->nodes[0]->n_weight_grad == 3);
	free(s1);
	free(s2);
	free(c1);
	/* only the first conv block frozen: conv2 computes weights but no input gradient work below */
	thaw_model *m2 = thaw_zoo_reference_cnn(1, H, H, 5, 12);
	CHECK_OK(thaw_model_freeze_upto(m2, "pool1"));
	train_steps(m2, 2, 300);
	for (int i = 0; i <= 3; i++)
		CHECK(m2->nodes[i]->n_backward == 0);
	int c2 = thaw_model_find(m2, "conv2");
	CHECK(m2->nodes[c2]->n_weight_grad == 2 && m2->nodes[c2]->need_dx[0] == 0);
	thaw_model_free(m);
	thaw_model_free(m2);
}

static void test_flag_flip_applies_next_batch(void)
{
	thaw_model *m = thaw_zoo_reference_cnn(1, H, H, 5, 13);
	CHECK_OK(thaw_model_freeze_upto(m, "pool2"));
	size_t bytes;
	float *c1 = snapshot(m->nodes[0], &bytes), *b1 = snapshot(m->nodes[1], &bytes);
	thaw_optim o = thaw_optim_default(THAW_SGD);
	thaw_trainer *t = thaw_trainer_new(m, &o, NULL, B);
	static float x[B * H * H];
	int32_t y[B];
	for (int i = 0; i < B; i++)
		y[i] = i % 5;
	fill(x, sizeof x / sizeof *x, 1);
	CHECK_OK(thaw_trainer_step(t, x, y, B, NULL));
	CHECK(same_as(m->nodes[0], c1) && same_as(m->nodes[1], b1));
	CHECK(thaw_model_set_trainable(m, 0, m->n - 1, 1) == 8); /* thaw everything between batches */
	CHECK_OK(thaw_trainer_step(t, x, y, B, NULL));
	CHECK(!same_as(m->nodes[0], c1) && !same_as(m->nodes[1], b1));
	CHECK(m->nodes[0]->n_weight_grad == 1);
	thaw_model_set_trainable(m, 0, 0, 0); /* and freeze conv1 again */
	free(c1);
	c1 = snapshot(m->nodes[0], &bytes);
	CHECK_OK(thaw_trainer_step(t, x, y, B, NULL));
	CHECK(same_as(m->nodes[0], c1) && m->nodes[0]->n_weight_grad == 1);
	free(c1);
	free(b1);
	thaw_trainer_free(t);
	thaw_model_free(m);
}

static void test_same_seed_same_weights(void)
{
	thaw_model *a = thaw_zoo_reference_cnn(1, H, H, 5, 77), *b = thaw_zoo_reference_cnn(1, H, H, 5, 77);
	train_steps(a, 4, 5);
	train_steps(b, 4, 5);
	int same = 1;
	for (int i = 0; i < a->n; i++)
		for (int k = 0; k < a->nodes[i]->np; k++)
			same &= memcmp(a->nodes[i]->p[k].w, b->nodes[i]->p[k].w, a->nodes[i]->p[k].size * 4) == 0;
	CHECK(same);
	thaw_model *c = thaw_zoo_reference_cnn(1, H, H, 5, 78);
	CHECK(memcmp(a->nodes[0]->p[0].w, c->nodes[0]->p[0].w, a->nodes[0]->p[0].size * 4) != 0);
	thaw_model_free(a);
	thaw_model_free(b);
	thaw_model_free(c);
}

/* Finite differences on samples of every trainable parameter of the whole
 * reference CNN (training mode: batch statistics, a fixed dropout mask). */
static void test_whole_network_gradients(void)
{
	enum { NB = 4, K = 5 };
	thaw_model *m = thaw_zoo_reference_cnn(1, 8, 8, K, 21);
	static float x[NB * 64];
	fill(x, NB * 64, 3);
	int32_t y[NB] = {0, 1, 2, 3};
	float dl[NB * K];
	double loss;
	thaw_rng_seed(&m->rng, 5);
	CHECK_OK(thaw_model_forward(m, x, NB, 1));
	thaw_softmax_xent(thaw_model_output(m), y, NB, K, 0, dl, NULL, &loss);
	CHECK_OK(thaw_model_backward(m, dl));
	double worst = 0;
	thaw_rng pick;
	thaw_rng_seed(&pick, 9);
	for (int i = 0; i < m->n; i++) {
		thaw_node *n = m->nodes[i];
		for (int k = 0; k < n->np; k++) {
			thaw_param *p = &n->p[k];
			if (p->is_buffer)
				continue;
			float *g = malloc(p->size * sizeof(float));
			memcpy(g, p->g, p->size * sizeof(float));
			for (int s = 0; s < 6; s++) {
				size_t j = thaw_rng_below(&pick, (uint32_t)p->size);
				float keep = p->w[j];
				double l[2];
				for (int side = 0; side < 2; side++) {
					p->w[j] = keep + (side ? -1e-3f : 1e-3f);
					thaw_rng_seed(&m->rng, 5);
					thaw_model_forward(m, x, NB, 1);
					thaw_softmax_xent(thaw_model_output(m), y, NB, K, 0, NULL, NULL, &l[side]);
				}
				p->w[j] = keep;
				double num = (l[0] - l[1]) / 2e-3;
				double e = fabs(num - g[j]) / fmax(fabs(num) + fabs(g[j]), 1e-2);
				if (e > worst)
					worst = e;
				if (e > 5e-2)
					printf("  %s.%s[%zu]: analytic %.6g numeric %.6g\n", n->name, p->name, j, g[j], num);
			}
			free(g);
		}
	}
	printf("  whole reference CNN: max rel error %.2e\n", worst);
	CHECK(worst < 5e-2);
	thaw_model_free(m);
}

/* Synthetic, separable images: class k is a bright bar of orientation k
 * (horizontal, vertical, diagonal, anti-diagonal) at a random place, on noise. */
static void synth(float *x, int32_t *y, int n, uint64_t seed)
{
	thaw_rng r;
	thaw_rng_seed(&r, seed);
	for (int i = 0; i < n; i++) {
		int k = (int)thaw_rng_below(&r, 4);
		float *im = x + (size_t)i * H * H;
		for (int p = 0; p < H * H; p++)
			im[p] = 0.3f * thaw_rng_normal(&r);
		int cy = 3 + (int)thaw_rng_below(&r, H - 6), cx = 3 + (int)thaw_rng_below(&r, H - 6);
		for (int t = -3; t <= 3; t++) {
			int dy[4] = {0, t, t, t}, dx[4] = {t, 0, t, -t};
			im[(cy + dy[k]) * H + cx + dx[k]] += 1.5f;
		}
		y[i] = k;
	}
}

static void test_small_cnn_learns(void)
{
	thaw_model *m = thaw_model_new(1, H, H, 31);
	thaw_attrs c1 = thaw_conv(8, 3, 1, 1), c2 = thaw_conv(16, 3, 1, 1), out = thaw_dense(4);
	thaw_model_add(m, "conv1", &c1, NULL, 0);
	thaw_attrs bn = thaw_layer(THAW_BATCHNORM), relu = thaw_layer(THAW_RELU), gap = thaw_layer(THAW_GLOBALAVGPOOL);
	thaw_attrs pool = thaw_pool(THAW_MAXPOOL, 2, 2);
	thaw_model_add(m, "bn1", &bn, NULL, 0);
	thaw_model_add(m, "relu1", &relu, NULL, 0);
	thaw_model_add(m, "pool1", &pool, NULL, 0);
	thaw_model_add(m, "conv2", &c2, NULL, 0);
	thaw_model_add(m, "relu2", &relu, NULL, 0);
	thaw_model_add(m, "gap", &gap, NULL, 0);
	CHECK(thaw_model_add(m, "out", &out, NULL, 0) == 7);
	enum { NTR = 2048, NTE = 512, BS = 32 };
	float *xtr = malloc(sizeof(float) * NTR * H * H), *xte = malloc(sizeof(float) * NTE * H * H);
	int32_t *ytr = malloc(sizeof(int32_t) * NTR), *yte = malloc(sizeof(int32_t) * NTE);
	synth(xtr, ytr, NTR, 1);
	synth(xte, yte, NTE, 2);
	thaw_optim o = thaw_optim_default(THAW_ADAM);
	o.lr = 3e-3f;
	thaw_trainer *t = thaw_trainer_new(m, &o, NULL, BS);
	double t0 = thaw_now();
	for (int epoch = 0; epoch < 4; epoch++)
		for (int s = 0; s + BS <= NTR; s += BS)
			thaw_trainer_step(t, xtr + (size_t)s * H * H, ytr + s, BS, NULL);
	thaw_metrics *mt = thaw_metrics_new(4, 1);
	for (int s = 0; s < NTE; s += 128)
		CHECK_OK(thaw_eval_batch(m, xte + (size_t)s * H * H, yte + s, 128, mt, NULL));
	double acc = thaw_metrics_accuracy(mt);
	printf("  synthetic 4-class bars: held-out accuracy %.2f%% after 4 epochs (%.1f s)\n", 100 * acc,
	       thaw_now() - t0);
	CHECK(acc >= 0.99);
	thaw_metrics_free(mt);
	thaw_trainer_free(t);
	thaw_model_free(m);
	free(xtr);
	free(xte);
	free(ytr);
	free(yte);
}

int main(void)
{
	RUN(test_frozen_prefix_is_bit_identical_and_skipped);
	RUN(test_frozen_bn_between_trainable_convs);
	RUN(test_flag_flip_applies_next_batch);
	RUN(test_same_seed_same_weights);
	RUN(test_whole_network_gradients);
	RUN(test_small_cnn_learns);
	return check_done();
}
