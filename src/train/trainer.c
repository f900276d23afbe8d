/* The training step: forward, loss, backward, update, with NaN detection. */
#include <math.h>
#include <stdlib.h>

#include "thaw/train.h"

#include "dist_train.h"

thaw_trainer *thaw_trainer_new(thaw_model *m, const thaw_optim *o, const thaw_sched *s, int max_B)
{
	if (!m || !o || max_B <= 0) {
		thaw_error(THAW_EINVAL, "trainer: needs a model, an optimizer and a batch size > 0");
		return NULL;
	}
	if (thaw_optim_check(o) < 0 || (s && thaw_sched_check(s) < 0))
		return NULL;
	thaw_shape os = thaw_model_output_shape(m);
	int K = (int)thaw_shape_sample(os);
	if (K < 2) {
		thaw_error(THAW_EINVAL, "trainer: the model's output has %d value(s); a classifier needs at least 2",
			   K);
		return NULL;
	}
	thaw_trainer *t = thaw_calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->m = m;
	t->opt = *o;
	t->sched = s ? *s : thaw_sched_default(THAW_SCHED_CONSTANT);
	t->max_B = max_B;
	t->K = K;
	t->dlogits = thaw_aligned((size_t)max_B * K * sizeof(float));
	t->probs = thaw_aligned((size_t)max_B * K * sizeof(float));
	if (thaw_dist_size() > 1)
		t->pack = thaw_aligned(dist_pack_cap(m) * sizeof(float));
	if (!t->dlogits || !t->probs || (thaw_dist_size() > 1 && !t->pack) || thaw_model_plan(m, max_B, 1) < 0) {
		thaw_trainer_free(t);
		return NULL;
	}
	return t;
}

void thaw_trainer_free(thaw_trainer *t)
{
	if (!t)
		return;
	free(t->dlogits);
	free(t->probs);
	free(t->pack);
	free(t);
}

static int count_correct(const float *logits, const int32_t *labels, int B, int K)
{
	int c = 0;
	for (int i = 0; i < B; i++) {
		const float *z = logits + (size_t)i * K;
		int best = 0;
		for (int k = 1; k < K; k++)
			if (z[k] > z[best])
				best = k;
		c += best == labels[i];
	}
	return c;
}

int thaw_trainer_step(thaw_trainer *t, const float *x, const int32_t *labels, int B,
		      thaw_step_result *r)
{
	if (!x)
		return thaw_error(THAW_EINVAL, "train step: no input");
	return thaw_trainer_step_from(t, 0, x, labels, B, r);
}

int thaw_trainer_step_from(thaw_trainer *t, int first, const float *x, const int32_t *labels, int B,
			   thaw_step_result *r)
{
	if (!t || !labels || B <= 0 || B > t->max_B)
		return thaw_error(THAW_EINVAL, "train step: batch of %d outside 1..%d", B, t ? t->max_B : 0);
	thaw_model *m = t->m;
	int K = (int)thaw_shape_sample(thaw_model_output_shape(m));
	if (K != t->K)
		return thaw_error(THAW_ESHAPE,
				  "train step: the model's output changed from %d to %d since the trainer was made",
				  t->K, K);
	/* a shard of a batch over MPI ranks: each rank its own dropout draws
	 * (a stream from the model's, which advances alike on every rank) and,
	 * unless bn_local, batch statistics over the whole batch */
	int dist = t->total_B > 0 && t->pack && thaw_dist_size() > 1;
	thaw_rng shared = m->rng;
	if (dist) {
		uint64_t s = ((uint64_t)thaw_rng_u32(&shared) << 32) | thaw_rng_u32(&shared);
		thaw_rng_seed(&m->rng, s ^ (0x9e3779b97f4a7c15ull * (uint64_t)(thaw_dist_rank() + 1)));
		thaw_dist_set_sync_bn(!t->bn_local);
	}
	int rc = thaw_model_forward_from(m, first, x, B, 1);
	if (dist)
		m->rng = shared;
	if (rc < 0)
		goto out;
	const float *logits = thaw_model_output(m);
	double loss;
	rc = thaw_softmax_xent(logits, labels, B, K, t->smoothing, t->dlogits, t->probs, &loss);
	if (rc < 0)
		goto out;
	int correct = count_correct(logits, labels, B, K), count = B;
	if (dist) { /* d(whole batch's mean loss) / d logits */
		float f = (float)B / (float)t->total_B;
		for (size_t i = 0; i < (size_t)B * K; i++)
			t->dlogits[i] *= f;
	} else if (!isfinite(loss)) {
		goto nan;
	}
	rc = thaw_model_backward(m, t->dlogits);
	if (rc < 0)
		goto out;
	if (dist) {
		double sum = loss * B;
		thaw_dist_set_sync_bn(0);
		if ((rc = dist_reduce_step(m, t->pack, t->bn_local, &sum, &correct, &count)) < 0)
			return rc;
		loss = count > 0 ? sum / count : sum;
		if (!isfinite(loss))
			goto nan;
	}
	float lr = thaw_sched_lr(&t->sched, t->opt.lr, t->step);
	float gn = 0;
	rc = thaw_optim_step(&t->opt, m, lr, &gn);
	if (rc < 0)
		return rc;
	t->step++;
	if (r) {
		r->loss = loss;
		r->correct = correct;
		r->lr = lr;
		r->grad_norm = gn;
		r->B = count;
	}
	return 0;
nan:
	return thaw_error(THAW_ENAN, "the loss became %s at step %ld (learning rate %g); try a lower rate",
			  isnan(loss) ? "NaN" : "Inf", t->step + 1, (double)thaw_sched_lr(&t->sched, t->opt.lr, t->step));
out:
	thaw_dist_set_sync_bn(0);
	return rc;
}

int thaw_eval_batch(thaw_model *m, const float *x, const int32_t *labels, int B, thaw_metrics *mt,
		    float *probs)
{
	int rc = thaw_model_forward(m, x, B, 0);
	if (rc < 0)
		return rc;
	const float *logits = thaw_model_output(m);
	int K = (int)thaw_shape_sample(thaw_model_output_shape(m));
	if (mt && mt->K != K)
		return thaw_error(THAW_ESHAPE, "evaluate: the model has %d outputs, the metrics %d classes", K,
				  mt->K);
	double loss = 0;
	if (labels) {
		for (int i = 0; i < B; i++)
			if (labels[i] < 0 || labels[i] >= K)
				return thaw_error(THAW_EINVAL, "evaluate: label %d outside 0..%d", labels[i], K - 1);
		/* per-row losses summed: reuse the stable formula without gradients */
		rc = thaw_softmax_xent(logits, labels, B, K, 0.0f, NULL, probs, &loss);
		if (rc < 0)
			return rc;
		loss *= B;
	} else if (probs) {
		thaw_softmax(probs, logits, B, K);
	}
	if (mt && labels)
		thaw_metrics_add(mt, logits, labels, B, loss);
	return 0;
}
