/* IDX image and label files from memory. The input is both: its first two
 * bytes (big-endian) say how many of the rest are the labels file, the
 * images file follows; either may be gzip'd. */
#include "fuzz.h"
#include "thaw/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t nl = (size_t)data[0] << 8 | data[1];
	data += 2, size -= 2;
	if (nl > size)
		nl = size;
	thaw_dataset *d = thaw_idx_load_mem(data + nl, size - nl, "images.idx", data, nl, "labels.idx", 0);
	if (!d) {
		const char *m = thaw_errmsg();
		if (strncmp(m, "images.idx: ", 12) && strncmp(m, "labels.idx: ", 12))
			abort();
		return 0;
	}
	/* every label is a class of the set */
	for (int i = 0; i < d->n; i++)
		if (d->y[i] < 0 || d->y[i] >= d->n_classes)
			abort();
	thaw_dataset_free(d);
	return 0;
}
