/* The worker thread of the workbench. It owns the model while `busy`: the
 * UI never touches the model then, it queues commands that the worker
 * applies between two batches (inside thaw_fit's on_batch callback, where
 * the model and trainer are safe to change, and between two batches of a
 * validation pass or evaluation). Pausing blocks the worker in
 * that same callback on a condition variable. When the worker is idle the
 * UI applies commands itself, under the same mutex. */
#include "session.h"
#include "thaw/finetune.h"
#include "thaw/plot.h"
#include "thaw/run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Blocks while paused; mu held. Returns nonzero when the run must stop. */
static int wait_paused(tui_session *s, thaw_model *m, thaw_trainer *t)
{
	if (s->paused) {
		double t0 = thaw_now();
		s->version++;
		while (s->paused && !s->stop && !s->quit) {
			pthread_cond_wait(&s->cv, &s->mu);
			tui_drain(s, m, t); /* freeze toggles while paused apply at once */
		}
		s->paused_s += thaw_now() - t0;
		s->version++;
	}
	return s->stop || s->quit;
}

static void update_eta(tui_session *s)
{
	double el = thaw_now() - s->phase_t0 - s->paused_s;
	s->eta = s->units_done > 0 ? el / s->units_done * (s->units_total - s->units_done) : -1;
}

/* ---------------------------------------------------------------- evaluation */

void tui_eval_free(tui_session *s)
{
	thaw_metrics_free(s->mt);
	free(s->xbuf);
	free(s->pbuf);
	free(s->ybuf);
	free(s->idx);
	free(s->pred_w);
	free(s->conf_w);
	free(s->loss_w);
	s->mt = NULL;
	s->xbuf = s->conf_w = s->loss_w = NULL;
	s->ybuf = s->pred_w = NULL;
	s->pbuf = NULL;
	s->idx = NULL;
}

static int alloc_eval(tui_session *s, const thaw_model *m)
{
	const thaw_dataset *d = s->view;
	int K = (int)thaw_shape_sample(thaw_model_output_shape(m));
	int B = s->eval_B, px = d->c * d->h * d->w;
	if (s->mt && s->mt->K == K)
		return 0;
	tui_eval_free(s);
	s->mt = thaw_metrics_new(K, 1);
	s->xbuf = thaw_malloc((size_t)B * px * sizeof(float));
	s->pbuf = thaw_malloc((size_t)B * sizeof *s->pbuf);
	s->ybuf = thaw_malloc((size_t)B * sizeof(int32_t));
	s->idx = thaw_malloc((size_t)B * sizeof(int));
	s->pred_w = thaw_malloc((size_t)d->n * sizeof(int32_t) + 1);
	s->conf_w = thaw_malloc((size_t)d->n * sizeof(float) + 1);
	s->loss_w = thaw_malloc((size_t)d->n * sizeof(float) + 1);
	if (!s->mt || !s->xbuf || !s->pbuf || !s->ybuf || !s->idx || !s->pred_w || !s->conf_w || !s->loss_w)
		return THAW_ENOMEM;
	pthread_mutex_lock(&s->mu);
	int32_t *pred = realloc(s->pred, (size_t)d->n * sizeof *pred + 1);
	float *cp = realloc(s->conf_p, (size_t)d->n * sizeof *cp + 1);
	float *lp = realloc(s->loss_p, (size_t)d->n * sizeof *lp + 1);
	long *cm = realloc(s->confusion, (size_t)K * K * sizeof *cm);
	if (pred)
		s->pred = pred;
	if (cp)
		s->conf_p = cp;
	if (lp)
		s->loss_p = lp;
	if (cm)
		s->confusion = cm;
	int ok = pred && cp && lp && cm;
	if (ok) {
		s->K = K;
		s->n_pred = 0;
		memset(s->confusion, 0, (size_t)K * K * sizeof *cm);
	}
	pthread_mutex_unlock(&s->mu);
	return ok ? 0 : THAW_ENOMEM;
}

