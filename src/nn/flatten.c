/* flatten: (C, H, W) -> (C*H*W, 1, 1), values unchanged. NCHW order is what
 * PyTorch's flatten and ONNX Flatten(axis=1) produce, so dense weights
 * imported after it line up. A copy, since the model gives every node its
 * own output buffer. */
#include <string.h>

#include "thaw/layer.h"

static int flatten_setup(thaw_node *n, const thaw_shape *in, int n_in)
{
	int rc = thaw_expect_inputs(n, n_in, 1);
	if (rc < 0)
		return rc;
	n->out = (thaw_shape){1, (int)thaw_shape_sample(in[0]), 1, 1};
	return 0;
}

static void flatten_forward(thaw_node *n, const thaw_fwd *f)
{
	memcpy(f->y, f->x[0], (size_t)f->B * thaw_shape_sample(n->out) * sizeof(float));
}

static void flatten_backward(thaw_node *n, const thaw_bwd *b)
{
	if (!b->dx[0])
		return;
	size_t N = (size_t)b->B * thaw_shape_sample(n->out);
	if (b->acc[0])
		for (size_t i = 0; i < N; i++)
			b->dx[0][i] += b->dy[i];
	else
		memcpy(b->dx[0], b->dy, N * sizeof(float));
}

const thaw_layer_ops thaw_flatten_ops = {
	.name = "flatten",
	.setup = flatten_setup,
	.forward = flatten_forward,
	.backward = flatten_backward,
};
