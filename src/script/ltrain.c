/* Training in Lua: thaw.fit drives thaw_fit, reports to the host's hooks and
 * checkpoints into the run folder; evaluate, predict, transfer and the
 * small run helpers (check, seed, clock, run_dir, asset). */
#include <stdio.h>
#include <string.h>

#include "thaw/paths.h"
#include "thaw/predict.h"
#include "thaw/transfer.h"

#include "lthaw.h"

/* ---- training */

/* Remembers the model at stack index i as the run's model. */
static void set_last_model(lua_State *L, thaw_script *s, int i)
{
	lua_pushvalue(L, i);
	if (s->last_model == LUA_NOREF) {
		s->last_model = luaL_ref(L, LUA_REGISTRYINDEX);
	} else {
		lua_rawseti(L, LUA_REGISTRYINDEX, s->last_model);
	}
}

/* d shaped for m: d itself, or a converted copy held by a userdata pushed
 * on the stack (so an error cannot leak it); the log says what changed. */
static thaw_dataset *conform(lua_State *L, thaw_model *m, thaw_dataset *d, const char *what)
{
	if (d->c == m->input.c && d->h == m->input.h && d->w == m->input.w) {
		lua_pushnil(L);
		return d;
	}
	char desc[256];
	ldata *u = lthaw_newdata(L);
	if (!(u->d = thaw_dataset_to_spec(d, &m->input, desc, sizeof desc)))
		lthaw_fail(L);
	lthaw_logf(lthaw_host(L), "%s data '%s': %s", what, d->source, desc);
	return u->d;
}

/* Saves m with where training stands: `epochs` finished in phase `phase`
 * plus `batch` batches of the next epoch. */
static int save_checkpoint(thaw_script *s, const thaw_model *m, int phase, const char *name,
			   int epochs, int batch, long step, int final)
{
	if (!s->run_dir[0])
		return 0;
	thaw_train_state st;
	memset(&st, 0, sizeof st);
	snprintf(st.phase, sizeof st.phase, "%s", name);
	st.epoch = epochs;
	st.step = step;
	st.rng = m->rng;
	snprintf(st.optimizer, sizeof st.optimizer, "phase_index=%d batch=%d", phase, batch);
	char path[PATH_MAX_ + 32];
	lthaw_checkpoint_path(path, sizeof path, s->run_dir, final ? phase : 0);
	return thaw_model_save(m, path, &st);
}

typedef struct fit_ctx {
	lua_State *L;
	thaw_script *s;
	thaw_model *m;
	int on_batch, on_epoch; /* registry refs of the Lua callbacks */
	int hist;               /* stack index of the history table */
	int err;                /* a callback raised (message on the stack top) */
	int interrupted;
	int phase_index, checkpoint;
	const char *phase;
	int epochs_done, batches_done;
	long step;
} fit_ctx;

/* Calls a Lua callback with a stats table (on top); nonzero stops the phase. */
static int call_back(fit_ctx *c, int ref)
{
	lua_State *L = c->L;
	lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
	lua_insert(L, -2);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
		c->err = 1; /* the message stays on the stack */
		return 1;
	}
	int stop = lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1);
	lua_pop(L, 1);
	return stop;
}

static void set_num(lua_State *L, const char *k, double v)
{
	lua_pushnumber(L, v);
	lua_setfield(L, -2, k);
}

static void set_int(lua_State *L, const char *k, lua_Integer v)
{
	lua_pushinteger(L, v);
	lua_setfield(L, -2, k);
}

static int fit_on_batch(const thaw_batch_stats *bs, void *user)
{
	fit_ctx *c = user;
	c->batches_done = bs->batch;
	c->step = bs->step;
	if (c->s->h.on_batch)
		c->s->h.on_batch(bs, c->s->h.user);
	if (c->s->h.should_stop && c->s->h.should_stop(c->s->h.user)) {
		c->interrupted = 1;
		return 1;
	}
	if (c->on_batch == LUA_NOREF)
		return 0;
	lua_State *L = c->L;
	lua_createtable(L, 0, 8);
	lua_pushstring(L, bs->phase);
	lua_setfield(L, -2, "phase");
	set_int(L, "epoch", bs->epoch);
	set_int(L, "batch", bs->batch);
	set_int(L, "batches", bs->batches);
	set_num(L, "loss", bs->loss);
	set_num(L, "accuracy", bs->acc);
	set_num(L, "img_s", bs->img_s);
	set_num(L, "lr", bs->lr);
	set_int(L, "step", bs->step);
	return call_back(c, c->on_batch);
}

