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

/* Median images/s over `windows` windows; *flops_per_img from the GEMM counter. */
static int measure(thaw_model *m, int train, const float *x, const int32_t *y, const bench_opts *o,
		   double *img_s, double *flops_per_img)
{
	thaw_optim opt = thaw_optim_default(THAW_ADAM);
	thaw_trainer *t = train ? thaw_trainer_new(m, &opt, NULL, o->batch) : NULL;
	if (train && !t)
		return -1;
	double rates[16];
	long total_steps = 0;
	thaw_blas_reset_flops();
	for (int w = -1; w < o->windows; w++) { /* window -1 warms up */
		long steps = 0;
		double t0 = thaw_now(), el;
		do {
			int rc = train ? thaw_trainer_step(t, x, y, o->batch, NULL)
				       : thaw_model_forward(m, x, o->batch, 0);
			if (rc < 0) {
				thaw_trainer_free(t);
				return rc;
			}
			steps++;
			el = thaw_now() - t0;
		} while (el < (w < 0 ? 0.5 * o->seconds : o->seconds));
		if (w < 0) {
			thaw_blas_reset_flops();
			continue;
		}
		rates[w] = steps * o->batch / el;
		total_steps += steps;
	}
	*flops_per_img = thaw_blas_flops() / ((double)total_steps * o->batch);
	qsort(rates, (size_t)o->windows, sizeof *rates, cmp_double);
	*img_s = rates[o->windows / 2];
	thaw_trainer_free(t);
	return 0;
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
static int profile_nodes(thaw_model *m, const float *x, const int32_t *y, int batch, int steps)
{
	thaw_optim opt = thaw_optim_default(THAW_ADAM);
	thaw_trainer *t = thaw_trainer_new(m, &opt, NULL, batch);
	if (!t)
		return -1;
	double fw[256] = {0}, bw[256] = {0};
	for (int pass = 0; pass < 3; pass++) { /* warm-up, training, inference */
		for (int i = 0; i < m->n; i++)
			m->nodes[i]->t_forward = m->nodes[i]->t_backward = 0;
		m->profile = pass > 0;
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
	printf("# per node, ms per batch of %d: train forward, train backward, inference forward\n", batch);
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

static const char bench_usage[] =
	"usage: thaw bench [--batch N] [--seconds S] [--windows N] [--threads N] [--layers]\n"
	"Measures the reference CNN at batch N (default 64): a full training step,\n"
	"inference and the head-only step with the conv blocks frozen, as the median\n"
	"images/s over N windows (default 5, at most 16) of S seconds (default 1),\n"
	"then the SGEMM rate and the loader's rate. --threads N sets the BLAS threads\n"
	"(default: OPENBLAS_NUM_THREADS, else every processor); --layers times each\n"
	"layer instead. Prints `name: value` lines.\n";

enum { O_BATCH = 256, O_SECONDS, O_WINDOWS, O_THREADS, O_LAYERS };

static const struct option bench_options[] = {
	{"batch", required_argument, NULL, O_BATCH},	 {"seconds", required_argument, NULL, O_SECONDS},
	{"windows", required_argument, NULL, O_WINDOWS}, {"threads", required_argument, NULL, O_THREADS},
	{"layers", no_argument, NULL, O_LAYERS},	 {"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

int cmd_bench(int argc, char **argv)
{
	int layers = 0, threads = 0, rc = 0;
	bench_opts o = {.batch = 64, .windows = 5, .seconds = 1.0};
	for (int c; rc == 0 && (c = cli_getopt("bench", argc, argv, "h", bench_options)) != -1;) {
		switch (c) {
		case 'h': fputs(bench_usage, stdout); return 0;
		case O_BATCH: rc = cli_int(optarg, 1, 65536, &o.batch); break;
		case O_SECONDS: rc = cli_positive(optarg, 3600, &o.seconds); break;
		case O_WINDOWS: rc = cli_int(optarg, 1, 16, &o.windows); break;
		case O_THREADS: rc = cli_int(optarg, 0, 1024, &threads); break;
		case O_LAYERS: layers = 1; break;
		default: return CLI_EUSAGE;
		}
	}
	if (rc < 0)
		return CLI_EUSAGE;
	if (optind < argc)
		return cli_usage_error("bench", "unexpected argument '%s'", argv[optind]);
	thaw_blas_set_threads(threads);
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
		int rc = profile_nodes(m, x, y, o.batch, 20);
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
