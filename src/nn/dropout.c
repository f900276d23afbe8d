/* dropout: inverted dropout. In a training pass each value is dropped with
 * probability `rate` and the kept ones are scaled by 1 / (1 - rate), so the
 * expectation is unchanged and inference is the identity (PyTorch, ONNX).
 * The mask comes from the model's seeded RNG and is kept for backward. */
#include <string.h>

#include "thaw/layer.h"

/* scratch: this header, then the mask, one byte per value (B, sample) */
typedef struct drop_state {
	int active; /* the last forward dropped (training pass, rate > 0) */
	float scale;
	char pad[56];
} drop_state;

static int dropout_setup(thaw_node *n, const thaw_shape *in, int n_in)
{
	int rc = thaw_same_shape_setup(n, in, n_in);
	if (rc < 0)
		return rc;
	if (!(n->a.rate >= 0.0f && n->a.rate < 1.0f))
		return thaw_error(THAW_EINVAL, "node '%s' (dropout): rate %g must be in [0, 1)", n->name,
				  n->a.rate);
	return 0;
}

static size_t dropout_scratch(const thaw_node *n, int B, int training)
{
	return training ? sizeof(drop_state) + (size_t)B * thaw_shape_sample(n->out) : 0;
}

static void dropout_forward(thaw_node *n, const thaw_fwd *f)
{
	size_t N = (size_t)f->B * thaw_shape_sample(n->out);
	const float *x = f->x[0]; // (N)
	float *y = f->y;          // (N)
	drop_state *s = f->scratch;
	int active = f->training && n->a.rate > 0.0f;
	if (s)
		s->active = active;
	if (!active) {
		memcpy(y, x, N * sizeof(float));
		return;
	}
	THAW_ASSERT(s && f->rng);
	unsigned char *mask = (unsigned char *)(s + 1); // (N)
	// drop when u < rate * 2^32: one comparison per value, no float rounding bias
	double t = (double)n->a.rate * 4294967296.0;
	uint32_t thr = t >= 4294967295.0 ? 4294967295u : (uint32_t)t;
	float scale = 1.0f / (1.0f - n->a.rate);
	s->scale = scale;
	for (size_t i = 0; i < N; i++)
		mask[i] = thaw_rng_u32(f->rng) >= thr;
	for (size_t i = 0; i < N; i++)
		y[i] = mask[i] ? x[i] * scale : 0.0f;
}

static void dropout_backward(thaw_node *n, const thaw_bwd *b)
{
	if (!b->dx[0])
		return;
	size_t N = (size_t)b->B * thaw_shape_sample(n->out);
	const float *dy = b->dy;
	float *dx = b->dx[0];
	const drop_state *s = b->scratch;
	if (!s || !s->active) {
		if (b->acc[0])
			for (size_t i = 0; i < N; i++)
				dx[i] += dy[i];
		else
			memcpy(dx, dy, N * sizeof(float));
		return;
	}
	const unsigned char *mask = (const unsigned char *)(s + 1);
	const float scale = s->scale;
	// y = mask ? x * scale : 0
	if (b->acc[0])
		for (size_t i = 0; i < N; i++)
			dx[i] += mask[i] ? dy[i] * scale : 0.0f;
	else
		for (size_t i = 0; i < N; i++)
			dx[i] = mask[i] ? dy[i] * scale : 0.0f;
}

static void dropout_describe(const thaw_node *n, char *buf, size_t size)
{
	snprintf(buf, size, "rate %g", n->a.rate);
}

const thaw_layer_ops thaw_dropout_ops = {
	.name = "dropout",
	.setup = dropout_setup,
	.scratch = dropout_scratch,
	.forward = dropout_forward,
	.backward = dropout_backward,
	.describe = dropout_describe,
};
