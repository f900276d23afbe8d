/* Text in Lua: thaw.data.text / thaw.data.texts (text data sets), the text
 * methods of data sets (fit_vocab, with_vocab, relength, sample,
 * text_stats) and thaw.vectors (pretrained word vectors for an embedding). */
#include <stdlib.h>
#include <string.h>

#include "thaw/text.h"
#include "thaw/wordvec.h"

#include "lthaw.h"

/* ---- the vocabulary a value stands for: a text data set or a text model */
thaw_vocab *lthaw_tovocab(lua_State *L, int i, int *length)
{
	ldata *d = luaL_testudata(L, i, DATA_MT);
	if (d && d->d) {
		if (!d->d->ids)
			luaL_error(L, "the data set '%s' holds images, not text", d->d->source);
		if (length)
			*length = d->d->w;
		return d->d->vocab;
	}
	lmodel *m = luaL_testudata(L, i, MODEL_MT);
	if (m && m->m) {
		if (!m->m->vocab)
			luaL_error(L, "the model has no vocabulary (it was not trained on text)");
		if (length)
			*length = m->m->input.w;
		return m->m->vocab;
	}
	luaL_error(L, "expected a text data set or a text model for the vocabulary (got %s)", luaL_typename(L, i));
	return NULL;
}

/* ---- thaw.data.text / texts */
static void read_text_opts(lua_State *L, int t, thaw_text_opts *o)
{
	o->lower = lthaw_opt_bool(L, t, "lower", 1);
	o->header = lthaw_opt_bool(L, t, "header", 0);
	const char *sep = lthaw_opt_str(L, t, "sep", NULL);
	if (sep) {
		if (!strcmp(sep, "tab") || !strcmp(sep, "\t"))
			o->delim = '\t';
		else if (!strcmp(sep, ","))
			o->delim = ',';
		else
			luaL_error(L, "sep must be ',' or 'tab' (got '%s')", sep);
	}
	o->min_count = lthaw_opt_int(L, t, "min_count", 1);
	o->max_words = lthaw_opt_int(L, t, "max_words", 0);
	o->percentile = (float)lthaw_opt_num(L, t, "percentile", 95);
	luaL_argcheck(L, o->percentile > 0 && o->percentile <= 100, t, "percentile must be in (0, 100]");
	lua_getfield(L, t, "vocab");
	if (!lua_isnil(L, -1))
		o->vocab = lthaw_tovocab(L, lua_gettop(L), &o->length);
	lua_pop(L, 1);
	o->length = lthaw_opt_int(L, t, "length", o->length);
	luaL_argcheck(L, o->length >= 0, t, "length must be >= 0 (0: from the data)");
}

static int finish(lua_State *L, int t, ldata *u, thaw_dataset *d, const char *what)
{
	if (!d) {
		lua_pushnil(L);
		lua_pushstring(L, thaw_errmsg());
		return 2;
	}
	const char *pos = d->notes, *line;
	for (int n; (line = thaw_note_next(&pos, &n));)
		lthaw_logf(lthaw_host(L), "%s: %.*s", what, n, line);
	u->d = d;
	lthaw_safepoint(L); /* Ctrl-C while it loaded */
	if (t > 0)
		lthaw_apply_selection(L, t, &u->d);
	return 1;
}

static const char *const text_keys[] = {"path",     "header",    "sep",     "lower",   "length", "percentile",
					"min_count", "max_words", "vocab",   "classes", "per_class", "seed", NULL};

static int l_data_text(lua_State *L)
{
	const char *path;
	int t = lthaw_path_args(L, "thaw.data.text", text_keys, "a folder of class folders or a .tsv/.csv file", &path);
	thaw_text_opts o = thaw_text_opts_default();
	if (!lua_isnil(L, t))
		read_text_opts(L, t, &o);
	ldata *u = lthaw_newdata(L);
	return finish(L, t, u, thaw_text_load(path, &o), path);
}

