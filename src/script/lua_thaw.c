/* The Lua binding: `require "thaw"` inside thaw. Models and data sets are
 * userdata (one metatable each, freed by __gc and __close); layers are plain
 * tables made by thaw.nn.*; thaw.fit drives thaw_fit and reports to the
 * host's hooks. This is the only file that includes lua.h. */
#include "thaw/script.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "thaw/modelfile.h"
#include "thaw/onnx.h"
#include "thaw/paths.h"
#include "thaw/predict.h"
#include "thaw/transfer.h"
#include "thaw/zoo.h"

#define MODEL_MT "thaw.model"
#define DATA_MT "thaw.data"
#define LAYER_MT "thaw.layer"
#define PATH_MAX_ 4096

struct thaw_script {
	lua_State *L;
	thaw_script_hooks h;
	char run_dir[PATH_MAX_], resume_dir[PATH_MAX_];
	uint64_t seed;
	int fit_index; /* thaw.fit calls so far */
	int evals;
	int checks_ok, checks_failed;
	int interrupted;
	int last_model; /* registry ref to the model fit or evaluate saw last */
	char err[8192];
	/* resuming: the phase and position the checkpoint holds */
	int resume_phase, resume_epoch, resume_batch;
	long resume_step;
};

/* The error a stopped run raises; s->interrupted says it happened, even
 * when the script catches the error with pcall. */
#define INTERRUPTED "interrupted (Ctrl-C)"
static int host_key;

static thaw_script *host(lua_State *L)
{
	lua_rawgetp(L, LUA_REGISTRYINDEX, &host_key);
	thaw_script *s = lua_touserdata(L, -1);
	lua_pop(L, 1);
	return s;
}

static void logf_(thaw_script *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(thaw_script *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (s->h.on_log)
		s->h.on_log(line, s->h.user);
	else
		fprintf(stderr, "%s\n", line);
}

/* Raises the core's last message as a Lua error. */
static int fail(lua_State *L) { return luaL_error(L, "%s", thaw_errmsg()); }

/* ---- userdata */
typedef struct lmodel {
	thaw_model *m;
	int busy; /* thaw.fit is training it: no closing, no surgery */
} lmodel;

typedef struct ldata {
	thaw_dataset *d;
	int busy;
} ldata;

static thaw_model *checkmodel(lua_State *L, int i)
{
	lmodel *u = luaL_checkudata(L, i, MODEL_MT);
	luaL_argcheck(L, u->m != NULL, i, "the model is closed");
	return u->m;
}

/* For calls that change the graph or free the model: not while training. */
static thaw_model *checkidle(lua_State *L, int i)
{
	thaw_model *m = checkmodel(L, i);
	lmodel *u = lua_touserdata(L, i);
	if (u->busy)
		luaL_error(L, "the model is being trained by thaw.fit: it cannot be closed or changed in shape now");
	return m;
}

static thaw_dataset *checkdata(lua_State *L, int i)
{
	ldata *u = luaL_checkudata(L, i, DATA_MT);
	luaL_argcheck(L, u->d != NULL, i, "the data set is closed");
	return u->d;
}

/* The userdata is pushed empty first, so a failure to make the object
 * leaves nothing to leak (liolib's way). */
static lmodel *newmodel(lua_State *L)
{
	lmodel *u = lua_newuserdatauv(L, sizeof *u, 0);
	u->m = NULL;
	u->busy = 0;
	luaL_setmetatable(L, MODEL_MT);
	return u;
}

static ldata *newdata(lua_State *L)
{
	ldata *u = lua_newuserdatauv(L, sizeof *u, 0);
	u->d = NULL;
	u->busy = 0;
	luaL_setmetatable(L, DATA_MT);
	return u;
}

/* ---- small table readers: opts at index t (may be nil) */
static lua_Integer opt_integer(lua_State *L, int t, const char *k, lua_Integer def)
{
	if (lua_isnoneornil(L, t))
		return def;
	lua_getfield(L, t, k);
	int isnum;
	lua_Integer v = lua_tointegerx(L, -1, &isnum);
	if (!isnum && !lua_isnil(L, -1))
		luaL_error(L, "option '%s' must be an integer (got %s)", k, luaL_typename(L, -1));
	lua_pop(L, 1);
	return isnum ? v : def;
}

static int opt_int(lua_State *L, int t, const char *k, int def)
{
	lua_Integer v = opt_integer(L, t, k, def);
	if (v < INT_MIN || v > INT_MAX)
		luaL_error(L, "option '%s' is out of range (%I)", k, v);
	return (int)v;
}

/* A seed: any integer Lua holds (64 bits). */
static uint64_t opt_seed(lua_State *L, int t, const char *k, uint64_t def)
{
	return (uint64_t)opt_integer(L, t, k, (lua_Integer)def);
}

static double opt_num(lua_State *L, int t, const char *k, double def)
{
	if (lua_isnoneornil(L, t))
		return def;
	lua_getfield(L, t, k);
	int isnum;
	lua_Number v = lua_tonumberx(L, -1, &isnum);
	if (!isnum && !lua_isnil(L, -1))
		luaL_error(L, "option '%s' must be a number (got %s)", k, luaL_typename(L, -1));
	lua_pop(L, 1);
	return isnum ? v : def;
}

static int opt_bool(lua_State *L, int t, const char *k, int def)
{
	if (lua_isnoneornil(L, t))
		return def;
	lua_getfield(L, t, k);
	int v = lua_isnil(L, -1) ? def : lua_toboolean(L, -1);
	lua_pop(L, 1);
	return v;
}

/* The string stays valid while the table holds it. */
static const char *opt_str(lua_State *L, int t, const char *k, const char *def)
{
	if (lua_isnoneornil(L, t))
		return def;
	lua_getfield(L, t, k);
	const char *v = lua_isnil(L, -1) ? def : lua_tostring(L, -1);
	if (!v && !lua_isnil(L, -1))
		luaL_error(L, "option '%s' must be a string (got %s)", k, luaL_typename(L, -1));
	lua_pop(L, 1);
	return v;
}

/* Refuses keys not in `allowed` (NULL-terminated): a typo such as
 * `epoch = 5` must not pass silently. */
static void check_keys(lua_State *L, int t, const char *what, const char *const *allowed)
{
	if (lua_isnoneornil(L, t))
		return;
	luaL_checktype(L, t, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, t)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING)
			continue; /* list part: positional values */
		const char *k = lua_tostring(L, -1);
		int ok = 0;
		for (int i = 0; allowed[i] && !ok; i++)
			ok = strcmp(allowed[i], k) == 0;
		if (!ok) {
			luaL_Buffer b;
			luaL_buffinit(L, &b);
			for (int i = 0; allowed[i]; i++) {
				luaL_addstring(&b, i ? ", " : "");
				luaL_addstring(&b, allowed[i]);
			}
			luaL_pushresult(&b);
			luaL_error(L, "%s: unknown option '%s' (known: %s)", what, k, lua_tostring(L, -1));
		}
	}
}

/* An int list {5,6,7} at field k of table t; returns the count (0 if absent). */
static int opt_int_list(lua_State *L, int t, const char *k, int *out, int cap)
{
	if (lua_isnoneornil(L, t))
		return 0;
	lua_getfield(L, t, k);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return 0;
	}
	if (!lua_istable(L, -1))
		luaL_error(L, "option '%s' must be a list of integers", k);
	int n = (int)luaL_len(L, -1);
	if (n > cap)
		luaL_error(L, "option '%s': at most %d values", k, cap);
	for (int i = 0; i < n; i++) {
		lua_geti(L, -1, i + 1);
		int isnum;
		lua_Integer v = lua_tointegerx(L, -1, &isnum);
		if (!isnum)
			luaL_error(L, "option '%s': value %d is not an integer", k, i + 1);
		out[i] = (int)v;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return n;
}

