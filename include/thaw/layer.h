/* thaw layers, for the people who write them: the arguments of one forward
 * and backward call, the table of operations each kind fills (one file per
 * kind under src/nn/) and the helpers those files share. Users of the graph
 * need only model.h; only src/nn (and tests of layer arithmetic) include
 * this header, a rule scripts/check-layers enforces.
 *
 *   const thaw_layer_ops *o = thaw_layer_ops_of(THAW_RELU);
 *   thaw_fwd f = {.B = B, .x = {x}, .y = y};             // x, y: (B, out)
 *   o->forward(node, &f);
 *
 * Buffers in thaw_fwd and thaw_bwd are borrowed for the call; scratch is
 * sized by ops->scratch and owned by the caller (the model's arena). */
#ifndef THAW_LAYER_H
#define THAW_LAYER_H

#include <stdio.h>

#include "thaw/model.h"

/* Arguments of one forward / backward call. */
typedef struct thaw_fwd {
	int B;
	int training; /* batch statistics, dropout */
	const float *x[THAW_MAX_INPUTS];
	float *y;
	void *scratch;
	thaw_rng *rng;
	/* conv2d, inference passes: an inference-mode batch norm folded in,
	 * y = (conv + post[c]) * post[C + c] + post[2C + c], then the ReLU if
	 * post_relu (thaw_batchnorm_fold); NULL: none */
	const float *post;
	int post_relu;
	/* with post, instead of post_relu: the batch norm's fused relu6 (a
	 * clip), y = min(max(y, post_lo), post_hi), NaN to post_lo; 0: none.
	 * Only on paths thaw_conv2d_can_fold allows it (THAW_FOLD_CLIP). */
	int post_clip;
	float post_lo, post_hi;
} thaw_fwd;

typedef struct thaw_bwd {
	int B;
	const float *x[THAW_MAX_INPUTS];
	const float *y, *dy;
	float *dx[THAW_MAX_INPUTS]; /* NULL: that input needs no gradient */
	int acc[THAW_MAX_INPUTS];   /* add into dx instead of overwriting */
	int weight_grad;            /* write p[].g (overwrite) */
	void *scratch;
} thaw_bwd;

/* One table per layer kind, each in its own file under src/nn/. */
typedef struct thaw_layer_ops {
	const char *name;
	/* Checks attributes against the input shapes; sets n->out and the
	 * parameter names and dims (n->np, p[i].name, ndim, dims, is_buffer).
	 * On a mismatch the message names the node and both shapes. */
	int (*setup)(thaw_node *n, const thaw_shape *in, int n_in);
	void (*init)(thaw_node *n, thaw_rng *rng);           /* NULL: nothing to fill */
	size_t (*scratch)(const thaw_node *n, int B, int training); /* NULL: none */
	/* 1: scratch holds nothing from forward to backward (a work area), so
	 * the plan gives every such node one shared block of the largest size */
	int scratch_shared;
	/* 1: p[0]'s gradient is row-sparse (thaw_node.rows), as an embedding's */
	int sparse_rows;
	void (*forward)(thaw_node *n, const thaw_fwd *f);
	void (*backward)(thaw_node *n, const thaw_bwd *b);
	void (*describe)(const thaw_node *n, char *buf, size_t size); /* "3x3 s1 p1 1->32" */
} thaw_layer_ops;

const thaw_layer_ops *thaw_layer_ops_of(thaw_kind k);

/* He (normal, std sqrt(2/fan_in)) or Glorot (uniform, sqrt(6/(in+out)))
 * weights, per n->a.init. */
void thaw_init_weights(float *w, size_t count, int fan_in, int fan_out, int init, thaw_rng *rng);

/* Declares parameter i of n with the given dims (up to 4; trailing 0s end). */
void thaw_param_decl(thaw_node *n, int i, const char *name, int is_buffer, int d0, int d1, int d2,
		     int d3);

/* Standard check for single-input kinds. */
int thaw_expect_inputs(const thaw_node *n, int n_in, int want);

/* Elementwise kinds share setup (out = in) and describe (empty). */
int thaw_same_shape_setup(thaw_node *n, const thaw_shape *in, int n_in);

/* Shape checks and output size of maxpool and avgpool (kernel, stride,
 * padding smaller than the kernel, ceil_mode). */
int thaw_pool_setup(thaw_node *n, const thaw_shape *in, int n_in);

/* Folding an inference-mode batch norm into the convolution before it:
 * what conv node n can apply in its output pass (0 for any other node:
 * THAW_FOLD_BN, the batch norm and the ReLU fused into it, on every path;
 * | THAW_FOLD_CLIP, also a clip after the batch norm, on every path but
 * Winograd), and the batch norm's running statistics as (3, C) in its
 * scratch: conv bias - mean, gamma / sqrt(var + eps), beta. */
enum { THAW_FOLD_BN = 1, THAW_FOLD_CLIP = 2 };
int thaw_conv2d_can_fold(const thaw_node *n);
const float *thaw_batchnorm_fold(thaw_node *bn, const float *conv_bias);

/* dx = g or dx += g, per acc. */
static inline void thaw_put(float *dx, size_t i, float g, int acc) { dx[i] = acc ? dx[i] + g : g; }

#endif
