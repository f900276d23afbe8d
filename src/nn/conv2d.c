/* conv2d: ONNX Conv / torch.nn.Conv2d with stride, asymmetric padding,
 * dilation and groups.
 *   x (B, C, H, W), weight (OC, C/G, kh, kw), bias (OC), y (B, OC, OH, OW)
 *   OH = floor((H + pt + pb - dh*(kh-1) - 1) / sh) + 1
 *
 * Four kernels, picked from the shapes alone (so a step is deterministic):
 *   direct  depthwise (one input channel per group, G > 1): K = kh*kw is
 *           too small for a GEMM, so loops over the taps along output rows;
 *   1x1     stride 1 and no padding: the input already is the column
 *           matrix, one GEMM per image and group, no col buffer;
 *   gemm    per image, im2col into a col buffer of the part of the batch
 *           this thread runs (thaw_parallel_for), then one single-threaded
 *           GEMM straight into NCHW with the bias added after. The col
 *           buffer stays in the core's L2; backward lowers the image again
 *           instead of keeping a whole-batch col matrix (14 MB for the
 *           reference CNN's conv2, which cost more in DRAM traffic than
 *           the second im2col). With K <= 16 (a first layer on grey
 *           images, K = 9) the products run as register-blocked loops
 *           instead of OpenBLAS: its dW GEMM (N = K) is skinny and slow;
 *   wino    3x3 stride 1, no groups, 12+ channels in (ResNet's body,
 *           the reference CNN's conv2): Winograd F(4x4, 3x3) forward, for
 *           dx and for dW (conv2d_wino.c), a quarter of the products.
 * Backward: dW = dY col^T into a per-part buffer (summed in part order,
 * so a thread count gives one result), then dcol = W^T dY over the spent
 * col buffer and col2im. A frozen conv (weight_grad = 0) skips the dW
 * GEMM and the second im2col. */
#include <string.h>

#include "conv2d.h"

static cgeom geom_of(const thaw_node *n)
{
	const thaw_attrs *a = &n->a;
	cgeom g;
	g.C = n->in_shape[0].c;
	g.H = n->in_shape[0].h;
	g.W = n->in_shape[0].w;
	g.G = a->groups;
	g.Cg = g.C / g.G;
	g.OC = a->filters;
	g.OCg = g.OC / g.G;
	g.kh = a->kh;
	g.kw = a->kw;
	g.sh = a->sh;
	g.sw = a->sw;
	g.pt = a->pad[0];
	g.pl = a->pad[1];
	g.dh = a->dh;
	g.dw = a->dw;
	g.OH = n->out.h;
	g.OW = n->out.w;
	g.P = g.OH * g.OW;
	g.K = g.Cg * g.kh * g.kw;
	if (g.Cg == 1 && g.G > 1)
		g.path = PATH_DIRECT;
	else if (g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 &&
		 a->pad[2] == 0 && a->pad[3] == 0)
		g.path = PATH_1X1;
	else if (g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && g.G == 1 &&
		 g.C >= WINO_MIN_C && a->pad[0] <= 2 && a->pad[1] <= 2 && a->pad[2] <= 2 &&
		 a->pad[3] <= 2 && (g.OW + 3) / 4 <= WINO_TW_MAX && (g.W + 3) / 4 <= WINO_TW_MAX)
		g.path = PATH_WINO;
	else
		g.path = PATH_GEMM;
	return g;
}

static int conv_setup(thaw_node *n, const thaw_shape *in, int n_in)
{
	int rc = thaw_expect_inputs(n, n_in, 1);
	if (rc < 0)
		return rc;
	const thaw_attrs *a = &n->a;
	char is[64];
	thaw_shape_str(in[0], is, sizeof is);
	if (a->filters <= 0)
		return thaw_error(THAW_EINVAL, "node '%s' (conv2d): filters must be positive, got %d",
				  n->name, a->filters);
	if (a->kh <= 0 || a->kw <= 0 || a->sh <= 0 || a->sw <= 0 || a->dh <= 0 || a->dw <= 0)
		return thaw_error(THAW_EINVAL,
				  "node '%s' (conv2d): kernel %dx%d, stride %dx%d and dilation %dx%d must be positive",
				  n->name, a->kh, a->kw, a->sh, a->sw, a->dh, a->dw);
	for (int i = 0; i < 4; i++)
		if (a->pad[i] < 0)
			return thaw_error(THAW_EINVAL, "node '%s' (conv2d): padding %d,%d,%d,%d is negative",
					  n->name, a->pad[0], a->pad[1], a->pad[2], a->pad[3]);
	if (a->groups <= 0 || in[0].c % a->groups != 0)
		return thaw_error(THAW_EINVAL,
				  "node '%s' (conv2d): input %s has %d channels, not divisible by groups %d",
				  n->name, is, in[0].c, a->groups);
	if (a->filters % a->groups != 0)
		return thaw_error(THAW_EINVAL,
				  "node '%s' (conv2d): %d filters not divisible by groups %d (input %s)",
				  n->name, a->filters, a->groups, is);
	int ekh = a->dh * (a->kh - 1) + 1, ekw = a->dw * (a->kw - 1) + 1;
	int ph = in[0].h + a->pad[0] + a->pad[2], pw = in[0].w + a->pad[1] + a->pad[3];
	if (ekh > ph || ekw > pw) {
		char dil[48] = "";
		if (a->dh > 1 || a->dw > 1)
			snprintf(dil, sizeof dil, " (dilated to %dx%d)", ekh, ekw);
		return thaw_error(THAW_ESHAPE,
				  "node '%s' (conv2d): kernel %dx%d%s larger than padded input %dx%d (input %s)",
				  n->name, a->kh, a->kw, dil, ph, pw, is);
	}
	int oh = (ph - ekh) / a->sh + 1, ow = (pw - ekw) / a->sw + 1;
	n->out = (thaw_shape){1, a->filters, oh, ow};
	thaw_param_decl(n, 0, "weight", 0, a->filters, in[0].c / a->groups, a->kh, a->kw);
	if (a->bias)
		thaw_param_decl(n, 1, "bias", 0, a->filters, 0, 0, 0);
	return 0;
}

