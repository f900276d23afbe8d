/* thaw tensors: float32, NCHW, row-major. A thaw_tensor owns its data when
 * made by thaw_tensor_new and is freed with thaw_tensor_free; layer kernels
 * work on raw float pointers plus a thaw_shape. */
#ifndef THAW_TENSOR_H
#define THAW_TENSOR_H

#include <stddef.h>

/* n is the batch; a per-sample shape has n = 1. Dense outputs are [n,c,1,1]. */
typedef struct thaw_shape {
	int n, c, h, w;
} thaw_shape;

static inline size_t thaw_shape_sample(thaw_shape s) { return (size_t)s.c * s.h * s.w; }
static inline size_t thaw_shape_count(thaw_shape s) { return (size_t)s.n * s.c * s.h * s.w; }
/* Writes "32x28x28" (per sample) into buf; returns buf. */
char *thaw_shape_str(thaw_shape s, char *buf, size_t size);

typedef struct thaw_tensor {
	float *data; /* (n, c, h, w), 64-byte aligned */
	thaw_shape shape;
} thaw_tensor;

thaw_tensor *thaw_tensor_new(int n, int c, int h, int w); /* zeroed; NULL on error */
void thaw_tensor_free(thaw_tensor *t);
/* Largest |a-b| / max(1, |a|, |b|) over n elements (tests compare with it). */
float thaw_max_rel_diff(const float *a, const float *b, size_t n);

#endif
