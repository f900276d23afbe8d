/* thaw bench: speed of the reference CNN (batch 64, Adam) — full training
 * step, inference, and the head-only step with both conv blocks frozen —
 * plus the SGEMM rate OpenBLAS reaches in the same run. Prints `name: value`
 * lines; asserts nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "thaw/blas.h"
#include "thaw/data.h"
#include "thaw/train.h"
#include "thaw/zoo.h"

typedef struct bench_opts {
	int batch, windows;
	double seconds; /* per window */
} bench_opts;

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* What one timed step does. */
enum { STEP_TRAIN, STEP_INFER, STEP_FEATURES, STEP_HEAD };

typedef struct bench_job {
	thaw_model *m;
	thaw_trainer *t; /* STEP_TRAIN, STEP_HEAD */
	int mode, cut;   /* cut: the last node of the cached (frozen) base */
	const float *x;
	const int32_t *y;
	const float *feat; /* STEP_HEAD: (B, F) features of node cut */
	int B;
} bench_job;

static int run_step(const bench_job *j)
{
	switch (j->mode) {
	case STEP_TRAIN: return thaw_trainer_step(j->t, j->x, j->y, j->B, NULL);
	case STEP_INFER: return thaw_model_forward(j->m, j->x, j->B, 0);
	case STEP_FEATURES: return thaw_model_forward_range(j->m, 0, j->cut, j->x, j->B, 0);
	default: {
		/* as fit's feature cache does: the cached rows into node cut's output */
		const thaw_node *n = j->m->nodes[j->cut];
		memcpy(n->y, j->feat, sizeof(float) * (size_t)j->B * thaw_shape_sample(n->out));
		return thaw_trainer_step_from(j->t, j->cut + 1, j->x, j->y, j->B, NULL);
	}
	}
}

/* Median images/s over `windows` windows (each at least one step) after a
 * warm-up; *flops_per_img from the GEMM counter. */
static int measure_job(const bench_job *j, const bench_opts *o, double *img_s, double *flops_per_img)
{
	double rates[16];
	long total_steps = 0;
	for (int w = -1; w < o->windows; w++) { /* window -1 warms up */
		long steps = 0;
		double t0 = thaw_now(), el;
		do {
			int rc = run_step(j);
			if (rc < 0)
				return rc;
			steps++;
			el = thaw_now() - t0;
		} while (el < (w < 0 ? 0.5 * o->seconds : o->seconds));
		if (w < 0) {
			thaw_blas_reset_flops();
			continue;
		}
		rates[w] = steps * j->B / el;
		total_steps += steps;
	}
	*flops_per_img = thaw_blas_flops() / ((double)total_steps * j->B);
	qsort(rates, (size_t)o->windows, sizeof *rates, cmp_double);
	*img_s = rates[o->windows / 2];
	return 0;
}

static int measure(thaw_model *m, int train, const float *x, const int32_t *y, const bench_opts *o,
		   double *img_s, double *flops_per_img)
{
	thaw_optim opt = thaw_optim_default(THAW_ADAM);
	bench_job j = {.m = m, .mode = train ? STEP_TRAIN : STEP_INFER, .x = x, .y = y, .B = o->batch};
	if (train && !(j.t = thaw_trainer_new(m, &opt, NULL, o->batch)))
		return -1;
	int rc = measure_job(&j, o, img_s, flops_per_img);
	thaw_trainer_free(j.t);
	return rc;
}

static double sgemm_gflops(void)
{
	enum { N = 1024 };
	float *a = thaw_aligned(sizeof(float) * N * N), *b = thaw_aligned(sizeof(float) * N * N),
	      *c = thaw_aligned(sizeof(float) * N * N);
	if (!a || !b || !c) {
		free(a);
		free(b);
		free(c);
		return 0;
	}
	for (size_t i = 0; i < (size_t)N * N; i++) {
		a[i] = (float)(i % 7) * 0.1f;
		b[i] = (float)(i % 5) * 0.1f;
	}
	thaw_sgemm(0, 0, N, N, N, 1.0f, a, N, b, N, 0.0f, c, N); /* warm up */
	double best = 0;
	for (int r = 0; r < 5; r++) {
		double t0 = thaw_now();
		thaw_sgemm(0, 0, N, N, N, 1.0f, a, N, b, N, 0.0f, c, N);
		double g = 2.0 * N * N * N / (thaw_now() - t0) / 1e9;
		best = g > best ? g : best;
	}
	free(a);
	free(b);
	free(c);
	return best;
}

/* Images per second the prefetching loader delivers for 28x28 images with
 * augmentation (shift 2, flip) while the caller does nothing else. */
