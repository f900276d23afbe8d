/* Helpers shared by the layer files: initialisation, parameter declaration. */
#include "layer.h"

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
