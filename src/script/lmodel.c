/* Models in Lua: thaw.load/import/model/reference_cnn, the model userdata
 * and its graph surgery (layers come from thaw.nn.*, lnn.c). */
#include <stdlib.h>
#include <string.h>

#include "thaw/onnx.h"
#include "thaw/vocab.h"
#include "thaw/zoo.h"

#include "thaw/dist.h"

#include "lthaw.h"

thaw_model *lthaw_checkmodel(lua_State *L, int i)
{
	lmodel *u = luaL_checkudata(L, i, MODEL_MT);
	luaL_argcheck(L, u->m != NULL, i, "the model is closed");
	return u->m;
}

/* For calls that change the graph or free the model: not while training. */
thaw_model *lthaw_checkidle(lua_State *L, int i)
{
	thaw_model *m = lthaw_checkmodel(L, i);
	lmodel *u = lua_touserdata(L, i);
	if (u->busy)
		luaL_error(L, "the model is being trained by thaw.fit: it cannot be closed or changed in shape now");
	return m;
}

lmodel *lthaw_newmodel(lua_State *L)
{
	lmodel *u = lua_newuserdatauv(L, sizeof *u, 0);
	u->m = NULL;
	u->busy = 0;
	luaL_setmetatable(L, MODEL_MT);
	return u;
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
	lthaw_check_keys(L, 1, "thaw.model", keys);
	int in[3] = {1, 28, 28};
	struct thaw_vocab *v = NULL;
	lua_getfield(L, 1, "input");
	if (lua_isuserdata(L, -1)) { /* input = text data or a text model: its length and vocabulary */
		v = lthaw_tovocab(L, lua_gettop(L), &in[2]);
		in[0] = in[1] = 1;
	} else {
		int n = lthaw_opt_int_list(L, 1, "input", in, 3);
		luaL_argcheck(L, n == 0 || n == 3, 1, "input = {channels, height, width} or text data");
	}
	lmodel *u = lthaw_newmodel(L);
	if (!(u->m = thaw_model_new(in[0], in[1], in[2], lthaw_opt_seed(L, 1, "seed", lthaw_host(L)->seed))))
		return lthaw_fail(L);
	thaw_model_set_vocab(u->m, v);
	return 1;
}

static int l_reference_cnn(lua_State *L)
{
	static const char *const keys[] = {"input", "classes", "seed", NULL};
	lthaw_check_keys(L, 1, "thaw.reference_cnn", keys);
	int in[3] = {1, 28, 28};
	lthaw_opt_int_list(L, 1, "input", in, 3);
	lmodel *u = lthaw_newmodel(L);
	u->m = thaw_zoo_reference_cnn(in[0], in[1], in[2], lthaw_opt_int(L, 1, "classes", 10),
				      lthaw_opt_seed(L, 1, "seed", lthaw_host(L)->seed));
	if (!u->m)
		return lthaw_fail(L);
	return 1;
}

/* The library's warnings (a file's stale class names dropped) go to the log. */
static void log_warnings(lua_State *L)
{
	for (const char *w; (w = thaw_warning_next());)
		lthaw_logf(lthaw_host(L), "warning: %s", w);
}

static int l_load(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	lmodel *u = lthaw_newmodel(L);
	u->m = thaw_model_load(path, NULL);
	log_warnings(L);
	lthaw_safepoint(L);
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
	lmodel *u = lthaw_newmodel(L);
	thaw_onnx_info info;
	u->m = thaw_onnx_import(path, &info);
	log_warnings(L);
	lthaw_safepoint(L);
	if (!u->m) {
		lua_pushnil(L);
		lua_pushstring(L, thaw_errmsg());
		return 2;
	}
	if (info.softmax)
		lthaw_logf(lthaw_host(L), "import %s: the final Softmax was dropped (thaw trains on logits)", path);
	return 1;
}

/* An embedding added with vectors = thaw.vectors(...) starts from them; with
 * vectors or vocab = (text data or model), the model takes that vocabulary. */
