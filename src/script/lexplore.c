/* thaw.explore(model, data, opts): the cut-point explorer (thaw/explore.h)
 * from Lua. Returns a table of the cuts (name, accuracy, sd, seconds,
 * features, ...), the scratch baseline and the best cut. */
#include <stdio.h>

#include "lthaw.h"
#include "thaw/explore.h"
#include "thaw/run.h"

typedef struct explore_ctx {
	thaw_script *s;
} explore_ctx;

static int on_line(const char *line, void *user)
{
	explore_ctx *c = user;
	lthaw_logf(c->s, "%s", line);
	if (!c->s->interrupted && thaw_run_should_stop(c->s->run))
		c->s->interrupted = 1;
	return c->s->interrupted;
}

static int should_stop(void *user)
{
	explore_ctx *c = user;
	if (!c->s->interrupted && thaw_run_should_stop(c->s->run))
		c->s->interrupted = 1;
	return c->s->interrupted;
}

static void push_cut(lua_State *L, const thaw_explore_cut *c, int folds)
{
	lua_createtable(L, 0, 10);
	lthaw_set_str(L, "name", c->name);
	lthaw_set_num(L, "accuracy", c->acc);
	lthaw_set_num(L, "sd", c->sd);
	lthaw_set_num(L, "loss", c->loss);
	lthaw_set_num(L, "seconds", c->seconds);
	lthaw_set_int(L, "features", c->features);
	if (c->node >= 0) {
		char shape[48];
		snprintf(shape, sizeof shape, "%dx%dx%d", c->out.c, c->out.h, c->out.w);
		lthaw_set_str(L, "shape", shape);
		lthaw_set_int(L, "index", c->node + 1);
		lthaw_set_bool(L, "pooled", c->pooled);
	}
	lua_createtable(L, folds, 0);
	for (int f = 0; f < folds; f++) {
		lua_pushnumber(L, c->fold_acc[f]);
		lua_rawseti(L, -2, f + 1);
	}
	lua_setfield(L, -2, "folds");
}

static int l_explore(lua_State *L)
{
	static const char *const keys[] = {"folds",	  "head_steps",	   "head_lr", "batch",	     "max_features",
					   "max_cuts",	  "scratch",	   "scratch_steps", "scratch_lr",
					   "shift",	  "flip",	   "seed",    NULL};
	thaw_script *s = lthaw_host(L);
	thaw_model *m = lthaw_checkmodel(L, 1);
	thaw_dataset *d = lthaw_checkdata(L, 2);
	lthaw_check_keys(L, 3, "thaw.explore", keys);
	thaw_explore_opts o = thaw_explore_opts_default();
	o.folds = lthaw_opt_int(L, 3, "folds", o.folds);
	o.head_steps = lthaw_opt_int(L, 3, "head_steps", o.head_steps);
	o.head_lr = (float)lthaw_opt_num(L, 3, "head_lr", o.head_lr);
	o.batch = lthaw_opt_int(L, 3, "batch", o.batch);
	o.max_features = lthaw_opt_int(L, 3, "max_features", o.max_features);
	o.max_cuts = lthaw_opt_int(L, 3, "max_cuts", 0);
	o.scratch = lthaw_opt_bool(L, 3, "scratch", 1);
	o.scratch_steps = lthaw_opt_int(L, 3, "scratch_steps", o.scratch_steps);
	o.scratch_lr = (float)lthaw_opt_num(L, 3, "scratch_lr", o.scratch_lr);
	o.scratch_shift = lthaw_opt_int(L, 3, "shift", o.scratch_shift);
	o.scratch_flip = lthaw_opt_bool(L, 3, "flip", o.scratch_flip);
	o.seed = lthaw_opt_seed(L, 3, "seed", s->seed);
	lua_settop(L, 3);
	thaw_dataset *dd = lthaw_conform(L, m, d, "explore"); /* the model's input, as thaw.fit does */
	explore_ctx c = {.s = s};
	o.on_line = on_line;
	o.should_stop = should_stop;
	o.user = &c;
	lmodel *um = lua_touserdata(L, 1);
	um->busy++;
	thaw_explore_result r;
	int rc = thaw_explore(m, dd, &o, &r);
	um->busy--;
	if (rc < 0) {
		thaw_explore_result_free(&r);
		if (s->interrupted)
			return luaL_error(L, "%s", INTERRUPTED);
		return lthaw_fail(L);
	}
	lua_createtable(L, 0, 8);
	lua_createtable(L, r.n_cuts, 0);
	for (int i = 0; i < r.n_cuts; i++) {
		push_cut(L, &r.cuts[i], r.folds);
		if (i == r.best) {
			lua_pushvalue(L, -1);
			lua_setfield(L, -4, "best"); /* the same table as cuts[best] */
			lua_pushinteger(L, i + 1);
			lua_setfield(L, -4, "best_index");
		}
		lua_rawseti(L, -2, i + 1);
	}
	lua_setfield(L, -2, "cuts");
	if (r.has_scratch) {
		push_cut(L, &r.scratch, r.folds);
		lua_setfield(L, -2, "scratch");
	}
	lthaw_set_bool(L, "scratch_wins", r.scratch_wins);
	lthaw_set_int(L, "folds", r.folds);
	lthaw_set_int(L, "images", r.n_images);
	lthaw_set_num(L, "feature_seconds", r.feature_seconds);
	thaw_explore_result_free(&r);
	return 1;
}

/* thaw.scratch_model(model, data [, seed]) -> a new model: model's
 * architecture with a head for data's classes, every node trainable, fresh
 * weights: the scratch baseline to train beside a transfer run. */
static int l_scratch_model(lua_State *L)
{
	thaw_model *m = lthaw_checkmodel(L, 1);
	thaw_dataset *d = lthaw_checkdata(L, 2);
	uint64_t seed = luaL_opt(L, luaL_checkinteger, 3, (lua_Integer)lthaw_host(L)->seed * 7919 + 101);
	lmodel *u = lthaw_newmodel(L);
	if (!(u->m = thaw_explore_scratch_model(m, d, seed)))
		return lthaw_fail(L);
	return 1;
}

void lthaw_open_explore(lua_State *L)
{
	lua_pushcfunction(L, l_explore);
	lua_setfield(L, -2, "explore");
	lua_pushcfunction(L, l_scratch_model);
	lua_setfield(L, -2, "scratch_model");
}
