/* thaw summary | import | export: model files on the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "thaw/vocab.h"
#include "thaw/data.h"
#include "thaw/modelfile.h"
#include "thaw/onnx.h"

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

thaw_model *cli_load_model(const char *path, thaw_onnx_info *info, int *is_onnx)
{
	thaw_model *m = cli_open_model(path, info, is_onnx);
	cli_print_warnings();
	return m;
}

thaw_model *cli_open_model(const char *path, thaw_onnx_info *info, int *is_onnx)
{
	thaw_onnx_info dummy;
	int onnx_dummy;
	if (!info)
		info = &dummy;
	if (!is_onnx)
		is_onnx = &onnx_dummy;
	int onnx = ends_with(path, ".onnx");
	if (!onnx && !ends_with(path, ".thaw")) {
		FILE *f = fopen(path, "rb");
		unsigned char b[5] = {0};
		if (f) {
			onnx = fread(b, 1, 5, f) == 5 && memcmp(b + 1, "THAW", 4) != 0;
			fclose(f);
		}
	}
	*is_onnx = onnx;
	return onnx ? thaw_onnx_import(path, info) : thaw_model_load(path, NULL);
}

void cli_print_warnings(void)
{
	for (const char *w; (w = thaw_warning_next());)
		fprintf(stderr, "thaw: warning: %s\n", w);
}

static const struct option help_only[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
static const struct option in_out_options[] = {
	{"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};

/* Parses "IN -o OUT": 0 when the command goes on, else 1 with *rc the exit
 * code (0 after --help). */
static int in_out(const char *cmd, const char *usage, int argc, char **argv, const char **in, const char **out,
		  int *rc)
{
	*in = *out = NULL;
	*rc = CLI_EUSAGE;
	for (int c; (c = cli_getopt(cmd, argc, argv, "ho:", in_out_options)) != -1;) {
		if (c == 'h') {
			fputs(usage, stdout);
			*rc = 0;
			return 1;
		}
		if (c != 'o')
			return 1;
		*out = optarg;
	}
	if (optind < argc)
		*in = argv[optind++];
	if (optind < argc)
		cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	else if (!*in)
		cli_usage_error(cmd, "no input file given (thaw %s IN -o OUT)", cmd);
	else if (!*out)
		cli_usage_error(cmd, "no output file given (-o OUT)");
	else
		return 0;
	return 1;
}

static const char summary_usage[] =
	"usage: thaw summary FILE\n"
	"Shows a .thaw or .onnx model: its layers with output shapes, parameters,\n"
	"frozen flags and learning-rate multipliers, the input spec (channels, size,\n"
	"mean, std, resize policy) and the class names.\n";
static const char import_usage[] = "usage: thaw import IN.onnx -o OUT.thaw\n"
				   "Imports an ONNX model into a .thaw file (-o is --output).\n";
static const char export_usage[] = "usage: thaw export IN.thaw -o OUT.onnx\n"
				   "Exports a .thaw (or .onnx) model to ONNX (-o is --output).\n";

int cmd_summary(int argc, char **argv)
{
	for (int c; (c = cli_getopt("summary", argc, argv, "h", help_only)) != -1;) {
		if (c != 'h')
			return CLI_EUSAGE;
		fputs(summary_usage, stdout);
		return 0;
	}
	if (argc - optind != 1)
		return cli_usage_error("summary", "usage: thaw summary FILE (.thaw or .onnx)");
	const char *path = argv[optind];
	thaw_onnx_info info;
	int onnx;
	thaw_model *m = cli_load_model(path, &info, &onnx);
	if (!m) {
		cli_errorf("summary", "%s", thaw_errmsg());
		return 1;
	}
	char *s = thaw_model_summary(m);
	if (!s) {
		cli_errorf("summary", "%s: %s", path, thaw_errmsg());
		thaw_model_free(m);
		return 1;
	}
	fputs(s, stdout);
	free(s);
	const thaw_input_spec *in = &m->input;
	if (m->vocab) { /* a text model: its input is token ids */
		printf("input spec: text, %d tokens a sample; vocabulary %d words%s (with <pad> and <unk>)\n", in->w,
		       m->vocab->n, m->vocab->lower ? ", lower-cased" : "");
	} else {
		printf("input spec: %d channels, %dx%d, mean", in->c, in->h, in->w);
		for (int i = 0; i < in->c && i < THAW_MAX_CHANNELS; i++)
			printf(" %g", in->mean[i]);
		printf(", std");
		for (int i = 0; i < in->c && i < THAW_MAX_CHANNELS; i++)
			printf(" %g", in->std[i]);
		printf(", resize %s\n", thaw_resize_mode_name((thaw_resize_mode)in->resize));
	}
	if (m->n_classes) {
		printf("classes (%d):", m->n_classes);
		for (int i = 0; i < m->n_classes; i++)
			printf("%s %s", i ? "," : "", m->class_names[i]);
		printf("\n");
	} else {
		printf("classes: none recorded\n");
	}
	if (onnx) {
		printf("onnx: opset %d, ir %lld, producer '%s', %d nodes (%d folded)%s\n", info.opset,
		       (long long)info.ir_version, info.producer, info.n_onnx_nodes, info.n_folded,
		       info.softmax ? "; ends in Softmax (applied at inference, training uses logits)" : "");
	}
	thaw_model_free(m);
	return 0;
}

