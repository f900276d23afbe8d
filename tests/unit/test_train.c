/* Loss, optimizers (against PyTorch 1.13 reference values), schedules,
 * learning-rate multipliers, clipping, metrics and NaN reporting. */
#include <stdlib.h>

#include "check.h"
#include "thaw/train.h"

static void test_xent_stable_and_correct(void)
{
	/* logits far apart: a naive exp() overflows; the loss stays finite */
	float z[2 * 3] = {1000.0f, 0.0f, -1000.0f, 0.1f, 0.2f, 0.3f};
	int32_t y[2] = {2, 1};
	float d[6], p[6];
	double loss;
	CHECK_OK(thaw_softmax_xent(z, y, 2, 3, 0.0f, d, p, &loss));
	/* row 0: -log softmax[2] = 2000; row 1: log(e^.1+e^.2+e^.3) - .2 */
	double r1 = log(exp(0.1) + exp(0.2) + exp(0.3)) - 0.2;
	CHECK_NEAR(loss, (2000.0 + r1) / 2, 1e-3);
	CHECK_NEAR(p[0], 1.0, 1e-6);
	CHECK_NEAR(d[0], 0.5, 1e-6); /* (p - t) / B */
	CHECK_NEAR(d[2], -0.5, 1e-6);
	/* finite differences on the well-conditioned row */
	for (int k = 0; k < 3; k++) {
		float zz[3] = {0.1f, 0.2f, 0.3f};
		double lp, lm;
		zz[k] += 1e-3f;
		thaw_softmax_xent(zz, &y[1], 1, 3, 0.0f, NULL, NULL, &lp);
		zz[k] -= 2e-3f;
		thaw_softmax_xent(zz, &y[1], 1, 3, 0.0f, NULL, NULL, &lm);
		CHECK_NEAR((lp - lm) / 2e-3, 2.0 * d[3 + k], 2e-3);
	}
	/* label smoothing 0.1, uniform logits: loss is log K whatever the target */
	float u[4] = {0, 0, 0, 0};
	int32_t y0 = 0;
	CHECK_OK(thaw_softmax_xent(u, &y0, 1, 4, 0.1f, d, NULL, &loss));
	CHECK_NEAR(loss, log(4.0), 1e-6);
	CHECK_NEAR(d[0], 0.25 - (0.9 + 0.025), 1e-6);
	int32_t bad[2] = {0, 3};
	CHECK_ERR(thaw_softmax_xent(z, bad, 2, 3, 0.0f, d, NULL, &loss), "label 3 of batch row 1");
}

/* One dense node whose gradient we set by hand: L = sum(c w^2 / 2 + d w). */
static const float W0[6] = {0.5f, -1.0f, 2.0f, 0.25f, -0.75f, 1.5f};
static const float C[6] = {1.0f, 2.0f, 0.5f, 3.0f, 1.5f, 0.2f};
static const float D[6] = {0.1f, -0.3f, 0.2f, 0.0f, 0.5f, -0.1f};

static thaw_model *opt_model(void)
{
	thaw_model *m = thaw_model_new(6, 1, 1, 1);
	thaw_attrs a = thaw_dense(1);
	a.bias = 0;
	thaw_model_add(m, "w", &a, NULL, 0);
	memcpy(m->nodes[0]->p[0].w, W0, sizeof W0);
	return m;
}

static void run_opt(thaw_model *m, const thaw_optim *o, int steps)
{
	thaw_node *n = m->nodes[0];
	for (int s = 0; s < steps; s++) {
		for (int j = 0; j < 6; j++)
			n->p[0].g[j] = C[j] * n->p[0].w[j] + D[j];
		n->bw = 1; /* as if backward had written the gradient */
		CHECK_OK(thaw_optim_step(o, m, o->lr, NULL));
	}
}

static void check_against(const char *name, thaw_optim o, const float *want)
{
	thaw_model *m = opt_model();
	run_opt(m, &o, 5);
	float diff = thaw_max_rel_diff(m->nodes[0]->p[0].w, want, 6);
	printf("  %-16s vs PyTorch: max rel diff %.2e\n", name, diff);
	CHECKF(diff < 2e-6, "%s differs from PyTorch by %g", name, diff);
	thaw_model_free(m);
}

