/* The workbench session as both threads see it: the curves, the log, the
 * layers' snapshot, the commands (applied at once when the worker is
 * idle, else queued for it) and the UI side's calls that start, pause and
 * stop it. Everything here runs with the session's mutex held, or takes
 * it; the worker thread itself is session_worker.c. */
#include "session.h"
#include "thaw/run.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "thaw/modelfile.h"
#include "thaw/onnx.h"

/* ---------------------------------------------------------------- series */

static int series_init(tui_series *s, int cap)
{
	s->x = thaw_malloc((size_t)cap * sizeof *s->x);
	s->y = thaw_malloc((size_t)cap * sizeof *s->y);
	s->n = 0;
	s->cap = cap;
	s->every = 1;
	s->skipped = 0;
	return s->x && s->y ? 0 : THAW_ENOMEM;
}

static void series_free(tui_series *s)
{
	free(s->x);
	free(s->y);
	memset(s, 0, sizeof *s);
}

void tui_series_add(tui_series *s, float x, float y)
{
	if (!s->cap)
		return;
	if (++s->skipped < s->every)
		return;
	s->skipped = 0;
	if (s->n == s->cap) {
		for (int i = 0; i < s->n / 2; i++) {
			s->x[i] = s->x[2 * i + 1];
			s->y[i] = s->y[2 * i + 1];
		}
		s->n /= 2;
		s->every *= 2;
	}
	s->x[s->n] = x;
	s->y[s->n] = y;
	s->n++;
}

/* ---------------------------------------------------------------- log */

void tui_session_log_locked(tui_session *s, const char *line)
{
	const char *p = line;
	do {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len >= TUI_LOG_WIDTH)
			len = TUI_LOG_WIDTH - 1;
		char *dst = s->log[s->log_n % TUI_LOG_LINES];
		memcpy(dst, p, len);
		dst[len] = 0;
		s->log_n++;
		p = nl ? nl + 1 : NULL;
	} while (p && *p);
	s->version++;
}

void tui_session_log(tui_session *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&s->mu);
	tui_session_log_locked(s, line);
	pthread_mutex_unlock(&s->mu);
}

/* ---------------------------------------------------------------- layers */

static void shape_str(char *out, size_t size, thaw_shape sh)
{
	if (sh.c > 1 || sh.h > 1 || sh.w > 1) {
		if (sh.h == 1 && sh.w == 1)
			snprintf(out, size, "%d", sh.c);
		else
			snprintf(out, size, "%dx%dx%d", sh.c, sh.h, sh.w);
	} else {
		snprintf(out, size, "%d", sh.c);
	}
}

/* Reads flags and sizes from the model into the snapshot; mu held. */
void tui_refresh_layers(tui_session *s, const thaw_model *m)
{
	if (!m)
		return;
	if (m->n > s->cap_layers) {
		tui_layer *l = realloc(s->layers, (size_t)m->n * sizeof *l);
		if (!l)
			return;
		s->layers = l;
		s->cap_layers = m->n;
	}
	for (int i = 0; i < m->n; i++) {
		const thaw_node *n = m->nodes[i];
		tui_layer *l = &s->layers[i];
		snprintf(l->name, sizeof l->name, "%s", n->name);
		snprintf(l->kind, sizeof l->kind, "%s", thaw_kind_name(n->kind));
		shape_str(l->shape, sizeof l->shape, n->out);
		thaw_node_describe(n, l->desc, sizeof l->desc);
		l->params = thaw_node_param_count(n);
		l->trainable = n->trainable;
		l->has_weights = thaw_node_has_weights(n);
		l->is_bn = n->kind == THAW_BATCHNORM;
		l->lr_mult = n->lr_mult;
	}
	s->n_layers = m->n;
	thaw_param_counts pc = thaw_model_count(m);
	s->n_trainable = pc.trainable;
	s->n_frozen = pc.frozen;
	s->version++;
}