/* ---- data sets */
static const char *const open_keys[] = {"split", "classes", "per_class", "seed", NULL};
static const char *const fashion_keys[] = {"split", "path", "classes", "per_class", "seed", NULL};
static const char *const folder_keys[] = {"path",      "size", "channels", "resize", "skip_bad",
					  "classes",   "per_class", "seed",   NULL};

/* Applies classes= and per_class= of the options table to *d (replacing it). */
static void apply_selection(lua_State *L, int t, thaw_dataset **d)
{
	thaw_script *s = host(L);
	int cls[1024], k = opt_int_list(L, t, "classes", cls, 1024);
	if (k > 0) {
		thaw_dataset *x = thaw_dataset_select_classes(*d, cls, k);
		if (!x) {
			thaw_dataset_free(*d);
			*d = NULL;
			fail(L);
		}
		thaw_dataset_free(*d);
		*d = x;
	}
	int per = opt_int(L, t, "per_class", 0);
	if (per > 0) {
		uint64_t seed = opt_seed(L, t, "seed", s->seed);
		thaw_dataset *x = thaw_dataset_per_class(*d, per, seed);
		if (!x) {
			thaw_dataset_free(*d);
			*d = NULL;
			fail(L);
		}
		thaw_dataset_free(*d);
		*d = x;
	}
}

/* Finishes a loader: selection, then the userdata (or nil, message). */
static int push_opened(lua_State *L, int t, ldata *u, thaw_dataset *d)
{
	if (!d) {
		lua_pushnil(L);
		lua_pushstring(L, thaw_errmsg());
		return 2;
	}
	u->d = d; /* owned by the userdata from here: an error below frees it */
	apply_selection(L, t, &u->d);
	return 1;
}

static int l_data_open(lua_State *L)
{
	const char *spec = luaL_checkstring(L, 1);
	lua_settop(L, 2); /* the options slot stays put under the new userdata */
	check_keys(L, 2, "thaw.data.open", open_keys);
	const char *split = opt_str(L, 2, "split", NULL);
	if (split) /* open("fashion-mnist", {split = "test"}) is "fashion-mnist:test" */
		spec = lua_pushfstring(L, "%s:%s", spec, split);
	ldata *u = newdata(L);
	return push_opened(L, 2, u, thaw_dataset_open(spec));
}

static int l_data_fashion(lua_State *L)
{
	lua_settop(L, 1);
	check_keys(L, 1, "thaw.data.fashion_mnist", fashion_keys);
	const char *split = opt_str(L, 1, "split", "train");
	if (strcmp(split, "train") != 0 && strcmp(split, "test") != 0)
		return luaL_error(L, "thaw.data.fashion_mnist: split must be 'train' or 'test' (got '%s')", split);
	const char *dir = opt_str(L, 1, "path", NULL);
	ldata *u = newdata(L);
	return push_opened(L, 1, u, thaw_fashion_mnist(dir, strcmp(split, "test") == 0));
}

static int l_data_folder(lua_State *L)
{
	const char *path = NULL;
	int t = 1;
	if (lua_type(L, 1) == LUA_TSTRING) {
		path = lua_tostring(L, 1);
		t = 2;
	}
	lua_settop(L, t);
	check_keys(L, t, "thaw.data.folder", folder_keys);
	path = opt_str(L, t, "path", path);
	luaL_argcheck(L, path != NULL, 1, "a folder path");
	int size[2] = {0, 0};
	int ns = opt_int_list(L, t, "size", size, 2);
	if (ns == 1)
		size[1] = size[0];
	thaw_image_opts o = thaw_image_opts_default();
	o.c = opt_int(L, t, "channels", 0);
	o.h = size[0], o.w = size[1];
	const char *resize = opt_str(L, t, "resize", NULL);
	if (resize && thaw_resize_mode_parse(resize, &o.resize) < 0)
		return luaL_error(L, "thaw.data.folder: %s", thaw_errmsg());
	o.skip_bad = opt_bool(L, t, "skip_bad", 0);
	ldata *u = newdata(L);
	thaw_dataset *d = thaw_folder_load_opts(path, &o);
	/* what was skipped goes to the log, a line each, like print() */
	for (const char *s = d ? d->notes : NULL; s && *s;) {
		const char *e = strchr(s, '\n');
		int n = e ? (int)(e - s) : (int)strlen(s);
		logf_(host(L), "%s: %.*s", path, n, s);
		s = e ? e + 1 : NULL;
	}
	return push_opened(L, t, u, d);
}

static int l_data_synthetic(lua_State *L)
{
	static const char *const keys[] = {"n", "classes", "size", "channels", "seed", "noise", NULL};
	lua_settop(L, 1);
	check_keys(L, 1, "thaw.data.synthetic", keys);
	thaw_synth_opts o = thaw_synth_opts_default();
	o.n = opt_int(L, 1, "n", o.n);
	o.classes = opt_int(L, 1, "classes", o.classes);
	o.c = opt_int(L, 1, "channels", o.c);
	o.seed = opt_seed(L, 1, "seed", host(L)->seed);
	o.noise = (float)opt_num(L, 1, "noise", o.noise);
	int size[2] = {o.h, o.w};
	if (opt_int_list(L, 1, "size", size, 2) == 1)
		size[1] = size[0];
	o.h = size[0];
	o.w = size[1];
	ldata *u = newdata(L);
	thaw_dataset *d = thaw_synth(&o);
	if (!d)
		return fail(L);
	u->d = d;
	return 1;
}

static int l_data_select(lua_State *L)
{
	thaw_dataset *d = checkdata(L, 1);
	luaL_checktype(L, 2, LUA_TTABLE);
	int cls[1024], n = (int)luaL_len(L, 2);
	luaL_argcheck(L, n > 0 && n <= 1024, 2, "a list of 1 to 1024 class numbers");
	for (int i = 0; i < n; i++) {
		lua_geti(L, 2, i + 1);
		cls[i] = (int)luaL_checkinteger(L, -1);
		lua_pop(L, 1);
	}
	ldata *u = newdata(L);
	if (!(u->d = thaw_dataset_select_classes(d, cls, n)))
		return fail(L);
	return 1;
}

static int l_data_per_class(lua_State *L)
{
	thaw_dataset *d = checkdata(L, 1);
	int k = (int)luaL_checkinteger(L, 2);
	uint64_t seed = (uint64_t)luaL_optinteger(L, 3, (lua_Integer)host(L)->seed);
	ldata *u = newdata(L);
	if (!(u->d = thaw_dataset_per_class(d, k, seed)))
		return fail(L);
	return 1;
}

static int l_data_split(lua_State *L)
{
	thaw_dataset *d = checkdata(L, 1);
	double frac = luaL_checknumber(L, 2);
	luaL_argcheck(L, frac > 0 && frac < 1, 2, "the validation fraction must be in (0, 1)");
	uint64_t seed = (uint64_t)luaL_optinteger(L, 3, (lua_Integer)host(L)->seed);
	ldata *a = newdata(L), *b = newdata(L);
	if (thaw_dataset_split(d, (float)frac, seed, &a->d, &b->d) < 0)
		return fail(L);
	return 2;
}

static int l_data_join(lua_State *L)
{
	thaw_dataset *a = checkdata(L, 1), *b = checkdata(L, 2);
	ldata *u = newdata(L);
	if (!(u->d = thaw_dataset_join(a, b)))
		return fail(L);
	return 1;
}

static int l_data_to_model(lua_State *L)
{
	thaw_dataset *d = checkdata(L, 1);
	thaw_model *m = checkmodel(L, 2);
	char desc[256];
	ldata *u = newdata(L);
	if (!(u->d = thaw_dataset_to_spec(d, &m->input, desc, sizeof desc)))
		return fail(L);
	lua_pushstring(L, desc);
	return 2;
}