static void push_epoch(lua_State *L, const thaw_epoch_stats *es)
{
	lua_createtable(L, 0, 10);
	lua_pushstring(L, es->phase);
	lua_setfield(L, -2, "phase");
	set_int(L, "epoch", es->epoch);
	set_num(L, "loss", es->train_loss);
	set_num(L, "accuracy", es->train_acc);
	if (es->val_acc >= 0) {
		set_num(L, "val_loss", es->val_loss);
		set_num(L, "val_accuracy", es->val_acc);
	}
	set_num(L, "seconds", es->seconds);
	set_num(L, "img_s", es->img_s);
	set_num(L, "lr", es->lr);
	set_int(L, "step", es->step);
}

static int fit_on_epoch(const thaw_epoch_stats *es, void *user)
{
	fit_ctx *c = user;
	lua_State *L = c->L;
	c->epochs_done = es->epoch;
	c->batches_done = 0;
	c->step = es->step;
	push_epoch(L, es);
	lua_seti(L, c->hist, (lua_Integer)luaL_len(L, c->hist) + 1);
	if (c->s->h.on_epoch)
		c->s->h.on_epoch(es, c->m, c->s->h.user);
	if (c->checkpoint &&
	    save_checkpoint(c->s, c->m, c->phase_index, c->phase, es->epoch, 0, es->step, 0) < 0)
		lthaw_logf(c->s, "warning: checkpoint not written: %s", thaw_errmsg());
	if (c->on_epoch == LUA_NOREF)
		return 0;
	push_epoch(L, es);
	return call_back(c, c->on_epoch);
}

static void fit_on_log(const char *line, void *user)
{
	fit_ctx *c = user;
	lthaw_logf(c->s, "%s", line);
}

static int callback_ref(lua_State *L, int t, const char *k)
{
	lua_getfield(L, t, k);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return LUA_NOREF;
	}
	if (!lua_isfunction(L, -1))
		luaL_error(L, "thaw.fit: '%s' must be a function", k);
	return luaL_ref(L, LUA_REGISTRYINDEX);
}

/* Restores a phase of a resumed run from the run folder being resumed.
 * Returns 1 when the phase is complete (skip training), 0 to train. */
static int resume_phase(lua_State *L, thaw_script *s, thaw_model *m, thaw_fit_opts *o, int phase)
{
	if (s->resume_phase == 0 || phase > s->resume_phase)
		return 0;
	char path[PATH_MAX_ + 32];
	thaw_train_state st;
	int done = phase < s->resume_phase;
	lthaw_checkpoint_path(path, sizeof path, s->resume_dir, done ? phase : 0);
	thaw_model *saved = thaw_model_load(path, &st);
	if (!saved || thaw_model_copy_params(m, saved) < 0) {
		thaw_model_free(saved);
		luaL_error(L, "resume: phase %d: %s", phase, thaw_errmsg());
	}
	thaw_model_free(saved);
	if (done) {
		lthaw_logf(s, "resume: phase %d ('%s') restored from %s", phase, st.phase, path);
		return 1;
	}
	m->rng = st.rng;
	o->first_epoch = st.epoch + 1;
	o->skip_batches = s->resume_batch;
	o->first_step = (long)st.step;
	s->resume_phase = 0; /* from here on the run goes on as normal */
	lthaw_logf(s, "resume: phase %d ('%s') continues at epoch %d, batch %d", phase, st.phase,
	      o->first_epoch, o->skip_batches + 1);
	return 0;
}

static const char *const fit_keys[] = {
	"phase",  "epochs",       "batch",    "optimizer", "lr",        "momentum", "nesterov",
	"beta1",  "beta2",        "weight_decay", "clip_norm", "schedule", "warmup", "min_lr",
	"step_size", "gamma",     "smoothing", "seed",     "shift",     "flip",     "val",
	"patience", "restore_best", "checkpoint", "cache", "on_batch", "on_epoch", NULL};

