/* Internal helpers shared by the layer files in src/nn/ (not public). */
#ifndef THAW_NN_LAYER_H
#define THAW_NN_LAYER_H

#include <stdio.h>

#include "thaw/model.h"

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

/* dx = g or dx += g, per acc. */
static inline void thaw_put(float *dx, size_t i, float g, int acc) { dx[i] = acc ? dx[i] + g : g; }

#endif
