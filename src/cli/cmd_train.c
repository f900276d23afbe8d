/* thaw train: the headless training run — the reference CNN (or a saved
 * model, given a new head for the data's classes by the transfer recipe of
 * thaw/transfer.h) on a data set, progress on stderr, optional frozen
 * prefix, the final validation and test accuracy and the model saved. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "thaw/blas.h"
#include "thaw/dist.h"
#include "thaw/fit.h"
#include "thaw/modelfile.h"
#include "thaw/options.h"
#include "thaw/run.h"
#include "thaw/text.h"
#include "thaw/transfer.h"
#include "thaw/zoo.h"

typedef struct progress {
	int tty;
	double val_loss, val_acc; /* of the last epoch */
} progress;

static int on_event(const thaw_event *ev, void *user)
{
	progress *p = user;
	if (ev->kind == THAW_EV_EPOCH) {
		p->val_loss = ev->u.epoch.val_loss;
		p->val_acc = ev->u.epoch.val_acc;
	}
	return cli_progress_event(ev, p->tty);
}

static volatile sig_atomic_t stop_requested;

static void on_sigint(int sig)
{
	(void)sig;
	if (stop_requested) /* a second Ctrl-C: stop now */
		_exit(130);
	stop_requested = 1;
}

static int should_stop(void *user)
{
	(void)user;
	return stop_requested;
}

static const char usage[] =
	"usage: thaw train [--data SPEC] [--classes 5,6|Sandal,Shirt] [--per-class K] [--val SPEC|FRACTION|none]\n"
	"                  [--test SPEC] [--model FILE [--cut NAME] [--no-freeze]] [--epochs N] [--batch N]\n"
	"                  [--optim adam|adamw|sgd] [--lr X] [--schedule constant|cosine|onecycle]\n"
	"                  [--freeze NAME] [--shift N] [--flip] [--seed N] [--threads N] [-o FILE]\n"
	"                  [--resize stretch|crop|pad] [--skip-bad]   (image folders: see thaw data --help)\n"
	"                  [--checkpoint FILE [--checkpoint-every N]] [--resume FILE]\n"
	"                  [--momentum X] [--nesterov] [--beta1 X] [--beta2 X] [--weight-decay X]\n"
	"                  [--clip-norm X] [--warmup N] [--min-lr X] [--step-size N] [--gamma X]\n"
	"                  [--smoothing X] [--patience N] [--restore-best]  (thaw options: ranges)\n"
	"                  [--bn-stats sync|local]  (under mpirun/srun: docs/distributed.md)\n"
	"Trains the reference CNN (or --model, a .thaw or .onnx file) on SPEC (default\n"
	"fashion-mnist). When the data's classes are not the model's, the model gets a\n"
	"new head for them (its old head, or everything after --cut NAME, is cut off)\n"
	"and the base is frozen. Validation: --val, else the test split of a known\n"
	"source, else a stratified 20 % held out of the training images.\n"
	"Text data (a .tsv/.csv file or class folders of .txt files, see docs/text.md)\n"
	"trains a small embedding + mean + dense classifier, or a saved text model on\n"
	"its own vocabulary.\n"	"--checkpoint FILE saves the model with its training position after every\n"
	"epoch (and every N batches with --checkpoint-every N) and on Ctrl-C;\n"
	"--resume FILE continues it exactly, with the options the checkpoint\n"
	"recorded (options given with it win). Started by mpirun -np N (or srun),\n"
	"N processes train one model, each on a share of every batch; rank 0\n"
	"reports and writes. Defaults: --epochs 3,\n"
	"--batch 64, --seed 1.\n";

/* Long options: the command's own, then one per training option of the
 * table (thaw_options), spelt with '-' for '_'. */
enum { O_DATA = 256, O_TEST, O_VAL, O_CUT, O_NO_FREEZE, O_CLASSES, O_PER_CLASS, O_MODEL, O_FREEZE, O_THREADS,
       O_RESIZE, O_SKIP_BAD, O_CHECKPOINT, O_EVERY, O_RESUME, O_TABLE = 1000 };

#define MAX_LONGOPTS 64

