/* leaky_relu: y = x for x > 0, alpha * x otherwise (PyTorch, ONNX LeakyRelu). */
#include "thaw/layer.h"

#include <math.h>

static int leaky_setup(thaw_node *n, const thaw_shape *in, int n_in)
{
	int rc = thaw_same_shape_setup(n, in, n_in);
	if (rc < 0)
		return rc;
	if (!isfinite(n->a.alpha))
		return thaw_error(THAW_EINVAL, "node '%s' (leaky_relu): slope %g is not finite", n->name,
				  n->a.alpha);
	return 0;
}

static void leaky_forward(thaw_node *n, const thaw_fwd *f)
{
	size_t N = (size_t)f->B * thaw_shape_sample(n->out);
	const float alpha = n->a.alpha;
	const float *x = f->x[0]; // (N)
	float *y = f->y;          // (N)
	for (size_t i = 0; i < N; i++)
		y[i] = x[i] > 0.0f ? x[i] : alpha * x[i];
}

static void leaky_backward(thaw_node *n, const thaw_bwd *b)
{
	if (!b->dx[0])
		return;
	size_t N = (size_t)b->B * thaw_shape_sample(n->out);
	const float alpha = n->a.alpha;
	const float *x = b->x[0], *dy = b->dy;
	float *dx = b->dx[0];
	if (b->acc[0])
		for (size_t i = 0; i < N; i++)
			dx[i] += x[i] > 0.0f ? dy[i] : alpha * dy[i];
	else
		for (size_t i = 0; i < N; i++)
			dx[i] = x[i] > 0.0f ? dy[i] : alpha * dy[i];
}

static void leaky_describe(const thaw_node *n, char *buf, size_t size)
{
	snprintf(buf, size, "alpha %g", n->a.alpha);
}

const thaw_layer_ops thaw_leaky_relu_ops = {
	.name = "leaky_relu",
	.setup = leaky_setup,
	.forward = leaky_forward,
	.backward = leaky_backward,
	.describe = leaky_describe,
};
