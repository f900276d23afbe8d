/* thaw predict | eval: a saved model on image files (the top classes of
 * each) or on a labelled data set (loss, accuracy, per-class accuracy and
 * the confusion matrix). Both predict through thaw_predict / thaw_evaluate. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli.h"
#include "thaw/plot.h"
#include "thaw/predict.h"
#include "thaw/text.h"

/* ---- thaw predict */

static const char predict_usage[] =
	"usage: thaw predict MODEL IMAGE|DIR... [--top K] [--json]\n"
	"       thaw predict MODEL --text \"some text\" [--text ...] [--top K] [--json]\n"
	"Prints the top K classes (default 3) of each image with their softmax\n"
	"probabilities, after the model's own resize and normalisation. A DIR\n"
	"means every PNG or JPEG file under it, recursively, in sorted order.\n"
	"--json prints one JSON object a line. Models without class names print\n"
	"class indices. --text classifies a string with a text model, tokenized\n"
	"by the vocabulary and settings saved in the model.\n";

typedef struct paths {
	char **v;
	int n, cap;
} paths;

static int push_path(paths *p, const char *s)
{
	if (p->n == p->cap) {
		int cap = p->cap ? 2 * p->cap : 64;
		char **v = realloc(p->v, sizeof *v * (size_t)cap);
		if (!v)
			return thaw_error(THAW_ENOMEM, "out of memory");
		p->v = v;
		p->cap = cap;
	}
	if (!(p->v[p->n] = strdup(s)))
		return thaw_error(THAW_ENOMEM, "out of memory");
	p->n++;
	return 0;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* The name of output k: the model's, else its index. */
static const char *class_name(const thaw_model *m, int k, char *buf, size_t size)
{
	if (k >= 0 && k < m->n_classes && m->class_names)
		return m->class_names[k];
	snprintf(buf, size, "%d", k);
	return buf;
}

enum { O_TOP = 256, O_JSON, O_TEXT };

static const struct option predict_options[] = {
	{"top", required_argument, NULL, O_TOP},
	{"json", no_argument, NULL, O_JSON},
	{"text", required_argument, NULL, O_TEXT},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* The top classes of each string (a text model). */
static int predict_texts(thaw_model *m, const paths *texts, int top, int json)
{
	thaw_dataset *d = thaw_text_for_model(m, (const char *const *)texts->v, texts->n);
	thaw_prediction *p = malloc(sizeof *p * (size_t)(texts->n ? texts->n : 1));
	int *cls = malloc(sizeof *cls * (size_t)texts->n * (size_t)top);
	float *prob = malloc(sizeof *prob * (size_t)texts->n * (size_t)top);
	int rc = d && p && cls && prob ? thaw_predict(m, d, 64, p, top, cls, prob) : THAW_ENOMEM;
	if (rc < 0)
		cli_errorf("predict", "%s", thaw_errmsg());
	for (int i = 0; rc >= 0 && i < texts->n; i++) {
		char b[16];
		const int *c = cls + (size_t)i * top;
		const float *pr = prob + (size_t)i * top;
		if (json) {
			printf("{\"text\": ");
			json_str(texts->v[i]);
			printf(", \"tokens\": %d, \"top\": [", d->len[i]);
			for (int j = 0; j < top; j++) {
				printf("%s{\"class\": %d, \"name\": ", j ? ", " : "", c[j]);
				json_str(class_name(m, c[j], b, sizeof b));
				printf(", \"p\": %.6f}", pr[j]);
			}
			printf("]}\n");
		} else {
			printf("%.60s%s ", texts->v[i], strlen(texts->v[i]) > 60 ? "..." : "");
			for (int j = 0; j < top; j++)
				printf(" %s %.2f", class_name(m, c[j], b, sizeof b), pr[j]);
			printf("\n");
		}
	}
	thaw_dataset_free(d);
	free(p);
	free(cls);
	free(prob);
	return rc < 0 ? 1 : 0;
}

int cmd_predict(int argc, char **argv)
{
	int top = 3, json = 0;
	const char *model_path = NULL;
	paths in = {0}, texts = {0};
	int rc = 1, failed = 0;
	thaw_model *m = NULL;
	for (int c; (c = cli_getopt("predict", argc, argv, "h", predict_options)) != -1;) {
		if (c == 'h') {
			fputs(predict_usage, stdout);
			return 0;
		} else if (c == O_JSON) {
			json = 1;
		} else if (c == O_TEXT) {
			if (push_path(&texts, optarg) < 0) {
				cli_errorf("predict", "%s", thaw_errmsg());
				return 1;
			}
		} else if (c != O_TOP || cli_int(optarg, 1, 1000, &top) < 0) {
			return CLI_EUSAGE;
		}
	}
	if (optind >= argc)
		return cli_usage_error("predict", "no MODEL given (thaw predict MODEL IMAGE|DIR...)");
	if (optind + 1 >= argc && !texts.n)
		return cli_usage_error("predict", "no IMAGE, DIR or --text given (thaw predict MODEL IMAGE|DIR...)");
	model_path = argv[optind];
	for (int i = optind + 1; i < argc; i++)
		if (push_path(&in, argv[i]) < 0)
			goto fail;
	if (!(m = cli_load_model(model_path, NULL, NULL)))
		goto fail;
	int K = thaw_model_class_count(m);
	if (K < 0) {
		cli_errorf("predict", "%s: %s", model_path, thaw_errmsg());
		goto done;
	}
	if (top > K)
		top = K;
	if (texts.n) {
		rc = predict_texts(m, &texts, top, json);
		if (in.n)
			cli_errorf("predict", "--text and image files do not mix: the files were not read");
		rc = rc || in.n;
		goto done;
	}
	/* expand folders; plain arguments keep their order */
	paths files = {0};
	for (int i = 0; i < in.n; i++) {
		struct stat st;
		int r;
		if (stat(in.v[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			char **found, *notes;
			int nf;
			r = thaw_image_files(in.v[i], &found, &nf, &notes);
			if (r == 0 && notes) /* nothing skipped silently */
				fprintf(stderr, "thaw predict: note: %s: %s\n", in.v[i], notes);
			for (int k = 0; r == 0 && k < nf; k++)
				r = push_path(&files, found[k]);
			thaw_image_files_free(found, nf);
			free(notes);
		} else {
			r = push_path(&files, in.v[i]);
		}
		if (r < 0) {
			cli_errorf("predict", "%s", thaw_errmsg());
			failed++;
		}
	}
	int *cls = malloc(sizeof *cls * (size_t)top);
	float *prob = malloc(sizeof *prob * (size_t)top);
	for (int f = 0; cls && prob && f < files.n; f++) {
		thaw_prediction p;
		if (thaw_predict_file(m, files.v[f], &p, top, cls, prob) < 0) {
			cli_errorf("predict", "%s", thaw_errmsg()); /* the message names the file */
			failed++;
			continue;
		}
		char b[16];
		if (json) {
			printf("{\"file\": ");
			json_str(files.v[f]);
			printf(", \"top\": [");
			for (int j = 0; j < top; j++) {
				printf("%s{\"class\": %d, \"name\": ", j ? ", " : "", cls[j]);
				json_str(class_name(m, cls[j], b, sizeof b));
				printf(", \"p\": %.6f}", prob[j]);
			}
			printf("]}\n");
		} else {
			printf("%s ", files.v[f]);
			for (int j = 0; j < top; j++)
				printf(" %s %.2f", class_name(m, cls[j], b, sizeof b), prob[j]);
			printf("\n");
		}
	}
	if (!cls || !prob) {
		cli_errorf("predict", "out of memory");
		failed++;
	}
	free(cls);
	free(prob);
	for (int i = 0; i < files.n; i++)
		free(files.v[i]);
	free(files.v);
	rc = failed ? 1 : 0;
	goto done;
fail:
	cli_errorf("predict", "%s", thaw_errmsg());
done:
	for (int i = 0; i < in.n; i++)
		free(in.v[i]);
	free(in.v);
	for (int i = 0; i < texts.n; i++)
		free(texts.v[i]);
	free(texts.v);
	thaw_model_free(m);
	return rc;
}

/* ---- thaw eval */

static const char eval_usage[] =
	"usage: thaw eval MODEL --data SPEC [--confusion out.png] [--batch N]\n"
	"Evaluates a saved model on a labelled data set: loss, accuracy, per-class\n"
	"accuracy and the confusion matrix (rows: true class, columns: predicted),\n"
	"also drawn as a PNG with --confusion. The data is converted to the\n"
	"model's input; classes are matched to the model's class names by name\n"
	"(a folder with Sandal/ and Sneaker/ evaluates on a 5-class model).\n";

/* Relabels d into the model's K outputs by class name. Returns d itself
 * when nothing changes, a new data set, or NULL with a message. */
static thaw_dataset *match_classes(const thaw_dataset *d, const thaw_model *m, int K, const char *spec,
				   int *owned)
{
	*owned = 0;
	int have_names = m->n_classes == K && d->class_names;
	int *map = have_names ? malloc(sizeof *map * (size_t)d->n_classes) : NULL;
	int by_name = map != NULL, identity = d->n_classes == K;
	for (int k = 0; by_name && k < d->n_classes; k++) {
		map[k] = -1;
		for (int j = 0; j < K && map[k] < 0; j++)
			if (d->class_names[k] && thaw_class_name_same(d->class_names[k], m->class_names[j], strlen(m->class_names[j])))
				map[k] = j;
		by_name = map[k] >= 0;
		identity = identity && map[k] == k;
	}
	if (!by_name) {
		free(map);
		if (d->n_classes != K) {
			thaw_error(THAW_EINVAL,
				   "%s has %d classes and the model %d outputs%s: evaluate on data with the "
				   "model's classes",
				   spec, d->n_classes, K,
				   m->n_classes ? ", and not every class name of the data is one of the model's"
						: " (and no class names to match them by)");
			return NULL;
		}
		if (have_names)
			fprintf(stderr, "thaw eval: note: the data's class names are not the model's: classes are "
					"matched by index\n");
		return (thaw_dataset *)d;
	}
	if (identity) {
		free(map);
		return (thaw_dataset *)d;
	}
	thaw_dataset *r = d->ids ? thaw_text_dataset_new(d->n, d->w, K, d->vocab) : thaw_dataset_new(d->n, d->c, d->h, d->w, K);
	if (r && thaw_dataset_set_class_names(r, (const char *const *)m->class_names, K) < 0) {
		thaw_dataset_free(r);
		r = NULL;
	}
	if (r) {
		if (d->ids) {
			memcpy(r->ids, d->ids, sizeof *d->ids * (size_t)d->n * d->w);
			memcpy(r->len, d->len, sizeof *d->len * (size_t)d->n);
		} else {
			memcpy(r->x, d->x, (size_t)d->n * d->c * d->h * d->w);
		}
		for (int i = 0; i < d->n; i++)
			r->y[i] = map[d->y[i]];
		snprintf(r->source, sizeof r->source, "%s", d->source);
		fprintf(stderr, "data: %d classes matched to the model's %d by name:", d->n_classes, K);
		for (int k = 0; k < d->n_classes; k++)
			fprintf(stderr, "%s %s->%d", k ? "," : "", d->class_names[k], map[k]);
		fputc('\n', stderr);
		*owned = 1;
	}
	free(map);
	return r;
}

enum { O_DATA = 256, O_CONFUSION, O_BATCH };

static const struct option eval_options[] = {
	{"data", required_argument, NULL, O_DATA},
	{"confusion", required_argument, NULL, O_CONFUSION},
	{"batch", required_argument, NULL, O_BATCH},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

int cmd_eval(int argc, char **argv)
{
	const char *model_path = NULL, *spec = NULL, *confusion = NULL;
	int batch = 256;
	for (int c; (c = cli_getopt("eval", argc, argv, "h", eval_options)) != -1;) {
		switch (c) {
		case 'h': fputs(eval_usage, stdout); return 0;
		case O_DATA: spec = optarg; break;
		case O_CONFUSION: confusion = optarg; break;
		case O_BATCH:
			if (cli_int(optarg, 1, 65536, &batch) < 0)
				return CLI_EUSAGE;
			break;
		default: return CLI_EUSAGE;
		}
	}
	if (optind >= argc)
		return cli_usage_error("eval", "no MODEL given (thaw eval MODEL --data SPEC)");
	model_path = argv[optind];
	if (optind + 1 < argc)
		return cli_usage_error("eval", "unexpected argument '%s' (one MODEL)", argv[optind + 1]);
	if (!spec)
		return cli_usage_error("eval", "no --data SPEC given: the labelled images to evaluate on");
	int rc = 1, owned = 0;
	thaw_model *m = NULL;
	thaw_dataset *d = NULL, *mapped = NULL, *conv = NULL;
	thaw_metrics *mt = NULL;
	if (!(m = cli_load_model(model_path, NULL, NULL)))
		goto fail;
	int K = thaw_model_class_count(m);
	if (K < 0) {
		cli_errorf("eval", "%s: %s", model_path, thaw_errmsg());
		goto done;
	}
	/* a folder loads straight at the model's size and resize policy */
	thaw_image_opts io = thaw_image_opts_default();
	thaw_image_opts_from_spec(&io, &m->input);
	io.progress = isatty(2) ? cli_load_progress : NULL;
	thaw_text_opts to = thaw_text_opts_default();
	if (m->vocab) { /* text straight into the model's vocabulary and length */
		to.vocab = m->vocab;
		to.length = m->input.w;
	}
	if (!(d = thaw_text_probe(spec) ? thaw_text_load(spec, &to) : thaw_dataset_open_opts(spec, &io)))
		goto fail;
	cli_print_notes("eval", d);
	if (!(mapped = match_classes(d, m, K, spec, &owned)))
		goto fail;
	char desc[256] = "";
	if (!(conv = thaw_dataset_for_model(mapped, m, desc, sizeof desc)))
		goto fail;
	if (desc[0] && strncmp(desc, "unchanged", 9) != 0)
		fprintf(stderr, "data: %s\n", desc);
	if (!(mt = thaw_metrics_new(K, K < 5 ? K : 5)) || thaw_evaluate(m, conv, batch, mt) < 0)
		goto fail;
	const char *const *names = m->n_classes == K ? (const char *const *)m->class_names
						      : (const char *const *)conv->class_names;
	printf("model %s: %d outputs; data %s: %d %s\n", model_path, K, spec, conv->n, conv->ids ? "texts" : "images");
	printf("loss %.4f\n", thaw_metrics_loss(mt));
	printf("accuracy %.4f (%ld/%ld)\n", thaw_metrics_accuracy(mt), mt->correct, mt->n);
	if (mt->topk > 1)
		printf("top%d %.4f\n", mt->topk, thaw_metrics_topk(mt));
	printf("per-class accuracy:\n");
	for (int k = 0; k < K; k++) {
		long row = 0;
		for (int j = 0; j < K; j++)
			row += mt->confusion[(size_t)k * K + j];
		if (row)
			printf("  %3d %-20s %.4f (%ld/%ld)\n", k, names[k], thaw_metrics_class_accuracy(mt, k),
			       mt->confusion[(size_t)k * K + k], row);
		else
			printf("  %3d %-20s -      (no images)\n", k, names[k]);
	}
	printf("confusion (rows: true class, columns: predicted):\n     ");
	for (int j = 0; j < K; j++)
		printf(" %6d", j);
	printf("\n");
	for (int k = 0; k < K; k++) {
		printf("  %3d", k);
		for (int j = 0; j < K; j++)
			printf(" %6ld", mt->confusion[(size_t)k * K + j]);
		printf("\n");
	}
	if (confusion) {
		char title[300];
		snprintf(title, sizeof title, "%s on %s", model_path, spec);
		if (thaw_plot_confusion(confusion, mt->confusion, K, names, title) < 0)
			goto fail;
		fprintf(stderr, "wrote %s\n", confusion);
	}
	rc = 0;
	goto done;
fail:
	cli_errorf("eval", "%s", thaw_errmsg());
done:
	thaw_metrics_free(mt);
	thaw_dataset_free(conv);
	if (owned)
		thaw_dataset_free(mapped);
	thaw_dataset_free(d);
	thaw_model_free(m);
	return rc;
}