static void embedding_from(lua_State *L, thaw_model *m, int k)
{
	thaw_node *n = m->nodes[k];
	const float *w;
	int rows, dim;
	struct thaw_vocab *v = NULL;
	lua_getfield(L, 2, "vectors");
	if (!lua_isnil(L, -1) && lthaw_vec_rows(L, lua_gettop(L), &w, &rows, &dim, &v)) {
		if (rows != n->a.words || dim != n->a.dim) {
			thaw_model_pop(m);
			luaL_error(L, "embedding: the vectors are %dx%d, the layer %dx%d", rows, dim, n->a.words, n->a.dim);
		}
		memcpy(n->p[0].w, w, sizeof(float) * n->p[0].size);
	}
	lua_pop(L, 1);
	lua_getfield(L, 2, "vocab");
	if (!lua_isnil(L, -1))
		v = lthaw_tovocab(L, lua_gettop(L), NULL);
	lua_pop(L, 1);
	if (v)
		thaw_model_set_vocab(m, v);
}

static int l_model_add(lua_State *L)
{
	thaw_model *m = lthaw_checkidle(L, 1);
	thaw_attrs a = lthaw_layer_attrs(L, 2);
	const char *name = lthaw_opt_str(L, 2, "name", NULL);
	int in[THAW_MAX_INPUTS], n_in = 0;
	lua_getfield(L, 2, "inputs");
	if (lua_isnil(L, -1) && a.kind == THAW_POOL_TIME && m->n > 0 && lthaw_opt_bool(L, 2, "mask", 1)) {
		in[0] = m->n - 1; /* the previous node, masked by the token ids of the model input */
		in[1] = -1;
		n_in = 2;
	} else if (!lua_isnil(L, -1)) {
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
		return lthaw_fail(L);
	m->nodes[k]->trainable = lthaw_opt_bool(L, 2, "trainable", 1);
	if (thaw_model_set_lr_mult(m, k, (float)lthaw_opt_num(L, 2, "lr_mult", 1.0)) < 0)
		return lthaw_fail(L);
	if (a.kind == THAW_EMBEDDING)
		embedding_from(L, m, k);
	lua_pushinteger(L, k + 1);
	return 1;
}

static int l_model_insert(lua_State *L)
{
	thaw_model *m = lthaw_checkidle(L, 1);
	int pos = node_ref(L, m, 2);
	if (pos < 0)
		return luaL_error(L, "insert: give the node to insert before (name or 1..%d)", m->n);
	thaw_attrs a = lthaw_layer_attrs(L, 3);
	lua_getfield(L, 3, "inputs");
	if (!lua_isnil(L, -1))
		return luaL_error(L, "insert: the new layer reads what node %d read; 'inputs' does not apply", pos + 1);
	lua_pop(L, 1);
	if (thaw_model_insert(m, pos, lthaw_opt_str(L, 3, "name", NULL), &a) < 0)
		return lthaw_fail(L);
	m->nodes[pos]->trainable = lthaw_opt_bool(L, 3, "trainable", 1);
	if (thaw_model_set_lr_mult(m, pos, (float)lthaw_opt_num(L, 3, "lr_mult", 1.0)) < 0)
		return lthaw_fail(L);
	lua_pushinteger(L, pos + 1);
	return 1;
}

static int l_model_pop(lua_State *L)
{
	thaw_model *m = lthaw_checkidle(L, 1);
	if (m->n == 0)
		return luaL_error(L, "pop: the model has no nodes");
	lua_pushstring(L, m->nodes[m->n - 1]->name);
	if (thaw_model_pop(m) < 0)
		return lthaw_fail(L);
	return 1;
}

static int l_model_truncate(lua_State *L)
{
	thaw_model *m = lthaw_checkidle(L, 1);
	int k = node_ref(L, m, 2);
	if (k < 0 || thaw_model_truncate(m, m->nodes[k]->name) < 0)
		return k < 0 ? luaL_error(L, "truncate: cannot cut at the input") : lthaw_fail(L);
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
			lthaw_fail(L);
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
	thaw_model *m = lthaw_checkmodel(L, 1);
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
	thaw_model *m = lthaw_checkmodel(L, 1);
	float x = (float)luaL_checknumber(L, 3);
	lua_settop(L, 3);
	char *mark = lua_newuserdatauv(L, (size_t)(m->n ? m->n : 1), 0);
	memset(mark, 0, (size_t)m->n);
	select_nodes(L, m, 2, mark);
	for (int k = 0; k < m->n; k++)
		if (mark[k] && thaw_model_set_lr_mult(m, k, x) < 0)
			return lthaw_fail(L);
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
	thaw_model *m = lthaw_checkmodel(L, 1);
	char *text = thaw_model_summary(m);
	if (!text)
		return lthaw_fail(L);
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
	thaw_model *m = lthaw_checkmodel(L, 1);
	int k = node_ref(L, m, 2);
	if (k < 0)
		return luaL_error(L, "the input is not a layer");
	push_node_info(L, m, k);
	return 1;
}

/* m:save(path [, {optimizer = false}]): without the optimizer state the
 * file holds just the model (a base to share); the next thaw.fit would
 * start that state afresh anyway. */
/* A save the script asked for failed: it raises, and the run fails at its
 * end even when the script catches the error (status "save-failed"). */
static int save_failed(lua_State *L, const char *path)
{
	thaw_run_save_failed(lthaw_host(L)->run, path, thaw_errmsg());
	return lthaw_fail(L);
}

static int l_model_save(lua_State *L)
{
	static const char *const keys[] = {"optimizer", NULL};
	thaw_model *m = lthaw_checkmodel(L, 1);
	const char *path = luaL_checkstring(L, 2);
	lua_settop(L, 3);
	lthaw_check_keys(L, 3, "save", keys);
	if (!lthaw_opt_bool(L, 3, "optimizer", 1))
		thaw_model_reset_opt_state(m);
	if (thaw_dist_writer() && thaw_model_save(m, path, NULL) < 0) /* MPI: rank 0 writes */
		return save_failed(L, path);
	return 0;
}

static int l_model_export(lua_State *L)
{
	thaw_model *m = lthaw_checkmodel(L, 1);
	const char *path = luaL_checkstring(L, 2);
	if (thaw_dist_writer() && thaw_onnx_export(m, path) < 0)
		return save_failed(L, path);
	return 0;
}

static int l_model_set_classes(lua_State *L)
{
	thaw_model *m = lthaw_checkmodel(L, 1);
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
		return lthaw_fail(L);
	return 0;
}

/* m:normalize{mean = {...}, std = {...}} or m:normalize("imagenet"): the
 * input normalisation (0..1 scale) the model was trained with; ONNX files
 * do not carry it. Presets: thaw_input_preset (data.h). */
static int l_model_normalize(lua_State *L)
{
	static const char *const keys[] = {"mean", "std", NULL};
	thaw_model *m = lthaw_checkmodel(L, 1);
	if (lua_type(L, 2) == LUA_TSTRING) {
		if (thaw_input_preset(&m->input, lua_tostring(L, 2)) < 0)
			return luaL_argerror(L, 2, thaw_errmsg());
		return 0;
	}
	luaL_argexpected(L, lua_istable(L, 2), 2, "a preset name or {mean = ..., std = ...}");
	lua_settop(L, 2);
	lthaw_check_keys(L, 2, "normalize", keys);
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
				return luaL_error(L, "normalize: std must be > 0 (channel %d is %f)", c + 1, (double)v);
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
	thaw_model *m = lthaw_checkmodel(L, 1);
	thaw_resize_mode mode;
	if (thaw_resize_mode_parse(luaL_checkstring(L, 2), &mode) < 0)
		return luaL_argerror(L, 2, thaw_errmsg());
	m->input.resize = mode;
	return 0;
}

static int l_model_reinit(lua_State *L)
{
	thaw_model *m = lthaw_checkidle(L, 1);
	thaw_model_reinit(m, (uint64_t)luaL_optinteger(L, 2, (lua_Integer)lthaw_host(L)->seed));
	return 0;
}

static int l_model_gc(lua_State *L)
{
	lmodel *u = luaL_checkudata(L, 1, MODEL_MT);
	if (u->busy)
		return luaL_error(L, "the model is being trained by thaw.fit: it cannot be closed now");
	/* closing the run's last model hands it to the host, which still saves
	 * it as model.thaw: the script is done with it, the run is not */
	thaw_script *s = lthaw_host(L);
	int last = 0;
	if (u->m && s && s->last_model != LUA_NOREF) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, s->last_model);
		last = lua_touserdata(L, -1) == (void *)u;
		lua_pop(L, 1);
	}
	if (last) {
		thaw_model_free(s->kept);
		s->kept = u->m;
	} else {
		thaw_model_free(u->m);
	}
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
	lua_pushinteger(L, lthaw_checkmodel(L, 1)->n);
	return 1;
}

