/* relu: y = max(x, 0), split over the pool (thaw_parallel_range). */
#include "thaw/layer.h"
#include "thaw/parallel.h"

typedef struct relu_job {
	const float *x, *y, *dy;
	float *out;
	int acc;
} relu_job;

static void forward_range(size_t a, size_t b, void *user)
{
	const relu_job *j = user;
	const float *x = j->x;
	float *y = j->out;
	for (size_t i = a; i < b; i++)
		y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static void backward_range(size_t a, size_t b, void *user)
{
	const relu_job *j = user;
	const float *y = j->y, *dy = j->dy;
	float *dx = j->out;
	if (j->acc)
		for (size_t i = a; i < b; i++)
			dx[i] += y[i] > 0.0f ? dy[i] : 0.0f;
	else
		for (size_t i = a; i < b; i++)
			dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

static void relu_forward(thaw_node *n, const thaw_fwd *f)
{
	relu_job j = {.x = f->x[0], .out = f->y};
	thaw_parallel_range((size_t)f->B * thaw_shape_sample(n->out), forward_range, &j);
}

static void relu_backward(thaw_node *n, const thaw_bwd *b)
{
	if (!b->dx[0])
		return;
	relu_job j = {.y = b->y, .dy = b->dy, .out = b->dx[0], .acc = b->acc[0]};
	thaw_parallel_range((size_t)b->B * thaw_shape_sample(n->out), backward_range, &j);
}

const thaw_layer_ops thaw_relu_ops = {
	.name = "relu",
	.setup = thaw_same_shape_setup,
	.forward = relu_forward,
	.backward = relu_backward,
};