static double loader_img_s(int batch, double seconds)
{
	thaw_synth_opts so = thaw_synth_opts_default();
	so.n = 10000;
	thaw_dataset *d = thaw_synth(&so);
	if (!d)
		return 0;
	thaw_loader_opts lo = thaw_loader_opts_default();
	lo.batch = batch;
	lo.shift = 2;
	lo.flip = 1;
	thaw_loader *l = thaw_loader_new(d, &lo);
	long n = 0;
	double t0 = thaw_now(), el = 0;
	thaw_batch b;
	int rc;
	while (l && el < seconds && (rc = thaw_loader_next(l, &b)) >= 0) {
		n += rc == 1 ? b.B : 0;
		el = thaw_now() - t0;
	}
	thaw_loader_free(l);
	thaw_dataset_free(d);
	return el > 0 ? n / el : 0;
}

/* Per-node milliseconds per training step (forward / backward) and per
 * inference batch, measured with the model's profiling switch. */
static int profile_nodes(thaw_model *m, thaw_optim_kind ok, const float *x, const int32_t *y, int batch,
			 int steps, int cpu_time)
{
	thaw_optim opt = thaw_optim_default(ok);
	thaw_trainer *t = thaw_trainer_new(m, &opt, NULL, batch);
	if (!t)
		return -1;
	double fw[256] = {0}, bw[256] = {0};
	for (int pass = 0; pass < 3; pass++) { /* warm-up, training, inference */
		for (int i = 0; i < m->n; i++)
			m->nodes[i]->t_forward = m->nodes[i]->t_backward = 0;
		m->profile = pass == 0 ? 0 : cpu_time ? 2 : 1;
		for (int s = 0; s < steps; s++) {
			int rc = pass < 2 ? thaw_trainer_step(t, x, y, batch, NULL) : thaw_model_forward(m, x, batch, 0);
			if (rc < 0) {
				thaw_trainer_free(t);
				return rc;
			}
		}
		if (pass == 1)
			for (int i = 0; i < m->n && i < 256; i++) {
				fw[i] = m->nodes[i]->t_forward;
				bw[i] = m->nodes[i]->t_backward;
			}
	}
	m->profile = 0;
	printf("# per node, ms %s per batch of %d: train forward, train backward, inference forward\n",
	       cpu_time ? "of CPU time (all threads)" : "of wall time", batch);
	double sum[3] = {0};
	for (int i = 0; i < m->n && i < 256; i++) {
		const thaw_node *n = m->nodes[i];
		double a = 1e3 * fw[i] / steps, b = 1e3 * bw[i] / steps, c = 1e3 * n->t_forward / steps;
		printf("node_ms %-8s %-10s %7.3f %7.3f %7.3f\n", n->name, thaw_kind_name(n->kind), a, b, c);
		sum[0] += a, sum[1] += b, sum[2] += c;
	}
	printf("node_ms %-8s %-10s %7.3f %7.3f %7.3f\n", "total", "", sum[0], sum[1], sum[2]);
	thaw_trainer_free(t);
	return 0;
}

/* thaw bench --model FILE: any model at its own input shape, SGD (lr 0.01,
 * momentum 0.9) as the usual fine-tuning step. Prints inference, the full
 * training step, the frozen base's feature extraction (what fit's feature
 * cache runs once per image) and the new head's step on cached features. */
