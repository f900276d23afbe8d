/* thaw tui (and `thaw` with no arguments): the ncurses workbench.
 *   thaw                                   the default transfer session
 *   thaw tui SCRIPT [-- ARGS]              a Lua experiment with live views
 *   thaw tui --model FILE --data SPEC      a model and a data set
 * The default session takes the shipped base model (trained on
 * Fashion-MNIST classes 0-4), replaces its output layer by a 5-class head,
 * freezes the base, and trains on a few labelled images of classes 5-9,
 * validating on the test split of those classes. Without the base model it
 * trains the reference CNN from scratch on the same task and says so.
 * Both model sessions set up the data and the head through the transfer
 * recipe (thaw/transfer.h), whose lines open the log pane. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "thaw/modelfile.h"
#include "thaw/paths.h"
#include "thaw/runlog.h"
#include "thaw/transfer.h"
#include "thaw/tui.h"
#include "thaw/zoo.h"

static const char usage[] =
	"usage: thaw [tui] [--base FILE] [--per-class K] [--epochs N] [--batch N] [--lr X] [--seed N]\n"
	"                [-o FILE]\n"
	"       thaw tui SCRIPT [--out DIR] [-- ARGS...]\n"
	"       thaw tui --model FILE --data SPEC [--val SPEC|FRACTION|none] [--classes 5,6|A,B]\n"
	"                [--per-class K] [--cut NAME] [--resize stretch|crop|pad] [--skip-bad]\n"
	"                [--epochs N] [--batch N] [--lr X]\n"
	"Opens the workbench. Without a model or script: the default session, the\n"
	"shipped base model fashion-base.thaw (in assets/ beside the binary, or in\n"
	"PREFIX/share/thaw/assets) with a new 5-class head on Fashion-MNIST\n"
	"classes 5-9 (K labelled images per class, default 20). With --model and --data:\n"
	"when the data's classes are not the model's, the old head (or everything after\n"
	"--cut NAME) is cut off, a new head for the data's classes added and the base\n"
	"frozen; without --val a stratified 20 % is held out for validation. Text data\n"
	"(a .tsv/.csv of label and text, a folder of class folders of .txt) for a text\n"
	"model is encoded with the model's vocabulary and length, and the data browser\n"
	"lists the texts. The log\n"
	"pane lists each step. A script's files (thaw.run_dir()) go to --out DIR, by\n"
	"default runs/DATE-SCRIPT/; s proposes runs/workbench-DATE/model.thaw unless\n"
	"-o FILE (--output). Keys: ? in the workbench, or man thaw.\n";

#define MAX_LOG 32

typedef struct setup {
	const char *log[MAX_LOG];
	char store[MAX_LOG][512];
	int n;
} setup;

static void note(setup *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(setup *st, const char *fmt, ...)
{
	if (st->n >= MAX_LOG)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(st->store[st->n], sizeof st->store[st->n], fmt, ap);
	va_end(ap);
	st->log[st->n] = st->store[st->n];
	st->n++;
}

static void take_notes(setup *st, const thaw_notes *nt)
{
	for (int i = 0; i < nt->n; i++)
		note(st, "%s", nt->line[i]);
}

/* The shipped base: beside the binary in a build tree, or where `make
 * install` put it; NULL (the reason in why) when there is none. */
static const char *find_base(const char *given, char *why, size_t why_size)
{
	static char path[4200];
	if (given)
		return given;
	if (thaw_asset_path("fashion-base.thaw", path, sizeof path) == 0)
		return path;
	snprintf(why, why_size, "%s", thaw_errmsg());
	return NULL;
}

/* The Fashion-MNIST transfer task on classes 5-9, through the same recipe
 * as --model/--data: the base's head is cut, a new one added for the five
 * classes, the base frozen; the test split of those classes validates. */