/* thaw.fit(model, data, opts) -> history */
static int l_fit(lua_State *L)
{
	thaw_script *s = lthaw_host(L);
	if (s->interrupted) /* the script caught the interrupt and went on */
		return luaL_error(L, "%s", INTERRUPTED);
	thaw_model *m = lthaw_checkidle(L, 1);
	thaw_dataset *d = lthaw_checkdata(L, 2);
	if (lua_isnoneornil(L, 3))
		lua_newtable(L);
	lua_settop(L, 3);
	lthaw_check_keys(L, 3, "thaw.fit", fit_keys);
	thaw_fit_opts o = thaw_fit_opts_default();
	int phase_index = s->fit_index + 1; /* counted once the options are good */
	char phase_buf[64];
	snprintf(phase_buf, sizeof phase_buf, "phase%d", phase_index);
	o.phase = lthaw_opt_str(L, 3, "phase", phase_buf);
	o.phase_index = phase_index;
	o.epochs = lthaw_opt_int(L, 3, "epochs", 1);
	o.batch = lthaw_opt_int(L, 3, "batch", 64);
	const char *on = lthaw_opt_str(L, 3, "optimizer", "adam");
	int ok = thaw_optim_from_name(on);
	if (ok < 0)
		return luaL_error(L, "thaw.fit: unknown optimizer '%s' (sgd, adam, adamw)", on);
	o.optim = thaw_optim_default((thaw_optim_kind)ok);
	o.optim.lr = (float)lthaw_opt_num(L, 3, "lr", o.optim.lr);
	o.optim.momentum = (float)lthaw_opt_num(L, 3, "momentum", o.optim.momentum);
	o.optim.nesterov = lthaw_opt_bool(L, 3, "nesterov", 0);
	o.optim.beta1 = (float)lthaw_opt_num(L, 3, "beta1", o.optim.beta1);
	o.optim.beta2 = (float)lthaw_opt_num(L, 3, "beta2", o.optim.beta2);
	o.optim.weight_decay = (float)lthaw_opt_num(L, 3, "weight_decay", o.optim.weight_decay);
	o.optim.clip_norm = (float)lthaw_opt_num(L, 3, "clip_norm", 0);
	if (thaw_optim_check(&o.optim) < 0)
		return lthaw_fail(L);
	const char *sn = lthaw_opt_str(L, 3, "schedule", "constant");
	int sk = thaw_sched_from_name(sn);
	if (sk < 0)
		return luaL_error(L, "thaw.fit: unknown schedule '%s' (constant, step, cosine, onecycle)", sn);
	o.sched = thaw_sched_default((thaw_sched_kind)sk);
	o.sched.warmup_steps = lthaw_opt_int(L, 3, "warmup", 0);
	o.sched.min_lr = (float)lthaw_opt_num(L, 3, "min_lr", 0);
	o.sched.step_size = lthaw_opt_int(L, 3, "step_size", 0);
	o.sched.gamma = (float)lthaw_opt_num(L, 3, "gamma", o.sched.gamma);
	o.smoothing = (float)lthaw_opt_num(L, 3, "smoothing", 0);
	o.seed = lthaw_opt_seed(L, 3, "seed", s->seed + (uint64_t)phase_index);
	o.shift = lthaw_opt_int(L, 3, "shift", 0);
	o.flip = lthaw_opt_bool(L, 3, "flip", 0);
	o.patience = lthaw_opt_int(L, 3, "patience", 0);
	o.restore_best = lthaw_opt_bool(L, 3, "restore_best", 0);
	if (o.epochs <= 0 || o.batch <= 0)
		return luaL_error(L, "thaw.fit: epochs (%d) and batch (%d) must be positive", o.epochs, o.batch);
	if (o.sched.kind == THAW_SCHED_STEP && o.sched.step_size <= 0)
		return luaL_error(L, "thaw.fit: schedule 'step' needs step_size (in steps)");
	lua_getfield(L, 3, "val");
	int has_val = !lua_isnil(L, -1);
	lua_pop(L, 1);
	if (o.patience > 0 && !has_val)
		return luaL_error(L, "thaw.fit: patience needs validation data (val = ...)");
	s->fit_index = phase_index;
	set_last_model(L, s, 1);
	d = conform(L, m, d, "training"); /* stack 4 */
	lua_getfield(L, 3, "val");
	if (!lua_isnil(L, -1)) {
		thaw_dataset *v = lthaw_checkdata(L, lua_gettop(L));
		o.val = conform(L, m, v, "validation"); /* stack 6 */
	} else {
		lua_pushnil(L);
	}
	fit_ctx c = {.L = L, .s = s, .m = m, .phase_index = phase_index, .phase = o.phase};
	c.checkpoint = lthaw_opt_bool(L, 3, "checkpoint", 1);
	c.on_batch = callback_ref(L, 3, "on_batch");
	c.on_epoch = callback_ref(L, 3, "on_epoch");
	lua_newtable(L);
	c.hist = lua_gettop(L);
	o.on_batch = fit_on_batch;
	o.on_epoch = fit_on_epoch;
	o.on_log = fit_on_log;
	o.user = &c;
	o.feature_cache = lthaw_opt_bool(L, 3, "cache", 1) ? 0 : -1;
	if (resume_phase(L, s, m, &o, phase_index)) {
		lua_pushstring(L, o.phase);
		lua_setfield(L, c.hist, "phase");
		lua_pushboolean(L, 1);
		lua_setfield(L, c.hist, "resumed");
		return 1;
	}
	c.epochs_done = o.first_epoch > 1 ? o.first_epoch - 1 : 0;
	/* thaw_fit gives a new head the data's class names (and logs it) */
	/* callbacks may freeze layers but not free or reshape what trains */
	lmodel *um = lua_touserdata(L, 1);
	ldata *ud = lua_touserdata(L, 2), *uv = has_val ? luaL_testudata(L, 5, DATA_MT) : NULL;
	um->busy++, ud->busy++;
	if (uv)
		uv->busy++;
	int rc = thaw_fit(m, d, &o);
	um->busy--, ud->busy--;
	if (uv)
		uv->busy--;
	luaL_unref(L, LUA_REGISTRYINDEX, c.on_batch);
	luaL_unref(L, LUA_REGISTRYINDEX, c.on_epoch);
	if (c.interrupted || s->interrupted) { /* also from the hook inside a callback */
		s->interrupted = 1;
		if (save_checkpoint(s, m, phase_index, o.phase, c.epochs_done, c.batches_done, c.step, 0) < 0)
			lthaw_logf(s, "warning: checkpoint not written: %s", thaw_errmsg());
		else if (s->run_dir[0])
			lthaw_logf(s, "interrupted: checkpoint at %s, epoch %d, batch %d", o.phase, c.epochs_done + 1,
			      c.batches_done);
		return luaL_error(L, "%s", INTERRUPTED);
	}
	if (c.err)
		return lua_error(L); /* the callback's message is on top */
	if (rc < 0)
		return lthaw_fail(L);
	if (save_checkpoint(s, m, phase_index, o.phase, c.epochs_done, 0, c.step, 1) < 0)
		lthaw_logf(s, "warning: phase checkpoint not written: %s", thaw_errmsg());
	lua_pushstring(L, o.phase);
	lua_setfield(L, c.hist, "phase");
	lua_pushinteger(L, rc);
	lua_setfield(L, c.hist, "epochs");
	lua_pushboolean(L, rc < o.epochs);
	lua_setfield(L, c.hist, "stopped_early");
	return 1;
}

