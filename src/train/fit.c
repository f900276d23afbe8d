/* The epoch loop: loader, trainer step, validation, early stopping. */
#include "thaw/fit.h"
#include "thaw/vocab.h"
#include "thaw/predict.h"

#include "dist_train.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

thaw_fit_opts thaw_fit_opts_default(void)
{
	thaw_fit_opts o;
	memset(&o, 0, sizeof o);
	o.phase = "train";
	o.epochs = 1;
	o.batch = 64;
	o.optim = thaw_optim_default(THAW_ADAM);
	o.sched = thaw_sched_default(THAW_SCHED_CONSTANT);
	o.cache_mb = 1024;
	return o;
}

static int check_shape(const thaw_model *m, const thaw_dataset *d, const char *what)
{
	if (d->c != m->input.c || d->h != m->input.h || d->w != m->input.w)
		return thaw_error(THAW_ESHAPE,
				  "%s data '%s' is %dx%dx%d but the model expects %dx%dx%d (convert it to the model's input first)",
				  what, d->source, d->c, d->h, d->w, m->input.c, m->input.h, m->input.w);
	if (d->ids && m->vocab && !thaw_vocab_same(d->vocab, m->vocab))
		return thaw_error(THAW_EINVAL,
				  "%s data '%s' is encoded with another vocabulary than the model's (encode it with the "
				  "model's: thaw_dataset_for_model, data:to_model(m) in Lua)",
				  what, d->source);
	int K = thaw_model_class_count(m);
	if (K < 0)
		return K;
	if (d->n_classes != K)
		return thaw_error(THAW_ESHAPE,
				  "%s data '%s' has %d classes but the model outputs %d class scores: give it a "
				  "head of %d (thaw edit --pop --head %d, or m:pop(); m:add(thaw.nn.dense{units=%d}))",
				  what, d->source, d->n_classes, K, d->n_classes, d->n_classes, d->n_classes);
	if (d->n == 0)
		return thaw_error(THAW_EINVAL, "%s data '%s' has no images", what, d->source);
	return 0;
}

int thaw_evaluate(thaw_model *m, const thaw_dataset *d, int batch, thaw_metrics *mt)
{
	if (!m || !d || !mt || batch <= 0)
		return thaw_error(THAW_EINVAL, "evaluate: needs a model, data, metrics and batch > 0");
	int rc = check_shape(m, d, "evaluation");
	if (rc < 0)
		return rc;
	int K = thaw_model_class_count(m);
	if (mt->K != K)
		return thaw_error(THAW_ESHAPE, "evaluate: the model has %d outputs, the metrics %d classes", K, mt->K);
	thaw_dataset share;
	thaw_metrics *whole = mt;
	if (thaw_dist_size() > 1) { /* MPI: each rank its share, then the sums */
		dist_shard_view(d, &share);
		d = &share;
		if (!(mt = thaw_metrics_new(K, whole->topk)))
			return THAW_ENOMEM;
	}
	thaw_loader_opts lo = thaw_loader_opts_default();
	lo.batch = batch;
	lo.shuffle = 0;
	thaw_loader_opts_from_spec(&lo, &m->input);
	thaw_loader *l = d->n ? thaw_loader_new(d, &lo) : NULL;
	/* the one prediction verb, then the metrics from its logits */
	thaw_prediction *p = thaw_malloc((size_t)batch * sizeof *p);
	thaw_batch b;
	if (!l && d->n)
		p = (free(p), NULL);
	while (l && p && (rc = thaw_loader_next(l, &b)) == 1) {
		if ((rc = thaw_predict_batch(m, b.x, b.y, b.B, p, 0, NULL, NULL)) < 0)
			break;
		double loss = 0;
		for (int i = 0; i < b.B; i++)
			loss += p[i].loss;
		thaw_metrics_add(mt, thaw_model_output(m), b.y, b.B, loss);
	}
	if (!p)
		rc = THAW_ENOMEM;
	free(p);
	thaw_loader_free(l);
	if (whole != mt) {
		if (rc >= 0)
			rc = dist_metrics_reduce(mt, whole);
		thaw_metrics_free(mt);
	}
	return rc < 0 ? rc : 0;
}

/* All learnable values and statistics, in node order (for restore_best). */
static size_t weights_count(const thaw_model *m)
{
	size_t c = 0;
	for (int i = 0; i < m->n; i++)
		for (int k = 0; k < m->nodes[i]->np; k++)
			c += m->nodes[i]->p[k].size;
	return c;
}

