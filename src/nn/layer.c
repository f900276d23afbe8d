/* Helpers shared by the layer files: initialisation, parameter declaration. */
#include "thaw/layer.h"

#include <math.h>
#include <string.h>

void thaw_init_weights(float *w, size_t count, int fan_in, int fan_out, int init, thaw_rng *rng)
{
	if (init == THAW_INIT_GLOROT) {
		float lim = sqrtf(6.0f / (float)(fan_in + fan_out));
		for (size_t i = 0; i < count; i++)
			w[i] = (2.0f * thaw_rng_uniform(rng) - 1.0f) * lim;
	} else {
		float sd = sqrtf(2.0f / (float)fan_in);
		for (size_t i = 0; i < count; i++)
			w[i] = sd * thaw_rng_normal(rng);
	}
}

void thaw_param_decl(thaw_node *n, int i, const char *name, int is_buffer, int d0, int d1, int d2,
		     int d3)
{
	THAW_ASSERT(i >= 0 && i < THAW_MAX_PARAMS);
	thaw_param *p = &n->p[i];
	memset(p, 0, sizeof *p);
	p->name = name;
	p->is_buffer = is_buffer;
	int d[4] = {d0, d1, d2, d3};
	for (p->ndim = 0; p->ndim < 4 && d[p->ndim] > 0; p->ndim++)
		p->dims[p->ndim] = d[p->ndim];
	if (i + 1 > n->np)
		n->np = i + 1;
}

int thaw_expect_inputs(const thaw_node *n, int n_in, int want)
{
	if (n_in != want)
		return thaw_error(THAW_EINVAL, "node '%s' (%s): takes %d input%s, got %d", n->name,
				  thaw_kind_name(n->kind), want, want == 1 ? "" : "s", n_in);
	return 0;
}

int thaw_same_shape_setup(thaw_node *n, const thaw_shape *in, int n_in)
{
	int rc = thaw_expect_inputs(n, n_in, 1);
	if (rc < 0)
		return rc;
	n->out = in[0];
	return 0;
}

/* Output size of a pooling window along one axis (PyTorch's rule: with
 * ceil_mode a last window starting in the end padding is dropped). */
static int pool_out(int in, int k, int s, int p0, int p1, int ceil_mode)
{
	int span = in + p0 + p1 - k;
	int o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
	if (ceil_mode && (o - 1) * s >= in + p0)
		o--;
	return o;
}

int thaw_pool_setup(thaw_node *n, const thaw_shape *in, int n_in)
{
	int rc = thaw_expect_inputs(n, n_in, 1);
	if (rc < 0)
		return rc;
	const thaw_attrs *a = &n->a;
	const char *kind = thaw_kind_name(n->kind);
	char is[64];
	thaw_shape_str(in[0], is, sizeof is);
	if (a->kh <= 0 || a->kw <= 0 || a->sh <= 0 || a->sw <= 0)
		return thaw_error(THAW_EINVAL, "node '%s' (%s): kernel %dx%d and stride %dx%d must be positive",
				  n->name, kind, a->kh, a->kw, a->sh, a->sw);
	for (int i = 0; i < 4; i++)
		if (a->pad[i] < 0 || a->pad[i] >= (i % 2 ? a->kw : a->kh))
			return thaw_error(THAW_EINVAL,
					  "node '%s' (%s): padding %d,%d,%d,%d must be >= 0 and smaller than the kernel %dx%d",
					  n->name, kind, a->pad[0], a->pad[1], a->pad[2], a->pad[3], a->kh, a->kw);
	int ph = in[0].h + a->pad[0] + a->pad[2], pw = in[0].w + a->pad[1] + a->pad[3];
	if (a->kh > ph || a->kw > pw)
		return thaw_error(THAW_ESHAPE, "node '%s' (%s): kernel %dx%d larger than padded input %dx%d (input %s)",
				  n->name, kind, a->kh, a->kw, ph, pw, is);
	n->out = (thaw_shape){1, in[0].c, pool_out(in[0].h, a->kh, a->sh, a->pad[0], a->pad[2], a->ceil_mode),
			      pool_out(in[0].w, a->kw, a->sw, a->pad[1], a->pad[3], a->ceil_mode)};
	return 0;
}
