/* thaw.nn.*: layers are plain tables {kind = "dense", units = 5, name = "head"}
 * with a metatable for tostring; lthaw_layer_attrs reads one for m:add. */
#include <stdlib.h>
#include <string.h>

#include "thaw/vocab.h"

#include "lthaw.h"

/* ---- layers: plain tables {kind = "dense", units = 5, name = "head"} */
static int l_layer_ctor(lua_State *L)
{
	const char *kind = lua_tostring(L, lua_upvalueindex(1));
	if (lua_isnoneornil(L, 1))
		lua_newtable(L);
	else
		luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	lua_pushstring(L, kind);
	lua_setfield(L, 1, "kind");
	luaL_setmetatable(L, LAYER_MT);
	return 1;
}

static int l_layer_tostring(lua_State *L)
{
	lua_getfield(L, 1, "kind");
	lua_getfield(L, 1, "name");
	lua_pushfstring(L, "thaw.nn.%s%s%s", lua_tostring(L, -2) ? lua_tostring(L, -2) : "?",
			lua_isstring(L, -1) ? " " : "", lua_isstring(L, -1) ? lua_tostring(L, -1) : "");
	return 1;
}

/* kernel = 3 or {3, 5}; into *a, *b */
static void opt_pair(lua_State *L, int t, const char *k, int *a, int *b)
{
	int v[2];
	lua_getfield(L, t, k);
	int isnum = lua_isinteger(L, -1);
	lua_pop(L, 1);
	if (isnum) {
		*a = *b = lthaw_opt_int(L, t, k, *a);
		return;
	}
	int n = lthaw_opt_int_list(L, t, k, v, 2);
	if (n == 1)
		v[1] = v[0];
	if (n >= 1) {
		*a = v[0];
		*b = v[1];
	}
}

