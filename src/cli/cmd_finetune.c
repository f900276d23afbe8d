/* thaw fine-tune and thaw lr-find: the recipes of thaw/finetune.h from the
 * command line. Both open the model and the data as thaw train does (the
 * transfer recipe's data preparation), train or sweep, and print results. */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "thaw/blas.h"
#include "thaw/finetune.h"
#include "thaw/modelfile.h"
#include "thaw/plot.h"
#include "thaw/run.h"
#include "thaw/transfer.h"

static volatile sig_atomic_t stop_requested;

static void on_sigint(int sig)
{
	(void)sig;
	if (stop_requested)
		_exit(130);
	stop_requested = 1;
}

static int should_stop(void *user)
{
	(void)user;
	return stop_requested;
}

static int progress_sink(const thaw_event *ev, void *user)
{
	return cli_progress_event(ev, *(int *)user);
}

/* A phase through the run: its events reach the progress sink, and Ctrl-C
 * stops it at the next batch. */
static int run_fit(void *user, thaw_model *m, const thaw_dataset *d, const thaw_fit_opts *fo)
{
	thaw_phase_result res;
	int rc = thaw_run_fit(user, m, d, fo, 0, &res);
	if (res.interrupted)
		return THAW_ESTOP;
	return rc < 0 ? rc : res.epochs;
}

/* The options both commands share: where the data comes from. */
enum { O_DATA = 256, O_CLASSES, O_PER_CLASS, O_VAL, O_TEST, O_CUT, O_SEED, O_THREADS, O_RESIZE, O_SKIP_BAD,
       O_BATCH, O_LR, O_FT_LR, O_EPOCHS, O_HEAD_EPOCHS, O_STEPS, O_HEAD_STEPS, O_SPREAD, O_GROUPS, O_GRADUAL,
       O_SHIFT, O_FLIP, O_SMOOTHING, O_WD, O_DROPOUT, O_BN, O_OPTIM, O_LR_MIN, O_LR_MAX, O_NO_AUG, O_UNFREEZE };

typedef struct common {
	const char *model, *spec, *classes, *val, *test, *out;
	int per_class, threads, resize, skip_bad;
	int optim; /* --optim, or -1: the command's default */
	uint64_t seed;
} common;

/* 1: handled (0 in *rc) or a usage error (*rc set); 0: not a common option */
static int common_opt(const char *cmd, int c, const char *v, common *co, int *rc)
{
	*rc = 0;
	switch (c) {
	case O_DATA: co->spec = v; return 1;
	case O_CLASSES: co->classes = v; return 1;
	case O_VAL: co->val = v; return 1;
	case O_TEST: co->test = v; return 1;
	case O_PER_CLASS: *rc = cli_int(v, 1, INT_MAX, &co->per_class) < 0 ? CLI_EUSAGE : 0; return 1;
	case O_THREADS: *rc = cli_int(v, 0, 1024, &co->threads) < 0 ? CLI_EUSAGE : 0; return 1;
	case O_SEED: *rc = cli_u64(v, &co->seed) < 0 ? CLI_EUSAGE : 0; return 1;
	case O_RESIZE: *rc = cli_resize(v, &co->resize) < 0 ? CLI_EUSAGE : 0; return 1;
	case O_SKIP_BAD: co->skip_bad = 1; return 1;
	case 'o': co->out = v; return 1;
	case O_OPTIM:
		if ((co->optim = thaw_optim_from_name(v)) < 0)
			*rc = cli_usage_error(cmd, "--optim: unknown optimizer '%s' (adam, adamw, sgd)", v);
		return 1;
	}
	return 0;
}

/* After the options: MODEL, the only positional argument, and --data. */
static int common_args(const char *cmd, int argc, char **argv, common *co)
{
	if (optind < argc)
		co->model = argv[optind++];
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (!co->model)
		return cli_usage_error(cmd, "needs a MODEL (.thaw or .onnx)");
	if (!co->spec)
		return cli_usage_error(cmd, "needs --data SPEC");
	return 0;
}

