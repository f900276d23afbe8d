/* thaw.data.*: data sets as userdata (one metatable, freed by __gc and
 * __close), opened from files, folders or made up, and cut into parts. */
#include <string.h>

#include "thaw/text.h"
#include "thaw/dist.h"

#include "lthaw.h"

thaw_dataset *lthaw_checkdata(lua_State *L, int i)
{
	ldata *u = luaL_checkudata(L, i, DATA_MT);
	luaL_argcheck(L, u->d != NULL, i, "the data set is closed");
	return u->d;
}

ldata *lthaw_newdata(lua_State *L)
{
	ldata *u = lua_newuserdatauv(L, sizeof *u, 0);
	u->d = NULL;
	u->busy = 0;
	luaL_setmetatable(L, DATA_MT);
	return u;
}

/* ---- data sets */
static const char *const open_keys[] = {"split", "classes", "per_class", "seed", NULL};
static const char *const fashion_keys[] = {"split", "path", "classes", "per_class", "seed", NULL};
static const char *const folder_keys[] = {"path",      "size", "channels", "resize", "skip_bad",
					  "classes",   "per_class", "seed",   NULL};

/* Applies classes= and per_class= of the options table to *d (replacing it). */
void lthaw_apply_selection(lua_State *L, int t, thaw_dataset **d)
{
	thaw_script *s = lthaw_host(L);
	int cls[1024], k = lthaw_opt_int_list(L, t, "classes", cls, 1024);
	if (k > 0) {
		thaw_dataset *x = thaw_dataset_select_classes(*d, cls, k);
		if (!x) {
			thaw_dataset_free(*d);
			*d = NULL;
			lthaw_fail(L);
		}
		thaw_dataset_free(*d);
		*d = x;
	}
	int per = lthaw_opt_int(L, t, "per_class", 0);
	if (per > 0) {
		uint64_t seed = lthaw_opt_seed(L, t, "seed", s->seed);
		thaw_dataset *x = thaw_dataset_per_class(*d, per, seed);
		if (!x) {
			thaw_dataset_free(*d);
			*d = NULL;
			lthaw_fail(L);
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
	lthaw_safepoint(L); /* Ctrl-C while it loaded */
	lthaw_apply_selection(L, t, &u->d);
	return 1;
}

static int l_data_open(lua_State *L)
{
	const char *spec = luaL_checkstring(L, 1);
	lua_settop(L, 2); /* the options slot stays put under the new userdata */
	lthaw_check_keys(L, 2, "thaw.data.open", open_keys);
	const char *split = lthaw_opt_str(L, 2, "split", NULL);
	if (split) /* open("fashion-mnist", {split = "test"}) is "fashion-mnist:test" */
		spec = lua_pushfstring(L, "%s:%s", spec, split);
	ldata *u = lthaw_newdata(L);
	return push_opened(L, 2, u, thaw_dataset_open(spec));
}

static int l_data_fashion(lua_State *L)
{
	lua_settop(L, 1);
	lthaw_check_keys(L, 1, "thaw.data.fashion_mnist", fashion_keys);
	const char *split = lthaw_opt_str(L, 1, "split", "train");
	if (strcmp(split, "train") != 0 && strcmp(split, "test") != 0)
		return luaL_error(L, "thaw.data.fashion_mnist: split must be 'train' or 'test' (got '%s')", split);
	const char *dir = lthaw_opt_str(L, 1, "path", NULL);
	ldata *u = lthaw_newdata(L);
	return push_opened(L, 1, u, thaw_fashion_mnist(dir, strcmp(split, "test") == 0));
}

static int l_data_folder(lua_State *L)
{
	const char *path;
	int t = lthaw_path_args(L, "thaw.data.folder", folder_keys, "a folder path", &path);
	int size[2] = {0, 0};
	int ns = lthaw_opt_int_list(L, t, "size", size, 2);
	if (ns == 1)
		size[1] = size[0];
	thaw_image_opts o = thaw_image_opts_default();
	o.c = lthaw_opt_int(L, t, "channels", 0);
	o.h = size[0], o.w = size[1];
	const char *resize = lthaw_opt_str(L, t, "resize", NULL);
	if (resize && thaw_resize_mode_parse(resize, &o.resize) < 0)
		return luaL_error(L, "thaw.data.folder: %s", thaw_errmsg());
	o.skip_bad = lthaw_opt_bool(L, t, "skip_bad", 0);
	ldata *u = lthaw_newdata(L);
	thaw_dataset *d = thaw_folder_load_opts(path, &o);
	/* what was skipped goes to the log, a line each, like print() */
	const char *pos = d ? d->notes : NULL, *line;
	for (int n; (line = thaw_note_next(&pos, &n));)
		lthaw_logf(lthaw_host(L), "%s: %.*s", path, n, line);
	return push_opened(L, t, u, d);
}

static int l_data_synthetic(lua_State *L)
{
	static const char *const keys[] = {"n", "classes", "size", "channels", "seed", "noise", NULL};
	lua_settop(L, 1);
	lthaw_check_keys(L, 1, "thaw.data.synthetic", keys);
	thaw_synth_opts o = thaw_synth_opts_default();
	o.n = lthaw_opt_int(L, 1, "n", o.n);
	o.classes = lthaw_opt_int(L, 1, "classes", o.classes);
	o.c = lthaw_opt_int(L, 1, "channels", o.c);
	o.seed = lthaw_opt_seed(L, 1, "seed", lthaw_host(L)->seed);
	o.noise = (float)lthaw_opt_num(L, 1, "noise", o.noise);
	int size[2] = {o.h, o.w};
	if (lthaw_opt_int_list(L, 1, "size", size, 2) == 1)
		size[1] = size[0];
	o.h = size[0];
	o.w = size[1];
	ldata *u = lthaw_newdata(L);
	thaw_dataset *d = thaw_synth(&o);
	if (!d)
		return lthaw_fail(L);
	u->d = d;
	return 1;
}

static int l_data_select(lua_State *L)
{
	thaw_dataset *d = lthaw_checkdata(L, 1);
	luaL_checktype(L, 2, LUA_TTABLE);
	int cls[1024], n = (int)luaL_len(L, 2);
	luaL_argcheck(L, n > 0 && n <= 1024, 2, "a list of 1 to 1024 class numbers");
	for (int i = 0; i < n; i++) {
		lua_geti(L, 2, i + 1);
		cls[i] = (int)luaL_checkinteger(L, -1);
		lua_pop(L, 1);
	}
	ldata *u = lthaw_newdata(L);
	if (!(u->d = thaw_dataset_select_classes(d, cls, n)))
		return lthaw_fail(L);
	return 1;
}

static int l_data_per_class(lua_State *L)
{
	thaw_dataset *d = lthaw_checkdata(L, 1);
	int k = (int)luaL_checkinteger(L, 2);
	uint64_t seed = (uint64_t)luaL_optinteger(L, 3, (lua_Integer)lthaw_host(L)->seed);
	ldata *u = lthaw_newdata(L);
	if (!(u->d = thaw_dataset_per_class(d, k, seed)))
		return lthaw_fail(L);
	return 1;
}

static int l_data_split(lua_State *L)
{
	thaw_dataset *d = lthaw_checkdata(L, 1);
	double frac = luaL_checknumber(L, 2);
	luaL_argcheck(L, frac > 0 && frac < 1, 2, "the validation fraction must be in (0, 1)");
	uint64_t seed = (uint64_t)luaL_optinteger(L, 3, (lua_Integer)lthaw_host(L)->seed);
	ldata *a = lthaw_newdata(L), *b = lthaw_newdata(L);
	if (thaw_dataset_split(d, (float)frac, seed, &a->d, &b->d) < 0)
		return lthaw_fail(L);
	return 2;
}

static int l_data_join(lua_State *L)
{
	thaw_dataset *a = lthaw_checkdata(L, 1), *b = lthaw_checkdata(L, 2);
	ldata *u = lthaw_newdata(L);
	if (!(u->d = thaw_dataset_join(a, b)))
		return lthaw_fail(L);
	return 1;
}

static int l_data_to_model(lua_State *L)
{
	thaw_dataset *d = lthaw_checkdata(L, 1);
	thaw_model *m = lthaw_checkmodel(L, 2);
	char desc[256];
	ldata *u = lthaw_newdata(L);
	if (!(u->d = thaw_dataset_for_model(d, m, desc, sizeof desc)))
		return lthaw_fail(L);
	lua_pushstring(L, desc);
	return 2;
}

static int l_data_grid(lua_State *L)
{
	thaw_dataset *d = lthaw_checkdata(L, 1);
	const char *path = luaL_checkstring(L, 2);
	int per_row = (int)luaL_optinteger(L, 3, 8);
	if (thaw_dist_writer() && thaw_dataset_grid_png(d, path, per_row, lthaw_host(L)->seed) < 0)
		return lthaw_fail(L);
	return 0;
}

static int l_data_counts(lua_State *L)
{
	thaw_dataset *d = lthaw_checkdata(L, 1);
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
	else if (u->d->ids)
		lua_pushfstring(L, "thaw.data '%s': %d texts of %d tokens, %d words, %d classes", u->d->source, u->d->n,
				u->d->w, u->d->vocab->n, u->d->n_classes);
	else
		lua_pushfstring(L, "thaw.data '%s': %d images of %dx%dx%d, %d classes", u->d->source, u->d->n,
				u->d->c, u->d->h, u->d->w, u->d->n_classes);
	return 1;
}

static int l_data_len(lua_State *L)
{
	lua_pushinteger(L, lthaw_checkdata(L, 1)->n);
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

void lthaw_push_names(lua_State *L, char **names, int n)
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
	{"counts", l_data_counts}, {"close", l_data_gc},
	{"fit_vocab", lthaw_data_fit_vocab}, {"with_vocab", lthaw_data_with_vocab}, {"relength", lthaw_data_relength},
	{"sample", lthaw_data_sample}, {"text_stats", lthaw_data_text_stats}, {NULL, NULL}};

/* Properties: d.n, d.classes, d.shape, d.source (the data set is open). */
static int l_data_n(lua_State *L)
{
	lua_pushinteger(L, lthaw_checkdata(L, 1)->n);
	return 1;
}

static int l_data_classes(lua_State *L)
{
	thaw_dataset *d = lthaw_checkdata(L, 1);
	lthaw_push_names(L, d->class_names, d->n_classes);
	return 1;
}

static int l_data_shape(lua_State *L)
{
	thaw_dataset *d = lthaw_checkdata(L, 1);
	lua_createtable(L, 3, 0);
	int v[3] = {d->c, d->h, d->w};
	for (int i = 0; i < 3; i++) {
		lua_pushinteger(L, v[i]);
		lua_seti(L, -2, i + 1);
	}
	return 1;
}

static int l_data_source(lua_State *L)
{
	lua_pushstring(L, lthaw_checkdata(L, 1)->source);
	return 1;
}

static int l_data_is_text(lua_State *L)
{
	lua_pushboolean(L, lthaw_checkdata(L, 1)->ids != NULL);
	return 1;
}

static int l_data_vocab_size(lua_State *L)
{
	thaw_dataset *d = lthaw_checkdata(L, 1);
	lua_pushinteger(L, d->vocab ? d->vocab->n : 0);
	return 1;
}

static const luaL_Reg data_props[] = {{"n", l_data_n},           {"classes", l_data_classes},
				      {"text", l_data_is_text},  {"vocab_size", l_data_vocab_size},
				      {"shape", l_data_shape},   {"source", l_data_source},
				      {NULL, NULL}};

static int l_data_index(lua_State *L)
{
	ldata *u = luaL_checkudata(L, 1, DATA_MT);
	lua_CFunction get;
	if (lthaw_index(L, &get))
		return 1;
	if (!u->d)
		return luaL_error(L, "the data set is closed");
	if (!get) {
		lua_pushnil(L);
		return 1;
	}
	return get(L);
}

void lthaw_open_data(lua_State *L)
{
	static const luaL_Reg data_fns[] = {{"open", l_data_open},     {"fashion_mnist", l_data_fashion},
					    {"folder", l_data_folder}, {"synthetic", l_data_synthetic},
					    {NULL, NULL}};
	static const luaL_Reg meta[] = {{"__gc", l_data_gc},
					{"__close", l_data_gc},
					{"__tostring", l_data_tostring},
					{"__len", l_data_len},
					{NULL, NULL}};
	lthaw_newclass(L, DATA_MT, meta, data_methods, data_props, l_data_index);
	luaL_newlib(L, data_fns);
	lua_setfield(L, -2, "data");
}
