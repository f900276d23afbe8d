/* SGD (momentum, Nesterov), Adam and AdamW with PyTorch's update rules,
 * weight decay, global-norm clipping and per-node learning-rate multipliers. */
#include <math.h>
#include <string.h>

#include "thaw/parallel.h"
#include "thaw/train.h"

static const char *const optim_names[] = {"sgd", "adam", "adamw"};

const char *thaw_optim_name(thaw_optim_kind k)
{
	return (k >= THAW_SGD && k <= THAW_ADAMW) ? optim_names[k] : "?";
}

int thaw_optim_from_name(const char *name)
{
	for (int k = 0; name && k < 3; k++)
		if (strcmp(name, optim_names[k]) == 0)
			return k;
	return -1;
}

thaw_optim thaw_optim_default(thaw_optim_kind kind)
{
	thaw_optim o = {.kind = kind, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
	if (kind == THAW_SGD) {
		o.lr = 0.01f;
		o.momentum = 0.9f;
	} else {
		o.lr = 1e-3f;
		o.weight_decay = kind == THAW_ADAMW ? 0.01f : 0.0f;
	}
	return o;
}

int thaw_optim_check(const thaw_optim *o)
{
	if (!o || o->kind < THAW_SGD || o->kind > THAW_ADAMW)
		return thaw_error(THAW_EINVAL, "optimizer: unknown kind");
	if (!(o->lr >= 0) || !isfinite(o->lr))
		return thaw_error(THAW_EINVAL, "optimizer: learning rate %g must be >= 0", o->lr);
	if (!(o->momentum >= 0 && o->momentum < 1))
		return thaw_error(THAW_EINVAL, "optimizer: momentum %g outside [0, 1)", o->momentum);
	if (o->nesterov && o->momentum == 0)
		return thaw_error(THAW_EINVAL, "optimizer: Nesterov needs momentum > 0");
	if (!(o->beta1 >= 0 && o->beta1 < 1) || !(o->beta2 >= 0 && o->beta2 < 1))
		return thaw_error(THAW_EINVAL, "optimizer: betas (%g, %g) outside [0, 1)", o->beta1, o->beta2);
	if (!(o->eps > 0))
		return thaw_error(THAW_EINVAL, "optimizer: eps %g must be > 0", o->eps);
	if (!(o->weight_decay >= 0) || !(o->clip_norm >= 0))
		return thaw_error(THAW_EINVAL, "optimizer: weight decay and clip norm must be >= 0");
	return 0;
}

/* Nodes whose gradients the last backward wrote. */
static int fresh(const thaw_node *n) { return n->trainable && n->bw && thaw_node_has_weights(n); }

/* One parameter's update over [lo, hi): elements are independent, so any
 * split gives the same bits. */
typedef struct upd {
	const thaw_optim *o;
	thaw_param *p;
	float a, scale, bc1, bc2;
} upd;

/* Adam's loop with restrict pointers and no branch inside: vectorised
 * (sqrtf too: the Makefile builds this file with -fno-math-errno). */
static void adam_range(float *restrict w, float *restrict mo, float *restrict v,
				   const float *restrict g, int lo, int hi, const upd *u)
{
	const thaw_optim *o = u->o;
	const float a = u->a, scale = u->scale, wd = o->weight_decay, eps = o->eps;
	const float b1 = o->beta1, b2 = o->beta2, step = a / u->bc1, rbc2 = 1.0f / sqrtf(u->bc2);
	const float c1 = 1.0f - b1, c2 = 1.0f - b2;
	const int decoupled = o->kind == THAW_ADAMW; /* AdamW: decay on w, else L2 in the gradient */
#define ADAM(gj)                                                   \
	do {                                                       \
		mo[j] = b1 * mo[j] + c1 * (gj);                    \
		v[j] = b2 * v[j] + c2 * (gj) * (gj);               \
		w[j] -= step * mo[j] / (sqrtf(v[j]) * rbc2 + eps); \
	} while (0)
	if (decoupled)
		for (int j = lo; j < hi; j++) {
			w[j] -= a * wd * w[j];
			float gj = g[j] * scale;
			ADAM(gj);
		}
	else
		for (int j = lo; j < hi; j++) {
			float gj = g[j] * scale + wd * w[j];
			ADAM(gj);
		}
#undef ADAM
}

static void update_range(int lo, int hi, void *user)
{
	const upd *u = user;
	const thaw_optim *o = u->o;
	float *w = u->p->w, *mo = u->p->m;
	const float *g = u->p->g;
	const float a = u->a, scale = u->scale, wd = o->weight_decay;
	if (o->kind != THAW_SGD) {
		adam_range(w, mo, u->p->v, g, lo, hi, u);
		return;
	}
	for (int j = lo; j < hi; j++) {
		float gj = g[j] * scale + wd * w[j];
		if (o->momentum > 0) {
			mo[j] = o->momentum * mo[j] + gj;
			gj = o->nesterov ? gj + o->momentum * mo[j] : mo[j];
		}
		w[j] -= a * gj;
	}
}

/* The listed rows [lo, hi) of a row-sparse parameter: rows are distinct,
 * so any split gives the same bits. */
typedef struct sparse_upd {
	upd *u;
	const int32_t *rows;
	int D;
} sparse_upd;

static void update_rows(int lo, int hi, void *user)
{
	const sparse_upd *s = user;
	for (int r = lo; r < hi; r++)
		update_range(s->rows[r] * s->D, (s->rows[r] + 1) * s->D, s->u);
}

/* Sum of squares in a fixed number of chunks added in order: the same
 * result for any thread count. */
#define NORM_CHUNKS 16
typedef struct sq {
	const float *g;
	size_t n;
	double part[NORM_CHUNKS];
} sq;

/* Eight double accumulators in a fixed order: vectorised, and a chain of
 * dependent adds no longer sets the pace (the same bits for any thread
 * count, as the chunks are). */
static double sumsq_range(const float *restrict g, size_t a, size_t b)
{
	double acc[8] = {0};
	size_t j = a;
	for (; j + 8 <= b; j += 8)
		for (int l = 0; l < 8; l++)
			acc[l] += (double)g[j + l] * g[j + l];
	double s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
	for (; j < b; j++)
		s += (double)g[j] * g[j];
	return s;
}

static void sumsq_chunk(int lo, int hi, void *user)
{
	sq *q = user;
	for (int c = lo; c < hi; c++) {
		size_t a = q->n * (size_t)c / NORM_CHUNKS, b = q->n * (size_t)(c + 1) / NORM_CHUNKS;
		q->part[c] = sumsq_range(q->g, a, b);
	}
}

static double sumsq(const float *g, size_t n)
{
	sq q = {.g = g, .n = n};
	if (n < (1u << 16))
		sumsq_chunk(0, NORM_CHUNKS, &q);
	else
		thaw_parallel_for(NORM_CHUNKS, sumsq_chunk, &q);
	double s = 0;
	for (int c = 0; c < NORM_CHUNKS; c++)
		s += q.part[c];
	return s;
}

int thaw_optim_step(const thaw_optim *o, thaw_model *m, float lr, float *grad_norm)
{
	int rc = thaw_optim_check(o);
	if (rc < 0)
		return rc;
	double ss = 0;
	for (int i = 0; i < m->n; i++) {
		thaw_node *n = m->nodes[i];
		if (!fresh(n))
			continue;
		for (int k = 0; k < n->np; k++) {
			if (n->p[k].is_buffer)
				continue;
			if (k == 0 && n->rows) { /* row-sparse: zero outside the listed rows */
				size_t D = n->p[0].size / (size_t)n->p[0].dims[0];
				for (int r = 0; r < n->n_rows; r++)
					ss += sumsq(n->p[0].g + (size_t)n->rows[r] * D, D);
				continue;
			}
			ss += sumsq(n->p[k].g, n->p[k].size);
		}
	}
	float norm = (float)sqrt(ss);
	if (grad_norm)
		*grad_norm = norm;
	float scale = (o->clip_norm > 0 && norm > o->clip_norm) ? o->clip_norm / norm : 1.0f;
	for (int i = 0; i < m->n; i++) {
		thaw_node *n = m->nodes[i];
		if (!fresh(n))
			continue;
		if (thaw_node_alloc_opt_state(n) < 0)
			return THAW_ENOMEM;
		n->opt_t++;
		upd u = {.o = o, .a = lr * n->lr_mult, .scale = scale,
			 .bc1 = 1.0f - powf(o->beta1, (float)n->opt_t),
			 .bc2 = 1.0f - powf(o->beta2, (float)n->opt_t)};
		/* A rate of 0 (lr_mult 0) still moves the moments, as PyTorch's
		 * optimizers do. Skipping them while opt_t counted the step made
		 * Adam's first step after the rate rose about 3x too large (zero
		 * moments, bias correction near 1) and lost SGD's momentum. */
		for (int k = 0; k < n->np; k++) {
			if (n->p[k].is_buffer)
				continue;
			u.p = &n->p[k];
			if (k == 0 && n->rows) {
				/* row-sparse (an embedding): only the rows this batch
				 * touched move, moments included, as PyTorch's SparseAdam
				 * and TensorFlow's LazyAdam do */
				sparse_upd su = {.u = &u, .rows = n->rows, .D = (int)(u.p->size / (size_t)u.p->dims[0])};
				if ((size_t)n->n_rows * (size_t)su.D < (1u << 15))
					update_rows(0, n->n_rows, &su);
				else
					thaw_parallel_for(n->n_rows, update_rows, &su);
				continue;
			}
			if (u.p->size < (1u << 15))
				update_range(0, (int)u.p->size, &u);
			else
				thaw_parallel_for((int)u.p->size, update_range, &u);
		}
	}
	return 0;
}
