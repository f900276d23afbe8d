/* thaw data SPEC: loads a data set, applies the class filter and the
 * k-per-class pick, prints a summary and optionally writes a sample grid. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "thaw/data.h"
#include "thaw/transfer.h"

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int cmd_data(int argc, char **argv)
{
	const char *spec = NULL, *grid = NULL, *classes = NULL, *export_dir = NULL;
	long per_class = 0, seed = 1, per_row = 8, channels = 0;
	int size_h = 0, size_w = 0, format = THAW_IMAGE_PNG;
	thaw_image_opts io = thaw_image_opts_default();
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int has = i + 1 < argc;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("usage: thaw data SPEC [--classes 5,6,7|A,B] [--per-class K] [--seed N] [--grid "
			       "out.png] [--per-row N]\n"
			       "                 [--size H[xW]] [--channels 1|3] [--resize stretch|crop|pad] "
			       "[--skip-bad]\n"
			       "                 [--export DIR [--format png|jpeg]]\n"
			       "--size and --channels convert the images (a folder loads straight at that "
			       "size);\n"
			       "--resize says how an image of another shape fits: stretch (default), crop "
			       "(shorter side,\n"
			       "  centre kept) or pad (whole image, black bars);\n"
			       "--skip-bad skips corrupt images in a folder (listed) instead of failing;\n"
			       "--export writes a class folder DIR/NN-class/N.png (or .jpg with --format "
			       "jpeg, quality 90)\n"
			       "SPEC: fashion-mnist, fashion-mnist:test, synth[:N], a folder of class "
			       "folders (PNG or JPEG\n"
			       "  images, one folder per class), or images.idx[.gz],labels.idx[.gz]\n"
			       "Notes (files skipped, conversions) go to stderr.\n");
			return 0;
		} else if (!strcmp(a, "--classes") && has) {
			classes = argv[++i];
		} else if (!strcmp(a, "--per-class") && has) {
			if (parse_int(argv[++i], 1, INT_MAX, &per_class)) {
				cli_errorf("data", "--per-class: expected a positive count, got '%s'", argv[i]);
				return 1;
			}
		} else if (!strcmp(a, "--seed") && has) {
			if (parse_int(argv[++i], 0, LONG_MAX, &seed)) {
				cli_errorf("data", "--seed: expected a non-negative integer, got '%s'", argv[i]);
				return 1;
			}
		} else if (!strcmp(a, "--grid") && has) {
			grid = argv[++i];
		} else if (!strcmp(a, "--export") && has) {
			export_dir = argv[++i];
		} else if (!strcmp(a, "--format") && has) {
			const char *f = argv[++i];
			if (!strcmp(f, "png"))
				format = THAW_IMAGE_PNG;
			else if (!strcmp(f, "jpeg") || !strcmp(f, "jpg"))
				format = THAW_IMAGE_JPEG;
			else {
				cli_errorf("data", "--format: expected png or jpeg, got '%s'", f);
				return 1;
			}
		} else if (!strcmp(a, "--resize") && has) {
			if (thaw_resize_mode_parse(argv[++i], &io.resize) < 0) {
				cli_errorf("data", "--resize: %s", thaw_errmsg());
				return 1;
			}
		} else if (!strcmp(a, "--skip-bad")) {
			io.skip_bad = 1;
		} else if (!strcmp(a, "--size") && has) {
			char x;
			int n = sscanf(argv[++i], "%d%c%d", &size_h, &x, &size_w);
			if (n == 1)
				size_w = size_h;
			if ((n != 1 && (n != 3 || x != 'x')) || size_h < 1 || size_w < 1 || size_h > 4096 ||
			    size_w > 4096) {
				cli_errorf("data", "--size: expected H or HxW (1..4096), got '%s'", argv[i]);
				return 1;
			}
		} else if (!strcmp(a, "--channels") && has) {
			if (parse_int(argv[++i], 1, 3, &channels) || channels == 2) {
				cli_errorf("data", "--channels: expected 1 or 3, got '%s'", argv[i]);
				return 1;
			}
		} else if (!strcmp(a, "--per-row") && has) {
			if (parse_int(argv[++i], 1, 1000, &per_row)) {
				cli_errorf("data", "--per-row: expected 1..1000, got '%s'", argv[i]);
				return 1;
			}
		} else if (a[0] == '-' && a[1]) {
			cli_errorf("data", "unknown or incomplete option '%s' (see thaw data --help)", a);
			return 1;
		} else if (!spec) {
			spec = a;
		} else {
			cli_errorf("data", "more than one SPEC ('%s' and '%s')", spec, a);
			return 1;
		}
	}
	if (!spec) {
		cli_errorf("data", "no SPEC given (fashion-mnist, fashion-mnist:test, a folder or "
				   "images.idx,labels.idx)");
		return 1;
	}
	/* a folder loads straight at the size asked (big photos never sit in
	 * memory at full size); other sources convert after the selection,
	 * which is cheaper */
	struct stat st;
	if (stat(spec, &st) == 0 && S_ISDIR(st.st_mode))
		io.c = (int)channels, io.h = size_h, io.w = size_w;
	if (isatty(STDERR_FILENO))
		io.progress = cli_load_progress;
	thaw_dataset *d = thaw_dataset_open_opts(spec, &io);
	if (!d) {
		cli_errorf("data", "%s", thaw_errmsg());
		return 1;
	}
	cli_print_notes("data", d);
	if (classes) {
		int cls[1024];
		int k = thaw_parse_classes(d, classes, cls, 1024);
		if (k <= 0) {
			cli_errorf("data", "--%s", thaw_errmsg());
			thaw_dataset_free(d);
			return 1;
		}
		thaw_dataset *s = thaw_dataset_select_classes(d, cls, k);
		thaw_dataset_free(d);
		if (!(d = s)) {
			cli_errorf("data", "%s: %s", spec, thaw_errmsg());
			return 1;
		}
	}
	if (per_class) {
		thaw_dataset *s = thaw_dataset_per_class(d, (int)per_class, (uint64_t)seed);
		thaw_dataset_free(d);
		if (!(d = s)) {
			cli_errorf("data", "%s: %s", spec, thaw_errmsg());
			return 1;
		}
	}
	if ((channels && channels != d->c) || (size_h && (size_h != d->h || size_w != d->w))) {
		thaw_input_spec want = {.c = channels ? (int)channels : d->c, .h = size_h ? size_h : d->h,
					.w = size_w ? size_w : d->w, .resize = io.resize};
		char desc[256];
		thaw_dataset *s = thaw_dataset_to_spec(d, &want, desc, sizeof desc);
		thaw_dataset_free(d);
		if (!(d = s)) {
			cli_errorf("data", "%s: %s", spec, thaw_errmsg());
			return 1;
		}
		printf("converted: %s\n", desc);
	}
	int *count = malloc(sizeof(int) * (size_t)d->n_classes);
	if (!count) {
		cli_errorf("data", "out of memory");
		thaw_dataset_free(d);
		return 1;
	}
	thaw_dataset_class_counts(d, count);
	float mean[THAW_MAX_CHANNELS], sd[THAW_MAX_CHANNELS];
	thaw_dataset_stats(d, mean, sd);
	printf("%s\n", d->source);
	printf("images   %d\nshape    %dx%dx%d (C x H x W)\nclasses  %d\nmemory   %.1f MB\n", d->n, d->c,
	       d->h, d->w, d->n_classes, (double)thaw_dataset_bytes(d) / 1e6);
	for (int k = 0; k < d->n_classes; k++)
		printf("  %3d  %-20s %7d\n", k, d->class_names[k], count[k]);
	printf("mean    ");
	for (int c = 0; c < d->c; c++)
		printf(" %.4f", (double)mean[c]);
	printf("\nstd     ");
	for (int c = 0; c < d->c; c++)
		printf(" %.4f", (double)sd[c]);
	printf("\n");
	free(count);
	if (grid) {
		if (thaw_dataset_grid_png(d, grid, (int)per_row, (uint64_t)seed) < 0) {
			cli_errorf("data", "%s", thaw_errmsg());
			thaw_dataset_free(d);
			return 1;
		}
		printf("grid     %s (%d per class)\n", grid, (int)per_row);
	}
	if (export_dir) {
		if (thaw_folder_save_format(d, export_dir, format) < 0) {
			cli_errorf("data", "%s", thaw_errmsg());
			thaw_dataset_free(d);
			return 1;
		}
		printf("exported %d %s images to %s/\n", d->n, format == THAW_IMAGE_JPEG ? "JPEG" : "PNG",
		       export_dir);
	}
	thaw_dataset_free(d);
	return 0;
}
