/* A run: phases numbered, events passed on, checkpoints written with the
 * training position, interrupted runs continued exactly. */
#include "thaw/run.h"
#include "thaw/dist.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "thaw/atomic.h"

#define PATH_LEN 4200
/* A phase's loss is diverging when an epoch's mean is this many times the
 * loss of its first batch (the model as the phase got it), and at least
 * DIVERGE_FLOOR (a near-zero start would make noise look like growth). */
#define DIVERGE_FACTOR 10.0
#define DIVERGE_FLOOR 0.1

struct thaw_run {
	char dir[PATH_LEN], ckpt[PATH_LEN], resume_dir[PATH_LEN], resume_ckpt[PATH_LEN];
	int every;
	uint64_t seed;
	int argc;
	char **argv;     /* owned copies */
	thaw_event_fn host;
	void *user;
	int (*should_stop)(void *user);
	int phases;      /* phases begun so far */
	int resuming;    /* the resume point is still ahead */
	thaw_position resume_at, at;
	/* during thaw_run_fit */
	const thaw_fit_opts *fit;
	thaw_model *model;
	int interrupted, checkpointing;
	double start_loss; /* the phase's first batch loss; NAN before it */
	int diverged;      /* warned for this phase */
	/* the first save that failed: its file and the message */
	char save_file[PATH_LEN], save_error[1024];
};

int thaw_checkpoint_save(const char *path, const thaw_model *m, const thaw_position *pos, int argc,
			 char *const *argv)
{
	thaw_train_state *st = thaw_calloc(1, sizeof *st);
	if (!st)
		return THAW_ENOMEM;
	snprintf(st->phase, sizeof st->phase, "%s", pos->phase);
	st->epoch = pos->epoch;
	st->step = pos->step;
	st->rng = m->rng;
	st->phase_index = pos->phase_index;
	st->batch = pos->batch;
	st->seed = pos->seed;
	for (int i = 0; i < argc && i < THAW_TRAIN_MAX_ARGS; i++)
		snprintf(st->argv[st->argc++], THAW_TRAIN_ARG_LEN, "%s", argv[i]);
	int rc = thaw_model_save(m, path, st);
	free(st);
	return rc;
}

/* thaw 0.x wrote "phase_index=N batch=N" into the optimizer text */
static void old_position(thaw_train_state *st)
{
	const char *p = strstr(st->optimizer, "phase_index=");
	const char *b = strstr(st->optimizer, "batch=");
	if (st->phase_index > 0 || !p)
		return;
	st->phase_index = (int)strtol(p + 12, NULL, 10);
	st->batch = b ? (int)strtol(b + 6, NULL, 10) : 0;
}

thaw_model *thaw_checkpoint_load(const char *path, thaw_position *pos, thaw_train_state *st)
{
	thaw_train_state *own = st ? st : thaw_calloc(1, sizeof *own);
	if (!own)
		return NULL;
	thaw_model *m = thaw_model_load(path, own);
	if (m && pos) {
		memset(pos, 0, sizeof *pos);
		if (own->present) {
			old_position(own);
			snprintf(pos->phase, sizeof pos->phase, "%s", own->phase);
			pos->phase_index = own->phase_index;
			pos->epoch = own->epoch;
			pos->batch = own->batch;
			pos->step = own->step;
			pos->seed = own->seed;
		}
	}
	if (m && own->present)
		m->rng = own->rng;
	if (!st)
		free(own);
	return m;
}

