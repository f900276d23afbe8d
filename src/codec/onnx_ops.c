/* ONNX import, the operators: one builder per ONNX operator, each checking
 * the node's inputs and attributes and adding the thaw node it maps onto
 * (or folding it into its input). Called by onnx_import.c in graph order. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_import.h"

static const char *const SUPPORTED =
	"Add, AveragePool, BatchNormalization, Clip, Concat, Constant, Conv, Dropout, Flatten, "
	"Gelu, Gemm, GlobalAveragePool, Identity, LeakyRelu, MatMul (+Add), MaxPool, Relu, "
	"Reshape (flattening), Sigmoid, Softmax (final), Tanh";

const char *thaw_onnx_supported_ops(void) { return SUPPORTED; }

/* ---- node inputs */
static const char *in_name(const Onnx__NodeProto *nd, int i)
{
	return i < (int)nd->n_input && nd->input[i] && nd->input[i][0] ? nd->input[i] : NULL;
}

/* Input i must be an activation; its thaw node index (-1: model input). */
static int get_act(ctx *c, int i, int *idx, int *rank)
{
	const char *nm = in_name(c->nd, i);
	if (!nm)
		return thaw_onnx_err(c, THAW_EFORMAT, "input %d is missing", i);
	int k = thaw_onnx_find_val(c, nm);
	if (k < 0)
		return thaw_onnx_err(c, THAW_EFORMAT, "input '%s' is not produced by any node", nm);
	if (c->vals[k].kind == V_CONST)
		return thaw_onnx_err(c, THAW_EINVAL,
				     "input %d ('%s') is a constant; thaw supports this operator only on activations", i,
				     nm);
	if (c->vals[k].kind == V_NODE && c->vals[k].node < 0)
		return thaw_onnx_err(c, THAW_EINVAL, "input '%s' is an output that thaw does not compute", nm);
	*idx = c->vals[k].kind == V_INPUT ? -1 : c->vals[k].node;
	if (rank)
		*rank = c->vals[k].rank;
	return 0;
}

/* Input i must be a constant (initializer or Constant output); NULL when
 * absent and optional. */
static int get_const(ctx *c, int i, int required, const Onnx__TensorProto **t)
{
	*t = NULL;
	const char *nm = in_name(c->nd, i);
	if (!nm) {
		if (required)
			return thaw_onnx_err(c, THAW_EFORMAT, "input %d is missing", i);
		return 0;
	}
	int k = thaw_onnx_find_val(c, nm);
	if (k < 0)
		return thaw_onnx_err(c, THAW_EFORMAT, "input '%s' has no initializer and no producer", nm);
	if (c->vals[k].kind != V_CONST)
		return thaw_onnx_err(c, THAW_EINVAL, "input %d ('%s') must be a constant initializer (thaw learns weights itself), but it is computed",
				     i, nm);
	*t = c->vals[k].t;
	return 0;
}

static thaw_shape shape_of(const ctx *c, int idx)
{
	return idx < 0 ? (thaw_shape){1, c->m->input.c, c->m->input.h, c->m->input.w}
		       : c->m->nodes[idx]->out;
}

/* ---- naming */
static void sanitise(const char *src, char *dst, size_t size)
{
	size_t o = 0;
	for (; *src && o + 1 < size; src++) {
		unsigned char ch = (unsigned char)*src;
		dst[o++] = (ch <= ' ' || ch == '"' || ch == '\\' || ch >= 0x7f) ? '_' : (char)ch;
	}
	dst[o] = 0;
}

/* PyTorch names nodes "/layer1/layer1.0/conv1/Conv"; the module path
 * "layer1.0.conv1" is what its user knows. */
static void torch_name(const char *src, const char *op, char *dst, size_t size)
{
	char buf[512];
	snprintf(buf, sizeof buf, "%s", src + 1);
	char *comp[64];
	int nc = 0;
	char *save = NULL;
	for (char *t = strtok_r(buf, "/", &save); t && nc < 64; t = strtok_r(NULL, "/", &save))
		comp[nc++] = t;
	size_t ol = strlen(op);
	if (nc > 1 && strncmp(comp[nc - 1], op, ol) == 0 &&
	    (comp[nc - 1][ol] == 0 || comp[nc - 1][ol] == '_'))
		nc--;
	dst[0] = 0;
	for (int i = 0; i < nc; i++) {
		size_t l = strlen(comp[i]);
		if (i + 1 < nc && strncmp(comp[i + 1], comp[i], l) == 0 && comp[i + 1][l] == '.')
			continue;
		size_t dl = strlen(dst);
		snprintf(dst + dl, size - dl, "%s%s", dl ? "." : "", comp[i]);
	}
	if (!dst[0])
		snprintf(dst, size, "%s", src + 1);
}

static size_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)h;
}

/* The hint slot of base (created when absent: k = 1); NULL when out of
 * memory, and the caller probes from 2. */
