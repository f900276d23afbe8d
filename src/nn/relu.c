/* relu: y = max(x, 0). Large batches are split over the pool in blocks of
 * values; elementwise, so the split never changes a result. */
#include "thaw/layer.h"
#include "thaw/parallel.h"

enum { BLOCK = 4096, PAR_MIN = 32768 }; /* below PAR_MIN values waking threads costs more */

typedef struct relu_job {
	size_t N;
	const float *x, *y, *dy;
	float *out;
	int acc;
} relu_job;

static void block_range(const relu_job *j, int lo, int hi, size_t *a, size_t *b)
{
	*a = (size_t)lo * BLOCK;
	*b = (size_t)hi * BLOCK < j->N ? (size_t)hi * BLOCK : j->N;
}

static void forward_blocks(int lo, int hi, void *user)
{
	const relu_job *j = user;
	size_t a, b;
	block_range(j, lo, hi, &a, &b);
	const float *x = j->x;
	float *y = j->out;
	for (size_t i = a; i < b; i++)
		y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static void backward_blocks(int lo, int hi, void *user)
{
	const relu_job *j = user;
	size_t a, b;
	block_range(j, lo, hi, &a, &b);
	const float *y = j->y, *dy = j->dy;
	float *dx = j->out;
	if (j->acc)
		for (size_t i = a; i < b; i++)
			dx[i] += y[i] > 0.0f ? dy[i] : 0.0f;
	else
		for (size_t i = a; i < b; i++)
			dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

static void run(const relu_job *j, thaw_parallel_fn fn)
{
	int blocks = (int)((j->N + BLOCK - 1) / BLOCK);
	if (j->N < PAR_MIN)
		fn(0, blocks, (void *)j);
	else
		thaw_parallel_for(blocks, fn, (void *)j);
}

static void relu_forward(thaw_node *n, const thaw_fwd *f)
{
	relu_job j = {.N = (size_t)f->B * thaw_shape_sample(n->out), .x = f->x[0], .out = f->y};
	run(&j, forward_blocks);
}

static void relu_backward(thaw_node *n, const thaw_bwd *b)
{
	if (!b->dx[0])
		return;
	relu_job j = {.N = (size_t)b->B * thaw_shape_sample(n->out), .y = b->y, .dy = b->dy,
		      .out = b->dx[0], .acc = b->acc[0]};
	run(&j, backward_blocks);
}

const thaw_layer_ops thaw_relu_ops = {
	.name = "relu",
	.setup = thaw_same_shape_setup,
	.forward = relu_forward,
	.backward = relu_backward,
};