static int default_session(thaw_tui_opts *o, const char *base_arg, int per_class, int lr_given, setup *st, thaw_model **pm,
			   thaw_dataset **ptrain, thaw_dataset **pval)
{
	char why[1024] = "";
	const char *base = find_base(base_arg, why, sizeof why);
	thaw_model *m = NULL;
	if (base && !(m = *pm = thaw_model_load(base, NULL)))
		return -1;
	thaw_notes nt = {0};
	thaw_prepare_opts po = thaw_prepare_opts_default();
	po.classes = "5,6,7,8,9";
	po.per_class = per_class;
	po.val = "fashion-mnist:test";
	po.seed = o->fit.seed;
	int rc = thaw_data_prepare("fashion-mnist", &po, m ? &m->input : NULL, ptrain, pval, &nt);
	if (rc == 0 && m)
		rc = thaw_transfer(m, *ptrain, NULL, &nt);
	take_notes(st, &nt);
	thaw_notes_free(&nt);
	if (rc < 0)
		return -1;
	if (m) {
		if (!lr_given) /* only the head trains: a higher rate gets there within a few epochs */
			o->fit.optim.lr = 1e-2f;
	} else {
		if (!(m = *pm = thaw_zoo_reference_cnn(1, 28, 28, 5, o->fit.seed)))
			return -1;
		float mean[THAW_MAX_CHANNELS], sd[THAW_MAX_CHANNELS];
		if (thaw_dataset_stats(*ptrain, mean, sd) < 0)
			return -1;
		m->input.mean[0] = mean[0];
		m->input.std[0] = sd[0];
		thaw_model_set_classes(m, (const char *const *)(*ptrain)->class_names, 5);
		note(st, "warning: %s", why);
		note(st, "warning: fashion-base.thaw not found: training the reference CNN from scratch on the");
		note(st, "warning: transfer task instead (make the base with scripts/make-assets in the source tree)");
	}
	note(st, "task: Fashion-MNIST classes 5-9 (Sandal, Shirt, Sneaker, Bag, Ankle boot), %d labelled images per class;",
	     per_class);
	note(st, "validation on the %d test images of those classes. t trains, space freezes, ? helps.", (*pval)->n);
	o->title = base ? "fashion-base -> classes 5-9" : "reference CNN (no base) -> classes 5-9";
	return 0;
}

enum { O_BASE = 256, O_PER_CLASS, O_EPOCHS, O_BATCH, O_LR, O_SEED, O_MODEL, O_DATA, O_VAL, O_CLASSES, O_CUT,
       O_RESIZE, O_SKIP_BAD, O_OUT };

