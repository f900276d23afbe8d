/* thaw explore: the cut-point explorer on the command line — a text table
 * of held-out accuracy per candidate cut beside the scratch baseline, and a
 * PNG bar chart. The work is thaw_explore (thaw/explore.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "thaw/explore.h"
#include "thaw/plot.h"
#include "thaw/transfer.h"

static const char usage[] =
	"usage: thaw explore MODEL --data SPEC [--classes A,B] [--per-class K] [--folds N]\n"
	"                    [--seed N] [--head-steps N] [--scratch-steps N] [--max-cuts N] [-o chart.png]\n"
	"Where to cut MODEL for the labelled images of SPEC. For every candidate cut\n"
	"(the end of each block: a pooling, the activation closing a block, a\n"
	"residual add) the features of the images are computed once, and a quick\n"
	"head (a dense softmax layer, Adam) is fitted with stratified k-fold\n"
	"cross-validation on those images only: no test data takes part. The table\n"
	"gives the held-out accuracy (mean +- sd over the folds) and the time per\n"
	"cut, beside a scratch baseline: MODEL's architecture with a new head,\n"
	"re-initialised and trained on the same folds. It names the best cut, and\n"
	"says when scratch wins (negative transfer). Use the cut with\n"
	"`thaw train --model MODEL --cut NAME` or `thaw tui --model MODEL --cut NAME`.\n"
	"\n"
	"  --data SPEC        the labelled images (see thaw data --help)\n"
	"  --classes A,B      keep these classes (indices or names)\n"
	"  --per-class K      K images of each class (seeded pick)\n"
	"  --folds N          k of the k-fold (default 5; at most the images per class)\n"
	"  --seed N           the pick, the folds and the heads (default 1)\n"
	"  --head-steps N     Adam steps of each quick head (default 300)\n"
	"  --scratch-steps N  steps of each scratch training (default 400; 0: no baseline)\n"
	"  --max-cuts N       only the last N candidate cuts\n"
	"  -o, --out FILE     the bar chart as PNG (one bar per cut, the scratch line)\n";

enum { O_DATA = 256, O_CLASSES, O_PER_CLASS, O_FOLDS, O_SEED, O_HEAD, O_SCRATCH, O_MAX_CUTS };

static const struct option options[] = {
	{"data", required_argument, NULL, O_DATA},
	{"classes", required_argument, NULL, O_CLASSES},
	{"per-class", required_argument, NULL, O_PER_CLASS},
	{"folds", required_argument, NULL, O_FOLDS},
	{"seed", required_argument, NULL, O_SEED},
	{"head-steps", required_argument, NULL, O_HEAD},
	{"scratch-steps", required_argument, NULL, O_SCRATCH},
	{"max-cuts", required_argument, NULL, O_MAX_CUTS},
	{"out", required_argument, NULL, 'o'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static int progress_line(const char *line, void *user)
{
	(void)user;
	fprintf(stderr, "%s\n", line);
	return 0;
}

static void print_row(const thaw_explore_cut *c, int best)
{
	char shape[48], feat[24];
	if (c->node < 0) {
		snprintf(shape, sizeof shape, "(from scratch)");
		snprintf(feat, sizeof feat, "-");
	} else {
		snprintf(shape, sizeof shape, "%dx%dx%d", c->out.c, c->out.h, c->out.w);
		snprintf(feat, sizeof feat, "%d%s", c->features, c->pooled ? " (pooled)" : "");
	}
	printf("%-16s %-14s %16s %7.1f %% +- %4.1f %8.1f%s\n", c->name, shape, feat, 100 * c->acc, 100 * c->sd,
	       c->seconds, best ? "  <- best" : "");
}

int cmd_explore(int argc, char **argv)
{
	const char *spec = NULL, *out = NULL;
	thaw_prepare_opts po = thaw_prepare_opts_default();
	thaw_explore_opts eo = thaw_explore_opts_default();
	po.val = "none";
	po.seed = eo.seed;
	for (int c; (c = cli_getopt("explore", argc, argv, "ho:", options)) != -1;) {
		int v;
		switch (c) {
		case 'h': fputs(usage, stdout); return 0;
		case O_DATA: spec = optarg; break;
		case O_CLASSES: po.classes = optarg; break;
		case 'o': out = optarg; break;
		case O_PER_CLASS:
			if (cli_int(optarg, 1, 1000000, &po.per_class) < 0)
				return CLI_EUSAGE;
			break;
		case O_FOLDS:
			if (cli_int(optarg, 2, THAW_EXPLORE_MAX_FOLDS, &eo.folds) < 0)
				return CLI_EUSAGE;
			break;
		case O_SEED:
			if (cli_u64(optarg, &eo.seed) < 0)
				return CLI_EUSAGE;
			po.seed = eo.seed;
			break;
		case O_HEAD:
			if (cli_int(optarg, 1, 1000000, &eo.head_steps) < 0)
				return CLI_EUSAGE;
			break;
		case O_SCRATCH:
			if (cli_int(optarg, 0, 1000000, &v) < 0)
				return CLI_EUSAGE;
			eo.scratch = v > 0;
			if (v > 0)
				eo.scratch_steps = v;
			break;
		case O_MAX_CUTS:
			if (cli_int(optarg, 1, 100000, &eo.max_cuts) < 0)
				return CLI_EUSAGE;
			break;
		default: return CLI_EUSAGE;
		}
	}
	if (optind >= argc)
		return cli_usage_error("explore", "no MODEL given (thaw explore MODEL --data SPEC)");
	if (optind + 1 < argc)
		return cli_usage_error("explore", "one MODEL only, got '%s' too", argv[optind + 1]);
	if (!spec)
		return cli_usage_error("explore", "--data SPEC is required (the labelled images)");
	const char *model_path = argv[optind];
	thaw_model *m = cli_load_model(model_path, NULL, NULL);
	thaw_dataset *train = NULL, *none = NULL;
	thaw_notes nt = {0};
	thaw_explore_result r;
	memset(&r, 0, sizeof r);
	int code = 1;
	if (!m)
		goto fail;
	po.progress = cli_load_progress;
	if (thaw_data_prepare(spec, &po, &m->input, &train, &none, &nt) < 0)
		goto fail;
	for (int i = 0; i < nt.n; i++) /* the folds are the explorer's own hold-out: no note about none */
		if (strncmp(nt.line[i], "no validation set", 17))
			fprintf(stderr, "thaw explore: %s\n", nt.line[i]);
	eo.on_line = progress_line;
	if (thaw_explore(m, train, &eo, &r) < 0)
		goto fail;

	printf("\n%s on %s: %d images of %d classes, %d-fold cross-validation (held-out accuracy)\n\n",
	       model_path, spec, r.n_images, r.n_classes, r.folds);
	printf("%-16s %-14s %16s %17s %8s\n", "cut", "output", "features", "accuracy", "seconds");
	for (int i = 0; i < r.n_cuts; i++)
		print_row(&r.cuts[i], i == r.best);
	if (r.has_scratch)
		print_row(&r.scratch, 0);
	const thaw_explore_cut *b = &r.cuts[r.best];
	printf("\nbest cut: %s (%.1f %% +- %.1f)", b->name, 100 * b->acc, 100 * b->sd);
	if (r.has_scratch) {
		double gap = 100 * (b->acc - r.scratch.acc);
		if (r.scratch_wins)
			printf("; scratch wins by %.1f points: negative transfer, no cut of this base helps\n", -gap);
		else
			printf("; transfer beats scratch by %.1f points\n", gap);
	} else {
		printf("\n");
	}
	printf("features: one pass in %.1f s; use the cut: thaw train --model %s --cut %s --data %s", r.feature_seconds,
	       model_path, b->name, spec);
	if (po.classes)
		printf(" --classes %s", po.classes);
	if (po.per_class)
		printf(" --per-class %d", po.per_class);
	printf("\n");

	if (out) {
		const char **names = malloc(sizeof *names * (size_t)r.n_cuts);
		double *val = malloc(sizeof *val * (size_t)r.n_cuts), *err = malloc(sizeof *err * (size_t)r.n_cuts);
		int prc = THAW_ENOMEM;
		if (names && val && err) {
			for (int i = 0; i < r.n_cuts; i++) {
				names[i] = r.cuts[i].name;
				val[i] = r.cuts[i].acc;
				err[i] = r.cuts[i].sd;
			}
			char title[256], ref[96];
			snprintf(title, sizeof title, "cut explorer: %d images, %d folds", r.n_images, r.folds);
			snprintf(ref, sizeof ref, "scratch %.1f %%", 100 * r.scratch.acc);
			thaw_plot_bars_spec bs = {.title = title, .ylabel = "held-out accuracy (%)", .names = names,
						  .value = val, .err = err, .n = r.n_cuts, .y_max = 1, .highlight = r.best,
						  .has_ref = r.has_scratch, .ref = r.scratch.acc, .ref_label = ref,
						  .value_fmt = "%.0f", .value_scale = 100};
			prc = thaw_plot_bars(out, &bs);
		}
		free(names);
		free(val);
		free(err);
		if (prc < 0)
			goto fail;
		printf("chart written to %s\n", out);
	}
	code = 0;
fail:
	if (code)
		cli_errorf("explore", "%s", thaw_errmsg());
	thaw_explore_result_free(&r);
	thaw_notes_free(&nt);
	thaw_dataset_free(train);
	thaw_dataset_free(none);
	thaw_model_free(m);
	return code;
}
