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
#include "thaw/text.h"
#include "thaw/transfer.h"

static const char usage[] =
	"usage: thaw data SPEC [--classes 5,6,7|A,B] [--per-class K] [--seed N] [--grid out.png] [--per-row N]\n"
	"                 [--size H[xW]] [--channels 1|3] [--resize stretch|crop|pad] [--skip-bad]\n"
	"                 [--export DIR [--format png|jpeg]]\n"
	"       thaw data TEXTSPEC [--classes ...] [--per-class K] [--seed N] [--length N] [--min-count N]\n"
	"                 [--max-words N] [--header|--no-header] [--keep-case] [--show N]\n"
	"--size and --channels convert the images (a folder loads straight at that size);\n"
	"--resize says how an image of another shape fits: stretch (default), crop (shorter side,\n"
	"  centre kept) or pad (whole image, black bars);\n"
	"--skip-bad skips corrupt images in a folder (listed) instead of failing;\n"
	"--export writes a class folder DIR/NN-class/N.png (or .jpg with --format jpeg, quality 90)\n"
	"SPEC: fashion-mnist, fashion-mnist:test, synth[:N], a folder of class folders (PNG or JPEG\n"
	"  images, one folder per class), or images.idx[.gz],labels.idx[.gz]\n"
	"TEXTSPEC: a .tsv or .csv file of label<TAB>text lines, a folder of class folders of .txt\n"
	"  files, or text:PATH; --length pads or cuts every text to N tokens (default: the 95th\n"
	"  percentile of the lengths), --min-count and --max-words limit the vocabulary, --header\n"
	"  says the first line names the columns (default: when its label reads label, class, ...),\n"
	"  --keep-case keeps upper case, --show prints the first N texts as the model sees them\n"
	"Notes (files skipped, conversions) go to stderr.\n";

/* "H" or "HxW", each 1..4096 */
static int parse_size(const char *s, int *h, int *w)
{
	char buf[32];
	long a, b;
	const char *x = strchr(s, 'x');
	if (strlen(s) >= sizeof buf)
		return -1;
	snprintf(buf, sizeof buf, "%s", s);
	if (x)
		buf[x - s] = 0;
	if (cli_parse_long(buf, 1, 4096, &a) || cli_parse_long(x ? buf + (x - s) + 1 : buf, 1, 4096, &b))
		return -1;
	*h = (int)a, *w = (int)b;
	return 0;
}

enum { O_CLASSES = 256, O_PER_CLASS, O_SEED, O_GRID, O_PER_ROW, O_SIZE, O_CHANNELS, O_RESIZE, O_SKIP_BAD,
       O_EXPORT, O_FORMAT, O_LENGTH, O_MIN_COUNT, O_MAX_WORDS, O_HEADER, O_NO_HEADER, O_KEEP_CASE, O_SHOW };

static const struct option data_options[] = {
	{"classes", required_argument, NULL, O_CLASSES},   {"per-class", required_argument, NULL, O_PER_CLASS},
	{"seed", required_argument, NULL, O_SEED},	   {"grid", required_argument, NULL, O_GRID},
	{"per-row", required_argument, NULL, O_PER_ROW},   {"size", required_argument, NULL, O_SIZE},
	{"channels", required_argument, NULL, O_CHANNELS}, {"resize", required_argument, NULL, O_RESIZE},
	{"skip-bad", no_argument, NULL, O_SKIP_BAD},	   {"export", required_argument, NULL, O_EXPORT},
	{"format", required_argument, NULL, O_FORMAT},	   {"help", no_argument, NULL, 'h'},
	{"length", required_argument, NULL, O_LENGTH},	   {"min-count", required_argument, NULL, O_MIN_COUNT},
	{"max-words", required_argument, NULL, O_MAX_WORDS}, {"header", no_argument, NULL, O_HEADER},
	{"no-header", no_argument, NULL, O_NO_HEADER},	   {"keep-case", no_argument, NULL, O_KEEP_CASE},
	{"show", required_argument, NULL, O_SHOW},
	{NULL, 0, NULL, 0},
};

/* Class counts, vocabulary and length statistics of text data; with show,
 * the first texts as the model sees them (lower-cased, cut, <unk>). */
static void text_summary(const thaw_dataset *d, const int *count, int show)
{
	thaw_text_stats s;
	thaw_text_stats_of(d, &s);
	printf("%s\n", d->source);
	printf("texts    %d\nclasses  %d\n", d->n, d->n_classes);
	for (int k = 0; k < d->n_classes; k++)
		printf("  %3d  %-20s %7d\n", k, d->class_names[k], count[k]);
	printf("vocab    %d words (with <pad> and <unk>)%s\n", d->vocab->n, d->vocab->lower ? ", lower-cased" : "");
	printf("length   %d tokens a text: %d longer cut, %d shorter padded\n", d->w, s.cut, s.padded);
	printf("tokens   min %d, median %d, mean %.1f, 95th percentile %d, max %d a text (%d empty)\n", s.min,
	       s.median, s.mean, s.p95, s.max, s.empty);
	printf("unknown  %.2f%% of the stored tokens (%lld of %lld)\n",
	       s.tokens ? 100.0 * (double)s.unknown / (double)s.tokens : 0.0, (long long)s.unknown, (long long)s.tokens);
	printf("memory   %.1f MB\n", (double)thaw_dataset_bytes(d) / 1e6);
	for (int i = 0; i < show && i < d->n; i++) {
		char *t = thaw_text_sample(d, i);
		printf("%5d  %-12s %s\n", i + 1, d->class_names[d->y[i]], t ? t : "?");
		free(t);
	}
}

