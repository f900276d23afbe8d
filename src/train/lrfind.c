/* The LR finder: an exponential sweep of the learning rate, one step a
 * batch, until the loss diverges; the model is put back bit for bit. */
#include "thaw/finetune.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

thaw_lrfind_opts thaw_lrfind_opts_default(void)
{
	thaw_lrfind_opts o;
	memset(&o, 0, sizeof o);
	o.lr_min = 1e-7f;
	o.lr_max = 10.0f;
	o.optimizer = THAW_ADAMW;
	o.beta = 0; /* by the sweep's length */
	o.diverge = 4.0f;
	o.seed = 1;
	return o;
}

void thaw_lrfind_result_free(thaw_lrfind_result *r)
{
	if (!r)
		return;
	free(r->lr);
	free(r->loss);
	free(r->smooth);
	memset(r, 0, sizeof *r);
}

/* ---- what a sweep changes, kept aside: every parameter and statistic,
 * the optimizer state (and whether there was any), the step counts and
 * the random state. */
typedef struct saved {
	float *w;        /* all p[].w, in node order */
	float **omem;    /* per node: a copy of its optimizer state, or NULL */
	size_t *omem_n;
	uint64_t *opt_t;
	thaw_rng rng;
} saved;

static size_t opt_floats(const thaw_node *n)
{
	size_t total = 0;
	for (int i = 0; i < n->np; i++)
		if (!n->p[i].is_buffer)
			total += 2 * ((n->p[i].size + 15) & ~(size_t)15);
	return total;
}

static void saved_free(saved *s, int n)
{
	free(s->w);
	for (int i = 0; s->omem && i < n; i++)
		free(s->omem[i]);
	free(s->omem);
	free(s->omem_n);
	free(s->opt_t);
}

static int save_model(const thaw_model *m, saved *s)
{
	memset(s, 0, sizeof *s);
	size_t total = 0;
	for (int i = 0; i < m->n; i++)
		for (int k = 0; k < m->nodes[i]->np; k++)
			total += m->nodes[i]->p[k].size;
	s->w = thaw_malloc(total * sizeof(float) + 1);
	s->omem = thaw_calloc((size_t)m->n + 1, sizeof *s->omem);
	s->omem_n = thaw_calloc((size_t)m->n + 1, sizeof *s->omem_n);
	s->opt_t = thaw_calloc((size_t)m->n + 1, sizeof *s->opt_t);
	if (!s->w || !s->omem || !s->omem_n || !s->opt_t)
		goto nomem;
	float *q = s->w;
	for (int i = 0; i < m->n; i++) {
		const thaw_node *n = m->nodes[i];
		for (int k = 0; k < n->np; k++) {
			memcpy(q, n->p[k].w, n->p[k].size * sizeof(float));
			q += n->p[k].size;
		}
		s->opt_t[i] = n->opt_t;
		if (n->omem) {
			s->omem_n[i] = opt_floats(n);
			if (!(s->omem[i] = thaw_malloc(s->omem_n[i] * sizeof(float) + 1)))
				goto nomem;
			memcpy(s->omem[i], n->omem, s->omem_n[i] * sizeof(float));
		}
	}
	s->rng = m->rng;
	return 0;
nomem:
	saved_free(s, m->n);
	memset(s, 0, sizeof *s);
	return THAW_ENOMEM;
}

static void restore_model(thaw_model *m, const saved *s)
{
	const float *q = s->w;
	for (int i = 0; i < m->n; i++) {
		thaw_node *n = m->nodes[i];
		for (int k = 0; k < n->np; k++) {
			memcpy(n->p[k].w, q, n->p[k].size * sizeof(float));
			q += n->p[k].size;
		}
		n->opt_t = s->opt_t[i];
		if (s->omem[i]) {
			/* the state existed before, so the same block is still there */
			memcpy(n->omem, s->omem[i], s->omem_n[i] * sizeof(float));
		} else if (n->omem) {
			/* made by the sweep: the node had none */
			free(n->omem);
			n->omem = NULL;
			for (int k = 0; k < n->np; k++)
				n->p[k].m = n->p[k].v = NULL;
		}
	}
	m->rng = s->rng;
}