static int l_data_grid(lua_State *L)
{
	thaw_dataset *d = checkdata(L, 1);
	const char *path = luaL_checkstring(L, 2);
	int per_row = (int)luaL_optinteger(L, 3, 8);
	if (thaw_dataset_grid_png(d, path, per_row, host(L)->seed) < 0)
		return fail(L);
	return 0;
}

static int l_data_counts(lua_State *L)
{
	thaw_dataset *d = checkdata(L, 1);
	int *c = lua_newuserdatauv(L, sizeof(int) * (size_t)(d->n_classes ? d->n_classes : 1), 0);
	thaw_dataset_class_counts(d, c);
	lua_createtable(L, d->n_classes, 0);
	for (int k = 0; k < d->n_classes; k++) {
		lua_pushinteger(L, c[k]);
		lua_seti(L, -2, k + 1);
	}
	return 1;
}

static int l_data_tostring(lua_State *L)
{
	ldata *u = luaL_checkudata(L, 1, DATA_MT);
	if (!u->d)
		lua_pushstring(L, "thaw.data (closed)");
	else
		lua_pushfstring(L, "thaw.data '%s': %d images of %dx%dx%d, %d classes", u->d->source, u->d->n,
				u->d->c, u->d->h, u->d->w, u->d->n_classes);
	return 1;
}

static int l_data_len(lua_State *L)
{
	lua_pushinteger(L, checkdata(L, 1)->n);
	return 1;
}

static int l_data_gc(lua_State *L)
{
	ldata *u = luaL_checkudata(L, 1, DATA_MT);
	if (u->busy)
		return luaL_error(L, "the data set is being used by thaw.fit: it cannot be closed now");
	thaw_dataset_free(u->d);
	u->d = NULL;
	return 0;
}

static void push_names(lua_State *L, char **names, int n)
{
	lua_createtable(L, n, 0);
	for (int k = 0; k < n; k++) {
		lua_pushstring(L, names && names[k] ? names[k] : "");
		lua_seti(L, -2, k + 1);
	}
}

static const luaL_Reg data_methods[] = {
	{"select", l_data_select}, {"per_class", l_data_per_class}, {"split", l_data_split},
	{"join", l_data_join},     {"to_model", l_data_to_model},   {"grid", l_data_grid},
	{"counts", l_data_counts}, {"close", l_data_gc},           {NULL, NULL}};

static int l_data_index(lua_State *L)
{
	ldata *u = luaL_checkudata(L, 1, DATA_MT);
	const char *k = luaL_checkstring(L, 2);
	for (const luaL_Reg *r = data_methods; r->name; r++)
		if (!strcmp(k, r->name)) {
			lua_pushcfunction(L, r->func);
			return 1;
		}
	if (!u->d)
		return luaL_error(L, "the data set is closed");
	if (!strcmp(k, "n"))
		lua_pushinteger(L, u->d->n);
	else if (!strcmp(k, "classes"))
		push_names(L, u->d->class_names, u->d->n_classes);
	else if (!strcmp(k, "shape")) {
		lua_createtable(L, 3, 0);
		int v[3] = {u->d->c, u->d->h, u->d->w};
		for (int i = 0; i < 3; i++) {
			lua_pushinteger(L, v[i]);
			lua_seti(L, -2, i + 1);
		}
	} else if (!strcmp(k, "source"))
		lua_pushstring(L, u->d->source);
	else
		lua_pushnil(L);
	return 1;
}

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
		*a = *b = opt_int(L, t, k, *a);
		return;
	}
	int n = opt_int_list(L, t, k, v, 2);
	if (n == 1)
		v[1] = v[0];
	if (n >= 1) {
		*a = v[0];
		*b = v[1];
	}
}

/* The layer table at index t -> attributes (raises on unknown keys). */
static thaw_attrs layer_attrs(lua_State *L, int t)
{
	static const char *const keys[] = {"kind",   "name",     "inputs",  "units",     "filters",
					   "kernel", "stride",   "padding", "dilation",  "groups",
					   "bias",   "init",     "ceil_mode", "count_include_pad", "alpha",
					   "lo",     "hi",       "rate",    "eps",       "momentum",
					   "trainable", "lr_mult", NULL};
	luaL_checktype(L, t, LUA_TTABLE);
	check_keys(L, t, "layer", keys);
	const char *kind = opt_str(L, t, "kind", NULL);
	int k = kind ? thaw_kind_from_name(kind) : -1;
	if (k < 0)
		luaL_error(L, "unknown layer kind '%s'", kind ? kind : "(none)");
	thaw_attrs a = thaw_attrs_default((thaw_kind)k);
	a.units = opt_int(L, t, "units", 0);
	a.filters = opt_int(L, t, "filters", 0);
	opt_pair(L, t, "kernel", &a.kh, &a.kw);
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
	if (ps && !strcmp(ps, "same")) { /* stride 1: keep the size */
		int ph = a.dh * (a.kh - 1), pw = a.dw * (a.kw - 1);
		a.pad[0] = ph / 2, a.pad[2] = ph - ph / 2, a.pad[1] = pw / 2, a.pad[3] = pw - pw / 2;
	} else if (ps && strcmp(ps, "valid") != 0) {
		luaL_error(L, "padding must be a number, a list, 'same' or 'valid' (got '%s')", ps);
	} else if (pisnum) {
		int p = opt_int(L, t, "padding", 0);
		a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = p;
	} else {
		int n = opt_int_list(L, t, "padding", pad, 4);
		if (n == 2) { /* {h, w} */
			a.pad[0] = a.pad[2] = pad[0];
			a.pad[1] = a.pad[3] = pad[1];
		} else if (n == 4) {
			memcpy(a.pad, pad, sizeof pad);
		} else if (n) {
			luaL_error(L, "padding wants 1, 2 or 4 numbers");
		}
	}
	a.groups = opt_int(L, t, "groups", a.groups);
	a.bias = opt_bool(L, t, "bias", a.bias);
	const char *init = opt_str(L, t, "init", "he");
	if (!strcmp(init, "glorot") || !strcmp(init, "xavier"))
		a.init = THAW_INIT_GLOROT;
	else if (strcmp(init, "he") != 0 && strcmp(init, "kaiming") != 0)
		luaL_error(L, "init must be 'he' or 'glorot' (got '%s')", init);
	a.ceil_mode = opt_bool(L, t, "ceil_mode", 0);
	a.count_include_pad = opt_bool(L, t, "count_include_pad", 0);
	a.alpha = (float)opt_num(L, t, "alpha", a.alpha);
	a.lo = (float)opt_num(L, t, "lo", a.lo);
	a.hi = (float)opt_num(L, t, "hi", a.hi);
	a.rate = (float)opt_num(L, t, "rate", a.rate);
	a.eps = (float)opt_num(L, t, "eps", a.eps);
	a.momentum = (float)opt_num(L, t, "momentum", a.momentum);
	return a;
}

/* A node reference: 1-based index, negative from the end, or a name. */
static int node_ref(lua_State *L, thaw_model *m, int i)
{
	if (lua_type(L, i) == LUA_TNUMBER) {
		lua_Integer k = luaL_checkinteger(L, i);
		if (k < 0)
			k += m->n + 1;
		if (k < 1 || k > m->n)
			luaL_error(L, "node index %d outside 1..%d", (int)lua_tointeger(L, i), m->n);
		return (int)k - 1;
	}
	const char *name = luaL_checkstring(L, i);
	if (!strcmp(name, "input"))
		return -1;
	int k = thaw_model_find(m, name);
	if (k < 0)
		luaL_error(L, "no node named '%s'", name);
	return k;
}

/* ---- models */
static int l_model_new(lua_State *L)
{
	static const char *const keys[] = {"input", "seed", NULL};
	check_keys(L, 1, "thaw.model", keys);
	int in[3] = {1, 28, 28};
	int n = opt_int_list(L, 1, "input", in, 3);
	luaL_argcheck(L, n == 0 || n == 3, 1, "input = {channels, height, width}");
	lmodel *u = newmodel(L);
	if (!(u->m = thaw_model_new(in[0], in[1], in[2], opt_seed(L, 1, "seed", host(L)->seed))))
		return fail(L);
	return 1;
}

