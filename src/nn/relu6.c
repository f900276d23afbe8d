/* relu6: y = min(max(x, lo), hi); ReLU6 is [0, 6] and ONNX Clip maps here. */
#include "thaw/layer.h"
#include "thaw/parallel.h"

#include <math.h>

static int relu6_setup(thaw_node *n, const thaw_shape *in, int n_in)
{
	int rc = thaw_same_shape_setup(n, in, n_in);
	if (rc < 0)
		return rc;
	if (isnan(n->a.lo) || isnan(n->a.hi) || n->a.lo > n->a.hi)
		return thaw_error(THAW_EINVAL, "node '%s' (relu6): clip bounds [%g, %g] are empty", n->name,
				  n->a.lo, n->a.hi);
	return 0;
}

/* Both passes split over the pool (thaw_parallel_range). */
typedef struct clip_job {
	float lo, hi;
	const float *x, *dy;
	float *out;
	int acc;
} clip_job;

static void forward_range(size_t a, size_t b, void *user)
{
	const clip_job *j = user;
	const float *restrict x = j->x, lo = j->lo, hi = j->hi;
	float *restrict y = j->out;
	for (size_t i = a; i < b; i++) {
		float v = x[i] > lo ? x[i] : lo;
		y[i] = v < hi ? v : hi;
	}
}

// the gradient passes only strictly inside the bounds (PyTorch's hardtanh rule)
static void backward_range(size_t a, size_t b, void *user)
{
	const clip_job *j = user;
	const float *restrict x = j->x, *restrict dy = j->dy, lo = j->lo, hi = j->hi;
	float *restrict dx = j->out;
	if (j->acc)
		for (size_t i = a; i < b; i++)
			dx[i] += ((x[i] > lo) & (x[i] < hi)) ? dy[i] : 0.0f;
	else
		for (size_t i = a; i < b; i++)
			dx[i] = ((x[i] > lo) & (x[i] < hi)) ? dy[i] : 0.0f;
}

static void relu6_forward(thaw_node *n, const thaw_fwd *f)
{
	clip_job j = {.lo = n->a.lo, .hi = n->a.hi, .x = f->x[0], .out = f->y};
	thaw_parallel_range((size_t)f->B * thaw_shape_sample(n->out), forward_range, &j);
}

static void relu6_backward(thaw_node *n, const thaw_bwd *b)
{
	if (!b->dx[0])
		return;
	clip_job j = {.lo = n->a.lo, .hi = n->a.hi, .x = b->x[0], .dy = b->dy, .out = b->dx[0], .acc = b->acc[0]};
	thaw_parallel_range((size_t)b->B * thaw_shape_sample(n->out), backward_range, &j);
}

static void relu6_describe(const thaw_node *n, char *buf, size_t size)
{
	snprintf(buf, size, "clip %g..%g", n->a.lo, n->a.hi);
}

const thaw_layer_ops thaw_relu6_ops = {
	.name = "relu6",
	.setup = relu6_setup,
	.forward = relu6_forward,
	.backward = relu6_backward,
	.describe = relu6_describe,
};
