/* thaw tui (and `thaw` with no arguments): the ncurses workbench.
 *   thaw                                   the default transfer session
 *   thaw tui SCRIPT [-- ARGS]              a Lua experiment with live views
 *   thaw tui --model FILE --data SPEC      a model and a data set
 * The default session takes the shipped base model (trained on
 * Fashion-MNIST classes 0-4), replaces its output layer by a 5-class head,
 * freezes the base, and trains on a few labelled images of classes 5-9,
 * validating on the test split of those classes. Without the base model it
 * trains the reference CNN from scratch on the same task and says so. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "thaw/modelfile.h"
#include "thaw/tui.h"
#include "thaw/zoo.h"

static const char usage[] =
	"usage: thaw [tui] [--base FILE] [--per-class K] [--epochs N] [--batch N] [--lr X] [--seed N]\n"
	"       thaw tui SCRIPT [-- ARGS...]\n"
	"       thaw tui --model FILE --data SPEC [--val SPEC] [--epochs N] [--batch N] [--lr X]\n"
	"Opens the workbench. Without a model or script: the default session, the\n"
	"base model assets/fashion-base.thaw with a new 5-class head on Fashion-MNIST\n"
	"classes 5-9 (K labelled images per class, default 20). Keys: ? in the workbench.\n";

#define MAX_LOG 16

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

/* The shipped base: beside the sources, or where `make install` put it. */
static const char *find_base(const char *given)
{
	static char path[4200];
	if (given)
		return given;
	snprintf(path, sizeof path, "%s/assets/fashion-base.thaw", thaw_share_dir());
	return access(path, R_OK) == 0 ? path : NULL;
}

/* Converts *d to the model's input in place; notes what changed. */
static int to_model(thaw_dataset **d, const thaw_model *m, setup *st, const char *what)
{
	char desc[256] = "";
	thaw_dataset *t = thaw_dataset_to_spec(*d, &m->input, desc, sizeof desc);
	if (!t)
		return -1;
	if (desc[0] && strncmp(desc, "unchanged", 9) != 0)
		note(st, "%s data: %s", what, desc);
	thaw_dataset_free(*d);
	*d = t;
	return 0;
}

static int replace(thaw_dataset **d, thaw_dataset *t)
{
	if (!t)
		return -1;
	thaw_dataset_free(*d);
	*d = t;
	return 0;
}

/* The Fashion-MNIST transfer task on classes 5-9. */
static int default_session(thaw_tui_opts *o, const char *base_arg, int per_class, int lr_given, setup *st, thaw_model **pm,
			   thaw_dataset **ptrain, thaw_dataset **pval)
{
	static const int classes[5] = {5, 6, 7, 8, 9};
	thaw_dataset *train = thaw_fashion_mnist(NULL, 0), *val = thaw_fashion_mnist(NULL, 1);
	*ptrain = train;
	*pval = val;
	if (!train || !val)
		return -1;
	if (replace(ptrain, thaw_dataset_select_classes(train, classes, 5)) < 0 ||
	    replace(pval, thaw_dataset_select_classes(val, classes, 5)) < 0 ||
	    replace(ptrain, thaw_dataset_per_class(*ptrain, per_class, o->fit.seed)) < 0)
		return -1;
	snprintf((*ptrain)->source, sizeof (*ptrain)->source, "fashion-mnist classes 5-9, %d per class", per_class);
	snprintf((*pval)->source, sizeof (*pval)->source, "fashion-mnist:test classes 5-9");
	const char *base = find_base(base_arg);
	thaw_model *m = NULL;
	if (base) {
		if (!(m = thaw_model_load(base, NULL)))
			return -1;
		*pm = m;
		int n_old = m->n;
		if (thaw_model_replace_head(m, 5, "head") < 0)
			return -1;
		if (m->n > 1)
			thaw_model_set_trainable(m, 0, m->n - 2, 0);
		thaw_model_set_trainable(m, m->n - 1, m->n - 1, 1);
		note(st, "base model %s (%d layers): output layer replaced by 'head' (5 classes); base frozen", base, n_old);
		if (!lr_given) /* only the head trains: a higher rate gets there within a few epochs */
			o->fit.optim.lr = 1e-2f;
	} else {
		if (!(m = thaw_zoo_reference_cnn(1, 28, 28, 5, o->fit.seed)))
			return -1;
		*pm = m;
		float mean[THAW_MAX_CHANNELS], sd[THAW_MAX_CHANNELS];
		if (thaw_dataset_stats(*ptrain, mean, sd) < 0)
			return -1;
		m->input.mean[0] = mean[0];
		m->input.std[0] = sd[0];
		note(st, "warning: assets/fashion-base.thaw not found: training the reference CNN from scratch on the");
		note(st, "warning: transfer task instead (make the base with: thaw run lua/examples/pretrain.lua)");
	}
	thaw_model_set_classes(m, thaw_fashion_mnist_classes + 5, 5);
	if (thaw_dataset_set_class_names(*ptrain, thaw_fashion_mnist_classes + 5, 5) < 0 ||
	    thaw_dataset_set_class_names(*pval, thaw_fashion_mnist_classes + 5, 5) < 0)
		return -1;
	if (to_model(ptrain, m, st, "training") < 0 || to_model(pval, m, st, "validation") < 0)
		return -1;
	note(st, "task: Fashion-MNIST classes 5-9 (Sandal, Shirt, Sneaker, Bag, Ankle boot), %d labelled images per class;",
	     per_class);
	note(st, "validation on the %d test images of those classes. t trains, space freezes, ? helps.", (*pval)->n);
	o->title = base ? "fashion-base -> classes 5-9" : "reference CNN (no base) -> classes 5-9";
	return 0;
}