static int l_reference_cnn(lua_State *L)
{
	static const char *const keys[] = {"input", "classes", "seed", NULL};
	check_keys(L, 1, "thaw.reference_cnn", keys);
	int in[3] = {1, 28, 28};
	opt_int_list(L, 1, "input", in, 3);
	lmodel *u = newmodel(L);
	u->m = thaw_zoo_reference_cnn(in[0], in[1], in[2], opt_int(L, 1, "classes", 10),
				      opt_seed(L, 1, "seed", host(L)->seed));
	if (!u->m)
		return fail(L);
	return 1;
}

/* The library's warnings (a file's stale class names dropped) go to the log. */
static void log_warnings(lua_State *L)
{
	for (const char *w; (w = thaw_warning_next());)
		logf_(host(L), "warning: %s", w);
}

static int l_load(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	lmodel *u = newmodel(L);
	u->m = thaw_model_load(path, NULL);
	log_warnings(L);
	if (!u->m) {
		lua_pushnil(L);
		lua_pushstring(L, thaw_errmsg());
		return 2;
	}
	return 1;
}

static int l_import(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	lmodel *u = newmodel(L);
	thaw_onnx_info info;
	u->m = thaw_onnx_import(path, &info);
	log_warnings(L);
	if (!u->m) {
		lua_pushnil(L);
		lua_pushstring(L, thaw_errmsg());
		return 2;
	}
	if (info.softmax)
		logf_(host(L), "import %s: the final Softmax was dropped (thaw trains on logits)", path);
	return 1;
}

static int l_model_add(lua_State *L)
{
	thaw_model *m = checkidle(L, 1);
	thaw_attrs a = layer_attrs(L, 2);
	const char *name = opt_str(L, 2, "name", NULL);
	int in[THAW_MAX_INPUTS], n_in = 0;
	lua_getfield(L, 2, "inputs");
	if (!lua_isnil(L, -1)) {
		int t = lua_gettop(L);
		luaL_argcheck(L, lua_istable(L, t), 2, "inputs = {names or indices}");
		n_in = (int)luaL_len(L, t);
		luaL_argcheck(L, n_in >= 1 && n_in <= THAW_MAX_INPUTS, 2, "1 to 8 inputs");
		for (int i = 0; i < n_in; i++) {
			lua_geti(L, t, i + 1);
			in[i] = node_ref(L, m, lua_gettop(L));
			lua_pop(L, 1);
		}
	}
	lua_pop(L, 1);
	int k = thaw_model_add(m, name, &a, n_in ? in : NULL, n_in);
	if (k < 0)
		return fail(L);
	m->nodes[k]->trainable = opt_bool(L, 2, "trainable", 1);
	if (thaw_model_set_lr_mult(m, k, (float)opt_num(L, 2, "lr_mult", 1.0)) < 0)
		return fail(L);
	lua_pushinteger(L, k + 1);
	return 1;
}

static int l_model_insert(lua_State *L)
{
	thaw_model *m = checkidle(L, 1);
	int pos = node_ref(L, m, 2);
	if (pos < 0)
		return luaL_error(L, "insert: give the node to insert before (name or 1..%d)", m->n);
	thaw_attrs a = layer_attrs(L, 3);
	lua_getfield(L, 3, "inputs");
	if (!lua_isnil(L, -1))
		return luaL_error(L, "insert: the new layer reads what node %d read; 'inputs' does not apply", pos + 1);
	lua_pop(L, 1);
	if (thaw_model_insert(m, pos, opt_str(L, 3, "name", NULL), &a) < 0)
		return fail(L);
	m->nodes[pos]->trainable = opt_bool(L, 3, "trainable", 1);
	if (thaw_model_set_lr_mult(m, pos, (float)opt_num(L, 3, "lr_mult", 1.0)) < 0)
		return fail(L);
	lua_pushinteger(L, pos + 1);
	return 1;
}

static int l_model_pop(lua_State *L)
{
	thaw_model *m = checkidle(L, 1);
	if (m->n == 0)
		return luaL_error(L, "pop: the model has no nodes");
	lua_pushstring(L, m->nodes[m->n - 1]->name);
	if (thaw_model_pop(m) < 0)
		return fail(L);
	return 1;
}

static int l_model_truncate(lua_State *L)
{
	thaw_model *m = checkidle(L, 1);
	int k = node_ref(L, m, 2);
	if (k < 0 || thaw_model_truncate(m, m->nodes[k]->name) < 0)
		return k < 0 ? luaL_error(L, "truncate: cannot cut at the input") : fail(L);
	lua_pushinteger(L, m->n);
	return 1;
}

/* Marks the nodes a selection names: nil = all; index; name or glob;
 * {upto = x}; {from = a, to = b}; a list of any of these. */
static void select_nodes(lua_State *L, thaw_model *m, int i, char *mark)
{
	if (lua_isnoneornil(L, i)) {
		memset(mark, 1, (size_t)m->n);
		return;
	}
	if (lua_type(L, i) == LUA_TNUMBER) {
		mark[node_ref(L, m, i)] = 1;
		return;
	}
	if (lua_type(L, i) == LUA_TSTRING) { /* a name, glob, "0-7" or "upto:NAME" */
		if (thaw_model_select(m, lua_tostring(L, i), mark) < 0)
			fail(L);
		return;
	}
	luaL_checktype(L, i, LUA_TTABLE);
	lua_getfield(L, i, "upto");
	int has_upto = !lua_isnil(L, -1);
	lua_getfield(L, i, "from");
	lua_getfield(L, i, "to");
	int top = lua_gettop(L);
	if (has_upto || !lua_isnil(L, top - 1) || !lua_isnil(L, top)) {
		int from = 0, to = m->n - 1;
		if (has_upto)
			to = node_ref(L, m, top - 2);
		if (!lua_isnil(L, top - 1))
			from = node_ref(L, m, top - 1);
		if (!lua_isnil(L, top))
			to = node_ref(L, m, top);
		for (int k = from < 0 ? 0 : from; k <= to; k++)
			mark[k] = 1;
		lua_settop(L, top - 3);
		return;
	}
	lua_settop(L, top - 3);
	int n = (int)luaL_len(L, i);
	for (int j = 1; j <= n; j++) {
		lua_geti(L, i, j);
		select_nodes(L, m, lua_gettop(L), mark);
		lua_pop(L, 1);
	}
}

/* m:freeze(sel) / m:unfreeze(sel): returns how many nodes changed. */
static int set_flags(lua_State *L, int trainable)
{
	thaw_model *m = checkmodel(L, 1);
	lua_settop(L, 2);
	char *mark = lua_newuserdatauv(L, (size_t)(m->n ? m->n : 1), 0);
	memset(mark, 0, (size_t)m->n);
	select_nodes(L, m, 2, mark);
	int changed = 0;
	for (int k = 0; k < m->n; k++)
		if (mark[k]) {
			changed += m->nodes[k]->trainable != trainable;
			m->nodes[k]->trainable = trainable;
		}
	lua_pushinteger(L, changed);
	return 1;
}

static int l_model_freeze(lua_State *L) { return set_flags(L, 0); }
static int l_model_unfreeze(lua_State *L) { return set_flags(L, 1); }

/* m:lr_mult(sel, x) */
static int l_model_lr_mult(lua_State *L)
{
	thaw_model *m = checkmodel(L, 1);
	float x = (float)luaL_checknumber(L, 3);
	lua_settop(L, 3);
	char *mark = lua_newuserdatauv(L, (size_t)(m->n ? m->n : 1), 0);
	memset(mark, 0, (size_t)m->n);
	select_nodes(L, m, 2, mark);
	for (int k = 0; k < m->n; k++)
		if (mark[k] && thaw_model_set_lr_mult(m, k, x) < 0)
			return fail(L);
	return 0;
}

