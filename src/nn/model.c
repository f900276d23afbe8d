/* The model graph: construction and surgery. Freezing, selection and
 * inspection are in model_inspect.c; planning and running the graph (the
 * arena, the forward and backward walks) in model_exec.c; layer arithmetic
 * lives in one file per kind. */
#include "thaw/layer.h"
#include "thaw/vocab.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const thaw_layer_ops thaw_dense_ops, thaw_conv2d_ops, thaw_maxpool_ops, thaw_avgpool_ops,
	thaw_globalavgpool_ops, thaw_batchnorm_ops, thaw_relu_ops, thaw_relu6_ops,
	thaw_leaky_relu_ops, thaw_sigmoid_ops, thaw_tanh_ops, thaw_gelu_ops, thaw_dropout_ops,
	thaw_flatten_ops, thaw_add_ops, thaw_concat_ops;
extern const thaw_layer_ops thaw_embedding_ops, thaw_pool_time_ops;

static const thaw_layer_ops *const ops_table[THAW_KIND_COUNT] = {
	[THAW_DENSE] = &thaw_dense_ops,
	[THAW_CONV2D] = &thaw_conv2d_ops,
	[THAW_MAXPOOL] = &thaw_maxpool_ops,
	[THAW_AVGPOOL] = &thaw_avgpool_ops,
	[THAW_GLOBALAVGPOOL] = &thaw_globalavgpool_ops,
	[THAW_BATCHNORM] = &thaw_batchnorm_ops,
	[THAW_RELU] = &thaw_relu_ops,
	[THAW_RELU6] = &thaw_relu6_ops,
	[THAW_LEAKY_RELU] = &thaw_leaky_relu_ops,
	[THAW_SIGMOID] = &thaw_sigmoid_ops,
	[THAW_TANH] = &thaw_tanh_ops,
	[THAW_GELU] = &thaw_gelu_ops,
	[THAW_DROPOUT] = &thaw_dropout_ops,
	[THAW_FLATTEN] = &thaw_flatten_ops,
	[THAW_ADD] = &thaw_add_ops,
	[THAW_CONCAT] = &thaw_concat_ops,
	[THAW_EMBEDDING] = &thaw_embedding_ops,
	[THAW_POOL_TIME] = &thaw_pool_time_ops,
};

const thaw_layer_ops *thaw_layer_ops_of(thaw_kind k)
{
	return (k >= 0 && k < THAW_KIND_COUNT) ? ops_table[k] : NULL;
}

const char *thaw_kind_name(thaw_kind k)
{
	const thaw_layer_ops *o = thaw_layer_ops_of(k);
	return o ? o->name : "?";
}

int thaw_kind_built_in(thaw_kind k) { return thaw_layer_ops_of(k) != NULL; }

int thaw_kind_from_name(const char *name)
{
	for (int k = 0; k < THAW_KIND_COUNT; k++)
		if (name && ops_table[k] && strcmp(ops_table[k]->name, name) == 0)
			return k;
	return -1;
}

/* ---- attributes */
thaw_attrs thaw_attrs_default(thaw_kind kind)
{
	thaw_attrs a;
	memset(&a, 0, sizeof a);
	a.kind = kind;
	a.kh = a.kw = 1;
	a.sh = a.sw = 1;
	a.dh = a.dw = 1;
	a.groups = 1;
	a.bias = 1;
	a.alpha = 0.01f;
	a.lo = 0.0f;
	a.hi = 6.0f;
	a.rate = 0.5f;
	a.eps = 1e-5f;
	a.momentum = 0.9f;
	a.init = THAW_INIT_HE;
	if (kind == THAW_MAXPOOL || kind == THAW_AVGPOOL) {
		a.kh = a.kw = a.sh = a.sw = 2;
	}
	return a;
}

thaw_attrs thaw_dense(int units)
{
	thaw_attrs a = thaw_attrs_default(THAW_DENSE);
	a.units = units;
	return a;
}

