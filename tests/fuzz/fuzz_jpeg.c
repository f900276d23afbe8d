/* JPEG images from memory, at full size and DCT-scaled (the first byte
 * picks the minimum size, so both paths are explored). */
#include "fuzz.h"
#include "thaw/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int min = data[0] & 0x3f; /* 0: full size */
	uint8_t *px = NULL;
	int c, h, w;
	if (thaw_jpeg_read_mem(data + 1, size - 1, "fuzz.jpg", min, min, &px, &c, &h, &w) < 0) {
		fuzz_expect_named("fuzz.jpg: ");
		if (px)
			abort();
		return 0;
	}
	if ((c != 1 && c != 3) || h <= 0 || w <= 0 || (long long)h * w > THAW_IMAGE_MAX_PIXELS)
		abort();
	volatile uint8_t sum = 0;
	for (size_t i = 0; i < (size_t)c * h * w; i++)
		sum += px[i];
	(void)sum;
	free(px);
	return 0;
}