static void weights_copy(thaw_model *m, float *buf, int save)
{
	for (int i = 0; i < m->n; i++)
		for (int k = 0; k < m->nodes[i]->np; k++) {
			thaw_param *p = &m->nodes[i]->p[k];
			if (save)
				memcpy(buf, p->w, p->size * sizeof(float));
			else
				memcpy(p->w, buf, p->size * sizeof(float));
			buf += p->size;
		}
}

static int publish(const thaw_fit_opts *o, const thaw_event *ev)
{
	return o->on_event ? o->on_event(ev, o->user) : 0;
}

void thaw_event_log(thaw_event_fn fn, void *user, const char *fmt, ...)
{
	if (!fn)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	thaw_event ev = {.kind = THAW_EV_LOG, .u.line = line};
	fn(&ev, user);
}

/* PHASE_BEGIN / PHASE_END with what a log line about the phase needs. */
static void phase_event(const thaw_fit_opts *o, thaw_model *m, thaw_event_kind kind, const char *phase,
			int batches, int first, int done, int stopped, int err)
{
	thaw_param_counts pc = thaw_model_count(m);
	thaw_event ev = {.kind = kind, .model = m};
	ev.u.phase = (thaw_phase_info){.name = phase, .index = o->phase_index, .epochs = o->epochs,
				       .batches = batches, .batch_size = o->batch,
				       .optimizer = thaw_optim_name(o->optim.kind), .lr = o->optim.lr,
				       .trainable = pc.trainable, .frozen = pc.frozen, .first_epoch = first,
				       .skip_batches = o->skip_batches, .epochs_done = done, .stopped = stopped,
				       .error = err};
	publish(o, &ev);
}

/* Computes the output of node `cut` for every image of d, in data-set order:
 * (n, F) floats. NULL with *F = 0 when the cache would not fit. */
static float *cache_build(thaw_model *m, const thaw_dataset *d, int cut, const thaw_fit_opts *o,
			  size_t *F)
{
	*F = thaw_shape_sample(m->nodes[cut]->out);
	if ((double)*F * d->n * sizeof(float) > (double)o->cache_mb * (1 << 20))
		return NULL;
	if (thaw_dist_size() > 1) /* each rank its share, then all of it */
		return dist_cache_build(m, d, cut, o->batch, *F);
	float *feat = thaw_aligned(*F * (size_t)d->n * sizeof(float));
	thaw_loader_opts lo = thaw_loader_opts_default();
	lo.batch = o->batch;
	lo.shuffle = 0;
	thaw_loader_opts_from_spec(&lo, &m->input);
	thaw_loader *l = feat ? thaw_loader_new(d, &lo) : NULL;
	thaw_batch b;
	int rc = l ? 0 : THAW_ENOMEM;
	while (l && (rc = thaw_loader_next(l, &b)) == 1) {
		if ((rc = thaw_model_forward_range(m, 0, cut, b.x, b.B, 0)) < 0)
			break;
		const float *y = m->nodes[cut]->y;
		for (int i = 0; i < b.B; i++)
			memcpy(feat + (size_t)b.idx[i] * *F, y + (size_t)i * *F, *F * sizeof(float));
	}
	thaw_loader_free(l);
	if (rc < 0) {
		free(feat);
		*F = 0;
		return NULL;
	}
	return feat;
}

/* A new head takes the names of the data it first trains on; a head whose
 * names differ from the data's (same width) takes the data's, and the log
 * says so: the names a model carries are those of what it learned. */
static void adopt_names(thaw_model *m, const thaw_dataset *d, const thaw_fit_opts *o, const char *phase)
{
	if (!d->class_names || d->n_classes <= 0)
		return;
	int same = m->n_classes == d->n_classes;
	for (int k = 0; same && k < d->n_classes; k++)
		same = d->class_names[k] && !strcmp(m->class_names[k], d->class_names[k]);
	if (same)
		return;
	char was[256] = "", now[256] = "";
	for (int k = 0; k < m->n_classes; k++)
		snprintf(was + strlen(was), sizeof was - strlen(was), "%s%s", k ? "," : "", m->class_names[k]);
	for (int k = 0; k < d->n_classes; k++)
		snprintf(now + strlen(now), sizeof now - strlen(now), "%s%s", k ? "," : "",
			 d->class_names[k] ? d->class_names[k] : "?");
	int had = m->n_classes;
	if (thaw_model_set_classes(m, (const char *const *)d->class_names, d->n_classes) < 0)
		return;
	if (had)
		thaw_event_log(o->on_event, o->user, "%s: the model's class names change from the old (%s) to the data's (%s)", phase, was, now);
	else
		thaw_event_log(o->on_event, o->user, "%s: the model's outputs take the data's class names (%s)", phase, now);
}