thaw_attrs thaw_conv(int filters, int k, int stride, int pad)
{
	thaw_attrs a = thaw_attrs_default(THAW_CONV2D);
	a.filters = filters;
	a.kh = a.kw = k;
	a.sh = a.sw = stride;
	a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = pad;
	return a;
}

thaw_attrs thaw_pool(thaw_kind kind, int k, int stride)
{
	thaw_attrs a = thaw_attrs_default(kind);
	a.kh = a.kw = k;
	a.sh = a.sw = stride;
	return a;
}

thaw_attrs thaw_dropout(float rate)
{
	thaw_attrs a = thaw_attrs_default(THAW_DROPOUT);
	a.rate = rate;
	return a;
}

thaw_attrs thaw_layer(thaw_kind kind) { return thaw_attrs_default(kind); }

thaw_attrs thaw_embedding(int words, int dim)
{
	thaw_attrs a = thaw_attrs_default(THAW_EMBEDDING);
	a.words = words;
	a.dim = dim;
	return a;
}

thaw_attrs thaw_pool_time(int pool)
{
	thaw_attrs a = thaw_attrs_default(THAW_POOL_TIME);
	a.pool = pool;
	return a;
}

thaw_attrs thaw_conv1d(int filters, int k)
{
	thaw_attrs a = thaw_attrs_default(THAW_CONV2D);
	a.filters = filters;
	a.kh = 1;
	a.kw = k;
	a.pad[1] = (k - 1) / 2;
	a.pad[3] = k - 1 - (k - 1) / 2;
	return a;
}

/* ---- nodes */
static void node_free(thaw_node *n)
{
	if (!n)
		return;
	free(n->pmem);
	free(n->omem);
	free(n->rows);
	free(n->row_mark);
	free(n);
}

size_t thaw_node_param_count(const thaw_node *n)
{
	size_t c = 0;
	for (int i = 0; i < n->np; i++)
		if (!n->p[i].is_buffer)
			c += n->p[i].size;
	return c;
}

int thaw_node_has_weights(const thaw_node *n) { return thaw_node_param_count(n) > 0; }

/* Sizes of p[] from dims; allocates pmem (w and g) zeroed. */
static int node_alloc_params(thaw_node *n)
{
	size_t total = 0;
	for (int i = 0; i < n->np; i++) {
		thaw_param *p = &n->p[i];
		size_t s = 1;
		for (int d = 0; d < p->ndim; d++) {
			if (p->dims[d] <= 0 || s > ((size_t)1 << 34) / (size_t)p->dims[d])
				return thaw_error(THAW_EINVAL, "node '%s': parameter %s has a bad size",
						  n->name, p->name);
			s *= (size_t)p->dims[d];
		}
		p->size = s;
		total += (s + 15) & ~(size_t)15;
		if (!p->is_buffer)
			total += (s + 15) & ~(size_t)15;
	}
	free(n->pmem);
	n->pmem = NULL;
	free(n->omem);
	n->omem = NULL;
	free(n->rows);
	free(n->row_mark);
	n->rows = NULL;
	n->row_mark = NULL;
	n->n_rows = 0;
	if (n->np > 0 && thaw_layer_ops_of(n->kind)->sparse_rows) {
		n->rows = thaw_malloc(sizeof *n->rows * (size_t)n->p[0].dims[0]);
		n->row_mark = thaw_calloc((size_t)n->p[0].dims[0], 1);
		if (!n->rows || !n->row_mark)
			return THAW_ENOMEM;
	}
	if (!total)
		return 0;
	n->pmem = thaw_aligned(total * sizeof(float));
	if (!n->pmem)
		return THAW_ENOMEM;
	memset(n->pmem, 0, total * sizeof(float));
	float *q = n->pmem;
	for (int i = 0; i < n->np; i++) {
		thaw_param *p = &n->p[i];
		size_t s = (p->size + 15) & ~(size_t)15;
		p->w = q;
		q += s;
		p->g = NULL;
		if (!p->is_buffer) {
			p->g = q;
			q += s;
		}
		p->m = p->v = NULL;
	}
	return 0;
}