int cmd_import(int argc, char **argv)
{
	const char *in, *out;
	int rc;
	if (in_out("import", import_usage, argc, argv, &in, &out, &rc))
		return rc;
	thaw_onnx_info info;
	thaw_model *m = thaw_onnx_import(in, &info);
	if (!m) {
		cli_errorf("import", "%s", thaw_errmsg());
		return 1;
	}
	rc = thaw_model_save(m, out, NULL);
	if (rc < 0)
		cli_errorf("import", "%s", thaw_errmsg());
	else
		printf("%s: %d nodes, %zu parameters -> %s%s\n", in, m->n,
		       thaw_model_count(m).trainable + thaw_model_count(m).frozen, out,
		       info.softmax ? " (final Softmax dropped: thaw applies it at inference)" : "");
	thaw_model_free(m);
	return rc < 0 ? 1 : 0;
}

int cmd_export(int argc, char **argv)
{
	const char *in, *out;
	int rc;
	if (in_out("export", export_usage, argc, argv, &in, &out, &rc))
		return rc;
	thaw_onnx_info info;
	int onnx;
	thaw_model *m = cli_load_model(in, &info, &onnx);
	if (!m) {
		cli_errorf("export", "%s", thaw_errmsg());
		return 1;
	}
	rc = thaw_onnx_export(m, out);
	if (rc < 0)
		cli_errorf("export", "%s", thaw_errmsg());
	else
		printf("%s: %d nodes -> %s\n", in, m->n, out);
	thaw_model_free(m);
	return rc < 0 ? 1 : 0;
}

/* Sets trainable or the lr multiplier (mult >= 0) of the nodes SEL names. */
static int apply_selection(thaw_model *m, const char *sel, int trainable, float mult)
{
	char *mark = thaw_calloc((size_t)m->n + 1, 1);
	int rc = mark ? thaw_model_select(m, sel, mark) : THAW_ENOMEM;
	for (int k = 0; rc >= 0 && k < m->n; k++) {
		if (!mark[k])
			continue;
		if (mult >= 0)
			rc = thaw_model_set_lr_mult(m, k, mult);
		else
			m->nodes[k]->trainable = trainable;
	}
	free(mark);
	return rc;
}

static const char edit_usage[] =
	"usage: thaw edit IN -o OUT [OPERATION]...\n"
	"Cuts and extends a model (.thaw or .onnx in, .thaw or .onnx out; -o is\n"
	"--output); the operations apply in order:\n"
	"  --pop                  remove the output layer\n"
	"  --truncate NAME        keep the nodes up to NAME\n"
	"  --head UNITS[:NAME]    add a dense output layer (default name 'head')\n"
	"  --freeze SEL           SEL: a name or glob ('conv*'), an index range\n"
	"  --unfreeze SEL           '0-7' (as the summary numbers nodes) or 'upto:NAME'\n"
	"  --lr-mult SEL=X        learning-rate multiplier for the selection\n"
	"  --classes A,B,...      class names of the output\n"
	"  --normalize PRESET     input normalisation: imagenet, inception, unit or none\n"
	"                         (imagenet and inception also set --resize crop)\n"
	"  --resize MODE          how images of another shape fit the input: stretch,\n"
	"                         crop (shorter side, centre kept) or pad\n";

enum { O_POP = 256, O_TRUNCATE, O_HEAD, O_FREEZE, O_UNFREEZE, O_LR_MULT, O_CLASSES, O_NORMALIZE, O_RESIZE };

static const struct option edit_options[] = {
	{"pop", no_argument, NULL, O_POP},		       {"truncate", required_argument, NULL, O_TRUNCATE},
	{"head", required_argument, NULL, O_HEAD},	       {"freeze", required_argument, NULL, O_FREEZE},
	{"unfreeze", required_argument, NULL, O_UNFREEZE},     {"lr-mult", required_argument, NULL, O_LR_MULT},
	{"classes", required_argument, NULL, O_CLASSES},       {"normalize", required_argument, NULL, O_NORMALIZE},
	{"resize", required_argument, NULL, O_RESIZE},	       {"output", required_argument, NULL, 'o'},
	{"help", no_argument, NULL, 'h'},		       {NULL, 0, NULL, 0},
};

/* One operation of thaw edit, checked when parsed and applied in order
 * once the model is loaded. */
typedef struct edit_op {
	int op;
	char name[32]; /* as cli_option() said it */
	const char *arg;
	int units, resize; /* --head, --resize */
	char sel[256];	   /* --lr-mult */
	float mult;
} edit_op;