/* Applies one command to m (the worker's, or the idle model); mu held. */
static void apply(tui_session *s, thaw_model *m, thaw_trainer *t, const tui_cmd *c)
{
	char line[400];
	if (c->kind == CMD_LR) {
		s->lr = c->value;
		if (t)
			t->opt.lr = c->value;
		snprintf(line, sizeof line, "learning rate %.3g%s", c->value, t ? " (from the next batch)" : "");
		tui_session_log_locked(s, line);
		return;
	}
	if (c->kind == CMD_EPOCHS || c->kind == CMD_BATCH || c->kind == CMD_AUG) {
		/* the next phase's options (run_phase copies s->fit when it starts) */
		if (c->kind == CMD_EPOCHS)
			s->fit.epochs = c->node;
		else if (c->kind == CMD_BATCH)
			s->fit.batch = c->node;
		else
			s->fit.shift = c->node, s->fit.flip = c->value != 0;
		if (c->kind == CMD_AUG)
			snprintf(line, sizeof line, "augment: shift %d, flip %s%s", s->fit.shift,
				 s->fit.flip ? "on" : "off", s->busy ? " (from the next phase)" : "");
		else
			snprintf(line, sizeof line, "%s %d%s", c->kind == CMD_EPOCHS ? "epochs per phase" : "batch size", c->node,
				 s->busy ? " (from the next phase)" : "");
		tui_session_log_locked(s, line);
		return;
	}
	if (!m) {
		if (c->kind == CMD_SAVE && s->sc && s->script_done) {
			if (thaw_script_save_model(s->sc, c->path) < 0) {
				snprintf(line, sizeof line, "error: save %s: %s", c->path, thaw_errmsg());
			} else {
				snprintf(line, sizeof line, "saved the script's model to %s", c->path);
				s->unsaved = 0;
			}
		} else if (c->kind == CMD_EXPORT) {
			snprintf(line, sizeof line, "error: export: %s",
				 s->script ? "the workbench exports only its own model; a script exports with m:export"
					   : "no model");
		} else {
			snprintf(line, sizeof line, "no model to change yet (the script has not started training)");
		}
		tui_session_log_locked(s, line);
		return;
	}
	int i = c->node;
	if (c->kind != CMD_SAVE && c->kind != CMD_EXPORT && c->kind != CMD_UNFREEZE_ALL && (i < 0 || i >= m->n))
		return;
	switch (c->kind) {
	case CMD_TOGGLE:
		m->nodes[i]->trainable = !m->nodes[i]->trainable;
		snprintf(line, sizeof line, "%s %s%s", m->nodes[i]->trainable ? "thawed" : "froze", m->nodes[i]->name,
			 m->nodes[i]->kind == THAW_BATCHNORM && !m->nodes[i]->trainable
				 ? " (batch norm: running statistics kept)"
				 : "");
		break;
	case CMD_FREEZE_UPTO:
		thaw_model_set_trainable(m, 0, i, 0);
		if (i + 1 < m->n)
			thaw_model_set_trainable(m, i + 1, m->n - 1, 1);
		snprintf(line, sizeof line, "froze everything up to %s; thawed the rest", m->nodes[i]->name);
		break;
	case CMD_UNFREEZE_ALL:
		thaw_model_set_trainable(m, 0, m->n - 1, 1);
		snprintf(line, sizeof line, "thawed all %d layers", m->n);
		break;
	case CMD_LR_MULT:
		if (thaw_model_set_lr_mult(m, i, c->value) < 0)
			snprintf(line, sizeof line, "error: %s", thaw_errmsg());
		else
			snprintf(line, sizeof line, "%s: lr multiplier %.3g", m->nodes[i]->name, c->value);
		break;
	case CMD_SAVE: {
		/* with where training stands, so thaw tui --model FILE continues it */
		thaw_position pos = {.phase_index = s->phases, .step = s->step, .seed = s->fit.seed};
		snprintf(pos.phase, sizeof pos.phase, "%s", s->phase);
		int whole = s->batches > 0 && s->batch >= s->batches;
		pos.epoch = whole ? s->epoch : s->epoch - 1;
		pos.batch = whole ? 0 : s->batch;
		if (pos.epoch < 0)
			pos.epoch = 0;
		if (tui_save_model(m, c->path, c->value != 0, &pos) < 0) {
			snprintf(line, sizeof line, "error: save: %s", thaw_errmsg());
		} else {
			snprintf(line, sizeof line, "saved %s%s", c->path, c->value != 0 ? " (with the optimizer state)" : "");
			s->unsaved = 0;
		}
		break;
	}
	case CMD_EXPORT:
		if (thaw_onnx_export(m, c->path) < 0)
			snprintf(line, sizeof line, "error: export: %s", thaw_errmsg());
		else
			snprintf(line, sizeof line, "exported ONNX to %s", c->path);
		break;
	default:
		return;
	}
	tui_session_log_locked(s, line);
	tui_refresh_layers(s, m);
}

/* mu held; the worker's model and trainer, at a batch boundary. */
void tui_drain(tui_session *s, thaw_model *m, thaw_trainer *t)
{
	for (int k = 0; k < s->nq; k++)
		apply(s, m, t, &s->queue[k]);
	s->nq = 0;
}

/* ---------------------------------------------------------------- UI side */

