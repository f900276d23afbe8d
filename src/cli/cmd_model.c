/* thaw summary | import | export: model files on the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
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

/* Parses "IN -o OUT"; returns 0 or prints usage and returns 1. */
static int in_out(const char *cmd, int argc, char **argv, const char **in, const char **out)
{
	*in = *out = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			*out = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1]) {
			cli_errorf(cmd, "unknown option '%s'", argv[i]);
			return 1;
		} else if (!*in)
			*in = argv[i];
		else {
			cli_errorf(cmd, "unexpected argument '%s'", argv[i]);
			return 1;
		}
	}
	if (!*in || !*out) {
		cli_errorf(cmd, "usage: thaw %s IN -o OUT", cmd);
		return 1;
	}
	return 0;
}

int cmd_summary(int argc, char **argv)
{
	if (argc != 2) {
		cli_errorf("summary", "usage: thaw summary FILE (.thaw or .onnx)");
		return 1;
	}
	thaw_onnx_info info;
	int onnx;
	thaw_model *m = cli_load_model(argv[1], &info, &onnx);
	if (!m) {
		cli_errorf("summary", "%s", thaw_errmsg());
		return 1;
	}
	char *s = thaw_model_summary(m);
	if (!s) {
		cli_errorf("summary", "%s: %s", argv[1], thaw_errmsg());
		thaw_model_free(m);
		return 1;
	}
	fputs(s, stdout);
	free(s);
	const thaw_input_spec *in = &m->input;
	printf("input spec: %d channels, %dx%d, mean", in->c, in->h, in->w);
	for (int i = 0; i < in->c && i < THAW_MAX_CHANNELS; i++)
		printf(" %g", in->mean[i]);
	printf(", std");
	for (int i = 0; i < in->c && i < THAW_MAX_CHANNELS; i++)
		printf(" %g", in->std[i]);
	printf(", resize %s\n", thaw_resize_mode_name((thaw_resize_mode)in->resize));
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
	if (in_out("import", argc, argv, &in, &out))
		return 1;
	thaw_onnx_info info;
	thaw_model *m = thaw_onnx_import(in, &info);
	if (!m) {
		cli_errorf("import", "%s", thaw_errmsg());
		return 1;
	}
	int rc = thaw_model_save(m, out, NULL);
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
	if (in_out("export", argc, argv, &in, &out))
		return 1;
	thaw_onnx_info info;
	int onnx;
	thaw_model *m = cli_load_model(in, &info, &onnx);
	if (!m) {
		cli_errorf("export", "%s", thaw_errmsg());
		return 1;
	}
	int rc = thaw_onnx_export(m, out);
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
	"Cuts and extends a model (.thaw or .onnx in, .thaw or .onnx out); the\n"
	"operations apply in order:\n"
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

int cmd_edit(int argc, char **argv)
{
	const char *in = NULL, *out = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(edit_usage, stdout);
			return 0;
		}
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			out = argv[++i];
		else if (argv[i][0] != '-' && !in)
			in = argv[i];
		else if (!strcmp(argv[i], "--pop"))
			;
		else if (argv[i][0] == '-' && i + 1 < argc)
			i++; /* an operation and its argument, applied below */
		else {
			cli_errorf("edit", "unexpected argument '%s'", argv[i]);
			fputs(edit_usage, stderr);
			return 1;
		}
	}
	if (!in || !out) {
		fputs(edit_usage, stderr);
		return 1;
	}
	thaw_onnx_info info;
	int onnx;
	thaw_model *m = cli_load_model(in, &info, &onnx);
	if (!m) {
		cli_errorf("edit", "%s", thaw_errmsg());
		return 1;
	}
	int rc = 0;
	for (int i = 1; i < argc && rc >= 0; i++) {
		const char *op = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
		int had_names = m->n_classes;
		if (!strcmp(op, "-o")) {
			i++;
		} else if (!strcmp(op, "--pop")) {
			rc = thaw_model_pop(m);
		} else if (!strcmp(op, "--truncate")) {
			rc = thaw_model_truncate(m, v), i++;
		} else if (!strcmp(op, "--head")) {
			char name[THAW_NAME_MAX] = "head";
			int units = atoi(v);
			const char *colon = strchr(v, ':');
			if (colon)
				snprintf(name, sizeof name, "%s", colon + 1);
			thaw_attrs a = thaw_dense(units);
			a.init = THAW_INIT_GLOROT;
			rc = thaw_model_add(m, name, &a, NULL, 0), i++;
		} else if (!strcmp(op, "--freeze") || !strcmp(op, "--unfreeze")) {
			rc = apply_selection(m, v, !strcmp(op, "--unfreeze"), -1.0f), i++;
		} else if (!strcmp(op, "--lr-mult")) {
			char sel[256];
			const char *eq = strrchr(v, '=');
			char *end;
			float x = eq ? strtof(eq + 1, &end) : 0;
			if (!eq || eq == v || (size_t)(eq - v) >= sizeof sel || end == eq + 1 || *end || !(x >= 0)) {
				rc = thaw_error(THAW_EINVAL, "--lr-mult wants SEL=X with X >= 0 (got '%s')", v);
			} else {
				snprintf(sel, sizeof sel, "%.*s", (int)(eq - v), v);
				rc = apply_selection(m, sel, 0, x);
			}
			i++;
		} else if (!strcmp(op, "--classes")) {
			char buf[4096], *names[1024];
			int n = 0;
			snprintf(buf, sizeof buf, "%s", v);
			for (char *s = strtok(buf, ","); s && n < 1024; s = strtok(NULL, ","))
				names[n++] = s;
			rc = thaw_model_set_classes(m, (const char *const *)names, n);
			i++;
		} else if (!strcmp(op, "--normalize")) {
			rc = thaw_input_preset(&m->input, v), i++;
		} else if (!strcmp(op, "--resize")) {
			thaw_resize_mode mode;
			if ((rc = thaw_resize_mode_parse(v, &mode)) == 0)
				m->input.resize = mode;
			i++;
		} else if (op[0] != '-') {
			/* the input file */
		} else {
			rc = thaw_error(THAW_EINVAL, "unknown operation '%s'", op);
		}
		if (rc < 0)
			thaw_error_prefix("%s", op);
		else if (had_names && !m->n_classes)
			fprintf(stderr, "thaw edit: %s: the output changed, so its %d class names were dropped "
				"(name the new outputs with --classes A,B,...)\n", op, had_names);
	}
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
