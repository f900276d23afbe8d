/* thaw.fine_tune and thaw.lr_find: the recipes of thaw/finetune.h, their
 * phases trained through the host's thaw_run (events, checkpoints, resume,
 * the run folder) like thaw.fit's. */
#include <stdio.h>
#include <string.h>

#include "thaw/finetune.h"
#include "thaw/plot.h"

#include "lthaw.h"

typedef struct ft_lua {
	lua_State *L;
	thaw_script *s;
	int checkpoint;
	int hist;          /* stack index of the history table */
	int interrupted;
	thaw_event_fn inner; /* fine_tune's own handler of the phase's events */
	void *inner_user;
} ft_lua;

/* fine_tune's own lines go to the run's sinks. */
static int ft_own_event(const thaw_event *ev, void *user)
{
	ft_lua *c = user;
	return thaw_run_publish(c->s->run, ev);
}

/* A phase's events after the run's sinks: the history, then fine_tune. */
static int ft_phase_event(const thaw_event *ev, void *user)
{
	ft_lua *c = user;
	if (ev->kind == THAW_EV_EPOCH) {
		lthaw_push_epoch(c->L, &ev->u.epoch);
		lua_seti(c->L, c->hist, (lua_Integer)luaL_len(c->L, c->hist) + 1);
	}
	return c->inner ? c->inner(ev, c->inner_user) : 0;
}

static int ft_fit(void *user, thaw_model *m, const thaw_dataset *d, const thaw_fit_opts *fo)
{
	ft_lua *c = user;
	thaw_fit_opts o = *fo;
	c->inner = fo->on_event;
	c->inner_user = fo->user;
	o.on_event = ft_phase_event;
	o.user = c;
	c->s->fit_index = thaw_run_next_phase(c->s->run);
	thaw_phase_result res;
	c->s->in_fit++;
	int rc = thaw_run_fit(c->s->run, m, d, &o, c->checkpoint, &res);
	c->s->in_fit--;
	if (res.interrupted || c->s->interrupted) {
		c->interrupted = 1;
		return THAW_ESTOP;
	}
	return rc < 0 ? rc : res.epochs;
}

static thaw_optim_kind opt_optimizer(lua_State *L, int t, const char *what, thaw_optim_kind def)
{
	const char *name = lthaw_opt_str(L, t, "optimizer", NULL);
	if (!name)
		return def;
	int k = thaw_optim_from_name(name);
	if (k < 0)
		luaL_error(L, "%s: unknown optimizer '%s' (adam, adamw, sgd)", what, name);
	return (thaw_optim_kind)k;
}