int cmd_data(int argc, char **argv)
{
	const char *spec = NULL, *grid = NULL, *classes = NULL, *export_dir = NULL;
	int per_class = 0, per_row = 8, channels = 0, resize = THAW_RESIZE_STRETCH;
	uint64_t seed = 1;
	int size_h = 0, size_w = 0, format = THAW_IMAGE_PNG;
	thaw_image_opts io = thaw_image_opts_default();
	thaw_text_opts to = thaw_text_opts_default();
	int show = 0;
	for (int c; (c = cli_getopt("data", argc, argv, "h", data_options)) != -1;) {
		int rc = 0;
		switch (c) {
		case 'h': fputs(usage, stdout); return 0;
		case O_CLASSES: classes = optarg; break;
		case O_GRID: grid = optarg; break;
		case O_EXPORT: export_dir = optarg; break;
		case O_SKIP_BAD: io.skip_bad = 1; break;
		case O_PER_CLASS: rc = cli_int(optarg, 1, INT_MAX, &per_class); break;
		case O_SEED: rc = cli_u64(optarg, &seed); break;
		case O_LENGTH: rc = cli_int(optarg, 1, 1 << 20, &to.length); break;
		case O_MIN_COUNT: rc = cli_int(optarg, 1, INT_MAX, &to.min_count); break;
		case O_MAX_WORDS: rc = cli_int(optarg, 3, INT_MAX, &to.max_words); break;
		case O_HEADER: to.header = 1; break;
		case O_NO_HEADER: to.header = -1; break;
		case O_KEEP_CASE: to.lower = 0; break;
		case O_SHOW: rc = cli_int(optarg, 0, 1000000, &show); break;
		case O_PER_ROW: rc = cli_int(optarg, 1, 1000, &per_row); break;
		case O_RESIZE:
			if ((rc = cli_resize(optarg, &resize)) == 0)
				io.resize = (thaw_resize_mode)resize;
			break;
		case O_FORMAT:
			if (!strcmp(optarg, "png"))
				format = THAW_IMAGE_PNG;
			else if (!strcmp(optarg, "jpeg") || !strcmp(optarg, "jpg"))
				format = THAW_IMAGE_JPEG;
			else
				rc = -1, cli_errorf("data", "--format: expected png or jpeg, got '%s'", optarg);
			break;
		case O_SIZE:
			if ((rc = parse_size(optarg, &size_h, &size_w)) < 0)
				cli_errorf("data", "--size: expected H or HxW (1..4096), got '%s'", optarg);
			break;
		case O_CHANNELS:
			if (strcmp(optarg, "1") && strcmp(optarg, "3"))
				rc = -1, cli_errorf("data", "--channels: expected 1 or 3, got '%s'", optarg);
			else
				channels = optarg[0] - '0';
			break;
		default: return CLI_EUSAGE;
		}
		if (rc < 0)
			return CLI_EUSAGE;
	}
	if (optind >= argc)
		return cli_usage_error("data", "no SPEC given (fashion-mnist, fashion-mnist:test, a folder or "
					       "images.idx,labels.idx)");
	spec = argv[optind];
	if (optind + 1 < argc)
		return cli_usage_error("data", "more than one SPEC ('%s' and '%s')", spec, argv[optind + 1]);
	/* a folder loads straight at the size asked (big photos never sit in
	 * memory at full size); other sources convert after the selection,
	 * which is cheaper */
	struct stat st;
	if (stat(spec, &st) == 0 && S_ISDIR(st.st_mode))
		io.c = channels, io.h = size_h, io.w = size_w;
	if (isatty(STDERR_FILENO))
		io.progress = cli_load_progress;
	int text = thaw_text_probe(spec);
	if (text && (grid || export_dir || channels || size_h)) {
		cli_errorf("data", "%s is text: --grid, --export, --size and --channels are for images", spec);
		return CLI_EUSAGE;
	}
	thaw_dataset *d = text ? thaw_text_load(spec, &to) : thaw_dataset_open_opts(spec, &io);
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
		thaw_dataset *s = thaw_dataset_per_class(d, per_class, seed);
		thaw_dataset_free(d);
		if (!(d = s)) {
			cli_errorf("data", "%s: %s", spec, thaw_errmsg());
			return 1;
		}
	}
	if ((channels && channels != d->c) || (size_h && (size_h != d->h || size_w != d->w))) {
		thaw_input_spec want = {.c = channels ? channels : d->c, .h = size_h ? size_h : d->h,
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
	if (d->ids) {
		text_summary(d, count, show);
		free(count);
		thaw_dataset_free(d);
		return 0;
	}
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
		if (thaw_dataset_grid_png(d, grid, per_row, seed) < 0) {
			cli_errorf("data", "%s", thaw_errmsg());
			thaw_dataset_free(d);
			return 1;
		}
		printf("grid     %s (%d per class)\n", grid, per_row);
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
