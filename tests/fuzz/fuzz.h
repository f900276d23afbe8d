/* Shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c): each defines
 * LLVMFuzzerTestOneInput for one loader, which takes the bytes from memory
 * (the _mem entry points), so a run writes no files (the folder harness
 * excepted). The promise checked is the loaders': an object that works,
 * or NULL with a message naming the source; libFuzzer with ASan and UBSan
 * reports anything else. Built and run by `make fuzz` and `make fuzz-check`. */
#ifndef THAW_FUZZ_H
#define THAW_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "thaw/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failed load must say what failed, starting with the name it was given. */
static inline void fuzz_expect_named(const char *name)
{
	const char *m = thaw_errmsg();
	if (!m || strncmp(m, name, strlen(name)) != 0)
		abort();
}

/* Whether one forward pass is cheap enough to run on every input: a valid
 * model may still be huge (64 MB of activations is within thaw's limits,
 * and slow under ASan). */
#ifdef THAW_MODEL_H
static inline int fuzz_runnable(const thaw_model *m)
{
	uint64_t values = (uint64_t)m->input.c * m->input.h * m->input.w, params = 0;
	for (int i = 0; i < m->n; i++) {
		values += (uint64_t)m->nodes[i]->out.c * m->nodes[i]->out.h * m->nodes[i]->out.w;
		params += thaw_node_param_count(m->nodes[i]);
	}
	return values <= (1 << 18) && params <= (1 << 20) && values * (params + 1) <= ((uint64_t)1 << 28);
}

/* A model that loaded: one forward pass on zeros when it is small enough,
 * then freed. */
static inline void fuzz_run_and_free(thaw_model *m)
{
	float *x = fuzz_runnable(m) ? calloc((size_t)m->input.c * m->input.h * m->input.w, sizeof *x) : NULL;
	if (x)
		thaw_model_forward(m, x, 1, 0);
	free(x);
	thaw_model_free(m);
}
#endif

/* Forged sizes fail as the loaders' own checks say, not by ASan's abort. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1:detect_leaks=1"; }

#endif