static void test_optimizers_match_pytorch(void)
{
	/* from torch.optim in PyTorch 1.13, 5 steps each (scripted, see the test's history) */
	static const float sgd[6] = {0.254294008f, -0.226831973f, 1.45707428f, 0.0420174971f, -0.51821053f, 1.40392077f};
	static const float mom[6] = {-0.117495947f, 0.817482889f, 0.601174235f, -0.194569975f, -0.184873059f, 1.24931645f};
	static const float nest[6] = {-0.165374547f, 0.627757072f, 0.337918073f, -0.0865660608f, -0.191863f, 1.16802275f};
	static const float adam[6] = {0.253008276f, -0.751235068f, 1.75051463f, 0.0139072128f, -0.505365908f, 1.25147796f};
	static const float adamwd[6] = {0.253077805f, -0.751244843f, 1.75053132f, 0.0139072165f, -0.504944623f, 1.25121295f};
	static const float adamw[6] = {0.243311539f, -0.72911644f, 1.70361245f, 0.0107339062f, -0.489925176f, 1.21712029f};
	static const float clip[6] = {0.388609648f, -0.605892837f, 1.76809716f, 0.131353587f, -0.638529241f, 1.46040726f};
	thaw_optim o = thaw_optim_default(THAW_SGD);
	o.lr = 0.1f;
	o.momentum = 0;
	check_against("sgd", o, sgd);
	o.momentum = 0.9f;
	check_against("sgd momentum", o, mom);
	o.nesterov = 1;
	o.weight_decay = 0.01f;
	check_against("sgd nesterov wd", o, nest);
	o = thaw_optim_default(THAW_SGD);
	o.lr = 0.1f;
	o.momentum = 0;
	o.clip_norm = 1.0f;
	check_against("sgd clip 1", o, clip);
	o = thaw_optim_default(THAW_ADAM);
	o.lr = 0.05f;
	check_against("adam", o, adam);
	o.weight_decay = 0.1f;
	check_against("adam wd", o, adamwd);
	o = thaw_optim_default(THAW_ADAMW);
	o.lr = 0.05f;
	o.weight_decay = 0.1f;
	check_against("adamw", o, adamw);
	o.beta1 = 1.5f;
	CHECK_ERR(thaw_optim_check(&o), "betas");
}

static void test_lr_mult_and_frozen(void)
{
	thaw_optim o = thaw_optim_default(THAW_SGD);
	o.lr = 0.1f;
	o.momentum = 0;
	thaw_model *a = opt_model(), *b = opt_model();
	CHECK_OK(thaw_model_set_lr_mult(b, 0, 0.5f));
	run_opt(a, &o, 1);
	run_opt(b, &o, 1);
	for (int j = 0; j < 6; j++) /* half the rate: half the step */
		CHECK_NEAR(b->nodes[0]->p[0].w[j] - W0[j], 0.5f * (a->nodes[0]->p[0].w[j] - W0[j]), 1e-6);
	/* frozen: untouched, even with a gradient present */
	b->nodes[0]->trainable = 0;
	float keep[6];
	memcpy(keep, b->nodes[0]->p[0].w, sizeof keep);
	run_opt(b, &o, 3);
	CHECK(memcmp(keep, b->nodes[0]->p[0].w, sizeof keep) == 0);
	CHECK_ERR(thaw_model_set_lr_mult(b, 0, -1.0f), "must be >= 0");
	CHECK_ERR(thaw_model_set_lr_mult(b, 5, 1.0f), "node index 5");
	thaw_model_free(a);
	thaw_model_free(b);
}