static void push_shape(lua_State *L, thaw_shape s)
{
	lua_createtable(L, 3, 0);
	int v[3] = {s.c, s.h, s.w};
	for (int i = 0; i < 3; i++) {
		lua_pushinteger(L, v[i]);
		lua_seti(L, -2, i + 1);
	}
}

static void push_node_info(lua_State *L, const thaw_model *m, int k)
{
	const thaw_node *n = m->nodes[k];
	char desc[128];
	thaw_node_describe(n, desc, sizeof desc);
	lua_createtable(L, 0, 10);
	lua_pushinteger(L, k + 1);
	lua_setfield(L, -2, "index");
	lua_pushstring(L, n->name);
	lua_setfield(L, -2, "name");
	lua_pushstring(L, thaw_kind_name(n->kind));
	lua_setfield(L, -2, "kind");
	lua_pushstring(L, desc);
	lua_setfield(L, -2, "details");
	push_shape(L, n->out);
	lua_setfield(L, -2, "output");
	lua_pushinteger(L, (lua_Integer)thaw_node_param_count(n));
	lua_setfield(L, -2, "params");
	lua_pushboolean(L, n->trainable);
	lua_setfield(L, -2, "trainable");
	char lr[32]; /* the float as written, not 0.10000000149 */
	snprintf(lr, sizeof lr, "%.7g", n->lr_mult);
	lua_pushnumber(L, strtod(lr, NULL));
	lua_setfield(L, -2, "lr_mult");
	lua_createtable(L, n->n_in, 0);
	for (int j = 0; j < n->n_in; j++) {
		lua_pushstring(L, n->in[j] < 0 ? "input" : m->nodes[n->in[j]]->name);
		lua_seti(L, -2, j + 1);
	}
	lua_setfield(L, -2, "inputs");
}

/* m:summary() -> text, {layers = {...}, trainable = N, frozen = N} */
static int l_model_summary(lua_State *L)
{
	thaw_model *m = checkmodel(L, 1);
	char *text = thaw_model_summary(m);
	if (!text)
		return fail(L);
	lua_pushstring(L, text);
	free(text);
	thaw_param_counts c = thaw_model_count(m);
	lua_createtable(L, 0, 4);
	lua_createtable(L, m->n, 0);
	for (int k = 0; k < m->n; k++) {
		push_node_info(L, m, k);
		lua_seti(L, -2, k + 1);
	}
	lua_setfield(L, -2, "layers");
	lua_pushinteger(L, (lua_Integer)c.trainable);
	lua_setfield(L, -2, "trainable");
	lua_pushinteger(L, (lua_Integer)c.frozen);
	lua_setfield(L, -2, "frozen");
	lua_pushinteger(L, (lua_Integer)(c.trainable + c.frozen));
	lua_setfield(L, -2, "total");
	return 2;
}

static int l_model_layer(lua_State *L)
{
	thaw_model *m = checkmodel(L, 1);
	int k = node_ref(L, m, 2);
	if (k < 0)
		return luaL_error(L, "the input is not a layer");
	push_node_info(L, m, k);
	return 1;
}

/* m:save(path [, {optimizer = false}]): without the optimizer state the
 * file holds just the model (a base to share); the next thaw.fit would
 * start that state afresh anyway. */
static int l_model_save(lua_State *L)
{
	static const char *const keys[] = {"optimizer", NULL};
	thaw_model *m = checkmodel(L, 1);
	const char *path = luaL_checkstring(L, 2);
	lua_settop(L, 3);
	check_keys(L, 3, "save", keys);
	if (!opt_bool(L, 3, "optimizer", 1))
		thaw_model_reset_opt_state(m);
	if (thaw_model_save(m, path, NULL) < 0)
		return fail(L);
	return 0;
}

static int l_model_export(lua_State *L)
{
	thaw_model *m = checkmodel(L, 1);
	if (thaw_onnx_export(m, luaL_checkstring(L, 2)) < 0)
		return fail(L);
	return 0;
}

static int l_model_set_classes(lua_State *L)
{
	thaw_model *m = checkmodel(L, 1);
	luaL_checktype(L, 2, LUA_TTABLE);
	int n = (int)luaL_len(L, 2);
	luaL_argcheck(L, n >= 1 && n <= 100000, 2, "a list of class names");
	const char **names = lua_newuserdatauv(L, sizeof(char *) * (size_t)n, 0);
	for (int i = 0; i < n; i++) {
		lua_geti(L, 2, i + 1);
		names[i] = luaL_checkstring(L, -1);
		lua_pop(L, 1); /* the table keeps the string alive */
	}
	if (thaw_model_set_classes(m, names, n) < 0)
		return fail(L);
	return 0;
}

/* m:normalize{mean = {...}, std = {...}} or m:normalize("imagenet"): the
 * input normalisation (0..1 scale) the model was trained with; ONNX files
 * do not carry it. Presets: thaw_input_preset (data.h). */
