/* ONNX import: the file is decoded with protobuf-c, its nodes are ordered
 * topologically, and each maps onto a thaw node (or folds away: Identity,
 * Constant, a MatMul's bias Add, a final Softmax) by the builders of
 * onnx_ops.c. This file: values, attributes, tensors, the graph. Everything read from the
 * file is treated as hostile: every count, dimension and type is checked
 * before it is used or allocated. */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_import.h"
#include "thaw/vocab.h"

#define MAX_FILE ((long)1 << 31)
#define MAX_NODES 100000
/* 7 is the target; in 6 the operators read here mean the same (BatchNormalization
 * and Dropout carry an is_test flag, checked) and the PyTorch-converted
 * backend tests use it */
#define OPSET_MIN 6
#define OPSET_MAX 20 /* 17 is the target; 18-20 change nothing we read, and add Gelu */

int thaw_onnx_err(ctx *c, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (c->nd)
		return thaw_error(code, "%s: node '%s' (%s): %s", c->path,
				  c->nd->name && *c->nd->name ? c->nd->name : "(unnamed)",
				  c->nd->op_type ? c->nd->op_type : "?", msg);
	return thaw_error(code, "%s: %s", c->path, msg);
}

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

int thaw_onnx_find_val(const ctx *c, const char *name)
{
	if (!name || !c->nslots)
		return -1;
	for (size_t i = hash(name) & (c->nslots - 1);; i = (i + 1) & (c->nslots - 1)) {
		int k = c->slots[i];
		if (k < 0)
			return -1;
		if (strcmp(c->vals[k].name, name) == 0)
			return k;
	}
}

/* Defines (or redefines) a value; the map holds at most capv names. */
int thaw_onnx_def_val(ctx *c, const char *name, value v)
{
	int k = thaw_onnx_find_val(c, name);
	if (k >= 0) {
		int uses = c->vals[k].uses;
		c->vals[k] = v;
		c->vals[k].name = name;
		c->vals[k].uses = uses;
		return k;
	}
	if (c->nv >= c->capv)
		return thaw_onnx_err(c, THAW_EFORMAT, "too many values");
	v.name = name;
	c->vals[c->nv] = v;
	size_t i = hash(name) & (c->nslots - 1);
	while (c->slots[i] >= 0)
		i = (i + 1) & (c->nslots - 1);
	c->slots[i] = c->nv;
	return c->nv++;
}

/* ---- attributes */
const Onnx__AttributeProto *thaw_onnx_attr(const Onnx__NodeProto *nd, const char *name)
{
	for (size_t i = 0; i < nd->n_attribute; i++)
		if (nd->attribute[i]->name && strcmp(nd->attribute[i]->name, name) == 0)
			return nd->attribute[i];
	return NULL;
}

int thaw_onnx_attr_int(ctx *c, const char *name, long lo, long hi, long def, long *out)
{
	const Onnx__AttributeProto *a = thaw_onnx_attr(c->nd, name);
	*out = def;
	if (!a)
		return 0;
	if (!a->has_i)
		return thaw_onnx_err(c, THAW_EFORMAT, "attribute %s is not an integer", name);
	if (a->i < lo || a->i > hi)
		return thaw_onnx_err(c, THAW_EFORMAT, "attribute %s = %lld outside %ld..%ld", name, (long long)a->i,
				     lo, hi);
	*out = (long)a->i;
	return 0;
}

int thaw_onnx_attr_float(ctx *c, const char *name, float def, float *out)
{
	const Onnx__AttributeProto *a = thaw_onnx_attr(c->nd, name);
	*out = def;
	if (!a)
		return 0;
	if (!a->has_f || isnan(a->f))
		return thaw_onnx_err(c, THAW_EFORMAT, "attribute %s is not a number", name);
	*out = a->f;
	return 0;
}

/* Reads an INTS attribute of exactly `want` values into out (or leaves the
 * defaults when absent). Returns 1 when present. */
int thaw_onnx_attr_ints(ctx *c, const char *name, int want, long lo, long hi, int *out)
{
	const Onnx__AttributeProto *a = thaw_onnx_attr(c->nd, name);
	if (!a)
		return 0;
	if ((int)a->n_ints != want)
		return thaw_onnx_err(c, THAW_EFORMAT, "attribute %s has %zu values, expected %d", name, a->n_ints, want);
	for (int i = 0; i < want; i++) {
		if (a->ints[i] < lo || a->ints[i] > hi)
			return thaw_onnx_err(c, THAW_EFORMAT, "attribute %s[%d] = %lld outside %ld..%ld", name, i,
					     (long long)a->ints[i], lo, hi);
		out[i] = (int)a->ints[i];
	}
	return 1;
}