static int bench_model(const char *path, const int *input, const bench_opts *o, int layers, int cpu_time)
{
	thaw_model *m = cli_load_model(path, NULL, NULL);
	if (!m) {
		cli_errorf("bench", "%s", thaw_errmsg());
		return 1;
	}
	int c = m->input.c, h = m->input.h, w = m->input.w, K = thaw_model_class_count(m), B = o->batch;
	if (input[0] && (input[0] != c || input[1] != h || input[2] != w)) {
		cli_errorf("bench", "%s: the model takes %dx%dx%d images, not %dx%dx%d", path, c, h, w,
			   input[0], input[1], input[2]);
		thaw_model_free(m);
		return 1;
	}
	size_t in = (size_t)c * h * w;
	float *x = thaw_aligned(sizeof(float) * B * in), *feat = NULL;
	int32_t *y = thaw_malloc(sizeof(int32_t) * B);
	int rc = K < 0 || !x || !y ? -1 : 0;
	if (rc == 0) {
		thaw_rng r;
		thaw_rng_seed(&r, 1);
		for (size_t i = 0; i < B * in; i++)
			x[i] = thaw_rng_normal(&r);
		for (int i = 0; i < B; i++)
			y[i] = i % K;
	}
	if (rc == 0 && layers) {
		rc = profile_nodes(m, THAW_SGD, x, y, B, 2, cpu_time);
		goto out;
	}
	thaw_optim opt = thaw_optim_default(THAW_SGD);
	double train = 0, infer = 0, fx = 0, head = 0, fl_train = 0, fl_infer = 0, fl_fx = 0, fl_head = 0;
	bench_job j = {.m = m, .x = x, .y = y, .B = B};
	if (rc == 0 && (j.t = thaw_trainer_new(m, &opt, NULL, B))) {
		j.mode = STEP_TRAIN;
		rc = measure_job(&j, o, &train, &fl_train);
		thaw_trainer_free(j.t);
		j.t = NULL;
	} else {
		rc = -1;
	}
	if (rc == 0) {
		j.mode = STEP_INFER;
		rc = measure_job(&j, o, &infer, &fl_infer);
	}
	/* transfer: everything but the output node frozen; the cut is where fit
	 * would cache features */
	if (rc == 0)
		rc = thaw_model_set_trainable(m, 0, m->n - 2, 0);
	j.cut = rc < 0 ? -1 : thaw_model_static_prefix(m);
	if (j.cut >= 0 && j.cut < m->n - 1) {
		j.mode = STEP_FEATURES;
		rc = measure_job(&j, o, &fx, &fl_fx);
		size_t F = thaw_shape_sample(m->nodes[j.cut]->out);
		if (rc == 0 && (feat = thaw_malloc(sizeof(float) * B * F)) &&
		    (j.t = thaw_trainer_new(m, &opt, NULL, B))) {
			memcpy(feat, m->nodes[j.cut]->y, sizeof(float) * B * F);
			j.mode = STEP_HEAD;
			j.feat = feat;
			bench_opts ho = *o;
			ho.seconds = o->seconds < 0.5 ? o->seconds : 0.5; /* thousands of steps a second */
			rc = measure_job(&j, &ho, &head, &fl_head);
			thaw_trainer_free(j.t);
		} else if (rc == 0) {
			rc = -1;
		}
	}
	if (rc < 0)
		goto out;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double sg = sgemm_gflops();
	printf("model: %s\n", path);
	printf("input: %dx%dx%d\n", c, h, w);
	printf("threads: %d\n", thaw_blas_threads());
	printf("batch: %d\n", B);
	printf("train_img_s: %.2f\n", train);
	printf("infer_img_s: %.2f\n", infer);
	if (j.cut >= 0 && j.cut < m->n - 1) {
		printf("features_cut: %s\n", m->nodes[j.cut]->name);
		printf("features_img_s: %.2f\n", fx);
		printf("head_cached_img_s: %.0f\n", head);
	}
	printf("train_gemm_mflop_per_img: %.1f\n", fl_train / 1e6);
	printf("infer_gemm_mflop_per_img: %.1f\n", fl_infer / 1e6);
	printf("train_gflops: %.1f\n", train * fl_train / 1e9);
	printf("infer_gflops: %.1f\n", infer * fl_infer / 1e9);
	printf("sgemm_gflops: %.1f\n", sg);
	printf("peak_rss_mb: %.1f\n", ru.ru_maxrss / 1024.0);
out:
	if (rc < 0)
		cli_errorf("bench", "%s", K < 0 || !x || !y ? thaw_errmsg() : thaw_errmsg());
	free(feat);
	free(x);
	free(y);
	thaw_model_free(m);
	return rc < 0;
}

static const char bench_usage[] =
	"usage: thaw bench [--model FILE [--input C,H,W]] [--batch N] [--seconds S] [--windows N]\n"
	"                  [--threads N] [--layers [--cpu-time]]\n"
	"Measures the reference CNN at batch N (default 64): a full training step,\n"
	"inference and the head-only step with the conv blocks frozen, as the median\n"
	"images/s over N windows (default 5, at most 16) of S seconds (default 1),\n"
	"then the SGEMM rate and the loader's rate. --threads N sets the BLAS threads\n"
	"(default: OPENBLAS_NUM_THREADS, else every processor); --layers times each\n"
	"layer instead, in wall time, or with --cpu-time in CPU time of all threads\n"
	"(steadier on a busy machine; with --threads 1 the work itself).\n"
	"--model FILE (.thaw or .onnx) measures that model instead (batch default 32,\n"
	"SGD): inference, the full training step, feature extraction by the frozen\n"
	"base and the new head's step on cached features;\n"
	"--input C,H,W checks the image shape it takes. Prints `name: value` lines.\n";

/* "C,H,W" into chw[3]. */
static int parse_chw(const char *s, int *chw)
{
	char extra;
	if (sscanf(s, "%d,%d,%d%c", &chw[0], &chw[1], &chw[2], &extra) != 3 || chw[0] < 1 || chw[1] < 1 ||
	    chw[2] < 1 || chw[0] > 65536 || chw[1] > 65536 || chw[2] > 65536)
		return cli_usage_error("bench", "--input wants C,H,W (three positive integers), not '%s'", s);
	return 0;
}

