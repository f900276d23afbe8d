/* add: y = x0 + x1 + ... over inputs of one shape (residual connections,
 * ONNX Add / Sum without broadcasting). */
#include <string.h>

#include "thaw/layer.h"

static int add_setup(thaw_node *n, const thaw_shape *in, int n_in)
{
	if (n_in < 2)
		return thaw_error(THAW_EINVAL, "node '%s' (add): takes 2 or more inputs, got %d", n->name,
				  n_in);
	for (int j = 1; j < n_in; j++)
		if (in[j].c != in[0].c || in[j].h != in[0].h || in[j].w != in[0].w) {
			char b0[64], bj[64];
			return thaw_error(THAW_ESHAPE, "node '%s' (add): input %d is %s but input 0 is %s", n->name,
					  j, thaw_shape_str(in[j], bj, sizeof bj),
					  thaw_shape_str(in[0], b0, sizeof b0));
		}
	n->out = in[0];
	return 0;
}

static void add_forward(thaw_node *n, const thaw_fwd *f)
{
	size_t N = (size_t)f->B * thaw_shape_sample(n->out);
	float *y = f->y; // (N)
	const float *x0 = f->x[0], *x1 = f->x[1];
	for (size_t i = 0; i < N; i++)
		y[i] = x0[i] + x1[i];
	for (int j = 2; j < n->n_in; j++) {
		const float *x = f->x[j];
		for (size_t i = 0; i < N; i++)
			y[i] += x[i];
	}
}

static void add_backward(thaw_node *n, const thaw_bwd *b)
{
	size_t N = (size_t)b->B * thaw_shape_sample(n->out);
	// in order: when two inputs are the same node the model sets acc on the later one
	for (int j = 0; j < n->n_in; j++) {
		float *dx = b->dx[j];
		if (!dx)
			continue;
		if (b->acc[j])
			for (size_t i = 0; i < N; i++)
				dx[i] += b->dy[i];
		else
			memcpy(dx, b->dy, N * sizeof(float));
	}
}

static void add_describe(const thaw_node *n, char *buf, size_t size)
{
	snprintf(buf, size, "%d inputs", n->n_in);
}

const thaw_layer_ops thaw_add_ops = {
	.name = "add",
	.setup = add_setup,
	.forward = add_forward,
	.backward = add_backward,
	.describe = add_describe,
};