int thaw_node_alloc_opt_state(thaw_node *n)
{
	if (n->omem)
		return 0;
	size_t total = 0;
	for (int i = 0; i < n->np; i++)
		if (!n->p[i].is_buffer)
			total += 2 * ((n->p[i].size + 15) & ~(size_t)15);
	if (!total)
		return 0;
	n->omem = thaw_aligned(total * sizeof(float));
	if (!n->omem)
		return THAW_ENOMEM;
	memset(n->omem, 0, total * sizeof(float));
	float *q = n->omem;
	for (int i = 0; i < n->np; i++) {
		thaw_param *p = &n->p[i];
		if (p->is_buffer)
			continue;
		size_t s = (p->size + 15) & ~(size_t)15;
		p->m = q;
		p->v = q + s;
		q += 2 * s;
	}
	return 0;
}

void thaw_model_reset_opt_state(thaw_model *m)
{
	for (int i = 0; m && i < m->n; i++) {
		thaw_node *n = m->nodes[i];
		free(n->omem);
		n->omem = NULL;
		n->opt_t = 0;
		for (int k = 0; k < n->np; k++)
			n->p[k].m = n->p[k].v = NULL;
	}
}

void thaw_node_describe(const thaw_node *n, char *buf, size_t size)
{
	const thaw_layer_ops *o = thaw_layer_ops_of(n->kind);
	buf[0] = 0;
	if (o && o->describe)
		o->describe(n, buf, size);
}

/* Layer setups do their shape arithmetic in int. Sizes from a hostile file
 * (ONNX pads of 30,000 made a 60008x60008 plane: "output shape -694007232")
 * are checked here first in 64 bits: padded extents and dilated kernels of
 * the spatial kinds before setup, the output's values per image after. */
#define SPATIAL_MAX (1 << 24)

static int check_spatial(const thaw_node *n)
{
	const thaw_attrs *a = &n->a;
	if (n->kind != THAW_CONV2D && n->kind != THAW_MAXPOOL && n->kind != THAW_AVGPOOL)
		return 0;
	const char *kind = thaw_kind_name(n->kind);
	for (int i = 0; i < 4; i++)
		if (a->pad[i] < 0 || a->pad[i] > SPATIAL_MAX)
			return thaw_error(THAW_EINVAL, "node '%s' (%s): padding %d outside 0..%d", n->name, kind,
					  a->pad[i], SPATIAL_MAX);
	int64_t dh = n->kind == THAW_CONV2D ? a->dh : 1, dw = n->kind == THAW_CONV2D ? a->dw : 1;
	int64_t ekh = dh * ((int64_t)a->kh - 1) + 1, ekw = dw * ((int64_t)a->kw - 1) + 1;
	int64_t ph = n->n_in > 0 ? (int64_t)n->in_shape[0].h + a->pad[0] + a->pad[2] : 0;
	int64_t pw = n->n_in > 0 ? (int64_t)n->in_shape[0].w + a->pad[1] + a->pad[3] : 0;
	if (ekh > SPATIAL_MAX || ekw > SPATIAL_MAX || ph > SPATIAL_MAX || pw > SPATIAL_MAX)
		return thaw_error(THAW_ESHAPE,
				  "node '%s' (%s): padded input %lldx%lld or kernel %lldx%lld (dilated) exceeds %d",
				  n->name, kind, (long long)ph, (long long)pw, (long long)ekh, (long long)ekw,
				  SPATIAL_MAX);
	return 0;
}

int thaw_node_declare(thaw_node *n)
{
	const thaw_layer_ops *o = thaw_layer_ops_of(n->kind);
	if (!o)
		return thaw_error(THAW_EINVAL, "node '%s': unknown layer kind %d", n->name, n->kind);
	int rc = check_spatial(n);
	if (rc < 0 || (rc = o->setup(n, n->in_shape, n->n_in)) < 0)
		return rc;
	uint64_t values = (uint64_t)(n->out.c > 0 ? n->out.c : 0) * (uint64_t)(n->out.h > 0 ? n->out.h : 0) *
			  (uint64_t)(n->out.w > 0 ? n->out.w : 0);
	if (values > INT_MAX) {
		char b[64];
		return thaw_error(THAW_ESHAPE, "node '%s' (%s): output shape %s has %llu values per image (at most %d)",
				  n->name, thaw_kind_name(n->kind), thaw_shape_str(n->out, b, sizeof b),
				  (unsigned long long)values, INT_MAX);
	}
	return 0;
}