enum { O_BATCH = 256, O_SECONDS, O_WINDOWS, O_THREADS, O_LAYERS, O_MODEL, O_INPUT, O_CPU_TIME };

static const struct option bench_options[] = {
	{"batch", required_argument, NULL, O_BATCH},	 {"seconds", required_argument, NULL, O_SECONDS},
	{"windows", required_argument, NULL, O_WINDOWS}, {"threads", required_argument, NULL, O_THREADS},
	{"layers", no_argument, NULL, O_LAYERS},	 {"model", required_argument, NULL, O_MODEL},
	{"input", required_argument, NULL, O_INPUT},	 {"cpu-time", no_argument, NULL, O_CPU_TIME},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

int cmd_bench(int argc, char **argv)
{
	int layers = 0, cpu_time = 0, threads = 0, rc = 0, batch = 0, input[3] = {0};
	const char *model = NULL;
	bench_opts o = {.batch = 64, .windows = 5, .seconds = 1.0};
	for (int c; rc == 0 && (c = cli_getopt("bench", argc, argv, "h", bench_options)) != -1;) {
		switch (c) {
		case 'h': fputs(bench_usage, stdout); return 0;
		case O_BATCH: rc = cli_int(optarg, 1, 65536, &batch); break;
		case O_SECONDS: rc = cli_positive(optarg, 3600, &o.seconds); break;
		case O_WINDOWS: rc = cli_int(optarg, 1, 16, &o.windows); break;
		case O_THREADS: rc = cli_int(optarg, 0, 1024, &threads); break;
		case O_LAYERS: layers = 1; break;
		case O_CPU_TIME: cpu_time = 1; break;
		case O_MODEL: model = optarg; break;
		case O_INPUT: rc = parse_chw(optarg, input); break;
		default: return CLI_EUSAGE;
		}
	}
	if (rc < 0)
		return CLI_EUSAGE;
	if (optind < argc)
		return cli_usage_error("bench", "unexpected argument '%s'", argv[optind]);
	thaw_blas_set_threads(threads);
	o.batch = batch ? batch : model ? 32 : 64;
	if (model)
		return bench_model(model, input, &o, layers, cpu_time);
	thaw_model *m = thaw_zoo_reference_cnn(1, 28, 28, 10, 1);
	float *x = thaw_aligned(sizeof(float) * o.batch * 28 * 28);
	int32_t *y = thaw_malloc(sizeof(int32_t) * o.batch);
	if (!m || !x || !y) {
		cli_errorf("bench", "%s", thaw_errmsg());
		return 1;
	}
	thaw_rng r;
	thaw_rng_seed(&r, 1);
	for (int i = 0; i < o.batch * 28 * 28; i++)
		x[i] = thaw_rng_normal(&r);
	for (int i = 0; i < o.batch; i++)
		y[i] = i % 10;
	if (layers) {
		int rc = profile_nodes(m, THAW_ADAM, x, y, o.batch, 20, cpu_time);
		if (rc < 0)
			cli_errorf("bench", "%s", thaw_errmsg());
		thaw_model_free(m);
		free(x);
		free(y);
		return rc < 0;
	}
	double train, infer, head, fl_train, fl_infer, fl_head;
	rc = measure(m, 1, x, y, &o, &train, &fl_train);
	if (rc == 0)
		rc = measure(m, 0, x, y, &o, &infer, &fl_infer);
	if (rc == 0) {
		thaw_model_freeze_upto(m, "pool2");
		rc = measure(m, 1, x, y, &o, &head, &fl_head);
	}
	if (rc < 0) {
		cli_errorf("bench", "%s", thaw_errmsg());
		return 1;
	}
	double sg = sgemm_gflops();
	double ld = loader_img_s(o.batch, o.seconds);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("threads: %d\n", thaw_blas_threads());
	printf("batch: %d\n", o.batch);
	printf("train_img_s: %.0f\n", train);
	printf("infer_img_s: %.0f\n", infer);
	printf("head_only_img_s: %.0f\n", head);
	printf("head_only_speedup: %.2f\n", head / train);
	printf("train_gemm_mflop_per_img: %.2f\n", fl_train / 1e6);
	printf("head_only_gemm_mflop_per_img: %.2f\n", fl_head / 1e6);
	printf("train_gflops: %.1f\n", train * fl_train / 1e9);
	printf("infer_gflops: %.1f\n", infer * fl_infer / 1e9);
	printf("sgemm_gflops: %.1f\n", sg);
	printf("loader_img_s: %.0f\n", ld);
	printf("peak_rss_mb: %.1f\n", ru.ru_maxrss / 1024.0);
	free(x);
	free(y);
	thaw_model_free(m);
	return 0;
}
