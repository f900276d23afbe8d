/* Running the model graph: the activation plan (one arena per batch shape,
 * batch norm + ReLU fusion) and the forward and backward walks, which read
 * the freezing flags at every step. Building and surgery are in model.c. */
#include "thaw/layer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double profile_clock(const thaw_model *m) { return m->profile == 2 ? thaw_cpu_now() : thaw_now(); }

/* ---- plan and run */
/* The node that reads node i's output, when it is the only reader of it
 * (once); else -1. */
static int sole_consumer(const thaw_model *m, int i)
{
	int consumers = 0, at = -1;
	for (int j = i + 1; j < m->n; j++)
		for (int k = 0; k < m->nodes[j]->n_in; k++)
			if (m->nodes[j]->in[k] == i) {
				consumers++;
				at = j;
			}
	return consumers == 1 ? at : -1;
}

/* A batch norm whose only consumer is a ReLU or a relu6 (MobileNetV2's
 * ReLU6, ONNX Clip) applies it itself, and that node shares its buffers:
 * one memory pass less forward and backward, in training too. Decided per
 * plan, i.e. after every change of graph. */
static void fuse_bn_relu(thaw_model *m)
{
	for (int i = 0; i < m->n; i++)
		m->nodes[i]->fused_relu = m->nodes[i]->alias = m->nodes[i]->fold_bn = 0;
	for (int i = 0; i + 1 < m->n; i++) {
		thaw_node *r = m->nodes[i];
		if ((r->kind != THAW_RELU && r->kind != THAW_RELU6) || r->n_in != 1 || r->in[0] < 0)
			continue;
		thaw_node *b = m->nodes[r->in[0]];
		if (b->kind == THAW_BATCHNORM && sole_consumer(m, r->in[0]) == i) {
			b->fused_relu = 1;
			b->act_lo = r->kind == THAW_RELU ? 0.0f : r->a.lo;
			b->act_hi = r->kind == THAW_RELU ? INFINITY : r->a.hi;
			r->alias = 1;
		}
	}
	/* A convolution whose only consumer is a batch norm applies it itself
	 * in inference passes (ResNet, MobileNetV2: every conv), writing the
	 * batch norm's output: one pass over the activations less, two with
	 * the batch norm's ReLU or relu6 (every path takes a ReLU, every path
	 * but Winograd a clip). */
	for (int i = 0; i < m->n; i++) {
		thaw_node *c = m->nodes[i];
		int can = thaw_conv2d_can_fold(c);
		if (!(can & THAW_FOLD_BN))
			continue;
		int bn = sole_consumer(m, i);
		if (bn < 0 || m->nodes[bn]->kind != THAW_BATCHNORM || m->nodes[bn]->n_in != 1)
			continue;
		const thaw_node *b = m->nodes[bn];
		int clip = b->fused_relu && !(b->act_lo == 0.0f && b->act_hi == INFINITY);
		if (!clip || (can & THAW_FOLD_CLIP))
			c->fold_bn = bn + 1;
	}
}

/* ---- gradient buffers: a node's dy lives from the backward of its last
 * consumer (the first to write it) to its own backward (which reads it),
 * i.e. over nodes [i, last consumer]; nodes whose spans do not overlap
 * share memory. Offsets come from a first-fit walk over the backward
 * order; every dy is overwritten before it is read (acc = 0 on the first
 * write), so sharing needs no clearing. ResNet-18 at batch 32 kept 0.7 GB
 * of dy, most of it dead at any moment. */
typedef struct span {
	size_t off, size;
} span;

/* Takes size bytes from the free list (sorted by offset) or the end. */
static size_t dy_alloc(span *free_, int *nfree, size_t *end, size_t size)
{
	int best = -1;
	for (int k = 0; k < *nfree; k++) /* best fit: the smallest hole that fits */
		if (free_[k].size >= size && (best < 0 || free_[k].size < free_[best].size))
			best = k;
	if (best < 0) {
		size_t off = *end;
		*end += size;
		return off;
	}
	size_t off = free_[best].off;
	free_[best].off += size;
	free_[best].size -= size;
	if (free_[best].size == 0) {
		memmove(free_ + best, free_ + best + 1, sizeof(span) * (size_t)(*nfree - best - 1));
		(*nfree)--;
	}
	return off;
}