/* ---- model */
thaw_model *thaw_model_new(int c, int h, int w, uint64_t seed)
{
	if (c <= 0 || h <= 0 || w <= 0 || c > 4096 || h > 65536 || w > 65536) {
		thaw_error(THAW_EINVAL, "model input %dx%dx%d is not a valid image shape", c, h, w);
		return NULL;
	}
	thaw_model *m = thaw_calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->input.c = c;
	m->input.h = h;
	m->input.w = w;
	for (int i = 0; i < THAW_MAX_CHANNELS; i++) {
		m->input.mean[i] = 0.0f;
		m->input.std[i] = 1.0f;
	}
	m->seed = seed;
	thaw_rng_seed(&m->rng, seed);
	return m;
}

static void free_classes(thaw_model *m)
{
	for (int i = 0; i < m->n_classes && m->class_names; i++)
		free(m->class_names[i]);
	free(m->class_names);
	m->class_names = NULL;
	m->n_classes = 0;
}

void thaw_model_free(thaw_model *m)
{
	if (!m)
		return;
	for (int i = 0; i < m->n; i++)
		node_free(m->nodes[i]);
	free(m->nodes);
	free(m->name_slot);
	free_classes(m);
	thaw_vocab_free(m->vocab);
	thaw_arena_free(&m->arena);
	free(m);
}

void thaw_model_set_vocab(thaw_model *m, struct thaw_vocab *v)
{
	thaw_vocab_ref(v);
	thaw_vocab_free(m->vocab);
	m->vocab = v;
}

/* ---- names: a hash table from name to node index (linear probing), so
 * that a 100,000-node ONNX chain or a long Lua script of m:add does not
 * spend its time comparing names. */
static size_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29));
}

static void names_put(thaw_model *m, int idx)
{
	size_t mask = m->name_nslots - 1, i = name_hash(m->nodes[idx]->name) & mask;
	while (m->name_slot[i] >= 0)
		i = (i + 1) & mask;
	m->name_slot[i] = idx;
}

/* Refills the table from nodes[0..n-1] (indices moved: insert). */
static void names_refill(thaw_model *m)
{
	if (!m->name_slot)
		return;
	memset(m->name_slot, 0xff, m->name_nslots * sizeof *m->name_slot);
	for (int i = 0; i < m->n; i++)
		names_put(m, i);
}

/* Makes room for cap names (at most half the slots full). */
static int names_reserve(thaw_model *m, int cap)
{
	size_t want = 16;
	while (want < 2 * (size_t)cap)
		want *= 2;
	if (want <= m->name_nslots)
		return 0;
	int *s = thaw_malloc(want * sizeof *s);
	if (!s)
		return thaw_error(THAW_ENOMEM, "out of memory growing the model");
	free(m->name_slot);
	m->name_slot = s;
	m->name_nslots = want;
	names_refill(m);
	return 0;
}

/* A default-looking name "<kind>_<k>": its kind and k (> 0), else 0. */
static int auto_number(const char *name, thaw_kind *kind)
{
	const char *us = strrchr(name, '_');
	if (!us || us == name || us - name >= 32 || us[1] < '1' || us[1] > '9')
		return 0;
	char kn[32];
	memcpy(kn, name, (size_t)(us - name));
	kn[us - name] = 0;
	int k = thaw_kind_from_name(kn);
	char *end;
	long v = strtol(us + 1, &end, 10);
	if (k < 0 || *end || v > 1000000000)
		return 0;
	*kind = (thaw_kind)k;
	return (int)v;
}

/* Forgets node idx's name (before the node goes): backward-shift deletion
 * keeps every other name reachable from its home slot. A default name
 * that goes may be given out again. */
