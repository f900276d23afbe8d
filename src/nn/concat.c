/* concat: joins inputs along channels (axis 1 of NCHW, as SqueezeNet,
 * Inception and DenseNet use); every input has the same height and width. */
#include <string.h>

#include "thaw/layer.h"

static int concat_setup(thaw_node *n, const thaw_shape *in, int n_in)
{
	if (n_in < 1)
		return thaw_error(THAW_EINVAL, "node '%s' (concat): takes 1 or more inputs, got %d", n->name,
				  n_in);
	int c = 0;
	for (int j = 0; j < n_in; j++) {
		if (in[j].h != in[0].h || in[j].w != in[0].w) {
			char b0[64], bj[64];
			return thaw_error(THAW_ESHAPE,
					  "node '%s' (concat): input %d is %s but input 0 is %s; channels are joined, so height and width must agree",
					  n->name, j, thaw_shape_str(in[j], bj, sizeof bj),
					  thaw_shape_str(in[0], b0, sizeof b0));
		}
		c += in[j].c;
	}
	n->out = (thaw_shape){1, c, in[0].h, in[0].w};
	return 0;
}

static void concat_forward(thaw_node *n, const thaw_fwd *f)
{
	const size_t HW = (size_t)n->out.h * n->out.w, S = (size_t)n->out.c * HW;
	size_t off = 0; // channel offset of input j, times HW
	for (int j = 0; j < n->n_in; j++) {
		const size_t sj = (size_t)n->in_shape[j].c * HW;
		const float *x = f->x[j]; // (B, cj, H, W)
		for (int b = 0; b < f->B; b++)
			memcpy(f->y + b * S + off, x + b * sj, sj * sizeof(float));
		off += sj;
	}
}

static void concat_backward(thaw_node *n, const thaw_bwd *b)
{
	const size_t HW = (size_t)n->out.h * n->out.w, S = (size_t)n->out.c * HW;
	size_t off = 0;
	for (int j = 0; j < n->n_in; j++) {
		const size_t sj = (size_t)n->in_shape[j].c * HW;
		float *dx = b->dx[j]; // (B, cj, H, W)
		if (dx) {
			for (int s = 0; s < b->B; s++) {
				const float *src = b->dy + s * S + off;
				float *dst = dx + s * sj;
				if (b->acc[j])
					for (size_t i = 0; i < sj; i++)
						dst[i] += src[i];
				else
					memcpy(dst, src, sj * sizeof(float));
			}
		}
		off += sj;
	}
}

static void concat_describe(const thaw_node *n, char *buf, size_t size)
{
	size_t k = 0;
	buf[0] = 0;
	for (int j = 0; j < n->n_in && k < size; j++) {
		int w = snprintf(buf + k, size - k, "%s%d", j ? "+" : "", n->in_shape[j].c);
		if (w < 0)
			break;
		k += (size_t)w;
	}
	if (k < size)
		snprintf(buf + k, size - k, "->%d", n->out.c);
}

const thaw_layer_ops thaw_concat_ops = {
	.name = "concat",
	.setup = concat_setup,
	.forward = concat_forward,
	.backward = concat_backward,
	.describe = concat_describe,
};
