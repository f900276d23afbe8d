/* Image folders: the input is a small tree written to a temporary folder
 * and loaded as a data set. Records follow each other: one byte whose low
 * two bits pick the class folder (a..d) and whose next bit picks the
 * extension (.png or .jpg), two bytes of length (big-endian), then the
 * file's bytes. At most 8 files; the folder is emptied before each input. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "thaw/data.h"

static char root[64];

static void clean(void)
{
	char p[128];
	for (int k = 0; k < 4; k++) {
		for (int i = 0; i < 8; i++) {
			snprintf(p, sizeof p, "%s/%c/%d.png", root, 'a' + k, i);
			unlink(p);
			snprintf(p, sizeof p, "%s/%c/%d.jpg", root, 'a' + k, i);
			unlink(p);
		}
		snprintf(p, sizeof p, "%s/%c", root, 'a' + k);
		rmdir(p);
	}
}

static void remove_root(void)
{
	clean();
	rmdir(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!root[0]) {
		snprintf(root, sizeof root, "/tmp/thaw-fuzz-folder.XXXXXX");
		if (!mkdtemp(root))
			abort();
		atexit(remove_root);
	}
	clean();
	int files = 0;
	while (size >= 3 && files < 8) {
		int cls = data[0] & 3, jpg = data[0] >> 2 & 1;
		size_t n = (size_t)data[1] << 8 | data[2];
		data += 3, size -= 3;
		if (n > size)
			n = size;
		char p[128];
		snprintf(p, sizeof p, "%s/%c", root, 'a' + cls);
		mkdir(p, 0700);
		snprintf(p, sizeof p, "%s/%c/%d.%s", root, 'a' + cls, files, jpg ? "jpg" : "png");
		FILE *f = fopen(p, "wb");
		if (!f)
			abort();
		fwrite(data, 1, n, f);
		fclose(f);
		data += n, size -= n;
		files++;
	}
	thaw_image_opts o = thaw_image_opts_default();
	o.threads = 1;
	o.skip_bad = files & 1; /* both ways of meeting a bad image */
	o.h = o.w = 16;
	thaw_dataset *d = thaw_folder_load_opts(root, &o);
	if (!d) {
		if (!strstr(thaw_errmsg(), root)) /* the message names the folder or the file */
			abort();
	} else {
		for (int i = 0; i < d->n; i++)
			if (d->y[i] < 0 || d->y[i] >= d->n_classes)
				abort();
		thaw_dataset_free(d);
	}
	return 0;
}