static int l_model_normalize(lua_State *L)
{
	static const char *const keys[] = {"mean", "std", NULL};
	thaw_model *m = checkmodel(L, 1);
	if (lua_type(L, 2) == LUA_TSTRING) {
		if (thaw_input_preset(&m->input, lua_tostring(L, 2)) < 0)
			return luaL_argerror(L, 2, thaw_errmsg());
		return 0;
	}
	luaL_argexpected(L, lua_istable(L, 2), 2, "a preset name or {mean = ..., std = ...}");
	lua_settop(L, 2);
	check_keys(L, 2, "normalize", keys);
	int C = m->input.c < THAW_MAX_CHANNELS ? m->input.c : THAW_MAX_CHANNELS;
	const char *names[2] = {"mean", "std"};
	float *dst[2] = {m->input.mean, m->input.std};
	for (int k = 0; k < 2; k++) {
		lua_getfield(L, 2, names[k]);
		if (lua_isnil(L, -1)) {
			lua_pop(L, 1);
			continue;
		}
		luaL_argcheck(L, lua_istable(L, -1) && luaL_len(L, -1) == C, 2,
			      lua_pushfstring(L, "%s needs %d values, one per input channel", names[k], C));
		for (int c = 0; c < C; c++) {
			lua_geti(L, -1, c + 1);
			float v = (float)luaL_checknumber(L, -1);
			if (k == 1 && !(v > 0))
				return luaL_error(L, "normalize: std must be > 0 (channel %d is %g)", c + 1, (double)v);
			dst[k][c] = v;
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
	return 0;
}

/* m:set_resize("stretch"|"crop"|"pad"): how images of another shape are
 * fitted to the model's input (saved with the model). */
static int l_model_set_resize(lua_State *L)
{
	thaw_model *m = checkmodel(L, 1);
	thaw_resize_mode mode;
	if (thaw_resize_mode_parse(luaL_checkstring(L, 2), &mode) < 0)
		return luaL_argerror(L, 2, thaw_errmsg());
	m->input.resize = mode;
	return 0;
}

static int l_model_reinit(lua_State *L)
{
	thaw_model *m = checkidle(L, 1);
	thaw_model_reinit(m, (uint64_t)luaL_optinteger(L, 2, (lua_Integer)host(L)->seed));
	return 0;
}

static int l_model_gc(lua_State *L)
{
	lmodel *u = luaL_checkudata(L, 1, MODEL_MT);
	if (u->busy)
		return luaL_error(L, "the model is being trained by thaw.fit: it cannot be closed now");
	thaw_model_free(u->m);
	u->m = NULL;
	return 0;
}

static int l_model_tostring(lua_State *L)
{
	lmodel *u = luaL_checkudata(L, 1, MODEL_MT);
	if (!u->m) {
		lua_pushstring(L, "thaw.model (closed)");
		return 1;
	}
	thaw_param_counts c = thaw_model_count(u->m);
	char in[64], out[64];
	thaw_shape is = {1, u->m->input.c, u->m->input.h, u->m->input.w};
	lua_pushfstring(L, "thaw.model: %d nodes, input %s, output %s, %d trainable / %d frozen parameters",
			u->m->n, thaw_shape_str(is, in, sizeof in),
			thaw_shape_str(thaw_model_output_shape(u->m), out, sizeof out), (int)c.trainable,
			(int)c.frozen);
	return 1;
}

static int l_model_len(lua_State *L)
{
	lua_pushinteger(L, checkmodel(L, 1)->n);
	return 1;
}

static int l_model_layers(lua_State *L)
{
	thaw_model *m = checkmodel(L, 1);
	lua_createtable(L, m->n, 0);
	for (int k = 0; k < m->n; k++) {
		push_node_info(L, m, k);
		lua_seti(L, -2, k + 1);
	}
	return 1;
}

static const luaL_Reg model_methods[] = {
	{"add", l_model_add},         {"insert", l_model_insert},       {"pop", l_model_pop},
	{"truncate", l_model_truncate}, {"freeze", l_model_freeze},     {"unfreeze", l_model_unfreeze},
	{"lr_mult", l_model_lr_mult}, {"summary", l_model_summary},     {"layer", l_model_layer},
	{"layers", l_model_layers},   {"save", l_model_save},           {"export", l_model_export},
	{"set_classes", l_model_set_classes}, {"normalize", l_model_normalize},
	{"set_resize", l_model_set_resize}, {"reinit", l_model_reinit}, {"close", l_model_gc},
	{NULL, NULL}};

static int l_model_index(lua_State *L)
{
	lmodel *u = luaL_checkudata(L, 1, MODEL_MT);
	const char *k = luaL_checkstring(L, 2);
	for (const luaL_Reg *r = model_methods; r->name; r++)
		if (!strcmp(k, r->name)) {
			lua_pushcfunction(L, r->func);
			return 1;
		}
	if (!u->m)
		return luaL_error(L, "the model is closed");
	thaw_model *m = u->m;
	if (!strcmp(k, "n"))
		lua_pushinteger(L, m->n);
	else if (!strcmp(k, "classes"))
		push_names(L, m->class_names, m->n_classes);
	else if (!strcmp(k, "resize"))
		lua_pushstring(L, thaw_resize_mode_name((thaw_resize_mode)m->input.resize));
	else if (!strcmp(k, "input")) {
		thaw_shape s = {1, m->input.c, m->input.h, m->input.w};
		push_shape(L, s);
	} else if (!strcmp(k, "output")) {
		push_shape(L, thaw_model_output_shape(m));
	} else if (!strcmp(k, "mean") || !strcmp(k, "std")) {
		const float *v = k[0] == 'm' ? m->input.mean : m->input.std;
		int C = m->input.c < THAW_MAX_CHANNELS ? m->input.c : THAW_MAX_CHANNELS;
		lua_createtable(L, C, 0);
		for (int c = 0; c < C; c++) {
			lua_pushnumber(L, v[c]);
			lua_seti(L, -2, c + 1);
		}
	}
	else
		lua_pushnil(L);
	return 1;
}

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
	ldata *u = newdata(L);
	if (!(u->d = thaw_dataset_to_spec(d, &m->input, desc, sizeof desc)))
		fail(L);
	logf_(host(L), "%s data '%s': %s", what, d->source, desc);
	return u->d;
}

static void checkpoint_path(char *buf, size_t n, const char *dir, int phase)
{
	if (phase > 0)
		snprintf(buf, n, "%s/phase-%d.thaw", dir, phase);
	else
		snprintf(buf, n, "%s/checkpoint.thaw", dir);
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
	checkpoint_path(path, sizeof path, s->run_dir, final ? phase : 0);
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
		logf_(c->s, "warning: checkpoint not written: %s", thaw_errmsg());
	if (c->on_epoch == LUA_NOREF)
		return 0;
	push_epoch(L, es);
	return call_back(c, c->on_epoch);
}

static void fit_on_log(const char *line, void *user)
{
	fit_ctx *c = user;
	logf_(c->s, "%s", line);
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
	checkpoint_path(path, sizeof path, s->resume_dir, done ? phase : 0);
	thaw_model *saved = thaw_model_load(path, &st);
	if (!saved || thaw_model_copy_params(m, saved) < 0) {
		thaw_model_free(saved);
		luaL_error(L, "resume: phase %d: %s", phase, thaw_errmsg());
	}
	thaw_model_free(saved);
	if (done) {
		logf_(s, "resume: phase %d ('%s') restored from %s", phase, st.phase, path);
		return 1;
	}
	m->rng = st.rng;
	o->first_epoch = st.epoch + 1;
	o->skip_batches = s->resume_batch;
	o->first_step = (long)st.step;
	s->resume_phase = 0; /* from here on the run goes on as normal */
	logf_(s, "resume: phase %d ('%s') continues at epoch %d, batch %d", phase, st.phase,
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
	thaw_script *s = host(L);
	if (s->interrupted) /* the script caught the interrupt and went on */
		return luaL_error(L, "%s", INTERRUPTED);
	thaw_model *m = checkidle(L, 1);
	thaw_dataset *d = checkdata(L, 2);
	if (lua_isnoneornil(L, 3))
		lua_newtable(L);
	lua_settop(L, 3);
	check_keys(L, 3, "thaw.fit", fit_keys);
	thaw_fit_opts o = thaw_fit_opts_default();
	int phase_index = s->fit_index + 1; /* counted once the options are good */
	char phase_buf[64];
	snprintf(phase_buf, sizeof phase_buf, "phase%d", phase_index);
	o.phase = opt_str(L, 3, "phase", phase_buf);
	o.phase_index = phase_index;
	o.epochs = opt_int(L, 3, "epochs", 1);
	o.batch = opt_int(L, 3, "batch", 64);
	const char *on = opt_str(L, 3, "optimizer", "adam");
	int ok = thaw_optim_from_name(on);
	if (ok < 0)
		return luaL_error(L, "thaw.fit: unknown optimizer '%s' (sgd, adam, adamw)", on);
	o.optim = thaw_optim_default((thaw_optim_kind)ok);
	o.optim.lr = (float)opt_num(L, 3, "lr", o.optim.lr);
	o.optim.momentum = (float)opt_num(L, 3, "momentum", o.optim.momentum);
	o.optim.nesterov = opt_bool(L, 3, "nesterov", 0);
	o.optim.beta1 = (float)opt_num(L, 3, "beta1", o.optim.beta1);
	o.optim.beta2 = (float)opt_num(L, 3, "beta2", o.optim.beta2);
	o.optim.weight_decay = (float)opt_num(L, 3, "weight_decay", o.optim.weight_decay);
	o.optim.clip_norm = (float)opt_num(L, 3, "clip_norm", 0);
	if (thaw_optim_check(&o.optim) < 0)
		return fail(L);
	const char *sn = opt_str(L, 3, "schedule", "constant");
	int sk = thaw_sched_from_name(sn);
	if (sk < 0)
		return luaL_error(L, "thaw.fit: unknown schedule '%s' (constant, step, cosine, onecycle)", sn);
	o.sched = thaw_sched_default((thaw_sched_kind)sk);
	o.sched.warmup_steps = opt_int(L, 3, "warmup", 0);
	o.sched.min_lr = (float)opt_num(L, 3, "min_lr", 0);
	o.sched.step_size = opt_int(L, 3, "step_size", 0);
	o.sched.gamma = (float)opt_num(L, 3, "gamma", o.sched.gamma);
	o.smoothing = (float)opt_num(L, 3, "smoothing", 0);
	o.seed = opt_seed(L, 3, "seed", s->seed + (uint64_t)phase_index);
	o.shift = opt_int(L, 3, "shift", 0);
	o.flip = opt_bool(L, 3, "flip", 0);
	o.patience = opt_int(L, 3, "patience", 0);
	o.restore_best = opt_bool(L, 3, "restore_best", 0);
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
		thaw_dataset *v = checkdata(L, lua_gettop(L));
		o.val = conform(L, m, v, "validation"); /* stack 6 */
	} else {
		lua_pushnil(L);
	}
	fit_ctx c = {.L = L, .s = s, .m = m, .phase_index = phase_index, .phase = o.phase};
	c.checkpoint = opt_bool(L, 3, "checkpoint", 1);
	c.on_batch = callback_ref(L, 3, "on_batch");
	c.on_epoch = callback_ref(L, 3, "on_epoch");
	lua_newtable(L);
	c.hist = lua_gettop(L);
	o.on_batch = fit_on_batch;
	o.on_epoch = fit_on_epoch;
	o.on_log = fit_on_log;
	o.user = &c;
	o.feature_cache = opt_bool(L, 3, "cache", 1) ? 0 : -1;
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
			logf_(s, "warning: checkpoint not written: %s", thaw_errmsg());
		else if (s->run_dir[0])
			logf_(s, "interrupted: checkpoint at %s, epoch %d, batch %d", o.phase, c.epochs_done + 1,
			      c.batches_done);
		return luaL_error(L, "%s", INTERRUPTED);
	}
	if (c.err)
		return lua_error(L); /* the callback's message is on top */
	if (rc < 0)
		return fail(L);
	if (save_checkpoint(s, m, phase_index, o.phase, c.epochs_done, 0, c.step, 1) < 0)
		logf_(s, "warning: phase checkpoint not written: %s", thaw_errmsg());
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
	thaw_script *s = host(L);
	thaw_model *m = checkmodel(L, 1);
	thaw_dataset *d = checkdata(L, 2);
	lua_settop(L, 3);
	check_keys(L, 3, "thaw.evaluate", keys);
	char defname[32];
	snprintf(defname, sizeof defname, "eval%d", ++s->evals);
	const char *name = opt_str(L, 3, "name", defname);
	int batch = opt_int(L, 3, "batch", 256), topk = opt_int(L, 3, "topk", 5);
	d = conform(L, m, d, "evaluation");
	if (s->last_model == LUA_NOREF)
		set_last_model(L, s, 1);
	int K = (int)thaw_shape_sample(thaw_model_output_shape(m));
	thaw_metrics *mt = thaw_metrics_new(K, topk);
	if (!mt)
		return fail(L);
	if (thaw_evaluate(m, d, batch, mt) < 0) {
		thaw_metrics_free(mt);
		return fail(L);
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
	thaw_model *m = checkmodel(L, 1);
	int K = thaw_model_class_count(m);
	if (K < 0)
		return fail(L);
	thaw_prediction one;
	if (lua_type(L, 2) == LUA_TSTRING) {
		const char *path = lua_tostring(L, 2);
		if (thaw_predict_file(m, path, &one, 0, NULL, NULL) < 0)
			return fail(L);
		lua_pushinteger(L, one.cls);
		lua_pushnumber(L, one.conf);
		lua_pushstring(L, m->n_classes == K ? m->class_names[one.cls] : "");
		return 3;
	}
	thaw_dataset *d = checkdata(L, 2);
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
			return fail(L);
		lua_pushinteger(L, one.cls);
		lua_pushnumber(L, one.conf);
		lua_pushstring(L, names ? names[one.cls] : "");
		return 3;
	}
	thaw_prediction *p = lua_newuserdatauv(L, sizeof *p * (size_t)(d->n ? d->n : 1), 0);
	if (thaw_predict(m, d, 256, p, 0, NULL, NULL) < 0)
		return fail(L);
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

/* thaw.run_dir(): the run folder of `thaw run` (nil when there is none). */
/* thaw.transfer(model, data [, {cut =, head =, freeze =, force =}]): the
 * transfer recipe of thaw_transfer (include/thaw/transfer.h) on the model
 * in place. Returns the list of lines saying what it did and whether the
 * model got a new head. */
static int l_transfer(lua_State *L)
{
	static const char *const keys[] = {"cut", "head", "freeze", "force", NULL};
	thaw_model *m = checkidle(L, 1);
	thaw_dataset *d = checkdata(L, 2);
	check_keys(L, 3, "thaw.transfer", keys);
	thaw_transfer_opts o = thaw_transfer_opts_default();
	o.cut = opt_str(L, 3, "cut", NULL);
	o.head_name = opt_str(L, 3, "head", NULL);
	o.freeze = opt_bool(L, 3, "freeze", 1);
	o.force = opt_bool(L, 3, "force", 0);
	lua_createtable(L, 8, 0); /* made first: nothing below raises while the notes are held */
	thaw_notes nt = {0};
	int rc = thaw_transfer(m, d, &o, &nt);
	for (int i = 0; i < nt.n; i++) {
		lua_pushstring(L, nt.line[i]);
		lua_rawseti(L, -2, i + 1);
	}
	thaw_notes_free(&nt);
	if (rc < 0)
		return fail(L);
	lua_pushboolean(L, rc == 1);
	return 2;
}

static int l_run_dir(lua_State *L)
{
	thaw_script *s = host(L);
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
		return fail(L);
	lua_pushstring(L, path);
	return 1;
}

static int l_seed(lua_State *L)
{
	thaw_script *s = host(L);
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
	thaw_script *s = host(L);
	luaL_checkany(L, 1);
	int ok = lua_toboolean(L, 1);
	const char *msg = luaL_optstring(L, 2, "check");
	lua_Debug ar;
	char where[256] = "?";
	if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar))
		snprintf(where, sizeof where, "%s:%d", ar.short_src, ar.currentline);
	if (ok) {
		s->checks_ok++;
		logf_(s, "check passed: %s", msg);
	} else {
		s->checks_failed++;
		logf_(s, "check FAILED: %s (%s)", msg, where);
		size_t len = strlen(s->err);
		snprintf(s->err + len, sizeof s->err - len, "%scheck failed: %s (%s)", len ? "\n" : "", msg,
			 where);
	}
	lua_pushboolean(L, ok);
	return 1;
}