static void names_del(thaw_model *m, int idx)
{
	thaw_kind kind = THAW_DENSE;
	int k = auto_number(m->nodes[idx]->name, &kind);
	if (k > 0 && k < m->auto_next[kind])
		m->auto_next[kind] = k;
	if (!m->name_slot)
		return;
	size_t mask = m->name_nslots - 1, i = name_hash(m->nodes[idx]->name) & mask;
	while (m->name_slot[i] != idx) {
		if (m->name_slot[i] < 0)
			return;
		i = (i + 1) & mask;
	}
	m->name_slot[i] = -1;
	for (size_t j = (i + 1) & mask; m->name_slot[j] >= 0; j = (j + 1) & mask) {
		size_t home = name_hash(m->nodes[m->name_slot[j]]->name) & mask;
		/* the entry at j may move to the hole at i unless its home lies
		 * cyclically in (i, j] */
		int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			m->name_slot[i] = m->name_slot[j];
			m->name_slot[j] = -1;
			i = j;
		}
	}
}

int thaw_model_find(const thaw_model *m, const char *name)
{
	if (!m || !name || !m->name_slot)
		return -1;
	size_t mask = m->name_nslots - 1;
	for (size_t i = name_hash(name) & mask; m->name_slot[i] >= 0; i = (i + 1) & mask)
		if (strcmp(m->nodes[m->name_slot[i]]->name, name) == 0)
			return m->name_slot[i];
	return -1;
}

static thaw_shape input_shape(const thaw_model *m)
{
	return (thaw_shape){1, m->input.c, m->input.h, m->input.w};
}

static thaw_shape shape_of(const thaw_model *m, int idx)
{
	return idx < 0 ? input_shape(m) : m->nodes[idx]->out;
}

/* Runs the kind's setup on n for its current inputs (shapes only). */
static int node_setup(const thaw_model *m, thaw_node *n)
{
	if (!thaw_kind_built_in(n->kind))
		return thaw_node_declare(n); /* the message names the kind */
	for (int j = 0; j < n->n_in; j++)
		n->in_shape[j] = shape_of(m, n->in[j]);
	/* setup re-declares the parameters; keep the storage of those whose
	 * dims stay (revalidation after surgery) */
	thaw_param keep[THAW_MAX_PARAMS];
	int np0 = n->np;
	memcpy(keep, n->p, sizeof keep);
	n->np = 0;
	int rc = thaw_node_declare(n);
	if (rc < 0) {
		memcpy(n->p, keep, sizeof keep);
		n->np = np0;
		return rc;
	}
	for (int k = 0; k < np0 && k < n->np; k++) {
		thaw_param *p = &n->p[k];
		if (p->ndim == keep[k].ndim && !memcmp(p->dims, keep[k].dims, sizeof p->dims)) {
			p->w = keep[k].w;
			p->g = keep[k].g;
			p->m = keep[k].m;
			p->v = keep[k].v;
			p->size = keep[k].size;
		}
	}
	if (n->out.c <= 0 || n->out.h <= 0 || n->out.w <= 0) {
		char b[64];
		return thaw_error(THAW_ESHAPE, "node '%s' (%s): output shape %s is empty", n->name,
				  thaw_kind_name(n->kind), thaw_shape_str(n->out, b, sizeof b));
	}
	n->out.n = 1;
	return 0;
}

static int grow(thaw_model *m)
{
	if (m->n < m->cap)
		return 0;
	int cap = m->cap ? 2 * m->cap : 16;
	thaw_node **nn = realloc(m->nodes, (size_t)cap * sizeof *nn);
	if (!nn)
		return thaw_error(THAW_ENOMEM, "out of memory growing the model");
	m->nodes = nn;
	m->cap = cap;
	return names_reserve(m, cap);
}

