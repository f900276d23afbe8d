/* relu: y = max(x, 0). */
#include "layer.h"

static void relu_forward(thaw_node *n, const thaw_fwd *f)
{
	size_t N = (size_t)f->B * thaw_shape_sample(n->out);
	const float *x = f->x[0];
	float *y = f->y;
	for (size_t i = 0; i < N; i++)
		y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static void relu_backward(thaw_node *n, const thaw_bwd *b)
{
	if (!b->dx[0])
		return;
	size_t N = (size_t)b->B * thaw_shape_sample(n->out);
	const float *y = b->y, *dy = b->dy;
	float *dx = b->dx[0];
	if (b->acc[0])
		for (size_t i = 0; i < N; i++)
			dx[i] += y[i] > 0.0f ? dy[i] : 0.0f;
	else
		for (size_t i = 0; i < N; i++)
			dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

const thaw_layer_ops thaw_relu_ops = {
	.name = "relu",
	.setup = thaw_same_shape_setup,
	.forward = relu_forward,
	.backward = relu_backward,
};