static const struct option tui_options[] = {
	{"base", required_argument, NULL, O_BASE},	     {"per-class", required_argument, NULL, O_PER_CLASS},
	{"epochs", required_argument, NULL, O_EPOCHS},	     {"batch", required_argument, NULL, O_BATCH},
	{"lr", required_argument, NULL, O_LR},		     {"seed", required_argument, NULL, O_SEED},
	{"output", required_argument, NULL, 'o'},	     {"model", required_argument, NULL, O_MODEL},
	{"data", required_argument, NULL, O_DATA},	     {"val", required_argument, NULL, O_VAL},
	{"classes", required_argument, NULL, O_CLASSES},     {"cut", required_argument, NULL, O_CUT},
	{"resize", required_argument, NULL, O_RESIZE},	     {"skip-bad", no_argument, NULL, O_SKIP_BAD},
	{"out", required_argument, NULL, O_OUT},	     {"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

int cmd_tui(int argc, char **argv)
{
	const char *model_path = NULL, *data = NULL, *val_spec = NULL, *script = NULL, *base = NULL,
		   *classes = NULL, *out_dir = NULL;
	int per_class = 0, lr_given = 0, resize = -1, skip_bad = 0, rc;
	double lr;
	thaw_transfer_opts to = thaw_transfer_opts_default();
	thaw_tui_opts o = thaw_tui_opts_default();
	o.fit.epochs = 10;
	o.fit.batch = 20;
	o.fit.seed = 1;
	/* what follows "--" is the script's: getopt sees only what comes before */
	int dd = cli_dashdash(argc, argv), first_arg = dd < argc ? dd + 1 : argc;
	for (int c; (c = cli_getopt("tui", dd, argv, "ho:", tui_options)) != -1;) {
		rc = 0;
		switch (c) {
		case 'h': fputs(usage, stdout); return 0;
		case 'o': o.save_path = optarg; break;
		case O_MODEL: model_path = optarg; break;
		case O_DATA: data = optarg; break;
		case O_VAL: val_spec = optarg; break;
		case O_CLASSES: classes = optarg; break;
		case O_CUT: to.cut = optarg; break;
		case O_BASE: base = optarg; break;
		case O_SKIP_BAD: skip_bad = 1; break;
		case O_RESIZE: rc = cli_resize(optarg, &resize); break;
		case O_PER_CLASS: rc = cli_int(optarg, 1, INT_MAX, &per_class); break;
		case O_EPOCHS: rc = cli_int(optarg, 1, 1000000, &o.fit.epochs); break;
		case O_BATCH: rc = cli_int(optarg, 1, 65536, &o.fit.batch); break;
		case O_SEED: rc = cli_u64(optarg, &o.fit.seed); break;
		case O_LR:
			if ((rc = cli_positive(optarg, 10, &lr)) == 0)
				o.fit.optim.lr = (float)lr, lr_given = 1;
			break;
		case O_OUT: out_dir = optarg; break;
		default: return CLI_EUSAGE;
		}
		if (rc < 0)
			return CLI_EUSAGE;
	}
	if (optind < dd)
		script = argv[optind++];
	if (optind < dd)
		return cli_usage_error("tui", "one script at a time (got '%s' and '%s'); script arguments go after --",
				       script, argv[optind]);
	if (!script && dd < argc)
		return cli_usage_error("tui", "arguments after -- are a script's: give the SCRIPT before them");
	if (out_dir && !script)
		return cli_usage_error("tui", "--out names a script's run folder; without a script, -o FILE sets where s saves");
	if (script && (model_path || data))
		return cli_usage_error("tui", "give a script or --model/--data, not both");
	if (!!model_path != !!data)
		return cli_usage_error("tui", "--model and --data go together");
	if (!model_path && (classes || to.cut || val_spec))
		return cli_usage_error("tui", "--classes, --cut and --val go with --model and --data");
	if (script && access(script, R_OK) != 0) {
		cli_errorf("tui", "%s: %s", script, strerror(errno));
		return 1;
	}
	if (!isatty(0) || !isatty(1)) {
		cli_errorf("tui", "the workbench needs a terminal; for a headless run use: thaw run SCRIPT");
		return 1;
	}
	setup st = {0};
	thaw_model *m = NULL;
	thaw_dataset *train = NULL, *val = NULL;
	rc = 1;
	if (script) {
		/* the script's run folder, as thaw run makes one: whatever it
		 * writes through thaw.run_dir() goes there, not into the current
		 * directory */
		static char dir[4200];
		if (out_dir) {
			snprintf(dir, sizeof dir, "%s", out_dir);
		} else {
			char stamp[32], name[256];
			time_t now = time(NULL);
			strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
			const char *slash = strrchr(script, '/');
			snprintf(name, sizeof name, "%s", slash ? slash + 1 : script);
			char *dot = strrchr(name, '.');
			if (dot && !strcmp(dot, ".lua"))
				*dot = 0;
			snprintf(dir, sizeof dir, "runs/%s-%s", stamp, name);
			for (int k = 2; access(dir, F_OK) == 0 && k < 1000; k++)
				snprintf(dir, sizeof dir, "runs/%s-%s-%d", stamp, name, k);
		}
		if (thaw_mkdirs(dir) < 0)
			goto fail;
		note(&st, "run folder %s (the script's thaw.run_dir())", dir);
		o.run_dir = dir;
		o.script = script;
		o.argc = argc - first_arg;
		o.argv = argv + first_arg;
		o.title = script;
	} else if (model_path) {
		int is_onnx = 0;
		if (!(m = cli_open_model(model_path, NULL, &is_onnx)))
			goto fail;
		note(&st, "model %s: %d layers, %d outputs", model_path, m->n,
		     m->n ? (int)thaw_shape_sample(thaw_model_output_shape(m)) : 0);
		for (const char *w; (w = thaw_warning_next());) /* a model file's stale class names, say */
			note(&st, "warning: %s", w);
		if (!is_onnx) { /* a saved session: its position, to continue */
			thaw_position pos;
			thaw_model *again = thaw_checkpoint_load(model_path, &pos, NULL);
			while (thaw_warning_next()) /* said once above */
				;
			if (again && pos.phase_index > 0 && (pos.batch > 0 || pos.epoch < o.fit.epochs)) {
				o.resume = pos;
				o.fit.seed = pos.seed;
				note(&st, "%s: phase %d '%s' stopped after epoch %d, batch %d: t continues it", model_path,
				     pos.phase_index, pos.phase, pos.epoch, pos.batch);
			}
			thaw_model_free(again);
		}
		thaw_notes nt = {0};
		thaw_prepare_opts po = thaw_prepare_opts_default();
		po.classes = classes;
		po.per_class = per_class;
		po.val = val_spec;
		po.seed = o.fit.seed;
		po.resize = resize;
		po.skip_bad = skip_bad;
		po.progress = isatty(2) ? cli_load_progress : NULL;
		po.model = m; /* text data: encoded with the model's vocabulary */
		int trc = thaw_data_prepare(data, &po, &m->input, &train, &val, &nt);
		if (trc == 0)
			trc = thaw_transfer(m, train, &to, &nt);
		take_notes(&st, &nt);
		thaw_notes_free(&nt);
		if (trc < 0)
			goto fail;
		if (trc == 1) /* a new head: nothing of the saved phase goes on */
			o.resume.phase_index = 0;
		if (trc == 1 && to.freeze && !lr_given) { /* only the head trains, as in the default session */
			o.fit.optim.lr = 1e-2f;
			note(&st, "learning rate 0.01 while only the head trains (l changes it)");
		}
		o.title = model_path;
	} else if (default_session(&o, base, per_class ? per_class : 20, lr_given, &st, &m, &train, &val) < 0) {
		goto fail;
	}
	for (const char *w; (w = thaw_warning_next());) /* a model file's stale class names, say */
		note(&st, "warning: %s", w);
	o.model = m;
	o.train = train;
	o.val = val;
	o.log = st.log;
	o.n_log = st.n;
	rc = thaw_tui_run(&o);
	if (rc == 1 && thaw_errmsg()[0])
		cli_errorf("tui", "%s", thaw_errmsg());
	goto done;
fail:
	cli_errorf("tui", "%s", thaw_errmsg());
done:
	thaw_model_free(m);
	thaw_dataset_free(train);
	thaw_dataset_free(val);
	return rc;
}