static int valid_name(const thaw_model *m, const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len >= THAW_NAME_MAX)
		return thaw_error(THAW_EINVAL, "node name '%s' must have 1 to %d characters", name,
				  THAW_NAME_MAX - 1);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] <= ' ' || name[i] == '"' || name[i] == '\\')
			return thaw_error(THAW_EINVAL,
					  "node name '%s' may not contain spaces, quotes or control characters", name);
	if (thaw_model_find(m, name) >= 0)
		return thaw_error(THAW_EINVAL, "a node named '%s' already exists", name);
	return 0;
}

/* The smallest free "<kind>_<k>" from the kind's hint on: O(1) amortised
 * while a model grows, since the hint only moves past names in use. */
static void auto_name(thaw_model *m, thaw_kind kind, char *buf)
{
	for (int k = m->auto_next[kind] > 0 ? m->auto_next[kind] : 1;; k++) {
		snprintf(buf, THAW_NAME_MAX, "%s_%d", thaw_kind_name(kind), k);
		if (thaw_model_find(m, buf) < 0) {
			m->auto_next[kind] = k; /* taken only once the node is added */
			return;
		}
	}
}

/* Makes a detached node for position `at` (inputs must be < at). */
static thaw_node *make_node(thaw_model *m, int at, const char *name, const thaw_attrs *a,
			    const int *inputs, int n_in)
{
	if (!a || !thaw_layer_ops_of(a->kind)) {
		thaw_error(THAW_EINVAL, "unknown layer kind");
		return NULL;
	}
	char nm[THAW_NAME_MAX];
	if (name) {
		if (valid_name(m, name) < 0)
			return NULL;
		snprintf(nm, sizeof nm, "%s", name);
	} else {
		auto_name(m, a->kind, nm);
	}
	if (n_in < 0 || n_in > THAW_MAX_INPUTS) {
		thaw_error(THAW_EINVAL, "node '%s': %d inputs (at most %d)", nm, n_in, THAW_MAX_INPUTS);
		return NULL;
	}
	thaw_node *n = thaw_calloc(1, sizeof *n);
	if (!n)
		return NULL;
	n->kind = a->kind;
	snprintf(n->name, sizeof n->name, "%s", nm);
	n->a = *a;
	n->trainable = 1;
	n->lr_mult = 1.0f;
	if (inputs && n_in > 0) {
		for (int j = 0; j < n_in; j++) {
			if (inputs[j] < -1 || inputs[j] >= at) {
				thaw_error(THAW_EINVAL, "node '%s': input %d refers to node %d, not an earlier node",
					   nm, j, inputs[j]);
				free(n);
				return NULL;
			}
			n->in[j] = inputs[j];
		}
		n->n_in = n_in;
	} else {
		n->in[0] = at - 1; /* previous node, or the model input */
		n->n_in = 1;
	}
	if (node_setup(m, n) < 0 || node_alloc_params(n) < 0) {
		node_free(n);
		return NULL;
	}
	const thaw_layer_ops *o = thaw_layer_ops_of(n->kind);
	if (o->init)
		o->init(n, &m->rng);
	return n;
}

int thaw_model_add(thaw_model *m, const char *name, const thaw_attrs *a, const int *inputs,
		   int n_in)
{
	if (!m)
		return thaw_error(THAW_EINVAL, "thaw_model_add: no model");
	if (grow(m) < 0)
		return THAW_ENOMEM;
	thaw_node *n = make_node(m, m->n, name, a, inputs, n_in);
	if (!n)
		return THAW_EINVAL;
	m->nodes[m->n] = n;
	names_put(m, m->n);
	m->plan_valid = 0;
	free_classes(m); /* a new output: the old names named other scores */
	return m->n++;
}

/* Re-runs shape setup from node `from` on, in order (each node sees its
 * inputs' new shapes); fails, restoring every node, when one fails or its
 * parameter shapes would change. */
