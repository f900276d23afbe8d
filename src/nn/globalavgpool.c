/* globalavgpool: ONNX GlobalAveragePool, (B, C, H, W) -> (B, C, 1, 1). */
#include "thaw/layer.h"

static int gap_setup(thaw_node *n, const thaw_shape *in, int n_in)
{
	int rc = thaw_expect_inputs(n, n_in, 1);
	if (rc < 0)
		return rc;
	n->out = (thaw_shape){1, in[0].c, 1, 1};
	return 0;
}

static void gap_forward(thaw_node *n, const thaw_fwd *f)
{
	const size_t HW = (size_t)n->in_shape[0].h * n->in_shape[0].w, planes = (size_t)f->B * n->out.c;
	const float inv = 1.0f / (float)HW;
	for (size_t i = 0; i < planes; i++) {
		const float *x = f->x[0] + i * HW;
		float s = 0.0f;
		for (size_t k = 0; k < HW; k++)
			s += x[k];
		f->y[i] = s * inv;
	}
}

static void gap_backward(thaw_node *n, const thaw_bwd *b)
{
	float *dx = b->dx[0];
	if (!dx)
		return;
	const size_t HW = (size_t)n->in_shape[0].h * n->in_shape[0].w, planes = (size_t)b->B * n->out.c;
	const float inv = 1.0f / (float)HW;
	for (size_t i = 0; i < planes; i++) {
		float g = b->dy[i] * inv, *d = dx + i * HW;
		if (b->acc[0])
			for (size_t k = 0; k < HW; k++)
				d[k] += g;
		else
			for (size_t k = 0; k < HW; k++)
				d[k] = g;
	}
}

static void gap_describe(const thaw_node *n, char *buf, size_t size)
{
	snprintf(buf, size, "%dx%d->1x1", n->in_shape[0].h, n->in_shape[0].w);
}

const thaw_layer_ops thaw_globalavgpool_ops = {
	.name = "globalavgpool",
	.setup = gap_setup,
	.forward = gap_forward,
	.backward = gap_backward,
	.describe = gap_describe,
};