static int *name_hint(ctx *c, const char *base)
{
	if (2 * (c->hint_n + 1) > c->hint_nslots) {
		size_t ns = c->hint_nslots ? 2 * c->hint_nslots : 64;
		char **nb = thaw_calloc(ns, sizeof *nb);
		int *nk = thaw_calloc(ns, sizeof *nk);
		if (!nb || !nk) {
			free(nb);
			free(nk);
			return NULL;
		}
		for (size_t i = 0; i < c->hint_nslots; i++) {
			if (!c->hint_base[i])
				continue;
			size_t j = str_hash(c->hint_base[i]) & (ns - 1);
			while (nb[j])
				j = (j + 1) & (ns - 1);
			nb[j] = c->hint_base[i];
			nk[j] = c->hint_k[i];
		}
		free(c->hint_base);
		free(c->hint_k);
		c->hint_base = nb;
		c->hint_k = nk;
		c->hint_nslots = ns;
	}
	size_t mask = c->hint_nslots - 1, i = str_hash(base) & mask;
	for (; c->hint_base[i]; i = (i + 1) & mask)
		if (!strcmp(c->hint_base[i], base))
			return &c->hint_k[i];
	if (!(c->hint_base[i] = strdup(base)))
		return NULL;
	c->hint_n++;
	c->hint_k[i] = 1;
	return &c->hint_k[i];
}

