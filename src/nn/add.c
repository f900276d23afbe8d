/* add: y = x0 + x1 + ... over inputs of one shape (residual connections,
 * ONNX Add / Sum without broadcasting). */
#include <string.h>

#include "thaw/layer.h"
#include "thaw/parallel.h"

static int add_setup(thaw_node *n, const thaw_shape *in, int n_in)
{
	if (n_in < 2)
		return thaw_error(THAW_EINVAL, "node '%s' (add): takes 2 or more inputs, got %d", n->name,
				  n_in);
	for (int j = 1; j < n_in; j++)
		if (in[j].c != in[0].c || in[j].h != in[0].h || in[j].w != in[0].w) {
			char b0[64], bj[64];
			return thaw_error(THAW_ESHAPE, "node '%s' (add): input %d is %s but input 0 is %s", n->name,
					  j, thaw_shape_str(in[j], bj, sizeof bj),
					  thaw_shape_str(in[0], b0, sizeof b0));
		}
	n->out = in[0];
	return 0;
}

/* Both passes split over the pool (thaw_parallel_range). */
typedef struct add_job {
	const thaw_node *n;
	const float *const *x;
	float *y;
	const float *dy;
	float *const *dx;
	const int *acc;
} add_job;

static void forward_range(size_t a, size_t b, void *user)
{
	const add_job *j = user;
	float *y = j->y;
	const float *x0 = j->x[0], *x1 = j->x[1];
	for (size_t i = a; i < b; i++)
		y[i] = x0[i] + x1[i];
	for (int k = 2; k < j->n->n_in; k++) {
		const float *x = j->x[k];
		for (size_t i = a; i < b; i++)
			y[i] += x[i];
	}
}

static void add_forward(thaw_node *n, const thaw_fwd *f)
{
	add_job j = {.n = n, .x = f->x, .y = f->y};
	thaw_parallel_range((size_t)f->B * thaw_shape_sample(n->out), forward_range, &j);
}

static void backward_range(size_t a, size_t b, void *user)
{
	const add_job *j = user;
	// in order: when two inputs are the same node the model sets acc on the later one
	for (int k = 0; k < j->n->n_in; k++) {
		float *dx = j->dx[k];
		if (!dx)
			continue;
		if (j->acc[k])
			for (size_t i = a; i < b; i++)
				dx[i] += j->dy[i];
		else
			memcpy(dx + a, j->dy + a, (b - a) * sizeof(float));
	}
}

static void add_backward(thaw_node *n, const thaw_bwd *b)
{
	add_job j = {.n = n, .dy = b->dy, .dx = b->dx, .acc = b->acc};
	thaw_parallel_range((size_t)b->B * thaw_shape_sample(n->out), backward_range, &j);
}

static void add_describe(const thaw_node *n, char *buf, size_t size)
{
	snprintf(buf, size, "%d inputs", n->n_in);
}

const thaw_layer_ops thaw_add_ops = {
	.name = "add",
	.setup = add_setup,
	.forward = add_forward,
	.backward = add_backward,
	.describe = add_describe,
};
