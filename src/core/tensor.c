/* Tensor allocation and comparison helpers. */
#include "thaw/tensor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "thaw/core.h"

char *thaw_shape_str(thaw_shape s, char *buf, size_t size)
{
	if (s.h == 1 && s.w == 1)
		snprintf(buf, size, "%d", s.c);
	else
		snprintf(buf, size, "%dx%dx%d", s.c, s.h, s.w);
	return buf;
}

thaw_tensor *thaw_tensor_new(int n, int c, int h, int w)
{
	if (n <= 0 || c <= 0 || h <= 0 || w <= 0) {
		thaw_error(THAW_EINVAL, "tensor shape %dx%dx%dx%d is not positive", n, c, h, w);
		return NULL;
	}
	size_t count = (size_t)n * c * h * w;
	if (count / n / c / h != (size_t)w || count > ((size_t)1 << 40)) {
		thaw_error(THAW_EINVAL, "tensor shape %dx%dx%dx%d is too large", n, c, h, w);
		return NULL;
	}
	thaw_tensor *t = thaw_calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->data = thaw_aligned(count * sizeof(float));
	if (!t->data) {
		free(t);
		return NULL;
	}
	memset(t->data, 0, count * sizeof(float));
	t->shape = (thaw_shape){n, c, h, w};
	return t;
}

void thaw_tensor_free(thaw_tensor *t)
{
	if (!t)
		return;
	free(t->data);
	free(t);
}

float thaw_max_rel_diff(const float *a, const float *b, size_t n)
{
	float worst = 0;
	for (size_t i = 0; i < n; i++) {
		float d = fabsf(a[i] - b[i]);
		float s = fmaxf(1.0f, fmaxf(fabsf(a[i]), fabsf(b[i])));
		if (isnan(d))
			return NAN;
		if (d / s > worst)
			worst = d / s;
	}
	return worst;
}
