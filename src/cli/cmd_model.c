/* thaw summary | import | export: model files on the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "thaw/modelfile.h"
#include "thaw/onnx.h"

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

/* Loads a .thaw or .onnx file by its extension (or, failing that, its
 * first bytes: .thaw files start with 0x89 "THAW"). */
static thaw_model *load_any(const char *path, thaw_onnx_info *info, int *is_onnx)
{
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
	thaw_model *m = load_any(argv[1], &info, &onnx);
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
	printf("\n");
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
	thaw_model *m = load_any(in, &info, &onnx);
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