int tui_session_start(tui_session *s, const thaw_tui_opts *o)
{
	memset(s, 0, sizeof *s);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->model = o->model;
	s->train = o->train;
	s->view = o->val ? o->val : o->train;
	s->fit = o->fit;
	s->resume = o->resume;
	s->lr = o->fit.optim.lr;
	s->script = o->script;
	s->run_dir = o->run_dir;
	s->argc = o->argc;
	s->argv = o->argv;
	s->eval_B = o->fit.batch > 64 ? o->fit.batch : 64; /* the arena only grows: stay near the training batch */
	int rc = 0;
	tui_series *all[] = {&s->b_loss, &s->b_acc, &s->e_loss, &s->e_acc, &s->v_loss, &s->v_acc};
	for (int i = 0; i < 6; i++)
		if (series_init(all[i], i < 2 ? 4096 : 1024) < 0)
			rc = THAW_ENOMEM;
	for (int i = 0; i < o->n_log; i++)
		tui_session_log_locked(s, o->log[i]);
	if (s->model) {
		tui_refresh_layers(s, s->model);
		const thaw_model *m = s->model;
		int K = (int)thaw_shape_sample(thaw_model_output_shape(m));
		s->class_names = calloc((size_t)K, sizeof *s->class_names);
		if (s->class_names) {
			s->K = K;
			for (int k = 0; k < K; k++) {
				/* the model's names only when they fit its outputs (a model
				 * that kept stale names once made this read past them) */
				const char *nm = m->class_names && k < m->n_classes ? m->class_names[k]
						 : s->view && k < s->view->n_classes ? s->view->class_names[k]
										     : NULL;
				char def[16];
				snprintf(def, sizeof def, "%d", k);
				s->class_names[k] = strdup(nm ? nm : def);
			}
		}
		s->eval_req = s->view != NULL;
		s->start_req = o->autostart;
	} else if (s->script) {
		s->start_req = 1;
	}
	if (rc < 0)
		return rc;
	if (pthread_create(&s->thread, NULL, tui_worker, s) != 0)
		return thaw_error(THAW_ENOMEM, "workbench: cannot start the training thread");
	s->thread_started = 1;
	return 0;
}

void tui_session_end(tui_session *s)
{
	if (s->thread_started) {
		pthread_mutex_lock(&s->mu);
		s->quit = 1;
		s->stop = 1;
		s->paused = 0;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
		s->thread_started = 0;
	}
	thaw_script_free(s->sc);
	thaw_run_free(s->run);
	thaw_dataset_free(s->view_copy);
	tui_series *all[] = {&s->b_loss, &s->b_acc, &s->e_loss, &s->e_acc, &s->v_loss, &s->v_acc};
	for (int i = 0; i < 6; i++)
		series_free(all[i]);
	for (int k = 0; k < s->K && s->class_names; k++)
		free(s->class_names[k]);
	free(s->class_names);
	free(s->layers);
	free(s->confusion);
	free(s->pred);
	free(s->conf_p);
	free(s->loss_p);
	tui_eval_free(s);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
}

void tui_session_train(tui_session *s)
{
	pthread_mutex_lock(&s->mu);
	if (s->paused) {
		s->paused = 0;
		tui_session_log_locked(s, "resumed");
	} else if (s->script) {
		if (s->script_done)
			tui_session_log_locked(s, "the script has finished; q quits");
	} else if (!s->busy || s->act == ACT_EVAL) {
		s->start_req = 1;
	}
	pthread_cond_broadcast(&s->cv);
	s->version++;
	pthread_mutex_unlock(&s->mu);
}

/* F and R: what the worker runs next, when it is idle. */
static void request(tui_session *s, int *flag, const char *what)
{
	pthread_mutex_lock(&s->mu);
	if (s->script)
		tui_session_log_locked(s, "a script session trains as its script says");
	else if (s->busy && s->act != ACT_EVAL) {
		char line[120];
		snprintf(line, sizeof line, "busy: %s waits until the phase ends (x stops it)", what);
		tui_session_log_locked(s, line);
	} else
		*flag = 1;
	pthread_cond_broadcast(&s->cv);
	s->version++;
	pthread_mutex_unlock(&s->mu);
}

void tui_session_finetune(tui_session *s) { request(s, &s->finetune_req, "fine_tune"); }
void tui_session_lrfind(tui_session *s) { request(s, &s->lrfind_req, "the LR finder"); }

void tui_session_pause(tui_session *s)
{
	pthread_mutex_lock(&s->mu);
	if (s->busy && (s->act == ACT_TRAIN || s->act == ACT_VALIDATE || s->act == ACT_SCRIPT)) {
		s->paused = !s->paused;
		tui_session_log_locked(s, s->paused ? "paused (p or t resumes)" : "resumed");
	}
	pthread_cond_broadcast(&s->cv);
	s->version++;
	pthread_mutex_unlock(&s->mu);
}

void tui_session_stop(tui_session *s)
{
	pthread_mutex_lock(&s->mu);
	if (s->busy) {
		s->stop = 1;
		s->paused = 0;
		tui_session_log_locked(s, "stopping at the next batch");
	}
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

void tui_session_command(tui_session *s, const tui_cmd *c)
{
	pthread_mutex_lock(&s->mu);
	if (s->busy) {
		if (s->nq < TUI_QUEUE)
			s->queue[s->nq++] = *c;
		pthread_cond_broadcast(&s->cv); /* a paused worker applies it at once */
	} else {
		apply(s, s->model, NULL, c);
	}
	s->version++;
	pthread_mutex_unlock(&s->mu);
}