/* thaw.evaluate(model, data [, {name=, batch=}]) -> {loss, accuracy, ...} */
static int l_evaluate(lua_State *L)
{
	static const char *const keys[] = {"name", "batch", "topk", NULL};
	thaw_script *s = lthaw_host(L);
	thaw_model *m = lthaw_checkmodel(L, 1);
	thaw_dataset *d = lthaw_checkdata(L, 2);
	lua_settop(L, 3);
	lthaw_check_keys(L, 3, "thaw.evaluate", keys);
	char defname[32];
	snprintf(defname, sizeof defname, "eval%d", ++s->evals);
	const char *name = lthaw_opt_str(L, 3, "name", defname);
	int batch = lthaw_opt_int(L, 3, "batch", 256), topk = lthaw_opt_int(L, 3, "topk", 5);
	d = conform(L, m, d, "evaluation");
	if (s->last_model == LUA_NOREF)
		set_last_model(L, s, 1);
	int K = (int)thaw_shape_sample(thaw_model_output_shape(m));
	thaw_metrics *mt = thaw_metrics_new(K, topk);
	if (!mt)
		return lthaw_fail(L);
	if (thaw_evaluate(m, d, batch, mt) < 0) {
		thaw_metrics_free(mt);
		return lthaw_fail(L);
	}
	/* class names: the data's, else the model's */
	char **names = d->n_classes == K ? d->class_names : m->n_classes == K ? m->class_names : NULL;
	if (s->h.on_eval)
		s->h.on_eval(name, mt, (const char *const *)names, m, d, s->h.user);
	lua_createtable(L, 0, 8);
	set_num(L, "loss", thaw_metrics_loss(mt));
	set_num(L, "accuracy", thaw_metrics_accuracy(mt));
	set_num(L, "topk", thaw_metrics_topk(mt));
	set_int(L, "n", mt->n);
	lua_pushstring(L, name);
	lua_setfield(L, -2, "name");
	lua_createtable(L, K, 0);
	for (int k = 0; k < K; k++) {
		lua_pushnumber(L, thaw_metrics_class_accuracy(mt, k));
		lua_seti(L, -2, k + 1);
	}
	lua_setfield(L, -2, "per_class");
	lua_createtable(L, K, 0);
	for (int i = 0; i < K; i++) {
		lua_createtable(L, K, 0);
		for (int j = 0; j < K; j++) {
			lua_pushinteger(L, mt->confusion[(size_t)i * K + j]);
			lua_seti(L, -2, j + 1);
		}
		lua_seti(L, -2, i + 1);
	}
	lua_setfield(L, -2, "confusion");
	thaw_metrics_free(mt);
	return 1;
}