static int revalidate(thaw_model *m, int from)
{
	int count = m->n - from, rc = 0, i;
	thaw_node *saved = thaw_malloc((size_t)(count > 0 ? count : 1) * sizeof *saved);
	if (!saved)
		return THAW_ENOMEM;
	for (i = from; i < m->n && rc == 0; i++) {
		thaw_node *n = m->nodes[i];
		saved[i - from] = *n;
		rc = node_setup(m, n);
		for (int k = 0; rc == 0 && k < n->np; k++)
			if (!n->p[k].w || n->p[k].ndim != saved[i - from].p[k].ndim ||
			    memcmp(n->p[k].dims, saved[i - from].p[k].dims, sizeof n->p[k].dims) != 0) {
				char b1[64], b2[64];
				rc = thaw_error(THAW_ESHAPE,
						"node '%s': its input would change from %s to %s, which its weights do not fit",
						n->name, thaw_shape_str(saved[i - from].in_shape[0], b1, sizeof b1),
						thaw_shape_str(n->in_shape[0], b2, sizeof b2));
			}
	}
	if (rc < 0)
		for (int j = from; j < i; j++)
			*m->nodes[j] = saved[j - from];
	free(saved);
	return rc;
}

int thaw_model_insert(thaw_model *m, int pos, const char *name, const thaw_attrs *a)
{
	if (!m || pos < 0 || pos > m->n)
		return thaw_error(THAW_EINVAL, "insert: position %d outside 0..%d", pos, m ? m->n : 0);
	if (pos == m->n)
		return thaw_model_add(m, name, a, NULL, 0);
	if (m->nodes[pos]->n_in != 1)
		return thaw_error(THAW_EINVAL, "insert: node '%s' has %d inputs; insert before a one-input node",
				  m->nodes[pos]->name, m->nodes[pos]->n_in);
	if (grow(m) < 0)
		return THAW_ENOMEM;
	size_t width = thaw_shape_sample(thaw_model_output_shape(m));
	int src = m->nodes[pos]->in[0];
	thaw_node *n = make_node(m, pos, name, a, &src, 1);
	if (!n)
		return THAW_EINVAL;
	/* shift: references to nodes >= pos move up by one */
	memmove(&m->nodes[pos + 1], &m->nodes[pos], (size_t)(m->n - pos) * sizeof *m->nodes);
	m->nodes[pos] = n;
	m->n++;
	names_refill(m);
	for (int i = pos + 1; i < m->n; i++)
		for (int j = 0; j < m->nodes[i]->n_in; j++)
			if (m->nodes[i]->in[j] >= pos)
				m->nodes[i]->in[j]++;
	m->nodes[pos + 1]->in[0] = pos;
	if (revalidate(m, pos + 1) < 0) {
		char msg[1024];
		snprintf(msg, sizeof msg, "%s", thaw_errmsg());
		/* undo */
		m->nodes[pos + 1]->in[0] = src;
		for (int i = pos + 2; i < m->n; i++)
			for (int j = 0; j < m->nodes[i]->n_in; j++)
				if (m->nodes[i]->in[j] > pos)
					m->nodes[i]->in[j]--;
		memmove(&m->nodes[pos], &m->nodes[pos + 1], (size_t)(m->n - pos - 1) * sizeof *m->nodes);
		m->n--;
		names_refill(m);
		node_free(n);
		return thaw_error(THAW_ESHAPE, "insert '%s': %s", a ? thaw_kind_name(a->kind) : "?", msg);
	}
	m->plan_valid = 0;
	if (thaw_shape_sample(thaw_model_output_shape(m)) != width)
		free_classes(m);
	return pos;
}

int thaw_model_pop(thaw_model *m)
{
	if (!m || m->n == 0)
		return thaw_error(THAW_EINVAL, "pop: the model has no nodes");
	names_del(m, m->n - 1);
	node_free(m->nodes[--m->n]);
	m->plan_valid = 0;
	free_classes(m); /* the names belonged to the output that went */
	return 0;
}

int thaw_model_truncate(thaw_model *m, const char *name)
{
	int k = thaw_model_find(m, name);
	if (k < 0)
		return thaw_error(THAW_EINVAL, "truncate: no node named '%s'", name ? name : "(null)");
	if (k == m->n - 1)
		return 0; /* already the output: names still fit */
	while (m->n > k + 1) {
		names_del(m, m->n - 1);
		node_free(m->nodes[--m->n]);
	}
	m->plan_valid = 0;
	free_classes(m);
	return 0;
}