static int l_data_texts(lua_State *L)
{
	static const char *const keys[] = {"texts",   "labels",   "classes",   "lower", "length", "percentile",
					   "min_count", "max_words", "vocab",   "source", NULL};
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	lthaw_check_keys(L, 1, "thaw.data.texts", keys);
	lua_getfield(L, 1, "texts");
	lua_getfield(L, 1, "labels");
	luaL_argcheck(L, lua_istable(L, 2) && lua_istable(L, 3), 1, "texts = {strings}, labels = {class numbers from 0}");
	int n = (int)luaL_len(L, 2);
	luaL_argcheck(L, (int)luaL_len(L, 3) == n, 1, "as many labels as texts");
	const char **texts = lua_newuserdatauv(L, sizeof(char *) * (size_t)(n ? n : 1), 0);
	int *labels = lua_newuserdatauv(L, sizeof(int) * (size_t)(n ? n : 1), 0);
	int K = 0;
	for (int i = 0; i < n; i++) {
		lua_geti(L, 2, i + 1);
		texts[i] = luaL_checkstring(L, -1); /* kept alive by the texts table */
		lua_pop(L, 1);
		lua_geti(L, 3, i + 1);
		int isnum;
		labels[i] = (int)lua_tointegerx(L, -1, &isnum);
		if (!isnum || labels[i] < 0)
			luaL_error(L, "thaw.data.texts: label %d is not a class number >= 0", i + 1);
		K = labels[i] + 1 > K ? labels[i] + 1 : K;
		lua_pop(L, 1);
	}
	lua_getfield(L, 1, "classes");
	const char **names = NULL;
	if (!lua_isnil(L, -1)) {
		luaL_argcheck(L, lua_istable(L, -1), 1, "classes = {names}");
		int nc = (int)luaL_len(L, -1);
		luaL_argcheck(L, nc >= K, 1, "fewer class names than the labels need");
		K = nc;
		int ct = lua_gettop(L);
		names = lua_newuserdatauv(L, sizeof(char *) * (size_t)(nc ? nc : 1), 0);
		for (int k = 0; k < nc; k++) {
			lua_geti(L, ct, k + 1);
			names[k] = luaL_checkstring(L, -1);
			lua_pop(L, 1);
		}
	}
	thaw_text_opts o = thaw_text_opts_default();
	read_text_opts(L, 1, &o);
	const char *src = lthaw_opt_str(L, 1, "source", "texts");
	ldata *u = lthaw_newdata(L);
	return finish(L, 0, u, thaw_text_from_strings(texts, labels, n, names, K > 0 ? K : 1, src, &o), src);
}

/* ---- methods of text data sets */
static thaw_dataset *checktext(lua_State *L, int i)
{
	thaw_dataset *d = lthaw_checkdata(L, i);
	if (!d->ids)
		luaL_error(L, "'%s' holds images, not text", d->source);
	return d;
}

/* d:fit_vocab{min_count = 2, max_words = 20000}: d with a vocabulary counted on d */
int lthaw_data_fit_vocab(lua_State *L)
{
	static const char *const keys[] = {"min_count", "max_words", NULL};
	thaw_dataset *d = checktext(L, 1);
	lua_settop(L, 2);
	lthaw_check_keys(L, 2, "fit_vocab", keys);
	thaw_vocab *v = thaw_text_fit_vocab(d, lthaw_opt_int(L, 2, "min_count", 1), lthaw_opt_int(L, 2, "max_words", 0));
	if (!v)
		return lthaw_fail(L);
	ldata *u = lthaw_newdata(L);
	u->d = thaw_text_with_vocab(d, v);
	thaw_vocab_free(v);
	if (!u->d)
		return lthaw_fail(L);
	return 1;
}