const char *thaw_onnx_attr_str(const Onnx__NodeProto *nd, const char *name, char *buf, size_t size)
{
	const Onnx__AttributeProto *a = thaw_onnx_attr(nd, name);
	if (!a || !a->has_s)
		return NULL;
	size_t n = a->s.len < size - 1 ? a->s.len : size - 1;
	memcpy(buf, a->s.data, n);
	buf[n] = 0;
	return buf;
}

/* ---- tensors */
static const char *type_name(int t)
{
	static const char *const names[] = {"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16",
					    "INT32", "INT64", "STRING", "BOOL", "FLOAT16", "DOUBLE",
					    "UINT32", "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16"};
	return t >= 0 && t < (int)(sizeof names / sizeof *names) ? names[t] : "unknown";
}

/* Element count from dims, rejecting negative and oversized ones. */
int thaw_onnx_tensor_count(ctx *c, const Onnx__TensorProto *t, const char *what, uint64_t *out)
{
	if (t->n_dims > 8)
		return thaw_onnx_err(c, THAW_EFORMAT, "%s '%s' has %zu dimensions", what, t->name ? t->name : "",
				     t->n_dims);
	uint64_t n = 1;
	for (size_t i = 0; i < t->n_dims; i++) {
		if (t->dims[i] < 0 || (uint64_t)t->dims[i] > MAX_ELEMS)
			return thaw_onnx_err(c, THAW_EFORMAT, "%s '%s' has dimension %zu of %lld", what,
					     t->name ? t->name : "", i, (long long)t->dims[i]);
		n *= (uint64_t)t->dims[i];
		if (n > MAX_ELEMS)
			return thaw_onnx_err(c, THAW_EFORMAT, "%s '%s' has more than %llu elements", what,
					     t->name ? t->name : "", (unsigned long long)MAX_ELEMS);
	}
	*out = n;
	return 0;
}

/* Checks that a FLOAT tensor's data holds what its dims say, without
 * copying: a layer sized from forged dims must not be allocated first
 * (a 1<<24 x C x 3 x 3 Conv weight in a few kilobytes asked for 4 GB). */
