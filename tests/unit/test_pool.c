/* maxpool, avgpool, globalavgpool: gradients by finite differences, forward
 * against a naive reference, values PyTorch gives for the ceil_mode and
 * count_include_pad corners, setup errors, and a pass through the model. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gradcheck.h"
#include "thaw/layer.h"
#include "thaw/model.h"

static thaw_attrs pool(thaw_kind kind, int kh, int kw, int s, int p, int ceil_mode, int incl)
{
	thaw_attrs a = thaw_pool(kind, kh, s);
	a.kw = kw;
	a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = p;
	a.ceil_mode = ceil_mode;
	a.count_include_pad = incl;
	return a;
}

typedef struct cfg {
	const char *label;
	thaw_attrs a;
	thaw_shape in;
} cfg;

static int configs(cfg *c)
{
	int k = 0;
	c[k++] = (cfg){"max 2x2 s2", pool(THAW_MAXPOOL, 2, 2, 2, 0, 0, 0), {1, 2, 6, 6}};
	c[k++] = (cfg){"max 2x2 s2 odd input", pool(THAW_MAXPOOL, 2, 2, 2, 0, 0, 0), {1, 2, 5, 7}};
	c[k++] = (cfg){"max 3x3 s2 p1", pool(THAW_MAXPOOL, 3, 3, 2, 1, 0, 0), {1, 2, 6, 6}};
	c[k++] = (cfg){"max 3x3 s2 p1 ceil", pool(THAW_MAXPOOL, 3, 3, 2, 1, 1, 0), {1, 2, 6, 6}};
	c[k++] = (cfg){"max 2x2 s2 p1 ceil (drop)", pool(THAW_MAXPOOL, 2, 2, 2, 1, 1, 0), {1, 1, 5, 5}};
	thaw_attrs asym = pool(THAW_MAXPOOL, 3, 2, 1, 0, 0, 0);
	asym.pad[0] = 1, asym.pad[3] = 1;
	c[k++] = (cfg){"max 3x2 s1 asym pad", asym, {1, 2, 4, 5}};
	c[k++] = (cfg){"avg 2x2 s2", pool(THAW_AVGPOOL, 2, 2, 2, 0, 0, 0), {1, 2, 6, 6}};
	c[k++] = (cfg){"avg 3x3 s2 p1", pool(THAW_AVGPOOL, 3, 3, 2, 1, 0, 0), {1, 2, 6, 6}};
	c[k++] = (cfg){"avg 3x3 s2 p1 incl-pad", pool(THAW_AVGPOOL, 3, 3, 2, 1, 0, 1), {1, 2, 6, 6}};
	c[k++] = (cfg){"avg 3x3 s2 p1 ceil", pool(THAW_AVGPOOL, 3, 3, 2, 1, 1, 0), {1, 2, 6, 6}};
	c[k++] = (cfg){"avg 3x3 s2 p1 ceil incl-pad", pool(THAW_AVGPOOL, 3, 3, 2, 1, 1, 1), {1, 2, 6, 6}};
	thaw_attrs aa = pool(THAW_AVGPOOL, 2, 3, 1, 0, 0, 1);
	aa.pad[1] = 2, aa.pad[2] = 1;
	c[k++] = (cfg){"avg 2x3 s1 asym pad incl-pad", aa, {1, 2, 4, 5}};
	return k;
}

static void test_gradcheck(void)
{
	cfg c[16];
	int k = configs(c);
	for (int i = 0; i < k; i++) /* spaced values: no ties, no max flips within eps */
		gradcheck(c[i].label, c[i].a, &c[i].in, 1,
			  (gc_opts){.B = 2, .fill = GC_SPACED, .eps = c[i].a.kind == THAW_MAXPOOL ? 2e-3f : 1e-2f,
				    .training = 1 /* maxpool keeps its argmax for training passes only */});
	thaw_shape in = {1, 3, 5, 4};
	gradcheck("globalavgpool", thaw_layer(THAW_GLOBALAVGPOOL), &in, 1, (gc_opts){.B = 2});
}

