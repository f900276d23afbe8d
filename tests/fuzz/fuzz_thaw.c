/* .thaw model files from memory; a model that loads runs one forward pass.
 * Every section carries a CRC-32, so most mutants would stop there: when
 * the first byte is odd, the harness repairs the CRCs first (as the seeded
 * mutation fuzzer does) and the header's text and the tensors get fuzzed. */
#include <zlib.h>

#include "thaw/modelfile.h"
#include "fuzz.h"

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Layout: magic (8), version (4), section count (4), then per section
 * tag (8), length (8), the bytes, CRC-32 (4, little-endian). */
static void repair_crcs(uint8_t *b, size_t n)
{
	size_t at = 16;
	while (at + 16 <= n) {
		uint64_t len = get64(b + at + 8);
		at += 16;
		if (len > n - at || n - at - len < 4)
			return;
		uint32_t c = (uint32_t)crc32(crc32(0L, Z_NULL, 0), b + at, (uInt)len);
		at += (size_t)len;
		for (int i = 0; i < 4; i++)
			b[at + i] = (uint8_t)(c >> (8 * i));
		at += 4;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t *b = malloc(size);
	if (!b)
		return 0;
	memcpy(b, data + 1, size - 1);
	if (data[0] & 1)
		repair_crcs(b, size - 1);
	thaw_train_state st;
	thaw_model *m = thaw_model_load_mem(b, size - 1, "fuzz.thaw", &st);
	free(b);
	if (!m) {
		fuzz_expect_named("fuzz.thaw: ");
		return 0;
	}
	fuzz_run_and_free(m);
	return 0;
}