/* thaw.fine_tune(model, data [, opts]) -> history */
static int l_fine_tune(lua_State *L)
{
	static const char *const keys[] = {"cut",	"phase",      "head_epochs", "epochs",	   "head_steps",
					   "steps",	"batch",      "optimizer",   "lr",	   "ft_lr",
					   "spread",	"groups",     "weight_decay", "smoothing", "dropout", "shift",
					   "flip",	"pct_start",  "div",	     "gradual",	   "bn_min_batch",
					   "seed",	"val",	      "checkpoint",  "cache",	   NULL};
	thaw_script *s = lthaw_host(L);
	if (s->interrupted)
		return luaL_error(L, "%s", INTERRUPTED);
	thaw_model *m = lthaw_checkidle(L, 1);
	thaw_dataset *d = lthaw_checkdata(L, 2);
	if (lua_isnoneornil(L, 3))
		lua_newtable(L);
	lua_settop(L, 3);
	lthaw_check_keys(L, 3, "thaw.fine_tune", keys);
	thaw_finetune_opts o = thaw_finetune_opts_default();
	o.cut = lthaw_opt_str(L, 3, "cut", NULL);
	o.phase_prefix = lthaw_opt_str(L, 3, "phase", "");
	o.head_epochs = lthaw_opt_int(L, 3, "head_epochs", 0);
	o.epochs = lthaw_opt_int(L, 3, "epochs", 0);
	o.head_steps = (long)lthaw_opt_integer(L, 3, "head_steps", o.head_steps);
	o.steps = (long)lthaw_opt_integer(L, 3, "steps", o.steps);
	o.batch = lthaw_opt_int(L, 3, "batch", 0);
	o.optimizer = opt_optimizer(L, 3, "thaw.fine_tune", o.optimizer);
	o.lr = (float)lthaw_opt_num(L, 3, "lr", o.lr);
	o.ft_lr = (float)lthaw_opt_num(L, 3, "ft_lr", o.ft_lr);
	o.spread = (float)lthaw_opt_num(L, 3, "spread", o.spread);
	o.groups = lthaw_opt_int(L, 3, "groups", o.groups);
	o.weight_decay = (float)lthaw_opt_num(L, 3, "weight_decay", o.weight_decay);
	o.smoothing = (float)lthaw_opt_num(L, 3, "smoothing", o.smoothing);
	o.dropout = (float)lthaw_opt_num(L, 3, "dropout", o.dropout);
	o.shift = lthaw_opt_int(L, 3, "shift", o.shift);
	o.flip = lthaw_opt_bool(L, 3, "flip", o.flip);
	o.pct_start = (float)lthaw_opt_num(L, 3, "pct_start", o.pct_start);
	o.div = (float)lthaw_opt_num(L, 3, "div", o.div);
	o.gradual = lthaw_opt_bool(L, 3, "gradual", 0);
	o.bn_min_batch = lthaw_opt_int(L, 3, "bn_min_batch", o.bn_min_batch);
	o.seed = lthaw_opt_seed(L, 3, "seed", s->seed + (uint64_t)thaw_run_next_phase(s->run));
	o.feature_cache = lthaw_opt_bool(L, 3, "cache", 1) ? 0 : -1;
	ft_lua c = {.L = L, .s = s, .checkpoint = lthaw_opt_bool(L, 3, "checkpoint", 1)};
	lthaw_set_last_model(L, s, 1);
	/* the data as the model takes it: the new head keeps the input spec */
	d = lthaw_conform(L, m, d, "training"); /* stack 4 */
	lua_getfield(L, 3, "val");              /* 5 */
	ldata *uv = NULL;
	if (!lua_isnil(L, -1)) {
		thaw_dataset *v = lthaw_checkdata(L, 5);
		uv = lua_touserdata(L, 5);
		o.val = lthaw_conform(L, m, v, "validation"); /* 6 */
	} else {
		lua_pushnil(L);
	}
	lua_newtable(L);
	c.hist = lua_gettop(L);
	o.on_event = ft_own_event;
	o.user = &c;
	o.fit = ft_fit;
	o.fit_user = &c;
	lmodel *um = lua_touserdata(L, 1);
	ldata *ud = lua_touserdata(L, 2);
	thaw_finetune_result res;
	/* the transfer step changes the graph, so the model is marked busy
	 * only for the training, inside the fit function's calls */
	um->busy++, ud->busy++;
	if (uv)
		uv->busy++;
	int rc = thaw_fine_tune(m, d, &o, &res);
	um->busy--, ud->busy--;
	if (uv)
		uv->busy--;
	if (c.interrupted || s->interrupted) {
		s->interrupted = 1;
		return luaL_error(L, "%s", INTERRUPTED);
	}
	if (rc < 0)
		return luaL_error(L, "thaw.fine_tune: %s", thaw_errmsg());
	lua_pushinteger(L, res.head_epochs);
	lua_setfield(L, c.hist, "head_epochs");
	lua_pushinteger(L, res.epochs);
	lua_setfield(L, c.hist, "epochs");
	lua_pushinteger(L, res.batch);
	lua_setfield(L, c.hist, "batch");
	lua_pushboolean(L, res.bn_frozen);
	lua_setfield(L, c.hist, "bn_frozen");
	lua_pushboolean(L, res.new_head);
	lua_setfield(L, c.hist, "new_head");
	lua_pushstring(L, m->nodes[res.head]->name);
	lua_setfield(L, c.hist, "head");
	lua_createtable(L, res.groups, 0);
	for (int g = 0; g < res.groups; g++) {
		lua_createtable(L, 0, 3);
		lthaw_set_str(L, "first", m->nodes[res.group_first[g]]->name);
		lthaw_set_str(L, "last", m->nodes[res.group_last[g]]->name);
		lthaw_set_num(L, "lr", res.group_lr[g]);
		lua_seti(L, -2, g + 1);
	}
	lua_setfield(L, c.hist, "groups");
	return 1;
}