/* Naive ONNX pooling over explicit padded coordinates, in double. */
static void ref_pool(double *y, const float *x, const thaw_attrs *a, int B, int C, int H, int W, int OH,
		     int OW)
{
	for (int i = 0; i < B * C; i++)
		for (int oy = 0; oy < OH; oy++)
			for (int ox = 0; ox < OW; ox++) {
				double m = -INFINITY, s = 0;
				int n_in = 0, n_pad = 0;
				for (int ky = 0; ky < a->kh; ky++)
					for (int kx = 0; kx < a->kw; kx++) {
						int iy = oy * a->sh - a->pad[0] + ky, ix = ox * a->sw - a->pad[1] + kx;
						if (iy >= -a->pad[0] && iy < H + a->pad[2] && ix >= -a->pad[1] &&
						    ix < W + a->pad[3])
							n_pad++;
						if (iy < 0 || iy >= H || ix < 0 || ix >= W)
							continue;
						double v = x[((size_t)i * H + iy) * W + ix];
						m = v > m ? v : m;
						s += v;
						n_in++;
					}
				y[((size_t)i * OH + oy) * OW + ox] =
					a->kind == THAW_MAXPOOL ? m : s / (a->count_include_pad ? n_pad : n_in);
			}
}

/* Runs one layer through the model API; returns its output (B, out). */
static const float *run(thaw_model **mp, thaw_attrs a, thaw_shape in, const float *x, int B)
{
	*mp = thaw_model_new(in.c, in.h, in.w, 1);
	if (thaw_model_add(*mp, "pool", &a, NULL, 0) < 0 || thaw_model_forward(*mp, x, B, 1) < 0)
		return NULL;
	return thaw_model_output(*mp);
}

static void test_reference(void)
{
	cfg c[16];
	int k = configs(c);
	c[k++] = (cfg){"max 2x2 s2 28x28 (reference net)", pool(THAW_MAXPOOL, 2, 2, 2, 0, 0, 0), {1, 8, 28, 28}};
	c[k++] = (cfg){"avg 5x5 s3 p2 ceil", pool(THAW_AVGPOOL, 5, 5, 3, 2, 1, 0), {1, 3, 11, 9}};
	thaw_rng rng;
	thaw_rng_seed(&rng, 3);
	for (int i = 0; i < k; i++) {
		const int B = 3;
		size_t nx = (size_t)B * thaw_shape_sample(c[i].in);
		float *x = malloc(nx * sizeof(float));
		for (size_t j = 0; j < nx; j++)
			x[j] = thaw_rng_normal(&rng);
		thaw_model *m;
		const float *y = run(&m, c[i].a, c[i].in, x, B);
		CHECKF(y != NULL, "%s: %s", c[i].label, thaw_errmsg());
		if (y) {
			thaw_shape o = thaw_model_output_shape(m);
			size_t ny = (size_t)B * thaw_shape_sample(o);
			double *r = malloc(ny * sizeof(double));
			ref_pool(r, x, &c[i].a, B, c[i].in.c, c[i].in.h, c[i].in.w, o.h, o.w);
			double e = 0;
			for (size_t j = 0; j < ny; j++)
				e = fmax(e, fabs(y[j] - r[j]));
			printf("  reference %-34s out %dx%d  max diff %.1e\n", c[i].label, o.h, o.w, e);
			CHECKF(e < 1e-5, "%s: differs from the reference by %g", c[i].label, e);
			free(r);
		}
		thaw_model_free(m);
		free(x);
	}
}

