/* thaw train: the headless training run — the reference CNN (or a saved
 * model, given a new head for the data's classes by the transfer recipe of
 * thaw/transfer.h) on a data set, progress on stderr, optional frozen
 * prefix, the final validation and test accuracy and the model saved. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "thaw/blas.h"
#include "thaw/fit.h"
#include "thaw/modelfile.h"
#include "thaw/transfer.h"
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
	"usage: thaw train [--data SPEC] [--classes 5,6|Sandal,Shirt] [--per-class K] [--val SPEC|FRACTION|none]\n"
	"                  [--test SPEC] [--model FILE [--cut NAME] [--no-freeze]] [--epochs N] [--batch N]\n"
	"                  [--optim adam|adamw|sgd] [--lr X] [--schedule constant|cosine|onecycle]\n"
	"                  [--freeze NAME] [--shift N] [--flip] [--seed N] [--threads N] [-o FILE]\n"
	"                  [--resize stretch|crop|pad] [--skip-bad]   (image folders: see thaw data --help)\n"
	"Trains the reference CNN (or --model, a .thaw or .onnx file) on SPEC (default\n"
	"fashion-mnist). When the data's classes are not the model's, the model gets a\n"
	"new head for them (its old head, or everything after --cut NAME, is cut off)\n"
	"and the base is frozen. Validation: --val, else the test split of a known\n"
	"source, else a stratified 20 % held out of the training images.\n";

static void print_notes(const thaw_notes *nt, int *printed)
{
	for (; *printed < nt->n; (*printed)++)
		fprintf(stderr, "%s\n", nt->line[*printed]);
}

int cmd_train(int argc, char **argv)
{
	const char *spec = "fashion-mnist", *test_spec = NULL, *model_path = NULL, *out = NULL,
		   *freeze = NULL, *classes_s = NULL, *val_s = NULL;
	int epochs = 3, per_class = 0, threads = 0;
	thaw_transfer_opts to = thaw_transfer_opts_default();
	int resize = -1, skip_bad = 0;
	thaw_fit_opts o = thaw_fit_opts_default();
	o.phase = "train";
	o.seed = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int takes = 1, img = cli_image_flag("train", argc, argv, &i, &resize, &skip_bad);
		if (img < 0)
			return 1;
		if (img)
			continue;
		if (!strcmp(a, "--data") && v)
			spec = v;
		else if (!strcmp(a, "--test") && v)
			test_spec = v;
		else if (!strcmp(a, "--val") && v)
			val_s = v;
		else if (!strcmp(a, "--cut") && v)
			to.cut = v;
		else if (!strcmp(a, "--no-freeze")) {
			to.freeze = 0;
			takes = 0;
		}
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
	if (!test_spec) {
		/* the test split of a known source; otherwise no test run */
		if (!strcmp(spec, "fashion-mnist") || !strcmp(spec, "fashion-mnist:train"))
			test_spec = "fashion-mnist:test";
	}
	/* without --val the test split validates every epoch, as it always has */
	int test_is_val = !val_s && test_spec;
	int rc = 1, printed = 0;
	thaw_model *m = NULL;
	thaw_dataset *train = NULL, *val = NULL, *test = NULL, *none = NULL;
	thaw_notes nt = {0};
	thaw_prepare_opts po = thaw_prepare_opts_default();
	po.classes = classes_s;
	po.per_class = per_class;
	po.val = test_is_val ? test_spec : val_s;
	po.seed = o.seed;
	po.resize = resize;
	po.skip_bad = skip_bad;
	po.progress = isatty(2) ? cli_load_progress : NULL;
	if (model_path) {
		if (!(m = cli_load_model(model_path, NULL, NULL)))
			goto fail;
		thaw_notes_add(&nt, "model %s: %d layers, %d outputs", model_path, m->n,
			       m->n ? (int)thaw_shape_sample(thaw_model_output_shape(m)) : 0);
	}
	int prc = thaw_data_prepare(spec, &po, m ? &m->input : NULL, &train, &val, &nt);
	print_notes(&nt, &printed);
	if (prc < 0)
		goto fail;
	if (test_spec && !test_is_val) {
		thaw_prepare_opts tpo = po;
		tpo.per_class = 0;
		tpo.val = "none";
		if (thaw_data_prepare(test_spec, &tpo, m ? &m->input : NULL, &test, &none, NULL) < 0)
			goto fail;
	}
	if (m) {
		if (thaw_transfer(m, train, &to, &nt) < 0)
			goto fail;
		print_notes(&nt, &printed);
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
	o.val = val;
	if (thaw_fit(m, train, &o) < 0)
		goto fail;
	if (val) { /* validated after the last epoch */
		printf("%s_accuracy: %.4f\n", test_is_val ? "test" : "val", p.val_acc);
		printf("%s_loss: %.4f\n", test_is_val ? "test" : "val", p.val_loss);
	}
	if (test) {
		thaw_metrics *mt = thaw_metrics_new(train->n_classes, 1);
		if (!mt || thaw_evaluate(m, test, o.batch, mt) < 0) {
			thaw_metrics_free(mt);
			goto fail;
		}
		printf("test_accuracy: %.4f\n", thaw_metrics_accuracy(mt));
		printf("test_loss: %.4f\n", thaw_metrics_loss(mt));
		thaw_metrics_free(mt);
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
	thaw_notes_free(&nt);
	thaw_dataset_free(train);
	thaw_dataset_free(val);
	thaw_dataset_free(test);
	thaw_dataset_free(none);
	thaw_model_free(m);
	return rc;
}
