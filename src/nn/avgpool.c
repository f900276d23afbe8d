/* avgpool: ONNX AveragePool / torch.nn.AvgPool2d.
 *   x (B, C, H, W) -> y (B, C, OH, OW), sizes as in maxpool.c.
 * The divisor is the number of pixels of the window inside the image
 * (count_include_pad = 0, ONNX's default), or with count_include_pad the
 * part of the window inside the padded image (PyTorch: a ceil_mode window
 * hanging past the padding does not count the overhang). */
#include <string.h>

#include "thaw/layer.h"

/* The window of output o along one axis: pixels [*i0, *i1), divisor span *cnt. */
static void window(int o, int k, int s, int p0, int p1, int in, int include_pad, int *i0, int *i1,
		   int *cnt)
{
	int st = o * s - p0, en = st + k;
	int lo = st < 0 ? 0 : st, hi = en < in ? en : in;
	*i0 = lo;
	*i1 = hi;
	if (include_pad) {
		int plo = st < -p0 ? -p0 : st, phi = en < in + p1 ? en : in + p1;
		*cnt = phi - plo;
	} else {
		*cnt = hi - lo;
	}
}

static void avgpool_forward(thaw_node *n, const thaw_fwd *f)
{
	const thaw_attrs *a = &n->a;
	const int H = n->in_shape[0].h, W = n->in_shape[0].w, OH = n->out.h, OW = n->out.w;
	const size_t planes = (size_t)f->B * n->out.c, HW = (size_t)H * W, P = (size_t)OH * OW;
	for (size_t i = 0; i < planes; i++) {
		const float *x = f->x[0] + i * HW;
		float *y = f->y + i * P;
		for (int oy = 0; oy < OH; oy++) {
			int y0, y1, cy;
			window(oy, a->kh, a->sh, a->pad[0], a->pad[2], H, a->count_include_pad, &y0, &y1, &cy);
			for (int ox = 0; ox < OW; ox++) {
				int x0, x1, cx;
				window(ox, a->kw, a->sw, a->pad[1], a->pad[3], W, a->count_include_pad, &x0, &x1, &cx);
				float s = 0.0f;
				for (int iy = y0; iy < y1; iy++)
					for (int ix = x0; ix < x1; ix++)
						s += x[(size_t)iy * W + ix];
				y[(size_t)oy * OW + ox] = s / (float)(cy * cx);
			}
		}
	}
}

static void avgpool_backward(thaw_node *n, const thaw_bwd *b)
{
	float *dx = b->dx[0];
	if (!dx)
		return;
	const thaw_attrs *a = &n->a;
	const int H = n->in_shape[0].h, W = n->in_shape[0].w, OH = n->out.h, OW = n->out.w;
	const size_t planes = (size_t)b->B * n->out.c, HW = (size_t)H * W, P = (size_t)OH * OW;
	if (!b->acc[0])
		memset(dx, 0, planes * HW * sizeof(float));
	for (size_t i = 0; i < planes; i++) {
		float *d = dx + i * HW;
		const float *dy = b->dy + i * P;
		for (int oy = 0; oy < OH; oy++) {
			int y0, y1, cy;
			window(oy, a->kh, a->sh, a->pad[0], a->pad[2], H, a->count_include_pad, &y0, &y1, &cy);
			for (int ox = 0; ox < OW; ox++) {
				int x0, x1, cx;
				window(ox, a->kw, a->sw, a->pad[1], a->pad[3], W, a->count_include_pad, &x0, &x1, &cx);
				float g = dy[(size_t)oy * OW + ox] / (float)(cy * cx);
				for (int iy = y0; iy < y1; iy++)
					for (int ix = x0; ix < x1; ix++)
						d[(size_t)iy * W + ix] += g;
			}
		}
	}
}

static void avgpool_describe(const thaw_node *n, char *buf, size_t size)
{
	const thaw_attrs *a = &n->a;
	char pad[48] = "";
	if (a->pad[0] || a->pad[1] || a->pad[2] || a->pad[3]) {
		if (a->pad[0] == a->pad[1] && a->pad[0] == a->pad[2] && a->pad[0] == a->pad[3])
			snprintf(pad, sizeof pad, " p%d", a->pad[0]);
		else
			snprintf(pad, sizeof pad, " p%d,%d,%d,%d", a->pad[0], a->pad[1], a->pad[2], a->pad[3]);
	}
	snprintf(buf, size, "%dx%d s%d%s%s%s", a->kh, a->kw, a->sh, pad, a->ceil_mode ? " ceil" : "",
		 a->count_include_pad ? " incl-pad" : "");
}

const thaw_layer_ops thaw_avgpool_ops = {
	.name = "avgpool",
	.setup = thaw_pool_setup,
	.forward = avgpool_forward,
	.backward = avgpool_backward,
	.describe = avgpool_describe,
};
