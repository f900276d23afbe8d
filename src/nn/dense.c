/* dense: y = x W^T + b over the flattened input.
 * x (B, K), W (units, K) as in PyTorch and ONNX Gemm(transB=1), b (units). */
#include <string.h>

#include "thaw/layer.h"
#include "thaw/blas.h"

static int dense_setup(thaw_node *n, const thaw_shape *in, int n_in)
{
	int rc = thaw_expect_inputs(n, n_in, 1);
	if (rc < 0)
		return rc;
	if (n->a.units <= 0)
		return thaw_error(THAW_EINVAL, "node '%s' (dense): units must be positive, got %d", n->name,
				  n->a.units);
	int K = (int)thaw_shape_sample(in[0]);
	n->out = (thaw_shape){1, n->a.units, 1, 1};
	thaw_param_decl(n, 0, "weight", 0, n->a.units, K, 0, 0);
	if (n->a.bias)
		thaw_param_decl(n, 1, "bias", 0, n->a.units, 0, 0, 0);
	return 0;
}

static void dense_init(thaw_node *n, thaw_rng *rng)
{
	int K = n->p[0].dims[1];
	thaw_init_weights(n->p[0].w, n->p[0].size, K, n->a.units, n->a.init, rng);
	if (n->a.bias)
		memset(n->p[1].w, 0, n->p[1].size * sizeof(float));
}

static void dense_forward(thaw_node *n, const thaw_fwd *f)
{
	const int B = f->B, U = n->a.units, K = n->p[0].dims[1];
	const float *W = n->p[0].w; // (U, K)
	float *y = f->y;            // (B, U)
	if (n->a.bias) {
		const float *b = n->p[1].w;
		for (int i = 0; i < B; i++)
			memcpy(y + (size_t)i * U, b, sizeof(float) * U);
	}
	thaw_sgemm(0, 1, B, U, K, 1.0f, f->x[0], K, W, K, n->a.bias ? 1.0f : 0.0f, y, U);
}

static void dense_backward(thaw_node *n, const thaw_bwd *b)
{
	const int B = b->B, U = n->a.units, K = n->p[0].dims[1];
	if (b->weight_grad) {
		// dW (U, K) = dy^T (U, B) x (B, K)
		thaw_sgemm(1, 0, U, K, B, 1.0f, b->dy, U, b->x[0], K, 0.0f, n->p[0].g, K);
		if (n->a.bias) {
			float *db = n->p[1].g;
			memset(db, 0, sizeof(float) * U);
			for (int i = 0; i < B; i++)
				for (int u = 0; u < U; u++)
					db[u] += b->dy[(size_t)i * U + u];
		}
	}
	if (b->dx[0]) // dx (B, K) = dy (B, U) W (U, K)
		thaw_sgemm(0, 0, B, K, U, 1.0f, b->dy, U, n->p[0].w, K, b->acc[0] ? 1.0f : 0.0f, b->dx[0], K);
}

static void dense_describe(const thaw_node *n, char *buf, size_t size)
{
	snprintf(buf, size, "%d->%d%s", n->p[0].dims[1], n->a.units, n->a.bias ? "" : " nobias");
}

const thaw_layer_ops thaw_dense_ops = {
	.name = "dense",
	.setup = dense_setup,
	.init = dense_init,
	.forward = dense_forward,
	.backward = dense_backward,
	.describe = dense_describe,
};