/* Returns [off, off + size) to the free list, merging with its neighbours. */
static void dy_release(span *free_, int *nfree, size_t off, size_t size)
{
	int k = 0;
	while (k < *nfree && free_[k].off < off)
		k++;
	memmove(free_ + k + 1, free_ + k, sizeof(span) * (size_t)(*nfree - k));
	free_[k] = (span){off, size};
	(*nfree)++;
	if (k + 1 < *nfree && free_[k].off + free_[k].size == free_[k + 1].off) {
		free_[k].size += free_[k + 1].size;
		memmove(free_ + k + 1, free_ + k + 2, sizeof(span) * (size_t)(*nfree - k - 2));
		(*nfree)--;
	}
	if (k > 0 && free_[k - 1].off + free_[k - 1].size == free_[k].off) {
		free_[k - 1].size += free_[k].size;
		memmove(free_ + k, free_ + k + 1, sizeof(span) * (size_t)(*nfree - k - 1));
		(*nfree)--;
	}
}

/* off[i] for every node that owns a dy (not an alias): offsets into one
 * region, whose size is returned; -1 when out of memory. */
static long long plan_dy(const thaw_model *m, int B, size_t *off)
{
	int n = m->n;
	int *owner = malloc(sizeof(int) * (size_t)n), *last = malloc(sizeof(int) * (size_t)n);
	span *free_ = malloc(sizeof(span) * (size_t)(n + 1));
	if (!owner || !last || !free_) {
		free(owner);
		free(last);
		free(free_);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		owner[i] = m->nodes[i]->alias ? owner[m->nodes[i]->in[0]] : i;
		last[i] = i;
	}
	for (int j = 0; j < n; j++)
		for (int k = 0; k < m->nodes[j]->n_in; k++) {
			int src = m->nodes[j]->in[k];
			if (src >= 0 && last[owner[src]] < j)
				last[owner[src]] = j;
		}
	size_t end = 0;
	int nfree = 0;
	for (int t = n - 1; t >= 0; t--) {
		/* before node t's backward: the dy it writes (its inputs' owners,
		 * and its own when nothing consumes it) */
		for (int i = t; i >= 0; i--)
			if (owner[i] == i && last[i] == t)
				off[i] = dy_alloc(free_, &nfree, &end,
						  (B * thaw_shape_sample(m->nodes[i]->out) * sizeof(float) + 63) & ~(size_t)63);
		if (owner[t] == t) /* after it: its own is spent */
			dy_release(free_, &nfree, off[t],
				   (B * thaw_shape_sample(m->nodes[t]->out) * sizeof(float) + 63) & ~(size_t)63);
	}
	free(owner);
	free(last);
	free(free_);
	return (long long)end;
}