int thaw_onnx_tensor_f32_check(ctx *c, const Onnx__TensorProto *t, const char *what, uint64_t *out)
{
	uint64_t n;
	int rc = thaw_onnx_tensor_count(c, t, what, &n);
	if (rc < 0)
		return rc;
	const char *nm = t->name ? t->name : "";
	if (t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
		return thaw_onnx_err(c, THAW_EFORMAT, "%s '%s' has type %s; only FLOAT weights are supported", what, nm,
				     type_name(t->data_type));
	if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
		return thaw_onnx_err(c, THAW_EFORMAT, "%s '%s' keeps its data in an external file, which thaw does not read",
				     what, nm);
	if (t->has_raw_data && t->raw_data.len > 0) {
		if (t->raw_data.len != 4 * n)
			return thaw_onnx_err(c, THAW_EFORMAT, "%s '%s': raw_data has %zu bytes for %llu floats", what, nm,
					     t->raw_data.len, (unsigned long long)n);
	} else if (t->n_float_data != n) {
		return thaw_onnx_err(c, THAW_EFORMAT, "%s '%s': %zu float_data values for %llu elements", what, nm,
				     t->n_float_data, (unsigned long long)n);
	}
	*out = n;
	return 0;
}

/* Copies a FLOAT tensor of exactly `want` elements into dst. */
int thaw_onnx_tensor_f32(ctx *c, const Onnx__TensorProto *t, const char *what, float *dst, uint64_t want)
{
	uint64_t n;
	int rc = thaw_onnx_tensor_f32_check(c, t, what, &n);
	if (rc < 0)
		return rc;
	const char *nm = t->name ? t->name : "";
	if (n != want)
		return thaw_onnx_err(c, THAW_ESHAPE, "%s '%s' has %llu values, expected %llu", what, nm,
				     (unsigned long long)n, (unsigned long long)want);
	if (t->has_raw_data && t->raw_data.len > 0) {
		const unsigned char *p = t->raw_data.data;
		for (uint64_t i = 0; i < n; i++) {
			uint32_t u = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
				     (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
			memcpy(&dst[i], &u, 4);
		}
		return 0;
	}
	if (n)
		memcpy(dst, t->float_data, n * sizeof(float));
	return 0;
}

/* Copies an INT64 (or INT32) tensor of up to max elements; returns the count. */
int thaw_onnx_tensor_ints(ctx *c, const Onnx__TensorProto *t, const char *what, int64_t *dst, int max)
{
	uint64_t n;
	int rc = thaw_onnx_tensor_count(c, t, what, &n);
	if (rc < 0)
		return rc;
	if (n > (uint64_t)max)
		return thaw_onnx_err(c, THAW_EFORMAT, "%s has %llu values (at most %d)", what, (unsigned long long)n, max);
	int w = t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64   ? 8
		: t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT32 ? 4
								       : 0;
	if (!w)
		return thaw_onnx_err(c, THAW_EFORMAT, "%s has type %s; expected INT64", what, type_name(t->data_type));
	if (t->has_raw_data && t->raw_data.len > 0) {
		if (t->raw_data.len != w * n)
			return thaw_onnx_err(c, THAW_EFORMAT, "%s: raw_data has %zu bytes for %llu values", what,
					     t->raw_data.len, (unsigned long long)n);
		for (uint64_t i = 0; i < n; i++) {
			uint64_t u = 0;
			for (int b = 0; b < w; b++)
				u |= (uint64_t)t->raw_data.data[w * i + b] << (8 * b);
			dst[i] = w == 8 ? (int64_t)u : (int64_t)(int32_t)(uint32_t)u;
		}
	} else if (w == 8 && t->n_int64_data == n) {
		memcpy(dst, t->int64_data, n * sizeof *dst);
	} else if (w == 4 && t->n_int32_data == n) {
		for (uint64_t i = 0; i < n; i++)
			dst[i] = t->int32_data[i];
	} else {
		return thaw_onnx_err(c, THAW_EFORMAT, "%s: the data does not match its %llu elements", what,
				     (unsigned long long)n);
	}
	return (int)n;
}

/* ---- graph level */
static int read_input(ctx *c, const Onnx__ValueInfoProto *vi, int *cc, int *hh, int *ww, int *rank)
{
	const char *nm = vi->name ? vi->name : "";
	if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
	    !vi->type->tensor_type)
		return thaw_onnx_err(c, THAW_EFORMAT, "graph input '%s' is not a tensor", nm);
	const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
	if (tt->has_elem_type && tt->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
		return thaw_onnx_err(c, THAW_EFORMAT, "graph input '%s' has type %s; thaw takes FLOAT input", nm,
				     type_name(tt->elem_type));
	if (!tt->shape)
		return thaw_onnx_err(c, THAW_EFORMAT, "graph input '%s' has no shape", nm);
	int r = (int)tt->shape->n_dim;
	if (r < 2 || r > 4)
		return thaw_onnx_err(c, THAW_EINVAL, "graph input '%s' has rank %d; thaw takes (N,C,H,W), (N,C,L) or (N,C)",
				     nm, r);
	long d[4] = {1, 1, 1, 1};
	for (int i = 1; i < r; i++) {
		const Onnx__TensorShapeProto__Dimension *dm = tt->shape->dim[i];
		if (dm->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
			return thaw_onnx_err(c, THAW_EINVAL, "graph input '%s': dimension %d is not fixed; thaw needs C, H and W",
					     nm, i);
		if (dm->dim_value <= 0 || dm->dim_value > 65536)
			return thaw_onnx_err(c, THAW_EFORMAT, "graph input '%s': dimension %d is %lld", nm, i,
					     (long long)dm->dim_value);
		d[i] = (long)dm->dim_value;
	}
	*cc = (int)d[1];
	*hh = r == 4 ? (int)d[2] : 1;
	*ww = r == 4 ? (int)d[3] : r == 3 ? (int)d[2] : 1;
	*rank = r;
	return 0;
}

static int count_uses(ctx *c, const char *name, int delta)
{
	int k = thaw_onnx_find_val(c, name);
	if (k >= 0)
		c->vals[k].uses += delta;
	return k;
}

/* Names that nodes wait for (inputs not yet defined when ordering starts):
 * an open-addressing set, each name with the list of its consumers. */
typedef struct waits {
	size_t nslots;
	int *slot;         /* index into name[], -1 empty */
	const char **name; /* [nw] */
	int *head;         /* [nw] first edge */
	char *released;    /* [nw] some node produced it */
	char *produced;    /* [nw] some node lists it as an output */
	int nw;
	int *enode, *enext; /* edges: consumer node, next edge of the same name */
	int ne;
} waits;

static int waits_find(const waits *w, const char *name, int add)
{
	size_t mask = w->nslots - 1, i = hash(name) & mask;
	for (; w->slot[i] >= 0; i = (i + 1) & mask)
		if (!strcmp(w->name[w->slot[i]], name))
			return w->slot[i];
	if (!add)
		return -1;
	int k = ((waits *)w)->nw++;
	w->slot[i] = k;
	w->name[k] = name;
	w->head[k] = -1;
	return k;
}

/* A binary min-heap of ready node indices: a file already in order keeps
 * its order. */
static void heap_push(int *h, int *n, int v)
{
	int i = (*n)++;
	for (; i > 0 && h[(i - 1) / 2] > v; i = (i - 1) / 2)
		h[i] = h[(i - 1) / 2];
	h[i] = v;
}

static int heap_pop(int *h, int *n)
{
	int top = h[0], v = h[--*n], i = 0;
	for (;;) {
		int l = 2 * i + 1, m = l + 1 < *n && h[l + 1] < h[l] ? l + 1 : l;
		if (l >= *n || h[m] >= v)
			break;
		h[i] = h[m];
		i = m;
	}
	h[i] = v;
	return top;
}

/* Orders the nodes so each comes after the producers of its inputs
 * (Kahn's algorithm: linear, where repeated passes were quadratic on a
 * file listed backwards); reports dangling inputs and cycles. */
static int topo_order(ctx *c, int *order)
{
	size_t n = c->g->n_node, edges = 0;
	for (size_t i = 0; i < n; i++)
		edges += c->g->node[i]->n_input;
	waits w = {0};
	w.nslots = 16;
	while (w.nslots < 2 * edges + 2)
		w.nslots *= 2;
	w.slot = thaw_malloc(w.nslots * sizeof *w.slot);
	w.name = thaw_malloc((edges + 1) * sizeof *w.name);
	w.head = thaw_malloc((edges + 1) * sizeof *w.head);
	w.released = thaw_calloc(edges + 1, 1);
	w.produced = thaw_calloc(edges + 1, 1);
	w.enode = thaw_malloc((edges + 1) * sizeof *w.enode);
	w.enext = thaw_malloc((edges + 1) * sizeof *w.enext);
	int *pending = thaw_calloc(n + 1, sizeof *pending), *heap = thaw_malloc((n + 1) * sizeof *heap);
	char *done = thaw_calloc(n + 1, 1);
	int rc = 0, got = 0, nh = 0;
	if (!w.slot || !w.name || !w.head || !w.released || !w.produced || !w.enode || !w.enext || !pending ||
	    !heap || !done) {
		rc = THAW_ENOMEM;
		goto out;
	}
	memset(w.slot, 0xff, w.nslots * sizeof *w.slot);
	/* initializers and the graph input are defined already */
	for (size_t i = 0; i < n; i++) {
		const Onnx__NodeProto *nd = c->g->node[i];
		for (size_t j = 0; j < nd->n_input; j++) {
			if (!nd->input[j] || !nd->input[j][0] || thaw_onnx_find_val(c, nd->input[j]) >= 0)
				continue;
			int k = waits_find(&w, nd->input[j], 1);
			w.enode[w.ne] = (int)i;
			w.enext[w.ne] = w.head[k];
			w.head[k] = w.ne++;
			pending[i]++;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const Onnx__NodeProto *nd = c->g->node[i];
		for (size_t o = 0; o < nd->n_output; o++) {
			int k = nd->output[o] && nd->output[o][0] ? waits_find(&w, nd->output[o], 0) : -1;
			if (k >= 0)
				w.produced[k] = 1;
		}
		if (!pending[i])
			heap_push(heap, &nh, (int)i);
	}
	while (nh > 0) {
		int i = heap_pop(heap, &nh);
		const Onnx__NodeProto *nd = c->g->node[i];
		for (size_t j = 0; j < nd->n_output; j++) {
			const char *out = nd->output[j];
			if (!out || !out[0])
				continue;
			if (thaw_onnx_find_val(c, out) < 0 &&
			    thaw_onnx_def_val(c, out, (value){.kind = V_NODE, .node = -2}) < 0) {
				rc = THAW_EFORMAT;
				goto out;
			}
			int k = waits_find(&w, out, 0);
			if (k < 0 || w.released[k])
				continue;
			w.released[k] = 1;
			for (int e = w.head[k]; e >= 0; e = w.enext[e])
				if (--pending[w.enode[e]] == 0)
					heap_push(heap, &nh, w.enode[e]);
		}
		done[i] = 1;
		order[got++] = i;
	}
	if (got < (int)n) {
		/* an input nobody produces, or a cycle */
		for (size_t i = 0; i < n && rc == 0; i++) {
			if (done[i])
				continue;
			const Onnx__NodeProto *nd = c->g->node[i];
			for (size_t j = 0; j < nd->n_input && rc == 0; j++) {
				const char *in = nd->input[j];
				int k = in && in[0] ? waits_find(&w, in, 0) : -1;
				if (k >= 0 && !w.produced[k]) {
					c->nd = nd;
					rc = thaw_onnx_err(c, THAW_EFORMAT,
							   "input '%s' is not produced by any node, initializer or graph input (a missing initializer or a dangling input)",
							   in);
				}
			}
		}
		for (size_t i = 0; i < n && rc == 0; i++)
			if (!done[i]) {
				c->nd = c->g->node[i];
				rc = thaw_onnx_err(c, THAW_EFORMAT,
						   "the graph has a cycle through this node (%d of %zu nodes could be ordered)", got,
						   n);
			}
	}
out:
	free(w.slot);
	free(w.name);
	free(w.head);
	free(w.released);
	free(w.produced);
	free(w.enode);
	free(w.enext);
	free(pending);
	free(heap);
	free(done);
	return rc;
}

static int opset_of(ctx *c)
{
	int opset = -1;
	for (size_t i = 0; i < c->mp->n_opset_import; i++) {
		const Onnx__OperatorSetIdProto *o = c->mp->opset_import[i];
		if (!o->domain || !*o->domain || !strcmp(o->domain, "ai.onnx"))
			opset = o->has_version ? (int)(o->version > INT_MAX ? INT_MAX : o->version) : 1;
	}
	if (opset < 0)
		return thaw_onnx_err(c, THAW_EFORMAT, "no opset for the default ONNX domain");
	if (opset < OPSET_MIN || opset > OPSET_MAX)
		return thaw_onnx_err(c, THAW_EINVAL, "opset %d is outside the supported %d..%d", opset, OPSET_MIN,
				     OPSET_MAX);
	c->opset = opset;
	return 0;
}

static int import_graph(ctx *c)
{
	Onnx__GraphProto *g = c->g;
	int rc;
	if ((rc = opset_of(c)) < 0)
		return rc;
	if (g->n_node > MAX_NODES)
		return thaw_onnx_err(c, THAW_EFORMAT, "%zu nodes (at most %d)", g->n_node, MAX_NODES);
	c->info->n_onnx_nodes = (int)g->n_node;
	size_t names = g->n_initializer + g->n_input + 1;
	for (size_t i = 0; i < g->n_node; i++)
		names += g->node[i]->n_output;
	c->capv = (int)names;
	c->nslots = 16;
	while (c->nslots < 2 * names)
		c->nslots *= 2;
	c->vals = thaw_calloc(names, sizeof *c->vals);
	c->slots = thaw_malloc(c->nslots * sizeof *c->slots);
	c->folded = thaw_calloc(g->n_node + 1, 1);
	if (!c->vals || !c->slots || !c->folded)
		return THAW_ENOMEM;
	memset(c->slots, 0xff, c->nslots * sizeof *c->slots);

	for (size_t i = 0; i < g->n_initializer; i++) {
		const Onnx__TensorProto *t = g->initializer[i];
		if (!t->name || !*t->name)
			return thaw_onnx_err(c, THAW_EFORMAT, "initializer %zu has no name", i);
		if ((rc = thaw_onnx_def_val(c, t->name, (value){.kind = V_CONST, .t = t})) < 0)
			return rc;
	}
	const Onnx__ValueInfoProto *input = NULL;
	int n_inputs = 0;
	for (size_t i = 0; i < g->n_input; i++) {
		if (!g->input[i]->name)
			return thaw_onnx_err(c, THAW_EFORMAT, "graph input %zu has no name", i);
		if (thaw_onnx_find_val(c, g->input[i]->name) >= 0)
			continue; /* IR < 4 lists initializers as inputs too */
		input = g->input[i];
		n_inputs++;
	}
	if (n_inputs != 1)
		return thaw_onnx_err(c, THAW_EINVAL, "the graph has %d non-constant inputs; a thaw model takes exactly one image tensor",
				     n_inputs);
	if (g->n_output != 1 || !g->output[0]->name)
		return thaw_onnx_err(c, THAW_EINVAL, "the graph has %zu outputs; a thaw model has exactly one", g->n_output);
	int cc = 0, hh = 0, ww = 0, rank = 0;
	if ((rc = read_input(c, input, &cc, &hh, &ww, &rank)) < 0)
		return rc;
	c->m = thaw_model_new(cc, hh, ww, 1);
	if (!c->m)
		return thaw_onnx_err(c, THAW_EINVAL, "%s", thaw_errmsg());
	c->info->input_rank = rank;
	snprintf(c->info->input_name, sizeof c->info->input_name, "%s", input->name);
	snprintf(c->info->output_name, sizeof c->info->output_name, "%s", g->output[0]->name);
	if ((rc = thaw_onnx_def_val(c, input->name, (value){.kind = V_INPUT, .rank = rank})) < 0)
		return rc;

	int *order = thaw_malloc((g->n_node + 1) * sizeof *order);
	if (!order)
		return THAW_ENOMEM;
	if ((rc = topo_order(c, order)) < 0) {
		free(order);
		return rc;
	}
	c->nd = NULL;
	for (size_t i = 0; i < g->n_node; i++)
		for (size_t j = 0; j < g->node[i]->n_input; j++)
			if (g->node[i]->input[j] && g->node[i]->input[j][0])
				count_uses(c, g->node[i]->input[j], 1);
	count_uses(c, g->output[0]->name, 1);

	for (size_t i = 0; i < g->n_node && rc == 0; i++) {
		int at = order[i];
		c->nd = g->node[at];
		if (c->folded[at])
			continue;
		if (!c->nd->op_type)
			rc = thaw_onnx_err(c, THAW_EFORMAT, "node without an operator");
		else
			rc = thaw_onnx_import_node(c, at);
	}
	free(order);
	if (rc < 0)
		return rc;
	c->nd = NULL;
	int k = thaw_onnx_find_val(c, g->output[0]->name);
	if (k < 0 || c->vals[k].kind != V_NODE || c->vals[k].node < 0)
		return thaw_onnx_err(c, THAW_EINVAL, "graph output '%s' is not computed by any layer",
				     g->output[0]->name);
	if (c->vals[k].node != c->m->n - 1)
		return thaw_onnx_err(c, THAW_EINVAL, "graph output '%s' comes from node '%s', but layers follow it that do not feed the output",
				     g->output[0]->name, c->m->nodes[c->vals[k].node]->name);
	c->info->output_rank = c->vals[k].rank;
	return 0;
}

/* ---- metadata written by thaw_onnx_export */
static void read_metadata(ctx *c)
{
	for (size_t i = 0; i < c->mp->n_metadata_props; i++) {
		const Onnx__StringStringEntryProto *e = c->mp->metadata_props[i];
		if (!e->key || !e->value)
			continue;
		if (!strcmp(e->key, "thaw.mean") || !strcmp(e->key, "thaw.std")) {
			float *dst = e->key[5] == 'm' ? c->m->input.mean : c->m->input.std;
			const char *p = e->value;
			for (int j = 0; j < THAW_MAX_CHANNELS && *p; j++) {
				char *end;
				float v = strtof(p, &end);
				if (end == p || !isfinite(v))
					break;
				dst[j] = v;
				p = end;
			}
		} else if (!strcmp(e->key, "thaw.classes")) {
			/* one name a line; the count must match the output width */
			int n = 0;
			for (const char *p = e->value; *p; p++)
				n += *p == '\n';
			thaw_shape os = thaw_model_output_shape(c->m);
			if (n <= 0 || (size_t)n != thaw_shape_sample(os)) {
				thaw_warn("%s: %d class names (thaw.classes) do not match the model's %zu outputs: "
					  "loaded without names", c->path, n, thaw_shape_sample(os));
				continue;
			}
			char **names = thaw_calloc((size_t)n, sizeof *names);
			char *copy = strdup(e->value);
			if (names && copy) {
				char *save = NULL, *s = copy;
				for (int j = 0; j < n; j++) {
					char *nl = strchr(s, '\n');
					*nl = 0;
					names[j] = s;
					s = nl + 1;
				}
				(void)save;
				thaw_model_set_classes(c->m, (const char *const *)names, n);
			}
			free(names);
			free(copy);
		} else if (!strcmp(e->key, "thaw.vocab")) {
			/* a text model's words, a line each; kept only when whole and
			 * as many as its embedding's rows */
			int lower = 1;
			for (size_t j = 0; j < c->mp->n_metadata_props; j++) {
				const Onnx__StringStringEntryProto *l = c->mp->metadata_props[j];
				if (l->key && l->value && !strcmp(l->key, "thaw.vocab_lower"))
					lower = strcmp(l->value, "0") != 0;
			}
			thaw_vocab *v = thaw_vocab_new(lower);
			const char *p = e->value;
			int id = 0, ok = v != NULL;
			while (ok && *p) {
				const char *nl = strchr(p, '\n');
				size_t len = nl ? (size_t)(nl - p) : strlen(p);
				if (!nl || !len)
					ok = 0;
				else if (id < THAW_TOKEN_FIRST)
					ok = thaw_vocab_find(v, p, len) == id;
				else
					ok = thaw_vocab_add(v, p, len, 0) == id;
				id++;
				p = nl ? nl + 1 : p + len;
			}
			int rows = -1;
			for (int j = 0; j < c->m->n; j++)
				if (c->m->nodes[j]->kind == THAW_EMBEDDING)
					rows = c->m->nodes[j]->a.words;
			if (ok && id == v->n && (rows < 0 || rows == v->n))
				thaw_model_set_vocab(c->m, v);
			else
				thaw_warn("%s: the vocabulary (thaw.vocab) is malformed or does not match the embedding: loaded without it",
					  c->path);
			thaw_vocab_free(v);
		} else if (!strcmp(e->key, "thaw.frozen")) {
			char *copy = strdup(e->value);
			char *save = NULL;
			for (char *t = copy ? strtok_r(copy, " ", &save) : NULL; t; t = strtok_r(NULL, " ", &save)) {
				int idx = thaw_model_find(c->m, t);
				if (idx >= 0)
					c->m->nodes[idx]->trainable = 0;
			}
			free(copy);
		}
	}
}

/* ---- nesting. protobuf-c unpacks a submessage by recursing, with no
 * depth limit, so a graph that nests If-node subgraphs (graph -> node ->
 * attribute g -> graph ...) a few thousand deep overflows the stack inside
 * onnx__model_proto__unpack. This linear pass over the wire format, guided
 * by the generated descriptors (the fields that are messages), measures the
 * nesting first, with an explicit stack and no recursion. A framing error
 * ends the scan: protobuf-c fails on it too, before it recurses past it. */
#define MAX_NESTING 100
#define NEST_MEASURE 65536 /* deeper still is reported as "more than" */

static int get_varint(const uint8_t *p, size_t end, size_t *at, uint64_t *v)
{
	uint64_t r = 0;
	for (int s = 0; s < 70 && *at < end; s += 7) {
		uint8_t b = p[(*at)++];
		r |= (uint64_t)(b & 0x7f) << (s < 64 ? s : 0);
		if (!(b & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -1;
}

/* Checks buf before protobuf-c sees it: the nesting of message fields
 * (the top message is 0) must stay within MAX_NESTING, and no string field
 * may hold a NUL byte (protobuf-c would hand over a C string cut at it, so
 * "conv\0evil" would import as "conv"). 0, or < 0 with the message. */
static int prescan(const uint8_t *buf, size_t len, const char *path)
{
	typedef struct {
		size_t end;
		const ProtobufCMessageDescriptor *d;
	} level;
	level *st = thaw_malloc(NEST_MEASURE * sizeof *st);
	if (!st)
		return thaw_error(THAW_ENOMEM, "%s: out of memory", path);
	long depth = 0, deepest = 0;
	size_t at = 0;
	int rc = 0;
	st[0] = (level){len, &onnx__model_proto__descriptor};
	while (depth >= 0 && rc == 0) {
		if (at >= st[depth].end) {
			at = st[depth].end;
			depth--;
			continue;
		}
		uint64_t key, v;
		if (get_varint(buf, st[depth].end, &at, &key) < 0 || (key >> 3) == 0 ||
		    (key >> 3) > UINT32_MAX)
			break;
		size_t room = st[depth].end - at;
		switch (key & 7) {
		case 0:
			if (get_varint(buf, st[depth].end, &at, &v) < 0)
				goto done;
			continue;
		case 1:
			if (room < 8)
				goto done;
			at += 8;
			continue;
		case 5:
			if (room < 4)
				goto done;
			at += 4;
			continue;
		case 2:
			break;
		default:
			goto done; /* groups and invalid wire types: protobuf-c refuses them */
		}
		if (get_varint(buf, st[depth].end, &at, &v) < 0 || v > st[depth].end - at)
			break;
		const ProtobufCFieldDescriptor *f =
			st[depth].d ? protobuf_c_message_descriptor_get_field(st[depth].d, (unsigned)(key >> 3)) : NULL;
		if (f && f->type == PROTOBUF_C_TYPE_STRING && memchr(buf + at, 0, (size_t)v)) {
			rc = thaw_error(THAW_EFORMAT, "%s: %s.%s holds a NUL byte (byte %zu): names may not contain one",
					path, st[depth].d->short_name, f->name,
					(size_t)((const uint8_t *)memchr(buf + at, 0, (size_t)v) - buf));
			break;
		}
		if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE) {
			at += (size_t)v; /* a string, bytes, packed numbers or an unknown field */
			continue;
		}
		if (depth + 1 >= NEST_MEASURE) {
			deepest = NEST_MEASURE;
			break;
		}
		depth++;
		st[depth] = (level){at + (size_t)v, f->descriptor};
		if (depth > deepest)
			deepest = depth;
	}
done:
	free(st);
	if (rc == 0 && deepest > MAX_NESTING)
		rc = thaw_error(THAW_EFORMAT,
				"%s: protobuf messages nested %s%ld deep (at most %d; subgraphs inside subgraphs?): "
				"refused before decoding",
				path, deepest >= NEST_MEASURE ? "more than " : "", deepest, MAX_NESTING);
	return rc;
}

thaw_model *thaw_onnx_import_mem(const void *data, size_t len, const char *name, thaw_onnx_info *info)
{
	thaw_onnx_info dummy;
	ctx c;
	memset(&c, 0, sizeof c);
	c.path = name ? name : "(memory)";
	c.info = info ? info : &dummy;
	memset(c.info, 0, sizeof *c.info);
	static const uint8_t empty[1];
	if (!data && len) {
		thaw_error(THAW_EINVAL, "%s: no data", c.path);
		return NULL;
	}
	if (!data)
		data = empty;
	if (prescan(data, len, c.path) < 0)
		return NULL;
	c.mp = onnx__model_proto__unpack(NULL, len, data);
	if (!c.mp) {
		thaw_error(THAW_EFORMAT, "%s: not an ONNX model (protobuf decoding failed)", c.path);
		return NULL;
	}
	c.info->ir_version = c.mp->has_ir_version ? c.mp->ir_version : 0;
	snprintf(c.info->producer, sizeof c.info->producer, "%s%s%s",
		 c.mp->producer_name ? c.mp->producer_name : "",
		 c.mp->producer_version && *c.mp->producer_version ? " " : "",
		 c.mp->producer_version ? c.mp->producer_version : "");
	int rc;
	c.g = c.mp->graph;
	if (!c.g)
		rc = thaw_onnx_err(&c, THAW_EFORMAT, "the model has no graph");
	else
		rc = import_graph(&c);
	c.info->opset = c.opset;
	if (rc == 0)
		read_metadata(&c);
	free(c.vals);
	free(c.slots);
	free(c.folded);
	for (size_t i = 0; i < c.hint_nslots; i++)
		free(c.hint_base[i]);
	free(c.hint_base);
	free(c.hint_k);
	onnx__model_proto__free_unpacked(c.mp, NULL);
	if (rc < 0) {
		thaw_model_free(c.m);
		return NULL;
	}
	return c.m;
}

thaw_model *thaw_onnx_import(const char *path, thaw_onnx_info *info)
{
	if (info)
		memset(info, 0, sizeof *info);
	const char *nm = path ? path : "(null)";
	FILE *f = path ? fopen(path, "rb") : NULL;
	if (!f) {
		thaw_error(THAW_EIO, "%s: cannot open: %s", nm, strerror(errno));
		return NULL;
	}
	long size = -1;
	if (fseek(f, 0, SEEK_END) == 0)
		size = ftell(f);
	if (size < 0 || size > MAX_FILE || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		thaw_error(THAW_EIO, "%s: cannot read (size %ld; at most 2 GB)", nm, size);
		return NULL;
	}
	unsigned char *buf = thaw_malloc(size ? (size_t)size : 1);
	if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
		fclose(f);
		free(buf);
		thaw_error(THAW_EIO, "%s: read failed", nm);
		return NULL;
	}
	fclose(f);
	thaw_model *m = thaw_onnx_import_mem(buf, (size_t)size, nm, info);
	free(buf);
	return m;
}
