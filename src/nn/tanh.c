/* tanh: y = tanh(x). */
#include "thaw/layer.h"

#include <math.h>

static void tanh_forward(thaw_node *n, const thaw_fwd *f)
{
	size_t N = (size_t)f->B * thaw_shape_sample(n->out);
	const float *x = f->x[0]; // (N)
	float *y = f->y;          // (N)
	for (size_t i = 0; i < N; i++)
		y[i] = tanhf(x[i]);
}

static void tanh_backward(thaw_node *n, const thaw_bwd *b)
{
	if (!b->dx[0])
		return;
	size_t N = (size_t)b->B * thaw_shape_sample(n->out);
	const float *y = b->y, *dy = b->dy;
	float *dx = b->dx[0];
	// dy/dx = 1 - y^2
	if (b->acc[0])
		for (size_t i = 0; i < N; i++)
			dx[i] += dy[i] * (1.0f - y[i] * y[i]);
	else
		for (size_t i = 0; i < N; i++)
			dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

const thaw_layer_ops thaw_tanh_ops = {
	.name = "tanh",
	.setup = thaw_same_shape_setup,
	.forward = tanh_forward,
	.backward = tanh_backward,
};
