/* The cut-point explorer: candidate cuts, one inference pass for their
 * features, a quick head per cut and fold, and the scratch baseline on the
 * same folds. See thaw/explore.h. */
#include "thaw/explore.h"
#include "thaw/fit.h"
#include "thaw/train.h"
#include "thaw/transfer.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

thaw_explore_opts thaw_explore_opts_default(void)
{
	thaw_explore_opts o;
	memset(&o, 0, sizeof o);
	o.folds = 5;
	o.head_steps = 300;
	o.batch = 32;
	o.head_lr = 3e-3f;
	o.max_features = 8192;
	o.scratch = 1;
	o.scratch_steps = 400;
	o.scratch_lr = 1e-3f;
	o.scratch_shift = 2;
	o.scratch_flip = 1;
	o.seed = 1;
	return o;
}

static int say(const thaw_explore_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int say(const thaw_explore_opts *o, const char *fmt, ...)
{
	if (!o->on_line)
		return 0;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	return o->on_line(line, o->user) ? THAW_ESTOP : 0;
}

/* ---------------------------------------------------------------- the graph */

thaw_model *thaw_model_copy_arch(const thaw_model *m, uint64_t seed)
{
	if (!m || m->n == 0) {
		thaw_error(THAW_EINVAL, "copy: no model, or a model without nodes");
		return NULL;
	}
	thaw_model *c = thaw_model_new(m->input.c, m->input.h, m->input.w, seed);
	if (!c)
		return NULL;
	c->input = m->input;
	for (int i = 0; i < m->n; i++) {
		const thaw_node *n = m->nodes[i];
		if (thaw_model_add(c, n->name, &n->a, n->in, n->n_in) < 0) {
			thaw_error_prefix("copy of node '%s'", n->name);
			thaw_model_free(c);
			return NULL;
		}
		c->nodes[i]->trainable = n->trainable;
		c->nodes[i]->lr_mult = n->lr_mult;
	}
	if (m->class_names && thaw_model_set_classes(c, (const char *const *)m->class_names, m->n_classes) < 0) {
		thaw_model_free(c);
		return NULL;
	}
	return c;
}

static int is_act(thaw_kind k)
{
	return k == THAW_RELU || k == THAW_RELU6 || k == THAW_LEAKY_RELU || k == THAW_SIGMOID || k == THAW_TANH ||
	       k == THAW_GELU;
}

static int is_pool(thaw_kind k) { return k == THAW_MAXPOOL || k == THAW_AVGPOOL || k == THAW_GLOBALAVGPOOL; }

int thaw_explore_candidates(const thaw_model *m, int *nodes, int max)
{
	if (!m || m->n == 0)
		return 0;
	/* last[k]: the last node reading node k (k = -1 the input, at last[0]) */
	int *last = thaw_calloc((size_t)m->n + 1, sizeof *last);
	if (!last)
		return THAW_ENOMEM;
	for (int i = 0; i <= m->n; i++)
		last[i] = -1;
	for (int j = 0; j < m->n; j++)
		for (int k = 0; k < m->nodes[j]->n_in; k++)
			last[m->nodes[j]->in[k] + 1] = j;
	int end = m->n; /* candidates lie before the last dense layer (the old head) */
	for (int i = m->n - 1; i >= 0; i--)
		if (m->nodes[i]->kind == THAW_DENSE) {
			end = i;
			break;
		}
	int count = 0, reach = last[0]; /* the furthest node reading anything before i */
	for (int i = 0; i < end; i++) {
		int single = reach <= i; /* nothing before i is read after i */
		if (last[i + 1] > reach)
			reach = last[i + 1];
		const thaw_node *n = m->nodes[i];
		if (!single || !(is_act(n->kind) || is_pool(n->kind) || n->kind == THAW_ADD || n->kind == THAW_CONCAT))
			continue;
		if (i + 1 < end) { /* a pooling or activation right after, reading it alone, ends the block */
			const thaw_node *nx = m->nodes[i + 1];
			if ((is_act(nx->kind) || is_pool(nx->kind)) && nx->n_in == 1 && nx->in[0] == i && last[i + 1] == i + 1)
				continue;
		}
		if (count < max)
			nodes[count] = i;
		count++;
	}
	free(last);
	return count;
}

thaw_model *thaw_explore_scratch_model(const thaw_model *m, const thaw_dataset *d, uint64_t seed)
{
	thaw_model *s = thaw_model_copy_arch(m, seed);
	if (!s)
		return NULL;
	thaw_transfer_opts to = thaw_transfer_opts_default();
	to.force = 1;
	to.freeze = 0;
	if (thaw_transfer(s, d, &to, NULL) < 0) {
		thaw_model_free(s);
		return NULL;
	}
	thaw_model_set_trainable(s, 0, s->n - 1, 1);
	for (int i = 0; i < s->n; i++)
		s->nodes[i]->lr_mult = 1.0f;
	return s;
}

/* ---------------------------------------------------------------- folds */

/* fold[i] for every image: each class's images in a seeded order dealt
 * round-robin, the deal continuing across classes so folds stay even. */
static int make_folds(const thaw_dataset *d, int folds, uint64_t seed, int *fold)
{
	int K = d->n_classes;
	int *count = thaw_calloc((size_t)K, sizeof *count), *idx = thaw_malloc((size_t)d->n * sizeof *idx + 1);
	if (!count || !idx) {
		free(count);
		free(idx);
		return THAW_ENOMEM;
	}
	thaw_dataset_class_counts(d, count);
	int rc = 0;
	for (int k = 0; k < K && rc == 0; k++)
		if (count[k] > 0 && count[k] < folds)
			rc = thaw_error(THAW_EINVAL,
					"explore: class '%s' of %s has %d labelled image%s, fewer than the %d folds "
					"(use fewer folds or more images per class)",
					d->class_names && d->class_names[k] ? d->class_names[k] : "?", d->source, count[k],
					count[k] == 1 ? "" : "s", folds);
	thaw_rng r;
	thaw_rng_seed(&r, seed ^ 0x9e3779b97f4a7c15ull);
	int deal = 0;
	for (int k = 0; k < K && rc == 0; k++) {
		int n = 0;
		for (int i = 0; i < d->n; i++)
			if (d->y[i] == k)
				idx[n++] = i;
		for (int i = n - 1; i > 0; i--) {
			int j = (int)thaw_rng_below(&r, (uint32_t)i + 1), t = idx[i];
			idx[i] = idx[j];
			idx[j] = t;
		}
		for (int i = 0; i < n; i++)
			fold[idx[i]] = deal++ % folds;
	}
	free(count);
	free(idx);
	return rc;
}

/* ---------------------------------------------------------------- features */

/* Average-pools (C, H, W) into (C, s, s) bins (adaptive pooling). */
static void adaptive_pool(float *out, const float *in, int C, int H, int W, int s)
{
	for (int c = 0; c < C; c++)
		for (int oy = 0; oy < s; oy++) {
			int y0 = oy * H / s, y1 = ((oy + 1) * H + s - 1) / s;
			for (int ox = 0; ox < s; ox++) {
				int x0 = ox * W / s, x1 = ((ox + 1) * W + s - 1) / s;
				double sum = 0;
				for (int y = y0; y < y1; y++)
					for (int x = x0; x < x1; x++)
						sum += in[((size_t)c * H + y) * W + x];
				out[((size_t)c * s + oy) * s + ox] = (float)(sum / ((y1 - y0) * (x1 - x0)));
			}
		}
}

/* The grid side a C x H x W map is pooled to so that C*s*s <= maxf (0: kept). */
static int pool_side(thaw_shape o, int maxf)
{
	if ((long)o.c * o.h * o.w <= maxf || (o.h <= 1 && o.w <= 1))
		return 0;
	int s = o.h < o.w ? o.h : o.w;
	while (s > 1 && (long)o.c * s * s > maxf)
		s--;
	return s;
}

/* ---------------------------------------------------------------- the quick head */

typedef struct head_work {
	thaw_model *hm;
	thaw_trainer *t;
	float *xtr, *xva, *mean, *xb;
	int32_t *ytr, *yva, *yb;
	int *perm;
} head_work;

/* Trains a dense softmax head on the standardised features of the training
 * folds and returns its accuracy on the held-out fold. */
static int quick_head(const float *feat, int F, const thaw_dataset *d, const int *fold, int f,
		      const thaw_explore_opts *o, uint64_t seed, double *acc, double *loss)
{
	int ntr = 0, nva = 0, K = d->n_classes, rc = 0;
	for (int i = 0; i < d->n; i++)
		fold[i] == f ? nva++ : ntr++;
	int B = o->batch < ntr ? o->batch : ntr;
	head_work w = {0};
	w.hm = thaw_model_new(1, 1, F, seed);
	w.xtr = thaw_malloc((size_t)ntr * F * sizeof(float));
	w.xva = thaw_malloc((size_t)nva * F * sizeof(float));
	w.mean = thaw_calloc((size_t)F, sizeof(float));
	w.xb = thaw_malloc((size_t)B * F * sizeof(float));
	w.ytr = thaw_malloc((size_t)ntr * sizeof(int32_t));
	w.yva = thaw_malloc((size_t)nva * sizeof(int32_t));
	w.yb = thaw_malloc((size_t)B * sizeof(int32_t));
	w.perm = thaw_malloc((size_t)ntr * sizeof(int));
	if (!w.hm || !w.xtr || !w.xva || !w.mean || !w.xb || !w.ytr || !w.yva || !w.yb || !w.perm) {
		rc = THAW_ENOMEM;
		goto out;
	}
	thaw_attrs a = thaw_dense(K);
	a.init = THAW_INIT_GLOROT;
	if ((rc = thaw_model_add(w.hm, "quick_head", &a, NULL, 0)) < 0)
		goto out;
	for (int i = 0, a_ = 0, b_ = 0; i < d->n; i++) {
		const float *src = feat + (size_t)i * F;
		if (fold[i] == f) {
			memcpy(w.xva + (size_t)b_ * F, src, F * sizeof(float));
			w.yva[b_++] = d->y[i];
		} else {
			memcpy(w.xtr + (size_t)a_ * F, src, F * sizeof(float));
			w.ytr[a_++] = d->y[i];
		}
	}
	/* Centre with the training folds' means and divide by their overall
	 * standard deviation: one scale for the whole cut, so the relative
	 * sizes of the features stay those a head on the raw cut would see
	 * (standardising each feature on its own blew up the near-constant
	 * ones of a wide map and ranked cuts worse), while one learning rate
	 * suits every cut. Training folds only: the held-out fold is unseen. */
	for (int i = 0; i < ntr; i++)
		for (int j = 0; j < F; j++)
			w.mean[j] += w.xtr[(size_t)i * F + j];
	for (int j = 0; j < F; j++)
		w.mean[j] /= ntr;
	double var = 0;
	for (int i = 0; i < ntr; i++)
		for (int j = 0; j < F; j++) {
			double v = w.xtr[(size_t)i * F + j] - w.mean[j];
			var += v * v;
		}
	float g = (float)(1.0 / (sqrt(var / ((double)ntr * F)) + 1e-6));
	for (int i = 0; i < ntr; i++)
		for (int j = 0; j < F; j++)
			w.xtr[(size_t)i * F + j] = (w.xtr[(size_t)i * F + j] - w.mean[j]) * g;
	for (int i = 0; i < nva; i++)
		for (int j = 0; j < F; j++)
			w.xva[(size_t)i * F + j] = (w.xva[(size_t)i * F + j] - w.mean[j]) * g;

	thaw_optim opt = thaw_optim_default(THAW_ADAM);
	opt.lr = o->head_lr;
	opt.weight_decay = 1e-4f;
	if (!(w.t = thaw_trainer_new(w.hm, &opt, NULL, B))) {
		rc = THAW_ENOMEM;
		goto out;
	}
	thaw_rng r;
	thaw_rng_seed(&r, seed);
	for (int i = 0; i < ntr; i++)
		w.perm[i] = i;
	int at = ntr; /* position in the current epoch's order */
	for (int step = 0; step < o->head_steps; step++) {
		if (at + B > ntr) { /* a new epoch: a new order */
			for (int i = ntr - 1; i > 0; i--) {
				int j = (int)thaw_rng_below(&r, (uint32_t)i + 1), t = w.perm[i];
				w.perm[i] = w.perm[j];
				w.perm[j] = t;
			}
			at = 0;
		}
		for (int i = 0; i < B; i++) {
			memcpy(w.xb + (size_t)i * F, w.xtr + (size_t)w.perm[at + i] * F, F * sizeof(float));
			w.yb[i] = w.ytr[w.perm[at + i]];
		}
		at += B;
		thaw_step_result sr;
		if ((rc = thaw_trainer_step(w.t, w.xb, w.yb, B, &sr)) < 0)
			goto out;
	}
	long correct = 0;
	double nll = 0;
	for (int at2 = 0; at2 < nva; at2 += B) {
		int nb = nva - at2 < B ? nva - at2 : B;
		if ((rc = thaw_model_forward(w.hm, w.xva + (size_t)at2 * F, nb, 0)) < 0)
			goto out;
		const float *z = thaw_model_output(w.hm);
		for (int i = 0; i < nb; i++) {
			const float *zi = z + (size_t)i * K;
			int best = 0;
			for (int k = 1; k < K; k++)
				if (zi[k] > zi[best])
					best = k;
			correct += best == w.yva[at2 + i];
			double se = 0;
			for (int k = 0; k < K; k++)
				se += exp((double)zi[k] - zi[best]);
			nll += log(se) - ((double)zi[w.yva[at2 + i]] - zi[best]);
		}
	}
	*acc = nva ? (double)correct / nva : 0;
	*loss = nva ? nll / nva : 0;
out:
	thaw_trainer_free(w.t);
	thaw_model_free(w.hm);
	free(w.xtr);
	free(w.xva);
	free(w.mean);
	free(w.xb);
	free(w.ytr);
	free(w.yva);
	free(w.yb);
	free(w.perm);
	return rc;
}

static void mean_sd(thaw_explore_cut *c, int folds)
{
	double s = 0, v = 0, l = 0;
	for (int f = 0; f < folds; f++)
		l += c->fold_loss[f];
	c->loss = l / folds;
	for (int f = 0; f < folds; f++)
		s += c->fold_acc[f];
	c->acc = s / folds;
	for (int f = 0; f < folds; f++)
		v += (c->fold_acc[f] - c->acc) * (c->fold_acc[f] - c->acc);
	c->sd = folds > 1 ? sqrt(v / (folds - 1)) : 0;
}

/* ---------------------------------------------------------------- scratch */

static int scratch_event(const thaw_event *ev, void *user)
{
	const thaw_explore_opts *o = user;
	return ev->kind == THAW_EV_BATCH && o->should_stop && o->should_stop(o->user);
}

static int scratch_fold(const thaw_model *m, const thaw_dataset *d, const int *fold, int f,
			const thaw_explore_opts *o, double *acc, double *loss)
{
	int ntr = 0, nva = 0, rc = 0;
	int *tr = thaw_malloc((size_t)d->n * sizeof(int) + 1), *va = thaw_malloc((size_t)d->n * sizeof(int) + 1);
	thaw_dataset *dtr = NULL, *dva = NULL;
	thaw_model *s = NULL;
	thaw_metrics *mt = thaw_metrics_new(d->n_classes, 1);
	if (!tr || !va || !mt) {
		rc = thaw_error(THAW_ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < d->n; i++) {
		if (fold[i] == f)
			va[nva++] = i;
		else
			tr[ntr++] = i;
	}
	if (!(dtr = thaw_dataset_subset(d, tr, ntr)) || !(dva = thaw_dataset_subset(d, va, nva)) ||
	    !(s = thaw_explore_scratch_model(m, d, o->seed * 1000003u + (uint64_t)f + 17))) {
		rc = THAW_EINVAL; /* the message is set */
		goto out;
	}
	thaw_fit_opts fo = thaw_fit_opts_default();
	fo.phase = "scratch";
	fo.batch = o->batch < ntr ? o->batch : ntr;
	int batches = (ntr + fo.batch - 1) / fo.batch;
	fo.epochs = (o->scratch_steps + batches - 1) / batches;
	if (fo.epochs < 1)
		fo.epochs = 1;
	fo.optim = thaw_optim_default(THAW_ADAM);
	fo.optim.lr = o->scratch_lr;
	fo.sched = thaw_sched_default(THAW_SCHED_COSINE);
	fo.seed = o->seed + (uint64_t)f;
	fo.shift = o->scratch_shift;
	fo.flip = o->scratch_flip;
	fo.feature_cache = -1;
	fo.on_event = scratch_event;
	fo.user = (void *)o;
	if ((rc = thaw_fit(s, dtr, &fo)) < 0)
		goto out;
	if (rc < fo.epochs) {
		rc = thaw_error(THAW_ESTOP, "stopped");
		goto out;
	}
	if ((rc = thaw_evaluate(s, dva, 64, mt)) < 0)
		goto out;
	*acc = thaw_metrics_accuracy(mt);
	*loss = thaw_metrics_loss(mt);
out:
	thaw_metrics_free(mt);
	thaw_model_free(s);
	thaw_dataset_free(dtr);
	thaw_dataset_free(dva);
	free(tr);
	free(va);
	return rc;
}

int thaw_explore_scratch(const thaw_model *m, const thaw_dataset *d, const thaw_explore_opts *opts,
			 thaw_explore_result *r)
{
	if (!m || !d || !r)
		return thaw_error(THAW_EINVAL, "explore scratch: needs a model, data and a result");
	thaw_explore_opts o = opts ? *opts : thaw_explore_opts_default();
	if (o.folds < 2 || o.folds > THAW_EXPLORE_MAX_FOLDS || o.scratch_steps < 1 || !(o.scratch_lr > 0) || o.batch < 1)
		return thaw_error(THAW_EINVAL, "explore scratch: folds 2..%d, steps, rate and batch positive",
				  THAW_EXPLORE_MAX_FOLDS);
	int *fold = thaw_malloc((size_t)d->n * sizeof *fold + 1);
	if (!fold)
		return THAW_ENOMEM;
	int rc = make_folds(d, o.folds, o.seed, fold); /* the folds the cuts had: same seed, same deal */
	thaw_explore_cut sc;
	memset(&sc, 0, sizeof sc);
	snprintf(sc.name, sizeof sc.name, "scratch");
	sc.node = -1;
	sc.out = (thaw_shape){1, m->input.c, m->input.h, m->input.w};
	sc.features = (int)thaw_shape_sample(sc.out);
	double t0 = thaw_now();
	for (int f = 0; f < o.folds && rc >= 0; f++) {
		if ((rc = scratch_fold(m, d, fold, f, &o, &sc.fold_acc[f], &sc.fold_loss[f])) < 0) {
			thaw_error_prefix("explore: scratch baseline, fold %d", f + 1);
			break;
		}
		rc = say(&o, "scratch fold %d/%d: %.1f %%", f + 1, o.folds, 100 * sc.fold_acc[f]);
	}
	free(fold);
	if (rc < 0)
		return rc;
	sc.seconds = thaw_now() - t0;
	mean_sd(&sc, o.folds);
	r->scratch = sc;
	r->has_scratch = 1;
	r->folds = o.folds;
	r->scratch_wins = r->best >= 0 && sc.acc > r->cuts[r->best].acc;
	return 0;
}

/* ---------------------------------------------------------------- explore */

void thaw_explore_result_free(thaw_explore_result *r)
{
	if (!r)
		return;
	free(r->cuts);
	memset(r, 0, sizeof *r);
	r->best = -1;
}

int thaw_explore(thaw_model *m, const thaw_dataset *d, const thaw_explore_opts *opts, thaw_explore_result *r)
{
	if (!r)
		return thaw_error(THAW_EINVAL, "explore: no result to fill");
	memset(r, 0, sizeof *r);
	r->best = -1;
	if (!m || !d)
		return thaw_error(THAW_EINVAL, "explore: needs a model and a labelled data set");
	thaw_explore_opts o = opts ? *opts : thaw_explore_opts_default();
	if (o.folds < 2 || o.folds > THAW_EXPLORE_MAX_FOLDS)
		return thaw_error(THAW_EINVAL, "explore: folds %d outside 2..%d", o.folds, THAW_EXPLORE_MAX_FOLDS);
	if (o.head_steps < 1 || o.batch < 1 || !(o.head_lr > 0) || o.max_features < 1 ||
	    (o.scratch && (o.scratch_steps < 1 || !(o.scratch_lr > 0))))
		return thaw_error(THAW_EINVAL, "explore: steps, batch, rates and max_features must be positive");
	if (d->c != m->input.c || d->h != m->input.h || d->w != m->input.w)
		return thaw_error(THAW_ESHAPE, "explore: data '%s' is %dx%dx%d but the model expects %dx%dx%d",
				  d->source, d->c, d->h, d->w, m->input.c, m->input.h, m->input.w);
	if (d->n_classes < 2)
		return thaw_error(THAW_EINVAL, "explore: %s has %d class; a classifier needs at least 2", d->source,
				  d->n_classes);
	int nc = thaw_explore_candidates(m, NULL, 0);
	if (nc < 0)
		return nc;
	if (nc == 0)
		return thaw_error(THAW_EINVAL,
				  "explore: the model has no candidate cut (no pooling, activation or add that "
				  "carries everything to the output before its last dense layer)");
	int *cand = thaw_malloc((size_t)nc * sizeof *cand);
	if (!cand)
		return THAW_ENOMEM;
	thaw_explore_candidates(m, cand, nc);
	int first = o.max_cuts > 0 && o.max_cuts < nc ? nc - o.max_cuts : 0;
	r->n_cuts = nc - first;
	r->cuts = thaw_calloc((size_t)r->n_cuts, sizeof *r->cuts);
	int *fold = thaw_malloc((size_t)d->n * sizeof *fold + 1);
	float **feat = thaw_calloc((size_t)r->n_cuts, sizeof *feat);
	int *side = thaw_calloc((size_t)r->n_cuts, sizeof *side);
	int rc = 0;
	if (!r->cuts || !fold || !feat || !side) {
		rc = THAW_ENOMEM;
		goto out;
	}
	r->folds = o.folds;
	r->n_images = d->n;
	r->n_classes = d->n_classes;
	if ((rc = make_folds(d, o.folds, o.seed, fold)) < 0)
		goto out;
	for (int c = 0; c < r->n_cuts; c++) {
		thaw_explore_cut *ec = &r->cuts[c];
		ec->node = cand[first + c];
		snprintf(ec->name, sizeof ec->name, "%s", m->nodes[ec->node]->name);
		ec->out = m->nodes[ec->node]->out;
		side[c] = pool_side(ec->out, o.max_features);
		ec->pooled = side[c] > 0;
		ec->features = side[c] ? ec->out.c * side[c] * side[c] : (int)thaw_shape_sample(ec->out);
		if (!(feat[c] = thaw_malloc((size_t)d->n * ec->features * sizeof(float)))) {
			rc = thaw_error(THAW_ENOMEM, "explore: out of memory for the features of cut '%s' (%d x %d floats)",
					ec->name, d->n, ec->features);
			goto out;
		}
	}
	if ((rc = say(&o, "explore: %d cut%s, %d images of %d classes, %d folds", r->n_cuts, r->n_cuts > 1 ? "s" : "",
		      d->n, d->n_classes, o.folds)) < 0)
		goto out;

	/* One inference pass, segment by segment, so each cut's time counts
	 * the prefix it needs. */
	{
		thaw_loader_opts lo = thaw_loader_opts_default();
		lo.batch = 32;
		lo.shuffle = 0;
		thaw_loader_opts_from_spec(&lo, &m->input);
		thaw_loader *l = thaw_loader_new(d, &lo);
		if (!l) {
			rc = THAW_ENOMEM;
			goto out;
		}
		double t_all = thaw_now();
		thaw_batch b;
		while ((rc = thaw_loader_next(l, &b)) == 1) {
			int from = 0;
			double prefix = 0;
			for (int c = 0; c < r->n_cuts && rc >= 0; c++) {
				thaw_explore_cut *ec = &r->cuts[c];
				double t0 = thaw_now();
				if ((rc = thaw_model_forward_range(m, from, ec->node, b.x, b.B, 0)) < 0)
					break;
				from = ec->node + 1;
				const float *y = m->nodes[ec->node]->y;
				size_t S = thaw_shape_sample(ec->out);
				for (int i = 0; i < b.B; i++) {
					float *dst = feat[c] + (size_t)b.idx[i] * ec->features;
					if (side[c])
						adaptive_pool(dst, y + i * S, ec->out.c, ec->out.h, ec->out.w, side[c]);
					else
						memcpy(dst, y + i * S, S * sizeof(float));
				}
				prefix += thaw_now() - t0;
				ec->seconds += prefix;
			}
		}
		thaw_loader_free(l);
		r->feature_seconds = thaw_now() - t_all;
		if (rc < 0) {
			thaw_error_prefix("explore: features of %s", d->source);
			goto out;
		}
	}

	for (int c = 0; c < r->n_cuts; c++) {
		thaw_explore_cut *ec = &r->cuts[c];
		double t0 = thaw_now();
		for (int f = 0; f < o.folds; f++)
			if ((rc = quick_head(feat[c], ec->features, d, fold, f, &o, o.seed * 7919u + (uint64_t)f,
					     &ec->fold_acc[f], &ec->fold_loss[f])) < 0) {
				thaw_error_prefix("explore: quick head at '%s', fold %d", ec->name, f + 1);
				goto out;
			}
		ec->seconds += thaw_now() - t0;
		mean_sd(ec, o.folds);
		free(feat[c]);
		feat[c] = NULL;
		/* the best held-out accuracy; a tie (folds of ten images move in
		 * steps of 10 %) goes to the lower held-out loss */
		if (r->best < 0 || ec->acc > r->cuts[r->best].acc ||
		    (ec->acc == r->cuts[r->best].acc && ec->loss < r->cuts[r->best].loss))
			r->best = c;
		char shape[64];
		if (ec->pooled)
			snprintf(shape, sizeof shape, "%dx%dx%d pooled to %dx%dx%d", ec->out.c, ec->out.h, ec->out.w,
				 ec->out.c, side[c], side[c]);
		else
			snprintf(shape, sizeof shape, "%dx%dx%d", ec->out.c, ec->out.h, ec->out.w);
		if ((rc = say(&o, "cut %-12s %6d features (%s): %5.1f +- %4.1f %%  %.1f s", ec->name, ec->features,
			      shape, 100 * ec->acc, 100 * ec->sd, ec->seconds)) < 0)
			goto out;
	}

	if (o.scratch && (rc = thaw_explore_scratch(m, d, &o, r)) < 0)
		goto out;
	if (r->has_scratch)
		rc = say(&o, "best cut: %s (%.1f %%); scratch %.1f %%: %s", r->cuts[r->best].name,
			 100 * r->cuts[r->best].acc, 100 * r->scratch.acc,
			 r->scratch_wins ? "scratch wins (negative transfer): no cut beats training from scratch"
					 : "transfer wins");
	else
		rc = say(&o, "best cut: %s (%.1f %%)", r->cuts[r->best].name, 100 * r->cuts[r->best].acc);
out:
	if (feat)
		for (int c = 0; c < r->n_cuts; c++)
			free(feat[c]);
	free(feat);
	free(side);
	free(fold);
	free(cand);
	if (rc < 0)
		thaw_explore_result_free(r); /* nothing half-measured is returned */
	return rc < 0 ? rc : 0;
}