/* Checks op's value as far as it can without the model: 0 or -1 (printed). */
static int edit_check(edit_op *e)
{
	const char *v = e->arg;
	if (e->op == O_HEAD) {
		char units[32];
		long u;
		const char *colon = strchr(v, ':');
		size_t n = colon ? (size_t)(colon - v) : strlen(v);
		snprintf(units, sizeof units, "%.*s", (int)(n < sizeof units ? n : 0), v);
		if (cli_parse_long(units, 1, 1000000, &u) < 0 || (colon && (!colon[1] || strlen(colon + 1) >= THAW_NAME_MAX))) {
			cli_errorf("edit", "--head: expected UNITS[:NAME] with UNITS from 1 to 1000000, got '%s'", v);
			return -1;
		}
		e->units = (int)u;
	} else if (e->op == O_LR_MULT) {
		const char *eq = strrchr(v, '=');
		double x = -1;
		if (!eq || eq == v || (size_t)(eq - v) >= sizeof e->sel || cli_parse_double(eq + 1, &x) < 0 ||
		    !(x >= 0)) {
			cli_errorf("edit", "--lr-mult wants SEL=X with X >= 0 (got '%s')", v);
			return -1;
		}
		snprintf(e->sel, sizeof e->sel, "%.*s", (int)(eq - v), v);
		e->mult = (float)x;
	} else if (e->op == O_RESIZE) {
		return cli_resize(v, &e->resize);
	}
	return 0;
}

static int edit_apply(thaw_model *m, const edit_op *e)
{
	switch (e->op) {
	case O_POP: return thaw_model_pop(m);
	case O_TRUNCATE: return thaw_model_truncate(m, e->arg);
	case O_HEAD: {
		const char *colon = strchr(e->arg, ':');
		thaw_attrs a = thaw_dense(e->units);
		a.init = THAW_INIT_GLOROT;
		return thaw_model_add(m, colon ? colon + 1 : "head", &a, NULL, 0);
	}
	case O_FREEZE:
	case O_UNFREEZE: return apply_selection(m, e->arg, e->op == O_UNFREEZE, -1.0f);
	case O_LR_MULT: return apply_selection(m, e->sel, 0, e->mult);
	case O_CLASSES: {
		char buf[4096], *names[1024];
		int n = 0;
		snprintf(buf, sizeof buf, "%s", e->arg);
		for (char *s = strtok(buf, ","); s && n < 1024; s = strtok(NULL, ","))
			names[n++] = s;
		return thaw_model_set_classes(m, (const char *const *)names, n);
	}
	case O_NORMALIZE: return thaw_input_preset(&m->input, e->arg);
	case O_RESIZE: m->input.resize = (thaw_resize_mode)e->resize; return 0;
	}
	return thaw_error(THAW_EINVAL, "unknown operation");
}

int cmd_edit(int argc, char **argv)
{
	const char *in = NULL, *out = NULL;
	edit_op *ops = calloc((size_t)argc, sizeof *ops); /* at most one per argument */
	int n_ops = 0;
	if (!ops) {
		cli_errorf("edit", "out of memory");
		return 1;
	}
	for (int c; (c = cli_getopt("edit", argc, argv, "ho:", edit_options)) != -1;) {
		if (c == 'h') {
			fputs(edit_usage, stdout);
			free(ops);
			return 0;
		} else if (c == 'o') {
			out = optarg;
			continue;
		} else if (c == '?') {
			free(ops);
			return CLI_EUSAGE;
		}
		edit_op *e = &ops[n_ops++];
		e->op = c;
		snprintf(e->name, sizeof e->name, "%s", cli_option());
		e->arg = optarg;
		if (edit_check(e) < 0) {
			free(ops);
			return CLI_EUSAGE;
		}
	}
	if (optind < argc)
		in = argv[optind++];
	int rc = 0;
	if (optind < argc)
		rc = cli_usage_error("edit", "unexpected argument '%s' (one IN model)", argv[optind]);
	else if (!in)
		rc = cli_usage_error("edit", "no input model given (thaw edit IN -o OUT [OPERATION]...)");
	else if (!out)
		rc = cli_usage_error("edit", "no output file given (-o OUT)");
	if (rc) {
		free(ops);
		return rc;
	}
	thaw_onnx_info info;
	int onnx;
	thaw_model *m = cli_load_model(in, &info, &onnx);
	if (!m) {
		cli_errorf("edit", "%s", thaw_errmsg());
		free(ops);
		return 1;
	}
	for (int i = 0; i < n_ops && rc >= 0; i++) {
		int had_names = m->n_classes;
		rc = edit_apply(m, &ops[i]);
		if (rc < 0)
			thaw_error_prefix("%s", ops[i].name);
		else if (had_names && !m->n_classes)
			fprintf(stderr, "thaw edit: %s: the output changed, so its %d class names were dropped "
				"(name the new outputs with --classes A,B,...)\n", ops[i].name, had_names);
	}
	free(ops);
	if (rc >= 0)
		rc = ends_with(out, ".onnx") ? thaw_onnx_export(m, out) : thaw_model_save(m, out, NULL);
	if (rc < 0) {
		cli_errorf("edit", "%s: %s", in, thaw_errmsg());
		thaw_model_free(m);
		return 1;
	}
	char *s = thaw_model_summary(m);
	if (s)
		fputs(s, stdout);
	free(s);
	printf("saved %s\n", out);
	thaw_model_free(m);
	return 0;
}