/* ---- suggestions */

void thaw_lrfind_suggest(thaw_lrfind_result *r)
{
	r->steep = r->valley = r->minimum = r->suggested = 0;
	int n = r->n;
	if (n < 2) {
		if (n == 1)
			r->steep = r->valley = r->minimum = r->suggested = r->lr[0];
		return;
	}
	/* the lowest point */
	int lo = 0;
	for (int i = 1; i < n; i++)
		if (r->smooth[i] < r->smooth[lo])
			lo = i;
	r->minimum = r->lr[lo] / 10;
	/* steepest descent: the most negative slope against log(lr), before
	 * the minimum (past it the loss is on its way up) */
	int best = -1;
	double bs = 0;
	/* from a tenth of the way in: the first averages rest on few points */
	for (int i = 1 + n / 10; i <= lo; i++) {
		double s = (r->smooth[i] - r->smooth[i - 1]) / (log(r->lr[i]) - log(r->lr[i - 1]));
		if (best < 0 || s < bs) {
			best = i;
			bs = s;
		}
	}
	r->steep = best >= 0 ? r->lr[best] : r->lr[0];
	/* fastai's valley: the longest decreasing run (not necessarily
	 * contiguous) of the smoothed loss; two thirds of the way down it */
	int *lds = malloc((size_t)n * sizeof *lds);
	if (lds) {
		int max_start = 0, max_end = 0;
		for (int i = 0; i < n; i++)
			lds[i] = 1;
		for (int i = 1; i < n; i++) {
			for (int j = 0; j < i; j++)
				if (r->smooth[i] < r->smooth[j] && lds[i] < lds[j] + 1)
					lds[i] = lds[j] + 1;
			if (lds[max_end] < lds[i]) {
				max_end = i;
				max_start = max_end - lds[max_end];
			}
		}
		free(lds);
		if (max_start < 0)
			max_start = 0;
		int sections = (max_end - max_start) / 3;
		int idx = max_start + sections + sections / 2;
		if (idx >= n)
			idx = n - 1;
		r->valley = max_end > 0 ? r->lr[idx] : 0;
	}
	r->suggested = r->valley > 0 ? r->valley : r->steep;
}

/* ---- the sweep */