/* The model, and the training (and validation) data prepared for it. */
static int open_inputs(const char *cmd, const common *co, const char *val, thaw_model **m, thaw_dataset **train,
		       thaw_dataset **valid)
{
	if (!(*m = cli_load_model(co->model, NULL, NULL)))
		return -1;
	thaw_notes nt = {0};
	thaw_prepare_opts po = thaw_prepare_opts_default();
	po.classes = co->classes;
	po.per_class = co->per_class;
	po.val = val;
	po.seed = co->seed;
	po.resize = co->resize;
	po.skip_bad = co->skip_bad;
	po.progress = isatty(2) ? cli_load_progress : NULL;
	int rc = thaw_data_prepare(co->spec, &po, &(*m)->input, train, valid, &nt);
	for (int i = 0; i < nt.n; i++)
		fprintf(stderr, "%s\n", nt.line[i]);
	thaw_notes_free(&nt);
	(void)cmd;
	return rc;
}

/* Reads a number option (> 0) or fails with the option's name. */
static int num(const char *v, double hi, float *out)
{
	double x;
	if (cli_positive(v, hi, &x) < 0)
		return CLI_EUSAGE;
	*out = (float)x;
	return 0;
}

static int nonneg(const char *v, float *out)
{
	double x;
	if (cli_parse_double(v, &x) < 0 || x < 0) {
		fprintf(stderr, "thaw: %s: expected a number >= 0, got '%s'\n", cli_option(), v);
		return CLI_EUSAGE;
	}
	*out = (float)x;
	return 0;
}

static const char ft_usage[] =
	"usage: thaw fine-tune MODEL --data SPEC [--cut NAME] [--classes A,B] [--per-class K]\n"
	"                      [--val SPEC|FRACTION|none] [--test SPEC] [-o OUT]\n"
	"                      [--head-epochs N | --head-steps N] [--epochs N | --steps N] [--batch N]\n"
	"                      [--lr X] [--ft-lr X] [--spread X] [--groups N] [--gradual]\n"
	"                      [--optim adam|adamw|sgd] [--weight-decay X] [--smoothing X] [--dropout X]\n"
	"                      [--shift N] [--flip] [--no-aug] [--bn-min-batch N] [--seed N] [--threads N]\n"
	"                      [--resize stretch|crop|pad] [--skip-bad]\n"
	"Transfer without tuning, as fastai's fine_tune: the base frozen and the head\n"
	"trained on a one-cycle schedule (phase 'head'), then everything thawed and\n"
	"trained with discriminative learning rates, lower for earlier layer groups\n"
	"(phase 'fine-tune'; --spread 100 between the first group and the head).\n"
	"When the data's classes are not the model's, the old head (or everything\n"
	"after --cut NAME) is replaced by a new one. Batch norms stay frozen when the\n"
	"batch is below --bn-min-batch (32). --gradual thaws one more group after each\n"
	"epoch (ULMFiT). Defaults: 300 steps a phase (small data gets more passes),\n"
	"batch min(32, images), adamw, lr 3e-3 (--ft-lr lr/2), 3 groups, label\n"
	"smoothing 0.1, weight decay 0.01, dropout 0.5 before a new head, shifts of\n"
	"up to 2 pixels, seed 1.\n"
	"Prints test_accuracy when there is test data (fashion-mnist: its test split).\n";