/* d:with_vocab(train or model): d encoded with that vocabulary, at its length */
int lthaw_data_with_vocab(lua_State *L)
{
	thaw_dataset *d = checktext(L, 1);
	int length = 0;
	thaw_vocab *v = lthaw_tovocab(L, 2, &length);
	ldata *u = lthaw_newdata(L);
	thaw_dataset *t = thaw_text_with_vocab(d, v);
	if (t && t->w != length) {
		thaw_dataset *r = thaw_text_relength(t, length);
		thaw_dataset_free(t);
		t = r;
	}
	if (!(u->d = t))
		return lthaw_fail(L);
	return 1;
}

int lthaw_data_relength(lua_State *L)
{
	thaw_dataset *d = checktext(L, 1);
	int n = (int)luaL_checkinteger(L, 2);
	ldata *u = lthaw_newdata(L);
	if (!(u->d = thaw_text_relength(d, n)))
		return lthaw_fail(L);
	return 1;
}

/* d:sample(i): text i (1-based) as its words, and its class (from 0) */
int lthaw_data_sample(lua_State *L)
{
	thaw_dataset *d = checktext(L, 1);
	lua_Integer i = luaL_checkinteger(L, 2);
	luaL_argcheck(L, i >= 1 && i <= d->n, 2, "sample index out of range");
	char *s = thaw_text_sample(d, (int)i - 1);
	if (!s)
		return luaL_error(L, "out of memory");
	lua_pushstring(L, s);
	free(s);
	lua_pushinteger(L, d->y[i - 1]);
	return 2;
}

int lthaw_data_text_stats(lua_State *L)
{
	thaw_dataset *d = checktext(L, 1);
	thaw_text_stats s;
	if (thaw_text_stats_of(d, &s) < 0)
		return lthaw_fail(L);
	lua_createtable(L, 0, 10);
	lthaw_set_int(L, "min", s.min);
	lthaw_set_int(L, "median", s.median);
	lthaw_set_int(L, "p95", s.p95);
	lthaw_set_int(L, "max", s.max);
	lthaw_set_num(L, "mean", s.mean);
	lthaw_set_int(L, "cut", s.cut);
	lthaw_set_int(L, "empty", s.empty);
	lthaw_set_int(L, "tokens", s.tokens);
	lthaw_set_int(L, "unknown", s.unknown);
	lthaw_set_int(L, "length", d->w);
	lthaw_set_int(L, "vocab", d->vocab->n);
	return 1;
}

/* ---- thaw.vectors(path, data or model, {random, scale, seed, format, dim}) */
typedef struct lvec {
	thaw_wordvec *wv;
	thaw_vocab *v; /* a reference: the vocabulary the rows follow */
} lvec;

lvec *lthaw_checkvec(lua_State *L, int i)
{
	lvec *u = luaL_checkudata(L, i, VEC_MT);
	luaL_argcheck(L, u->wv != NULL, i, "the vectors are closed");
	return u;
}

int lthaw_vec_rows(lua_State *L, int i, const float **w, int *n, int *dim, thaw_vocab **v)
{
	lvec *u = luaL_testudata(L, i, VEC_MT);
	if (!u || !u->wv)
		return 0;
	*w = u->wv->w, *n = u->wv->n, *dim = u->wv->dim, *v = u->v;
	return 1;
}