int thaw_fit(thaw_model *m, const thaw_dataset *d, const thaw_fit_opts *o)
{
	if (!m || !d || !o)
		return thaw_error(THAW_EINVAL, "fit: needs a model, data and options");
	if (o->epochs <= 0 || o->batch <= 0)
		return thaw_error(THAW_EINVAL, "fit: epochs (%d) and batch (%d) must be positive", o->epochs,
				  o->batch);
	int rc = check_shape(m, d, "training"), began = 0, done = 0, batches = 0;
	if (rc < 0 || (o->val && (rc = check_shape(m, o->val, "validation")) < 0))
		return rc;
	const char *phase = o->phase ? o->phase : "train";
	adopt_names(m, d, o, phase);
	if (d->ids && !m->vocab) /* the ids it learns mean these words: the model keeps them */
		thaw_model_set_vocab(m, d->vocab);
	thaw_loader_opts lo = thaw_loader_opts_default();
	lo.batch = o->batch;
	lo.seed = o->seed;
	lo.shift = o->shift;
	lo.flip = o->flip;
	thaw_loader_opts_from_spec(&lo, &m->input);
	int ranks = thaw_dist_size(); /* MPI: every rank trains on its shard of each batch */
	if (ranks > 1 && o->batch < ranks)
		return thaw_error(THAW_EINVAL, "fit: a batch of %d cannot be shared by %d MPI ranks", o->batch, ranks);
	lo.shard = thaw_dist_rank(), lo.shards = ranks;
	thaw_loader *l = thaw_loader_new(d, &lo);
	if (!l)
		return THAW_ENOMEM;
	batches = thaw_loader_batches(l);
	thaw_sched s = o->sched;
	if (s.total_steps <= 0)
		s.total_steps = (long)batches * o->epochs;
	int K = (int)thaw_shape_sample(thaw_model_output_shape(m));
	thaw_trainer *t = thaw_trainer_new(m, &o->optim, &s, o->batch);
	thaw_metrics *val = o->val ? thaw_metrics_new(K, 1) : NULL;
	float *best = NULL, *cache = NULL;
	size_t F = 0;
	if (o->patience > 0 && o->restore_best && o->val)
		best = thaw_malloc(weights_count(m) * sizeof(float) + 1);
	if (!t || (o->val && !val) || (o->patience > 0 && o->restore_best && o->val && !best)) {
		rc = THAW_ENOMEM;
		goto out;
	}
	t->smoothing = o->smoothing;
	t->step = o->first_step;
	t->bn_local = o->bn_local;
	double t_phase = thaw_now();
	thaw_dist_comm_reset();
	if (ranks > 1)
		thaw_event_log(o->on_event, o->user, "%s: data-parallel over %d MPI ranks, each a share of every batch of %d; batch norm "
			 "statistics %s",
		      phase, ranks, o->batch, o->bn_local ? "per rank" : "over the whole batch");
	if (ranks > 1 && d->n % o->batch && d->n % o->batch < ranks)
		thaw_event_log(o->on_event, o->user, "%s: the last batch of each epoch (%d images) is skipped: fewer images than the %d MPI ranks",
		      phase, d->n % o->batch, ranks);
	if (!o->keep_state && o->first_epoch <= 1 && o->skip_batches == 0 && o->first_step == 0)
		thaw_model_reset_opt_state(m); /* SGD's momentum is no Adam moment */
	int cut = (o->feature_cache >= 0 && !o->shift && !o->flip) ? thaw_model_static_prefix(m) : -1;
	if (cut >= 0 && cut < m->n - 1) {
		double t0 = thaw_now();
		cache = cache_build(m, d, cut, o, &F);
		if (cache)
			thaw_event_log(o->on_event, o->user, "%s: feature cache: nodes up to '%s' run once per image (%d images, %.1f MB, %.1f s)",
			      phase, m->nodes[cut]->name, d->n, (double)F * d->n * 4 / (1 << 20), thaw_now() - t0);
	}
	double best_loss = 1e300;
	int since_best = 0, first = o->first_epoch > 1 ? o->first_epoch : 1;
	done = first - 1;
	began = 1;
	phase_event(o, m, THAW_EV_PHASE_BEGIN, phase, batches, first, 0, 0, 0);
	thaw_batch b;
	/* fast-forward the loader to where a resumed run stopped */
	for (long skip = (long)(first - 1) * (batches + 1) + o->skip_batches; skip > 0; skip--)
		if ((rc = thaw_loader_next(l, &b)) < 0)
			goto out;
	for (int e = first; e <= o->epochs; e++) {
		double t0 = thaw_now(), loss_sum = 0;
		long seen = 0, correct = 0;
		thaw_step_result r = {.lr = thaw_sched_lr(&s, o->optim.lr, t->step)};
		int stop = 0;
		while ((rc = thaw_loader_next(l, &b)) == 1) {
			if (ranks > 1 && b.total < ranks)
				continue; /* every rank skips it alike (logged above) */
			t->total_B = ranks > 1 ? b.total : 0;
			if (cache && thaw_model_static_prefix(m) < cut) {
				/* a node below the cut was thawed between batches */
				free(cache);
				cache = NULL;
				thaw_event_log(o->on_event, o->user, "%s: feature cache dropped: a cached node became trainable", phase);
			}
			if (cache) {
				float *y = m->nodes[cut]->y;
				for (int i = 0; i < b.B; i++)
					memcpy(y + (size_t)i * F, cache + (size_t)b.idx[i] * F, F * sizeof(float));
				rc = thaw_trainer_step_from(t, cut + 1, b.x, b.y, b.B, &r);
			} else {
				rc = thaw_trainer_step(t, b.x, b.y, b.B, &r);
			}
			if (rc < 0) {
				thaw_error_prefix("%s, epoch %d, batch %d", phase, e, b.index + 1);
				goto out;
			}
			int gb = r.B ? r.B : b.B; /* the whole batch over all ranks */
			loss_sum += r.loss * gb;
			correct += r.correct;
			seen += gb;
			if (o->on_event) {
				double el = thaw_now() - t0;
				thaw_event ev = {.kind = THAW_EV_BATCH, .model = m, .trainer = t};
				ev.u.batch = (thaw_batch_stats){phase, e, o->epochs, b.index + 1, batches, r.loss,
								(double)r.correct / gb, seen / el, el, r.lr, t->step, m, t};
				if (thaw_dist_max_int(publish(o, &ev) != 0)) { /* any rank stopping stops all */
					stop = 1;
					break;
				}
			}
		}
		if (rc < 0)
			goto out;
		if (stop)
			break; /* mid-epoch: the epoch is not finished, so no epoch record */
		double secs = thaw_now() - t0;
		thaw_epoch_stats es = {phase, o->phase_index, e, o->epochs, seen ? loss_sum / seen : 0,
				       seen ? (double)correct / seen : 0, -1, -1, secs,
				       secs > 0 ? seen / secs : 0, r.lr, t->step};
		if (val) {
			thaw_metrics_reset(val);
			if ((rc = thaw_evaluate(m, o->val, o->batch, val)) < 0)
				goto out;
			es.val_loss = thaw_metrics_loss(val);
			es.val_acc = thaw_metrics_accuracy(val);
		}
		done = e;
		thaw_event ev = {.kind = THAW_EV_EPOCH, .model = m, .u.epoch = es};
		if (thaw_dist_max_int(publish(o, &ev) != 0))
			stop = 1;
		if (ranks > 1 && (rc = dist_check_replicas(m, phase)) < 0)
			goto out;
		if (stop)
			break;
		if (o->patience > 0 && val) {
			if (es.val_loss < best_loss) {
				best_loss = es.val_loss;
				since_best = 0;
				if (best)
					weights_copy(m, best, 1);
			} else if (++since_best >= o->patience) {
				break;
			}
		}
	}
	if (best && since_best > 0)
		weights_copy(m, best, 0); /* end with the best epoch's weights */
	rc = done;
	if (ranks > 1) {
		double all = thaw_now() - t_phase, comm = thaw_dist_comm_seconds();
		thaw_event_log(o->on_event, o->user, "%s: %.2f s of %.2f s in MPI exchanges (%.1f%%: gradient sums, batch norm statistics, the "
			 "cache, validation, and waiting for the slowest rank)",
		      phase, comm, all, all > 0 ? 100 * comm / all : 0);
	}
out:
	if (began)
		phase_event(o, m, THAW_EV_PHASE_END, phase, batches, o->first_epoch > 1 ? o->first_epoch : 1,
			    rc < 0 ? done : rc,
			    rc < 0 || rc < o->epochs, rc < 0 ? rc : 0);
	free(cache);
	free(best);
	thaw_metrics_free(val);
	thaw_trainer_free(t);
	thaw_loader_free(l);
	return rc;
}
