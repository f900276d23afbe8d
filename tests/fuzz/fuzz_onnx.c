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
	fuzz_run_and_free(m);
	return 0;
}