/* print() goes to the host's log (the workbench shows it in its log pane). */
static int l_print(lua_State *L)
{
	thaw_script *s = host(L);
	int n = lua_gettop(L); /* before the buffer puts anything on the stack */
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (int i = 1; i <= n; i++) {
		size_t len;
		const char *t = luaL_tolstring(L, i, &len);
		if (i > 1)
			luaL_addchar(&b, '\t');
		luaL_addvalue(&b);
		(void)t;
	}
	luaL_pushresult(&b);
	if (s->h.on_log)
		s->h.on_log(lua_tostring(L, -1), s->h.user);
	else
		printf("%s\n", lua_tostring(L, -1));
	return 0;
}

static const char *const layer_kinds[] = {"dense",   "conv2d",  "maxpool", "avgpool", "globalavgpool",
					  "batchnorm", "relu",  "relu6",   "leaky_relu", "sigmoid",
					  "tanh",    "gelu",    "dropout", "flatten", "add",
					  "concat",  NULL};

static int luaopen_thaw(lua_State *L)
{
	static const luaL_Reg fns[] = {{"load", l_load},   {"import", l_import},     {"model", l_model_new},
				       {"reference_cnn", l_reference_cnn}, {"fit", l_fit},
				       {"evaluate", l_evaluate}, {"predict", l_predict}, {"seed", l_seed},
				       {"transfer", l_transfer},
				       {"run_dir", l_run_dir}, {"clock", l_clock}, {"asset", l_asset},
				       {"check", l_check}, {NULL, NULL}};
	static const luaL_Reg data_fns[] = {{"open", l_data_open},     {"fashion_mnist", l_data_fashion},
					    {"folder", l_data_folder}, {"synthetic", l_data_synthetic},
					    {NULL, NULL}};
	luaL_newlib(L, fns);
	luaL_newlib(L, data_fns);
	lua_setfield(L, -2, "data");
	lua_newtable(L);
	for (int i = 0; layer_kinds[i]; i++) {
		lua_pushstring(L, layer_kinds[i]);
		lua_pushcclosure(L, l_layer_ctor, 1);
		lua_setfield(L, -2, layer_kinds[i]);
	}
	lua_setfield(L, -2, "nn");
	lua_pushstring(L, "0.1");
	lua_setfield(L, -2, "version");
	return 1;
}