/* Output sizes and divisors PyTorch 2.x gives (F.max_pool2d / F.avg_pool2d). */
static void test_pytorch_values(void)
{
	float ones[36];
	for (int i = 0; i < 36; i++)
		ones[i] = 1.0f;
	thaw_model *m;
	/* 5x5, k2 s2 p1 ceil: the 4th window would start in the padding, so 3x3 */
	const float *y = run(&m, pool(THAW_AVGPOOL, 2, 2, 2, 1, 1, 1), (thaw_shape){1, 1, 5, 5}, ones, 1);
	CHECK(y && m->nodes[0]->out.h == 3 && m->nodes[0]->out.w == 3);
	float want1[9] = {0.25f, 0.5f, 0.5f, 0.5f, 1, 1, 0.5f, 1, 1};
	CHECK(y && thaw_max_rel_diff(y, want1, 9) < 1e-6f);
	thaw_model_free(m);
	/* 6x6, k3 s2 p1 ceil, count_include_pad: the overhang past the padding does not count */
	y = run(&m, pool(THAW_AVGPOOL, 3, 3, 2, 1, 1, 1), (thaw_shape){1, 1, 6, 6}, ones, 1);
	CHECK(y && m->nodes[0]->out.h == 4 && m->nodes[0]->out.w == 4);
	float want2[16] = {4 / 9.f, 6 / 9.f, 6 / 9.f, 3 / 9.f, 6 / 9.f, 1, 1, 0.5f,
			   6 / 9.f, 1,       1,       0.5f,    3 / 9.f, 0.5f, 0.5f, 0.25f};
	CHECK(y && thaw_max_rel_diff(y, want2, 16) < 1e-6f);
	thaw_model_free(m);
	/* the same without count_include_pad (ONNX default): every mean of ones is 1 */
	y = run(&m, pool(THAW_AVGPOOL, 3, 3, 2, 1, 1, 0), (thaw_shape){1, 1, 6, 6}, ones, 1);
	int all1 = y != NULL;
	for (int i = 0; y && i < 16; i++)
		all1 &= fabsf(y[i] - 1.0f) < 1e-6f;
	CHECK(all1);
	thaw_model_free(m);
	/* maxpool pads with -inf: an all-negative input never yields 0 */
	float neg[25];
	for (int i = 0; i < 25; i++)
		neg[i] = -1.0f - (float)i;
	y = run(&m, pool(THAW_MAXPOOL, 3, 3, 2, 1, 0, 0), (thaw_shape){1, 1, 5, 5}, neg, 1);
	CHECK(y && y[0] == -1.0f && y[8] == -19.0f); /* windows at (0,0) and (2,2): x(0,0), x(3,3) */
	thaw_model_free(m);
	/* a NaN in a window wins, as in PyTorch (16 wide: the vectorized 2x2 path) */
	float nan_in[2 * 16];
	for (int i = 0; i < 32; i++)
		nan_in[i] = (float)i;
	nan_in[16 + 5] = NAN;
	y = run(&m, pool(THAW_MAXPOOL, 2, 2, 2, 0, 0, 0), (thaw_shape){1, 1, 2, 16}, nan_in, 1);
	CHECK(y && isnan(y[2]) && y[1] == 19.0f && y[3] == 23.0f);
	thaw_model_free(m);
	/* globalavgpool: (C, H, W) -> (C, 1, 1) means */
	float g[12] = {1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60};
	y = run(&m, thaw_layer(THAW_GLOBALAVGPOOL), (thaw_shape){1, 2, 2, 3}, g, 1);
	thaw_shape o = thaw_model_output_shape(m);
	CHECK(o.c == 2 && o.h == 1 && o.w == 1);
	CHECK(y && fabsf(y[0] - 3.5f) < 1e-6f && fabsf(y[1] - 35.0f) < 1e-5f);
	thaw_model_free(m);
}