int thaw_model_plan(thaw_model *m, int B, int training)
{
	if (!m || B <= 0)
		return thaw_error(THAW_EINVAL, "plan: batch size %d must be positive", B);
	if (m->n == 0)
		return thaw_error(THAW_EINVAL, "the model has no nodes");
	if (m->plan_valid && B <= m->plan_B && (!training || m->plan_training))
		return 0;
	training = training || (m->plan_valid && m->plan_training);
	if (m->plan_valid && B < m->plan_B)
		B = m->plan_B; /* only ever grow */
	thaw_arena_free(&m->arena); /* the first pass measures with no block */
	fuse_bn_relu(m);
	size_t *dy_off = NULL;
	long long dy_bytes = 0;
	if (training) {
		dy_off = malloc(sizeof(size_t) * (size_t)m->n);
		dy_bytes = dy_off ? plan_dy(m, B, dy_off) : -1;
		if (dy_bytes < 0) {
			free(dy_off);
			m->plan_valid = 0;
			return thaw_error(THAW_ENOMEM, "out of memory planning the gradients of batch %d", B);
		}
	}
	for (int pass = 0; pass < 2; pass++) {
		m->arena.used = 0;
		size_t shared = 0; /* the largest work area (ops->scratch_shared) */
		for (int i = 0; i < m->n; i++) {
			thaw_node *n = m->nodes[i];
			const thaw_layer_ops *o = thaw_layer_ops_of(n->kind);
			size_t count = (size_t)B * thaw_shape_sample(n->out);
			if (n->alias) { /* the batch norm before it writes the ReLU's output */
				n->y = m->nodes[n->in[0]]->y;
				n->scratch = NULL;
				continue;
			}
			n->y = thaw_arena_take(&m->arena, count * sizeof(float));
			n->dy = NULL; /* below, from the shared region */
			size_t sb = o->scratch ? o->scratch(n, B, training) : 0;
			if (o->scratch_shared) {
				shared = sb > shared ? sb : shared;
				n->scratch = NULL; /* set below */
				continue;
			}
			n->scratch = sb ? thaw_arena_take(&m->arena, sb) : NULL;
		}
		/* nodes run one at a time: the work areas of ResNet-18's 20
		 * convolutions were 0.6 GB of a 2.2 GB training plan at batch 32 */
		void *work = shared ? thaw_arena_take(&m->arena, shared) : NULL;
		char *dy = training ? thaw_arena_take(&m->arena, (size_t)dy_bytes) : NULL;
		for (int i = 0; dy && i < m->n; i++) {
			thaw_node *n = m->nodes[i];
			n->dy = n->alias ? m->nodes[n->in[0]]->dy : (float *)(dy + dy_off[i]);
		}
		for (int i = 0; i < m->n; i++) {
			thaw_node *n = m->nodes[i];
			const thaw_layer_ops *o = thaw_layer_ops_of(n->kind);
			if (!n->alias && o->scratch_shared && o->scratch && o->scratch(n, B, training))
				n->scratch = work;
		}
		if (pass == 0 && thaw_arena_reserve(&m->arena, m->arena.used) < 0) {
			free(dy_off);
			m->plan_valid = 0;
			return thaw_error(THAW_ENOMEM, "out of memory for activations of batch %d (%zu MB)", B,
					  m->arena.used >> 20);
		}
	}
	free(dy_off);
	m->plan_B = B;
	m->plan_training = training;
	m->plan_valid = 1;
	return 0;
}

int thaw_model_forward(thaw_model *m, const float *x, int B, int training)
{
	if (!m || !x)
		return thaw_error(THAW_EINVAL, "forward: no model or no input");
	return thaw_model_forward_from(m, 0, x, B, training);
}

int thaw_model_static_prefix(const thaw_model *m)
{
	int k = -1;
	while (k + 1 < m->n) {
		const thaw_node *n = m->nodes[k + 1];
		if ((n->trainable && thaw_node_has_weights(n)) || n->kind == THAW_DROPOUT)
			break;
		k++;
	}
	for (; k >= 0; k--) { /* the cut must be the only way into the rest */
		int ok = 1;
		for (int j = k + 1; j < m->n && ok; j++)
			for (int i = 0; i < m->nodes[j]->n_in; i++)
				ok &= m->nodes[j]->in[i] >= k;
		if (ok)
			break;
	}
	return k;
}

int thaw_model_forward_from(thaw_model *m, int first, const float *x, int B, int training)
{
	return thaw_model_forward_range(m, first, m ? m->n - 1 : 0, x, B, training);
}

int thaw_model_forward_range(thaw_model *m, int first, int last, const float *x, int B, int training)
{
	if (!m || first < 0 || first > m->n || last >= m->n)
		return thaw_error(THAW_EINVAL, "forward: no model or nodes %d..%d outside the model", first, last);
	int rc = thaw_model_plan(m, B, training);
	if (rc < 0)
		return rc;
	m->B = B;
	for (int i = first; i <= last; i++) {
		thaw_node *n = m->nodes[i];
		thaw_fwd f = {.B = B, .training = training, .y = n->y, .scratch = n->scratch, .rng = &m->rng};
		if (!training && n->kind == THAW_BATCHNORM && n->in[0] >= first &&
		    m->nodes[n->in[0]]->fold_bn == i + 1) { /* the conv before it applied it */
			n->n_forward++;
			n->bw = 0;
			continue;
		}
		if (!training && n->fold_bn && n->fold_bn - 1 <= last) {
			thaw_node *bn = m->nodes[n->fold_bn - 1];
			f.y = bn->y;
			f.post = thaw_batchnorm_fold(bn, n->a.bias ? n->p[1].w : NULL);
			if (bn->fused_relu && bn->act_lo == 0.0f && bn->act_hi == INFINITY)
				f.post_relu = 1;
			else if (bn->fused_relu)
				f.post_clip = 1, f.post_lo = bn->act_lo, f.post_hi = bn->act_hi;
		}
		for (int j = 0; j < n->n_in; j++) {
			f.x[j] = n->in[j] < 0 ? x : m->nodes[n->in[j]]->y;
			if (!f.x[j])
				return thaw_error(THAW_EINVAL, "forward: node '%s' reads the model input, which is missing",
						  n->name);
		}
		double t0 = m->profile ? profile_clock(m) : 0;
		if (!n->alias)
			thaw_layer_ops_of(n->kind)->forward(n, &f);
		if (m->profile)
			n->t_forward += profile_clock(m) - t0;
		n->n_forward++;
		n->bw = 0;
	}
	m->last_input = x;
	m->last_training = training;
	return 0;
}