static void conv_init(thaw_node *n, thaw_rng *rng)
{
	const thaw_param *w = &n->p[0];
	int rf = w->dims[2] * w->dims[3];
	thaw_init_weights(w->w, w->size, w->dims[1] * rf, w->dims[0] * rf, n->a.init, rng);
	if (n->a.bias)
		memset(n->p[1].w, 0, n->p[1].size * sizeof(float));
}

static size_t conv_scratch(const thaw_node *n, int B, int training)
{
	cgeom g = geom_of(n);
	if (g.path == PATH_DIRECT)
		return thaw_conv2d_direct_scratch(n, &g);
	if (g.path == PATH_WINO)
		return thaw_conv2d_wino_scratch(&g, B, training);
	if (g.path == PATH_1X1)
		return thaw_conv2d_pointwise_scratch(&g, B);
	return thaw_conv2d_gemm_scratch(&g, B);
}


static void conv_forward(thaw_node *n, const thaw_fwd *f)
{
	cgeom g = geom_of(n);
	cpost op = cpost_of(n, f); /* the bias, or a folded batch norm */
	if (g.path == PATH_DIRECT)
		thaw_conv2d_direct_forward(n, &g, f->B, f->x[0], f->y, f->scratch, &op);
	else if (g.path == PATH_1X1)
		thaw_conv2d_pointwise_forward(n, &g, f->B, f->x[0], f->y, &op);
	else if (g.path == PATH_WINO)
		thaw_conv2d_wino_forward(n, &g, f->B, f->x[0], f->y, f->scratch, f->post, f->post_relu);
	else
		thaw_conv2d_gemm_forward(n, &g, f->B, f->x[0], f->y, f->scratch, &op);
}

/* Every path applies a folded batch norm in its output pass; all but
 * Winograd's also a clip (ReLU6) after it. */
int thaw_conv2d_can_fold(const thaw_node *n)
{
	if (n->kind != THAW_CONV2D)
		return 0;
	return geom_of(n).path == PATH_WINO ? THAW_FOLD_BN : THAW_FOLD_BN | THAW_FOLD_CLIP;
}

static void conv_backward(thaw_node *n, const thaw_bwd *b)
{
	if (!b->weight_grad && !b->dx[0])
		return;
	cgeom g = geom_of(n);
	if (g.path == PATH_DIRECT) {
		thaw_conv2d_direct_backward(n, &g, b);
		return;
	}
	if (b->weight_grad && n->a.bias && g.path == PATH_1X1) {
		float *db = n->p[1].g;
		for (int oc = 0; oc < g.OC; oc++) {
			float s = 0.0f;
			for (int i = 0; i < b->B; i++)
				s += sumf(b->dy + ((size_t)i * g.OC + oc) * g.P, (size_t)g.P);
			db[oc] = s;
		}
	}
	if (g.path == PATH_WINO) { /* dW, then dx, one after the other in scratch */
		if (b->weight_grad)
			thaw_conv2d_wino_backward_weights(n, &g, b->B, b->x[0], b->dy, b->scratch);
		if (b->dx[0])
			thaw_conv2d_wino_backward_data(n, &g, b->B, b->dy, b->dx[0], b->acc[0], b->scratch);
		return;
	}
	if (g.path == PATH_1X1)
		thaw_conv2d_pointwise_backward(n, &g, b);
	else
		thaw_conv2d_gemm_backward(n, &g, b);
}

static void conv_describe(const thaw_node *n, char *buf, size_t size)
{
	const thaw_attrs *a = &n->a;
	char pad[48], extra[64] = "";
	if (a->pad[0] == a->pad[1] && a->pad[0] == a->pad[2] && a->pad[0] == a->pad[3])
		snprintf(pad, sizeof pad, "p%d", a->pad[0]);
	else
		snprintf(pad, sizeof pad, "p%d,%d,%d,%d", a->pad[0], a->pad[1], a->pad[2], a->pad[3]);
	size_t k = 0;
	if (a->dh > 1 || a->dw > 1)
		k += (size_t)snprintf(extra + k, sizeof extra - k, " d%d", a->dh);
	if (a->groups > 1 && k < sizeof extra)
		k += (size_t)snprintf(extra + k, sizeof extra - k,
				      a->groups == n->in_shape[0].c ? " dw" : " g%d", a->groups);
	if (!a->bias && k < sizeof extra)
		snprintf(extra + k, sizeof extra - k, " nobias");
	char st[24];
	if (a->sh == a->sw)
		snprintf(st, sizeof st, "s%d", a->sh);
	else
		snprintf(st, sizeof st, "s%dx%d", a->sh, a->sw);
	snprintf(buf, size, "%dx%d %s %s %d->%d%s", a->kh, a->kw, st, pad, n->in_shape[0].c, a->filters,
		 extra);
}

const thaw_layer_ops thaw_conv2d_ops = {
	.name = "conv2d",
	.setup = conv_setup,
	.init = conv_init,
	.scratch = conv_scratch,
	.scratch_shared = 1, /* im2col and padding buffers, dW per part */
	.forward = conv_forward,
	.backward = conv_backward,
	.describe = conv_describe,
};