static void node_name(ctx *c, const Onnx__NodeProto *nd, char *out)
{
	char raw[THAW_NAME_MAX * 2], base[THAW_NAME_MAX];
	const char *src = nd->name && *nd->name ? nd->name : NULL;
	if (!src) {
		/* unnamed: the op type in lower case */
		snprintf(raw, sizeof raw, "%s", nd->op_type ? nd->op_type : "node");
		for (char *p = raw; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	} else if (src[0] == '/') {
		torch_name(src, nd->op_type ? nd->op_type : "", raw, sizeof raw);
	} else {
		snprintf(raw, sizeof raw, "%s", src);
	}
	sanitise(raw, base, THAW_NAME_MAX - 8); /* room for "_" and k <= MAX_NODES + 1 */
	if (!base[0])
		snprintf(base, sizeof base, "node");
	snprintf(out, THAW_NAME_MAX, "%s", base);
	int *hint = thaw_model_find(c->m, out) >= 0 ? name_hint(c, base) : NULL;
	for (int k = hint && *hint > 1 ? *hint + 1 : 2; thaw_model_find(c->m, out) >= 0; k++) {
		char tmp[THAW_NAME_MAX + 16];
		snprintf(tmp, sizeof tmp, "%s_%d", base, k);
		snprintf(out, THAW_NAME_MAX, "%.*s", THAW_NAME_MAX - 1, tmp);
		if (hint)
			*hint = k;
	}
}

/* Adds a thaw node for the current ONNX node and defines its output 0. */
static int add_node(ctx *c, const thaw_attrs *a, const int *in, int n_in, int rank)
{
	char name[THAW_NAME_MAX];
	node_name(c, c->nd, name);
	if (!thaw_kind_built_in(a->kind))
		return thaw_onnx_err(c, THAW_EINVAL, "this thaw was built without the layer kind it needs");
	int idx = thaw_model_add(c->m, name, a, in, n_in);
	if (idx < 0)
		return thaw_onnx_err(c, idx, "%s", thaw_errmsg());
	if (c->nd->n_output < 1 || !c->nd->output[0] || !c->nd->output[0][0])
		return thaw_onnx_err(c, THAW_EFORMAT, "node has no output");
	int rc = thaw_onnx_def_val(c, c->nd->output[0], (value){.kind = V_NODE, .node = idx, .rank = rank});
	return rc < 0 ? rc : idx;
}

static thaw_param *param(thaw_node *n, const char *name)
{
	for (int k = 0; k < n->np; k++)
		if (strcmp(n->p[k].name, name) == 0)
			return &n->p[k];
	return NULL;
}

/* Fills parameter pname of node idx from a FLOAT constant. */
static int load_param(ctx *c, int idx, const char *pname, const Onnx__TensorProto *t, const char *what)
{
	thaw_param *p = param(c->m->nodes[idx], pname);
	if (!p)
		return thaw_onnx_err(c, THAW_EINVAL, "thaw's %s has no parameter '%s'",
				     thaw_kind_name(c->m->nodes[idx]->kind), pname);
	return thaw_onnx_tensor_f32(c, t, what, p->w, p->size);
}

/* An output other than the first must be unused (MaxPool indices,
 * BatchNormalization running statistics in training mode, Dropout mask). */
static int extra_outputs_unused(ctx *c)
{
	for (size_t i = 1; i < c->nd->n_output; i++) {
		const char *o = c->nd->output[i];
		int k = o && *o ? thaw_onnx_find_val(c, o) : -1;
		if (k >= 0 && c->vals[k].uses > 0)
			return thaw_onnx_err(c, THAW_EINVAL, "output %zu ('%s') is used, but thaw computes only the first output",
					     i, o);
	}
	return 0;
}

/* Alias: the node's output is its input (Identity, Dropout at inference...). */
static int alias(ctx *c, int in_i)
{
	const char *nm = in_name(c->nd, in_i);
	int k = nm ? thaw_onnx_find_val(c, nm) : -1;
	if (k < 0)
		return thaw_onnx_err(c, THAW_EFORMAT, "input %d is missing", in_i);
	if (c->nd->n_output < 1 || !c->nd->output[0] || !c->nd->output[0][0])
		return thaw_onnx_err(c, THAW_EFORMAT, "node has no output");
	value v = c->vals[k];
	c->info->n_folded++;
	int rc = thaw_onnx_def_val(c, c->nd->output[0], v);
	return rc < 0 ? rc : 0;
}

/* ---- spatial attributes of Conv and the pools, for 2-D (rank 4) and
 * 1-D (rank 3, mapped onto height 1) */
typedef struct spatial {
	int kh, kw, sh, sw, dh, dw, pad[4];
} spatial;

static int read_spatial(ctx *c, int rank, int kh_w, int kw_w, int allow_dil, spatial *s)
{
	int sp = rank - 2;
	if (sp != 1 && sp != 2)
		return thaw_onnx_err(c, THAW_EINVAL, "input of rank %d; thaw supports 1-D and 2-D %s", rank,
				     c->nd->op_type);
	int k[2] = {kh_w, kw_w}, st[2] = {1, 1}, di[2] = {1, 1}, pd[4] = {0, 0, 0, 0};
	const long BIG = 1 << 20;
	int rc;
	if (sp == 2) {
		if ((rc = thaw_onnx_attr_ints(c, "kernel_shape", 2, 1, BIG, k)) < 0 ||
		    (rc = thaw_onnx_attr_ints(c, "strides", 2, 1, BIG, st)) < 0 ||
		    (rc = thaw_onnx_attr_ints(c, "dilations", 2, 1, BIG, di)) < 0 ||
		    (rc = thaw_onnx_attr_ints(c, "pads", 4, 0, BIG, pd)) < 0)
			return rc;
		*s = (spatial){k[0], k[1], st[0], st[1], di[0], di[1], {pd[0], pd[1], pd[2], pd[3]}};
	} else {
		int k1 = kw_w, s1 = 1, d1 = 1, p1[2] = {0, 0};
		if ((rc = thaw_onnx_attr_ints(c, "kernel_shape", 1, 1, BIG, &k1)) < 0 ||
		    (rc = thaw_onnx_attr_ints(c, "strides", 1, 1, BIG, &s1)) < 0 ||
		    (rc = thaw_onnx_attr_ints(c, "dilations", 1, 1, BIG, &d1)) < 0 ||
		    (rc = thaw_onnx_attr_ints(c, "pads", 2, 0, BIG, p1)) < 0)
			return rc;
		*s = (spatial){1, k1, 1, s1, 1, d1, {0, p1[0], 0, p1[1]}};
	}
	if (s->kh <= 0 || s->kw <= 0)
		return thaw_onnx_err(c, THAW_EFORMAT, "no kernel_shape");
	if (!allow_dil && (s->dh != 1 || s->dw != 1))
		return thaw_onnx_err(c, THAW_EINVAL, "dilations %dx%d are not supported for pooling", s->dh, s->dw);
	return 0;
}

/* auto_pad SAME_UPPER / SAME_LOWER / VALID from the input size. */
static int auto_pad(ctx *c, thaw_shape in, spatial *s)
{
	char buf[32];
	const char *ap = thaw_onnx_attr_str(c->nd, "auto_pad", buf, sizeof buf);
	if (!ap || !strcmp(ap, "NOTSET") || !*ap)
		return 0;
	if (!strcmp(ap, "VALID")) {
		memset(s->pad, 0, sizeof s->pad);
		return 0;
	}
	int lower = !strcmp(ap, "SAME_LOWER");
	if (!lower && strcmp(ap, "SAME_UPPER"))
		return thaw_onnx_err(c, THAW_EFORMAT, "unknown auto_pad '%s'", ap);
	int size[2] = {in.h, in.w}, k[2] = {s->kh, s->kw}, st[2] = {s->sh, s->sw}, d[2] = {s->dh, s->dw};
	for (int i = 0; i < 2; i++) {
		long out = (size[i] + st[i] - 1) / st[i];
		long total = (out - 1) * st[i] + (long)(k[i] - 1) * d[i] + 1 - size[i];
		if (total < 0)
			total = 0;
		long small = total / 2, big = total - small;
		s->pad[i] = (int)(lower ? big : small);
		s->pad[i + 2] = (int)(lower ? small : big);
	}
	return 0;
}

/* ---- operators */
static int op_conv(ctx *c, thaw_kind kind, int at)
{
	int x, rank, rc;
	const Onnx__TensorProto *W, *B;
	if ((rc = get_act(c, 0, &x, &rank)) < 0 || (rc = get_const(c, 1, 1, &W)) < 0 ||
	    (rc = get_const(c, 2, 0, &B)) < 0)
		return rc;
	if ((int)W->n_dims != rank)
		return thaw_onnx_err(c, THAW_ESHAPE, "weight '%s' has %zu dimensions for an input of rank %d",
				     W->name ? W->name : "", W->n_dims, rank);
	for (size_t i = 0; i < W->n_dims; i++)
		if (W->dims[i] <= 0 || W->dims[i] > (1 << 24))
			return thaw_onnx_err(c, THAW_EFORMAT, "weight '%s' has dimension %zu of %lld",
					     W->name ? W->name : "", i, (long long)W->dims[i]);
	spatial s;
	int kh = rank == 4 ? (int)W->dims[2] : 1, kw = (int)W->dims[rank - 1];
	if ((rc = read_spatial(c, rank, kh, kw, 1, &s)) < 0)
		return rc;
	if (s.kh != kh || s.kw != kw)
		return thaw_onnx_err(c, THAW_ESHAPE, "kernel_shape %dx%d does not match the weight's %dx%d", s.kh, s.kw,
				     kh, kw);
	long group;
	if ((rc = thaw_onnx_attr_int(c, "group", 1, 1 << 20, 1, &group)) < 0)
		return rc;
	thaw_shape in = shape_of(c, x);
	if ((long)W->dims[1] * group != in.c)
		return thaw_onnx_err(c, THAW_ESHAPE, "weight '%s' takes %lld x %ld groups = %lld channels, the input has %d",
				     W->name ? W->name : "", (long long)W->dims[1], group,
				     (long long)W->dims[1] * group, in.c);
	if ((rc = auto_pad(c, in, &s)) < 0)
		return rc;
	uint64_t nw, nb;
	if ((rc = thaw_onnx_tensor_f32_check(c, W, "weight", &nw)) < 0 ||
	    (B && (rc = thaw_onnx_tensor_f32_check(c, B, "bias", &nb)) < 0))
		return rc;
	thaw_attrs a = thaw_attrs_default(THAW_CONV2D);
	a.filters = (int)W->dims[0];
	a.kh = s.kh, a.kw = s.kw, a.sh = s.sh, a.sw = s.sw, a.dh = s.dh, a.dw = s.dw;
	memcpy(a.pad, s.pad, sizeof a.pad);
	a.groups = (int)group;
	a.bias = B != NULL;
	int idx = add_node(c, &a, &x, 1, rank);
	if (idx < 0)
		return idx;
	if ((rc = load_param(c, idx, "weight", W, "weight")) < 0)
		return rc;
	return B ? load_param(c, idx, "bias", B, "bias") : 0;
}

static int op_pool(ctx *c, thaw_kind kind, int at)
{
	int x, rank, rc;
	if ((rc = get_act(c, 0, &x, &rank)) < 0)
		return rc;
	spatial s;
	if ((rc = read_spatial(c, rank, 0, 0, 0, &s)) < 0)
		return rc;
	if (!thaw_onnx_attr(c->nd, "kernel_shape"))
		return thaw_onnx_err(c, THAW_EFORMAT, "no kernel_shape");
	if ((rc = auto_pad(c, shape_of(c, x), &s)) < 0)
		return rc;
	long ceil_mode, cip, order;
	if ((rc = thaw_onnx_attr_int(c, "ceil_mode", 0, 1, 0, &ceil_mode)) < 0 ||
	    (rc = thaw_onnx_attr_int(c, "count_include_pad", 0, 1, 0, &cip)) < 0 ||
	    (rc = thaw_onnx_attr_int(c, "storage_order", 0, 1, 0, &order)) < 0 || (rc = extra_outputs_unused(c)) < 0)
		return rc;
	thaw_attrs a = thaw_attrs_default(kind);
	a.kh = s.kh, a.kw = s.kw, a.sh = s.sh, a.sw = s.sw;
	memcpy(a.pad, s.pad, sizeof a.pad);
	a.ceil_mode = (int)ceil_mode;
	a.count_include_pad = (int)cip;
	int idx = add_node(c, &a, &x, 1, rank);
	return idx < 0 ? idx : 0;
}

static int op_simple(ctx *c, thaw_kind kind, int at)
{
	int x, rank, rc;
	if ((rc = get_act(c, 0, &x, &rank)) < 0)
		return rc;
	thaw_attrs a = thaw_attrs_default(kind);
	if (kind == THAW_LEAKY_RELU && (rc = thaw_onnx_attr_float(c, "alpha", 0.01f, &a.alpha)) < 0)
		return rc;
	if (kind == THAW_GELU) {
		char buf[16];
		const char *ap = thaw_onnx_attr_str(c->nd, "approximate", buf, sizeof buf);
		if (ap && strcmp(ap, "none"))
			return thaw_onnx_err(c, THAW_EINVAL, "approximate='%s'; thaw's gelu is the exact (erf) form", ap);
	}
	if (kind == THAW_GLOBALAVGPOOL && rank < 3)
		return thaw_onnx_err(c, THAW_ESHAPE, "input of rank %d; expected (N,C,H,W)", rank);
	int idx = add_node(c, &a, &x, 1, rank);
	return idx < 0 ? idx : 0;
}

static int scalar_const(ctx *c, int i, float def, float *out)
{
	const Onnx__TensorProto *t;
	int rc = get_const(c, i, 0, &t);
	*out = def;
	if (rc < 0 || !t)
		return rc;
	return thaw_onnx_tensor_f32(c, t, i == 1 ? "min" : "max", out, 1);
}

static int op_clip(ctx *c, thaw_kind kind, int at)
{
	int x, rank, rc;
	if ((rc = get_act(c, 0, &x, &rank)) < 0)
		return rc;
	thaw_attrs a = thaw_attrs_default(THAW_RELU6);
	if (c->opset < 11) {
		if ((rc = thaw_onnx_attr_float(c, "min", -FLT_MAX, &a.lo)) < 0 ||
		    (rc = thaw_onnx_attr_float(c, "max", FLT_MAX, &a.hi)) < 0)
			return rc;
	} else if ((rc = scalar_const(c, 1, -FLT_MAX, &a.lo)) < 0 ||
		   (rc = scalar_const(c, 2, FLT_MAX, &a.hi)) < 0) {
		return rc;
	}
	if (!(a.lo <= a.hi))
		return thaw_onnx_err(c, THAW_EINVAL, "min %g is above max %g", a.lo, a.hi);
	int idx = add_node(c, &a, &x, 1, rank);
	return idx < 0 ? idx : 0;
}

static int op_batchnorm(ctx *c, thaw_kind kind, int at)
{
	int x, rank, rc;
	const Onnx__TensorProto *t[4];
	if ((rc = get_act(c, 0, &x, &rank)) < 0)
		return rc;
	for (int i = 0; i < 4; i++)
		if ((rc = get_const(c, 1 + i, 1, &t[i])) < 0)
			return rc;
	long training, spatial_attr;
	if ((rc = thaw_onnx_attr_int(c, "training_mode", 0, 1, 0, &training)) < 0 ||
	    (rc = thaw_onnx_attr_int(c, "spatial", 0, 1, 1, &spatial_attr)) < 0 || (rc = extra_outputs_unused(c)) < 0)
		return rc;
	long is_test;
	if ((rc = thaw_onnx_attr_int(c, "is_test", 0, 1, 1, &is_test)) < 0)
		return rc;
	if (training || !is_test)
		return thaw_onnx_err(c, THAW_EINVAL, "training_mode=1 is not supported; export the model in eval mode");
	if (!spatial_attr)
		return thaw_onnx_err(c, THAW_EINVAL, "spatial=0 is not supported");
	thaw_attrs a = thaw_attrs_default(THAW_BATCHNORM);
	if ((rc = thaw_onnx_attr_float(c, "epsilon", 1e-5f, &a.eps)) < 0 ||
	    (rc = thaw_onnx_attr_float(c, "momentum", 0.9f, &a.momentum)) < 0)
		return rc;
	int idx = add_node(c, &a, &x, 1, rank);
	if (idx < 0)
		return idx;
	static const char *const pn[4] = {"gamma", "beta", "running_mean", "running_var"};
	static const char *const what[4] = {"scale", "bias", "mean", "variance"};
	for (int i = 0; i < 4; i++)
		if ((rc = load_param(c, idx, pn[i], t[i], what[i])) < 0)
			return rc;
	return 0;
}

static int op_add(ctx *c, thaw_kind kind, int at)
{
	if (c->nd->n_input != 2)
		return thaw_onnx_err(c, THAW_EFORMAT, "%zu inputs, expected 2", c->nd->n_input);
	for (int i = 0; i < 2; i++) {
		int k = in_name(c->nd, i) ? thaw_onnx_find_val(c, in_name(c->nd, i)) : -1;
		if (k >= 0 && c->vals[k].kind == V_CONST)
			return thaw_onnx_err(c, THAW_EINVAL,
					     "adding the constant '%s' is supported only as the bias right after a MatMul",
					     c->vals[k].name);
	}
	int in[2], r0, r1, rc;
	if ((rc = get_act(c, 0, &in[0], &r0)) < 0 || (rc = get_act(c, 1, &in[1], &r1)) < 0)
		return rc;
	thaw_attrs a = thaw_attrs_default(THAW_ADD);
	int idx = add_node(c, &a, in, 2, r0 > r1 ? r0 : r1);
	return idx < 0 ? idx : 0;
}

static int op_concat(ctx *c, thaw_kind kind, int at)
{
	int n = (int)c->nd->n_input, in[THAW_MAX_INPUTS], rank = 0, rc;
	if (n < 1 || n > THAW_MAX_INPUTS)
		return thaw_onnx_err(c, THAW_EINVAL, "%d inputs (thaw's concat takes 1 to %d)", n, THAW_MAX_INPUTS);
	for (int i = 0; i < n; i++) {
		int r;
		if ((rc = get_act(c, i, &in[i], &r)) < 0)
			return rc;
		if (i && r != rank)
			return thaw_onnx_err(c, THAW_ESHAPE, "inputs of rank %d and %d", rank, r);
		rank = r;
	}
	long axis;
	if ((rc = thaw_onnx_attr_int(c, "axis", -8, 8, 1, &axis)) < 0)
		return rc;
	if (axis < 0)
		axis += rank;
	if (axis != 1)
		return thaw_onnx_err(c, THAW_EINVAL, "concatenation along axis %ld; thaw joins channels (axis 1) only",
				     axis);
	thaw_attrs a = thaw_attrs_default(THAW_CONCAT);
	int idx = add_node(c, &a, in, n, rank);
	return idx < 0 ? idx : 0;
}

static int op_flatten(ctx *c, thaw_kind kind, int at)
{
	int x, rank, rc;
	if ((rc = get_act(c, 0, &x, &rank)) < 0)
		return rc;
	long axis;
	if ((rc = thaw_onnx_attr_int(c, "axis", -8, 8, 1, &axis)) < 0)
		return rc;
	if (axis < 0)
		axis += rank;
	if (axis != 1)
		return thaw_onnx_err(c, THAW_EINVAL, "axis %ld; thaw flattens everything but the batch (axis 1)", axis);
	/* the exporter marks the Flatten it adds in front of Gemm: thaw's dense
	 * flattens by itself, so the round trip keeps the graph */
	if (c->nd->doc_string && strstr(c->nd->doc_string, "thaw:implicit")) {
		int rc2 = alias(c, 0);
		int k = thaw_onnx_find_val(c, c->nd->output[0]);
		if (rc2 == 0 && k >= 0)
			c->vals[k].rank = 2;
		return rc2;
	}
	thaw_attrs a = thaw_attrs_default(THAW_FLATTEN);
	int idx = add_node(c, &a, &x, 1, 2);
	return idx < 0 ? idx : 0;
}

static int op_reshape(ctx *c, thaw_kind kind, int at)
{
	int x, rank, rc;
	const Onnx__TensorProto *t;
	if ((rc = get_act(c, 0, &x, &rank)) < 0 || (rc = get_const(c, 1, 1, &t)) < 0)
		return rc;
	int64_t sh[8];
	int n = thaw_onnx_tensor_ints(c, t, "shape", sh, 8);
	if (n < 0)
		return n;
	long long chw = (long long)thaw_shape_sample(shape_of(c, x));
	int flat = n == 2 && (sh[0] == 0 || sh[0] == -1 || sh[0] == 1) &&
		   (sh[1] == -1 || sh[1] == chw) && !(sh[0] == -1 && sh[1] == -1);
	if (!flat) {
		char b[160] = "";
		for (int i = 0; i < n; i++)
			snprintf(b + strlen(b), sizeof b - strlen(b), "%s%lld", i ? "," : "", (long long)sh[i]);
		return thaw_onnx_err(c, THAW_EINVAL, "reshape to [%s] is not a flatten to (N, %lld); only flattening reshapes are supported",
				     b, chw);
	}
	if (rank == 2)
		return alias(c, 0);
	thaw_attrs a = thaw_attrs_default(THAW_FLATTEN);
	int idx = add_node(c, &a, &x, 1, 2);
	return idx < 0 ? idx : 0;
}

/* Gemm and MatMul(+Add) become a dense node: W (units, K). */
static int make_dense(ctx *c, int x, const Onnx__TensorProto *B, int transB, float alpha,
		      const Onnx__TensorProto *C, float beta, const Onnx__NodeProto *bias_node)
{
	if (B->n_dims != 2)
		return thaw_onnx_err(c, THAW_ESHAPE, "weight '%s' has %zu dimensions, expected 2", B->name ? B->name : "",
				     B->n_dims);
	if (B->dims[0] <= 0 || B->dims[1] <= 0 || B->dims[0] > (1 << 28) || B->dims[1] > (1 << 28))
		return thaw_onnx_err(c, THAW_EFORMAT, "weight '%s' has dimensions %lldx%lld", B->name ? B->name : "",
				     (long long)B->dims[0], (long long)B->dims[1]);
	int units = (int)(transB ? B->dims[0] : B->dims[1]), K = (int)(transB ? B->dims[1] : B->dims[0]);
	long long in_k = (long long)thaw_shape_sample(shape_of(c, x));
	if (K != in_k)
		return thaw_onnx_err(c, THAW_ESHAPE, "weight '%s' expects %d input features, the input has %lld",
				     B->name ? B->name : "", K, in_k);
	uint64_t nb = 0;
	if (C) {
		int rc = thaw_onnx_tensor_count(c, C, "bias", &nb);
		if (rc < 0)
			return rc;
		if (nb != (uint64_t)units && nb != 1)
			return thaw_onnx_err(c, THAW_ESHAPE, "bias '%s' has %llu values for %d outputs",
					     C->name ? C->name : "", (unsigned long long)nb, units);
	}
	uint64_t nw;
	int rc0 = thaw_onnx_tensor_f32_check(c, B, "weight", &nw); /* before sizing tmp from its dims */
	if (rc0 < 0)
		return rc0;
	float *tmp = thaw_malloc((size_t)units * K * sizeof(float));
	if (!tmp)
		return THAW_ENOMEM;
	int rc = thaw_onnx_tensor_f32(c, B, "weight", tmp, (uint64_t)units * K);
	float bias1 = 0;
	if (rc == 0 && C && nb == 1)
		rc = thaw_onnx_tensor_f32(c, C, "bias", &bias1, 1);
	if (rc < 0) {
		free(tmp);
		return rc;
	}
	thaw_attrs a = thaw_dense(units);
	a.bias = C != NULL;
	int idx = add_node(c, &a, &x, 1, 2);
	if (idx < 0) {
		free(tmp);
		return idx;
	}
	thaw_node *n = c->m->nodes[idx];
	float *w = param(n, "weight")->w; // (units, K)
	for (int u = 0; u < units; u++)
		for (int k = 0; k < K; k++)
			w[(size_t)u * K + k] = alpha * (transB ? tmp[(size_t)u * K + k] : tmp[(size_t)k * units + u]);
	free(tmp);
	if (C) {
		float *b = param(n, "bias")->w;
		if (nb == 1) {
			for (int u = 0; u < units; u++)
				b[u] = bias1;
		} else if ((rc = thaw_onnx_tensor_f32(c, C, "bias", b, units)) < 0) {
			return rc;
		}
		for (int u = 0; u < units; u++)
			b[u] *= beta;
	}
	if (bias_node && bias_node->n_output >= 1) {
		c->info->n_folded++;
		if ((rc = thaw_onnx_def_val(c, bias_node->output[0], (value){.kind = V_NODE, .node = idx, .rank = 2})) < 0)
			return rc;
	}
	return 0;
}

static int op_gemm(ctx *c, thaw_kind kind, int at)
{
	int x, rank, rc;
	const Onnx__TensorProto *B, *C;
	if ((rc = get_act(c, 0, &x, &rank)) < 0 || (rc = get_const(c, 1, 1, &B)) < 0 ||
	    (rc = get_const(c, 2, 0, &C)) < 0)
		return rc;
	long ta, tb;
	float alpha, beta;
	if ((rc = thaw_onnx_attr_int(c, "transA", 0, 1, 0, &ta)) < 0 || (rc = thaw_onnx_attr_int(c, "transB", 0, 1, 0, &tb)) < 0 ||
	    (rc = thaw_onnx_attr_float(c, "alpha", 1.0f, &alpha)) < 0 || (rc = thaw_onnx_attr_float(c, "beta", 1.0f, &beta)) < 0)
		return rc;
	if (ta)
		return thaw_onnx_err(c, THAW_EINVAL, "transA=1 is not supported (the input must be (N, K))");
	if (rank != 2)
		return thaw_onnx_err(c, THAW_ESHAPE, "input of rank %d; Gemm takes (N, K)", rank);
	return make_dense(c, x, B, (int)tb, alpha, C, beta, NULL);
}

/* MatMul by a constant (K, units), with the Add of a constant bias that
 * follows it folded in when nothing else reads the product. */
static int op_matmul(ctx *c, thaw_kind kind, int at)
{
	int x, rank, rc;
	const Onnx__TensorProto *B;
	if ((rc = get_act(c, 0, &x, &rank)) < 0 || (rc = get_const(c, 1, 1, &B)) < 0)
		return rc;
	if (rank != 2)
		return thaw_onnx_err(c, THAW_ESHAPE, "input of rank %d; thaw maps MatMul on (N, K) inputs only", rank);
	const Onnx__TensorProto *C = NULL;
	const Onnx__NodeProto *addn = NULL;
	const char *out = c->nd->n_output ? c->nd->output[0] : NULL;
	int k = out ? thaw_onnx_find_val(c, out) : -1;
	if (k >= 0 && c->vals[k].uses == 1) {
		for (size_t j = 0; j < c->g->n_node; j++) {
			const Onnx__NodeProto *q = c->g->node[j];
			if (c->folded[j] || !q->op_type || strcmp(q->op_type, "Add") || q->n_input != 2)
				continue;
			int side = in_name(q, 0) && !strcmp(q->input[0], out) ? 0
				   : in_name(q, 1) && !strcmp(q->input[1], out) ? 1
										: -1;
			if (side < 0)
				continue;
			int kb = thaw_onnx_find_val(c, in_name(q, 1 - side));
			if (kb >= 0 && c->vals[kb].kind == V_CONST) {
				C = c->vals[kb].t;
				addn = q;
				c->folded[j] = 1;
			}
			break;
		}
	}
	(void)at;
	return make_dense(c, x, B, 0, 1.0f, C, 1.0f, addn);
}

static int op_dropout(ctx *c, thaw_kind kind, int at)
{
	int x, rank, rc;
	if ((rc = get_act(c, 0, &x, &rank)) < 0 || (rc = extra_outputs_unused(c)) < 0)
		return rc;
	thaw_attrs a = thaw_attrs_default(THAW_DROPOUT);
	if (c->opset < 12) {
		if ((rc = thaw_onnx_attr_float(c, "ratio", 0.5f, &a.rate)) < 0)
			return rc;
	} else if ((rc = scalar_const(c, 1, 0.5f, &a.rate)) < 0) {
		return rc;
	}
	if (in_name(c->nd, 2)) {
		/* training_mode: thaw decides that per step; only a constant false
		 * (inference, what an exporter writes) has the same meaning */
		const Onnx__TensorProto *t;
		if ((rc = get_const(c, 2, 1, &t)) < 0)
			return rc;
		int on = t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__BOOL ||
			 (t->has_raw_data ? t->raw_data.len != 1 || t->raw_data.data[0] != 0
					  : t->n_int32_data != 1 || t->int32_data[0] != 0);
		if (on)
			return thaw_onnx_err(c, THAW_EINVAL, "training_mode is not a constant false; thaw applies dropout only while it trains");
	}
	if (!(a.rate >= 0.0f && a.rate < 1.0f))
		return thaw_onnx_err(c, THAW_EINVAL, "ratio %g outside [0, 1)", a.rate);
	int idx = add_node(c, &a, &x, 1, rank);
	return idx < 0 ? idx : 0;
}

static int op_constant(ctx *c, thaw_kind kind, int at)
{
	const Onnx__AttributeProto *a = thaw_onnx_attr(c->nd, "value");
	if (!a || !a->t)
		return thaw_onnx_err(c, THAW_EINVAL, "only Constant with a 'value' tensor is supported");
	if (c->nd->n_output < 1 || !c->nd->output[0])
		return thaw_onnx_err(c, THAW_EFORMAT, "node has no output");
	c->info->n_folded++;
	int rc = thaw_onnx_def_val(c, c->nd->output[0], (value){.kind = V_CONST, .t = a->t});
	return rc < 0 ? rc : 0;
}

static int is_graph_output(const ctx *c, const char *name)
{
	for (size_t i = 0; i < c->g->n_output; i++)
		if (c->g->output[i]->name && name && !strcmp(c->g->output[i]->name, name))
			return 1;
	return 0;
}

static int op_softmax(ctx *c, thaw_kind kind, int at)
{
	if (c->nd->n_output < 1 || !is_graph_output(c, c->nd->output[0]))
		return thaw_onnx_err(c, THAW_EINVAL,
				     "Softmax is supported only as the final node (thaw trains on logits with cross-entropy)");
	int x, rank, rc;
	if ((rc = get_act(c, 0, &x, &rank)) < 0)
		return rc;
	long axis;
	if ((rc = thaw_onnx_attr_int(c, "axis", -8, 8, c->opset >= 13 ? -1 : 1, &axis)) < 0)
		return rc;
	if (axis < 0)
		axis += rank;
	if (axis != 1 || rank != 2)
		return thaw_onnx_err(c, THAW_EINVAL, "final Softmax over axis %ld of a rank-%d output; thaw applies softmax over classes of (N, K)",
				     axis, rank);
	c->info->softmax = 1;
	return alias(c, 0);
}

static int op_identity(ctx *c, thaw_kind kind, int at) { return alias(c, 0); }

/* ---- the chains thaw's exporter writes for its text layers (marked in
 * doc_string, see onnx_export.c): helpers marked thaw:alias fold into
 * their first input, and the marked Gather or final node rebuilds the
 * layer. ONNX files from elsewhere do not carry the marks. */
static int op_thaw_embedding(ctx *c)
{
	int x, rank, rc;
	const Onnx__TensorProto *W;
	if ((rc = get_const(c, 0, 1, &W)) < 0 || (rc = get_act(c, 1, &x, &rank)) < 0)
		return rc;
	if (W->n_dims != 2 || W->dims[0] < 2 || W->dims[0] > INT_MAX || W->dims[1] < 1 || W->dims[1] > 65536)
		return thaw_onnx_err(c, THAW_EFORMAT, "embedding table of rank %zu; expected (words >= 2, dim)", W->n_dims);
	thaw_attrs a = thaw_embedding((int)W->dims[0], (int)W->dims[1]);
	int idx = add_node(c, &a, &x, 1, 4);
	if (idx < 0)
		return idx;
	return load_param(c, idx, "weight", W, "embedding table");
}

static int op_thaw_pool_time(ctx *c, int max)
{
	int in[2], rank, rc, n_in = in_name(c->nd, 1) && c->nd->n_input == 2 ? 2 : 1;
	if ((rc = get_act(c, 0, &in[0], &rank)) < 0 || (n_in == 2 && (rc = get_act(c, 1, &in[1], NULL)) < 0))
		return rc;
	if (!strcmp(c->nd->op_type, "ReduceMean") || !strcmp(c->nd->op_type, "ReduceMax"))
		n_in = 1;
	thaw_attrs a = thaw_pool_time(max ? THAW_POOL_MAX : THAW_POOL_MEAN);
	int idx = add_node(c, &a, in, n_in, 4);
	return idx < 0 ? idx : 0;
}

/* The builder of each operator thaw imports; kind tells the builders
 * shared by several operators (pools, activations) which layer to add. */
static const struct {
	const char *op;
	int (*build)(ctx *c, thaw_kind kind, int at);
	thaw_kind kind;
} BUILDERS[] = {
	{.op = "Conv", .build = op_conv},
	{.op = "MaxPool", .build = op_pool, .kind = THAW_MAXPOOL},
	{.op = "AveragePool", .build = op_pool, .kind = THAW_AVGPOOL},
	{.op = "GlobalAveragePool", .build = op_simple, .kind = THAW_GLOBALAVGPOOL},
	{.op = "BatchNormalization", .build = op_batchnorm},
	{.op = "Relu", .build = op_simple, .kind = THAW_RELU},
	{.op = "LeakyRelu", .build = op_simple, .kind = THAW_LEAKY_RELU},
	{.op = "Sigmoid", .build = op_simple, .kind = THAW_SIGMOID},
	{.op = "Tanh", .build = op_simple, .kind = THAW_TANH},
	{.op = "Gelu", .build = op_simple, .kind = THAW_GELU},
	{.op = "Clip", .build = op_clip},
	{.op = "Add", .build = op_add},
	{.op = "Concat", .build = op_concat},
	{.op = "Flatten", .build = op_flatten},
	{.op = "Reshape", .build = op_reshape},
	{.op = "Gemm", .build = op_gemm},
	{.op = "MatMul", .build = op_matmul},
	{.op = "Dropout", .build = op_dropout},
	{.op = "Identity", .build = op_identity},
	{.op = "Constant", .build = op_constant},
	{.op = "Softmax", .build = op_softmax},
};

int thaw_onnx_import_node(ctx *c, int at)
{
	const Onnx__NodeProto *nd = c->nd;
	const char *op = nd->op_type ? nd->op_type : "";
	if (nd->domain && *nd->domain && strcmp(nd->domain, "ai.onnx"))
		return thaw_onnx_err(c, THAW_EINVAL, "operator %s of domain '%s' is not supported; thaw imports %s",
				     op, nd->domain, SUPPORTED);
	const char *mark = nd->doc_string && !strncmp(nd->doc_string, "thaw:", 5) ? nd->doc_string + 5 : "";
	if (!strcmp(mark, "alias"))
		return alias(c, 0);
	if (!strcmp(mark, "embedding") && !strcmp(op, "Gather"))
		return op_thaw_embedding(c);
	if (!strcmp(mark, "pool_time mean") || !strcmp(mark, "pool_time max"))
		return op_thaw_pool_time(c, !strcmp(mark, "pool_time max"));
	for (size_t i = 0; i < sizeof BUILDERS / sizeof BUILDERS[0]; i++)
		if (!strcmp(op, BUILDERS[i].op))
			return BUILDERS[i].build(c, BUILDERS[i].kind, at);
	return thaw_onnx_err(c, THAW_EINVAL, "operator %s is not supported; thaw imports %s", op, SUPPORTED);
}
