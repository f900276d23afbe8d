/* ONNX export: one ONNX node per thaw node (plus a marked Flatten in front
 * of a dense that reads an image), weights as raw little-endian FLOAT
 * initializers, and the input spec, class names and frozen nodes in the
 * model's metadata so that thaw_onnx_import gives back the same model. */
#include "thaw/onnx.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx.pb-c.h"
#include "thaw/atomic.h"
#include "thaw/vocab.h"

/* Every protobuf struct and string is one calloc tracked here, freed at once. */
typedef struct pool {
	void **p;
	size_t n, cap;
	int oom;
} pool;

static void *P(pool *pl, size_t size)
{
	if (pl->oom)
		return NULL;
	if (pl->n == pl->cap) {
		size_t cap = pl->cap ? 2 * pl->cap : 256;
		void **np = realloc(pl->p, cap * sizeof *np);
		if (!np) {
			pl->oom = 1;
			return NULL;
		}
		pl->p = np;
		pl->cap = cap;
	}
	void *q = calloc(1, size ? size : 1);
	if (!q) {
		pl->oom = 1;
		return NULL;
	}
	pl->p[pl->n++] = q;
	return q;
}

static char *S(pool *pl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *S(pool *pl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *s = P(pl, (size_t)(n > 0 ? n : 0) + 1);
	if (!s)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

static void pool_free(pool *pl)
{
	for (size_t i = 0; i < pl->n; i++)
		free(pl->p[i]);
	free(pl->p);
}

/* growable arrays of pointers for the graph */
typedef struct plist {
	void **v;
	size_t n, cap;
} plist;

static void push(pool *pl, plist *l, void *x)
{
	if (!x)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		void **nv = P(pl, cap * sizeof *nv);
		if (!nv)
			return;
		if (l->n)
			memcpy(nv, l->v, l->n * sizeof *nv);
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = x;
}

typedef struct ex {
	pool pl;
	plist nodes, inits;
	const thaw_model *m;
} ex;

/* A named attribute of the given type, from the pool. */
static Onnx__AttributeProto *a_new(ex *e, const char *name, Onnx__AttributeProto__AttributeType type)
{
	Onnx__AttributeProto *a = P(&e->pl, sizeof *a);
	if (!a)
		return NULL;
	onnx__attribute_proto__init(a);
	a->name = S(&e->pl, "%s", name);
	a->has_type = 1;
	a->type = type;
	return a;
}

static Onnx__AttributeProto *a_int(ex *e, const char *name, int64_t v)
{
	Onnx__AttributeProto *a = a_new(e, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
	if (!a)
		return NULL;
	a->has_i = 1;
	a->i = v;
	return a;
}

static Onnx__AttributeProto *a_float(ex *e, const char *name, float v)
{
	Onnx__AttributeProto *a = a_new(e, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
	if (!a)
		return NULL;
	a->has_f = 1;
	a->f = v;
	return a;
}

static Onnx__AttributeProto *a_ints(ex *e, const char *name, int n, const int *v)
{
	Onnx__AttributeProto *a = a_new(e, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
	int64_t *iv = P(&e->pl, (size_t)n * sizeof *iv);
	if (!a || !iv)
		return NULL;
	for (int i = 0; i < n; i++)
		iv[i] = v[i];
	a->n_ints = (size_t)n;
	a->ints = iv;
	return a;
}

/* Adds a node; inputs and attributes are NULL-terminated lists. */
static Onnx__NodeProto *node(ex *e, const char *op, const char *name, const char *out,
			     const char *const *in, Onnx__AttributeProto *const *attrs)
{
	Onnx__NodeProto *n = P(&e->pl, sizeof *n);
	if (!n)
		return NULL;
	onnx__node_proto__init(n);
	n->op_type = S(&e->pl, "%s", op);
	n->name = S(&e->pl, "%s", name);
	size_t ni = 0, na = 0;
	while (in[ni])
		ni++;
	while (attrs && attrs[na])
		na++;
	n->input = P(&e->pl, (ni + 1) * sizeof *n->input);
	n->output = P(&e->pl, sizeof *n->output);
	n->attribute = P(&e->pl, (na + 1) * sizeof *n->attribute);
	if (!n->input || !n->output || !n->attribute)
		return NULL;
	for (size_t i = 0; i < ni; i++)
		n->input[i] = S(&e->pl, "%s", in[i]);
	n->n_input = ni;
	n->output[0] = S(&e->pl, "%s", out);
	n->n_output = 1;
	for (size_t i = 0; i < na; i++)
		n->attribute[i] = attrs[i];
	n->n_attribute = na;
	push(&e->pl, &e->nodes, n);
	return n;
}

static void init_tensor(ex *e, const char *name, const float *x, size_t count, int ndim,
			const int *dims)
{
	Onnx__TensorProto *t = P(&e->pl, sizeof *t);
	int64_t *d = P(&e->pl, (size_t)(ndim ? ndim : 1) * sizeof *d);
	unsigned char *raw = P(&e->pl, 4 * count);
	if (!t || !d || !raw)
		return;
	onnx__tensor_proto__init(t);
	t->name = S(&e->pl, "%s", name);
	for (int i = 0; i < ndim; i++)
		d[i] = dims[i];
	t->n_dims = (size_t)ndim;
	t->dims = d;
	t->has_data_type = 1;
	t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
	for (size_t i = 0; i < count; i++) {
		uint32_t u;
		memcpy(&u, &x[i], 4);
		for (int b = 0; b < 4; b++)
			raw[4 * i + b] = (unsigned char)(u >> (8 * b));
	}
	t->has_raw_data = 1;
	t->raw_data.len = 4 * count;
	t->raw_data.data = raw;
	push(&e->pl, &e->inits, t);
}

static void init_i64(ex *e, const char *name, int n, const int64_t *v)
{
	Onnx__TensorProto *t = P(&e->pl, sizeof *t);
	int64_t *d = P(&e->pl, sizeof *d), *val = P(&e->pl, (size_t)n * sizeof *val);
	if (!t || !d || !val)
		return;
	onnx__tensor_proto__init(t);
	t->name = S(&e->pl, "%s", name);
	d[0] = n;
	t->n_dims = 1;
	t->dims = d;
	t->has_data_type = 1;
	t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
	memcpy(val, v, (size_t)n * sizeof *val);
	t->n_int64_data = (size_t)n;
	t->int64_data = val;
	push(&e->pl, &e->inits, t);
}

/* A node of the chain an embedding or a masked pool_time becomes: the
 * importer folds nodes marked thaw:alias into their first input and
 * rebuilds the thaw node at the one marked with its kind. */
static Onnx__NodeProto *marked(ex *e, const char *op, const char *out, const char *const *in,
			       Onnx__AttributeProto *const *attrs, const char *mark)
{
	Onnx__NodeProto *nd = node(e, op, out, out, in, attrs);
	if (nd)
		nd->doc_string = S(&e->pl, "%s", mark);
	return nd;
}

/* embedding: Flatten -> Cast(int64) -> Gather(weight) -> Transpose -> Unsqueeze,
 * (N,1,1,T) token ids as floats to (N,D,1,T). The padding row is written
 * as zeros, which is what thaw's embedding gives for id 0. */
static void export_embedding(ex *e, const thaw_node *n, const char *x)
{
	const char *name = n->name;
	const char *ids = S(&e->pl, "%s/ids", name), *i64 = S(&e->pl, "%s/ids64", name),
		   *g = S(&e->pl, "%s/gather", name), *t = S(&e->pl, "%s/transpose", name),
		   *w = S(&e->pl, "%s.weight", name), *ax = S(&e->pl, "%s/axes", name);
	float *rows = P(&e->pl, n->p[0].size * sizeof *rows);
	if (!rows)
		return;
	memcpy(rows, n->p[0].w, n->p[0].size * sizeof *rows);
	memset(rows, 0, sizeof *rows * (size_t)n->a.dim);
	init_tensor(e, w, rows, n->p[0].size, 2, n->p[0].dims);
	int64_t two = 2;
	init_i64(e, ax, 1, &two);
	int perm[3] = {0, 2, 1};
	Onnx__AttributeProto *fa[2] = {a_int(e, "axis", 1), NULL}, *ca[2] = {a_int(e, "to", ONNX__TENSOR_PROTO__DATA_TYPE__INT64), NULL},
			     *ga[2] = {a_int(e, "axis", 0), NULL}, *ta[2] = {a_ints(e, "perm", 3, perm), NULL};
	marked(e, "Flatten", ids, (const char *[]){x, NULL}, fa, "thaw:alias");
	marked(e, "Cast", i64, (const char *[]){ids, NULL}, ca, "thaw:alias");
	Onnx__NodeProto *gn = marked(e, "Gather", g, (const char *[]){w, i64, NULL}, ga, "thaw:embedding");
	if (gn) /* the node the importer rebuilds the layer at carries the layer's name */
		gn->name = S(&e->pl, "%s", name);
	marked(e, "Transpose", t, (const char *[]){g, NULL}, ta, "thaw:alias");
	Onnx__NodeProto *un = marked(e, "Unsqueeze", name, (const char *[]){t, ax, NULL}, NULL, "thaw:alias");
	if (un)
		un->name = S(&e->pl, "%s/unsqueeze", name);
}

/* pool_time over the last axis: ReduceMean / ReduceMax alone, or with the
 * token ids a mask (ids != 0): the mean is ReduceSum(x * mask) over
 * max(ReduceSum(mask), 1); the max is ReduceMax(x + (mask - 1) * 1e30)
 * times min(ReduceSum(mask), 1), so an all-padding text gives 0 as in thaw. */
static void export_pool_time(ex *e, const thaw_node *n, const char *x, const char *ids)
{
	const char *name = n->name;
	int mx = n->a.pool == THAW_POOL_MAX, three = 3;
	const char *mark = mx ? "thaw:pool_time max" : "thaw:pool_time mean";
	Onnx__AttributeProto *ra[3] = {a_ints(e, "axes", 1, &three), a_int(e, "keepdims", 1), NULL};
	if (!ids) {
		marked(e, mx ? "ReduceMax" : "ReduceMean", name, (const char *[]){x, NULL}, ra, mark);
		return;
	}
#define NM(s) S(&e->pl, "%s/" s, name)
	const char *zero = NM("zero"), *one = NM("one"), *axes = NM("axes");
	float z = 0.0f, o = 1.0f;
	init_tensor(e, zero, &z, 1, 0, NULL);
	init_tensor(e, one, &o, 1, 0, NULL);
	int64_t a3 = 3;
	init_i64(e, axes, 1, &a3);
	const char *eq = NM("is_pad"), *nt = NM("not_pad"), *mask = NM("mask"), *cnt = NM("count");
	Onnx__AttributeProto *ca[2] = {a_int(e, "to", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT), NULL},
			     *ka[2] = {a_int(e, "keepdims", 1), NULL};
	marked(e, "Equal", eq, (const char *[]){ids, zero, NULL}, NULL, "thaw:alias");
	marked(e, "Not", nt, (const char *[]){eq, NULL}, NULL, "thaw:alias");
	marked(e, "Cast", mask, (const char *[]){nt, NULL}, ca, "thaw:alias");
	marked(e, "ReduceSum", cnt, (const char *[]){mask, axes, NULL}, ka, "thaw:alias");
	if (!mx) {
		const char *xm = NM("masked"), *sum = NM("sum"), *den = NM("den");
		marked(e, "Mul", xm, (const char *[]){x, mask, NULL}, NULL, "thaw:alias");
		marked(e, "ReduceSum", sum, (const char *[]){xm, axes, NULL}, ka, "thaw:alias");
		marked(e, "Max", den, (const char *[]){cnt, one, NULL}, NULL, "thaw:alias");
		marked(e, "Div", name, (const char *[]){sum, den, NULL}, NULL, mark);
	} else {
		const char *big = NM("big"), *neg = NM("off"), *pen = NM("penalty"), *xm = NM("masked"),
			   *r = NM("max"), *any = NM("any");
		float b = 1e30f;
		init_tensor(e, big, &b, 1, 0, NULL);
		marked(e, "Sub", neg, (const char *[]){mask, one, NULL}, NULL, "thaw:alias");
		marked(e, "Mul", pen, (const char *[]){neg, big, NULL}, NULL, "thaw:alias");
		marked(e, "Add", xm, (const char *[]){x, pen, NULL}, NULL, "thaw:alias");
		marked(e, "ReduceMax", r, (const char *[]){xm, NULL}, ra, "thaw:alias");
		marked(e, "Min", any, (const char *[]){cnt, one, NULL}, NULL, "thaw:alias");
		marked(e, "Mul", name, (const char *[]){r, any, NULL}, NULL, mark);
	}
#undef NM
}

static const char *param_init(ex *e, const thaw_node *n, const char *pname)
{
	for (int k = 0; k < n->np; k++)
		if (!strcmp(n->p[k].name, pname)) {
			const char *nm = S(&e->pl, "%s.%s", n->name, pname);
			init_tensor(e, nm, n->p[k].w, n->p[k].size, n->p[k].ndim, n->p[k].dims);
			return nm;
		}
	return NULL;
}

static const char *scalar_init(ex *e, const thaw_node *n, const char *what, float v)
{
	const char *nm = S(&e->pl, "%s.%s", n->name, what);
	init_tensor(e, nm, &v, 1, 0, NULL);
	return nm;
}

static Onnx__ValueInfoProto *value_info(ex *e, const char *name, int rank, const int *dims)
{
	Onnx__ValueInfoProto *vi = P(&e->pl, sizeof *vi);
	Onnx__TypeProto *tp = P(&e->pl, sizeof *tp);
	Onnx__TypeProto__Tensor *tt = P(&e->pl, sizeof *tt);
	Onnx__TensorShapeProto *sh = P(&e->pl, sizeof *sh);
	Onnx__TensorShapeProto__Dimension **dd = P(&e->pl, (size_t)rank * sizeof *dd);
	if (!vi || !tp || !tt || !sh || !dd)
		return NULL;
	onnx__value_info_proto__init(vi);
	onnx__type_proto__init(tp);
	onnx__type_proto__tensor__init(tt);
	onnx__tensor_shape_proto__init(sh);
	for (int i = 0; i < rank; i++) {
		dd[i] = P(&e->pl, sizeof *dd[i]);
		if (!dd[i])
			return NULL;
		onnx__tensor_shape_proto__dimension__init(dd[i]);
		if (i == 0) {
			dd[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
			dd[i]->dim_param = S(&e->pl, "N");
		} else {
			dd[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
			dd[i]->dim_value = dims[i - 1];
		}
	}
	sh->n_dim = (size_t)rank;
	sh->dim = dd;
	tt->has_elem_type = 1;
	tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
	tt->shape = sh;
	tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
	tp->tensor_type = tt;
	vi->name = S(&e->pl, "%s", name);
	vi->type = tp;
	return vi;
}

static int export_node(ex *e, int i, int *rank, const char *path)
{
	const thaw_node *n = e->m->nodes[i];
	const thaw_attrs *a = &n->a;
	const char *in[THAW_MAX_INPUTS + 1] = {0};
	int r = 0;
	for (int j = 0; j < n->n_in; j++) {
		in[j] = n->in[j] < 0 ? "input" : e->m->nodes[n->in[j]]->name;
		int rj = n->in[j] < 0 ? 4 : rank[n->in[j]];
		r = rj > r ? rj : r;
	}
	rank[i] = r;
	const char *name = n->name;
	Onnx__AttributeProto *at[8] = {0};
	int kk[2] = {a->kh, a->kw}, ss[2] = {a->sh, a->sw}, dd[2] = {a->dh, a->dw};
	switch (n->kind) {
	case THAW_CONV2D: {
		if (r != 4)
			return thaw_error(THAW_EINVAL, "%s: node '%s' (conv2d) reads a flat (N, K) tensor, which ONNX Conv cannot take",
					  path, name);
		const char *ci[4] = {in[0], param_init(e, n, "weight"), param_init(e, n, "bias"), NULL};
		at[0] = a_ints(e, "kernel_shape", 2, kk);
		at[1] = a_ints(e, "strides", 2, ss);
		at[2] = a_ints(e, "pads", 4, a->pad);
		at[3] = a_ints(e, "dilations", 2, dd);
		at[4] = a_int(e, "group", a->groups);
		node(e, "Conv", name, name, ci, at);
		break;
	}
	case THAW_MAXPOOL:
	case THAW_AVGPOOL:
		if (r != 4)
			return thaw_error(THAW_EINVAL, "%s: node '%s' pools a flat tensor", path, name);
		at[0] = a_ints(e, "kernel_shape", 2, kk);
		at[1] = a_ints(e, "strides", 2, ss);
		at[2] = a_ints(e, "pads", 4, a->pad);
		at[3] = a_int(e, "ceil_mode", a->ceil_mode);
		if (n->kind == THAW_AVGPOOL)
			at[4] = a_int(e, "count_include_pad", a->count_include_pad);
		node(e, n->kind == THAW_MAXPOOL ? "MaxPool" : "AveragePool", name, name, in, at);
		break;
	case THAW_GLOBALAVGPOOL:
		node(e, "GlobalAveragePool", name, name, in, NULL);
		break;
	case THAW_BATCHNORM: {
		const char *bi[6] = {in[0], param_init(e, n, "gamma"), param_init(e, n, "beta"),
				     param_init(e, n, "running_mean"), param_init(e, n, "running_var"), NULL};
		at[0] = a_float(e, "epsilon", a->eps);
		at[1] = a_float(e, "momentum", a->momentum);
		node(e, "BatchNormalization", name, name, bi, at);
		break;
	}
	case THAW_RELU:
		node(e, "Relu", name, name, in, NULL);
		break;
	case THAW_SIGMOID:
		node(e, "Sigmoid", name, name, in, NULL);
		break;
	case THAW_TANH:
		node(e, "Tanh", name, name, in, NULL);
		break;
	case THAW_GELU:
		node(e, "Gelu", name, name, in, NULL);
		break;
	case THAW_LEAKY_RELU:
		at[0] = a_float(e, "alpha", a->alpha);
		node(e, "LeakyRelu", name, name, in, at);
		break;
	case THAW_RELU6: {
		const char *ci[4] = {in[0], scalar_init(e, n, "min", a->lo), scalar_init(e, n, "max", a->hi), NULL};
		node(e, "Clip", name, name, ci, NULL);
		break;
	}
	case THAW_DROPOUT: {
		const char *di[3] = {in[0], scalar_init(e, n, "ratio", a->rate), NULL};
		node(e, "Dropout", name, name, di, NULL);
		break;
	}
	case THAW_FLATTEN:
		at[0] = a_int(e, "axis", 1);
		node(e, "Flatten", name, name, in, at);
		rank[i] = 2;
		break;
	case THAW_ADD:
		node(e, "Add", name, name, in, NULL);
		break;
	case THAW_CONCAT:
		at[0] = a_int(e, "axis", 1);
		node(e, "Concat", name, name, in, at);
		break;
	case THAW_DENSE: {
		const char *x = in[0];
		if (r != 2) {
			/* thaw's dense flattens by itself; ONNX Gemm needs (N, K) */
			const char *fl = S(&e->pl, "%s/flatten", name);
			Onnx__AttributeProto *fa[2] = {a_int(e, "axis", 1), NULL};
			const char *fi[2] = {x, NULL};
			Onnx__NodeProto *f = node(e, "Flatten", fl, fl, fi, fa);
			if (f)
				f->doc_string = S(&e->pl, "thaw:implicit flatten in front of dense '%s'", name);
			x = fl;
		}
		const char *gi[4] = {x, param_init(e, n, "weight"), param_init(e, n, "bias"), NULL};
		at[0] = a_int(e, "transB", 1);
		node(e, "Gemm", name, name, gi, at);
		rank[i] = 2;
		break;
	}
	case THAW_EMBEDDING:
		export_embedding(e, n, in[0]);
		rank[i] = 4;
		break;
	case THAW_POOL_TIME:
		export_pool_time(e, n, in[0], n->n_in == 2 ? in[1] : NULL);
		rank[i] = 4;
		break;
	default:
		return thaw_error(THAW_EINVAL, "%s: node '%s': kind %d has no ONNX form", path, name, n->kind);
	}
	return 0;
}

static Onnx__StringStringEntryProto *meta(ex *e, const char *k, char *v)
{
	Onnx__StringStringEntryProto *p = P(&e->pl, sizeof *p);
	if (!p || !v)
		return NULL;
	onnx__string_string_entry_proto__init(p);
	p->key = S(&e->pl, "%s", k);
	p->value = v;
	return p;
}

int thaw_onnx_export(const thaw_model *m, const char *path)
{
	if (!m || !path || m->n == 0)
		return thaw_error(THAW_EINVAL, "export: no model, no nodes or no path");
	ex e;
	memset(&e, 0, sizeof e);
	e.m = m;
	int *rank = calloc((size_t)m->n, sizeof *rank);
	if (!rank)
		return thaw_error(THAW_ENOMEM, "out of memory");
	int rc = 0, gelu = 0;
	for (int i = 0; i < m->n && rc == 0; i++) {
		gelu |= m->nodes[i]->kind == THAW_GELU;
		rc = export_node(&e, i, rank, path);
	}
	Onnx__ModelProto mp;
	Onnx__GraphProto g;
	Onnx__OperatorSetIdProto os;
	onnx__model_proto__init(&mp);
	onnx__graph_proto__init(&g);
	onnx__operator_set_id_proto__init(&os);
	os.domain = S(&e.pl, "%s", "");
	os.has_version = 1;
	os.version = gelu ? 20 : 17;
	Onnx__OperatorSetIdProto *osp[1] = {&os};
	mp.has_ir_version = 1;
	mp.ir_version = gelu ? 9 : 8;
	mp.n_opset_import = 1;
	mp.opset_import = osp;
	mp.producer_name = S(&e.pl, "thaw");
	mp.producer_version = S(&e.pl, "1");
	mp.graph = &g;
	g.name = S(&e.pl, "thaw");
	g.n_node = e.nodes.n;
	g.node = (Onnx__NodeProto **)e.nodes.v;
	g.n_initializer = e.inits.n;
	g.initializer = (Onnx__TensorProto **)e.inits.v;
	int idims[3] = {m->input.c, m->input.h, m->input.w};
	Onnx__ValueInfoProto *vin = value_info(&e, "input", 4, idims);
	const thaw_node *last = m->nodes[m->n - 1];
	int odims[3] = {last->out.c, last->out.h, last->out.w};
	Onnx__ValueInfoProto *vout = value_info(&e, last->name, rank[m->n - 1] == 2 ? 2 : 4, odims);
	g.n_input = g.n_output = 1;
	g.input = &vin;
	g.output = &vout;

	/* what ONNX has no place for: normalisation, class names, freezing */
	Onnx__StringStringEntryProto *md[6];
	size_t nmd = 0;
	char mean[128] = "", stdv[128] = "";
	for (int c = 0; c < m->input.c && c < THAW_MAX_CHANNELS; c++) {
		snprintf(mean + strlen(mean), sizeof mean - strlen(mean), "%s%.9g", c ? " " : "", m->input.mean[c]);
		snprintf(stdv + strlen(stdv), sizeof stdv - strlen(stdv), "%s%.9g", c ? " " : "", m->input.std[c]);
	}
	md[nmd++] = meta(&e, "thaw.mean", S(&e.pl, "%s", mean));
	md[nmd++] = meta(&e, "thaw.std", S(&e.pl, "%s", stdv));
	if (m->n_classes > 0) {
		size_t len = 1;
		for (int i = 0; i < m->n_classes; i++)
			len += strlen(m->class_names[i]) + 1;
		char *cl = P(&e.pl, len);
		if (cl)
			for (int i = 0; i < m->n_classes; i++) {
				strcat(cl, m->class_names[i]);
				strcat(cl, "\n");
			}
		md[nmd++] = meta(&e, "thaw.classes", cl);
	}
	size_t flen = 1;
	for (int i = 0; i < m->n; i++)
		flen += strlen(m->nodes[i]->name) + 1;
	char *fr = P(&e.pl, flen);
	for (int i = 0; fr && i < m->n; i++)
		if (!m->nodes[i]->trainable) {
			strcat(fr, *fr ? " " : "");
			strcat(fr, m->nodes[i]->name);
		}
	if (fr && *fr)
		md[nmd++] = meta(&e, "thaw.frozen", fr);
	if (m->vocab) { /* a text model's words, a line each, id order */
		size_t len = 1;
		for (int i = 0; i < m->vocab->n; i++)
			len += strlen(m->vocab->words[i]) + 1;
		char *vw = P(&e.pl, len);
		for (int i = 0, at = 0; vw && i < m->vocab->n; i++) /* no strcat: 100,000 words */
			at += sprintf(vw + at, "%s\n", m->vocab->words[i]);
		md[nmd++] = meta(&e, "thaw.vocab", vw);
		md[nmd++] = meta(&e, "thaw.vocab_lower", S(&e.pl, "%d", m->vocab->lower));
	}
	mp.n_metadata_props = nmd;
	mp.metadata_props = md;

	if (rc == 0 && (e.pl.oom || !vin || !vout))
		rc = thaw_error(THAW_ENOMEM, "%s: out of memory building the ONNX graph", path);
	for (size_t i = 0; rc == 0 && i < nmd; i++)
		if (!md[i])
			rc = thaw_error(THAW_ENOMEM, "%s: out of memory", path);
	if (rc == 0) {
		size_t len = onnx__model_proto__get_packed_size(&mp);
		uint8_t *buf = malloc(len ? len : 1);
		if (!buf)
			rc = thaw_error(THAW_ENOMEM, "%s: out of memory (%zu bytes)", path, len);
		else {
			onnx__model_proto__pack(&mp, buf);
			rc = thaw_atomic_write(path, buf, len);
			free(buf);
		}
	}
	free(rank);
	pool_free(&e.pl);
	return rc;
}