static void build_longopts(struct option *lo, char names[][32])
{
	static const struct option own[] = {
		{"data", required_argument, NULL, O_DATA},	   {"test", required_argument, NULL, O_TEST},
		{"val", required_argument, NULL, O_VAL},	   {"cut", required_argument, NULL, O_CUT},
		{"no-freeze", no_argument, NULL, O_NO_FREEZE},	   {"classes", required_argument, NULL, O_CLASSES},
		{"per-class", required_argument, NULL, O_PER_CLASS}, {"model", required_argument, NULL, O_MODEL},
		{"freeze", required_argument, NULL, O_FREEZE},	   {"threads", required_argument, NULL, O_THREADS},
		{"resize", required_argument, NULL, O_RESIZE},	   {"skip-bad", no_argument, NULL, O_SKIP_BAD},
		{"checkpoint", required_argument, NULL, O_CHECKPOINT},
		{"checkpoint-every", required_argument, NULL, O_EVERY},
		{"resume", required_argument, NULL, O_RESUME},	   {"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
	};
	int n = 0, nt;
	for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
		lo[n++] = own[i];
	const thaw_option *t = thaw_options(&nt);
	for (int k = 0; k < nt && n < MAX_LONGOPTS - 1; k++) {
		if (!t[k].cli)
			continue;
		snprintf(names[k], 32, "%s", t[k].name);
		for (char *c = names[k]; *c; c++)
			if (*c == '_')
				*c = '-';
		lo[n++] = (struct option){names[k], t[k].type == THAW_OPT_BOOL ? no_argument : required_argument, NULL,
					  O_TABLE + k};
	}
	lo[n] = (struct option){0};
}

/* "--epochs: ..." for a message that names the option as the table does */
static int option_error(const char *name)
{
	const char *msg = thaw_errmsg();
	char flag[32];
	snprintf(flag, sizeof flag, "%s", name);
	for (char *c = flag; *c; c++)
		if (*c == '_')
			*c = '-';
	size_t n = strlen(name);
	if (!strncmp(msg, name, n) && (msg[n] == ':' || msg[n] == ' '))
		cli_errorf("train", "--%s%s", flag, msg + n);
	else
		cli_errorf("train", "--%s: %s", flag, msg);
	return 1;
}

static void print_notes(const thaw_notes *nt, int *printed)
{
	if (!thaw_dist_writer()) /* MPI: rank 0 reports */
		*printed = nt->n;
	for (; *printed < nt->n; (*printed)++)
		fprintf(stderr, "%s\n", nt->line[*printed]);
}

int cmd_train(int argc, char **argv)
{
	const char *spec = "fashion-mnist", *test_spec = NULL, *model_path = NULL, *out = NULL,
		   *freeze = NULL, *classes_s = NULL, *val_s = NULL;
	const char *ckpt = NULL, *resume = NULL;
	int per_class = 0, threads = 0, every = 0;
	thaw_transfer_opts to = thaw_transfer_opts_default();
	int resize = -1, skip_bad = 0;
	thaw_fit_opts o = thaw_fit_opts_default();
	o.phase = "train";
	o.epochs = 3;
	o.seed = 1;
	int n_opts;
	const thaw_option *table = thaw_options(&n_opts);
	thaw_option_value vals[64];
	int given[64] = {0};
	struct option lo[MAX_LONGOPTS];
	char names[64][32];
	build_longopts(lo, names);
	int c;
	while ((c = cli_getopt("train", argc, argv, "ho:", lo)) != -1) {
		const char *v = optarg;
		switch (c) {
		case O_DATA: spec = v; break;
		case O_TEST: test_spec = v; break;
		case O_VAL: val_s = v; break;
		case O_CUT: to.cut = v; break;
		case O_NO_FREEZE: to.freeze = 0; break;
		case O_CLASSES: classes_s = v; break;
		case O_PER_CLASS:
			if (cli_int(v, 1, INT_MAX, &per_class) < 0)
				return CLI_EUSAGE;
			break;
		case O_MODEL: model_path = v; break;
		case O_FREEZE: freeze = v; break;
		case O_THREADS:
			if (cli_int(v, 0, 1024, &threads) < 0)
				return CLI_EUSAGE;
			break;
		case O_RESIZE:
			if (cli_resize(v, &resize) < 0)
				return CLI_EUSAGE;
			break;
		case O_SKIP_BAD: skip_bad = 1; break;
		case O_CHECKPOINT: ckpt = v; break;
		case O_EVERY:
			if (cli_int(v, 1, INT_MAX, &every) < 0)
				return CLI_EUSAGE;
			break;
		case O_RESUME: resume = v; break;
		case 'o': out = v; break;
		case 'h': fputs(usage, stdout); return 0;
		case '?':
			return CLI_EUSAGE;
		default: {
			int k = c - O_TABLE;
			if (k < 0 || k >= n_opts)
				return 1;
			if (thaw_option_parse(table[k].name, v ? v : "true", &vals[k]) < 0)
				return option_error(table[k].name);
			given[k] = 1;
		}
		}
	}
	if (optind < argc)
		return cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
	for (int k = 0; k < n_opts; k++) /* in the table's order: an optimizer before its rate */
		if (given[k] && thaw_option_apply(&o, table[k].name, &vals[k]) < 0)
			return option_error(table[k].name);
	if (o.sched.kind == THAW_SCHED_STEP && o.sched.step_size <= 0) {
		cli_errorf("train", "--schedule step needs --step-size N (in steps)");
		return 1;
	}
	if (o.patience > 0 && val_s && !strcmp(val_s, "none")) {
		cli_errorf("train", "--patience needs validation data");
		return 1;
	}
	thaw_run_opts ro = {.checkpoint = ckpt ? ckpt : NULL, .resume = resume, .checkpoint_every = every,
			    .seed = o.seed, .argc = argc - 1, .argv = argv + 1, .should_stop = should_stop};
	if (resume && model_path) {
		cli_errorf("train", "--resume continues the checkpoint's model; leave out --model");
		return 1;
	}
	static int replaying; /* the recorded options are read once */
	if (resume && !replaying)
		ro.argc = 0, ro.argv = NULL; /* take the checkpoint's */
	thaw_run *run = thaw_run_new(&ro);
	if (!run) {
		cli_errorf("train", "%s", thaw_errmsg());
		return 1;
	}
	if (resume && !replaying) {
		/* the options the checkpoint recorded, then those given now (later
		 * ones win), so `thaw train --resume FILE` needs nothing else */
		char **rargv;
		int rargc = thaw_run_args(run, &rargv), n = 0, code = 1;
		char **args = calloc((size_t)rargc + (size_t)argc + 1, sizeof *args);
		if (args) {
			args[n++] = "train"; /* not argv[0]: cli_getopt starts a new scan */
			for (int i = 0; i < rargc; i++) {
				if (!strcmp(rargv[i], "--resume") && i + 1 < rargc) {
					i++;
					continue;
				}
				if (strncmp(rargv[i], "--resume=", 9))
					args[n++] = rargv[i];
			}
			for (int i = 1; i < argc; i++)
				args[n++] = argv[i];
			replaying = 1;
			code = cmd_train(n, args);
			replaying = 0;
		} else {
			cli_errorf("train", "out of memory");
		}
		free(args);
		thaw_run_free(run);
		return code;
	}
	if (resume && !ckpt) /* continue writing where it was */
		ckpt = resume;
	if (resume) {
		thaw_run_free(run);
		ro.checkpoint = ckpt;
		ro.argc = argc - 1, ro.argv = argv + 1;
		if (!(run = thaw_run_new(&ro))) {
			cli_errorf("train", "%s", thaw_errmsg());
			return 1;
		}
		o.seed = thaw_run_seed(run);
	}
	thaw_blas_set_threads(threads ? threads : thaw_dist_threads());
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
	if (resume) {
		thaw_position pos;
		char path[4200];
		struct stat sb;
		snprintf(path, sizeof path, stat(resume, &sb) == 0 && S_ISDIR(sb.st_mode) ? "%s/checkpoint.thaw" : "%s",
			 resume);
		if (!(m = thaw_checkpoint_load(path, &pos, NULL)))
			goto fail;
		thaw_notes_add(&nt, "resuming %s: phase '%s', %d epochs and %d batches done", path, pos.phase, pos.epoch,
			       pos.batch);
	} else if (model_path) {
		if (!(m = cli_load_model(model_path, NULL, NULL)))
			goto fail;
		thaw_notes_add(&nt, "model %s: %d layers, %d outputs", model_path, m->n,
			       m->n ? (int)thaw_shape_sample(thaw_model_output_shape(m)) : 0);
	}
	po.model = m; /* text data: encoded with the model's vocabulary */
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
	if (resume) {
		/* the checkpoint is the transferred model, flags and all */
	} else if (m) {
		if (thaw_transfer(m, train, &to, &nt) < 0)
			goto fail;
		print_notes(&nt, &printed);
	} else if (train->ids) { /* text: the small embedding + mean + dense classifier */
		if (!(m = thaw_zoo_text_classifier(train->vocab->n, train->w, 64, train->n_classes, o.seed)))
			goto fail;
		thaw_model_set_vocab(m, train->vocab);
		thaw_model_set_classes(m, (const char *const *)train->class_names, train->n_classes);
		thaw_notes_add(&nt, "text classifier: embedding %d words x 64, mean over the tokens, dense %d",
			       train->vocab->n, train->n_classes);
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
	if (freeze && !resume && thaw_model_freeze_upto(m, freeze) < 0)
		goto fail;
	thaw_param_counts pc = thaw_model_count(m);
	if (thaw_dist_writer())
		fprintf(stderr, "model: %d nodes, %zu trainable and %zu frozen parameters; data: %d images of %dx%dx%d, %d classes\n",
		m->n, pc.trainable, pc.frozen, train->n, train->c, train->h, train->w, train->n_classes);
	progress p = {isatty(2), -1, -1};
	thaw_run_set_sink(run, on_event, &p);
	o.val = val;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigint;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL); /* kill, mpirun passing on Ctrl-C, a time limit: as Ctrl-C */
	thaw_phase_result res;
	int frc = thaw_run_fit(run, m, train, &o, ckpt != NULL, &res);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	cli_progress_end_line();
	if (frc == THAW_ESTOP) {
		if (!thaw_dist_writer())
			;
		else if (ckpt)
			fprintf(stderr, "thaw train: interrupted; continue with: thaw train --resume %s\n", ckpt);
		else
			fprintf(stderr, "thaw train: interrupted (no --checkpoint: nothing saved)\n");
		rc = 130;
		goto done;
	}
	if (frc < 0)
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
	if (out && thaw_dist_writer()) {
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
	thaw_run_free(run);
	return rc;
}
