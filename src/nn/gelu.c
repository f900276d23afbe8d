/* gelu: y = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), the exact form of
 * ONNX Gelu (approximate="none") and PyTorch nn.GELU(), not the tanh one. */
#include "thaw/layer.h"

#include <math.h>

static void gelu_forward(thaw_node *n, const thaw_fwd *f)
{
	size_t N = (size_t)f->B * thaw_shape_sample(n->out);
	const float *x = f->x[0]; // (N)
	float *y = f->y;          // (N)
	for (size_t i = 0; i < N; i++)
		y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

static void gelu_backward(thaw_node *n, const thaw_bwd *b)
{
	if (!b->dx[0])
		return;
	size_t N = (size_t)b->B * thaw_shape_sample(n->out);
	const float *x = b->x[0], *dy = b->dy;
	float *dx = b->dx[0];
	// d/dx x Phi(x) = Phi(x) + x phi(x), phi the standard normal density
	for (size_t i = 0; i < N; i++) {
		float v = x[i];
		float cdf = 0.5f * (1.0f + erff(v * 0.70710678118654752f));
		float pdf = 0.39894228040143268f * expf(-0.5f * v * v);
		thaw_put(dx, i, dy[i] * (cdf + v * pdf), b->acc[0]);
	}
}

const thaw_layer_ops thaw_gelu_ops = {
	.name = "gelu",
	.setup = thaw_same_shape_setup,
	.forward = gelu_forward,
	.backward = gelu_backward,
};