static void test_setup_errors(void)
{
	thaw_model *m = thaw_model_new(3, 5, 5, 1);
	thaw_attrs a = thaw_pool(THAW_MAXPOOL, 7, 1);
	CHECK_ERR(thaw_model_add(m, "pool1", &a, NULL, 0),
		  "node 'pool1' (maxpool): kernel 7x7 larger than padded input 5x5 (input 3x5x5)");
	a = thaw_pool(THAW_AVGPOOL, 6, 1);
	a.pad[0] = 1;
	CHECK_ERR(thaw_model_add(m, "pool2", &a, NULL, 0),
		  "node 'pool2' (avgpool): kernel 6x6 larger than padded input 6x5 (input 3x5x5)");
	a = thaw_pool(THAW_MAXPOOL, 2, 0);
	CHECK_ERR(thaw_model_add(m, "pool3", &a, NULL, 0), "node 'pool3' (maxpool): kernel 2x2 and stride 0x0");
	a = thaw_pool(THAW_AVGPOOL, 2, 2);
	a.pad[1] = 2;
	CHECK_ERR(thaw_model_add(m, "pool4", &a, NULL, 0), "node 'pool4' (avgpool): padding 0,2,0,0");
	CHECK(m->n == 0);
	a = thaw_pool(THAW_MAXPOOL, 2, 2);
	CHECK_OK(thaw_model_add(m, "ok", &a, NULL, 0));
	char d[96];
	thaw_node_describe(m->nodes[0], d, sizeof d);
	CHECKF(strcmp(d, "2x2 s2") == 0, "describe gave '%s'", d);
	thaw_model_free(m);
}

/* maxpool's backward through the model: the gradient of each window goes to
 * its largest input only, and in a chain the gradients add up. */
static void test_model_backward(void)
{
	thaw_model *m = thaw_model_new(1, 4, 4, 1);
	thaw_attrs c = thaw_conv(1, 1, 1, 0);
	CHECK_OK(thaw_model_add(m, "id", &c, NULL, 0));
	m->nodes[0]->p[0].w[0] = 1.0f; /* identity 1x1 conv, so dy of the pool lands in its dy */
	m->nodes[0]->p[1].w[0] = 0.0f;
	thaw_attrs a = thaw_pool(THAW_MAXPOOL, 2, 2);
	CHECK_OK(thaw_model_add(m, "pool", &a, NULL, 0));
	float x[16] = {1, 9, 2, 3, 4, 5, 8, 6, 0, 0, 7, 1, 2, 3, 1, 9};
	CHECK_OK(thaw_model_forward(m, x, 1, 1));
	const float *y = thaw_model_output(m);
	CHECK(y[0] == 9 && y[1] == 8 && y[2] == 3 && y[3] == 9);
	float dout[4] = {1, 2, 3, 4};
	CHECK_OK(thaw_model_backward(m, dout));
	/* dW of the identity conv = sum over pixels of dy * x = 1*9 + 2*8 + 3*3 + 4*9 */
	CHECK_NEAR(m->nodes[0]->p[0].g[0], 9 + 16 + 9 + 36, 1e-4);
	CHECK_NEAR(m->nodes[0]->p[1].g[0], 10, 1e-5);
	thaw_model_free(m);
}

/* maxpool's vector path (stride 1 or 2, eight windows of a row at a time
 * inside the image, the border scalar) against the scalar rule: values,
 * and the argmax through backward, with ties (few distinct values), NaNs
 * and -inf, for training and inference passes. */