static void push_array(lua_State *L, const double *v, int n, const char *k)
{
	lua_createtable(L, n, 0);
	for (int i = 0; i < n; i++) {
		lua_pushnumber(L, v[i]);
		lua_seti(L, -2, i + 1);
	}
	lua_setfield(L, -2, k);
}

/* thaw.lr_find(model, data [, opts]) -> {lr, loss, smooth, suggested, ...} */
static int l_lr_find(lua_State *L)
{
	static const char *const keys[] = {"lr_min", "lr_max", "steps", "batch", "optimizer", "smoothing",
					   "seed",   "diverge", "png",   NULL};
	thaw_script *s = lthaw_host(L);
	if (s->interrupted)
		return luaL_error(L, "%s", INTERRUPTED);
	thaw_model *m = lthaw_checkidle(L, 1);
	thaw_dataset *d = lthaw_checkdata(L, 2);
	lua_settop(L, 3);
	lthaw_check_keys(L, 3, "thaw.lr_find", keys);
	thaw_lrfind_opts o = thaw_lrfind_opts_default();
	o.lr_min = (float)lthaw_opt_num(L, 3, "lr_min", o.lr_min);
	o.lr_max = (float)lthaw_opt_num(L, 3, "lr_max", o.lr_max);
	o.steps = lthaw_opt_int(L, 3, "steps", 0);
	o.batch = lthaw_opt_int(L, 3, "batch", 0);
	o.optimizer = opt_optimizer(L, 3, "thaw.lr_find", o.optimizer);
	o.smoothing = (float)lthaw_opt_num(L, 3, "smoothing", 0);
	o.diverge = (float)lthaw_opt_num(L, 3, "diverge", o.diverge);
	o.seed = lthaw_opt_seed(L, 3, "seed", s->seed);
	/* png: a path, false for none; by default lr-find.png in the run folder */
	char png[PATH_MAX_] = "";
	lua_getfield(L, 3, "png");
	if (lua_type(L, -1) == LUA_TSTRING)
		snprintf(png, sizeof png, "%s", lua_tostring(L, -1));
	else if (lua_isnil(L, -1) && thaw_run_dir(s->run))
		snprintf(png, sizeof png, "%s/lr-find.png", thaw_run_dir(s->run));
	else if (!lua_isnil(L, -1) && !(lua_isboolean(L, -1) && !lua_toboolean(L, -1)))
		return luaL_error(L, "thaw.lr_find: png must be a path or false");
	lua_pop(L, 1);
	d = lthaw_conform(L, m, d, "lr_find");
	ft_lua c = {.L = L, .s = s};
	o.on_event = ft_own_event;
	o.user = &c;
	thaw_lrfind_result r;
	lmodel *um = lua_touserdata(L, 1);
	um->busy++;
	int rc = thaw_lr_find(m, d, &o, &r);
	um->busy--;
	if (rc < 0)
		return luaL_error(L, "thaw.lr_find: %s", thaw_errmsg());
	if (png[0] && thaw_plot_lrfind(png, &r, NULL) < 0) {
		thaw_lrfind_result_free(&r);
		return luaL_error(L, "thaw.lr_find: %s", thaw_errmsg());
	}
	if (png[0])
		lthaw_logf(s, "lr_find: curve written to %s", png);
	lua_createtable(L, 0, 10);
	push_array(L, r.lr, r.n, "lr");
	push_array(L, r.loss, r.n, "loss");
	push_array(L, r.smooth, r.n, "smooth");
	lthaw_set_num(L, "suggested", r.suggested);
	lthaw_set_num(L, "valley", r.valley);
	lthaw_set_num(L, "steep", r.steep);
	lthaw_set_num(L, "minimum", r.minimum);
	lthaw_set_bool(L, "diverged", r.diverged);
	if (png[0]) {
		lthaw_set_str(L, "png", png);
	}
	thaw_lrfind_result_free(&r);
	return 1;
}

void lthaw_open_finetune(lua_State *L)
{
	static const luaL_Reg fns[] = {{"fine_tune", l_fine_tune}, {"lr_find", l_lr_find}, {NULL, NULL}};
	luaL_setfuncs(L, fns, 0);
}
