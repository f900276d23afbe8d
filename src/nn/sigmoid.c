/* sigmoid: y = 1 / (1 + exp(-x)). */
#include "thaw/layer.h"

#include <math.h>

static void sigmoid_forward(thaw_node *n, const thaw_fwd *f)
{
	size_t N = (size_t)f->B * thaw_shape_sample(n->out);
	const float *x = f->x[0]; // (N)
	float *y = f->y;          // (N)
	// expf(-x) overflows to inf for x < -88, giving exactly 0: no NaN
	for (size_t i = 0; i < N; i++)
		y[i] = 1.0f / (1.0f + expf(-x[i]));
}

static void sigmoid_backward(thaw_node *n, const thaw_bwd *b)
{
	if (!b->dx[0])
		return;
	size_t N = (size_t)b->B * thaw_shape_sample(n->out);
	const float *y = b->y, *dy = b->dy;
	float *dx = b->dx[0];
	// dy/dx = y (1 - y)
	if (b->acc[0])
		for (size_t i = 0; i < N; i++)
			dx[i] += dy[i] * y[i] * (1.0f - y[i]);
	else
		for (size_t i = 0; i < N; i++)
			dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}

const thaw_layer_ops thaw_sigmoid_ops = {
	.name = "sigmoid",
	.setup = thaw_same_shape_setup,
	.forward = sigmoid_forward,
	.backward = sigmoid_backward,
};