int cmd_finetune(int argc, char **argv)
{
	static const struct option lo[] = {
		{"data", required_argument, NULL, O_DATA},	      {"classes", required_argument, NULL, O_CLASSES},
		{"per-class", required_argument, NULL, O_PER_CLASS}, {"val", required_argument, NULL, O_VAL},
		{"test", required_argument, NULL, O_TEST},	      {"cut", required_argument, NULL, O_CUT},
		{"seed", required_argument, NULL, O_SEED},	      {"threads", required_argument, NULL, O_THREADS},
		{"resize", required_argument, NULL, O_RESIZE},      {"skip-bad", no_argument, NULL, O_SKIP_BAD},
		{"batch", required_argument, NULL, O_BATCH},	      {"lr", required_argument, NULL, O_LR},
		{"ft-lr", required_argument, NULL, O_FT_LR},	      {"epochs", required_argument, NULL, O_EPOCHS},
		{"head-epochs", required_argument, NULL, O_HEAD_EPOCHS},
		{"steps", required_argument, NULL, O_STEPS},	      {"head-steps", required_argument, NULL, O_HEAD_STEPS},
		{"spread", required_argument, NULL, O_SPREAD},      {"groups", required_argument, NULL, O_GROUPS},
		{"gradual", no_argument, NULL, O_GRADUAL},	      {"shift", required_argument, NULL, O_SHIFT},
		{"flip", no_argument, NULL, O_FLIP},		      {"no-aug", no_argument, NULL, O_NO_AUG},
		{"smoothing", required_argument, NULL, O_SMOOTHING},
		{"weight-decay", required_argument, NULL, O_WD},    {"bn-min-batch", required_argument, NULL, O_BN},
		{"dropout", required_argument, NULL, O_DROPOUT},
		{"optim", required_argument, NULL, O_OPTIM},	      {"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},		      {0}};
	common co = {.spec = NULL, .resize = -1, .optim = -1, .seed = 1};
	thaw_finetune_opts o = thaw_finetune_opts_default();
	int c, rc = 0, n;
	long steps;
	while ((c = cli_getopt("fine-tune", argc, argv, "ho:", lo)) != -1) {
		const char *v = optarg;
		if (common_opt("fine-tune", c, v, &co, &rc)) {
			if (rc)
				return rc;
			continue;
		}
		switch (c) {
		case 'h': fputs(ft_usage, stdout); return 0;
		case O_CUT: o.cut = v; break;
		case O_BATCH: rc = cli_int(v, 1, 65536, &o.batch); break;
		case O_LR: rc = num(v, 10, &o.lr); break;
		case O_FT_LR: rc = num(v, 10, &o.ft_lr); break;
		case O_SPREAD: rc = num(v, 1e6, &o.spread); break;
		case O_EPOCHS: rc = cli_int(v, 0, 1000000, &o.epochs); if (!rc && !o.epochs) o.steps = 0; break;
		case O_HEAD_EPOCHS: rc = cli_int(v, 0, 1000000, &o.head_epochs); if (!rc && !o.head_epochs) o.head_steps = 0; break;
		case O_STEPS: rc = cli_int(v, 0, INT_MAX, &n); steps = n; o.steps = steps; break;
		case O_HEAD_STEPS: rc = cli_int(v, 0, INT_MAX, &n); steps = n; o.head_steps = steps; break;
		case O_GROUPS: rc = cli_int(v, 1, THAW_FT_MAX_GROUPS, &o.groups); break;
		case O_GRADUAL: o.gradual = 1; break;
		case O_SHIFT: rc = cli_int(v, 0, 64, &o.shift); break;
		case O_FLIP: o.flip = 1; break;
		case O_NO_AUG: o.shift = 0, o.flip = 0; break;
		case O_SMOOTHING: rc = nonneg(v, &o.smoothing); break;
		case O_WD: rc = nonneg(v, &o.weight_decay); break;
		case O_DROPOUT: rc = nonneg(v, &o.dropout); break;
		case O_BN: rc = cli_int(v, 1, 65536, &o.bn_min_batch); break;
		default: return CLI_EUSAGE;
		}
		if (rc)
			return CLI_EUSAGE;
	}
	if ((rc = common_args("fine-tune", argc, argv, &co)))
		return rc;
	if (co.optim >= 0)
		o.optimizer = (thaw_optim_kind)co.optim;
	o.seed = co.seed;
	thaw_blas_set_threads(co.threads);
	if (!co.test && (!strcmp(co.spec, "fashion-mnist") || !strcmp(co.spec, "fashion-mnist:train")))
		co.test = "fashion-mnist:test";
	/* without --val, the test split validates every epoch (as thaw train) */
	int test_is_val = !co.val && co.test;
	thaw_model *m = NULL;
	thaw_dataset *train = NULL, *val = NULL, *test = NULL, *none = NULL;
	thaw_run *run = NULL;
	int code = 1;
	if (open_inputs("fine-tune", &co, test_is_val ? co.test : co.val, &m, &train, &val) < 0)
		goto fail;
	if (co.test && !test_is_val) {
		thaw_prepare_opts tpo = thaw_prepare_opts_default();
		tpo.classes = co.classes;
		tpo.val = "none";
		tpo.resize = co.resize;
		if (thaw_data_prepare(co.test, &tpo, &m->input, &test, &none, NULL) < 0)
			goto fail;
	}
	int tty = isatty(2);
	thaw_run_opts ro = {.seed = co.seed, .argc = argc - 1, .argv = argv + 1, .on_event = progress_sink,
			    .user = &tty, .should_stop = should_stop};
	if (!(run = thaw_run_new(&ro)))
		goto fail;
	o.val = val;
	o.on_event = progress_sink; /* fine_tune's own lines */
	o.user = &tty;
	o.fit = run_fit;
	o.fit_user = run;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigint;
	sigaction(SIGINT, &sa, NULL);
	thaw_finetune_result res;
	int frc = thaw_fine_tune(m, train, &o, &res);
	signal(SIGINT, SIG_DFL);
	cli_progress_end_line();
	if (frc == THAW_ESTOP || stop_requested) {
		fprintf(stderr, "thaw fine-tune: interrupted; nothing saved\n");
		code = 130;
		goto done;
	}
	if (frc < 0)
		goto fail;
	thaw_dataset *final = test ? test : test_is_val ? val : NULL;
	if (final) {
		thaw_metrics *mt = thaw_metrics_new(train->n_classes, 1);
		if (!mt || thaw_evaluate(m, final, 256, mt) < 0) {
			thaw_metrics_free(mt);
			goto fail;
		}
		printf("test_accuracy: %.4f\n", thaw_metrics_accuracy(mt));
		printf("test_loss: %.4f\n", thaw_metrics_loss(mt));
		thaw_metrics_free(mt);
	} else if (val) {
		thaw_metrics *mt = thaw_metrics_new(train->n_classes, 1);
		if (!mt || thaw_evaluate(m, val, 256, mt) < 0) {
			thaw_metrics_free(mt);
			goto fail;
		}
		printf("val_accuracy: %.4f\n", thaw_metrics_accuracy(mt));
		printf("val_loss: %.4f\n", thaw_metrics_loss(mt));
		thaw_metrics_free(mt);
	}
	if (co.out) {
		if (thaw_model_save(m, co.out, NULL) < 0)
			goto fail;
		fprintf(stderr, "saved %s\n", co.out);
	}
	code = 0;
	goto done;
fail:
	cli_errorf("fine-tune", "%s", thaw_errmsg());
done:
	thaw_run_free(run);
	thaw_model_free(m);
	thaw_dataset_free(train);
	thaw_dataset_free(val);
	thaw_dataset_free(test);
	thaw_dataset_free(none);
	return code;
}

static const char lf_usage[] =
	"usage: thaw lr-find MODEL --data SPEC [-o curve.png] [--cut NAME] [--unfreeze] [--classes A,B]\n"
	"                    [--per-class K] [--steps N] [--batch N] [--lr-min X] [--lr-max X]\n"
	"                    [--optim adam|adamw|sgd] [--seed N] [--threads N] [--resize MODE] [--skip-bad]\n"
	"The learning-rate finder: trains with a rate growing exponentially from\n"
	"--lr-min (1e-7) to --lr-max (10), a step a batch (--steps, default 100 to 300),\n"
	"until the loss diverges; prints the suggested rate (fastai's valley) with the\n"
	"steepest descent and the minimum / 10, and draws the curve (log-x) to -o PNG.\n"
	"The model is left as it was; nothing is saved. When the data's classes are\n"
	"not the model's it gets a new head (after --cut NAME) and a frozen base,\n"
	"as fine-tune's first phase trains it; --unfreeze sweeps with everything\n"
	"trainable (its second phase).\n";

int cmd_lrfind(int argc, char **argv)
{
	static const struct option lo[] = {
		{"data", required_argument, NULL, O_DATA},	      {"classes", required_argument, NULL, O_CLASSES},
		{"per-class", required_argument, NULL, O_PER_CLASS}, {"cut", required_argument, NULL, O_CUT},
		{"seed", required_argument, NULL, O_SEED},	      {"threads", required_argument, NULL, O_THREADS},
		{"resize", required_argument, NULL, O_RESIZE},      {"skip-bad", no_argument, NULL, O_SKIP_BAD},
		{"batch", required_argument, NULL, O_BATCH},	      {"steps", required_argument, NULL, O_STEPS},
		{"lr-min", required_argument, NULL, O_LR_MIN},      {"lr-max", required_argument, NULL, O_LR_MAX},
		{"optim", required_argument, NULL, O_OPTIM},	      {"unfreeze", no_argument, NULL, O_UNFREEZE},
		{"output", required_argument, NULL, 'o'},	      {"help", no_argument, NULL, 'h'},
		{0}};
	common co = {.spec = NULL, .resize = -1, .optim = -1, .seed = 1};
	thaw_lrfind_opts o = thaw_lrfind_opts_default();
	const char *cut = NULL;
	int c, rc = 0, unfreeze = 0;
	while ((c = cli_getopt("lr-find", argc, argv, "ho:", lo)) != -1) {
		const char *v = optarg;
		if (common_opt("lr-find", c, v, &co, &rc)) {
			if (rc)
				return rc;
			continue;
		}
		switch (c) {
		case 'h': fputs(lf_usage, stdout); return 0;
		case O_CUT: cut = v; break;
		case O_BATCH: rc = cli_int(v, 1, 65536, &o.batch); break;
		case O_STEPS: rc = cli_int(v, 2, 100000, &o.steps); break;
		case O_LR_MIN: rc = num(v, 10, &o.lr_min); break;
		case O_LR_MAX: rc = num(v, 1000, &o.lr_max); break;
		case O_UNFREEZE: unfreeze = 1; break;
		default: return CLI_EUSAGE;
		}
		if (rc)
			return CLI_EUSAGE;
	}
	if ((rc = common_args("lr-find", argc, argv, &co)))
		return rc;
	if (co.optim >= 0)
		o.optimizer = (thaw_optim_kind)co.optim;
	if (!(o.lr_min < o.lr_max))
		return cli_usage_error("lr-find", "--lr-min %g must be below --lr-max %g", (double)o.lr_min,
				       (double)o.lr_max);
	o.seed = co.seed;
	thaw_blas_set_threads(co.threads);
	thaw_model *m = NULL;
	thaw_dataset *train = NULL, *val = NULL;
	thaw_lrfind_result r = {0};
	int code = 1, tty = isatty(2);
	if (open_inputs("lr-find", &co, "none", &m, &train, &val) < 0)
		goto fail;
	thaw_notes nt = {0};
	rc = thaw_finetune_head(m, train, cut, 0.5f, &nt); /* as fine-tune's first phase has it */
	for (int i = 0; i < nt.n; i++)
		fprintf(stderr, "%s\n", nt.line[i]);
	thaw_notes_free(&nt);
	if (rc < 0)
		goto fail;
	if (unfreeze)
		thaw_model_set_trainable(m, 0, m->n - 1, 1);
	o.on_event = progress_sink;
	o.user = &tty;
	if (thaw_lr_find(m, train, &o, &r) < 0)
		goto fail;
	printf("suggested_lr: %.3g\n", r.suggested);
	printf("valley_lr: %.3g\n", r.valley);
	printf("steepest_lr: %.3g\n", r.steep);
	printf("minimum_lr_div10: %.3g\n", r.minimum);
	printf("steps: %d%s\n", r.n, r.diverged ? " (stopped: the loss diverged)" : "");
	if (co.out) {
		if (thaw_plot_lrfind(co.out, &r, NULL) < 0)
			goto fail;
		fprintf(stderr, "curve written to %s\n", co.out);
	}
	code = 0;
	goto done;
fail:
	cli_errorf("lr-find", "%s", thaw_errmsg());
done:
	thaw_lrfind_result_free(&r);
	thaw_model_free(m);
	thaw_dataset_free(train);
	thaw_dataset_free(val);
	return code;
}