static int is_dir(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static void dir_of(const char *path, char *dir, size_t n)
{
	const char *s = strrchr(path, '/');
	if (!s)
		snprintf(dir, n, ".");
	else
		snprintf(dir, n, "%.*s", (int)(s - path), path);
}

static int set_args(thaw_run *r, int argc, char *const *argv)
{
	r->argv = thaw_calloc((size_t)argc + 1, sizeof *r->argv);
	if (!r->argv)
		return THAW_ENOMEM;
	for (int i = 0; i < argc; i++)
		if (!(r->argv[i] = strdup(argv[i] ? argv[i] : "")))
			return thaw_error(THAW_ENOMEM, "out of memory");
	r->argc = argc;
	return 0;
}

thaw_run *thaw_run_new(const thaw_run_opts *o)
{
	thaw_run *r = thaw_calloc(1, sizeof *r);
	if (!r)
		return NULL;
	thaw_run_opts none = {0};
	if (!o)
		o = &none;
	if (o->dir)
		snprintf(r->dir, sizeof r->dir, "%s", o->dir);
	if (o->checkpoint)
		snprintf(r->ckpt, sizeof r->ckpt, "%s", o->checkpoint);
	else if (o->dir)
		snprintf(r->ckpt, sizeof r->ckpt, "%s/checkpoint.thaw", o->dir);
	r->every = o->checkpoint_every > 0 ? o->checkpoint_every : 0;
	r->seed = o->seed;
	r->host = o->on_event;
	r->user = o->user;
	r->should_stop = o->should_stop;
	int rc = set_args(r, o->argc, o->argv);
	if (rc == 0 && o->resume) {
		if (is_dir(o->resume)) {
			snprintf(r->resume_dir, sizeof r->resume_dir, "%s", o->resume);
			snprintf(r->resume_ckpt, sizeof r->resume_ckpt, "%s/checkpoint.thaw", o->resume);
		} else {
			dir_of(o->resume, r->resume_dir, sizeof r->resume_dir);
			snprintf(r->resume_ckpt, sizeof r->resume_ckpt, "%s", o->resume);
		}
		int folder = is_dir(o->resume);
		if (folder) /* a writer killed mid-save left its temporary file behind */
			thaw_atomic_sweep_dir(r->resume_dir);
		struct stat sb;
		thaw_train_state *st = thaw_calloc(1, sizeof *st);
		thaw_model *m = NULL;
		if (stat(o->resume, &sb) != 0)
			rc = thaw_error(THAW_EIO, "resume: %s: no such run folder or checkpoint: %s", o->resume,
					strerror(errno));
		else if (folder && stat(r->resume_ckpt, &sb) != 0)
			rc = thaw_error(THAW_EIO,
					"resume: %s has no checkpoint yet: the run stopped before its first one "
					"(written at the end of the first epoch), so there is nothing to continue; "
					"start it afresh",
					o->resume);
		else if (!st || !(m = thaw_checkpoint_load(r->resume_ckpt, &r->resume_at, st)))
			rc = thaw_error(THAW_EIO, "resume: %s", thaw_errmsg());
		else if (r->resume_at.phase_index < 1)
			rc = thaw_error(THAW_EFORMAT, "resume: %s holds no training position", r->resume_ckpt);
		if (rc == 0) {
			r->resuming = 1;
			r->seed = r->resume_at.seed;
			if (o->argc == 0 && st->argc > 0) { /* the run's own arguments */
				for (int i = 0; i < r->argc; i++)
					free(r->argv[i]);
				free(r->argv);
				char *args[THAW_TRAIN_MAX_ARGS];
				for (int i = 0; i < st->argc; i++)
					args[i] = st->argv[i];
				rc = set_args(r, st->argc, args);
			}
		}
		thaw_model_free(m);
		free(st);
	}
	if (rc < 0) {
		thaw_run_free(r);
		return NULL;
	}
	return r;
}

void thaw_run_free(thaw_run *r)
{
	if (!r)
		return;
	for (int i = 0; r->argv && i < r->argc; i++)
		free(r->argv[i]);
	free(r->argv);
	free(r);
}

void thaw_run_set_sink(thaw_run *r, thaw_event_fn on_event, void *user)
{
	r->host = on_event;
	r->user = user;
}

const thaw_position *thaw_run_resume_point(const thaw_run *r)
{
	return r && r->resuming ? &r->resume_at : NULL;
}

uint64_t thaw_run_seed(const thaw_run *r) { return r->seed; }

int thaw_run_args(const thaw_run *r, char ***argv)
{
	*argv = r->argv;
	return r->argc;
}

int thaw_run_next_phase(const thaw_run *r) { return r->phases + 1; }

const char *thaw_run_dir(const thaw_run *r) { return r && r->dir[0] ? r->dir : NULL; }

void thaw_run_set_seed(thaw_run *r, uint64_t seed) { r->seed = seed; }

int thaw_run_should_stop(thaw_run *r) { return r && r->should_stop ? r->should_stop(r->user) : 0; }

int thaw_run_publish(thaw_run *r, const thaw_event *ev)
{
	/* under MPI the ranks train alike; rank 0 alone reports and writes */
	return r && r->host && thaw_dist_writer() ? r->host(ev, r->user) : 0;
}

void thaw_run_vlog(thaw_run *r, const char *fmt, va_list ap)
{
	char line[1024];
	vsnprintf(line, sizeof line, fmt, ap);
	thaw_event ev = {.kind = THAW_EV_LOG, .u.line = line};
	thaw_run_publish(r, &ev);
}

void thaw_run_log(thaw_run *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	thaw_run_vlog(r, fmt, ap);
	va_end(ap);
}

void thaw_run_save_failed(thaw_run *r, const char *file, const char *reason)
{
	if (!r || r->save_file[0])
		return;
	snprintf(r->save_file, sizeof r->save_file, "%s", file && *file ? file : "?");
	snprintf(r->save_error, sizeof r->save_error, "%s", reason ? reason : "");
}

const char *thaw_run_save_error(const thaw_run *r, const char **file)
{
	if (!r || !r->save_file[0])
		return NULL;
	if (file)
		*file = r->save_file;
	return r->save_error;
}

/* A save of the run's: a failure is recorded (the run fails) and left in
 * thaw_errmsg(). */
static int save(thaw_run *r, const char *path, const thaw_model *m)
{
	r->at.seed = r->seed;
	int rc = thaw_checkpoint_save(path, m, &r->at, r->argc, r->argv);
	if (rc < 0)
		thaw_run_save_failed(r, path, thaw_errmsg());
	return rc;
}

int thaw_run_checkpoint(thaw_run *r, const thaw_model *m)
{
	if (!r->ckpt[0] || !m || !thaw_dist_writer())
		return 0;
	return save(r, r->ckpt, m);
}

void thaw_run_warn(thaw_run *r, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	thaw_event ev = {.kind = THAW_EV_LOG, .warning = 1, .u.line = line};
	thaw_run_publish(r, &ev);
}

/* Divergence: a loss far above where the phase started. (A loss that is
 * not finite stops the phase in the trainer, THAW_ENAN: warned at its end.) */
static void watch_loss(thaw_run *r, const thaw_event *ev, const char *why)
{
	if (ev->kind == THAW_EV_BATCH && isnan(r->start_loss) && isfinite(ev->u.batch.loss)) {
		r->start_loss = ev->u.batch.loss;
	} else if (ev->kind == THAW_EV_EPOCH && !r->diverged && !isnan(r->start_loss)) {
		const thaw_epoch_stats *e = &ev->u.epoch;
		double limit = DIVERGE_FACTOR * (r->start_loss > DIVERGE_FLOOR ? r->start_loss : DIVERGE_FLOOR);
		if (!(e->train_loss <= limit)) {
			r->diverged = 1;
			thaw_run_warn(r,
				      "warning: %s epoch %d: the loss diverges: %.4g is over %g times its start "
				      "(%.4g); try a lower learning rate",
				      e->phase ? e->phase : "train", e->epoch, e->train_loss, DIVERGE_FACTOR,
				      r->start_loss);
		}
	} else if (ev->kind == THAW_EV_PHASE_END && ev->u.phase.error == THAW_ENAN) {
		thaw_run_warn(r, "warning: %s: %s", ev->u.phase.name ? ev->u.phase.name : "train", why);
	}
}

/* Every event of a phase: the position first, then the host's sinks, the
 * checkpoint, the caller's own handler. A checkpoint that cannot be
 * written stops the phase: training on would only lose more. */
static int on_event(const thaw_event *ev, void *user)
{
	thaw_run *r = user;
	int stop = 0;
	if (ev->kind == THAW_EV_BATCH) {
		r->at.batch = ev->u.batch.batch;
		r->at.step = ev->u.batch.step;
	} else if (ev->kind == THAW_EV_EPOCH) {
		r->at.epoch = ev->u.epoch.epoch;
		r->at.batch = 0;
		r->at.step = ev->u.epoch.step;
	}
	char why[1024] = ""; /* a failed phase's message, before a sink records another */
	if (ev->kind == THAW_EV_PHASE_END && ev->u.phase.error < 0)
		snprintf(why, sizeof why, "%s", thaw_errmsg());
	stop |= thaw_run_publish(r, ev);
	watch_loss(r, ev, why);
	if (r->checkpointing &&
	    ((ev->kind == THAW_EV_EPOCH) ||
	     (ev->kind == THAW_EV_BATCH && r->every > 0 && ev->u.batch.batch % r->every == 0 &&
	      ev->u.batch.batch < ev->u.batch.batches)) &&
	    thaw_run_checkpoint(r, r->model) < 0) {
		r->checkpointing = 0;
		stop = 1;
	}
	if (r->fit->on_event)
		stop |= r->fit->on_event(ev, r->fit->user);
	if (ev->kind == THAW_EV_BATCH && r->should_stop && r->should_stop(r->user)) {
		r->interrupted = 1;
		stop = 1;
	}
	return stop;
}

/* A phase of the run being resumed: a finished one is restored from its
 * phase-N.thaw (1); the one it stopped in continues from the checkpoint
 * (0, with *o set to continue); later ones train as usual (0). */
static int resume_phase(thaw_run *r, thaw_model *m, thaw_fit_opts *o, int phase)
{
	if (!r->resuming || phase > r->resume_at.phase_index)
		return 0;
	char path[PATH_LEN + 32];
	int done = phase < r->resume_at.phase_index;
	if (done)
		snprintf(path, sizeof path, "%s/phase-%d.thaw", r->resume_dir, phase);
	else
		snprintf(path, sizeof path, "%s", r->resume_ckpt);
	thaw_position pos;
	thaw_model *saved = thaw_checkpoint_load(path, &pos, NULL);
	if (!saved || thaw_model_copy_params(m, saved) < 0) {
		thaw_model_free(saved);
		return thaw_error(THAW_EIO, "resume: phase %d: %s", phase, thaw_errmsg());
	}
	m->rng = saved->rng;
	thaw_model_free(saved);
	if (done) {
		thaw_run_log(r, "resume: phase %d ('%s') restored from %s", phase, pos.phase, path);
		return 1;
	}
	o->first_epoch = pos.epoch + 1;
	o->skip_batches = pos.batch;
	o->first_step = (long)pos.step;
	r->resuming = 0; /* from here on the run goes on as usual */
	thaw_run_log(r, "resume: phase %d ('%s') continues at epoch %d, batch %d", phase, pos.phase, o->first_epoch,
		     o->skip_batches + 1);
	return 0;
}

int thaw_run_fit(thaw_run *r, thaw_model *m, const thaw_dataset *d, const thaw_fit_opts *fo, int checkpoint,
		 thaw_phase_result *res)
{
	thaw_phase_result none;
	if (!res)
		res = &none;
	memset(res, 0, sizeof *res);
	if (!r || !m || !d || !fo)
		return thaw_error(THAW_EINVAL, "run: needs a run, a model, data and options");
	thaw_fit_opts o = *fo;
	int phase = ++r->phases;
	o.phase_index = phase;
	int rc = resume_phase(r, m, &o, phase);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		res->restored = 1;
		res->epochs = o.epochs;
		return 0;
	}
	memset(&r->at, 0, sizeof r->at);
	snprintf(r->at.phase, sizeof r->at.phase, "%s", o.phase ? o.phase : "train");
	r->at.phase_index = phase;
	r->at.epoch = o.first_epoch > 1 ? o.first_epoch - 1 : 0;
	r->at.batch = o.skip_batches;
	r->at.step = o.first_step;
	r->fit = fo;
	r->model = m;
	r->interrupted = 0;
	r->checkpointing = checkpoint && r->ckpt[0];
	r->start_loss = NAN;
	r->diverged = 0;
	int failed_before = r->save_file[0] != 0;
	o.on_event = on_event;
	o.user = r;
	rc = thaw_fit(m, d, &o);
	r->fit = NULL;
	if (rc >= 0) /* MPI: all stopped at the same batch; was it an interrupt anywhere? */
		r->interrupted = thaw_dist_max_int(r->interrupted);
	res->epochs = rc < 0 ? r->at.epoch : rc;
	res->interrupted = r->interrupted;
	res->stopped = rc >= 0 && rc < o.epochs;
	if (!failed_before && r->save_file[0]) /* a checkpoint failed: the phase stopped there */
		return thaw_error(THAW_EIO, "%s", r->save_error);
	if (r->interrupted) {
		if (!r->ckpt[0])
			return THAW_ESTOP;
		if (thaw_run_checkpoint(r, m) < 0)
			return THAW_EIO;
		thaw_run_log(r, "interrupted: checkpoint at %s, epoch %d, batch %d", r->at.phase, r->at.epoch + 1,
			     r->at.batch);
		return THAW_ESTOP;
	}
	if (rc < 0)
		return rc;
	if (checkpoint && r->dir[0] && thaw_dist_writer()) {
		char path[PATH_LEN + 32];
		snprintf(path, sizeof path, "%s/phase-%d.thaw", r->dir, phase);
		r->at.batch = 0;
		if (save(r, path, m) < 0)
			return THAW_EIO;
	}
	return 0;
}