/* thaw.predict(model, data, i) -> class, confidence, name (image i, 1-based);
 * thaw.predict(model, data) -> {classes}, {confidences} for every image;
 * thaw.predict(model, "photo.png") -> class, confidence, name for an image
 * file, read at the model's own size and normalisation.
 * Classes are the model's output indices (0-based, like data labels); the
 * name is the model's (else the data's) class name, "" when neither has one. */
static int l_predict(lua_State *L)
{
	thaw_model *m = lthaw_checkmodel(L, 1);
	int K = thaw_model_class_count(m);
	if (K < 0)
		return lthaw_fail(L);
	thaw_prediction one;
	if (lua_type(L, 2) == LUA_TSTRING) {
		const char *path = lua_tostring(L, 2);
		if (thaw_predict_file(m, path, &one, 0, NULL, NULL) < 0)
			return lthaw_fail(L);
		lua_pushinteger(L, one.cls);
		lua_pushnumber(L, one.conf);
		lua_pushstring(L, m->n_classes == K ? m->class_names[one.cls] : "");
		return 3;
	}
	thaw_dataset *d = lthaw_checkdata(L, 2);
	int many = lua_isnoneornil(L, 3);
	int idx = many ? 0 : (int)luaL_checkinteger(L, 3);
	if (!many)
		luaL_argcheck(L, idx >= 1 && idx <= d->n, 3, "image index outside 1..#data");
	lua_settop(L, 3);
	d = conform(L, m, d, "prediction"); /* stack 4 */
	const char *const *names = m->n_classes == K	? (const char *const *)m->class_names
				   : d->n_classes == K ? (const char *const *)d->class_names
							: NULL;
	if (!many) {
		thaw_dataset *sub = thaw_dataset_subset(d, (int[]){idx - 1}, 1);
		int rc = sub ? thaw_predict(m, sub, 1, &one, 0, NULL, NULL) : THAW_ENOMEM;
		thaw_dataset_free(sub);
		if (rc < 0)
			return lthaw_fail(L);
		lua_pushinteger(L, one.cls);
		lua_pushnumber(L, one.conf);
		lua_pushstring(L, names ? names[one.cls] : "");
		return 3;
	}
	thaw_prediction *p = lua_newuserdatauv(L, sizeof *p * (size_t)(d->n ? d->n : 1), 0);
	if (thaw_predict(m, d, 256, p, 0, NULL, NULL) < 0)
		return lthaw_fail(L);
	lua_createtable(L, d->n, 0);
	lua_createtable(L, d->n, 0);
	for (int i = 0; i < d->n; i++) {
		lua_pushinteger(L, p[i].cls);
		lua_seti(L, -3, i + 1);
		lua_pushnumber(L, p[i].conf);
		lua_seti(L, -2, i + 1);
	}
	return 2;
}

