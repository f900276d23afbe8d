/* thaw train: the headless training run — the reference CNN (or a saved
 * model) on a data set, progress on stderr, optional frozen prefix, the
 * final test accuracy and the model saved. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "thaw/blas.h"
#include "thaw/fit.h"
#include "thaw/modelfile.h"
#include "thaw/zoo.h"

typedef struct progress {
	int tty;
	double val_loss, val_acc; /* of the last epoch */
} progress;

static int on_batch(const thaw_batch_stats *s, void *user)
{
	if (((const progress *)user)->tty)
		cli_progress_batch(s);
	return 0;
}

static int on_epoch(const thaw_epoch_stats *s, void *user)
{
	progress *p = user;
	p->val_loss = s->val_loss;
	p->val_acc = s->val_acc;
	cli_progress_epoch(s);
	return 0;
}

static void on_log(const char *line, void *user)
{
	(void)user;
	cli_progress_end_line();
	fprintf(stderr, "%s\n", line);
}

static const char usage[] =
	"usage: thaw train [--data SPEC] [--test SPEC] [--classes 0,1,..] [--per-class K]\n"
	"                  [--model FILE] [--epochs N] [--batch N] [--optim adam|adamw|sgd] [--lr X]\n"
	"                  [--schedule constant|cosine|onecycle] [--freeze NAME] [--shift N] [--flip]\n"
	"                  [--seed N] [--threads N] [-o FILE]\n"
	"Trains the reference CNN (or --model) on SPEC (default fashion-mnist) and\n"
	"reports accuracy on --test (default the matching test split).\n";