int thaw_lr_find(thaw_model *m, const thaw_dataset *d, const thaw_lrfind_opts *opts, thaw_lrfind_result *res)
{
	if (!m || !d || !opts || !res)
		return thaw_error(THAW_EINVAL, "lr_find: needs a model, data, options and a result");
	memset(res, 0, sizeof *res);
	thaw_lrfind_opts o = *opts;
	if (!(o.lr_min > 0) || !(o.lr_max > o.lr_min) || !isfinite(o.lr_max))
		return thaw_error(THAW_EINVAL, "lr_find: the sweep %g..%g needs 0 < lr_min < lr_max", (double)o.lr_min,
				  (double)o.lr_max);
	if (o.steps < 0 || o.steps > 100000 || o.batch < 0)
		return thaw_error(THAW_EINVAL, "lr_find: steps %d outside 0..100000 (or batch < 0)", o.steps);
	if (!(o.beta >= 0 && o.beta < 1) || !(o.diverge > 1) || !isfinite(o.diverge))
		return thaw_error(THAW_EINVAL, "lr_find: beta in [0, 1) and diverge > 1");
	if (d->c != m->input.c || d->h != m->input.h || d->w != m->input.w)
		return thaw_error(THAW_ESHAPE, "lr_find: data '%s' is %dx%dx%d but the model expects %dx%dx%d", d->source,
				  d->c, d->h, d->w, m->input.c, m->input.h, m->input.w);
	int K = thaw_model_class_count(m);
	if (K < 0)
		return K;
	if (d->n_classes != K)
		return thaw_error(THAW_ESHAPE, "lr_find: data '%s' has %d classes but the model outputs %d", d->source,
				  d->n_classes, K);
	if (d->n <= 0)
		return thaw_error(THAW_EINVAL, "lr_find: data '%s' has no images", d->source);
	if (thaw_model_lowest_trainable(m) >= m->n)
		return thaw_error(THAW_EINVAL, "lr_find: nothing in the model is trainable");
	int batch = o.batch > 0 ? o.batch : (d->n < 32 ? d->n : 32);
	if (batch > d->n)
		batch = d->n;
	int per_epoch = d->n / batch;
	int steps = o.steps;
	if (steps == 0) { /* about 3 passes over small data; at most 300 steps */
		steps = 3 * per_epoch;
		steps = steps < 100 ? 100 : steps > 300 ? 300 : steps;
	}

	/* fastai's 0.98 averages over ~50 steps, which on a sweep of 100
	 * shifts the curve by a decade; a window of about a twentieth of the
	 * sweep follows it */
	double beta = o.beta > 0 ? o.beta : fmax(0.6, 1.0 - 20.0 / steps);
	saved sv;
	int rc = save_model(m, &sv);
	if (rc < 0)
		return rc;
	res->lr = thaw_malloc((size_t)steps * sizeof(double));
	res->loss = thaw_malloc((size_t)steps * sizeof(double));
	res->smooth = thaw_malloc((size_t)steps * sizeof(double));
	thaw_loader_opts lo = thaw_loader_opts_default();
	lo.batch = batch;
	lo.seed = o.seed;
	lo.drop_last = 1; /* every step sees a full batch */
	thaw_loader_opts_from_spec(&lo, &m->input);
	thaw_loader *l = thaw_loader_new(d, &lo);
	thaw_optim opt = thaw_optim_default(o.optimizer);
	opt.lr = o.lr_min;
	thaw_trainer *t = l ? thaw_trainer_new(m, &opt, NULL, batch) : NULL;
	if (!res->lr || !res->loss || !res->smooth || !l || !t) {
		rc = (res->lr && res->loss && res->smooth && l) ? THAW_EINVAL /* the trainer said why */ : THAW_ENOMEM;
		goto out;
	}
	t->smoothing = o.smoothing;
	thaw_event_log(o.on_event, o.user, "lr_find: %d steps, rate %g to %g, batch %d, %s; stops when the loss passes %g times its best",
	       steps, (double)o.lr_min, (double)o.lr_max, batch, thaw_optim_name(o.optimizer), (double)o.diverge);
	double avg = 0, best = INFINITY, ratio = log((double)o.lr_max / o.lr_min);
	thaw_batch b;
	for (int i = 0; i < steps;) {
		int got = thaw_loader_next(l, &b);
		if (got < 0) {
			rc = got;
			goto out;
		}
		if (got == 0)
			continue; /* an epoch ended: the next call starts another */
		double lr = o.lr_min * exp(ratio * (steps > 1 ? (double)i / (steps - 1) : 0));
		t->opt.lr = (float)lr;
		thaw_step_result sr;
		rc = thaw_trainer_step(t, b.x, b.y, b.B, &sr);
		if (rc == THAW_ENAN) { /* diverged for good */
			res->diverged = 1;
			rc = 0;
			break;
		}
		if (rc < 0)
			goto out;
		avg = beta * avg + (1 - beta) * sr.loss;
		double sm = avg / (1 - pow(beta, i + 1));
		res->lr[i] = lr;
		res->loss[i] = sr.loss;
		res->smooth[i] = sm;
		res->n = ++i;
		if (sm < best)
			best = sm;
		if (i > 1 && (sm > o.diverge * best || !isfinite(sm))) {
			res->diverged = 1;
			break;
		}
	}
	thaw_lrfind_suggest(res);
	thaw_event_log(o.on_event, o.user, "lr_find: %d steps%s, lowest smoothed loss %.4g; suggested rate %.3g (valley %.3g, steepest %.3g, minimum/10 %.3g)",
	       res->n, res->diverged ? " (stopped: the loss diverged)" : "", best, res->suggested, res->valley,
	       res->steep, res->minimum);
	rc = 0;
out:
	thaw_trainer_free(t);
	thaw_loader_free(l);
	restore_model(m, &sv);
	saved_free(&sv, m->n);
	if (rc < 0)
		thaw_lrfind_result_free(res);
	return rc;
}