static void test_schedules(void)
{
	thaw_sched s = thaw_sched_default(THAW_SCHED_STEP);
	s.step_size = 10;
	s.gamma = 0.5f;
	CHECK_OK(thaw_sched_check(&s));
	CHECK_NEAR(thaw_sched_lr(&s, 1.0f, 9), 1.0, 1e-7);
	CHECK_NEAR(thaw_sched_lr(&s, 1.0f, 10), 0.5, 1e-7);
	CHECK_NEAR(thaw_sched_lr(&s, 1.0f, 25), 0.25, 1e-7);
	s = thaw_sched_default(THAW_SCHED_COSINE);
	CHECK_ERR(thaw_sched_check(&s), "total number of steps");
	s.total_steps = 101;
	s.min_lr = 0.1f;
	CHECK_NEAR(thaw_sched_lr(&s, 1.0f, 0), 1.0, 1e-6);
	CHECK_NEAR(thaw_sched_lr(&s, 1.0f, 50), 0.55, 1e-6);
	CHECK_NEAR(thaw_sched_lr(&s, 1.0f, 100), 0.1, 1e-6);
	s = thaw_sched_default(THAW_SCHED_ONECYCLE);
	s.total_steps = 101;
	CHECK_OK(thaw_sched_check(&s));
	CHECK_NEAR(thaw_sched_lr(&s, 1.0f, 0), 1.0 / 25, 1e-6);
	CHECK_NEAR(thaw_sched_lr(&s, 1.0f, 30), 1.0, 1e-6);
	CHECK_NEAR(thaw_sched_lr(&s, 1.0f, 100), 1e-4, 1e-7);
	CHECK(thaw_sched_lr(&s, 1.0f, 15) > 0.04f && thaw_sched_lr(&s, 1.0f, 15) < 1.0f);
	s = thaw_sched_default(THAW_SCHED_CONSTANT);
	s.warmup_steps = 4;
	CHECK_NEAR(thaw_sched_lr(&s, 1.0f, 0), 0.25, 1e-7);
	CHECK_NEAR(thaw_sched_lr(&s, 1.0f, 3), 1.0, 1e-7);
	CHECK_NEAR(thaw_sched_lr(&s, 1.0f, 1000), 1.0, 1e-7);
	CHECK(thaw_sched_from_name("cosine") == THAW_SCHED_COSINE && thaw_sched_from_name("x") < 0);
}

static void test_metrics(void)
{
	thaw_metrics *mt = thaw_metrics_new(3, 2);
	float s[4 * 3] = {0.9f, 0.05f, 0.05f, /* true 0: right */
			  0.2f, 0.3f, 0.5f,   /* true 1: wrong, 2nd */
			  0.6f, 0.3f, 0.1f,   /* true 2: wrong, 3rd */
			  0.1f, 0.1f, 0.8f};  /* true 2: right */
	int32_t y[4] = {0, 1, 2, 2};
	thaw_metrics_add(mt, s, y, 4, 2.0);
	CHECK_NEAR(thaw_metrics_accuracy(mt), 0.5, 1e-12);
	CHECK_NEAR(thaw_metrics_topk(mt), 0.75, 1e-12);
	CHECK_NEAR(thaw_metrics_loss(mt), 0.5, 1e-12);
	CHECK(mt->confusion[1 * 3 + 2] == 1 && mt->confusion[2 * 3 + 0] == 1 && mt->confusion[2 * 3 + 2] == 1);
	CHECK_NEAR(thaw_metrics_class_accuracy(mt, 2), 0.5, 1e-12);
	thaw_metrics_reset(mt);
	CHECK(mt->n == 0 && mt->confusion[8] == 0);
	thaw_metrics_free(mt);
	thaw_metrics_free(NULL);
}

static void test_nan_is_reported_with_its_step(void)
{
	thaw_model *m = thaw_model_new(4, 1, 1, 3);
	thaw_attrs a = thaw_dense(3);
	thaw_model_add(m, "fc", &a, NULL, 0);
	thaw_optim o = thaw_optim_default(THAW_SGD);
	o.lr = 1e30f;
	o.momentum = 0;
	thaw_trainer *t = thaw_trainer_new(m, &o, NULL, 2);
	float x[8] = {1e20f, 2, 3, 4, -1, -2, -3, -4e20f};
	int32_t y[2] = {0, 2};
	int rc = 0, s;
	for (s = 0; s < 20 && rc == 0; s++)
		rc = thaw_trainer_step(t, x, y, 2, NULL);
	CHECKF(rc == THAW_ENAN, "rc %d: %s", rc, thaw_errmsg());
	char want[64];
	snprintf(want, sizeof want, "at step %d", s);
	CHECKF(strstr(thaw_errmsg(), want) != NULL, "message '%s' lacks '%s'", thaw_errmsg(), want);
	int32_t bad[2] = {0, 7};
	thaw_trainer_free(t);
	o.lr = 0.01f;
	t = thaw_trainer_new(m, &o, NULL, 2);
	CHECK_ERR(thaw_trainer_step(t, x, bad, 2, NULL), "label 7");
	CHECK_ERR(thaw_trainer_step(t, x, y, 3, NULL), "batch of 3");
	thaw_trainer_free(t);
	thaw_model_free(m);
}

int main(void)
{
	RUN(test_xent_stable_and_correct);
	RUN(test_optimizers_match_pytorch);
	RUN(test_lr_mult_and_frozen);
	RUN(test_schedules);
	RUN(test_metrics);
	RUN(test_nan_is_reported_with_its_step);
	return check_done();
}