int cmd_train(int argc, char **argv)
{
	const char *spec = "fashion-mnist", *test_spec = NULL, *model_path = NULL, *out = NULL,
		   *freeze = NULL, *classes_s = NULL;
	int epochs = 3, per_class = 0, threads = 0;
	thaw_fit_opts o = thaw_fit_opts_default();
	o.phase = "train";
	o.seed = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int takes = 1;
		if (!strcmp(a, "--data") && v)
			spec = v;
		else if (!strcmp(a, "--test") && v)
			test_spec = v;
		else if (!strcmp(a, "--classes") && v)
			classes_s = v;
		else if (!strcmp(a, "--per-class") && v)
			per_class = atoi(v);
		else if (!strcmp(a, "--model") && v)
			model_path = v;
		else if (!strcmp(a, "--epochs") && v)
			epochs = atoi(v);
		else if (!strcmp(a, "--batch") && v)
			o.batch = atoi(v);
		else if (!strcmp(a, "--lr") && v)
			o.optim.lr = (float)atof(v);
		else if (!strcmp(a, "--optim") && v) {
			int k = thaw_optim_from_name(v);
			if (k < 0) {
				cli_errorf("train", "unknown optimizer '%s' (adam, adamw, sgd)", v);
				return 1;
			}
			float lr = o.optim.lr;
			o.optim = thaw_optim_default((thaw_optim_kind)k);
			o.optim.lr = lr;
		} else if (!strcmp(a, "--schedule") && v) {
			int k = thaw_sched_from_name(v);
			if (k < 0 || k == THAW_SCHED_STEP) {
				cli_errorf("train", "unknown schedule '%s' (constant, cosine, onecycle)", v);
				return 1;
			}
			o.sched = thaw_sched_default((thaw_sched_kind)k);
		} else if (!strcmp(a, "--freeze") && v)
			freeze = v;
		else if (!strcmp(a, "--shift") && v)
			o.shift = atoi(v);
		else if (!strcmp(a, "--seed") && v)
			o.seed = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--threads") && v)
			threads = atoi(v);
		else if (!strcmp(a, "-o") && v)
			out = v;
		else if (!strcmp(a, "--flip")) {
			o.flip = 1;
			takes = 0;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			return 0;
		} else {
			cli_errorf("train", "unknown or incomplete option '%s'", a);
			fputs(usage, stderr);
			return 1;
		}
		i += takes;
	}
	if (epochs <= 0 || o.batch <= 0) {
		cli_errorf("train", "--epochs and --batch must be positive");
		return 1;
	}
	o.epochs = epochs;
	thaw_blas_set_threads(threads);
	char test_buf[300];
	if (!test_spec) {
		/* the test split of a known source; otherwise no test run */
		if (!strcmp(spec, "fashion-mnist") || !strcmp(spec, "fashion-mnist:train"))
			test_spec = "fashion-mnist:test";
		else if (!strncmp(spec, "synth", 5))
			test_spec = NULL;
		(void)test_buf;
	}
	int rc = 1;
	thaw_model *m = NULL;
	thaw_dataset *train = NULL, *test = NULL, *tmp;
	train = thaw_dataset_open(spec);
	if (!train)
		goto fail;
	if (test_spec && !(test = thaw_dataset_open(test_spec)))
		goto fail;
	if (classes_s) {
		int cls[256], k = cli_parse_classes(classes_s, cls, 256);
		if (k <= 0) {
			cli_errorf("train", "--classes wants a list like 5,6,7 (got '%s')", classes_s);
			goto done;
		}
		if (!(tmp = thaw_dataset_select_classes(train, cls, k)))
			goto fail;
		thaw_dataset_free(train);
		train = tmp;
		if (test) {
			if (!(tmp = thaw_dataset_select_classes(test, cls, k)))
				goto fail;
			thaw_dataset_free(test);
			test = tmp;
		}
	}
	if (per_class > 0) {
		if (!(tmp = thaw_dataset_per_class(train, per_class, o.seed)))
			goto fail;
		thaw_dataset_free(train);
		train = tmp;
	}
	if (model_path) {
		if (!(m = cli_load_model(model_path, NULL, NULL)))
			goto fail;
	} else {
		if (!(m = thaw_zoo_reference_cnn(train->c, train->h, train->w, train->n_classes, o.seed)))
			goto fail;
		float mean[THAW_MAX_CHANNELS], sd[THAW_MAX_CHANNELS];
		if (thaw_dataset_stats(train, mean, sd) < 0)
			goto fail;
		for (int c = 0; c < train->c && c < THAW_MAX_CHANNELS; c++) {
			m->input.mean[c] = mean[c];
			m->input.std[c] = sd[c];
		}
		thaw_model_set_classes(m, (const char *const *)train->class_names, train->n_classes);
	}
	char desc[256] = "";
	if (!(tmp = thaw_dataset_to_spec(train, &m->input, desc, sizeof desc)))
		goto fail;
	thaw_dataset_free(train);
	train = tmp;
	if (desc[0] && strncmp(desc, "unchanged", 9) != 0)
		fprintf(stderr, "data: %s\n", desc);
	if (test) {
		if (!(tmp = thaw_dataset_to_spec(test, &m->input, NULL, 0)))
			goto fail;
		thaw_dataset_free(test);
		test = tmp;
	}
	if (freeze && thaw_model_freeze_upto(m, freeze) < 0)
		goto fail;
	thaw_param_counts pc = thaw_model_count(m);
	fprintf(stderr, "model: %d nodes, %zu trainable and %zu frozen parameters; data: %d images of %dx%dx%d, %d classes\n",
		m->n, pc.trainable, pc.frozen, train->n, train->c, train->h, train->w, train->n_classes);
	progress p = {isatty(2), -1, -1};
	o.on_batch = on_batch;
	o.on_epoch = on_epoch;
	o.on_log = on_log;
	o.user = &p;
	o.val = test;
	if (thaw_fit(m, train, &o) < 0)
		goto fail;
	if (test) { /* validated on the test split after the last epoch */
		printf("test_accuracy: %.4f\n", p.val_acc);
		printf("test_loss: %.4f\n", p.val_loss);
	}
	if (out) {
		if (thaw_model_save(m, out, NULL) < 0)
			goto fail;
		fprintf(stderr, "saved %s\n", out);
	}
	rc = 0;
	goto done;
fail:
	cli_errorf("train", "%s", thaw_errmsg());
done:
	thaw_dataset_free(train);
	thaw_dataset_free(test);
	thaw_model_free(m);
	return rc;
}
