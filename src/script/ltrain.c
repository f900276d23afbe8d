/* Training in Lua: thaw.fit reads its options through the table of training
 * options and trains through the host's thaw_run (events to the host's
 * sinks, checkpoints, resume); evaluate, predict, transfer and the small
 * run helpers (check, seed, clock, run_dir, asset). */
#include <stdio.h>
#include <string.h>

#include "thaw/options.h"
#include "thaw/paths.h"
#include "thaw/predict.h"
#include "thaw/text.h"
#include "thaw/transfer.h"

#include "thaw/dist.h"

#include "lthaw.h"

/* ---- training */

/* Remembers the model at stack index i as the run's model. */
void lthaw_set_last_model(lua_State *L, thaw_script *s, int i)
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
thaw_dataset *lthaw_conform(lua_State *L, thaw_model *m, thaw_dataset *d, const char *what)
{
	if (thaw_dataset_fits_model(d, m)) {
		lua_pushnil(L);
		return d;
	}
	char desc[256];
	ldata *u = lthaw_newdata(L);
	if (!(u->d = thaw_dataset_for_model(d, m, desc, sizeof desc)))
		lthaw_fail(L);
	lthaw_logf(lthaw_host(L), "%s data '%s': %s", what, d->source, desc);
	return u->d;
}