/* thaw.transfer(model, data [, {cut =, head =, freeze =, force =}]): the
 * transfer recipe of thaw_transfer (include/thaw/transfer.h) on the model
 * in place. Returns the list of lines saying what it did and whether the
 * model got a new head. */
static int l_transfer(lua_State *L)
{
	static const char *const keys[] = {"cut", "head", "freeze", "force", NULL};
	thaw_model *m = lthaw_checkidle(L, 1);
	thaw_dataset *d = lthaw_checkdata(L, 2);
	lthaw_check_keys(L, 3, "thaw.transfer", keys);
	thaw_transfer_opts o = thaw_transfer_opts_default();
	o.cut = lthaw_opt_str(L, 3, "cut", NULL);
	o.head_name = lthaw_opt_str(L, 3, "head", NULL);
	o.freeze = lthaw_opt_bool(L, 3, "freeze", 1);
	o.force = lthaw_opt_bool(L, 3, "force", 0);
	lua_createtable(L, 8, 0); /* made first: nothing below raises while the notes are held */
	thaw_notes nt = {0};
	int rc = thaw_transfer(m, d, &o, &nt);
	for (int i = 0; i < nt.n; i++) {
		lua_pushstring(L, nt.line[i]);
		lua_rawseti(L, -2, i + 1);
	}
	thaw_notes_free(&nt);
	if (rc < 0)
		return lthaw_fail(L);
	lua_pushboolean(L, rc == 1);
	return 2;
}

/* thaw.run_dir(): the run folder of `thaw run` (nil when there is none). */
static int l_run_dir(lua_State *L)
{
	thaw_script *s = lthaw_host(L);
	if (s->run_dir[0])
		lua_pushstring(L, s->run_dir);
	else
		lua_pushnil(L);
	return 1;
}

/* thaw.clock(): seconds from a monotonic clock, for timing phases. */
static int l_clock(lua_State *L)
{
	lua_pushnumber(L, thaw_now());
	return 1;
}

/* thaw.asset(name): the path of a file shipped in thaw's assets/ (beside
 * the binary in a build tree, or installed); raises, naming every place
 * it looked, when there is none. */
static int l_asset(lua_State *L)
{
	char path[PATH_MAX_];
	if (thaw_asset_path(luaL_checkstring(L, 1), path, sizeof path) < 0)
		return lthaw_fail(L);
	lua_pushstring(L, path);
	return 1;
}

static int l_seed(lua_State *L)
{
	thaw_script *s = lthaw_host(L);
	if (!lua_isnoneornil(L, 1))
		s->seed = (uint64_t)luaL_checkinteger(L, 1);
	lua_pushinteger(L, (lua_Integer)s->seed);
	return 1;
}

/* thaw.check(cond, message): records the result; a failed check makes the
 * run exit with code 2 at the end, but the script goes on (every check is
 * reported, every output written). */
static int l_check(lua_State *L)
{
	thaw_script *s = lthaw_host(L);
	luaL_checkany(L, 1);
	int ok = lua_toboolean(L, 1);
	const char *msg = luaL_optstring(L, 2, "check");
	lua_Debug ar;
	char where[256] = "?";
	if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar))
		snprintf(where, sizeof where, "%s:%d", ar.short_src, ar.currentline);
	if (ok) {
		s->checks_ok++;
		lthaw_logf(s, "check passed: %s", msg);
	} else {
		s->checks_failed++;
		lthaw_logf(s, "check FAILED: %s (%s)", msg, where);
		size_t len = strlen(s->err);
		snprintf(s->err + len, sizeof s->err - len, "%scheck failed: %s (%s)", len ? "\n" : "", msg,
			 where);
	}
	lua_pushboolean(L, ok);
	return 1;
}

void lthaw_open_train(lua_State *L)
{
	static const luaL_Reg fns[] = {{"fit", l_fit},         {"evaluate", l_evaluate}, {"predict", l_predict},
				       {"transfer", l_transfer}, {"seed", l_seed},       {"run_dir", l_run_dir},
				       {"clock", l_clock},     {"asset", l_asset},       {"check", l_check},
				       {NULL, NULL}};
	luaL_setfuncs(L, fns, 0);
}