/* Runs the model over the browser's data set: per-image guess, confidence
 * and loss, the confusion matrix, loss and accuracy. Worker thread only.
 * `live`: m is the session's model between two steps of its phase (or
 * before the first), so the UI's queued commands are applied between two
 * batches here, as on_batch does between training steps: a pass over
 * thousands of images must not hold a freeze toggle back for its whole
 * length. The guesses do not depend on the flags they change (inference
 * ignores them), so the results are the same whenever they land. */
static int evaluate_view(tui_session *s, thaw_model *m, int live, double *loss, double *acc)
{
	int rc = alloc_eval(s, m);
	if (rc < 0)
		return rc;
	const thaw_dataset *d = s->view;
	int K = s->mt->K;
	thaw_loader_opts lo = thaw_loader_opts_default();
	thaw_loader_opts_from_spec(&lo, &m->input);
	thaw_metrics_reset(s->mt);
	for (int at = 0; at < d->n; at += s->eval_B) {
		int B = d->n - at < s->eval_B ? d->n - at : s->eval_B;
		for (int i = 0; i < B; i++)
			s->idx[i] = at + i;
		thaw_batch_fill(s->xbuf, s->ybuf, d, s->idx, B, &lo, 0);
		for (int i = 0; i < B; i++) /* labels the model cannot output count as misses */
			if (s->ybuf[i] >= K)
				return thaw_error(THAW_ESHAPE, "%s: label %d but the model has %d outputs", d->source,
						  s->ybuf[i], K);
		if ((rc = thaw_predict_batch(m, s->xbuf, s->ybuf, B, s->pbuf, 0, NULL, NULL)) < 0)
			return rc;
		double loss_sum = 0;
		for (int i = 0; i < B; i++) {
			s->pred_w[at + i] = s->pbuf[i].cls;
			s->conf_w[at + i] = s->pbuf[i].conf;
			s->loss_w[at + i] = s->pbuf[i].loss;
			loss_sum += s->pbuf[i].loss;
		}
		thaw_metrics_add(s->mt, thaw_model_output(m), s->ybuf, B, loss_sum); /* the logits */
		pthread_mutex_lock(&s->mu);
		int quit = s->quit;
		if (live && s->nq)
			tui_drain(s, m, s->trainer);
		pthread_mutex_unlock(&s->mu);
		if (quit)
			return THAW_ESTOP;
	}
	*loss = thaw_metrics_loss(s->mt);
	*acc = thaw_metrics_accuracy(s->mt);
	pthread_mutex_lock(&s->mu);
	memcpy(s->pred, s->pred_w, (size_t)d->n * sizeof *s->pred);
	memcpy(s->conf_p, s->conf_w, (size_t)d->n * sizeof *s->conf_p);
	memcpy(s->loss_p, s->loss_w, (size_t)d->n * sizeof *s->loss_p);
	memcpy(s->confusion, s->mt->confusion, (size_t)K * K * sizeof *s->confusion);
	s->n_pred = d->n;
	s->pred_version++;
	s->conf_version++;
	s->version++;
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* ---------------------------------------------------------------- callbacks */

/* Notes from thaw_fit (the feature cache, a head taking the data's class
 * names): into the log; the views name classes as the model now does. */
static void on_log(const char *line, void *user)
{
	tui_session *s = user;
	const thaw_model *m = s->model;
	pthread_mutex_lock(&s->mu);
	tui_session_log_locked(s, line);
	for (int k = 0; m && k < s->K && k < m->n_classes && s->class_names; k++) {
		char *nm = strdup(m->class_names[k]);
		if (nm) {
			free(s->class_names[k]);
			s->class_names[k] = nm;
		}
	}
	s->version++;
	pthread_mutex_unlock(&s->mu);
}

static int on_batch(const thaw_batch_stats *bs, void *user)
{
	tui_session *s = user;
	pthread_mutex_lock(&s->mu);
	s->act = ACT_TRAIN;
	s->epoch = bs->epoch;
	s->epochs = bs->epochs;
	s->batch = bs->batch;
	s->batches = bs->batches;
	s->loss = bs->loss;
	s->acc = bs->acc;
	s->img_s = bs->img_s;
	s->cur_lr = bs->lr;
	s->step = bs->step;
	s->units_done++;
	update_eta(s);
	float x = s->epochs_before + (bs->epoch - 1) + (float)bs->batch / bs->batches;
	tui_series_add(&s->b_loss, x, (float)bs->loss);
	tui_series_add(&s->b_acc, x, (float)bs->acc);
	s->trainer = bs->trainer;
	tui_drain(s, bs->model, bs->trainer);
	s->unsaved = 1;
	s->version++;
	int stop = wait_paused(s, bs->model, bs->trainer);
	pthread_mutex_unlock(&s->mu);
	return stop;
}

static int on_epoch(const thaw_epoch_stats *es, void *user)
{
	tui_session *s = user;
	pthread_mutex_lock(&s->mu);
	s->act = ACT_VALIDATE;
	s->version++;
	pthread_mutex_unlock(&s->mu);
	double vl = -1, va = -1;
	int rc = evaluate_view(s, s->model, 1, &vl, &va);
	pthread_mutex_lock(&s->mu);
	float x = s->epochs_before + es->epoch;
	tui_series_add(&s->e_loss, x, (float)es->train_loss);
	tui_series_add(&s->e_acc, x, (float)es->train_acc);
	char line[300];
	/* the epoch line every frontend writes, with the browser's validation */
	thaw_event ev = {.kind = THAW_EV_EPOCH, .u.epoch = *es};
	if (rc == 0) {
		tui_series_add(&s->v_loss, x, (float)vl);
		tui_series_add(&s->v_acc, x, (float)va);
		ev.u.epoch.val_loss = vl;
		ev.u.epoch.val_acc = va;
	}
	int n = thaw_event_format_brief(&ev, line, sizeof line);
	if (rc == THAW_ESTOP)
		snprintf(line + n, sizeof line - n, " (validation interrupted)");
	else if (rc < 0)
		snprintf(line, sizeof line, "error: validation: %s", thaw_errmsg());
	tui_session_log_locked(s, line);
	s->act = ACT_TRAIN;
	/* between two epochs is a batch boundary too: pause here rather than
	 * after one more batch */
	tui_drain(s, s->model, s->trainer);
	int stop = wait_paused(s, s->model, s->trainer);
	pthread_mutex_unlock(&s->mu);
	return stop;
}

/* The workbench's sink of thaw_fit's events. */
static int on_fit_event(const thaw_event *ev, void *user)
{
	tui_session *s = user;
	char line[300];
	switch (ev->kind) {
	case THAW_EV_BATCH:
		return on_batch(&ev->u.batch, user);
	case THAW_EV_EPOCH:
		return on_epoch(&ev->u.epoch, user);
	case THAW_EV_LOG:
		on_log(ev->u.line, user);
		return 0;
	case THAW_EV_PHASE_BEGIN:
		thaw_event_format(ev, line, sizeof line);
		tui_session_log(s, "%s", line);
		return 0;
	default:
		return 0;
	}
}

/* The same, then fine_tune's own handler of the phase's events (gradual
 * unfreezing thaws a group after an epoch). */
static int on_chained_event(const thaw_event *ev, void *user)
{
	tui_session *s = user;
	int stop = on_fit_event(ev, user);
	if (s->chain_fn && (ev->kind == THAW_EV_EPOCH || ev->kind == THAW_EV_BATCH))
		stop |= s->chain_fn(ev, s->chain_user);
	return stop;
}

/* ---- script hooks */

/* A phase of the script begins: a mark on the curves, a fresh ETA. */
static void script_phase(tui_session *s, const thaw_event *ev)
{
	const thaw_phase_info *p = &ev->u.phase;
	char line[300];
	thaw_event_format(ev, line, sizeof line);
	pthread_mutex_lock(&s->mu);
	snprintf(s->phase, sizeof s->phase, "%s", p->name);
	if (s->phases > 0 && s->n_marks < TUI_MAX_MARKS)
		s->marks[s->n_marks++] = s->epochs_before;
	s->phases++;
	s->phase_t0 = thaw_now();
	s->paused_s = 0;
	s->units_done = 0;
	s->units_total = (long)p->batches * p->epochs;
	s->model = ev->model;
	tui_session_log_locked(s, line);
	pthread_mutex_unlock(&s->mu);
}

static void hook_batch(const thaw_batch_stats *bs, void *user)
{
	tui_session *s = user;
	pthread_mutex_lock(&s->mu);
	s->model = bs->model;
	if (bs->batch == 1 || s->nq)
		tui_refresh_layers(s, bs->model);
	pthread_mutex_unlock(&s->mu);
	on_batch(bs, s);
}

static void hook_epoch(const thaw_epoch_stats *es, const thaw_model *m, void *user)
{
	tui_session *s = user;
	pthread_mutex_lock(&s->mu);
	float x = s->epochs_before + es->epoch;
	tui_series_add(&s->e_loss, x, (float)es->train_loss);
	tui_series_add(&s->e_acc, x, (float)es->train_acc);
	if (es->val_acc >= 0) {
		tui_series_add(&s->v_loss, x, (float)es->val_loss);
		tui_series_add(&s->v_acc, x, (float)es->val_acc);
	}
	if (es->epoch == es->epochs)
		s->epochs_before += es->epochs;
	tui_refresh_layers(s, m);
	char line[300];
	thaw_event ev = {.kind = THAW_EV_EPOCH, .u.epoch = *es};
	thaw_event_format_brief(&ev, line, sizeof line);
	tui_session_log_locked(s, line);
	pthread_mutex_unlock(&s->mu);
}

/* The browser of a script session shows the data of the script's last
 * evaluation with that model's guesses: the data is copied (the script may
 * free its own), then run through the model here, on the script's thread. */
static void browse_evaluated(tui_session *s, thaw_model *m, const thaw_dataset *d)
{
	thaw_dataset *copy = thaw_dataset_clone(d);
	if (!copy) {
		tui_session_log(s, "warning: no copy of '%s' for the browser: %s", d->source, thaw_errmsg());
		return;
	}
	pthread_mutex_lock(&s->mu);
	thaw_dataset *old = s->view_copy;
	s->view = s->view_copy = copy;
	s->n_pred = 0; /* the old guesses belong to the old data */
	s->pred_version++;
	s->version++;
	pthread_mutex_unlock(&s->mu);
	thaw_dataset_free(old);
	tui_eval_free(s); /* alloc_eval sizes its buffers anew for this data */
	double l, a;
	/* not live: m is the script's, whose commands wait for its next batch */
	if (evaluate_view(s, m, 0, &l, &a) < 0)
		tui_session_log(s, "warning: browser: %s", thaw_errmsg());
}

static void hook_eval(const char *name, const thaw_metrics *mt, const char *const *classes,
		      thaw_model *m, const thaw_dataset *d, void *user)
{
	tui_session *s = user;
	pthread_mutex_lock(&s->mu);
	if (mt->K != s->K || !s->confusion) {
		long *cm = realloc(s->confusion, (size_t)mt->K * mt->K * sizeof *cm);
		char **cn = calloc((size_t)mt->K, sizeof *cn);
		if (!cm || !cn) {
			free(cn);
			if (cm)
				s->confusion = cm;
			pthread_mutex_unlock(&s->mu);
			return;
		}
		s->confusion = cm;
		for (int k = 0; k < s->K && s->class_names; k++)
			free(s->class_names[k]);
		free(s->class_names);
		s->class_names = cn;
		s->K = mt->K;
	}
	for (int k = 0; k < mt->K; k++) {
		free(s->class_names[k]);
		s->class_names[k] = strdup(classes && classes[k] ? classes[k] : "?");
	}
	memcpy(s->confusion, mt->confusion, (size_t)mt->K * mt->K * sizeof *s->confusion);
	s->conf_version++;
	char line[300];
	thaw_event ev = {.kind = THAW_EV_EVAL, .u.eval = {name, mt, classes, d}};
	thaw_event_format(&ev, line, sizeof line);
	tui_session_log_locked(s, line);
	pthread_mutex_unlock(&s->mu);
	/* after the class names above are sized for this K */
	if (m && d && d->n > 0)
		browse_evaluated(s, m, d);
}

/* The workbench's sink of a script's events. Stopping goes through
 * hook_stop (the run's should_stop), which interrupts the script. */
static int script_event(const thaw_event *ev, void *user)
{
	tui_session *s = user;
	char line[300];
	switch (ev->kind) {
	case THAW_EV_PHASE_BEGIN:
		script_phase(s, ev);
		break;
	case THAW_EV_BATCH:
		hook_batch(&ev->u.batch, s);
		break;
	case THAW_EV_EPOCH:
		hook_epoch(&ev->u.epoch, ev->model, s);
		break;
	case THAW_EV_EVAL:
		hook_eval(ev->u.eval.name, ev->u.eval.mt, ev->u.eval.classes, ev->model, ev->u.eval.data, s);
		break;
	case THAW_EV_LOG:
		tui_session_log(s, "%s", ev->u.line);
		break;
	case THAW_EV_PHASE_END:
		thaw_event_format(ev, line, sizeof line);
		tui_session_log(s, "%s", line);
		break;
	}
	return 0;
}

static int hook_stop(void *user)
{
	tui_session *s = user;
	pthread_mutex_lock(&s->mu);
	int stop = s->stop || s->quit;
	pthread_mutex_unlock(&s->mu);
	return stop;
}

/* ---------------------------------------------------------------- worker */

/* One phase on d with options o: the workbench's own (t), or one of
 * fine_tune's (F: named, with its own rate, schedule and seed, and
 * fine_tune's handler in o.on_event). Returns thaw_fit's result. */
static int fit_phase(tui_session *s, const thaw_dataset *d, thaw_fit_opts o, const char *name)
{
	thaw_model *m = s->model;
	pthread_mutex_lock(&s->mu);
	tui_drain(s, m, NULL);
	if (!name)
		o.optim.lr = s->lr;
	snprintf(s->phase, sizeof s->phase, "%s", name ? name : tui_phase_name(m, s->phases));
	if (s->resume.phase_index > 0) { /* a saved session's phase goes on */
		snprintf(s->phase, sizeof s->phase, "%.31s", s->resume.phase);
		s->phases = s->resume.phase_index - 1;
		o.first_epoch = s->resume.epoch + 1;
		o.skip_batches = s->resume.batch;
		o.first_step = (long)s->resume.step;
		s->resume.phase_index = 0;
	}
	if (s->phases > 0 && s->n_marks < TUI_MAX_MARKS)
		s->marks[s->n_marks++] = s->epochs_before;
	s->phases++;
	s->act = ACT_TRAIN;
	s->epoch = 1;
	s->epochs = o.epochs;
	s->batch = 0;
	s->batches = (d->n + o.batch - 1) / o.batch;
	s->units_done = 0;
	s->units_total = (long)s->batches * o.epochs;
	s->phase_t0 = thaw_now();
	s->paused_s = 0;
	s->eta = -1;
	char line[300];
	pthread_mutex_unlock(&s->mu);

	o.phase = s->phase;
	o.phase_index = s->phases;
	if (!name)
		o.seed = s->fit.seed + (uint64_t)s->phases;
	o.val = NULL; /* validated in on_epoch over the browser's data, with per-image results */
	s->chain_fn = o.on_event;
	s->chain_user = o.user;
	o.on_event = on_chained_event; /* the phase line comes as its PHASE_BEGIN */
	o.user = s;
	int rc = thaw_fit(m, d, &o);
	s->chain_fn = NULL;

	pthread_mutex_lock(&s->mu);
	s->trainer = NULL; /* freed by thaw_fit */
	if (rc < 0)
		snprintf(line, sizeof line, "error: %s", thaw_errmsg());
	else {
		thaw_event ev = {.kind = THAW_EV_PHASE_END};
		ev.u.phase = (thaw_phase_info){.name = s->phase, .epochs = o.epochs, .epochs_done = rc,
					       .stopped = rc < o.epochs || s->stop};
		int n = thaw_event_format(&ev, line, sizeof line);
		if (!ev.u.phase.stopped)
			snprintf(line + n, sizeof line - n, " in %.1f s — t trains again, s saves", thaw_now() - s->phase_t0);
	}
	tui_session_log_locked(s, line);
	/* a stopped epoch still moved the curves: continue them where they are */
	s->epochs_before += rc > 0 ? rc : 0;
	if (s->b_loss.n && s->b_loss.x[s->b_loss.n - 1] > s->epochs_before)
		s->epochs_before = s->b_loss.x[s->b_loss.n - 1];
	tui_refresh_layers(s, m);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static void run_phase(tui_session *s) { fit_phase(s, s->train, s->fit, NULL); }

/* ---- F: fine_tune, its phases through fit_phase */

static int ft_fit(void *user, thaw_model *m, const thaw_dataset *d, const thaw_fit_opts *o)
{
	tui_session *s = user;
	(void)m; /* the session's model */
	int rc = fit_phase(s, d, *o, o->phase);
	pthread_mutex_lock(&s->mu);
	int stop = s->stop || s->quit;
	pthread_mutex_unlock(&s->mu);
	return rc >= 0 && stop ? THAW_ESTOP : rc;
}

static int ft_log(const thaw_event *ev, void *user)
{
	if (ev->kind == THAW_EV_LOG)
		on_log(ev->u.line, user);
	return 0;
}

static void run_finetune(tui_session *s)
{
	thaw_finetune_opts o = thaw_finetune_opts_default();
	o.seed = s->fit.seed;
	o.on_event = ft_log;
	o.user = s;
	o.fit = ft_fit;
	o.fit_user = s;
	tui_session_log(s, "fine_tune: the head on a frozen base, then everything with discriminative rates");
	thaw_finetune_result r;
	int rc = thaw_fine_tune(s->model, s->train, &o, &r);
	pthread_mutex_lock(&s->mu);
	if (rc == THAW_ESTOP)
		tui_session_log_locked(s, "fine_tune stopped");
	else if (rc < 0) {
		char line[300];
		snprintf(line, sizeof line, "error: fine_tune: %s", thaw_errmsg());
		tui_session_log_locked(s, line);
	} else
		tui_session_log_locked(s, "fine_tune done — s saves, t trains on");
	tui_refresh_layers(s, s->model);
	pthread_mutex_unlock(&s->mu);
}

/* ---- R: the LR finder; its suggestion becomes the rate t trains at */

static void run_lrfind(tui_session *s)
{
	pthread_mutex_lock(&s->mu);
	tui_drain(s, s->model, NULL);
	pthread_mutex_unlock(&s->mu);
	thaw_lrfind_opts o = thaw_lrfind_opts_default();
	o.seed = s->fit.seed;
	o.optimizer = s->fit.optim.kind;
	o.on_event = ft_log;
	o.user = s;
	thaw_lrfind_result r;
	if (thaw_lr_find(s->model, s->train, &o, &r) < 0) {
		tui_session_log(s, "error: lr_find: %s", thaw_errmsg());
		return;
	}
	char png[600];
	snprintf(png, sizeof png, "%s%slr-find.png", s->run_dir ? s->run_dir : "", s->run_dir ? "/" : "");
	if (thaw_plot_lrfind(png, &r, NULL) < 0)
		tui_session_log(s, "warning: lr_find: %s", thaw_errmsg());
	else
		tui_session_log(s, "lr_find: curve written to %s", png);
	pthread_mutex_lock(&s->mu);
	if (r.suggested > 0) {
		s->lr = (float)r.suggested;
		char line[200];
		snprintf(line, sizeof line, "lr_find: the rate is now the suggested %.3g (l changes it)", r.suggested);
		tui_session_log_locked(s, line);
	}
	s->version++;
	pthread_mutex_unlock(&s->mu);
	thaw_lrfind_result_free(&r);
}

static void run_script(tui_session *s)
{
	thaw_run_opts ro = {.dir = s->run_dir, .seed = s->fit.seed ? s->fit.seed : 1, .argc = s->argc, .argv = s->argv,
			    .on_event = script_event, .user = s, .should_stop = hook_stop};
	thaw_run *run = thaw_run_new(&ro);
	thaw_script *sc = run ? thaw_script_new(run) : NULL;
	if (!sc) {
		tui_session_log(s, "error: %s", thaw_errmsg());
		thaw_run_free(run);
		return;
	}
	tui_session_log(s, "running %s", s->script);
	int code = thaw_script_run(sc, s->script);
	pthread_mutex_lock(&s->mu);
	s->sc = sc;
	s->run = run;
	s->script_code = code;
	s->script_done = 1;
	s->model = NULL; /* the script owns its models; they may be gone */
	char line[300];
	if (code == THAW_RUN_OK)
		snprintf(line, sizeof line, "script finished (s saves its model, q quits)");
	else if (code == THAW_RUN_INTERRUPTED)
		snprintf(line, sizeof line, "script stopped");
	else
		snprintf(line, sizeof line, "script %s (exit %d):", code == THAW_RUN_CHECK ? "check failed" : "error", code);
	tui_session_log_locked(s, line);
	if (code != THAW_RUN_OK && code != THAW_RUN_INTERRUPTED)
		tui_session_log_locked(s, thaw_script_error(sc));
	pthread_mutex_unlock(&s->mu);
}

void *tui_worker(void *arg)
{
	tui_session *s = arg;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->quit && !s->start_req && !s->eval_req && !s->finetune_req && !s->lrfind_req)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->quit)
			break;
		int eval = s->eval_req, train = s->start_req, ft = s->finetune_req, lrf = s->lrfind_req;
		s->eval_req = s->start_req = s->finetune_req = s->lrfind_req = 0;
		s->busy = 1;
		s->stop = 0;
		s->act = s->script ? ACT_SCRIPT : eval ? ACT_EVAL : ACT_TRAIN;
		s->version++;
		pthread_mutex_unlock(&s->mu);
		if (s->script) {
			run_script(s);
		} else if (eval) {
			double l, a;
			if (evaluate_view(s, s->model, 1, &l, &a) == 0)
				tui_session_log(s, "untrained head on %s: loss %.4f, accuracy %.1f%% (%d %s)", s->view->source, l,
						100 * a, s->view->n, s->view->ids ? "texts" : "images");
			else if (!s->quit)
				tui_session_log(s, "error: evaluation: %s", thaw_errmsg());
		}
		if (lrf && !s->script)
			run_lrfind(s);
		if (ft && !s->script)
			run_finetune(s);
		else if (train && !s->script)
			run_phase(s);
		pthread_mutex_lock(&s->mu);
		s->busy = 0;
		s->paused = 0;
		s->act = ACT_IDLE;
		tui_drain(s, s->model, NULL);
		s->version++;
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