int cmd_tui(int argc, char **argv)
{
	const char *model_path = NULL, *data = NULL, *val_spec = NULL, *script = NULL, *base = NULL;
	int per_class = 20, first_arg = argc, lr_given = 0;
	thaw_tui_opts o = thaw_tui_opts_default();
	o.fit.epochs = 10;
	o.fit.batch = 20;
	o.fit.seed = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--")) {
			first_arg = i + 1;
			break;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			return 0;
		} else if (!strcmp(a, "--model") && v)
			model_path = argv[++i];
		else if (!strcmp(a, "--data") && v)
			data = argv[++i];
		else if (!strcmp(a, "--val") && v)
			val_spec = argv[++i];
		else if (!strcmp(a, "--base") && v)
			base = argv[++i];
		else if (!strcmp(a, "--per-class") && v)
			per_class = atoi(argv[++i]);
		else if (!strcmp(a, "--epochs") && v)
			o.fit.epochs = atoi(argv[++i]);
		else if (!strcmp(a, "--batch") && v)
			o.fit.batch = atoi(argv[++i]);
		else if (!strcmp(a, "--lr") && v) {
			o.fit.optim.lr = (float)atof(argv[++i]);
			lr_given = 1;
		}
		else if (!strcmp(a, "--seed") && v)
			o.fit.seed = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(a, "-o") && v)
			o.save_path = argv[++i];
		else if (a[0] == '-' && a[1]) {
			cli_errorf("tui", "unknown or incomplete option '%s'", a);
			fputs(usage, stderr);
			return 1;
		} else if (!script)
			script = a;
		else {
			cli_errorf("tui", "one script at a time (got '%s' and '%s'); script arguments go after --", script, a);
			return 1;
		}
	}
	if (o.fit.epochs <= 0 || o.fit.batch <= 0 || per_class <= 0 || !(o.fit.optim.lr > 0)) {
		cli_errorf("tui", "--epochs, --batch, --per-class and --lr must be positive");
		return 1;
	}
	if (script && (model_path || data)) {
		cli_errorf("tui", "give a script or --model/--data, not both");
		return 1;
	}
	if (!!model_path != !!data) {
		cli_errorf("tui", "--model and --data go together");
		return 1;
	}
	if (!isatty(0) || !isatty(1)) {
		cli_errorf("tui", "the workbench needs a terminal; for a headless run use: thaw run SCRIPT");
		return 1;
	}
	setup st = {0};
	thaw_model *m = NULL;
	thaw_dataset *train = NULL, *val = NULL;
	int rc = 1;
	if (script) {
		if (access(script, R_OK) != 0) {
			cli_errorf("tui", "%s: cannot read the script", script);
			return 1;
		}
		o.script = script;
		o.argc = argc - first_arg;
		o.argv = argv + first_arg;
		o.title = script;
	} else if (model_path) {
		if (!(m = cli_open_model(model_path, NULL, NULL)) || !(train = thaw_dataset_open(data)) ||
		    (val_spec && !(val = thaw_dataset_open(val_spec))))
			goto fail;
		int K = thaw_model_class_count(m);
		if (K < 0) {
			cli_errorf("tui", "%s: %s", model_path, thaw_errmsg());
			goto done;
		}
		if (train->n_classes != K || (val && val->n_classes != K)) {
			const thaw_dataset *bad = train->n_classes != K ? train : val;
			cli_errorf("tui", "%s has %d classes but %s outputs %d class scores: give it a head of %d "
				   "(thaw edit %s -o OUT --pop --head %d)",
				   bad == train ? data : val_spec, bad->n_classes, model_path, K, bad->n_classes,
				   model_path, bad->n_classes);
			goto done;
		}
		if (to_model(&train, m, &st, "training") < 0 || (val && to_model(&val, m, &st, "validation") < 0))
			goto fail;
		note(&st, "model %s, data %s (%d images)%s%s", model_path, data, train->n, val ? ", validation " : "",
		     val ? val_spec : "");
		o.title = model_path;
	} else if (default_session(&o, base, per_class, lr_given, &st, &m, &train, &val) < 0) {
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
