/* relu6: y = min(max(x, lo), hi); ReLU6 is [0, 6] and ONNX Clip maps here. */
#include "thaw/layer.h"

#include <math.h>

static int relu6_setup(thaw_node *n, const thaw_shape *in, int n_in)
{
	int rc = thaw_same_shape_setup(n, in, n_in);
	if (rc < 0)
		return rc;
	if (isnan(n->a.lo) || isnan(n->a.hi) || n->a.lo > n->a.hi)
		return thaw_error(THAW_EINVAL, "node '%s' (relu6): clip bounds [%g, %g] are empty", n->name,
				  n->a.lo, n->a.hi);
	return 0;
}

static void relu6_forward(thaw_node *n, const thaw_fwd *f)
{
	size_t N = (size_t)f->B * thaw_shape_sample(n->out);
	const float lo = n->a.lo, hi = n->a.hi;
	const float *x = f->x[0]; // (N)
	float *y = f->y;          // (N)
	for (size_t i = 0; i < N; i++) {
		float v = x[i] > lo ? x[i] : lo;
		y[i] = v < hi ? v : hi;
	}
}

static void relu6_backward(thaw_node *n, const thaw_bwd *b)
{
	if (!b->dx[0])
		return;
	size_t N = (size_t)b->B * thaw_shape_sample(n->out);
	const float lo = n->a.lo, hi = n->a.hi;
	const float *x = b->x[0], *dy = b->dy;
	float *dx = b->dx[0];
	// the gradient passes only strictly inside the bounds (PyTorch's hardtanh rule)
	if (b->acc[0])
		for (size_t i = 0; i < N; i++)
			dx[i] += (x[i] > lo && x[i] < hi) ? dy[i] : 0.0f;
	else
		for (size_t i = 0; i < N; i++)
			dx[i] = (x[i] > lo && x[i] < hi) ? dy[i] : 0.0f;
}

static void relu6_describe(const thaw_node *n, char *buf, size_t size)
{
	snprintf(buf, size, "clip %g..%g", n->a.lo, n->a.hi);
}

const thaw_layer_ops thaw_relu6_ops = {
	.name = "relu6",
	.setup = relu6_setup,
	.forward = relu6_forward,
	.backward = relu6_backward,
	.describe = relu6_describe,
};