/* The layer table at index t -> attributes (raises on unknown keys). */
thaw_attrs lthaw_layer_attrs(lua_State *L, int t)
{
	static const char *const keys[] = {"kind",   "name",     "inputs",  "units",     "filters",
					   "kernel", "stride",   "padding", "dilation",  "groups",
					   "bias",   "init",     "ceil_mode", "count_include_pad", "alpha",
					   "lo",     "hi",       "rate",    "eps",       "momentum",
					   "trainable", "lr_mult", "words", "dim", "vectors", "vocab",
					   "pool", "mask", NULL};
	luaL_checktype(L, t, LUA_TTABLE);
	lthaw_check_keys(L, t, "layer", keys);
	const char *kind = lthaw_opt_str(L, t, "kind", NULL);
	int conv1d = kind && !strcmp(kind, "conv1d"); /* a conv2d with a 1 x k kernel */
	int k = conv1d ? THAW_CONV2D : kind ? thaw_kind_from_name(kind) : -1;
	if (k < 0)
		luaL_error(L, "unknown layer kind '%s'", kind ? kind : "(none)");
	thaw_attrs a = thaw_attrs_default((thaw_kind)k);
	a.units = lthaw_opt_int(L, t, "units", 0);
	a.filters = lthaw_opt_int(L, t, "filters", 0);
	opt_pair(L, t, "kernel", &a.kh, &a.kw);
	if (conv1d) {
		a.kw = lthaw_opt_int(L, t, "kernel", 3);
		a.kh = 1;
	}
	if (k == THAW_MAXPOOL || k == THAW_AVGPOOL) { /* stride defaults to the kernel */
		a.sh = a.kh;
		a.sw = a.kw;
	}
	opt_pair(L, t, "stride", &a.sh, &a.sw);
	opt_pair(L, t, "dilation", &a.dh, &a.dw);
	int pad[4];
	lua_getfield(L, t, "padding");
	int pisnum = lua_isinteger(L, -1);
	const char *ps = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
	lua_pop(L, 1);
	if (conv1d && !ps && !pisnum) /* 'same' unless asked: pool_time masks by position */
		ps = "same";
	if (ps && !strcmp(ps, "same")) { /* stride 1: keep the size */
		int ph = a.dh * (a.kh - 1), pw = a.dw * (a.kw - 1);
		a.pad[0] = ph / 2, a.pad[2] = ph - ph / 2, a.pad[1] = pw / 2, a.pad[3] = pw - pw / 2;
	} else if (ps && strcmp(ps, "valid") != 0) {
		luaL_error(L, "padding must be a number, a list, 'same' or 'valid' (got '%s')", ps);
	} else if (pisnum) {
		int p = lthaw_opt_int(L, t, "padding", 0);
		a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = p;
	} else {
		int n = lthaw_opt_int_list(L, t, "padding", pad, 4);
		if (n == 2) { /* {h, w} */
			a.pad[0] = a.pad[2] = pad[0];
			a.pad[1] = a.pad[3] = pad[1];
		} else if (n == 4) {
			memcpy(a.pad, pad, sizeof pad);
		} else if (n) {
			luaL_error(L, "padding wants 1, 2 or 4 numbers");
		}
	}
	a.groups = lthaw_opt_int(L, t, "groups", a.groups);
	a.bias = lthaw_opt_bool(L, t, "bias", a.bias);
	const char *init = lthaw_opt_str(L, t, "init", "he");
	if (!strcmp(init, "glorot") || !strcmp(init, "xavier"))
		a.init = THAW_INIT_GLOROT;
	else if (strcmp(init, "he") != 0 && strcmp(init, "kaiming") != 0)
		luaL_error(L, "init must be 'he' or 'glorot' (got '%s')", init);
	a.ceil_mode = lthaw_opt_bool(L, t, "ceil_mode", 0);
	a.count_include_pad = lthaw_opt_bool(L, t, "count_include_pad", 0);
	a.alpha = (float)lthaw_opt_num(L, t, "alpha", a.alpha);
	a.lo = (float)lthaw_opt_num(L, t, "lo", a.lo);
	a.hi = (float)lthaw_opt_num(L, t, "hi", a.hi);
	a.rate = (float)lthaw_opt_num(L, t, "rate", a.rate);
	a.eps = (float)lthaw_opt_num(L, t, "eps", a.eps);
	a.momentum = (float)lthaw_opt_num(L, t, "momentum", a.momentum);
	if (k == THAW_EMBEDDING) { /* words and dim from vectors or a vocabulary when not given */
		const float *w;
		int n = 0, dim = 0;
		struct thaw_vocab *v = NULL;
		lua_getfield(L, t, "vectors");
		if (!lua_isnil(L, -1) && !lthaw_vec_rows(L, lua_gettop(L), &w, &n, &dim, &v))
			luaL_error(L, "embedding: vectors must come from thaw.vectors (got %s)", luaL_typename(L, -1));
		lua_pop(L, 1);
		lua_getfield(L, t, "vocab");
		if (!lua_isnil(L, -1))
			n = lthaw_tovocab(L, lua_gettop(L), NULL)->n;
		lua_pop(L, 1);
		a.words = lthaw_opt_int(L, t, "words", n);
		a.dim = lthaw_opt_int(L, t, "dim", dim);
		if (dim && a.dim != dim)
			luaL_error(L, "embedding: dim %d but the vectors have %d", a.dim, dim);
	}
	if (k == THAW_POOL_TIME) {
		const char *p = lthaw_opt_str(L, t, "pool", "mean");
		if (strcmp(p, "mean") && strcmp(p, "max"))
			luaL_error(L, "pool_time: pool must be 'mean' or 'max' (got '%s')", p);
		a.pool = !strcmp(p, "max") ? THAW_POOL_MAX : THAW_POOL_MEAN;
	}
	return a;
}

static const char *const layer_kinds[] = {"dense",   "conv2d",  "maxpool", "avgpool", "globalavgpool",
					  "batchnorm", "relu",  "relu6",   "leaky_relu", "sigmoid",
					  "tanh",    "gelu",    "dropout", "flatten", "add",
					  "concat",  "embedding", "pool_time", "conv1d", NULL};

void lthaw_open_nn(lua_State *L)
{
	luaL_newmetatable(L, LAYER_MT);
	lua_pushcfunction(L, l_layer_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pop(L, 1);
	lua_newtable(L);
	for (int i = 0; layer_kinds[i]; i++) {
		lua_pushstring(L, layer_kinds[i]);
		lua_pushcclosure(L, l_layer_ctor, 1);
		lua_setfield(L, -2, layer_kinds[i]);
	}
	lua_setfield(L, -2, "nn");
}
