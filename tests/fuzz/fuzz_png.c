/* PNG images from memory, at full size and header only through the
 * format sniffer. */
#include "fuzz.h"
#include "thaw/image.h"
#include "thaw/png.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *px = NULL;
	int c, h, w;
	if (thaw_png_read_mem(data, size, "fuzz.png", &px, &c, &h, &w) < 0) {
		fuzz_expect_named("fuzz.png: ");
		if (px)
			abort();
		return 0;
	}
	if ((c != 1 && c != 3) || h <= 0 || w <= 0 || (long long)h * w > THAW_IMAGE_MAX_PIXELS)
		abort();
	volatile uint8_t sum = 0; /* touch every pixel: ASan checks the size */
	for (size_t i = 0; i < (size_t)c * h * w; i++)
		sum += px[i];
	(void)sum;
	free(px);
	return 0;
}