int thaw_model_replace_head(thaw_model *m, int units, const char *name)
{
	if (!m || units <= 0)
		return thaw_error(THAW_EINVAL, "replace_head: units must be positive (got %d)", units);
	int rc = thaw_model_pop(m);
	if (rc < 0)
		return rc;
	thaw_attrs a = thaw_dense(units);
	a.init = THAW_INIT_GLOROT;
	return thaw_model_add(m, name, &a, NULL, 0);
}

void thaw_model_reinit(thaw_model *m, uint64_t seed)
{
	m->seed = seed;
	thaw_rng_seed(&m->rng, seed);
	for (int i = 0; i < m->n; i++) {
		thaw_node *n = m->nodes[i];
		const thaw_layer_ops *o = thaw_layer_ops_of(n->kind);
		if (o->init)
			o->init(n, &m->rng);
	}
	thaw_model_reset_opt_state(m);
}

int thaw_model_copy_params(thaw_model *dst, const thaw_model *src)
{
	if (!dst || !src)
		return thaw_error(THAW_EINVAL, "copy_params: needs two models");
	if (dst->n != src->n)
		return thaw_error(THAW_ESHAPE, "copy_params: %d nodes versus %d", dst->n, src->n);
	for (int i = 0; i < dst->n; i++) { /* check everything before changing anything */
		const thaw_node *a = dst->nodes[i], *b = src->nodes[i];
		if (a->kind != b->kind || a->np != b->np)
			return thaw_error(THAW_ESHAPE, "copy_params: node %d is '%s' (%s) here but '%s' (%s) there", i,
					  a->name, thaw_kind_name(a->kind), b->name, thaw_kind_name(b->kind));
		for (int k = 0; k < a->np; k++)
			if (a->p[k].size != b->p[k].size)
				return thaw_error(THAW_ESHAPE, "copy_params: node '%s' %s has %zu values here, %zu there",
						  a->name, a->p[k].name, a->p[k].size, b->p[k].size);
	}
	for (int i = 0; i < dst->n; i++) {
		thaw_node *a = dst->nodes[i];
		const thaw_node *b = src->nodes[i];
		for (int k = 0; k < a->np; k++)
			memcpy(a->p[k].w, b->p[k].w, a->p[k].size * sizeof(float));
		free(a->omem);
		a->omem = NULL;
		for (int k = 0; k < a->np; k++)
			a->p[k].m = a->p[k].v = NULL;
		a->opt_t = b->opt_t;
		if (b->omem) {
			if (thaw_node_alloc_opt_state(a) < 0)
				return THAW_ENOMEM;
			for (int k = 0; k < a->np; k++)
				if (a->p[k].m && b->p[k].m) {
					memcpy(a->p[k].m, b->p[k].m, a->p[k].size * sizeof(float));
					memcpy(a->p[k].v, b->p[k].v, a->p[k].size * sizeof(float));
				}
		}
	}
	return 0;
}

int thaw_model_set_classes(thaw_model *m, const char *const *names, int n)
{
	if (!m || n < 0 || (n > 0 && !names))
		return thaw_error(THAW_EINVAL, "set_classes: bad arguments");
	if (n > 0) {
		int K = thaw_model_class_count(m);
		if (K < 0)
			return K;
		if (n != K)
			return thaw_error(THAW_ESHAPE, "set_classes: %d names for a model with %d outputs", n, K);
	}
	char **copy = n ? thaw_calloc((size_t)n, sizeof *copy) : NULL;
	if (n && !copy)
		return THAW_ENOMEM;
	for (int i = 0; i < n; i++) {
		copy[i] = strdup(names[i] ? names[i] : "");
		if (!copy[i]) {
			for (int k = 0; k < i; k++)
				free(copy[k]);
			free(copy);
			return thaw_error(THAW_ENOMEM, "out of memory");
		}
	}
	free_classes(m);
	m->class_names = copy;
	m->n_classes = n;
	return 0;
}