static void make_metatables(lua_State *L)
{
	luaL_newmetatable(L, MODEL_MT);
	static const luaL_Reg mm[] = {{"__index", l_model_index}, {"__gc", l_model_gc},
				      {"__close", l_model_gc},    {"__tostring", l_model_tostring},
				      {"__len", l_model_len},     {NULL, NULL}};
	luaL_setfuncs(L, mm, 0);
	lua_pop(L, 1);
	luaL_newmetatable(L, DATA_MT);
	static const luaL_Reg dm[] = {{"__index", l_data_index}, {"__gc", l_data_gc},
				      {"__close", l_data_gc},    {"__tostring", l_data_tostring},
				      {"__len", l_data_len},     {NULL, NULL}};
	luaL_setfuncs(L, dm, 0);
	lua_pop(L, 1);
	luaL_newmetatable(L, LAYER_MT);
	lua_pushcfunction(L, l_layer_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pop(L, 1);
}

/* ---- the host side */

/* Every 10000 instructions: a stop asked for outside thaw.fit (a script
 * busy in Lua code) ends the run too. */
static void stop_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	thaw_script *s = host(L);
	if (!s->interrupted && s->h.should_stop && s->h.should_stop(s->h.user)) {
		s->interrupted = 1;
		luaL_error(L, "%s", INTERRUPTED);
	}
}
static int traceback(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);
	if (!msg)
		msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	luaL_traceback(L, L, msg, 1);
	return 1;
}

thaw_script *thaw_script_new(const thaw_script_hooks *hooks, const thaw_script_config *cfg)
{
	thaw_script *s = thaw_calloc(1, sizeof *s);
	if (!s)
		return NULL;
	if (hooks)
		s->h = *hooks;
	s->last_model = LUA_NOREF;
	s->seed = cfg ? cfg->seed : 1;
	if (cfg && cfg->run_dir)
		snprintf(s->run_dir, sizeof s->run_dir, "%s", cfg->run_dir);
	if (cfg && cfg->resume_dir) {
		snprintf(s->resume_dir, sizeof s->resume_dir, "%s", cfg->resume_dir);
		char path[PATH_MAX_ + 32];
		thaw_train_state st;
		checkpoint_path(path, sizeof path, s->resume_dir, 0);
		thaw_model *m = thaw_model_load(path, &st);
		if (!m) {
			thaw_error(THAW_EIO, "resume: %s", thaw_errmsg());
			free(s);
			return NULL;
		}
		thaw_model_free(m);
		if (!st.present || sscanf(st.optimizer, "phase_index=%d batch=%d", &s->resume_phase,
					  &s->resume_batch) != 2 || s->resume_phase < 1) {
			thaw_error(THAW_EFORMAT, "resume: %s holds no training position", path);
			free(s);
			return NULL;
		}
		s->resume_epoch = st.epoch;
		s->resume_step = (long)st.step;
	}
	lua_State *L = s->L = luaL_newstate();
	if (!L) {
		free(s);
		thaw_error(THAW_ENOMEM, "out of memory for the Lua state");
		return NULL;
	}
	luaL_openlibs(L);
	lua_pushlightuserdata(L, s);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &host_key);
	make_metatables(L);
	luaL_requiref(L, "thaw", luaopen_thaw, 0);
	lua_pop(L, 1);
	lua_pushcfunction(L, l_print);
	lua_setglobal(L, "print");
	/* require finds thaw's own Lua library (lua/) from the binary's path,
	 * whatever the working directory, before the user's LUA_PATH entries
	 * and Lua's defaults (already in package.path); thaw_script_run puts
	 * the script's own directory first */
	char lib[THAW_MAX_SHARE_DIRS * (2 * PATH_MAX_ + 40)] = "";
	const char *dirs[THAW_MAX_SHARE_DIRS];
	size_t len = 0;
	for (int i = 0, n = thaw_share_dirs(dirs); i < n; i++) {
		char d[PATH_MAX_ + 8];
		struct stat st;
		snprintf(d, sizeof d, "%s/lua", dirs[i]);
		if (stat(d, &st) == 0 && S_ISDIR(st.st_mode))
			len += (size_t)snprintf(lib + len, sizeof lib - len, "%s/?.lua;%s/?/init.lua;", d, d);
	}
	lua_getglobal(L, "package");
	lua_getfield(L, -1, "path");
	lua_pushfstring(L, "%s%s", lib, lua_tostring(L, -1));
	lua_setfield(L, -3, "path");
	lua_pop(L, 2);
	lua_createtable(L, cfg ? cfg->argc : 0, 1);
	for (int i = 0; cfg && i < cfg->argc; i++) {
		lua_pushstring(L, cfg->argv[i]);
		lua_seti(L, -2, i + 1);
	}
	lua_setglobal(L, "arg");
	return s;
}

void thaw_script_free(thaw_script *s)
{
	if (!s)
		return;
	if (s->L)
		lua_close(s->L);
	free(s);
}

int thaw_script_run(thaw_script *s, const char *path)
{
	lua_State *L = s->L;
	lua_pushcfunction(L, traceback);
	int h = lua_gettop(L);
	lua_getglobal(L, "arg");
	lua_pushstring(L, path);
	lua_seti(L, -2, 0);
	lua_pop(L, 1);
	/* a script requires its sibling modules wherever it is run from */
	char dir[PATH_MAX_];
	const char *slash = strrchr(path, '/');
	snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + (slash == path) : 1, slash ? path : ".");
	lua_getglobal(L, "package");
	lua_getfield(L, -1, "path");
	lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir, lua_tostring(L, -1));
	lua_setfield(L, -3, "path");
	lua_pop(L, 2);
	int rc = luaL_loadfile(L, path);
	if (s->h.should_stop)
		lua_sethook(L, stop_hook, LUA_MASKCOUNT, 10000);
	if (rc == LUA_OK)
		rc = lua_pcall(L, 0, 0, h);
	lua_sethook(L, NULL, 0, 0);
	if (s->interrupted) { /* also when the script caught the error */
		lua_settop(L, h - 1);
		snprintf(s->err, sizeof s->err, "interrupted");
		return THAW_RUN_INTERRUPTED;
	}
	if (rc != LUA_OK) {
		const char *msg = lua_tostring(L, -1);
		snprintf(s->err, sizeof s->err, "%s", msg ? msg : "(error object is not a string)");
		lua_settop(L, h - 1);
		return THAW_RUN_ERROR;
	}
	lua_settop(L, h - 1);
	return s->checks_failed ? THAW_RUN_CHECK : THAW_RUN_OK;
}

const char *thaw_script_error(const thaw_script *s) { return s ? s->err : ""; }

void thaw_script_resume_point(const thaw_script *s, int *phase, int *epochs)
{
	*phase = s->resume_phase;
	*epochs = s->resume_epoch;
}

int thaw_script_save_model(thaw_script *s, const char *path)
{
	if (s->last_model == LUA_NOREF)
		return 0;
	lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->last_model);
	lmodel *u = luaL_testudata(s->L, -1, MODEL_MT);
	int rc = (u && u->m) ? thaw_model_save(u->m, path, NULL) : 0;
	lua_pop(s->L, 1);
	return rc;
}

void thaw_script_checks(const thaw_script *s, int *passed, int *failed)
{
	if (passed)
		*passed = s->checks_ok;
	if (failed)
		*failed = s->checks_failed;
}
