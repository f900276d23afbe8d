/* pool_time: mean or max over time, leaving out padding.
 * x (B, C, 1, T) (an embedding's or a 1-D convolution's output), optional
 * ids (B, 1, 1, T) (the model input: token ids, 0 is padding), y (B, C, 1, 1).
 * With ids, only positions whose id is not 0 count: the mean divides by
 * their number, the max looks at them alone; a text without a token gives
 * zeros. Without ids every position counts. */
#include <float.h>
#include <string.h>

#include "thaw/layer.h"

static int pool_time_setup(thaw_node *n, const thaw_shape *in, int n_in)
{
	if (n_in != 1 && n_in != 2)
		return thaw_error(THAW_EINVAL, "node '%s' (pool_time): takes 1 input or 2 (values, token ids), got %d",
				  n->name, n_in);
	char a[64], b[64];
	if (in[0].h != 1)
		return thaw_error(THAW_ESHAPE, "node '%s' (pool_time): input %s is not a sequence (Cx1xT)", n->name,
				  thaw_shape_str(in[0], a, sizeof a));
	if (n_in == 2 && (in[1].c != 1 || in[1].h != 1 || in[1].w != in[0].w))
		return thaw_error(THAW_ESHAPE,
				  "node '%s' (pool_time): token ids %s do not match the sequence %s (1x1xT each; a "
				  "conv1d before it needs 'same' padding)",
				  n->name, thaw_shape_str(in[1], b, sizeof b), thaw_shape_str(in[0], a, sizeof a));
	if (n->a.pool != THAW_POOL_MEAN && n->a.pool != THAW_POOL_MAX)
		return thaw_error(THAW_EINVAL, "node '%s' (pool_time): pool must be mean or max", n->name);
	n->out = (thaw_shape){1, in[0].c, 1, 1};
	return 0;
}

/* max: the winning position per (b, c), kept from forward to backward */
static size_t pool_time_scratch(const thaw_node *n, int B, int training)
{
	return n->a.pool == THAW_POOL_MAX ? sizeof(int) * (size_t)B * n->out.c : 0;
}

static inline int valid(const float *ids, int t) { return !ids || ids[t] != 0.0f; }

static void pool_time_forward(thaw_node *n, const thaw_fwd *f)
{
	const int B = f->B, C = n->out.c, T = n->in_shape[0].w;
	int *arg = f->scratch;
	for (int b = 0; b < B; b++) {
		const float *x = f->x[0] + (size_t)b * C * T; // (C, T)
		const float *ids = n->n_in == 2 ? f->x[1] + (size_t)b * T : NULL;
		int cnt = 0;
		for (int t = 0; t < T; t++)
			cnt += valid(ids, t);
		for (int c = 0; c < C; c++) {
			const float *xc = x + (size_t)c * T;
			float *y = f->y + (size_t)b * C + c;
			if (n->a.pool == THAW_POOL_MEAN) {
				float s = 0;
				for (int t = 0; t < T; t++)
					if (valid(ids, t))
						s += xc[t];
				*y = cnt ? s / (float)cnt : 0.0f;
			} else {
				float m = -FLT_MAX;
				int at = -1;
				for (int t = 0; t < T; t++)
					if (valid(ids, t) && xc[t] > m)
						m = xc[t], at = t;
				*y = at < 0 ? 0.0f : m;
				if (arg)
					arg[(size_t)b * C + c] = at;
			}
		}
	}
}

static void pool_time_backward(thaw_node *n, const thaw_bwd *bw)
{
	const int B = bw->B, C = n->out.c, T = n->in_shape[0].w;
	float *dx = bw->dx[0];
	if (bw->dx[1] && !bw->acc[1]) /* token ids: no gradient */
		memset(bw->dx[1], 0, sizeof(float) * (size_t)B * T);
	if (!dx)
		return;
	const int *arg = bw->scratch;
	for (int b = 0; b < B; b++) {
		const float *ids = n->n_in == 2 ? bw->x[1] + (size_t)b * T : NULL;
		int cnt = 0;
		for (int t = 0; t < T; t++)
			cnt += valid(ids, t);
		for (int c = 0; c < C; c++) {
			float g = bw->dy[(size_t)b * C + c];
			float *d = dx + ((size_t)b * C + c) * T;
			if (!bw->acc[0])
				memset(d, 0, sizeof *d * (size_t)T);
			if (n->a.pool == THAW_POOL_MEAN) {
				if (!cnt)
					continue;
				// y = sum_valid x / cnt
				float s = g / (float)cnt;
				for (int t = 0; t < T; t++)
					if (valid(ids, t))
						d[t] += s;
			} else {
				int at = arg[(size_t)b * C + c];
				if (at >= 0)
					d[at] += g;
			}
		}
	}
}

static void pool_time_describe(const thaw_node *n, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s", n->a.pool == THAW_POOL_MAX ? "max" : "mean", n->n_in == 2 ? " masked" : "");
}

const thaw_layer_ops thaw_pool_time_ops = {
	.name = "pool_time",
	.setup = pool_time_setup,
	.scratch = pool_time_scratch,
	.forward = pool_time_forward,
	.backward = pool_time_backward,
	.describe = pool_time_describe,
};