typedef struct fit_ctx {
	lua_State *L;
	int on_batch, on_epoch; /* registry refs of the Lua callbacks */
	int hist;               /* stack index of the history table */
	int err;                /* a callback raised (message on the stack top) */
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

static int fit_on_batch(fit_ctx *c, const thaw_batch_stats *bs)
{
	if (c->on_batch == LUA_NOREF)
		return 0;
	lua_State *L = c->L;
	lua_createtable(L, 0, 8);
	lthaw_set_str(L, "phase", bs->phase);
	lthaw_set_int(L, "epoch", bs->epoch);
	lthaw_set_int(L, "batch", bs->batch);
	lthaw_set_int(L, "batches", bs->batches);
	lthaw_set_num(L, "loss", bs->loss);
	lthaw_set_num(L, "accuracy", bs->acc);
	lthaw_set_num(L, "img_s", bs->img_s);
	lthaw_set_num(L, "lr", bs->lr);
	lthaw_set_int(L, "step", bs->step);
	return call_back(c, c->on_batch);
}

void lthaw_push_epoch(lua_State *L, const thaw_epoch_stats *es)
{
	lua_createtable(L, 0, 10);
	lthaw_set_str(L, "phase", es->phase);
	lthaw_set_int(L, "epoch", es->epoch);
	lthaw_set_num(L, "loss", es->train_loss);
	lthaw_set_num(L, "accuracy", es->train_acc);
	if (es->val_acc >= 0) {
		lthaw_set_num(L, "val_loss", es->val_loss);
		lthaw_set_num(L, "val_accuracy", es->val_acc);
	}
	lthaw_set_num(L, "seconds", es->seconds);
	lthaw_set_num(L, "img_s", es->img_s);
	lthaw_set_num(L, "lr", es->lr);
	lthaw_set_int(L, "step", es->step);
}

static int fit_on_epoch(fit_ctx *c, const thaw_epoch_stats *es)
{
	lua_State *L = c->L;
	lthaw_push_epoch(L, es);
	lua_seti(L, c->hist, (lua_Integer)luaL_len(L, c->hist) + 1);
	if (c->on_epoch == LUA_NOREF)
		return 0;
	lthaw_push_epoch(L, es);
	return call_back(c, c->on_epoch);
}

/* The phase's own events, after the host's sinks had them: the history
 * and the script's callbacks. */
static int fit_on_event(const thaw_event *ev, void *user)
{
	fit_ctx *c = user;
	if (c->err)
		return 1;
	if (ev->kind == THAW_EV_BATCH)
		return fit_on_batch(c, &ev->u.batch);
	if (ev->kind == THAW_EV_EPOCH)
		return fit_on_epoch(c, &ev->u.epoch);
	return 0;
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

/* thaw.fit's options through the table of training options
 * (thaw/options.h): the names, types, ranges and order of application
 * thaw train's flags have. val, callbacks and checkpoint are read apart. */
static void fit_options(lua_State *L, int t, thaw_fit_opts *o)
{
	int n;
	const thaw_option *tab = thaw_options(&n);
	for (int k = 0; k < n; k++) {
		const thaw_option *op = &tab[k];
		if (op->type == THAW_OPT_DATA || op->type == THAW_OPT_FUNCTION || !strcmp(op->name, "checkpoint"))
			continue;
		if (lua_getfield(L, t, op->name) == LUA_TNIL) {
			lua_pop(L, 1);
			continue;
		}
		thaw_option_value v = {.type = op->type};
		int isnum = 1;
		switch (op->type) {
		case THAW_OPT_INT:
		case THAW_OPT_SEED: {
			lua_Integer i = lua_tointegerx(L, -1, &isnum);
			if (!isnum)
				luaL_error(L, "option '%s' must be an integer (got %s)", op->name, luaL_typename(L, -1));
			v.i = i;
			v.u = (uint64_t)i; /* a seed: any integer Lua holds (64 bits) */
			break;
		}
		case THAW_OPT_NUM:
			v.x = lua_tonumberx(L, -1, &isnum);
			if (!isnum)
				luaL_error(L, "option '%s' must be a number (got %s)", op->name, luaL_typename(L, -1));
			break;
		case THAW_OPT_BOOL:
			v.i = lua_toboolean(L, -1);
			break;
		default: /* CHOICE, STRING */
			if (!(v.s = lua_tostring(L, -1)))
				luaL_error(L, "option '%s' must be a string (got %s)", op->name, luaL_typename(L, -1));
			if (op->type == THAW_OPT_CHOICE && thaw_option_parse(op->name, v.s, &v) < 0)
				luaL_error(L, "thaw.fit: %s", thaw_errmsg());
			break;
		}
		if (thaw_option_apply(o, op->name, &v) < 0)
			luaL_error(L, "thaw.fit: %s", thaw_errmsg());
		lua_pop(L, 1); /* strings stay valid: the table holds them */
	}
}

/* The keys thaw.fit takes: the table's names, NULL-terminated. */
static const char *const *fit_keys(void)
{
	static const char *keys[64];
	if (!keys[0]) {
		int n;
		const thaw_option *t = thaw_options(&n);
		for (int k = 0; k < n && k < 63; k++)
			keys[k] = t[k].name;
	}
	return keys;
}

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
	lthaw_check_keys(L, 3, "thaw.fit", fit_keys());
	thaw_fit_opts o = thaw_fit_opts_default();
	int phase_index = thaw_run_next_phase(s->run); /* counted once the phase runs */
	char phase_buf[64];
	snprintf(phase_buf, sizeof phase_buf, "phase%d", phase_index);
	o.phase = phase_buf;
	o.seed = s->seed + (uint64_t)phase_index;
	fit_options(L, 3, &o);
	if (thaw_optim_check(&o.optim) < 0)
		return lthaw_fail(L);
	if (o.sched.kind == THAW_SCHED_STEP && o.sched.step_size <= 0)
		return luaL_error(L, "thaw.fit: schedule 'step' needs step_size (in steps)");
	lua_getfield(L, 3, "val");
	int has_val = !lua_isnil(L, -1);
	lua_pop(L, 1);
	if (o.patience > 0 && !has_val)
		return luaL_error(L, "thaw.fit: patience needs validation data (val = ...)");
	s->fit_index = phase_index;
	lthaw_set_last_model(L, s, 1);
	d = lthaw_conform(L, m, d, "training"); /* stack 4 */
	lua_getfield(L, 3, "val");
	if (!lua_isnil(L, -1)) {
		thaw_dataset *v = lthaw_checkdata(L, lua_gettop(L));
		o.val = lthaw_conform(L, m, v, "validation"); /* stack 6 */
	} else {
		lua_pushnil(L);
	}
	fit_ctx c = {.L = L};
	int checkpoint = lthaw_opt_bool(L, 3, "checkpoint", 1);
	c.on_batch = callback_ref(L, 3, "on_batch");
	c.on_epoch = callback_ref(L, 3, "on_epoch");
	lua_newtable(L);
	c.hist = lua_gettop(L);
	o.on_event = fit_on_event;
	o.user = &c;
	/* thaw_fit gives a new head the data's class names (and logs it) */
	/* callbacks may freeze layers but not free or reshape what trains */
	lmodel *um = lua_touserdata(L, 1);
	ldata *ud = lua_touserdata(L, 2), *uv = has_val ? luaL_testudata(L, 5, DATA_MT) : NULL;
	um->busy++, ud->busy++;
	if (uv)
		uv->busy++;
	thaw_phase_result res;
	s->in_fit++;
	int rc = thaw_run_fit(s->run, m, d, &o, checkpoint, &res);
	s->in_fit--;
	um->busy--, ud->busy--;
	if (uv)
		uv->busy--;
	luaL_unref(L, LUA_REGISTRYINDEX, c.on_batch);
	luaL_unref(L, LUA_REGISTRYINDEX, c.on_epoch);
	if (res.interrupted || s->interrupted) { /* also from the hook inside a callback */
		if (!res.interrupted && thaw_run_checkpoint(s->run, m) < 0)
			lthaw_logf(s, "warning: checkpoint not written: %s", thaw_errmsg());
		s->interrupted = 1;
		return luaL_error(L, "%s", INTERRUPTED);
	}
	if (c.err)
		return lua_error(L); /* the callback's message is on top */
	if (rc < 0)
		return lthaw_fail(L);
	lua_pushstring(L, o.phase);
	lua_setfield(L, c.hist, "phase");
	if (res.restored) { /* a phase the resumed run had finished */
		lua_pushboolean(L, 1);
		lua_setfield(L, c.hist, "resumed");
		return 1;
	}
	lua_pushinteger(L, res.epochs);
	lua_setfield(L, c.hist, "epochs");
	lua_pushboolean(L, res.epochs < o.epochs);
	lua_setfield(L, c.hist, "stopped_early");
	return 1;
}

/* thaw.evaluate(model, data [, {name=, batch=}]) -> {loss, accuracy, ...} */
static int l_evaluate(lua_State *L)
{
	static const char *const keys[] = {"name", "batch", "topk", NULL};
	thaw_script *s = lthaw_host(L);
	lthaw_safepoint(L);
	thaw_model *m = lthaw_checkmodel(L, 1);
	thaw_dataset *d = lthaw_checkdata(L, 2);
	lua_settop(L, 3);
	lthaw_check_keys(L, 3, "thaw.evaluate", keys);
	char defname[32];
	snprintf(defname, sizeof defname, "eval%d", ++s->evals);
	const char *name = lthaw_opt_str(L, 3, "name", defname);
	int batch = lthaw_opt_int(L, 3, "batch", 256), topk = lthaw_opt_int(L, 3, "topk", 5);
	if (batch < 1 || batch > 65536)
		return luaL_error(L, "thaw.evaluate: batch %d is outside 1..65536", batch);
	if (topk < 1 || topk > 1000)
		return luaL_error(L, "thaw.evaluate: topk %d is outside 1..1000", topk);
	d = lthaw_conform(L, m, d, "evaluation");
	if (s->last_model == LUA_NOREF)
		lthaw_set_last_model(L, s, 1);
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
	thaw_event ev = {.kind = THAW_EV_EVAL, .model = m, .u.eval = {name, mt, (const char *const *)names, d}};
	thaw_run_publish(s->run, &ev);
	lua_createtable(L, 0, 8);
	lthaw_set_num(L, "loss", thaw_metrics_loss(mt));
	lthaw_set_num(L, "accuracy", thaw_metrics_accuracy(mt));
	lthaw_set_num(L, "topk", thaw_metrics_topk(mt));
	lthaw_set_int(L, "n", mt->n);
	lthaw_set_str(L, "name", name);
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
	lthaw_safepoint(L); /* Ctrl-C during the evaluation */
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
	lthaw_safepoint(L);
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
	d = lthaw_conform(L, m, d, "prediction"); /* stack 4 */
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
	lthaw_safepoint(L);
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
	const char *dir = thaw_run_dir(lthaw_host(L)->run);
	if (dir)
		lua_pushstring(L, dir);
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
	/* thaw.mpi: where this process stands in a data-parallel job */
	lua_createtable(L, 0, 3);
	lthaw_set_int(L, "rank", thaw_dist_rank());
	lthaw_set_int(L, "size", thaw_dist_size());
	lthaw_set_bool(L, "built", thaw_dist_built(NULL));
	lua_setfield(L, -2, "mpi");
}