static void test_vector_paths(void)
{
	struct {
		const char *label;
		thaw_attrs a;
		thaw_shape in;
	} c[] = {
		{"3x3 s2 p1 37x41", pool(THAW_MAXPOOL, 3, 3, 2, 1, 0, 0), {1, 2, 37, 41}},
		{"3x3 s2 p1 112x112 (ResNet)", pool(THAW_MAXPOOL, 3, 3, 2, 1, 0, 0), {1, 1, 112, 112}},
		{"3x3 s1 p1 13x29", pool(THAW_MAXPOOL, 3, 3, 1, 1, 0, 0), {1, 2, 13, 29}},
		{"2x3 s2 p0,1,1,2 ceil 20x45", pool(THAW_MAXPOOL, 2, 3, 2, 0, 1, 0), {1, 1, 20, 45}},
		{"5x5 s2 p2 33x34", pool(THAW_MAXPOOL, 5, 5, 2, 2, 0, 0), {1, 1, 33, 34}},
	};
	c[3].a.pad[1] = 1, c[3].a.pad[2] = 1, c[3].a.pad[3] = 2;
	thaw_rng rng;
	thaw_rng_seed(&rng, 11);
	for (size_t t = 0; t < sizeof c / sizeof c[0]; t++) {
		const int B = 2, H = c[t].in.h, W = c[t].in.w;
		const thaw_attrs *a = &c[t].a;
		size_t nx = (size_t)B * thaw_shape_sample(c[t].in);
		float *x = malloc(nx * sizeof(float));
		for (size_t j = 0; j < nx; j++) {
			x[j] = (float)(int)(5 * thaw_rng_uniform(&rng)); /* ties everywhere */
			if (j % 97 == 13)
				x[j] = NAN;
			if (j % 89 == 7)
				x[j] = -INFINITY;
		}
		thaw_model *m = thaw_model_new(c[t].in.c, H, W, 1);
		CHECK_OK(thaw_model_add(m, "pool", a, NULL, 0));
		thaw_shape o = thaw_model_output_shape(m);
		size_t ny = (size_t)B * thaw_shape_sample(o), planes = (size_t)B * o.c;
		float *dy = malloc(ny * sizeof(float)), *want_y = malloc(ny * sizeof(float));
		float *want_dx = calloc(nx, sizeof(float)), *y_infer = malloc(ny * sizeof(float));
		for (size_t j = 0; j < ny; j++)
			dy[j] = (float)(j % 7) + 1.0f;
		for (size_t i = 0; i < planes; i++)
			for (int oy = 0; oy < o.h; oy++)
				for (int ox = 0; ox < o.w; ox++) {
					float best = -INFINITY;
					long bi = -1;
					for (int ky = 0; ky < a->kh; ky++)
						for (int kx = 0; kx < a->kw; kx++) {
							int iy = oy * a->sh - a->pad[0] + ky, ix = ox * a->sw - a->pad[1] + kx;
							if (iy < 0 || iy >= H || ix < 0 || ix >= W)
								continue;
							long k = ((long)i * H + iy) * W + ix;
							if (bi < 0 || x[k] > best || (isnan(x[k]) && !isnan(best)))
								best = x[k], bi = k;
						}
					size_t yi = (i * o.h + oy) * o.w + ox;
					want_y[yi] = best;
					want_dx[bi] += dy[yi];
				}
		CHECK_OK(thaw_model_forward(m, x, B, 0));
		memcpy(y_infer, thaw_model_output(m), ny * sizeof(float));
		CHECK_OK(thaw_model_forward(m, x, B, 1));
		const float *y = thaw_model_output(m);
		/* the model keeps no gradient for its input: the node's backward,
		 * with the argmax its training forward left in scratch */
		float *dx = malloc(nx * sizeof(float));
		const thaw_layer_ops *ops = thaw_layer_ops_of(THAW_MAXPOOL);
		thaw_bwd bw = {.B = B, .y = y, .dy = dy, .scratch = m->nodes[0]->scratch};
		bw.x[0] = x;
		bw.dx[0] = dx;
		ops->backward(m->nodes[0], &bw);
		size_t bad_y = 0, bad_infer = 0, bad_dx = 0;
		for (size_t j = 0; j < ny; j++) {
			bad_y += !(y[j] == want_y[j] || (isnan(y[j]) && isnan(want_y[j])));
			bad_infer += memcmp(&y_infer[j], &y[j], sizeof(float)) != 0;
		}
		for (size_t j = 0; j < nx; j++)
			bad_dx += dx[j] != want_dx[j];
		printf("  vector %-30s out %dx%d  wrong y %zu, inference %zu, dx %zu\n", c[t].label, o.h, o.w, bad_y,
		       bad_infer, bad_dx);
		CHECKF(bad_y == 0 && bad_infer == 0 && bad_dx == 0, "%s: differs from the scalar rule", c[t].label);
		thaw_model_free(m);
		free(x);
		free(dx);
		free(dy);
		free(want_y);
		free(want_dx);
		free(y_infer);
	}
}

int main(void)
{
	RUN(test_gradcheck);
	RUN(test_reference);
	RUN(test_pytorch_values);
	RUN(test_setup_errors);
	RUN(test_model_backward);
	RUN(test_vector_paths);
	return check_done();
}