static int l_vectors(lua_State *L)
{
	static const char *const keys[] = {"random", "scale", "seed", "format", "dim", NULL};
	const char *path = luaL_checkstring(L, 1);
	thaw_vocab *v = lthaw_tovocab(L, 2, NULL);
	lua_settop(L, 3);
	lthaw_check_keys(L, 3, "thaw.vectors", keys);
	thaw_wordvec_opts o = thaw_wordvec_opts_default();
	o.random_missing = lthaw_opt_bool(L, 3, "random", 0);
	o.scale = (float)lthaw_opt_num(L, 3, "scale", o.scale);
	o.seed = lthaw_opt_seed(L, 3, "seed", lthaw_host(L)->seed);
	o.dim = lthaw_opt_int(L, 3, "dim", 0);
	const char *fmt = lthaw_opt_str(L, 3, "format", "auto");
	if (!strcmp(fmt, "text") || !strcmp(fmt, "vec") || !strcmp(fmt, "glove"))
		o.format = THAW_WORDVEC_TEXT;
	else if (!strcmp(fmt, "binary") || !strcmp(fmt, "word2vec"))
		o.format = THAW_WORDVEC_BINARY;
	else if (strcmp(fmt, "auto") != 0)
		return luaL_error(L, "thaw.vectors: format must be 'auto', 'text' or 'binary' (got '%s')", fmt);
	lvec *u = lua_newuserdatauv(L, sizeof *u, 0);
	u->wv = NULL;
	u->v = NULL;
	luaL_setmetatable(L, VEC_MT);
	if (!(u->wv = thaw_wordvec_load(path, v, &o))) {
		lua_pushnil(L);
		lua_pushstring(L, thaw_errmsg());
		return 2;
	}
	u->v = thaw_vocab_ref(v);
	lthaw_safepoint(L); /* Ctrl-C while it read */
	char cov[128];
	thaw_wordvec_coverage(u->wv, cov, sizeof cov);
	lthaw_logf(lthaw_host(L), "vectors %s: %d dimensions, %s", path, u->wv->dim, cov);
	return 1;
}

static int l_vec_gc(lua_State *L)
{
	lvec *u = luaL_checkudata(L, 1, VEC_MT);
	thaw_wordvec_free(u->wv);
	thaw_vocab_free(u->v);
	u->wv = NULL;
	u->v = NULL;
	return 0;
}

static int l_vec_tostring(lua_State *L)
{
	lvec *u = luaL_checkudata(L, 1, VEC_MT);
	if (!u->wv) {
		lua_pushstring(L, "thaw.vectors (closed)");
		return 1;
	}
	char cov[128];
	thaw_wordvec_coverage(u->wv, cov, sizeof cov);
	lua_pushfstring(L, "thaw.vectors: %d dimensions, %s", u->wv->dim, cov);
	return 1;
}

static int l_vec_dim(lua_State *L)
{
	lua_pushinteger(L, lthaw_checkvec(L, 1)->wv->dim);
	return 1;
}
static int l_vec_found(lua_State *L)
{
	lua_pushinteger(L, lthaw_checkvec(L, 1)->wv->found);
	return 1;
}
static int l_vec_words(lua_State *L)
{
	lua_pushinteger(L, lthaw_checkvec(L, 1)->wv->words);
	return 1;
}
static int l_vec_coverage(lua_State *L)
{
	char cov[128];
	thaw_wordvec_coverage(lthaw_checkvec(L, 1)->wv, cov, sizeof cov);
	lua_pushstring(L, cov);
	return 1;
}

static int l_vec_index(lua_State *L)
{
	luaL_checkudata(L, 1, VEC_MT);
	lua_CFunction get;
	if (lthaw_index(L, &get))
		return 1;
	if (!get) {
		lua_pushnil(L);
		return 1;
	}
	return get(L);
}

void lthaw_open_text(lua_State *L)
{
	static const luaL_Reg meta[] = {{"__gc", l_vec_gc}, {"__close", l_vec_gc}, {"__tostring", l_vec_tostring}, {NULL, NULL}};
	static const luaL_Reg methods[] = {{"close", l_vec_gc}, {NULL, NULL}};
	static const luaL_Reg props[] = {{"dim", l_vec_dim},     {"found", l_vec_found}, {"words", l_vec_words},
					 {"coverage", l_vec_coverage}, {NULL, NULL}};
	lthaw_newclass(L, VEC_MT, meta, methods, props, l_vec_index);
	lua_pushcfunction(L, l_vectors);
	lua_setfield(L, -2, "vectors");
	lua_getfield(L, -1, "data");
	lua_pushcfunction(L, l_data_text);
	lua_setfield(L, -2, "text");
	lua_pushcfunction(L, l_data_texts);
	lua_setfield(L, -2, "texts");
	lua_pop(L, 1);
}
