/* Reading ONNX TensorProto files (.pb: the backend-test layout of inputs,
 * outputs and expected values) in tests. */
#ifndef THAW_TEST_ONNX_PB_H
#define THAW_TEST_ONNX_PB_H

#include <stdio.h>
#include <stdlib.h>

#include "onnx.pb-c.h"

/* The tensor in path (free with onnx__tensor_proto__free_unpacked), or
 * NULL when it cannot be read or decoded. */
static inline Onnx__TensorProto *read_tensor(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
	Onnx__TensorProto *t = NULL;
	if (b && n >= 0 && fread(b, 1, (size_t)n, f) == (size_t)n)
		t = onnx__tensor_proto__unpack(NULL, (size_t)n, b);
	free(b);
	fclose(f);
	return t;
}

/* Elements of t: the product of its dims. */
static inline size_t tensor_count(const Onnx__TensorProto *t)
{
	size_t c = 1;
	for (size_t i = 0; i < t->n_dims; i++)
		c *= (size_t)t->dims[i];
	return c;
}

#endif