int thaw_model_backward(thaw_model *m, const float *dout)
{
	if (!m || !dout || m->n == 0)
		return thaw_error(THAW_EINVAL, "backward: no model or no gradient");
	/* an inference pass keeps less for backward (maxpool's argmax) */
	if (!m->plan_training || !m->last_training)
		return thaw_error(THAW_EINVAL, "backward: the last forward pass was not a training pass");
	/* A node needs backward when it has trainable weights or one of its
	 * inputs does (autograd's rule): nothing below the lowest trainable
	 * node runs. Decided afresh each step, so freezing applies at once. */
	for (int i = 0; i < m->n; i++) {
		thaw_node *n = m->nodes[i];
		int need = n->trainable && thaw_node_has_weights(n);
		for (int j = 0; j < n->n_in; j++) {
			int src = n->in[j];
			n->need_dx[j] = src >= 0 && m->nodes[src]->bw;
			need |= n->need_dx[j];
		}
		n->bw = need;
		n->dy_set = 0;
	}
	int last = m->n - 1;
	for (int i = last; i >= 0; i--) {
		thaw_node *n = m->nodes[i];
		if (!n->bw)
			continue;
		if (i != last && !n->dy_set) {
			n->bw = 0; /* its output does not reach the loss */
			continue;
		}
		if (n->alias) { /* its batch norm masks the gradient itself */
			m->nodes[n->in[0]]->dy_set = 1;
			n->n_backward++;
			continue;
		}
		thaw_bwd b = {.B = m->B,
			      .y = n->y,
			      .dy = i == last ? dout : n->dy,
			      .weight_grad = n->trainable && thaw_node_has_weights(n),
			      .scratch = n->scratch};
		for (int j = 0; j < n->n_in; j++) {
			int src = n->in[j];
			b.x[j] = src < 0 ? m->last_input : m->nodes[src]->y;
			if (n->need_dx[j]) {
				thaw_node *s = m->nodes[src];
				b.dx[j] = s->dy;
				b.acc[j] = s->dy_set;
				s->dy_set = 1;
			}
		}
		/* the same input twice (x + x): the second use adds */
		for (int j = 1; j < n->n_in; j++)
			for (int k = 0; k < j; k++)
				if (b.dx[j] && n->in[j] == n->in[k] && b.dx[k])
					b.acc[j] = 1;
		double t0 = m->profile ? profile_clock(m) : 0;
		thaw_layer_ops_of(n->kind)->backward(n, &b);
		if (m->profile)
			n->t_backward += profile_clock(m) - t0;
		n->n_backward++;
		if (b.weight_grad)
			n->n_weight_grad++;
	}
	return 0;
}

const float *thaw_model_output(const thaw_model *m)
{
	return (m && m->n) ? m->nodes[m->n - 1]->y : NULL;
}

thaw_shape thaw_model_output_shape(const thaw_model *m)
{
	return (m && m->n) ? m->nodes[m->n - 1]->out : (thaw_shape){0, 0, 0, 0};
}

int thaw_model_class_count(const thaw_model *m)
{
	if (!m || m->n == 0)
		return thaw_error(THAW_EINVAL, "the model has no nodes, so no outputs: add layers and a head");
	thaw_shape s = thaw_model_output_shape(m);
	int wide = (s.c > 1) + (s.h > 1) + (s.w > 1);
	if (wide > 1) {
		char b[64];
		return thaw_error(THAW_ESHAPE,
				  "model output is %s, not a vector of class scores: add a head "
				  "(m:add(thaw.nn.dense{units=N}) or thaw edit --head N)",
				  thaw_shape_str(s, b, sizeof b));
	}
	return (int)thaw_shape_sample(s);
}
