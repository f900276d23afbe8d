/* ONNX models from memory; a model that imports runs one forward pass. */
#include "thaw/onnx.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	thaw_onnx_info info;
	thaw_model *m = thaw_onnx_import_mem(data, size, "fuzz.onnx", &info);
	if (!m) {
		fuzz_expect_named("fuzz.onnx: ");
		return 0;
	}
	float *x = fuzz_runnable(m) ? calloc((size_t)m->input.c * m->input.h * m->input.w, sizeof *x) : NULL;
	if (x)
		thaw_model_forward(m, x, 1, 0);
	free(x);
	thaw_model_free(m);
	return 0;
}