static int l_model_layers(lua_State *L)
{
	thaw_model *m = lthaw_checkmodel(L, 1);
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

/* Properties: m.n, m.classes, m.resize, m.input, m.output, m.mean, m.std
 * (the model is open). */
static int l_model_n(lua_State *L)
{
	lua_pushinteger(L, lthaw_checkmodel(L, 1)->n);
	return 1;
}

static int l_model_classes(lua_State *L)
{
	thaw_model *m = lthaw_checkmodel(L, 1);
	lthaw_push_names(L, m->class_names, m->n_classes);
	return 1;
}

static int l_model_resize(lua_State *L)
{
	lua_pushstring(L, thaw_resize_mode_name((thaw_resize_mode)lthaw_checkmodel(L, 1)->input.resize));
	return 1;
}

static int l_model_input(lua_State *L)
{
	thaw_model *m = lthaw_checkmodel(L, 1);
	thaw_shape s = {1, m->input.c, m->input.h, m->input.w};
	push_shape(L, s);
	return 1;
}

static int l_model_output(lua_State *L)
{
	push_shape(L, thaw_model_output_shape(lthaw_checkmodel(L, 1)));
	return 1;
}

static int push_channels(lua_State *L, const thaw_model *m, const float *v)
{
	int C = m->input.c < THAW_MAX_CHANNELS ? m->input.c : THAW_MAX_CHANNELS;
	lua_createtable(L, C, 0);
	for (int c = 0; c < C; c++) {
		lua_pushnumber(L, v[c]);
		lua_seti(L, -2, c + 1);
	}
	return 1;
}

static int l_model_mean(lua_State *L)
{
	thaw_model *m = lthaw_checkmodel(L, 1);
	return push_channels(L, m, m->input.mean);
}

static int l_model_std(lua_State *L)
{
	thaw_model *m = lthaw_checkmodel(L, 1);
	return push_channels(L, m, m->input.std);
}

static const luaL_Reg model_props[] = {
	{"n", l_model_n},         {"classes", l_model_classes}, {"resize", l_model_resize},
	{"input", l_model_input}, {"output", l_model_output},   {"mean", l_model_mean},
	{"std", l_model_std},     {NULL, NULL}};

static int l_model_index(lua_State *L)
{
	lmodel *u = luaL_checkudata(L, 1, MODEL_MT);
	lua_CFunction get;
	if (lthaw_index(L, &get))
		return 1;
	if (!u->m)
		return luaL_error(L, "the model is closed");
	if (!get) {
		lua_pushnil(L);
		return 1;
	}
	return get(L);
}


void lthaw_open_model(lua_State *L)
{
	static const luaL_Reg fns[] = {{"load", l_load},
				       {"import", l_import},
				       {"model", l_model_new},
				       {"reference_cnn", l_reference_cnn},
				       {NULL, NULL}};
	static const luaL_Reg meta[] = {{"__gc", l_model_gc},
					{"__close", l_model_gc},
					{"__tostring", l_model_tostring},
					{"__len", l_model_len},
					{NULL, NULL}};
	lthaw_newclass(L, MODEL_MT, meta, model_methods, model_props, l_model_index);
	luaL_setfuncs(L, fns, 0);
}
